"""The sandbox's Cloud Logging: request logs of the loopback services, build logs.

Request logs live in `<home>/logs/requests.jsonl`, one Cloud Run request LogEntry per line
(the shape `gcloud logging read --format=json` prints). The two service processes append to it
concurrently: each line is one O_APPEND write, so lines never interleave; a reader skips a last
line that a writer has not finished.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

from ..errors import ParameterError

REQUEST_LOG_FILE = "requests.jsonl"
_STATUS_CLASS = re.compile(r"^[1-5]xx$")


def request_log_path(home) -> Path:
    return Path(home.logs) / REQUEST_LOG_FILE


def severity_for(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


def rfc3339(moment: datetime) -> str:
    """Cloud Logging's timestamp text: UTC, microseconds, trailing Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_entry(*, project: str, service: str, revision: str, region: str, method: str, url: str,
                  status: int, remote_ip: str, user_agent: str, latency_s: float, response_size: int,
                  timestamp: datetime, request_size: int | None = None, trace: str | None = None,
                  insert_id: str | None = None) -> dict:
    """One Cloud Run request log entry (resource.type cloud_run_revision)."""
    entry = {
        "insertId": insert_id or uuid.uuid4().hex[:16],
        "timestamp": rfc3339(timestamp),
        "receiveTimestamp": rfc3339(timestamp),
        "severity": severity_for(status),
        "logName": f"projects/{project}/logs/run.googleapis.com%2Frequests",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {"service_name": service, "revision_name": revision, "location": region,
                       "project_id": project, "configuration_name": service},
        },
        "httpRequest": {
            "requestMethod": method, "requestUrl": url, "status": int(status),
            "remoteIp": remote_ip, "userAgent": user_agent, "latency": f"{latency_s:.6f}s",
            "responseSize": str(int(response_size)), "protocol": "HTTP/1.1",
        },
    }
    if request_size is not None:
        entry["httpRequest"]["requestSize"] = str(int(request_size))
    if trace:
        entry["trace"] = trace
    return entry


def append_request_logs(path: str | Path, entries: Iterable[dict]) -> int:
    """Append entries, one write() per line so concurrent writers never interleave."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    count = 0
    try:
        for entry in entries:
            os.write(fd, (json.dumps(entry, separators=(",", ":")) + "\n").encode())
            count += 1
    finally:
        os.close(fd)
    return count


def _moment(parameter: str, value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ParameterError(parameter, value, "give a datetime, a date or an ISO 8601 text such as 2025-12-31T01:00:00Z")


def _status_filter(status) -> tuple[set[int], set[int]]:
    """(exact codes, status classes as their hundreds digit)."""
    if status is None:
        return set(), set()
    items = [status] if isinstance(status, (int, str)) else list(status)
    codes, classes = set(), set()
    for item in items:
        text = str(item).strip().lower()
        if isinstance(item, bool):
            text = ""
        if text.isdigit() and 100 <= int(text) <= 599:
            codes.add(int(text))
        elif _STATUS_CLASS.match(text):
            classes.add(int(text[0]))
        else:
            raise ParameterError("status", status, "give an HTTP status (403), a class ('4xx') or a list of them")
    return codes, classes


def _entry_time(entry: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    except (KeyError, AttributeError, ValueError):
        return None


class LocalLogs:
    def __init__(self, home, phases):
        self.home = home
        self.phases = phases

    @property
    def request_log_file(self) -> Path:
        return request_log_path(self.home)

    def request_logs(self, service: str | None = None, since=None, until=None, status=None,
                     limit: int | None = None, newest_first: bool = False) -> list[dict]:
        """Cloud Run request log entries, oldest first (or newest first), filtered.

        service: a Cloud Run service name or a phase name ("phase4", "4"); since/until bound
        the timestamp (since inclusive, until exclusive); status: a code, a class like "4xx",
        or a list of them; limit: at most this many entries after ordering.
        """
        wanted_service = None
        if service is not None:
            names = {p.service for p in self.phases.phases.values()}
            wanted_service = service if service in names else self.phases.get(service).service
        start, end = _moment("since", since), _moment("until", until)
        if start and end and start >= end:
            raise ParameterError("until", until, f"must be later than since={since!r}")
        codes, classes = _status_filter(status)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ParameterError("limit", limit, "give a whole number of at least 1, or None for all")

        picked: list[tuple[datetime, int, dict]] = []
        for n, entry in enumerate(self._read_entries()):
            when = _entry_time(entry)
            if when is None:
                continue
            labels = entry.get("resource", {}).get("labels", {})
            if wanted_service and labels.get("service_name") != wanted_service:
                continue
            if (start and when < start) or (end and when >= end):
                continue
            code = int(entry.get("httpRequest", {}).get("status", 0))
            if (codes or classes) and code not in codes and code // 100 not in classes:
                continue
            picked.append((when, n, entry))
        picked.sort(key=lambda item: (item[0], item[1]), reverse=newest_first)
        entries = [e for _, _, e in picked]
        return entries[:limit] if limit else entries

    def _read_entries(self) -> Iterable[dict]:
        path = self.request_log_file
        if not path.exists():
            return
        with path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a writer is still on this line
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue

    def build_log_sources(self) -> list:
        """Sources for the build-log chain: the sandbox's logs bucket (it has no Cloud Logging copy)."""
        from .builds import LocalBuilds

        return LocalBuilds(self.home, self.phases).log_sources()
