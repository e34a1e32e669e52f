"""Reading a Cloud Build v1 Build resource: which builder ran, its steps, where its log is, its summary.

Pure: it takes Build resources (REST JSON dicts, camelCase) and never calls the cloud. Also the build
statuses and the checks of build ids, tags, statuses and list limits that both targets' builds
adapters apply before they ask anything.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import pandas as pd

from ..buildlogs import build_location, command_for, log_command
from ..errors import NotFoundError, ParameterError
from ..formats import keyed_table, one_line, parse_time
from .step_commands import build_commands, image_rule

BUILD_STATUSES = ("STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING", "SUCCESS", "FAILURE",
                  "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED")
# A build that should have produced an image and did not. CANCELLED is left out: someone stopped it.
FAILED_STATUSES = ("FAILURE", "INTERNAL_ERROR", "TIMEOUT", "EXPIRED")
RUNNING_STATUSES = ("STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING")


# ----------------------------------------------------------------------------------------------
# build ids, tags, statuses, list limits

MAX_LIMIT = 1000

BUILD_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TAG = re.compile(r"[\w][\w.-]{0,127}")  # Cloud Build tag rule: ^[\w][\w.-]{0,127}$


class BuildNotFound(NotFoundError):
    """A build is not in the region that was searched; says where to look and the command that works."""

    def __init__(self, build_id: str, project: str, region: str, home_region: str | None):
        self.build_id, self.project, self.region, self.home_region = build_id, project, region, home_region
        if region == "global" and home_region and home_region != "global":
            message = (f"Build {build_id} was not found in region global of project {project}: source deploys "
                       f"(gcloud run deploy --source) build in the service's region, so look in {home_region}: "
                       f"{log_command(build_id, home_region, project)}")
        else:
            message = (f"Build {build_id} was not found in region {region} of project {project}; check the id, "
                       f"or list that region with: gcloud builds list --region={region} --project={project}")
        super().__init__(message)


def check_build_id(build_id: Any) -> str:
    if not isinstance(build_id, str) or not BUILD_ID_PATTERN.fullmatch(build_id):
        raise ParameterError("build_id", build_id,
                             "give a Cloud Build id, a lowercase UUID like c3c052da-ddd1-46eb-9d3a-7219a9909377")
    return build_id


def check_tags(tags: str | Iterable[str] | None) -> list[str]:
    if tags is None:
        return []
    values = [tags] if isinstance(tags, str) else list(tags)
    for tag in values:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise ParameterError("tags", tag, "each tag is letters, digits, _ . - (up to 128), e.g. service_nba-phase4-precompute-processors")
    return values


def check_status(status: str | None) -> str | None:
    if status is not None and status not in BUILD_STATUSES:
        raise ParameterError("status", status, f"choose one of {', '.join(BUILD_STATUSES)}")
    return status


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ParameterError("limit", limit, f"give a whole number from 1 to {MAX_LIMIT}")
    return limit


# ----------------------------------------------------------------------------------------------
# the Build resource


@dataclass
class BuilderEvidence:
    builder: str                      # buildpacks | dockerfile | cloudbuild-config | unknown
    evidence: list[str]               # quoted facts from the Build resource
    dockerfile: str | None = None     # for dockerfile builds: the -f path, else Dockerfile in the context
    service: str | None = None        # from a service_<NAME> tag (source deploys), else _SERVICE_NAME (triggers)
    build_id: str | None = None
    status: str | None = None
    region: str | None = None
    builder_image: str | None = None  # buildpacks builder image when named
    source_deploy: bool = False       # built by `gcloud run deploy --source`
    failure_type: str | None = None   # failureInfo.type
    failure_detail: str | None = None  # failureInfo.detail, Cloud Build's own sentence
    trigger_id: str | None = None     # buildTriggerId: a trigger started it from a repository, not a gcloud upload
    trigger_repo: str | None = None   # the trigger's REPO_NAME substitution
    trigger_commit: str | None = None  # its COMMIT_SHA substitution
    timed_out_step: str | None = None  # a step its own timeout stopped: "step 1 (build, timeout 300s)"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def trigger_said(self) -> str | None:
        """"trigger ID (repository R at commit C)", as far as the Build says; None for a build no trigger started."""
        if not self.trigger_id:
            return None
        where = [f"repository {self.trigger_repo}" if self.trigger_repo else "",
                 f"commit {self.trigger_commit}" if self.trigger_commit else ""]
        return f"trigger {self.trigger_id}" + (f" ({' at '.join(w for w in where if w)})" if any(where) else "")


def _check_build(build: object) -> dict:
    if not isinstance(build, dict):
        raise ParameterError("build", type(build).__name__, "give a Cloud Build v1 Build resource as a dict "
                             "(the REST JSON, camelCase keys)")
    steps = build.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ParameterError("build.steps", steps, "give a list of step mappings")
    return build


def _region(build: dict) -> str | None:
    return build_location(build)[1]


def _step_label(n: int, step: dict) -> str:
    return f"step {n}" + (f" ({step['id']})" if step.get("id") else "")


def _read_steps(steps: list[dict]) -> tuple[set[str], str | None, str | None, list[str]]:
    """(the builders the steps use, the first Dockerfile built, the buildpacks builder image, the evidence)."""
    kinds: set[str] = set()
    dockerfile = builder_image = None
    evidence: list[str] = []
    for n, step in enumerate(steps):
        name, label = str(step.get("name", "")), _step_label(n, step)
        _, image_kind = image_rule(name)
        if image_kind == "buildpacks":
            kinds.add("buildpacks")
            if "serverless-runtimes/" in name or "buildpacks/builder" in name:
                builder_image = builder_image or name
                evidence.append(f"{label} runs the buildpacks builder {name}")
            else:
                evidence.append(f"{label} runs {name}")
        commands = build_commands(step)
        for command in commands:
            kinds.add(command.kind)
            shown = one_line(" ".join([command.words] + command.args), 140)
            if command.kind == "dockerfile":
                dockerfile = dockerfile or command.dockerfile
                evidence.append(f"{label} runs `{shown}` in {name} (Dockerfile: {command.dockerfile})")
            elif command.builder_image:
                builder_image = command.builder_image
                evidence.append(f"{label} runs `{shown}`, naming the buildpacks builder {command.builder_image}")
    return kinds, dockerfile, builder_image, evidence


def builder_evidence(build: dict) -> BuilderEvidence:
    """Which builder produced this build, which Dockerfile, which service, and the quoted evidence."""
    build = _check_build(build)
    steps = build.get("steps") or []
    tags = [str(t) for t in build.get("tags") or []]
    kinds, docker, builder_image, evidence = _read_steps(steps)
    for tag in tags:
        if tag.startswith("gcp-runtimes-builder"):
            kinds.add("buildpacks")
            evidence.append(f'tag "{tag}"')
    service = None
    for tag in tags:
        if tag.startswith("service_") and len(tag) > len("service_"):
            service = tag[len("service_"):]
            evidence.append(f'tag "{tag}" (a gcloud run deploy --source build for service {service})')
            break
    tagged = service is not None
    substitutions = build.get("substitutions") or {}
    if service is None and substitutions.get("_SERVICE_NAME"):
        service = str(substitutions["_SERVICE_NAME"])
        evidence.append(f"substitution _SERVICE_NAME={service}")
    trigger = str(build["buildTriggerId"]) if build.get("buildTriggerId") else None
    repo, commit = (str(substitutions[k]) if substitutions.get(k) else None for k in ("REPO_NAME", "COMMIT_SHA"))
    if trigger:
        built = " at ".join(w for w in (repo, commit) if w)
        evidence.append(f"buildTriggerId {trigger} (a trigger build" + (f" of {built}" if built else "")
                        + ", not a gcloud upload)")
    if "buildpacks" in kinds:
        builder = "buildpacks"
    elif "dockerfile" in kinds:
        builder = "dockerfile"
    elif steps:
        builder = "cloudbuild-config"
        evidence.append(f"{len(steps)} user step(s), none of them a docker build or buildpacks: "
                        + ", ".join(_short_image(str(s.get('name', ''))) for s in steps[:5]))
    else:
        builder = "unknown"
        evidence.append("the build has no steps")
    images = [str(i) for i in build.get("images") or []]
    # Cloud Run's continuous deployment also pushes to cloud-run-source-deploy and names _SERVICE_NAME: only a
    # build no trigger started can be gcloud's upload.
    source_deploy = not trigger and (tagged or any("cloud-run-source-deploy" in i for i in images))
    failure = build.get("failureInfo") or {}
    return BuilderEvidence(builder, evidence, docker if builder == "dockerfile" else None, service,
                           build.get("id"), build.get("status"), _region(build), builder_image, source_deploy,
                           failure.get("type"), failure.get("detail"), trigger, repo, commit, _timed_out_step(build))


def _timed_out_step(build: dict) -> str | None:
    """The step its own `timeout:` stopped. A build that hit its own timeout marks its running step TIMEOUT
    too, so only a build that ended otherwise (FAILURE) names one."""
    if build.get("status") == "TIMEOUT":
        return None
    for n, step in enumerate(build.get("steps") or []):
        if step.get("status") == "TIMEOUT":
            said = [str(step.get("id") or ""), f"timeout {step['timeout']}" if step.get("timeout") else ""]
            return f"step {n}" + (f" ({', '.join(w for w in said if w)})" if any(said) else "")
    return None


def _short_image(name: str) -> str:
    name = name.split("@", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and "." in parts[0]:
        parts = parts[1:]
    short = "/".join(parts)
    return short.removeprefix("cloud-builders/")


def _seconds(timing: dict | None) -> float | None:
    if not isinstance(timing, dict) or not timing.get("startTime") or not timing.get("endTime"):
        return None
    try:
        return round((pd.Timestamp(timing["endTime"]) - pd.Timestamp(timing["startTime"])).total_seconds(), 3)
    except (ValueError, TypeError):
        return None


def build_table(build: dict) -> pd.DataFrame:
    """One compact row per step: id, image, abbreviated args, status, exit code, duration in seconds."""
    build = _check_build(build)
    rows = []
    for n, step in enumerate(build.get("steps") or []):
        args = " ".join(str(a) for a in step.get("args", []) or [])
        if step.get("entrypoint"):
            args = f"{step['entrypoint']} {args}".strip()
        exit_code = step.get("exitCode")
        if exit_code is None and step.get("status") == "SUCCESS":
            exit_code = 0  # proto3 JSON leaves zero values out
        rows.append({"step": n, "id": step.get("id", ""), "name": _short_image(str(step.get("name", ""))),
                     "args": one_line(args, 80), "status": step.get("status", ""), "exit_code": exit_code,
                     "duration_s": _seconds(step.get("timing"))})
    frame = keyed_table(rows, ["step", "id", "name", "args", "status", "exit_code", "duration_s"])
    return frame.astype({"exit_code": "Int64", "duration_s": "Float64"})


def log_locations(build: dict) -> list[dict[str, str]]:
    """Where this build's log can be read, best first (bucket object, Cloud Logging filter, none)."""
    build = _check_build(build)
    build_id = build.get("id", "")
    logging_mode = (build.get("options") or {}).get("logging", "LOGGING_UNSPECIFIED")
    bucket = str(build.get("logsBucket") or "")
    out: list[dict[str, str]] = []
    if logging_mode == "NONE":
        return [{"kind": "none", "where": "options.logging is NONE: this build kept no log."}]
    if bucket and logging_mode not in ("CLOUD_LOGGING_ONLY", "STACKDRIVER_ONLY"):
        prefix = bucket if bucket.startswith("gs://") else f"gs://{bucket}"
        location = {"kind": "bucket", "where": f"{prefix.rstrip('/')}/log-{build_id}.txt"}
        if bucket.rstrip("/").endswith(".cloudbuild-logs.googleusercontent.com"):
            location["note"] = ("A 403 on this Google-owned default logs bucket is a permission or VPC Service "
                                "Controls matter, not a missing log; read the Cloud Logging copy instead.")
        out.append(location)
    if logging_mode != "GCS_ONLY":
        since = build.get("createTime") or build.get("startTime") or ""
        # the filter the kit sends (gcp/logs.py): it holds in whichever project Logs Explorer has open
        flt = f'log_id("cloudbuild") AND resource.type="build" AND resource.labels.build_id="{build_id}"'
        if since:
            flt += f' AND timestamp>="{since}"'
        out.append({"kind": "cloud-logging", "where": flt})
    return out


def build_summary(build: dict) -> dict[str, Any]:
    """Status, failure, timings, source, tags, images and where the log is, as plain values."""
    build = _check_build(build)
    failure = build.get("failureInfo") or {}
    storage = (build.get("source") or {}).get("storageSource") or {}
    source = None
    if storage.get("bucket"):
        source = f"gs://{storage['bucket']}/{storage.get('object', '')}"
        if storage.get("generation"):
            source += f"#{storage['generation']}"
    region = _region(build)
    build_id = build.get("id")
    created, started, finished = (build.get(k) for k in ("createTime", "startTime", "finishTime"))
    return {
        "id": build_id,
        "status": build.get("status"),
        "status_detail": build.get("statusDetail"),
        "failure_type": failure.get("type"),
        "failure_detail": failure.get("detail"),
        "region": region,
        "create_time": created,
        "start_time": started,
        "finish_time": finished,
        "queued_s": _seconds({"startTime": created, "endTime": started}),
        "duration_s": _seconds({"startTime": started, "endTime": finished}),
        "source": source,
        "tags": list(build.get("tags") or []),
        "images": list(build.get("images") or []),
        "logs_bucket": build.get("logsBucket"),
        "logging": (build.get("options") or {}).get("logging"),
        "log_locations": log_locations(build),
        "log_url": build.get("logUrl"),
        # gcloud looks in region "global" unless told otherwise; source deploys build in the service's region.
        "log_command": command_for(build),
    }


def compare_builds(build: dict, reference: dict, labels: tuple[str, str] = ("this build", "reference"),
                   source_bytes: tuple[int | None, int | None] = (None, None)) -> pd.DataFrame:
    """Side by side: a failed build and the sibling phase's last successful one (builder, steps, source)."""
    rows: dict[str, list[Any]] = {}
    for b, size in ((build, source_bytes[0]), (reference, source_bytes[1])):
        ev, summary, table = builder_evidence(b), build_summary(b), build_table(b)
        values = {
            "build": summary["id"], "status": summary["status"], "failure": summary["failure_type"],
            "service": ev.service, "builder": ev.builder, "dockerfile": ev.dockerfile,
            "builder_image": ev.builder_image, "steps": len(table),
            "step_images": ", ".join(table["name"]) if len(table) else "",
            "duration_s": summary["duration_s"], "source": summary["source"], "source_bytes": size,
            "images": ", ".join(summary["images"]), "tags": ", ".join(summary["tags"]),
        }
        for key, value in values.items():
            rows.setdefault(key, []).append(value)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(labels))
    frame["same"] = [a == b for a, b in zip(frame.iloc[:, 0], frame.iloc[:, 1])]
    return frame


# ----------------------------------------------------------------------------------------------
# a phase's last builds

LOOKED_AT = 100   # one page of Cloud Build's list: the last builds of a phase's service that runbook 01 reads


def service_build_tags(service: str) -> tuple[str, ...]:
    """The tags that mark a build of `service`, one list call each (builds.list matches every tag it is given):
    `gcloud run deploy --source`'s service_NAME, runbook 02's redeploy_NAME, and the bare NAME that Cloud Run's
    continuous deployment trigger tags its builds with, beside gcp-cloud-build-deploy-cloud-run."""
    return (f"service_{service}", f"redeploy_{service}", service)


def newest_first(builds: Iterable[dict]) -> list[dict]:
    """Builds by createTime, newest first; one whose time cannot be read goes last."""
    def created(build: dict) -> datetime:
        try:
            return parse_time(build.get("createTime") or "")
        except ValueError:
            return datetime.min.replace(tzinfo=timezone.utc)
    return sorted(builds, key=created, reverse=True)


def when(build: dict) -> str:
    """A build's start as the kit shows times: to the minute, in UTC (its createTime as given if unreadable)."""
    stamp = build.get("createTime") or ""
    try:
        return parse_time(stamp).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp or "an unknown time"


@dataclass
class BuildSearch:
    """The last builds of a phase's service in one region, newest first, read in one list call: its latest failed
    build, and the newest successful build after it (which replaced it)."""

    service: str
    region: str
    builds: list[dict]

    @property
    def failed(self) -> dict | None:
        return next((b for b in self.builds if b.get("status") in FAILED_STATUSES), None)

    @property
    def superseded_by(self) -> dict | None:
        failed = self.failed
        if failed is None:
            return None
        # The list is newest first, so every build before the failed one is later: no time parsing to get wrong.
        later = self.builds[:self.builds.index(failed)]
        return next((b for b in later if b.get("status") == "SUCCESS"), None)

    def looked_at(self) -> str:
        """"the last N builds looked at: 2 SUCCESS, the newest ID on DATE", or that there were none."""
        if not self.builds:
            tags = service_build_tags(self.service)
            return f"no build tagged {', '.join(tags[:-1])} or {tags[-1]} is there"
        counts = Counter(str(b.get("status")) for b in self.builds)
        newest = self.builds[0]
        return (f"the last {len(self.builds)} builds looked at: "
                f"{', '.join(f'{n} {status}' for status, n in counts.most_common())}, the newest "
                f"{newest.get('id')} on {when(newest)}")

    def table(self) -> pd.DataFrame:
        columns = ["id", "status", "created", "finished"]
        return pd.DataFrame([{"id": b.get("id"), "status": b.get("status"), "created": b.get("createTime", ""),
                              "finished": b.get("finishTime", "")} for b in self.builds], columns=columns)
