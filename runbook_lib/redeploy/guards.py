"""Step 5 of the runbook, checked before anything changes: refuse to start while another build or deploy
of the same service is in progress, when the service no longer serves what the plan was made against, or while the
checkout holds a root ./Dockerfile that a deploy script left behind (the incident's race: a script copies its
phase's Dockerfile there and deletes it afterwards, so one being there means a script is running now, or died
half-way), or when another redeploy's candidate was deployed since the plan. All but the ./Dockerfile can change
while the build runs, so they are checked again just before the deploy.
Each refusal is one sentence.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

from ..diagnose.build import RUNNING_STATUSES, service_build_tags
from ..formats import sentence
from ..gitinfo import tracked_in
from ..preflight import lint_deploy_scripts, read_source_text
from ..services import ServiceChanged
from .observe import current_traffic, split_said

ROOT_DOCKERFILE = "Dockerfile"
CLAIM_ATTEMPTS = 3
T = TypeVar("T")


def builds_in_progress(target: Any, plan: Any, own_build: str = "") -> list[str]:
    """Builds of the service still queued or working: source deploys (tag service_<NAME>) and its continuous
    deployment trigger's (tag <NAME>), which build in the service's region, and redeploys, in the plan's build
    region; `own_build`, this run's, is not another's."""
    refusals, seen = [], {own_build}
    for region in dict.fromkeys((plan.build_region, plan.region)):
        for tag in service_build_tags(plan.service):
            for build in target.builds.list(region=region, tags=[tag], limit=20):
                if build.get("status") in RUNNING_STATUSES and build["id"] not in seen:
                    seen.add(build["id"])
                    refusals.append(f"Build {build['id']} of {plan.service} is {build['status']} since "
                                    f"{build.get('createTime', 'an unknown time')}: wait for it to finish (or cancel "
                                    f"it with gcloud builds cancel {build['id']} --region={region} "
                                    f"--project={plan.printed_project}{plan.gcp_only}) before "
                                    "redeploying.")
    return refusals


def serving_changed(target: Any, plan: Any) -> list[str]:
    """The service no longer serves what the plan was made against (someone deployed or moved traffic since):
    its rollback target would undo their change."""
    now = current_traffic(target, plan.phase)
    planned = plan.previous_traffic
    if now == planned:
        return []
    said, was = split_said(now), split_said(planned)
    return [f"{plan.service} now serves {said}, not {was} as when the plan was made: someone changed it since, and "
            "rolling back to the plan's revision would undo that; prepare the plan again."]


def candidate_changed(target: Any, plan: Any) -> list[str]:
    """The candidate tag names another revision than when the plan was made: another redeploy deployed its own
    candidate with no traffic (nothing else shows it: the traffic is as it was) and may be checking it now."""
    now = next((r.name for r in target.services.list_revisions(plan.phase) if plan.tag in r.tags), "")
    if now == plan.tagged_before:
        return []
    return [f"{plan.service}'s tag {plan.tag} now names {now or 'no revision'}, not {plan.tagged_before or 'none'} "
            "as when the plan was made: another redeploy deployed its candidate since and may be checking it; let it "
            "finish, then prepare the plan again."]


def rollout_in_progress(target: Any, plan: Any) -> list[str]:
    busy = target.services.rollout_in_progress(plan.phase)
    return [f"{busy.rstrip('.')}: wait for it to settle before redeploying."] if busy else []


def leftover_dockerfile(target: Any, plan: Any) -> list[str]:
    """A root ./Dockerfile in the checkout that the commit does not hold: a deploy script's copy."""
    if not plan.source_dir:
        return []
    root = Path(plan.source_dir)
    text = read_source_text(root / ROOT_DOCKERFILE)   # None: no regular file there
    if text is None or tracked_in(root, plan.commit, ROOT_DOCKERFILE):
        return []
    dockerfiles = (target.phases.get(name).dockerfile for name in target.phases.names())
    copied = next((d for d in dockerfiles if read_source_text(root / d) == text), None)
    what = f"a copy of {copied}" if copied else "not part of commit " + plan.commit[:7]
    scripts = sorted({lint.path for lint in lint_deploy_scripts(root) if lint.kind == "root-dockerfile-copy" and lint.path})
    by = f" ({', '.join(scripts)} copy one there and delete it when done)" if scripts else ""
    return [f"{root / ROOT_DOCKERFILE} is {what}, left by a deploy script{by}: a deploy may be running from this "
            "checkout now, or died half-way; let it finish or remove the file, then run again."]


def before_deploy(target: Any, plan: Any, own_build: str = "") -> list[str]:
    """The guards that can change while the build runs (minutes on Cloud Build), checked again just before the
    deploy: another run's build or rollout, or a change to the service, would otherwise be deployed over and then
    undone by the rollback. Two runs checking in the same instant both pass: claimed() makes the deploy hold only
    on the service as checked."""
    return (builds_in_progress(target, plan, own_build) + rollout_in_progress(target, plan)
            + serving_changed(target, plan) + candidate_changed(target, plan))


def refusals(target: Any, plan: Any) -> list[str]:
    """Every reason not to start now, one sentence each (empty: go ahead)."""
    return (builds_in_progress(target, plan) + rollout_in_progress(target, plan) + serving_changed(target, plan)
            + candidate_changed(target, plan) + leftover_dockerfile(target, plan))


def claimed(target: Any, plan: Any, check: Callable[[], list[str]], change: Callable[[str], T],
            attempts: int = CLAIM_ATTEMPTS) -> tuple[T | None, list[str]]:
    """The claim across processes, as Cloud Run offers it: read the service's etag, run the `check`, and make the
    `change` (given that etag) only on the service as checked, since the service refuses it once anything changed in
    between (another run's deploy or traffic change: of two runs that both checked, only the first one changes it).
    A refused change is read and checked again: a change that left the checks holding (a rollout settling) is no
    reason to stop, one that does not is refused by the check in its own words. (the change's answer or None, the
    refusals)."""
    last = ""
    for _ in range(attempts):
        etag = target.services.etag(plan.phase)
        refused = check()
        if refused:
            return None, refused
        try:
            return change(etag), []
        except ServiceChanged as exc:
            last = sentence(exc)
    return None, [f"{last.rstrip('.')} ({attempts} times, each after the checks passed again)."]
