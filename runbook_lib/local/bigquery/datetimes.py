"""Date and time corrections: EXTRACT parts, *_TRUNC, zones (named, offsets, a wall-clock time read twice, a zone's
offset as FORMAT_ and STRING print it), DATE/TIME/DATETIME of parts, intervals, and date arithmetic that passes the
ends of BigQuery's range. (PARSE_ is parse_formats.py's, FORMAT_ print_formats.py's.)"""
from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
from sqlglot import exp

from .arrow_udfs import per_distinct
from .errors import UnsupportedSQL
from .sqltree import fails, tpl

_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")


def _unit_name(unit: exp.Expression | None) -> str:
    if unit is None:
        return ""
    if isinstance(unit, exp.WeekStart):
        return f"WEEK({unit.this.name.upper()})"
    return unit.name.upper()


def _week_start_index(unit: str) -> int | None:
    """Sunday=0 .. Saturday=6 for WEEK / WEEK(<DAY>) / ISOWEEK, else None."""
    if unit == "WEEK":
        return 0
    if unit == "ISOWEEK":
        return 1
    m = re.fullmatch(r"WEEK\((\w+)\)", unit)
    if m and m.group(1) in _WEEKDAYS:
        return _WEEKDAYS.index(m.group(1))
    return None


# EXTRACT parts whose DuckDB answer differs, as DuckDB SQL over __x__.
_EXTRACT_PARTS = {
    # BigQuery numbers days 1 (Sunday) .. 7 (Saturday); DuckDB 0 .. 6.
    "DAYOFWEEK": "(EXTRACT(DAYOFWEEK FROM __x__) + 1)",
    "ISOWEEK": "EXTRACT(WEEK FROM __x__)",  # DuckDB's WEEK is the ISO week
    # DuckDB counts the seconds in too (42.123 s -> 42123 ms).
    "MILLISECOND": "(EXTRACT(MILLISECOND FROM __x__) % 1000)",
    "MICROSECOND": "(EXTRACT(MICROSECOND FROM __x__) % 1000000)",
    "DATE": "CAST(__x__ AS DATE)",
    "TIME": "CAST(__x__ AS TIME)",
    "DATETIME": "CAST(__x__ AS TIMESTAMP)",
}


def fix_extract(node: exp.Extract) -> exp.Expression | None:
    unit = _unit_name(node.this)
    x = node.expression
    if isinstance(x.this if isinstance(x, exp.Cast) else x, exp.Null) and unit not in ("DATE", "TIME", "DATETIME"):
        return tpl("CAST(NULL AS BIGINT)")   # an INT64 NULL (DuckDB folded EXTRACT of a NULL to a DOUBLE one)
    if unit in _EXTRACT_PARTS:
        return tpl(_EXTRACT_PARTS[unit], x=x)
    start = _week_start_index(unit)
    if start is not None:
        # BigQuery WEEK(<day>): weeks begin on <day>; days before the year's first <day> are week 0.
        # DuckDB's WEEK is the ISO week (1..53, Monday-based, can belong to the previous year).
        return tpl(
            f"CAST((EXTRACT(DAYOFYEAR FROM __x__) + 6 - ((EXTRACT(DAYOFWEEK FROM __x__) + 7 - {start}) % 7)) // 7 AS BIGINT)",
            x=x,
        )
    return None


_BUCKETS = {"DAY": "1 day", "MONTH": "1 month", "QUARTER": "3 months", "YEAR": "1 year"}


def fix_trunc(node: exp.Expression) -> exp.Expression | None:
    """DATE_TRUNC / DATETIME_TRUNC / TIMESTAMP_TRUNC to day-or-longer parts.

    DuckDB's date_trunc turns a DATE into a TIMESTAMP and its WEEK is Monday-based; BigQuery keeps
    the input's type and its WEEK starts on Sunday (WEEK(<day>) on <day>). time_bucket keeps the
    input's type and its origin (Monday 2000-01-03, or 2000-01-01 for months) lets an offset pick
    the week's first day.
    """
    if node.args.get("zone") is not None:
        return None
    unit = _unit_name(node.args.get("unit"))
    x = node.this
    if unit in _BUCKETS:
        return tpl(f"TIME_BUCKET(INTERVAL '{_BUCKETS[unit]}', __x__)", x=x)
    start = _week_start_index(unit)
    if start is not None:
        return tpl(f"TIME_BUCKET(INTERVAL '7 days', __x__, INTERVAL '{start - 1} days')", x=x)
    if unit == "ISOYEAR":
        if isinstance(node, exp.DateTrunc):
            return tpl("CAST(DATE_TRUNC('ISOYEAR', __x__) AS DATE)", x=x)
        return tpl("DATE_TRUNC('ISOYEAR', __x__)", x=x)
    return None


# The wall-clock time of TIMESTAMP __x__ in zone __z__, and the zone's offset from UTC then, in seconds
_LOCAL = "TIMEZONE(__z__, CAST(__x__ AS TIMESTAMPTZ))"
_OFFSET_SECONDS = f"CAST(EPOCH({_LOCAL}) - EPOCH(TIMEZONE('UTC', CAST(__x__ AS TIMESTAMPTZ))) AS BIGINT)"
LOCAL_TIME, OFFSET_SECONDS = _LOCAL, _OFFSET_SECONDS   # (CAST(timestamp AS STRING FORMAT ... AT TIME ZONE zone))


def offset_sql(token: str) -> str:
    """SQL for %z / %Ez / %Z, or STRING(timestamp, zone)'s offset ("STRING": `-08`, `+05:30`), given the zone's offset
    from UTC in seconds as _o_."""
    sign = "CASE WHEN _o_ < 0 THEN '-' ELSE '+' END"
    hours = "CAST(ABS(_o_) // 3600 AS VARCHAR)"
    minutes = "LPAD(CAST(ABS(_o_) % 3600 // 60 AS VARCHAR), 2, '0')"
    if token == "%z":
        return f"({sign} || LPAD({hours}, 2, '0') || {minutes})"
    if token == "%Ez":
        return f"({sign} || LPAD({hours}, 2, '0') || ':' || {minutes})"
    if token == "STRING":
        return f"({sign} || LPAD({hours}, 2, '0') || CASE WHEN ABS(_o_) % 3600 = 0 THEN '' ELSE ':' || {minutes} END)"
    # %Z: BigQuery names the zone by its offset (format elements doc: 'UTC-5'; UTC itself is 'UTC').
    return (f"('UTC' || CASE WHEN _o_ = 0 THEN '' ELSE {sign} || {hours} || "
            f"CASE WHEN ABS(_o_) % 3600 = 0 THEN '' ELSE ':' || {minutes} END END)")


def in_zone(zone: exp.Expression, local: exp.Expression) -> exp.Expression:
    """The instant at which the wall clock in `zone` reads `local` (a TIMESTAMP), the earlier one where the clock reads
    it twice: [ZetaSQL] ConvertDatetimeToTimestamp takes absl's TimeInfo.pre, so TIMESTAMP(DATETIME '2015-11-01
    01:30:00', 'America/Los_Angeles') is 08:30 UTC, in daylight time (compliance functions_testlib_timestamp.cc);
    DuckDB's ICU took the later, 09:30. (A repeated hour of one hour: Lord Howe's half-hour shift keeps ICU's.)"""
    return tpl("CASE WHEN TIMEZONE(__z__, TIMEZONE(__z__, __l__) - INTERVAL 1 HOUR) = __l__ "
               "THEN TIMEZONE(__z__, __l__) - INTERVAL 1 HOUR ELSE TIMEZONE(__z__, __l__) END", z=zone, l=local)


# TIMESTAMP_DIFF counts whole units ("only the number of whole specified HOUR intervals are included", a DAY is 24
# hours), where DATE_DIFF and DATETIME_DIFF count the boundaries crossed; sqlglot writes all three as DuckDB's
# DATE_DIFF, which counts boundaries (00:00:01 to 01:00:00 was 1 HOUR, BigQuery's 0). DuckDB's DATE_SUB counts whole
# units, toward zero as BigQuery does.
_WHOLE_UNITS = {"MICROSECOND": "microseconds", "MILLISECOND": "milliseconds", "SECOND": "seconds",
                "MINUTE": "minutes", "HOUR": "hours", "DAY": "days"}


def _as_timestamp(x: exp.Expression) -> exp.Expression:
    """A string literal where BigQuery expects a TIMESTAMP is coerced to one (DuckDB would not choose an overload)."""
    return tpl("CAST(__x__ AS TIMESTAMPTZ)", x=x) if isinstance(x, exp.Literal) and x.is_string else x


def timestamp_diff(node: exp.TimestampDiff) -> exp.Expression | None:
    part = _WHOLE_UNITS.get(_unit_name(node.args.get("unit")))
    if part is None:
        return None   # (BigQuery refuses other parts for TIMESTAMP_DIFF)
    return tpl(f"DATE_SUB('{part}', __b__, __a__)", a=_as_timestamp(node.this), b=_as_timestamp(node.expression))


# UNIX_SECONDS and UNIX_MILLIS round down to the start of their second or millisecond (1.8 s is 1, -0.3 s is -1);
# sqlglot's CAST(EPOCH(t) AS BIGINT) and EPOCH_MS(t) round to the nearest.
def unix_seconds(node: exp.UnixSeconds) -> exp.Expression:
    return tpl("CAST(FLOOR(EPOCH_US(__t__) / 1000000) AS BIGINT)", t=_as_timestamp(node.this))


def unix_millis(node: exp.UnixMillis) -> exp.Expression:
    return tpl("CAST(FLOOR(EPOCH_US(__t__) / 1000) AS BIGINT)", t=_as_timestamp(node.this))


# DATE_FROM_UNIX_DATE is a DATE, TIMESTAMP_MILLIS and TIMESTAMP_MICROS TIMESTAMPs (an instant): sqlglot writes a DATE
# plus an INTERVAL (a DuckDB TIMESTAMP) and EPOCH_MS / MAKE_TIMESTAMP (no zone), so AT TIME ZONE read them as local
# times of the zone, 8 hours off in Los Angeles.
def date_from_unix_date(node: exp.DateFromUnixDate) -> exp.Expression:
    return tpl("CAST(DATE '1970-01-01' + CAST(__n__ AS INTEGER) AS DATE)", n=node.this)


def unix_to_time(node: exp.UnixToTime) -> exp.Expression | None:
    scale = node.args.get("scale")
    divisor = {"3": 1000, "6": 1000000}.get(str(scale.this) if isinstance(scale, exp.Literal) else "", None)
    if divisor is None:
        return None   # TIMESTAMP_SECONDS: DuckDB's TO_TIMESTAMP is already a TIMESTAMPTZ
    return tpl(f"MAKE_TIMESTAMPTZ(CAST(__n__ AS BIGINT) * {1000000 // divisor})", n=node.this)


def timestamp_array_bounds(node: exp.GenerateTimestampArray) -> None:
    """GENERATE_TIMESTAMP_ARRAY's string bounds are TIMESTAMPs (sqlglot casts them to DuckDB's zone-less TIMESTAMP)."""
    for key in ("start", "end"):
        bound = node.args.get(key)
        if bound is not None:
            node.set(key, _as_timestamp(bound))
    return None


# A time zone given as an offset from UTC ('-08', '+05:30'), which BigQuery takes wherever it takes a zone's name;
# DuckDB's ICU knows it as a custom zone 'GMT-08:00' (a bare '-08' failed with "Unknown TimeZone").
# `+05:30`, `-8`, and ZetaSQL's `UTC+05:30`, `UTC-3:30`, `UTC+1234` (DuckDB's ICU read `UTC+05:30` as UTC+05, silently)
_OFFSET_ZONE = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2})|:(\d))?", re.IGNORECASE)
_ZONE_OF_CURRENT = (exp.CurrentDate, exp.CurrentDatetime, exp.CurrentTimestamp, exp.CurrentTime)


def _is_zone(node: exp.Expression) -> bool:
    """Whether `node` stands where BigQuery takes a time zone (DATETIME(x, zone) aside: its second value may be a
    TIME)."""
    return node.parent is not None and (
        node.arg_key == "zone" or (isinstance(node.parent, _ZONE_OF_CURRENT) and node.arg_key == "this"))


def zone_name(zone: str | None) -> str | None:
    """A zone as DuckDB's ICU reads it: an offset as its custom zone 'GMT+05:30', any other name as it is."""
    m = _OFFSET_ZONE.fullmatch(zone.strip()) if zone is not None else None
    if m is None:
        return zone
    sign, hours, minutes, minute = m.groups()
    return "GMT" + utc_offset(sign, hours, minutes or minute)


def offset_zone(node: exp.Literal) -> exp.Expression | None:
    if not node.is_string or not (_is_zone(node) or (isinstance(node.parent, exp.Datetime)
                                                     and node.arg_key == "expression")):
        return None
    name = zone_name(node.this)
    return None if name == node.this else exp.Literal.string(name)


def utc_offset(sign: str, hours: str, minutes: str | None) -> str:
    """An offset from UTC as DuckDB reads it, `+03:00`, from BigQuery's looser `+3`, `-8:15`, `+05:30`."""
    return f"{sign}{int(hours):02d}:{int(minutes or 0):02d}"


# TIMESTAMP(string, zone) and DATETIME(timestamp, zone): sqlglot turns them into AT TIME ZONE only for the zone names
# it lists, and writes TIMESTAMP(s, zone) for any other zone (an offset, a zone in a column), which DuckDB cannot read.
_TIME_TEXT = re.compile(r"\s*\d{1,2}:\d{2}")


def timestamp_in_zone(node: exp.Timestamp) -> exp.Expression | None:
    zone = node.args.get("zone")
    if zone is None:
        return None
    return in_zone(zone, tpl("CAST(__s__ AS TIMESTAMP)", s=node.this))


def datetime_in_zone(node: exp.Datetime) -> exp.Expression | None:
    zone = node.expression
    if zone is None or isinstance(zone, exp.Literal) and zone.is_string and _TIME_TEXT.match(zone.this):
        return None   # DATETIME(date, time)
    if isinstance(zone, exp.Literal) and zone.is_string:
        return tpl("CAST(TIMEZONE(__z__, CAST(__t__ AS TIMESTAMPTZ)) AS TIMESTAMP)", z=zone, t=node.this)
    # DATETIME(timestamp, zone) or DATETIME(date, time), as the second value's type says (sqlglot took a column for a
    # TIME: DATETIME(ts, zone_column) failed). TYPEOF is folded as DuckDB binds the query: one branch is left.
    return tpl("CASE WHEN TYPEOF(__z__) = 'VARCHAR' "
               "THEN CAST(TIMEZONE(_bq_zone(TRY_CAST(__z__ AS VARCHAR)), TRY_CAST(__t__ AS TIMESTAMPTZ)) AS TIMESTAMP) "
               "ELSE CAST(TRY_CAST(__t__ AS DATE) + TRY_CAST(__z__ AS TIME) AS TIMESTAMP) END",
               z=zone, t=node.this)


def string_in_zone(node: exp.String) -> exp.Expression | None:
    """STRING(json) unquoted, and STRING(timestamp, zone): the wall-clock time in the zone and its offset,
    `2008-12-25 07:30:00-08` (`+05:30` where the offset has minutes), as CAST(timestamp AS STRING) prints UTC's `+00`;
    sqlglot's text had no offset."""
    zone = node.args.get("zone")
    if zone is None:
        # STRING(json): a JSON string's value, unquoted (DuckDB's cast kept the quotes: `"purple"`)
        return tpl("CASE WHEN TYPEOF(__x__) = 'JSON' THEN JSON_EXTRACT_STRING(CAST(__x__ AS VARCHAR), '$') "
                   "ELSE __s__ END", x=node.this.copy(), s=node)
    return tpl(f"CAST({_LOCAL} AS VARCHAR) || " + offset_sql("STRING").replace("_o_", _OFFSET_SECONDS),
               x=node.this, z=zone)


# DATE, DATETIME and TIMESTAMP hold 0001-01-01 to 9999-12-31 23:59:59.999999 (data types doc); DuckDB's reach far past
# both ends, so DATE_ADD(DATE '9999-12-31', INTERVAL 1 DAY) was 10000-01-01 (and a Python ValueError when the result
# became a DataFrame) where BigQuery fails: "Adding 1 DAY to date 9999-12-31 causes overflow" (ZetaSQL
# date_time_util.cc), NULL under SAFE. DATE_ADD and DATE_SUB are DATEs (DuckDB's date + interval is a TIMESTAMP).
DATE_ARITHMETIC = (exp.DateAdd, exp.DateSub, exp.DatetimeAdd, exp.DatetimeSub, exp.TimestampAdd, exp.TimestampSub)
_RANGE_US = (-62135596800000000, 253402300799999999)   # EPOCH_US of 0001-01-01 00:00:00 and 9999-12-31 23:59:59.999999
_OUTSIDE_RANGE = f"NOT EPOCH_US(__r__) BETWEEN {_RANGE_US[0]} AND {_RANGE_US[1]}"
_KINDS = {exp.DateAdd: "date", exp.DateSub: "date", exp.DatetimeAdd: "datetime", exp.DatetimeSub: "datetime",
          exp.TimestampAdd: "timestamp", exp.TimestampSub: "timestamp"}


def date_arithmetic(node: exp.Expression) -> exp.Expression:
    """DATE_ADD / DATE_SUB / DATETIME_ADD / ... / TIMESTAMP_SUB: an error (NULL under SAFE.) past the range."""
    adding = isinstance(node, (exp.DateAdd, exp.DatetimeAdd, exp.TimestampAdd))
    unit = _unit_name(node.args.get("unit"))
    message = (f"'{'Adding' if adding else 'Subtracting'} ' || CAST(__n__ AS VARCHAR) || ' {unit} "
               f"{'to' if adding else 'from'} {_KINDS[type(node)]} ' || CAST(__x__ AS VARCHAR) || ' causes overflow'")
    failure = fails(node, message)   # (before the DATE cast below becomes the node's parent)
    result = exp.Cast(this=node, to=exp.DataType.build("DATE")) if isinstance(node, (exp.DateAdd, exp.DateSub)) \
        else node
    return tpl(f"CASE WHEN {_OUTSIDE_RANGE} THEN {failure} ELSE __r__ END",
               r=result, n=node.expression.copy(), x=node.this.copy())


def interval_arithmetic(node: exp.Add | exp.Sub) -> exp.Expression | None:
    """A DATE, DATETIME or TIMESTAMP `+` or `-` an INTERVAL: an error past the range (typeof() is folded, so any other
    operand, an INTERVAL or a TIME, keeps the plain operation)."""
    if not any(isinstance(side, exp.Interval) for side in (node.this, node.expression)):
        return None
    value = node.expression if isinstance(node.this, exp.Interval) else node.this
    message = (f"'{'Adding an INTERVAL to' if isinstance(node, exp.Add) else 'Subtracting an INTERVAL from'} ' || "
               "CAST(__x__ AS VARCHAR) || ' causes overflow'")
    return tpl(f"CASE WHEN TYPEOF(__r__) IN ('DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE') AND {_OUTSIDE_RANGE} "
               f"THEN {fails(node, message)} ELSE __r__ END", r=node, x=value.copy())


# An interval literal over a range of parts (interval functions doc, "Construct an interval with datetime parts"):
# `INTERVAL '10:20:30.52' HOUR TO SECOND`, `INTERVAL '-1-2 3 4:5:6.7' YEAR TO SECOND`: years and months written Y-M
# under one sign, the days under their own, hours, minutes and seconds H:M:S under one; DuckDB's parser refused them.
_SPAN_PARTS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
_SPAN_GROUPS = ((("YEAR", "MONTH"), "-"), (("DAY",), None), (("HOUR", "MINUTE", "SECOND"), ":"))


def _span_pattern(parts: tuple[str, ...]) -> re.Pattern:
    groups = []
    for members, joiner in _SPAN_GROUPS:
        named = [p for p in members if p in parts]
        if named:
            digits = [rf"(?P<{p}>\d+(?:\.\d{{1,9}})?)" if p == "SECOND" else rf"(?P<{p}>\d+)" for p in named]
            groups.append(rf"(?P<sign_{named[0]}>[+-]?)" + (joiner or "").join(digits))
    return re.compile(r"^\s*" + r"\s+".join(groups) + r"\s*$")


def interval_span(node: exp.Interval) -> exp.Expression | None:
    span = node.args.get("unit")
    if not isinstance(span, exp.IntervalSpan) or not (isinstance(node.this, exp.Literal) and node.this.is_string):
        return None
    first, last = span.this.name.upper(), span.expression.name.upper()
    if first not in _SPAN_PARTS or last not in _SPAN_PARTS or _SPAN_PARTS.index(first) >= _SPAN_PARTS.index(last):
        raise UnsupportedSQL(f"An interval literal's range must run from a larger part to a smaller one, not "
                             f"{first} TO {last}.")
    parts = _SPAN_PARTS[_SPAN_PARTS.index(first):_SPAN_PARTS.index(last) + 1]
    m = _span_pattern(parts).match(node.this.this)
    if m is None:
        raise UnsupportedSQL(f"Invalid interval literal {node.this.this!r} for {first} TO {last} (BigQuery writes "
                             "Y-M D H:M:S, the parts of the range only).")
    values = {p: m.group(p) or "0" for p in parts}
    signs = {p: m.group(f"sign_{g[0]}") for members, _ in _SPAN_GROUPS
             for g in [[q for q in members if q in parts]] if g for p in g}
    signed = {p: (-1 if signs[p] == "-" else 1) for p in parts}
    months = sum(signed[p] * int(values[p]) * (12 if p == "YEAR" else 1) for p in ("YEAR", "MONTH") if p in parts)
    days = signed["DAY"] * int(values["DAY"]) if "DAY" in parts else 0
    seconds = sum(signed[p] * Decimal(values[p]) * {"HOUR": 3600, "MINUTE": 60, "SECOND": 1}[p]
                  for p in ("HOUR", "MINUTE", "SECOND") if p in parts)
    micros = int(seconds * 1_000_000)
    return tpl(f"(TO_MONTHS({months}) + TO_DAYS({days}) + TO_MICROSECONDS({micros}))")


def time_of(node: exp.TsOrDsToTime) -> exp.Expression | None:
    """TIME(timestamp) is the time in UTC, BigQuery's default zone. DuckDB has no cast from a TIMESTAMP WITH TIME ZONE
    to TIME, and failed ("Unimplemented type for cast"; compliance functions_testlib_timestamp.cc, TIME(TIMESTAMP)).
    (TYPEOF is folded as DuckDB binds the query: one branch is left.)"""
    if isinstance(node.parent, exp.TimeToStr):
        return None   # (FORMAT_TIME's argument, a TIME: sqlglot's FORMAT_TIME reads its own node)
    return tpl("CASE WHEN TYPEOF(__x__) = 'TIMESTAMP WITH TIME ZONE' "
               "THEN CAST(TIMEZONE('UTC', TRY_CAST(__x__ AS TIMESTAMPTZ)) AS TIME) ELSE __t__ END",
               x=node.this.copy(), t=node)


# DATE(y, m, d), TIME(h, mi, s) and DATETIME(y, m, d, h, mi, s) (ZetaSQL date_time_util.cc, ConstructDate, ConstructTime,
# ConstructDatetime): a year from 1 to 9999, an hour from 0 to 23; else "Input calculates to invalid date: ...", NULL
# under SAFE. DuckDB's MAKE_DATE took the year 10000 (and 0, as 1 BC) and MAKE_TIME the hour 24 (as midnight), and
# MAKE_TIMESTAMP rolled 24:00 over to the next day. (An invalid month, day, minute or second DuckDB fails itself.)
_PARTS = {exp.DateFromParts: ("date", "%04d-%02d-%02d", ("year", "month", "day"), "__year__ BETWEEN 1 AND 9999"),
          exp.TimeFromParts: ("time", "%02d:%02d:%02d", ("hour", "min", "sec"), "__hour__ BETWEEN 0 AND 23"),
          exp.TimestampFromParts: ("datetime", "%04d-%02d-%02d %04d:%02d:%02d",
                                   ("year", "month", "day", "hour", "min", "sec"),
                                   "__year__ BETWEEN 1 AND 9999 AND __hour__ BETWEEN 0 AND 23")}
CONSTRUCTED = tuple(_PARTS)


def constructed(node: exp.Expression) -> exp.Expression | None:
    kind, shown, keys, valid = _PARTS[type(node)]
    parts = {k: node.args.get(k) for k in keys}
    if any(v is None for v in parts.values()) or node.args.get("zone") is not None:
        return None   # (another form: TIMESTAMP_FROM_PARTS of Snowflake's, or with a zone)
    message = f"'Input calculates to invalid {kind}: ' || PRINTF('{shown}', {', '.join(f'__{k}__' for k in keys)})"
    failure = fails(node, message)
    nulls = " OR ".join(f"__{k}__ IS NULL" for k in keys)
    return tpl(f"CASE WHEN {nulls} THEN NULL WHEN NOT ({valid}) THEN {failure} ELSE __f__ END",
               f=node, **{k: v.copy() for k, v in parts.items()})


# A zone that is a value, not a literal (a column, a parameter): an offset in it ('+05:30', 'UTC-8') made DuckDB's
# ICU fail ("does not know the time zone"). Read as the query runs by the UDF _bq_zone (zone_names), zone_name's rule
# for a literal; a UDF, not SQL put in before the rewrites, which would read that SQL as BigQuery's.
def zone_names(zones: pa.Array | pa.ChunkedArray) -> pa.Array:
    return per_distinct(zones, zone_name, pa.string())


def zones_of_values(tree: exp.Expression) -> None:
    """Each zone argument of `tree` that is not a literal read through _bq_zone (before the rewrites)."""
    for node in list(tree.walk()):
        if _is_zone(node) and not isinstance(node, (exp.Literal, exp.Null)):
            node.replace(exp.Anonymous(this="_bq_zone", expressions=[node.copy()]))
