"""The sandbox's Cloud Build: source deploys decided exactly as gcloud decides (runbook 01)."""
from __future__ import annotations

from ..errors import NotBuiltYet


class LocalBuilds:
    def __init__(self, home, phases):
        self.home = home
        self.phases = phases

    def get(self, build_id: str):
        raise NotBuiltYet("target.builds.get", "runbook 01: local builder")

    def list(self, **filters):
        raise NotBuiltYet("target.builds.list", "runbook 01: local builder")
