"""Comparisons with a NaN, where an operand is a FLOAT64 the tables' types or the SQL tell (expression_types.py).

Operators doc ("Comparison operators"): "All comparisons with NaN return FALSE, except for != and <>, which return
TRUE"; a NULL operand gives NULL. `x BETWEEN a AND b` is `x >= a AND x <= b` and `x IN (a, b)` is `x = a OR x = b`
there, so a NaN never lies between two bounds nor is in a list (compliance comparison_functions.test
`between_with_nan_and_null`: `NaN BETWEEN 1 AND NULL` is FALSE, `NaN BETWEEN NULL AND NULL` NULL). DuckDB orders NaN
above +inf and equal to itself: a NaN in a FLOAT64 column passed `WHERE x > 0` (a filtered SUM became NaN), and
`JOIN ... ON a.x = b.x` matched NaN to NaN.

nans.nan_comparison corrects a comparison whose operand is FLOAT64 by its form (a CAST, a decimal literal); a
column's type is in the schema, a CTE or a subquery, so here each comparison with a FLOAT64 operand is marked
(NAN_OPERANDS: the operands whose NaN DuckDB answers otherwise) before any rewrite, for the rewrite to read. Only
those operands are checked: both sides of = and != (a NaN against a number is already FALSE / TRUE in DuckDB), the
side a NaN would win on of < <= > >= (the right of <, the left of >), BETWEEN's value and upper bound, IN's value
when an item could be NaN. A number literal, NULL or a query parameter is taken as no NaN: a FLOAT64 parameter set
to NaN is not corrected, which spares each `WHERE id = @id` a read of the tables' types.

The corrected form keeps DuckDB's comparison and adds a condition beside it (`a = b AND NOT ISNAN(a + b)`), so a join
on it is still a hash join (a CASE around it made DuckDB compare every pair of rows).

Not corrected: `JOIN ... USING (x)` over FLOAT64 columns (no comparison in the tree; an ON in its place would change
what `SELECT *` gives), `x IN (SELECT ...)`, `x IN UNNEST(...)`, and a simple `CASE x WHEN y`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of
from .sort_keys import may_hold_nan
from .sqltree import tpl

NAN_OPERANDS = "nan_operands"

_FLOATS = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
_OPERATORS: dict[type[exp.Expression], str] = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=",
                                               exp.GT: ">", exp.GTE: ">="}
# The operand whose NaN DuckDB ranks above every number, making the comparison TRUE.
_RANKED_SIDE = {exp.LT: "expression", exp.LTE: "expression", exp.GT: "this", exp.GTE: "this"}
COMPARISONS = (*_OPERATORS, exp.Between, exp.In)


def _number_literal(value: exp.Expression) -> bool:
    """A number literal, also under a sign or a CAST: neither NaN nor NULL."""
    while isinstance(value, (exp.Paren, exp.Neg, exp.Cast)):   # (and SAFE_CAST)
        value = value.this
    return isinstance(value, exp.Literal) and not value.is_string


def _never_nan(value: exp.Expression) -> bool:
    """No NaN by its form: a number literal, NULL or a query parameter."""
    return _number_literal(value) or isinstance(value, (exp.Null, exp.Parameter, exp.Placeholder))


def operands(node: exp.Expression) -> list[exp.Expression]:
    """The values `node` compares."""
    if isinstance(node, exp.In):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Between):
        return [node.this, node.args["low"], node.args["high"]]
    return [node.this, node.expression]


def wrong_with_nan(node: exp.Expression, may_be_nan=lambda v: not _never_nan(v)) -> tuple[str, ...]:
    """The operands (by argument name) of comparison `node` whose NaN DuckDB answers otherwise than BigQuery, of those
    that `may_be_nan`; () when no NaN can change its answer. (An assignment `SET x = 1.5` is no comparison.)"""
    if isinstance(node.parent, exp.Update) and node.arg_key == "expressions":
        return ()
    if isinstance(node, (exp.EQ, exp.NEQ)):
        return ("this", "expression") if may_be_nan(node.this) and may_be_nan(node.expression) else ()
    if isinstance(node, exp.Between):
        return tuple(key for key in ("this", "high") if may_be_nan(node.args[key]))
    if isinstance(node, exp.In):
        if any(node.args.get(key) for key in ("query", "unnest", "field")):
            return ()   # (a subquery's or an array's values: not corrected)
        return ("this",) if may_be_nan(node.this) and any(may_be_nan(i) for i in node.expressions) else ()
    side = _RANKED_SIDE[type(node)]
    return (side,) if may_be_nan(node.args[side]) else ()


def _comparisons(tree: exp.Expression) -> Iterator[exp.Expression]:
    yield from tree.find_all(*COMPARISONS)


def _is_float64(value: exp.Expression, schema) -> bool:
    known = type_of(value, schema)
    return known is not None and known.this in _FLOATS


def _marked(node: exp.Expression, schema) -> tuple[str, ...]:
    """NAN_OPERANDS of `node` by the types: () unless an operand is FLOAT64."""
    def may_be_nan(value: exp.Expression) -> bool:
        if _never_nan(value):
            return False
        known = type_of(value, schema)
        return known is None or known.this in _FLOATS
    wrong = wrong_with_nan(node, may_be_nan)
    return wrong if wrong and any(_is_float64(v, schema) for v in operands(node)) else ()


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that a comparison is of a FLOAT64 that may be NaN."""
    return tables_where(trees, lambda tree: any(wrong_with_nan(c) and c.find(exp.Column) is not None
                                                for c in _comparisons(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    if not any(may_hold_nan(kind) for _, columns in schema or () for _, kind in columns):
        return False   # no table of the statement holds a FLOAT64
    return any(_marked(c, schema) for tree in trees for c in _comparisons(tree))


def mark(tree: exp.Expression, schema) -> None:
    """Mark each comparison of `tree` with its NAN_OPERANDS, () for none: the types say more than the form the rewrite
    sees (`x IN (1.5, i)` of an INT64 i needs no correction)."""
    for comparison in list(_comparisons(tree)):
        comparison.meta[NAN_OPERANDS] = _marked(comparison, schema)


def nan_aware(node: exp.Expression, wrong: tuple[str, ...]) -> exp.Expression:
    """`node` answering as BigQuery's with a NaN in the operands named `wrong` (wrong_with_nan)."""
    if isinstance(node, exp.Between):   # value >= low AND value <= high
        low = exp.GTE(this=node.this.copy(), expression=node.args["low"])
        high = exp.LTE(this=node.this, expression=node.args["high"])
        return exp.paren(exp.and_(nan_aware(low, ("this",) if "this" in wrong else ()),
                                  nan_aware(high, ("expression",) if "high" in wrong else ())))
    if not wrong:
        return node
    if isinstance(node, exp.In):
        # NaN IN (1.0, NULL) is NULL: NaN = NULL is, and FALSE OR NULL is
        nullable = [i for i in node.expressions if not _number_literal(i)]
        not_nan = tpl("NOT ISNAN(__x__)", x=node.this.copy())
        if nullable:
            any_null = exp.or_(*(exp.Is(this=i.copy(), expression=exp.Null()) for i in nullable))
            not_nan = exp.or_(not_nan, exp.Nullif(this=any_null, expression=exp.true()))
        return exp.paren(exp.and_(node, not_nan))
    a, b, operator = node.this, node.expression, _OPERATORS[type(node)]
    if isinstance(node, exp.EQ):   # (a + b is NaN where a or b is, or +inf meets -inf, which are not equal)
        return tpl("(__a__ = __b__ AND NOT ISNAN(__a__ + __b__))", a=a, b=b)
    if isinstance(node, exp.NEQ):
        return tpl("(__a__ <> __b__ OR ISNAN(__a__ + __b__))", a=a, b=b)
    ranked, other = (b, a) if wrong == ("expression",) else (a, b)
    if _number_literal(other):
        return tpl(f"(__a__ {operator} __b__ AND NOT ISNAN(__r__))", a=a, b=b, r=ranked.copy())
    # (a NULL other side keeps the answer NULL)
    return tpl(f"(__a__ {operator} __b__ AND (NOT ISNAN(__r__) OR __o__ IS NULL))", a=a, b=b, r=ranked.copy(),
               o=other.copy())
