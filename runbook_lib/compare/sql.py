"""The comparison's SQL, written once in BigQuery's dialect and run where the data is.

Each statement is a single SELECT (so BigQuery can dry-run it and hold it to maximum_bytes_billed),
and only counts, a histogram and a bounded sample come back. Usually one statement does it all:

comparison: each table read once for its keys, a fingerprint of its keys and one of its compared
   columns (the warehouse's own vectorised hash, `Warehouse.row_hash_sql`), production's rows also
   carrying their compared values; the two sides joined on the key (the join's hash table holds test's
   keys and fingerprints only, never whole rows). One aggregate over the join counts, per partition,
   the rows on one side only, the pairs and the pairs whose fingerprints differ, and gathers the few
   rows that are not equal pairs (with production's values) into arrays. Only for the pairs whose
   fingerprints differ is test read again (a semi-join on their keys), and each column compared:
   exactly for non-numeric columns, within `abs_tol + rel_tol * |prod|` for numeric ones; the same
   pass gives the mismatches per partition and column, the largest differences, their histogram and
   the sample (the first mismatched rows by key, both sides' values); the first keys on each side
   only come from the gathered rows too.

A fingerprint stands for a row's values only while each column has one type on both sides: the
sandbox's hash is blind to the type (TRUE hashes as 1, a DATE as its day number), so when a compared
column changed type every key-matched pair is compared column by column.

The counts also tell whether any key is duplicated; only then do exact_counts count key by key (a
GROUP BY over both sides, dearer than the join) and detail compare the keys found once on each side,
reading only the partitions where fingerprints differ.

Internal names start with an underscore and number the key and compared columns (_k0, _p0, _t0),
so no user column name can collide with them.
"""
from __future__ import annotations

from ..formats import quote_identifier
from .plan import Column, Plan, base_type

def _ident(name: str) -> str:
    return quote_identifier(name)   # (a flexible column name as BigQuery quotes it: `3pt_pct`)


def _filters(plan: Plan, partitions: str | None) -> str:
    filters = [f"({plan.where})"] if plan.where else []
    if partitions:
        filters.append(f"{_ident(plan.partition_column)} IN ({partitions})")
    return f" WHERE {' AND '.join(filters)}" if filters else ""


def _partition(plan: Plan, side: str) -> str:
    return f"{plan.part(_ident(plan.partition_column), side) if plan.partition_column else 'NULL'} AS _part"


def _keyed(plan: Plan, selected: list[str], table: str, partitions: str | None) -> str:
    """Rows of `table` with the key columns as _k0.. and a fingerprint of them, _kh (computed over the
    _k names, so that every statement and CTE computes the same fingerprint of the same key)."""
    keys = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    inner = f"SELECT {', '.join(keys + selected)} FROM `{table}`{_filters(plan, partitions)}"
    return f"SELECT *, {plan.key_hash} AS _kh FROM ({inner})"


def _table(plan: Plan, side: str) -> str:
    return plan.prod_table if side == "p" else plan.test_table


def _value_columns(plan: Plan, side: str, alias: str = "") -> list[str]:
    return [f"{alias}_{side}{j}" for j in range(len(plan.columns))]


def _read_values(plan: Plan, side: str) -> list[str]:
    """A side's compared columns, named _p0.. (production) or _t0.. (test)."""
    return [f"{_ident(c.name)} AS _{side}{j}" for j, c in enumerate(plan.columns)]


def _fingerprints(plan: Plan, side: str, partitions: str | None, key_hash: bool = False) -> str:
    """One table reduced to keys, partition and the fingerprint of its compared columns (and, to be
    joined on, of its keys)."""
    selected = []
    if key_hash or plan.partition_column not in plan.keys:
        selected.append(_partition(plan, side))
    selected.append(f"{plan.row_hash} AS _h")
    if key_hash:
        return _keyed(plan, selected, _table(plan, side), partitions)
    keys = [f"{_ident(k)} AS _k{i}" for i, k in enumerate(plan.keys)]
    return f"SELECT {', '.join(keys + selected)} FROM `{_table(plan, side)}`{_filters(plan, partitions)}"


def _values(plan: Plan, side: str, partitions: str | None, wanted: str, part: bool = False) -> str:
    """One table's compared columns, only for the keys in CTE `wanted`: a semi-join on the key
    fingerprint (the engine builds its hash table from those few keys, never from the table's rows)."""
    selected = ([_partition(plan, side)] if part else []) + _read_values(plan, side)
    return f"SELECT * FROM ({_keyed(plan, selected, _table(plan, side), partitions)}) WHERE _kh IN (SELECT _kh FROM {wanted})"


def _key_list(plan: Plan, alias: str = "") -> str:
    return ", ".join(f"{alias}_k{i}" for i in range(len(plan.keys)))


def _keys_cte(plan: Plan) -> str:
    """Per key: rows on each side and, for a single row, its fingerprint (a GROUP BY over both sides,
    which also counts duplicate keys and matches NULL key parts with NULL)."""
    keys = _key_list(plan)
    # Each side's fingerprint in its own column (NULL on the other side's rows): counting and taking
    # the least of a column per key is cheaper than testing a side flag in every aggregate.
    none = "IF(FALSE, _h, NULL)"   # a NULL of the fingerprint's type, whatever the engine's hash returns
    # A partition column that is a key (phases.yaml makes it the first) needs no aggregate of its own. Any other
    # may differ between a key's rows: the key counts in production's partition, or test's when production lacks it.
    if plan.partition_column in plan.keys:
        part, prod_part, test_part = f"{plan.part(f'_k{plan.keys.index(plan.partition_column)}')} AS _part", "", ""
    else:
        part = "IF(COUNT(_hp) > 0, MIN(_pp), MIN(_pt)) AS _part"
        prod_part, test_part = ", _part AS _pp, IF(FALSE, _part, NULL) AS _pt", ", IF(FALSE, _part, NULL), _part"
    return f"""_keys AS (
  SELECT {keys}, {part}, COUNT(_hp) AS _np, COUNT(_ht) AS _nt, MIN(_hp) AS _hp, MIN(_ht) AS _ht
  FROM (SELECT {keys}{prod_part}, _h AS _hp, {none} AS _ht FROM _prod
        UNION ALL SELECT {keys}{test_part}, {none} AS _hp, _h AS _ht FROM _test)
  GROUP BY {keys}
)"""


# The columns every statement's rows share (one UNION ALL of row kinds).
COUNTS = ("rows_prod", "rows_test", "only_in_prod", "only_in_test", "duplicate_keys_prod", "duplicate_keys_test",
          "ambiguous_rows_prod", "ambiguous_rows_test", "matched_rows", "fingerprints_differ")
JOIN_COUNTS = ("rows", "only_in_prod", "only_in_test", "matched_rows", "fingerprints_differ",
               "keys_only_in_prod", "keys_only_in_test")
# The kinds of the rows sampling keys on one side only, and the side each names in TableDiff.one_sided_keys.
ONE_SIDED = {"only_in_prod": "production", "only_in_test": "test"}
DETAIL = ("column_number", "decade", "by_decade", "max_abs_delta", "mismatches", "cells")


# The sample's flag per column (_d0..): whether the cell differs, and which side's FLOAT64 value is NaN
# (a DataFrame holds a NULL FLOAT64 as NaN too, so the NaN is told apart here).
SAMPLE_DIFFERS, SAMPLE_PROD_NAN, SAMPLE_TEST_NAN = 1, 2, 4


def _sample_flag(column: Column, j: int) -> str:
    flag = [f"IF(_d{j}, {SAMPLE_DIFFERS}, 0)"]
    for side, bit, kind in (("p", SAMPLE_PROD_NAN, column.prod_type), ("t", SAMPLE_TEST_NAN, column.test_type)):
        if base_type(kind) == "FLOAT64":
            flag.append(f"IF(IS_NAN(_{side}{j}), {bit}, 0)")
    return " + ".join(flag)


def _sample_columns(plan: Plan) -> list[str]:
    """The sample's columns: its order (_rank: a UNION ALL keeps none), keys, both sides' values, and
    per column its flag (_d0..: _sample_flag)."""
    n = len(plan.columns)
    return ["_rank", *(f"_k{i}" for i in range(len(plan.keys))), *_value_columns(plan, "p"),
            *_value_columns(plan, "t"), *(f"_d{j}" for j in range(n))]


def _row(kind: str, given: dict[str, str], columns: list[str]) -> str:
    """One kind of output row: the `given` expressions by name, NULL for every other column (a UNION
    ALL types each column from the kinds that give it, as BigQuery coerces a NULL literal)."""
    return f"SELECT '{kind}' AS _kind, " + ", ".join(f"{given.get(c, 'NULL')} AS {c}" for c in columns)


def _joined_on(plan: Plan, left: str, right: str) -> str:
    """Rows of the two sides with the same key: equal key fingerprints (an equality, which is what a
    FULL JOIN needs on BigQuery and what makes the join a hash join), then the keys themselves, NULL
    matching NULL as GROUP BY matches it."""
    same = [f"{left}._kh = {right}._kh"]
    same += [f"{left}._k{i} IS NOT DISTINCT FROM {right}._k{i}" for i in range(len(plan.keys))]
    return " AND ".join(same)


# How many arrays each partition's odd rows are gathered into: BigQuery keeps an array within one row
# (100 MB at most), so a partition where every row differs is spread over this many. Equal pairs (most
# rows) all fall in one group per partition: DuckDB aggregates 10M rows into 200 groups about a fifth
# faster than into 12,800 (measured, bench/bench_compare.py).
ODD_ROW_BUCKETS = 64


def comparison(plan: Plan, sample: bool) -> str:
    """Everything, in one statement, when no key is duplicated (as cheap as one hash join of
    fingerprints, the floor of any comparison, plus reading the changed rows of test again):

    - rows of kind 'join', per partition: rows on one side only, key-matched pairs, pairs whose
      fingerprints differ; one of kind 'keys': distinct keys among the one-sided rows of the whole table
      (per partition, a key with one row on each of two days of a column that is not a key looks single);
    - rows of kind 'prod' and 'test', per partition: each table's own row count;
    - rows of kind 'cell' and 'sample': the detail of the pairs whose fingerprints differ (see _detail_rows);
    - rows of kind 'only_in_prod' and 'only_in_test' (with the sample): the first keys on one side only.

    When each table's rows equal its one-sided rows plus the pairs, and the one-sided rows have as
    many distinct keys as rows, no key is duplicated and all of it is exact; otherwise the caller
    counts per key (exact_counts) and details again (detail)."""
    keys = [f"_k{i}" for i in range(len(plan.keys))]
    either = lambda column: f"IF(p._kh IS NULL, t.{column}, p.{column})"  # noqa: E731
    joined_keys = ", ".join(f"{either(k)} AS {k}" for k in keys)
    carried = ["_odd", "_kh", *keys, *_value_columns(plan, "p")]
    # A partition column that is a key (phases.yaml makes it the first) is not carried twice: the
    # join's hash table holds test's keys and fingerprints only.
    if plan.partition_column in plan.keys:   # (a key has one type on both sides: production's partitions)
        part, parted = plan.part(either(f"_k{plan.keys.index(plan.partition_column)}")), {"p": [], "t": []}
    else:
        part, parted = either("_part"), {side: [_partition(plan, side)] for side in ("p", "t")}
    # Production carries its values through the join (streamed, never held): the pairs whose
    # fingerprints differ then need only test's values read again. The odd rows are gathered with
    # ARRAY_AGG(IF(.., NULL, STRUCT(..)) IGNORE NULLS), which the sandbox runs as a FILTER over _odd
    # (local.bigquery.rewrites._filtered_array_agg).
    ctes = f"""_prod AS ({_keyed(plan, [*parted["p"], f"{plan.row_hash} AS _h", *_read_values(plan, "p")],
                              plan.prod_table, None)}),
_test AS ({_keyed(plan, [*parted["t"], f"{plan.row_hash} AS _h"], plan.test_table, None)}),
_joined AS (
  SELECT {part} AS _part, COALESCE(p._kh, t._kh) AS _kh, {joined_keys},
    CASE WHEN t._kh IS NULL THEN 1 WHEN p._kh IS NULL THEN 2
      WHEN {plan.fingerprints_differ("p._h", "t._h")} THEN 3 END AS _odd,
    {", ".join(_value_columns(plan, "p", "p."))}
  FROM _prod AS p FULL JOIN _test AS t ON {_joined_on(plan, "p", "t")}
),
_groups AS (
  SELECT _part, COUNTIF(_odd = 1) AS only_in_prod, COUNTIF(_odd = 2) AS only_in_test,
    COUNTIF(_odd IS NULL OR _odd = 3) AS matched_rows, COUNTIF(_odd = 3) AS fingerprints_differ,
    ARRAY_AGG(IF(_odd IS NULL, NULL, STRUCT({", ".join(f"{c} AS {c}" for c in carried)})) IGNORE NULLS) AS _rows
  FROM _joined
  GROUP BY _part, IF(_odd IS NULL, NULL, MOD(_kh, {ODD_ROW_BUCKETS}))
),
_odd AS (SELECT g._part, {", ".join(f"r.{c}" for c in carried)} FROM _groups AS g CROSS JOIN UNNEST(g._rows) AS r),
_changed AS (SELECT * FROM _odd WHERE _odd = 3),
{_pairs_cte(plan, "_changed", None)},
{_detail_ctes(plan, sample)}"""
    if sample:
        ctes += f""",
{_one_sided_ctes(plan)}"""
    columns = _output_columns(plan, sample)
    one_sided = {"keys_only_in_prod": "COUNT(DISTINCT IF(_odd = 1, _kh, NULL))",
                 "keys_only_in_test": "COUNT(DISTINCT IF(_odd = 2, _kh, NULL))"}
    counts = {"partition_value": "_part", **{n: f"SUM({n})" for n in JOIN_COUNTS[1:5]}}
    sides = {side: {"partition_value": plan.part(_ident(plan.partition_column), side) if plan.partition_column
                    else "NULL", "rows": "COUNT(*)"} for side in ("p", "t")}
    return f"""WITH
{ctes}
{_row("join", counts, columns)}
FROM _groups GROUP BY _part
UNION ALL
{_row("keys", one_sided, columns)}
FROM _odd WHERE _odd < 3
UNION ALL
{_row("prod", sides["p"], columns)}
FROM `{plan.prod_table}`{_filters(plan, None)} GROUP BY 2
UNION ALL
{_row("test", sides["t"], columns)}
FROM `{plan.test_table}`{_filters(plan, None)} GROUP BY 2
UNION ALL
{_detail_rows(plan, sample)}{_one_sided_rows(plan, columns) if sample else ""}"""


def _one_sided_ctes(plan: Plan) -> str:
    """The first keys by key (up to @_limit) of the rows on one side only, per side; each key once,
    however many rows it has (the join tells them apart whatever the duplicates: a key another side
    lacks is never matched)."""
    keys = _key_list(plan)
    first = lambda odd: (f"SELECT * FROM (SELECT DISTINCT {keys} FROM _odd WHERE _odd = {odd}) "  # noqa: E731
                         f"ORDER BY {keys} LIMIT @_limit")
    return f"""_only_in_prod AS ({first(1)}),
_only_in_test AS ({first(2)})"""


def _one_sided_rows(plan: Plan, columns: list[str]) -> str:
    """Rows of kind 'only_in_prod' and 'only_in_test': _one_sided_ctes' keys (_k0..), in their order (_rank)."""
    given = {**{f"_k{i}": f"_k{i}" for i in range(len(plan.keys))},
             "_rank": f"ROW_NUMBER() OVER (ORDER BY {_key_list(plan)})"}
    return "".join(f"""
UNION ALL
{_row(kind, given, columns)}
FROM _{kind}""" for kind in ONE_SIDED)


def _output_columns(plan: Plan, sample: bool) -> list[str]:
    return ["partition_value", *JOIN_COUNTS, *DETAIL, *(_sample_columns(plan) if sample else [])]


def exact_counts(plan: Plan) -> str:
    """Counts per partition, key by key (a GROUP BY over both sides): exact whatever the duplicates. Each side's
    rows count in their own partitions; a key's counts in the partition _keys_cte gives it."""
    both = "_np > 0 AND _nt > 0 AND (_np > 1 OR _nt > 1)"
    key_counts = f"""SUM(IF(_nt = 0, _np, 0)) AS only_in_prod, SUM(IF(_np = 0, _nt, 0)) AS only_in_test,
  COUNTIF(_np > 1) AS duplicate_keys_prod, COUNTIF(_nt > 1) AS duplicate_keys_test,
  SUM(IF({both}, _np, 0)) AS ambiguous_rows_prod, SUM(IF({both}, _nt, 0)) AS ambiguous_rows_test,
  COUNTIF(_np = 1 AND _nt = 1) AS matched_rows,
  COUNTIF(_np = 1 AND _nt = 1 AND {plan.fingerprints_differ("_hp", "_ht")}) AS fingerprints_differ"""
    head = f"""WITH
_prod AS ({_fingerprints(plan, "p", None)}),
_test AS ({_fingerprints(plan, "t", None)}),
{_keys_cte(plan)}
"""
    if plan.partition_column in plan.keys:   # a key's rows all lie in its partition
        return f"""{head}SELECT _part AS partition_value, SUM(_np) AS rows_prod, SUM(_nt) AS rows_test,
  {key_counts}
FROM _keys
GROUP BY _part"""
    zeros = ", ".join(f"0 AS {name}" for name in COUNTS[2:])
    summed = ", ".join(f"SUM({name}) AS {name}" for name in COUNTS)
    return f"""{head}SELECT partition_value, {summed}
FROM (
  SELECT _part AS partition_value, 0 AS rows_prod, 0 AS rows_test,
  {key_counts}
  FROM _keys GROUP BY _part
  UNION ALL SELECT _part, COUNT(*), 0, {zeros} FROM _prod GROUP BY _part
  UNION ALL SELECT _part, 0, COUNT(*), {zeros} FROM _test GROUP BY _part
)
GROUP BY partition_value"""


def detail(plan: Plan, partitions: str | None, sample: bool) -> str:
    """The detail (see _detail_rows) of the keys found once on each side whose fingerprints differ,
    after exact_counts, over the `partitions` that hold them."""
    keys = _key_list(plan, "c.")
    return f"""WITH
_prod AS ({_fingerprints(plan, "p", partitions)}),
_test AS ({_fingerprints(plan, "t", partitions)}),
{_keys_cte(plan)},
_changed_keys AS (
  SELECT {plan.key_hash} AS _kh, {_key_list(plan)} FROM _keys
  WHERE _np = 1 AND _nt = 1 AND {plan.fingerprints_differ("_hp", "_ht")}
),
_changed AS (
  SELECT p._part, c._kh, {keys}, {", ".join(_value_columns(plan, "p", "p."))}
  FROM _changed_keys AS c JOIN ({_values(plan, "p", partitions, "_changed_keys", part=True)}) AS p
    ON {_joined_on(plan, "p", "c")}
),
{_pairs_cte(plan, "_changed", partitions)},
{_detail_ctes(plan, sample)}
{_detail_rows(plan, sample)}"""


def _pairs_cte(plan: Plan, changed: str, partitions: str | None) -> str:
    """The `changed` rows (partition, keys, production's values) with test's values beside them: test
    is read again for those keys alone."""
    return f"""_pairs AS (
  SELECT c._part, {_key_list(plan, "c.")}, {", ".join(_value_columns(plan, "p", "c.") + _value_columns(plan, "t", "t."))}
  FROM {changed} AS c JOIN ({_values(plan, "t", partitions, changed)}) AS t ON {_joined_on(plan, "t", "c")}
)"""


def _float(expr: str) -> str:
    return f"CAST({expr} AS FLOAT64)"


def _delta(column: Column, j: int) -> str:
    """|test - production| as FLOAT64: two exact numbers are subtracted exactly (then the difference,
    not the values, is rounded to FLOAT64); a NUMERIC difference that would overflow NUMERIC is taken
    in FLOAT64 (INT64s' never does)."""
    # (a FLOAT64 difference that overflows is an error on BigQuery, ZetaSQL's "double overflow": SAFE_SUBTRACT's NULL
    # there, of two values that are not NULL, is the infinite difference it is)
    floats = (f"IF(_t{j} IS NULL OR _p{j} IS NULL, NULL, "
              f"IFNULL(ABS(SAFE_SUBTRACT({_float(f'_t{j}')}, {_float(f'_p{j}')})), CAST('inf' AS FLOAT64)))")
    kind = column.exact_type
    if kind is None:
        return floats
    if base_type(column.prod_type) == base_type(column.test_type) == "INT64":
        return _float(f"ABS(CAST(_t{j} AS {kind}) - CAST(_p{j} AS {kind}))")
    if kind == "BIGNUMERIC":
        # No cast: BigQuery subtracts in the operands' supertype, BIGNUMERIC here (an INT64 or NUMERIC always
        # fits in it), and the sandbox cannot run a cast to BIGNUMERIC inside SAFE_SUBTRACT (it checks a
        # cast's width with an ERROR(), which the TRY() it runs SAFE_SUBTRACT as would hide).
        exact = f"SAFE_SUBTRACT(_t{j}, _p{j})"
    else:
        exact = f"SAFE_SUBTRACT(SAFE_CAST(_t{j} AS {kind}), SAFE_CAST(_p{j} AS {kind}))"
    return f"COALESCE({_float(f'ABS({exact})')}, {floats})"


def equal(column: Column, j: int) -> str:
    """TRUE when the two sides' values count as equal: both NULL, or equal, or (numeric) within
    tolerance, of the difference _x{j} (_delta, computed once before)."""
    p, t = f"_p{j}", f"_t{j}"
    if column.as_json:   # (a SQL NULL and a JSON null have the same JSON text: told apart first)
        return (f"(({p} IS NULL AND {t} IS NULL) OR "
                f"({p} IS NOT NULL AND {t} IS NOT NULL AND TO_JSON_STRING({p}) = TO_JSON_STRING({t})))")
    same = [f"({p} IS NULL AND {t} IS NULL)", f"IFNULL({p} = {t}, FALSE)"]
    if column.numeric:
        # an infinite difference is never within tolerance (not even of an infinite production value)
        # (a tolerance too large for FLOAT64, a relative one above 1 of a value near its maximum, is an infinite one:
        # BigQuery fails the `+` or `*` that overflows, where SAFE_ gives NULL)
        bound = f"IFNULL(SAFE_ADD(@abs_tol, SAFE_MULTIPLY(@rel_tol, ABS({_float(p)}))), CAST('inf' AS FLOAT64))"
        same.append(f"IFNULL(NOT IS_INF(_x{j}) AND _x{j} <= {bound}, FALSE)")
        if base_type(column.prod_type) == base_type(column.test_type) == "FLOAT64":
            same.append(f"IFNULL(IS_NAN({p}) AND IS_NAN({t}), FALSE)")
    return "(" + " OR ".join(same) + ")"


def _detail_ctes(plan: Plan, sample: bool) -> str:
    """From _pairs: per changed row each numeric column's |difference| (_x0..), then a flag per column
    (_d0..), then one for any mismatch (_any), each computed once; then one row per column (_cells) by
    a cross join with the column numbers (not by UNNESTing an array built from the row, which an engine
    may run as a join of whole rows): column number 0 is the row itself (any mismatch), j + 1 is
    plan.columns[j]."""
    n = len(plan.columns)
    deltas = [f"{_delta(c, j) if c.numeric else 'CAST(NULL AS FLOAT64)'} AS _x{j}" for j, c in enumerate(plan.columns)]
    differs = [f"NOT {equal(c, j)} AS _d{j}" for j, c in enumerate(plan.columns)]
    pick = lambda first, prefix: (f"CASE _col WHEN 0 THEN {first} "  # noqa: E731
                                  + " ".join(f"WHEN {j + 1} THEN {prefix}{j}" for j in range(n)) + " END")
    ctes = f"""_deltas AS (SELECT {", ".join(["_pairs.*", *deltas])} FROM _pairs),
_differs AS (SELECT {", ".join(["_deltas.*", *differs])} FROM _deltas),
_flags AS (SELECT *, {" OR ".join(f"_d{j}" for j in range(n)) or "FALSE"} AS _any FROM _differs),
_cells AS (
  SELECT _part, _col, {pick("_any", "_d")} AS differs, {pick("CAST(NULL AS FLOAT64)", "_x")} AS delta
  FROM _flags CROSS JOIN UNNEST(GENERATE_ARRAY(0, {n})) AS _col
),
_decades AS (SELECT *, IF(delta > 0 AND NOT IS_INF(delta) AND NOT IS_NAN(delta), FLOOR(LOG10(delta)), NULL) AS _decade
  FROM _cells)"""
    if sample:
        ctes += f""",
_sample AS (SELECT * FROM _flags WHERE _any ORDER BY {_key_list(plan)} LIMIT @_limit)"""
    return ctes


def _detail_rows(plan: Plan, sample: bool) -> str:
    """Rows of kind 'cell': per partition and column, mismatches beyond tolerance and the largest
    |test - prod|; per column and power of ten of |test - prod| (by_decade 1), the cells with a
    difference and those beyond tolerance. Rows of kind 'sample' (when asked): the first mismatched
    rows by key (up to @_limit), both sides' values and a flag per column."""
    columns = _output_columns(plan, sample)
    cells = {"partition_value": "_part", "column_number": "_col", "decade": "_decade",
             "by_decade": "GROUPING(_part)", "max_abs_delta": "MAX(delta)", "mismatches": "COUNTIF(differs)",
             "cells": "COUNT(*)"}
    rows = f"""{_row("cell", cells, columns)}
FROM _decades
GROUP BY GROUPING SETS ((_part, _col), (_col, _decade))"""
    if sample:
        rows += f"""
UNION ALL
{_row("sample", {"partition_value": "_part", **{c: c for c in _sample_columns(plan)},
                 **{f"_d{j}": _sample_flag(c, j) for j, c in enumerate(plan.columns)},
                 "_rank": f"ROW_NUMBER() OVER (ORDER BY {_key_list(plan)})"}, columns)}
FROM _sample"""
    return rows
