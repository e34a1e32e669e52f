"""A bare subscript `x[i]` means what x holds: an ARRAY's element at OFFSET(i), an error outside the array; a JSON
array's element i counted from 0, NULL outside it (operators doc, "Array subscript operator", "JSON subscript
operator"). sqlglot adds 1 to every bare index for DuckDB's 1-based lists: a JSON subscript read the next element
(`payload.items[0]` the second item), and an index past an ARRAY's end was NULL.

Which x is shows in the SQL (an array or JSON literal or constructor, a function of known result) or in the tables'
types (column_sources.py): the Bracket is marked SUBSCRIPT_OF "ARRAY" or "JSON" and rewritten for it
(rewrites._array_subscript). Where neither tells, the subscript stays as it was (an ARRAY's element, NULL past its
end).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import MAX_DEPTH, Element, dataset_tables, path_root, source_of

SUBSCRIPT_OF = "subscript_of"

_JSON_MAKERS = (exp.ParseJSON, exp.JSONExtract, exp.JSONArray, exp.JSONObject)
_ARRAY_MAKERS = (exp.Array, exp.ArrayAgg, exp.GenerateSeries, exp.Split, exp.ArrayConcat, exp.JSONExtractArray)


def _bare_subscripts(tree: exp.Expression) -> Iterator[exp.Bracket]:
    for bracket in tree.find_all(exp.Bracket):
        if bracket.args.get("offset") is None and len(bracket.expressions) == 1 \
                and not (isinstance(bracket.expressions[0], exp.Literal) and bracket.expressions[0].is_string):
            yield bracket


def _kind(value: exp.Expression | str | None, schema, depth: int = 0) -> str | None:
    """"ARRAY", "JSON", or None when `value` (an expression, or a table column's BigQuery type) is not known to be
    either."""
    if value is None or depth > MAX_DEPTH:
        return None
    if isinstance(value, str):
        kind = value.upper().split("<", 1)[0].strip()
        return kind if kind in ("ARRAY", "JSON") else None
    if isinstance(value, Element):   # an UNNEST's element: JSON in an ARRAY<JSON>
        array = value.array.this if isinstance(value.array, exp.Alias) else value.array
        if isinstance(array, exp.Column):
            array = source_of(array, schema)
        if isinstance(array, str):
            return "JSON" if array.upper().replace(" ", "") == "ARRAY<JSON>" else None
        if isinstance(array, exp.Alias):
            array = array.this
        if isinstance(array, exp.Array) and array.expressions:
            return "JSON" if _kind(array.expressions[0], schema, depth + 1) == "JSON" else None
        return None
    if isinstance(value, exp.Alias):
        value = value.this
    if isinstance(value, exp.Paren):
        return _kind(value.this, schema, depth + 1)
    if isinstance(value, _JSON_MAKERS):
        return "JSON"
    if isinstance(value, exp.Bracket):   # an element of JSON is JSON (BigQuery has no ARRAY of ARRAYs)
        return "JSON" if _kind(value.this, schema, depth + 1) == "JSON" else None
    if isinstance(value, _ARRAY_MAKERS):
        return "ARRAY"
    if isinstance(value, exp.Cast):
        return _kind(value.to.sql("bigquery"), schema, depth + 1)
    if isinstance(value, exp.Column):
        own = _kind(source_of(value, schema), schema, depth + 1)
        if own is not None:
            return own
        root = path_root(value)   # a field of a JSON column: `payload.items`
        return "JSON" if root is not None and _kind(source_of(root, schema), schema, depth + 1) == "JSON" else None
    if isinstance(value, exp.Dot):   # `(expr).field`: JSON where expr is
        return "JSON" if _kind(value.this, schema, depth + 1) == "JSON" else None
    return None


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell what a bare subscript's base is."""
    return frozenset().union(*(dataset_tables(tree) for tree in trees if any(
        isinstance(b.this, (exp.Column, exp.Dot, exp.Bracket)) for b in _bare_subscripts(tree))))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_kind(b.this, schema) for tree in trees for b in _bare_subscripts(tree))


def mark(tree: exp.Expression, schema) -> None:
    for bracket in list(_bare_subscripts(tree)):
        kind = _kind(bracket.this, schema)
        if kind is not None:
            bracket.meta[SUBSCRIPT_OF] = kind
