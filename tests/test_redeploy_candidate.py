"""Runbook 02 checks a new revision before it serves production (finding 7): it is deployed with no traffic under
the tag `candidate` (`gcloud run deploy --no-traffic --tag=candidate`), its checks run on the tag's URL while
production keeps its traffic, and only then is the traffic migrated (pinned to it, then `--to-latest` when the
service followed the latest revision and it is the newest). On the gcp fakes (tests/test_redeploy_gcp.py's fixtures) and on the
sandbox (tests/test_redeploy.py's), whose tagged revision runs in a process of its own that never outlives the
redeploy."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import _service_processes_under
from fakes.fixtures import PROJECT
from runbook_lib import params, redeploy
from runbook_lib.errors import NotFoundError, ParameterError
from runbook_lib.local.home import sandbox_home
from runbook_lib.local.processes import STARTED_BY_ENV, command_line, is_our_process, read_run_file, stop_started_by
from runbook_lib.local.sandbox import stop_sandbox
from runbook_lib.target import connect
import test_redeploy as on_sandbox
import test_redeploy_gcp as on_gcp
from test_redeploy_gcp import P3, P4, P4_NAME

deploys, gcp, home = on_gcp.deploys, on_gcp.gcp, on_sandbox.home     # their fixtures, as these tests ask for them

OLD = f"{P4}-00029-fdx"
LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"
WRONG_CODE = "docker/precompute-processor.Dockerfile"     # built into Phase 3's identity below: the incident


def _prepared(target, sandbox_home, **values) -> redeploy.Redeploy:
    p = params.validate_params(params.RedeployParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                        "phase": "phase4",
                                                        "source_dir": str(Path(sandbox_home) / "source"), **values})
    return redeploy.prepare(target, p, progress=None)


def _serving(target, phase: str = "phase4") -> dict[str, int]:
    return {r.name: r.traffic_percent for r in target.services.list_revisions(phase) if r.traffic_percent}


def _follow_latest(fake_apis) -> None:
    """Cloud Run's default: the traffic follows the latest ready revision."""
    service = fake_apis.run_services[P4_NAME]
    service["traffic"] = [{"type": LATEST, "percent": 100}]
    service["trafficStatuses"] = [{"type": LATEST, "revision": OLD, "percent": 100}]


def _watch_traffic_at_the_tag_check(services, seen: list, phase: str = "phase4"):
    """Wrap services.health: whenever the tag's URL is asked, note what serves production at that moment and what
    production's own /health answers."""
    read = services.health

    def health(name, token=None, timeout_s=None, tag=None):
        if tag:
            seen.append((_serving_of(services, phase), read(phase, token=services.identity_token(phase=phase))))
        return read(name, token=token, timeout_s=timeout_s, tag=tag)

    return health


def _serving_of(services, phase: str) -> dict[str, int]:
    return {r.name: r.traffic_percent for r in services.list_revisions(phase) if r.traffic_percent}


def _patches(fake_apis) -> list:
    return [r for r in fake_apis.requests if r.method == "PATCH"]


# ---------------------------------------------------------------- gcp


@pytest.mark.parametrize("follows_latest", [True, False], ids=["latest", "pinned"])
def test_the_wrong_code_is_caught_on_the_tag_and_production_traffic_never_moves_on_gcp(gcp, deploys, fake_apis,
                                                                                       sandbox_home, monkeypatch,
                                                                                       follows_latest):
    if follows_latest:
        _follow_latest(fake_apis)
    deploys.identity_by_dockerfile[WRONG_CODE] = P3
    token = gcp.services.identity_token(phase="phase4")
    production = gcp.services.health("phase4", token=token)
    seen: list = []
    monkeypatch.setattr(gcp.services, "health", _watch_traffic_at_the_tag_check(gcp.services, seen))
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    new = run.rollout.revision
    assert _serving(gcp) == {OLD: 100} and run.rollout.traffic == {OLD: 100}     # deployed: no traffic at all
    assert run.rollout.tag_url == f"{fake_apis.endpoint}/svc/candidate---{P4}"
    run.verify()
    result = run.result()
    # the tag's check ran while production served the old revision, and production's /health still named it
    assert seen and all(traffic == {OLD: 100} and answer == production for traffic, answer in seen)
    checks = {c.name: c for c in result.checks}
    assert checks["candidate /health service"].status == "fail" and P3 in checks["candidate /health service"].detail
    assert checks["serves 100% of traffic"].status == "skip" and checks["rollback"].status == "skip"
    assert "production never reached it" in checks["rollback"].detail
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert result.summary.startswith(f"{new} failed its checks on its tag's URL, so production never reached it")
    # one write: the no-traffic deploy; the traffic as it was, pinned by name, the new revision at 0% with the tag
    (deployed,) = _patches(fake_apis)
    assert deployed.body["template"]["revision"] == new and new.startswith(f"{P4}-00030-") and len(new) <= 63
    assert deployed.body["traffic"] == [{"type": 2, "revision": OLD, "percent": 100},
                                        {"type": 2, "revision": new, "tag": "candidate"}]
    assert _serving(gcp) == {OLD: 100} and gcp.services.health("phase4", token=token) == production
    # gcloud's --no-traffic pinned a service that followed the latest revision: said, with the command that undoes it
    assert gcp.services.follows_latest("phase4") is False
    to_latest = f"gcloud run services update-traffic {P4} --to-latest --region=us-west2 --project={PROJECT}"
    assert (to_latest in checks["rollback"].detail) is follows_latest
    assert ("pinned now: it followed the latest revision before" in result.summary) is follows_latest


@pytest.mark.parametrize("follows_latest", [True, False], ids=["latest", "pinned"])
def test_a_good_image_is_checked_on_the_tag_then_migrated_as_the_traffic_was_on_gcp(gcp, deploys, fake_apis,
                                                                                    sandbox_home, monkeypatch,
                                                                                    follows_latest):
    if follows_latest:
        _follow_latest(fake_apis)
    seen: list = []
    monkeypatch.setattr(gcp.services, "health", _watch_traffic_at_the_tag_check(gcp.services, seen))
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute(), run.verify()
    result = run.result()
    new = run.rollout.revision
    assert result.verdict == "warn" and result.figures["checks passed"] == "7/7", result.summary   # public: a warning
    assert seen and all(traffic == {OLD: 100} for traffic, _ in seen)       # checked before any traffic moved
    assert _serving(gcp) == {new: 100} and gcp.services.describe("phase4").revision == new
    spec = fake_apis.run_services[P4_NAME]["traffic"]
    if follows_latest:   # --to-latest: it follows the latest revision again, as before the deploy
        assert spec == [{"type": LATEST, "percent": 100}, {"type": REVISION, "revision": new, "tag": "candidate"}]
        assert gcp.services.follows_latest("phase4") is True
    else:                # --to-tags=candidate=100: pinned to the new revision
        assert spec == [{"type": REVISION, "revision": new, "percent": 100, "tag": "candidate"}]
        assert gcp.services.follows_latest("phase4") is False
    assert run.plan.migrate_command().split()[5] == "--to-tags=candidate=100"   # never --to-latest blind
    # the no-traffic deploy, the migration pinned to it, and --to-latest once it is found the newest revision
    assert len(_patches(fake_apis)) == (3 if follows_latest else 2)
    health = next(c for c in result.checks if c.name == "/health service")
    assert health.status == "pass" and fake_apis.service_health[P4]["commit_sha"] == run.plan.commit


def test_a_traffic_change_between_the_deploy_and_the_migration_is_not_undone_on_gcp(gcp, deploys, fake_apis,
                                                                                    sandbox_home, monkeypatch):
    colleague = f"{P4}-00028-usv"
    read = gcp.services.health

    def health_then_a_colleague_moves_the_traffic(phase, token=None, timeout_s=None, tag=None):
        answer = read(phase, token=token, timeout_s=timeout_s, tag=tag)
        spec = [{"type": REVISION, "revision": colleague, "percent": 100}]
        fake_apis.run_services[P4_NAME].update(traffic=spec, trafficStatuses=[dict(t) for t in spec])
        return answer

    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    monkeypatch.setattr(gcp.services, "health", health_then_a_colleague_moves_the_traffic)
    run.verify()
    result = run.result()
    checks = {c.name: c for c in result.checks}
    assert checks["candidate /health service"].status == "pass"
    assert checks["serves 100% of traffic"].status == "fail"
    assert checks["serves 100% of traffic"].detail.startswith(f"{colleague} 100% serves, not {OLD} as the deploy "
                                                              "left it: someone changed the traffic since")
    assert checks["rollback"].status == "skip"
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert result.summary.startswith(f"{run.rollout.revision} passed its checks on its tag's URL but got no traffic")
    assert colleague in result.summary
    assert len(_patches(fake_apis)) == 1 and _serving(gcp) == {colleague: 100}     # theirs, untouched


def test_a_second_redeploy_is_refused_while_the_first_ones_candidate_waits_on_gcp(gcp, deploys, fake_apis,
                                                                                  sandbox_home):
    """The first run's candidate has no traffic, so the traffic guard sees nothing: the tag tells."""
    a, b = _prepared(gcp, sandbox_home), _prepared(gcp, sandbox_home)
    a.guard(), b.guard()
    a.execute(), b.execute()
    b.verify(), a.verify()
    ra, rb = a.result(), b.result()
    assert rb.verdict == "blocked" and b.rollout is None, rb.summary
    assert f"{P4}'s tag candidate now names {a.rollout.revision}, not none as when the plan was made" in rb.summary
    assert ra.verdict == "warn" and _serving(gcp) == {a.rollout.revision: 100}, ra.summary


def test_the_tag_reaches_its_revision_and_an_unknown_tag_has_no_url_on_gcp(gcp, deploys, fake_apis, sandbox_home):
    run = _prepared(gcp, sandbox_home)
    run.guard(), run.execute()
    token = gcp.services.identity_token(phase="phase4")
    tagged = gcp.services.health("phase4", token=token, tag="candidate")
    assert (tagged["service"], tagged["commit_sha"]) == (P4, run.plan.commit)
    assert gcp.services.health("phase4", token=token)["commit_sha"] != run.plan.commit      # production: the old one
    assert next(r for r in gcp.services.list_revisions("phase4") if r.name == run.rollout.revision).tags == ["candidate"]
    with pytest.raises(NotFoundError, match="carries the tag other"):
        gcp.services.request("phase4", "GET", "/health", token=token, tag="other")
    with pytest.raises(ParameterError):
        gcp.services.health("phase4", token=token, tag="Bad_Tag")


def test_the_printed_commands_deploy_with_no_traffic_check_the_tag_then_migrate(gcp, deploys, fake_apis,
                                                                               sandbox_home):
    pinned = _prepared(gcp, sandbox_home, dry_run=True)
    _follow_latest(fake_apis)
    latest = _prepared(gcp, sandbox_home, dry_run=True)
    for run, follows_latest in ((pinned, False), (latest, True)):
        run.guard(), run.execute()
        commands = run.result().details["plan"]["commands"]
        deploy = next(c for c in commands if c.startswith("gcloud run deploy"))
        assert f"gcloud run deploy {P4} --image=\"$IMAGE\" --region=us-west2 --project={PROJECT} --no-traffic " \
               "--tag=candidate --no-allow-unauthenticated " in deploy
        tag_url, check_then_migrate, *after = commands[commands.index(deploy) + 1:]
        assert tag_url.startswith(f'TAG_URL="$(gcloud run services describe {P4} --region=us-west2 '
                                  f"--project={PROJECT} --format='value(status.url)'")
        assert "https://candidate---" in tag_url
        curl, migrate = check_then_migrate.split(" && ")   # no traffic moves unless the check passes
        assert curl.startswith('curl -fsS -H "Authorization: Bearer $(gcloud auth print-identity-token)" '
                               '"$TAG_URL/health" | python3 -c ')
        assert migrate == f"gcloud run services update-traffic {P4} --to-tags=candidate=100 --region=us-west2 " \
                          f"--project={PROJECT}"
        assert len(after) == follows_latest and all(a.startswith("# then") and "--to-latest" in a for a in after)
        assert migrate in run.plan.to_text() and "--no-traffic --tag=candidate" in run.plan.to_text()
    assert not _patches(fake_apis)


# ---------------------------------------------------------------- the sandbox


def _local(home_dir, **values) -> params.RedeployParams:
    return params.validate_params(params.RedeployParams, {"sandbox_home": str(home_dir), "dry_run": False, **values})


def _candidate(home_dir, phase: str) -> dict:
    return json.loads((Path(home_dir) / "state.json").read_text())["services"][phase].get("tags", {}).get("candidate")


def _service_pids(home_dir) -> set[int]:
    box = sandbox_home(home_dir)
    return {record["pid"] for record in (read_run_file(box, p) for p in ("phase3", "phase4")) if record}


def test_the_wrong_code_is_caught_on_the_tag_and_no_candidate_process_is_left_on_the_sandbox(home, monkeypatch):
    with connect("local", home=home) as tg:
        race_image = tg.services.describe("phase3").image          # the night's race: Phase 4's code
        old = tg.services.describe("phase3")
        production = tg.services.health("phase3", token=tg.services.identity_token())
        seen: list = []
        monkeypatch.setattr(tg.services, "health", _watch_traffic_at_the_tag_check(tg.services, seen, "phase3"))
        run = redeploy.prepare(tg, _local(home, phase="phase3", strategy="image", image=race_image), progress=None)
        run.guard(), run.execute()
        candidate = _candidate(home, "phase3")
        assert candidate["revision"] == run.rollout.revision and run.rollout.tag_url == candidate["url"]
        assert is_our_process(candidate["pid"]) and candidate["pid"] != old.pid
        assert _serving(tg, "phase3") == {old.revision: 100}
        run.verify()
        result = run.result()
        assert seen and all(traffic == {old.revision: 100} and answer == production for traffic, answer in seen)
        assert result.verdict == "fail" and result.figures["rolled back"] == "no"
        assert "production never reached it" in result.summary, result.summary
        assert not is_our_process(candidate["pid"])                 # stopped when the redeploy ended
        after = tg.services.describe("phase3")
        assert (after.revision, after.pid) == (old.revision, old.pid)    # the same process kept serving
        assert tg.services.health("phase3", token=tg.services.identity_token()) == production
        assert set(_service_processes_under(Path(home))) == _service_pids(home)
        # the tag stays on it (a tag names its revision), and its URL starts it again, as Cloud Run scales from zero
        again = tg.services.health("phase3", token=tg.services.identity_token(), tag="candidate")
        assert again["service"] == P4 and _candidate(home, "phase3")["pid"] != candidate["pid"]
    assert set(_service_processes_under(Path(home))) <= _service_pids(home)   # close() stopped the one it started


@pytest.mark.parametrize("pin_first", [False, True], ids=["latest", "pinned"])
def test_a_good_image_is_migrated_and_its_candidate_process_serves_on_the_sandbox(home, monkeypatch, pin_first):
    with connect("local", home=home) as tg:
        old = tg.services.describe("phase4")
        if pin_first:
            tg.services.update_traffic("phase4", old.revision)
        assert tg.services.follows_latest("phase4") is not pin_first
        seen: list = []
        monkeypatch.setattr(tg.services, "health", _watch_traffic_at_the_tag_check(tg.services, seen))
        run = redeploy.prepare(tg, _local(home, phase="phase4"), progress=None)
        run.guard(), run.execute()
        candidate = _candidate(home, "phase4")
        run.verify()
        result = run.result()
        new = run.rollout.revision
        assert result.verdict == "warn" and result.figures["checks passed"] == "7/7", result.summary
        assert seen and all(traffic == {old.revision: 100} for traffic, _ in seen)
        assert _serving(tg, "phase4") == {new: 100} and tg.services.follows_latest("phase4") is not pin_first
        info = tg.services.describe("phase4")
        assert info.revision == new and info.pid == candidate["pid"]     # the candidate's process now serves
        assert not is_our_process(old.pid)
        assert set(_service_processes_under(Path(home))) == _service_pids(home)


def test_a_traffic_change_between_the_deploy_and_the_migration_is_not_undone_on_the_sandbox(home, monkeypatch):
    with connect("local", home=home) as tg:
        old = tg.services.describe("phase4")
        colleague = next(r.name for r in tg.services.list_revisions("phase4")
                         if r.ready is not False and r.name != old.revision)
        run = redeploy.prepare(tg, _local(home, phase="phase4"), progress=None)
        run.guard(), run.execute()
        read = tg.services.health

        def health_then_a_colleague_moves_the_traffic(phase, token=None, timeout_s=None, tag=None):
            answer = read(phase, token=token, timeout_s=timeout_s, tag=tag)
            tg.services.update_traffic("phase4", colleague)
            return answer

        monkeypatch.setattr(tg.services, "health", health_then_a_colleague_moves_the_traffic)
        candidate = _candidate(home, "phase4")
        run.verify()
        result = run.result()
        assert result.verdict == "fail" and result.figures["rolled back"] == "no", result.summary
        assert "someone changed the traffic since" in next(c.detail for c in result.checks
                                                           if c.name == "serves 100% of traffic")
        assert tg.services.describe("phase4").revision == colleague
        assert not is_our_process(candidate["pid"])
        assert set(_service_processes_under(Path(home))) == _service_pids(home)


def test_sandbox_stop_stops_a_waiting_candidate_too(home):
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, _local(home, phase="phase4"), progress=None)
        run.guard(), run.execute()                        # deployed with no traffic; not verified yet
        candidate = _candidate(home, "phase4")
        assert is_our_process(candidate["pid"])
        stop_sandbox(home)
        assert not is_our_process(candidate["pid"]) and not _service_processes_under(Path(home))


def test_the_sandbox_plan_prints_the_candidate_steps(home):
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, _local(home, phase="phase4", dry_run=True), progress=None)
        commands = run.plan.commands()
    deploy = next(c for c in commands if c.startswith("gcloud run deploy"))
    assert "--no-traffic --tag=candidate" in deploy and '"$TAG_URL/health" | python3 -c ' in commands[-2]
    # the sandbox's project is a real project's id: its printed commands name it PROJECT
    assert commands[-2].endswith(f" && gcloud run services update-traffic {P4} --to-tags=candidate=100 "
                                 "--region=us-west2 --project=PROJECT")
    assert commands[-1].startswith("# then, while the candidate is the newest") and commands[-1].endswith(
        f"update-traffic {P4} --to-latest --region=us-west2 --project=PROJECT")
    assert not [c for c in commands if "nba-props-platform" in c]


def _wait_for(what, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.05)
    return what()


def _revision_of(pid: int) -> str:
    args = command_line(pid)
    return args[args.index("--revision") + 1] if "--revision" in args[:-1] else ""


# Ctrl-C while the sandbox started the candidate's process: the process, in its own session, announced itself in
# run/phase4.json afterwards, so `sandbox status` said Phase 4 was stopped while the old revision served, recorded
# nowhere, and the runner's cleanup (stop_started_by) found nothing of its run to stop (/work/probes/redeploy2 #3)
def test_an_interrupt_while_the_candidate_starts_leaves_the_services_record_and_the_cleanup_stops_it(home,
                                                                                                   monkeypatch):
    from runbook_lib.local import service_processes

    monkeypatch.setenv(STARTED_BY_ENV, "run-interrupted")
    with connect("local", home=home) as tg:
        old = tg.services.describe("phase4")
        image = next(r.image for r in tg.services.list_revisions("phase4") if r.name == old.revision)
        read, already = service_processes.run_file, set(tg.services._started)

        def interrupted(box, phase):   # the kernel's Ctrl-C lands in the deploy's first wait for the new process
            if not tg.services._started - already or interrupted.done:
                return read(box, phase)
            interrupted.done = True
            raise KeyboardInterrupt

        interrupted.done = False

        run = redeploy.prepare(tg, _local(home, phase="phase4", strategy="image", image=image), progress=None)
        run.guard()
        monkeypatch.setattr(service_processes, "run_file", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run.execute()
        monkeypatch.setattr(service_processes, "run_file", read)
        started = _wait_for(lambda: [pid for pid in _service_processes_under(Path(home))
                                     if pid != old.pid and _revision_of(pid).startswith(P4)])
        assert started, "the candidate's process never started"
        candidate = _revision_of(started[0])
        _wait_for(lambda: (Path(home) / "run" / "phase4--candidate.json").exists(), 15)
        # the service's record still names the process that serves, whatever the candidate's process wrote
        assert read_run_file(sandbox_home(home), "phase4")["pid"] == old.pid
        assert tg.services.describe("phase4").revision == old.revision and is_our_process(old.pid)
        # the runner's cleanup once the kernel is gone stops the candidate's process, and only that
        assert stop_started_by(sandbox_home(home), "run-interrupted")
        assert not is_our_process(started[0]) and is_our_process(old.pid)
        assert candidate not in {_revision_of(pid) for pid in _service_processes_under(Path(home))}


def test_the_runners_cleanup_stops_a_service_process_recorded_nowhere(home):
    """A kernel killed before the process it started announced itself: no run file names it, so only its command
    line (its --home) says it is the sandbox's, as `sandbox stop` reads it."""
    box = sandbox_home(home)
    with connect("local", home=home) as tg:
        serving = {phase: tg.services.describe(phase).pid for phase in ("phase3", "phase4")}
        revision = next(r for r in json.loads((Path(home) / "state.json").read_text())["services"]["phase4"]
                        ["revisions"] if r["name"] == tg.services.describe("phase4").revision)
        orphan = tg.services._spawn("phase4", revision, run_name="phase4--orphan")["pid"]
        (Path(home) / "run" / "phase4--orphan.json").unlink()
        assert is_our_process(orphan, box.root)
        assert stop_started_by(box, "run-gone") == [f"pid {orphan}"]
        assert not is_our_process(orphan) and all(is_our_process(pid) for pid in serving.values())
