"""classify_log on whole build logs: a real failure read below the healthy text a whole log holds above it.

The real failure logs (tests/fixtures/logs/real/) are excerpts of at most 60 lines; in production the kit reads
whole Cloud Build logs, where every step's output, download chatter, deprecation warnings and steps that shrug
off an error come first. tests/fixtures/logs/healthy/ holds real logs of builds and deploys that succeeded (or
the part of a failed one above its failure; SOURCES.md says which): healthy text, which must never become the
finding nor move it.

A healthy log that ends its build (Cloud Build's DONE, pack's `Successfully built image`, a GitHub Actions job's
last line, catalogue `finished`) leaves nothing behind: a failure read below it must read exactly as alone. One
cut short above its own build's failure, or framed as a Cloud Build step's output (`Step #0 - "build": `), puts
the failure inside that build: the section it is in and the builder it comes from are then the build's (a
gsutil error in a build step is no source fetch, a failure below buildpacks output with no cause of its own is a
buildpacks failure), so only the line read first is held to the excerpt's.

Every excerpt is read alone, below two finished healthy logs and below one of the others, chosen by a hash of
its name (the same each run; all pairs take minutes, these seconds).
"""
from __future__ import annotations

import functools
import zlib

import pytest

from runbook_lib.diagnose import MAX_EVIDENCE_CHARS, Finding, classify_log
from runbook_lib.diagnose.lines import is_quoted, unwrapped
from test_classify_real import MANIFEST, REAL, UNMEASURED

HEALTHY = REAL.parent / "healthy"
HEALTHY_LOGS = {p.name: p.read_text(encoding="utf-8") for p in sorted(HEALTHY.glob("*.txt"))}
# the healthy logs that end their build (the others are the part above their own build's failure)
FINISHED = {"app-engine-flex--learn-gcp-spikey-coupon-demo.txt",
            "cloud-build-docker-run-deploy--ai-rag-system-cloudbuild-log.txt",
            "cloud-functions-deploy--cloud-build-integration-readme.txt",
            "pack-go--kubecon-containers-quiz-shell-out.txt",
            "pack-java-maven--clijockey-gcp-demos.txt",
            "run-deploy-source-github-actions--thesituationroomai-run-22103564465.txt"}
# (not the excerpts a terminal hard-wrapped: the same terminal would have wrapped the healthy build above them)
EXCERPTS = {name: text for name, entry in MANIFEST.items() if entry["set"] not in UNMEASURED
            if unwrapped(text := (REAL / name).read_text(encoding="utf-8"))[1] is None}


def _framed(text: str) -> str:
    """The text as Cloud Build frames a step's output: each line behind the step's prefix."""
    return "\n".join(f'Step #0 - "build": {line}' if line else line for line in text.split("\n"))


def _prefix(text: str, excerpt: str = "") -> str:
    """The healthy text above an excerpt, quoted as the excerpt is (a poster who quotes a log quotes all of it)."""
    text = text if text.endswith("\n") else text + "\n"
    if is_quoted(excerpt):
        text = "".join(f"> {line}" if line.strip() else line for line in text.splitlines(keepends=True))
    return text


@functools.cache
def _alone(name: str) -> Finding:
    """The top finding of an excerpt read alone (each test process reads only the excerpts its tests take)."""
    return classify_log(EXCERPTS[name])[0]


PARTS = [(healthy, "as posted") for healthy in sorted(set(HEALTHY_LOGS) - FINISHED)] + \
        [(healthy, "in Cloud Build's framing") for healthy in sorted(HEALTHY_LOGS)]


def _below(prefixes: list, picks: int) -> dict:
    """For each of `prefixes`, the excerpts read below it: `picks` of them per excerpt, by a hash of its name."""
    chosen: dict = {prefix: [] for prefix in prefixes}
    for name in EXCERPTS:
        h = zlib.crc32(name.encode())
        for k in range(picks):
            chosen[prefixes[(h + k * (len(prefixes) // picks)) % len(prefixes)]].append(name)
    return chosen


def _first_line_cut(text: str) -> bool:
    """Whether a poster's copy begins mid-line: its first line lacks the git `remote: ` prefix every other line has
    (in a whole log that line carries it, and with it the builder it is read as the output of)."""
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) > 2 and not lines[0].startswith("remote:") and all(l.startswith("remote:") for l in lines[1:])


BELOW_FINISHED = _below(sorted(FINISHED), 2)
# (the part of a build above an excerpt is another tool's output, which an excerpt's cut first line would be read as,
# so one read alone at that line is not held to it there)
BELOW_PART = {part: [name for name in names if not (_first_line_cut(EXCERPTS[name]) and _alone(name).line == 1)]
              for part, names in _below(PARTS, 1).items()}


def test_the_healthy_logs_are_cited_and_long():
    sources = (HEALTHY / "SOURCES.md").read_text(encoding="utf-8")
    assert len(HEALTHY_LOGS) >= 8 and FINISHED <= set(HEALTHY_LOGS)
    for name, text in HEALTHY_LOGS.items():
        assert f"`{name}`" in sources, f"{name} has no entry in SOURCES.md"
        assert len(text.split("\n")) >= 60, name
    assert sum(len(text.split("\n")) >= 250 for text in HEALTHY_LOGS.values()) >= 5


@pytest.mark.parametrize("framing", ["as posted", "in Cloud Build's framing"])
@pytest.mark.parametrize("name", list(HEALTHY_LOGS))
def test_a_healthy_log_alone_shows_no_failure(name, framing):
    text = HEALTHY_LOGS[name] if framing == "as posted" else _framed(HEALTHY_LOGS[name])
    findings = classify_log(text)
    assert [(f.signature, f.line) for f in findings if f.severity == "error"] == []


@pytest.mark.parametrize("healthy", sorted(FINISHED))
def test_a_real_failure_below_a_finished_healthy_build_reads_as_it_does_alone(healthy):
    changed = []
    for name in BELOW_FINISHED[healthy]:
        text = EXCERPTS[name]
        prefix = _prefix(HEALTHY_LOGS[healthy], text)
        shift = prefix.count("\n")
        alone, top = _alone(name), classify_log(prefix + text)[0]
        expected = (alone.signature, alone.line + shift if alone.line else 0, alone.evidence[:1])
        if (top.signature, top.line, top.evidence[:1]) != expected:
            changed.append(f"{name}: {alone.signature}@{alone.line} -> {top.signature}@{top.line - shift}")
    assert changed == []


@pytest.mark.parametrize("healthy, framing", PARTS)
def test_healthy_text_of_the_build_that_failed_is_never_read_first(healthy, framing):
    text = HEALTHY_LOGS[healthy] if framing == "as posted" else _framed(HEALTHY_LOGS[healthy])
    wrong = []
    for name in BELOW_PART[(healthy, framing)]:
        excerpt = EXCERPTS[name]
        prefix = _prefix(text, excerpt)
        shift = prefix.count("\n")
        alone, top = _alone(name), classify_log(prefix + excerpt)[0]
        if top.line and top.line <= shift:
            wrong.append(f"{name}: reads healthy line {top.line}: {top.evidence[0][:80]}")
        elif top.signature == alone.signature and (top.line - shift if top.line else 0) != alone.line:
            wrong.append(f"{name}: {alone.signature}@{alone.line} -> @{top.line - shift}")
        elif top.line:   # the evidence quotes the very line read
            assert top.evidence[0] == (prefix + excerpt).split("\n")[top.line - 1][:MAX_EVIDENCE_CHARS], name
    assert wrong == []
