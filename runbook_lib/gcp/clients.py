"""One place that builds the Google Cloud clients: credentials, endpoints, REST transport.

Production: `make_clients("my-project")` uses Application Default Credentials and Google's endpoints.
Tests: `make_clients("p", endpoints={"cloudbuild": "http://127.0.0.1:P", ...})` points the REAL client
libraries at local fakes; an http:// endpoint without explicit credentials gets AnonymousCredentials.

Every client uses REST (gRPC cannot reach a plain-HTTP fake, and REST behaves the same in production).
Nothing here touches the network until a client makes its first call; clients are built on first use.
"""
from __future__ import annotations

import re
import threading
from typing import Any

from ..errors import ParameterError
from ..formats import check_project

SERVICES = ("cloudbuild", "logging", "storage", "run", "pubsub", "bigquery")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"



def check_endpoint(service: str, endpoint: Any) -> str | None:
    if endpoint is None:
        return None
    if not isinstance(endpoint, str) or not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", endpoint):
        raise ParameterError(f"endpoints[{service!r}]", endpoint,
                             "give a URL with its scheme, e.g. http://127.0.0.1:8123 (the http:// is required)")
    return endpoint.rstrip("/")


def check_endpoints(endpoints: Any) -> dict[str, str]:
    if endpoints is None:
        return {}
    if not isinstance(endpoints, dict):
        raise ParameterError("endpoints", endpoints, f"give a dict keyed by {', '.join(SERVICES)}")
    unknown = sorted(set(endpoints) - set(SERVICES))
    if unknown:
        raise ParameterError("endpoints", unknown[0], f"keys must be among {', '.join(SERVICES)}")
    return {service: check_endpoint(service, url) for service, url in endpoints.items() if url is not None}


def credentials_for(credentials: Any, endpoint: str | None) -> Any:
    """Explicit credentials win; a plain-http endpoint (a local fake) gets anonymous ones; else None,
    which lets the client library resolve Application Default Credentials itself."""
    if credentials is not None:
        return credentials
    if endpoint is not None and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None


def _options(endpoint: str | None) -> dict | None:
    return {"api_endpoint": endpoint} if endpoint else None


def cloudbuild_client(credentials: Any = None, endpoint: str | None = None):
    from google.cloud.devtools import cloudbuild_v1

    endpoint = check_endpoint("cloudbuild", endpoint)
    return cloudbuild_v1.CloudBuildClient(transport="rest", credentials=credentials_for(credentials, endpoint),
                                          client_options=_options(endpoint))


def logging_client(project: str, credentials: Any = None, endpoint: str | None = None):
    from google.cloud import logging_v2

    endpoint = check_endpoint("logging", endpoint)
    # _use_grpc=False: the HTTP/JSON API, the only one a local fake can serve.
    return logging_v2.Client(project=project, credentials=credentials_for(credentials, endpoint),
                             _use_grpc=False, client_options=_options(endpoint))


def run_clients(credentials: Any = None, endpoint: str | None = None):
    """Cloud Run v2: the services client and the revisions client share one endpoint."""
    from google.cloud import run_v2

    endpoint = check_endpoint("run", endpoint)
    creds = credentials_for(credentials, endpoint)
    return (run_v2.ServicesClient(transport="rest", credentials=creds, client_options=_options(endpoint)),
            run_v2.RevisionsClient(transport="rest", credentials=creds, client_options=_options(endpoint)))


def pubsub_subscriber(credentials: Any = None, endpoint: str | None = None):
    from google.cloud import pubsub_v1

    endpoint = check_endpoint("pubsub", endpoint)
    return pubsub_v1.SubscriberClient(transport="rest", credentials=credentials_for(credentials, endpoint),
                                      client_options=_options(endpoint))


def storage_client(project: str, credentials: Any = None, endpoint: str | None = None):
    from google.cloud import storage

    endpoint = check_endpoint("storage", endpoint)
    return storage.Client(project=project, credentials=credentials_for(credentials, endpoint),
                          client_options=_options(endpoint))


def bigquery_client(project: str, credentials: Any = None, endpoint: str | None = None):
    from google.cloud import bigquery

    endpoint = check_endpoint("bigquery", endpoint)
    # google-cloud-bigquery speaks REST (JSON over HTTP) already; only its optional Storage Read API is gRPC.
    return bigquery.Client(project=project, credentials=credentials_for(credentials, endpoint),
                           client_options=_options(endpoint))


class GcpClients:
    """Lazily built, shared clients for one project. Attributes: cloudbuild, logging, storage, run, revisions,
    pubsub (a subscriber client: the kit only lists subscriptions), bigquery."""

    def __init__(self, project: str, credentials: Any = None, endpoints: dict[str, str] | None = None):
        self.project = check_project(project)
        self.endpoints = check_endpoints(endpoints)
        self._explicit_credentials = credentials
        self._credentials: Any = None
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def credentials(self, service: str) -> Any:
        """Credentials for one service: explicit, anonymous for a fake, else ADC resolved once and shared."""
        endpoint = self.endpoints.get(service)
        chosen = credentials_for(self._explicit_credentials, endpoint)
        if chosen is not None:
            return chosen
        if self._credentials is None:
            import google.auth

            self._credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        return self._credentials

    def _get(self, service: str) -> Any:
        with self._lock:
            if service not in self._built:
                creds, endpoint = self.credentials(service), self.endpoints.get(service)
                if service == "cloudbuild":
                    client = cloudbuild_client(creds, endpoint)
                elif service == "logging":
                    client = logging_client(self.project, creds, endpoint)
                elif service == "run":
                    client = run_clients(creds, endpoint)
                elif service == "bigquery":
                    client = bigquery_client(self.project, creds, endpoint)
                elif service == "pubsub":
                    client = pubsub_subscriber(creds, endpoint)
                else:
                    client = storage_client(self.project, creds, endpoint)
                self._built[service] = client
            return self._built[service]

    @property
    def cloudbuild(self):
        return self._get("cloudbuild")

    @property
    def logging(self):
        return self._get("logging")

    @property
    def storage(self):
        return self._get("storage")

    @property
    def bigquery(self):
        return self._get("bigquery")

    @property
    def run(self):
        return self._get("run")[0]

    @property
    def revisions(self):
        return self._get("run")[1]

    @property
    def pubsub(self):
        return self._get("pubsub")

    def close(self) -> None:
        with self._lock:
            built, self._built = self._built, {}
        for client in built.values():
            for one in client if isinstance(client, tuple) else (client,):
                close_client(one)


def close_client(client: Any) -> None:
    """Release a client's HTTP session; each library keeps it in a different place."""
    transport = getattr(client, "transport", None)
    if transport is not None and callable(getattr(transport, "close", None)):
        transport.close()
        return
    closer = getattr(client, "close", None)
    if callable(closer):
        closer()
        return
    session = getattr(client, "_http_internal", None)
    if session is not None and callable(getattr(session, "close", None)):
        session.close()


def make_clients(project: str, credentials: Any = None, endpoints: dict[str, str] | None = None) -> GcpClients:
    """Shared clients for the gcp target; see the module docstring for production vs tests."""
    return GcpClients(project, credentials=credentials, endpoints=endpoints)
