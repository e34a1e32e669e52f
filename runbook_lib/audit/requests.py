"""Who tried: the window's Cloud Run request-log entries, classified and aggregated in DuckDB.

Request logs never name the caller's identity, only `httpRequest.remoteIp`, `httpRequest.userAgent` and
`httpRequest.status`, so the audit decides who a caller was from what it can see:

- pubsub_push       user agent `APIs-Google` (Pub/Sub push; refused 401/403 = a push without a valid OIDC token)
- cloud_scheduler   user agent `Google-Cloud-Scheduler`
- google_internal   other Google agents (health and uptime checks, Cloud Tasks, Workflows, Eventarc) or a
                    private, loopback or Google front-end address
- expected_invoker  from elsewhere, got past IAM while the members that may invoke the service (by its own
                    policy or the project's) are all expected: it held an expected invoker's token, or that
                    of a holder the audit does not judge as an invoker, named per service (ServiceFacts.
                    granted_above): the project's owners, editors and Google's agents, and anyone granted an
                    invoke role on its folders or organisation, which the kit never reads (nor the project,
                    when its policy could not be read)
- invoker           the same, but the service's policy or the project's also names unexpected members (or
                    public ones under a role the kit cannot judge): one of them, which one the log cannot tell
- external          from elsewhere and refused by IAM, or let in while the service admitted anyone

"Admitted anyone" at a moment: the service is public now, or the moment is before a policy change the
log itself shows. The log shows one only through a push source: the pushes to one endpoint path of the
service (one subscription's push endpoint; the log names no subscription) let in and later refused,
with none let in after its first refusal, and not a subscription known to sign its pushes (an OIDC token: refused
then, its account lost its grant, which says nothing of allUsers). The first refusal after that source's last push let in dates
the change (while allUsers may call, Cloud Run refuses no one), leaving out the pushes of sources that
were refused before it. A source refused from its first push in the window was refused throughout, and
dates nothing; one let in again after its last refusal has recovered. A caller is never judged against
a change the log does not show. User agents can be forged; a forged Google agent is counted as Google's.

Entries are loaded once (read_json of JSON lines, only the fields the audit reads) into an in-memory
DuckDB table; every figure is SQL over it, never a Python loop over entries. The sandbox's request log is
already such a file: it is read in place, the window's filter a WHERE (load_file with a query), so no entry
passes through Python there.
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
from ..request_logs import RequestLogQuery

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
    # ServiceFacts.granted_above follows: who else may hold an invoke role above the service, or ", or ... not read"
    "expected_invoker": "an expected invoker (past IAM while every member that may invoke the service, on it or on the "
                        "project, is an expected invoker)",
    "invoker": "an invoker member, expected or not (the service's policy or the project's also names unexpected "
               "members, or anyone under a role the kit cannot judge)",
    "external": "external unknown",
}
# Who else may have been a caller past IAM when the audit read no policy above the service (the default of
# ServiceFacts.granted_above, and ServiceAccess.granted_above while the project's policy is unread; "" when
# every policy above was read and no one else holds an invoke role there).
GRANTED_ABOVE_UNREAD = "a holder of an invoke role granted above the service (project, folder, organisation: not read)"
# Only what the audit reads: read_json skips every other field of a LogEntry.
LOG_COLUMNS = {
    "timestamp": "TIMESTAMPTZ",
    "resource": "STRUCT(labels STRUCT(service_name VARCHAR))",
    "httpRequest": "STRUCT(requestUrl VARCHAR, status INTEGER, remoteIp VARCHAR, userAgent VARCHAR)",
}
# Read in place with a query (load_file), the filter needs two more: the location (a service of the same name in
# another region is another service) and the status as written, since an entry whose status does not read as a
# number is no match (RequestLogQuery.matches) while one without a status is. (A JSON null reads as none: kept,
# where request_logs leaves it out; no writer of the sandbox's log writes one.)
FILTERED_COLUMNS = {
    **LOG_COLUMNS,
    "resource": "STRUCT(labels STRUCT(service_name VARCHAR, location VARCHAR))",
    "httpRequest": "STRUCT(requestUrl VARCHAR, status JSON, remoteIp VARCHAR, userAgent VARCHAR)",
}
_BUCKETS_MINUTES = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
# What became of a push source's pushes in the window (see the module docstring).
PUSH_STATES = {
    "changed": "let in, then refused from a policy change on",
    "refused_throughout": "refused throughout the window",
    "recovered": "refused, then let in again",
    "intermittent": "refused and let in by turns, refused last",
}


def _path(url: str) -> str:
    """SQL: a request URL's path, after scheme://host and before ?query or #fragment ("/" when none)."""
    return (f"coalesce(nullif(split_part(split_part(regexp_extract({url}, '//[^/]*(/.*)', 1), '?', 1), '#', 1), ''), "
            f"'/')")


def _without_query(url: str) -> str:
    """SQL: a request URL without its ?query or #fragment: where a push was sent (its push endpoint)."""
    return f"split_part(split_part({url}, '?', 1), '#', 1)"


@dataclass(frozen=True)
class ServiceFacts:
    """What the classification needs to know about a service's policy now."""

    service: str
    public_now: bool          # anyone (or any Google account) may call it now
    members_expected: bool    # every invoker member that is not public is an expected invoker
    # who else may hold an invoke role above the service (ServiceAccess.granted_above): named in the class
    # of callers past IAM, since one of them may have been the caller
    granted_above: str = GRANTED_ABOVE_UNREAD
    # endpoint paths of its push subscriptions that sign their pushes (an OIDC token): their pushes refused
    # after being let in show that account lost its grant, not that the service stopped letting anyone in
    signed_push_paths: tuple[str, ...] = ()


def _matching(query: RequestLogQuery, status: str) -> tuple[str, list]:
    """A WHERE over read_json's columns (FILTERED_COLUMNS) keeping what RequestLogQuery.matches keeps: since
    inclusive, until exclusive, each service in its own region, a status that reads as a number (or none:
    0), of the codes or classes asked for. `status`: the SQL of the status as a number."""
    terms, params = ['"timestamp" >= ?::TIMESTAMPTZ'], [rfc3339(query.since)]
    if query.until is not None:
        terms.append('"timestamp" < ?::TIMESTAMPTZ')
        params.append(rfc3339(query.until))
    places = ["(resource.labels.service_name = ? AND resource.labels.location = ?)" for _ in query.services]
    terms.append("(" + (" OR ".join(places) or "false") + ")")
    params += [value for place in zip(query.services, query.regions) for value in place]
    terms.append(f"(httpRequest.status IS NULL OR {status} IS NOT NULL)")
    if query.codes or query.classes:
        code = f"coalesce({status}, 0)"
        wanted = [f"{code} IN ({', '.join(str(c) for c in sorted(query.codes))})"] if query.codes else []
        wanted += [f"floor({code} / 100) IN ({', '.join(str(c) for c in query.classes)})"] if query.classes else []
        terms.append("(" + " OR ".join(wanted) + ")")
    return "WHERE " + " AND ".join(terms), params


def bucket_minutes(hours: float, bars: int = 48) -> int:
    """A round bar width that draws the window in at most about `bars` bars."""
    wanted = hours * 60 / bars
    return next((m for m in _BUCKETS_MINUTES if m >= wanted), math.ceil(wanted / 1440) * 1440)


class RequestLog:
    """Request-log entries in an in-memory DuckDB database: load, classify, then ask."""

    def __init__(self) -> None:
        # (its SQL is the kit's own; no call of it may fetch a DuckDB extension from the network)
        self.con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        self.con.execute("SET TimeZone = 'UTC'")
        # Every question says its own ORDER BY: loading may then use every core.
        self.con.execute("SET preserve_insertion_order = false")
        self.loaded = 0

    # ---- loading

    def load_file(self, path: str | Path, query: RequestLogQuery | None = None) -> int:
        """Load a file of JSON lines (one LogEntry per line, as `gcloud logging read --format=json` holds
        them once split into lines); returns how many entries it holds.

        With a query (runbook_lib.request_logs), only the entries target.logs.request_logs() returns for it,
        in one pass over the file: lines that are not JSON, other services, regions and times are left out
        as RequestLogQuery.matches leaves them out."""
        params: list = []
        if query is None:
            columns, status, where = LOG_COLUMNS, "httpRequest.status", ""
            options = ""   # every line is an entry to analyse: one DuckDB cannot read is an error, not skipped
        elif query.limit is not None:
            raise ValueError("a request-log query with a limit (the newest N) cannot be loaded in one pass")
        else:
            columns, status = FILTERED_COLUMNS, "TRY_CAST(httpRequest.status AS INTEGER)"
            where, params = _matching(query, status)
            # A line that is not JSON comes back as NULLs: no timestamp, so no match, as request_logs skips it.
            # (A writer's unfinished last line is not JSON, unless all but its newline is written: a whole entry.)
            options = ", ignore_errors = true"
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        # Stored as read (missing fields stay NULL): any per-entry work, even the path out of the URL,
        # waits for the `callers` summary or the `requests` view.
        self.con.execute(f"""
            CREATE OR REPLACE TABLE raw_requests AS
            SELECT "timestamp" AS ts, resource.labels.service_name AS service, {status} AS status,
                   httpRequest.remoteIp AS ip, httpRequest.userAgent AS agent, httpRequest.requestUrl AS url
            FROM read_json(?, format = 'newline_delimited', columns = {spec}{options}) {where}""", [str(path), *params])
        self.loaded = int((self.con.execute("SELECT count(*) FROM raw_requests").fetchone() or (0,))[0])
        return self.loaded

    def load_entries(self, entries: Iterable[dict]) -> int:
        """Load LogEntry dicts (what target.logs.request_logs returns), one at a time as they come (a
        generator is never held whole); every one must arrive."""
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

    def loaded_by_service(self) -> dict[str, int]:
        """Entries loaded per service (a service's entries are counted here, not as they are read)."""
        rows = self.con.execute("SELECT service, count(*) FROM raw_requests GROUP BY service").fetchall()
        return {service: int(count) for service, count in rows}

    # ---- classifying

    def classify(self, facts: Iterable[ServiceFacts]) -> None:
        """Give every entry its caller class (see the module docstring): view `requests`, and table
        `callers`, the entries summed by service, caller, class, status and path, which every question
        but the timeline reads (a few thousand rows for a million entries)."""
        self.con.execute("CREATE OR REPLACE TABLE facts (service VARCHAR, public_now BOOLEAN, members_expected BOOLEAN, "
                         "granted_above VARCHAR)")
        facts_list = list(facts)
        rows = [(f.service, f.public_now, f.members_expected, f.granted_above) for f in facts_list]
        if rows:
            self.con.executemany("INSERT INTO facts VALUES (?, ?, ?, ?)", rows)
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
        self._push_sources(refused)
        self.con.execute("CREATE OR REPLACE TABLE signed_paths (service VARCHAR, path VARCHAR)")
        signed = [(f.service, path) for f in facts_list for path in f.signed_push_paths]
        if signed:
            self.con.executemany("INSERT INTO signed_paths VALUES (?, ?)", signed)
        self.con.execute(f"""
            CREATE OR REPLACE TABLE changes AS
            WITH opened AS (   -- the last push let in of any token-less source whose pushes were then refused
                SELECT p.service, max(p.last_accepted) AS last_accepted FROM push_sources p
                WHERE p.state = 'changed'
                  AND NOT EXISTS (SELECT 1 FROM signed_paths s WHERE s.service = p.service AND s.path = p.path)
                GROUP BY p.service)
            -- the change: the first refusal after it, of anyone but a push source refused before it too
            SELECT o.service, o.last_accepted, min(r.ts) AS changed_at
            FROM opened o
                 JOIN raw_requests r ON r.service = o.service AND r.status IN ({refused}) AND r.ts > o.last_accepted
                 LEFT JOIN push_paths u ON r.agent LIKE 'APIs-Google%' AND coalesce(r.url, '') = u.url
                 LEFT JOIN push_sources s ON s.service = r.service AND s.path = u.path
            WHERE s.first_refused IS NULL OR s.first_refused > o.last_accepted
            GROUP BY o.service, o.last_accepted""")
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
        self.con.execute(f"""
            CREATE OR REPLACE TABLE callers AS
            SELECT * EXCLUDE (url), {_path("url")} AS path
            FROM (SELECT service, ip, agent, caller_class, refused, status, url, count(*) AS requests,
                         min(ts) AS first, max(ts) AS last, any_value(changed_at) AS changed_at,
                         bool_and(coalesce(ts < changed_at, false)) AS before_change
                  FROM requests GROUP BY ALL)""")

    def _push_sources(self, refused: str) -> None:
        """Table `push_sources`: per service and endpoint path pushed to, the sources with refused pushes:
        how many, first and last refused, the last let in before the first refusal, the first let in
        after the last refusal (recovered_at), where they were sent, and the state (PUSH_STATES)."""
        # The path is worked out once per distinct URL pushed to (there are few), not once per push.
        self.con.execute(f"""
            CREATE OR REPLACE TABLE push_paths AS
            SELECT url, {_path("url")} AS path, {_without_query("url")} AS push_url
            FROM (SELECT DISTINCT coalesce(url, '') AS url FROM raw_requests WHERE agent LIKE 'APIs-Google%')""")
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE pushes AS
            SELECT r.service, u.path, u.push_url, r.ts, r.status IN ({refused}) AS refused
            FROM raw_requests r JOIN push_paths u ON coalesce(r.url, '') = u.url
            WHERE r.agent LIKE 'APIs-Google%' AND r.status IS NOT NULL   -- origin pubsub_push, without the join""")
        self.con.execute("""
            CREATE OR REPLACE TABLE push_sources AS
            WITH marks AS (
                SELECT service, path, count(*) FILTER (WHERE refused) AS refused,
                       min(ts) FILTER (WHERE refused) AS first_refused, max(ts) FILTER (WHERE refused) AS last_refused,
                       max(ts) FILTER (WHERE NOT refused) AS last_let_in,
                       list(DISTINCT push_url ORDER BY push_url) FILTER (WHERE refused) AS push_urls
                FROM pushes GROUP BY service, path HAVING bool_or(refused)),
            around AS (
                SELECT service, path,
                       max(p.ts) FILTER (WHERE NOT p.refused AND p.ts < m.first_refused) AS last_accepted,
                       min(p.ts) FILTER (WHERE NOT p.refused AND p.ts > m.last_refused) AS recovered_at
                FROM pushes p JOIN marks m USING (service, path) GROUP BY service, path)
            SELECT service, path, refused, first_refused, last_refused, last_accepted, recovered_at, push_urls,
                   CASE WHEN last_let_in IS NULL THEN 'refused_throughout'
                        WHEN last_let_in < first_refused THEN 'changed'
                        WHEN last_let_in > last_refused THEN 'recovered'
                        ELSE 'intermittent' END AS state
            FROM marks JOIN around USING (service, path)""")
        self.con.execute("DROP TABLE pushes")

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
        """Requests per caller class; `who` says what the class means, for callers past IAM with whoever else
        may hold an invoke role above their services (ServiceFacts.granted_above)."""
        frame = self.query("""
            SELECT caller_class, sum(requests)::BIGINT AS requests,
                   coalesce(sum(requests) FILTER (WHERE refused), 0)::BIGINT AS refused,
                   coalesce(sum(requests) FILTER (WHERE NOT refused), 0)::BIGINT AS reached_app,
                   coalesce(sum(requests) FILTER (WHERE status BETWEEN 200 AND 299), 0)::BIGINT AS ok_2xx,
                   count(DISTINCT ip) AS addresses, string_agg(DISTINCT service, ', ' ORDER BY service) AS services,
                   string_agg(DISTINCT f.granted_above, '; ' ORDER BY f.granted_above) AS granted_above
            FROM callers LEFT JOIN facts f USING (service) GROUP BY caller_class ORDER BY requests DESC, caller_class""")
        who = frame["caller_class"].map(CALLER_CLASSES)
        # "" (every policy above read, no one else holds an invoke role there) adds nothing; DISTINCT sorts it first
        above = frame.pop("granted_above").fillna(GRANTED_ABOVE_UNREAD).str.strip("; ")
        past_iam = frame["caller_class"] == "expected_invoker"
        frame.insert(1, "who", who.where(~past_iam, who + above.map(lambda a: f", or {a}" if a else "")))
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
        """Per service: Pub/Sub pushes IAM refused, first and last, where they were sent, the policy change
        the log shows (changed_at, after the last push let in: last_accepted; none when no source shows
        one), and `sources`: each push source's path, state (PUSH_STATES), refusals and recovery."""
        return self.query("""
            SELECT s.service, sum(s.refused)::BIGINT AS refused, min(s.first_refused) AS first,
                   max(s.last_refused) AS last, any_value(c.changed_at) AS changed_at,
                   any_value(c.last_accepted) AS last_accepted,
                   list_sort(list_distinct(flatten(list(s.push_urls)))) AS push_urls,
                   list({'path': s.path, 'state': s.state, 'refused': s.refused, 'first': s.first_refused,
                         'last': s.last_refused, 'last_accepted': s.last_accepted, 'recovered_at': s.recovered_at}
                        ORDER BY s.path) AS sources
            FROM push_sources s LEFT JOIN changes c USING (service)
            GROUP BY s.service ORDER BY s.service""")

    def analyse(self, since: datetime, minutes: int) -> dict[str, pd.DataFrame]:
        """Every table the runbook shows, in one go (what bench/bench_audit.py times)."""
        return {"by_service": self.counts_by_service(), "timeline": self.timeline(since, minutes),
                "classes": self.caller_classes(), "top_refused": self.top_refused(),
                "reached_app": self.reached_app(), "reached_by_service": self.reached_by_service(),
                "refused_pushes": self.refused_pushes(), "refused_scheduler": self.refused_scheduler()}

    def refused_scheduler(self) -> pd.DataFrame:
        """Cloud Scheduler calls refused by IAM, per service: each is a scheduled run that did not happen."""
        return self.query("""
            SELECT service, sum(requests)::BIGINT AS refused, min(first) AS first, max(last) AS last,
                   string_agg(DISTINCT path, ' ' ORDER BY path) AS paths
            FROM callers WHERE caller_class = 'cloud_scheduler' AND refused GROUP BY service ORDER BY service""")
