"""What broke: Pub/Sub pushes refused by Cloud Run's IAM check are a pipeline outage, not security working.

Since a service stopped letting allUsers in, a push subscription without an OIDC token is refused (403)
on every push and every retry, so the event-driven chain behind it is down. The fix gives the
subscription a token (`modify-push-config --push-auth-service-account`, saying again any noWrapper it
had, since the command replaces the whole push config) and that service account roles/run.invoker on
the service. A subscription that signs its pushes as an account that may not invoke the service gets
that account the role instead. Pushes refused and later let in again have recovered: not an outage now.
The commands are printed, never run.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from ..services import PushSubscription
from .model import AuditScope, Finding, ServiceAccess
from .commands import add_invoker_command
from .requests import PUSH_STATES
from .tried import WhoTried, list_push_subscriptions, moment_text

PLACEHOLDER_ACCOUNT = "PUSH_SERVICE_ACCOUNT@{project}.iam.gserviceaccount.com"


@dataclass
class PushOutage:
    """One service's refused pushes and the push subscriptions that target it."""

    phase: str
    service: str
    refused: int
    first: datetime | None
    last: datetime | None
    changed_at: datetime | None                  # the policy change the log shows: refusals from here on
    last_accepted: datetime | None               # the last token-less push let in before it
    push_urls: list[str]                         # where the refused pushes were sent
    subscriptions: list[PushSubscription] | None  # None: they could not be listed
    subscriptions_note: str = ""
    account: str = ""                            # the service account the fix gives the subscriptions
    findings: list[Finding] = field(default_factory=list)
    # Each push source (the pushes to one endpoint path) with refusals: path, state (requests.PUSH_STATES),
    # refused, first, last, last_accepted, recovered_at.
    sources: list[dict] = field(default_factory=list)

    @property
    def down(self) -> list[dict]:
        """The sources still refused at the end of the window: the pipeline behind them is down."""
        return [s for s in self.sources if s["state"] != "recovered"]

    @property
    def recovered(self) -> list[dict]:
        return [s for s in self.sources if s["state"] == "recovered"]

    @property
    def refused_down(self) -> int:
        return sum(int(s["refused"]) for s in self.down)


def push_account(expected: tuple[str, ...], project: str) -> str:
    """The service account to sign pushes with: an expected invoker named for Pub/Sub, else the first
    expected invoker, else a placeholder to fill in."""
    for email in expected:
        if "pubsub" in email.split("@")[0] or "push" in email.split("@")[0]:
            return email
    return expected[0] if expected else PLACEHOLDER_ACCOUNT.format(project=project)


def modify_push_config_command(subscription: str, project: str, endpoint: str, account: str,
                               no_wrapper: bool = False, write_metadata: bool = False) -> str:
    """Give a push subscription an OIDC token; the audience is the service's URL, which Cloud Run accepts.
    The command replaces the whole push config, so an unwrapped subscription's noWrapper is said again."""
    audience = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
    unwrapped = (" --push-no-wrapper" + (" --push-no-wrapper-write-metadata" if write_metadata else "")
                 if no_wrapper else "")
    return (f"gcloud pubsub subscriptions modify-push-config {shlex.quote(subscription)} --project={project} "
            f"--push-endpoint={shlex.quote(endpoint)} --push-auth-service-account={account} "
            f"--push-auth-token-audience={shlex.quote(audience)}{unwrapped}")


def _sources(row: dict) -> list[dict]:
    """The row's push sources (RequestLog.refused_pushes); none for a service without a row."""
    sources = row.get("sources")
    return [] if sources is None else [dict(source) for source in sources]


def _project_of(sub: PushSubscription, project: str) -> str:
    return sub.name.split("/")[1] if sub.name.count("/") >= 3 else project


def _refused_subscriptions(outage: PushOutage) -> list[PushSubscription]:
    """The listed subscriptions whose endpoint path is one the still-refused pushes were sent to; all the
    service's subscriptions when none is (the log may name a path the listing spells otherwise)."""
    subscriptions = outage.subscriptions or []
    paths = {s["path"] for s in outage.down}
    matched = [s for s in subscriptions if (urlsplit(s.push_endpoint).path or "/") in paths]
    return matched or list(subscriptions)


def _may_invoke(access: ServiceAccess, email: str) -> bool:
    return f"serviceAccount:{email}" in access.invoker_members()


def _token_fixes(outage: PushOutage, access: ServiceAccess, project: str, token_less: list[PushSubscription]) -> list[str]:
    """Give token-less subscriptions a token signed by the push account, and that account the invoker role."""
    fixes = [modify_push_config_command(sub.short_name, _project_of(sub, project), sub.push_endpoint, outage.account,
                                        sub.no_wrapper, sub.write_metadata) for sub in token_less]
    if token_less and not _may_invoke(access, outage.account):
        fixes.append(add_invoker_command(access.service, access.region, project, outage.account,
                                         access.conditional_policy))
    return fixes


def _signed_fixes(access: ServiceAccess, project: str, signed: list[PushSubscription]) -> list[str]:
    """Subscriptions that sign their pushes: grant their own account the invoker role; if it has it, the
    token's audience is what to check."""
    fixes = []
    for sub in signed:
        if not _may_invoke(access, sub.service_account):
            command = add_invoker_command(access.service, access.region, project, sub.service_account,
                                          access.conditional_policy)
        else:
            command = (f"gcloud pubsub subscriptions describe {shlex.quote(sub.short_name)} "
                       f"--project={_project_of(sub, project)} --format='value(pushConfig.oidcToken)'")
        if command not in fixes:
            fixes.append(command)
    return fixes


def _unlisted_fixes(outage: PushOutage, access: ServiceAccess, project: str) -> list[str]:
    """The subscriptions are not known here: the endpoint the pushes used says which to look for."""
    fixes = []
    for url in outage.push_urls or ["PUSH_ENDPOINT_URL"]:
        fixes.append(f"gcloud pubsub subscriptions list --project={project} "
                     f"--filter={shlex.quote('pushConfig.pushEndpoint:' + url)} --format='value(name)'")
        fixes.append(modify_push_config_command("SUBSCRIPTION", project, url, outage.account))
    if not _may_invoke(access, outage.account):
        fixes.append(add_invoker_command(access.service, access.region, project, outage.account,
                                         access.conditional_policy))
    return fixes


def _who(access: ServiceAccess, refused_subs: list[PushSubscription] | None) -> str:
    """Whose pushes are refused, as the listed subscriptions say."""
    if refused_subs is None:
        return (f"pushes without an OIDC token, or signed by an account that may not invoke {access.service} "
                f"(subscriptions not listed)")
    if not refused_subs:
        return "pushes of a subscription the listing did not find (another project's, or since deleted)"
    said = []
    token_less = [s.short_name for s in refused_subs if not s.has_token]
    if token_less:
        said.append(f"pushes without an OIDC token ({', '.join(token_less)})")
    for sub in (s for s in refused_subs if s.has_token):
        may = "may invoke it, so check the token's audience" if _may_invoke(access, sub.service_account) else \
            f"may not invoke {access.service}"
        said.append(f"pushes signed as {sub.service_account} ({sub.short_name}; that account {may})")
    return " and ".join(said)


def _refusal_span(outage: PushOutage) -> str:
    """When the still-refused pushes were refused, and what the log says about why then ("" if nothing)."""
    down = outage.down
    firsts = [s["first"] for s in down if s["first"] is not None]
    lasts = [s["last"] for s in down if s["last"] is not None]
    when = f"from {moment_text(min(firsts))} to {moment_text(max(lasts))}" if firsts and lasts else ""
    change = (f"since the policy changed (between {moment_text(outage.last_accepted)} and "
              f"{moment_text(outage.changed_at)})"
              if any(s["state"] == "changed" for s in down) and moment_text(outage.changed_at) else "")
    span = " ".join(part for part in (when, change) if part)
    unchanged = [s for s in down if s["state"] in PUSH_STATES and s["state"] != "changed"]
    if unchanged and len(down) == 1:
        said = f"{PUSH_STATES[unchanged[0]['state']]} (the log shows no change of policy)"
        return f"{span}, {said}" if span else said
    if unchanged:
        said = "; ".join(f"{s['path']}: {PUSH_STATES.get(s['state'], s['state'])}" for s in down)
        return f"{span} ({said})" if span else f"({said})"
    return span


def _refused_finding(outage: PushOutage, access: ServiceAccess, project: str) -> Finding:
    subscriptions = outage.subscriptions
    refused_subs = None if subscriptions is None else _refused_subscriptions(outage)
    if refused_subs is None or not refused_subs:
        fixes = _unlisted_fixes(outage, access, project)
    else:
        fixes = (_token_fixes(outage, access, project, [s for s in refused_subs if not s.has_token])
                 + _signed_fixes(access, project, [s for s in refused_subs if s.has_token]))
    who, span = _who(access, refused_subs), _refusal_span(outage)
    return Finding("critical", access.service, "refused_pushes",
                   f"{outage.refused_down} Pub/Sub push(es) to {access.service} were refused (401/403)"
                   f"{' ' + span if span else ''}: {who} no longer get in, so the event-driven pipeline is down; that is "
                   f"an outage, not security working.", fixes)


def _recovered_finding(outage: PushOutage, access: ServiceAccess) -> Finding:
    said = [f"{int(s['refused'])} to {s['path'] or access.service} refused from {moment_text(s['first'])} to "
            f"{moment_text(s['last'])}, let in again from {moment_text(s['recovered_at'])}" for s in outage.recovered]
    return Finding("warning", access.service, "recovered_pushes",
                   f"Pub/Sub pushes to {access.service} recovered ({'; '.join(said)}): the pipeline behind them is "
                   f"not down now, but was meanwhile; look for messages dead-lettered or past their retention.")


def judge_pushes(access: ServiceAccess, refused: dict | None, subscriptions: list[PushSubscription] | None,
                 note: str, account: str, project: str) -> PushOutage:
    """Findings about one service's pushes from its refused-push row (RequestLog.refused_pushes) and its
    push subscriptions (None when they could not be listed)."""
    refused = refused or {}
    outage = PushOutage(phase=access.phase, service=access.service, refused=int(refused.get("refused") or 0),
                        first=refused.get("first"), last=refused.get("last"), changed_at=refused.get("changed_at"),
                        last_accepted=refused.get("last_accepted"),
                        push_urls=[u for u in (refused.get("push_urls") or []) if u], subscriptions=subscriptions,
                        subscriptions_note=note, account=account, sources=_sources(refused))
    token_less = [s for s in subscriptions or [] if not s.has_token]
    if outage.down:
        outage.findings.append(_refused_finding(outage, access, project))
    elif token_less:
        named = ", ".join(s.short_name for s in token_less)
        severity, consequence = (("info", f"they get in only while {access.service} lets allUsers in; give them a "
                                          f"token before removing allUsers")
                                 if access.open_to_all_users else
                                 ("warning", "Cloud Run's IAM check refuses their pushes (none came in the window)"))
        outage.findings.append(Finding(severity, access.service, "token_less_subscription",
                                       f"Push subscription(s) {named} send no OIDC token to {access.service}: "
                                       f"{consequence}.", _token_fixes(outage, access, project, token_less)))
    if outage.recovered:
        outage.findings.append(_recovered_finding(outage, access))
    return outage


def what_broke(target: Any, scope: AuditScope, access: list[ServiceAccess], tried: WhoTried) -> list[PushOutage]:
    """Step 3: refused pushes per service, the push subscriptions targeting it (when the caller may list
    them: roles/pubsub.viewer), and the fix."""
    rows = {row["service"]: row for row in tried.tables["refused_pushes"].to_dict(orient="records")}
    outages = []
    for a in access:
        subscriptions, note = tried.subscriptions.get(a.phase) or list_push_subscriptions(target, a.phase)
        outages.append(judge_pushes(a, rows.get(a.service), subscriptions, note,
                                    push_account(scope.expected.get(a.phase, ()), scope.project), scope.project))
    return outages


def source_text(source: dict) -> str:
    """One push source as the tables say it: its path and what became of its pushes."""
    said = f"{source['path']}: {PUSH_STATES.get(source['state'], source['state'])}"
    return said + (f" from {moment_text(source['recovered_at'])}" if source["state"] == "recovered" else "")


def outage_table(outages: list[PushOutage]) -> pd.DataFrame:
    return pd.DataFrame([{
        "service": o.service, "refused pushes": o.refused, "first": moment_text(o.first), "last": moment_text(o.last),
        "last let in": moment_text(o.last_accepted), "refused from": moment_text(o.changed_at),
        "pushed to": " ".join(o.push_urls), "push sources": "; ".join(source_text(s) for s in o.sources),
    } for o in outages])


def subscriptions_table(outages: list[PushOutage]) -> pd.DataFrame:
    """The push subscriptions that target each service, and whether their pushes carry an OIDC token."""
    rows = []
    for o in outages:
        if o.subscriptions is None:
            rows.append({"service": o.service, "subscription": "(not listed)", "topic": "", "push endpoint": "",
                         "OIDC token": o.subscriptions_note})
        rows += [{"service": o.service, "subscription": s.short_name, "topic": s.topic, "push endpoint": s.push_endpoint,
                  "OIDC token": s.service_account or "NONE",
                  "wrapper": ("none, metadata in headers" if s.write_metadata else "none") if s.no_wrapper else "JSON"}
                 for s in o.subscriptions or []]
    return pd.DataFrame(rows, columns=["service", "subscription", "topic", "push endpoint", "OIDC token", "wrapper"])
