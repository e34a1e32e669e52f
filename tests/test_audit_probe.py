"""Runbook 05 after a hostile probe (/work/probes/audit): a look-alike Google service agent is judged, a role the
kit cannot judge held by a named member on the service is said, signed pushes refused after losing their grant date
no policy change, refused Cloud Scheduler calls are an outage, a printed --condition survives any text, and a public
member is said for who can reach the service. After /work/probes/audit_fidelity: a deleted account and an expired
grant grant nothing, and the summary marks conditional grants and keeps every kind of warning."""
from __future__ import annotations

import shlex
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from runbook_lib import audit
from runbook_lib.audit.inherited import judge_inherited_grants
from runbook_lib.audit.model import InheritedPolicy
from runbook_lib.audit.policy import is_google_agent, public_meaning
from runbook_lib.audit.commands import _condition_flag
from runbook_lib.audit.tried import WhoTried, scheduler_findings
from runbook_lib.local.sandbox import PUBSUB_USER_AGENT, SCHEDULER_USER_AGENT
from runbook_lib.phases import load_phases
from test_audit import EXPECTED, P4, PROJECT, PUSH_SA, SCHEDULER_SA, T0, _entry, _info, _judge, _sub

LOOK_ALIKE = f"serviceAccount:service-756957797294@{PROJECT}.iam.gserviceaccount.com"


@pytest.mark.parametrize("member, google", [
    ("serviceAccount:service-756957797294@serverless-robot-prod.iam.gserviceaccount.com", True),
    ("serviceAccount:service-756957797294@gcp-sa-pubsub.iam.gserviceaccount.com", True),
    (LOOK_ALIKE, False),                                      # anyone may name an account of their project so
    ("serviceAccount:service-756957797294@evil-project.iam.gserviceaccount.com", False),
    ("serviceAccount:robot@gcp-sa-pubsub.iam.gserviceaccount.com", False),
])
def test_only_googles_own_agent_projects_hold_service_agents(member, google):
    assert is_google_agent(member) is google


def test_a_look_alike_service_agent_holding_an_invoke_role_on_the_project_is_an_unexpected_invoker():
    members, findings = audit.policy.judge_bindings(
        P4, {"bindings": [{"role": "roles/run.serviceAgent", "members": [LOOK_ALIKE]}]}, EXPECTED,
        lambda *args: "remove", where="project")
    assert [m["judged"] for m in members] == ["unexpected"]
    (finding,) = findings
    assert (finding.severity, finding.kind) == ("warning", "unexpected_invoker") and LOOK_ALIKE in finding.what


def test_a_named_member_with_a_role_the_kit_cannot_judge_keeps_its_callers_from_the_expected_class():
    role = f"projects/{PROJECT}/roles/pipelineCaller"
    access = _judge([{"role": role, "members": ["user:mallory@gmail.com"]},
                     {"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}])
    (finding,) = access.findings
    assert finding.kind == "unresolved_role" and finding.what.startswith("user:mallory@gmail.com holds")
    assert finding.fix[0].startswith("gcloud iam roles describe pipelineCaller")
    assert ("user:mallory@gmail.com", "unresolved") in {(m["member"], m["judged"]) for m in access.members}
    (facts,) = audit.tried._facts([access], audit.AuditScope(
        phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA,)}, since=T0, until=T0, project=PROJECT))
    assert not facts.members_expected


def _classes(signed: tuple[str, ...]) -> dict:
    """Signed pushes to /process-date let in, then refused from 60 minutes (their account lost its grant), and a
    caller's 2xx in between."""
    entries = [_entry(m, 200, PUBSUB_USER_AGENT, "66.102.8.65", path="/process-date") for m in (0, 20, 40)]
    entries += [_entry(m, 403, PUBSUB_USER_AGENT, "66.102.8.65", path="/process-date") for m in (60, 80)]
    entries += [_entry(30, 200, ip="198.51.100.7", path="/process-date")]
    log = audit.RequestLog()
    log.load_entries(entries)
    log.classify([audit.ServiceFacts(P4, False, True, signed_push_paths=signed)])
    try:
        return dict(log.query("SELECT ip, caller_class FROM requests WHERE ip = '198.51.100.7'").values.tolist())
    finally:
        log.close()


def test_signed_pushes_refused_after_their_grant_went_date_no_change_of_who_may_call():
    assert _classes(()) == {"198.51.100.7": "external"}          # token-less (or not listed): allUsers went
    assert _classes(("/process-date",)) == {"198.51.100.7": "expected_invoker"}


def test_cloud_scheduler_calls_refused_all_window_are_an_outage_with_the_command_to_find_the_job():
    log = audit.RequestLog()
    log.load_entries([_entry(60 * h, 403, SCHEDULER_USER_AGENT, "107.178.194.1", path="/process-date")
                      for h in range(8)])
    log.classify([audit.ServiceFacts(P4, False, True)])
    tables = log.analyse(T0, 60)
    log.close()
    tried = WhoTried(since=T0, until=T0 + timedelta(hours=8), entries=8, per_service={P4: 8}, bucket_minutes=60,
                     tables=tables)
    access = _judge([{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}])
    scope = audit.AuditScope(phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA,)}, since=T0,
                             until=T0, project=PROJECT)
    (finding,) = scheduler_findings(tried, [access], scope)
    assert (finding.severity, finding.kind) == ("warning", "refused_scheduler")
    assert finding.what.startswith(f"8 Cloud Scheduler call(s) to {P4} (/process-date) were refused by IAM")
    assert finding.fix == [f"gcloud scheduler jobs list --location=us-west2 --project={PROJECT}"]


@pytest.mark.parametrize("title, description", [
    ("oncall; ops", "ticket OPS-1, approved by sec"), ("a,b;c|d", "e~f"), ("plain", "")])
def test_a_printed_condition_splits_back_into_exactly_its_values_as_gcloud_reads_it(title, description):
    condition = {"expression": 'request.time < timestamp("2026-01-01T00:00:00Z")', "title": title,
                 "description": description}
    flag = shlex.split(_condition_flag(condition))[0].removeprefix("--condition=")
    separator = ","
    if flag.startswith("^"):    # gcloud topic escaping: ^D^ makes D the separator
        separator, flag = flag[1:].split("^", 1)
    parsed = dict(part.split("=", 1) for part in flag.split(separator))
    assert parsed == {k: v for k, v in condition.items() if v}


@pytest.mark.parametrize("ingress, said", [
    ("all", "anyone on the internet, no token needed"),
    ("internal", "the internet cannot reach it"),
    ("internal-and-cloud-load-balancing", "through an external Application Load Balancer"),
    ("none", "by nothing while its ingress is none"),
])
def test_a_public_member_is_said_for_who_can_reach_the_service(ingress, said):
    access = _judge([{"role": "roles/run.invoker", "members": ["allUsers"]}], ingress=ingress)
    (finding,) = [f for f in access.findings if f.kind == "public_member"]
    assert finding.severity == "critical" and said in finding.what
    assert said in public_meaning("allUsers", ingress)


# ---------------------------------------------------------------- after /work/probes/audit_fidelity: principals that
# grant nothing (a deleted account, an expired grant), conditional grants in the summary, and its length

DELETED_PUSH = f"deleted:serviceAccount:{PUSH_SA}?uid=123456789012345678901"
EXPIRED = {"title": "incident access", "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")'}
UNTIL = datetime(2025, 6, 1, tzinfo=timezone.utc)


def _scope(until=UNTIL) -> audit.AuditScope:
    return audit.AuditScope(phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA, SCHEDULER_SA)},
                            since=until - timedelta(hours=24), until=until, project=PROJECT)


def _quiet() -> WhoTried:
    empty = {name: pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
             for name, columns in (("refused_pushes", ("refused",)), ("reached_app", ("ip", "ok_2xx")))}
    return WhoTried(since=T0, until=T0, entries=0, per_service={P4: 0}, bucket_minutes=60, tables=empty)


def _judged_at(bindings: list[dict], until=UNTIL) -> audit.ServiceAccess:
    return audit.judge_access(load_phases().get("phase4"), _info(), {"version": 3, "bindings": bindings}, EXPECTED,
                              PROJECT, until=until)


def test_a_deleted_expected_invoker_is_no_invoker_and_its_live_account_is_granted_again():
    """IAM names a deleted account's grant deleted:serviceAccount:EMAIL?uid=N: it lets no one in, and the account
    made again with that email does not get it. The push account was an expected invoker: said lost, fixed."""
    access = _judge([{"role": "roles/run.invoker", "members": [f"serviceAccount:{SCHEDULER_SA}", DELETED_PUSH]},
                     {"role": "roles/viewer", "members": ["user:a@example.com"], "condition": EXPIRED}])
    assert {m["member"]: m["judged"] for m in access.members}[DELETED_PUSH] == "deleted"
    (finding,) = access.findings
    assert (finding.severity, finding.kind) == ("warning", "deleted_member")
    assert finding.what.startswith(f"{PUSH_SA}, an expected invoker of {P4}, was deleted: its grant of "
                                   f"roles/run.invoker on {P4} names the deleted account ({DELETED_PUSH}), so the "
                                   f"account now named {PUSH_SA} may not invoke {P4}.")
    assert finding.fix == [
        f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
        f"--member=serviceAccount:{PUSH_SA} --role=roles/run.invoker --condition=None",
        f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
        f"--member='{DELETED_PUSH}' --role=roles/run.invoker --condition=None"]
    assert access.invoker_members() == {f"serviceAccount:{SCHEDULER_SA}"}
    assert access.lost_invokers(EXPECTED) == [PUSH_SA]
    assert audit.services_table([access])["unexpected invokers"].item() == 0
    # a caller past IAM held the scheduler's token (or a holder's above): no unexpected member makes it an "invoker"
    (facts,) = audit.tried._facts([access], _scope())
    assert facts.members_expected
    # a token-less subscription's fix grants the push account, which holds no grant that works
    outage = audit.judge_pushes(access, None, [_sub()], "", PUSH_SA, PROJECT)
    assert outage.findings[0].fix[-1].startswith(f"gcloud run services add-iam-policy-binding {P4} ")
    result = audit.conclude(_scope(), [access], _quiet(), [])
    assert result.verdict == "warn" and "unexpected invoker" not in result.summary
    assert result.summary == f"expected invokers left without a grant (account deleted): {PUSH_SA}."


@pytest.mark.parametrize("bindings", [
    [{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}", DELETED_PUSH]}],   # granted again
    [{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}", "deleted:user:ex@example.com?uid=7"]}],
    [{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}", "deleted:group:ops@example.com?uid=8"]}],
])
def test_a_deleted_account_that_left_no_expected_invoker_without_a_grant_is_cleanup(bindings):
    access = _judge(bindings)
    deleted = [m for m in bindings[0]["members"] if m.startswith("deleted:")][0]
    (finding,) = access.findings
    assert (finding.severity, finding.kind) == ("info", "deleted_member")
    assert finding.what == (f"{deleted} holds roles/run.invoker on {P4}, but that account was deleted: the grant lets "
                            f"no one in; removing it tidies the policy.")
    assert finding.fix == [f"gcloud run services remove-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
                           f"--member={shlex.quote(deleted)} --role=roles/run.invoker"]
    assert deleted not in access.invoker_members() and access.lost_invokers(EXPECTED) == []
    result = audit.conclude(_scope(), [access], _quiet(), [])
    assert result.verdict == "pass" and "deleted" not in result.summary


def test_a_deleted_expected_invoker_on_the_project_is_lost_unless_the_service_grants_it():
    project = InheritedPolicy("project", {"version": 1, "bindings": [
        {"role": "roles/run.invoker", "members": [DELETED_PUSH]}]})
    scheduler = _judge([{"role": "roles/run.invoker", "members": [f"serviceAccount:{SCHEDULER_SA}"]}])
    lost = judge_inherited_grants(scheduler, project, None, EXPECTED, PROJECT)
    (finding,) = lost.findings
    assert (finding.severity, finding.kind, finding.where) == ("warning", "deleted_member", "project")
    assert finding.fix == [
        f"gcloud run services add-iam-policy-binding {P4} --region=us-west2 --project={PROJECT} "
        f"--member=serviceAccount:{PUSH_SA} --role=roles/run.invoker",
        f"gcloud projects remove-iam-policy-binding {PROJECT} --member='{DELETED_PUSH}' --role=roles/run.invoker"]
    kept = judge_inherited_grants(_judge([{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}]),
                                  project, None, EXPECTED, PROJECT)
    assert [(f.severity, f.kind) for f in kept.findings] == [("info", "deleted_member")]


def test_an_expired_grant_is_listed_with_its_condition_not_judged():
    """IAM's expirable access, request.time < timestamp("T"), grants nothing once T is past: at the window's end
    it is expired, listed, no invoker and no warning; before T it is a conditional grant as any other."""
    bindings = [{"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]},
                {"role": "roles/run.invoker", "members": ["user:contractor@example.com"], "condition": EXPIRED}]
    access = _judged_at(bindings)
    (member,) = [m for m in access.members if m["member"] == "user:contractor@example.com"]
    assert member["judged"] == "expired" and member["condition"] == f"incident access: {EXPIRED['expression']}"
    assert [(f.severity, f.kind) for f in access.findings] == [("info", "expired_grant")]
    assert "expired at 2025-01-01T00:00:00Z" in access.findings[0].what
    assert access.invoker_members() == {f"serviceAccount:{PUSH_SA}"}
    assert audit.services_table([access])["unexpected invokers"].item() == 0
    assert audit.tried._facts([access], _scope())[0].members_expected
    table = audit.members_table([access])
    assert table.loc[table["member"] == "user:contractor@example.com", "judged"].item() == "expired"
    result = audit.conclude(_scope(), [access], _quiet(), [])
    assert result.verdict == "pass" and "contractor" not in result.summary
    # a window that ends before the grant does: a conditional unexpected invoker, said so in the summary
    before = _judged_at(bindings, until=datetime(2024, 12, 1, tzinfo=timezone.utc))
    assert [(f.severity, f.kind) for f in before.findings] == [("warning", "unexpected_invoker")]
    summary = audit.conclude(_scope(), [before], _quiet(), []).summary
    assert summary == "unexpected invokers: user:contractor@example.com (conditional)."


@pytest.mark.parametrize("expression", [
    'request.time < timestamp("2025-01-01T00:00:00Z") || request.path.startsWith("/x")',   # not the documented form
    'request.time > timestamp("2025-01-01T00:00:00Z")',
    'request.time < timestamp("next year")',
])
def test_any_other_condition_stays_conditional(expression):
    access = _judged_at([{"role": "roles/run.invoker", "members": ["user:contractor@example.com"],
                          "condition": {"title": "t", "expression": expression}}])
    assert [m["judged"] for m in access.members] == ["unexpected"]
    assert [f.kind for f in access.findings] == ["unexpected_invoker"]


def test_the_summary_names_a_few_unexpected_invokers_and_keeps_every_other_warning():
    """Long principals (workload identity federation) listed in full filled the summary's 400 characters and cut
    off the warnings after them, here a role the kit cannot judge."""
    pool = "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github-pool"
    principals = [f"{pool}/attribute.repository/nba-props/{name}" for name in ("pipeline", "backfills", "ops")]
    access = _judge([
        {"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}", *principals,
                                                  "group:data-platform-oncall@nba-props-platform-team.example.com",
                                                  "user:a@example.com"]},
        {"role": f"projects/{PROJECT}/roles/customInvoker", "members": ["user:bob@example.com"]}])
    summary = audit.conclude(_scope(), [access], _quiet(), []).summary
    assert summary.startswith("unexpected invokers: group:data-platform-oncall@nba-props-platform-team.example.com, "
                              "+4 more; user:bob@example.com holds projects/nba-props-platform/roles/customInvoker")
    assert len(summary) <= 400
    few = audit.verdict._few
    assert few(["user:a", "user:b", "user:c", "user:d"]) == "user:a, user:b, user:c, +1 more"
    assert few(["x" * 200, "user:b"]) == "2 (see the members table)"
