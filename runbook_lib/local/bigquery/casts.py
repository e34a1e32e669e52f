"""CAST and SAFE_CAST to INT64, BOOL, DATE and STRING, where DuckDB's rules differ from BigQuery's."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from .errors import UnsupportedSQL
from .datetimes import utc_offset
from .format_casts import formatted
from .typenames import BIGNUMERIC_DUCKDB, NUMERIC_DUCKDB
from .sqltree import is_decimal_cast, is_int_literal, is_random, is_safe, sql_text, tpl

# What BigQuery accepts when it casts a STRING (ZetaSQL conversion rules): decimal digits or a
# hex 0x literal with an optional sign for INT64 (not '1.5', not '1e3'), 'true' or 'false' in any
# case for BOOL, and only the date literal form YYYY-[M]M-[D]D for DATE, of a year 0001 to 9999. Surrounding
# blanks pass an INT64, as BigQuery's integer parsing allows them, and fail a DATE (compliance
# functions_testlib_cast.cc: ' 2009-02-13', '2009-02-13 ' and '0000-12-31' are OUT_OF_RANGE; DuckDB took them).
_INT64_TEXT = r"\s*[+-]?[0-9]+\s*"
_HEX64_TEXT = r"\s*[+-]?0[xX][0-9a-fA-F]+\s*"
_DATE_TEXT = r"([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{1,2}-[0-9]{1,2}"
_INT64_RANGE = (-(1 << 63), (1 << 63) - 1)

_T = exp.DataType.Type


def _cast_string_literal(text: str, target: exp.DataType.Type, safe: bool) -> exp.Expression | None:
    """CAST('literal' AS INT64 | BOOL | DATE) decided here, as BigQuery decides it when it analyses the query."""
    if target == _T.BIGINT:
        value = None
        if re.fullmatch(_INT64_TEXT, text):
            value = int(text.strip())
        elif re.fullmatch(_HEX64_TEXT, text):
            value = int(text.strip().replace("0x", "").replace("0X", ""), 16)
        if value is not None and _INT64_RANGE[0] <= value <= _INT64_RANGE[1]:
            return exp.Cast(this=exp.Literal.number(value), to=exp.DataType.build("BIGINT"))
        failure, duck = f"Bad int64 value: {text}", "BIGINT"
    elif target == _T.BOOLEAN:
        if text.lower() in ("true", "false"):
            return exp.Boolean(this=text.lower() == "true")
        failure, duck = f"Bad bool value: {text}", "BOOLEAN"
    else:  # DATE
        if re.fullmatch(_DATE_TEXT, text):
            return None  # DuckDB reads this form as BigQuery does (and rejects 2024-02-30 too)
        failure, duck = f"Invalid date: '{text}'", "DATE"
    if safe:
        return tpl(f"CAST(NULL AS {duck})")
    return tpl(f"CAST(ERROR({sql_text(failure)}) AS {duck})")


def _to_int64(x: exp.Expression, safe: bool) -> str | None:
    if isinstance(x, exp.Literal) and is_int_literal(x):
        return None
    cast = "TRY_CAST" if safe else "CAST"
    bad = "NULL" if safe else "ERROR('Bad int64 value: ' || _s_)"
    # Floats: BigQuery rounds halfway cases away from zero (CAST(2.5 AS INT64) = 3); DuckDB
    # rounds them to even. Strings: DuckDB would also take '1.5' (as 2) and '1e3'.
    return (
        "CASE WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') THEN "
        f"{cast}(ROUND(TRY_CAST(__x__ AS DOUBLE)) AS BIGINT) "
        "WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE "
        f"WHEN REGEXP_FULL_MATCH(_s_, {sql_text(_INT64_TEXT)}) THEN {cast}(_s_ AS BIGINT) "
        f"WHEN REGEXP_FULL_MATCH(_s_, {sql_text(_HEX64_TEXT)}) THEN "
        "(CASE WHEN STARTS_WITH(LTRIM(_s_), '-') THEN -1 ELSE 1 END) * "
        f"{cast}(LOWER(REGEXP_EXTRACT(_s_, '0[xX][0-9a-fA-F]+')) AS BIGINT) "
        f"ELSE {bad} END "
        f"ELSE {cast}(__x__ AS BIGINT) END"
    )


def _to_bool(x: exp.Expression, safe: bool) -> str | None:
    if isinstance(x, (exp.Predicate, exp.Boolean, exp.Not)):
        return None
    cast = "TRY_CAST" if safe else "CAST"
    bad = "NULL" if safe else "ERROR('Bad bool value: ' || _s_)"
    # DuckDB would also take 't', 'yes', '1', ...
    return (
        "CASE WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE LOWER(_s_) WHEN 'true' THEN TRUE "
        f"WHEN 'false' THEN FALSE ELSE {bad} END ELSE {cast}(__x__ AS BOOLEAN) END"
    )


def _to_date(x: exp.Expression, safe: bool) -> str:
    cast = "TRY_CAST" if safe else "CAST"
    bad = "NULL" if safe else "ERROR('Invalid date: ''' || _s_ || '''')"
    # DuckDB would also take '2024-01-05 10:00:00' (dropping the time) and '2024/01/05'.
    return (
        "CASE WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE "
        f"WHEN REGEXP_FULL_MATCH(_s_, {sql_text(_DATE_TEXT)}) THEN {cast}(TRIM(_s_) AS DATE) "
        f"ELSE {bad} END ELSE {cast}(__x__ AS DATE) END"
    )


# BigQuery writes NUMERIC/BIGNUMERIC without trailing zeros (NUMERIC '1.50' -> '1.5', ZetaSQL
# NumericValue::ToString); DuckDB pads to the scale ('1.500000000').
_NUMERIC_TEXT = "CASE WHEN CONTAINS(_s_, '.') THEN RTRIM(RTRIM(_s_, '0'), '.') ELSE _s_ END"
# FLOAT64 -> STRING (ZetaSQL NumericToString<double>, RoundTripDoubleToString; compliance functions_testlib_cast.cc):
# %.15g, or %.17g where 15 digits do not give the value back (123.0 -> '123', 1.123e25 -> '1.123e+25', DBL_MAX ->
# '1.7976931348623157e+308'); "A returned NaN or 0 will not be signed" (conversion functions doc). DuckDB wrote
# '123.0', '-0.0' and '-nan'. `_v_` is the value as a DOUBLE.
_FLOAT_TEXT = ("CASE WHEN ISNAN(_v_) THEN 'nan' WHEN _v_ = 0 THEN '0' "
               "WHEN CAST(PRINTF('%.15g', _v_) AS DOUBLE) = _v_ THEN PRINTF('%.15g', _v_) "
               "ELSE PRINTF('%.17g', _v_) END")
_AS_DOUBLE = "TRY_CAST(__x__ AS DOUBLE)"
# TIMESTAMP, DATETIME and TIME -> STRING (ZetaSQL ConvertTimestampMicrosToStringWithTruncation; compliance
# functions_testlib_cast.cc): the fraction in 0, 3 or 6 digits, `12:00:00.500+00`, `01:02:03.123450`; DuckDB wrote
# the fewest digits (`.5`, `.12345`). `_w_` is the text up to the seconds, `_f_` the microseconds of the second, `_z_`
# what follows the fraction. (The TRY_CASTs bind for any type: the branches of other types are folded away.) FORMAT's
# %t writes the same text in Python (printf_format._clock, a UDF); here it is SQL, a 30th of that UDF's cost a row.
_CLOCK_TEXT = ("_w_ || CASE WHEN _f_ = 0 THEN '' WHEN _f_ % 1000 = 0 THEN '.' || LPAD(CAST(_f_ // 1000 AS VARCHAR), 3, "
               "'0') ELSE '.' || LPAD(CAST(_f_ AS VARCHAR), 6, '0') END || _z_")
_CLOCKS = {"TIMESTAMP WITH TIME ZONE": ("LEFT(CAST(__x__ AS VARCHAR), 19)", "TIMESTAMP", "'+00'"),
           "TIMESTAMP": ("LEFT(CAST(__x__ AS VARCHAR), 19)", "TIMESTAMP", "''"),
           "TIME": ("LEFT(CAST(__x__ AS VARCHAR), 8)", "TIME", "''")}
_CLOCK_BRANCHES = " ".join(
    f"WHEN TYPEOF(__x__) = '{kind}' THEN "
    + _CLOCK_TEXT.replace("_w_", whole).replace("_f_", f"(MICROSECOND(TRY_CAST(__x__ AS {as_type})) % 1000000)")
    .replace("_z_", zone)
    for kind, (whole, as_type, zone) in _CLOCKS.items())
_CLOCK_TYPES = (_T.TIMESTAMPTZ, _T.TIMESTAMP, _T.DATETIME, _T.TIME)


def _is_float_literal(x: exp.Expression) -> bool:
    """1e15: FLOAT64 in BigQuery (lexical structure doc), DOUBLE in DuckDB (1.5 is a DOUBLE already rewritten)."""
    return isinstance(x, exp.Literal) and not x.is_string and any(c in x.this for c in "eE")


def _to_string(x: exp.Expression, safe: bool) -> str | None:
    if is_decimal_cast(x):
        return _NUMERIC_TEXT
    if (isinstance(x, (exp.Cast, exp.TryCast)) and x.to.this == _T.DOUBLE) or _is_float_literal(x):
        return _FLOAT_TEXT.replace("_v_", _AS_DOUBLE)
    if isinstance(x, (exp.Literal, exp.Null)) \
            or isinstance(x, (exp.Cast, exp.TryCast)) and x.to.this not in _CLOCK_TYPES:
        return None   # (DuckDB's text of the type cast to is BigQuery's)
    # (BYTES are decoded as UTF-8, an error where they are not, NULL for SAFE_CAST (compliance
    # functions_testlib_cast.cc: SAFE_CAST(b'\xd7' AS STRING) is NULL; DuckDB's DECODE failed the query); DuckDB's cast
    # writes `\xC4\x87` escapes. An INTERVAL is BigQuery's `Y-M D H:M:S` text, as FORMAT's %t prints it: `0-0 3 0:0:0`,
    # where DuckDB wrote `3 days`.)
    decoded = "TRY(DECODE(CAST(__x__ AS BLOB)))" if safe else "DECODE(CAST(__x__ AS BLOB))"
    return (f"CASE WHEN TYPEOF(__x__) LIKE 'DECIMAL%' THEN {_NUMERIC_TEXT} "
            f"WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') THEN {_FLOAT_TEXT.replace('_v_', _AS_DOUBLE)} "
            f"WHEN TYPEOF(__x__) = 'BLOB' THEN {decoded} {_CLOCK_BRANCHES} "
            f"WHEN TYPEOF(__x__) = 'INTERVAL' AND __x__ IS NOT NULL THEN _bq_format_text(__x__, TYPEOF(__x__), FALSE) "
            "ELSE CAST(__x__ AS VARCHAR) END")


def _once(sql: str, x: exp.Expression) -> exp.Expression:
    """`sql` of `x`, which it names several times, with `x` evaluated once where each evaluation differs (RAND())."""
    if not is_random(x):
        return tpl(sql, x=x)
    return tpl(f"LIST_TRANSFORM([__x__], _once_ -> {sql.replace('__x__', '_once_')})[1]", x=x)


# BIGNUMERIC is DECIMAL(38, 18) here (typenames.py), narrower than BigQuery's 38.38 digits: a value with more
# decimal places or integer digits would be rounded silently or refused in DuckDB's words, so it is refused
# in one sentence. A plain decimal text is checked; one with an exponent is left to DuckDB.
_BIGNUMERIC_INTEGER_DIGITS, _BIGNUMERIC_DECIMALS = 20, 18
_TOO_WIDE = (f"the sandbox's BIGNUMERIC holds {_BIGNUMERIC_DECIMALS} decimal places and {_BIGNUMERIC_INTEGER_DIGITS} "
             "integer digits (BigQuery's 38 and 38), and the value has more: use target=gcp for wider values")
_PLAIN_DECIMAL_TEXT = r"\s*[+-]?[0-9]*(\.[0-9]*)?\s*"
_BIGNUMERIC_TEXT = r"\s*[+-]?0*[0-9]{0,%d}(\.[0-9]{0,%d}0*)?\s*" % (_BIGNUMERIC_INTEGER_DIGITS, _BIGNUMERIC_DECIMALS)


def _is_decimal(to: exp.DataType, precision_scale: tuple[int, int]) -> bool:
    """DECIMAL(p, s) of the sandbox's NUMERIC or BIGNUMERIC, as typenames.py has made it by now (a cast's type is
    rewritten before the cast)."""
    params = [p.this.name for p in to.expressions if isinstance(p, exp.DataTypeParam)]
    return to.this == _T.DECIMAL and params == [str(n) for n in precision_scale]


def _is_bignumeric(to: exp.DataType) -> bool:
    return (to.this == _T.BIGDECIMAL and not to.expressions) or _is_decimal(to, BIGNUMERIC_DUCKDB)


def too_wide_for_bignumeric(value: Decimal) -> bool:
    """Whether DECIMAL(38, 18), the sandbox's BIGNUMERIC, cannot hold `value` exactly (more than 18 decimal
    places or 20 integer digits; trailing zeros do not count)."""
    if not value.is_finite() or value.is_zero():
        return False
    _, digits, exponent = value.as_tuple()
    places = decimal_places(value)
    return places > _BIGNUMERIC_DECIMALS or max(0, len(digits) + exponent) > _BIGNUMERIC_INTEGER_DIGITS


def decimal_places(value: Decimal) -> int:
    """How many decimal places a finite `value` needs (trailing zeros do not count). Not Decimal.normalize(),
    which rounds to the context's 28 digits."""
    _, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    return max(0, -exponent - (len(text) - len(text.rstrip("0"))))


def bignumeric_refusal(value: object) -> str:
    """The one sentence refusing a value too wide for the sandbox's BIGNUMERIC."""
    return f"BIGNUMERIC '{value}': {_TOO_WIDE}."


def _check_bignumeric_literal(text: str) -> None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return   # not a number: DuckDB's cast says so
    if too_wide_for_bignumeric(value):
        raise UnsupportedSQL(bignumeric_refusal(text))


# A FLOAT64's exact value is m / 2^k (m odd), which has exactly k decimal places: it fits 18 of them when
# x * 2^18 is whole. Conversion rules page (FLOAT64 -> BIGNUMERIC, "The floating point number will round half
# away from zero"; https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules): BigQuery
# rounds that exact value at its 38th place, so CAST(0.1 AS BIGNUMERIC) is 0.1000000000000000055511151231257827021
# there, which the sandbox cannot hold: refused. NaN and +/-inf are left to DuckDB's cast, which refuses them
# as BigQuery does.
_DOUBLE_TOO_WIDE = ("ISFINITE(TRY_CAST(__x__ AS DOUBLE)) AND NOT (ABS(TRY_CAST(__x__ AS DOUBLE)) < 1e20 AND "
                    "TRY_CAST(__x__ AS DOUBLE) * 262144 = FLOOR(TRY_CAST(__x__ AS DOUBLE) * 262144))")
# A NUMERIC (29 integer digits) or a DECIMAL of more than 18 places (DuckDB's product of two BIGNUMERICs):
# too wide when DECIMAL(38, 18) cannot take it or takes it rounded (compared as text: both bind for any type).
_DECIMAL_TOO_WIDE = (f"TRY_CAST(__x__ AS DECIMAL(38, 18)) IS NULL OR "
                     f"{_NUMERIC_TEXT.replace('_s_', 'CAST(TRY_CAST(__x__ AS DECIMAL(38, 18)) AS VARCHAR)')} <> "
                     f"{_NUMERIC_TEXT.replace('_s_', 'CAST(__x__ AS VARCHAR)')}")


# FLOAT64 -> NUMERIC / BIGNUMERIC (conversion rules: "The floating point number will round half away from zero"):
# the double's exact binary value rounded at the 9th (18th) place. DuckDB's cast multiplies by 10^s in floating point:
# CAST(1e15 + 0.5 AS NUMERIC) was 1000000000000000.520093696, and 6 doubles in 10 of 1e6 or more were a unit off in the
# last place (compliance functions_testlib_cast.cc). Here the integer part is exact as a HUGEINT and the fraction, times
# 2^k, is a whole number (for NUMERIC, k = 90: every double of 2^-38 or more, and a smaller one rounds to 0 anyway;
# for BIGNUMERIC, k = 18, as _DOUBLE_TOO_WIDE admits no finer double), so fraction * 10^s / 2^k rounds exactly (a
# shift, not HUGEINT division, which made the cast 30 times DuckDB's own; now about 2.5 times).
def _exact_double(kind: str) -> str:
    scale, bits = (9, 90) if kind == "NUMERIC" else (18, 18)
    v = _AS_DOUBLE
    unscaled = (f"CAST(TRUNC(ABS({v})) AS HUGEINT) * {10 ** scale} + ((CAST((ABS({v}) - TRUNC(ABS({v}))) * "
                f"{float(2 ** bits)} AS HUGEINT) * {10 ** scale} + {2 ** (bits - 1)}) >> {bits})")
    unit = f"CAST('0.{'0' * (scale - 1)}1' AS DECIMAL(38, {scale}))"
    return f"CAST(SIGN({v}) * ({unscaled}) AS DECIMAL(38, 0)) * {unit}"


def _numeric_from_double(node: exp.Cast, safe: bool) -> exp.Expression | None:
    """A cast to NUMERIC of a FLOAT64, exact (_exact_double); NaN, +/-inf and a value past NUMERIC's range fail as
    BigQuery's conversion does (NULL under SAFE_CAST)."""
    x = node.this
    if isinstance(x, exp.Literal) and not _is_float_literal(x) or isinstance(x, exp.Null):
        return None
    failure = ("NULL" if safe else f"ERROR('Illegal conversion of non-finite floating point number to numeric: ' "
               f"|| CAST({_AS_DOUBLE} AS VARCHAR))")
    overflow = "NULL" if safe else f"ERROR('numeric overflow: ' || CAST({_AS_DOUBLE} AS VARCHAR))"
    # (the double nearest 1e29 is 99999999999999991433150857216, a NUMERIC; the next one is not)
    cast = f"{'TRY_CAST' if safe else 'CAST'}(__x__ AS DECIMAL({NUMERIC_DUCKDB[0]}, {NUMERIC_DUCKDB[1]}))"
    return _once(f"CASE WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') THEN CASE WHEN NOT ISFINITE({_AS_DOUBLE}) "
                 f"THEN {failure} WHEN ABS({_AS_DOUBLE}) > 1e29 THEN {overflow} ELSE {_exact_double('NUMERIC')} END "
                 f"ELSE {cast} END", x)


def _checked_bignumeric(node: exp.Cast) -> exp.Expression | None:
    """A cast to BIGNUMERIC of a literal checked now; of a STRING, a FLOAT64 or a NUMERIC checked as it runs
    (typeof() is folded when DuckDB binds, so one branch is left): a value DECIMAL(38, 18) cannot hold
    exactly is refused (_TOO_WIDE), never rounded. An INT64 always fits."""
    x = node.this
    if isinstance(x, exp.Literal):
        if x.is_string:
            _check_bignumeric_literal(x.this)
        return None
    wider = (f"REGEXP_FULL_MATCH(_s_, {sql_text(_PLAIN_DECIMAL_TEXT)}) AND NOT "
             f"REGEXP_FULL_MATCH(_s_, {sql_text(_BIGNUMERIC_TEXT)})")
    refusal = f"ERROR({sql_text(_TOO_WIDE)} || ': ' || _s_)"
    checked = (f"CASE WHEN TYPEOF(__x__) = 'VARCHAR' AND {wider} THEN {refusal} "
               f"WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') AND {_DOUBLE_TOO_WIDE} THEN {refusal} "
               f"WHEN TYPEOF(__x__) LIKE 'DECIMAL%' AND ({_DECIMAL_TOO_WIDE}) THEN {refusal} "
               f"WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') AND ISFINITE({_AS_DOUBLE}) "
               f"THEN {_exact_double('BIGNUMERIC')} "
               f"ELSE __cast__ END")
    cast = node.copy()
    return tpl(checked.replace("_s_", "CAST(__x__ AS VARCHAR)").replace("__cast__", "__c__"), x=x, c=cast)


# CAST(STRING AS DATETIME / TIME): a civil time has no zone, and no hour 24 (conversion rules; compliance
# cast_function.test `cast_utc_timestamp_to_datetime_with_civil_time_enabled`, `cast_overflowing_literal_to_civil_time`:
# "Invalid datetime string", "Invalid time string"). DuckDB's cast dropped an offset or zone silently (the wall clock
# of another zone) and read 24:00:00 as midnight.
_CIVIL_REFUSED = {
    _T.TIMESTAMP: ("datetime", r"(?i)(\d{1,2}:\d{1,2}(:\d{1,2}(\.\d*)?)?\s*(z|utc|[+-]\d{1,2}(:?\d{2})?|[a-z]+/[a-z_]+)"
                   r"|[ t]24:\d{1,2}(:\d{1,2}(\.\d*)?)?)\s*$"),
    _T.TIME: ("time", r"^\s*(2[4-9]|[3-9]\d|\d{3,}):"),
}


def _civil_time_checked(node: exp.Cast, target: exp.DataType.Type, safe: bool) -> exp.Expression:
    kind, refused = _CIVIL_REFUSED[target]
    failure = "NULL" if safe else f"ERROR('Invalid {kind} string \"' || CAST(__x__ AS VARCHAR) || '\"')"
    return tpl(f"CASE WHEN TYPEOF(__x__) = 'VARCHAR' AND REGEXP_MATCHES(CAST(__x__ AS VARCHAR), {sql_text(refused)}) "
               f"THEN {failure} ELSE __c__ END", x=node.this.copy(), c=node)


def fix_cast(node: exp.Cast) -> exp.Expression | None:
    """CAST/SAFE_CAST to INT64, BOOL, DATE and STRING.

    The input's type is unknown here; typeof() is folded when DuckDB binds the query, so each CASE
    keeps one branch. A failed CAST raises BigQuery's message; SAFE_CAST gives NULL. ERROR(NULL) is
    NULL, so a NULL input stays NULL without a branch of its own.
    """
    if node.args.get("format") is not None:
        return formatted(node)
    if _is_bignumeric(node.to):
        return _checked_bignumeric(node)
    if _is_decimal(node.to, NUMERIC_DUCKDB):
        return _numeric_from_double(node, is_safe(node))
    if node.to.expressions:
        return None
    target = node.to.this
    x = node.this
    if isinstance(x, exp.Null):
        return None   # CAST(NULL AS DATE) is a typed NULL: DuckDB's own (a CASE over TYPEOF(NULL) lost the type)
    safe = is_safe(node)
    if target in (_T.TIMESTAMPTZ, _T.TIMESTAMP) and isinstance(x, exp.Literal) and x.is_string:
        x.replace(exp.Literal.string(_timestamp_text(x.this)))
        return _civil_time_checked(node, target, safe) if target in _CIVIL_REFUSED else None
    if target in _CIVIL_REFUSED:
        return _civil_time_checked(node, target, safe)
    if target in (_T.BINARY, _T.VARBINARY, _T.BLOB):
        # a STRING's UTF-8 bytes (DuckDB's VARCHAR -> BLOB cast reads `\x41` as one byte and refuses non-ASCII)
        return tpl("CASE WHEN TYPEOF(__x__) = 'VARCHAR' THEN ENCODE(CAST(__x__ AS VARCHAR)) "
                   "ELSE CAST(__x__ AS BLOB) END", x=x)
    if target in (_T.BIGINT, _T.BOOLEAN, _T.DATE) and isinstance(x, exp.Literal) and x.is_string:
        return _cast_string_literal(x.this, target, safe)
    if target == _T.BIGINT:
        sql = _to_int64(x, safe)
    elif target == _T.BOOLEAN:
        sql = _to_bool(x, safe)
    elif target == _T.DATE:
        sql = _to_date(x, safe)
    elif target == _T.TEXT:
        sql = _to_string(x, safe)
    else:
        return None
    return None if sql is None else _once(sql.replace("_s_", "CAST(__x__ AS VARCHAR)"), x)


# A TIMESTAMP or DATETIME literal as BigQuery reads it (lexical structure doc, "Timestamp literals"): a lowercase `t`
# or `z`, and an offset of one-digit hours or after a space (`+3`, ` -8:15`); DuckDB's parser wants `+03:00`.
_LITERAL_T = re.compile(r"^(\s*\d{4}-\d{1,2}-\d{1,2})t(?=\d)")
_LITERAL_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)\s*([+-])(\d{1,2})(?::(\d{2}))?\s*$")


def _timestamp_text(text: str) -> str:
    text = _LITERAL_T.sub(r"\1T", text)
    text = re.sub(r"(?<=\d)z\s*$", "Z", text)
    return _LITERAL_OFFSET.sub(lambda m: m[1] + utc_offset(m[2], m[3], m[4]), text)
