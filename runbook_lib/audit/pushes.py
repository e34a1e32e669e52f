"""What broke: Pub/Sub pushes refused by Cloud Run's IAM check are a pipeline outage, not security working.

Since a service stopped letting allUsers in, a push subscription without an OIDC token is refused (403)
on every push and every retry, so the event-driven chain behind it is down. The fix gives the
subscription a token (`modify-push-config --push-auth-service-account`) and that service account
roles/run.invoker on the service; the commands are printed, never run.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from ..errors import AccessDenied
from ..services import PushSubscription
from .access import AuditScope, Finding, ServiceAccess, add_invoker_command
from .tried import WhoTried, moment_text

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


def push_account(expected: tuple[str, ...], project: str) -> str:
    """The service account to sign pushes with: an expected invoker named for Pub/Sub, else the first
    expected invoker, else a placeholder to fill in."""
    for email in expected:
        if "pubsub" in email.split("@")[0] or "push" in email.split("@")[0]:
            return email
    return expected[0] if expected else PLACEHOLDER_ACCOUNT.format(project=project)


def modify_push_config_command(subscription: str, project: str, endpoint: str, account: str) -> str:
    """Give a push subscription an OIDC token; the audience is the service's URL, which Cloud Run accepts."""
    audience = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
    return (f"gcloud pubsub subscriptions modify-push-config {shlex.quote(subscription)} --project={project} "
            f"--push-endpoint={shlex.quote(endpoint)} --push-auth-service-account={account} "
            f"--push-auth-token-audience={shlex.quote(audience)}")


def _fixes(outage: PushOutage, access: ServiceAccess, project: str, token_less: list[PushSubscription]) -> list[str]:
    fixes = []
    if token_less:
        for sub in token_less:
            sub_project = sub.name.split("/")[1] if sub.name.count("/") >= 3 else project
            fixes.append(modify_push_config_command(sub.short_name, sub_project, sub.push_endpoint, outage.account))
    else:
        # The subscriptions are not known here: the endpoint the pushes used says which to look for.
        for url in outage.push_urls or ["PUSH_ENDPOINT_URL"]:
            fixes.append(f"gcloud pubsub subscriptions list --project={project} "
                         f"--filter={shlex.quote('pushConfig.pushEndpoint:' + url)} --format='value(name)'")
            fixes.append(modify_push_config_command("SUBSCRIPTION", project, url, outage.account))
    if f"serviceAccount:{outage.account}" not in access.invoker_members():
        fixes.append(add_invoker_command(access.service, access.region, project, outage.account))
    return fixes


def judge_pushes(access: ServiceAccess, refused: dict | None, subscriptions: list[PushSubscription] | None,
                 note: str, account: str, project: str) -> PushOutage:
    """Findings about one service's pushes from its refused-push row (RequestLog.refused_pushes) and its
    push subscriptions (None when they could not be listed)."""
    refused = refused or {}
    outage = PushOutage(phase=access.phase, service=access.service, refused=int(refused.get("refused") or 0),
                        first=refused.get("first"), last=refused.get("last"), changed_at=refused.get("changed_at"),
                        last_accepted=refused.get("last_accepted"),
                        push_urls=[u for u in (refused.get("push_urls") or []) if u], subscriptions=subscriptions,
                        subscriptions_note=note, account=account)
    token_less = [s for s in subscriptions or [] if not s.has_token]
    named = ", ".join(s.short_name for s in token_less) or "(subscriptions not listed)"
    if outage.refused:
        since = (f" since the policy changed (between {moment_text(outage.last_accepted)} and "
                 f"{moment_text(outage.changed_at)})" if moment_text(outage.changed_at) else "")
        outage.findings.append(Finding(
            "critical", access.service, "refused_pushes",
            f"{outage.refused} Pub/Sub push(es) to {access.service} were refused (401/403) from "
            f"{moment_text(outage.first)} to {moment_text(outage.last)}{since}: pushes without an OIDC token ({named}) no "
            f"longer get in, so the event-driven pipeline is down; that is an outage, not security working.",
            _fixes(outage, access, project, token_less)))
    elif token_less:
        severity, consequence = (("info", f"they get in only while {access.service} lets allUsers in; give them a "
                                          f"token before removing allUsers")
                                 if access.open_to_all_users else
                                 ("warning", "Cloud Run's IAM check refuses their pushes (none came in the window)"))
        outage.findings.append(Finding(severity, access.service, "token_less_subscription",
                                       f"Push subscription(s) {named} send no OIDC token to {access.service}: "
                                       f"{consequence}.", _fixes(outage, access, project, token_less)))
    return outage


def what_broke(target: Any, scope: AuditScope, access: list[ServiceAccess], tried: WhoTried) -> list[PushOutage]:
    """Step 3: refused pushes per service, the push subscriptions targeting it (when the caller may list
    them: roles/pubsub.viewer), and the fix."""
    rows = {row["service"]: row for row in tried.tables["refused_pushes"].to_dict(orient="records")}
    outages = []
    for a in access:
        try:
            subscriptions, note = target.services.push_subscriptions(a.phase), ""
        except AccessDenied as exc:   # a missing role, or the Pub/Sub API not enabled
            subscriptions, note = None, f"{exc} The audit carries on without them."
        outages.append(judge_pushes(a, rows.get(a.service), subscriptions, note,
                                    push_account(scope.expected.get(a.phase, ()), scope.project), scope.project))
    return outages


def outage_table(outages: list[PushOutage]) -> pd.DataFrame:
    return pd.DataFrame([{
        "service": o.service, "refused pushes": o.refused, "first": moment_text(o.first), "last": moment_text(o.last),
        "last let in": moment_text(o.last_accepted), "refused from": moment_text(o.changed_at),
        "pushed to": " ".join(o.push_urls),
    } for o in outages])


def subscriptions_table(outages: list[PushOutage]) -> pd.DataFrame:
    """The push subscriptions that target each service, and whether their pushes carry an OIDC token."""
    rows = []
    for o in outages:
        if o.subscriptions is None:
            rows.append({"service": o.service, "subscription": "(not listed)", "topic": "", "push endpoint": "",
                         "OIDC token": o.subscriptions_note})
        rows += [{"service": o.service, "subscription": s.short_name, "topic": s.topic, "push endpoint": s.push_endpoint,
                  "OIDC token": s.service_account or "NONE"} for s in o.subscriptions or []]
    return pd.DataFrame(rows, columns=["service", "subscription", "topic", "push endpoint", "OIDC token"])
