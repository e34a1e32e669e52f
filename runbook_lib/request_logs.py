"""Request-log questions asked the same way on both targets (local/logs.py, gcp/logs.py): which services,
which window, which statuses, checked before any read; and the entries' one order, newest first."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from .errors import ParameterError
from .formats import as_utc, parse_time

# Cloud Logging adds `timestamp >= 24 h ago` to a filter without a timestamp bound, so both targets use
# that window when `since` is not given.
REQUEST_LOG_WINDOW = timedelta(hours=24)
_STATUS_CLASS = re.compile(r"^[1-5]xx$")


def entry_time(entry: dict) -> datetime | None:
    try:
        return parse_time(entry["timestamp"])
    except (KeyError, AttributeError, TypeError, ValueError):
        return None


def _status_filter(status: Any) -> tuple[frozenset[int], tuple[int, ...]]:
    """(exact codes, classes as their hundreds digit): 403, "4xx", or a list of them."""
    if status is None:
        return frozenset(), ()
    items = list(status) if isinstance(status, (list, tuple, set, frozenset)) else [status]
    if not items:
        raise ParameterError("status", status, "give an HTTP status (403), a class ('4xx') or a non-empty list of them")
    codes, classes = set(), set()
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            codes.add(item)
        elif isinstance(item, str) and _STATUS_CLASS.match(item.strip().lower()):
            classes.add(int(item.strip()[0]))
        else:
            raise ParameterError("status", status, "give an HTTP status (403), a class ('4xx') or a list of them")
    return frozenset(codes), tuple(sorted(classes))


def phase_named(phases, value: Any, parameter: str = "service") -> str:
    """The phase that a phase name ("phase4", "4") or a Cloud Run service name stands for."""
    names = phases.names()
    for name in names:
        if value == phases.get(name).service:
            return name
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return phases.get(value).name
        except ParameterError:
            pass
    allowed = ", ".join(names + [phases.get(n).service for n in names])
    raise ParameterError(parameter, value, f"give a phase or a Cloud Run service name: one of {allowed}")


def _services(phases, service: Any) -> tuple[str, ...]:
    """The Cloud Run service names asked for: one by phase or service name; None means every phase's."""
    if service is None:
        return tuple(phases.get(n).service for n in phases.names())
    return (phases.get(phase_named(phases, service)).service,)


@dataclass(frozen=True)
class RequestLogQuery:
    """A checked request_logs() question; since inclusive, until exclusive (None: no upper bound)."""

    services: tuple[str, ...]
    # Each service's region, in the same order: a service of the same name in another region of the project
    # (a stray deploy without --region) is another service, with another IAM policy.
    regions: tuple[str, ...]
    since: datetime
    until: datetime | None
    codes: frozenset[int] = frozenset()
    classes: tuple[int, ...] = ()   # 4 for "4xx"
    limit: int | None = None

    def status_matches(self, code: int) -> bool:
        return not (self.codes or self.classes) or code in self.codes or code // 100 in self.classes

    def matches(self, entry: dict) -> bool:
        when = entry_time(entry)
        if when is None or when < self.since or (self.until is not None and when >= self.until):
            return False
        labels = entry.get("resource", {}).get("labels", {})
        if (labels.get("service_name"), labels.get("location")) not in zip(self.services, self.regions):
            return False
        try:
            code = int(entry.get("httpRequest", {}).get("status", 0))
        except (TypeError, ValueError):
            return False
        return self.status_matches(code)


def request_log_query(phases, service: Any = None, since: Any = None, until: Any = None, status: Any = None,
                      limit: Any = None, now: datetime | None = None) -> RequestLogQuery:
    """Check request_logs() arguments the same way on every target (ParameterError before any read).

    service: a phase ("phase4", "4") or a Cloud Run service name; None = every phase's service.
    since:   inclusive lower bound; None = REQUEST_LOG_WINDOW (24 h) before `until` (or before now).
    until:   exclusive upper bound; None = no upper bound.
    status:  403, "4xx", or a list of them.   limit: at most this many, newest first; None = all.
    """
    services = _services(phases, service)
    end = as_utc("until", until)
    start = as_utc("since", since)
    if start is None:
        start = (end or now or datetime.now(timezone.utc)) - REQUEST_LOG_WINDOW
    if end is not None and end <= start:
        raise ParameterError("until", until, f"give a moment later than since ({start.isoformat()})")
    codes, classes = _status_filter(status)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ParameterError("limit", limit, "give a whole number of at least 1, or None for all")
    regions = tuple(phases.get(phase_named(phases, name)).region for name in services)
    return RequestLogQuery(services, regions, start, end, codes, classes, limit)


def newest_first(entries: Iterable[dict]) -> list[dict]:
    """Newest first by timestamp; entries of the same instant by insertId, descending (a stable order)."""
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(entries, key=lambda e: (entry_time(e) or floor, str(e.get("insertId", ""))), reverse=True)
