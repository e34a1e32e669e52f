"""Runbook 02's candidate flow after a hostile probe (/work/probes/candidate): the migration never sends the traffic to
a revision that was not checked, a long service name takes a tag Cloud Run accepts, a refused IAM step after the
deploy is a note and not "nothing deployed", a refused deploy's later commands migrate too, a restored split is
named whole, and the printed check stops the migration when /health is wrong. On the gcp fakes."""
from __future__ import annotations

import dataclasses
import subprocess

import pytest

from fakes.errors import CONNECTION_RESET, google_error
from fakes.fixtures import PROJECT
from runbook_lib.errors import ParameterError
import importlib
from runbook_lib.redeploy.plan import candidate_tag
import test_redeploy_gcp as on_gcp

verify_module = importlib.import_module("runbook_lib.redeploy.verify")   # (the package re-exports verify())
from test_redeploy_candidate import OLD, _follow_latest, _prepared, _serving
from test_redeploy_gcp import P4, P4_NAME

deploys, gcp = on_gcp.deploys, on_gcp.gcp     # its fixtures, as these tests ask for them


def test_a_revision_deployed_after_the_checks_never_gets_the_traffic_of_a_service_that_followed_latest(
        gcp, deploys, fake_apis, sandbox_home, monkeypatch):
    _follow_latest(fake_apis)
    other: dict = {}
    checked = verify_module.check_candidate

    def checked_then_someone_deploys(target, plan, rollout):
        checks = checked(target, plan, rollout)
        image = next(r.image for r in target.services.list_revisions("phase4") if r.traffic_percent)
        other["revision"] = target.services.deploy("phase4", image, labels={"deployed-by": "someone"}).revision
        return checks

    monkeypatch.setattr(verify_module, "check_candidate", checked_then_someone_deploys)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    assert other["revision"] and other["revision"] != run.rollout.revision
    assert _serving(gcp) == {run.rollout.revision: 100}       # the checked one, not the newer one
    traffic = next(c for c in result.checks if c.name == "serves 100% of traffic")
    assert traffic.status == "warn" and f"{other['revision']}, deployed since and not checked" in traffic.detail
    assert "--to-latest" in traffic.detail and gcp.services.follows_latest("phase4") is False
    assert result.verdict == "warn", result.summary


@pytest.mark.parametrize("length, tag", [(37, "candidate"), (38, "cand"), (42, "cand"), (43, "c"), (45, "c")])
def test_a_long_service_name_takes_a_shorter_tag_that_cloud_run_accepts(gcp, length, tag):
    phase = dataclasses.replace(gcp.phases.get("phase4"), service="s" * length)
    assert candidate_tag(phase) == tag and len(tag) + length <= 46


def test_a_service_name_too_long_for_any_tag_is_refused_naming_the_phase(gcp):
    phase = dataclasses.replace(gcp.phases.get("phase4"), service="s" * 46)
    with pytest.raises(ParameterError) as refused:
        candidate_tag(phase)
    assert refused.value.parameter == "phase" and "46" in str(refused.value) and "\n" not in str(refused.value)


def test_a_tag_cloud_run_refuses_beside_the_service_name_is_refused_before_anything_is_sent(gcp, deploys, fake_apis):
    image = next(r.image for r in gcp.services.list_revisions("phase4") if r.traffic_percent)
    with pytest.raises(ParameterError) as refused:
        gcp.services.deploy("phase4", image, tag="t" * (47 - len(P4)))
    assert refused.value.parameter == "tag" and f"at most {46 - len(P4)} characters" in str(refused.value)
    assert not [r for r in fake_apis.requests if r.method == "PATCH"]
    gcp.services.deploy("phase4", image, tag="t" * (46 - len(P4)))   # the longest it takes


def test_a_refused_iam_step_after_the_deploy_is_a_note_and_the_revision_is_still_checked(
        gcp, deploys, fake_apis, sandbox_home, monkeypatch):
    monkeypatch.setattr(deploys, "_set_iam_policy", lambda name, body: (403, google_error(
        403, "Permission 'run.services.setIamPolicy' denied on resource", reason="IAM_PERMISSION_DENIED")))
    fake_apis.run_policies[P4_NAME] = {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    assert run.rollout is not None and run.rollout.revision        # the deploy happened: it is said, not "nothing"
    assert any("allUsers could not be removed" in note for note in run.rollout.notes)
    run.verify()
    result = run.result()
    invokers = next(c for c in result.checks if c.name == "invokers (IAM, per service)")
    assert invokers.status == "warn" and "public" in invokers.detail
    assert _serving(gcp) == {run.rollout.revision: 100} and result.verdict == "warn", result.summary


def test_a_deploy_refused_after_the_build_gives_the_check_and_the_migration_with_the_deploy(
        gcp, deploys, fake_apis, sandbox_home):
    colleague = next(r.name for r in gcp.services.list_revisions("phase4") if r.ready and r.name != OLD)
    run = _prepared(gcp, sandbox_home)
    run.guard()
    submit = gcp.builds.submit

    def build_while_a_colleague_moves_the_traffic(*args, **kwargs):
        built = submit(*args, **kwargs)
        gcp.services.update_traffic("phase4", colleague)
        return built

    gcp.builds.submit = build_while_a_colleague_moves_the_traffic
    run.execute()
    later = run.result().details["deploy_later"]
    deploy, tag_url, check_then_migrate = later.split(" ; ")[:3]
    assert deploy.startswith(f"gcloud run deploy {P4} --image={run.built.image} ") and "--no-traffic" in deploy
    assert tag_url.startswith("TAG_URL=") and check_then_migrate.endswith("--to-tags=candidate=100 --region=us-west2 "
                                                                          f"--project={PROJECT}")


def test_a_failed_check_after_the_migration_names_the_split_it_restored(gcp, deploys, fake_apis, sandbox_home):
    serving, older = on_gcp._split_with_tags(fake_apis, gcp)
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)
    result, _ = on_gcp._run(gcp, sandbox_home, phase="phase4")
    assert result.figures["rolled back"] == "yes"
    assert f"traffic is back on {serving} 90%, {older} 10%" in result.summary, result.summary


@pytest.mark.parametrize("body, passes", [
    ('{"service": "nba-phase4-precompute-processors", "status": "healthy"}', True),
    ('{"service": "nba-phase3-analytics-processors", "status": "healthy"}', False),   # the incident
    ('{"service": "nba-phase4-precompute-processors", "status": "degraded"}', False),
    ("", False),                                                                        # curl -f: no body
    # a commit reported must be the plan's, as the kit's own check has it (/work/probes/commands finding 2)
    ('{"service": "nba-phase4-precompute-processors", "status": "healthy", "commit_sha": "deadbeef0000"}', False),
    ('{"service": "nba-phase4-precompute-processors", "status": "healthy", "git_commit": "COMMIT"}', True),
    ('{"service": "nba-phase4-precompute-processors", "status": "healthy", "commit": "SHORT"}', True),
])
def test_the_printed_check_stops_the_migration_unless_health_is_right(gcp, sandbox_home, body, passes):
    plan = _prepared(gcp, sandbox_home, dry_run=True).plan
    body = body.replace("COMMIT", plan.commit).replace("SHORT", plan.commit_short)
    judge = plan.health_check_command().split(" | ", 1)[1]
    script = f"{judge} && echo MIGRATED"
    ran = subprocess.run(["bash", "-c", script], input=body, capture_output=True, text=True)
    assert ("MIGRATED" in ran.stdout) is passes and (ran.returncode == 0) is passes, ran.stderr
