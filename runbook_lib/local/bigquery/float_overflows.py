"""FLOAT64 `+ - * /` that overflow, where an operand is a FLOAT64 the tables' types or the SQL tell
(expression_types.py).

ZetaSQL's rule for FLOAT64 arithmetic (functions/arithmetics.h, Add/Subtract/Multiply/Divide of a double): a result
that is not finite from operands that both are is an error ("double overflow: 1.7976931348623157e+308 * 2"), and a
NULL in SAFE_ADD, SAFE_SUBTRACT, SAFE_MULTIPLY and SAFE_DIVIDE (compliance functions_testlib_math.cc: `DBL_MAX * 2`
and `1 / 5e-324` are OUT_OF_RANGE, their SAFE_ forms NULL); an infinite operand gives the infinite (or NaN) result.
DuckDB follows IEEE 754 and never fails: `1.7976931348623157e308 * 2.0` was +inf, and SAFE_MULTIPLY's too.

Only the root of each FLOAT64 arithmetic expression is checked, against the values it is made of (its leaves: the
operands that are no `+ - * /`): an overflow inside makes the root infinite or NaN (inf - inf) from finite leaves, so
the SQL holds the root twice (its test and its value) and each leaf once more, never the nested operators again
(whose copies would multiply level by level). (Missed: an overflow divided away, `1 / (x * y)` of a huge product is
0.) Operators inside a SAFE_ function or a SAFE. call are
left alone: an ERROR() there is what DuckDB's TRY() would hide, and the SAFE_ form's own check gives its NULL.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlglot
from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of

_OPERATORS = (exp.Add, exp.Sub, exp.Mul, exp.Div)
_SAFE_OPERATORS = (exp.SafeAdd, exp.SafeSubtract, exp.SafeMultiply, exp.SafeDivide)
_INSIDE_SAFE = (*_SAFE_OPERATORS, exp.SafeFunc)
_FLOATS = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
CHECKED = "float_overflow_checked"   # (a wrapper's own copy of the root is not checked again)


def _arithmetic(tree: exp.Expression) -> Iterator[exp.Expression]:
    yield from tree.find_all(*_OPERATORS, *_SAFE_OPERATORS)


def _is_float64(value: exp.Expression, schema) -> bool:
    known = type_of(value, schema)
    return known is not None and known.this in _FLOATS


def _enclosing(node: exp.Expression) -> exp.Expression | None:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return parent


def _is_root(node: exp.Expression, schema) -> bool:
    """A FLOAT64 `+ - * /` (or SAFE_ form) that is no operand of another operator, nor inside a SAFE_ call."""
    if node.meta.get(CHECKED):
        return False
    if isinstance(node, _SAFE_OPERATORS):
        return any(_is_float64(v, schema) for v in (node.this, node.expression))
    return not isinstance(_enclosing(node), _OPERATORS) and node.find_ancestor(*_INSIDE_SAFE) is None \
        and _is_float64(node, schema)


def _leaves(node: exp.Expression) -> Iterator[exp.Expression]:
    for operand in (node.this, node.expression):
        while isinstance(operand, exp.Paren):
            operand = operand.this
        if isinstance(operand, _OPERATORS):
            yield from _leaves(operand)
        elif not (isinstance(operand, exp.Null) or (isinstance(operand, exp.Literal) and not operand.is_string)):
            yield operand   # (a number literal is finite)


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that an operator's operand is a FLOAT64."""
    return tables_where(trees, lambda tree: any(a.find(exp.Column) is not None for a in _arithmetic(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_is_root(a, schema) for tree in trees for a in _arithmetic(tree))


def mark(tree: exp.Expression, schema) -> None:
    """Put each FLOAT64 arithmetic root of `tree` in BigQuery's check (the tree is BigQuery's, before any rewrite)."""
    for node in [a for a in _arithmetic(tree) if _is_root(a, schema)]:
        node.replace(_checked(node))


def _checked(node: exp.Expression) -> exp.Expression:
    """CASE WHEN the result is not finite and its leaves are THEN an error (SAFE_: NULL) ELSE the result END. (A
    NULL leaf makes the result NULL, never an error.)"""
    node.meta[CHECKED] = True
    failure = "NULL" if isinstance(node, _SAFE_OPERATORS) else \
        "ERROR(" + exp.Literal.string("double overflow: " + node.sql("bigquery")).sql("bigquery") + ")"
    leaves = list(_leaves(node))
    finite_leaves = " AND ".join(f"NOT IS_INF(__l{i}__) AND NOT IS_NAN(__l{i}__)" for i in range(len(leaves)))
    overflowed = "(IS_INF(__r__) OR IS_NAN(__r__))" + (f" AND {finite_leaves}" if leaves else "")
    tree = _parsed(f"CASE WHEN {overflowed} THEN {failure} ELSE __r__ END")
    values = {"r": node, **{f"l{i}": leaf for i, leaf in enumerate(leaves)}}
    for column in list(tree.find_all(exp.Column)):
        column.replace(values[column.name[2:-2]].copy())
    return exp.paren(tree)


def _parsed(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="bigquery")
