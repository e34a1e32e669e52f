"""Every runbook in notebooks/ runs headlessly on the sandbox, through the runner (papermill) and
under `pytest --nbval-lax` (as committed, parameters at their defaults, RUNBOOK_HOME set).
The runner's example fixture notebook is run the same way as a control of the harness itself."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from runbook_lib import runner

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONTROL = Path(__file__).parent / "notebooks" / "example.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_sandbox(request) -> Path:
    try:
        return Path(request.getfixturevalue("sandbox_home"))
    except pytest.FixtureLookupError:
        pytest.fail("tests/conftest.py must provide the session `sandbox_home` fixture (an initialised sandbox)")


def _nbval(notebook: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNBOOK_HOME": str(home)}
    env.pop(runner.RUN_DIR_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q",
         "-p", "runbook_lib.lazy_imports",   # as the kit's own test run (pyproject.toml): nbval's imports without 3 s
         "--rootdir", str(notebook.parent), str(notebook)],
        cwd=notebook.parent, env=env, capture_output=True, text=True, timeout=600)


# The sandbox plants the incident (Phase 4's failed build, a stale Phase 3 revision); every runbook
# run on it at its defaults must find it, or (a runbook that changes things, whose default is a dry run)
# say what it would do. A runbook added later says here what it finds.
ON_THE_INCIDENT = {"00_pipeline_overview.ipynb": "fail", "01_diagnose_build.ipynb": "fail",
                   "02_redeploy_phase.ipynb": "pass", "03_prefixed_replay.ipynb": "blocked",
                   # no replay has run on the incident morning: nothing to compare yet
                   "04_compare_outputs.ipynb": "blocked",
                   "05_security_audit.ipynb": "fail"}
EXIT_CODES = {"pass": 0, "warn": 0, "fail": 3, "blocked": 3}


def test_every_runbook_says_what_it_finds_on_the_incident():
    assert sorted(p.name for p in RUNBOOKS) == sorted(ON_THE_INCIDENT)


@pytest.mark.parametrize("notebook", RUNBOOKS, ids=lambda p: p.name)
def test_runbook_executes_through_the_runner(notebook, shared_sandbox, tmp_path):
    outcome = runner.run_notebook(notebook, parameters=[["sandbox_home", str(shared_sandbox)]],
                                  outdir=tmp_path, progress=False)
    assert outcome.outcome == "completed", outcome.message
    meta = nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]
    verdict = ON_THE_INCIDENT[notebook.name]
    assert (meta["verdict"], outcome.exit_code) == (verdict, EXIT_CODES[verdict]), meta["summary"]
    assert meta["summary"] and meta["run"]["exit_code"] == EXIT_CODES[verdict]
    assert outcome.html is not None and outcome.html.is_file()


@pytest.mark.parametrize("notebook", RUNBOOKS, ids=lambda p: p.name)
def test_runbook_passes_nbval_lax(notebook, shared_sandbox):
    result = _nbval(notebook, shared_sandbox)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_nbval_harness_runs_the_control_notebook(tmp_path):
    result = _nbval(CONTROL, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
