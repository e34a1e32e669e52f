"""The embedded sandbox: everything the kit needs to run with no cloud at all."""
