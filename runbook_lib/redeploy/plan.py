"""The deploy plan: a value that says exactly what a redeploy would do, as YAML and as gcloud commands.

Nothing here changes anything. The plan builds the phase from its OWN Dockerfile with an explicit Cloud
Build config (`docker build -f docker/<phase>.Dockerfile`), never `gcloud run deploy --source` (which picks
the builder from whatever ./Dockerfile holds at upload time), from the commit's tree exactly (`git archive`:
nothing the working tree adds, such as a leftover ./Dockerfile, gets in), and deploys that image by digest.
"""
from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ParameterError
from ..gitinfo import branch_of, resolve_commit

STRATEGIES = ("cloudbuild-config", "image")
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"
OCI_REVISION_LABEL = "org.opencontainers.image.revision"
BUILD_TIMEOUT = "1200s"
_LABEL_VALUE = re.compile(r"[^a-z0-9_-]+")


def label_value(text: str) -> str:
    """A Cloud Run label value: lowercase letters, digits, _ and -, at most 63 (feature/X -> feature-x)."""
    return _LABEL_VALUE.sub("-", text.lower()).strip("-")[:63] or "unknown"


@dataclass
class DeployPlan:
    """What the redeploy would do. `config` is None for strategy=image (the image is deployed as given)."""

    phase: str
    service: str
    project: str
    region: str                   # the service's region
    build_region: str             # where Cloud Build runs
    strategy: str
    commit: str                   # the full commit id built (or that the given image was built from)
    branch: str
    source_dir: str | None
    dockerfile: str
    image: str                    # what is deployed: the commit-tagged image (its digest once built), or as given
    previous_revision: str        # what serves now: the rollback target
    config: dict | None = None
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def commit_short(self) -> str:
        return self.commit[:7]

    @property
    def config_file(self) -> str:
        return f"cloudbuild-{self.phase}.yaml"

    def config_yaml(self) -> str:
        return yaml.safe_dump(self.config, sort_keys=False, width=200) if self.config else ""

    def deploy_request(self) -> dict[str, Any]:
        """What the deploy asks Cloud Run for, field by field."""
        return {
            "service": self.service, "project": self.project, "region": self.region,
            "image": self.image if self.config is None else f"{self.image} (deployed by the digest the build reports)",
            "labels (updated, others kept)": dict(self.labels),
            "environment variables (updated, others kept)": dict(self.env),
            "unauthenticated access": "none: allUsers loses run.invoker if it had it; nothing is made public",
            "traffic": "to the new revision when the service routes to LATEST; traffic pinned to a revision is "
                       "detected after the deploy and moved to the new one",
        }

    def commands(self) -> list[str]:
        """The exact equivalent gcloud commands, in order."""
        steps = []
        if self.config is not None:
            steps += [f'SRC_TREE="$(mktemp -d)" && git -C {shlex.quote(self.source_dir or ".")} archive '
                      f'{self.commit} | tar -x -C "$SRC_TREE"',
                      f'gcloud builds submit "$SRC_TREE" --config={self.config_file} --region={self.build_region} '
                      f"--project={self.project}"]
        labels = ",".join(f"{k}={v}" for k, v in self.labels.items())
        env = ",".join(f"{k}={v}" for k, v in self.env.items())
        steps.append(f"gcloud run deploy {self.service} --image={self.image} --region={self.region} "
                     f"--project={self.project} --no-allow-unauthenticated --update-labels={labels} "
                     f"--update-env-vars={env}")
        return steps

    def rollback_command(self) -> str:
        return (f"gcloud run services update-traffic {self.service} --to-revisions={self.previous_revision}=100 "
                f"--region={self.region} --project={self.project}")

    def to_text(self) -> str:
        parts = [f"# Redeploy {self.phase} ({self.service}) from {self.commit_short} "
                 f"({self.strategy}; now serving {self.previous_revision})"]
        if self.config is not None:
            parts += [f"# {self.config_file}", self.config_yaml().rstrip()]
        parts += ["# deploy request", yaml.safe_dump(self.deploy_request(), sort_keys=False, width=200).rstrip(),
                  "# the same with gcloud", *self.commands(), "# roll back with", self.rollback_command()]
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "service": self.service, "project": self.project, "region": self.region,
                "build_region": self.build_region, "strategy": self.strategy, "commit": self.commit,
                "branch": self.branch, "source_dir": self.source_dir, "dockerfile": self.dockerfile,
                "image": self.image, "previous_revision": self.previous_revision, "config": self.config,
                "labels": dict(self.labels), "env": dict(self.env), "commands": self.commands(),
                "rollback_command": self.rollback_command()}

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())


def cloudbuild_config(service: str, dockerfile: str, image: str, commit: str) -> dict:
    """docker build with the phase's own Dockerfile (image labelled with its commit), push, and `images:`,
    so Cloud Build records the pushed digest in results.images."""
    return {
        "steps": [
            {"id": "build", "name": DOCKER_BUILDER,
             "args": ["build", "-f", dockerfile, "-t", image, f"--label={OCI_REVISION_LABEL}={commit}", "."]},
            {"id": "push", "name": DOCKER_BUILDER, "args": ["push", image]},
        ],
        "images": [image],
        "tags": [f"redeploy_{service}", f"commit_{commit[:7]}"],
        "timeout": BUILD_TIMEOUT,
    }


def render_plan(phase: Any, *, project: str, repository: str, commit: str, branch: str, source_dir: str | None,
                previous_revision: str, strategy: str = "cloudbuild-config", image: str = "",
                build_region: str | None = None) -> DeployPlan:
    """The plan from resolved values alone (no git, no cloud): what the golden tests pin."""
    if strategy not in STRATEGIES:
        raise ParameterError("strategy", strategy, f"choose one of {', '.join(STRATEGIES)}")
    if strategy == "image" and not image:
        raise ParameterError("image", image, "give the image to deploy when strategy is image")
    short = commit[:7]
    config = None
    if strategy == "cloudbuild-config":
        image = f"{phase.region}-docker.pkg.dev/{project}/{repository}/{phase.service}:{short}"
        config = cloudbuild_config(phase.service, phase.dockerfile, image, commit)
    return DeployPlan(phase=phase.name, service=phase.service, project=project, region=phase.region,
                      build_region=build_region or phase.region, strategy=strategy, commit=commit, branch=branch,
                      source_dir=source_dir, dockerfile=phase.dockerfile, image=image,
                      previous_revision=previous_revision, config=config,
                      labels={"commit-sha": short, "git-branch": label_value(branch)}, env={"COMMIT_SHA": short})


def make_plan(target: Any, phase: str, source_dir: str | None = None, commit: str = "",
              strategy: str = "cloudbuild-config", image: str = "", repository: str = "",
              build_region: str | None = None) -> DeployPlan:
    """The plan for `phase` against a target: the commit resolved in the checkout (default: its HEAD), the
    branch it is on, and the revision serving now (read, never changed)."""
    p = target.phases.get(phase)
    source = source_dir or target.source_dir
    if source:
        full = resolve_commit(source, commit or "HEAD")
        branch = branch_of(source, full)
    elif commit:
        full, branch = commit, "unknown"
    else:
        raise ParameterError("commit", commit, "give the commit the image was built from, or a source_dir to read it from")
    return render_plan(p, project=target.project, repository=repository or target.phases.repository, commit=full,
                       branch=branch, source_dir=str(source) if source else None,
                       previous_revision=target.services.describe(p.name).revision, strategy=strategy, image=image,
                       build_region=build_region)
