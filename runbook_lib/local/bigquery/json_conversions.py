"""INT64, FLOAT64, BOOL and STRING of a JSON value, as strict as BigQuery's; JSONPaths the sandbox cannot follow.

JSON functions doc (INT64, FLOAT64, BOOL, STRING): each converts one JSON type only and fails on any other, a JSON
null among them; a SQL NULL gives NULL; SAFE. gives NULL where it would fail. "INT64(JSON '10.1') -- Throws an error",
"INT64(JSON '\"strawberry\"') -- Throws an error", "STRING(JSON '123') -- Throws an error". The messages are ZetaSQL's
(json_util.cc, ConvertJsonToInt64 ...). DuckDB's casts were lenient: INT64(JSON '10.1') was 10 and INT64(JSON '"4"') 4
(silent wrong numbers), STRING(JSON '123') '123'; FLOAT64 and BOOL were refused in sqlglot's words (`j_s_o_n_bool`).
FLOAT64's wide_number_mode=>'exact' is refused in one sentence; 'round' is the default. The LAX_ converters are not
emulated (refused as functions the sandbox lacks).

JSONPath (JSON functions doc, "JSONPath format"): BigQuery's `lax` and `recursive` modes are not followed here, and
were a silent NULL (sqlglot could not read the path and DuckDB found nothing); `..` is no part of BigQuery's JSONPath,
and escaped as sqlglot's raw ValueError. Both are refused in one sentence.
"""
from __future__ import annotations

import re

from sqlglot import exp

from .errors import UnsupportedSQL
from .sqltree import fails, sql_text, tpl

# DuckDB's json_type of a JSON number (json_nulls.py names them all)
_NUMBERS = "('BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT', 'DOUBLE')"
_TEXT = "CAST(__j__ AS VARCHAR)"
_NOT_A = "The provided JSON input is not "


def _converted(node: exp.Expression, converts: str, accepts: str, refused: str) -> exp.Expression:
    """CASE: NULL for NULL; `converts` where DuckDB's json_type is what `accepts` says; else `refused` (SQL)."""
    sql = (f"CASE WHEN __j__ IS NULL THEN NULL WHEN JSON_TYPE({_TEXT}) {accepts} THEN {converts} "
           f"ELSE {fails(node, refused)} END")
    return tpl(sql, j=node.this)


def json_int64(node: exp.Int64) -> exp.Expression:
    # ZetaSQL: an integer as it is; a double when it is whole and in range; else "cannot be converted". (DuckDB types
    # a positive integer UBIGINT: through DOUBLE, 1234567890123456789 became ...768)
    number = f"CAST({_TEXT} AS DOUBLE)"
    too_wide = fails(node, f"'The provided JSON number: ' || {_TEXT} || ' cannot be converted to an int64'")
    converts = (f"CASE WHEN JSON_TYPE({_TEXT}) = 'BIGINT' OR (JSON_TYPE({_TEXT}) = 'UBIGINT' AND "
                f"CAST({_TEXT} AS UBIGINT) <= 9223372036854775807) THEN CAST({_TEXT} AS BIGINT) "
                f"WHEN {number} = TRUNC({number}) AND {number} >= -9223372036854775808 "
                f"AND {number} < 9223372036854775808 THEN CAST({number} AS BIGINT) ELSE {too_wide} END")
    return _converted(node, converts, f"IN {_NUMBERS}", sql_text(_NOT_A + "an integer"))


def json_float64(node: exp.Float64) -> exp.Expression:
    mode = node.expression
    if mode is not None:
        value = mode.expression if isinstance(mode, exp.Kwarg) else mode
        if not (isinstance(value, exp.Literal) and value.is_string and value.this == "round"):
            raise UnsupportedSQL(f"The local warehouse's FLOAT64(json) takes wide_number_mode=>'round' (the default) "
                                 f"only, not {mode.sql('bigquery')}: use target=gcp for 'exact'.")
    return _converted(node, f"CAST({_TEXT} AS DOUBLE)", f"IN {_NUMBERS}", sql_text(_NOT_A + "a number"))


def json_bool(node: exp.JSONBool) -> exp.Expression:
    return _converted(node, f"CAST({_TEXT} AS BOOLEAN)", "= 'BOOLEAN'", sql_text(_NOT_A + "a boolean"))


def json_string(node: exp.String) -> exp.Expression | None:
    """STRING(json) (STRING(timestamp[, zone]) is datetimes.string_in_zone's: None). The argument's type is known
    only to DuckDB: TYPEOF folds to a constant, and the JSON branch binds for any type through its text."""
    if node.args.get("zone") is not None:
        return None
    strict = _converted(node, f"JSON_EXTRACT_STRING({_TEXT}, '$')", "= 'VARCHAR'", sql_text(_NOT_A + "a string"))
    return tpl("CASE WHEN TYPEOF(__x__) = 'JSON' THEN __strict__ ELSE __s__ END",
               x=node.this.copy(), strict=strict, s=node)


_MODE = re.compile(r"\s*(lax|recursive)\b", re.IGNORECASE)


def unfollowed_path(node: exp.Expression) -> None:
    """Refuse a JSON function's path in `lax`/`recursive` mode, which sqlglot leaves as the string it was."""
    path = node.expression
    if isinstance(path, exp.Literal) and path.is_string and _MODE.match(path.this):
        raise UnsupportedSQL(f"The local warehouse does not follow JSONPath's lax and recursive modes "
                             f"({path.this!r}): write the path from '$' (e.g. '$.a'), or use target=gcp.")


# An index no array reaches: DuckDB reads a negative one from the end ($.x[-1] the last element), BigQuery's
# JSONPath has none, and finds nothing (compliance functions_testlib_json.cc: '$.x[-1]' is NULL).
_NO_ELEMENT = 2**31 - 1


def recursive_descent(node: exp.JSONPath) -> None:
    if node.find(exp.JSONPathRecursive) is not None:
        raise UnsupportedSQL("JSONPath '..' (recursive descent) is not part of BigQuery's JSONPath: name each step "
                             "from '$' (e.g. '$.a.b').")
    for subscript in node.find_all(exp.JSONPathSubscript):
        if isinstance(subscript.this, int) and subscript.this < 0:
            subscript.set("this", _NO_ELEMENT)
