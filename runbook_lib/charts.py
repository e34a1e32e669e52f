"""Small matplotlib helpers: show a chart inline and, under the runner, save it where the report
finds it (`<run dir>/figures/<name>.png`, thumbnailed in the morning-review index)."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

from .errors import ParameterError

# The runner sets this for the kernel; interactive sessions leave it unset and only display.
RUN_DIR_ENV = "RUNBOOK_RUN_DIR"
FIGURES_DIR = "figures"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def new_figure(width: float = 8.0, height: float = 4.0) -> Any:
    """A figure outside pyplot's state, so nothing is displayed twice or leaks between cells."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def distinct_colours(count: int) -> list:
    """Up to 20 colours no two of which are alike: tab20's dark shades, then its light ones (matplotlib's default
    cycle has 10, so an 11th line takes the first one's colour)."""
    from matplotlib import colormaps

    shades = colormaps["tab20"].colors
    return list(shades[0::2] + shades[1::2])[:count]


def figures_dir() -> Path | None:
    """Where charts of the current run are saved, or None outside the runner."""
    run_dir = os.environ.get(RUN_DIR_ENV)
    return Path(run_dir) / FIGURES_DIR if run_dir else None


def to_png(fig: Any, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show(fig: Any, name: str, dpi: int = 100) -> None:
    """Display `fig` inline and, under the runner, also save it as `figures/<name>.png` in the run
    folder. Returns None so a notebook line `charts.show(fig, "x")` prints nothing more."""
    if not _NAME.match(name or ""):
        raise ParameterError("name", name, "lowercase letters, digits, '-' or '_' (at most 64), starting with a letter or digit")
    png = to_png(fig, dpi=dpi)
    from IPython.display import Image, display

    display(Image(data=png, format="png"))
    folder = figures_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(png)
    _close(fig)


def _close(fig: Any) -> None:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
