"""The replay's ledger: each (date, phase)'s status, written the moment it changes, so a rerun with
resume=True skips what finished even after the kernel was killed mid-run.

Two homes, one format: a JSON-lines file under the sandbox home (the sandbox's warehouse file is
shared with the phase services that are writing it during the replay), and in the cloud a table in
one of the replay's own test datasets. The latest entry of a (date, phase) is its status; a "running"
entry without a later one is a call that was cut short, and is made again.

One replay per prefix at a time: on the sandbox an flock beside the ledger file; in the cloud a claim in a
table beside the ledger table (ReplayClaims: append-only claim, heartbeat and release rows, read back after
the claim is written).
"""
from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
import threading
import uuid
import warnings
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Protocol

from ..checks import as_date
from ..errors import RunbookError
from ..local.processes import pid_alive
from .datasets import NewDataset

LEDGER_TABLE = "replay_ledger"
LEDGER_COLUMNS = (("day", "DATE"), ("phase", "STRING"), ("status", "STRING"), ("attempts", "INT64"),
                  ("seconds", "FLOAT64"), ("revision", "STRING"), ("processors", "STRING"), ("prefix", "STRING"),
                  ("error", "STRING"), ("recorded_at", "TIMESTAMP"))
RUNNING, DONE, FAILED = "running", "done", "failed"

CLAIMS_TABLE = "replay_claims"   # beside the ledger table: the kit's own, never a replay output
# One row per event of a claim (append-only: INSERT is the one DML that never conflicts with another).
CLAIM_COLUMNS = (("claim_id", "STRING"), ("event", "STRING"), ("prefix", "STRING"), ("host", "STRING"),
                 ("machine", "STRING"), ("pid", "INT64"), ("username", "STRING"), ("recorded_at", "TIMESTAMP"))
CLAIMED, HEARTBEAT, RELEASED, TAKEN_OVER = "claimed", "heartbeat", "released", "taken over"
CLAIM_LIVE_MINUTES = 10          # a claim without a heartbeat for this long is stale (its run died elsewhere)


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

    @property
    def notes(self) -> list[str]:
        """What holding it found that the operator should read (a stale claim of another run taken over)."""


class LedgerBusy(RunbookError):
    """Another replay with the same prefix holds its ledger: both would make every call twice."""


class FileLedger:
    """One JSON line per status change; flushed and fsynced before write() returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.where = str(self.path)

    @property
    def notes(self) -> list[str]:
        return []   # an flock goes with its process: nothing is ever taken over

    @contextmanager
    def hold(self, prefix: str) -> Iterator[None]:
        """One replay per prefix at a time: an flock on a file beside the ledger while the replay calls. The
        lock goes with the process (a killed run never blocks its resume); LedgerBusy names the holder."""
        lock = self.path.with_name(self.path.name + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise LedgerBusy(f"another replay with prefix {prefix!r} is running ({holder}); wait for it to "
                                 f"finish, or replay with another dataset_prefix") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"process {os.getpid()} since {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}")
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


class ClaimTakenOver(UserWarning):
    """A replay took over the claim of a run elsewhere that stopped sending heartbeats."""


class ClaimNotReleased(UserWarning):
    """A replay's claim could not be released: the next replay of its prefix waits for it to go stale."""


_HELD_HERE: set[str] = set()   # the claims this process holds now (a claim of this process not in it was left)
_HELD_LOCK = threading.Lock()


def _this_machine() -> str:
    """This machine and pid namespace, as one key: a pid names one process only within both. Host names
    repeat (containers, `localhost` on Cloud Run) and containers on one host share its boot id, so the name
    alone would let a claim whose pid merely does not exist here be taken for a dead run of this host."""
    parts = [socket.gethostname()]
    for read in (lambda: Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip(),
                 lambda: os.readlink("/proc/self/ns/pid")):
        try:
            parts.append(read())
        except OSError:
            continue   # not Linux: the host name is all there is
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _this_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):   # a container's uid without a passwd entry
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class Claimant:
    """Who claims: shown to the operator a claim refuses (host, pid, user); `machine` decides "this host"."""
    host: str
    pid: int
    username: str
    machine: str

    @classmethod
    def this_process(cls) -> "Claimant":
        return cls(socket.gethostname(), os.getpid(), _this_user(), _this_machine())


@dataclass(frozen=True)
class Claim:
    """One claim as read back: its rows folded (when claimed, how long quiet, released or taken over)."""
    claim_id: str
    claimant: Claimant
    started_at: datetime | None
    quiet_s: float            # seconds since its last heartbeat, by the warehouse's clock (no skew between hosts)
    released: bool

    def stale_because(self, here: Claimant, live_minutes: float) -> str:
        """"" while the claim is live, else why not: released, no heartbeat for live_minutes, or a run of this
        host that is gone (its pid is not alive: a resume after a kill need not wait for the heartbeat to age)."""
        if self.released:
            return "released"
        if self.quiet_s > live_minutes * 60:
            return f"no heartbeat for {self.quiet_s / 60:.0f} minutes"
        if self.claimant.machine == here.machine:
            if self.claimant.pid == here.pid:
                with _HELD_LOCK:
                    held = self.claim_id in _HELD_HERE
                return "" if held else "left by this process (its release was lost)"
            if not pid_alive(self.claimant.pid):   # a zombie too: a killed kernel not reaped yet
                return f"process {self.claimant.pid} of this host is gone"
        return ""

    def describe(self) -> str:
        """host, process, user, since: for a refusal or a take-over."""
        who = self.claimant
        return f"host {who.host}, process {who.pid}, user {who.username}, since {_utc(self.started_at)}"


def _seconds(value: Any) -> float:
    """A claim without a heartbeat row (none of its own: never live) has no age: older than any."""
    return float("inf") if value is None or value != value else float(value)


def _utc(moment: Any) -> str:
    if moment is None or moment != moment:   # None, NaT
        return "an unknown time"
    stamp = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class ReplayClaims:
    """One replay per prefix at a time in BigQuery, whose DML offers no lock: a claim that holds anyway.

    BigQuery runs INSERTs into one table concurrently, each DML its own transaction committed when it ends,
    and a query started after a commit sees it. An `INSERT ... WHERE NOT EXISTS (a live claim)` is no lock
    (two INSERTs each read their own snapshot, where the other's row is not yet, and both go in). So a run
    first APPENDS its claim, and only after that INSERT committed reads every claim back: of two runs, the
    one reading second sees the other's committed claim and is refused; when both claims commit before
    either reads, both see the other and both are refused (then retried by hand); never are both let in.

    Every event is a row (claimed, heartbeat, released, taken over), appended: no UPDATE to conflict with
    another. A claim is live while not released and its last heartbeat is under CLAIM_LIVE_MINUTES old by
    the warehouse's clock; a daemon thread appends a heartbeat every third of that while the replay calls.
    A claim of this machine whose process is gone is stale at once, so a resume after a kill never waits.
    Claims have their own table: heartbeats spend none of the ledger table's INSERT quota (1,500 a day run
    at once, then queued), and nothing that reads a test dataset's phase tables lists it as an output.

    Its limit, as any lease without fencing: a run paused past CLAIM_LIVE_MINUTES (a laptop asleep) that
    wakes up keeps calling after another run took its stale claim over; the take-over says so."""

    def __init__(self, warehouse: Any, ref: str, live_minutes: float = CLAIM_LIVE_MINUTES,
                 claimant: Claimant | None = None):
        self.warehouse, self.ref, self.live_minutes = warehouse, ref, live_minutes
        self.claimant = claimant or Claimant.this_process()
        self.heartbeat_s = live_minutes * 60 / 3
        self.notes: list[str] = []   # one line per claim taken over, for the runbook to show

    def make_table(self) -> None:
        self.warehouse.create_table(self.ref, list(CLAIM_COLUMNS), partition_column=None, exists_ok=True)

    def claim(self, prefix: str) -> str:
        """Step 1: append this run's claim; its id."""
        claim_id = uuid.uuid4().hex
        with _HELD_LOCK:
            _HELD_HERE.add(claim_id)
        self._append(claim_id, CLAIMED, prefix, self.claimant)
        return claim_id

    def others(self, claim_id: str, prefix: str) -> tuple[list[Claim], list[tuple[Claim, str]]]:
        """Step 2, after the claim committed: (other live claims, other stale claims not yet retired, each with
        why it is stale)."""
        live, stale = [], []
        for found in self.read(prefix):
            if found.claim_id == claim_id or found.released:
                continue
            why = found.stale_because(self.claimant, self.live_minutes)
            if why:
                stale.append((found, why))
            else:
                live.append(found)
        return live, stale

    def read(self, prefix: str) -> list[Claim]:
        """Every claim of the prefix, folded in the warehouse. CURRENT_TIMESTAMP() also keeps BigQuery from
        answering from its query cache."""
        frame = self.warehouse.query(
            f"SELECT claim_id, ANY_VALUE(host) AS host, ANY_VALUE(machine) AS machine, ANY_VALUE(pid) AS pid, "
            f"ANY_VALUE(username) AS username, "
            f"MIN(IF(event = '{CLAIMED}', recorded_at, NULL)) AS started_at, "
            f"TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), MAX(IF(event IN ('{CLAIMED}', '{HEARTBEAT}'), recorded_at, NULL)), "
            f"SECOND) AS quiet_s, "
            f"LOGICAL_OR(event IN ('{RELEASED}', '{TAKEN_OVER}')) AS released "
            f"FROM `{self.ref}` WHERE prefix = @prefix GROUP BY claim_id ORDER BY started_at", {"prefix": prefix})
        return [Claim(str(row["claim_id"]), Claimant(str(row["host"]), int(row["pid"]), str(row["username"]),
                                                     str(row["machine"])),
                      row["started_at"], _seconds(row["quiet_s"]), bool(row["released"]))
                for row in frame.to_dict(orient="records")]

    def take_over(self, stale: list[tuple[Claim, str]], prefix: str) -> None:
        """Retire stale claims, as others() found them with why (a row each, so later runs do not say it again);
        a run elsewhere that stopped sending heartbeats is said, one line: it may still be calling."""
        for found, why in stale:
            self._append(found.claim_id, TAKEN_OVER, prefix, found.claimant)
            if found.claimant.machine != self.claimant.machine:
                note = (f"took over the replay claim on {self.ref} of {found.describe()}: {why}; if that run is "
                        f"still calling, stop it")
                self.notes.append(note)
                warnings.warn(note, ClaimTakenOver, stacklevel=4)

    def release(self, claim_id: str, prefix: str) -> None:
        """Append the release; a failure is said, never raised (the calls are done; the claim goes stale)."""
        with _HELD_LOCK:
            _HELD_HERE.discard(claim_id)
        try:
            self._append(claim_id, RELEASED, prefix, self.claimant)
        except Exception as exc:  # noqa: BLE001 - whatever it was, the replay itself is over
            warnings.warn(f"the replay claim on {self.ref} could not be released ({exc}); another replay with "
                          f"prefix {prefix!r} elsewhere is refused until it is {self.live_minutes:g} minutes old",
                          ClaimNotReleased, stacklevel=4)

    @contextmanager
    def heartbeats(self, claim_id: str, prefix: str) -> Iterator[None]:
        """A daemon thread appending a heartbeat every heartbeat_s while the body runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_s):
                try:
                    self._append(claim_id, HEARTBEAT, prefix, self.claimant)
                except Exception:  # noqa: BLE001 - the next beat tries again; the claim is live for 3 beats
                    continue

        thread = threading.Thread(target=beat, name=f"replay-claim-{claim_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=self.heartbeat_s)

    def _append(self, claim_id: str, event: str, prefix: str, who: Claimant) -> None:
        names = [name for name, _ in CLAIM_COLUMNS if name != "recorded_at"]
        values = {"claim_id": claim_id, "event": event, "prefix": prefix, "host": who.host,
                  "machine": who.machine, "pid": who.pid, "username": who.username}
        self.warehouse.execute(f"INSERT INTO `{self.ref}` ({', '.join(names)}, recorded_at) "
                               f"VALUES ({', '.join('@' + n for n in names)}, CURRENT_TIMESTAMP())", values)


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

    @property
    def notes(self) -> list[str]:
        return list(self.claims.notes)

    @contextmanager
    def hold(self, prefix: str) -> Iterator[None]:
        """One replay per prefix at a time: a claim in the claims table beside the ledger (ReplayClaims), made
        in the ledger's dataset (created here if it is not there yet), released at the end, also on an
        exception or a refusal. LedgerBusy names the other run: host, process, user, since."""
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
            with claims.heartbeats(claim_id, prefix):
                yield
        finally:
            claims.release(claim_id, prefix)

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
