"""Secrets never leak: masking rules, and a planted secret that ends up in no file the runner writes."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from runbook_lib import masking, runner

PLANTED = "pl4nted-S3CRET-7c1e"
FAKE_PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
            "qR9vX1mJ0pQ==\n-----END PRIVATE KEY-----")
FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLWJ5dGVz"
FAKE_API_KEY = "AIza" + "Sy" + "D3kT9x0-q1w2e3r4t5y6u7i8o9p0a1s2d"


@pytest.mark.parametrize("name, secret", [
    ("api_token", True), ("GITHUB_TOKEN", True), ("client_secret", True), ("db_password", True),
    ("service_account_key", True), ("keys", True), ("phase", False), ("dataset_prefix", False),
])
def test_secret_parameter_names(name, secret):
    assert masking.is_secret_name(name) is secret
    assert masking.mask_value(name, "value") == ("***" if secret else "value")


def test_unset_secret_parameters_stay_visibly_unset():
    assert masking.mask_value("api_token", None) is None
    assert masking.mask_value("api_token", "") == ""


@pytest.mark.parametrize("text, leaked", [
    ("Authorization: Bearer ya29.a0AfH6SMBx-long-token_value", "a0AfH6SMBx"),
    (f"key file:\n{FAKE_PEM}\nend", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"),
    ('{"private_key": "' + FAKE_PEM.replace("\n", "\\n") + '"}', "MIIEvQIBADAN"),
    (f"GET /v1/x?key={FAKE_API_KEY}", FAKE_API_KEY),
    (f"id token {FAKE_JWT}", FAKE_JWT),
    ('{"client_secret": "abc123xyz", "name": "x"}', "abc123xyz"),
    ("{'api_token': 'hunter2hunter2'}", "hunter2hunter2"),
    ("connect(password='hunter2', user='ops')", "hunter2"),
    ("DB_PASSWORD=hunter2 make deploy", "hunter2"),
])
def test_secret_shapes_are_masked_in_free_text(text, leaked):
    masked = masking.mask_text(text)
    assert leaked not in masked
    assert "***" in masked


def test_ordinary_text_is_left_alone():
    text = ("MERGE keys: game_date, player_lookup; 3 bearer checks passed; token count 12; "
            "nba_precompute.player_daily_cache (cache_date, player_lookup)")
    assert masking.mask_text(text) == text


def test_literal_secret_values_are_masked_but_tiny_ones_are_not_searched():
    values = {"api_token": PLANTED, "nested": {"db_password": "pw-12345"}, "pin_key": "abc", "phase": "phase4"}
    secrets = masking.secret_values(values)
    assert set(secrets) == {PLANTED, "pw-12345"}
    assert masking.mask_text(f"using {PLANTED} and pw-12345 for phase4", secrets) == "using *** and *** for phase4"
    assert masking.mask_parameters(values, secrets) == {
        "api_token": "***", "nested": {"db_password": "***"}, "pin_key": "***", "phase": "phase4"}


def test_mask_notebook_covers_parameters_sources_outputs_and_recorded_result():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"api_token": PLANTED, "days": 3}}
    nb.metadata["runbook"] = {"name": "x", "verdict": "pass", "summary": f"used {PLANTED}",
                              "figures": {"keys checked": 4}, "details": {"header": f"Bearer {PLANTED}"},
                              "run": {"parameters": {"api_token": PLANTED}}}
    cell = nbformat.v4.new_code_cell(f'api_token = "{PLANTED}"\n')
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"token is {PLANTED}\n"),
        nbformat.v4.new_output("display_data", data={"text/html": f"<b>{PLANTED}</b>",
                                                     "application/json": {"t": PLANTED},
                                                     "image/png": "iVBORw0KGgo" + PLANTED}),
        nbformat.v4.new_output("error", ename="ValueError", evalue=f"bad {PLANTED}", traceback=[f"line {PLANTED}"]),
    ]
    nb.cells.append(cell)
    masking.mask_notebook(nb, masking.secret_values({"api_token": PLANTED}))
    text = nbformat.writes(nb)
    # Image bytes are never rewritten (a literal could occur in base64 by chance); all else is clean.
    assert text.count(PLANTED) == 1 and "iVBORw0KGgo" + PLANTED in text
    assert nb.metadata["papermill"]["parameters"] == {"api_token": "***", "days": 3}
    assert nb.metadata["runbook"]["figures"] == {"keys checked": 4}
    assert nb.metadata["runbook"]["run"]["parameters"] == {"api_token": "***"}


@pytest.fixture(scope="module")
def secret_run(tmp_path_factory):
    """One real run whose token arrives by a parameters file and is printed, recorded and put in
    the summary by the (deliberately careless) fixture notebook."""
    base = tmp_path_factory.mktemp("secret-run")
    params_file = base / "secret.yaml"
    params_file.write_text(f"api_token: {PLANTED}\nverdict: warn\nchart: false\n")
    out = base / "reports"
    outcome = runner.run_notebook(Path(__file__).parent / "notebooks" / "example.ipynb",
                                  param_files=[params_file], outdir=out, progress=False)
    return outcome, out


def test_planted_secret_is_in_no_file_the_run_wrote(secret_run):
    outcome, out = secret_run
    assert outcome.exit_code == 0 and outcome.verdict == "warn"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".ipynb", ".html"}
    for file in files:
        assert PLANTED.encode() not in file.read_bytes(), f"the planted secret leaked into {file}"
    nb = nbformat.read(outcome.notebook, as_version=4)
    # ... while the notebook still shows that a token was given and used.
    assert nb.metadata["papermill"]["parameters"]["api_token"] == "***"
    assert nb.metadata["runbook"]["run"]["parameters"]["api_token"] == "***"
    assert "Bearer ***" in nbformat.writes(nb)
    assert outcome.summary == "3 rows checked with token ***"
