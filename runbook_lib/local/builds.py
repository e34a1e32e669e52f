"""The sandbox's Cloud Build: source deploys decided exactly as gcloud decides, and config builds.

Builds are executed statically: the builder is chosen by gcloud's one local check, the upload is
filtered by gcloud's ignore rules, Dockerfiles are parsed and every COPY/ADD source is checked against
the build context, and the Python buildpack's detection rules run on the upload. Each build is
recorded as a Cloud Build v1 resource (REST JSON, camelCase) with a log written the way Cloud Build
writes it, into a folder that stands in for the logs bucket. What each step logs and whether it fails
is build_steps.py's; the incident night's builds are seeded by incident_night.py.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from ..buildlogs import NotFound, decode_log
from ..diagnose.build import FAILED_STATUSES, BuildNotFound, check_build_id, check_limit, check_status, check_tags
from ..errors import NotFoundError, ParameterError
from ..files import write_whole
from ..formats import check_region, rfc3339
from ..images import TagDigest, artifact_registry_repository, parse_image, same_image, tag_of
from ..phases import DEFAULT_REPOSITORY, PhaseRegistry, check_repository_id
from ..preflight import UploadSet, choose_builder, upload_file_set
from ..protocols import BUILD_TIMEOUT_S, Progress, RepositoryCheck
from ..redeploy.provenance import revision_label
from .build_steps import (BUILDPACKS_TAG, DOCKER_BUILDER, StepPlan, buildpacks_steps, docker_build_args, docker_steps,
                          load_config, push_step, substitute)
from .home import SandboxHome
from .state import read_json_file, read_state


def _ts(moment: datetime) -> str:
    return rfc3339(moment)


def _digest(upload: UploadSet, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    root = Path(upload.source_dir)
    for rel in upload.files:
        h.update(rel.encode())
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            pass
    return "sha256:" + h.hexdigest()


@dataclass
class BuildOutcome:
    """What the sandbox knows about a build beyond the Cloud Build resource."""

    build: dict
    code_phase: str | None = None          # whose code the built image holds (None when nothing was built)
    commit: str | None = None              # the source checkout's commit, when it is a git repo
    extra: dict = field(default_factory=dict)


class LocalBuilds:
    """target.builds for the sandbox; the same reading methods as GcpBuilds."""

    def __init__(self, home: SandboxHome, phases: PhaseRegistry):
        self.home = home
        self.phases = phases
        self.project = phases.project
        self.project_number = phases.project_number or "000000000000"
        self.region = phases.region

    # -- storage -------------------------------------------------------------------------------
    @property
    def _records_file(self) -> Path:
        return self.home.builds / "builds.json"

    @property
    def logs_bucket(self) -> str:
        return f"{self.project_number}.cloudbuild-logs.googleusercontent.com"

    def bucket_path(self, build_id: str) -> Path:
        """The local stand-in for gs://<bucket>/log-<ID>.txt."""
        return self.home.builds / self.logs_bucket / f"log-{build_id}.txt"

    def _load(self) -> list[dict]:
        return read_json_file(self._records_file, self.home.root, [])

    def _store(self, outcome: BuildOutcome, log_text: str) -> None:
        """Write the log, then add the record; builds from several processes never lose each other."""
        write_whole(self.bucket_path(outcome.build["id"]), log_text, make_parents=True)
        self._records_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._records_file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = [r for r in self._load() if r["build"]["id"] != outcome.build["id"]]
            records.append({"build": outcome.build, "code_phase": outcome.code_phase, "commit": outcome.commit,
                            "extra": outcome.extra})
            write_whole(self._records_file, json.dumps(records, indent=1), make_parents=True)

    # -- reading (same contract as GcpBuilds) ------------------------------------------------
    def build_name(self, build_id: str, region: str | None = None) -> str:
        return f"projects/{self.project_number}/locations/{region or self.region}/builds/{build_id}"

    def get(self, build_id: str, region: str | None = None) -> dict:
        check_build_id(build_id)
        region = check_region(region or self.region)
        for record in self._load():
            build = record["build"]
            if build["id"] == build_id:
                home_region = build["name"].split("/")[3]
                if home_region != region:
                    raise BuildNotFound(build_id, self.project, region, home_region)
                return build
        raise BuildNotFound(build_id, self.project, region, None)

    def outcome(self, build_id: str) -> BuildOutcome:
        for record in self._load():
            if record["build"]["id"] == build_id:
                return BuildOutcome(record["build"], record.get("code_phase"), record.get("commit"),
                                    record.get("extra", {}))
        raise NotFoundError(f"Build {build_id} is not in the sandbox's build history.")

    def list(self, region: str | None = None, tags: str | Iterable[str] | None = None, status: str | None = None,
             limit: int = 20) -> list[dict]:
        region = check_region(region or self.region)
        wanted_tags = check_tags(tags)
        status = check_status(status)
        limit = check_limit(limit)
        found = [r["build"] for r in self._load()
                 if r["build"]["name"].split("/")[3] == region
                 and all(t in r["build"].get("tags", []) for t in wanted_tags)
                 and (status is None or r["build"]["status"] == status)]
        found.sort(key=lambda b: b["createTime"], reverse=True)
        return found[:limit]

    def latest_failed(self, service: str, region: str | None = None) -> dict | None:
        failed = [b for b in self.list(region=region, tags=[f"service_{service}"], limit=500)
                  if b["status"] in FAILED_STATUSES]
        return failed[0] if failed else None

    def latest_successful(self, service: str, region: str | None = None) -> dict | None:
        done = self.list(region=region, tags=[f"service_{service}"], status="SUCCESS", limit=1)
        return done[0] if done else None

    def check_repository(self, repository: str, location: str | None = None) -> RepositoryCheck:
        """The sandbox's Artifact Registry: the repositories its state lists per location (sandbox_repositories)."""
        location, repository = check_region(location or self.region), check_repository_id(repository)
        there = tuple(sorted(self._repositories_in(location)))
        if repository in there:
            return RepositoryCheck(repository, location, True)
        return RepositoryCheck(repository, location, False, others=there)

    def _missing_repository(self, image: str) -> str | None:
        """The name of the sandbox project's Artifact Registry repository `image` is pushed to, when the
        sandbox has no such repository in that location; None when it has, or the image goes elsewhere."""
        pushed_to = artifact_registry_repository(image)
        if pushed_to is None or pushed_to.project != self.project:
            return None
        return None if pushed_to.repository in self._repositories_in(pushed_to.location) else pushed_to.repository

    def _repositories_in(self, location: str) -> list[str]:
        return sandbox_repositories(read_state(self.home), self.region).get(location, [])

    def log_sources(self) -> list:
        """Sources for runbook_lib.buildlogs.fetch_build_log: the sandbox's logs bucket."""
        return [LocalBucketLogSource(self)]

    def close(self) -> None:
        pass

    # -- building ------------------------------------------------------------------------------
    def source_deploy(self, phase: str, source_dir: str | Path, env: dict[str, str] | None = None,
                      when: datetime | None = None, build_id: str | None = None) -> BuildOutcome:
        """Emulate the build of `gcloud run deploy SERVICE --source=DIR`, deciding as gcloud decides."""
        p = self.phases.get(phase)
        root = _existing_dir(source_dir, "source_dir")
        if env is not None and not isinstance(env, dict):
            raise ParameterError("env", env, "give a mapping of build environment variables")
        upload = upload_file_set(root)
        choice = choose_builder(root)
        image = f"{p.region}-docker.pkg.dev/{self.project}/cloud-run-source-deploy/{p.service}:latest"
        code_phase = None
        if choice.builder == "dockerfile":
            dockerfile_text = (root / "Dockerfile").read_text(errors="replace")
            steps = docker_steps(root, "Dockerfile", image, upload, source_deploy=True)
            tags = [f"service_{p.service}"]
            if not any(s.failed for s in steps):
                code_phase = self._code_phase(root, dockerfile_text)
        else:
            steps = buildpacks_steps(root, image, upload, env or {})
            tags = [BUILDPACKS_TAG, f"service_{p.service}"]
        build_id = build_id or str(uuid.uuid4())
        outcome, log_text = self._record(build_id, steps, image, tags, upload, when,
                                         substitutions={"_DEPLOY_REGION": p.region, "_SERVICE_NAME": p.service},
                                         source_object=f"services/{p.service}")
        outcome.code_phase = code_phase
        outcome.commit = _git_head(root)
        outcome.extra = {"builder": choice.builder, "builder_reason": choice.reason, "phase": p.name,
                         "kind": "source-deploy", "warnings": choice.warnings}
        self._store(outcome, log_text)
        return outcome

    def submit_config(self, config: dict | str | Path, source_dir: str | Path,
                      substitutions: dict[str, str] | None = None, when: datetime | None = None,
                      build_id: str | None = None, tags: list[str] | None = None) -> BuildOutcome:
        """Emulate `gcloud builds submit --config CONFIG DIR` for docker build and push steps."""
        root = _existing_dir(source_dir, "source_dir")
        doc = load_config(config)
        build_id = build_id or str(uuid.uuid4())
        commit = _git_head(root) or ""
        subs = {"PROJECT_ID": self.project, "BUILD_ID": build_id, "LOCATION": self.region,
                "COMMIT_SHA": commit, "SHORT_SHA": commit[:7], **(doc.get("substitutions") or {}),
                **(substitutions or {})}
        upload = upload_file_set(root)
        steps: list[StepPlan] = []
        built: dict[str, str] = {}          # image -> Dockerfile
        code_phase = None
        labelled = None                     # the commit an OCI revision label on the image names
        for number, raw in enumerate(doc["steps"]):
            name = raw.get("name", "")
            args = [substitute(str(a), subs) for a in raw.get("args", [])]
            if name not in (DOCKER_BUILDER, "gcr.io/cloud-builders/gcb-internal") or not args or args[0] not in ("build", "push"):
                raise ParameterError(f"steps[{number}]", name or raw,
                                     "the sandbox builder emulates docker build and docker push steps only")
            if args[0] == "build":
                dockerfile, image, context = docker_build_args(args)
                if context not in (".", "./"):
                    raise ParameterError(f"steps[{number}].args", args, "use the uploaded source (.) as the build context")
                step = docker_steps(root, dockerfile, image, upload, source_deploy=False)[0]
                step.args = args
                step.step_id = raw.get("id")
                steps.append(step)
                if not step.failed:
                    built[image] = dockerfile
                    code_phase = self._code_phase(root, (root / dockerfile).read_text(errors="replace"))
                    labelled = revision_label(args) or labelled
            else:
                image = args[1] if len(args) > 1 else ""
                pushed = image in built
                steps.append(push_step(image, pushed=pushed, args=args, step_id=raw.get("id"),
                                       missing_repository=self._missing_repository(image) if pushed else None))
            if steps[-1].failed:
                break
        images = [substitute(i, subs) for i in doc.get("images", [])]
        image = images[0] if images else next(iter(built), "")
        outcome, log_text = self._record(build_id, steps, image, list(tags or doc.get("tags") or []), upload, when,
                                         substitutions={k: v for k, v in subs.items() if k.startswith("_")},
                                         source_object="source", images=images)
        outcome.code_phase = code_phase
        # A folder exported from git (no .git of its own) says its commit through the image's OCI label.
        outcome.commit = labelled or commit or None
        outcome.extra = {"builder": "cloudbuild-config", "kind": "config", "dockerfiles": built}
        self._store(outcome, log_text)
        return outcome

    def submit(self, config: dict, source_dir: str, region: str | None = None, timeout_s: float = BUILD_TIMEOUT_S,
               progress: Progress | None = None) -> dict:
        """The Builds contract's `gcloud builds submit --config`: the emulated build runs at once, so it is
        reported once, finished. Only the services' region has a builder here."""
        if region is not None and check_region(region) != self.region:
            raise ParameterError("region", region, f"the sandbox builds in {self.region} only")
        build = self.submit_config(config, source_dir).build
        if progress is not None:
            progress(f"build {build['id']}: {build['status']}")
        return build

    def image_outcome(self, image: str) -> BuildOutcome | None:
        """The build that produced `image` (by digest, or by name and tag), newest first; None if none did."""
        for record in sorted(self._load(), key=lambda r: r["build"]["createTime"], reverse=True):
            for built in record["build"].get("results", {}).get("images", []):
                if same_image(image, built["name"], built.get("digest")):
                    return BuildOutcome(record["build"], record.get("code_phase"), record.get("commit"),
                                        record.get("extra", {}))
        return None

    def tag_digest(self, image: str) -> TagDigest:
        """The digest the image's tag points at now in the sandbox's registry, its builds: the newest build that
        pushed the tag (a push moves it, as in Artifact Registry). An image written with a digest is its own answer."""
        ref = parse_image(image)
        if ref.digest:
            return TagDigest(ref.digest)
        tag = tag_of(image)
        for record in sorted(self._load(), key=lambda r: r["build"]["createTime"], reverse=True):
            for built in record["build"].get("results", {}).get("images", []):
                name = str(built.get("name", ""))
                if parse_image(name).repository == ref.repository and tag_of(name) == tag and built.get("digest"):
                    return TagDigest(built["digest"])
        return TagDigest("", f"no build of the sandbox pushed tag {tag} of {ref.repository}, so its registry has "
                             "no such tag")

    # -- emulated steps ------------------------------------------------------------------------
    def _code_phase(self, root: Path, dockerfile_text: str) -> str | None:
        """Whose code a Dockerfile packages: the phase whose own Dockerfile has the same content."""
        for name in self.phases.names():
            own = root / self.phases.get(name).dockerfile
            if own.is_file() and own.read_text(errors="replace") == dockerfile_text:
                return name
        return None


    # -- the resource and its log --------------------------------------------------------------
    def _record(self, build_id: str, steps: list[StepPlan], image: str, tags: list[str], upload: UploadSet,
                when: datetime | None, substitutions: dict, source_object: str,
                images: list[str] | None = None) -> tuple[BuildOutcome, str]:
        check_build_id(build_id)
        created = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
        start = created + timedelta(seconds=2.3)
        clock = start + timedelta(seconds=1)
        generation = str(int(created.timestamp() * 1_000_000))
        bucket = f"run-sources-{self.project}-{self.region}"
        obj = f"{source_object}/{created.timestamp():.6f}-{build_id.replace('-', '')}.zip"
        gs = f"gs://{bucket}/{obj}#{generation}"
        log = [f'starting build "{build_id}"', "", "FETCHSOURCE", f"Fetching storage object: {gs}",
               f"Copying {gs}...", f"/ [1 files][{upload.total_bytes / 1_048_576:6.1f} MiB/"
               f"{upload.total_bytes / 1_048_576:6.1f} MiB]", "Operation completed over 1 objects.", "BUILD"]
        resource_steps = []
        failed_at = None
        for number, step in enumerate(steps):
            label = f'Step #{number} - "{step.step_id}"' if step.step_id else f"Step #{number}"
            begin = clock
            clock = clock + timedelta(seconds=step.seconds)
            entry: dict[str, Any] = {"name": step.name, "args": step.args,
                                     "status": "FAILURE" if step.failed else "SUCCESS",
                                     "timing": {"startTime": _ts(begin), "endTime": _ts(clock)}}
            if step.step_id:
                entry["id"] = step.step_id
            if step.entrypoint:
                entry["entrypoint"] = step.entrypoint
            if step.failed:
                entry["exitCode"] = 1
            resource_steps.append(entry)
            log.append(f"Starting {label}")
            log += [ln.replace("Step #0: ", f"{label}: ", 1) if ln.startswith("Step #0: ") else ln for ln in step.lines]
            log.append(f"Finished {label}")
            if step.failed:
                failed_at = number
                break
        for step in steps[len(resource_steps):]:
            resource_steps.append({"name": step.name, "args": step.args, "status": "QUEUED"})
        finish = clock + timedelta(seconds=3)
        build: dict[str, Any] = {
            "name": self.build_name(build_id), "id": build_id, "projectId": self.project,
            "status": "FAILURE" if failed_at is not None else "SUCCESS",
            "createTime": _ts(created), "startTime": _ts(start), "finishTime": _ts(finish),
            "steps": resource_steps, "timeout": "600s",
            "serviceAccount": f"projects/{self.project}/serviceAccounts/{self.project_number}-compute@developer.gserviceaccount.com",
            "logUrl": f"https://console.cloud.google.com/cloud-build/builds;region={self.region}/{build_id}?project={self.project_number}",
            "source": {"storageSource": {"bucket": bucket, "object": obj, "generation": generation}},
            "images": images if images is not None else ([image] if image else []),
            "logsBucket": f"gs://{self.logs_bucket}",
            "options": {"machineType": "E2_HIGHCPU_8"},
            "substitutions": substitutions, "tags": tags,
        }
        if failed_at is not None:
            detail = (f'Build step failure: build step {failed_at} "{steps[failed_at].name}" failed: '
                      "step exited with non-zero status: 1")
            build["failureInfo"] = {"type": "USER_BUILD_STEP", "detail": detail}
            build["statusDetail"] = detail
            log += ["ERROR", f'ERROR: build step {failed_at} "{steps[failed_at].name}" failed: '
                             "step exited with non-zero status: 1"]
        else:
            build["results"] = {"images": [{"name": i, "digest": _digest(upload, i)} for i in build["images"]]}
            log += ["PUSH", "DONE"]
        log.append("-" * 80)
        return BuildOutcome(build), "\n".join(log) + "\n"


class LocalBucketLogSource:
    """The sandbox's logs bucket, as the "gcs" source of the build-log chain."""

    name = "gcs"

    def __init__(self, builds: LocalBuilds):
        self.builds = builds

    def fetch(self, build: dict) -> str:
        path = self.builds.bucket_path(build["id"])
        if not path.is_file():
            raise NotFound(f"gs://{self.builds.logs_bucket}/log-{build['id']}.txt does not exist.")
        return decode_log(path.read_bytes())   # as the gcp source reads the object: any bytes, never an error


def sandbox_repositories(state: dict, region: str) -> dict[str, list[str]]:
    """location -> the Artifact Registry repositories the sandbox has. `sandbox init` writes them to its state:
    the one its incident's source deploys push to (cloud-run-source-deploy, in the services' region), and no
    other; a sandbox initialised before the state kept them has that one alone too."""
    return state.get("artifact_repositories") or {region: [DEFAULT_REPOSITORY]}


def _existing_dir(path: str | Path, parameter: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ParameterError(parameter, str(path), "give an existing directory")
    return p.resolve()


def _git_head(root: Path) -> str | None:
    if not (root / ".git").exists():
        return None
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None
