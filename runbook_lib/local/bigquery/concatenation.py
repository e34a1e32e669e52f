"""CONCAT and `||` of values that are not STRING: each written as BigQuery's CAST(value AS STRING) writes it.

String functions doc (CONCAT): "All values must be BYTES or data types that can be cast to STRING", and the result is
STRING (BYTES for BYTES); operators doc: `||` is CONCAT. DuckDB's `||` writes a value with its own text: a NUMERIC
with its scale's zeros (`CONCAT('x', NUMERIC '1.10')` was 'x1.100000000', BigQuery's is 'x1.1'; compliance
concat_function.test `concat_numeric`), a FLOAT64 as `-0.0`; and CONCAT of a single value kept that value's type
(`CONCAT(DATE '2020-10-10')` was a DATE, `concat_date`). Each argument goes through casts.fix_cast as a CAST to STRING,
so the two texts cannot drift apart.

A BYTES value cannot take part in a STRING conversion's CASE (DuckDB will not mix BLOB and VARCHAR branches), and
BigQuery never mixes BYTES with the other types in one CONCAT. So a concatenation with an argument that is BYTES by
its form (a bytes literal, a CAST to BYTES) is left alone, as is `||` of ARRAYs (ARRAY_CONCAT). Where no argument
shows its type by its form (columns and function calls only: `CONCAT(name, amount)`), the tables' types tell it
(expression_types.py): the concatenation is marked AS_STRINGS before any rewrite when an argument is known to be of a
type other than BYTES or an ARRAY (and none is known to be one of those), else DuckDB's text stays.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .casts import fix_cast
from .column_sources import tables_where
from .expression_types import type_of

AS_STRINGS = "as_strings"

_T = exp.DataType.Type
_BYTES_TYPES = (_T.BINARY, _T.VARBINARY, _T.BLOB)


def _not_text(value: exp.Expression) -> bool:
    """BYTES or an ARRAY by its form (`||` of arrays is ARRAY_CONCAT): a concatenation left alone."""
    if isinstance(value, (exp.ByteString, exp.Array)):
        return True
    return isinstance(value, (exp.Cast, exp.TryCast)) and (value.to.this in _BYTES_TYPES or value.to.is_type("array"))


def _shows_its_type(value: exp.Expression) -> bool:
    """A value whose form says it is neither BYTES nor an ARRAY: a literal, a boolean, a CAST to another type."""
    return isinstance(value, (exp.Literal, exp.Boolean, exp.Cast, exp.TryCast)) and not _not_text(value)


def _as_string(value: exp.Expression) -> exp.Expression:
    if isinstance(value, exp.Literal) and value.is_string:
        return value
    cast = exp.Cast(this=value, to=exp.DataType.build("TEXT"))
    return fix_cast(cast) or cast


def _chain(node: exp.DPipe) -> list[exp.Expression]:
    """The operands of `a || b || c` (sqlglot nests them to the left)."""
    operands = []
    for side in (node.this, node.expression):
        operands.extend(_chain(side) if isinstance(side, exp.DPipe) else [side])
    return operands


def _values(node: exp.Concat | exp.DPipe) -> list[exp.Expression]:
    return list(node.expressions) if isinstance(node, exp.Concat) else _chain(node)


def _undecided(node: exp.Concat | exp.DPipe) -> bool:
    """Whether the SQL's form alone leaves open if `node` is of STRINGs (no argument shows its type, none is BYTES)."""
    values = _values(node)
    return not any(_not_text(v) or _shows_its_type(v) for v in values)


def _concatenations(tree: exp.Expression) -> Iterator[exp.Concat | exp.DPipe]:
    """Each CONCAT, and each whole `a || b || c` chain (its outermost `||`)."""
    for node in tree.find_all(exp.Concat, exp.DPipe):
        if not isinstance(node.parent, exp.DPipe):
            yield node


def _strings_by_type(node: exp.Concat | exp.DPipe, schema) -> bool:
    """Whether the types say `node` is of STRINGs: an argument of a type other than BYTES or an ARRAY, and none
    of those."""
    kinds = [type_of(v, schema) for v in _values(node)]
    known = [k for k in kinds if k is not None]
    return bool(known) and not any(k.this in _BYTES_TYPES or k.is_type(_T.ARRAY) for k in known)


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that a concatenation is of STRINGs."""
    return tables_where(trees, lambda tree: any(_undecided(c) for c in _concatenations(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_undecided(c) and _strings_by_type(c, schema) for tree in trees for c in _concatenations(tree))


def mark(tree: exp.Expression, schema) -> None:
    for node in list(_concatenations(tree)):
        if _undecided(node) and _strings_by_type(node, schema):
            node.meta[AS_STRINGS] = True


def _converted(node: exp.Concat | exp.DPipe) -> list[exp.Expression] | None:
    values = _values(node)
    if any(_not_text(v) for v in values) or not (any(_shows_its_type(v) for v in values) or node.meta.get(AS_STRINGS)):
        return None
    return [_as_string(v) for v in values]


def concat_as_strings(node: exp.Concat) -> exp.Expression | None:
    values = _converted(node)
    if values is not None:
        node.set("expressions", values)
    return None


def pipes_as_strings(node: exp.DPipe) -> exp.Expression | None:
    """`a || b || c`, rewritten once, where the outermost `||` sees the whole chain."""
    if isinstance(node.parent, exp.DPipe):
        return None
    values = _converted(node)
    if values is None:
        return None
    joined = values[0]
    for value in values[1:]:
        joined = exp.DPipe(this=joined, expression=value, safe=node.args.get("safe"))
    return joined
