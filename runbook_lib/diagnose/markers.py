"""Finding marker lines in a log without reading it line by line: the section a line is in (SectionTracker), and
the lines of a stretch that meet any of several rules, found with one scan for all their literals (MarkerLines)."""
from __future__ import annotations

import re
from functools import lru_cache

from .lines import LONG_LINE, LineRule, bounded, line_at, step_of


class SectionTracker:
    """The section a log line is in: that of the nearest marker line at or above it (None above all).

    Asked about lines in increasing order, it searches each stretch of the log once, backwards from the
    line asked about with str.rfind of each marker's literal: nothing when no hit needs a section, one
    pass over the log per marker at worst, and in practice one pass (see _advance).
    """

    def __init__(self, markers: list[tuple[str | None, LineRule]], text: str):
        self.markers = markers        # (section, marker) in file order: on one line the first listed wins
        self.text = text
        self.searched_to = 0          # text[:searched_to] has been searched for markers
        self.section: str | None = None
        self.last = 0                 # index of the marker that decided the section last

    def allows(self, sections: frozenset[str], start: int, end: int) -> bool:
        """Whether the line text[start:end] is in one of `sections` or in no known section."""
        if end > self.searched_to:
            self._advance(end)
        return self.section is None or self.section in sections

    def _advance(self, end: int) -> None:
        """Find the marker line nearest above `end` in the stretch not searched yet: the last line any
        marker matches (on one line, the marker listed first). The marker that won last time is looked
        for first: it is usually the one on nearly every line (a Cloud Build step's prefix), and once it
        is found near `end` the others only search the few lines below it."""
        text, floor = self.text, self.searched_to
        best: tuple[int, int] | None = None   # (line start, marker index) of the nearest marker line so far
        for i in sorted(range(len(self.markers)), key=lambda i: i != self.last):
            marker = self.markers[i][1]
            lo, hi = (floor if best is None else best[0]), end
            while (at := text.rfind(marker.needle, lo, hi)) >= 0:
                line_start = text.rfind("\n", 0, at) + 1
                line_end = text.find("\n", at)
                line_end = len(text) if line_end < 0 else line_end
                if marker.regex.search(text[line_start:line_end].rstrip("\r")):
                    if best is None or line_start > best[0] or i < best[1]:
                        best = (line_start, i)
                    break
                hi = line_start
        if best is not None:
            self.last, self.section = best[1], self.markers[best[1]][0]
        self.searched_to = end


FINISHED = -1   # the owner, in MarkerLines, of a line that says a build finished
Owned = tuple[int, LineRule]   # a rule and its owner (a builder's index, or FINISHED)


@lru_cache(maxsize=8)
def _scanner(rules: tuple[tuple[int, LineRule], ...]) -> tuple[re.Pattern | None, dict[str, list[Owned]]]:
    """One scan for the literals of `rules`, and for each literal the rules to try on a line where the scan found it
    (made once per catalogue, not per log)."""
    by_needle: dict[str, list[Owned]] = {}
    for owner, rule in rules:
        by_needle.setdefault(rule.needle, []).append((owner, rule))
    needles = sorted(by_needle, key=lambda n: (-len(n), n))   # the longest first, where one holds another
    # `re`, not the RE2 scan of literal_scan: marker lines come close together (a pack build's every line
    # carries `[builder]`), and per match the RE2 binding costs several times what `re` does
    scan = re.compile("|".join(re.escape(n) for n in needles)) if needles else None
    # the rules of every literal a found one can hide: one it holds (the scan finds `Failure: (ID: ` where `ID: ` is
    # another rule's) or one that starts inside it (the scan, having found `-----> `, goes on past it, so never finds
    # the `> Compressing...` of the same line); it goes on to the literals after it
    tried = {n: [r for other in needles if _hides(n, other) for r in by_needle[other]] for n in needles}
    return scan, tried


def _hides(found: str, other: str) -> bool:
    """Whether a match of the literal `found` can hide one of `other`: `other` inside it, or starting inside it."""
    return other in found or any(found.endswith(other[:k]) for k in range(1, min(len(found), len(other))))


class MarkerLines:
    """The lines of a stretch of a text that meet some rules (builders' markers, finished lines), each with the
    owners of the rules it meets and its Cloud Build step: one scan for all the rules' literals."""

    def __init__(self, text: str, rules: list[tuple[int, LineRule]]):
        self.text = text
        self.scan, self.tried = _scanner(tuple(rules))

    def found(self, lo: int, hi: int) -> list[tuple[int, frozenset[int], int | None]]:
        """(line start, owners, step) of each line starting in text[lo:hi] that meets a rule (lo: a line's start)."""
        found: list[tuple[int, frozenset[int], int | None]] = []
        if self.scan is None or lo >= hi:
            return found
        text, line_start, line, bounded_line = self.text, -1, "", ""
        met: set[int] = set()
        # the literals whose rules were tried on this line (once a line: a long line of `next step next step ...`
        # holds docker's `tep ` in every word)
        seen: set[str] = set()
        for m in self.scan.finditer(text, lo, hi):
            start = text.rfind("\n", 0, m.start()) + 1
            if start != line_start:
                if met:
                    found.append((line_start, frozenset(met), step_of(line)))
                line_start, line, met, seen = start, line_at(text, start), set(), set()
                bounded_line = line if len(line) <= LONG_LINE else bounded(line)
            needle = m.group()
            if needle in seen:
                continue
            seen.add(needle)
            met.update(owner for owner, rule in self.tried[needle] if rule.regex.compiled.search(bounded_line))
        if met:
            found.append((line_start, frozenset(met), step_of(line)))
        return found
