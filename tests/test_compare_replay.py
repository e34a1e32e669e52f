"""compare_replay on the sandbox: a prefixed replay of the head commit's code differs from production
in exactly the columns and dates its corrections document (runbook_lib/local/corrections.py), and in
nothing else; a replay of the code production ran matches it everywhere. Plus the runbook notebook
end to end, the blocked and bad-input paths, and target=local on a bare DuckDB file."""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from fakes.bigquery import FakeBigQuery
from runbook_lib import compare, runner
from runbook_lib.compare import compare_replay
from runbook_lib.errors import NotFoundError, ParameterError, RunbookError
from runbook_lib.local.corrections import CORRECTIONS, sql_before_corrections
from runbook_lib.local.pipeline import CodeVersion, processor_sql, run_phase3, run_phase4
from runbook_lib.local.sandbox import stop_sandbox
from runbook_lib.local.source_repo import CORRECTIONS_ROLE, contains, open_source_repo
from runbook_lib.local.state import read_state
from runbook_lib.local.home import sandbox_home
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.replay import WarehouseLedger
from runbook_lib.target import connect

from test_compare import Metered

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "04_compare_outputs.ipynb"
HEAD_CODE = CodeVersion("head", supports_prefix=True, corrected=True)
OLD_CODE = CodeVersion("before", supports_prefix=True, corrected=False)   # production's computation, prefix-aware
CORRECTED = {c.processor: set(c.columns) for c in CORRECTIONS}


def replay(warehouse, prefix: str, first: date, last: date, code: CodeVersion, phases=("phase3", "phase4")) -> None:
    """What runbook 03 does through the services, run on the sandbox pipeline directly."""
    if "phase3" in phases:
        assert run_phase3(warehouse, first, last, dataset_prefix=prefix, code=code).status == "success"
    if "phase4" in phases:
        for offset in range((last - first).days + 1):
            assert run_phase4(warehouse, first + timedelta(days=offset), dataset_prefix=prefix, code=code).status == "success"


@pytest.fixture(scope="module")
def replayed(seeded_sandbox):
    """A private sandbox (four game dates) with a head-code replay under prefix "test"."""
    root = seeded_sandbox(0.3, "compare-sandbox")
    tg = connect("local", home=root)
    first, last = (date.fromisoformat(d) for d in read_state(sandbox_home(root))["dates"])
    replay(tg.warehouse, "test", first, last, HEAD_CODE)
    yield root, tg, first, last
    tg.close()
    stop_sandbox(root)


def _pushes(tg) -> pd.DataFrame:
    """Production rows graded OVER although the points sit exactly on the line (read independently)."""
    return tg.warehouse.query("SELECT game_date, player_lookup FROM `nba_analytics.player_game_summary` "
                              "WHERE points = points_line ORDER BY game_date, player_lookup")


def _partly_played_dates(tg, first: date, last: date) -> list[date]:
    """Dates on which some teams, but not all 30, have played a game before (from production)."""
    games = tg.warehouse.query("SELECT game_date, team_abbr FROM `nba_analytics.team_offense_game_summary`")
    games["game_date"] = pd.to_datetime(games["game_date"]).dt.date
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if 0 < games.loc[games["game_date"] < d, "team_abbr"].nunique() < 30]


def test_head_replay_differs_in_exactly_the_corrected_columns_and_dates(replayed):
    _, tg, first, last = replayed
    result = compare_replay(tg, "test", abs_tol=1e-9)
    by_table = {d.prod_table: d for d in result.diffs}
    assert sorted(by_table) == sorted(t.ref for t in tg.phases.all_tables())
    pushes = _pushes(tg)
    summary = by_table["nba_analytics.player_game_summary"]
    assert summary.differing_columns() == ["over_under_result"]
    assert summary.changed_rows == len(pushes) > 0
    assert summary.mismatch_dates() == sorted(set(pd.to_datetime(pushes["game_date"]).dt.date))
    assert set(summary.sample["prod_value"]) == {"OVER"} and set(summary.sample["test_value"]) == {"PUSH"}
    factors = by_table["nba_precompute.player_composite_factors"]
    assert set(factors.differing_columns()) == CORRECTED["player_composite_factors"]
    assert factors.mismatch_dates() == _partly_played_dates(tg, first, last) == [date(2025, 12, 16), date(2025, 12, 17)]
    for ref, diff in by_table.items():
        assert (diff.only_in_prod, diff.only_in_test, diff.duplicate_keys_prod, diff.duplicate_keys_test) == (0, 0, 0, 0)
        assert not diff.schema
        if ref.split(".")[1] not in CORRECTED:
            assert diff.verdict == "pass" and diff.changed_rows == 0, diff.summary
    assert result.verdict == "fail" and (result.start_date, result.end_date) == (first, last)
    assert result.figures["tables differing"] == 2
    assert "player_composite_factors" in result.summary and "over_under_result" in result.summary
    table = result.verdict_table()
    assert len(table.columns) <= 10 and list(table.index) == list(by_table)   # fits a screen, one row per table
    assert table.loc["nba_precompute.player_composite_factors", "columns differing"] == len(CORRECTED["player_composite_factors"])
    assert table.loc["nba_analytics.player_game_summary", "changed rows"] == len(pushes)
    assert set(table["verdict"]) == {"FAIL", "PASS"}
    columns = result.column_table()
    assert sorted(columns["column"]) == sorted({"over_under_result"} | CORRECTED["player_composite_factors"])
    assert set(columns.index) == {"nba_analytics.player_game_summary", "nba_precompute.player_composite_factors"}
    by_column = columns.set_index("column")["max |delta|"]   # a text column has no difference to measure
    assert by_column["over_under_result"] == "-"
    assert all(isinstance(by_column[c], float) and by_column[c] > 0 for c in CORRECTED["player_composite_factors"])


def test_a_replay_of_the_code_production_ran_matches_production_everywhere(replayed):
    root, tg, first, last = replayed
    replay(tg.warehouse, "old", first, last, OLD_CODE)
    result = compare_replay(tg, "old")   # no tolerance at all
    assert result.verdict == "pass", result.summary
    assert all(d.changed_rows == 0 and d.rows_prod == d.rows_test > 0 for d in result.diffs)
    assert result.summary.startswith("All 6 replayed tables match production for ")


def test_production_history_names_the_commit_before_the_corrections(replayed):
    root, tg, _, _ = replayed
    repo = open_source_repo(sandbox_home(root).source)
    shas = set(tg.warehouse.query("SELECT DISTINCT commit_sha FROM `nba_reference.processor_run_history` "
                                  "WHERE dataset_prefix = ''")["commit_sha"])
    assert shas == {repo.commits["before_prefix"]}
    assert contains(repo, CORRECTIONS_ROLE, repo.commits["head"])
    assert not contains(repo, CORRECTIONS_ROLE, repo.commits["prefix_support"])
    assert not contains(repo, CORRECTIONS_ROLE, repo.commits["before_prefix"])
    tree = {p: (repo.path / p).read_text() for p in ("README.md",)}
    assert "## Output changes in this commit" in tree["README.md"]


def test_each_correction_is_one_piece_of_the_head_sql():
    for correction in CORRECTIONS:
        head = processor_sql(correction.processor)
        assert head.count(correction.head) == 1
        assert processor_sql(correction.processor, OLD_CODE) == head.replace(correction.head, correction.before)
    with pytest.raises(Exception, match="no longer holds the corrected piece"):
        sql_before_corrections("player_game_summary", "SELECT 1")


def test_dates_default_to_what_the_test_tables_hold_and_partial_replays_compare_what_exists(replayed):
    _, tg, first, _ = replayed
    day = first + timedelta(days=1)
    replay(tg.warehouse, "part", day, day, HEAD_CODE, phases=("phase3",))
    result = compare_replay(tg, "part")
    assert (result.start_date, result.end_date) == (day, day)
    assert [d.prod_table for d in result.diffs] == ["nba_analytics.player_game_summary",
                                                    "nba_analytics.team_offense_game_summary"]
    assert all(d.only_in_prod == 0 and set(d.partitions["partition_value"]) == {day} for d in result.diffs)
    tg.warehouse.execute("DROP TABLE `part_nba_analytics.team_offense_game_summary`")
    again = compare_replay(tg, "part")
    # (phase3 wrote player_game_summary: a table of it missing is a warning, never "not replayed")
    assert again.missing == ["nba_analytics.team_offense_game_summary"] and len(again.diffs) == 1
    assert again.not_replayed == [] and again.verdict in ("warn", "fail")
    assert ("Missing from the replay (their phase wrote its other tables): nba_analytics.team_offense_game_summary."
            in again.summary)


def test_no_test_datasets_is_blocked_not_a_crash(replayed):
    _, tg, _, _ = replayed
    result = compare_replay(tg, "nothing")
    assert result.verdict == "blocked" and result.diffs == []
    assert result.summary == ("No test datasets: nothing named nothing_nba_analytics, nothing_nba_precompute holds a "
                              "replayed table; run runbook 03 (prefixed replay) first.")
    assert result.verdict_table().empty and result.sample_table().empty
    for chart in (compare.rows_per_date_chart, compare.mismatch_heatmap, compare.delta_histograms,
                  compare.scatter_test_vs_prod):
        assert chart(result) is not None   # a figure saying there is nothing to chart


HOLD = """
import sys
from runbook_lib.replay import FileLedger
with FileLedger(sys.argv[1]).hold("test"):
    print("held", flush=True)
    sys.stdin.read()
"""
SINCE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def test_a_comparison_while_a_replay_of_the_prefix_is_calling_is_blocked_naming_it(replayed):
    """Its test datasets are half-written meanwhile: what it has not reached yet would read as rows only in
    production. Runbook 03 holds a lock beside its ledger while it calls (here: another process holding it)."""
    root, tg, _, _ = replayed
    ledger = sandbox_home(root).replay / "test.ledger.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ledger)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        result = compare_replay(tg, "test")
    finally:
        holder.communicate("", timeout=60)
    assert result.verdict == "blocked" and result.diffs == [], result.summary
    assert re.fullmatch(rf"A replay with prefix 'test' is running \(host \S+, process {holder.pid}, user .+, since "
                        rf"{SINCE}\); compare once it ends\.", result.summary)
    assert result.details["replay_running"] in result.summary
    # once it ended (the lock file stays, unlocked), the comparison is what it was
    after = compare_replay(tg, "test", tables=["team_offense_game_summary"])
    assert after.verdict == "pass" and [d.test_table for d in after.diffs] == [
        "test_nba_analytics.team_offense_game_summary"]


class MeteredBy(Metered):
    """Dry runs estimate by what a statement reads: `days` for the read of the days a test table holds (its
    partition column alone), `nulls` for the count of NULL partition values, `bytes_each` for the rest."""

    def __init__(self, inner, bytes_each: int, days: int = 10, nulls: int = 10):
        super().__init__(inner, bytes_each)
        self.days, self.nulls = days, nulls

    def estimate_bytes(self, sql, params=None):
        return (self.days if sql.startswith("SELECT DISTINCT") else self.nulls if "IS NULL) AS prod" in sql
                else self.bytes_each)


def test_a_statement_above_max_bytes_billed_blocks_its_table(replayed):
    _, tg, _, _ = replayed
    metered = dataclasses.replace(tg, warehouse=MeteredBy(tg.warehouse, 2_000_000), closers=[])
    result = compare_replay(metered, "test", tables=["team_offense_game_summary"], max_bytes_billed=1_000_000)
    assert result.verdict == "blocked"
    assert "would scan 1.91 MiB, above max_bytes_billed=1000000 (977 KiB)" in result.diffs[0].summary


def test_the_reads_that_choose_what_to_compare_are_held_to_max_bytes_billed_too(replayed):
    # the read of the days the test tables hold and the count of NULL partition values ran unguarded
    _, tg, first, last = replayed
    days = MeteredBy(tg.warehouse, 10, days=2_000_000)
    result = compare_replay(dataclasses.replace(tg, warehouse=days, closers=[]), "test",
                            tables=["team_offense_game_summary"], max_bytes_billed=1_000_000)
    assert result.verdict == "blocked" and result.diffs == [] and days.statements == []
    assert result.summary == ("The read of the days test_nba_analytics.team_offense_game_summary holds would scan "
                              "1.91 MiB, above max_bytes_billed=1000000 (977 KiB); narrow the dates or raise the "
                              "limit.")
    nulls = MeteredBy(tg.warehouse, 10, nulls=2_000_000)
    result = compare_replay(dataclasses.replace(tg, warehouse=nulls, closers=[]), "test",
                            tables=["team_offense_game_summary"], start_date=last, end_date=last,
                            max_bytes_billed=1_000_000)
    assert result.verdict == "pass" and not any("IS NULL) AS prod" in q for q in nulls.statements)
    assert result.notes == ["nba_analytics.team_offense_game_summary: rows with a NULL game_date were left out and "
                            "not counted: The count of nba_analytics.team_offense_game_summary's rows with a NULL "
                            "game_date would scan 1.91 MiB, above max_bytes_billed=1000000 (977 KiB); narrow the "
                            "dates or raise the limit."]
    unread = MeteredBy(tg.warehouse, 10)
    with pytest.raises(ParameterError) as err:
        compare_replay(dataclasses.replace(tg, warehouse=unread, closers=[]), "test", max_bytes_billed=0)
    assert err.value.parameter == "max_bytes_billed" and unread.statements == []   # refused before any read


@pytest.mark.parametrize("kwargs, parameter", [
    ({"dataset_prefix": ""}, "dataset_prefix"),
    ({"dataset_prefix": "test_"}, "dataset_prefix"),
    ({"dataset_prefix": "nba"}, "dataset_prefix"),
    ({"dataset_prefix": "Test"}, "dataset_prefix"),
    ({"start_date": "2025-12-18", "end_date": "2025-12-15"}, "start_date"),
    ({"start_date": "15/12/2025"}, "start_date"),
    ({"tables": ["nba_analytics.nope"]}, "tables"),
    ({"tables": "player_game_summary"}, "tables"),
    ({"dataset_prefix": "nothing", "tables": ["player_game_summary"]}, "tables"),
    ({"abs_tol": -1.0}, "abs_tol"),
    # dates no replayed table holds a row of (the replay wrote nothing there to compare)
    ({"start_date": "2020-01-01", "end_date": "2020-01-02"}, "end_date"),
    ({"end_date": "2020-01-02"}, "end_date"),
    ({"start_date": "2030-01-01"}, "start_date"),
    ({"exclude": ["no_such_column"]}, "exclude"), ({"exclude": [5]}, "exclude"),
])
def test_bad_input_names_the_parameter(replayed, kwargs, parameter):
    _, tg, _, _ = replayed
    args = {"dataset_prefix": "test", **kwargs}
    with pytest.raises(ParameterError) as err:
        compare_replay(tg, **args)
    assert err.value.parameter == parameter


def test_a_bare_duckdb_file_compares_without_a_sandbox(replayed, tmp_path):
    root, _, _, _ = replayed
    copy = tmp_path / "brought.duckdb"
    shutil.copy(sandbox_home(root).warehouse, copy)
    tg = connect("local", home=tmp_path / "no-sandbox", warehouse_path=copy)
    assert "no sandbox" in tg.describe()
    result = compare_replay(tg, "test", tables=["player_composite_factors"], abs_tol=1e-9)
    assert result.diffs[0].mismatch_dates() == [date(2025, 12, 16), date(2025, 12, 17)]
    for call in (lambda: tg.services.describe("phase4"), lambda: tg.builds.get("x"), lambda: tg.logs.request_logs()):
        with pytest.raises(NotFoundError, match=f"There is no sandbox at {tmp_path / 'no-sandbox'}"):
            call()
    with pytest.raises(ParameterError, match="warehouse_path="):
        connect("local", home=tmp_path / "no-sandbox", warehouse_path=tmp_path / "missing.duckdb")
    tg.close()


def test_planted_schema_changes_and_a_missing_production_table_are_findings_table_by_table(replayed, tmp_path):
    """A replay's tables whose schema changed, or whose production table is gone, are that table's
    finding (the keys and partition columns come from phases.yaml, not from the operator), and the
    other tables are still compared."""
    root, _, first, last = replayed
    copy = tmp_path / "planted.duckdb"
    shutil.copy(sandbox_home(root).warehouse, copy)
    tg = connect("local", home=tmp_path / "no-sandbox", warehouse_path=copy)
    replay(tg.warehouse, "plant", first, last, OLD_CODE, phases=("phase3",))   # production's code: equal
    tg.warehouse.execute("ALTER TABLE `plant_nba_analytics.player_game_summary` DROP COLUMN points;"
                         "ALTER TABLE `plant_nba_analytics.team_offense_game_summary` DROP COLUMN team_abbr")
    result = compare_replay(tg, "plant")
    summary, offense = result.diffs
    assert (summary.verdict, summary.schema.missing, summary.changed_rows) == ("fail", ["points"], 0)
    assert summary.rows_prod == summary.rows_test > 0   # compared all the same
    assert offense.verdict == "fail" and offense.schema.missing == ["team_abbr"]
    assert offense.summary == ("plant_nba_analytics.team_offense_game_summary cannot be compared with "
                               "nba_analytics.team_offense_game_summary: test lacks key column team_abbr.")
    assert result.figures["schema differences"] == 2 and summary.figures["schema differences"] == 1
    columns = result.column_table().set_index("column", append=True)   # keyed by table: (table, column)
    assert columns.loc[("nba_analytics.player_game_summary", "points"), "schema"] == "missing in test"
    assert columns.loc[("nba_analytics.team_offense_game_summary", "team_abbr"), "schema"] == "missing in test"
    tg.warehouse.execute("DROP TABLE `nba_analytics.player_game_summary`")
    gone = compare_replay(tg, "plant").diffs[0]
    assert gone.verdict == "blocked" and gone.summary == (
        "Production table nba_analytics.player_game_summary does not exist: nothing to compare "
        "plant_nba_analytics.player_game_summary with.")
    tg.close()


def test_charts_of_a_wide_table_fit_a_page_and_numeric_columns_are_plotted():
    """A table where 80 columns differ: the heatmap shows the 30 that differ most and says how many more;
    a NUMERIC column's sample (Decimal values) is plotted like any number."""
    from decimal import Decimal

    from runbook_lib.compare import ReplayComparison, TableDiff

    wide = TableDiff(name="compare t", verdict="fail", summary="-", prod_table="d.wide", test_table="t_d.wide",
                     keys=("k",), matched_rows=100, column_mismatches={f"c{i:02d}": i + 1 for i in range(80)},
                     max_abs_delta={"c79": 0.5},
                     sample=pd.DataFrame({"k": [1, 2], "column": ["c79", "c79"], "prod_value": [Decimal("1.5"), Decimal("2")],
                                          "test_value": [Decimal("2"), Decimal("2.5")], "abs_delta": [0.5, 0.5]}))
    result = ReplayComparison(name="compare_outputs", verdict="fail", summary="-", diffs=[wide])
    heatmap = compare.mismatch_heatmap(result)
    assert heatmap.get_size_inches()[0] <= 30
    assert list(compare.mismatch_rates(result, 30).columns) == [f"c{i}" for i in range(50, 80)]
    assert "30 columns with the highest rate; 50 more differ" in heatmap.axes[0].get_title()
    scatter = compare.scatter_test_vs_prod(result)
    assert "2 mismatched rows" in scatter.axes[0].get_legend().get_texts()[0].get_text()


def test_the_sample_table_shows_differences_a_page_would_hide():
    """Trailing or doubled spaces, and an é made of e + U+0301 beside the precomposed one, look the same on
    a page: the sample table quotes text and shows them (the TableDiff's sample keeps the values)."""
    from runbook_lib.compare import ReplayComparison, TableDiff

    sample = pd.DataFrame({"k": [1, 2, 3, 4], "column": ["s"] * 4, "prod_value": ["DET", "a b", "Dončić", 7],
                           "test_value": ["DET ", "a  b", "Donc\u030cic\u0301", None], "abs_delta": [None] * 4},
                          dtype=object)
    diff = TableDiff(name="compare t", verdict="fail", summary="-", prod_table="d.t", test_table="t_d.t", keys=("k",),
                     sample=sample)
    shown = ReplayComparison(name="compare_outputs", verdict="fail", summary="-", diffs=[diff]).sample_table()
    assert shown[["prod_value", "test_value"]].values.tolist() == [
        ['"DET"', '"DET\u2423"'], ['"a b"', '"a\u2423\u2423b"'], ['"Dončić"', '"Donc\\u030cic\\u0301"'], [7, None]]
    assert diff.sample["test_value"].tolist()[0] == "DET "


def test_gcp_without_credentials_is_one_sentence(monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("RUNBOOK_GCP_ENDPOINTS", raising=False)
    tg = connect("gcp", project="my-project")
    with pytest.raises(RunbookError, match="gcloud auth application-default login"):
        compare_replay(tg, "test")


# ---------------------------------------------------------------- the runbook


@pytest.mark.slow
def test_the_notebook_finds_the_corrections_after_a_replay(replayed, tmp_path):
    root, _, _, _ = replayed
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(root)]], outdir=tmp_path, progress=False)
    assert outcome.outcome == "completed", outcome.message
    meta = nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]
    assert (meta["verdict"], outcome.exit_code) == ("fail", 3)
    assert meta["figures"]["tables differing"] == 2 and meta["figures"]["rows only in production"] == 0
    tables = {t["details"]["prod_table"]: t["details"] for t in meta["details"]["tables"]}
    assert tables["nba_precompute.player_composite_factors"]["mismatch_dates"]["matchup_factor"] == \
        ["2025-12-16", "2025-12-17"]
    assert set(tables["nba_analytics.player_game_summary"]["mismatch_dates"]) == {"over_under_result"}
    figures = sorted(p.name for p in (outcome.notebook.parent / "figures").glob("*.png"))
    assert figures == ["delta_histograms.png", "mismatch_heatmap.png", "rows_per_date.png", "test_vs_production.png"]


@pytest.mark.slow
@pytest.mark.parametrize("name, value, sentence", [
    ("dataset_prefix", "test_", "upstream adds the underscore itself"),
    ("end_date", "2025-12-01", "start_date='2025-12-15' is not valid: must be on or before end_date 2025-12-01"),
    ("abs_tol", "-1", "abs_tol=-1"),
])
def test_the_notebook_refuses_bad_input_with_exit_2(replayed, tmp_path, name, value, sentence):
    root, _, _, _ = replayed
    parameters = [["sandbox_home", str(root)], ["start_date", "2025-12-15"], [name, value]]
    outcome = runner.run_notebook(NOTEBOOK, parameters=parameters, outdir=tmp_path, progress=False)
    assert outcome.exit_code == 2 and sentence in outcome.message


@pytest.mark.slow
def test_a_phase_service_computes_as_its_commit_does(make_sandbox):
    """Through the services, as runbook 03 replays: a revision of the head commit computes the
    corrections, a revision of the commit before them computes what production holds."""
    root = make_sandbox(scale=0.3)
    tg = connect("local", home=root)
    commits = read_state(sandbox_home(root))["source"]["commits"]
    token = tg.services.identity_token()
    day = {"analysis_date": "2025-12-16"}
    for commit, prefix in ((commits["head"], "head"), (commits["prefix_support"], "before")):
        tg.services.deploy_revision("phase4", commit, f"img@sha256:{commit[:8] * 8}", supports_prefix=True)
        response = tg.services.invoke("phase4", {**day, "dataset_prefix": prefix}, token=token)
        assert response.status == 200, response.body
    head = compare_replay(tg, "head", tables=["player_composite_factors"], abs_tol=1e-9)
    before = compare_replay(tg, "before", tables=["player_composite_factors"])
    assert head.diffs[0].mismatch_dates() == [date(2025, 12, 16)] and head.diffs[0].changed_rows > 0
    assert before.verdict == "pass", before.summary
    tg.close()


def test_exclude_takes_each_column_out_of_the_tables_that_have_it(replayed):
    # `points_line` is a column of player_game_summary only: the other tables are compared whole, not refused
    _, tg, _, _ = replayed
    result = compare_replay(tg, "test", tables=["player_game_summary", "team_offense_game_summary"],
                            exclude=["POINTS_LINE"], abs_tol=1e-9)
    by_table = {d.prod_table: d for d in result.diffs}
    assert by_table["nba_analytics.player_game_summary"].excluded == ["points_line"]
    assert by_table["nba_analytics.team_offense_game_summary"].excluded == []
    assert "points_line" not in by_table["nba_analytics.player_game_summary"].compared_columns


# ---------------------------------------------------------------- planted tables, on both targets

PROJECT = "my-project"


@pytest.fixture
def planted(tmp_path):
    """A bare warehouse file and a phases.yaml whose phase3 also writes the planted tables below; yields a
    function running `check(target)` on the sandbox, then on the gcp adapter against the BigQuery fake."""
    doc = yaml.safe_load((ROOT / "params" / "phases.yaml").read_text())
    doc["phases"]["phase3"]["tables"].update({
        "nba_analytics.shot_events": {"keys": ["event_ts", "event_id"], "partition_column": "event_ts"},
        "nba_analytics.shot_events_dt": {"keys": ["event_dt", "event_id"], "partition_column": "event_dt"},
        "nba_analytics.daily_events": {"keys": ["event_date", "event_id"], "partition_column": "event_date"},
        "nba_analytics.range_events": {"keys": ["bucket", "event_id"], "partition_column": "bucket"}})
    phases_file = tmp_path / "phases.yaml"
    phases_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    wh = LocalWarehouse(tmp_path / "planted.duckdb", project=PROJECT)
    for dataset in ("nba_analytics", "plant_nba_analytics"):
        wh.create_dataset(dataset)

    def on_both_targets(check) -> None:
        local = connect("local", home=tmp_path / "no-sandbox", warehouse_path=wh.path, phases_file=phases_file)
        try:
            check(local)
        finally:
            local.close()
        with FakeBigQuery(wh, project=PROJECT) as fake:
            gcp = connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}, anonymous=True,
                          phases_file=phases_file)
            try:
                check(gcp)
            finally:
                gcp.close()

    yield wh, on_both_targets


def _plant(wh, table: str, column: str, kind: str, first: str) -> None:
    """Production: 4 days of hourly events from `first` (a `kind` literal), partitioned by their day; test: a copy."""
    wh.execute(f"CREATE OR REPLACE TABLE nba_analytics.{table} (event_id INT64, {column} {kind}, points INT64) "
               f"PARTITION BY {column if kind == 'DATE' else f'DATE({column})'}")
    value = f"DATE_ADD({first}, INTERVAL DIV(n, 24) DAY)" if kind == "DATE" else f"{kind}_ADD({first}, INTERVAL n HOUR)"
    wh.execute(f"INSERT INTO nba_analytics.{table} SELECT n, {value}, MOD(n, 3) FROM UNNEST(GENERATE_ARRAY(0, 95)) AS n")
    wh.execute(f"CREATE OR REPLACE TABLE plant_nba_analytics.{table} LIKE nba_analytics.{table}")
    wh.execute(f"INSERT INTO plant_nba_analytics.{table} SELECT * FROM nba_analytics.{table}")


def test_a_timestamp_or_datetime_partition_column_is_compared_over_whole_days(planted):
    # `col BETWEEN @start_date AND @end_date` kept only midnight of the last day (and on BigQuery a TIMESTAMP
    # cannot be compared with a DATE): the last day's missing and changed rows went unseen
    wh, on_both_targets = planted
    _plant(wh, "shot_events", "event_ts", "TIMESTAMP", "TIMESTAMP '2025-12-15 00:00:00+00'")
    _plant(wh, "shot_events_dt", "event_dt", "DATETIME", "DATETIME '2025-12-15 00:00:00'")
    for table in ("shot_events", "shot_events_dt"):   # on the last day, 18:00 missing and 23:00 changed
        wh.execute(f"DELETE FROM plant_nba_analytics.{table} WHERE event_id = 90")
        wh.execute(f"UPDATE plant_nba_analytics.{table} SET points = points + 5 WHERE event_id = 95")

    def check(tg):
        for dates in ({}, {"start_date": "2025-12-18", "end_date": "2025-12-18"}):
            result = compare_replay(tg, "plant", tables=["shot_events", "shot_events_dt"], **dates)
            for d in result.diffs:
                assert (d.rows_prod, d.only_in_prod, d.changed_rows) == (96 if not dates else 24, 1, 1), d.summary
                assert d.partitions["rows_prod"].tolist()[-1] == 24 and d.verdict == "fail"
            assert (result.start_date, result.end_date) == (date(2025, 12, 18) if dates else date(2025, 12, 15),
                                                            date(2025, 12, 18))
    on_both_targets(check)


def test_rows_with_a_null_partition_value_are_compared_or_said_to_be_left_out(planted):
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")
    wh.execute("INSERT INTO plant_nba_analytics.daily_events VALUES (500, NULL, 1)")     # new, in __NULL__
    wh.execute("UPDATE plant_nba_analytics.daily_events SET event_date = NULL WHERE event_id = 30")   # moved there

    def check(tg):
        whole = compare_replay(tg, "plant", tables=["daily_events"]).diffs[0]
        # the partition column is a key: the moved row is another key, on each side once
        assert (whole.only_in_prod, whole.only_in_test, whole.rows_test, whole.verdict) == (1, 2, 97, "fail")
        assert whole.partitions["partition_value"].isna().sum() == 1
        ranged = compare_replay(tg, "plant", tables=["daily_events"], start_date="2025-12-16", end_date="2025-12-18")
        assert ranged.notes == ["nba_analytics.daily_events: rows with a NULL event_date were left out (0 in "
                                "production, 2 in test); compare without dates to include them"]
        assert ranged.notes[0] in ranged.summary
    on_both_targets(check)


def test_a_table_partitioned_by_no_date_is_said_not_compared(planted):
    # an integer-range partition column was filtered with DATE parameters (BigQuery refuses INT64 BETWEEN DATE)
    # and its values read as the days the replay wrote
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")
    wh.execute("CREATE OR REPLACE TABLE nba_analytics.range_events (event_id INT64, bucket INT64) "
               "PARTITION BY RANGE_BUCKET(bucket, GENERATE_ARRAY(0, 100, 10))")
    wh.execute("INSERT INTO nba_analytics.range_events SELECT n, n FROM UNNEST(GENERATE_ARRAY(0, 50)) AS n")
    wh.execute("CREATE OR REPLACE TABLE plant_nba_analytics.range_events LIKE nba_analytics.range_events")
    wh.execute("INSERT INTO plant_nba_analytics.range_events SELECT * FROM nba_analytics.range_events")
    said = ("not compared, as its partition column bucket is INT64 and runbook 04 compares a replay by the dates it "
            "wrote (a DATE, TIMESTAMP or DATETIME column, as phases.yaml's partition_column must be)")

    def check(tg):
        both = compare_replay(tg, "plant", tables=["daily_events", "range_events"])
        daily, ranged = both.diffs
        assert daily.verdict == "pass" and daily.rows_prod == 96
        assert (ranged.verdict, ranged.compared) == ("blocked", False)
        assert ranged.summary == f"plant_nba_analytics.range_events vs nba_analytics.range_events: {said}."
        assert both.verdict == "blocked" and (both.start_date, both.end_date) == (date(2025, 12, 15),
                                                                                  date(2025, 12, 18))
        alone = compare_replay(tg, "plant", tables=["range_events"])
        assert alone.verdict == "blocked" and alone.summary == ("1 of 1 replayed tables differ from production: "
                                                        f"nba_analytics.range_events: {said}.")
    on_both_targets(check)


def test_a_date_no_replayed_table_holds_is_refused_naming_it(planted):
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")
    wh.execute("DELETE FROM plant_nba_analytics.daily_events WHERE event_date = DATE '2025-12-17'")

    def check(tg):
        with pytest.raises(ParameterError, match=r"holds a row for 2025-12-17 \(within 2025-12-17\.\.2025-12-17\)") as err:
            compare_replay(tg, "plant", tables=["daily_events"], start_date="2025-12-17", end_date="2025-12-17")
        assert err.value.parameter == "start_date"
        with pytest.raises(ParameterError, match=r"holds a row for 2025-12-17 \(within 2025-12-15\.\.2025-12-18\)") as err:
            compare_replay(tg, "plant", tables=["daily_events"])
        assert err.value.parameter == "dataset_prefix"
        assert compare_replay(tg, "plant", tables=["daily_events"], end_date="2025-12-16").verdict == "pass"
    on_both_targets(check)


def test_exclude_leaves_a_column_where_it_is_a_key_and_refuses_only_a_key_of_every_table_having_it(planted):
    # team_abbr is a plain column of player_game_summary and a key of team_offense_game_summary (phases.yaml): an
    # operator whose change moves players between teams leaves it out of the first. It was refused for the
    # comparison as a whole, the only way round one run per table, which loses the all-tables verdict.
    wh, on_both_targets = planted
    for dataset in ("nba_analytics", "plant_nba_analytics"):
        wh.execute(f"CREATE OR REPLACE TABLE {dataset}.player_game_summary (game_date DATE, player_lookup STRING, "
                   "team_abbr STRING, points INT64) PARTITION BY game_date")
        wh.execute(f"CREATE OR REPLACE TABLE {dataset}.team_offense_game_summary (game_date DATE, team_abbr STRING, "
                   "points INT64) PARTITION BY game_date")
        traded = "'LAL'" if dataset.startswith("plant") else "'BOS'"
        wh.execute(f"INSERT INTO {dataset}.player_game_summary VALUES (DATE '2025-12-15', 'a', 'BOS', 10), "
                   f"(DATE '2025-12-15', 'b', {traded}, 12)")
        wh.execute(f"INSERT INTO {dataset}.team_offense_game_summary VALUES (DATE '2025-12-15', 'BOS', 22)")
    both = ["player_game_summary", "team_offense_game_summary"]

    def check(tg):
        result = compare_replay(tg, "plant", tables=both, exclude=["Team_Abbr"])
        players, teams = result.diffs
        assert result.verdict == "pass" and (players.excluded, teams.excluded) == (["team_abbr"], [])
        assert players.compared_columns == ["points"] and players.details["excluded"] == ["team_abbr"]
        assert "team_abbr" in teams.keys and teams.details["keys"] == ["game_date", "team_abbr"]
        assert compare_replay(tg, "plant", tables=both).diffs[0].column_mismatches == {"team_abbr": 1, "points": 0}
        for tables, exclude, where in ((["team_offense_game_summary"], "team_abbr", "team_offense_game_summary"),
                                       (both, "GAME_DATE", "player_game_summary, team_offense_game_summary")):
            with pytest.raises(ParameterError) as err:
                compare_replay(tg, "plant", tables=tables, exclude=[exclude])
            assert err.value.parameter == "exclude" and f"it is a key of {where}, and keys are" in str(err.value)
    on_both_targets(check)


class Counted:
    """A warehouse counting its metadata reads (on gcp each is a tables.get) and its queries."""

    def __init__(self, inner):
        self.inner, self.reads, self.queries = inner, [], []

    def table_info(self, ref):
        self.reads.append(ref)
        return self.inner.table_info(ref)

    def table_exists(self, ref):
        self.reads.append(ref)
        return self.inner.table_exists(ref)

    def partitions(self, ref):
        self.reads.append(ref)
        return self.inner.partitions(ref)

    def query(self, sql, params=None):
        self.queries.append(sql)
        return self.inner.query(sql, params)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_each_table_is_read_once_and_the_test_tables_days_in_one_query(planted):
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")

    def check(tg):
        for dates in ({}, {"start_date": "2025-12-16", "end_date": "2025-12-17"}):
            counted = Counted(tg.warehouse)
            result = compare_replay(dataclasses.replace(tg, warehouse=counted, closers=[]), "plant",
                                    tables=["daily_events"], **dates)
            assert result.verdict == "pass", result.summary
            # (and whether a replay of the prefix holds a claim: none here, so no claims table and no query)
            assert sorted(counted.reads) == ["nba_analytics.daily_events", "plant_nba_analytics.daily_events",
                                             "plant_nba_analytics.replay_claims"]
            # (the comparison and the NULL count read both tables: the days are the test table's alone)
            days = [q for q in counted.queries if "`nba_analytics.daily_events`" not in q]
            assert len(days) == 1 and "plant_nba_analytics.daily_events" in days[0]
    on_both_targets(check)


class Recorded:
    """A warehouse recording every call made of it (each read or query on gcp a request, or a billed job)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        found = getattr(self.inner, name)
        if not callable(found):
            return found

        def call(*args, **kwargs):
            self.calls.append(name)
            return found(*args, **kwargs)
        return call


@pytest.mark.parametrize("bad", [{"abs_tol": -1}, {"rel_tol": "0.1"}, {"abs_tol": float("nan")}])
def test_a_bad_tolerance_is_refused_before_any_table_is_read_or_query_run(planted, bad):
    # compare_replay left the tolerances to compare_tables: refused only after the replay's claim, every table's
    # metadata and one query per table of the days it holds (each billed at least 10 MB on BigQuery)
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")
    name = next(iter(bad))

    def check(tg):
        recorded = Recorded(tg.warehouse)
        with pytest.raises(ParameterError) as err:
            compare_replay(dataclasses.replace(tg, warehouse=recorded, closers=[]), "plant", **bad)
        assert err.value.parameter == name and str(err.value).endswith("is not valid: give a number of 0 or more.")
        with pytest.raises(ParameterError) as err:
            compare.compare_tables(recorded, "nba_analytics.daily_events", "plant_nba_analytics.daily_events",
                                   ["event_date", "event_id"], **bad)
        assert err.value.parameter == name and recorded.calls == []
    on_both_targets(check)


@pytest.mark.parametrize("unit", ["MONTH", "YEAR"])
def test_a_month_or_year_partitioned_table_names_the_day_that_differs_everywhere(planted, unit):
    """Runbook 04 says which columns differ on which dates: a MONTH or YEAR partition named by its first day
    (DATE_TRUNC) put a difference on 2025-02-02 "on 2025-02-01", a day that matched, or "on 2025-01-01", outside
    the dates compared. Those tables are counted by the partition column's day (BigQuery's partition ids, 202502
    or 2025, name no day to look at, and the day costs the statements nothing more): the summary, the tables'
    "dates differing" and "dates", the rows chart and the record all name 2025-02-02 alone."""
    wh, on_both_targets = planted
    for dataset, last in (("nba_analytics", 3), ("plant_nba_analytics", 0)):   # only 2025-02-02's row differs
        wh.execute(f"CREATE OR REPLACE TABLE {dataset}.daily_events (event_id INT64, event_date DATE, points INT64) "
                   f"PARTITION BY DATE_TRUNC(event_date, {unit})")
        wh.execute(f"INSERT INTO {dataset}.daily_events VALUES (1, DATE '2025-01-31', 1), (2, DATE '2025-02-01', 2), "
                   f"(3, DATE '2025-02-02', {last})")

    def check(tg):
        result = compare_replay(tg, "plant", tables=["daily_events"])
        diff = result.diffs[0]
        assert (result.start_date, result.end_date) == (date(2025, 1, 31), date(2025, 2, 2))
        assert diff.summary.endswith("1 of 3 matched rows differ (33.33%) in points on 2025-02-02.")
        assert result.verdict_table()["dates differing"].tolist() == ["2025-02-02"]
        assert result.column_table()["dates"].tolist() == ["2025-02-02"]
        assert result.to_dict()["details"]["tables"][0]["details"]["mismatch_dates"] == {"points": ["2025-02-02"]}
        ax = compare.rows_per_date_chart(result).axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["01-31", "02-01", "02-02"]
        assert [t.get_text() for t in ax.texts] == ["1 differ"] and ax.texts[0].xy[0] == 2
        for start, end in (("2025-02-01", "2025-02-01"), ("2025-02-02", "2025-02-02")):
            ranged = compare_replay(tg, "plant", tables=["daily_events"], start_date=start, end_date=end).diffs[0]
            assert ranged.mismatch_dates() == ([date(2025, 2, 2)] if start.endswith("02") else []), ranged.summary
    on_both_targets(check)


def test_a_table_missing_from_a_phase_the_replay_ran_is_a_warning(planted):
    # phase3's test dataset holds its other tables: one missing is no "not replayed" (the replay may have
    # failed there), while phase4, whose test dataset holds none of its tables, was not replayed
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")
    wh.create_dataset("plant_nba_precompute")
    wh.execute("CREATE TABLE plant_nba_precompute.scratch AS SELECT 1 AS x")   # (an empty dataset is not listed)

    def check(tg):
        result = compare_replay(tg, "plant")
        assert [d.prod_table for d in result.diffs] == ["nba_analytics.daily_events"]
        assert result.diffs[0].verdict == "pass" and result.verdict == "warn"
        assert result.missing == ["nba_analytics.player_game_summary", "nba_analytics.team_offense_game_summary",
                                  "nba_analytics.shot_events", "nba_analytics.shot_events_dt",
                                  "nba_analytics.range_events"]
        assert result.not_replayed == ["nba_precompute.player_daily_cache", "nba_precompute.player_composite_factors",
                                       "nba_precompute.player_shot_zone_analysis",
                                       "nba_precompute.team_defense_zone_analysis"]
        assert ("Missing from the replay (their phase wrote its other tables): nba_analytics.player_game_summary, "
                in result.summary)
    on_both_targets(check)


def test_a_live_replay_claim_of_the_prefix_blocks_the_comparison_on_both_targets(planted):
    """On gcp a replay holds a claim in replay_claims beside its ledger table while it calls."""
    wh, on_both_targets = planted
    _plant(wh, "daily_events", "event_date", "DATE", "DATE '2025-12-15'")

    def check(tg):
        with WarehouseLedger(tg.warehouse, "plant_nba_analytics.replay_ledger").hold("plant"):
            result = compare_replay(tg, "plant", tables=["daily_events"])
        assert result.verdict == "blocked" and result.diffs == [], result.summary
        assert re.fullmatch(rf"A replay with prefix 'plant' is running \(host \S+, process {os.getpid()}, user .+, "
                            rf"since {SINCE}; claim in plant_nba_analytics.replay_claims\); compare once it ends\.",
                            result.summary)
        # released: compared as before
        assert compare_replay(tg, "plant", tables=["daily_events"]).verdict == "pass"
    on_both_targets(check)


@pytest.mark.parametrize("days, labelled", [(14, 10), (300, 0)])
def test_the_rows_chart_labels_differing_dates_only_while_the_labels_fit(days, labelled):
    """Over a 300-date replay one "N differ" per date printed over its neighbours, a red smear: past
    LABELLED_DATES a panel marks those dates and says in its title how many differ."""
    from runbook_lib.compare.charts import LABELLED_DATES
    from runbook_lib.compare.diff import TableDiff
    from runbook_lib.compare.replay import ReplayComparison

    dates = [date(2025, 1, 1) + timedelta(days=i) for i in range(days)]
    parts = pd.DataFrame({"partition_value": dates, "rows_prod": 100, "rows_test": 100,
                          "changed_rows": [3 if i % 7 < 5 else 0 for i in range(days)], "only_in_prod": 0,
                          "only_in_test": 0})
    diff = TableDiff(name="compare", verdict="fail", summary="-", prod_table="a.t", test_table="test_a.t",
                     keys=("d",), partition_column="d", partitions=parts)
    result = ReplayComparison(name="compare_outputs", verdict="fail", summary="-", dataset_prefix="test",
                              start_date=dates[0], end_date=dates[-1], diffs=[diff])
    ax = compare.rows_per_date_chart(result).axes[0]
    differing = sum(1 for i in range(days) if i % 7 < 5)
    assert len(ax.texts) == labelled and (days <= LABELLED_DATES) == (labelled == differing)
    marks = [line for line in ax.get_lines() if line.get_marker() == "v"]
    if days > LABELLED_DATES:
        assert len(marks) == 1 and len(marks[0].get_xdata()) == differing
        assert ax.get_title() == f"a.t ({differing} of {days} dates differ, marked \u25bc)"
    else:
        assert not marks and ax.get_title() == "a.t"
