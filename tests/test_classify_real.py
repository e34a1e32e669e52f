"""classify_log on real build output copied from public GitHub issues and repositories.

The hand-written fixtures in tests/fixtures/logs/ were written to match the catalogue; these were not.
Each file's source, and what was redacted, is in tests/fixtures/logs/real/SOURCES.md. The expected
line numbers below were read off the files by hand (which line carries the message the signature is
about), not copied from the classifier's output. Where the current catalogue gets a real log wrong the
case is a strict xfail whose reason names the fix; once signatures.yaml is corrected the mark must go.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.diagnose import MAX_EVIDENCE_CHARS, classify_log

REAL = Path(__file__).parent / "fixtures" / "logs" / "real"
SOURCES = REAL / "SOURCES.md"

# file -> (expected top signature, 1-based line of its first matching line). For `unknown` the line is
# the first ERROR line (0 when there is none). File names start with the expected signature id.
EXPECTED = {
    "buildpacks-no-entrypoint--buildpacks-324.txt": ("buildpacks-no-entrypoint", 8),
    "buildpacks-no-entrypoint--buildpacks-178.txt": ("buildpacks-no-entrypoint", 9),
    "buildpacks-detect-failed--interview-master-buildlogs.txt": ("buildpacks-detect-failed", 21),
    "buildpacks-detect-failed--buildpacks-19.txt": ("buildpacks-detect-failed", 2),
    "buildpacks-python-version--buildpacks-368.txt": ("buildpacks-python-version", 8),
    "buildpacks-python-version--functions-framework-python-365.txt": ("buildpacks-python-version", 18),
    "buildpacks-build-failed--buildpacks-grpc-issue-readme.txt": ("buildpacks-build-failed", 44),
    "buildpacks-build-failed--github-mcp-server-575.txt": ("buildpacks-build-failed", 3),
    "dockerfile-not-in-upload--samson-2963.txt": ("dockerfile-not-in-upload", 3),
    "docker-copy-source-missing--plex-cloud-1.txt": ("docker-copy-source-missing", 3),
    "docker-copy-source-missing--moderated-meetings-14.txt": ("docker-copy-source-missing", 8),
    "pip-install-failed--buildpacks-245.txt": ("pip-install-failed", 5),
    "pip-install-failed--codelabs-feedback-1804.txt": ("pip-install-failed", 4),
    "push-permission-denied--flutter-188342.txt": ("push-permission-denied", 1),
    "push-permission-denied--cloud-run-button-247.txt": ("push-permission-denied", 20),
    "push-permission-denied--google-ax-140.txt": ("push-permission-denied", 6),
    "build-timeout--cloud-builders-306.txt": ("build-timeout", 3),
    "build-timeout--cloud-builders-457.txt": ("build-timeout", 3),
    "build-timeout--hoprnet-4307.txt": ("build-timeout", 3),
    "source-fetch-failed--bigquery-dlp-remote-function-70.txt": ("source-fetch-failed", 1),
    "source-fetch-failed--privacy-sandbox-samples-44.txt": ("source-fetch-failed", 12),
    "container-start-failed--tesseract-413.txt": ("container-start-failed", 6),
    "container-start-failed--cymbal-superstore-6.txt": ("container-start-failed", 1),
    "container-start-failed--binderhub-deploy-gke-18.txt": ("container-start-failed", 8),
    "unknown--exposure-notifications-server-403.txt": ("unknown", 1),
    "unknown--oss-fuzz-2608.txt": ("unknown", 4),
    "logs-bucket-forbidden--cbi-55-logs-bucket-403.txt": ("logs-bucket-forbidden", 4),
    "logs-bucket-forbidden--setup-gcloud-62-logs-bucket-403.txt": ("logs-bucket-forbidden", 5),
    "unknown--cloud-builders-328-go-get-private-repo.txt": ("unknown", 20),
}

# Real logs the current catalogue gets wrong: file -> what is wrong and the proposed fix.
KNOWN_WRONG: dict[str, str] = {}


def _cases():
    for name, (signature, line) in EXPECTED.items():
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[name])] if name in KNOWN_WRONG else []
        yield pytest.param(name, signature, line, id=name.removesuffix(".txt"), marks=marks)


@pytest.mark.parametrize("name, signature, line", list(_cases()))
def test_real_log_gets_the_expected_top_signature_and_first_line(name, signature, line):
    text = (REAL / name).read_text(encoding="utf-8")
    top = classify_log(text)[0]
    assert (top.signature, top.line) == (signature, line)
    if line:
        # the evidence is the very line the number points at
        assert top.evidence[0] == text.splitlines()[line - 1][:MAX_EVIDENCE_CHARS]


def test_every_real_log_is_in_the_table_named_for_its_signature_and_cited():
    on_disk = {p.name for p in REAL.glob("*.txt")}
    assert on_disk == set(EXPECTED)
    assert set(KNOWN_WRONG) <= set(EXPECTED)
    sources = SOURCES.read_text(encoding="utf-8")
    for name, (signature, _) in EXPECTED.items():
        assert name.split("--")[0] == signature, name
        assert f"`{name}`" in sources, f"{name} has no entry in SOURCES.md"


def test_real_logs_are_excerpts_not_whole_builds():
    # the brief: real surrounding lines, at most 60 per log, nothing empty
    for name in EXPECTED:
        lines = (REAL / name).read_text(encoding="utf-8").splitlines()
        assert 1 < len(lines) <= 60, name
