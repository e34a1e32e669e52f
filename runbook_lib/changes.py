"""What changed in a runbook step from one night to the next, in plain sentences, and the small
trend chart of a figure over several nights.

Pure functions over the step records of summary.json ({"verdict", "label", "figures", ...}).
Nothing here knows a runbook's figure names: numbers read "name old -> new", yes/no and text
"name: old -> new", lists "new in name: ..." / "gone from name: ...". Values are compared as
they are shown, so a float that moved in its fifth significant digit is not news.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .formats import one_line

# Shown values are cut to this many characters (the night's page and summary.json keep them whole).
VALUE_CHARS = 60

# Kinds of change, in the order a reader wants them: a verdict that moved is the news.
VERDICT, STEP, FIGURE = "verdict", "step", "figure"
_ORDER = {VERDICT: 0, STEP: 1, FIGURE: 2}
# A step missing from a night cut short (killed, interrupted, its runner failed): it did not run, the plan
# did not change.
NOT_RUN_THAT_NIGHT = "not run that night"


@dataclass(frozen=True)
class Change:
    step: str
    kind: str      # VERDICT, STEP (the step is new, or gone from the plan) or FIGURE
    text: str      # one plain sentence, without the step's name

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "kind": self.kind, "text": self.text}


def is_number(value: Any) -> bool:
    """A figure a trend chart can draw: int or float, finite, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shown(value: Any, limit: int = VALUE_CHARS) -> str:
    """A figure's value as a reader sees it: 1,204 · 0.125 · yes/no · none · a, b · short JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, list):
        return one_line(", ".join(shown(v, limit) for v in value) or "(empty)", limit)
    if isinstance(value, str):
        return one_line(value, limit) if value.strip() else "(empty)"
    return one_line(json.dumps(value, sort_keys=True, default=str), limit)


def step_changes(step: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[Change]:
    """What changed in `step` from `before` (its record the night before, None if it did not
    run then) to `after`: the verdict first, then each figure in the order `after` lists them,
    then figures no longer recorded (figures only when both nights recorded some)."""
    if before is None:
        return [Change(step, STEP, "new in the plan (not in the night before)")]
    found = []
    if (before.get("label"), before.get("verdict")) != (after.get("label"), after.get("verdict")):
        found.append(Change(step, VERDICT, f"now {after.get('label')} (was {before.get('label')})"))
    old, new = before.get("figures") or {}, after.get("figures") or {}
    if not old or not new:
        return found  # a run that recorded no figures (an error, not run): its verdict says it all
    for name, value in new.items():
        if name not in old:
            found.append(Change(step, FIGURE, f"new figure {name}: {shown(value)}"))
        else:
            found.extend(Change(step, FIGURE, text) for text in figure_changes(name, old[name], value))
    found.extend(Change(step, FIGURE, f"no longer recorded: {name} (was {shown(value)})")
                 for name, value in old.items() if name not in new)
    return found


def figure_changes(name: str, old: Any, new: Any) -> list[str]:
    """Sentences for one figure whose value went from `old` to `new` ([] if it reads the same)."""
    if isinstance(old, list) and isinstance(new, list):
        before, after = [_whole(v) for v in old], [_whole(v) for v in new]
        added = [shown(v) for v in after if v not in before]
        gone = [shown(v) for v in before if v not in after]
        sentences = []
        if added:
            sentences.append(one_line(f"new in {name}: {', '.join(added)}", 2 * VALUE_CHARS))
        if gone:
            sentences.append(one_line(f"gone from {name}: {', '.join(gone)}", 2 * VALUE_CHARS))
        return sentences
    if is_number(old) and is_number(new):   # compared as shown: a move in the fifth significant digit is not news
        return [] if shown(old) == shown(new) else [f"{name} {shown(old)} -> {shown(new)}"]
    if _whole(old) == _whole(new):
        return []
    before, after = shown(old), shown(new)
    if before == after:   # they differ past the cut (a log URL's build id): shown from where they part
        before, after = _from_where_they_part(_whole(old), _whole(new))
    return [f"{name}: {before} -> {after}"]


def _whole(value: Any) -> str:
    return shown(value, limit=10**9)


def _from_where_they_part(old: str, new: str, lead: int = 12) -> tuple[str, str]:
    """Two texts alike in their first VALUE_CHARS characters, each cut to show where they differ."""
    common = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    start = max(0, common - lead)
    return tuple("…" + one_line(text[start:], VALUE_CHARS) for text in (old, new))


def night_changes(steps: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any]] | None,
                  cut_short: bool = False) -> list[Change]:
    """Every change from the night before (`previous` steps; None when there is none) to `steps`,
    verdict changes first, then steps new or gone, then figures; in plan order within each kind.
    Steps are matched by step id and notebook file. `cut_short`: the night ended before its plan did,
    so a step it lacks was not run that night, which says nothing about the plan."""
    if previous is None:
        return []
    before = {step_key(s): s for s in previous}
    found: list[Change] = []
    for step in steps:
        found.extend(step_changes(str(step["step"]), before.get(step_key(step)), step))
    current = {step_key(s) for s in steps}
    gone = NOT_RUN_THAT_NIGHT if cut_short else "no longer in the plan"
    found.extend(Change(str(s["step"]), STEP, gone) for s in previous if step_key(s) not in current)
    return sorted(found, key=lambda c: _ORDER[c.kind])  # stable: plan order within each kind


def step_key(step: Mapping[str, Any]) -> tuple[str, str]:
    """How a step is recognised on another night: its id and its notebook's file name."""
    notebook = str(step.get("notebook") or "")
    return str(step["step"]), notebook.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# Trend charts: inline SVG, so a page needs no image files and nothing from elsewhere

def sparkline(name: str, values: Sequence[Any], width: int = 96, height: int = 26) -> str | None:
    """A small line chart of `values` (oldest first, evenly spaced; a value that is not a number
    is a gap), with a dot on the newest, as an inline <svg>; None when fewer than two are numbers."""
    numbers = [v if is_number(v) else None for v in values]
    drawn = [v for v in numbers if v is not None]
    if len(drawn) < 2:
        return None
    low, high = min(drawn), max(drawn)
    pad = 3
    step = (width - 2 * pad) / max(len(numbers) - 1, 1)

    def y(v: float) -> float:
        return height / 2 if high == low else pad + (high - v) / (high - low) * (height - 2 * pad)

    # Gaps (a night without the figure) are bridged: the line is the trend over the nights that have it.
    points = [(pad + i * step, y(v)) for i, v in enumerate(numbers) if v is not None]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
    last = points[-1]
    label = html.escape(f"{name}: {', '.join(shown(v) if v is not None else '—' for v in numbers)} (oldest first)")
    return (f'<svg class="trend" role="img" aria-label="{label}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{label}</title>'
            f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
            f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" fill="#0969da"/></svg>')
