"""The shape of a build log beyond single lines: the section a line is in, the builder that produced the
log, the Cloud Build step that failed, and (message_reading.py, taken in as a mixin) where a failure message starts
and which of its lines tells (lead.py reads the line to read first).

classify_log matches one line at a time; these answers put a match in context. Each is computed only
when a match needs it, and none reads more of a huge log than it must (see LogShape).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from .lines import LineRule, first_line, last_line, line_at, own_text, step_of
from .markers import FINISHED, MarkerLines, SectionTracker
from .message_reading import MessageReading

BUILDER_WINDOW = 1_000_000    # characters of a huge log searched for builder markers, at each place

_STEP_FAILED = re.compile(r'build step (\d+) "[^"]*" failed')
_BARE_ERROR = re.compile(r"(?:^|\s)ERROR\s*$")     # Cloud Build's one-word verdict after a failed step
# Cloud Build's own lines around a step's output (after the step's prefix in a framed log), and all of its own
# lines that may come between a step's output and its verdict
STEP_EDGE = re.compile(r"(Starting|Finished) Step #(\d+)\b")
CLOUD_BUILD_OWN = re.compile(r"(?:(?:Starting|Finished) Step #\d+\b.*|ERROR|-+)$")


@dataclass(frozen=True)
class Builder:
    """A builder recognised from the log itself, and the signature of its failures that nothing else explains."""
    name: str
    markers: tuple[LineRule, ...]
    fallback: str | None = None
    # its lines may be printed out of time order (a Heroku dyno's log prints the crash above the output that says
    # why): a summary with nothing above it is read at the first failure below it
    out_of_order: bool = False


class LogShape(MessageReading):
    """Lazily computed facts about one log that single-line matches need: its builder, its failed step and
    the cause above a summary line."""

    def __init__(self, text: str, builders: tuple[Builder, ...] = (), uninformative: tuple[LineRule, ...] = (),
                 stops: tuple[LineRule, ...] = (), markers: list[tuple[str | None, LineRule]] | None = None,
                 finished: tuple[LineRule, ...] = (), summaries: tuple[LineRule, ...] = (),
                 handed_over: tuple[LineRule, ...] = ()):
        self.text = text
        self.builders = builders
        self.uninformative = uninformative
        self.stops = stops            # lines where a failure's output starts (look-back stops there)
        self.markers = markers or []  # (section, marker) as SectionTracker takes them
        self.finished = finished      # lines that say a build finished (no builder's output goes on below)
        self.summaries = summaries    # lines that close a failure message rather than state its cause
        # ... and with the lines where a build's output ends without saying it succeeded, where any build's output ends
        self.output_ends = finished + handed_over
        self._builder: list[Builder | None] = []         # the log's builder, once looked for
        # (from, to, builder, step) of the lines last asked about: a framed line's answer holds for its step's lines
        self._near: tuple[int, int, Builder, int | None] | None = None
        # what the last scans for a line's builder found: (step, scanned to, the nearest finished line, plain
        # Cloud Build's nearest marker line) upwards, by kind and step (from, the first marker line, scanned to)
        # downwards
        self._up: tuple[int | None, int, int | None, int | None] | None = None
        self._below: dict[tuple, tuple[int, tuple[int, int] | None, int]] = {}

    def builder(self, around: int | None = None) -> Builder | None:
        """The builder that produced the log, or with `around` (an offset) the output the line there is in.

        The log's builder is the first in catalogue order with a marker in it. Around a line, it is the builder
        with a marker line nearest above it, else nearest below it (on one line, the first listed), within
        BUILDER_WINDOW characters and, for a line framed by a Cloud Build step, in the same step: a whole build
        log runs several tools in turn (a pack build, then a gsutil copy, then gcloud), and a line is the output
        of the one that ran last above it, unless a line between says that build finished (see _near_builder).
        The builder listed last (plain Cloud Build, whose step framing every other builder's lines carry)
        counts only when no other builder's marker is near. With no marker near, the log's builder. A huge log
        is searched in three windows (its start, its end, and around offset `around`), so the answer costs a
        few megabytes of str.find, not the log.
        """
        if around is not None and self.builders:
            decided, near = self._near_builder(around)
            if decided:
                return near
        if not self._builder:
            text, at = self.text, around or 0
            if len(text) > 3 * BUILDER_WINDOW:
                half = BUILDER_WINDOW // 2
                text = "\n".join((text[:BUILDER_WINDOW], text[max(0, at - half):at + half], text[-BUILDER_WINDOW:]))
            self._builder.append(next((b for b in self.builders if any(first_line(text, m) for m in b.markers)), None))
        return self._builder[0]

    def build_builder(self, around: int) -> Builder | None:
        """The builder of the build the line at offset `around` is in, whose failures nothing else explains
        (the builder's fallback names them): the first in catalogue order with a marker below the last line
        above it that says a build finished or handed over to the platform (catalogue `finished`, `handed_over`),
        or in the whole log when none does. (A
        build's own lines around the failure may be another builder's, as App Engine quoting its buildpacks
        build's failure above the buildpacks' output.)"""
        start = self.text.rfind("\n", 0, around) + 1
        begin = max((found[0] for rule in self.output_ends
                     if (found := last_line(self.text, rule.needle, rule.regex.search, hi=start)) is not None),
                    default=None)
        if begin is None:
            return self.builder()
        begin = self.text.find("\n", begin) + 1 or len(self.text)
        if len(self.text) - begin > 3 * BUILDER_WINDOW:
            return self.builder(around)
        return next((b for b in self.builders if any(first_line(self.text, m, begin) for m in b.markers)), None)

    def finished_below(self, around: int) -> bool:
        """Whether a line below the one at offset `around` says a build finished (catalogue `finished`): then that
        line's failure did not fail the build (a buildpack script's error in a deploy that went on to succeed)."""
        below = self.text.find("\n", around) + 1
        return below > 0 and any(first_line(self.text, rule, below) is not None
                                 for rule in self.finished)

    def _near_builder(self, around: int) -> tuple[bool, Builder | None]:
        """(whether markers near decide it, the builder) of the line at offset `around` (see builder). A builder's
        marker above a line that says a build finished (catalogue `finished`) does not make the lines below it
        its output: then no builder (a gcloud error after a pack build's `Successfully built image` is none of
        the buildpacks'). The log is scanned outwards from the line, a stretch at a time and only as far as
        the nearest marker lines (MarkerLines), and what a scan found is kept for the lines below it, so that
        a run of matches down a huge log costs about one pass over it."""
        text = self.text
        start = text.rfind("\n", 0, around) + 1
        # a framed line is the output of a builder that ran in its own Cloud Build step
        step = step_of(line_at(text, start))
        cached = self._near
        if cached is not None and cached[0] <= around < cached[1] and around - cached[0] <= BUILDER_WINDOW \
                and cached[3] == step:
            return True, cached[2]
        end = text.find("\n", around)
        end = len(text) if end < 0 else end
        lo, hi = max(0, start - BUILDER_WINDOW), min(len(text), end + BUILDER_WINDOW)
        framing = len(self.builders) - 1   # plain Cloud Build, listed last: counts when no other builder is near

        def listed(owners: frozenset[int], line_step: int | None) -> int | None:
            """The first listed builder with a marker on a line of the same step (an unframed line's builder is
            never a framed step's: that step's every line carries its prefix, so a line without one is not its
            tool's output)."""
            builders = [o for o in owners if o >= 0]
            return min(builders) if builders and line_step == step else None

        def specific(owners: frozenset[int], line_step: int | None) -> bool:
            return listed(owners, line_step) not in (None, framing)

        # upwards to the nearest marker line of a builder but plain Cloud Build, unless a line says a build
        # finished first, noting plain Cloud Build's nearest on the way; resumed where the scan for a line above
        # (of the same step) found neither
        floor, finished, framed = lo, None, None
        if (up := self._up) is not None and up[0] == step and up[1] <= end and start - up[1] <= BUILDER_WINDOW:
            floor, finished, framed = up[1], up[2], up[3]
        chunk, top, stop = 1024, end, False
        new_framed = None
        while top > floor and not stop:
            bottom = max(floor, text.rfind("\n", 0, max(floor, top - chunk)) + 1)
            for line_start, owners, line_step in reversed(self._marker_lines.found(bottom, top)):
                if step is None and self._step_finished(line_start, start) is not None:
                    continue   # a Cloud Build step finished above an unframed line: its tools' output ended there
                if specific(owners, line_step):
                    mine = listed(owners, line_step)
                    # the answer holds down to another builder's marker or a finished build (a marker of the
                    # same builder below changes nothing: a log whose every line carries `[builder]` is one output)
                    after = self._next_marker(end, hi, lambda o, st: (specific(o, st) and listed(o, st) != mine)
                                              or FINISHED in o)
                    until = hi if after is None else after[0]
                    if step is None and (ended := self._step_finished(end, until)) is not None:
                        until = ended
                    self._near = (line_start, until, self.builders[mine], step)  # type: ignore[index]
                    return True, self.builders[mine]   # type: ignore[index]
                if FINISHED in owners and line_start < start:
                    finished, framed, stop = line_start, new_framed, True
                    break
                if new_framed is None and listed(owners, line_step) == framing:
                    new_framed = line_start
            top, chunk = bottom, chunk * 2
        if not stop and new_framed is not None:
            framed = new_framed
        self._up = (step, end, finished, framed)
        finished = finished if finished is not None and finished >= lo else None
        framed = framed if framed is not None and framed >= lo else None
        # downwards to the nearest (a marker below still tells)
        below = self._first_below(("builder", step), start, hi, specific)
        if below is not None:
            return True, self.builders[below[1]]
        if framed is not None or self._first_below(("framing", step), start, hi,
                                                   lambda o, st: listed(o, st) == framing) is not None:
            return True, self.builders[framing]
        return finished is not None, None

    def _first_below(self, key: tuple, start: int, hi: int,
                     wanted: Callable[[frozenset[int], int | None], bool]) -> tuple[int, int] | None:
        """_next_marker from the line starting at `start` to `hi`, resuming the last search under `key` (made
        from a line above): its answer while still below the line, else past what it scanned."""
        last = self._below.get(key)
        if last is not None and last[0] <= start:
            found, scanned_to = last[1], last[2]
            if found is not None and found[0] >= start:
                return found
            if found is None:
                if scanned_to >= hi:
                    return None
                found = self._next_marker(max(start, self.text.rfind("\n", 0, scanned_to) + 1), hi, wanted)
                self._below[key] = (last[0], found, hi)
                return found
        found = self._next_marker(start, hi, wanted)
        self._below[key] = (start, found, hi)
        return found

    def _next_marker(self, begin: int, hi: int, wanted: Callable[[frozenset[int], int | None], bool]
                     ) -> tuple[int, int] | None:
        """(line start, first listed owner) of the first marker line from `begin` to `hi` that is `wanted`
        (owners, step); None when there is none. Scanned a stretch at a time."""
        text, chunk, bottom = self.text, 1024, begin
        while bottom < hi:
            top = text.find("\n", min(hi, bottom + chunk))
            top = len(text) if top < 0 else top
            for line_start, owners, line_step in self._marker_lines.found(bottom, top):
                if wanted(owners, line_step):
                    return line_start, min(o for o in owners if o >= 0) if any(o >= 0 for o in owners) else -1
            bottom, chunk = top + 1, chunk * 2
        return None

    @cached_property
    def _marker_lines(self) -> MarkerLines:
        rules = [(i, m) for i, b in enumerate(self.builders) for m in b.markers]
        return MarkerLines(self.text, rules + [(FINISHED, rule) for rule in self.output_ends])

    @property
    def failing_step(self) -> int | None:
        """The Cloud Build step that failed: the one the verdict names (`ERROR: build step N "..." failed`),
        else the one that finished right above the bare `ERROR` line a failed step is followed by
        (`Finished Step #N`); None when the log shows neither."""
        return self._verdict[0] if self._verdict else None

    @property
    def verdict_start(self) -> int | None:
        """The start of the verdict line that names the failed step (the one failing_step reads); None when there is none."""
        return self._verdict[1] if self._verdict else None

    @cached_property
    def _verdict(self) -> tuple[int, int] | None:
        """(the failed step, the start of the verdict line that says so), as failing_step tells them."""
        # verdicts come at the end of a build: search backwards, a literal at a time
        named = last_line(self.text, "build step ", _STEP_FAILED.search)
        if named is not None:
            return int(_STEP_FAILED.search(named[1]).group(1)), named[0]  # type: ignore[union-attr]
        bare = last_line(self.text, "ERROR", _BARE_ERROR.search)
        if bare is None or not bare[0]:
            return None
        # a step mentioned further up, above other output, is not the one that just failed
        above = last_line(self.text, "\n", lambda line: bool(line.strip()), hi=bare[0])
        edge = STEP_EDGE.match(own_text(above[1]).lstrip()) if above else None
        return (int(edge.group(2)), bare[0]) if edge and edge.group(1) == "Finished" else None

    def in_succeeded_step(self, start: int) -> bool:
        """Whether the line starting at `start` lies in a Cloud Build step that succeeded: between its
        `Starting Step #N` and `Finished Step #N` lines, when another step starts after it finished (Cloud
        Build starts no step after one fails). Tells a console copy's lines apart, which carry no step prefix:
        a `docker pull ... || exit 0` step's `Error response from daemon` is no failure of the build."""
        spans = self._succeeded_steps
        at = bisect_right(spans, (start, len(self.text) + 1)) - 1
        return at >= 0 and spans[at][0] <= start < spans[at][1]

    @cached_property
    def _step_edges(self) -> list[tuple[int, str, int, int]]:
        """(line start, Starting|Finished, step, line end) of each of Cloud Build's step lines, in order."""
        edges = []
        for needle in ("Starting Step #", "Finished Step #"):
            at = self.text.find(needle)
            while at >= 0:
                start = self.text.rfind("\n", 0, at) + 1
                line = line_at(self.text, start)
                if m := STEP_EDGE.match(own_text(line).lstrip()):
                    edges.append((start, m.group(1), int(m.group(2)), start + len(line)))
                at = self.text.find(needle, start + len(line))
        return sorted(edges)

    @cached_property
    def _finished_step_starts(self) -> list[int]:
        return [start for start, kind, _, _ in self._step_edges if kind == "Finished"]

    def _step_finished(self, lo: int, hi: int) -> int | None:
        """The start of the first of Cloud Build's `Finished Step #N` lines from offset `lo` to `hi`, None if none."""
        starts = self._finished_step_starts
        at = bisect_left(starts, lo)
        return starts[at] if at < len(starts) and starts[at] < hi else None

    @cached_property
    def _succeeded_steps(self) -> list[tuple[int, int]]:
        """(start, end) offsets of the output of each Cloud Build step that succeeded, in order."""
        edges = self._step_edges
        last_start = max((e[0] for e in edges if e[1] == "Starting"), default=-1)
        spans, opened = [], {}
        for start, kind, step, end in edges:
            if kind == "Starting":
                opened[step] = start
            elif step in opened and start < last_start:   # another step started after this one finished
                spans.append((opened.pop(step), end))
        return sorted(spans)

    def section_at(self, end: int) -> str | None:
        """The section of the log line ending at offset `end` (None above every section marker)."""
        tracker = SectionTracker(self.markers, self.text)
        tracker.allows(frozenset(), end, end)
        return tracker.section
