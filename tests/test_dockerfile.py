"""The kit's own image (no Docker engine here): checked statically (it parses, every file it copies exists,
the dependencies' layer depends on pyproject.toml alone, its entrypoint is the installed `runbook` command,
its default is `make demo`'s command), and its default command run as a plain process (tests/image.py)."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from image import DOCKERFILE, ROOT, copy_sources, parse_dockerfile
from runbook_lib import demo
from runbook_lib.local.home import sandbox_home
from runbook_lib.local.processes import pid_alive, read_run_file

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}


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


def test_every_copied_file_exists_in_the_repository(instructions):
    sources = copy_sources(instructions)
    assert {"pyproject.toml", "README.md", "runbook_lib/", "notebooks/", "params/"} <= set(sources)
    for source in sources:
        assert not Path(source).is_absolute() and ".." not in Path(source).parts, source
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_dependencies_are_installed_before_the_code_then_the_kit_without_them(instructions):
    """A code edit must not reinstall the dependencies: they come from pyproject.toml alone, in a layer
    built before anything else of the kit is copied; the kit is then installed with --no-deps."""
    keywords = [keyword for keyword, _ in instructions]
    copies = [(k, args) for k, (keyword, args) in enumerate(instructions) if keyword in ("COPY", "ADD")]
    first_copy, first_args = copies[0]
    assert first_args.split() == ["pyproject.toml", "./"]
    deps = instructions[first_copy + 1]
    assert deps[0] == "RUN" and "tomllib" in deps[1] and "['project']['dependencies']" in deps[1]
    install = next(k for k, (keyword, args) in enumerate(instructions) if keyword == "RUN" and "pip install" in args
                   and k > first_copy + 1)
    assert instructions[install][1] == "pip install --no-deps ."
    code = next(k for k, args in copies if args.startswith("runbook_lib/"))
    assert first_copy + 1 < code < install and keywords.count("FROM") == 1


def test_the_entrypoint_is_the_kits_console_script(instructions):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = json.loads(dict(instructions)["ENTRYPOINT"])
    assert entrypoint == ["runbook"] and "runbook" in scripts
    assert scripts["runbook"] == "runbook_lib.cli:main"


def test_the_default_command_is_the_demo_make_demo_runs(instructions):
    """The image's default and `make demo` call the one command, so they cannot drift."""
    assert json.loads(dict(instructions)["CMD"]) == ["demo"]
    make_demo = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert [line.strip() for line in make_demo.splitlines()[1:]] == ["$(VENV)/bin/runbook demo"]
    plan = ROOT / demo.SANDBOX_PLAN
    assert plan.is_file() and "steps" in yaml.safe_load(plan.read_text())
    assert demo.SANDBOX_PLAN.parts[0] + "/" in copy_sources(instructions)   # the image has the plan


@pytest.mark.slow
def test_the_default_command_runs_the_demo_in_a_fresh_container(demo_night):
    """ENTRYPOINT + CMD as a plain process in a fresh RUNBOOK_HOME (tests/image.py; the night is shared with
    test_overnight_fix): the sandbox is made, the night runs and finds the incident, the report's path is
    printed, the command exits 0 and no service it started is left running."""
    run = demo_night.run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert demo.FOUND_THE_INCIDENT in run.stdout
    report = run.printed("Morning-review report")
    assert report.is_file() and report.is_relative_to(run.workdir / "reports")
    assert run.printed("Every night").is_file()
    assert demo_night.home.is_relative_to(run.workdir) and (demo_night.home / "state.json").is_file()
    box = sandbox_home(demo_night.home)
    assert [phase for phase in ("phase3", "phase4") if pid_alive((read_run_file(box, phase) or {}).get("pid"))] == []


def test_the_cloud_build_config_builds_this_dockerfile():
    config = yaml.safe_load((ROOT / "docker" / "cloudbuild-runbook.yaml").read_text())
    args = config["steps"][0]["args"]
    assert args[:3] == ["build", "-f", "docker/runbook.Dockerfile"] and args[-1] == "."
    assert (ROOT / args[2]).is_file()
    # It is run with `gcloud builds submit`, which sets no commit: a tag made of $SHORT_SHA would be empty.
    text = (ROOT / "docker" / "cloudbuild-runbook.yaml").read_text().split("\nsteps:", 1)[1]
    trigger_only = ("COMMIT_SHA", "SHORT_SHA", "REVISION_ID", "BRANCH_NAME", "TAG_NAME", "REF_NAME", "REPO_NAME")
    assert not [name for name in trigger_only if name in text]
    assert "${PROJECT_ID}" not in config["substitutions"]["_IMAGE"] or config["options"]["dynamicSubstitutions"]
    # the README makes the repository and the job in the region it builds in: the image goes there, not us-west2
    assert config["substitutions"]["_IMAGE"].startswith("${LOCATION}-docker.pkg.dev/${PROJECT_ID}/runbooks/")


def test_the_installed_kit_is_pointed_at_the_copied_phase_registry(instructions):
    """pip installs runbook_lib into site-packages, away from params/: RUNBOOK_PHASES must name the
    copied phases.yaml under the image's working folder."""
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    workdir = next(args for keyword, args in instructions if keyword == "WORKDIR")
    assert f"RUNBOOK_PHASES={workdir}/params/phases.yaml" in env
    assert "params/" in copy_sources(instructions) and (ROOT / "params" / "phases.yaml").is_file()
