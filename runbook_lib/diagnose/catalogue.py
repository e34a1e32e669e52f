"""The build-failure signature catalogue: which known failures a build log's lines show.

Pure and self-contained: it takes log text and never calls the cloud. The catalogue is data
(runbook_lib/data/signatures.yaml, read and validated by catalogue_yaml.py); this module compiles it into fast
literal scanners that find the lines each signature matches. classify.py ranks those into findings, with what
log_structure.py knows about the log around a line (its builder, the step that failed, where a failure
message starts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..errors import ConfigError, ParameterError
from .failure_words import NOT_FOUND
from .lines import LONG_LINE, LinePattern, LineRule, bounded, first_line, lines_hit, names_failure, steps_of
from .literal_scan import FirstHit, literals
from .log_structure import Builder, LogShape
from .markers import SectionTracker

try:  # the regex parser is only used to find each pattern's literal anchor
    from re import _parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

BUILDERS = ("buildpacks", "dockerfile", "any")
ANY_BUILDER = "any"   # in builder_output: the output of any builder the catalogue recognises
SEVERITIES = ("error", "warning")
MIN_NEEDLE = 4
# Logs this long get needles chosen for them: those found least often in a sample of SAMPLE_CHARS at the start,
# middle and end (a bigger log has room for more kinds of line than the longest literal foresees).
ADAPT_FROM_CHARS = 1_000_000
SAMPLE_CHARS = 32_768
# A log longer than twice this is searched for a platform's markers only this far from each end: the product's
# framing (gcloud's or the Firebase CLI's lines, the build steps' image names) opens and closes a build's output,
# and searching 50 MB for twenty markers would cost a third of the whole classification.
PLATFORM_WINDOW = 1_000_000
# How rare a character is in build logs, as the first character of a line rule's literal (the `re` scan of builders'
# markers and finished lines, markers.MarkerLines, prefilters on first characters; the RE2 scans do not): letters
# from most to least frequent, as counted over the fixture logs (real and hand-written; "build" everywhere
# makes b common, and every "Step #0 - ..." line starts with S, so S counts as common); anything else is rarer.
_LETTERS_BY_FREQUENCY = "etoiranslducpgbfmhRyTkvEOwDZCPxBIFjUNAGMzLqHJYWVKXQ"
_COMMON = frozenset("0123456789 \t-./:_=\"',;()[]#S")


def _rarity(ch: str) -> int:
    if ch in _COMMON:
        return 0
    if ch in _LETTERS_BY_FREQUENCY:
        return 1 + _LETTERS_BY_FREQUENCY.index(ch)
    return 100




# ----------------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class Signature:
    id: str
    title: str
    builder: str
    severity: str
    weight: int
    patterns: tuple[str, ...]
    cause: str
    fix: tuple[str, ...]
    sections: tuple[str, ...] = ()  # the log sections it may match in; empty: anywhere
    builder_output: tuple[str, ...] = ()    # patterns that count only in the output of
    output_builders: tuple[str, ...] = ()   # these builders (names from the catalogue's `builders`)
    recovered_by: tuple[str, ...] = ()      # lines that say the tool went on and succeeded after its matches
    ruled_out_by: tuple[str, ...] = ()      # lines that say, below its matches, the failure was another one
    # (platform, cause, fix): what to say instead of cause and fix when the log shows that platform built it
    advice: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    anywhere: tuple[str, ...] = ()          # patterns that match in every section, whatever `sections` says
    below: Below | None = None              # patterns that count only below some lines (see Below)
    # builders in whose output none of its patterns counts (a hosting service's own build image refusing a version
    # is no buildpack's refusal)
    not_in_output_of: tuple[str, ...] = ()
    not_below: NotBelow | None = None       # lines under which none of its patterns counts (see NotBelow)

    def advice_for(self, platform: str | None) -> tuple[str, tuple[str, ...]] | None:
        """(cause, fix) for a build on `platform` (catalogue `platforms`); None when it has no advice of its own."""
        return next(((c, f) for name, c, f in self.advice if name == platform), None)


@dataclass(frozen=True)
class Below:
    """A signature's `below`: `patterns` that count only on or within `within` lines below a line that meets one of
    `lines`, with no output start between (a download that is no archive, below the step that fetched a runtime)."""
    patterns: tuple[str, ...]
    lines: tuple[str, ...]
    within: int


@dataclass(frozen=True)
class NotBelow:
    """A signature's `not_below`: none of its matches counts on or within `within` lines below a line that meets one
    of `lines`, when no line of `stops` (nor an output start) lies between: the instruction a Dockerfile's build
    failed at is the nearest one above its error, and a `COPY --from=<stage>` that found nothing there names no path
    missing from the build context."""
    lines: tuple[str, ...]
    stops: tuple[str, ...]
    within: int


@dataclass(frozen=True)
class Marked:
    """A catalogue entry recognised by marker lines: a part of a build log (`sections`: fetching the source,
    the build steps, the push ...; the lines that open it), a builder (`builders`: the lines of its
    output, see log_structure.Builder) or a platform (`platforms`: the product that ran the build, Cloud
    Functions, App Engine ..., when its advice differs from a Cloud Run source deploy's)."""
    name: str
    markers: tuple[str, ...]
    fallback: str | None = None   # signature of a failure in this section / of this builder that nothing else explains
    out_of_order: bool = False   # (builders) its lines may be printed out of time order: see log_structure.Builder


@dataclass(frozen=True)
class Report:
    """A tool's failure report whose first line only announces it (npm's `ERESOLVE could not resolve`): the
    line to read is the first line below that meets one of its `telling` rules, or the line after that when `next`
    (a heading such as gradle's `* What went wrong:`); without `telling` rules, the first line below with text of
    its own."""
    opens: LineRule
    telling: tuple[LineRule, ...] = ()
    next: bool = False
    past: tuple[LineRule, ...] = ()   # the report's own lines above the telling one (a chain of wrapped errors)
    ends: tuple[LineRule, ...] = ()   # lines that close the report: no telling line lies below one
    above: tuple[LineRule, ...] = ()   # ... and lines that close it saying its output was printed above it
    # the telling line may also be any that names an error or a failure or says something was not found (a tool's
    # report quoting the output of a program it ran, whatever that program is)
    failure: bool = False

    def ended_by(self, own: str) -> bool:
        """Whether a line's own text closes this report (pip's note, or its `╰─> See above for output.`)."""
        return any(rule.hit(own) for rule in self.ends + self.above)

    def points_above(self, own: str) -> bool:
        """Whether a line's own text says the report's output was printed above it."""
        return any(rule.hit(own) for rule in self.above)

    def tells(self, own: str) -> bool:
        """Whether a line's own text is this report's telling line."""
        if self.past:
            return not self.in_chain(own)
        if self.failure and (names_failure(own) or NOT_FOUND.search(own)):
            return True
        return not (self.telling or self.failure) or any(rule.hit(own) for rule in self.telling)

    def in_chain(self, own: str) -> bool:
        """Whether a line's own text is one of the report's own lines above its telling one (`past`)."""
        return any(rule.hit(own) for rule in self.past)


@dataclass(frozen=True)
class BelowRules:
    """A signature's `below` or `not_below` compiled: a line is under them when it is on or within `within` lines below
    a line that meets one of `lines`, with no line of `stops` (nor an output start) between (classify._under); its
    `below` patterns count only there, and none of its matches counts there under `not_below`."""
    lines: tuple[LineRule, ...]
    within: int
    stops: tuple[LineRule, ...] = ()


@dataclass(frozen=True)
class _Pattern:
    signature: int        # index into Catalogue.signatures
    number: int           # distinct per pattern of the signature (builder_output ones follow the patterns)
    # choices of needles, the default (longest) first: each choice is one whole literal run every match
    # contains or, for a family of wordings (an alternation), one literal per wording
    needles: tuple[tuple[str, ...], ...]
    regex: LinePattern
    sections: frozenset[str] | None = None  # where its signature may match; None: anywhere
    builders: frozenset[str] | None = None  # whose output it counts in; None: any log
    below: BelowRules | None = None   # None: anywhere
    not_builders: frozenset[str] = frozenset()   # whose output it never counts in
    not_below: BelowRules | None = None   # where it never counts; None: nowhere


class _NeedleScan:
    """One choice of needles (one tuple per pattern) as `matches` looks for them: each distinct needle once per
    candidate line, and for each, the patterns it stands for (in catalogue order, as a pattern-by-pattern loop would
    yield them). Made once for the default choice, which every log under ADAPT_FROM_CHARS uses."""

    def __init__(self, choice: tuple[tuple[str, ...], ...]):
        owners: dict[str, list[int]] = {}
        for i, needles in enumerate(choice):
            for n in needles:
                owners.setdefault(n, []).append(i)
        self.owners = owners
        self.needles = literals(owners)


class Catalogue:
    """Validated signatures plus the compiled scanners that find candidate lines."""

    def __init__(self, signatures: list[Signature], source: str = "signatures.yaml",
                 sections: tuple[Marked, ...] = (), uninformative: tuple[str, ...] = (),
                 builders: tuple[Marked, ...] = (), summaries: tuple[str, ...] = (),
                 output_starts: tuple[str, ...] = (), reports: tuple[dict, ...] = (),
                 finished: tuple[str, ...] = (), platforms: tuple[Marked, ...] = (),
                 usage_errors: tuple[str, ...] = (), handed_over: tuple[str, ...] = ()):
        self.signatures = signatures
        self.platforms = platforms
        self.sections = sections
        self.uninformative = uninformative
        self.builders = builders
        self.source = source
        self._by_id = {s.id: s for s in signatures}
        self._patterns: list[_Pattern] = []
        for si, sig in enumerate(signatures):
            allowed = frozenset(sig.sections) if sig.sections else None
            # `any`: the output of whichever builder the log shows (a log that shows none does not count)
            owners = frozenset(b.name for b in builders) if ANY_BUILDER in sig.output_builders \
                else frozenset(sig.output_builders)
            below = BelowRules(_rules(sig.below.lines, f"signature '{sig.id}' below line", source),
                               sig.below.within) if sig.below else None
            not_below = BelowRules(_rules(sig.not_below.lines, f"signature '{sig.id}' not_below line", source),
                                   sig.not_below.within,
                                   _rules(sig.not_below.stops, f"signature '{sig.id}' not_below stop", source)) \
                if sig.not_below else None
            for pi, (text, only_in, where, context) in enumerate(
                    [(t, None, allowed, None) for t in sig.patterns] +
                    [(t, owners, allowed, None) for t in sig.builder_output] +
                    [(t, None, None, None) for t in sig.anywhere] +
                    [(t, None, allowed, below) for t in (sig.below.patterns if sig.below else ())]):
                self._patterns.append(_Pattern(si, pi, _needles(text, f"signature '{sig.id}'", source, whole=True),
                                               LinePattern(text), where, only_in, context,
                                               frozenset(sig.not_in_output_of), not_below))
        self._dismissing = {si: tuple(_rule(text, f"signature '{sig.id}' {key}", source)
                                      for key, texts in (("recovered_by", sig.recovered_by),
                                                         ("ruled_out_by", sig.ruled_out_by)) for text in texts)
                            for si, sig in enumerate(signatures)}
        self._finished = _rules(finished, "finished build line", source)
        self._handed_over = _rules(handed_over, "handed-over build line", source)
        # in file order: when markers of two sections match one line, the section listed first wins; a line that
        # says a build finished ends the section it was in (below it, as above the first marker, none is known)
        self._markers: list[tuple[str | None, LineRule]] = \
            [(sec.name, _rule(text, f"section '{sec.name}' marker", source)) for sec in sections for text in sec.markers]
        self._markers += [(None, rule) for rule in self._finished + self._handed_over]
        self._uninformative = _rules(uninformative, "uninformative line", source)
        self._summaries = _rules(summaries, "summary line", source)
        self._usage_errors = _rules(usage_errors, "usage error", source)
        self._reports = tuple(report for r in reports for report in _reports_of(r, source))
        self._output_starts = _rules(output_starts, "output start", source)
        self._builders = tuple(Builder(b.name, _rules(b.markers, f"builder '{b.name}' marker", source),
                                       b.fallback, b.out_of_order) for b in builders)
        self._platforms = tuple((p.name, _rules(p.markers, f"platform '{p.name}' marker", source))
                                for p in platforms)
        self._default_needles = tuple(p.needles[0] for p in self._patterns)
        self._default_scan = _NeedleScan(self._default_needles)

    def get(self, signature_id: str) -> Signature:
        if signature_id not in self._by_id:
            raise ParameterError("signature", signature_id, f"choose one of {', '.join(sorted(self._by_id))}")
        return self._by_id[signature_id]

    def ids(self) -> list[str]:
        return [s.id for s in self.signatures]

    def shape(self, text: str) -> LogShape:
        """The lazily computed facts about `text` that matches are put in context with."""
        return LogShape(text, self._builders, self._uninformative, self._output_starts, self._markers, self._finished,
                        self._summaries, self._handed_over)

    def matches(self, text: str) -> Iterator[tuple[int, int, str, _Pattern]]:
        """(line number, line start, line, pattern) for each pattern matching a line of text.

        One RE2 scan for every pattern's literals finds candidate lines, and only those lines meet the real
        regexes (lines_hit), so huge logs stay fast. A pattern of a signature with sections counts only in those
        sections (or in no known section); sections are looked up only for such hits. Patterns that count
        only in some builders' output are yielded too: the caller asks the log's builder (LogShape).
        """
        if not self._patterns:
            return
        choice = self._needles_for(text)
        scan = self._default_scan if choice is self._default_needles else _NeedleScan(choice)
        owners, needles = scan.owners, scan.needles
        where = SectionTracker(self._markers, text)
        for lineno, start, end, line in lines_hit(text, FirstHit(needles.scan, text)):
            seen = line if len(line) <= LONG_LINE else bounded(line)
            for i in sorted({i for n in needles.on(line) for i in owners[n]}):
                p = self._patterns[i]
                if p.regex.compiled.search(seen) and (p.sections is None or where.allows(p.sections, start, end)):
                    yield lineno, start, line, p

    def _needles_for(self, text: str) -> tuple[tuple[str, ...], ...]:
        """One choice of needles per pattern: the default (longest) ones, or for a big log those found least
        often in a sample of it (every line holding a needle meets the patterns' regexes: that, not the scan,
        is what a needle common in this log costs)."""
        if len(text) < ADAPT_FROM_CHARS:
            return self._default_needles
        sample = "\n".join(text[at:at + SAMPLE_CHARS] for at in (0, len(text) // 2, len(text) - SAMPLE_CHARS))
        found = {n: sample.count(n) for p in self._patterns for choice in p.needles for n in choice}
        return tuple(min(p.needles, key=lambda c: (sum(found[n] for n in c), -min(len(n) for n in c)))
                     for p in self._patterns)

    def report_opened_by(self, line: str) -> Report | None:
        """The report (catalogue `reports`) whose announcing line this is, if any."""
        return next((r for r in self._reports if r.opens.hit(line)), None)

    def dismissed(self, signature: int, text: str, after: int, steps: tuple[int | None, int | None]) -> bool:
        """Whether, below the offset `after` and in the same steps (lines.steps_of), a line says the tool whose
        failure the signature's matches reported went on and succeeded (its `recovered_by`: pip before 21
        printed `Failed building wheel` and then installed from source), or that the failure was another one
        (its `ruled_out_by`: gcloud's `Revision ... is not ready` goes on to name the secret it was refused)."""
        return any(first_line(text, rule, after, lambda line: steps_of(line) == steps) is not None
                   for rule in self._dismissing[signature])

    def platform_of(self, text: str) -> str | None:
        """The platform (catalogue `platforms`, the first listed) whose markers a line of `text` shows, if any
        (in a huge log, a line near either end)."""
        if not self._platforms:
            return None
        size = len(text)
        # the product's own lines open and close its output: in a huge log, only there (searched in place)
        windows = [(0, size)] if size <= 2 * PLATFORM_WINDOW else [(0, PLATFORM_WINDOW), (size - PLATFORM_WINDOW, size)]
        # one scan for every platform's needles, as `matches` does
        rules = [(rank, rule) for rank, (_, of) in enumerate(self._platforms) for rule in of]
        scan = literals(r.needle for _, r in rules)
        found = len(self._platforms)
        for lo, hi in windows:
            for _, _, _, line in lines_hit(text, FirstHit(scan.scan, text, lo, hi)):
                found = min([found] + [rank for rank, rule in rules if rank < found and rule.hit(line)])
                if found == 0:
                    return self._platforms[0][0]
        return self._platforms[found][0] if found < len(self._platforms) else None

    def is_usage_error(self, line: str) -> bool:
        """Whether a line is a tool refusing how it was called (catalogue `usage_errors`): the tool never ran."""
        return any(rule.hit(line) for rule in self._usage_errors)

    def is_summary(self, line: str) -> bool:
        """Whether a line closes a failure message rather than stating its cause (catalogue `summaries`, and the
        signatures' patterns written `summary: ...`)."""
        return any(rule.hit(line) for rule in self._summaries)

    @property
    def build_fallbacks(self) -> frozenset[str]:
        """The signatures a builder names for a failed build that no signature explains (buildpacks-build-failed);
        not a running app's (container-start-failed, whose builder is `any`: no build's)."""
        return frozenset(b.fallback for b in self._builders
                         if b.fallback and self._by_id[b.fallback].builder != ANY_BUILDER)

    def fallback(self, section: str | None, builder: Builder | None) -> Signature | None:
        """The signature of a failure no signature explains, whose lead line is in `section` of a log that
        `builder` produced: the section's fallback, else the builder's, else None."""
        by_section = next((s.fallback for s in self.sections if s.name == section and s.fallback), None)
        chosen = by_section or (builder.fallback if builder is not None else None)
        return self._by_id.get(chosen) if chosen else None


def _reports_of(entry: dict, source: str) -> tuple[Report, ...]:
    """The reports of a catalogue `reports` entry: one for each wording of its first line (`opens`), all read the same
    way."""
    rest = (_rules(entry["telling"], "report telling line", source), bool(entry.get("next")),
            _rules(entry.get("past", ()), "report's own line", source),
            _rules(entry.get("ends", ()), "report's last line", source),
            _rules(entry.get("above", ()), "report's output-above line", source))
    return tuple(Report(_rule(opens, "report opening", source), *rest, failure=bool(entry.get("failure")))
                 for opens in entry["opens"])


def _rules(patterns: Iterable[str], owner: str, source: str) -> tuple[LineRule, ...]:
    """Each of `patterns` as a LineRule (_rule)."""
    return tuple(_rule(text, owner, source) for text in patterns)


def _rule(pattern: str, owner: str, source: str) -> LineRule:
    needles = _needles(pattern, owner, source)
    if len(needles[0]) > 1:   # the section tracker and the builder search look for one literal
        raise ConfigError(f"{source}: {owner} pattern {pattern!r} needs a plain literal of at least {MIN_NEEDLE} "
                          "characters outside alternations (write alternatives as separate entries).")
    return LineRule(needles[0][0], LinePattern(pattern))


def _needles(pattern: str, owner: str, source: str, whole: bool = False) -> tuple[tuple[str, ...], ...]:
    """Choices of literals a match must contain, the best first: each a 1-tuple of a literal every match
    contains, or, when the pattern has no such literal but is a family of wordings (an alternation each of
    whose branches has its own literal: `(?:is not available|was not found)`), one literal per branch.
    whole: only whole literal runs, longest first (for the RE2 scan), not every part of one, rarest first."""
    where = f"{source}: {owner} pattern {pattern!r}"
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as exc:
        raise ConfigError(f"{where} is not a valid regular expression: {exc}.") from None
    if parsed.state.flags & re.IGNORECASE:
        raise ConfigError(f"{where} uses (?i); patterns are case-sensitive, write the exact text instead.")
    plain = _literals(parsed, whole)
    if plain:
        return tuple((c,) for c in plain)
    for branches in _alternations(parsed):
        family = [_literals(branch, whole) for branch in branches]
        if all(family):   # every wording brings its own literal: a line must hold one of them
            return (tuple(dict.fromkeys(wording[0] for wording in family)),)
    raise ConfigError(f"{where} needs a plain literal of at least {MIN_NEEDLE} characters outside groups and "
                      "alternations, or an alternation each of whose wordings has one.")


def _literals(items, whole: bool = False) -> list[str]:
    """The literals every match of these parsed items contains, rarest-starting first (whole: only whole runs,
    longest first)."""
    runs, run = [], []
    for op, value in list(items) + [(None, None)]:
        if op is _sre_parse.LITERAL:
            run.append(chr(value))
            continue
        runs.append("".join(run))
        run = []
    # Any substring of a mandatory literal run is itself mandatory. Prefer one that starts with a
    # character that is rare in build logs: the scanner's speed is set by how often the first
    # characters of its needles occur in the text.
    if whole:
        return sorted((r for r in runs if "\n" not in r and len(r) >= MIN_NEEDLE), key=lambda r: (-len(r), r))
    candidates = [r[i:] for r in runs if "\n" not in r for i in range(len(r)) if len(r) - i >= MIN_NEEDLE]
    return sorted(candidates, key=lambda c: (-_rarity(c[0]), -len(c)))


def _alternations(items) -> Iterator[list]:
    """The branches of each alternation at the top level of parsed items (bare, or alone in a group)."""
    for op, value in items:
        if op is _sre_parse.SUBPATTERN and len(value[-1]) == 1:
            op, value = value[-1][0]
        if op is _sre_parse.BRANCH:
            yield value[1]
