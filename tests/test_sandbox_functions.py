"""The sandbox warehouse on GoogleSQL's own documented examples of FORMAT (%t, %T, the ' flag, %x of a negative
INT64), MIN and LEAST with a NaN, APPROX_QUANTILES and APPROX_TOP_COUNT (found by the zsql_formats probe, findings
4, 6, 8 and 10). Each expected value is the page's: string_functions.md (FORMAT), aggregate_functions.md (MIN),
mathematical_functions.md, approximate_aggregate_functions.md of google/zetasql's docs, the text of BigQuery's
pages. Where a page is silent, ZetaSQL's reference implementation says (marked [ZetaSQL])."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest

from runbook_lib.local.bigquery import UnsupportedSQL
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError
from sandbox_queries import one_value, raised

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

NAN = "CAST('nan' AS FLOAT64)"


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("functions") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute(f"""CREATE TABLE ds.readings (sensor STRING, x FLOAT64, n NUMERIC, at TIMESTAMP);
                  INSERT INTO ds.readings VALUES
                    ('a', 1.0, NUMERIC '2.50', TIMESTAMP '2024-01-02 00:00:00+00'),
                    ('a', {NAN}, NUMERIC '1.25', TIMESTAMP '2024-01-01 00:00:00+00'),
                    ('a', 2.0, NULL, NULL),
                    ('b', 3.0, NUMERIC '7', TIMESTAMP '2024-01-03 00:00:00+00')""")
    return w


value = one_value


def refusal(wh: LocalWarehouse, sql: str, error: type[Exception] = UnsupportedSQL) -> str:
    return raised(wh, sql, error)


# ------------------------------------------------------------------------------------------
# FORMAT: %t and %T ("%t and %T behavior"), NULL arguments, the ' flag, %x and %o

def test_format_t_of_a_null_prints_null(wh):
    """NULL argument handling: "if the format specifier is %t or %T ... a NULL value produces 'NULL'" (its example:
    FORMAT('00-%t-00', NULL_expression) is 00-NULL-00). DuckDB's printf made the whole result NULL."""
    assert value(wh, "SELECT FORMAT('00-%t-00', CAST(NULL AS INT64))") == "00-NULL-00"
    assert value(wh, "SELECT FORMAT('%T|%t', CAST(NULL AS STRING), NULL)") == "NULL|NULL"
    # the other specifiers still give a NULL result: "FORMAT('%i', NULL_expression) produces a NULL STRING"
    assert value(wh, "SELECT FORMAT('%d', CAST(NULL AS INT64))") is None


def test_format_t_prints_numbers_as_cast_to_string(wh):
    """%t of INT64 is 123, NUMERIC as CAST(x AS STRING) gives it (no trailing zeros), FLOAT64 with .0 when whole
    ("123.0 (always with .0)"). DuckDB's printf %s refused numbers ("Invalid type specifier")."""
    assert value(wh, "SELECT FORMAT('id=%t', 123)") == "id=123"
    assert value(wh, "SELECT FORMAT('%t|%t|%t', 1.5, NUMERIC '3.50', 123.0)") == "1.5|3.5|123.0"
    assert value(wh, f"SELECT FORMAT('%t %t', {NAN}, CAST('-inf' AS FLOAT64))") == "nan -inf"
    df = wh.query("SELECT FORMAT('%t', n) AS t FROM ds.readings ORDER BY n")
    assert df.t.tolist() == ["NULL", "1.25", "2.5", "7"]


def test_format_capital_t_prints_sql_literals(wh):
    """%T column of the table: a quoted string literal, NUMERIC "123.0", DATE "2011-02-03", TIMESTAMP
    "2011-02-03 04:05:06+00", CAST("inf" AS <type>), b"..." for BYTES; BOOL and INT64 as for %t."""
    assert value(wh, "SELECT FORMAT('%T', 'sample')") == '"sample"'
    assert value(wh, "SELECT FORMAT('%T', DATE '2011-02-03')") == 'DATE "2011-02-03"'
    assert value(wh, "SELECT FORMAT('%T', TIMESTAMP '2011-02-03 04:05:06+00')") == 'TIMESTAMP "2011-02-03 04:05:06+00"'
    assert value(wh, "SELECT FORMAT('%T %T %T %T', NUMERIC '123', 1234, TRUE, 2.3)") == 'NUMERIC "123" 1234 true 2.3'
    assert value(wh, "SELECT FORMAT('%T', CAST('inf' AS FLOAT64))") == 'CAST("inf" AS FLOAT64)'
    assert value(wh, r"SELECT FORMAT('%T|%t', b'abc\x01\x02', b'abc\x01\x02')") == r'b"abc\x01\x02"|abc\x01\x02'
    # [ZetaSQL] ToStringLiteral: single quotes for a text that holds " and no '
    assert value(wh, """SELECT FORMAT('%T', 'say "hi"')""") == """'say "hi"'"""


def test_format_t_of_structs_and_arrays(wh):
    """STRUCT: (value, value, ...), fields formatted with %t (%T); ARRAY: [value, value, ...]. DuckDB printed its
    own {'x': 1, 'y': a}."""
    assert value(wh, "SELECT FORMAT('%t', STRUCT(1 AS x, 'a' AS y))") == "(1, a)"
    assert value(wh, "SELECT FORMAT('%T', STRUCT(1 AS x, 'a' AS y))") == '(1, "a")'
    assert value(wh, "SELECT FORMAT('%t|%T', ['a', 'b'], ['a', 'b'])") == '[a, b]|["a", "b"]'
    assert value(wh, "SELECT FORMAT('%T', STRUCT(DATE '2015-09-01' AS d))") == 'STRUCT(DATE "2015-09-01")'


def test_format_t_keeps_the_documented_examples_and_widths(wh):
    """The page's table: FORMAT('%t', date '2015-09-01') and of a TIMESTAMP in Los Angeles (printed in UTC);
    width and precision "act as they do for %s"."""
    assert value(wh, "SELECT FORMAT('%t', date '2015-09-01')") == "2015-09-01"
    assert value(wh, "SELECT FORMAT('%t', timestamp '2015-09-01 12:34:56 America/Los_Angeles')") \
        == "2015-09-01 19:34:56+00"
    assert value(wh, "SELECT FORMAT('|%-6t|%6.2T|', 12, 'abc')") == '|12    |    "a|'
    assert value(wh, "SELECT FORMAT('%d-%s-%.2f-%t %%', 7, 'a', 2.345, DATE '2024-01-01')") == "7-a-2.35-2024-01-01 %"


def test_format_grouping_flag_groups_hex_and_octal_digits(wh):
    """Flags, ': FORMAT("%'x", 12345678) returns bc:614e, FORMAT("%'o", 55555) returns 15,4403; DuckDB printed the
    decimal 12,345,678. [ZetaSQL] # adds the 0x prefix before the groups."""
    assert value(wh, """SELECT FORMAT("%'x", 12345678)""") == "bc:614e"
    assert value(wh, """SELECT FORMAT("%'o", 55555)""") == "15,4403"
    assert value(wh, """SELECT FORMAT("%'#X|%'d", 1193046, 12345678)""") == "0X12:3456|12,345,678"
    said = refusal(wh, """SELECT FORMAT("%'8x", 1)""")
    assert said == ("The local warehouse's FORMAT takes the ' flag with %x only without a width or precision "
                    """(not "%'8x"); use target=gcp for that.""")


def test_format_hex_or_octal_of_a_negative_int64_fails(wh):
    """Format specifiers table, o, x, X: "If an INT64 value is negative, an error is produced"; DuckDB printed the
    two's complement, ffffffffffffffff."""
    with pytest.raises(WarehouseQueryError, match="FORMAT cannot print the negative INT64 -1 with %x"):
        wh.query("SELECT FORMAT('%x', -1)")
    with pytest.raises(WarehouseQueryError, match="negative INT64 -8 with %o"):
        wh.query("SELECT FORMAT('%o', x) FROM UNNEST([8, -8]) AS x")
    assert value(wh, "SELECT FORMAT('%x %X %#o', 255, 255, 8)") == "ff FF 010"


# ------------------------------------------------------------------------------------------
# MIN and LEAST with a NaN

def test_min_with_a_nan_is_nan_as_an_aggregate_and_a_window(wh):
    """Aggregate functions doc, MIN: "If the argument is NaN for any row in the group, returns NaN". DuckDB orders
    NaN above +inf, so its MIN skipped it (1.0), while MAX already gave NaN."""
    assert math.isnan(value(wh, f"SELECT MIN(x) FROM UNNEST([1.0, {NAN}, 2.0]) AS x"))
    df = wh.query("SELECT sensor, MIN(x) AS low, MAX(x) AS high FROM ds.readings GROUP BY sensor ORDER BY sensor")
    assert math.isnan(df.low[0]) and math.isnan(df.high[0]) and df.low[1] == 3.0
    df = wh.query("SELECT sensor, MIN(x) OVER (PARTITION BY sensor) AS low FROM ds.readings ORDER BY sensor")
    assert [math.isnan(v) for v in df.low] == [True, True, True, False]


def test_least_with_a_nan_is_nan(wh):
    """Mathematical functions doc: "return NaN if any of the arguments is NaN" (GREATEST already did)."""
    assert math.isnan(value(wh, f"SELECT LEAST(1.0, {NAN})"))
    assert math.isnan(value(wh, f"SELECT LEAST({NAN}, 1.0)"))
    assert value(wh, f"SELECT LEAST(CAST(NULL AS FLOAT64), {NAN})") is None   # a NULL argument still gives NULL


def test_min_and_least_of_other_types_are_unchanged(wh):
    """Pins of what was right already: the NaN check is for FLOAT64 alone, and MIN keeps its argument's type."""
    rows = wh.query_arrow("SELECT MIN(n) AS n, MIN(at) AS at, MIN(sensor) AS s, LEAST('b', 'a') AS l "
                          "FROM ds.readings").to_pylist()
    assert rows[0]["n"] == Decimal("1.25") and rows[0]["at"].day == 1 and rows[0]["s"] == "a" and rows[0]["l"] == "a"
    assert value(wh, "SELECT MIN(x) FROM UNNEST([2.0, 1.0]) AS x") == 1.0


# ------------------------------------------------------------------------------------------
# APPROX_QUANTILES, APPROX_TOP_COUNT

def test_approx_quantiles_returns_input_values_as_the_documented_examples(wh):
    """approximate_aggregate_functions.md, APPROX_QUANTILES: [1, 5, 10]; percentile_90 of 1..10 is 9; DISTINCT
    [1, 6, 10]. DuckDB's APPROX_QUANTILE interpolated ([1, 6, 10], and 25 for the median of 10, 20, 30, 40)."""
    assert value(wh, "SELECT APPROX_QUANTILES(x, 2) FROM UNNEST([1, 1, 1, 4, 5, 6, 7, 8, 9, 10]) AS x") == [1, 5, 10]
    assert value(wh, "SELECT APPROX_QUANTILES(x, 100)[OFFSET(90)] "
                     "FROM UNNEST([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) AS x") == 9
    assert value(wh, "SELECT APPROX_QUANTILES(DISTINCT x, 2) FROM UNNEST([1, 1, 1, 4, 5, 6, 7, 8, 9, 10]) AS x") \
        == [1, 6, 10]
    assert value(wh, "SELECT APPROX_QUANTILES(x, 100)[OFFSET(50)] FROM UNNEST([10, 20, 30, 40]) AS x") == 20


def test_approx_quantiles_respect_nulls_as_the_documented_examples(wh):
    """RESPECT NULLS: [NULL, 4, 10]; with DISTINCT [NULL, 6, 10] (read as JSON: an ARRAY holding a NULL cannot be a
    result, as in BigQuery). sqlglot refused it: "RESPECT NULLS is not supported for non-window functions..". """
    values = "UNNEST([NULL, NULL, 1, 1, 1, 4, 5, 6, 7, 8, 9, 10]) AS x"
    assert value(wh, f"SELECT TO_JSON_STRING(APPROX_QUANTILES(x, 2 RESPECT NULLS)) FROM {values}") == "[null,4,10]"
    assert value(wh, f"SELECT TO_JSON_STRING(APPROX_QUANTILES(DISTINCT x, 2 RESPECT NULLS)) FROM {values}") \
        == "[null,6,10]"
    assert value(wh, f"SELECT APPROX_QUANTILES(x, 2 IGNORE NULLS) FROM {values}") == [1, 5, 10]


def test_approx_quantiles_of_no_rows_is_null_and_per_group(wh):
    """"Returns NULL if there are zero input rows or expression evaluates to NULL for all rows" (a pin: right before
    too, as the t-digest answers these)."""
    assert value(wh, "SELECT APPROX_QUANTILES(x, 3) IS NULL FROM UNNEST([1]) AS x WHERE x < 0") is True
    assert value(wh, "SELECT APPROX_QUANTILES(x, 1) IS NULL FROM UNNEST([CAST(NULL AS INT64)]) AS x") is True
    rows = wh.query_arrow("SELECT sensor, APPROX_QUANTILES(at, 1) AS q FROM ds.readings GROUP BY sensor "
                          "ORDER BY sensor").to_pylist()
    assert [[t.day for t in row["q"]] for row in rows] == [[1, 2], [3, 3]]


def test_approx_top_count_as_the_documented_examples(wh):
    """approximate_aggregate_functions.md, APPROX_TOP_COUNT: [{pear, 3}, {apple, 2}]; NULL is counted ("doesn't
    ignore NULLs"): [{pear, 3}, {NULL, 2}]. sqlglot refused it naming APPROX_TOP_K."""
    assert value(wh, "SELECT APPROX_TOP_COUNT(x, 2) FROM UNNEST(['apple', 'apple', 'pear', 'pear', 'pear', "
                     "'banana']) AS x") == [{"value": "pear", "count": 3}, {"value": "apple", "count": 2}]
    assert value(wh, "SELECT APPROX_TOP_COUNT(x, 2) FROM UNNEST([NULL, 'pear', 'pear', 'pear', 'apple', NULL]) AS x") \
        == [{"value": "pear", "count": 3}, {"value": None, "count": 2}]
    assert value(wh, "SELECT APPROX_TOP_COUNT(x, 2) IS NULL FROM UNNEST(['a']) AS x WHERE x = 'b'") is True
    assert value(wh, "SELECT APPROX_TOP_COUNT(sensor, 1)[OFFSET(0)].value FROM ds.readings") == "a"


def test_approx_top_sum_and_other_respect_nulls_are_refused_in_the_kits_words(wh):
    said = refusal(wh, "SELECT APPROX_TOP_SUM(x, 1, 2) FROM UNNEST(['a']) AS x")
    assert said.startswith("The local warehouse does not emulate APPROX_TOP_SUM")
    said = refusal(wh, "SELECT ANY_VALUE(x RESPECT NULLS) FROM UNNEST([1]) AS x")
    assert said == ("The local warehouse takes RESPECT NULLS in a window function (... OVER (...)), in ARRAY_AGG and "
                    "in APPROX_QUANTILES, not in ANY_VALUE; use target=gcp for that.")
    # ARRAY_AGG keeps NULLs without the clause, as BigQuery's does; a window function takes it
    assert value(wh, "SELECT ARRAY_LENGTH(ARRAY_AGG(x RESPECT NULLS)) FROM UNNEST([1, NULL]) AS x") == 2
    assert value(wh, "SELECT FIRST_VALUE(x RESPECT NULLS) OVER (ORDER BY x) FROM UNNEST([1]) AS x") == 1


def test_cast_of_an_interval_to_string_is_bigquerys_text(wh):
    # interval functions doc: an INTERVAL's text is Y-M D H:M:S; DuckDB's cast wrote '3 days' and '01:30:00'
    assert wh.query("SELECT CAST(INTERVAL 3 DAY AS STRING) AS a, CAST(INTERVAL -25 MONTH AS STRING) AS b, "
                    "CAST(INTERVAL 90 MINUTE AS STRING) AS c, CAST(DATE '2021-05-20' - DATE '2020-04-19' AS STRING) "
                    "AS d, CAST(CAST(NULL AS INTERVAL) AS STRING) IS NULL AS e").values.tolist() == \
        [["0-0 3 0:0:0", "-2-1 0 0:0:0", "0-0 0 1:30:0", "0-0 396 0:0:0", True]]


@pytest.mark.parametrize("call, expected", [
    # JSON functions doc, JSON_STRIP_NULLS: its nine examples; DuckDB's stripped objects only, took no named argument
    ("""JSON '{"a": null, "b": "c"}'""", '{"b":"c"}'),
    ("JSON '[1, null, 2, null]'", "[1,2]"),
    ("JSON '[1, null, 2, null]', include_arrays=>FALSE", "[1,null,2,null]"),
    ("JSON '[1, null, 2, null, [null]]'", "[1,2,[]]"),
    ("JSON '[1, null, 2, null, [null]]', remove_empty=>TRUE", "[1,2]"),
    ("""JSON '{"a": null}', remove_empty=>TRUE""", "null"),
    ("""JSON '{"a": [null]}', remove_empty=>TRUE""", "null"),
    ("""JSON '{"a": {"b": {"c": null}}, "d": [null], "e": [], "f": 1}', include_arrays=>FALSE, remove_empty=>TRUE""",
     '{"d":[null],"e":[],"f":1}'),
    ("""JSON '{"a": {"b": {"c": null}}, "d": [null], "e": [], "f": 1}', remove_empty=>TRUE""", '{"f":1}'),
    ("JSON 'null'", "null"),
    # at a path only
    ("""JSON '{"a": {"x": null, "y": 1.50}, "b": null}', '$.a'""", '{"a":{"y":1.5},"b":null}'),
])
def test_json_strip_nulls_as_the_documented_examples(wh, call, expected):
    assert wh.query(f"SELECT TO_JSON_STRING(JSON_STRIP_NULLS({call})) AS v").v.tolist() == [expected]


def test_json_strip_nulls_of_sql_null_and_a_null_option(wh):
    got = wh.query("SELECT JSON_STRIP_NULLS(CAST(NULL AS JSON)) IS NULL AS a, "
                   "TO_JSON_STRING(JSON_STRIP_NULLS(JSON '[1, null]', remove_empty => CAST(NULL AS BOOL))) AS b")
    assert got.values.tolist() == [[True, "[1,null]"]]
