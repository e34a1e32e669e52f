"""Artifact Registry v1 routes of the fake (FakeGoogleApis), kept apart from server.py: repositories.get and
repositories.list, the two reads the redeploy's repository check makes (runbook_lib/gcp/artifacts.py).

Repositories live in `fake.artifact_repositories` as "projects/P/locations/L" -> repository ids (mirror_sandbox
loads the sandbox's); a repository answers as Artifact Registry's Repository JSON (name, format, mode,
createTime). One that is not there answers 404 NOT_FOUND, as the API does; refusals use the fake's
`refuse("/v1/projects/P/locations/L/repositories")`, as for every other API.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import google_error

if TYPE_CHECKING:
    from .server import FakeGoogleApis, RecordedRequest

_REPOSITORIES = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+)/repositories(?:/([^/:]+))?")
CREATED = "2025-06-01T00:00:00.000000Z"


def repository_json(parent: str, repository: str) -> dict:
    return {"name": f"{parent}/repositories/{repository}", "format": "DOCKER", "mode": "STANDARD_REPOSITORY",
            "description": "", "createTime": CREATED, "updateTime": CREATED}


def route(fake: "FakeGoogleApis", request: "RecordedRequest") -> tuple[int, Any] | None:
    """(status, JSON) for an Artifact Registry request, or None when the request is not Artifact Registry's."""
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
