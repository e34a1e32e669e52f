"""Container image references, read and compared one way everywhere.

A reference is REPOSITORY[:TAG][@DIGEST], as Artifact Registry (`us-west2-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG`)
and Container Registry (`gcr.io/PROJECT/IMAGE@sha256:...`) write them. The tag is a `:` in the last path segment
only, since a registry host may carry a port (`localhost:5000/img`). A digest names the image's content whatever
tag is written beside it; a tag alone names whatever it points at now.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Docker's reference grammar (distribution/reference), in ASCII: a str pattern's \w and \d match any Unicode
# letter or digit (re.ASCII keeps them out), and Cloud Run and Docker refuse those. The host is lowercase domain
# components with an optional port; each path component is lowercase letters and digits, separated by a period,
# one or two underscores, or one or more hyphens; a tag is at most 128 of [A-Za-z0-9_.-], not starting with . or
# -; a digest is sha256 in hex. At least one path component: the kit deploys from a registry, never a bare name.
_DOMAIN_COMPONENT = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = r"sha256:[0-9a-f]{64}"
IMAGE_REFERENCE = re.compile(rf"{_HOST}(?:/{_PATH_COMPONENT})+(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)


DEFAULT_TAG = "latest"   # what Docker and Cloud Run read a reference with neither tag nor digest as


@dataclass(frozen=True)
class ImageRef:
    repository: str   # without tag or digest
    tag: str          # "" when none is written
    digest: str       # e.g. "sha256:..."; "" when none is written


@dataclass(frozen=True)
class TagDigest:
    """The digest a tag points at now, as the registry answers (`Builds.tag_digest`); a reference written with a
    digest is its own answer."""

    digest: str       # "sha256:..."; "" when it could not be read
    note: str = ""    # why it could not be read, one clause ("" when read)


_ARTIFACT_REGISTRY = re.compile(r"(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repository>[^/]+)/",
                                re.ASCII)


@dataclass(frozen=True)
class RegistryRepository:
    location: str
    project: str
    repository: str


def artifact_registry_repository(image: str) -> RegistryRepository | None:
    """The Artifact Registry repository an image is pushed to (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/...`);
    None for another registry (gcr.io, Docker Hub), whose repositories are not Artifact Registry's to check."""
    found = _ARTIFACT_REGISTRY.match(image)
    return RegistryRepository(**found.groupdict()) if found else None


def artifact_registry_package(image: str) -> str:
    """The package (the image's path) inside its Artifact Registry repository: `LOCATION-docker.pkg.dev/PROJECT/REPO/
    a/b:tag` -> "a/b"; "" for another registry."""
    found = _ARTIFACT_REGISTRY.match(image)
    return parse_image(image).repository[found.end():] if found else ""


def parse_image(image: str) -> ImageRef:
    """repo/name:tag@sha256:d -> ImageRef("repo/name", "tag", "sha256:d")."""
    name, _, digest = image.partition("@")
    head, colon, tag = name.rpartition(":")
    if colon and head and "/" not in tag:
        return ImageRef(head, tag, digest)
    return ImageRef(name, "", digest)


def tag_of(image: str) -> str:
    """The tag a reference names: the one written, else `latest` when no digest is written either ("" for a
    reference by digest alone)."""
    ref = parse_image(image)
    return ref.tag or ("" if ref.digest else DEFAULT_TAG)


def is_digest(text: str) -> bool:
    """sha256 and 64 lowercase hex digits: a registry's answer is taken only in that shape."""
    return re.fullmatch(_DIGEST, text, re.ASCII) is not None


def short_digest(digest: str) -> str:
    """sha256:<64 hex> -> sha256:<first 12>, enough to tell two images apart in a sentence."""
    algorithm, _, hexdigits = digest.partition(":")
    return f"{algorithm}:{hexdigits[:12]}" if hexdigits else digest


def by_digest(image: str, digest: str) -> str:
    """repo/name:tag and the digest it was pushed as -> repo/name@sha256:... (the tag can move; the digest cannot)."""
    return f"{parse_image(image).repository}@{digest}"


def same_image(wanted: str, name: str, digest: str | None = None) -> bool:
    """Whether the reference `wanted` names the image `name` (pushed as `digest`, when its name carries none).

    By digest: the same repository and digest, whatever tags are written. By tag: the same repository and tag,
    and neither pinned to a digest (what a tag points at may not be what ran). A tag match fits a registry's
    answer of what the tag names now, never a record of the past: a build or a revision that used the tag may
    have had another image (redeploy/provenance.py compares digests only)."""
    w, n = parse_image(wanted), parse_image(name)
    if w.digest:
        return w.repository == n.repository and w.digest == (n.digest or digest or "")
    return w == n
