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
already committed, so a service can answer 503 and the caller can retry.

Each processor is one SELECT in sql/<processor>.sql (BigQuery dialect). This module stages that
SELECT, MERGEs it into the target table on the keys from params/phases.yaml and records the run,
all in one warehouse call (one transaction), so a failure leaves nothing half-written. Re-running a processor
for the same dates replaces those dates' rows with identical ones: the MERGE is idempotent.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from ..checks import as_date
from ..errors import NotFoundError, ParameterError, WarehouseBusy
from ..phases import OutputTable, Phase, PhaseRegistry, load_phases, prefixed_dataset
from .corrections import sql_before_corrections

SQL_DIR = Path(__file__).resolve().parent / "sql"

PHASE3_PROCESSORS = ("player_game_summary", "team_offense_game_summary")
PHASE4_PROCESSORS = (
    "player_daily_cache",
    "player_composite_factors",
    "player_shot_zone_analysis",
    "team_defense_zone_analysis",
)
RAW_DATASET = "nba_raw"

# Phase 4's dependency check wants Phase 3 rows for the analysis date or the week before it.
DEPENDENCY_LOOKBACK_DAYS = 7
# Rolling windows never reach into the previous season; NBA seasons start in October.
SEASON_START_MONTH = 10

STATUSES = ("success", "failed", "skipped", "busy")  # busy: not run because the warehouse was locked

# Output schemas (BigQuery types), in column order. The first column is the partition column.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "player_game_summary": (
        ("game_date", "DATE"), ("player_lookup", "STRING"), ("game_id", "STRING"), ("season", "STRING"),
        ("player_name", "STRING"), ("team_abbr", "STRING"), ("opponent_abbr", "STRING"), ("is_home", "BOOL"),
        ("minutes", "FLOAT64"), ("points", "INT64"), ("rebounds", "INT64"), ("assists", "INT64"),
        ("steals", "INT64"), ("blocks", "INT64"), ("turnovers", "INT64"), ("fg_made", "INT64"),
        ("fg_att", "INT64"), ("three_made", "INT64"), ("three_att", "INT64"), ("ft_made", "INT64"),
        ("ft_att", "INT64"), ("paint_att", "INT64"), ("mid_att", "INT64"), ("fg_pct", "FLOAT64"),
        ("ts_pct", "FLOAT64"), ("usage_rate", "FLOAT64"), ("points_line", "FLOAT64"),
        ("line_bookmakers", "INT64"), ("over_under_result", "STRING"), ("line_margin", "FLOAT64"),
    ),
    "team_offense_game_summary": (
        ("game_date", "DATE"), ("team_abbr", "STRING"), ("game_id", "STRING"), ("opponent_abbr", "STRING"),
        ("is_home", "BOOL"), ("points", "INT64"), ("opponent_points", "INT64"), ("win", "BOOL"),
        ("fg_made", "INT64"), ("fg_att", "INT64"), ("fg_pct", "FLOAT64"), ("three_made", "INT64"),
        ("three_att", "INT64"), ("three_pct", "FLOAT64"), ("ft_made", "INT64"), ("ft_att", "INT64"),
        ("rebounds", "INT64"), ("assists", "INT64"), ("turnovers", "INT64"), ("possessions", "FLOAT64"),
        ("offensive_rating", "FLOAT64"), ("defensive_rating", "FLOAT64"), ("pace", "FLOAT64"),
    ),
    "player_daily_cache": (
        ("cache_date", "DATE"), ("player_lookup", "STRING"), ("player_name", "STRING"), ("team_abbr", "STRING"),
        ("games_played", "INT64"), ("last_game_date", "DATE"), ("days_since_last_game", "INT64"),
        ("points_avg_last_5", "FLOAT64"), ("points_avg_last_10", "FLOAT64"), ("points_std_last_10", "FLOAT64"),
        ("rebounds_avg_last_10", "FLOAT64"), ("assists_avg_last_10", "FLOAT64"),
        ("minutes_avg_last_10", "FLOAT64"), ("ts_pct_last_10", "FLOAT64"), ("usage_rate_last_10", "FLOAT64"),
    ),
    "player_composite_factors": (
        ("game_date", "DATE"), ("player_lookup", "STRING"), ("team_abbr", "STRING"), ("opponent_abbr", "STRING"),
        ("days_rest", "INT64"), ("is_back_to_back", "BOOL"), ("fatigue_factor", "FLOAT64"),
        ("opponent_points_allowed_avg", "FLOAT64"), ("matchup_factor", "FLOAT64"), ("pace_factor", "FLOAT64"),
        ("composite_factor", "FLOAT64"), ("points_avg_last_10", "FLOAT64"), ("projected_points", "FLOAT64"),
        ("points_line", "FLOAT64"), ("projected_edge", "FLOAT64"),
    ),
    "player_shot_zone_analysis": (
        ("analysis_date", "DATE"), ("player_lookup", "STRING"), ("team_abbr", "STRING"),
        ("games_in_sample", "INT64"), ("fg_att", "INT64"), ("paint_att", "INT64"), ("mid_att", "INT64"),
        ("three_att", "INT64"), ("paint_share", "FLOAT64"), ("mid_share", "FLOAT64"),
        ("three_share", "FLOAT64"), ("fg_pct", "FLOAT64"), ("three_pct", "FLOAT64"),
    ),
    "team_defense_zone_analysis": (
        ("analysis_date", "DATE"), ("team_abbr", "STRING"), ("games_in_sample", "INT64"),
        ("points_allowed_avg", "FLOAT64"), ("defensive_rating", "FLOAT64"), ("opponent_fg_pct", "FLOAT64"),
        ("opponent_paint_share", "FLOAT64"), ("opponent_mid_share", "FLOAT64"),
        ("opponent_three_share", "FLOAT64"), ("pace_avg", "FLOAT64"),
    ),
}

RUN_HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "STRING"), ("processor_name", "STRING"), ("phase", "STRING"), ("data_date", "DATE"),
    ("dataset_prefix", "STRING"), ("target_dataset", "STRING"), ("rows_processed", "INT64"),
    ("status", "STRING"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
    ("commit_sha", "STRING"), ("error", "STRING"),
)

# BigQuery dataset ids: letters, digits and underscores, at most 1024 characters.
_BQ_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")


@dataclass(frozen=True)
class CodeVersion:
    """What a deployed revision's code can do."""

    commit: str
    supports_prefix: bool  # code from before the dataset_prefix commit ignores the prefix
    # code from before the head commit computes without its corrections (corrections.py): production
    # was written by such code, so a head replay differs from it in exactly those columns
    corrected: bool = True


HEAD = CodeVersion("head", True)


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
    chosen = _choose_processors(processors, PHASE3_PROCESSORS)
    prefix = _as_prefix(dataset_prefix)
    _check_flags(backfill_mode=backfill_mode)
    _check_code(code)
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
    chosen = _choose_processors(processors, PHASE4_PROCESSORS)
    prefix = _as_prefix(dataset_prefix)
    _check_flags(backfill_mode=backfill_mode, strict_mode=strict_mode, skip_dependency_check=skip_dependency_check)
    _check_code(code)
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


def ensure_production_tables(warehouse, phases: PhaseRegistry | None = None) -> list[str]:
    """Create the production output datasets/tables and the run-history table if missing.

    Returns the table refs it made sure of. Existing tables and their rows are left alone.
    """
    registry = phases or load_phases()
    refs = []
    wanted = []
    for phase_name in ("phase3", "phase4"):
        for table in registry.get(phase_name).tables:
            wanted.append((table.dataset, table.table, TABLE_COLUMNS[table.table], table.partition_column))
            refs.append(table.ref)
    dataset, name = registry.run_history_table.split(".")
    wanted.append((dataset, name, RUN_HISTORY_COLUMNS, "data_date"))
    refs.append(registry.run_history_table)
    _ensure_tables(warehouse, wanted)
    return refs


def processor_sql(processor: str, code: CodeVersion = HEAD) -> str:
    """The processor's SELECT as `code` runs it (BigQuery dialect, with {raw}/{analytics} placeholders)."""
    if processor not in PHASE3_PROCESSORS + PHASE4_PROCESSORS:
        allowed = ", ".join(PHASE3_PROCESSORS + PHASE4_PROCESSORS)
        raise ParameterError("processor", processor, f"choose one of {allowed}")
    head = (SQL_DIR / f"{processor}.sql").read_text()
    return head if code.corrected else sql_before_corrections(processor, head)


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
    busy: WarehouseBusy | None = None
    try:
        _ensure_tables(warehouse, wanted)
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
            script = _merge_script(run.processor, table, meta["target_dataset"], sources, run_history, code)
            # One transaction: stage, MERGE, record the history rows and read back their total.
            run.rows_written = int(warehouse.query(script, {**params, **meta}).iloc[0, 0])
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
                warehouse.execute(_failure_script(run_history), {**metas[run.processor], "error": run.error})
            except WarehouseBusy as exc:
                busy = exc

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


def _merge_script(name: str, table: OutputTable, target_dataset: str, sources: dict, run_history: str,
                  code: CodeVersion) -> str:
    columns = [c for c, _ in TABLE_COLUMNS[name]]
    part = table.partition_column
    on = " AND ".join(f"T.{k} = S.{k}" for k in table.keys)
    updates = ", ".join(f"{c} = S.{c}" for c in columns if c not in table.keys)
    select = processor_sql(name, code).format(**sources)
    history_columns = ", ".join(c for c, _ in RUN_HISTORY_COLUMNS)
    return f"""
CREATE TEMP TABLE staged AS
{select};

MERGE `{target_dataset}.{table.table}` AS T
USING staged AS S
ON {on}
WHEN MATCHED THEN UPDATE SET {updates}
WHEN NOT MATCHED THEN INSERT ({", ".join(columns)}) VALUES ({", ".join("S." + c for c in columns)})
-- rows that are no longer produced go, but only on dates that have fresh rows: a date with no
-- source data is left as it was
WHEN NOT MATCHED BY SOURCE AND T.{part} IN (SELECT DISTINCT {part} FROM staged) THEN DELETE;

INSERT INTO `{run_history}` ({history_columns})
SELECT
  @run_id, @processor_name, @phase, d, @recorded_prefix, @target_dataset,
  COALESCE(n.rows_processed, 0),
  IF(n.rows_processed > 0, 'success', 'skipped'),
  @started_at, CURRENT_TIMESTAMP(), @commit_sha,
  IF(n.rows_processed > 0, NULL, 'no source rows for this date')
FROM UNNEST(GENERATE_DATE_ARRAY(@start_date, @end_date)) AS d
LEFT JOIN (SELECT {part} AS data_date, COUNT(*) AS rows_processed FROM staged GROUP BY {part}) AS n
  ON n.data_date = d;

SELECT COALESCE(SUM(rows_processed), 0) AS rows_written FROM `{run_history}` WHERE run_id = @run_id;
"""


def _failure_script(run_history: str) -> str:
    history_columns = ", ".join(c for c, _ in RUN_HISTORY_COLUMNS)
    return f"""
INSERT INTO `{run_history}` ({history_columns})
SELECT @run_id, @processor_name, @phase, d, @recorded_prefix, @target_dataset, 0, 'failed',
       @started_at, CURRENT_TIMESTAMP(), @commit_sha, @error
FROM UNNEST(GENERATE_DATE_ARRAY(@start_date, @end_date)) AS d
"""


def _missing_dependencies(warehouse, registry: PhaseRegistry, analytics: str, day: date) -> list[str]:
    """Phase 3 tables (in production `analytics`) with no rows in the dependency window."""
    params = {"window_start": day - timedelta(days=DEPENDENCY_LOOKBACK_DAYS), "day": day}
    tables = registry.get("phase3").tables
    counts = [f"(SELECT COUNT(*) FROM `{analytics}.{t.table}` "
              f"WHERE {t.partition_column} BETWEEN @window_start AND @day) AS n{i}" for i, t in enumerate(tables)]
    try:
        row = warehouse.query("SELECT " + ", ".join(counts), params).iloc[0]
        rows = [int(row[f"n{i}"]) for i in range(len(tables))]
    except NotFoundError:
        rows = [_count_or_zero(warehouse, f"SELECT {c}", params) for c in counts]
    return [f"{analytics}.{t.table}" for t, n in zip(tables, rows) if n == 0]


def _count_or_zero(warehouse, sql: str, params: dict) -> int:
    try:
        return int(warehouse.query(sql, params).iloc[0, 0])
    except NotFoundError:  # a table that does not exist has no rows either
        return 0


# ---------------------------------------------------------------- tables


def _ensure_tables(warehouse, wanted: Iterable[tuple[str, str, tuple, str | None]]) -> None:
    """Create missing datasets and tables; (dataset, table, columns, partition column) each.

    Prefixed datasets appear this way on first write, with the production tables' schema.
    One listing per dataset keeps this cheap when everything already exists.
    """
    by_dataset: dict[str, list] = {}
    for dataset, table, columns, partition in wanted:
        by_dataset.setdefault(dataset, []).append((table, columns, partition))
    for dataset, tables in by_dataset.items():
        try:
            existing = set(warehouse.list_tables(dataset))
        except NotFoundError:
            # Made by the pipeline, not the kit: no kit label, so the kit will not drop it.
            warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`")
            existing = set()
        for table, columns, partition in tables:
            if table not in existing:
                warehouse.create_table(f"{dataset}.{table}", list(columns), partition_column=partition, exists_ok=True)


# ---------------------------------------------------------------- parameters




def _choose_processors(processors, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """None or an empty list means every processor of the phase, as upstream treats `processors: []`."""
    if processors is None:
        return allowed
    if isinstance(processors, str):
        processors = [p for p in processors.split(",") if p.strip()]
    if not isinstance(processors, (list, tuple, set, frozenset)):
        raise ParameterError("processors", processors, f"give a list of names from {', '.join(allowed)}")
    chosen = []
    for name in processors:
        if not isinstance(name, str) or name.strip() not in allowed:
            raise ParameterError("processors", name, f"choose from {', '.join(allowed)}")
        if name.strip() not in chosen:
            chosen.append(name.strip())
    return tuple(chosen) or allowed


def _as_prefix(value) -> str:
    # Upstream takes the prefix as given; only its type must allow building a dataset name.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParameterError("dataset_prefix", value, "give text such as 'test' (empty means production)")
    return value


def _check_flags(**flags) -> None:
    # "false" from a JSON client is truthy; refuse anything but a real boolean.
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ParameterError(name, value, "give true or false")


def _check_code(code) -> None:
    if not isinstance(code, CodeVersion):
        raise ParameterError("code", code, "give a CodeVersion(commit, supports_prefix)")


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]
