"""Runbook 05 end to end through the runner: the incident night on the sandbox, the same on target=gcp with
the real client libraries talking to the local fakes, and bad input stopping before anything runs."""
import nbformat
import pytest

from fakes.fixtures import PROJECT, mirror_sandbox
from runbook_lib import runner
from runbook_lib.gcp.connect import ENDPOINTS_ENV
from runbook_lib.phases import load_phases

NOTEBOOK = runner.NOTEBOOKS_DIR / "05_security_audit.ipynb"
NIGHT = ["until", "2025-12-31T08:00:00Z"]
P4 = "nba-phase4-precompute-processors"
pytestmark = pytest.mark.slow


def _meta(outcome):
    return nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]


def _check_the_night(outcome):
    assert outcome.outcome == "completed", outcome.message
    meta = _meta(outcome)
    assert outcome.exit_code == 3 and meta["verdict"] == "fail"
    figures = meta["figures"]
    assert figures["public services"] == 1 and figures["refused pushes"] > 300
    assert figures["requests analysed"] > figures["refused pushes"] and figures["2xx from unexpected callers"] == 2
    assert meta["summary"].startswith(f"{P4} is public (allAuthenticatedUsers)")
    # whole, down to who the unexpected invokers are (it was cut at "unexpected invokers …")
    assert "unexpected invokers: " in meta["summary"] and meta["summary"].endswith(".")
    html = outcome.html.read_text()
    assert "gcloud pubsub subscriptions modify-push-config nba-phase3-analytics-processors-push" in html
    # the fix as recorded (masked for secrets) still sets the real audience, never `***`
    fixes = [c for f in meta["details"]["findings"] for c in f.get("fix") or [] if "modify-push-config" in c]
    assert fixes and all("--push-auth-token-audience=https://" in f for f in fixes)
    assert "--push-auth-token-audience=***" not in html
    assert "--member=allAuthenticatedUsers --role=roles/run.invoker" in html
    # the project's policy and its folder's and organisation's were read (no invoke role granted there on the
    # incident morning): nothing is left to a read-only command
    assert meta["details"]["project_policy"]["read"] is True
    assert [a["read"] for a in meta["details"]["ancestry"]["ancestors"]] == [True, True]
    assert meta["details"]["not_read"]["checks"] == [] and "# Not read:" not in html
    assert (outcome.notebook.parent / "figures" / "requests_by_status.png").is_file()
    return meta


def test_sandbox_run_finds_the_public_phase4_and_the_broken_pushes(sandbox_home, tmp_path):
    # (-p lookback_hours 24, as the command line gives it: typed as the number the strict model takes)
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(sandbox_home)], NIGHT,
                                                        ["lookback_hours", "24"]],
                                  outdir=tmp_path, progress=False)
    meta = _check_the_night(outcome)
    assert meta["details"]["window"] == {"since": "2025-12-30T08:00:00Z", "until": "2025-12-31T08:00:00Z"}


def test_gcp_run_with_real_clients_against_fakes(fake_apis, sandbox_home, tmp_path, monkeypatch):
    mirror_sandbox(fake_apis, sandbox_home, load_phases())
    fake_apis.max_page_size = 50
    endpoints = ", ".join(f'"{name}": "{fake_apis.endpoint}"'
                          for name in ("logging", "run", "pubsub", "cloudresourcemanager"))
    monkeypatch.setenv(ENDPOINTS_ENV, "{" + endpoints + "}")
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["target", "gcp"], ["project", PROJECT], NIGHT],
                                  outdir=tmp_path, progress=False)
    _check_the_night(outcome)
    assert f"/v1/projects/{PROJECT}/subscriptions" in fake_apis.paths("GET")
    assert len([p for p in fake_apis.paths("POST") if p == "/v2/entries:list"]) > 2
    assert fake_apis.paths("POST").count(f"/v3/projects/{PROJECT}:getIamPolicy") == 1
    assert fake_apis.paths("POST").count(f"/v1/projects/{PROJECT}:getAncestry") == 1


@pytest.mark.parametrize("name, value, said", [
    ("services", '["phase9"]', "services='phase9' is not valid"),
    ("lookback_hours", "0", "lookback_hours=0 is not valid"),
    ("until", "yesterday", "until='yesterday' is not valid"),
    ("expected_invokers", '["pubsub-push@example"]', "expected_invokers='pubsub-push@example' is not valid"),
])
def test_bad_input_exits_2_naming_the_parameter(sandbox_home, tmp_path, name, value, said):
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(sandbox_home)], [name, value]],
                                  outdir=tmp_path, progress=False)
    assert outcome.exit_code == 2 and said in outcome.message
