"""Runbook 03's dry run (its default): it creates and calls nothing, and the bq and curl commands it prints are
exactly what the real run then does (the same datasets with the same options, the same tables, the same calls
with the same bodies); every command is shell-safe, whatever characters its values hold."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from fakes.fixtures import make_fake_gcloud
from runbook_lib import params, replay
from runbook_lib.target import connect

from test_replay_sandbox import fixed_sandbox

TOKEN = "fake-identity-token"
LIKE = re.compile(r"CREATE TABLE IF NOT EXISTS `(?P<project>[^`]+?)\.(?P<test>[^.`]+\.[^.`]+)` "
                  r"LIKE `(?P=project)\.(?P<production>[^.`]+\.[^.`]+)`")


# ---------------------------------------------------------------- reading the commands back


def dataset_options(command: str) -> tuple[str, dict]:
    """PROJECT:DATASET and what `bq --location=L mk --dataset ...` asks for, read as bq reads its flags."""
    argv = shlex.split(command)
    assert argv[0] == "bq" and argv[argv.index("mk") + 1] == "--dataset", command
    labels = dict(argv[i + 1].split(":", 1) for i, arg in enumerate(argv) if arg == "--label")
    location = next((a.split("=", 1)[1] for a in argv if a.startswith("--location=")), None)
    seconds = int(argv[argv.index("--default_table_expiration") + 1])
    return argv[-1], {"location": location, "expiration_s": seconds, "labels": labels}


def table_pair(command: str, project: str) -> tuple[str, str]:
    """(production, test) of a `bq query ... 'CREATE TABLE IF NOT EXISTS ... LIKE ...'`."""
    argv = shlex.split(command)
    assert argv[0] == "bq" and "--use_legacy_sql=false" in argv and f"--project_id={project}" in argv, command
    found = LIKE.fullmatch(argv[-1])
    assert found and found["project"] == project, command
    return found["production"], found["test"]


def curl_call(command: str, token: str = "gcloud auth print-identity-token") -> tuple[str, str]:
    """(URL, the JSON body as sent) of a `curl -X POST ...`, with the headers checked (`token`: the command whose
    output the Authorization header sends)."""
    argv = shlex.split(command)
    assert argv[:3] == ["curl", "-X", "POST"], command
    headers = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-H"]
    assert headers == [f"Authorization: Bearer $({token})", "Content-Type: application/json"]
    return argv[-1], argv[argv.index("-d") + 1]


# ---------------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def fixed_home(seeded_sandbox) -> Iterator[Path]:
    yield from fixed_sandbox(seeded_sandbox, "replay-dry", 0.15)   # 2025-12-15 and 16


class Recorder:
    """The target's services, with every invoke recorded as (phase, the JSON text sent)."""

    def __init__(self, services):
        self._services, self.calls = services, []

    def __getattr__(self, name):
        return getattr(self._services, name)

    def invoke(self, phase, payload, token=None, user_agent=None, remote_ip=None):
        self.calls.append((phase, json.dumps(payload)))
        return self._services.invoke(phase, payload, token=token, user_agent=user_agent, remote_ip=remote_ip)


def _replay(tg, home: Path, **values) -> tuple[replay.Replay, replay.ReplayResult]:
    p = params.validate_params(params.ReplayParams, {"sandbox_home": str(home), **values})
    rp = replay.prepare(tg, p, progress=False)
    rp.shown = {step.__name__: step() for step in (rp.datasets, rp.capability, rp.test_datasets,
                                                   rp.fingerprint_before, rp.commands, rp.run, rp.isolation,
                                                   rp.summary, rp.chart)}   # what each cell shows, in order
    return rp, rp.result()


def _posted_urls(home: Path) -> list[str]:
    log = (home / "logs" / "requests.jsonl").read_text().splitlines()
    return [e["httpRequest"]["requestUrl"] for e in map(json.loads, log) if e["httpRequest"]["requestMethod"] == "POST"]


def test_the_default_is_a_dry_run_in_the_model_and_the_notebook():
    assert params.ReplayParams.model_fields["dry_run"].default is True   # the notebook's: test_notebook_conventions


@pytest.mark.slow
def test_a_dry_run_creates_and_calls_nothing_and_prints_what_the_real_run_then_does(fixed_home):
    home, window = fixed_home, {"start_date": "2025-12-15", "end_date": "2025-12-16", "dataset_prefix": "dry"}
    with connect("local", home=home) as tg:     # one connection: the services keep their loopback URLs
        tg.services = recorder = Recorder(tg.services)
        datasets, posts = tg.warehouse.list_datasets(), len(_posted_urls(home))

        dry, result = _replay(tg, home, **window)
        assert result.verdict == "pass" and result.summary.startswith(
            "Dry run: nothing was created or called; 4 calls would replay 2 dates into dry_nba_analytics, "
            "dry_nba_precompute; step 5 shows the same as bq and curl commands."), result.summary
        # Nothing created, nothing called: the warehouse, the services' request log, the calls, the ledger.
        assert tg.warehouse.list_datasets() == datasets and len(_posted_urls(home)) == posts
        assert recorder.calls == [] and not (home / "replay" / "dry.ledger.jsonl").exists()
        # The sentence is shown once, under step 5; the steps after it show nothing, and there is no chart.
        assert dry.shown["run"].loc["note", "outcome"] == result.summary
        assert {step: type(dry.shown[step]).__name__ for step in ("isolation", "summary", "chart")} == dict.fromkeys(
            ("isolation", "summary", "chart"), "NoneType")
        commands = dry.commands()
        assert result.details["commands"] == commands.to_dict()
        assert [len(commands.datasets), len(commands.tables), len(commands.calls)] == [2, 6, 4]

        real, done = _replay(tg, home, dry_run=False, **window)
        assert done.verdict == "warn" and done.figures["dates done"] == "2/2", done.summary

        # The same datasets with the same options (the sandbox's project, a real one's id, printed as PROJECT) ...
        made = sorted(set(tg.warehouse.list_datasets()) - set(datasets))
        printed = dict(map(dataset_options, commands.datasets))
        assert sorted(printed) == [f"PROJECT:{name}" for name in made] == [
            "PROJECT:dry_nba_analytics", "PROJECT:dry_nba_precompute"]
        for name in made:
            info = tg.warehouse.dataset_info(name)
            assert printed[f"PROJECT:{name}"] == {"location": info.location, "labels": info.labels,
                                                  "expiration_s": info.default_table_expiration_days * 86_400}
        # ... the same tables, each made like its production table ...
        pairs = sorted(table_pair(c, "PROJECT") for c in commands.tables)
        assert pairs == sorted(replay.output_tables(tg.phases, ["phase3", "phase4"], "dry"))
        assert sorted(t for _, t in pairs) == sorted(f"{d}.{t}" for d in made for t in tg.warehouse.list_tables(d))
        for production, test in pairs:
            want, got = tg.warehouse.table_info(production), tg.warehouse.table_info(test)
            assert (got.columns, got.partition_column) == (want.columns, want.partition_column)
        # ... and the same calls, to the same URLs, with the same bodies.
        # (the sandbox's token: `runbook sandbox token`, tests/test_sandbox_printed_commands.py runs them)
        curls = [curl_call(c, shlex.split(c)[4][len("Authorization: Bearer $("):-1]) for c in commands.calls]
        assert all(" sandbox token --home " in c for c in commands.calls)
        assert Counter(url for url, _ in curls) == Counter(_posted_urls(home)[posts:])
        endpoints = {name: tg.phases.get(name).endpoint for name in ("phase3", "phase4")}
        assert Counter((url.rsplit("/", 1)[1], body) for url, body in curls) == Counter(
            (endpoints[phase].lstrip("/"), body) for phase, body in recorder.calls)
        assert real.equivalent.to_dict() == commands.to_dict()   # the real run showed the same

        # A dry run after it: everything exists and every call is finished (the ledger), so nothing is left to do.
        again, rerun = _replay(tg, home, **window)
        assert rerun.verdict == "pass" and again.commands().all() == []
        assert again.commands().notes == ["4 calls finished by an earlier run with this prefix are left out (resume)"]
        assert rerun.summary.startswith("Nothing to call: all 4 calls finished earlier into dry_nba_analytics, "
                                        "dry_nba_precompute"), rerun.summary
        assert rerun.figures["dates done"] == "2/2"      # the ledger says so, though a dry run calls nothing

        # One date and one phase of it: the counts and notes are this replay's, not the whole ledger's.
        one, narrow = _replay(tg, home, start_date="2025-12-15", end_date="2025-12-15", phases=["phase3"],
                              dataset_prefix="dry")
        assert narrow.summary.startswith("Nothing to call: all 1 call finished earlier into dry_nba_analytics "),\
            narrow.summary
        assert one.commands().notes == ["1 calls finished by an earlier run with this prefix are left out (resume)"]
        assert narrow.figures["dates done"] == "1/1" and one.resume_notes == []


# ---------------------------------------------------------------- shell safety


ODD = "it's \"odd\" $HOME `id` \\ ; | & *\nnew line"


def _argv_through_bash(command: str, bin_dir: Path) -> list[str]:
    """What the program receives when bash runs `command` (bq and curl replaced by a recorder of argv)."""
    out = bin_dir / "argv.json"
    for name in ("bq", "curl"):
        script = bin_dir / name
        script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                          f"open({str(out)!r}, 'w').write(json.dumps([{name!r}] + sys.argv[1:]))\n")
        script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": "/nonexistent"}
    subprocess.run(["bash", "-c", command], env=env, check=True, timeout=30)
    return json.loads(out.read_text())


def test_every_command_means_what_it_says_whatever_its_values_hold(tmp_path):
    bin_dir = tmp_path / "bin"
    make_fake_gcloud(bin_dir, TOKEN)
    new = replay.NewDataset(f"dry_{ODD}", "us-west2", 1.5, {"runbook": ODD, "created-by": "phase-runbooks"})
    command = replay.dataset_command("my-project", new)
    expected = ["bq", "--location=us-west2", "mk", "--dataset", "--default_table_expiration", "129600",
                "--label", f"runbook:{ODD}", "--label", "created-by:phase-runbooks", f"my-project:dry_{ODD}"]
    assert shlex.split(command) == expected == _argv_through_bash(command, bin_dir)

    command = replay.table_command("my-project", "nba_analytics.player_game_summary", f"dry_{ODD}.t", "US")
    sql = f"CREATE TABLE IF NOT EXISTS `my-project.dry_{ODD}.t` LIKE `my-project.nba_analytics.player_game_summary`"
    expected = ["bq", "--location=US", "--project_id=my-project", "query", "--use_legacy_sql=false", sql]
    assert shlex.split(command) == expected == _argv_through_bash(command, bin_dir)

    payload = {"start_date": "2025-12-15", "end_date": "2025-12-15", "processors": [ODD], "backfill_mode": True,
               "dataset_prefix": ODD}
    command = replay.call_command("https://svc-123.a.run.app/", "/process-date-range", payload)
    url, body = curl_call(command)
    assert (url, json.loads(body), body) == (
        "https://svc-123.a.run.app/process-date-range", payload, json.dumps(payload))
    assert _argv_through_bash(command, bin_dir) == [   # the shell runs gcloud for the token; nothing else is expanded
        "curl", "-X", "POST", "-H", f"Authorization: Bearer {TOKEN}", "-H", "Content-Type: application/json",
        "-d", json.dumps(payload), "https://svc-123.a.run.app/process-date-range"]


def test_a_call_as_an_impersonated_service_account_mints_its_token_as_the_run_does(tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", TOKEN)
    account = "replayer@my-project.iam.gserviceaccount.com"
    command = replay.call_command("https://svc-123.a.run.app", "/process-date", {"analysis_date": "2025-12-15"},
                                  impersonate=account)
    assert _argv_through_bash(command, tmp_path / "bin")[4] == f"Authorization: Bearer {TOKEN}"
    # gcp/services.identity_token's own arguments (tests/test_replay_gcp.py checks those of the run)
    assert gcloud.calls() == [["auth", "print-identity-token", f"--impersonate-service-account={account}",
                               "--audiences=https://svc-123.a.run.app", "--include-email"]]
