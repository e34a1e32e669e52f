"""Reading a failure message around one line of a log: the line above a summary that states its cause, the telling
line of a tool's report below its opening, the end of a chain of wrapped errors, a thrown error's message above its
frames, BuildKit's failed step's last output, and a command's last words above its verdict.

Each read keeps to the output the line is in: up to an output start (catalogue `stops`), another Cloud Build step,
a finished build or a set number of lines, so a long log costs no more than the lines near the one asked about.
LogShape (log_structure.py) takes these as a mixin; it supplies the log and the catalogue's line rules.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterator

from .lines import LineRule, is_warning, line_at, lines_above, lines_below, names_failure, own_text, step_of
from .stack_traces import is_call_frame, is_js_frame, js_message

if TYPE_CHECKING:
    from .log_structure import Builder

MAX_LOOK_BACK = 40            # lines searched above a summary line for the line that states the cause
MAX_CAUSE_BELOW = 10          # lines of a message read below a summary that ends with a colon
MAX_REPORT = 40               # lines of a tool's report searched below its opening for its telling line

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


class MessageReading:
    """The reads around a line that LogShape offers; the catalogue's line rules come from LogShape."""
    text: str
    uninformative: tuple[LineRule, ...]   # boilerplate lines that state no cause
    stops: tuple[LineRule, ...]           # lines where a failure's output starts (look-back stops there)
    finished: tuple[LineRule, ...]        # lines that say a build finished
    summaries: tuple[LineRule, ...]       # lines that close a failure message rather than state its cause

    def builder(self, around: int | None = None) -> Builder | None:
        raise NotImplementedError   # LogShape's

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
