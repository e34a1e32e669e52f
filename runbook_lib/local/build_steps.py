"""The sandbox's emulated Cloud Build steps: what docker build and push and the Python buildpack would log,
and whether they fail, decided statically on the upload (preflight's checks); and reading a Cloud Build
config's steps (substitutions, docker build arguments)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..checks import read_yaml
from ..errors import ParameterError
from ..images import parse_image
from ..preflight import UploadSet, buildpacks_entrypoint_check, dockerfile_copy_check, parse_dockerfile
# (the builder the kit's own redeploy config names: the emulation reads that config)
from ..redeploy.plan import DOCKER_BUILDER

PACK_BUILDER = "gcr.io/k8s-skaffold/pack"
PYTHON_BUILDER_IMAGE = "us-docker.pkg.dev/serverless-runtimes/google-22-full/builder/python:latest"
BUILDPACKS_TAG = "gcp-runtimes-builder-python-google-22-full"


def _error_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


@dataclass
class StepPlan:
    """One emulated build step: its resource entry, its log lines, and whether it failed."""

    name: str
    args: list[str]
    lines: list[str]
    seconds: float
    failed: bool = False
    step_id: str | None = None
    entrypoint: str | None = None


def docker_steps(root: Path, dockerfile: str, image: str, upload: UploadSet,
                 source_deploy: bool) -> list[StepPlan]:
    """`docker build` of the upload (and, for a source deploy, its push): fails where docker would, on a
    missing Dockerfile or a COPY/ADD source the build context lacks."""
    build_args = ["build", "--network", "cloudbuild", "--no-cache", "-t", image, "."]
    if not source_deploy:
        build_args = ["build", "-t", image, "-f", dockerfile, "."]
    prefix = 'Step #0: '
    if dockerfile not in upload:
        lines = [f"{prefix}unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                 f"lstat /workspace/{dockerfile}: no such file or directory"]
        return [StepPlan(DOCKER_BUILDER, build_args, lines, 2.0, failed=True)]
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
            return [StepPlan(DOCKER_BUILDER, build_args, lines, 20.0 + 5 * k, failed=True)]
        if ins.keyword == "FROM":
            lines.append(f"{prefix}{ins.args.split()[0].split(':')[-1]}: Pulling from library/"
                         f"{ins.args.split()[0].split(':')[0]}")
        if ins.keyword == "RUN" and "pip install" in ins.args:
            lines.append(f"{prefix}Successfully installed -r requirements.txt")
        lines.append(f"{prefix} ---> {layer[k:k + 12]}")
    lines += [f"{prefix}Successfully built {layer[:12]}", f"{prefix}Successfully tagged {image}"]
    steps = [StepPlan(DOCKER_BUILDER, build_args, lines, 180.0)]
    if source_deploy:
        steps.append(push_step(image, pushed=True))
    return steps


def buildpacks_steps(root: Path, image: str, upload: UploadSet, env: dict) -> list[StepPlan]:
    """The Python buildpack's `pack build`: fails where its detection would (no Python, a bad version,
    no entrypoint)."""
    check = buildpacks_entrypoint_check(root, env, upload)
    pre = StepPlan(PACK_BUILDER, ["-c", f"chmod a+w /workspace && pack config default-builder {PYTHON_BUILDER_IMAGE}"],
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
        return [pre, StepPlan(PACK_BUILDER, args, lines, 30.0, failed=True, step_id="build", entrypoint="pack")]
    version_problem = "buildpacks-python-version" in check.expected_signatures
    if version_problem:
        lines += [f"{p}[detector] ======== Output: google.python.runtime@1.0.0 ========",
                  f"{p}[detector] failed to build: (error ID: {eid}):",
                  f"{p}[detector] invalid Python version specified: {check.python_version!r}",
                  f"{p}[detector] ERROR: No buildpack groups passed detection.",
                  f"{p}ERROR: failed to build: executing lifecycle: failed with status code: 20"]
        return [pre, StepPlan(PACK_BUILDER, args, lines, 40.0, failed=True, step_id="build", entrypoint="pack")]
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
        return [pre, StepPlan(PACK_BUILDER, args, lines, 776.0, failed=True, step_id="build", entrypoint="pack")]
    lines += [f"{p}[detector] pass: google.python.runtime@1.0.0", f"{p}[detector] pass: google.python.pip@0.9.2",
              f"{p}[detector] pass: google.python.entrypoint@0.9.0", f"{p}===> BUILDING",
              f"{p}=== Python - Entrypoint ({check.how})", f"{p}===> EXPORTING",
              f"{p}Successfully built image {image}"]
    return [pre, StepPlan(PACK_BUILDER, args, lines, 240.0, step_id="build", entrypoint="pack")]


def push_step(image: str, pushed: bool, args: list[str] | None = None, step_id: str | None = None,
              missing_repository: str | None = None) -> StepPlan:
    """`docker push`: fails as docker does on an image never built, and as Artifact Registry answers a push to
    a repository that does not exist (`missing_repository`: its name; a push never creates one)."""
    prefix = "Step #0: "
    args = args or ["push", image]
    digest = hashlib.sha256(image.encode()).hexdigest()
    refers = f"{prefix}The push refers to repository [{parse_image(image).repository}]"
    if not pushed:
        lines = [refers, f"{prefix}An image does not exist locally with the tag: {image}"]
        return StepPlan(DOCKER_BUILDER, args, lines, 1.0, failed=True, step_id=step_id)
    if missing_repository:
        lines = [refers, f"{prefix}{digest[:12]}: Preparing",
                 f'{prefix}name unknown: Repository "{missing_repository}" not found']
        return StepPlan(DOCKER_BUILDER, args, lines, 3.0, failed=True, step_id=step_id)
    lines = [refers, f"{prefix}latest: digest: sha256:{digest} size: 2417"]
    return StepPlan(DOCKER_BUILDER, args, lines, 18.0, step_id=step_id)


def docker_build_args(args: list[str]) -> tuple[str, str, str]:
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


def substitute(text: str, subs: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        key = m.group(1) or m.group(2)
        return subs.get(key, m.group(0))

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)", repl, text)


def load_config(config: dict | str | Path) -> dict:
    if isinstance(config, dict):
        doc = config
    else:
        doc = read_yaml(config, "config", "Cloud Build config (YAML or JSON)")
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list) or not doc["steps"]:
        raise ParameterError("config", str(config)[:80], "a Cloud Build config needs a non-empty steps list")
    return doc
