"""Golden tests for the BigQuery -> DuckDB translation.

Each expected value is what BigQuery answers (the comment says why: the BigQuery docs' rule, or a
published example). Where a rule covers many inputs, an independent oracle (Python's own
calendar functions) checks a whole year of dates in one query.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from runbook_lib.errors import NotFoundError, ParameterError, RunbookError
from runbook_lib.local.bigquery import UnsupportedSQL, farm_fingerprint, to_duckdb, translate
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("dialect") / "d.duckdb", project="my-project")
    w.create_dataset("ds")
    w.execute("""
        CREATE TABLE ds.t (id INT64, v STRING, d DATE, ts TIMESTAMP, x FLOAT64);
        INSERT INTO ds.t VALUES
          (1, 'a', DATE '2024-01-07', TIMESTAMP '2024-01-07 10:00:00+00', 2.5),
          (2, 'b', DATE '2024-01-13', TIMESTAMP '2024-01-13 23:30:00+00', -2.5),
          (3, NULL, NULL, NULL, NULL);
    """)
    return w


def _plain(value):
    """numpy scalars as Python values, and pandas' missing-value markers as None (BigQuery's NULL)."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value):
        return None
    return value


def one(wh: LocalWarehouse, sql: str, params: dict | None = None):
    df = wh.query(sql, params)
    assert df.shape == (1, 1), df
    return _plain(df.iloc[0, 0])


def row(wh: LocalWarehouse, sql: str, params: dict | None = None) -> tuple:
    df = wh.query(sql, params)
    assert len(df) == 1, df
    return tuple(_plain(v) for v in df.iloc[0].tolist())


# ------------------------------------------------------------------------------------------ 1
# EXTRACT(DAYOFWEEK / WEEK / ISOWEEK / DAYOFYEAR)

def test_dayofweek_is_one_for_sunday_to_seven_for_saturday(wh):
    # BigQuery docs: DAYOFWEEK "returns values in the range [1,7] with Sunday as the first day".
    # 2024-01-07 was a Sunday and 2024-01-13 a Saturday; DuckDB alone would say 0 and 6.
    assert row(wh, "SELECT EXTRACT(DAYOFWEEK FROM DATE '2024-01-07'), EXTRACT(DAYOFWEEK FROM DATE '2024-01-13'), "
                   "EXTRACT(DAYOFWEEK FROM TIMESTAMP '2024-01-07 23:59:59+00')") == (1, 7, 1)


def test_week_counts_sunday_weeks_from_zero(wh):
    # BigQuery docs: WEEK is "in the range [0, 53]. Weeks begin with Sunday, and dates prior to the
    # first Sunday of the year are in week 0". DuckDB's WEEK is the ISO week (1 for 2024-01-06).
    assert row(wh, "SELECT EXTRACT(WEEK FROM DATE '2024-01-06'), EXTRACT(WEEK FROM DATE '2024-01-07'), "
                   "EXTRACT(WEEK FROM DATE '2023-01-01'), EXTRACT(ISOWEEK FROM DATE '2021-01-03'), "
                   "EXTRACT(WEEK(MONDAY) FROM DATE '2024-01-07'), EXTRACT(DAYOFYEAR FROM DATE '2024-12-31')") \
        == (0, 1, 1, 53, 1, 366)


def test_week_parts_agree_with_calendar_rules_for_every_day(wh):
    # Oracle: Python's %U and %W are exactly BigQuery's WEEK and WEEK(MONDAY) ("all days in a new
    # year preceding the first Sunday/Monday are in week 0"); ISOWEEK is the ISO week; DAYOFWEEK is
    # Sunday=1 .. Saturday=7.
    df = wh.query("""
        SELECT d, EXTRACT(DAYOFWEEK FROM d) AS dow, EXTRACT(WEEK FROM d) AS wk,
               EXTRACT(WEEK(MONDAY) FROM d) AS wk_mon, EXTRACT(WEEK(THURSDAY) FROM d) AS wk_thu,
               EXTRACT(ISOWEEK FROM d) AS isowk, EXTRACT(DAYOFYEAR FROM d) AS doy
        FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2022-12-25', DATE '2025-01-08')) AS d ORDER BY d""")
    assert len(df) == 746
    for r in df.itertuples():
        d = r.d   # a DATE comes back as datetime.date (db-dtypes), as from the BigQuery client
        first_thursday = next(date(d.year, 1, k) for k in range(1, 8) if date(d.year, 1, k).weekday() == 3)
        expected_thu = 0 if d < first_thursday else (d - first_thursday).days // 7 + 1
        assert (r.dow, r.wk, r.wk_mon, r.wk_thu, r.isowk, r.doy) == (
            d.isoweekday() % 7 + 1, int(d.strftime("%U")), int(d.strftime("%W")), expected_thu,
            d.isocalendar().week, d.timetuple().tm_yday), d


def test_extract_millisecond_is_within_the_second(wh):
    # BigQuery: MILLISECOND is the millisecond part (0..999); DuckDB counts the seconds in too (42123).
    assert row(wh, "SELECT EXTRACT(MILLISECOND FROM TIMESTAMP '2024-01-01 10:00:42.123456+00'), "
                   "EXTRACT(MICROSECOND FROM TIMESTAMP '2024-01-01 10:00:42.123456+00')") == (123, 123456)


def test_timestamps_are_read_in_utc(wh):
    # BigQuery evaluates TIMESTAMP parts in UTC unless a time zone is given.
    assert row(wh, "SELECT EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 10:00:00+02'), "
                   "EXTRACT(DATE FROM TIMESTAMP '2024-01-01 23:30:00-02'), "
                   "CAST(TIMESTAMP '2024-01-01 10:00:00+02' AS STRING)") \
        == (8, date(2024, 1, 2), "2024-01-01 08:00:00+00")


# ------------------------------------------------------------------------------------------ 2
# DATE_TRUNC keeps DATE; WEEK starts on Sunday

def test_date_trunc_returns_a_date(wh):
    # BigQuery DATE_TRUNC(date, part) returns a DATE, so CAST(... AS STRING) has no time part.
    # DuckDB's date_trunc returns a TIMESTAMP ('2024-01-01 00:00:00').
    assert row(wh, "SELECT CAST(DATE_TRUNC(DATE '2024-01-10', MONTH) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-05-10', QUARTER) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-05-10', YEAR) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-05-10', DAY) AS STRING)") \
        == ("2024-01-01", "2024-04-01", "2024-01-01", "2024-05-10")


def test_date_trunc_week_variants(wh):
    # BigQuery docs: WEEK truncates to the preceding Sunday; WEEK(<day>) to the preceding <day>;
    # ISOWEEK to the preceding Monday; ISOYEAR to the first day of the ISO year (2021-01-02 is in
    # ISO year 2020, which began on Monday 2019-12-30). 2024-01-10 was a Wednesday.
    assert row(wh, "SELECT CAST(DATE_TRUNC(DATE '2024-01-10', WEEK) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-01-10', WEEK(MONDAY)) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-01-10', ISOWEEK) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-01-10', WEEK(SATURDAY)) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2024-01-07', WEEK) AS STRING), "
                   "CAST(DATE_TRUNC(DATE '2021-01-02', ISOYEAR) AS STRING)") \
        == ("2024-01-07", "2024-01-08", "2024-01-08", "2024-01-06", "2024-01-07", "2019-12-30")


def test_date_trunc_week_for_every_day(wh):
    # Oracle: the Sunday on or before d.
    df = wh.query("""SELECT d, DATE_TRUNC(d, WEEK) AS w, DATE_TRUNC(d, WEEK(MONDAY)) AS wm, DATE_TRUNC(d, MONTH) AS m
                     FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2023-12-01', DATE '2024-03-31')) AS d""")
    for r in df.itertuples():
        d = r.d
        assert r.w == d - timedelta(days=d.isoweekday() % 7)
        assert r.wm == d - timedelta(days=d.weekday())
        assert r.m == d.replace(day=1)


def test_timestamp_and_datetime_trunc_keep_their_types(wh):
    # TIMESTAMP_TRUNC returns a TIMESTAMP (printed with +00), DATETIME_TRUNC a DATETIME; WEEK is Sunday.
    assert row(wh, "SELECT CAST(TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:30:00+00', DAY) AS STRING), "
                   "CAST(TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:30:00+00', WEEK) AS STRING), "
                   "CAST(TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:30:00+00', HOUR) AS STRING), "
                   "CAST(DATETIME_TRUNC(DATETIME '2024-01-10 10:30:00', WEEK) AS STRING), "
                   "CAST(DATETIME_TRUNC(DATETIME '2024-01-10 10:30:00', MONTH) AS STRING)") \
        == ("2024-01-10 00:00:00+00", "2024-01-07 00:00:00+00", "2024-01-10 10:00:00+00",
            "2024-01-07 00:00:00", "2024-01-01 00:00:00")


def test_date_trunc_of_a_column_makes_a_date_column(wh):
    wh.execute("CREATE OR REPLACE TABLE ds.monthly AS SELECT DATE_TRUNC(d, MONTH) AS m, "
               "DATE_ADD(d, INTERVAL 1 MONTH) AS next_month FROM ds.t")
    types = wh.query("SELECT column_name, data_type FROM ds.INFORMATION_SCHEMA.COLUMNS "
                     "WHERE table_name = 'monthly' ORDER BY ordinal_position")
    assert types.values.tolist() == [["m", "DATE"], ["next_month", "DATE"]]


# ------------------------------------------------------------------------------------------ 3
# INFORMATION_SCHEMA

def test_information_schema_tables_uses_bigquery_names_and_one_dataset(wh):
    wh.create_dataset("other")
    wh.execute("CREATE TABLE other.o (a INT64); CREATE VIEW ds.tv AS SELECT id FROM ds.t")
    df = wh.query("SELECT table_catalog, table_schema, table_name, table_type "
                  "FROM ds.INFORMATION_SCHEMA.TABLES ORDER BY table_name")
    assert list(df.columns) == ["table_catalog", "table_schema", "table_name", "table_type"]
    assert set(df.table_catalog) == {"my-project"}
    assert set(df.table_schema) == {"ds"}
    assert ("t", "BASE TABLE") in set(zip(df.table_name, df.table_type))
    assert ("tv", "VIEW") in set(zip(df.table_name, df.table_type))
    assert "o" not in set(df.table_name)
    full = wh.query("SELECT table_name FROM `my-project.other.INFORMATION_SCHEMA.TABLES`")
    assert full.table_name.tolist() == ["o"]


def test_information_schema_columns_gives_bigquery_types(wh):
    wh.execute("""CREATE OR REPLACE TABLE ds.types (i INT64, f FLOAT64, s STRING, d DATE, ts TIMESTAMP, dt DATETIME,
                  b BOOL, n NUMERIC, bn BIGNUMERIC, n2 NUMERIC(10, 2), by BYTES, arr ARRAY<INT64>,
                  st STRUCT<a INT64, b STRING>) PARTITION BY d""")
    df = wh.query("SELECT table_catalog, table_schema, table_name, column_name, ordinal_position, data_type, "
                  "is_partitioning_column FROM ds.INFORMATION_SCHEMA.COLUMNS WHERE table_name = 'types' "
                  "ORDER BY ordinal_position")
    assert df.data_type.tolist() == ["INT64", "FLOAT64", "STRING", "DATE", "TIMESTAMP", "DATETIME", "BOOL",
                                     "NUMERIC", "BIGNUMERIC", "NUMERIC(10, 2)", "BYTES", "ARRAY<INT64>",
                                     "STRUCT<a INT64, b STRING>"]
    assert df.ordinal_position.tolist() == list(range(1, 14))
    assert set(df.table_catalog) == {"my-project"} and set(df.table_schema) == {"ds"}
    assert df.set_index("column_name").is_partitioning_column.to_dict()["d"] == "YES"
    assert (df.is_partitioning_column == "YES").sum() == 1


def test_information_schema_schemata_hides_internal_schemas(wh):
    # Its own datasets (exists_ok), so the test holds whichever xdist worker runs it and in any order.
    wh.create_dataset("other")
    wh.create_dataset("west", location="us-west2")
    df = wh.query("SELECT catalog_name, schema_name, location FROM `region-us`.INFORMATION_SCHEMA.SCHEMATA")
    assert set(df.schema_name) >= {"ds", "other"} and "west" not in set(df.schema_name)
    assert not set(df.schema_name) & {"_runbook_meta", "main", "information_schema", "pg_catalog"}
    assert set(df.catalog_name) == {"my-project"} and set(df.location) == {"US"}
    # A region qualifier lists the datasets in that location only.
    west = wh.query("SELECT schema_name, location FROM `region-us-west2`.INFORMATION_SCHEMA.SCHEMATA")
    assert west.values.tolist() == [["west", "us-west2"]]
    tables = wh.query("SELECT DISTINCT table_schema FROM `region-us-west2`.INFORMATION_SCHEMA.TABLES")
    assert "_runbook_meta" not in set(tables.table_schema)


def test_information_schema_of_a_missing_dataset_is_not_found(wh):
    with pytest.raises(NotFoundError, match=r"^Dataset nope was not found in the local warehouse .*datasets: ds"):
        wh.query("SELECT * FROM nope.INFORMATION_SCHEMA.TABLES")


def test_information_schema_views_the_warehouse_lacks_are_refused(wh):
    with pytest.raises(UnsupportedSQL, match="INFORMATION_SCHEMA.JOBS"):
        wh.query("SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS")


# ------------------------------------------------------------------------------------------ 4
# FARM_FINGERPRINT

# BigQuery docs (Hash functions, FARM_FINGERPRINT example): CONCAT of (1, "foo", true) etc.
BIGQUERY_DOC_EXAMPLES = {
    "1footrue": -1541654101129638711,
    "2applefalse": 2794438866806483259,
    "3true": -4880158226897771312,
}
# FarmHash Fingerprint64 reference values as published in Guava's FarmHashFingerprint64Test
# ("test" and its 8x / 64x repeats) and an Android SDK port of it (urbanairship
# FarmHashFingerprint64Test, unsigned values converted to signed INT64); together they cover
# every length branch of the algorithm: 0, 1-3, 4-7, 8-16, 17-32, 33-64 and >64 bytes.
FARMHASH_REFERENCE = {
    "": 11160318154034397263 - 2**64,
    "Q": 13816109650407654260 - 2**64,
    "WW5": 6316074107149058620,
    "e#p8": 252499459662674074,
    "test": 8581389452482819506,
    "K6Pjv<>ad": 16506019169567922731 - 2**64,
    "9JqLl0AW7e69Y.&vMHQ5C": 2827089714349584095,
    "test" * 8: -4196240717365766262,
    "F7479877-4690-4A44-AFC9-8FE987EA512F:some_other_id": 6862335115798125349,
    "test" * 64: 3500507768004279527,
}


def test_farm_fingerprint_matches_bigquery_docs_example(wh):
    df = wh.query("""
        WITH example AS (
          SELECT 1 AS x, "foo" AS y, true AS z UNION ALL
          SELECT 2 AS x, "apple" AS y, false AS z UNION ALL
          SELECT 3 AS x, "" AS y, true AS z)
        SELECT CONCAT(CAST(x AS STRING), y, CAST(z AS STRING)) AS s,
               FARM_FINGERPRINT(CONCAT(CAST(x AS STRING), y, CAST(z AS STRING))) AS row_fingerprint
        FROM example ORDER BY x""")
    assert dict(zip(df.s, df.row_fingerprint.astype(int))) == BIGQUERY_DOC_EXAMPLES
    assert str(df.row_fingerprint.dtype) == "Int64"   # INT64, as the BigQuery client types it


@pytest.mark.parametrize("text,expected", sorted(FARMHASH_REFERENCE.items(), key=lambda kv: len(kv[0])))
def test_farm_fingerprint_reference_values(wh, text, expected):
    assert farm_fingerprint(text) == expected
    assert one(wh, "SELECT FARM_FINGERPRINT(@s)", {"s": text}) == expected


def test_farm_fingerprint_hashes_utf8_bytes_and_passes_null(wh):
    # BigQuery hashes a STRING's UTF-8 bytes; BYTES are hashed as they are. NULL in, NULL out.
    assert farm_fingerprint("é") == farm_fingerprint("é".encode("utf-8"))
    assert farm_fingerprint("é") != farm_fingerprint("é".encode("latin-1"))
    assert one(wh, "SELECT FARM_FINGERPRINT(v) FROM ds.t WHERE id = 3") is None
    # ... in SQL too, BYTES included (BigQuery's FARM_FINGERPRINT takes STRING or BYTES)
    assert one(wh, "SELECT FARM_FINGERPRINT(b'abc')") == one(wh, "SELECT FARM_FINGERPRINT('abc')") == 2640714258260161385
    # The everyday use: a deterministic 10% sample, the same on every run.
    n = one(wh, "SELECT COUNTIF(MOD(ABS(FARM_FINGERPRINT(CAST(x AS STRING))), 10) = 0) "
                "FROM UNNEST(GENERATE_ARRAY(1, 2000)) AS x")
    assert n == sum(abs(farm_fingerprint(str(x))) % 10 == 0 for x in range(1, 2001))
    assert 120 < n < 280


# ------------------------------------------------------------------------------------------ 5
# Decimal literals are FLOAT64; NUMERIC is DECIMAL(38, 9)

def test_decimal_literals_are_float64(wh):
    # BigQuery: 0.1 is a FLOAT64 literal, so 0.1 + 0.2 = 0.3 is FALSE (binary floating point);
    # NUMERIC literals are exact, so the same sum in NUMERIC is TRUE.
    assert row(wh, "SELECT 0.1 + 0.2 = 0.3, NUMERIC '0.1' + NUMERIC '0.2' = NUMERIC '0.3'") == (False, True)
    assert one(wh, "SELECT 0.1 + 0.2") == 0.1 + 0.2


def test_literal_types_in_a_created_table(wh):
    wh.execute("CREATE OR REPLACE TABLE ds.lits AS SELECT 1.5 AS f, 1 AS i, NUMERIC '1.5' AS n, "
               "BIGNUMERIC '1.5' AS bn, CAST('2.25' AS NUMERIC) AS cn")
    types = wh.query("SELECT data_type FROM ds.INFORMATION_SCHEMA.COLUMNS WHERE table_name = 'lits' "
                     "ORDER BY ordinal_position").data_type.tolist()
    assert types == ["FLOAT64", "INT64", "NUMERIC", "BIGNUMERIC", "NUMERIC"]


def test_numeric_keeps_nine_decimal_places(wh):
    # BigQuery NUMERIC keeps 9 decimal places of precision (a 10th rounds half away from zero,
    # conversion rules); DuckDB's bare DECIMAL is DECIMAL(18, 3) and would keep 3. Its STRING form
    # has no trailing zeros (ZetaSQL NumericValue::ToString), so the digits kept are visible as such.
    assert one(wh, "SELECT CAST(CAST('1.23456' AS NUMERIC) AS STRING)") == "1.23456"
    assert one(wh, "SELECT CAST(NUMERIC '0.000000001' * 3 AS STRING)") == "0.000000003"
    assert one(wh, "SELECT CAST(CAST('0.1234567895' AS NUMERIC) AS STRING)") == "0.12345679"
    assert one(wh, "SELECT CAST(CAST('-0.1234567885' AS NUMERIC) AS STRING)") == "-0.123456789"
    assert one(wh, "SELECT CAST(CAST(0.1 AS NUMERIC) AS STRING)") == "0.1"


def test_numeric_to_string_drops_trailing_zeros(wh):
    # ZetaSQL NumericValue::ToString / BigNumericValue::ToString print the shortest exact decimal:
    # NUMERIC '1.50' is '1.5' and NUMERIC '123' is '123'; DuckDB pads to the scale ('1.500000000').
    assert row(wh, "SELECT CAST(NUMERIC '1.50' AS STRING), CAST(NUMERIC '0.1' AS STRING), "
                   "CAST(NUMERIC '123' AS STRING), CAST(NUMERIC '0' AS STRING), "
                   "CAST(BIGNUMERIC '-2.500' AS STRING), SAFE_CAST(NUMERIC '100.10' AS STRING)") \
        == ("1.5", "0.1", "123", "0", "-2.5", "100.1")
    # A NUMERIC column (the type is only known when DuckDB binds the query) and non-NUMERIC inputs.
    wh.execute("CREATE OR REPLACE TABLE ds.money (amount NUMERIC, label STRING, n INT64)")
    wh.execute("INSERT INTO ds.money VALUES (NUMERIC '10.0100', 'x0', 100), (NULL, NULL, NULL)")
    df = wh.query("SELECT CAST(amount AS STRING) AS a, CAST(label AS STRING) AS l, CAST(n AS STRING) AS n "
                  "FROM ds.money ORDER BY amount NULLS LAST")
    assert [[_plain(v) for v in r] for r in df.values.tolist()] == [["10.01", "x0", "100"], [None, None, None]]


def test_float_to_int64_rounds_half_away_from_zero(wh):
    # BigQuery docs (conversion rules): casting FLOAT64 to INT64 rounds halfway cases away from
    # zero; DuckDB rounds them to even (CAST(2.5 AS BIGINT) = 2).
    assert row(wh, "SELECT CAST(2.5 AS INT64), CAST(-2.5 AS INT64), CAST(0.5 AS INT64), CAST(1.5 AS INT64), "
                   "CAST('12' AS INT64), SAFE_CAST('x' AS INT64), CAST(NUMERIC '2.5' AS INT64)") \
        == (3, -3, 1, 2, 12, None, 3)
    assert wh.query("SELECT CAST(x AS INT64) AS n FROM ds.t WHERE x IS NOT NULL ORDER BY id").n.tolist() == [3, -3]


def test_integer_literals_are_int64(wh):
    # BigQuery integer literals are INT64; DuckDB's are INT32 and 2147483647 + 1 overflows.
    assert one(wh, "SELECT 2147483647 + 1") == 2147483648
    assert one(wh, "SELECT 100000 * 100000") == 10_000_000_000


def test_integer_results_are_int64_in_pandas(wh):
    # BigQuery SUM(INT64) and integer literals are INT64; DuckDB gives HUGEINT (which pandas turns
    # into floats) and INT32.
    df = wh.query("SELECT SUM(id) AS s, COUNT(*) AS n, 1 AS one, (SELECT AS STRUCT 2 AS a).a AS two FROM ds.t")
    assert [str(t) for t in df.dtypes] == ["Int64"] * 4   # the BigQuery client's nullable INT64
    assert df.iloc[0].tolist() == [6, 3, 1, 2]


# ------------------------------------------------------------------------------------------ 6
# Functions and clauses that must behave as in BigQuery

def test_division_by_zero_raises_and_safe_divide_does_not(wh):
    # BigQuery: x / 0 is an error ("division by zero"); SAFE_DIVIDE returns NULL; IEEE_DIVIDE gives
    # +inf. DuckDB's / alone would quietly return inf.
    with pytest.raises(Exception, match="division by zero"):
        wh.query("SELECT id / 0 FROM ds.t")
    assert row(wh, "SELECT SAFE_DIVIDE(1, 0), 7 / 2, SAFE_DIVIDE(7, 2)") == (None, 3.5, 3.5)
    assert math.isinf(one(wh, "SELECT IEEE_DIVIDE(1, 0)"))


def test_ifnull_countif_and_qualify(wh):
    assert row(wh, "SELECT IFNULL(NULL, 2), COUNTIF(id > 1) FROM ds.t") == (2, 2)
    df = wh.query("SELECT id, v FROM ds.t WHERE TRUE QUALIFY ROW_NUMBER() OVER (ORDER BY id DESC) = 1")
    assert df.id.tolist() == [3]


def test_date_arithmetic_returns_dates(wh):
    # BigQuery DATE_ADD/DATE_SUB return DATE (end of month is clamped); DATE_DIFF counts part
    # boundaries: WEEK boundaries are Sundays, so Saturday -> Sunday is 1 week.
    assert row(wh, "SELECT CAST(DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH) AS STRING), "
                   "CAST(DATE_SUB(DATE '2024-03-31', INTERVAL 1 MONTH) AS STRING), "
                   "CAST(DATE_ADD(DATE '2024-01-31', INTERVAL 1 WEEK) AS STRING), "
                   "DATE_DIFF(DATE '2024-03-01', DATE '2024-01-01', DAY), "
                   "DATE_DIFF(DATE '2024-03-01', DATE '2024-01-31', MONTH), "
                   "DATE_DIFF(DATE '2024-01-07', DATE '2024-01-06', WEEK), "
                   "DATE_DIFF(DATE '2024-01-01', DATE '2023-12-31', YEAR)") \
        == ("2024-02-29", "2024-02-29", "2024-02-07", 60, 2, 1, 1)


def test_format_and_parse_dates(wh):
    assert row(wh, "SELECT FORMAT_DATE('%Y-%m-%d %A %b', DATE '2024-01-07'), FORMAT_DATE('%F', DATE '2024-01-07'), "
                   "CAST(PARSE_DATE('%Y%m%d', '20240107') AS STRING)") \
        == ("2024-01-07 Sunday Jan", "2024-01-07", "2024-01-07")


def test_format_uses_printf_specifiers(wh):
    # BigQuery FORMAT is printf-like; DuckDB's format() takes {} and would return the pattern itself.
    assert one(wh, "SELECT FORMAT('%d-%s-%.2f-%t', 7, 'a', 2.345, DATE '2024-01-01')") == "7-a-2.35-2024-01-01"


def test_generate_date_array_and_unnest_with_offset(wh):
    # BigQuery's WITH OFFSET counts from 0; DuckDB's WITH ORDINALITY counts from 1.
    df = wh.query("SELECT CAST(d AS STRING) AS d, o FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2024-01-01', "
                  "DATE '2024-01-10', INTERVAL 3 DAY)) AS d WITH OFFSET AS o ORDER BY o")
    assert df.values.tolist() == [["2024-01-01", 0], ["2024-01-04", 1], ["2024-01-07", 2], ["2024-01-10", 3]]
    df = wh.query("SELECT t.id, y, off FROM ds.t AS t CROSS JOIN UNNEST([t.id, t.id * 10]) AS y WITH OFFSET AS off "
                  "WHERE t.id < 3 ORDER BY t.id, off")
    assert df.values.tolist() == [[1, 1, 0], [1, 10, 1], [2, 2, 0], [2, 20, 1]]


def test_array_agg_struct_and_limit(wh):
    # ARRAY_AGG(... ORDER BY ... LIMIT n) is the BigQuery idiom for "latest row"; DuckDB has no LIMIT
    # inside an aggregate.
    assert one(wh, "SELECT ARRAY_AGG(id ORDER BY id DESC LIMIT 1)[OFFSET(0)] FROM ds.t") == 3
    assert list(one(wh, "SELECT ARRAY_AGG(v IGNORE NULLS ORDER BY v) FROM ds.t")) == ["a", "b"]
    assert one(wh, "SELECT STRUCT(1 AS a, 'x' AS b).b") == "x"
    assert one(wh, "SELECT ARRAY_LENGTH(ARRAY_AGG(STRUCT(id, v))) FROM ds.t") == 3


def test_array_agg_of_a_struct_or_null_keeps_the_rows_whose_condition_picks_the_struct(wh):
    # BigQuery's IF(c, NULL, STRUCT(..)) IGNORE NULLS keeps the rows where c is FALSE or NULL; the
    # sandbox gathers them with a FILTER over c (not a CASE of the whole struct for every row).
    picked = "SELECT ARRAY_AGG(IF(x > 0, NULL, STRUCT(id AS id, v AS v)) IGNORE NULLS) FROM ds.t"
    assert sorted((r["id"], r["v"]) for r in one(wh, picked)) == [(2, "b"), (3, None)]   # x NULL: kept
    kept = "SELECT ARRAY_AGG(IF(x > 0, STRUCT(id AS id), NULL) IGNORE NULLS) FROM ds.t"
    assert [dict(r) for r in one(wh, kept)] == [{"id": 1}]
    assert "FILTER(WHERE (x > 0) IS NOT TRUE)" in to_duckdb(picked.replace("ds.t", "t"))
    # any other value is gathered as it was: dropped when NULL
    assert list(one(wh, "SELECT ARRAY_AGG(IF(x > 0, NULL, v) IGNORE NULLS) FROM ds.t")) == ["b"]


def test_nulls_sort_first_ascending(wh):
    # BigQuery: NULLs come first in ascending order and last in descending order.
    assert wh.query("SELECT id FROM ds.t ORDER BY v").id.tolist() == [3, 1, 2]
    assert wh.query("SELECT id FROM ds.t ORDER BY v DESC").id.tolist() == [2, 1, 3]


def test_parameters_scalars_dates_and_lists(wh):
    assert one(wh, "SELECT COUNT(*) FROM ds.t WHERE d >= @since AND v = @v", {"since": date(2024, 1, 8), "v": "b"}) == 1
    assert wh.query("SELECT id FROM ds.t WHERE id IN UNNEST(@ids) ORDER BY id", {"ids": [1, 3, 9]}).id.tolist() == [1, 3]
    # An empty list has no element type, and BigQuery needs one (ARRAY<STRING> would fail `id IN UNNEST(@ids)`
    # there): refused on both targets alike (warehouse.array_element_type).
    with pytest.raises(ParameterError, match=r"^params\['ids'\]=\[\] .*no element type"):
        wh.query("SELECT COUNT(*) FROM ds.t WHERE id IN UNNEST(@ids)", {"ids": []})
    assert one(wh, "SELECT @when < TIMESTAMP '2030-01-01'", {"when": datetime(2024, 1, 1, tzinfo=timezone.utc)})
    with pytest.raises(ParameterError, match="@missing"):
        wh.query("SELECT @missing")


def test_current_datetime_and_extract_date(wh):
    assert one(wh, "SELECT CURRENT_DATETIME() IS NOT NULL")
    assert one(wh, "SELECT CAST(EXTRACT(DATE FROM TIMESTAMP '2024-01-02 03:00:00+00') AS STRING)") == "2024-01-02"


def test_insert_without_into_and_delete_without_from(wh):
    # BigQuery allows both keywords to be left out.
    wh.execute("CREATE OR REPLACE TABLE ds.kw (a INT64); INSERT ds.kw (a) VALUES (1), (2); DELETE ds.kw WHERE a = 1")
    assert wh.query("SELECT a FROM ds.kw").a.tolist() == [2]


def test_temp_function_then_query(wh):
    assert one(wh, "CREATE TEMP FUNCTION plus_one(x INT64) AS (x + 1); SELECT plus_one(41)") == 42


# ------------------------------------------------------------------------------------------ MERGE

@pytest.fixture
def merge_target(wh):
    wh.execute("""CREATE OR REPLACE TABLE ds.target (k INT64, v STRING);
                  INSERT INTO ds.target VALUES (1, 'a'), (2, 'b'), (4, 'd');""")
    return "ds.target"


def test_merge_update_insert_row_and_delete_by_source(wh, merge_target):
    wh.execute("""
        MERGE ds.target T
        USING (SELECT 2 AS k, 'B' AS v UNION ALL SELECT 3, 'C' UNION ALL SELECT 4, 'D') S
        ON T.k = S.k
        WHEN MATCHED AND S.k = 2 THEN UPDATE SET v = S.v
        WHEN MATCHED THEN DELETE
        WHEN NOT MATCHED THEN INSERT ROW
        WHEN NOT MATCHED BY SOURCE THEN DELETE""")
    assert wh.query("SELECT k, v FROM ds.target ORDER BY k").values.tolist() == [[2, "B"], [3, "C"]]


def test_merge_insert_column_list_and_by_target(wh, merge_target):
    wh.execute("""MERGE INTO `my-project.ds.target` AS T USING (SELECT 9 AS key, 'z' AS val) AS S ON T.k = S.key
                  WHEN NOT MATCHED BY TARGET THEN INSERT (v, k) VALUES (S.val, S.key)
                  WHEN NOT MATCHED BY SOURCE AND T.k = 1 THEN UPDATE SET v = 'gone'""")
    assert wh.query("SELECT k, v FROM ds.target ORDER BY k").values.tolist() == [[1, "gone"], [2, "b"], [4, "d"], [9, "z"]]


def test_merge_with_two_source_rows_for_one_target_row_is_refused(wh, merge_target):
    # BigQuery: "UPDATE/MERGE must match at most one source row for each target row"; DuckDB would
    # quietly apply one of them. The whole batch rolls back.
    with pytest.raises(WarehouseQueryError, match="at most one source row"):
        wh.execute("""INSERT INTO ds.target VALUES (7, 'g');
                      MERGE ds.target T USING (SELECT 2 AS k, 'x' AS v UNION ALL SELECT 2, 'y') S ON T.k = S.k
                      WHEN MATCHED THEN UPDATE SET v = S.v""")
    assert wh.query("SELECT k, v FROM ds.target ORDER BY k").values.tolist() == [[1, "a"], [2, "b"], [4, "d"]]


# ------------------------------------------------------------------------------------------ DDL

def test_create_table_partition_by_is_recorded(wh):
    wh.execute("""CREATE OR REPLACE TABLE ds.p (game_date DATE, team STRING) PARTITION BY game_date CLUSTER BY team
                  OPTIONS(description = 'games');
                  CREATE OR REPLACE TABLE ds.p2 (ts TIMESTAMP, n INT64) PARTITION BY DATE(ts);
                  CREATE OR REPLACE TABLE ds.p3 PARTITION BY DATE_TRUNC(d, MONTH) AS SELECT d FROM ds.t""")
    assert wh.table_info("ds.p").partition_column == "game_date"
    assert wh.table_info("ds.p2").partition_column == "ts"
    assert wh.table_info("ds.p3").partition_column == "d"
    with pytest.raises(WarehouseQueryError, match="not a column"):
        wh.execute("CREATE TABLE ds.bad (a INT64) PARTITION BY nope")
    assert not wh.table_exists("ds.bad")


def test_drop_and_rename_keep_partition_metadata_in_step(wh):
    wh.execute("CREATE OR REPLACE TABLE ds.r (d DATE, n INT64) PARTITION BY d; ALTER TABLE ds.r RENAME TO r2")
    assert wh.table_info("ds.r2").partition_column == "d" and not wh.table_exists("ds.r")
    wh.execute("DROP TABLE ds.r2; CREATE TABLE ds.r2 (d DATE, n INT64)")
    assert wh.table_info("ds.r2").partition_column is None
    wh.execute("DROP TABLE IF EXISTS ds.r2, ds.never_was")
    assert not wh.table_exists("ds.r2")


def test_create_schema_like_and_copy(wh):
    wh.execute("""CREATE SCHEMA IF NOT EXISTS scratch OPTIONS(location = 'us-west2', default_table_expiration_days = 2);
                  CREATE TABLE scratch.games (game_date DATE, pts INT64) PARTITION BY game_date;
                  INSERT INTO scratch.games VALUES (DATE '2024-01-01', 100);
                  CREATE TABLE scratch.games_like LIKE scratch.games;
                  CREATE TABLE scratch.games_copy COPY scratch.games;""")
    like, copy = wh.table_info("scratch.games_like"), wh.table_info("scratch.games_copy")
    assert (like.num_rows, copy.num_rows) == (0, 1)
    assert like.columns == copy.columns == [("game_date", "DATE"), ("pts", "INT64")]
    assert like.partition_column == copy.partition_column == "game_date"
    info = wh.table_info("scratch.games")
    assert info.expires_at - info.created_at == timedelta(days=2)
    wh.execute("CREATE SCHEMA IF NOT EXISTS scratch")  # a no-op, as in BigQuery
    assert wh.table_exists("scratch.games")
    wh.execute("DROP SCHEMA scratch CASCADE")
    assert not wh.dataset_exists("scratch")


def test_begin_commit_transaction_are_accepted(wh):
    wh.execute("BEGIN TRANSACTION; CREATE OR REPLACE TABLE ds.tx (a INT64); INSERT INTO ds.tx VALUES (1); "
               "COMMIT TRANSACTION;")
    assert one(wh, "SELECT COUNT(*) FROM ds.tx") == 1


# ------------------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("sql,construct", [
    ("DECLARE x INT64 DEFAULT 1", "DECLARE"),
    ("EXECUTE IMMEDIATE 'SELECT 1'", "EXECUTE IMMEDIATE"),
    ("SET x = 1", "SET"),
    ("CREATE MODEL ds.m OPTIONS(model_type='linear_reg') AS SELECT 1 AS label", "CREATE MODEL"),
    ("SELECT * FROM ds.INFORMATION_SCHEMA.JOBS", "INFORMATION_SCHEMA.JOBS"),
    ("SELECT FROM WHERE", "WHERE"),
])
def test_unsupported_constructs_say_so_in_one_sentence(wh, sql, construct):
    with pytest.raises(UnsupportedSQL) as info:
        wh.query(sql)
    message = str(info.value)
    assert construct in message and "local warehouse" in message
    assert message.endswith(".") and "\n" not in message


def test_to_duckdb_keeps_its_signature():
    # (a result column with no name of its own is BigQuery's f0_)
    assert to_duckdb("SELECT @x FROM `p.ds.t`") == 'SELECT $x AS f0_ FROM "ds"."t"'
    assert to_duckdb("SELECT @x AS x FROM p.ds.t") == "SELECT $x AS x FROM ds.t"
    assert to_duckdb("SELECT 1; SELECT 2", many=True) == ["SELECT 1 AS f0_", "SELECT 2 AS f0_"]
    with pytest.raises(ValueError):
        to_duckdb("SELECT 1; SELECT 2")
    st = translate("CREATE TABLE `p.ds.x` (d DATE) PARTITION BY d")[0]
    assert (st.kind, st.dataset, st.table, st.partition_column) == ("create_table", "ds", "x", "d")


def test_date_plus_integer_stays_a_date(wh):
    # BigQuery date arithmetic: DATE + INT64 adds days and gives a DATE.
    assert one(wh, "SELECT CAST(DATE '2024-02-28' + 2 AS STRING)") == "2024-03-01"
    assert one(wh, "SELECT (2147483647 + 1) * 2 + 1") == 4294967297


# ------------------------------------------------------------------------------------------ review 3
# Answers DuckDB alone gives differently from BigQuery, found by review; each pinned to its source.

def test_like_takes_backslash_escapes(wh):
    # GoogleSQL operators doc (LIKE): "\", "_" and "%" are escaped with two backslashes in a quoted
    # string ('a\\_b') or one in a raw string (r'a\_b'); the escaped character matches itself only.
    # DuckDB's LIKE has no escape character unless told, so 'a_b' LIKE 'a\\_b' would be FALSE.
    assert row(wh, r"SELECT 'a_b' LIKE 'a\\_b', 'axb' LIKE 'a\\_b', 'a_b' LIKE r'a\_b', 'axb' LIKE r'a\_b', "
                   r"'100%' LIKE r'100\%', '1000' LIKE r'100\%', 'a\\b' LIKE r'a\\b', 'ab' NOT LIKE r'a\_'") \
        == (True, False, True, False, True, False, True, True)
    # A pattern that is not a literal follows the same rule.
    df = wh.query("SELECT s FROM UNNEST(['a_b', 'axb', 'a%b']) AS s WHERE s LIKE @pattern ORDER BY s",
                  {"pattern": "a\\_b"})
    assert df.s.tolist() == ["a_b"]


def test_format_timestamp_prints_the_wall_clock_of_the_zone(wh):
    # BigQuery FORMAT_TIMESTAMP(format, ts, time_zone) prints ts as seen in time_zone: 03:00 UTC on
    # 2024-01-01 is 22:00 on 2023-12-31 in New York (UTC-5 in winter, UTC-4 in summer). Format
    # elements doc: %z is +HHMM/-HHMM ("-0500"), %Ez +HH:MM, %Z the zone named by its offset ("UTC-5").
    assert row(wh, "SELECT FORMAT_TIMESTAMP('%Y-%m-%d %H:%M', TIMESTAMP '2024-01-01 03:00:00+00', 'America/New_York'), "
                   "FORMAT_TIMESTAMP('%H:%M %z %Ez %Z', TIMESTAMP '2024-01-01 03:00:00+00', 'America/New_York'), "
                   "FORMAT_TIMESTAMP('%H:%M %z %Z %%Z', TIMESTAMP '2024-07-01 03:00:00+00', 'America/New_York')") \
        == ("2023-12-31 22:00", "22:00 -0500 -05:00 UTC-5", "23:00 -0400 UTC-4 %Z")
    assert one(wh, "SELECT FORMAT_TIMESTAMP('%F %H:%M', ts, 'America/Los_Angeles') FROM ds.t WHERE id = 1") \
        == "2024-01-07 02:00"


def test_format_timestamp_without_a_zone_is_utc(wh):
    # Without the argument the zone is UTC: %Z is "UTC" and %Ez "+00:00" (the docs' example
    # FORMAT_TIMESTAMP("%b %Y %Ez", TIMESTAMP "2008-12-25 15:30:00+00") is "Dec 2008 +00:00").
    # DuckDB would print '' for %Z of the value and refuse %Ez.
    assert row(wh, "SELECT FORMAT_TIMESTAMP('%F %T %Z', TIMESTAMP '2024-01-01 03:00:00+00'), "
                   "FORMAT_TIMESTAMP('%b %Y %Ez', TIMESTAMP '2008-12-25 15:30:00+00'), "
                   "FORMAT_TIMESTAMP('%H%z', TIMESTAMP '2024-01-01 03:00:00+02')") \
        == ("2024-01-01 03:00:00 UTC", "Dec 2008 +00:00", "01+0000")


def test_parse_timestamp_reads_the_text_in_its_zone_and_gives_a_timestamp(wh):
    # BigQuery PARSE_TIMESTAMP(format, text[, time_zone]) returns a TIMESTAMP (an instant, printed in
    # UTC): the text's wall-clock time is read in time_zone, in UTC without one, unless the text
    # carries its own offset. 10:00 in Los Angeles in January is 18:00 UTC. Docs example:
    # PARSE_TIMESTAMP("%c", "Thu Dec 25 07:30:00 2008") is 2008-12-25 07:30:00+00.
    assert row(wh, "SELECT CAST(PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2024-01-01 10:00', 'America/Los_Angeles') AS STRING), "
                   "CAST(PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2024-01-01 10:00') AS STRING), "
                   "CAST(PARSE_TIMESTAMP('%Y-%m-%d %H:%M %z', '2024-01-01 10:00 +0200') AS STRING), "
                   "CAST(PARSE_TIMESTAMP('%c', 'Thu Dec 25 07:30:00 2008') AS STRING)") \
        == ("2024-01-01 18:00:00+00", "2024-01-01 10:00:00+00", "2024-01-01 08:00:00+00", "2008-12-25 07:30:00+00")
    wh.execute("CREATE OR REPLACE TABLE ds.parsed AS "
               "SELECT PARSE_TIMESTAMP('%Y%m%d %H%M', '20240101 1000', 'Asia/Kolkata') AS ts")
    assert wh.query("SELECT data_type FROM ds.INFORMATION_SCHEMA.COLUMNS WHERE table_name = 'parsed'") \
        .data_type.tolist() == ["TIMESTAMP"]
    assert one(wh, "SELECT CAST(ts AS STRING) FROM ds.parsed") == "2024-01-01 04:30:00+00"


def test_safe_cast_from_string_accepts_only_what_bigquery_accepts(wh):
    # Conversion rules: a STRING becomes an INT64 when it holds an integer, in decimal or hex
    # ('0x123' -> 291, '-0x123' -> -291); '1.5' and '1e3' are not integers. A STRING becomes a BOOL
    # only from "true"/"false" (any case), a DATE only from the date literal form YYYY-[M]M-[D]D.
    # DuckDB alone reads '1.5' as 2, '1e3' as 1000, 'yes'/'1'/'t' as TRUE and drops a time of day.
    ints = wh.query("SELECT s, SAFE_CAST(s AS INT64) AS n FROM UNNEST(['12', '+7', '-3', '0x1F', '-0x123', '1.5', "
                    "'1e3', 'abc', '', NULL]) AS s WITH OFFSET AS o ORDER BY o")
    assert [_plain(v) for v in ints.n] == [12, 7, -3, 31, -291, None, None, None, None, None]
    assert row(wh, "SELECT SAFE_CAST('1.5' AS INT64), SAFE_CAST('1e3' AS INT64), SAFE_CAST('0x1F' AS INT64), "
                   "SAFE_CAST('-0x123' AS INT64), SAFE_CAST('9223372036854775808' AS INT64)") \
        == (None, None, 31, -291, None)
    bools = wh.query("SELECT SAFE_CAST(s AS BOOL) AS b FROM UNNEST(['true', 'FALSE', 'True', 'yes', '1', 't', NULL]) "
                     "AS s WITH OFFSET AS o ORDER BY o")
    assert [_plain(v) for v in bools.b] == [True, False, True, None, None, None, None]
    assert row(wh, "SELECT SAFE_CAST('TRUE' AS BOOL), SAFE_CAST('no' AS BOOL)") == (True, None)
    dates = wh.query("SELECT CAST(SAFE_CAST(s AS DATE) AS STRING) AS d FROM UNNEST(['2024-01-05', '2024-1-5', "
                     "'2024-01-05 10:00:00', '2024/01/05', '2024-02-30', NULL]) AS s WITH OFFSET AS o ORDER BY o")
    assert [_plain(v) for v in dates.d] == ["2024-01-05", "2024-01-05", None, None, None, None]
    assert one(wh, "SELECT SAFE_CAST('2024-01-05 10:00:00' AS DATE)") is None


@pytest.mark.parametrize("sql,message", [
    ("SELECT CAST('1.5' AS INT64)", "Bad int64 value: 1.5"),
    ("SELECT CAST(s AS INT64) FROM UNNEST(['1e3']) AS s", "Bad int64 value: 1e3"),
    ("SELECT CAST(s AS BOOL) FROM UNNEST(['yes']) AS s", "Bad bool value: yes"),
    ("SELECT CAST('1' AS BOOL)", "Bad bool value: 1"),
    ("SELECT CAST('2024-01-05 10:00:00' AS DATE)", "Invalid date: '2024-01-05 10:00:00'"),
    ("SELECT CAST(s AS DATE) FROM UNNEST(['2024/01/05']) AS s", "Invalid date: '2024/01/05'"),
])
def test_cast_from_a_bad_string_is_an_error(wh, sql, message):
    # CAST raises where SAFE_CAST gives NULL (conversion functions doc), with BigQuery's message.
    with pytest.raises(Exception, match=re.escape(message)):
        wh.query(sql)


def test_cast_keeps_what_duckdb_already_gets_right(wh):
    # Integers and hex in columns, FLOAT64 halfway cases away from zero, INT64 -> BOOL (0 is FALSE).
    assert row(wh, "SELECT CAST(s AS INT64), CAST(x AS INT64), CAST(i AS BOOL), CAST(z AS BOOL), CAST(d AS DATE) "
                   "FROM (SELECT '0x10' AS s, -2.5 AS x, 7 AS i, 0 AS z, '2024-03-01' AS d)") \
        == (16, -3, True, False, date(2024, 3, 1))


def test_substr_from_position_zero_or_before_the_start_begins_at_one(wh):
    # String functions doc (SUBSTR): "If position is 0 or less than -LENGTH(value), the function
    # starts from position = 1"; a negative position within the string counts from its end.
    # DuckDB counts the positions before 1 against the length: SUBSTR('abcdef', 0, 2) would be 'a'.
    assert row(wh, "SELECT SUBSTR('abcdef', 0, 2), SUBSTR('abc', -5, 2), SUBSTR('abcdef', -3, 2), SUBSTR('abc', -5), "
                   "SUBSTR('abcdef', 0), SUBSTR('abcdef', 2, 3), SUBSTR('abcdef', -2)") \
        == ("ab", "ab", "de", "abc", "abcdef", "bcd", "ef")
    df = wh.query("SELECT p, SUBSTR('abcdef', p, 2) AS s FROM UNNEST([-9, -1, 0, 1, 6, 7]) AS p ORDER BY p")
    assert df.s.tolist() == ["ab", "f", "ab", "ab", "f", ""]


def test_format_thousands_flag_groups_with_commas(wh):
    # String functions doc (FORMAT, flags): ' "formats integers using the appropriate grouping
    # character", e.g. FORMAT("%'d", 12345678) is '12,345,678'. DuckDB's printf ' groups with '.
    assert row(wh, "SELECT FORMAT(\"%'d\", 1234567), FORMAT(\"%'d\", -12345678), FORMAT(\"%'d\", 999)") \
        == ("1,234,567", "-12,345,678", "999")


def test_array_offset_out_of_range_is_an_error_and_safe_offset_is_null(wh):
    # Array subscript operator doc: OFFSET and ORDINAL outside the array produce an error ("Array
    # index 5 is out of bounds (overflow)"); SAFE_OFFSET and SAFE_ORDINAL return NULL. DuckDB
    # returns NULL for both, and counts negative indexes from the end.
    for sql, text in [("SELECT [1, 2, 3][OFFSET(5)]", "Array index 5 is out of bounds (overflow)"),
                      ("SELECT [1, 2, 3][ORDINAL(4)]", "Array index 4 is out of bounds (overflow)"),
                      ("SELECT [1, 2, 3][OFFSET(-1)]", "Array index -1 is out of bounds (underflow)"),
                      ("SELECT [1, 2, 3][ORDINAL(0)]", "Array index 0 is out of bounds (underflow)"),
                      ("SELECT SPLIT(v, ',')[OFFSET(1)] FROM ds.t WHERE id = 1", "Array index 1 is out of bounds")]:
        with pytest.raises(Exception, match=re.escape(text)):
            wh.query(sql)
    assert row(wh, "SELECT [1, 2, 3][SAFE_OFFSET(5)], [1, 2, 3][SAFE_ORDINAL(4)], [1, 2, 3][SAFE_OFFSET(-2)], "
                   "[1, 2, 3][SAFE_ORDINAL(0)], [1, 2, 3][OFFSET(2)], [1, 2, 3][ORDINAL(1)], "
                   "SPLIT('a,b', ',')[OFFSET(1)], [1, 2, 3][OFFSET(NULL)]") \
        == (None, None, None, None, 3, 1, "b", None)


def test_integer_parameters_are_int64(wh):
    # BigQuery query parameters of type INT64 (the client's type for a Python int): 100000 * 100000
    # fits; DuckDB binds a small Python int as INT32 and would overflow.
    assert one(wh, "SELECT @n * @n", {"n": 100000}) == 10_000_000_000
    assert one(wh, "SELECT @n + 1", {"n": 2**31 - 1}) == 2**31
    assert one(wh, "SELECT @ns[OFFSET(0)] * @ns[OFFSET(1)]", {"ns": [100000, 100000]}) == 10_000_000_000
    assert wh.query("SELECT x FROM UNNEST(@ns) AS x WHERE x IN UNNEST(@ns) ORDER BY x",
                    {"ns": [3, None, 2**40]}).x.tolist() == [3, 2**40]
    assert row(wh, "SELECT @flag, @flags[OFFSET(0)]", {"flag": True, "flags": [False]}) == (True, False)


NAN_ROWS = ("(SELECT * FROM UNNEST([STRUCT(1 AS id, CAST('NaN' AS FLOAT64) AS x, 'b' AS s), STRUCT(2, 1.0, NULL), "
            "STRUCT(3, CAST(NULL AS FLOAT64), 'a'), STRUCT(4, CAST('-inf' AS FLOAT64), 'NaN'), "
            "STRUCT(5, CAST('inf' AS FLOAT64), 'c')]))")


def ids(wh: LocalWarehouse, sql: str) -> list:
    return wh.query(sql.replace("ROWS", NAN_ROWS)).id.tolist()


def test_nan_sorts_after_null(wh):
    # Data types doc (floating point semantics): in ascending order NULL comes first, then NaN, then
    # -inf .. +inf; descending, the reverse. DuckDB alone sorts NaN above +inf. The translation does
    # not know a bare column's type: a sort key DuckDB folds per column puts a FLOAT64's NaN in place.
    assert ids(wh, "SELECT id FROM ROWS ORDER BY x") == [3, 1, 4, 2, 5]
    assert ids(wh, "SELECT id FROM ROWS ORDER BY x DESC") == [5, 2, 4, 1, 3]
    assert ids(wh, "SELECT id FROM ROWS ORDER BY x ASC NULLS LAST") == [1, 4, 2, 5, 3]
    assert ids(wh, "SELECT id FROM ROWS ORDER BY x DESC NULLS FIRST") == [3, 5, 2, 4, 1]
    # an expression, an alias, a position, a set operation, a window, an aggregate's ORDER BY
    assert ids(wh, "SELECT id FROM ROWS ORDER BY x * 2, id") == [3, 1, 4, 2, 5]
    assert ids(wh, "SELECT id, x AS y FROM ROWS ORDER BY y") == [3, 1, 4, 2, 5]
    assert ids(wh, "SELECT id, s AS x FROM ROWS ORDER BY x") == [2, 4, 3, 1, 5]   # the alias, not ROWS' x
    assert ids(wh, "SELECT id, x FROM ROWS ORDER BY 2 DESC") == [5, 2, 4, 1, 3]
    assert ids(wh, "SELECT id, x FROM ROWS WHERE id < 3 UNION ALL SELECT id, x FROM ROWS WHERE id >= 3 ORDER BY x") == \
        [3, 1, 4, 2, 5]
    assert ids(wh, "SELECT id FROM ROWS ORDER BY ROW_NUMBER() OVER (ORDER BY x DESC)") == [5, 2, 4, 1, 3]
    assert list(one(wh, f"SELECT ARRAY_AGG(id ORDER BY x) FROM {NAN_ROWS}")) == [3, 1, 4, 2, 5]
    assert ids(wh, "SELECT MIN(id) AS id FROM ROWS GROUP BY x ORDER BY x") == [3, 1, 4, 2, 5]
    # other types' order is untouched (a STRING 'NaN' is text; NULL still first)
    assert ids(wh, "SELECT id FROM ROWS ORDER BY s") == [2, 4, 3, 1, 5]
    assert ids(wh, "SELECT DISTINCT id, s FROM ROWS ORDER BY s DESC, id") == [5, 1, 3, 4, 2]


def test_comparisons_with_nan_are_false_except_not_equal(wh):
    # Operators doc (comparison operators): "Floating point: All comparisons with NaN return FALSE,
    # except for != and <>, which return TRUE"; a NULL operand still gives NULL. DuckDB alone finds
    # NaN = NaN, NaN <= NaN and NaN > 1 true (it orders NaN above +inf). Corrected where an operand
    # is FLOAT64 by its form (a CAST to FLOAT64, a decimal literal, arithmetic or ABS over one): the
    # translation does not know a bare column's type.
    nan = "CAST('NaN' AS FLOAT64)"
    assert row(wh, f"SELECT {nan} = {nan}, {nan} <= {nan}, {nan} > 1.0, {nan} < 1.0, {nan} >= 1.0, 1.0 <= {nan}, "
                   f"{nan} != {nan}, {nan} <> 1.0") == (False, False, False, False, False, False, True, True)
    assert row(wh, f"SELECT {nan} = CAST(NULL AS FLOAT64), CAST(NULL AS FLOAT64) != {nan}, 1.5 < 2.5, 2.5 = 2.5, "
                   "CAST('inf' AS FLOAT64) > 1e308") == (None, None, True, True, True)
    # runbook 04's |test - production| <= tolerance: a NaN on either side is never within it
    df = wh.query(f"SELECT ABS(CAST(t AS FLOAT64) - CAST(p AS FLOAT64)) <= @tol + @rel * ABS(CAST(p AS FLOAT64)) AS ok "
                  f"FROM UNNEST([STRUCT(1 AS id, {nan} AS p, 1.0 AS t), STRUCT(2, 1.0, {nan}), STRUCT(3, {nan}, {nan}), "
                  "STRUCT(4, 1.0, 1.25)]) ORDER BY id", {"tol": 0.5, "rel": 0.0})
    assert df.ok.tolist() == [False, False, False, True]


def test_countif_is_zero_when_no_value_is_true(wh):
    # Aggregate functions doc (COUNTIF): the number of TRUE values, an INT64; its window example counts
    # 0 over a frame holding only NULL and FALSE. DuckDB's COUNT_IF alone gives NULL when every value
    # is NULL.
    assert row(wh, "SELECT COUNTIF(x > 0), COUNTIF(DISTINCT x > 0), COUNTIF(x IS NULL) "
                   "FROM UNNEST([CAST(NULL AS INT64), NULL]) AS x") == (0, 0, 2)
    df = wh.query("SELECT x, COUNTIF(x < 0) OVER (ORDER BY ABS(x) ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS n "
                  "FROM UNNEST([5, -2, 3, 6, -10, NULL, -7, 4, 0]) AS x ORDER BY ABS(x) NULLS FIRST")
    assert df.n.tolist() == [0, 1, 1, 1, 0, 0, 1, 2, 2]


def test_safe_add_subtract_and_multiply_are_null_where_they_overflow(wh):
    # Mathematical functions doc (SAFE_ADD, SAFE_SUBTRACT, SAFE_MULTIPLY): "Equivalent to the addition
    # (subtraction, multiplication) operator, but returns NULL if overflow occurs." DuckDB has none of
    # them (and raises on an overflow); each operand stays whole (SAFE_SUBTRACT(5, 7 - 3) is 1).
    assert row(wh, "SELECT SAFE_ADD(9223372036854775807, 1), SAFE_SUBTRACT(NUMERIC '99999999999999999999999999999', "
                   "NUMERIC '-1'), SAFE_MULTIPLY(4294967296, 4294967296), SAFE_SUBTRACT(5, 7 - 3), SAFE_ADD(1.5, 1), "
                   "SAFE_MULTIPLY(-3, 2), SAFE_ADD(NULL, 1)") == (None, None, None, 1, 2.5, -6, None)
    # runbook 04 subtracts exact numbers exactly: 2^53 + 1 and 2^53 are one apart, not 0 as FLOAT64s
    assert one(wh, "SELECT CAST(SAFE_SUBTRACT(CAST(9007199254740993 AS NUMERIC), CAST(9007199254740992 AS NUMERIC)) "
                   "AS FLOAT64)") == 1.0
    with pytest.raises(UnsupportedSQL, match="cannot run SAFE_ADD over an argument that can itself fail"):
        wh.query("SELECT SAFE_ADD(id / 0, 1) FROM ds.t")


def test_float64_arithmetic_that_overflows_fails_and_its_safe_form_is_null(wh):
    # [ZetaSQL] FLOAT64 + - * / whose result is not finite from finite operands fails (arithmetics.h, "double
    # overflow"); compliance functions_testlib_math.cc: DBL_MAX * 2 and 1 / 5e-324 are OUT_OF_RANGE, SAFE_ forms NULL
    # (mathematical functions doc: SAFE_MULTIPLY "returns NULL if overflow occurs"). DuckDB's IEEE answer was +inf.
    for sql in ("1.7976931348623157e308 * 2.0", "1.7976931348623157e308 + 1.7976931348623157e308", "1.0 / 5e-324",
                "-1.7976931348623157e308 - 1e308"):
        with pytest.raises(WarehouseQueryError, match="double overflow"):
            wh.query(f"SELECT {sql}")
    assert row(wh, "SELECT SAFE_MULTIPLY(1.7976931348623157e308, 2.0) IS NULL, SAFE_ADD(1.7976931348623157e308, "
                   "1.7976931348623157e308) IS NULL, SAFE_DIVIDE(1.0, 5e-324) IS NULL, SAFE_MULTIPLY(1.5, 2.0)") == \
        (True, True, True, 3.0)
    wh.execute("CREATE TABLE ds.float_overflow (x FLOAT64, y FLOAT64)")
    wh.execute("INSERT INTO ds.float_overflow (x, y) VALUES (1e200, 2.0), (CAST('inf' AS FLOAT64), 2.0), (NULL, 1.0)")
    # an infinite operand is no overflow: its result is the infinity (or NaN); a NULL one gives NULL
    assert wh.query("SELECT x * y AS p, x - x AS d FROM ds.float_overflow WHERE x IS NULL OR IS_INF(x) "
                    "ORDER BY x").p.tolist()[1] == float("inf")
    # a column's overflow, also inside a longer expression (an infinity met by another: NaN)
    for sql in ("SELECT x * x FROM ds.float_overflow", "SELECT SUM(x * x - x * y) FROM ds.float_overflow",
                "SELECT (x * x) / 2 + 1 FROM ds.float_overflow WHERE y = 2.0 AND NOT IS_INF(x)"):
        with pytest.raises(WarehouseQueryError, match="double overflow"):
            wh.query(sql)
    assert one(wh, "SELECT COUNTIF(SAFE_MULTIPLY(x, x) IS NULL) FROM ds.float_overflow") == 2


def test_to_json_string_of_null_is_the_json_null(wh):
    # JSON functions doc (JSON encodings, used by TO_JSON_STRING): SQL NULL is encoded as the JSON
    # null, so TO_JSON_STRING(NULL) is the string 'null', of any type. DuckDB's TO_JSON alone gives SQL
    # NULL, so 'null' = TO_JSON_STRING(x) and TO_JSON_STRING(x) = TO_JSON_STRING(y) were NULL for a NULL.
    assert row(wh, "SELECT TO_JSON_STRING(CAST(NULL AS INT64)), TO_JSON_STRING(CAST(NULL AS ARRAY<INT64>)), "
                   "TO_JSON_STRING(CAST(NULL AS STRUCT<a INT64>)), TO_JSON_STRING(STRUCT(CAST(NULL AS INT64) AS a)), "
                   "TO_JSON_STRING(CAST(NULL AS JSON)) = TO_JSON_STRING([1])") == ("null", "null", "null", '{"a":null}', False)


def test_json_type_names_bigquerys_types_and_tells_a_json_null_from_a_sql_null(wh):
    # JSON functions doc (JSON_TYPE): the type of the outermost JSON value, one of object, array,
    # string, number, boolean, null; SQL NULL for a SQL NULL (the page's own example, then NULL).
    # DuckDB's json_type alone names its own types (UBIGINT, DOUBLE, VARCHAR, NULL, ...).
    df = wh.query("""SELECT JSON_TYPE(json_val) AS type FROM UNNEST([JSON '"apple"', JSON '10', JSON '3.14',
                     JSON 'null', JSON '{"city": "New York", "State": "NY"}', JSON '["apple", "banana"]',
                     JSON 'false', CAST(NULL AS JSON)]) AS json_val WITH OFFSET AS o ORDER BY o""")
    assert df.type.tolist()[:7] == ["string", "number", "number", "null", "object", "array", "boolean"]
    assert pd.isna(df.type.tolist()[7])
    # a JSON null in a STRUCT field is a JSON null there too, not a NULL field
    assert row(wh, "SELECT JSON_TYPE(STRUCT(JSON 'null' AS j).j), STRUCT(JSON 'null' AS j).j IS NULL, "
                   "JSON_TYPE(STRUCT(CAST(NULL AS JSON) AS j).j)") == ("null", False, None)


def test_json_query_of_a_string_finds_a_sql_null_where_of_json_a_json_null(wh):
    # JSON functions doc (JSON_QUERY, JSON_EXTRACT): of a JSON-formatted STRING "Extracts a SQL NULL
    # when a JSON-formatted string null is encountered"; of JSON, "Extracts a JSON null" (the page's
    # examples: JSON_QUERY('{"a":null}', "$.a") is a SQL NULL, JSON_QUERY(JSON '{"a":null}', "$.a") a
    # JSON 'null'; a missing key is a SQL NULL either way). DuckDB's -> alone gives the JSON null for both.
    for function in ("JSON_QUERY", "JSON_EXTRACT"):
        assert row(wh, f"""SELECT {function}('{{"a":null}}', "$.a") IS NULL, {function}('{{"a":null}}', "$.b") IS NULL,
                           {function}("null", "$") IS NULL, {function}('{{"a":[1, null]}}', "$.a"),
                           {function}(JSON '{{"a":null}}', "$.a") IS NULL, JSON_TYPE({function}(JSON '{{"a":null}}', "$.a")),
                           {function}(JSON '{{"a":null}}', "$.b") IS NULL, {function}(JSON 'null', "$") IS NULL""") == \
            (True, True, True, "[1,null]", False, "null", True, False)


# ------------------------------------------------------------------------------------------ issue 12
# Dialect gaps from the runbook 01 closing note: SAFE. prefixes, FLOAT64 -> STRING, INSTR occurrences.

def test_safe_prefix_turns_the_functions_own_error_into_null(wh):
    # Functions doc (function calls, SAFE. prefix): "If you begin a scalar function with the SAFE.
    # prefix, it will return NULL instead of an error"; SUBSTR with a negative length is such an
    # error (string functions doc, SUBSTR). DuckDB alone reads SAFE. as a schema name, and returns ''
    # for a negative length.
    assert row(wh, "SELECT SAFE.SUBSTR('foo', 0, -2), SAFE.SUBSTR('foo', 0, 2), "
                   "SAFE.PARSE_DATE('%Y-%m-%d', 'not a date'), "
                   "CAST(SAFE.PARSE_DATE('%Y-%m-%d', '2024-01-02') AS STRING), SAFE.INSTR('banana', 'an', 0)") \
        == (None, "fo", None, "2024-01-02", None)
    df = wh.query("SELECT SAFE.PARSE_DATE('%Y%m%d', s) AS d FROM UNNEST(['20240105', 'x', NULL]) AS s "
                  "WITH OFFSET AS o ORDER BY o")
    assert [_plain(v) for v in df.d] == [date(2024, 1, 5), None, None]
    with pytest.raises(Exception, match=re.escape("Third argument in SUBSTR() cannot be negative")):
        wh.query("SELECT SUBSTR(v, 1, -1) FROM ds.t")


@pytest.mark.parametrize("sql", [
    "SELECT SAFE.LOG(x / 0, 10) FROM ds.t",
    "SELECT SAFE.SUBSTR(v, CAST(v AS INT64)) FROM ds.t",
    "SELECT SAFE.SQRT(RAND())",
])
def test_safe_prefix_over_an_argument_that_can_fail_is_refused(wh, sql):
    # Same doc: "The SAFE. prefix only prevents errors from the prefixed function itself: it doesn't
    # prevent errors that occur while evaluating argument expressions." DuckDB's TRY() would hide
    # them (and refuses volatile functions), so the local warehouse says so instead of guessing.
    with pytest.raises(UnsupportedSQL) as info:
        wh.query(sql)
    message = str(info.value)
    assert re.match(r"The local warehouse cannot run SAFE\.\w+ over an argument that can itself fail", message)
    assert message.endswith(".") and "\n" not in message


def test_float_to_string_writes_nan_and_zero_unsigned(wh):
    # Conversion functions doc (CAST AS STRING, FLOAT64 -> STRING): "Returns an approximate string
    # representation. A returned NaN or 0 will not be signed." DuckDB alone writes '-0.0' and '-nan'.
    df = wh.query("SELECT CAST(x AS STRING) AS s FROM UNNEST([-0.0, 0.0, IEEE_DIVIDE(0, 0), -IEEE_DIVIDE(0, 0), "
                  "IEEE_DIVIDE(-1, 0), 2.5]) AS x WITH OFFSET AS o ORDER BY o")
    assert df.s.tolist() == ["0", "0", "nan", "nan", "-inf", "2.5"]
    assert row(wh, "SELECT CAST(-0.0 AS STRING), SAFE_CAST(-0.0 AS STRING), CAST(x AS STRING) FROM ds.t WHERE id = 2") \
        == ("0", "0", "-2.5")


def test_times_cast_to_string_write_their_fraction_in_zero_three_or_six_digits(wh):
    # ZetaSQL's compliance cases (functions_testlib_cast.cc, TIME/DATETIME/TIMESTAMP -> STRING; the TIMESTAMPs there
    # are in Los Angeles, here in UTC, BigQuery's default). DuckDB wrote the fewest digits: '.12', '.5'.
    cases = {"TIME '00:00:00'": "00:00:00", "TIME '23:59:59.999999'": "23:59:59.999999",
             "TIME '01:02:03.123450'": "01:02:03.123450", "TIME '01:02:03.12'": "01:02:03.120",
             "DATETIME '0001-01-01 00:00:00'": "0001-01-01 00:00:00",
             "DATETIME '9999-12-31 23:59:59.999999'": "9999-12-31 23:59:59.999999",
             "DATETIME '2006-01-02 01:02:03.12'": "2006-01-02 01:02:03.120",
             "TIMESTAMP_MICROS(1)": "1970-01-01 00:00:00.000001+00",
             "TIMESTAMP_MICROS(100)": "1970-01-01 00:00:00.000100+00",
             "TIMESTAMP_MICROS(10000)": "1970-01-01 00:00:00.010+00",
             "TIMESTAMP_MICROS(1000000)": "1970-01-01 00:00:01+00",
             "TIMESTAMP_MICROS(-100000)": "1969-12-31 23:59:59.900+00",
             "TIMESTAMP '2024-01-01 12:00:00.5 UTC'": "2024-01-01 12:00:00.500+00"}
    assert row(wh, f"SELECT {', '.join(f'CAST({v} AS STRING)' for v in cases)}") == tuple(cases.values())
    wh.execute(f"CREATE TABLE ds.clocks AS SELECT {', '.join(f'{v} AS c{n}' for n, v in enumerate(cases))}")
    assert row(wh, f"SELECT {', '.join(f'CAST(c{n} AS STRING)' for n in range(len(cases)))} FROM ds.clocks") \
        == tuple(cases.values())
    assert row(wh, "SELECT CONCAT('at ', c12), SAFE_CAST(c3 AS STRING), CAST(TRUE AS STRING) FROM ds.clocks") \
        == ("at 2024-01-01 12:00:00.500+00", "01:02:03.120", "true")


def test_float_to_string_writes_fifteen_digits_or_seventeen_where_fifteen_do_not_give_the_value_back(wh):
    # ZetaSQL's compliance cases (functions_testlib_cast.cc, double->string) and RoundTripDoubleToString: %.15g,
    # %.17g where that does not read back as the same double. DuckDB wrote '123.0' and shortest round-trip digits.
    cases = {"0.0": "0", "0.123": "0.123", "123.0": "123", "-123.0": "-123", "1.123e25": "1.123e+25",
             "1.234e-25": "1.234e-25", "1.1234567891234e25": "1.1234567891234e+25",
             "1.7976931348623157e308": "1.7976931348623157e+308", "2.2250738585072014e-308": "2.2250738585072014e-308",
             "0.1 + 0.7": "0.79999999999999993", "0.1 + 0.2": "0.30000000000000004", "1e15": "1e+15",
             "123456789.0": "123456789"}
    literals = ", ".join(cases)
    assert row(wh, f"SELECT {', '.join(f'CAST({v} AS STRING)' for v in cases)}") == tuple(cases.values())
    wh.execute(f"CREATE TABLE ds.float_texts AS SELECT x, o FROM UNNEST([{literals}]) AS x WITH OFFSET AS o")
    df = wh.query("SELECT CAST(x AS STRING) AS s, CONCAT('v=', x) AS c, 'v=' || x AS p FROM ds.float_texts ORDER BY o")
    assert df.s.tolist() == list(cases.values())
    assert df.c.tolist() == df.p.tolist() == [f"v={v}" for v in cases.values()]
    # a value that differs each time it is read is read once, so that its text is of one value
    assert translate("SELECT CAST(RAND() AS STRING)", "p", None)[0].sql.count("RANDOM()") == 1
    assert float(row(wh, "SELECT CAST(RAND() AS STRING)")[0]) < 1


def test_instr_with_position_and_occurrence(wh):
    # String functions doc (INSTR(value, subvalue[, position[, occurrence]])): the doc's example
    # table. Overlapping matches count; a negative position searches backwards from that many
    # characters before the end; 0 when there is no such occurrence. sqlglot alone refuses the
    # occurrence, and reads a negative position as a SUBSTRING start.
    df = wh.query("""
        WITH example AS (
          SELECT 'banana' AS value, 'an' AS subvalue, 1 AS position, 1 AS occurrence UNION ALL
          SELECT 'banana', 'an', 1, 2 UNION ALL SELECT 'banana', 'an', 1, 3 UNION ALL
          SELECT 'banana', 'an', 3, 1 UNION ALL SELECT 'banana', 'an', -1, 1 UNION ALL
          SELECT 'banana', 'an', -3, 1 UNION ALL SELECT 'banana', 'ann', 1, 1 UNION ALL
          SELECT 'helloooo', 'oo', 1, 1 UNION ALL SELECT 'helloooo', 'oo', 1, 2)
        SELECT INSTR(value, subvalue, position, occurrence) AS instr FROM example""")
    assert df.instr.tolist() == [2, 4, 0, 4, 4, 4, 0, 5, 6]
    assert row(wh, "SELECT INSTR('abcabc', 'bc', -1, 2), INSTR('abcabc', 'bc', 3), INSTR('abcabc', 'bc', -1), "
                   "INSTR('abc', 'bc'), STRPOS('abc', 'c'), INSTR('abc', 'a', 9), INSTR(v, 'a', 1, 1) "
                   "FROM ds.t WHERE id = 3") == (2, 5, 5, 2, 3, 0, None)


@pytest.mark.parametrize("sql,message", [
    ("SELECT INSTR('banana', 'an', 0)", "INSTR position must not be 0"),
    ("SELECT INSTR(v, 'an', 1, 0) FROM ds.t WHERE id = 1", "INSTR occurrence must be positive, got 0"),
])
def test_instr_refuses_position_zero_and_occurrences_below_one(wh, sql, message):
    # Same doc: "Returns an error if: position is 0; occurrence is 0 or negative."
    with pytest.raises(Exception, match=re.escape(message)):
        wh.query(sql)


# ------------------------------------------------------------------------------------------ TO_JSON_STRING
# BigQuery docs, JSON functions page (https://cloud.google.com/bigquery/docs/reference/standard-sql/
# json_functions), sections TO_JSON_STRING and "JSON encodings": every pair below is one of the page's
# own examples (SQL input -> JSON output), the independent ground truth. DuckDB's to_json alone wrote
# 1.0 as 1.0, NaN bare, a TIMESTAMP as "2017-03-06 12:34:56.789012+00", BYTES as their text, NUMERIC
# 123.56 as 123.560000000.
# The page's examples the sandbox cannot take byte for byte, and why:
# - FLOAT64 9007199254740993 -> 9007199254740993: no FLOAT64 holds 9007199254740993 (the nearest is
#   9007199254740992), so that pair cannot be BigQuery's output for a FLOAT64;
# - JSON '{"item": "pen", "price": 10}' -> {"item":"pen", "price":10} and STRUCT(12 AS purchases, TRUE AS
#   inStock) -> {"inStock": true,"purchases":12}: stray spaces, against the page's other compact examples
#   and the JSON type's "Whitespace characters aren't preserved"; the STRUCT pair is TO_JSON's (fields
#   sorted), while for TO_JSON_STRING the page keeps the fields' order ({"id":1,"coordinates":[10,20]});
# - INTERVAL '10:20:30.52' HOUR TO SECOND and INTERVAL '1 5:30' DAY TO MINUTE: DuckDB's parser takes no
#   such literals, so those two values are handed to the encoder as Arrow (test_interval_...).

JSON_ENCODINGS_EXAMPLES = [
    ("NULL", "null"),
    ("TRUE", "true"), ("FALSE", "false"),
    ("-1", "-1"), ("0", "0"), ("12345678901", "12345678901"),
    # INT64 (TO_JSON_STRING only): a number within [-2^53, 2^53], a string beyond.
    ("9007199254740992", "9007199254740992"), ("9007199254740993", '"9007199254740993"'),
    ("INTERVAL 1 SECOND", '"PT1S"'), ("INTERVAL -25 MONTH", '"P-2Y-1M"'),
    # NUMERIC, BIGNUMERIC (TO_JSON_STRING only): a number within [-2^53, 2^53] "and has no fractional part".
    ("NUMERIC '-1'", "-1"), ("NUMERIC '0'", "0"), ("NUMERIC '9007199254740993'", '"9007199254740993"'),
    ("NUMERIC '123.56'", '"123.56"'),
    ("BIGNUMERIC '-1'", "-1"), ("BIGNUMERIC '9007199254740993'", '"9007199254740993"'),
    ("BIGNUMERIC '123.56'", '"123.56"'),
    # FLOAT64: "+/-inf and NaN are encoded as Infinity, -Infinity, and NaN. Otherwise ... a number."
    ("CAST(1.0 AS FLOAT64)", "1"), ("CAST('+inf' AS FLOAT64)", '"Infinity"'),
    ("CAST('-inf' AS FLOAT64)", '"-Infinity"'), ("CAST('NaN' AS FLOAT64)", '"NaN"'),
    ('"abc"', '"abc"'), (r'"\"abc\""', r'"\"abc\""'),
    ('b"Google"', '"R29vZ2xl"'),   # BYTES: RFC 4648 Base64
    ("DATE '2017-03-06'", '"2017-03-06"'),
    ("TIMESTAMP '2017-03-06 12:34:56.789012'", '"2017-03-06T12:34:56.789012Z"'),
    ("DATETIME '2017-03-06 12:34:56.789012'", '"2017-03-06T12:34:56.789012"'),
    ("TIME '12:34:56.789012'", '"12:34:56.789012"'),
    ('JSON \'{"item": "pen", "price": 10}\'', '{"item":"pen","price":10}'),
    ('["red", "blue", "green"]', '["red","blue","green"]'), ("[1, 2, 3]", "[1,2,3]"),
    # The TO_JSON_STRING section's own example.
    ("STRUCT(1 AS id, [10,20] AS coordinates)", '{"id":1,"coordinates":[10,20]}'),
]


def _json(wh: LocalWarehouse, argument: str) -> str:
    return one(wh, f"SELECT TO_JSON_STRING({argument})")


@pytest.mark.parametrize("argument,expected", JSON_ENCODINGS_EXAMPLES)
def test_to_json_string_spells_the_docs_examples(wh, argument, expected):
    assert _json(wh, argument) == expected


def test_to_json_string_pretty_print_is_the_docs_example(wh):
    # TO_JSON_STRING section: "If pretty_print is true, the returned value is formatted for easy readability."
    assert _json(wh, "STRUCT(1 AS id, [10,20] AS coordinates), true") == \
        '{\n  "id": 1,\n  "coordinates": [\n    10,\n    20\n  ]\n}'
    # A table row, as an earlier version of the page converts it (its CoordinatesTable example).
    df = wh.query("WITH CoordinatesTable AS ((SELECT 1 AS id, [10,20] AS coordinates) UNION ALL "
                  "(SELECT 2 AS id, [30,40] AS coordinates)) "
                  "SELECT TO_JSON_STRING(t) AS c, TO_JSON_STRING(t, true) AS p FROM CoordinatesTable AS t ORDER BY id")
    assert df.c.tolist() == ['{"id":1,"coordinates":[10,20]}', '{"id":2,"coordinates":[30,40]}']
    assert df.p.tolist()[1] == '{\n  "id": 2,\n  "coordinates": [\n    30,\n    40\n  ]\n}'


def test_to_json_string_struct_fields_keep_order_duplicates_and_anonymous_names(wh):
    # STRUCT: "For TO_JSON_STRING, a field and any duplicates of this field are included in the output
    # string." "Anonymous fields are represented with \"\"." (DuckDB's structs can hold neither; the
    # translation carries BigQuery's names beside the struct.) NULL values at any depth are null, an
    # empty array [] ("Can contain zero or more elements").
    assert _json(wh, "STRUCT(1, 'x' AS a, 2 AS A, CAST(NULL AS INT64) AS n, ARRAY<INT64>[] AS e)") == \
        '{"":1,"a":"x","A":2,"n":null,"e":[]}'
    assert _json(wh, "STRUCT(2 AS b, STRUCT(CAST(NULL AS STRING) AS s, [STRUCT(TRUE AS t)] AS l) AS inner)") == \
        '{"b":2,"inner":{"s":null,"l":[{"t":true}]}}'


def test_to_json_string_escapes_quotes_backslashes_control_characters_and_line_separators_only(wh):
    # STRING: "escaped according to the JSON standard. Specifically, \", \\, and the control characters
    # from U+0000 to U+001F are escaped." '<', '&' and other non-ASCII text stay as they are.
    # The page does not say how a control character is spelled; [ZetaSQL] json_util.cc writes \b \f
    # \n \r \t and \u00xx (lower case), and escapes U+2028 and U+2029 too (JsonEscapeAndAppendString), which a
    # fingerprint of a row holding one sees; a JSON value's own strings keep them (the JSON type's library).
    assert _json(wh, "'a\"b\\\\c\\n\\t\\x01\\x1f <tag> & é ü\u2028\u2029'") == \
        '"a\\"b\\\\c\\n\\t\\u0001\\u001f <tag> & é ü\\u2028\\u2029"'
    assert _json(wh, "JSON '\"\u2028\"'") == '"\u2028"'
    # Field names are escaped alike.
    assert _json(wh, "STRUCT(1 AS `we\"ird`)") == '{"we\\"ird":1}'


def test_to_json_string_follows_zetasql_where_the_docs_are_silent(wh):
    # The page says a FLOAT64 is "encoded as a number" (1.0 -> 1) but not with which digits, nor
    # what happens to -0, how many fractional digits a TIMESTAMP gets, or what a NULL pretty_print
    # gives. [ZetaSQL] The reference implementation of the engine the page documents:
    # - FLOAT64: printf %.15g, %.17g when 15 significant digits do not give the value back
    #   (RoundTripDoubleToString): 1e+20, 0.1, 0.33333333333333331, 35.5; -0 written 0 (canonicalize_zero);
    # - TIMESTAMP/DATETIME/TIME: no fraction for whole seconds, else 3, 6 or 9 digits, as few as say it
    #   (NarrowTimestampScaleIfPossible); the page's example has 6;
    # - a NULL pretty_print gives NULL (reference_impl/functions/json.cc).
    assert row(wh, "SELECT TO_JSON_STRING(CAST(1e20 AS FLOAT64)), TO_JSON_STRING(0.1), TO_JSON_STRING(1 / 3), "
                   "TO_JSON_STRING(35.5), TO_JSON_STRING(CAST(-0.0 AS FLOAT64)), TO_JSON_STRING(-2.5e-7)") == \
        ("1e+20", "0.1", "0.33333333333333331", "35.5", "0", "-2.5e-07")
    assert row(wh, "SELECT TO_JSON_STRING(TIMESTAMP '2024-01-02 03:04:05+00'), "
                   "TO_JSON_STRING(TIMESTAMP '2024-01-02 03:04:05.120+00'), "
                   "TO_JSON_STRING(DATETIME '1969-12-31 23:59:59.5'), TO_JSON_STRING(TIME '00:00:00.000001')") == \
        ('"2024-01-02T03:04:05Z"', '"2024-01-02T03:04:05.120Z"', '"1969-12-31T23:59:59.500"', '"00:00:00.000001"')
    assert one(wh, "SELECT TO_JSON_STRING(1, CAST(NULL AS BOOL))") is None


def test_float64_digits_are_the_zetasql_rule_for_every_magnitude():
    # The encoder takes Arrow's own text where it is already %.15g's (plain notation, at least 1e-4, at
    # most 15 digits) and spells the rest one by one; oracle: the [ZetaSQL] rule itself, in Python.
    import random

    import pyarrow as pa

    from runbook_lib.local.bigquery.json_text import spell

    def zetasql(v: float) -> str:
        if math.isnan(v) or math.isinf(v):
            return '"NaN"' if math.isnan(v) else '"Infinity"' if v > 0 else '"-Infinity"'
        if v == 0:
            return "0"
        short = "%.15g" % v
        return short if float(short) == v else "%.17g" % v

    rng = random.Random(12)
    values = [1.5 * 10.0 ** k for k in range(-9, 22)] + [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, 1e-4,
                                                          9.9999e-5, 1e15, 999999999999999.0, -0.0, math.nan, -math.inf]
    values += [rng.uniform(-1e6, 1e6) for _ in range(3000)] + [round(rng.uniform(-100, 100), rng.randint(0, 7))
                                                              for _ in range(3000)]
    values += [rng.random() * 10.0 ** rng.randint(-30, 30) for _ in range(3000)]
    assert spell(pa.array(values + [None], pa.float64())).to_pylist() == [zetasql(v) for v in values] + ["null"]


def test_interval_examples_the_local_parser_cannot_read(wh):
    # The page's other two INTERVAL examples, handed to the encoder as the values DuckDB would hold.
    import pyarrow as pa

    from runbook_lib.local.bigquery.json_text import spell

    hour_to_second = pa.MonthDayNano([0, 0, (10 * 3600 + 20 * 60 + 30) * 10**9 + 520_000_000])
    day_to_minute = pa.MonthDayNano([0, 1, (5 * 3600 + 30 * 60) * 10**9])
    values = pa.array([hour_to_second, day_to_minute, pa.MonthDayNano([0, 0, 0])], pa.month_day_nano_interval())
    # [ZetaSQL] A zero interval is P0Y (IntervalValue::ToISO8601); the page has no example of it.
    assert spell(values).to_pylist() == ['"PT10H20M30.52S"', '"P1DT5H30M"', '"P0Y"']


def test_to_json_string_of_json_drops_whitespace_keeps_first_duplicate_and_sorts_keys(wh):
    # JSON: "data of the input JSON". The JSON type's canonicalisation (data types doc, JSON type):
    # "Whitespace characters aren't preserved", "If an object has duplicate keys, the first key that's
    # found is preserved"; its members come out sorted by key in every one of the page's TO_JSON
    # examples ({"coordinates":[10,20],"id":1}). How BigQuery re-spells a JSON number the docs do not say.
    assert _json(wh, 'JSON \'{"id": 1, "coordinates": [10, 20], "id": 2, "s": "a\\\\u0001"}\'') == \
        '{"coordinates":[10,20],"id":1,"s":"a\\u0001"}'
    assert _json(wh, 'STRUCT(JSON \'{"b": {"d": [], "c": null}}\' AS j), true') == \
        '{\n  "j": {\n    "b": {\n      "c": null,\n      "d": []\n    }\n  }\n}'


def test_to_json_string_is_the_same_text_chunk_after_chunk(wh):
    # 5,000 rows cross DuckDB's 2,048-row chunks; arrays of varying length and NULLs at every depth.
    # Oracle: Python's json.dumps, which writes ASCII strings, integers below 2^53, booleans, arrays
    # and null exactly as the page's rules do.
    import json

    df = wh.query("""
        SELECT n, TO_JSON_STRING(STRUCT(n AS n, IF(MOD(n, 7) = 0, NULL, CONCAT('p', CAST(n AS STRING))) AS s,
                                        GENERATE_ARRAY(1, MOD(n, 4)) AS a, MOD(n, 2) = 0 AS even,
                                        IF(MOD(n, 5) = 0, NULL, STRUCT(n * 2 AS d)) AS sub)) AS j
        FROM UNNEST(GENERATE_ARRAY(1, 5000)) AS n ORDER BY n""")

    def expected(n: int) -> str:
        return json.dumps({"n": n, "s": None if n % 7 == 0 else f"p{n}", "a": list(range(1, n % 4 + 1)),
                           "even": n % 2 == 0, "sub": None if n % 5 == 0 else {"d": n * 2}}, separators=(",", ":"))

    assert df.j.tolist() == [expected(n) for n in df.n.tolist()]


def _farm_fingerprint(text: str) -> int:
    """BigQuery's FARM_FINGERPRINT, straight from pyfarmhash (not the kit's code path)."""
    import farmhash

    u = farmhash.fingerprint64(text)
    return u - (1 << 64) if u >= 1 << 63 else u


def test_farm_fingerprint_of_to_json_string_is_the_fingerprint_of_the_documented_text(wh):
    # A fingerprint taken independently, from the text BigQuery documents, equals the sandbox's.
    cases = {
        "STRUCT(1 AS id, [10,20] AS coordinates)": '{"id":1,"coordinates":[10,20]}',
        "STRUCT(TIMESTAMP '2017-03-06 12:34:56.789012' AS ts, b\"Google\" AS b, NUMERIC '123.56' AS n, "
        "CAST('NaN' AS FLOAT64) AS f, 9007199254740993 AS i, DATE '2017-03-06' AS d)":
            '{"ts":"2017-03-06T12:34:56.789012Z","b":"R29vZ2xl","n":"123.56","f":"NaN","i":"9007199254740993",'
            '"d":"2017-03-06"}',
        "[STRUCT(TRUE AS ok, DATETIME '2017-03-06 12:34:56.789012' AS dt, TIME '12:34:56.789012' AS t)]":
            '[{"ok":true,"dt":"2017-03-06T12:34:56.789012","t":"12:34:56.789012"}]',
    }
    for argument, text in cases.items():
        assert one(wh, f"SELECT FARM_FINGERPRINT(TO_JSON_STRING({argument}))") == _farm_fingerprint(text), argument


def test_replay_checksum_is_bigquerys_and_survives_a_no_op(wh):
    # runbook 03's checksum of a partition: BIT_XOR of FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(columns))).
    # Taken independently from the documented texts of its rows it is the same; rewriting the rows
    # with what they hold already (a no-op) leaves it as it was.
    from runbook_lib.replay.fingerprint import checksum_sql

    wh.execute("""
        CREATE TABLE ds.encoded (day DATE, n INT64, f FLOAT64, m NUMERIC, b BYTES, ts TIMESTAMP, s STRING)
        PARTITION BY day;
        INSERT INTO ds.encoded VALUES
          (DATE '2017-03-06', 9007199254740993, 1.0, NUMERIC '123.56', b"Google", TIMESTAMP '2017-03-06 12:34:56.789012', 'a"b'),
          (DATE '2017-03-06', -1, CAST('-inf' AS FLOAT64), NUMERIC '0', NULL, NULL, NULL);
    """)
    rows = ['{"day":"2017-03-06","n":"9007199254740993","f":1,"m":"123.56","b":"R29vZ2xl",'
            '"ts":"2017-03-06T12:34:56.789012Z","s":"a\\"b"}',
            '{"day":"2017-03-06","n":-1,"f":"-Infinity","m":0,"b":null,"ts":null,"s":null}']
    sql, params = checksum_sql(wh, "ds.encoded", [date(2017, 3, 6)])
    before = wh.query(sql, params)
    assert before.day.tolist() == ["2017-03-06"]
    assert int(before.checksum.iloc[0]) == _farm_fingerprint(rows[0]) ^ _farm_fingerprint(rows[1])
    wh.execute("UPDATE ds.encoded SET f = f, m = m, ts = ts WHERE TRUE")
    assert int(wh.query(sql, params).checksum.iloc[0]) == int(before.checksum.iloc[0])


def test_a_checksum_is_grouped_by_the_partition_day_whatever_the_columns_are_named(wh):
    # a column named `day` that is not the partition column: DuckDB would bind `GROUP BY day` to it, BigQuery to the
    # SELECT alias; grouped by position, both take the partition's day
    from runbook_lib.replay.fingerprint import checksum_sql

    wh.execute("""
        CREATE TABLE ds.days (game_date DATE, day STRING, n INT64) PARTITION BY game_date;
        INSERT INTO ds.days VALUES (DATE '2025-12-15', 'mon', 1), (DATE '2025-12-15', 'tue', 2),
                                   (DATE '2025-12-16', 'wed', 3);
    """)
    sql, params = checksum_sql(wh, "ds.days", [date(2025, 12, 15)])
    found = wh.query(sql, params)
    rows = ['{"game_date":"2025-12-15","day":"mon","n":1}', '{"game_date":"2025-12-15","day":"tue","n":2}']
    assert found.day.tolist() == ["2025-12-15"]
    assert int(found.checksum.iloc[0]) == _farm_fingerprint(rows[0]) ^ _farm_fingerprint(rows[1])


def test_an_integer_range_partitioned_table_has_no_checksum_of_a_day(wh):
    # its partitions are ranges of a number, none of them a replayed day: partition metadata only, not a failed query
    from runbook_lib.replay.fingerprint import checksum_sql, plan_checksums

    wh.execute("CREATE TABLE ds.ranged (id INT64, v STRING) PARTITION BY RANGE_BUCKET(id, GENERATE_ARRAY(0, 100, 10)); "
               "INSERT INTO ds.ranged VALUES (5, 'a'), (15, 'b')")
    assert checksum_sql(wh, "ds.ranged", [date(2025, 12, 15)]) is None
    assert not plan_checksums(wh, ["ds.ranged"], [date(2025, 12, 15)], True, 10 ** 9).on


def test_an_unpartitioned_partition_listed_once_per_storage_tier_counts_its_rows_once_each():
    # BigQuery's PARTITIONS view lists __UNPARTITIONED__ twice when its rows are in both storage tiers
    from datetime import datetime, timezone

    from runbook_lib.protocols import PartitionInfo
    from runbook_lib.replay.fingerprint import table_print

    early, late = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 6, 1, tzinfo=timezone.utc)

    class TwoTiers:
        def partitions(self, ref):
            return [PartitionInfo("20251215", 10, 80, early), PartitionInfo("__UNPARTITIONED__", 7, 56, early),
                    PartitionInfo("__UNPARTITIONED__", 5, 40, late)]

    printed = table_print(TwoTiers(), "ds.t")
    assert printed.partitions["__UNPARTITIONED__"].rows == 12 and printed.rows == 22
    assert printed.partitions["__UNPARTITIONED__"].last_modified == late


def test_an_update_assigning_a_float_is_an_assignment_not_a_nan_safe_comparison(wh):
    # `SET x = 1.5` parses as an equality: rewritten as BigQuery's NaN-aware comparison it was no SQL at all
    wh.execute("CREATE TABLE ds.floats (id INT64, x FLOAT64); INSERT INTO ds.floats VALUES (1, 2.5), (2, 3.5)")
    wh.execute("UPDATE ds.floats SET x = -1.5 WHERE x = 2.5")
    assert wh.query("SELECT id, x FROM ds.floats ORDER BY id").values.tolist() == [[1, -1.5], [2, 3.5]]
    wh.execute("MERGE ds.floats T USING (SELECT 2 AS id) S ON T.id = S.id WHEN MATCHED THEN UPDATE SET x = 0.5")
    assert one(wh, "SELECT x FROM ds.floats WHERE id = 2") == 0.5


def test_div_divides_all_of_each_argument(wh):
    # DIV(X, Y) is integer division of all of X by all of Y, rounding toward zero; DuckDB's `//` binds
    # tighter than `-` and `+`, so the arguments keep their parentheses
    assert wh.query("SELECT DIV(k - 1, 10) AS a, DIV(k - 0, 10) * 10 AS b, DIV(20, 2 + 3) AS c, DIV(-20, 3) AS d "
                    "FROM UNNEST([5, 15, 25]) AS k ORDER BY k").values.tolist() == [
        [0, 0, 4, -6], [1, 10, 4, -6], [2, 20, 4, -6]]
    with pytest.raises(Exception, match="division by zero"):
        wh.query("SELECT DIV(7, 0)")


BIGNUMERIC_TOO_WIDE = r"the sandbox's BIGNUMERIC holds 18 decimal places and 20 integer digits .*use target=gcp"


@pytest.mark.parametrize("sql", [
    "SELECT BIGNUMERIC '1.1234567890123456789' AS x", "SELECT BIGNUMERIC '-123456789012345678901.5' AS x",
    "SELECT CAST('1.1234567890123456789' AS BIGNUMERIC) AS x",
    "SELECT CAST(s AS BIGNUMERIC) AS x FROM UNNEST(['1.5', '1.1234567890123456789']) AS s",
    "SELECT SAFE_CAST(s AS BIGNUMERIC) AS x FROM UNNEST(['123456789012345678901']) AS s",
    # At run time: a FLOAT64 is its exact binary value (0.1 is 0.1000000000000000055511151231257827021 as BigQuery
    # casts it, conversion rules page), too wide; so is one of 21 integer digits, a NUMERIC of 24, and DuckDB's
    # product of two BIGNUMERICs with 20 decimal places.
    "SELECT CAST(x AS BIGNUMERIC) AS x FROM UNNEST([0.5, 0.1]) AS x",
    "SELECT CAST(x AS BIGNUMERIC) AS x FROM UNNEST([1e25]) AS x",
    "SELECT CAST(x AS BIGNUMERIC) AS x FROM UNNEST([NUMERIC '123456789012345678901234.5']) AS x",
    "SELECT CAST(x * x AS BIGNUMERIC) AS x FROM UNNEST([BIGNUMERIC '0.0000000001']) AS x",
])
def test_bignumeric_wider_than_the_sandbox_holds_is_refused_not_rounded(wh, sql):
    # BigQuery's BIGNUMERIC holds 38 decimal places; the sandbox's is DECIMAL(38, 18) (typenames.py). A literal is
    # refused as the SQL is translated (UnsupportedSQL); a STRING as it is cast, by ERROR() as other runtime casts.
    with pytest.raises(RunbookError, match=BIGNUMERIC_TOO_WIDE):
        wh.query(sql)


def test_bignumeric_the_sandbox_holds_is_exact(wh):
    widest = "12345678901234567890.123456789012345678"
    assert str(one(wh, f"SELECT BIGNUMERIC '{widest}'")) == widest
    assert str(one(wh, f"SELECT CAST(s AS BIGNUMERIC) FROM UNNEST(['{widest}0000']) AS s")) == widest
    assert str(one(wh, "SELECT BIGNUMERIC '1.50'")).rstrip("0") == "1.5"
    # What the sandbox holds exactly is cast at run time as BigQuery casts it: a FLOAT64 of few binary places,
    # a NUMERIC of 20 integer digits, an INT64, NULL.
    assert str(one(wh, "SELECT CAST(x AS BIGNUMERIC) FROM UNNEST([1.25]) AS x")).rstrip("0") == "1.25"
    assert str(one(wh, "SELECT CAST(x AS BIGNUMERIC) FROM UNNEST([NUMERIC '12345678901234567890.123456789']) AS x")) \
        .rstrip("0") == "12345678901234567890.123456789"
    assert one(wh, "SELECT CAST(x AS BIGNUMERIC) FROM UNNEST([7]) AS x") == 7
    assert one(wh, "SELECT CAST(x AS BIGNUMERIC) FROM UNNEST([CAST(NULL AS FLOAT64)]) AS x") is None


@pytest.mark.parametrize("partition_by", ["_PARTITIONDATE", "DATE(_PARTITIONTIME)",
                                          "TIMESTAMP_TRUNC(_PARTITIONTIME, HOUR)"])
def test_a_table_partitioned_by_ingestion_time_is_refused_not_left_unpartitioned(partition_by):
    # Partitioned tables doc (ingestion time): BigQuery partitions such a table by load time and serves the
    # _PARTITIONTIME / _PARTITIONDATE pseudocolumns; the sandbox has neither, and used to drop the clause.
    with pytest.raises(UnsupportedSQL, match=r"^The local warehouse cannot make a table partitioned by ingestion "
                                             r"time \(PARTITION BY .*_PARTITION.*\): .*use target=gcp\.$"):
        translate(f"CREATE TABLE ds.t (x INT64) PARTITION BY {partition_by}")


# JSON functions page, TO_JSON (https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions): a
# JSON value, encoded as TO_JSON_STRING encodes (JSON encodings) but wide numbers stay numbers unless
# stringify_wide_numbers=>TRUE, held as the JSON type holds it (members sorted, as the page's own
# STRUCT(12 AS purchases, TRUE AS inStock) -> {"inStock":true,"purchases":12}; the first of repeated keys).
TO_JSON_EXAMPLES = [
    ("STRUCT(12 AS purchases, TRUE AS inStock)", '{"inStock":true,"purchases":12}'),
    ("STRUCT(1 AS id, [10,20] AS coordinates)", '{"coordinates":[10,20],"id":1}'),
    ("9007199254740993", "9007199254740993"),
    ("9007199254740993, stringify_wide_numbers=>TRUE", '"9007199254740993"'),
    ("NUMERIC '123.56'", "123.56"), ("NUMERIC '123.56', stringify_wide_numbers=>TRUE", '"123.56"'),
    ("STRUCT(1 AS a, 2 AS a)", '{"a":1}'),
    # [ZetaSQL] a FLOAT64 becomes a JSON double (to_json.cc), which the JSON type writes with `.0`
    ("STRUCT(TIMESTAMP '2017-03-06 12:34:56.789012' AS t, b'Google' AS b, CAST(1.0 AS FLOAT64) AS f)",
     '{"b":"R29vZ2xl","f":1.0,"t":"2017-03-06T12:34:56.789012Z"}'),
    ("CAST(NULL AS INT64)", "null"),
]


@pytest.mark.parametrize("argument,expected", TO_JSON_EXAMPLES)
def test_to_json_is_a_json_value_in_bigquerys_encoding(wh, argument, expected):
    assert one(wh, f"SELECT TO_JSON({argument})") == expected


def test_json_numbers_are_written_as_bigquerys_json_type_writes_them(wh):
    # [ZetaSQL] A JSON value keeps an integer as one and any other number as a double, and its text is
    # nlohmann::json's dump() (json_value.cc, JSONValue::ToString): the shortest digits, `.0` on an integral
    # double, an exponent (`e+NN`, at least two digits) outside [1e-4, 1e15). Compliance: functions_testlib_json.cc
    # spells JSON '1e100' as 1e+100 and DBL_MAX as 1.7976931348623157e+308; to_json(-0.0) is JSONValue(0.0).
    assert row(wh, "SELECT TO_JSON_STRING(JSON '{\"a\":1e20}'), TO_JSON_STRING(JSON '1e-5'), "
                   "TO_JSON_STRING(JSON '1.5e300'), TO_JSON_STRING(JSON '1e100'), TO_JSON_STRING(JSON '1e15'), "
                   "TO_JSON_STRING(JSON '[1.0, 2.50, 1E2, 1e14, 0.0001, 12, -0]')") == \
        ('{"a":1e+20}', "1e-05", "1.5e+300", "1e+100", "1e+15", "[1.0,2.5,100.0,100000000000000.0,0.0001,12,0]")
    assert row(wh, "SELECT TO_JSON_STRING(TO_JSON(STRUCT(1.0 AS x, 2 AS y))), TO_JSON_STRING(TO_JSON(100.0)), "
                   "TO_JSON_STRING(TO_JSON(CAST(-0.0 AS FLOAT64))), TO_JSON_STRING(TO_JSON([1e20, 0.5]))") == \
        ('{"x":1.0,"y":2}', "100.0", "0.0", "[1e+20,0.5]")


def test_json_double_text_is_nlohmanns_format_at_every_boundary():
    from runbook_lib.local.bigquery.json_text import json_double_text
    # nlohmann's format_buffer: fixed for a decimal point at -4 < n <= 15, else d.igits e+NN
    assert [json_double_text(v) for v in (1e15 - 1, 1e15, 1.2345678901234568e+29, 1e-4, 9.9e-5, -1.5, 5e-324,
                                          -1.7976931348623157e308)] == \
        ["999999999999999.0", "1e+15", "1.2345678901234568e+29", "0.0001", "9.9e-05", "-1.5", "5e-324",
         "-1.7976931348623157e+308"]


def test_to_json_is_typed_json_for_the_functions_that_read_it(wh):
    # A JSON value, not a STRING: TO_JSON_STRING writes it as JSON (not as a quoted string), JSON_TYPE reads it.
    assert one(wh, "SELECT TO_JSON_STRING(TO_JSON(STRUCT(2 AS b, 1 AS a)))") == '{"a":1,"b":2}'
    assert one(wh, "SELECT JSON_TYPE(TO_JSON(STRUCT(2 AS b)))") == "object"
    assert one(wh, "SELECT JSON_TYPE(TO_JSON('x'))") == "string"


# Data types doc, "Constructing a STRUCT": a tuple's fields, and a STRUCT's written positionally, are named by
# context; in an array the elements' supertype takes the first element's names. (Found by a differential probe of
# the NUMERIC typing: a nested positional field read NULL.)
def test_tuples_in_an_array_of_structs_take_the_first_elements_field_names(wh):
    rows = wh.query("SELECT * FROM UNNEST([STRUCT(1 AS a, 'x' AS b), (2, 'y'), STRUCT(3, 'z')])")
    assert rows.to_dict("records") == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}]
    aliased = wh.query("SELECT x.b, o FROM UNNEST([STRUCT(1 AS a, 'x' AS b), (2, 'y')]) AS x WITH OFFSET AS o "
                       "ORDER BY o")
    assert aliased.to_dict("records") == [{"b": "x", "o": 0}, {"b": "y", "o": 1}]


def test_a_nested_positional_struct_in_an_array_takes_the_first_elements_field_names(wh):
    wh.execute("CREATE OR REPLACE TABLE ds.nested AS SELECT * FROM UNNEST([STRUCT(STRUCT(1 AS a) AS s, 5 AS t), "
               "(STRUCT(2), 6), STRUCT(STRUCT(3), 7)])")
    assert dict(wh.table_info("ds.nested").columns) == {"s": "STRUCT<a INT64>", "t": "INT64"}
    assert wh.query("SELECT s.a, t FROM ds.nested ORDER BY t").to_dict("records") == [
        {"a": 1, "t": 5}, {"a": 2, "t": 6}, {"a": 3, "t": 7}]


@pytest.mark.parametrize("sql", ["SELECT PARSE_NUMERIC('1.5')", "SELECT NO_SUCH_FN(1)",
                                 "SELECT NO_SUCH_AGG(x) FROM UNNEST([1]) AS x"])
def test_a_function_the_sandbox_lacks_is_refused_in_one_sentence_as_bigquery_words_it(wh, sql):
    """DuckDB's raw CatalogException ("Scalar Function with name parse_numeric does not exist! Did you mean
    parse_dirname?") named a DuckDB function as the fix."""
    name = re.search(r"SELECT (\w+)\(", sql).group(1).lower()
    with pytest.raises(WarehouseQueryError) as refused:
        wh.query(sql)
    said = str(refused.value)
    assert said.startswith(f"The query was refused: Function not found: {name} (") and said.count(". ") == 0
    assert "Did you mean" not in said and "target=gcp" in said


def test_an_array_of_structs_unnested_with_offset_and_no_alias_gives_its_fields_and_the_offset(wh):
    rows = wh.query("SELECT a, b, o FROM UNNEST([STRUCT(1 AS a, 'x' AS b), (2, 'y')]) WITH OFFSET AS o ORDER BY o")
    assert rows.to_dict("records") == [{"a": 1, "b": "x", "o": 0}, {"a": 2, "b": "y", "o": 1}]


# Query syntax, "UNNEST operator": for input arrays of STRUCTs, "a separate column for each field" - also where
# the array is a table's column or a CTE's, whose type is not in the SQL (struct_unnests.py). DuckDB gave one
# STRUCT column (`SELECT *` a column `unnest`) and refused a field by name ("column a not found").
@pytest.fixture(scope="module")
def arrays(wh):
    wh.execute("""CREATE TABLE ds.games (k INT64, arr ARRAY<STRUCT<a INT64, b STRING>>, ints ARRAY<INT64>);
                  INSERT INTO ds.games VALUES (1, [STRUCT(1 AS a, 'x' AS b), STRUCT(2 AS a, 'y' AS b)], [5, 6]),
                                              (2, [], [7])""")
    return wh


def test_unnest_of_a_struct_array_column_gives_its_fields(arrays):
    wh = arrays
    flat = wh.query("SELECT * EXCEPT (arr, ints) FROM ds.games, UNNEST(games.arr) ORDER BY a")
    assert flat.to_dict("records") == [{"k": 1, "a": 1, "b": "x"}, {"k": 1, "a": 2, "b": "y"}]
    assert list(wh.query("SELECT * FROM ds.games AS g, UNNEST(arr)").columns) == ["k", "arr", "ints", "a", "b"]
    # a correlated subquery's UNNEST reads the outer query's column; EXISTS and LEFT JOIN too
    assert wh.query("SELECT k, (SELECT SUM(a) FROM UNNEST(arr)) AS s FROM ds.games ORDER BY k").s.tolist()[0] == 3
    assert wh.query("SELECT k FROM ds.games WHERE EXISTS (SELECT 1 FROM UNNEST(arr) WHERE b = 'y')").k.tolist() == [1]
    left = wh.query("SELECT k, a FROM ds.games LEFT JOIN UNNEST(arr) ORDER BY k, a")
    assert [(r.k, None if pd.isna(r.a) else r.a) for r in left.itertuples()] == [(1, 1), (1, 2), (2, None)]
    offsets = wh.query("SELECT b, offset FROM ds.games, UNNEST(arr) WITH OFFSET ORDER BY offset")
    assert offsets.to_dict("records") == [{"b": "x", "offset": 0}, {"b": "y", "offset": 1}]


@pytest.mark.parametrize("sql", [
    "WITH g AS (SELECT k, arr AS rows FROM ds.games) SELECT a FROM g, UNNEST(rows) ORDER BY a",
    "SELECT a FROM (SELECT k, arr FROM ds.games) AS sub, UNNEST(sub.arr) ORDER BY a",
    "WITH g AS (SELECT ARRAY_AGG(STRUCT(k AS a, 'z' AS b)) AS rows FROM ds.games) SELECT a FROM g, UNNEST(rows) "
    "ORDER BY a",
    "SELECT a FROM UNNEST(ARRAY(SELECT AS STRUCT k AS a FROM ds.games)) ORDER BY a",
    "SELECT a FROM UNNEST(CAST([(1, 'x'), (2, 'y')] AS ARRAY<STRUCT<a INT64, b STRING>>)) ORDER BY a",
    # ARRAY_AGG of a STRUCT column (its type from the table) is an array of STRUCTs as well
    "WITH s AS (SELECT STRUCT(k AS a, 'z' AS b) AS one FROM ds.games), g AS (SELECT ARRAY_AGG(one) AS rows FROM s) "
    "SELECT a FROM g, UNNEST(g.rows) ORDER BY a",
])
def test_unnest_of_a_struct_array_from_a_cte_subquery_or_expression_gives_its_fields(arrays, sql):
    assert arrays.query(sql).a.tolist() == [1, 2]


def test_unnest_that_gives_one_column_still_does(arrays):
    wh = arrays
    # an alias names the element: a NULL where no element is, not a STRUCT of NULLs
    aliased = wh.query("SELECT k, s, s IS NULL AS none FROM ds.games LEFT JOIN UNNEST(arr) AS s ORDER BY k, s.a")
    assert list(aliased.columns) == ["k", "s", "none"] and aliased.none.tolist() == [False, False, True]
    assert list(wh.query("SELECT * FROM ds.games, UNNEST(ints)").columns)[-1] != "a"
    assert sorted(wh.query("SELECT i FROM ds.games, UNNEST(ints) AS i").i.tolist()) == [5, 6, 7]


def test_select_star_over_an_aliased_unnest_of_structs_gives_their_fields(arrays):
    # Query syntax, "UNNEST and structs": `SELECT *, struct_value FROM UNNEST(...) AS struct_value` gives the fields,
    # then the STRUCT; here the star over an aliased UNNEST of a column gave one STRUCT column, `s`
    wh = arrays
    assert list(wh.query("SELECT * FROM ds.games, UNNEST(arr) AS s").columns) == ["k", "arr", "ints", "a", "b"]
    got = wh.query("SELECT * EXCEPT (arr, ints, b), s FROM ds.games LEFT JOIN UNNEST(arr) AS s ORDER BY k, a")
    assert list(got.columns) == ["k", "a", "s"]
    assert [(r.k, None if pd.isna(r.a) else r.a, r.s) for r in got.itertuples()] == \
        [(1, 1, {"a": 1, "b": "x"}), (1, 2, {"a": 2, "b": "y"}), (2, None, None)]
    assert wh.query("SELECT * FROM (SELECT * FROM ds.games, UNNEST(arr) AS s) WHERE b = 'y'").a.tolist() == [2]
    # not the last source, or WITH OFFSET: left as it was (the fields' place among the columns would differ)
    assert "s" in wh.query("SELECT * FROM ds.games, UNNEST(arr) AS s WITH OFFSET").columns


def test_a_result_column_without_a_name_is_f0_f1_as_bigquery_names_it(wh):
    # BigQuery names an expression with no alias f0_, f1_, ... in the order of such columns; DuckDB by its SQL
    # (`count_star()`), so `df["f0_"]` worked on gcp alone
    counted = wh.query("SELECT v, COUNT(*), MAX(id) FROM ds.t GROUP BY v ORDER BY v NULLS LAST")
    assert list(counted.columns) == ["v", "f0_", "f1_"]
    assert list(wh.query("SELECT 1 UNION ALL SELECT 2").columns) == ["f0_"]
    assert list(wh.query("SELECT id, x * 2, d AS day FROM ds.t").columns) == ["id", "f0_", "day"]
    # a query that names a column f0_ itself is left as it is (an alias would shadow it)
    assert list(wh.query("SELECT 1 AS f0_, 2 AS f1_").columns) == ["f0_", "f1_"]


# ------------------------------------------------------------------------------------------ documented examples
# GoogleSQL's own function and operator docs (the ZetaSQL docs BigQuery shares; /work/probes/zsql_*), where the
# sandbox gave another answer than the docs print.

def test_timestamp_diff_counts_whole_units_and_date_diff_boundaries(wh):
    # timestamp_functions: "the result is 0 because only the number of whole specified HOUR intervals are included"
    assert row(wh, "SELECT TIMESTAMP_DIFF(TIMESTAMP '2001-02-01 01:00:00+00', TIMESTAMP '2001-02-01 00:00:01+00', "
                   "HOUR), TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00+00', TIMESTAMP '2008-12-25 15:30:00+00', "
                   "HOUR), "
                   "TIMESTAMP_DIFF(TIMESTAMP '2001-02-02 00:00:00+00', TIMESTAMP '2001-02-01 23:00:00+00', DAY), "
                   "TIMESTAMP_DIFF('2001-02-01 00:00:00.9', '2001-02-01 00:00:02.1', SECOND), "
                   "DATE_DIFF(DATE '2017-10-15', DATE '2017-10-14', WEEK)") == (0, 13410, 0, -1, 1)


def test_unix_seconds_and_millis_round_down(wh):
    assert row(wh, "SELECT UNIX_SECONDS(TIMESTAMP '1970-01-01 00:00:01.8+00'), "
                   "UNIX_MILLIS(TIMESTAMP '1970-01-01 00:00:00.0018+00'), "
                   "UNIX_SECONDS(TIMESTAMP '1969-12-31 23:59:59.7+00'), "
                   "UNIX_MILLIS(TIMESTAMP '2024-01-01 00:00:00.9999+00')") == (1, 1, -1, 1704067200999)


def test_epoch_conversions_are_dates_and_instants(wh):
    assert row(wh, "SELECT CAST(DATE_FROM_UNIX_DATE(14238) AS STRING), "
                   "CAST(TIMESTAMP_MILLIS(1230219000000) AS STRING), "
                   "CAST(TIMESTAMP_MICROS(1230219000000000) AS STRING), "
                   "EXTRACT(HOUR FROM TIMESTAMP_MILLIS(1230249600000) AT TIME ZONE 'America/Los_Angeles'), "
                   "CAST(EXTRACT(DATE FROM TIMESTAMP_MILLIS(1230249600000) AT TIME ZONE 'America/Los_Angeles') "
                   "AS STRING)") == \
        ("2008-12-25", "2008-12-25 15:30:00+00", "2008-12-25 15:30:00+00", 16, "2008-12-25")
    assert one(wh, "SELECT CAST(GENERATE_TIMESTAMP_ARRAY('2016-10-05 00:00:00', '2016-10-05 02:00:00', "
                   "INTERVAL 1 HOUR)[OFFSET(1)] AS STRING)") == "2016-10-05 01:00:00+00"


def test_array_slice_counts_offsets_from_zero_and_negatives_from_the_end(wh):
    slices = row(wh, "SELECT ARRAY_SLICE(['a','b','c','d','e'], 1, 3), ARRAY_SLICE(['a','b','c','d','e'], 1, -3), "
                     "ARRAY_SLICE(['a','b','c','d','e'], 0, 0), ARRAY_SLICE(['a','b','c','d','e'], -3, -1), "
                     "ARRAY_SLICE(['a','b','c','d','e'], 5, 30)")
    assert [list(s) for s in slices] == [["b", "c", "d"], ["b", "c"], ["a"], ["c", "d", "e"], []]


def test_a_bare_subscript_is_an_arrays_offset_and_a_json_arrays_element_from_zero(wh):
    wh.execute("CREATE TABLE ds.payloads (id INT64, payload JSON, tags ARRAY<STRING>); INSERT INTO ds.payloads "
               "VALUES (1, JSON '{\"items\": [{\"id\": 10}, {\"id\": 20}]}', ['x', 'y'])")
    # operators doc, "JSON subscript operator": [0] is the first element; past the end NULL
    assert row(wh, "SELECT JSON_VALUE(payload.items[0].id), JSON_VALUE(payload.items[1].id), "
                   "payload.items[5] IS NULL, "
                   "tags[1] FROM ds.payloads") == ("10", "20", True, "y")
    assert row(wh, "SELECT JSON_VALUE(j.a[0]), JSON_VALUE(j['a'][2]) "
                   "FROM UNNEST([JSON '{\"a\":[10,20,30]}']) AS j") \
        == ("10", "30")
    # "Array subscript operator": array[index] is array[OFFSET(index)], an error outside the array
    for sql in ("SELECT ['coffee', 'tea', 'milk'][6]", "SELECT tags[2] FROM ds.payloads",
                "SELECT tags[-1] FROM ds.payloads"):
        with pytest.raises(WarehouseQueryError, match="out of bounds"):
            wh.query(sql)


def test_cast_to_string_with_a_format_follows_the_format_elements(wh):
    assert row(wh, "SELECT CAST(d AS STRING FORMAT 'YYYY/MM/DD'), CAST(d AS STRING FORMAT 'DAY'), "
                   "CAST(d AS STRING FORMAT 'Day, DD Mon YYYY'), "
                   "CAST(ts AS STRING FORMAT 'YYYY-MM-DD HH24:MI:SS.FF3'), "
                   "CAST(ts AS STRING FORMAT 'HH12 AM') FROM ds.t WHERE id = 2") == \
        ("2024/01/13", "SATURDAY", "Saturday, 13 Jan 2024", "2024-01-13 23:30:00.000", "11 PM")
    with pytest.raises(UnsupportedSQL, match="999.99"):
        wh.query("SELECT CAST(1.5 AS STRING FORMAT '999.99')")


def test_strings_and_bytes_cast_as_utf8(wh):
    assert row(wh, r"SELECT CAST('Jokić' AS BYTES), CAST(r'C:\x41' AS BYTES), TO_BASE64(CAST('Jokić' AS BYTES)), "
                   "CAST(CAST('Jokić' AS BYTES) AS STRING), LENGTH(CAST('абвгд' AS BYTES))") == \
        (b"Joki\xc4\x87", b"C:\\x41", "Sm9racSH", "Jokić", 10)


def test_safe_cast_of_bytes_that_are_not_utf8_to_string_is_null(wh):
    # conversion functions doc (SAFE_CAST) and compliance functions_testlib_cast.cc: CAST(b'\xd7' AS STRING) fails,
    # SAFE_CAST gives NULL; DuckDB's DECODE failed the query under SAFE_CAST too
    assert wh.query_arrow("SELECT SAFE_CAST(b AS STRING) AS s FROM UNNEST([b'ok', b'\\xd7', b'Joki\\xc4\\x87']) AS b "
                          "WITH OFFSET o ORDER BY o").column("s").to_pylist() == ["ok", None, "Jokić"]
    with pytest.raises(WarehouseQueryError, match="UTF8"):
        wh.query("SELECT CAST(b'\\xd7' AS STRING)")


@pytest.mark.parametrize("sql", ["LN(0)", "LOG10(0)", "ACOS(2)", "COT(0)", "LOG(8, 1)"])
def test_math_outside_its_domain_fails_and_is_null_under_safe(wh, sql):
    # mathematical functions doc: each "Generates an error"; DuckDB's IEEE answer was -inf or NaN
    with pytest.raises(WarehouseQueryError, match="Floating point error"):
        wh.query(f"SELECT {sql}")
    assert one(wh, f"SELECT SAFE.{sql} IS NULL") is True   # (NULL, not NaN: pandas would show both as NaN)


def test_corr_of_fewer_than_two_pairs_is_null(wh):
    # (IS NULL: pandas shows NaN and NULL alike)
    assert one(wh, "SELECT CORR(y, x) IS NULL FROM UNNEST([STRUCT(1.0 AS y, NULL AS x), (9.0, 3.0)])") is True
    windowed = wh.query("SELECT g, CORR(y, x) OVER (PARTITION BY g) AS c, "
                        "CORR(y, x) OVER (PARTITION BY g) IS NULL AS n "
                        "FROM UNNEST([STRUCT(1 AS g, 1.0 AS y, 2.0 AS x), (1, 2.0, 3.0), (2, 1.0, 1.0)]) ORDER BY g")
    assert windowed.c.tolist()[:2] == [1.0, 1.0] and windowed.n.tolist() == [False, False, True]


def test_a_time_zone_can_be_an_offset_from_utc(wh):
    assert row(wh, "SELECT CAST(DATE(TIMESTAMP '2024-01-01 20:00:00+00', '+05:30') AS STRING), "
                   "CAST(TIMESTAMP('2024-01-01 00:00', '+05:30') AS STRING), "
                   "CAST(DATETIME(TIMESTAMP '2024-01-01 00:00:00+00', '-08') AS STRING), "
                   "FORMAT_TIMESTAMP('%F %T %Ez', TIMESTAMP '2024-01-01 00:00:00+00', '-08:00'), "
                   "CAST(DATETIME(DATE '2024-01-01', TIME '10:00:00') AS STRING)") == \
        ("2024-01-02", "2023-12-31 18:30:00+00", "2023-12-31 16:00:00", "2023-12-31 16:00:00 -08:00",
         "2024-01-01 10:00:00")


def test_a_set_operations_struct_columns_are_matched_by_position_and_named_by_the_first_branch(wh):
    # operators doc's Items table, and conversion rules' "Supertypes": a STRUCT supertype by field position
    rows = wh.query("SELECT info.color, info.shape FROM (SELECT STRUCT('blue' AS color, 'round' AS shape) AS info "
                    "UNION ALL SELECT STRUCT('blue', 'square') UNION ALL SELECT STRUCT(3 AS shape, 4 AS color)) "
                    "ORDER BY 2")
    assert rows.values.tolist() == [["3", "4"], ["blue", "round"], ["blue", "square"]]
    assert wh.query("SELECT * FROM UNNEST([STRUCT(1 AS a, 'x' AS b), STRUCT(2 AS b, 'y' AS a)]) ORDER BY a"
                    ).values.tolist() == [[1, "x"], [2, "y"]]


def test_current_date_and_time_are_functions_in_the_zone_asked_for(wh):
    # DuckDB's bare CURRENT_DATE bound to an alias of the same name; CURRENT_DATETIME(zone) ignored the zone
    assert list(wh.query("SELECT CAST(CURRENT_DATE() AS STRING) AS current_date, "
                         "CURRENT_TIMESTAMP() AS current_timestamp").columns) == \
        ["current_date", "current_timestamp"]
    hours = one(wh, "SELECT DATETIME_DIFF(CURRENT_DATETIME('+05:00'), CURRENT_DATETIME('-03:00'), MINUTE)")
    assert hours in (480, 479)


def test_update_set_default_sets_the_columns_default(wh):
    wh.execute("CREATE TABLE ds.inventory (product STRING, quantity INT64, supply_constrained BOOL); "
               "INSERT INTO ds.inventory VALUES ('top load washer', 20, true), ('oven', 5, true)")
    wh.execute("UPDATE ds.inventory SET quantity = quantity - 10, supply_constrained = DEFAULT "
               "WHERE product LIKE '%washer%'")
    assert one(wh, "SELECT supply_constrained IS NULL FROM ds.inventory WHERE product = 'top load washer'") is True


def test_select_star_follows_bigquerys_column_order_for_using_and_unpivot(wh):
    # query syntax: USING's columns first; UNPIVOT's name column after its values
    wh.execute("CREATE TABLE ds.roster (last_name STRING, school_id INT64); "
               "INSERT INTO ds.roster VALUES ('Adams', 50);"
               "CREATE TABLE ds.mascots (school_id INT64, mascot STRING); "
               "INSERT INTO ds.mascots VALUES (50, 'Jaguars')")
    assert list(wh.query("SELECT * FROM ds.roster JOIN ds.mascots USING (school_id)").columns) == \
        ["school_id", "last_name", "mascot"]
    wh.execute("CREATE TABLE ds.with_mascots (school_id INT64, last_name STRING, mascot STRING); "
               "INSERT INTO ds.with_mascots SELECT * FROM ds.roster JOIN ds.mascots USING (school_id)")
    assert wh.query("SELECT * FROM ds.with_mascots").values.tolist() == [[50, "Adams", "Jaguars"]]
    unpivoted = wh.query("SELECT * FROM (SELECT 'kale' AS product, 51 AS Q1, 23 AS Q2) "
                         "UNPIVOT(sales FOR quarter IN (Q1, Q2)) ORDER BY quarter")
    assert list(unpivoted.columns) == ["product", "sales", "quarter"]
    assert unpivoted.values.tolist() == [["kale", 51, "Q1"], ["kale", 23, "Q2"]]


def test_unnest_of_a_struct_array_from_a_union_cte_gives_its_fields(arrays):
    # (a set operation's columns are its first branch's)
    assert arrays.query("WITH s AS (SELECT 1 AS id, [STRUCT(0 AS a, 1 AS b)] AS nums UNION ALL "
                        "SELECT 2, [STRUCT(5, 6)]) "
                        "SELECT id FROM s WHERE EXISTS (SELECT 1 FROM UNNEST(nums) WHERE b > 3)"
                        ).id.tolist() == [2]


def test_byte_length_format_time_and_the_format_elements_duckdb_spells_otherwise(wh):
    assert row(wh, "SELECT BYTE_LENGTH('Jokić'), BYTE_LENGTH(b'ab'), FORMAT_TIME('%R', TIME '15:30:00'), "
                   "FORMAT_DATE('%D', DATE '2024-03-04'), "
                   "FORMAT_TIMESTAMP('%F%t%T', TIMESTAMP '2024-03-04 05:06:07+00'), "
                   "FORMAT_DATETIME('%E4Y', DATETIME '2024-01-01 00:00:00')") == \
        (6, 2, "15:30", "03/04/24", "2024-03-04\t05:06:07", "2024")


def test_unicode_of_the_empty_string_is_zero(wh):
    # string functions doc, UNICODE: "Returns 0 if value is empty, or if the resulting Unicode code point is 0"
    assert row(wh, "SELECT UNICODE(''), UNICODE('âbcd'), UNICODE('\\u0000x'), UNICODE(CAST(NULL AS STRING))") == \
        (0, 226, 0, None)


@pytest.mark.parametrize("source, written", [("'aa'", '"a"'), ("'ab\\nd\\n'", '"\\n"'), ("'ab\"d\"'", "'\"'"),
                                             ("\"ab'd'\"", '"\'"')])
def test_translate_refuses_a_source_character_written_twice(wh, source, written):
    # compliance functions_testlib_string_1.cc: `Duplicate character "a" in TRANSLATE source characters`, the character
    # as a string literal; DuckDB maps it by its first place
    message = f"Duplicate character {written} in TRANSLATE source characters"
    for sql in (f"SELECT TRANSLATE('unused', {source}, 'vwxyz')",
                f"SELECT TRANSLATE('unused', s, 'vwxyz') FROM UNNEST([{source}]) AS s"):
        with pytest.raises(WarehouseQueryError) as caught:
            wh.query(sql)
        assert message in str(caught.value)
    nulls = f"SELECT SAFE.TRANSLATE('unused', {source}, 'vwxyz'), TRANSLATE(NULL, {source}, 'v')"
    assert row(wh, nulls) == (None, None)
    # ... and a source without a repeat still maps each character once
    assert row(wh, "SELECT TRANSLATE('ababbce', 'ab', 'ba'), TRANSLATE('abcab', s, 'xyz') FROM UNNEST(['bca']) AS s") \
        == ("babaace", "zxyzx")


def test_initcap_with_a_columns_empty_delimiters_capitalises_only_the_first_character(wh):
    # string functions doc, INITCAP: the delimiters given replace the default ones; none given, no word but the first
    rows = wh.query("SELECT INITCAP(x, d) AS c FROM UNNEST([STRUCT('aB cD-e' AS x, '' AS d), ('aB cD-e', ' -'), "
                    "('aB cD-e', ']'), ('aB cD-e', NULL)]) ORDER BY d NULLS LAST").c.tolist()
    assert [None if v is None or v != v else v for v in rows] == ["Ab cd-e", "Ab Cd-E", "Ab cd-e", None]
    assert row(wh, "SELECT INITCAP('aB cD-e', '')") == ("Ab cd-e",)


def test_ascii_refuses_a_string_whose_first_character_is_not_ascii(wh):
    # ZetaSQL's FirstCharOfStringToASCII; DuckDB's ASCII gives the code point
    for sql in ("SELECT ASCII('été')", "SELECT ASCII(s) FROM UNNEST(['a', 'ü']) AS s"):
        with pytest.raises(WarehouseQueryError, match="Argument to ASCII is not a structurally valid ASCII string"):
            wh.query(sql)
    assert row(wh, "SELECT ASCII('abc'), ASCII(''), ASCII(CHR(127)), SAFE.ASCII('é'), ASCII(CAST(NULL AS STRING))") \
        == (97, 0, 127, None, None)


def test_upper_and_lower_map_a_character_to_several_as_bigquery(wh):
    # ZetaSQL's UpperUtf8 and LowerUtf8: ICU's full case mapping in the root locale; DuckDB's maps one to one
    assert row(wh, "SELECT UPPER('straße'), UPPER('ﬁx'), LOWER('ΟΔΟΣ ΣΑΣ'), LOWER('İ'), UPPER('abc'), "
                   "LOWER(CAST(NULL AS STRING))") == ("STRASSE", "FIX", "οδος σας", "i\u0307", "ABC", None)
    assert wh.query("SELECT UPPER(s) AS u, LOWER(s) AS l FROM UNNEST(['Maß', 'ΣΑΣ', 'plain']) AS s "
                    "WITH OFFSET AS o ORDER BY o").to_dict("records") == [
        {"u": "MASS", "l": "maß"}, {"u": "ΣΑΣ", "l": "σας"}, {"u": "PLAIN", "l": "plain"}]


def test_a_difference_of_dates_or_times_is_an_interval(wh):
    # operators doc, "Date arithmetics operators": 0-0 396 0:0:0 and 0-0 0 36:34:56.789
    assert row(wh, "SELECT EXTRACT(DAY FROM DATE '2021-05-20' - DATE '2020-04-19'), "
                   "EXTRACT(HOUR FROM TIMESTAMP '2021-06-01 12:34:56.789' - TIMESTAMP '2021-05-31 00:00:00'), "
                   "EXTRACT(DAY FROM TIMESTAMP '2021-06-01 12:34:56.789' - TIMESTAMP '2021-05-31 00:00:00'), "
                   "EXTRACT(HOUR FROM DATETIME '2021-06-01 12:00:00' - DATETIME '2021-05-31 00:00:00')") == \
        (396, 36, 0, 36)
    # ... also of columns, by the table's types; a DATE minus a number of days stays a DATE
    assert row(wh, "SELECT EXTRACT(DAY FROM MAX(d) - MIN(d)), CAST(MAX(d) - 1 AS STRING) FROM ds.t") == \
        (6, "2024-01-12")
    # ... and of an array's elements: an UNNEST's alias of an ARRAY<DATE> literal or column is a DATE
    assert row(wh, "SELECT EXTRACT(DAY FROM e - DATE '2024-01-01') FROM UNNEST([DATE '2024-01-03']) AS e") == (2,)
    assert row(wh, "SELECT EXTRACT(DAY FROM MAX(e) - MIN(e)) FROM (SELECT ARRAY_AGG(d) AS ds FROM ds.t), "
                   "UNNEST(ds) AS e") == (6,)


def test_string_of_a_timestamp_in_a_zone_keeps_the_zones_offset(wh):
    assert row(wh, "SELECT STRING(TIMESTAMP '2008-12-25 15:30:00+00', 'UTC'), "
                   "STRING(TIMESTAMP '2008-12-25 15:30:00+00', 'America/Los_Angeles'), "
                   "STRING(TIMESTAMP '2008-12-25 15:30:00.120+00', 'Asia/Kolkata')") == \
        ("2008-12-25 15:30:00+00", "2008-12-25 07:30:00-08", "2008-12-25 21:00:00.12+05:30")


def test_malformed_json_text_is_null_to_the_json_functions(wh):
    # json functions doc: an invalid JSON-formatted STRING gives NULL (DuckDB failed the whole query)
    assert row(wh, "SELECT JSON_EXTRACT_SCALAR('not json', '$.a') IS NULL, "
                   "JSON_VALUE('{\"a\": 1, \"b\": ', '$.b') IS NULL, "
                   "JSON_QUERY('{\"a\": [1, 2', '$.a') IS NULL, JSON_VALUE_ARRAY('}}', '$') IS NULL, "
                   "JSON_VALUE('{\"a\": 1}', '$.a'), JSON_VALUE(JSON '{\"a\": 2}', '$.a')") == \
        (True, True, True, True, "1", "2")


def test_string_of_json_is_its_string_value(wh):
    assert row(wh, "SELECT STRING(JSON '\"purple\"'), STRING(j.name) = 'Ann' "
                   "FROM (SELECT JSON '{\"name\": \"Ann\"}' AS j)") == ("purple", True)


@pytest.mark.parametrize("sql", ["SELECT 'abc", "SELECT `ds.t FROM x", "SELECT 1 /* open"])
def test_sql_left_open_is_refused_in_one_sentence(wh, sql):
    with pytest.raises(UnsupportedSQL, match=r"could not read this BigQuery SQL near .* is not closed"):
        wh.query(sql)


def test_json_array_extractors_are_null_where_the_path_finds_no_array_of_their_kind(wh):
    # json functions doc: "If a JSONPath matches an object that isn't an array, then the output is NULL", and
    # JSON_VALUE_ARRAY's "array of non-scalar objects" is NULL too
    assert row(wh, "SELECT JSON_QUERY_ARRAY('{\"a\": \"foo\"}', '$.a') IS NULL, "
                   "JSON_VALUE_ARRAY('{\"a\": {\"b\": 1}}', '$.a') IS NULL, "
                   "JSON_VALUE_ARRAY('{\"a\": [{\"b\": 1}]}', '$.a') IS NULL, "
                   "ARRAY_LENGTH(JSON_QUERY_ARRAY('{\"a\": [1, {\"b\": 2}]}', '$.a')), "
                   "ARRAY_TO_STRING(JSON_VALUE_ARRAY('{\"a\": [1, \"x\"]}', '$.a'), ',')") == \
        (True, True, True, 2, "1,x")


def test_bit_operators_work_on_64_bits_and_right_shift_shifts_zeros_in(wh):
    # bit functions doc (BIT_COUNT(-1) is 64) and operators doc ("Bitwise operators")
    assert row(wh, "SELECT BIT_COUNT(-1), 1 << 40, 1 << 63, 3 << 62, 1 << 64, -8 >> 1, -1 >> 63, 8 >> 1") == \
        (64, 1099511627776, -9223372036854775808, -4611686018427387904, 0, 9223372036854775804, 1, 4)
    assert wh.query("SELECT x << 2 AS l, x >> 1 AS r FROM UNNEST([5, -5]) AS x ORDER BY x").values.tolist() == \
        [[-20, 9223372036854775805], [20, 2]]
    # a negative shift fails either way (compliance functions_testlib_2.cc: 0x5555 >> -1 is OUT_OF_RANGE; DuckDB's 0)
    for shift in ("<<", ">>"):
        with pytest.raises(WarehouseQueryError, match="shift by negative number -1"):
            wh.query(f"SELECT x {shift} -1 FROM UNNEST([21845]) AS x")


def test_json_set_encodes_a_sql_value_as_json(wh):
    # json functions doc, JSON_SET: a STRING value is a JSON string (DuckDB read '123' as the number 123)
    assert row(wh, "SELECT TO_JSON_STRING(JSON_SET(JSON '{}', '$.a', '123')), "
                   "TO_JSON_STRING(JSON_SET(JSON '[\"a\", [\"b\", \"c\"], \"d\"]', '$[1]', 'foo')), "
                   "TO_JSON_STRING(JSON_SET(JSON '{}', '$.b', 5))") == ('{"a":"123"}', '["a","foo","d"]', '{"b":5}')


def test_timestamp_literals_take_every_offset_form_bigquery_lists(wh):
    # lexical structure doc, "Timestamp literals": `+3`, ` -8:15`, a lowercase t and z
    assert row(wh, "SELECT CAST(TIMESTAMP '2017-01-28 12:00:00+3' AS STRING), "
                   "CAST(TIMESTAMP '2014-09-27 12:30:00 -8:15' AS STRING), "
                   "CAST(TIMESTAMP '2017-01-18t12:34:56z' AS STRING), CAST(TIMESTAMP '2014-09-27' AS STRING)") == \
        ("2017-01-28 09:00:00+00", "2014-09-27 20:45:00+00", "2017-01-18 12:34:56+00", "2014-09-27 00:00:00+00")


def test_json_object_over_columns_named_key_and_value_is_refused_not_empty(wh):
    # sqlglot reads them as KEY ... VALUE keywords and dropped both: the object was a silent {}
    with pytest.raises(UnsupportedSQL, match=r"JSON_OBJECT\(key, value\).*qualify them"):
        wh.query("SELECT JSON_OBJECT(key, value) FROM (SELECT 'hello' AS key, 'world' AS value)")
    assert row(wh, "SELECT TO_JSON_STRING(JSON_OBJECT()), TO_JSON_STRING(JSON_OBJECT(t.key, t.value)) "
                   "FROM (SELECT 'hello' AS key, 'world' AS value) AS t") == ("{}", '{"hello":"world"}')
