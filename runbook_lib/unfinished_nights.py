"""A night that ended without its summary.json: its start marker (started.json, written as it starts, naming its
runner's pid and host and its plan's steps), whether that runner still runs, and why the night has no summary in
words a reader acts on (still running, killed and in which step, or not known on this host)."""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from .files import write_whole
from .formats import one_line
from .local.processes import pid_alive

# written when a night starts: when (an aware time), its plan's title, target and step ids, and the runner's pid
# and host: for a night killed before it wrote its summary.json (which step it died in, and that it is not running)
STARTED = "started.json"
# what a killed step's progress line may show of itself on the pages
PROGRESS_SHOWN = 160


def write_started(folder: Path, title: str | None, target: str | None, started: datetime,
                  steps: Sequence[str] = ()) -> None:
    """The night's start marker (STARTED), naming this process as its runner and `steps`, the plan's step ids in
    order; a night that cannot write it still runs (its folder's name says when)."""
    aware = started if started.tzinfo else started.astimezone()   # naive: this machine's local time
    record = {"started": aware.isoformat(timespec="seconds"), "title": title, "target": target, "steps": list(steps),
              "pid": os.getpid(), "host": socket.gethostname(), "pid_started": process_start(os.getpid())}
    try:
        write_whole(Path(folder) / STARTED, json.dumps(record, indent=2))
    except OSError:
        pass


def read_started(folder: Path) -> dict[str, Any]:
    """The start marker's aware `started`, `title`, `target`, `steps` (the plan's step ids), the runner's `pid`,
    `host` and `pid_started`, each left out where missing or unreadable."""
    try:
        data = json.loads((folder / STARTED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {k: data[k] for k in ("title", "target", "host") if isinstance(data.get(k), str)}
    found.update({k: data[k] for k in ("pid", "pid_started")
                  if isinstance(data.get(k), int) and not isinstance(data[k], bool)})
    steps = data.get("steps")
    if isinstance(steps, list) and all(isinstance(step, str) for step in steps):
        found["steps"] = steps
    try:
        started = datetime.fromisoformat(data["started"])
    except (KeyError, TypeError, ValueError):
        return found
    if started.tzinfo is not None:   # a marker without a zone says no more than the folder's name
        found["started"] = started
    return found


def why_no_summary(lacks: str, marker: dict[str, Any], bare: list[Path], recorded: set[str]) -> tuple[str, str | None]:
    """Why a night has no summary.json, as far as the disk tells, and the step it stopped in (None while it may
    still be running). A step makes its folder as it starts and writes its notebook as it ends, so a step folder
    without a notebook is the step the runner was in; the runner's pid in started.json tells killed from running."""
    plan = marker.get("steps") or []
    in_step = step_in_flight(bare, plan)
    state = runner_state(marker)
    if state == "running":
        where = f", in step {in_step.name}{last_progress(in_step, '; ')}" if in_step else ""
        return f"it has {lacks}: the night is still running (pid {marker['pid']}{where})", None
    if state is None:   # no pid (a kit before it was recorded) or another host's: it may be running there
        host = f" (on {marker['host']}, pid {marker['pid']})" if marker.get("host") and "pid" in marker else ""
        why = f"it has {lacks}: the night stopped before it finished, or is still running{host}"
        if in_step:
            why += f"; it was in step {in_step.name} (no record yet{last_progress(in_step, '; ')})"
        return why, None
    why = f"it has {lacks}: its runner (pid {marker['pid']}) ended without writing it (killed: SIGKILL, the OOM " \
          "killer, a reboot)"
    stopped_at: str | None = None
    if in_step:
        stopped_at = in_step.name
        why += f"; stopped during step {stopped_at} (no record: the runner was killed{last_progress(in_step, '; ')})"
    else:   # between two steps (or after the last): the first step of the plan without a record had not started
        stopped_at = next((step for step in plan if step not in recorded), None)
        if stopped_at:
            why += f"; stopped before step {stopped_at} started"
    after = plan[plan.index(stopped_at) + 1:] if stopped_at in plan else []
    not_run = [step for step in after if step not in recorded]
    if not_run:
        why += f"; not run: {', '.join(not_run)}"
    return why, stopped_at


def step_in_flight(bare: list[Path], plan: list[str]) -> Path | None:
    """The step folder without a notebook that started last: by the plan's order when started.json names the
    plan, else by the folders' times (a kernel's files in it change its time; a step not started has no folder)."""
    if not bare:
        return None

    def started(path: Path) -> tuple[int, int]:
        try:
            moment = path.stat().st_mtime_ns
        except OSError:
            moment = 0
        return (plan.index(path.name), moment) if path.name in plan else (-1, moment)
    return max(bare, key=started)


def last_progress(step: Path, before: str) -> str:
    """`before` and the step's last progress line (runbook_lib.progress, left behind when its run never ended),
    or "" when it said none."""
    try:
        line = (step / ".progress").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f"{before}last progress: {one_line(line, PROGRESS_SHOWN)}" if line else ""


def runner_state(marker: dict[str, Any]) -> str | None:
    """"running" or "gone" for a night whose runner started on this host; None where that cannot be told (a
    marker without a pid, or another host's). A pid since reused by another process is gone: its start differs."""
    pid = marker.get("pid")
    if pid is None or marker.get("host") != socket.gethostname():
        return None
    if not pid_alive(pid):
        return "gone"
    began = process_start(pid)
    if marker.get("pid_started") is not None and began is not None and began != marker["pid_started"]:
        return "gone"
    return "running"


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux's /proc), None where that is not known."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
