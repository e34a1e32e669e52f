"""Two STRUCT columns compared for equality, field by field with NULLs as ZetaSQL compares them.

Data types doc, "Comparable data types": STRUCTs compare "field by field, in field order"; ZetaSQL's rule (compliance
functions_testlib_2.cc, GetStructComparisonTests and StructIn) is that of `(a, b) = (c, d)`: FALSE where a field pair
differs, else NULL where a pair holds a NULL, else TRUE. DuckDB's STRUCT equality takes a NULL field as equal to a NULL
field, so `WHERE x = y` kept rows whose x and y differ only by NULLs, and `x != y` dropped them. struct_positions.py
mends two STRUCT constructors; here the operands are columns (or their fields) whose STRUCT types the tables' types
tell (expression_types.py): each `x = y`, `x != y` and `x IN (y, z)` is written as the comparisons of their fields
(`x.a = y.a AND x.b = y.b`, a STRUCT field within compared the same way), before any rewrite. A JOIN on it stays a
hash join. Where a type is not known (a name two tables have, a star), DuckDB's comparison stands.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of

_T = exp.DataType.Type
_OPERATORS = (exp.EQ, exp.NEQ, exp.In)


def _operands(node: exp.Expression) -> list[exp.Expression] | None:
    """The values `node` compares, where each is a column or a field of one (else None: no STRUCT column pair)."""
    if isinstance(node, exp.In):
        if any(node.args.get(k) for k in ("query", "unnest", "field")):
            return None
        values = [node.this, *node.expressions]
    else:
        values = [node.this, node.expression]
    if isinstance(node.parent, exp.Update) and node.arg_key == "expressions":
        return None   # (an assignment)
    return values if len(values) >= 2 and all(isinstance(v, (exp.Column, exp.Dot)) for v in values) else None


def _comparisons(tree: exp.Expression) -> Iterator[tuple[exp.Expression, list[exp.Expression]]]:
    for node in tree.find_all(*_OPERATORS):
        values = _operands(node)
        if values is not None:
            yield node, values


def _fields(kind: exp.DataType | None) -> list[tuple[str, exp.DataType]] | None:
    """A STRUCT type's fields (name, type), in order; None for any other type or a STRUCT whose fields are not told."""
    if kind is None or not kind.is_type(_T.STRUCT) or not kind.expressions:
        return None
    fields = [(c.name, c.args.get("kind")) for c in kind.expressions if isinstance(c, exp.ColumnDef)]
    ok = len(fields) == len(kind.expressions) and all(n and isinstance(t, exp.DataType) for n, t in fields)
    return fields if ok else None


def _field(value: exp.Expression, name: str) -> exp.Expression:
    return exp.Dot(this=value.copy(), expression=exp.to_identifier(name, quoted=True))


def _equal(a: exp.Expression, a_kind: exp.DataType, b: exp.Expression, b_kind: exp.DataType) -> exp.Expression:
    """`a = b` field by field (by position: the names may differ), recursively into STRUCT fields."""
    a_fields, b_fields = _fields(a_kind), _fields(b_kind)
    if a_fields is None or b_fields is None or len(a_fields) != len(b_fields):
        return exp.EQ(this=a.copy(), expression=b.copy())
    return exp.paren(exp.and_(*(_equal(_field(a, an), at, _field(b, bn), bt)
                                for (an, at), (bn, bt) in zip(a_fields, b_fields))), copy=False)


def _struct_types(values: list[exp.Expression], schema) -> list[exp.DataType] | None:
    kinds = [type_of(v, schema) for v in values]
    return kinds if all(_fields(k) is not None for k in kinds) else None   # type: ignore[return-value]


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that two compared columns are STRUCTs."""
    return tables_where(trees, lambda tree: next(_comparisons(tree), None) is not None)


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    if not any("STRUCT" in kind.upper() for _, columns in schema or () for _, kind in columns):
        return False   # no table of the statement holds a STRUCT
    return any(_struct_types(values, schema) is not None for tree in trees for _, values in _comparisons(tree))


def mark(tree: exp.Expression, schema) -> None:
    if schema is None:
        return
    for node, values in list(_comparisons(tree)):
        kinds = _struct_types(values, schema)
        if kinds is None:
            continue
        if isinstance(node, exp.In):
            first, first_kind = values[0], kinds[0]
            new = exp.paren(exp.or_(*(_equal(first, first_kind, v, k) for v, k in zip(values[1:], kinds[1:]))),
                            copy=False)
        else:
            equal = _equal(values[0], kinds[0], values[1], kinds[1])
            new = exp.Not(this=equal) if isinstance(node, exp.NEQ) else equal
        node.replace(new)
