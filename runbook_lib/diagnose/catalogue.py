"""The build-failure signature catalogue and classify_log: which known failure a build log shows.

Pure and self-contained: it takes log text and never calls the cloud. The catalogue is data
(runbook_lib/data/signatures.yaml); this module validates it, compiles it into fast literal scanners, and
ranks the signatures a log matches.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any, Callable, Iterator

from ..checks import read_yaml
from ..errors import ConfigError, ParameterError

try:  # the regex parser is only used to find each pattern's literal anchor
    from re import _parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "signatures.yaml"
BUILDERS = ("buildpacks", "dockerfile", "any")
SEVERITIES = ("error", "warning")
MIN_NEEDLE = 4
# Logs this long get needles chosen for them: from a sample of SAMPLE_CHARS at the start, middle and end
# (a bigger log has room for more kinds of line than the static ranking below foresees).
ADAPT_FROM_CHARS = 1_000_000
SAMPLE_CHARS = 32_768
MAX_LINES = 100        # line numbers kept per finding
MAX_EVIDENCE = 10      # evidence lines kept per finding
MAX_EVIDENCE_CHARS = 400
# How rare a character is in build logs, as a needle's first character (the default choice, and the
# tie-break when needles are chosen for a log): letters from most to least frequent, as counted over the
# fixture logs (real and hand-written; "build" everywhere makes b common, and every "Step #0 - ..." line
# starts with S, so S counts as common); anything else is rarer still.
_LETTERS_BY_FREQUENCY = "etoiranslducpgbfmhRyTkvEOwDZCPxBIFjUNAGMzLqHJYWVKXQ"
_COMMON = frozenset("0123456789 \t-./:_=\"',;()[]#S")


def _rarity(ch: str) -> int:
    if ch in _COMMON:
        return 0
    if ch in _LETTERS_BY_FREQUENCY:
        return 1 + _LETTERS_BY_FREQUENCY.index(ch)
    return 100


_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# a word naming an error, in any case; not part of a longer word (TERRORS, IOError, stderr, ftl_error)
_ERROR_WORD = re.compile(r"(?<![A-Za-z0-9_])error(?![A-Za-z0-9_])", re.IGNORECASE)
_KEYS = {"id", "title", "builder", "severity", "weight", "patterns", "cause", "fix", "sections"}
_SECTION_KEYS = {"name", "markers"}


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


@dataclass(frozen=True)
class Section:
    """A part of a build log (fetching the source, the build steps, the push ...) and the lines that open it."""
    name: str
    markers: tuple[str, ...]


@dataclass(frozen=True)
class _Pattern:
    signature: int        # index into Catalogue.signatures
    number: int           # index into the signature's patterns
    needles: tuple[str, ...]  # literals every match contains, the default (rarest-starting) one first
    regex: re.Pattern
    sections: frozenset[str] | None = None  # where its signature may match; None: anywhere


@dataclass(frozen=True)
class _Marker:
    section: str
    needle: str           # found with str.rfind, then the line meets the regex
    regex: re.Pattern


class Catalogue:
    """Validated signatures plus the compiled scanners that find candidate lines."""

    def __init__(self, signatures: list[Signature], source: str = "signatures.yaml",
                 sections: tuple[Section, ...] = (), uninformative: tuple[str, ...] = ()):
        self.signatures = signatures
        self.sections = sections
        self.uninformative = uninformative
        self.source = source
        self._by_id = {s.id: s for s in signatures}
        self._patterns: list[_Pattern] = []
        for si, sig in enumerate(signatures):
            allowed = frozenset(sig.sections) if sig.sections else None
            for pi, text in enumerate(sig.patterns):
                self._patterns.append(_Pattern(si, pi, _needles(text, f"signature '{sig.id}'", source),
                                               re.compile(text), allowed))
        # in file order: when markers of two sections match one line, the section listed first wins
        self._markers = [_Marker(sec.name, _needles(text, f"section '{sec.name}' marker", source)[0],
                                 re.compile(text)) for sec in sections for text in sec.markers]
        self._uninformative = [(_needles(text, "uninformative line", source)[0], re.compile(text))
                               for text in uninformative]
        self._default_needles = tuple(p.needles[0] for p in self._patterns)
        self._scanners: dict[tuple[str, ...], re.Pattern] = {}

    def get(self, signature_id: str) -> Signature:
        if signature_id not in self._by_id:
            raise ParameterError("signature", signature_id, f"choose one of {', '.join(sorted(self._by_id))}")
        return self._by_id[signature_id]

    def ids(self) -> list[str]:
        return [s.id for s in self.signatures]

    def matches(self, text: str) -> Iterator[tuple[int, str, int, int]]:
        """(line number, line, signature index, pattern number) for each pattern matching a line of text.

        One literal-alternation scan finds candidate lines, and only those lines meet the real regexes
        (_lines_hit), so huge logs stay fast. A pattern of a signature with sections counts only in those
        sections (or in no known section); sections are looked up only for such hits.
        """
        if not self._patterns:
            return
        needles = self._needles_for(text)
        search = self._scanner(needles).search
        patterns = list(zip(self._patterns, needles))
        where = _SectionTracker(self._markers, text)
        for lineno, start, end, line in _lines_hit(text, search):
            for p, needle in patterns:
                if needle in line and p.regex.search(line) and (p.sections is None or
                                                                where.allows(p.sections, start, end)):
                    yield lineno, line, p.signature, p.number

    def _needles_for(self, text: str) -> tuple[str, ...]:
        """One needle per pattern: the default ones, or for a big log those whose first characters are
        rarest in a sample of it (the scan's speed is set by how often those characters occur)."""
        if len(text) < ADAPT_FROM_CHARS:
            return self._default_needles
        seen: Counter[str] = Counter()
        for at in (0, len(text) // 2, len(text) - SAMPLE_CHARS):
            seen.update(text[at:at + SAMPLE_CHARS])
        return tuple(min(p.needles, key=lambda n: (seen[n[0]], -_rarity(n[0]), -len(n))) for p in self._patterns)

    def _scanner(self, needles: tuple[str, ...]) -> re.Pattern:
        """One regex finding any of the needles, compiled once per set of needles.

        An alternation whose branches all start with a literal keeps the regex engine's first-character
        prefilter (named groups per pattern would make the scan ~25x slower). At each position that
        passes it the engine tries the branches in turn, so the needles are grouped by first character:
        `k(?:ey: |nown: ...)|x(?:...)` tries one branch per character, not one per needle.
        """
        key = tuple(sorted(set(needles)))
        if key not in self._scanners:
            if len(self._scanners) >= 32:   # logs of many kinds: keep the cache small
                self._scanners.clear()
            branches = []
            for first, group in groupby(key, key=lambda n: n[0]):
                rests = sorted((n[1:] for n in group), key=lambda r: (-len(r), r))
                branches.append(re.escape(first) + (re.escape(rests[0]) if len(rests) == 1 else
                                                    "(?:" + "|".join(re.escape(r) for r in rests) + ")"))
            self._scanners[key] = re.compile("|".join(branches))
        return self._scanners[key]

    def lead_line(self, text: str) -> tuple[int, str]:
        """(line number, line) to read first when no signature matched, (0, "") when there is none.

        The first line naming an error, passing over lines the catalogue calls uninformative (a step's
        or a build's bare verdict, which says that something failed but not what), unless nothing else
        names one: then the first of those.
        """
        fallback: tuple[int, str] = (0, "")
        for lineno, _, _, line in _lines_hit(text, _ERROR_WORD.search):
            if not any(needle in line and regex.search(line) for needle, regex in self._uninformative):
                return lineno, line[:MAX_EVIDENCE_CHARS]
            if not fallback[0]:
                fallback = (lineno, line[:MAX_EVIDENCE_CHARS])
        return fallback


def _lines_hit(text: str, search: Callable[[str, int], re.Match | None]) -> Iterator[tuple[int, int, int, str]]:
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


class _SectionTracker:
    """The section a log line is in: that of the nearest marker line at or above it (None above all).

    Asked about lines in increasing order, it searches each stretch of the log once, backwards from the
    line asked about with str.rfind of each marker's literal: nothing when no hit needs a section, one
    pass over the log per marker at worst.
    """

    def __init__(self, markers: list[_Marker], text: str):
        self.markers = markers
        self.text = text
        self.searched_to = 0          # text[:searched_to] has been searched for markers
        self.section: str | None = None

    def allows(self, sections: frozenset[str], start: int, end: int) -> bool:
        """Whether the line text[start:end] is in one of `sections` or in no known section."""
        if end > self.searched_to:
            self._advance(end)
        return self.section is None or self.section in sections

    def _advance(self, end: int) -> None:
        text, floor = self.text, self.searched_to
        for marker in self.markers:   # file order: on one line the first listed marker wins
            hi = end
            while (at := text.rfind(marker.needle, floor, hi)) >= 0:
                line_start = text.rfind("\n", 0, at) + 1
                line_end = text.find("\n", at)
                line_end = len(text) if line_end < 0 else line_end
                if marker.regex.search(text[line_start:line_end].rstrip("\r")):
                    floor, self.section = line_end, marker.section  # later markers: only below this line
                    break
                hi = line_start
        self.searched_to = end


def _needles(pattern: str, owner: str, source: str) -> tuple[str, ...]:
    """Literals every match of the pattern contains, the one that starts with the rarest character first."""
    where = f"{source}: {owner} pattern {pattern!r}"
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as exc:
        raise ConfigError(f"{where} is not a valid regular expression: {exc}.") from None
    if parsed.state.flags & re.IGNORECASE:
        raise ConfigError(f"{where} uses (?i); patterns are case-sensitive, write the exact text instead.")
    runs, run = [], []
    for op, value in list(parsed) + [(None, None)]:
        if op is _sre_parse.LITERAL:
            run.append(chr(value))
            continue
        runs.append("".join(run))
        run = []
    # Any substring of a mandatory literal run is itself mandatory. Prefer one that starts with a
    # character that is rare in build logs: the scanner's speed is set by how often the first
    # characters of its needles occur in the text.
    candidates = [r[i:] for r in runs if "\n" not in r for i in range(len(r)) if len(r) - i >= MIN_NEEDLE]
    if not candidates:
        raise ConfigError(f"{where} needs a plain literal of at least {MIN_NEEDLE} characters outside groups "
                          "and alternations (split alternatives into separate patterns).")
    return tuple(sorted(candidates, key=lambda c: (-_rarity(c[0]), -len(c))))


def _text(entry: dict, key: str, where: str, source: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source}: {where}.{key} must be a non-empty text value, got {value!r}.")
    return " ".join(value.split())


def _sections(doc: dict, source: str) -> tuple[Section, ...]:
    entries = doc.get("sections", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'sections' must be a list of entries with a name and markers.")
    sections: list[Section] = []
    for n, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"section '{name}'" if isinstance(name, str) else f"sections[{n}]"
        if not isinstance(entry, dict) or not isinstance(name, str) or not _ID.match(name):
            raise ConfigError(f"{source}: {where}.name must be a lowercase hyphenated name, got {name!r}.")
        if any(s.name == name for s in sections):
            raise ConfigError(f"{source}: {where} is defined twice (duplicate name).")
        unknown = set(entry) - _SECTION_KEYS
        if unknown:
            raise ConfigError(f"{source}: {where} has unknown key(s) {sorted(unknown)}; "
                              f"allowed: {sorted(_SECTION_KEYS)}.")
        markers = entry.get("markers")
        if not isinstance(markers, list) or not markers or not all(isinstance(m, str) and m for m in markers):
            raise ConfigError(f"{source}: {where}.markers must be a non-empty list of regular expressions.")
        sections.append(Section(name, tuple(markers)))
    return tuple(sections)


def _allowed_sections(entry: dict, where: str, sections: tuple[Section, ...], source: str) -> tuple[str, ...]:
    wanted = entry.get("sections")
    if wanted is None:
        return ()
    names = [s.name for s in sections]
    if not isinstance(wanted, list) or not wanted or not all(isinstance(w, str) for w in wanted):
        raise ConfigError(f"{source}: {where}.sections must be a non-empty list of section names "
                          "(leave it out to match anywhere).")
    strangers = [w for w in wanted if w not in names]
    if strangers:
        raise ConfigError(f"{source}: {where}.sections names unknown section(s) {strangers}; defined: {names}.")
    return tuple(wanted)


def parse_catalogue(doc: object, source: str = "signatures.yaml") -> Catalogue:
    """Validate a parsed catalogue document; every problem names the file and the entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signatures"), list):
        raise ConfigError(f"{source}: the document must be a mapping with a 'signatures' list.")
    extra = set(doc) - {"version", "sections", "uninformative", "signatures"}
    if extra:
        raise ConfigError(f"{source}: top-level key(s) {sorted(extra)} are unknown; "
                          "allowed: ['sections', 'signatures', 'uninformative', 'version'].")
    sections = _sections(doc, source)
    uninformative = doc.get("uninformative", [])
    if not isinstance(uninformative, list) or not all(isinstance(u, str) and u for u in uninformative):
        raise ConfigError(f"{source}: 'uninformative' must be a list of regular expressions.")
    seen: set[str] = set()
    signatures: list[Signature] = []
    for n, entry in enumerate(doc["signatures"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: signatures[{n}] must be a mapping.")
        sig_id = entry.get("id")
        where = f"signature '{sig_id}'" if isinstance(sig_id, str) else f"signatures[{n}]"
        if not isinstance(sig_id, str) or not _ID.match(sig_id):
            raise ConfigError(f"{source}: {where}.id must be a lowercase hyphenated id, got {sig_id!r}.")
        if sig_id in seen:
            raise ConfigError(f"{source}: {where} is defined twice (duplicate id).")
        seen.add(sig_id)
        unknown = set(entry) - _KEYS
        if unknown:
            raise ConfigError(f"{source}: {where} has unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
        builder = entry.get("builder", "any")
        if builder not in BUILDERS:
            raise ConfigError(f"{source}: {where}.builder={builder!r} must be one of {', '.join(BUILDERS)}.")
        severity = entry.get("severity", "error")
        if severity not in SEVERITIES:
            raise ConfigError(f"{source}: {where}.severity={severity!r} must be one of {', '.join(SEVERITIES)}.")
        weight = entry.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
            raise ConfigError(f"{source}: {where}.weight must be a whole number from 0 to 100, got {weight!r}.")
        patterns = entry.get("patterns")
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise ConfigError(f"{source}: {where}.patterns must be a list of regular expressions.")
        if not patterns and sig_id != "unknown":
            raise ConfigError(f"{source}: {where}.patterns is empty; only 'unknown' may have no patterns.")
        fix = entry.get("fix")
        if isinstance(fix, str):
            fix = [fix]
        if not isinstance(fix, list) or not fix or not all(isinstance(f, str) and f.strip() for f in fix):
            raise ConfigError(f"{source}: {where}.fix must be one or more steps (a list of text).")
        signatures.append(Signature(sig_id, _text(entry, "title", where, source), builder, severity, weight,
                                    tuple(patterns), _text(entry, "cause", where, source),
                                    tuple(" ".join(f.split()) for f in fix),
                                    _allowed_sections(entry, where, sections, source)))
    if "unknown" not in seen:
        raise ConfigError(f"{source}: the catalogue needs an 'unknown' entry (used when nothing matches).")
    # compiles every pattern, marker and uninformative line: bad regexes fail here
    return Catalogue(signatures, source, sections, tuple(uninformative))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and validate a signature catalogue (default: the packaged signatures.yaml)."""
    if path is None:
        return _default_catalogue()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return _load(DEFAULT_CATALOGUE)


def _load(p: Path) -> Catalogue:
    return parse_catalogue(read_yaml(p, "catalogue", "signatures YAML file"), source=str(p))


# ----------------------------------------------------------------------------------------------
# classify a log


@dataclass
class Finding:
    signature: str
    title: str
    line: int                       # 1-based line of the first match (0: no line)
    lines: list[int]                # every matching line, capped at MAX_LINES
    evidence: list[str]             # matching lines' text, capped at MAX_EVIDENCE
    cause: str
    fix: list[str]
    score: float
    builder: str = "any"            # the builder this signature implies
    severity: str = "error"
    match_count: int = 0            # matching lines in total (not capped)

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.signature, "title": self.title, "line": self.line, "lines": list(self.lines),
                "evidence": list(self.evidence), "cause": self.cause, "fix": list(self.fix), "score": self.score,
                "builder": self.builder, "severity": self.severity, "match_count": self.match_count}

    @classmethod
    def of(cls, sig: Signature, line: int = 0, lines: list[int] | None = None, evidence: list[str] | None = None,
           score: float = 0.0, count: int = 0) -> Finding:
        """A finding of signature `sig`; the defaults describe a signature named without a log line."""
        return cls(sig.id, sig.title, line, list(lines or []), list(evidence or []), sig.cause, list(sig.fix), score,
                   sig.builder, sig.severity, count)


def classify_log(text: str | bytes, catalogue: Catalogue | str | Path | None = None) -> list[Finding]:
    """Findings for a build log, best first; a single `unknown` finding when no signature matches.

    Ranked by signature weight, then by how many distinct patterns of the signature matched, then by
    the earliest line. A signature with sections counts only lines in them. Fast on huge logs (see
    Catalogue.matches).
    """
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ParameterError("text", type(text).__name__, "give the build log as text (str or bytes)")
    acc: dict[int, dict] = {}
    for lineno, line, si, number in cat.matches(text):
        a = acc.setdefault(si, {"lines": [], "evidence": [], "patterns": set(), "count": 0})
        a["patterns"].add(number)
        if not a["lines"] or a["lines"][-1] != lineno:
            a["count"] += 1
            if len(a["lines"]) < MAX_LINES:
                a["lines"].append(lineno)
            if len(a["evidence"]) < MAX_EVIDENCE:
                a["evidence"].append(line[:MAX_EVIDENCE_CHARS])
    findings = []
    for si, a in acc.items():
        sig = cat.signatures[si]
        score = sig.weight + min(len(a["patterns"]), 5) / 10  # specificity: more distinct patterns agree
        findings.append(Finding.of(sig, a["lines"][0], a["lines"], a["evidence"], score, a["count"]))
    findings.sort(key=lambda f: (-f.score, f.line))
    if findings:
        return findings
    line, evidence = cat.lead_line(text)
    sig = cat.get("unknown")
    return [Finding.of(sig, line, [line] if line else [], [evidence] if evidence else [], float(sig.weight),
                       1 if line else 0)]

