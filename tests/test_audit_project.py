"""Runbook 05 reads the project's IAM policy too: invoke roles granted there reach every service. The judgement
(unit), the request-log class of callers past IAM, and target=gcp against the fakes: a project-level allUsers
invoker is critical, and a 403 on projects.getIamPolicy is said while the audit carries on."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.errors import permission_denied
from fakes.fixtures import mirror_sandbox, mirrored_phases_file
from runbook_lib import audit, params
from runbook_lib.audit.inherited import judge_inherited_grants
from runbook_lib.audit.model import InheritedPolicy
from runbook_lib import target as target_mod
from runbook_lib.local.logs import request_entry
from runbook_lib.phases import load_phases
from runbook_lib.services import ServiceInfo

P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
PROJECT = "nba-props-platform"
PUSH_SA = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
EXPECTED = {f"serviceAccount:{PUSH_SA}"}
NIGHT = "2025-12-31T08:00:00Z"
AGENT = "serviceAccount:service-756957797294@serverless-robot-prod.iam.gserviceaccount.com"


def _access(phase: str = "phase4") -> audit.ServiceAccess:
    info = ServiceInfo(phase=phase, service=load_phases().get(phase).service, region="us-west2", url=None,
                       revision="r", commit_sha="abc1234", supports_prefix=True, image="i", created="", running=True,
                       public=False, ingress="internal", invoker_iam_disabled=False)
    return audit.judge_access(load_phases().get(phase), info, {"version": 3, "bindings": [
        {"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]}]}, EXPECTED, PROJECT)


def _with_project(bindings: list[dict], phase: str = "phase4", ancestry: audit.Ancestry | None = None
                  ) -> audit.ServiceAccess:
    """A service judged with its project's policy (`bindings`) and `ancestry` (None: not looked at)."""
    policy = InheritedPolicy("project", {"version": 3, "bindings": bindings, "etag": "x"})
    return judge_inherited_grants(_access(phase), policy, ancestry, EXPECTED, PROJECT)


# ---------------------------------------------------------------- the judgement


def test_allusers_invoker_on_the_project_makes_every_service_public_with_the_project_removal():
    access = _with_project([{"role": "roles/run.invoker", "members": ["allUsers"]}])
    (finding,) = access.findings
    assert (finding.severity, finding.kind, finding.where) == ("critical", "public_member", "project")
    assert finding.what == ("allUsers holds roles/run.invoker on the project, which every service in it "
                            "inherits: anyone on the internet, no token needed.")
    assert finding.fix == [f"gcloud projects remove-iam-policy-binding {PROJECT} --member=allUsers "
                           f"--role=roles/run.invoker"]
    assert access.public and access.open_to_all_users and access.project_policy_read
    row = audit.members_table([access]).iloc[-1]
    assert (row["member"], row["where"], row["judged"]) == ("allUsers", "project", "public")


def test_project_grants_are_judged_as_the_services_are_and_conditions_shown():
    until = {"title": "until 2026", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}
    access = _with_project([
        {"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"], "condition": until},
        {"role": "roles/run.developer", "members": ["user:dev@example.com"]},
        {"role": "roles/run.invoker", "members": [f"serviceAccount:{PUSH_SA}"]},
        {"role": "roles/owner", "members": ["user:owner@example.com"]},
        {"role": "roles/run.serviceAgent", "members": [AGENT]},
        {"role": "roles/viewer", "members": ["allUsers"]},          # no run.routes.invoke: not listed
    ])
    kinds = [(f.severity, f.kind) for f in access.findings]
    assert kinds == [("warning", "conditional_public"), ("warning", "unexpected_invoker")] and not access.public
    conditional, unexpected = access.findings
    assert conditional.fix == [f"gcloud projects remove-iam-policy-binding {PROJECT} --member=allAuthenticatedUsers "
                               f"--role=roles/run.invoker --condition='expression=request.time < timestamp("
                               f"'\"'\"'2026-01-01T00:00:00Z'\"'\"'),title=until 2026'"]
    # the project's policy holds a conditional binding: an unconditional removal says --condition=None
    assert unexpected.fix == [f"gcloud projects remove-iam-policy-binding {PROJECT} --member=user:dev@example.com "
                              f"--role=roles/run.developer --condition=None"]
    assert unexpected.what == ("user:dev@example.com holds roles/run.developer on the project, so it may call "
                               "every service in it, but is not an expected invoker.")
    judged = {(m["member"], m["where"]): m["judged"] for m in access.members}
    assert judged == {(f"serviceAccount:{PUSH_SA}", "service"): "expected",
                      ("allAuthenticatedUsers", "project"): "public", ("user:dev@example.com", "project"): "unexpected",
                      (f"serviceAccount:{PUSH_SA}", "project"): "expected",
                      ("user:owner@example.com", "project"): "administrator", (AGENT, "project"): "google_agent"}
    assert "until 2026: request.time" in next(m["condition"] for m in access.members if m["judged"] == "public")


def test_one_project_grant_found_on_every_service_is_one_finding_naming_them():
    bindings = [{"role": "roles/run.invoker", "members": ["allUsers"]}]
    scope = audit.AuditScope(phases=tuple(load_phases().get(p) for p in ("phase3", "phase4")),
                             expected={"phase3": (PUSH_SA,), "phase4": (PUSH_SA,)}, since=None, until=None,
                             project=PROJECT)
    tried = audit.WhoTried(since=None, until=None, entries=0, per_service={}, bucket_minutes=60, tables={
        "refused_pushes": _empty("refused"), "reached_app": _empty("ip", "ok_2xx")})
    result = audit.conclude(scope, [_with_project(bindings, "phase3"), _with_project(bindings, "phase4")], tried, [])
    (finding,) = [f for f in result.findings if f.kind == "public_member"]
    assert finding.service == f"{P3}, {P4}" and result.verdict == "fail"
    assert result.summary.startswith(f"{P3} is public (allUsers on the project); {P4} is public (allUsers on the "
                                     f"project)")
    assert result.fix_commands().count("gcloud projects remove-iam-policy-binding") == 1


def _empty(*columns):
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})


def test_a_policy_not_read_is_said_with_the_role_and_the_project_command_kept():
    from runbook_lib.errors import AccessDenied

    class Refusing:
        def project_iam_policy(self):
            raise AccessDenied("Resource Manager denied get_iam_policy in project p: the caller lacks a permission")

    class Target:
        services = Refusing()

    policy = audit.read_project_policy(Target(), PROJECT)
    assert not policy.read and "resourcemanager.projects.getIamPolicy" in policy.not_read
    assert "roles/iam.securityReviewer" in policy.not_read and "carries on" in policy.not_read
    # in the words every policy above the services is said not read in
    assert policy.not_read == (f"The IAM policy of project {PROJECT} could not be read (Resource Manager denied "
                               f"get_iam_policy in project p: the caller lacks a permission); reading it takes "
                               f"resourcemanager.projects.getIamPolicy on the project, e.g. roles/iam.securityReviewer: "
                               f"its grants reach every service in it. The audit carries on without it.")
    access = [judge_inherited_grants(_access(phase), policy, None, EXPECTED, PROJECT) for phase in ("phase3", "phase4")]
    assert not any(a.findings for a in access) and not any(a.project_policy_read for a in access)
    # said once by the verdict, naming every service, whose own policies are still judged
    scope = audit.AuditScope(phases=tuple(load_phases().get(p) for p in ("phase3", "phase4")),
                             expected={"phase3": (PUSH_SA,), "phase4": (PUSH_SA,)}, since=None, until=None,
                             project=PROJECT)
    tried = audit.WhoTried(since=None, until=None, entries=0, per_service={}, bucket_minutes=60, tables={
        "refused_pushes": _empty("refused"), "reached_app": _empty("ip", "ok_2xx")})
    result = audit.conclude(scope, access, tried, [])
    (finding,) = result.findings
    assert (finding.severity, finding.kind, finding.what) == ("info", "project_policy_not_read", policy.not_read)
    assert finding.service == f"{P3}, {P4}" and finding.where == "project" and result.verdict == "pass"
    assert result.details["project_policy"] == {"project": PROJECT, "read": False, "note": policy.not_read}
    assert [s["project_policy_note"] for s in result.details["services"]] == [policy.not_read] * 2
    assert audit.project_invokers_command(PROJECT) in result.checks


# ---------------------------------------------------------------- the request-log class of callers past IAM


def test_callers_past_iam_name_the_project_grants_that_may_explain_them():
    access = _with_project([{"role": "roles/owner", "members": ["user:owner@example.com"]},
                            {"role": "roles/run.serviceAgent", "members": [AGENT]}])
    scope = audit.AuditScope(phases=(load_phases().get("phase4"),), expected={"phase4": (PUSH_SA,)}, since=None,
                             until=None, project=PROJECT)
    (facts,) = audit.tried._facts([access], scope)
    assert facts.members_expected   # the owner and Google's agent are named, not judged as invokers
    log = audit.RequestLog()
    try:
        log.load_entries([request_entry(project=PROJECT, service=P4, revision="r", region="us-west2", method="POST",
                                        url=f"https://{P4}.run.app/process-date", status=200, remote_ip="198.51.100.7",
                                        user_agent="curl/8", latency_s=0.1, response_size=1,
                                        timestamp=_when("2025-12-30T20:00:00Z"))])
        log.classify([facts])
        classes = log.caller_classes()
    finally:
        log.close()
    (who,) = classes.loc[classes["caller_class"] == "expected_invoker", "who"]
    assert who.endswith(f"or a holder of an invoke role on the project (user:owner@example.com (roles/owner), {AGENT} "
                        f"(roles/run.serviceAgent)), or a holder of one on its folder or organisation (not read)")
    unread = judge_inherited_grants(_access(), InheritedPolicy("project", None, "refused"), None, EXPECTED, PROJECT)
    assert unread.granted_above().endswith("(project, folder, organisation: not read)")


def _when(text):
    from runbook_lib.formats import parse_time

    return parse_time(text)


# ---------------------------------------------------------------- target=gcp against the fakes


@pytest.fixture
def gcp_target(fake_apis, sandbox_home, tmp_path):
    phases_file = mirrored_phases_file(sandbox_home, tmp_path / "phases.yaml")
    mirror_sandbox(fake_apis, sandbox_home, load_phases(phases_file))
    endpoints = {name: fake_apis.endpoint for name in ("cloudbuild", "logging", "run", "pubsub", "cloudresourcemanager")}
    target = target_mod.connect("gcp", phases_file=str(phases_file), endpoints=endpoints)
    yield target
    target.close()


def _audit(target):
    p = params.validate_params(params.AuditParams, {"target": "gcp", "until": NIGHT, "services": ["phase3"]})
    scope = audit.audit_scope(target, p)
    access = audit.who_may_call(target, scope)
    tried = audit.who_tried(target, scope, access)
    return audit.conclude(scope, access, tried, audit.what_broke(target, scope, access, tried)), access


def test_gcp_a_project_level_allusers_invoker_is_critical(gcp_target, fake_apis):
    fake_apis.project_policies[PROJECT]["bindings"].append({"role": "roles/run.invoker", "members": ["allUsers"]})
    result, (access,) = _audit(gcp_target)
    assert access.public and result.verdict == "fail"
    assert result.summary.startswith(f"{P3} is public (allUsers on the project)")
    critical = [f for f in result.findings if f.severity == "critical" and f.where == "project"]
    assert [f.fix for f in critical] == [[f"gcloud projects remove-iam-policy-binding {PROJECT} --member=allUsers "
                                          f"--role=roles/run.invoker"]]
    assert result.figures["public services"] == 1


def test_gcp_a_refused_project_policy_is_said_and_the_audit_carries_on(gcp_target, fake_apis):
    fake_apis.fault(f"/v3/projects/{PROJECT}:getIamPolicy",
                    permission_denied("resourcemanager.projects.getIamPolicy", f"projects/{PROJECT}",
                                      "cloudresourcemanager.googleapis.com"))
    result, (access,) = _audit(gcp_target)
    assert not access.project_policy_read and result.verdict == "fail"   # the night's refused pushes, still found
    assert "project policy not read (needs roles/iam.securityReviewer)" in result.summary
    (note,) = [f for f in result.findings if f.kind == "project_policy_not_read"]
    assert "Resource Manager denied get_iam_policy" in note.what and "roles/iam.securityReviewer" in note.what
    assert result.details["project_policy"]["read"] is False
    # what it could not read, it says how to list, read-only
    assert audit.project_invokers_command(PROJECT) in result.fix_commands()
    assert [m["where"] for m in access.members] == ["service"] * len(access.members)


def test_sandbox_without_a_project_policy_carries_on(make_sandbox):
    home = make_sandbox()
    state_file = Path(home) / "state.json"
    state = json.loads(state_file.read_text())
    del state["project_iam_policy"]
    state_file.write_text(json.dumps(state))
    with target_mod.connect("local", home=home) as tg:
        policy = audit.read_project_policy(tg, PROJECT)
    assert not policy.read and "runbook sandbox reset" in policy.not_read


def test_gcp_the_project_policy_read_is_retried_as_every_read_is(gcp_target, fake_apis):
    from fakes.errors import unavailable

    fake_apis.fault(f"/v3/projects/{PROJECT}:getIamPolicy", unavailable(), times=1)
    policy = gcp_target.services.project_iam_policy()
    assert {b["role"] for b in policy["bindings"]} >= {"roles/owner", "roles/editor"} and policy["etag"]
    assert fake_apis.paths("POST").count(f"/v3/projects/{PROJECT}:getIamPolicy") == 2


# ---------------------------------------------------------------- the project's folders and organisation

FOLDER, ORG = "folders/290611488015", "organizations/418329165803"


def _with_ancestors(policies: dict[str, dict | Exception], phase: str = "phase4") -> audit.ServiceAccess:
    """A service judged with its project's (empty) policy and an ancestry whose policies are `policies`
    (resource -> policy, or the refusal its read raises), read through the audit's own reader."""
    class Services:
        def project_ancestors(self):
            return list(policies)

        def ancestor_iam_policy(self, resource):
            answer = policies[resource]
            if isinstance(answer, Exception):
                raise answer
            return answer

    class Target:
        services = Services()

    return _with_project([], phase, audit.read_ancestry(Target(), PROJECT))


def _policy(*bindings):
    return {"version": 3, "bindings": list(bindings), "etag": "x"}


def _scope(*phases):
    return audit.AuditScope(phases=tuple(load_phases().get(p) for p in phases),
                            expected={p: (PUSH_SA,) for p in phases}, since=None, until=None, project=PROJECT)


def _quiet():
    return audit.WhoTried(since=None, until=None, entries=0, per_service={}, bucket_minutes=60, tables={
        "refused_pushes": _empty("refused"), "reached_app": _empty("ip", "ok_2xx")})


def test_an_invoke_role_on_a_folder_or_the_organisation_is_judged_as_the_projects_naming_where_it_is():
    until = {"title": "until 2026", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}
    access = _with_ancestors({
        FOLDER: _policy({"role": "roles/run.invoker", "members": ["allUsers"]},
                        {"role": "roles/owner", "members": ["user:owner@example.com"]}),
        ORG: _policy({"role": "roles/run.developer", "members": ["user:dev@example.com"], "condition": until},
                     {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:admins@example.com"]}),
    })
    public, unexpected = access.findings
    assert (public.severity, public.kind, public.where) == ("critical", "public_member", FOLDER)
    assert public.what == ("allUsers holds roles/run.invoker on folder 290611488015, which every service under it "
                           "inherits: anyone on the internet, no token needed.")
    assert public.fix == ["gcloud resource-manager folders remove-iam-policy-binding 290611488015 --member=allUsers "
                          "--role=roles/run.invoker"]
    assert (unexpected.severity, unexpected.kind, unexpected.where) == ("warning", "unexpected_invoker", ORG)
    assert unexpected.what.startswith("user:dev@example.com holds roles/run.developer on organization "
                                      "418329165803 under condition \"until 2026: request.time")
    assert unexpected.fix == ["gcloud organizations remove-iam-policy-binding 418329165803 "
                              "--member=user:dev@example.com --role=roles/run.developer --condition='expression="
                              "request.time < timestamp('\"'\"'2026-01-01T00:00:00Z'\"'\"'),title=until 2026'"]
    assert access.public and access.open_to_all_users
    judged = {(m["member"], m["where"]): m["judged"] for m in access.members if m["where"] != "service"}
    assert judged == {("allUsers", FOLDER): "public", ("user:owner@example.com", FOLDER): "administrator",
                      ("user:dev@example.com", ORG): "unexpected"}   # the organisation admin role cannot invoke
    assert access.granted_above() == "user:owner@example.com (roles/owner on folder 290611488015)"
    result = audit.conclude(_scope("phase4"), [access], _quiet(), [])
    assert result.verdict == "fail" and result.summary.startswith(
        f"{P4} is public (allUsers on folder 290611488015); unexpected invokers: user:dev@example.com on "
        f"organization 418329165803")
    assert result.checks == [] and result.details["ancestry"]["read"] is True


def test_one_ancestor_grant_found_on_every_service_is_one_finding():
    policies = {FOLDER: _policy({"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}), ORG: _policy()}
    result = audit.conclude(_scope("phase3", "phase4"), [_with_ancestors(policies, "phase3"),
                                                          _with_ancestors(policies, "phase4")], _quiet(), [])
    (finding,) = [f for f in result.findings if f.kind == "public_member"]
    assert finding.service == f"{P3}, {P4}" and finding.where == FOLDER
    assert result.fix_commands().count("gcloud resource-manager folders remove-iam-policy-binding") == 1


def test_an_ancestor_policy_not_read_is_said_once_with_its_permission_and_command_and_the_audit_carries_on():
    from runbook_lib.errors import AccessDenied

    refused = AccessDenied("Resource Manager denied get_ancestor_iam_policy: the caller lacks a permission")
    policies = {FOLDER: _policy({"role": "roles/viewer", "members": ["allUsers"]}), ORG: refused}
    access = [_with_ancestors(policies, "phase3"), _with_ancestors(policies, "phase4")]
    assert not any(a.findings for a in access)   # the folder was read: nothing there may invoke
    result = audit.conclude(_scope("phase3", "phase4"), access, _quiet(), [])
    (note,) = result.findings
    assert (note.severity, note.kind, note.where, note.service) == ("info", "ancestor_policy_not_read", ORG,
                                                                   f"{P3}, {P4}")
    assert note.what == ("The IAM policy of organization 418329165803 could not be read (Resource Manager denied "
                         "get_ancestor_iam_policy: the caller lacks a permission); reading it takes "
                         "resourcemanager.organizations.getIamPolicy on organization 418329165803, e.g. "
                         "roles/iam.securityReviewer: its grants reach every service under it; `gcloud organizations "
                         "get-iam-policy 418329165803` lists them. The audit carries on without it.")
    # as a project policy not read is: info, never the verdict; the summary names what was read and what not
    assert result.verdict == "pass" and result.summary.startswith(
        f"The policies of the 2 services and of project {PROJECT} and its folder name no unexpected invoker "
        f"(organization 418329165803 not read); ")
    assert result.checks == [audit.ancestor_invokers_command(ORG)]
    assert result.checks[0].startswith("gcloud organizations get-iam-policy 418329165803 --flatten=")
    assert result.fix_commands().startswith("# Nothing to fix.\n\n# Not read: the audit could not read the IAM "
                                            "policies of organization 418329165803")
    assert access[0].granted_above().endswith("a holder of one on organization 418329165803 (not read)")


def test_a_project_without_an_organisation_reads_just_the_project():
    access = _with_ancestors({})
    result = audit.conclude(_scope("phase4"), [access], _quiet(), [])
    assert result.verdict == "pass" and result.checks == [] and result.details["ancestry"]["ancestors"] == []
    assert result.summary.startswith(f"The policies of {P4} and of project {PROJECT} name no unexpected invoker; ")
    assert access.granted_above() == ""


def test_an_ancestry_not_read_keeps_the_get_ancestors_command():
    from runbook_lib.errors import AccessDenied

    class Services:
        def project_ancestors(self):
            raise AccessDenied("Resource Manager denied get_ancestry: the caller lacks a permission")

    class Target:
        services = Services()

    ancestry = audit.read_ancestry(Target(), PROJECT)
    assert not ancestry.read and "resourcemanager.projects.get on project" in ancestry.not_read
    assert "roles/browser" in ancestry.not_read and f"gcloud projects get-ancestors-iam-policy {PROJECT}" in ancestry.not_read
    access = _with_project([], ancestry=ancestry)
    result = audit.conclude(_scope("phase4"), [access], _quiet(), [])
    (note,) = result.findings
    assert (note.kind, note.severity, note.what) == ("ancestry_not_read", "info", ancestry.not_read)
    assert result.verdict == "pass" and result.checks == [audit.ancestors_policy_command(PROJECT)]
    assert "(folders, organisation not read)" not in result.summary and "its folder or organisation not read" in result.summary


def test_services_judged_without_their_ancestry_say_it_not_read_as_an_unread_ancestry_does():
    result = audit.conclude(_scope("phase4"), [_with_project([])], _quiet(), [])
    assert result.summary.startswith(f"The policies of {P4} and of project {PROJECT} name no unexpected invoker "
                                     f"(its folder or organisation not read); ")
    assert result.checks == [audit.ancestors_policy_command(PROJECT)]


def test_gcp_an_allusers_invoker_on_the_organisation_is_critical(gcp_target, fake_apis):
    fake_apis.ancestor_policies[ORG]["bindings"].append({"role": "roles/run.invoker", "members": ["allUsers"]})
    result, (access,) = _audit(gcp_target)
    assert access.public and result.verdict == "fail"
    assert result.summary.startswith(f"{P3} is public (allUsers on organization 418329165803)")
    (critical,) = [f for f in result.findings if f.severity == "critical" and f.where == ORG]
    assert critical.fix == ["gcloud organizations remove-iam-policy-binding 418329165803 --member=allUsers "
                            "--role=roles/run.invoker"]
    asked = [r for r in fake_apis.requests if r.path in (f"/v1/projects/{PROJECT}:getAncestry",
                                                          f"/v3/{FOLDER}:getIamPolicy", f"/v3/{ORG}:getIamPolicy")]
    assert [r.path for r in asked] == [f"/v1/projects/{PROJECT}:getAncestry", f"/v3/{FOLDER}:getIamPolicy",
                                       f"/v3/{ORG}:getIamPolicy"]
    # the fake's Cloud Run honours the grant as Google's does: anyone gets in now
    import requests as http

    assert http.get(f"{fake_apis.endpoint}/svc/{P3}/health", timeout=30).status_code == 200


def test_gcp_a_refused_folder_policy_is_said_once_and_the_audit_carries_on(gcp_target, fake_apis):
    fake_apis.fault(f"/v3/{FOLDER}:getIamPolicy",
                    permission_denied("resourcemanager.folders.getIamPolicy", FOLDER, "cloudresourcemanager.googleapis.com"))
    result, (access,) = _audit(gcp_target)
    assert result.verdict == "fail"   # the night's refused pushes, still found
    (note,) = [f for f in result.findings if f.kind == "ancestor_policy_not_read"]
    assert note.where == FOLDER and "resourcemanager.folders.getIamPolicy on folder 290611488015" in note.what
    assert "`gcloud resource-manager folders get-iam-policy 290611488015` lists them" in note.what
    assert "policy of folder 290611488015 not read" in result.summary   # (needs ...: the headline is cut there)
    assert result.checks == [audit.ancestor_invokers_command(FOLDER)]
    assert [a["read"] for a in result.details["ancestry"]["ancestors"]] == [False, True]


@pytest.mark.parametrize("kind", ["unavailable", "quota"])
def test_a_policy_or_push_listing_that_gets_no_answer_is_said_and_the_audit_carries_on(kind):
    """(Google unavailable, or out of quota, after the call policy's retries): an optional read, as a refusal is."""
    from runbook_lib.audit.tried import list_push_subscriptions
    from runbook_lib.errors import CloudUnreachable, QuotaExceeded

    error = {"unavailable": CloudUnreachable("Resource Manager at https://x was still unavailable after 180 s."),
             "quota": QuotaExceeded("Resource Manager refused get_iam_policy: quota ReadRequests used up.")}[kind]

    class Silent:
        def project_iam_policy(self):
            raise error

        def push_subscriptions(self, phase):
            raise error

    class Target:
        services = Silent()

    policy = audit.read_project_policy(Target(), PROJECT)
    assert not policy.read and policy.not_read == (f"The IAM policy of project {PROJECT} could not be read "
                                                   f"({str(error)[:-1]}): its grants reach every service in it. "
                                                   "The audit carries on without it.")
    assert list_push_subscriptions(Target(), "phase4") == (None, f"{error} The audit carries on without them.")
