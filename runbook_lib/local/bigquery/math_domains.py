"""Mathematical and statistical functions where DuckDB answers with NaN or an infinity and BigQuery does not.

ZetaSQL's rule for a FLOAT64 function (functions/math.h, CheckFloatingPointError): a result that is not finite
(NaN or an infinity) from arguments that all are is an error ("Floating point error in function: LN(0)"), and
under SAFE. a NULL; from an argument that is not finite it is the result. So LN(0), ACOS(2), COT(0), POW(-1, 0.5),
POW(2, 1024) and EXP(1000) fail, and LN(-inf) is NaN, EXP(inf) inf. SQRT of any negative value fails. LOG's base
must be finite and positive, else the result is NaN (and so an error where the value is finite). DuckDB follows
IEEE 754 (-inf, NaN) and never fails: `SAFE.LN(points)` of a zero was -inf on the sandbox and NULL on BigQuery, and
every SUM or AVG over it differed. CORR of fewer than two non-NULL pairs is NULL in BigQuery ("fewer than two input
pairs without NULL values"), NaN in DuckDB.
"""
from __future__ import annotations

from sqlglot import exp

from .sqltree import fails, tpl

# sqlglot class: BigQuery's name (LOG10(x) is sqlglot's LOG(10, x))
_CHECKED: dict[type[exp.Expression], str] = {
    exp.Ln: "LN", exp.Log: "LOG", exp.Exp: "EXP", exp.Pow: "POW", exp.Sqrt: "SQRT",
    exp.Acos: "ACOS", exp.Asin: "ASIN", exp.Acosh: "ACOSH", exp.Atanh: "ATANH", exp.Cosh: "COSH", exp.Sinh: "SINH",
    exp.Cot: "COT", exp.Csc: "CSC", exp.Coth: "COTH",
}

DOMAIN_CHECKED = tuple(_CHECKED)


def _arguments(node: exp.Expression) -> list[exp.Expression]:
    """The arguments as BigQuery orders them (sqlglot keeps LOG's base first)."""
    if isinstance(node, exp.Log):
        return [node.expression, node.this]
    return [node.this, *([node.expression] if isinstance(node, exp.Pow) else [])]


def outside_domain(node: exp.Expression) -> exp.Expression | None:
    name = _CHECKED[type(node)]
    if isinstance(node, exp.Log) and node.expression is None:
        return None
    arguments = [a.copy() for a in _arguments(node)]
    keys = [f"a{i}" for i in range(len(arguments))]
    shown = " || ', ' || ".join(f"CAST(__{k}__ AS VARCHAR)" for k in keys)
    failure = fails(node, f"'Floating point error in function: {name}(' || {shown} || ')'")   # (before node moves)
    parts = {"f": node, **dict(zip(keys, arguments))}
    if isinstance(node, exp.Sqrt):
        text = "'Argument to SQRT cannot be negative: ' || CAST(__a0__ AS VARCHAR)"
        return tpl(f"CASE WHEN __a0__ < 0 THEN {fails(node, text)} ELSE __f__ END", **parts)
    if isinstance(node, exp.Log):   # a base that is not finite and positive makes NaN (C's log would not)
        parts["f"] = tpl("CASE WHEN __x__ IS NULL THEN NULL WHEN NOT ISFINITE(__b__) OR __b__ <= 0 "
                         "THEN CAST('NaN' AS DOUBLE) ELSE __f__ END", x=node.expression.copy(), b=node.this.copy(),
                         f=node)
    finite = " AND ".join(f"ISFINITE(__{k}__)" for k in keys)
    return tpl(f"CASE WHEN {finite} AND NOT ISFINITE(__r__) THEN {failure} ELSE __f__ END",
               r=parts["f"].copy(), **parts)


def sign(node: exp.Sign) -> exp.Expression:
    """SIGN of a FLOAT64 is a FLOAT64, NaN for NaN (mathematical functions doc, SIGN); DuckDB's is an integer, 0 for
    NaN. (A CASE of the value takes its type: INT64 stays INT64.)"""
    return tpl("CASE WHEN __x__ > 0 AND NOT ISNAN(__x__) THEN 1 WHEN __x__ < 0 THEN -1 WHEN __x__ = 0 THEN 0 "
               "ELSE __x__ END", x=node.this)


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
    # a negative shift fails, as `<<`'s does (compliance functions_testlib_2.cc: 0x5555 >> -1 is OUT_OF_RANGE);
    # DuckDB's >> gave 0
    negative = fails(node, "'Cannot right-shift by negative number ' || CAST(__y__ AS VARCHAR)")
    return tpl(f"CASE WHEN __y__ < 0 THEN {negative} WHEN __y__ >= 64 THEN 0 "
               "WHEN __x__ >= 0 OR __y__ = 0 THEN __x__ >> __y__ "
               "ELSE (__x__ >> __y__) & CAST((CAST(1 AS HUGEINT) << (64 - __y__)) - 1 AS BIGINT) END",
               x=_int64(node.this), y=node.expression)
