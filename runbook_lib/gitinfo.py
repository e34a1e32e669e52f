"""Questions about a pipeline checkout answered by git itself."""
from __future__ import annotations

import subprocess
from pathlib import Path


def commit_contains(repo: str | Path, commit: str, ancestor: str) -> bool | None:
    """Does `commit`'s history include `ancestor`? None when the checkout cannot tell
    (not a git repo, or either commit unknown to it)."""
    repo = Path(repo)
    if not (repo / ".git").exists():
        return None
    for sha in (commit, ancestor):
        known = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                               capture_output=True)
        if known.returncode != 0:
            return None
    answer = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor, commit],
                            capture_output=True)
    return answer.returncode == 0
