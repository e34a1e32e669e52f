"""The comparison's SQL, written once in BigQuery's dialect and run where the data is.

Each statement is a single SELECT (so BigQuery can dry-run it and hold it to maximum_bytes_billed),
and only counts, a histogram and a bounded sample come back:

1. comparison: every row of both tables reduced to its key, a fingerprint of its key and one of its
   compared columns (the warehouse's own vectorised hash, `Warehouse.row_hash_sql`), the two sides
   joined on the key: rows on one side only, pairs, pairs whose fingerprints differ, per partition.
   Then the detail: only the keys whose rows have different fingerprints are read again from both
   tables, and each column is compared: exactly for non-numeric columns, within
   `abs_tol + rel_tol * |prod|` for numeric ones.
   The counts also tell whether any key is duplicated; only then do exact_counts count key by key (a
   GROUP BY over both sides, dearer than the join) and detail compare the keys found once on each side.
2. sample, over the few partitions that hold them: the first mismatched rows by key, both sides' values.

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
    key_hash: str      # ... and over the key columns, named _k0, _k1, ...


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


def _keyed(plan: Plan, selected: list[str], table: str, partitions: str | None) -> str:
    """Rows of `table` with the key columns as _k0.. and a fingerprint of them, _kh (computed over the
    _k names, so that every statement and CTE computes the same fingerprint of the same key)."""
    keys = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    inner = f"SELECT {', '.join(keys + selected)} FROM `{table}`{_filters(plan, partitions)}"
    return f"SELECT *, {plan.key_hash} AS _kh FROM ({inner})"


def _fingerprints(plan: Plan, side: str, partitions: str | None, key_hash: bool = False) -> str:
    """One table reduced to keys, partition and the fingerprint of its compared columns (and, to be
    joined on, of its keys)."""
    table = plan.prod_table if side == "p" else plan.test_table
    selected = []
    if key_hash or plan.partition_column not in plan.keys:
        selected.append(f"{_ident(plan.partition_column) if plan.partition_column else 'NULL'} AS _part")
    selected.append(f"{plan.row_hash} AS _h")
    if key_hash:
        return _keyed(plan, selected, table, partitions)
    keys = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    return f"SELECT {', '.join(keys + selected)} FROM `{table}`{_filters(plan, partitions)}"


def _values(plan: Plan, side: str, partitions: str | None) -> str:
    """One table's compared columns, only for the changed keys: a semi-join on the key fingerprint
    (the engine builds its hash table from the few changed keys, never from the table's rows)."""
    table = plan.prod_table if side == "p" else plan.test_table
    selected = [f"{_ident(plan.partition_column) if plan.partition_column else 'NULL'} AS _part"] if side == "p" else []
    selected += [f"{_ident(c.name)} AS _{side}{j}" for j, c in enumerate(plan.columns)]
    return f"SELECT * FROM ({_keyed(plan, selected, table, partitions)}) WHERE _kh IN (SELECT _kh FROM _changed)"


def _key_list(plan: Plan, alias: str = "") -> str:
    return ", ".join(f"{alias}_k{i}" for i in range(len(plan.keys)))


def _keys_cte(plan: Plan) -> str:
    """Per key: rows on each side and, for a single row, its fingerprint (a GROUP BY over both sides,
    which also counts duplicate keys and matches NULL key parts with NULL)."""
    keys = _key_list(plan)
    # Each side's fingerprint in its own column (NULL on the other side's rows): counting and taking
    # the least of a column per key is cheaper than testing a side flag in every aggregate.
    none = "IF(FALSE, _h, NULL)"   # a NULL of the fingerprint's type, whatever the engine's hash returns
    # A partition column that is a key (phases.yaml makes it the first) needs no aggregate of its own.
    if plan.partition_column in plan.keys:
        part, carried = f"_k{plan.keys.index(plan.partition_column)} AS _part", ""
    else:
        part, carried = "MIN(_part) AS _part", ", _part"
    return f"""_keys AS (
  SELECT {keys}, {part}, COUNT(_hp) AS _np, COUNT(_ht) AS _nt, MIN(_hp) AS _hp, MIN(_ht) AS _ht
  FROM (SELECT {keys}{carried}, _h AS _hp, {none} AS _ht FROM _prod
        UNION ALL SELECT {keys}{carried}, {none} AS _hp, _h AS _ht FROM _test)
  GROUP BY {keys}
)"""


COUNTS = ("rows_prod", "rows_test", "only_in_prod", "only_in_test", "duplicate_keys_prod", "duplicate_keys_test",
          "ambiguous_rows_prod", "ambiguous_rows_test", "matched_rows", "fingerprints_differ")
JOIN_COUNTS = ("rows", "only_in_prod", "only_in_test", "matched_rows", "fingerprints_differ",
               "keys_only_in_prod", "keys_only_in_test")


def _joined_on(plan: Plan, left: str, right: str) -> str:
    """Rows of the two sides with the same key: equal key fingerprints (an equality, which is what a
    FULL JOIN needs on BigQuery and what makes the join a hash join), then the keys themselves, NULL
    matching NULL as GROUP BY matches it."""
    same = [f"{left}._kh = {right}._kh"]
    same += [f"{left}._k{i} IS NOT DISTINCT FROM {right}._k{i}" for i in range(len(plan.keys))]
    return " AND ".join(same)


DETAIL = ("column_number", "decade", "by_decade", "max_abs_delta", "mismatches", "cells")


def _nulls(names: tuple[str, ...], kinds: dict[str, str] | None = None) -> str:
    return ", ".join(f"CAST(NULL AS {(kinds or {}).get(n, 'INT64')}) AS {n}" for n in names)


_DETAIL_KINDS = {"decade": "FLOAT64", "max_abs_delta": "FLOAT64"}


def comparison(plan: Plan) -> str:
    """The usual case in one statement, as cheap as one hash join of fingerprints (the floor of any
    comparison) plus reading the changed rows' values:

    - rows of kind 'join', per partition: rows on one side only, key-matched pairs, pairs whose
      fingerprints differ, and distinct keys among the one-sided rows;
    - rows of kind 'prod' and 'test', per partition: each table's own row count;
    - rows of kind 'cell': the detail (see detail()) of the pairs whose fingerprints differ.

    When each table's rows equal its one-sided rows plus the pairs, and the one-sided rows have as
    many distinct keys as rows, no key is duplicated and all of it is exact; otherwise the caller
    counts per key (exact_counts) and details again (detail with unique_keys=False)."""
    part = _ident(plan.partition_column) if plan.partition_column else "NULL"
    keys = ", ".join(f"IF(p._kh IS NULL, t._k{i}, p._k{i}) AS _k{i}" for i in range(len(plan.keys)))
    changed = f"""_prod AS ({_fingerprints(plan, "p", None, key_hash=True)}),
_test AS ({_fingerprints(plan, "t", None, key_hash=True)}),
_joined AS (
  SELECT IF(p._kh IS NULL, t._part, p._part) AS _part, COALESCE(p._kh, t._kh) AS _kh, {keys},
    p._kh AS _pkh, t._kh AS _tkh, p._h AS _hp, t._h AS _ht
  FROM _prod AS p FULL JOIN _test AS t ON {_joined_on(plan, "p", "t")}
),
_changed AS (
  SELECT _kh, {_key_list(plan)} FROM _joined WHERE _pkh IS NOT NULL AND _tkh IS NOT NULL AND _hp != _ht
)"""
    no_join = _nulls(JOIN_COUNTS[1:])
    no_detail = _nulls(DETAIL, _DETAIL_KINDS)
    return f"""WITH
{_pairs_cte(plan, None, changed)},
{_cell_ctes(plan)}
SELECT 'join' AS _kind, _part AS partition_value, CAST(NULL AS INT64) AS rows,
  COUNTIF(_tkh IS NULL) AS only_in_prod, COUNTIF(_pkh IS NULL) AS only_in_test,
  COUNTIF(_pkh IS NOT NULL AND _tkh IS NOT NULL) AS matched_rows,
  COUNTIF(_pkh IS NOT NULL AND _tkh IS NOT NULL AND _hp != _ht) AS fingerprints_differ,
  COUNT(DISTINCT IF(_tkh IS NULL, _pkh, NULL)) AS keys_only_in_prod,
  COUNT(DISTINCT IF(_pkh IS NULL, _tkh, NULL)) AS keys_only_in_test, {no_detail}
FROM _joined
GROUP BY _part
UNION ALL
SELECT 'prod' AS _kind, {part} AS partition_value, COUNT(*) AS rows, {no_join}, {no_detail}
FROM `{plan.prod_table}`{_filters(plan, None)} GROUP BY 2
UNION ALL
SELECT 'test' AS _kind, {part} AS partition_value, COUNT(*) AS rows, {no_join}, {no_detail}
FROM `{plan.test_table}`{_filters(plan, None)} GROUP BY 2
UNION ALL
SELECT 'cell' AS _kind, _part AS partition_value, CAST(NULL AS INT64) AS rows, {no_join}, {_CELL_AGGREGATES}
FROM _decades
GROUP BY GROUPING SETS ((_part, _col), (_col, _decade))"""


def exact_counts(plan: Plan) -> str:
    """Counts per partition, key by key (a GROUP BY over both sides): exact whatever the duplicates."""
    both = "_np > 0 AND _nt > 0 AND (_np > 1 OR _nt > 1)"
    return f"""WITH
_prod AS ({_fingerprints(plan, "p", None)}),
_test AS ({_fingerprints(plan, "t", None)}),
{_keys_cte(plan)}
SELECT _part AS partition_value,
  SUM(_np) AS rows_prod, SUM(_nt) AS rows_test,
  SUM(IF(_nt = 0, _np, 0)) AS only_in_prod, SUM(IF(_np = 0, _nt, 0)) AS only_in_test,
  COUNTIF(_np > 1) AS duplicate_keys_prod, COUNTIF(_nt > 1) AS duplicate_keys_test,
  SUM(IF({both}, _np, 0)) AS ambiguous_rows_prod, SUM(IF({both}, _nt, 0)) AS ambiguous_rows_test,
  COUNTIF(_np = 1 AND _nt = 1) AS matched_rows,
  COUNTIF(_np = 1 AND _nt = 1 AND _hp != _ht) AS fingerprints_differ
FROM _keys
GROUP BY _part"""


def _changed_cte(plan: Plan, partitions: str | None, unique_keys: bool) -> str:
    """The keys whose single rows have different fingerprints (_kh and _k0..): a join of the two
    sides' fingerprints when no key is duplicated, else key by key."""
    if unique_keys:
        return f"""_prod AS ({_fingerprints(plan, "p", partitions, key_hash=True)}),
_test AS ({_fingerprints(plan, "t", partitions, key_hash=True)}),
_changed AS (
  SELECT p._kh, {_key_list(plan, "p.")} FROM _prod AS p JOIN _test AS t ON {_joined_on(plan, "p", "t")}
  WHERE p._h != t._h
)"""
    return f"""_prod AS ({_fingerprints(plan, "p", partitions)}),
_test AS ({_fingerprints(plan, "t", partitions)}),
{_keys_cte(plan)},
_changed AS (
  SELECT {plan.key_hash} AS _kh, {_key_list(plan)} FROM _keys WHERE _np = 1 AND _nt = 1 AND _hp != _ht
)"""


def _pairs_cte(plan: Plan, partitions: str | None, changed: str) -> str:
    """Both sides' compared columns for the `changed` keys: the fingerprints were matched first, and
    only then are the tables read again, for those keys alone (no engine joins whole rows of every key)."""
    values = "".join(f", p._p{j}, t._t{j}" for j in range(len(plan.columns)))
    return f"""{changed},
_pairs AS (
  SELECT p._part, {_key_list(plan, "c.")}{values}
  FROM _changed AS c
  JOIN ({_values(plan, "p", partitions)}) AS p ON {_joined_on(plan, "p", "c")}
  JOIN ({_values(plan, "t", partitions)}) AS t ON {_joined_on(plan, "t", "c")}
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


def _cell_ctes(plan: Plan) -> str:
    """From _pairs: each changed row reduced to one flag and one |difference| per column, then spread
    into one row per column by a cross join with the column numbers (not by UNNESTing an array built
    from the row, which an engine may run as a join of whole rows). Column number 0 is the row
    itself (any mismatch), j + 1 is plan.columns[j]."""
    flags = [f"NOT ({' AND '.join(equal(c, j) for j, c in enumerate(plan.columns)) or 'TRUE'}) AS _d0",
             "CAST(NULL AS FLOAT64) AS _x0"]
    for j, c in enumerate(plan.columns, start=1):
        flags += [f"NOT {equal(c, j - 1)} AS _d{j}", f"{_delta(j - 1) if c.numeric else 'CAST(NULL AS FLOAT64)'} AS _x{j}"]
    n = len(plan.columns)
    pick = lambda prefix: "CASE _col " + " ".join(f"WHEN {j} THEN {prefix}{j}" for j in range(n + 1)) + " END"  # noqa: E731
    return f"""_flags AS (SELECT _part, {", ".join(flags)} FROM _pairs),
_cells AS (
  SELECT _part, _col, {pick("_d")} AS differs, {pick("_x")} AS delta
  FROM _flags CROSS JOIN UNNEST(GENERATE_ARRAY(0, {n})) AS _col
),
_decades AS (SELECT *, IF(delta > 0, FLOOR(LOG10(delta)), NULL) AS _decade FROM _cells)"""


# Per partition and column: mismatches beyond tolerance and the largest |test - prod|; per column and
# power of ten of |test - prod| (by_decade 1): the cells with a difference, and those beyond tolerance.
_CELL_AGGREGATES = ("_col AS column_number, _decade AS decade, GROUPING(_part) AS by_decade, "
                    "MAX(delta) AS max_abs_delta, COUNTIF(differs) AS mismatches, COUNT(*) AS cells")


def detail(plan: Plan, partitions: str | None, unique_keys: bool) -> str:
    """The detail of the keys whose fingerprints differ, on its own (after exact_counts)."""
    return f"""WITH
{_pairs_cte(plan, partitions, _changed_cte(plan, partitions, unique_keys))},
{_cell_ctes(plan)}
SELECT _part AS partition_value, {_CELL_AGGREGATES}
FROM _decades
GROUP BY GROUPING SETS ((_part, _col), (_col, _decade))"""


def sample(plan: Plan, partitions: str | None, unique_keys: bool) -> str:
    """The first mismatched rows by key (up to @_limit), with both sides' values and a flag per column."""
    flags = ", ".join(f"NOT {equal(c, j)} AS _d{j}" for j, c in enumerate(plan.columns))
    values = ", ".join(f"_p{j}, _t{j}" for j in range(len(plan.columns)))
    equal_all = " AND ".join(equal(c, j) for j, c in enumerate(plan.columns))
    return f"""WITH
{_pairs_cte(plan, partitions, _changed_cte(plan, partitions, unique_keys))}
SELECT _part AS partition_value, {_key_list(plan)}, {values}, {flags}
FROM _pairs
WHERE NOT ({equal_all})
ORDER BY {_key_list(plan)}
LIMIT @_limit"""
