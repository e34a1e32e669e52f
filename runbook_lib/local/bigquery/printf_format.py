"""FORMAT(format_string, value, ...): BigQuery's printf-style specifiers on DuckDB's printf.

The rules are GoogleSQL's string functions page, FORMAT (https://cloud.google.com/bigquery/docs/reference/standard-sql/
string_functions#format_string; the same text as google/zetasql docs/string_functions.md): its "%t and %T behavior"
table, "NULL argument handling" and "Flags". DuckDB's printf has no %t or %T (they were its %s, which refuses numbers,
makes the whole result NULL for one NULL argument and prints a STRUCT as {'x': 1}), spells the thousands flag `,`,
and prints a negative INT64 under %x in two's complement. Where the page says nothing (the digits of a FLOAT64, the
escapes of a quoted string) the text follows ZetaSQL's reference implementation
(zetasql/public/functions/string_format.cc, Value::GetSQLLiteral, ToStringLiteral); those rules are marked [ZetaSQL].
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .errors import UnsupportedSQL
from .json_text import JSON_PLACE, json_places, json_value_text, numeric_digits
from .sqltree import fails, sql_text, tpl
from .typenames import BIGNUMERIC_DUCKDB, NUMERIC_DUCKDB

# %[flags][width][.precision]specifier, as ZetaSQL's StringFormatEvaluator reads it
_SPECIFIER = re.compile(r"%([-+ #'0]*)(\*|[0-9]*)(\.(?:\*|[0-9]*))?(.)", re.DOTALL)
_GROUP_SEPARATORS = {"x": ":", "X": ":", "o": ","}   # the ' flag: 4 digits a group (Flags: bc:614e, 15,4403)
_PREFIXES = {"x": "0x", "X": "0X", "o": "0"}


def printf_format(node: exp.Format) -> exp.Expression:
    """FORMAT as DuckDB's PRINTF, each specifier and its argument rewritten where the two differ."""
    pattern, arguments = node.this, list(node.expressions)
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return exp.Anonymous(this="PRINTF", expressions=[pattern, *arguments])
    pieces, at, position = [], 0, 0
    for m in _SPECIFIER.finditer(pattern.this):
        flags, width, precision, kind = m.groups()
        pieces.append(pattern.this[at:m.start()])
        at = m.end()
        if kind == "%":
            pieces.append("%%")
            continue
        position += (width == "*") + (precision == ".*")
        value = arguments[position] if position < len(arguments) else None
        position += 1
        if value is None:   # too few arguments: DuckDB's printf says so
            pieces.append(m.group(0))
        elif kind in "tT":
            # "width, precision, and flags act as they do for %s"; DuckDB's %s takes only the - flag
            pieces.append("%" + ("-" if "-" in flags else "") + width + (precision or "") + "s")
            value.replace(exp.Anonymous(this="_bq_format_text", expressions=[
                value.copy(), exp.Anonymous(this="TYPEOF", expressions=[value.copy()]), exp.convert(kind == "T")]))
        elif kind in _GROUP_SEPARATORS:
            pieces.append(_hexadecimal_or_octal(node, m, value))
        elif kind in "fF" and width != "*" and precision != ".*" and not set(flags) & set("'0#"):
            pieces.append(_fixed_point(m, value))
        else:
            # BigQuery's ' flag groups thousands with commas (FORMAT("%'d", 1234567) = '1,234,567'); DuckDB's
            # printf spells that flag "," (its own ' groups with apostrophes).
            pieces.append("%" + flags.replace("'", ",") + width + (precision or "") + kind)
    pieces.append(pattern.this[at:])
    return exp.Anonymous(this="PRINTF", expressions=[exp.Literal.string("".join(pieces)), *node.expressions])


def _fixed_point(m: re.Match, value: exp.Expression) -> str:
    """%f of a NUMERIC or BIGNUMERIC prints its exact digits, rounded half away from zero [ZetaSQL: string_format.cc
    formats a NUMERIC with NumericValue's own digits]; DuckDB's printf went through FLOAT64 (a 30-digit NUMERIC
    printed `...991439139646054.456...`, NUMERIC '1.005' as '1.00'). The value is printed here, by TYPEOF (folded
    as DuckDB binds the query), and the specifier's width and - flag applied to that text."""
    flags, width, precision, kind = m.groups()
    places = int(precision[1:] or 0) if precision else 6
    sign = "'+'" if "+" in flags else "' '" if " " in flags else "''"
    decimals = " ".join(
        f"WHEN TYPEOF(__v__) = 'DECIMAL({p},{s})' THEN CASE WHEN TRY_CAST(__v__ AS DECIMAL({p}, {s})) >= 0 "
        f"THEN {sign} ELSE '' END || CAST(CAST(ROUND(TRY_CAST(__v__ AS DECIMAL({p}, {s})), {places}) AS "
        f"DECIMAL({p}, {min(places, s)})) AS VARCHAR) || {sql_text('0' * max(0, places - s))}"
        for p, s in (NUMERIC_DUCKDB, BIGNUMERIC_DUCKDB))
    inner = "%" + flags.replace("-", "") + (precision or "") + kind
    value.replace(tpl(f"CASE {decimals} ELSE PRINTF({sql_text(inner)}, __v__) END", v=value.copy()))
    return "%" + ("-" if "-" in flags else "") + width + "s"


def _hexadecimal_or_octal(node: exp.Format, m: re.Match, value: exp.Expression) -> str:
    """%x, %X, %o: "If an INT64 value is negative, an error is produced" (format specifiers table); DuckDB printed
    its two's complement (ffffffffffffffff). With the ' flag, digits in groups of 4 (bc:614e), done here; with a
    width or precision as well, refused. [ZetaSQL's compliance tests print -1e instead of failing; the page is
    followed, so the sandbox fails where BigQuery might print, never the reverse.]"""
    flags, width, precision, kind = m.groups()
    negative = fails(node, f"'FORMAT cannot print the negative INT64 ' || CAST(__v__ AS VARCHAR) || "
                           f"{sql_text(f' with %{kind}')}")
    checked = tpl(f"CASE WHEN __v__ < 0 THEN {negative} ELSE __v__ END", v=value.copy())
    if "'" not in flags:
        value.replace(checked)
        return m.group(0)
    if width or precision:
        raise UnsupportedSQL(f"The local warehouse's FORMAT takes the ' flag with %{kind} only without a width or "
                             f"precision (not {m.group(0)!r}); use target=gcp for that.")
    digits = f"PRINTF('%{kind}', __v__)"
    lead = f"(LENGTH({digits}) - 1) % 4 + 1"
    grouped = (f"LEFT({digits}, {lead}) || ARRAY_TO_STRING(LIST_TRANSFORM(RANGE({lead} + 1, LENGTH({digits}) + 1, 4), "
               f"lambda _digit: {sql_text(_GROUP_SEPARATORS[kind])} || SUBSTRING({digits}, _digit, 4)), '')")
    sign = "'+'" if "+" in flags else "' '" if " " in flags else "''"
    prefix = f"CASE WHEN __v__ = 0 THEN '' ELSE {sql_text(_PREFIXES[kind])} END" if "#" in flags else "''"
    value.replace(tpl(f"{sign} || {prefix} || {grouped}", v=checked))
    return "%" + ("-" if "-" in flags else "") + "s"


# ---------------------------------------------------------------- %t and %T, any value as text


def format_text(values: pa.Array, duckdb_types: pa.Array, literal: pa.Array) -> pa.Array:
    """The DuckDB function _bq_format_text(value, TYPEOF(value), as_literal) FORMAT's %t (as_literal FALSE) and %T
    (TRUE) print a value with: NULL of any type is NULL ("a NULL value produces 'NULL'"), never a NULL result."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not len(values):
        return pa.array([], pa.string())
    places = json_places(duckdb_types[0].as_py())
    as_literal = bool(literal[0].as_py())
    return pa.array([_text(v, values.type, places, as_literal) for v in values.to_pylist()], pa.string())


def _text(value: Any, t: pa.DataType, places: Any, literal: bool) -> str:
    if value is None:
        return "NULL"
    if places == JSON_PLACE:   # one-line JSON; %T: JSON '...'
        text = json_value_text(value, None)
        return f"JSON {_string_literal(text)}" if literal else text
    if pa.types.is_dictionary(t):   # a DuckDB ENUM: a STRING in BigQuery's terms
        t = t.value_type
    if pa.types.is_boolean(t):
        return "true" if value else "false"
    if pa.types.is_integer(t) or (pa.types.is_decimal(t) and t.scale == 0):
        return str(value)
    if pa.types.is_decimal(t):   # as CAST(x AS STRING): no trailing zeros; %T: NUMERIC "3.5"
        text = numeric_digits(value)
        name = "BIGNUMERIC" if t.scale == BIGNUMERIC_DUCKDB[1] else "NUMERIC"
        return f"{name} {_string_literal(text)}" if literal else text
    if pa.types.is_floating(t):
        return _double(value, literal)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _string_literal(value) if literal else value
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return _bytes_literal(value) if literal else _escaped_bytes(value, None)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = places[0] if places else None
        return "[" + ", ".join(_text(v, t.value_type, inner, literal) for v in value) + "]"
    if pa.types.is_struct(t):
        fields = [_text(value[t.field(i).name], t.field(i).type, places[i] if places else None, literal)
                  for i in range(t.num_fields)]
        # %T of zero or one field: STRUCT() and STRUCT(value) [ZetaSQL: a 1-tuple is no literal]
        return ("STRUCT(" if literal and len(fields) <= 1 else "(") + ", ".join(fields) + ")"
    if t == pa.month_day_nano_interval():
        text = _interval(value)
        return f"INTERVAL {_string_literal(text)} YEAR TO SECOND" if literal else text
    if isinstance(value, datetime) and value.tzinfo is not None:   # TIMESTAMP, printed in UTC
        return _typed("TIMESTAMP", _clock(value.astimezone(timezone.utc)) + "+00", literal)
    if isinstance(value, datetime):
        return _typed("DATETIME", _clock(value), literal)
    if isinstance(value, date):
        return _typed("DATE", f"{value.year:04d}-{value.month:02d}-{value.day:02d}", literal)
    if isinstance(value, time):
        return _typed("TIME", _clock(value), literal)
    raise UnsupportedSQL(f"The local warehouse's FORMAT cannot print a value of Arrow type {t} with %t or %T.")


def _typed(name: str, text: str, literal: bool) -> str:
    return f"{name} {_string_literal(text)}" if literal else text


def _clock(value: datetime | time) -> str:
    """[ZetaSQL] fractional seconds in 0, 3 or 6 digits (ConvertTimestampMicrosToStringWithTruncation)."""
    head = f"{value.year:04d}-{value.month:02d}-{value.day:02d} " if isinstance(value, datetime) else ""
    text = f"{head}{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    micros = value.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text


def _double(v: float, literal: bool) -> str:
    """[ZetaSQL] "123.0 (always with .0)", 1e+20: %.15g, else %.17g when 15 digits do not give the value back, with
    .0 added to what reads as an integer; %T of inf/nan is CAST("inf" AS FLOAT64)."""
    if v != v or v in (float("inf"), float("-inf")):
        text = "nan" if v != v else ("inf" if v > 0 else "-inf")
        return f'CAST("{text}" AS FLOAT64)' if literal else text
    text = "%.15g" % v
    if float(text) != v:
        text = "%.17g" % v
    return text + ".0" if re.fullmatch(r"-?[0-9]+", text) else text


def _interval(v: Any) -> str:
    """[ZetaSQL] IntervalValue::ToString: [-]Y-M [-]D [-]H:M:S[.fff[fff[fff]]], e.g. 1-2 3 4:5:6.789."""
    years, months = divmod(abs(v.months), 12)
    nanos = abs(v.nanoseconds)
    hours, nanos = divmod(nanos, 3600 * 10**9)
    minutes, nanos = divmod(nanos, 60 * 10**9)
    seconds, nanos = divmod(nanos, 10**9)
    fraction = f"{nanos:09d}"
    fraction = "" if not nanos else "." + (fraction[:3] if nanos % 10**6 == 0 else
                                           fraction[:6] if nanos % 1000 == 0 else fraction)
    return (f"{'-' if v.months < 0 else ''}{years}-{months} {v.days} "
            f"{'-' if v.nanoseconds < 0 else ''}{hours}:{minutes}:{seconds}{fraction}")


def _quote_for(text: str | bytes) -> str:
    """[ZetaSQL] ToStringLiteral: double quotes, single ones for a text holding " and no '."""
    double, single = ('"', "'") if isinstance(text, str) else (b'"', b"'")
    return "'" if double in text and single not in text else '"'


def _string_literal(text: str) -> str:
    """[ZetaSQL] CEscapeInternal(utf8_safe): \\n \\r \\t \\\\ and the quote escaped, other ASCII control characters
    as \\xNN (and a hex digit right after one), non-ASCII text as it is."""
    quote, out, after_hex = _quote_for(text), [], False
    for ch in text:
        hex_escape = False
        if ch in "\n\r\t\\":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ord(ch) < 0x80 and (not (0x20 <= ord(ch) < 0x7f) or (after_hex and ch in "0123456789abcdefABCDEF")):
            out.append(f"\\x{ord(ch):02x}")
            hex_escape = True
        else:
            out.append(ch)
        after_hex = hex_escape
    return quote + "".join(out) + quote


def _escaped_bytes(value: bytes, quote: str | None) -> str:
    """[ZetaSQL] EscapeBytes: unprintable bytes as \\xNN, the backslash and the quote (every quote for %t)
    backslashed."""
    out = []
    for byte in value:
        ch = chr(byte)
        if not 0x20 <= byte < 0x7f:
            out.append(f"\\x{byte:02x}")
        elif ch == "\\" or (ch in "'\"`" and quote in (None, ch)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _bytes_literal(value: bytes) -> str:
    quote = _quote_for(value)
    return f"b{quote}{_escaped_bytes(value, quote)}{quote}"
