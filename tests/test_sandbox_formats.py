"""The sandbox warehouse on GoogleSQL's format elements (format-elements.md) and date ranges (data-types.md): CAST to
STRING with YY/YYY/RR, from a TIME and AT TIME ZONE; CAST from STRING to DATE, DATETIME, TIME and TIMESTAMP with
BigQuery's own elements and target type; DATE_ADD and the like past 9999-12-31. Expected values are the docs'
examples, and ZetaSQL's cast_date_time.cc where the docs leave a case open. (Found by the zsql_formats probe.)"""
from __future__ import annotations

import datetime as dt

import pytest

from runbook_lib.local.bigquery import UnsupportedSQL
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError
from sandbox_queries import iso_row, one_value, raised

pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

UTC = dt.UTC


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("formats") / "d.duckdb", project="p")
    w.create_dataset("ds")
    return w


def value(wh: LocalWarehouse, expression: str):
    return one_value(wh, f"SELECT {expression} AS v")


def failure(wh: LocalWarehouse, expression: str, error: type[Exception] = WarehouseQueryError) -> str:
    return raised(wh, f"SELECT {expression} AS v", error)


# ------------------------------------------------------------------------------------------
# CAST(... AS STRING FORMAT ...)

@pytest.mark.parametrize("fmt, want", [("YY", "18"), ("YYY", "018"), ("RR", "18"), ("DD/MM/YY", "30/01/18"),
                                       ("YYYY", "2018"), ("Y", "8")])
def test_yy_yyy_and_rr_format_the_last_digits_of_the_year(wh, fmt, want):
    """format-elements.md, "Format year part as string": YY is the year's last 2 digits (2018 -> 18); DuckDB's LPAD
    cut '2018' to '20'."""
    assert value(wh, f"CAST(DATE '2018-01-30' AS STRING FORMAT '{fmt}')") == want


def test_yy_of_a_column_is_the_last_two_digits(wh):
    assert value(wh, "(SELECT CAST(d AS STRING FORMAT 'DD.MM.YY') FROM UNNEST([DATE '1999-12-31']) d)") == "31.12.99"
    assert value(wh, "CAST(DATE '0005-01-01' AS STRING FORMAT 'YY YYY')") == "05 005"


@pytest.mark.parametrize("fmt, want", [("HH24", "21"), ("HH24:MI", "21:30"), ("HH12 AM", "09 PM"), ("MI", "30"),
                                       ("SS", "00"), ("SSSSS", "77400"), ("HH:MI P.M.", "09:30 P.M.")])
def test_a_time_formats_as_a_string(wh, fmt, want):
    """format-elements.md, "Format hour part as string" and on (TIME '21:30:00'); DuckDB failed "Unimplemented type
    for cast (TIME -> TIMESTAMP)"."""
    assert value(wh, f"CAST(TIME '21:30:00' AS STRING FORMAT '{fmt}')") == want


def test_a_time_column_and_its_fraction_format_as_a_string(wh):
    assert value(wh, "(SELECT CAST(t AS STRING FORMAT 'HH24:MI:SS.FF2') FROM UNNEST([TIME '01:02:03.456']) t)") == \
        "01:02:03.45"


def test_at_time_zone_formats_the_wall_clock_time_and_offset_in_the_zone(wh):
    """format-elements.md, "Format time zone part as string": TZH of TIMESTAMP '2008-12-25 00:00:00+00' AT TIME ZONE
    'Asia/Kolkata' is +05 and TZM 30; without a zone the sandbox formats in UTC."""
    ts = "TIMESTAMP '2008-12-25 00:00:00+00:00'"
    assert value(wh, f"CAST({ts} AS STRING FORMAT 'TZH' AT TIME ZONE 'Asia/Kolkata')") == "+05"
    assert value(wh, f"CAST({ts} AS STRING FORMAT 'TZM' AT TIME ZONE 'Asia/Kolkata')") == "30"
    assert value(wh, f"CAST({ts} AS STRING FORMAT 'YYYY-MM-DD HH24:MI TZH:TZM' AT TIME ZONE "
                     "'America/Los_Angeles')") == "2008-12-24 16:00 -08:00"
    assert value(wh, f"CAST({ts} AS STRING FORMAT 'HH24 TZH')") == "00 +00"


# ------------------------------------------------------------------------------------------
# CAST(string AS DATE | DATETIME | TIME | TIMESTAMP FORMAT ...)

@pytest.mark.parametrize("text, fmt, want", [
    ("03:30 P.M.", "HH:MI P.M.", dt.time(15, 30)),
    ("03:30 A.M.", "HH:MI P.M.", dt.time(3, 30)),
    ("03:30 P.M.", "HH:MI A.M.", dt.time(15, 30)),     # either indicator matches either spelling
    ("03:30 a.m.", "HH:MI a.m.", dt.time(3, 30)),
    ("12:30 a.m.", "HH12:MI A.M.", dt.time(0, 30)),
    ("03:30:02 P.M.", "HH:MI:SS P.M.", dt.time(15, 30, 2)),
    ("15:30", "HH24:MI", dt.time(15, 30)),
    ("03723", "SSSSS", dt.time(1, 2, 3)),
    ("01:05:07.16", "HH24:MI:SS.FF2", dt.time(1, 5, 7, 160000)),
    ("01:05:07.160", "HH24:MI:SS.FF3", dt.time(1, 5, 7, 160000)),
])
def test_a_string_parses_as_a_time_with_bigquerys_elements(wh, text, fmt, want):
    """format-elements.md, "Format string as hour / minute / second / meridian indicator part": sqlglot's strptime
    read 'HH:MI P.M.' as a morning time, SSSSS as a fraction and FF2 as literal text."""
    assert value(wh, f"CAST('{text}' AS TIME FORMAT '{fmt}')") == want


@pytest.mark.parametrize("text, fmt, want", [
    ("18-12-03", "YY-MM-DD", dt.date(2018, 12, 3)),
    ("018-12-03", "YYY-MM-DD", dt.date(2018, 12, 3)),
    ("38-12-03", "YY-MM-DD", dt.date(2038, 12, 3)),
    ("18-12-03", "RR-MM-DD", dt.date(2018, 12, 3)),
    ("50-12-03", "RR-MM-DD", dt.date(1950, 12, 3)),    # the nearest century, run before 2050
    ("DEC 03, 2018", "MON DD, YYYY", dt.date(2018, 12, 3)),
    ("DECEMBER 03, 2018", "MONTH DD, YYYY", dt.date(2018, 12, 3)),
    ("January 30, 2018", "Month DD, YYYY", dt.date(2018, 1, 30)),
    ("03-12-2018", "MM-DD-YYYY", dt.date(2018, 3, 12)),
    ("20180130", "YYYYMMDD", dt.date(2018, 1, 30)),
])
def test_a_string_parses_as_a_date_with_bigquerys_elements(wh, text, fmt, want):
    """format-elements.md, "Format string as year / month / day part" (run before 2050, so RR's 18 is 2018)."""
    assert value(wh, f"CAST('{text}' AS DATE FORMAT '{fmt}')") == want


def test_a_datetime_parses_with_a_meridian_and_a_fraction(wh):
    assert value(wh, "CAST('2020-06-03 03:30 P.M.' AS DATETIME FORMAT 'YYYY-MM-DD HH12:MI P.M.')") == \
        dt.datetime(2020, 6, 3, 15, 30)
    assert value(wh, "CAST('2020-06-03 15:30:00.123' AS DATETIME FORMAT 'YYYY-MM-DD HH24:MI:SS.FF3')") == \
        dt.datetime(2020, 6, 3, 15, 30, 0, 123000)


@pytest.mark.parametrize("fmt, element", [("YYYY-MM-DD HH:MI PM", "PM"), ("YYYY-MM-DD HH12:MI AM", "AM"),
                                          ("YYYY-DDD", "DDD"), ("DY YYYY-MM-DD", "DY")])
def test_elements_bigquery_does_not_parse_are_refused_naming_the_element(wh, fmt, element):
    """ZetaSQL's IsSupportedForParsing takes A.M./P.M. but not AM/PM, and DD but not DDD, D, DAY or DY: a refusal in
    one sentence naming the element, where sqlglot handed them to DuckDB's strptime as literal text."""
    said = failure(wh, f"CAST('2020-06-03 03:30 PM' AS DATETIME FORMAT '{fmt}')", UnsupportedSQL)
    assert f"format element {element} " in said and "strptime" not in said
    assert said.endswith("does not parse it.") and said.replace("...", "").count(". ") == 0


def test_a_format_that_does_not_fit_the_target_is_refused_in_one_sentence(wh):
    assert "a DATE has no hour part" in failure(wh, "CAST('15:30' AS DATE FORMAT 'HH24:MI')", UnsupportedSQL)
    assert "A.M. or P.M." in failure(wh, "CAST('03:30' AS TIME FORMAT 'HH:MI')", UnsupportedSQL)


def test_a_string_that_does_not_match_fails_and_is_null_under_safe_cast(wh):
    assert failure(wh, "CAST('2020-13-03' AS DATE FORMAT 'YYYY-MM-DD')") == (
        "The query failed as it ran: Failed to parse input timestamp string '2020-13-03' with format 'YYYY-MM-DD'.")
    assert "Invalid result from year, month, day values" in failure(wh, "CAST('2019-02-29' AS DATE FORMAT "
                                                                        "'YYYY-MM-DD')")
    assert value(wh, "SAFE_CAST('2019-02-29' AS DATE FORMAT 'YYYY-MM-DD')") is None
    assert value(wh, "SAFE_CAST('no date' AS DATETIME FORMAT 'YYYY-MM-DD')") is None
    assert value(wh, "CAST(NULL AS DATE FORMAT 'YYYY-MM-DD')") is None


def test_parse_functions_with_percent_elements_keep_working(wh):
    assert value(wh, "PARSE_DATE('%Y%m%d', '20200603')") == dt.date(2020, 6, 3)
    assert value(wh, "PARSE_DATETIME('%Y-%m-%d %I:%M %p', '2020-06-03 03:30 PM')") == dt.datetime(2020, 6, 3, 15, 30)
    assert value(wh, "PARSE_TIMESTAMP('%Y-%m-%d %H:%M', '2020-06-03 15:30')") == dt.datetime(2020, 6, 3, 15, 30,
                                                                                         tzinfo=UTC)


def test_a_parsed_string_keeps_the_cast_target_type(wh):
    """A DATETIME has no zone and a TIME no date; sqlglot made all four a TIMESTAMP WITH TIME ZONE (a TIME on
    1900-01-01 UTC)."""
    assert value(wh, "CAST('2020-06-03 15:30' AS DATETIME FORMAT 'YYYY-MM-DD HH24:MI')") == \
        dt.datetime(2020, 6, 3, 15, 30)
    assert value(wh, "CAST(CAST('2020-06-03 15:30' AS DATETIME FORMAT 'YYYY-MM-DD HH24:MI') AS STRING)") == \
        "2020-06-03 15:30:00"
    assert value(wh, "CAST(CAST('15:30' AS TIME FORMAT 'HH24:MI') AS STRING)") == "15:30:00"
    assert value(wh, "SAFE_CAST('2018-01-30' AS DATE FORMAT 'YYYY-MM-DD')") == dt.date(2018, 1, 30)
    assert value(wh, "(WITH a AS (SELECT CAST(s AS TIME FORMAT 'HH24:MI') AS t FROM UNNEST(['15:30']) s) "
                     "SELECT [t, CAST(CAST('2020-01-02 16:31' AS DATETIME FORMAT 'YYYY-MM-DD HH24:MI') AS TIME)] "
                     "FROM a)") == [dt.time(15, 30), dt.time(16, 31)]


def test_a_parsed_time_inserts_into_a_time_column(wh):
    wh.execute("CREATE TABLE ds.times (t TIME); INSERT INTO ds.times VALUES (CAST('15:30' AS TIME FORMAT 'HH24:MI'))")
    assert wh.query_arrow("SELECT t FROM ds.times").to_pylist() == [{"t": dt.time(15, 30)}]


def test_a_timestamp_parses_in_utc_its_own_offset_or_the_zone_given(wh):
    """format-elements.md, "Format string as time zone part" ('2008-12-25 05:30:00-08' is 13:30 UTC; TZM's minutes
    take TZH's sign); AT TIME ZONE names the zone of a text without an offset."""
    assert value(wh, "CAST('2020-06-03 15:30' AS TIMESTAMP FORMAT 'YYYY-MM-DD HH24:MI')") == \
        dt.datetime(2020, 6, 3, 15, 30, tzinfo=UTC)
    assert value(wh, "CAST('2008-12-25 05:30:00-08' AS TIMESTAMP FORMAT 'YYYY-MM-DD HH24:MI:SSTZH')") == \
        dt.datetime(2008, 12, 25, 13, 30, tzinfo=UTC)
    assert value(wh, "CAST('2008-12-25 05:30:00-05.30' AS TIMESTAMP FORMAT 'YYYY-MM-DD HH24:MI:SSTZH.TZM')") == \
        dt.datetime(2008, 12, 25, 11, 0, tzinfo=UTC)
    assert value(wh, "CAST('2020-06-03 15:30' AS TIMESTAMP FORMAT 'YYYY-MM-DD HH24:MI' AT TIME ZONE "
                     "'America/Los_Angeles')") == dt.datetime(2020, 6, 3, 22, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------------------
# Date arithmetic past 9999-12-31 or before 0001-01-01 (data-types.md ranges)

@pytest.mark.parametrize("expression, message", [
    ("DATE_ADD(DATE '9999-12-31', INTERVAL 1 DAY)", "Adding 1 DAY to date 9999-12-31 causes overflow"),
    ("DATE_SUB(DATE '0001-01-01', INTERVAL 1 DAY)", "Subtracting 1 DAY from date 0001-01-01 causes overflow"),
    ("DATETIME_ADD(DATETIME '9999-12-31 23:00:00', INTERVAL 2 HOUR)",
     "Adding 2 HOUR to datetime 9999-12-31 23:00:00 causes overflow"),
    ("TIMESTAMP_ADD(TIMESTAMP '9999-12-31 23:59:59+00', INTERVAL 1 SECOND)",
     "Adding 1 SECOND to timestamp 9999-12-31 23:59:59+00 causes overflow"),
    ("DATE '9999-12-31' + INTERVAL 1 DAY", "Adding an INTERVAL to 9999-12-31 causes overflow"),
    ("TIMESTAMP '0001-01-01 00:00:00+00' - INTERVAL 1 SECOND",
     "Subtracting an INTERVAL from 0001-01-01 00:00:00+00 causes overflow"),
])
def test_date_arithmetic_past_the_range_fails_in_one_sentence(wh, expression, message):
    """BigQuery fails (ZetaSQL date_time_util.cc's words); DuckDB gave year 10000, and the DataFrame a raw
    ValueError."""
    assert failure(wh, expression) == f"The query failed as it ran: {message}."
    with pytest.raises(WarehouseQueryError):
        wh.query(f"SELECT {expression} AS v")


def test_date_arithmetic_past_the_range_is_null_under_safe(wh):
    assert value(wh, "SAFE.DATE_ADD(DATE '9999-12-31', INTERVAL 1 DAY)") is None
    assert value(wh, "SAFE.TIMESTAMP_ADD(TIMESTAMP '9999-12-31 23:59:59+00', INTERVAL 1 SECOND)") is None


def test_date_arithmetic_inside_the_range_is_unchanged(wh):
    assert value(wh, "DATE_ADD(DATE '2020-01-31', INTERVAL 1 MONTH)") == dt.date(2020, 2, 29)
    assert value(wh, "DATE_SUB(DATE '9999-12-31', INTERVAL 1 DAY)") == dt.date(9999, 12, 30)
    assert value(wh, "SAFE.DATE_ADD(DATE '2020-12-31', INTERVAL 1 DAY)") == dt.date(2021, 1, 1)
    assert value(wh, "TIMESTAMP_SUB(TIMESTAMP '2020-01-01 00:00:00+00', INTERVAL 1 SECOND)") == \
        dt.datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert value(wh, "DATE '2020-12-31' + INTERVAL 1 DAY") == dt.datetime(2021, 1, 1)
    assert value(wh, "TIME '23:00:00' + INTERVAL 2 HOUR") == dt.time(1, 0)


def test_format_elements_duckdb_has_no_spelling_for_are_computed(wh):
    # [compliance] functions_testlib_timestamp.cc, GetFormatDateTimestampCommonTests on 2015-07-08 01:02:03.456789, and
    # the %E*S cases: DuckDB refused %C, %k, %l, %J, %Q, %P, %E3S, %E*S and wrote %e, %c and %g otherwise ('8',
    # 'Wed Jul 8 ...', milliseconds)
    moment = "DATETIME '2015-07-08 01:02:03.456789'"
    cases = {"%e": " 8", "%C": "20", "%g": "15", "%J": "192", "%Q": "3", "%k": " 1", "%l": " 1", "%P": "am",
             "%r": "01:02:03 AM", "%c": "Wed Jul  8 01:02:03 2015", "%E0S": "03", "%E1S": "03.4", "%E3S": "03.456",
             "%E9S": "03.456789000", "%E*S": "03.456789", "%Y-%m-%e": "2015-07- 8"}
    got = wh.query_arrow("SELECT " + ", ".join(f"FORMAT_DATETIME('{f}', {moment}) AS c{n}" for n, f in enumerate(cases))
                         ).to_pylist()[0]
    assert list(got.values()) == list(cases.values())
    stamps = {"2000-01-01 00:00:01.234500+00": "01.2345", "2000-01-01 00:00:01+00": "01",
              "2000-01-01 00:00:01.2+00": "01.2"}
    wh.execute("CREATE OR REPLACE TABLE ds.moments AS SELECT " + ", ".join(
        f"TIMESTAMP '{t}' AS t{n}" for n, t in enumerate(stamps)) + f", {moment} AS dt, DATE '2015-07-08' AS d")
    got = wh.query_arrow("SELECT " + ", ".join(f"FORMAT_TIMESTAMP('%E*S', t{n}) AS c{n}" for n in range(len(stamps)))
                         + ", FORMAT_TIMESTAMP('%E*S', t0, 'America/Los_Angeles') AS z, FORMAT_DATE('%e %Q', d) AS d, "
                         "FORMAT_TIME('%k:%E2S', TIME(dt)) AS t FROM ds.moments").to_pylist()[0]
    assert got == {"c0": "01.2345", "c1": "01", "c2": "01.2", "z": "01.2345", "d": " 8 3", "t": " 1:03.45"}


def test_format_f_of_a_numeric_prints_its_exact_digits_rounded_half_away_from_zero(wh):
    # [ZetaSQL] string_format.cc prints a NUMERIC with its own digits; DuckDB's printf went through FLOAT64
    # (NUMERIC '1.005' with %.2f was '1.00', a 30-digit NUMERIC lost its last digits)
    wh.execute("CREATE OR REPLACE TABLE ds.amounts AS SELECT NUMERIC '1.005' AS a, "
               "NUMERIC '12345678901234567890.123456789' AS b, BIGNUMERIC '-2.5' AS c, 1.005 AS x")
    got = wh.query_arrow("SELECT FORMAT('%.2f', a) AS a, FORMAT('%f', b) AS b, FORMAT('%+.0f|%8.1f|%-8.1f|', c, a, a) "
                         "AS c, FORMAT('%.2f', x) AS x, FORMAT('%.12f', a) AS y, FORMAT('%05.1f', a) AS z "
                         "FROM ds.amounts").to_pylist()
    assert got == [{"a": "1.01", "b": "12345678901234567890.123457", "c": "-3|     1.0|1.0     |", "x": "1.00",
                    "y": "1.005000000000", "z": "001.0"}]


def test_parse_reads_a_months_or_weekdays_name_in_full_or_short_whatever_the_element(wh):
    # strptime's rule, which ZetaSQL keeps (functions_testlib_timestamp.cc, the PARSE_ tests with month names):
    # %b, %B and %h read 'Mar' and 'March', %a and %A 'Tue' and 'Tuesday', in any case; DuckDB's %b read only 'Mar'
    wh.execute("CREATE OR REPLACE TABLE ds.said AS SELECT 'Tuesday, 05 March 2024' AS s UNION ALL "
               "SELECT 'tue, 05 mar 2024' UNION ALL SELECT 'WEDNESDAY, 25 DEC 2024'")
    got = wh.query_arrow("SELECT PARSE_DATE('%A, %d %b %Y', s) AS a, PARSE_DATE('%a, %d %B %Y', s) AS b FROM ds.said "
                         "ORDER BY a").to_pylist()
    assert got == [{"a": dt.date(2024, 3, 5), "b": dt.date(2024, 3, 5)}] * 2 + [{"a": dt.date(2024, 12, 25),
                                                                          "b": dt.date(2024, 12, 25)}]
    assert wh.query_arrow("SELECT PARSE_TIMESTAMP('%d %B %Y %H:%M', '05 Sep 2024 10:30') AS t, "
                          "PARSE_DATETIME('%h %d, %Y %H', 'December 25, 2024 10') AS d").to_pylist() == \
        [{"t": dt.datetime(2024, 9, 5, 10, 30, tzinfo=dt.timezone.utc), "d": dt.datetime(2024, 12, 25, 10)}]
    with pytest.raises(WarehouseQueryError):   # a word that only begins like a month is none
        wh.query("SELECT PARSE_DATE('%d %b %Y', '05 Mary 2024')")


def test_parse_reads_fractional_seconds_and_a_four_digit_year_as_bigquery_does(wh):
    # format elements doc: %E*S seconds with full fractional precision, %E#S with # digits, %E4Y a year; DuckDB's
    # strptime knew none of them, so PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S', ...), the common ISO idiom, failed
    wh.execute("CREATE OR REPLACE TABLE ds.stamped AS SELECT s FROM UNNEST(['2024-01-01 10:00:00.123456', "
               "'2024-01-01 10:00:00.5', '2024-01-01 10:00:00']) AS s")
    got = wh.query_arrow("SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S', s) AS t, "
                         "PARSE_DATETIME('%Y-%m-%d %H:%M:%E*S', s) AS d FROM ds.stamped ORDER BY t").to_pylist()
    assert [(r["t"].isoformat(), r["d"].isoformat()) for r in got] == [
        ("2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00"),
        ("2024-01-01T10:00:00.123456+00:00", "2024-01-01T10:00:00.123456"),
        ("2024-01-01T10:00:00.500000+00:00", "2024-01-01T10:00:00.500000")]
    assert iso_row(wh, "SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', '2024-01-01T10:00:00.123Z') AS a, "
                       "PARSE_TIME('%H:%M:%E*S', '10:00:01.25') AS b, PARSE_DATE('%E4Y-%m-%d', '2024-01-02') AS c, "
                       "PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S', '2024-01-01 10:00:00.5', 'America/New_York') AS d") == {
        "a": "2024-01-01T10:00:00.123000+00:00", "b": "10:00:01.250000", "c": "2024-01-02",
        "d": "2024-01-01T15:00:00.500000+00:00"}
    with pytest.raises(WarehouseQueryError):
        wh.query("SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S', 'garbage')")


def test_parse_truncates_a_fraction_past_the_microsecond_and_reads_no_more_digits_than_asked(wh):
    # functions_testlib_timestamp.cc: %E*S of '23:59:59.999999999' is 23:59:59.999999 (truncated; DuckDB's %n rounded
    # it to midnight), "%E#S does not consume more digits than specified"; a name is read where text follows it
    assert iso_row(wh, "SELECT PARSE_TIME('%H:%M:%E*S', '23:59:59.999999999') AS a, "
                       "PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', '2024-12-31T23:59:59.9999999999Z') AS b, "
                       "PARSE_TIME('%E3S', '1.5') AS c, PARSE_TIME('%E0S', '7') AS d, "
                       "PARSE_DATETIME('%A1 %Bu', 'Tuesday1 Januaryu') AS e") == {
        "a": "23:59:59.999999", "b": "2024-12-31T23:59:59.999999+00:00", "c": "00:00:01.500000", "d": "00:00:07",
        "e": "1970-01-01T00:00:00"}
    for call in ("PARSE_TIME('%E0S', '1.0')", "PARSE_TIME('%E3S', '1.1234')", "PARSE_TIME('%E6S', '1.1234567')"):
        with pytest.raises(WarehouseQueryError):
            wh.query(f"SELECT {call}")
        assert wh.query_arrow(f"SELECT SAFE.{call} AS x").to_pylist() == [{"x": None}]


def test_parse_reads_e6s_without_a_fraction_and_no_more_digits_than_e_hash_s_asks(wh):
    # compliance functions_testlib_timestamp.cc (ParseTime, :5849-5858): PARSE_TIME('%E6S', '1') is 00:00:01 (sqlglot
    # reads %E6S as %S.%f, which DuckDB made a fraction it required: '%Y-%m-%d %H:%M:%E6S' of a whole second failed);
    # '%E1S' of '1.12', '%E2S' of '1.123', '%E4S' of '1.12345', '%E5S' of '1.123456' fail ("%E#S does not consume more
    # digits than specified"), NULL under SAFE.
    assert iso_row(wh, "SELECT PARSE_TIME('%E6S', '1') AS a, PARSE_DATETIME('%Y-%m-%d %H:%M:%E6S', "
                       "'2020-01-01 01:02:03') AS b, PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E6S', '2020-01-01 01:02:03.25') "
                       "AS c, PARSE_TIME('%E1S', '1.1') AS d, PARSE_TIME('%E4S', '1.123') AS e, "
                       "PARSE_TIME('%E5S', '1.12345') AS f") == {
        "a": "00:00:01", "b": "2020-01-01T01:02:03", "c": "2020-01-01T01:02:03.250000+00:00",
        "d": "00:00:01.100000", "e": "00:00:01.123000", "f": "00:00:01.123450"}
    for call in ("PARSE_TIME('%E1S', '1.12')", "PARSE_DATETIME('%E2S', '1.123')", "PARSE_TIME('%E4S', '1.12345')",
                 "PARSE_TIMESTAMP('%E5S', '1.123456')"):
        with pytest.raises(WarehouseQueryError, match="Failed to parse"):
            wh.query(f"SELECT {call}")
        assert wh.query_arrow(f"SELECT SAFE.{call} AS x").to_pylist() == [{"x": None}]


def test_parse_refuses_the_iso_year_and_week_elements_rather_than_misread_them(wh):
    # compliance functions_testlib_timestamp.cc (GetParseDateTimestampCommonTests): PARSE_DATE('%G', '2015') is
    # 2014-12-29 and PARSE_DATETIME('%g', '22') 2022-01-03 (the Monday of ISO week 1); DuckDB read %G as nothing and
    # %g as milliseconds (1970-01-01, 00:00:00.220): refused in one sentence. Formatting them is unchanged.
    for call in ("PARSE_DATE('%G', '2015')", "PARSE_DATETIME('%g', '22')", "PARSE_TIMESTAMP('%G-W%V', '2020-W53')"):
        with pytest.raises(UnsupportedSQL, match=r"does not parse the ISO year and week elements %G, %g and %V"):
            wh.query(f"SELECT {call}")
    assert wh.query_arrow("SELECT FORMAT_DATE('%G-W%V', DATE '2021-01-01') AS w, PARSE_DATE('%%G%Y', '%G2015') AS d"
                          ).to_pylist() == [{"w": "2020-W53", "d": dt.date(2015, 1, 1)}]


def test_parse_reads_the_strptime_elements_duckdb_lacks(wh):
    # format elements doc and compliance functions_testlib_timestamp.cc: %k and %l an unpadded hour, %P am/pm, %t and
    # %n whitespace, %Ox and %Ex the same as %x; DuckDB's strptime refused each ("Unrecognized format")
    assert iso_row(wh, "SELECT PARSE_TIME('%k:%M', ' 9:05') AS a, PARSE_TIME('%l:%M %p', '9:05 PM') AS b, "
                       "PARSE_TIME('%I:%M %P', '09:05 pm') AS c, PARSE_DATE('%Y%t%m%n%d', '2024 01 05') AS d, "
                       "PARSE_DATE('%Od/%Om/%EY', '05/01/2024') AS e, "
                       "PARSE_DATETIME('%Y-%m-%d %k:%M', '2024-01-05 17:30') AS f") == {
        "a": "09:05:00", "b": "21:05:00", "c": "21:05:00", "d": "2024-01-05", "e": "2024-01-05",
        "f": "2024-01-05T17:30:00"}


def test_parse_reads_an_rfc_3339_offset_and_refuses_a_year_out_of_range(wh):
    # format elements doc: %Ez is +HH:MM (DuckDB refused %E); a parsed year 0 is out of BigQuery's range
    # (compliance functions_testlib_timestamp.cc: an error), where DuckDB's strptime read it and the value failed only
    # as the client read it
    got = wh.query_arrow("SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E*S%Ez', '2024-01-01T10:00:00.5-08:00') AS a, "
                         "SAFE.PARSE_DATE('%Y', '0') AS b, SAFE.PARSE_TIMESTAMP('%Y', '0000') AS c, "
                         "PARSE_DATE('%Y', '9999') AS d").to_pylist()[0]
    assert got["a"].isoformat() == "2024-01-01T18:00:00.500000+00:00" and got["b"] is None and got["c"] is None \
        and got["d"].isoformat() == "9999-01-01"
    for call in ("PARSE_DATE('%Y', '0')", "PARSE_DATETIME('%Y-%m-%d', '0000-01-02')", "PARSE_TIMESTAMP('%Y', '0')"):
        with pytest.raises(WarehouseQueryError, match="out of range"):
            wh.query(f"SELECT {call}")
