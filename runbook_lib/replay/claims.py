"""One replay per prefix at a time in BigQuery, whose DML offers no lock: the claims table beside the ledger.

A run appends its claim, reads every claim of its prefix back and is refused on another live one; a heartbeat
keeps its claim live, a release ends it; a claim gone quiet for CLAIM_LIVE_MINUTES (or whose process on this
host is gone) is taken over; and a run whose own claim was taken over while it was paused stops before its next
call (ClaimLost). WarehouseLedger (ledger.py) holds one while a replay on target=gcp calls.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import socket
import threading
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import RunbookError
from ..local.processes import pid_alive

CLAIMS_TABLE = "replay_claims"   # beside the ledger table: the kit's own, never a replay output
# One row per event of a claim (append-only: INSERT is the one DML that never conflicts with another).
CLAIM_COLUMNS = (("claim_id", "STRING"), ("event", "STRING"), ("prefix", "STRING"), ("host", "STRING"),
                 ("machine", "STRING"), ("pid", "INT64"), ("username", "STRING"), ("recorded_at", "TIMESTAMP"))
CLAIMED, HEARTBEAT, RELEASED, TAKEN_OVER = "claimed", "heartbeat", "released", "taken over"
CLAIM_LIVE_MINUTES = 10          # a claim without a heartbeat for this long is stale (its run died elsewhere)


class ClaimLost(RunbookError):
    """This run's claim on its prefix was taken over (or went stale) while the run was paused: another replay
    may be calling for the prefix, so this one stops before its next call and writes nothing more."""


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

    A run paused past CLAIM_LIVE_MINUTES (a laptop asleep, a debugger, a stopped container) may find its claim
    taken over when it wakes, so check() fences each call (each attempt: a retry after a pause is a call too)
    and each ledger write: free while a heartbeat of its own was confirmed written within trusted_s by the wall
    clock (nobody can have found the claim stale), else one query reads the claim back; taken over, or as
    quiet by the warehouse's clock, the run stops (ClaimLost, naming the other run); else a heartbeat is
    appended at once and the run goes on. A heartbeat due after such a pause reads the claim first too, and
    one that finds it taken over leaves a flag every later check stops on. Its limit: a run paused in the
    middle of one call (or of each of its `concurrency` calls out at once) still finishes that call when it
    wakes, beside the run that took over; that call's ledger row is not written, so a resume makes it again."""

    def __init__(self, warehouse: Any, ref: str, live_minutes: float = CLAIM_LIVE_MINUTES,
                 claimant: Claimant | None = None, clock: Callable[[], float] = time.time):
        self.warehouse, self.ref, self.live_minutes = warehouse, ref, live_minutes
        self.claimant = claimant or Claimant.this_process()
        self.heartbeat_s = live_minutes * 60 / 3
        # A heartbeat confirmed this recently keeps the claim live for everyone; a tenth of the live minutes is
        # spare, as an append commits after it started and a wall clock can be stepped back.
        self.trusted_s = live_minutes * 60 * 0.9
        # The wall clock, which counts a suspend as the warehouse's does (time.monotonic on Linux does not).
        self.clock = clock
        self.notes: list[str] = []   # one line per claim taken over, for the runbook to show
        self._confirmed: dict[str, float] = {}   # claim id -> when its last claim or heartbeat row was written
        self._lost: dict[str, str] = {}          # claim id -> why it is not this run's any more (ClaimLost's text)
        self._fence = threading.Lock()           # one check at a time: the calls' threads wait for its verdict

    def make_table(self) -> None:
        self.warehouse.create_table(self.ref, list(CLAIM_COLUMNS), partition_column=None, exists_ok=True)

    def claim(self, prefix: str) -> str:
        """Step 1: append this run's claim; its id."""
        claim_id = uuid.uuid4().hex
        with _HELD_LOCK:
            _HELD_HERE.add(claim_id)
        started = self.clock()
        self._append(claim_id, CLAIMED, prefix, self.claimant)
        self._confirmed[claim_id] = started
        return claim_id

    def check(self, claim_id: str, prefix: str) -> None:
        """The fence, before each call and each ledger write: ClaimLost once the claim is not this run's any
        more. No query while a heartbeat was confirmed within trusted_s; past that, one (then a heartbeat)."""
        if claim_id not in self._lost and not self._may_be_lost(claim_id):
            return
        with self._fence:
            if claim_id in self._lost or self._may_be_lost(claim_id):   # not settled by another thread meanwhile
                self._beat(claim_id, prefix)

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
                    with self._fence:
                        self._beat(claim_id, prefix)
                except ClaimLost:
                    return   # the claim is another run's: the replay's next check stops it
                except Exception:  # noqa: BLE001 - the next beat tries again; the claim is live for 3 beats
                    continue

        thread = threading.Thread(target=beat, name=f"replay-claim-{claim_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=self.heartbeat_s)

    def _may_be_lost(self, claim_id: str) -> bool:
        return self.clock() - self._confirmed.get(claim_id, float("-inf")) >= self.trusted_s

    def _beat(self, claim_id: str, prefix: str) -> None:
        """A heartbeat, with the fence held; when it may come too late (the run was paused), the claim is read
        first, and a claim taken over gets no heartbeat: ClaimLost, remembered for every later check."""
        if claim_id in self._lost:
            raise ClaimLost(self._lost[claim_id])
        if self._may_be_lost(claim_id):
            self._still_ours(claim_id, prefix)
        started = self.clock()
        self._append(claim_id, HEARTBEAT, prefix, self.claimant)
        self._confirmed[claim_id] = started

    def _still_ours(self, claim_id: str, prefix: str) -> None:
        """One query: ClaimLost when the claim was taken over, or is stale by the warehouse's clock (another run
        may be taking it over now, and would not know this one came back)."""
        found = self.read(prefix)
        mine = next((c for c in found if c.claim_id == claim_id), None)
        if mine is not None and not mine.released and mine.quiet_s < self.trusted_s:
            return
        silent = (self.clock() - self._confirmed.get(claim_id, self.clock())) / 60
        paused = f"while this run wrote no heartbeat for {silent:.0f} minutes (paused: asleep, in a debugger, stopped)"
        taker = next((c for c in reversed(found) if c.claim_id != claim_id and not c.released), None)
        if mine is not None and not mine.released:
            what = f"went stale {paused}, so another replay may take it over at any moment"
        else:
            what = f"was taken over by another replay ({taker.describe() if taker else 'since ended'}) {paused}"
        self._lost[claim_id] = (
            f"the replay claim on {self.ref} {what}; this run stopped before its next call and writes nothing more, "
            f"and the dates it finished are in its ledger, so a resume is safe once no other replay of prefix "
            f"{prefix!r} is running")
        raise ClaimLost(self._lost[claim_id])

    def _append(self, claim_id: str, event: str, prefix: str, who: Claimant) -> None:
        names = [name for name, _ in CLAIM_COLUMNS if name != "recorded_at"]
        values = {"claim_id": claim_id, "event": event, "prefix": prefix, "host": who.host,
                  "machine": who.machine, "pid": who.pid, "username": who.username}
        self.warehouse.execute(f"INSERT INTO `{self.ref}` ({', '.join(names)}, recorded_at) "
                               f"VALUES ({', '.join('@' + n for n in names)}, CURRENT_TIMESTAMP())", values)
