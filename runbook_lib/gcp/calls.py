"""The timeout policy every call to Google Cloud follows, in one place.

One HTTP request waits at most `request_s` for an answer, and one API call, with its retries of
transient errors (unavailable, rate limited, connection refused or reset), at most `deadline_s`
(CallPolicy; RUNBOOK_GCP_REQUEST_TIMEOUT_S and RUNBOOK_GCP_CALL_DEADLINE_S change them). An endpoint
that accepts connections and never answers costs one request timeout; then CloudUnreachable names
the API, the endpoint and the call. Missing or refused credentials are CredentialsMissing.

How it reaches every call (gcp/clients.py builds the clients this way):
  - GuardedClient wraps a client: each method call gets the policy's timeout and retry (where the
    method takes them and the caller did not give them), and errors become the sentences above,
    also while a returned pager, page iterator or generator fetches more;
  - timed_session(credentials) is the `_http=` of a client built on google-cloud-core (logging,
    storage, bigquery): every HTTP request it makes is capped, also those of objects it returns;
  - a call on such a returned object (a blob, a job) goes through cloud_call(api, endpoint, fn, ...).
"""
from __future__ import annotations

import functools
import inspect
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import CloudUnreachable, CredentialsMissing, ParameterError
from ..formats import one_line

API_NAMES = {"cloudbuild": "Cloud Build", "logging": "Cloud Logging", "storage": "Cloud Storage",
             "run": "Cloud Run", "pubsub": "Pub/Sub", "bigquery": "BigQuery"}
DEFAULT_ENDPOINTS = {"cloudbuild": "https://cloudbuild.googleapis.com", "logging": "https://logging.googleapis.com",
                     "storage": "https://storage.googleapis.com", "run": "https://run.googleapis.com",
                     "pubsub": "https://pubsub.googleapis.com", "bigquery": "https://bigquery.googleapis.com"}
REQUEST_TIMEOUT_ENV = "RUNBOOK_GCP_REQUEST_TIMEOUT_S"
CALL_DEADLINE_ENV = "RUNBOOK_GCP_CALL_DEADLINE_S"
ENDPOINTS_HINT = "RUNBOOK_GCP_ENDPOINTS if it points the kit elsewhere"
HOW_TO_LOG_IN = ("run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service "
                 "account key file")


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


# Calls that only read, and so may be sent again: the policy's retry is given to these only. A create
# or an update sent twice could make two builds, so writes get the timeout and no retry of ours.
_READS = ("get", "list", "download", "exists", "reload", "lookup", "search", "test_iam_permissions")


def cloud_call(api: str, endpoint: str, fn: Callable[..., Any], *args: Any, policy: CallPolicy | None = None,
               **kwargs: Any) -> Any:
    """fn(*args, **kwargs) for one call to Google Cloud API `api` (e.g. "Cloud Build") at `endpoint`:
    given the policy's timeout (and, for a read, its retry) where fn takes them and the caller did
    not, and with "no answer" (a timeout, a refused connection, retries used up) raised as
    CloudUnreachable and missing credentials as CredentialsMissing, each one sentence naming the API
    and the endpoint."""
    policy = policy or CallPolicy.from_env()
    accepted = _keywords(fn)
    name = getattr(fn, "__name__", "the call")
    if "timeout" in accepted and kwargs.get("timeout") is None:
        kwargs["timeout"] = policy.request_s
    if "retry" in accepted and "retry" not in kwargs and name.startswith(_READS):
        kwargs["retry"] = policy.retry()
    with translated(api, endpoint, name, policy):
        return fn(*args, **kwargs)


@contextmanager
def translated(api: str, endpoint: str, call: str, policy: CallPolicy) -> Iterator[None]:
    """Errors of one call to Google Cloud as the kit's sentences (see cloud_error); others unchanged."""
    try:
        yield
    except Exception as exc:
        error = cloud_error(exc, api, endpoint, call, policy)
        if error is None:
            raise
        raise error from None


def cloud_error(exc: BaseException, api: str, endpoint: str, call: str, policy: CallPolicy) -> Exception | None:
    """The kit's error for `exc` when the API did not answer, could not be reached or stayed
    unavailable (CloudUnreachable), or there were no usable credentials (CredentialsMissing); else None."""
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
    if isinstance(exc, exceptions.RetryError) and isinstance(cause, exceptions.ServerError):
        # Unavailable until the deadline. A rate limit or quota is left to the adapter, which knows
        # its API's quotas and says which one.
        return CloudUnreachable(f"{where} was still unavailable for {call} after retrying for {policy.deadline_s:g} s "
                                f"({one_line(cause, 160)}).")
    return None


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
    """A client whose every method call goes through cloud_call; what a call returns that goes on
    calling the API (a pager, page iterator or generator fetching more; a long-running operation
    polled with done()) is guarded the same way. Attributes pass through."""

    def __init__(self, client: Any, api: str, endpoint: str, policy: CallPolicy | None = None):
        self._client = client
        self._api = api                   # e.g. "Cloud Build" (API_NAMES)
        self._endpoint = endpoint         # e.g. https://cloudbuild.googleapis.com (DEFAULT_ENDPOINTS)
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
            # On the type: reading `pages` of an api_core page iterator starts it.
            if inspect.isgenerator(result) or hasattr(type(result), "pages") or type(result).__name__.endswith("Pager"):
                return _GuardedPages(result, self._api, self._endpoint, name, self._policy)
            if callable(getattr(result, "done", None)) and hasattr(result, "operation"):   # api_core Operation
                return GuardedClient(result, self._api, self._endpoint, self._policy)
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
