"""connect(target) -> one Target with the same interface for the sandbox and for Google Cloud."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterError
from .phases import PhaseRegistry, load_phases

TARGETS = ("local", "gcp")


@dataclass
class Target:
    """What a runbook talks to. Notebooks never branch on `name`."""

    name: str
    project: str
    region: str
    phases: PhaseRegistry
    warehouse: Any
    builds: Any
    services: Any
    logs: Any
    options: dict = field(default_factory=dict)

    def close(self) -> None:
        for part in (self.services, self.warehouse, self.builds, self.logs):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        where = f"sandbox at {self.options.get('home')}" if self.name == "local" else f"project {self.project}"
        return f"target={self.name} ({where}), region {self.region}"


def connect(target: str = "local", **options: Any) -> Target:
    """Open a target.

    local: options home=, warehouse_path=, phases_file=.
    gcp:   options project=, region=, phases_file=, plus client_options/credentials for tests.
    """
    if target not in TARGETS:
        raise ParameterError("target", target, f"choose one of {', '.join(TARGETS)}")
    phases = load_phases(options.get("phases_file"))
    if target == "local":
        from .local.connect import connect_local

        return connect_local(phases, **options)
    from .gcp.connect import connect_gcp

    return connect_gcp(phases, **options)
