"""PARSE_DATE, PARSE_DATETIME, PARSE_TIME and PARSE_TIMESTAMP as BigQuery reads a text with its format elements.

DuckDB's strptime reads a format its own way: it refused BigQuery's %E*S, %E#S, %E4Y, %Ez, %k, %l, %P, %t, %n and the
%Ox and %Ex forms, read %b as the short month name only, rounded a fraction past the microsecond, took elements a
type has not (PARSE_DATE('%H', ...)) and the year 0, and gave a zone-less TIMESTAMP for PARSE_TIMESTAMP. A literal
format is read here at translation (_reading: a list of DuckDB formats tried in turn, the text adjusted where the
format cannot say it); any other is left to sqlglot's translation. Zones: datetimes.in_zone.
"""
from __future__ import annotations

import re

from sqlglot import exp

from .datetimes import in_zone
from .errors import UnsupportedSQL
from .sqltree import fails, sql_text, tpl


def fix_parse_timestamp(node: exp.StrToTime) -> exp.Expression:
    """PARSE_TIMESTAMP(fmt, text [, zone]) is a TIMESTAMP: the text is wall-clock time in `zone`
    (UTC without one) unless it carries its own offset. DuckDB's strptime gives a zone-less
    TIMESTAMP (BigQuery's DATETIME), and sqlglot drops the zone."""
    fmt = node.args.get("format")
    zone = node.args.get("zone")
    parse = _reading(node)
    if parse is None:
        parse = node.copy()
        parse.set("zone", None)
    if isinstance(fmt, exp.Literal) and fmt.is_string and re.search(r"%E?z|%Z", fmt.this.replace("%%", "")):
        instant = tpl("CAST(__p__ AS TIMESTAMPTZ)", p=parse)   # the text names its own offset
    elif zone is None or (isinstance(zone, exp.Literal) and zone.is_string and zone.this.upper() in ("UTC", "Z")):
        instant = tpl("TIMEZONE('UTC', __p__)", p=parse)
    else:
        instant = in_zone(zone, parse)
    return in_range(node, instant)


def in_range(node: exp.Expression, parsed: exp.Expression) -> exp.Expression:
    """A PARSE_DATE, PARSE_DATETIME or PARSE_TIMESTAMP result outside BigQuery's range (years 1 to 9999; a TIMESTAMP's
    in UTC) fails, NULL under SAFE.: DuckDB's strptime read the year 0 (`PARSE_DATE('%Y', '0')`), and the value failed
    only as the client read it."""
    failure = fails(node, "'Invalid result from parsing function: out of range'")
    return tpl(f"CASE WHEN __p__ IS NULL OR CAST(__p__ AS TIMESTAMP) BETWEEN TIMESTAMP '0001-01-01 00:00:00' AND "
               f"TIMESTAMP '9999-12-31 23:59:59.999999' THEN __p__ ELSE {failure} END", p=parsed)


# The format elements PARSE_DATE, PARSE_TIME and PARSE_DATETIME refuse (ZetaSQL parse_date_time.cc,
# ValidateParseFormat; compliance functions_testlib_timestamp.cc, GetParseDateTests): "Invalid format: %H is not allowed
# for the DATE type.", NULL under SAFE. DuckDB's strptime read them, so PARSE_DATE('%Y-%m-%d %H:%M:%S', ...) gave a
# date where BigQuery's job fails.
_NOT_PARSED = {exp.StrToDate: ("DATE", "cHIklMPpRrSsTXZz"), exp.ParseTime: ("TIME", "AaBbhCcDdeFGgjmsUuVWwxYyZz"),
               exp.ParseDatetime: ("DATETIME", "Zz")}


def _refused_element(fmt: str, invalid: str) -> str | None:
    """The first element of `fmt` in `invalid`, as ValidateParseFormat finds it (%E#S and %E*S where %S is refused,
    %E4Y where %Y is, %Ox where x is)."""
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        run = len(fmt[i:]) - len(fmt[i:].lstrip("%"))
        i += run
        if run % 2 == 0 or i >= len(fmt):
            continue
        c, rest = fmt[i], fmt[i + 1:]
        if c in invalid:
            return c
        if c == "E" and rest:
            if rest[0] in invalid:
                return "E" + rest[0]
            if "S" in invalid and (rest[0] == "*" or rest[0].isdigit()) and rest[1:2] == "S":
                return "E" + rest[:2]
            if "Y" in invalid and rest[:2] == "4Y":
                return "E4Y"
        if c == "O" and rest and rest[0] in invalid:
            return "O" + rest[0]
        i += 1
    return None


# PARSE_*'s %b, %B and %h each read a month's full or abbreviated name, and %a and %A a weekday's (strptime's rule,
# which ZetaSQL's parser keeps; compliance functions_testlib_timestamp.cc); DuckDB's %b read only 'Mar' and %B only
# 'March'. The text's full names are shortened and the format reads the short ones (case is ignored either way).
_NAMED = re.compile(r"(?<!%)((?:%%)*)%([BhA])")
_NAMES = (("january", "february", "march", "april", "june", "july"),
          ("august", "september", "october", "november", "december"),
          ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
# (pattern, replacement): each name's short form is its one group; RE2 replaces groups \1 to \9 only, so three
_FULL_NAMES = tuple((r"(?i)(?:" + "|".join(f"({n[:3]}){n[3:]}" for n in names) + r")",
                     "".join(f"\\{i}" for i in range(1, len(names) + 1))) for names in _NAMES)


def _names_either_way(text: exp.Expression, fmt: str) -> tuple[exp.Expression, str]:
    """The text and format a PARSE_ reads, its months' and weekdays' names read in either form where `fmt` reads
    any: the text's full names shortened, the format reading short ones."""
    if not re.search(r"(?<!%)(?:%%)*%[bBhaA]", fmt):
        return text, fmt
    for pattern, short in _FULL_NAMES:
        text = exp.RegexpReplace(this=text, expression=exp.Literal.string(pattern),
                                 replacement=exp.Literal.string(short))
    return text, _NAMED.sub(lambda m: m.group(1) + "%" + ("a" if m.group(2) == "A" else "b"), fmt)


# PARSE_'s %E*S reads seconds with a fraction of any digits, %E#S with at most # (compliance: "%E#S does not consume
# more digits than specified", so PARSE_TIME('%E1S', '1.12') fails), %E4Y a year (format elements doc); DuckDB's
# strptime knows none of them ("Unrecognized format ... %E": PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%E*S', ...) failed;
# sqlglot spells %E6S alone). Written as a list of formats DuckDB tries in turn: a fraction of 1-6 digits, none;
# %E0S none, %E3S at most 3 (%g). %E*S's digits past the sixth are cut from the text first: ZetaSQL truncates to the
# microsecond, and DuckDB's %n rounded (23:59:59.9999999 became midnight). (DuckDB has no element of 1, 2, 4 or 5
# digits: those read up to 6, and a longer fraction is refused after: _fraction_checked.)
_FRACTIONAL_SECONDS = re.compile(r"(?<!%)((?:%%)*)%E(\*|[0-9])S")
_SECONDS_READ = {"0": ("%S",), "3": ("%S.%g", "%S")}
_PAST_MICROSECONDS = (r"(\.[0-9]{6})[0-9]+", r"\1")
# sqlglot reads BigQuery's %E6S as `%S.%f` (its TIME_MAPPING), a fraction DuckDB then required: PARSE_DATETIME('%Y-%m-%d
# %H:%M:%E6S', '2020-01-01 01:02:03') failed where BigQuery reads 01:02:03 (compliance: PARSE_TIME('%E6S', '1') is
# 00:00:01). BigQuery's parser has no %f, so `%S.%f` here is always that %E6S.
_SQLGLOTS_E6S = re.compile(r"(?<!%)((?:%%)*)%S\.%f")
# %E1S, %E2S, %E4S and %E5S read up to 6 digits as DuckDB's %f does: a fraction with more than # is refused after,
# where its microseconds are no multiple of this (PARSE_TIME('%E1S', '1.12') fails; a trailing zero, '1.10', passes)
_DIGITS_AT_MOST = {"1": 100_000, "2": 10_000, "4": 100, "5": 10}


# Elements strptime reads as others that DuckDB's knows (format elements doc; ZetaSQL's parser, which is strptime's):
# %k and %l an hour as %H and %I, %P as %p, %t and %n any whitespace (as a space does), %Ez (+HH:MM) as %z, and the
# alternative forms %Ox and %Ex (POSIX's locale modifiers: the C locale has no alternatives) as %x. DuckDB refused each.
_SAME_AS = {"k": "%H", "l": "%I", "P": "%p", "t": " ", "n": " "}
_RFC3339_OFFSET = re.compile(r"(?<!%)((?:%%)*)%Ez")   # +HH:MM, which DuckDB's %z reads
_ALTERNATIVE = re.compile(r"(?<!%)((?:%%)*)%([OE])([cCdeHImMSuUVwWxXyY])")
_PLAIN = re.compile(r"(?<!%)((?:%%)*)%([klPtn])")


def _strptime_formats(fmt: str) -> list[str]:
    """The DuckDB formats reading `fmt`'s %E*S, %E#S and %E4Y, its %k, %l, %P, %t, %n, %Ox and %Ex (`fmt` alone where
    it has none of them)."""
    fmt = re.sub(r"(?<!%)((?:%%)*)%E4Y", r"\1%Y", fmt)
    fmt = _RFC3339_OFFSET.sub(r"\1%z", fmt)
    fmt = _ALTERNATIVE.sub(lambda m: m.group(1) + "%" + m.group(3), fmt)
    fmt = _PLAIN.sub(lambda m: m.group(1) + _SAME_AS[m.group(2)], fmt)
    found = _FRACTIONAL_SECONDS.search(fmt)
    if not found:
        return [fmt]
    readings = _SECONDS_READ.get(found.group(2), ("%S.%f", "%S"))
    return [_FRACTIONAL_SECONDS.sub(lambda m: m.group(1) + seconds, fmt) for seconds in readings]


# PARSE_'s ISO year and week elements (%G, %g, %V): DuckDB's strptime read %G and %V as nothing and %g as milliseconds,
# so PARSE_DATE('%G', '2015') was 1970-01-01 and PARSE_DATETIME('%g', '22') 00:00:00.220, where ZetaSQL reads the
# Monday of ISO week 1 (2014-12-29, 2022-01-03) and fails %G with %V ("ISO parse elements are not supported yet",
# parse_date_time.cc; compliance functions_testlib_timestamp.cc GetParseDateTimestampCommonTests). Refused, not
# guessed.
_ISO_WEEK_ELEMENTS = re.compile(r"(?<!%)(?:%%)*%[GgV]")


def _iso_week_elements_refused(fmt: str) -> None:
    if _ISO_WEEK_ELEMENTS.search(fmt):
        raise UnsupportedSQL(f"The local warehouse does not parse the ISO year and week elements %G, %g and %V "
                             f"(format {fmt!r}): parse the date with %Y, %m and %d, or use target=gcp.")


def _read_with(formats: list[str], text: exp.Expression, default_year: bool) -> exp.Expression:
    """DuckDB's STRPTIME of `text` trying `formats` in turn; with `default_year`, as sqlglot writes PARSE_: a year
    1970 in front of text and format, which a %Y of the format overrides (DuckDB's default year is 1900)."""
    year, text_sql = ("%Y ", "'1970 ' || __s__") if default_year else ("", "__s__")
    listed = ", ".join(sql_text(year + f) for f in formats)
    return tpl(f"STRPTIME({text_sql}, [{listed}])", s=text)


def _reading(node: exp.Expression) -> exp.Expression | None:
    """A PARSE_ (StrToDate, StrToTime, ParseDatetime, ParseTime) as DuckDB's STRPTIME, written here where its literal
    format needs what sqlglot's translation does not give (names either way, %E*S, %E#S, %E4Y); else None, sqlglot's.
    (sqlglot's own generator would read a rewritten text argument again, in DuckDB's dialect.)"""
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return None
    _iso_week_elements_refused(fmt.this)
    text, named = _names_either_way(node.this, _SQLGLOTS_E6S.sub(r"\1%E6S", fmt.this))
    formats = _strptime_formats(named)
    if re.search(r"(?<!%)(?:%%)*%E\*S", named):
        pattern, kept = _PAST_MICROSECONDS
        text = exp.RegexpReplace(this=text, expression=exp.Literal.string(pattern), replacement=exp.Literal.string(kept))
    if text is node.this and formats == [fmt.this]:
        return None
    if isinstance(node, exp.ParseTime):
        return _fraction_checked(node, named, tpl("CAST(__p__ AS TIME)", p=_read_with(formats, text, False)))
    read = _read_with(formats, text, default_year=True)
    if isinstance(node, exp.StrToDate):
        return tpl("CAST(__p__ AS DATE)", p=read)
    return _fraction_checked(node, named, read)


def _fraction_checked(node: exp.Expression, fmt: str, parsed: exp.Expression) -> exp.Expression:
    """`parsed`, failing (NULL under SAFE.) where `fmt`'s %E#S of 1, 2, 4 or 5 digits read a longer fraction."""
    found = _FRACTIONAL_SECONDS.search(fmt)
    multiple = _DIGITS_AT_MOST.get(found.group(2)) if found else None
    if multiple is None:
        return parsed
    digits = found.group(2)
    failure = fails(node, sql_text(f"Failed to parse input string: %E{digits}S reads at most {digits} fractional "
                                   "digits"))
    return tpl(f"CASE WHEN __p__ IS NULL OR EXTRACT(MICROSECONDS FROM __p__) % {multiple} = 0 THEN __p__ "
               f"ELSE {failure} END", p=parsed)


def parse_elements_checked(node: exp.Expression) -> exp.Expression | None:
    """PARSE_DATE, PARSE_TIME and PARSE_DATETIME: refused elements fail, the others read as BigQuery reads them, and a
    DATE or DATETIME out of range fails."""
    fmt = node.args.get("format")
    target, invalid = _NOT_PARSED[type(node)]
    element = _refused_element(fmt.this, invalid) if isinstance(fmt, exp.Literal) and fmt.is_string else None
    if element is None:
        return _reading(node) if target == "TIME" else in_range(node, _reading(node) or node)
    message = f"Invalid format: %{element} is not allowed for the {target} type."
    duck = {"DATE": "DATE", "TIME": "TIME", "DATETIME": "TIMESTAMP"}[target]
    return tpl(f"CAST(CASE WHEN __s__ IS NULL THEN NULL ELSE {fails(node, sql_text(message))} END AS {duck})",
               s=node.this)
