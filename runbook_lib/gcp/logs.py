"""Cloud Logging over the real google-cloud-logging client (HTTP/JSON): build logs and Cloud Run requests.

Every filter carries an explicit timestamp bound: the client silently adds `timestamp>=<24 h ago>` to a
filter without one, which would hide any build older than a day.

No filter names the project: Cloud Logging keeps logName with the project's id whatever the query was given
(LogEntry.logName), so a `logName="projects/NUMBER/..."` term built from a project given as its number matches
nothing. `log_id("...")` names the log alone, and resourceNames already says which project to search.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

from ..buildlogs import LOGGING, LogSourceError, NotFound
from ..diagnose.build import check_build_id
from ..errors import ParameterError
from ..formats import as_utc, rfc3339
from ..request_logs import RequestLogQuery, newest_first, request_log_query
from .calls import CallSite, PageTokens, is_transient, listing_as, site_of, translated
from .clients import LazyClient, check_project, close_client, guarded, logging_client
from .refusals import refused_as

BUILD_LOG_SLACK = timedelta(minutes=5)
PAGE_SIZE = 1000


def _utc(value: Any, parameter: str) -> datetime:
    moment = as_utc(parameter, value)
    if moment is None:
        raise ParameterError(parameter, value, "give a datetime or ISO 8601 text such as 2025-12-31T01:41:03Z")
    return moment


def whole_seconds(moment: datetime, round_up: bool = False) -> str:
    """Whole-second RFC 3339 UTC text; round_up for an upper bound so nothing at its edge is lost."""
    seconds = moment.timestamp()
    whole = math.ceil(seconds) if round_up else math.floor(seconds)
    return rfc3339(datetime.fromtimestamp(whole, tz=timezone.utc), micros=False)


def _bounds(start: Any, end: Any) -> tuple[datetime, datetime]:
    start_at, end_at = _utc(start, "start"), _utc(end, "end")
    if end_at < start_at:
        raise ParameterError("end", end, f"must not be before start ({whole_seconds(start_at)})")
    return start_at, end_at


def build_log_filter(build_id: str, start: Any, end: Any) -> str:
    start_at, end_at = _bounds(start, end)
    return ('log_id("cloudbuild") AND resource.type="build" AND '
            f'resource.labels.build_id="{build_id}" AND '
            f'timestamp>="{whole_seconds(start_at)}" AND timestamp<="{whole_seconds(end_at, round_up=True)}"')


def _stamp(moment: datetime) -> str:
    """Exact RFC 3339 UTC text for a request-log bound (microseconds only when there are any)."""
    return rfc3339(moment, micros=bool(moment.microsecond))


def _status_terms(query: RequestLogQuery) -> str:
    # Cloud Logging gives OR a higher precedence than AND, so every group is parenthesised.
    terms = [f"httpRequest.status={code}" for code in sorted(query.codes)]
    terms += [f"(httpRequest.status>={c * 100} AND httpRequest.status<{(c + 1) * 100})" for c in query.classes]
    if len(terms) == 1:
        return terms[0]
    return "(" + " OR ".join(terms) + ")" if terms else ""


def _service_terms(query: RequestLogQuery) -> list[str]:
    """Each service in its own region (RequestLogQuery.regions)."""
    named = [f'resource.labels.service_name="{name}"' for name in query.services]
    places = set(query.regions)
    if len(places) == 1:
        return [named[0] if len(named) == 1 else "(" + " OR ".join(named) + ")",
                f'resource.labels.location="{places.pop()}"']
    return ["(" + " OR ".join(f'({term} AND resource.labels.location="{region}")'
                              for term, region in zip(named, query.regions)) + ")"]


def request_log_filter(query: RequestLogQuery) -> str:
    """The Cloud Logging filter for a checked request_logs() query: since inclusive, until exclusive."""
    terms = ['log_id("run.googleapis.com/requests")', 'resource.type="cloud_run_revision"',
             *_service_terms(query), f'timestamp>="{_stamp(query.since)}"']
    if query.until is not None:
        terms.append(f'timestamp<"{_stamp(query.until)}"')
    status = _status_terms(query)
    if status:
        terms.append(status)
    return " AND ".join(terms)


def _entry_text(entry: Any) -> str:
    payload = getattr(entry, "payload", None)
    if payload is None:
        return ""
    return payload if isinstance(payload, str) else str(payload)


_END = object()


class _ListingCursor:
    """One listing read an entry at a time, opened again at the page that failed (the session names the page
    each request asks for: calls.listing_as). A session that names no pages (a client the kit did not build)
    is opened again from the start, past the entries already given."""

    def __init__(self, site: CallSite, open_listing: Callable[[str | None, int | None], Iterable[Any]],
                 max_results: int | None):
        self.site, self.open_listing, self.max_results = site, open_listing, max_results
        self.token: str | None = None   # the page to open at (None: the first)
        self.given = 0                   # entries handed out so far
        self.skip = 0                    # entries to pass over after opening (a restart from the first page)
        self.entries: Iterator[Any] | None = None
        self.tokens: PageTokens | None = None

    def next_entry(self) -> Any:
        left = None if self.max_results is None else self.max_results - self.given
        if left is not None and left <= 0:
            return _END
        try:
            with listing_as(self.tokens or PageTokens(self.site, "list_entries")) as self.tokens:
                if self.entries is None:
                    limit = None if left is None else left + self.skip
                    self.entries = iter(self.open_listing(self.token, limit))
                while self.skip and next(self.entries, _END) is not _END:
                    self.skip -= 1
                self.skip = 0
                entry = next(self.entries, _END)
        except Exception:
            self._reopen()
            raise
        if entry is not _END:
            self.given += 1
        return entry

    def _reopen(self) -> None:
        asked = self.tokens.asked if self.tokens else None
        if asked is None and self.token is None:   # the first page, or a session that names no pages
            self.skip = self.given
        else:
            self.token = asked or self.token
        self.entries, self.tokens = None, None

    def retried(self, failed: Exception) -> Any:
        """The next entry after `failed`, under the call policy's backoff (its first wait included) while no page
        gets through; a page that does starts a deadline of its own."""
        while True:
            begun, pending = self.token, [failed]

            def step() -> Any:
                if pending:
                    raise pending.pop()
                return self.next_entry()

            try:
                return self.site.policy.retry(lambda exc, at=begun: is_transient(exc) and self.token == at)(step)()
            except Exception as exc:
                if self.token == begun or not is_transient(exc):
                    raise
                failed = exc


class GcpLogs:
    """target.logs for Google Cloud: build log entries and Cloud Run request logs."""

    def __init__(self, project: str, credentials: Any = None, endpoint: str | None = None, client: Any = None):
        self.project = check_project(project)
        self._credentials = credentials
        self._endpoint = endpoint
        self._client = client
        self._owns_client = client is None

    @property
    def client(self):
        if self._client is None:  # built on first use: constructing the adapter stays offline
            self._client = guarded("logging", logging_client(self.project, self._credentials, self._endpoint),
                                   self.project, self._endpoint)
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            close_client(self._client)
            self._client = None

    def _entries(self, filter_: str, order_by: str, max_results: int | None = None) -> Iterator[Any]:
        """Every entry matching (at most max_results), every page, one at a time as the pages arrive: a window
        of a million requests is never held at once. google-cloud-logging's listing retries nothing, so a
        transient error (429, 503) is retried by the call policy (backoff with jitter) from the page that
        failed, whose token the kit's session saw asked for (calls.listing_as): Cloud Logging's page tokens
        stay valid for 24 hours, and a listing begun again would spend a per-minute read quota
        (ReadRequestsPerMinutePerProject) on the same first pages every minute and never get past them. The
        policy's deadline bounds each page, as one call (a per-minute quota clears well within the default
        180 s), not the listing, which may need more pages than a minute's quota. A refusal is the policy's
        sentence (a missing roles/logging.viewer, the Logging API not enabled, credentials, a quota still
        used up at the deadline: gcp/refusals.py); what the policy leaves is one LogSourceError sentence."""
        site = site_of(self.client, "logging", self.project)
        client = getattr(self.client, "unwrapped", self.client)   # the retry sees Google's errors, then says them
        cursor = _ListingCursor(site, lambda token, left: client.list_entries(
            resource_names=[f"projects/{self.project}"], filter_=filter_, order_by=order_by, page_size=PAGE_SIZE,
            page_token=token, max_results=left), max_results)
        what = f"Listing Cloud Logging entries (entries:list) in project {self.project}"
        with refused_as(what, LogSourceError), translated(site, "list_entries"):
            while True:
                try:
                    entry = cursor.next_entry()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    entry = cursor.retried(exc)
                if entry is _END:
                    return
                yield entry

    def build_log_filter(self, build_id: str, start: Any, end: Any) -> str:
        return build_log_filter(check_build_id(build_id), start, end)

    def build_log_entries(self, build_id: str, start: Any, end: Any) -> str:
        """The build's log lines from Cloud Logging between start and end, oldest first ("" if none)."""
        from google.cloud.logging_v2 import ASCENDING

        return "".join(_entry_text(e) + "\n" for e in self._entries(self.build_log_filter(build_id, start, end),
                                                                      ASCENDING))

    def request_log_entries(self, query: RequestLogQuery) -> list[dict]:
        """Cloud Run request log entries for a checked query, each service in its own region, newest first,
        as LogEntry JSON dicts (httpRequest.status/remoteIp/userAgent/requestUrl, resource, timestamp,
        severity, ...). Every page is read when query.limit is None."""
        from google.cloud.logging_v2 import DESCENDING

        entries = self._entries(request_log_filter(query), DESCENDING, max_results=query.limit)
        return newest_first(_entry_dict(e) for e in entries)

    def iter_request_log_entries(self, query: RequestLogQuery) -> Iterator[dict]:
        """request_log_entries' entries one at a time as their pages arrive, oldest first, never held together."""
        from google.cloud.logging_v2 import ASCENDING

        return (_entry_dict(e) for e in self._entries(request_log_filter(query), ASCENDING,
                                                      max_results=query.limit))


def _entry_dict(entry: Any) -> dict:
    data = entry.to_api_repr()
    received = getattr(entry, "received_timestamp", None)
    if received is not None and "receiveTimestamp" not in data:  # to_api_repr leaves it out
        data["receiveTimestamp"] = received.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return data


class GcpRuntimeLogs:
    """target.logs on gcp: Cloud Run request logs and the build-log sources for the fetch chain.

    It owns no client: Cloud Logging and Cloud Storage clients come from the target's shared clients.
    """

    def __init__(self, phases, cloud_logging: GcpLogs, storage_client: Callable[[], Any]):
        self.phases = phases
        self.cloud_logging = cloud_logging
        self._storage_client = storage_client

    def request_logs(self, service: str | None = None, since: Any = None, until: Any = None, status: Any = None,
                     limit: int | None = None) -> list[dict]:
        """Cloud Run request log entries (LogEntry dicts), newest first; the same semantics as the sandbox.

        service: a phase ("phase4", "4") or a Cloud Run service name; None = every phase's service, each
                 in its own region (RequestLogQuery.regions).
        since:   inclusive; None = the 24 hours before `until` (or before now): Cloud Logging adds that
                 window to any filter without a timestamp bound, so the kit makes it explicit.
        until:   exclusive; None = no upper bound.
        status:  a code (403), a class ("4xx") or a list of them.   limit: at most this many; None = all
                 (every page is read).
        """
        return self.cloud_logging.request_log_entries(request_log_query(self.phases, service, since, until,
                                                                        status, limit))

    def iter_request_logs(self, service: str | None = None, since: Any = None, until: Any = None,
                          status: Any = None) -> Iterator[dict]:
        """request_logs' entries one at a time as Cloud Logging's pages arrive (the audit's load of a whole
        window). The arguments are checked now, before any call, as request_logs checks them."""
        return self.cloud_logging.iter_request_log_entries(request_log_query(self.phases, service, since, until,
                                                                             status))

    def build_log_sources(self) -> list:
        from .storage import GcsLogSource

        # The storage client is built when the chain asks the bucket, not before: a client that cannot
        # get credentials then fails that one source, and the chain goes on to the next.
        return [GcsLogSource(LazyClient(self._storage_client)), CloudLoggingLogSource(self.cloud_logging)]

    def close(self) -> None:
        self.cloud_logging.close()   # closes its client only if it made it


def _build_window(build: dict, slack: timedelta) -> tuple[datetime, datetime]:
    created = build.get("createTime") or build.get("startTime")
    if not created:
        raise NotFound(f"Build {build.get('id')} has no createTime, so there is no time window to search logs in.")
    start = _utc(created, "build.createTime") - slack
    finished = build.get("finishTime")
    end = _utc(finished, "build.finishTime") + slack if finished else datetime.now(timezone.utc)
    return start, end


class CloudLoggingLogSource:
    """LogSource "logging": the build's entries in Cloud Logging (log cloudbuild, resource type build)."""

    name = LOGGING

    def __init__(self, logs: GcpLogs, slack: timedelta = BUILD_LOG_SLACK):
        self.logs = logs
        self.slack = slack

    def fetch(self, build: dict) -> str:
        start, end = _build_window(build, self.slack)
        text = self.logs.build_log_entries(build["id"], start, end)
        if not text:
            raise NotFound(f"Cloud Logging has no entries for build {build['id']} between "
                           f"{whole_seconds(start)} and {whole_seconds(end, round_up=True)}.")
        return text
