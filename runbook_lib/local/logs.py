"""The sandbox's Cloud Logging: request logs of the loopback services, build logs.

Request logs live in `<home>/logs/requests.jsonl`, one Cloud Run request LogEntry per line
(the shape `gcloud logging read --format=json` prints). The two service processes append to it
concurrently: each line is one O_APPEND write, so lines never interleave; a reader skips a last
line that a writer has not finished.
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from ..formats import rfc3339
from ..request_logs import RequestLogQuery, newest_first, request_log_query

REQUEST_LOG_FILE = "requests.jsonl"


def request_log_path(home) -> Path:
    return Path(home.logs) / REQUEST_LOG_FILE


def severity_for(status: int) -> str:
    if status >= 500:
        return "ERROR"
    if status >= 400:
        return "WARNING"
    return "INFO"


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


class LocalLogs:
    def __init__(self, home, phases):
        self.home = home
        self.phases = phases

    @property
    def request_log_file(self) -> Path:
        """The request log itself, JSON lines: runbook 05 loads it into DuckDB in place (audit/tried.py), with
        the window's filter as SQL, rather than through request_logs."""
        return request_log_path(self.home)

    def request_logs(self, service: str | None = None, since=None, until=None, status=None,
                     limit: int | None = None) -> list[dict]:
        """Cloud Run request log entries (LogEntry dicts), newest first; the same semantics on target=gcp.

        service: a phase ("phase4", "4") or a Cloud Run service name; None = every phase's service, each
                 in its own region (RequestLogQuery.regions), as on gcp.
        since:   inclusive; None = the 24 hours before `until` (or before now), Cloud Logging's default.
        until:   exclusive; None = no upper bound.
        status:  a code (403), a class ("4xx") or a list of them.   limit: at most this many; None = all.
        See runbook_lib.request_logs.request_log_query.
        """
        query = request_log_query(self.phases, service, since, until, status, limit)
        entries = newest_first(self._matching(query))
        return entries[:query.limit] if query.limit else entries

    def iter_request_logs(self, service: str | None = None, since=None, until=None,
                          status=None) -> Iterator[dict]:
        """request_logs' entries one at a time, in the order they were written and never held together: for
        a reader that wants them all in no order (the audit's load). The arguments are checked now, before
        any read, as request_logs checks them."""
        return self._matching(request_log_query(self.phases, service, since, until, status))

    def _matching(self, query: RequestLogQuery) -> Iterator[dict]:
        return (entry for entry in self._read_entries() if query.matches(entry))

    def _read_entries(self) -> Iterator[dict]:
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

    def close(self) -> None:
        pass  # holds nothing open: every read opens and closes the request log file
