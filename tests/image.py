"""The kit's Docker image without a Docker engine: docker/runbook.Dockerfile read as instructions, and its
default command (ENTRYPOINT + CMD) run as a plain process in a folder laid out like the image's WORKDIR."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "runbook.Dockerfile"


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


def copy_sources(instructions) -> list[str]:
    """Every source path of the COPY and ADD instructions, in order."""
    sources = []
    for keyword, args in instructions:
        if keyword in ("COPY", "ADD"):
            parts = json.loads(args) if args.startswith("[") else [p for p in shlex.split(args) if not p.startswith("--")]
            assert len(parts) >= 2, args
            sources.extend(parts[:-1])
    return sources


def environment(instructions) -> dict[str, str]:
    """The ENV instructions' variables (KEY=VALUE form)."""
    found = {}
    for keyword, args in instructions:
        if keyword == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                found[key] = value
    return found


@dataclass
class ImageRun:
    workdir: Path          # stands in for the image's WORKDIR
    command: list[str]     # ENTRYPOINT + CMD as run
    env: dict[str, str]    # the image's ENV as given to it (WORKDIR moved), and the extra variables
    returncode: int
    stdout: str
    stderr: str

    def printed(self, label: str) -> Path:
        """The path printed after `label: ` (e.g. "Morning-review report")."""
        line = next(line for line in self.stdout.splitlines() if line.startswith(f"{label}: "))
        return Path(line.split(": ", 1)[1].strip())


def run_default_command(base: Path, extra_env: dict[str, str] | None = None, timeout: float = 900) -> ImageRun:
    """Run the image's ENTRYPOINT + CMD with this environment's `runbook` in `base/app`, a fresh WORKDIR:
    the folders the image copies and keeps (notebooks/, params/) linked in, the image's ENV with its
    WORKDIR moved there (so RUNBOOK_HOME is a fresh folder inside it)."""
    instructions = parse_dockerfile(DOCKERFILE.read_text())
    given = dict(instructions)
    workdir_in_image = given["WORKDIR"]
    workdir = base / "app"
    workdir.mkdir(parents=True)
    for source in copy_sources(instructions):
        if source.endswith("/") and source.rstrip("/") != "runbook_lib":   # the package is installed, not used from here
            (workdir / source.rstrip("/")).symlink_to(ROOT / source.rstrip("/"), target_is_directory=True)
    env = {key: value.replace(workdir_in_image, str(workdir), 1) if value.startswith(workdir_in_image) else value
           for key, value in environment(instructions).items()}
    entrypoint, cmd = json.loads(given["ENTRYPOINT"]), json.loads(given["CMD"])
    executable = shutil.which(entrypoint[0], path=str(Path(sys.executable).parent))
    assert executable, f"{entrypoint[0]} is not installed beside {sys.executable}"
    command = [executable, *entrypoint[1:], *cmd]
    env.update(extra_env or {})
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_")}
    done = subprocess.run(command, cwd=workdir, env={**inherited, **env}, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return ImageRun(workdir, command, env, done.returncode, done.stdout, done.stderr)
