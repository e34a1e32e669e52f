"""The comparison's SQL, written once in BigQuery's dialect and run where the data is.

Two statements, each a single SELECT (so BigQuery can dry-run it and hold it to maximum_bytes_billed):

1. compare_pass, in two steps. The hash step reduces every row of both tables to its key, partition
   and one fingerprint of its compared columns (the warehouse's own vectorised hash,
   `Warehouse.row_hash_sql`); one GROUP BY over both sides tells, per key, how many rows each side
   has and whether their fingerprints agree. The detail step joins only the keys whose single rows
   have different fingerprints back to both tables' compared columns and compares each column:
   exactly for non-numeric columns, within `abs_tol + rel_tol * |prod|` for numeric ones. Only
   counts per partition and column, and a histogram of |test - prod| by power of ten, come back.
2. sample, over the few partitions that hold them: the first mismatched rows by key, with both
   sides' values.

Internal names start with an underscore and number the key and compared columns (_k0, _p0, _t0),
so no user column name can collide with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

NUMERIC_TYPES = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC"})
# Types BigQuery can compare with `=`; anything else (ARRAY, STRUCT, JSON, GEOGRAPHY) is compared as JSON text.
EQUALITY_TYPES = NUMERIC_TYPES | {"STRING", "BYTES", "BOOL", "DATE", "DATETIME", "TIME", "TIMESTAMP"}


def base_type(bigquery_type: str) -> str:
    """NUMERIC(10, 2) -> NUMERIC, ARRAY<INT64> -> ARRAY, int64 -> INT64."""
    return bigquery_type.split("(")[0].split("<")[0].strip().upper()


@dataclass(frozen=True)
class Column:
    """A compared column and its BigQuery type on each side."""

    name: str
    prod_type: str
    test_type: str

    @property
    def numeric(self) -> bool:
        return base_type(self.prod_type) in NUMERIC_TYPES and base_type(self.test_type) in NUMERIC_TYPES

    @property
    def as_json(self) -> bool:
        """Compared as JSON text: a type `=` cannot compare, or a type change between non-numeric types."""
        p, t = base_type(self.prod_type), base_type(self.test_type)
        return not self.numeric and (p != t or p not in EQUALITY_TYPES)


@dataclass(frozen=True)
class Plan:
    """What to compare, as compare_tables settled it."""

    prod_table: str
    test_table: str
    keys: tuple[str, ...]
    key_types: tuple[str, ...]
    columns: tuple[Column, ...]
    partition_column: str | None
    partition_type: str
    where: str | None
    row_hash: str      # the warehouse's fingerprint expression over the compared columns (both sides)


def _ident(name: str) -> str:
    return f"`{name}`"


def partition_literals(plan: Plan, values: Sequence[Any]) -> str | None:
    """Partition values as SQL literals, for a filter BigQuery can prune partitions with (a literal
    IN list; DuckDB skips row groups with it too); None for types not written that way here."""
    kind = base_type(plan.partition_type)
    if kind == "DATE" and all(isinstance(v, date) and not isinstance(v, datetime) for v in values):
        return ", ".join(f"DATE '{v.isoformat()}'" for v in values)
    if kind == "INT64" and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return ", ".join(str(v) for v in values)
    return None


def _filters(plan: Plan, partitions: str | None) -> str:
    filters = [f"({plan.where})"] if plan.where else []
    if partitions:
        filters.append(f"{_ident(plan.partition_column)} IN ({partitions})")
    return f" WHERE {' AND '.join(filters)}" if filters else ""


def _part(plan: Plan) -> str:
    """The partition of a row: its key column when the partition column is a key (the usual case:
    phases.yaml makes it the first), else the column itself."""
    if plan.partition_column in plan.keys:
        return f"_k{plan.keys.index(plan.partition_column)}"
    return _ident(plan.partition_column) if plan.partition_column else "NULL"


def _fingerprints(plan: Plan, side: str, partitions: str | None) -> str:
    """One table reduced to keys, partition and the fingerprint of its compared columns."""
    table = plan.prod_table if side == "p" else plan.test_table
    selected = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    if plan.partition_column not in plan.keys:
        selected.append(f"{_part(plan)} AS _part")
    selected.append(f"{plan.row_hash} AS _h")
    return f"SELECT {', '.join(selected)} FROM `{table}`{_filters(plan, partitions)}"


def _values(plan: Plan, side: str, partitions: str | None) -> str:
    """One table's keys, partition and compared columns (read again only to be joined to changed keys)."""
    table = plan.prod_table if side == "p" else plan.test_table
    selected = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    if side == "p":
        selected.append(f"{_ident(plan.partition_column) if plan.partition_column else 'NULL'} AS _part")
    selected += [f"{_ident(c.name)} AS _{side}{j}" for j, c in enumerate(plan.columns)]
    return f"SELECT {', '.join(selected)} FROM `{table}`{_filters(plan, partitions)}"


def _key_list(plan: Plan, alias: str = "") -> str:
    return ", ".join(f"{alias}_k{i}" for i in range(len(plan.keys)))


def _keys_cte(plan: Plan) -> str:
    """Per key: rows on each side and, for a single row, its fingerprint (a GROUP BY over both sides,
    which also counts duplicate keys and matches NULL key parts with NULL)."""
    keys = _key_list(plan)
    # Each side's fingerprint in its own column (NULL on the other side's rows): counting and taking
    # the least of a column per key is cheaper than testing a side flag in every aggregate.
    none = "IF(FALSE, _h, NULL)"   # a NULL of the fingerprint's type, whatever the engine's hash returns
    # A partition column that is a key needs no aggregate of its own.
    keyed = plan.partition_column in plan.keys
    part, carried = (f"{_part(plan)} AS _part", "") if keyed else ("MIN(_part) AS _part", ", _part")
    return f"""_keys AS (
  SELECT {keys}, {part}, COUNT(_hp) AS _np, COUNT(_ht) AS _nt, MIN(_hp) AS _hp, MIN(_ht) AS _ht
  FROM (SELECT {keys}{carried}, _h AS _hp, {none} AS _ht FROM _prod
        UNION ALL SELECT {keys}{carried}, {none} AS _hp, _h AS _ht FROM _test)
  GROUP BY {keys}
)"""


COUNTS = ("rows_prod", "rows_test", "only_in_prod", "only_in_test", "duplicate_keys_prod", "duplicate_keys_test",
           "ambiguous_rows_prod", "ambiguous_rows_test", "matched_rows", "fingerprints_differ")
CELLS = ("mismatches", "cells")


def _pairs_cte(plan: Plan, partitions: str | None) -> str:
    """Both sides' compared columns for the keys whose single rows have different fingerprints: the
    fingerprints are matched first, and only then are the tables read again, joined to those keys
    (so no engine ever holds or joins whole rows of every key)."""
    on_p = " AND ".join(f"p._k{i} IS NOT DISTINCT FROM c._k{i}" for i in range(len(plan.keys)))
    on_t = " AND ".join(f"t._k{i} IS NOT DISTINCT FROM c._k{i}" for i in range(len(plan.keys)))
    values = "".join(f", p._p{j}, t._t{j}" for j in range(len(plan.columns)))
    return f"""_prod AS ({_fingerprints(plan, "p", partitions)}),
_test AS ({_fingerprints(plan, "t", partitions)}),
{_keys_cte(plan)},
_changed AS (SELECT {_key_list(plan)} FROM _keys WHERE _np = 1 AND _nt = 1 AND _hp != _ht),
_pairs AS (
  SELECT p._part, {_key_list(plan, "c.")}{values}
  FROM _changed AS c
  JOIN ({_values(plan, "p", partitions)}) AS p ON {on_p}
  JOIN ({_values(plan, "t", partitions)}) AS t ON {on_t}
)"""


def _float(expr: str) -> str:
    return f"CAST({expr} AS FLOAT64)"


def _delta(j: int) -> str:
    return f"ABS({_float(f'_t{j}')} - {_float(f'_p{j}')})"


def equal(column: Column, j: int) -> str:
    """TRUE when the two sides' values count as equal: both NULL, or equal, or (numeric) within tolerance."""
    p, t = f"_p{j}", f"_t{j}"
    if column.as_json:
        return f"(TO_JSON_STRING({p}) = TO_JSON_STRING({t}))"
    same = [f"({p} IS NULL AND {t} IS NULL)", f"IFNULL({p} = {t}, FALSE)"]
    if column.numeric:
        same.append(f"IFNULL({_delta(j)} <= @abs_tol + @rel_tol * ABS({_float(p)}), FALSE)")
        if base_type(column.prod_type) == base_type(column.test_type) == "FLOAT64":
            same.append(f"IFNULL(IS_NAN({p}) AND IS_NAN({t}), FALSE)")
    return "(" + " OR ".join(same) + ")"


def compare_pass(plan: Plan) -> str:
    """One statement, two kinds of rows (`_kind`):
    - 'count', per partition: rows on each side, keys on one side only, duplicate keys, key-matched
      rows, and how many of those have fingerprints that differ;
    - 'cell', per partition and column: mismatches beyond tolerance and the largest |test - prod|
      (column '' counts rows with any mismatch), and per column and power of ten of |test - prod|
      (`by_decade` 1): the differing cells and those beyond tolerance.
    The per-key fingerprints are computed once and serve both (an engine that does not keep them,
    BigQuery, reads the same columns of the same tables again, which it bills once)."""
    equal_all = " AND ".join(equal(c, j) for j, c in enumerate(plan.columns)) or "TRUE"
    cells = [f"STRUCT('' AS column_name, NOT ({equal_all}) AS differs, CAST(NULL AS FLOAT64) AS delta)"]
    for j, c in enumerate(plan.columns):
        delta = _delta(j) if c.numeric else "CAST(NULL AS FLOAT64)"
        cells.append(f"STRUCT('{c.name}' AS column_name, NOT {equal(c, j)} AS differs, {delta} AS delta)")
    cell_list = ",\n    ".join(cells)
    no_counts = ", ".join(f"CAST(NULL AS INT64) AS {name}" for name in COUNTS)
    no_cells = ", ".join(f"CAST(NULL AS INT64) AS {name}" for name in CELLS)
    both = "_np > 0 AND _nt > 0 AND (_np > 1 OR _nt > 1)"
    return f"""WITH
{_pairs_cte(plan, None)},
_cells AS (
  SELECT _part, cell.column_name, cell.differs, cell.delta,
    IF(cell.delta > 0, FLOOR(LOG10(cell.delta)), NULL) AS _decade
  FROM _pairs, UNNEST([
    {cell_list}
  ]) AS cell
)
SELECT 'count' AS _kind, _part AS partition_value, CAST(NULL AS STRING) AS column_name,
  CAST(NULL AS FLOAT64) AS decade, 0 AS by_decade, CAST(NULL AS FLOAT64) AS max_abs_delta, {no_cells},
  SUM(_np) AS rows_prod, SUM(_nt) AS rows_test,
  SUM(IF(_nt = 0, _np, 0)) AS only_in_prod, SUM(IF(_np = 0, _nt, 0)) AS only_in_test,
  COUNTIF(_np > 1) AS duplicate_keys_prod, COUNTIF(_nt > 1) AS duplicate_keys_test,
  SUM(IF({both}, _np, 0)) AS ambiguous_rows_prod, SUM(IF({both}, _nt, 0)) AS ambiguous_rows_test,
  COUNTIF(_np = 1 AND _nt = 1) AS matched_rows,
  COUNTIF(_np = 1 AND _nt = 1 AND _hp != _ht) AS fingerprints_differ
FROM _keys
GROUP BY _part
UNION ALL
SELECT 'cell' AS _kind, _part AS partition_value, column_name, _decade AS decade, GROUPING(_part) AS by_decade,
  MAX(delta) AS max_abs_delta, COUNTIF(differs) AS mismatches, COUNT(*) AS cells, {no_counts}
FROM _cells
GROUP BY GROUPING SETS ((_part, column_name), (column_name, _decade))"""


def sample(plan: Plan, partitions: str | None) -> str:
    """The first mismatched rows by key (up to @_limit), with both sides' values and a flag per column."""
    flags = ", ".join(f"NOT {equal(c, j)} AS _d{j}" for j, c in enumerate(plan.columns))
    values = ", ".join(f"_p{j}, _t{j}" for j in range(len(plan.columns)))
    equal_all = " AND ".join(equal(c, j) for j, c in enumerate(plan.columns))
    return f"""WITH
{_pairs_cte(plan, partitions)}
SELECT _part AS partition_value, {_key_list(plan)}, {values}, {flags}
FROM _pairs
WHERE NOT ({equal_all})
ORDER BY {_key_list(plan)}
LIMIT @_limit"""
