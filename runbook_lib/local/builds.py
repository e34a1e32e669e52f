"""The sandbox's Cloud Build: source deploys decided exactly as gcloud decides, and config builds.

Builds are executed statically: the builder is chosen by gcloud's one local check, the upload is
filtered by gcloud's ignore rules, Dockerfiles are parsed and every COPY/ADD source is checked against
the build context, and the Python buildpack's detection rules run on the upload. Each build is
recorded as a Cloud Build v1 resource (REST JSON, camelCase) with a log written the way Cloud Build
writes it, into a folder that stands in for the logs bucket.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from ..buildlogs import NotFound
from ..checks import read_yaml
from ..diagnose.build import FAILED_STATUSES, BuildNotFound, check_build_id, check_limit, check_status, check_tags
from ..formats import check_region, rfc3339
from ..errors import NotFoundError, ParameterError
from ..phases import PhaseRegistry
from ..protocols import BUILD_TIMEOUT_S, Progress
from ..preflight import (
    UploadSet, buildpacks_entrypoint_check, choose_builder, dockerfile_copy_check, parse_dockerfile,
    upload_file_set,
)
from .home import SandboxHome

INCIDENT_BUILD_ID = "c3c052da-ddd1-46eb-9d3a-7219a9909377"
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"
PACK_BUILDER = "gcr.io/k8s-skaffold/pack"
PYTHON_BUILDER_IMAGE = "us-docker.pkg.dev/serverless-runtimes/google-22-full/builder/python:latest"
BUILDPACKS_TAG = "gcp-runtimes-builder-python-google-22-full"
OCI_REVISION_LABEL = "org.opencontainers.image.revision"   # the image label that names its source commit
_BUILD_NS = uuid.UUID("5f1e0c2a-8d7b-4c6e-9a1f-3b2d4e6f8a10")


def _ts(moment: datetime) -> str:
    return rfc3339(moment)


def _error_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


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
class _StepPlan:
    """One emulated build step: its resource entry, its log lines, and whether it failed."""

    name: str
    args: list[str]
    lines: list[str]
    seconds: float
    failed: bool = False
    step_id: str | None = None
    entrypoint: str | None = None


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
        if not self._records_file.exists():
            return []
        return json.loads(self._records_file.read_text())

    def _store(self, outcome: BuildOutcome, log_text: str) -> None:
        """Write the log, then add the record; builds from several processes never lose each other."""
        _write_atomically(self.bucket_path(outcome.build["id"]), log_text)
        self._records_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._records_file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = [r for r in self._load() if r["build"]["id"] != outcome.build["id"]]
            records.append({"build": outcome.build, "code_phase": outcome.code_phase, "commit": outcome.commit,
                            "extra": outcome.extra})
            _write_atomically(self._records_file, json.dumps(records, indent=1))

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
            steps = self._docker_steps(root, "Dockerfile", image, upload, source_deploy=True)
            tags = [f"service_{p.service}"]
            if not any(s.failed for s in steps):
                code_phase = self._code_phase(root, dockerfile_text)
        else:
            steps = self._buildpacks_steps(root, image, upload, env or {})
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
        doc = _load_config(config)
        build_id = build_id or str(uuid.uuid4())
        commit = _git_head(root) or ""
        subs = {"PROJECT_ID": self.project, "BUILD_ID": build_id, "LOCATION": self.region,
                "COMMIT_SHA": commit, "SHORT_SHA": commit[:7], **(doc.get("substitutions") or {}),
                **(substitutions or {})}
        upload = upload_file_set(root)
        steps: list[_StepPlan] = []
        built: dict[str, str] = {}          # image -> Dockerfile
        code_phase = None
        labelled = None                     # the commit an OCI revision label on the image names
        for number, raw in enumerate(doc["steps"]):
            name = raw.get("name", "")
            args = [_substitute(str(a), subs) for a in raw.get("args", [])]
            if name not in (DOCKER_BUILDER, "gcr.io/cloud-builders/gcb-internal") or not args or args[0] not in ("build", "push"):
                raise ParameterError(f"steps[{number}]", name or raw,
                                     "the sandbox builder emulates docker build and docker push steps only")
            if args[0] == "build":
                dockerfile, image, context = _docker_build_args(args)
                if context not in (".", "./"):
                    raise ParameterError(f"steps[{number}].args", args, "use the uploaded source (.) as the build context")
                step = self._docker_steps(root, dockerfile, image, upload, source_deploy=False)[0]
                step.args = args
                step.step_id = raw.get("id")
                steps.append(step)
                if not step.failed:
                    built[image] = dockerfile
                    code_phase = self._code_phase(root, (root / dockerfile).read_text(errors="replace"))
                    labelled = _revision_label(args) or labelled
            else:
                image = args[1] if len(args) > 1 else ""
                steps.append(_push_step(image, pushed=image in built, args=args, step_id=raw.get("id")))
            if steps[-1].failed:
                break
        images = [_substitute(i, subs) for i in doc.get("images", [])]
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
        name, _, digest = image.partition("@")
        for record in sorted(self._load(), key=lambda r: r["build"]["createTime"], reverse=True):
            for built in record["build"].get("results", {}).get("images", []):
                bare = built["name"].rsplit(":", 1)[0] if ":" in built["name"].rsplit("/", 1)[-1] else built["name"]
                if (digest and digest == built.get("digest") and name in (bare, built["name"])) or \
                        (not digest and image == built["name"]):
                    return BuildOutcome(record["build"], record.get("code_phase"), record.get("commit"),
                                        record.get("extra", {}))
        return None

    # -- emulated steps ------------------------------------------------------------------------
    def _code_phase(self, root: Path, dockerfile_text: str) -> str | None:
        """Whose code a Dockerfile packages: the phase whose own Dockerfile has the same content."""
        for name in self.phases.names():
            own = root / self.phases.get(name).dockerfile
            if own.is_file() and own.read_text(errors="replace") == dockerfile_text:
                return name
        return None

    def _docker_steps(self, root: Path, dockerfile: str, image: str, upload: UploadSet,
                      source_deploy: bool) -> list[_StepPlan]:
        build_args = ["build", "--network", "cloudbuild", "--no-cache", "-t", image, "."]
        if not source_deploy:
            build_args = ["build", "-t", image, "-f", dockerfile, "."]
        prefix = 'Step #0: '
        if dockerfile not in upload:
            lines = [f"{prefix}unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                     f"lstat /workspace/{dockerfile}: no such file or directory"]
            return [_StepPlan(DOCKER_BUILDER, build_args, lines, 2.0, failed=True)]
        instructions = parse_dockerfile((root / dockerfile).read_text(errors="replace"))
        problems = {p.line: p for p in dockerfile_copy_check(root, dockerfile, upload) if p.line}
        size_mb = upload.total_bytes / 1_000_000
        lines = [f"{prefix}Sending build context to Docker daemon  {size_mb:.2f}MB"]
        total = len(instructions)
        layer = hashlib.sha256(image.encode()).hexdigest()
        for k, ins in enumerate(instructions, start=1):
            lines.append(f"{prefix}Step {k}/{total} : {ins.normalized}")
            problem = problems.get(ins.line)
            if problem is not None:
                lines.append(f"{prefix}{ins.keyword} failed: file not found in build context or excluded by "
                             f".dockerignore: stat {problem.source.rstrip('/')}: file does not exist")
                return [_StepPlan(DOCKER_BUILDER, build_args, lines, 20.0 + 5 * k, failed=True)]
            if ins.keyword == "FROM":
                lines.append(f"{prefix}{ins.args.split()[0].split(':')[-1]}: Pulling from library/"
                             f"{ins.args.split()[0].split(':')[0]}")
            if ins.keyword == "RUN" and "pip install" in ins.args:
                lines.append(f"{prefix}Successfully installed -r requirements.txt")
            lines.append(f"{prefix} ---> {layer[k:k + 12]}")
        lines += [f"{prefix}Successfully built {layer[:12]}", f"{prefix}Successfully tagged {image}"]
        steps = [_StepPlan(DOCKER_BUILDER, build_args, lines, 180.0)]
        if source_deploy:
            steps.append(_push_step(image, pushed=True, step_number=1))
        return steps

    def _buildpacks_steps(self, root: Path, image: str, upload: UploadSet, env: dict) -> list[_StepPlan]:
        check = buildpacks_entrypoint_check(root, env, upload)
        pre = _StepPlan(PACK_BUILDER, ["-c", f"chmod a+w /workspace && pack config default-builder {PYTHON_BUILDER_IMAGE}"],
                        ['Step #0 - "pre-buildpack": Pulling image: gcr.io/k8s-skaffold/pack',
                         'Step #0 - "pre-buildpack": Status: Downloaded newer image for gcr.io/k8s-skaffold/pack:latest'],
                        8.0, step_id="pre-buildpack", entrypoint="sh")
        args = ["build", image, "--network=cloudbuild", "--path=.", "--publish",
                "--env=GOOGLE_LABEL_SOURCE=gcloud-run-deploy"] + [f"--env={k}={v}" for k, v in sorted(env.items())]
        p = 'Step #1 - "build": '
        lines = [f"{p}Status: Downloaded newer image for {PYTHON_BUILDER_IMAGE}", f"{p}===> ANALYZING",
                 f'{p}Image with name "{image}" not found', f"{p}===> DETECTING"]
        eid = _error_id(str(root), image)
        if not check.python_detected:
            lines += [f"{p}[detector] ======== Results ========",
                      f"{p}[detector] fail: google.python.runtime@1.0.0",
                      f"{p}[detector] ERROR: No buildpack groups passed detection.",
                      f"{p}[detector] ERROR: failed to detect: no buildpacks participating",
                      f"{p}ERROR: failed to build: executing lifecycle: failed with status code: 20"]
            return [pre, _StepPlan(PACK_BUILDER, args, lines, 30.0, failed=True, step_id="build", entrypoint="pack")]
        version_problem = "buildpacks-python-version" in check.expected_signatures
        if version_problem:
            lines += [f"{p}[detector] ======== Output: google.python.runtime@1.0.0 ========",
                      f"{p}[detector] failed to build: (error ID: {eid}):",
                      f"{p}[detector] invalid Python version specified: {check.python_version!r}",
                      f"{p}[detector] ERROR: No buildpack groups passed detection.",
                      f"{p}ERROR: failed to build: executing lifecycle: failed with status code: 20"]
            return [pre, _StepPlan(PACK_BUILDER, args, lines, 40.0, failed=True, step_id="build", entrypoint="pack")]
        lines.append(f"{p}[detector] ======== Output: google.python.runtime@1.0.0 ========")
        lines.append(f"{p}[detector] Using runtime version from requirements: {check.python_version or '3.11'}")
        if not check.found:
            lines += [f"{p}[detector] ======== Output: google.python.missing-entrypoint@0.9.0 ========",
                      f"{p}[detector] failed to build: (error ID: {eid}):",
                      f'{p}[detector] for Python, provide a main.py or app.py file or set an entrypoint with '
                      f'"GOOGLE_ENTRYPOINT" env var or by creating a "Procfile" file',
                      f"{p}[detector] ======== Results ========",
                      f"{p}[detector] pass: google.python.runtime@1.0.0",
                      f"{p}[detector] pass: google.python.pip@0.9.2",
                      f"{p}[detector] err:  google.python.missing-entrypoint@0.9.0 (1)",
                      f"{p}[detector] ERROR: No buildpack groups passed detection.",
                      f"{p}[detector] ERROR: failed to detect: no buildpacks participating",
                      f"{p}ERROR: failed to build: executing lifecycle: failed with status code: 20"]
            return [pre, _StepPlan(PACK_BUILDER, args, lines, 776.0, failed=True, step_id="build", entrypoint="pack")]
        lines += [f"{p}[detector] pass: google.python.runtime@1.0.0", f"{p}[detector] pass: google.python.pip@0.9.2",
                  f"{p}[detector] pass: google.python.entrypoint@0.9.0", f"{p}===> BUILDING",
                  f"{p}=== Python - Entrypoint ({check.how})", f"{p}===> EXPORTING",
                  f"{p}Successfully built image {image}"]
        return [pre, _StepPlan(PACK_BUILDER, args, lines, 240.0, step_id="build", entrypoint="pack")]

    # -- the resource and its log --------------------------------------------------------------
    def _record(self, build_id: str, steps: list[_StepPlan], image: str, tags: list[str], upload: UploadSet,
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
        return path.read_text()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def _push_step(image: str, pushed: bool, args: list[str] | None = None, step_id: str | None = None,
               step_number: int = 0) -> _StepPlan:
    prefix = "Step #0: "
    if not pushed:
        lines = [f"{prefix}The push refers to repository [{image.rsplit(':', 1)[0]}]",
                 f"{prefix}An image does not exist locally with the tag: {image}"]
        return _StepPlan(DOCKER_BUILDER, args or ["push", image], lines, 1.0, failed=True, step_id=step_id)
    lines = [f"{prefix}The push refers to repository [{image.rsplit(':', 1)[0]}]",
             f"{prefix}latest: digest: sha256:{hashlib.sha256(image.encode()).hexdigest()} size: 2417"]
    return _StepPlan(DOCKER_BUILDER, args or ["push", image], lines, 18.0, step_id=step_id)


def _docker_build_args(args: list[str]) -> tuple[str, str, str]:
    dockerfile, image, rest = "Dockerfile", "", []
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-f", "--file", "-t", "--tag") and i + 1 >= len(args):
            raise ParameterError("args", " ".join(args), f"{a} needs a value after it")
        if a in ("-f", "--file"):
            dockerfile, i = args[i + 1], i + 2
            continue
        if a.startswith("--file="):
            dockerfile = a.split("=", 1)[1]
        elif a in ("-t", "--tag"):
            image, i = args[i + 1], i + 2
            continue
        elif a.startswith("--tag="):
            image = a.split("=", 1)[1]
        elif a in ("--network", "--build-arg", "--target", "--cache-from"):
            i += 2
            continue
        elif not a.startswith("-"):
            rest.append(a)
        i += 1
    return dockerfile.removeprefix("./"), image, rest[-1] if rest else "."


def _revision_label(args: list[str]) -> str | None:
    """The commit an `--label=org.opencontainers.image.revision=SHA` build argument names, if any."""
    for k, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--label=") else (
            args[k + 1] if arg == "--label" and k + 1 < len(args) else None)
        if value and value.startswith(OCI_REVISION_LABEL + "="):
            return value.split("=", 1)[1] or None
    return None


def _substitute(text: str, subs: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        key = m.group(1) or m.group(2)
        return subs.get(key, m.group(0))

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)", repl, text)


def _load_config(config: dict | str | Path) -> dict:
    if isinstance(config, dict):
        doc = config
    else:
        doc = read_yaml(config, "config", "Cloud Build config (YAML or JSON)")
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list) or not doc["steps"]:
        raise ParameterError("config", str(config)[:80], "a Cloud Build config needs a non-empty steps list")
    return doc


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


# -- the incident night ----------------------------------------------------------------------

PHASE3_DEPLOY_STARTED = datetime(2025, 12, 31, 1, 41, 3, tzinfo=timezone.utc)


def seed_incident_builds(home: SandboxHome, phases: PhaseRegistry, source) -> list[BuildOutcome]:
    """Replay the night: both deploy scripts run at once from one checkout of head.

    Phase 3's script copies its Dockerfile to the root, Phase 4's overwrites it with its own, Phase 3's
    gcloud uploads (Docker build of Phase 4's code), Phase 3's script deletes ./Dockerfile, and then
    Phase 4's gcloud finds no root Dockerfile and falls back to buildpacks, which fail.
    """
    builds = LocalBuilds(home, phases)
    p3, p4 = phases.get("phase3"), phases.get("phase4")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="deploy-race-") as tmp:
        # Dec 29: the last good deploys, one script at a time, from the commit before dataset_prefix.
        earlier = Path(tmp) / "earlier"
        subprocess.run(["git", "clone", "-q", str(source.path), str(earlier)], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(earlier), "checkout", "-q", source.commits["before_prefix"]],
                       check=True, capture_output=True)
        for name, at in (("phase3", datetime(2025, 12, 29, 22, 52, 40, tzinfo=timezone.utc)),
                         ("phase4", datetime(2025, 12, 29, 23, 4, 11, tzinfo=timezone.utc))):
            shutil.copyfile(earlier / phases.get(name).dockerfile, earlier / "Dockerfile")
            outcomes.append(builds.source_deploy(name, earlier, when=at,
                                                 build_id=str(uuid.uuid5(_BUILD_NS, f"{name}-dec29"))))
            (earlier / "Dockerfile").unlink()
        # Dec 31: both scripts at once from one checkout of head.
        checkout = Path(tmp) / "checkout"
        shutil.copytree(source.path, checkout, symlinks=True)
        root_dockerfile = checkout / "Dockerfile"
        shutil.copyfile(checkout / p3.dockerfile, root_dockerfile)      # phase 3 script: cp
        shutil.copyfile(checkout / p4.dockerfile, root_dockerfile)      # phase 4 script: cp (overwrites)
        phase3 = builds.source_deploy("phase3", checkout, when=PHASE3_DEPLOY_STARTED + timedelta(seconds=12),
                                      build_id=str(uuid.uuid5(_BUILD_NS, "phase3-incident")))
        root_dockerfile.unlink()                                         # phase 3 script: rm ./Dockerfile
        phase4 = builds.source_deploy("phase4", checkout, when=PHASE3_DEPLOY_STARTED + timedelta(seconds=16),
                                      build_id=INCIDENT_BUILD_ID)
    return outcomes + [phase3, phase4]

