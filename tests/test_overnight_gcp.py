"""The overnight plan with target=gcp (params/overnight-gcp-fake.yaml): every runbook, 00 to 05, through the
real google-cloud client libraries over HTTP, against the local fakes mirroring a sandbox on the incident
morning (tests/fakes/mirror.py), whose own service processes answer the fake Cloud Run. The night reaches
the sandbox night's verdicts and figures, step by step."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from conftest import NIGHT_SCALE
from fakes.fixtures import OPERATOR_TOKEN, PROJECT
from fakes.mirror import FakeCloud
from runbook_lib import runner
from runbook_lib.local.sandbox import stop_sandbox

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
GCP_PLAN = ROOT / "params" / "overnight-gcp-fake.yaml"
SANDBOX_PLAN = ROOT / "params" / "overnight-sandbox.yaml"
P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
PHASE3_DEPLOY_BUILD = "5ffaf38b-82b9-5d00-8f49-c1b31539d7f8"   # the sandbox's; the plans diagnose it


def test_the_gcp_plan_is_the_sandbox_plan_on_gcp(sandbox_home, monkeypatch):
    """The same steps, notebooks, dependencies and parameters; on top only what gcp needs, as its header says:
    the checkout (source_dir), allow_changes, and the replay's production checksums."""
    sandbox, gcp = yaml.safe_load(SANDBOX_PLAN.read_text()), yaml.safe_load(GCP_PLAN.read_text())
    assert (sandbox["target"], gcp["target"], gcp["allow_changes"]) == ("local", "gcp", True)
    added = {"source_dir": "${RUNBOOK_HOME}/source", "production_checksum": True}
    for ours, theirs in zip(gcp["steps"], sandbox["steps"], strict=True):
        assert {k: v for k, v in ours.items() if k != "parameters"} == {k: v for k, v in theirs.items() if k != "parameters"}
        extra = {k: v for k, v in ours.get("parameters", {}).items() if k not in theirs.get("parameters", {})}
        assert {k: v for k, v in ours.get("parameters", {}).items() if k not in extra} == theirs.get("parameters", {})
        assert extra.items() <= added.items(), ours["id"]
    monkeypatch.setenv("RUNBOOK_HOME", str(sandbox_home))
    loaded = runner.load_plan(GCP_PLAN)
    assert {s.values["source_dir"] for s in loaded.steps if "source_dir" in s.values} == {f"{sandbox_home}/source"}


@dataclass
class GcpNight:
    cloud: FakeCloud
    exit_code: int
    summary: dict


@pytest.fixture(scope="module")
def gcp_night(tmp_path_factory, seeded_sandbox):
    """One night of the gcp plan on a sandbox made like the sandbox night's (same scale: same incident,
    same data), the fakes mirroring it. It does not wait for the sandbox night (demo_night, which another test
    process may be running): the tests that compare the two ask for that one."""
    base = tmp_path_factory.mktemp("gcp-night")
    home = seeded_sandbox(NIGHT_SCALE, "gcp-night-sandbox")
    cloud = FakeCloud.mirroring(home, base)
    # Builds and rollouts finish at their first poll: the night checks what they did, and the kit's waiting
    # with progress (several polls, POLL_SECONDS apart) is tests/test_redeploy_gcp.py's.
    cloud.deploys.build_polls = cloud.deploys.rollout_polls = 1
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            cloud.apply(monkeypatch)
            night = runner.run_plan(GCP_PLAN, outdir=base / "reports")
        yield GcpNight(cloud, night.exit_code, json.loads((night.folder / "summary.json").read_text()))
    finally:
        cloud.stop()
        stop_sandbox(home)


def _steps(summary: dict) -> dict[str, dict]:
    return {step["step"]: step for step in summary["steps"]}


# Figures that legitimately differ between the two nights, and why. Every other figure, every verdict and
# every summary (with these values put back) must be the same.
DIFFERS = {
    # Cloud Run names a new revision <service>-<number>-<three random letters>; the sandbox derives the
    # letters from a hash. The number (the service's next revision) is the same on both.
    "new revision": lambda ours, theirs: ours.rsplit("-", 1)[0] == theirs.rsplit("-", 1)[0],
}


def test_the_gcp_night_reaches_the_sandbox_nights_verdicts_and_figures(gcp_night, demo_night):
    assert (gcp_night.summary["target"], demo_night.summary["target"]) == ("gcp", "local")
    assert gcp_night.exit_code == 3 and gcp_night.cloud.rollouts.errors == []
    gcp, local = _steps(gcp_night.summary), _steps(demo_night.summary)
    assert list(gcp) == list(local) == [step["id"] for step in yaml.safe_load(SANDBOX_PLAN.read_text())["steps"]]
    for step, ours in gcp.items():
        theirs = local[step]
        assert (step, ours["verdict"]) == (step, theirs["verdict"]), (ours["summary"], theirs["summary"])
        assert ours["figures"].keys() == theirs["figures"].keys(), step
        summary = ours["summary"]
        for name, value in ours["figures"].items():
            if name in DIFFERS:
                assert DIFFERS[name](value, theirs["figures"][name]), (step, name, value, theirs["figures"][name])
                summary = summary.replace(value, theirs["figures"][name])
            else:
                assert (step, name, value) == (step, name, theirs["figures"][name])
        assert (step, summary) == (step, theirs["summary"])


def test_every_runbook_went_through_the_google_apis_over_http(gcp_night):
    """Not a local shortcut: the fakes saw each API's calls, as the real clients make them."""
    cloud = gcp_night.cloud
    gets, posts = cloud.apis.paths("GET"), cloud.apis.paths("POST")
    builds = f"/v1/projects/{PROJECT}/locations/us-west2/builds"
    assert f"{builds}/{PHASE3_DEPLOY_BUILD}" in gets and f"/v1/projects/{PROJECT}/builds/{PHASE3_DEPLOY_BUILD}" not in gets
    # Each redeploy patches its service twice: the deploy with no traffic (tag candidate), then the migration.
    assert posts.count(builds) == 2 and cloud.apis.paths("PATCH") == [
        f"/v2/projects/{PROJECT}/locations/us-west2/services/{P4}"] * 2 + [
        f"/v2/projects/{PROJECT}/locations/us-west2/services/{P3}"] * 2
    assert "/v2/entries:list" in posts and f"/v1/projects/{PROJECT}/subscriptions" in gets
    # The redeploys staged their sources in gcp-storage-emulator as gcloud builds submit does.
    staged = [blob.name for blob in cloud.storage.client().list_blobs(f"{PROJECT}_cloudbuild")]
    assert len(staged) == 2 and all(name.startswith("source/") and name.endswith(".tgz") for name in staged)
    # The replay called each phase's own endpoint through Cloud Run's IAM check, with the operator's token.
    calls = [r for r in cloud.apis.requests if r.method == "POST" and r.path.startswith("/svc/")]
    assert sorted(r.path for r in calls) == [f"/svc/{P3}/process-date-range"] * 2 + [f"/svc/{P4}/process-date"] * 2
    assert {r.headers["authorization"] for r in calls} == {f"Bearer {OPERATOR_TOKEN}"}
    # Every BigQuery job is the kit's, and the replay's test datasets were made through the API.
    jobs = cloud.bigquery.submitted_jobs()
    assert jobs and all(job["labels"]["created-by"] == "phase-runbooks" for job in jobs)
    made = [r.body["datasetReference"]["datasetId"] for r in cloud.bigquery.requests
            if r.method == "POST" and r.path.endswith("/datasets")]
    assert sorted(made) == ["test_nba_analytics", "test_nba_precompute"]


def test_the_deploys_changed_what_serves(gcp_night):
    """The fake's rollouts deployed the same code in the sandbox, whose processes answer the services' calls:
    what Cloud Run says serves is what /health and the replay reached."""
    cloud = gcp_night.cloud
    state = json.loads(cloud.box.state_file.read_text())
    head = state["source"]["commits"]["head"]
    for phase, service in (("phase3", P3), ("phase4", P4)):
        name = f"projects/{PROJECT}/locations/us-west2/services/{service}"
        serving = max(cloud.apis.run_services[name]["trafficStatuses"], key=lambda t: t["percent"])["revision"]
        assert serving in cloud.rollouts.deployed
        record = state["services"][phase]
        local = next(r for r in record["revisions"] if r["name"] == record["traffic"][0]["revisionName"])
        assert local["name"] == cloud.rollouts.deployed[serving]
        assert (local["commit_sha"], local["code_phase"], local["supports_prefix"]) == (head, phase, True)
        answer = requests.get(f"{cloud.apis.endpoint}/svc/{service}/health", timeout=60,
                              headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert (answer.status_code, answer.json()["service"], answer.json()["commit_sha"]) == (200, service, head)
