"""Runbook 03 on gcp: one replay per prefix at a time, by a claim in the warehouse beside the ledger
(ledger.ReplayClaims). The SQL runs on the sandbox's warehouse, as the BigQuery fake runs it; the end-to-end
refusal through the real BigQuery client is in test_replay_gcp.py."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import warnings
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest

from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.replay.claims import (CLAIM_COLUMNS, CLAIM_LIVE_MINUTES, CLAIMED, Claimant, ClaimLost,
                                       ClaimTakenOver, ReplayClaims, _this_machine)
from runbook_lib.replay.ledger import LedgerBusy, LedgerEntry, WarehouseLedger

DATASET = "test_nba_analytics"
LEDGER = f"{DATASET}.replay_ledger"
CLAIMS = f"{DATASET}.replay_claims"
ELSEWHERE = Claimant("ops-laptop", 4242, "alice", "another-machine")


@pytest.fixture
def warehouse(tmp_path: Path) -> LocalWarehouse:
    found = LocalWarehouse(tmp_path / "warehouse.duckdb")
    found.create_dataset(DATASET, 7)
    return found


def ledger_of(warehouse, claimant: Claimant | None = None, clock=None) -> WarehouseLedger:
    """A run's ledger; `claimant` plays a run of another host or process, `clock` its wall clock."""
    ledger = WarehouseLedger(warehouse, LEDGER)
    if claimant is not None or clock is not None:
        ledger.claims = ReplayClaims(warehouse, CLAIMS, claimant=claimant or Claimant.this_process(),
                                     clock=clock or time.time)
    return ledger


def plant_claim(warehouse, who: Claimant, heartbeat_minutes_ago: float, claim_id: str = "planted") -> None:
    """A claim row of another run, as its hold wrote it, with its last heartbeat that long ago."""
    warehouse.create_table(CLAIMS, list(CLAIM_COLUMNS), partition_column=None, exists_ok=True)
    warehouse.execute(
        f"INSERT INTO `{CLAIMS}` (claim_id, event, prefix, host, machine, pid, username, recorded_at) VALUES "
        f"(@claim_id, '{CLAIMED}', 'test', @host, @machine, @pid, @username, "
        f"TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {int(heartbeat_minutes_ago * 60)} SECOND))",
        {"claim_id": claim_id, "host": who.host, "machine": who.machine, "pid": who.pid, "username": who.username})


def claims_now(warehouse) -> dict[str, bool]:
    """claim id -> released (or taken over)."""
    return {c.claim_id: c.released for c in ReplayClaims(warehouse, CLAIMS).read("test")}


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_replay_while_a_live_claim_of_another_host_is_there_is_refused_naming_it(warehouse):
    plant_claim(warehouse, ELSEWHERE, heartbeat_minutes_ago=2)
    with pytest.raises(LedgerBusy) as refused:
        with ledger_of(warehouse).hold("test"):
            pytest.fail("let in beside a live claim")
    said = str(refused.value)
    assert "another replay with prefix 'test' is running (host ops-laptop, process 4242, user alice, since " in said
    assert said.endswith("wait for it to finish, or replay with another dataset_prefix")
    # Its own claim was released on the way out: only the planted one is still live.
    assert [claim for claim, released in claims_now(warehouse).items() if not released] == ["planted"]


def test_a_live_process_of_this_host_is_refused_too(warehouse):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        plant_claim(warehouse, Claimant(socket.gethostname(), sleeper.pid, "bob", _this_machine()), 1)
        with pytest.raises(LedgerBusy, match=f"process {sleeper.pid}, user bob"):
            with ledger_of(warehouse).hold("test"):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_claim_of_this_host_whose_process_is_gone_is_taken_over_at_once_and_quietly(warehouse):
    plant_claim(warehouse, Claimant(socket.gethostname(), dead_pid(), "bob", _this_machine()), 0)
    ledger = ledger_of(warehouse)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a resume after a kill is the ordinary case: nothing to say
        with ledger.hold("test"):
            assert claims_now(warehouse)["planted"] is True   # retired, not waited for
    assert ledger.claims.notes == []


def test_a_claim_of_this_host_whose_process_is_an_unreaped_zombie_is_taken_over_too(warehouse):
    """A killed kernel its parent has not reaped yet still answers kill(pid, 0): it is gone all the same."""
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{zombie.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":   # exited, not waited for
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.02)
        plant_claim(warehouse, Claimant(socket.gethostname(), zombie.pid, "bob", _this_machine()), 0)
        with ledger_of(warehouse).hold("test"):
            assert claims_now(warehouse)["planted"] is True
    finally:
        zombie.wait()


def test_a_claim_elsewhere_without_a_heartbeat_for_the_live_minutes_is_taken_over_saying_so(warehouse):
    plant_claim(warehouse, ELSEWHERE, heartbeat_minutes_ago=30)
    ledger = ledger_of(warehouse)
    with pytest.warns(ClaimTakenOver) as said:
        with ledger.hold("test"):
            pass
    assert len(said) == 1 and ledger.claims.notes == [str(said[0].message)]
    assert str(said[0].message).startswith(f"took over the replay claim on {CLAIMS} of host ops-laptop, process "
                                           f"4242, user alice, since ")
    assert "no heartbeat for 30 minutes" in str(said[0].message)
    # Said once: the next run finds it retired.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ledger_of(warehouse).hold("test"):
            pass


def test_the_hold_refuses_others_while_it_lasts_and_its_release_lets_the_next_run_in(warehouse):
    with ledger_of(warehouse).hold("test"):
        with pytest.raises(LedgerBusy, match=f"host {socket.gethostname()}, process "):
            with ledger_of(warehouse, ELSEWHERE).hold("test"):
                pass
    with ledger_of(warehouse, ELSEWHERE).hold("test"):
        pass
    assert all(claims_now(warehouse).values())


def test_an_exception_inside_the_hold_still_releases(warehouse):
    with pytest.raises(RuntimeError, match="kernel trouble"):
        with ledger_of(warehouse).hold("test"):
            raise RuntimeError("kernel trouble")
    assert list(claims_now(warehouse).values()) == [True]
    with ledger_of(warehouse, ELSEWHERE).hold("test"):
        pass


def test_two_claims_written_before_either_reads_back_are_both_refused(warehouse):
    """The race a check-then-insert loses: both INSERTs commit, then both read. Each sees the other's claim,
    so both are refused; never are both let in. One run goes through its hold; the other's two steps (claim,
    read back) are driven by hand between this run's."""
    first = ledger_of(warehouse)
    second = ReplayClaims(warehouse, CLAIMS, claimant=Claimant("ci-runner", 77, "carol", "third-machine"))
    claim, others = first.claims.claim, first.claims.others
    theirs: list[str] = []
    seen_by_second: list[str] = []

    def claim_then_theirs(prefix):
        mine = claim(prefix)
        theirs.append(second.claim(prefix))   # the other run's INSERT commits too before either reads back
        return mine

    def both_read_back(claim_id, prefix):
        seen_by_second.extend(c.claimant.host for c in second.others(theirs[0], prefix)[0])
        return others(claim_id, prefix)

    first.claims.claim, first.claims.others = claim_then_theirs, both_read_back
    with pytest.raises(LedgerBusy, match="host ci-runner, process 77, user carol"):
        with first.hold("test"):
            pytest.fail("let in beside a claim it read back")
    assert seen_by_second == [socket.gethostname()]


def test_heartbeats_are_appended_while_the_replay_calls(warehouse):
    ledger = ledger_of(warehouse)
    ledger.claims.heartbeat_s = 0.05
    with ledger.hold("test"):
        time.sleep(0.6)
    events = warehouse.query(f"SELECT event, COUNT(*) AS n FROM `{CLAIMS}` GROUP BY event")
    counted = dict(zip(events["event"], events["n"]))
    assert counted["claimed"] == 1 and counted["released"] == 1 and counted["heartbeat"] >= 2


# ---------------------------------------------------------------- the fence: a run paused past its claim's life


class WallClock:
    """time.time as a run sees it, moved by hand: a suspend is a jump; counts how often it is read."""

    def __init__(self):
        self.now, self.reads = 1_000_000.0, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def sleep(self, minutes: float) -> None:
        self.now += minutes * 60


class Counting:
    """The warehouse, counting what the claims and the ledger ask of it."""

    def __init__(self, inner):
        self.inner, self.queries, self.statements = inner, [], []

    def query(self, sql, params=None):
        self.queries.append(sql)
        return self.inner.query(sql, params)

    def execute(self, sql, params=None):
        self.statements.append(sql)
        return self.inner.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def entry(day: int, status: str = "done") -> LedgerEntry:
    return LedgerEntry(date(2025, 12, day), "phase3", status, "test", "p3-rev")


def heartbeats_of(counted: Counting) -> int:
    """Heartbeat rows in the claims table (read past the count)."""
    return int(counted.inner.query(f"SELECT COUNT(*) AS n FROM `{CLAIMS}` WHERE event = 'heartbeat'")["n"][0])


def asleep_while_another_run_takes_over(warehouse, clock: WallClock, others: ExitStack) -> None:
    """The laptop sleeps CLAIM_LIVE_MINUTES + 5 minutes: its clock jumps, its claim ages in the warehouse, and a
    run elsewhere takes the stale claim over (and holds on, calling)."""
    clock.sleep(CLAIM_LIVE_MINUTES + 5)
    warehouse.execute(f"UPDATE `{CLAIMS}` SET recorded_at = TIMESTAMP_SUB(recorded_at, INTERVAL "
                      f"{CLAIM_LIVE_MINUTES + 5} MINUTE)")
    with pytest.warns(ClaimTakenOver):
        others.enter_context(ledger_of(warehouse, ELSEWHERE).hold("test"))


def test_a_run_that_is_not_paused_checks_its_claim_before_each_call_without_a_query(warehouse):
    counted, clock = Counting(warehouse), WallClock()
    ledger = ledger_of(counted, clock=clock)
    with ledger.hold("test"):
        asked, reads = len(counted.queries), clock.reads
        for day in range(1, 11):   # 10 calls in 8 minutes: within the claim's life, no heartbeat needed
            ledger.check_hold()
            ledger.write(entry(day, "running"))
            ledger.write(entry(day))
            clock.sleep(0.8)
        assert counted.queries[asked:] == [] and clock.reads - reads >= 10   # looked at the clock, asked nothing
        # Past the claim's life without a heartbeat confirmed (a pause nobody used): one read, a heartbeat, on.
        clock.sleep(CLAIM_LIVE_MINUTES)
        ledger.check_hold()
        ledger.write(entry(11))
        assert len(counted.queries) - asked == 1 and CLAIMS in counted.queries[-1] and heartbeats_of(counted) == 1
        ledger.check_hold()
        assert len(counted.queries) - asked == 1
    assert len(ledger.entries()) == 21


def test_a_run_whose_claim_was_taken_over_while_paused_stops_before_its_next_write_naming_the_other_run(warehouse):
    counted, clock = Counting(warehouse), WallClock()
    ledger = ledger_of(counted, clock=clock)
    with ExitStack() as others, pytest.raises(ClaimLost) as lost:
        with ledger.hold("test"):
            ledger.write(entry(15))
            asleep_while_another_run_takes_over(warehouse, clock, others)
            asked, written = len(counted.queries), len(counted.statements)
            ledger.check_hold()   # as the Replayer does before each write
            ledger.write(entry(16, "running"))
    said = str(lost.value)
    assert said.startswith(f"the replay claim on {CLAIMS} was taken over by another replay (host ops-laptop, "
                           f"process 4242, user alice, since ")
    assert f"while this run wrote no heartbeat for {CLAIM_LIVE_MINUTES + 5} minutes (paused" in said
    assert said.endswith("so a resume is safe once no other replay of prefix 'test' is running")
    assert len(counted.queries) - asked == 1                      # one read of its claim, nothing more
    assert [(e.day.day, e.status) for e in ledger_of(warehouse).entries()] == [(15, "done")]
    assert heartbeats_of(counted) == 0 and all("replay_ledger" not in sql for sql in counted.statements[written:])
    # Once lost, always lost: every later check stops at once, without asking the warehouse again.
    ours = [c.claim_id for c in ReplayClaims(warehouse, CLAIMS).read("test") if c.claimant.host != "ops-laptop"]
    with pytest.raises(ClaimLost):
        ledger.claims.check(ours[0], "test")
    assert len(counted.queries) - asked == 1


def test_the_heartbeat_thread_records_each_heartbeat_confirmed_so_checks_stay_free(warehouse):
    counted, clock = Counting(warehouse), WallClock()
    ledger = ledger_of(counted, clock=clock)
    ledger.claims.heartbeat_s = 0.02
    with ledger.hold("test"):
        for _ in range(3):   # 24 minutes in all, each 8 followed by a heartbeat confirmed
            clock.sleep(8)
            beats = heartbeats_of(counted)
            deadline = time.monotonic() + 10
            while heartbeats_of(counted) < beats + 2:   # a whole one written after the clock moved
                assert time.monotonic() < deadline, "no heartbeat"
                time.sleep(0.01)
            asked = len(counted.queries)
            ledger.check_hold()
            assert len(counted.queries) == asked


def test_a_heartbeat_that_finds_the_claim_taken_over_sets_the_flag_the_next_check_stops_on(warehouse):
    counted, clock = Counting(warehouse), WallClock()
    ledger = ledger_of(counted, clock=clock)
    ledger.claims.heartbeat_s = 0.02
    with ExitStack() as others, pytest.raises(ClaimLost, match=r"was taken over by another replay \(host ops-laptop"):
        with ledger.hold("test"):
            with ledger.claims._fence:   # asleep: its heartbeat thread is as still as the rest of the run
                asleep_while_another_run_takes_over(warehouse, clock, others)
                asked, written = len(counted.queries), len(counted.statements)
            deadline = time.monotonic() + 10
            while len(counted.queries) == asked:   # awake: the thread's next beat reads the claim first
                assert time.monotonic() < deadline, "the heartbeat never looked"
                time.sleep(0.01)
            with ledger.claims._fence:   # its verdict is in
                pass
            assert counted.statements[written:] == []   # no heartbeat for a claim that is another run's
            ledger.check_hold()
    assert len(counted.queries) - asked == 1   # the thread's read; the check stopped on its flag


def test_a_claim_gone_stale_while_paused_stops_the_run_even_before_anyone_took_it_over(warehouse):
    """Another run may be reading it stale right now and would not know this one came back."""
    clock = WallClock()
    ledger = ledger_of(warehouse, clock=clock)
    with pytest.raises(ClaimLost, match=f"went stale while this run wrote no heartbeat for {CLAIM_LIVE_MINUTES + 1} "
                                        "minutes .*, so another replay may take it over at any moment; "):
        with ledger.hold("test"):
            clock.sleep(CLAIM_LIVE_MINUTES + 1)
            warehouse.execute(f"UPDATE `{CLAIMS}` SET recorded_at = TIMESTAMP_SUB(recorded_at, INTERVAL "
                              f"{CLAIM_LIVE_MINUTES + 1} MINUTE)")
            ledger.check_hold()   # as the Replayer does before each write
            ledger.write(entry(15))
    assert ledger.entries() == []
    nobody_paused = ledger_of(warehouse, ELSEWHERE)
    with nobody_paused.hold("test"):   # released on the way out: the next run takes nothing over
        pass
    assert nobody_paused.claims.notes == []
