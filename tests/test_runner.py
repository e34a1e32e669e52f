"""`runbook run` / `runbook overnight` / `runbook lab`: parameters, exit codes, files, the kernel, plans."""
from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from conftest import once_per_test_run
from runbook_lib import cli, kernel_main, nights, params, report, runner
from runbook_lib.errors import ConfigError, ParameterError

NOTEBOOKS = Path(__file__).parent / "notebooks"
EXAMPLE = NOTEBOOKS / "example.ipynb"


def _only_run_dir(out: Path) -> Path:
    runs = [p for p in out.glob("*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


# ---------------------------------------------------------------------------------------------
# Parameters before anything runs

@pytest.mark.parametrize("raw, annotation, expected", [
    ("0123456", "str", "0123456"),          # a commit sha stays text
    ("2024-01-15", "str", "2024-01-15"),
    ("phase4", "Literal['phase3', 'phase4']", "phase4"),
    ("none", "str | None", None),
    # the runbooks' parameters cells write the forms papermill reads (Optional[...], Union[...])
    ("none", "Optional[str]", None), ("0123456", "Optional[str]", "0123456"), ("none", "Optional[list]", None),
    ("[a, b]", "Optional[list]", ["a", "b"]), ("true", "Optional[bool]", True), ("none", "Optional[bool]", None),
    ("[a]", "Union[list, dict]", ["a"]), ("{phase4: [a]}", "Union[list, dict]", {"phase4": ["a"]}),
    ("none", "str", "none"),
    ("5", "int", 5),
    ("2.5", "float", 2.5),
    ("true", "bool", True),
    ("[a, b]", "list[str]", ["a", "b"]),
    ("5", None, 5),                         # untyped: parsed like YAML
    ("2024-01-15", None, "2024-01-15"),     # ... but a date stays text
    # numbers as written (YAML 1.2), not as YAML 1.1 reads them: octal, base 60, hex, underscores
    ("030", "int", 30), ("1:30", "int", "1:30"), ("0x10", "int", "0x10"), ("1_000", "int", "1_000"),
    ("1e-9", "float", 1e-9), ("-.5", "float", -0.5),
])
def test_cli_values_are_typed_by_the_declared_annotation(raw, annotation, expected):
    assert runner.coerce_cli_value(raw, annotation) == expected


def test_a_number_in_a_parameter_file_is_the_number_written(tmp_path):
    # `030` is 30, and `1:30` is not 90: it stays the text written, which a number parameter refuses
    path = tmp_path / "p.yaml"
    path.write_text("max_dates: 030\nlookback_hours: 1:30\nratio: 1e-3\n")
    values, _ = runner.load_parameter_file(path)
    assert values == {"max_dates": 30, "lookback_hours": "1:30", "ratio": 0.001}


def test_resolve_merges_files_then_pairs_then_target(tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text("rows: 4\nverdict: warn\n")
    second = tmp_path / "b.yaml"
    second.write_text("rows: 6\nsandbox_home: /x\n")
    values = runner.resolve_parameters(EXAMPLE, [["verdict", "fail"]], [first, second], target="gcp")
    assert values == {"rows": 6, "verdict": "fail", "sandbox_home": "/x", "target": "gcp"}


@pytest.mark.parametrize("content, parameter", [
    ("- just\n- a list\n", "-f"),
    ("rows: [unclosed\n", "-f"),
    ("rowz: 3\n", "rowz"),
])
def test_bad_parameter_files_name_the_problem(tmp_path, content, parameter):
    file = tmp_path / "p.yaml"
    file.write_text(content)
    with pytest.raises(ParameterError) as caught:
        runner.resolve_parameters(EXAMPLE, [], [file])
    assert caught.value.parameter == parameter


def test_unknown_parameter_exits_2_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "reports"
    code = cli.main(["run", str(EXAMPLE), "-p", "rowz", "3", "-o", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "rowz is not a parameter of this runbook: example.ipynb declares target, project" in err
    assert not out.exists()


def test_an_unknown_name_never_echoes_its_value(tmp_path, capsys):
    # A misspelt secret name is not recognised as secret, so the value must not be repeated at all.
    secret_file = tmp_path / "secret.yaml"
    secret_file.write_text('api_tokn: "S3CRET-in-a-typo-xyz"\n')
    assert cli.main(["run", str(EXAMPLE), "-f", str(secret_file), "-o", str(tmp_path / "out")]) == 2
    assert cli.main(["run", str(EXAMPLE), "-p", "api_tokn", "S3CRET-in-a-typo-xyz", "-o", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "S3CRET" not in captured.err + captured.out
    assert captured.err.count("api_tokn is not a parameter of this runbook") == 2
    with pytest.raises(ParameterError) as caught:
        runner.resolve_parameters(EXAMPLE, [["api_tokn", "S3CRET-in-a-typo-xyz"]])
    assert caught.value.parameter == "api_tokn" and "S3CRET" not in repr(caught.value.value)


def test_missing_notebook_exits_2(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "nope.ipynb"), "-o", str(tmp_path)]) == 2
    assert "notebook=" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc, where no folder can be made")
def test_a_report_folder_that_cannot_be_made_exits_2_naming_outdir(capsys):
    """/proc refuses a new folder even to root (no permission bits to flip in a test): bad input, before the run."""
    with pytest.raises(ParameterError) as caught:
        runner.check_outdir("/proc/runbook-reports/night")
    assert caught.value.parameter == "outdir"
    assert cli.main(["run", str(EXAMPLE), "-o", "/proc/runbook-reports"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: outdir='/proc/runbook-reports' is not valid: give a folder for the reports (-o) "
                              "that can be made and written; /proc/runbook-reports: ")


def test_bad_value_exits_2_and_nothing_runs_beyond_validation(tmp_path, capsys):
    out = tmp_path / "reports"
    code = cli.main(["run", str(EXAMPLE), "-p", "rows", "0", "-o", str(out)])
    assert code == 2
    assert "rows=0 is not valid: a value of at least 1." in capsys.readouterr().err
    nb = nbformat.read(_only_run_dir(out) / "example.ipynb", as_version=4)
    meta = nb.metadata["runbook"]
    assert meta["run"]["outcome"] == "bad-parameters" and meta["run"]["exit_code"] == 2
    validation = runner.validation_cell_index(nb)
    errors = [o for o in nb.cells[validation].outputs if o.output_type == "error"]
    assert errors and errors[0].ename in params.PARAMETER_ERROR_NAMES
    later = [c for c in nb.cells[validation + 1:] if c.cell_type == "code"]
    assert later and all(c.execution_count is None and not c.outputs for c in later)


# ---------------------------------------------------------------------------------------------
# Real runs

@pytest.fixture(scope="module")
def passing_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pass") / "reports"
    outcome = runner.run_notebook(EXAMPLE, parameters=[["rows", "5"]], outdir=out)
    return outcome, out


def test_pass_exits_0_and_writes_notebook_html_and_chart(passing_run):
    outcome, out = passing_run
    assert outcome.exit_code == 0 and outcome.verdict == "pass"
    run_dir = _only_run_dir(out)
    datetime.strptime(run_dir.parent.name, "%Y-%m-%d")
    assert re.fullmatch(r"\d{6}-example", run_dir.name), run_dir.name   # HHMMSS-<stem>
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()) == [
        "example.html", "example.ipynb", "figures/rows.png"]
    assert (run_dir / "figures" / "rows.png").read_bytes().startswith(b"\x89PNG")


def test_result_is_recorded_in_metadata(passing_run):
    outcome, _ = passing_run
    nb = nbformat.read(outcome.notebook, as_version=4)
    meta = nb.metadata["runbook"]
    assert {k: meta[k] for k in ("name", "verdict", "summary")} == {
        "name": "example check", "verdict": "pass", "summary": "5 rows checked"}
    assert meta["figures"] == {"rows": 5, "verdict asked": "pass"}
    assert meta["details"]["rows_seen"] == [0, 1, 2, 3, 4]
    run = meta["run"]
    assert run["outcome"] == "completed" and run["exit_code"] == 0 and run["parameters"] == {"rows": 5}
    assert run["charts"] == ["figures/rows.png"] and run["html"] == "example.html"
    # The recorded result is what record() displayed.
    assert report.recorded_result(nb)["summary"] == "5 rows checked"


def test_the_kernel_is_this_environments_python(passing_run):
    outcome, _ = passing_run
    meta = nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]
    assert meta["details"]["python"] == sys.executable


def test_html_has_outputs_but_no_code_and_no_injected_parameters(passing_run):
    outcome, _ = passing_run
    page = outcome.html.read_text()
    assert "5 rows checked" in page and ">PASS<" in page
    assert "data:image/png;base64" in page                       # the chart, embedded
    assert "<script src=\"http" not in page                       # nothing fetched from the internet
    for code in ("fixture_params.check(p)", "params.from_notebook", "report.record(result)",
                 "# Parameters", "rows = 5"):
        assert code not in page, code


def test_verdict_fail_exits_3_even_without_kernel_metadata(tmp_path, capsys):
    # A notebook saved by a tool that wrote no kernelspec/language_info still runs on our kernel.
    nb = nbformat.read(EXAMPLE, as_version=4)
    nb.metadata.pop("kernelspec", None)
    nb.metadata.pop("language_info", None)
    bare = tmp_path / "nb" / "example.ipynb"
    bare.parent.mkdir()
    nbformat.write(nb, bare)
    (bare.parent / "fixture_params.py").write_bytes((NOTEBOOKS / "fixture_params.py").read_bytes())
    code = cli.main(["run", str(bare), "-p", "verdict", "fail", "-p", "chart", "false", "-o", str(tmp_path / "out")])
    assert code == 3
    assert "FAIL example check: 3 rows checked" in capsys.readouterr().out


def test_raising_cell_exits_1_and_keeps_papermills_banner(tmp_path, capsys):
    code = cli.main(["run", str(NOTEBOOKS / "raising.ipynb"), "-o", str(tmp_path)])
    assert code == 1
    assert "RuntimeError: boom" in capsys.readouterr().err
    nb = nbformat.read(_only_run_dir(tmp_path) / "raising.ipynb", as_version=4)
    assert "papermill-error-cell-tag" in nb.cells[0].metadata.get("tags", [])
    meta = nb.metadata["runbook"]
    assert (meta["verdict"], meta["run"]["outcome"], meta["run"]["exit_code"]) == ("fail", "error", 1)
    assert meta["summary"].startswith("error in cell [") and "RuntimeError: boom" in meta["summary"]


def _taken_port_for_the_first_kernels(monkeypatch, starts: int) -> tuple[list[int], Any]:
    """The race that killed a CI run: another process binds a port between jupyter_client choosing
    it and the kernel binding it. Reproduced by handing the first `starts` kernels a port we hold."""
    import socket

    from jupyter_client.connect import ConnectionFileMixin

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    handed: list[int] = []
    original = ConnectionFileMixin.write_connection_file

    def with_a_taken_port(self, **kwargs):
        if len(handed) < starts and getattr(self, "transport", "tcp") == "tcp":
            self.shell_port = held.getsockname()[1]
            handed.append(self.shell_port)
        return original(self, **kwargs)

    monkeypatch.setattr(ConnectionFileMixin, "write_connection_file", with_a_taken_port)
    return handed, held


def test_a_kernel_that_dies_as_it_starts_is_started_again(tmp_path, monkeypatch, capsys):
    handed, held = _taken_port_for_the_first_kernels(monkeypatch, starts=1)
    with held:
        code = cli.main(["run", str(EXAMPLE), "-p", "rows", "3", "-p", "chart", "false", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert handed, "the port was never handed to a kernel"
    assert code == 0, err[-2000:]
    assert "the kernel died as it started" in err and f"2 of {runner.run.KERNEL_START_ATTEMPTS}" in err
    assert "Address already in use" not in err   # the dead kernel's own words: not shown when a new one ran the notebook
    assert nbformat.read(_only_run_dir(tmp_path) / "example.ipynb", as_version=4).metadata["runbook"]["verdict"] == "pass"


def test_a_kernel_start_that_timed_out_or_died_is_started_again_and_nothing_else_is():
    # jupyter_client words the same port race two ways: it saw the process exit, or it waited out its start timeout
    # (the kernel's own `ZMQError: Address already in use`, seen in CI); a cell's failure is no start to retry
    died = runner.run.kernel_died_starting
    assert died(RuntimeError("Kernel died before replying to kernel_info"))
    assert died(RuntimeError("Kernel didn't respond in 60 seconds"))
    assert not died(RuntimeError("Kernel didn't respond to the cell in time"))
    assert not died(TimeoutError("Kernel didn't respond in 60 seconds"))


def test_a_kernel_that_never_starts_is_an_error_after_the_last_attempt(tmp_path, monkeypatch, capsys):
    attempts = runner.run.KERNEL_START_ATTEMPTS
    handed, held = _taken_port_for_the_first_kernels(monkeypatch, starts=attempts)
    with held:
        code = cli.main(["run", str(EXAMPLE), "-p", "rows", "3", "-p", "chart", "false", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert len(handed) == attempts and code == 1, err[-2000:]
    assert err.count("the kernel died as it started") == attempts - 1
    # why, in its own words (its stderr, kept by kernel_main): indented under the warnings, above the run's error
    said = err.partition("the kernel's own last messages (its stderr):\n")[2].partition("error: the run stopped")[0]
    assert "Address already in use" in said and all(line.startswith("  ") for line in said.splitlines()), err[-2000:]
    meta = nbformat.read(_only_run_dir(tmp_path) / "example.ipynb", as_version=4).metadata["runbook"]
    assert meta["run"]["error"] == "the run stopped: RuntimeError: Kernel died before replying to kernel_info"


# ---------------------------------------------------------------------------------------------
# Kernel and lab

def test_kernelspec_points_at_this_interpreter():
    base = runner.ensure_kernelspec()
    spec = json.loads((base / "kernels" / runner.KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and spec["language"] == "python"
    assert runner.ensure_kernelspec() == base  # idempotent


def _readme_kernel_command() -> str:
    """The one command README.md gives for registering the notebooks' kernel before papermill or JupyterLab."""
    readme = (runner.PROJECT_ROOT / "README.md").read_text()
    found = re.findall(r'`\.venv/bin/python -c "([^"`]*ensure_kernelspec\(\)[^"`]*)"`', readme)
    assert found, "README.md does not say how to register the phase-runbooks kernel for papermill and JupyterLab"
    return found[0]


def test_the_readme_command_registers_the_kernel_papermill_starts(tmp_path):
    """An editable install (make, conda's environment.yml, `pip install -e .`) registers no kernelspec: in a fresh
    environment papermill cannot start the notebooks' `phase-runbooks` kernel until the README's one command has
    run; then it starts it with that environment's Python."""
    import sysconfig

    env_dir = tmp_path / "fresh-env"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(env_dir)],
                   check=True, capture_output=True, timeout=120)
    site = Path(subprocess.run([str(env_dir / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "kit.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    fresh = str(env_dir / "bin" / "python")   # the kit and its dependencies importable, nothing registered
    env = {key: value for key, value in os.environ.items() if key != "JUPYTER_PATH"}
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "user-data")   # no user-level kernelspec either
    look_up = "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec('phase-runbooks').argv)"
    before = subprocess.run([fresh, "-c", look_up], env=env, capture_output=True, text=True, timeout=120, check=False)
    if before.returncode == 0:
        pytest.skip(f"a phase-runbooks kernelspec is installed system-wide here: {before.stdout.strip()}")
    assert "NoSuchKernel" in before.stderr, before.stderr[-2000:]

    registered = subprocess.run([fresh, "-c", _readme_kernel_command()], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
    assert registered.returncode == 0, registered.stderr[-2000:]
    assert (env_dir / "share" / "jupyter" / "kernels" / runner.KERNEL_NAME / "kernel.json").is_file()

    runbook = nbformat.read(runner.PROJECT_ROOT / "notebooks" / "00_pipeline_overview.ipynb", as_version=4)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")],
                                  metadata={"kernelspec": runbook.metadata["kernelspec"], "language_info": {"name": "python"}})
    nbformat.write(nb, tmp_path / "in.ipynb")
    ran = subprocess.run([fresh, "-m", "papermill", str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                          "--no-progress-bar"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs[0]["text"].strip()
    assert printed == fresh
    assert runner.KERNEL_NAME == runbook.metadata["kernelspec"]["name"]


def test_lab_command_uses_this_environment_and_the_notebooks_folder():
    command = runner.lab_command(port=8899, no_browser=True)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={runner.NOTEBOOKS_DIR}" in command
    assert "--ServerApp.port=8899" in command and "--ServerApp.ip=127.0.0.1" in command
    assert f"--MappingKernelManager.default_kernel_name={runner.KERNEL_NAME}" in command
    assert command[-1] == "--no-browser"
    assert "--no-browser" not in runner.lab_command(port=8899)
    with pytest.raises(ParameterError, match="port=70000"):
        runner.lab_command(port=70000)


def test_lab_as_root_is_allowed_and_says_so(monkeypatch, capsys):
    # JupyterLab refuses to start as root without --allow-root; in a container root is the norm.
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in runner.lab_command(port=8899)
    monkeypatch.setattr(os, "execve", lambda *args: (_ for _ in ()).throw(OSError("not really")))
    runner.open_lab(port=8899)
    assert capsys.readouterr().err.count("--allow-root") == 2   # the one-line note, and the command that failed
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in runner.lab_command(port=8899)


def test_open_lab_execs_the_lab_command(monkeypatch):
    seen = {}

    def fake_execve(path, argv, env):
        seen.update(path=path, argv=argv, env=env)
        raise OSError("not really")

    monkeypatch.setattr(os, "execve", fake_execve)
    # Lab's kernels start in notebooks/: a sandbox given relative to where the operator stands stays that one
    monkeypatch.setenv("RUNBOOK_HOME", "my-sandbox")
    assert runner.open_lab(port=8898, no_browser=True) == 1
    assert seen["argv"] == runner.lab_command(port=8898, no_browser=True)
    assert str(runner.ensure_kernelspec()) in seen["env"]["JUPYTER_PATH"]
    assert seen["env"]["RUNBOOK_HOME"] == str(Path.cwd() / "my-sandbox")


# ---------------------------------------------------------------------------------------------
# Plans are checked completely before anything runs

def _plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("EXAMPLE", str(EXAMPLE)))
    return path


@pytest.mark.parametrize("text, message", [
    ("steps: []\n", "steps"),
    ("title: x\nstepz: []\n", "stepz is not a plan key"),
    ("steps:\n  - id: a\n    notebook: EXAMPLE\n    dependson: [b]\n", "steps[0] (step 'a').dependson is not a plan key"),
    ("steps:\n  - id: a\n    notebook: missing.ipynb\n", "step 'a': notebook 'missing.ipynb' does not exist"),
    ("steps:\n  - id: a\n    notebook: EXAMPLE\n    depends_on: [zz]\n", "step 'a' depends on 'zz', which is not a step"),
    ("steps:\n  - id: a\n    notebook: EXAMPLE\n    depends_on: [b]\n  - id: b\n    notebook: EXAMPLE\n    depends_on: [a]\n",
     "step 'a' depends on 'b', which does not run before it"),
    ("steps:\n  - id: a\n    notebook: EXAMPLE\n    depends_on: [a]\n", "step 'a' depends on 'a', which does not run before it"),
    ("steps:\n  - id: a\n    notebook: EXAMPLE\n  - id: a\n    notebook: EXAMPLE\n", "step 'a' appears twice"),
    ("parameters: {phase: phase4}\nsteps:\n  - id: a\n    notebook: EXAMPLE\n", "step 'a': phase is not a parameter of this runbook"),
    ("target: aws\nsteps:\n  - id: a\n    notebook: EXAMPLE\n", "target"),
    ("steps:\n  - id: A B\n    notebook: EXAMPLE\n", "steps[0] (step 'A B').id"),
    ("- a\n- b\n", "a plan is a mapping"),
])
def test_bad_plans_are_refused_naming_the_step(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        runner.load_plan(_plan(tmp_path, text))
    assert message in str(caught.value)
    assert str(tmp_path / "plan.yaml") in str(caught.value)


def test_paths_in_plans_and_files_may_name_environment_variables(tmp_path, monkeypatch):
    """`${NAME}` in a path parameter is the environment's value (a checkout's place differs between machines
    and jobs); other parameters are left as written, and an unset variable is refused naming it."""
    monkeypatch.setenv("RUNBOOK_TEST_PLACE", "/srv/checkouts")
    monkeypatch.delenv("RUNBOOK_TEST_NOWHERE", raising=False)
    plan = _plan(tmp_path, "steps:\n  - id: a\n    notebook: EXAMPLE\n"
                           "    parameters: {sandbox_home: '${RUNBOOK_TEST_PLACE}/box', verdict: '${RUNBOOK_TEST_PLACE}'}\n")
    assert runner.load_plan(plan).steps[0].values == {"sandbox_home": "/srv/checkouts/box",
                                                      "verdict": "${RUNBOOK_TEST_PLACE}", "target": "local"}
    file = tmp_path / "p.yaml"
    file.write_text("sandbox_home: ${RUNBOOK_TEST_PLACE}/box\n")
    assert runner.resolve_parameters(EXAMPLE, [], [file])["sandbox_home"] == "/srv/checkouts/box"
    with pytest.raises(ConfigError) as caught:
        runner.load_plan(_plan(tmp_path, "steps:\n  - id: a\n    notebook: EXAMPLE\n"
                                         "    parameters: {sandbox_home: '${RUNBOOK_TEST_NOWHERE}/box'}\n"))
    assert str(caught.value).endswith("step 'a': sandbox_home='${RUNBOOK_TEST_NOWHERE}/box' is not valid: "
                                      "${RUNBOOK_TEST_NOWHERE} is not set in the environment; set it to the path, "
                                      "or write the path itself.")
    file.write_text("sandbox_home: ${RUNBOOK_TEST_NOWHERE}\n")
    with pytest.raises(ParameterError, match="RUNBOOK_TEST_NOWHERE"):
        runner.resolve_parameters(EXAMPLE, [], [file])


def test_a_run_reads_its_parameter_file_once_and_parses_its_notebook_once(tmp_path, opened):
    """The -f file once (its values and its text as written come from one read), the notebook twice:
    the kit's one parse and papermill's own (papermill takes a path; given the parsed notebook it would
    write it out and parse it again)."""
    values = tmp_path / "values.yaml"
    values.write_text("rows: 3\nchart: false\n")
    outcome = runner.run_notebook(EXAMPLE, param_files=[values], outdir=tmp_path / "out", progress=False)
    assert outcome.verdict == "pass"
    assert opened[values] == 1
    assert opened[EXAMPLE.resolve()] == 2


def test_a_night_reads_its_plan_once_and_parses_each_notebook_once(tmp_path, opened):
    plan = _plan(tmp_path, "steps:\n  - id: a\n    notebook: EXAMPLE\n    parameters: {rows: 3, chart: false}\n")
    loaded = runner.load_plan(plan)
    assert (opened[plan], opened[EXAMPLE.resolve()]) == (1, 1)
    outcome = runner.run_plan(plan, outdir=tmp_path / "out")
    assert outcome.steps[0].verdict == "pass"
    marker = json.loads((outcome.folder / nights.STARTED).read_text())   # written before the first step
    assert marker["target"] == "local" and datetime.fromisoformat(marker["started"]).tzinfo is not None
    assert (opened[plan], opened[EXAMPLE.resolve()]) == (1 + 1, 1 + 2)   # load_plan again, the run, papermill
    assert loaded.steps[0].values == {"rows": 3, "chart": False, "target": "local"}


def test_bad_plan_exits_2_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "reports"
    plan = _plan(tmp_path, "steps:\n  - id: a\n    notebook: EXAMPLE\n    depends_on: [zz]\n")
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 2
    assert "depends on 'zz'" in capsys.readouterr().err
    assert not out.exists()


# "\ud83d\ude00" is one character in JSON; YAML reads two lone surrogates, which no UTF-8 file can hold.
SURROGATES = '"deploy done \\ud83d\\ude00"'


@pytest.mark.parametrize("text, message", [
    (f"steps:\n  - id: a\n    notebook: EXAMPLE\n  - id: b\n    notebook: EXAMPLE\n"
     f"    parameters: {{api_token: {SURROGATES}}}\n", "steps[1] (step 'b').parameters.api_token holds"),
    (f"title: {SURROGATES}\nsteps:\n  - id: a\n    notebook: EXAMPLE\n", ": title "),
])
def test_text_that_cannot_be_written_as_utf8_is_refused_before_the_night(tmp_path, capsys, text, message):
    plan = _plan(tmp_path, text)
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "cannot be written as UTF-8" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    values = tmp_path / "values.yaml"
    values.write_text(f"verdict: {SURROGATES}\n")
    with pytest.raises(ParameterError, match=r"^verdict=.* cannot be written as UTF-8"):
        runner.resolve_parameters(EXAMPLE, [], [values])


def test_a_runner_that_fails_mid_night_leaves_the_night_cut_short(tmp_path, monkeypatch, capsys):
    """An exception the runner did not plan for (a bug in the kit) ends the night like a signal does: the step
    it broke in recorded ERROR, the later steps NOT RUN, the night cut short (never "All runbooks passed"),
    and the command exits 1."""
    from runbook_lib import nights
    from runbook_lib.runner import plan as plan_module

    real_run_step = plan_module._run_step

    def breaks_in_b(planned, *args, **kwargs):
        if planned.step.id == "b":
            raise UnicodeEncodeError("utf-8", "\ud83d", 0, 1, "surrogates not allowed")
        return real_run_step(planned, *args, **kwargs)

    monkeypatch.setattr(plan_module, "_run_step", breaks_in_b)
    plan = _plan(tmp_path, "steps:\n" + "".join(f"  - id: {s}\n    notebook: EXAMPLE\n    parameters: {{chart: false}}\n"
                                                for s in "abc"))
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the runner itself failed during step b" in err and "UnicodeEncodeError" in err
    folder = next(out.glob("*/overnight-*"))
    summary = json.loads((folder / nights.SUMMARY).read_text())
    assert nights.summary_problems(summary) == [] and summary["interrupted_at"] == "b"
    assert [(s["step"], s["label"]) for s in summary["steps"]] == [("a", "PASS"), ("b", "ERROR"), ("c", "NOT RUN")]
    page = (folder / nights.INDEX).read_text()
    assert "All runbooks passed" not in page and "<b>Cut short</b> during step b" in page
    assert "INCOMPLETE" in (out / nights.INDEX).read_text()


def test_a_signal_just_after_a_step_finished_names_the_step_that_was_next(tmp_path):
    """The step was written whole when the signal came: the night stopped in the step after it, not in it."""
    from runbook_lib.runner import plan as plan_module

    plan = _plan(tmp_path, "steps:\n" + "".join(f"  - id: {s}\n    notebook: EXAMPLE\n" for s in "abc"))
    loaded = runner.load_plan(plan)
    folder = tmp_path / "night"
    done = {planned.step.id: runner.record_without_running(
        planned, folder / planned.step.id, loaded, verdict="pass", outcome=report.COMPLETED, summary="fine",
        error=None, exit_code=0) for planned in loaded.steps[:2]}
    outcomes = {"a": done["a"]}    # b wrote its notebook; the signal came before the runner took its outcome
    assert plan_module._record_the_rest(loaded, folder, outcomes, signal.SIGTERM) == "c"
    assert [(o.step, o.label) for o in outcomes.values()] == [("a", "PASS"), ("b", "PASS"), ("c", "TERMINATED")]


def test_plan_parameters_merge_and_relative_notebooks_resolve_from_the_plan(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "copy.ipynb").write_bytes(EXAMPLE.read_bytes())
    plan = _plan(tmp_path, "target: local\nparameters: {rows: 4, verdict: warn}\nsteps:\n"
                           "  - id: a\n    notebook: nb/copy.ipynb\n    parameters: {verdict: pass}\n")
    loaded = runner.load_plan(plan, target="gcp")
    assert loaded.target == "gcp"
    assert loaded.steps[0].notebook == (tmp_path / "nb" / "copy.ipynb").resolve()
    assert loaded.steps[0].values == {"rows": 4, "verdict": "pass", "target": "gcp"}


def test_the_sandbox_plan_is_valid(sandbox_home, monkeypatch):
    # Its steps' values are validated up front too, which needs an initialised sandbox.
    monkeypatch.setenv("RUNBOOK_HOME", str(sandbox_home))
    plan_file = runner.PROJECT_ROOT / "params" / "overnight-sandbox.yaml"
    import yaml

    plan = runner.Plan.model_validate(yaml.safe_load(plan_file.read_text()))
    assert plan.target == "local" and plan.steps
    loaded = runner.load_plan(plan_file)
    assert [s.step.id for s in loaded.steps] == [s.id for s in plan.steps]


def test_the_real_project_plan_is_valid_and_its_commented_replay_asks_for_allow_changes(sandbox_home, tmp_path,
                                                                                       monkeypatch):
    """params/overnight-gcp.yaml (README, "Running against your own project") loads as it stands, only reads,
    and its commented-out replay and comparison are valid steps that a plan must allow changes for."""
    monkeypatch.setenv("PIPELINE_CHECKOUT", str(sandbox_home / "source"))
    example = runner.PROJECT_ROOT / "params" / "overnight-gcp.yaml"
    loaded = runner.load_plan(example)
    assert loaded.target == "gcp" and not loaded.plan.allow_changes
    assert {(s.values["project"], s.values["region"]) for s in loaded.steps} == {("nba-props-platform", "us-west2")}
    assert all(s.values.get("dry_run", True) for s in loaded.steps)

    text = example.read_text()
    commented = text[text.index("#  - id: prefixed-replay"):]
    uncommented = text.replace(commented, "\n".join(line.removeprefix("#") for line in commented.splitlines()))
    plan = tmp_path / "plan.yaml"   # its notebooks/... resolve from the kit
    plan.write_text(uncommented)
    with pytest.raises(ConfigError, match="step 'prefixed-replay' runs with dry_run false on target gcp"):
        runner.load_plan(plan)
    plan.write_text(uncommented.replace("target: gcp\n", "target: gcp\nallow_changes: true\n"))
    assert [s.step.id for s in runner.load_plan(plan).steps][-2:] == ["prefixed-replay", "compare-outputs"]


def test_a_night_on_an_uninitialised_sandbox_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "no-sandbox-here"))
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(runner.PROJECT_ROOT / "params" / "overnight-sandbox.yaml"), "-o", str(out)]) == 2
    assert "step 'pipeline-overview': sandbox_home=" in capsys.readouterr().err
    assert not out.exists()


REAL_01 = runner.PROJECT_ROOT / "notebooks" / "01_diagnose_build.ipynb"


@pytest.mark.parametrize("parameters, message", [
    ("{phase: phase7}", "step 'a': phase='phase7' is not valid: choose one of phase3, phase4."),
    ("{build_id: not-a-uuid}", "step 'a': build_id='not-a-uuid' is not valid: give a Cloud Build id"),
    ("{log_file: no/such.log}", "step 'a': log_file='no/such.log' is not valid: give an existing file"),
])
def test_a_bad_value_for_a_kit_runbook_is_refused_before_the_night(tmp_path, parameters, message, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: a\n    notebook: {REAL_01}\n    parameters: {parameters}\n")
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(plan), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def _validation_cell(source: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("target: str = 'local'  # t")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(source)]
    return nb


@pytest.mark.parametrize("source, model", [
    ("from runbook_lib import params\np = params.from_notebook(params.DiagnoseParams, globals())", params.DiagnoseParams),
    ("from runbook_lib import params as pp\np = pp.from_notebook(pp.OverviewParams, globals())", params.OverviewParams),
    ("from runbook_lib.params import from_notebook, DiagnoseParams as D\np = from_notebook(D, globals())",
     params.DiagnoseParams),
    ("from runbook_lib import params\nfrom fixture_params import ExampleParams\n"
     "p = params.from_notebook(ExampleParams, globals())", None),
    ("from runbook_lib import params\np = params.from_notebook(params.NoSuchParams, globals())", None),
    ("from runbook_lib import params\np = params.from_notebook(params.ParameterError, globals())", None),
    ("p = 1", None),
])
def test_the_validation_cells_model_is_found_only_in_runbook_lib_params(source, model):
    assert runner.validation_model(_validation_cell(source)) is model


def test_kit_runbooks_name_their_model_and_fixtures_do_not():
    assert runner.validation_model(nbformat.read(REAL_01, as_version=4)) is params.DiagnoseParams
    assert runner.validation_model(nbformat.read(EXAMPLE, as_version=4)) is None


def test_run_folders_are_unique_even_when_another_run_takes_the_name_first(tmp_path, monkeypatch):
    wanted = tmp_path / "2024-01-15" / "120000-example"
    real_mkdir = Path.mkdir

    def racing_mkdir(self, *args, **kwargs):
        if self == wanted and not self.exists():
            real_mkdir(self, parents=True)   # another run, between our check and our mkdir
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    assert runner.unique_dir(wanted) == wanted.with_name("120000-example-2")


def test_parallel_runs_get_distinct_folders(tmp_path):
    made, errors = [], []

    def make():
        try:
            made.append(runner.unique_dir(tmp_path / "day" / "120000-example"))
        except Exception as exc:  # pragma: no cover - what the race used to raise
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(made)) == 16 and all(p.is_dir() for p in made)


@pytest.mark.parametrize("codes, expected", [
    ([0, 0], 0), ([0, 3], 3), ([3, 1], 1), ([0, 2], 1), ([], 0), ([0, 130, 1], 130), ([143, 130], 143),
    ([0, 129, 1], 129), ([129, 130], 129),
])
def test_overnight_exit_code(codes, expected):
    assert runner.plan_exit_code(codes) == expected


# ---------------------------------------------------------------------------------------------
# Runbooks that misbehave: run as the operator would (CLI processes, in parallel to save time)

MISBEHAVING = NOTEBOOKS / "misbehaving.ipynb"
LEAKED = "Zq9&<tok>\"'-S3CRET-4f2a-9b7c"   # every character HTML and JSON escape differently
PREVIEW_SECRET = "preview-S3CRET-5e1d"      # in the source of the cell that times out


def _leaked_shapes(text: str) -> list[str]:
    """Any start of the planted token, raw or escaped, found in `text` (6 characters are enough to
    tell that a cut left half of it)."""
    start = LEAKED[:6]
    forms = {start, html.escape(start), html.escape(start, quote=False), json.dumps(start)[1:-1], "S3CRET-4f2a"}
    return [f for f in forms if f in text]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "runbook_lib.cli", *args]


@pytest.fixture(scope="module")
def misbehaving_runs(tmp_path_factory):
    return once_per_test_run(tmp_path_factory, "misbehaving-runs",
                             lambda: _misbehaving_runs(tmp_path_factory.mktemp("misbehaving")))


def _misbehaving_runs(base: Path) -> dict:
    token_file = base / "token.yaml"
    token_file.write_text(f"api_token: {json.dumps(LEAKED)}\naction: leak\n")
    # The timeout must outlast every cell but the sleeping one (60 s) even on a loaded machine: the
    # validation cell imports pydantic and pandas, which took over 2 s on a busy CI box.
    timeout_script = ("import sys; from runbook_lib import runner; "
                      f"sys.exit(runner.run_notebook({str(MISBEHAVING)!r}, parameters=[['action', 'sleep']], "
                      f"outdir={str(base / 'timeout')!r}, progress=False, cell_timeout=15).exit_code)")
    commands = {
        "leak": _cli("run", str(MISBEHAVING), "-f", str(token_file), "-o", str(base / "leak")),
        "die": _cli("run", str(MISBEHAVING), "-p", "action", "die", "-o", str(base / "die")),
        "exit-after-record": _cli("run", str(MISBEHAVING), "-p", "action", "exit-after-record", "-o", str(base / "exit-after-record")),
        "exit-before-record": _cli("run", str(MISBEHAVING), "-p", "action", "exit-before-record", "-o", str(base / "exit-before-record")),
        "noisy-shutdown": _cli("run", str(MISBEHAVING), "-p", "action", "noisy-shutdown", "-o", str(base / "noisy-shutdown")),
        "blocked": _cli("run", str(EXAMPLE), "-p", "verdict", "blocked", "-p", "chart", "false", "-o", str(base / "blocked")),
        "timeout": [sys.executable, "-c", timeout_script],
    }
    env = {**os.environ, "TQDM_DISABLE": "1"}
    started = {name: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for name, command in commands.items()}
    results = {}
    try:
        for name, process in started.items():
            out, err = process.communicate(timeout=300)
            results[name] = (process.returncode, out, err, base / name)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def _meta(folder: Path) -> tuple[Path, dict]:
    run_dir = _only_run_dir(folder)
    notebook = next(run_dir.glob("*.ipynb"))
    return run_dir, nbformat.read(notebook, as_version=4).metadata["runbook"]


def test_a_secret_is_masked_before_any_cut_and_in_every_escaped_form(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["leak"]
    assert code == 1, err[-2000:]
    run_dir, meta = _meta(folder)
    # The error message ends with the token, past the 300-character cut: masked first, then cut.
    assert meta["run"]["outcome"] == "error" and meta["summary"].endswith("auth failed for ***")
    assert not _leaked_shapes(out + err), (out, err[-3000:])
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".ipynb", ".html"}
    for file in files:
        assert not _leaked_shapes(file.read_text(encoding="utf-8")), file
    nb = nbformat.read(next(run_dir.glob("*.ipynb")), as_version=4)
    text = nbformat.writes(nb)
    assert "output truncated by the runner" in text                # the 1.3 MB print was cut ...
    assert nb.cells[6].outputs[-1].evalue.endswith("auth failed for ***")  # ... and the error masked whole
    assert "{'***': 'as a key'}" not in text and '"***": "as a key"' in text  # a JSON key is masked


def test_a_dead_kernel_is_an_error_with_a_record(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["die"]
    assert code == 1, err[-2000:]
    run_dir, meta = _meta(folder)
    assert meta["run"]["outcome"] == "error" and meta["verdict"] == "fail"
    assert meta["run"]["error"].startswith("the run stopped: DeadKernelError")
    assert (run_dir / "misbehaving.html").is_file() and "error: the run stopped: DeadKernelError" in err
    assert re.search(r"^ERROR misbehaving \(\d+\.\ds\)$", out, re.M) and "DeadKernelError" not in out   # said once


@pytest.mark.parametrize("writable", [True, False])
def test_the_kernel_entry_point_sends_its_own_stderr_to_the_file_named_or_keeps_it_when_it_cannot(tmp_path, writable):
    # kernel_main as the kernelspec starts it, with ipykernel's start replaced by a kernel that only logs
    log = tmp_path / ("run" if writable else "gone") / ".kernel-stderr"
    if writable:
        log.parent.mkdir()
    script = ("import sys, ipykernel.kernelapp as app; from runbook_lib import kernel_main; "
              "app.launch_new_instance = lambda: print('the kernel logs this', file=sys.stderr); kernel_main.main()")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, kernel_main.STDERR_ENV: str(log)})
    assert ran.returncode == 0, ran.stderr[-2000:]
    if writable:
        assert ran.stderr == "" and log.read_text() == "the kernel logs this\n"
    else:   # the kernel still starts, and says where its log could not go
        assert "the kernel logs this" in ran.stderr and f"the kernel's log {log} cannot be written" in ran.stderr


def test_what_the_kernel_logs_as_it_shuts_down_is_not_shown_after_a_good_run(misbehaving_runs):
    # ipykernel and tornado log to the kernel process's own stderr: a traceback there as the runner shut a finished
    # kernel down once stood under a run's one-line error in CI. kernel_main keeps it in a file, removed after.
    code, out, err, folder = misbehaving_runs["noisy-shutdown"]
    run_dir, meta = _meta(folder)
    assert code == 0 and meta["verdict"] == "pass", err[-2000:]
    assert "Traceback" not in err and "shutdown noise" not in err and "ZMQStream" not in err, err[-2000:]
    assert not list(run_dir.glob(".*")), list(run_dir.iterdir())


def test_a_cell_timeout_is_an_error_whose_cell_preview_is_masked(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["timeout"]
    assert code == 1, err[-2000:]
    run_dir, meta = _meta(folder)
    assert meta["run"]["outcome"] == "error" and "CellTimeoutError" in meta["run"]["error"]
    assert "timed out" in meta["run"]["error"] and 'password="***"' in meta["run"]["error"]
    for text in [out, err] + [p.read_text(encoding="utf-8") for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".png"]:
        assert PREVIEW_SECRET not in text


def test_sys_exit_0_after_recording_keeps_the_result(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["exit-after-record"]
    assert code == 0, err[-2000:]
    run_dir, meta = _meta(folder)
    assert (meta["verdict"], meta["run"]["outcome"], meta["run"]["error"]) == ("pass", "completed", None)
    nb = nbformat.read(run_dir / "misbehaving.ipynb", as_version=4)
    assert nb.cells[-1].execution_count is None and not nb.cells[-1].outputs  # nothing ran after the exit
    assert "papermill-error-cell" not in nbformat.writes(nb)


def test_sys_exit_0_before_recording_is_a_runbook_that_said_nothing(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["exit-before-record"]
    assert code == 1, err[-2000:]
    _, meta = _meta(folder)
    assert meta["run"]["outcome"] == "no-result" and "CellExecutionError" not in meta["summary"]


def test_a_recorded_blocked_verdict_exits_3(misbehaving_runs):
    code, out, err, folder = misbehaving_runs["blocked"]
    assert code == 3, err[-2000:]
    _, meta = _meta(folder)
    assert (meta["verdict"], meta["run"]["outcome"], meta["run"]["exit_code"]) == ("blocked", "completed", 3)
    assert "BLOCKED example check: 3 rows checked" in out


# ---------------------------------------------------------------------------------------------
# Ctrl-C: a real SIGINT to the command's process group, as a terminal sends it

def _wait_for(predicate, timeout: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"the command ended before {what}: {process.communicate()}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _group_gone(pgid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def stopped():
    """stopped(args, out, signum) -> (returncode, stdout, stderr, kernel pid): start the runbook command
    in its own session, wait until a runbook sleeps in its cell, then stop it: SIGINT to its process
    group, as a terminal's Ctrl-C does, or SIGTERM to its pid only (its kernel gets nothing), as
    `timeout`, `docker stop` or a job's deadline do. Neither the command's process group nor the
    kernel may outlive it."""
    started = []

    def _run(args: list[str], out: Path, signum: int = signal.SIGINT):
        # A shell starts background jobs with SIGINT ignored, and `nohup` (a CI job may run under it) SIGHUP,
        # and that would be inherited (the runner leaves an ignored signal ignored, as nohup wants): restore the
        # defaults so that the command meets them as in a terminal.
        def defaults() -> None:
            for name in (signal.SIGINT, signal.SIGHUP):
                signal.signal(name, signal.SIG_DFL)

        process = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True, env={**os.environ, "TQDM_DISABLE": "1"},
                                   preexec_fn=defaults)
        started.append(process)
        # The kernel creates the marker, then writes its pid into it: wait for the pid, or a stop sent in
        # between kills the kernel before it writes it.
        marker = _wait_for(lambda: [m for m in out.rglob("sleeping") if m.read_text().strip()], 120,
                           "a runbook to start sleeping", process)[0]
        if signum == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=120)
        kernel = int(marker.read_text())
        assert _group_gone(process.pid), "a process of the stopped command outlived it"
        assert _gone(kernel), "the kernel outlived the stopped command"
        return process.returncode, stdout, stderr, kernel

    yield _run
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "(Z)" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:4]:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("signum, code, label, how, page", [
    (signal.SIGINT, 130, "INTERRUPTED", "interrupted (Ctrl-C)", "Interrupted</b> (Ctrl-C) during step sleepy"),
    (signal.SIGTERM, 143, "TERMINATED", "terminated (SIGTERM)", "Terminated</b> (SIGTERM) during step sleepy"),
    # the terminal or ssh session running the night closed
    (signal.SIGHUP, 129, "TERMINATED", "terminated (SIGHUP)", "Terminated</b> (SIGHUP) during step sleepy"),
])
def test_a_stopped_night_keeps_its_report(tmp_path, stopped, signum, code, label, how, page):
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: first\n    notebook: {EXAMPLE}\n    parameters: {{chart: false}}\n"
                    f"  - id: sleepy\n    notebook: {MISBEHAVING}\n    parameters: {{action: sleep}}\n"
                    f"  - id: later\n    notebook: {EXAMPLE}\n")
    out = tmp_path / "reports"
    returncode, stdout, stderr, _ = stopped(["overnight", str(plan), "-o", str(out)], out, signum)
    assert returncode == code, stderr[-3000:]
    folder = next(out.glob("*/overnight-*"))
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["interrupted_at"], summary["interrupted_by"]) == ("sleepy", {130: "Ctrl-C", 143: "SIGTERM", 129: "SIGHUP"}[code])
    assert [(s["step"], s["label"], s["verdict"]) for s in summary["steps"]] == [
        ("first", "PASS", "pass"), ("sleepy", label, "blocked"), ("later", "NOT RUN", "blocked")]
    assert f"not run: the night was {how} during step sleepy" in summary["steps"][2]["summary"]
    assert page in (folder / "index.html").read_text()
    assert f"{how[0].upper()}{how[1:]} during step sleepy; the steps after it were not run." in stdout
    assert all((folder / s["html"]).is_file() and (folder / s["notebook"]).is_file() for s in summary["steps"])
    sleepy = nbformat.read(folder / summary["steps"][1]["notebook"], as_version=4)
    assert sleepy.cells[runner.validation_cell_index(sleepy)].execution_count is not None  # outputs so far kept
    assert f"Morning-review report: {(folder / 'index.html').resolve()}" in stdout


def test_a_night_a_jobs_deadline_stops_is_published_all_the_same(tmp_path, stopped, storage_emulator, monkeypatch):
    """SIGTERM (a Cloud Run job's task timeout) during a night run with --publish: the night's page, recorded
    TERMINATED, is uploaded before the command exits 143."""
    from runbook_lib.gcp.clients import ANONYMOUS_ENV
    from runbook_lib.gcp.connect import ENDPOINTS_ENV

    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps({"storage": storage_emulator.endpoint}))
    monkeypatch.setenv(ANONYMOUS_ENV, "1")
    bucket = storage_emulator.client().create_bucket("nightly-reports")
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: sleepy\n    notebook: {MISBEHAVING}\n    parameters: {{action: sleep}}\n")
    out = tmp_path / "reports"
    returncode, stdout, stderr, _ = stopped(["overnight", str(plan), "-o", str(out), "--publish",
                                             "gs://nightly-reports/night"], out, signal.SIGTERM)
    assert returncode == 143, stderr[-3000:]
    published = re.search(r"^Published: gs://nightly-reports/(\S+)$", stdout, re.M).group(1)
    page = bucket.blob(published).download_as_text()
    assert "Terminated</b> (SIGTERM) during step sleepy" in page
    assert bucket.get_blob("night/index.html") is not None


def test_ctrl_c_in_a_single_run_leaves_its_record(tmp_path, stopped):
    out = tmp_path / "reports"
    code, stdout, stderr, _ = stopped(["run", str(MISBEHAVING), "-p", "action", "sleep", "-o", str(out)], out)
    assert code == 130, stderr[-3000:]
    run_dir, meta = _meta(out)
    assert (meta["verdict"], meta["run"]["outcome"], meta["run"]["exit_code"]) == ("blocked", "interrupted", 130)
    assert (run_dir / "misbehaving.html").is_file() and "INTERRUPTED misbehaving" in stdout
    nb = nbformat.read(run_dir / "misbehaving.ipynb", as_version=4)
    assert nb.cells[runner.validation_cell_index(nb)].execution_count is not None  # the outputs so far are kept
    assert nb.cells[-1].execution_count is None


# ---------------------------------------------------------------------------------------------
# SIGTERM sent by pid, as `timeout`, `docker stop` and a Cloud Run job's deadline send it

def _private_copies(token: str) -> list[Path]:
    """Files in the temporary folder holding the planted token: an unmasked copy of a run."""
    found = []
    for path in Path(tempfile.gettempdir()).glob("runbook-*"):
        for file in [path] if path.is_file() else path.rglob("*"):
            with contextlib.suppress(OSError):
                if file.is_file() and token in file.read_text(errors="replace"):
                    found.append(file)
    return found


def test_sigterm_in_a_single_run_records_it_stops_its_services_and_leaves_no_copy(tmp_path, stopped, make_sandbox):
    from runbook_lib.local import processes
    from runbook_lib.local.home import sandbox_home

    home = sandbox_home(make_sandbox())
    state_before = home.state_file.read_bytes()
    token = "sigterm-S3CRET-7d1e"
    out = tmp_path / "reports"
    code, stdout, stderr, _ = stopped(
        ["run", str(MISBEHAVING), "-p", "action", "serve", "-p", "api_token", token,
         "-p", "sandbox_home", str(home.root), "-o", str(out)], out, signal.SIGTERM)
    assert code == 143, stderr[-3000:]
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    run_dir, meta = _meta(out)
    assert (meta["verdict"], meta["run"]["outcome"], meta["run"]["exit_code"]) == ("blocked", "terminated", 143)
    assert meta["run"]["error"].startswith("terminated (SIGTERM) after")
    assert (run_dir / "misbehaving.html").is_file() and "TERMINATED misbehaving" in stdout
    nb = nbformat.read(run_dir / "misbehaving.ipynb", as_version=4)
    assert nb.cells[runner.validation_cell_index(nb)].execution_count is not None   # the outputs so far
    # Nothing left behind (the fixture checked the kernel): the service it started, an unmasked copy.
    assert not [p for p in Path(home.run).glob("*.json") if processes.read_run_file(home, p.stem)]
    assert not list(Path(home.run).glob("*.json")), "a service the run started is still recorded as running"
    assert not _private_copies(token)
    for file in run_dir.rglob("*"):
        assert not file.is_file() or token not in file.read_text(errors="replace"), file
    assert home.state_file.read_bytes() == state_before


def test_charts_land_in_the_run_folder_when_the_report_folder_is_relative(tmp_path, monkeypatch):
    """The kernel works in the notebook's folder: a relative -o must not send figures there."""
    monkeypatch.chdir(tmp_path)
    outcome = runner.run_notebook(EXAMPLE, parameters=[["chart", "true"]], outdir="reports", progress=False)
    assert outcome.exit_code == 0
    assert (Path(outcome.run_dir) / "figures" / "rows.png").is_file()
    assert not (NOTEBOOKS / "reports").exists()
    charts = nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]["run"]["charts"]
    assert charts and all((Path(outcome.run_dir) / c).is_file() for c in charts)


def test_a_kernel_stopped_on_purpose_leaves_no_asyncio_traceback():
    """nbclient's task dies with DeadKernelError after Ctrl-C/SIGTERM; asyncio would log its traceback."""
    import logging

    from nbclient.exceptions import DeadKernelError

    from runbook_lib.runner import run

    def record(message, error):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None,
                                 (type(error), error, None) if error else None)

    keep = run._KernelWeStopped()
    assert not keep.filter(record("Task exception was never retrieved\nfuture: <Task ...>", DeadKernelError("Kernel died")))
    assert keep.filter(record("Task exception was never retrieved\nfuture: <Task ...>", ValueError("a real bug")))
    assert keep.filter(record("Unclosed client session", None))
    assert any(isinstance(f, run._KernelWeStopped) for f in logging.getLogger("asyncio").filters)


def test_paths_the_kernel_reads_from_the_environment_are_made_absolute_from_where_the_operator_stands(tmp_path,
                                                                                                     monkeypatch):
    # The kernel runs in notebooks/: RUNBOOK_PHASES=params/my-phases.yaml (the README's own advice) and a relative
    # key file were looked for there, and every step of a night was BAD PARAMETERS (/work/probes/papermill 1).
    from runbook_lib.runner.kernel import kernel_environment

    monkeypatch.chdir(tmp_path)
    for key, value in (("RUNBOOK_PHASES", "params/my-phases.yaml"), ("GOOGLE_APPLICATION_CREDENTIALS", "key.json"),
                       ("RUNBOOK_HOME", ".runbook"), ("CLOUDSDK_CONFIG", "~/gcloud")):
        monkeypatch.setenv(key, value)
    with kernel_environment(tmp_path / "jupyter", None):
        assert os.environ["RUNBOOK_PHASES"] == str(tmp_path / "params" / "my-phases.yaml")
        assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == str(tmp_path / "key.json")
        assert os.environ["RUNBOOK_HOME"] == str(tmp_path / ".runbook")
        assert os.environ["CLOUDSDK_CONFIG"] == os.path.expanduser("~/gcloud")
    assert os.environ["RUNBOOK_PHASES"] == "params/my-phases.yaml"   # the runner's own environment as it was


def test_a_long_cells_progress_is_echoed_masked_and_named_when_the_cell_runs_out_of_time(tmp_path, monkeypatch,
                                                                                         capsys):
    """A cell's own output reaches only the notebook, written when the run ends: a 30-minute replay left the
    terminal frozen, then a bare CellTimeoutError that did not say how far it had gone."""
    from runbook_lib.runner import echo

    monkeypatch.setattr(echo, "ECHO_EVERY_S", 1.0)
    outcome = runner.run_notebook(MISBEHAVING, parameters=[["action", "progress"], ["seconds", "60"]],
                                  outdir=tmp_path / "out", progress=False, cell_timeout=8)
    printed, said = capsys.readouterr()
    echoed = re.findall(r"slow work: (\d+)/60 steps after \d+ s, password=\*\*\*", printed)
    assert len(echoed) >= 2 and int(echoed[-1]) > int(echoed[0]), printed   # seen moving while the cell ran
    assert "hunter2" not in printed
    error = report.run_metadata(nbformat.read(outcome.notebook, as_version=4))["run"]["error"] or ""
    assert outcome.exit_code == 1 and "CellTimeoutError" in error and "the cell's last progress: slow work" in said
    last = re.search(r"the cell's last progress: slow work: (\d+)/60 steps", error)
    assert last and int(last.group(1)) >= int(echoed[-1]), error
    assert not list(outcome.notebook.parent.glob(".progress*"))   # the side channel leaves nothing behind


def _night_on_a_full_disk(tmp_path: Path, monkeypatch, step_raises: BaseException) -> tuple[int, Path, Path]:
    """A one-step night whose step raises `step_raises` (no kernel) and whose record meets a full disk: (its exit
    code, the reports folder, the night's folder)."""
    from runbook_lib.runner import plan as plan_module

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    def step(*args, **kwargs):
        raise step_raises

    monkeypatch.setattr(plan_module, "execute_runbook", step)
    monkeypatch.setattr(nights, "write_night", disk_full)
    plan = _plan(tmp_path, "steps:\n  - id: a\n    notebook: EXAMPLE\n")
    out = tmp_path / "reports"
    code = cli.main(["overnight", str(plan), "-o", str(out)])
    return code, out, next(out.glob("*/overnight-*"))


def test_a_night_that_cannot_write_its_record_says_so_naming_its_folder_and_exits_1(tmp_path, monkeypatch, capsys):
    """A disk that filled at the night's end was "error: the operating system refused: No space left on device",
    naming neither the file nor that the night's summary.json and page were lost."""
    code, out, folder = _night_on_a_full_disk(tmp_path, monkeypatch, RuntimeError("no kernel in this test"))
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: the night's summary.json and page could not be written to {folder}: No space left on device; its "
        f"step folders keep what ran, and `runbook report {out}` lists it as INCOMPLETE once there is room.\n")


def test_a_stopped_night_that_cannot_write_its_record_says_so_and_still_exits_as_stopped(tmp_path, monkeypatch, capsys):
    """Ctrl-C, then a full disk at the night's end: the lost record is said, and the exit code is still the
    stop's (130), which is what a `timeout` or job runner around the night reads."""
    code, _, folder = _night_on_a_full_disk(tmp_path, monkeypatch, KeyboardInterrupt())
    said = capsys.readouterr().err
    assert code == 130, said
    assert f"error: the night's summary.json and page could not be written to {folder}: No space left" in said
    assert said.splitlines()[-1] == "interrupted (Ctrl-C)", said
