"""The sample Phase 3/4 processors reproduce the real platform's semantics, flaws included."""
from __future__ import annotations

import json
import multiprocessing
import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from runbook_lib.errors import ParameterError, WarehouseBusy
from runbook_lib.local.generator import generate_raw
from runbook_lib.local.pipeline import (
    PHASE3_PROCESSORS,
    PHASE4_PROCESSORS,
    RUN_HISTORY_COLUMNS,
    TABLE_COLUMNS,
    CodeVersion,
    RunBusy,
    processor_sql,
    run_phase3,
    run_phase4,
)
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import load_phases

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

START = date(2025, 12, 15)
DAYS = 6
END = START + timedelta(days=DAYS - 1)
ANALYSIS = START + timedelta(days=4)  # has games before it and on it
OLD_CODE = CodeVersion("476352a", supports_prefix=False)
PHASES = load_phases()
RUN_HISTORY = PHASES.run_history_table
PHASE3_REFS = [f"nba_analytics.{p}" for p in PHASE3_PROCESSORS]
PHASE4_REFS = [f"nba_precompute.{p}" for p in PHASE4_PROCESSORS]


def digest(warehouse, ref: str) -> tuple[int, str]:
    """Row count and an order-independent digest of a table's full contents."""
    df = warehouse.query(
        "SELECT COUNT(*) AS n, TO_HEX(MD5(STRING_AGG(TO_JSON_STRING(t), '\\n' ORDER BY TO_JSON_STRING(t)))) AS d "
        f"FROM `{ref}` AS t")
    return int(df["n"].iloc[0]), df["d"].iloc[0]


def count(warehouse, ref: str, where: str = "TRUE", params: dict | None = None) -> int:
    return int(warehouse.query(f"SELECT COUNT(*) AS n FROM `{ref}` WHERE {where}", params)["n"].iloc[0])


def schemas(warehouse) -> set[str]:
    with warehouse.connection() as con:
        return {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}


def column_types(warehouse, dataset: str, table: str) -> list[tuple[str, str]]:
    with warehouse.connection() as con:
        return con.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                           [dataset, table]).fetchall()


def history(warehouse) -> pd.DataFrame:
    return warehouse.query(f"SELECT * FROM `{RUN_HISTORY}`")


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory):
    """Raw data only (production analytics still empty)."""
    path = tmp_path_factory.mktemp("raw") / "raw.duckdb"
    generate_raw(LocalWarehouse(path), start_date=START, days=DAYS, seed=11)
    return path


@pytest.fixture(scope="module")
def analytics_file(tmp_path_factory, raw_file):
    """Raw data plus production Phase 3 for every date."""
    path = tmp_path_factory.mktemp("analytics") / "analytics.duckdb"
    shutil.copy(raw_file, path)
    run = run_phase3(LocalWarehouse(path), START, END)
    assert run.status == "success"
    return path


def _copy(src, tmp_path) -> LocalWarehouse:
    dst = tmp_path / "w.duckdb"
    shutil.copy(src, dst)
    return LocalWarehouse(dst)


@pytest.fixture
def raw_wh(raw_file, tmp_path):
    return _copy(raw_file, tmp_path)


@pytest.fixture
def wh(analytics_file, tmp_path):
    return _copy(analytics_file, tmp_path)


# ---------------------------------------------------------------- Phase 3 output


def test_phase3_builds_analytics_from_raw(raw_wh):
    run = run_phase3(raw_wh, START.isoformat(), END.isoformat())
    assert run.status == "success" and run.phase == "phase3"
    by_name = {p.processor: p for p in run.processors}
    assert list(by_name) == list(PHASE3_PROCESSORS)
    box_rows = count(raw_wh, "nba_raw.player_boxscores")
    assert by_name["player_game_summary"].rows_written == box_rows == count(raw_wh, PHASE3_REFS[0])
    assert by_name["team_offense_game_summary"].rows_written == 2 * count(raw_wh, "nba_raw.games")
    assert run.datasets_written == ["nba_analytics"]

    pgs = raw_wh.query("SELECT * FROM `nba_analytics.player_game_summary`")
    assert list(pgs.columns) == [c for c, _ in TABLE_COLUMNS["player_game_summary"]]
    assert pgs["ts_pct"].dropna().between(0, 1.5).all()
    with_line = pgs.dropna(subset=["points_line"])
    assert len(with_line) > len(pgs) / 2
    expected = with_line.apply(lambda r: "OVER" if r.points > r.points_line else
                               "UNDER" if r.points < r.points_line else "PUSH", axis=1)
    assert (with_line["over_under_result"] == expected).all()
    assert pgs.loc[pgs["points_line"].isna(), "over_under_result"].isna().all()

    team = raw_wh.query("SELECT * FROM `nba_analytics.team_offense_game_summary`")
    assert team["pace"].between(80, 125).all()
    assert team["offensive_rating"].between(70, 160).all()
    assert team.groupby("game_id")["win"].sum().eq(1).all()
    # the two rows of a game mirror each other
    mirrored = team.merge(team, left_on=["game_id", "opponent_abbr"], right_on=["game_id", "team_abbr"])
    assert (mirrored["points_x"] == mirrored["opponent_points_y"]).all()
    assert (mirrored["offensive_rating_x"] == mirrored["defensive_rating_y"]).all()


def test_every_processor_sql_produces_exactly_its_table_columns(wh):
    for name in PHASE3_PROCESSORS:
        sql = processor_sql(name).format(raw="nba_raw")
        df = wh.query(f"SELECT * FROM ({sql}) LIMIT 0", {"start_date": START, "end_date": END})
        assert list(df.columns) == [c for c, _ in TABLE_COLUMNS[name]], name
    for name in PHASE4_PROCESSORS:
        sql = processor_sql(name).format(analytics="nba_analytics")
        df = wh.query(f"SELECT * FROM ({sql}) LIMIT 0", {"analysis_date": ANALYSIS, "season_start": date(2025, 10, 1)})
        assert list(df.columns) == [c for c, _ in TABLE_COLUMNS[name]], name


def test_phase3_run_history_has_one_row_per_processor_and_date(raw_wh):
    run = run_phase3(raw_wh, START, START + timedelta(days=2), dataset_prefix="")
    hist = history(raw_wh)
    assert len(hist) == 2 * 3
    assert set(hist["status"]) == {"success"}
    assert set(hist["target_dataset"]) == {"nba_analytics"} and set(hist["dataset_prefix"]) == {""}
    assert set(hist["commit_sha"]) == {"head"}
    for proc in run.processors:
        mine = hist[hist["run_id"] == proc.run_id]
        assert len(mine) == 3 and mine["rows_processed"].sum() == proc.rows_written
        assert (pd.to_datetime(mine["finished_at"]) >= pd.to_datetime(mine["started_at"])).all()


# ---------------------------------------------------------------- Phase 4 output


def test_phase4_builds_precompute_from_games_strictly_before_the_date(wh):
    run = run_phase4(wh, ANALYSIS)
    assert run.status == "success", run.to_dict()
    assert all(p.status == "success" and p.rows_written > 0 for p in run.processors)
    pgs = wh.query("SELECT * FROM `nba_analytics.player_game_summary`")
    pgs["game_date"] = pd.to_datetime(pgs["game_date"]).dt.date
    before = pgs[pgs["game_date"] < ANALYSIS].sort_values("game_date", ascending=False)

    cache = wh.query("SELECT * FROM `nba_precompute.player_daily_cache`")
    assert len(cache) == before["player_lookup"].nunique()
    assert (pd.to_datetime(cache["last_game_date"]).dt.date < ANALYSIS).all()
    last5 = before.groupby("player_lookup").head(5).groupby("player_lookup")["points"].mean().round(2)
    cache = cache.set_index("player_lookup")
    assert (cache["points_avg_last_5"] - last5.reindex(cache.index)).abs().max() < 0.006
    assert (cache["games_played"] == before.groupby("player_lookup").size().reindex(cache.index)).all()

    factors = wh.query("SELECT * FROM `nba_precompute.player_composite_factors`")
    assert len(factors) == (pgs["game_date"] == ANALYSIS).sum()
    assert (factors["is_back_to_back"] == (factors["days_rest"] == 0)).all()
    assert (factors.loc[factors["is_back_to_back"], "fatigue_factor"] < 1).all()
    assert factors["composite_factor"].between(0.6, 1.5).all()

    zones = wh.query("SELECT * FROM `nba_precompute.player_shot_zone_analysis`")
    shares = zones["paint_share"] + zones["mid_share"] + zones["three_share"]
    assert (shares - 1).abs().max() < 0.001
    defense = wh.query("SELECT * FROM `nba_precompute.team_defense_zone_analysis`")
    assert defense["team_abbr"].is_unique and defense["points_allowed_avg"].between(70, 160).all()


# ---------------------------------------------------------------- prefixes


@pytest.mark.parametrize("prefix, dataset", [("test", "test_nba_analytics"), ("test_", "test__nba_analytics")])
def test_phase3_prefix_writes_a_prefixed_dataset_and_leaves_production_alone(wh, prefix, dataset):
    before = {ref: digest(wh, ref) for ref in PHASE3_REFS}
    run = run_phase3(wh, START, END, dataset_prefix=prefix)
    assert run.status == "success" and run.prefix_applied
    assert run.datasets_written == [dataset]
    assert {p.target_table.split(".")[0] for p in run.processors} == {dataset}
    for ref in PHASE3_REFS:
        assert digest(wh, ref) == before[ref], "production untouched"
        # same inputs, same code: the prefixed copy equals production
        assert digest(wh, ref.replace("nba_analytics", dataset)) == before[ref]


def test_empty_prefix_means_production(raw_wh):
    run = run_phase3(raw_wh, START, START, dataset_prefix="")
    assert run.datasets_written == ["nba_analytics"] and count(raw_wh, PHASE3_REFS[0]) > 0
    assert not any(s.endswith("_nba_analytics") for s in schemas(raw_wh))


def test_prefixed_dataset_is_created_with_the_production_schema(raw_wh):
    run_phase3(raw_wh, START, START, processors=["team_offense_game_summary"], dataset_prefix="test")
    assert "test_nba_analytics" in schemas(raw_wh)
    prod = raw_wh.query("SELECT * FROM `nba_analytics.team_offense_game_summary` LIMIT 0")
    test = raw_wh.query("SELECT * FROM `test_nba_analytics.team_offense_game_summary`")
    assert list(test.columns) == list(prod.columns) and len(test) > 0
    assert column_types(raw_wh, "test_nba_analytics", "team_offense_game_summary") == \
        column_types(raw_wh, "nba_analytics", "team_offense_game_summary")


@pytest.mark.parametrize("runner", ["phase3", "phase4"])
def test_code_without_prefix_support_silently_writes_production(raw_wh, runner):
    if runner == "phase3":
        run = run_phase3(raw_wh, START, START, dataset_prefix="test", code=OLD_CODE)
        refs = PHASE3_REFS
        production = "nba_analytics"
    else:
        run_phase3(raw_wh, START, END)
        run = run_phase4(raw_wh, ANALYSIS, dataset_prefix="test", code=OLD_CODE)
        refs = PHASE4_REFS
        production = "nba_precompute"
    assert run.status == "success"
    assert run.dataset_prefix == "test" and not run.prefix_applied
    assert run.datasets_written == [production]
    assert all(count(raw_wh, ref) > 0 for ref in refs)
    assert f"test_{production}" not in schemas(raw_wh)
    hist = history(raw_wh)
    mine = hist[hist["commit_sha"] == OLD_CODE.commit]
    assert len(mine) > 0 and set(mine["target_dataset"]) == {production}
    assert set(mine["dataset_prefix"]) == {""}, "old code knows nothing of the prefix"


def test_prefixed_phase4_reads_production_analytics_not_the_prefixed_copy(wh, tmp_path):
    # A prefixed Phase 3 copy whose numbers differ from production...
    run_phase3(wh, START, END, dataset_prefix="test")
    wh.execute("UPDATE `test_nba_analytics.player_game_summary` SET points = points + 100 WHERE TRUE")
    wh.execute("UPDATE `test_nba_analytics.team_offense_game_summary` SET opponent_points = 0 WHERE TRUE")
    # ...is ignored: the prefixed Phase 4 output equals a production Phase 4 run's output.
    (tmp_path / "ref").mkdir()
    reference = _copy(wh.path, tmp_path / "ref")
    run_phase4(reference, ANALYSIS)
    run = run_phase4(wh, ANALYSIS, dataset_prefix="test")
    assert run.status == "success" and run.datasets_written == ["test_nba_precompute"]
    for ref in PHASE4_REFS:
        assert digest(wh, ref.replace("nba_precompute", "test_nba_precompute")) == digest(reference, ref)
        assert count(wh, ref) == 0, "production precompute untouched"


def test_prefixed_phase4_passes_the_dependency_check_on_production_data_alone(wh):
    assert "test_nba_analytics" not in schemas(wh)
    run = run_phase4(wh, ANALYSIS, dataset_prefix="test", strict_mode=True)
    assert run.status == "success" and not run.warnings


@pytest.mark.parametrize("prefix", ["test", "test_"])
def test_run_history_always_goes_to_production(wh, prefix):
    run_phase3(wh, START, START, dataset_prefix=prefix)
    run_phase4(wh, ANALYSIS, dataset_prefix=prefix)
    assert not any(s.endswith("nba_reference") and s != "nba_reference" for s in schemas(wh))
    hist = history(wh)
    mine = hist[hist["dataset_prefix"] == prefix]
    assert set(mine["phase"]) == {"phase3", "phase4"}
    assert set(mine["target_dataset"]) == {f"{prefix}_nba_analytics", f"{prefix}_nba_precompute"}


def test_an_invalid_prefix_is_not_validated_and_fails_at_write_time(wh):
    before = len(history(wh))
    run = run_phase3(wh, START, START, dataset_prefix="test-run")
    assert run.status == "failed"
    assert all(p.status == "failed" and "Invalid dataset ID" in p.error for p in run.processors)
    assert run.datasets_written == []
    hist = history(wh)
    assert len(hist) == before + 2 and set(hist["status"].iloc[before:]) == {"failed"}
    assert set(hist["target_dataset"].iloc[before:]) == {"test-run_nba_analytics"}


# ---------------------------------------------------------------- idempotency


def test_phase3_twice_changes_nothing(wh):
    before = {ref: digest(wh, ref) for ref in PHASE3_REFS}
    again = run_phase3(wh, START + timedelta(days=1), END)
    assert again.status == "success"
    assert {ref: digest(wh, ref) for ref in PHASE3_REFS} == before


def test_phase4_twice_changes_nothing(wh):
    run_phase4(wh, ANALYSIS)
    first = {ref: digest(wh, ref) for ref in PHASE4_REFS}
    assert all(n > 0 for n, _ in first.values())
    run_phase4(wh, ANALYSIS)
    assert {ref: digest(wh, ref) for ref in PHASE4_REFS} == first
    run_phase4(wh, ANALYSIS + timedelta(days=1))
    second_day = {ref: digest(wh, ref) for ref in PHASE4_REFS}
    run_phase4(wh, ANALYSIS + timedelta(days=1))
    assert {ref: digest(wh, ref) for ref in PHASE4_REFS} == second_day != first


def test_rerun_replaces_stale_rows_only_on_dates_it_produced(wh):
    wh.execute("INSERT INTO `nba_analytics.team_offense_game_summary` (game_date, team_abbr) "
               "VALUES (@d, 'XXX'), (@other, 'YYY')", {"d": START, "other": date(2025, 11, 1)})
    run_phase3(wh, START, START, processors=["team_offense_game_summary"])
    teams = wh.query("SELECT team_abbr FROM `nba_analytics.team_offense_game_summary`")["team_abbr"]
    assert "XXX" not in set(teams), "a row the processor no longer produces is removed"
    assert "YYY" in set(teams), "a date with no source data is left alone"


# ---------------------------------------------------------------- dependency check


def _empty_date() -> date:
    """A date with no Phase 3 rows on it or before it this season."""
    return START - timedelta(days=3)


def test_strict_dependency_check_fails_every_processor_and_records_why(wh):
    day = _empty_date()
    before = {ref: digest(wh, ref) for ref in PHASE4_REFS}
    run = run_phase4(wh, day)
    assert run.status == "failed" and run.datasets_written == []
    for proc in run.processors:
        assert proc.status == "failed" and proc.rows_written == 0
        assert "dependency check failed" in proc.error and "nba_analytics.player_game_summary" in proc.error
    assert {ref: digest(wh, ref) for ref in PHASE4_REFS} == before
    hist = history(wh)
    failed = hist[(hist["phase"] == "phase4") & (hist["status"] == "failed")]
    assert len(failed) == len(PHASE4_PROCESSORS)
    assert failed["error"].str.contains("dependency check failed").all()
    assert (pd.to_datetime(failed["data_date"]).dt.date == day).all()


def test_non_strict_dependency_check_warns_and_continues(wh):
    run = run_phase4(wh, _empty_date(), strict_mode=False)
    assert run.status == "success"
    assert len(run.warnings) == 1 and "strict_mode=False" in run.warnings[0]
    assert all(p.status == "skipped" and p.rows_written == 0 for p in run.processors)
    hist = history(wh)
    assert set(hist.loc[hist["phase"] == "phase4", "status"]) == {"skipped"}


def test_dependency_window_covers_the_week_before_the_date(wh):
    # A week after the last games: nothing that day, but the window still holds Phase 3 rows.
    run = run_phase4(wh, END + timedelta(days=7))
    assert run.status == "success" and not run.warnings
    statuses = {p.processor: p.status for p in run.processors}
    assert statuses["player_composite_factors"] == "skipped"  # nobody plays that day
    assert statuses["player_daily_cache"] == "success"
    assert run_phase4(wh, END + timedelta(days=8)).status == "failed"


def test_skip_dependency_check_runs_without_checking(wh):
    run = run_phase4(wh, _empty_date(), skip_dependency_check=True, strict_mode=True)
    assert run.status == "success" and run.warnings == []
    assert all(p.status == "skipped" for p in run.processors)


def test_dependency_check_reads_production_even_when_only_a_prefixed_copy_exists(raw_wh):
    run_phase3(raw_wh, START, END, dataset_prefix="test")  # production analytics stays empty
    run = run_phase4(raw_wh, ANALYSIS, dataset_prefix="test")
    assert run.status == "failed"
    assert all("dependency check failed" in p.error for p in run.processors)
    lenient = run_phase4(raw_wh, ANALYSIS, dataset_prefix="test", skip_dependency_check=True)
    assert all(p.status == "skipped" for p in lenient.processors), "it read the empty production tables"


# ---------------------------------------------------------------- failures and input


def test_a_failure_after_the_merge_leaves_nothing_half_written(raw_wh):
    # A run-history table that accepts only 'failed' rows makes the success insert fail after the MERGE.
    with raw_wh.connection() as con:
        con.execute('DROP TABLE "nba_reference"."processor_run_history"')
        duck = {"INT64": "BIGINT", "DATE": "DATE", "TIMESTAMP": "TIMESTAMPTZ", "STRING": "VARCHAR"}
        cols = ", ".join(f'"{c}" {duck[t]}' for c, t in RUN_HISTORY_COLUMNS)
        con.execute(f'CREATE TABLE "nba_reference"."processor_run_history" ({cols}, CHECK (status = \'failed\'))')
    run = run_phase3(raw_wh, START, START)
    assert run.status == "failed"
    assert all(p.status == "failed" and "constraint failed" in p.error for p in run.processors)
    assert all(count(raw_wh, ref) == 0 for ref in PHASE3_REFS), "the MERGE was rolled back"
    assert set(history(raw_wh)["status"]) == {"failed"}


def test_a_missing_source_table_fails_that_processor_only(raw_wh):
    with raw_wh.connection() as con:
        con.execute('DROP TABLE "nba_raw"."prop_lines"')
    run = run_phase3(raw_wh, START, START)
    by_name = {p.processor: p for p in run.processors}
    assert by_name["player_game_summary"].status == "failed" and "prop_lines" in by_name["player_game_summary"].error
    assert by_name["team_offense_game_summary"].status == "success"
    assert count(raw_wh, PHASE3_REFS[0]) == 0


@pytest.mark.parametrize("call, parameter", [
    (lambda w: run_phase3(w, START, END, processors=["player_game_summary", "nope"]), "processors"),
    (lambda w: run_phase3(w, START, END, processors=["player_daily_cache"]), "processors"),
    (lambda w: run_phase4(w, ANALYSIS, processors=["player_game_summary"]), "processors"),
    (lambda w: run_phase3(w, END, START), "end_date"),
    (lambda w: run_phase3(w, "2025-13-01", END), "start_date"),
    (lambda w: run_phase3(w, START, None), "end_date"),
    (lambda w: run_phase4(w, "yesterday"), "analysis_date"),
    (lambda w: run_phase4(w, ANALYSIS, dataset_prefix=5), "dataset_prefix"),
    (lambda w: run_phase4(w, ANALYSIS, strict_mode="false"), "strict_mode"),
    (lambda w: run_phase4(w, ANALYSIS, skip_dependency_check=1), "skip_dependency_check"),
    (lambda w: run_phase3(w, START, END, backfill_mode=None), "backfill_mode"),
    (lambda w: run_phase3(w, START, END, processors=7), "processors"),
    (lambda w: run_phase3(w, START, END, code="476352a"), "code"),
])
def test_bad_input_is_refused_before_anything_changes(wh, call, parameter):
    before = len(history(wh))
    with pytest.raises(ParameterError) as err:
        call(wh)
    assert err.value.parameter == parameter
    assert len(history(wh)) == before
    if parameter == "processors" and "nope" in repr(err.value.value):
        assert "choose from player_game_summary, team_offense_game_summary" in str(err.value)


def test_unknown_processor_error_lists_the_allowed_ones(wh):
    with pytest.raises(ParameterError) as err:
        run_phase4(wh, ANALYSIS, processors=["player_daily_cash"])
    for name in PHASE4_PROCESSORS:
        assert name in str(err.value)


def test_a_subset_of_processors_runs_only_those(raw_wh):
    run = run_phase3(raw_wh, START, START, processors=["team_offense_game_summary"])
    assert [p.processor for p in run.processors] == ["team_offense_game_summary"]
    assert count(raw_wh, PHASE3_REFS[0]) == 0 and count(raw_wh, PHASE3_REFS[1]) > 0


def test_to_dict_is_the_json_a_service_returns(wh):
    run = run_phase4(wh, ANALYSIS.isoformat(), processors=["team_defense_zone_analysis"], backfill_mode=True,
                     dataset_prefix="test")
    body = json.loads(json.dumps(run.to_dict()))
    assert body["phase"] == "phase4" and body["status"] == "success"
    assert body["request"] == {"analysis_date": ANALYSIS.isoformat(), "processors": ["team_defense_zone_analysis"],
                               "backfill_mode": True, "strict_mode": True, "skip_dependency_check": False,
                               "dataset_prefix": "test"}
    assert body["dataset_prefix"] == "test" and body["prefix_applied"] is True
    assert body["datasets_written"] == ["test_nba_precompute"]
    assert body["run_history_table"] == RUN_HISTORY
    (proc,) = body["processors"]
    assert proc["target_table"] == "test_nba_precompute.team_defense_zone_analysis"
    assert proc["start_date"] == proc["end_date"] == ANALYSIS.isoformat()
    assert proc["rows_written"] == count(wh, "test_nba_precompute.team_defense_zone_analysis") > 0


# ---------------------------------------------------------------- a warehouse locked by another process


def _hold_file(path: str, ready, release) -> None:
    con = duckdb.connect(path)  # read-write: nobody else may open the file until it closes
    ready.set()
    release.wait(60)
    con.close()


@pytest.fixture
def lock_holder():
    """Start a process that holds the warehouse file until released (always released at teardown)."""
    ctx = multiprocessing.get_context("spawn")
    started = []

    def hold(path):
        ready, release = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=_hold_file, args=(str(path), ready, release), daemon=True)
        proc.start()
        started.append((proc, release))
        assert ready.wait(60), "the holder process did not open the file"
        return release

    yield hold
    for proc, release in started:
        release.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


class LockedAfterFirstCommit:
    """The run's warehouse, which another process opens the moment the first processor has committed. It is not a
    LocalWarehouse but passes every call to one, so the run opens the file once per call, as it would any warehouse
    but the sandbox's own (which it holds from its first write to its last)."""

    def __init__(self, path, hold):
        self._wh = LocalWarehouse(path, lock_retry_seconds=0.3)
        self._hold = hold
        self.path = path
        self.release = None

    def __getattr__(self, name):
        return getattr(self._wh, name)

    def query_arrow(self, sql, params=None):
        table = self._wh.query_arrow(sql, params)
        if self.release is None and "MERGE" in sql:
            self.release = self._hold(self.path)
        return table


def test_a_lock_mid_run_stops_the_run_busy_and_records_no_failure(raw_wh, lock_holder):
    locked = LockedAfterFirstCommit(raw_wh.path, lock_holder)
    with pytest.raises(RunBusy) as err:
        run_phase3(locked, START, START)
    assert isinstance(err.value, WarehouseBusy)
    message = str(err.value)
    assert message.startswith("The phase3 run stopped after 1 of 2 processors had committed: the warehouse ")
    assert "stayed locked by another process" in message and "\n" not in message
    run = err.value.run
    assert run.status == "busy" and run.to_dict()["status"] == "busy"
    first, second = run.processors
    assert (first.processor, first.status) == ("player_game_summary", "success") and first.rows_written > 0
    assert (second.processor, second.status) == ("team_offense_game_summary", "busy")
    assert run.datasets_written == ["nba_analytics"]

    locked.release.set()  # the other process lets go; raw_wh waits for it
    recorded = history(raw_wh)
    assert set(recorded["status"]) == {"success"}, "a lock is not a failed processor"
    assert set(recorded["processor_name"]) == {"player_game_summary"}
    assert count(raw_wh, PHASE3_REFS[0]) == first.rows_written and count(raw_wh, PHASE3_REFS[1]) == 0
    # Retrying the same request finishes the job.
    assert run_phase3(raw_wh, START, START).status == "success" and count(raw_wh, PHASE3_REFS[1]) > 0


def _try_open(path: str, answer) -> None:
    try:
        duckdb.connect(path).close()
        answer.put("opened")
    except duckdb.Error as exc:
        answer.put("locked" if "lock" in str(exc).lower() else f"failed: {exc}")


class TriesToOpenAfterFirstCommit(LocalWarehouse):
    """The sandbox's warehouse, which another process tries to open the moment the first processor has committed."""

    def query_arrow(self, sql, params=None):
        table = super().query_arrow(sql, params)
        if "MERGE" in sql and not hasattr(self, "answer"):
            ctx = multiprocessing.get_context("spawn")
            self.answer = ctx.Queue()
            proc = ctx.Process(target=_try_open, args=(str(self.path), self.answer), daemon=True)
            proc.start()
            proc.join(60)
        return table


def test_a_run_holds_the_sandbox_warehouse_from_its_first_write_to_its_last(raw_wh):
    """One opening of the file for the whole run (each opening costs an ATTACH, and after a write a checkpoint):
    another process cannot open it between two processors' commits, and can once the run has ended."""
    wh = TriesToOpenAfterFirstCommit(raw_wh.path)
    run = run_phase3(wh, START, START)
    assert [p.status for p in run.processors] == ["success", "success"]
    assert wh.answer.get(timeout=10) == "locked"
    answer = multiprocessing.get_context("spawn").Queue()
    _try_open(str(raw_wh.path), answer)
    assert answer.get(timeout=10) == "opened"


def test_a_lock_before_the_run_commits_nothing(raw_wh, lock_holder):
    release = lock_holder(raw_wh.path)
    with pytest.raises(RunBusy) as err:
        run_phase3(LocalWarehouse(raw_wh.path, lock_retry_seconds=0.3), START, START)
    assert str(err.value).startswith("The phase3 run stopped after 0 of 2 processors had committed")
    assert [p.status for p in err.value.run.processors] == ["busy", "busy"]
    release.set()
    assert len(history(raw_wh)) == 0 and all(count(raw_wh, ref) == 0 for ref in PHASE3_REFS)
