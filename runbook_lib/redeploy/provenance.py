"""Which commit an image holds, from a record the deploy does not write itself.

The deploy labels the new revision `commit-sha=<commit>` from the plan, so reading that label back proves
nothing about the code. For the cloudbuild-config strategy the plan's own build makes the image from the
commit's tree. For an image given as it is (strategy=image) the evidence is, in order: a build of this kit
that pushed it (Cloud Build's record of the image's digest, and the commit its build step stamped into the
image as org.opencontainers.image.revision), or a revision (of the service, else of another phase's) that ran
the same image with a commit-sha label. With none, the plan writes no commit-sha label at all.

A record counts only by digest. A tag names whatever it points at now: a build that pushed `:stable` or a
revision that ran it weeks ago says nothing about what `:stable` holds today. So a tag is first resolved to the
digest it points at now (the target's registry: `Builds.tag_digest`), the records are matched on that digest and
the plan deploys that digest; a tag that cannot be resolved matches no record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..images import by_digest, parse_image, short_digest, tag_of
from ..services import Revision

OCI_REVISION_LABEL = "org.opencontainers.image.revision"
BUILDS_READ = 50    # the newest redeploy builds of a service looked at, per region


@dataclass(frozen=True)
class Provenance:
    commit: str      # as the record names it (full from a build, the short label from a revision)
    evidence: str    # one clause: what says so
    other_phase: str = ""   # the phase whose revision ran it, when no record of this phase's own names it


@dataclass(frozen=True)
class _Record:
    commit: str
    name: str        # the reference as the record has it: repo:tag, repo@digest or both
    digest: str      # the digest it was recorded with ("" when none was)
    did: str         # "build B pushed" / "revision R ran"
    evidence: str
    other_phase: str = ""   # another phase's revision ran it ("": this phase's build or revision)


@dataclass(frozen=True)
class ImageRecord:
    """What the records say about an image given as it is (`image_record`)."""

    image: str                       # what to deploy: by the digest its tag points at now when that was read
    found: Provenance | None         # the record of that digest, if any
    tag: str = ""                    # the tag given ("" for an image given by digest)
    unresolved: str = ""             # why the digest the tag points at now could not be read, one clause
    stale: _Record | None = None     # a record of the same tag: of another image, or of one nobody can compare

    @property
    def why_unproven(self) -> str:
        """Why a tag proves nothing here, in one clause, the reason first (a summary may cut the rest); "" when
        there is nothing to add to "nothing records it"."""
        if not self.tag or self.found:
            return ""
        digest = parse_image(self.image).digest
        now = (f"the tag {self.tag} now points at {short_digest(digest)}" if digest else
               f"which image the tag {self.tag} points at now could not be read ({self.unresolved})")
        record = self.stale
        if record is None:
            return "" if digest else now
        commit = f"commit {record.commit[:7]}"
        if not record.digest:
            return f"{now}, and {record.did} it with no digest recorded ({commit})"
        if digest:
            return f"{now}, not the {short_digest(record.digest)} that {record.did} ({commit})"
        return f"{now}, and {record.did} it as {short_digest(record.digest)} ({commit})"


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


def _records(target: Any, phase: Any, build_region: str, own: list[Revision] | None) -> Iterator[_Record]:
    """Every record of an image and its commit, in the order they count: the kit's redeploy builds (the build
    region, then the service's), then revisions with a commit-sha label (this phase's service first, `own`: its
    revisions when already read, then the others')."""
    for region in dict.fromkeys((build_region, phase.region)):
        for build in target.builds.list(region=region, tags=[f"redeploy_{phase.service}"], status="SUCCESS",
                                        limit=BUILDS_READ):
            commit = _stamped_commit(build)
            for pushed in ((build.get("results") or {}).get("images") or []) if commit else []:
                name = str(pushed.get("name", ""))
                yield _Record(commit, name, pushed.get("digest") or parse_image(name).digest,
                              f"build {build.get('id')} pushed",
                              f"build {build.get('id')} pushed it, built from commit {commit[:7]}'s tree")
    for name in [phase.name] + [n for n in target.phases.names() if n != phase.name]:
        listed = own if name == phase.name and own is not None else target.services.list_revisions(name)
        for revision in listed:
            if revision.commit_sha and revision.image:
                # by the digest Cloud Run resolved its image to, when it says (a revision deployed by tag)
                yield _Record(revision.commit_sha, revision.image, revision.runs.digest,
                              f"revision {revision.name} ran",
                              f"revision {revision.name} ran it with the label commit-sha={revision.commit_sha}",
                              "" if name == phase.name else name)


def image_record(target: Any, phase: Any, image: str, build_region: str,
                 revisions: list[Revision] | None = None) -> ImageRecord:
    """The image to deploy and the record of it: a tag resolved to the digest it points at now (the target's
    registry), then the first record of that digest. A record of the same tag with another digest, or with none,
    is said in `stale` (it is no record of today's image), a tag that could not be resolved in `unresolved`."""
    given = parse_image(image)
    pinned, note = image, ""
    if not given.digest:
        looked = target.builds.tag_digest(image)
        pinned, note = (by_digest(image, looked.digest), "") if looked.digest else (image, looked.note)
    wanted = parse_image(pinned)
    tag = "" if given.digest else tag_of(image)   # a digest given names one image, whatever tag is written beside it
    stale: _Record | None = None
    for record in _records(target, phase, build_region, revisions):
        got = parse_image(record.name)
        if got.repository != wanted.repository:
            continue
        if wanted.digest and record.digest == wanted.digest:
            now = f" (its tag {tag} points at it now)" if tag else ""
            return ImageRecord(pinned, Provenance(record.commit, record.evidence + now, record.other_phase), tag)
        if stale is None and tag and tag_of(record.name) == tag:
            stale = record
    return ImageRecord(pinned, None, tag, note, stale)


def image_provenance(target: Any, phase: Any, image: str, build_region: str,
                     revisions: list[Revision] | None = None) -> Provenance | None:
    """What says which commit `image` holds (builds in the build region and the service's, then revisions; the
    phase's own `revisions` when already read), or None; a tag counts by the digest it points at now."""
    return image_record(target, phase, image, build_region, revisions).found
