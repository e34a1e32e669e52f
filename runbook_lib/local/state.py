"""The sandbox state file: what Cloud Run would hold (services, revisions, traffic, IAM policies), the
source repository's commits and whether the sandbox is initialised.

Service processes read it on every request, so it is written atomically and changed under a lock.
Also here: what a runbook needs of a sandbox before it reads one (initialised, an intact warehouse,
writable), the lock init and reset hold while they build, and the processes using the sandbox, which
reset will not pull it away from.
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..checks import check_path
from ..errors import NotFoundError, ParameterError, RunbookError
from ..files import write_whole

# Processes using the sandbox (a runbook's kernel between connect and close) each hold a lock on a
# file of their own here; `sandbox reset` counts the held ones and refuses while there are any.
USERS_DIR = "users"


class SandboxDamaged(RunbookError):
    """A file the sandbox keeps cannot be read (emptied by a full disk, cut short by a crash, edited by hand)."""


def read_json_file(path: Path, root: Path, default: dict | list) -> dict | list:
    """A JSON file the sandbox keeps, of `default`'s kind (`default` when it is not there); one sentence naming it
    and `sandbox reset` when it cannot be read or holds another kind of value, never a JSONDecodeError traceback."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (ValueError, UnicodeDecodeError) as exc:   # (json.JSONDecodeError is a ValueError)
        value, why = None, "it is empty" if not Path(path).stat().st_size else exc
    else:
        why = f"it holds no JSON {type(default).__name__}"
    if isinstance(value, type(default)):
        return value
    raise SandboxDamaged(f"The sandbox's {path} cannot be read ({why}): run `runbook sandbox reset --home "
                         f"{shlex.quote(str(root))}` to rebuild the sandbox.")


def read_state(home) -> dict:
    """The sandbox state (empty when the sandbox was never initialised); SandboxDamaged when it cannot be read."""
    return read_json_file(home.state_file, home.root, {})


def write_state(home, state: dict) -> None:
    """Write atomically: readers (the service processes) never see half a file."""
    write_whole(Path(home.state_file), json.dumps(state, indent=2, sort_keys=True) + "\n", make_parents=True)


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


# What a service record holds that is not the Cloud Run service itself: the kit's own mark of a process changing it,
# its IAM policy (a resource of its own, with its own etag) and which process serves a tag now.
_NOT_THE_SERVICE = ("rollout", "iam_policy", "tags")


def service_etag(record: dict) -> str:
    """Cloud Run's Service.etag for a sandbox service: a fingerprint of its revisions, traffic and tags (which
    revision each names), so any deploy, traffic or tag change and a revision turning ready change it; a tag's
    process starting or stopping does not, nor does IAM."""
    service = {k: v for k, v in record.items() if k not in _NOT_THE_SERVICE}
    service["tags"] = {tag: entry.get("revision") for tag, entry in sorted(record.get("tags", {}).items())}
    digest = hashlib.sha256(json.dumps(service, sort_keys=True, default=str).encode()).digest()
    return base64.b64encode(digest[:9]).decode()


def refuse_if_changed(record: dict, etag: str | None, what: str) -> None:
    """ServiceChanged, `what` named, when `etag` was given and the service no longer matches it; call it under the
    state lock, before changing anything, so the check and the change are one step for every other process."""
    from ..services import ServiceChanged

    if etag and service_etag(record) != etag:
        raise ServiceChanged.since(what, record["service"], etag)


def require_services_state(home) -> dict:
    state = read_state(home)
    if not state.get("services"):
        raise NotFoundError(f"The sandbox at {home.root} is not initialised; run `runbook sandbox init`.")
    return state


def require_initialised(home, parameter: str = "sandbox_home", shown: str | None = None,
                        state: dict | None = None) -> dict:
    """A read-only runbook never creates a sandbox: refuse a folder that is not an initialised one.
    Returns the sandbox state (`state`: as the caller read it already, else read here, once)."""
    root = check_path(parameter, home.root, shown)
    if root.exists() and not root.is_dir():
        raise ParameterError(parameter, shown or str(root), "give a sandbox folder; this is a file")
    state = read_state(home) if state is None else state
    folder = shlex.quote(str(root))   # the commands below are meant to be pasted into a shell
    if not state.get("initialised"):
        raise ParameterError(parameter, shown or str(root),
                             f"give an initialised sandbox folder (run `runbook sandbox init --home {folder}` first)")
    problem = warehouse_problem(home)
    if problem:
        raise ParameterError(parameter, shown or str(root), f"its warehouse {home.warehouse} {problem}; "
                             f"run `runbook sandbox reset{'' if shown is None else f' --home {folder}'}` to rebuild it")
    return state


def warehouse_problem(home) -> str | None:
    """What is wrong with the sandbox's warehouse file ("is missing", "is truncated ..."), or None."""
    from .duckdb_file import file_problem

    return file_problem(Path(home.warehouse))


def unwritable(path: Path) -> str | None:
    """Why this user cannot write in the folder `path` (a read-only file system, permissions), or None."""
    if not os.access(path, os.W_OK | os.X_OK):
        return "read-only file system" if _read_only_file_system(path) else "permission denied"
    return None


def _read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def require_writable(home, parameter: str = "sandbox_home", shown: str | None = None) -> None:
    """Runbooks take lock files in the sandbox and start its services there: refuse a folder they
    cannot write in, in one sentence, before anything runs."""
    for folder in (Path(home.root), Path(home.run)):
        problem = unwritable(folder) if folder.is_dir() else None
        if problem:
            raise ParameterError(parameter, shown or str(home.root),
                                 f"give a sandbox folder this user can write in: runbooks take lock files and start "
                                 f"services there, and {folder} is not writable ({problem})")


class SandboxInUse(RunbookError):
    """`sandbox reset` (or init --force) while runbooks are using the sandbox."""


@contextmanager
def sandbox_lock(home, shared: bool = False) -> Iterator[None]:
    """init and reset hold it exclusively while they build; a runbook holds it shared while it
    registers as a user, so it never connects to a half-built sandbox."""
    with open(_init_lock(home), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _init_lock(home) -> Path:
    return Path(home.root) / "init.lock"


def wait_for_rebuild(home) -> bool:
    """Wait for an init or reset rebuilding the sandbox now (it holds init.lock exclusively, its state file gone
    until it ends); True if there was one to wait for."""
    try:
        fh = open(_init_lock(home), "r")
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Waiting for the sandbox at {home.root} to finish being rebuilt (runbook sandbox init or reset)...",
                  file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_SH)
            return True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def register_user(home) -> Callable[[], None]:
    """Mark this process as using the sandbox until the returned `release()` is called (or the
    process ends: the lock goes with it). Waits for a running init or reset to finish first."""
    folder = Path(home.run) / USERS_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with sandbox_lock(home, shared=True):
            path = folder / f"{os.getpid()}-{os.urandom(4).hex()}.lock"
            fh = open(path, "w")
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise ParameterError("home", str(home.root), f"give a sandbox folder this user can write in "
                             f"({(exc.strerror or str(exc)).lower()})") from None

    def release() -> None:
        if not fh.closed:
            path.unlink(missing_ok=True)
            fh.close()

    return release


class NightInProgress(RunbookError):
    """A second overnight on a sandbox another night is using."""


NIGHT_LOCK = "night.lock"


@contextmanager
def night_on(home, holder: dict) -> Iterator[None]:
    """One overnight at a time on a sandbox. The night holds run/night.lock, with `holder` (its pid, plan,
    start) written in it, and is a user of the sandbox from its first step to its last, so `sandbox reset`
    never pulls the sandbox away between two steps. A second night is refused at once, naming the first:
    otherwise each would redeploy under the other, and the replay and comparison would read the other's
    revisions. A folder that is no sandbox, or one this user cannot write in, is left to the steps to say; one a
    reset is rebuilding (its state file gone until it ends) is waited for first, never run on without the lock.
    A record left by a night that ended without releasing the lock (killed) is said, then replaced."""
    if not Path(home.state_file).is_file() and not (wait_for_rebuild(home) and Path(home.state_file).is_file()):
        yield
        return
    path = Path(home.run) / NIGHT_LOCK
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
    except OSError:
        yield
        return
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise NightInProgress(f"Another overnight is using the sandbox at {home.root} "
                                  f"({_holder_text(fh.read())}): wait for it to finish, or stop it, then run this "
                                  f"night again.") from None
        fh.seek(0)
        left = fh.read()
        if left.strip():   # the lock is free, so its holder is gone: it never reached its end
            print(f"warning: the previous night on the sandbox at {home.root} ({_holder_text(left)}) ended without "
                  "releasing it: it was killed (SIGKILL, the OOM killer, a reboot), and its page is INCOMPLETE.",
                  file=sys.stderr, flush=True)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(holder))
        fh.flush()
        release = register_user(home)
        try:
            yield
        finally:
            release()
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _holder_text(text: str) -> str:
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    if not isinstance(holder, dict):
        return "it has not said which yet"
    said = [f"pid {holder.get('pid')}", f"plan {holder.get('plan')!r}", f"started {holder.get('started')}",
            f"writing to {holder.get('reports')}"]
    return ", ".join(said)


def other_users(home) -> list[int]:
    """Pids of the other processes using the sandbox now; stale files (their process ended) are removed."""
    folder = Path(home.run) / USERS_DIR
    pids = []
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else []:
        pid = int(path.name.split("-", 1)[0]) if path.name.split("-", 1)[0].isdigit() else 0
        if pid == os.getpid():
            continue
        try:
            with open(path, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pids.append(pid)
            continue
        except OSError:
            continue
        path.unlink(missing_ok=True)
    return pids


def refuse_if_in_use(home) -> None:
    """Call holding sandbox_lock: refuse while other processes are using the sandbox."""
    pids = other_users(home)
    if pids:
        runs = "1 run is" if len(pids) == 1 else f"{len(pids)} runs are"
        raise SandboxInUse(f"{runs} using the sandbox at {home.root} (pid {', '.join(map(str, pids))}); wait for "
                           f"{'it' if len(pids) == 1 else 'them'} to finish (or stop {'it' if len(pids) == 1 else 'them'}"
                           f", or close the JupyterLab kernel), then run this again.")
