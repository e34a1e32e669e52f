"""Runbook 03 on the sandbox: the replay end to end (test datasets written, production untouched but for the
run-history rows upstream leaks), a service that answers 503 twice, a run whose kernel is killed half-way and
resumes without redoing finished dates, the blocked incident morning (nothing created or called), and the
isolation check catching a deliberate production write."""
from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from runbook_lib import params, replay
from runbook_lib.errors import AccessDenied, ParameterError
from runbook_lib.local.sandbox import stop_sandbox
from runbook_lib.runner.kernel import KERNEL_MODULE
from runbook_lib.services import ServiceResponse
from runbook_lib.target import connect

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_prefixed_replay.ipynb"
HISTORY = "nba_reference.processor_run_history"
PROCESSORS = {"phase3": 2, "phase4": 4}

pytestmark = pytest.mark.slow


def repair(home: Path) -> None:
    """The morning fix, quickly: both phases serve their own code from head (runbook 02 does it for real)."""
    head = json.loads((home / "state.json").read_text())["source"]["commits"]["head"]
    with connect("local", home=home) as tg:
        for phase in ("phase4", "phase3"):
            tg.services.deploy_revision(phase, commit=head, image=f"img-{phase}@{head[:7]}", supports_prefix=True,
                                        code_phase=phase)


def fixed_sandbox(seeded_sandbox, name: str, scale: float) -> Iterator[Path]:
    """A sandbox whose phases both serve their own code from head (for a module-scoped fixture)."""
    home = seeded_sandbox(scale, name)
    repair(home)
    yield home
    stop_sandbox(home)


@pytest.fixture(scope="module")
def fixed_home(seeded_sandbox) -> Iterator[Path]:
    """Four game dates (2025-12-15 .. 18), both phases fixed; each test replays with its own prefix."""
    yield from fixed_sandbox(seeded_sandbox, "replay", 0.3)


def _params(home: Path, **values) -> params.ReplayParams:
    """The replay for real unless told otherwise (the runbook's own default is a dry run)."""
    return params.validate_params(params.ReplayParams, {"sandbox_home": str(home), "dry_run": False, **values})


def _replay(home: Path, wrap=None, **values) -> tuple[replay.Replay, replay.ReplayResult]:
    """The notebook's cells in order; `wrap(services)` stands in front of the target's services."""
    p = _params(home, **values)
    with connect("local", home=home) as tg:
        if wrap is not None:
            tg.services = wrap(tg.services)
        rp = replay.prepare(tg, p, progress=False)
        rp.policy = replay.RetryPolicy(base_s=0.01, max_s=0.05)
        for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before, rp.run, rp.isolation,
                     rp.summary):
            step()
        rp.chart()
        return rp, rp.result()


def _runs(home: Path, prefix: str) -> Counter:
    """Independent of the kit: the production run-history rows of a prefix, as distinct runs per
    (phase, date, processor) (each processor call records one run_id)."""
    with connect("local", home=home) as tg:
        frame = tg.warehouse.query(
            f"SELECT phase, CAST(data_date AS STRING) AS day, processor_name, COUNT(DISTINCT run_id) AS runs "
            f"FROM {HISTORY} WHERE dataset_prefix = @prefix GROUP BY phase, day, processor_name", {"prefix": prefix})
    return Counter({(r.phase, r.day, r.processor_name): int(r.runs) for r in frame.itertuples()})


def _production(home: Path) -> dict:
    with connect("local", home=home) as tg:
        refs = replay.production_tables(tg.warehouse, tg.phases)
        days = [date(2025, 12, 15) + timedelta(days=n) for n in range(4)]
        return replay.fingerprint(tg.warehouse, refs, replay.plan_checksums(tg.warehouse, refs, days, True, 10 ** 9))


# ---------------------------------------------------------------- end to end


def test_the_sandbox_replay_writes_test_datasets_and_leaves_production_untouched(fixed_home):
    before = _production(fixed_home)
    rp, result = _replay(fixed_home, start_date="2025-12-15", end_date="2025-12-17", dataset_prefix="test")
    assert result.verdict == "warn", result.summary
    assert result.figures == {"dates done": "3/3", "retries": 0, "production tables changed": 0,
                              "run-history rows leaked": 3 * (2 + 4)}
    assert result.summary.startswith("Replayed 3 dates of phase3 -> phase4 into test_nba_analytics, "
                                     "test_nba_precompute; production untouched but for 18 run-history rows added "
                                     f"to production {HISTORY} while it ran (")
    # a count of the table's new rows: another replay's, running at the same time, count too, and it says so
    assert "; the table's new rows, so another writer's count too)" in result.summary
    assert "Phase 4's test output was computed from production Phase 3 data (nba_analytics)" in result.summary

    # Production, fingerprinted again independently: only the run history grew, by one row per processor and date.
    after = _production(fixed_home)
    assert [(c.ref, c.rows_added) for c in replay.changes(before, after)] == [(HISTORY, 18)]
    assert _runs(fixed_home, "test") == Counter({(phase, day, name): 1 for phase, names in (
        ("phase3", ("player_game_summary", "team_offense_game_summary")),
        ("phase4", ("player_daily_cache", "player_composite_factors", "player_shot_zone_analysis",
                    "team_defense_zone_analysis"))) for name in names
        for day in ("2025-12-15", "2025-12-16", "2025-12-17")})

    # The test tables: production's schema and partitioning, the TTL as their expiry, rows for every replayed date.
    with connect("local", home=fixed_home) as tg:
        for prod, test in replay.output_tables(tg.phases, ["phase3", "phase4"], "test"):
            want, got = tg.warehouse.table_info(prod), tg.warehouse.table_info(test)
            assert (got.columns, got.partition_column) == (want.columns, want.partition_column)
            assert got.expires_at - got.created_at == timedelta(days=7)
    table = rp.summary()
    assert list(table.columns[:6]) == ["date", "phase", "status", "attempts", "seconds", "error"]
    phase3 = table[table.phase == "phase3"]
    assert all(int(cell.split(" / ")[0].replace(",", "")) > 0 for cell in phase3["player_game_summary"])

    # A rerun resumes: the ledger says everything finished, nothing is called and production does not move.
    ledger = fixed_home / "replay" / "test.ledger.jsonl"
    assert sum(json.loads(line)["status"] == "done" for line in ledger.read_text().splitlines()) == 6
    again, rerun = _replay(fixed_home, start_date="2025-12-15", end_date="2025-12-17", dataset_prefix="test")
    assert {o.status for o in again.outcomes} == {"done earlier"}
    assert rerun.verdict == "pass" and "(6 calls done by an earlier run, not repeated); production untouched." \
        in rerun.summary
    assert rerun.figures["run-history rows leaked"] == 0 and _runs(fixed_home, "test") == _runs(fixed_home, "test")


def test_the_run_cell_run_again_sends_nothing_again(fixed_home):
    """Shift-Enter twice on the calls' cell: each call was sent again, and upstream wrote production's run history
    again, which the verdict then counted as this one replay's."""
    p = _params(fixed_home, start_date="2025-12-15", end_date="2025-12-15", dataset_prefix="twice")
    with connect("local", home=fixed_home) as tg:
        rp = replay.prepare(tg, p, progress=False)
        for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before):
            step()
        first = rp.run()
        runs = _runs(fixed_home, "twice")
        again = rp.run()
        rp.isolation()
        result = rp.result()
    assert list(first["status"]) == ["done", "done"]
    assert again.loc["note", "outcome"] == ("This replay already ran (2 done); nothing was sent again. Its results "
                                            "are in the steps below; to replay again, run the notebook again from "
                                            "replay.prepare (resume=True skips the calls that finished).")
    assert _runs(fixed_home, "twice") == runs and set(runs.values()) == {1}
    assert result.figures["run-history rows leaked"] == 2 + 4 and result.figures["dates done"] == "1/1"


def test_a_prefix_validated_again_since_the_prepare_cell_is_not_replayed_into(fixed_home):
    """The operator changes dataset_prefix and runs the validation cell again, not replay.prepare: the calls cell
    would write the old prefix's datasets, which the page no longer names."""
    values = {"sandbox_home": str(fixed_home), "dry_run": False, "start_date": "2025-12-15", "end_date": "2025-12-15"}
    prepared = params.from_notebook(params.ReplayParams, {**values, "dataset_prefix": "before"})
    with connect("local", home=fixed_home) as tg:
        rp = replay.prepare(tg, prepared, progress=False)
        for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before):
            step()
        params.from_notebook(params.ReplayParams, {**values, "dataset_prefix": "after"})
        said = rp.run().loc["note", "outcome"]
    assert said.startswith("The parameters were validated again since the replay was prepared (dataset_prefix "
                           "'after' now, 'before' then): nothing was done;")
    assert _runs(fixed_home, "before") == Counter() and rp.outcomes == []


class Flaky:
    """The sandbox's services behind a front that answers 503 the first `failures` times a (phase, date) is called."""

    def __init__(self, services, failures: int):
        self._services, self.failures, self.seen = services, failures, Counter()

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, phase, payload, token=None, user_agent=None, remote_ip=None):
        key = (phase, payload.get("start_date") or payload.get("analysis_date"))
        self.seen[key] += 1
        if self.seen[key] <= self.failures:
            return ServiceResponse(503, {"error": "Service Unavailable"})
        return self._services.invoke(phase, payload, token=token, user_agent=user_agent, remote_ip=remote_ip)


def test_a_resume_calls_again_what_finished_but_whose_test_output_is_gone(fixed_home):
    """The operator dropped the Phase 4 test dataset to start clean: the ledger's "done" is no proof any more."""
    first, _ = _replay(fixed_home, start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="gone")
    assert {o.status for o in first.outcomes} == {"done"}
    with connect("local", home=fixed_home) as tg:
        tg.warehouse.drop_dataset("gone_nba_precompute", delete_contents=True)
    again, result = _replay(fixed_home, start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="gone")
    assert [(o.phase, o.status) for o in again.outcomes] == [("phase3", "done earlier")] * 2 + [("phase4", "done")] * 2
    assert len(again.resume_notes) == 1 and re.fullmatch(
        r"2 calls done earlier run again, their test output is gone \(no rows on their date where production has "
        r"some\): phase4 2025-12-15 \(gone_nba_precompute\.\w+\), phase4 2025-12-16 \(gone_nba_precompute\.\w+\)",
        again.resume_notes[0])
    assert result.verdict in ("pass", "warn") and "(2 calls done by an earlier run, not repeated)" in result.summary
    assert all(sum(counts.values()) > 0 for ref, counts in again.test_counts.items() if "nba_precompute" in ref)


def test_a_service_that_fails_twice_with_503_then_succeeds(fixed_home):
    fronts = []
    rp, result = _replay(fixed_home, wrap=lambda s: fronts.append(Flaky(s, 2)) or fronts[-1],
                         start_date="2025-12-18", end_date="2025-12-18", dataset_prefix="retry", phases=["phase3"])
    assert result.verdict == "warn", result.summary
    assert [(o.status, o.attempts) for o in rp.outcomes] == [("done", 3)]
    assert result.figures["retries"] == 2 and result.figures["dates done"] == "1/1"
    assert fronts[0].seen == Counter({("phase3", "2025-12-18"): 3})
    assert _runs(fixed_home, "retry") == Counter({("phase3", "2025-12-18", "player_game_summary"): 1,
                                                   ("phase3", "2025-12-18", "team_offense_game_summary"): 1})


class Interrupting:
    """Services whose every call is interrupted, as Ctrl-C in JupyterLab interrupts the kernel."""

    def __init__(self, services):
        self._services = services

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, *args, **kwargs):
        raise KeyboardInterrupt


def test_a_run_step_interrupted_is_never_said_as_replayed_by_the_steps_after_it(fixed_home):
    p = _params(fixed_home, start_date="2025-12-17", end_date="2025-12-17", dataset_prefix="intr", phases=["phase3"])
    with connect("local", home=fixed_home) as tg:
        tg.services = Interrupting(tg.services)
        rp = replay.prepare(tg, p, progress=False)
        for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before):
            step()
        with pytest.raises(KeyboardInterrupt):
            rp.run()
        rp.isolation(), rp.summary()   # the operator runs the cells below it
        again = rp.run()               # or the Run cell again: it says why nothing happens (it showed nothing)
        result = rp.result()
    said = "Stopped: the calls were interrupted before every date was replayed; run the notebook again from the top"
    assert result.verdict == "fail" and result.summary.startswith(said)
    assert again.iloc[0, 0].startswith(said)


class Idle:
    """Services that answer every call 200 success and do nothing."""

    def __init__(self, services):
        self._services = services

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, *args, **kwargs):
        from runbook_lib.services import ServiceResponse

        return ServiceResponse(200, {"status": "success"})


def test_a_call_that_answered_done_and_wrote_nothing_is_a_warning_naming_its_date(fixed_home):
    """A 200 is no proof of work: the resume after would call that date again, its test output gone."""
    rp, result = _replay(fixed_home, wrap=Idle, start_date="2025-12-16", end_date="2025-12-16", dataset_prefix="idle",
                         phases=["phase3"])
    assert [o.status for o in rp.outcomes] == ["done"]
    assert result.verdict == "warn" and result.summary.startswith(
        "1 of 1 dates answered done but wrote no test rows where production has some: phase3 2025-12-16 "
        "(idle_nba_analytics.")


# ---------------------------------------------------------------- killed half-way, resumed


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kernel_of(pid: int) -> int | None:
    for child in _descendants(pid):
        try:
            if KERNEL_MODULE.encode() in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the kernel process through /proc")
def test_a_run_whose_kernel_is_killed_half_way_resumes_without_redoing_finished_dates(fixed_home, tmp_path):
    ledger = fixed_home / "replay" / "killed.ledger.jsonl"
    runner = subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.cli", "run", str(NOTEBOOK), "-p", "sandbox_home", str(fixed_home),
         "-p", "dataset_prefix", "killed", "-p", "start_date", "2025-12-15", "-p", "end_date", "2025-12-18",
         "-p", "concurrency", "1", "-p", "dry_run", "false", "-o", str(tmp_path / "reports")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            lines = ledger.read_text().splitlines() if ledger.exists() else []
            if any(json.loads(line)["status"] == "done" for line in lines):
                break
            assert runner.poll() is None, "the run ended before it finished a single call"
            time.sleep(0.01)
        kernel = _kernel_of(runner.pid)
        assert kernel is not None
        os.kill(kernel, signal.SIGKILL)
        assert runner.wait(timeout=120) == 1   # the kernel died: an error, and the run's record says so
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    entries = replay.FileLedger(ledger).entries()
    finished_before = {(e.phase, e.day.isoformat()) for e in entries if e.status == "done"}
    assert 1 <= len(finished_before) < 8, "the kill did not land half-way"
    runs_before = _runs(fixed_home, "killed")

    rp, result = _replay(fixed_home, start_date="2025-12-15", end_date="2025-12-18", dataset_prefix="killed",
                         concurrency=2)
    assert result.figures["dates done"] == "4/4", result.summary
    assert {(o.phase, o.day.isoformat()) for o in rp.outcomes if o.status == "done earlier"} == finished_before
    assert {o.status for o in rp.outcomes if (o.phase, o.day.isoformat()) not in finished_before} == {"done"}
    runs = _runs(fixed_home, "killed")
    for phase, day in finished_before:   # finished before the kill: never run again
        assert {k: v for k, v in runs.items() if k[:2] == (phase, day)} == \
            {k: v for k, v in runs_before.items() if k[:2] == (phase, day)}
        assert all(v == 1 for k, v in runs.items() if k[:2] == (phase, day))
    assert sum(1 for k in runs if k[0] == "phase3") == 2 * 4 and sum(1 for k in runs if k[0] == "phase4") == 4 * 4


# ---------------------------------------------------------------- blocked: nothing created or called


def _posts(home: Path) -> int:
    log = home / "logs" / "requests.jsonl"
    return sum(json.loads(line)["httpRequest"]["requestMethod"] == "POST" for line in log.read_text().splitlines())


@pytest.mark.parametrize("phases, why", [
    (["phase4"], "phase4 runs {before}, from before dataset_prefix support ({prefix}): a prefixed run would write "
                 "production. Redeploy phase4 with runbook 02 (notebooks/02_redeploy_phase.ipynb, dry_run=False)"),
    (["phase3"], "phase3 serves another phase's code (/health names nba-phase4-precompute-processors, not "
                 "nba-phase3-analytics-processors). Redeploy phase3 with runbook 02"),
    ([], "phase3 serves another phase's code (/health names nba-phase4-precompute-processors, not "
         "nba-phase3-analytics-processors); phase4 runs {before}, from before dataset_prefix support ({prefix}): a "
         "prefixed run would write production. Redeploy phase3 and phase4 with runbook 02"),
])
def test_the_incident_morning_is_blocked_naming_the_phase_and_nothing_is_created_or_called(sandbox_home, phases, why):
    home = Path(sandbox_home)
    state = json.loads((home / "state.json").read_text())
    before_commit = state["source"]["commits"]["before_prefix"][:7]
    prefix_commit = state["prefix_support_commits"]["phase4"][:7]
    with connect("local", home=home) as tg:
        datasets = tg.warehouse.list_datasets()
    posts = _posts(home)
    rp, result = _replay(home, phases=phases, dataset_prefix="blocked")
    assert result.verdict == "blocked"
    assert result.summary.startswith("Blocked: " + why.format(before=before_commit, prefix=prefix_commit))
    assert rp.outcomes == [] and rp.test_datasets().loc["note", "outcome"] == result.summary
    with connect("local", home=home) as tg:
        assert tg.warehouse.list_datasets() == datasets
    assert _posts(home) == posts and not (home / "replay").exists()


# ---------------------------------------------------------------- the isolation check


class WritesProduction:
    """A service whose code honours the prefix and ALSO writes production (a stray UPDATE): what the
    fingerprints are there to catch."""

    def __init__(self, services, warehouse):
        self._services, self._warehouse = services, warehouse

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, phase, payload, token=None, user_agent=None, remote_ip=None):
        answer = self._services.invoke(phase, payload, token=token)
        self._warehouse.execute("UPDATE nba_analytics.team_offense_game_summary SET points = points + 1 "
                                "WHERE game_date = @day", {"day": date.fromisoformat(payload["start_date"])})
        return answer


def test_a_deliberate_production_write_fails_the_replay_and_stops_it_after_one_call(make_sandbox):
    home = make_sandbox(scale=0.15, start_services=False)
    repair(home)
    with connect("local", home=home) as tg:
        warehouse = tg.warehouse
    rp, result = _replay(home, wrap=lambda s: WritesProduction(s, warehouse), phases=["phase3"],
                         start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="test", concurrency=2)
    assert result.verdict == "fail"
    assert result.summary == (
        "Stopped after the first phase3 call: production changed (nba_analytics.team_offense_game_summary: "
        "2025-12-15: same 14 rows, different content); phase3 ignored dataset_prefix or wrote production. "
        "Production changed outside allowed_prod_writes: nba_analytics.team_offense_game_summary: 2025-12-15: same "
        "14 rows, different content.")
    assert [(o.day.isoformat(), o.status) for o in rp.outcomes] == [("2025-12-15", "done"), ("2025-12-16", "not run")]
    assert result.figures["production tables changed"] == 1
    assert rp.isolation().to_dict(orient="records")[0] == {
        "production table": "nba_analytics.team_offense_game_summary",
        "what changed": "2025-12-15: same 14 rows, different content", "verdict": "FAIL",
        "why": "outside allowed_prod_writes"}

    # The same write, allowed: a warning naming the table (the ledger resumes 2025-12-15, so 2025-12-16 writes).
    allowed = [HISTORY, "nba_analytics.team_offense_game_summary"]
    rp, result = _replay(home, wrap=lambda s: WritesProduction(s, warehouse), phases=["phase3"],
                         start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="test",
                         allowed_prod_writes=allowed)
    assert result.verdict == "warn" and result.figures["production tables changed"] == 0, result.summary
    assert [(o.day.isoformat(), o.status) for o in rp.outcomes] == [("2025-12-15", "done earlier"),
                                                                    ("2025-12-16", "done")]
    assert sorted(c.ref for c in rp.checked.allowed) == sorted(allowed)
    assert "allowed changes to nba_analytics.team_offense_game_summary" in result.summary


class RolledBack:
    """Another operator's rollback of phase4 (runbook 02, or `gcloud run services update-traffic
    --to-revisions=OLD=100`) the moment the replay's first Phase 4 call has its answer; records which revision
    served each call the replay sent (the sandbox serves one revision at a time)."""

    def __init__(self, services, old: str):
        self._services, self.old, self.sent = services, old, []

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, phase, payload, token=None, user_agent=None, remote_ip=None):
        self.sent.append((phase, payload.get("start_date") or payload["analysis_date"],
                          self._services.describe(phase).revision))
        answer = self._services.invoke(phase, payload, token=token, user_agent=user_agent, remote_ip=remote_ip)
        if phase == "phase4" and self.old:
            self._services.update_traffic("phase4", self.old)
            self.old = ""
        return answer


def test_a_replay_whose_phase_traffic_moves_to_a_revision_it_never_checked_stops_before_its_next_call(make_sandbox):
    home = make_sandbox(scale=0.15, start_services=False)   # 2025-12-15 and 16
    old = json.loads((home / "state.json").read_text())["services"]["phase4"]["traffic"][0]["revisionName"]
    repair(home)
    checked = json.loads((home / "state.json").read_text())["services"]["phase4"]["traffic"][0]["revisionName"]
    before = _production(home)
    fronts = []
    rp, result = _replay(home, wrap=lambda s: fronts.append(RolledBack(s, old)) or fronts[-1],
                         start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="test", concurrency=1)

    stop = (f"Stopped: phase4's traffic moved from {checked} to {old} (not checked by this replay) while the replay "
            f"ran; nothing more was sent: check {old} with runbook 00 (or redeploy with runbook 02) and resume with "
            f"resume=True.")
    assert result.verdict == "fail" and result.summary == stop
    assert [(o.phase, o.day.isoformat(), o.status) for o in rp.outcomes] == [
        ("phase3", "2025-12-15", "done"), ("phase3", "2025-12-16", "done"), ("phase4", "2025-12-15", "done"),
        ("phase4", "2025-12-16", "not run")]
    assert rp.outcomes[-1].error == f"not sent: {stop}"
    # nothing reached the old revision, so production was not written (independently of the kit's own check)
    assert [sent for sent in fronts[0].sent if sent[0] == "phase4"] == [("phase4", "2025-12-15", checked)]
    assert [c.ref for c in replay.changes(before, _production(home))] == [HISTORY]
    assert result.figures["production tables changed"] == 0
    # the ledger names the revision checked before each call; the call kept back is no longer "running"
    ledger = [json.loads(line) for line in (home / "replay" / "test.ledger.jsonl").read_text().splitlines()]
    assert {e["revision"] for e in ledger if e["phase"] == "phase4"} == {checked}
    assert (ledger[-1]["day"], ledger[-1]["phase"], ledger[-1]["status"]) == ("2025-12-16", "phase4", "failed")
    assert rp.summary() is not None and rp.chart() is not None   # its dates are shown, each with its status

    # The traffic back on the revision the replay checked: a resume makes only the call that was kept back.
    with connect("local", home=home) as tg:
        tg.services.update_traffic("phase4", checked)
    again, rerun = _replay(home, start_date="2025-12-15", end_date="2025-12-16", dataset_prefix="test")
    assert [(o.phase, o.status) for o in again.outcomes] == [("phase3", "done earlier")] * 2 + [
        ("phase4", "done earlier"), ("phase4", "done")]
    assert rerun.verdict in ("pass", "warn") and "(3 calls done by an earlier run, not repeated)" in rerun.summary


def test_a_replay_into_a_dataset_the_kit_did_not_make_says_so_and_warns(fixed_home):
    # another team's staging copy under the prefix: written as it is (it may be pre-created for a replayer that may
    # not create datasets), but the verdict says whose it is not, and that no expiry was set
    with connect("local", home=fixed_home) as tg:
        tg.warehouse.execute('CREATE SCHEMA "stage_nba_analytics"')
        planned = replay.plan_test_datasets(tg.warehouse, replay.output_tables(tg.phases, ["phase3"], "stage"), 7)
    assert planned.foreign == ["stage_nba_analytics"]
    _, result = _replay(fixed_home, start_date="2025-12-17", end_date="2025-12-17", dataset_prefix="stage",
                        phases=["phase3"])
    assert result.verdict == "warn"
    assert "into stage_nba_analytics, not made by the kit: no expiry set" in result.summary


# ---------------------------------------------------------------- impersonation: checked before anything is made


def test_an_account_that_may_not_invoke_a_phase_is_refused_before_anything_is_created(fixed_home):
    # nobody@ may call phase4 (allAuthenticatedUsers) but not phase3: the sandbox's services would answer 403
    home, account, prefix = Path(fixed_home), "nobody@my-project.iam.gserviceaccount.com", "imp"
    with connect("local", home=home) as tg:
        datasets = tg.warehouse.list_datasets()
    posts = _posts(home)
    with pytest.raises(ParameterError) as caught:
        _replay(home, start_date="2025-12-15", end_date="2025-12-15", dataset_prefix=prefix,
                impersonate_service_account=account)
    assert caught.value.parameter == "impersonate_service_account" and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"impersonate_service_account='{account}' is not valid: ")
    assert "phase3" in str(caught.value) and "roles/run.invoker" in str(caught.value)
    with connect("local", home=home) as tg:
        assert tg.warehouse.list_datasets() == datasets
    assert _posts(home) == posts and not (home / "replay" / f"{prefix}.ledger.jsonl").exists()


def test_the_sandbox_mints_a_token_for_a_phase_only_for_an_account_its_service_lets_in(fixed_home):
    with connect("local", home=fixed_home) as tg:
        pusher = f"serviceAccount:pubsub-push@{tg.phases.project}.iam.gserviceaccount.com"
        assert all(tg.services.identity_token(pusher, phase=name) for name in ("phase3", "phase4"))
        stranger = "serviceAccount:nobody@my-project.iam.gserviceaccount.com"
        assert tg.services.identity_token(stranger, phase="phase4")   # allAuthenticatedUsers
        assert tg.services.identity_token(stranger)                    # no phase: any service's policy decides
        with pytest.raises(AccessDenied, match="may not invoke nba-phase3-analytics-processors"):
            tg.services.identity_token(stranger, phase="phase3")


def test_a_test_dataset_in_another_location_than_production_is_refused_naming_both(fixed_home):
    """BigQuery runs a query in one location: the phases' writes (reading production) and runbook 04's comparison
    could read no test dataset made elsewhere, and a dataset cannot move."""
    with connect("local", home=fixed_home) as tg:
        here = tg.warehouse.dataset_info("nba_analytics").location
        elsewhere = "EU" if here.upper() != "EU" else "US"
        tg.warehouse.create_dataset("far_nba_analytics", location=elsewhere)
        planned = replay.plan_test_datasets(tg.warehouse, replay.output_tables(tg.phases, ["phase3"], "far"), 7)
        same_place = replay.plan_test_datasets(tg.warehouse, replay.output_tables(tg.phases, ["phase3"], "near"), 7)
    refused = [t for t in planned.tables if t.action == "refused"]
    assert refused and len(refused) == len(planned.tables)
    assert refused[0].detail == (f"dataset far_nba_analytics is in {elsewhere} but production nba_analytics is in "
                                 f"{here}, and a BigQuery query reads datasets of one location only (a dataset cannot "
                                 "move): drop far_nba_analytics or choose another dataset_prefix")
    assert not [t for t in same_place.tables if t.action == "refused"]
