"""The small shared formats: one-line text, byte sizes, RFC 3339 times and Google Cloud names."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib import formats
from runbook_lib.errors import ParameterError


def test_one_line_folds_whitespace_and_cuts_with_an_ellipsis():
    assert formats.one_line("a\n  b\tc") == "a b c"
    cut = formats.one_line("x" * 50, limit=10)
    assert cut == "x" * 9 + "…" and len(cut) == 10


def test_headline_cuts_at_a_word_boundary():
    text = "word " * 100
    line = formats.headline(text, limit=22)
    assert line == "word word word word …"
    assert formats.headline("short  text") == "short text"


@pytest.mark.parametrize("n_bytes, text", [
    (0, "0 B"), (1, "1 B"), (512, "512 B"), (1023, "1023 B"),        # bytes are exact
    (1024, "1 KiB"), (1536, "1.5 KiB"), (1024 ** 2 + 1, "1 MiB"),
    (1023 * 1024, "0.999 MiB"), (1_023_999, "0.977 MiB"),            # 999.999 KiB rounds up: never "1e+03 KiB"
    (10_000_000_000, "9.31 GiB"), (10 * 1024 ** 3, "10 GiB"), (int(1.5 * 2 ** 30), "1.5 GiB"),
    (123 * 2 ** 40 + 2 ** 39, "124 TiB"), (2 ** 50, "1 PiB"), (5 * 2 ** 60, "5 EiB"),
    (12_345 * 2 ** 60, "12,345 EiB"),                                  # past the last unit: every digit
])
def test_size_is_binary_units_to_three_significant_digits(n_bytes, text):
    assert formats.size(n_bytes) == text


@pytest.mark.parametrize("bad", [-1, 1.5, 1024.0, "1024", None, True])
def test_size_refuses_what_is_not_a_whole_number_of_bytes(bad):
    with pytest.raises(ParameterError, match="n_bytes.*a whole number of bytes, 0 or more"):
        formats.size(bad)


UNIT_BYTES = {unit: 1024 ** power for power, unit in enumerate(formats.BINARY_UNITS)}


@settings(max_examples=500, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=2 ** 70))
def test_size_reads_back_within_rounding(n_bytes):
    number, unit = formats.size(n_bytes).split(" ")
    value = float(number.replace(",", ""))
    assert unit in UNIT_BYTES
    if unit == "B":   # exact, under 1024
        assert value == n_bytes < 1024
    else:             # the smallest unit whose number is under 1000 (past EiB: every digit)
        assert n_bytes >= 1024 and 0.976 <= value and (value < 1000 or unit == "EiB")
        # three significant digits: at most half a unit of the third digit off
        assert abs(value * UNIT_BYTES[unit] - n_bytes) <= 0.005 * n_bytes


def test_sentence_ends_with_a_full_stop_and_names_an_empty_exception():
    assert formats.sentence(ValueError("bad\nthing")) == "bad thing."
    assert formats.sentence(ValueError("done.")) == "done."
    assert formats.sentence(KeyError()) == "KeyError."


@pytest.mark.parametrize("text, expected", [
    ("2025-12-31T01:41:03Z", datetime(2025, 12, 31, 1, 41, 3, tzinfo=timezone.utc)),
    ("2025-12-31T01:41:03.123456789Z", datetime(2025, 12, 31, 1, 41, 3, 123456, tzinfo=timezone.utc)),
    ("2025-12-30T17:41:03-08:00", datetime(2025, 12, 31, 1, 41, 3, tzinfo=timezone.utc)),
    ("2025-12-31T01:41:03", datetime(2025, 12, 31, 1, 41, 3, tzinfo=timezone.utc)),
])
def test_parse_time_reads_what_google_apis_write(text, expected):
    assert formats.parse_time(text) == expected


def test_parse_time_refuses_other_text():
    with pytest.raises(ValueError):
        formats.parse_time("yesterday")


def test_as_utc_takes_dates_datetimes_and_text_and_names_the_parameter():
    assert formats.as_utc("since", None) is None
    assert formats.as_utc("since", date(2025, 12, 31)) == datetime(2025, 12, 31, tzinfo=timezone.utc)
    aware = datetime(2025, 12, 31, 9, tzinfo=timezone(timedelta(hours=8)))
    assert formats.as_utc("since", aware) == datetime(2025, 12, 31, 1, tzinfo=timezone.utc)
    with pytest.raises(ParameterError, match=r"^since='soon' is not valid"):
        formats.as_utc("since", "soon")


def test_rfc3339_round_trips_with_parse_time():
    moment = datetime(2025, 12, 31, 1, 41, 3, 5, tzinfo=timezone.utc)
    assert formats.rfc3339(moment) == "2025-12-31T01:41:03.000005Z"
    assert formats.rfc3339(moment, micros=False) == "2025-12-31T01:41:03Z"
    assert formats.parse_time(formats.rfc3339(moment)) == moment


@pytest.mark.parametrize("check, good, bad", [
    (formats.check_project, ["nba-props-platform", "756957797294"], ["NBA", "a-b", "proj-", "x" * 31, 7]),
    (formats.check_region, ["us-west2", "europe-west1", "global"], ["us_west2", "west", "", None]),
    (formats.check_service, ["nba-phase4-precompute-processors", "a"], ["Phase4", "x-", "4x", "a" * 64]),
])
def test_google_cloud_name_checks(check, good, bad):
    for value in good:
        assert check(value) == value
    for value in bad:
        with pytest.raises(ParameterError):
            check(value)


def test_both_column_name_refusals_state_the_whole_rule():
    from runbook_lib.formats import check_column_names, quote_columns

    for refuse in (lambda: check_column_names(["a$b"], "keys"), lambda: quote_columns(["a$b"])):
        with pytest.raises(ParameterError) as err:
            refuse()
        assert ("up to 300 letters of any language, digits, underscores, dashes, spaces or & % = + : ' < > # |"
                in str(err.value))


def test_column_names_are_quoted_as_bigquery_quotes_its_flexible_column_names():
    from runbook_lib.formats import check_column_names, quote_columns, quote_identifier

    assert quote_columns(["3pt_pct", "t.Punktzahl_ü", "a-b c"]) == ["`3pt_pct`", "t.`Punktzahl_ü`", "`a-b c`"]
    assert quote_identifier("a`b\\c") == "`a\\`b\\\\c`"
    for bad in ("a`b", "a.b.c", "a$b", "", "x" * 301):
        with pytest.raises(ParameterError) as err:
            check_column_names([bad], "keys")
        assert err.value.parameter == "keys"


def test_a_keyed_table_names_its_key_column_on_its_one_header_row():
    table = formats.keyed_table([("builder", "buildpacks"), ("dockerfile", "")], ["what", "value"])
    assert table.loc["builder", "value"] == "buildpacks"
    head = table._repr_html_().split("<thead>")[1].split("</thead>")[0]
    assert head.count("<tr") == 1
    assert [cell.split("</th>")[0] for cell in head.split("<th>")[1:]] == ["what", "value"]
    assert table.to_string().splitlines()[0].split() == ["what", "value"]
