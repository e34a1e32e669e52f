"""The nights of a reports folder as records: a night (`Night`) read from its summary.json or, for a night cut
short, from its step notebooks; the nights of a folder found and those left out (`scan_nights`); a night compared
with the earlier nights of its plan (`compare_night`). runbook_lib.nights writes the pages from these.
"""
from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import jsonschema
import nbformat

from . import changes, report
from . import unfinished_nights as unfinished
from .changes import Change
from .formats import one_line
from .results import VERDICTS
from .unfinished_nights import STARTED

SUMMARY, INDEX = "summary.json", "index.html"
SCHEMA_FILE = Path(__file__).parent / "data" / "summary.schema.json"
DEFAULT_HISTORY = 7            # earlier nights shown beside each step
_NIGHT_DIR = re.compile(r"overnight-(\d{6})(?:-(\d+))?")
# `runbook run` writes <reports>/<YYYY-MM-DD>/<HHMMSS>-<notebook>[-N]/; the list of nights shows the latest ones.
_RUN_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Night:
    """One overnight run as found on disk. `incomplete` says why it has no valid summary.json
    (then its steps come from the step notebooks), None for a night that finished."""
    folder: Path
    title: str | None
    target: str | None
    started: datetime
    steps: list[report.IndexRow] = field(default_factory=list)
    finished: datetime | None = None
    interrupted_at: str | None = None
    incomplete: str | None = None
    interrupted_by: str | None = None   # "Ctrl-C", "SIGTERM" or "SIGHUP" when interrupted_at is set (else null: see RECORDED_STOPS)

    @property
    def index(self) -> Path:
        return self.folder / INDEX

    @property
    def plan(self) -> tuple[str | None, str | None]:
        """Which nights this one compares with."""
        return self.title, self.target

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(1 for s in self.steps if s.verdict == v) for v in VERDICTS}

    @property
    def cut_short(self) -> bool:
        """Did the night end before its plan did: no valid summary.json (killed, or still running), or
        stopped in a step (a signal, or the runner's own failure)?"""
        return self.incomplete is not None or self.interrupted_at is not None

    @property
    def stopped_step(self) -> report.IndexRow | None:
        """The step the night was stopped in, as recorded (None if it was not, or that step left no row)."""
        return next((s for s in self.steps if s.step == self.interrupted_at), None)

    @property
    def first_failure(self) -> report.IndexRow | None:
        return next((s for s in self.steps if s.verdict == "fail"), None) or next(
            (s for s in self.steps if s.verdict not in ("pass", "warn")), None)

    @property
    def took_s(self) -> float | None:
        return (_aware(self.finished) - _aware(self.started)).total_seconds() if self.finished else None

    @property
    def order(self) -> tuple[datetime, int]:
        """Oldest first; two nights started in the same second are told apart by the folder's -2, -3.
        To the second, as summary.json records the start: the night being written, whose start the runner
        knows to the microsecond, must sort as it will when it is read back."""
        match = _NIGHT_DIR.fullmatch(self.folder.name)
        started = _aware(self.started).astimezone(timezone.utc).replace(microsecond=0)
        return started, int(match.group(2) or 1) if match else 1

    def summary(self) -> dict[str, Any]:
        """What summary.json holds (see data/summary.schema.json)."""
        first = self.first_failure
        return {"title": self.title, "target": self.target, "started": self.started.isoformat(timespec="seconds"),
                "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
                "interrupted_at": self.interrupted_at,
                "interrupted_by": self.interrupted_by, "counts": self.counts,
                "first_failure": first.step if first else None, "steps": self.step_dicts()}

    def step_dicts(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.steps]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.astimezone()  # naive: this machine's local time


# ---------------------------------------------------------------------------------------------
# summary.json and its schema

@functools.cache
def summary_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


# What summary.json's schema takes as `interrupted_by` (the schema is the record's definition). Any other cause
# of a night cut short (the runner's own failure, a signal the kit does not handle) is recorded as null there;
# the stopped step's own record says what.
RECORDED_STOPS = tuple(v for v in summary_schema()["properties"]["interrupted_by"]["enum"] if v is not None)


def summary_problems(data: Any) -> list[str]:
    """Why `data` is not a valid summary.json, one sentence each ([] when it is)."""
    validator = jsonschema.Draft202012Validator(summary_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or 'the top level'}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def _from_summary(folder: Path, data: dict[str, Any]) -> Night:
    return Night(folder=folder, title=data["title"], target=data["target"],
                 started=datetime.fromisoformat(data["started"]),
                 finished=datetime.fromisoformat(data["finished"]) if data["finished"] else None,
                 interrupted_at=data["interrupted_at"], interrupted_by=data.get("interrupted_by"),
                 steps=[report.IndexRow(**s) for s in data["steps"]])


# ---------------------------------------------------------------------------------------------
# Reading nights from disk

def read_night(folder: Path) -> Night:
    """The night recorded in `folder`: from its summary.json when that is valid, else from its
    step notebooks (marked incomplete, saying why; a folder with neither is a night all the same)."""
    folder = Path(folder)
    summary = folder / SUMMARY
    why: str | None = None   # what is wrong with its summary.json (None: it has none)
    if summary.is_file():
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            why = f"its {SUMMARY} could not be read ({type(exc).__name__})"
        else:
            problems = summary_problems(data)
            if not problems:
                try:   # the schema checks a time's shape, not that it exists (2025-02-30, 24:00)
                    return _from_summary(folder, data)
                except (ValueError, TypeError, KeyError) as exc:
                    why = f"its {SUMMARY} could not be used ({type(exc).__name__}: {one_line(str(exc), 120)})"
            if why is None:
                why = f"its {SUMMARY} does not match the schema ({problems[0]})"
    return _from_notebooks(folder, why)


def _from_notebooks(folder: Path, why: str | None) -> Night:
    """The night as its step notebooks record it (each step's notebook holds its run's record, plan and
    target included); `why`: what is wrong with its summary.json, None when it has none (then why it has none,
    and the step it was killed in: see _why_no_summary). A night folder without any step notebook (killed, or
    still running, in its first step: a step writes its notebook at its end) is a night all the same: its name
    says when."""
    found = []
    notebooks, unreadable, bare = _step_notebooks(folder)
    # Steps run in plan order and each writes its notebook once, at its end.
    notebooks.sort(key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))
    for path in notebooks:
        try:   # a record written by hand or by another kit version may hold anything: that step is unreadable
            meta = report.run_metadata(nbformat.read(path, as_version=4))
            row, run = report.row_from_metadata(meta, path, folder), report.RunRecord.from_dict(meta.get("run"))
            started = _aware(datetime.fromisoformat(run.started)) if run.started else None
        except Exception:
            unreadable += 1
            continue
        found.append((row, run, started))
    found = _in_the_order_they_ran(found)
    marker = unfinished.read_started(folder)
    stopped_at = None
    if why is None:
        lacks = f"no {SUMMARY}" if notebooks or unreadable else f"no {SUMMARY} and no step notebook"
        why, stopped_at = unfinished.why_no_summary(lacks, marker, bare, {row.step for row, _, _ in found})
    if unreadable:
        why += f"; {unreadable} step notebook{'s' if unreadable > 1 else ''} could not be read"
    runs = [run for _, run, _ in found]
    times = [started for _, _, started in found if started]   # (a step not run has none)
    titles = Counter(r.plan for r in runs)
    return Night(folder=folder, title=titles.most_common(1)[0][0] if titles else marker.get("title"),
                 target=runs[0].target if runs else marker.get("target"),
                 started=min(times + ([marker["started"]] if "started" in marker else []), default=None)
                 or _started_from_name(folder),
                 steps=[row for row, _, _ in found], incomplete=why, interrupted_at=stopped_at)


def _step_notebooks(folder: Path) -> tuple[list[Path], int, list[Path]]:
    """The notebooks of the night's step folders, how many step folders could not be listed (each a step
    notebook that cannot be read), and the step folders holding no notebook (a step that never ended). A night
    folder that cannot be listed raises OSError: glob would say nothing."""
    notebooks, unreadable, bare = [], 0, []
    for step in folder.iterdir():
        try:
            if step.name.startswith(".") or not step.is_dir():
                continue
            names = os.listdir(step)
        except OSError:
            unreadable += 1
            continue
        found = [step / name for name in names if name.endswith(".ipynb") and not name.startswith(".")]
        notebooks += found
        if not found:
            bare.append(step)
    return notebooks, unreadable, bare


def _in_the_order_they_ran(found: list[tuple]) -> list[tuple]:
    """Steps by the start time each record holds (a night copied without its files' times keeps its order); a
    step that never started (blocked, not run) keeps its place among them, as the files' order put it."""
    timed = sorted((entry for entry in found if entry[2] is not None), key=lambda entry: entry[2])
    places = iter(timed)
    return [next(places) if entry[2] is not None else entry for entry in found]


def _started_from_name(folder: Path) -> datetime:
    """`<YYYY-MM-DD>/overnight-<HHMMSS>` as local time (wrong an hour at a fall-back, and read on a machine in
    another zone: the start marker is read first); the folder's modification time if the names say nothing."""
    match = _NIGHT_DIR.fullmatch(folder.name)
    if match:
        try:
            return datetime.strptime(f"{folder.parent.name} {match.group(1)}", "%Y-%m-%d %H%M%S").astimezone()
        except ValueError:
            pass  # the date folder was renamed
    return datetime.fromtimestamp(folder.stat().st_mtime).astimezone()


def reports_folder_of(folder: Path) -> Path | None:
    """The folder of nights that `folder` lies in when `folder` is itself a night (overnight-HHMMSS, or one with a
    summary.json) or a date folder of nights (<date>/overnight-*/); None when it is neither."""
    folder = Path(folder)
    if _NIGHT_DIR.fullmatch(folder.name) or (folder / SUMMARY).is_file():
        return folder.resolve().parent.parent
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name) and any(
            _NIGHT_DIR.fullmatch(child.name) for child in folder.iterdir() if child.is_dir()):
        return folder.resolve().parent
    return None


@dataclass(frozen=True)
class LeftOut:
    """A folder that may hold nights but is not on the list of nights, and why (one sentence)."""
    folder: Path
    why: str


@dataclass
class Scan:
    """The nights of a reports folder (oldest first), and the folders left out of them."""
    nights: list[Night]
    left_out: list[LeftOut] = field(default_factory=list)

    def compared(self, history: int = DEFAULT_HISTORY) -> list["Compared"]:
        """Each night beside the nights before it, as its page and the reports index show it."""
        return [compare_night(night, self.nights, history) for night in self.nights]


def find_nights(reports_dir: Path, leave_out: Path | None = None) -> list[Night]:
    """Every night under `reports_dir` (`*/overnight-*` folders) but the one in `leave_out`, oldest first."""
    return scan_nights(reports_dir, leave_out).nights


def scan_nights(reports_dir: Path, leave_out: Path | None = None) -> Scan:
    """Every night under `reports_dir` but the one in `leave_out`, and the folders left out, each saying why: a
    date or night folder that cannot be read (written by another user with umask 077, or being copied in), and a
    folder renamed by hand (`overnight-030000 copy`) that has no summary.json of the kit's to say when it ran.
    One folder never takes the others out; only `reports_dir` itself that cannot be listed raises OSError."""
    reports_dir = Path(reports_dir)
    left_out_night = Path(leave_out).resolve() if leave_out is not None else None
    found: list[Night] = []
    skipped: list[LeftOut] = []
    for day in sorted(reports_dir.iterdir()):
        if day.name.startswith(".") or not day.is_dir():
            continue
        try:
            folders = sorted(f for f in day.iterdir() if f.name.startswith("overnight-") and f.is_dir())
        except OSError as exc:
            if _RUN_DAY.match(day.name):   # where nights and runs go; any other folder was never the kit's
                skipped.append(LeftOut(day, f"the folder could not be read ({_os_said(exc)})"))
            continue
        for folder in folders:
            if folder.resolve() == left_out_night:
                continue
            try:
                night = read_night(folder)
            except OSError as exc:
                skipped.append(LeftOut(folder, f"the folder could not be read ({_os_said(exc)})"))
                continue
            if _NIGHT_DIR.fullmatch(folder.name) or night.incomplete is None:
                found.append(night)   # renamed with the kit's summary.json: a night, placed by its recorded start
            elif night.steps or any((folder / name).exists() for name in (SUMMARY, STARTED)):
                skipped.append(LeftOut(folder, f"its name is not overnight-HHMMSS[-N] and {night.incomplete}"))
    return Scan(_in_order(found), skipped)


def _os_said(exc: OSError) -> str:
    """"PermissionError: Permission denied": the operating system's words, without the path the caller names."""
    return f"{type(exc).__name__}: {exc.strerror}" if exc.strerror else f"{type(exc).__name__}: {exc}"


def _say_left_out(left_out: Sequence[LeftOut], reports_dir: Path) -> None:
    for each in left_out:
        print(f"warning: {each.folder} is left out of {Path(reports_dir) / INDEX}: {each.why}", file=sys.stderr)


def earlier_nights(night: Night, nights: Sequence[Night]) -> list[Night]:
    """Every night of the same plan before `night`, oldest first."""
    return [n for n in nights if n.plan == night.plan and n.order < night.order]


def night_changes(night: Night, previous: Night | None) -> list[Change]:
    """What changed since `previous` (nothing when there is none)."""
    return changes.night_changes(night.step_dicts(), previous.step_dicts() if previous else None,
                                 cut_short=night.cut_short)


@dataclass
class Compared:
    """A night beside the earlier nights shown with it, the night it is compared with, and what changed
    since that one: worked out once, for the night's page and for the list of nights both."""
    night: Night
    earlier: list[Night]           # the history columns: up to `history` nights of the plan, complete or not
    changes: list[Change]
    previous: Night | None = None  # the night compared with: the latest complete night of the plan before it
    after_cut_short: bool = False  # no complete night before it, but nights cut short


def compare_night(night: Night, nights: Sequence[Night], history: int = DEFAULT_HISTORY) -> Compared:
    """`night` beside up to `history` earlier nights of its plan among `nights` (oldest first), and compared
    with the latest complete one of all its earlier nights, however many are shown: a night cut short did
    not run every step, so what it lacks is no news."""
    before = earlier_nights(night, nights)
    previous = next((n for n in reversed(before) if not n.cut_short), None)
    return Compared(night, before[-history:] if history > 0 else [], night_changes(night, previous), previous,
                    after_cut_short=previous is None and bool(before))


def _in_order(nights: Sequence[Night]) -> list[Night]:
    """Oldest first; nights of one start and number (a folder copied by hand beside its night) by folder name."""
    return sorted(nights, key=lambda n: (n.order, n.folder.name))
