"""Step 3: build the plan's image from the commit's tree and deploy it.

The build is submitted as `gcloud builds submit --config` submits it (the target stages the folder and
awaits the build with progress); a failed build is diagnosed on the spot with runbook 01's catalogue and
verdict, so the operator reads why without opening another runbook. The deploy goes by digest: the image
exactly as this build pushed it, whatever the tag points at later.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

from ..diagnose import Diagnosis
from ..diagnose.steps import diagnose_build
from ..gitinfo import export_tree
from ..images import by_digest
from ..protocols import BUILD_TIMEOUT_S, ROLLOUT_TIMEOUT_S, Progress
from ..services import Rollout


@dataclass
class Built:
    build: dict
    image: str                          # by digest; "" when nothing was pushed
    diagnosis: Diagnosis | None = None  # runbook 01's verdict on a failed build

    @property
    def ok(self) -> bool:
        return bool(self.image)

    def why(self) -> str:
        """A failed build in a few words: the catalogue's finding and its log line, then runbook 01's cause."""
        dx = self.diagnosis
        top = dx.findings[0] if dx and dx.findings else None
        if top is None:
            return dx.cause if dx else "no log was found to say why."
        where = f" (log line {top.line})" if top.line else ""
        return f"{top.title}{where}. {dx.cause}"

    def to_dict(self) -> dict[str, Any]:
        return {"build_id": self.build.get("id"), "status": self.build.get("status"), "image": self.image,
                "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None}


def build_image(target: Any, plan: Any, progress: Progress | None = None,
                timeout_s: float = BUILD_TIMEOUT_S) -> Built:
    """Submit the plan's Cloud Build config on exactly the commit's tree; diagnose it if it fails."""
    with tempfile.TemporaryDirectory(prefix=f"redeploy-{plan.phase}-{plan.commit_short}-") as tree:
        export_tree(plan.source_dir, plan.commit, tree)
        build = target.builds.submit(plan.config, tree, region=plan.build_region, timeout_s=timeout_s,
                                     progress=progress)
    pushed = {i.get("name"): i.get("digest") for i in (build.get("results") or {}).get("images", [])}
    if build.get("status") == "SUCCESS" and pushed.get(plan.image):
        return Built(build, by_digest(plan.image, pushed[plan.image]))
    return Built(build, "", diagnose_build(target, build, plan.phase, plan.source_dir))


def deploy_image(target: Any, plan: Any, image: str, progress: Progress | None = None,
                 timeout_s: float = ROLLOUT_TIMEOUT_S, etag: str | None = None) -> Rollout:
    """`gcloud run deploy SERVICE --image=IMAGE --no-traffic --tag=candidate` with the plan's label and environment
    updates (and the labels and variables it removes), awaited: the revision is checked on the tag's URL before any
    traffic moves to it. etag: only on the service as it was when that etag was read (guards.claimed)."""
    return target.services.deploy(plan.phase, image, labels=plan.labels, env=plan.env, timeout_s=timeout_s,
                                  progress=progress, remove_labels=tuple(plan.remove_labels),
                                  remove_env=tuple(plan.remove_env), tag=plan.tag, etag=etag)
