"""The loopback phase services: Cloud Run's auth in front, the real endpoints, request logs."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from datetime import datetime, timezone

import pytest

from runbook_lib.errors import AccessDenied, ParameterError
from runbook_lib.local.home import sandbox_home as home_at
from runbook_lib.local.logs import LocalLogs, append_request_logs, request_log_path
from runbook_lib.local.identity import make_token
from runbook_lib.local.processes import is_our_process, read_run_file, run_file, terminate
from runbook_lib.local.services import ANONYMOUS, LocalServices
from runbook_lib.local.state import read_state
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import load_phases
from runbook_lib.target import connect

from local_helpers import state_changed

STRANGER = "user:stranger@example.com"
PUBSUB = "serviceAccount:pubsub-push@nba-props-platform.iam.gserviceaccount.com"


def _count(warehouse_path, ref: str, where: str = "TRUE") -> int:
    return int(LocalWarehouse(warehouse_path).query(f"SELECT COUNT(*) AS n FROM `{ref}` WHERE {where}")["n"].iloc[0])


def _schemas(warehouse_path) -> set[str]:
    return set(LocalWarehouse(warehouse_path).list_datasets())


@pytest.fixture(scope="module")
def scratch(seeded_sandbox):
    """A private sandbox for tests that change IAM, deploy revisions or write datasets."""
    from runbook_lib.local.sandbox import stop_sandbox

    root = seeded_sandbox(0.3, "scratch-sandbox")
    target = connect("local", home=root)
    # The incident left Phase 3 serving Phase 4's code (the Dockerfile race); redeploy it with its own
    # code first, as the morning's fix does, so Phase 3's endpoint can be exercised here.
    served = target.services.describe("phase3")
    target.services.deploy_revision("phase3", served.commit_sha, served.image, True, code_phase="phase3")
    yield target
    target.close()
    stop_sandbox(root)


# ---------------------------------------------------------------- health and auth


def test_health_names_the_code_it_runs_and_its_commit(local_target):
    """On the incident morning Phase 3 runs Phase 4's code, and /health says so."""
    codes = {}
    for info in local_target.services.list():
        body = local_target.services.health(info.phase, token=local_target.services.identity_token())
        codes[info.phase] = info.code_phase
        assert body == {"http_status": 200, "status": "healthy",
                        "service": local_target.phases.get(info.code_phase).service_identity,
                        "commit_sha": info.commit_sha_full}   # what the sandbox's app reports: the full id
        assert info.commit_sha == info.commit_sha_full[:7]    # the revision's commit-sha label
    assert codes == {"phase3": "phase4", "phase4": "phase4"}
    # phase= (Cloud Run's audience) is accepted for parity with the gcp target
    token = local_target.services.identity_token(phase="phase4")
    assert local_target.services.health("phase4", token=token)["http_status"] == 200
    assert local_target.services.health("phase4")["http_status"] == 403  # no token: like curl without one


def test_auth_matrix_like_cloud_run(local_target, sandbox_home):
    services = local_target.services
    key = read_state(home_at(sandbox_home))["token_key"]
    cases = {
        "no token": (None, 403),
        "empty token": ("", 403),
        "not a bearer token": ("Basic dXNlcjpwYXNz", 401),
        "malformed token": ("not-a-jwt", 401),
        "forged signature": (make_token("another-key", "user:operator@sandbox.local"), 401),
        "expired": (make_token(key, "user:operator@sandbox.local", now=time.time() - 7200), 401),
        # Phase 4 still has allAuthenticatedUsers (the night's fix removed only allUsers): any valid token.
        "valid token, no run.invoker": (services.identity_token(STRANGER), {"phase3": 403, "phase4": 200}),
        "operator": (services.identity_token(), 200),
        "pubsub push service account": (services.identity_token(PUBSUB), 200),
    }
    for label, (token, expecting) in cases.items():
        for phase in ("phase3", "phase4"):
            expected = expecting[phase] if isinstance(expecting, dict) else expecting
            headers = {"Authorization": token} if token and token.startswith("Basic") else None
            response = services.request(phase, "GET", "/health", token=None if headers else token, headers=headers)
            assert response.status == expected, (label, phase, response.body)
            if expected in (401, 403):
                assert "permission" in response.body["error"] and "/health" in response.body["error"]
    # auth sits in front of every path, so even an unknown path answers 403 without a token
    assert services.request("phase3", "GET", "/.env", token=ANONYMOUS).status == 403
    assert services.request("phase3", "GET", "/.env", token=services.identity_token()).status == 404


def test_the_invoker_check_honours_grants_on_the_project_and_above(sandbox_home):
    """Cloud Run admits a caller granted an invoke role on the service's project, folder or organisation: the
    sandbox's check (identity.admits / authorize) does too, given the policies the services inherit."""
    from runbook_lib.local.identity import admits, authorize, inherited_policies

    state = read_state(home_at(sandbox_home))
    service = state["services"]["phase3"]["iam_policy"]
    analyst = "user:analyst@example.com"
    granted = {"bindings": [{"role": "roles/run.invoker", "members": [analyst]}]}
    assert not admits(service, analyst)
    assert admits(service, analyst, inherited=[granted])
    assert not admits(service, STRANGER, inherited=[granted]) and not admits(service, None, inherited=[granted])
    token = f"Bearer {make_token(state['token_key'], analyst)}"
    assert authorize(service, state["token_key"], token)[0] == 403
    assert authorize(service, state["token_key"], token, inherited=[granted]) == (200, analyst)
    # what the sandbox's services inherit: the project's policy, then its folder's and organisation's
    inherited = inherited_policies(state)
    assert inherited == [state["project_iam_policy"]] + [a["iam_policy"] for a in state["project_ancestry"]]
    # the default compute service account is an editor of the project: roles/editor carries run.routes.invoke
    compute = "serviceAccount:756957797294-compute@developer.gserviceaccount.com"
    assert not admits(service, compute) and admits(service, compute, inherited=inherited)
    state["project_ancestry"][1]["iam_policy"]["bindings"].append({"role": "roles/run.invoker",
                                                                   "members": ["allUsers"]})
    assert admits(service, None, inherited=inherited_policies(state))


def test_the_sandbox_refuses_to_read_a_folder_that_is_not_above_its_project(local_target):
    from runbook_lib.errors import AccessDenied

    assert local_target.services.project_ancestors() == ["folders/290611488015", "organizations/418329165803"]
    with pytest.raises(AccessDenied, match="folders/1 above its project"):
        local_target.services.ancestor_iam_policy("folders/1")
    with pytest.raises(ParameterError, match="resource"):
        local_target.services.ancestor_iam_policy("folders/../projects/p")


def test_a_caller_granted_on_the_project_or_above_gets_through_the_sandboxs_services(scratch):
    # the services' own check (service_app.py) and identity_token's impersonation check read the grants the
    # services inherit, as Cloud Run's IAM check does: before, only each service's own policy counted
    services = scratch.services
    analyst, stranger = "user:analyst@example.com", STRANGER
    assert services.health("phase3", token=services.identity_token(analyst))["http_status"] == 403

    def grant(state):
        state["project_iam_policy"]["bindings"].append({"role": "roles/run.invoker", "members": [analyst]})
        state["project_ancestry"][-1]["iam_policy"]["bindings"].append(
            {"role": "roles/run.developer", "members": ["group:runners@example.com"]})

    with state_changed(services.home.root, grant):
        assert services.health("phase3", token=services.identity_token(analyst))["http_status"] == 200
        assert services.identity_token(analyst, phase="phase3")   # impersonating it may invoke the phase
        assert services.health("phase3", token=services.identity_token(stranger))["http_status"] == 403
        with pytest.raises(AccessDenied, match="on the service or above it"):
            services.identity_token(stranger, phase="phase3")
    assert services.health("phase3", token=services.identity_token(analyst))["http_status"] == 403


def test_identity_token_rejects_a_bad_principal(local_target):
    for bad in ("operator@sandbox.local", "allUsers", "user:", 42):
        with pytest.raises(ParameterError, match="principal"):
            local_target.services.identity_token(bad)


def test_all_users_makes_a_service_public_and_removing_it_locks_it_again(scratch):
    services = scratch.services
    # The incident morning: Phase 4 is public through allAuthenticatedUsers; the audit's fix removes it.
    morning = services.iam_policy("phase4")
    assert services.describe("phase4").public is True
    assert services.health("phase4", token=services.identity_token(STRANGER))["http_status"] == 200
    fixed = [{"role": b["role"], "members": [m for m in b["members"] if m != "allAuthenticatedUsers"]}
             for b in morning["bindings"]]
    before = services.set_iam_policy("phase4", {"bindings": fixed, "etag": morning["etag"]})
    assert services.describe("phase4").public is False
    assert services.health("phase4", token=services.identity_token(STRANGER))["http_status"] == 403
    assert services.health("phase4", token=ANONYMOUS)["http_status"] == 403
    public = {"bindings": [{"role": "roles/run.invoker", "members": before["bindings"][0]["members"] + ["allUsers"]}],
              "etag": before["etag"]}
    after = services.set_iam_policy("phase4", public)
    assert after["etag"] != before["etag"]
    assert services.describe("phase4").public is True
    assert services.health("phase4", token=ANONYMOUS)["http_status"] == 200
    assert services.health("phase3", token=ANONYMOUS)["http_status"] == 403  # the other service is untouched
    with pytest.raises(ParameterError, match="etag"):
        services.set_iam_policy("phase4", {"bindings": before["bindings"], "etag": before["etag"]})
    services.set_iam_policy("phase4", {"bindings": before["bindings"]})
    assert services.health("phase4", token=ANONYMOUS)["http_status"] == 403
    assert services.iam_policy("phase4")["etag"] == before["etag"]
    # allAuthenticatedUsers: any valid token, but still not none
    services.set_iam_policy("phase3", {"bindings": [{"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}]})
    assert services.describe("phase3").public is True
    assert services.health("phase3", token=services.identity_token(STRANGER))["http_status"] == 200
    assert services.health("phase3", token=ANONYMOUS)["http_status"] == 403
    services.set_iam_policy("phase3", {"bindings": before["bindings"]})
    # --no-invoker-iam-check: public whatever the policy says
    assert services.set_invoker_iam_check("phase3", False).public is True
    assert services.health("phase3", token=ANONYMOUS)["http_status"] == 200
    assert services.set_invoker_iam_check("phase3", True).public is False
    assert services.health("phase3", token=ANONYMOUS)["http_status"] == 403
    with pytest.raises(ParameterError):
        services.set_invoker_iam_check("phase3", "no")


def test_set_iam_policy_rejects_bad_policies_before_changing_anything(scratch):
    services = scratch.services
    before = services.iam_policy("phase3")
    bad = [
        {"bindings": [{"role": "run.invoker", "members": ["allUsers"]}]},
        {"bindings": [{"role": "roles/run.invoker", "members": ["everyone"]}]},
        {"bindings": [{"role": "roles/run.invoker", "members": []}]},
        {"bindings": [], "owner": "me"},
        ["allUsers"],
    ]
    for policy in bad:
        with pytest.raises(ParameterError):
            services.set_iam_policy("phase3", policy)
    assert services.iam_policy("phase3") == before


# ---------------------------------------------------------------- endpoints and payloads


def test_each_phase_serves_only_its_own_endpoint(scratch):
    services = scratch.services
    op = services.identity_token()
    assert services.request("phase4", "POST", "/process-date-range", {"start_date": "2025-12-15",
                                                                     "end_date": "2025-12-15"}, token=op).status == 404
    assert services.request("phase3", "POST", "/process-date", {"analysis_date": "2025-12-15"}, token=op).status == 404
    assert services.request("phase3", "GET", "/process-date-range", token=op).status == 405
    assert services.request("phase4", "GET", "/process-date", token=op).status == 405
    assert services.request("phase4", "POST", "/health", {}, token=op).status == 405


@pytest.mark.parametrize("phase,payload,words", [
    ("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-16", "dataset": "test"}, "Unknown field 'dataset'"),
    ("phase3", {"start_date": "2025-12-15"}, "Missing required field 'end_date'"),
    ("phase3", {"start_date": "2025-13-01", "end_date": "2025-12-16"}, "start_date"),
    ("phase3", {"start_date": "12/15/2025", "end_date": "2025-12-16"}, "YYYY-MM-DD"),
    ("phase3", {"start_date": "2025-12-16", "end_date": "2025-12-15"}, "before start_date"),
    ("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-15", "backfill_mode": "yes"}, "true or false"),
    ("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-15", "processors": ["nope"]}, "processors"),
    ("phase4", {"analysis_date": "2025-12-15", "start_date": "2025-12-15"}, "Unknown field 'start_date'"),
    ("phase4", {"analysis_date": "tomorrow"}, "analysis_date"),
    ("phase4", {"analysis_date": "2025-12-15", "strict_mode": 1}, "strict_mode"),
    ("phase4", {"analysis_date": "2025-12-15", "dataset_prefix": 5}, "dataset_prefix"),
])
def test_bad_payloads_get_400_with_one_sentence(scratch, phase, payload, words):
    response = scratch.services.invoke(phase, payload, token=scratch.services.identity_token())
    assert response.status == 400
    message = response.body["error"]
    assert words in message and message.endswith(".") and "\n" not in message


def test_a_body_that_is_not_a_json_object_is_400(scratch):
    response = scratch.services.request("phase3", "POST", "/process-date-range", ["2025-12-15"],
                                        token=scratch.services.identity_token())
    assert response.status == 400 and "JSON object" in response.body["error"]


def test_phase3_head_honours_the_prefix(scratch):
    warehouse = scratch.options["warehouse_path"]
    production = _count(warehouse, "nba_analytics.player_game_summary")
    response = scratch.services.invoke("phase3", {"start_date": "2025-12-16", "end_date": "2025-12-16",
                                                  "processors": [], "backfill_mode": True, "dataset_prefix": "test"},
                                       token=scratch.services.identity_token())
    assert response.status == 200, response.body
    run = response.body["run"]
    assert run["prefix_applied"] is True and run["datasets_written"] == ["test_nba_analytics"]
    assert response.body["service"] == "nba-phase3-analytics-processors"
    assert _count(warehouse, "test_nba_analytics.player_game_summary") == \
        _count(warehouse, "nba_analytics.player_game_summary", "game_date = '2025-12-16'") > 0
    assert _count(warehouse, "nba_analytics.player_game_summary") == production


def test_phase4_old_revision_ignores_the_prefix_and_writes_production(scratch):
    warehouse = scratch.options["warehouse_path"]
    info = scratch.services.describe("phase4")
    assert info.revision.endswith("-00029-fdx") and info.supports_prefix is False
    history = _count(warehouse, "nba_reference.processor_run_history", "target_dataset = 'nba_precompute'")
    response = scratch.services.invoke("phase4", {"analysis_date": "2025-12-17", "processors": ["player_daily_cache"],
                                                  "backfill_mode": False, "strict_mode": True,
                                                  "skip_dependency_check": False, "dataset_prefix": "test"},
                                       token=scratch.services.identity_token())
    assert response.status == 200, response.body
    run = response.body["run"]
    assert run["dataset_prefix"] == "test" and run["prefix_applied"] is False
    assert run["datasets_written"] == ["nba_precompute"]           # production!
    assert "test_nba_precompute" not in _schemas(warehouse)
    assert response.body["commit_sha"] == info.commit_sha_full
    assert _count(warehouse, "nba_reference.processor_run_history",
                  f"target_dataset = 'nba_precompute' AND commit_sha = '{info.commit_sha_full}'") > 0
    assert _count(warehouse, "nba_reference.processor_run_history", "target_dataset = 'nba_precompute'") > history


def test_deploy_revision_moves_traffic_and_restarts_on_the_new_code(scratch):
    services = scratch.services
    state = read_state(home_at(scratch.options["home"]))
    prefix_commit = state["source"]["commits"]["prefix_support"]
    old = services.ensure_running("phase4")[0]
    info = services.deploy_revision("phase4", prefix_commit, "us-west2-docker.pkg.dev/p/r/img@sha256:" + "a" * 64,
                                    supports_prefix=True)
    assert info.revision.startswith("nba-phase4-precompute-processors-00030-")
    assert info.running and info.pid != old.pid and not is_our_process(old.pid)
    assert info.commit_sha_full == prefix_commit and info.commit_sha == prefix_commit[:7]
    assert info.supports_prefix is True
    revisions = services.list_revisions("phase4")
    assert revisions[0].name == info.revision and revisions[0].traffic_percent == 100
    assert revisions[0].labels == {"commit-sha": prefix_commit[:7]} and revisions[0].commit_sha == prefix_commit[:7]
    assert revisions[0].commit_sha_full == prefix_commit
    assert [r.traffic_percent for r in revisions[1:]] == [0] * (len(revisions) - 1)
    op = services.identity_token()
    assert services.health("phase4", token=op)["commit_sha"] == prefix_commit
    response = services.invoke("phase4", {"analysis_date": "2025-12-17", "dataset_prefix": "test"}, token=op)
    assert response.status == 200 and response.body["run"]["datasets_written"] == ["test_nba_precompute"]
    for bad in ({"commit": "xyz"}, {"image": ""}, {"supports_prefix": "yes"}):
        args = {"commit": prefix_commit, "image": "img", "supports_prefix": True, **bad}
        with pytest.raises(ParameterError):
            services.deploy_revision("phase4", **args)
    assert services.list_revisions("phase4")[0].name == info.revision


def test_a_dockerfile_mixup_revision_names_the_other_service(scratch):
    services = scratch.services
    head = read_state(home_at(scratch.options["home"]))["source"]["commits"]["head"]
    op = services.identity_token()
    info = services.deploy_revision("phase3", head, "img@sha256:" + "b" * 64, True, code_phase="phase4")
    assert info.code_phase == "phase4"
    assert services.health("phase3", token=op)["service"] == "nba-phase4-precompute-processors"
    assert services.invoke("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-15"}, token=op).status == 404
    services.deploy_revision("phase3", head, "img@sha256:" + "c" * 64, True)
    assert services.health("phase3", token=op)["service"] == "nba-phase3-analytics-processors"


def test_pubsub_push_without_token_is_403_and_with_one_runs_the_date(scratch):
    services = scratch.services
    envelope = {"message": {"data": base64.b64encode(json.dumps({"game_date": "2025-12-15"}).encode()).decode(),
                            "messageId": "1"}, "subscription": "projects/p/subscriptions/phase3"}
    agent = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
    assert services.request("phase3", "POST", "/process", envelope, token=ANONYMOUS, user_agent=agent).status == 403
    response = services.request("phase3", "POST", "/process", envelope, token=services.identity_token(PUBSUB),
                                user_agent=agent)
    assert response.status == 200 and response.body["run"]["request"]["start_date"] == "2025-12-15"
    assert services.request("phase3", "POST", "/process", {"message": {}}, token=services.identity_token()).status == 400


# ---------------------------------------------------------------- request logs


def test_every_request_is_logged_in_cloud_run_shape(local_target):
    since = datetime.now(timezone.utc)
    services = local_target.services
    services.request("phase4", "GET", "/health", token=ANONYMOUS, user_agent="zgrab/0.x", remote_ip="45.148.10.174")
    services.request("phase4", "GET", "/health", token=services.identity_token(),
                     headers={"X-Cloud-Trace-Context": "0af7651916cd43dd8448eb211c80319c/1;o=1"})
    services.invoke("phase4", {"analysis_date": "nope"}, token=services.identity_token())
    entries = local_target.logs.request_logs(service="phase4", since=since)[::-1]   # newest first: reverse
    assert [e["httpRequest"]["status"] for e in entries] == [403, 200, 400]
    assert [e["severity"] for e in entries] == ["WARNING", "INFO", "WARNING"]
    first = entries[0]
    assert first["logName"] == "projects/nba-props-platform/logs/run.googleapis.com%2Frequests"
    info = services.describe("phase4")
    assert first["resource"] == {"type": "cloud_run_revision", "labels": {
        "service_name": info.service, "revision_name": info.revision, "location": "us-west2",
        "project_id": "nba-props-platform", "configuration_name": info.service}}
    http = first["httpRequest"]
    assert http["requestMethod"] == "GET" and http["requestUrl"].endswith("/health")
    assert http["remoteIp"] == "45.148.10.174" and http["userAgent"] == "zgrab/0.x"
    assert http["latency"].endswith("s") and float(http["latency"][:-1]) >= 0 and int(http["responseSize"]) > 0
    assert entries[1]["httpRequest"]["remoteIp"] == "127.0.0.1"
    assert entries[1]["trace"] == "projects/nba-props-platform/traces/0af7651916cd43dd8448eb211c80319c"
    assert "trace" not in entries[0]
    assert datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")) >= since
    # filters
    assert [e["httpRequest"]["status"] for e in local_target.logs.request_logs(
        service="nba-phase4-precompute-processors", since=since, status="4xx")] == [400, 403]
    assert local_target.logs.request_logs(service="4", since=since, status=[200])[0]["httpRequest"]["status"] == 200
    newest = local_target.logs.request_logs(service="phase4", since=since, limit=1)
    assert [e["httpRequest"]["status"] for e in newest] == [400]


def test_request_logs_reject_bad_filters(local_target):
    logs = local_target.logs
    for kwargs in ({"status": "forbidden"}, {"status": 99}, {"since": "yesterday"}, {"limit": 0},
                   {"service": "phase9"}, {"since": "2025-12-31", "until": "2025-12-30"}):
        with pytest.raises(ParameterError):
            logs.request_logs(**kwargs)


def test_a_torn_last_line_is_skipped(tmp_path):
    home = home_at(tmp_path).ensure()
    path = request_log_path(home)
    entry = {"timestamp": "2025-12-31T01:00:00.000000Z",
             "resource": {"labels": {"service_name": "nba-phase4-precompute-processors", "location": "us-west2"}},
             "httpRequest": {"status": 403}}
    append_request_logs(path, [entry, {**entry, "timestamp": "2025-12-31T00:59:00.000000Z"}])
    with open(path, "ab") as fh:
        fh.write(b'{"timestamp": "2025-12-31T02:00:00Z", "httpRe')
    logs = LocalLogs(home, load_phases())
    assert [e["timestamp"][11:16] for e in logs.request_logs(until="2025-12-31T03:00:00Z")] == ["01:00", "00:59"]


def test_request_logs_leave_out_a_same_named_service_in_another_region(tmp_path):
    """As on gcp (the filter names each service's region): a stray deploy without --region is another service."""
    home = home_at(tmp_path).ensure()
    labels = {"service_name": "nba-phase4-precompute-processors", "location": "us-west2"}
    entry = {"timestamp": "2025-12-31T01:00:00.000000Z", "resource": {"labels": labels}, "httpRequest": {"status": 403}}
    stray = {**entry, "timestamp": "2025-12-31T01:30:00.000000Z",
             "resource": {"labels": {**labels, "location": "europe-west1"}}}
    append_request_logs(request_log_path(home), [entry, stray])
    found = LocalLogs(home, load_phases()).request_logs("phase4", until="2025-12-31T03:00:00Z")
    assert [e["resource"]["labels"]["location"] for e in found] == ["us-west2"]


# ---------------------------------------------------------------- concurrency and processes


def test_concurrent_requests_to_both_services_all_succeed(scratch):
    services = scratch.services
    warehouse = scratch.options["warehouse_path"]
    services.ensure_running()
    # Production runs of the head code are idempotent: counts must come out unchanged.
    tables = [t.ref for t in scratch.phases.all_tables()]
    before = {ref: _count(warehouse, ref) for ref in tables}
    history = _count(warehouse, "nba_reference.processor_run_history")
    since = datetime.now(timezone.utc)
    results: list = []
    lock = threading.Lock()

    def call(phase: str, payload: dict) -> None:
        response = services.invoke(phase, payload, token=services.identity_token())
        with lock:
            results.append((phase, response))

    jobs = []
    for i in range(4):
        day = f"2025-12-{16 + i % 3:02d}"
        jobs.append(threading.Thread(target=call, args=("phase3", {"start_date": day, "end_date": day})))
        jobs.append(threading.Thread(target=call, args=("phase4", {"analysis_date": day,
                                                                   "processors": ["team_defense_zone_analysis"]})))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=120)
    assert len(results) == 8
    assert all(r.status == 200 and r.body["status"] == "success" for _, r in results), \
        [r.body for _, r in results if r.status != 200]
    assert {ref: _count(warehouse, ref) for ref in tables} == before
    processors_run = sum(len(r.body["run"]["processors"]) for _, r in results)
    assert _count(warehouse, "nba_reference.processor_run_history") == history + processors_run
    logged = scratch.logs.request_logs(since=since, status=200)
    assert len(logged) == 8
    assert {e["resource"]["labels"]["service_name"] for e in logged} == {i.service for i in services.list()}


def test_stop_and_restart_and_stale_pid_files(scratch):
    services = scratch.services
    home = home_at(scratch.options["home"])
    running = services.ensure_running("phase3")[0]
    assert running.running and is_our_process(running.pid, home.root)
    assert services.stop("phase3") == ["phase3"]
    assert not is_our_process(running.pid) and not run_file(home, "phase3").exists()
    assert services.describe("phase3").running is False and services.stop("phase3") == []
    # a stale record pointing at a live process that is not a service: removed, never signalled
    run_file(home, "phase3").write_text(json.dumps({"pid": os.getpid(), "port": 1, "revision": running.revision}))
    assert read_run_file(home, "phase3") is None and not run_file(home, "phase3").exists()
    assert terminate(os.getpid()) is False
    # a record of a process that has exited: removed
    finished = subprocess.Popen(["true"])
    finished.wait()
    run_file(home, "phase3").write_text(json.dumps({"pid": finished.pid, "port": 1, "revision": running.revision}))
    assert services.describe("phase3").running is False and not run_file(home, "phase3").exists()
    # the next request starts the service again (Cloud Run scales from zero)
    assert services.health("phase3", token=services.identity_token())["http_status"] == 200
    assert services.describe("phase3").running


def test_close_stops_only_what_that_object_started(scratch):
    home = home_at(scratch.options["home"])
    scratch.services.stop()
    mine = LocalServices(home, scratch.phases, scratch.options["warehouse_path"])
    started = mine.ensure_running("phase4")[0]
    other = LocalServices(home, scratch.phases, scratch.options["warehouse_path"])
    assert other.ensure_running("phase4")[0].pid == started.pid      # reused, not restarted
    other.close()
    assert is_our_process(started.pid)
    mine.close()
    assert not is_our_process(started.pid)


@contextmanager
def another_kit_process_with_the_sandbox_open(home):
    """A second process that has the sandbox open (connect('local')) until the block ends: another kernel, a
    replay mid-call."""
    other = subprocess.Popen([sys.executable, "-c", "import sys\nfrom runbook_lib.target import connect\n"
                              f"with connect('local', home={str(home.root)!r}):\n"
                              "    print('open', flush=True)\n    sys.stdin.readline()\n"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        yield
    finally:
        other.communicate("done\n", timeout=60)


def test_close_leaves_running_what_another_kit_process_has_open(scratch):
    """Another kernel with the sandbox open (a replay mid-call) keeps the services this object started."""
    home = home_at(scratch.options["home"])
    scratch.services.stop()
    mine = LocalServices(home, scratch.phases, scratch.options["warehouse_path"])
    started = mine.ensure_running("phase4")[0]
    with another_kit_process_with_the_sandbox_open(home):
        mine.close()
        assert is_our_process(started.pid)     # left running: the other process may be calling it
    again = LocalServices(home, scratch.phases, scratch.options["warehouse_path"])
    again._started.add(started.pid)           # as if it had started it: with nobody else, close stops it
    again.close()
    assert not is_our_process(started.pid)


def test_an_idle_service_stops_by_itself(sandbox_home, tmp_path):
    """Like Cloud Run scaling to zero, a sandbox service nobody calls exits and removes its run file."""
    import subprocess

    state = read_state(home_at(sandbox_home))
    revision = state["services"]["phase4"]["revisions"][-1]
    proc = subprocess.Popen([sys.executable, "-m", "runbook_lib.local.service_app", "--phase", "phase4",
                             "--port", "0", "--home", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb"),
                             "--revision", revision["name"], "--commit", revision["commit_sha"],
                             "--supports-prefix", "0", "--idle-timeout", "0.4"])
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list((tmp_path / "run").glob("*.json"))


# ---------------------------------------------------------------- a warehouse another process has locked


def _hold_warehouse(path: str, ready, release) -> None:
    import duckdb

    con = duckdb.connect(path)  # read-write: the service cannot open the file while this lasts
    ready.set()
    release.wait(60)
    con.close()


def test_a_locked_warehouse_answers_503_with_retry_after_and_no_failed_run(tmp_path):
    """A lock held by another process passes: the service says 'busy, retry' and records no failure."""
    import multiprocessing
    import subprocess
    import urllib.error
    import urllib.request

    from runbook_lib.local.generator import generate_raw
    from runbook_lib.local.state import write_state

    phases = load_phases()
    warehouse = tmp_path / "w.duckdb"
    generate_raw(LocalWarehouse(warehouse), days=1)
    home = home_at(tmp_path / "home").ensure()
    write_state(home, {"token_key": "test-key", "services": {"phase3": {"invoker_iam_disabled": True}}})
    service = subprocess.Popen([sys.executable, "-m", "runbook_lib.local.service_app", "--phase", "phase3",
                                "--port", "0", "--home", str(home.root), "--warehouse", str(warehouse),
                                "--revision", "r1", "--commit", "head", "--supports-prefix", "1",
                                "--lock-retry-seconds", "0.3", "--idle-timeout", "120"])
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_warehouse, args=(str(warehouse), ready, release), daemon=True)
    try:
        deadline = time.monotonic() + 60
        while (record := read_run_file(home, "phase3")) is None:
            assert service.poll() is None and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        holder.start()
        assert ready.wait(60), "the holder process did not open the warehouse"
        request = urllib.request.Request(
            record["url"] + phases.get("phase3").endpoint, method="POST",
            data=json.dumps({"start_date": "2025-12-15", "end_date": "2025-12-15"}).encode(),
            headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=60)
        assert answer.value.code == 503
        assert int(answer.value.headers["Retry-After"]) > 0
        body = json.loads(answer.value.read())
        assert body["status"] == "busy" and body["run"]["status"] == "busy"
        assert body["error"].startswith("The phase3 run stopped after 0 of 2 processors had committed")
        assert "stayed locked by another process" in body["error"] and "\n" not in body["error"]
        assert [p["status"] for p in body["run"]["processors"]] == ["busy", "busy"]
    finally:
        release.set()
        if holder.pid is not None:
            holder.join(10)
        service.terminate()
        service.wait(30)
    history = phases.run_history_table
    assert _count(warehouse, history, "status = 'failed'") == 0, "a lock is not a failed run"
    assert _count(warehouse, history) == 0
    logged = [json.loads(line) for line in request_log_path(home).read_text().splitlines()]
    assert [e["httpRequest"]["status"] for e in logged] == [503]


def test_a_run_leaves_running_the_services_it_started_while_another_kit_process_has_the_sandbox_open(scratch,
                                                                                                   monkeypatch):
    """The runner stops what its run's kernel started (a notebook stopped by a signal never closes its target),
    but not while another kernel may be mid-call to it."""
    from runbook_lib.local.processes import STARTED_BY_ENV, stop_started_by

    home = home_at(scratch.options["home"])
    scratch.services.stop()
    monkeypatch.setenv(STARTED_BY_ENV, "run-1")
    started = LocalServices(home, scratch.phases, scratch.options["warehouse_path"]).ensure_running("phase4")[0]
    with another_kit_process_with_the_sandbox_open(home):
        assert stop_started_by(home, "run-1") == [] and is_our_process(started.pid)
    assert stop_started_by(home, "run-1") == ["phase4"] and not is_our_process(started.pid)


def test_json_nested_past_what_a_service_answers_is_not_parsed():
    """Python's JSON parser raises RecursionError near 1000 levels; the depth is measured first, so it never is."""
    from runbook_lib.formats import one_line
    from runbook_lib.services import MAX_JSON_DEPTH, json_depth, response_body

    assert json_depth(b'{"a": [1, {"b": "[[[[ \\\\\\" ]]"}]}') == 3   # brackets inside strings do not count
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert json_depth(deep) == MAX_JSON_DEPTH + 1
    assert response_body(deep, "application/json", 200) == {"error": one_line(deep.decode())}
    shallow = b'{"v": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    assert "v" in response_body(shallow, "application/json", 200)


def test_a_request_log_that_cannot_be_written_never_drops_the_answer(sandbox_home, tmp_path, capsys):
    # On a full disk the log append raised after the answer had started, the server dropped the connection, and a
    # replay said "connection dropped" five times a call, never the disk's words (/work/probes/concurrency 5).
    from runbook_lib.local.service_app import PhaseApp, ServiceConfig

    phases = load_phases()
    config = ServiceConfig(phases=phases, code=phases.get("phase4"), deployed_as=phases.get("phase4"),
                           home_root=Path(sandbox_home), warehouse=Path(sandbox_home) / "sandbox.duckdb",
                           revision="r", commit="c", supports_prefix=True)
    app = PhaseApp(config)
    app.log_path = tmp_path   # a folder: every append fails with an OSError, as ENOSPC does
    said = []
    body = app({"REQUEST_METHOD": "GET", "PATH_INFO": "/health"}, lambda status, headers: said.append(status))
    assert said and said[0].split()[0] in ("200", "401", "403") and body and body[0]
    assert "request log not written" in capsys.readouterr().err


# ---------------------------------------------------------------- what image a revision runs

AR_P4 = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase4-precompute-processors"
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


@pytest.mark.parametrize("one, other, same", [
    # two builds behind one moving tag: the text is one, the images two
    ((f"{AR_P4}:latest", DIGEST_A), (f"{AR_P4}:latest", DIGEST_B), False),
    # one build named by its tag and by its digest, or in gcr.io and in Artifact Registry
    ((f"{AR_P4}:latest", DIGEST_A), (f"{AR_P4}@{DIGEST_A}", DIGEST_A), True),
    ((f"gcr.io/nba-props-platform/p4@{DIGEST_A}", ""), (f"{AR_P4}:v1", DIGEST_A), True),
    # a reference pinned by digest runs that digest, whether or not the resolved one was read
    ((f"{AR_P4}@{DIGEST_A}", ""), (f"{AR_P4}:v1", DIGEST_B), False),
    # no digest on one side: the text decides
    ((f"{AR_P4}:v1", ""), (f"{AR_P4}:v1", DIGEST_A), True),
    ((f"{AR_P4}:v1", ""), (f"{AR_P4}:v2", ""), False),
    # an image nothing names is no one's: it never vouches for another
    (("", ""), ("", ""), False),
])
def test_two_revisions_run_one_image_by_digest_when_both_have_one_else_by_text(one, other, same):
    from runbook_lib.services import Revision, ServingRevision

    a, b = ServingRevision("a", 50, "", None, one[0], image_digest=one[1]), \
        ServingRevision("b", 50, "", None, other[0], image_digest=other[1])
    assert (a.runs == b.runs, a.runs != b.runs) == (same, not same)
    revision = Revision(name="a", service="s", labels={}, commit_sha="", commit_sha_full=None, image=one[0], created="",
                        traffic_percent=50, supports_prefix=None, image_digest=one[1])
    assert (revision.runs == b.runs) == same   # one rule for both types


def test_the_sandboxs_revisions_carry_the_digest_their_image_names(local_target):
    from runbook_lib.images import parse_image

    info = local_target.services.describe("phase4")
    revisions = local_target.services.list_revisions("phase4")
    assert all(r.image_digest == parse_image(r.image).digest for r in revisions)
    assert info.serving[0].image_digest == parse_image(info.image).digest != ""


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads a process's loaded libraries from /proc")
def test_a_service_loads_the_pipeline_with_its_first_processing_request(make_sandbox):
    """Most service processes the sandbox starts (a deploy's, a candidate's, a restart's) only answer /health: they
    start without DuckDB and the rest of the pipeline, which the first processing request brings in."""
    root = make_sandbox(start_services=True)
    pid = read_run_file(home_at(root), "phase4")["pid"]

    def duckdb_loaded() -> bool:
        return "_duckdb" in Path(f"/proc/{pid}/maps").read_text()

    with connect("local", home=root) as tg:
        assert tg.services.health("phase4", token=tg.services.identity_token())["http_status"] == 200
        assert not duckdb_loaded()
        response = tg.services.invoke("phase4", {"analysis_date": "2025-12-16", "processors": ["player_daily_cache"]},
                                      token=tg.services.identity_token())
    assert response.status == 200, response.body
    assert duckdb_loaded() and read_run_file(home_at(root), "phase4")["pid"] == pid
