"""What a Cloud Build step builds with: its commands, read from the step's image, entrypoint, args or script,
and what each says about the builder (a Dockerfile build and its Dockerfile, or buildpacks and their builder).

Two tables decide it, not branches: the program a step image runs when the step names no entrypoint, and the
leading words of a command that build an image. A `--builder` flag means buildpacks only on `pack build`
(`docker buildx build --builder NAME` names a buildx builder instance, and is a Dockerfile build). In a shell
step (`bash -c "docker build ... && docker push ..."`) each command ends at a shell operator
(shell_words.py reads the script).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..images import parse_image
from ..shell_words import simple_commands, without_prefix

# (image without tag or digest, as a full-match pattern; the program it runs with no entrypoint; the builder the
# image implies whatever it runs). gcb-internal runs what its args say (`docker build ...`, newer gcloud source
# deploys); the buildpacks builder images run the lifecycle directly.
_STEP_IMAGES: tuple[tuple[str, str | None, str | None], ...] = (
    (r"(.+/)?docker", "docker", None),
    (r".+/cloud-builders/gcb-internal", None, None),
    (r"(.+/)?kaniko-project/executor", "executor", None),   # gcloud's builds/kaniko_image
    (r"(.+/)?(k8s-skaffold|buildpacksio)/pack", "pack", "buildpacks"),   # the pack image gcloud uses, pack's own
    (r".+/serverless-runtimes/.+", None, "buildpacks"),
    (r"(.+/)?buildpacks/builder(/.+)?", None, "buildpacks"),
)
_SHELLS = ("sh", "bash", "ash", "dash", "zsh")


@dataclass(frozen=True)
class BuildCommand:
    """A command in a step that builds an image."""

    kind: str                   # dockerfile | buildpacks
    words: str                  # the leading words that decided it, e.g. `docker buildx build`
    args: list[str]             # the rest of the command
    dockerfile: str | None      # a Dockerfile build's Dockerfile, relative to /workspace
    builder_image: str | None   # a buildpacks build's builder image, when named


def image_rule(image: str) -> tuple[str | None, str | None]:
    """(the program this step image runs with no entrypoint, the builder the image implies by itself)."""
    bare = parse_image(image).repository
    for pattern, program, kind in _STEP_IMAGES:
        if re.fullmatch(pattern, bare):
            return program, kind
    return None, None


def step_commands(step: dict) -> list[list[str]]:
    """The commands a step runs, each as its words: a shell script split at its operators, else one command."""
    args = [str(a) for a in step.get("args", []) or []]
    entry = str(step.get("entrypoint") or "")
    if step.get("script"):
        return [command.words for command in simple_commands(str(step["script"]))]
    if entry.rsplit("/", 1)[-1] in _SHELLS:
        script = _shell_c_argument(args)
        return [command.words for command in simple_commands(script)] if script is not None else [[entry] + args]
    if entry:
        return [[entry] + args]
    program, _ = image_rule(str(step.get("name", "")))
    if args and _program(args[0]) in _PROGRAMS:
        return [args]                       # gcb-internal: `docker build ...` as its args
    return [[program] + args] if program else [args]


def build_commands(step: dict) -> list[BuildCommand]:
    """Each command of the step that builds an image, read by the table below."""
    found = []
    for words in step_commands(step):
        words = without_prefix(words)
        if not words:
            continue
        command = [_program(words[0])] + words[1:]
        for leading, kind, read in _BUILD_COMMANDS:
            if tuple(command[:len(leading)]) == leading:
                rest = command[len(leading):]
                dockerfile, builder_image = read(rest)
                found.append(BuildCommand(kind, " ".join(leading), rest, dockerfile, builder_image))
                break
    return found


# ---- shell steps --------------------------------------------------------------------------------

def _shell_c_argument(args: list[str]) -> str | None:
    """The script of `sh -c SCRIPT` (also `-ec`, `-euxo pipefail -c`)."""
    for k, a in enumerate(args):
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:] and k + 1 < len(args):
            return args[k + 1]
    return None


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


# ---- reading each build command ------------------------------------------------------------------

def _workspace_rel(path: str) -> str:
    """A path in the build's /workspace, relative to it (`.` for the workspace itself)."""
    path = re.sub(r"^(/workspace)(/|$)", "", path).removeprefix("./").rstrip("/")
    return path or "."


def _in_context(context: str, name: str = "Dockerfile") -> str:
    context = _workspace_rel(context)
    return name if context == "." else f"{context}/{name}"


# docker build and buildx build flags that take a value (the rest are switches: --push, --load, --no-cache,
# --pull, -q, --rm, --squash, ...; --provenance and --sbom take one only as --flag=value).
_DOCKER_VALUE_FLAGS = frozenset({
    "-t", "--tag", "--build-arg", "--network", "--cache-from", "--cache-to", "--label", "--target", "--platform",
    "--secret", "--ssh", "--progress", "--iidfile", "--add-host", "-m", "--memory", "--memory-swap",
    "--shm-size", "--builder", "-o", "--output", "--allow", "--annotation", "--attest", "--build-context",
    "--call", "--cgroup-parent", "--metadata-file", "--no-cache-filter", "--ulimit", "--isolation",
    "--security-opt", "-c", "--cpu-shares", "--cpu-period", "--cpu-quota", "--cpuset-cpus", "--cpuset-mems",
})


def _docker_dockerfile(args: list[str]) -> tuple[str, None]:
    """`docker build` / `docker buildx build`: the -f file, else Dockerfile at the top of the context (the one
    positional argument)."""
    dockerfile, positional, k = None, [], 0
    while k < len(args):
        a = args[k]
        if a in ("-f", "--file") and k + 1 < len(args):
            dockerfile, k = args[k + 1], k + 2
            continue
        if a.startswith("--file="):
            dockerfile = a.split("=", 1)[1]
        elif a.startswith("-f") and not a.startswith("--") and len(a) > 2:
            dockerfile = a[2:].removeprefix("=")     # -fPATH and -f=PATH, as docker's flag parser reads them
        elif a in _DOCKER_VALUE_FLAGS:
            k += 1
        elif not a.startswith("-"):
            positional.append(a)
        k += 1
    if dockerfile:
        return _workspace_rel(dockerfile), None
    return _in_context(positional[-1] if positional else "."), None


def _flag_value(args: list[str], *names: str) -> str | None:
    """The last value of a flag given as `--name value`, `--name=value` (or `-x value`)."""
    value = None
    for k, a in enumerate(args):
        for name in names:
            if a == name and k + 1 < len(args):
                value = args[k + 1]
            elif a.startswith(name + "="):
                value = a.split("=", 1)[1]
    return value


def _kaniko_dockerfile(args: list[str]) -> tuple[str, None]:
    """kaniko's executor: --dockerfile (default Dockerfile) in --context (default dir:///workspace/), as
    `gcloud builds submit --tag` runs it with builds/use_kaniko (submit_util._SetBuildSteps)."""
    dockerfile = _flag_value(args, "--dockerfile", "-f")
    context = (_flag_value(args, "--context", "-c") or "dir:///workspace").removeprefix("dir://")
    if dockerfile:
        return _workspace_rel(dockerfile), None
    return _in_context(context), None


def _pack_builder(args: list[str]) -> tuple[None, str | None]:
    """`pack build IMAGE --builder NAME` (or -B): buildpacks, with that builder image."""
    return None, _flag_value(args, "--builder", "-B")


def _pack_default_builder(args: list[str]) -> tuple[None, str | None]:
    """`pack config default-builder IMAGE` (gcloud's pre-buildpack step): the builder the next `pack build` uses."""
    return None, args[0] if args else None


# (leading words of a command, the builder it means, how to read the rest)
_BUILD_COMMANDS: tuple[tuple[tuple[str, ...], str, Callable[[list[str]], tuple[str | None, str | None]]], ...] = (
    (("docker", "build"), "dockerfile", _docker_dockerfile),
    (("docker", "image", "build"), "dockerfile", _docker_dockerfile),
    (("docker", "builder", "build"), "dockerfile", _docker_dockerfile),
    (("docker", "buildx", "build"), "dockerfile", _docker_dockerfile),
    (("docker", "buildx", "b"), "dockerfile", _docker_dockerfile),
    (("executor",), "dockerfile", _kaniko_dockerfile),
    (("pack", "build"), "buildpacks", _pack_builder),
    (("pack", "config", "default-builder"), "buildpacks", _pack_default_builder),
    (("pack", "set-default-builder"), "buildpacks", _pack_default_builder),
)
_PROGRAMS = {leading[0] for leading, _, _ in _BUILD_COMMANDS}
