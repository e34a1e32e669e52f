"""Artifact Registry v1 over REST: does the repository a build pushes to exist, and which image does a tag point at
now? Read only.

Two calls at most: `GET /v1/projects/P/locations/L/repositories/R` (repositories.get), and when that answers 404,
one `GET /v1/projects/P/locations/L/repositories?pageSize=1000` (repositories.list: `repositories[].name` are full
resource names, 1000 is the API's largest page) to say which repositories do exist there. A tag is one
`GET /v1/projects/P/locations/L/repositories/R/packages/PKG/tags/T` (packages.tags.get; PKG is the image's path with
its slashes escaped as %2F), whose `version` ends in the digest the tag points at now.

A push to a repository that does not exist fails the build at its push step, after the build ran: unlike
Container Registry, Artifact Registry never creates a repository on a first push. A 403 (no
artifactregistry.repositories.get, the API not enabled) means the kit cannot tell: it says so and which role
reads it (roles/artifactregistry.reader), and the caller carries on.

No Artifact Registry client library is installed (and two GETs do not warrant one), so this is REST over
google-auth's AuthorizedSession, as gcp/projects.py does it: GcpClients hands ArtifactRegistryClient out as a
GuardedClient, so its reads get the call policy's timeout and retry, and Google's refusals become the kit's
errors (a 404 NotFoundError, a 403 AccessDenied: gcp/refusals.py).
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from ..errors import AccessDenied, NotFoundError
from ..formats import check_region, one_line
from ..images import TagDigest, artifact_registry_package, artifact_registry_repository, is_digest, parse_image, tag_of
from ..phases import check_repository_id
from ..protocols import RepositoryCheck
from .calls import RestClient

READER_ROLE = "roles/artifactregistry.reader"
LIST_PAGE_SIZE = 1000


class ArtifactRegistryClient(RestClient):
    """repositories.get and repositories.list over REST (GcpClients builds it: "artifactregistry" in
    calls.API_NAMES)."""

    def get_repository(self, name: str, timeout: float | None = None, retry: Callable | None = None) -> dict:
        """The Repository JSON of `name` (projects/P/locations/L/repositories/R)."""
        return self._call("GET", f"v1/{name}", timeout, retry)

    def list_repositories(self, parent: str, page_size: int = LIST_PAGE_SIZE, timeout: float | None = None,
                          retry: Callable | None = None) -> dict:
        """One page of `parent`'s (projects/P/locations/L) repositories: {"repositories": [...], "nextPageToken"?}."""
        return self._call("GET", f"v1/{parent}/repositories", timeout, retry, query={"pageSize": page_size})

    def get_tag(self, name: str, timeout: float | None = None, retry: Callable | None = None) -> dict:
        """The Tag JSON of `name` (projects/P/locations/L/repositories/R/packages/PKG/tags/T, PKG escaped):
        {"name", "version": ".../versions/sha256:..."}."""
        return self._call("GET", f"v1/{name}", timeout, retry)


class GcpArtifactRegistry:
    """The repositories of one project. `client()` gives the (guarded) ArtifactRegistryClient, built on first use
    so that connecting stays offline."""

    def __init__(self, project: str, client: Callable[[], Any]):
        self.project, self._client = project, client

    def check_repository(self, repository: str, location: str) -> RepositoryCheck:
        location, repository = check_region(location), check_repository_id(repository)
        parent = f"projects/{self.project}/locations/{location}"
        try:
            self._client().get_repository(f"{parent}/repositories/{repository}")
        except NotFoundError:
            return RepositoryCheck(repository, location, False, others=self._names(parent))
        except AccessDenied as exc:
            # the role first: a summary cut short still says what to ask for
            return RepositoryCheck(repository, location, None, note=(
                f"whether Artifact Registry repository {repository} exists in {location} could not be checked "
                f"(reading it needs {READER_ROLE} on project {self.project}), and a repository that does not exist "
                f"fails the build at its push step; {one_line(str(exc), 240).rstrip('.')}"))
        return RepositoryCheck(repository, location, True)

    def tag_digest(self, image: str) -> TagDigest:
        """The digest the image's tag points at now (an image written with a digest is its own answer); a tag that
        cannot be read says why, in one clause, and the caller treats the image as unproven."""
        ref = parse_image(image)
        if ref.digest:
            return TagDigest(ref.digest)
        where, package, tag = artifact_registry_repository(image), artifact_registry_package(image), tag_of(image)
        if where is None or not package:
            return TagDigest("", f"{ref.repository} is not in Artifact Registry (LOCATION-docker.pkg.dev/...), the "
                                 "only registry whose tags the kit reads")
        repository = f"projects/{where.project}/locations/{where.location}/repositories/{where.repository}"
        try:
            found = self._client().get_tag(f"{repository}/packages/{quote(package, safe='')}/tags/{quote(tag, safe='')}")
        except NotFoundError:
            return TagDigest("", f"Artifact Registry has no tag {tag} of {package}")
        except AccessDenied as exc:
            return TagDigest("", f"reading it needs {READER_ROLE} on project {where.project}; "
                                 f"{one_line(str(exc), 160).rstrip('.')}")
        digest = str(found.get("version") or "").rsplit("/", 1)[-1]
        if not is_digest(digest):
            return TagDigest("", f"Artifact Registry answered tag {tag} of {ref.repository} without a digest "
                                 f"(version {found.get('version')!r})")
        return TagDigest(digest)

    def _names(self, parent: str) -> tuple[str, ...]:
        """The repositories in the location (one page, of the largest size); () when they cannot be listed."""
        try:
            page = self._client().list_repositories(parent)
        except (AccessDenied, NotFoundError):
            return ()
        return tuple(sorted(str(r["name"]).rsplit("/", 1)[-1] for r in page.get("repositories", [])
                            if isinstance(r, dict) and r.get("name")))
