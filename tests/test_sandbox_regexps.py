"""The sandbox warehouse's REGEXP_EXTRACT, REGEXP_SUBSTR, REGEXP_EXTRACT_ALL and REGEXP_INSTR against ZetaSQL's
compliance tests (the zt_string probe, findings F02, F05, F06, F07, F07b, F08 and F11): more than one capturing group
fails, a pattern or return option from a column is honoured as a literal is, empty matches are counted as ZetaSQL's
loop counts them, REGEXP_INSTR reports a group's position, and a position, occurrence or return option out of range
fails (NULL under SAFE.). Expected values are zetasql/compliance/functions_testlib_regex.cc's (line numbers given),
read with zetasql/public/functions/regexp.cc; each is checked on literals and on values from a table's columns."""
from __future__ import annotations

import pytest

from runbook_lib.local.bigquery import to_duckdb
from runbook_lib.local.warehouse import LocalWarehouse
from sandbox_queries import one_value, raised

pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

GROUPS = "Regular expressions passed into extraction functions must not have more than 1 capturing group"

# (id, s, p, pos, occ, o): the arguments as columns
ROWS = [
    (1, "abc", "a(b)c", 1, 1, 0),
    (2, "abcabc", "abc", 4, 1, 1),
    (3, "aabca", "a*", 1, 1, 0),
    (4, "", "(abc)?", 1, 1, 0),
    (5, "abc", "(a)(b)", 1, 1, 0),
    (6, "aa", "a", -1, 1, 0),
    (7, "abc", "abc", 1, 0, 0),
    (8, "aa", "a", 1, 1, 2),
    (9, "aaa", "a*", 2, 2, 0),
    (10, "abcabc", "a(b)c", 1, 2, 1),
    (11, "this_is__a___Test", "(.*?)(?:_|$)", 1, 1, 0),
    (12, "xb", "x(a)?", 1, 1, 0),
    (13, None, "(a)(b)", 1, 1, 0),
    (14, "abc", "(a)(b)", 5, 1, 0),
    (15, "abc", "abc", 1, 1, 0),
    (16, "", "()", 1, 1, 1),
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("regexps") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute("CREATE TABLE ds.c (id INT64, s STRING, p STRING, pos INT64, occ INT64, o INT64)")

    def text(v):
        return "NULL" if v is None else "'" + v + "'"
    w.execute("INSERT INTO ds.c VALUES " + ", ".join(
        f"({i}, {text(s)}, {text(p)}, {pos}, {occ}, {o})" for i, s, p, pos, occ, o in ROWS))
    return w


def _of_row(sql: str, row: int | None) -> str:
    return sql if row is None else f"{sql} FROM ds.c WHERE id = {row}"


def value(wh: LocalWarehouse, sql: str, row: int | None = None):
    return one_value(wh, _of_row(sql, row))


def failure(wh: LocalWarehouse, sql: str, row: int | None = None) -> str:
    return raised(wh, _of_row(sql, row))


# ------------------------------------------------------------------------------------------
# F08: more than one capturing group

@pytest.mark.parametrize("call", [
    "REGEXP_EXTRACT('abc', '(a)(b)')",             # :137
    "REGEXP_EXTRACT('abc', '((a))')",              # :136
    "REGEXP_SUBSTR('abc', '(a)(b)', 2, 1)",        # :467
    "REGEXP_EXTRACT_ALL('abc', '(a)(b)')",         # :321
    "REGEXP_INSTR('abc', '((a))')",                # :797
    "REGEXP_INSTR('abc', '(a)(b)', 2, 1, 1)",      # :1010
])
def test_more_than_one_capturing_group_fails(wh, call):
    assert GROUPS in failure(wh, f"SELECT {call} AS r")
    assert value(wh, f"SELECT SAFE.{call} AS r") in (None, [])   # (a NULL ARRAY reaches a client as [])


def test_more_than_one_group_from_a_column_fails_where_bigquery_seeks_a_match(wh):
    """The count is checked as the first match is sought: not for a NULL input, nor for a position past the end."""
    for call in ("REGEXP_EXTRACT(s, p)", "REGEXP_EXTRACT_ALL(s, p)", "REGEXP_INSTR(s, p, pos, occ, o)"):
        assert GROUPS in failure(wh, f"SELECT {call} AS r", 5)
        assert value(wh, f"SELECT SAFE.{call} AS r", 5) in (None, [])
        assert value(wh, f"SELECT {call} AS r", 13) in (None, [])
    assert value(wh, "SELECT REGEXP_EXTRACT(s, p, pos) AS r", 14) is None
    assert value(wh, "SELECT REGEXP_INSTR(s, p, pos) AS r", 14) == 0
    assert value(wh, "SELECT REGEXP_EXTRACT(s, '(a)(b)', pos) AS r", 14) is None
    assert value(wh, "SELECT REGEXP_EXTRACT(CAST(NULL AS STRING), '(a)(b)') AS r") is None


# ------------------------------------------------------------------------------------------
# F02, F05: a pattern or return option from a column

def test_a_pattern_from_a_column_takes_its_capturing_group(wh):
    """functions_testlib_regex.cc:130, 310, 791: 'b', ['b'], 2 (the sandbox took the whole match: 'abc', 1)."""
    assert value(wh, "SELECT REGEXP_EXTRACT(s, p) AS r", 1) == "b"
    assert value(wh, "SELECT REGEXP_SUBSTR(s, p, pos, occ) AS r", 1) == "b"
    assert value(wh, "SELECT REGEXP_EXTRACT_ALL(s, p) AS r", 1) == ["b"]
    assert value(wh, "SELECT REGEXP_INSTR(s, p) AS r", 1) == 2
    assert value(wh, "SELECT REGEXP_EXTRACT(s, p) AS r", 4) is None        # :129, a group that took no part
    rows = wh.query_arrow("SELECT id, REGEXP_EXTRACT(s, p) AS r FROM ds.c WHERE id IN (1, 15) ORDER BY id")
    assert rows.to_pylist() == [{"id": 1, "r": "b"}, {"id": 15, "r": "abc"}]   # each row its own pattern


def test_a_return_option_from_a_column_is_honoured(wh):
    """:986 REGEXP_INSTR('abcabc', 'abc', 4, 1, 1) is 7, the position after the match (the sandbox gave 4)."""
    assert value(wh, "SELECT REGEXP_INSTR(s, 'abc', 4, 1, o) AS r", 2) == 7
    assert value(wh, "SELECT REGEXP_INSTR(s, p, pos, occ, o) AS r", 2) == 7
    assert value(wh, "SELECT REGEXP_INSTR('abcabc', 'abc', 4, 1, 1) AS r") == 7


# ------------------------------------------------------------------------------------------
# F06: REGEXP_EXTRACT_ALL's empty matches

@pytest.mark.parametrize("s, p, expected, row", [
    ("aabca", "a*", ["aa", "", "", "a"], 3),                                            # :299
    ("this_is__a___Test", "(.*?)(?:_|$)", ["this", "is", "", "a", "", "", "Test"], 11),  # :315
    ("", "(abc)?", [""], 4),                                                           # :309
    ("xb", "x(a)?", [""], 12),             # a group that took no part: '' (regexp.cc: ToValue of a null view)
])
def test_extract_all_counts_empty_matches_as_zetasql(wh, s, p, expected, row):
    assert value(wh, f"SELECT REGEXP_EXTRACT_ALL('{s}', '{p}') AS r") == expected
    assert value(wh, "SELECT REGEXP_EXTRACT_ALL(s, p) AS r", row) == expected


def test_extract_all_from_a_table_of_inputs(wh):
    rows = wh.query_arrow("SELECT id, REGEXP_EXTRACT_ALL(s, '[^_]*') AS r FROM ds.c WHERE id IN (11, 15) "
                          "ORDER BY id").to_pylist()
    # (an empty match wherever no other begins, but none at the end, where a match ended)
    assert rows == [{"id": 11, "r": ["this", "", "is", "", "", "a", "", "", "", "Test"]}, {"id": 15, "r": ["abc"]}]


# ------------------------------------------------------------------------------------------
# F07, F07b: REGEXP_INSTR's group, and empty matches

def test_instr_reports_the_position_of_the_group(wh):
    assert value(wh, "SELECT REGEXP_INSTR('abc', 'a(b)c') AS r") == 2                    # :791
    assert value(wh, "SELECT REGEXP_INSTR('abcabc', 'a(b)c', 1, 2) AS r") == 5           # :888
    assert value(wh, "SELECT REGEXP_INSTR('abcabc', 'a(b)c', 1, 2, 1) AS r") == 6        # :994
    assert value(wh, "SELECT REGEXP_INSTR('щцфщфф', 'щ(.).', 1, 2, 1) AS r") == 6       # :1003
    assert value(wh, "SELECT REGEXP_INSTR(s, p, pos, occ, o) AS r", 10) == 6
    assert value(wh, "SELECT REGEXP_INSTR(s, 'a(b)c', pos, occ) AS r", 10) == 5


def test_empty_matches_in_instr_and_extract(wh):
    assert value(wh, "SELECT REGEXP_INSTR('', '()') AS r") == 0                         # :788
    assert value(wh, "SELECT REGEXP_INSTR('', '(abc)?') AS r") == 0                     # :790
    assert value(wh, "SELECT REGEXP_INSTR('aaa', 'a*', 2, 2) AS r") == 0                # :878
    assert value(wh, "SELECT REGEXP_INSTR('aaa', 'a*', 2, 2, 1) AS r") == 0             # :984
    assert value(wh, "SELECT REGEXP_EXTRACT('aaa', 'a*', 2, 2) AS r") is None           # :439
    assert value(wh, "SELECT REGEXP_INSTR(s, p, pos, occ) AS r", 9) == 0
    assert value(wh, "SELECT REGEXP_EXTRACT(s, p, pos, occ) AS r", 9) is None
    assert value(wh, "SELECT REGEXP_INSTR(s, p, pos, occ, o) AS r", 16) == 0


# ------------------------------------------------------------------------------------------
# F11: position, occurrence, return option

@pytest.mark.parametrize("call, message", [
    ("REGEXP_EXTRACT('aa', 'a', -1)", "Position must be positive"),                # :421
    ("REGEXP_EXTRACT('abc', 'abc', 1, 0)", "Occurrence must be positive"),         # :461
    ("REGEXP_SUBSTR('abc', 'abc', 0, 1)", "Position must be positive"),            # :462
    ("REGEXP_INSTR('abc', 'abc', 0, 1)", "Position must be positive"),             # :899
    ("REGEXP_INSTR('aa', 'a', 1, -1)", "Occurrence must be positive"),             # :902
    ("REGEXP_INSTR('aa', 'a', 1, 1, -9223372036854775808)", "Invalid return_position_after_match."),  # :1016
    ("REGEXP_INSTR('aa', 'a', -1, -1, 2)", "Invalid return_position_after_match."),   # :1020 (checked first)
])
def test_a_bad_position_occurrence_or_return_option_fails(wh, call, message):
    assert message in failure(wh, f"SELECT {call} AS r")
    assert value(wh, f"SELECT SAFE.{call} AS r") is None


def test_a_bad_argument_from_a_column_fails_and_a_null_one_is_null(wh):
    assert "Position must be positive" in failure(wh, "SELECT REGEXP_EXTRACT(s, p, pos) AS r", 6)
    assert "Position must be positive" in failure(wh, "SELECT REGEXP_INSTR(s, 'a', pos) AS r", 6)
    assert "Occurrence must be positive" in failure(wh, "SELECT REGEXP_SUBSTR(s, 'abc', pos, occ) AS r", 7)
    assert "Invalid return_position_after_match." in failure(wh, "SELECT REGEXP_INSTR(s, 'a', 1, 1, o) AS r", 8)
    assert value(wh, "SELECT SAFE.REGEXP_INSTR(s, p, pos, occ, o) AS r", 8) is None
    assert value(wh, "SELECT REGEXP_EXTRACT(s, 'a', pos, NULL) AS r", 6) is None         # :473: NULL first


# ------------------------------------------------------------------------------------------
# Ordinary calls

def test_ordinary_calls_keep_duckdbs_translation_and_read_re2s_syntax(wh):
    """A literal pattern of at most one group with the default arguments is translated as before (DuckDB's own
    functions), but its group is counted by RE2, BigQuery's library: Python's `re`, which sqlglot counted with,
    reads neither \\pL nor \\z, and the whole match was taken."""
    assert to_duckdb("SELECT REGEXP_EXTRACT(s, r'a(b)') FROM ds.t") == \
        "SELECT ARRAY_EXTRACT(REGEXP_EXTRACT_ALL(s, 'a(b)', 1), 1) AS f0_ FROM ds.t"
    assert to_duckdb("SELECT REGEXP_EXTRACT_ALL(s, r'(\\d+)') FROM ds.t") == \
        "SELECT REGEXP_EXTRACT_ALL(s, '(\\d+)', 1) AS f0_ FROM ds.t"
    assert to_duckdb("SELECT REGEXP_CONTAINS(s, r'a(b)') FROM ds.t") == \
        "SELECT REGEXP_MATCHES(s, 'a(b)') AS f0_ FROM ds.t"
    assert value(wh, "SELECT REGEXP_EXTRACT('ab12', r'b(\\d+)\\z') AS r") == "12"
    assert value(wh, "SELECT REGEXP_EXTRACT_ALL('ab1 cd2', r'(\\pL+)\\d') AS r") == ["ab", "cd"]
    assert value(wh, "SELECT REGEXP_EXTRACT(s, r'a(b)') AS r", 1) == "b"
    assert value(wh, "SELECT REGEXP_EXTRACT_ALL('a1b22', r'\\d+') AS r") == ["1", "22"]
    assert value(wh, "SELECT REGEXP_INSTR('-2020-jack-class1', '-[^.-]*', 2, 1, 1) AS r") == 11   # :1000
    assert value(wh, "SELECT REGEXP_SUBSTR('-2020-jack-class1', '-[^.-]*', 2) AS r") == "-jack"    # :419
    assert value(wh, "SELECT REGEXP_EXTRACT(s, r'^(\\w*)') AS r", 15) == "abc"
