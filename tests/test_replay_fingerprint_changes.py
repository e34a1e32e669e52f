"""Runbook 03's "production untouched" after a hostile probe (/work/probes/fingerprint): a table created in a
production dataset during the replay, a column added, dropped or renamed, a view replaced, and a view's useless
whole-scan checksum; the fingerprint recorded so it can be checked independently (its checksums recomputed here with
pyfarmhash from the rows' JSON). Steps 4 and 6 of the runbook's own Replay over a scratch warehouse."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from types import SimpleNamespace

import farmhash
import pytest

from runbook_lib import params, replay
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import load_phases
from runbook_lib.replay import PartitionPrint, TablePrint, changes
from runbook_lib.replay.fingerprint import plan_checksums

DAY = date(2025, 12, 15)
SUMMARY = "nba_analytics.player_game_summary"


@pytest.fixture
def warehouse(tmp_path):
    w = LocalWarehouse(tmp_path / "w.duckdb", project="scratch-project")
    for dataset in ("nba_raw", "nba_analytics", "nba_precompute", "nba_reference"):
        w.create_dataset(dataset)
    w.execute("""
    CREATE TABLE nba_raw.games (game_date DATE, home STRING) PARTITION BY game_date;
    INSERT INTO nba_raw.games VALUES (DATE '2025-12-15', 'LAL'), (DATE '2025-12-16', 'BOS');
    CREATE TABLE nba_analytics.player_game_summary (game_date DATE, player_lookup STRING, points INT64)
      PARTITION BY game_date;
    INSERT INTO nba_analytics.player_game_summary VALUES (DATE '2025-12-15', 'a', 10), (DATE '2025-12-15', 'b', 20),
      (DATE '2025-12-16', 'c', 30);
    CREATE TABLE nba_precompute.player_daily_cache (cache_date DATE, player_lookup STRING, v FLOAT64)
      PARTITION BY cache_date;
    INSERT INTO nba_precompute.player_daily_cache VALUES (DATE '2025-12-15', 'a', 1.5);
    CREATE TABLE nba_reference.processor_run_history (run_id STRING, started TIMESTAMP);
    """)
    return w


def _replay(warehouse) -> replay.Replay:
    p = params.validate_params(params.ReplayParams, {"target": "gcp", "project": "scratch-project", "production_checksum": True,
                                                      "start_date": "2025-12-15", "end_date": "2025-12-15",
                                                      "dry_run": False})
    target = SimpleNamespace(warehouse=warehouse, phases=load_phases(), services=None, describe=lambda: "scratch")
    return replay.Replay(target, p, [DAY], progress=False)


def _changed(run) -> dict[str, str]:
    return {c.ref: c.what for c in run.checked.changed}


def test_a_table_created_in_a_production_dataset_during_the_replay_fails_it(warehouse):
    run = _replay(warehouse)
    run.fingerprint_before()
    warehouse.execute("CREATE TABLE nba_precompute.player_prop_features (game_date DATE, x INT64) PARTITION BY "
                      "game_date; INSERT INTO nba_precompute.player_prop_features VALUES (DATE '2025-12-15', 1)")
    stopped = run._production_still_untouched("phase4")       # the check after a phase's first call
    assert "nba_precompute.player_prop_features: created, 1 rows" in stopped
    run.isolation()
    assert _changed(run) == {"nba_precompute.player_prop_features": "created, 1 rows"}
    assert run.result().verdict == "fail"


@pytest.mark.parametrize("sql, said", [
    ("ALTER TABLE nba_analytics.player_game_summary ADD COLUMN note STRING", "columns changed: added `note` STRING"),
    ("ALTER TABLE nba_analytics.player_game_summary DROP COLUMN points", "columns changed: dropped `points`"),
    ("ALTER TABLE nba_analytics.player_game_summary RENAME COLUMN points TO pts",
     "columns changed: added `pts` INT64; dropped `points`"),
], ids=["added", "dropped", "renamed"])
def test_a_column_change_to_a_production_table_fails_the_replay_naming_it(warehouse, sql, said):
    run = _replay(warehouse)
    run.fingerprint_before()
    warehouse.execute(sql)
    assert said in run._production_still_untouched("phase3")
    run.isolation()                                            # no engine error from the query written at step 4
    assert _changed(run)[SUMMARY].startswith(said) and run.result().verdict == "fail"


def test_a_view_gets_no_checksum_scan_and_a_replaced_view_is_said_not_raised(warehouse):
    warehouse.execute("CREATE VIEW nba_analytics.v_summary AS SELECT * FROM nba_analytics.player_game_summary")
    planned = plan_checksums(warehouse, [SUMMARY, "nba_analytics.v_summary"], [DAY], True, 10 ** 12)
    assert set(planned.queries) == {SUMMARY}
    assert planned.bytes_per_pass == plan_checksums(warehouse, [SUMMARY], [DAY], True, 10 ** 12).bytes_per_pass
    run = _replay(warehouse)
    run.fingerprint_before()
    assert run.before["nba_analytics.v_summary"].kind == "VIEW"
    warehouse.execute("CREATE OR REPLACE VIEW nba_analytics.v_summary AS SELECT 1 AS x")
    run.isolation()
    assert _changed(run) == {"nba_analytics.v_summary": "columns changed: added `x` INT64; dropped `game_date`, "
                                                        "`player_lookup`, `points`"}


def test_a_checksum_that_cannot_be_taken_is_a_change_not_a_crash(warehouse, monkeypatch):
    run = _replay(warehouse)
    run.fingerprint_before()
    sql, days = run.checksums.queries[SUMMARY]
    run.checksums.queries[SUMMARY] = (sql.replace("`points`", "`no_such_column`"), days)
    run.isolation()
    assert _changed(run)[SUMMARY].startswith("its checksum could not be taken (")


def test_an_untouched_production_passes_and_its_fingerprint_is_recorded_to_be_checked_independently(warehouse):
    run = _replay(warehouse)
    run.fingerprint_before()
    run.isolation()
    assert not run.checked.changed
    recorded = json.loads(json.dumps(run.result().to_dict(), default=str))["details"]["fingerprints"]
    sql = recorded["checksums"]["queries"][SUMMARY]
    assert "BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(`game_date`, `player_lookup`, `points`))))" in sql["sql"]
    assert sql["days"] == ["2025-12-15"]
    summary = recorded["before"][SUMMARY]
    assert summary["columns"] == [["game_date", "DATE"], ["player_lookup", "STRING"], ["points", "INT64"]]
    assert set(summary["partitions"]) == {"2025-12-15"}                  # the replayed partitions only
    assert summary["rows"] == 3 and summary["partitions"]["2025-12-15"]["rows"] == 2
    # the checksum as anyone can take it: each row's JSON (TO_JSON_STRING of the STRUCT), FarmHash64, XOR
    expected = 0
    for row in ('{"game_date":"2025-12-15","player_lookup":"a","points":10}',
                '{"game_date":"2025-12-15","player_lookup":"b","points":20}'):
        print64 = farmhash.fingerprint64(row)
        expected ^= print64 - (1 << 64) if print64 >= 1 << 63 else print64
    assert summary["partitions"]["2025-12-15"]["checksum"] == expected
    assert recorded["after"][SUMMARY]["partitions"] == summary["partitions"]


def test_column_changes_are_named_added_dropped_retyped_or_reordered():
    at = datetime(2026, 1, 2, tzinfo=timezone.utc)
    part = {"2025-12-15": PartitionPrint(1, at)}

    def printed(ref, columns, kind="TABLE"):
        return TablePrint(ref, True, dict(part), columns=columns, kind=kind)

    base = (("a", "INT64"), ("b", "STRING"))
    before = {r: printed(r, base) for r in ("t.retyped", "t.reordered", "t.same", "t.view", "t.unread")}
    after = {"t.retyped": printed("t.retyped", (("a", "FLOAT64"), ("b", "STRING"))),
             "t.reordered": printed("t.reordered", (("b", "STRING"), ("a", "INT64"))),
             "t.same": printed("t.same", base), "t.view": printed("t.view", base, kind="VIEW"),
             "t.unread": TablePrint("t.unread", True, dict(part))}      # columns not read: nothing said of them
    assert {c.ref: c.what for c in changes(before, after)} == {
        "t.retyped": "columns changed: retyped `a` INT64 -> FLOAT64", "t.reordered": "columns reordered",
        "t.view": "a table before, a view now"}


def test_a_write_that_leaves_production_as_it_was_still_fails_the_replay(warehouse):
    """BigQuery moves a partition's last change on every write; so does the sandbox now (it did only on new content)."""
    run = _replay(warehouse)
    run.fingerprint_before()
    warehouse.execute(f"MERGE {SUMMARY} T USING (SELECT * FROM {SUMMARY} WHERE game_date = DATE '2025-12-15') S "
                      "ON T.game_date = S.game_date AND T.player_lookup = S.player_lookup "
                      "WHEN MATCHED THEN UPDATE SET points = S.points")
    run.isolation()
    assert _changed(run)[SUMMARY].startswith("2025-12-15: rewritten") and "(same 2 rows, checksum unchanged)" in \
        _changed(run)[SUMMARY]
    assert run.result().verdict == "fail"


def test_step_4_reads_each_production_table_once_and_step_6_reads_it_again(warehouse, monkeypatch):
    """tables.get is a call per table on BigQuery: the checksum plan's read serves step 4's print; the prints after
    the replay read the tables afresh (a column changed meanwhile is what they are for)."""
    reads: list[str] = []
    table_info = warehouse.table_info
    monkeypatch.setattr(warehouse, "table_info", lambda ref: reads.append(ref) or table_info(ref))
    run = _replay(warehouse)
    run.fingerprint_before()
    tables = [ref for ref, found in run.before.items() if found.exists]
    assert sorted(reads) == sorted(tables) and len(tables) == 4
    reads.clear()
    warehouse.execute(f"ALTER TABLE {SUMMARY} ADD COLUMN note STRING")
    run.isolation()
    assert sorted(reads) == sorted(tables)
    assert _changed(run)[SUMMARY].startswith("columns changed: added `note` STRING")


def test_a_replay_that_failed_names_every_call_that_did_not_finish_first(warehouse):
    """(A long replay's tables show their ends only past display.max_rows: the verdict names them all, first five.)"""
    from datetime import timedelta

    from runbook_lib.replay.run import Outcome

    run = _replay(warehouse)
    days = [DAY + timedelta(days=n) for n in range(8)]
    run.outcomes = [Outcome(d, "phase3", "failed" if n in (1, 3, 4, 5, 6, 7) else "done", attempts=5,
                            error="HTTP 500: boom") for n, d in enumerate(days)]
    verdict, said = run._verdict(0)
    assert verdict == "fail" and said.startswith(
        "0/1 dates done; 6 calls did not finish (phase3 2025-12-16, phase3 2025-12-18, phase3 2025-12-19, "
        "phase3 2025-12-20, phase3 2025-12-21 and 1 more); the first, phase3 2025-12-16 failed after 5 attempts: HTTP 500")
