"""Artifact Registry v1 routes of the fake (FakeGoogleApis), kept apart from server.py: repositories.get and
repositories.list, the two reads the redeploy's repository check makes, and packages.tags.get, which says the
digest a tag points at now (runbook_lib/gcp/artifacts.py).

Repositories live in `fake.artifact_repositories` as "projects/P/locations/L" -> repository ids (mirror_sandbox
loads the sandbox's); a repository answers as Artifact Registry's Repository JSON (name, format, mode,
createTime). One that is not there answers 404 NOT_FOUND, as the API does; refusals use the fake's
`refuse("/v1/projects/P/locations/L/repositories")`, as for every other API. Tags live in `fake.artifact_tags` as
"LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/PACKAGE:TAG" -> "sha256:..." (`push_tag`; FakeDeploys' builds push
theirs, moving the tag as a push does); a tag answers as the Tag JSON, {"name", "version": ".../versions/DIGEST"},
the package escaped in both as the API writes it (a/b -> a%2Fb), and a tag that is not there answers 404.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import google_error

if TYPE_CHECKING:
    from .server import FakeGoogleApis, RecordedRequest

_REPOSITORIES = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+)/repositories(?:/([^/:]+))?")
# the server unescapes the path, so a package with slashes arrives as several path segments
_TAG = re.compile(r"/v1/projects/([^/]+)/locations/([^/]+)/repositories/([^/]+)/packages/(.+)/tags/([^/]+)")
_IMAGE = re.compile(r"([a-z0-9-]+)-docker\.pkg\.dev/([^/]+)/([^/]+)/([^:@]+):([\w][\w.-]*)")
CREATED = "2025-06-01T00:00:00.000000Z"


def repository_json(parent: str, repository: str) -> dict:
    return {"name": f"{parent}/repositories/{repository}", "format": "DOCKER", "mode": "STANDARD_REPOSITORY",
            "description": "", "createTime": CREATED, "updateTime": CREATED}


def push_tag(fake: "FakeGoogleApis", image: str, digest: str) -> None:
    """`docker push LOCATION-docker.pkg.dev/P/R/PACKAGE:TAG` of the image `digest`: the tag now points at it. Images
    of other registries, or without a tag, are not Artifact Registry's tags."""
    if _IMAGE.fullmatch(image.split("@", 1)[0]):
        fake.artifact_tags[image.split("@", 1)[0]] = digest


def _tag(fake: "FakeGoogleApis", match: re.Match) -> tuple[int, Any]:
    project, location, repository, package, tag = match.groups()
    digest = fake.artifact_tags.get(f"{location}-docker.pkg.dev/{project}/{repository}/{package}:{tag}")
    if digest is None:
        return 404, google_error(404, "Requested entity was not found.")
    base = f"projects/{project}/locations/{location}/repositories/{repository}/packages/{quote(package, safe='')}"
    return 200, {"name": f"{base}/tags/{tag}", "version": f"{base}/versions/{digest}"}


def route(fake: "FakeGoogleApis", request: "RecordedRequest") -> tuple[int, Any] | None:
    """(status, JSON) for an Artifact Registry request, or None when the request is not Artifact Registry's."""
    tag = _TAG.fullmatch(request.path)
    if request.method == "GET" and tag:
        return _tag(fake, tag)
    match = _REPOSITORIES.fullmatch(request.path)
    if request.method != "GET" or not match:
        return None
    parent, repository = match.groups()
    there = sorted(fake.artifact_repositories.get(parent, []))
    if repository is None:
        listed = [repository_json(parent, name) for name in there]
        return 200, fake._page(listed, "repositories", request.param("pageSize"), request.param("pageToken"),
                               fake.max_page_size)
    if repository not in there:
        return 404, google_error(404, "Requested entity was not found.")
    return 200, repository_json(parent, repository)


def mirror_repositories(fake: "FakeGoogleApis", project: str, state: dict, region: str) -> None:
    """The sandbox's repositories (its state's, else the incident's one) as the fake's."""
    from runbook_lib.local.builds import sandbox_repositories

    for location, names in sandbox_repositories(state, region).items():
        fake.artifact_repositories[f"projects/{project}/locations/{location}"] = list(names)
