"""Who may call each phase service: its IAM policy (version 3, conditions shown), invoker IAM check and
ingress, each member judged against the service accounts expected to call it, and the exact `gcloud`
commands that would fix each finding (printed, never run).
"""
from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from ..phases import Phase
from ..services import INVOKER_ROLE, INVOKER_ROLES, PUBLIC_MEMBERS, describe_role_command, role_may_invoke

SEVERITIES = ("critical", "warning", "info")   # critical -> verdict fail, warning -> warn

PUBLIC_MEANING = {
    "allUsers": "anyone on the internet, no token needed",
    "allAuthenticatedUsers": "anyone with a Google account; `--no-allow-unauthenticated` and removing allUsers "
                             "leave it in place",
}


@dataclass
class Finding:
    """One thing the audit found about a service, with the commands that would fix it (never run)."""

    severity: str   # critical | warning | info
    service: str
    kind: str       # public_member, iam_check_disabled, ingress_all, unexpected_invoker, conditional_public,
                    # unresolved_role, refused_pushes, recovered_pushes, token_less_subscription, unexpected_2xx,
                    # exposure, inherited_not_read
    what: str       # one sentence
    fix: list[str] = field(default_factory=list)

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

    def expected_members(self, phase: str) -> set[str]:
        return {f"serviceAccount:{email}" for email in self.expected.get(phase, ())}


def audit_scope(target: Any, p: Any, now: datetime | None = None) -> AuditScope:
    """The scope from the runbook's parameters (runbook_lib.params.AuditParams) on this target."""
    phases = tuple(target.phases.get(name) for name in p.audited_phases(target.phases))
    since, until = p.window(now)
    return AuditScope(phases=phases, expected={ph.name: p.expected_for(ph) for ph in phases}, since=since,
                      until=until, project=target.project)


@dataclass
class ServiceAccess:
    """Who may call one phase's service, as its IAM policy, invoker check and ingress say."""

    phase: str
    service: str
    region: str
    policy_version: int
    members: list[dict]          # {member, role, condition, judged: public|expected|unexpected|unresolved}
    invoker_iam_disabled: bool
    ingress: str
    findings: list[Finding]
    conditional_policy: bool = False   # some binding (any role) has a condition: gcloud then wants --condition

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
        return {m["member"] for m in self.members if not m["condition"]}

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "findings"},
                "public": self.public, "findings": [f.to_dict() for f in self.findings]}


# ---------------------------------------------------------------- gcloud commands (printed, never run)


def _where(service: str, region: str, project: str) -> str:
    return f"{shlex.quote(service)} --region={region} --project={project}"


def _condition_flag(condition: dict) -> str:
    """gcloud's --condition=expression=...,title=...; with `^;^` as the separator when a value has a comma."""
    parts = [(k, condition[k]) for k in ("expression", "title", "description") if condition.get(k)]
    separator = ";" if any("," in str(v) for _, v in parts) else ","
    text = separator.join(f"{k}={v}" for k, v in parts)
    return "--condition=" + shlex.quote(("^;^" if separator == ";" else "") + text)


def _unconditional_flag(conditional_policy: bool) -> str:
    """gcloud refuses to add or remove a binding without a condition to or from a policy that holds any
    conditional binding unless told `--condition=None` (non-interactive: IamPolicyBindingIncompleteError;
    interactive: it asks)."""
    return " --condition=None" if conditional_policy else ""


def remove_binding_command(service: str, region: str, project: str, member: str, role: str,
                           condition: dict | None = None, conditional_policy: bool = False) -> str:
    command = (f"gcloud run services remove-iam-policy-binding {_where(service, region, project)} "
               f"--member={shlex.quote(member)} --role={shlex.quote(role)}")
    return command + (" " + _condition_flag(condition) if condition else _unconditional_flag(conditional_policy))


def add_invoker_command(service: str, region: str, project: str, email: str, conditional_policy: bool = False) -> str:
    return (f"gcloud run services add-iam-policy-binding {_where(service, region, project)} "
            f"--member=serviceAccount:{email} --role={INVOKER_ROLE}" + _unconditional_flag(conditional_policy))


def invoker_iam_check_command(service: str, region: str, project: str) -> str:
    """The reversal of `--no-invoker-iam-check`."""
    return f"gcloud run services update {_where(service, region, project)} --invoker-iam-check"


def project_invokers_command(project: str) -> str:
    """The read-only command listing the project policy's grants that may invoke every service in it: the
    roles with run.routes.invoke (INVOKER_ROLES) and every custom role (which the filter cannot look into)."""
    roles = " ".join(INVOKER_ROLES)
    return (f"gcloud projects get-iam-policy {project} --flatten='bindings[].members' "
            f"--filter='bindings.role=({roles}) OR bindings.role~^projects/ OR bindings.role~^organizations/' "
            f"--format='table(bindings.role, bindings.members, bindings.condition.title)'")


# ---------------------------------------------------------------- judging a policy


def _unresolved_public(service: str, member: str, role: str, shown: str, fix: list[str]) -> Finding:
    """A role the kit cannot judge, granted to anyone: it may let anyone invoke the service."""
    under = f" under condition {shown!r}" if shown else ""
    return Finding("warning", service, "unresolved_role",
                   f"{member} holds {role} on {service}{under}, a role the kit cannot judge: if it carries "
                   f"run.routes.invoke, {member} may call {service} ({PUBLIC_MEANING[member]}); `gcloud iam roles "
                   f"describe` lists its permissions.", fix)


def judge_access(phase: Phase, info: Any, policy: dict, expected_members: set[str], project: str) -> ServiceAccess:
    """Findings about one service from its ServiceInfo and IAM policy (iam_policy() shape)."""
    service, region = phase.service, phase.region
    members, findings = [], []
    conditional_policy = any(b.get("condition") for b in policy.get("bindings", []))
    for binding in policy.get("bindings", []):
        role = binding.get("role", "")
        may_invoke = role_may_invoke(role)
        if may_invoke is False:
            continue   # roles without run.routes.invoke do not let anyone call the service
        condition = binding.get("condition") or {}
        shown = f"{condition.get('title') or 'untitled'}: {condition.get('expression', '')}" if condition else ""
        for member in binding.get("members", []):
            remove = [remove_binding_command(service, region, project, member, role, condition or None,
                                             conditional_policy)]
            if may_invoke is None:
                # Only anyone-at-all grants are flagged: a custom role for a named member is an operator's choice.
                if member in PUBLIC_MEMBERS:
                    findings.append(_unresolved_public(service, member, role, shown,
                                                       [describe_role_command(role)] + remove))
                    members.append({"member": member, "role": role, "condition": shown, "judged": "unresolved"})
                continue
            if member in PUBLIC_MEMBERS:
                judged = "public"
                if condition:
                    findings.append(Finding("warning", service, "conditional_public",
                                            f"{member} may invoke {service} while condition {shown!r} holds "
                                            f"({PUBLIC_MEANING[member]}).", remove))
                else:
                    findings.append(Finding("critical", service, "public_member",
                                            f"{member} holds {role} on {service}: {PUBLIC_MEANING[member]}.", remove))
            elif member in expected_members:
                judged = "expected"
            else:
                judged = "unexpected"
                findings.append(Finding("warning", service, "unexpected_invoker",
                                        f"{member} holds {role} on {service}"
                                        f"{' under condition ' + repr(shown) if condition else ''} but is not an "
                                        f"expected invoker.", remove))
            members.append({"member": member, "role": role, "condition": shown, "judged": judged})
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
                         findings=findings, conditional_policy=conditional_policy)


def who_may_call(target: Any, scope: AuditScope) -> list[ServiceAccess]:
    """Step 1: each audited service's invokers (policy version 3), IAM check and ingress, judged."""
    return [judge_access(phase, target.services.describe(phase.name), target.services.iam_policy(phase.name),
                         scope.expected_members(phase.name), scope.project)
            for phase in scope.phases]


def members_table(access: list[ServiceAccess]) -> pd.DataFrame:
    """Every member that may invoke each service, its role and condition, and how the audit judges it."""
    rows = [{"service": a.service, "policy version": a.policy_version, **m} for a in access for m in a.members]
    rows += [{"service": a.service, "policy version": a.policy_version, "member": "(no IAM check: anyone)",
              "role": "--no-invoker-iam-check", "condition": "", "judged": "public"}
             for a in access if a.invoker_iam_disabled]
    return pd.DataFrame(rows, columns=["service", "policy version", "member", "role", "condition", "judged"])


def services_table(access: list[ServiceAccess]) -> pd.DataFrame:
    return pd.DataFrame([{
        "service": a.service, "public": "YES" if a.public else "no", "ingress": a.ingress,
        "invoker IAM check": "OFF" if a.invoker_iam_disabled else "on",
        "unexpected invokers": sum(m["judged"] == "unexpected" for m in a.members),
    } for a in access])
