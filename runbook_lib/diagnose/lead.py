"""The line to read first in a log no signature explains (its lead line), and the log's last words when no line
names an error or a failure.

Both search only the end of a huge log (LEAD_WINDOW characters), where a build fails, so that no answer costs a
pass over all of it; what they know of the log's shape (its failed step, its verdicts, its uninformative lines)
they ask LogShape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

from .failure_words import CARRIED_ON, FELL_BACK, INSTALLS_IT, NOT_FOUND, RETRYING, SAID_IGNORABLE
from .lines import (ERROR_WORD, FAILURE_WORD, is_warning, line_at, lines_above, lines_below, lines_hit, own_text,
                    step_of)
from .literal_scan import LineSearch
from .log_structure import CLOUD_BUILD_OWN, STEP_EDGE, LogShape
from .message_reading import MAX_LOOK_BACK
from .stack_traces import is_call_frame, is_trace_more

LEAD_WINDOW = 2_000_000       # characters at the end of a huge log searched for the lead line
MAX_VERDICT_ABOVE = 3         # lines a command's verdict may stand above the bare verdicts that lead
MIN_REPEATED = 24             # characters of a message that make it the same message when a tool says it again
MIN_WORDS = 4                 # words of what follows a verdict's context that make it a message of its own
# `Error: `, `ERROR: `, `FirebaseError: ` before a message, and GitHub Actions' `##[error]` and `::error::` (an action's
# failure, which repeats the message its code printed above: `ReferenceError: Cannot access 'latest' before
# initialization`)
_ERROR_TAG = re.compile(r"^(?:##\[error\]|::error(?: [^:\n]*)?::|\w*(?:[Ee]rror|ERROR)\b:?\s*)+")
# an error code a tool appends to the message it repeats (`... deleted status. (ITEM_NOT_UPDATABLE)`), which the
# message's first statement (a JSON error's `error_detail`) does not carry
_TRAILING_CODE = re.compile(r"\s*\([A-Z][A-Z0-9_]{2,}\)$")
_PROGRESS_DONE = re.compile(r"\.\.\.done\.?$")   # gcloud's progress line for a stage that succeeded
MAX_RETRY_BELOW = 2           # lines below a failure that may announce its retry
MAX_BOX = 60                  # lines of a Terraform diagnostic box looked up through for its opening
MAX_CAUSE_CHAIN = 40          # lines below a failure read for the causes it wraps (`Caused by: ...`)
_CAUSED_BY = re.compile(r"Caused by: \S")
# Rust's anyhow chain: `Caused by:` alone on its line, then the causes numbered outermost first (`    0: Failed to
# publish @scope/pkg`, `    1: The actor ... is not authorized as a scope member for this scope.`)
_CAUSES_HEADING, _NUMBERED_CAUSE = re.compile(r"Caused by:$"), re.compile(r"\d+: \S")
# R's rlang chain: `Error in `map()`:`, its message's bullets (`! ...`, `ℹ In index: 2.`), then each cause it wraps
# under `Caused by error in `render_rmarkdown()`:` or `Caused by error:`, its message on the `! ...` line below
_RLANG_CAUSED_BY, _RLANG_BULLET = re.compile(r"Caused by error(?: in .+)?:$"), re.compile(r"[!ℹ✖•*] \S")
MAX_IGNORED = 2               # lines below a tool's word that its errors do not matter (SAID_IGNORABLE) that it covers
_ERROR, _FAILURE = LineSearch(ERROR_WORD), LineSearch(FAILURE_WORD)

Found = tuple[int, int, str]   # (line number, start, line)


@dataclass(frozen=True)
class _Window:
    """The end of a log that the lead line is searched in: its text, its offset in the log, the lines above it."""
    text: str
    offset: int
    lines_before: int

    @classmethod
    def of(cls, log: str) -> _Window:
        start = max(0, len(log) - LEAD_WINDOW)
        start = log.find("\n", start - 1) + 1 if start else 0
        return cls(log[start:], start, log.count("\n", 0, start))

    @cached_property
    def step_definitions(self) -> list[tuple[int, int]]:
        """(start, end) offsets in `text` of GitHub Actions' echo of each step it runs (_step_headers), found once for
        every search of the window."""
        return _step_headers(self.text)


class Lead:
    """What to read in a log that no signature explains, one per classification (the end of the log both answers
    search is cut from it once)."""

    def __init__(self, shape: LogShape):
        self.shape = shape

    @cached_property
    def _window(self) -> _Window:
        return _Window.of(self.shape.text)

    def line(self) -> Found:
        """(line number, start, line) to read first when no signature explains the log, (0, 0, "") when none.

        In the failed step, when the log says which: its first line naming an error, else its first
        naming a failure in other words (`errors`, `failed`, `could not` ...), else its last line of output
        (a failed step's last words are usually why). Otherwise the same two searches over the whole log.
        Lines the catalogue calls uninformative (a step's or a build's bare verdict) are passed over
        unless nothing else names an error: then the first of those, or the command's own verdict just above
        it (and that command's last words). A message a tool repeats at the end is read where it first said it.
        """
        shape, window = self.shape, self._window
        step = shape.failing_step
        if step is not None:
            def in_step(line: str) -> bool:
                return step_of(line) == step
            found = (_first_named(shape, window, in_step)
                     or _last_output_of(shape.text, step, shape.verdict_start))  # type: ignore[arg-type]
            if found:
                return found
        found = _first_named(shape, window)
        if found and _SAYS_ONLY_AN_ERROR.search(own_text(found[2])):
            # (an error that says only that there was one, `✖ An error occurred when pushing the resources`: a failure
            # in other words above it says which)
            failure = _first(shape, window, _FAILURE)
            found = failure if failure and failure[1] < found[1] else found
        # (a run that went on past the failure, to try again or without what failed: the next one, if any, stopped it)
        went_on = _went_on_past(shape.text, found) if found else None
        if went_on is not None:
            found = _first_named(shape, window, after=went_on) or found
        if found:
            return _innermost_cause(shape.text, _first_statement(window, found))
        bare = _first(shape, window, _ERROR, uninformative=True)
        return (_command_verdict_above(shape, bare) or bare) if bare else (0, 0, "")

    def went_on_past(self, found: Found) -> bool:
        """Whether the run went on past the failure on the line `found` (it tried again, did without what failed, or
        installed what it did not find), so that the line is no lead."""
        return _went_on_past(self.shape.text, found) is not None

    def last_words(self) -> Found | None:
        """(line number, start, line) of the log's last line with words of its own (letters or digits, and not a
        warning, a bare verdict or Cloud Build's own), within MAX_LOOK_BACK lines of its end: what was said last before
        the build or deploy stopped; when they are a command's verdict that says no cause (docker's `The command ...
        returned a non-zero code: 1`), that command's own last words above it (_command_words). None when there is
        none, or when those last words say it finished (a build's `DONE`, gcloud's `...done.`): then nothing failed
        there."""
        shape, window, text = self.shape, self._window, self.shape.text
        ends_line = text.endswith("\n")
        below = (len(text) + (0 if ends_line else 1),
                 window.lines_before + window.text.count("\n") + (1 if ends_line else 2))
        for n, pos, line in lines_above(text, *below, MAX_LOOK_BACK):
            if pos < window.offset:
                return None
            own = own_text(line).strip()
            if not any(c.isalnum() for c in own) or is_warning(line) or shape.uninformative_line(line) or \
                    CLOUD_BUILD_OWN.match(own) or is_call_frame(line):
                continue   # (no words: a blank line, a rule, a closing bracket; a stack's frame: its message says)
            if _PROGRESS_DONE.search(own) or any(rule.hit(line) for rule in shape.finished):
                return None
            return _command_words(shape, (n, pos, line)) if shape.sums_up(line) else (n, pos, line)
        return None


def _command_verdict_above(shape: LogShape, bare: Found) -> Found | None:
    """Where nothing names an error but bare verdicts (Cloud Build's `ERROR`): the command's own verdict at most
    MAX_VERDICT_ABOVE lines above the first of them (a summary line: docker's `The command ... returned a
    non-zero code`), or rather that command's last words above it when they say more (Next.js refusing the
    Node.js version in words of its own); None when no such verdict stands there."""
    verdict = next(((n, pos, line) for n, pos, line in lines_above(shape.text, bare[1], bare[0], MAX_VERDICT_ABOVE)
                    if shape.sums_up(line)), None)
    return _command_words(shape, verdict) if verdict else None


def _command_words(shape: LogShape, verdict: Found) -> Found:
    """What the command whose verdict (a summary line) is `verdict` said last above it, when anything (Next.js refusing
    the Node.js version, tlmgr refusing a newer TeX Live); `verdict` itself otherwise."""
    return shape.last_words_above(verdict[1], verdict[0]) or verdict


def _first_statement(window: _Window, found: Found) -> Found:
    """The line that first stated the message of the line `found`, where a tool repeats it at the end (the
    Firebase CLI's closing `Error: User code failed to load. ...`, first said in a warning line above); `found`
    itself when nothing above holds its message."""
    message = _TRAILING_CODE.sub("", _ERROR_TAG.sub("", own_text(found[2]).strip()).strip()).rstrip(".")
    at = -1
    # the message itself, or what follows the context a verdict put before it (`Error: Installation failed: Destination
    # file path ... already exists`, first said without `Installation failed: `)
    while len(message) >= MIN_REPEATED and at < 0:
        at = _stated_at(window.text, message, max(0, found[1] - window.offset))
        message = message.partition(": ")[2]
        if message.count(" ") < MIN_WORDS - 1:   # (a value after a label, `Input key: build-22.12.0-a4e6...`, is none)
            break
    if at < 0:
        return found
    start = window.text.rfind("\n", 0, at) + 1
    return (window.lines_before + window.text.count("\n", 0, start) + 1, window.offset + start,
            line_at(window.text, start))


def _stated_at(text: str, message: str, end: int) -> int:
    """The offset of the first statement of `message` in `text` before `end`, on a line that does not say the tool
    carried on past it (the CodeQL action's `Warning: Caught an exception while gathering information for telemetry:
    HttpError: Resource not accessible by integration. Will skip sending status report.`, a side task's failure that
    quotes the same refusal as the upload's error below it); -1 when there is none."""
    at = text.find(message, 0, end)
    while at >= 0 and CARRIED_ON.search(line_at(text, text.rfind("\n", 0, at) + 1)):
        at = text.find(message, at + len(message), end)
    return at


# An error that names none, on a line of its own: a declarative table, one wording per entry with what prints it
# (each matched against a line's own text, whole). A new tool's way of saying only that it failed is one more entry.
_SAYS_ONLY_AN_ERROR_WORDINGS = [
    # `An error occurred when ...`, `There was an error initializing your environment.` (not a report's heading,
    # `... (exit code 1):`, nor one with its message after a colon)
    r"\W*(?:[Aa]n (?:unexpected |unknown )?error (?:has )?occurred|[Tt]here was an error)\b[^:]*",
    r"(?:Error|ERROR): exit status \d+\s*",   # only the exit status of what it ran (a Go CLI's, chart-releaser's)
    # only that something went wrong (Lighthouse CI's `Error: LHCI 'collect' has encountered a problem.`)
    r"\W*(?:Error|ERROR): [^:]* has encountered a problem\.?\s*",
]
_SAYS_ONLY_AN_ERROR = re.compile("|".join(f"^(?:{w})$" for w in _SAYS_ONLY_AN_ERROR_WORDINGS))


# GitHub Actions' echo of the step it runs: `Run <command>`, the script's lines indented by two, `  shell: ... {0}` and
# the step's `  env:`, each variable indented by four (less the indentation a paste's dedent took off)
_STEP_SHELL = re.compile(r"^( *)shell: [^\n]*\{0\}[ \t\r]*$", re.MULTILINE)
# ... and its `Run` line alone, when the script it shows starts with a shell comment (`Run # If you encounter an error
# with any of the commands below`): never output, whether or not the paste kept the lines below it
_STEP_RUN_COMMENT = re.compile(r"^Run #[^\n]*", re.MULTILINE)
MAX_STEP_SCRIPT = 20   # lines of a step's script looked through for its `Run` line


def _step_headers(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each GitHub Actions step header in `text`: the step's own definition, which may hold
    any word (`grep -E 'Error'` in its script, `ERROR_LEVEL` in its env), not its output. A header runs from its `Run`
    line, or the first of the script's indented lines above `shell:`, down to its environment; in a paste dedented as
    a whole, only from a `Run` line or the text's start within MAX_STEP_SCRIPT lines above."""
    spans = []
    for m in _STEP_SHELL.finditer(text) if "shell: " in text else ():
        indent, start = m.group(1), m.start()
        for _, pos, line in lines_above(text, start, 0, MAX_STEP_SCRIPT):
            if line.startswith("Run "):
                start = pos
                break
            if not (line.startswith(indent) and line.strip()):
                break
            start = pos
        if not indent and start and not text.startswith("Run ", start):
            continue   # (a paste dedented as a whole: no telling its script from output above it but by its `Run` line)
        end = m.end() + 1   # (the line below `shell:`)
        if text.startswith(indent + "env:", end):   # its environment, each variable indented by two more
            end += len(line_at(text, end)) + 1
            while text.startswith(indent + "  ", end):
                end += len(line_at(text, end)) + 1
        spans.append((start, min(end, len(text))))
    spans += [(m.start(), m.end()) for m in _STEP_RUN_COMMENT.finditer(text)] if "Run #" in text else []
    return spans


def _innermost_cause(text: str, found: Found) -> Found:
    """The last of the `Caused by: ...` lines right below the line `found` (a chain of wrapped errors, outermost
    first: maturin's `💥 maturin failed` / `Caused by: 💥 Failed to upload ...` / `Caused by: Failed to upload the wheel
    with status 400: ...`), of the numbered causes under a `Caused by:` of its own (anyhow's), or of the `! ...`
    messages under rlang's `Caused by error:` (past the bullets of a message that ends with a colon), past a stack's
    frames between them; `found` itself when none follows it, or when the last cause only repeats `found`'s own
    message (Clojure's compiler wrapping an exception in one that quotes it: the message is read where it was first
    said)."""
    last, numbered, rlang_cause = found, False, False
    has_bullets = found[2].rstrip().endswith(":")   # (an rlang message whose bullets follow it: `Error in `map()`:`)
    for n, pos, line in lines_below(text, found[1], found[0], MAX_CAUSE_CHAIN):
        own = own_text(line).strip()
        if _CAUSED_BY.match(own) or (numbered and _NUMBERED_CAUSE.match(own)) or \
                (rlang_cause and own.startswith("! ")):
            last, rlang_cause = (n, pos, line), False
        elif _CAUSES_HEADING.match(own):
            numbered = True
        elif _RLANG_CAUSED_BY.match(own):
            rlang_cause = True
        elif has_bullets and _RLANG_BULLET.match(own):
            continue   # (a bullet of the message: the chain goes on below it)
        elif own and not is_call_frame(line) and not is_trace_more(line):
            break
    said = own_text(last[2]).strip()[len("Caused by: "):] if last is not found else ""
    return found if said and said in own_text(found[2]) else last


def _went_on_past(text: str, found: Found) -> int | None:
    """The start of the line past which the run went on from the failure on the line `found`: one of the
    MAX_RETRY_BELOW lines below it that says the tool tries again (a failure that announces its own retry, `Error
    uploading box! Will retry in 10 seconds.`, states the cause each attempt repeats), the line right below a `not
    found` that says the tool installs what it did not find, or `found`'s own when it says the tool did without what
    failed (`There was an error reading historical timing data: ... Falling back to weighting by name.`); None when
    none of these."""
    own = own_text(found[2])
    if not RETRYING.search(own) and (retry := _line_below(text, found, MAX_RETRY_BELOW, RETRYING.search)) is not None:
        return retry   # (an attempt's own error, when it repeats the first's, is then read where it was first said)
    if NOT_FOUND.search(own) and (installs := _line_below(text, found, 1, INSTALLS_IT.match)) is not None:
        return installs
    return found[1] if FELL_BACK.search(own) else None


def _line_below(text: str, found: Found, within: int, says: Callable[[str], Any]) -> int | None:
    """The start of the first of the `within` lines below the line `found` whose own text `says` holds for; None when
    none does."""
    return next((pos for _, pos, line in lines_below(text, found[1], found[0], within) if says(own_text(line))), None)


def _first_named(shape: LogShape, window: _Window, where: Callable[[str], bool] | None = None,
                 after: int = -1) -> Found | None:
    """The first line naming an error (_first), else the first naming a failure in other words."""
    return _first(shape, window, _ERROR, where, after=after) or _first(shape, window, _FAILURE, where, after=after)


def _first(shape: LogShape, window: _Window, words: LineSearch, where: Callable[[str], bool] | None = None,
           uninformative: bool = False, after: int = -1) -> Found | None:
    """(line number, start, line) of the first line with `words` (and passing `where`) that is informative and
    not a warning, or with `uninformative=True` the first uninformative one; never a line of a GitHub Actions step's
    echoed definition; with `after`, only below the line starting there (an offset in the log)."""
    for lineno, start, _, line in lines_hit(window.text, words.over(window.text)):
        if window.offset + start <= after or any(a <= start < b for a, b in window.step_definitions):
            continue
        if not any(c.isalnum() for c in own_text(line)) or is_call_frame(line):
            continue   # (words only in its prefixes: Maven's `[ERROR] ` spacer under another tool's `[INFO] `; a
            # stack's frame, whose path may hold the word: `at makeError (.../execa/lib/error.js:58:11)`)
        if (where is None or where(line)) and shape.uninformative_line(line) == uninformative and \
                (uninformative or not (is_warning(line) or _in_warning_box(window.text, start, lineno)
                                       or _said_to_be_ignorable(window.text, start, lineno))) and \
                not shape.in_succeeded_step(window.offset + start):
            return window.lines_before + lineno, window.offset + start, line
    return None


def _said_to_be_ignorable(text: str, start: int, lineno: int) -> bool:
    """Whether one of the MAX_IGNORED lines above the line starting at `start` says the errors below it do not matter."""
    return any(SAID_IGNORABLE.search(line) for _, _, line in lines_above(text, start, lineno, MAX_IGNORED))


def _in_warning_box(text: str, start: int, lineno: int) -> bool:
    """Whether the line starting at `start` lies in a Terraform diagnostic box (`╷`, `│ ...` lines, `╵`) that is a
    warning (`│ Warning: Helm release created with warnings`): its lines say `error` only as advice (`Use the helm
    command to investigate the error`)."""
    for _, pos, line in lines_above(text, start, lineno, MAX_BOX):
        own = own_text(line).strip()
        if own.startswith("╵"):
            return False
        if own.startswith("╷"):
            heading = next((own_text(below).strip() for _, _, below in lines_below(text, pos, 0, 2)
                            if own_text(below).strip()), "")
            return heading.startswith("Warning:")
        if not line.lstrip().startswith("│"):
            return False
    return False


def _last_output_of(text: str, step: int, verdict: int) -> Found | None:
    """(line number, start, line) of step `step`'s last words: the last non-blank line of its output right
    above the verdict line starting at `verdict`, past blank lines and Cloud Build's own (its `Finished Step
    #N`, `ERROR`, a rule); None when other output comes between (a step of that number further up is not
    the one that just failed), when the step did not finish there, or none within MAX_LOOK_BACK lines."""
    pos, finished = verdict, False
    for _ in range(MAX_LOOK_BACK):
        if pos == 0:
            return None
        end = pos - 1
        pos = text.rfind("\n", 0, end) + 1
        line = text[pos:end].rstrip("\r")
        own = own_text(line).strip()
        if not own or CLOUD_BUILD_OWN.match(own):
            edge = STEP_EDGE.match(own)
            finished = finished or (edge is not None and edge.group(1) == "Finished" and int(edge.group(2)) == step)
            continue
        return (text.count("\n", 0, pos) + 1, pos, line) if finished and step_of(line) == step else None
    return None
