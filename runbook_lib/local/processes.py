"""The sandbox's service processes: which pids are ours, starting records, stopping them.

Each phase service is a separate process (`python -m runbook_lib.local.service_app`) on 127.0.0.1; its
pid and port are recorded under the sandbox's run/ folder. A pid is only ever signalled after its command
line shows it is one of ours (of this sandbox), so a recycled pid is never killed.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from ..files import write_whole

APP_MODULE = "runbook_lib.local.service_app"
STOP_TIMEOUT_S = 5.0
# The id of the run whose kernel started a service (set by the runner, inherited by the service,
# which writes it into its run file), so the runner can stop what its run left running.
STARTED_BY_ENV = "RUNBOOK_RUN_ID"

# Processes this Python process started: pid -> Popen, so they can be reaped (no zombies)
# and so a test session can stop every one of them at the end.
_CHILDREN: dict[int, subprocess.Popen] = {}


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [p for p in raw.decode(errors="replace").split("\0") if p]
    except OSError:
        pass
    if Path("/proc").is_dir():
        return []
    proc = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return proc.stdout.split()


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def pid_alive(pid: object) -> bool:
    """Is `pid` a live process (not a zombie), whoever's it is?"""
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and _alive(pid)


def is_our_process(pid: int, home_root: str | Path | None = None) -> bool:
    """Is `pid` a live phase service process (of the sandbox at `home_root`, if given)?"""
    if not isinstance(pid, int) or pid <= 1 or not _alive(pid):
        return False
    args = command_line(pid)
    if APP_MODULE not in args:
        return False
    if home_root is None:
        return True
    return "--home" in args and args.index("--home") + 1 < len(args) and \
        Path(args[args.index("--home") + 1]) == Path(home_root)


def terminate(pid: int, home_root: str | Path | None = None) -> bool:
    """Stop one of our service processes; never signals a pid that is not ours."""
    if not is_our_process(pid, home_root):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child = _CHILDREN.get(pid)
        if child is not None:
            child.wait(timeout=STOP_TIMEOUT_S)
    _CHILDREN.pop(pid, None)
    return True


def log_tail(home, phase: str) -> str:
    """The last lines a phase's service processes wrote (why one did not start), on one line."""
    try:
        lines = (Path(home.logs) / f"{phase}-service.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no service log)"
    return " | ".join(lines[-3:]) or "(empty service log)"


def stop_children() -> list[int]:
    """Stop every service process this Python process started (a test session's safety net)."""
    stopped = []
    for pid in list(_CHILDREN):
        if terminate(pid):
            stopped.append(pid)
        _CHILDREN.pop(pid, None)
    return stopped


def run_file(home, phase: str) -> Path:
    return Path(home.run) / f"{phase}.json"


def read_run_file(home, phase: str) -> dict | None:
    """The live process record of `phase`; a stale record (dead or foreign pid) is removed."""
    path = run_file(home, phase)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        record = {}
    if not is_our_process(record.get("pid"), home.root):
        with suppress(OSError):   # a read-only sandbox keeps its stale record; it is still not live
            path.unlink(missing_ok=True)
        return None
    return record


def write_run_file(home, phase: str, record: dict) -> Path:
    """Write a process's record whole: a service announcing itself, or the record of a process that keeps serving
    put back (a newer one may have overwritten it)."""
    return write_whole(run_file(home, phase), json.dumps(record, indent=2), make_parents=True)


def stop_recorded_processes(home) -> list[str]:
    """Stop every process recorded under home.run (whatever phases file it was started with)."""
    stopped = []
    run_dir = Path(home.run)
    if not run_dir.is_dir():
        return stopped
    for path in sorted(run_dir.glob("*.json")):
        record = read_run_file(home, path.stem)
        if record and terminate(record["pid"], home.root):
            stopped.append(path.stem)
        path.unlink(missing_ok=True)
    # A process recorded nowhere (its kernel killed before it announced itself) is the sandbox's all the same: its
    # command line names this home.
    for pid in unrecorded_processes(home.root):
        if terminate(pid, home.root):
            stopped.append(f"pid {pid}")
    return stopped


def unrecorded_processes(home_root: str | Path) -> list[int]:
    """Live service processes of the sandbox at `home_root`, by their command lines (where /proc lists them)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [int(entry.name) for entry in proc.iterdir()
            if entry.name.isdigit() and int(entry.name) != os.getpid() and is_our_process(int(entry.name), home_root)]


def stop_started_by(home, run_id: str) -> list[str]:
    """Stop the services whose run file says run `run_id` started them, and the sandbox's service processes that no
    run file names; returns their phases (and "pid N" for those). Nothing is stopped while another kit process has
    the sandbox open (it may be mid-call to one of them, as LocalServices.close has it, or starting one that has not
    announced itself yet): they stop by themselves after their idle time, or with `runbook sandbox stop`."""
    from .state import other_users

    stopped = []
    run_dir = Path(home.run)
    if not run_id or not run_dir.is_dir() or other_users(home):
        return stopped
    recorded = set()
    for path in sorted(run_dir.glob("*.json")):
        record = read_run_file(home, path.stem)
        if record and record.get("started_by") == run_id and terminate(record["pid"], home.root):
            stopped.append(path.stem)
            path.unlink(missing_ok=True)
        elif record:
            recorded.add(record["pid"])
    # A kernel killed while a process it started was starting leaves that process recorded nowhere (it announces
    # itself once it listens): with no other kit process about, nobody else can have started it.
    for pid in unrecorded_processes(home.root):
        if pid not in recorded and terminate(pid, home.root):
            stopped.append(f"pid {pid}")
    return stopped


@contextmanager
def process_lock(home, phase: str) -> Iterator[None]:
    Path(home.run).mkdir(parents=True, exist_ok=True)
    with open(Path(home.run) / f"{phase}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False
