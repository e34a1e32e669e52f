"""Judging one IAM policy's invoke-role bindings: the service's own, or one every service inherits (the project's,
a folder's, the organisation's). Each member is judged against the service accounts expected to call the service,
and each finding carries the `gcloud` commands that would fix it (printed, never run)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from ..formats import parse_time, rfc3339
from ..phases import Phase
from ..services import PUBLIC_MEMBERS, describe_role_command, role_may_invoke
from .commands import add_invoker_command, invoker_iam_check_command, placed, remove_binding_command
from .model import DELETED_PREFIX, Finding, ServiceAccess, live_member, within

PUBLIC_MEANING = {
    "allUsers": "anyone on the internet, no token needed",
    "allAuthenticatedUsers": "anyone with a Google account; `--no-allow-unauthenticated` and removing allUsers "
                             "leave it in place",
}
# Who can send a request at all, by the service's ingress (Cloud Run, "Restrict network ingress"): what a public
# member means is said in those terms. Missing: all.
REACHABLE_BY = {
    "internal": "on its internal paths only (VPC networks, Shared VPC, some Google Cloud services; the internet "
                "cannot reach it, ingress internal)",
    "internal-and-cloud-load-balancing": "through an external Application Load Balancer or its internal paths "
                                         "(ingress internal-and-cloud-load-balancing)",
    "none": "by nothing while its ingress is none, and by anyone as soon as ingress is opened",
}


def public_meaning(member: str, ingress: str = "all") -> str:
    """What a grant to allUsers or allAuthenticatedUsers lets in, for a service of this ingress."""
    reach = REACHABLE_BY.get(ingress)
    if reach is None:
        return PUBLIC_MEANING[member]
    who = "anyone, no token needed" if member == "allUsers" else "anyone with a Google account"
    said = f"{who}, {reach}" if ingress != "none" else f"{who}: reachable {reach}"
    return said + ("; `--no-allow-unauthenticated` and removing allUsers leave it in place"
                   if member == "allAuthenticatedUsers" else "")



# On the project, the basic roles carry run.routes.invoke too, but every project has holders of them, who
# may change the services anyway: listed as able to call, never a finding (removing an owner is no fix).
BASIC_ROLES = ("roles/owner", "roles/editor")
# Google's own service agents (service-NUMBER@gcp-sa-*.iam..., service-NUMBER@serverless-robot-prod.iam...)
# hold their products' *.serviceAgent roles on the project by design: listed, never a finding. Only in the
# projects Google keeps its agents in: an account of the customer's own project (PROJECT.iam.gserviceaccount.com)
# may be named service-DIGITS by anyone, and is judged as any member is.
_SERVICE_AGENT = re.compile(r"^serviceAccount:service-\d+@(?P<domain>[a-z0-9.-]+)\.iam\.gserviceaccount\.com$")
GOOGLE_AGENT_DOMAINS = ("serverless-robot-prod", "gcf-admin-robot", "compute-system", "container-engine-robot",
                        "containerregistry", "dataflow-service-producer-prod", "dataproc-accounts", "firebase-rules",
                        "cloudcomposer-accounts", "cloud-redis", "cloud-filer", "cloud-ml.google.com",
                        "gae-api-prod.google.com", "genomics-api.google.com", "gs-project-accounts")
# Only the documented form of expirable access is read; any other condition stays conditional (shown, judged).
_EXPIRES = re.compile(r"""\s*request\.time\s*<\s*timestamp\(\s*(?:"([^"]+)"|'([^']+)')\s*\)\s*""")


def expired_at(condition: dict | None, until: datetime | None) -> datetime | None:
    """When a `request.time < timestamp("T")` condition stopped granting, if T is at or before `until` (the window's
    end); None for a later T, any other condition, or no `until`."""
    found = _EXPIRES.fullmatch((condition or {}).get("expression") or "")
    if not found or until is None:
        return None
    try:
        moment = parse_time(found[1] or found[2])
    except ValueError:
        return None
    return moment if moment <= until else None


def is_google_agent(member: str) -> bool:
    """A service agent of Google's: service-NUMBER in one of Google's agent projects (gcp-sa-*, or a named one)."""
    found = _SERVICE_AGENT.match(member)
    if not found:
        return False
    domain = found["domain"]
    return domain.startswith("gcp-sa-") or domain in GOOGLE_AGENT_DOMAINS


def _unresolved(service: str, member: str, role: str, shown: str, fix: list[str], where: str = "service") -> Finding:
    """A role the kit cannot judge, granted to anyone (on the service or on a policy every service inherits,
    `where`), or to a named member not expected on the service: it may let them invoke the service (every service
    below it)."""
    under = f" under condition {shown!r}" if shown else ""
    if where == "service":
        on, callee = service, service
    else:
        on, callee = placed(where), f"every service {within(where)} it"
    meaning = f" ({PUBLIC_MEANING[member]})" if member in PUBLIC_MEMBERS else ", and is not an expected invoker"
    return Finding("warning", service, "unresolved_role",
                   f"{member} holds {role} on {on}{under}, a role the kit cannot judge: if it carries "
                   f"run.routes.invoke, {member} may call {callee}{meaning}; `gcloud iam roles "
                   f"describe` lists its permissions.", fix, where=where)


def _member(member: str, role: str, condition: str, judged: str, where: str = "service") -> dict:
    return {"member": member, "role": role, "condition": condition, "judged": judged, "where": where}


def _shown(condition: dict) -> str:
    return f"{condition.get('title') or 'untitled'}: {condition.get('expression', '')}" if condition else ""


def _conditional(policy: dict) -> bool:
    """Some binding (any role) has a condition: gcloud then wants --condition on every change."""
    return any(b.get("condition") for b in policy.get("bindings", []))


def _judged(member: str, role: str, expected_members: set[str], inherited: bool) -> str:
    if member.startswith(DELETED_PREFIX):
        return "deleted"
    if member in PUBLIC_MEMBERS:
        return "public"
    if member in expected_members:
        return "expected"
    if inherited and role in BASIC_ROLES:
        return "administrator"
    if inherited and role.endswith(".serviceAgent") and is_google_agent(member):
        return "google_agent"
    return "unexpected"


def _service_finding(service: str, member: str, role: str, shown: str, fix: list[str], ingress: str = "all") -> Finding:
    """A grant of an invoke role on the service to anyone at all (said for who can reach it: `ingress`), or to a
    member not expected."""
    if member in PUBLIC_MEMBERS and shown:
        return Finding("warning", service, "conditional_public",
                       f"{member} may invoke {service} while condition {shown!r} holds "
                       f"({public_meaning(member, ingress)}).", fix)
    if member in PUBLIC_MEMBERS:
        return Finding("critical", service, "public_member",
                       f"{member} holds {role} on {service}: {public_meaning(member, ingress)}.", fix)
    under = f" under condition {shown!r}" if shown else ""
    return Finding("warning", service, "unexpected_invoker",
                   f"{member} holds {role} on {service}{under} but is not an expected invoker.", fix)


def granted_members(policy: dict | None) -> set[str]:
    """The members a policy lets call unconditionally (as ServiceAccess.invoker_members counts them: a role the kit
    cannot judge included), its deleted accounts left out."""
    return {m for b in (policy or {}).get("bindings", []) if not b.get("condition")
            and role_may_invoke(b.get("role", "")) is not False
            for m in b.get("members", []) if not m.startswith(DELETED_PREFIX)}


def _deleted_finding(service: str, member: str, role: str, shown: str, where: str, warn: bool, fix: list[str],
                     add: Callable[[str], str] | None) -> Finding:
    """A grant to a deleted account: a warning when it was an expected invoker's only grant (`warn`; the fix grants
    the account now of that email, then removes the stale grant), else an info with the removal as cleanup."""
    on = service if where == "service" else placed(where)
    under = f" under condition {shown!r}" if shown else ""
    if warn:
        email = live_member(member).partition(":")[2]
        return Finding("warning", service, "deleted_member",
                       f"{email}, an expected invoker of {service}, was deleted: its grant of {role} on {on}{under} "
                       f"names the deleted account ({member}), so the account now named {email} may not invoke "
                       f"{service}.", ([add(email)] if add else []) + fix, where=where)
    return Finding("info", service, "deleted_member",
                   f"{member} holds {role} on {on}{under}, but that account was deleted: the grant lets no one in; "
                   f"removing it tidies the policy.", fix, where=where)


def _expired_finding(service: str, member: str, role: str, shown: str, where: str, ended: datetime,
                     fix: list[str]) -> Finding:
    """A grant whose `request.time <` condition ended by the window's end: no invoker, its removal a cleanup."""
    on = service if where == "service" else placed(where)
    return Finding("info", service, "expired_grant",
                   f"{member}'s grant of {role} on {on} expired at {rfc3339(ended, micros=False)} (condition "
                   f"{shown!r}): it lets no one in; removing it tidies the policy.", fix, where=where)


def judge_bindings(service: str, policy: dict, expected_members: set[str], remove: Callable[..., str],
                    where: str = "service", ingress: str = "all", add: Callable[[str], str] | None = None,
                    until: datetime | None = None, granted: set[str] = frozenset()
                    ) -> tuple[list[dict], list[Finding]]:
    """The members of a policy's invoke-role bindings, judged, and the findings about them. The policy is the
    service's own (where "service"), or one every service inherits (where "project", folders/N, organizations/N):
    there the owners and editors and Google's service agents are listed, not judged (see BASIC_ROLES).
    remove(member, role, condition, conditional_policy) is the command that would remove one grant, add(email)
    the one granting an expected invoker roles/run.invoker on the service. A grant whose `request.time <` bound
    is at or before `until` (the window's end) is expired; a deleted account grants nothing, and an expected
    invoker whose account it was is said to have lost its grant unless this policy or `granted` (the members
    other policies let in) still lets it in."""
    inherited = where != "service"
    conditional_policy = _conditional(policy)
    granted = set(granted) | granted_members(policy)
    members, findings = [], []
    for binding in policy.get("bindings", []):
        role = binding.get("role", "")
        may_invoke = role_may_invoke(role)
        if may_invoke is False:
            continue   # roles without run.routes.invoke do not let anyone call the service
        condition = binding.get("condition") or {}
        shown = _shown(condition)
        ended = expired_at(condition, until)
        for member in binding.get("members", []):
            fix = [remove(member, role, condition or None, conditional_policy)]
            if may_invoke is None and inherited and member not in expected_members and member not in PUBLIC_MEMBERS:
                # on the project and above, roles the kit does not know are granted by the hundred for other work
                continue
            if member.startswith(DELETED_PREFIX):
                live = live_member(member)
                warn = bool(may_invoke) and live in expected_members and live not in granted
                findings.append(_deleted_finding(service, member, role, shown, where, warn, fix, add))
                members.append(_member(member, role, shown, "deleted", where))
                continue
            if ended is not None:
                if _judged(member, role, expected_members, inherited) not in ("administrator", "google_agent"):
                    findings.append(_expired_finding(service, member, role, shown, where, ended, fix))
                members.append(_member(member, role, shown, "expired", where))
                continue
            if may_invoke is None:   # a custom role: it may or may not carry run.routes.invoke
                if member in expected_members:
                    members.append(_member(member, role, shown, "expected", where))
                else:   # on the service itself, any member; on the project and above, only anyone-at-all
                    findings.append(_unresolved(service, member, role, shown, [describe_role_command(role)] + fix,
                                                where))
                    members.append(_member(member, role, shown, "unresolved", where))
                continue
            judged = _judged(member, role, expected_members, inherited)
            if judged in ("public", "unexpected"):
                findings.append(_inherited_finding(service, member, role, shown, where, fix) if inherited
                                else _service_finding(service, member, role, shown, fix, ingress))
            members.append(_member(member, role, shown, judged, where))
    return members, findings


def judge_access(phase: Phase, info: Any, policy: dict, expected_members: set[str], project: str,
                 until: datetime | None = None, granted: set[str] = frozenset()) -> ServiceAccess:
    """Findings about one service from its ServiceInfo and IAM policy (iam_policy() shape). until: the window's
    end, for grants that expire (None: none is judged expired); granted: the members the policies above the
    service let in (an expected invoker's deleted account then leaves it no grant only if it is not among them)."""
    service, region = phase.service, phase.region
    members, findings = judge_bindings(service, policy, expected_members,
                                        partial(remove_binding_command, service, region, project),
                                        ingress=info.ingress or "all",
                                        add=partial(add_invoker_command, service, region, project,
                                                    conditional_policy=_conditional(policy)),
                                        until=until, granted=granted)
    if info.invoker_iam_disabled:
        findings.append(Finding("critical", service, "iam_check_disabled",
                                f"{service} has its invoker IAM check turned off (`--no-invoker-iam-check`): "
                                f"anyone may call it, whatever its policy says.",
                                [invoker_iam_check_command(service, region, project)]))
    if info.ingress == "all":
        findings.append(Finding("info", service, "ingress_all",
                                f"{service} takes traffic from the internet (ingress all): IAM is its only gate."))
    return ServiceAccess(phase=phase.name, service=service, region=region, policy_version=int(policy.get("version", 1)),
                         members=members, invoker_iam_disabled=bool(info.invoker_iam_disabled), ingress=info.ingress,
                         findings=findings, conditional_policy=_conditional(policy))


def _inherited_finding(service: str, member: str, role: str, shown: str, where: str, fix: list[str]) -> Finding:
    """A grant of an invoke role on the project, a folder or the organisation (`where`) to anyone at all, or to a
    member not expected, in words that fit every service (each finds the same grant: one finding in the end)."""
    under = f" under condition {shown!r}" if shown else ""
    on, inside = placed(where), within(where)
    if member in PUBLIC_MEMBERS and shown:
        return Finding("warning", service, "conditional_public",
                       f"{member} may invoke every service {inside} {on} while condition {shown!r} holds "
                       f"({PUBLIC_MEANING[member]}).", fix, where=where)
    if member in PUBLIC_MEMBERS:
        return Finding("critical", service, "public_member",
                       f"{member} holds {role} on {on}, which every service {inside} it inherits: "
                       f"{PUBLIC_MEANING[member]}.", fix, where=where)
    return Finding("warning", service, "unexpected_invoker",
                   f"{member} holds {role} on {on}{under}, so it may call every service {inside} it, but is not an "
                   f"expected invoker.", fix, where=where)
