"""CAST ... FORMAT for dates and times, both ways (format elements doc): a DATE, DATETIME, TIME or TIMESTAMP to a
STRING with BigQuery's format elements, and a STRING to one of them, parsed with the elements BigQuery parses.
sqlglot passed the FORMAT clause of a cast to STRING on to DuckDB, which has none, and turned a cast from STRING into
its strptime translation (StrToTime), losing the target type and the elements it has no strptime spelling for.
"""
from __future__ import annotations

import re

from sqlglot import exp

from .datetimes import LOCAL_TIME, OFFSET_SECONDS
from .errors import UnsupportedSQL
from .sqltree import is_safe, sql_text, tpl

_T = exp.DataType.Type


# CAST(date_or_time AS STRING FORMAT '...'): BigQuery's format elements for date and time parts (format-elements
# doc), each as the DuckDB SQL of its text; a text element's case follows the element's ("DAY" THURSDAY, "Day"
# Thursday, "day" thursday). sqlglot passes the FORMAT clause to DuckDB, which has none (a parser error), and the
# kit's CAST to STRING (casts.py) dropped it silently. YY, YYY and RR are the year's last digits: DuckDB's LPAD cuts a longer
# string to the width from the left, so LPAD('2018', 2, '0') is '20'.
_FORMAT_PARTS = {
    "YYYY": "LPAD(CAST(YEAR(__x__) AS VARCHAR), 4, '0')", "RRRR": "LPAD(CAST(YEAR(__x__) AS VARCHAR), 4, '0')",
    "YYY": "LPAD(CAST(YEAR(__x__) % 1000 AS VARCHAR), 3, '0')",
    "YY": "LPAD(CAST(YEAR(__x__) % 100 AS VARCHAR), 2, '0')",
    "RR": "LPAD(CAST(YEAR(__x__) % 100 AS VARCHAR), 2, '0')", "Y": "RIGHT(CAST(YEAR(__x__) AS VARCHAR), 1)",
    "MM": "STRFTIME(__x__, '%m')", "MON": "STRFTIME(__x__, '%b')", "MONTH": "STRFTIME(__x__, '%B')",
    "DD": "STRFTIME(__x__, '%d')", "DDD": "STRFTIME(__x__, '%j')", "D": "CAST(DAYOFWEEK(__x__) + 1 AS VARCHAR)",
    "DAY": "STRFTIME(__x__, '%A')", "DY": "STRFTIME(__x__, '%a')",
    "HH": "STRFTIME(__x__, '%I')", "HH12": "STRFTIME(__x__, '%I')", "HH24": "STRFTIME(__x__, '%H')",
    "MI": "STRFTIME(__x__, '%M')", "SS": "STRFTIME(__x__, '%S')",
    "SSSSS": "LPAD(CAST(HOUR(__x__) * 3600 + MINUTE(__x__) * 60 + SECOND(__x__) AS VARCHAR), 5, '0')",
    "AM": "STRFTIME(__x__, '%p')", "PM": "STRFTIME(__x__, '%p')",
    "A.M.": "REPLACE(REPLACE(STRFTIME(__x__, '%p'), 'AM', 'A.M.'), 'PM', 'P.M.')",
    "P.M.": "REPLACE(REPLACE(STRFTIME(__x__, '%p'), 'AM', 'A.M.'), 'PM', 'P.M.')",
    # the zone's offset then, as __o__ seconds: 0 (UTC) without AT TIME ZONE
    "TZH": "CASE WHEN __o__ < 0 THEN '-' ELSE '+' END || LPAD(CAST(ABS(__o__) // 3600 AS VARCHAR), 2, '0')",
    "TZM": "LPAD(CAST(ABS(__o__) % 3600 // 60 AS VARCHAR), 2, '0')",
}
_FORMAT_ELEMENT = re.compile(
    r'(?i)(YYYY|RRRR|YYY|YY|RR|Y|MONTH|MON|MM|DDD|DAY|DD|DY|D|HH24|HH12|HH|MI|SSSSS|SS|FF[1-9]|A\.M\.|P\.M\.|AM|PM|'
    r'TZH|TZM)|("[^"]*")|([-./,\';:\s]+)')
_TEXT_ELEMENTS = {"MONTH", "MON", "DAY", "DY", "AM", "PM", "A.M.", "P.M."}
_DATE_AND_TIME_TARGETS = {_T.DATE: "DATE", _T.DATETIME: "DATETIME", _T.TIMESTAMP: "DATETIME", _T.TIME: "TIME",
                          _T.TIMESTAMPTZ: "TIMESTAMP"}
# A TIME is formatted as the time of a day (DuckDB casts no TIME to a TIMESTAMP; TRY_CAST binds for every type, and
# typeof() is folded, so one branch is left); a TIMESTAMP AT TIME ZONE as its wall-clock time in the zone.
_AS_TIMESTAMP = ("CASE WHEN TYPEOF(__x__) = 'TIME' THEN DATE '1970-01-01' + TRY_CAST(__x__ AS TIME) "
                 "WHEN TYPEOF(__x__) = 'VARCHAR' THEN CAST(TRY_CAST(__x__ AS VARCHAR) AS TIMESTAMP) "
                 "ELSE TRY_CAST(__x__ AS TIMESTAMP) END")
_IN_ZONE = f"CASE WHEN TYPEOF(__x__) = 'TIMESTAMP WITH TIME ZONE' THEN {LOCAL_TIME} ELSE {_AS_TIMESTAMP} END"
_ZONE_OFFSET = f"CASE WHEN TYPEOF(__x__) = 'TIMESTAMP WITH TIME ZONE' THEN {OFFSET_SECONDS} ELSE 0 END"


def formatted(node: exp.Cast) -> exp.Expression:
    fmt = node.args["format"]
    zone = fmt.args.get("zone") if isinstance(fmt, exp.AtTimeZone) else None
    text = fmt.this if isinstance(fmt, exp.AtTimeZone) else fmt
    target = _DATE_AND_TIME_TARGETS.get(node.to.this) if not node.to.expressions else None
    if not (isinstance(text, exp.Literal) and text.is_string) or (node.to.this != _T.TEXT and target is None):
        raise UnsupportedSQL(
            f"The local warehouse runs CAST ... FORMAT only between a STRING and a DATE, DATETIME, TIME or TIMESTAMP, "
            f"with a literal format (not {node.sql('bigquery')[:80]!r}); use target=gcp for the others.")
    if target is not None:
        return _parsed(node, target, text.this, zone)
    pieces = []
    for element, literal in _elements(text.this, "format with"):
        if literal is not None:
            pieces.append(sql_text(literal))
        elif element.upper().startswith("FF"):
            pieces.append(f"LEFT(STRFTIME(__x__, '%f') || '000', {element[2]})")
        else:
            sql = _FORMAT_PARTS[element.upper()]
            if element.upper() in _TEXT_ELEMENTS:
                sql = (f"UPPER({sql})" if element[:2].isupper() or len(element) == 1 else
                       f"LOWER({sql})" if element[0].islower() else f"UPPER(LEFT({sql}, 1)) || LOWER(SUBSTR({sql}, 2))")
            pieces.append(sql)
    if not pieces:
        return tpl("CASE WHEN __x__ IS NULL THEN NULL ELSE '' END", x=node.this)
    if zone is None:
        return tpl(" || ".join(f"({p})" for p in pieces), x=tpl(_AS_TIMESTAMP, x=node.this),
                   o=exp.Literal.number(0))
    return tpl(" || ".join(f"({p})" for p in pieces), x=tpl(_IN_ZONE, x=node.this, z=zone),
               o=tpl(_ZONE_OFFSET, x=node.this.copy(), z=zone.copy()))


def _elements(text: str, doing: str) -> list[tuple[str | None, str | None]]:
    """The format's elements in order, each (element, None) or (None, the literal text it stands for)."""
    found, at = [], 0
    while at < len(text):
        m = _FORMAT_ELEMENT.match(text, at)
        if m is None:
            raise UnsupportedSQL(
                f"The local warehouse cannot {doing} {text[at:at + 10]!r} in CAST ... FORMAT {text!r}: it knows "
                "BigQuery's date and time format elements (YYYY, MM, DD, MON, MONTH, DAY, DY, HH24, HH12, MI, SS, "
                "FF1-FF9, AM, ...), not number or bytes formats; use target=gcp for those.")
        element, quoted, separator = m.groups()
        found.append((element, None) if element else (None, separator if separator else quoted[1:-1]))
        at = m.end()
    return found


# CAST(string AS DATE | DATETIME | TIME | TIMESTAMP FORMAT '...'), the other direction (format-elements doc, "Format
# string as date and time"; ZetaSQL's cast_date_time.cc decides what the doc leaves open). sqlglot turns it into a
# strptime with its own element table, which read 'HH:MI P.M.' as a morning time, SSSSS as a fraction and passed
# FF3, RR or Month to DuckDB as literal text; and it made every target a TIMESTAMP. Here the string is matched
# against one regular expression built from the elements, and each part is computed as BigQuery does: a part the
# format leaves out is the current year, the current month, day 1 and midnight; YYY, YY and Y replace the current
# year's last digits, RR picks the century nearest the current year; HH with A.M. or P.M. is a 12-hour clock.
_PARSED_DIGITS = {"YYYY": 4, "RRRR": 4, "YYY": 3, "YY": 2, "Y": 1, "RR": 2, "MM": 2, "DD": 2, "HH": 2, "HH12": 2,
                  "HH24": 2, "MI": 2, "SS": 2, "SSSSS": 5, "TZM": 2}
_PARSED_PARTS = {"YEAR": ("YYYY", "RRRR", "YYY", "YY", "Y", "RR"), "MONTH": ("MM", "MON", "MONTH"), "DAY": ("DD",),
                 "HOUR": ("HH", "HH12", "HH24", "SSSSS"), "MINUTE": ("MI", "SSSSS"), "SECOND": ("SS", "SSSSS"),
                 "MERIDIAN": ("A.M.", "P.M."), "TIME ZONE": ("TZH", "TZM")}
# What each target type cannot take (ZetaSQL ValidateDateTimeFormatElementsFor<Type>Type)
_NOT_FOR = {"DATE": ("HOUR", "MINUTE", "SECOND", "FRACTION", "MERIDIAN", "TIME ZONE"),
            "TIME": ("YEAR", "MONTH", "DAY", "TIME ZONE"), "DATETIME": ("TIME ZONE",), "TIMESTAMP": ()}
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_CURRENT = "GET_CURRENT_TIMESTAMP()"


def _part(elements: list[str]) -> dict[str, str]:
    """Each part (YEAR, MONTH, ...) to the element that gives it; BigQuery refuses two for one part, but for the time
    zone's TZH and TZM (FF1-FF9 give the fraction, beside SS)."""
    parts: dict[str, str] = {}
    for element in elements:
        for part, givers in _PARSED_PARTS.items():
            if element in givers:
                if part in parts and part != "TIME ZONE":
                    raise UnsupportedSQL(f"CAST ... FORMAT cannot parse with both {parts[part]} and {element}: "
                                         f"BigQuery takes one format element per {part.lower()} part.")
                parts[part] = element
        if element.startswith("FF"):
            parts["FRACTION"] = element
    return parts


def _regex_literal(text: str) -> str:
    """`text` matched as written (a blank matches any run of blanks, as BigQuery's whitespace element does)."""
    return "".join(r"\s+" if c.isspace() else c if c.isalnum() or not c.isascii() else "\\" + c for c in text)


def _parsed(node: exp.Cast, target: str, fmt: str, zone: exp.Expression | None) -> exp.Expression:
    elements = _elements(fmt, "parse with")
    names = [e.upper() for e, _ in elements if e is not None]
    for element in names:
        if element not in _PARSED_DIGITS and element not in ("MON", "MONTH", "A.M.", "P.M.", "TZH") \
                and not element.startswith("FF"):
            raise UnsupportedSQL(f"CAST ... FORMAT cannot parse the format element {element} (in {fmt!r}): BigQuery "
                                 "formats with it but does not parse it.")
    parts = _part(names)
    for part in _NOT_FOR[target]:
        if part in parts:
            raise UnsupportedSQL(f"CAST ... FORMAT to {target} cannot take the format element {parts[part]} "
                                 f"(in {fmt!r}): a {target} has no {part.lower()} part.")
    if (parts.get("HOUR") in ("HH", "HH12")) != ("MERIDIAN" in parts):
        raise UnsupportedSQL(f"CAST ... FORMAT {fmt!r}: BigQuery parses HH and HH12 only with A.M. or P.M., and A.M. "
                             "or P.M. only with HH or HH12.")
    pattern, group, at = [], {}, 0
    for i, (element, literal) in enumerate(elements):
        if literal is not None:
            pattern.append(_regex_literal(literal))
            continue
        name = element.upper()
        following = next(((e or "").upper() for e, lit in elements[i + 1:] if e is not None or lit), "")
        exact = following in _PARSED_DIGITS or following.startswith("FF")
        width = int(name[2]) if name.startswith("FF") else _PARSED_DIGITS.get(name, 2)
        digits = f"[0-9]{{{width}}}" if exact else f"[0-9]{{1,{5 if name in ('YYYY', 'RRRR') else width}}}"
        pattern.append({"MON": "([A-Za-z]{3})", "MONTH": "([A-Za-z]+)", "A.M.": r"([AaPp]\.[Mm]\.)",
                        "P.M.": r"([AaPp]\.[Mm]\.)", "TZH": f"([-+ ]{digits})"}.get(name, f"({digits})"))
        at += 1
        group[name] = at
    regex = sql_text(r"^\s*" + "".join(pattern) + r"\s*$")

    def text(name: str) -> str:
        return f"REGEXP_EXTRACT(__s__, {regex}, {group[name]})"

    def number(name: str) -> str:
        return f"TRY_CAST({text(name)} AS BIGINT)"

    year = parts.get("YEAR")
    current_year = f"YEAR({_CURRENT})"
    if year in ("YYYY", "RRRR"):
        year_sql = number(year)
    elif year == "RR":
        century = (f"({current_year} // 100 + CASE WHEN {number(year)} < 50 AND {current_year} % 100 >= 50 THEN 1 "
                   f"WHEN {number(year)} >= 50 AND {current_year} % 100 < 50 THEN -1 ELSE 0 END)")
        year_sql = f"({century} * 100 + {number(year)})"
    elif year is not None:
        scale = 10 ** _PARSED_DIGITS[year]
        year_sql = f"({current_year} - {current_year} % {scale} + {number(year)})"
    else:
        year_sql = current_year if target != "TIME" else "1970"
    month = parts.get("MONTH")
    months = "[" + ", ".join(sql_text(m[:3] if month == "MON" else m) for m in _MONTHS) + "]"
    month_sql = (number(month) if month == "MM" else f"COALESCE(LIST_POSITION({months}, LOWER({text(month)})), 0)"
                 if month else f"MONTH({_CURRENT})" if target != "TIME" else "1")
    day_sql = number("DD") if "DAY" in parts else "1"
    hour = parts.get("HOUR")
    if hour == "SSSSS":
        hour_sql, minute_sql, second_sql = (f"({number(hour)} // 3600)", f"({number(hour)} % 3600 // 60)",
                                            f"({number(hour)} % 60)")
    else:
        meridian = parts.get("MERIDIAN")
        hour_sql = (f"({number(hour)} % 12 + CASE WHEN UPPER({text(meridian)}) = 'P.M.' THEN 12 ELSE 0 END)"
                    if meridian else number(hour) if hour else "0")
        minute_sql = number("MI") if "MINUTE" in parts else "0"
        second_sql = number("SS") if "SS" in names else "0"
    fraction = next((n for n in names if n.startswith("FF")), None)
    # digits past the sixth are dropped, as BigQuery's microsecond TIMESTAMP does
    micros_sql = f"CAST(RPAD(LEFT({text(fraction)}, 6), 6, '0') AS BIGINT)" if fraction else "0"
    ranges = [(month_sql, 1, 12), (day_sql, 1, 31), (minute_sql, 0, 59), (second_sql, 0, 59)]
    if hour is not None:
        ranges.append((number(hour), *{"HH24": (0, 23), "SSSSS": (0, 86399)}.get(hour, (1, 12))))
    offset_sql = "0"
    if "TZH" in names:
        sign = f"CASE WHEN LEFT({text('TZH')}, 1) = '-' THEN -1 ELSE 1 END"
        hours = f"TRY_CAST(SUBSTR({text('TZH')}, 2) AS BIGINT)"
        minutes = number("TZM") if "TZM" in names else "0"
        ranges += [(hours, 0, 14), (minutes, 0, 59)]
        offset_sql = f"({sign} * ({hours} * 3600 + {minutes} * 60))"
    out_of_range = " OR ".join(f"NOT {sql} BETWEEN {low} AND {high}" for sql, low, high in ranges)
    safe = is_safe(node)
    value = f"'''' || __s__ || ''' with format ' || {sql_text(repr(fmt))}"
    failed = "NULL" if safe else f"ERROR('Failed to parse input timestamp string ' || {value})"
    invalid = "NULL" if safe else f"ERROR('Invalid result from year, month, day values after parsing ' || {value})"
    wall_clock = (f"MAKE_TIMESTAMP({year_sql}, {month_sql}, {day_sql}, {hour_sql}, {minute_sql}, 0) + "
                  f"TO_MICROSECONDS({second_sql} * 1000000 + {micros_sql})")
    result = {"DATE": f"CAST({wall_clock} AS DATE)", "TIME": f"CAST({wall_clock} AS TIME)", "DATETIME": wall_clock,
              "TIMESTAMP": (f"TIMEZONE('UTC', {wall_clock}) - TO_SECONDS({offset_sql})" if "TZH" in names
                            else f"TIMEZONE(__z__, {wall_clock})")}[target]
    sql = (f"CASE WHEN __s__ IS NULL THEN NULL WHEN NOT REGEXP_FULL_MATCH(__s__, {regex}) OR {out_of_range} "
           f"THEN {failed} WHEN NOT {year_sql} BETWEEN 1 AND 9999 OR {day_sql} > "
           f"DAY(LAST_DAY(MAKE_DATE({year_sql}, {month_sql}, 1))) THEN {invalid} ELSE {result} END")
    return tpl(sql, s=tpl("CAST(__x__ AS VARCHAR)", x=node.this), z=zone or exp.Literal.string("UTC"))


_CAST_TARGETS = {"DATE", "DATETIME", "TIME", "TIMESTAMP"}


def restore_format_casts(sql: str, trees: list[exp.Expression]) -> None:
    """Put back, in the parsed `trees` of `sql`, each CAST(string AS DATE | DATETIME | TIME | TIMESTAMP FORMAT ...)
    that sqlglot's BigQuery parser turned into a StrToDate or StrToTime: that node keeps neither the target type nor
    the format as written (it holds sqlglot's strptime translation), and its own parser cannot be extended (compiled).
    Each such node is matched to its CAST in the SQL text by where its operand's names and literals stand."""
    if "FORMAT" not in sql.upper():
        return
    spans = _format_cast_spans(sql)
    made = [n for tree in trees for n in tree.find_all(exp.StrToTime, exp.StrToDate)
            if n.args.get("default_year") is None and "bigquery_name" not in n.meta]
    made.sort(key=lambda n: -n.depth)   # innermost first: an outer CAST's operand stands inside the inner's too
    for node in made:
        starts = [leaf.meta["start"] for leaf in node.this.walk() if "start" in leaf.meta]
        fits = [s for s in spans if not s["taken"] and (s["target"] == "DATE") == isinstance(node, exp.StrToDate)
                and all(s["start"] <= p <= s["end"] for p in starts)]
        if not fits:
            continue
        span = min(fits, key=lambda s: s["end"] - s["start"])
        span["taken"] = True
        fmt: exp.Expression = exp.Literal.string(span["format"])
        if node.args.get("zone") is not None:
            fmt = exp.AtTimeZone(this=fmt, zone=node.args["zone"])
        cast = exp.TryCast if node.args.get("safe") else exp.Cast
        node.replace(cast(this=node.this, to=exp.DataType.build(span["target"], dialect="bigquery"), format=fmt))


def _format_cast_spans(sql: str) -> list[dict]:
    """Each `CAST(... AS <date or time type> FORMAT '...')` in `sql`: where it stands, its target and its format."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    tokens = Dialect.get_or_raise("bigquery").tokenize(sql)
    spans = []
    for i, token in enumerate(tokens[:-1]):
        if token.text.upper() not in ("CAST", "SAFE_CAST") or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        depth = 0
        for j in range(i + 1, len(tokens)):
            kind = tokens[j].token_type
            depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
            if depth == 0:
                break
            following = [t for t in tokens[j + 1:j + 5] if t.token_type != TokenType.L_PAREN]
            if depth == 1 and kind == TokenType.ALIAS and len(following) >= 3 \
                    and following[0].text.upper() in _CAST_TARGETS and following[1].token_type == TokenType.FORMAT \
                    and following[2].token_type == TokenType.STRING:
                spans.append({"start": token.start, "end": None, "target": following[0].text.upper(),
                              "format": following[2].text, "taken": False})
        if spans and spans[-1]["end"] is None:
            spans[-1]["end"] = tokens[min(j, len(tokens) - 1)].end
    return spans
