"""compare_tables against tables with differences planted on purpose, in every column type BigQuery has:
a generator (hypothesis) plants changed cells, NULLs both ways, tiny float noise, NaN, infinities and
rows on one side only, and the comparison must find exactly those and nothing else, as an independent
Python reference computes them; then the cases one by one that once gave a wrong answer (values beyond
FLOAT64's precision, NULL against a value in arrays, structs and JSON, retyped columns, TIMESTAMP
partitions) and the parity of the two targets on a table of every type."""
from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.bigquery import FakeBigQuery
from runbook_lib.compare import Thresholds, compare_tables
from runbook_lib.errors import ParameterError
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.target import connect

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

PROJECT = "my-project"

# column -> BigQuery type; k is the key
TYPES = {"k": "INT64", "i": "INT64", "f": "FLOAT64", "n": "NUMERIC", "s": "STRING", "b": "BOOL", "d": "DATE",
         "ts": "TIMESTAMP", "y": "BYTES", "a": "ARRAY<INT64>", "r": "STRUCT<x INT64, y STRING>", "j": "JSON"}
COLUMNS = [c for c in TYPES if c != "k"]


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("planted") / "w.duckdb", project=PROJECT)
    w.create_dataset("p")
    w.create_dataset("t")
    return w


# ---------------------------------------------------------------- rows as BigQuery SQL


def literal(column: str, value) -> str:
    """A value of TYPES[column] as a BigQuery SQL literal (NULL typed)."""
    kind = TYPES[column]
    if value is None:
        return f"CAST(NULL AS {kind})"
    if kind == "INT64":
        return str(value)
    if kind == "FLOAT64":
        return f"CAST('{value!r}' AS FLOAT64)"
    if kind == "NUMERIC":
        return f"NUMERIC '{value:f}'"
    if kind == "STRING":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind == "BOOL":
        return "TRUE" if value else "FALSE"
    if kind == "DATE":
        return f"DATE '{value.isoformat()}'"
    if kind == "TIMESTAMP":
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}+00'"
    if kind == "BYTES":
        return f"FROM_HEX('{value.hex()}')"
    if kind == "ARRAY<INT64>":
        return f"ARRAY<INT64>[{', '.join(map(str, value))}]"
    if kind.startswith("STRUCT"):
        return f"STRUCT({value[0]} AS x, {literal('s', value[1])} AS y)"
    return f"JSON '{json.dumps(value)}'"


def load(wh: LocalWarehouse, ref: str, rows: list[dict]) -> None:
    selects = [", ".join(f"{literal(c, r[c])} AS {c}" for c in TYPES) for r in rows]
    body = " UNION ALL ".join(f"SELECT {s}" for s in selects) if rows else \
        "SELECT " + ", ".join(f"{literal(c, None)} AS {c}" for c in TYPES) + " LIMIT 0"
    wh.execute(f"CREATE OR REPLACE TABLE `{ref}` AS {body}")


# ---------------------------------------------------------------- the generator

FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.1, 0.3, -0.0, 1e300])
VALUES = {
    "i": st.integers(-(2 ** 62), 2 ** 62) | st.sampled_from([2 ** 53, 2 ** 53 + 1]),
    "f": FLOATS,
    "n": st.decimals(min_value=-10 ** 20, max_value=10 ** 20, places=9, allow_nan=False, allow_infinity=False),
    "s": st.text(alphabet="aeAé\u0301 '\\\"ü", max_size=4),
    "b": st.booleans(),
    "d": st.dates(date(1900, 1, 1), date(2100, 12, 31)),
    "ts": st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)),
    "y": st.binary(max_size=3),
    "a": st.lists(st.integers(-3, 3), max_size=3),
    "r": st.tuples(st.integers(0, 3), st.none() | st.sampled_from(["x", "X", "x "])),
    "j": st.integers(0, 3) | st.sampled_from(["a", [1, 2], {"a": 1}]),
}
NULLABLE = {c for c in COLUMNS if c != "a"}   # BigQuery stores no NULL array


def value(column: str):
    strategy = VALUES[column]
    return (st.none() | strategy) if column in NULLABLE else strategy


def planted_change(column: str):
    """A test value for a cell: another value, a NULL, or (FLOAT64) the next float, noise at the last bit."""
    if column == "f":
        return st.one_of(value(column), st.just("next"))
    return value(column)


@st.composite
def planted_tables(draw):
    rows = draw(st.integers(1, 30))
    prod = [{"k": k, **{c: draw(value(c)) for c in COLUMNS}} for k in range(rows)]
    test = [dict(r) for r in prod]
    for r in test:
        for c in draw(st.sets(st.sampled_from(COLUMNS), max_size=3)):
            new = draw(planted_change(c))
            if new == "next":
                new = math.nextafter(r[c], math.inf) if isinstance(r[c], float) else 0.5
            r[c] = new
    gone = draw(st.sets(st.integers(0, rows - 1), max_size=3))
    test = [r for r in test if r["k"] not in gone]
    test += [{"k": 100 + n, **{c: draw(value(c)) for c in COLUMNS}} for n in range(draw(st.integers(0, 3)))]
    return prod, test, draw(st.sampled_from([0.0, 1e-6])), draw(st.sampled_from([1, 2, 1000]))


def same(column: str, p, t, abs_tol: float) -> bool:
    """The comparison's rule, written independently: both NULL, or equal, or (numbers) |t - p| <= abs_tol,
    computed exactly for integers and NUMERIC; NaN matches NaN; arrays, structs and JSON exactly."""
    if p is None or t is None:
        return p is None and t is None
    if column == "f":
        if math.isnan(p) or math.isnan(t):
            return math.isnan(p) and math.isnan(t)
        return p == t or abs(t - p) <= abs_tol
    if column in ("i", "n"):
        return abs(Decimal(t) - Decimal(p)) <= Decimal(abs_tol)
    if column == "j":
        return json.dumps(p) == json.dumps(t)
    return p == t


class NoDryRun:
    """The warehouse without dry runs (what they estimate is tested in test_compare): a comparison here
    costs its statement alone."""

    def __init__(self, inner: LocalWarehouse):
        self.inner = inner

    def estimate_bytes(self, sql, params=None):
        return None

    def __getattr__(self, name):
        return getattr(self.inner, name)


@settings(max_examples=4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(planted_tables())
def test_planted_differences_in_every_column_type_are_found_exactly(wh, planted):
    # a few examples of up to 30 rows, each with up to 3 changed cells (the statement, not the rows, costs)
    prod, test, abs_tol, sample_rows = planted
    load(wh, "p.x", prod)
    load(wh, "t.x", test)
    diff = compare_tables(NoDryRun(wh), "p.x", "t.x", ["k"], abs_tol=abs_tol, sample_rows=sample_rows)
    tests = {r["k"]: r for r in test}
    pairs = [(p, tests[p["k"]]) for p in prod if p["k"] in tests]
    differing = {(p["k"], c) for p, t in pairs for c in COLUMNS if not same(c, p[c], t[c], abs_tol)}
    assert (diff.rows_prod, diff.rows_test, diff.matched_rows) == (len(prod), len(test), len(pairs))
    assert (diff.only_in_prod, diff.only_in_test) == (len(prod) - len(pairs), len(test) - len(pairs))
    assert diff.column_mismatches == {c: sum(1 for _, col in differing if col == c) for c in COLUMNS}
    assert diff.changed_rows == len({k for k, _ in differing})
    # the samples: the first changed rows and the first keys on each side only, by key, up to sample_rows
    sampled = set(sorted({k for k, _ in differing})[:sample_rows])
    assert set(zip(diff.sample["k"], diff.sample["column"])) == {(k, c) for k, c in differing if k in sampled}
    assert diff.sample["k"].tolist() == sorted(diff.sample["k"])
    one_sided = diff.one_sided_keys
    only_prod = sorted(p["k"] for p in prod if p["k"] not in tests)
    only_test = sorted(k for k in tests if k not in {p["k"] for p in prod})
    assert one_sided.loc[one_sided["side"] == "production", "k"].tolist() == only_prod[:sample_rows]
    assert one_sided.loc[one_sided["side"] == "test", "k"].tolist() == only_test[:sample_rows]
    identical = not differing and len(prod) == len(test) == len(pairs)
    assert (diff.verdict == "pass") == identical, diff.summary
    assert ("matches" in diff.summary) == identical


# ---------------------------------------------------------------- one case each


def compare(wh: LocalWarehouse, prod_sql: str, test_sql: str, **options):
    wh.execute(f"CREATE OR REPLACE TABLE p.one AS {prod_sql}")
    wh.execute(f"CREATE OR REPLACE TABLE t.one AS {test_sql}")
    return compare_tables(wh, "p.one", "t.one", ["k"], **options)


NAN, INF = "CAST('NaN' AS FLOAT64)", "CAST('inf' AS FLOAT64)"


@pytest.mark.parametrize("prod, test, rel_tol, differs", [
    (NAN, "1.0", 0.0, True),        # a NaN in production once fell within DuckDB's NaN <= NaN
    ("1.0", NAN, 0.0, True),
    (NAN, NAN, 0.0, False),
    (NAN, "CAST(NULL AS FLOAT64)", 0.0, True),
    (INF, "1.0", 0.5, True),        # |1 - inf| = inf <= 0.5 * inf: a relative tolerance of infinity
    (INF, f"-{INF}", 0.5, True),
    (INF, INF, 0.5, False),
])
def test_nan_and_infinities_differ_from_numbers_whatever_the_tolerance(wh, prod, test, rel_tol, differs):
    diff = compare(wh, f"SELECT 1 AS k, {prod} AS v", f"SELECT 1 AS k, {test} AS v", rel_tol=rel_tol)
    assert diff.column_mismatches == {"v": int(differs)} and diff.verdict == ("fail" if differs else "pass")


def test_two_finite_values_whose_difference_overflows_differ_by_infinity(wh):
    # (BigQuery fails a FLOAT64 subtraction that overflows; hypothesis planted 1.7976931348623157e308 against
    # -2.0448945902182162e301, and the comparison's query failed)
    diff = compare(wh, "SELECT 1 AS k, CAST('1.7976931348623157e308' AS FLOAT64) AS v UNION ALL SELECT 2, 1.0",
                   "SELECT 1 AS k, CAST('-2.0448945902182162e301' AS FLOAT64) AS v UNION ALL SELECT 2, NULL",
                   rel_tol=0.5)
    assert diff.column_mismatches == {"v": 2} and diff.max_abs_delta == {"v": math.inf}
    assert diff.sample["abs_delta"].tolist()[0] == math.inf and math.isnan(diff.sample["abs_delta"].tolist()[1])


def test_a_tolerance_too_large_for_float64_is_an_infinite_one(wh):
    big = "CAST('1.7e308' AS FLOAT64)"
    diff = compare(wh, f"SELECT 1 AS k, {big} AS v UNION ALL SELECT 2, 1.0",
                   f"SELECT 1 AS k, CAST('1.6e308' AS FLOAT64) AS v UNION ALL SELECT 2, {INF}", rel_tol=2.0)
    assert diff.column_mismatches == {"v": 1}   # (1e307 is within 2 * 1.7e308; an infinity is never within)


def test_a_nan_in_the_sample_is_nan_and_a_null_is_none(wh):
    diff = compare(wh, f"SELECT 1 AS k, {NAN} AS v UNION ALL SELECT 2, 1.0",
                   f"SELECT 1 AS k, CAST(NULL AS FLOAT64) AS v UNION ALL SELECT 2, {NAN}")
    prod, test = diff.sample["prod_value"].tolist(), diff.sample["test_value"].tolist()
    assert math.isnan(prod[0]) and test[0] is None and prod[1] == 1.0 and math.isnan(test[1])
    recorded = json.loads(json.dumps(diff.to_dict(), allow_nan=False))["details"]["sample"]
    assert [(r["prod_value"], r["test_value"], r["abs_delta"]) for r in recorded] == [("NaN", None, None), (1.0, "NaN", None)]


def test_a_nan_or_an_infinity_inside_an_array_or_a_struct_is_shown_as_it_is(wh):
    """Inside an ARRAY or a STRUCT a NULL is None, so a NaN there is the value NaN, not a NULL."""
    diff = compare(wh, f"SELECT 1 AS k, STRUCT({NAN} AS x) AS v UNION ALL SELECT 2, STRUCT({INF} AS x)",
                   "SELECT 1 AS k, STRUCT(CAST(NULL AS FLOAT64) AS x) AS v UNION ALL SELECT 2, STRUCT(1.0 AS x)")
    prod, test = diff.sample["prod_value"].tolist(), diff.sample["test_value"].tolist()
    assert diff.column_mismatches == {"v": 2} and math.isnan(prod[0]["x"]) and test[0] == {"x": None}
    recorded = json.loads(json.dumps(diff.to_dict(), allow_nan=False))["details"]["sample"]
    assert [(r["prod_value"], r["test_value"]) for r in recorded] == [({"x": "NaN"}, {"x": None}),
                                                                        ({"x": "inf"}, {"x": 1.0})]
    arrays = compare(wh, f"SELECT 1 AS k, [{NAN}, 1.0] AS v", "SELECT 1 AS k, [1.0, 1.0] AS v")
    assert math.isnan(arrays.sample["prod_value"].iloc[0][0])


@pytest.mark.parametrize("table", ["spieltag_ü", "player cache", "daily-cache_2025"])
def test_a_table_named_with_unicode_letters_spaces_or_dashes_is_compared(wh, table):
    for dataset in ("p", "t"):
        wh.execute(f"CREATE OR REPLACE TABLE `{dataset}.{table}` AS SELECT 1 AS k, 2 AS v")
    assert compare_tables(wh, f"p.{table}", f"t.{table}", ["k"]).verdict == "pass"


def test_a_table_name_with_a_backtick_dot_or_quote_is_refused_naming_the_parameter():
    from runbook_lib.warehouse import split_ref

    for bad in ("p.a`b", "p.a'b", 'p.a"b', "p.", "p.a.b.c"):
        with pytest.raises(ParameterError) as refused:
            split_ref(bad, "prod_table")
        assert refused.value.parameter == "prod_table"


@pytest.mark.parametrize("prod, test", [
    ("9007199254740993", "9007199254740992"),                               # INT64 beyond 2^53
    ("NUMERIC '123456789.123456789'", "NUMERIC '123456789.123456788'"),     # NUMERIC beyond FLOAT64's digits
    ("NUMERIC '99999999999999999999999999999.999999999'", "NUMERIC '-99999999999999999999999999999.999999999'"),
])
def test_integers_and_numerics_beyond_float64_precision_differ_by_their_exact_difference(wh, prod, test):
    diff = compare(wh, f"SELECT 1 AS k, {prod} AS v", f"SELECT 1 AS k, {test} AS v", abs_tol=1e-10)
    assert diff.changed_rows == 1 and diff.verdict == "fail"
    exact = abs(Decimal(test.split("'")[1] if "'" in test else test) - Decimal(prod.split("'")[1] if "'" in prod else prod))
    assert diff.max_abs_delta["v"] == pytest.approx(float(exact), rel=1e-15)
    assert diff.sample["abs_delta"].tolist() == [pytest.approx(float(exact), rel=1e-15)]


@pytest.mark.parametrize("kind, prod, test", [
    ("ARRAY<INT64>", "NULL", "[1]"), ("ARRAY<INT64>", "[1, 2]", "[2, 1]"),
    ("STRUCT<a INT64>", "NULL", "STRUCT(1 AS a)"), ("STRUCT<a INT64>", "STRUCT(NULL AS a)", "NULL"),
    ("STRUCT<a ARRAY<INT64>, b ARRAY<INT64>>", "STRUCT([1, 2] AS a, [3] AS b)", "STRUCT([1] AS a, [2, 3] AS b)"),
    ("JSON", "NULL", "JSON '1'"), ("JSON", "JSON 'null'", "NULL"),
])
def test_arrays_structs_and_json_differ_on_a_null_and_on_their_shape(wh, kind, prod, test):
    # (DuckDB's hash alone is equal for a NULL STRUCT and a STRUCT of NULLs, a NULL ARRAY and [], and
    # the two STRUCTs of arrays; a NULL ARRAY is stored as [], below)
    diff = compare(wh, f"SELECT 1 AS k, CAST({prod} AS {kind}) AS v UNION ALL SELECT 2, CAST(NULL AS {kind})",
                   f"SELECT 1 AS k, CAST({test} AS {kind}) AS v UNION ALL SELECT 2, CAST(NULL AS {kind})")
    assert diff.column_mismatches == {"v": 1} and diff.changed_rows == 1
    assert diff.sample["k"].tolist() == [1]


def test_a_null_array_and_an_empty_one_are_the_same_once_written(wh):
    # BigQuery stores an ARRAY as a REPEATED field, which has no NULL: a NULL ARRAY written to a table reads back as
    # [] ("BigQuery translates a NULL ARRAY into an empty ARRAY in the query result", data types doc), so the two
    # tables match, on BigQuery as in the sandbox (which once stored the NULL, and told them apart)
    diff = compare(wh, "SELECT 1 AS k, CAST(NULL AS ARRAY<INT64>) AS v, STRUCT(CAST(NULL AS ARRAY<INT64>) AS a) AS s",
                   "SELECT 1 AS k, CAST([] AS ARRAY<INT64>) AS v, STRUCT(CAST([] AS ARRAY<INT64>) AS a) AS s")
    assert diff.column_mismatches == {"v": 0, "s": 0} and diff.changed_rows == 0


def test_sample_values_are_plain_python_values(wh):
    diff = compare(wh, "SELECT 1 AS k, [1, 2] AS a, CAST(NULL AS INT64) AS i, STRUCT([1] AS x) AS r, NUMERIC '1.5' AS n",
                   "SELECT 1 AS k, [1, 2, 3] AS a, 7 AS i, STRUCT([2] AS x) AS r, NUMERIC '1.25' AS n")
    cells = {r.column: (r.prod_value, r.test_value, r.abs_delta) for r in diff.sample.itertuples()}
    assert cells["a"][:2] == ([1, 2], [1, 2, 3]) and cells["r"][:2] == ({"x": [1]}, {"x": [2]})
    assert cells["i"][0] is None and cells["i"][1] == 7            # a NULL is None, never pandas' <NA>
    assert cells["n"] == (Decimal("1.5"), Decimal("1.25"), 0.25)   # NUMERIC has its difference too
    json.dumps(diff.to_dict(), allow_nan=False)


@pytest.mark.parametrize("prod, test, differs", [
    ("TRUE", "1", True),                                                        # BOOL -> INT64
    ("DATETIME '2025-01-01 00:00:00'", "TIMESTAMP '2025-01-01 00:00:00+00'", True),
    ("'a'", "b'a'", True),                                                      # STRING -> BYTES (base64)
    ("DATE '1970-01-02'", "1", True),                                           # DATE -> INT64
    ("1500000000", "NUMERIC '1.5'", True),                                      # INT64 -> NUMERIC
    ("3", "NUMERIC '3'", False), ("3", "3.0", False),                           # the same number
])
def test_a_retyped_column_is_compared_value_by_value_never_by_fingerprint(wh, prod, test, differs):
    # DuckDB's hash is blind to the type: TRUE hashes as 1, a DATE as its day number, a NUMERIC as its
    # scaled integer, so the fingerprints of two different values of two types can be equal.
    diff = compare(wh, f"SELECT 1 AS k, {prod} AS v", f"SELECT 1 AS k, {test} AS v")
    assert diff.schema.type_changed and diff.column_mismatches == {"v": int(differs)}
    assert diff.verdict == ("fail" if differs else "warn")


def test_a_timestamp_partition_column_splits_the_counts_by_day(wh):
    wh.execute("CREATE OR REPLACE TABLE p.ts PARTITION BY DATE(at) AS SELECT k, "
               "TIMESTAMP_ADD(TIMESTAMP '2025-01-01 22:00:00+00', INTERVAL 15 * k MINUTE) AS at, k AS v "
               "FROM UNNEST(GENERATE_ARRAY(1, 40)) AS k")
    wh.execute("CREATE OR REPLACE TABLE t.ts PARTITION BY DATE(at) AS SELECT k, "
               "TIMESTAMP_ADD(TIMESTAMP '2025-01-01 22:00:00+00', INTERVAL 15 * k MINUTE) AS at, IF(k = 30, 0, k) AS v "
               "FROM UNNEST(GENERATE_ARRAY(1, 40)) AS k")
    diff = compare_tables(wh, "p.ts", "t.ts", ["k"])
    days = [date(2025, 1, 1), date(2025, 1, 2)]
    assert diff.partition_column == "at" and diff.partitions["partition_value"].tolist() == days
    assert diff.partitions["rows_prod"].tolist() == [7, 33]
    assert diff.mismatch_dates() == [date(2025, 1, 2)] and diff.summary.endswith("in v on 2025-01-02.")


def test_an_hour_partitioned_table_is_counted_in_its_own_hours(wh):
    # BigQuery's partitions of this table are hours, not days: the counts split as the table does
    wh.execute("CREATE OR REPLACE TABLE p.hr PARTITION BY TIMESTAMP_TRUNC(at, HOUR) AS SELECT k, "
               "TIMESTAMP_ADD(TIMESTAMP '2025-01-01 22:00:00+00', INTERVAL 15 * k MINUTE) AS at, k AS v "
               "FROM UNNEST(GENERATE_ARRAY(1, 8)) AS k")
    wh.execute("CREATE OR REPLACE TABLE t.hr LIKE p.hr")
    wh.execute("INSERT INTO t.hr SELECT * FROM p.hr WHERE k != 8")
    diff = compare_tables(wh, "p.hr", "t.hr", ["k"])
    assert diff.partitions["rows_prod"].tolist() == [3, 4, 1] and diff.partitions["rows_test"].tolist() == [3, 4, 0]


@pytest.mark.parametrize("unit", ["MONTH", "YEAR"])
def test_a_month_or_year_partitioned_table_is_counted_by_day_never_by_its_partitions_first_day(wh, unit):
    """Runbook 04 says which columns differ on which dates. Split by BigQuery's partitions, a MONTH or YEAR table
    named each by its first day (DATE_TRUNC), so a difference on 2025-02-02 read "on 2025-02-01" (a day that
    matched) or "on 2025-01-01" (a day outside the compared rows). BigQuery's own id for the partition (202502,
    2025) would be honest but names no day to look at; the column's day costs the statements nothing more (the same
    column read, the same partitions pruned), so those tables are counted by it."""
    for side, last in (("p", 3), ("t", 0)):   # only 2025-02-02's row differs
        wh.execute(f"CREATE OR REPLACE TABLE {side}.{unit.lower()} PARTITION BY DATE_TRUNC(d, {unit}) AS "
                   "SELECT 1 AS k, DATE '2025-01-31' AS d, 1 AS v UNION ALL SELECT 2, DATE '2025-02-01', 2 "
                   f"UNION ALL SELECT 3, DATE '2025-02-02', {last}")
    days = [date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 2)]
    for diff in on_both_targets(wh, unit.lower()):
        assert diff.partitions["partition_value"].tolist() == days and diff.partitions["rows_prod"].tolist() == [1] * 3
        assert diff.partitions["changed_rows"].tolist() == [0, 0, 1]
        assert diff.mismatch_dates() == [date(2025, 2, 2)] and diff.summary.endswith("in v on 2025-02-02.")
        assert diff.to_dict()["details"]["mismatch_dates"] == {"v": ["2025-02-02"]}


def test_an_integer_range_partitioned_table_is_counted_per_range(wh):
    # BigQuery's partitions of RANGE_BUCKET(k, GENERATE_ARRAY(0, 50, 10)) are the ranges starting 0, 10, ..., 40
    for side in ("p", "t"):
        wh.execute(f"CREATE OR REPLACE TABLE {side}.ranged PARTITION BY RANGE_BUCKET(k, GENERATE_ARRAY(0, 50, 10)) AS "
                   f"SELECT k, {'IF(k = 25, 0, k)' if side == 't' else 'k'} AS v FROM UNNEST(GENERATE_ARRAY(1, 40)) AS k")
    for diff in on_both_targets(wh, "ranged"):
        assert diff.partitions["partition_value"].tolist() == [0, 10, 20, 30, 40]
        assert diff.partitions["rows_prod"].tolist() == [9, 10, 10, 10, 1] and diff.summary.endswith("on 20.")


# ---------------------------------------------------------------- both targets


def on_both_targets(wh: LocalWarehouse, table: str, keys: tuple[str, ...] = ("k",), **options) -> list:
    """compare_tables of t.`table` with p.`table` in the sandbox, then through the gcp adapter against
    the BigQuery fake serving the same warehouse."""
    with FakeBigQuery(wh, project=PROJECT) as fake:
        gcp = connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}, anonymous=True)
        try:
            return [compare_tables(w, f"p.{table}", f"t.{table}", list(keys), **options) for w in (wh, gcp.warehouse)]
        finally:
            gcp.close()


def test_both_targets_find_the_same_planted_differences(wh):
    rows = [{"k": k, "i": k, "f": 0.1 * k, "n": Decimal(k), "s": f"s{k}", "b": k % 2 == 0,
             "d": date(2025, 1, 1) + timedelta(days=k), "ts": datetime(2025, 1, 1, 0, 0, k),
             "y": bytes([k]), "a": [k], "r": (k, "x"), "j": {"a": k}} for k in range(6)]
    test = [dict(r) for r in rows]
    for column, new in zip(COLUMNS, [None, math.nextafter(0.1, 1), Decimal("1.000000001"), "S1", None,
                                     date(2025, 1, 1), datetime(2025, 1, 1, 0, 0, 1, 1), b"\x02", [], (0, "X"), None]):
        row = test[COLUMNS.index(column) % 4 + 1]   # rows 1 to 4; row 5 is left out of test
        row[column] = new
    load(wh, "p.both", rows)
    load(wh, "t.both", test[:-1] + [{**rows[0], "k": 9}])
    local, cloud = on_both_targets(wh, "both")
    assert local.column_mismatches == cloud.column_mismatches == {c: 1 for c in COLUMNS}
    for name in ("changed_rows", "matched_rows", "only_in_prod", "only_in_test", "verdict", "summary"):
        assert getattr(local, name) == getattr(cloud, name), name
    assert local.sample.astype(str).values.tolist() == cloud.sample.astype(str).values.tolist()
    assert local.one_sided_keys.values.tolist() == cloud.one_sided_keys.values.tolist() == [["production", 5], ["test", 9]]


def test_both_targets_tell_a_json_null_from_a_sql_null_only_in_a_json_column(wh):
    # JSON functions doc (JSON encodings): TO_JSON_STRING writes a SQL NULL as null, and a JSON value as
    # its own text, so a JSON null and a SQL NULL have one text. In a JSON column the comparison tells
    # them apart (IS NULL first; gcp's fingerprint hashes the column's text, NULL staying NULL, the
    # sandbox's hashes the value); in a STRUCT field or an ARRAY element, compared by JSON text on
    # either target (ARRAY and STRUCT have no `=` with a JSON inside), they are the same.
    prod = ("SELECT 1 AS k, JSON 'null' AS j, STRUCT(1 AS a, JSON 'null' AS j) AS r, [JSON 'null'] AS arr "
            "UNION ALL SELECT 2, CAST(NULL AS JSON), STRUCT(1 AS a, CAST(NULL AS JSON) AS j), [JSON '1'] "
            "UNION ALL SELECT 3, JSON 'null', STRUCT(2 AS a, JSON 'null' AS j), [JSON 'null']")
    test = ("SELECT 1 AS k, CAST(NULL AS JSON) AS j, STRUCT(1 AS a, CAST(NULL AS JSON) AS j) AS r, [JSON 'null'] AS arr "
            "UNION ALL SELECT 2, JSON 'null', STRUCT(1 AS a, JSON 'null' AS j), [JSON '1'] "
            "UNION ALL SELECT 3, JSON 'null', STRUCT(2 AS a, JSON 'null' AS j), [JSON 'null']")
    wh.execute(f"CREATE OR REPLACE TABLE p.jnull AS {prod}")
    wh.execute(f"CREATE OR REPLACE TABLE t.jnull AS {test}")
    assert wh.query("SELECT r.j IS NULL AS field_null, j IS NULL AS null FROM p.jnull ORDER BY k").values.tolist() == \
        [[False, False], [True, True], [False, False]]
    for diff in on_both_targets(wh, "jnull"):
        assert diff.column_mismatches == {"j": 2, "r": 0, "arr": 0} and diff.changed_rows == 2
        assert diff.sample[["k", "prod_value", "test_value"]].values.tolist() == [[1, "null", None], [2, None, "null"]]


def test_an_interval_of_a_month_is_not_one_of_30_days_on_either_target(wh):
    # Both engines' `=` take a month for 30 days (ZetaSQL's IntervalValue compares GetAsMicros), but the values
    # are not the same (added to a date they give two dates) and gcp's fingerprint of their JSON text ("P1M",
    # "P30D") tells them apart: the sandbox's hash must too, or the change is counted only where something else
    # in the row changed (/work/probes/sqlparity finding 1).
    wh.execute("CREATE OR REPLACE TABLE p.iv AS SELECT 1 AS k, MAKE_INTERVAL(month => 1) AS iv, 'a' AS s "
               "UNION ALL SELECT 2, MAKE_INTERVAL(month => 1), 'a' UNION ALL SELECT 3, MAKE_INTERVAL(day => 1), 'a'")
    wh.execute("CREATE OR REPLACE TABLE t.iv AS SELECT 1 AS k, MAKE_INTERVAL(day => 30) AS iv, 'a' AS s "
               "UNION ALL SELECT 2, MAKE_INTERVAL(day => 30), 'b' UNION ALL SELECT 3, MAKE_INTERVAL(day => 1), 'a'")
    found = on_both_targets(wh, "iv")
    for diff in found:
        assert diff.verdict == "fail" and diff.column_mismatches == {"iv": 2, "s": 1} and diff.changed_rows == 2
    # the values sampled and recorded: on gcp as the client reads BigQuery's INTERVAL text (the fake sent Python's
    # repr of the sandbox's value, typed STRING), the sandbox's
    local, cloud = (d.sample.loc[d.sample["column"] == "iv", ["k", "prod_value", "test_value"]] for d in found)
    month, days = (pd.DateOffset(months=m, days=d, nanoseconds=0) for m, d in ((1, 0), (0, 30)))   # (Arrow's)
    assert local.values.tolist() == [[1, month, days], [2, month, days]]
    assert cloud.values.tolist() == local.values.tolist()
    assert found[1].to_dict()["details"]["sample"] == found[0].to_dict()["details"]["sample"]


@pytest.mark.parametrize("prod, test, verdict, delta", [
    ("BIGNUMERIC '1.5'", "BIGNUMERIC '1.5'", "pass", None),
    ("BIGNUMERIC '1.5'", "BIGNUMERIC '1.25'", "fail", 0.25),
    ("NUMERIC '1.5'", "BIGNUMERIC '1.5'", "warn", 0.0),   # retyped, the same number
    ("2", "BIGNUMERIC '2'", "warn", 0.0),
])
def test_bignumeric_columns_are_compared_on_both_targets(wh, prod, test, verdict, delta):
    # the exact difference once cast each side to BIGNUMERIC inside SAFE_SUBTRACT, which the sandbox refuses
    # (one row a side: the sandbox types a UNION of BIGNUMERIC and NUMERIC as NUMERIC)
    wh.execute(f"CREATE OR REPLACE TABLE p.big AS SELECT 1 AS k, {prod} AS v")
    wh.execute(f"CREATE OR REPLACE TABLE t.big AS SELECT 1 AS k, {test} AS v")
    for diff in on_both_targets(wh, "big"):
        assert diff.verdict == verdict and diff.column_mismatches == {"v": int(verdict == "fail")}
        assert diff.max_abs_delta.get("v") == delta


def test_flexible_column_names_are_compared_on_both_targets(wh):
    # BigQuery's flexible column names: a digit first, letters of any language; names from the schema are quoted
    wh.execute("CREATE OR REPLACE TABLE p.flex AS SELECT 1 AS k, 0.5 AS `3pt_pct`, 10 AS `Punktzahl_ü` "
               "UNION ALL SELECT 2, 0.25, 11")
    wh.execute("CREATE OR REPLACE TABLE t.flex AS SELECT 1 AS k, 0.75 AS `3pt_pct`, 10 AS `Punktzahl_ü` "
               "UNION ALL SELECT 2, 0.25, 11")
    for diff in on_both_targets(wh, "flex"):
        assert diff.column_mismatches == {"3pt_pct": 1, "Punktzahl_ü": 0} and diff.verdict == "fail"
    assert compare_tables(wh, "p.flex", "t.flex", ["k"], columns=["Punktzahl_ü"]).verdict == "pass"


@pytest.mark.parametrize("kwargs, parameter", [
    ({"keys": ["k`"]}, "keys"), ({"keys": ["k.k"]}, "keys"),
    ({"columns": ["3pt_pct`"]}, "columns"), ({"exclude": ["a\\b"]}, "exclude"),
])
def test_a_column_name_bigquery_refuses_names_the_parameter_given(wh, kwargs, parameter):
    wh.execute("CREATE OR REPLACE TABLE p.flex2 AS SELECT 1 AS k, 0.5 AS `3pt_pct`")
    wh.execute("CREATE OR REPLACE TABLE t.flex2 AS SELECT 1 AS k, 0.5 AS `3pt_pct`")
    args = {"keys": ["k"], **kwargs}
    with pytest.raises(ParameterError) as err:
        compare_tables(wh, "p.flex2", "t.flex2", args.pop("keys"), **args)
    assert err.value.parameter == parameter


@pytest.mark.parametrize("kind, value", [("JSON", "JSON '{\"a\": 1}'"), ("ARRAY<INT64>", "[1, 2]"),
                                         ("STRUCT<a INT64>", "STRUCT(1 AS a)")])
def test_a_key_bigquery_cannot_sort_by_is_refused_before_any_query(wh, kind, value):
    """BigQuery's ORDER BY takes no ARRAY, STRUCT, GEOGRAPHY or JSON, and the comparison sorts rows by their keys
    (the sandbox's DuckDB sorts them all, so only the refusal keeps the two targets alike)."""
    wh.execute(f"CREATE OR REPLACE TABLE p.odd_key AS SELECT {value} AS k, 1 AS v")
    wh.execute(f"CREATE OR REPLACE TABLE t.odd_key AS SELECT {value} AS k, 1 AS v")
    with pytest.raises(ParameterError) as err:
        compare_tables(wh, "p.odd_key", "t.odd_key", ["k"])
    assert err.value.parameter == "keys" and f"sorts by no {kind.split('<')[0]} column" in str(err.value)


# ---------------------------------------------------------------- keys and partitions (/work/probes/compare2)


def test_a_key_on_one_side_only_with_a_row_in_each_of_two_partitions_is_a_duplicate_on_both_targets(wh):
    # The one statement tells "no key is duplicated" from the one-sided rows' distinct keys: counted per
    # partition of a column that is not a key, a key with one row on each of two days looked single on both,
    # and exact_counts never ran (duplicate_keys_* 0; with a tolerance for extra rows, a warning, not a fail).
    wh.execute("CREATE OR REPLACE TABLE p.split (k INT64, load_date DATE, v INT64) PARTITION BY load_date")
    wh.execute("INSERT INTO p.split SELECT n, DATE '2025-12-15', n FROM UNNEST(GENERATE_ARRAY(1, 100)) AS n")
    wh.execute("CREATE OR REPLACE TABLE t.split LIKE p.split")
    wh.execute("INSERT INTO t.split SELECT * FROM p.split")
    wh.execute("INSERT INTO t.split VALUES (999, DATE '2025-12-15', 1), (999, DATE '2025-12-16', 1)")
    wh.execute("INSERT INTO p.split VALUES (998, DATE '2025-12-15', 1), (998, DATE '2025-12-16', 1)")
    for diff in on_both_targets(wh, "split", thresholds=Thresholds(max_extra_rate=0.05, max_missing_rate=0.05)):
        assert (diff.duplicate_keys_prod, diff.duplicate_keys_test) == (1, 1), diff.summary
        assert (diff.only_in_prod, diff.only_in_test, diff.matched_rows) == (2, 2, 100)
        assert diff.verdict == "fail" and "2 duplicate keys (1 in production, 1 in test)" in diff.summary
        assert diff.partitions["rows_test"].tolist() == [101, 1]


def test_an_integer_partition_is_reported_as_an_integer_when_a_key_is_duplicated(wh):
    # With a duplicated key the counts and the detail come from two more statements, whose partition values
    # (integers and the histogram rows' None) pandas made float64: "differ in v on 20.0".
    wh.execute("CREATE OR REPLACE TABLE p.buckets AS SELECT 1 AS bucket, 1 AS k, 'a' AS v "
               "UNION ALL SELECT 20, 1, 'c' UNION ALL SELECT 30, 1, 'd'")
    wh.execute("CREATE OR REPLACE TABLE t.buckets AS SELECT 1 AS bucket, 1 AS k, 'a' AS v "
               "UNION ALL SELECT 20, 1, 'X' UNION ALL SELECT 30, 1, 'd' UNION ALL SELECT 30, 2, 'e' "
               "UNION ALL SELECT 30, 2, 'e'")
    for diff in on_both_targets(wh, "buckets", keys=("bucket", "k"), partition_column="bucket"):
        assert diff.duplicate_keys_test == 1 and diff.details["mismatch_dates"] == {"v": ["20"]}
        assert " in v on 20;" in diff.summary
        assert [repr(v) for v in diff.partitions["partition_value"]] == ["1", "20", "30"]
        assert [repr(v) for v in diff.partition_mismatches["partition_value"]] == ["20"]


@pytest.mark.parametrize("duplicated", [False, True])
def test_a_partition_column_test_retyped_counts_each_side_by_its_own_day(wh, duplicated):
    """A DATE partition column that test made a TIMESTAMP: each side's rows are counted in their own day, and the
    retyping is the schema warning README gives any retyped column ("one added or retyped is a warning"). Not
    refused: the column is compared like any other, and the plan already writes a partition as SQL over a value
    (Plan.partition_of), so test's side only needs its own (DATE(event_day) where production's is the value).
    Refused, naming both types, only where no day can be matched to a partition: a DATE against a STRING (a
    UNION of the two has no type), as a key of two types is. Once production's DATE partition was applied to
    test's TIMESTAMPs, two times of one day became two partitions of one date, and pandas raised a TypeError."""
    wh.execute("CREATE OR REPLACE TABLE p.retyped (k INT64, event_day DATE, v STRING) PARTITION BY event_day")
    wh.execute("INSERT INTO p.retyped VALUES (1, DATE '2025-01-01', 'a'), (2, DATE '2025-01-02', 'b'), "
               "(3, DATE '2025-01-02', 'c')")
    wh.execute("CREATE OR REPLACE TABLE t.retyped (k INT64, event_day TIMESTAMP, v STRING) "
               "PARTITION BY DATE(event_day)")
    wh.execute("INSERT INTO t.retyped VALUES (1, TIMESTAMP '2025-01-01 00:00:00+00', 'a'), "
               "(2, TIMESTAMP '2025-01-02 10:00:00+00', 'z'), (3, TIMESTAMP '2025-01-02 00:00:00+00', 'c')")
    if duplicated:   # (counted key by key, then detailed: the other two statements)
        wh.execute("INSERT INTO t.retyped VALUES (4, TIMESTAMP '2025-01-02 11:00:00+00', 'd'), "
                   "(4, TIMESTAMP '2025-01-02 12:00:00+00', 'd')")
    for diff in on_both_targets(wh, "retyped", columns=["v"]):
        assert diff.partitions["partition_value"].tolist() == [date(2025, 1, 1), date(2025, 1, 2)]
        assert diff.partitions["rows_prod"].tolist() == [1, 2]
        assert diff.partitions["rows_test"].tolist() == [1, 4 if duplicated else 2]
        assert diff.column_mismatches == {"v": 1} and diff.mismatch_dates() == [date(2025, 1, 2)]
        assert diff.duplicate_keys_test == int(duplicated) and diff.only_in_test == 2 * duplicated
    whole = compare_tables(wh, "p.retyped", "t.retyped", ["k"])
    assert ("event_day", "DATE", "TIMESTAMP") in whole.schema.type_changed
    assert "event_day is DATE in production, TIMESTAMP in test" in whole.summary
    wh.execute("CREATE OR REPLACE TABLE t.retyped AS SELECT k, CAST(event_day AS STRING) AS event_day, v "
               "FROM p.retyped")
    with pytest.raises(ParameterError) as err:
        compare_tables(wh, "p.retyped", "t.retyped", ["k"])
    assert err.value.parameter == "partition_column"
    assert "it is DATE in p.retyped and STRING in t.retyped" in str(err.value)
