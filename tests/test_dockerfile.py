"""The kit's own image, checked statically (no Docker engine here): it parses, every file it copies
exists, its entrypoint is the installed `runbook` command, and its default plan exists."""
from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "runbook.Dockerfile"
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and line continuations joined."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def instructions():
    return parse_dockerfile(DOCKERFILE.read_text())


def test_parser_rejects_what_docker_would():
    assert parse_dockerfile("FROM x\nRUN a \\\n  && b\n") == [("FROM", "x"), ("RUN", "a && b")]
    with pytest.raises(AssertionError):
        parse_dockerfile("FROM x\nRUN a \\\n")


def test_it_parses_and_starts_from_python_311(instructions):
    assert all(keyword in INSTRUCTIONS for keyword, _ in instructions), instructions
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert sum(1 for keyword, _ in instructions if keyword == "FROM") == 1


def _copy_sources(instructions) -> list[str]:
    sources = []
    for keyword, args in instructions:
        if keyword in ("COPY", "ADD"):
            if args.startswith("["):
                parts = json.loads(args)
            else:
                parts = [p for p in shlex.split(args) if not p.startswith("--")]
            assert len(parts) >= 2, args
            sources.extend(parts[:-1])
    return sources


def test_every_copied_file_exists_in_the_repository(instructions):
    sources = _copy_sources(instructions)
    assert {"pyproject.toml", "README.md", "runbook_lib/", "notebooks/", "params/"} <= set(sources)
    for source in sources:
        assert not Path(source).is_absolute() and ".." not in Path(source).parts, source
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_package_is_installed_and_the_entrypoint_is_its_console_script(instructions):
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install ." in runs
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = json.loads(dict(instructions)["ENTRYPOINT"])
    assert entrypoint == ["runbook"] and "runbook" in scripts
    assert scripts["runbook"] == "runbook_lib.cli:main"


def test_the_default_command_runs_an_existing_overnight_plan(instructions):
    command = json.loads(dict(instructions)["CMD"])
    assert command[0] == "overnight"
    plan = ROOT / command[1]
    assert plan.is_file() and "steps" in yaml.safe_load(plan.read_text())


def test_the_cloud_build_config_builds_this_dockerfile():
    config = yaml.safe_load((ROOT / "docker" / "cloudbuild-runbook.yaml").read_text())
    args = config["steps"][0]["args"]
    assert args[:3] == ["build", "-f", "docker/runbook.Dockerfile"] and args[-1] == "."
    assert (ROOT / args[2]).is_file()


def test_the_installed_kit_is_pointed_at_the_copied_phase_registry(instructions):
    """pip installs runbook_lib into site-packages, away from params/: RUNBOOK_PHASES must name the
    copied phases.yaml under the image's working folder."""
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    workdir = next(args for keyword, args in instructions if keyword == "WORKDIR")
    assert f"RUNBOOK_PHASES={workdir}/params/phases.yaml" in env
    assert "params/" in _copy_sources(instructions) and (ROOT / "params" / "phases.yaml").is_file()
