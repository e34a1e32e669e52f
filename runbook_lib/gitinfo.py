"""Questions about a pipeline checkout answered by git itself."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from .errors import ParameterError, RunbookError


def commit_contains(repo: str | Path, commit: str, ancestor: str) -> bool | None:
    """Does `commit`'s history include `ancestor`? None when the checkout cannot tell
    (not a git repo, or either commit unknown to it)."""
    repo = Path(repo)
    if not is_checkout(repo) or not all(has_commit(repo, sha) for sha in (commit, ancestor)):
        return None
    answer = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor, commit],
                            capture_output=True)
    return answer.returncode == 0


def is_checkout(repo: str | Path) -> bool:
    return (Path(repo) / ".git").exists()


def has_commit(repo: str | Path, sha: str) -> bool:
    """Has the checkout fetched `sha`? False for a folder that is not a checkout."""
    if not sha or sha.startswith("-") or not is_checkout(repo):   # (a leading "-" would be read as an option)
        return False
    return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                          capture_output=True).returncode == 0


def _git(repo: str | Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def resolve_commit(repo: str | Path, ref: str, parameter: str = "commit") -> str:
    """The full id of `ref` (a sha, branch or tag) in the checkout; a ParameterError when it has none."""
    if not (Path(repo) / ".git").exists():
        raise ParameterError("source_dir", str(repo), "give a git checkout of the pipeline (it has no .git)")
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") if ref and not ref.startswith("-") else None
    if done is None or done.returncode != 0 or not done.stdout.strip():
        raise ParameterError(parameter, ref, f"give a commit that exists in {repo} (a sha, branch or tag), "
                             "or leave it empty for the checkout's HEAD")
    return done.stdout.strip()


def branch_of(repo: str | Path, commit: str) -> str:
    """The branch a commit is on: the checked-out branch when it contains the commit, else the first local
    branch that does, else "detached"."""
    current = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD").stdout.strip()
    containing = _git(repo, "branch", "--format=%(refname:short)", "--contains", commit).stdout.split()
    if current and current in containing:
        return current
    return containing[0] if containing else "detached"


def tracked_in(repo: str | Path, commit: str, path: str) -> bool:
    """Is `path` part of the commit's tree?"""
    return _git(repo, "cat-file", "-e", f"{commit}:{path}").returncode == 0


def export_tree(repo: str | Path, commit: str, dest: str | Path) -> Path:
    """The commit's tree exactly (`git archive COMMIT | tar -x -C DEST`): no untracked or changed files."""
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True)
    if archive.returncode != 0:
        raise RunbookError(f"git archive {commit} failed in {repo}: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "data" filter (Python 3.11.4+) refuses links and paths that leave dest; git archive makes none.
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return Path(dest)
