"""The sandbox's source repository: a real git repo of a small pipeline, with the incident's history.

Commits are made with fixed authors, committers and dates and with the user's git configuration
shut out, so every machine gets the same commit ids: tests and notebooks can name them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotFoundError, ParameterError

TEMPLATE = Path(__file__).resolve().parent / "source_template"

# (template folder, commit message, commit date, role). The dates follow the incident's
# timeline: 476352a (Dec 29), 5ee366a (Dec 30) and a51aae7 (Dec 31) upstream. The head commit also
# corrects two computations (c3_deploy_tweaks/README.md, corrections.py), which is why a replay
# with its code differs from production in exactly those columns.
HISTORY = (
    ("c1_processors", "Phase 3/4 processors", "2025-12-29T21:48:12+00:00", "before_prefix"),
    ("c2_prefix", "Add dataset_prefix support to Phase 3 and Phase 4 processors",
     "2025-12-30T19:22:45+00:00", "prefix_support"),
    ("c3_deploy_tweaks", "Deploy script tweaks: lock services down, label revisions with commit-sha",
     "2025-12-31T01:36:09+00:00", "head"),
)
AUTHOR_NAME = "Pipeline Operator"
AUTHOR_EMAIL = "operator@sandbox.local"


@dataclass(frozen=True)
class SourceRepo:
    path: Path
    commits: dict[str, str] = field(default_factory=dict)   # role -> full sha

    def short(self, role: str) -> str:
        return self.commits[role][:7]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "commits": dict(self.commits)}


def _git_env(when: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        # No global/system config: hooks, signing, autocrlf or templates would change the ids.
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": AUTHOR_NAME, "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME, "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
        "LC_ALL": "C",
    })
    if when:
        env["GIT_AUTHOR_DATE"] = when
        env["GIT_COMMITTER_DATE"] = when
    return env


def git(repo: Path, *args: str, when: str | None = None) -> str:
    """Run git in `repo` isolated from the user's configuration; return stdout."""
    if shutil.which("git") is None:
        raise NotFoundError("The sandbox needs the git command on PATH to create its source repository.")
    proc = subprocess.run(["git", "-c", "core.autocrlf=false", "-c", "core.fileMode=true", *args],
                          cwd=repo, env=_git_env(when), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _copy_layer(layer: Path, dest: Path) -> None:
    for src in sorted(layer.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(layer)
        name = "." + rel.name[len("dot-"):] if rel.name.startswith("dot-") else rel.name
        target = dest / rel.parent / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
        # The mode is part of the tree id: set it explicitly rather than trusting the umask.
        target.chmod(0o755 if name.endswith(".sh") else 0o644)


def create_source_repo(path: str | Path, force: bool = False) -> SourceRepo:
    """Create the repository at `path` (or reuse it when its history is already the expected one)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError("source path", str(path), "give a folder path, not a file")
    if path.exists() and not force:
        existing = open_source_repo(path, missing_ok=True)
        if existing is not None:
            return existing
    # Built beside it and moved into place whole: an init stopped half-way (Ctrl-C in its first second) leaves
    # no half-made repository that the next init would have to take for someone else's folder.
    path.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{BUILDING_PREFIX}{path.name}-", dir=path.parent))
    try:
        git(building, "init", "--quiet", "--initial-branch=main")
        commits: dict[str, str] = {}
        for folder, message, when, role in HISTORY:
            _copy_layer(TEMPLATE / folder, building)
            git(building, "add", "--all")
            git(building, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message, when=when)
            commits[role] = git(building, "rev-parse", "HEAD")
        if path.exists():
            shutil.rmtree(path)
        building.rename(path)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return SourceRepo(path=path.resolve(), commits=commits)


# A repository being built (create_source_repo): one left by a process killed outright is the sandbox's to delete.
BUILDING_PREFIX = ".building-"


def open_source_repo(path: str | Path, missing_ok: bool = False) -> SourceRepo | None:
    """The existing repository at `path`, its roles found by commit message."""
    path = Path(path)
    if not (path / ".git").is_dir():
        if missing_ok:
            return None
        raise NotFoundError(f"No sandbox source repository at {path}; run `runbook sandbox init`.")
    try:
        log = git(path, "log", "--reverse", "--format=%H%x09%s", "main")
    except RuntimeError:
        if missing_ok:
            return None
        raise
    by_message = dict(reversed(line.split("\t", 1)) for line in log.splitlines() if "\t" in line)
    commits = {role: by_message.get(message) for _, message, _, role in HISTORY}
    if None in commits.values():
        if missing_ok:
            return None
        raise NotFoundError(f"The repository at {path} does not have the sandbox's history; reset the sandbox.")
    return SourceRepo(path=path.resolve(), commits=commits)


# The commit whose processors carry the corrected computations of corrections.py.
CORRECTIONS_ROLE = "head"


def contains(repo: SourceRepo, role: str, commit: str) -> bool:
    """Does code at `commit` contain the commit with that role (itself or a descendant)?"""
    try:
        git(repo.path, "merge-base", "--is-ancestor", repo.commits[role], commit)
    except RuntimeError:
        return False
    return True


def supports_prefix(repo: SourceRepo, commit: str) -> bool:
    """Does code at `commit` honour dataset_prefix, i.e. does it contain the prefix commit?"""
    return contains(repo, "prefix_support", commit)
