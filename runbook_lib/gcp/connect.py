"""connect("gcp"): the real client libraries behind the Target interface."""
from __future__ import annotations

import json
import os

from ..errors import NotBuiltYet, ParameterError
from ..phases import PhaseRegistry
from ..target import Target

GCP_OPTIONS = {"project", "region", "phases_file", "credentials", "endpoints", "source_dir"}
# API endpoints to use instead of Google's, as JSON {"cloudbuild": URL, "logging": ..., "storage": ..., "run": ...}:
# for emulators, private endpoints, and the tests that run whole notebooks against local fakes.
ENDPOINTS_ENV = "RUNBOOK_GCP_ENDPOINTS"


def endpoints_from_env() -> dict | None:
    raw = os.environ.get(ENDPOINTS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ParameterError(ENDPOINTS_ENV, raw, 'give JSON such as {"cloudbuild": "http://127.0.0.1:8123"}') from None
    return value


class GcpWarehouseNotBuilt:
    """BigQuery arrives with the replay and compare runbooks; say so instead of faking results."""

    def __getattr__(self, name):
        raise NotBuiltYet(f"target.warehouse.{name} on target=gcp", "replay/compare runbooks: BigQuery adapter")


class GcpRuntimeLogs:
    """target.logs on gcp: build-log sources for the fetch chain, and Cloud Run request logs."""

    def __init__(self, logs, clients):
        self.cloud_logging = logs
        self.clients = clients

    def build_log_sources(self):
        from .logs import CloudLoggingLogSource
        from .storage import GcsLogSource

        return [GcsLogSource(self.clients.storage), CloudLoggingLogSource(self.cloud_logging)]

    def request_logs(self, service: str, since, until, status=None, limit: int = 1000) -> list[dict]:
        return self.cloud_logging.request_logs(service, since, until, status=status, limit=limit)

    def close(self) -> None:
        pass


def connect_gcp(phases: PhaseRegistry, **options) -> Target:
    from .builds import GcpBuilds
    from .clients import make_clients
    from .logs import GcpLogs
    from .services import GcpServices

    unknown = set(options) - GCP_OPTIONS
    if unknown:
        raise ParameterError("connect option", sorted(unknown)[0], f"target=gcp accepts {', '.join(sorted(GCP_OPTIONS))}")
    project = options.get("project") or phases.project
    region = options.get("region") or phases.region
    credentials = options.get("credentials")
    # Every client is built on first use, so connecting never needs credentials or the network.
    endpoints = options.get("endpoints") or endpoints_from_env()
    clients = make_clients(project, credentials=credentials, endpoints=endpoints)
    builds = GcpBuilds(project, region, credentials=credentials, endpoint=clients.endpoints.get("cloudbuild"))
    logs = GcpRuntimeLogs(GcpLogs(project, credentials=credentials, endpoint=clients.endpoints.get("logging")), clients)
    services = GcpServices(project, phases, clients, source_dir=options.get("source_dir"))
    return _GcpTarget(name="gcp", project=project, region=region, phases=phases, warehouse=GcpWarehouseNotBuilt(),
                      builds=builds, services=services, logs=logs, options={"project": project, "clients": clients})


class _GcpTarget(Target):
    def close(self) -> None:
        self.builds.close()
        self.logs.cloud_logging.close()
        self.services.close()
        self.options["clients"].close()
