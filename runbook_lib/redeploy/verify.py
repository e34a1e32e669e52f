"""Step 4: prove the right code runs, and roll back when it does not.

The checks, on the revision the deploy created: it is ready; it serves 100% of the traffic (traffic
pinned to an older revision, which `gcloud run deploy` leaves where it is, is detected and moved to the
latest revision); its `commit-sha` label is the commit; `/health` can be read, names this phase's own service
(the incident's Phase 3 served Phase 4's code) and says it is healthy as runbook 00 means it, and, when it
reports one, the commit. IAM belongs to the service, not to a revision: a public service or invokers that
changed under the deploy are a warning pointing at the audit runbook, never a reason to roll back.

Traffic is only ever moved from what this run left: someone else's deploy or traffic change made meanwhile is
reported, never undone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..diagnose.verdict import existing_runbook
from ..errors import RunbookError
from ..formats import sentence
from ..overview import PhaseState
from ..services import Rollout
from .observe import Serving, current_traffic, said, serving, split_said

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


def _shares(traffic: dict[str, int]) -> dict[str, int]:
    return {r: p for r, p in traffic.items() if p}


def _traffic(target: Any, plan: Any, revision: str, now: Serving,
             deployed: dict[str, int]) -> tuple[Check, Serving, dict[str, int]]:
    """The traffic check; also the traffic as this run leaves it (`deployed`: as the deploy left it)."""
    if now.traffic.get(revision) == 100:
        return Check("serves 100% of traffic", "pass", f"{revision} serves 100%."), now, now.traffic
    pinned = split_said(now.traffic)
    if _shares(now.traffic) != _shares(deployed):
        return Check("serves 100% of traffic", "fail", f"{pinned} serves, not {said(deployed)} as the deploy left "
                     "it: someone changed the traffic since, so it was not moved."), now, deployed
    try:
        moved = target.services.update_traffic(plan.phase, None).message
    except RunbookError as exc:
        moved = sentence(exc)
    after = serving(target, plan.phase)
    if after.traffic.get(revision) == 100:
        return Check("serves 100% of traffic", "pass", f"Traffic was pinned to {pinned}; moved to the latest "
                     f"revision, {revision} now serves 100%."), after, after.traffic
    return Check("serves 100% of traffic", "fail", f"Traffic stays on {pinned} even after moving it to the latest "
                 f"revision ({moved})"), after, after.traffic


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


def _health(plan: Any, phase: Any, revision: str, now: Serving) -> Check:
    """/health read as runbook 00 reads it (overview.PhaseState), so "healthy" means the same in both runbooks.
    One check, not two: a /health that does not say healthy fails it as surely as one naming another service."""
    health = now.health
    if now.revision != revision:
        return Check("/health service", "fail", f"/health answers for {now.revision}, not {revision}.")
    if health.get("http_status") is None:
        return Check("/health service", "fail", f"/health of {revision} {health.get('error', 'could not be read.')}")
    state = PhaseState(plan.phase, plan.service, revision, now.commit_sha, now.supports_prefix, None, None,
                       phase.service_identity, now.public).read_health(health)
    if state.reported_service is None:
        return Check("/health service", "fail", f"/health answered {state.http_status}: "
                     f"{health.get('error', 'no service name')}")
    if state.wrong_code:
        return Check("/health service", "fail", f"/health names {state.reported_service}, not "
                     f"{state.expected_service}: the image runs another phase's code.")
    if not state.healthy:
        status = f'its status is "{state.health_status}"' if state.health_status is not None else "it gives no status"
        return Check("/health service", "fail", f"/health names {state.reported_service} but {status}, not "
                     f'"healthy" as runbook 00 requires: {state.health_said}')
    return Check("/health service", "pass", f"/health names {state.reported_service} and says it is healthy.")


def verify(target: Any, plan: Any, rollout: Rollout,
           before: Serving) -> tuple[list[Check], Serving, dict[str, int]]:
    """The checks on the new revision, in order; moves traffic pinned elsewhere to it first. Also the traffic as
    this run left it, which the rollback must find unchanged before it moves anything."""
    phase = target.phases.get(plan.phase)
    revision = next((r for r in target.services.list_revisions(plan.phase) if r.name == rollout.revision), None)
    now = serving(target, plan.phase)
    deployed = rollout.traffic or now.traffic   # a deploy that reported no traffic: as the checks first saw it
    if revision is None or not (rollout.ready and revision.ready):
        checks = [Check("revision ready", "fail", rollout.message or f"{rollout.revision or 'No revision'} is not ready.")]
        checks += [Check(name, "skip", "Not checked: the revision is not ready.")
                   for name in ("serves 100% of traffic", "commit-sha label", "/health service", "/health commit")]
        return checks + [_iam(plan, before, now, rollout)], now, deployed
    checks = [Check("revision ready", "pass", rollout.message)]
    traffic, now, left = _traffic(target, plan, revision.name, now, deployed)
    checks.append(traffic)
    checks.append(_commit(plan, revision.labels.get("commit-sha", "")))
    checks.append(_health(plan, phase, revision.name, now))
    reported = now.health_commit
    if reported is None or now.revision != revision.name:
        checks.append(Check("/health commit", "skip", "/health reports no commit."))
    else:
        ok = plan.commit.startswith(reported) or reported.startswith(plan.commit_short)
        checks.append(Check("/health commit", "pass" if ok else "fail", f"/health reports commit {reported[:12]}"
                            + ("." if ok else f", expected {plan.commit_short}.")))
    return checks + [_iam(plan, before, now, rollout)], now, left


def rollback(target: Any, plan: Any, revision: str, left: dict[str, int],
             followed_latest: bool = False) -> tuple[Rollout | None, bool, Check]:
    """The traffic back as it was before the deploy (the same split, pinned): (the traffic change, or None when
    nothing was moved; confirmed; the `rollback` check). Only from what this run left (`left`, or all of it on
    `revision`, the new one): a change someone made since is theirs to keep."""
    try:
        now = _shares(current_traffic(target, plan.phase))
        if now != _shares(left) and now != {revision: 100}:
            return None, False, Check("rollback", "fail", f"{said(now)} serves now, not {said(left)} as this run "
                                      "left it: someone changed the traffic since, so it was not rolled back (that "
                                      f"would undo their change); to roll back anyway: {plan.rollback_command()}")
        moved = target.services.update_traffic(plan.phase, plan.previous_traffic)
        confirmed = current_traffic(target, plan.phase) == plan.previous_traffic
    except RunbookError as exc:   # a ParameterError too: the rollback's target revision was deleted since
        return None, False, Check("rollback", "fail", _rollback_failed(target, plan, revision, exc))
    detail = moved.message
    if confirmed and followed_latest:
        detail += (f" {plan.service} followed the latest revision before and is now pinned to "
                   f"{said(plan.previous_traffic)}, so later deploys get no traffic: once a good revision is deployed, "
                   f"gcloud run services update-traffic {plan.service} --to-latest --region={plan.region} "
                   f"--project={plan.project}")
    return moved, confirmed, Check("rollback", "pass" if confirmed else "fail", detail)


def _rollback_failed(target: Any, plan: Any, revision: str, exc: RunbookError) -> str:
    """Why the rollback did not take, what serves instead, and a rollback by hand that can work: to the newest
    ready revision other than the new one (the plan's own command names a revision that is gone)."""
    try:
        revisions = target.services.list_revisions(plan.phase)
    except RunbookError:
        return (f"the rollback failed ({sentence(exc)}) and the revisions cannot be read now, so {revision} may still "
                f"serve: see gcloud run revisions list --service={plan.service} --region={plan.region} "
                f"--project={plan.project}")
    ready = [r.name for r in revisions if r.ready]
    serving = said({r.name: r.traffic_percent for r in revisions if r.traffic_percent})
    gone = [r for r in plan.previous_traffic if r not in ready]
    why = (f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} gone (deleted, or not ready)" if gone
           else f"the rollback to {said(plan.previous_traffic)} failed ({sentence(exc).rstrip('.')})")
    other = next((r for r in ready if r != revision), None)
    to = f"--to-revisions={other}=100" if other else "--to-latest"
    # the command first and whole: the verdict's summary is cut at its end
    return (f"{why}, so {serving} still serves; roll back by hand: gcloud run services update-traffic {plan.service} "
            f"{to} --region={plan.region} --project={plan.project}"
            + (f" ({other}: the newest ready revision besides the new one; check it runs the code you want)."
               if other else " (no other revision is ready)."))
