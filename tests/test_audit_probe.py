"""Runbook 05 after a hostile probe (/work/probes/audit): a look-alike Google service agent is judged, a role the
kit cannot judge held by a named member on the service is said, signed pushes refused after losing their grant date
no policy change, refused Cloud Scheduler calls are an outage, a printed --condition survives any text, and a public
member is said for who can reach the service."""
from __future__ import annotations

import shlex
from datetime import timedelta

import pytest

from runbook_lib import audit
from runbook_lib.audit.access import is_google_agent, public_meaning
from runbook_lib.audit.commands import _condition_flag
from runbook_lib.audit.tried import WhoTried, scheduler_findings
from runbook_lib.local.sandbox import PUBSUB_USER_AGENT, SCHEDULER_USER_AGENT
from runbook_lib.phases import load_phases
from test_audit import EXPECTED, P4, PROJECT, PUSH_SA, T0, _entry, _judge

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
    members, findings = audit.access._judge_bindings(
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
