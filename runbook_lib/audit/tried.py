"""Who tried: read every request-log entry of the window (paged to the end, counted), classify the callers
in DuckDB (requests.py), and turn what reached the app into findings.

The entries go into DuckDB as they are read, never gathered in Python first: a day of a busy service is
hundreds of thousands of entries. The sandbox's request log is loaded in place, one pass for every audited
service; an adapter without such a file hands its entries over one at a time (iter_request_logs: on gcp, as
Cloud Logging's pages arrive)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import pandas as pd
from tqdm import tqdm

from ..errors import AccessDenied, CloudUnreachable, QuotaExceeded
from ..formats import rfc3339
from ..progress import ticking
from ..request_logs import RequestLogQuery
from .model import GRANTS_NOTHING, AuditScope, Finding, ServiceAccess
from .requests import REFUSED_STATUSES, RequestLog, ServiceFacts, bucket_minutes

@dataclass
class WhoTried:
    """The window's request log, analysed: the tables the runbook shows and the counts it records."""

    since: datetime
    until: datetime
    entries: int                         # every entry read (all pages) and loaded
    per_service: dict[str, int]          # entries read per service
    bucket_minutes: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # per phase: its push subscriptions as listed for the classification (None: could not be listed) and why not
    subscriptions: dict[str, tuple[list | None, str]] = field(default_factory=dict)

    @property
    def note(self) -> str:
        services = ", ".join(f"{name} {count:,}" for name, count in self.per_service.items())
        return (f"Read {self.entries:,} request-log entries (resource.type=\"cloud_run_revision\", every page) "
                f"from {moment_text(self.since)} to {moment_text(self.until)}: {services}.")

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def refused_pushes(self) -> int:
        return int(self.tables["refused_pushes"]["refused"].sum())

    @property
    def external_reached(self) -> int:
        """External callers (addresses) that reached the app."""
        return int(self.tables["reached_app"]["ip"].nunique())

    @property
    def unexpected_2xx(self) -> int:
        return int(self.tables["reached_app"]["ok_2xx"].sum())


def moment_text(moment: Any) -> str:
    """RFC 3339 UTC text (whole seconds) of a datetime or a DuckDB/pandas timestamp; "" for none."""
    if moment is None or pd.isna(moment):
        return ""
    return rfc3339(pd.Timestamp(moment).to_pydatetime(), micros=False)


# Members that may call a service but are neither judged as invokers nor unexpected: named instead in the
# class of callers past IAM (ServiceAccess.granted_above).
_NOT_JUDGED = ("public", "administrator", "google_agent")


def _facts(access: list[ServiceAccess], scope: AuditScope,
           subscriptions: dict[str, tuple[list | None, str]] | None = None) -> list[ServiceFacts]:
    facts = []
    for a in access:
        # a deleted account or an expired grant lets no one in: no caller past IAM held it
        members = {m["member"] for m in a.members if m["judged"] not in _NOT_JUDGED + GRANTS_NOTHING}
        listed = (subscriptions or {}).get(a.phase, (None, ""))[0] or []
        signed = tuple(sorted({urlsplit(s.push_endpoint).path or "/" for s in listed if s.service_account}))
        facts.append(ServiceFacts(a.service, a.public, members <= scope.expected_members(a.phase),
                                  a.granted_above(), signed))
    return facts


def list_push_subscriptions(target: Any, phase: str) -> tuple[list | None, str]:
    """The push subscriptions targeting a phase's service, or None and why they could not be listed (a missing
    roles/pubsub.viewer, the Pub/Sub API not enabled, Pub/Sub unavailable or out of quota after the retries)."""
    try:
        return target.services.push_subscriptions(phase), ""
    except (AccessDenied, CloudUnreachable, QuotaExceeded) as exc:
        return None, f"{exc} The audit carries on without them."


def who_tried(target: Any, scope: AuditScope, access: list[ServiceAccess], progress: bool = True) -> WhoTried:
    """Step 2: every request-log entry of the window for the audited services, classified and counted.
    progress: a line saying what is being done and for how long (progress.ticking; a million entries take
    about ten seconds on the sandbox)."""
    log = RequestLog()
    try:
        with ticking("Reading the request log", progress) as line:
            _load_window(log, target, scope, line)
            counted = log.loaded_by_service()
            per_service = {phase.service: counted.get(phase.service, 0) for phase in scope.phases}
            line.set_description_str(f"Classifying {log.loaded:,} request-log entries", refresh=False)
            # which pushes are signed tells a lost grant from the service no longer letting anyone in (requests.py)
            subscriptions = {a.phase: list_push_subscriptions(target, a.phase) for a in access}
            log.classify(_facts(access, scope, subscriptions))
            minutes = bucket_minutes((scope.until - scope.since).total_seconds() / 3600)
            tables = log.analyse(scope.since, minutes)
            line.set_description_str(f"Read and classified {log.loaded:,} request-log entries", refresh=False)
    finally:
        log.close()
    tried = WhoTried(since=scope.since, until=scope.until, entries=log.loaded, per_service=per_service,
                     bucket_minutes=minutes, tables=tables, subscriptions=subscriptions)
    tried.findings = request_findings(tried) + scheduler_findings(tried, access, scope)
    return tried


def _load_window(log: RequestLog, target: Any, scope: AuditScope, line: tqdm) -> None:
    """The window's entries of every audited service into `log`, in one load."""
    logs = target.logs
    file = getattr(logs, "request_log_file", None)   # the sandbox's: JSON lines already, read where it is
    if file is not None and Path(file).is_file():
        line.set_description_str(f"Loading {Path(file).name} ({Path(file).stat().st_size / 1e6:,.0f} MB)",
                                 refresh=False)
        log.load_file(file, RequestLogQuery(tuple(p.service for p in scope.phases),
                                            tuple(p.region for p in scope.phases), scope.since, scope.until))
    else:
        log.load_entries(_counted(_window_entries(logs, scope), line))


def _window_entries(logs: Any, scope: AuditScope) -> Iterator[dict]:
    """Every phase's entries, one at a time (on gcp, as Cloud Logging's pages arrive)."""
    for phase in scope.phases:
        yield from logs.iter_request_logs(phase.name, since=scope.since, until=scope.until)


def _counted(entries: Iterable[dict], line: tqdm) -> Iterator[dict]:
    for count, entry in enumerate(entries, 1):
        if count % 1000 == 0:
            line.set_description_str(f"Reading request-log entries: {count:,}", refresh=False)
        yield entry


def scheduler_findings(tried: WhoTried, access: list[ServiceAccess], scope: AuditScope) -> list[Finding]:
    """Cloud Scheduler calls refused by IAM: scheduled runs that did not happen (a job without an OIDC token, or
    signed by an account that may not invoke the service), an outage as refused pushes are."""
    regions = {a.service: a.region for a in access}
    findings = []
    for row in tried.tables.get("refused_scheduler", pd.DataFrame()).itertuples():
        region = regions.get(row.service, "REGION")
        findings.append(Finding(
            "warning", row.service, "refused_scheduler",
            f"{row.refused} Cloud Scheduler call(s) to {row.service} ({row.paths}) were refused by IAM from "
            f"{moment_text(row.first)} to {moment_text(row.last)}: those scheduled runs did not happen; the job "
            f"needs an OIDC token (--oidc-service-account-email) of an account that may invoke {row.service}.",
            [f"gcloud scheduler jobs list --location={region} --project={scope.project}"]))
    return findings


def request_findings(tried: WhoTried) -> list[Finding]:
    """A 2xx to a caller that could have been anyone is critical; an external caller that reached the app
    at all (the app's 404 rather than IAM's 403) is exposure, with the paths it probed."""
    findings = []
    for row in tried.tables["reached_by_service"].itertuples():
        if row.ok_2xx:
            findings.append(Finding("critical", row.service, "unexpected_2xx",
                                    f"{row.ok_2xx} request(s) from {row.ok_addresses} address(es) got a 2xx from "
                                    f"{row.service} while it let in callers that are not its expected invokers."))
        when = (f"before the policy changed at {moment_text(row.changed_at)}"
                if row.before_change else "while it let anyone in; it still does")
        findings.append(Finding("warning", row.service, "exposure",
                                f"{row.addresses} external address(es) reached the {row.service} app {when}: "
                                f"{row.requests} request(s), probing {row.paths}."))
    return findings


def _status_colour(status: int) -> str:
    """Refused by IAM (401/403) apart from what reached the app (2xx, 3xx, other 4xx such as a probe's 404, 5xx)."""
    if status in REFUSED_STATUSES:
        return "#d4a72c"
    return {2: "#1a7f37", 3: "#0969da", 4: "#8250df", 5: "#cf222e"}.get(status // 100, "#6e7781")


def requests_chart(tried: WhoTried):
    """Requests by service and status over time: one panel per service, bars stacked by status."""
    from matplotlib.ticker import MaxNLocator

    from .. import charts

    frame = tried.tables["timeline"]
    services = sorted(frame["service"].unique()) or ["(no requests)"]
    fig = charts.new_figure(9, 1.2 + 2.0 * len(services))
    axes = fig.subplots(len(services), 1, sharex=True, squeeze=False)[:, 0]
    width = pd.Timedelta(minutes=tried.bucket_minutes) * 0.9
    for ax, service in zip(axes, services):
        part = frame[frame["service"] == service]
        table = part.pivot_table(index="bucket", columns="status", values="requests", aggfunc="sum", fill_value=0)
        bottom = None
        for status in sorted(table.columns):
            ax.bar(table.index, table[status], width=width, bottom=bottom, label=str(status),
                   color=_status_colour(int(status)), align="edge")
            bottom = table[status] if bottom is None else bottom + table[status]
        ax.set_xlim(pd.Timestamp(tried.since), pd.Timestamp(tried.until))
        ax.set_title(service, fontsize=9)
        ax.set_ylabel("requests")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # requests are counted: no 2.5 on the axis
        if len(table.columns):
            ax.legend(title="status", fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[-1].set_xlabel(f"UTC, {tried.bucket_minutes}-minute bars")
    fig.suptitle("Requests by service and status")
    fig.autofmt_xdate()
    return fig
