"""NUMERIC and BIGNUMERIC results typed and valued as BigQuery types and values them (bigquery/numerics.py,
bigquery/numeric_types.py), and everything else translated exactly as before.

A result's type is read as a runbook reads it: the BigQuery type of a CREATE TABLE AS SELECT's column
(table_info) and the query() frame (NUMERIC values are Decimal objects, FLOAT64 floats). The rules come from
BigQuery's documentation: the operators page's result type tables for / and * (and SAFE_DIVIDE's, mathematical
functions), AVG's "Returned Data Types" (aggregate functions), the supertypes of the conversion rules page, and
ROUND/TRUNC/CEIL/FLOOR's return types; ZetaSQL's NumericValue rounds a quotient, product and average half away
from zero. Each test fails without the typed translation, except the pins of what was right already (marked).
"""
from __future__ import annotations

import random
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pandas as pd
import pytest

from runbook_lib.errors import RunbookError
from runbook_lib.local import generator
from runbook_lib.local.bigquery import numeric_types, retyped, translate
from runbook_lib.local.bigquery.statements import parsed
from runbook_lib.local.duckdb_file import CATALOG
from runbook_lib.local.pipeline_sql import HEAD, merge_script, processor_sql
from runbook_lib.local.pipeline_tables import PHASE3_PROCESSORS, PHASE4_PROCESSORS
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError
from runbook_lib.phases import load_phases

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

D = Decimal


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("numeric") / "n.duckdb")
    w.create_dataset("ds")
    w.execute("""
        CREATE TABLE ds.t AS SELECT * FROM UNNEST([
          STRUCT(NUMERIC '1' AS n, BIGNUMERIC '1.000000000000000001' AS b, 3 AS i, 1.5 AS f, 1 AS k),
          STRUCT(NUMERIC '-2.5', BIGNUMERIC '-7', -2, -0.5, 2),
          STRUCT(NUMERIC '0.000000005', BIGNUMERIC '0.5', 10, 2.0, 3),
          STRUCT(CAST(NULL AS NUMERIC), CAST(NULL AS BIGNUMERIC), CAST(NULL AS INT64), CAST(NULL AS FLOAT64), 4)
        ])""")
    return w


def typed(wh: LocalWarehouse, select: str) -> dict[str, str]:
    """The BigQuery type of each column of `select`, as a CREATE TABLE AS SELECT makes it."""
    wh.execute(f"CREATE OR REPLACE TABLE ds.result AS {select}")
    return dict(wh.table_info("ds.result").columns)


def values(wh: LocalWarehouse, select: str) -> list[tuple]:
    """The rows of `select`, a NULL as None (pandas gives NaN in a FLOAT64 column)."""
    df = wh.query(select)
    return [tuple(None if pd.isna(v) else v for v in r) for r in df.itertuples(index=False)]


def rounded(value: Decimal, places: int) -> Decimal:
    """BigQuery's rounding: half away from zero."""
    return value.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------ AVG

def test_avg_of_numeric_is_numeric_and_of_bignumeric_bignumeric_while_int64_and_float64_give_float64(wh):
    assert typed(wh, "SELECT AVG(n) AS an, AVG(b) AS ab, AVG(i) AS ai, AVG(f) AS af FROM ds.t") == {
        "an": "NUMERIC", "ab": "BIGNUMERIC", "ai": "FLOAT64", "af": "FLOAT64"}
    (an, ab, ai, af), = values(wh, "SELECT AVG(n), AVG(b), AVG(i), AVG(f) FROM ds.t")
    assert (an, ab) == (D("-0.499999998"), D("-1.833333333333333333"))   # -1.499999995 / 3, -5.499999999999999999 / 3
    assert isinstance(ai, float) and isinstance(af, float)


def test_avg_of_numeric_rounds_half_away_from_zero_at_the_ninth_place(wh):
    rows = values(wh, """
        SELECT AVG(x) AS a, AVG(-x) AS b FROM UNNEST([NUMERIC '0.000000001', NUMERIC '0.000000002']) AS x
        UNION ALL SELECT AVG(x), AVG(-x) FROM UNNEST([NUMERIC '1', NUMERIC '2', NUMERIC '2']) AS x
        UNION ALL SELECT AVG(x), AVG(-x) FROM UNNEST([CAST(NULL AS NUMERIC)]) AS x
        ORDER BY 1 NULLS LAST""")
    assert rows == [(D("0.000000002"), D("-0.000000002")), (D("1.666666667"), D("-1.666666667")), (None, None)]


def test_windowed_avg_of_numeric_is_numeric(wh):
    window = "OVER (ORDER BY k ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"
    assert typed(wh, f"SELECT k, AVG(n) {window} AS a FROM ds.t")["a"] == "NUMERIC"
    assert values(wh, f"SELECT AVG(n) {window} FROM ds.t ORDER BY k") == [
        (D("1"),), (D("-0.75"),), (D("-1.249999998"),), (D("0.000000005"),)]


# ------------------------------------------------------------------------------------------ /

def test_division_result_types_follow_the_operators_table(wh):
    assert typed(wh, """SELECT n / n AS nn, n / i AS ni, i / n AS in_, n / f AS nf, f / n AS fn, b / i AS bi,
                               i / b AS ib, b / n AS bn, n / b AS nb, b / b AS bb, b / f AS bf, i / i AS ii
                        FROM ds.t WHERE k = 1""") == {
        "nn": "NUMERIC", "ni": "NUMERIC", "in_": "NUMERIC", "nf": "FLOAT64", "fn": "FLOAT64", "bi": "BIGNUMERIC",
        "ib": "BIGNUMERIC", "bn": "BIGNUMERIC", "nb": "BIGNUMERIC", "bb": "BIGNUMERIC", "bf": "FLOAT64",
        "ii": "FLOAT64"}


def test_numeric_division_is_exact_to_nine_places_rounded_half_away_from_zero(wh):
    assert values(wh, """
        SELECT NUMERIC '1' / 3, NUMERIC '2' / 3, NUMERIC '-2' / 3, 2 / NUMERIC '-3',
               NUMERIC '0.000000015' / 10, NUMERIC '-0.000000015' / NUMERIC '10', NUMERIC '0.000000005' / NUMERIC '10',
               NUMERIC '12345678901234567890.123456789' / 7, CAST(NULL AS NUMERIC) / 2""") == [(
        D("0.333333333"), D("0.666666667"), D("-0.666666667"), D("-0.666666667"), D("0.000000002"),
        D("-0.000000002"), D("0.000000001"), D("1763668414462081127.160493827"), None)]
    # over a table's columns, row by row (an INT64 and a NUMERIC divisor; a NULL row)
    assert values(wh, "SELECT n / i, i / n FROM ds.t ORDER BY k") == [
        (D("0.333333333"), D("3")), (D("1.25"), D("0.8")), (D("0.000000001"), D("2000000000")), (None, None)]


def test_bignumeric_division_is_bignumeric_to_eighteen_places(wh):
    assert values(wh, "SELECT BIGNUMERIC '1' / 3, BIGNUMERIC '-2' / BIGNUMERIC '3', NUMERIC '1' / BIGNUMERIC '7'") == [
        (D("0.333333333333333333"), D("-0.666666666666666667"), D("0.142857142857142857"))]


def test_decimal_division_matches_decimal_arithmetic_on_random_values(wh):
    rng = random.Random(20251215)

    def value(places: int, integer_digits: int) -> Decimal:
        v = D(rng.randint(0, 10 ** integer_digits)) + D(rng.randint(0, 10 ** places - 1)).scaleb(-places)
        return -v if rng.random() < 0.4 else v

    for kind, places, digits in (("NUMERIC", 9, 18), ("BIGNUMERIC", 18, 9)):
        pairs = [(value(places, digits), value(places, rng.choice([1, 4, digits]))) for _ in range(60)]
        pairs = [(a, b) for a, b in pairs if b != 0]
        rows = ", ".join(f"STRUCT({kind} '{a}' AS a, {kind} '{b}' AS b, {n} AS n)" for n, (a, b) in enumerate(pairs))
        got = values(wh, f"SELECT a / b, a / (n + 1), a / 7, AVG(a) OVER (ORDER BY n ROWS 1 PRECEDING) "
                         f"FROM UNNEST([{rows}]) ORDER BY n")
        with localcontext() as exact:
            exact.prec = 100
            want = [(rounded(a / b, places), rounded(a / (n + 1), places), rounded(a / 7, places),
                     rounded((a + pairs[n - 1][0]) / 2 if n else a, places)) for n, (a, b) in enumerate(pairs)]
        assert got == want, kind


def test_division_by_zero_still_fails_with_division_by_zero(wh):
    # (so before too: pinned)
    for sql in ("SELECT n / 0 FROM ds.t", "SELECT n / (n - n) FROM ds.t", "SELECT b / z FROM ds.t, UNNEST([0]) AS z"):
        with pytest.raises(WarehouseQueryError, match="division by zero"):
            wh.query(sql)


def test_safe_divide_of_numeric_is_null_on_zero_and_numeric_otherwise(wh):
    assert typed(wh, "SELECT SAFE_DIVIDE(n, 0) AS z, SAFE_DIVIDE(i, n) AS q, SAFE_DIVIDE(b, 2) AS bq FROM ds.t") == {
        "z": "NUMERIC", "q": "NUMERIC", "bq": "BIGNUMERIC"}
    assert values(wh, "SELECT SAFE_DIVIDE(n, 0), SAFE_DIVIDE(n, i), SAFE_DIVIDE(i, n - n) FROM ds.t ORDER BY k") == [
        (None, D("0.333333333"), None), (None, D("1.25"), None), (None, D("0.000000001"), None), (None, None, None)]


# ------------------------------------------------------------------------------------------ *

def test_numeric_product_stays_numeric_rounded_and_does_not_overflow_where_bigquery_does_not(wh):
    assert typed(wh, "SELECT n * n AS nn, b * b AS bb, n * b AS nb, n * i AS ni FROM ds.t WHERE k = 2") == {
        "nn": "NUMERIC", "bb": "BIGNUMERIC", "nb": "BIGNUMERIC", "ni": "NUMERIC"}
    assert values(wh, """
        SELECT NUMERIC '12345678901234.5' * NUMERIC '-1000000000.25', BIGNUMERIC '123.5' * BIGNUMERIC '456.25',
               NUMERIC '0.000000005' * NUMERIC '0.1', NUMERIC '-0.000000005' * NUMERIC '0.1',
               NUMERIC '0.000000004' * NUMERIC '0.1', CAST(NULL AS NUMERIC) * NUMERIC '2'""") == [(
        D("-12345678904320919725308.625"), D("56346.875"), D("0.000000001"), D("-0.000000001"), D("0"), None)]


def test_bignumeric_product_wider_than_the_sandbox_holds_is_refused_not_rounded(wh):
    with pytest.raises(RunbookError, match=r"BIGNUMERIC product: the sandbox's BIGNUMERIC holds 18 decimal places"):
        wh.query("SELECT BIGNUMERIC '0.0000000001' * BIGNUMERIC '0.0000000001'")


# ------------------------------------------------------------------------------------------ supertypes

def test_supertype_of_numeric_and_bignumeric_is_bignumeric(wh):
    select = """SELECT COALESCE(n, b) AS c, IFNULL(n, b) AS i, IF(k = 1, b, n) AS f,
                       CASE WHEN k = 1 THEN b WHEN k = 2 THEN n ELSE 0 END AS w, GREATEST(n, b) AS g, LEAST(n, b) AS l
                FROM ds.t WHERE k = 1"""
    assert typed(wh, select) == {name: "BIGNUMERIC" for name in "cifwgl"}
    # the BIGNUMERIC's 18th place survives (DuckDB would cut both to NUMERIC's 9)
    assert values(wh, select) == [(D("1"), D("1"), D("1.000000000000000001"), D("1.000000000000000001"),
                                   D("1.000000000000000001"), D("1"))]
    assert values(wh, "SELECT COALESCE(CAST(NULL AS NUMERIC), BIGNUMERIC '0.123456789012345678')") == [
        (D("0.123456789012345678"),)]


def test_supertype_of_numeric_with_int64_is_numeric_and_with_float64_float64(wh):
    # (so before too: pinned)
    assert typed(wh, "SELECT COALESCE(n, i) AS ni, COALESCE(n, f) AS nf, IF(k = 1, i, n) AS n2 FROM ds.t") == {
        "ni": "NUMERIC", "nf": "FLOAT64", "n2": "NUMERIC"}


# ------------------------------------------------------------------------------------------ SUM, ROUND, TRUNC

def test_sum_of_numeric_is_numeric(wh):
    # (so before too: pinned; DuckDB's SUM of a DECIMAL keeps its scale)
    assert typed(wh, "SELECT SUM(n) AS s, SUM(b) AS sb FROM ds.t") == {"s": "NUMERIC", "sb": "BIGNUMERIC"}
    assert values(wh, "SELECT SUM(n) FROM ds.t") == [(D("-1.499999995"),)]


def test_round_trunc_ceil_floor_of_numeric_stay_numeric(wh):
    assert typed(wh, "SELECT ROUND(n, 2) AS r, ROUND(n) AS r0, TRUNC(n, 1) AS t, CEIL(n) AS c, FLOOR(n) AS fl, "
                     "ROUND(b, 3) AS rb FROM ds.t") == {
        "r": "NUMERIC", "r0": "NUMERIC", "t": "NUMERIC", "c": "NUMERIC", "fl": "NUMERIC", "rb": "BIGNUMERIC"}
    assert values(wh, "SELECT ROUND(n, 0), TRUNC(n), CEIL(n), FLOOR(n) FROM ds.t WHERE k = 2") == [
        (D("-3"), D("-2"), D("-2"), D("-3"))]


# ------------------------------------------------------------------------------------------ typed by the tables

def test_columns_are_typed_through_ctes_subqueries_and_star(wh):
    assert typed(wh, """WITH c AS (SELECT * FROM ds.t), s AS (SELECT n AS m, i FROM c)
                        SELECT AVG(m) AS a, SUM(m) / COUNT(*) AS q, (SELECT MAX(n) FROM ds.t) / 4 AS x FROM s""") == {
        "a": "NUMERIC", "q": "NUMERIC", "x": "NUMERIC"}


# Each way a value carries a decimal under another name, which the pruning of untyped queries follows (a query
# is typed only where a correction site may see a decimal): the division is NUMERIC only if its query was typed.
CARRIED = {
    "an alias through two CTEs":
        "WITH a AS (SELECT n AS x FROM ds.t), b AS (SELECT x AS y FROM a) SELECT y / 4 AS r FROM b",
    "a STRUCT field": "WITH a AS (SELECT STRUCT(n AS fld) AS s FROM ds.t) SELECT s.fld / 4 AS r FROM a",
    "an UNNEST alias": "SELECT v / 4 AS r FROM ds.t, UNNEST([n]) AS v",
    "an ARRAY element": "WITH a AS (SELECT [n] AS arr FROM ds.t) SELECT arr[OFFSET(0)] / 4 AS r FROM a",
    "a CAST to a STRUCT type":
        "SELECT s.a / 4 AS r FROM (SELECT CAST(STRUCT(i AS a) AS STRUCT<a NUMERIC>) AS s FROM ds.t)",
    "a scalar subquery": "SELECT (SELECT MAX(x) FROM (SELECT n AS x FROM ds.t)) / 4 AS r",
    "a NUMERIC literal": "SELECT IF(k > 2, NUMERIC '1.5', i) / 4 AS r FROM ds.t",
    "a REPLACE of the star": "WITH a AS (SELECT * REPLACE (n AS i) FROM ds.t) SELECT i / 4 AS r FROM a",
    # found by a differential probe of the pruning (pruned against unpruned over 1,829 queries)
    "a later UNION ALL branch": "SELECT v / 4 AS r FROM (SELECT i AS v FROM ds.t UNION ALL SELECT n FROM ds.t)",
    "a later branch after a NULL": "WITH c AS (SELECT NULL AS v UNION ALL SELECT n FROM ds.t) SELECT v / 4 AS r FROM c",
    "an INTERSECT": "SELECT v / 4 AS r FROM (SELECT 1 AS v INTERSECT DISTINCT SELECT n FROM ds.t)",
    "a recursive CTE": "WITH RECURSIVE c AS (SELECT 0 AS x, 1 AS d UNION ALL SELECT x + NUMERIC '0.5', d + 1 FROM c "
                       "WHERE d < 3) SELECT x / 3 AS r FROM c",
    "a PIVOT": "SELECT p1 / 4 AS r FROM (SELECT k, n FROM ds.t) PIVOT (SUM(n) FOR k IN (1 AS p1, 2 AS p2))",
    "an UNPIVOT": "SELECT val / 4 AS r FROM (SELECT k, n, b FROM ds.t) UNPIVOT (val FOR col IN (n))",
    "a scalar subquery of a star": "SELECT (SELECT * EXCEPT (b, i, f, k) FROM ds.t WHERE k = 1) / 4 AS r",
}


@pytest.mark.parametrize("how", list(CARRIED))
def test_a_decimal_carried_under_another_name_is_still_typed(wh, how):
    assert typed(wh, CARRIED[how])["r"] == "NUMERIC"


def test_a_query_whose_correction_sites_see_no_decimal_is_not_typed(wh, monkeypatch):
    # runbook 04's exact differences of INT64 columns: NUMERIC only inside a CAST to FLOAT64, under IF and COALESCE
    sql = ("SELECT IF(k IS NULL, NULL, CAST(ABS(CAST(i AS NUMERIC) - CAST(k AS NUMERIC)) AS FLOAT64)) AS d, "
           "COALESCE(i, k) AS c, i * 2 AS m, CASE WHEN n IS NULL THEN 0 ELSE 1 END AS z FROM ds.t")
    typings = []
    monkeypatch.setattr(numeric_types, "_typed_sites", lambda *a: typings.append(a) or {})
    tree, = parsed(sql)
    schema = (("ds.t", tuple(dict(wh.table_info("ds.t").columns).items())),)
    assert numeric_types._candidate_queries(tree, schema) and not numeric_types._queries_to_type(tree, schema)
    assert _both(wh, sql)[1] == _both(wh, sql)[0] and not typings
    assert typed(wh, sql) == {"d": "FLOAT64", "c": "INT64", "m": "INT64", "z": "INT64"}


def test_a_table_whose_column_becomes_numeric_is_not_served_its_old_translation(wh):
    wh.execute("CREATE OR REPLACE TABLE ds.changing AS SELECT 7 AS x")
    sql = "SELECT x / 2 AS half FROM ds.changing"
    assert wh.query(sql)["half"].tolist() == [3.5]
    wh.execute("CREATE OR REPLACE TABLE ds.changing AS SELECT NUMERIC '7' AS x")
    assert wh.query(sql)["half"].tolist() == [D("3.5")]
    assert typed(wh, sql) == {"half": "NUMERIC"}


# ------------------------------------------------------------------------------------------ pins: nothing else moves

@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> LocalWarehouse:
    """A warehouse with the kit's raw and production tables (their column types are what typing reads)."""
    w = LocalWarehouse(tmp_path_factory.mktemp("kit") / "k.duckdb")
    generator.generate_raw(w, days=1, scale=0.15)
    return w


def _both(wh: LocalWarehouse, sql: str) -> tuple[list[str], list[str]]:
    """The DuckDB SQL of `sql` as before (no schema) and as the warehouse runs it (typed by its tables)."""
    plain = translate(sql, wh.project, CATALOG)
    with wh.connection(read_only=True) as con:
        typed_statements = retyped(con, sql, plain, wh.project, CATALOG)
    return [s.sql for s in plain], [s.sql for s in typed_statements]


def _kit_scripts(code_sql) -> list[str]:
    phases = load_phases()
    out = []
    for processor in PHASE3_PROCESSORS + PHASE4_PROCESSORS:
        phase = phases.get("phase3" if processor in PHASE3_PROCESSORS else "phase4")
        sources = {"raw": "nba_raw", "analytics": "nba_analytics"}
        select = code_sql(processor_sql(processor)).format(**sources)
        table = phase.table(processor)
        script = merge_script(processor, table, table.dataset, sources, phases.run_history_table, HEAD)
        out += [select, code_sql(script)]
    return out


# The NaN key rewrites.py puts before a sort key, which the typed translation leaves off a key of a column holding no
# NaN (sort_keys.py, tested in test_sort_keys.py): apart from those, the typed SQL must be the same.
NAN_KEY = re.compile(r"NOT \(TYPEOF\((?P<x>[^()]+)\) IN \('DOUBLE', 'FLOAT'\) AND ISNAN\(TRY_CAST\((?P=x) AS DOUBLE\)\)\)"
                     r"(?: DESC)?(?: NULLS (?:FIRST|LAST))?, ")


def test_the_kits_phase_3_and_4_sql_without_numeric_is_translated_byte_for_byte_as_before(kit):
    # player_shot_zone_analysis involves no NUMERIC; the others cast FLOAT64 measures to NUMERIC, so with those
    # casts made FLOAT64 every expression in them is INT64 or FLOAT64, and nothing may change but sort keys.
    without_numeric = [sql.replace("AS NUMERIC)", "AS FLOAT64)") for sql in _kit_scripts(lambda s: s)]
    assert not any("AS NUMERIC" in sql for sql in without_numeric)
    for sql in without_numeric:
        plain, typed_sql = _both(kit, sql)
        assert [NAN_KEY.sub("", s) for s in typed_sql] == [NAN_KEY.sub("", s) for s in plain], sql[:80]
    shot_zone = processor_sql("player_shot_zone_analysis").format(analytics="nba_analytics")
    plain, typed_sql = _both(kit, shot_zone)
    assert [NAN_KEY.sub("", s) for s in typed_sql] == [NAN_KEY.sub("", s) for s in plain]
    assert NAN_KEY.search(plain[0]) and not NAN_KEY.search(typed_sql[0])   # ORDER BY game_date DESC: a DATE


def test_the_kits_numeric_sql_does_take_the_decimal_forms(kit):
    daily_cache = processor_sql("player_daily_cache").format(analytics="nba_analytics")
    plain, typed_sql = _both(kit, daily_cache)
    assert "LIST_TRANSFORM" not in plain[0] and "LIST_TRANSFORM" in typed_sql[0]


# Today's DuckDB SQL for queries over INT64 and FLOAT64 columns (and a table the warehouse does not have). Typed by
# the tables, a FLOAT64 `+ - * /` also gets its overflow check (float_overflows.py), and nothing else changes.
_OVERFLOW_CHECKED = {
    "f / CASE WHEN i = 0 THEN ERROR('division by zero') ELSE i END AS c":
        "(CASE WHEN (ISINF(_r_) OR ISNAN(_r_)) AND NOT ISINF(f) AND NOT ISNAN(f) AND NOT ISINF(i) AND NOT ISNAN(i) "
        "THEN ERROR('double overflow: f / i') ELSE _r_ END) AS c",
    "i * f AS e":
        "(CASE WHEN (ISINF(_r_) OR ISNAN(_r_)) AND NOT ISINF(i) AND NOT ISNAN(i) AND NOT ISINF(f) AND NOT ISNAN(f) "
        "THEN ERROR('double overflow: i * f') ELSE _r_ END) AS e",
}
PLAIN_QUERIES = {
    "SELECT i / 2 AS a, AVG(i) AS b, f / i AS c, COALESCE(i, 2) AS d, ROUND(f, 2) AS e FROM ds.t GROUP BY i, f":
        "SELECT i / 2 AS a, AVG(i) AS b, f / CASE WHEN i = 0 THEN ERROR('division by zero') ELSE i END AS c, "
        "COALESCE(i, 2) AS d, ROUND(f, 2) AS e FROM \"runbook-wh\".ds.t GROUP BY i, f",
    "SELECT SAFE_DIVIDE(i, 3) AS a, IF(i > 0, f, 0) AS b, CASE WHEN i > 1 THEN i ELSE 0 END AS c, GREATEST(i, 1) AS d, "
    "i * f AS e FROM ds.t":
        "SELECT CASE WHEN 3 <> 0 THEN i / 3 ELSE NULL END AS a, CASE WHEN i > 0 THEN f ELSE 0 END AS b, "
        "CASE WHEN i > 1 THEN i ELSE 0 END AS c, CASE WHEN i IS NULL OR 1 IS NULL THEN NULL ELSE GREATEST(i, 1) END "
        "AS d, i * f AS e FROM \"runbook-wh\".ds.t",
    "SELECT AVG(f) OVER (PARTITION BY i) AS a, x / y AS b FROM ds.t, ds.absent":
        "SELECT AVG(f) OVER (PARTITION BY i) AS a, x / CASE WHEN y = 0 THEN ERROR('division by zero') ELSE y END AS b "
        "FROM \"runbook-wh\".ds.t CROSS JOIN \"runbook-wh\".ds.absent",
}


@pytest.mark.parametrize("sql", list(PLAIN_QUERIES))
def test_queries_over_int64_and_float64_are_translated_byte_for_byte_as_before(wh, sql):
    plain, typed_sql = _both(wh, sql)
    typed = PLAIN_QUERIES[sql]
    for before, checked in _OVERFLOW_CHECKED.items():
        typed = typed.replace(before, checked.replace("_r_", before.rsplit(" AS ", 1)[0]))
    assert plain == [PLAIN_QUERIES[sql]] and typed_sql == [typed]
