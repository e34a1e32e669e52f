"""phase-runbooks library."""
