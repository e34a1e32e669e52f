"""Runbook 03 on target=gcp: the real google-cloud-run, -bigquery and requests clients against the fakes, which
mirror a sandbox. The BigQuery fake serves the sandbox's own warehouse file and the fake Cloud Run lets the
sandbox's service processes answer the calls its IAM check lets in, so the phases really run: the replay
goes over HTTP with the operator's identity token (never shown), its test datasets, checksums and ledger
go through the BigQuery API, and a blocked morning calls and creates nothing."""
from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from fakes.bigquery import FakeBigQuery
from fakes.fixtures import OPERATOR_TOKEN, PROJECT, connect_gcp_on_fakes
from runbook_lib import params, replay
from runbook_lib.local.home import SandboxHome

from test_replay_claims import WallClock
from test_replay_dry_run import curl_call, dataset_options, table_pair
from test_replay_sandbox import fixed_sandbox

pytestmark = pytest.mark.slow
P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"


@pytest.fixture(scope="module")
def fixed_home(seeded_sandbox) -> Iterator[Path]:
    yield from fixed_sandbox(seeded_sandbox, "replay-gcp", 0.15)   # 2025-12-15 and 16


@contextmanager
def _gcp(fake_apis, home, tmp_path, monkeypatch) -> Iterator[tuple]:
    """(target=gcp over the fakes, the BigQuery fake over the sandbox's warehouse), both stopped at the end."""
    bigquery = FakeBigQuery(SandboxHome(home).warehouse, project=PROJECT).start()
    target = connect_gcp_on_fakes(fake_apis, home, tmp_path, monkeypatch, bigquery_endpoint=bigquery.endpoint,
                                  serve=True)
    try:
        yield target, bigquery
    finally:
        target.close()
        bigquery.stop()


def _replay(target, home, **values):
    p = params.validate_params(params.ReplayParams, {"target": "gcp", "project": PROJECT, "dry_run": False,
                                                      "source_dir": str(Path(home) / "source"), **values})
    rp = replay.prepare(target, p, progress=False)
    rp.policy = replay.RetryPolicy(base_s=0.01, max_s=0.05)
    for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before, rp.run, rp.isolation,
                 rp.summary):
        step()
    return rp, rp.result()


def _posts(fake_apis) -> list:
    return [r for r in fake_apis.requests if r.method == "POST" and r.path.startswith("/svc/")]


def test_the_replay_on_gcp_calls_the_services_over_http_and_keeps_its_ledger_in_bigquery(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        rp, result = _replay(target, fixed_home, start_date="2025-12-15", end_date="2025-12-16",
                             production_checksum=True)
        assert result.verdict == "warn", result.summary
        assert result.figures == {"dates done": "2/2", "retries": 0, "production tables changed": 0,
                                  "run-history rows leaked": 2 * (2 + 4)}

        # The calls: the phases' own endpoints with their payloads, through Cloud Run's IAM check with the
        # operator's identity token; the token appears nowhere in what the runbook keeps.
        posts = _posts(fake_apis)
        assert sorted((r.path, r.body.get("start_date") or r.body["analysis_date"]) for r in posts) == [
            (f"/svc/{P3}/process-date-range", "2025-12-15"), (f"/svc/{P3}/process-date-range", "2025-12-16"),
            (f"/svc/{P4}/process-date", "2025-12-15"), (f"/svc/{P4}/process-date", "2025-12-16")]
        assert {r.headers["authorization"] for r in posts} == {f"Bearer {OPERATOR_TOKEN}"}
        assert all(r.body["dataset_prefix"] == "test" and r.body["backfill_mode"] is True for r in posts)
        assert OPERATOR_TOKEN not in json.dumps(result.to_dict()) + rp.describe()

        # BigQuery: the test datasets made in production's location with the kit's labels, every job
        # labelled the kit's, the checksums' dry runs before the checksums themselves.
        made = [r.body for r in bigquery.requests if r.method == "POST" and r.path.endswith("/datasets")]
        assert sorted(d["datasetReference"]["datasetId"] for d in made) == ["test_nba_analytics", "test_nba_precompute"]
        assert all(d["location"] == "US" and d["labels"] == {"runbook": "03_prefixed_replay",
                                                             "created-by": "phase-runbooks"} for d in made)
        assert all(d["defaultTableExpirationMs"] == str(7 * 86_400_000) for d in made)
        jobs = bigquery.submitted_jobs()
        assert all(job["labels"]["created-by"] == "phase-runbooks" for job in jobs)
        checksum = [i for i, job in enumerate(jobs) if "FARM_FINGERPRINT" in job["query"]["query"]]
        assert jobs[checksum[0]].get("dryRun") is True and any(not jobs[i].get("dryRun") for i in checksum)
        assert re.match(r"Checksums of the replay's partitions in 10 tables: each fingerprint scans [\d.]+ (KiB|MiB)",
                        rp.checksums_line())

        # The ledger is a table of the first test dataset, and a rerun resumes from it.
        assert rp.ledger.where == "test_nba_analytics.replay_ledger"
        assert {(e.phase, e.status) for e in rp.ledger.entries()} == {("phase3", "running"), ("phase3", "done"),
                                                                      ("phase4", "running"), ("phase4", "done")}
        # Its claim beside the ledger, released at the end: the rerun is let in.
        assert [(c.claimant.pid, c.released) for c in rp.ledger.claims.read("test")] == [(os.getpid(), True)]
        calls = len(_posts(fake_apis))
        again, rerun = _replay(target, fixed_home, start_date="2025-12-15", end_date="2025-12-16")
        assert {o.status for o in again.outcomes} == {"done earlier"} and len(_posts(fake_apis)) == calls
        assert rerun.verdict == "pass" and again.checksums_line().startswith("Checksums off (production_checksum)")


def _bigquery_writes(bigquery) -> list:
    """Datasets and tables made or changed through the API, and statements that write."""
    return [r for r in bigquery.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")
            and not r.path.endswith("/jobs")] + [job for job in bigquery.submitted_jobs()
                                                if re.match(r"\s*(INSERT|CREATE|MERGE|UPDATE|DELETE)",
                                                            job["query"]["query"], re.I)]


def test_a_dry_run_on_gcp_sends_nothing_that_changes_and_its_commands_are_what_the_real_run_sends(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        window = {"start_date": "2025-12-15", "end_date": "2025-12-16", "dataset_prefix": "dry"}
        dry, result = _replay(target, fixed_home, dry_run=True, **window)
        assert result.verdict == "pass" and result.summary.startswith("Dry run: nothing was created or called; 4 calls")
        assert _posts(fake_apis) == [] and _bigquery_writes(bigquery) == []
        commands = dry.commands()

        _replay(target, fixed_home, **window)
        made = {f"{PROJECT}:{r.body['datasetReference']['datasetId']}": {
            "location": r.body["location"], "labels": r.body["labels"],
            "expiration_s": int(r.body["defaultTableExpirationMs"]) // 1000}
            for r in bigquery.requests if r.method == "POST" and r.path.endswith("/datasets")}
        assert dict(map(dataset_options, commands.datasets)) == made and len(made) == 2
        tables = {f"{r.body['tableReference']['datasetId']}.{r.body['tableReference']['tableId']}"
                  for r in bigquery.requests if r.method == "POST" and r.path.endswith("/tables")}
        kits = {f"dry_nba_analytics.{replay.ledger.LEDGER_TABLE}",   # the kit's own, not part of the replay by hand
                f"dry_nba_analytics.{replay.claims.CLAIMS_TABLE}"}
        assert {test for _, test in (table_pair(c, PROJECT) for c in commands.tables)} == tables - kits
        sent = sorted((fake_apis.endpoint + r.path, json.dumps(r.body)) for r in _posts(fake_apis))
        assert sorted(map(curl_call, commands.calls)) == sent   # the body as sent (the fake parsed it, keeping order)
        assert {r.headers["content-type"] for r in _posts(fake_apis)} == {"application/json"}


def _ready_to_call_beside_another_claim(target, fixed_home, prefix: str):
    """A real replay of one date prepared up to its calls (steps 1-4), and a claim of the same prefix by a run of
    another host (ops-laptop, process 4242, user alice), fresh."""
    from runbook_lib.replay.claims import Claimant, ReplayClaims

    p = params.validate_params(params.ReplayParams, {
        "target": "gcp", "project": PROJECT, "dry_run": False, "source_dir": str(Path(fixed_home) / "source"),
        "start_date": "2025-12-15", "end_date": "2025-12-15", "dataset_prefix": prefix})
    rp = replay.prepare(target, p, progress=False)
    for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before):
        step()
    other = ReplayClaims(target.warehouse, rp.ledger.claims.ref, claimant=Claimant("ops-laptop", 4242, "alice", "m"))
    other.make_table()
    other.claim(prefix)
    return rp, other


def test_a_replay_of_a_prefix_another_host_is_replaying_is_blocked_naming_it_and_calls_nothing(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        rp, other = _ready_to_call_beside_another_claim(target, fixed_home, "busy")   # alive: its heartbeat is fresh
        rp.run()
        result = rp.result()
        assert result.verdict == "blocked" and not _posts(fake_apis) and rp.outcomes == []
        assert result.summary.startswith("Blocked: another replay with prefix 'busy' is running (host ops-laptop, "
                                         "process 4242, user alice, since ")
        assert rp.ledger.where == "busy_nba_analytics.replay_ledger"
        assert sorted(c.released for c in other.read("busy")) == [False, True]   # its own claim, released


def test_a_stale_claim_of_another_host_is_taken_over_and_the_result_says_so(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    # A run elsewhere that stopped heartbeating may only be paused (a laptop asleep) and call again: the replay
    # goes on, and its verdict and headline say whose claim it took over.
    from runbook_lib.replay.claims import CLAIM_LIVE_MINUTES

    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        rp, other = _ready_to_call_beside_another_claim(target, fixed_home, "stale")
        target.warehouse.execute(f"UPDATE `{other.ref}` SET recorded_at = TIMESTAMP_SUB(recorded_at, INTERVAL "
                                 f"{CLAIM_LIVE_MINUTES + 5} MINUTE) WHERE host = 'ops-laptop'")
        with pytest.warns(Warning, match="took over the replay claim"):
            rp.run()
        rp.isolation()
        result = rp.result()
        assert rp.outcomes and result.verdict == "warn", result.summary
        assert result.summary.startswith(f"Took over the replay claim on {other.ref} of host ops-laptop, process 4242")
        assert result.details["claims_taken_over"] == rp.ledger.notes != []


def _ready_to_call(target, fixed_home, prefix: str):
    """A real replay of 2025-12-15 and 16, one call at a time, prepared up to its calls (steps 1-4), its claims'
    wall clock a WallClock."""
    p = params.validate_params(params.ReplayParams, {
        "target": "gcp", "project": PROJECT, "dry_run": False, "source_dir": str(Path(fixed_home) / "source"),
        "start_date": "2025-12-15", "end_date": "2025-12-16", "dataset_prefix": prefix, "concurrency": 1})
    rp = replay.prepare(target, p, progress=False)
    rp.policy = replay.RetryPolicy(base_s=0.01, max_s=0.05)
    for step in (rp.datasets, rp.capability, rp.test_datasets, rp.fingerprint_before):
        step()
    rp.ledger.claims.clock = WallClock()
    return rp


def _claim_jobs(bigquery) -> tuple[int, int]:
    """(reads of the claims table, rows appended to it), as BigQuery jobs."""
    queries = [job["query"]["query"] for job in bigquery.submitted_jobs() if not job.get("dryRun")]
    claims = [q for q in queries if "replay_claims" in q]
    return (sum(bool(re.match(r"\s*SELECT", q, re.I)) for q in claims),
            sum(bool(re.match(r"\s*INSERT", q, re.I)) for q in claims))


def test_a_replay_that_is_not_paused_checks_its_claim_before_each_call_without_a_query(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        rp = _ready_to_call(target, fixed_home, "quiet")
        before = _claim_jobs(bigquery)
        rp.run()
        assert [o.status for o in rp.outcomes] == ["done"] * 4
        # The claim read back once after it was made, appended and released: nothing per call ...
        reads, appended = (now - then for now, then in zip(_claim_jobs(bigquery), before))
        assert (reads, appended) == (1, 2)
        # ... though the fence looked, at the wall clock: before each of the 4 calls and each of the 8 ledger rows.
        assert rp.ledger.claims.clock.reads >= 4 + 8


def test_a_replay_whose_claim_was_taken_over_while_it_was_paused_stops_before_its_next_call(
        fake_apis, fixed_home, tmp_path, monkeypatch):
    from runbook_lib.replay.claims import CLAIM_LIVE_MINUTES, Claimant, ClaimLost, ClaimTakenOver, ReplayClaims

    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery), ExitStack() as others:
        rp = _ready_to_call(target, fixed_home, "asleep")
        counted: dict[str, int] = {}

        def rows_in_test_tables() -> dict[str, int]:
            return {test: int(target.warehouse.query(f"SELECT COUNT(*) AS n FROM `{test}`")["n"][0])
                    for _, test in rp.pairs}

        def asleep_after(phase: str) -> str:   # after phase3's first date, done and in the ledger
            said = checked(phase)
            if phase != "phase3":
                return said
            rp.ledger.claims.clock.sleep(CLAIM_LIVE_MINUTES + 5)
            target.warehouse.execute(f"UPDATE `{rp.ledger.claims.ref}` SET recorded_at = TIMESTAMP_SUB(recorded_at, "
                                     f"INTERVAL {CLAIM_LIVE_MINUTES + 5} MINUTE) WHERE TRUE")
            taker = replay.WarehouseLedger(target.warehouse, rp.ledger.where)
            taker.claims = ReplayClaims(target.warehouse, rp.ledger.claims.ref,
                                        claimant=Claimant("ops-laptop", 4242, "alice", "elsewhere"))
            with pytest.warns(ClaimTakenOver):
                others.enter_context(taker.hold("asleep"))   # and it calls on, for its own part
            counted.update(rows_in_test_tables())
            return said

        checked = rp._production_still_untouched
        monkeypatch.setattr(rp, "_production_still_untouched", asleep_after)
        with pytest.raises(ClaimLost) as lost:
            rp.run()
        assert str(lost.value).startswith(f"the replay claim on {rp.ledger.claims.ref} was taken over by another "
                                          f"replay (host ops-laptop, process 4242, user alice, since ")
        # Nothing after the pause: no call, no ledger row, no test-table row; what it finished stays for a resume.
        assert [(r.path.rsplit("/", 1)[-1], r.body["start_date"]) for r in _posts(fake_apis)] == [
            ("process-date-range", "2025-12-15")]
        assert [(e.phase, e.day.isoformat(), e.status) for e in rp.ledger.entries()] == [
            ("phase3", "2025-12-15", "running"), ("phase3", "2025-12-15", "done")]
        assert rows_in_test_tables() == counted and any(counted.values())
        result = rp.result()
        assert result.verdict == "fail" and result.summary.startswith("Stopped: the replay claim on ")


def test_the_incident_morning_on_gcp_is_blocked_and_nothing_is_called_or_created(
        fake_apis, sandbox_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, sandbox_home, tmp_path, monkeypatch) as (target, bigquery):
        rp, result = _replay(target, sandbox_home, dataset_prefix="blocked")
        assert result.verdict == "blocked"
        assert result.summary.startswith("Blocked: phase3 serves another phase's code (/health names "
                                         f"{P4}, not {P3}); phase4 runs ")
        health = [r for r in fake_apis.requests if r.path.startswith("/svc/")]
        assert health and all((r.method, r.path.rsplit("/", 1)[-1]) == ("GET", "health") for r in health)
        assert not [r for r in bigquery.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")
                    and not r.path.endswith("/jobs")]
        assert all(not re.match(r"\s*(INSERT|CREATE|MERGE|UPDATE|DELETE)", job["query"]["query"], re.I)
                   for job in bigquery.submitted_jobs())


def test_calls_can_be_made_as_an_impersonated_service_account(fake_apis, fixed_home, tmp_path, monkeypatch):
    from fakes.fixtures import FakeGcloud

    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        p = params.validate_params(params.ReplayParams, {
            "target": "gcp", "project": PROJECT, "impersonate_service_account": f"replayer@{PROJECT}.iam.gserviceaccount.com"})
        tokens = replay.Tokens(target.services, p.principal())
        assert tokens.get("phase3") == OPERATOR_TOKEN and tokens.get("phase3") == OPERATOR_TOKEN   # minted once
        gcloud = FakeGcloud(tmp_path / "bin", tmp_path / "bin" / "gcloud-calls.jsonl")
        assert gcloud.calls() == [["auth", "print-identity-token",
                                   f"--impersonate-service-account=replayer@{PROJECT}.iam.gserviceaccount.com",
                                   f"--audiences={fake_apis.endpoint}/svc/{P3}", "--include-email"]]


def test_production_that_cannot_be_read_blocks_the_replay_before_any_call(fake_apis, fixed_home, tmp_path, monkeypatch):
    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        bigquery.fail("GET", r"datasets/nba_analytics/tables/.*", "accessDenied",
                      "Access Denied: Table nba-props-platform:nba_analytics.player_game_summary: Permission "
                      "bigquery.tables.get denied on table (or it may not exist).", times=None)
        rp, result = _replay(target, fixed_home, start_date="2025-12-15", end_date="2025-12-15",
                             dataset_prefix="unread")
        assert result.verdict == "blocked"
        assert result.summary.startswith("Blocked: production cannot be read, so nothing could prove it untouched: ")
        assert "bigquery.tables.get" in result.summary or "roles/bigquery" in result.summary, result.summary
        assert not _posts(fake_apis) and rp.outcomes == []


class _LedgerWarehouse:
    """BigQuery as the ledger sees it: datasets, tables of rows, INSERTs and SELECTs of one table."""

    def __init__(self):
        self.datasets = {"nba_analytics": "us-west2", "nba_precompute": "us-west2"}
        self.tables: dict[str, list[dict]] = {}
        self.created: list[tuple] = []

    def dataset_exists(self, name):
        return name in self.datasets

    def dataset_info(self, name):
        from types import SimpleNamespace
        return SimpleNamespace(location=self.datasets[name])

    def create_dataset(self, name, default_table_expiration_days=None, exists_ok=True, location=None, labels=None):
        self.created.append((name, location, default_table_expiration_days, labels))
        self.datasets[name] = location

    def table_exists(self, ref):
        return ref in self.tables

    def create_table(self, ref, columns, partition_column=None, exists_ok=True):
        assert ref.split(".")[0] in self.datasets, f"no dataset for {ref}"
        self.tables.setdefault(ref, [])

    def execute(self, sql, values):
        self.tables[sql.split("`")[1]].append(dict(values))

    def query(self, sql):
        import pandas as pd
        return pd.DataFrame(self.tables[sql.split("`")[1]])


def test_the_gcp_ledger_has_one_place_per_prefix_whatever_phases_a_run_selects():
    """A Phase 4-only first run makes the Phase 3 test dataset for its ledger; a full rerun then finds its work."""
    from datetime import date

    from runbook_lib.phases import load_phases
    from runbook_lib.replay import LedgerEntry, Replay, finished

    class Target:
        phases, warehouse = load_phases(), _LedgerWarehouse()
        services = None   # never called: the ledger is all this looks at

    def replay_of(phases):
        p = params.validate_params(params.ReplayParams, {"target": "gcp", "project": PROJECT, "phases": phases,
                                                          "start_date": "2025-12-15", "end_date": "2025-12-15"})
        return Replay(Target(), p, [date(2025, 12, 15)])

    only4 = replay_of(["phase4"])
    assert only4.ledger.where == "test_nba_analytics.replay_ledger"
    only4.ledger.write(LedgerEntry(date(2025, 12, 15), "phase4", "done", "test", "p4-rev"))
    name, location, ttl, labels = Target.warehouse.created[0]
    assert (name, location, labels["runbook"]) == ("test_nba_analytics", "us-west2", "03_prefixed_replay") and ttl
    full = replay_of(["phase3", "phase4"])
    assert full.ledger.where == only4.ledger.where
    done, _ = finished(full.ledger.entries(), "test", {"phase3": "p3-rev", "phase4": "p4-rev"},
                       {"phase3": (), "phase4": ()})
    assert list(done) == [(date(2025, 12, 15), "phase4")]


@pytest.mark.parametrize("gcloud_is, said", [
    ("missing", "impersonating a service account needs the gcloud CLI and gcloud is not on PATH"),
    ("refusing", "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).; "
                 "impersonating it needs roles/iam.serviceAccountTokenCreator on replayer@"),
])
def test_an_account_that_cannot_be_impersonated_is_refused_before_anything_is_created(
        fake_apis, fixed_home, tmp_path, monkeypatch, gcloud_is, said):
    import os
    import shutil

    from fakes.fixtures import make_fake_gcloud
    from runbook_lib.errors import ParameterError
    from runbook_lib.gcp import identity_tokens

    with _gcp(fake_apis, fixed_home, tmp_path, monkeypatch) as (target, bigquery):
        account = f"replayer@{PROJECT}.iam.gserviceaccount.com"
        p = params.validate_params(params.ReplayParams, {
            "target": "gcp", "project": PROJECT, "dry_run": False, "source_dir": str(Path(fixed_home) / "source"),
            "start_date": "2025-12-15", "end_date": "2025-12-15", "dataset_prefix": "imp",
            "impersonate_service_account": account})
        rp = replay.prepare(target, p, progress=False)
        rp.datasets(), rp.capability()   # (/health with the operator's own token, before gcloud breaks)
        assert not rp.stopped, rp.stopped
        if gcloud_is == "missing":
            which = shutil.which
            monkeypatch.setattr(identity_tokens.shutil, "which", lambda name, *a, **k: None if name == "gcloud"
                                else which(name, *a, **k))
        else:
            refusing = make_fake_gcloud(tmp_path / "refusing", "", fail="Permission 'iam.serviceAccounts."
                                        "getOpenIdToken' denied on resource (or it may not exist).")
            monkeypatch.setenv("PATH", f"{refusing.bin_dir}{os.pathsep}{os.environ['PATH']}")
        with pytest.raises(ParameterError) as caught:
            rp.test_datasets()
        assert caught.value.parameter == "impersonate_service_account" and said in str(caught.value)
        assert str(caught.value).startswith(f"impersonate_service_account='{account}' is not valid: ")
        assert "\n" not in str(caught.value)
        assert not _posts(fake_apis)
        assert not [r for r in bigquery.requests if r.method == "POST" and r.path.endswith("/datasets")]
