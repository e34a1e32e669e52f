"""Runbook 02 when the world does not hold still: a /health that cannot be read or says it is not healthy, a
service changed while the build ran or before the rollback, two redeploys of one phase at once, a rollback
target deleted meanwhile, and a service that followed the latest revision. On the gcp fakes (set up as
tests/test_redeploy_gcp.py sets them up, its fixtures imported) and, for the race, on the sandbox too."""
from __future__ import annotations

from pathlib import Path

import pytest

from fakes.errors import CONNECTION_RESET
from fakes.fixtures import PROJECT
from runbook_lib import params, redeploy
from runbook_lib.errors import ServiceTimeout
from runbook_lib.overview import HEALTH_TIMEOUT_S
from runbook_lib.target import connect
import test_redeploy_gcp as on_gcp
from test_redeploy_gcp import P4, P4_NAME

deploys, gcp = on_gcp.deploys, on_gcp.gcp     # its fixtures, as these tests ask for them

OLD = f"{P4}-00029-fdx"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


def _prepared(target, sandbox_home, **values) -> redeploy.Redeploy:
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                        "phase": "phase4",
                                                        "source_dir": str(Path(sandbox_home) / "source"), **values})
    return redeploy.prepare(target, p, progress=None)


def _serving(target) -> dict[str, int]:
    return {r.name: r.traffic_percent for r in target.services.list_revisions("phase4") if r.traffic_percent}


def _pin(fake_apis, revision: str) -> None:
    """Someone else's `gcloud run services update-traffic --to-revisions=REVISION=100`."""
    spec = [{"type": REVISION, "revision": revision, "percent": 100}]
    fake_apis.run_services[P4_NAME].update(traffic=spec, trafficStatuses=[dict(t) for t in spec])


def _patches(fake_apis) -> list:
    return [r for r in fake_apis.requests if r.method == "PATCH"]


# ---------------------------------------------------------------- finding 1: /health cannot be read


def test_a_health_that_cannot_be_read_after_the_deploy_fails_verification_and_rolls_back(gcp, deploys, fake_apis,
                                                                                          sandbox_home):
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    deployed = run.result()      # deployed, not verified yet: the new revision serves unchecked
    assert deployed.verdict == "fail" and "not verified" in deployed.summary, deployed.summary
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)    # the new code dies on /health
    run.verify()
    result = run.result()
    health = next(c for c in result.checks if c.name == "/health service")
    assert health.status == "fail" and "could not be read" in health.detail and "dropped" in health.detail
    assert "\n" not in health.detail
    assert result.verdict == "fail" and result.figures["rolled back"] == "yes", result.summary
    assert result.summary.startswith(f"{run.rollout.revision} failed verification, traffic is back on {OLD}")
    assert _serving(gcp) == {OLD: 100}


def test_a_health_that_never_answers_after_the_deploy_gets_runbook_00s_ten_seconds_and_gets_no_traffic(
        gcp, deploys, sandbox_home, monkeypatch):
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    asked = []

    def late(phase, token=None, timeout_s=None, tag=None):
        asked.append((timeout_s, tag))
        raise ServiceTimeout(f"GET /health got no answer within {timeout_s}s.")

    monkeypatch.setattr(gcp.services, "health", late)     # an answer that never comes
    run.verify()
    result = run.result()
    assert asked == [(HEALTH_TIMEOUT_S, "candidate")]     # on the tag's URL only: no traffic ever moved
    assert result.verdict == "fail" and result.figures["rolled back"] == "no", result.summary
    assert "production never reached it" in result.summary and _serving(gcp) == {OLD: 100}
    assert "no answer within 10.0s" in next(c.detail for c in result.checks if c.name == "candidate /health service")


# ---------------------------------------------------------------- finding 2: /health says it is not healthy


def test_a_health_that_does_not_say_healthy_fails_verification_as_runbook_00_judges_it(gcp, deploys, fake_apis,
                                                                                       sandbox_home, monkeypatch):
    made = deploys._new_revision

    def unhealthy(name, short, template):   # the template names the revision: the deploy had a tag
        revision = made(name, short, template)
        deploys._health[revision] = {**deploys._health[revision], "status": "unhealthy",
                                     "error": "cannot reach BigQuery"}
        return revision

    monkeypatch.setattr(deploys, "_new_revision", unhealthy)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    health = next(c for c in result.checks if c.name == "candidate /health service")
    assert health.status == "fail" and 'its status is "unhealthy", not "healthy"' in health.detail
    assert "cannot reach BigQuery" in health.detail and "\n" not in health.detail
    # caught on the tag's URL: the traffic never moved, so there is nothing to roll back
    assert result.verdict == "fail" and result.figures["rolled back"] == "no", result.summary
    assert _serving(gcp) == {OLD: 100} and len(_patches(fake_apis)) == 1


# ---------------------------------------------------------------- finding 4: changed during the build, or later


def test_a_service_changed_while_the_build_ran_is_refused_before_the_deploy_and_the_image_kept(gcp, deploys,
                                                                                               fake_apis, sandbox_home):
    colleague = f"{P4}-00028-usv"
    run = _prepared(gcp, sandbox_home)
    assert run.guard().index.tolist() == ["clear"]
    submit = gcp.builds.submit

    def build_while_a_colleague_moves_the_traffic(*args, **kwargs):
        built = submit(*args, **kwargs)
        _pin(fake_apis, colleague)
        return built

    gcp.builds.submit = build_while_a_colleague_moves_the_traffic
    table = run.execute()
    run.verify()
    result = run.result()
    assert result.verdict == "blocked" and run.rollout is None and not _patches(fake_apis), result.summary
    assert result.summary.startswith(f"Refused to deploy: {P4} now serves {colleague} 100%, not {OLD} 100%")
    assert "Nothing was deployed" in result.summary and "\n" not in result.summary
    image = run.built.image
    assert "@sha256:" in image
    later = result.details["deploy_later"]
    assert later.startswith(f"gcloud run deploy {P4} --image={image} --region=us-west2 --project={PROJECT} ")
    assert table.loc["deploy it later with", "outcome"] == later
    assert _serving(gcp) == {colleague: 100}


def test_another_build_started_while_this_one_ran_is_refused_before_the_deploy_but_not_this_runs_own(
        gcp, deploys, fake_apis, sandbox_home):
    other = "0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f"
    run = _prepared(gcp, sandbox_home)
    run.guard()
    submit = gcp.builds.submit

    def build_while_another_run_queues_its_own(*args, **kwargs):
        built = submit(*args, **kwargs)
        fake_apis.builds.append({"name": f"projects/756957797294/locations/us-west2/builds/{other}", "id": other,
                                 "projectId": PROJECT, "status": "QUEUED", "createTime": "2025-12-31T08:01:00Z",
                                 "tags": [f"redeploy_{P4}"]})
        return built

    gcp.builds.submit = build_while_another_run_queues_its_own
    run.execute()
    result = run.result()
    assert result.verdict == "blocked" and not _patches(fake_apis), result.summary
    assert result.details["refusals"] == redeploy.builds_in_progress(gcp, run.plan)   # this run's own is done
    assert result.summary.startswith(f"Refused to deploy: Build {other} of {P4} is QUEUED")
    assert "Nothing was deployed" in result.summary and "deploy_later" in result.summary   # the command: too long
    assert result.details["deploy_later"].startswith(f"gcloud run deploy {P4} --image={run.built.image} ")


def test_the_rollback_leaves_a_traffic_change_made_after_the_checks_read_it(gcp, deploys, fake_apis, sandbox_home,
                                                                            monkeypatch):
    colleague = f"{P4}-00028-usv"
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)   # fine on the tag's URL, fails once it serves
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    read = gcp.services.health

    def health_then_a_colleague_moves_the_traffic(*args, **kwargs):
        try:
            return read(*args, **kwargs)
        finally:
            if not kwargs.get("tag"):
                _pin(fake_apis, colleague)

    monkeypatch.setattr(gcp.services, "health", health_then_a_colleague_moves_the_traffic)
    patched = len(_patches(fake_apis))
    run.verify()
    result = run.result()
    back = next(c for c in result.checks if c.name == "rollback")
    assert back.status == "fail" and back.detail.startswith(f"{colleague} serves now, not {run.rollout.revision}")
    assert "someone changed the traffic since" in back.detail and run.plan.rollback_command() in back.detail
    assert result.verdict == "fail" and result.figures["rolled back"] == "no", result.summary
    assert len(_patches(fake_apis)) == patched + 1 and _serving(gcp) == {colleague: 100}   # the migration only


# ---------------------------------------------------------------- finding 5: two redeploys at once


def test_the_second_of_two_redeploys_is_refused_at_its_deploy_on_gcp(gcp, deploys, fake_apis, sandbox_home):
    a, b = _prepared(gcp, sandbox_home), _prepared(gcp, sandbox_home)
    assert a.guard().index.tolist() == b.guard().index.tolist() == ["clear"]
    a.execute(), b.execute()
    b.verify(), a.verify()
    ra, rb = a.result(), b.result()
    assert rb.verdict == "blocked" and b.rollout is None and b.built is not None, rb.summary
    assert ra.verdict in ("pass", "warn") and _serving(gcp) == {a.rollout.revision: 100}, ra.summary


def test_a_migration_never_moves_traffic_off_a_revision_another_run_deployed(gcp, deploys, fake_apis,
                                                                             sandbox_home):
    """Both runs passed their last guard in the same instant (no claim across processes): the other deployed after
    this one and gave its revision the traffic. This run's candidate passes on its tag's URL, but the traffic is
    not as its deploy left it: it is not migrated, nothing is rolled back, and the other's revision keeps serving."""
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    other = gcp.services.deploy("phase4", run.built.image, labels={"deployed-by": "the-other-run"})
    gcp.services.update_traffic("phase4", other.revision)
    assert other.ready and _serving(gcp) == {other.revision: 100}
    patched = len(_patches(fake_apis))
    run.verify()
    result = run.result()
    checks = {c.name: c for c in result.checks}
    assert checks["candidate /health service"].status == "pass"
    assert checks["serves 100% of traffic"].status == "fail"
    assert checks["serves 100% of traffic"].detail.startswith(f"{other.revision} 100% serves, not {OLD} as the deploy")
    assert "someone changed the traffic since, so it was not moved" in checks["serves 100% of traffic"].detail
    assert checks["rollback"].status == "skip" and "production never reached it" in checks["rollback"].detail
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert len(_patches(fake_apis)) == patched and _serving(gcp) == {other.revision: 100}


@pytest.mark.slow
def test_the_second_of_two_redeploys_is_refused_at_its_deploy_on_the_sandbox(make_sandbox):
    home = make_sandbox(start_services=True)
    p = params.validate_params(params.RedeployParams, {"sandbox_home": str(home), "phase": "phase4",
                                                        "dry_run": False})
    with connect("local", home=home) as tg:
        a, b = redeploy.prepare(tg, p, progress=None), redeploy.prepare(tg, p, progress=None)
        a.guard(), b.guard()
        a.execute(), b.execute()
        b.verify(), a.verify()
        ra, rb = a.result(), b.result()
        assert rb.verdict == "blocked" and b.rollout is None, rb.summary
        assert f"tag candidate now names {a.rollout.revision}" in rb.summary
        assert ra.verdict in ("pass", "warn") and tg.services.describe("phase4").revision == a.rollout.revision


# ---------------------------------------------------------------- finding 6: the rollback target is gone


def test_a_rollback_whose_target_was_deleted_is_a_failed_check_with_a_command_that_works(gcp, deploys, fake_apis,
                                                                                         sandbox_home):
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)   # fine on the tag's URL, fails once it serves
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    new = run.rollout.revision
    migrate = gcp.services.update_traffic

    def migrate_then_someone_deletes_the_old_revision(*args, **kwargs):
        moved = migrate(*args, **kwargs)
        # `gcloud run revisions delete` of the old revision, allowed once it serves no traffic
        fake_apis.run_revisions[P4_NAME] = [r for r in fake_apis.run_revisions[P4_NAME] if not r["name"].endswith(OLD)]
        gcp.services.update_traffic = migrate
        return moved

    gcp.services.update_traffic = migrate_then_someone_deletes_the_old_revision
    run.verify()                                   # no ParameterError for a parameter runbook 02 does not have
    result = run.result()
    back = next(c for c in result.checks if c.name == "rollback")
    newest_other = next(r.name for r in gcp.services.list_revisions("phase4") if r.ready and r.name != new)
    command = (f"gcloud run services update-traffic {P4} --to-revisions={newest_other}=100 --region=us-west2 "
               f"--project={PROJECT}")
    assert back.status == "fail" and back.detail.startswith(f"{OLD} is gone") and command in back.detail
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert f"{OLD} is gone" in result.summary and f"{new} still serves" in result.summary
    assert command in result.summary and "auto_rollback off" not in result.summary, result.summary
    assert _serving(gcp) == {new: 100}
    gcp.services.update_traffic("phase4", newest_other)       # the command given can work
    assert _serving(gcp) == {newest_other: 100}


# ---------------------------------------------------------------- finding 9: LATEST becomes pinned


def test_a_failed_candidate_of_a_service_that_followed_latest_says_it_is_pinned_now(gcp, deploys, fake_apis,
                                                                                      sandbox_home):
    assert gcp.services.follows_latest("phase4") is False          # the mirrored morning: pinned to 00029
    service = fake_apis.run_services[P4_NAME]
    service["traffic"] = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    service["trafficStatuses"] = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "revision": OLD, "percent": 100}]
    assert gcp.services.follows_latest("phase4") is True
    deploys.revision_fails(P4)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert [t.get("type") for t in service["traffic"]] == [REVISION]       # pinned by gcloud's --no-traffic
    back = next(c for c in result.checks if c.name == "rollback")
    assert back.status == "skip" and f"the no-traffic deploy pinned it to {OLD}" in back.detail
    assert f"gcloud run services update-traffic {P4} --to-latest --region=us-west2 --project={PROJECT}" in back.detail
    assert "pinned now: it followed the latest revision before" in result.summary, result.summary
    assert result.details["followed_latest"] is True
