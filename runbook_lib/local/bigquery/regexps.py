"""REGEXP_EXTRACT (and its alias REGEXP_SUBSTR), REGEXP_EXTRACT_ALL and REGEXP_INSTR as BigQuery's.

ZetaSQL's RegExp (zetasql/public/functions/regexp.cc; compliance functions_testlib_regex.cc) runs one match loop for
all three, ExtractAllIterator::Next:
- a pattern with more than one capturing group fails, "Regular expressions passed into extraction functions must not
  have more than 1 capturing group" (`REGEXP_EXTRACT('abc', '(a)(b)')`; NULL under SAFE.). The check is made when a
  match is first sought: a NULL argument gives NULL, and a position past the end NULL (0 for REGEXP_INSTR), first;
- the value is the capturing group's, else the whole match's. A group that took no part is NULL in REGEXP_EXTRACT and
  '' in REGEXP_EXTRACT_ALL (`REGEXP_EXTRACT_ALL('', '(abc)?')` is ['']);
- after an empty match the search moves on one character, and the loop ends once its position reaches the end of the
  input: an empty match at the end is reported only when sought from before it. `REGEXP_EXTRACT_ALL('aabca', 'a*')`
  is ['aa', '', '', 'a'] and `REGEXP_EXTRACT('aaa', 'a*', 2, 2)` NULL; DuckDB, which seeks the end once more, adds a
  trailing '' (the "split on _" idiom `(.*?)(?:_|$)` gave one element too many);
- REGEXP_INSTR gives the position of the capturing group (its end with return option 1: `REGEXP_INSTR('abc',
  'a(b)c')` is 2), else of the whole match, counted from the loop's position, which is one character on after an
  empty match; an empty pattern or input gives 0 (`REGEXP_INSTR('', '()')`);
- position and occurrence must be positive ("Position must be positive", "Occurrence must be positive",
  util.cc ValidatePositionAndOccurrence) and REGEXP_INSTR's return option 0 or 1 ("Invalid
  return_position_after_match.", reference_impl/function.cc), each checked after the NULLs; the input is cut at the
  position before matching (the legacy position behaviour, which `^` shows: `REGEXP_INSTR('xyzabc', '^abc', 4)` is 4);
  a position past the end gives NULL (0), here before DuckDB's SUBSTRING sees it, which fails from 2^32 on (F10).
sqlglot counts a literal pattern's groups with Python's `re` (a pattern from a column: the whole match, F02), reads
REGEXP_INSTR's return option from a literal only (F05) and checks nothing (F08, F11).

A literal pattern is read here at translation, by RE2 (google-re2: BigQuery's and DuckDB's library). Where DuckDB's
own functions give BigQuery's answer - at most one group, and no empty match that the two loops would count
differently (the pattern cannot match empty, or only the first occurrence from a literal position is asked for) -
sqlglot's translation is kept with the group RE2 counts, wrapped in a CASE only where an argument could fail (not a
positive literal) or a group may take no part in REGEXP_EXTRACT_ALL (COALESCE to ''): `REGEXP_EXTRACT(s, r'a(b)')`
is translated as before. A pattern from a column has its groups counted, and whether it can match empty told, by
two UDFs once per distinct pattern of a chunk, and DuckDB's functions take the group so counted. ZetaSQL's loop
itself runs over RE2 in Python UDFs, a chunk at a time, only where DuckDB's functions cannot answer: a pattern that
can match empty, past the first occurrence or in REGEXP_EXTRACT_ALL, and REGEXP_INSTR with a group (whose position
they do not give) or an empty match. Left: ZetaSQL compares a position with the input's length in bytes, so that
`REGEXP_EXTRACT('щцф', 'x*', 4)` matches the empty rest ('') where the kept translation gives NULL.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import re2
from sqlglot import exp

from .arrow_udfs import per_distinct
from .sqltree import fails, is_int_literal, sql_text, tpl

GROUPS_MESSAGE = "Regular expressions passed into extraction functions must not have more than 1 capturing group"

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as e:
        reason = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"Cannot parse regular expression: {reason}") from None


# ------------------------------------------------------------------------------------------------------------------
# ZetaSQL's loop (regexp.cc), on the input's UTF-8 bytes as there


def _matches(regexp, text: bytes):
    """ExtractAllIterator::Next until it ends: (span of the value, or None for a group that took no part; the loop's
    position after the match)."""
    # (google-re2's public API: its private RE2::Match would take half the time, and could change in any release)
    size, position, groups = len(text), 0, regexp.groups
    while True:
        found = regexp.search(text, position)
        if found is None:
            return
        start, end = found.span(0)
        position = end
        span = (start, end) if groups == 0 else found.span(1)
        if start == end and position < size:   # past an empty match: one UTF-8 character on
            lead = text[position]
            position += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        yield (None if span[0] < 0 else span), position
        if position >= size:
            return


def _nth(regexp, text: bytes, occurrence: int):
    for number, match in enumerate(_matches(regexp, text), 1):
        if number == occurrence:
            return match
    return None


def _cut(value: str, position: int) -> bytes:
    """The input from `position` (in characters) on: ZetaSQL's legacy position behaviour."""
    return value.encode("utf-8")[len(value[:position - 1].encode("utf-8")):]


def extract(value, pattern, position, occurrence) -> str | None:
    """RegExp::Extract (REGEXP_EXTRACT, REGEXP_SUBSTR); None where the CASE around the call fails first."""
    if None in (value, pattern, position, occurrence) or position < 1 or occurrence < 1:
        return None
    regexp = _compiled(pattern)
    size = len(value.encode("utf-8"))
    if regexp.groups > 1 or (position > size and not (size == 0 and position == 1)):
        return None
    text = _cut(value, position)
    match = _nth(regexp, text, occurrence)
    if match is None or match[0] is None:
        return None
    start, end = match[0]
    return text[start:end].decode("utf-8")


def extract_all(value, pattern) -> list[str] | None:
    """REGEXP_EXTRACT_ALL: a group that took no part is ''."""
    if value is None or pattern is None:
        return None
    regexp = _compiled(pattern)
    if regexp.groups > 1:
        return None
    text = value.encode("utf-8")
    return ["" if span is None else text[span[0]:span[1]].decode("utf-8") for span, _ in _matches(regexp, text)]


def instr(value, pattern, position, occurrence, after) -> int | None:
    """RegExp::Instr (REGEXP_INSTR); `after` is the return option (1: the position after the match)."""
    if None in (value, pattern, position, occurrence, after) or position < 1 or occurrence < 1 or after not in (0, 1):
        return None
    if position > len(value.encode("utf-8")) or pattern == "":
        return 0
    regexp = _compiled(pattern)
    if regexp.groups > 1:
        return None
    text = _cut(value, position)
    match = _nth(regexp, text, occurrence)
    if match is None or match[0] is None:
        return 0
    (start, end), loop_position = match
    visited = loop_position if regexp.groups == 0 else end
    if not after:
        visited -= end - start
    return len(text[:visited].decode("utf-8")) + position


def _rows(*columns: pa.Array | pa.ChunkedArray):
    return zip(*(c.to_pylist() for c in columns))


def regexp_groups(patterns) -> pa.Array:
    """The number of capturing groups of each pattern (an error for one RE2 cannot parse, as BigQuery's)."""
    return per_distinct(patterns, lambda p: _compiled(p).groups, pa.int32())


def regexp_empty(patterns) -> pa.Array:
    """Whether each pattern can match empty somewhere (taking \\b as always true): where the loops differ."""
    return per_distinct(patterns, lambda p: _shape(p).may_match_empty, pa.bool_())


def regexp_extracts(values, patterns, positions, occurrences) -> pa.Array:
    return pa.array([extract(*row) for row in _rows(values, patterns, positions, occurrences)], pa.string())


def regexp_extract_alls(values, patterns) -> pa.Array:
    return pa.array([extract_all(*row) for row in _rows(values, patterns)], pa.list_(pa.string()))


def regexp_instrs(values, patterns, positions, occurrences, options) -> pa.Array:
    return pa.array([instr(*row) for row in _rows(values, patterns, positions, occurrences, options)], pa.int64())


def regexp_udfs(duckdb) -> tuple:
    """(name, function, parameter types, return type) of the UDFs the rewrites call, for functions.py."""
    text, number = duckdb.sqltypes.VARCHAR, duckdb.sqltypes.BIGINT
    return (
        ("_bq_regexp_groups", regexp_groups, [text], duckdb.sqltypes.INTEGER),   # (DuckDB's group argument)
        ("_bq_regexp_empty", regexp_empty, [text], duckdb.sqltypes.BOOLEAN),
        ("_bq_regexp_extract", regexp_extracts, [text, text, number, number], text),
        ("_bq_regexp_extract_all", regexp_extract_alls, [text, text], duckdb.list_type(text)),
        ("_bq_regexp_instr", regexp_instrs, [text, text, number, number, number], number),
    )


# ------------------------------------------------------------------------------------------------------------------
# A pattern's shape: of a literal, read at translation


@dataclass(frozen=True)
class _Pattern:
    groups: int
    may_match_empty: bool      # somewhere in some input
    group_may_be_absent: bool  # conservative: an alternation, or a group under ?, * or {0,...}


def _class_end(pattern: str, i: int) -> int:
    """The index after the `[...]` class opening at i."""
    j = i + 1
    j += pattern.startswith("^", j)
    j += pattern.startswith("]", j)
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
        elif pattern.startswith("[:", j) and pattern.find(":]", j + 2) >= 0:
            j = pattern.find(":]", j + 2) + 2
        elif pattern[j] == "]":
            return j + 1
        else:
            j += 1
    return len(pattern)


def _scan(pattern: str) -> tuple[str, str]:
    """(the pattern's structure, each escape and class as one `x`; the pattern with \\b and \\B as always true)."""
    shape: list[str] = []
    loose: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern.startswith("\\Q", i):
            j = pattern.find("\\E", i + 2)
            j = len(pattern) if j < 0 else j + 2
        elif c == "\\":
            j = i + 2
        elif c == "[":
            j = _class_end(pattern, i)
        else:
            shape.append(c)
            loose.append(c)
            i += 1
            continue
        shape.append("x")
        loose.append("(?:)" if pattern[i:j] in ("\\b", "\\B") else pattern[i:j])
        i = j
    return "".join(shape), "".join(loose)


def _read(pattern: str) -> _Pattern | None:
    """None when RE2 cannot parse it: DuckDB's RE2 then raises as BigQuery's does."""
    try:
        return _shape(pattern)
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _shape(pattern: str) -> _Pattern:
    groups = _compiled(pattern).groups
    shape, loose = _scan(pattern)
    try:   # \b is the one assertion that can hold in some input and not in '': taken as always true
        may_match_empty = _compiled(loose).search("") is not None
    except ValueError:
        may_match_empty = True
    absent = "|" in shape or re.search(r"\)(?:[?*]|\{0)", shape) is not None
    return _Pattern(groups, may_match_empty, absent)


def _is_text(node: exp.Expression) -> bool:
    return isinstance(node, exp.RawString) or (isinstance(node, exp.Literal) and node.is_string)


def _literal(node: exp.Expression) -> _Pattern | None:
    return _read(node.name) if _is_text(node) else None


def _is_literal(node: exp.Expression | None, value: int | None = None) -> bool:
    return is_int_literal(node) and (value is None or int(node.this) == value)


# ------------------------------------------------------------------------------------------------------------------
# The rewrites


class _Call:
    """A call's arguments as template parts (copies: the call itself may go in the template too), and the CASE that
    answers NULL for a NULL argument, then fails where BigQuery's function does, in its order."""

    def __init__(self, node: exp.Expression, **args: exp.Expression | None):
        self.node = node
        self.parts = {k: v.copy() for k, v in args.items() if v is not None}
        self.nulls = " OR ".join(f"__{k}__ IS NULL" for k, v in self.parts.items() if not (
            is_int_literal(v) or _is_text(v)))
        self.rules: list[tuple[str, str]] = []

    def check(self, key: str, condition: str, message: str) -> None:
        if key in self.parts and not (_is_literal(self.parts[key]) and int(self.parts[key].this) >= 1):
            self.rules.append((condition, fails(self.node, sql_text(message))))

    def positions(self) -> None:
        self.check("pos", "__pos__ < 1", "Position must be positive")
        self.check("occ", "__occ__ < 1", "Occurrence must be positive")

    def past_end(self, condition: str, answer: str) -> str | None:
        """A position past the end answers `answer` (ZetaSQL compares it with the input's length in bytes first).
        Made a rule unless the position is a literal DuckDB's SUBSTRING takes (it fails from 2^32 on); else
        returned, for `groups`."""
        if "pos" not in self.parts:
            return None
        if _is_literal(self.parts["pos"]) and int(self.parts["pos"].this) < 1 << 32:
            return condition
        self.rules.append((condition, answer))
        return None

    def groups(self, pattern: _Pattern | None, before: str | None, answer: str) -> str | None:
        """The group count's failure, unless the pattern is a literal of at most one group; `before`: the condition
        under which BigQuery answers `answer` without counting (the UDF answers so too). Returns the failure when it
        is certain (a literal pattern)."""
        failure = fails(self.node, sql_text(GROUPS_MESSAGE))
        if pattern is not None and pattern.groups <= 1:
            return None
        if pattern is not None:
            if before is not None:
                self.rules.append((before, answer))
            return failure
        # (counted first, in a CASE DuckDB does not reorder as it does an AND, so that a pattern RE2 cannot parse
        # fails as BigQuery's whatever the position)
        self.rules.append((f"CASE WHEN _bq_regexp_groups(__p__) > 1 THEN NOT ({before}) END" if before else
                           "_bq_regexp_groups(__p__) > 1", failure))
        return None

    def arg(self, key: str, default: str = "1") -> str:
        return f"__{key}__" if key in self.parts else default

    def case(self, otherwise: str, cast: str | None = None, **more: exp.Expression) -> exp.Expression:
        if not self.rules and otherwise == "__f__":
            return more["f"]
        rules = ([(self.nulls, "NULL")] if self.nulls and (self.rules or cast) else []) + self.rules
        whens = " ".join(f"WHEN {condition} THEN {outcome}" for condition, outcome in rules)
        sql = f"CASE {whens} ELSE {otherwise} END" if whens else otherwise
        return tpl(f"CAST({sql} AS {cast})" if cast else sql, **self.parts, **more)


def _groups_of(node: exp.Expression) -> exp.Expression:
    """A pattern column's group to take: 1 or 0, its number of groups (the rows with more fail before)."""
    return tpl("_bq_regexp_groups(__p__)", p=node.expression.copy())


def regexp_extract(node: exp.RegexpExtract) -> exp.Expression | None:
    position, occurrence = node.args.get("position"), node.args.get("occurrence")
    pattern = _literal(node.expression)
    if pattern is None and _is_text(node.expression):
        return None   # RE2 cannot parse it: DuckDB's RE2 fails as BigQuery's
    call = _Call(node, s=node.this, p=node.expression, pos=position, occ=occurrence)
    call.positions()
    past_end = call.past_end("__pos__ > GREATEST(STRLEN(__s__), 1)", "NULL")
    # where an empty match could make DuckDB's loop and ZetaSQL's differ: past the first occurrence, or a position
    # from a column (sqlglot's NULLIF(SUBSTRING(...), '') makes an input cut to '' NULL, where ZetaSQL matches '')
    loop = not (all(a is None or _is_literal(a) for a in (position, occurrence))
                and (occurrence is None or _is_literal(occurrence, 1)))
    udf = f"_bq_regexp_extract(__s__, __p__, {call.arg('pos')}, {call.arg('occ')})"
    if pattern is not None and pattern.groups <= 1:
        if pattern.may_match_empty and loop:
            return call.case(udf)
        node.set("group", exp.Literal.number(1) if pattern.groups == 1 else None)
        return call.case("__f__", f=node)
    failure = call.groups(pattern, past_end, "NULL")
    if failure is not None:
        return call.case(failure, "VARCHAR")
    node.set("group", _groups_of(node))
    if loop:
        call.rules.append(("_bq_regexp_empty(__p__)", udf))
    return call.case("__f__", f=node)


def regexp_extract_all(node: exp.RegexpExtractAll) -> exp.Expression | None:
    if node.args.get("position") is not None or node.args.get("occurrence") is not None:
        return None   # (not BigQuery's: REGEXP_EXTRACT_ALL takes two arguments)
    pattern = _literal(node.expression)
    if pattern is None and _is_text(node.expression):
        return None   # RE2 cannot parse it: DuckDB's RE2 fails as BigQuery's
    call = _Call(node, s=node.this, p=node.expression)
    udf = "_bq_regexp_extract_all(__s__, __p__)"
    if pattern is not None and pattern.groups <= 1:
        if pattern.may_match_empty:
            return call.case(udf)
        node.set("group", exp.Literal.number(1) if pattern.groups == 1 else None)
        if pattern.groups == 1 and pattern.group_may_be_absent:
            return tpl(_EMPTY_IF_ABSENT, f=node)
        return None
    failure = call.groups(pattern, None, "NULL")
    if failure is not None:
        return call.case(failure, "VARCHAR[]")
    node.set("group", _groups_of(node))
    call.rules.append(("_bq_regexp_empty(__p__)", udf))
    return call.case("__f__", f=tpl(_EMPTY_IF_ABSENT, f=node))


_EMPTY_IF_ABSENT = "LIST_TRANSFORM(__f__, lambda _rx: COALESCE(_rx, ''))"


def regexp_instr(node: exp.RegexpInstr) -> exp.Expression | None:
    position, occurrence, option = (node.args.get(k) for k in ("position", "occurrence", "option"))
    pattern = _literal(node.expression)
    if pattern is None and _is_text(node.expression):
        return None   # RE2 cannot parse it: DuckDB's RE2 fails as BigQuery's
    call = _Call(node, s=node.this, p=node.expression, pos=position, occ=occurrence, opt=option)
    if option is not None and not (_is_literal(option, 0) or _is_literal(option, 1)):
        call.rules.append(("__opt__ <> 0 AND __opt__ <> 1",
                           fails(node, sql_text("Invalid return_position_after_match."))))
    call.positions()
    call.past_end("__pos__ > STRLEN(__s__)", "0")
    udf = f"_bq_regexp_instr(__s__, __p__, {call.arg('pos')}, {call.arg('occ')}, {call.arg('opt', '0')})"
    if pattern is not None and pattern.groups <= 1 and (pattern.groups == 1 or pattern.may_match_empty):
        return call.case(udf)
    failure = call.groups(pattern, f"{call.arg('pos')} > STRLEN(__s__) OR __p__ = ''", "0")
    if failure is not None:
        return call.case(failure, "BIGINT")
    if pattern is None:   # a group's position, or an empty match's: the UDF's
        call.rules.append(("_bq_regexp_groups(__p__) = 1 OR _bq_regexp_empty(__p__)", udf))
    if option is None or _is_literal(option):
        return call.case("__f__", f=node)
    after = node.copy()   # sqlglot reads the return option from a literal only
    after.set("option", exp.Literal.number(1))
    node.set("option", None)
    return call.case("CASE WHEN __opt__ = 1 THEN __after__ ELSE __f__ END", f=node, after=after)


REGEXP_REWRITES: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression | None]] = {
    exp.RegexpExtract: regexp_extract,   # and REGEXP_SUBSTR
    exp.RegexpExtractAll: regexp_extract_all,
    exp.RegexpInstr: regexp_instr,
}
