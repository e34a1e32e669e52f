"""Runbook 02's claim across processes: every change it makes to the service (the no-traffic deploy, the migration,
`--to-latest`, the rollback) carries the etag read just before its checks, so the service refuses it when anything
changed in between (Cloud Run: 409 ABORTED), and the run reads and checks again. Two redeploys whose last checks
both pass before either deploys no longer both deploy: the second is refused in the words of the check that now
fails. On the gcp fakes and on the sandbox, whose state file plays Cloud Run's part."""
from __future__ import annotations

import importlib

import pytest

from fakes.deploys import changed
from fakes.errors import CONNECTION_RESET
from runbook_lib import redeploy
from runbook_lib.services import ServiceChanged
from runbook_lib.target import connect
import test_redeploy as on_sandbox
import test_redeploy_gcp as on_gcp
from test_redeploy_candidate import OLD, _follow_latest, _local, _patches, _prepared, _serving
from test_redeploy_gcp import P4, P4_NAME

deploys, gcp, home = on_gcp.deploys, on_gcp.gcp, on_sandbox.home     # their fixtures, as these tests ask for them
guards = importlib.import_module("runbook_lib.redeploy.guards")


def _image(target, phase: str = "phase4") -> str:
    return next(r.image for r in target.services.list_revisions(phase) if r.traffic_percent)


def _revisions(target, phase: str = "phase4") -> list[str]:
    return sorted(r.name for r in target.services.list_revisions(phase))


def _the_other_run_deploys_after_this_ones_last_check(monkeypatch, other) -> dict:
    """Run `other`'s build and deploy right after the first run's last check before its deploy passed: the two
    runs' checks both passed before either deployed."""
    check, seen = guards.before_deploy, {"calls": 0}

    def checked_then_the_other_run_deploys(target, plan, own_build=""):
        refusals = check(target, plan, own_build)
        seen["calls"] += 1
        if seen["calls"] == 1:
            assert not refusals, refusals
            other.execute()
        return refusals

    monkeypatch.setattr(guards, "before_deploy", checked_then_the_other_run_deploys)
    return seen


# ---------------------------------------------------------------- the adapters' contract, both targets


@pytest.fixture(params=["gcp", "local"])
def services_target(request, sandbox_home):
    if request.param == "gcp":
        request.getfixturevalue("deploys")
        yield request.getfixturevalue("gcp")
    else:
        with connect("local", home=request.getfixturevalue("home")) as tg:
            yield tg


def test_a_deploy_or_traffic_change_given_a_stale_etag_is_refused_and_changes_nothing(services_target):
    tg = services_target
    stale = tg.services.etag("phase4")
    assert stale and tg.services.etag("phase4") == stale          # a read changes nothing
    revisions, traffic = _revisions(tg), _serving(tg)
    tg.services.deploy("phase4", _image(tg), labels={"by": "someone-else"}, tag="other")
    moved_on = tg.services.etag("phase4")
    assert moved_on != stale
    revisions, traffic = _revisions(tg), _serving(tg)
    with pytest.raises(ServiceChanged) as refused:
        tg.services.deploy("phase4", _image(tg), tag="candidate", etag=stale)
    assert "changed since its etag" in str(refused.value) and "nothing was changed" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(ServiceChanged):
        tg.services.update_traffic("phase4", next(iter(traffic)), etag=stale)
    assert (_revisions(tg), _serving(tg), tg.services.etag("phase4")) == (revisions, traffic, moved_on)
    rollout = tg.services.deploy("phase4", _image(tg), tag="candidate", etag=moved_on)    # the current one is taken
    assert rollout.revision and rollout.revision not in revisions
    tg.services.update_traffic("phase4", rollout.revision, etag=tg.services.etag("phase4"))
    assert _serving(tg) == {rollout.revision: 100}


def test_the_sandbox_etag_ignores_a_tags_process_and_iam_as_cloud_run_does(home):
    with connect("local", home=home) as tg:
        rollout = tg.services.deploy("phase4", _image(tg), tag="candidate")
        etag = tg.services.etag("phase4")
        tg.services.scale_tag_to_zero("phase4", "candidate")              # its process stops: not a service change
        tg.services.health("phase4", token=tg.services.identity_token(), tag="candidate")   # ... and starts again
        policy = tg.services.iam_policy("phase4")
        tg.services.set_iam_policy("phase4", {**policy, "bindings": [*policy["bindings"], {
            "role": "roles/run.invoker", "members": ["user:someone@example.com"]}]})
        assert tg.services.etag("phase4") == etag
        tg.services.update_traffic("phase4", rollout.revision)
        assert tg.services.etag("phase4") != etag


# ---------------------------------------------------------------- two redeploys at once


def test_of_two_redeploys_whose_checks_both_passed_only_the_first_deploys_on_gcp(gcp, deploys, fake_apis,
                                                                                 sandbox_home, monkeypatch):
    a, b = _prepared(gcp, sandbox_home), _prepared(gcp, sandbox_home)
    a.guard(), b.guard()
    before = _revisions(gcp)
    seen = _the_other_run_deploys_after_this_ones_last_check(monkeypatch, b)
    a.execute()
    assert b.rollout is not None and b.rollout.revision
    assert a.rollout is None and seen["calls"] == 3            # a's check, b's, and a's again after the refusal
    assert f"tag candidate now names {b.rollout.revision}, not none as when the plan was made" in a.refused_deploy
    assert _revisions(gcp) == sorted([*before, b.rollout.revision])       # a deployed nothing over b's candidate
    refused = [r for r in _patches(fake_apis) if r.body.get("etag")]
    assert len(_patches(fake_apis)) == 2 and len(refused) == 2            # b's deploy, then a's, refused: 409
    assert _serving(gcp) == {OLD: 100}
    b.verify()
    assert b.result().verdict == "warn" and _serving(gcp) == {b.rollout.revision: 100}
    result = a.result()
    assert result.verdict == "blocked" and "Nothing was deployed" in result.summary, result.summary
    assert "deploy it later" not in result.summary and a.deploy_later.startswith(f"gcloud run deploy {P4} ")


def test_of_two_redeploys_whose_checks_both_passed_only_the_first_deploys_on_the_sandbox(home, monkeypatch):
    with connect("local", home=home) as tg:
        a = redeploy.prepare(tg, _local(home, phase="phase4"), progress=None)
        b = redeploy.prepare(tg, _local(home, phase="phase4"), progress=None)
        a.guard(), b.guard()
        before = _revisions(tg)
        _the_other_run_deploys_after_this_ones_last_check(monkeypatch, b)
        a.execute()
        assert a.rollout is None and b.rollout is not None and b.rollout.revision
        assert f"tag candidate now names {b.rollout.revision}" in a.refused_deploy
        assert _revisions(tg) == sorted([*before, b.rollout.revision])
        b.verify()
        assert _serving(tg) == {b.rollout.revision: 100} and a.result().verdict == "blocked"


def test_a_change_that_leaves_the_checks_holding_is_checked_again_and_the_deploy_goes_ahead_on_gcp(
        gcp, deploys, fake_apis, sandbox_home, monkeypatch):
    """A rollout settling changes the etag too (the status is part of the resource): no reason to stop."""
    check, bumped = guards.before_deploy, []

    def checked_then_the_status_changes(target, plan, own_build=""):
        refusals = check(target, plan, own_build)
        if not bumped:
            bumped.append(changed(fake_apis.run_services[P4_NAME]))
        return refusals

    monkeypatch.setattr(guards, "before_deploy", checked_then_the_status_changes)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    assert run.rollout is not None and run.rollout.ready, run.stopped
    first, second = _patches(fake_apis)
    assert first.body["etag"] != bumped[0] and second.body["etag"] == bumped[0]   # refused, then taken
    run.verify()
    assert run.result().verdict == "warn" and _serving(gcp) == {run.rollout.revision: 100}


def test_a_refusal_that_keeps_coming_stops_the_deploy_after_the_last_attempt_on_gcp(
        gcp, deploys, fake_apis, sandbox_home, monkeypatch):
    check = guards.before_deploy

    def checked_then_the_status_changes(target, plan, own_build=""):
        refusals = check(target, plan, own_build)
        changed(fake_apis.run_services[P4_NAME])
        return refusals

    monkeypatch.setattr(guards, "before_deploy", checked_then_the_status_changes)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    assert run.rollout is None and len(_patches(fake_apis)) == guards.CLAIM_ATTEMPTS
    assert f"({guards.CLAIM_ATTEMPTS} times, each after the checks passed again)" in run.refused_deploy
    assert "changed since its etag" in run.refused_deploy and "\n" not in run.refused_deploy
    assert run.result().verdict == "blocked" and _serving(gcp) == {OLD: 100}


# ---------------------------------------------------------------- the migration and the rollback


@pytest.mark.parametrize("on", ["gcp", "local"])
def test_a_revision_deployed_just_before_to_latest_never_gets_the_traffic(on, sandbox_home, monkeypatch, request):
    """The check that the checked revision is the newest and `--to-latest` are one step: someone's deploy landing
    between them makes the service refuse --to-latest, and the check, asked again, keeps the traffic pinned."""
    if on == "gcp":
        request.getfixturevalue("deploys")
        tg, run_for = request.getfixturevalue("gcp"), (lambda t: _prepared(t, sandbox_home))
        _follow_latest(request.getfixturevalue("fake_apis"))
        context = None
    else:
        context = connect("local", home=request.getfixturevalue("home"))
        tg = context.__enter__()
        run_for = (lambda t: redeploy.prepare(t, _local(request.getfixturevalue("home"), phase="phase4"),
                                              progress=None))
    try:
        move, other = tg.services.update_traffic, {}

        def someone_deploys_first(phase, revision=None, timeout_s=600.0, progress=None, etag=None):
            if revision is None and not other:
                other["revision"] = tg.services.deploy(phase, _image(tg), labels={"by": "someone"}).revision
            return move(phase, revision, timeout_s=timeout_s, progress=progress, etag=etag)

        monkeypatch.setattr(tg.services, "update_traffic", someone_deploys_first)
        run = run_for(tg)
        assert run.plan.followed_latest
        run.guard(), run.execute(), run.verify()
        result = run.result()
        assert other["revision"] and _serving(tg) == {run.rollout.revision: 100}, result.summary
        traffic = next(c for c in result.checks if c.name == "serves 100% of traffic")
        assert traffic.status == "warn" and f"It stays pinned: {other['revision']}, deployed since" in traffic.detail
        assert tg.services.follows_latest("phase4") is False
    finally:
        if context is not None:
            context.__exit__(None, None, None)


def test_a_rollback_whose_first_try_meets_a_settling_rollout_is_made_on_the_next(gcp, deploys, fake_apis,
                                                                                 sandbox_home, monkeypatch):
    move, tries = gcp.services.update_traffic, []

    def settling_first(phase, revision=None, timeout_s=600.0, progress=None, etag=None):
        if revision == {OLD: 100} and not tries:     # the rollback: the service's status moves once just before
            tries.append(changed(fake_apis.run_services[P4_NAME]))
        return move(phase, revision, timeout_s=timeout_s, progress=progress, etag=etag)

    monkeypatch.setattr(gcp.services, "update_traffic", settling_first)
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)     # the service's URL fails once the traffic moved
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    rollback = next(c for c in result.checks if c.name == "rollback")
    assert tries and rollback.status == "pass", rollback.detail
    assert result.figures["rolled back"] == "yes" and _serving(gcp) == {OLD: 100}
    assert [r.body.get("etag") == tries[0] for r in _patches(fake_apis)][-2:] == [False, True]   # refused, then made


def test_a_rollback_is_refused_when_someone_moved_the_traffic_between_its_check_and_its_move(
        gcp, deploys, fake_apis, sandbox_home, monkeypatch):
    colleague = next(r.name for r in gcp.services.list_revisions("phase4") if r.ready and r.name != OLD)
    move, moved = gcp.services.update_traffic, []

    def a_colleague_first(phase, revision=None, timeout_s=600.0, progress=None, etag=None):
        if revision == {OLD: 100} and not moved:
            moved.append(move(phase, colleague))
        return move(phase, revision, timeout_s=timeout_s, progress=progress, etag=etag)

    monkeypatch.setattr(gcp.services, "update_traffic", a_colleague_first)
    fake_apis.fault(f"/svc/{P4}/health", CONNECTION_RESET)
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    rollback = next(c for c in run.result().checks if c.name == "rollback")
    assert moved and rollback.status == "fail" and _serving(gcp) == {colleague: 100}     # theirs, not undone
    assert "someone changed the traffic since, so it was not rolled back" in rollback.detail
    assert rollback.detail.endswith(run.plan.rollback_command())
