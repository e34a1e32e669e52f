"""The sandbox's Cloud Logging: request logs of the loopback services, build logs."""
from __future__ import annotations

from ..errors import NotBuiltYet


class LocalLogs:
    def __init__(self, home, phases):
        self.home = home
        self.phases = phases

    def build_log(self, build_id: str):
        raise NotBuiltYet("target.logs.build_log", "runbook 01: build logs")
