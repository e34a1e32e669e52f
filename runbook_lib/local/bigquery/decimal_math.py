"""SQRT, CBRT, EXP, LN, LOG, LOG10 and POW of a NUMERIC or BIGNUMERIC: a NUMERIC (BIGNUMERIC), computed in decimal.

BigQuery has a NUMERIC and a BIGNUMERIC signature for each (mathematical functions doc, their return type tables;
ZetaSQL's builtin_function_internal_3.cc and NumericValue::Sqrt, Power, Exp, Ln, Log10, Log, Cbrt), computing
to the type's last place. DuckDB has only DOUBLE ones: SQRT(NUMERIC '2') was the FLOAT64 1.4142135623730951 where
BigQuery's is NUMERIC 1.414213562, LN(NUMERIC '2.718281828') 0.9999999998311266 where it is 1, EXP(NUMERIC '1000')
inf where BigQuery fails, and a table written from them got a FLOAT64 column for a NUMERIC one.

Where numeric_types.py marked the call NUMERIC or BIGNUMERIC (an INT64 operand beside a NUMERIC is coerced to it, a
FLOAT64 one makes the call FLOAT64, unmarked), a Python UDF computes it with the decimal module at 48 digits
(correctly rounded there), rounded half away from zero to the type's places (the sandbox's BIGNUMERIC holds 18:
rounded at the 18th, as its quotients are). Its errors are ZetaSQL's, in its words (numeric_value.cc): a negative
SQRT, LN or LOG10 of zero or less, LOG of a base of zero or less or one, POW of zero to a negative power or of a
negative value to a fractional one, and a result out of the type's range. Under SAFE. they are NULL (TRY()).
SQRT, LN, LOG10 and LOG of a NUMERIC take FLOAT64's answer where its error cannot reach the ninth place
(_in_floating_point): about 3 µs a row through the UDF, where LN in decimal took 45 (DuckDB's DOUBLE one takes 0.02).
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import pyarrow as pa
from sqlglot import exp

from .casts import bignumeric_refusal, too_wide_for_bignumeric
from .numeric_types import RESULT
from .numerics import EXACT, SCALES, as_decimal, decimal_type

_NAMES: dict[type[exp.Expression], str] = {exp.Sqrt: "SQRT", exp.Cbrt: "CBRT", exp.Exp: "EXP", exp.Ln: "LN",
                                           exp.Log: "LOG", exp.Pow: "POW"}
CALLS = tuple(_NAMES)

# BigQuery's largest value of each type; the sandbox's BIGNUMERIC stops at 20 integer digits (casts.py)
_BIGGEST = {"NUMERIC": Decimal("99999999999999999999999999999.999999999"),
            "BIGNUMERIC": Decimal("578960446186580977117854925043439539266.34992332820282019728792003956564819967")}
_CONTEXT = Context(prec=48, Emax=10**6, Emin=-10**6)
_UNIT = {kind: Decimal(1).scaleb(-scale) for kind, scale in SCALES.items()}


class DecimalMathError(ValueError):
    """BigQuery's error for the call (ZetaSQL's words)."""


def _text(value: Decimal) -> str:
    """ZetaSQL's NumericValue::ToString: no exponent, no trailing zeros after the point."""
    return format(value.normalize(), "f") if value else "0"


def _overflow(kind: str) -> str:
    return "numeric overflow" if kind == "NUMERIC" else "BIGNUMERIC overflow"


def compute(name: str, x: Decimal, y: Decimal | None, kind: str) -> Decimal:
    """name(x[, y]) of a `kind`, as BigQuery computes it (LOG: x the value, y the base); DecimalMathError where
    BigQuery fails."""
    quick = _in_floating_point(name, x, y) if kind == "NUMERIC" else None
    if quick is not None:
        return quick
    call = f"{name}({_text(x)}{'' if y is None else ', ' + _text(y)})"
    with localcontext(_CONTEXT):
        if name == "SQRT":
            if x < 0:
                raise DecimalMathError(f"SQRT is undefined for negative value: {call}")
            result = x.sqrt()
        elif name == "CBRT":
            result = x.copy_abs() ** (Decimal(1) / 3) if x else Decimal(0)
            result = result.copy_negate() if x < 0 else result
            exact = result.quantize(Decimal(1), rounding=ROUND_HALF_UP)
            result = exact if exact ** 3 == x else result   # (a third is not exact in decimal: 27 ** (1/3) misses 3)
        elif name == "EXP":
            result = x.exp()
        elif name == "LN":
            if x <= 0:
                raise DecimalMathError(f"LN is undefined for zero or negative value: {call}")
            result = x.ln()
        elif name == "LOG" and y == 10:
            if x <= 0:
                raise DecimalMathError(f"LOG10 is undefined for zero or negative value: LOG10({_text(x)})")
            result = x.log10()
        elif name == "LOG":
            if x <= 0 or y <= 0 or y == 1:
                raise DecimalMathError(f"LOG is undefined for zero or negative value, or when base equals 1: {call}")
            result = x.ln() / y.ln()
        else:
            result = _power(x, y, kind, call)
        if result.copy_abs() > _BIGGEST[kind]:
            raise DecimalMathError(f"{_overflow(kind)}: {call}")
        rounded = result.quantize(_UNIT[kind], rounding=ROUND_HALF_UP)
    if kind == "BIGNUMERIC" and too_wide_for_bignumeric(rounded):
        raise DecimalMathError(f"{call}: {bignumeric_refusal(rounded)}")
    return rounded


def _in_floating_point(name: str, x: Decimal, y: Decimal | None) -> Decimal | None:
    """SQRT, LN, LOG10 and LOG of a NUMERIC inside their domains from FLOAT64, where its error cannot move the ninth
    place: the double's result, rounded, when it lies far from a rounding boundary (ten times the error bound: the
    input's rounding and the function's, a few units in the last place of each); else None (in decimal, 45 µs a
    row for LN where this takes 1). The other functions' results reach 10^29, past a FLOAT64's digits."""
    if name not in ("SQRT", "LN", "LOG") or x <= 0 or (y is not None and (y <= 0 or y == 1)):
        return None
    v = float(x)
    if name == "SQRT":
        d, bound = math.sqrt(v), 4e-16
    elif name == "LN":
        d, bound = math.log(v), 4e-16
    elif y == 10:
        d, bound = math.log10(v), 4e-16
    else:
        d, bound = math.log(v) / math.log(float(y)), 4e-15 * (1 + abs(1 / math.log(float(y))))
    scaled = d * 1e9
    if not abs(scaled) < 2.0**52:
        return None
    error = (abs(d) * bound + 1e-15) * 1e9
    if abs(abs(scaled - math.floor(scaled)) - 0.5) <= 10 * error:
        return None
    return Decimal(d).quantize(_UNIT["NUMERIC"], rounding=ROUND_HALF_UP)


def _power(x: Decimal, y: Decimal, kind: str, call: str) -> Decimal:
    """NumericValue::Power: 0 to a negative power is a division by zero; a negative value only to an integer power."""
    if y == 0:
        return Decimal(1)
    if x == 0:
        if y < 0:
            raise DecimalMathError("division by zero")
        return Decimal(0)
    if x < 0 and y != y.to_integral_value():
        raise DecimalMathError(f"Negative {kind} value cannot be raised to a fractional power: {call}")
    if y == y.to_integral_value() and abs(y) <= 10_000:
        try:
            return x ** int(y)   # exact where it can be (2 ** 10 is 1024, not 1023.99...)
        except ArithmeticError:
            pass
    magnitude = x.copy_abs().ln() * y
    if magnitude > 200:
        raise DecimalMathError(f"{_overflow(kind)}: {call}")
    if magnitude < -200:
        return Decimal(0)
    result = magnitude.exp()
    return result.copy_negate() if x < 0 and int(y) % 2 else result


def decimal_maths(names: pa.Array, xs: pa.Array, ys: pa.Array, kinds: pa.Array) -> pa.Array:
    """The UDF: each row's result as the DECIMAL's text (NULL where an argument is), computed once for each distinct
    row of the chunk."""
    seen: dict[tuple, str | None] = {}
    out = []
    for row in zip(names.to_pylist(), xs.to_pylist(), ys.to_pylist(), kinds.to_pylist()):
        if row not in seen:
            name, x, y, kind = row
            binary = name == "POW" or (name == "LOG" and y is not None)
            if x is None or (binary and y is None):
                seen[row] = None
            else:
                seen[row] = str(compute(name, Decimal(x), Decimal(y) if y is not None else None, kind))
        out.append(seen[row])
    return pa.array(out, pa.string())


def decimal_math(node: exp.Expression) -> exp.Expression | None:
    """The call of a NUMERIC or BIGNUMERIC (marked by numeric_types.py) through the UDF; None for any other."""
    kind = node.meta_get(RESULT)
    if kind not in SCALES:
        return None
    name = _NAMES[type(node)]
    if isinstance(node, exp.Log):   # (sqlglot keeps the base first; LOG10(x) is LOG(10, x), LOG(x) LN(x))
        x, y = node.expression, node.this
    else:
        x, y = node.this, node.args.get("expression")
    operands = [exp.cast(as_decimal(v.copy(), kind), "VARCHAR", dialect="duckdb") if v is not None else exp.null()
                for v in (x, y)]
    call = exp.Anonymous(this="_bq_decimal_math", expressions=[exp.Literal.string(name), *operands,
                                                                exp.Literal.string(kind)])
    made = exp.Cast(this=call, to=decimal_type(kind))
    made.meta[EXACT] = kind
    return made


def udf(duckdb) -> tuple:
    """(name, function, parameter types, return type), for functions.py."""
    text = duckdb.sqltypes.VARCHAR
    return "_bq_decimal_math", decimal_maths, [text, text, text, text], text

