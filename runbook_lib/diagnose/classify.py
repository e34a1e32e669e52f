"""classify_log: which known failures a build log shows, best first, each with the line to read first.

The log is read without what a terminal or CI system adds to each line (colour codes, a timestamp in front,
a paste's indentation), line for line, and the evidence still quotes it as given. The catalogue
(catalogue.py) finds the lines its patterns match; this module turns them into ranked findings, using what
log_structure.py knows about the log: a pattern that counts only in some builders' output counts only on a
line of that builder's output (the builder that ran last above it, in a whole log of several); a boilerplate
(uninformative) line gives way to the finding's first line that says more, and a builder's verdict (a
summary line) to a match that states a cause; then a traceback's frame
gives way to the exception that ends it, a tool's report that only announces itself (npm's ERESOLVE, pip's
subprocess report) to its telling line below, and a summary to the line above it that states the cause. A
finding whose lines all lie in Cloud Build steps that did not fail ranks below those in the failed step. A
failed build that no signature explains falls back to its builder's signature (buildpacks-build-failed for a
buildpacks build) before `unknown`, and points at the first line a tool's own failure words match (npm,
composer, maven ... outside the builders where they name a cause), else at the log's lead line; neither is
ever a line of a Cloud Build step that succeeded (healthy text above the failure in a whole log). A signature
whose tool went on and succeeded below its matches (its `recovered_by` lines), or whose message goes on to
name another cause (its `ruled_out_by` lines), is no finding.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..buildlogs import decode_log, exported_build_log, listed_newest_first, oldest_first
from ..errors import ParameterError
from .catalogue import BelowRules, Catalogue, Signature
from .catalogue_yaml import load_catalogue
from .lines import (line_at, lines_above, names_error, step_of, steps_of, unwrapped, without_decoration,
                    without_trailing_space)
from .lead import Lead
from .log_structure import LogShape
from .stack_traces import java_exception, node_cause, node_exception, python_exception

MAX_LINES = 100        # line numbers kept per finding
MAX_EVIDENCE = 10      # evidence lines kept per finding
MAX_EVIDENCE_CHARS = 400
MAX_NESTED_REPORTS = 3  # reports followed from one report's telling line to the next


@dataclass
class Finding:
    signature: str
    title: str
    line: int                       # 1-based line to read first: the first match, or the cause above it (0: none),
    #                                 in the text as given; for a Cloud Logging export of the build's entries, in
    #                                 the log as Cloud Build wrote it (the export holds no lines of its own)
    lines: list[int]                # that line and every matching line, capped at MAX_LINES
    evidence: list[str]             # those lines' text, capped at MAX_EVIDENCE
    cause: str
    fix: list[str]
    score: float
    builder: str = "any"            # the builder this signature implies
    severity: str = "error"
    match_count: int = 0            # matching lines in total (not capped)
    platform: str | None = None     # the platform whose own advice cause and fix are (catalogue `platforms`)

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.signature, "title": self.title, "line": self.line, "lines": list(self.lines),
                "evidence": list(self.evidence), "cause": self.cause, "fix": list(self.fix), "score": self.score,
                "builder": self.builder, "severity": self.severity, "match_count": self.match_count,
                "platform": self.platform}

    @classmethod
    def of(cls, sig: Signature, line: int = 0, lines: list[int] | None = None, evidence: list[str] | None = None,
           score: float = 0.0, count: int = 0) -> Finding:
        """A finding of signature `sig`; the defaults describe a signature named without a log line."""
        return cls(sig.id, sig.title, line, list(lines or []), list(evidence or []), sig.cause, list(sig.fix), score,
                   sig.builder, sig.severity, count)


def classify_log(text: str | bytes, catalogue: Catalogue | str | Path | None = None) -> list[Finding]:
    """Findings for a build log, best first; a single fallback or `unknown` finding when no signature matches.

    Ranked by whether the finding lies only in Cloud Build steps that did not fail (those come last),
    then by signature weight, then by how many distinct patterns of the signature matched, then by the
    earliest line. A signature with sections counts only lines in them; builder_output patterns count
    only in their builders' output. Fast on huge logs (see Catalogue.matches and LogShape).
    """
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    if isinstance(text, (bytes, bytearray)):
        text = decode_log(bytes(text))   # (a BOM says UTF-16 or UTF-32, as PowerShell 5's `>` writes)
    if not isinstance(text, str):
        raise ParameterError("text", type(text).__name__, "give the build log as text (str or bytes)")
    # a saved export of the build's Cloud Logging entries (gcloud logging read --format=json) is read as the log it
    # holds, oldest first, its line numbers that log's; a listing of them newest first (--format='value(textPayload)')
    # is read oldest first too, its line numbers those of the listing as given
    given = exported_build_log(text) or text
    text = without_decoration(given)
    upside_down = listed_newest_first(text)
    if upside_down:   # (line for line: the lines of the text as given, without decoration)
        last = text.count("\n") + (not text.endswith("\n"))
        text = oldest_first(text)
    text, starts = unwrapped(text)
    text = without_trailing_space(text)
    shape = cat.shape(text)
    acc: dict[int, dict] = {}
    # the first line a tool's own failure words match (npm, composer, maven ...) where they name no known
    # cause, because the log shows no builder they belong to: the line to read when nothing else explains it
    stated: tuple[int, int, str] | None = None
    for lineno, start, line, pattern in cat.matches(text):
        if pattern.below is not None and not _under(pattern.below, shape, start, lineno, line):
            continue
        if pattern.not_below is not None and _under(pattern.not_below, shape, start, lineno, line):
            continue
        if pattern.builders is not None or pattern.not_builders:
            builder = shape.builder(around=start)
            name = builder.name if builder is not None else None
            if (pattern.builders is not None and name not in pattern.builders) or name in pattern.not_builders:
                if stated is None and not shape.uninformative_line(line) and not shape.in_succeeded_step(start):
                    stated = (lineno, start, line)
                continue
        a = acc.setdefault(pattern.signature, {"lines": [], "evidence": [], "starts": [], "patterns": set(),
                                               "count": 0, "last": 0, "last_line": (0, "")})   # (its end, line)
        a["last_line"] = (start + len(line), line)
        a["patterns"].add(pattern.number)
        if a["last"] != lineno:   # a line that several patterns match counts once (also past MAX_LINES)
            a["last"] = lineno
            a["count"] += 1
            if len(a["lines"]) < MAX_LINES:
                a["lines"].append(lineno)
            if len(a["evidence"]) < MAX_EVIDENCE:
                a["evidence"].append(line[:MAX_EVIDENCE_CHARS])
                a["starts"].append(start)
    # a tool that reported a failure and then went on and succeeded (its `recovered_by` line below) failed nothing,
    # and a failure whose message goes on to name another cause (its `ruled_out_by` line below) is not this one
    findings = [_finding(cat, shape, cat.signatures[si], a) for si, a in acc.items()
                if not cat.dismissed(si, text, a["last_line"][0], steps_of(a["last_line"][1]))]
    findings = [_refused_before_building(cat, f) for f in findings]
    findings = _ranked(findings, shape) if findings else [_unexplained(cat, shape, stated)]
    _advise_for_platform(findings, cat, text)
    if starts is not None:
        _renumber(findings, starts)
    if upside_down:   # line n of the log read oldest first is line N + 1 - n of the listing
        _renumber(findings, list(range(last, 0, -1)))
    if text is not given:
        _quote_as_given(findings, given)
    return findings


def _refused_before_building(cat: Catalogue, f: Finding) -> Finding:
    """A builder's own verdict (buildpacks-build-failed at pack's `failed to build: executing lifecycle`) read at a
    usage error (the lifecycle refusing a buildpack's API, pack its builder) is no failure of that builder's: `unknown`
    at the same line, as a log with no signature is read there. A start that failed, read at the app's own start
    command refused, stays what it is (container-start-failed is no build's fallback)."""
    if f.signature in cat.build_fallbacks and f.evidence and cat.is_usage_error(f.evidence[0]):
        sig = cat.get("unknown")
        return Finding.of(sig, f.line, [f.line], f.evidence[:1], float(sig.weight), 1)
    return f


def _renumber(findings: list[Finding], starts: list[int]) -> None:
    """Line numbers of an unwrapped log as those of the log as given: each line's first."""
    for f in findings:
        f.line = starts[f.line - 1] if f.line else 0
        f.lines = [starts[n - 1] for n in f.lines]


def _advise_for_platform(findings: list[Finding], cat: Catalogue, text: str) -> None:
    """A finding whose signature advises differently on the platform that ran the build (a Cloud Functions
    build has no Dockerfile to fall back to) says that platform's cause and fix."""
    advised = [(f, cat.get(f.signature)) for f in findings if cat.get(f.signature).advice]
    platform = cat.platform_of(text) if advised else None
    for f, sig in advised:
        if (own := sig.advice_for(platform)) is not None:
            f.cause, f.fix, f.platform = own[0], list(own[1]), platform


def _quote_as_given(findings: list[Finding], given: str) -> None:
    """Evidence quotes the log as given (timestamps, colour codes and all), not as it was read: each
    evidence line is that of the same number in the given text (without_decoration keeps line numbers; an
    unwrapped line is quoted by the first line it was cut into, whose number it has)."""
    wanted = {n for f in findings for n in f.lines[:len(f.evidence)]}
    quoted: dict[int, str] = {}
    if wanted:
        last = max(wanted)
        for n, line in enumerate(io.StringIO(given), start=1):
            if n in wanted:
                quoted[n] = line.rstrip("\r\n")[:MAX_EVIDENCE_CHARS]
            if n == last:
                break
    for f in findings:
        f.evidence = [quoted.get(n, e) for n, e in zip(f.lines, f.evidence)]


def _finding(cat: Catalogue, shape: LogShape, sig: Signature, a: dict) -> Finding:
    """The finding of `sig` from its accumulated matches, led by the line that says the most: the first
    match that is not boilerplate (npm's `A complete log of this run ...` names an error but not which),
    then, when that line is a traceback's frame, the exception that ends the traceback, or when it only
    sums up (a summary line), the cause above or below it."""
    lines, evidence, starts = list(a["lines"]), list(a["evidence"]), a["starts"]
    informative = [i for i, line in enumerate(evidence) if not shape.uninformative_line(line)]
    # a match that states a cause leads before one that sums up (a builder's verdict), whatever their order
    lead = next((i for i in informative if not cat.is_summary(evidence[i])), informative[0] if informative else 0)
    if lead:
        lines.insert(0, lines.pop(lead))
        evidence.insert(0, evidence.pop(lead))
    n, _, line = _line_to_read(cat, shape, (lines[0], starts[lead], line_at(shape.text, starts[lead])))
    cause = (n, line) if n != lines[0] else None
    if cause is not None:
        if cause[0] in lines:   # itself a match further down
            at = lines.index(cause[0])
            del lines[at]
            if at < len(evidence):
                del evidence[at]
        lines = [cause[0]] + lines[:MAX_LINES - 1]
        evidence = [cause[1][:MAX_EVIDENCE_CHARS]] + evidence[:MAX_EVIDENCE - 1]
    score = sig.weight + min(len(a["patterns"]), 5) / 10  # specificity: more distinct patterns agree
    return Finding.of(sig, lines[0], lines, evidence, score, a["count"])


def _under(rules: BelowRules, shape: LogShape, start: int, lineno: int, line: str) -> bool:
    """Whether the line `line` (number `lineno`, starting at `start`) is on or within `rules.within` lines below a line
    that meets one of `rules.lines`, with no line of its `stops` and no output start between: a signature's `below`
    patterns count only there (a download that is no archive, below the step that fetched a runtime at a version, not
    below a later step's), and under its `not_below` none of its matches counts (the nearest instruction above a
    Dockerfile's error is the one that failed)."""
    for candidate in (line, *(above for _, _, above in lines_above(shape.text, start, lineno, rules.within))):
        if any(rule.hit(candidate) for rule in rules.lines):
            return True
        if any(rule.hit(candidate) for rule in rules.stops) or any(rule.hit(candidate) for rule in shape.stops):
            return False
    return False


def _exception_of(shape: LogShape, here: tuple[int, int, str]) -> tuple[int, int, str]:
    """The line to read for `here` when it is part of an exception's report: a Python traceback's frame or header,
    a Java stack trace's frame, the source line Node.js quoted above its caret, or Node.js's error above its cause."""
    return (python_exception(shape.text, here[1], here[0]) or java_exception(shape.text, here[1], here[0])
            or node_exception(shape.text, here[1], here[0]) or node_cause(shape.text, here[1], here[0]) or here)


def _line_to_read(cat: Catalogue, shape: LogShape, here: tuple[int, int, str]) -> tuple[int, int, str]:
    """(line number, start, line) to read for the line `here` (the same three): a Python traceback's frame or
    header gives way to the exception that ends it, a Java stack trace's frame to the exception that heads it, the
    source line Node.js quoted to the exception below its caret, a tool's report that only announces itself to its
    telling line below, and a builder's verdict (a summary line) to the cause it sums up (or that cause's exception)."""
    here = _exception_of(shape, here)
    if cat.report_opened_by(here[2]) is not None and (telling := _telling_line(cat, shape, here)) != here:
        # (a telling line may head an exception too: the source line Node.js quotes above a SyntaxError's caret; and
        # when that exception is a verdict on a script, `RuntimeError: Failed to run the build script for part
        # 'gateway'.` from snapcraft's craftctl, the script's own output above the report says why)
        here = _exception_of(shape, telling)
        if here == telling:
            return here
    # (a verdict that could open a report with none below it, `... exit status 65` with no `STDERR:`, still sums up)
    return _cause_of_verdict(cat, shape, here)


def _cause_of_verdict(cat: Catalogue, shape: LogShape, here: tuple[int, int, str]) -> tuple[int, int, str]:
    """The line to read for a builder's verdict (a summary line) `here`: the cause it sums up, and there a traceback's
    exception (Cloud Run's verdict on a container that exited) or a report's telling line (a buildpack's chain of
    wrapped errors above the lifecycle's verdict); `here` itself when it is no verdict or nothing above says why."""
    if cat.is_summary(here[2]) and (cause := shape.cause_of(here[1], here[0])) is not None:
        return python_exception(shape.text, cause[1], cause[0]) or _telling_line(cat, shape, cause)
    return here


def _telling_line(cat: Catalogue, shape: LogShape, here: tuple[int, int, str]) -> tuple[int, int, str]:
    """The telling line of the report the line `here` opens (`here` itself when it opens none, or none is found);
    a report's telling line may open another report (appcfg's server output block, then its compile report)."""
    for _ in range(MAX_NESTED_REPORTS):
        report = cat.report_opened_by(here[2])
        if report is None:
            break
        below = shape.telling_line_below(here[1], here[0], report.tells, report.next, report.ended_by)
        if below is None and report.past:   # a chain of wrapped errors that ends the log: its innermost, last
            below = shape.chain_end_below(here[1], here[0], report.in_chain)
        if below is None and report.above and shape.says_below(here[1], here[0], report.points_above, report.ended_by):
            # (pip's closing summary, `╰─> See above for output.`: the package's own error in the output above it)
            below = shape.telling_line_above(here[1], here[0], report.tells,
                                             lambda line: cat.report_opened_by(line) is not None)
        if below is None:
            break
        here = below
    return here


def _ranked(findings: list[Finding], shape: LogShape) -> list[Finding]:
    """Best first. When the log names the Cloud Build step that failed, a finding whose evidence lies
    only in other steps (steps that succeeded) ranks after the rest, whatever its weight."""
    steps = [{step_of(line) for line in f.evidence} for f in findings]
    # only findings in different steps can be told apart by the failed step: else skip looking for it
    failed = shape.failing_step if any(s != steps[0] for s in steps) else None
    elsewhere = [failed is not None and None not in s and failed not in s for s in steps]
    order = sorted(range(len(findings)), key=lambda i: (elsewhere[i], -findings[i].score, findings[i].line))
    return [findings[i] for i in order]


def _unexplained(cat: Catalogue, shape: LogShape, stated: tuple[int, int, str] | None = None) -> Finding:
    """No signature matched: the fallback signature of the section the lead line is in (a failure while
    fetching the source) or of the log's builder (a failed buildpacks build), else `unknown`; each points
    at the lead line (lead.Lead.line), or past it as a finding's line would be: from a traceback to the
    exception that ends it, to a report's telling line, or from a builder's verdict to the cause it sums up. With
    no lead line (nothing names an error or a failure), `unknown` at the log's last words, if they are no success."""
    if stated is not None and shape.failing_step not in (None, step_of(stated[2])):
        stated = None   # a tool's words in a step that did not fail
    reader = Lead(shape)
    if stated is not None and reader.went_on_past(stated):
        stated = None   # (a tool's words the run went on past: a Makefile that installs the tool it did not find)
    lead = reader.line()
    # a line naming an error before the tool's words is read first (gcloud refusing the deploy, whose
    # failure the tool then reports); else the tool's words, which say more than other failure words
    if stated is not None and (not lead[0] or lead[0] > stated[0] or not names_error(lead[2])):
        lead = stated
    line, start, text = lead
    # (no build's failure where the lead line, or one below it, says the build finished: Heroku's `-----> Launching...
    # failed` is its release failing after the compile)
    finished = line and (shape.finished_below(start) or any(rule.hit(text) for rule in shape.finished))
    fallback = cat.fallback(shape.section_at(start + len(text)), shape.build_builder(start)) \
        if line and not finished else None
    if line:
        line, start, text = _line_to_read(cat, shape, lead)
    if line and cat.is_usage_error(text):   # the builder's tool refused how it was called and never ran
        fallback = None
    if not line and (words := reader.last_words()) is not None:
        line, start, text = words   # no line names an error: what was said last, read as no known failure
    evidence = [text[:MAX_EVIDENCE_CHARS]] if line else []
    sig = fallback or cat.get("unknown")
    return Finding.of(sig, line, [line] if line else [], evidence, float(sig.weight), 1 if line else 0)
