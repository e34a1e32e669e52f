"""Who may call each phase service: its IAM policy and the project's (version 3, conditions shown), invoker
IAM check and ingress, each member judged against the service accounts expected to call it, and the exact
`gcloud` commands that would fix each finding (printed, never run). The project's folders and organisation
are read too (its ancestry, then each one's policy): their grants reach every service as the project's do.
Whatever the caller may not read is said, once, with the permission it takes, and the audit carries on.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import pandas as pd

from ..errors import AccessDenied, CloudUnreachable, CredentialsMissing, NotFoundError, QuotaExceeded, ServiceDisabled
from ..formats import parse_time, rfc3339
from ..phases import Phase
from ..services import PUBLIC_MEMBERS, describe_role_command, role_may_invoke
from ..shell_words import PrintedProject, printed_project
from .commands import (add_invoker_command, ancestor_policy_command, ancestors_policy_command,
                       invoker_iam_check_command, placed, remove_ancestor_binding_command, remove_binding_command,
                       remove_project_binding_command)
from .requests import GRANTED_ABOVE_UNREAD

SEVERITIES = ("critical", "warning", "info")   # critical -> verdict fail, warning -> warn

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


# Reading the project's policy takes this permission; the least predefined role that grants it and only reads.
PROJECT_POLICY_PERMISSION = "resourcemanager.projects.getIamPolicy"
PROJECT_POLICY_READER = "roles/iam.securityReviewer"
# The project's folders and organisation come from projects.getAncestry, which takes resourcemanager.projects.get
# on the project (roles/browser is the least role with it and only reads); each one's policy takes its own
# getIamPolicy permission there, which roles/iam.securityReviewer holds too. Operators rarely hold it on a
# folder or the organisation, so a 403 there is usual: said, never a reason to stop.
ANCESTRY_PERMISSION = "resourcemanager.projects.get"
ANCESTRY_READER = "roles/browser"
ANCESTOR_POLICY_PERMISSION = {"folders": "resourcemanager.folders.getIamPolicy",
                              "organizations": "resourcemanager.organizations.getIamPolicy"}
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


# Members that grant nothing however they are bound, listed but never invokers: an account deleted since it was
# granted (IAM's `deleted:serviceAccount:EMAIL?uid=N`, `deleted:user:`, `deleted:group:`; only undeleting it brings
# the grant back, never a new account of the same email), and a grant whose `request.time < timestamp("T")`
# condition (IAM's expirable access) ended by the window's end.
GRANTS_NOTHING = ("deleted", "expired")
DELETED_PREFIX = "deleted:"
# Only the documented form of expirable access is read; any other condition stays conditional (shown, judged).
_EXPIRES = re.compile(r"""\s*request\.time\s*<\s*timestamp\(\s*(?:"([^"]+)"|'([^']+)')\s*\)\s*""")


def live_member(member: str) -> str:
    """The member a `deleted:` one names, as it was before its deletion (`deleted:serviceAccount:EMAIL?uid=N` ->
    `serviceAccount:EMAIL`); any other member as it is."""
    if not member.startswith(DELETED_PREFIX):
        return member
    return member[len(DELETED_PREFIX):].split("?uid=", 1)[0]


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


@dataclass
class Finding:
    """One thing the audit found about a service, with the commands that would fix it (never run)."""

    severity: str   # critical | warning | info
    service: str
    kind: str       # public_member, iam_check_disabled, ingress_all, unexpected_invoker, conditional_public,
                    # unresolved_role, deleted_member, expired_grant, refused_pushes, refused_scheduler,
                    # recovered_pushes, token_less_subscription, unexpected_2xx,
                    # exposure, inherited_not_read, project_policy_not_read, ancestry_not_read,
                    # ancestor_policy_not_read
    what: str       # one sentence
    fix: list[str] = field(default_factory=list)
    # where the grant is: the service's own policy, "project", or one of the project's folders or its
    # organisation ("folders/N", "organizations/N"): every service has those
    where: str = "service"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AuditScope:
    """What the audit looks at: which phases, who is expected to call each, and the request-log window."""

    phases: tuple[Phase, ...]
    expected: dict[str, tuple[str, ...]]   # phase name -> service-account emails
    since: datetime
    until: datetime
    project: str
    # the project as the fix commands name it: PROJECT on the sandbox, whose project is a real project's id
    # (shell_words.printed_project); "" for the project itself
    printed_project: str = ""

    @property
    def printing(self) -> PrintedProject:
        """How the fix commands name the project (PROJECT on the sandbox) and what is said around them."""
        return PrintedProject(self.project, self.printed_project or self.project)

    def expected_members(self, phase: str) -> set[str]:
        return {f"serviceAccount:{email}" for email in self.expected.get(phase, ())}


def audit_scope(target: Any, p: Any, now: datetime | None = None) -> AuditScope:
    """The scope from the runbook's parameters (runbook_lib.params.AuditParams) on this target."""
    phases = tuple(target.phases.get(name) for name in p.audited_phases(target.phases))
    since, until = p.window(now)
    return AuditScope(phases=phases, expected={ph.name: p.expected_for(ph) for ph in phases}, since=since,
                      until=until, project=target.project, printed_project=printed_project(target))


@dataclass
class ServiceAccess:
    """Who may call one phase's service, as its IAM policy, invoker check and ingress say."""

    phase: str
    service: str
    region: str
    policy_version: int
    # {member, role, condition, where, judged: public|expected|unexpected|unresolved|administrator|google_agent|
    # deleted|expired}
    members: list[dict]
    invoker_iam_disabled: bool
    ingress: str
    findings: list[Finding]
    conditional_policy: bool = False   # some binding (any role) has a condition: gcloud then wants --condition
    # the project's policy as who_may_call read it once (the same object on every service); None: not looked at
    project_policy: InheritedPolicy | None = None
    # the project's folders and organisation and their policies, read once likewise; None: not looked at
    ancestry: Ancestry | None = None

    @property
    def project_policy_read(self) -> bool:
        """The project's grants are among members and findings."""
        return self.project_policy is not None and self.project_policy.read

    @property
    def public(self) -> bool:
        """Anyone (or any Google account) may call it now: a public member or no IAM check."""
        return any(f.kind in ("public_member", "iam_check_disabled") for f in self.findings)

    @property
    def open_to_all_users(self) -> bool:
        """Callers without any token get in (allUsers unconditionally, or no IAM check)."""
        return self.invoker_iam_disabled or any(m["member"] == "allUsers" and not m["condition"]
                                                and m["judged"] == "public" for m in self.members)

    def invoker_members(self) -> set[str]:
        """Members that may call it unconditionally, by a grant on the service or on the project (a deleted
        account's grant lets no one in)."""
        return {m["member"] for m in self.members if not m["condition"] and m["judged"] not in GRANTS_NOTHING}

    def lost_invokers(self, expected_members: set[str]) -> list[str]:
        """The expected invokers (emails) whose every invoke grant names their deleted account: the account now of
        that email may not call the service."""
        granted = self.invoker_members()
        lost = {live_member(m["member"]) for m in self.members
                if m["judged"] == "deleted" and role_may_invoke(m["role"])}
        return sorted(m.partition(":")[2] for m in (lost & expected_members) - granted)

    def granted_above(self) -> str:
        """Who else may hold an invoke role above the service, for the request-log class of callers that got
        past IAM: the holders on the project, its folders and organisation that the audit does not judge as
        invokers (administrators, Google's agents), by name, and what above it could not read ("" when it read
        every policy above and no one else holds one there)."""
        if not self.project_policy_read:
            return GRANTED_ABOVE_UNREAD
        not_judged = [m for m in self.members if m["where"] != "service" and m["judged"] in ("administrator",
                                                                                              "google_agent")]
        held = [f"{m['member']} ({m['role']})" for m in not_judged if m["where"] == "project"]
        parts = [f"a holder of an invoke role on the project ({', '.join(held)})"] if held else []
        parts += [f"{m['member']} ({m['role']} on {placed(m['where'])})" for m in not_judged if m["where"] != "project"]
        unread = unread_above(self.ancestry)
        parts += [f"a holder of one on {unread} (not read)"] if unread else []
        return ", or ".join(parts)

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k not in ("findings", "project_policy", "ancestry")},
                "project_policy_read": self.project_policy_read,
                "project_policy_note": self.project_policy.not_read if self.project_policy else "",
                "ancestry": self.ancestry.to_dict() if self.ancestry else None,
                "public": self.public, "findings": [f.to_dict() for f in self.findings]}


# ---------------------------------------------------------------- judging a policy


def _unresolved(service: str, member: str, role: str, shown: str, fix: list[str], where: str = "service") -> Finding:
    """A role the kit cannot judge, granted to anyone (on the service or on a policy every service inherits,
    `where`), or to a named member not expected on the service: it may let them invoke the service (every service
    below it)."""
    under = f" under condition {shown!r}" if shown else ""
    if where == "service":
        on, callee = service, service
    else:
        on, callee = placed(where), f"every service {_within(where)} it"
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


def _judge_bindings(service: str, policy: dict, expected_members: set[str], remove: Callable[..., str],
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
    members, findings = _judge_bindings(service, policy, expected_members,
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


# ---------------------------------------------------------------- judging the policies every service inherits


@dataclass(frozen=True)
class InheritedPolicy:
    """A policy every service inherits, as the audit read it (iam_policy() shape), or why it could not: the
    project's (where "project") or one of its folders' or its organisation's (folders/N, organizations/N)."""

    where: str
    policy: dict | None          # None: not read
    not_read: str = ""           # one sentence, when not read

    @property
    def read(self) -> bool:
        return self.policy is not None

    def to_dict(self) -> dict:
        return {"resource": self.where, "read": self.read, "note": self.not_read}


@dataclass(frozen=True)
class Ancestry:
    """The project's folders and organisation, nearest first, each with its policy; or why the ancestry itself
    could not be read (then none of them is known). A project with no organisation has none."""

    ancestors: tuple[InheritedPolicy, ...] = ()
    not_read: str = ""           # one sentence, when the ancestry was not read

    @property
    def read(self) -> bool:
        return not self.not_read

    @property
    def unread(self) -> list[InheritedPolicy]:
        return [a for a in self.ancestors if not a.read]

    def to_dict(self) -> dict:
        return {"read": self.read, "note": self.not_read, "ancestors": [a.to_dict() for a in self.ancestors]}


def unread_above(ancestry: Ancestry | None) -> str:
    """What above the project the audit did not read, in words: "its folder or organisation" when it did not read
    the ancestry (None: it did not look), else the folders and organisation whose policies it could not read
    ("" when it read every one)."""
    if ancestry is None or not ancestry.read:
        return "its folder or organisation"
    return ", ".join(placed(a.where) for a in ancestry.unread)


# What refuses a read (a missing role, the API not enabled, a perimeter, credentials that Resource Manager's
# endpoint does not take), finds nothing to read (a sandbox that keeps no such policy) or gets no answer (the API
# unavailable or out of quota after the call policy's retries): said, never a reason to stop.
_UNREADABLE = (AccessDenied, CredentialsMissing, NotFoundError, CloudUnreachable, QuotaExceeded)


def read_project_policy(target: Any, project: str) -> InheritedPolicy:
    """The project's policy (where "project"); what refuses it is said, and the audit carries on with the
    services' own policies, as it does without the push subscriptions."""
    try:
        return InheritedPolicy("project", target.services.project_iam_policy())
    except _UNREADABLE as exc:
        return InheritedPolicy("project", None, _unread_sentence(
            exc, f"The IAM policy of project {project}", PROJECT_POLICY_PERMISSION, placed("project"),
            PROJECT_POLICY_READER, "its grants reach every service in it"))


def read_ancestry(target: Any, project: str) -> Ancestry:
    """The project's folders and organisation and each one's policy, read only. A refusal (to read the ancestry,
    or one ancestor's policy: a 403 is usual, operators rarely hold resourcemanager.folders.getIamPolicy) is said
    for what it refused, and the audit carries on with what it could read."""
    try:
        resources = target.services.project_ancestors()
    except _UNREADABLE as exc:
        return Ancestry(not_read=_unread_sentence(
            exc, f"The folders and organisation above project {project}", ANCESTRY_PERMISSION, f"project {project}",
            ANCESTRY_READER, f"invoke roles granted there reach every service too; `{ancestors_policy_command(project)}` "
                             f"lists them"))
    read = []
    for resource in resources:
        try:
            read.append(InheritedPolicy(resource, target.services.ancestor_iam_policy(resource)))
        except _UNREADABLE as exc:
            read.append(InheritedPolicy(resource, None, _unread_sentence(
                exc, f"The IAM policy of {placed(resource)}", ANCESTOR_POLICY_PERMISSION[resource.partition("/")[0]],
                placed(resource), PROJECT_POLICY_READER,
                f"its grants reach every service {_within(resource)} it; `{ancestor_policy_command(resource)}` "
                f"lists them")))
    return Ancestry(tuple(read))


def _unread_sentence(exc: Exception, what: str, permission: str, on: str, reader: str, then: str) -> str:
    """`what` could not be read: why (Google's words, or the sandbox's), the permission it takes when a role is
    missing, and what the audit does without it."""
    said = str(exc).rstrip(". ")
    missing_role = isinstance(exc, AccessDenied) and not isinstance(exc, ServiceDisabled) and not exc.vpc_sc_id
    needs = f"; reading it takes {permission} on {on}, e.g. {reader}" if missing_role else ""
    return f"{what} could not be read ({said}){needs}: {then}. The audit carries on without it."


def _within(where: str) -> str:
    """How every service stands to a policy it inherits: in the project, under a folder or the organisation."""
    return "in" if where == "project" else "under"


def _inherited_finding(service: str, member: str, role: str, shown: str, where: str, fix: list[str]) -> Finding:
    """A grant of an invoke role on the project, a folder or the organisation (`where`) to anyone at all, or to a
    member not expected, in words that fit every service (each finds the same grant: one finding in the end)."""
    under = f" under condition {shown!r}" if shown else ""
    on, within = placed(where), _within(where)
    if member in PUBLIC_MEMBERS and shown:
        return Finding("warning", service, "conditional_public",
                       f"{member} may invoke every service {within} {on} while condition {shown!r} holds "
                       f"({PUBLIC_MEANING[member]}).", fix, where=where)
    if member in PUBLIC_MEMBERS:
        return Finding("critical", service, "public_member",
                       f"{member} holds {role} on {on}, which every service {within} it inherits: "
                       f"{PUBLIC_MEANING[member]}.", fix, where=where)
    return Finding("warning", service, "unexpected_invoker",
                   f"{member} holds {role} on {on}{under}, so it may call every service {within} it, but is not an "
                   f"expected invoker.", fix, where=where)


def inherited_granted(project_policy: InheritedPolicy, ancestry: Ancestry | None) -> set[str]:
    """The members the project's policy and its folders' and organisation's (those read) let call every service."""
    inherited = (project_policy, *(ancestry.ancestors if ancestry else ()))
    return set().union(*(granted_members(p.policy) for p in inherited if p.read))


def judge_inherited_grants(access: ServiceAccess, project_policy: InheritedPolicy, ancestry: Ancestry | None,
                           expected_members: set[str], project: str, until: datetime | None = None) -> ServiceAccess:
    """The service's access with the grants of invoke roles on the project and on its folders and organisation
    added (where "project", folders/N, organizations/N), judged as the service's own are: anyone at all is public
    (critical; under a condition, a warning), a member not among the expected invokers a warning with the
    `gcloud projects` / `resource-manager folders` / `organizations` removal; the owners and editors and Google's
    service agents there are listed, not judged (see BASIC_ROLES). What was not read, conclude says, once for
    every service (ancestry None: the folders and organisation were not looked at). until: as judge_access's.
    An expected invoker's deleted account there is fixed by a grant on the service itself, the narrowest."""
    access.project_policy, access.ancestry = project_policy, ancestry
    granted = access.invoker_members() | inherited_granted(project_policy, ancestry)
    add = partial(add_invoker_command, access.service, access.region, project,
                  conditional_policy=access.conditional_policy)
    for inherited in (project_policy, *(ancestry.ancestors if ancestry else ())):
        if not inherited.read:
            continue
        remove = (partial(remove_project_binding_command, project) if inherited.where == "project"
                  else partial(remove_ancestor_binding_command, inherited.where))
        members, findings = _judge_bindings(access.service, inherited.policy, expected_members, remove,
                                            inherited.where, add=add, until=until, granted=granted)
        access.members += members
        access.findings += findings
    return access


def who_may_call(target: Any, scope: AuditScope) -> list[ServiceAccess]:
    """Step 1: each audited service's invokers (policy version 3) by its own policy, the project's and those of
    the project's folders and organisation, IAM check and ingress, judged. The policies above the services are
    read once; what cannot be read, the audit says why."""
    project_policy = read_project_policy(target, scope.project)
    ancestry = read_ancestry(target, scope.project)
    above = inherited_granted(project_policy, ancestry)
    access = []
    for phase in scope.phases:
        expected = scope.expected_members(phase.name)
        own = judge_access(phase, target.services.describe(phase.name), target.services.iam_policy(phase.name),
                           expected, scope.project, until=scope.until, granted=above)
        access.append(judge_inherited_grants(own, project_policy, ancestry, expected, scope.project, scope.until))
    return access


def members_table(access: list[ServiceAccess]) -> pd.DataFrame:
    """Every member that may invoke each service, its role and condition, and how the audit judges it."""
    rows = [{"service": a.service, "policy version": a.policy_version, **m} for a in access for m in a.members]
    rows += [{"service": a.service, "policy version": a.policy_version, "member": "(no IAM check: anyone)",
              "role": "--no-invoker-iam-check", "condition": "", "judged": "public", "where": "service"}
             for a in access if a.invoker_iam_disabled]
    return pd.DataFrame(rows, columns=["service", "where", "policy version", "member", "role", "condition", "judged"])


def services_table(access: list[ServiceAccess]) -> pd.DataFrame:
    return pd.DataFrame([{
        "service": a.service, "public": "YES" if a.public else "no", "ingress": a.ingress,
        "invoker IAM check": "OFF" if a.invoker_iam_disabled else "on",
        "unexpected invokers": sum(m["judged"] == "unexpected" for m in a.members),
    } for a in access])
