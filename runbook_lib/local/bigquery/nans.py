"""NaN as BigQuery treats it (data types doc, "Floating point semantics"; operators doc, comparison operators;
aggregate functions doc, MIN), where DuckDB's total order puts NaN above +inf and equal to itself: comparisons with a
NaN are FALSE (`!=` TRUE), a NaN sorts before -inf ascending, and MIN and LEAST of a NaN are NaN. Which comparisons
have a FLOAT64 operand by the tables' types is marked beforehand by nan_comparisons.py; the rest is read here from
the SQL's form.
"""
from __future__ import annotations

from sqlglot import exp

from .nan_comparisons import NAN_OPERANDS, nan_aware, wrong_with_nan
from .nan_comparisons import operands as nan_operands_of
from .numerics import common_supertype
from .sort_keys import NO_NAN
from .sqltree import is_int_literal, is_random, tpl, volatile


_FLOAT_TYPES = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


def _is_float64(node: exp.Expression) -> bool:
    """FLOAT64 by its form alone (the translation knows no column's type): a CAST to FLOAT64 (decimal
    literals are one by now), or ABS, a sign or arithmetic over one (FLOAT64 wins over INT64 and NUMERIC)."""
    while isinstance(node, (exp.Paren, exp.Neg, exp.Abs)):
        node = node.this
    if isinstance(node, exp.Cast):   # and TryCast (SAFE_CAST)
        return node.to.this in _FLOAT_TYPES
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
        return _is_float64(node.this) or _is_float64(node.expression)
    return False


def nan_comparison(node: exp.Expression) -> exp.Expression | None:
    """Operators doc (comparison operators): "All comparisons with NaN return FALSE, except for != and
    <>, which return TRUE"; DuckDB orders NaN above +inf, so NaN = NaN, NaN <= NaN and NaN > 1 are
    true there. Corrected (nan_comparisons.nan_aware) where an operand is FLOAT64 by its form
    (_is_float64) or by the tables' types (marked NAN_OPERANDS, nan_comparisons.py); a NULL operand
    still gives NULL. Operands are evaluated more than once, so a random one is left alone."""
    wrong = node.meta.get(NAN_OPERANDS)
    if wrong is None:
        wrong = wrong_with_nan(node) if any(_is_float64(v) for v in nan_operands_of(node)) else ()
    if not wrong or any(is_random(v) for v in nan_operands_of(node)):
        return None
    return nan_aware(node, wrong)


# FLOAT64 or not, known to DuckDB alone (TYPEOF folds to a constant per column): FALSE for a NaN,
# NULL for NULL, TRUE for any other value of any type (TRY_CAST binds for every type; it is never
# reached for a type other than DOUBLE).
_NOT_NAN = "NOT (TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') AND ISNAN(TRY_CAST(__x__ AS DOUBLE)))"


def nan_sorts_first(node: exp.Order) -> None:
    """Data types doc (floating point semantics): ascending, NULL first, then NaN, then -inf .. +inf;
    descending the reverse. DuckDB sorts NaN above +inf. Before each sort key goes _NOT_NAN of it, in
    the same direction with the same NULLs placement: a NaN comes before the other numbers in
    ascending order, after them in descending, and the NULLs stay where the key puts them; for any
    other type it is a constant and changes nothing. For ORDER BY of a query, of a window (not one
    with a RANGE offset, which takes one key alone) and of an aggregate."""
    window = node.parent if isinstance(node.parent, exp.Window) else None
    spec = window.args.get("spec") if window is not None else None
    if spec is not None and spec.args.get("kind") == "RANGE" and any(
            isinstance(spec.args.get(end), exp.Expression) for end in ("start", "end")):
        return None
    keys = []
    for ordered in node.expressions:
        value = None if ordered.meta_get(NO_NAN) else _sorted_value(ordered)   # (NO_NAN: sort_keys.py)
        if value is not None:
            keys.append(exp.Ordered(this=tpl(_NOT_NAN, x=value), desc=ordered.args.get("desc"),
                                    nulls_first=ordered.args.get("nulls_first")))
        keys.append(ordered)
    node.set("expressions", keys)
    return None


def _sorted_value(ordered: exp.Ordered) -> exp.Expression | None:
    """What an ORDER BY key sorts by, as an expression over the FROM clause (a select list alias or
    position stands for its expression: DuckDB reads a name inside an expression as the table's
    column first); None where no NaN can be or the key is not told apart so (a constant, a random
    value, a position in a set operation's ORDER BY, a window function by its alias)."""
    value = ordered.this
    select = ordered.parent.parent if isinstance(ordered.parent.parent, exp.Select) else None
    projections = select.expressions if select is not None else []
    if is_int_literal(value):
        at = int(value.this) - 1
        value = projections[at] if 0 <= at < len(projections) else None
    elif isinstance(value, exp.Column) and not value.table:
        value = next((p for p in projections if isinstance(p, exp.Alias) and p.alias == value.name), value)
    if isinstance(value, exp.Alias):
        value = value.this
    if value is None or isinstance(value, (exp.Literal, exp.Null, exp.Boolean, exp.Star)) \
            or value.find(exp.Window) is not None or is_random(value):
        return None
    return value.copy()


# MIN and LEAST with a NaN: aggregate functions doc (MIN): "If the argument is NaN for any row in the group, returns
# NaN"; mathematical functions doc: "return NaN if any of the arguments is NaN". DuckDB orders NaN above +inf, so its
# MIN and LEAST skip a NaN, while MAX and GREATEST already return it: where MAX (GREATEST) of the same values is a
# NaN, it is the answer. TYPEOF folds to a constant when DuckDB binds, so for any type other than FLOAT64 the CASE
# keeps MIN alone and DuckDB computes no MAX (checked with EXPLAIN).
_NAN_FIRST = ("CASE WHEN TYPEOF(__max__) IN ('DOUBLE', 'FLOAT') AND ISNAN(TRY_CAST(__max__ AS DOUBLE)) "
              "THEN __max__ ELSE __min__ END")


def nan_min(node: exp.Min) -> exp.Expression | None:
    if isinstance(node.parent, (exp.Window, exp.Filter)) or volatile(node):
        return None   # (a window: nan_min_window)
    return tpl(_NAN_FIRST, max=exp.Max(this=node.this.copy()), min=node)


def nan_min_window(node: exp.Window) -> exp.Expression | None:
    if not isinstance(node.this, exp.Min) or volatile(node.this):
        return None
    largest = node.copy()
    largest.set("this", exp.Max(this=node.this.this.copy()))
    return tpl(_NAN_FIRST, max=largest, min=node)


def nan_least(node: exp.Least) -> exp.Expression | None:
    common_supertype(node)
    if volatile(node):
        return None
    greatest = node.copy()
    return tpl(_NAN_FIRST, max=exp.Greatest(**greatest.args), min=node)
