"""Runbook 03, step 5 without a sandbox: retries with exponential backoff and jitter on 429, 500, 503 and
timeouts, an expired token minted again, the order of the calls (a phase's date after the phase before it
finished that date, at most `concurrency` at once, the first call of a phase alone), and the ledger that
lets a rerun skip what finished."""
from __future__ import annotations

import http.server
import socket
import re
import threading
import time
from datetime import date

import pytest

from runbook_lib.errors import RunbookError, ServiceTimeout
from runbook_lib.phases import load_phases
from runbook_lib.replay import (Call, FileLedger, LedgerEntry, Replayer, RetryPolicy, Tokens, call_with_retries,
                                finished, payload_for, plan_calls)
from runbook_lib.services import ServiceResponse

from local_helpers import serving

PHASES = load_phases()
DAYS = [date(2025, 12, 15), date(2025, 12, 16), date(2025, 12, 17)]


class FakeServices:
    """invoke() answers from a script per (phase, day): a list of statuses or exceptions, then 200."""

    def __init__(self, script=None, delay=0.0):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.delay = delay
        self.calls: list[tuple[str, str, str]] = []       # (phase, day, token)
        self.in_flight = 0
        self.most_in_flight = 0
        self.minted = 0
        self._lock = threading.Lock()

    def identity_token(self, principal=None, phase=None):
        with self._lock:
            self.minted += 1
            return f"token-{self.minted}"

    def invoke(self, phase, payload, token=None, user_agent=None, remote_ip=None):
        day = payload.get("analysis_date") or payload.get("start_date")
        with self._lock:
            self.calls.append((phase, day, token))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            steps = self.script.get((phase, day), [])
            step = steps.pop(0) if steps else 200
        try:
            time.sleep(self.delay)
            if isinstance(step, Exception):
                raise step
            if isinstance(step, ServiceResponse):   # an answer as it is (headers, a body of its own)
                return step
            if step == 401 and token != f"token-{self.minted}":
                return ServiceResponse(401, {"error": "expired"})
            return ServiceResponse(step, {"status": "ok" if step == 200 else "error", "error": f"answer {step}"})
        finally:
            with self._lock:
                self.in_flight -= 1


class Sleeps:
    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _policy(**kw) -> tuple[RetryPolicy, Sleeps]:
    sleeps = Sleeps()
    return RetryPolicy(sleep=sleeps, **{"base_s": 1.0, "max_s": 30.0, **kw}), sleeps


def _call(phase="phase3", day=DAYS[0]) -> Call:
    return Call(day, phase, payload_for(PHASES.get(phase), day, (), "test"))


# ---------------------------------------------------------------- one call


def test_two_503s_then_success_is_done_after_three_attempts_with_jittered_exponential_backoff():
    services = FakeServices({("phase3", "2025-12-15"): [503, 503]})
    policy, sleeps = _policy()
    outcome = call_with_retries(services, Tokens(services), _call(), policy)
    assert (outcome.status, outcome.attempts, outcome.http_status, outcome.error) == ("done", 3, 200, "")
    # Full jitter: retry n waits a random time in [0, base * 2**n]; never the same fixed delay twice in a row.
    assert len(sleeps.waits) == 2 and 0 <= sleeps.waits[0] <= 2.0 and 0 <= sleeps.waits[1] <= 4.0


@pytest.mark.parametrize("failure", [429, 500, 503, ServiceTimeout("no answer within 300s")])
def test_each_transient_failure_is_retried(failure):
    services = FakeServices({("phase3", "2025-12-15"): [failure]})
    outcome = call_with_retries(services, Tokens(services), _call(), _policy()[0])
    assert (outcome.status, outcome.attempts) == ("done", 2)


def test_backoff_is_capped_and_random():
    policy, sleeps = _policy(attempts=8, base_s=1.0, max_s=5.0)
    services = FakeServices({("phase3", "2025-12-15"): [503] * 7})
    assert call_with_retries(services, Tokens(services), _call(), policy).attempts == 8
    assert len(sleeps.waits) == 7 and all(0 <= w <= 5.0 for w in sleeps.waits) and len(set(sleeps.waits)) > 1


def test_a_call_that_keeps_failing_is_failed_with_its_last_answer():
    services = FakeServices({("phase4", "2025-12-15"): [503] * 9})
    outcome = call_with_retries(services, Tokens(services), _call("phase4"), _policy(attempts=3)[0])
    assert (outcome.status, outcome.attempts, outcome.http_status) == ("failed", 3, 503)
    assert outcome.error == "HTTP 503: answer 503"


def test_a_timeout_on_the_last_attempt_is_a_failure_sentence_not_a_crash():
    services = FakeServices({("phase3", "2025-12-15"): [ServiceTimeout("POST /process-date-range got no answer")] * 2})
    outcome = call_with_retries(services, Tokens(services), _call(), _policy(attempts=2)[0])
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.error == "POST /process-date-range got no answer"


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_refusal_is_not_retried(status):
    services = FakeServices({("phase3", "2025-12-15"): [status]})
    policy, sleeps = _policy()
    outcome = call_with_retries(services, Tokens(services), _call(), policy)
    assert (outcome.status, outcome.attempts, sleeps.waits) == ("failed", 1, [])


def test_an_expired_token_is_minted_again_once_and_never_shown():
    services = FakeServices({("phase3", "2025-12-15"): [401]})
    tokens = Tokens(services)
    tokens.get("phase3")
    services.minted += 1   # the first token expired meanwhile
    outcome = call_with_retries(services, tokens, _call(), _policy()[0])
    assert outcome.status == "done" and [c[2] for c in services.calls] == ["token-1", "token-3"]
    assert "token" not in str(outcome.to_dict())


def test_an_error_that_is_no_service_answer_fails_the_call_with_its_sentence():
    services = FakeServices({("phase3", "2025-12-15"): [RunbookError("Cloud Run service for phase3 has no URL.")]})
    outcome = call_with_retries(services, Tokens(services), _call(), _policy()[0])
    assert (outcome.status, outcome.attempts, outcome.error) == ("failed", 1, "Cloud Run service for phase3 has no URL.")


def test_payloads_are_the_phases_own_with_the_prefix_and_no_downstream_triggers():
    assert payload_for(PHASES.get("phase3"), DAYS[0], ("player_game_summary",), "test") == {
        "start_date": "2025-12-15", "end_date": "2025-12-15", "processors": ["player_game_summary"],
        "backfill_mode": True, "dataset_prefix": "test"}
    assert payload_for(PHASES.get("phase4"), DAYS[0], (), "test") == {
        "analysis_date": "2025-12-15", "processors": [], "backfill_mode": True, "dataset_prefix": "test",
        "strict_mode": True, "skip_dependency_check": False}


def test_retry_after_is_waited_at_least_and_cut_to_what_is_left_of_the_calls_patience():
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=100), usegmt=True)
    services = FakeServices({("phase3", "2025-12-15"): [
        ServiceResponse(429, {"error": "rate limited"}, {"retry-after": "20"}),
        ServiceResponse(503, {"error": "busy"}, {"retry-after": later})]})
    policy, sleeps = _policy(base_s=0.01, max_s=0.02, patience_s=50)
    outcome = call_with_retries(services, Tokens(services), _call(), policy)
    assert (outcome.status, outcome.attempts) == ("done", 3)
    assert sleeps.waits[0] == 20 and sleeps.waits[1] == 30     # asked ~100 s, 30 s of the 50 s patience were left
    assert outcome.note.startswith("the service asked to wait 9") and outcome.note.endswith(
        "s (Retry-After); waited 30s, what was left of the call's patience (50s)")


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
@pytest.mark.parametrize("header", ["Wed, 31 Dec 2025 08:01:00 GMT", "Wed Dec 31 08:01:00 2025",
                                    "Wed, 31 Dec 2025 08:01:00 -0000", "Wednesday, 31-Dec-25 08:01:00 GMT"])
def test_a_retry_after_date_is_gmt_in_every_form_and_every_zone(header, zone, monkeypatch):
    # RFC 9110 5.6.7: all HTTP dates are GMT, assumed so in asctime's form; Python reads that form and a -0000
    # zone as naive times, which .timestamp() took in the machine's zone (/work/probes/timezones finding 2)
    from datetime import datetime, timezone
    from runbook_lib.replay.run import retry_after_s

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        now = datetime(2025, 12, 31, 8, 0, tzinfo=timezone.utc).timestamp()
        assert retry_after_s(ServiceResponse(503, {}, {"retry-after": header}), now=now) == 60.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("status", ["failed", "error"])
def test_a_2xx_whose_body_says_the_run_failed_is_a_failed_call_and_phase4_does_not_follow(status):
    body = {"status": status, "run": {"status": status, "processors": [
        {"processor": "player_game_summary", "status": "failed", "rows_written": 0, "error": "400 Invalid dataset ID"}]}}
    services = FakeServices({("phase3", "2025-12-15"): [ServiceResponse(200, body)]})
    ledger = MemoryLedger()
    outcomes = {(o.phase, o.day.isoformat()): o for o in _replayer(services, ledger).run(_calls(), {})}
    first = outcomes[("phase3", "2025-12-15")]
    assert (first.status, first.attempts, first.http_status) == ("failed", 1, 200)
    assert first.error == f"HTTP 200 but the answer says status {status!r}: player_game_summary: 400 Invalid dataset ID"
    assert outcomes[("phase4", "2025-12-15")].status == "not run"
    done, _ = finished(ledger.entries(), "test", {"phase3": "p3-rev", "phase4": "p4-rev"}, {"phase3": (), "phase4": ()})
    assert (DAYS[0], "phase3") not in done and (DAYS[0], "phase4") not in done


def test_a_dropped_connection_is_retried_like_a_timeout():
    from runbook_lib.services import ConnectionDropped

    services = FakeServices({("phase3", "2025-12-15"): [ConnectionDropped("dropped"), ConnectionDropped("dropped")]})
    outcome = call_with_retries(services, Tokens(services), _call(), _policy()[0])
    assert (outcome.status, outcome.attempts) == ("done", 3)


# ---------------------------------------------------------------- many calls


class MemoryLedger:
    where = "memory"

    def __init__(self, entries=()):
        self.written = list(entries)

    def entries(self):
        return list(self.written)

    def write(self, entry):
        self.written.append(entry)

    def check_hold(self):
        pass   # nothing holds it: never taken over


def _replayer(services, ledger=None, concurrency=2, after_first=None, **kw) -> Replayer:
    return Replayer(services, Tokens(services), ledger or MemoryLedger(), "test",
                    {"phase3": "p3-rev", "phase4": "p4-rev"}, {"phase3": (), "phase4": ()},
                    concurrency=concurrency, policy=_policy()[0], after_first=after_first, progress=False, **kw)


def _calls():
    return plan_calls([PHASES.get("phase3"), PHASES.get("phase4")], DAYS, {}, "test")


class TakenOverLedger(MemoryLedger):
    """A gcp ledger whose claim another run takes over (this run paused) once `writes` rows are written."""

    def __init__(self, writes):
        super().__init__()
        self.writes = writes

    def check_hold(self):
        from runbook_lib.replay.claims import ClaimLost

        if len(self.written) >= self.writes:
            raise ClaimLost("the replay claim was taken over by another replay (host ops-laptop, process 4242)")


def test_a_run_whose_hold_is_lost_stops_before_its_next_call_and_writes_nothing_more():
    from runbook_lib.replay.claims import ClaimLost

    services, ledger = FakeServices(), TakenOverLedger(writes=2)   # phase3's first date running, then done
    with pytest.raises(ClaimLost, match="host ops-laptop"):
        _replayer(services, ledger, concurrency=1).run(_calls(), {})
    assert [(phase, day) for phase, day, _ in services.calls] == [("phase3", "2025-12-15")]
    assert [(e.phase, e.status) for e in ledger.written] == [("phase3", "running"), ("phase3", "done")]


def test_a_retry_after_the_hold_was_lost_is_never_sent():
    """A pause in a retry's backoff: the next attempt is a call too, and the hold is checked before it."""
    from runbook_lib.replay.claims import ClaimLost

    services = FakeServices({("phase3", "2025-12-15"): [503]})
    checks = []

    def check_hold():
        checks.append(len(services.calls))
        if len(checks) > 1:
            raise ClaimLost("the replay claim was taken over")

    with pytest.raises(ClaimLost):
        call_with_retries(services, Tokens(services), _call(), _policy()[0], check_hold)
    assert len(services.calls) == 1 and checks == [0, 1]


class Rerouted(FakeServices):
    """Cloud Run's traffic as traffic_now() reads it: phase4's moves to a split with a revision nobody checked
    once `after` calls were answered (a rollback, another operator's redeploy)."""

    def __init__(self, after: int, split=(("p4-rev", 90), ("p4-old", 10))):
        super().__init__()
        self.after, self.split, self.described = after, split, []

    def traffic_now(self, phase):
        self.described.append(phase)
        return list(self.split) if phase == "phase4" and len(self.calls) >= self.after else [(f"p{phase[-1]}-rev", 100)]


def test_a_phase_whose_traffic_moves_to_an_unchecked_revision_gets_no_call_more():
    services, ledger = Rerouted(after=3), MemoryLedger()   # phase3 15th, phase4 15th, phase3 16th answered
    replayer = _replayer(services, ledger, concurrency=1,
                         serving={"phase3": ("p3-rev",), "phase4": ("p4-rev",)})
    outcomes = {(o.phase, o.day.isoformat()): o for o in replayer.run(_calls(), {})}
    stop = ("Stopped: phase4's traffic moved from p4-rev to p4-rev (90%), p4-old (10%) (p4-old not checked by this "
            "replay) while the replay ran; nothing more was sent: check p4-old with runbook 00 (or redeploy with "
            "runbook 02) and resume with resume=True.")
    assert replayer.stopped == stop
    assert [(phase, day) for phase, day, _ in services.calls] == [
        ("phase3", "2025-12-15"), ("phase4", "2025-12-15"), ("phase3", "2025-12-16")]
    assert (outcomes[("phase4", "2025-12-16")].status, outcomes[("phase4", "2025-12-16")].error) == (
        "not run", f"not sent: {stop}")
    assert (outcomes[("phase3", "2025-12-17")].status, outcomes[("phase3", "2025-12-17")].error) == ("not run", stop)
    # each attempt read the traffic first; the ledger names what served, and closes the call kept back
    assert services.described == ["phase3", "phase4", "phase3", "phase4"]
    assert [(e.phase, e.day.isoformat(), e.status, e.revision) for e in ledger.written[-2:]] == [
        ("phase4", "2025-12-16", "running", "p4-rev"), ("phase4", "2025-12-16", "failed", "p4-rev")]


def test_a_traffic_that_cannot_be_read_before_a_call_fails_that_call_unsent():
    services = Rerouted(after=99)
    services.traffic_now = lambda phase: (_ for _ in ()).throw(RunbookError("403 run.services.get denied"))
    outcome = _replayer(services, concurrency=1, serving={"phase3": ("p3-rev",)}).run(_calls()[:1], {})[0]
    assert services.calls == [] and (outcome.status, outcome.error) == (
        "failed", "phase3's traffic could not be read before the call, so it was not sent: 403 run.services.get "
                  "denied")


def test_phase4_waits_for_phase3_of_its_date_and_concurrency_is_bounded():
    services = FakeServices(delay=0.02)
    outcomes = _replayer(services, concurrency=2).run(_calls(), {})
    assert [o.status for o in outcomes] == ["done"] * 6
    order = [(phase, day) for phase, day, _ in services.calls]
    for day in ("2025-12-15", "2025-12-16", "2025-12-17"):
        assert order.index(("phase3", day)) < order.index(("phase4", day))
    assert services.most_in_flight == 2


def test_a_date_phase3_could_not_finish_is_not_run_by_phase4():
    services = FakeServices({("phase3", "2025-12-16"): [400]})
    outcomes = {(o.phase, o.day.isoformat()): o for o in _replayer(services).run(_calls(), {})}
    assert outcomes[("phase3", "2025-12-16")].status == "failed"
    assert (outcomes[("phase4", "2025-12-16")].status, outcomes[("phase4", "2025-12-16")].error) == (
        "not run", "phase3 did not finish 2025-12-16")
    assert ("phase4", "2025-12-16", "token-2") not in services.calls
    assert outcomes[("phase4", "2025-12-17")].status == "done"


def test_the_first_call_of_each_phase_runs_alone_and_can_stop_the_replay():
    services = FakeServices(delay=0.02)
    seen = []

    def after_first(phase):
        seen.append((phase, len(services.calls)))
        return "Stopped after the first phase4 call: production changed" if phase == "phase4" else ""

    replayer = _replayer(services, concurrency=4, after_first=after_first)
    outcomes = replayer.run(_calls(), {})
    assert seen[0] == ("phase3", 1)            # nothing else was called before phase3's first call was checked
    assert [p for p, _ in seen] == ["phase3", "phase4"]
    assert replayer.stopped.startswith("Stopped after the first phase4 call")
    phase4 = [o for o in outcomes if o.phase == "phase4"]
    assert phase4[0].status == "done" and {o.status for o in phase4[1:]} == {"not run"}


def test_a_first_call_that_failed_is_checked_too_and_not_sent_again_once_production_changed():
    """A phase that commits to production and then answers 500: its first call's retry is where it stops, not after
    every date and every retry (step 6 alone noticed it)."""
    services = FakeServices({("phase3", "2025-12-15"): [500] * 10})
    checked = []

    def after_first(phase):
        checked.append((phase, len(services.calls)))
        return "Stopped after the first phase3 call: production changed" if phase == "phase3" else ""

    replayer = _replayer(services, concurrency=4, after_first=after_first)
    outcomes = replayer.run(_calls(), {})
    assert [(p, d) for p, d, _ in services.calls] == [("phase3", "2025-12-15")]   # one attempt, then the check
    assert checked == [("phase3", 1), ("phase3", 1)]    # before the retry, and once the call ended
    assert outcomes[0].status == "failed" and outcomes[0].error == (
        "not sent again: Stopped after the first phase3 call: production changed")
    assert replayer.stopped.startswith("Stopped after the first phase3 call") and \
        {o.status for o in outcomes[1:]} == {"not run"}


def test_a_first_call_that_failed_with_production_untouched_leaves_the_next_date_first():
    services = FakeServices({("phase3", "2025-12-15"): [400]})
    checked = []
    replayer = _replayer(services, concurrency=4, after_first=lambda phase: checked.append(phase) or "")
    outcomes = replayer.run(_calls(), {})
    assert checked == ["phase3", "phase3", "phase4"]   # the failed first call, then the next phase3 date, alone
    assert [o.status for o in outcomes if o.phase == "phase3"] == ["failed", "done", "done"]


def test_the_ledger_is_written_as_calls_start_and_end_and_a_rerun_skips_what_finished(tmp_path):
    ledger = FileLedger(tmp_path / "test.ledger.jsonl")
    services = FakeServices({("phase4", "2025-12-17"): [400]})
    _replayer(services, ledger).run(_calls(), {})
    statuses = [(e.phase, e.day.isoformat(), e.status) for e in ledger.entries()]
    assert statuses.count(("phase3", "2025-12-15", "running")) == 1
    assert statuses.index(("phase3", "2025-12-15", "running")) < statuses.index(("phase3", "2025-12-15", "done"))
    assert ("phase4", "2025-12-17", "failed") in statuses

    done, notes = finished(ledger.entries(), "test", {"phase3": "p3-rev", "phase4": "p4-rev"},
                           {"phase3": (), "phase4": ()})
    assert sorted((p, d.isoformat()) for d, p in done) == sorted(
        [("phase3", d.isoformat()) for d in DAYS] + [("phase4", "2025-12-15"), ("phase4", "2025-12-16")])
    again = FakeServices()
    outcomes = _replayer(again, ledger).run(_calls(), done)
    assert [(p, d) for p, d, _ in again.calls] == [("phase4", "2025-12-17")]
    assert [o.status for o in outcomes] == ["done earlier"] * 5 + ["done"]


def test_work_done_by_another_revision_or_for_other_processors_runs_again():
    entries = [LedgerEntry(DAYS[0], "phase3", "done", "test", "p3-old"),
               LedgerEntry(DAYS[1], "phase3", "done", "test", "p3-rev", ("player_game_summary",)),
               LedgerEntry(DAYS[2], "phase3", "done", "other", "p3-rev"),
               LedgerEntry(DAYS[2], "phase4", "running", "test", "p4-rev")]
    done, notes = finished(entries, "test", {"phase3": "p3-rev", "phase4": "p4-rev"}, {"phase3": (), "phase4": ()})
    assert done == {}
    assert notes == ["phase3 2025-12-15: done earlier by p3-old, now p3-rev serves, so it runs again",
                     "phase3 2025-12-16: done earlier for other processors, so it runs again"]


def test_a_replay_of_some_dates_and_phases_counts_and_notes_only_those():
    """The ledger holds every date any run of the prefix replayed; a narrower replay answers for its own calls."""
    entries = [LedgerEntry(day, phase, "done", "test", "p3-rev" if phase == "phase3" else "p4-old")
               for day in DAYS for phase in ("phase3", "phase4")]
    revisions, processors = {"phase3": "p3-rev", "phase4": "p4-rev"}, {"phase3": (), "phase4": ()}
    mine = [c.key for c in plan_calls([PHASES.get("phase3"), PHASES.get("phase4")], DAYS[:1], {}, "test")]
    done, notes = finished(entries, "test", revisions, processors, keys=mine)
    assert list(done) == [(DAYS[0], "phase3")]
    assert notes == ["phase4 2025-12-15: done earlier by p4-old, now p4-rev serves, so it runs again"]
    everything, all_notes = finished(entries, "test", revisions, processors)     # no keys: the whole ledger
    assert len(everything) == 3 and len(all_notes) == 3


def test_one_replay_per_prefix_holds_its_ledger_and_a_second_is_refused_naming_the_first(tmp_path):
    import os

    from runbook_lib.replay import LedgerBusy
    from runbook_lib.replay.claims import Claimant

    ledger = FileLedger(tmp_path / "test.ledger.jsonl")
    with ledger.hold("test"):
        me = Claimant.this_process()   # host, process, user and since, as the gcp claim says its holder
        with pytest.raises(LedgerBusy, match=rf"^another replay with prefix 'test' is running \(host {re.escape(me.host)}, "
                                             rf"process {os.getpid()}, user {re.escape(me.username)}, since "
                                             r"[0-9-]+ [0-9:]+ UTC\); wait for it to finish, or replay with "
                                             r"another dataset_prefix$"):
            with FileLedger(tmp_path / "test.ledger.jsonl").hold("test"):
                pass
        with FileLedger(tmp_path / "other.ledger.jsonl").hold("other"):   # another prefix: its own ledger
            pass
    with FileLedger(tmp_path / "test.ledger.jsonl").hold("test"):         # released when the first ended
        pass


def test_a_half_written_last_line_of_a_killed_run_is_ignored(tmp_path):
    ledger = FileLedger(tmp_path / "l.jsonl")
    ledger.write(LedgerEntry(DAYS[0], "phase3", "done", "test", "r"))
    with open(ledger.path, "a") as fh:
        fh.write('{"day": "2025-12-16", "phase": "pha')
    assert [(e.day, e.status) for e in ledger.entries()] == [(DAYS[0], "done")]


# ---------------------------------------------------------------- ServiceTimeout from both adapters


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _both_adapters_on(port: int, monkeypatch, tmp_path) -> tuple:
    """The sandbox's and the gcp services adapter, each sending its calls to the loopback `port`."""
    from runbook_lib.gcp import services as gcp_services
    from runbook_lib.local import services as local_services

    local = local_services.LocalServices(None, PHASES, tmp_path / "w.duckdb")
    monkeypatch.setattr(local, "_ensure_one", lambda name: {"port": port})
    remote = gcp_services.GcpServices("p", PHASES, clients=None)
    monkeypatch.setattr(remote, "_service", lambda phase: {"uri": f"http://127.0.0.1:{port}"})
    return local, remote


def test_both_service_adapters_raise_service_timeout(silent_port, monkeypatch, tmp_path):
    from runbook_lib.gcp import services as gcp_services
    from runbook_lib.local import service_processes

    monkeypatch.setattr(service_processes, "REQUEST_TIMEOUT_S", 0.2)
    monkeypatch.setattr(gcp_services, "REQUEST_TIMEOUT_S", 0.2)
    for adapter in _both_adapters_on(silent_port, monkeypatch, tmp_path):
        with pytest.raises(ServiceTimeout, match="no answer within 0.2s"):
            adapter.invoke("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-15"})


@pytest.fixture
def resetting_port():
    """A port that reads each request and resets the connection without answering (a service process that died)."""
    import struct

    def drop(conn, stop):
        conn.settimeout(1)
        try:
            conn.recv(65536)
        except OSError:
            pass
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    with serving(drop) as port:
        yield port


def test_both_service_adapters_turn_a_dropped_connection_into_one_failed_date(resetting_port, monkeypatch, tmp_path):
    """Both targets alike: ConnectionDropped (a RunbookError, retried), so the replay goes on and says why."""
    from runbook_lib.services import ConnectionDropped

    for adapter in _both_adapters_on(resetting_port, monkeypatch, tmp_path):
        with pytest.raises(ConnectionDropped, match="the connection was dropped without an answer"):
            adapter.invoke("phase3", {"start_date": "2025-12-15", "end_date": "2025-12-15"})
        monkeypatch.setattr(adapter, "identity_token", lambda principal=None, phase=None: "tok")
        outcomes = Replayer(adapter, Tokens(adapter), MemoryLedger(), "test", {"phase3": "r3", "phase4": "r4"},
                            {"phase3": (), "phase4": ()}, policy=_policy(attempts=2)[0], progress=False).run(
            plan_calls([PHASES.get("phase3"), PHASES.get("phase4")], DAYS[:2], {}, "test"), {})
        assert [(o.phase, o.status, o.attempts) for o in outcomes] == [
            ("phase3", "failed", 2), ("phase3", "failed", 2), ("phase4", "not run", 0), ("phase4", "not run", 0)]
        assert "the connection was dropped without an answer" in outcomes[0].error


def test_a_service_that_answers_is_no_timeout():
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, *a):
            pass

    from runbook_lib.gcp import services as gcp_services

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=httpd.handle_request, daemon=True).start()
    remote = gcp_services.GcpServices("p", PHASES, clients=None)
    remote._service = lambda phase: {"uri": f"http://127.0.0.1:{httpd.server_address[1]}"}
    assert remote.invoke("phase3", {}).status == 200
    httpd.server_close()


# ---------------------------------------------------------------- comparing fingerprints

def test_changes_name_each_table_and_partition_and_how():
    from datetime import datetime, timezone

    from runbook_lib.replay import PartitionPrint, TablePrint, changes

    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    later = datetime(2026, 1, 2, 3, 9, 0, tzinfo=timezone.utc)
    before = {
        "a.rows": TablePrint("a.rows", True, {"2025-12-15": PartitionPrint(10, at), "2025-12-16": PartitionPrint(5, at)}),
        "a.content": TablePrint("a.content", True, {"2025-12-15": PartitionPrint(10, at, checksum=1)}),
        "a.rewritten": TablePrint("a.rewritten", True, {"2025-12-15": PartitionPrint(10, at, checksum=7)}),
        "a.touched": TablePrint("a.touched", True, {"2025-12-15": PartitionPrint(10, at)}),
        "a.same": TablePrint("a.same", True, {"2025-12-15": PartitionPrint(10, at, checksum=3)}),
        "a.dropped": TablePrint("a.dropped", True, {"": PartitionPrint(4, at)}),
        "a.created": TablePrint("a.created", False),
    }
    after = {
        "a.rows": TablePrint("a.rows", True, {"2025-12-15": PartitionPrint(12, later), "2025-12-17": PartitionPrint(1, later)}),
        "a.content": TablePrint("a.content", True, {"2025-12-15": PartitionPrint(10, later, checksum=2)}),
        "a.rewritten": TablePrint("a.rewritten", True, {"2025-12-15": PartitionPrint(10, later, checksum=7)}),
        "a.touched": TablePrint("a.touched", True, {"2025-12-15": PartitionPrint(10, later)}),
        "a.same": TablePrint("a.same", True, {"2025-12-15": PartitionPrint(10, at, checksum=3)}),
        "a.dropped": TablePrint("a.dropped", False),
        "a.created": TablePrint("a.created", True, {"": PartitionPrint(2, later)}),
    }
    assert [(c.ref, c.what, c.rows_added) for c in changes(before, after, shown=2)] == [
        ("a.content", "2025-12-15: same 10 rows, different content", 0),
        ("a.created", "created, 2 rows", 2),
        ("a.dropped", "dropped (4 rows)", -4),
        ("a.rewritten", "2025-12-15: rewritten at 03:09:00 UTC (same 10 rows, checksum unchanged)", 0),
        ("a.rows", "2025-12-15: 10 -> 12 rows; 2025-12-16: gone (5 rows); 1 more partition changed", -2),
        ("a.touched", "2025-12-15: rewritten at 03:09:00 UTC (same 10 rows)", 0),
    ]


@pytest.mark.parametrize("answer, written, sent", [(200, "done", 1), (503, "running", 1)],
                         ids=["the-answer-in-flight-is-kept", "no-retry-after-the-interrupt"])
def test_ctrl_c_sends_nothing_more_and_keeps_the_answer_it_waited_for(answer, written, sent):
    """JupyterLab's interrupt arrives while a call is out: the kit waits for that attempt's answer (a thread cannot
    be stopped), writes it to the ledger so a resume does not call a finished date again, and sends no retry."""
    import os
    import signal

    services = FakeServices({("phase3", "2025-12-15"): [answer, 200]}, delay=2.0)
    ledger = MemoryLedger()
    running = threading.Event()

    def interrupt():   # a real SIGINT, as the kernel gets one: it wakes the main thread out of its wait
        if running.is_set():   # (never after run() is over: it would stop the test session)
            os.kill(os.getpid(), signal.SIGINT)

    # Python raises KeyboardInterrupt only where SIGINT was not ignored at its start, and a shell without job control
    # starts its background commands (a CI run with `&`) ignoring it; a kernel installs this handler itself
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, interrupt)
    running.set()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _replayer(services, ledger, concurrency=1).run(_calls()[:1], {})
    finally:
        running.clear()
        timer.cancel()
        signal.signal(signal.SIGINT, before)
    assert len(services.calls) == sent
    assert [e.status for e in ledger.entries()] == ["running", written][:1 + (written != "running")]


def test_once_the_calls_patience_is_spent_no_attempt_goes_without_the_wait_asked():
    """Retry-After: 200 every time, 300 s of patience: 200 s, then the 100 s left, then the call ends (two more
    attempts went at once, and the note said 'waited 0s')."""
    services = FakeServices({("phase3", "2025-12-15"): [
        ServiceResponse(429, {"error": "rate limited"}, {"retry-after": "200"})] * 5})
    policy, sleeps = _policy(base_s=0.01, max_s=0.02, patience_s=300)
    outcome = call_with_retries(services, Tokens(services), _call(), policy)
    assert sleeps.waits == [200, 100] and (outcome.status, outcome.attempts) == ("failed", 3)
    assert outcome.note == ("the service asked to wait 200s (Retry-After); waited 100s, what was left of the call's "
                            "patience (300s)")
