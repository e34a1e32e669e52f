"""Container image references, read and compared one way everywhere.

A reference is REPOSITORY[:TAG][@DIGEST], as Artifact Registry (`us-west2-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG`)
and Container Registry (`gcr.io/PROJECT/IMAGE@sha256:...`) write them. The tag is a `:` in the last path segment
only, since a registry host may carry a port (`localhost:5000/img`). A digest names the image's content whatever
tag is written beside it; a tag alone names whatever it points at now.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRef:
    repository: str   # without tag or digest
    tag: str          # "" when none is written
    digest: str       # e.g. "sha256:..."; "" when none is written


def parse_image(image: str) -> ImageRef:
    """repo/name:tag@sha256:d -> ImageRef("repo/name", "tag", "sha256:d")."""
    name, _, digest = image.partition("@")
    head, colon, tag = name.rpartition(":")
    if colon and head and "/" not in tag:
        return ImageRef(head, tag, digest)
    return ImageRef(name, "", digest)


def by_digest(image: str, digest: str) -> str:
    """repo/name:tag and the digest it was pushed as -> repo/name@sha256:... (the tag can move; the digest cannot)."""
    return f"{parse_image(image).repository}@{digest}"


def same_image(wanted: str, name: str, digest: str | None = None) -> bool:
    """Whether the reference `wanted` names the image `name` (pushed as `digest`, when its name carries none).

    By digest: the same repository and digest, whatever tags are written. By tag: the same repository and tag,
    and neither pinned to a digest (what a tag points at may not be what ran)."""
    w, n = parse_image(wanted), parse_image(name)
    if w.digest:
        return w.repository == n.repository and w.digest == (n.digest or digest or "")
    return w == n
