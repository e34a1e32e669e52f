"""compare_tables: counts computed in the warehouse agree with an independent pandas reference on
generated NBA-shaped tables, for every count; and the edge cases one by one (NULLs, tolerance,
duplicate keys, excluded columns, schema drift, DATE keys, bad input, cost refusals)."""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from runbook_lib.compare import CostRefused, ReplayComparison, Thresholds, compare_tables
from runbook_lib.errors import ParameterError
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import load_phases
from runbook_lib.target import connect

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

KEYS = ["game_date", "player_lookup"]
START = date(2025, 12, 15)
NUMERIC = ["minutes", "points", "fg_pct", "usage_rate", "points_line"]
TEXT = ["team_abbr", "is_home", "over_under_result", "last_game_date"]


# ---------------------------------------------------------------- generated tables


def nba_tables(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A production table shaped like player_game_summary and a test copy with known kinds of change:
    rows removed and added, floats moved below and beyond tolerance, NULL against a value both ways,
    text changed, integers changed, and a bookkeeping column that differs on every row."""
    rng = np.random.default_rng(seed)
    n = rows
    prod = pd.DataFrame({
        "game_date": [START + timedelta(days=int(d)) for d in rng.integers(0, 12, n)],
        "player_lookup": [f"player{i:06d}" for i in rng.permutation(n)],
        "team_abbr": rng.choice(["BOS", "DEN", "LAL", "NYK", "OKC"], n),
        "is_home": rng.random(n) < 0.5,
        "minutes": rng.normal(24, 8, n).round(1),
        "points": rng.poisson(12, n).astype("int64"),
        "fg_pct": pd.array(np.where(rng.random(n) < 0.05, np.nan, rng.random(n).round(4)), dtype="Float64"),
        "usage_rate": rng.normal(20, 5, n),
        "points_line": pd.array(np.where(rng.random(n) < 0.2, np.nan, rng.integers(5, 30, n) + 0.5), dtype="Float64"),
        "over_under_result": pd.array(rng.choice(["OVER", "UNDER", "PUSH", None], n), dtype="string"),
        "last_game_date": [START - timedelta(days=int(d)) for d in rng.integers(1, 5, n)],
        "processed_at": pd.Timestamp("2025-12-31T06:00:00Z"),
    })
    test = prod.copy()
    pick = lambda share: rng.random(n) < share  # noqa: E731 - rows chosen for one kind of change
    test.loc[pick(0.02), "minutes"] += 0.004                 # below abs_tol=0.01
    test.loc[pick(0.02), "minutes"] += 1.0                   # beyond
    test.loc[pick(0.02), "usage_rate"] *= 1 + 1e-7           # below rel_tol=1e-6
    test.loc[pick(0.02), "usage_rate"] *= 1.01               # beyond
    test.loc[pick(0.02), "points"] += 1
    test.loc[pick(0.02), "fg_pct"] = pd.NA                   # value -> NULL (NULL stays NULL)
    gone = test["points_line"].isna() & pick(0.3)
    test.loc[gone, "points_line"] = 12.5                     # NULL -> value
    test.loc[pick(0.02), "over_under_result"] = "PUSH"
    test.loc[pick(0.01), "team_abbr"] = "MIA"
    test.loc[pick(0.01), "is_home"] = ~test["is_home"]
    test.loc[pick(0.01), "last_game_date"] = START
    test["processed_at"] = pd.Timestamp("2026-01-02T09:00:00Z")
    test = test[~pick(0.015)]                                # only in production
    added = prod.sample(frac=0.01, random_state=seed).assign(player_lookup=lambda f: f["player_lookup"] + "_new")
    test = pd.concat([test, added], ignore_index=True)       # only in test
    return prod, test


def load(tmp_path, prod: pd.DataFrame, test: pd.DataFrame, name: str = "w.duckdb") -> LocalWarehouse:
    wh = LocalWarehouse(tmp_path / name)
    wh.create_dataset("nba_analytics")
    wh.create_dataset("test_nba_analytics")
    wh.load_dataframes({"nba_analytics.pgs": prod, "test_nba_analytics.pgs": test},
                       partition_columns={"nba_analytics.pgs": "game_date", "test_nba_analytics.pgs": "game_date"})
    return wh


def reference(prod: pd.DataFrame, test: pd.DataFrame, keys, numeric, text, abs_tol, rel_tol) -> dict:
    """The comparison written independently in pandas (a full outer merge), for tables without duplicate keys."""
    merged = prod.merge(test, on=keys, how="outer", suffixes=("_p", "_t"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    changed = pd.Series(False, index=both.index)
    mismatches, deltas = {}, {}
    for column in numeric + text:
        equal = _equal_mask(both, column, numeric, abs_tol, rel_tol)
        if column in numeric:
            p, t = both[f"{column}_p"].astype("float64"), both[f"{column}_t"].astype("float64")
            finite = (p.notna() & t.notna()).to_numpy(bool)
            delta = np.abs(t.to_numpy() - p.to_numpy())[finite]
            deltas[column] = float(delta.max()) if finite.any() else None
        mismatches[column] = int((~equal).sum())
        changed |= ~equal
    by_date = both.assign(changed=changed).groupby("game_date")["changed"].sum()
    return {
        "rows_prod": len(prod), "rows_test": len(test),
        "only_in_prod": int((merged["_merge"] == "left_only").sum()),
        "only_in_test": int((merged["_merge"] == "right_only").sum()),
        "matched_rows": len(both), "changed_rows": int(changed.sum()),
        "column_mismatches": mismatches, "max_abs_delta": deltas,
        "changed_by_date": {d: int(v) for d, v in by_date.items() if v},
        "mismatch_dates": {c: sorted(both.loc[~_equal_mask(both, c, numeric, abs_tol, rel_tol), "game_date"].unique())
                           for c in numeric + text},
    }


def _equal_mask(both, column, numeric, abs_tol, rel_tol) -> np.ndarray:
    """Per matched row: do the two sides' values count as equal (both NULL, or within tolerance, or equal)?"""
    p, t = both[f"{column}_p"], both[f"{column}_t"]
    p_null, t_null = p.isna().to_numpy(bool), t.isna().to_numpy(bool)
    if column in numeric:
        pf, tf = p.astype("float64").to_numpy(), t.astype("float64").to_numpy()
        with np.errstate(invalid="ignore"):
            close = np.abs(tf - pf) <= abs_tol + rel_tol * np.abs(pf)
        return (p_null & t_null) | (~p_null & ~t_null & close)
    same = (p.astype(object) == t.astype(object)).fillna(False).to_numpy(bool)
    return (p_null & t_null) | (~p_null & ~t_null & same)


@pytest.mark.parametrize("seed, abs_tol, rel_tol", [(1, 0.0, 0.0), (2, 0.01, 0.0), (3, 0.0, 1e-6), (4, 0.01, 1e-6)])
def test_every_count_agrees_with_an_independent_pandas_reference(tmp_path, seed, abs_tol, rel_tol):
    prod, test = nba_tables(3000, seed)
    wh = load(tmp_path, prod, test)
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, abs_tol=abs_tol, rel_tol=rel_tol)
    want = reference(prod, test, KEYS, NUMERIC, TEXT, abs_tol, rel_tol)
    for name in ("rows_prod", "rows_test", "only_in_prod", "only_in_test", "matched_rows", "changed_rows",
                 "column_mismatches"):
        assert getattr(diff, name) == want[name], name
    for column, delta in want["max_abs_delta"].items():
        assert diff.max_abs_delta[column] == pytest.approx(delta, rel=1e-12, abs=1e-12), column
    changed_by_date = {p: n for p, n in zip(diff.partitions["partition_value"], diff.partitions["changed_rows"]) if n}
    assert changed_by_date == want["changed_by_date"]
    for column, dates in want["mismatch_dates"].items():
        assert diff.mismatch_dates(column) == dates, column
    # the bookkeeping column differs on every row and is left out by default
    assert diff.excluded == ["processed_at"] and "processed_at" not in diff.column_mismatches
    assert sum(diff.partitions["rows_prod"]) == len(prod) and diff.verdict == "fail"


def test_tolerance_hides_exactly_the_changes_below_it(tmp_path):
    prod, test = nba_tables(2000, 7)
    wh = load(tmp_path, prod, test)
    exact = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    loose = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, abs_tol=0.01, rel_tol=1e-6)
    assert loose.column_mismatches["minutes"] < exact.column_mismatches["minutes"]
    assert loose.column_mismatches["usage_rate"] < exact.column_mismatches["usage_rate"]
    assert loose.column_mismatches["team_abbr"] == exact.column_mismatches["team_abbr"]   # text: exact either way
    assert loose.max_abs_delta == exact.max_abs_delta   # the largest difference is reported whatever the tolerance
    histogram = loose.delta_histogram[loose.delta_histogram["column"] == "minutes"].set_index("decade")
    assert histogram.loc[-3, "mismatches"] == 0 < histogram.loc[-3, "cells"]   # the 0.004 moves: within tolerance
    assert histogram.loc[0, "mismatches"] == histogram.loc[0, "cells"] > 0      # the +1 moves: beyond


# ---------------------------------------------------------------- small tables, one case each


def small(tmp_path, prod_rows: list[dict], test_rows: list[dict], **frames) -> LocalWarehouse:
    return load(tmp_path, pd.DataFrame(prod_rows), pd.DataFrame(test_rows), **frames)


def row(day: int, player: str, **values) -> dict:
    return {"game_date": START + timedelta(days=day), "player_lookup": player, **values}


def test_null_against_null_is_equal_and_null_against_a_value_differs(tmp_path):
    wh = small(tmp_path,
               [row(0, "a", x=None, s=None), row(0, "b", x=1.0, s="v"), row(0, "c", x=None, s=None), row(1, "d", x=2.0, s="")],
               [row(0, "a", x=None, s=None), row(0, "b", x=None, s="v"), row(0, "c", x=3.0, s=None), row(1, "d", x=2.0, s=None)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert diff.column_mismatches == {"x": 2, "s": 1}     # '' is a value, not NULL
    assert diff.changed_rows == 3 and diff.matched_rows == 4
    sample = {(r.player_lookup, r.column): (r.prod_value, r.test_value) for r in diff.sample.itertuples()}
    assert sample == {("b", "x"): (1.0, None), ("c", "x"): (None, 3.0), ("d", "s"): ("", None)}


@pytest.mark.parametrize("prod, test, abs_tol, rel_tol, differs", [
    (100.0, 100.5, 0.5, 0.0, False),     # exactly on the absolute tolerance
    (100.0, 100.51, 0.5, 0.0, True),
    (100.0, 101.0, 0.0, 0.01, False),    # relative to |production|: 0.01 * 100
    (101.0, 100.0, 0.0, 0.01, False),    # 0.01 * 101 > 1
    (100.0, 101.0, 0.0, 0.0099, True),
    (-100.0, -101.0, 0.0, 0.01, False),  # |prod|, so negative values too
    (0.0, 1e-12, 0.0, 0.5, True),        # relative tolerance of 0 is 0
    (0.0, 1e-12, 1e-9, 0.5, False),
    (7, 8, 1, 0.0, False),               # integers get the tolerance too
    (7, 9, 1, 0.0, True),
])
def test_numeric_tolerance_is_abs_tol_plus_rel_tol_times_production(tmp_path, prod, test, abs_tol, rel_tol, differs):
    wh = small(tmp_path, [row(0, "a", v=prod)], [row(0, "a", v=test)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, abs_tol=abs_tol, rel_tol=rel_tol)
    assert diff.changed_rows == int(differs)
    assert diff.max_abs_delta["v"] == pytest.approx(abs(test - prod))


def test_duplicate_keys_are_counted_never_a_crash(tmp_path):
    wh = small(tmp_path,
               [row(0, "a", v=1), row(0, "a", v=2), row(0, "b", v=1), row(0, "c", v=5), row(1, "e", v=1)],
               [row(0, "a", v=1), row(0, "b", v=1), row(0, "b", v=1), row(0, "d", v=4), row(0, "d", v=4), row(1, "e", v=2)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert (diff.duplicate_keys_prod, diff.duplicate_keys_test) == (1, 2)     # a in prod; b and d in test
    assert (diff.ambiguous_rows_prod, diff.ambiguous_rows_test) == (3, 3)     # a and b are on both sides
    assert (diff.only_in_prod, diff.only_in_test) == (1, 2)                   # c; d twice
    assert diff.matched_rows == 1 and diff.changed_rows == 1                  # e
    assert diff.one_sided_keys.values.tolist() == [["production", START, "c"], ["test", START, "d"]]   # d once
    assert diff.verdict == "fail" and "3 duplicate keys" in diff.summary
    allowed = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS,
                             thresholds=Thresholds(max_changed_rate=1, max_missing_rate=1, max_extra_rate=1,
                                                   max_duplicate_keys=3))
    assert allowed.verdict == "warn"


def test_null_key_parts_match_null(tmp_path):
    wh = small(tmp_path, [row(0, None, v=1), row(0, "b", v=1)], [row(0, None, v=2), row(0, "b", v=1)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert diff.matched_rows == 2 and diff.changed_rows == 1 and diff.only_in_prod == diff.only_in_test == 0
    assert diff.sample["player_lookup"].tolist() == [None]


def test_keys_on_one_side_only_are_sampled_by_key_null_first_up_to_the_sample_size(tmp_path):
    # BigQuery orders NULL first in ascending order (the sandbox's translation says NULLS FIRST)
    wh = small(tmp_path, [row(1, "b", v=1), row(0, "z", v=1), row(1, None, v=1), row(0, "m", v=1), row(2, "k", v=1)],
               [row(2, "k", v=1), row(0, "y", v=1), row(0, None, v=1), row(3, "a", v=1)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, sample_rows=3)
    assert (diff.only_in_prod, diff.only_in_test) == (4, 3)
    assert diff.one_sided_keys.values.tolist() == [
        ["production", START, "m"], ["production", START, "z"], ["production", START + timedelta(days=1), None],
        ["test", START, None], ["test", START, "y"], ["test", START + timedelta(days=3), "a"]]
    shown = ReplayComparison(name="compare_outputs", verdict="fail", summary="-", diffs=[diff]).one_sided_table(2)
    assert shown.values.tolist() == [["nba_analytics.pgs", "production", "2025-12-15 | m"],
                                     ["nba_analytics.pgs", "production", "2025-12-15 | z"],
                                     ["nba_analytics.pgs", "test", "2025-12-15 | None"],
                                     ["nba_analytics.pgs", "test", "2025-12-15 | y"]]
    recorded = diff.to_dict()["details"]["one_sided_keys"]
    assert recorded[0] == {"side": "production", "game_date": "2025-12-15", "player_lookup": "m"} and len(recorded) == 6
    assert compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, sample_rows=0).one_sided_keys.empty


def test_bookkeeping_columns_are_excluded_by_default_and_can_be_compared(tmp_path):
    wh = small(tmp_path, [row(0, "a", v=1, processed_at="morning", run_id="r1")],
               [row(0, "a", v=1, processed_at="evening", run_id="r2")])
    default = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert default.verdict == "pass" and default.excluded == ["processed_at", "run_id"]
    assert default.compared_columns == ["v"]
    everything = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, exclude=[])
    assert everything.column_mismatches == {"v": 0, "processed_at": 1, "run_id": 1}
    chosen = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, exclude=["v", "run_id"])
    assert chosen.compared_columns == ["processed_at"] and chosen.changed_rows == 1
    only = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, columns=["v"], exclude=[])
    assert only.compared_columns == ["v"] and only.verdict == "pass"


def test_schema_drift_is_reported_and_compared_where_it_can_be(tmp_path):
    wh = small(tmp_path,
               [row(0, "a", kept=1, gone=1, widened=1, retyped=1), row(0, "b", kept=2, gone=2, widened=2, retyped=22)],
               [row(0, "a", kept=1, widened=1.0, retyped="1", added="x"), row(0, "b", kept=2, widened=2.5, retyped="2", added="y")])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert diff.schema.missing == ["gone"] and diff.schema.extra == ["added"]
    assert diff.schema.type_changed == [("widened", "INT64", "FLOAT64"), ("retyped", "INT64", "STRING")]
    # INT64 -> FLOAT64 still compares as numbers; INT64 -> STRING compares as text (1 is not "1")
    assert diff.column_mismatches == {"kept": 0, "widened": 1, "retyped": 2}
    assert diff.verdict == "fail" and "test lacks gone" in diff.summary and "test adds added" in diff.summary
    only_new = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, columns=["kept", "added"])
    assert only_new.verdict == "warn" and only_new.schema.extra == ["added"] and only_new.compared_columns == ["kept"]


def test_date_keys_give_dates_per_partition(tmp_path):
    wh = small(tmp_path, [row(0, "a", v=1), row(1, "a", v=1), row(2, "a", v=1)],
               [row(0, "a", v=1), row(1, "a", v=9), row(2, "a", v=1), row(3, "a", v=1)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert diff.partition_column == "game_date"
    assert diff.partitions["partition_value"].tolist() == [START + timedelta(days=d) for d in range(4)]
    assert diff.partitions["rows_prod"].tolist() == [1, 1, 1, 0] and diff.partitions["only_in_test"].tolist() == [0, 0, 0, 1]
    assert diff.mismatch_dates() == [START + timedelta(days=1)] and isinstance(diff.mismatch_dates()[0], date)
    assert diff.sample["game_date"].tolist() == [START + timedelta(days=1)]
    narrowed = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS,
                              where="game_date BETWEEN @first AND @last",
                              params={"first": START, "last": START + timedelta(days=2)})
    assert narrowed.only_in_test == 0 and narrowed.changed_rows == 1 and len(narrowed.partitions) == 3
    assert diff.to_dict()["details"]["mismatch_dates"] == {"v": ["2025-12-16"]}


def test_a_partition_column_that_is_not_a_key_is_carried_through_the_join(tmp_path):
    # keyed by player alone, partitioned by date: each row counts in the partition of the side that has it
    wh = small(tmp_path, [row(0, "a", v=1), row(1, "b", v=1), row(2, "c", v=1)],
               [row(0, "a", v=1), row(1, "b", v=9), row(3, "d", v=1)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", ["player_lookup"])
    assert diff.partition_column == "game_date" and diff.compared_columns == ["game_date", "v"]
    by_day = diff.partitions.set_index("partition_value")
    days = [START + timedelta(days=d) for d in range(4)]
    assert by_day.loc[days, "only_in_prod"].tolist() == [0, 0, 1, 0] and by_day.loc[days, "only_in_test"].tolist() == [0, 0, 0, 1]
    assert by_day.loc[days, "changed_rows"].tolist() == [0, 1, 0, 0] and diff.mismatch_dates() == [days[1]]


@pytest.mark.parametrize("duplicate", [False, True])
def test_a_row_that_moved_partition_is_matched_and_counted_in_productions(tmp_path, duplicate):
    # keyed by player alone: "a" moved from day 1 to day 0 and changed; with a key duplicated elsewhere the counts
    # are taken key by key, and must still see "a" whole (not read partition by partition)
    extra = [row(2, "z", v=1), row(2, "z", v=2)] if duplicate else []
    wh = small(tmp_path, [row(1, "a", v=1), row(0, "b", v=1), *extra], [row(0, "a", v=5), row(0, "b", v=1), *extra[:1]])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", ["player_lookup"])
    assert (diff.matched_rows, diff.changed_rows, diff.column_mismatches) == (2, 1, {"game_date": 1, "v": 1})
    assert diff.ambiguous_rows_prod == (2 if duplicate else 0)
    by_day = diff.partitions.set_index("partition_value")
    assert by_day.loc[START, ["rows_prod", "rows_test", "changed_rows"]].tolist() == [1, 2, 0]
    assert by_day.loc[START + timedelta(days=1), ["rows_prod", "rows_test", "changed_rows"]].tolist() == [1, 0, 1]
    assert diff.partitions["changed_rows"].sum() == diff.changed_rows and diff.verdict == "fail"


def test_a_key_duplicated_across_partitions_is_ambiguous_not_changed(tmp_path):
    # "b" is once in production and twice in test, on two days: no telling which copy matches, so not a change
    wh = small(tmp_path, [row(0, "a", v=1), row(0, "b", v=1), row(1, "c", v=1)],
               [row(0, "a", v=9), row(0, "b", v=2), row(1, "b", v=1), row(1, "c", v=1)])
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", ["player_lookup"])
    assert (diff.matched_rows, diff.changed_rows, diff.duplicate_keys_test) == (2, 1, 1)
    assert (diff.ambiguous_rows_prod, diff.ambiguous_rows_test) == (1, 2)
    assert diff.sample["player_lookup"].tolist() == ["a"]


@pytest.mark.parametrize("partitioned", [False, True])
def test_the_null_partition_is_one_row_of_the_partition_table(tmp_path, partitioned):
    # an unpartitioned table is all one (NULL) partition; so are a partitioned table's NULL dates
    prod = pd.DataFrame({"k": [1, 2], "d": [None, START], "v": [1, 1]})
    test = pd.DataFrame({"k": [1, 2], "d": [None, START], "v": [2, 1]})
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    for name in ("p", "t"):
        wh.create_dataset(name)
    columns = {"p.x": "d", "t.x": "d"} if partitioned else {}
    wh.load_dataframes({"p.x": prod, "t.x": test}, partition_columns=columns)
    diff = compare_tables(wh, "p.x", "t.x", ["k"])
    parts = diff.partitions
    null = parts[parts["partition_value"].isna()]
    assert len(null) == 1 and len(parts) == (2 if partitioned else 1)
    want = [1, 1, 1, 1] if partitioned else [2, 2, 2, 1]
    assert null[["rows_prod", "rows_test", "matched_rows", "changed_rows"]].iloc[0].tolist() == want
    assert parts["changed_rows"].sum() == diff.changed_rows == 1


def test_identical_tables_pass_and_to_dict_is_json(tmp_path):
    prod, _ = nba_tables(500, 9)
    wh = load(tmp_path, prod, prod)
    diff = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)
    assert diff.verdict == "pass" and diff.changed_rows == 0 and diff.sample.empty
    assert diff.summary.startswith("test_nba_analytics.pgs matches nba_analytics.pgs: 500 rows")
    import json

    data = json.loads(json.dumps(diff.to_dict()))
    assert data["details"]["rows_prod"] == 500 and data["verdict"] == "pass"


def test_verdict_warns_within_thresholds_and_fails_beyond(tmp_path):
    prod = pd.DataFrame([row(0, f"p{i}", v=i) for i in range(100)])
    test = prod.copy()
    test.loc[0, "v"] = -1
    wh = load(tmp_path, prod, test)
    warn = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, thresholds=Thresholds(0.01))
    fail = compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, thresholds=Thresholds(0.0))
    assert (warn.verdict, fail.verdict) == ("warn", "fail")
    assert warn.summary == ("test_nba_analytics.pgs vs nba_analytics.pgs: 1 of 100 matched rows differ (1.00%) "
                            "in v on 2025-12-15.")


# ---------------------------------------------------------------- the fingerprint


def test_the_local_fingerprint_is_duckdbs_own_hash_not_the_python_udf(tmp_path):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    expression = wh.row_hash_sql(["a", "t.b"])
    assert expression == "HASH(`a`, t.`b`)"
    # equal values (NULLs included) fingerprint alike, a NULL in another place does not; compared in
    # SQL, as compare_tables does (the local fingerprint is a UBIGINT)
    same = wh.query(f"""SELECT
        {wh.row_hash_sql(['a', 'b'])} = (SELECT {wh.row_hash_sql(['a', 'b'])} FROM (SELECT 1 AS a, 'x' AS b)) AS equal,
        {wh.row_hash_sql(['a', 'b'])} = (SELECT {wh.row_hash_sql(['a', 'b'])} FROM (SELECT CAST(NULL AS INT64) AS a, 'x' AS b)) AS null_first
        FROM (SELECT 1 AS a, 'x' AS b)""")
    assert bool(same["equal"].iloc[0]) and not bool(same["null_first"].iloc[0])
    for bad in ([], "a", ["a`b"], ["a$b"], ["x.a.b"], [None]):   # ("a b", "1a": flexible column names)
        with pytest.raises(ParameterError):
            wh.row_hash_sql(bad)
    with pytest.raises(ParameterError, match="types="):
        wh.row_hash_sql(["a", "b"], ["INT64"])


def test_fingerprints_of_nested_and_json_columns_keep_what_the_engine_hash_would_lose(tmp_path):
    # DuckDB's HASH is equal for a NULL STRUCT and a STRUCT of NULLs, a NULL ARRAY and []: the sandbox
    # hashes ARRAY and STRUCT columns as their JSON text. BigQuery's TO_JSON_STRING writes a SQL NULL and a
    # JSON null alike: its fingerprint takes JSON columns as text, NULL staying NULL.
    local = LocalWarehouse(tmp_path / "w.duckdb")
    types = ["INT64", "ARRAY<INT64>", "STRUCT<x INT64>", "JSON"]
    assert local.row_hash_sql(["i", "a", "s", "j"], types) == \
        "HASH(`i`, TO_JSON_STRING(`a`), TO_JSON_STRING(`s`), `j`)"
    same = local.query(f"""SELECT {local.row_hash_sql(['s'], ['STRUCT<x INT64>'])} = (SELECT
        {local.row_hash_sql(['s'], ['STRUCT<x INT64>'])} FROM (SELECT STRUCT(CAST(NULL AS INT64) AS x) AS s)) AS equal
        FROM (SELECT CAST(NULL AS STRUCT<x INT64>) AS s)""")
    assert not bool(same["equal"].iloc[0])
    gcp = connect("gcp", project="my-project", anonymous=True)
    assert gcp.warehouse.row_hash_sql(["t.i", "t.j"], ["INT64", "JSON"]) == \
        "FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(t.`i`, IF(t.`j` IS NULL, NULL, TO_JSON_STRING(t.`j`)) AS `j`)))"
    gcp.close()


# ---------------------------------------------------------------- cost


class Metered:
    """A warehouse whose dry runs estimate `bytes_each` per statement (as BigQuery's would)."""

    def __init__(self, inner: LocalWarehouse, bytes_each: int):
        self.inner, self.bytes_each, self.statements = inner, bytes_each, []

    def estimate_bytes(self, sql, params=None):
        return self.bytes_each

    def query(self, sql, params=None):
        self.statements.append(sql)
        return self.inner.query(sql, params)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_each_statement_is_estimated_first_and_refused_above_max_bytes_billed(tmp_path):
    wh = small(tmp_path, [row(0, "a", v=1), row(1, "b", v=1)], [row(0, "a", v=2), row(1, "b", v=1)])
    metered = Metered(wh, 5_000)
    diff = compare_tables(metered, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, max_bytes_billed=5_000)
    # one statement: the counts, the detail and the sample come out of one pass over both tables
    assert diff.bytes_estimated == 5_000 and len(metered.statements) == 1
    assert "`game_date` IN" not in metered.statements[0]
    assert diff.sample[["player_lookup", "prod_value", "test_value"]].values.tolist() == [["a", 1, 2]]
    # with a duplicated key: counted key by key, then the detail reads only the partitions that hold
    # rows whose fingerprints differ
    (tmp_path / "dup").mkdir()
    wh = small(tmp_path / "dup", [row(0, "a", v=1), row(1, "b", v=1), row(1, "b", v=1)],
               [row(0, "a", v=2), row(1, "b", v=1)])
    metered = Metered(wh, 5_000)
    diff = compare_tables(metered, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, max_bytes_billed=5_000)
    assert diff.bytes_estimated == 15_000 and len(metered.statements) == 3    # comparison, per-key count, detail
    assert "`game_date` IN (DATE '2025-12-15')" in metered.statements[2]
    assert diff.changed_rows == 1 and diff.duplicate_keys_prod == 1 and len(diff.sample) == 1
    refused = Metered(wh, 6_000)
    with pytest.raises(CostRefused, match=r"comparison of test_nba_analytics.pgs would scan 5.86 KiB, above "
                                          r"max_bytes_billed=5000 \(4.88 KiB\); narrow the dates"):
        compare_tables(refused, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS, max_bytes_billed=5_000)
    assert refused.statements == []


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, parameter", [
    ({"prod_table": "nba_analytics.nope"}, "prod_table"),
    ({"test_table": "test_nba_analytics.nope"}, "test_table"),
    ({"test_table": "nope"}, "test_table"),
    ({"test_table": "`nba_analytics.pgs`"}, "test_table"),   # production itself: it would always match
    ({"keys": ["game_date", "nobody"]}, "keys"),
    ({"keys": []}, "keys"),
    ({"keys": ["game_date", "game_date"]}, "keys"),
    ({"abs_tol": -0.1}, "abs_tol"),
    ({"rel_tol": -1}, "rel_tol"),
    ({"abs_tol": float("nan")}, "abs_tol"),
    ({"rel_tol": "0.1"}, "rel_tol"),
    ({"columns": ["nothing"]}, "columns"),
    ({"columns": ["game_date"]}, "columns"),
    ({"exclude": ["game_date"]}, "exclude"),
    ({"exclude": ["nothing"]}, "exclude"),
    ({"partition_column": "nothing"}, "partition_column"),
    ({"where": ""}, "where"),
    ({"max_bytes_billed": 0}, "max_bytes_billed"),
    ({"sample_rows": -1}, "sample_rows"),
])
def test_bad_input_is_one_sentence_naming_the_parameter(tmp_path, kwargs, parameter):
    wh = small(tmp_path, [row(0, "a", v=1)], [row(0, "a", v=1)])
    args = {"prod_table": "nba_analytics.pgs", "test_table": "test_nba_analytics.pgs", "keys": KEYS, **kwargs}
    with pytest.raises(ParameterError) as err:
        compare_tables(wh, args.pop("prod_table"), args.pop("test_table"), args.pop("keys"), **args)
    assert err.value.parameter == parameter
    assert str(err.value).count(".") >= 1 and "\n" not in str(err.value)


def test_a_key_with_two_types_is_refused(tmp_path):
    wh = small(tmp_path, [row(0, "a", v=1)], [{"game_date": "2025-12-15", "player_lookup": "a", "v": 1}])
    with pytest.raises(ParameterError, match="a key must have one type, not DATE in nba_analytics.pgs and STRING"):
        compare_tables(wh, "nba_analytics.pgs", "test_nba_analytics.pgs", KEYS)


@pytest.mark.parametrize("field, value", [("max_changed_rate", 1.5), ("max_missing_rate", -0.1),
                                          ("max_extra_rate", "0"), ("max_duplicate_keys", -1),
                                          ("max_duplicate_keys", 0.5)])
def test_thresholds_are_checked(field, value):
    with pytest.raises(ParameterError) as err:
        Thresholds(**{field: value})
    assert err.value.parameter == field


def test_default_exclude_comes_from_phases_yaml():
    assert "processed_at" in load_phases().bookkeeping_columns
    assert math.isclose(Thresholds().max_changed_rate, 0.01)


def test_a_mismatch_in_the_null_partition_is_named_beside_the_days(tmp_path):
    """Rows whose partition column is NULL are BigQuery's __NULL__ partition: a table differing there and on one
    day was said to differ on that day alone."""
    prod = pd.DataFrame({"id": [1, 2, 3], "d": [date(2025, 1, 1), None, date(2025, 1, 2)], "v": [1, 1, 1]})
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    wh.create_dataset("a")
    wh.load_dataframes({"a.prod": prod, "a.test": prod.assign(v=[2, 2, 1])})
    diff = compare_tables(wh, "a.prod", "a.test", ["id"], partition_column="d")
    assert diff.mismatch_dates() == [date(2025, 1, 1), "__NULL__"] and diff.mismatch_dates("v") == diff.mismatch_dates()
    assert diff.summary.endswith("in v on 2025-01-01, __NULL__.")
    assert diff.to_dict()["details"]["mismatch_dates"] == {"v": ["2025-01-01", "__NULL__"]}
    unpartitioned = compare_tables(wh, "a.prod", "a.test", ["id"], partition_column=None)
    assert unpartitioned.changed_rows == 2 and unpartitioned.mismatch_dates() == []


def test_integer_partitions_are_narrowed_with_literals_and_others_are_read_whole(tmp_path):
    prod = pd.DataFrame([{"bucket": b, "id": f"r{i}", "v": i} for b in range(3) for i in range(4)])
    test = prod.assign(v=lambda f: f["v"] + (f["bucket"] == 1))
    duplicate = prod[prod["bucket"] == 2].head(1)   # counted key by key: the detail is then narrowed
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    wh.create_dataset("a")
    wh.load_dataframes({"a.prod": pd.concat([prod, duplicate]), "a.test": test},
                       partition_columns={"a.prod": "bucket", "a.test": "bucket"})
    metered = Metered(wh, 1)
    diff = compare_tables(metered, "a.prod", "a.test", ["bucket", "id"])
    assert diff.partition_column == "bucket" and diff.mismatch_dates() == [1] and diff.changed_rows == 4
    assert "`bucket` IN (1)" in metered.statements[-1]
    by_text = compare_tables(Metered(wh, 1), "a.prod", "a.test", ["bucket", "id"], partition_column="id")
    assert by_text.changed_rows == 4 and by_text.mismatch_dates() == ["r0", "r1", "r2", "r3"]


def _two_tables(tmp_path, prod_ddl: str, prod_rows: str, test_ddl: str, test_rows: str) -> LocalWarehouse:
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    for name in ("p", "t"):
        wh.create_dataset(name)
    wh.execute(f"CREATE TABLE p.x ({prod_ddl})")
    wh.execute(f"INSERT INTO p.x VALUES {prod_rows}")
    wh.execute(f"CREATE TABLE t.x ({test_ddl})")
    wh.execute(f"INSERT INTO t.x VALUES {test_rows}")
    return wh


def test_column_names_match_whatever_their_case_as_in_bigquery(tmp_path):
    # BigQuery column names are case-insensitive: test's `points` is production's `Points`, and so are the
    # parameters that name it
    wh = _two_tables(tmp_path, "Player STRING, Points INT64", "('a', 5), ('b', 7)",
                     "player STRING, points INT64", "('a', 6), ('b', 7)")
    diff = compare_tables(wh, "p.x", "t.x", ["PLAYER"])
    assert not diff.schema and diff.keys == ("Player",) and diff.compared_columns == ["Points"]
    assert (diff.matched_rows, diff.changed_rows, diff.column_mismatches) == (2, 1, {"Points": 1})
    assert compare_tables(wh, "p.x", "t.x", ["player"], columns=["POINTS"]).column_mismatches == {"Points": 1}


def test_a_numeric_key_matches_across_precision_and_scale(tmp_path):
    # NUMERIC(10, 2)'s 1.50 is NUMERIC's 1.5 (`=` says so, and BigQuery's NUMERIC values carry no scale): the key
    # fingerprints must agree, or every row would look one-sided
    wh = _two_tables(tmp_path, "k NUMERIC(10, 2), v INT64", "(1.50, 1), (2.25, 2)",
                     "k NUMERIC, v INT64", "(1.5, 1), (2.25, 3)")
    diff = compare_tables(wh, "p.x", "t.x", ["k"])
    assert (diff.matched_rows, diff.only_in_prod, diff.only_in_test, diff.changed_rows) == (2, 0, 0, 1)
