"""A STRING literal in a set operation's column whose other branches are DATEs, DATETIMEs, TIMEs or TIMESTAMPs.

Conversion rules ("Literal coercion"; "Supertypes"): a UNION, INTERSECT or EXCEPT column is of its branches' supertype,
and a STRING literal coerces to a DATE, DATETIME, TIME or TIMESTAMP, so `SELECT d FROM t UNION ALL SELECT
'2024-01-05'` is a DATE column (an unreadable literal fails the query, as its CAST does). DuckDB unifies DATE and
VARCHAR as VARCHAR: the column came back as text, and a later `WHERE d > DATE '2024-01-01'` on it failed.

A column's type is told by the SQL's form or the tables' types (expression_types.py); where a branch is a query the
columns of which cannot be lined up (a `*`, branches of different widths), nothing is changed. Each such literal is
made a CAST to the column's type before any rewrite (casts.py then reads it as BigQuery's CAST of a literal).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of

_T = exp.DataType.Type
_CIVIL = (_T.DATE, _T.DATETIME, _T.TIMESTAMP, _T.TIMESTAMPTZ, _T.TIME)


def _branches(node: exp.Expression) -> list[exp.Select] | None:
    """The SELECTs a set operation combines, in order; None where one is not a plain SELECT."""
    while isinstance(node, exp.Subquery):
        node = node.this
    if isinstance(node, exp.SetOperation):
        left, right = _branches(node.this), _branches(node.expression)
        return None if left is None or right is None else left + right
    return [node] if isinstance(node, exp.Select) and not node.is_star else None


def _is_text_literal(value: exp.Expression) -> bool:
    return isinstance(value, exp.Literal) and value.is_string


def _outermost_set_operations(tree: exp.Expression) -> Iterator[exp.SetOperation]:
    for node in tree.find_all(exp.SetOperation):
        parent = node.parent
        while isinstance(parent, exp.Subquery):
            parent = parent.parent
        if not isinstance(parent, exp.SetOperation):
            yield node


def _columns(operation: exp.SetOperation) -> Iterator[list[exp.Expression]]:
    """Each column's values, one a branch, where the branches line up and one of them is a STRING literal."""
    branches = _branches(operation)
    if not branches or len({len(b.expressions) for b in branches}) != 1:
        return
    for position in range(len(branches[0].expressions)):
        values = [b.expressions[position].unalias() for b in branches]
        if any(_is_text_literal(v) for v in values):
            yield values


def _civil_type(values: list[exp.Expression], schema) -> exp.DataType | None:
    """The one DATE/DATETIME/TIME/TIMESTAMP type the column's other values are known to have, or None."""
    kinds = [type_of(v, schema) for v in values if not _is_text_literal(v) and not isinstance(v, exp.Null)]
    known = [k for k in kinds if k is not None]
    if not known or len(known) != len(kinds) or len({k.this for k in known}) != 1 or known[0].this not in _CIVIL:
        return None
    return known[0]


def _coercions(tree: exp.Expression, schema) -> Iterator[tuple[exp.Literal, exp.DataType]]:
    for operation in _outermost_set_operations(tree):
        for values in _columns(operation):
            kind = _civil_type(values, schema)
            if kind is not None:
                yield from ((v, kind) for v in values if _is_text_literal(v))


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell a STRING literal's column in a set operation."""
    return tables_where(trees, lambda tree: any(next(_columns(operation), None) is not None
                                                for operation in _outermost_set_operations(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(next(_coercions(tree, schema), None) is not None for tree in trees)


def mark(tree: exp.Expression, schema) -> None:
    for literal, kind in list(_coercions(tree, schema)):
        literal.replace(exp.Cast(this=literal.copy(), to=kind.copy()))
