"""Runbook 00: what the sandbox serves on the incident morning, after the fix, and when things go wrong."""
import json
import time
from pathlib import Path

import pytest

from runbook_lib import overview
from runbook_lib.errors import RunbookError
from runbook_lib.target import connect

from local_helpers import serving, state_changed


def test_overview_flags_prefix_ignoring_phase4_and_counts_production(local_target):
    ov = overview.pipeline_overview(local_target)
    by_phase = {s.phase: s for s in ov.phases}
    assert by_phase["phase4"].supports_prefix is False
    assert by_phase["phase4"].revision.endswith("00029-fdx")
    assert by_phase["phase3"].supports_prefix is True
    assert all(s.http_status == 200 for s in ov.phases)
    # The deploy race left Phase 3 serving Phase 4's code: /health names the wrong service.
    assert by_phase["phase3"].wrong_code and by_phase["phase3"].reported_service == "nba-phase4-precompute-processors"
    assert not by_phase["phase4"].wrong_code
    assert ov.verdict == "fail"
    # The same sentences as runbook 03's capability check (one place: overview.py).
    assert ov.summary.startswith("phase3 serves another phase's code (/health names nba-phase4-precompute-processors, "
                                 "not nba-phase3-analytics-processors)")
    assert "phase4 runs" in ov.summary and "from before dataset_prefix support (" in ov.summary
    # The night's IAM fix removed allUsers but left Phase 4's allAuthenticatedUsers: still public.
    assert "nba-phase4-precompute-processors is public" in ov.summary
    assert not by_phase["phase3"].public and by_phase["phase4"].public
    assert ov.figures["wrong code"] == 1
    assert ov.figures["ignore dataset_prefix"] == 1 and ov.figures["public services"] == 1
    counts = dict(zip(ov.tables["table"], ov.tables["rows"]))
    rows = local_target.warehouse.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary")["n"][0]
    assert counts["nba_analytics.player_game_summary"] == rows > 0
    table = ov.services_table()
    assert table.loc[table["phase"] == "phase4", "dataset_prefix"].item() == "IGNORED"
    assert table.loc[table["phase"] == "phase3", "right code"].item() == "NO"
    fig = overview.daily_rows_chart(ov)
    assert fig.axes[0].get_title() == "Production rows per partition date" and fig.axes[0].lines
    # what to run next, in the order an operator would, each for the phases or service it concerns
    assert ov.details["next"] == [
        "runbook 01 (notebooks/01_diagnose_build.ipynb) to diagnose the last build of phase3",
        "runbook 02 (notebooks/02_redeploy_phase.ipynb) to redeploy phase3 and phase4, each from its own Dockerfile",
        "runbook 05 (notebooks/05_security_audit.ipynb) to see who can call nba-phase4-precompute-processors and "
        "print the fix"]
    assert ov.summary.endswith(f" Next: {'; '.join(ov.details['next'])}.")



# ---------------------------------------------------------------- beyond the incident morning

@pytest.fixture(scope="module")
def repaired_home(seeded_sandbox):
    """A sandbox after the morning fix: both phases redeployed from head, each with its own code, and
    Phase 4's allAuthenticatedUsers binding removed (the security audit's fix)."""
    from runbook_lib.local.sandbox import stop_sandbox

    home = seeded_sandbox(0.15, "repaired")
    head = json.loads((Path(home) / "state.json").read_text())["source"]["commits"]["head"]
    with connect("local", home=home) as tg:
        for phase in ("phase4", "phase3"):
            tg.services.deploy_revision(phase, commit=head, image=f"img-{phase}@{head[:7]}", supports_prefix=True,
                                        code_phase=phase)
        policy = tg.services.iam_policy("phase4")
        tg.services.set_iam_policy("phase4", {"bindings": [
            {**b, "members": [m for m in b["members"] if m != "allAuthenticatedUsers"]} for b in policy["bindings"]]})
    yield home
    stop_sandbox(home)


@pytest.fixture
def trickling_port():
    """A port whose answer to any request is a healthy /health whose headers come at once and whose body then
    comes one byte every 0.1 s (60 s for all of it): never silent for as long as a read's timeout."""
    body = json.dumps({"status": "healthy", "service": "nba-phase4-precompute-processors"}).encode().ljust(600)

    def trickle(conn, stop):
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(body))
                for i in range(len(body)):
                    if stop.is_set():
                        return
                    conn.sendall(body[i:i + 1])
                    time.sleep(0.1)
            except OSError:   # the caller gave up
                pass

    with serving(trickle, backlog=8) as port:
        yield port


def test_a_repaired_sandbox_passes(repaired_home):
    with connect("local", home=repaired_home) as tg:
        ov = overview.pipeline_overview(tg)
    assert [(s.phase, s.http_status, s.wrong_code, s.supports_prefix, s.public) for s in ov.phases] == [
        ("phase3", 200, False, True, False), ("phase4", 200, False, True, False)]
    assert ov.verdict == "pass"
    assert ov.summary == "Every phase serves its own code, honours dataset_prefix and is private."
    assert ov.details["next"] == []
    assert ov.figures["wrong code"] == 0 and ov.figures["services healthy"] == "2/2"


def test_a_public_service_fails_the_overview(repaired_home):
    with connect("local", home=repaired_home) as tg:
        before = tg.services.iam_policy("phase3")
        public = {"bindings": before["bindings"] + [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
        tg.services.set_iam_policy("phase3", public)
        try:
            ov = overview.pipeline_overview(tg)
        finally:
            tg.services.set_iam_policy("phase3", {"bindings": before["bindings"]})
    assert ov.verdict == "fail" and ov.figures["public services"] == 1
    assert "nba-phase3-analytics-processors is public" in ov.summary
    assert ov.details["next"] == ["runbook 05 (notebooks/05_security_audit.ipynb) to see who can call "
                                  "nba-phase3-analytics-processors and print the fix"]
    with connect("local", home=repaired_home) as tg:
        assert overview.pipeline_overview(tg).verdict == "pass"


def test_an_iam_check_turned_off_is_public_too(repaired_home):
    with connect("local", home=repaired_home) as tg:
        tg.services.set_invoker_iam_check("phase4", False)
        try:
            ov = overview.pipeline_overview(tg)
        finally:
            tg.services.set_invoker_iam_check("phase4", True)
    assert ov.verdict == "fail" and "nba-phase4-precompute-processors is public" in ov.summary


def test_a_refused_health_check_is_not_wrong_code(repaired_home, monkeypatch):
    """No token can be minted: /health is refused (403). That says nothing about whose code runs."""
    with connect("local", home=repaired_home) as tg:
        def no_token(principal=None, phase=None):
            raise RunbookError("could not mint an identity token")

        monkeypatch.setattr(tg.services, "identity_token", no_token)
        ov = overview.pipeline_overview(tg)
    assert [(s.http_status, s.reported_service, s.wrong_code) for s in ov.phases] == [(403, None, False)] * 2
    assert ov.verdict == "warn" and "wrong code" not in ov.summary
    assert ("phase3's /health answered 403 to a call without an identity token, so which code serves "
            "nba-phase3-analytics-processors cannot be checked: could not mint an identity token;") in ov.summary
    assert ov.figures["services healthy"] == "0/2"
    table = ov.services_table()
    assert list(table["right code"]) == ["?", "?"] and list(table["reports"]) == ["-", "-"]


def test_a_failing_health_check_warns(repaired_home, monkeypatch):
    with connect("local", home=repaired_home) as tg:
        real = tg.services.health
        monkeypatch.setattr(tg.services, "health", lambda phase, token=None, **kw: {"http_status": 503, "error": "starting"}
                            if phase == "phase4" else real(phase, token=token))
        ov = overview.pipeline_overview(tg)
    states = {s.phase: s for s in ov.phases}
    assert states["phase4"].http_status == 503 and not states["phase4"].wrong_code
    assert states["phase3"].http_status == 200 and not states["phase3"].wrong_code
    assert ov.verdict == "warn" and ov.summary == (f"phase4's /health answered 503, so which code serves {P4} cannot be "
                                                   f"checked.")


def test_a_service_whose_traffic_goes_nowhere_fails_in_its_own_row(repaired_home):
    """Every traffic entry at 0% (a hand edit, an interrupted change): no revision serves phase4. That phase's row
    says so and fails the overview; it does not end it (a bare StopIteration did, with no row at all)."""
    def no_share(state):
        for entry in state["services"]["phase4"]["traffic"]:
            entry["percent"] = 0

    with state_changed(repaired_home, no_share), connect("local", home=repaired_home) as tg:
        ov = overview.pipeline_overview(tg)
    p3, p4 = ov.phases
    assert ov.verdict == "fail" and p3.http_status == 200 and p3.revision
    assert p4.problem == (f"its service could not be read: {P4} gives no revision a share of its traffic, so no "
                          f"revision serves it; send the traffic to a ready revision (runbook 02 redeploys it)")
    assert ov.summary.startswith(f"phase4: {p4.problem}")


def test_a_newest_revision_that_failed_to_start_is_a_warning_naming_it(repaired_home):
    """What LocalServices.deploy leaves when the new revision's process cannot start: the revision, not ready,
    and the traffic where it was. The code last deployed is not what serves."""
    from datetime import datetime, timezone

    from runbook_lib.local.services import revision_record

    failed = {}

    def deploy_failed(state):
        record = state["services"]["phase4"]
        serving = record["revisions"][-1]
        number = max(int(r["name"].rsplit("-", 2)[1]) for r in record["revisions"]) + 1
        failed.update(revision_record(P4, number, serving["commit_sha"], "img-phase4@broken", True,
                                      datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "phase4"),
                      ready=False)
        record["revisions"].append(failed)

    with state_changed(repaired_home, deploy_failed), connect("local", home=repaired_home) as tg:
        ov = overview.pipeline_overview(tg)
    p4 = ov.phases[1]
    assert p4.failed_revision == failed["name"] and p4.http_status == 200 and not p4.problem
    assert ov.verdict == "warn" and ov.summary == (
        f"phase4's newest revision {failed['name']} failed to become ready, so the code last deployed to {P4} is not "
        f"what serves it (runbook 01 diagnoses why, runbook 02 redeploys).")


def test_a_serving_revision_cloud_run_reports_not_ready_is_a_warning_naming_it(repaired_home):
    """The revision with the traffic stopped being ready after it took it (its image deleted, say): /health, from an
    instance still up, says all is well, but Cloud Run's word is that the calls it routes there can fail."""
    serving = {}

    def no_longer_ready(state):
        record = state["services"]["phase4"]
        name = next(t["revisionName"] for t in record["traffic"] if t.get("percent"))
        revision = next(r for r in record["revisions"] if r["name"] == name)
        revision["ready"] = False
        serving["name"] = name

    with state_changed(repaired_home, no_longer_ready), connect("local", home=repaired_home) as tg:
        ov = overview.pipeline_overview(tg)
    p4 = ov.phases[1]
    assert [r.ready for r in p4.serving] == [False] and p4.http_status == 200 and not p4.problem
    assert ov.verdict == "warn" and ov.summary == (
        f"phase4 sends 100% to {serving['name']}, which Cloud Run reports not ready, so those calls can fail (runbook "
        f"02 redeploys {P4} or sends its traffic to a ready revision).")


def test_a_health_that_trickles_fails_its_row_within_the_timeout(repaired_home, trickling_port, monkeypatch):
    """A socket timeout restarts with every byte: /health must be whole within HEALTH_TIMEOUT_S."""
    import time

    monkeypatch.setattr(overview, "HEALTH_TIMEOUT_S", 0.5)
    with connect("local", home=repaired_home) as tg:
        real = tg.services._ensure_one
        monkeypatch.setattr(tg.services, "_ensure_one", lambda name, **kw: {"port": trickling_port}
                            if name == "phase4" else real(name, **kw))
        started = time.monotonic()
        ov = overview.pipeline_overview(tg)
    # the whole body would take 60 s: far sooner is the deadline's doing, whatever else loads the machine
    assert time.monotonic() - started < 30
    p3, p4 = ov.phases
    assert ov.verdict == "fail" and p3.http_status == 200 and p3.problem == ""
    assert p4.problem == ("/health could not be read: GET /health on the sandbox's phase4 service got no answer "
                          "within 0.5s (it may still be working on it)")


# ---------------------------------------------------------------- target=gcp: splits, /health without identity, faults

P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
GCP_TOKEN = "operator-token"
NEW, OLD = "a51aae7", "476352a"   # commit-sha labels: with and without dataset_prefix support
PREFIX = "5ee366a"                # phases.yaml's prefix_support_commit


def _cloud_run(fake, service: str, revisions: list[tuple[str, str]], traffic: dict[str, int], health=None,
               failed: tuple[str, ...] = ()) -> None:
    """One service on the Cloud Run fake: revisions [(short name, commit-sha label)] newest first, traffic
    {short name: %} (none: Cloud Run's LATEST, with no revision ready to name); `failed`: the revisions that
    failed to become ready, as Cloud Run then reports the service (not ready, latestReadyRevision the newest
    ready one, if any)."""
    from fakes.fixtures import PROJECT

    name = f"projects/{PROJECT}/locations/us-west2/services/{service}"
    ready = [r for r, _ in revisions if r not in failed]

    def state(revision: str) -> str:
        return "CONDITION_FAILED" if revision in failed else "CONDITION_SUCCEEDED"

    fake.run_services[name] = {
        "name": name, "uri": f"{fake.endpoint}/svc/{service}",
        "latestCreatedRevision": f"{name}/revisions/{revisions[0][0]}",
        "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": r, "percent": p}
                            for r, p in traffic.items()] or [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                                                              "percent": 100}],
        "terminalCondition": {"type": "Ready", "state": state(revisions[0][0])}}
    if ready:
        fake.run_services[name]["latestReadyRevision"] = f"{name}/revisions/{ready[0]}"
    fake.run_revisions[name] = [
        {"name": f"{name}/revisions/{r}", "labels": {"commit-sha": sha}, "containers": [{"image": f"img/{r}"}],
         "createTime": f"2025-12-{29 - i:02d}T09:00:00Z", "conditions": [{"type": "Ready", "state": state(r)}]}
        for i, (r, sha) in enumerate(revisions)]
    fake.run_policies[name] = {"version": 1, "etag": "BwYx",
                               "bindings": [{"role": "roles/run.invoker", "members": ["user:operator@example.com"]}]}
    fake.service_health[service] = {"status": "healthy", "service": service} if health is None else health
    fake.identity_tokens[GCP_TOKEN] = "user:operator@example.com"


@pytest.fixture
def gcp_services_on(fake_apis, monkeypatch, tmp_path):
    """connect() to the Cloud Run fake; git and gcloud stand-ins; production data stands as one table."""
    import pandas as pd

    from fakes.fixtures import PROJECT
    from runbook_lib.gcp import services as gcp_services

    monkeypatch.setattr(gcp_services, "commit_contains", lambda source_dir, label, prefix: {NEW: True, OLD: False}.get(label))
    monkeypatch.setattr(gcp_services.GcpServices, "_full_sha", lambda self, label, cache: None)
    monkeypatch.setattr(gcp_services.GcpServices, "identity_token", lambda self, principal=None, phase=None: GCP_TOKEN)
    monkeypatch.setattr(overview, "output_tables", lambda target: (
        pd.DataFrame([{"table": "nba_analytics.player_game_summary", "rows": 10, "partitions": 1, "latest": None,
                       "note": ""}]), pd.DataFrame(columns=["day", "row_count", "table"])))
    _cloud_run(fake_apis, P3, [(f"{P3}-00040-new", NEW)], {f"{P3}-00040-new": 100})
    _cloud_run(fake_apis, P4, [(f"{P4}-00030-new", NEW)], {f"{P4}-00030-new": 100})
    targets = []

    def connect_now():
        targets.append(connect("gcp", project=PROJECT, source_dir=str(tmp_path),
                               endpoints={"run": fake_apis.endpoint}))
        return targets[-1]

    yield connect_now
    for tg in targets:
        tg.close()


def test_a_split_is_judged_on_every_revision_with_traffic(fake_apis, gcp_services_on):
    """90% to new code, 10% to 476352a (no dataset_prefix): one call in ten would write production."""
    from runbook_lib.replay import check_capability

    _cloud_run(fake_apis, P4, [(f"{P4}-00030-new", NEW), (f"{P4}-00029-fdx", OLD)],
               {f"{P4}-00030-new": 90, f"{P4}-00029-fdx": 10})
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    p4 = {s.phase: s for s in ov.phases}["phase4"]
    assert p4.revision == f"{P4}-00030-new" and p4.supports_prefix is False
    assert [(r.name, r.percent, r.supports_prefix) for r in p4.serving] == [
        (f"{P4}-00030-new", 90, True), (f"{P4}-00029-fdx", 10, False)]
    assert ov.verdict == "warn"
    assert (f"phase4 sends 10% of its traffic to {P4}-00029-fdx ({OLD}), from before dataset_prefix support "
            f"({PREFIX}): those calls of a prefixed run would write production") in ov.summary
    table = ov.services_table()
    assert table.loc[1, "dataset_prefix"] == "IGNORED" and table.loc[1, "right code"] == "?"
    capable = check_capability(tg, ["phase3", "phase4"])
    assert not capable.ready and [p.ready for p in capable.phases] == [True, False]
    assert capable.phases[1].problem in ov.summary
    assert "Redeploy phase4 with runbook 02" in capable.blocked_sentence()


def test_a_split_over_two_images_cannot_be_vouched_for_by_one_health_call(fake_apis, gcp_services_on):
    from runbook_lib.replay import check_capability

    _cloud_run(fake_apis, P4, [(f"{P4}-00031-can", NEW), (f"{P4}-00030-new", NEW)],
               {f"{P4}-00031-can": 50, f"{P4}-00030-new": 50})
    capable = check_capability(gcp_services_on(), ["phase4"])
    assert not capable.ready
    assert capable.phases[0].problem == (f"phase4 sends 50% of its traffic to {P4}-00030-new ({NEW}), another image "
                                         f"than {P4}-00031-can's, whose code one /health call cannot check")


@pytest.mark.parametrize("health, said", [
    ("text", "OK"), ("html", "It works!"), ({"status": "healthy"}, '{"status": "healthy"}')])
def test_a_health_that_names_no_service_is_not_the_right_code(fake_apis, gcp_services_on, health, said):
    from fakes.server import Reply
    from runbook_lib.replay import check_capability

    reply = {"text": Reply("OK", "text/plain"), "html": Reply("<html><body>It works!</body></html>", "text/html")}
    _cloud_run(fake_apis, P3, [(f"{P3}-00040-new", NEW)], {f"{P3}-00040-new": 100}, health=reply[health] if isinstance(health, str) else health)
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    assert ov.verdict == "warn"
    assert ov.summary == f"phase3's /health answered 200 but names no service ({said}), so which code serves {P3} cannot be checked."
    assert ov.services_table().loc[0, "right code"] == "?"
    capable = check_capability(tg, ["phase3", "phase4"])
    assert [p.ready for p in capable.phases] == [False, True]
    assert capable.phases[0].problem == (f"phase3's /health answered 200 but names no service ({said}), so which "
                                         f"code serves {P3} cannot be checked")


@pytest.fixture
def silent_url():
    """A URL that accepts connections and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_one_phase_that_cannot_be_read_is_reported_in_its_row_and_the_others_still_shown(
        fake_apis, gcp_services_on, silent_url, monkeypatch):
    from fakes.fixtures import PROJECT
    from runbook_lib import replay

    monkeypatch.setattr(overview, "HEALTH_TIMEOUT_S", 0.3)   # the kit's default for other requests: 300 s
    fake_apis.run_services[f"projects/{PROJECT}/locations/us-west2/services/{P3}"]["uri"] = silent_url
    del fake_apis.run_services[f"projects/{PROJECT}/locations/us-west2/services/{P4}"]
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    assert ov.verdict == "fail"
    p3, p4 = ov.phases
    assert p3.revision == f"{P3}-00040-new" and p3.supports_prefix is True and p3.http_status is None
    assert p3.problem == f"/health could not be read: GET {silent_url}/health got no answer within 0.3s (the " \
                         f"service may still be working on it)"
    assert p4.problem.startswith("its service could not be read: Cloud Run service ") and "was not found" in p4.problem
    assert ov.summary.startswith("phase3: /health could not be read") and "phase4: its service could not be read" \
        in ov.summary
    assert list(ov.services_table()["problem"]) == [p3.problem, p4.problem]
    capable = replay.check_capability(tg, ["phase3", "phase4"])
    assert [p.ready for p in capable.phases] == [False, False]
    assert capable.phases[1].problem == f"phase4: {p4.problem}"


def test_a_health_that_trickles_fails_its_row_within_the_timeout_on_gcp(fake_apis, gcp_services_on, trickling_port,
                                                                        monkeypatch):
    from fakes.fixtures import PROJECT

    monkeypatch.setattr(overview, "HEALTH_TIMEOUT_S", 0.5)
    url = f"http://127.0.0.1:{trickling_port}"
    fake_apis.run_services[f"projects/{PROJECT}/locations/us-west2/services/{P4}"]["uri"] = url
    started = time.monotonic()
    ov = overview.pipeline_overview(gcp_services_on())
    # the whole body would take 60 s: far sooner is the deadline's doing, whatever else loads the machine
    assert time.monotonic() - started < 30
    p3, p4 = ov.phases
    assert ov.verdict == "fail" and p3.http_status == 200 and p3.problem == ""
    assert p4.problem == (f"/health could not be read: GET {url}/health got no answer within 0.5s (the service may "
                          f"still be working on it)")


def test_a_health_that_says_it_is_not_healthy_is_a_warning_and_not_counted_healthy(fake_apis, gcp_services_on):
    said = {"status": "unhealthy", "service": P4, "error": "BigQuery client failed: 403 access denied"}
    _cloud_run(fake_apis, P4, [(f"{P4}-00030-new", NEW)], {f"{P4}-00030-new": 100}, health=said)
    ov = overview.pipeline_overview(gcp_services_on())
    assert ov.verdict == "warn" and ov.figures["services healthy"] == "1/2"
    assert ov.summary == (f"phase4's /health answered 200 but does not say {P4} is healthy ({{\"error\": \"BigQuery "
                          f"client failed: 403 access denied\", \"service\": \"{P4}\", \"status\": \"unhealthy\"}}).")
    assert [s.healthy for s in ov.phases] == [True, False] and ov.phases[1].health_status == "unhealthy"
    # runbook 03 does not call a service that says it cannot do its work: its calls would fail, or half-write
    from runbook_lib.replay import check_capability

    capable = check_capability(gcp_services_on(), ["phase3", "phase4"])
    assert [p.ready for p in capable.phases] == [True, False] and not capable.phases[1].redeploy
    assert capable.phases[1].problem in ov.summary


def test_a_newest_revision_that_failed_while_an_older_one_serves_is_a_warning_naming_it(fake_apis, gcp_services_on):
    """Cloud Run keeps the traffic on the last ready revision and reports the service not ready."""
    _cloud_run(fake_apis, P4, [(f"{P4}-00031-bad", NEW), (f"{P4}-00030-new", NEW)], {f"{P4}-00030-new": 100},
               failed=(f"{P4}-00031-bad",))
    ov = overview.pipeline_overview(gcp_services_on())
    p4 = ov.phases[1]
    assert p4.revision == f"{P4}-00030-new" and p4.failed_revision == f"{P4}-00031-bad" and p4.http_status == 200
    assert ov.verdict == "warn" and ov.summary == (
        f"phase4's newest revision {P4}-00031-bad failed to become ready, so the code last deployed to {P4} is not "
        f"what serves it (runbook 01 diagnoses why, runbook 02 redeploys).")


def test_a_split_share_on_a_revision_cloud_run_reports_not_ready_is_a_warning_naming_it(fake_apis, gcp_services_on):
    """Cloud Run reads its trafficStatuses and each revision's Ready condition: 10% on a failed revision is 10% of
    calls that can fail, while the 90% revision answers /health."""
    _cloud_run(fake_apis, P4, [(f"{P4}-00031-new", NEW), (f"{P4}-00030-new", NEW)],
               {f"{P4}-00031-new": 90, f"{P4}-00030-new": 10}, failed=(f"{P4}-00030-new",))
    ov = overview.pipeline_overview(gcp_services_on())
    p4 = ov.phases[1]
    assert [(r.name, r.ready) for r in p4.serving] == [(f"{P4}-00031-new", True), (f"{P4}-00030-new", False)]
    assert not p4.failed_revision and ov.verdict == "warn"
    assert (f"phase4 sends 10% to {P4}-00030-new, which Cloud Run reports not ready, so those calls can fail "
            f"(runbook 02 redeploys {P4} or sends its traffic to a ready revision)") in ov.summary


def test_a_phase_no_revision_serves_fails_in_its_own_row(fake_apis, gcp_services_on):
    """Its only revision failed to start: nothing serves phase4 (Cloud Run answers 503). Not the warning a 503 from
    a revision that serves is (test_a_failing_health_check_warns)."""
    _cloud_run(fake_apis, P4, [(f"{P4}-00001-bad", NEW)], {}, failed=(f"{P4}-00001-bad",))
    ov = overview.pipeline_overview(gcp_services_on())
    p3, p4 = ov.phases
    assert ov.verdict == "fail" and p3.http_status == 200 and p4.serving == [] and p4.http_status is None
    assert p4.problem == (f"no revision serves it (its newest, {P4}-00001-bad, failed to become ready): runbook 01 "
                          f"diagnoses the build, runbook 02 redeploys {P4}")
    assert ov.summary == f"phase4: {p4.problem}."
    assert ov.services_table().loc[1, "problem"] == p4.problem


@pytest.fixture
def answering():
    """Loopback servers that each answer every GET with one fixed status, headers and body: answering(status,
    body, headers) -> URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def serve(status: int, body: bytes, headers: dict | None = None) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _p4_at(fake_apis, url: str) -> None:
    from fakes.fixtures import PROJECT

    fake_apis.run_services[f"projects/{PROJECT}/locations/us-west2/services/{P4}"]["uri"] = url


def test_a_health_redirect_is_the_services_answer_not_followed(fake_apis, gcp_services_on, answering):
    """Another host's healthy answer says nothing of this service's code (and the token must not go there)."""
    elsewhere = answering(200, json.dumps({"status": "healthy", "service": P4}).encode())
    _p4_at(fake_apis, answering(302, b"", {"Location": f"{elsewhere}/health"}))
    ov = overview.pipeline_overview(gcp_services_on())
    p4 = ov.phases[1]
    assert (p4.http_status, p4.healthy, p4.right_code) == (302, False, False)
    assert p4.health_said == f"a redirect to {elsewhere}/health, not followed"
    assert ov.verdict == "warn" and ov.summary == f"phase4's /health answered 302, so which code serves {P4} cannot " \
                                                  "be checked."


def test_a_health_body_cannot_say_its_own_http_status(fake_apis, gcp_services_on, answering):
    _p4_at(fake_apis, answering(503, json.dumps({"http_status": 200, "status": "healthy", "service": P4}).encode()))
    ov = overview.pipeline_overview(gcp_services_on())
    assert ov.phases[1].http_status == 503 and ov.verdict == "warn"
    assert ov.summary == f"phase4's /health answered 503, so which code serves {P4} cannot be checked."


def test_a_health_of_json_nested_past_the_parser_is_no_answer_and_only_its_row_says_so(fake_apis, gcp_services_on,
                                                                                      answering):
    _p4_at(fake_apis, answering(200, b"[" * 100_000 + b"]" * 100_000))
    ov = overview.pipeline_overview(gcp_services_on())
    p3, p4 = ov.phases
    assert p3.healthy and p3.right_code and (p4.http_status, p4.reported_service) == (200, None)
    assert ov.verdict == "warn" and ov.summary.startswith("phase4's /health answered 200 but names no service (")


@pytest.mark.parametrize("error", ["unreachable", "denied"])
def test_production_data_that_cannot_be_read_is_a_warning_and_the_services_still_stand(gcp_services_on, monkeypatch,
                                                                                      error):
    from runbook_lib.errors import AccessDenied, CloudUnreachable

    said = {"unreachable": CloudUnreachable("BigQuery at http://x was still unavailable for get_table."),
            "denied": AccessDenied("BigQuery refused tables.get: it takes roles/bigquery.metadataViewer.")}[error]

    def unreadable(target):
        raise said

    tg = gcp_services_on()
    monkeypatch.setattr(overview, "output_tables", unreadable)
    ov = overview.pipeline_overview(tg)
    assert [s.right_code for s in ov.phases] == [True, True] and ov.tables is None
    assert ov.verdict == "warn" and ov.summary == f"production data could not be read, so it is not shown ({str(said)[:-1]})."
    assert ov.details["data_note"] == str(said)


# ---------------------------------------------------------------- production rows, from partitions' metadata


def _tables_target(tmp_path, tables: dict[str, tuple[str, str | None, str]]):
    """A warehouse of one table per entry: ref -> (partition column, partitioning unit or None, rows as SQL)."""
    from types import SimpleNamespace

    from runbook_lib.local.warehouse import LocalWarehouse

    wh = LocalWarehouse(tmp_path / "w.duckdb", project="p")
    wh.create_dataset("out")
    listed = []
    for ref, (column, unit, values) in tables.items():
        if unit == "HOUR":
            wh.execute(f"CREATE TABLE {ref} ({column} TIMESTAMP, who STRING) PARTITION BY TIMESTAMP_TRUNC({column}, HOUR)")
        else:
            wh.create_table(ref, [(column, "DATE"), ("who", "STRING")], partition_column=column if unit else None)
        wh.execute(f"INSERT INTO {ref} VALUES {values}")
        listed.append(SimpleNamespace(ref=ref, partition_column=column))
    return SimpleNamespace(warehouse=wh, phases=SimpleNamespace(all_tables=lambda: listed + [
        SimpleNamespace(ref="out.never_made", partition_column="d")]))


def test_daily_rows_from_partitions_match_a_count_of_every_day(tmp_path):
    """Days, the NULL partition and hours summed into their day, as a GROUP BY of the partition column counts
    them; a table whose partitions are no days (unpartitioned) is counted by the query; a missing one says so."""
    target = _tables_target(tmp_path, {
        "out.daily": ("d", "DAY", "(DATE '2025-12-15', 'a'), (DATE '2025-12-15', 'b'), (DATE '2025-12-17', 'c'), "
                                  "(NULL, 'd')"),
        "out.hourly": ("t", "HOUR", "(TIMESTAMP '2025-12-15 01:00:00+00', 'a'), (TIMESTAMP '2025-12-15 22:00:00+00', "
                                    "'b'), (TIMESTAMP '2025-12-16 00:30:00+00', 'c')"),
        "out.flat": ("d", None, "(DATE '2025-12-15', 'a'), (DATE '2025-12-16', 'b')"),
    })
    summary, daily = overview.output_tables(target)
    by_table = {t: part.reset_index(drop=True) for t, part in daily.groupby("table")}
    assert [str(d) for d in by_table["out.daily"]["day"]] == ["2025-12-15", "2025-12-17", "None"]
    assert list(by_table["out.daily"]["row_count"]) == [2, 1, 1]
    assert [str(d) for d in by_table["out.hourly"]["day"]] == ["2025-12-15", "2025-12-16"]
    assert list(by_table["out.hourly"]["row_count"]) == [2, 1]
    assert list(by_table["out.flat"]["row_count"]) == [1, 1]
    rows = summary.set_index("table")
    assert rows.loc["out.daily", "rows"] == 4 and rows.loc["out.daily", "partitions"] == 3
    assert str(rows.loc["out.daily", "latest"]) == "2025-12-17"
    assert rows.loc["out.never_made", "note"] == "missing"


def test_rows_in_no_days_partition_are_counted_and_said(tmp_path):
    """BigQuery keeps rows of days outside 1960-2159 (and the streaming buffer) in __UNPARTITIONED__."""
    target = _tables_target(tmp_path, {"out.daily": ("d", "DAY", "(DATE '2025-12-15', 'a'), (DATE '1900-01-01', 'b')")})
    summary, daily = overview.output_tables(target)
    row = summary.set_index("table").loc["out.daily"]
    assert row["rows"] == 2 and list(daily["row_count"]) == [1]
    assert row["note"].startswith("1 rows in no day's partition")


def test_a_table_the_counting_query_is_refused_for_is_a_note_and_the_others_still_count(tmp_path, monkeypatch):
    target = _tables_target(tmp_path, {"out.flat": ("d", None, "(DATE '2025-12-15', 'a')"),
                                       "out.daily": ("d", "DAY", "(DATE '2025-12-15', 'a')")})
    from runbook_lib.errors import WarehouseQueryError

    query = target.warehouse.query

    def refused(sql, params=None):   # (the partitions' metadata is read by a query too)
        if "COUNT(*)" in sql:
            raise WarehouseQueryError("Cannot query over table 'p.out.flat' without a filter over column(s) 'd'")
        return query(sql, params)
    monkeypatch.setattr(target.warehouse, "query", refused)
    summary, _ = overview.output_tables(target)
    rows = summary.set_index("table")
    assert rows.loc["out.flat", "note"].startswith("could not be counted: Cannot query over table")
    assert rows.loc["out.daily", "rows"] == 1


def test_a_table_not_partitioned_by_days_is_counted_by_utc_day_and_sentinel_dates_are_said_not_drawn(tmp_path):
    """/work/probes/timezones findings 1 and 4: a TIMESTAMP column's rows are counted per UTC day (not per
    instant), and a 9999-12-31 or 0001-01-01 row is counted, said, and left out of the chart, whose date axis
    could not reach it (matplotlib raised ValueError and runbook 00 ended in error)."""
    target = _tables_target(tmp_path, {"out.flat": ("d", None, "(DATE '2025-12-15', 'a'), (DATE '9999-12-31', 'b'), "
                                                              "(DATE '0001-01-01', 'c'), (NULL, 'd')")})
    wh = target.warehouse
    wh.execute("CREATE TABLE out.monthly (t TIMESTAMP, who STRING) PARTITION BY TIMESTAMP_TRUNC(t, MONTH)")
    wh.execute("INSERT INTO out.monthly VALUES (TIMESTAMP '2025-12-15 01:00:00+00', 'a'), "
               "(TIMESTAMP '2025-12-15 02:00:00+00', 'b'), (TIMESTAMP '2025-12-15 23:30:00-08', 'c')")
    from types import SimpleNamespace
    listed = target.phases.all_tables()[:1] + [SimpleNamespace(ref="out.monthly", partition_column="t")]
    target.phases.all_tables = lambda: listed
    summary, daily = overview.output_tables(target)
    rows = summary.set_index("table")
    monthly = daily[daily["table"] == "out.monthly"]
    assert [str(d) for d in monthly["day"]] == ["2025-12-15", "2025-12-16"] and list(monthly["row_count"]) == [2, 1]
    assert rows.loc["out.monthly", "partitions"] == 2 and str(rows.loc["out.monthly", "latest"]) == "2025-12-16"
    assert rows.loc["out.flat", "rows"] == 4 and rows.loc["out.flat", "note"] == \
        "2 rows dated outside 1960-2159 (not charted)"
    fig = overview.daily_rows_chart(SimpleNamespace(daily_rows=daily))
    fig.canvas.draw()   # drawing is where an axis past year 9999 raised
    assert sorted(line.get_label() for line in fig.axes[0].get_lines()) == ["out.flat", "out.monthly"]


def test_the_rows_chart_of_many_tables_draws_the_most_stale_ones_and_says_how_many_are_left_out():
    """206 tables drew 206 lines in 10 colours and a legend running off the saved image, naming none."""
    from datetime import date, timedelta
    from types import SimpleNamespace

    import pandas as pd

    tables = [f"nba_p{n:03d}.output" for n in range(206)]
    # table n's latest day is n days before the newest: the first CHARTED_TABLES are the stale ones
    frame = pd.DataFrame([{"table": t, "day": date(2025, 12, 31) - timedelta(days=206 - n + k), "row_count": 10 + k}
                          for n, t in enumerate(tables) for k in range(3)])
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = overview.daily_rows_chart(SimpleNamespace(daily_rows=frame))
    FigureCanvasAgg(fig).draw()   # as the report's PNG is drawn
    lines = fig.axes[0].get_lines()
    assert sorted(line.get_label() for line in lines) == tables[:overview.CHARTED_TABLES]
    assert len({line.get_color() for line in lines}) == overview.CHARTED_TABLES     # no two alike
    assert "(the 12 tables whose latest day is oldest, of 206; the table above lists all)" in fig.axes[0].get_title()
    width, height = fig.bbox.width, fig.bbox.height
    renderer = fig.canvas.get_renderer()
    for text in fig.axes[0].get_legend().get_texts():   # every name the chart gives is on the saved image
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, text.get_text()
    few = overview.daily_rows_chart(SimpleNamespace(daily_rows=frame[frame["table"].isin(tables[:6])]))
    assert few.axes[0].get_title() == "Production rows per partition date" and len(few.axes[0].get_lines()) == 6


def _images(fake_apis, service: str, images: dict[str, tuple[str, str]], sidecar: bool = False) -> None:
    """Each named revision's ingress container image and the digest Cloud Run resolved it to (behind a sidecar)."""
    from fakes.fixtures import PROJECT

    for revision in fake_apis.run_revisions[f"projects/{PROJECT}/locations/us-west2/services/{service}"]:
        image, digest = images[revision["name"].rsplit("/", 1)[-1]]
        revision["containers"] = [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]
        revision["containerStatuses"] = [{"name": "app", "imageDigest": digest}]
        if sidecar:
            revision["containers"].insert(0, {"name": "otel", "image": "otel/opentelemetry-collector:0.98"})
            revision["containerStatuses"].insert(0, {"name": "otel", "imageDigest": "sha256:" + "0" * 64})


def test_a_split_over_one_tag_resolved_to_two_digests_is_two_images_and_blocks_the_replay(fake_apis, gcp_services_on):
    """Two builds behind one moving tag (the incident's other Dockerfile, same commit): the text is one, the code
    maybe not; the sidecar listed first is the same in both and says nothing."""
    from runbook_lib.replay import check_capability

    tag = f"us-west2-docker.pkg.dev/p/cloud-run-source-deploy/{P4}:latest"
    _cloud_run(fake_apis, P4, [(f"{P4}-00031-can", NEW), (f"{P4}-00030-new", NEW)],
               {f"{P4}-00031-can": 50, f"{P4}-00030-new": 50})
    _images(fake_apis, P4, {f"{P4}-00031-can": (tag, "sha256:" + "a" * 64),
                            f"{P4}-00030-new": (tag, "sha256:" + "b" * 64)}, sidecar=True)
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    p4 = {s.phase: s for s in ov.phases}["phase4"]
    assert [r.image for r in p4.serving] == [tag, tag] and not p4.right_code and ov.verdict == "warn"
    assert (f"another image than {P4}-00031-can's ({tag} named two builds: {P4}-00031-can sha256:aaaaaaaaaaaa and "
            f"{P4}-00030-new sha256:bbbbbbbbbbbb), whose code") in ov.summary
    assert not check_capability(tg, ["phase4"]).ready


def test_one_digest_named_by_tag_and_by_digest_in_two_registries_is_one_image(fake_apis, gcp_services_on):
    from runbook_lib.replay import check_capability

    digest = "sha256:" + "a" * 64
    _cloud_run(fake_apis, P4, [(f"{P4}-00031-can", NEW), (f"{P4}-00030-new", NEW)],
               {f"{P4}-00031-can": 50, f"{P4}-00030-new": 50})
    _images(fake_apis, P4, {f"{P4}-00031-can": (f"us-west2-docker.pkg.dev/p/r/{P4}:latest", digest),
                            f"{P4}-00030-new": (f"gcr.io/p/{P4}@{digest}", f"gcr.io/p/{P4}@{digest}")})
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    assert ov.verdict == "pass" and {s.phase: s for s in ov.phases}["phase4"].right_code, ov.summary
    assert check_capability(tg, ["phase4"]).ready


# ---------------------------------------------------------------- what the page says on gcp (probe overview_gcp)

def test_a_health_refused_without_a_token_says_why_none_was_minted_and_with_one_names_the_invoker_role(
        fake_apis, gcp_services_on, monkeypatch):
    """/work/probes/overview_gcp finding 4: with no identity token to send, /health's 403 read as the service's
    IAM; the sentence that says what to do on this machine (install gcloud) was dropped."""
    from runbook_lib.gcp import services as gcp_services
    from runbook_lib.replay import check_capability

    why = "Could not mint an identity token, as gcloud is not on PATH; install the gcloud CLI."

    def no_token(self, principal=None, phase=None):
        raise RunbookError(why)

    monkeypatch.setattr(gcp_services.GcpServices, "identity_token", no_token)
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    p3, p4 = ov.phases
    assert (p3.http_status, p3.token_error) == (403, why)
    said = (f"phase3's /health answered 403 to a call without an identity token, so which code serves {P3} cannot "
            f"be checked: could not mint an identity token, as gcloud is not on PATH; install the gcloud CLI")
    assert ov.verdict == "warn" and said in ov.summary
    assert check_capability(tg, ["phase3"]).phases[0].problem == said
    # a token sent, and refused: the caller lacks the role the README's table names for /health
    monkeypatch.setattr(gcp_services.GcpServices, "identity_token", lambda self, principal=None, phase=None: GCP_TOKEN)
    fake_apis.identity_tokens[GCP_TOKEN] = "user:someone-else@example.com"
    ov = overview.pipeline_overview(gcp_services_on())
    assert ov.phases[1].token_error == ""
    assert (f"phase4's /health answered 403 to the identity token sent, so which code serves {P4} cannot be "
            f"checked: the caller needs roles/run.invoker on {P4}") in ov.summary


def _git_checkout(path: Path) -> list[str]:
    """A pipeline checkout of two commits; their short ids, oldest first."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(path), "-c", "user.email=a@b", "-c", "user.name=a", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    path.mkdir()
    git("init", "-q")
    for message in ("prefix", "new"):
        git("commit", "-q", "--allow-empty", "-m", message)
    return [git("rev-parse", "--short=7", "HEAD~1"), git("rev-parse", "--short=7", "HEAD")]


def test_why_dataset_prefix_support_cannot_be_told_is_said_for_each_reason(fake_apis, gcp_services_on, tmp_path):
    """/work/probes/overview_gcp finding 5: no commit-sha label, no source_dir, and a commit the checkout has not
    fetched all said "give source_dir", the advice an operator who gave it had already followed."""
    from fakes.fixtures import PROJECT
    from runbook_lib.phases import DEFAULT_PHASES_FILE
    from runbook_lib.replay import check_capability

    checkout = tmp_path / "pipeline checkout"
    prefix, new = _git_checkout(checkout)
    phases_file = tmp_path / "phases.yaml"
    phases_file.write_text(DEFAULT_PHASES_FILE.read_text().replace(PREFIX, prefix))
    gcp_services_on()   # (the services, and git's answers where the checkout has both commits)

    def sentence(label: str, **options) -> str:
        _cloud_run(fake_apis, P4, [(f"{P4}-00030-new", label)], {f"{P4}-00030-new": 100})
        with connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint}, phases_file=str(phases_file),
                     **options) as tg:
            ov = overview.pipeline_overview(tg)
            capable = check_capability(tg, ["phase4"])
        said = [s for s in ov.summary.rstrip(".").split("; ") if s.startswith("whether phase4's")]
        assert said == [capable.phases[0].problem], ov.summary   # runbook 03's readiness says the same
        return said[0]

    asked = f"contains dataset_prefix support ({prefix}) cannot be told: "
    assert sentence("", source_dir=str(checkout)) == \
        f"whether phase4's {P4}-00030-new {asked}it has no commit-sha label (runbook 02 deploys with one)"
    assert sentence("9abcdef") == f"whether phase4's 9abcdef {asked}give source_dir, a checkout of the pipeline"
    assert sentence("9abcdef", source_dir=str(checkout)) == \
        f"whether phase4's 9abcdef {asked}9abcdef is not in {checkout}: git -C '{checkout}' fetch"
    assert sentence("9abcdef", source_dir=str(tmp_path)) == (
        f"whether phase4's 9abcdef {asked}{tmp_path} is not a git checkout (it has no .git): give source_dir, a "
        f"checkout of the pipeline")


@pytest.mark.parametrize("ingress, reach", [
    ("INGRESS_TRAFFIC_INTERNAL_ONLY", "its ingress is internal, so /health cannot be reached from outside the VPC "
                                      "(run the overview from inside the VPC)"),
    ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
     "its ingress is internal-and-cloud-load-balancing, so /health cannot be reached from outside the VPC (run the "
     "overview from inside the VPC or through its Cloud load balancer)")])
def test_a_service_this_machine_cannot_reach_is_said_for_its_ingress_not_a_bare_404(
        fake_apis, gcp_services_on, silent_url, monkeypatch, ingress, reach):
    """/work/probes/overview_gcp finding 6: Cloud Run answers a call from outside the VPC to an internal service
    with its 404 page (the fake answered it); the page said only "/health answered 404", which reads as a service
    without the /health route, i.e. another code."""
    import requests

    from fakes.fixtures import PROJECT
    from runbook_lib.replay import check_capability

    name = f"projects/{PROJECT}/locations/us-west2/services/{P4}"
    fake_apis.run_services[name]["ingress"] = ingress
    refused = requests.get(f"{fake_apis.endpoint}/svc/{P4}/health", headers={"Authorization": f"Bearer {GCP_TOKEN}"},
                           timeout=10)
    assert refused.status_code == 404 and "<title>404 Page not found</title>" in refused.text
    tg = gcp_services_on()
    ov = overview.pipeline_overview(tg)
    said = f"phase4's /health answered 404 here, so which code serves {P4} cannot be checked: {reach}"
    assert ov.phases[1].ingress != "all" and ov.verdict == "warn" and ov.summary == f"{said}."
    assert check_capability(tg, ["phase4"]).phases[0].problem == said
    # no answer at all from here: the ingress is why, said after what the call got
    monkeypatch.setattr(overview, "HEALTH_TIMEOUT_S", 0.3)
    fake_apis.run_services[name]["uri"] = silent_url
    p4 = overview.pipeline_overview(gcp_services_on()).phases[1]
    assert p4.problem == (f"/health could not be read: GET {silent_url}/health got no answer within 0.3s (the "
                          f"service may still be working on it), as {reach}")


def test_a_service_not_found_in_the_project_given_names_where_project_and_region_came_from(fake_apis,
                                                                                          gcp_services_on):
    """/work/probes/overview_gcp finding 3 (also seen): with `project` given, "check project and region in
    phases.yaml" sent the operator to a file that did not set the project."""
    gcp_services_on()
    with connect("gcp", project="other-proj-1", endpoints={"run": fake_apis.endpoint}) as tg:
        ov = overview.pipeline_overview(tg)
    assert [s.problem for s in ov.phases] == [
        f"its service could not be read: Cloud Run service {service} was not found in project other-proj-1 (the "
        f"project parameter) and region us-west2 (phases.yaml): check both" for service in (P3, P4)]


def test_a_missing_production_table_is_summarised_as_missing_apart_from_tables_without_rows(gcp_services_on,
                                                                                             monkeypatch):
    """/work/probes/overview_gcp finding 7: a table that is gone (a restore) read as one without rows (a backfill)."""
    import pandas as pd

    tg = gcp_services_on()
    monkeypatch.setattr(overview, "output_tables", lambda target: (pd.DataFrame([
        {"table": "nba_analytics.player_game_summary", "rows": 10, "partitions": 1, "latest": None, "note": ""},
        {"table": "nba_precompute.team_defense_zone_analysis", "rows": 0, "partitions": 0, "latest": None,
         "note": "missing"},
        {"table": "nba_precompute.player_daily_cache", "rows": 0, "partitions": 0, "latest": None, "note": ""}]),
        pd.DataFrame(columns=["day", "row_count", "table"])))
    ov = overview.pipeline_overview(tg)
    assert ov.verdict == "warn" and ov.summary == (
        "production tables missing: nba_precompute.team_defense_zone_analysis; production tables without rows: "
        "nba_precompute.player_daily_cache.")
