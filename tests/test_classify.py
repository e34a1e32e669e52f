"""classify_log and the signature catalogue: fixture logs written like real Cloud Build output."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from buildlog_helpers import top_of

from runbook_lib.diagnose import (DEFAULT_CATALOGUE, MAX_LINES, Finding, classify_log, load_catalogue,
                                  parse_catalogue)
from runbook_lib.diagnose import catalogue as catalogue_module
from runbook_lib.diagnose import literal_scan
from runbook_lib.diagnose.lines import ERROR_WORD, FAILURE_WORD, lines_hit, names_failure, without_decoration
from runbook_lib.errors import ConfigError, ParameterError

LOGS = Path(__file__).parent / "fixtures" / "logs"
REQUIRED_IDS = [
    "buildpacks-no-entrypoint", "buildpacks-detect-failed", "buildpacks-python-version", "dockerfile-not-in-upload",
    "docker-copy-source-missing", "pip-install-failed", "push-permission-denied", "build-timeout",
    "source-fetch-failed", "container-start-failed", "unknown",
]

# fixture -> (top signature, 1-based line of its first matching line); read the fixture to check by eye
EXPECTED = {
    "buildpacks-no-entrypoint-1.txt": ("buildpacks-no-entrypoint", 41),
    "buildpacks-no-entrypoint-2.txt": ("buildpacks-no-entrypoint", 29),
    "buildpacks-detect-failed-1.txt": ("buildpacks-detect-failed", 24),
    "buildpacks-detect-failed-2.txt": ("buildpacks-detect-failed", 20),
    "buildpacks-python-version-1.txt": ("buildpacks-python-version", 22),
    "buildpacks-python-version-2.txt": ("buildpacks-python-version", 16),
    "dockerfile-not-in-upload-1.txt": ("dockerfile-not-in-upload", 11),
    "dockerfile-not-in-upload-2.txt": ("dockerfile-not-in-upload", 16),
    "docker-copy-source-missing-1.txt": ("docker-copy-source-missing", 22),
    "docker-copy-source-missing-2.txt": ("docker-copy-source-missing", 23),
    "pip-install-failed-1.txt": ("pip-install-failed", 25),
    "pip-install-failed-2.txt": ("pip-install-failed", 21),   # the package's own error inside pip's report
    "push-permission-denied-1.txt": ("push-permission-denied", 20),
    "push-permission-denied-2.txt": ("push-permission-denied", 19),
    "build-timeout-1.txt": ("build-timeout", 22),
    "build-timeout-2.txt": ("build-timeout", 16),
    "source-fetch-failed-1.txt": ("source-fetch-failed", 5),
    "source-fetch-failed-2.txt": ("source-fetch-failed", 5),
    "container-start-failed-1.txt": ("container-start-failed", 9),
    "container-start-failed-2.txt": ("container-start-failed", 5),   # the exception above Cloud Run's verdicts
    "buildpacks-build-failed-1.txt": ("buildpacks-build-failed", 17),
    "buildpacks-build-failed-2.txt": ("buildpacks-build-failed", 9),  # the cause under `failed to build: (error ID)`
    "unknown-1.txt": ("unknown", 14),   # no signature: the failed step's line naming a failure
    "unknown-2.txt": ("unknown", 0),    # a successful build: nothing to point at
}


def test_every_fixture_is_in_the_table_and_every_required_id_has_two():
    on_disk = {p.name for p in LOGS.glob("*.txt")}
    assert on_disk == set(EXPECTED)
    for sig in REQUIRED_IDS:
        assert sum(1 for s, _ in EXPECTED.values() if s == sig) >= 2, sig


def test_the_catalogue_has_every_required_id():
    ids = load_catalogue().ids()
    for sig in REQUIRED_IDS:
        assert sig in ids


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_top_finding_and_line(name):
    text = (LOGS / name).read_text()
    findings = classify_log(text)
    signature, line = EXPECTED[name]
    top = findings[0]
    assert isinstance(top, Finding)
    assert (top.signature, top.line) == (signature, line)
    if line:
        full = text.splitlines()[line - 1]
        assert top.evidence[0] == full[:len(top.evidence[0])] and len(top.evidence[0]) == min(len(full), 400)
        assert top.lines[0] == line
    assert top.cause and top.fix and top.title


def test_findings_are_ranked_by_weight_not_by_position():
    text = (LOGS / "buildpacks-no-entrypoint-2.txt").read_text()
    findings = classify_log(text)
    ids = [f.signature for f in findings]
    # The generic buildpacks failure matches a line earlier but is the weaker explanation.
    assert ids[:2] == ["buildpacks-no-entrypoint", "buildpacks-build-failed"]
    assert min(findings[1].lines) < findings[0].line
    assert findings[0].score > findings[1].score


def test_equal_weight_ranks_earliest_first():
    doc = {"signatures": [
        {"id": "late", "title": "t", "weight": 50, "patterns": ["BETA happened"], "cause": "c.", "fix": ["f"]},
        {"id": "early", "title": "t", "weight": 50, "patterns": ["ALPHA happened"], "cause": "c.", "fix": ["f"]},
        {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]},
    ]}
    findings = classify_log("x\nALPHA happened\nBETA happened\n", parse_catalogue(doc))
    assert [(f.signature, f.line) for f in findings] == [("early", 2), ("late", 3)]


def test_equal_weight_ranks_more_distinct_patterns_first():
    doc = {"signatures": [
        {"id": "one", "title": "t", "weight": 50, "patterns": ["ALPHA happened"], "cause": "c.", "fix": ["f"]},
        {"id": "two", "title": "t", "weight": 50, "patterns": ["BETA happened", "GAMMA happened"], "cause": "c.",
         "fix": ["f"]},
        {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]},
    ]}
    cat = parse_catalogue(doc)
    # two distinct patterns of `two` outrank one pattern of `one`, although `one` matched first
    findings = classify_log("ALPHA happened\nBETA happened\nGAMMA happened\n", cat)
    assert [(f.signature, f.line) for f in findings] == [("two", 2), ("one", 1)]
    assert findings[0].score > findings[1].score
    # the same pattern twice is still one pattern: back to the earliest line
    findings = classify_log("ALPHA happened\nBETA happened\nBETA happened\n", cat)
    assert [(f.signature, f.line) for f in findings] == [("one", 1), ("two", 2)]


def test_shipped_signatures_of_equal_weight_are_told_apart_by_distinct_patterns():
    cat = load_catalogue()
    assert cat.get("source-fetch-failed").weight == cat.get("docker-copy-source-missing").weight
    build = 'starting build "0a1b2c3d"'   # gsutil's words mean a failed fetch only in a log that shows a build
    fetch = "BucketNotFoundException: 404 gs://PROJECT_ID_cloudbuild bucket does not exist."
    copy_failed = ("COPY failed: file not found in build context or excluded by .dockerignore: "
                   "stat app.py: file does not exist")
    cache_key = 'ERROR: failed to solve: failed to compute cache key: "/app.py": not found'
    two = classify_log("\n".join([build, fetch, copy_failed, cache_key]), cat)
    assert [f.signature for f in two[:2]] == ["docker-copy-source-missing", "source-fetch-failed"]
    assert two[0].line == 3
    one = classify_log("\n".join([build, fetch, copy_failed]), cat)
    assert [f.signature for f in one[:2]] == ["source-fetch-failed", "docker-copy-source-missing"]


def test_finding_to_dict_is_json():
    finding = classify_log((LOGS / "pip-install-failed-1.txt").read_text())[0]
    data = json.loads(json.dumps(finding.to_dict()))
    assert data["signature"] == "pip-install-failed"
    assert data["lines"] == [25, 26, 27]
    assert data["match_count"] == 3
    assert "nba-scrapers-common==0.4.2" in data["evidence"][0]


def test_unknown_points_at_the_first_line_naming_an_error():
    text = ("Step #0: all good\nStep #0: TERRORS, IOError, stderr and ftl_error.py are no such words\n"
            "Step #1: ERROR: something new broke\nERROR\n")
    findings = classify_log(text)
    assert len(findings) == 1
    assert (findings[0].signature, findings[0].line) == ("unknown", 3)
    assert findings[0].evidence == ["Step #1: ERROR: something new broke"]


def test_unknown_passes_over_a_bare_failed_verdict_for_the_line_that_says_why():
    # newest-first console order: the verdicts come first; lower case counts as much as upper case
    text = ('ERROR: build step 1 "gcr.io/some/builder" failed: step exited with non-zero status: 1\nERROR\n'
            "Step #1: Traceback (most recent call last):\nStep #1: error: `composer_install` returned code: 1\n")
    top = classify_log(text)[0]
    assert (top.signature, top.line) == ("unknown", 4)
    # with nothing else naming an error, and no output of the failed step, the first verdict is still the lead
    only_verdicts = "Finished Step #0\nERROR\nERROR: build step 0 \"gcr.io/x\" failed: exit status 1\n"
    assert classify_log(only_verdicts)[0].line == 2


def test_empty_log_is_unknown_with_no_line():
    findings = classify_log("")
    assert [(f.signature, f.line, f.lines) for f in findings] == [("unknown", 0, [])]


def test_bytes_and_crlf_give_the_same_lines():
    text = (LOGS / "dockerfile-not-in-upload-1.txt").read_text()
    crlf = text.replace("\n", "\r\n").encode()
    a, b = classify_log(text)[0], classify_log(crlf)[0]
    assert (a.signature, a.line) == (b.signature, b.line)
    assert b.evidence == a.evidence and not b.evidence[0].endswith("\r")


def test_match_on_first_and_last_line_without_newline():
    text = "No buildpack groups passed detection.\nnoise\nnoise\nfailed to detect: no buildpacks participating"
    top = classify_log(text)[0]
    assert top.signature == "buildpacks-detect-failed"
    assert top.lines == [1, 4]


def test_timeout_line_alone_or_after_a_timestamp():
    text = "a\n2025-12-30T03:25:11.902500Z TIMEOUT\nTIMEOUT\nBUILD_TIMEOUT\nTIMEOUT: 600s\n"
    top = classify_log(text)[0]
    assert (top.signature, top.lines) == ("build-timeout", [2, 3])


def test_not_a_string_is_a_parameter_error():
    with pytest.raises(ParameterError, match="text="):
        classify_log(12345)


def _big_log(megabytes: float, signals: dict[int, str], seed: int = 3,
             hashes: int | None = None) -> tuple[str, dict[int, int]]:
    """Noise lines with signal lines at given line indexes; returns text and {index: 1-based line}. With `hashes`,
    the noise's layer hashes are drawn from that many, so few noise lines are distinct."""
    rng = random.Random(seed)
    pool = [f"{rng.getrandbits(40):010x}" for _ in range(hashes)] if hashes else None
    noise = [
        'Step #0 - "build": Collecting pandas==2.2.{n} (from -r requirements.txt (line {n}))',
        'Step #1 - "push": {h}: Layer already exists',
        'Step #0 - "build": Step {n}/14 : RUN pip install --no-cache-dir -r requirements.txt',
        'Step #2 - "deploy": 2025-12-31T01:4{d}:03Z INFO Permission check ok for {h} (error budget {n})',
    ]
    lines, size = [], 0
    while size < megabytes * 1_000_000:
        h = rng.choice(pool) if pool else f"{rng.getrandbits(40):010x}"
        line = rng.choice(noise).format(n=rng.randint(1, 99), d=rng.randint(0, 9), h=h)
        lines.append(line)
        size += len(line) + 1
    assert len(lines) > max(signals, default=0), "make the log bigger"
    for index in sorted(signals):
        lines.insert(index, signals[index])
    where = {index: lines.index(signals[index]) + 1 for index in signals}
    assert sorted(where.values()) == [i + 1 for i in sorted(signals)]
    return "\n".join(lines) + "\n", where


def test_large_generated_log_finds_the_signals_with_exact_lines():
    signals = {
        1000: 'Step #0 - "build": ERROR: No matching distribution found for nba-internal==9.9.9',
        60_000: 'Step #0 - "build": Failure: (ID: 5ad3d0ea) for Python, provide a main.py or app.py file or set '
                'an entrypoint with "GOOGLE_ENTRYPOINT" env var or by creating a "Procfile" file',
    }
    text, where = _big_log(6, signals)
    assert len(text) > 5_000_000
    findings = classify_log(text)
    assert [f.signature for f in findings] == ["buildpacks-no-entrypoint", "pip-install-failed",
                                               "buildpacks-build-failed"]
    assert findings[0].line == where[60_000]
    assert findings[1].line == where[1000]
    assert text.splitlines()[findings[0].line - 1] == signals[60_000]


def _real_lines_in_noise(spacing: int) -> str:
    """Every line of every real log (tests/fixtures/logs/real), one each `spacing` lines of pip noise (of few
    distinct lines: a reference that meets every pattern with every distinct line is spent on the real ones)."""
    real = [line for path in sorted((LOGS / "real").glob("*.txt")) for line in path.read_text().splitlines()]
    noise, _ = _big_log(len(real) * spacing * 80 / 1_000_000, {}, hashes=4)   # noise lines are under 80 characters
    lines = noise.splitlines()
    for i, line in enumerate(real):
        lines.insert(i * (spacing + 1), line)
    return "\n".join(lines) + "\n"


def test_the_scan_finds_every_line_a_pattern_matches():
    # reference: every pattern (builder_output and below ones too) against every line; signatures with sections are
    # left to the section tests, and which builder_output and below hits count to test_classify_context.py
    cat = load_catalogue()
    text = _real_lines_in_noise(3)
    assert len(text) > 4 * literal_scan.CHUNK_CHARS and not text.isascii()   # chunks, some not ASCII
    patterns = [(sig.id, p, re.compile(p)) for sig in cat.signatures if not sig.sections
                for p in sig.patterns + sig.builder_output + (sig.below.patterns if sig.below else ())]
    hits = {line: [(sig, p) for sig, p, regex in patterns if regex.search(line)] for line in set(text.splitlines())}
    expected = {(n, sig, p) for n, line in enumerate(text.splitlines(), 1) for sig, p in hits[line]}
    found = {(n, cat.signatures[p.signature].id, p.regex.pattern) for n, _, _, p in cat.matches(text)
             if not cat.signatures[p.signature].sections}
    assert found == expected
    assert any(p in cat.get("buildpacks-build-failed").builder_output for _, _, p in found)


def test_needles_are_found_in_log_order_each_line_once():
    # one RE2 scan finds both patterns' literals (whatever letters they start with); the lines come back in
    # order, each once, with every pattern the line holds
    cat = parse_catalogue({"signatures": [
        {"id": "leaves", "title": "t", "weight": 5, "patterns": ["tea leaves"], "cause": "c.", "fix": ["f"]},
        {"id": "quirk", "title": "t", "weight": 5, "patterns": ["QUIRK seen"], "cause": "c.", "fix": ["f"]},
        {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}]})
    text = "tea leaves\nQUIRK seen\nnoise\nQUIRK seen tea leaves\ntea leaves\n"
    assert [(n, cat.signatures[p.signature].id) for n, _, _, p in cat.matches(text)] == [
        (1, "leaves"), (2, "quirk"), (4, "leaves"), (4, "quirk"), (5, "leaves")]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 18])
def test_the_scan_reads_the_log_in_chunks_at_character_offsets(monkeypatch, chunk):
    # RE2 reads UTF-8 chunks cut at line ends: with characters of two, three and four bytes before and between
    # the needles, and chunks of any size, every line a pattern matches comes back at its own line number
    monkeypatch.setattr(literal_scan, "CHUNK_CHARS", chunk)
    cat = parse_catalogue({"signatures": [
        {"id": "leaves", "title": "t", "weight": 5, "patterns": ["tea leaves"], "cause": "c.", "fix": ["f"]},
        {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}]})
    lines = ["héllo → wörld ✓", "tea leaves", "𝄞 tea leaves 𝄞 tea leaves", "", "no leaves", "ü" * 40 + "tea leaves"]
    text = "\n".join(lines * 3)
    found = [(n, start, line) for n, start, line, _ in cat.matches(text)]
    expected = [(n, start, line) for n, (start, line) in enumerate(_line_starts(text), 1) if "tea leaves" in line]
    assert found == expected and len(found) == 9


@pytest.mark.parametrize("chunk", [1, 5, 1 << 18])
def test_a_scan_of_a_stretch_finds_the_literals_inside_it_at_character_offsets(monkeypatch, chunk):
    # the builder lookups scan a stretch of a log at a time (MarkerLines): only literals wholly inside it count,
    # at offsets into the whole text, however many bytes the characters before them take
    monkeypatch.setattr(literal_scan, "CHUNK_CHARS", chunk)
    text = "ü [builder] a\n𝄞 [builder] b\nplain\n→ [builder] c\n"
    lo = text.index("𝄞")
    hi = text.index("→ [builder]") + 5   # cuts the third line's literal: not wholly inside
    scan = literal_scan.literals(["[builder]", "plain"])
    found = [text[h.at:h.to] for h in literal_scan.hits(scan.scan, text, lo, hi)]
    assert found == ["[builder]", "plain"]
    assert [h.at for h in literal_scan.hits(scan.scan, text, lo, hi)] == [text.index("[builder] b"), text.index("plain")]
    assert [text[h.at:h.to] for h in literal_scan.hits(scan.scan, text)] == ["[builder]", "[builder]", "plain", "[builder]"]


@pytest.mark.parametrize("pattern, left", [
    (r"(?<![\w-])err(?![\w-])", "err"),
    (r"(?<=[(])x(?=\))", "x"),                       # a parenthesis in a class, one escaped
    (r"(?:a|(?<=\n))b(?-i:C)", "(?:a|)b(?-i:C)"),    # groups that are no lookaround stay
    (r"[]()]x(?!(?:y)z)", "[]()]x"),                 # a `]` first in a class, a group inside a lookaround
    (r"[^]\\)]y(?<!\\)", r"[^]\\)]y"),
    (r"\(?=x", r"\(?=x"),                           # an escaped parenthesis opens no group
])
def test_a_regex_without_its_lookarounds_keeps_everything_else(pattern, left):
    assert literal_scan.without_lookarounds(pattern) == left
    assert re.compile(left)   # still a regex


def test_a_lone_surrogate_in_a_log_is_read_past():
    # text decoded with `surrogateescape` (bytes that are not UTF-8) holds lone surrogates, which the UTF-8 encoder
    # refuses: the scans pass them through, on the line a pattern matches as elsewhere
    text = "noise \udcff\nStep #0: ERROR: No matching distribution found for x \udcff\n\udce9 error here\n"
    top = classify_log(text)[0]
    assert (top.signature, top.line) == ("pip-install-failed", 2)
    assert classify_log("\udcff\nsomething \udcff failed\n")[0].line == 2


def _lines_alone(regex: re.Pattern, text: str) -> list[int]:
    return [n for n, line in enumerate(text.split("\n"), 1) if regex.search(line.rstrip("\r"))]


def _lines_searched(search: literal_scan.LineSearch, text: str) -> list[int]:
    return [n for n, _, _, _ in lines_hit(text, search.over(text))]


@pytest.mark.parametrize("regex", [ERROR_WORD, FAILURE_WORD], ids=["error word", "failure words"])
def test_a_line_search_finds_the_lines_its_regex_matches_alone_in_every_real_log(regex):
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((LOGS / "real").glob("*.txt")))
    expected = _lines_alone(regex, text)
    assert len(expected) > 5_000 and _lines_searched(literal_scan.LineSearch(regex), text) == expected


_PIECES = ["error", "ERROR", "Error: ", "failed", "Exception", "  ", " ", "\t", "\n", "\r\n", "-", "_", "x", "É",
           "E: ", "** (", "Mix", ") ", "(RuntimeError)", "nginx: ", "[emerg]", "Problem 1", "panic: ", "404 Not Found",
           "SQLSTATE[", ": line 3:", "remote:", " !", "Denied", "ß", "𝄞"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_a_line_search_is_its_regex_on_each_line_alone(text):
    for regex in (ERROR_WORD, FAILURE_WORD):
        assert _lines_searched(literal_scan.LineSearch(regex), text) == _lines_alone(regex, text)


def test_a_line_search_reads_each_line_alone_as_the_lines_own_checks_do():
    # a lookbehind sees nothing before a line: `remoteException` at a line's start is not indented, whatever spaces
    # end the line above (the whole text searched at once would see them); (an exception's name that starts with a
    # capital is a failure alone on its line, indented or not: `RemoteException`)
    text = "source.:String) [    ], \nremoteException\n"
    assert FAILURE_WORD.search(text) and not names_failure("remoteException")
    assert _lines_searched(literal_scan.LineSearch(FAILURE_WORD), text) == []


def _line_starts(text: str) -> list[tuple[int, str]]:
    out, at = [], 0
    for line in text.split("\n"):
        out.append((at, line))
        at += len(line) + 1
    return out


def test_needles_chosen_for_a_big_log_find_the_same_lines(monkeypatch):
    # a log of a megabyte or more is scanned for the literals of each pattern that are rarest in it;
    # which literal is looked for first must never change what is found (a traceback's frames at its start make
    # the longest literal of some patterns, `.py", line `, a common one in it)
    cat = load_catalogue()
    frame = '  File "/workspace/app/main.py", line 3, in <module>\n'
    text = frame * 2_000 + _real_lines_in_noise(1)
    assert len(text) >= catalogue_module.ADAPT_FROM_CHARS
    assert cat._needles_for(text) != cat._default_needles   # the test exercises the choice
    # every match, not only the findings classify_log keeps of them (the needles are chosen in matches alone)
    chosen = [(n, start, p.regex.pattern) for n, start, _, p in cat.matches(text)]
    assert len({pattern for _, _, pattern in chosen}) > 200
    monkeypatch.setattr(catalogue_module, "ADAPT_FROM_CHARS", len(text) + 1)
    assert cat._needles_for(text) == cat._default_needles
    assert [(n, start, p.regex.pattern) for n, start, _, p in cat.matches(text)] == chosen


def test_needles_for_a_big_log_avoid_literals_frequent_in_it():
    # a log of tracebacks is full of `.py", line `: no needle should be a literal found in such a log when the
    # pattern has another that is not (each line holding a needle meets the patterns' regexes)
    cat = load_catalogue()
    text = 'Step #0 - "build":   File "/workspace/app/main.py", line 3, in <module>\n' * 20_000
    for pattern, choice in zip(cat._patterns, cat._needles_for(text)):
        if any(all(n not in text[:200] for n in c) for c in pattern.needles):
            assert all(n not in text[:200] for n in choice), (pattern.regex.pattern, choice)
    assert any(any(n in text[:200] for n in p.needles[0]) for p in cat._patterns)   # the choice had work to do


def test_repeated_matches_are_capped_but_counted():
    line = 'Step #1 - "Push": denied: requested access to the resource is denied'
    text = "\n".join([line, "noise"] * (MAX_LINES + 20))
    top = classify_log(text)[0]
    assert top.signature == "push-permission-denied"
    assert len(top.lines) == MAX_LINES and top.match_count == MAX_LINES + 20
    assert top.lines[:3] == [1, 3, 5]
    assert len(top.evidence) < len(top.lines)


# ---- log sections ------------------------------------------------------------------------------

USER_GSUTIL = 'Step #3 - "copy-assets": CommandException: No URLs matched: gs://assets/build/*.js'


def test_a_user_steps_own_gsutil_error_is_not_the_source_fetch():
    log = "\n".join(['starting build "b1"', "", "FETCHSOURCE", "Fetching storage object: gs://p_cloudbuild/source/1.tgz",
                     "BUILD", 'Starting Step #3 - "copy-assets"', USER_GSUTIL, 'Finished Step #3 - "copy-assets"',
                     "ERROR", 'ERROR: build step 3 "gcr.io/cloud-builders/gsutil" failed: step exited with non-zero '
                     "status: 1"])
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("unknown", 7)  # the failed step's last words


def test_the_same_words_while_fetching_the_source_are_a_source_fetch_failure():
    fetch = "CommandException: No URLs matched: gs://p_cloudbuild/source/1.tgz"
    log = "\n".join(['starting build "b1"', "", "FETCHSOURCE", fetch, "ERROR",
                     "ERROR: (gcloud.builds.submit) build b1 completed with status FETCH_SOURCE_FAILED"])
    top = classify_log(log)[0]
    assert (top.signature, top.lines) == ("source-fetch-failed", [4, 6])  # the fetch, then gcloud's summary


def test_app_engine_and_functions_fetch_in_a_first_step_named_fetch():
    log = "\n".join(["FETCHSOURCE", "BUILD", 'Starting Step #0 - "fetch"',
                     'Step #0 - "fetch": Access to bucket staging.p.appspot.com denied. You must grant Storage Object '
                     "Viewer permission to 1@cloudbuild.gserviceaccount.com.", 'Finished Step #0 - "fetch"', "ERROR"])
    assert classify_log(log)[0].signature == "source-fetch-failed"
    # the same refusal wrapped, as Cloud Functions (2nd gen) prints it for its own source bucket
    wrapped = ["Failed to fetch gs://gcf-v2-sources-1-europe-west1/fn/function-source.zip",
               "Access to bucket gcf-v2-sources-1-europe-west1 denied.",
               "You must grant Storage Object Viewer permission to 1-compute@developer.gserviceaccount.com."]
    assert (classify_log("\n".join(wrapped))[0].signature, classify_log("\n".join(wrapped))[0].line) == \
        ("source-fetch-failed", 2)


def test_a_products_refusal_to_read_a_builds_source_counts_in_any_section():
    # a deploy run from a Cloud Build step creates a build of its own; its refusal to read that source is printed
    # in the step, and no user step's own tool prints those words (the signature's `anywhere`), while the words a
    # user's gsutil prints there too stay out of the step (the test above)
    head = ['starting build "b1"', "FETCHSOURCE", "BUILD", 'Starting Step #2 - "deploy"']
    for refusal in ("ERROR: (gcloud.run.deploy) INVALID_ARGUMENT: Invalid build request. could not resolve source: "
                    "googleapi: Error 403: 1-compute@developer.gserviceaccount.com does not have storage.objects.get "
                    "access to the Google Cloud Storage object.",
                    "ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Access to bucket "
                    "gcf-v2-sources-1-us-central1 denied. You must grant Storage Object Viewer permission to "
                    "1-compute@developer.gserviceaccount.com."):
        log = "\n".join(head + [f'Step #2 - "deploy": {refusal}', 'Finished Step #2 - "deploy"', "ERROR"])
        top = classify_log(log)[0]
        assert (top.signature, top.line) == ("source-fetch-failed", 5)
    user = "\n".join(head + ['Step #2 - "deploy": AccessDeniedException: 403 1-compute@developer.gserviceaccount.com '
                              "does not have storage.objects.get access to the Google Cloud Storage object.",
                              'Finished Step #2 - "deploy"', "ERROR"])
    assert classify_log(user)[0].signature == "unknown"


def test_anywhere_patterns_need_sections():
    doc = _doc(anywhere=["QUIRK seen"])
    with pytest.raises(ConfigError, match=r"signature 'thing'.anywhere needs `sections`"):
        parse_catalogue(doc)
    doc["signatures"][0]["sections"] = ["fetch"]
    doc["sections"] = [{"name": "fetch", "markers": ["FETCHSOURCE"]}]
    assert parse_catalogue(doc).get("thing").anywhere == ("QUIRK seen",)


def test_an_excerpt_with_no_section_marker_matches_anywhere_once_it_shows_a_build():
    gsutil_error = USER_GSUTIL.split(": ", 1)[1]
    # newest-first console copies put the fetch's own line below its error
    fetch = f"{gsutil_error}\nFetching storage object: gs://p_cloudbuild/source/1.tgz#1\n"
    assert classify_log(fetch)[0].signature == "source-fetch-failed"
    # gsutil's words with no build in sight are someone's own copy, not a build's fetch
    assert classify_log(f"$ gsutil cp gs://assets/build/*.js .\n{gsutil_error}\n")[0].signature == "unknown"


def _sectioned(markers_a, markers_b, where):
    return parse_catalogue({"sections": [{"name": "alpha", "markers": markers_a}, {"name": "beta", "markers": markers_b}],
                            "signatures": [
                                {"id": "boom", "title": "t", "weight": 50, "patterns": ["BOOM happened"],
                                 "cause": "c.", "fix": ["f"], "sections": where},
                                {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.",
                                 "fix": ["f"]}]})


def test_a_line_is_in_the_section_of_the_nearest_marker_at_or_above_it():
    cat = _sectioned(["^ALPHA-START$"], ["^BETA-START$"], ["alpha"])
    log = ["BOOM happened", "ALPHA-START", "BOOM happened", "BETA-START", "BOOM happened", "ALPHA-START",
           "noise", "BOOM happened"]
    assert classify_log("\n".join(log), cat)[0].lines == [1, 3, 8]  # no section yet, alpha, alpha again


def test_on_one_line_the_section_listed_first_wins():
    line = "Step #2 - BOOM happened"
    cat = _sectioned(["Step #2 - "], ["Step #\\d+"], ["alpha"])
    assert classify_log(line, cat)[0].signature == "boom"
    cat = _sectioned(["Step #\\d+"], ["Step #2 - "], ["beta"])
    assert classify_log(line, cat)[0].signature == "unknown"


def test_sections_stay_right_across_a_large_log():
    signals = {10: "ALPHA-START 1", 10_000: "BOOM happened 1", 20_000: "BETA-START", 35_000: "BOOM happened 2",
               50_000: "ALPHA-START 2", 65_000: "BOOM happened 3"}
    text, where = _big_log(6, signals)
    top = classify_log(text, _sectioned(["^ALPHA-START"], ["^BETA-START$"], ["alpha"]))[0]
    assert top.lines == [where[10_000], where[65_000]]


@pytest.mark.parametrize("sections, signature_sections, message", [
    ([{"name": "Fetch", "markers": ["FETCHSOURCE"]}], None, r"section 'Fetch'.name must be a lowercase"),
    ([{"name": "fetch", "markers": []}], None, r"section 'fetch'.markers must be a non-empty list"),
    ([{"name": "fetch", "markers": ["(a|b)+"]}], None, r"section 'fetch' marker pattern .* needs a plain literal"),
    ([{"name": "fetch", "markers": ["FETCH("]}], None, r"section 'fetch' marker pattern .* not a valid regular"),
    ([{"name": "fetch", "markers": ["FETCHSOURCE"], "colour": 1}], None, r"section 'fetch' has unknown key"),
    ([{"name": "fetch", "markers": ["FETCHSOURCE"]}] * 2, None, r"section 'fetch' is defined twice"),
    ([{"name": "fetch", "markers": ["FETCHSOURCE"]}], ["push"], r"'thing'.sections names unknown section\(s\) \['push'\]"),
    ([{"name": "fetch", "markers": ["FETCHSOURCE"]}], [], r"'thing'.sections must be a non-empty list"),
])
def test_bad_sections_are_config_errors_naming_the_entry(sections, signature_sections, message):
    doc = _doc() if signature_sections is None else _doc(sections=signature_sections)
    doc["sections"] = sections
    with pytest.raises(ConfigError, match=message):
        parse_catalogue(doc)


# ---- what the catalogue says ------------------------------------------------------------------

def test_buildpacks_fixes_build_explicitly_and_never_suggest_the_missing_flag():
    cat = load_catalogue()
    for sig in cat.signatures:
        for step in sig.fix:
            if "--no-use-google-dev-pack" in step:
                assert "does not exist" in step, (sig.id, step)
    for sig_id in ("buildpacks-no-entrypoint", "buildpacks-detect-failed", "buildpacks-python-version"):
        fixes = " ".join(cat.get(sig_id).fix)
        assert "gcloud builds submit --config" in fixes and "--tag" in fixes
        assert "gcloud run deploy" in fixes and "--image" in fixes
        assert cat.get(sig_id).builder == "buildpacks"


def test_exact_buildpacks_texts_are_recognised():
    exact = [
        ('for Python, provide a main.py or app.py file or set an entrypoint with "GOOGLE_ENTRYPOINT" env var or '
         'by creating a "Procfile" file', "buildpacks-no-entrypoint"),
        ("No buildpack groups passed detection.", "buildpacks-detect-failed"),
        ("failed to detect: no buildpacks participating", "buildpacks-detect-failed"),
        ("invalid Python version specified", "buildpacks-python-version"),
        # the other languages' and newer builders' wordings, as the buildpacks source prints them
        ('for Python with pyproject.toml, provide a main.py or app.py file or a script command in pyproject.toml or '
         'set an entrypoint with "GOOGLE_ENTRYPOINT" env var or by creating a "Procfile" file', "buildpacks-no-entrypoint"),
        ('for Ruby, an entrypoint must be manually set, either with "GOOGLE_ENTRYPOINT" env var or by creating a '
         '"Procfile" file', "buildpacks-no-entrypoint"),
        ("Failure: (ID: 838926df) did not find any jar files with a Main-Class manifest entry",
         "buildpacks-no-entrypoint"),
        ("expected to find exactly one project file in directory /workspace, found [a.csproj b.csproj]",
         "buildpacks-no-entrypoint"),
        ("GOOGLE_ENTRYPOINT not set, no valid entrypoint config in Procfile or app.yaml.", "buildpacks-no-entrypoint"),
        ("invalid Node.js version specified: failed to resolve version matching: 99", "buildpacks-python-version"),
        ("invalid Ruby Runtime version specified", "buildpacks-python-version"),
        ("Runtime version BAD_NEWS_BEARS does not exist at https://dl.google.com/runtimes/python/"
         "python-BAD_NEWS_BEARS.tar.gz (status 404). You can specify the version with GOOGLE_RUNTIME_VERSION.",
         "buildpacks-python-version"),
        ("Failed to resolve version 3.12 for Python from region us-central1: failed to resolve version matching: "
         "3.12 against [3.11.9]", "buildpacks-python-version"),
        ("Sorry your project couldn't be built.", "buildpacks-build-failed"),
        ("ERROR: failed to build: (error ID: 1a2b3c4d):", "buildpacks-build-failed"),
    ]
    for text, sig in exact:
        assert classify_log(f"Step #0 - \"build\": {text}\n")[0].signature == sig, text


@pytest.mark.parametrize("text, signature", [
    # deploy output of App Engine and Cloud Functions, wordings as public threads quote them
    ("ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Function failed on loading user code. "
     "Error message: Node.js module defined by file index.js is expected to export function named helloPubSub",
     "container-start-failed"),
    ("Deploy Error: Function load error: Code in file index.js can't be loaded.", "container-start-failed"),
    ("Could not create or update Cloud Run service first-function, Container Healthcheck failed.",
     "container-start-failed"),
    ("reason: HealthCheckContainerError", "container-start-failed"),
    ("ERROR: (gcloud.app.deploy) Error Response: [4] Flex operation projects/p/regions/us-east4/operations/o error "
     "[DEADLINE_EXCEEDED]: An internal error occurred while processing task /app-engine-flex/flex_await_healthy/"
     "flex_await_healthy>2021-06-30T03:13:09.949Z3699.xi.0: Your deployment has failed to become healthy in the "
     "allotted time and therefore was rolled back.", "container-start-failed"),
    ("ERROR: (gcloud.app.deploy) Error Response: [9] Application startup error! Code: APP_CONTAINER_CRASHED",
     "container-start-failed"),
    # App Engine's Java runtimes when Jetty cannot start the app (its stack trace follows)
    ("Failed startup of context c.g.a.r.j.AppEngineWebAppContext@43733fa1{/,file:///workspace/,UNAVAILABLE}"
     "{/workspace}", "container-start-failed"),
    ("ERROR: (gcloud.app.deploy) Cloud build failed. Check logs at https://console.cloud.google.com/cloud-build/"
     "builds/1 Failure status: UNKNOWN: Error Response: [4] DEADLINE_EXCEEDED", "build-timeout"),
    ("Your build timed out. Use the [--timeout=DURATION] flag to change the timeout threshold.", "build-timeout"),
    ("The build is running, and logs are being written to the default logs bucket.", "logs-bucket-forbidden"),
    # other vendors' buildpacks refusing a language version
    ('failed to satisfy "node" dependency version constraint "~10": no compatible versions. Supported versions '
     "are: [12.22.0, 14.17.0]", "buildpacks-python-version"),
    ("**ERROR** Unable to install node: no match found for 6.12.2 in [9.9.0 8.10.0 6.13.1]",
     "buildpacks-python-version"),
    ("Couldn't resolve Node.js version: 17.8.0", "buildpacks-python-version"),
])
def test_deploy_output_and_other_builders_wordings_are_recognised(text, signature):
    assert classify_log(f"{text}\n")[0].signature == signature


def test_functions_buildpacks_error_json_marks_a_buildpacks_build():
    # no catalogue pattern names the failure: the buildpacks fallback does, once the JSON shows the builder
    quoted = ('Build failed: {"error": {"canonicalCode": "INVALID_ARGUMENT", "errorMessage": "the widget '
              'installer exited with status 3"}}')
    top = classify_log(f"functions[api]: Deployment error.\n{quoted}\n")[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 2)


KANIKO_PUSH = "error pushing image: failed to push to destination gcr.io/p/app:latest: "


@pytest.mark.parametrize("body", ['{"errors":[{"code":"UNAUTHORIZED","message":"Not Authorized."}]}',
                                  '{"errors":[{"code":"DENIED","message":"Permission denied for gcr.io/p/app"}]}'])
def test_a_push_is_refused_when_the_registry_says_so_not_whenever_kaniko_failed_to_push(body):
    # the registry API's refusal code, quoted under kaniko's verdict, is the evidence
    top = classify_log(f"{KANIKO_PUSH}no token in bearer response:\n{body}\n")[0]
    assert (top.signature, top.line) == ("push-permission-denied", 2)
    # kaniko's verdict alone names no cause: a layer too large for the registry is no permission problem
    too_big = classify_log(f"{KANIKO_PUSH}unexpected status code 413 Request Entity Too Large\n")[0]
    assert too_big.signature != "push-permission-denied"


def test_causes_are_one_sentence():
    for sig in load_catalogue().signatures:
        for cause in [sig.cause] + [cause for _, cause, _ in sig.advice]:
            assert cause.endswith(".") and cause.count(". ") == 0, sig.id


# ---- catalogue validation -------------------------------------------------------------------

def _doc(**changes):
    entry = {"id": "thing", "title": "A thing", "builder": "any", "severity": "error", "weight": 10,
             "patterns": ["thing went wrong"], "cause": "It broke.", "fix": ["Fix it."]}
    entry.update(changes)
    unknown = {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}
    return {"version": 1, "signatures": [entry, unknown]}


@pytest.mark.parametrize("changes, message", [
    ({"colour": "red"}, r"signature 'thing' has unknown key\(s\) \['colour'\]"),
    ({"patterns": ["thing (went wrong"]}, r"signature 'thing' pattern .* is not a valid regular expression"),
    ({"patterns": ["(?i)thing went wrong"]}, r"signature 'thing' pattern .* uses \(\?i\)"),
    ({"patterns": ["(a|b)+x"]}, r"signature 'thing' pattern .* needs a plain literal"),
    ({"weight": 101}, r"signature 'thing'.weight"),
    ({"builder": "kaniko"}, r"signature 'thing'.builder='kaniko'"),
    ({"fix": []}, r"signature 'thing'.fix"),
    ({"patterns": []}, r"signature 'thing'.patterns is empty"),
    ({"id": "Not An Id"}, r"\.id must be a lowercase hyphenated id"),
])
def test_bad_entries_are_config_errors_naming_the_entry(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_catalogue(_doc(**changes))


def test_duplicate_ids_are_rejected():
    doc = _doc()
    doc["signatures"].append(dict(doc["signatures"][0]))
    with pytest.raises(ConfigError, match="signature 'thing' is defined twice"):
        parse_catalogue(doc)


def test_catalogue_needs_unknown_and_no_stray_keys():
    doc = _doc()
    doc["signatures"].pop()
    with pytest.raises(ConfigError, match="'unknown' entry"):
        parse_catalogue(doc)
    with pytest.raises(ConfigError, match="top-level key"):
        parse_catalogue({**_doc(), "extra": 1})


@pytest.mark.parametrize("value, message", [
    ("ERROR", r"'uninformative' must be a list"),
    ([""], r"'uninformative' must be a list"),
    (["(ERROR"], r"uninformative line pattern .* is not a valid regular expression"),
    (["(?i)error"], r"uninformative line pattern .* uses \(\?i\)"),
])
def test_bad_uninformative_lines_are_config_errors(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_catalogue({**_doc(), "uninformative": value})


def test_uninformative_lines_come_from_the_catalogue():
    text = "Step #0: error: the real cause\nERROR: the verdict\n"
    assert classify_log(text, parse_catalogue(_doc()))[0].line == 1
    cat = parse_catalogue({**_doc(), "uninformative": ["error: the real"]})
    assert classify_log(text, cat)[0].line == 2


def test_load_catalogue_from_a_file(tmp_path):
    path = tmp_path / "sigs.yaml"
    path.write_text(yaml.safe_dump(_doc()))
    cat = load_catalogue(path)
    assert classify_log("a\nthe thing went wrong here\n", cat)[0].line == 2
    assert classify_log("the thing went wrong\n", str(path))[0].signature == "thing"
    path.write_text("signatures: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_catalogue(path)
    with pytest.raises(ParameterError, match="catalogue="):
        load_catalogue(tmp_path / "missing.yaml")


def test_packaged_catalogue_is_valid_and_cached():
    assert DEFAULT_CATALOGUE.is_file()
    assert load_catalogue() is load_catalogue()


SUCCESSFUL_BUILD_LINES = [
    'Step #0 - "build": Collecting flask==3.0.0 (from -r requirements.txt (line 1))',
    'Step #0 - "build":   Downloading flask-3.0.0-py3-none-any.whl (99 kB)',
    'Step #0 - "build": Successfully built app',
    'Step #0 - "build": Successfully installed Flask-3.0.0 Werkzeug-3.0.1 itsdangerous-2.1.2',
    'Step #0 - "build": Successfully tagged gcr.io/p/app:latest',
    'Step #1 - "push": latest: digest: sha256:0a1b size: 2841',
    'Step #0 - "build": added 1203 packages, and audited 1204 packages in 21s',
    'Step #0 - "build": [INFO] BUILD SUCCESS',
    "Step #0 - \"build\": #12 DONE 3.1s",
]


@pytest.mark.parametrize("size", ["small", "big"])
def test_no_needle_is_found_in_the_lines_of_a_build_that_succeeds(size):
    # the scan's speed is set by how many lines hold a needle: none of a healthy build's lines should
    # (a needle `fully` from `did not run successfully` made every `Successfully installed` line a candidate)
    cat = load_catalogue()
    text = "\n".join(SUCCESSFUL_BUILD_LINES * (1 if size == "small" else 40_000))
    needles = {n for choice in cat._needles_for(text) for n in choice}
    assert not [n for n in needles if any(n in line for line in SUCCESSFUL_BUILD_LINES)]


def test_npm_script_headers_are_no_markdown_quote():
    # npm prints `> app@1.0.0 build` / `> next build` above its output; only a log quoted as a whole loses its `>`
    log = ("> app@1.0.0 build\n> next build\n\nFailed to compile.\n./pages/index.js\n"
           "Module not found: Can't resolve 'left-pad'\nnpm ERR! code ELIFECYCLE\n")
    quoted = "\n".join(f"> {line}" if line else ">" for line in log.split("\n"))
    assert without_decoration(log) == log
    assert without_decoration(quoted) == log


@pytest.mark.parametrize("stamp", ["2024-05-01T10:00:00.1234567Z ", "2024-05-01 10:00:00.123 UTC  ",
                                   "INFO 2024-05-01T10:00:00.123456Z ", "[2024-05-01T10:00:00.123Z] ",
                                   "2024-05-01T10:00:00.123456Z 00O ", "[10:00:00] ", "10:00:00 ",
                                   "2024-05-01 10:00:00 CEST ", "2024-05-01 10:00:00 "])
def test_a_timestamp_on_every_line_is_taken_off_and_a_lines_own_first_word_is_not(stamp):
    # the timestamp forms of GitHub Actions, Cloud Logging, the Logs Explorer, Jenkins, GitLab and a terminal's
    # time of day; an upper-case first word after it (`DONE`, `FROM`) is the log's own, no time zone
    log = "starting build\nFETCHSOURCE\nDONE\nFROM python:3.12\nStep #0: ERROR: it broke\n"
    stamped = "".join(stamp + line + "\n" for line in log.splitlines())
    assert without_decoration(stamped) == log
    # a log whose own lines start with an upper-case word and a time is left as it is unless every head line has one
    assert without_decoration(log) == log


def test_a_heroku_dynos_traceback_through_a_syslog_drain_is_read_at_its_exception():
    # Papertrail prints each line of a dyno's with syslog's time and host and the dyno's name without a colon
    frames = ["Traceback (most recent call last):", '  File "/app/clock.py", line 5, in <module>',
              "    from notify import notify_available", '  File "/app/notify/console.py", line 7, in <module>',
              '    states = json.loads(os.environ["STATES"])', "KeyError: 'STATES'"]
    drained = "".join(f"Mar 24 02:38:07 njvax app/clock.1 {line}\n" for line in frames)
    for log in (drained, drained.replace("Mar 24", "Mar  4"), "".join(f"Step #0: {line}\n" for line in
                                                                      drained.splitlines())):
        top = classify_log(log)[0]
        assert (top.signature, top.line) == ("container-start-failed", 6)


def test_colour_codes_as_cloudwatch_writes_them_out_are_taken_off():
    log = "ERROR text_generation_launcher: Shard 3 failed to start:\nError: ShardCannotStart\n"
    shown = ("#033[2m2023-06-16T12:57:41.398047Z#033[0m #033[31mERROR#033[0m #033[2mtext_generation_launcher#033[0m"
             "#033[2m:#033[0m Shard 3 failed to start:\nError: ShardCannotStart\n")
    assert without_decoration(shown) == without_decoration("2023-06-16T12:57:41.398047Z " + log)
    assert without_decoration("a #033 in a log's own words\n") == "a #033 in a log's own words\n"


def test_decoration_on_decoration_comes_off_layer_by_layer():
    # a platform's log with its own timestamps, timestamped again by a CI or pasted as an indented block
    log = "---> Installing yarn@1.22.19\nRunning custom build command: yarn build\nERROR: failed to build: exit status 1\n"
    own = "".join(f"[2022-08-18 17:49:{n:02}] {line}\n" for n, line in enumerate(log.splitlines()))
    assert without_decoration(own) == log
    assert without_decoration("".join(f"2024-05-01T10:00:00.1234567Z {line}\n" for line in own.splitlines())) == log
    assert without_decoration("".join(f"    {line}\n" for line in own.splitlines())) == log


def test_a_buildpacks_arrows_after_a_timestamp_are_no_docker_build():
    log = ["[2022-08-18 17:48:36] ---> Installing yarn@1.22.19", "[2022-08-18 17:49:02] $ keystone build",
           "[2022-08-18 17:49:25] error Command failed with exit code 134.",
           "[2022-08-18 17:49:25] ERROR: failed to build: exit status 1"]
    framed = [f"Step #0: {line}" for line in log]   # (one layer more, which leaves the log's own stamps on)
    assert top_of(log).signature == top_of(framed).signature == "buildpacks-build-failed"
    # the classic docker builder's own arrows still say a Dockerfile build
    docker = ["Step 3/7 : RUN npm ci", " ---> Running in 6d3fd5e5bd4e", "npm ERR! code E404",
              "The command '/bin/sh -c npm ci' returned a non-zero code: 1"]
    assert top_of(docker).signature != "buildpacks-build-failed"


def test_a_viewers_line_numbers_and_a_web_pages_spaces_and_entities_come_off_only_when_the_log_shows_them():
    log = 'Step #0: x\nStep #0:   File "/w/main.py", line 3\nStep #0: <module>\n\nStep #0: ERROR: it broke & stopped\n'
    numbered = "".join(f"{n:>3} {line}\n" for n, line in enumerate(log.split("\n")[:-1], 40))
    assert without_decoration(numbered) == log
    assert without_decoration(log.replace(" ", "\u00a0")) == log
    assert without_decoration(log.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
                              .replace(">", "&gt;")) == log
    # a log's own numbers (BuildKit's seconds, counts) are no line numbers unless they count its lines in a row
    own = "5.628 Collecting x\n6.001 Collecting y\n7.410 ERROR: no\n"
    counts = "3 packages\n4 packages\n6 packages\n"
    assert without_decoration(own) == own and without_decoration(counts) == counts
    # ... and entities in a log that also holds the characters they stand for are the log's own words
    own_entities = 'Step #0: echo "&lt;b&gt;"\nStep #0: <b>\n'
    assert without_decoration(own_entities) == own_entities
    # a viewer's line numbers on lines of their own, between the log's, come off as blank lines (line for line)
    lines = [line for line in log.split("\n") if line]
    between = "".join(f"{line}\n{n}\n" for n, line in enumerate(lines, 15))
    assert without_decoration(between) == "".join(f"{line}\n\n" for line in lines)
    # ... and numbers that do not count up one by one between the log's lines are the log's own
    printed = "sum of the first values\n10\nsum of the next\n30\nand the last\n70\n"
    assert without_decoration(printed) == printed


# ---------------------------------------------------------------- long lines: work bounded, not quadratic


class _Counting:
    """A LinePattern's compiled regex that records the length of each text it is given."""

    def __init__(self, compiled):
        self.inner, self.seen = compiled, []

    def search(self, text: str):
        self.seen.append(len(text))
        return self.inner.search(text)


def test_a_marker_rule_is_tried_once_a_line_however_often_its_literal_repeats():
    """`next step next step ...` holds docker's `tep ` in every word: a rule per hit made one long line quadratic."""
    from runbook_lib.diagnose.lines import LineRule
    from runbook_lib.diagnose.markers import MarkerLines

    from runbook_lib.diagnose.lines import LinePattern

    rule = LinePattern(r"^Step \d+/\d+ : ")
    rule.compiled = counted = _Counting(rule.compiled)
    text = "Step 1/2 : FROM x\n" + "next step " * 5000 + "\nStep 2/2 : RUN y\n"
    found = MarkerLines(text, [(7, LineRule("tep ", rule))]).found(0, len(text))
    assert [start for start, _, _ in found] == [0, len(text) - len("Step 2/2 : RUN y\n")]
    assert len(counted.seen) == 3


def test_a_marker_whose_literal_starts_inside_another_markers_literal_is_found():
    """The scan finds `-----> ` and goes on past it: a rule whose literal is `> Compressing...` (a suffix of its
    pattern's literal run, chosen for its rare first character) must still be tried on that line."""
    from runbook_lib.diagnose.lines import LinePattern, LineRule
    from runbook_lib.diagnose.markers import MarkerLines

    header = LineRule("-----> ", LinePattern(r"^-----> \w+ app detected"))
    compressing = LineRule("> Compressing...", LinePattern(r"(?:^|\s)-----> Compressing\.\.\."))
    text = "-----> Swift app detected\n-----> Compressing...\nsomething else\n"
    found = MarkerLines(text, [(0, header), (-1, compressing)]).found(0, len(text))
    assert [(start, set(owners)) for start, owners, _ in found] == [(0, {0}), (text.index("-----> C"), {-1})]


def test_a_pattern_reads_a_long_lines_start_and_end_only():
    """A minified bundle or a base64 blob of megabytes on one line: a catalogue regex sees at most LONG_LINE
    characters of it (its first and last halves), so a `.*` between two words costs the same on any line."""
    from runbook_lib.diagnose.lines import LONG_LINE, LinePattern

    pattern = LinePattern(r"denied.*artifactregistry")
    filler = "x" * (LONG_LINE * 100)
    assert pattern.search("denied: " + filler[:LONG_LINE - 30] + " artifactregistry")   # a line of LONG_LINE: whole
    assert not pattern.search(filler[:LONG_LINE] + "denied artifactregistry" + filler)   # the middle is not read
    assert pattern.search("denied artifactregistry " + filler)
    assert pattern.search(filler + " denied artifactregistry")
    assert not pattern.search("denied " + filler + " artifactregistry")   # no `.*` joins the two halves
    assert LinePattern(r"^denied").search("denied " + filler) and not LinePattern(r"^x+$").search("denied " + filler)


@pytest.mark.parametrize("unit", [
    '{"member": "serviceAccount:service-1@gcp-sa-artifactregistry.iam.gserviceaccount.com"}, ',   # --format=json
    "PATCH /v2/p/r/blobs/uploads/abc?digest=sha256:00 ",   # a registry client's debug line
    'throw new Error("failed to load");Step(a,b);',         # a minified bundle
])
def test_a_long_line_gives_every_catalogue_pattern_a_bounded_view_and_the_same_answer(unit, monkeypatch):
    import gc

    from runbook_lib.diagnose import lines

    log = (Path(__file__).parent / "fixtures" / "logs" / "buildpacks-build-failed-1.txt").read_text()
    plain = classify_log(log)[0]   # (the catalogue loaded: its patterns are the LinePatterns alive now)
    counters = []
    for pattern in [o for o in gc.get_objects() if isinstance(o, lines.LinePattern)]:
        counters.append(_Counting(pattern.compiled))
        monkeypatch.setattr(pattern, "compiled", counters[-1])
    line = (unit * (400_000 // len(unit) + 1))[:400_000]
    top = classify_log(log.replace("\n", "\n" + line + "\n", 1))[0]
    assert (top.signature, top.line) == (plain.signature, plain.line + 1)
    seen = [n for c in counters for n in c.seen]
    assert len(counters) > 100 and seen and max(seen) <= lines.LONG_LINE + 1
