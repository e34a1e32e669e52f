"""Runbook 02 on target=gcp: the real google-cloud-build, -run and -storage clients against the fakes
(tests/fakes/deploys.py) and gcp-storage-emulator, mirroring the shared sandbox (whose checkout is the
source). Long-running operations are polled, a failed build is diagnosed inline with runbook 01's
catalogue, and a revision that fails or never becomes ready is rolled back."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.deploys import FakeDeploys
from fakes.errors import CONNECTION_RESET
from fakes.fixtures import OPERATOR_TOKEN, PROJECT, connect_gcp_on_fakes
from runbook_lib import params, redeploy
from runbook_lib.errors import OperationTimeout

P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
P4_NAME = f"projects/{PROJECT}/locations/us-west2/services/{P4}"
LOGS = Path(__file__).parent / "fixtures" / "logs"


@pytest.fixture
def deploys(fake_apis, storage_emulator):
    fake = FakeDeploys(fake_apis, storage=storage_emulator.client())
    fake.identity_by_dockerfile = {"docker/precompute-processor.Dockerfile": P4,
                                   "docker/analytics-processor.Dockerfile": P3}
    return fake


@pytest.fixture
def gcp(deploys, fake_apis, storage_emulator, sandbox_home, tmp_path, monkeypatch):
    target = connect_gcp_on_fakes(fake_apis, sandbox_home, tmp_path, monkeypatch, storage_endpoint=storage_emulator.endpoint)
    target.builds.poll_s = target.services.poll_s = 0.01
    yield target
    target.close()


def _run(target, sandbox_home, rollout_timeout_s: float | None = None, **values):
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                        "source_dir": str(Path(sandbox_home) / "source"), **values})
    lines: list[str] = []
    run = redeploy.prepare(target, p, progress=lines.append)
    if rollout_timeout_s is not None:
        run.rollout_timeout_s = rollout_timeout_s
    run.guard()
    run.execute()
    run.verify()
    return run.result(), lines


def _head(sandbox_home) -> str:
    return json.loads((Path(sandbox_home) / "state.json").read_text())["source"]["commits"]["head"]


def test_a_redeploy_builds_polls_deploys_by_digest_and_verifies(gcp, deploys, fake_apis, storage_emulator, sandbox_home):
    head = _head(sandbox_home)
    result, lines = _run(gcp, sandbox_home, phase="phase4")
    # Phase 4 is still public on the mirrored incident morning (allAuthenticatedUsers): a warning, not a failure.
    assert result.verdict == "warn" and "allAuthenticatedUsers may invoke it" in result.summary, result.summary
    assert result.figures["checks passed"] == "7/7" and result.figures["rolled back"] == "no"
    # The build: regional create_build (parent only), polled through its operation until it ended.
    creates = [r for r in fake_apis.requests if r.method == "POST" and r.path.endswith("/builds")]
    assert [r.path for r in creates] == [f"/v1/projects/{PROJECT}/locations/us-west2/builds"]
    build_op = next(o for o in deploys.operations.values() if o.kind == "build")
    assert build_op.done and build_op.polls >= deploys.build_polls
    assert any(line.endswith("WORKING, step 1/2") for line in lines) and any("SUCCESS" in line for line in lines)
    # The source: staged as gcloud stages it, exactly the commit's tree.
    source = creates[0].body["source"]["storageSource"]
    assert source["bucket"] == f"{PROJECT}_cloudbuild" and source["object"].startswith("source/")
    assert source["object"].endswith(".tgz")
    files = deploys.sources[build_op.subject]
    assert "docker/precompute-processor.Dockerfile" in files and "Dockerfile" not in files
    assert not any(f.startswith(".git/") for f in files)
    # The deploy: update_service with the image by digest, labels and env merged, then polled.
    patch = next(r for r in fake_apis.requests if r.method == "PATCH")
    container = patch.body["template"]["containers"][0]
    assert container["image"].startswith(f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}@sha256:")
    assert {"name": "COMMIT_SHA", "value": head[:7]} in container["env"]
    # the service was pinned before (the mirrored morning): said on the candidate for a run after an interrupted one
    assert patch.body["template"]["labels"] == {"commit-sha": head[:7], "git-branch": "main",
                                                "runbook-followed-latest": "false"}
    rollout_op = next(o for o in deploys.operations.values() if o.kind == "rollout")
    assert rollout_op.done and rollout_op.polls >= deploys.rollout_polls
    info = gcp.services.describe("phase4")
    assert info.revision == result.figures["new revision"] and info.commit_sha == head[:7]
    # /health was called with the operator's identity token, which is used and never shown.
    health_calls = [r for r in fake_apis.requests if r.path.endswith(f"/svc/{P4}/health")]
    assert health_calls and all(r.headers.get("authorization") == f"Bearer {OPERATOR_TOKEN}" for r in health_calls)
    assert OPERATOR_TOKEN not in json.dumps(result.to_dict()) + "\n".join(lines)
    assert gcp.services.health("phase4", token=gcp.services.identity_token(phase="phase4"))["commit_sha"] == head


def test_a_failed_build_is_diagnosed_inline_and_nothing_is_deployed(gcp, deploys, fake_apis, sandbox_home):
    deploys.fail_next_build((LOGS / "pip-install-failed-1.txt").read_text())
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "fail" and result.figures["new revision"] == "-"
    build = result.details["build"]
    assert build["status"] == "FAILURE" and build["image"] == ""
    diagnosis = build["diagnosis"]
    assert diagnosis["figures"]["top_signature"] == "pip-install-failed"
    assert diagnosis["figures"]["log_source"] == "logging"          # no bucket object: read from Cloud Logging
    assert result.summary.startswith(f"Build {build['build_id']} ended FAILURE, nothing was deployed "
                                     f"({P4}-00029-fdx still serves): {diagnosis['details']['findings'][0]['title']}")
    assert f"(log line {diagnosis['details']['findings'][0]['line']})" in result.summary
    assert not [r for r in fake_apis.requests if r.method == "PATCH"]


def test_a_failed_build_with_no_log_to_read_leads_with_its_failure_info_as_runbook_01_does(gcp, deploys, fake_apis,
                                                                                            sandbox_home):
    deploys.fail_next_build("")     # nothing in Cloud Logging, and no object in the logs bucket
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "fail" and result.figures["new revision"] == "-"
    diagnosis = result.details["build"]["diagnosis"]
    assert diagnosis["figures"]["log_source"] == "none" and diagnosis["figures"]["top_signature"] != "unknown"
    why = result.summary.split(f"({P4}-00029-fdx still serves): ", 1)[1]
    assert why.startswith("No log of the build could be read (tried: ") and "unknown" not in why.split(".")[0]
    assert "failureInfo.type USER_BUILD_STEP" in why
    assert not [r for r in fake_apis.requests if r.method == "PATCH"]


def test_an_image_no_record_proves_is_deployed_without_a_commit_label(gcp, deploys, fake_apis, sandbox_home):
    """Runbook 03's replay gate and runbook 00 take the commit-sha label for the code: a commit given for an image
    nothing records is not written there, and the label the service template carries from before is removed;
    likewise COMMIT_SHA, which /health reports back: set from the parameter, it would prove the parameter."""
    head = _head(sandbox_home)
    fake_apis.run_services[P4_NAME]["template"] = {"labels": {"commit-sha": "0000000", "team": "nba"},
                                                   "containers": [{"image": "old", "env": [
                                                       {"name": "COMMIT_SHA", "value": "0000000"},
                                                       {"name": "GCP_PROJECT_ID", "value": PROJECT}]}]}
    image = f"us-west2-docker.pkg.dev/{PROJECT}/elsewhere/{P4}:x"
    result, _ = _run(gcp, sandbox_home, phase="phase4", strategy="image", image=image, commit=head)
    deploy = result.details["plan"]["commands"][0]
    assert ("--update-labels=git-branch=main,runbook-followed-latest=false --remove-labels=commit-sha "
            "--remove-env-vars=COMMIT_SHA") in deploy
    assert "commit-sha=" not in deploy and "--update-env-vars" not in deploy
    patch = next(r for r in fake_apis.requests if r.method == "PATCH")
    assert patch.body["template"]["labels"] == {"team": "nba", "git-branch": "main", "runbook-followed-latest": "false"}
    assert patch.body["template"]["containers"][0]["env"] == [{"name": "GCP_PROJECT_ID", "value": PROJECT}]
    label = next(c for c in result.checks if c.name == "commit-sha label")
    assert label.status == "warn" and label.detail.startswith("No commit-sha label: nothing records which commit")
    assert result.verdict == "warn" and result.figures["rolled back"] == "no", result.summary
    info = gcp.services.describe("phase4")
    assert info.revision == result.figures["new revision"] and (info.commit_sha, info.supports_prefix) == ("", None)


def test_a_revision_that_fails_to_start_gets_no_traffic_and_needs_no_rollback(gcp, deploys, fake_apis, sandbox_home):
    deploys.revision_fails(P4)
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert "is not ready and cannot serve traffic" in result.summary and "production never reached it" in result.summary
    checks = {c.name: c.status for c in result.checks}
    assert checks["revision ready"] == "fail" and checks["/health service"] == "skip" and checks["rollback"] == "skip"
    # one PATCH, the no-traffic deploy: the traffic pinned where it was, nothing to move back
    (deployed,) = [r.body.get("traffic") for r in fake_apis.requests if r.method == "PATCH"]
    assert deployed[0] == {"type": 2, "revision": f"{P4}-00029-fdx", "percent": 100}
    assert gcp.services.describe("phase4").revision == f"{P4}-00029-fdx"


def test_a_revision_that_never_becomes_ready_times_out_and_gets_no_traffic(gcp, deploys, sandbox_home):
    deploys.revision_hangs(P4)
    result, _ = _run(gcp, sandbox_home, rollout_timeout_s=0.3, phase="phase4")
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert "did not finish within 0.3s" in result.summary and "it may still finish on its own" in result.summary
    new = result.figures["new revision"]
    assert new.startswith(f"{P4}-00030-")
    assert next(r for r in gcp.services.list_revisions("phase4") if r.name == new).ready is None
    assert gcp.services.describe("phase4").revision == f"{P4}-00029-fdx"


def test_a_build_that_outlasts_its_timeout_names_the_build(gcp, deploys, sandbox_home):
    deploys.build_polls = 10 ** 6
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT,
                                                        "source_dir": str(Path(sandbox_home) / "source")})
    plan = redeploy.make_plan(gcp, "phase4", source_dir=p.source_dir)
    with pytest.raises(OperationTimeout, match=r"gcloud builds log [0-9a-f-]{36} --region=us-west2 .* --stream"):
        redeploy.build_image(gcp, plan, timeout_s=0.2)


def test_the_guards_read_cloud_builds_and_a_reconciling_service(gcp, fake_apis, sandbox_home):
    fake_apis.builds.append({"name": "projects/756957797294/locations/us-west2/builds/0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f",
                             "id": "0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f", "projectId": PROJECT, "status": "QUEUED",
                             "createTime": "2025-12-31T08:01:00Z", "tags": [f"redeploy_{P4}"]})
    fake_apis.run_services[P4_NAME].update(reconciling=True, latestCreatedRevision=f"{P4_NAME}/revisions/{P4}-00030-abc")
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "blocked"
    assert [r.split(" is ")[0] for r in result.details["refusals"]] == [
        "Build 0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f of nba-phase4-precompute-processors", P4]
    assert "still rolling out revision nba-phase4-precompute-processors-00030-abc" in result.details["refusals"][1]
    assert not [r for r in fake_apis.requests if r.method in ("PATCH", "POST") and "/builds" in r.path
                and r.method == "POST"]


def test_allusers_goes_like_with_gcloud_and_a_public_service_is_only_warned_about(gcp, deploys, fake_apis,
                                                                                  sandbox_home):
    policy = fake_apis.run_policies[P4_NAME]
    policy["bindings"] = policy["bindings"] + [{"role": "roles/run.invoker", "members": ["allUsers"]}]
    assert "allAuthenticatedUsers" in {m for b in policy["bindings"] for m in b["members"]}   # the incident morning
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "warn" and result.figures["rolled back"] == "no"
    assert "is public" in result.summary and "not a reason to roll back" in result.summary
    members = {m for b in fake_apis.run_policies[P4_NAME]["bindings"] for m in b["members"]}
    assert "allUsers" not in members and "allAuthenticatedUsers" in members   # what --no-allow-unauthenticated does
    assert result.details["rollout"]["notes"] == [f"removed allUsers from roles/run.invoker on {P4}"]


def _split_with_tags(fake_apis, gcp) -> tuple[str, str]:
    """Phase 4's traffic split 90/10 over two revisions, each tagged (a canary set up by hand)."""
    serving = f"{P4}-00029-fdx"
    older = next(r.name for r in gcp.services.list_revisions("phase4") if r.ready and r.name != serving)
    spec = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": serving, "percent": 90, "tag": "stable"},
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": older, "percent": 10, "tag": "canary"}]
    fake_apis.run_services[P4_NAME].update(traffic=spec, trafficStatuses=[dict(t) for t in spec])
    return serving, older


def test_a_rollback_restores_the_split_and_keeps_every_tag(gcp, deploys, fake_apis, sandbox_home):
    """`gcloud run services update-traffic --to-revisions=A=90,B=10` leaves tags as they are: so does the rollback
    (here of a revision that passed its checks on the tag's URL, then failed /health on the service's own)."""
    serving, older = _split_with_tags(fake_apis, gcp)
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.verdict == "fail" and result.figures["rolled back"] == "yes", result.summary
    restored = [r.body.get("traffic") for r in fake_apis.requests if r.method == "PATCH"][-1]
    assert restored == [{"type": 2, "revision": serving, "percent": 90, "tag": "stable"},
                        {"type": 2, "revision": older, "percent": 10, "tag": "canary"},
                        {"type": 2, "revision": result.figures["new revision"], "tag": "candidate"}]
    assert result.details["plan"]["rollback_command"] == (
        f"gcloud run services update-traffic {P4} --to-revisions={serving}=90,{older}=10 --region=us-west2 "
        f"--project={PROJECT}")
    assert {r.name: r.traffic_percent for r in gcp.services.list_revisions("phase4") if r.traffic_percent} == {
        serving: 90, older: 10}


def test_moving_split_traffic_to_the_new_revision_keeps_the_tags(gcp, deploys, fake_apis, sandbox_home):
    serving, older = _split_with_tags(fake_apis, gcp)
    result, _ = _run(gcp, sandbox_home, phase="phase4")
    assert result.figures["rolled back"] == "no", result.summary
    new = result.figures["new revision"]
    deployed, moved = [r.body.get("traffic") for r in fake_apis.requests if r.method == "PATCH"]
    assert deployed == [{"type": 2, "revision": serving, "percent": 90, "tag": "stable"},
                        {"type": 2, "revision": older, "percent": 10, "tag": "canary"},
                        {"type": 2, "revision": new, "tag": "candidate"}]
    # pinned before, so pinned to the new revision (`--to-tags=candidate=100`), every tag kept
    assert moved == [{"type": 2, "revision": new, "percent": 100, "tag": "candidate"},
                     {"type": 2, "revision": serving, "tag": "stable"}, {"type": 2, "revision": older, "tag": "canary"}]
    checks = {c.name: c.detail for c in result.checks}
    assert checks["serves 100% of traffic"].startswith(f"Its checks passed on the tag candidate's URL, so the traffic "
                                                       f"moved from {serving} 90%, {older} 10% to {new}, pinned")


def test_a_repository_artifact_registry_does_not_have_is_refused_before_anything_is_built(gcp, fake_apis,
                                                                                         sandbox_home):
    from runbook_lib.errors import ParameterError

    with pytest.raises(ParameterError) as caught:
        _run(gcp, sandbox_home, phase="phase4", repository="no-such-repo")
    said = str(caught.value)
    assert caught.value.parameter == "repository" and "repositories in us-west2: cloud-run-source-deploy" in said
    assert "gcloud artifacts repositories create no-such-repo --repository-format=docker --location=us-west2" in said
    # read only: one get, one list, in the image's location; no build was created
    looked = [(r.method, r.path) for r in fake_apis.requests if "/repositories" in r.path]
    assert looked == [("GET", f"/v1/projects/{PROJECT}/locations/us-west2/repositories/no-such-repo"),
                      ("GET", f"/v1/projects/{PROJECT}/locations/us-west2/repositories")]
    assert not [r for r in fake_apis.requests if r.method == "POST"]


def test_a_repository_that_cannot_be_read_is_a_warning_naming_the_role(gcp, fake_apis, sandbox_home):
    fake_apis.refuse(f"/v1/projects/{PROJECT}/locations/us-west2/repositories", 403,
                     "Permission 'artifactregistry.repositories.get' denied on resource")
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "phase": "phase4",
                                                        "source_dir": str(Path(sandbox_home) / "source")})
    run = redeploy.prepare(gcp, p, progress=None)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    assert "roles/artifactregistry.reader" in run.plan.warned and "could not be checked" in run.plan.warned
    assert result.verdict == "warn" and "roles/artifactregistry.reader" in result.summary, result.summary


# ---------------------------------------------------------------- a rerun after an interrupted redeploy

def _follow_latest(fake_apis, deploys) -> None:
    """Cloud Run's default (what `gcloud run deploy` leaves): the traffic follows the latest ready revision."""
    fake_apis.run_services[P4_NAME]["traffic"] = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    deploys._route_traffic(P4_NAME)


def _interrupted(target, sandbox_home) -> str:
    """A redeploy stopped after its no-traffic deploy, before verify (Ctrl-C, a dead kernel): its candidate."""
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                        "phase": "phase4",
                                                        "source_dir": str(Path(sandbox_home) / "source")})
    run = redeploy.prepare(target, p, progress=None)
    run.guard(), run.execute()
    return run.rollout.revision


def _rerun(target, sandbox_home) -> redeploy.Redeploy:
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                        "phase": "phase4",
                                                        "source_dir": str(Path(sandbox_home) / "source")})
    run = redeploy.prepare(target, p, progress=None)
    run.guard(), run.execute(), run.verify()
    return run


# the interrupted run's --no-traffic deploy pinned a service that followed the latest revision; the rerun took that pin
# for the operator's own and ended pinned, saying nothing (/work/probes/redeploy2 finding 1)
def test_a_rerun_after_an_interrupted_redeploy_follows_the_latest_again_as_before_it(gcp, deploys, fake_apis,
                                                                                    sandbox_home):
    _follow_latest(fake_apis, deploys)
    leftover = _interrupted(gcp, sandbox_home)
    assert gcp.services.follows_latest("phase4") is False                    # pinned by its --no-traffic deploy
    tagged = next(r for r in gcp.services.list_revisions("phase4") if r.name == leftover)
    assert tagged.labels["runbook-followed-latest"] == "true"               # what survives the interruption
    run = _rerun(gcp, sandbox_home)
    assert run.plan.followed_latest is True and run.plan.tagged_before == leftover
    (warning,) = [w for w in run.plan.warnings if leftover in w]
    assert warning.startswith(f"{leftover}, tagged candidate with no traffic (an interrupted or failed redeploy), "
                              f"pinned {P4}, which followed the latest revision before it") and \
        warning.endswith("this run follows the latest again once its own candidate serves"), warning
    assert f"# WARNING: {warning}" in run.plan.to_text()
    assert any("--to-latest" in c for c in run.plan.commands())
    result = run.result()
    assert result.verdict == "warn" and result.figures["checks passed"] == "7/7", result.summary   # public: a warning
    assert gcp.services.follows_latest("phase4") is True                     # as an uninterrupted run leaves it
    assert gcp.services.describe("phase4").revision == run.rollout.revision


@pytest.mark.parametrize("label", ["false", None], ids=["pinned-before", "unlabelled"])
def test_a_rerun_after_an_interrupted_redeploy_of_a_pinned_service_names_the_leftover_and_stays_pinned(
        gcp, deploys, fake_apis, sandbox_home, label):
    leftover = _interrupted(gcp, sandbox_home)                              # the mirrored morning: pinned before
    if label is None:   # deployed by hand, or by a kit that wrote no such label: the pin may be its deploy's
        revision = next(r for r in fake_apis.run_revisions[P4_NAME] if r["name"].endswith(f"/{leftover}"))
        revision["labels"].pop("runbook-followed-latest", None)
    run = redeploy.prepare(gcp, params.validate_params(params.RedeployParams, {
        "target": "gcp", "project": PROJECT, "phase": "phase4", "source_dir": str(Path(sandbox_home) / "source")}),
        progress=None)
    assert run.plan.followed_latest is False and not any("--to-latest" in c for c in run.plan.commands())
    (warning,) = [w for w in run.plan.warnings if leftover in w]
    if label == "false":
        assert warning.endswith(f"left {P4} pinned as it was, and this run leaves it so "
                                "(runbook-followed-latest=false)")
    else:
        assert warning.endswith(f"may have pinned {P4}: this run leaves it pinned (if it followed the latest "
                                f"revision before, follow it again with gcloud run services update-traffic {P4} "
                                f"--to-latest --region=us-west2 --project={PROJECT})"), warning
    assert f"# WARNING: {warning}" in run.plan.to_text()
    run.guard(), run.execute()
    result = run.result()
    # the dry run's verdict says it (its summary may cut the command: the plan above holds it whole)
    assert result.verdict == "warn" and f"but {leftover}, tagged candidate with no traffic" in result.summary
    assert ("this run leaves it so" if label else "this run leaves it pinned") in result.summary, result.summary


# ---------------------------------------------------------------- a service with a sidecar

SIDECAR = {"name": "otel", "image": "otel/opentelemetry-collector:0.98"}


def test_a_deploy_replaces_the_ingress_containers_image_never_a_sidecars(gcp, deploys, fake_apis):
    """Cloud Run sends the requests to the container with ports: the phase's code goes there, wherever it is listed."""
    fake_apis.run_services[P4_NAME]["template"] = {"containers": [
        SIDECAR, {"name": "app", "image": "old", "ports": [{"containerPort": 8080}]}]}
    image = f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}:next"
    rollout = gcp.services.deploy("phase4", image)
    assert rollout.ready, rollout.message
    containers = next(r for r in fake_apis.requests if r.method == "PATCH").body["template"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("otel", SIDECAR["image"]), ("app", image)]
    revision = next(r for r in gcp.services.list_revisions("phase4") if r.name == rollout.revision)
    # the fake resolves each container's image when it makes the revision, as Cloud Run does
    assert revision.image == image and revision.image_digest.startswith("sha256:") and len(revision.image_digest) == 71
    assert gcp.services.describe("phase4").serving[0].runs == revision.runs


def test_a_deploy_to_several_containers_none_with_a_port_is_refused_naming_the_service(gcp, deploys, fake_apis):
    from runbook_lib.errors import RunbookError

    fake_apis.run_services[P4_NAME]["template"] = {"containers": [SIDECAR, {"name": "app", "image": "old"}]}
    with pytest.raises(RunbookError) as refused:
        gcp.services.deploy("phase4", f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}:next")
    assert str(refused.value) == (f"{P4} has 2 containers and none with a port, so which one serves its requests (the "
                                  f"ingress container, whose image a deploy replaces) cannot be told; nothing was "
                                  f"changed.")
    assert not [r for r in fake_apis.requests if r.method == "PATCH"]
