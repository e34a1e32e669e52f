"""Runbook 05's logic: each finding class, the caller classification in DuckDB, the verdict, and the whole
audit on the sandbox's incident night and on target=gcp (real clients, multi-page fakes) alike."""
from __future__ import annotations

import json
import weakref
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from fakes.errors import google_error, service_disabled
from fakes.fixtures import mirror_sandbox, mirrored_phases_file
from runbook_lib import audit, params
from runbook_lib import target as target_mod
from runbook_lib.errors import ParameterError, RunbookError
from runbook_lib.formats import parse_time
from runbook_lib.local.logs import LocalLogs, request_entry
from runbook_lib.local.sandbox import IAM_FIX_AT, OPERATOR_IP, PUBSUB_USER_AGENT, SCHEDULER_USER_AGENT
from runbook_lib.phases import load_phases
from runbook_lib.request_logs import request_log_query
from runbook_lib.services import PushSubscription, ServiceInfo, push_subscriptions_to
from runbook_lib.shell_words import GCP_ONLY_HEADER

UTC = timezone.utc
P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
PROJECT = "nba-props-platform"
PUSH_SA = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
SCHEDULER_SA = "scheduler-invoker@nba-props-platform.iam.gserviceaccount.com"
EXPECTED = {f"serviceAccount:{PUSH_SA}", f"serviceAccount:{SCHEDULER_SA}"}
T0 = datetime(2025, 12, 30, 18, 0, tzinfo=UTC)
NIGHT = "2025-12-31T08:00:00Z"


def _entry(minutes: float, status: int, agent: str = "curl/8.5.0", ip: str = "198.51.100.7", service: str = P4,
           path: str = "/health") -> dict:
    when = T0 + timedelta(minutes=minutes)
    return request_entry(project=PROJECT, service=service, revision=f"{service}-00001-abc", region="us-west2",
                         method="GET", url=f"https://{service}-756957797294.us-west2.run.app{path}?x=1", status=status,
                         remote_ip=ip, user_agent=agent, latency_s=0.01, response_size=10, timestamp=when)


def _classified(entries: list[dict], public_now: bool = False, members_expected: bool = True) -> audit.RequestLog:
    log = audit.RequestLog()
    assert log.load_entries(entries) == len(entries)
    log.classify([audit.ServiceFacts(P4, public_now, members_expected)])
    return log


def _classes(log: audit.RequestLog) -> list[tuple]:
    return [tuple(r) for r in log.query("SELECT status, agent, ip, caller_class FROM requests ORDER BY ts").itertuples(index=False)]


# ---------------------------------------------------------------- the classification rules


def test_google_callers_are_classified_by_user_agent_and_address():
    log = _classified([_entry(1, 403, PUBSUB_USER_AGENT, "66.102.8.65"), _entry(2, 200, SCHEDULER_USER_AGENT, "107.178.194.9"),
                       _entry(3, 200, "GoogleHC/1.0", "35.191.1.2"), _entry(4, 200, "curl/8.5.0", "10.8.0.3"),
                       _entry(5, 404, "python-requests/2.31.0", "35.191.7.7"), _entry(6, 200, "curl/8.5.0", "172.20.1.1"),
                       _entry(7, 403, "curl/8.5.0", "172.32.1.1")])
    assert [c for *_, c in _classes(log)] == ["pubsub_push", "cloud_scheduler", "google_internal", "google_internal",
                                              "google_internal", "google_internal", "external"]


def test_a_refused_token_less_push_dates_the_policy_change_and_what_came_before_was_open():
    entries = [_entry(0, 200, PUBSUB_USER_AGENT, "66.102.8.65", path="/process"),      # pushes got in: open
               _entry(10, 404, "Mozilla/5.0 zgrab/0.x", "45.148.10.174", path="/.env"),  # a probe reached the app
               _entry(20, 200, PUBSUB_USER_AGENT, "66.102.8.66", path="/process"),
               _entry(30, 403, "curl/8.5.0", "73.158.64.21"),                           # the first refusal: the change
               _entry(31, 200, "curl/8.5.0", "73.158.64.21"),                           # an invoker's token, after it
               _entry(40, 403, PUBSUB_USER_AGENT, "66.102.8.65", path="/process"),
               _entry(50, 403, "Mozilla/5.0 zgrab/0.x", "45.148.10.174", path="/.git/config")]
    log = _classified(entries)
    assert [c for *_, c in _classes(log)] == ["pubsub_push", "external", "pubsub_push", "external", "expected_invoker",
                                              "pubsub_push", "external"]
    pushes = log.refused_pushes().iloc[0]
    assert (pushes["service"], pushes["refused"]) == (P4, 1)
    assert pushes["changed_at"] == T0 + timedelta(minutes=30) and pushes["last_accepted"] == T0 + timedelta(minutes=20)
    assert list(pushes["push_urls"]) == [f"https://{P4}-756957797294.us-west2.run.app/process"]   # query dropped
    reached = log.reached_app()
    assert reached[["ip", "requests", "ok_2xx", "paths", "before_change"]].values.tolist() == [
        ["45.148.10.174", 1, 0, "/.env", True]]


def test_with_unexpected_members_a_caller_past_iam_is_an_invoker_of_either_kind():
    entries = [_entry(0, 200, PUBSUB_USER_AGENT, path="/process"), _entry(1, 403, PUBSUB_USER_AGENT, path="/process"),
               _entry(2, 200)]
    assert _classes(_classified(entries, members_expected=False))[-1][-1] == "invoker"


def test_on_a_service_public_now_an_external_2xx_is_an_unexpected_callers_and_counted():
    entries = [_entry(0, 200, ip="203.0.113.9"), _entry(1, 404, ip="203.0.113.9", path="/wp-login.php"),
               _entry(2, 403, ip="198.51.100.1")]
    log = _classified(entries, public_now=True)
    assert [c for *_, c in _classes(log)] == ["external"] * 3
    by_service = log.reached_by_service().iloc[0]
    assert (by_service["addresses"], by_service["requests"], by_service["ok_2xx"], by_service["ok_addresses"]) == (1, 2, 1, 1)
    assert by_service["paths"] == "/health /wp-login.php" and not by_service["before_change"]
    assert log.top_refused()[["ip", "refused"]].values.tolist() == [["198.51.100.1", 1]]


def test_pushes_only_let_in_or_only_refused_show_no_policy_change():
    accepted = _classified([_entry(0, 200, PUBSUB_USER_AGENT), _entry(5, 404, ip="203.0.113.9")])
    assert accepted.refused_pushes().empty                              # pushes with a token: nothing to date
    assert _classes(accepted)[-1][-1] == "expected_invoker"             # so the 404 came from past IAM
    refused = _classified([_entry(0, 403, PUBSUB_USER_AGENT), _entry(5, 404, ip="203.0.113.9")])
    row = refused.refused_pushes().iloc[0]
    assert row["refused"] == 1 and pd.isna(row["changed_at"]) and pd.isna(row["last_accepted"])


def _push(minutes: float, status: int, path: str) -> dict:
    return _entry(minutes, status, PUBSUB_USER_AGENT, "66.102.8.65", path=path)


def _sources(log: audit.RequestLog) -> dict[str, dict]:
    (row,) = log.refused_pushes().to_dict(orient="records")
    return {s["path"]: s for s in row["sources"]}


def test_one_subscription_let_in_and_another_refused_is_no_policy_change():
    """Two push sources of one service: /process-date signs its pushes (let in), /backfill does not
    (refused from its first push). Nothing changed: the operator's 2xx came from past IAM."""
    entries = [_push(0, 200, "/process-date"), _entry(2, 200, ip=OPERATOR_IP, path="/process-date"),
               _push(5, 403, "/backfill"), _push(10, 200, "/process-date"), _push(15, 403, "/backfill"),
               _push(20, 200, "/process-date")]
    log = _classified(entries)
    assert _classes(log)[1][-1] == "expected_invoker"
    assert log.reached_app().empty and log.query("SELECT * FROM changes").empty
    row = log.refused_pushes().iloc[0]
    assert pd.isna(row["changed_at"]) and pd.isna(row["last_accepted"]) and row["refused"] == 2
    assert {path: s["state"] for path, s in _sources(log).items()} == {"/backfill": "refused_throughout"}
    outage = audit.judge_pushes(_access([f"serviceAccount:{PUSH_SA}"]), row.to_dict(), None, "", PUSH_SA, PROJECT)
    (finding,) = outage.findings
    assert (finding.severity, finding.kind) == ("critical", "refused_pushes")
    assert "refused throughout the window (the log shows no change of policy)" in finding.what
    assert "since the policy changed" not in finding.what


def test_pushes_refused_and_later_let_in_again_recovered_and_date_no_change():
    """Refused 01:00-07:00, let in from 08:10 (the subscription got a token), a scanner refused at 08:30:
    the service was never open, so the operator's 07:00 call is an expected invoker's."""
    hour = 60
    entries = [_push(h * hour, 403, "/process") for h in range(1, 8)]
    entries += [_entry(7 * hour, 200, ip=OPERATOR_IP), _push(8 * hour + 10, 200, "/process"),
                _push(8 * hour + 20, 200, "/process"), _entry(8 * hour + 30, 403, "Mozilla/5.0 zgrab/0.x", "45.148.10.174")]
    log = _classified(entries)
    assert [c for status, _, ip, c in _classes(log) if ip == OPERATOR_IP] == ["expected_invoker"]
    assert log.reached_app().empty
    source = _sources(log)["/process"]
    assert source["state"] == "recovered" and source["recovered_at"] == T0 + timedelta(minutes=8 * hour + 10)
    row = log.refused_pushes().iloc[0].to_dict()
    assert pd.isna(row["changed_at"])
    access = _access([f"serviceAccount:{PUSH_SA}"])
    outage = audit.judge_pushes(access, row, [_sub(PUSH_SA)], "", PUSH_SA, PROJECT)
    assert [(f.severity, f.kind) for f in outage.findings] == [("warning", "recovered_pushes")]
    assert "let in again from 2025-12-31T02:10:00Z" in outage.findings[0].what
    tried = audit.WhoTried(since=T0, until=T0 + timedelta(hours=24), entries=len(entries), per_service={P4: 11},
                           bucket_minutes=30, tables=log.analyse(T0, 30))
    scope = audit.AuditScope(phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA, SCHEDULER_SA)},
                             since=T0, until=T0 + timedelta(hours=24), project=PROJECT)
    result = audit.conclude(scope, [access], tried, [outage])
    assert result.verdict == "warn" and "outage" not in result.summary and "recovered" in result.summary


def test_a_change_is_dated_by_one_source_let_in_then_refused_not_by_a_source_refused_all_along():
    entries = [_push(0, 403, "/backfill"),                  # refused from its first push: dates nothing
               _push(5, 200, "/process"), _entry(10, 200, ip="203.0.113.9"),   # open then: anyone got in
               _push(20, 200, "/process"), _push(25, 403, "/backfill"),
               _push(40, 403, "/process"), _push(50, 403, "/process")]
    log = _classified(entries)
    assert {p: s["state"] for p, s in _sources(log).items()} == {"/backfill": "refused_throughout", "/process": "changed"}
    row = log.refused_pushes().iloc[0]
    assert row["changed_at"] == T0 + timedelta(minutes=40) and row["last_accepted"] == T0 + timedelta(minutes=20)
    assert _classes(log)[2][-1] == "external"


def test_an_entry_without_an_http_request_is_counted_not_lost():
    bare = {k: v for k, v in _entry(3, 200).items() if k != "httpRequest"}
    log = _classified([_entry(1, 403, ip="198.51.100.1"), bare])
    assert _classes(log) == [(403, "curl/8.5.0", "198.51.100.1", "external"), (0, "", "", "expected_invoker")]
    assert int(log.counts_by_service()["requests"].sum()) == 2
    assert log.timeline(T0, 30)["status"].tolist() == [0, 403]


def test_every_table_answers_on_an_empty_log():
    log = _classified([])
    tables = log.analyse(T0, 30)
    assert all(frame.empty for frame in tables.values())


def test_loading_refuses_to_lose_entries(monkeypatch):
    log = audit.RequestLog()
    monkeypatch.setattr(log, "load_file", lambda path: 1)
    with pytest.raises(RunbookError, match="Only 1 of 2 request-log entries"):
        log.load_entries([_entry(0, 200), _entry(1, 200)])


@pytest.mark.parametrize("hours, minutes", [(1, 5), (24, 30), (72, 120), (720, 1440)])
def test_bars_are_round_and_few(hours, minutes):
    assert audit.bucket_minutes(hours) == minutes


# ---------------------------------------------------------------- reading the window: as it comes, never gathered


def _two_phase_scope(hours: float = 2) -> audit.AuditScope:
    phases = load_phases()
    return audit.AuditScope(phases=(phases.get("phase3"), phases.get("phase4")), expected={}, since=T0,
                            until=T0 + timedelta(hours=hours), project=PROJECT)


def test_who_tried_loads_an_adapters_entries_as_they_come_never_all_at_once():
    """An adapter's entries are taken one at a time (iter_request_logs), never as request_logs' list:
    at no moment are more than a few of the 1,200 entries alive. (It was every one, from both phases, and the
    runbook took 4 GB for a million entries.)"""
    class Held(dict):   # a LogEntry dict that can be weakly referenced, so what is still held can be counted
        pass

    alive, most, refs = [0], [0], []

    def gone(_):
        alive[0] -= 1

    class StreamingLogs:
        def iter_request_logs(self, service, since, until):
            name = load_phases().get(service).service
            for tick in range(600):
                entry = Held(_entry(tick / 10, 403 if tick % 3 else 200, service=name))
                refs.append(weakref.ref(entry, gone))
                alive[0] += 1
                most[0] = max(most[0], alive[0])
                yield entry

    tried = audit.who_tried(SimpleNamespace(logs=StreamingLogs()), _two_phase_scope(), [])
    assert tried.entries == 1200 and tried.per_service == {P3: 600, P4: 600}
    assert most[0] <= 5, f"{most[0]} entries were held at once"


def _noisy_log(path: Path) -> None:
    """The window's entries of both services among lines request_logs leaves out, ending mid-line."""
    entries = [_entry(m, status, agent, ip, service=service, path=at)
               for m, status, agent, ip, at in [(0, 200, PUBSUB_USER_AGENT, "66.102.8.65", "/process"),
                                                   (10, 404, "Mozilla/5.0 zgrab/0.x", "45.148.10.174", "/.env"),
                                                   (30, 403, "curl/8.5.0", "73.158.64.21", "/health"),
                                                   (40, 403, PUBSUB_USER_AGENT, "66.102.8.65", "/process")]
               for service in (P3, P4)]

    def odd(minutes: float, **changed) -> dict:   # one of Phase 4's, changed; httpRequest=None: none at all
        entry = _entry(minutes, 200)
        labels = entry["resource"]["labels"]
        where = {"timestamp": entry, "location": labels, "service_name": labels, "status": entry["httpRequest"]}
        for name, value in changed.items():
            if name == "httpRequest":
                del entry[name]
            else:
                where[name][name] = value
        return entry

    entries += [odd(0), odd(120),                                        # since is in, until is out
                odd(0, timestamp="2025-12-30T19:59:59.9999999Z"),       # nanoseconds, cut to microseconds: in
                odd(0, timestamp="2025-12-30T19:30:00+01:00"),          # an offset (18:30Z): in
                odd(0, timestamp="2025-12-30T18:31:00"),                # naive, so UTC: in
                odd(0, timestamp="not a time"),                         # out
                odd(50, location="europe-west1"),                       # the same name in another region: out
                odd(51, service_name="someone-else"),
                odd(52, status="403"), odd(53, status=404.0), odd(54, status="abc"),   # in, in, out
                odd(55, httpRequest=None)]                              # in: status 0
    lines = [json.dumps(e) for e in entries] + ["{not json", "", "[1, 2]"]
    path.write_text("\n".join(lines) + "\n" + '{"timestamp": "2025-12-30T18:59:00Z", "resource": {"lab')


def test_the_sandbox_log_read_in_place_gives_the_figures_of_the_entries_request_logs_returns(tmp_path):
    """The sandbox's request log goes into DuckDB as it is, the window's filter a WHERE: every figure is what
    loading the entries request_logs returns gives, whatever else the file holds."""
    _noisy_log(tmp_path / "requests.jsonl")
    phases = load_phases()
    logs = LocalLogs(SimpleNamespace(logs=str(tmp_path)), phases)
    scope = _two_phase_scope()
    tried = audit.who_tried(SimpleNamespace(logs=logs), scope, [])
    window = {"since": scope.since, "until": scope.until}
    listed = {phase.service: logs.request_logs(phase.name, limit=None, **window) for phase in scope.phases}
    assert tried.per_service == {P3: 4, P4: 11} == {service: len(got) for service, got in listed.items()}
    reference = audit.RequestLog()
    reference.load_entries(entry for got in listed.values() for entry in got)
    reference.classify(audit.tried._facts([], scope))
    for name, frame in reference.analyse(scope.since, tried.bucket_minutes).items():
        pd.testing.assert_frame_equal(tried.table(name), frame, check_exact=True, obj=name)
    reference.close()
    # the filter alone, for the statuses request_logs may be asked for too
    for status in (403, "4xx", [200, "5xx"], [404, 403]):
        log = audit.RequestLog()
        query = request_log_query(phases, "phase4", status=status, **window)
        assert log.load_file(tmp_path / "requests.jsonl", query) == len(logs.request_logs("phase4", status=status,
                                                                                           **window)), status
        log.close()


# ---------------------------------------------------------------- who may call: each finding class


def _info(disabled: bool = False, ingress: str = "internal") -> ServiceInfo:
    return ServiceInfo(phase="phase4", service=P4, region="us-west2", url=None, revision="r", commit_sha="abc1234",
                       supports_prefix=True, image="i", created="", running=True, public=False, ingress=ingress,
                       invoker_iam_disabled=disabled)


def _judge(bindings: list[dict], **info) -> audit.ServiceAccess:
    return audit.judge_access(load_phases().get("phase4"), _info(**info), {"version": 3, "bindings": bindings},
                              EXPECTED, PROJECT)


def test_public_members_are_critical_with_the_exact_removal():
    access = _judge([{"role": "roles/run.invoker", "members": ["allAuthenticatedUsers", f"serviceAccount:{PUSH_SA}"]}])
    (finding,) = access.findings
    assert (finding.severity, finding.kind) == ("critical", "public_member") and access.public
    assert "`--no-allow-unauthenticated` and removing allUsers leave it in place" in finding.what
    assert finding.fix == [f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
                           f"--member=allAuthenticatedUsers --role=roles/run.invoker"]
    assert [(m["member"], m["judged"]) for m in access.members] == [("allAuthenticatedUsers", "public"),
                                                                    (f"serviceAccount:{PUSH_SA}", "expected")]
    assert not access.open_to_all_users


def test_a_disabled_invoker_check_is_critical_and_its_reversal_printed():
    access = _judge([{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}], disabled=True)
    (finding,) = access.findings
    assert (finding.severity, finding.kind) == ("critical", "iam_check_disabled") and access.open_to_all_users
    assert finding.fix == [f"gcloud run services update {P4} --region=us-west2 --project={PROJECT} --invoker-iam-check"]
    assert audit.members_table([access])["member"].tolist()[-1] == "(no IAM check: anyone)"


def test_conditional_public_and_unexpected_invokers_warn_with_their_conditions():
    condition = {"title": "until 2026", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}
    comma = {"title": "two", "expression": "a, b"}
    access = _judge([{"role": "roles/run.invoker", "members": ["allUsers"], "condition": condition},
                     {"role": "roles/run.developer", "members": ["user:dev@example.com"], "condition": comma},
                     {"role": "roles/viewer", "members": ["allUsers"]},           # cannot invoke: not judged
                     {"role": "roles/run.invoker", "members": ["group:ops@example.com", f"serviceAccount:{SCHEDULER_SA}"]}])
    kinds = [(f.severity, f.kind) for f in access.findings]
    assert kinds == [("warning", "conditional_public"), ("warning", "unexpected_invoker"), ("warning", "unexpected_invoker")]
    assert not access.public and access.policy_version == 3
    assert access.findings[0].fix == [
        f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} --member=allUsers "
        f"--role=roles/run.invoker --condition='expression=request.time < timestamp('\"'\"'2026-01-01T00:00:00Z'\"'\"'),"
        f"title=until 2026'"]
    assert access.findings[1].fix[0].endswith("--role=roles/run.developer --condition='^;^expression=a, b;title=two'")
    assert "under condition 'two: a, b'" in access.findings[1].what
    assert access.findings[2].what == f"group:ops@example.com holds roles/run.invoker on {P4} but is not an expected invoker."
    table = audit.members_table([access])
    assert table.loc[table["member"] == "allUsers", "condition"].item() == f"until 2026: {condition['expression']}"


def test_ingress_all_is_noted_not_judged():
    assert [(f.severity, f.kind) for f in _judge([], ingress="all").findings] == [("info", "ingress_all")]
    assert _judge([], ingress="internal").findings == []


@pytest.mark.parametrize("role", ["roles/run.servicesInvoker", "roles/run.sourceDeveloper", "roles/run.editor",
                                  "roles/iam.devOps", "roles/cloudfunctions.developer"])
def test_every_predefined_role_with_run_routes_invoke_makes_anyone_an_invoker(role):
    access = _judge([{"role": role, "members": ["allUsers"]}])
    (finding,) = access.findings
    assert (finding.severity, finding.kind) == ("critical", "public_member") and access.public
    assert finding.fix == [f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
                           f"--member=allUsers --role={role}"]


@pytest.mark.parametrize("role, describe", [
    (f"projects/{PROJECT}/roles/pipelineCaller",
     f"gcloud iam roles describe pipelineCaller --project={PROJECT} --format='value(includedPermissions)'"),
    ("organizations/123456789012/roles/caller",
     "gcloud iam roles describe caller --organization=123456789012 --format='value(includedPermissions)'"),
    ("roles/run.someNewRole", "gcloud iam roles describe roles/run.someNewRole --format='value(includedPermissions)'"),
])
def test_a_role_the_kit_cannot_judge_granted_to_anyone_says_how_to_check_it(role, describe):
    access = _judge([{"role": role, "members": ["allAuthenticatedUsers", "user:dev@example.com"]},
                     {"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}])
    finding, named = access.findings   # a named member not expected is said too: the role may let it invoke
    assert (named.severity, named.kind) == ("warning", "unresolved_role")
    assert named.what.startswith(f"user:dev@example.com holds {role} on {P4}, a role the kit cannot judge")
    assert "is not an expected invoker" in named.what
    assert (finding.severity, finding.kind) == ("warning", "unresolved_role") and not access.public
    assert f"allAuthenticatedUsers holds {role} on {P4}, a role the kit cannot judge" in finding.what
    assert "run.routes.invoke" in finding.what
    assert finding.fix == [describe, f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 "
                                     f"--project={PROJECT} --member=allAuthenticatedUsers --role={role}"]
    # a caller past IAM may then be anyone with a Google account: not filed as an expected invoker
    (facts,) = audit.tried._facts([access], audit.AuditScope(
        phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA,)}, since=T0, until=T0, project=PROJECT))
    assert not facts.members_expected


def test_unconditional_binding_commands_say_condition_none_when_the_policy_has_conditions():
    oncall = {"title": "oncall", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}
    access = _judge([{"role": "roles/run.invoker", "members": ["allUsers", f"serviceAccount:{SCHEDULER_SA}"]},
                     {"role": "roles/viewer", "members": ["user:auditor@example.com"], "condition": oncall}])
    assert access.conditional_policy
    assert access.findings[0].fix == [f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 "
                                      f"--project={PROJECT} --member=allUsers --role=roles/run.invoker --condition=None"]
    outage = audit.judge_pushes(access, REFUSED_ROW, [_sub()], "", PUSH_SA, PROJECT)
    assert outage.findings[0].fix[-1] == (f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 "
                                          f"--project={PROJECT} --member=serviceAccount:{PUSH_SA} "
                                          f"--role=roles/run.invoker --condition=None")
    plain = _judge([{"role": "roles/run.invoker", "members": ["allUsers"]}])
    assert not plain.conditional_policy and not plain.findings[0].fix[0].endswith("--condition=None")


# ---------------------------------------------------------------- what broke: refused pushes and their fix


def _access(members: list[str]) -> audit.ServiceAccess:
    return _judge([{"role": "roles/run.invoker", "members": members}])


def _sub(account: str = "") -> PushSubscription:
    return PushSubscription(name=f"projects/{PROJECT}/subscriptions/p4-push", topic=f"projects/{PROJECT}/topics/t",
                            push_endpoint=f"https://{P4}-756957797294.us-west2.run.app/process", service_account=account)


# A row as RequestLog.refused_pushes gives it: one push source, refused since the policy changed.
REFUSED_ROW = {"refused": 12, "first": T0, "last": T0 + timedelta(hours=2), "changed_at": T0,
               "last_accepted": T0 - timedelta(minutes=4), "push_urls": [f"https://{P4}-7.us-west2.run.app/process"],
               "sources": [{"path": "/process", "state": "changed", "refused": 12, "first": T0,
                            "last": T0 + timedelta(hours=2), "last_accepted": T0 - timedelta(minutes=4),
                            "recovered_at": None}]}


def test_refused_pushes_are_an_outage_with_the_push_config_fix():
    access = _access([f"serviceAccount:{SCHEDULER_SA}"])     # the push account holds no run.invoker yet
    outage = audit.judge_pushes(access, REFUSED_ROW, [_sub()], "", PUSH_SA, PROJECT)
    (finding,) = outage.findings
    assert (finding.severity, finding.kind) == ("critical", "refused_pushes")
    assert finding.what.startswith(f"12 Pub/Sub push(es) to {P4} were refused (401/403) from 2025-12-30T18:00:00Z to "
                                   f"2025-12-30T20:00:00Z since the policy changed (between 2025-12-30T17:56:00Z and "
                                   f"2025-12-30T18:00:00Z): pushes without an OIDC token (p4-push)")
    assert "an outage, not security working" in finding.what
    assert finding.fix == [
        f"gcloud pubsub subscriptions modify-push-config p4-push --project={PROJECT} "
        f"--push-endpoint=https://{P4}-756957797294.us-west2.run.app/process --push-auth-service-account={PUSH_SA} "
        f"--push-auth-token-audience=https://{P4}-756957797294.us-west2.run.app",
        f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
        f"--member=serviceAccount:{PUSH_SA} --role=roles/run.invoker"]
    # already an invoker: no binding to add
    already = audit.judge_pushes(_access([f"serviceAccount:{PUSH_SA}"]), REFUSED_ROW, [_sub()], "", PUSH_SA, PROJECT)
    assert len(already.findings[0].fix) == 1


def test_unlisted_subscriptions_are_found_by_the_endpoint_the_pushes_used():
    outage = audit.judge_pushes(_access([f"serviceAccount:{PUSH_SA}"]), REFUSED_ROW, None,
                                "Pub/Sub refused ... The audit carries on without them.", PUSH_SA, PROJECT)
    url = REFUSED_ROW["push_urls"][0]
    assert outage.findings[0].fix == [
        f"gcloud pubsub subscriptions list --project={PROJECT} --filter=pushConfig.pushEndpoint:{url} "
        f"--format='value(name)'",
        f"gcloud pubsub subscriptions modify-push-config SUBSCRIPTION --project={PROJECT} --push-endpoint={url} "
        f"--push-auth-service-account={PUSH_SA} --push-auth-token-audience=https://{P4}-7.us-west2.run.app"]
    assert "(subscriptions not listed)" in outage.findings[0].what
    table = audit.subscriptions_table([outage])
    assert table["subscription"].tolist() == ["(not listed)"] and "carries on" in table["OIDC token"].item()


def test_a_refused_subscription_with_a_token_gets_its_own_account_granted():
    own = f"p4-events@{PROJECT}.iam.gserviceaccount.com"
    signed = PushSubscription(name=f"projects/{PROJECT}/subscriptions/p4-events", topic=f"projects/{PROJECT}/topics/p4",
                              push_endpoint=f"https://{P4}-756957797294.us-west2.run.app/process", service_account=own)
    outage = audit.judge_pushes(_access([f"serviceAccount:{SCHEDULER_SA}"]), REFUSED_ROW, [signed], "", PUSH_SA, PROJECT)
    (finding,) = outage.findings
    assert "without an OIDC token" not in finding.what and "(subscriptions not listed)" not in finding.what
    assert f"pushes signed as {own} (p4-events; that account may not invoke {P4})" in finding.what
    assert finding.fix == [f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
                           f"--member=serviceAccount:{own} --role=roles/run.invoker"]
    # its account already an invoker: the token's audience is what to look at
    granted = audit.judge_pushes(_access([f"serviceAccount:{own}"]), REFUSED_ROW, [signed], "", PUSH_SA, PROJECT)
    assert granted.findings[0].fix == [f"gcloud pubsub subscriptions describe p4-events --project={PROJECT} "
                                       f"--format='value(pushConfig.oidcToken)'"]


@pytest.mark.parametrize("no_wrapper, flags", [({"writeMetadata": True}, " --push-no-wrapper --push-no-wrapper-write-metadata"),
                                               ({}, " --push-no-wrapper"), (None, "")])
def test_the_push_config_fix_keeps_an_unwrapped_subscription_unwrapped(no_wrapper, flags):
    push = {"pushEndpoint": f"https://{P4}-756957797294.us-west2.run.app/process"}
    if no_wrapper is not None:
        push["noWrapper"] = no_wrapper
    (sub,) = push_subscriptions_to([{"name": f"projects/{PROJECT}/subscriptions/p4-raw", "topic": "t",
                                     "pushConfig": push}], [f"https://{P4}-756957797294.us-west2.run.app"])
    assert (sub.no_wrapper, sub.write_metadata) == (no_wrapper is not None, bool(no_wrapper))
    outage = audit.judge_pushes(_access([f"serviceAccount:{PUSH_SA}"]), REFUSED_ROW, [sub], "", PUSH_SA, PROJECT)
    assert outage.findings[0].fix == [
        f"gcloud pubsub subscriptions modify-push-config p4-raw --project={PROJECT} "
        f"--push-endpoint=https://{P4}-756957797294.us-west2.run.app/process --push-auth-service-account={PUSH_SA} "
        f"--push-auth-token-audience=https://{P4}-756957797294.us-west2.run.app" + flags]


def test_the_sandbox_reads_a_subscriptions_no_wrapper(make_sandbox):
    home = make_sandbox()
    state_file = Path(home) / "state.json"
    state = json.loads(state_file.read_text())
    for sub in state["pubsub_subscriptions"]:
        sub["pushConfig"]["noWrapper"] = {"writeMetadata": True}
    state_file.write_text(json.dumps(state))
    with target_mod.connect("local", home=home) as tg:
        (sub,) = tg.services.push_subscriptions("phase4")
    assert (sub.no_wrapper, sub.write_metadata) == (True, True)
    assert sub.to_dict()["no_wrapper"] is True


def test_a_token_less_subscription_without_refusals_warns_or_notes():
    private = audit.judge_pushes(_access([f"serviceAccount:{PUSH_SA}"]), None, [_sub()], "", PUSH_SA, PROJECT)
    assert [(f.severity, f.kind) for f in private.findings] == [("warning", "token_less_subscription")]
    open_to_all = audit.judge_pushes(_access(["allUsers"]), None, [_sub()], "", PUSH_SA, PROJECT)
    assert [f.severity for f in open_to_all.findings] == ["info"]
    assert "before removing allUsers" in open_to_all.findings[0].what
    assert audit.judge_pushes(_access([]), None, [_sub(PUSH_SA)], "", PUSH_SA, PROJECT).findings == []


def test_the_push_account_is_an_expected_invoker_named_for_pubsub():
    assert audit.push_account((SCHEDULER_SA, PUSH_SA), PROJECT) == PUSH_SA
    assert audit.push_account((SCHEDULER_SA,), PROJECT) == SCHEDULER_SA
    assert audit.push_account((), PROJECT) == f"PUSH_SERVICE_ACCOUNT@{PROJECT}.iam.gserviceaccount.com"


# ---------------------------------------------------------------- parameters


def _params(**values) -> params.AuditParams:
    return params.validate_params(params.AuditParams, {"target": "gcp", **values})


@pytest.mark.parametrize("values, parameter", [
    ({"services": ["phase9"]}, "services"), ({"services": "nba-phase9-x"}, "services"), ({"services": 5}, "services"),
    ({"lookback_hours": 0}, "lookback_hours"), ({"lookback_hours": -3}, "lookback_hours"),
    ({"lookback_hours": True}, "lookback_hours"), ({"lookback_hours": 10_000}, "lookback_hours"),
    ({"until": "yesterday"}, "until"), ({"until": "2025-13-45T00:00:00Z"}, "until"),
    ({"expected_invokers": ["pubsub-push@example.com"]}, "expected_invokers"),
    ({"expected_invokers": ["user:me@nba-props-platform.iam.gserviceaccount.com"]}, "expected_invokers"),
    ({"expected_invokers": {"phase9": [PUSH_SA]}}, "expected_invokers"),
    ({"expected_invokers": {"phase4": PUSH_SA}}, "expected_invokers"),
    ({"expected_invokers": {"phase4": [PUSH_SA], "4": [PUSH_SA]}}, "expected_invokers"),   # one phase twice
    ({"until": "2025-W01"}, "until"), ({"until": "20251231T080000Z"}, "until"),   # ISO 8601, not RFC 3339
])
def test_bad_input_is_one_sentence_naming_the_parameter(values, parameter):
    with pytest.raises(ParameterError) as caught:
        _params(**values)
    assert caught.value.parameter == parameter and str(caught.value).count(".") >= 1 and "\n" not in str(caught.value)


def test_until_keeps_its_fraction_of_a_second():
    """An instant copied from a log entry as `until` ends the window there: cut to the whole second, the
    entries of the last fraction were left out (on gcp's filter and the sandbox alike), with nothing said."""
    p = _params(until="2025-12-31T01:12:37.9Z", lookback_hours=1)
    assert p.until == "2025-12-31T01:12:37.900000Z"
    assert p.window()[1] == datetime(2025, 12, 31, 1, 12, 37, 900000, tzinfo=UTC)
    assert p.window()[0] == datetime(2025, 12, 31, 0, 12, 37, 900000, tzinfo=UTC)


def test_parameters_normalise_and_default_from_the_registry():
    registry = load_phases()
    p = _params(services=["4", P3, "phase4"], until="2025-12-31T09:00:00+01:00", lookback_hours=2)
    assert p.audited_phases(registry) == ["phase4", "phase3"] and p.until == "2025-12-31T08:00:00Z"
    assert p.window() == (datetime(2025, 12, 31, 6, tzinfo=UTC), datetime(2025, 12, 31, 8, tzinfo=UTC))
    assert p.expected_for(registry.get("phase4")) == (PUSH_SA, SCHEDULER_SA)
    assert _params().audited_phases(registry) == ["phase3", "phase4"]
    other = "other@nba-props-platform.iam.gserviceaccount.com"
    assert _params(expected_invokers=[f"serviceAccount:{other}"]).expected_for(registry.get("phase3")) == (other,)
    by_phase = _params(expected_invokers={"4": [other]})
    assert by_phase.expected_for(registry.get("phase4")) == (other,)
    assert by_phase.expected_for(registry.get("phase3")) == (PUSH_SA, SCHEDULER_SA)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert _params().window(now) == (now - timedelta(hours=24), now)


# ---------------------------------------------------------------- the whole audit, on both targets


def _night(home: Path) -> list[dict]:
    lines = (Path(home) / "logs" / "requests.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    since, until = datetime(2025, 12, 30, 8, tzinfo=UTC), datetime(2025, 12, 31, 8, tzinfo=UTC)
    return [e for e in entries if since <= parse_time(e["timestamp"]) < until]


def _audit(target, **values):
    p = params.validate_params(params.AuditParams, {"target": "gcp", "until": NIGHT, **values})
    scope = audit.audit_scope(target, p)
    access = audit.who_may_call(target, scope)
    tried = audit.who_tried(target, scope, access)
    outages = audit.what_broke(target, scope, access, tried)
    return audit.conclude(scope, access, tried, outages), tried, outages


@pytest.fixture
def gcp_target(fake_apis, sandbox_home, tmp_path):
    """target=gcp on the fakes mirroring the sandbox, Cloud Logging and Pub/Sub in small pages."""
    phases_file = mirrored_phases_file(sandbox_home, tmp_path / "phases.yaml")
    mirror_sandbox(fake_apis, sandbox_home, load_phases(phases_file))
    fake_apis.max_page_size = 37
    endpoints = {name: fake_apis.endpoint for name in ("cloudbuild", "logging", "run", "pubsub", "cloudresourcemanager")}
    target = target_mod.connect("gcp", phases_file=str(phases_file), endpoints=endpoints)
    yield target
    target.close()


def _expect_the_incident(result, outages, night: list[dict], printed: str = PROJECT):
    """`printed`: the project as the fix commands name it (PROJECT on the sandbox, whose id is the real one's)."""
    pushes = [e for e in night if e["httpRequest"]["userAgent"] == PUBSUB_USER_AGENT and e["httpRequest"]["status"] == 403]
    # Scanners got the app's 404 before the fix; the operator's 2xx on Phase 4, which any Google account may
    # call, cannot be told from anyone's.
    probed = {e["httpRequest"]["remoteIp"] for e in night if e["httpRequest"]["status"] == 404}
    assert len(probed) >= 2
    assert result.verdict == "fail"
    assert result.figures == {"public services": 1, "requests analysed": len(night), "refused pushes": len(pushes),
                              "external callers that reached the app": len(probed | {OPERATOR_IP}),
                              "2xx from unexpected callers": 2}
    assert result.summary.startswith(f"{P4} is public (allAuthenticatedUsers); {len(pushes)} Pub/Sub pushes refused: "
                                     f"a pipeline outage, not security working; 2 2xx to callers that could be anyone")
    kinds = {(f.service, f.kind) for f in result.findings}
    assert {(P4, "public_member"), (P3, "refused_pushes"), (P4, "refused_pushes"), (P4, "unexpected_2xx"),
            (P3, "exposure"), (P4, "exposure"), (P3, "unexpected_invoker")} <= kinds
    assert (P3, "public_member") not in kinds and (P3, "unexpected_2xx") not in kinds
    # the night's IAM fix lies between the last push let in and the first refusal the log dates
    for outage in outages:
        assert outage.last_accepted < IAM_FIX_AT <= outage.changed_at < IAM_FIX_AT + timedelta(minutes=10)
        assert [s.short_name for s in outage.subscriptions] == [f"{outage.service}-push"]
    commands = result.fix_commands()
    assert (f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={printed} "
            f"--member=allAuthenticatedUsers --role=roles/run.invoker") in commands
    assert (f"gcloud pubsub subscriptions modify-push-config {P3}-push --project={printed} "
            f"--push-endpoint=https://{P3}-756957797294.us-west2.run.app/process --push-auth-service-account="
            f"{PUSH_SA.replace(PROJECT, printed)}") in commands
    # on the sandbox: under a line saying they are what this would be on gcp, never naming the real project
    assert commands.startswith(GCP_ONLY_HEADER + "\n") == (printed != PROJECT)
    assert (PROJECT in commands) == (printed == PROJECT)


def test_the_incident_night_on_the_sandbox(local_target, sandbox_home):
    result, tried, outages = _audit(local_target)
    night = _night(sandbox_home)
    _expect_the_incident(result, outages, night, printed="PROJECT")
    assert tried.entries == len(night) and sum(tried.per_service.values()) == len(night)
    assert f"Read {len(night):,} request-log entries" in tried.note
    json.dumps(result.to_dict())
    assert result.details["window"] == {"since": "2025-12-30T08:00:00Z", "until": NIGHT}


@pytest.mark.parametrize("services", [[], ["phase4"]])
def test_the_sandbox_request_log_is_read_once_in_place_whatever_the_phases(local_target, sandbox_home, monkeypatch,
                                                                           services):
    """One load of the file for every audited phase, no entry parsed in Python (it was parsed and sorted
    once per phase, then written out again for DuckDB)."""
    loads = []
    load_file = audit.RequestLog.load_file

    def counted(self, path, *args, **kwargs):
        loads.append(Path(path))
        return load_file(self, path, *args, **kwargs)

    monkeypatch.setattr(audit.RequestLog, "load_file", counted)
    monkeypatch.setattr(LocalLogs, "_read_entries", lambda self: pytest.fail("an entry was parsed in Python"))
    _, tried, _ = _audit(local_target, services=services)
    assert loads == [local_target.logs.request_log_file]
    night = [e for e in _night(sandbox_home) if not services or e["resource"]["labels"]["service_name"] == P4]
    assert tried.entries == len(night) and sum(tried.per_service.values()) == len(night)


def test_the_incident_night_on_gcp_pages_to_the_end(gcp_target, fake_apis, sandbox_home):
    result, tried, outages = _audit(gcp_target)
    night = _night(sandbox_home)
    _expect_the_incident(result, outages, night)
    pages = [r for r in fake_apis.requests if r.path == "/v2/entries:list"]
    assert tried.entries == len(night) and len(pages) >= len(night) // 37   # many pages, every entry
    assert all('timestamp>="2025-12-30T08:00:00Z"' in r.body["filter"] and 'timestamp<"2025-12-31T08:00:00Z"'
               in r.body["filter"] and 'resource.labels.location="us-west2"' in r.body["filter"] for r in pages)
    # policy version 3 was asked for, for each service (a GET) and for the project (Resource Manager's POST)
    asked = [r for r in fake_apis.requests if r.path.endswith(":getIamPolicy") and r.method == "GET"]
    assert asked and all(r.param("options.requestedPolicyVersion") == "3" for r in asked)
    (project,) = [r for r in fake_apis.requests if r.path == f"/v3/projects/{PROJECT}:getIamPolicy"]
    assert project.method == "POST" and project.body == {"options": {"requestedPolicyVersion": 3}}
    assert result.details["project_policy"] == {"project": PROJECT, "read": True, "note": ""}


@pytest.mark.parametrize("refusal, said", [
    ((403, google_error(403, "Permission 'pubsub.subscriptions.list' denied")), "roles/pubsub.viewer"),
    (service_disabled("pubsub.googleapis.com", "Cloud Pub/Sub API", "756957797294"),
     "gcloud services enable pubsub.googleapis.com --project=nba-props-platform"),
])
def test_a_refused_subscription_list_is_said_and_the_audit_carries_on(gcp_target, fake_apis, refusal, said):
    fake_apis.fault(f"/v1/projects/{PROJECT}/subscriptions", refusal)
    result, tried, outages = _audit(gcp_target, services=["phase4"])
    assert list(tried.per_service) == [P4] and [o.service for o in outages] == [P4]
    assert result.verdict == "fail" and [o.subscriptions for o in outages] == [None]
    assert said in outages[0].subscriptions_note and "carries on" in outages[0].subscriptions_note
    assert "SUBSCRIPTION" in result.fix_commands()


def test_gcp_a_deleted_push_account_and_an_expired_grant_let_no_one_in(gcp_target, fake_apis):
    """Phase 4's policy as IAM gives it back once the push account was deleted (and made again) and a contractor's
    expirable access ended: neither is an invoker; the push account is said to have lost its grant, and fixed."""
    deleted = f"deleted:serviceAccount:{PUSH_SA}?uid=123456789012345678901"
    expired = {"title": "incident access", "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")'}
    (name,) = [n for n in fake_apis.run_policies if n.endswith(f"/services/{P4}")]
    fake_apis.run_policies[name] = {"version": 3, "etag": "BwYxAbC0dE8=", "bindings": [
        {"role": "roles/run.invoker", "members": [f"serviceAccount:{SCHEDULER_SA}", deleted]},
        {"role": "roles/run.invoker", "members": ["user:contractor@example.com"], "condition": expired}]}
    result, tried, outages = _audit(gcp_target, services=["phase4"], until="2025-12-30T12:00:00Z")   # a quiet window
    (access,) = result.details["services"]
    assert {m["member"]: m["judged"] for m in access["members"] if m["where"] == "service"} == {
        f"serviceAccount:{SCHEDULER_SA}": "expected", deleted: "deleted", "user:contractor@example.com": "expired"}
    kinds = {(f.severity, f.kind) for f in result.findings}
    assert ("warning", "deleted_member") in kinds and ("info", "expired_grant") in kinds
    assert not {k for _, k in kinds} & {"unexpected_invoker", "public_member"}
    (lost,) = [f for f in result.findings if f.kind == "deleted_member"]
    assert lost.fix[0] == (f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
                           f"--member=serviceAccount:{PUSH_SA} --role=roles/run.invoker --condition=None")
    assert result.summary.startswith(f"expected invokers left without a grant (account deleted): {PUSH_SA}")
    assert "unexpected invokers" not in result.summary and "contractor" not in result.summary


def test_a_fixed_sandbox_passes(make_sandbox):
    """The audit's own fixes applied (pushes signed, no public or unexpected members): pass."""
    home = make_sandbox()
    with target_mod.connect("local", home=home) as tg:
        for phase in ("phase3", "phase4"):
            tg.services.set_iam_policy(phase, {"bindings": [{"role": "roles/run.invoker",
                                                             "members": sorted(EXPECTED)}]})
        state_file = Path(home) / "state.json"
        state = json.loads(state_file.read_text())
        for sub in state["pubsub_subscriptions"]:
            sub["pushConfig"]["oidcToken"] = {"serviceAccountEmail": PUSH_SA}
        for record in state["services"].values():
            record["ingress"] = "internal"
        state_file.write_text(json.dumps(state))
        result, tried, _ = _audit(tg, until="2025-12-30T12:00:00Z")   # a quiet window before the night
    assert tried.entries == 0 and result.verdict == "pass", result.summary
    # The services' policies, the project's (its owners, editors and Google agents listed, not judged) and its
    # folder's and organisation's were read: the summary says so, and nothing is left to a read-only command.
    assert result.summary == (f"The policies of the 2 services and of project {PROJECT} and its folder and "
                              f"organisation name no unexpected invoker; no pushes refused, no external caller "
                              f"reached the app in 0 requests.")
    assert "Only expected invokers may call" not in result.summary
    assert result.fix_commands() == "# Nothing to fix."
    assert result.details["not_read"] == {"what": "", "checks": []}
    assert [a["read"] for a in result.details["ancestry"]["ancestors"]] == [True, True]
    assert audit.ancestors_policy_command(PROJECT) == f"gcloud projects get-ancestors-iam-policy {PROJECT}"


def test_the_project_check_lists_every_invoke_role_read_only():
    roles = " ".join(audit.commands.INVOKER_ROLES)
    assert "roles/run.servicesInvoker" in roles and "roles/editor" in roles
    assert audit.project_invokers_command(PROJECT) == (
        f"gcloud projects get-iam-policy {PROJECT} --flatten='bindings[].members' --filter='bindings.role=({roles}) "
        f"OR bindings.role~^projects/ OR bindings.role~^organizations/' "
        f"--format='table(bindings.role, bindings.members, bindings.condition.title)'")
    # callers past IAM whose grant the audit did not read: named so by default (the project's policy unread)
    assert "(project, folder, organisation: not read)" in audit.ServiceFacts(P4, False, True).granted_above


def test_the_requests_chart_counts_in_whole_requests():
    """A few requests per bar gave matplotlib's default ticks 2.5, 7.5, 12.5: requests are whole."""
    entries = [_push(0, 403, "/process"), _push(5, 403, "/process"), _push(40, 200, "/process")]
    log = _classified(entries)
    tried = audit.WhoTried(since=T0, until=T0 + timedelta(hours=2), entries=len(entries), per_service={P4: len(entries)},
                           bucket_minutes=30, tables=log.analyse(T0, 30))
    fig = audit.requests_chart(tried)
    ticks = [t for ax in fig.axes for t in ax.get_yticks() if ax.get_ylabel() == "requests"]
    assert ticks and all(float(t).is_integer() for t in ticks)
