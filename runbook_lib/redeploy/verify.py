"""Step 4: prove the right code runs, and roll back when it does not.

The checks, on the revision the deploy created: it is ready; it serves 100% of the traffic (traffic
pinned to an older revision, which `gcloud run deploy` leaves where it is, is detected and moved to the
latest revision); its `commit-sha` label is the commit; `/health` names this phase's own service (the
incident's Phase 3 served Phase 4's code) and, when it reports one, the commit. IAM belongs to the service,
not to a revision: a public service or invokers that changed under the deploy are a warning pointing at the
audit runbook, never a reason to roll back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..diagnose.verdict import existing_runbook
from ..services import Rollout
from .observe import Serving, current_traffic, serving

CHECK_STATUSES = ("pass", "fail", "warn", "skip")
AUDIT_RUNBOOK = "05_security_audit.ipynb"


@dataclass
class Check:
    name: str
    status: str      # pass | fail | warn | skip (skip: could not be asked, e.g. /health reports no commit)
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def checks_table(checks: list[Check]) -> pd.DataFrame:
    return pd.DataFrame([c.to_dict() for c in checks], columns=["name", "status", "detail"]).set_index("name")


def counted(checks: list[Check]) -> tuple[int, int]:
    """(passed, total) over the checks that could be asked; a warning is not a failure of the revision."""
    asked = [c for c in checks if c.status != "skip"]
    return sum(c.status in ("pass", "warn") for c in asked), len(asked)


def _traffic(target: Any, plan: Any, revision: str, now: Serving) -> tuple[Check, Serving]:
    if now.traffic.get(revision) == 100:
        return Check("serves 100% of traffic", "pass", f"{revision} serves 100%."), now
    pinned = ", ".join(f"{r} {p}%" for r, p in now.traffic.items()) or "nothing"
    moved = target.services.update_traffic(plan.phase, None)
    after = serving(target, plan.phase)
    if after.traffic.get(revision) == 100:
        return Check("serves 100% of traffic", "pass", f"Traffic was pinned to {pinned}; moved to the latest "
                     f"revision, {revision} now serves 100%."), after
    return Check("serves 100% of traffic", "fail", f"Traffic stays on {pinned} even after moving it to the latest "
                 f"revision ({moved.message})"), after


def _commit(plan: Any, label: str) -> Check:
    """The deploy writes the label from the plan, so the label alone proves only that the deploy took; which
    code the image holds is the plan's provenance (its own build, or a record of the image given). Without one
    the plan writes no label (runbooks 00 and 03 would trust it) and removes any the service carried."""
    if not plan.provenance:
        if label:
            return Check("commit-sha label", "fail", f"commit-sha={label}, though nothing records which commit "
                         f"{plan.image} holds and the deploy was to remove the label.")
        return Check("commit-sha label", "warn", f"No commit-sha label: nothing records which commit {plan.image} "
                     "holds, so runbooks 00 and 03 cannot tell its code (deploy with strategy cloudbuild-config to "
                     "build it from the commit).")
    if label != plan.commit_short:
        return Check("commit-sha label", "fail", f"commit-sha={label or '(none)'}, expected {plan.commit_short}.")
    return Check("commit-sha label", "pass", f"commit-sha={label}: {plan.provenance}.")


def _iam(plan: Any, before: Serving, after: Serving, rollout: Rollout) -> Check:
    audit = existing_runbook(AUDIT_RUNBOOK) or "the security audit runbook"
    removed = {"allUsers"} if rollout.notes else set()
    if after.public:
        return Check("invokers (IAM, per service)", "warn", f"{plan.service} is public ({after.public_because}): "
                     f"see {audit}; not a reason to roll back.")
    changed = set(after.invoker_members) ^ (set(before.invoker_members) - removed)
    if changed:
        return Check("invokers (IAM, per service)", "warn", f"Invokers changed during the deploy "
                     f"({', '.join(sorted(changed))}): see {audit}.")
    note = f" ({'; '.join(rollout.notes)})" if rollout.notes else ""
    return Check("invokers (IAM, per service)", "pass", f"Private: {len(after.invoker_members)} invoker member(s), "
                 f"none public{note}.")


def verify(target: Any, plan: Any, rollout: Rollout, before: Serving) -> tuple[list[Check], Serving]:
    """The checks on the new revision, in order; moves traffic pinned elsewhere to it first."""
    phase = target.phases.get(plan.phase)
    revision = next((r for r in target.services.list_revisions(plan.phase) if r.name == rollout.revision), None)
    now = serving(target, plan.phase)
    if revision is None or not (rollout.ready and revision.ready):
        checks = [Check("revision ready", "fail", rollout.message or f"{rollout.revision or 'No revision'} is not ready.")]
        checks += [Check(name, "skip", "Not checked: the revision is not ready.")
                   for name in ("serves 100% of traffic", "commit-sha label", "/health service", "/health commit")]
        return checks + [_iam(plan, before, now, rollout)], now
    checks = [Check("revision ready", "pass", rollout.message)]
    traffic, now = _traffic(target, plan, revision.name, now)
    checks.append(traffic)
    checks.append(_commit(plan, revision.labels.get("commit-sha", "")))
    if now.revision != revision.name:
        checks.append(Check("/health service", "fail", f"/health answers for {now.revision}, not {revision.name}."))
    elif now.health_service is None:
        checks.append(Check("/health service", "fail", f"/health answered {now.health.get('http_status')}: "
                            f"{now.health.get('error', 'no service name')}"))
    else:
        ok = now.health_service == phase.service_identity
        checks.append(Check("/health service", "pass" if ok else "fail",
                            f"/health names {now.health_service}" + ("." if ok else
                            f", not {phase.service_identity}: the image runs another phase's code.")))
    reported = now.health_commit
    if reported is None or now.revision != revision.name:
        checks.append(Check("/health commit", "skip", "/health reports no commit."))
    else:
        ok = plan.commit.startswith(reported) or reported.startswith(plan.commit_short)
        checks.append(Check("/health commit", "pass" if ok else "fail", f"/health reports commit {reported[:12]}"
                            + ("." if ok else f", expected {plan.commit_short}.")))
    return checks + [_iam(plan, before, now, rollout)], now


def rollback(target: Any, plan: Any) -> tuple[Rollout, bool]:
    """The traffic back as it was before the deploy (the same split, pinned); (rollout, confirmed)."""
    moved = target.services.update_traffic(plan.phase, plan.previous_traffic)
    return moved, current_traffic(target, plan.phase) == plan.previous_traffic
