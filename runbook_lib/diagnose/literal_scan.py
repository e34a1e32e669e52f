"""Finding literals in a log with one RE2 pass: the needles of the catalogue's patterns, of its platforms' markers,
and of the builders' markers and finished lines. A needle is a literal every match of a line rule contains, so
only the lines a scan finds meet the rules' real regexes.

RE2 (google-re2) runs an alternation of literals as a DFA: one pass whose speed does not depend on how many
needles there are or which characters they start with (the `re` engine stops at every position whose character
starts a needle, which for hundreds of needles is most positions).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterator, NamedTuple

import re2

# The scan reads a log in chunks of about this many characters, cut at line ends: a chunk's UTF-8 copy is all the
# text it holds at once.
CHUNK_CHARS = 1 << 18


class Hit(NamedTuple):
    """Where a literal was found (a Span, as an re.Match is)."""
    at: int
    to: int

    def start(self) -> int:
        return self.at

    def end(self) -> int:
        return self.to


class Literals:
    """A set of needles: `scan`, one RE2 alternation of them for `hits` to run over a log, and `on`, which of them a
    line holds (all of them, where the scan, taking one match at a time, would pass over a needle that overlaps
    another)."""

    def __init__(self, needles: tuple[str, ...]):
        options = re2.Options()
        options.never_capture = True
        options.max_mem = 64 << 20   # the DFA's cache: enough for the catalogue's ~450 needles
        self.needles = needles
        # the longest first, where one holds another (RE2, like `re`, takes the first branch that matches)
        self.scan = re2.compile("|".join(re.escape(n) for n in sorted(needles, key=lambda n: (-len(n), n))), options)
        self._set = re2.Set.SearchSet(options)
        for n in needles:
            self._set.Add(re.escape(n))
        self._set.Compile()

    def on(self, line: str) -> list[str]:
        """The needles `line` holds: one RE2 pass over it, however many needles there are (a lone surrogate, text
        decoded with `surrogateescape`, passed through as `hits` passes it, not refused by the UTF-8 encoder)."""
        return [self.needles[i] for i in self._set.Match(line.encode("utf-8", "surrogatepass")) or ()]


@lru_cache(maxsize=32)   # logs of many kinds choose other needles: keep the cache small
def _compiled(needles: tuple[str, ...]) -> Literals:
    return Literals(needles)


def literals(needles) -> Literals:
    """The needles' Literals, compiled once per set of them."""
    return _compiled(tuple(sorted(set(needles))))


def hits(regex: re2._Regexp, text: str, lo: int = 0, hi: int | None = None) -> Iterator[Hit]:
    """Every match of regex in text[lo:hi] (lo: a line's start), at character offsets. RE2 reads UTF-8, so a chunk
    that is not ASCII has its byte offsets turned into character offsets by decoding what lies between one match
    and the next."""
    size, at = len(text) if hi is None else hi, lo
    while at < size:
        cut = text.find("\n", min(at + CHUNK_CHARS, size), size)
        end = size if cut < 0 else cut + 1
        chunk = text[at:end].encode("utf-8", "surrogatepass")
        if len(chunk) == end - at:
            for m in regex.finditer(chunk):
                yield Hit(at + m.start(), at + m.end())
        else:
            byte, char = 0, at
            for m in regex.finditer(chunk):
                char += len(chunk[byte:m.start()].decode("utf-8", "surrogatepass"))
                byte = m.start()
                yield Hit(char, char + len(chunk[byte:m.end()].decode("utf-8", "surrogatepass")))
        at = end


class FirstHit:
    """search(text, pos) for lines.lines_hit: the first hit at or after pos of one scan of text[lo:hi] with an RE2
    regex (a Literals' `scan`, a LineSearch's), read once, as lines_hit asks for increasing pos."""

    def __init__(self, scan: re2._Regexp, text: str, lo: int = 0, hi: int | None = None):
        self._hits = hits(scan, text, lo, hi)
        self._next: Hit | None = Hit(-1, -1)

    def __call__(self, text: str, pos: int) -> Hit | None:
        hit = self._next
        while hit is not None and hit.at < pos:
            hit = next(self._hits, None)
        self._next = hit
        return hit


class LineSearch:
    """A line regex's search for lines.lines_hit, line by line, fast on a long text: RE2 runs the regex with its
    lookarounds taken out (which matches on every line the regex does, and on more), and only the lines it hits
    meet the regex itself, each alone. Python's `re` tries a regex that starts with a lookbehind at every position
    of the text, hundreds of times slower than RE2's DFA over it (the lead line's failure words: 0.1 s for 66 KB)."""

    def __init__(self, regex: re.Pattern):
        options = re2.Options()
        options.never_capture = True
        options.never_nl = True   # a match on one line, as the regex's own on the line alone
        options.case_sensitive = not regex.flags & re.IGNORECASE
        self.regex = regex
        self.scan = re2.compile(without_lookarounds(regex.pattern), options)

    def over(self, text: str) -> Callable[[str, int], Hit | None]:
        """search(text, pos), pos a line's start, for lines_hit: where on the first line at or after pos the regex
        matches that line alone (the line without its `\\r`, as lines_hit gives it)."""
        first = FirstHit(self.scan, text)

        def search(text: str, pos: int) -> Hit | None:
            while (hit := first(text, pos)) is not None:
                start = text.rfind("\n", 0, hit.at) + 1
                end = text.find("\n", hit.at)
                end = len(text) if end < 0 else end
                m = self.regex.search(text[start:end].rstrip("\r"))
                if m is not None:
                    return Hit(start + m.start(), start + m.end())
                pos = end + 1
            return None
        return search


def without_lookarounds(pattern: str) -> str:
    """`pattern` without its lookahead and lookbehind groups (RE2 has none): a regex that matches wherever the
    pattern does, as a lookaround only ever rules a match out."""
    out, at = [], 0
    while at < len(pattern):
        if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), at):
            at = _group_end(pattern, at)
            continue
        step = _token_end(pattern, at)
        out.append(pattern[at:step])
        at = step
    return "".join(out)


def _token_end(pattern: str, at: int) -> int:
    """The end of the token at `at`: an escape, a character class (whose brackets and parentheses are its
    characters), or one character."""
    if pattern[at] == "\\":
        return at + 2
    if pattern[at] != "[":
        return at + 1
    at += 1
    at += pattern.startswith("^", at)
    at += pattern.startswith("]", at)   # a `]` first in a class is one of its characters
    while pattern[at] != "]":
        at += 2 if pattern[at] == "\\" else 1
    return at + 1


def _group_end(pattern: str, at: int) -> int:
    """The end of the group opening at `at` (past its closing parenthesis)."""
    depth = 0
    while True:
        if pattern[at] == "(":
            depth += 1
        elif pattern[at] == ")":
            depth -= 1
            if depth == 0:
                return at + 1
        at = _token_end(pattern, at)
