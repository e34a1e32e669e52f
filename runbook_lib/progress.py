"""Progress of a long cell, seen from outside the kernel.

Under `runbook run` and `runbook overnight` a cell's own output (its tqdm bar included) goes only into the
notebook, which is masked and written when the run ends: a 30-minute replay showed a terminal frozen on
"Executing: 65% 15/23". A kit progress bar (`bar`, a tqdm) also writes its latest state, one masked line, to the
file the runner names in RUNBOOK_PROGRESS_FILE; the runner prints it as it changes and names it if the cell runs
out of time. In JupyterLab, where the variable is unset, it is a plain tqdm bar.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .masking import mask_text

PROGRESS_ENV = "RUNBOOK_PROGRESS_FILE"
WRITE_EVERY_S = 2.0   # the file is rewritten at most this often (and when the bar closes)


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
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(" ".join(mask_text(line).split()) + "\n", encoding="utf-8")
        os.replace(partial, path)
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
