"""Runbook 01 end to end through the runner: on the sandbox, and on target=gcp with the real client
libraries talking to local fakes (Cloud Build, Cloud Logging) and gcp-storage-emulator."""
import json

import nbformat
import pytest

from fakes.errors import perimeter_refusal, service_disabled
from fakes.fixtures import LOGS_BUCKET, PHASE4_FAILED_ID, PROJECT, PROJECT_NUMBER
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
    assert "gcloud builds log c3c052da-ddd1-46eb-9d3a-7219a9909377 --region=us-west2 --project=PROJECT" in html   # the sandbox prints gcp's command


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


def _run_on_fakes(fake_apis, storage_endpoint, tmp_path, monkeypatch):
    endpoints = {"cloudbuild": fake_apis.endpoint, "logging": fake_apis.endpoint, "run": fake_apis.endpoint,
                 "storage": storage_endpoint}
    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps(endpoints))
    return runner.run_notebook(NOTEBOOK, parameters=[["target", "gcp"], ["project", PROJECT],
                                                     ["build_id", PHASE4_FAILED_ID]], outdir=tmp_path, progress=False)


def test_gcp_run_with_cloud_build_not_enabled_records_the_command_that_enables_it(fake_apis, tmp_path, monkeypatch):
    fake_apis.fault(f"/v1/projects/{PROJECT}/locations/",
                    service_disabled("cloudbuild.googleapis.com", "Cloud Build API", PROJECT_NUMBER))
    outcome = _run_on_fakes(fake_apis, fake_apis.endpoint, tmp_path, monkeypatch)
    said = (f"ServiceDisabled: The Cloud Build API (cloudbuild.googleapis.com) is not enabled in project {PROJECT}, so "
            f"Cloud Build refused get_build: run `gcloud services enable cloudbuild.googleapis.com --project={PROJECT}`")
    assert outcome.exit_code == 1 and said in outcome.message
    assert said in _meta(outcome)["summary"]
    page = outcome.html.read_text()
    assert f"gcloud services enable cloudbuild.googleapis.com --project={PROJECT}" in page and "Traceback" not in page


def test_gcp_run_past_a_perimeter_on_the_logs_bucket_says_its_identifier_and_reads_cloud_logging(
        fake_apis, tmp_path, monkeypatch):
    fake_apis.fault(f"/download/storage/v1/b/{LOGS_BUCKET}/",
                    perimeter_refusal("storage.googleapis.com", "VQQnKfXtZ16NHnOm", PROJECT_NUMBER, json_api=True))
    outcome = _run_on_fakes(fake_apis, fake_apis.endpoint, tmp_path, monkeypatch)
    meta = _meta(outcome)
    assert outcome.outcome == "completed", outcome.message
    assert meta["verdict"] == "fail" and meta["figures"]["top_signature"] == "buildpacks-no-entrypoint"
    assert meta["figures"]["log_source"] == "logging"
    page = outcome.html.read_text()
    assert "vpcServiceControlsUniqueIdentifier: VQQnKfXtZ16NHnOm" in page and "Traceback" not in page


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
