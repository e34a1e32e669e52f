"""The signature catalogue's file: runbook_lib/data/signatures.yaml read and validated into a Catalogue.

Every problem names the file and the entry (a ConfigError); the compiling of patterns into scanners is
catalogue.py's.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ..checks import read_yaml
from ..errors import ConfigError
from .catalogue import ANY_BUILDER, BUILDERS, SEVERITIES, Below, Catalogue, Marked, NotBelow, Signature

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "signatures.yaml"
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_KEYS = {"id", "title", "builder", "severity", "weight", "patterns", "cause", "fix", "sections", "anywhere",
         "builder_output", "recovered_by", "ruled_out_by", "platforms", "below", "not_in_output_of",
         "not_below"}
_MARKED_KEYS = {"name", "markers", "fallback", "out_of_order"}   # keys of a section or a builder entry
_TOP_KEYS = {"version", "sections", "uninformative", "builders", "platforms", "finished", "summaries", "reports",
             "usage_errors", "handed_over",
             "output_starts", "signatures"}
_REPORT_KEYS = {"opens", "telling", "failure", "next", "past", "ends", "above"}


def _text(entry: dict, key: str, where: str, source: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source}: {where}.{key} must be a non-empty text value, got {value!r}.")
    return " ".join(value.split())


def _marked(doc: dict, key: str, kind: str, source: str) -> tuple[Marked, ...]:
    """The `sections` or `builders` entries: each a name, the markers that recognise it, an optional fallback."""
    entries = doc.get(key, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: '{key}' must be a list of entries with a name and markers.")
    made: list[Marked] = []
    for n, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"{kind} '{name}'" if isinstance(name, str) else f"{key}[{n}]"
        if not isinstance(entry, dict) or not isinstance(name, str) or not _ID.match(name):
            raise ConfigError(f"{source}: {where}.name must be a lowercase hyphenated name, got {name!r}.")
        if any(m.name == name for m in made):
            raise ConfigError(f"{source}: {where} is defined twice (duplicate name).")
        unknown = set(entry) - _MARKED_KEYS
        if unknown:
            raise ConfigError(f"{source}: {where} has unknown key(s) {sorted(unknown)}; "
                              f"allowed: {sorted(_MARKED_KEYS)}.")
        markers = entry.get("markers")
        if not isinstance(markers, list) or not markers or not all(isinstance(m, str) and m for m in markers):
            raise ConfigError(f"{source}: {where}.markers must be a non-empty list of regular expressions.")
        fallback = entry.get("fallback")
        if fallback is not None and not isinstance(fallback, str):
            raise ConfigError(f"{source}: {where}.fallback must be a signature id, got {fallback!r}.")
        out_of_order = entry.get("out_of_order", False)
        if not isinstance(out_of_order, bool) or (out_of_order and key != "builders"):
            raise ConfigError(f"{source}: {where}.out_of_order must be true or false, and only on a builder.")
        made.append(Marked(name, tuple(markers), fallback, out_of_order))
    return tuple(made)


def _regexes(entry: dict, key: str) -> list[str] | None:
    """A report's `key` (`opens`, `telling`, `past`, `ends` or `above`) as a list of regexes (none given: empty); None
    when it is neither a regex nor a list of them."""
    value = entry.get(key, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or (key in entry and not items) or \
            not all(isinstance(item, str) and item for item in items):
        return None
    return items


def _reports(doc: dict, source: str) -> tuple[dict, ...]:
    """The `reports` entries: each an `opens` regex or list of regexes (wordings of one report's first line, each
    with a literal of its own), an optional `telling` regex or list of regexes (none: the first line below with text
    of its own), an optional `failure` flag (the telling line may also be any that names an error or a failure, or
    says something was not found), or instead `past`, the report's own lines that the telling line is the first below
    to meet none of (a chain of wrapped errors), an optional `next` flag, optional `ends`, the lines that close the
    report (no telling line is looked for past one), and optional `above`, lines that close it saying its output was
    printed above it (the telling line is then looked for there); all come back as lists."""
    entries = doc.get("reports", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'reports' must be a list of entries with `opens` (and `telling`, `next`).")
    made = []
    for n, entry in enumerate(entries):
        lists = {key: _regexes(entry, key) if isinstance(entry, dict) else None
                 for key in ("opens", "telling", "past", "ends", "above")}
        if None in lists.values() or ("past" in entry and ("telling" in entry or "failure" in entry)) or \
                not {"opens"} <= set(entry) <= _REPORT_KEYS or \
                not isinstance(entry.get("next", False), bool) or not isinstance(entry.get("failure", False), bool):
            raise ConfigError(f"{source}: reports[{n}] must have `opens` (a regular expression or a list of them) and "
                              "may have `telling` or `past` (a regular expression or a list of them), `failure` (true "
                              "or false; not with `past`), `next` (true or false) and `ends` and `above` (a regular "
                              "expression or a list of them).")
        made.append({**entry, **lists})
    return tuple(made)


def _allowed_sections(entry: dict, where: str, sections: tuple[Marked, ...], source: str) -> tuple[str, ...]:
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


def _regex_list(doc: dict, key: str, source: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of regular expressions.")
    return tuple(value)


def _patterns(entry: dict, where: str, source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(patterns, the ones of them that are summary lines too) of a signature. A pattern written `- summary: '...'`
    is a verdict that names the signature and is read at the cause above it (`State changed from starting to
    crashed`): written once, it is a pattern of the signature and one of the catalogue's `summaries`."""
    entries = entry.get("patterns")
    problem = f"{source}: {where}.patterns must be a list of regular expressions (each a text, or `summary: <text>`)."
    if not isinstance(entries, list):
        raise ConfigError(problem)
    patterns: list[str] = []
    summaries: list[str] = []
    for item in entries:
        if isinstance(item, dict) and set(item) == {"summary"}:
            item = item["summary"]
            if isinstance(item, str) and item:
                summaries.append(item)
        if not isinstance(item, str) or not item:
            raise ConfigError(problem)
        patterns.append(item)
    return tuple(patterns), tuple(summaries)


def _below(entry: dict, where: str, source: str) -> Below | None:
    """A signature's `below` (catalogue.Below); None when it has none."""
    value = _lines_within(entry, "below", ("lines", "within", "patterns"), where, source)
    return Below(tuple(value["patterns"]), tuple(value["lines"]), value["within"]) if value else None


def _not_below(entry: dict, where: str, source: str) -> NotBelow | None:
    """A signature's `not_below` (catalogue.NotBelow); None when it has none."""
    value = _lines_within(entry, "not_below", ("lines", "stops", "within"), where, source)
    return NotBelow(tuple(value["lines"]), tuple(value["stops"]), value["within"]) if value else None


def _lines_within(entry: dict, key: str, keys: tuple[str, ...], where: str, source: str) -> dict | None:
    """A signature's `below` or `not_below`, checked: a mapping of exactly `keys`, each a non-empty list of regular
    expressions but `within`, a whole number of lines from 0 to 20; None when the signature has none."""
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(keys):
        *first, last = (f"'{k}'" for k in keys)
        raise ConfigError(f"{source}: {where}.{key} must be a mapping with {', '.join(first)} and {last}.")
    for name in keys:
        items = value[name]
        if name != "within" and (not isinstance(items, list) or not items or
                                 not all(isinstance(i, str) and i for i in items)):
            raise ConfigError(f"{source}: {where}.{key}.{name} must be a non-empty list of regular expressions.")
    within = value["within"]
    if not isinstance(within, int) or isinstance(within, bool) or not 0 <= within <= 20:
        raise ConfigError(f"{source}: {where}.{key}.within must be a whole number of lines from 0 to 20, "
                          f"got {within!r}.")
    return value


def _builder_output(entry: dict, where: str, builders: tuple[Marked, ...],
                    source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(builder names, patterns) of a signature's `builder_output`; empty when it has none."""
    value = entry.get("builder_output")
    if value is None:
        return (), ()
    names = [b.name for b in builders]
    if not isinstance(value, dict) or set(value) != {"builders", "patterns"}:
        raise ConfigError(f"{source}: {where}.builder_output must be a mapping with 'builders' and 'patterns'.")
    owners, patterns = value["builders"], value["patterns"]
    if not isinstance(owners, list) or not owners or not all(isinstance(o, str) for o in owners):
        raise ConfigError(f"{source}: {where}.builder_output.builders must be a non-empty list of builder names.")
    _check_builder_names(owners, f"{source}: {where}.builder_output.builders", names + [ANY_BUILDER], names)
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ConfigError(f"{source}: {where}.builder_output.patterns must be a non-empty list of regular expressions.")
    return tuple(owners), tuple(patterns)


def _not_in_output_of(entry: dict, where: str, builders: tuple[Marked, ...], source: str) -> tuple[str, ...]:
    """A signature's `not_in_output_of`: names of the catalogue's builders in whose output it never counts."""
    value = entry.get("not_in_output_of", [])
    names = [b.name for b in builders]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {where}.not_in_output_of must be a list of builder names.")
    _check_builder_names(value, f"{source}: {where}.not_in_output_of", names, names)
    return tuple(value)


def _check_builder_names(given: list[str], what: str, allowed: list[str], defined: list[str]) -> None:
    """Refuse, in one sentence, a list of builder names (`what`) with a name not in `allowed`."""
    strangers = [name for name in given if name not in allowed]
    if strangers:
        raise ConfigError(f"{what} names unknown builder(s) {strangers}; defined: {defined}.")


def _advice(entry: dict, where: str, platforms: tuple[Marked, ...],
            source: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A signature's `platforms`: for each platform named in the catalogue, its own `cause` and `fix`."""
    value = entry.get("platforms", {})
    names = [p.name for p in platforms]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {where}.platforms must map platform names to a cause and a fix.")
    advice = []
    for name, said in value.items():
        if name not in names:
            raise ConfigError(f"{source}: {where}.platforms names unknown platform {name!r}; defined: {names}.")
        if not isinstance(said, dict) or set(said) != {"cause", "fix"}:
            raise ConfigError(f"{source}: {where}.platforms.{name} must have exactly a cause and a fix.")
        advice.append((name, _text(said, "cause", f"{where}.platforms.{name}", source),
                       _steps(said, f"{where}.platforms.{name}", source)))
    return tuple(advice)


def _steps(entry: dict, where: str, source: str) -> tuple[str, ...]:
    fix = entry.get("fix")
    if isinstance(fix, str):
        fix = [fix]
    if not isinstance(fix, list) or not fix or not all(isinstance(f, str) and f.strip() for f in fix):
        raise ConfigError(f"{source}: {where}.fix must be one or more steps (a list of text).")
    return tuple(" ".join(f.split()) for f in fix)


def parse_catalogue(doc: object, source: str = "signatures.yaml") -> Catalogue:
    """Validate a parsed catalogue document; every problem names the file and the entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signatures"), list):
        raise ConfigError(f"{source}: the document must be a mapping with a 'signatures' list.")
    extra = set(doc) - _TOP_KEYS
    if extra:
        raise ConfigError(f"{source}: top-level key(s) {sorted(extra)} are unknown; allowed: {sorted(_TOP_KEYS)}.")
    sections = _marked(doc, "sections", "section", source)
    uninformative, summaries, output_starts, finished, usage_errors, handed_over = (
        _regex_list(doc, key, source)
        for key in ("uninformative", "summaries", "output_starts", "finished", "usage_errors", "handed_over"))
    builders = _marked(doc, "builders", "builder", source)
    platforms = _marked(doc, "platforms", "platform", source)
    reports = _reports(doc, source)
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
        patterns, verdicts = _patterns(entry, where, source)
        summaries += verdicts
        if not patterns and sig_id != "unknown":
            raise ConfigError(f"{source}: {where}.patterns is empty; only 'unknown' may have no patterns.")
        output_builders, builder_output = _builder_output(entry, where, builders, source)
        anywhere = _regex_list(entry, "anywhere", f"{source}: {where}")
        if anywhere and not entry.get("sections"):
            raise ConfigError(f"{source}: {where}.anywhere needs `sections`: without them every pattern matches "
                              "anywhere already (list these under patterns).")
        signatures.append(Signature(sig_id, _text(entry, "title", where, source), builder, severity, weight,
                                    tuple(patterns), _text(entry, "cause", where, source),
                                    _steps(entry, where, source),
                                    _allowed_sections(entry, where, sections, source), builder_output,
                                    output_builders, _regex_list(entry, "recovered_by", f"{source}: {where}"),
                                    _regex_list(entry, "ruled_out_by", f"{source}: {where}"),
                                    _advice(entry, where, platforms, source), anywhere,
                                    _below(entry, where, source), _not_in_output_of(entry, where, builders, source),
                                    _not_below(entry, where, source)))
    if "unknown" not in seen:
        raise ConfigError(f"{source}: the catalogue needs an 'unknown' entry (used when nothing matches).")
    if any(p.fallback for p in platforms):
        raise ConfigError(f"{source}: a platform has no fallback (sections and builders do); remove it.")
    for kind, entries in (("builder", builders), ("section", sections)):
        for e in entries:
            if e.fallback is not None and e.fallback not in seen:
                raise ConfigError(f"{source}: {kind} '{e.name}'.fallback names unknown signature {e.fallback!r}.")
    # compiles every pattern, marker and listed line: bad regexes fail here
    return Catalogue(signatures, source, sections, uninformative, builders, summaries, output_starts, reports,
                     finished, platforms, usage_errors, handed_over)


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
