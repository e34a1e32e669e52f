"""Cloud Build over the real google-cloud-build client (REST): get, list, latest failed/successful.

Builds are returned as Cloud Build v1 REST JSON (camelCase dicts, enums as names, defaults omitted),
the same shape `gcloud builds describe --format=json` prints and the local builder produces.

Two facts this module exists to get right:
- source deploys (`gcloud run deploy --source`) build in the service's region (us-west2 here), while
  `gcloud builds log ID` without --region searches `global` and answers NOT_FOUND;
- the client's transcoding picks the LEGACY global URL (/v1/projects/P/builds/ID) whenever project_id
  or id is set on the request, even alongside a regional name, so only `name=` / `parent=` are sent.
"""
from __future__ import annotations

import io
import json
import tarfile
import time
import uuid
from datetime import datetime
from typing import Any, Callable, Iterable

from ..diagnose.build import FAILED_STATUSES, BuildNotFound, check_build_id, check_limit, check_status, check_tags
from ..errors import NotFoundError, OperationTimeout, ParameterError
from ..formats import check_region, check_service, parse_time
from ..images import TagDigest
from ..preflight import upload_file_set
from ..protocols import BUILD_TIMEOUT_S, Progress, RepositoryCheck
from .artifacts import GcpArtifactRegistry
from .calls import cloud_call, site_of
from .clients import check_project, close_client, cloudbuild_client, guarded  # noqa: F401 (check_project re-exported)
from .operations import POLL_SECONDS, await_operation
from .refusals import refused_as

def build_filter(tags: Iterable[str] = (), status: str | None = None) -> str:
    """Cloud Build list filter: double-quoted values joined by AND, e.g.
    tags="service_nba-phase4-precompute-processors" AND status="FAILURE"."""
    terms = [f'tags="{tag}"' for tag in tags]
    if status:
        terms.append(f'status="{status}"')
    return " AND ".join(terms)


def build_to_dict(build: Any) -> dict:
    """Build message -> Cloud Build v1 REST JSON (camelCase, enum names, unset fields omitted)."""
    from google.protobuf.json_format import MessageToDict

    pb = build._pb if hasattr(build, "_pb") else build
    return MessageToDict(pb, preserving_proto_field_name=False)


def _created(build: dict) -> datetime:
    return parse_time(build.get("createTime") or "1970-01-01T00:00:00Z")


class GcpBuilds:
    """target.builds for Google Cloud. `region` is the service region source deploys build in."""

    def __init__(self, project: str, region: str, credentials: Any = None, endpoint: str | None = None,
                 client: Any = None, storage_client: Callable[[], Any] | None = None,
                 repositories: GcpArtifactRegistry | None = None):
        self.project = check_project(project)
        self.region = check_region(region)
        self._credentials = credentials
        self._endpoint = endpoint
        self._client = client
        self._owns_client = client is None
        self._storage_client = storage_client   # stages sources for submit(); the target's shared client
        self._repositories = repositories        # Artifact Registry, where builds push (check_repository)
        self.poll_s = POLL_SECONDS

    @property
    def client(self):
        if self._client is None:  # built on first use: constructing the adapter stays offline
            self._client = guarded("cloudbuild", cloudbuild_client(self._credentials, self._endpoint), self.project,
                                   self._endpoint)
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            close_client(self._client)
            self._client = None

    def build_name(self, build_id: str, region: str | None = None) -> str:
        return f"projects/{self.project}/locations/{region or self.region}/builds/{build_id}"

    def get(self, build_id: str, region: str | None = None) -> dict:
        """The build as REST JSON; BuildNotFound (a NotFoundError) if it is not in that region."""
        check_build_id(build_id)
        region = check_region(region) if region is not None else self.region
        try:
            # name= only: adding project_id/id would make the client use the global URL.
            build = self.client.get_build(name=self.build_name(build_id, region))
        except NotFoundError:
            raise BuildNotFound(build_id, self.project, region, self.region) from None
        return build_to_dict(build)

    def list(self, region: str | None = None, tags: str | Iterable[str] | None = None,
             status: str | None = None, limit: int = 20) -> list[dict]:
        """Builds in one region matching all tags and the status, newest first, at most `limit`."""
        region = check_region(region) if region is not None else self.region
        tag_list, status, limit = check_tags(tags), check_status(status), check_limit(limit)
        request = {"parent": f"projects/{self.project}/locations/{region}", "page_size": min(limit, 100)}
        query = build_filter(tag_list, status)
        if query:
            request["filter"] = query
        found: list[dict] = []
        for build in self.client.list_builds(request=request):
            found.append(build_to_dict(build))
            if len(found) >= limit:
                break
        # The API lists newest first already; sorting keeps that true for any backend.
        return sorted(found, key=_created, reverse=True)

    def latest_failed(self, service: str, region: str | None = None) -> dict | None:
        """Newest build tagged service_<service> that ended in one of FAILED_STATUSES."""
        tag = f"service_{check_service(service)}"
        candidates = [b for status in FAILED_STATUSES for b in self.list(region, tags=tag, status=status, limit=1)]
        return max(candidates, key=_created) if candidates else None

    def latest_successful(self, service: str, region: str | None = None) -> dict | None:
        tag = f"service_{check_service(service)}"
        found = self.list(region, tags=tag, status="SUCCESS", limit=1)
        return found[0] if found else None

    def check_repository(self, repository: str, location: str | None = None) -> RepositoryCheck:
        """Artifact Registry's repositories.get, and one list when it is not there (gcp/artifacts.py)."""
        if self._repositories is None:
            raise ParameterError("repositories", None, "give GcpBuilds an Artifact Registry reader "
                                 "(gcp/artifacts.GcpArtifactRegistry) to check repositories with")
        # GcpArtifactRegistry checks the location and the repository id
        return self._repositories.check_repository(repository, location or self.region)

    def tag_digest(self, image: str) -> TagDigest:
        """The digest an image's tag points at now, from Artifact Registry's packages.tags.get (gcp/artifacts.py);
        a tag that cannot be read is TagDigest("", why), never an error: the redeploy then proves nothing by it."""
        if self._repositories is None:
            raise ParameterError("repositories", None, "give GcpBuilds an Artifact Registry reader "
                                 "(gcp/artifacts.GcpArtifactRegistry) to read tags with")
        return self._repositories.tag_digest(image)

    # -- building ------------------------------------------------------------------------------
    @property
    def staging_bucket(self) -> str:
        """Where `gcloud builds submit` stages a source by default: gs://<project>_cloudbuild."""
        return f"{self.project}_cloudbuild"

    def stage_source(self, source_dir: str) -> dict:
        """Upload the folder as gcloud does: its ignore rules decide the files, a gzipped tarball lands in
        gs://<project>_cloudbuild/source/<timestamp>-<hex>.tgz (the bucket is created when missing)."""
        if self._storage_client is None:
            raise ParameterError("storage_client", None, "give GcpBuilds a Cloud Storage client to stage sources with")
        upload = upload_file_set(source_dir)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for rel in upload.files:
                tar.add(f"{upload.source_dir}/{rel}", arcname=rel, recursive=False)
        client = self._storage_client()
        bucket = client.lookup_bucket(self.staging_bucket) or client.create_bucket(self.staging_bucket)
        blob = bucket.blob(f"source/{time.time():.6f}-{uuid.uuid4().hex}.tgz")
        cloud_call(site_of(client, "storage", self.project), blob.upload_from_string, archive.getvalue(), content_type="application/gzip")
        return {"bucket": bucket.name, "object": blob.name, "generation": str(blob.generation or "")}

    def submit(self, config: dict, source_dir: str, region: str | None = None, timeout_s: float = BUILD_TIMEOUT_S,
               progress: Progress | None = None) -> dict:
        """`gcloud builds submit SOURCE_DIR --config=CONFIG --region=REGION`: stage, create the build (parent=
        projects/P/locations/REGION only; project_id would send it to the global path), await it, return it."""
        from google.cloud.devtools import cloudbuild_v1

        region = check_region(region) if region is not None else self.region
        if not isinstance(config, dict) or not isinstance(config.get("steps"), list) or not config["steps"]:
            raise ParameterError("config", str(config)[:80], "a Cloud Build config needs a non-empty steps list")
        with refused_as(f"Staging {source_dir} in gs://{self.staging_bucket}", write=True):
            storage = {k: v for k, v in self.stage_source(source_dir).items() if v}
        build = cloudbuild_v1.Build.from_json(json.dumps({**config, "source": {"storageSource": storage}}))
        with refused_as(f"Creating the build in {region}", write=True):
            operation = self.client.create_build(request={"parent": f"projects/{self.project}/locations/{region}",
                                                          "build": build})
        build_id = operation.metadata.build.id
        try:
            await_operation(operation, f"Build {build_id}", timeout_s, describe=_build_progress,
                            progress=progress, poll_s=self.poll_s)
        except OperationTimeout as exc:
            raise OperationTimeout(f"{exc} Follow it with: gcloud builds log {build_id} --region={region} "
                                   f"--project={self.project} --stream") from None
        return self.get(build_id, region=region)


def _build_progress(metadata: Any) -> str:
    build = metadata.build
    steps = list(build.steps)
    running = [k for k, step in enumerate(steps) if step.status.name == "WORKING"]
    where = f", step {running[0] + 1}/{len(steps)}" if running else ""
    return f"build {build.id}: {build.status.name}{where}"
