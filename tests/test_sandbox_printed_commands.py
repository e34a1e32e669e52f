"""On the sandbox (target local), whose project id is params/phases.yaml's, a real project's, no gcloud or bq command
the kit prints for a person to run names that project: runbooks 02 (the plan), 05 (the fixes) and 03 (the bq
commands) name it PROJECT, each block under a line saying it is what this would be on gcp and the sandbox runs
none of it. On gcp the commands are as they were, byte for byte (the golden files of test_redeploy_plan.py and the
gcp tests pin them too). Runbook 03's sandbox curl, pasted into bash while the services run, is let in: its token
is the sandbox's own (`runbook sandbox token`)."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from runbook_lib import audit, params, redeploy, replay
from runbook_lib.cli import main
from runbook_lib.local.identity import verify_token
from runbook_lib.local.state import read_state
from runbook_lib.local.home import sandbox_home as home_of
from runbook_lib.phases import load_phases
from runbook_lib.redeploy import render_plan
from runbook_lib.shell_words import (GCP_ONLY_HEADER, PROJECT_PLACEHOLDER, printed_project,
                                     with_printed_project)
from runbook_lib.target import connect

from test_replay_sandbox import fixed_sandbox

REAL = load_phases().project           # nba-props-platform: the project the sandbox is named after
COMMIT = "a51aae7c2d9e4f0b8a6c1d3e5f7a9b0c2d4e6f81"
P4_PREVIOUS = "nba-phase4-precompute-processors-00029-fdx"


def _plan(sandbox: bool, **overrides):
    values = {"project": REAL, "repository": "cloud-run-source-deploy", "commit": COMMIT, "branch": "main",
              "source_dir": "/home/op/nba-stats-scraper", "previous_revision": P4_PREVIOUS}
    return render_plan(load_phases().get("phase4"), sandbox=sandbox, **{**values, **overrides})


def _as_on_gcp(text: str) -> str:
    """A sandbox's printed text with its header lines left out and PROJECT back to the real id."""
    return "".join(line.replace(PROJECT_PLACEHOLDER, REAL) for line in text.splitlines(keepends=True)
                   if line.rstrip("\n") != GCP_ONLY_HEADER)


# ---------------------------------------------------------------- the one mechanism


def test_the_project_as_printed_is_the_placeholder_on_the_sandbox_and_the_project_on_gcp():
    assert printed_project(dataclasses.make_dataclass("T", ["name", "project"])("local", REAL)) == "PROJECT"
    assert printed_project(dataclasses.make_dataclass("T", ["name", "project"])("gcp", "my-project")) == "my-project"
    every_form = (f"--project={REAL} {REAL}:ds --project_id={REAL} `{REAL}.ds.t` us-docker.pkg.dev/{REAL}/r/s:t "
                  f"projects/{REAL}/roles/x sa@{REAL}.iam.gserviceaccount.com")
    assert with_printed_project(every_form, REAL, "PROJECT") == every_form.replace(REAL, "PROJECT")
    assert REAL not in with_printed_project(every_form, REAL, "PROJECT")
    # a longer name holding the id is another name; on gcp nothing changes
    longer = f"{REAL}-staging x-{REAL} {REAL}2"
    assert with_printed_project(longer, REAL, "PROJECT") == longer
    assert with_printed_project(every_form, REAL, REAL) == every_form


# ---------------------------------------------------------------- runbook 02


@pytest.mark.parametrize("strategy", ["cloudbuild-config", "image"])
def test_the_sandbox_plan_prints_its_gcloud_commands_with_the_placeholder_under_the_header(strategy):
    extra = {} if strategy == "cloudbuild-config" else {
        "strategy": "image", "image": f"us-west2-docker.pkg.dev/{REAL}/repo/svc@sha256:" + "ab" * 32}
    gcp, box = _plan(False, **extra), _plan(True, **extra)
    printed = [*box.commands(), box.rollback_command(), box.migrate_command(), box.follow_latest_command()]
    assert not [c for c in printed if REAL in c]
    assert all("--project=PROJECT" in c for c in printed if c.startswith("gcloud"))
    text = box.to_text()
    lines = text.splitlines()
    # each block of commands is headed by the line, and nothing printed to copy names the real project
    for block in ("# the same with gcloud", "# roll back with"):
        at = next(i for i, line in enumerate(lines) if line.startswith(block))
        assert lines[at + 1] == GCP_ONLY_HEADER
    assert "sandbox" in GCP_ONLY_HEADER and "on gcp" in GCP_ONLY_HEADER and "PROJECT" in GCP_ONLY_HEADER
    commands = text.split("# the same with gcloud", 1)[1]
    assert REAL not in commands
    # the deploy request (what the sandbox itself does) keeps its project
    assert f"project: {REAL}" in text
    # gcp: no header, no placeholder, and the sandbox's text is gcp's but for those
    assert GCP_ONLY_HEADER not in gcp.to_text() and "PROJECT" not in gcp.to_text()
    assert _as_on_gcp(text) == gcp.to_text()
    assert [c.replace("PROJECT", REAL) for c in printed] == [
        *gcp.commands(), gcp.rollback_command(), gcp.migrate_command(), gcp.follow_latest_command()]
    assert "sandbox" not in gcp.to_dict() and box.to_dict()["sandbox"] is True
    assert box.config == gcp.config   # the build the sandbox runs is the same


def test_the_sandbox_redeploy_makes_a_sandbox_plan(local_target):
    p = params.validate_params(params.RedeployParams, {"phase": "phase4",
                                                        "sandbox_home": local_target.options["home"]})
    plan = redeploy.prepare(local_target, p, progress=None).plan
    assert plan.sandbox and plan.project == REAL and plan.printed_project == "PROJECT"
    assert not [c for c in [*plan.commands(), plan.rollback_command()] if REAL in c]
    assert GCP_ONLY_HEADER in plan.to_text()
    # what the sandbox's own build pushes and deploys keeps the project: only the printed commands change
    assert f"/{REAL}/" in plan.image


# ---------------------------------------------------------------- runbook 05


def _audit(target, printed: str | None = None):
    scope = audit.audit_scope(target, params.validate_params(params.AuditParams, {
        "sandbox_home": target.options["home"]}))
    if printed is not None:
        scope = dataclasses.replace(scope, printed_project=printed)
    access = audit.who_may_call(target, scope)
    tried = audit.who_tried(target, scope, access)
    return audit.conclude(scope, access, tried, audit.what_broke(target, scope, access, tried))


def test_the_sandbox_audit_prints_its_fixes_with_the_placeholder_under_the_header(local_target):
    result = _audit(local_target)
    fixes = [c for f in result.findings for c in f.fix]
    assert fixes, "the sandbox's incident morning has findings to fix"
    text = result.fix_commands()
    assert text.splitlines()[0] == GCP_ONLY_HEADER and REAL not in text
    assert not [c for c in fixes + result.checks if REAL in c]
    assert any("--project=PROJECT" in c for c in fixes)
    assert REAL not in "".join(result.findings_table()["fix"])
    assert REAL not in json.dumps([f["fix"] for f in result.details["findings"]])
    # as gcp prints them (the same audit with the project printed as itself): no header, the real id
    as_gcp = _audit(local_target, printed=local_target.project)
    assert GCP_ONLY_HEADER not in as_gcp.fix_commands() and "PROJECT" not in as_gcp.fix_commands()
    assert _as_on_gcp(text) == as_gcp.fix_commands()


# ---------------------------------------------------------------- runbook 03


@pytest.fixture(scope="module")
def fixed_home(seeded_sandbox) -> Iterator[Path]:
    yield from fixed_sandbox(seeded_sandbox, "replay-printed", 0.15)


def _bash(command: str) -> subprocess.CompletedProcess:
    # as a person's shell: no gcloud credentials, the kit's `runbook` wherever the printed command names it
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CLOUDSDK_CONFIG": "/nonexistent"})


@pytest.mark.slow
def test_the_sandbox_replay_prints_bq_with_the_placeholder_and_curls_that_the_sandbox_lets_in(fixed_home):
    p = params.validate_params(params.ReplayParams, {"sandbox_home": str(fixed_home), "start_date": "2025-12-15",
                                                     "end_date": "2025-12-15", "dataset_prefix": "printed"})
    with connect("local", home=fixed_home) as tg:
        rp = replay.prepare(tg, p, progress=False)
        for step in (rp.datasets, rp.capability, rp.test_datasets):
            step()
        commands = rp.commands()
        assert commands.datasets and commands.tables and len(commands.calls) == 2
        for shown in (commands.to_text(), commands.script()):
            assert REAL not in shown
            lines = shown.splitlines()
            assert lines[lines.index(commands.datasets[0]) - 1] == GCP_ONLY_HEADER
            at = lines.index(commands.calls[0]) - 1
            assert "port" in lines[at] and "sandbox" in lines[at] and lines[at].startswith("# ")
        assert all(c.split()[-1].startswith("PROJECT:") for c in commands.datasets)
        assert all("--project_id=PROJECT" in c and "`PROJECT." in c for c in commands.tables)
        home = str(home_of(fixed_home).root)
        assert all(f"sandbox token --home {home})" in c and "gcloud" not in c for c in commands.calls)
        assert commands.to_dict()["bq_header"] == GCP_ONLY_HEADER

        # each printed call, pasted into bash while the services run, is let in by the sandbox's IAM check
        for call in commands.calls:
            done = _bash(call + " -sS -o /dev/null -w '%{http_code}'")
            assert done.returncode == 0 and done.stdout.strip() not in ("401", "403"), (call, done)
            assert done.stdout.strip().startswith("2"), (call, done.stdout, done.stderr)


def test_the_gcp_replay_commands_are_unchanged_by_the_sandbox_s_headers():
    plain = replay.ReplayCommands(datasets=["bq mk a"], tables=["bq query b"], calls=["curl c"])
    assert plain.to_text() == ("# The same by hand: test datasets and tables (bq), then one call per date and phase "
                               "(curl)\nbq mk a\nbq query b\ncurl c\n")
    assert plain.script() == "bq mk a\nbq query b\ncurl c\n"
    assert plain.to_dict() == {"datasets": ["bq mk a"], "tables": ["bq query b"], "calls": ["curl c"], "notes": []}
    # a call with a given token command prints it in place of gcloud's
    call = replay.call_command("http://127.0.0.1:9/", "/p", {}, token="runbook sandbox token --home /h")
    assert call.startswith('curl -X POST -H "Authorization: Bearer $(runbook sandbox token --home /h)" ')
    assert replay.call_command("http://x/", "/p", {}).startswith(
        'curl -X POST -H "Authorization: Bearer $(gcloud auth print-identity-token)" ')


# ---------------------------------------------------------------- runbook sandbox token


def test_runbook_sandbox_token_prints_a_token_the_sandbox_takes(sandbox_home, capsys):
    key = read_state(home_of(sandbox_home))["token_key"]
    assert main(["sandbox", "token", "--home", str(sandbox_home)]) == 0
    assert verify_token(key, capsys.readouterr().out.strip()) == "user:operator@sandbox.local"
    account = "serviceAccount:replayer@example.iam.gserviceaccount.com"
    assert main(["sandbox", "token", "--home", str(sandbox_home), "--principal", account]) == 0
    assert verify_token(key, capsys.readouterr().out.strip()) == account
    assert main(["sandbox", "token", "--home", str(sandbox_home), "--principal", "nobody"]) == 2
    assert "principal" in capsys.readouterr().err
    assert main(["sandbox", "status", "--home", str(sandbox_home), "--principal", account]) == 2
