"""The replay's ledger: each (date, phase)'s status, written the moment it changes, so a rerun with
resume=True skips what finished even after the kernel was killed mid-run.

Two homes, one format: a JSON-lines file under the sandbox home (the sandbox's warehouse file is
shared with the phase services that are writing it during the replay), and in the cloud a table in
one of the replay's own test datasets. The latest entry of a (date, phase) is its status; a "running"
entry without a later one is a call that was cut short, and is made again.

One replay per prefix at a time: on the sandbox an flock beside the ledger file; in the cloud a claim in a
table beside the ledger table (ReplayClaims: append-only claim, heartbeat and release rows, read back after
the claim is written), checked before each call and each ledger write (check_hold: ClaimLost once another run
took it over while this one was paused).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from ..checks import as_date
from ..errors import RunbookError
from .claims import CLAIMS_TABLE, Claimant, ReplayClaims
from .datasets import NewDataset

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

    def hold(self, prefix: str) -> AbstractContextManager[None]:
        """Held while a replay of `prefix` calls: a second replay of it is refused (LedgerBusy)."""

    def check_hold(self) -> None:
        """Before each call and each write while held: ClaimLost once another replay took the hold over (this run
        was paused past the claim's life); free while the hold is sure to be this run's."""

    def holder(self, prefix: str) -> str:
        """Who holds `prefix` now, as a refusal names it (host, process, user, since); "" when no replay does."""

    @property
    def notes(self) -> list[str]:
        """What holding it found that the operator should read (a stale claim of another run taken over)."""


class LedgerBusy(RunbookError):
    """Another replay with the same prefix holds its ledger: both would make every call twice."""


LOCK_TRIES = 5          # a holder() probe holds the lock for microseconds: hold() looks again before refusing
LOCK_RETRY_S = 0.05


class FileLedger:
    """One JSON line per status change; flushed and fsynced before write() returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.where = str(self.path)

    @property
    def lock(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def holder(self, prefix: str) -> str:
        """Who holds the lock beside the ledger now ("" when nobody does): a shared lock tried without waiting
        fails only while a replay holds it exclusively. An flock belongs to an open file, so a replay of this
        very process is seen too."""
        try:
            fh = open(self.lock, encoding="utf-8")
        except FileNotFoundError:
            return ""   # no replay of this prefix ever held it
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return fh.read().strip() or "another process"
            fcntl.flock(fh, fcntl.LOCK_UN)
            return ""

    @property
    def notes(self) -> list[str]:
        return []   # an flock goes with its process: nothing is ever taken over

    def check_hold(self) -> None:
        """Nothing to check: the flock is held by this process until it lets go or dies, however long it sleeps."""

    @contextmanager
    def hold(self, prefix: str) -> Iterator[None]:
        """One replay per prefix at a time: an flock on a file beside the ledger while the replay calls. The
        lock goes with the process (a killed run never blocks its resume); LedgerBusy names the holder."""
        lock = self.lock
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a+", encoding="utf-8") as fh:
            for attempt in range(LOCK_TRIES):
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if attempt < LOCK_TRIES - 1:
                        time.sleep(LOCK_RETRY_S)
            else:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise LedgerBusy(f"another replay with prefix {prefix!r} is running ({holder}); wait for it to "
                                 f"finish, or replay with another dataset_prefix") from None
            fh.seek(0)
            fh.truncate()
            me = Claimant.this_process()   # named as the gcp claim names its holder
            fh.write(f"host {me.host}, process {me.pid}, user {me.username}, since "
                     f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}")
            fh.flush()
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

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
    """A table in the prefix's Phase 3 test dataset (created on the first write); one INSERT per change.

    Its place depends on the prefix only, never on the phases a run selects, so a Phase 4-only rerun finds
    what a full replay finished. When that dataset does not exist yet (a Phase 4-only first run), the first
    write creates it as step 3 creates the replay's test datasets (datasets.NewDataset): production's
    location, the TTL, the kit's label. Beside it, the claims table (ReplayClaims) that keeps a second replay
    of the prefix out while one calls; neither table is a replay output."""

    def __init__(self, warehouse: Any, ref: str, production_dataset: str | None = None,
                 ttl_days: float | None = None):
        self.warehouse, self.ref = warehouse, ref
        self.where = ref
        self.production_dataset, self.ttl_days = production_dataset, ttl_days
        self._ready = False
        self.claims = ReplayClaims(warehouse, f"{ref.rsplit('.', 1)[0]}.{CLAIMS_TABLE}")
        self._holding: tuple[str, str] | None = None   # (claim id, prefix) while held

    @property
    def notes(self) -> list[str]:
        return list(self.claims.notes)

    @contextmanager
    def hold(self, prefix: str) -> Iterator[None]:
        """One replay per prefix at a time: a claim in the claims table beside the ledger (ReplayClaims), made
        in the ledger's dataset (created here if it is not there yet), released at the end, also on an
        exception or a refusal. LedgerBusy names the other run: host, process, user, since; check_hold() fences
        the calls and writes meanwhile."""
        claims = self.claims
        self._make_dataset()
        claims.make_table()
        claim_id = claims.claim(prefix)
        try:
            live, stale = claims.others(claim_id, prefix)
            if live:
                raise LedgerBusy(f"another replay with prefix {prefix!r} is running ({live[0].describe()}; claim "
                                 f"in {claims.ref}); wait for it to finish, or replay with another dataset_prefix")
            claims.take_over(stale, prefix)
            self._holding = (claim_id, prefix)
            with claims.heartbeats(claim_id, prefix):
                yield
        finally:
            self._holding = None
            claims.release(claim_id, prefix)

    def check_hold(self) -> None:
        """ClaimLost once this run's claim was taken over (ReplayClaims.check); nothing to check outside a hold."""
        if self._holding is not None:
            self.claims.check(*self._holding)

    def holder(self, prefix: str) -> str:
        """The first live claim of `prefix` in the claims table ("" when there is none, or no table): one query,
        reads only (a stale claim is not taken over here, nor named: its run is gone or paused)."""
        if not self.warehouse.table_exists(self.claims.ref):
            return ""
        live, _ = self.claims.others("", prefix)
        return f"{live[0].describe()}; claim in {self.claims.ref}" if live else ""

    def _make_dataset(self) -> None:
        dataset = self.ref.split(".")[-2]
        if self.production_dataset is None or self.warehouse.dataset_exists(dataset):
            return
        location = self.warehouse.dataset_info(self.production_dataset).location
        NewDataset.like(dataset, location, self.ttl_days).create(self.warehouse)

    def entries(self) -> list[LedgerEntry]:
        if not self.warehouse.table_exists(self.ref):
            return []
        frame = self.warehouse.query(f"SELECT * FROM `{self.ref}` ORDER BY recorded_at")
        return [LedgerEntry.from_dict(row) for row in frame.to_dict(orient="records")]

    def write(self, entry: LedgerEntry) -> None:
        if not self._ready:
            self._make_dataset()
            self.warehouse.create_table(self.ref, list(LEDGER_COLUMNS), partition_column=None, exists_ok=True)
            self._ready = True
        values = entry.to_dict()
        values.update(day=entry.day, recorded_at=entry.recorded_at)
        names = [name for name, _ in LEDGER_COLUMNS]
        self.warehouse.execute(f"INSERT INTO `{self.ref}` ({', '.join(names)}) "
                               f"VALUES ({', '.join('@' + n for n in names)})", values)


def replay_holder(target: Any, prefix: str) -> str:
    """Who is replaying `prefix` on the target now (host, process, user, since), "" when nobody is: the lock beside
    the sandbox's ledger file, or a live claim beside the gcp ledger table. Reads only; runbook 04 asks it."""
    home = target.options.get("home")
    if home:   # the sandbox's connector names its home
        from ..local.home import sandbox_home

        return FileLedger(sandbox_home(home).ledger(prefix)).holder(prefix)
    # (a bare warehouse file has no claims table: nobody)
    test = ledger_dataset(target.phases, prefix)[1]
    return WarehouseLedger(target.warehouse, f"{test}.{LEDGER_TABLE}").holder(prefix)


def ledger_dataset(phases: Any, prefix: str) -> tuple[str, str]:
    """(production dataset, test dataset) of the gcp ledger: the first phase's (Phase 3's) first output
    dataset with the prefix, whatever phases a run selects: one ledger per prefix, as in the sandbox."""
    from .prefix import dataset_map

    first = phases.names()[0]
    return next(iter(dataset_map(phases, [first], prefix).test_datasets.items()))


def latest(entries: list[LedgerEntry], prefix: str) -> dict[tuple[date, str], LedgerEntry]:
    """The last entry of each (date, phase) of this prefix."""
    found: dict[tuple[date, str], LedgerEntry] = {}
    for entry in entries:
        if entry.prefix == prefix:
            found[entry.key] = entry
    return found


def finished(entries: list[LedgerEntry], prefix: str, revisions: dict[str, str],
             processors: dict[str, tuple[str, ...]], keys: Iterable[tuple[date, str]] | None = None,
             ) -> tuple[dict[tuple[date, str], LedgerEntry], list[str]]:
    """(what an earlier run finished and need not run again, notes on finished work that must run again).

    Finished means done by the revision that serves the phase now, for the same processors: a redeploy
    since then, or other processors, makes the earlier output not this run's. `keys`, the (date, phase) of
    this run's calls, keeps the answer to them (None: every entry of the prefix)."""
    wanted = None if keys is None else set(keys)
    done, redo = {}, []
    for key, entry in latest(entries, prefix).items():
        # The ledger holds every date any run of the prefix replayed: other dates are no concern of this run's.
        if entry.status != DONE or (wanted is not None and key not in wanted):
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
