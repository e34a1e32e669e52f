"""Who tried: the window's Cloud Run request-log entries, classified and aggregated in DuckDB.

Request logs never name the caller's identity, only `httpRequest.remoteIp`, `httpRequest.userAgent` and
`httpRequest.status`, so the audit decides who a caller was from what it can see:

- pubsub_push       user agent `APIs-Google` (Pub/Sub push; refused 401/403 = a push without a valid OIDC token)
- cloud_scheduler   user agent `Google-Cloud-Scheduler`
- google_internal   other Google agents (health and uptime checks, Cloud Tasks, Workflows, Eventarc) or a
                    private, loopback or Google front-end address
- expected_invoker  from elsewhere, got past IAM while the service let in only its invoker members, all of
                    which are expected: it held an expected invoker's token
- invoker           the same, but the policy also names unexpected members: one of its members, which one
                    the log cannot tell
- external          from elsewhere and refused by IAM, or let in while the service admitted anyone

"Admitted anyone" at a moment: the service is public now, or the moment is before the policy change the
log itself shows. Pushes of one subscription both let in and refused mean a token-less subscription and
a change; the first refusal of any caller after the first accepted push dates it (while allUsers may
call, Cloud Run refuses no one). User agents can be forged; a forged Google agent is counted as Google's.

Entries are loaded once (read_json of JSON lines, only the fields the audit reads) into an in-memory
DuckDB table; every figure is SQL over it, never a Python loop over entries.
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from ..errors import RunbookError
from ..formats import rfc3339

REFUSED_STATUSES = (401, 403)   # Cloud Run's IAM check answers these; the app never sees the request
GOOGLE_AGENTS = (r"^(GoogleHC/|GoogleStackdriverMonitoring|Google-Cloud-Tasks|Google-Cloud-Workflows|"
                 r"Google-Cloud-Eventarc|Google-Cloud-Functions|Google-Cloud-Run)")
# Private (RFC 1918), loopback, link-local, IPv6 unique-local, and Google front-end / health-check ranges
# (35.191.0.0/16, 130.211.0.0/22).
INTERNAL_ADDRESSES = (r"^(10\.|127\.|192\.168\.|169\.254\.|172\.(1[6-9]|2[0-9]|3[01])\.|35\.191\.|"
                      r"130\.211\.[0-3]\.|::1$|f[cd][0-9a-f]{0,2}:)")
CALLER_CLASSES = {
    "pubsub_push": "Pub/Sub push (APIs-Google)",
    "cloud_scheduler": "Cloud Scheduler",
    "google_internal": "Google-internal (Google agents, private or Google front-end addresses)",
    "expected_invoker": "an expected invoker (past IAM while only invoker members could be)",
    "invoker": "an invoker member, expected or not (the policy also names unexpected members)",
    "external": "external unknown",
}
# Only what the audit reads: read_json skips every other field of a LogEntry.
LOG_COLUMNS = {
    "timestamp": "TIMESTAMPTZ",
    "resource": "STRUCT(labels STRUCT(service_name VARCHAR))",
    "httpRequest": "STRUCT(requestUrl VARCHAR, status INTEGER, remoteIp VARCHAR, userAgent VARCHAR)",
}
_BUCKETS_MINUTES = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


@dataclass(frozen=True)
class ServiceFacts:
    """What the classification needs to know about a service's policy now."""

    service: str
    public_now: bool          # anyone (or any Google account) may call it now
    members_expected: bool    # every invoker member that is not public is an expected invoker


def bucket_minutes(hours: float, bars: int = 48) -> int:
    """A round bar width that draws the window in at most about `bars` bars."""
    wanted = hours * 60 / bars
    return next((m for m in _BUCKETS_MINUTES if m >= wanted), math.ceil(wanted / 1440) * 1440)


class RequestLog:
    """Request-log entries in an in-memory DuckDB database: load, classify, then ask."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        # Every question says its own ORDER BY: loading may then use every core.
        self.con.execute("SET preserve_insertion_order = false")
        self.loaded = 0

    # ---- loading

    def load_file(self, path: str | Path) -> int:
        """Load a file of JSON lines (one LogEntry per line, as `gcloud logging read --format=json` holds
        them once split into lines); returns how many entries it holds."""
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in LOG_COLUMNS.items()) + "}"
        # Stored as read (missing fields stay NULL): any per-entry work, even the path out of the URL,
        # waits for the `callers` summary or the `requests` view.
        self.con.execute(f"""
            CREATE OR REPLACE TABLE raw_requests AS
            SELECT "timestamp" AS ts, resource.labels.service_name AS service, httpRequest.status AS status,
                   httpRequest.remoteIp AS ip, httpRequest.userAgent AS agent, httpRequest.requestUrl AS url
            FROM read_json(?, format = 'newline_delimited', columns = {columns})""", [str(path)])
        self.loaded = int((self.con.execute("SELECT count(*) FROM raw_requests").fetchone() or (0,))[0])
        return self.loaded

    def load_entries(self, entries: Iterable[dict]) -> int:
        """Load LogEntry dicts (what target.logs.request_logs returns); every one must arrive."""
        with tempfile.TemporaryDirectory(prefix="runbook-requests-") as folder:
            path = Path(folder) / "requests.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                count = 0
                for entry in entries:
                    fh.write(json.dumps(entry, separators=(",", ":"), default=str) + "\n")
                    count += 1
            loaded = self.load_file(path)
        if loaded != count:
            raise RunbookError(f"Only {loaded} of {count} request-log entries were loaded for analysis.")
        return loaded

    # ---- classifying

    def classify(self, facts: Iterable[ServiceFacts]) -> None:
        """Give every entry its caller class (see the module docstring): view `requests`, and table
        `callers`, the entries summed by service, caller, class, status and path, which every question
        but the timeline reads (a few thousand rows for a million entries)."""
        self.con.execute("CREATE OR REPLACE TABLE facts (service VARCHAR, public_now BOOLEAN, members_expected BOOLEAN)")
        rows = [(f.service, f.public_now, f.members_expected) for f in facts]
        if rows:
            self.con.executemany("INSERT INTO facts VALUES (?, ?, ?)", rows)
        refused = ", ".join(str(code) for code in REFUSED_STATUSES)
        # Judged once per distinct (agent, address), not once per entry: there are few callers.
        self.con.execute("""
            CREATE OR REPLACE TABLE origins AS
            SELECT agent, ip, CASE WHEN agent LIKE 'APIs-Google%' THEN 'pubsub_push'
                                   WHEN agent LIKE 'Google-Cloud-Scheduler%' THEN 'cloud_scheduler'
                                   WHEN regexp_matches(coalesce(agent, ''), ?) OR regexp_matches(coalesce(ip, ''), ?)
                                        THEN 'google_internal'
                                   ELSE 'elsewhere' END AS origin
            FROM (SELECT DISTINCT agent, ip FROM raw_requests)""", [GOOGLE_AGENTS, INTERNAL_ADDRESSES])
        self.con.execute(f"""
            CREATE OR REPLACE TABLE changes AS
            WITH pushes AS (   -- pushes both let in and refused: a token-less subscription, and a policy change
                SELECT service, min(ts) FILTER (WHERE status NOT IN ({refused})) AS first_accepted
                FROM raw_requests WHERE agent LIKE 'APIs-Google%'   -- origin pubsub_push, without the join
                GROUP BY service HAVING bool_or(status IN ({refused})))
            -- the change: the first refusal of anyone after token-less pushes got in
            SELECT service, min(ts) AS changed_at
            FROM raw_requests JOIN pushes USING (service) WHERE status IN ({refused}) AND ts > first_accepted
            GROUP BY service""")
        self.con.execute(f"""
            CREATE OR REPLACE VIEW requests AS
            WITH judged AS (
                SELECT r.ts, r.service, coalesce(r.status, 0) AS status, coalesce(r.ip, '') AS ip,
                       coalesce(r.agent, '') AS agent, coalesce(r.url, '') AS url, o.origin,
                       coalesce(r.status IN ({refused}), false) AS refused, c.changed_at,
                       coalesce(f.public_now, false) OR coalesce(r.ts < c.changed_at, false) AS open_to_anyone,
                       coalesce(f.members_expected, false) AS members_expected
                FROM raw_requests r
                     JOIN origins o ON r.agent IS NOT DISTINCT FROM o.agent AND r.ip IS NOT DISTINCT FROM o.ip
                     LEFT JOIN changes c USING (service) LEFT JOIN facts f USING (service))
            SELECT ts, service, status, ip, agent, url, refused, changed_at, open_to_anyone,
                   CASE WHEN origin <> 'elsewhere' THEN origin
                        WHEN refused OR open_to_anyone THEN 'external'
                        WHEN members_expected THEN 'expected_invoker'
                        ELSE 'invoker' END AS caller_class
            FROM judged""")
        self.con.execute("""
            CREATE OR REPLACE TABLE callers AS
            SELECT * EXCLUDE (url),
                   -- the path: after scheme://host, before ?query or #fragment ("/" when there is none)
                   coalesce(nullif(split_part(split_part(regexp_extract(url, '//[^/]*(/.*)', 1), '?', 1), '#', 1), ''),
                            '/') AS path,
                   -- where a Pub/Sub push was sent (its subscription's push endpoint), for the fix
                   CASE WHEN caller_class = 'pubsub_push' THEN split_part(split_part(url, '?', 1), '#', 1) END AS push_url
            FROM (SELECT service, ip, agent, caller_class, refused, status, url, count(*) AS requests,
                         min(ts) AS first, max(ts) AS last, any_value(changed_at) AS changed_at,
                         bool_and(coalesce(ts < changed_at, false)) AS before_change,
                         max(ts) FILTER (WHERE NOT refused AND ts < changed_at) AS last_accepted
                  FROM requests GROUP BY ALL)""")

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def close(self) -> None:
        self.con.close()

    # ---- questions (after classify)

    def counts_by_service(self) -> pd.DataFrame:
        return self.query("""
            SELECT service, sum(requests)::BIGINT AS requests, coalesce(sum(requests) FILTER (WHERE refused), 0)::BIGINT
                   AS refused, min(first) AS first, max(last) AS last
            FROM callers GROUP BY service ORDER BY service""")

    def timeline(self, since: datetime, minutes: int) -> pd.DataFrame:
        """Requests per time bucket, service and status: what the chart draws."""
        return self.query(f"""
            SELECT time_bucket(INTERVAL '{int(minutes)} minutes', ts, ?::TIMESTAMPTZ) AS bucket, service,
                   coalesce(status, 0) AS status, count(*) AS requests
            FROM raw_requests GROUP BY ALL ORDER BY bucket, service, status""", [rfc3339(since)])

    def caller_classes(self) -> pd.DataFrame:
        frame = self.query("""
            SELECT caller_class, sum(requests)::BIGINT AS requests,
                   coalesce(sum(requests) FILTER (WHERE refused), 0)::BIGINT AS refused,
                   coalesce(sum(requests) FILTER (WHERE NOT refused), 0)::BIGINT AS reached_app,
                   coalesce(sum(requests) FILTER (WHERE status BETWEEN 200 AND 299), 0)::BIGINT AS ok_2xx,
                   count(DISTINCT ip) AS addresses, string_agg(DISTINCT service, ', ' ORDER BY service) AS services
            FROM callers GROUP BY caller_class ORDER BY requests DESC, caller_class""")
        frame.insert(1, "who", frame["caller_class"].map(CALLER_CLASSES))
        return frame

    def top_refused(self, limit: int = 10) -> pd.DataFrame:
        """Callers IAM refused most, by address and user agent."""
        return self.query("""
            SELECT ip, agent, any_value(caller_class) AS caller_class, sum(requests)::BIGINT AS refused,
                   string_agg(DISTINCT status::VARCHAR, ', ' ORDER BY status::VARCHAR) AS statuses,
                   string_agg(DISTINCT service, ', ' ORDER BY service) AS services, min(first) AS first,
                   max(last) AS last
            FROM callers WHERE refused GROUP BY ip, agent ORDER BY refused DESC, ip, agent LIMIT ?""", [limit])

    def reached_app(self) -> pd.DataFrame:
        """External callers that got past IAM (the app answered: 404 for a probe, 2xx for a call), with the
        paths they probed; `before_change` when every such request came before the policy change."""
        return self.query("""
            SELECT ip, agent, sum(requests)::BIGINT AS requests,
                   coalesce(sum(requests) FILTER (WHERE status BETWEEN 200 AND 299), 0)::BIGINT AS ok_2xx,
                   string_agg(DISTINCT status::VARCHAR, ', ' ORDER BY status::VARCHAR) AS statuses,
                   string_agg(DISTINCT path, ' ' ORDER BY path) AS paths,
                   string_agg(DISTINCT service, ', ' ORDER BY service) AS services,
                   min(first) AS first, max(last) AS last, bool_and(before_change) AS before_change
            FROM callers WHERE caller_class = 'external' AND NOT refused
            GROUP BY ip, agent ORDER BY ok_2xx DESC, requests DESC, ip, agent""")

    def reached_by_service(self) -> pd.DataFrame:
        """Per service: external callers that reached the app, their 2xx, and when the policy changed."""
        return self.query("""
            SELECT service, count(DISTINCT ip) AS addresses, sum(requests)::BIGINT AS requests,
                   coalesce(sum(requests) FILTER (WHERE status BETWEEN 200 AND 299), 0)::BIGINT AS ok_2xx,
                   count(DISTINCT ip) FILTER (WHERE status BETWEEN 200 AND 299) AS ok_addresses,
                   string_agg(DISTINCT path, ' ' ORDER BY path) AS paths, any_value(changed_at) AS changed_at,
                   bool_and(before_change) AS before_change
            FROM callers WHERE caller_class = 'external' AND NOT refused GROUP BY service ORDER BY service""")

    def refused_pushes(self) -> pd.DataFrame:
        """Per service: Pub/Sub pushes IAM refused, first and last, where they were sent, and the policy change
        (changed_at, after the last push let in: last_accepted)."""
        return self.query("""
            SELECT service, sum(requests) FILTER (WHERE refused)::BIGINT AS refused,
                   min(first) FILTER (WHERE refused) AS first, max(last) FILTER (WHERE refused) AS last,
                   any_value(changed_at) AS changed_at, max(last_accepted) AS last_accepted,
                   list(DISTINCT push_url ORDER BY push_url) FILTER (WHERE refused) AS push_urls
            FROM callers WHERE caller_class = 'pubsub_push' GROUP BY service HAVING bool_or(refused)
            ORDER BY service""")

    def analyse(self, since: datetime, minutes: int) -> dict[str, pd.DataFrame]:
        """Every table the runbook shows, in one go (what bench/bench_audit.py times)."""
        return {"by_service": self.counts_by_service(), "timeline": self.timeline(since, minutes),
                "classes": self.caller_classes(), "top_refused": self.top_refused(),
                "reached_app": self.reached_app(), "reached_by_service": self.reached_by_service(),
                "refused_pushes": self.refused_pushes()}
