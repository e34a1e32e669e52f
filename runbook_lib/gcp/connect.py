"""connect("gcp"): the real client libraries behind the Target interface."""
from __future__ import annotations

import json
import os

from ..errors import ParameterError
from ..phases import PhaseRegistry
from ..target import Target

GCP_OPTIONS = {"project", "region", "phases_file", "credentials", "endpoints", "anonymous", "source_dir",
               "bigquery_location", "maximum_bytes_billed", "runbook"}
# API endpoints to use instead of Google's, as JSON {"cloudbuild": URL, "logging": ..., "storage": ..., "run": ...,
# "bigquery": ...}: for emulators, private endpoints, and the tests that run whole notebooks against local
# fakes. They get Application Default Credentials unless RUNBOOK_GCP_ANONYMOUS=1 (clients.ANONYMOUS_ENV).
ENDPOINTS_ENV = "RUNBOOK_GCP_ENDPOINTS"


def endpoints_from_env() -> dict | None:
    """RUNBOOK_GCP_ENDPOINTS, checked (a bad one is a ParameterError naming the variable); None when unset."""
    from .clients import check_endpoints

    raw = os.environ.get(ENDPOINTS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ParameterError(ENDPOINTS_ENV, raw, 'give JSON such as {"cloudbuild": "http://127.0.0.1:8123"}') from None
    return check_endpoints(value, ENDPOINTS_ENV)


def check_environment() -> None:
    """Before a headless run on target=gcp, once: every RUNBOOK_GCP_* setting (a bad one is refused in one
    sentence naming the variable before anything runs, not in whichever cell first calls Google), then
    credentials (check_credentials)."""
    from .calls import CallPolicy

    CallPolicy.from_env()
    check_credentials()   # reads RUNBOOK_GCP_ENDPOINTS and RUNBOOK_GCP_ANONYMOUS


def check_credentials() -> None:
    """Before a headless run on target=gcp: CredentialsMissing, in one sentence, unless Application
    Default Credentials can be found (none are needed when anonymous credentials were chosen for
    overridden endpoints: RUNBOOK_GCP_ANONYMOUS=1 with RUNBOOK_GCP_ENDPOINTS)."""
    from .clients import default_credentials, needs_credentials

    if needs_credentials(endpoints_from_env()):
        default_credentials()


def describe_connection(project: str, endpoints: dict[str, str], anonymous: bool) -> str:
    """The target's description: the project, and whether endpoints are overridden and credentials anonymous,
    so an operator sees from the first line of a run when it does not talk to Google with their credentials."""
    if not endpoints:
        return f"project {project}"
    overridden = ", ".join(f"{service} at {url}" for service, url in sorted(endpoints.items()))
    credentials = "anonymous credentials" if anonymous else "Application Default Credentials"
    return f"project {project}; endpoints overridden: {overridden}; {credentials} there"


def connect_gcp(phases: PhaseRegistry, **options) -> Target:
    from .artifacts import GcpArtifactRegistry
    from .builds import GcpBuilds
    from .clients import LazyClient, make_clients
    from .logs import GcpLogs, GcpRuntimeLogs
    from .services import GcpServices
    from .warehouse import DEFAULT_MAXIMUM_BYTES_BILLED, GcpWarehouse, storage_api_installed

    unknown = set(options) - GCP_OPTIONS
    if unknown:
        raise ParameterError("connect option", sorted(unknown)[0], f"target=gcp accepts {', '.join(sorted(GCP_OPTIONS))}")
    project = options.get("project") or phases.project
    region = options.get("region") or phases.region
    endpoints = options.get("endpoints") or endpoints_from_env()
    # One GcpClients per target: credentials are resolved once, each client is built on first use, so
    # connecting never needs credentials or the network. The adapters borrow these clients (they do not
    # close them); the target closes them.
    clients = make_clients(project, credentials=options.get("credentials"), endpoints=endpoints,
                           anonymous=options.get("anonymous"))
    anonymous = clients.anonymous and options.get("credentials") is None
    builds = GcpBuilds(project, region, client=LazyClient(lambda: clients.cloudbuild),
                       storage_client=lambda: clients.storage,
                       repositories=GcpArtifactRegistry(project, lambda: clients.artifactregistry))
    logs = GcpRuntimeLogs(phases, GcpLogs(project, client=LazyClient(lambda: clients.logging)),
                          storage_client=lambda: clients.storage)
    services = GcpServices(project, phases, clients, source_dir=options.get("source_dir"))
    # The Storage Read API is gRPC: only Google's own endpoint serves it, never a local fake.
    cap = options.get("maximum_bytes_billed")   # 0 too is given: its check refuses it, never the default
    warehouse = GcpWarehouse(project, LazyClient(lambda: clients.bigquery), location=options.get("bigquery_location"),
                             maximum_bytes_billed=DEFAULT_MAXIMUM_BYTES_BILLED if cap is None else cap,
                             runbook=options.get("runbook"),
                             use_storage_api=storage_api_installed() and not clients.endpoints.get("bigquery"))
    # Each adapter closes what it made itself; the shared clients belong to the target and close last.
    return Target(name="gcp", project=project, region=region, phases=phases, warehouse=warehouse,
                  builds=builds, services=services, logs=logs,
                  description=describe_connection(project, clients.endpoints, anonymous),
                  source_dir=options.get("source_dir"), options={"project": project, "endpoints": dict(endpoints or {})},
                  closers=[clients.close, logs.close, builds.close, services.close, warehouse.close])
