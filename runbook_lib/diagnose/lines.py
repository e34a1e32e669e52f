"""One line of a build log: what a terminal or a paste added to it, its own text, the Cloud Build (and
BuildKit) step it belongs to, and whether it names an error or a failure (in failure_words.py's words); and finding
the lines of a text that meet a rule (a regex and a literal every match contains, looked for first with str.find).

log_structure.py builds a log's shape from these; catalogue.py and classify.py ask them of single lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

from .failure_words import ERROR_WORD, FAILURE_WORD

# a Cloud Build step's prefix on its lines (after any paste prefixes: `> `, `  | `, `123 | `)
# (one character or one `NNN |` an iteration: a run of `|` has one reading, not 2^n, when no `Step #` follows)
_STEP = re.compile(r'^(?:[\s>|│]|\d{1,6} \|)*Step #(\d+)(?: - "[^"]*")?:')

# a syslog line's time and host (BSD syslog, as a log drain such as Papertrail prints a Heroku app's lines:
# `Mar 24 02:38:07 myapp app/web.1 ...`): the program after them is the line's prefix, as a tool's is
# Netlify's deploy log's 12-hour clock before each line (`12:48:33 PM: `), a timestamp of its own form
_CLOCK_12H = r"\d?\d:\d\d:\d\d [AP]M:"
_SYSLOG_HEAD = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d [\w.-]+ (?=\S)"
# what tools and pastes put before a line's own text: step prefixes, `[builder]`, git's `remote:` relaying a push's
# build (Heroku, Dokku), a Heroku dyno's name (`app[web.1]:`, or `app/web.1` as a log drain prints it), line numbers,
# quote marks (and a poster's stray backtick), BuildKit's `#12 7.813` (or its seconds alone, `2.185`, as its summary
# of a failed step repeats the output), timestamps (Jenkins' timestamper's time of day, `13:08:42  `, on the lines that
# keep it, a time of day in brackets, `[10:43:47] `, as bashio's builders print it, whether or not every line has one,
# and Vercel's and Cloudflare Pages' time column, `18:38:16.186 | `, and Dagger's step and time, `23  :   [17.5s] | `,
# where a pasted table's `-- | --` row keeps it from being taken off every line); a line whose own text starts with a
# warning is not the cause
_PREFIXES = re.compile(r'^(?:\s*(?:Step #\d+(?: - "[^"]*")?:|remote:(?=\s|$)|\[(?!WARNING\]:)[\w-]+\]|'
                       r'\[\d\d:\d\d:\d\d(?:[.,]\d+)?\]|(?:app|heroku)\[[\w.-]+\]:|'
                       r'(?:app|heroku)/[\w-]+\.\d+:?(?= )|' + _SYSLOG_HEAD + r'|'
                       r'\d\d:\d\d:\d\d\.\d{3} \||\d\d:\d\d:\d\d(?= {2}|\s*$)|' + _CLOCK_12H + r'(?=\s|$)|'
                       r'\d+ +: +\[\d+(?:\.\d+)?m?s\] \||'
                       r'\d{1,6} \||[|│>*`]+|--|'
                       r'#\d+ \d+(?:\.\d+)?|'
                       r'(?:\d\.\d{3}|\d\d\.\d\d|\d{3}\.\d)(?= )|'
                       r'\d{4}[-/]\d\d[-/]\d\d[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d(?=\s)| ?[A-Z]{3,5}(?=\s*$))?))+\s*')
# (a timestamp's zone only when nothing follows it: Cloud Logging's console copies each entry's timestamp, zone
# and all, onto a line of its own above the entry, a line with no text of its own)
# (not a Kubernetes event's `Warning  UpdateFailed` type column, which reports a failure; yarn's `info` notices too,
# and the `info` lines of npm's debug log, whose own line count a viewer's line numbers cannot be told from)
# (not a tool that relays another's stderr as its warnings, an error's name right after the word: the azure/arm-deploy
# action's `Warning: InvalidArgumentValueError: ... is not a valid value for '--mode'.`, and Amplify Hosting's build, which
# prints npm's stderr at its `[WARNING]:` level: `[WARNING]: ERR! cipm can only install packages with ...`, and the
# levels of consola, Nuxt's logger, the same way: `[WARNING]: [error] Could not resolve routes`)
# npmlog's `<heading> WARN ...` (node-gyp's `gyp WARN`, node-pre-gyp's, prebuild-install's `prebuild-install warn
# install Request timed out`, lerna's) too
_WARNING = re.compile(r"^(?:npm (?:notice|WARN|warn)\b|[\w@./-]+ (?:WARN|warn) |"
                      r"\[(?:DEPRECATION )?WARNING\]:(?!\s*(?:npm )?ERR!|\s*\[(?:error|fatal)\])|"
                      r"(?:WARN|WARNING|Warning|warning)\b(?! {2,}[A-Z])(?!:? +[A-Z]\w*Error: )|(?:\d+ )?info )")


# What a terminal, a CI system or a Markdown editor adds to every line of a pasted log, which no pattern should
# have to allow for: colour codes and a terminal's other escape sequences, a timestamp in front of each line (GitHub Actions'
# `2024-05-01T10:00:00.1234567Z `, Cloud Logging's `2024-05-01 10:00:00.123 UTC `, the Logs Explorer's `INFO
# 2024-05-01T10:00:00.123Z `, Jenkins' `[2024-05-01T10:00:00.123Z] ` or `[10:00:00] `, GitLab's `...Z 00O `), a
# quote's `> `, a code fence glued to a line, a viewer's line numbers, and what copying from a web page brings
# (no-break spaces, the HTML source's entities).
# Every ECMA-48 escape sequence, not only colours: a CSI with private-mode parameters (`ESC[?25l`, a spinner hiding
# the cursor), an OSC up to its BEL or ST (a window title, an OSC 8 hyperlink), a charset designation (`tput
# sgr0`'s `ESC(B`) and the other two-character escapes; never past a line's end.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[ -/]*[0-~])")
# ... and a colour code as CloudWatch Logs shows it, the escape character written out as `#033` (`#033[31mERROR#033[0m`)
_ANSI_WRITTEN_OUT = re.compile(r"#033\[[0-?]*[ -/]*[@-~]")
# a terminal's progress line, rewritten in place: each state ends in a `\r` without a `\n` (docker pull's layers,
# pip's and npm's bars); a terminal shows the last (a log whose lines all end in `\r` alone is left as it is)
_OVERWRITTEN = re.compile(r"^[^\n]*\r(?=[^\r\n])", re.MULTILINE)
# a time zone's abbreviation after a timestamp (only known ones: a line's own first word may be FROM, COPY or DONE)
_ZONE = r"(?:UTC|GMT|[ECMPAH][SD]T|BST|IST|JST|KST|HKT|SGT|CES?T|EES?T|WES?T|AES[DT]|MSK)(?![A-Za-z])"
_LINE_TIMESTAMP = re.compile(
    r"^(?:(?:DEFAULT|DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY) )?"   # Logs Explorer's severity
    r"(?:" + _CLOCK_12H + r" |"   # Netlify's
    r"\[?(?:\d{4}-\d\d-\d\d[T ])?\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d| ?" + _ZONE + r")?\]? ?)"
    r"(?:\d\d[OE]\+? )?",   # GitLab's stream and section marks after its timestamp (`00O `, `01E+ `)
    re.MULTILINE)
# a Markdown code fence a poster glued to the log's first or last line (```Step #0: ...```), fences glued on fences too:
# backticks by threes, so that a line the poster quoted in backticks of its own keeps them (````Paketo Buildpack ...`)
_GLUED_FENCE = re.compile(r"^([ \t]*)(?:```)+(?=[ \t]*\S)|(?<=\S)([ \t]*)(?:```)+[ \t]*$", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
# a viewer's line numbers copied with the log (`12\tStep #0: ...`, `  12 Step #0: ...`): numbered lines in a row
_LINE_NUMBER = re.compile(r"^[ \t]*(\d+)[\t ]", re.MULTILINE)
# ... or copied onto lines of their own, one between each two of the log's (GitHub Actions' web view: `Traceback ...`,
# `15`, `  File ...`, `16`, ...)
_NUMBER_LINE = re.compile(r"^[ \t]*(\d{1,6})[ \t]*\r?$")
# (two of them a line apart, each after a line's end: a search that starts at a literal newline is the quicker)
_NUMBERS_BETWEEN = re.compile(r"\n[ \t]*\d{1,6}[ \t]*\r?\n[^\n]*\n[ \t]*\d{1,6}[ \t]*\r?(?:\n|$)")
# spaces a web page or a word processor puts in (no-break, figure and narrow no-break spaces)
_SPACES = {0xA0: " ", 0x2007: " ", 0x202F: " "}
# the entities of a page's HTML source (a log copied from it); only these, not html.unescape, whose `&#10;` would
# add a line and move every line number below it
_ENTITIES = {"&quot;": '"', "&#34;": '"', "&#39;": "'", "&#x27;": "'", "&lt;": "<", "&gt;": ">", "&amp;": "&"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
HEAD_LINES = 5   # a log is timestamped (indented) when its first non-blank lines all are


def without_decoration(text: str) -> str:
    """The log without a BOM, colour codes (also as CloudWatch writes them out, `#033[31m`), the states a progress
    line overwrote (a `\\r` not before a `\\n`: the last stays), no-break spaces or HTML entities (copied from a
    page's source), unquoted,
    without a viewer's line numbers (a run of them on lines of their own, between the log's lines, left blank) or
    the timestamp in front of each line, without a code fence glued to a line,
    without trailing spaces and dedented, when its first lines show it is quoted, numbered, timestamped, padded or
    indented as a whole (a log pasted into a Markdown quote or an indented block, a console's copy padded to its
    width); line for line, so line numbers stay those of the log as given. Costs a pass over the text only when
    it has something to remove (else a str.find, a search for numbers between lines and a look at its first
    lines). Decoration on decoration (a log with its own timestamps, pasted indented or timestamped again) comes off
    layer by layer."""
    for _ in range(MAX_DECORATION_LAYERS):
        bare = _without_one_layer(text)
        if bare == text:
            break
        text = bare
    return text


MAX_DECORATION_LAYERS = 3


def _without_one_layer(text: str) -> str:
    if "\ufeff" in text:   # a BOM a decoder left, or one in the middle of files saved one after another
        text = text.replace("\ufeff", "")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "#033[" in text:
        text = _ANSI_WRITTEN_OUT.sub("", text)
    if "\r" in text and "\n" in text and _OVERWRITTEN.search(text):
        text = _OVERWRITTEN.sub("", text)
    if any(chr(space) in text for space in _SPACES):
        text = text.translate(_SPACES)
    if _escaped_html(text):
        text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], text)
    if is_quoted(text):
        text = _QUOTE.sub("", text)
    head = _head(text)
    numbers = [int(m.group(1)) if (m := _LINE_NUMBER.match(line)) else None for line in head]
    if len(head) >= 3 and None not in numbers and numbers == list(range(numbers[0], numbers[0] + len(head))):
        text = _LINE_NUMBER.sub("", text)
        head = _head(text)
    if (bare := _without_numbers_between_lines(text)) is not text:
        text, head = bare, _head(bare)
    if head and all(_LINE_TIMESTAMP.match(line) for line in head):
        text = _LINE_TIMESTAMP.sub("", text)
        head = _head(text)
    if "```" in text:
        text = _GLUED_FENCE.sub(lambda m: m.group(1) or m.group(2) or "", text)   # (a line's own spaces stay)
        head = _head(text)
    if head and all(line[-1] in " \t" for line in head) and len({len(line) for line in head}) > 1:
        # what an editor added to every line (spaces, a tab), exactly that: a line a terminal cut at a space keeps
        # its own, and its length that shows the cut (lines padded to one width, a console's copy, are unwrapped's)
        lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
        suffix = min((line[len(line.rstrip(" \t")):] for line in lines), key=len)
        while not all(line.endswith(suffix) for line in lines):
            suffix = suffix[1:]
        if suffix:
            text = re.sub(re.escape(suffix) + r"(?=\r?$)", "", text, flags=re.MULTILINE)
    indents = [m.group(0) if (m := _INDENT.match(line)) else "" for line in head]
    common = min(indents, default="")
    if common and all(indent.startswith(common) for indent in indents):
        # (a line indented less than the head, a traceback's exception under its frames, loses what it has: its
        # place relative to the others stays what it was in the block)
        text = _INDENT.sub(lambda m: m.group(0)[len(common):] if m.group(0).startswith(common)
                           else "" if common.startswith(m.group(0)) else m.group(0), text)
    return text


# A terminal that hard-wraps long lines (a Windows console, some web terminals) cuts every one at the same column:
# a log of at most this many characters whose longest lines, of at least WRAP_MIN_WIDTH characters, are cut there
# at least twice (two different lines of exactly that length, not padded with spaces) is read with them joined.
UNWRAP_MAX_CHARS = 1_000_000
WRAP_MIN_WIDTH = 60
SAME_START = 8   # a line that starts as the one before it did (`Step #0 - `, a date) is a line of its own


# a line that ends in a drawn rule (`-- PROBLEM BUILDING DEPENDENCIES -----`, Elm's heading padded to 80 columns with
# dashes) was drawn to the width, not cut at it
_RULE_END = re.compile(r"([-=_*~#─━═])\1\1$")
# ... nor is a table's row, framed at both ends (`│    0    │ '14.3.0' │`, `┌────┬────┐`, `+----+----+`, `| a | b |`):
# a tool's table has rows as wide as each other, ending in as many frame characters as it has kinds of row
_TABLE_ROW = re.compile(r"^\s*[\u2500-\u257f|+].*[\u2500-\u257f|+]$")
# ... nor one whose fields are set in columns by runs of spaces (gcloud's `ID  CREATE_TIME  DURATION  SOURCE ...` and
# its rows): a console's table fills its columns, it does not cut them
_COLUMNS = re.compile(r"\S(?: {2,}\S+){3}")


def unwrapped(text: str) -> tuple[str, list[int] | None]:
    """The log with the lines a terminal hard-wrapped joined again, and for each of its lines the number of the
    line of `text` it starts on; (text, None) when it shows no such wrapping. A line cut at the width is joined
    with the next one unless that is empty or starts as it does. No sign of a cut: two equal lines of that length
    (a retry's), lines padded to it with spaces (a console's columns) or drawn to it (a heading's rule of dashes, a
    table's rows), or lines that all end in the same character at it (a frame's `│`, or two lines that differ only
    inside, as a tool's two similar warnings may)."""
    if len(text) > UNWRAP_MAX_CHARS or "\n" not in text:
        return text, None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    width = max(map(len, lines))

    # whether each line was cut (a line padded with spaces to the width is no cut, nor one a line of its kind follows)
    cut = [len(line) == width and not line.endswith("  ") and not _RULE_END.search(line) and not _TABLE_ROW.match(line)
           and not _COLUMNS.search(line) and bool(after) and not after.startswith(line[:SAME_START])
           for line, after in zip(lines, lines[1:] + [""])]
    cuts = {line for line, was in zip(lines, cut) if was}
    if width < WRAP_MIN_WIDTH or len(cuts) < 2 or len({line[-1] for line in cuts}) < 2:
        return text, None
    joined: list[str] = []
    starts: list[int] = []
    indent = ""
    for i, line in enumerate(lines):
        if i == 0 or not cut[i - 1]:
            starts.append(i + 1)
            joined.append(line)
            indent = line[:len(line) - len(line.lstrip(" "))]
        else:   # (a block indented as a whole, which a line above kept from being dedented, wraps at its indentation)
            joined[-1] += line[len(indent):] if indent and line.startswith(indent) else line
    return "\n".join(joined), starts


def without_trailing_space(text: str) -> str:
    """The log without the spaces and tabs that end its lines (an editor's, or a console's copy padded to its
    width), which no pattern should have to allow for; line for line. Read after unwrapped(): a line a terminal cut
    at a space keeps the length that shows the cut."""
    # (a tab or a CR looked for alone first: one character is found at memchr's speed, a pair starting with a
    # character as common as a space is not, and each search of a 50 MB log costs ~45 ms)
    if " \n" in text or ("\t" in text and "\t\n" in text) or ("\r" in text and (" \r" in text or "\t\r" in text)) \
            or text.endswith((" ", "\t")):
        # line by line: a regex for the spaces before a line's end restarts at every space of a long run inside one
        return "\n".join(_without_end_spaces(line) for line in text.split("\n"))
    return text


def _without_end_spaces(line: str) -> str:
    if line.endswith("\r"):
        return line[:-1].rstrip(" \t") + "\r"
    return line.rstrip(" \t")


def _escaped_html(text: str) -> bool:
    """Whether the log was copied from a page's HTML source: it holds entities and none of the characters they
    stand for (a log as printed holds quotes or brackets wherever it holds an entity's words)."""
    return "&" in text and any(e in text for e in _ENTITIES) and not any(c in text for c in '"<>')


def is_quoted(text: str) -> bool:
    """Whether a paste is quoted whole, Markdown's `> ` before each line of its head, as without_decoration reads it
    (npm's `> app@1.0.0 build` headers are two lines followed by npm's output, never a log's whole head)."""
    head = _head(text)
    return bool(head) and all(_QUOTE.match(line) for line in head)


def _without_numbers_between_lines(text: str) -> str:
    """The log with each run of a viewer's line numbers on lines of their own, one between each two of the log's
    lines and each one more than the last (three at least), made blank lines: wherever it stands (below another
    log's text too), line for line."""
    if not _NUMBERS_BETWEEN.search(text):
        return text
    lines = text.split("\n")
    numbers = [int(m.group(1)) if (m := _NUMBER_LINE.match(line)) else None for line in lines]
    blank: set[int] = set()
    for i, number in enumerate(numbers):
        if number is None or i in blank:
            continue
        run = [i]
        while run[-1] + 2 < len(lines) and numbers[run[-1] + 1] is None and \
                numbers[run[-1] + 2] == numbers[run[-1]] + 1:
            run.append(run[-1] + 2)
        if len(run) >= 3:
            blank.update(run)
    return "\n".join(("\r" if line.endswith("\r") else "") if i in blank else line for i, line in enumerate(lines))


def _head(text: str) -> list[str]:
    return [line for line in text[:8192].splitlines() if line.strip()][:HEAD_LINES]


# A catalogue regex sees at most this many characters of a line: its first and last halves. A build step may print
# a minified bundle or a base64 blob of megabytes on one line, and a `.*` between two words of a pattern is
# quadratic in the line's length where the words repeat (minutes a line); a cause is stated near a line's start or
# end, and a match that needs more of a line than this says nothing.
LONG_LINE = 8192


class LinePattern:
    """A catalogue regex, searched for in one line at a time, and in at most LONG_LINE characters of it (hot loops
    that try several on one line bound it once and search with `compiled`)."""

    __slots__ = ("compiled", "pattern")

    def __init__(self, pattern: str):
        self.compiled = re.compile(pattern)
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"LinePattern({self.pattern!r})"

    def search(self, line: str) -> re.Match | None:
        return self.compiled.search(line if len(line) <= LONG_LINE else bounded(line))


def bounded(line: str) -> str:
    """A long line's first and last halves of LONG_LINE, on two lines (so no `.*` joins them)."""
    half = LONG_LINE // 2
    return f"{line[:half]}\n{line[-half:]}" if len(line) > LONG_LINE else line


@dataclass(frozen=True)
class LineRule:
    """A one-line regex and a literal every match contains, looked for first."""
    needle: str
    regex: "LinePattern"

    def hit(self, line: str) -> bool:
        return self.needle in line and self.regex.search(line) is not None


class Span(Protocol):
    """Where a search found something (an re.Match, or a literal found with str.find)."""
    def start(self) -> int: ...
    def end(self) -> int: ...


def lines_hit(text: str, search: Callable[[str, int], Span | None]) -> Iterator[tuple[int, int, int, str]]:
    """(line number, start, end, line) of each line of text on which `search` finds something, in order.

    Line numbers come from counting newlines between hits, so the lines between cost nothing but the search.
    """
    pos, counted_to, lineno, size = 0, 0, 1, len(text)
    while pos <= size and (m := search(text, pos)) is not None:
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = size if end < 0 else end
        lineno += text.count("\n", counted_to, start)
        counted_to = start
        yield lineno, start, end, text[start:end].rstrip("\r")
        pos = end + 1


def step_of(line: str) -> int | None:
    """The Cloud Build step a line belongs to, from its `Step #N` prefix (None without one)."""
    m = _STEP.match(line)
    return int(m.group(1)) if m else None


_BUILDKIT_STEP = re.compile(r'(?:^|\s)#(\d+) \d+(?:\.\d+)? ')   # BuildKit's plain progress: `#8 10.13 ...`


def steps_of(line: str) -> tuple[int | None, int | None]:
    """The Cloud Build step and the BuildKit step a line belongs to (None where it shows none): BuildKit
    interleaves the output of steps it runs in parallel."""
    m = _BUILDKIT_STEP.search(line)
    return step_of(line), int(m.group(1)) if m else None


def names_error(line: str) -> bool:
    """Whether a line names an error (the word itself, in any case), as the lead line looks for first."""
    return bool(ERROR_WORD.search(line))


def names_failure(line: str) -> bool:
    """Whether a line says that something failed (and is not a warning): in failure words, or as one of a Heroku
    buildpack's error lines (` !     stunnel not supported on heroku-24+`; the Go buildpack's ` !!    ` too, which it
    also stops on), which the cause of a verdict below them is read from (not a lead line of its own: the platforms
    print their own notices that way too)."""
    return (bool(FAILURE_WORD.search(line)) or bool(_HEROKU_ERROR.match(own_text(line)))) and not is_warning(line)


_HEROKU_ERROR = re.compile(r"^\s*!!?\s{2,}(?=\S)")


def own_text(line: str) -> str:
    """A line without what tools and pastes put before its own text (step prefixes, `[builder]`, git's `remote:`,
    line numbers, quote marks, BuildKit's `#12 7.813`, timestamps); the line as it is when there is none."""
    return _PREFIXES.sub("", line, count=1)


def indented_text(line: str) -> str:
    """A line's own text with the indentation it has under its prefixes (the one space that separates a prefix
    from the text is the prefix's): a Python traceback's frames stay indented under `Step #0: `."""
    m = _PREFIXES.match(line)
    if m is None or not m.group(0).strip():
        return line
    gap = m.group(0)
    return gap[len(gap.rstrip()) + 1:] + line[m.end():]


def is_warning(line: str) -> bool:
    """Whether a line's own text, indented or not, starts with a warning or a notice (npm's `WARN`, since npm 10
    `warn`, and `notice`, `WARNING:`, yarn's `info` and `warning` under a buildpack's indentation ...): not the
    cause."""
    return bool(_WARNING.match(own_text(line).lstrip()))


def first_line(text: str, rule: LineRule, lo: int = 0,
               also: Callable[[str], bool] | None = None) -> tuple[int, str] | None:
    """(start, line) of the first line of text from offset lo that meets the rule (and passes `also`); the lines
    holding the rule's needle are tried in order."""
    at = text.find(rule.needle, lo)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        line = line_at(text, start)
        if rule.regex.search(line) and (also is None or also(line)):
            return start, line
        end = text.find("\n", at)
        if end < 0:
            return None
        at = text.find(rule.needle, end)
    return None


def last_line(text: str, needle: str, test: Callable[[str], object], hi: int | None = None) -> tuple[int, str] | None:
    """(start, line) of the last line of text[:hi] holding `needle` that passes `test`, searching backwards."""
    hi = len(text) if hi is None else hi
    while (at := text.rfind(needle, 0, hi)) >= 0:
        start = text.rfind("\n", 0, at) + 1
        line = line_at(text, start)
        if test(line):
            return start, line
        hi = start
    return None


def lines_below(text: str, start: int, lineno: int, limit: int) -> Iterator[tuple[int, int, str]]:
    """(line number, start, line) of up to `limit` lines below the line `lineno` of `text` that starts at `start`."""
    pos = text.find("\n", start) + 1
    for n in range(lineno + 1, lineno + 1 + limit):
        if pos <= 0 or pos >= len(text):
            return
        yield n, pos, line_at(text, pos)
        pos = text.find("\n", pos) + 1


def lines_above(text: str, start: int, lineno: int, limit: int) -> Iterator[tuple[int, int, str]]:
    """(line number, start, line) of up to `limit` lines above the line `lineno` of `text` that starts at `start`,
    nearest first."""
    pos, n = start, lineno
    for _ in range(limit):
        if pos == 0:
            return
        end = pos - 1
        pos = text.rfind("\n", 0, end) + 1
        n -= 1
        yield n, pos, text[pos:end].rstrip("\r")


def line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start:len(text) if end < 0 else end].rstrip("\r")
