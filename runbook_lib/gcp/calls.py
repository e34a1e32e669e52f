"""The timeout policy every call to Google Cloud follows, in one place.

One HTTP request waits at most `request_s` for an answer, and one API call, with its retries of
transient errors (unavailable, rate limited, connection refused or reset), at most `deadline_s`
(CallPolicy; RUNBOOK_GCP_REQUEST_TIMEOUT_S and RUNBOOK_GCP_CALL_DEADLINE_S change them). An endpoint
that accepts connections and never answers costs one request timeout; then CloudUnreachable names
the API, the endpoint and the call. Only reads are retried (a create or an update sent twice could
happen twice), with exponential backoff and jitter (google-api-core's Retry) over unavailable, rate
limited and refused connections. Every refusal by Google (a missing role, an API not enabled, a
perimeter, a quota, credentials missing, expired or refused, a 404) becomes one sentence from the
table in gcp/refusals.py.

How it reaches every call (gcp/clients.py builds the clients this way):
  - GuardedClient wraps a client: each method call gets the policy's timeout and retry (where the
    method takes them and the caller did not give them), and errors become the sentences above,
    also while a returned pager, page iterator or generator fetches more, or an operation is polled;
  - timed_session(credentials) is the `_http=` of a client built on google-cloud-core (logging,
    storage, bigquery): every HTTP request it makes is capped, also those of objects it returns;
  - a call on such a returned object (a blob) goes through cloud_call(client.where, fn, ...).
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..errors import CloudUnreachable, ParameterError
from ..formats import one_line
from .refusals import credentials_error, google_words, is_rate_limit, refusal

# The last two the kit calls over REST itself, with no client library (RestClient: gcp/projects.py, gcp/artifacts.py).
API_NAMES = {"cloudbuild": "Cloud Build", "logging": "Cloud Logging", "storage": "Cloud Storage",
             "run": "Cloud Run", "pubsub": "Pub/Sub", "bigquery": "BigQuery",
             "cloudresourcemanager": "Resource Manager", "artifactregistry": "Artifact Registry"}
DEFAULT_ENDPOINTS = {"cloudbuild": "https://cloudbuild.googleapis.com", "logging": "https://logging.googleapis.com",
                     "storage": "https://storage.googleapis.com", "run": "https://run.googleapis.com",
                     "pubsub": "https://pubsub.googleapis.com", "bigquery": "https://bigquery.googleapis.com",
                     "cloudresourcemanager": "https://cloudresourcemanager.googleapis.com",
                     "artifactregistry": "https://artifactregistry.googleapis.com"}
REQUEST_TIMEOUT_ENV = "RUNBOOK_GCP_REQUEST_TIMEOUT_S"
CALL_DEADLINE_ENV = "RUNBOOK_GCP_CALL_DEADLINE_S"
ENDPOINTS_HINT = "RUNBOOK_GCP_ENDPOINTS if it points the kit elsewhere"


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

    def retry(self, predicate: Callable[[BaseException], bool] | None = None) -> Any:
        """Exponential backoff with full jitter (each wait random up to 1 s, 2 s, 4 s ... 10 s) over
        transient errors (is_transient, unless an API that names its own reasons gives its `predicate`),
        for at most `deadline_s` in all; a short deadline starts with shorter waits."""
        from google.api_core import retry as retries

        return retries.Retry(predicate=predicate or is_transient, initial=min(1.0, self.deadline_s / 20),
                             maximum=10.0, multiplier=2.0, timeout=self.deadline_s)


@dataclass(frozen=True)
class CallSite:
    """One Google API as the kit calls it: its name (API_NAMES), endpoint and project, the policy its
    calls follow, and whether its refusals are said here (BigQuery's adapter says its own, with the
    dataset and role: gcp/bigquery_errors.py)."""
    api: str
    endpoint: str
    project: str | None = None
    policy: CallPolicy = field(default_factory=CallPolicy.from_env)
    refusals: bool = True


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


def site_of(client: Any, service: str, project: str | None = None) -> CallSite:
    """Where a client's calls go: a GuardedClient's own site, else Google's endpoint for `service` (a key of
    API_NAMES), for cloud_call on the objects a client returns."""
    return getattr(client, "where", None) or CallSite(API_NAMES[service], DEFAULT_ENDPOINTS[service], project)


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the service is unavailable or rate-limits (429, or a 403 whose reason is a
    rate limit), or the connection was refused or reset. A request that got no answer in time is not
    retried: it would only wait as long again."""
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, requests.exceptions.ReadTimeout):
        return False
    if isinstance(exc, exceptions.GoogleAPICallError) and is_rate_limit(exc):
        return True
    return isinstance(exc, (exceptions.ServiceUnavailable, exceptions.InternalServerError,
                            exceptions.BadGateway, exceptions.GatewayTimeout, requests.exceptions.ConnectionError,
                            requests.exceptions.ChunkedEncodingError, auth_exceptions.TransportError))


class UnreadableAnswer(Exception):
    """A 2xx whose body is no answer of the API's (empty, or not its JSON): a proxy or load balancer between, most
    likely, answered in its place."""


# A listing that hands back a page token it gave before would be listed forever (as would one past this many pages:
# the kit's largest, a day of request logs, is a few hundred pages of PAGE_SIZE).
MAX_PAGES = 10_000


class PageTokens:
    """The page tokens one listing was given: a token given twice, or a listing past MAX_PAGES, ends it in one
    sentence naming the API and the call, instead of asking for the same page until a cell's timeout. `asked`
    is the token of the page last asked for (None: the first page), where a listing that failed can resume."""

    def __init__(self, site: CallSite, call: str):
        self.site, self.call, self.seen = site, call, set()
        self.asked: Any = None

    def note(self, token: Any) -> None:
        self.asked = token or None
        if not token:
            return
        if token in self.seen or len(self.seen) >= MAX_PAGES:
            why = "gave back a page token it had given before" if token in self.seen else \
                f"was still giving pages after {MAX_PAGES}"
            raise CloudUnreachable(f"{self.site.api} at {self.site.endpoint} {why} while listing ({self.call}), so the "
                                   f"listing would never end; stopped there (try again later, or check "
                                   f"{ENDPOINTS_HINT}).")
        self.seen.add(token)


# The listing the session's requests belong to (GcpLogs sets it around one listing: google-cloud-logging's
# list_entries pages inside a generator of its own, out of the kit's reach but for the requests it sends).
_LISTING: ContextVar[PageTokens | None] = ContextVar("listing", default=None)


@contextmanager
def listing_as(tokens: PageTokens) -> Iterator[PageTokens]:
    """The session's requests in this block belong to `tokens`' listing: a listing read a step at a time
    (a stream between whose steps the caller runs) names its listing around each step only."""
    reset = _LISTING.set(tokens)
    try:
        yield tokens
    finally:
        _LISTING.reset(reset)


def _page_token(url: str, data: Any) -> str | None:
    """The pageToken a request asks for: in the query (GET) or the JSON body (Cloud Logging's POST)."""
    from urllib.parse import parse_qs, urlsplit

    token = parse_qs(urlsplit(url).query).get("pageToken")
    if token:
        return token[0]
    if isinstance(data, (str, bytes)) and b"pageToken" in (data.encode() if isinstance(data, str) else data):
        try:
            body = json.loads(data)
        except ValueError:
            return None
        return body.get("pageToken") if isinstance(body, dict) else None
    return None


def watch_pages(pager: Any, site: CallSite, call: str) -> Any:
    """A GAPIC pager (Cloud Build, Cloud Run, Pub/Sub) whose next pages are fetched through PageTokens."""
    method, request = getattr(pager, "_method", None), getattr(pager, "_request", None)
    if callable(method) and hasattr(request, "page_token"):
        tokens = PageTokens(site, call)

        def next_page(request: Any, *args: Any, **kwargs: Any) -> Any:
            tokens.note(request.page_token)
            return method(request, *args, **kwargs)

        pager._method = next_page
    return pager


def timed_session(credentials: Any, policy: CallPolicy | None = None) -> Any:
    """An authorised requests session that never waits longer than the policy's request timeout (and, within
    a listing (listing_as), never asks for a page twice)."""
    from google.auth.transport.requests import AuthorizedSession

    limit = (policy or CallPolicy.from_env()).request_s

    class TimedSession(AuthorizedSession):
        def request(self, method, url, data=None, headers=None, max_allowed_time=None, timeout=None, **kwargs):
            listing = _LISTING.get()
            if listing is not None:
                listing.note(_page_token(url, data))
            response = super().request(method, url, data=data, headers=headers,
                                       max_allowed_time=min(max_allowed_time or limit, limit),
                                       timeout=_capped(timeout, limit), **kwargs)
            # A JSON API's 2xx always has a body (204 aside); a download (alt=media) may be empty, as a file may
            if (200 <= response.status_code < 300 and response.status_code != 204 and method.upper() in ("GET", "POST")
                    and "alt=media" not in url and not kwargs.get("stream") and not response.content):
                raise UnreadableAnswer(f"{response.status_code} with an empty body")
            return response

    return TimedSession(credentials)


class RestClient:
    """A Google JSON API the kit calls by hand over an authorised session (no client library for one or two
    calls). Each call raises the exception a client library would (google.api_core, ErrorInfo included), so
    GcpClients' GuardedClient gives it the call policy's retry and refusals.py says it as every other API's."""

    def __init__(self, session: Any, endpoint: str):
        self.session = session
        self.endpoint = endpoint.rstrip("/")

    def _call(self, method: str, path: str, timeout: float | None, retry: Callable | None,
              query: dict | None = None, body: dict | None = None) -> dict:
        def send() -> dict:
            from google.api_core import exceptions

            response = self.session.request(method, f"{self.endpoint}/{path}", params=query or None, json=body,
                                            timeout=timeout)
            if response.status_code >= 400:
                raise exceptions.from_http_response(response)
            return response.json()

        return retry(send)() if retry is not None else send()

    def close(self) -> None:
        self.session.close()


def _capped(timeout: Any, limit: float) -> Any:
    if isinstance(timeout, tuple):
        return tuple(min(t or limit, limit) for t in timeout)
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return min(timeout, limit)
    return limit


# Calls that only read, and so may be sent again: the policy's retry is given to these only (`done`
# polls a long-running operation). A create or an update sent twice could make two builds, so a write
# gets the timeout and retry=None: neither the kit nor the client library's default sends it again.
_READS = ("get", "list", "download", "exists", "reload", "lookup", "search", "test_iam_permissions", "done")


def cloud_call(site: CallSite, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) for one call to the Google Cloud API of `site`: given the policy's timeout
    (and, for a read, its retry; for a write, none) where fn takes them and the caller did not, with
    "no answer" (a timeout, a refused connection, retries used up) raised as CloudUnreachable and a
    refusal as the kit's sentence for it (gcp/refusals.py), each naming the API."""
    accepted = _keywords(fn)
    name = getattr(fn, "__name__", "the call")
    if "timeout" in accepted and kwargs.get("timeout") is None:
        kwargs["timeout"] = site.policy.request_s
    if "retry" in accepted and "retry" not in kwargs:
        kwargs["retry"] = site.policy.retry() if name.startswith(_READS) else None
    with translated(site, name):
        return fn(*args, **kwargs)


@contextmanager
def translated(site: CallSite, call: str) -> Iterator[None]:
    """Errors of one call to Google Cloud as the kit's sentences (see cloud_error); others unchanged."""
    try:
        yield
    except Exception as exc:
        error = cloud_error(exc, site, call)
        if error is None:
            raise
        raise error from None


def cloud_error(exc: BaseException, site: CallSite, call: str) -> Exception | None:
    """The kit's error for `exc` when the API did not answer, could not be reached or stayed
    unavailable (CloudUnreachable), there were no usable credentials (CredentialsMissing), or (with
    site.refusals) the API refused the call (gcp/refusals.py); else None."""
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    api, endpoint, policy = site.api, site.endpoint, site.policy
    where = f"{api} at {endpoint}"
    if site.refusals:
        said = refusal(exc, api, call, site.project, endpoint, retried_s=policy.deadline_s)
        if said is not None:
            return said
    else:
        said = credentials_error(exc, where)
        if said is not None:
            return said
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
    if isinstance(cause, UnreadableAnswer) or type(cause).__name__ == "ParseError":   # (protobuf's json_format)
        return CloudUnreachable(f"{where} answered {call} with a body that is not its JSON ({one_line(str(cause).strip() or type(cause).__name__, 120)}): "
                                f"a proxy or load balancer between may have answered in its place; try again, and "
                                f"check the network path and {ENDPOINTS_HINT}.")
    if isinstance(exc, exceptions.RetryError) and isinstance(cause, exceptions.ServerError):
        # Unavailable until the deadline (a rate limit or quota is a refusal, said above).
        # Google's words without the request line (the kit names the call), which would fill the quote alone
        code = getattr(cause, "code", None)
        return CloudUnreachable(f"{where} was still unavailable for {call} after retrying for {policy.deadline_s:g} s "
                                f"({f'{code} ' if code else ''}{google_words(cause, 160)}).")
    return None


def _reason(exc: BaseException) -> str:
    """The operating system's words under a connection error ("Connection refused", or a reset read as
    "ConnectionResetError(104, 'Connection reset by peer')"), else its type."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)|Error\(-?\d+, '([^']+)'\)", str(exc))
    return (found.group(1) or found.group(2)).strip() if found else type(exc).__name__


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

    def __init__(self, client: Any, api: str, endpoint: str, policy: CallPolicy | None = None,
                 project: str | None = None, refusals: bool = True):
        self._client = client
        # api: e.g. "Cloud Build" (API_NAMES); endpoint: e.g. https://cloudbuild.googleapis.com (DEFAULT_ENDPOINTS)
        self._site = CallSite(api, endpoint, project, policy or CallPolicy.from_env(), refusals)

    @property
    def unwrapped(self) -> Any:
        return self._client

    @property
    def where(self) -> CallSite:
        """The API, endpoint, project and policy, for cloud_call on objects this client returns."""
        return self._site

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute) or inspect.isclass(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = cloud_call(self._site, attribute, *args, **kwargs)
            # On the type: reading `pages` of an api_core page iterator starts it.
            if inspect.isgenerator(result) or hasattr(type(result), "pages") or type(result).__name__.endswith("Pager"):
                return _GuardedPages(result, self._site, name)
            if callable(getattr(result, "done", None)) and hasattr(result, "operation"):   # api_core Operation
                site = self._site
                return GuardedClient(result, site.api, site.endpoint, site.policy, site.project, site.refusals)
            return result

        return call


class _GuardedPages:
    """A pager, page iterator or generator whose later pages are fetched under the same translation."""

    def __init__(self, pages: Any, site: CallSite, call: str):
        self._pages, self._site, self._call = watch_pages(pages, site, call), site, call

    def __iter__(self) -> Any:
        iterator = iter(self._pages)
        while True:
            with translated(self._site, self._call):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pages, name)
