"""Mathematical and statistical functions where DuckDB answers with NaN or an infinity and BigQuery does not.

BigQuery fails LN(0), SQRT(-1), ACOS(2), COT(0), ... (mathematical functions doc: "Generates an error if X is ..."),
and under SAFE. that error is NULL; DuckDB follows IEEE 754 (-inf, NaN), so `SAFE.LN(points)` of a zero was -inf on
the sandbox and NULL on BigQuery, and every SUM or AVG over it differed. CORR of fewer than two non-NULL pairs is NULL
in BigQuery ("fewer than two input pairs without NULL values"), NaN in DuckDB.
"""
from __future__ import annotations

from sqlglot import exp

from .sqltree import fails, tpl

# sqlglot class: (BigQuery's name, where BigQuery fails, as DuckDB SQL on __x__ (and __y__, the second argument))
_DOMAINS: dict[type[exp.Expression], tuple[str, str]] = {
    exp.Ln: ("LN", "__x__ <= 0"),
    exp.Sqrt: ("SQRT", "__x__ < 0"),
    exp.Acos: ("ACOS", "__x__ < -1 OR __x__ > 1"),
    exp.Asin: ("ASIN", "__x__ < -1 OR __x__ > 1"),
    exp.Acosh: ("ACOSH", "__x__ < 1"),
    exp.Atanh: ("ATANH", "__x__ < -1 OR __x__ > 1"),
    exp.Cot: ("COT", "__x__ = 0"),
    exp.Csc: ("CSC", "__x__ = 0"),
    exp.Coth: ("COTH", "__x__ = 0"),
    # LOG(X, Y): X the value, Y the base (sqlglot keeps the base first)
    exp.Log: ("LOG", "__x__ <= 0 OR __y__ <= 0 OR __y__ = 1"),
}


DOMAIN_CHECKED = tuple(_DOMAINS)


def outside_domain(node: exp.Expression) -> exp.Expression | None:
    name, condition = _DOMAINS[type(node)]
    if isinstance(node, exp.Log):
        if node.expression is None:
            return None
        x, y = node.expression, node.this
    else:
        x, y = node.this, None
    message = f"'Floating point error in function: {name}(' || CAST(__x__ AS VARCHAR) || ')'"
    parts = {"x": x.copy(), "f": node} | ({"y": y.copy()} if y is not None else {})
    return tpl(f"CASE WHEN {condition} THEN {fails(node, message)} ELSE __f__ END", **parts)


def corr(node: exp.Corr) -> exp.Expression | None:
    if isinstance(node.parent, exp.Window):
        return None   # (corr_window rewrites the window)
    return tpl("CASE WHEN REGR_COUNT(__y__, __x__) >= 2 THEN __f__ END",
               y=node.this.copy(), x=node.expression.copy(), f=node)


def corr_window(node: exp.Window) -> exp.Expression | None:
    if not isinstance(node.this, exp.Corr):
        return None
    count = node.copy()
    pair = [node.this.this.copy(), node.this.expression.copy()]
    count.set("this", exp.Anonymous(this="REGR_COUNT", expressions=pair))
    return tpl("CASE WHEN __n__ >= 2 THEN __f__ END", n=count, f=node)


# Bit operators on INT64 (operators doc, "Bitwise operators"): 64 bits, so an integer literal (DuckDB's INTEGER, 32
# bits: BIT_COUNT(-1) was 32) is widened; `<<` drops the bits shifted out and is 0 from a shift of 64 (DuckDB failed
# "Overflow in left shift"), and `>>` shifts zeros in ("doesn't perform sign bit extension": -8 >> 1 is
# 9223372036854775804; DuckDB's is -4).
_TWO_64 = "CAST(18446744073709551616 AS HUGEINT)"
_TWO_63 = "CAST(9223372036854775808 AS HUGEINT)"


def _int64(x: exp.Expression) -> exp.Expression:
    number = x.this if isinstance(x, (exp.Neg, exp.Paren)) else x
    return tpl("CAST(__x__ AS BIGINT)", x=x) if isinstance(number, exp.Literal) and not number.is_string else x


def bit_count(node: exp.BitwiseCount) -> exp.Expression | None:
    node.set("this", _int64(node.this))
    return None


def left_shift(node: exp.BitwiseLeftShift) -> exp.Expression:
    wrapped = (f"((CAST(__x__ AS HUGEINT) * (CAST(1 AS HUGEINT) << __y__)) % {_TWO_64} + {_TWO_64}) % {_TWO_64}")
    return tpl(f"CASE WHEN __y__ >= 64 THEN 0 ELSE CAST(({wrapped} + {_TWO_63}) % {_TWO_64} - {_TWO_63} AS BIGINT) END",
               x=_int64(node.this), y=node.expression)


def right_shift(node: exp.BitwiseRightShift) -> exp.Expression:
    return tpl("CASE WHEN __y__ >= 64 THEN 0 WHEN __x__ >= 0 OR __y__ = 0 THEN __x__ >> __y__ "
               "ELSE (__x__ >> __y__) & CAST((CAST(1 AS HUGEINT) << (64 - __y__)) - 1 AS BIGINT) END",
               x=_int64(node.this), y=node.expression)
