"""The audit's verdict: fail for a public service, a 2xx to a caller that could have been anyone, or refused
Pub/Sub pushes; warn for unexpected invokers or exposure before a fix; with the figures the morning
review shows and every fix command (printed, never run)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..formats import headline
from ..results import Result
from .access import SEVERITIES, AuditScope, Finding, ServiceAccess
from .pushes import PushOutage
from .tried import WhoTried, moment_text


@dataclass
class Audit(Result):
    findings: list[Finding] = field(default_factory=list)

    def findings_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"severity": f.severity, "service": f.service, "finding": f.what,
                              "fix": "\n".join(f.fix)} for f in self.findings],
                            columns=["severity", "service", "finding", "fix"])

    def fix_commands(self) -> str:
        """Every fix, grouped by finding; nothing here is run by the kit."""
        blocks = [f"# {f.severity}: {f.what}\n" + "\n".join(f.fix) for f in self.findings if f.fix]
        return "\n\n".join(blocks) if blocks else "# Nothing to fix."


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))


def conclude(scope: AuditScope, access: list[ServiceAccess], tried: WhoTried, outages: list[PushOutage]) -> Audit:
    """Step 4: the verdict, a one-line summary and the figures, from every step's findings."""
    findings = _ordered([f for a in access for f in a.findings] + tried.findings
                        + [f for o in outages for f in o.findings])
    critical = [f for f in findings if f.severity == "critical"]
    warnings = [f for f in findings if f.severity == "warning"]
    verdict = "fail" if critical else "warn" if warnings else "pass"
    public = [a for a in access if a.public]
    said = []
    for a in public:
        why = [m["member"] for m in a.members if m["judged"] == "public" and not m["condition"]]
        why += ["no invoker IAM check"] if a.invoker_iam_disabled else []
        said.append(f"{a.service} is public ({', '.join(why)})")
    refused = [o for o in outages if o.refused]
    if refused:
        said.append(f"{sum(o.refused for o in refused)} Pub/Sub pushes refused: a pipeline outage, not security "
                    f"working")
    if tried.unexpected_2xx:
        said.append(f"{tried.unexpected_2xx} 2xx to callers that could be anyone")
    unexpected = sorted({m["member"] for a in access for m in a.members if m["judged"] == "unexpected"})
    if unexpected:
        said.append(f"unexpected invokers: {', '.join(unexpected)}")
    if tried.external_reached:
        said.append(f"{tried.external_reached} external callers reached the app")
    others = [f.what for f in critical + warnings if f.kind in ("iam_check_disabled", "conditional_public",
                                                                 "token_less_subscription")]
    summary = "; ".join(said + others) + "." if said or others else (
        f"Only expected invokers may call {', '.join(a.service for a in access)}; no pushes refused and no "
        f"external caller reached the app in {tried.entries:,} requests.")
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
                            "subscriptions": None if o.subscriptions is None else [s.to_dict() for s in o.subscriptions],
                            "subscriptions_note": o.subscriptions_note} for o in outages],
        "findings": [f.to_dict() for f in findings],
    }
    return Audit(name="security_audit", verdict=verdict, summary=headline(summary), figures=figures,
                 details=details, findings=findings)
