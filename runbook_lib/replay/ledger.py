"""The replay's ledger: each (date, phase)'s status, written the moment it changes, so a rerun with
resume=True skips what finished even after the kernel was killed mid-run.

Two homes, one format: a JSON-lines file under the sandbox home (the sandbox's warehouse file is
shared with the phase services that are writing it during the replay), and in the cloud a table in
one of the replay's own test datasets. The latest entry of a (date, phase) is its status; a "running"
entry without a later one is a call that was cut short, and is made again.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ..checks import as_date

LEDGER_TABLE = "replay_ledger"
LEDGER_COLUMNS = (("day", "DATE"), ("phase", "STRING"), ("status", "STRING"), ("attempts", "INT64"),
                  ("seconds", "FLOAT64"), ("revision", "STRING"), ("processors", "STRING"), ("prefix", "STRING"),
                  ("error", "STRING"), ("recorded_at", "TIMESTAMP"))
RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass
class LedgerEntry:
    day: date
    phase: str
    status: str                      # running | done | failed
    prefix: str
    revision: str                    # the revision that served the call
    processors: tuple[str, ...] = () # as sent; () means every processor of the phase
    attempts: int = 0
    seconds: float = 0.0
    error: str = ""
    recorded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def key(self) -> tuple[date, str]:
        return (self.day, self.phase)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(day=self.day.isoformat(), processors=",".join(self.processors),
                 recorded_at=self.recorded_at.isoformat())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LedgerEntry":
        recorded = d.get("recorded_at")
        if isinstance(recorded, str):
            recorded = datetime.fromisoformat(recorded)
        elif hasattr(recorded, "to_pydatetime"):
            recorded = recorded.to_pydatetime()
        return cls(day=as_date("day", d["day"]), phase=str(d["phase"]), status=str(d["status"]),
                   prefix=str(d.get("prefix") or ""), revision=str(d.get("revision") or ""),
                   processors=tuple(p for p in str(d.get("processors") or "").split(",") if p),
                   attempts=int(d.get("attempts") or 0), seconds=float(d.get("seconds") or 0.0),
                   error=str(d.get("error") or ""), recorded_at=recorded or datetime.now(timezone.utc))


class Ledger(Protocol):
    where: str   # for operators: the file or the table

    def entries(self) -> list[LedgerEntry]: ...

    def write(self, entry: LedgerEntry) -> None: ...


class FileLedger:
    """One JSON line per status change; flushed and fsynced before write() returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.where = str(self.path)

    def entries(self) -> list[LedgerEntry]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                found.append(LedgerEntry.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue   # the last line of a process killed while writing it
        return found

    def write(self, entry: LedgerEntry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry.to_dict()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


class WarehouseLedger:
    """A table in one of the replay's test datasets (created on the first write); one INSERT per change."""

    def __init__(self, warehouse: Any, ref: str):
        self.warehouse, self.ref = warehouse, ref
        self.where = ref
        self._ready = False

    def entries(self) -> list[LedgerEntry]:
        if not self.warehouse.table_exists(self.ref):
            return []
        frame = self.warehouse.query(f"SELECT * FROM `{self.ref}` ORDER BY recorded_at")
        return [LedgerEntry.from_dict(row) for row in frame.to_dict(orient="records")]

    def write(self, entry: LedgerEntry) -> None:
        if not self._ready:
            self.warehouse.create_table(self.ref, list(LEDGER_COLUMNS), partition_column=None, exists_ok=True)
            self._ready = True
        values = entry.to_dict()
        values.update(day=entry.day, recorded_at=entry.recorded_at)
        names = [name for name, _ in LEDGER_COLUMNS]
        self.warehouse.execute(f"INSERT INTO `{self.ref}` ({', '.join(names)}) "
                               f"VALUES ({', '.join('@' + n for n in names)})", values)


def latest(entries: list[LedgerEntry], prefix: str) -> dict[tuple[date, str], LedgerEntry]:
    """The last entry of each (date, phase) of this prefix."""
    found: dict[tuple[date, str], LedgerEntry] = {}
    for entry in entries:
        if entry.prefix == prefix:
            found[entry.key] = entry
    return found


def finished(entries: list[LedgerEntry], prefix: str, revisions: dict[str, str],
             processors: dict[str, tuple[str, ...]]) -> tuple[dict[tuple[date, str], LedgerEntry], list[str]]:
    """(what an earlier run finished and need not run again, notes on finished work that must run again).

    Finished means done by the revision that serves the phase now, for the same processors: a redeploy
    since then, or other processors, makes the earlier output not this run's."""
    done, redo = {}, []
    for key, entry in latest(entries, prefix).items():
        if entry.status != DONE:
            continue
        if entry.phase not in revisions:
            continue
        if entry.revision != revisions[entry.phase]:
            redo.append(f"{entry.phase} {entry.day}: done earlier by {entry.revision}, now {revisions[entry.phase]} "
                        f"serves, so it runs again")
        elif entry.processors != processors.get(entry.phase, ()):
            redo.append(f"{entry.phase} {entry.day}: done earlier for other processors, so it runs again")
        else:
            done[key] = entry
    return done, sorted(redo)
