"""STRUCTs match by position in BigQuery and by field name in DuckDB (data types doc, "Comparable data types":
"Equality comparisons for structs are supported field by field, in field order. Field names are ignored."; conversion
rules: a STRUCT coerces to another STRUCT type field by field). Written as a ROW, DuckDB's unnamed struct, a STRUCT
constructor compares with and is stored into another STRUCT by position too.

- `STRUCT(x, y) = STRUCT(y, x)` was TRUE (sqlglot names the fields after the columns, and DuckDB paired x with x) and
  `STRUCT(1 AS a, 2 AS b) = STRUCT(1 AS b, 2 AS a)` FALSE: the constructors that are operands of `=`, `!=`, `IN`,
  `IS [NOT] DISTINCT FROM`, NULLIF and a simple CASE's WHEN are ROWs. Two STRUCT *columns* whose types name the
  same fields in another order still compare by name (their types are not in the SQL).
- `INSERT ... VALUES (STRUCT(1, 'x'))` into a STRUCT<a, b> column was refused: sqlglot names an anonymous STRUCT's
  fields _0, _1, which DuckDB would not match to the column's names.
"""
from __future__ import annotations

from sqlglot import exp

_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In)


def _row(struct: exp.Struct) -> exp.Expression:
    values = [e.expression if isinstance(e, exp.PropertyEQ) else e.this if isinstance(e, exp.Alias) else e
              for e in struct.expressions]
    return exp.Anonymous(this="ROW", expressions=[v.copy() for v in values])


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
