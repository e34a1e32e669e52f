"""The nights of a reports folder and the pages a team reads in the morning.

`runbook overnight` writes `<reports>/<YYYY-MM-DD>/overnight-<HHMMSS>/` with one folder per step,
`summary.json` (the machine-readable record, schema in data/summary.schema.json) and `index.html`:
the night's runbooks, what changed since the night before (verdicts first), and each step over
the last nights with a trend chart per numeric figure. `<reports>/index.html` lists every night,
newest first. Everything is derived from what is on disk: `summary.json` where a night has a valid
one, else the step notebooks' metadata (a night cut short, marked incomplete), so `runbook report`
rebuilds every page after nights were copied in, deleted or cut short.

Nights compare with earlier nights of the same plan (same title and target); steps are matched
by step id and notebook file (runbook_lib.changes). What changed is worked out against the latest
complete night of the plan: a night cut short (killed, interrupted, or its runner failed) did not run
all of its steps, so it is never "All runbooks passed" and never the night a later one compares with.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shlex
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
from .files import write_whole
from .formats import one_line
from .changes import Change
from .results import VERDICTS
from .unfinished_nights import STARTED

SUMMARY, INDEX = "summary.json", "index.html"
SCHEMA_FILE = Path(__file__).parent / "data" / "summary.schema.json"
DEFAULT_HISTORY = 7            # earlier nights shown beside each step
REPORTS_INDEX_CHANGES = 3      # sentences per night on the list of nights (the night's page has them all)
_NIGHT_DIR = re.compile(r"overnight-(\d{6})(?:-(\d+))?")
# `runbook run` writes <reports>/<YYYY-MM-DD>/<HHMMSS>-<notebook>[-N]/; the list of nights shows the latest ones.
_RUN_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SINGLE_RUN_DIR = re.compile(r"(\d{6})-.+")
SINGLE_RUNS_SHOWN = 50


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


# ---------------------------------------------------------------------------------------------
# Writing

def write_night(folder: Path, steps: Sequence[report.IndexRow], title: str, target: str, started: datetime,
                finished: datetime | None = None, interrupted_at: str | None = None,
                history: int = DEFAULT_HISTORY, interrupted_by: str | None = "Ctrl-C") -> Night:
    """The end of `runbook overnight`: write the night's summary.json and index.html (compared
    with the earlier nights of its reports folder), then the reports folder's index.html. `steps`:
    each step's row, in plan order (`report.read_row` of its notebook, or the runner's own record).
    `interrupted_at`: the step the night was stopped in, if it was; `interrupted_by`: the signal ("Ctrl-C",
    or "SIGTERM" from `timeout`, `docker stop`, a job's deadline), None when the runner itself failed. As
    summary.json records it (RECORDED_STOPS), so this night's page reads as a rebuilt one will."""
    folder = Path(folder)
    recorded_by = interrupted_by if interrupted_at is not None and interrupted_by in RECORDED_STOPS else None
    # To the second, as summary.json records them: "took 81s" tonight must not read "took 82s" once rebuilt.
    started = started.replace(microsecond=0)
    finished = finished.replace(microsecond=0) if finished else None
    night = Night(folder=folder, title=title, target=target, started=started, finished=finished,
                  interrupted_at=interrupted_at, interrupted_by=recorded_by, steps=list(steps))
    write_whole(folder / SUMMARY, json.dumps(night.summary(), indent=2, default=str))
    reports_dir = folder.parent.parent
    try:
        scan = scan_nights(reports_dir, leave_out=folder)   # not this night's summary.json, just written
    except Exception as exc:  # whatever lies beside it, the night gets its page
        # A list of this night alone would drop every earlier one from the reports index until `runbook report`.
        _warn(f"could not read the earlier nights in {reports_dir}, so this night's page compares with none and "
              f"{reports_dir / INDEX} was left as it was", exc, reports_dir)
        write_night_page(compare_night(night, [night], history))
        return night
    nights = _in_order([*scan.nights, night])
    this_night = compare_night(night, nights, history)
    write_night_page(this_night)
    _say_left_out(scan.left_out, reports_dir)
    try:
        write_reports_index(reports_dir, [this_night if n is night else compare_night(n, nights, history)
                                          for n in nights], scan.left_out)
    except Exception as exc:
        _warn(f"could not write {reports_dir / INDEX}", exc, reports_dir)
    return night


def _in_order(nights: Sequence[Night]) -> list[Night]:
    """Oldest first; nights of one start and number (a folder copied by hand beside its night) by folder name."""
    return sorted(nights, key=lambda n: (n.order, n.folder.name))


def _warn(what: str, exc: Exception, reports_dir: Path) -> None:
    print(f"warning: {what}: {type(exc).__name__}: {exc}; `runbook report {shlex.quote(str(reports_dir))}` rebuilds "
          "the pages", file=sys.stderr)


@dataclass
class Rebuilt:
    """What `runbook report` did: every night it found, and those whose page could not be written (each said
    on stderr; such a night keeps the page it had)."""
    nights: list[Night]
    not_written: list[Night] = field(default_factory=list)

    @property
    def summary(self) -> str:
        pages = len(self.nights) - len(self.not_written)
        line = f"Rebuilt {pages} night page{'s' if pages != 1 else ''}"
        if self.not_written:
            line += f" of {len(self.nights)} ({len(self.not_written)} could not be written, said above)"
        return line


def rebuild(reports_dir: Path, history: int = DEFAULT_HISTORY) -> Rebuilt:
    """`runbook report`: every night's index.html and the reports folder's index.html, from what
    is on disk. summary.json is left as the runner wrote it (a night without one stays incomplete).
    A folder that cannot be read, or a night's page that cannot be written, is said on stderr (and the
    folders left out on the reports index), never the end of the others."""
    scan = scan_nights(reports_dir)
    _say_left_out(scan.left_out, reports_dir)
    compared = scan.compared(history)
    not_written = [each.night for each in compared if not _write_night_page_or_say(each)]
    write_reports_index(reports_dir, compared, scan.left_out)
    return Rebuilt(scan.nights, not_written)


def _write_night_page_or_say(compared: Compared) -> bool:
    """The night's page; a night folder another user wrote (not writable here) keeps its page, which is said."""
    try:
        write_night_page(compared)
    except OSError as exc:
        print(f"warning: could not write {compared.night.index} ({_os_said(exc)}); the night is listed with the "
              "page it has, if any", file=sys.stderr)
        return False
    return True


def refresh_reports_index(reports_dir: Path, history: int = DEFAULT_HISTORY) -> Path:
    """The end of `runbook run`: `<reports_dir>/index.html` rewritten, so that it lists the run just made."""
    scan = scan_nights(reports_dir)
    _say_left_out(scan.left_out, reports_dir)
    return write_reports_index(reports_dir, scan.compared(history), scan.left_out)


def published_reports_index(reports_dir: Path, history: int = DEFAULT_HISTORY) -> str:
    """The list of nights as a bucket holds it: without single runs, which are not published (their links
    would lead nowhere there)."""
    scan = scan_nights(reports_dir)
    return _reports_index_page(reports_dir, scan.compared(history), scan.left_out, single_runs=False)


@dataclass
class SingleRun:
    """One `runbook run` of a reports folder, as its list shows it (paths relative to the reports folder)."""
    row: report.IndexRow
    started: datetime | None


def find_single_runs(reports_dir: Path, shown: int = SINGLE_RUNS_SHOWN) -> tuple[list[SingleRun], int]:
    """The latest `shown` runs of `runbook run` under `reports_dir`, newest first by when each started (its
    record's aware time), and how many older ones there are. The folders are named by the runner's local clock,
    which goes back an hour at a clock change and differs between a laptop and a job in UTC, so the latest are
    picked by when their notebook was written (an instant; the notebook is written at the run's end), never by
    name. A run folder without its notebook (a run still going), or with one that cannot be read, is left out."""
    reports_dir = Path(reports_dir)
    found = []
    for folder in reports_dir.glob("*/*"):
        if _RUN_DAY.fullmatch(folder.parent.name) and _SINGLE_RUN_DIR.fullmatch(folder.name) and folder.is_dir():
            notebook = next(iter(sorted(folder.glob("*.ipynb"))), None)
            if notebook is not None:
                found.append((notebook.stat().st_mtime_ns, folder.parent.name, folder.name[:6], notebook))
    found.sort(key=lambda f: f[:3], reverse=True)
    runs = []
    for *_, notebook in found[:shown]:
        try:   # the metadata alone: nbformat's validation of a whole notebook costs more than the row is worth
            meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get(report.METADATA_KEY) or {}
            started = report.RunRecord.from_dict(meta.get("run")).started
            runs.append(SingleRun(report.row_from_metadata(meta, notebook, reports_dir),
                                  _aware(datetime.fromisoformat(started)) if started else None))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    runs.sort(key=lambda run: run.started or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
    return runs, max(len(found) - shown, 0)


def _href(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


@dataclass
class _Column:
    """A night in a step's history table."""
    night: Night
    href: str | None        # its page, relative to the page shown (None: the page shown)


@dataclass
class _StepHistory:
    number: int
    row: report.IndexRow
    changes: list[Change]
    cells: list[tuple[report.IndexRow | None, str | None]]   # per column: the step that night, its page
    figures: list[tuple[str, list[str], str | None]]          # name, shown value per column, trend chart


def _step_histories(night: Night, earlier: Sequence[Night], found: Sequence[Change]) -> list[_StepHistory]:
    shown_nights = [*earlier, night]
    histories = []
    for number, row in enumerate(night.steps, 1):
        key = changes.step_key(row.to_dict())
        same = [next((s for s in n.steps if changes.step_key(s.to_dict()) == key), None) for n in shown_nights]
        cells = [(s, _href(n.folder / s.html, night.folder) if s and s.html else None) for s, n in zip(same, shown_nights)]
        names = list(row.figures) + [k for s in reversed(same) if s for k in s.figures if k not in row.figures]
        figures = []
        for name in dict.fromkeys(names):
            values = [s.figures.get(name) if s else None for s in same]
            texts = [changes.shown(v) if s and name in s.figures else "—" for v, s in zip(values, same)]
            figures.append((name, texts, changes.sparkline(name, values)))
        histories.append(_StepHistory(number, row, [c for c in found if c.step == row.step], cells, figures))
    return histories


def write_night_page(compared: Compared) -> Path:
    """The night's index.html: its runbooks, what changed since the night it is compared with, and each
    step over the earlier nights shown and this one."""
    night, earlier, found, previous = compared.night, compared.earlier, compared.changes, compared.previous
    histories = _step_histories(night, earlier, found)
    reports_index = night.folder.parent.parent / INDEX
    page = report.templates().get_template("index.html.j2").render(
        night=night, first=night.first_failure, rows=night.steps, changes=found,
        previous=previous, previous_href=_href(previous.index, night.folder) if previous else None,
        stopped=night.stopped_step, after_cut_short=compared.after_cut_short,
        reports_href=_href(reports_index, night.folder),
        columns=[_Column(n, _href(n.index, night.folder)) for n in earlier] + [_Column(night, None)],
        histories=histories, anchors={h.row.step: f"step-{h.number}" for h in histories},
        counts_text=_counts_text(night.counts), summary_chars=report.INDEX_SUMMARY_CHARS,
        most_figures=report.INDEX_FIGURES)
    return write_whole(night.index, page)


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no runbooks"


def write_reports_index(reports_dir: Path, compared: Sequence[Compared], left_out: Sequence[LeftOut] = ()) -> Path:
    """`<reports_dir>/index.html`: every night of `compared` (given oldest first), listed newest first
    with its verdict counts, first failure and what changed since the night before, then the latest single
    runs (`runbook run`), newest first; `left_out`: the folders not listed, each with why. A night without a
    page (one cut short) gets one, so that every link resolves."""
    page = _reports_index_page(reports_dir, compared, left_out)
    # Written whole: a run and a night ending together never leave half a page.
    return write_whole(Path(reports_dir) / INDEX, page)


def _reports_index_page(reports_dir: Path, compared: Sequence[Compared], left_out: Sequence[LeftOut] = (),
                        single_runs: bool = True) -> str:
    reports_dir = Path(reports_dir)
    entries = []
    for each in reversed(compared):
        night = each.night
        if not night.index.is_file():
            _write_night_page_or_say(each)
        first = night.first_failure
        entries.append({
            "night": night, "href": _href(night.index, reports_dir), "counts": night.counts,
            "first": first, "first_href": _href(night.folder / first.html, reports_dir) if first and first.html else None,
            "changes": each.changes, "compared": each.previous is not None, "after_cut_short": each.after_cut_short})
    runs, older = find_single_runs(reports_dir) if single_runs else (None, 0)
    return report.templates().get_template("nights.html.j2").render(
        entries=entries, shown_changes=REPORTS_INDEX_CHANGES, summary_chars=report.INDEX_SUMMARY_CHARS,
        runs=runs, older_runs=older, most_figures=report.INDEX_FIGURES,
        left_out=[(_href(each.folder, reports_dir), each.why) for each in left_out])
