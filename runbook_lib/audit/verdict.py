"""The audit's verdict: fail for a public service, a 2xx to a caller that could have been anyone, or refused
Pub/Sub pushes; warn for unexpected invokers, an expected invoker whose only grant names its deleted account, a
role it cannot judge granted to anyone, pushes that recovered, or exposure before a fix; with the figures the
morning review shows, every fix command (printed, never run) and the read-only commands for what it could not
read: the project's policy, its ancestry (folders and organisation), or one folder's or the organisation's
policy. What it could not read is said once (an info finding, as a refused project policy always was): it never
changes the verdict, and the summary names it whenever it says anything else."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from ..formats import headline
from ..results import Result
from .inherited import ANCESTRY_READER, PROJECT_POLICY_READER
from .model import SEVERITIES, Ancestry, AuditScope, Finding, InheritedPolicy, ServiceAccess, unread_above
from .commands import ancestor_invokers_command, ancestors_policy_command, placed, project_invokers_command
from .pushes import PushOutage
from .tried import WhoTried, moment_text

# Longer than most summaries, as runbooks 02 and 03's are: the incident morning's finds, each naming who or
# what (the unexpected invokers a few by name), fit; the index cuts it for its row and links to the whole.
SUMMARY_CHARS = 400
# The summary names at most this many members of a kind, within this many characters, then "+N more" (the members
# table has them all): workload identity principals run to 140 characters, and a full list of them pushed every
# warning after it out of the summary.
SHOWN_NAMES, SHOWN_NAMES_CHARS = 3, 160


# Roles granted on the project, a folder or the organisation are inherited by every service and may invoke
# it too. The audit reads those policies when it may; what it could not read, it says (not_read) with the
# read-only commands that list them (checks).
NOT_READ = ("the audit read each service's own IAM policy only: invoke roles granted on the project, its folders "
            "or organisation apply to every service too")


@dataclass
class Audit(Result):
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)   # read-only commands for what the audit did not read
    not_read: str = NOT_READ                          # what those are
    # the comment line heading the commands on the sandbox (its fixes are what they would be on gcp, the project
    # named PROJECT); "" on gcp
    header: str = ""

    def findings_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"severity": f.severity, "service": f.service, "finding": f.what,
                              "fix": "\n".join(f.fix)} for f in self.findings],
                            columns=["severity", "service", "finding", "fix"])

    def fix_commands(self) -> str:
        """Every fix, grouped by finding; nothing here is run by the kit."""
        blocks = [f"# {f.severity}: {f.what}\n" + "\n".join(f.fix) for f in self.findings if f.fix]
        fixes = "\n\n".join(blocks) if blocks else "# Nothing to fix."
        if self.checks:
            fixes += f"\n\n# Not read: {self.not_read}. To list them (read-only):\n" + "\n".join(self.checks)
        return f"{self.header}\n{fixes}" if self.header and (blocks or self.checks) else fixes


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per grant on the project, a folder or the organisation, naming every service it was found on:
    each service carries the same grant (its judgement and fix are the service's own), but it is one grant with
    one fix."""
    merged: list[Finding] = []
    seen: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.severity, f.kind, f.what, tuple(f.fix))
        if f.where == "service":
            merged.append(f)
        elif key in seen:
            seen[key].service += f", {f.service}"
        else:
            seen[key] = Finding(f.severity, f.service, f.kind, f.what, list(f.fix), f.where)
            merged.append(seen[key])
    return merged


def _shown_member(member: dict) -> str:
    where = member.get("where", "service")
    return member["member"] + ("" if where == "service" else f" on {placed(where)}")


def _few(names: list[str]) -> str:
    """The first SHOWN_NAMES of `names` that fit in SHOWN_NAMES_CHARS, then "+N more"; "N (see the members
    table)" when not even the first fits."""
    shown: list[str] = []
    for name in names[:SHOWN_NAMES]:
        if len(", ".join(shown + [name])) > SHOWN_NAMES_CHARS:
            break
        shown.append(name)
    rest = len(names) - len(shown)
    if not shown:
        return f"{rest} (see the members table)"
    return ", ".join(shown) + (f", +{rest} more" if rest else "")


def _unexpected_names(access: list[ServiceAccess]) -> list[str]:
    """The unexpected invokers as the summary names them, "(conditional)" when every grant they hold is."""
    conditional: dict[str, bool] = {}
    for m in (m for a in access for m in a.members if m["judged"] == "unexpected"):
        name = _shown_member(m)
        conditional[name] = conditional.get(name, True) and bool(m["condition"])
    return [name + (" (conditional)" if conditional[name] else "") for name in sorted(conditional)]


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _above_read(ancestry: Ancestry | None) -> str:
    """The folders and organisation whose policies were read, in few words ("its folder and organisation")."""
    read = [a for a in (ancestry.ancestors if ancestry else ()) if a.read]
    folders = sum(a.where.startswith("folders/") for a in read)
    words = ([f"its {folders} folders" if folders > 1 else "its folder"] if folders else [])
    words += ["its organisation" if not words else "organisation"] if len(read) > folders else []
    return " and ".join(words)


def _scope_sentence(access: list[ServiceAccess], project_id: str, project: InheritedPolicy,
                    ancestry: Ancestry | None, requests: int) -> str:
    """The summary when nothing was found, saying which policies were read (it must fit a headline; the members
    table lists the owners, editors and Google agents above the services, which may call but are not judged)."""
    services = access[0].service if len(access) == 1 else f"the {len(access)} services"
    tail = f"no pushes refused, no external caller reached the app in {requests:,} requests."
    above, unread = _above_read(ancestry), unread_above(ancestry)
    if not project.read:
        theirs = above.replace("its ", "the project's ", 1)
        also = f" and of {theirs}" if above else ""
        more = f"; {unread} not read" if unread else ""
        return (f"The own policies of {services}{also} name no unexpected invoker (the project's could not be "
                f"read{more}); {tail}")
    of = _and([f"project {project_id}"] + ([above] if above else []))
    return (f"The policies of {services} and of {of} name no unexpected invoker"
            f"{f' ({unread} not read)' if unread else ''}; {tail}")


def _reading(project_id: str, project: InheritedPolicy, ancestry: Ancestry | None) -> tuple[str, list[str]]:
    """What was not read, and the read-only commands that list it ("", [] when the audit read every policy)."""
    project_read, ancestry_read = project.read, ancestry is not None and ancestry.read
    if not project_read and not ancestry_read:
        return NOT_READ, [project_invokers_command(project_id), ancestors_policy_command(project_id)]
    unread = [] if project_read else ["the project"]
    checks = [] if project_read else [project_invokers_command(project_id)]
    if ancestry_read:
        unread += [placed(a.where) for a in ancestry.unread]
        checks += [ancestor_invokers_command(a.where) for a in ancestry.unread]
    else:
        unread.append("its folders and organisation")
        checks.append(ancestors_policy_command(project_id))
    if not unread:
        return "", []
    return (f"the audit could not read the IAM policies of {_and(unread)}: invoke roles granted there apply to "
            f"every service too"), checks


def _above(access: list[ServiceAccess]) -> tuple[InheritedPolicy, Ancestry | None, list[Finding]]:
    """The project's policy and its ancestry as who_may_call read them (one object each, on every service; the
    policy not read and the ancestry None when the services were judged without them), and one info finding for
    each thing above the services it could not read, naming every service."""
    project = next((a.project_policy for a in access if a.project_policy), None)
    ancestry = next((a.ancestry for a in access if a.ancestry), None)
    unread = [] if project is None or project.read else [("project_policy_not_read", "project", project.not_read)]
    if ancestry is not None and not ancestry.read:
        unread.append(("ancestry_not_read", "project", ancestry.not_read))
    elif ancestry is not None:
        unread += [("ancestor_policy_not_read", a.where, a.not_read) for a in ancestry.unread]
    services = ", ".join(a.service for a in access)
    return (project or InheritedPolicy("project", None), ancestry,
            [Finding("info", services, kind, what, where=where) for kind, where, what in unread])


def conclude(scope: AuditScope, access: list[ServiceAccess], tried: WhoTried, outages: list[PushOutage]) -> Audit:
    """Step 4: the verdict, a one-line summary and the figures, from every step's findings."""
    project, ancestry, unread_notes = _above(access)
    findings = _ordered(_merged([f for a in access for f in a.findings]) + unread_notes
                        + tried.findings + [f for o in outages for f in o.findings])
    critical = [f for f in findings if f.severity == "critical"]
    warnings = [f for f in findings if f.severity == "warning"]
    verdict = "fail" if critical else "warn" if warnings else "pass"
    public = [a for a in access if a.public]
    said = []
    for a in public:
        why = [_shown_member(m) for m in a.members if m["judged"] == "public" and not m["condition"]]
        why += ["no invoker IAM check"] if a.invoker_iam_disabled else []
        said.append(f"{a.service} is public ({', '.join(why)})")
    refused = [o for o in outages if o.down]
    if refused:
        said.append(f"{sum(o.refused_down for o in refused)} Pub/Sub pushes refused: a pipeline outage, not security "
                    f"working")
    said += [f"pushes to {o.service} refused, then let in again: recovered" for o in outages if o.recovered]
    if tried.unexpected_2xx:
        said.append(f"{tried.unexpected_2xx} 2xx to callers that could be anyone")
    lost = sorted({email for a in access for email in a.lost_invokers(scope.expected_members(a.phase))})
    if lost:
        said.append(f"expected invokers left without a grant (account deleted): {_few(lost)}")
    unexpected = _unexpected_names(access)
    if unexpected:
        said.append(f"unexpected invokers: {_few(unexpected)}")
    if tried.external_reached:
        said.append(f"{tried.external_reached} external callers reached the app")
    others = [f.what for f in critical + warnings if f.kind in ("iam_check_disabled", "conditional_public",
                                                                 "unresolved_role", "token_less_subscription",
                                                                 "refused_scheduler")]
    if project.not_read and (said or others):
        others.append(f"project policy not read (needs {PROJECT_POLICY_READER})")
    if ancestry is not None and not ancestry.read and (said or others):
        others.append(f"folders, organisation not read (needs {ANCESTRY_READER})")
    elif ancestry is not None and ancestry.unread and (said or others):
        others.append(f"policy of {unread_above(ancestry)} not read (needs {PROJECT_POLICY_READER})")
    summary = ("; ".join(said + others) + "." if said or others
               else _scope_sentence(access, scope.project, project, ancestry, tried.entries))
    not_read, checks = _reading(scope.project, project, ancestry)
    printed = scope.printing
    if printed.sandbox:
        # the project, in every form (--project=, the project's resource, its service accounts' emails, custom
        # roles' paths), named PROJECT
        findings = [replace(f, fix=[printed(c) for c in f.fix]) for f in findings]
        checks = [printed(c) for c in checks]
    figures = {
        "public services": len(public),
        "requests analysed": tried.entries,
        "refused pushes": tried.refused_pushes,
        "external callers that reached the app": tried.external_reached,
        "2xx from unexpected callers": tried.unexpected_2xx,
    }
    details = {
        "window": {"since": moment_text(scope.since), "until": moment_text(scope.until)},
        "services": [a.to_dict() for a in access],
        "requests": {"note": tried.note, "per_service": tried.per_service},
        "refused_pushes": [{"service": o.service, "refused": o.refused, "first": moment_text(o.first), "last": moment_text(o.last),
                            "last_let_in": moment_text(o.last_accepted), "refused_from": moment_text(o.changed_at),
                            "sources": [_source(s) for s in o.sources],
                            "subscriptions": None if o.subscriptions is None else [s.to_dict() for s in o.subscriptions],
                            "subscriptions_note": o.subscriptions_note} for o in outages],
        "findings": [f.to_dict() for f in findings],
        "project_policy": {"project": scope.project, "read": project.read, "note": project.not_read},
        "ancestry": ancestry.to_dict() if ancestry else None,
        "not_read": {"what": not_read, "checks": checks},
    }
    return Audit(name="security_audit", verdict=verdict, summary=headline(summary, SUMMARY_CHARS), figures=figures,
                 details=details, findings=findings, checks=checks, not_read=not_read, header=printed.header)


def _source(source: dict) -> dict:
    """A push source with its moments as RFC 3339 text."""
    return {k: moment_text(v) if k in ("first", "last", "last_accepted", "recovered_at") else v
            for k, v in source.items()}
