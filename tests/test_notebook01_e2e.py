"""Runbook 01 end to end through the runner: on the sandbox, and on target=gcp with the real client
libraries talking to local fakes (Cloud Build, Cloud Logging) and gcp-storage-emulator."""
import nbformat
import pytest

from fakes.fixtures import PHASE4_FAILED_ID, PROJECT
from runbook_lib import runner
from runbook_lib.gcp.connect import ENDPOINTS_ENV

NOTEBOOK = "notebooks/01_diagnose_build.ipynb"
pytestmark = pytest.mark.slow


def _meta(outcome):
    return nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]


def test_sandbox_run_reaches_the_incident_cause(sandbox_home, tmp_path):
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(sandbox_home)], ["phase", "phase4"]],
                                  outdir=tmp_path, progress=False)
    meta = _meta(outcome)
    assert outcome.exit_code == 3 and meta["verdict"] == "fail"
    assert meta["figures"]["top_signature"] == "buildpacks-no-entrypoint"
    assert meta["figures"]["builder"] == "buildpacks" and meta["figures"]["log_source"] == "gcs"
    assert "race" in meta["details"]["cause"]
    html = outcome.html.read_text()
    assert "gcloud builds log c3c052da-ddd1-46eb-9d3a-7219a9909377 --region=us-west2 --project=nba-props-platform" in html


@pytest.mark.parametrize("name, value", [("build_id", "c3c052da"), ("phase", "phase7"), ("log_file", "/no/such.log"),
                                         ("source_dir", "/no/such/dir")])
def test_bad_input_exits_2_naming_the_parameter(sandbox_home, tmp_path, name, value, capsys):
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(sandbox_home)], [name, value]],
                                  outdir=tmp_path, progress=False)
    assert outcome.exit_code == 2
    assert f"{name}={value!r} is not valid" in outcome.message


def test_gcp_run_with_real_clients_against_fakes(fake_apis, storage_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv(ENDPOINTS_ENV, (f'{{"cloudbuild": "{fake_apis.endpoint}", "logging": "{fake_apis.endpoint}", '
                                       f'"storage": "{storage_emulator.endpoint}", "run": "{fake_apis.endpoint}"}}'))
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["target", "gcp"], ["project", PROJECT],
                                                        ["build_id", PHASE4_FAILED_ID]],
                                  outdir=tmp_path, progress=False)
    meta = _meta(outcome)
    assert outcome.outcome == "completed", outcome.message
    assert meta["verdict"] == "fail" and meta["figures"]["top_signature"] == "buildpacks-no-entrypoint"
    assert meta["figures"]["log_source"] == "gcs"
    # the kernel asked Cloud Build for the regional resource, never the global path
    assert f"/v1/projects/{PROJECT}/locations/us-west2/builds/{PHASE4_FAILED_ID}" in fake_apis.paths("GET")
    assert f"/v1/projects/{PROJECT}/builds/{PHASE4_FAILED_ID}" not in fake_apis.paths("GET")


def test_relative_paths_are_taken_from_where_the_operator_stands(sandbox_home, tmp_path, monkeypatch):
    saved = tmp_path / "saved.log"
    saved.write_text("Step #1: ERROR: failed to build: nothing here\n")
    monkeypatch.chdir(tmp_path)
    values = runner.resolve_parameters(runner.NOTEBOOKS_DIR / "01_diagnose_build.ipynb", pairs=[["log_file", "saved.log"], ["source_dir", "."], ["phase", "phase4"]])
    assert values["log_file"] == str(saved) and values["source_dir"] == str(tmp_path)
    assert values["phase"] == "phase4"   # only path-like names are touched


def test_uninitialised_sandbox_home_is_bad_input(tmp_path):
    outcome = runner.run_notebook(runner.NOTEBOOKS_DIR / "01_diagnose_build.ipynb",
                                  parameters=[["sandbox_home", str(tmp_path / "nothing")]], outdir=tmp_path / "r",
                                  progress=False)
    assert outcome.exit_code == 2 and "is not valid: give an initialised sandbox folder" in outcome.message
    assert not (tmp_path / "nothing").exists()      # a read-only runbook never creates the sandbox
