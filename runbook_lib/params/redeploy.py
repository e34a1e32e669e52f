"""Runbook 02's parameters."""
from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from ..errors import ParameterError
from ..images import IMAGE_REFERENCE
from ..phases import REPOSITORY, REPOSITORY_ALLOWED
from .base import PHASE_ALLOWED, ExistingFolderOrEmpty, PhaseName, TargetParams, matching_or_empty, param


ImageReference = matching_or_empty(IMAGE_REFERENCE, "give a container image reference such as "
                                   "us-west2-docker.pkg.dev/PROJECT/REPOSITORY/SERVICE:TAG (or @sha256:DIGEST), or empty")
RepositoryId = matching_or_empty(REPOSITORY, f"{REPOSITORY_ALLOWED}, or empty")


class RedeployParams(TargetParams):
    """Runbook 02: build a phase from its own Dockerfile with an explicit Cloud Build config, deploy the image,
    prove the right code runs, and roll back when it does not."""

    runbook: ClassVar[str | None] = "02_redeploy_phase"

    phase: PhaseName = param("phase4", allowed=PHASE_ALLOWED)
    source_dir: ExistingFolderOrEmpty = param("", allowed="an existing pipeline checkout folder, or empty for the sandbox's own (local)")
    commit: str = param("", allowed="a commit sha, branch or tag as text, or empty for the checkout's HEAD")
    strategy: Literal["cloudbuild-config", "image"] = param("cloudbuild-config",
                                                           allowed="choose one of cloudbuild-config, image")
    image: ImageReference = param("", allowed="a container image reference such as "
                                  "us-west2-docker.pkg.dev/PROJECT/REPOSITORY/SERVICE:TAG (or @sha256:DIGEST), or empty")
    repository: RepositoryId = param("", allowed="an Artifact Registry repository id (lowercase letters, digits "
                                     "and hyphens, starting with a letter and not ending with a hyphen, at most 63), "
                                                  "or empty for the one in params/phases.yaml")
    dry_run: bool = True
    auto_rollback: bool = True

    @model_validator(mode="after")
    def _strategy_commit_and_checkout(self) -> "RedeployParams":
        from ..gitinfo import resolve_commit

        if self.strategy == "image" and not self.image:
            raise ParameterError("image", self.image, "give the image to deploy when strategy is image")
        if self.strategy != "image" and self.image:
            raise ParameterError("image", self.image, "leave it empty unless strategy is image (the "
                                 "cloudbuild-config strategy deploys the image it builds)")
        if self.strategy == "image" and self.repository:
            raise ParameterError("repository", self.repository, "leave it empty when strategy is image (the image "
                                 "is deployed as given; only the cloudbuild-config strategy pushes to a repository)")
        if self.target == "local" and self.region == "global":   # builds there, which the sandbox does not
            raise ParameterError("region", self.region, "give the sandbox's own region or None: the sandbox builds "
                                 "in its services' region only")
        checkout = self.source_dir or self._own_checkout()
        if checkout:
            resolve_commit(checkout, self.commit or "HEAD")
        elif self.strategy == "cloudbuild-config":
            raise ParameterError("source_dir", self.source_dir, "give the pipeline checkout to build from "
                                 f"(target {self.target} has none of its own)")
        elif not re.fullmatch(r"[0-9a-f]{7,40}", self.commit):
            raise ParameterError("commit", self.commit, "give the commit the image was built from (7 to 40 hex "
                                 "digits), or a source_dir to read it from")
        return self

    def _own_checkout(self) -> str:
        if self.target != "local":
            return ""
        from ..local.home import sandbox_home

        return str(sandbox_home(self.sandbox_home).source)

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options


# Cloud Logging keeps request logs 30 days in the _Default bucket: a longer look back finds nothing more.
