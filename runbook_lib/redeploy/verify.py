"""Step 4: prove the right code runs before it serves, then move the traffic, and roll back when it does not hold.

The deploy gave the new revision no traffic, only the tag `candidate`. Its checks run on the tag's URL while
production keeps its traffic: it is ready; its `commit-sha` label is the commit; `/health` can be read, names this
phase's own service (the incident's Phase 3 served Phase 4's code) and says it is healthy as runbook 00 means it,
and, when it reports one, the commit. A revision that fails them never gets any traffic, so there is nothing to
roll back. Only once they pass is the traffic migrated, pinned to it (and following the latest revision again,
as before the deploy, only while it is the newest), then checked on the service's own URL: the revision serves 100%, and `/health` there
answers as above; a failure now rolls back. IAM belongs to the service, not to a revision: a public service or
invokers that changed under the deploy are a warning pointing at the audit runbook, never a reason to roll back.

Traffic is only ever moved from what this run left: someone else's deploy or traffic change made meanwhile is
reported, never undone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ..diagnose.verdict import existing_runbook
from ..errors import RunbookError
from ..formats import keyed_table, sentence
from ..phase_state import PhaseState
from ..services import Rollout, newest_revisions_first
from .guards import claimed
from .observe import Serving, current_traffic, health_commit, health_with_token, said, serving, split_said

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
    return keyed_table([c.to_dict() for c in checks], ["name", "status", "detail"])


def counted(checks: list[Check]) -> tuple[int, int]:
    """(passed, total) over the checks that could be asked; a warning is not a failure of the revision."""
    asked = [c for c in checks if c.status != "skip"]
    return sum(c.status in ("pass", "warn") for c in asked), len(asked)


def _shares(traffic: dict[str, int]) -> dict[str, int]:
    return {r: p for r, p in traffic.items() if p}


def migrate(target: Any, plan: Any, revision: str, deployed: dict[str, int]) -> tuple[Check, Serving, bool]:
    """The traffic to the new revision, its checks on the tag's URL passed: pinned to it, then `--to-latest` when
    the service followed the latest revision before (the no-traffic deploy pinned it) and it is still the newest;
    only from what the deploy left (`deployed`), never over someone's change. (the check, what serves after, moved at all)."""
    now: Serving | None = None   # what served when the migration was last checked

    def as_the_deploy_left_it() -> list[str]:
        nonlocal now
        now = serving(target, plan.phase, read_health=False)
        if _shares(now.traffic) == _shares(deployed):
            return []
        return [f"{split_said(now.traffic)} serves, not {said(deployed)} as the deploy left it: someone changed the "
                f"traffic since, so it was not moved to {revision}."]

    def newest_is_it() -> list[str]:
        newest = next((r.name for r in newest_revisions_first(target.services.list_revisions(plan.phase))
                       if r.ready), revision)
        return [] if newest == revision else [
            f"It stays pinned: {newest}, deployed since and not checked, is the newest revision, so following the "
            f"latest again would give it the traffic; once a good revision is the newest: {plan.to_latest_command()}"
            f"{plan.gcp_only}"]

    how, note = f"to {revision}, pinned", ""
    try:
        # pinned to the revision that passed, never straight --to-latest: a revision deployed since would get it all
        rollout, refused = claimed(target, plan, as_the_deploy_left_it,
                                   lambda etag: target.services.update_traffic(plan.phase, revision, etag=etag))
        if rollout is None:   # the check ran (it read `now`) and refused, or kept being overtaken
            return Check("serves 100% of traffic", "fail", refused[0]), now, False
        moved = rollout.message
        if plan.followed_latest:
            latest, refused = claimed(target, plan, newest_is_it,
                                      lambda etag: target.services.update_traffic(plan.phase, None, etag=etag))
            if latest is not None:
                moved = latest.message
                how = "to the latest revision, which it is (following the latest again, as before the deploy)"
            else:
                note = f" {refused[0]}"
    except RunbookError as exc:
        moved = sentence(exc)
    after = serving(target, plan.phase)
    if after.traffic.get(revision) == 100:
        return Check("serves 100% of traffic", "warn" if note else "pass", f"Its checks passed on the tag "
                     f"{plan.tag}'s URL, so the traffic moved from {said(deployed)} {how}: {revision} serves "
                     f"100%.{note}"), after, True
    return Check("serves 100% of traffic", "fail", f"{split_said(after.traffic)} serves after moving the traffic "
                 f"{how} ({moved.rstrip('.')}), not {revision} 100%."), after, \
        after.traffic != (now.traffic if now is not None else deployed)


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


def _health(plan: Any, phase: Any, revision: str, now: Serving, name: str = "/health service") -> Check:
    """The service's /health after the migration: the new revision answers, as runbook 00 reads it."""
    if now.revision != revision:
        return Check(name, "fail", f"/health answers for {now.revision}, not {revision}.")
    return _identity(plan, phase, revision, now.health, now.commit_sha, now.supports_prefix, now.public, name)


def _identity(plan: Any, phase: Any, revision: str, health: dict, label: str, supports_prefix: bool | None,
              public: bool, name: str) -> Check:
    """/health read as runbook 00 reads it (phase_state.PhaseState), so "healthy" means the same in both runbooks.
    One check, not two: a /health that does not say healthy fails it as surely as one naming another service."""
    if health.get("http_status") is None:
        return Check(name, "fail", f"/health of {revision} {health.get('error', 'could not be read.')}")
    state = PhaseState(plan.phase, plan.service, revision, label, supports_prefix, None, None,
                       phase.service_identity, public).read_health(health)
    if state.reported_service is None:
        return Check(name, "fail", f"/health answered {state.http_status}: {health.get('error', 'no service name')}")
    if state.wrong_code:
        return Check(name, "fail", f"/health names {state.reported_service}, not {state.expected_service}: the image "
                     "runs another phase's code.")
    if not state.healthy:
        status = f'its status is "{state.health_status}"' if state.health_status is not None else "it gives no status"
        return Check(name, "fail", f"/health names {state.reported_service} but {status}, not "
                     f'"healthy" as runbook 00 requires: {state.health_said}')
    return Check(name, "pass", f"/health names {state.reported_service} and says it is healthy.")


def _reported_commit(plan: Any, health: dict, name: str) -> Check:
    reported = health_commit(health)
    if reported is None:
        return Check(name, "skip", "/health reports no commit.")
    ok = plan.commit.startswith(reported) or reported.startswith(plan.commit_short)
    return Check(name, "pass" if ok else "fail", f"/health reports commit {reported[:12]}"
                 + ("." if ok else f", expected {plan.commit_short}."))


CANDIDATE_CHECKS = ("commit-sha label", "candidate /health service", "candidate /health commit")


def check_candidate(target: Any, plan: Any, rollout: Rollout) -> list[Check]:
    """The revision's own checks, with no traffic yet, on the tag's URL: ready, its commit-sha label, /health
    naming this phase's service (the incident's Phase 3 served Phase 4's code) and healthy, and its commit."""
    phase = target.phases.get(plan.phase)
    revision = next((r for r in target.services.list_revisions(plan.phase) if r.name == rollout.revision), None)
    if revision is None or not (rollout.ready and revision.ready):
        not_ready = rollout.message or f"{rollout.revision or 'No revision'} is not ready."
        return [Check("revision ready", "fail", not_ready),
                *[Check(name, "skip", "Not checked: the revision is not ready.") for name in CANDIDATE_CHECKS]]
    checks = [Check("revision ready", "pass", rollout.message), _commit(plan, revision.labels.get("commit-sha", ""))]
    if plan.tag not in revision.tags:
        holder = next((r.name for r in target.services.list_revisions(plan.phase) if plan.tag in r.tags), "no revision")
        return checks + [Check("candidate /health service", "fail", f"The tag {plan.tag} names {holder} now, not "
                               f"{revision.name}: another redeploy moved it, so {revision.name} cannot be checked on "
                               "its URL."), Check("candidate /health commit", "skip", "Not checked: see above.")]
    health = health_with_token(target, plan.phase, plan.tag)
    return checks + [_identity(plan, phase, revision.name, health, revision.commit_sha, revision.supports_prefix,
                               False, "candidate /health service"),
                     _reported_commit(plan, health, "candidate /health commit")]


def verify(target: Any, plan: Any, rollout: Rollout,
           before: Serving) -> tuple[list[Check], Serving, dict[str, int], bool]:
    """The checks on the new revision on its tag's URL, while production keeps its traffic; only when they pass,
    the migration and the service's own checks (100% of the traffic, /health on its URL). Also the traffic as this
    run left it, which a rollback must find unchanged before it moves anything, and whether traffic moved."""
    phase = target.phases.get(plan.phase)
    checks = check_candidate(target, plan, rollout)
    now = serving(target, plan.phase, read_health=False)   # production's /health is not what is checked here
    deployed = rollout.traffic or now.traffic   # a deploy that reported no traffic: as the checks first saw it
    if any(c.status == "fail" for c in checks):
        checks += [Check(name, "skip", f"Not checked: {rollout.revision or 'the revision'} failed its checks on the "
                         f"tag {plan.tag}'s URL, so no traffic was moved to it.")
                   for name in ("serves 100% of traffic", "/health service")]
        return checks + [_iam(plan, before, now, rollout)], now, deployed, False
    traffic, now, moved = migrate(target, plan, rollout.revision, deployed)
    checks.append(traffic)
    if traffic.status == "fail" and not moved:
        checks.append(Check("/health service", "skip", "Not checked: the traffic was not moved to it."))
        return checks + [_iam(plan, before, now, rollout)], now, deployed, False
    checks.append(_health(plan, phase, rollout.revision, now))
    return checks + [_iam(plan, before, now, rollout)], now, now.traffic, moved


def not_needed(target: Any, plan: Any, revision: str, followed_latest: bool) -> Check:
    """The rollback check when no traffic ever moved to the new revision: nothing to roll back, and why. A
    service that followed the latest revision is pinned now all the same (by gcloud's --no-traffic)."""
    try:
        now = said(_shares(current_traffic(target, plan.phase)))
    except RunbookError as exc:
        now = f"(the traffic cannot be read now: {sentence(exc).rstrip('.')})"
    detail = (f"Not needed: no traffic was moved to {revision or 'the new revision'}, so production never reached "
              f"it; {now} serves.")
    if followed_latest:
        detail += (f" {plan.service} followed the latest revision before and the no-traffic deploy pinned it to "
                   f"{said(plan.previous_traffic)}, so later deploys get no traffic: once a good revision is "
                   f"deployed, {plan.to_latest_command()}{plan.gcp_only}")
    return Check("rollback", "skip", detail)


def rollback(target: Any, plan: Any, revision: str, left: dict[str, int],
             followed_latest: bool = False) -> tuple[Rollout | None, bool, Check]:
    """The traffic back as it was before the deploy (the same split, pinned): (the traffic change, or None when
    nothing was moved; confirmed; the `rollback` check). Only from what this run left (`left`, or all of it on
    `revision`, the new one): a change someone made since is theirs to keep."""
    def as_this_run_left_it() -> list[str]:
        now = _shares(current_traffic(target, plan.phase))
        if now == _shares(left) or now == {revision: 100}:
            return []
        return [f"{said(now)} serves now, not {said(left)} as this run left it: someone changed the traffic since, so "
                "it was not rolled back (that would undo their change)."]

    try:
        moved, refused = claimed(target, plan, as_this_run_left_it,
                                 lambda etag: target.services.update_traffic(plan.phase, plan.previous_traffic,
                                                                              etag=etag))
        if moved is None:
            return None, False, Check("rollback", "fail", f"{refused[0].rstrip('.')}; to roll back anyway: "
                                      f"{plan.rollback_command()}{plan.gcp_only}")
        confirmed = current_traffic(target, plan.phase) == plan.previous_traffic
    except RunbookError as exc:   # a ParameterError too: the rollback's target revision was deleted since
        return None, False, Check("rollback", "fail", _rollback_failed(target, plan, revision, exc))
    detail = moved.message
    if confirmed and followed_latest:
        detail += (f" {plan.service} followed the latest revision before and is now pinned to "
                   f"{said(plan.previous_traffic)}, so later deploys get no traffic: once a good revision is deployed, "
                   f"{plan.to_latest_command()}{plan.gcp_only}")
    return moved, confirmed, Check("rollback", "pass" if confirmed else "fail", detail)


def _rollback_failed(target: Any, plan: Any, revision: str, exc: RunbookError) -> str:
    """Why the rollback did not take, what serves instead, and a rollback by hand that can work: to the newest
    ready revision other than the new one (the plan's own command names a revision that is gone)."""
    try:
        revisions = target.services.list_revisions(plan.phase)
    except RunbookError:
        return (f"the rollback failed ({sentence(exc)}) and the revisions cannot be read now, so {revision} may still "
                f"serve: see gcloud run revisions list --service={plan.service} --region={plan.region} "
                f"--project={plan.printed_project}{plan.gcp_only}")
    ready = [r.name for r in revisions if r.ready]
    serving = said({r.name: r.traffic_percent for r in revisions if r.traffic_percent})
    gone = [r for r in plan.previous_traffic if r not in ready]
    why = (f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} gone (deleted, or not ready)" if gone
           else f"the rollback to {said(plan.previous_traffic)} failed ({sentence(exc).rstrip('.')})")
    other = next((r for r in ready if r != revision), None)
    to = f"--to-revisions={other}=100" if other else "--to-latest"
    # the command first and whole: the verdict's summary is cut at its end
    return (f"{why}, so {serving} still serves; roll back by hand: gcloud run services update-traffic {plan.service} "
            f"{to} --region={plan.region} --project={plan.printed_project}{plan.gcp_only}"
            + (f" ({other}: the newest ready revision besides the new one; check it runs the code you want)."
               if other else " (no other revision is ready)."))
