"""The sandbox's sample NBA pipeline: Phase 3 (analytics) and Phase 4 (precompute) processors.

They run the way the real services run, including their known flaws, because the runbooks must
be able to find those flaws:

- writes honour `dataset_prefix` ("test" -> test_nba_analytics, "test_" -> test__nba_analytics,
  "" -> production), but only when the deployed code supports it (`CodeVersion.supports_prefix`);
  older code silently writes production;
- reads never honour the prefix: Phase 3 reads nba_raw, Phase 4 reads PRODUCTION nba_analytics;
- run-history rows always go to production `nba_reference.processor_run_history`;
- nothing validates the prefix (an invalid dataset name fails at write time, as BigQuery would).

A warehouse file locked by another process is not a processor failure: the run stops where it is,
records no "failed" history row for the lock, and raises RunBusy (a WarehouseBusy) carrying what had
already committed, so a service can answer 503 and the caller can retry. The sandbox's own warehouse is
opened once for a run's writes, so another process waits for the whole run rather than cutting in between
two processors; a warehouse opened per call can still be taken between them.

Each processor is one SELECT in sql/<processor>.sql (BigQuery dialect), staged and MERGEd into the
target table on the keys from params/phases.yaml by one script (pipeline_sql.py); the tables and their
schemas are pipeline_tables.py's, the request's checks pipeline_checks.py's. This module runs a phase.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable

from ..checks import as_date
from ..errors import NotFoundError, ParameterError, WarehouseBusy
from ..phases import OutputTable, Phase, PhaseRegistry, load_phases, prefixed_dataset
from .pipeline_checks import as_prefix, check_code, check_flags, choose_processors
from .pipeline_sql import HEAD, SQL_DIR, CodeVersion, failure_script, merge_script, processor_sql
from .pipeline_tables import (PHASE3_PROCESSORS, PHASE4_PROCESSORS, RUN_HISTORY_COLUMNS, TABLE_COLUMNS,
                              ensure_production_tables, ensure_tables)
from .warehouse import LocalWarehouse

__all__ = ["HEAD", "PHASE3_PROCESSORS", "PHASE4_PROCESSORS", "RUN_HISTORY_COLUMNS", "SQL_DIR", "TABLE_COLUMNS",
           "CodeVersion", "PhaseRun", "ProcessorRun", "RunBusy", "ensure_production_tables", "processor_sql",
           "run_phase3", "run_phase4", "season_start"]

RAW_DATASET = "nba_raw"

# Phase 4's dependency check wants Phase 3 rows for the analysis date or the week before it.
DEPENDENCY_LOOKBACK_DAYS = 7
# Rolling windows never reach into the previous season; NBA seasons start in October.
SEASON_START_MONTH = 10

STATUSES = ("success", "failed", "skipped", "busy")  # busy: not run because the warehouse was locked

# BigQuery dataset ids: letters, digits and underscores, at most 1024 characters.
_BQ_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")


@dataclass
class ProcessorRun:
    processor: str
    start_date: date
    end_date: date
    target_table: str  # dataset.table actually written (or that would have been)
    rows_written: int
    status: str  # success | failed | skipped | busy
    error: str | None = None
    run_id: str = ""

    def to_dict(self) -> dict:
        return {
            "processor": self.processor,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "target_table": self.target_table,
            "rows_written": self.rows_written,
            "status": self.status,
            "error": self.error,
            "run_id": self.run_id,
        }


@dataclass
class PhaseRun:
    phase: str
    processors: list[ProcessorRun]
    dataset_prefix: str  # as requested
    prefix_applied: bool  # False when the code ignored a non-empty prefix
    datasets_written: list[str]
    run_history_table: str
    code_commit: str
    request: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    busy: str | None = None  # why the run stopped early: the warehouse stayed locked

    @property
    def status(self) -> str:
        if self.busy:
            return "busy"
        return "failed" if any(p.status == "failed" for p in self.processors) else "success"

    def to_dict(self) -> dict:
        return {
            "phase": self.phase,
            "status": self.status,
            "request": dict(self.request),
            "dataset_prefix": self.dataset_prefix,
            "prefix_applied": self.prefix_applied,
            "datasets_written": list(self.datasets_written),
            "run_history_table": self.run_history_table,
            "code_commit": self.code_commit,
            "warnings": list(self.warnings),
            "processors": [p.to_dict() for p in self.processors],
        }


class RunBusy(WarehouseBusy):
    """The warehouse stayed locked by another process part-way through a run.

    `run` is the PhaseRun as far as it got (status "busy"): processors that committed say so, the
    others have status "busy". Retrying the same request is safe: the MERGEs are idempotent.
    """

    def __init__(self, message: str, run: PhaseRun):
        super().__init__(message)
        self.run = run


# ---------------------------------------------------------------- public entry points


def run_phase3(
    warehouse,
    start_date: date | str,
    end_date: date | str,
    processors: Iterable[str] | None = None,
    backfill_mode: bool = False,
    dataset_prefix: str | None = "",
    code: CodeVersion = HEAD,
    phases: PhaseRegistry | None = None,
) -> PhaseRun:
    """POST /process-date-range: build nba_analytics from nba_raw for start_date..end_date."""
    start = as_date("start_date", start_date)
    end = as_date("end_date", end_date)
    if end < start:
        raise ParameterError("end_date", end.isoformat(), f"must be on or after start_date {start.isoformat()}")
    chosen = choose_processors(processors, PHASE3_PROCESSORS)
    prefix = as_prefix(dataset_prefix)
    check_flags(backfill_mode=backfill_mode)
    check_code(code)
    registry = phases or load_phases()
    phase = registry.get("phase3")
    tables = {name: phase.table(name) for name in chosen}
    request = {"start_date": start.isoformat(), "end_date": end.isoformat(), "processors": list(chosen),
               "backfill_mode": bool(backfill_mode), "dataset_prefix": prefix}
    sources = {"raw": phase.reads[0] if phase.reads else RAW_DATASET}
    params = {"start_date": start, "end_date": end}
    return _run_phase(warehouse, registry, phase, chosen, tables, start, end, params, sources,
                      prefix, code, request, warnings=[])


def run_phase4(
    warehouse,
    analysis_date: date | str,
    processors: Iterable[str] | None = None,
    backfill_mode: bool = False,
    strict_mode: bool = True,
    skip_dependency_check: bool = False,
    dataset_prefix: str | None = "",
    code: CodeVersion = HEAD,
    phases: PhaseRegistry | None = None,
) -> PhaseRun:
    """POST /process-date: build nba_precompute for analysis_date from PRODUCTION nba_analytics."""
    day = as_date("analysis_date", analysis_date)
    chosen = choose_processors(processors, PHASE4_PROCESSORS)
    prefix = as_prefix(dataset_prefix)
    check_flags(backfill_mode=backfill_mode, strict_mode=strict_mode, skip_dependency_check=skip_dependency_check)
    check_code(code)
    registry = phases or load_phases()
    phase = registry.get("phase4")
    tables = {name: phase.table(name) for name in chosen}
    request = {"analysis_date": day.isoformat(), "processors": list(chosen), "backfill_mode": bool(backfill_mode),
               "strict_mode": bool(strict_mode), "skip_dependency_check": bool(skip_dependency_check),
               "dataset_prefix": prefix}
    # Upstream reads are never prefixed: this is production nba_analytics whatever dataset_prefix says.
    analytics = phase.reads[0] if phase.reads else "nba_analytics"
    sources = {"analytics": analytics}
    params = {"analysis_date": day, "season_start": season_start(day)}

    warnings: list[str] = []
    blocked = None
    if not skip_dependency_check:
        missing = _missing_dependencies(warehouse, registry, analytics, day)
        if missing:
            window = f"{(day - timedelta(days=DEPENDENCY_LOOKBACK_DAYS)).isoformat()}..{day.isoformat()}"
            message = (f"dependency check failed: {', '.join(missing)} has no rows for game dates {window}; "
                       f"run Phase 3 for those dates first")
            if strict_mode:
                blocked = message + " (strict_mode=True; pass strict_mode=False or skip_dependency_check=True to run anyway)"
            else:
                warnings.append(message + " (strict_mode=False: continuing)")
    return _run_phase(warehouse, registry, phase, chosen, tables, day, day, params, sources,
                      prefix, code, request, warnings=warnings, blocked=blocked)


def season_start(day: date) -> date:
    """October 1st of the season `day` belongs to."""
    year = day.year if day.month >= SEASON_START_MONTH else day.year - 1
    return date(year, SEASON_START_MONTH, 1)


# ---------------------------------------------------------------- the run itself


def _run_phase(warehouse, registry: PhaseRegistry, phase: Phase, chosen: tuple[str, ...],
               tables: dict[str, OutputTable], start: date, end: date, params: dict, sources: dict,
               prefix: str, code: CodeVersion, request: dict, warnings: list[str],
               blocked: str | None = None) -> PhaseRun:
    # Old code never reads dataset_prefix: it writes production and logs no prefix.
    applied_prefix = prefix if code.supports_prefix else ""
    run_history = registry.run_history_table
    history_dataset, history_table = run_history.split(".")
    runs: list[ProcessorRun] = []
    metas: dict[str, dict] = {}
    for name in chosen:
        table = tables[name]
        target_dataset = prefixed_dataset(table.dataset, applied_prefix)
        run = ProcessorRun(name, start, end, f"{target_dataset}.{table.table}", 0, "failed", run_id=uuid.uuid4().hex)
        runs.append(run)
        metas[name] = {"run_id": run.run_id, "processor_name": name, "phase": phase.name,
                       "recorded_prefix": applied_prefix, "target_dataset": target_dataset,
                       "commit_sha": code.commit, "start_date": start, "end_date": end}
        if blocked:
            run.error = blocked
        elif not _BQ_DATASET.match(target_dataset):
            # Upstream does not validate the prefix; BigQuery rejects the dataset id at write time.
            run.error = (f"400 Invalid dataset ID \"{target_dataset}\". Dataset IDs must be alphanumeric "
                         f"(plus underscores) and must be at most 1024 characters long.")

    # The run history lives in production whatever the prefix (the known upstream leak).
    wanted = [(history_dataset, history_table, RUN_HISTORY_COLUMNS, "data_date")]
    wanted += [(metas[r.processor]["target_dataset"], tables[r.processor].table, TABLE_COLUMNS[r.processor],
                tables[r.processor].partition_column) for r in runs if r.error is None]
    busy = _in_one_opening(warehouse, lambda: _write_runs(warehouse, wanted, runs, metas, tables, sources, run_history,
                                                         code, params))

    message = None
    if busy is not None:
        committed = sum(r.status in ("success", "skipped") for r in runs)
        reason = str(busy)
        message = (f"The {phase.name} run stopped after {committed} of {len(runs)} processors had committed: "
                   f"{reason[:1].lower()}{reason[1:]}")
        for run in runs:
            if run.status == "failed" and run.error is None:
                run.status, run.error = "busy", "not run: the warehouse stayed locked by another process"
    written = sorted({r.target_table.split(".")[0] for r in runs if r.status == "success"})
    result = PhaseRun(phase=phase.name, processors=runs, dataset_prefix=prefix,
                      prefix_applied=bool(applied_prefix) or not prefix, datasets_written=written,
                      run_history_table=run_history, code_commit=code.commit,
                      request=request, warnings=warnings, busy=message)
    if message is not None:
        raise RunBusy(message, result)
    return result


def _in_one_opening(warehouse, write: Callable[[], WarehouseBusy | None]) -> WarehouseBusy | None:
    """Run a phase's writes with the sandbox's file opened once for all of them, its lock held throughout (each
    opening costs an ATTACH, and after a write a checkpoint on DETACH); what stopped them on a lock, or None."""
    if not isinstance(warehouse, LocalWarehouse):
        return write()
    try:
        with warehouse.connection():
            return write()
    except WarehouseBusy as exc:   # locked by another process from the start: nothing was written
        return exc


def _write_runs(warehouse, wanted: list, runs: list[ProcessorRun], metas: dict[str, dict],
                tables: dict[str, OutputTable], sources: dict, run_history: str, code: CodeVersion,
                params: dict) -> WarehouseBusy | None:
    """Make the tables, run each processor's script, record each failure; what stopped them on a lock, or None."""
    busy: WarehouseBusy | None = None
    try:
        ensure_tables(warehouse, wanted)
    except WarehouseBusy as exc:
        busy = exc

    for run in runs:
        meta = {**metas[run.processor], "started_at": datetime.now(timezone.utc)}
        metas[run.processor] = meta
        if run.error is not None:
            continue
        if busy is not None:
            break
        table = tables[run.processor]
        try:
            script = merge_script(run.processor, table, meta["target_dataset"], sources, run_history, code)
            # One transaction: stage, MERGE, record the history rows and read back their total.
            run.rows_written = _first_value(warehouse.query_arrow(script, {**params, **meta}))
        except WarehouseBusy as exc:  # a lock is no fault of the processor: stop, retry later
            busy = exc
            break
        except Exception as exc:  # this processor fails; the others still run, as upstream
            run.error = _one_line(exc)
            continue
        run.status = "success" if run.rows_written > 0 else "skipped"
        if run.status == "skipped":
            run.error = "no source rows for these dates"
    for run in runs:
        if busy is not None:
            break  # each further write would wait out the lock again; the answer still lists the failures
        if run.status == "failed" and run.error is not None:
            try:
                warehouse.execute(failure_script(run_history), {**metas[run.processor], "error": run.error})
            except WarehouseBusy as exc:
                busy = exc
    return busy


def _missing_dependencies(warehouse, registry: PhaseRegistry, analytics: str, day: date) -> list[str]:
    """Phase 3 tables (in production `analytics`) with no rows in the dependency window."""
    params = {"window_start": day - timedelta(days=DEPENDENCY_LOOKBACK_DAYS), "day": day}
    tables = registry.get("phase3").tables
    counts = [f"(SELECT COUNT(*) FROM `{analytics}.{t.table}` "
              f"WHERE {t.partition_column} BETWEEN @window_start AND @day) AS n{i}" for i, t in enumerate(tables)]
    try:
        row = warehouse.query_arrow("SELECT " + ", ".join(counts), params).to_pylist()[0]
        rows = [int(row[f"n{i}"]) for i in range(len(tables))]
    except NotFoundError:
        rows = [_count_or_zero(warehouse, f"SELECT {c}", params) for c in counts]
    return [f"{analytics}.{t.table}" for t, n in zip(tables, rows) if n == 0]


def _count_or_zero(warehouse, sql: str, params: dict) -> int:
    try:
        return _first_value(warehouse.query_arrow(sql, params))
    except NotFoundError:  # a table that does not exist has no rows either
        return 0


def _first_value(table) -> int:
    """The first column of the first row of an Arrow result, as a whole number (a count). The services read
    Arrow, not pandas: a service process need not import pandas, which is half its start."""
    return int(table.column(0)[0].as_py())


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]
