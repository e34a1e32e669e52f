"""A bare subscript `x[i]` means what x holds: an ARRAY's element at OFFSET(i), an error outside the array; a JSON
array's element i counted from 0, NULL outside it (operators doc, "Array subscript operator", "JSON subscript
operator"). sqlglot adds 1 to every bare index for DuckDB's 1-based lists: a JSON subscript read the next element
(`payload.items[0]` the second item), and an index past an ARRAY's end was NULL.

Which x is shows in the SQL (an array or JSON literal or constructor, a function of known result) or in the tables'
types (expression_types.py): the Bracket is marked SUBSCRIPT_OF "ARRAY" or "JSON" and rewritten for it
(rewrites._array_subscript). Where neither tells, the subscript stays as it was (an ARRAY's element, NULL past its
end).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of

SUBSCRIPT_OF = "subscript_of"

_T = exp.DataType.Type


def _bare_subscripts(tree: exp.Expression) -> Iterator[exp.Bracket]:
    for bracket in tree.find_all(exp.Bracket):
        if bracket.args.get("offset") is None and len(bracket.expressions) == 1 \
                and not (isinstance(bracket.expressions[0], exp.Literal) and bracket.expressions[0].is_string):
            yield bracket


def _kind(value: exp.Expression, schema) -> str | None:
    """"ARRAY", "JSON", or None when `value` is not known to be either."""
    known = type_of(value, schema)
    return next((kind.name for kind in (_T.ARRAY, _T.JSON) if known is not None and known.is_type(kind)), None)


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell what a bare subscript's base is."""
    return tables_where(trees, lambda tree: any(isinstance(b.this, (exp.Column, exp.Dot, exp.Bracket))
                                                for b in _bare_subscripts(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_kind(b.this, schema) for tree in trees for b in _bare_subscripts(tree))


def mark(tree: exp.Expression, schema) -> None:
    for bracket in list(_bare_subscripts(tree)):
        kind = _kind(bracket.this, schema)
        if kind is not None:
            bracket.meta[SUBSCRIPT_OF] = kind
