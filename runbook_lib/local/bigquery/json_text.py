"""TO_JSON_STRING as BigQuery spells it, for any value: a vectorised DuckDB function over Arrow.

The rules are BigQuery's own page, GoogleSQL for BigQuery > JSON functions, sections TO_JSON_STRING
and "JSON encodings" (https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions),
and the JSON type's canonicalisation (data types page, JSON type); tests/test_dialect.py holds that
page's examples as golden values. Where the page says nothing (the digits of a FLOAT64, the sign of
zero, how many fractional digits a TIMESTAMP gets, how a control character is escaped, a NULL
pretty_print), the text follows the engine the page documents, ZetaSQL's open-source reference
implementation (zetasql/public/functions/json_format.cc, reference_impl/functions/json.cc); those
rules are marked [ZetaSQL] here and in the tests.

DuckDB hands each chunk of values over as Arrow arrays that keep their types (a TIMESTAMP WITH TIME
ZONE arrives with its zone, a BLOB as binary, a DECIMAL as decimal128, an INTERVAL as
month_day_nano), so one function takes every type. JSON alone arrives as plain text: the DuckDB type
name (TYPEOF) comes along to say where JSON values sit. Columns are spelled with pyarrow.compute;
FLOAT64 digits, BYTES, INTERVAL and JSON values one by one in Python, as no Arrow kernel spells them.
"""
from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .errors import UnsupportedSQL

# INT64, NUMERIC, BIGNUMERIC (TO_JSON_STRING only): a number within [-2^53, 2^53], which a double
# holds exactly, a JSON string beyond.
_EXACT_IN_DOUBLE = 1 << 53
JSON_PLACE = "json"   # a place in a value's type that holds JSON (see json_places)
_NANOS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INDENT = "  "   # pretty_print: two spaces a level, "key": value (the page's own example)

# STRING: "escaped according to the JSON standard. Specifically, ", \, and the control characters from
# U+0000 to U+001F are escaped." Nothing else is ('<', '&' and non-ASCII text stay as they are), but for U+2028 and
# U+2029: [ZetaSQL] JsonEscapeAndAppendString (common/json_util.cc) escapes them too, for a JSON text that JavaScript
# reads. The escapes' spelling: \b \f \n \r \t, the other control characters \u00xx in lower case. A JSON value's
# own strings are written by the JSON type's library, which leaves U+2028 and U+2029 as they are.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            **{chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in "\b\f\n\r\t"}}
_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_STRING_ESCAPE_TABLE = str.maketrans(_ESCAPES | _SEPARATORS)


def quoted(text: str, separators: bool = True) -> str:
    """A STRING value (or a STRUCT field name) as a JSON string; `separators=False`: a JSON value's string."""
    return '"' + text.translate(_STRING_ESCAPE_TABLE if separators else _ESCAPE_TABLE) + '"'


# ---------------------------------------------------------------- where JSON values sit


@lru_cache(maxsize=256)
def json_places(duckdb_type: str) -> Any:
    """None when the type holds no JSON; JSON_PLACE for JSON itself; for a list a 1-tuple of its
    element's places, for a struct a tuple of its fields' places."""
    if "JSON" not in duckdb_type.upper():
        return None
    return _places(exp.DataType.build(duckdb_type, dialect="duckdb"))


def _places(t: exp.DataType) -> Any:
    if t.this == exp.DataType.Type.JSON:
        return JSON_PLACE
    if t.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) and t.expressions:
        inner = _places(t.expressions[0])
        return None if inner is None else (inner,)
    if t.this == exp.DataType.Type.STRUCT:
        fields = tuple(_places(f.args["kind"] if isinstance(f, exp.ColumnDef) else f) for f in t.expressions)
        return fields if any(f is not None for f in fields) else None
    return None


# ---------------------------------------------------------------- spelling, column by column


def _joined(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _quoted_column(text: pa.Array) -> pa.Array:
    return _joined('"', text, '"')


def _constant(text: str, n: int) -> pa.Array:
    return pa.array([text] * n, pa.string())


def _one_by_one(arr: pa.Array, spell: Callable[[Any], str]) -> pa.Array:
    return pa.array([None if v is None else spell(v) for v in arr.to_pylist()], pa.string())


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _beyond_double(arr: pa.Array) -> pa.Array | None:
    """Where an integer or NUMERIC value lies outside [-2^53, 2^53] (None: nowhere)."""
    t = arr.type
    if pa.types.is_integer(t) and t.bit_width < 64:
        return None
    low, high = (v.as_py() for v in pc.min_max(arr).values())
    if low is None or -_EXACT_IN_DOUBLE <= low <= high <= _EXACT_IN_DOUBLE:
        return None
    limit = Decimal(_EXACT_IN_DOUBLE) if pa.types.is_decimal(t) else _EXACT_IN_DOUBLE
    above = pc.greater(arr, pa.scalar(limit, t))
    return above if pa.types.is_unsigned_integer(t) else pc.or_(above, pc.less(arr, pa.scalar(-limit, t)))


def _integer(arr: pa.Array, wide_as_strings: bool = True) -> pa.Array:
    """INT64: "Encoded as a number when the value is in the range of [-2^53, 2^53] ... A value outside
    of this range is encoded as a string." (9007199254740993 -> "9007199254740993"); for TO_JSON only with
    stringify_wide_numbers=>TRUE, else a number (a JSON value holds an INT64 exactly)."""
    text = arr.cast(pa.string())
    wide = _beyond_double(arr) if wide_as_strings else None
    return text if wide is None else pc.if_else(wide, _quoted_column(text), text)


def numeric_digits(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _numeric(arr: pa.Array, wide_as_strings: bool = True) -> pa.Array:
    """NUMERIC, BIGNUMERIC: "Encoded as a number when the value is in the range of [-2^53, 2^53] and
    has no fractional part", else a string; without trailing zeros (a NUMERIC holds nine decimal
    places, and the page writes 123.56 as "123.56")."""
    text = arr.cast(pa.string())   # Arrow pads to the scale ('1.500000000'), and writes 0 as '0E-9'
    text = pc.replace_substring_regex(pc.replace_substring_regex(text, r"0+$", ""), r"\.$", "")
    exponent = pc.match_substring(text, "E")
    if _any(exponent):
        exact = pa.array([numeric_digits(v) if e else None for v, e in zip(arr.to_pylist(), exponent.to_pylist())],
                         pa.string())
        text = pc.if_else(exponent, exact, text)
    if not wide_as_strings:
        return _numeric_as_number(arr, text)
    quote = pc.match_substring(text, ".")
    wide = _beyond_double(arr)
    if wide is not None:
        quote = pc.or_(quote, wide)
    return pc.if_else(quote, _quoted_column(text), text)


def _numeric_as_number(arr: pa.Array, text: pa.Array) -> pa.Array:
    """TO_JSON's NUMERIC and BIGNUMERIC without stringify_wide_numbers: a JSON number (123.56). A JSON
    value keeps a number as an INT64 or a FLOAT64 (data types page, JSON type); a value neither holds
    without losing digits is refused, since how BigQuery would round it is not the sandbox's to guess."""
    for digits in text.to_pylist():
        exact = digits is None or (-(1 << 63) <= int(digits) < 1 << 63 if "." not in digits
                                   else Decimal(repr(float(digits))) == Decimal(digits))
        if not exact:
            raise UnsupportedSQL(f"The local warehouse's TO_JSON cannot say how BigQuery's JSON keeps {digits}, "
                                 "which a FLOAT64 does not hold exactly: use stringify_wide_numbers=>TRUE or "
                                 "target=gcp.")
    return text


def _float_digits(v: float) -> str:
    """FLOAT64: "+/-inf and NaN are encoded as Infinity, -Infinity, and NaN" (as JSON strings, by the
    page's examples); "Otherwise, this value is encoded as a number" (1.0 -> 1).
    [ZetaSQL] The number's digits: printf %.15g, or %.17g when 15 significant digits do not give
    the value back (RoundTripDoubleToString); -0 is written 0 (canonicalize_zero)."""
    if v != v:
        return '"NaN"'
    if v in (float("inf"), float("-inf")):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    if v == 0:
        return "0"
    text = "%.15g" % v
    return text if float(text) == v else "%.17g" % v


def _float(arr: pa.Array) -> pa.Array:
    """Arrow's shortest round-trip text where it is %.15g's: a value in plain notation (no exponent),
    at least 1e-4 (below, %g switches to an exponent), in at most 15 significant digits (then the
    value rounded to 15 digits is those digits). Zero is 0. The rest one by one."""
    arr = arr.cast(pa.float64())
    text = arr.cast(pa.string())
    values = arr.to_numpy(zero_copy_only=False)   # NULL as NaN
    # At most 15 characters: at most 15 digits (longer plain texts go one by one, rightly if slowly).
    with np.errstate(invalid="ignore"):
        plain = np.isfinite(values) & (np.abs(values) >= 1e-4) & \
            (pc.utf8_length(text).to_numpy(zero_copy_only=False) <= 15) & \
            ~pc.match_substring(text, "e").fill_null(True).to_numpy(zero_copy_only=False)
    zero = values == 0
    if zero.any():
        text = pc.if_else(pa.array(zero), "0", text)
    rest = ~(plain | zero) & arr.is_valid().to_numpy(zero_copy_only=False)
    if not rest.any():
        return text
    spelled = pa.array([_float_digits(v) for v in values[rest].tolist()], pa.string())
    return pc.replace_with_mask(text, pa.array(rest), spelled)


def _json_doubles(arr: pa.Array) -> pa.Array:
    """FLOAT64 in TO_JSON: [ZetaSQL] a JSON double (to_json.cc), written as the JSON type writes one
    (json_double_text), -0 as 0.0 (compliance: to_json(-0.0) is JSONValue(0.0)); +/-inf and NaN as
    TO_JSON_STRING writes them."""
    return _one_by_one(arr.cast(pa.float64()),
                       lambda v: json_double_text(v or 0.0) if math.isfinite(v) else _float_digits(v))


def _string(arr: pa.Array) -> pa.Array:
    text = arr
    if _any(pc.match_substring_regex(arr, r'[\\"\x00-\x1f\x{2028}\x{2029}]')):
        # the backslash first: the others bring backslashes of their own
        for char, escape in (_ESCAPES | _SEPARATORS).items():
            if _any(pc.match_substring(text, char)):
                text = pc.replace_substring(text, char, escape)
    return _quoted_column(text)


def _fraction(nanos: np.ndarray) -> pa.Array:
    """[ZetaSQL] The fractional seconds as few digits as say them: none for whole seconds, then 3, 6
    or 9 digits (NarrowTimestampScaleIfPossible); the page's example shows 6 (.789012)."""
    if not nanos.any():
        return _constant("", len(nanos))
    digits = pc.utf8_lpad(pa.array(nanos).cast(pa.string()), width=9, padding="0")
    digits = pc.if_else(pa.array(nanos % 1_000_000 == 0), pc.utf8_slice_codeunits(digits, 0, 3),
                        pc.if_else(pa.array(nanos % 1_000 == 0), pc.utf8_slice_codeunits(digits, 0, 6), digits))
    return pc.if_else(pa.array(nanos == 0), "", _joined(".", digits))


def _clock(arr: pa.Array, unit: str, layout: str, suffix: str) -> pa.Array:
    """A TIMESTAMP, DATETIME or TIME, in whole seconds by `layout` and then its fraction."""
    per_second = 1_000_000_000 // _NANOS[unit]
    ticks = arr.cast(pa.int64()).fill_null(0).to_numpy()
    seconds, rest = np.divmod(ticks, per_second)   # floor: a time before 1970 keeps a positive fraction
    whole = pc.strftime(pa.array(seconds, pa.timestamp("s")), format=layout)
    return _quoted_column(_joined(whole, _fraction(rest * _NANOS[unit]), suffix))


def _interval_text(v: Any) -> str:
    """INTERVAL: ISO 8601 duration, as the page's examples (PT10H20M30.52S, PT1S, P-2Y-1M, P1DT5H30M).
    [ZetaSQL] The rule behind them (IntervalValue::ToISO8601): years and months from the months,
    days, then hours, minutes and seconds from the time part, each only when not zero, every part
    carrying its own sign (C++'s truncating division), the fraction without trailing zeros, P0Y for
    a zero interval."""
    def split(a: int, b: int) -> tuple[int, int]:
        q = abs(a) // b * (1 if a >= 0 else -1)
        return q, a - q * b

    years, months = split(v.months, 12)
    nanos = v.nanoseconds
    hours, rest = split(nanos, 3600 * 10**9)
    minutes, rest = split(rest, 60 * 10**9)
    seconds, sub = split(rest, 10**9)
    out = "P" + "".join(f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (v.days, "D")) if n)
    if nanos:
        out += "T" + "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    if sub:
        head = f"{seconds}." if seconds else ("-0." if nanos < 0 else "0.")
        out += head + f"{abs(sub):09d}".rstrip("0") + "S"
    elif seconds:
        out += f"{seconds}S"
    return f'"{out if len(out) > 1 else "P0Y"}"'


class _Number(str):
    """A JSON number as written."""


# [ZetaSQL] A JSON value holds an integer as INT64 (or UINT64) and any other number as a double
# (json_value.cc); its text is nlohmann::json's dump() (JSONValue::ToString, json_value.cc:629).
_INT64_MIN, _UINT64_MAX = -(1 << 63), (1 << 64) - 1
_FIXED_FROM, _FIXED_TO = -4, 15   # nlohmann's to_chars: kMinExp, kMaxExp (digits10 of a double)


def json_double_text(v: float) -> str:
    """A double as nlohmann's dump writes it (to_chars, format_buffer): the shortest digits that read back
    as the value, with `n` their decimal point's place (v = 0.digits x 10^n): `digits[000].0` for
    k <= n <= 15, `dig.its` for 0 < n <= 15, `0.[000]digits` for -4 < n <= 0, else `d.igitse+NN` (at
    least two exponent digits). So 1.0 -> 1.0, 1e20 -> 1e+20, 1e-5 -> 1e-05, 1.5e300 -> 1.5e+300."""
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return sign + "0.0"
    _, digit_tuple, exponent = Decimal(repr(abs(v))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)
    if k <= n <= _FIXED_TO:
        return sign + digits + "0" * (n - k) + ".0"
    if 0 < n <= _FIXED_TO:
        return sign + digits[:n] + "." + digits[n:]
    if _FIXED_FROM < n <= 0:
        return sign + "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'-' if n - 1 < 0 else '+'}{abs(n - 1):02d}"


def _json_integer(text: str) -> _Number:
    value = int(text)
    # beyond UINT64 the value is a double ('round'), or refused ('exact'): written as it came, not guessed
    return _Number(value) if _INT64_MIN <= value <= _UINT64_MAX else _Number(text)


def _json_double(text: str) -> _Number:
    value = float(text)
    return _Number(json_double_text(value)) if math.isfinite(value) else _Number(text)


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    first: dict = {}
    for key, value in pairs:
        first.setdefault(key, value)   # "If an object has duplicate keys, the first key that's found is preserved."
    return dict(sorted(first.items()))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_node(node: Any, depth: int | None) -> str:
    if isinstance(node, (dict, list)):
        pairs = [(quoted(k, separators=False) + (":" if depth is None else ": "), v) for k, v in node.items()] \
            if isinstance(node, dict) else [("", v) for v in node]
        ends = "{}" if isinstance(node, dict) else "[]"
        if not pairs:
            return ends
        inner = "" if depth is None else "\n" + _INDENT * (depth + 1)
        deeper = None if depth is None else depth + 1
        body = ",".join(inner + key + _json_node(value, deeper) for key, value in pairs)
        return ends[0] + body + ("" if depth is None else "\n" + _INDENT * depth) + ends[1]
    if isinstance(node, _Number):
        return str(node)
    if isinstance(node, str):
        return quoted(node, separators=False)
    return {True: "true", False: "false", None: "null"}[node]


def json_value_text(text: str, depth: int | None) -> str:
    """JSON: "data of the input JSON", without the whitespace ({"item":"pen","price":10}), as the
    JSON type keeps it: "Whitespace characters aren't preserved", "If an object has duplicate keys,
    the first key that's found is preserved" (data types page). Object members sorted by key, as
    every JSON value in the page's TO_JSON examples comes out (the type's rule only says their order
    "isn't guaranteed or preserved"). Numbers: the type "may not" keep their spelling and the page does
    not say how it changes it; [ZetaSQL] an integer stays one, any other number is a double
    written as nlohmann writes it (json_double_text: 1e20 -> 1e+20, 1.0 and 1.00 -> 1.0, 1E2 -> 100.0)."""
    node = json.loads(text, object_pairs_hook=_json_object, parse_float=_json_double, parse_int=_json_integer,
                      parse_constant=_refuse_constant)
    return _json_node(node, depth)


def _array(arr: pa.Array, places: Any, depth: int | None, wide_as_strings: bool = True,
           json_value: bool = False) -> pa.Array:
    """ARRAY: a JSON array of its elements, each spelled by its type ([1,2,3])."""
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_field))
    offsets = arr.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    items = spell(arr.values.slice(start, end - start), places[0] if places else None,
                  None if depth is None else depth + 1, wide_as_strings=wide_as_strings, json_value=json_value)
    lists = type(arr).from_arrays(pc.subtract(offsets, start), items)
    if depth is None:
        return _joined("[", pc.binary_join(lists, ","), "]")
    inner, outer = "\n" + _INDENT * (depth + 1), "\n" + _INDENT * depth
    text = _joined("[" + inner, pc.binary_join(lists, "," + inner), outer + "]")
    return pc.if_else(pc.equal(pc.list_value_length(arr), 0), "[]", text)


def _struct(arr: pa.StructArray, places: Any, depth: int | None, names: list[str] | None,
            wide_as_strings: bool = True, json_value: bool = False) -> pa.Array:
    """STRUCT: a JSON object of its fields in order, each spelled by its type; "For TO_JSON_STRING, a
    field and any duplicates of this field are included"; "Anonymous fields are represented with \"\""
    (both reach here only from a STRUCT(...) written as the argument itself: DuckDB's structs have
    unique, named fields, so the rewrite hands BigQuery's names over as `names`)."""
    fields = arr.flatten()
    if not fields:
        return _constant("{}", len(arr))
    names = names if names is not None and len(names) == len(fields) else [f.name for f in arr.type]
    inner = "" if depth is None else "\n" + _INDENT * (depth + 1)
    colon = ":" if depth is None else ": "
    parts: list[Any] = []
    for i, (name, child) in enumerate(zip(names, fields)):
        parts.append(("{" if i == 0 else ",") + inner + quoted(name) + colon)
        parts.append(spell(child, places[i] if places else None, None if depth is None else depth + 1,
                           wide_as_strings=wide_as_strings, json_value=json_value))
    parts.append(("" if depth is None else "\n" + _INDENT * depth) + "}")
    return _joined(*parts)


def spell(arr: pa.Array, places: Any = None, depth: int | None = None, names: list[str] | None = None,
          wide_as_strings: bool = True, json_value: bool = False) -> pa.Array:
    """Each value of `arr` as BigQuery's TO_JSON_STRING text: compact, or pretty-printed at indent
    level `depth`. NULL (any type, at any depth) is null. `wide_as_strings=False`: numbers as TO_JSON
    writes them without stringify_wide_numbers. `json_value`: a FLOAT64 as TO_JSON's JSON value holds
    it, a double (1.0 -> 1.0, where TO_JSON_STRING writes 1)."""
    t = arr.type
    if pa.types.is_dictionary(t):   # a DuckDB ENUM: its text, a STRING in BigQuery's terms
        return spell(arr.dictionary_decode(), places, depth, names, wide_as_strings, json_value)
    if places == JSON_PLACE:
        text = _one_by_one(arr, lambda v: json_value_text(v, depth))
    elif pa.types.is_null(t):
        return _constant("null", len(arr))
    elif pa.types.is_boolean(t):   # BOOL: true, false
        text = pc.if_else(arr, "true", "false")
    elif pa.types.is_integer(t) or (pa.types.is_decimal(t) and t.scale == 0):   # DuckDB's HUGEINT arrives as decimal(38, 0)
        text = _integer(arr, wide_as_strings)
    elif pa.types.is_decimal(t):
        text = _numeric(arr, wide_as_strings)
    elif pa.types.is_floating(t):
        text = _json_doubles(arr) if json_value else _float(arr)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = _string(arr)
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        # BYTES: "Uses RFC 4648 Base64 data encoding." (b"Google" -> "R29vZ2xl")
        text = _one_by_one(arr, lambda b: '"' + base64.b64encode(b).decode("ascii") + '"')
    elif pa.types.is_date(t):   # DATE: "2017-03-06"
        text = _quoted_column(arr.cast(pa.date32()).cast(pa.string()))
    elif pa.types.is_timestamp(t):
        # TIMESTAMP: "ISO 8601 date and time, where T separates the date and time and Z (Zulu/UTC)
        # represents the time zone" ("2017-03-06T12:34:56.789012Z"); DATETIME the same without the Z.
        text = _clock(arr, t.unit, "%Y-%m-%dT%H:%M:%S", "" if t.tz is None else "Z")
    elif pa.types.is_time(t):   # TIME: "Encoded as ISO 8601 time." ("12:34:56.789012")
        text = _clock(arr, t.unit, "%H:%M:%S", "")
    elif t == pa.month_day_nano_interval():
        text = _one_by_one(arr, _interval_text)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        text = _array(arr, places, depth, wide_as_strings, json_value)
    elif pa.types.is_struct(t):
        text = _struct(arr, places, depth, names, wide_as_strings, json_value)
    else:
        raise UnsupportedSQL(f"The local warehouse's TO_JSON_STRING cannot spell a value of Arrow type {t}: "
                             "it is none of BigQuery's types.")
    return text if arr.null_count == 0 else pc.if_else(arr.is_valid(), text, "null")


def _whole(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def to_json_string(values: pa.Array, duckdb_types: pa.Array, pretty_print: pa.Array, names: pa.Array) -> pa.Array:
    """The DuckDB function _bq_to_json_string(value, TYPEOF(value), pretty_print, field_names), which
    TO_JSON_STRING(value[, pretty_print]) translates to: BigQuery's JSON text of each value.

    `field_names` is NULL, or BigQuery's names of the fields of a STRUCT(...) written as the
    argument itself (anonymous and repeated names DuckDB's struct cannot carry). A NULL
    pretty_print gives NULL [ZetaSQL]."""
    values, duckdb_types, pretty_print, names = (_whole(a) for a in (values, duckdb_types, pretty_print, names))
    if not len(values) or pa.types.is_null(pretty_print.type):
        return pa.nulls(len(values), pa.string())
    places = json_places(duckdb_types[0].as_py())
    top_names = names[0].as_py()
    text = spell(values, places, None, top_names)
    wanted = pretty_print.fill_null(False)
    if _any(wanted):
        text = pc.if_else(wanted, spell(values, places, 0, top_names), text)
    if pretty_print.null_count:
        text = pc.if_else(pretty_print.is_valid(), text, pa.scalar(None, pa.string()))
    return text.cast(pa.string())


def to_json(values: pa.Array, duckdb_types: pa.Array, stringify_wide_numbers: pa.Array, names: pa.Array) -> pa.Array:
    """The DuckDB function _bq_to_json(value, TYPEOF(value), stringify_wide_numbers, field_names), which
    TO_JSON(value[, stringify_wide_numbers=>b]) translates to (cast to JSON there): the text of BigQuery's
    JSON value. JSON functions page, TO_JSON: the value's JSON encoding (numbers as above: wide ones as strings
    only with stringify_wide_numbers), held as the JSON type holds it (data types page, JSON type): no
    whitespace, "If an object has duplicate keys, the first key that's found is preserved", and its members
    come out sorted by key, as the page's example does (STRUCT(12 AS purchases, TRUE AS inStock) ->
    {"inStock":true,"purchases":12}). A SQL NULL is the JSON null (JSON encodings: NULL -> null)."""
    values, duckdb_types, stringify_wide_numbers, names = (
        _whole(a) for a in (values, duckdb_types, stringify_wide_numbers, names))
    if not len(values):
        return pa.nulls(0, pa.string())
    places = json_places(duckdb_types[0].as_py())
    wide_as_strings = bool(stringify_wide_numbers.fill_null(False)[0].as_py()) \
        if not pa.types.is_null(stringify_wide_numbers.type) else False
    text = spell(values, places, None, names[0].as_py(), wide_as_strings=wide_as_strings, json_value=True)
    return _one_by_one(text, lambda v: json_value_text(v, None))
