"""The BigQuery type of an expression, where the SQL's shape and the tables' column types tell it: one reading for
the rewrites whose DuckDB translation depends on a value's type (struct_unnests.py: an ARRAY of STRUCTs;
subscripts.py: an ARRAY or JSON; differences.py: a DATE, DATETIME or TIMESTAMP; nan_comparisons.py: a FLOAT64).

A type is told by a literal or CAST, a function of known result (the tables below), a column (column_sources.py: a
table's column type, or the CTE's or subquery's select-list item it comes from), or what it is made of (an element
of an ARRAY, a field of a STRUCT or JSON, MAX/MIN/ANY_VALUE of a value, arithmetic with a FLOAT64: operators doc,
"the result type is FLOAT64 if either operand is FLOAT64"; a literal with a decimal point or an exponent is one,
lexical structure doc, "Floating point literals"). Where the SQL shows only an outline (an array
of STRUCT literals), the outline is the type: ARRAY<STRUCT> without fields. Anything else is not known: None, and the
rewrites leave DuckDB's reading.
"""
from __future__ import annotations

from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import SqlglotError

from .column_sources import MAX_DEPTH, Element, path_root, source_of

_T = exp.DataType.Type


def _outline(kind: exp.DataType.Type, *elements: exp.DataType) -> exp.DataType:
    return exp.DataType(this=kind, expressions=list(elements), nested=kind in (_T.ARRAY, _T.STRUCT))


_JSON, _ARRAY, _STRUCT = _outline(_T.JSON), _outline(_T.ARRAY), _outline(_T.STRUCT)
_FLOAT64 = _outline(_T.DOUBLE)

# What a function's result is, whatever its arguments.
_MADE: dict[type, exp.DataType] = {
    **dict.fromkeys((exp.ParseJSON, exp.JSONExtract, exp.JSONArray, exp.JSONObject), _JSON),
    **dict.fromkeys((exp.GenerateSeries, exp.Split, exp.ArrayConcat, exp.JSONExtractArray), _ARRAY),
    **dict.fromkeys((exp.CurrentDate, exp.Date, exp.DateFromParts, exp.DateTrunc), _outline(_T.DATE)),
    **dict.fromkeys((exp.CurrentTimestamp, exp.TimestampTrunc, exp.UnixToTime), _outline(_T.TIMESTAMPTZ)),
    **dict.fromkeys((exp.CurrentDatetime, exp.DatetimeTrunc), _outline(_T.TIMESTAMP)),   # (sqlglot's DATETIME)
    **dict.fromkeys((exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop, exp.Corr,
                     exp.CovarPop, exp.CovarSamp, exp.Rand), _FLOAT64),
}
_MADE_BY_NAME = {"IEEE_DIVIDE": _FLOAT64}   # (sqlglot keeps it an Anonymous call)
# FLOAT64 where an argument is (a NUMERIC's SQRT is a NUMERIC, an INT64's a FLOAT64 that no NaN comes from).
_FLOAT_WINS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Abs, exp.Sqrt, exp.Pow, exp.Ln, exp.Log, exp.Exp,
               exp.SafeAdd, exp.SafeSubtract, exp.SafeMultiply, exp.SafeDivide)
# FLOAT64 where any of the values it may give is (IFNULL and COALESCE, IF: their supertype, conditional expressions doc;
# an IF's condition is a BOOL, never a FLOAT64)
_SUPERTYPE = (exp.Coalesce, exp.If)
# Of its (first) argument's type.
_OF_ARGUMENT = (exp.Alias, exp.Paren, exp.Max, exp.Min, exp.AnyValue)


@lru_cache(maxsize=512)
def _column_type(text: str) -> exp.DataType | None:
    """A table column's BigQuery type, as the schema spells it (shared: read, never changed)."""
    try:
        return exp.DataType.build(text, dialect="bigquery")
    except (SqlglotError, ValueError):
        return None


def is_array_of(value: exp.DataType | None, element: exp.DataType.Type) -> bool:
    return value is not None and value.is_type(_T.ARRAY) and bool(value.expressions) \
        and isinstance(value.expressions[0], exp.DataType) and value.expressions[0].is_type(element)


def type_of(value, schema, skip: exp.Expression | None = None, depth: int = 0) -> exp.DataType | None:
    """The BigQuery type (or outline) `value` is known to have, or None. `value`: an expression, a table column's type
    (str) or an UNNEST's Element, read where it stands; `skip`: a source its columns are not looked for in (the UNNEST
    whose array it is)."""
    if value is None or depth > MAX_DEPTH:
        return None
    again = depth + 1
    if isinstance(value, str):
        return _column_type(value)
    if isinstance(value, Element):
        array = type_of(value.array, schema, depth=again)
        return array.expressions[0] if array is not None and array.is_type(_T.ARRAY) and array.expressions \
            and isinstance(array.expressions[0], exp.DataType) else None
    if isinstance(value, _OF_ARGUMENT):
        return type_of(value.this, schema, skip, again)
    if isinstance(value, exp.Cast):   # (and SAFE_CAST)
        return value.to
    if isinstance(value, exp.Struct):
        return _STRUCT
    if isinstance(value, exp.Array):
        return _array_literal(value.expressions, schema, again)
    if isinstance(value, exp.ArrayAgg):
        element = type_of(value.this, schema, skip, again)
        return _outline(_T.ARRAY, element) if element is not None else _ARRAY
    if isinstance(value, exp.Column):
        own = type_of(source_of(value, schema, skip=skip), schema, skip, again)
        if own is not None:
            return own
        root = path_root(value)   # a field of a JSON column: `payload.items`
        return _JSON if root is not None and _is(type_of(source_of(root, schema), schema, depth=again), _T.JSON) \
            else None
    if isinstance(value, (exp.Bracket, exp.Dot)):   # an element, a field: JSON of JSON
        return _JSON if _is(type_of(value.this, schema, skip, again), _T.JSON) else None
    if isinstance(value, exp.Literal):
        return _FLOAT64 if not value.is_string and any(c in str(value.this) for c in ".eE") else None
    if isinstance(value, _FLOAT_WINS):
        return _FLOAT64 if any(_is(type_of(v, schema, skip, again), _T.DOUBLE)
                               for v in (value.this, value.args.get("expression")) if v is not None) else None
    if isinstance(value, _SUPERTYPE):
        return _FLOAT64 if any(_is(type_of(v, schema, skip, again), _T.DOUBLE) for v in value.iter_expressions()) \
            else None
    if isinstance(value, exp.Anonymous):
        return _MADE_BY_NAME.get(value.name.upper())
    return _MADE.get(type(value))


def _array_literal(elements: list[exp.Expression], schema, depth: int) -> exp.DataType:
    if len(elements) == 1 and isinstance(elements[0], exp.Query):   # ARRAY(SELECT [AS STRUCT] ...)
        return _outline(_T.ARRAY, _STRUCT) if elements[0].args.get("kind") == "STRUCT" else _ARRAY
    kinds = [type_of(e, schema, depth=depth) for e in elements]
    if kinds and all(k is not None for k in kinds) and len({k.this for k in kinds}) == 1:
        return _outline(_T.ARRAY, kinds[0])
    return _ARRAY


def _is(value: exp.DataType | None, kind: exp.DataType.Type) -> bool:
    return value is not None and value.is_type(kind)
