"""Faults, hangs and hostile input as operators meet them (issue 13): each is refused or reported in
one sentence with the right exit code, never a traceback, and leaves nothing behind and nothing
changed in the sandbox."""
from __future__ import annotations

import json
import re
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import once_per_test_run
from runbook_lib import cli, params, runner
from runbook_lib.errors import CloudUnreachable, ParameterError
from runbook_lib.gcp.connect import ENDPOINTS_ENV

NOTEBOOKS = Path(__file__).parent / "notebooks"
EXAMPLE = NOTEBOOKS / "example.ipynb"
DIAGNOSE = runner.NOTEBOOKS_DIR / "01_diagnose_build.ipynb"
OVERVIEW = runner.NOTEBOOKS_DIR / "00_pipeline_overview.ipynb"
MISSING_BUILD = "00000000-0000-4000-8000-000000000000"
TOO_LONG = "/tmp/" + "x" * 5000
# Nested aliases: 342 bytes that expand into 9**9 (387 million) strings.
ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
                     for prev, name in zip([None, *"abcdefgh"], "abcdefghi"))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "runbook_lib.cli", *args]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "TQDM_DISABLE": "1", **extra}


def _one_sentence(stderr: str, start: str) -> str:
    """The error line, checked to be the only thing said (no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {start}"), stderr
    return lines[0]


def _page(out: Path) -> tuple[dict, str]:
    """(metadata["runbook"], the HTML page) of the one run under `out`."""
    notebook = next(out.rglob("*.ipynb"))
    # the run's own page, beside its notebook (out also holds the index of every run)
    return nbformat.read(notebook, as_version=4).metadata["runbook"], notebook.with_suffix(".html").read_text()


# ---------------------------------------------------------------------------------------------
# Parameter and plan files

def test_an_alias_bomb_is_refused_before_any_value_is_expanded(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 500
    out = tmp_path / "reports"
    # A subprocess with a deadline: expanding the aliases would take minutes and gigabytes.
    run = subprocess.run(_cli("run", str(EXAMPLE), "-f", str(bomb), "-o", str(out)), capture_output=True, text=True,
                         timeout=120, env=_env())
    assert run.returncode == 2
    assert "YAML without anchors or aliases (&name, *name; line 1 uses one)" in _one_sentence(run.stderr, "-f=")
    assert not out.exists()


def test_a_plan_with_anchors_is_refused(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"parameters:\n  x: &x [1, 2]\n  y: *x\nsteps:\n  - id: a\n    notebook: {EXAMPLE}\n")
    assert cli.main(["overnight", str(plan), "-o", str(tmp_path / "out")]) == 2
    assert "line 2 uses a YAML anchor or alias" in _one_sentence(capsys.readouterr().err, f"{plan}:")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["run", "overnight"])
def test_a_file_that_is_not_utf8_is_one_sentence(tmp_path, capsys, command):
    file = tmp_path / "latin1.yaml"
    file.write_bytes(b"rows: 3\nverdict: caf\xe9\n" if command == "run" else b"title: caf\xe9\nsteps: []\n")
    args = ["run", str(EXAMPLE), "-f", str(file)] if command == "run" else ["overnight", str(file)]
    assert cli.main([*args, "-o", str(tmp_path / "out")]) == 2
    assert "is not UTF-8" in _one_sentence(capsys.readouterr().err, "")
    assert not (tmp_path / "out").exists()


def test_a_number_in_a_file_is_taken_as_minus_p_takes_it(tmp_path, sandbox_home):
    file = tmp_path / "p.yaml"
    file.write_text("phase: 4\nbuild_id: 0123456\n")
    from_file = runner.resolve_parameters(DIAGNOSE, files=[file])
    from_pairs = runner.resolve_parameters(DIAGNOSE, pairs=[["phase", "4"], ["build_id", "0123456"]])
    assert from_file == from_pairs == {"phase": "4", "build_id": "0123456"}   # not 4, not octal 42798
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"parameters: {{sandbox_home: {sandbox_home}}}\n"
                    f"steps:\n  - id: d\n    notebook: {DIAGNOSE}\n    parameters: {{phase: 4}}\n")
    assert runner.load_plan(plan).steps[0].values["phase"] == "4"
    assert params.validate_params(params.DiagnoseParams, {"phase": "4", "sandbox_home": str(sandbox_home)}).phase == "phase4"


# ---------------------------------------------------------------------------------------------
# Folders and paths

def test_a_report_folder_that_is_a_file_is_one_sentence(tmp_path, capsys):
    file = tmp_path / "reports"
    file.write_text("not a folder")
    for outdir in (file, file / "sub"):
        assert cli.main(["run", str(EXAMPLE), "-o", str(outdir)]) == 2
        assert f"give a folder for the reports; {file} is a file" in _one_sentence(capsys.readouterr().err, "outdir=")
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: a\n    notebook: {EXAMPLE}\n")
    assert cli.main(["overnight", str(plan), "-o", str(file)]) == 2
    _one_sentence(capsys.readouterr().err, "outdir=")
    assert file.read_text() == "not a folder"


def test_a_home_under_proc_is_one_sentence(capsys):
    home = "/proc/runbook-hostile-input-test"
    assert cli.main(["sandbox", "init", "--home", home, "--no-services"]) == 2
    assert "give a folder the sandbox can create and write in" in _one_sentence(capsys.readouterr().err, "home=")
    assert cli.main(["sandbox", "status", "--home", home]) == 1   # no sandbox there: not one in working order
    assert f"not initialised. Run `runbook sandbox init --home {home}`" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["source_dir", "log_file", "sandbox_home"])
def test_a_path_too_long_for_the_filesystem_names_its_parameter(sandbox_home, name):
    values = {"sandbox_home": str(sandbox_home), name: TOO_LONG}
    with pytest.raises(ParameterError) as caught:
        params.validate_params(params.DiagnoseParams, values)
    assert caught.value.parameter == name and "a path the filesystem accepts (file name too long)" in str(caught.value)


def test_sandbox_status_into_a_closed_pipe_is_quiet(sandbox_home):
    # The reader goes away before the status is printed, as `runbook sandbox status | head -1` does.
    process = subprocess.Popen(_cli("sandbox", "status", "--home", str(sandbox_home)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env())
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0
    assert stderr == "", stderr


# ---------------------------------------------------------------------------------------------
# Runs that meet a bad value only when they use it: exit 2, one sentence, no traceback on the page

@pytest.fixture(scope="module")
def diagnose_runs(sandbox_home, tmp_path_factory):
    """Runbook 01 run as the operator would, in parallel: a build id that does not exist, a log
    file path too long for the filesystem."""
    return once_per_test_run(tmp_path_factory, "diagnose-runs",
                             lambda: _diagnose_runs(sandbox_home, tmp_path_factory.mktemp("diagnose-runs")))


def _diagnose_runs(sandbox_home: Path, base: Path) -> dict:
    state = (Path(sandbox_home) / "state.json").read_bytes()
    cases = {"missing-build": ["-p", "build_id", MISSING_BUILD], "long-log-file": ["-p", "log_file", TOO_LONG]}
    started = {name: subprocess.Popen(_cli("run", str(DIAGNOSE), "-p", "sandbox_home", str(sandbox_home), *args,
                                           "-o", str(base / name)),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
               for name, args in cases.items()}
    results = {name: (p.wait(timeout=300), p.stdout.read(), p.stderr.read(), base / name) for name, p in started.items()}
    assert (Path(sandbox_home) / "state.json").read_bytes() == state   # nothing changed in the sandbox
    return results


def test_a_build_id_that_does_not_exist_exits_2_naming_build_id(diagnose_runs):
    code, out, err, folder = diagnose_runs["missing-build"]
    assert code == 2, err[-3000:]
    line = _one_sentence(err, f"build_id={MISSING_BUILD!r} is not valid: give the id of a build of project")
    meta, page = _page(folder)
    assert meta["run"]["outcome"] == "bad-parameters" and line.removeprefix("error: ") == meta["run"]["error"]
    assert "Traceback" not in page and "ParameterError: build_id=" in page


def test_a_path_too_long_in_a_run_exits_2_without_a_traceback(diagnose_runs):
    code, out, err, folder = diagnose_runs["long-log-file"]
    assert code == 2, err[-3000:]
    _one_sentence(err, "log_file=")
    meta, page = _page(folder)
    assert meta["run"]["outcome"] == "bad-parameters" and "Traceback" not in page


# ---------------------------------------------------------------------------------------------
# Google Cloud: an endpoint that never answers, credentials that are not there

class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def test_an_api_that_never_answers_is_one_sentence_naming_it(silent_server, monkeypatch):
    from runbook_lib.target import connect

    monkeypatch.setenv("RUNBOOK_GCP_REQUEST_TIMEOUT_S", "0.5")
    monkeypatch.setenv("RUNBOOK_GCP_CALL_DEADLINE_S", "1")
    endpoints = {name: silent_server.endpoint for name in ("cloudbuild", "logging", "storage", "run", "bigquery")}
    with connect("gcp", project="my-project", endpoints=endpoints) as tg:
        for call, api in ((lambda: tg.builds.get(MISSING_BUILD), "Cloud Build"),
                          (lambda: tg.builds.latest_failed("svc"), "Cloud Build"),
                          (lambda: tg.services.describe("phase4"), "Cloud Run"),
                          (lambda: tg.logs.request_logs("phase4"), "Cloud Logging"),
                          (lambda: tg.logs.build_log_sources()[0].fetch({"id": MISSING_BUILD,
                                                                         "logsBucket": "gs://lb1"}), "Cloud Storage"),
                          (lambda: tg.warehouse.list_datasets(), "BigQuery")):
            with pytest.raises(CloudUnreachable) as caught:
                call()
            assert str(caught.value).startswith(f"{api} at {silent_server.endpoint} did not answer ")
            assert "(0.5 s per request, 1 s per call with retries)" in str(caught.value)


def test_a_refused_connection_is_retried_then_one_sentence(monkeypatch):
    from runbook_lib.target import connect

    closed = socket.create_server(("127.0.0.1", 0))
    endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    monkeypatch.setenv("RUNBOOK_GCP_CALL_DEADLINE_S", "1")
    with connect("gcp", project="my-project", endpoints={"cloudbuild": endpoint}) as tg:
        with pytest.raises(CloudUnreachable, match=rf"^Cloud Build at {endpoint} could not be reached for get_build "
                                                   r"after retries \(Connection refused\)"):
            tg.builds.get(MISSING_BUILD)


def test_the_policy_retries_reads_only_and_guards_what_calls_return():
    import requests

    from runbook_lib.gcp.calls import CallPolicy, GuardedClient

    seen = {}

    class Operation:
        operation = "operations/1"

        def done(self, retry=None):
            raise requests.exceptions.ReadTimeout("read timed out")

    class Client:
        def get_thing(self, name, retry=None, timeout=None):
            seen["get"] = (retry, timeout)

        def create_thing(self, request, retry=None, timeout=None):
            seen["create"] = (retry, timeout)
            return Operation()

    client = GuardedClient(Client(), "Thing API", "http://127.0.0.1:9", CallPolicy(request_s=7, deadline_s=20))
    client.get_thing("x")
    operation = client.create_thing({})
    assert seen["get"][0] is not None and seen["get"][1] == 7
    assert seen["create"] == (None, 7)      # a create sent twice could make two things: no retry of ours
    assert operation.operation == "operations/1"
    with pytest.raises(CloudUnreachable, match=r"^Thing API at http://127.0.0.1:9 did not answer done in time"):
        operation.done()


def test_runbook_01_against_an_api_that_never_answers_ends_in_one_sentence(silent_server, tmp_path):
    endpoints = json.dumps({name: silent_server.endpoint for name in ("cloudbuild", "logging", "storage", "run")})
    out = tmp_path / "reports"
    run = subprocess.run(_cli("run", str(DIAGNOSE), "-p", "target", "gcp", "-p", "project", "my-project", "-o", str(out)),
                         capture_output=True, text=True, timeout=300,
                         env=_env(**{ENDPOINTS_ENV: endpoints, "RUNBOOK_GCP_REQUEST_TIMEOUT_S": "1"}))
    assert run.returncode == 1, run.stderr[-3000:]
    said = f"CloudUnreachable: Cloud Build at {silent_server.endpoint} did not answer list_builds in time"
    assert said in _one_sentence(run.stderr, "error in cell")
    meta, page = _page(out)
    assert said in meta["summary"] and said in page and "Traceback" not in page


def test_missing_credentials_are_said_once_before_the_night(tmp_path, monkeypatch, capsys):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    asked = []

    def no_adc(*args, **kwargs):
        asked.append(1)
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    monkeypatch.delenv(ENDPOINTS_ENV, raising=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"target: gcp\nparameters: {{project: my-project}}\nsteps:\n"
                    f"  - id: one\n    notebook: {DIAGNOSE}\n  - id: two\n    notebook: {OVERVIEW}\n")
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 2
    assert "target=gcp found no Google Cloud credentials" in _one_sentence(capsys.readouterr().err, "")
    assert len(asked) == 1 and not out.exists()
    assert cli.main(["run", str(DIAGNOSE), "-p", "target", "gcp", "-o", str(out)]) == 2
    assert "gcloud auth application-default login" in _one_sentence(capsys.readouterr().err, "")
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# The sandbox: read-only, and reset while runs use it

def _read_only(home: Path, *args: str) -> subprocess.CompletedProcess:
    """`runbook ARGS` with `home` read-only: a read-only bind mount in a private mount namespace as
    root (root ignores file modes), file modes otherwise."""
    command = _cli(*args)
    if os.geteuid() == 0:
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("as root, a read-only folder needs a mount namespace (unshare -m), not available here")
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
        return subprocess.run(["unshare", "-m", "sh", "-c", script, str(home), *command], capture_output=True,
                              text=True, timeout=300, env=_env())
    modes = {p: p.stat().st_mode for p in [home, *home.rglob("*")] if p.is_dir()}
    for path in modes:
        path.chmod(0o555)
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=_env())
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_a_read_only_sandbox_is_one_sentence(make_sandbox, tmp_path):
    home = make_sandbox()
    state = (home / "state.json").read_bytes()
    for action in ("init", "reset"):
        done = _read_only(home, "sandbox", action, "--home", str(home), "--force", "--no-services") if action == "init" \
            else _read_only(home, "sandbox", action, "--home", str(home))
        assert done.returncode == 2, done.stderr
        assert "give a folder the sandbox can write in (read-only file system" in _one_sentence(done.stderr, "home=") \
            or "(permission denied)" in done.stderr
    status = _read_only(home, "sandbox", "status", "--home", str(home))
    assert status.returncode == 0 and "Sandbox at" in status.stdout and "Traceback" not in status.stderr
    out = tmp_path / "reports"
    run = _read_only(home, "run", str(OVERVIEW), "-p", "sandbox_home", str(home), "-o", str(out))
    assert run.returncode == 2, run.stderr[-3000:]
    assert "give a sandbox folder this user can write in" in _one_sentence(run.stderr, "sandbox_home=")
    assert "Traceback" not in _page(out)[1]
    assert (home / "state.json").read_bytes() == state


def test_reset_is_refused_while_a_run_uses_the_sandbox(make_sandbox, capsys):
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.local.state import other_users

    home = make_sandbox()
    state = (home / "state.json").read_bytes()
    user = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom runbook_lib import connect\n"
                             f"tg = connect('local', home={str(home)!r})\nprint('connected', flush=True)\ntime.sleep(120)"],
                            stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert user.stdout.readline().strip() == "connected"
        assert cli.main(["sandbox", "reset", "--home", str(home), "--scale", "0.15"]) == 1
        said = _one_sentence(capsys.readouterr().err, f"1 run is using the sandbox at {home} (pid {user.pid})")
        assert "wait for it to finish" in said
        assert (home / "state.json").read_bytes() == state
    finally:
        user.kill()
        user.wait()
    assert other_users(sandbox_home(home)) == []   # a run that went away no longer counts


def _night_plan(tmp_path: Path, home: Path) -> Path:
    plan = tmp_path / "night.yaml"
    plan.write_text(f"title: Night on a shared sandbox\nsteps:\n  - id: a\n    notebook: {EXAMPLE}\n"
                    f"    parameters: {{rows: 3, chart: false, sandbox_home: '{home}'}}\n")
    return plan


def test_a_second_night_on_a_sandbox_is_refused_at_once_naming_the_first(make_sandbox, tmp_path, capsys):
    """Two overnights on one sandbox each redeployed under the other (each refused the other's redeploy only
    when it came to it); the second is now refused before it starts, naming the night that holds it."""
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.local.state import night_on

    home = make_sandbox()
    out = tmp_path / "reports"
    first = {"pid": 4242, "plan": "Overnight sandbox review", "started": "2026-12-04 01:00:00 +0000",
             "reports": "/srv/reports"}
    with night_on(sandbox_home(home), first):
        assert cli.main(["overnight", str(_night_plan(tmp_path, home)), "-o", str(out)]) == 1
        said = _one_sentence(capsys.readouterr().err, f"Another overnight is using the sandbox at {home} (pid 4242, "
                                                      "plan 'Overnight sandbox review', started 2026-12-04 01:00:00 "
                                                      "+0000, writing to /srv/reports)")
        assert said.endswith("wait for it to finish, or stop it, then run this night again.")
        assert not out.exists() or not any(out.rglob("overnight-*"))   # nothing of the refused night was written
    assert cli.main(["overnight", str(_night_plan(tmp_path, home)), "-o", str(out)]) == 0   # the first has ended
    assert (home / "run" / "night.lock").read_text() == ""


def test_a_night_holds_its_sandbox_through_every_step(make_sandbox, tmp_path, monkeypatch):
    """Held while each step runs, and the night is a user of the sandbox throughout, so `sandbox reset` never
    takes the sandbox away between two steps."""
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.local.state import NightInProgress, night_on, other_users
    from runbook_lib.runner import plan as plans

    home = make_sandbox()
    seen = []
    real = plans.execute_runbook

    def step(*args, **kwargs):
        try:
            with night_on(sandbox_home(home), {"pid": 1}):
                seen.append("free")
        except NightInProgress as exc:
            seen.append(str(exc))
        seen.append(("users", other_users(sandbox_home(home))))
        return real(*args, **kwargs)

    monkeypatch.setattr(plans, "execute_runbook", step)
    assert runner.run_plan(_night_plan(tmp_path, home), outdir=tmp_path / "reports").exit_code == 0
    assert f"(pid {os.getpid()}, plan 'Night on a shared sandbox', started " in seen[0]
    assert seen[1] == ("users", [])   # this process is the night: a reset from anywhere else sees it (below)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom runbook_lib.local.home import "
                               "sandbox_home\nfrom runbook_lib.local.state import night_on\n"
                               f"with night_on(sandbox_home({str(home)!r}), {{'pid': 1}}):\n"
                               "    print('holding', flush=True)\n    time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert other_users(sandbox_home(home)) == [holder.pid]
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------------------------------
# A missing or damaged warehouse: never a false diagnosis, never a new empty warehouse

def _damage(warehouse: Path, how: str, whole: bytes) -> str:
    """Damage the sandbox's warehouse file; returns how `status` describes it."""
    if how == "missing":
        warehouse.unlink()
        return "is missing"
    warehouse.write_bytes(b"" if how == "emptied" else whole[:len(whole) // 2])
    return "is empty (0 bytes)" if how == "emptied" else f"is truncated ({len(whole) // 2:,} bytes, less than the "


def test_a_missing_or_damaged_warehouse_is_one_sentence_pointing_at_reset(make_sandbox, tmp_path, capsys):
    from runbook_lib.local.home import sandbox_home

    home = sandbox_home(make_sandbox())
    whole = home.warehouse.read_bytes()
    state = home.state_file.read_bytes()
    for how in ("missing", "truncated", "emptied"):
        said = _damage(home.warehouse, how, whole)
        assert cli.main(["sandbox", "status", "--home", str(home.root)]) == 1
        shown = capsys.readouterr().out
        assert f"DAMAGED: the warehouse {home.warehouse} {said}" in shown
        assert f"run `runbook sandbox reset --home {home.root}`" in shown   # this sandbox, not the default one
        assert "DATASET" not in shown          # no table of zero counts that looks healthy
        with pytest.raises(ParameterError) as caught:   # what a runbook's validation cell says
            params.validate_params(params.DiagnoseParams, {"sandbox_home": str(home.root)})
        assert f"its warehouse {home.warehouse} {said}" in str(caught.value) and "runbook sandbox reset" in str(caught.value)
        assert home.warehouse.exists() == (how != "missing")   # a read-only look never creates the warehouse
        home.warehouse.write_bytes(whole)
    assert home.state_file.read_bytes() == state


def test_a_runbook_on_a_deleted_warehouse_refuses_instead_of_diagnosing_an_empty_one(make_sandbox, tmp_path):
    from runbook_lib.local.home import sandbox_home

    home = sandbox_home(make_sandbox())
    home.warehouse.unlink()
    out = tmp_path / "reports"
    outcome = runner.run_notebook(OVERVIEW, parameters=[["sandbox_home", str(home.root)]], outdir=out, progress=False)
    assert outcome.exit_code == 2 and "is missing; run `runbook sandbox reset" in outcome.message
    assert not home.warehouse.exists()
    assert "Traceback" not in _page(out)[1]


def test_reading_past_the_end_of_a_truncated_warehouse_is_one_sentence(make_sandbox):
    from runbook_lib.errors import WarehouseDamaged
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.local.warehouse import LocalWarehouse

    home = sandbox_home(make_sandbox())
    whole = home.warehouse.read_bytes()
    home.warehouse.write_bytes(whole[:len(whole) // 2])   # the catalog is whole, the data is not
    with pytest.raises(WarehouseDamaged, match=rf"^The warehouse {home.warehouse} cannot be read \(IO Error: .*\): "
                                               r"run `runbook sandbox reset` to rebuild the sandbox"):
        warehouse = LocalWarehouse(home.warehouse, create=False)
        for dataset in warehouse.list_datasets():           # somewhere past the cut, a table is read
            for table in warehouse.list_tables(dataset):
                warehouse.query(f"SELECT * FROM {dataset}.{table.split('.')[-1]}")


def test_init_rebuilds_a_sandbox_whose_warehouse_is_missing(make_sandbox, capsys):
    from runbook_lib.local.home import sandbox_home

    home = sandbox_home(make_sandbox())
    home.warehouse.unlink()
    assert cli.main(["sandbox", "init", "--home", str(home.root), "--scale", "0.15", "--no-services"]) == 0
    shown = capsys.readouterr().out
    assert f"Repaired: its warehouse {home.warehouse} is missing, so the sandbox was rebuilt." in shown
    assert "nba_precompute" in shown and "DAMAGED" not in shown
    assert cli.main(["sandbox", "status", "--home", str(home.root)]) == 0


# ---------------------------------------------------------------------------------------------
# Help

def test_help_describes_options_parameters_plans_and_exit_codes(capsys):
    for args in (["run", "--help"], ["overnight", "--help"], ["sandbox", "--help"], ["--version"]):
        with pytest.raises(SystemExit) as done:
            cli.main(args)
        assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())   # argparse wraps lines wherever they fit
    for text in ("--cell-timeout SECONDS", "0 for no limit", "--help-params", "-f PARAMS.yaml", "-o FOLDER",
                 "130 interrupted by Ctrl-C", "143 terminated by SIGTERM", "plan format", "depends_on:",
                 "cell_timeout_seconds:", f"else {runner.PROJECT_ROOT / '.runbook'}", "runbook 0.1.0"):
        assert text in out, text
    assert cli.main(["run", str(DIAGNOSE), "--help-params"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"\n  build_id +str +'' ", listed) and "Cell timeout: 600 s (its own;" in listed
    assert "Cloud Build id to diagnose" in listed


def test_help_params_names_the_default_when_the_notebooks_own_timeout_is_not_usable(tmp_path):
    nb = nbformat.read(DIAGNOSE, as_version=4)
    nb.metadata[runner.SETTINGS_KEY] = {"cell_timeout_seconds": -5}
    notebook = tmp_path / "odd_timeout.ipynb"
    nbformat.write(nb, notebook)
    assert runner.cell_timeout_for(nb) == runner.DEFAULT_CELL_TIMEOUT_S
    assert f"Cell timeout: {runner.DEFAULT_CELL_TIMEOUT_S} s (the kit's default;" in runner.describe_parameters(notebook)
