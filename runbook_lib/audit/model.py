"""The audit's data: what it looks at (AuditScope), what it found (Finding), who may call one service
(ServiceAccess), and the policies every service inherits from the project, its folders and its organisation
(InheritedPolicy, Ancestry). Judging a policy is policy.py's, reading the inherited ones inherited.py's."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..phases import Phase
from ..services import role_may_invoke
from ..shell_words import PrintedProject, printed_project
from .commands import placed
from .requests import GRANTED_ABOVE_UNREAD

SEVERITIES = ("critical", "warning", "info")   # critical -> verdict fail, warning -> warn

# Members that grant nothing however they are bound, listed but never invokers: an account deleted since it was
# granted (IAM's `deleted:serviceAccount:EMAIL?uid=N`, `deleted:user:`, `deleted:group:`; only undeleting it brings
# the grant back, never a new account of the same email), and a grant whose `request.time < timestamp("T")`
# condition (IAM's expirable access) ended by the window's end.
GRANTS_NOTHING = ("deleted", "expired")
DELETED_PREFIX = "deleted:"


def live_member(member: str) -> str:
    """The member a `deleted:` one names, as it was before its deletion (`deleted:serviceAccount:EMAIL?uid=N` ->
    `serviceAccount:EMAIL`); any other member as it is."""
    if not member.startswith(DELETED_PREFIX):
        return member
    return member[len(DELETED_PREFIX):].split("?uid=", 1)[0]



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


def within(where: str) -> str:
    """How every service stands to a policy it inherits: in the project, under a folder or the organisation."""
    return "in" if where == "project" else "under"
