"""The changing half of the fake Google APIs: Cloud Build `create_build` and Cloud Run `update_service` /
`setIamPolicy`, with long-running operations the real clients poll (GET .../operations/ID).

Plugged into a FakeGoogleApis (server.py) through its `routes` hook: `FakeDeploys(fake_apis)`, or the
`fake_deploys` fixture. It answers like Google does where the kit depends on it:

- a build is created QUEUED, works while its operation is polled, and ends after `build_polls` polls:
  SUCCESS with `results.images` digests, or (see `fail_next_build`) FAILURE with failureInfo USER_BUILD_STEP,
  its log written to Cloud Logging as Cloud Build writes it (logName projects/P/logs/cloudbuild);
- the source must be a storageSource; with `storage` set (a google-cloud-storage client on the emulator)
  the staged tarball must exist, and its file names are kept in `sources[build_id]`;
- update_service creates a revision `<service>-000NN-xyz` only when the template changed (named as the template's
  `revision` says when it says, as gcloud does for `--tag`: then the traffic spec may name it before it exists),
  reconciling until `rollout_polls` polls have passed; traffic follows the service's traffic spec (none or LATEST:
  the latest ready revision; a named revision stays pinned; a tagged target, 0% included, gets a status with the
  tag's `uri`, https://TAG---<the service's host>: here `<endpoint>/svc/TAG---<service>`, whose /health answers
  for the tagged revision); a revision that fails to start leaves the traffic where it was;
  `revision_fails(service, message)` makes the next revision fail its start (operation error, Ready
  CONDITION_FAILED), `revision_hangs(service)` keeps its rollout reconciling forever;
- a service's /health answers for the revision that serves: the phase whose Dockerfile the image was
  built from (`identity_by_dockerfile`) and the commit of its `org.opencontainers.image.revision` label;
  `on_serving(service name, revision, built)` hears of every revision that starts serving (`built`: the
  Dockerfile, commit and image of a revision this fake built, None for one it was loaded with), so
  something real can serve it (tests/fakes/mirror.py: the sandbox's own processes).

Every call is in `fake.requests`, like every other call to the fake.
"""
from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import tarfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import pytest

from . import artifacts
from .server import FakeGoogleApis, RecordedRequest, google_error, tag_url_of

PROJECT_NUMBER = "756957797294"
BUILD_OP = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"
BUILD_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.Build"
SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
OCI_REVISION = "org.opencontainers.image.revision="
_ALLOCATION = {1: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", 2: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"}
NOT_READY = ("Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed to "
             "start and listen on the port defined provided by the PORT=8080 environment variable within the "
             "allocated timeout.")


def ingress_of(containers: list[dict]) -> dict:
    """The container Cloud Run sends a revision's requests to: the only one, else the one with ports."""
    return next((c for c in containers if c.get("ports")), containers[0]) if len(containers) > 1 else containers[0]


def container_statuses(containers: list[dict], tags: dict[str, str]) -> list[dict]:
    """A revision's containerStatuses as Cloud Run writes them when it creates the revision: each container's image
    resolved to a digest, whether it was given by tag or by digest, written as the repository pinned by it (as
    Knative's imageDigest: REPOSITORY@sha256:...). A tag resolves to what `tags` (the fake's Artifact Registry)
    says it points at now; any other tag to a digest of its name, the same for as long as the fake runs."""
    statuses = []
    for container in containers:
        image = container.get("image", "")
        repository, _, digest = image.partition("@")
        digest = digest or tags.get(repository) or "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        repository = repository.rsplit(":", 1)[0] if "/" not in repository.rsplit(":", 1)[-1] else repository
        statuses.append({**({"name": container["name"]} if container.get("name") else {}),
                         "imageDigest": f"{repository}@{digest}"})
    return statuses


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Operation:
    name: str
    kind: str                 # "build" | "rollout"
    subject: str              # build id, or service name
    polls: int = 0
    done: bool = False
    error: dict | None = None
    revision: str = ""        # rollout: the revision it created ("" for a traffic change)


@dataclass
class FakeDeploys:
    fake: FakeGoogleApis
    build_polls: int = 2
    rollout_polls: int = 2
    storage: Any = None                                   # a storage client on the emulator, to check sources
    identity_by_dockerfile: dict[str, str] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)   # build id -> files in its staged tarball
    operations: dict[str, _Operation] = field(default_factory=dict)
    _failing_builds: list[str] = field(default_factory=list)
    _failing_revisions: dict[str, str] = field(default_factory=dict)
    _hanging: set[str] = field(default_factory=set)
    _templates: dict[str, dict] = field(default_factory=dict)     # service name -> template of its last revision
    _health: dict[str, dict] = field(default_factory=dict)        # revision short name -> what /health answers
    _built: dict[str, dict] = field(default_factory=dict)         # image name or digest -> {dockerfile, commit}
    _revision_built: dict[str, dict] = field(default_factory=dict)  # revision short name -> {dockerfile, commit}
    on_serving: Callable[[str, str, dict | None], None] | None = None

    def __post_init__(self) -> None:
        self.fake.routes.append(self.route)

    # -- test controls
    def fail_next_build(self, log_text: str) -> None:
        """The next build fails at its first step, and Cloud Logging holds `log_text` as its log."""
        self._failing_builds.append(log_text)

    def revision_fails(self, service: str, message: str | None = None) -> None:
        """The next revision of `service` (short name) fails to start: Ready CONDITION_FAILED."""
        self._failing_revisions[service] = message or NOT_READY

    def revision_hangs(self, service: str) -> None:
        """Rollouts of `service` (short name) never settle: the operation stays running."""
        self._hanging.add(service)

    # -- dispatch
    def route(self, request: RecordedRequest) -> tuple[int, Any] | None:
        path, method = request.path, request.method
        m = re.fullmatch(r"/v1/projects/([^/]+)/locations/([^/]+)/builds", path)
        if m and method == "POST":
            return self._create_build(m.group(1), m.group(2), request.body or {})
        m = re.fullmatch(r"/v[12]/(projects/[^/]+/locations/[^/]+/operations/[^/:]+)", path)
        if m and method == "GET":
            return self._poll(m.group(1))
        m = re.fullmatch(r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)", path)
        if m and method == "PATCH":
            return self._update_service(m.group(1), request.body or {})
        m = re.fullmatch(r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+):setIamPolicy", path)
        if m and method == "POST":
            return self._set_iam_policy(m.group(1), request.body or {})
        m = re.fullmatch(r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)/revisions/([^/:]+)", path)
        if m and method == "GET":
            return self._get_revision(*m.groups())
        return None

    def _operation(self, parent: str, kind: str, subject: str) -> _Operation:
        op = _Operation(f"{parent}/operations/{uuid.uuid4()}", kind, subject)
        self.operations[op.name] = op
        return op

    def _poll(self, name: str) -> tuple[int, Any]:
        op = self.operations.get(name)
        if op is None:
            return 404, google_error(404, f"Operation {name} was not found.")
        op.polls += 1
        if op.kind == "build":
            self._advance_build(op)
            return 200, self._build_operation(op)
        self._advance_rollout(op)
        return 200, self._rollout_operation(op)

    # -- Cloud Build
    def _build(self, build_id: str) -> dict:
        return next(b for b in self.fake.builds if b["id"] == build_id)

    def _create_build(self, project: str, region: str, body: dict) -> tuple[int, Any]:
        storage = (body.get("source") or {}).get("storageSource") or {}
        if not storage.get("bucket") or not storage.get("object"):
            return 400, google_error(400, "build.source: a storageSource with bucket and object is required")
        if not body.get("steps"):
            return 400, google_error(400, "invalid build: no steps")
        build_id = str(uuid.uuid4())
        files = self._staged_files(storage)
        if isinstance(files, tuple):
            return files
        if files is not None:
            self.sources[build_id] = files
        created = _now()
        build = {
            "name": f"projects/{PROJECT_NUMBER}/locations/{region}/builds/{build_id}", "id": build_id,
            "projectId": project, "status": "QUEUED", "createTime": _stamp(created),
            "steps": [{**step, "status": "QUEUED"} for step in body["steps"]],
            "images": list(body.get("images", [])), "tags": list(body.get("tags", [])),
            "source": body["source"], "timeout": body.get("timeout", "600s"), "options": body.get("options", {}),
            "logsBucket": f"gs://{PROJECT_NUMBER}.cloudbuild-logs.googleusercontent.com",
            "logUrl": f"https://console.cloud.google.com/cloud-build/builds;region={region}/{build_id}"
                      f"?project={PROJECT_NUMBER}",
        }
        self.fake.builds.append(build)
        op = self._operation(f"projects/{PROJECT_NUMBER}/locations/{region}", "build", build_id)
        if self._failing_builds:
            op.error = {"code": 2, "message": "Build failed; check build logs for details",
                        "log": self._failing_builds.pop(0)}
        return 200, self._build_operation(op)

    def _staged_files(self, storage: dict) -> list[str] | None | tuple[int, Any]:
        if self.storage is None:
            return None
        blob = self.storage.bucket(storage["bucket"]).get_blob(storage["object"])
        if blob is None:
            return 400, google_error(400, f"gs://{storage['bucket']}/{storage['object']} does not exist")
        with tarfile.open(fileobj=io.BytesIO(blob.download_as_bytes()), mode="r:gz") as tar:
            return sorted(member.name for member in tar.getmembers() if member.isfile())

    def _advance_build(self, op: _Operation) -> None:
        build = self._build(op.subject)
        if op.done:
            return
        if build["status"] == "QUEUED":
            build["status"] = "WORKING"
            build["startTime"] = _stamp(_now())
            build["steps"][0]["status"] = "WORKING"
        if op.polls < self.build_polls:
            return
        op.done = True
        finished = _now()
        build["finishTime"] = _stamp(finished)
        if op.error:
            log = op.error.pop("log")
            build["status"] = "FAILURE"
            build["steps"][0].update(status="FAILURE", exitCode=1)
            detail = (f'Build step failure: build step 0 "{build["steps"][0]["name"]}" failed: step exited with '
                      "non-zero status: 1")
            build["failureInfo"] = {"type": "USER_BUILD_STEP", "detail": detail}
            build["statusDetail"] = detail
            self._log_build(build, log, finished)
            return
        build["status"] = "SUCCESS"
        for step in build["steps"]:
            step["status"] = "SUCCESS"
        build["results"] = {"images": [{"name": image, "digest": "sha256:" + uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                      build["id"] + image).hex * 2}
                                       for image in build["images"]]}
        for image in build["results"]["images"]:
            facts = self._image_facts(build)
            self._built[image["name"]] = self._built[image["digest"]] = facts
            artifacts.push_tag(self.fake, image["name"], image["digest"])

    def _image_facts(self, build: dict) -> dict:
        args = next((s.get("args", []) for s in build["steps"] if s.get("args", [""])[0] == "build"), [])
        dockerfile = next((args[k + 1] for k, a in enumerate(args[:-1]) if a in ("-f", "--file")), "Dockerfile")
        commit = next((a.split(OCI_REVISION, 1)[1] for a in args if OCI_REVISION in a), "")
        return {"dockerfile": dockerfile, "commit": commit}

    def _log_build(self, build: dict, text: str, when: datetime) -> None:
        project = build["projectId"]
        for number, line in enumerate(text.splitlines()):
            moment = when - timedelta(seconds=30) + timedelta(milliseconds=number)
            self.fake.entries.append({
                "insertId": f"{build['id'][:8]}{number:06d}", "timestamp": _stamp(moment), "textPayload": line,
                "logName": f"projects/{project}/logs/cloudbuild", "severity": "INFO",
                "resource": {"type": "build", "labels": {"build_id": build["id"], "project_id": project,
                                                         "build_trigger_id": ""}}})

    def _build_operation(self, op: _Operation) -> dict:
        build = self._build(op.subject)
        answer: dict[str, Any] = {"name": op.name, "metadata": {"@type": BUILD_OP, "build": build}}
        if op.done:
            answer["done"] = True
            if build["status"] == "SUCCESS":
                answer["response"] = {"@type": BUILD_TYPE, **build}
            else:
                answer["error"] = {"code": 2, "message": "Build failed; check build logs for details"}
        return answer

    # -- Cloud Run
    def _update_service(self, name: str, body: dict) -> tuple[int, Any]:
        service = self.fake.run_services.get(name)
        if service is None:
            return 404, google_error(404, f"Service {name} does not exist.")
        short = name.rsplit("/", 1)[-1]
        if body.get("etag") and body["etag"] != service_etag(service):   # AIP-154: a stale etag is ABORTED
            refused = google_error(409, f"Precondition check failed: the etag {body['etag']} does not match "
                                        f"service {short}'s current etag.")
            refused["error"]["status"] = "ABORTED"
            return 409, refused
        # The REST clients send enums as numbers: 1 LATEST, 2 REVISION (TrafficTargetAllocationType).
        spec = [{**t, "type": _ALLOCATION.get(t.get("type"), t.get("type", ""))} for t in body.get("traffic") or []] \
            or [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
        known = {r["name"].rsplit("/", 1)[-1]: r for r in self.fake.run_revisions.get(name, [])}
        named = (body.get("template") or {}).get("revision") or ""
        if named and (named in known or not named.startswith(f"{short}-") or len(named) > 63
                      or not re.fullmatch(r"[a-z0-9-]+", named)):
            return 400, google_error(400, f"Revision name {named} is taken or not valid for {short}: it must be new, "
                                          f"lowercase, start with {short}- and have at most 63 characters.")
        for target in spec:
            if target.get("tag") and len(target["tag"]) + len(short) > 46:   # the tag URL's first label holds both
                return 400, google_error(400, "spec.traffic.tag: Combined traffic tag and service name cannot "
                                              "exceed 46 characters.")
            pinned = target.get("revision")
            if pinned == named and named:
                continue
            if pinned and (pinned not in known or _ready_state(known[pinned]) != "CONDITION_SUCCEEDED"):
                return 400, google_error(400, f"Revision {pinned} is not a ready revision of {short}.")
        template = {k: v for k, v in (body.get("template") or {}).items() if k != "revision"}
        op = self._operation(name.rsplit("/services/", 1)[0], "rollout", name)
        service["traffic"] = spec
        if template.get("containers") and (template != self._templates.get(name) or named):
            self._templates[name] = template
            op.revision = self._new_revision(name, short, {**template, "revision": named} if named else template)
            service["template"] = template
            service["latestCreatedRevision"] = f"{name}/revisions/{op.revision}"
        for key in ("labels",):
            if body.get(key):
                service[key] = body[key]
        service["reconciling"] = True
        changed(service)
        return 200, self._rollout_operation(op)

    def _new_revision(self, name: str, short: str, template: dict) -> str:
        """The revision a template makes: named as its `revision` says, else as Cloud Run names them."""
        named = template.pop("revision", "")
        numbers = [int(r["name"].rsplit("-", 2)[1]) for r in self.fake.run_revisions.get(name, [])]
        suffix = "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3))
        revision = named or f"{short}-{max(numbers, default=0) + 1:05d}-{suffix}"
        image = ingress_of(template["containers"]).get("image", "")
        self.fake.run_revisions.setdefault(name, []).append({
            "name": f"{name}/revisions/{revision}", "labels": dict(template.get("labels", {})),
            "containers": template["containers"], "createTime": _stamp(_now()), "reconciling": True,
            "containerStatuses": container_statuses(template["containers"], self.fake.artifact_tags),
            "conditions": [{"type": "Ready", "state": "CONDITION_PENDING"}]})
        built = self._built.get(image.split("@", 1)[1] if "@" in image else image)
        health = {"status": "healthy", "service": short}
        if built:
            self._revision_built[revision] = {**built, "image": image}
            health["service"] = self.identity_by_dockerfile.get(built["dockerfile"], short)
            if built["commit"]:
                health["commit_sha"] = built["commit"]
        self._health[revision] = health
        return revision

    def _advance_rollout(self, op: _Operation) -> None:
        service = self.fake.run_services[op.subject]
        short = op.subject.rsplit("/", 1)[-1]
        if op.done or (short in self._hanging and op.revision) or op.polls < self.rollout_polls:
            return
        op.done = True
        service["reconciling"] = False
        changed(service)   # the status is part of the resource its etag fingerprints
        if op.revision:
            revision = next(r for r in self.fake.run_revisions[op.subject]
                            if r["name"].endswith(f"/revisions/{op.revision}"))
            revision["reconciling"] = False
            failure = self._failing_revisions.pop(short, None)
            if failure is not None:
                message = failure.format(revision=op.revision)
                revision["conditions"] = [{"type": "Ready", "state": "CONDITION_FAILED", "message": message}]
                service["terminalCondition"] = {"type": "Ready", "state": "CONDITION_FAILED", "message": message}
                op.error = {"code": 9, "message": message}
                # a revision that cannot start gets none of the targets that named it: they stay where they were
                service["traffic"] = [t for t in service.get("traffic", []) if t.get("revision") != op.revision] \
                    or [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
            else:
                revision["conditions"] = [{"type": "Ready", "state": "CONDITION_SUCCEEDED"}]
                service["latestReadyRevision"] = revision["name"]
                service["terminalCondition"] = {"type": "Ready", "state": "CONDITION_SUCCEEDED"}
        self._route_traffic(op.subject)

    def _route_traffic(self, name: str) -> None:
        """trafficStatuses from the spec, and /health from the revision that now serves."""
        service = self.fake.run_services[name]
        latest = service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
        statuses = []
        short = name.rsplit("/", 1)[-1]
        for key in [k for k in self.fake.tag_health if k.endswith(f"---{short}")]:
            del self.fake.tag_health[key]
        for target in service.get("traffic", []):
            tag = {"tag": target["tag"], "uri": tag_url_of(service.get("uri", ""), target["tag"])} \
                if target.get("tag") else {}
            if target.get("type", "").endswith("LATEST"):
                statuses.append({"type": target["type"], "revision": latest, "percent": target.get("percent", 0), **tag})
            else:
                statuses.append({"type": target.get("type", "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"),
                                 "revision": target["revision"], "percent": target.get("percent", 0), **tag})
        service["trafficStatuses"] = statuses
        for status in statuses:
            if status.get("tag") and status["revision"] in self._health:
                self.fake.tag_health[f"{status['tag']}---{short}"] = self._health[status["revision"]]
        serving = max(statuses, key=lambda s: s["percent"])["revision"] if statuses else latest
        if serving in self._health:
            self.fake.service_health[name.rsplit("/", 1)[-1]] = self._health[serving]
        if self.on_serving is not None and serving:
            self.on_serving(name, serving, self._revision_built.get(serving))

    def _rollout_operation(self, op: _Operation) -> dict:
        service = self.fake.run_services[op.subject]
        answer: dict[str, Any] = {"name": op.name, "metadata": {"@type": SERVICE_TYPE, **service}}
        if op.done:
            answer["done"] = True
            if op.error:
                answer["error"] = op.error
            else:
                answer["response"] = {"@type": SERVICE_TYPE, **service}
        return answer

    def _set_iam_policy(self, name: str, body: dict) -> tuple[int, Any]:
        if name not in self.fake.run_services:
            return 404, google_error(404, f"Service {name} does not exist.")
        policy = dict(body.get("policy") or {})
        refused = _refused_policy(policy, self.fake.run_policies.get(name, {"etag": "BwY="}))
        if refused is not None:
            return refused
        policy["etag"] = base64.b64encode(uuid.uuid4().bytes[:6]).decode()   # the API's etags are base64
        self.fake.run_policies[name] = policy
        return 200, policy

    def _get_revision(self, name: str, revision: str) -> tuple[int, Any]:
        found = next((r for r in self.fake.run_revisions.get(name, [])
                      if r["name"].endswith(f"/revisions/{revision}")), None)
        if found is None:
            return 404, google_error(404, f"Revision {revision} does not exist.")
        return 200, found


def _etag_bytes(etag: str) -> bytes:
    """An etag as the bytes it stands for: the clients send back the base64 of what they read, which may spell the
    stored text otherwise (padding, a non-canonical last character)."""
    try:
        return base64.b64decode(etag + "=" * (-len(etag) % 4))
    except ValueError:
        return etag.encode()


def _refused_policy(policy: dict, current: dict) -> tuple[int, dict] | None:
    """IAM's refusals of a setIamPolicy (None: taken): a stale etag is 409 ABORTED (read-modify-write lost a race);
    a condition on allUsers or allAuthenticatedUsers, or conditions in a policy whose version is not 3, are 400
    INVALID_ARGUMENT."""
    if policy.get("etag") and _etag_bytes(policy["etag"]) != _etag_bytes(current.get("etag") or ""):
        refused = google_error(409, "There were concurrent policy changes. Please retry the whole read-modify-write "
                                    "with exponential backoff.")
        refused["error"]["status"] = "ABORTED"
        return 409, refused
    conditional = [b for b in policy.get("bindings") or [] if b.get("condition")]
    public = sorted({m for b in conditional for m in b.get("members") or []
                     if m in ("allUsers", "allAuthenticatedUsers")})
    if public:
        return 400, google_error(400, f"Conditions cannot be used with {public[0]}: a binding with a condition may not "
                                      f"name allUsers or allAuthenticatedUsers.")
    if conditional and int(policy.get("version") or 1) != 3:
        return 400, google_error(400, f"A policy with conditional bindings must be version 3, not "
                                      f"{int(policy.get('version') or 1)}.")
    return None


def service_etag(service: dict) -> str:
    """The service's etag, given one the first time it is asked for."""
    return service.get("etag") or changed(service)


def changed(service: dict) -> str:
    """A new etag for a service that changed."""
    service["etag"] = base64.b64encode(uuid.uuid4().bytes[:9]).decode()
    return service["etag"]


def _ready_state(revision: dict) -> str:
    ready = next((c for c in revision.get("conditions", []) if c.get("type") == "Ready"), None)
    # Revisions mirrored from a sandbox carry no conditions: they were serving, so they are ready.
    return ready.get("state", "") if ready else "CONDITION_SUCCEEDED"


@pytest.fixture
def fake_deploys(fake_apis) -> Iterator[FakeDeploys]:
    """The fake Google APIs with builds and rollouts that can be created and polled."""
    yield FakeDeploys(fake_apis)
