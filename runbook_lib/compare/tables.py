"""compare_tables: which rows and columns of a test table differ from production, and by how much.

Computed in the warehouse by the statements in sql.py (DuckDB locally, BigQuery in the cloud): only
counts, a histogram and a bounded sample ever come back to Python, whatever the tables' size.

Semantics. Rows are matched on `keys`. Two values are equal when both are NULL, or both are non-NULL
and equal, or both are numeric and |test - prod| <= abs_tol + rel_tol * |prod| (the difference of
two INT64s or NUMERICs taken exactly; an infinite difference is never within tolerance; NaN equals
NaN only); NULL against a value is a difference. ARRAY, STRUCT and JSON values, and a column whose
type differs between the sides (other than one number type for another), are equal when their JSON
text is: a JSON column's JSON null differs from its SQL NULL, but inside a STRUCT or an ARRAY the two
have one text (TO_JSON_STRING writes both as null) and are equal. `changed_rows` counts key-matched
rows with at least one differing compared column.
A key found more than once on either side is counted in duplicate_keys_* and, when the other side has
it too, its rows are left out of the row-by-row comparison (there is no telling which copy matches
which: they are counted in ambiguous_rows_*); a key on one side only counts in only_in_*. NULL key
parts match NULL. Counts are split by partition: the partition column's value, its day for a
TIMESTAMP or DATETIME column (BigQuery's partitions; its hour for a table partitioned so, and its day
still for one partitioned by month or year, whose first day would name a date that need not differ), its range
for an integer-range partitioned table; each side's by its own type of the column (test's
TIMESTAMP by its day against production's DATE), a column whose partitions would be of two types (a DATE and
a STRING) being refused. A partition column that is not a key may differ between a key's rows: each row counts
in its own partition, a key's match (and a key duplicated or on one side only) in production's partition of it,
test's when production lacks it. Column names match whatever their case, as in BigQuery (test's `points` is
production's `Points`). Bookkeeping columns (phases.yaml `bookkeeping_columns`, e.g. processed_at) are left out
unless `exclude` says otherwise.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from ..errors import ParameterError, RunbookError
from ..formats import size
from ..phases import PhaseRegistry, load_phases
from ..protocols import TableInfo, Warehouse
from ..warehouse import split_ref
from . import sql
from .diff import SchemaDiff, TableDiff, Thresholds
from .parameters import (check_keys, check_limits, check_tolerance, choose_columns, choose_partition,
                         in_production_spelling, partition_sql, read_table, spelled)
from .plan import Plan, partition_literals
from .values import abs_delta, cell_value, sort_key, sort_text
from .verdict import conclude, describe, details

__all__ = ["DEFAULT_SAMPLE_ROWS", "CostRefused", "SchemaDiff", "TableDiff", "Thresholds", "compare_tables",
           "conclude", "describe", "details"]

DEFAULT_SAMPLE_ROWS = 1000   # enough for a scatter; the summary shows the first few


class _NullPartition:
    """The NULL partition as a pandas group key: pandas groups a None as NaN yet indexes rows by it as None."""

    def __repr__(self) -> str:
        return "NULL partition"


_NULL_PARTITION = _NullPartition()


class CostRefused(RunbookError):
    """A statement's dry-run estimate is above max_bytes_billed: nothing was run."""


def compare_tables(warehouse: Warehouse, prod_table: str, test_table: str, keys: Sequence[str], *,
                   columns: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                   abs_tol: float = 0.0, rel_tol: float = 0.0, where: str | None = None,
                   params: Mapping[str, Any] | None = None, partition_column: str | None = None,
                   thresholds: Thresholds | None = None, max_bytes_billed: int | None = None,
                   sample_rows: int = DEFAULT_SAMPLE_ROWS, phases: PhaseRegistry | None = None,
                   tables_read: Mapping[str, TableInfo | None] | None = None) -> TableDiff:
    """Compare `test_table` with `prod_table` on `keys`, inside the warehouse.

    `where` (BigQuery SQL, with @name `params`) filters both tables: on BigQuery give a partition filter.
    `partition_column` (default: production's partitioning) splits every count by partition.
    Statements whose dry-run estimate exceeds `max_bytes_billed` are refused before they run (CostRefused).
    `tables_read`: the tables' metadata the caller read already, by ref (None: missing), not read again.
    """
    abs_tol = check_tolerance("abs_tol", abs_tol)
    rel_tol = check_tolerance("rel_tol", rel_tol)
    thresholds = thresholds or Thresholds()
    check_limits(max_bytes_billed, sample_rows, where)
    prod = read_table(warehouse, "prod_table", prod_table, tables_read)
    test = in_production_spelling(prod, read_table(warehouse, "test_table", test_table, tables_read))
    keys, columns, exclude, partition_column = (spelled(given, prod, test)
                                                for given in (keys, columns, exclude, partition_column))
    if split_ref(prod_table) == split_ref(test_table):
        raise ParameterError("test_table", test_table, "name the test table, not production's: a table always "
                                                       "matches itself")
    keys = check_keys(keys, prod, test)
    registry = phases or load_phases()
    compared, excluded, schema = choose_columns(columns, exclude, keys, prod, test, registry)
    partition = choose_partition(partition_column, prod, test)
    partition_of, test_partition_of, partition_type = partition_sql(partition, prod, test)
    names = [c.name for c in compared]
    types = dict(prod.columns)
    plan = Plan(prod_table=prod.ref, test_table=test.ref, keys=keys, key_types=tuple(types[k] for k in keys),
                columns=tuple(compared), partition_column=partition, partition_type=partition_type, where=where,
                # (nothing to compare: one constant; the types are production's, the same on both sides
                # wherever fingerprints are compared: plan.Plan.fingerprints_comparable)
                row_hash=warehouse.row_hash_sql(names, [c.prod_type for c in compared]) if names else "0",
                key_hash=warehouse.row_hash_sql([f"_k{i}" for i in range(len(keys))], [types[k] for k in keys]),
                partition_of=partition_of, test_partition_of=test_partition_of)
    diff = TableDiff(name=f"compare {test.ref}", verdict="pass", summary="-", prod_table=prod.ref,
                     test_table=test.ref, keys=keys, compared_columns=names, excluded=excluded,
                     partition_column=partition, schema=schema, abs_tol=abs_tol, rel_tol=rel_tol,
                     thresholds=thresholds)
    runner = _Runner(warehouse, dict(params or {}), abs_tol, rel_tol, max_bytes_billed, test.ref)
    _compare(diff, plan, runner, sample_rows)
    diff.bytes_estimated = runner.guard.bytes_estimated
    return conclude(diff)


class CostGuard:
    """Every statement's dry-run estimate first: refused above max_bytes_billed, the estimates added up.
    Used for each statement runbook 04 runs, the small ones that choose what to compare included."""

    def __init__(self, warehouse: Warehouse, max_bytes: int | None):
        self.warehouse, self.max_bytes = warehouse, max_bytes
        self.bytes_estimated: int | None = None

    def query(self, statement: str, params: Mapping[str, Any], what: str) -> pd.DataFrame:
        """Run `statement` with the params it names; `what` it does, for the refusal ("the comparison of T")."""
        used = {k: v for k, v in params.items() if f"@{k}" in statement}
        estimate = self.warehouse.estimate_bytes(statement, used)
        if estimate is not None:
            self.bytes_estimated = (self.bytes_estimated or 0) + int(estimate)
            if self.max_bytes is not None and estimate > self.max_bytes:
                raise CostRefused(f"The {what} would scan {size(int(estimate))}, above "
                                  f"max_bytes_billed={self.max_bytes} ({size(self.max_bytes)}); narrow the dates "
                                  "or raise the limit.")
        return self.warehouse.query(statement, used)


class _Runner:
    """One table pair's statements, through a CostGuard, with the comparison's parameters."""

    def __init__(self, warehouse: Warehouse, params: dict, abs_tol: float, rel_tol: float, max_bytes: int | None,
                 what: str):
        self.guard, self.params, self.what = CostGuard(warehouse, max_bytes), params, what
        self.params.update(abs_tol=abs_tol, rel_tol=rel_tol)

    def run(self, statement: str, step: str, **extra: Any) -> pd.DataFrame:
        return self.guard.query(statement, {**self.params, **extra}, f"{step} of {self.what}")


def _compare(diff: TableDiff, plan: Plan, runner: _Runner, sample_rows: int) -> None:
    """Counts per partition, the detail of what differs and the sample, into diff: one statement when
    no key is duplicated on either side; otherwise two more (counted key by key, then the detail)."""
    sample = sample_rows > 0
    limit = {"_limit": sample_rows} if sample else {}
    diff.sample = _sample_frame(plan, [])
    found = _with_partitions(runner.run(sql.comparison(plan, sample), "comparison", **limit), plan)
    diff.one_sided_keys = _one_sided_keys(plan, found[found["_kind"].isin(list(sql.ONE_SIDED))])
    found = found[~found["_kind"].isin(list(sql.ONE_SIDED))]
    numbers = list(sql.JOIN_COUNTS)
    detail = found[found["_kind"].isin(["cell", "sample"])].copy()
    found = found[~found["_kind"].isin(["cell", "sample"])].copy()
    found[numbers] = found[numbers].fillna(0).astype("int64")
    # the NULL partition (every row, with no partition column) as one group: pandas would group a None as NaN
    # and keep it None as an index, two partitions
    found["partition_value"] = [_NULL_PARTITION if v is None else v for v in found["partition_value"]]
    joined = found[found["_kind"] == "join"].groupby("partition_value", sort=False)[numbers].sum()
    rows = {side: found[found["_kind"] == side].set_index("partition_value")["rows"] for side in ("prod", "test")}
    # the one-sided rows' distinct keys over the whole table: counted per partition, a key with one row in each of
    # two partitions (of a column that is not a key) is as many keys as rows in both, and its duplicate went uncounted
    distinct = found[found["_kind"] == "keys"][numbers].sum()
    unique = (rows["prod"].sum() == joined["only_in_prod"].sum() + joined["matched_rows"].sum()
              and rows["test"].sum() == joined["only_in_test"].sum() + joined["matched_rows"].sum()
              and distinct["keys_only_in_prod"] == joined["only_in_prod"].sum()
              and distinct["keys_only_in_test"] == joined["only_in_test"].sum())
    if unique:
        values = sorted(set(joined.index) | set(rows["prod"].index) | set(rows["test"].index),
                        key=lambda v: sort_text(None if v is _NULL_PARTITION else v))
        counts = pd.DataFrame({"partition_value": pd.Series([None if v is _NULL_PARTITION else v for v in values],
                                                            dtype=object)})
        for name, series in (("rows_prod", rows["prod"]), ("rows_test", rows["test"])):
            counts[name] = [int(series.get(v, 0)) for v in values]
        for name in sql.COUNTS[2:]:
            counts[name] = [int(joined[name].get(v, 0)) if name in joined else 0 for v in values]
    else:   # duplicated keys: count key by key, and detail the keys found once on each side
        detail = detail.iloc[0:0]   # matched on a join that duplicates made ambiguous: not used
        counts = _with_partitions(runner.run(sql.exact_counts(plan), "per-key count (duplicate keys)"), plan)
        counts = counts.sort_values("partition_value", key=sort_key).reset_index(drop=True)
    counts[list(sql.COUNTS)] = counts[list(sql.COUNTS)].fillna(0).astype("int64")
    for name in sql.COUNTS:
        if name != "fingerprints_differ":   # kept per partition only: the detail tells what really differs
            setattr(diff, name, int(counts[name].sum()))
    counts["changed_rows"] = 0
    diff.partitions = counts
    diff.column_mismatches = {c: 0 for c in diff.compared_columns}
    if not unique and counts["fingerprints_differ"].sum() > 0:
        changed = counts[counts["fingerprints_differ"] > 0]["partition_value"].tolist()
        detail = _with_partitions(runner.run(sql.detail(plan, _narrowing(diff, plan, changed), sample), "detail",
                                             **limit), plan)
    cells = detail[detail["_kind"] == "cell"] if "_kind" in detail else detail
    if not cells.empty:
        _detail(diff, plan, cells)
    if sample and not detail.empty:
        _sample(diff, plan, detail[detail["_kind"] == "sample"])


def _with_partitions(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """`frame` with its partition values as Python values, in an object column: a list of integers and None
    would become float64 (an INT64 range's 20 read, and reported, as 20.0)."""
    frame["partition_value"] = pd.Series([cell_value(v, plan.partition_type) for v in frame["partition_value"]],
                                         index=frame.index, dtype=object)
    return frame


def _detail(diff: TableDiff, plan: Plan, cells: pd.DataFrame) -> None:
    """Mismatches per partition and column, largest differences and their histogram, from the cells."""
    cells = cells[["partition_value", *sql.DETAIL]].copy()   # (not the sample's ~70 columns, slow to carry)
    names = ["", *(c.name for c in plan.columns)]   # column number 0: rows with any mismatch
    cells["column_name"] = [names[int(n)] for n in cells["column_number"]]
    by_partition = cells[cells["by_decade"] == 0].astype({"mismatches": "int64"})
    rows = by_partition[by_partition["column_name"] == ""].set_index("partition_value")["mismatches"]
    diff.partitions["changed_rows"] = [int(rows.get(p, 0)) for p in diff.partitions["partition_value"]]
    diff.changed_rows = int(rows.sum())
    columns = by_partition[by_partition["column_name"] != ""]
    totals = columns.groupby("column_name")["mismatches"].sum()
    diff.column_mismatches = {c: int(totals.get(c, 0)) for c in diff.compared_columns}
    deltas = columns.groupby("column_name")["max_abs_delta"].max()
    diff.max_abs_delta = {c.name: float(deltas[c.name]) for c in plan.columns
                          if c.numeric and c.name in deltas and pd.notna(deltas[c.name])}
    diff.partition_mismatches = (columns[columns["mismatches"] > 0]
                                 .rename(columns={"column_name": "column"})[["partition_value", "column", "mismatches"]]
                                 .sort_values(["partition_value", "column"], key=sort_key).reset_index(drop=True))
    histogram = cells[(cells["by_decade"] == 1) & cells["decade"].notna() & (cells["column_name"] != "")]
    diff.delta_histogram = (histogram.rename(columns={"column_name": "column"})
                            .astype({"decade": "int64", "cells": "int64", "mismatches": "int64"})
                            [["column", "decade", "cells", "mismatches"]]
                            .sort_values(["column", "decade"]).reset_index(drop=True))


def _sample(diff: TableDiff, plan: Plan, rows: pd.DataFrame) -> None:
    """The sample rows (keys, both sides' values, a flag per column) as one row per differing cell,
    in the sample's order, then the columns' (read column by column: a row at a time is slow in pandas)."""
    ranked = rows.sort_values("_rank")
    keys = [[cell_value(v, plan.key_types[i]) for v in ranked[f"_k{i}"].tolist()] for i in range(len(plan.keys))]
    found = []
    for j, column in enumerate(plan.columns):
        prods, tests = ranked[f"_p{j}"].tolist(), ranked[f"_t{j}"].tolist()
        for n, flag in enumerate(ranked[f"_d{j}"].tolist()):
            if flag & sql.SAMPLE_DIFFERS:   # (a FLOAT64 NaN comes back as NaN, as a NULL does: flagged)
                prod = math.nan if flag & sql.SAMPLE_PROD_NAN else cell_value(prods[n], column.prod_type)
                test = math.nan if flag & sql.SAMPLE_TEST_NAN else cell_value(tests[n], column.test_type)
                delta = abs_delta(prod, test) if column.numeric else None
                found.append((n, j, {**{k: keys[i][n] for i, k in enumerate(plan.keys)}, "column": column.name,
                                     "prod_value": prod, "test_value": test, "abs_delta": delta}))
    records = [record for _, _, record in sorted(found, key=lambda f: f[:2])]
    diff.sample = _sample_frame(plan, records)


def _one_sided_keys(plan: Plan, rows: pd.DataFrame) -> pd.DataFrame:
    """The keys on one side only (rows of kinds sql.ONE_SIDED), production's first, each side by key."""
    ranked = rows.sort_values(["_kind", "_rank"]) if len(rows) else None   # (no sample: no _k columns)
    columns = {"side": [] if ranked is None else [sql.ONE_SIDED[k] for k in ranked["_kind"]]}
    for i, key in enumerate(plan.keys):
        columns[key] = [] if ranked is None else [cell_value(v, plan.key_types[i]) for v in ranked[f"_k{i}"]]
    return pd.DataFrame({n: pd.Series(v, dtype=object) for n, v in columns.items()})   # a NULL key part stays None


def _sample_frame(plan: Plan, records: list[dict]) -> pd.DataFrame:
    """The sample's rows (none, when nothing differs) in its columns: keys, column, both values, |delta|;
    object columns, so that a NULL stays None next to numbers (pandas would make it NaN)."""
    names = [*plan.keys, "column", "prod_value", "test_value", "abs_delta"]
    return pd.DataFrame({n: pd.Series([r[n] for r in records], dtype=object if n != "abs_delta" else "float64")
                         for n in names})


def _narrowing(diff: TableDiff, plan: Plan, wanted: list) -> str | None:
    """The partitions a later statement needs, as a literal list to filter on; None to read them all
    (no partition column, one that is not a key, a NULL partition, a type without literals here, or every
    partition wanted). A key's rows may lie in several partitions of a column that is not a key: read in
    some partitions only, a key duplicated across partitions would look single, a moved row one-sided."""
    every = diff.partitions["partition_value"]
    if not plan.partition_column or plan.partition_column not in plan.keys or every.isna().any() \
            or len(wanted) >= len(every):
        return None
    return partition_literals(plan, wanted)
