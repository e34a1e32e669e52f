"""Comparisons with a NaN on the sandbox warehouse, where the value is a FLOAT64 column, a CTE's or subquery's item or
an array's element (bigquery/nan_comparisons.py; found by the zc_queries and zc_scalar probes, findings 2 and 4).

Expected values are GoogleSQL's: operators doc, "Comparison operators": "All comparisons with NaN return FALSE, except
for != and <>, which return TRUE"; BETWEEN is `x >= low AND x <= high` and IN an OR of `=` (same page); the NaN and
NULL cases are ZetaSQL's compliance test comparison_functions.test (`between_with_nan_and_null`,
`not_between_with_nan_and_null`). DuckDB alone orders NaN above +inf and equal to itself."""
from __future__ import annotations

import itertools
import math
import operator

import duckdb
import pytest

from runbook_lib.local.bigquery import translate
from runbook_lib.local.bigquery.statements import typing_tables
from runbook_lib.local.warehouse import LocalWarehouse

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

NAN = "CAST('NaN' AS FLOAT64)"
VALUES = [None, math.nan, -math.inf, -1.0, 0.0, 1.0, math.inf]


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("nan") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute(f"CREATE TABLE ds.t AS SELECT {NAN} AS x, 1 AS id UNION ALL SELECT 1.0, 2 UNION ALL SELECT -1.0, 3")
    literal = {None: "CAST(NULL AS FLOAT64)"}
    rows = " UNION ALL ".join(
        f"SELECT {i} AS id, {literal.get(v) or f'CAST({str(v)!r} AS FLOAT64)'} AS v" for i, v in enumerate(VALUES))
    w.execute(f"CREATE TABLE ds.vals AS {rows}")
    return w


def rows(wh: LocalWarehouse, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in wh.query_arrow(sql).to_pylist()]


def one(wh: LocalWarehouse, sql: str):
    (row,) = rows(wh, sql)
    return row[0] if len(row) == 1 else row


def test_a_nan_in_a_float64_column_passes_no_filter_and_joins_nothing(wh):
    # findings 2: a threshold over a column with a NaN counted it, and the filtered SUM became NaN
    assert one(wh, "SELECT COUNT(*) FROM ds.t WHERE x > 0") == 1
    assert one(wh, "SELECT SUM(x) FROM ds.t WHERE x > 0") == 1.0
    assert one(wh, "SELECT COUNT(*) FROM ds.t WHERE x >= -1 AND x <= 1") == 2
    assert one(wh, "SELECT COUNTIF(x = x), COUNTIF(x != x) FROM ds.t") == (2, 1)
    assert one(wh, "SELECT COUNT(*) FROM ds.t a JOIN ds.t b ON a.x = b.x") == 2
    # a LEFT JOIN keeps the NaN row, unmatched
    assert rows(wh, "SELECT a.id AS a, b.id AS b FROM ds.t a LEFT JOIN ds.t b ON a.x = b.x ORDER BY a.id") == \
        [(1, None), (2, 2), (3, 3)]
    assert one(wh, "SELECT COUNT(*) FROM ds.t WHERE x BETWEEN -5 AND 5") == 2
    assert one(wh, "SELECT COUNT(*) FROM ds.t a JOIN ds.t b ON a.x IN (b.x, 7.0)") == 2


def test_a_nan_read_through_a_cte_a_subquery_or_an_array_compares_false(wh):
    # findings 4 (zc_scalar repro_04)
    nan_item = f"(SELECT {NAN} AS n)"
    assert one(wh, f"SELECT n = n, n > 1, 5 BETWEEN 0 AND n, n != n FROM {nan_item}") == (False, False, False, True)
    assert one(wh, "WITH c AS (SELECT x * 2 AS z FROM ds.t) SELECT COUNTIF(z >= 1) FROM c") == 1
    assert one(wh, "SELECT COUNTIF(x > 100) FROM UNNEST([1.0, IEEE_DIVIDE(0, 0), 200.0]) AS x") == 1


def test_a_nan_through_if_ifnull_coalesce_or_a_safe_operator_compares_false(wh):
    # (compare's difference of two FLOAT64s became IF(..., IFNULL(ABS(SAFE_SUBTRACT(...)), ...)), whose NaN DuckDB
    # then read as greater than any number: a NaN against 1.0 was counted within tolerance)
    for wrapped in ("IF(id > 0, x, NULL)", "IFNULL(x, 0.0)", "COALESCE(NULL, x)", "SAFE_ADD(x, 1)",
                    "ABS(SAFE_SUBTRACT(1.0, x))", "SAFE_MULTIPLY(0.5, x)", "SAFE_DIVIDE(x, 2)"):
        assert one(wh, f"WITH c AS (SELECT {wrapped} AS z FROM ds.t) SELECT COUNTIF(z >= -5) FROM c") == 2, wrapped


def test_between_with_nan_and_null_is_zetasqls(wh):
    # comparison_functions.test between_with_nan_and_null / not_between_with_nan_and_null
    cases = [f"{NAN} {{}} 1 AND NULL", f"{NAN} {{}} NULL AND 1", f"{NAN} {{}} NULL AND NULL",
             f"{NAN} {{}} NULL AND {NAN}", f"{NAN} {{}} {NAN} AND NULL", f"1 {{}} {NAN} AND NULL",
             f"1 {{}} NULL AND {NAN}", f"NULL {{}} {NAN} AND 1", f"NULL {{}} 1 AND {NAN}", f"NULL {{}} {NAN} AND {NAN}"]
    between = one(wh, "SELECT " + ", ".join(c.format("BETWEEN") for c in cases))
    assert between == (False, False, None, False, False, False, False, None, None, None)
    not_between = one(wh, "SELECT " + ", ".join(c.format("NOT BETWEEN") for c in cases))
    assert not_between == (True, True, None, True, True, True, True, None, None, None)


def _and(a, b):
    return False if a is False or b is False else None if a is None or b is None else True


def _bigquery(op, a, b):
    """A comparison as the operators doc gives it: NULL with a NULL, then FALSE with a NaN (TRUE for !=)."""
    if a is None or b is None:
        return None
    if math.isnan(a) or math.isnan(b):
        return op is operator.ne
    return op(a, b)


OPERATORS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
             ">=": operator.ge}


@pytest.mark.parametrize("symbol", OPERATORS)
def test_every_operator_over_float64_columns_with_nan_null_and_infinities(wh, symbol):
    got = rows(wh, f"SELECT a.id AS a, b.id AS b, a.v {symbol} b.v FROM ds.vals a CROSS JOIN ds.vals b ORDER BY 1, 2")
    want = [(i, j, _bigquery(OPERATORS[symbol], a, b))
            for (i, a), (j, b) in itertools.product(enumerate(VALUES), repeat=2)]
    assert got == want


def test_between_and_in_over_float64_columns(wh):
    got = rows(wh, "SELECT a.id AS a, b.id AS b, c.id AS c, a.v BETWEEN b.v AND c.v, a.v IN (b.v, c.v) "
                   "FROM ds.vals a, ds.vals b, ds.vals c ORDER BY 1, 2, 3")
    want = []
    for (i, a), (j, b), (k, c) in itertools.product(enumerate(VALUES), repeat=3):
        equal_b, equal_c = _bigquery(operator.eq, a, b), _bigquery(operator.eq, a, c)
        within = _and(_bigquery(operator.ge, a, b), _bigquery(operator.le, a, c))
        in_list = True if True in (equal_b, equal_c) else None if None in (equal_b, equal_c) else False
        want.append((i, j, k, within, in_list))
    assert got == want


SCHEMA = (("ds.f", (("x", "FLOAT64"), ("i", "INT64"), ("s", "STRING"))),
          ("ds.g", (("x", "FLOAT64"), ("i", "INT64"), ("s", "STRING"))))
NO_FLOATS = (("ds.f", (("x", "NUMERIC"), ("i", "INT64"), ("s", "STRING"))),
             ("ds.g", (("x", "NUMERIC"), ("i", "INT64"), ("s", "STRING"))))


def _join_operators(sql: str) -> str:
    con = duckdb.connect()
    for table in ("f", "g"):
        con.execute("CREATE SCHEMA IF NOT EXISTS ds")
        con.execute(f"CREATE TABLE ds.{table} (x DOUBLE, i BIGINT, s VARCHAR)")
    return con.execute("EXPLAIN " + sql).fetchall()[0][1].upper()


@pytest.mark.parametrize("on", ["a.x = b.x", "a.x = CAST(b.i AS FLOAT64)", "a.x = b.x * 1.5"])
def test_a_join_on_float64_stays_a_hash_join(on):
    # a CASE around the comparison made DuckDB compare every pair of rows (a blockwise nested-loop join)
    for kind in ("JOIN", "LEFT JOIN"):
        sql = translate(f"SELECT a.i, b.i FROM ds.f a {kind} ds.g b ON {on}", schema=SCHEMA)[-1].sql
        assert "ISNAN" in sql and "HASH_JOIN" in _join_operators(sql).replace(" ", "_"), sql


@pytest.mark.parametrize("sql", [
    "SELECT * FROM ds.f WHERE x < 0",                    # a NaN is already not below 0 in DuckDB
    "SELECT * FROM ds.f WHERE x = 1.5",                  # nor equal to a number
    "SELECT * FROM ds.f a JOIN ds.g b ON a.i = b.i",     # INT64
    "SELECT * FROM ds.f a JOIN ds.g b ON a.x = b.i",     # an INT64 is never NaN
])
def test_what_no_nan_can_change_is_left_as_duckdbs(sql):
    assert "ISNAN" not in translate(sql, schema=SCHEMA)[-1].sql


def test_only_statements_whose_tables_hold_a_float64_are_translated_again():
    sql = "SELECT * FROM ds.f a JOIN ds.g b ON a.x = b.x WHERE a.i > b.i"
    assert translate(sql, schema=NO_FLOATS) == translate(sql)
    assert "ISNAN" in translate(sql, schema=SCHEMA)[-1].sql
    # a point query by a parameter reads no types (a NaN parameter is taken as none)
    assert typing_tables("SELECT s FROM ds.f WHERE s = @key") is None
