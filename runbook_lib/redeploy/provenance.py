"""Which commit an image holds, from a record the deploy does not write itself.

The deploy labels the new revision `commit-sha=<commit>` from the plan, so reading that label back proves
nothing about the code. For the cloudbuild-config strategy the plan's own build makes the image from the
commit's tree. For an image given as it is (strategy=image) the evidence is, in order: a build of this kit
that pushed it (Cloud Build's record of the image's digest, and the commit its build step stamped into the
image as org.opencontainers.image.revision), or a revision (of the service, else of another phase's) that ran
the same image with a commit-sha label. With none, the plan writes no commit-sha label at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..images import same_image
from ..services import Revision

OCI_REVISION_LABEL = "org.opencontainers.image.revision"
BUILDS_READ = 50    # the newest redeploy builds of a service looked at, per region


@dataclass(frozen=True)
class Provenance:
    commit: str      # as the record names it (full from a build, the short label from a revision)
    evidence: str    # one clause: what says so


def same_commit(a: str, b: str) -> bool:
    """Two commit ids (full or abbreviated, at least 7 digits) naming the same commit."""
    a, b = a.lower(), b.lower()
    return min(len(a), len(b)) >= 7 and (a.startswith(b) or b.startswith(a))


def revision_label(args: list[str]) -> str | None:
    """The commit a docker build's arguments stamp into the image: `--label=org.opencontainers.image.revision=SHA`,
    also written as two arguments (`--label org.opencontainers.image.revision=SHA`); None without one."""
    for k, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--label=") else (
            args[k + 1] if arg == "--label" and k + 1 < len(args) else None)
        if value and value.startswith(OCI_REVISION_LABEL + "="):
            return value.split("=", 1)[1] or None
    return None


def _stamped_commit(build: dict) -> str:
    """The commit the build stamped into its image (the docker build step's --label), else its commit_ tag."""
    for step in build.get("steps") or []:
        stamped = revision_label([str(arg) for arg in step.get("args") or []])
        if stamped:
            return stamped
    return next((t.removeprefix("commit_") for t in build.get("tags") or [] if t.startswith("commit_")), "")


def from_builds(target: Any, service: str, regions: Iterable[str], image: str) -> Provenance | None:
    for region in dict.fromkeys(regions):
        for build in target.builds.list(region=region, tags=[f"redeploy_{service}"], status="SUCCESS",
                                        limit=BUILDS_READ):
            pushed = (build.get("results") or {}).get("images") or []
            if any(same_image(image, i.get("name", ""), i.get("digest")) for i in pushed):
                commit = _stamped_commit(build)
                if commit:
                    return Provenance(commit, f"build {build.get('id')} pushed it, built from commit {commit[:7]}'s "
                                              "tree")
    return None


def from_revisions(target: Any, phase: str, image: str, own: list[Revision] | None = None) -> Provenance | None:
    """A revision that ran the image with a commit-sha label: of this phase's service first (`own`: its revisions
    when already read), then any other's."""
    names = [phase] + [n for n in target.phases.names() if n != phase]
    for name in names:
        listed = own if name == phase and own is not None else target.services.list_revisions(name)
        for revision in listed:
            if revision.commit_sha and revision.image and same_image(image, revision.image):
                return Provenance(revision.commit_sha, f"revision {revision.name} ran it with the label "
                                                       f"commit-sha={revision.commit_sha}")
    return None


def image_provenance(target: Any, phase: Any, image: str, build_region: str,
                     revisions: list[Revision] | None = None) -> Provenance | None:
    """What says which commit `image` holds (builds in the build region and the service's, then revisions; the
    phase's own `revisions` when already read), or None."""
    return (from_builds(target, phase.service, (build_region, phase.region), image)
            or from_revisions(target, phase.name, image, revisions))
