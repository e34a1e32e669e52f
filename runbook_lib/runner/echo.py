"""A long cell's progress, echoed while a run lasts: what the kernel writes to the run's progress file
(runbook_lib.progress) reaches the operator's terminal before the notebook is written."""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from .. import progress

# A long cell's progress (runbook_lib.progress) is echoed when it has changed and this long has passed since the
# last echo (or the cell's start): steps shorter than this print nothing more than they did.
ECHO_EVERY_S = 30.0


@contextlib.contextmanager
def echo_progress(run_dir: Path, bar_shown: bool) -> Iterator[Any]:
    """Echo what the kernel says in the run's progress file (kernel_environment names it) while the run lasts,
    and yield a dict whose "line" is, once the run is over, its last line (masked by the kernel; None if it
    said nothing).
    Beside papermill's bar (`bar_shown`) through tqdm.write so the bar is redrawn under it; in a night's log,
    indented under the step's line."""
    import threading

    from tqdm import tqdm

    path = progress.run_progress_file(run_dir)
    path.unlink(missing_ok=True)
    stop, said = threading.Event(), {"line": None, "at": time.monotonic()}

    def echo() -> None:
        while not stop.wait(1.0):
            line = progress.read(path)
            if line and line != said["line"] and time.monotonic() - said["at"] >= ECHO_EVERY_S:
                said.update(line=line, at=time.monotonic())
                with contextlib.suppress(Exception):   # a closed stream must not end the run
                    if bar_shown:
                        tqdm.write(f"  {line}", file=sys.stderr)
                    else:
                        print(f"\n    {line}", end="", flush=True)

    watcher = threading.Thread(target=echo, name="runbook-progress", daemon=True)
    watcher.start()
    last: dict[str, str | None] = {"line": None}
    try:
        yield last
    finally:
        stop.set()
        watcher.join(timeout=5)
        last["line"] = progress.read(path)
        if said["line"] and not bar_shown:
            print(flush=True)   # the step's result on a line of its own
        path.unlink(missing_ok=True)
        for partial in path.parent.glob(f"{path.name}.*.partial"):
            partial.unlink(missing_ok=True)
