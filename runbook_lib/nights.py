"""The nights of a reports folder and the pages a team reads in the morning.

`runbook overnight` writes `<reports>/<YYYY-MM-DD>/overnight-<HHMMSS>/` with one folder per step,
`summary.json` (the machine-readable record, schema in data/summary.schema.json) and `index.html`:
the night's runbooks, what changed since the night before (verdicts first), and each step over
the last nights with a trend chart per numeric figure. `<reports>/index.html` lists every night,
newest first. Everything is derived from what is on disk: `summary.json` where a night has a valid
one, else the step notebooks' metadata (a night cut short, marked incomplete), so `runbook report`
rebuilds every page after nights were copied in, deleted or cut short. This module writes the pages; the
records they are made from (reading, finding and comparing nights) are runbook_lib.night_records'.

Nights compare with earlier nights of the same plan (same title and target); steps are matched
by step id and notebook file (runbook_lib.changes). What changed is worked out against the latest
complete night of the plan: a night cut short (killed, interrupted, or its runner failed) did not run
all of its steps, so it is never "All runbooks passed" and never the night a later one compares with.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from . import changes, report
from .changes import Change
from .files import write_whole
# The records of nights (read, found, compared), re-exported: callers read and write nights through this module.
from .night_records import (  # noqa: F401
    _RUN_DAY, DEFAULT_HISTORY, INDEX, RECORDED_STOPS, SCHEMA_FILE, SUMMARY, Compared, LeftOut, Night, Scan, _aware,
    _in_order, _os_said, _say_left_out, compare_night, earlier_nights, find_nights, night_changes, read_night,
    reports_folder_of, scan_nights, summary_problems, summary_schema)
from .unfinished_nights import STARTED  # noqa: F401

REPORTS_INDEX_CHANGES = 3      # sentences per night on the list of nights (the night's page has them all)
_SINGLE_RUN_DIR = re.compile(r"(\d{6})-.+")
SINGLE_RUNS_SHOWN = 50


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
