"""A sort key that is a column holding no NaN sorts without the NaN key (bigquery/sort_keys.py), where the SQL's
shape makes its table certain; every other key keeps it, so NaN still sorts as BigQuery sorts it."""
from __future__ import annotations

import math

import pytest

from runbook_lib.local.bigquery import retyped, translate
from runbook_lib.local.duckdb_file import CATALOG
from runbook_lib.local.warehouse import LocalWarehouse

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

SCHEMA = (("ds.t", (("d", "DATE"), ("ts", "TIMESTAMP"), ("s", "STRING"), ("i", "INT64"), ("n", "NUMERIC"),
                    ("f", "FLOAT64"), ("Mixed", "STRING"))),)


def nan_keyed(sql: str, schema=SCHEMA) -> list[str]:
    """The sort keys of the translation that got a NaN key: the expressions inside its TYPEOF(...)."""
    out = translate(sql, schema=schema)[-1].sql
    return [part.split(")", 1)[0] for part in out.split("NOT (TYPEOF(")[1:]]


@pytest.mark.parametrize("sql, keyed", [
    ("SELECT ROW_NUMBER() OVER (PARTITION BY s ORDER BY ts DESC) AS r FROM ds.t", []),
    ("SELECT d, s FROM ds.t ORDER BY d, s, i, n", []),
    ("SELECT f FROM ds.t ORDER BY f", ["f"]),
    ("SELECT d FROM `ds.t` QUALIFY ROW_NUMBER() OVER (PARTITION BY s ORDER BY f DESC, d) = 1", ["f"]),
    ("SELECT a.d FROM ds.t AS a JOIN ds.other AS b ON a.i = b.i ORDER BY a.d, b.d, d", ["b.d", "d"]),
    ("SELECT ts AS d FROM ds.t ORDER BY d", ["ts"]),            # the alias: BigQuery sorts by ts
    ("SELECT d AS d FROM ds.t ORDER BY d", []),                  # an alias of the column itself
    ("WITH c AS (SELECT d FROM ds.t) SELECT d FROM c ORDER BY d", ["d"]),   # a CTE's column: not certain
    ("SELECT x FROM ds.t ORDER BY x", ["x"]),                    # not in the schema
    ("SELECT mixed FROM ds.t ORDER BY MIXED", []),               # BigQuery's names are case-insensitive
    ("SELECT ARRAY_AGG(s ORDER BY d) AS a FROM ds.t", []),
    ("SELECT d FROM ds.t UNION ALL SELECT d FROM ds.t ORDER BY d", ["d"]),   # a set operation's result column
])
def test_only_a_column_certainly_of_a_type_without_nan_sorts_alone(sql, keyed):
    assert nan_keyed(sql) == keyed
    assert len(nan_keyed(sql, schema=None)) >= len(keyed) + (0 if keyed else 1)   # without a schema: every key


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("sortkeys") / "s.duckdb")
    w.create_dataset("ds")
    w.execute("""
        CREATE TABLE ds.t AS SELECT * FROM UNNEST([
          STRUCT(DATE '2025-01-02' AS d, TIMESTAMP '2025-01-02 10:00:00' AS ts, 'b' AS s, 2 AS i, CAST('nan' AS FLOAT64) AS f),
          STRUCT(DATE '2025-01-01', TIMESTAMP '2025-01-02 09:00:00', 'a', 1, -1.5),
          STRUCT(CAST(NULL AS DATE), CAST(NULL AS TIMESTAMP), CAST(NULL AS STRING), CAST(NULL AS INT64), CAST(NULL AS FLOAT64)),
          STRUCT(DATE '2025-01-03', TIMESTAMP '2025-01-03 09:00:00', 'a', 3, CAST('-inf' AS FLOAT64))])""")
    return w


def test_the_warehouse_sorts_a_timestamp_window_alone_and_a_float_with_nan_first(wh):
    sql = "SELECT s, ROW_NUMBER() OVER (PARTITION BY s ORDER BY ts DESC) AS r FROM ds.t ORDER BY s, r"
    with wh.connection(read_only=True) as con:
        ran = retyped(con, sql, translate(sql, wh.project, CATALOG), wh.project, CATALOG)[-1].sql
    assert "TYPEOF(ts)" not in ran and "TYPEOF(s)" not in ran
    rows = wh.query(sql)
    assert list(rows["s"].fillna("NULL")) == ["NULL", "a", "a", "b"] and list(rows["r"]) == [1, 1, 2, 1]
    assert list(wh.query("SELECT i FROM ds.t WHERE s = 'a' QUALIFY ROW_NUMBER() OVER (ORDER BY ts DESC) = 1")["i"]) == [3]
    order = wh.query("SELECT f IS NULL AS is_null, IS_NAN(f) AS is_nan, f FROM ds.t ORDER BY f")
    assert list(order["is_null"]) == [True, False, False, False]   # BigQuery: NULL, NaN, -inf, then the numbers
    assert list(order["is_nan"][1:]) == [True, False, False]
    assert list(order["f"][2:]) == [-math.inf, -1.5]
