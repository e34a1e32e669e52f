"""The sandbox state file: what Cloud Run would hold (services, revisions, traffic, IAM policies), the
source repository's commits and whether the sandbox is initialised.

Service processes read it on every request, so it is written atomically and changed under a lock.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import NotFoundError, ParameterError


def read_state(home) -> dict:
    """The sandbox state (empty when the sandbox was never initialised)."""
    try:
        return json.loads(Path(home.state_file).read_text())
    except FileNotFoundError:
        return {}


def write_state(home, state: dict) -> None:
    """Write atomically: readers (the service processes) never see half a file."""
    path = Path(home.state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def state_lock(home) -> Iterator[None]:
    """Serialise read-modify-write of the state file across processes."""
    lock = Path(home.root) / "state.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def require_services_state(home) -> dict:
    state = read_state(home)
    if not state.get("services"):
        raise NotFoundError(f"The sandbox at {home.root} is not initialised; run `runbook sandbox init`.")
    return state


def is_initialised(home) -> bool:
    return bool(read_state(home).get("initialised"))


def require_initialised(home, parameter: str = "sandbox_home", shown: str | None = None) -> None:
    """A read-only runbook never creates a sandbox: refuse a folder that is not an initialised one."""
    root = Path(home.root)
    if root.exists() and not root.is_dir():
        raise ParameterError(parameter, shown or str(root), "give a sandbox folder; this is a file")
    if not is_initialised(home):
        raise ParameterError(parameter, shown or str(root),
                             f"give an initialised sandbox folder (run `runbook sandbox init --home {root}` first)")
