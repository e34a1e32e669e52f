"""connect(target) -> one Target with the same interface for the sandbox and for Google Cloud.

Each connector (runbook_lib/local/connect.py, runbook_lib/gcp/connect.py) builds the adapters and passes
in its own description and defaults, so library code never asks which target it is talking to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ParameterError
from .formats import check_project, check_region
from .phases import PhaseRegistry, load_phases
from .protocols import Builds, Logs, Services, Warehouse

TARGETS = ("local", "gcp")


@dataclass
class Target:
    """What a runbook talks to. `name` is recorded in reports; code branches on it in one place only, the project a
    printed command names (shell_words.printed_project: the sandbox's commands are for gcp)."""

    name: str
    project: str
    region: str
    phases: PhaseRegistry
    warehouse: Warehouse
    builds: Builds
    services: Services
    logs: Logs
    description: str                 # where it points, e.g. "sandbox at /x/.runbook" or "project p"
    source_dir: str | None = None    # the pipeline checkout runbooks read by default (the sandbox's own)
    options: dict[str, Any] = field(default_factory=dict)   # what the connector was given, for operators
    closers: list[Callable[[], None]] = field(default_factory=list)   # run once, last added first

    def close(self) -> None:
        closers, self.closers = self.closers, []
        for closer in reversed(closers):
            closer()

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        return f"target={self.name} ({self.description}), region {self.region}"


def check_target(value: Any, parameter: str = "target") -> str:
    if value not in TARGETS:
        raise ParameterError(parameter, value, f"choose one of {', '.join(TARGETS)}")
    return value


def connect(target: str = "local", **options: Any) -> Target:
    """Open a target.

    local: options home=, warehouse_path=, phases_file=, project=, region=.
    gcp:   options project=, region=, phases_file=, source_dir=, plus credentials=/endpoints= for emulators and tests.
    """
    check_target(target)
    # Checked here for both targets: the sandbox only shows them, but a name a real project could never
    # have is as wrong there.
    if options.get("project") is not None:
        check_project(options["project"])
    if options.get("region") is not None:
        check_region(options["region"])
    phases = load_phases(options.get("phases_file"))
    if target == "local":
        from .local.connect import connect_local

        return connect_local(phases, **options)
    from .gcp.connect import connect_gcp

    return connect_gcp(phases, **options)
