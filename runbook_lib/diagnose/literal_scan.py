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
from typing import Iterator, NamedTuple

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
        """The needles `line` holds: one RE2 pass over it, however many needles there are."""
        return [self.needles[i] for i in self._set.Match(line)]


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
    """search(text, pos) for lines.lines_hit: the first hit at or after pos of one scan of text[lo:hi], read once,
    as lines_hit asks for increasing pos."""

    def __init__(self, found: Literals, text: str, lo: int = 0, hi: int | None = None):
        self._hits = hits(found.scan, text, lo, hi)
        self._next: Hit | None = Hit(-1, -1)

    def __call__(self, text: str, pos: int) -> Hit | None:
        hit = self._next
        while hit is not None and hit.at < pos:
            hit = next(self._hits, None)
        self._next = hit
        return hit
