"""Typed assignments that mypy checks (tests/test_protocols.py runs it on this file): every target's
adapters satisfy the Target contract in runbook_lib/protocols.py. Never executed, only type-checked."""
from __future__ import annotations

from pathlib import Path

from runbook_lib.gcp.builds import GcpBuilds
from runbook_lib.gcp.clients import GcpClients
from runbook_lib.gcp.logs import GcpLogs, GcpRuntimeLogs
from runbook_lib.gcp.services import GcpServices
from runbook_lib.gcp.warehouse import GcpWarehouse
from runbook_lib.local.builds import LocalBuilds
from runbook_lib.local.home import SandboxHome
from runbook_lib.local.logs import LocalLogs
from runbook_lib.local.services import LocalServices
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import PhaseRegistry
from runbook_lib.protocols import Builds, Logs, Services, Warehouse


def local_parts(home: SandboxHome, phases: PhaseRegistry, path: Path) -> None:
    warehouse: Warehouse = LocalWarehouse(path)
    builds: Builds = LocalBuilds(home, phases)
    services: Services = LocalServices(home, phases, path)
    logs: Logs = LocalLogs(home, phases)
    del warehouse, builds, services, logs


def gcp_parts(phases: PhaseRegistry, clients: GcpClients) -> None:
    warehouse: Warehouse = GcpWarehouse("p", clients.bigquery)
    builds: Builds = GcpBuilds("p", "us-west2", client=clients.cloudbuild)
    services: Services = GcpServices("p", phases, clients)
    logs: Logs = GcpRuntimeLogs(phases, GcpLogs("p", client=clients.logging), storage_client=lambda: clients.storage)
    del warehouse, builds, services, logs
