"""STRUCTs match by position in BigQuery and by field name in DuckDB (data types doc, "Comparable data types":
"Equality comparisons for structs are supported field by field, in field order. Field names are ignored."; conversion
rules: a STRUCT coerces to another STRUCT type field by field). Written as a ROW, DuckDB's unnamed struct, a STRUCT
constructor compares with and is stored into another STRUCT by position too.

- `STRUCT(x, y) = STRUCT(y, x)` was TRUE (sqlglot names the fields after the columns, and DuckDB paired x with x) and
  `STRUCT(1 AS a, 2 AS b) = STRUCT(1 AS b, 2 AS a)` FALSE: the constructors that are operands of `=`, `!=`, `IN`,
  `IS [NOT] DISTINCT FROM`, NULLIF and a simple CASE's WHEN are ROWs. Two STRUCT *columns* whose types name the
  same fields in another order still compare by name (their types are not in the SQL).
- Two constructors compared for equality (`(a, b) = (c, d)`, `!=`, `IN` a list of them) compare field by field, as
  ZetaSQL does: NULL where a field pair is NULL and none is FALSE. DuckDB took two NULL fields as equal, so
  `JOIN ... ON (a.x, a.y) = (b.x, b.y)` matched rows whose y is NULL on both sides. Written as `a.x = b.x AND a.y =
  b.y`, the join stays a hash join.
- `INSERT ... VALUES (STRUCT(1, 'x'))` into a STRUCT<a, b> column was refused: sqlglot names an anonymous STRUCT's
  fields _0, _1, which DuckDB would not match to the column's names.
"""
from __future__ import annotations

from sqlglot import exp

from .sqltree import field_value

_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In)


def _fields(value: exp.Expression) -> list[exp.Expression] | None:
    """The field values of a STRUCT constructor or tuple, by position; None for anything else. A typed constructor's
    (`STRUCT<a STRING, b INT64>(NULL, 1)`) are cast to its field types."""
    if isinstance(value, exp.Cast) and value.to.is_type(exp.DataType.Type.STRUCT):
        inner, types = _fields(value.this), [c.args.get("kind") for c in value.to.expressions]
        if inner is None or len(inner) != len(types) or any(not isinstance(t, exp.DataType) for t in types):
            return None
        return [exp.Cast(this=v, to=t.copy()) for v, t in zip(inner, types)]
    if isinstance(value, exp.Tuple):
        return list(value.expressions)
    if isinstance(value, exp.Struct):
        return [field_value(e) for e in value.expressions]
    return None


def _row(struct: exp.Struct) -> exp.Expression:
    return exp.Anonymous(this="ROW", expressions=[v.copy() for v in _fields(struct)])


def _equal(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """`left = right`, field by field where both are constructors of as many fields (recursively)."""
    a, b = _fields(left), _fields(right)
    if a is None or b is None or len(a) != len(b) or not a:
        return exp.EQ(this=left, expression=right)
    return exp.paren(exp.and_(*(_equal(x, y) for x, y in zip(a, b))), copy=False)


def _field_by_field(node: exp.Expression) -> exp.Expression | None:
    """`=`, `!=` or `IN (...)` of constructors as comparisons of their fields; None where the operands are not."""
    operands = [node.this, *node.expressions] if isinstance(node, exp.In) else [node.this, node.expression]
    if node.args.get("query") or node.args.get("unnest") or len(operands) < 2 \
            or any(_fields(o) is None for o in operands):
        return None
    if isinstance(node, exp.In):
        return exp.paren(exp.or_(*(_equal(node.this.copy(), i) for i in node.expressions)), copy=False)
    equal = _equal(node.this, node.expression)
    return exp.Not(this=equal) if isinstance(node, exp.NEQ) else equal


def compare_field_by_field(tree: exp.Expression) -> None:
    for node in list(tree.find_all(exp.EQ, exp.NEQ, exp.In)):
        if isinstance(node.parent, exp.Update) and node.arg_key == "expressions":
            continue   # (an assignment)
        replacement = _field_by_field(node)
        if replacement is not None:
            node.replace(replacement)


def _compared(tree: exp.Expression):
    """The operands that are compared for equality: of `=`, `IN`, ..., NULLIF, and a simple CASE's value and WHENs."""
    for comparison in tree.find_all(*_COMPARISONS, exp.Nullif):
        yield from comparison.iter_expressions()
    for case in tree.find_all(exp.Case):
        if case.this is not None:
            yield case.this
            yield from (when.this for when in case.args.get("ifs") or [])


def compare_by_position(tree: exp.Expression) -> None:
    for operand in list(_compared(tree)):
        for struct in list(operand.find_all(exp.Struct)) if isinstance(operand, exp.Struct) else []:
            struct.replace(_row(struct))


def insert_by_position(insert: exp.Insert) -> None:
    """An anonymous STRUCT in an INSERT (`STRUCT(1, 'x')`, `(1, 'x')`) takes the target column's fields by position."""
    for struct in list(insert.find_all(exp.Struct)):
        if struct.expressions and not any(isinstance(e, (exp.PropertyEQ, exp.Alias)) for e in struct.expressions):
            struct.replace(_row(struct))
