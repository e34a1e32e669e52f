"""One place that builds the Google Cloud clients: credentials, endpoints, REST transport.

Production: `make_clients("my-project")` uses Application Default Credentials and Google's endpoints.
Tests: `make_clients("p", endpoints={"cloudbuild": "http://127.0.0.1:P", ...}, anonymous=True)` points the
REAL client libraries at local fakes and sends them no credentials (AnonymousCredentials). Anonymous is
always an explicit choice (`anonymous=True`, or RUNBOOK_GCP_ANONYMOUS=1, which the tests set), never
implied by an endpoint: an overridden endpoint without it gets Application Default Credentials.

Every client uses REST (gRPC cannot reach a plain-HTTP fake, and REST behaves the same in production).
Nothing here touches the network until a client makes its first call; clients are built on first use.
Every client GcpClients hands out follows the timeout policy of gcp/calls.py: it is a GuardedClient,
and one built on google-cloud-core gets `_http=timed_session(credentials)`. A new client: build it
here that way, and add its name to API_NAMES and DEFAULT_ENDPOINTS in calls.py (SERVICES follows).
"""
from __future__ import annotations

import functools
import os
import re
import threading
from typing import Any, Callable

from ..errors import CredentialsMissing, ParameterError
from ..formats import check_project
from .calls import API_NAMES, DEFAULT_ENDPOINTS, CallPolicy, GuardedClient, RestClient, timed_session
from .artifacts import ArtifactRegistryClient
from .projects import ResourceManagerClient
from .refusals import KEY_FILE_ENV, credentials_error, key_file_refusal

# cloudbuild, logging, storage, run, pubsub, bigquery, cloudresourcemanager, artifactregistry
SERVICES = tuple(API_NAMES)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# "1": send no credentials to the endpoints RUNBOOK_GCP_ENDPOINTS overrides (local fakes, emulators).
ANONYMOUS_ENV = "RUNBOOK_GCP_ANONYMOUS"


def check_endpoint(service: str, endpoint: Any, parameter: str = "endpoints") -> str | None:
    if endpoint is None:
        return None
    if not isinstance(endpoint, str) or not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", endpoint):
        raise ParameterError(f"{parameter}[{service!r}]", endpoint,
                             "give a URL with its scheme, e.g. http://127.0.0.1:8123 (the http:// is required)")
    return endpoint.rstrip("/")


def check_endpoints(endpoints: Any, parameter: str = "endpoints") -> dict[str, str]:
    """The endpoints to use instead of Google's, each checked; `parameter` is where they came from
    (the connect option, or the RUNBOOK_GCP_ENDPOINTS variable), for the sentence."""
    if endpoints is None:
        return {}
    if not isinstance(endpoints, dict):
        raise ParameterError(parameter, endpoints, f"give a dict keyed by {', '.join(SERVICES)}")
    unknown = sorted(set(endpoints) - set(SERVICES))
    if unknown:
        raise ParameterError(parameter, unknown[0], f"keys must be among {', '.join(SERVICES)}")
    return {service: check_endpoint(service, url, parameter) for service, url in endpoints.items() if url is not None}


def anonymous_from_env() -> bool:
    """RUNBOOK_GCP_ANONYMOUS: 1 (or true, yes) sends no credentials to overridden endpoints; unset, 0 (or
    false, no) uses Application Default Credentials everywhere."""
    raw = os.environ.get(ANONYMOUS_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ParameterError(ANONYMOUS_ENV, raw, "give 1 to send no credentials to the endpoints RUNBOOK_GCP_ENDPOINTS "
                         "overrides (local fakes and emulators), or 0")


def credentials_for(credentials: Any, endpoint: str | None, anonymous: bool | None = None) -> Any:
    """Explicit credentials win; an overridden endpoint gets anonymous ones when that was chosen
    (`anonymous`, default RUNBOOK_GCP_ANONYMOUS); else None, which lets the client library resolve
    Application Default Credentials itself."""
    if credentials is not None:
        return credentials
    if endpoint is not None and (anonymous_from_env() if anonymous is None else anonymous):
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
    creds = credentials_for(credentials, endpoint)
    # _use_grpc=False: the HTTP/JSON API, the only one a local fake can serve.
    return logging_v2.Client(project=project, credentials=creds, _use_grpc=False, client_options=_options(endpoint),
                             **_session(creds))


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
    creds = credentials_for(credentials, endpoint)
    client = storage.Client(project=project, credentials=creds, client_options=_options(endpoint), **_session(creds))
    # google-cloud-storage 3.17 on reads a bucket's metadata in a thread of its own the first time the client touches
    # the bucket, for its tracing spans: a storage.buckets.get the kit never asks for (refused on the Google-owned logs
    # bucket, a request of its own under a VPC Service Controls perimeter) still in flight after the read returned
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None
    return client


def rest_client(cls: type[RestClient], service: str, credentials: Any, endpoint: str | None = None) -> RestClient:
    """One of the kit's own REST clients (gcp/projects.py, gcp/artifacts.py) over a TimedSession; `credentials`
    resolved (an AuthorizedSession cannot resolve them itself)."""
    endpoint = check_endpoint(service, endpoint)
    return cls(timed_session(credentials), endpoint or DEFAULT_ENDPOINTS[service])


def _session(credentials: Any) -> dict[str, Any]:
    """`_http=` for a google-cloud-core client: a TimedSession (with ADC resolved by the caller);
    nothing when the library is to resolve credentials itself."""
    return {"_http": timed_session(credentials)} if credentials is not None else {}


def bigquery_client(project: str, credentials: Any = None, endpoint: str | None = None):
    from google.cloud import bigquery

    endpoint = check_endpoint("bigquery", endpoint)
    creds = credentials_for(credentials, endpoint)
    # google-cloud-bigquery speaks REST (JSON over HTTP) already; only its optional Storage Read API is gRPC.
    return bigquery.Client(project=project, credentials=creds, client_options=_options(endpoint), **_session(creds))


def guarded(service: str, client: Any, project: str | None = None, endpoint: str | None = None) -> GuardedClient:
    """`client` of `service` (SERVICES) under the call policy of gcp/calls.py, as GcpClients hands them out."""
    # BigQuery's refusals carry BigQuery's own reasons; its adapter says them (bigquery_errors.py).
    return GuardedClient(client, API_NAMES[service], endpoint or DEFAULT_ENDPOINTS[service], CallPolicy.from_env(),
                         project=project, refusals=service != "bigquery")


class GcpClients:
    """Lazily built, shared clients for one project. Attributes: cloudbuild, logging, storage, run, revisions,
    pubsub (a subscriber client: the kit only lists subscriptions), bigquery, resourcemanager (the project's
    IAM policy, over REST: gcp/projects.py)."""

    def __init__(self, project: str, credentials: Any = None, endpoints: dict[str, str] | None = None,
                 anonymous: bool | None = None):
        self.project = check_project(project)
        self.endpoints = check_endpoints(endpoints)
        if anonymous is not None and not isinstance(anonymous, bool):   # "no" would be true
            raise ParameterError("anonymous", anonymous, "true, false, or None for RUNBOOK_GCP_ANONYMOUS")
        self.anonymous = anonymous_from_env() if anonymous is None else anonymous
        self._explicit_credentials = credentials
        self._credentials: Any = None
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def credentials(self, service: str) -> Any:
        """Credentials for one service: explicit, anonymous for an overridden endpoint when chosen, else
        ADC resolved once and shared."""
        endpoint = self.endpoints.get(service)
        chosen = credentials_for(self._explicit_credentials, endpoint, self.anonymous)
        if chosen is not None:
            return chosen
        if self._credentials is None:
            self._credentials = default_credentials(f"{API_NAMES[service]} at {self.endpoint(service)}")
        return self._credentials

    def endpoint(self, service: str) -> str:
        return self.endpoints.get(service) or DEFAULT_ENDPOINTS[service]

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
                elif service == "cloudresourcemanager":
                    client = rest_client(ResourceManagerClient, service, creds, endpoint)
                elif service == "artifactregistry":
                    client = rest_client(ArtifactRegistryClient, service, creds, endpoint)
                else:
                    client = storage_client(self.project, creds, endpoint)
                guard = functools.partial(guarded, service, project=self.project, endpoint=endpoint)
                self._built[service] = tuple(map(guard, client)) if isinstance(client, tuple) else guard(client)
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

    @property
    def resourcemanager(self):
        return self._get("cloudresourcemanager")

    @property
    def artifactregistry(self):
        """Artifact Registry's repositories.get and .list, over REST (gcp/artifacts.py)."""
        return self._get("artifactregistry")

    def close(self) -> None:
        with self._lock:
            built, self._built = self._built, {}
        for client in built.values():
            for one in client if isinstance(client, tuple) else (client,):
                close_client(one)


def default_credentials(where: str | None = None) -> Any:
    """Application Default Credentials, or CredentialsMissing in one sentence (`where`: the API that needs
    them, None before a run, when any of them may)."""
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except auth_exceptions.DefaultCredentialsError as exc:
        raise credentials_error(exc, where) from None
    except OSError as exc:   # google.auth opens GOOGLE_APPLICATION_CREDENTIALS as it is: a folder, no permission
        key_file = os.environ.get(KEY_FILE_ENV)
        if not key_file:
            raise
        raise CredentialsMissing(key_file_refusal(key_file, exc)) from None
    return credentials


def needs_credentials(endpoints: dict[str, str] | None, anonymous: bool | None = None) -> bool:
    """Must target=gcp find Application Default Credentials before a run? Yes, unless anonymous
    credentials were chosen for overridden endpoints (which of the APIs a runbook calls is not known
    beforehand; one it calls on Google's own endpoint without credentials still says so in one
    sentence when it does)."""
    anonymous = anonymous_from_env() if anonymous is None else anonymous
    return not (anonymous and check_endpoints(endpoints))


class LazyClient:
    """Stands in for a shared client and fetches it on first use, so connecting stays offline (no
    credentials until the first call), and a client whose credentials cannot be found fails where it
    is used, inside the step that can say so and carry on (the build-log chain's next source)."""

    def __init__(self, get: Callable[[], Any]):
        self._get = get

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def close_client(client: Any) -> None:
    """Release a client's HTTP session; each library keeps it in a different place."""
    client = getattr(client, "unwrapped", client)
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


def make_clients(project: str, credentials: Any = None, endpoints: dict[str, str] | None = None,
                 anonymous: bool | None = None) -> GcpClients:
    """Shared clients for the gcp target; see the module docstring for production vs tests."""
    return GcpClients(project, credentials=credentials, endpoints=endpoints, anonymous=anonymous)
