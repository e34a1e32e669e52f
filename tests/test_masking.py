"""Secrets never leak: masking rules, and a planted secret that ends up in no file the runner writes."""
from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

from runbook_lib import masking, runner

PLANTED = "pl4nted-S3CRET-7c1e"
FAKE_PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
            "qR9vX1mJ0pQ==\n-----END PRIVATE KEY-----")
FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLWJ5dGVz"
FAKE_API_KEY = "AIza" + "Sy" + "D3kT9x0-q1w2e3r4t5y6u7i8o9p0a1s2d"
# Made-up tokens in the providers' shapes (split so no scanner mistakes this file for a leak).
FAKE_GITHUB = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
FAKE_GITHUB_PAT = "github_pat" + "_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"
FAKE_AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
FAKE_SLACK = "xoxb" + "-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"


@pytest.mark.parametrize("name, secret", [
    ("api_token", True), ("GITHUB_TOKEN", True), ("client_secret", True), ("db_password", True),
    ("service_account_key", True), ("phase", False), ("dataset_prefix", False),
    ("sort_key", True), ("keystore_path", True), ("api_keys", True), ("SSH_KEYS", True), ("service_account_keys", True),
    # key columns, not secrets: runbook 04's threshold (masked, its value 2025 blanked the years of every date)
    ("keys", False), ("max_duplicate_keys", False), ("merge_keys", False),
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
    # Secrets by shape, whatever the parameter or variable holding them is called:
    ("clone https://deploy:hunter2hunter2@github.com/org/repo.git", "hunter2hunter2"),
    ("redis://:s3cr3tpass@10.0.0.5:6379/0", "s3cr3tpass"),
    (f"git remote add origin https://{FAKE_GITHUB}@github.com/o/r", FAKE_GITHUB),
    (f"header {FAKE_GITHUB_PAT} sent", FAKE_GITHUB_PAT),
    (f"aws configure set aws_access_key_id {FAKE_AWS_KEY_ID}", FAKE_AWS_KEY_ID),
    (f"ANOTHER={FAKE_AWS_KEY_ID}", FAKE_AWS_KEY_ID),
    (f"curl -H 'X-Goog-Api-Key: {FAKE_API_KEY}'", FAKE_API_KEY),
    (f"slack client built with {FAKE_SLACK}", FAKE_SLACK),
    ("posting to https://hooks.slack.com/services/T0000AAAA/B0000BBBB/aBcDeFgHiJkLmNoPqRsTuVwX", "aBcDeFgHiJkL"),
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


# ---------------------------------------------------------------------------------------------
# Escaped literal values, more shapes, keys and metadata

ODD_SECRET = "Zq9&<tok>\"'-S3CRET-4f2a"


@pytest.mark.parametrize("shown", [
    html.escape(ODD_SECRET), html.escape(ODD_SECRET, quote=False),
    html.escape(ODD_SECRET, quote=False).replace('"', "&#34;").replace("'", "&#39;"),  # markupsafe's quotes
    json.dumps(ODD_SECRET)[1:-1], repr(ODD_SECRET)[1:-1], quote(ODD_SECRET, safe=""),
])
def test_a_literal_secret_is_masked_however_it_was_escaped(shown):
    masked = masking.mask_text(f"<td>{shown}</td>", [ODD_SECRET])
    assert masked == f"<td>{masking.MASK}</td>"


@pytest.mark.parametrize("text, leaked, kept", [
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Authorization: Basic ***"),
    ("curl -H 'authorization: basic dXNlcjpwYXNz' https://x", "dXNlcjpwYXNz", "basic ***"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz", "'Basic ***'"),
    ("postgres://admin:hunter2-db@db:5432/x", "hunter2-db", "postgres://admin:***@db:5432/x"),
    ("redis://:only-a-password@cache:6379", "only-a-password", "redis://:***@cache"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF1234abcdEFGH\n=AbCd\n"
     "-----END PGP PRIVATE KEY BLOCK-----\nnext line", "lQOYBF1234abcdEFGH", "BLOCK-----\nnext line"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF1234abcdEFGH", "lQOYBF1234abcdEFGH",
     "-----BEGIN PGP PRIVATE KEY BLOCK-----***"),
    ('{"client_id": "x.apps.googleusercontent.com", "web": "GOCSPX-1a2b3c4d5e6f7g8h9i0jKLMN"}',
     "1a2b3c4d5e6f7g8h9i0jKLMN", "x.apps.googleusercontent.com"),
])
def test_more_secret_shapes_are_masked(text, leaked, kept):
    masked = masking.mask_text(text)
    assert leaked not in masked and kept in masked
    assert masking.mask_text(masked) == masked  # masking twice changes nothing


def test_look_alikes_of_the_new_shapes_are_left_alone():
    text = ("Basic checks passed; basic configuration is fine; see https://example.com:8080/path, "
            "http://user@host/ and ftp://host:21/x")
    assert masking.mask_text(text) == text


def test_look_alikes_of_token_shapes_are_left_alone():
    text = ("ghp_short, github_pat_ is a prefix; XAKIAIOSFODNN7EXAMPLEX and AKIAshort are not key ids; "
            "xoxb- alone; https://hooks.slack.com/services/ is the documentation")
    assert masking.mask_text(text) == text


def test_secrets_by_shape_are_masked_in_outputs_metadata_and_the_html_page(tmp_path):
    from runbook_lib import report

    shapes = [FAKE_GITHUB, FAKE_GITHUB_PAT, FAKE_AWS_KEY_ID, FAKE_SLACK, FAKE_API_KEY]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(config)")   # the values come from a config, no parameter names them
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=" ".join(shapes) + "\n"),
        nbformat.v4.new_output("display_data", data={"text/html": "<td>" + "</td><td>".join(shapes) + "</td>",
                                                     "text/plain": repr(shapes)},
                               metadata={"source": {"url": f"https://ci:{FAKE_GITHUB}@github.com/o/r"}}),
    ]
    nb.cells.append(cell)
    nb.metadata["runbook"] = {"name": "x", "verdict": "warn", "summary": f"used {FAKE_AWS_KEY_ID}",
                              "details": {"remote": "https://bot:hunter2hunter2@git.example.com/r"}}
    masking.mask_notebook(nb)
    page = report.render_run_html(nb, tmp_path / "x.html")
    for text in (nbformat.writes(nb), page.read_text(encoding="utf-8")):
        for secret in shapes + ["hunter2hunter2"]:
            assert secret not in text and secret[8:20] not in text


def test_mask_data_masks_keys_and_keeps_keys_that_mask_alike_apart():
    data = {PLANTED: "user", "nested": {f"Bearer {PLANTED}": 1}, "pw-12345": 2, "plain": [PLANTED]}
    masked = masking.mask_data(data, [PLANTED, "pw-12345"])
    assert PLANTED not in json.dumps(masked) and "pw-12345" not in json.dumps(masked)
    assert masked == {"***": "user", "nested": {"Bearer ***": 1}, "*** #2": 2, "plain": ["***"]}


def test_mask_notebook_covers_output_and_cell_metadata():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.metadata["note"] = f"token {PLANTED}"
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "x"},
                                           metadata={"application/json": {"expanded": PLANTED}})]
    nb.cells.append(cell)
    masking.mask_notebook(nb, [PLANTED])
    assert PLANTED not in nbformat.writes(nb)
    assert nb.cells[0].outputs[0].metadata["application/json"]["expanded"] == "***"
    assert nb.cells[0].metadata.note == "token ***"  # still a NotebookNode


# ---------------------------------------------------------------------------------------------
# Outputs too big to mask are cut first, without leaving half a secret

def test_cap_text_keeps_small_text_and_cuts_big_text_with_a_marker():
    assert masking.cap_text("small", limit=100) == "small"
    lines = "".join(f"line {i:04d}\n" for i in range(100))  # 10 bytes a line
    capped = masking.cap_text(lines, limit=305)
    kept, marker = capped.rstrip("\n").rsplit("\n", 1)
    assert kept == lines[:300].rstrip("\n")            # cut at a line end
    assert marker == "[output truncated by the runner: 700 of 1000 bytes not kept]"


def test_a_cut_never_leaves_the_start_of_a_secret():
    text = "z" * 990 + PLANTED + "z" * 500              # the limit falls inside the secret
    capped = masking.cap_text(text, limit=1000, secrets=[PLANTED])
    assert capped.startswith("z" * 990 + "\n[output truncated by the runner: ")
    assert PLANTED[:3] not in capped


def test_cap_output_drops_an_oversized_html_representation_and_says_so():
    output = nbformat.v4.new_output("display_data", data={"text/html": "<table>" + "<tr><td>1</td></tr>" * 100,
                                                          "image/png": "iVBOR" * 1000})
    masking.cap_output(output, limit=500)
    assert "text/html" not in output.data and output.data["image/png"] == "iVBOR" * 1000
    assert output.data["text/plain"].startswith("[output truncated by the runner:") and "text/html" in output.data["text/plain"]
    stream = nbformat.v4.new_output("stream", name="stdout", text="a\n" * 1000)
    masking.cap_output(stream, limit=500)
    assert len(stream.text.encode()) < 600 and "output truncated by the runner" in stream.text


def test_mask_notebook_caps_outputs_before_masking():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 5000 + f" Bearer {PLANTED}")]
    nb.cells.append(cell)
    masking.mask_notebook(nb, output_limit=1000)
    assert PLANTED not in nbformat.writes(nb) and "output truncated by the runner" in cell.outputs[0].text


_HOSTILE = r'''
import random, string, sys
from runbook_lib import masking
random.seed(7)
blob = "".join(random.choice(string.ascii_letters + string.digits + "-_") for _ in range(200_000))
assert masking.mask_text(blob) == blob
for opening in ('password="', "{'api_token': '", '{"client_secret": "'):
    text = opening + "\\" * 64
    assert masking.mask_text(text) == text, opening
for text in ("-eyJ" * 50_000, "-----BEGIN PRIVATE KEY-----\n" * 20_000, "a://" * 50_000, "api_token_" * 20_000,
             "a://b:" * 50_000 + "…", "ghp_" * 50_000 + "...", "password:" * 30_000, '"password": "' * 20_000 + "…",
             "x_token" * 30_000 + ":a"):
    masking.mask_text(text)
print("finished")
'''


def test_hostile_text_is_masked_in_linear_time():
    # A catastrophic regex would hang rather than fail: run it where a timeout can stop it.
    result = subprocess.run([sys.executable, "-c", _HOSTILE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "finished"


@pytest.mark.parametrize("text", [
    # runbook 05's fix for refused Pub/Sub pushes: the audience is the service's URL, and `***` there would
    # leave the pushes refused after the fix
    "gcloud pubsub subscriptions modify-push-config sub --push-endpoint=https://svc-1.a.run.app/process "
    "--push-auth-service-account=push@p.iam.gserviceaccount.com --push-auth-token-audience=https://svc-1.a.run.app",
    "token_type=Bearer", "token_uri: https://oauth2.googleapis.com/token", "api_key_file=/secrets/key.json",
])
def test_names_about_a_secret_keep_their_values(text):
    assert masking.mask_text(text) == text


@pytest.mark.parametrize("text, leaked", [
    ("--push-auth-token=abc123def456", "abc123def456"), ("refresh_token_value=r3fr3sh", "r3fr3sh"),
    ('"token_audience_secret": "s3cr3t"', "s3cr3t"),
])
def test_a_secret_name_that_only_contains_an_about_word_is_still_masked(text, leaked):
    assert leaked not in masking.mask_text(text)


@pytest.mark.parametrize("text", [
    # the evidence runbook 01 points at: a version pin is not a name=value pair
    "Could not find a version that satisfies the requirement google-cloud-secret-manager==2.99.0 (from versions: 2.16.4)",
    "tokenizers==0.99.1", "pip install 'passlib[bcrypt]==1.7.4'",
    # bq's PROJECT:DATASET where the project's id starts with such a word; C++'s ::
    "bq --location=US mk --dataset tokenomics-prod:test_nba_analytics", "std::string token::value()",
    # the shell's reference to a secret is how a build passes it, not the secret (and the kit's own advice)
    'pass token="$(gcloud auth print-identity-token)" yourself', "--build-arg TOKEN=$GITHUB_TOKEN .",
    "PGPASSWORD=${DB_PASSWORD} psql",
])
def test_pins_and_resource_names_that_contain_a_secret_word_are_kept(text):
    assert masking.mask_text(text) == text


@pytest.mark.parametrize("text, leaked", [
    ("password:hunter2x", "hunter2x"), ("password=$ecret12", "ecret12"), ('{"password": "$Secret12"}', "ecret12"), ("DB_PASSWORD: hunter2x", "hunter2x"), ("api_token=abc123xy", "abc123xy"),
    # cut for display by something else (pandas ends a long cell with "..."): the start of the secret
    ("--build-arg PIP_INDEX_URL=https://ci-bot:Pa55w0rdXyz...", "Pa55w0rd"), ("ghp_A1b2C3d4E5f6G…", "A1b2C3"),
    ("AKIAIOSFODNN…", "IOSFODNN"), ('{"private_key_id": "3f2a9c7e1b…', "3f2a9c7e"), ("eyJhbGciOiJSUzI1NiIs...", "hbGciOi"),
])
def test_named_and_cut_secrets_are_masked(text, leaked):
    assert leaked not in masking.mask_text(text)


@pytest.mark.parametrize("secret", ["https://ci-bot:Pa55w0rdXyz-9f8e7d6c@pypi.example.com/simple",
                                    "ghp_" + "A1b2C3d4E5" * 4, '"password": "hunter2-and-more-of-it"'])
def test_a_line_cut_for_display_never_keeps_the_start_of_a_secret(secret):
    """Text cut before the page is masked leaves half a secret that no rule recognises: one_line and headline
    scrub what they cut, wherever the cut falls."""
    from runbook_lib.formats import headline, one_line

    line = "step 0 runs docker build --build-arg X=" + secret + " -t image ."
    start = secret.index("Pa55") if "Pa55" in secret else secret.index("A1b2") if "A1b2" in secret else secret.index("hunter2")
    for limit in range(len("step 0 runs docker build --build-arg X=") + start + 2, len(line)):
        for cut in (one_line(line, limit), headline(line, limit)):
            assert len(cut) <= limit + 2 and secret[start:start + 4] not in cut, (limit, cut)
    assert one_line("short and clean", 80) == "short and clean"


def test_a_url_given_for_a_path_is_kept_as_typed_so_its_password_is_masked(tmp_path, monkeypatch, capsys):
    from runbook_lib import cli
    from runbook_lib.runner.parameters import absolute_paths

    url = "https://ci-bot:Pa55w0rdXyz@logs.example.com/b.txt"
    monkeypatch.chdir(tmp_path)
    made = absolute_paths({"log_file": url, "source_dir": "checkout", "image": url})
    assert made == {"log_file": url, "source_dir": str(tmp_path / "checkout"), "image": url}
    notebook = Path(cli.PROJECT_ROOT) / "notebooks" / "01_diagnose_build.ipynb"
    assert cli.main(["run", str(notebook), "-p", "log_file", url, "-o", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert "log_file='https://ci-bot:***@logs.example.com/b.txt'" in err and "Pa55w0rd" not in err


def test_the_command_line_masks_what_it_refuses(monkeypatch, capsys):
    from runbook_lib import cli

    cli._say('RUNBOOK_GCP_ENDPOINTS=\'{"bigquery": "http://proxy-user:Pa55w0rdXyz@10.0.0.5:9050"\' is not valid')
    err = capsys.readouterr().err
    assert "Pa55w0rd" not in err and "proxy-user:***@10.0.0.5" in err
