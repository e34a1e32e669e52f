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
TIMESTAMP or DATETIME column (BigQuery's partitions; its hour, month or year for a table partitioned
so), its range for an integer-range partitioned table. Bookkeeping columns (phases.yaml
`bookkeeping_columns`, e.g. processed_at) are left out unless `exclude` says otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Sequence

import pandas as pd

from ..errors import NotFoundError, ParameterError, RunbookError
from ..formats import quote_columns, size
from ..phases import PhaseRegistry, load_phases
from ..results import Result
from ..warehouse import split_ref
from . import sql
from .sql import Column, Plan
from .values import abs_delta, cell_value, json_value, sort_key, sort_text

DEFAULT_SAMPLE_ROWS = 1000   # enough for a scatter; the summary shows the first few
SHOWN_SAMPLE_ROWS = 20
ONE_SIDED_NAMES = {"only_in_prod": "production", "only_in_test": "test"}   # sql.ONE_SIDED's side


class CostRefused(RunbookError):
    """A statement's dry-run estimate is above max_bytes_billed: nothing was run."""


@dataclass(frozen=True)
class Thresholds:
    """Beyond these a comparison fails; differences within them are a warning."""

    max_changed_rate: float = 0.01   # changed rows / key-matched rows
    max_missing_rate: float = 0.0    # rows only in production / production rows
    max_extra_rate: float = 0.0      # rows only in test / test rows
    max_duplicate_keys: int = 0      # keys found more than once, both sides together

    def __post_init__(self) -> None:
        for name in ("max_changed_rate", "max_missing_rate", "max_extra_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ParameterError(name, value, "give a fraction from 0 to 1 (0.01 is 1%)")
        if isinstance(self.max_duplicate_keys, bool) or not isinstance(self.max_duplicate_keys, int) \
                or self.max_duplicate_keys < 0:
            raise ParameterError("max_duplicate_keys", self.max_duplicate_keys, "give a whole number, 0 or more")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SchemaDiff:
    missing: list[str] = field(default_factory=list)   # production columns the test table lacks
    extra: list[str] = field(default_factory=list)     # test columns production lacks
    type_changed: list[tuple[str, str, str]] = field(default_factory=list)   # (column, prod type, test type)

    def __bool__(self) -> bool:
        return bool(self.count())

    def count(self) -> int:
        """Columns missing, added or retyped."""
        return len(self.missing) + len(self.extra) + len(self.type_changed)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"test lacks {', '.join(self.missing)}")
        if self.extra:
            parts.append(f"test adds {', '.join(self.extra)}")
        parts += [f"{c} is {p} in production, {t} in test" for c, p, t in self.type_changed]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"missing": self.missing, "extra": self.extra, "type_changed": [list(t) for t in self.type_changed]}


@dataclass
class TableDiff(Result):
    """How a test table differs from production, with a verdict against thresholds."""

    prod_table: str = ""
    test_table: str = ""
    keys: tuple[str, ...] = ()
    compared_columns: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    partition_column: str | None = None
    rows_prod: int = 0
    rows_test: int = 0
    only_in_prod: int = 0
    only_in_test: int = 0
    matched_rows: int = 0      # keys with exactly one row on each side: compared row by row
    changed_rows: int = 0
    duplicate_keys_prod: int = 0
    duplicate_keys_test: int = 0
    ambiguous_rows_prod: int = 0
    ambiguous_rows_test: int = 0
    column_mismatches: dict[str, int] = field(default_factory=dict)
    max_abs_delta: dict[str, float] = field(default_factory=dict)
    schema: SchemaDiff = field(default_factory=SchemaDiff)
    # partition_value, rows_prod, rows_test, only_in_prod, only_in_test, duplicate keys, changed_rows
    partitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    partition_mismatches: pd.DataFrame = field(default_factory=pd.DataFrame)   # partition_value, column, mismatches
    delta_histogram: pd.DataFrame = field(default_factory=pd.DataFrame)   # column, decade, cells, mismatches
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)   # keys..., column, prod_value, test_value, abs_delta
    # side ("production" or "test"), keys...: the first keys (by key) found on that side only
    one_sided_keys: pd.DataFrame = field(default_factory=pd.DataFrame)
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    bytes_estimated: int | None = None
    compared: bool = True   # False: the tables were not compared (refused, or not comparable): no counts

    @property
    def changed_rate(self) -> float:
        return self.changed_rows / self.matched_rows if self.matched_rows else 0.0

    def mismatch_dates(self, column: str | None = None) -> list[Any]:
        """Partition values with a mismatch (in `column`, or in any column)."""
        frame = self.partition_mismatches
        if frame.empty:
            return []
        if column is not None:
            frame = frame[frame["column"] == column]
        return sorted(frame.loc[frame["mismatches"] > 0, "partition_value"].dropna().unique().tolist())

    def differing_columns(self) -> list[str]:
        """Columns with mismatches, most first."""
        return [c for c, n in sorted(self.column_mismatches.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0]


# ---------------------------------------------------------------- compare_tables


def compare_tables(warehouse: Any, prod_table: str, test_table: str, keys: Sequence[str], *,
                   columns: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                   abs_tol: float = 0.0, rel_tol: float = 0.0, where: str | None = None,
                   params: Mapping[str, Any] | None = None, partition_column: str | None = None,
                   thresholds: Thresholds | None = None, max_bytes_billed: int | None = None,
                   sample_rows: int = DEFAULT_SAMPLE_ROWS, phases: PhaseRegistry | None = None) -> TableDiff:
    """Compare `test_table` with `prod_table` on `keys`, inside the warehouse.

    `where` (BigQuery SQL, with @name `params`) filters both tables: on BigQuery give a partition filter.
    `partition_column` (default: production's partitioning) splits every count by partition.
    Statements whose dry-run estimate exceeds `max_bytes_billed` are refused before they run (CostRefused).
    """
    abs_tol = _tolerance("abs_tol", abs_tol)
    rel_tol = _tolerance("rel_tol", rel_tol)
    thresholds = thresholds or Thresholds()
    if max_bytes_billed is not None and (isinstance(max_bytes_billed, bool) or not isinstance(max_bytes_billed, int)
                                         or max_bytes_billed <= 0):
        raise ParameterError("max_bytes_billed", max_bytes_billed, "give a number of bytes above 0, or None")
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 0:
        raise ParameterError("sample_rows", sample_rows, "give a whole number of rows, 0 or more")
    if where is not None and (not isinstance(where, str) or not where.strip()):
        raise ParameterError("where", where, "give a BigQuery SQL condition, or None")
    prod = _table_info(warehouse, "prod_table", prod_table)
    test = _table_info(warehouse, "test_table", test_table)
    if split_ref(prod_table) == split_ref(test_table):
        raise ParameterError("test_table", test_table, "name the test table, not production's: a table always "
                                                       "matches itself")
    keys = _keys(keys, prod, test)
    registry = phases or load_phases()
    compared, excluded, schema = _columns(columns, exclude, keys, prod, test, registry)
    partition = _partition(partition_column, prod, test)
    partition_of, partition_type = _partition_of(partition, prod)
    names = [c.name for c in compared]
    types = dict(prod.columns)
    plan = Plan(prod_table=prod.ref, test_table=test.ref, keys=keys, key_types=tuple(types[k] for k in keys),
                columns=tuple(compared), partition_column=partition, partition_type=partition_type, where=where,
                # (nothing to compare: one constant; the types are production's, the same on both sides
                # wherever fingerprints are compared: sql.Plan.fingerprints_comparable)
                row_hash=warehouse.row_hash_sql(names, [c.prod_type for c in compared]) if names else "0",
                key_hash=warehouse.row_hash_sql([f"_k{i}" for i in range(len(keys))]), partition_of=partition_of)
    diff = TableDiff(name=f"compare {test.ref}", verdict="pass", summary="-", prod_table=prod.ref,
                     test_table=test.ref, keys=keys, compared_columns=names, excluded=excluded,
                     partition_column=partition, schema=schema, abs_tol=abs_tol, rel_tol=rel_tol,
                     thresholds=thresholds)
    runner = _Runner(warehouse, dict(params or {}), abs_tol, rel_tol, max_bytes_billed, test.ref)
    _compare(diff, plan, runner, sample_rows)
    diff.bytes_estimated = runner.bytes_estimated
    return conclude(diff)


class _Runner:
    """Runs the statements: dry-run estimate first, refused above max_bytes_billed, estimates added up."""

    def __init__(self, warehouse: Any, params: dict, abs_tol: float, rel_tol: float, max_bytes: int | None,
                 what: str):
        self.warehouse, self.params, self.max_bytes, self.what = warehouse, params, max_bytes, what
        self.params.update(abs_tol=abs_tol, rel_tol=rel_tol)
        self.bytes_estimated: int | None = None

    def run(self, statement: str, step: str, **extra: Any) -> pd.DataFrame:
        params = {**self.params, **extra}
        used = {k: v for k, v in params.items() if f"@{k}" in statement}
        estimate = self.warehouse.estimate_bytes(statement, used)
        if estimate is not None:
            self.bytes_estimated = (self.bytes_estimated or 0) + int(estimate)
            if self.max_bytes is not None and estimate > self.max_bytes:
                raise CostRefused(f"The {step} of {self.what} would scan {size(int(estimate))}, above "
                                  f"max_bytes_billed={self.max_bytes} ({size(self.max_bytes)}); narrow the dates "
                                  "or raise the limit.")
        return self.warehouse.query(statement, used)


def _compare(diff: TableDiff, plan: Plan, runner: _Runner, sample_rows: int) -> None:
    """Counts per partition, the detail of what differs and the sample, into diff: one statement when
    no key is duplicated on either side; otherwise two more (counted key by key, then the detail)."""
    sample = sample_rows > 0
    limit = {"_limit": sample_rows} if sample else {}
    diff.sample = _sample_frame(plan, [])
    found = runner.run(sql.comparison(plan, sample), "comparison", **limit)
    found["partition_value"] = [cell_value(v, plan.partition_type) for v in found["partition_value"]]
    diff.one_sided_keys = _one_sided_keys(plan, found[found["_kind"].isin(sql.ONE_SIDED)])
    found = found[~found["_kind"].isin(sql.ONE_SIDED)]
    numbers = list(sql.JOIN_COUNTS)
    detail = found[found["_kind"].isin(["cell", "sample"])].copy()
    found = found[~found["_kind"].isin(["cell", "sample"])].copy()
    found[numbers] = found[numbers].fillna(0).astype("int64")
    joined = found[found["_kind"].isin(["join", "keys"])].groupby("partition_value", dropna=False)[numbers].sum()
    rows = {side: found[found["_kind"] == side].set_index("partition_value")["rows"] for side in ("prod", "test")}
    unique = (rows["prod"].sum() == joined["only_in_prod"].sum() + joined["matched_rows"].sum()
              and rows["test"].sum() == joined["only_in_test"].sum() + joined["matched_rows"].sum()
              and (joined["keys_only_in_prod"] == joined["only_in_prod"]).all()
              and (joined["keys_only_in_test"] == joined["only_in_test"]).all())
    if unique:
        values = sorted(set(joined.index) | set(rows["prod"].index) | set(rows["test"].index), key=sort_text)
        counts = pd.DataFrame({"partition_value": values})
        for name, series in (("rows_prod", rows["prod"]), ("rows_test", rows["test"])):
            counts[name] = [int(series.get(v, 0)) for v in values]
        for name in sql.COUNTS[2:]:
            counts[name] = [int(joined[name].get(v, 0)) if name in joined else 0 for v in values]
    else:   # duplicated keys: count key by key, and detail the keys found once on each side
        detail = detail.iloc[0:0]   # matched on a join that duplicates made ambiguous: not used
        counts = runner.run(sql.exact_counts(plan), "per-key count (duplicate keys)")
        counts["partition_value"] = [cell_value(v, plan.partition_type) for v in counts["partition_value"]]
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
        detail = runner.run(sql.detail(plan, _narrowing(diff, plan, changed), sample), "detail", **limit)
        detail["partition_value"] = [cell_value(v, plan.partition_type) for v in detail["partition_value"]]
    cells = detail[detail["_kind"] == "cell"] if "_kind" in detail else detail
    if not cells.empty:
        _detail(diff, plan, cells)
    if sample and not detail.empty:
        _sample(diff, plan, detail[detail["_kind"] == "sample"])


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
    columns = {"side": [] if ranked is None else [ONE_SIDED_NAMES[k] for k in ranked["_kind"]]}
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
    (no partition column, a NULL partition, a type without literals here, or every partition wanted)."""
    every = diff.partitions["partition_value"]
    if not plan.partition_column or every.isna().any() or len(wanted) >= len(every):
        return None
    return sql.partition_literals(plan, wanted)


# ---------------------------------------------------------------- verdict


def conclude(diff: TableDiff) -> TableDiff:
    """Set the verdict, the one-line summary, figures and details from the counts."""
    t = diff.thresholds
    failures, notes = [], []
    changed = diff.differing_columns()
    if diff.changed_rows:
        where = _dates_text(diff.mismatch_dates())
        text = (f"{diff.changed_rows:,} of {diff.matched_rows:,} matched rows differ ({diff.changed_rate:.2%}) "
                f"in {_names(changed)}{' on ' + where if where else ''}")
        (failures if diff.changed_rate > t.max_changed_rate else notes).append(text)
    for count, total, limit, what in ((diff.only_in_prod, diff.rows_prod, t.max_missing_rate, "only in production"),
                                      (diff.only_in_test, diff.rows_test, t.max_extra_rate, "only in test")):
        if count:
            (failures if count / max(total, 1) > limit else notes).append(f"{_rows(count)} {what}")
    duplicates = diff.duplicate_keys_prod + diff.duplicate_keys_test
    if duplicates:
        text = (f"{duplicates:,} duplicate key{'s' if duplicates != 1 else ''} ({diff.duplicate_keys_prod:,} in "
                f"production, {diff.duplicate_keys_test:,} in test)")
        (failures if duplicates > t.max_duplicate_keys else notes).append(text)
    if diff.schema:
        (failures if diff.schema.missing else notes).append(diff.schema.describe())
    if not diff.rows_prod and not diff.rows_test:
        notes.append("no rows on either side")
    diff.verdict = "fail" if failures else "warn" if notes else "pass"
    if diff.verdict == "pass":
        diff.summary = (f"{diff.test_table} matches {diff.prod_table}: {diff.rows_prod:,} rows, every key on both sides, "
                        f"no compared column differs beyond tolerance.")
    else:
        diff.summary = f"{diff.test_table} vs {diff.prod_table}: " + "; ".join(failures + notes) + "."
    return describe(diff)


def describe(diff: TableDiff) -> TableDiff:
    """The figures and details of a diff whose verdict and summary are set."""
    diff.figures = {"rows (prod/test)": f"{diff.rows_prod:,}/{diff.rows_test:,}" if diff.compared else "-",
                    "changed rows": diff.changed_rows, "only in production": diff.only_in_prod,
                    "only in test": diff.only_in_test,
                    "duplicate keys": diff.duplicate_keys_prod + diff.duplicate_keys_test,
                    "columns differing": len(diff.differing_columns()), "schema differences": diff.schema.count()}
    diff.details = details(diff)
    return diff


def details(diff: TableDiff) -> dict[str, Any]:
    """Everything the comparison found, JSON-safe (the sample cut to its first rows)."""
    def records(frame: pd.DataFrame, limit: int | None = None, values: tuple[str, ...] = ()) -> list[dict]:
        """Rows as plain values; a NaN in `values` is the value NaN (the sample's), elsewhere a NULL."""
        shown = frame if limit is None else frame.head(limit)
        return [{k: json_value(v, "NaN" if k in values else None) for k, v in row.items()}
                for row in shown.to_dict(orient="records")]

    return {
        "prod_table": diff.prod_table, "test_table": diff.test_table, "keys": list(diff.keys),
        "compared_columns": diff.compared_columns, "excluded": diff.excluded, "partition_column": diff.partition_column,
        **{name: getattr(diff, name) for name in (
            "rows_prod", "rows_test", "only_in_prod", "only_in_test", "matched_rows", "changed_rows",
            "duplicate_keys_prod", "duplicate_keys_test", "ambiguous_rows_prod", "ambiguous_rows_test")},
        "changed_rate": diff.changed_rate, "column_mismatches": diff.column_mismatches,
        "max_abs_delta": {c: json_value(v) for c, v in diff.max_abs_delta.items()}, "schema": diff.schema.to_dict(),
        "mismatch_dates": {c: [str(d) for d in diff.mismatch_dates(c)] for c in diff.differing_columns()},
        "partitions": records(diff.partitions), "sample": records(diff.sample, SHOWN_SAMPLE_ROWS, ("prod_value", "test_value")),
        "one_sided_keys": records(diff.one_sided_keys.groupby("side").head(SHOWN_SAMPLE_ROWS)
                                  if not diff.one_sided_keys.empty else diff.one_sided_keys),
        "abs_tol": diff.abs_tol, "rel_tol": diff.rel_tol, "thresholds": diff.thresholds.to_dict(),
        "bytes_estimated": diff.bytes_estimated, "compared": diff.compared,
    }


# ---------------------------------------------------------------- checks


def _tolerance(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ParameterError(name, value, "give a number of 0 or more")
    return float(value)


def _table_info(warehouse: Any, parameter: str, ref: Any):
    """The table's metadata, read once (table_info says itself that a table is missing)."""
    if isinstance(ref, str):
        try:
            return warehouse.table_info(ref)
        except (ParameterError, NotFoundError):   # not shaped like dataset.table, or not there
            pass
    raise ParameterError(parameter, ref, "give an existing table as dataset.table")


def _keys(keys: Any, prod, test) -> tuple[str, ...]:
    keys = [keys] if isinstance(keys, str) else keys
    if not isinstance(keys, (list, tuple)) or not keys:
        raise ParameterError("keys", keys, "give the key column names as a list")
    quote_columns(keys, "keys")
    if len(set(keys)) != len(keys):
        raise ParameterError("keys", list(keys), "name each key column once")
    prod_types, test_types = dict(prod.columns), dict(test.columns)
    for key in keys:
        for info, types in ((prod, prod_types), (test, test_types)):
            if key not in types:
                raise ParameterError("keys", key, f"choose columns of {info.ref}: {', '.join(types)}")
        if sql.base_type(prod_types[key]) != sql.base_type(test_types[key]):
            raise ParameterError("keys", key, f"a key must have one type, not {prod_types[key]} in {prod.ref} "
                                              f"and {test_types[key]} in {test.ref}")
    return tuple(keys)


def _columns(columns: Any, exclude: Any, keys: tuple[str, ...], prod, test,
             phases: PhaseRegistry) -> tuple[list[Column], list[str], SchemaDiff]:
    prod_types, test_types = dict(prod.columns), dict(test.columns)
    every = list(prod_types) + [c for c in test_types if c not in prod_types]
    if exclude is None:
        excluded = [c for c in every if c in phases.bookkeeping_columns and c not in keys]
    else:
        excluded = [exclude] if isinstance(exclude, str) else list(exclude) if isinstance(exclude, (list, tuple)) else None
        if excluded is None:
            raise ParameterError("exclude", exclude, "give a list of column names, or None for the bookkeeping columns")
        for name in excluded:
            if name in keys:
                raise ParameterError("exclude", name, "key columns are always compared; exclude other columns")
            if name not in prod_types and name not in test_types:
                raise ParameterError("exclude", name, f"choose columns of the tables: {', '.join(every)}")
    if columns is None:
        wanted = [c for c in every if c not in keys and c not in excluded]
    else:
        wanted = [columns] if isinstance(columns, str) else list(columns) if isinstance(columns, (list, tuple)) else []
        if not wanted:
            raise ParameterError("columns", columns, "give a non-empty list of column names, or None for all")
        quote_columns(wanted, "columns")
        for name in wanted:
            if name not in prod_types and name not in test_types:
                raise ParameterError("columns", name, f"choose columns of the tables: {', '.join(every)}")
            if name in keys or name in excluded:
                raise ParameterError("columns", name, "it is a key or excluded; keys are matched, not compared")
    schema = SchemaDiff(missing=[c for c in wanted if c not in test_types],
                        extra=[c for c in wanted if c not in prod_types],
                        type_changed=[(c, prod_types[c], test_types[c]) for c in wanted
                                      if c in prod_types and c in test_types and prod_types[c] != test_types[c]])
    compared = [Column(c, prod_types[c], test_types[c]) for c in wanted if c in prod_types and c in test_types]
    return compared, excluded, schema


def _partition(partition_column: str | None, prod, test) -> str | None:
    names_p, names_t = dict(prod.columns), dict(test.columns)
    if partition_column is None:
        partition_column = prod.partition_column
        return partition_column if partition_column in names_p and partition_column in names_t else None
    if not isinstance(partition_column, str) or partition_column not in names_p or partition_column not in names_t:
        raise ParameterError("partition_column", partition_column, "choose a column both tables have, or None")
    return partition_column


def _partition_of(column: str | None, prod) -> tuple[str, str]:
    """Which partition a value of `column` falls in, as SQL over the value ({0}), and the partitions'
    type: as BigQuery partitions the table, a TIMESTAMP or DATETIME column by day (or by the hour,
    month or year its table says), an integer-range partitioned column by its ranges (values outside
    them in the NULL partition); any other column by its value."""
    if column is None:
        return "{0}", ""
    kind = sql.base_type(dict(prod.columns)[column])
    unit = (prod.partition_type or "DAY") if column == prod.partition_column else "DAY"
    if kind in ("TIMESTAMP", "DATETIME") and unit == "HOUR":
        return f"{kind}_TRUNC({{0}}, HOUR)", kind
    if kind in ("TIMESTAMP", "DATETIME", "DATE"):
        day = "{0}" if kind == "DATE" else "DATE({0})"
        return (f"DATE_TRUNC({day}, {unit})" if unit in ("MONTH", "YEAR") else day), "DATE"
    if kind == "INT64" and unit == "RANGE" and prod.partition_range:
        start, end, interval = (int(v) for v in prod.partition_range)
        return (f"IF({{0}} >= {start} AND {{0}} < {end}, {start} + DIV({{0}} - {start}, {interval}) * {interval}, "
                "NULL)"), "INT64"
    return "{0}", dict(prod.columns)[column]


# ---------------------------------------------------------------- summary text


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _names(columns: list[str], limit: int = 4) -> str:
    return ", ".join(columns[:limit]) + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _dates_text(values: list[Any]) -> str:
    if not values:
        return ""
    if len(values) <= 3:
        return ", ".join(str(v) for v in values)
    kind = "dates" if all(isinstance(v, date) for v in values) else "partitions"
    return f"{len(values)} {kind} from {values[0]} to {values[-1]}"


