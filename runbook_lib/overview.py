"""Runbook 00: what is serving, is it the right code, can it honour dataset_prefix, what data is there."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
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
from .phase_state import (GIVE_SOURCE_DIR, NO_LABEL, PhaseState, failed_revision_sentence, health_status_sentence,
                          no_service_sentence, not_ready_sentence, prefix_sentence, prefix_unknown_sentence,
                          unchecked_sentence, unhealthy_sentence, unreachable_why, wrong_code_sentence)
from .results import Result
from .services import ServingRevision


# /health answers at once when the service is up; the kit's default for a request (minutes) is for the replay's
# calls, and one hanging service must not hold the whole overview.
HEALTH_TIMEOUT_S = 10.0
# lines the rows-per-day chart draws: as many as a reader tells apart by colour, with a legend that fits beside them
CHARTED_TABLES = 12


DIAGNOSE_RUNBOOK, REDEPLOY_RUNBOOK, AUDIT_RUNBOOK = \
    "01_diagnose_build.ipynb", "02_redeploy_phase.ipynb", "05_security_audit.ipynb"


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
        if unreachable_why(state):
            state.problem += f", as {unreachable_why(state)}"
        return state
    return state.read_health(health)


def _all_support(serving: list[ServingRevision]) -> bool | None:
    """dataset_prefix support of a service: every revision with traffic gets requests, so the weakest decides."""
    values = [r.supports_prefix for r in serving]
    return False if False in values else None if None in values or not values else True


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

