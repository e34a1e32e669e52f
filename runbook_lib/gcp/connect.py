"""connect("gcp"): the real client libraries behind the Target interface."""
from __future__ import annotations

from ..errors import NotBuiltYet
from ..phases import PhaseRegistry


def connect_gcp(phases: PhaseRegistry, **options):
    raise NotBuiltYet("connect('gcp')", "cloud adapters (runbook issues)")
