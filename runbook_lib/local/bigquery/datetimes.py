"""Date and time corrections: EXTRACT parts, *_TRUNC, FORMAT_TIMESTAMP and PARSE_TIMESTAMP zones."""
from __future__ import annotations

import re

from sqlglot import exp

from .sqltree import sql_text, tpl

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


_ZONE_TOKENS = re.compile(r"%%|%Ez|%z|%Z")


def _has_zone_token(fmt: str) -> bool:
    return any(m.group(0) != "%%" for m in _ZONE_TOKENS.finditer(fmt))


def _utc_format(fmt: str) -> str:
    """The format with BigQuery's zone elements written out for UTC, the default zone."""
    fixed = {"%%": "%%", "%Ez": "+00:00", "%z": "+0000", "%Z": "UTC"}
    return _ZONE_TOKENS.sub(lambda m: fixed[m.group(0)], fmt)


def _offset_sql(token: str) -> str:
    """SQL for %z / %Ez / %Z, given the zone's offset from UTC in seconds as _o_."""
    sign = "CASE WHEN _o_ < 0 THEN '-' ELSE '+' END"
    hours = "CAST(ABS(_o_) // 3600 AS VARCHAR)"
    minutes = "LPAD(CAST(ABS(_o_) % 3600 // 60 AS VARCHAR), 2, '0')"
    if token == "%z":
        return f"({sign} || LPAD({hours}, 2, '0') || {minutes})"
    if token == "%Ez":
        return f"({sign} || LPAD({hours}, 2, '0') || ':' || {minutes})"
    # %Z: BigQuery names the zone by its offset (format elements doc: 'UTC-5'; UTC itself is 'UTC').
    return (f"('UTC' || CASE WHEN _o_ = 0 THEN '' ELSE {sign} || {hours} || "
            f"CASE WHEN ABS(_o_) % 3600 = 0 THEN '' ELSE ':' || {minutes} END END)")


def fix_format_timestamp(node: exp.TimeToStr) -> exp.Expression | None:
    """FORMAT_TIMESTAMP(fmt, ts [, zone]): sqlglot drops the zone, and DuckDB prints %Z of a UTC
    value as '' and %z as '+00' where BigQuery prints 'UTC' and '+0000'."""
    if not isinstance(node.this, exp.TsOrDsToTimestamp):
        return None  # FORMAT_DATE / FORMAT_DATETIME: no zone involved
    fmt, zone = node.args.get("format"), node.args.get("zone")
    tokens = isinstance(fmt, exp.Literal) and fmt.is_string and _has_zone_token(fmt.this)
    x = node.this.this
    if zone is None:
        if not tokens:
            return None
        return tpl(f"STRFTIME(CAST(CAST(__x__ AS TIMESTAMPTZ) AS TIMESTAMP), {sql_text(_utc_format(fmt.this))})",
                   x=x)
    local = "TIMEZONE(__z__, CAST(__x__ AS TIMESTAMPTZ))"  # the wall-clock time in the zone
    if not tokens:
        return tpl(f"STRFTIME({local}, __f__)", x=x, z=zone, f=fmt)
    offset = f"CAST(EPOCH({local}) - EPOCH(TIMEZONE('UTC', CAST(__x__ AS TIMESTAMPTZ))) AS BIGINT)"
    pieces, last = [], 0
    for m in _ZONE_TOKENS.finditer(fmt.this):
        if m.group(0) == "%%":
            continue
        if m.start() > last:
            pieces.append(f"STRFTIME({local}, {sql_text(fmt.this[last:m.start()])})")
        pieces.append(_offset_sql(m.group(0)).replace("_o_", offset))
        last = m.end()
    if last < len(fmt.this):
        pieces.append(f"STRFTIME({local}, {sql_text(fmt.this[last:])})")
    return tpl("(" + " || ".join(pieces) + ")", x=x, z=zone)


def fix_parse_timestamp(node: exp.StrToTime) -> exp.Expression:
    """PARSE_TIMESTAMP(fmt, text [, zone]) is a TIMESTAMP: the text is wall-clock time in `zone`
    (UTC without one) unless it carries its own offset. DuckDB's strptime gives a zone-less
    TIMESTAMP (BigQuery's DATETIME), and sqlglot drops the zone."""
    fmt = node.args.get("format")
    zone = node.args.get("zone")
    parse = node.copy()
    parse.set("zone", None)
    if isinstance(fmt, exp.Literal) and fmt.is_string and re.search(r"%E?z|%Z", fmt.this.replace("%%", "")):
        return tpl("CAST(__p__ AS TIMESTAMPTZ)", p=parse)  # the text names its own offset
    return tpl("TIMEZONE(__z__, __p__)", z=zone if zone is not None else exp.Literal.string("UTC"), p=parse)
