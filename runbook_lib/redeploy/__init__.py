"""Runbook 02 (redeploy a phase safely), one module per job:

- plan.py     the DeployPlan: the Cloud Build config, the deploy request and the equivalent gcloud commands
- observe.py  what serves a phase now (revision, image, label, traffic, /health), before and after
- guards.py   refusals before anything changes: builds or rollouts in progress, a service changed since the
              plan, a deploy script's ./Dockerfile
- provenance.py which commit an image holds, from a record the deploy does not write
- execute.py  build from the commit's tree (a failed build diagnosed with runbook 01) and deploy by digest
- verify.py   the checks on the new revision, and the rollback
- runbook.py  the steps in the notebook's order, and the verdict

Everything the notebook and the tests use is importable from `runbook_lib.redeploy` itself.
"""
from .execute import Built, build_image, by_digest, deploy_image
from .guards import builds_in_progress, leftover_dockerfile, refusals, rollout_in_progress, serving_changed
from .observe import Before, Serving, before, serving
from .provenance import Provenance, image_provenance
from .plan import STRATEGIES, DeployPlan, cloudbuild_config, label_value, make_plan, render_plan
from .runbook import Redeploy, RedeployResult, prepare
from .verify import Check, checks_table, counted, rollback, verify

__all__ = [
    "Built", "build_image", "by_digest", "deploy_image",
    "builds_in_progress", "leftover_dockerfile", "refusals", "rollout_in_progress", "serving_changed",
    "Before", "Serving", "before", "serving",
    "Provenance", "image_provenance",
    "STRATEGIES", "DeployPlan", "cloudbuild_config", "label_value", "make_plan", "render_plan",
    "Redeploy", "RedeployResult", "prepare",
    "Check", "checks_table", "counted", "rollback", "verify",
]
