"""Progress of a long cell, seen from outside the kernel.

Under `runbook run` and `runbook overnight` a cell's own output (its tqdm bar included) goes only into the
notebook, which is masked and written when the run ends: a 30-minute replay showed a terminal frozen on
"Executing: 65% 15/23". A kit progress bar (`bar`, a tqdm) also writes its latest state, one masked line, to the
file the runner names in RUNBOOK_PROGRESS_FILE; the runner prints it as it changes and names it if the cell runs
out of time. In JupyterLab, where the variable is unset, it is a plain tqdm bar.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tqdm import tqdm

from .files import write_whole
from .masking import mask_text

PROGRESS_ENV = "RUNBOOK_PROGRESS_FILE"
PROGRESS_FILE = ".progress"   # in the run's folder, removed when the run ends
WRITE_EVERY_S = 2.0   # the file is rewritten at most this often (and when the bar closes)
# A step without a count (`ticking`) says nothing before this: the demo's steps take a fraction of it.
TICKING_DELAY_S = 2.0


def run_progress_file(run_dir: Path) -> Path:
    """The progress file of the run in `run_dir`, as the runner names it to the kernel."""
    return Path(run_dir).resolve() / PROGRESS_FILE


def progress_file() -> Path | None:
    """Where this kernel's progress goes, or None outside the runner."""
    path = os.environ.get(PROGRESS_ENV)
    return Path(path) if path else None


def say(line: str) -> None:
    """Replace the run's progress line (nothing outside the runner). Written whole or not at all: the runner
    may read it at any moment."""
    path = progress_file()
    if path is None:
        return
    try:
        write_whole(path, " ".join(mask_text(line).split()) + "\n")
    except OSError:
        pass   # progress is a courtesy: never the reason a run fails


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class _Bar(tqdm):
    """tqdm that also says its state through `say`, at most every WRITE_EVERY_S and when it closes."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._said_at, self._said_n = 0.0, None
        super().__init__(*args, **kwargs)

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        if not self.disable and time.monotonic() - self._said_at >= WRITE_EVERY_S:
            self._say()
        return shown

    def close(self) -> None:
        if not self.disable and self._said_n != self.n:
            self._say()
        super().close()

    def _say(self) -> None:
        self._said_at, self._said_n = time.monotonic(), self.n
        unit = str(self.unit).strip()
        done = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        postfix = f", {self.postfix}" if self.postfix else ""
        elapsed = self._time() - self.start_t if hasattr(self, "start_t") else 0.0   # (tqdm's own clock)
        say(f"{self.desc or 'progress'}: {done} {unit if unit.endswith('s') else unit + 's'} after {elapsed:,.0f} s"
            f"{postfix}")


def bar(*args: Any, **kwargs: Any) -> tqdm:
    """A tqdm progress bar (same arguments) whose progress the runner also sees."""
    return _Bar(*args, **kwargs)


@contextmanager
def ticking(said: str, enabled: bool = True) -> Iterator[tqdm]:
    """For work with nothing to count (one long DuckDB statement): a line with what is being done
    (set_description_str) and the time taken so far, from TICKING_DELAY_S on, redrawn twice a second and said to
    the runner as a bar's state is. (DuckDB's own estimate of its progress is refused in Jupyter without
    ipywidgets, which is where the runbooks run.)"""
    with tqdm(desc=said, bar_format="{desc} [{elapsed}]", delay=TICKING_DELAY_S, disable=not enabled) as line:
        done = threading.Event()

        def tell() -> None:
            taken = line.format_dict["elapsed"]
            if taken >= TICKING_DELAY_S:
                say(f"{line.desc} after {taken:,.0f} s")

        def tick() -> None:
            while not done.wait(0.5):
                line.update(0)   # redraws the time taken (and what is being done)
                tell()

        ticker = threading.Thread(target=tick, name="progress-ticking", daemon=True)
        if enabled:
            ticker.start()
        try:
            yield line
        finally:
            done.set()
            if enabled:
                ticker.join()
                tell()
