"""Shared fixtures: one small sandbox for the session, and a guarantee that no service process
started by the tests outlives the test session."""
from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest

from runbook_lib.local import processes
from runbook_lib.local.home import sandbox_home as home_at
from runbook_lib.local.sandbox import init_sandbox, stop_sandbox
from runbook_lib.local.services import LocalServices
from runbook_lib.local.state import read_state, write_state
from runbook_lib.phases import load_phases

# The local fakes of the Google APIs (fake_apis, storage_emulator) for every test module.
pytest_plugins = ("fakes.fixtures",)

# Four game dates: enough for Phase 4's rolling windows to have history, quick to build.
SANDBOX_SCALE = 0.3
T = TypeVar("T")


def _service_processes_under(base: Path) -> list[int]:
    """Pids of phase service processes whose sandbox home lies under `base`."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if not processes.is_our_process(pid):
            continue
        args = processes.command_line(pid)
        home = args[args.index("--home") + 1] if "--home" in args[:-1] else ""
        if home and Path(home).resolve().is_relative_to(base.resolve()):
            pids.append(pid)
    return pids


@pytest.fixture(scope="session", autouse=True)
def _no_service_outlives_the_session(tmp_path_factory):
    yield
    processes.stop_children()
    # Processes started by a CLI subprocess are not our children: find them by their --home.
    if Path("/proc").is_dir():
        for pid in _service_processes_under(tmp_path_factory.getbasetemp()):
            processes.terminate(pid)


@pytest.fixture(scope="session", autouse=True)
def _every_night_matches_the_summary_schema(tmp_path_factory):
    """Every summary.json the suite writes (in-process or through a `runbook` subprocess, all
    under the session's temporary folder) is checked against runbook_lib/data/summary.schema.json
    at the end of the session; a mismatch fails the run, naming the file."""
    yield
    import json

    from runbook_lib import nights

    wrong = {}
    for summary in sorted(tmp_path_factory.getbasetemp().rglob(nights.SUMMARY)):
        if "deliberately-invalid" not in summary.parts:
            problems = nights.summary_problems(json.loads(summary.read_text(encoding="utf-8")))
            if problems:
                wrong[str(summary)] = problems
    assert not wrong, f"summary.json files that do not match the schema: {wrong}"


@pytest.fixture
def opened(monkeypatch):
    """How often each file is opened for reading in this process (whatever opens it: the kit, nbformat,
    papermill)."""
    import builtins
    import io
    from collections import Counter

    counts: Counter = Counter()
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        mode = args[0] if args else kwargs.get("mode", "r")
        if isinstance(file, (str, os.PathLike)) and not set(mode) & set("wax+"):
            counts[Path(os.path.abspath(file))] += 1
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)        # pathlib's Path.open
    monkeypatch.setattr(builtins, "open", counting_open)
    return counts


@pytest.fixture(scope="module")
def decimal_pruning_checked():
    """For a module's whole SQL: every query numeric_types leaves untyped, because no correction site in it can
    see a NUMERIC or BIGNUMERIC, is typed all the same here, and typing must mark nothing in it. The pruning is
    meant as a superset of what typing marks; this holds it to that on everything the module translates."""
    from runbook_lib.local.bigquery import numeric_types, statements

    pruned, typed_sites = numeric_types._queries_to_type, numeric_types._typed_sites

    def checked(tree, schema):
        kept = pruned(tree, schema)
        for query in numeric_types._candidate_queries(tree, schema):
            if any(query is k for k in kept):
                continue
            copy = query.copy()
            for number, node in enumerate(numeric_types._sites(copy)):
                node.meta[numeric_types._SITE] = number
            marked = {kind for kind, _ in typed_sites(copy, schema).values()} & set(numeric_types.DECIMALS)
            assert not marked, f"typing marks {marked} in a query pruned untyped: {query.sql('bigquery')[:400]}"
        return kept

    statements.translate.cache_clear()   # translations made before this module did not go through the check
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numeric_types, "_queries_to_type", checked)
        yield
    statements.translate.cache_clear()


@pytest.fixture(scope="session")
def sandbox_home(seeded_sandbox) -> Path:
    """An initialised sandbox (services running) shared by the session; treat it as read-only:
    tests that change IAM, deploy revisions or write datasets make their own sandbox."""
    root = seeded_sandbox(SANDBOX_SCALE, "sandbox")
    _start_services(root)
    yield root
    stop_sandbox(root)


@pytest.fixture
def local_target(sandbox_home):
    from runbook_lib.target import connect

    target = connect("local", home=sandbox_home)
    yield target
    target.close()


def sandbox_template(tmp_path_factory, scale: float) -> Path:
    """The initialised sandbox (no services) of this scale, built once per test run by the first worker that asks
    for it; the tests copy it (make_sandbox), which is what init_sandbox would build again (its data is seeded), in a
    fraction of the time. Never changed once built."""
    def build() -> Path:
        template = tmp_path_factory.mktemp(f"sandbox-template-{scale}")
        init_sandbox(template, scale=scale, start_services=False)
        return template

    return once_per_test_run(tmp_path_factory, f"sandbox-template-{scale}", build)


def _start_services(root: Path) -> None:
    """Start the services of an initialised sandbox: what init_sandbox does on one, without the status it then
    reads (0.26 s)."""
    box = home_at(root)
    LocalServices(box, load_phases(), box.warehouse).ensure_running()


def _copy_sandbox(template: Path, root: Path) -> None:
    """Copy an initialised sandbox without services to `root`: every file as it is, the state's record of
    where the source repository lies pointed at the copy's own."""
    shutil.copytree(template, root, symlinks=True, dirs_exist_ok=True)
    box = home_at(root)
    state = read_state(box)
    assert state["source"]["path"] == str(template / "source"), state["source"]
    state["source"]["path"] = str(root / "source")
    write_state(box, state)
    assert str(template) not in json.dumps(state)


@pytest.fixture(scope="session")
def seeded_sandbox(tmp_path_factory):
    """seeded_sandbox(scale, name) -> the home of a new private sandbox without services, initialised (a copy
    of the template of that scale); for module-scoped fixtures, which stop it themselves."""

    def _new(scale: float = 0.15, name: str = "private-sandbox") -> Path:
        root = tmp_path_factory.mktemp(name)
        _copy_sandbox(sandbox_template(tmp_path_factory, scale), root)
        return root

    return _new


@pytest.fixture
def make_sandbox(seeded_sandbox):
    """Build a private sandbox: make_sandbox(scale=..., start_services=...) -> its home Path."""
    made: list[Path] = []

    def _make(scale: float = 0.15, start_services: bool = False) -> Path:
        root = seeded_sandbox(scale)
        made.append(root)
        if start_services:
            _start_services(root)
        return root

    yield _make
    for root in made:
        stop_sandbox(root)


# The sandbox night's size in the tests: two game dates (2025-12-15 and 16), the same as the gcp night's.
NIGHT_SCALE = 0.15


@dataclass
class DemoNight:
    run: Any          # image.ImageRun: the process, its output
    scale: float      # the sandbox's size
    home: Path        # its fresh RUNBOOK_HOME, as the night left it
    folder: Path      # the night's report folder
    summary: dict     # its summary.json


@contextmanager
def test_run_lock(tmp_path_factory, name: str) -> Iterator[Path]:
    """Hold the test run's lock `name` (across pytest-xdist workers) and give the folder the workers share: their
    basetemps' parent (the basetemp itself without workers)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


def once_per_test_run(tmp_path_factory, name: str, compute: Callable[[], T]) -> T:
    """compute() once per test run rather than once per pytest-xdist worker, for a module- or session-scoped
    fixture whose result is data (pickled) and files the tests only read: the first worker to ask computes it
    under a file lock in the folder the workers share (their basetemps' parent) and keeps the result; a worker
    asking later, or while it is computed, waits for the lock and reads it. A compute that raises keeps nothing,
    so the next asking worker tries again (and fails the same way)."""
    with test_run_lock(tmp_path_factory, name) as shared:
        record = shared / f"{name}.pickle"
        if not record.is_file():
            result = compute()
            record.write_bytes(pickle.dumps(result))
            return result
    return pickle.loads(record.read_bytes())


@pytest.fixture(scope="session")
def demo_night(tmp_path_factory) -> DemoNight:
    """The Docker image's default command (ENTRYPOINT + CMD: `runbook demo`, what `make demo` runs), run once
    per test run as a plain process in a fresh RUNBOOK_HOME at NIGHT_SCALE: the sandbox's whole night, shared by
    the tests that read it (the image's promise, the night's findings, the gcp night's comparison); treat its
    home as read-only."""
    from image import run_default_command

    run = once_per_test_run(tmp_path_factory, "demo-night", lambda: run_default_command(
        tmp_path_factory.mktemp("image"), {"RUNBOOK_DEMO_SCALE": str(NIGHT_SCALE)}))
    assert "Morning-review report: " in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    folder = run.printed("Morning-review report").parent
    return DemoNight(run, NIGHT_SCALE, Path(run.env["RUNBOOK_HOME"]), folder, json.loads((folder / "summary.json").read_text()))


def pytest_configure(config):
    # Service processes inherit the environment; keep a developer's sandbox out of tests: their RUNBOOK_HOME,
    # and the kit's .runbook that a step without sandbox_home would otherwise use (and a night would lock).
    os.environ["RUNBOOK_HOME"] = str(Path(tempfile.mkdtemp(prefix="runbook-tests-")) / "no-sandbox")
    # The fakes take no credentials: every endpoint a test overrides (RUNBOOK_GCP_ENDPOINTS, endpoints=) gets
    # anonymous ones, by choice, as an operator would choose them for an emulator. Kernels inherit it.
    os.environ["RUNBOOK_GCP_ANONYMOUS"] = "1"
