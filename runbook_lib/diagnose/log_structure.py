"""The shape of a build log beyond single lines: the section a line is in, the builder that produced the
log, the Cloud Build step that failed, and where a failure message starts (lead.py reads the line to read first).

classify_log matches one line at a time; these answers put a match in context. Each is computed only
when a match needs it, and none reads more of a huge log than it must (see LogShape).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterator

from .lines import (LineRule, first_line, is_warning, last_line, line_at, lines_above, lines_below, names_failure,
                    own_text, step_of)
from .markers import FINISHED, MarkerLines, SectionTracker
from .stack_traces import is_call_frame, is_js_frame, js_message

MAX_LOOK_BACK = 40            # lines searched above a summary line for the line that states the cause
MAX_CAUSE_BELOW = 10          # lines of a message read below a summary that ends with a colon
MAX_REPORT = 40               # lines of a tool's report searched below its opening for its telling line
BUILDER_WINDOW = 1_000_000    # characters of a huge log searched for builder markers, at each place

_STEP_FAILED = re.compile(r'build step (\d+) "[^"]*" failed')
_BARE_ERROR = re.compile(r"(?:^|\s)ERROR\s*$")     # Cloud Build's one-word verdict after a failed step
# Cloud Build's own lines around a step's output (after the step's prefix in a framed log), and all of its own
# lines that may come between a step's output and its verdict
STEP_EDGE = re.compile(r"(Starting|Finished) Step #(\d+)\b")
CLOUD_BUILD_OWN = re.compile(r"(?:(?:Starting|Finished) Step #\d+\b.*|ERROR|-+)$")
_RULE_CHARS = "-—=*"
# a line drawn across a message (own_text keeps no more than a dash); tried only where a run starts, so linear
_RULE = re.compile(f"(?<![{_RULE_CHARS}])[{_RULE_CHARS}]{{8,}}+\\s*+$")
# BuildKit's report of a failed step: its header (` > [builder 5/6] RUN go mod download:`), the step's last output, a
# closing `------`, then the Dockerfile's lines around it and the verdict
_BUILDKIT_STEP = re.compile(r"^\s*> \[[^\]]+\] .*:\s*$")
_BUILDKIT_CLOSE = "------"
_TIME_OF_DAY = re.compile(r"\d\d:\d\d:\d\d")


def _stamped(line: str) -> bool:
    """Whether a line's prefix (what own_text leaves out) holds a time of day."""
    return bool(_TIME_OF_DAY.search(line, 0, len(line) - len(own_text(line))))


@dataclass(frozen=True)
class Builder:
    """A builder recognised from the log itself, and the signature of its failures that nothing else explains."""
    name: str
    markers: tuple[LineRule, ...]
    fallback: str | None = None
    # its lines may be printed out of time order (a Heroku dyno's log prints the crash above the output that says
    # why): a summary with nothing above it is read at the first failure below it
    out_of_order: bool = False


class LogShape:
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

    def uninformative_line(self, line: str) -> bool:
        return any(rule.hit(line) for rule in self.uninformative)

    def cause_of(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) stating the cause of the failure summed up by the line starting at `start`:
        the first line naming a failure above it in the same output (cause_above), else, when the summary
        ends with a colon (`failed to build: (error ID: ...):`), the last line of the message below it (up
        to a blank line, a rule, or the end of its Cloud Build step)."""
        above = self.cause_above(start, lineno) or self.buildkit_step_words(start, lineno) or \
            self.js_message_above(start, lineno)
        if above is not None:
            return above
        if not line_at(self.text, start).endswith(":"):
            return self._failure_below(start, lineno)
        found, here_step = None, step_of(line_at(self.text, start))
        for n, pos, line in lines_below(self.text, start, lineno, MAX_CAUSE_BELOW):
            own = own_text(line).strip()
            if not own or set(own) <= set("-—=*") or step_of(line) != here_step:   # the message ends
                break
            found = (n, pos, line)
        return found

    def _states_failure(self, line: str) -> bool:
        """Whether a line names a failure (names_failure: no warning, indented or not, does) and is no boilerplate."""
        return names_failure(line) and not self.uninformative_line(line)

    def sums_up(self, line: str) -> bool:
        """Whether a line closes a failure message rather than states its cause (catalogue `summaries`)."""
        return any(rule.hit(line) for rule in self.summaries)

    def _failure_below(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) of the first line below the one starting at `start`, within MAX_CAUSE_BELOW
        lines, that names a failure and is neither boilerplate nor a summary, when it is the output of a builder
        whose lines may be out of time order (a running app's); None otherwise."""
        seen = 0   # (lines with text: a paste with a blank line after every line is read as far)
        for n, pos, line in lines_below(self.text, start, lineno, 2 * MAX_CAUSE_BELOW):
            if self._states_failure(line) and not self.sums_up(line):
                builder = self.builder(around=pos)
                return (n, pos, line) if builder is not None and builder.out_of_order else None
            # (a dyno's log may print a trace's frames above its exception line: they do not count)
            if line.strip() and not is_call_frame(line):
                seen += 1
            if seen >= MAX_CAUSE_BELOW:
                break
        return None

    def telling_line_below(self, start: int, lineno: int, telling: Callable[[str], bool], after: bool = False,
                           ends: Callable[[str], bool] | None = None) -> tuple[int, int, str] | None:
        """(line number, start, line) of the first line of the report below the one starting at `start`
        (_report_below) whose own text has text and meets `telling`, or with `after` of the report's next line with
        text of its own after that one, above a line that `ends` the report; None when there is none."""
        lines = self._report_below(start, lineno)
        for n, pos, line in lines:
            own = own_text(line).lstrip()
            if own and ends is not None and ends(own):
                return None
            # (npm's `npm ERR! code E404` header is not its telling line; a heading read past, `Error message`, may be)
            if own and telling(own) and (after or not self.uninformative_line(line)):
                # (past a line with no text of its own: a platform's timestamp printed on a line of its own)
                return next((found for found in lines if own_text(found[2]).strip()), (n, pos, line)) if after \
                    else (n, pos, line)
        return None

    def says_below(self, start: int, lineno: int, says: Callable[[str], bool], until: Callable[[str], bool]) -> bool:
        """Whether a line of the report below the one starting at `start` (_report_below), above a line that meets
        `until`, has own text that meets `says`."""
        for _, _, line in self._report_below(start, lineno):
            own = own_text(line).lstrip()
            if own and says(own):
                return True
            if own and until(own):
                return False
        return False

    def _report_below(self, start: int, lineno: int) -> Iterator[tuple[int, int, str]]:
        """(line number, start, line) of the lines below the one starting at `start` that may still belong to its
        report, in reading order: within MAX_REPORT lines and its Cloud Build step."""
        here_step = step_of(line_at(self.text, start))
        for n, pos, line in lines_below(self.text, start, lineno, MAX_REPORT):
            if step_of(line) != here_step:
                return
            yield n, pos, line

    def telling_line_above(self, start: int, lineno: int, telling: Callable[[str], bool],
                           opens: Callable[[str], bool]) -> tuple[int, int, str] | None:
        """(line number, start, line) of the first line, in reading order, whose own text meets `telling` in the
        output above the line starting at `start` (a report whose output was printed above it): up to a line that
        `opens` a report (the same report's first telling of it), an output start, another Cloud Build step or
        MAX_REPORT lines, whichever is nearest; None when there is none."""
        here_step, found = step_of(line_at(self.text, start)), None
        for n, pos, line in lines_above(self.text, start, lineno, MAX_REPORT):
            if step_of(line) != here_step or opens(line) or any(rule.hit(line) for rule in self.stops):
                break
            if (own := own_text(line).lstrip()) and telling(own) and not self.uninformative_line(line):
                found = (n, pos, line)
        return found

    def chain_end_below(self, start: int, lineno: int, chained: Callable[[str], bool]) -> tuple[int, int, str] | None:
        """(line number, start, line) of the last line of a chain of wrapped errors that the line starting at `start`
        opens: the lines of its report right below it (_report_below) whose own text meets `chained`, up to a blank
        line; None when the next line is none of the chain's."""
        last = None
        for n, pos, line in self._report_below(start, lineno):
            own = own_text(line).strip()
            if not own or not chained(own):
                break
            last = (n, pos, line)
        return last

    def cause_above(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) of the first line naming a failure in the output that ends at the line
        starting at `start`: searched upwards to the nearest output start, section marker, other step or
        MAX_LOOK_BACK lines. None when nothing above names a failure."""
        found: tuple[int, int, str] | None = None
        for n, pos, line in self._output_above(start, lineno):
            if self._states_failure(line):
                found = (n, pos, line)
        return found and self._first_of_repeats(found, start, lineno)

    def _output_above(self, start: int, lineno: int) -> Iterator[tuple[int, int, str]]:
        """(line number, start, line) of the lines above the one starting at `start` in the output that ends there,
        nearest first: up to the nearest output start, other Cloud Build step or MAX_LOOK_BACK lines (a line with no
        text of its own, blank or a bare timestamp, is in every step and starts no output)."""
        here_step = step_of(line_at(self.text, start))
        for n, pos, line in lines_above(self.text, start, lineno, MAX_LOOK_BACK):
            if own_text(line).strip() and (any(rule.hit(line) for rule in self.stops) or
                                           (here_step is not None and step_of(line) != here_step)):
                return
            yield n, pos, line

    def _first_of_repeats(self, found: tuple[int, int, str], start: int, lineno: int) -> tuple[int, int, str]:
        """The first time `found`'s own text was printed, within MAX_LOOK_BACK lines of the summary and its Cloud
        Build step, past the output starts cause_above stops at: the same error at each of a buildpack's steps
        (`python2: error while loading shared libraries: ...` under each of its headers) is one cause, read where
        it first appeared (LABELLING.md: not a retry of the same line)."""
        here_step, text = step_of(line_at(self.text, start)), own_text(found[2]).strip()
        first = found
        for n, pos, line in lines_above(self.text, start, lineno, MAX_LOOK_BACK):
            own = own_text(line).strip()
            if here_step is not None and own and step_of(line) != here_step:
                break
            if n < found[0] and own == text:
                first = (n, pos, line)
        return first

    def js_message_above(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) of the message of the thrown JavaScript error whose stack frames stand nearest
        above the line starting at `start`, in the output that ends there (cause_above's bounds): a message that names
        no error (Babel's `[BABEL] src/app.js: Requires Babel "^7.0.0-beta.41", but was loaded with ...`); None when
        no frames stand there or no message heads them (see stack_traces.js_message)."""
        for n, pos, line in self._output_above(start, lineno):
            if is_js_frame(line):
                message = js_message(self.text, pos, n)
                # (frames at the top of an output have no message in it: a line of the build above, another step's, or
                # one without the timestamp each of the frames was printed with, is none)
                if message is None or any(rule.hit(message[2]) for rule in self.stops + self.finished) or \
                        step_of(message[2]) != step_of(line) or _stamped(message[2]) != _stamped(line):
                    return None
                return message
        return None

    def buildkit_step_words(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) of the last output of the failed step in BuildKit's report above the verdict
        starting at `start` (`go: go.mod requires go >= 1.24.0 ...` below ` > [builder 5/6] RUN go mod download:`, where
        no word names a failure); None when no such report stands within MAX_LOOK_BACK lines."""
        closed, last = False, None
        for n, pos, line in lines_above(self.text, start, lineno, MAX_LOOK_BACK):
            own = own_text(line).strip()
            if _BUILDKIT_STEP.match(line):
                return last
            if line.strip() == _BUILDKIT_CLOSE:   # (own_text would read its dashes as a prefix)
                closed, last = True, None
            elif closed and last is None and own and not is_warning(line):
                last = (n, pos, line)
        return None

    def last_words_above(self, start: int, lineno: int) -> tuple[int, int, str] | None:
        """(line number, start, line) of the last words of the command whose verdict is the line starting at `start`
        (Next.js refusing the Node.js version in words of its own above docker's `The command ... returned a
        non-zero code`): the nearest line above with text of its own that is neither a warning or notice nor a
        bare verdict, within the bounds cause_above keeps to and below any rule or finished build; None if none."""
        here_step = step_of(line_at(self.text, start))
        for n, pos, line in lines_above(self.text, start, lineno, MAX_LOOK_BACK):
            own = own_text(line).strip()
            if (_RULE.search(line) and set(own) <= set(_RULE_CHARS)) or \
                    any(rule.hit(line) for rule in self.stops + self.finished):
                return None   # a rule (the end of another message), an output start, a build that finished
            if not own or is_warning(line) or self.uninformative_line(line):
                continue
            if here_step is not None and step_of(line) != here_step:
                return None
            return n, pos, line
        return None
