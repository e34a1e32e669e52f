"""One place that builds the Google Cloud clients: credentials, endpoints, REST transport, and the
timeout policy every call to Google Cloud follows.

Production: `make_clients("my-project")` uses Application Default Credentials and Google's endpoints.
Tests: `make_clients("p", endpoints={"cloudbuild": "http://127.0.0.1:P", ...})` points the REAL client
libraries at local fakes; an http:// endpoint without explicit credentials gets AnonymousCredentials.

Every client uses REST (gRPC cannot reach a plain-HTTP fake, and REST behaves the same in production).
Nothing here touches the network until a client makes its first call; clients are built on first use.

Timeouts (CallPolicy; RUNBOOK_GCP_REQUEST_TIMEOUT_S and RUNBOOK_GCP_CALL_DEADLINE_S change them): one
HTTP request waits at most `request_s` for an answer, and one API call, with its retries of transient
errors (unavailable, rate limited, connection refused or reset), at most `deadline_s`. An endpoint
that accepts connections and never answers costs one request timeout, then CloudUnreachable names
the API, the endpoint and the call. Every client GcpClients hands out applies this by itself:
  - it is wrapped in GuardedClient, which gives each method call the policy's timeout and retry
    (where the method takes them) and turns "no answer" into CloudUnreachable;
  - clients built on google-cloud-core (logging, storage, bigquery) get a TimedSession, which caps
    every HTTP request, also those made by objects they return (buckets, blobs, iterators, jobs).
An adapter calling a method of such a returned object wraps it: `cloud_call(api, endpoint, fn, ...)`.
A new client: build it with `_http=timed_session(credentials)` where the library takes one, and add
its name to SERVICES, API_NAMES and DEFAULT_ENDPOINTS; GcpClients wraps it.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import CloudUnreachable, CredentialsMissing, ParameterError
from ..formats import check_project, one_line

SERVICES = ("cloudbuild", "logging", "storage", "run")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
API_NAMES = {"cloudbuild": "Cloud Build", "logging": "Cloud Logging", "storage": "Cloud Storage",
             "run": "Cloud Run", "bigquery": "BigQuery"}
DEFAULT_ENDPOINTS = {"cloudbuild": "https://cloudbuild.googleapis.com", "logging": "https://logging.googleapis.com",
                     "storage": "https://storage.googleapis.com", "run": "https://run.googleapis.com",
                     "bigquery": "https://bigquery.googleapis.com"}
REQUEST_TIMEOUT_ENV = "RUNBOOK_GCP_REQUEST_TIMEOUT_S"
CALL_DEADLINE_ENV = "RUNBOOK_GCP_CALL_DEADLINE_S"
HOW_TO_LOG_IN = ("run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service "
                 "account key file")


# ---------------------------------------------------------------------------------------------
# The timeout policy

@dataclass(frozen=True)
class CallPolicy:
    """How long the kit waits for Google Cloud: `request_s` for one HTTP request (connecting and
    the answer), `deadline_s` for one API call with its retries."""
    request_s: float = 60.0
    deadline_s: float = 180.0

    @classmethod
    def from_env(cls) -> CallPolicy:
        request = _seconds(REQUEST_TIMEOUT_ENV, cls.request_s)
        deadline = _seconds(CALL_DEADLINE_ENV, max(cls.deadline_s, request))
        return cls(min(request, deadline), deadline)   # one request never outlasts the whole call

    def retry(self) -> Any:
        """Exponential backoff over transient errors, for at most `deadline_s` in all."""
        from google.api_core import retry as retries

        return retries.Retry(predicate=is_transient, initial=1.0, maximum=10.0, multiplier=2.0,
                             timeout=self.deadline_s)


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ParameterError(variable, raw, "give a number of seconds above 0 and at most 3600")
    return value


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the service is unavailable or rate-limits, or the connection was refused or
    reset. A request that got no answer in time is not retried: it would only wait as long again."""
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, requests.exceptions.ReadTimeout):
        return False
    return isinstance(exc, (exceptions.ServiceUnavailable, exceptions.TooManyRequests, exceptions.InternalServerError,
                            exceptions.BadGateway, exceptions.GatewayTimeout, requests.exceptions.ConnectionError,
                            requests.exceptions.ChunkedEncodingError, auth_exceptions.TransportError))


def timed_session(credentials: Any, policy: CallPolicy | None = None) -> Any:
    """An authorised requests session that never waits longer than the policy's request timeout."""
    from google.auth.transport.requests import AuthorizedSession

    limit = (policy or CallPolicy.from_env()).request_s

    class TimedSession(AuthorizedSession):
        def request(self, method, url, data=None, headers=None, max_allowed_time=None, timeout=None, **kwargs):
            return super().request(method, url, data=data, headers=headers,
                                   max_allowed_time=min(max_allowed_time or limit, limit),
                                   timeout=_capped(timeout, limit), **kwargs)

    return TimedSession(credentials)


def _capped(timeout: Any, limit: float) -> Any:
    if isinstance(timeout, tuple):
        return tuple(min(t or limit, limit) for t in timeout)
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return min(timeout, limit)
    return limit


def cloud_call(api: str, endpoint: str, fn: Callable[..., Any], *args: Any, policy: CallPolicy | None = None,
               **kwargs: Any) -> Any:
    """fn(*args, **kwargs) for one call to Google Cloud API `api` (e.g. "Cloud Build") at `endpoint`:
    given the policy's timeout and retry where fn takes them and the caller did not, and with "no
    answer" (a timeout, a refused connection, retries used up) raised as CloudUnreachable and missing
    credentials as CredentialsMissing, each one sentence naming the API and the endpoint."""
    policy = policy or CallPolicy.from_env()
    accepted = _keywords(fn)
    if "timeout" in accepted and kwargs.get("timeout") is None:
        kwargs["timeout"] = policy.request_s
    if "retry" in accepted and "retry" not in kwargs:
        kwargs["retry"] = policy.retry()
    with translated(api, endpoint, getattr(fn, "__name__", "the call"), policy):
        return fn(*args, **kwargs)


class translated:
    """Context manager: errors of one call to Google Cloud become the kit's sentences."""

    def __init__(self, api: str, endpoint: str, call: str, policy: CallPolicy):
        self.api, self.endpoint, self.call, self.policy = api, endpoint, call, policy

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        error = unreachable(exc, self.api, self.endpoint, self.call, self.policy) if exc is not None else None
        if error is not None:
            raise error from None


def unreachable(exc: BaseException, api: str, endpoint: str, call: str,
                policy: CallPolicy) -> Exception | None:
    """The kit's error for `exc` when the API did not answer or could not be asked, else None."""
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    where = f"{api} at {endpoint}"
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return CredentialsMissing(f"target=gcp found no Google Cloud credentials for {where}: {HOW_TO_LOG_IN}.")
    if isinstance(exc, auth_exceptions.RefreshError):
        return CredentialsMissing(f"The Google Cloud credentials were refused when calling {where} "
                                  f"({one_line(exc, 160)}): {HOW_TO_LOG_IN}.")
    cause = exc.cause if isinstance(exc, exceptions.RetryError) and exc.cause is not None else exc
    if isinstance(cause, (requests.exceptions.Timeout, exceptions.DeadlineExceeded, TimeoutError)) or (
            isinstance(exc, exceptions.RetryError) and cause is exc):
        return CloudUnreachable(
            f"{where} did not answer {call} in time ({policy.request_s:g} s per request, {policy.deadline_s:g} s "
            f"per call with retries): check the network, a proxy or firewall, and {ENDPOINTS_HINT}.")
    if isinstance(cause, (requests.exceptions.ConnectionError, auth_exceptions.TransportError, ConnectionError)):
        retried = " after retries" if isinstance(exc, exceptions.RetryError) else ""
        return CloudUnreachable(f"{where} could not be reached for {call}{retried} ({_reason(cause)}): "
                                f"check the network, a proxy or firewall, and {ENDPOINTS_HINT}.")
    if isinstance(exc, exceptions.RetryError):
        return CloudUnreachable(f"{where} still refused {call} after retrying for {policy.deadline_s:g} s "
                                f"({one_line(cause, 160)}).")
    return None


ENDPOINTS_HINT = "RUNBOOK_GCP_ENDPOINTS if it points the kit elsewhere"


def _reason(exc: BaseException) -> str:
    """The operating system's words under a connection error ("Connection refused"), else its type."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return found.group(1).strip() if found else type(exc).__name__


@functools.lru_cache(maxsize=256)
def _keywords_of(fn: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _keywords(fn: Any) -> frozenset[str]:
    try:
        return _keywords_of(getattr(fn, "__func__", fn))
    except TypeError:   # unhashable callable
        return frozenset()


class GuardedClient:
    """A client whose every method call goes through cloud_call (and whose returned pages and
    iterators translate errors raised while they fetch more); attributes pass through."""

    def __init__(self, client: Any, service: str, endpoint: str | None, policy: CallPolicy | None = None):
        self._client = client
        self._api = API_NAMES.get(service, service)
        self._endpoint = endpoint or DEFAULT_ENDPOINTS.get(service, service)
        self._policy = policy or CallPolicy.from_env()

    @property
    def unwrapped(self) -> Any:
        return self._client

    @property
    def where(self) -> tuple[str, str]:
        """(the API's name, its endpoint), for cloud_call on objects this client returns."""
        return self._api, self._endpoint

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute) or inspect.isclass(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = cloud_call(self._api, self._endpoint, attribute, *args, policy=self._policy, **kwargs)
            if inspect.isgenerator(result) or hasattr(result, "pages") or type(result).__name__.endswith("Pager"):
                return _GuardedPages(result, self._api, self._endpoint, name, self._policy)
            return result

        return call


class _GuardedPages:
    """A pager, page iterator or generator whose later pages are fetched under the same translation."""

    def __init__(self, pages: Any, api: str, endpoint: str, call: str, policy: CallPolicy):
        self._pages, self._api, self._endpoint, self._call, self._policy = pages, api, endpoint, call, policy

    def __iter__(self) -> Any:
        iterator = iter(self._pages)
        while True:
            with translated(self._api, self._endpoint, self._call, self._policy):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pages, name)



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


def storage_client(project: str, credentials: Any = None, endpoint: str | None = None):
    from google.cloud import storage

    endpoint = check_endpoint("storage", endpoint)
    creds = credentials_for(credentials, endpoint)
    return storage.Client(project=project, credentials=creds, client_options=_options(endpoint), **_session(creds))


def _session(credentials: Any) -> dict[str, Any]:
    """`_http=` for a google-cloud-core client: a TimedSession (with ADC resolved by the caller);
    nothing when the library is to resolve credentials itself."""
    return {"_http": timed_session(credentials)} if credentials is not None else {}


class GcpClients:
    """Lazily built, shared clients for one project. Attributes: cloudbuild, logging, storage, run, revisions."""

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
                else:
                    client = storage_client(self.project, creds, endpoint)
                policy = CallPolicy.from_env()
                guard = functools.partial(GuardedClient, service=service, endpoint=self.endpoint(service), policy=policy)
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
    def run(self):
        return self._get("run")[0]

    @property
    def revisions(self):
        return self._get("run")[1]

    def close(self) -> None:
        with self._lock:
            built, self._built = self._built, {}
        for client in built.values():
            for one in client if isinstance(client, tuple) else (client,):
                close_client(one)


def default_credentials(where: str = "Google Cloud") -> Any:
    """Application Default Credentials, or CredentialsMissing in one sentence."""
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except auth_exceptions.DefaultCredentialsError:
        raise CredentialsMissing(f"target=gcp found no Google Cloud credentials for {where}: {HOW_TO_LOG_IN}.") from None
    return credentials


def needs_credentials(endpoints: dict[str, str] | None) -> bool:
    """Does target=gcp with these endpoints need Application Default Credentials (any API not at a
    plain-http fake)?"""
    endpoints = check_endpoints(endpoints)
    return any(not (endpoints.get(service) or "").startswith("http://") for service in SERVICES)


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


def make_clients(project: str, credentials: Any = None, endpoints: dict[str, str] | None = None) -> GcpClients:
    """Shared clients for the gcp target; see the module docstring for production vs tests."""
    return GcpClients(project, credentials=credentials, endpoints=endpoints)
