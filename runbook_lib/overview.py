"""Runbook 00: what is serving, is it the right code, can it honour dataset_prefix, what data is there."""
from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from .errors import (AccessDenied, CloudUnreachable, CredentialsMissing, NotFoundError, QuotaExceeded,
                     RunbookError, WarehouseQueryError)
from .diagnose.verdict import existing_runbook
from .compare.parameters import day_sql
from .formats import one_line
from .gitinfo import has_commit, is_checkout
from .protocols import (FIRST_PARTITION_DAY, LAST_PARTITION_DAY, NULL_PARTITION, UNPARTITIONED, PartitionInfo,
                        partition_day)
from .results import Result
from .services import DEFAULT_INGRESS, ServingRevision


# /health answers at once when the service is up; the kit's default for a request (minutes) is for the replay's
# calls, and one hanging service must not hold the whole overview.
HEALTH_TIMEOUT_S = 10.0
# lines the rows-per-day chart draws: as many as a reader tells apart by colour, with a legend that fits beside them
CHARTED_TABLES = 12


@dataclass
class PhaseState:
    phase: str
    service: str
    revision: str                 # the revision with most of the traffic ("" when the service could not be read)
    commit: str
    supports_prefix: bool | None  # of EVERY serving revision: False if any ignores it, None if any cannot be told
    http_status: int | None
    reported_service: str | None
    expected_service: str
    public: bool
    serving: list[ServingRevision] = field(default_factory=list)   # every revision with a share of the traffic
    health_said: str = ""         # what /health answered, in one line
    problem: str = ""             # why this phase's facts could not be read (describe or /health raised), or
                                  # why nothing serves it
    health_status: str | None = None   # the `status` /health's JSON gave ("healthy" per the contract), else None
    failed_revision: str = ""     # the service's newest revision when it failed to become ready (a deploy that
                                  # never started: Cloud Run keeps the traffic where it was), else ""
    token_error: str = ""         # why no identity token could be minted, so /health was called without one
    ingress: str = DEFAULT_INGRESS   # who can reach the service: outside the VPC, an internal one answers 404
    # Why dataset_prefix support cannot be told, per serving revision whose support is None: no label, no
    # checkout, or a commit the checkout lacks each need another act of the operator.
    prefix_unknown_why: dict[str, str] = field(default_factory=dict)

    @property
    def wrong_code(self) -> bool:
        return self.reported_service is not None and self.reported_service != self.expected_service

    @property
    def names_no_service(self) -> bool:
        """/health answered 200 without naming a service (text, HTML, JSON without `service`): whose code
        serves is then unverified, not right."""
        return self.http_status == 200 and self.reported_service is None

    @property
    def healthy(self) -> bool:
        """/health answered as DESIGN.md's contract says a healthy service does: 200, {"status": "healthy", ...}."""
        return self.http_status == 200 and self.health_status == "healthy"

    def read_health(self, health: dict) -> "PhaseState":
        """What /health answered, read into this state: the one reading of it, which runbook 02's verify shares."""
        self.http_status = health.get("http_status")
        named, status = health.get("service"), health.get("status")
        self.reported_service = named if self.http_status == 200 and isinstance(named, str) and named else None
        self.health_status = status if isinstance(status, str) else None
        self.health_said = health_said(health)
        return self

    @property
    def unchecked_revisions(self) -> list[ServingRevision]:
        """In a split, the serving revisions on another image than the first's (ServingRevision.runs: by the digest
        Cloud Run resolved, else by name): one /health call reaches one revision, so it cannot vouch for the code of
        the others."""
        if not self.serving:
            return []
        first = self.serving[0].runs
        return [r for r in self.serving[1:] if r.runs != first]

    @property
    def without_prefix(self) -> list[ServingRevision]:
        return [r for r in self.serving if r.supports_prefix is False]

    @property
    def prefix_unknown(self) -> list[ServingRevision]:
        return [r for r in self.serving if r.supports_prefix is None]

    @property
    def split(self) -> bool:
        return len(self.serving) > 1

    @property
    def right_code(self) -> bool:
        return self.reported_service == self.expected_service and not self.unchecked_revisions

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), wrong_code=self.wrong_code)


def share(revision: ServingRevision) -> str:
    """"90% to REV (abc1234)": a serving revision and its share of the traffic, for sentences."""
    return f"{revision.percent}% of its traffic to {revision.name} ({revision.commit_sha or 'no commit-sha label'})"


DIAGNOSE_RUNBOOK, REDEPLOY_RUNBOOK, AUDIT_RUNBOOK = \
    "01_diagnose_build.ipynb", "02_redeploy_phase.ipynb", "05_security_audit.ipynb"

# The sentences below say what a phase's facts mean for a prefixed run, once for runbook 00's findings and
# runbook 03's capability check (replay/capability.py) alike; each is "" when its fact does not hold.

def _commit_text(state: PhaseState) -> str:
    return state.commit[:7] or "a revision without a commit-sha label"


def wrong_code_sentence(state: PhaseState) -> str:
    """/health names another phase's service."""
    if not state.wrong_code:
        return ""
    return (f"{state.phase} serves another phase's code (/health names {state.reported_service}, "
            f"not {state.expected_service})")


def health_status_sentence(state: PhaseState) -> str:
    """/health answered, but not 200: whose code serves is unknown."""
    if state.http_status is None or state.http_status == 200:
        return ""
    unchecked = f"so which code serves {state.service} cannot be checked"
    # A bare status misleads: a 404 reads as a missing /health route (another code), a 403 as the service's IAM
    # when this machine is outside the VPC or had no token to send.
    if state.http_status in (403, 404) and _ingress_why(state):
        return f"{state.phase}'s /health answered {state.http_status} here, {unchecked}: {_ingress_why(state)}"
    if state.http_status in (401, 403) and state.token_error:
        return (f"{state.phase}'s /health answered {state.http_status} to a call without an identity token, "
                f"{unchecked}: {state.token_error[:1].lower()}{state.token_error[1:].rstrip('.')}")
    if state.http_status == 403:
        return (f"{state.phase}'s /health answered 403 to the identity token sent, {unchecked}: the caller needs "
                f"roles/run.invoker on {state.service}")
    return f"{state.phase}'s /health answered {state.http_status}, {unchecked}"


def _ingress_why(state: PhaseState) -> str:
    """Why this machine may not reach the service at all ("" when its ingress lets the internet in)."""
    if state.ingress == DEFAULT_INGRESS:
        return ""
    if state.ingress == "none":
        return f"its ingress is none, so no request reaches {state.service}"
    through = " or through its Cloud load balancer" if state.ingress == "internal-and-cloud-load-balancing" else ""
    return (f"its ingress is {state.ingress}, so /health cannot be reached from outside the VPC (run the overview "
            f"from inside the VPC{through})")


def unhealthy_sentence(state: PhaseState) -> str:
    """/health answered 200 but does not say the service is healthy (its status is another word, or none while
    it names a service): the service itself says it cannot do its work."""
    if state.http_status != 200 or state.healthy or (state.names_no_service and state.health_status is None):
        return ""   # not 200, or a 200 that names no service: the sentences above and below say so
    return f"{state.phase}'s /health answered 200 but does not say {state.service} is healthy ({state.health_said})"


def failed_revision_sentence(state: PhaseState) -> str:
    """The newest revision failed to become ready while an older one serves: what was deployed last is not what
    runs. A warning, not a failure: the phase is served (DESIGN.md's incident morning left Phase 4 on an older
    revision after its deploy failed, and still answering), and what that older code is worth is judged by the
    sentences about it (wrong code, dataset_prefix); the failed deploy is runbook 01's and 02's to fix."""
    if not state.failed_revision or not state.serving:
        return ""   # nothing serves at all: the phase's problem says so, naming it
    return (f"{state.phase}'s newest revision {state.failed_revision} failed to become ready, so the code last "
            f"deployed to {state.service} is not what serves it (runbook 01 diagnoses why, runbook 02 redeploys)")


def not_ready_sentence(state: PhaseState) -> str:
    """A revision with a share of the traffic that Cloud Run reports not ready (its Ready condition failed after it
    took the traffic: an image deleted from the registry, a crash on each new instance). Cloud Run keeps routing that
    share to it, so those requests fail even while /health, answered by an instance still up, says all is well."""
    failing = [r for r in state.serving if r.ready is False]
    if not failing:
        return ""
    shares = ", ".join(f"{r.percent}% to {r.name}" for r in failing)
    return (f"{state.phase} sends {shares}, which Cloud Run reports not ready, so those calls can fail (runbook 02 "
            f"redeploys {state.service} or sends its traffic to a ready revision)")


def no_service_sentence(state: PhaseState) -> str:
    """/health answered 200 without naming a service: whose code serves is unverified, not right."""
    if not state.names_no_service:
        return ""
    return (f"{state.phase}'s /health answered 200 but names no service ({state.health_said}), so which code "
            f"serves {state.service} cannot be checked")


def prefix_sentence(state: PhaseState, prefix_commit: str) -> str:
    """Why a phase would write production with a prefix (a serving revision from before `prefix_commit`, the
    first commit honouring dataset_prefix)."""
    lacking = state.without_prefix
    if not lacking:
        return ""
    if state.split:
        return (f"{state.phase} sends {' and '.join(share(r) for r in lacking)}, from before dataset_prefix "
                f"support ({prefix_commit}): those calls of a prefixed run would write production")
    return (f"{state.phase} runs {_commit_text(state)}, from before dataset_prefix support ({prefix_commit}): "
            f"a prefixed run would write production")


def prefix_unknown_sentence(state: PhaseState, prefix_commit: str) -> str:
    """Whether the serving code honours dataset_prefix cannot be told: a revision without a commit-sha label, no
    source_dir, or a commit the checkout has not fetched (phase_state tells which)."""
    if state.supports_prefix is not None:
        return ""
    which = (" and ".join(f"{r.name} ({r.percent}% of the traffic, {r.commit_sha or 'no commit-sha label'})"
                          for r in state.prefix_unknown) if state.split else state.commit[:7] or state.revision)

    def why_not(r: ServingRevision) -> str:
        said = state.prefix_unknown_why.get(r.name) or GIVE_SOURCE_DIR
        return f"{r.name if state.split else 'it'} {said}" if said == NO_LABEL else said

    why = list(dict.fromkeys(why_not(r) for r in state.prefix_unknown))
    return (f"whether {state.phase}'s {which} contains dataset_prefix support ({prefix_commit}) cannot be told: "
            f"{', and '.join(why or [GIVE_SOURCE_DIR])}")


GIVE_SOURCE_DIR = "give source_dir, a checkout of the pipeline"
NO_LABEL = "has no commit-sha label (runbook 02 deploys with one)"


def _prefix_unknown_why(target: Any, phase: Any, revision: ServingRevision) -> str:
    """Why `revision`'s dataset_prefix support cannot be told, in the words of what the operator can do."""
    if not revision.commit_sha:
        return NO_LABEL
    checkout = target.source_dir
    if not checkout:
        return GIVE_SOURCE_DIR
    if not is_checkout(checkout):
        return f"{checkout} is not a git checkout (it has no .git): {GIVE_SOURCE_DIR}"
    missing = [sha for sha in (revision.commit_sha, phase.prefix_support_commit) if not has_commit(checkout, sha)]
    if missing:
        quoted = shlex.quote(str(checkout))
        return f"{_named([sha[:7] for sha in missing])} {'is' if len(missing) == 1 else 'are'} not in {checkout}: " \
               f"git -C {quoted} fetch"
    return GIVE_SOURCE_DIR


def unchecked_sentence(state: PhaseState) -> str:
    """The serving revisions whose code /health cannot vouch for ("" when there are none)."""
    others = state.unchecked_revisions
    if not others:
        return ""
    first = state.serving[0]
    # one name, two builds (a moving tag): say so, or the sentence reads as if the images looked alike
    renamed = [r for r in others if r.image and r.image == first.image]
    builds = (f" ({first.image} named two builds: {' and '.join(_short_digest(r) for r in [first, *renamed])})"
              if renamed else "")
    return (f"{state.phase} sends {' and '.join(share(r) for r in others)}, another image than "
            f"{first.name}'s{builds}, whose code one /health call cannot check")


def _short_digest(revision: ServingRevision) -> str:
    digest = revision.runs.digest
    return f"{revision.name} {digest[:len('sha256:') + 12]}" if digest else revision.name


@dataclass
class Overview(Result):
    phases: list[PhaseState] = field(default_factory=list)
    tables: pd.DataFrame | None = None       # production output tables: rows, partitions, latest partition
    daily_rows: pd.DataFrame | None = None   # rows per partition date for each output table

    def services_table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "phase": s.phase, "service": s.service, "revision": s.revision, "commit": s.commit[:7],
            "traffic": ", ".join(f"{r.percent}% {r.name}" for r in s.serving) or "-",
            "dataset_prefix": {True: "supported", False: "IGNORED", None: "unknown"}[s.supports_prefix],
            "/health": s.http_status, "reports": s.reported_service or "-",
            "right code": "NO" if s.wrong_code else ("yes" if s.right_code else "?"),
            "public": "YES" if s.public else "no", "problem": s.problem or "-",
        } for s in self.phases])


def phase_states(target: Any) -> list[PhaseState]:
    """Each phase's facts; a phase whose service or /health cannot be read says why in its own row."""
    return [phase_state(target, name) for name in target.phases.names()]


def phase_state(target: Any, name: str) -> PhaseState:
    p = target.phases.get(name)
    try:
        info = target.services.describe(name)
    except RunbookError as exc:
        said = one_line(str(exc)).rstrip('.')
        if isinstance(exc, NotFoundError) and target.project != target.phases.project:
            # "check project and region in phases.yaml" sends the operator to a file that did not set the project
            said = (f"Cloud Run service {p.service} was not found in project {target.project} (the project "
                    f"parameter) and region {p.region} (phases.yaml): check both")
        return PhaseState(name, p.service, "", "", None, None, None, p.service_identity, False,
                          problem=f"its service could not be read: {said}")
    serving = list(info.serving)
    state = PhaseState(name, p.service, info.revision, info.commit_sha or "", _all_support(serving), None, None,
                       p.service_identity, info.public, serving)
    state.failed_revision = info.failed_revision
    if not serving:
        # No revision is ready to take the traffic: every request gets a 503. That is the phase down, not a
        # /health to look into (a 503 from a revision that serves is only a warning), so /health is not called.
        why = f"its newest, {state.failed_revision}, failed to become ready" if state.failed_revision else \
            "none is ready"
        state.problem = (f"no revision serves it ({why}): runbook 01 diagnoses the build, runbook 02 redeploys "
                         f"{p.service}")
        return state
    state.ingress = info.ingress
    state.prefix_unknown_why = {r.name: _prefix_unknown_why(target, p, r) for r in serving if r.supports_prefix is None}
    try:
        token = target.services.identity_token(phase=name)
    except RunbookError as exc:
        # /health still answers a public service; a refusal is then said in this error's words (the operator's
        # missing gcloud, not the service's policy)
        token, state.token_error = None, one_line(str(exc), 600)   # whole: its last words say what to do
    try:
        health = target.services.health(name, token=token, timeout_s=HEALTH_TIMEOUT_S)
    except RunbookError as exc:    # no answer in time, a dropped connection, no URL
        state.problem = f"/health could not be read: {one_line(str(exc)).rstrip('.')}"
        if _ingress_why(state):
            state.problem += f", as {_ingress_why(state)}"
        return state
    return state.read_health(health)


def _all_support(serving: list[ServingRevision]) -> bool | None:
    """dataset_prefix support of a service: every revision with traffic gets requests, so the weakest decides."""
    values = [r.supports_prefix for r in serving]
    return False if False in values else None if None in values or not values else True


def health_said(health: dict) -> str:
    """What /health answered, in one line: its error text (a page, plain text), else its JSON."""
    body = {k: v for k, v in health.items() if k != "http_status"}
    if set(body) == {"error"}:
        return one_line(body["error"], 160)
    return one_line(json.dumps(body, sort_keys=True, default=str), 160)


def output_tables(target: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Row counts per production output table and per partition date. A table partitioned by days (or hours) of
    its partition column is read from INFORMATION_SCHEMA.PARTITIONS: no table scan, and no query of the table,
    which one with require_partition_filter refuses without a filter; any other is counted by a query."""
    summary, daily = [], []
    for t in target.phases.all_tables():
        try:
            info = target.warehouse.table_info(t.ref)
        except NotFoundError:
            summary.append({"table": t.ref, "rows": 0, "partitions": 0, "latest": None, "note": "missing"})
            continue
        by_days = (info.kind == "TABLE" and info.partition_type in ("DAY", "HOUR")
                   and (info.partition_column or "").lower() == t.partition_column.lower())
        unplaced, note = 0, ""
        if by_days:
            parts = target.warehouse.partitions(t.ref)
            frame = _daily_from_partitions(parts)
            unplaced = sum(p.total_rows for p in parts if p.partition_id == UNPARTITIONED)
            if unplaced:
                note = f"{unplaced} rows in no day's partition (the streaming buffer, or days outside 1960-2159)"
        else:
            typed = {name.lower(): kind for name, kind in info.columns}.get(t.partition_column.lower(), "")
            frame, note = _daily_counted(target.warehouse, t, typed)
        frame["table"] = t.ref
        daily.append(frame)
        days = frame["day"].dropna()
        summary.append({"table": t.ref, "rows": int(frame["row_count"].sum()) + unplaced, "partitions": len(frame),
                        "latest": days.max() if len(days) else None, "note": note})
    daily_frame = pd.concat(daily, ignore_index=True) if daily else pd.DataFrame(columns=["day", "row_count", "table"])
    return pd.DataFrame(summary), daily_frame


def _daily_from_partitions(parts: list[PartitionInfo]) -> pd.DataFrame:
    """Rows per day of daily or hourly partitions (YYYYMMDD, YYYYMMDDHH), the NULL partition as no day, as the
    query's GROUP BY gave them."""
    rows: dict[Any, int] = {}
    for p in parts:
        if p.partition_id == UNPARTITIONED:
            continue
        day = None if p.partition_id == NULL_PARTITION else partition_day((p.partition_id or "")[:8])   # (hours too)
        rows[day] = rows.get(day, 0) + p.total_rows
    days = sorted(d for d in rows if d is not None) + ([None] if None in rows else [])
    return pd.DataFrame({"day": days, "row_count": [rows[d] for d in days]}, columns=["day", "row_count"])


def _daily_counted(warehouse: Any, table: Any, kind: str) -> tuple[pd.DataFrame, str]:
    """Rows per day of the partition column (a TIMESTAMP's UTC day, a DATETIME's date), counted by a query (a
    table whose partitions are not days), with a note of the rows dated outside the days BigQuery partitions."""
    day = day_sql(table.partition_column, kind.split("(")[0].upper())
    try:
        frame = warehouse.query(f"SELECT {day} AS day, COUNT(*) AS row_count FROM {table.ref} GROUP BY 1 ORDER BY day")
    except WarehouseQueryError as exc:   # (a require_partition_filter on a monthly table): the others still count
        return (pd.DataFrame(columns=["day", "row_count"]),
                f"could not be counted: {one_line(str(exc), 200)}")
    dated = frame["day"].map(lambda d: isinstance(d, date)).astype(bool)   # (datetime is a date too)
    outside = int(frame.loc[dated & ~_chartable(frame["day"]), "row_count"].sum())
    return frame, f"{outside} rows dated outside 1960-2159 (not charted)" if outside else ""


def _chartable(days: pd.Series) -> pd.Series:
    """Days a chart can draw: those BigQuery partitions (1960-01-01 to 2159-12-31). A sentinel 0001-01-01 or
    9999-12-31 would stretch a date axis past the years matplotlib draws."""
    def drawn(day: Any) -> bool:
        day = day.date() if isinstance(day, datetime) else day
        return isinstance(day, date) and FIRST_PARTITION_DAY <= day <= LAST_PARTITION_DAY

    return days.map(drawn).astype(bool)


def _named(things: list[str]) -> str:
    return ", ".join(things[:-1]) + " and " + things[-1] if len(things) > 1 else things[0]


def next_steps(states: list[PhaseState]) -> list[str]:
    """Which runbook to run next for the findings that do not name one themselves, in the order an operator would:
    how a wrong code came to serve (01), the redeploy that puts each phase's own code back, with dataset_prefix
    support (02), then who can call a public service (05). A runbook is named only when it is in this kit."""
    wrong = [s.phase for s in states if s.wrong_code]
    redeploy = [s.phase for s in states if s.wrong_code or s.supports_prefix is False]
    public = [s.service for s in states if s.public]
    steps = []
    for name, things, what in (
            (DIAGNOSE_RUNBOOK, wrong, "to diagnose the last build of {}"),
            (REDEPLOY_RUNBOOK, redeploy, "to redeploy {}" + (", each" if len(redeploy) > 1 else "")
             + " from its own Dockerfile"),
            (AUDIT_RUNBOOK, public, "to see who can call {} and print the fix")):
        notebook = existing_runbook(name)
        if things and notebook:
            steps.append(f"runbook {name[:2]} ({notebook}) {what.format(_named(things))}")
    return steps


def pipeline_overview(target: Any) -> Overview:
    states = phase_states(target)
    try:
        tables, daily = output_tables(target)
        data_note = ""
    except (AccessDenied, QuotaExceeded, CloudUnreachable, CredentialsMissing) as exc:   # the services' answers
        # still stand without the data
        tables, daily, data_note = None, None, str(exc)
    problems, warnings = [], []
    for s in states:
        prefix_commit = target.phases.get(s.phase).prefix_support_commit[:7]
        if s.problem:
            problems.append(f"{s.phase}: {s.problem}")
        problems.append(wrong_code_sentence(s))
        if s.public:
            problems.append(f"{s.service} is public (allUsers or allAuthenticatedUsers can invoke it)")
        warnings += [health_status_sentence(s), unhealthy_sentence(s), no_service_sentence(s),
                     failed_revision_sentence(s), not_ready_sentence(s), unchecked_sentence(s),
                     prefix_sentence(s, prefix_commit)]
        if s.serving:   # a service that could not be read says so above
            warnings.append(prefix_unknown_sentence(s, prefix_commit))
    problems, warnings = [p for p in problems if p], [w for w in warnings if w]
    if data_note:
        warnings.append(f"production data could not be read, so it is not shown ({data_note.rstrip('.')})")
    if tables is not None:
        # a table that is gone wants a restore, an empty one a backfill: the night's one line must tell them apart
        gone = tables["note"] == "missing"
        missing = tables.loc[gone, "table"].tolist()
        if missing:
            warnings.append(f"production tables missing: {', '.join(missing)}")
        empty = tables.loc[(tables["rows"] == 0) & ~gone, "table"].tolist()
        if empty:
            warnings.append(f"production tables without rows: {', '.join(empty)}")
    verdict = "fail" if problems else "warn" if warnings else "pass"
    findings = problems + warnings
    steps = next_steps(states)
    summary = "; ".join(findings) + "." if findings else "Every phase serves its own code, honours dataset_prefix and is private."
    if steps:
        summary += f" Next: {'; '.join(steps)}."
    figures = {
        "services healthy": f"{sum(s.healthy for s in states)}/{len(states)}",
        "wrong code": sum(s.wrong_code for s in states),
        "ignore dataset_prefix": sum(s.supports_prefix is False for s in states),
        "public services": sum(s.public for s in states),
    }
    if tables is not None:
        figures["production rows"] = int(tables["rows"].sum())
    details = {"phases": [s.to_dict() for s in states], "data_note": data_note, "next": steps,
               "tables": None if tables is None else tables.astype(str).to_dict(orient="records")}
    return Overview(name="pipeline_overview", verdict=verdict, summary=summary, figures=figures, details=details,
                    phases=states, tables=tables, daily_rows=daily)


def daily_rows_chart(overview: Overview):
    """Rows per partition date for each output table: gaps and stale tables stand out."""
    from . import charts

    fig = charts.new_figure(8, 3.2)
    ax = fig.add_subplot()
    frame = overview.daily_rows
    title = "Production rows per partition date"
    if frame is None or frame.empty:
        ax.text(0.5, 0.5, "no output data", ha="center", va="center")
    elif not (drawn := _chartable(frame["day"])).any():
        ax.text(0.5, 0.5, "no rows dated 1960-2159", ha="center", va="center")
    else:
        frame = frame[drawn]
        shown = _most_stale(frame)
        colours = charts.distinct_colours(CHARTED_TABLES)
        for (table, part), colour in zip(frame[frame["table"].isin(shown)].groupby("table"), colours):
            ax.plot(pd.to_datetime(part["day"]), part["row_count"], marker="o", ms=3, label=table, color=colour)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_ylabel("rows")
        fig.autofmt_xdate()
        tables = frame["table"].nunique()
        if tables > len(shown):
            title += f"\n(the {len(shown)} tables whose latest day is oldest, of {tables}; the table above lists all)"
    ax.set_title(title, fontsize=10)
    return fig


def _most_stale(frame: pd.DataFrame) -> list[str]:
    """The CHARTED_TABLES tables whose latest partition day is oldest (the stale ones a chart is for), by name."""
    latest = frame.groupby("table")["day"].max()
    return sorted(sorted(latest.index, key=lambda table: (latest[table], table))[:CHARTED_TABLES])

