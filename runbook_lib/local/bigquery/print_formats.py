"""FORMAT_DATE, FORMAT_DATETIME, FORMAT_TIME and FORMAT_TIMESTAMP: BigQuery's format elements as DuckDB's STRFTIME
spells them, those it lacks computed from the value, and a zone's elements (%z, %Ez, %Z) from its offset then.
(PARSE_ is parse_formats.py's; zones and offsets datetimes.py's.)"""
from __future__ import annotations

import re

from sqlglot import exp

from .datetimes import LOCAL_TIME, OFFSET_SECONDS, offset_sql
from .sqltree import sql_text, tpl

_ZONE_TOKENS = re.compile(r"%%|%Ez|%z|%Z")


def _has_zone_token(fmt: str) -> bool:
    return any(m.group(0) != "%%" for m in _ZONE_TOKENS.finditer(fmt))


def _utc_format(fmt: str) -> str:
    """The format with BigQuery's zone elements written out for UTC, the default zone."""
    fixed = {"%%": "%%", "%Ez": "+00:00", "%z": "+0000", "%Z": "UTC"}
    return _ZONE_TOKENS.sub(lambda m: fixed[m.group(0)], fmt)


# BigQuery's format elements DuckDB's STRFTIME spells otherwise or lacks (%n is nanoseconds there, a newline here)
_STRFTIME_SPELLINGS = {"%R": "%H:%M", "%D": "%m/%d/%y", "%t": "\t", "%n": "\n", "%E4Y": "%Y", "%r": "%I:%M:%S %p",
                       "%c": "%a %b %e %H:%M:%S %Y", "%X": "%H:%M:%S", "%x": "%m/%d/%y", "%h": "%b"}
_SPELLED = re.compile("%%|" + "|".join(map(re.escape, _STRFTIME_SPELLINGS)))
# ... and those it has no spelling for, computed from the value `_t_` (compliance functions_testlib_timestamp.cc,
# GetFormatDateTimestampCommonTests: %e ' 8', %k ' 1', %l ' 1', %C '20', %g '15' (DuckDB's %g is milliseconds), %J
# '192', %Q '3', %E3S '03.456', %E*S '01.2345'; DuckDB refused all but %e, %c and %g, which it wrote otherwise)
_MICROS = "(MICROSECOND(_t_) % 1000000)"
_COMPUTED = {
    "%e": "LPAD(CAST(DAY(_t_) AS VARCHAR), 2, ' ')",
    "%-d": "LPAD(CAST(DAY(_t_) AS VARCHAR), 2, ' ')",   # (sqlglot's BigQuery parser wrote %e so)
    "%k": "LPAD(CAST(HOUR(_t_) AS VARCHAR), 2, ' ')",
    "%l": "LPAD(CAST((HOUR(_t_) + 11) % 12 + 1 AS VARCHAR), 2, ' ')",
    "%C": "LPAD(CAST(YEAR(_t_) // 100 AS VARCHAR), 2, '0')",
    "%g": "LPAD(CAST(ISOYEAR(_t_) % 100 AS VARCHAR), 2, '0')",
    "%J": "LPAD(CAST((WEEK(_t_) - 1) * 7 + ISODOW(_t_) AS VARCHAR), 3, '0')",
    "%Q": "CAST(QUARTER(_t_) AS VARCHAR)",
    "%P": "LOWER(STRFTIME(_t_, '%p'))",
    "%E*S": (f"STRFTIME(_t_, '%S') || CASE WHEN {_MICROS} = 0 THEN '' "
             f"ELSE '.' || RTRIM(LPAD(CAST({_MICROS} AS VARCHAR), 6, '0'), '0') END"),
    "%E0S": "STRFTIME(_t_, '%S')",
    **{f"%E{n}S": f"STRFTIME(_t_, '%S') || '.' || LEFT(LPAD(CAST({_MICROS} AS VARCHAR), 6, '0') || '000', {n})"
       for n in range(1, 10)},
}
_COMPUTED_TOKENS = re.compile("%%|" + "|".join(map(re.escape, sorted(_COMPUTED, key=len, reverse=True))))


def _computed(fmt: str, value: str) -> str | None:
    """SQL printing `value` (DuckDB SQL of a TIMESTAMP or DATE) with `fmt`, where it has elements _COMPUTED holds:
    STRFTIME for the runs between them; None where it has none."""
    pieces, last = [], 0
    for m in _COMPUTED_TOKENS.finditer(fmt):
        if m.group(0) == "%%":
            continue
        if m.start() > last:
            pieces.append(f"STRFTIME(_t_, {sql_text(fmt[last:m.start()])})")
        pieces.append(f"({_COMPUTED[m.group(0)]})")
        last = m.end()
    if not pieces:
        return None
    if last < len(fmt):
        pieces.append(f"STRFTIME(_t_, {sql_text(fmt[last:])})")
    return "(" + " || ".join(pieces).replace("_t_", value) + ")"


def _duckdb_spelling(node: exp.TimeToStr) -> None:
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and fmt.is_string and _SPELLED.search(fmt.this):
        node.set("format", exp.Literal.string(_SPELLED.sub(lambda m: _STRFTIME_SPELLINGS.get(m.group(0), "%%"),
                                                           fmt.this)))
    if isinstance(node.this, exp.TsOrDsToTime) or (isinstance(node.this, exp.Cast)
                                                   and node.this.to.this == exp.DataType.Type.TIME):
        # FORMAT_TIME: DuckDB's STRFTIME takes no TIME, so the time of a day
        time = node.this.this if isinstance(node.this, exp.TsOrDsToTime) else node.this
        node.set("this", tpl("CAST(DATE '1970-01-01' + CAST(__t__ AS TIME) AS TIMESTAMP)", t=time))


def fix_format_timestamp(node: exp.TimeToStr) -> exp.Expression | None:
    """FORMAT_TIMESTAMP(fmt, ts [, zone]): sqlglot drops the zone, and DuckDB prints %Z of a UTC
    value as '' and %z as '+00' where BigQuery prints 'UTC' and '+0000'."""
    _duckdb_spelling(node)
    fmt, zone = node.args.get("format"), node.args.get("zone")
    literal = isinstance(fmt, exp.Literal) and fmt.is_string
    tokens = literal and _has_zone_token(fmt.this)
    if not isinstance(node.this, exp.TsOrDsToTimestamp):   # FORMAT_DATE / FORMAT_DATETIME / FORMAT_TIME: no zone
        computed = _computed(fmt.this, "__x__") if literal and not tokens else None
        return None if computed is None else tpl(computed, x=node.this)
    x = node.this.this
    if literal and not tokens:
        value = LOCAL_TIME if zone is not None else "CAST(CAST(__x__ AS TIMESTAMPTZ) AS TIMESTAMP)"
        computed = _computed(fmt.this, value)
        if computed is not None:
            return tpl(computed, x=x, **({"z": zone} if zone is not None else {}))
    if zone is None:
        if not tokens:
            return None
        return tpl(f"STRFTIME(CAST(CAST(__x__ AS TIMESTAMPTZ) AS TIMESTAMP), {sql_text(_utc_format(fmt.this))})",
                   x=x)
    local, offset = LOCAL_TIME, OFFSET_SECONDS
    if not tokens:
        return tpl(f"STRFTIME({local}, __f__)", x=x, z=zone, f=fmt)
    pieces, last = [], 0
    for m in _ZONE_TOKENS.finditer(fmt.this):
        if m.group(0) == "%%":
            continue
        if m.start() > last:
            pieces.append(f"STRFTIME({local}, {sql_text(fmt.this[last:m.start()])})")
        pieces.append(offset_sql(m.group(0)).replace("_o_", offset))
        last = m.end()
    if last < len(fmt.this):
        pieces.append(f"STRFTIME({local}, {sql_text(fmt.this[last:])})")
    return tpl("(" + " || ".join(pieces) + ")", x=x, z=zone)
