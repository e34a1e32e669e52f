"""Division, and NUMERIC / BIGNUMERIC results typed and rounded as BigQuery types and rounds them.

BigQuery's NUMERIC is DuckDB's DECIMAL(38, 9) here and BIGNUMERIC DECIMAL(38, 18) (typenames.py). DuckDB then
answers differently from BigQuery:

- a DECIMAL / DECIMAL (or / an integer) and AVG of a DECIMAL are DOUBLE; BigQuery's are NUMERIC (BIGNUMERIC),
  exact to the last place and rounded half away from zero;
- a DECIMAL * DECIMAL adds the scales (DECIMAL(38, 18) for two NUMERICs, DECIMAL(38, 36) for two BIGNUMERICs)
  and overflows where BigQuery, which rounds the product back to NUMERIC (BIGNUMERIC), does not;
- COALESCE, IF, CASE, GREATEST and LEAST over DECIMAL(38, 9) and DECIMAL(38, 18) give DECIMAL(38, 9), cutting
  a BIGNUMERIC to 9 places; BigQuery's supertype is BIGNUMERIC;
- ROUND, TRUNC, CEIL and FLOOR give DECIMAL(38, n), which the warehouse reads back as BIGNUMERIC(38, n).

Each correction applies only where numeric_types.py marked the node NUMERIC or BIGNUMERIC (the translation knows
the columns' types then); any other node, INT64 and FLOAT64 arithmetic among them, translates exactly as before.
The corrections are plain DuckDB SQL, no Python: a quotient or product is computed exactly on the operands'
unscaled integers (value * 10^scale, as HUGEINTs: a DECIMAL's text is that integer's digits), rounded half away
from zero, and scaled back (_exact). What they cost is mostly DuckDB planning them, which grows with the size and
depth of an expression (a few tens of microseconds a function): each operand is written once (a lambda reads it),
and a cast already in place is not repeated (_is_decimal_of). Running them costs about half a microsecond a row
(a product one), against a few nanoseconds for DuckDB's DOUBLE division; an AVG divides once a group, and the
kit's Phase 4 divides only per group (AVG, SAFE_DIVIDE of sums).

Where the sandbox cannot be BigQuery: its BIGNUMERIC keeps 18 decimal places where BigQuery keeps 38, so a
BIGNUMERIC quotient or average is rounded (half away from zero) at the 18th, and a BIGNUMERIC product needing more
places is refused (casts.py's rule: never round a value BigQuery holds exactly); a divisor wider than the exact
arithmetic takes (_WIDE_DIVISOR) is refused in one sentence.
"""
from __future__ import annotations

from sqlglot import exp

from .casts import _TOO_WIDE
from .numeric_types import DECIMALS, OPERANDS, RESULT, operands
from .sqltree import is_int_literal, sql_text, tpl
from .typenames import BIGNUMERIC_DUCKDB, NUMERIC_DUCKDB

SCALES = {"NUMERIC": NUMERIC_DUCKDB[1], "BIGNUMERIC": BIGNUMERIC_DUCKDB[1]}
_DIVISION_BY_ZERO = "ERROR('division by zero')"   # BigQuery's words (its message then names the operands)


def decimal_type(kind: str) -> exp.DataType:
    return _DUCKDB_DECIMALS[kind].copy()


_DUCKDB_DECIMALS = {kind: exp.DataType.build(f"DECIMAL({p}, {s})", dialect="duckdb")
                    for kind, (p, s) in (("NUMERIC", NUMERIC_DUCKDB), ("BIGNUMERIC", BIGNUMERIC_DUCKDB))}


def _marked(node: exp.Expression) -> tuple[str | None, tuple]:
    """The node's BigQuery decimal type and its operands' kinds (numeric_types.py), or (None, ())."""
    kind = node.meta_get(RESULT)
    return (kind, node.meta_get(OPERANDS) or ()) if kind in DECIMALS else (None, ())


EXACT = "duckdb_decimal"   # meta of a node this module made: its DuckDB type is DECIMAL(38, s) of that kind


def _is_decimal_of(x: exp.Expression, kind: str) -> bool:
    """Whether DuckDB types `x` DECIMAL(38, s) of `kind` already, so that it needs no cast: a cast to it, a node
    made here, a SUM, IF, CASE or COALESCE of those beside NULLs and integer literals, or one times an integer
    literal. (A NUMERIC(P, S) column is DECIMAL(P, S): its text would have S places, so anything else is cast.)"""
    while isinstance(x, (exp.Paren, exp.Window, exp.Sum)):
        x = x.this
    if isinstance(x, exp.Cast):
        return not isinstance(x, exp.TryCast) and x.to == _DUCKDB_DECIMALS[kind]
    if x.meta_get(EXACT) == kind:
        return True
    if isinstance(x, exp.Mul):
        return any(is_int_literal(o) for o in (x.this, x.expression)) and \
            any(_is_decimal_of(o, kind) for o in (x.this, x.expression))
    if isinstance(x, (exp.If, exp.Case, exp.Coalesce)):
        values = [v for v in operands(x) if v is not None and not isinstance(v, exp.Null) and not is_int_literal(v)]
        return bool(values) and all(_is_decimal_of(v, kind) for v in values)
    return False


def as_decimal(x: exp.Expression, kind: str) -> exp.Expression:
    return x if _is_decimal_of(x, kind) else exp.Cast(this=x, to=decimal_type(kind))


def _unscaled(x: exp.Expression, x_kind: str, kind: str, scaled: bool = True) -> exp.Expression:
    """x * 10^scale of `kind` (x itself for an INT64 not `scaled`) as a HUGEINT. A DECIMAL's text has exactly
    `scale` places, so its digits are that integer (cutting the value into integer and fraction parts instead,
    x * 10^scale overflowing DECIMAL(38, s), takes twice the functions)."""
    if x_kind == "INT64":
        return tpl(f"(CAST(__x__ AS HUGEINT) * {10 ** SCALES[kind]})" if scaled else "CAST(__x__ AS HUGEINT)", x=x)
    return tpl("CAST(REPLACE(CAST(__d__ AS VARCHAR), '.', '') AS HUGEINT)", d=as_decimal(x, kind))


_UNITS = {kind: f"CAST('0.{'0' * (scale - 1)}1' AS DECIMAL(38, {scale}))" for kind, scale in SCALES.items()}


def _exact(kind: str, unscaled: str, **operands_: exp.Expression) -> exp.Expression:
    """The DECIMAL(38, s) of `kind` whose unscaled integer is `unscaled`, SQL over the HUGEINT operands (_n.name
    for each of `operands_`).

    Each operand is written once, as a field of a one-element list that a lambda reads: DuckDB binds and
    optimizes every copy of an expression, in a time that grows with its depth, and that cost more than
    computing it (measured on the kit's Phase 4: a SAFE_DIVIDE over two sums cost 6.5 ms more than DuckDB's
    DOUBLE one with its operands written out in the formula, 1.3 ms through the lambda)."""
    fields = ", ".join(f"'{name}': __{name}__" for name in operands_)
    made = tpl(f"LIST_TRANSFORM([{{{fields}}}], lambda _n: CAST({unscaled} AS DECIMAL(38, 0)) * {_UNITS[kind]})[1]",
               **operands_)
    made.meta[EXACT] = kind
    return made


def _positive_integer(x: exp.Expression) -> bool:
    return isinstance(x, exp.Literal) and is_int_literal(x) and int(x.this) > 0


# DuckDB's // truncates and its % keeps the dividend's sign, so every term below has the sign of the result;
# the last is rounded half away from zero: round(P / D) = (2P + sign(P) * |D|) // (2D), and a remainder's
# sign is its dividend's.
_BY_INTEGER = "_n.a // {b} + (2 * (_n.a % {b}) + SIGN(_n.a) * {abs_b}) // {twice_b}"
# a / b for a DECIMAL b by long division: A // B, then the remainder times 10^9 divided by B (twice for
# BIGNUMERIC's 18 places), the last step rounded, so that A * 10^s (up to 10^56) is never made.
_QUOTIENTS = {
    "NUMERIC": "(_n.a // _n.b) * 1000000000 + (2 * (_n.a % _n.b) * 1000000000 + SIGN(_n.a) * ABS(_n.b)) // (2 * _n.b)",
    "BIGNUMERIC": ("(_n.a // _n.b) * 1000000000000000000 + (((_n.a % _n.b) * 1000000000) // _n.b) * 1000000000 "
                   "+ (2 * (((_n.a % _n.b) * 1000000000) % _n.b) * 1000000000 + SIGN(_n.a) * ABS(_n.b)) // (2 * _n.b)"),
}
# Each step of a DECIMAL divisor's long division stays under HUGEINT's 1.7e38 while |B| < 8.5e28 unscaled:
# a NUMERIC divisor under 8.5e19, a BIGNUMERIC one (two steps of 10^9) under 8.5e10. A wider one is refused
# in one sentence rather than sent to a slower exact path: BigQuery's NUMERIC reaches 1e29, but the kit
# divides by no such value. (The bounds are on the unscaled divisor.)
_WIDE_DIVISOR = {"NUMERIC": ("10000000000000000000000000000", "1e19"),
                 "BIGNUMERIC": ("10000000000000000000000000000", "1e10")}


def _checked(unscaled: str, on_zero: str | None, kind: str | None = None) -> str:
    """`unscaled` refusing a zero divisor _n.b with `on_zero` (SQL) and, for a DECIMAL divisor of `kind`, one
    too wide: checked on _n.b, so that the divisor is written once."""
    whens = [f"WHEN _n.b = 0 THEN CAST({on_zero} AS HUGEINT)"] if on_zero else []
    if kind is not None:
        limit, said = _WIDE_DIVISOR[kind]
        sentence = (f"The local warehouse divides a {kind} exactly by a divisor under {said} in magnitude only; "
                    "use target=gcp to divide by a wider one")
        whens.append(f"WHEN ABS(_n.b) >= {limit} THEN CAST(ERROR({sql_text(sentence)}) AS HUGEINT)")
    return f"CASE {' '.join(whens)} ELSE {unscaled} END" if whens else unscaled


def _quotient(a: exp.Expression, b: exp.Expression, kinds: tuple, kind: str, on_zero: str | None) -> exp.Expression:
    """a / b as BigQuery's NUMERIC or BIGNUMERIC (`kind`), exact and rounded half away from zero; `on_zero` is
    the SQL for a zero divisor (None: b is a literal that is not zero)."""
    a_kind, b_kind = kinds
    if "NULL" in kinds:
        return exp.Cast(this=exp.null(), to=decimal_type(kind))
    if b_kind == "INT64" and _positive_integer(b):   # / 2, / 5: 2 * 5 written 10
        literal = int(b.this)
        return _exact(kind, _BY_INTEGER.format(b=literal, abs_b=literal, twice_b=2 * literal),
                      a=_unscaled(a, a_kind, kind))
    if b_kind == "INT64":
        unscaled = _checked(_BY_INTEGER.format(b="_n.b", abs_b="ABS(_n.b)", twice_b="(2 * _n.b)"), on_zero)
        return _exact(kind, unscaled, a=_unscaled(a, a_kind, kind), b=_unscaled(b, "INT64", kind, scaled=False))
    return _exact(kind, _checked(_QUOTIENTS[kind], on_zero, kind),
                  a=_unscaled(a, a_kind, kind), b=_unscaled(b, b_kind, kind))


# ---------------------------------------------------------------------------------------------
# The rewrites

def _is_nonzero_number(node: exp.Expression) -> bool:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this) != 0
        except ValueError:
            return False
    return False


def checked_division(node: exp.Div) -> None:
    # BigQuery's / raises "division by zero"; DuckDB returns Infinity (or NaN) without a word.
    if not _is_nonzero_number(node.expression):
        node.set("expression", tpl(f"CASE WHEN __d__ = 0 THEN {_DIVISION_BY_ZERO} ELSE __d__ END",
                                   d=node.expression))
    return None


def integer_division(node: exp.IntDiv) -> exp.Expression | None:
    """DIV(X, Y): all of X divided by all of Y. sqlglot writes it as DuckDB's `X // Y` operator without
    parentheses, so DIV(k - 1, 10) became k - (1 // 10); and by zero it raises, as BigQuery's does. DIV of a NUMERIC
    (BIGNUMERIC) is that type, the quotient truncated toward zero (mathematical functions doc, DIV; compliance
    functions_testlib_math.cc: DIV(NUMERIC '7', NUMERIC '2') is NUMERIC 3); DuckDB's // of DECIMALs was the FLOAT64
    quotient, 3.5."""
    kind, kinds = _marked(node)
    if kind is not None and "NULL" not in kinds:
        a_kind, b_kind = kinds
        truncated = _checked(f"(_n.a // _n.b) * {10 ** SCALES[kind]}", _DIVISION_BY_ZERO)
        return _exact(kind, truncated, a=_unscaled(node.this, a_kind, kind), b=_unscaled(node.expression, b_kind, kind))
    for arg in ("this", "expression"):
        node.set(arg, exp.paren(node.args[arg], copy=False))
    checked_division(node)
    return None


def division(node: exp.Div) -> exp.Expression | None:
    """Operators doc, "Result types for Division": NUMERIC (BIGNUMERIC) where either side is one and neither
    is FLOAT64. ZetaSQL's NumericValue::Divide (BigQuery's engine) rounds the quotient half away from zero."""
    kind, kinds = _marked(node)
    if kind is None:
        return checked_division(node)
    on_zero = None if _is_nonzero_number(node.expression) else _DIVISION_BY_ZERO
    return _quotient(node.this, node.expression, kinds, kind, on_zero)


def safe_division(node: exp.SafeDivide) -> exp.Expression | None:
    """SAFE_DIVIDE (mathematical functions doc): the division's result type table, and NULL for a zero divisor."""
    kind, kinds = _marked(node)
    if kind is None:
        return None
    return _quotient(node.this, node.expression, kinds, kind, on_zero="NULL")


def _average(node: exp.Avg, kind: str, over: exp.Window | None) -> exp.Expression:
    """round(SUM(x) / COUNT(x)) half away from zero on the sum's unscaled integer: a DECIMAL sum is exact in
    DuckDB, so only the division needs doing as BigQuery does it (ZetaSQL's SumAggregator::GetAverage: exact
    sum, rounded half away from zero)."""
    def aggregate(cls: type[exp.Expression]) -> exp.Expression:
        call = cls(this=node.this.copy())
        if over is None:
            return call
        window = over.copy()
        window.set("this", call)
        return window
    total, count = aggregate(exp.Sum), aggregate(exp.Count)
    # Written out rather than through a lambda (_exact): its operands are two aggregates, cheaper to plan twice
    # than a lambda is once. On the sum's magnitude, (2|S| + n) // (2n) is below UHUGEINT's 3.4e38: DuckDB's SUM
    # of a DECIMAL(38, s) stays under 10^38 unscaled.
    made = tpl(f"CAST(SIGN(__s__) * CAST((2 * CAST(REPLACE(CAST(ABS(__d__) AS VARCHAR), '.', '') AS UHUGEINT) "
               f"+ CAST(__n__ AS UHUGEINT)) // (2 * CAST(__n__ AS UHUGEINT)) AS HUGEINT) AS DECIMAL(38, 0)) "
               f"* {_UNITS[kind]}", s=total.copy(), d=as_decimal(total, kind), n=count)
    made.meta[EXACT] = kind
    return made


def average(node: exp.Avg) -> exp.Expression | None:
    """Aggregate functions doc, AVG's "Returned Data Types": NUMERIC for NUMERIC, BIGNUMERIC for BIGNUMERIC
    (DuckDB's AVG of a DECIMAL is DOUBLE). A windowed AVG is rewritten with its window (windowed_average)."""
    kind, _ = _marked(node)
    if kind is None or isinstance(node.parent, exp.Window):
        return None
    return _average(node, kind, over=None)


def windowed_average(node: exp.Window) -> exp.Expression | None:
    if not isinstance(node.this, exp.Avg):
        return None
    kind, _ = _marked(node.this)
    return None if kind is None else _average(node.this, kind, over=node)


# X * Y = X * Yh + Xh * Yl + Xl * Yl / 10^s on the unscaled integers, with X = Xh * 10^s + Xl (truncated: every
# term has the product's sign): only the last term has a fraction, and each term fits a HUGEINT whenever the
# product fits NUMERIC (BIGNUMERIC): no DECIMAL(38, 18) intermediate to overflow. A NUMERIC product's fraction
# is rounded half away from zero; a BIGNUMERIC product is exact in BigQuery (38 places), so one the sandbox's
# 18 places cannot hold is refused in casts.py's words, never rounded.
_PRODUCT = "_n.x * (_n.y // {m}) + (_n.x // {m}) * (_n.y % {m}) + {fraction}"
_ROUNDED_FRACTION = "(2 * (_n.x % {m}) * (_n.y % {m}) + SIGN(_n.x) * SIGN(_n.y) * {m}) // {twice_m}"
_EXACT_FRACTION = ("CASE WHEN ((_n.x % {m}) * (_n.y % {m})) % {m} = 0 THEN ((_n.x % {m}) * (_n.y % {m})) // {m} "
                   "ELSE CAST(ERROR({refusal}) AS HUGEINT) END")


def product(node: exp.Mul) -> exp.Expression | None:
    """Operators doc, "Result types for Addition and Multiplication": NUMERIC * NUMERIC is NUMERIC, any
    BIGNUMERIC makes it BIGNUMERIC; ZetaSQL's NumericValue::Multiply rounds the product half away from zero. A
    DECIMAL times an INT64 keeps the DECIMAL's scale in DuckDB, exact already, and is left alone."""
    kind, kinds = _marked(node)
    if kind is None or any(k not in DECIMALS for k in kinds):
        return None
    (a, b), (a_kind, b_kind) = (node.this, node.expression), kinds
    scaled = 10 ** SCALES[kind]
    fraction = _ROUNDED_FRACTION.format(m=scaled, twice_m=2 * scaled) if kind == "NUMERIC" else \
        _EXACT_FRACTION.format(m=scaled, refusal=sql_text(f"BIGNUMERIC product: {_TOO_WIDE}"))
    return _exact(kind, _PRODUCT.format(m=scaled, fraction=fraction),
                  x=_unscaled(a, a_kind, kind), y=_unscaled(b, b_kind, kind))


def common_supertype(node: exp.Expression) -> exp.Expression | None:
    """COALESCE, IFNULL, IF, CASE, GREATEST, LEAST: a BIGNUMERIC supertype (conversion rules doc, Supertypes)
    holds each NUMERIC value cast to it, which DuckDB would otherwise cut to 9 places."""
    kind, kinds = _marked(node)
    if kind is None:
        return None
    for value, value_kind in zip(operands(node), kinds):
        if value is not None and value_kind in DECIMALS and value_kind != kind:
            value.replace(as_decimal(value.copy(), kind))
    return None


def rounding(node: exp.Expression) -> exp.Expression | None:
    """ROUND, TRUNC, CEIL, FLOOR and SIGN of a NUMERIC (BIGNUMERIC) return NUMERIC (BIGNUMERIC) (mathematical
    functions doc, their return type tables); DuckDB's DECIMAL(38, n) of the kept places (SIGN's TINYINT) is cast
    back."""
    kind, _ = _marked(node)
    if kind is None or any(node.args.get(k) is not None for k in ("truncate", "to")):
        return None   # ROUND's rounding_mode, FLOOR(x TO unit): left as before
    return exp.Cast(this=node, to=decimal_type(kind))
