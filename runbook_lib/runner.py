"""Run runbooks headlessly with papermill: one notebook (`runbook run`), a plan of them overnight
(`runbook overnight`), and JupyterLab on the same notebooks (`runbook lab`).

Exit codes (`.exit_code` of what run_notebook/run_plan return):
  0  verdict pass or warn (a cell may end the run early with sys.exit(0), as papermill allows)
  2  bad parameters. `run`: unknown names are refused before anything runs; bad values stop the
     notebook in its validation cell (the first code cell after the parameters), before any work.
     `overnight`: the whole plan is checked before anything runs: every step's names, and its values
     too when the validation cell names a model of runbook_lib.params (every runbook of the kit);
     a value only the notebook itself can judge (a model of its own) stops that step in its
     validation cell, is recorded as BAD PARAMETERS and makes the night exit 1
  3  verdict fail or blocked
  1  any other error: a cell raised (papermill's failing-cell banner stays in the notebook), the
     kernel died, a cell outlived the cell timeout, or the notebook finished without calling
     `report.record(...)` (recorded as verdict fail, outcome "no-result": a runbook that says
     nothing is a broken runbook, not a failed check)
  130 interrupted (Ctrl-C): KeyboardInterrupt is re-raised after the records are written. The
     interrupted run is recorded in its folder (outcome "interrupted", verdict blocked, the outputs
     so far); overnight also records every later step as "not run" and writes index.html and
     summary.json before stopping.

Each run writes `<stem>.ipynb` (executed, secrets masked, result in metadata["runbook"]),
`<stem>.html` (outputs only) and `figures/*.png` (charts saved by `charts.show`) into its folder:
`<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/` for `run`, and
`<outdir or reports>/<YYYY-MM-DD>/overnight-<HHMMSS>/<step id>/` for a plan, beside the plan's
`index.html` and `summary.json`.
"""
from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, Sequence

import nbformat
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import masking, params, report
from .charts import FIGURES_DIR, RUN_DIR_ENV
from .errors import ConfigError, ParameterError, RunbookError
from .formats import one_line
from .phases import PROJECT_ROOT

EXIT_OK, EXIT_ERROR, EXIT_BAD_PARAMETERS, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
INTERRUPTED_SUMMARY = "interrupted (Ctrl-C) before the runbook finished"
KERNEL_NAME = "phase-runbooks"
DEFAULT_REPORTS = Path("reports")
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


# ---------------------------------------------------------------------------------------------
# The kernel: always this environment's Python, never whatever "python3" means elsewhere.

def kernel_spec() -> dict[str, Any]:
    return {
        # log_level=CRITICAL: ipykernel warns on every start that loopback TCP is unencrypted (the
        # standard Jupyter set-up, messages are HMAC-signed) and reports the interrupt jupyter_client sends
        # while shutting a finished kernel down; that noise would bury the progress lines.
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=CRITICAL"],
        "display_name": "Python (phase-runbooks)",
        "language": "python",
        "metadata": {"debugger": True},
    }


def ensure_kernelspec() -> Path:
    """Write the `phase-runbooks` kernelspec for sys.executable if missing or stale; return the
    `.../share/jupyter` folder holding it (sys.prefix, or the user's Jupyter data folder)."""
    from jupyter_core.paths import jupyter_data_dir

    wanted = kernel_spec()
    problems = []
    for base in (Path(sys.prefix) / "share" / "jupyter", Path(jupyter_data_dir())):
        spec_file = base / "kernels" / KERNEL_NAME / "kernel.json"
        try:
            if spec_file.exists() and json.loads(spec_file.read_text()) == wanted:
                return base
            spec_file.parent.mkdir(parents=True, exist_ok=True)
            spec_file.write_text(json.dumps(wanted, indent=1))
            return base
        except (OSError, ValueError) as exc:
            problems.append(f"{spec_file}: {exc}")
    raise RunbookError("could not write the phase-runbooks kernelspec: " + "; ".join(problems))


@contextmanager
def _kernel_environment(jupyter_base: Path, run_dir: Path | None) -> Iterator[None]:
    """The kernel inherits our environment: put our kernelspec first on JUPYTER_PATH (so no other
    `phase-runbooks` spec can shadow it) and tell `charts.show` where the run folder is."""
    saved = {key: os.environ.get(key) for key in ("JUPYTER_PATH", RUN_DIR_ENV, "RUNBOOK_HOME")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_base), saved["JUPYTER_PATH"]) if p)
    if saved["RUNBOOK_HOME"]:  # the kernel's working folder is notebooks/: pin a relative home to ours
        os.environ["RUNBOOK_HOME"] = os.path.abspath(saved["RUNBOOK_HOME"])
    if run_dir is not None:
        os.environ[RUN_DIR_ENV] = str(Path(run_dir).resolve())  # the kernel runs in notebooks/
    else:
        os.environ.pop(RUN_DIR_ENV, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def lab_command(port: int = 8888, no_browser: bool = False, notebook_dir: Path | None = None) -> list[str]:
    """The command `runbook lab` runs: this environment's JupyterLab on notebooks/, loopback only,
    with the phase-runbooks kernel as the default."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ParameterError("port", port, "a TCP port number from 1 to 65535")
    command = [sys.executable, "-m", "jupyterlab",
               f"--ServerApp.root_dir={notebook_dir or NOTEBOOKS_DIR}",
               f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
               f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}"]
    if no_browser:
        command.append("--no-browser")
    return command


def open_lab(port: int = 8888, no_browser: bool = False) -> int:
    """Replace this process with JupyterLab (returns only if that cannot start)."""
    command = lab_command(port, no_browser)
    base = ensure_kernelspec()
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(base), env.get("JUPYTER_PATH")) if p)
    try:
        os.execve(command[0], command, env)
    except OSError as exc:
        print(f"error: could not start JupyterLab ({' '.join(command)}): {exc}", file=sys.stderr)
    return EXIT_ERROR


# ---------------------------------------------------------------------------------------------
# Parameters: names checked against the notebook's parameters cell before anything runs.

def _plain(value: Any, where: str) -> Any:
    """JSON-safe parameter values: YAML dates become ISO text; anything else unusual is refused."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ParameterError(where, masking.mask_value(where, value), "text, a number, true/false, a list or a mapping")


_NON_TEXT_TYPES = {"int", "float", "bool", "list", "dict", "tuple", "List", "Dict", "Tuple"}


def coerce_cli_value(raw: str, annotation: str | None) -> Any:
    """A `-p NAME VALUE` string typed by the parameter's declared annotation: text stays text
    (so `-p commit 0123456` is not a number), numbers/booleans/lists are parsed as YAML, and
    none/null becomes None where the annotation allows None."""
    words = set(re.findall(r"[A-Za-z_]+", annotation or ""))
    optional = annotation is None or "None" in words or "Optional" in words
    if optional and raw.strip().lower() in ("none", "null", "~"):
        return None
    if annotation is not None and not words & _NON_TEXT_TYPES:
        return raw
    try:
        parsed = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(parsed, (date, datetime)):
        return raw
    return parsed


def load_parameter_file(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ParameterError("-f", str(path), "an existing YAML file of parameter names and values")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError("-f", str(path), f"valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ParameterError("-f", str(path), "a YAML mapping of parameter names to values")
    return {str(k): _plain(v, str(k)) for k, v in data.items()}


def resolve_parameters(notebook: Path, pairs: Sequence[Sequence[str]] = (), files: Sequence[str | Path] = (),
                       target: str | None = None) -> dict[str, Any]:
    """Merge -f files (in order), then -p pairs, then --target; refuse names the notebook does not declare."""
    declared = params.declared_parameters(nbformat.read(notebook, as_version=4))
    values: dict[str, Any] = {}
    for file in files:
        values.update(load_parameter_file(file))
    for pair in pairs:
        name, raw = pair
        values[name] = coerce_cli_value(raw, declared[name].annotation) if name in declared else raw
    if target is not None:
        if target not in ("local", "gcp"):
            raise ParameterError("target", target, "choose one of local, gcp")
        values["target"] = target
    check_declared(notebook, declared, values)
    return absolute_paths(values)


PATH_SUFFIXES = ("_dir", "_file", "_home", "_path")


def absolute_paths(values: Mapping[str, Any]) -> dict[str, Any]:
    """Path parameters given relative to where the operator stands: the kernel runs in notebooks/,
    so `-p source_dir .` must be made absolute here, before it is injected."""
    return {name: os.path.abspath(os.path.expanduser(value))
            if name.endswith(PATH_SUFFIXES) and isinstance(value, str) and value.strip() else value
            for name, value in values.items()}


def check_declared(notebook: Path, declared: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Refuse a name the notebook's parameters cell does not declare; the message never repeats the
    value (a misspelt `api_tokn` is not recognised as secret, so its value may well be one)."""
    for name in values:
        if name not in declared:
            allowed = (f"{notebook.name} declares {', '.join(declared)}" if declared
                       else f"{notebook.name} has no cell tagged 'parameters'")
            raise params.unknown_parameter_error(name, allowed)


# ---------------------------------------------------------------------------------------------
# One run

@dataclass
class RunOutcome:
    exit_code: int
    outcome: str          # completed | bad-parameters | error | no-result | blocked
    name: str
    verdict: str
    summary: str
    run_dir: Path
    notebook: Path        # the executed notebook
    html: Path | None
    duration_s: float
    step: str | None = None
    message: str | None = None   # the error sentence, for bad-parameters and error

    @property
    def label(self) -> str:
        return report.badge_label({"verdict": self.verdict, "run": {"outcome": self.outcome}})


def _code_cells_after_parameters(nb: Any) -> list[int]:
    tagged = params.tagged_cells(nb, params.PARAMETERS_TAG) + params.tagged_cells(nb, params.INJECTED_TAG)
    start = max(tagged) + 1 if tagged else 0
    return [i for i in range(start, len(nb.cells)) if nb.cells[i].cell_type == "code"]


def validation_cell_index(nb: Any) -> int | None:
    """The validation cell: the first code cell after the parameters (and injected parameters)."""
    after = _code_cells_after_parameters(nb)
    return after[0] if after else None


def _clean_exit(output: Mapping[str, Any]) -> bool:
    """sys.exit(0) or sys.exit(): the notebook chose to stop there. Papermill's own rule (it then adds
    no error banner); the cells after it do not run, so a result must be recorded before it."""
    return output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0")


def _first_error(nb: Any) -> tuple[int, Any] | None:
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        for output in outputs:
            if output.get("output_type") == "error" and not _clean_exit(output):
                return index, output
        if any(o.get("output_type") == "error" and _clean_exit(o) for o in outputs):
            continue  # papermill flags that cell as an exception too; it is not one
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return index, {"ename": "CellExecutionError", "evalue": "the cell failed without an error output"}
    return None


def _said(text: Any, secrets: Sequence[str]) -> str:
    """Error text for a message: masked whole first, then made one line and cut (cutting first could
    leave half a secret that no rule recognises any more)."""
    return one_line(masking.mask_text(str(text), secrets))


def _unique_dir(path: Path) -> Path:
    """Create `path`, or `path-2`, `path-3`, ... if taken; safe when several runs start in the same second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = path, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = path.with_name(f"{path.name}-{n}")


@contextlib.contextmanager
def _quiet_papermill_parameter_warnings():
    """Names were already checked against the parameters cell; papermill's own inference misreads
    annotations such as `str | None` and would warn "Passed unknown parameter" about valid ones.
    It also takes a "?" in a file name for a URL query and warns that `q?.ipynb` has no extension."""
    logger = logging.getLogger("papermill")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="the file is not specified with any extension")
            yield
    finally:
        logger.setLevel(before)


def execute_runbook(notebook: str | Path, values: Mapping[str, Any], run_dir: Path, *, step: str | None = None,
                    target: str | None = None, progress: bool = True, cell_timeout: int | None = None) -> RunOutcome:
    """Execute one notebook with already-checked parameter values into `run_dir` (created).
    Never raises for what happens inside the notebook: that becomes the outcome."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.translators import translate_parameters

    source = Path(notebook).resolve()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    values = {k: _plain(v, k) for k, v in values.items()}
    secrets = masking.secret_values(values)
    jupyter_base = ensure_kernelspec()
    executed = run_dir / source.name
    html_path = run_dir / f"{source.stem}.html"
    started = datetime.now().astimezone()
    clock = time.monotonic()
    crash: str | None = None
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="runbook-") as private:
        # papermill writes the unmasked notebook; keep that copy in a private temp folder only. It
        # saves it as each cell starts and ends, so a dead kernel, a timeout or Ctrl-C still leaves
        # the outputs so far to record.
        raw_output = Path(private) / source.name
        with _kernel_environment(jupyter_base, run_dir), _quiet_papermill_parameter_warnings():
            try:
                papermill.execute_notebook(
                    str(source), str(raw_output), parameters=values or None, kernel_name=KERNEL_NAME, language="python",
                    progress_bar=progress, cwd=str(source.parent), request_save_on_cell_execute=True,
                    execution_timeout=cell_timeout, log_output=False)
            except PapermillExecutionError:
                pass  # the error is in the saved notebook, with papermill's banner
            except KeyboardInterrupt:
                interrupted = True  # recorded below with the outputs so far; the caller re-raises
            except Exception as exc:  # kernel died, a cell timed out, could not start, ...: still leave a record
                crash = f"{type(exc).__name__}: {exc}"
        try:
            nb = nbformat.read(raw_output, as_version=4) if raw_output.exists() else None
        except Exception:  # a write cut short by Ctrl-C
            nb = None
        nb = nb or nbformat.read(source, as_version=4)
    duration = time.monotonic() - clock

    recorded = report.recorded_result(nb)
    validation = validation_cell_index(nb)
    failure = _first_error(nb)
    message = None
    if interrupted:
        outcome, message = report.INTERRUPTED, f"interrupted (Ctrl-C) after {duration:.0f}s, before the runbook finished"
    elif crash is not None:
        outcome, message = report.ERROR, f"the run stopped: {_said(crash, secrets)}"
    elif failure is not None:
        index, output = failure
        sentence = _said(f"{output.get('ename')}: {output.get('evalue')}", secrets)
        if index == validation and output.get("ename") in params.PARAMETER_ERROR_NAMES:
            outcome, message = report.BAD_PARAMETERS, _said(output.get("evalue"), secrets)
        else:
            count = nb.cells[index].get("execution_count")
            outcome, message = report.ERROR, f"error in cell [{count}]: {sentence}"
    elif recorded is None:
        outcome = report.NO_RESULT
        message = "the runbook ended without recording a result (it never called runbook_lib.report.record)"
    else:
        outcome = report.COMPLETED

    if outcome == report.COMPLETED:
        meta = dict(recorded)
    else:
        meta = {"name": (recorded or {}).get("name") or source.stem,
                "verdict": "blocked" if outcome == report.INTERRUPTED else "fail",
                "summary": f"bad parameter: {message}" if outcome == report.BAD_PARAMETERS else message,
                "figures": {}, "details": {"recorded": recorded} if recorded else {}}
    charts = sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / FIGURES_DIR).glob("*.png"))
    masked_values = masking.mask_parameters(values, secrets)
    exit_code = {report.COMPLETED: EXIT_OK if meta["verdict"] in ("pass", "warn") else EXIT_FAILED,
                 report.BAD_PARAMETERS: EXIT_BAD_PARAMETERS,
                 report.INTERRUPTED: EXIT_INTERRUPTED}.get(outcome, EXIT_ERROR)
    meta["run"] = {
        "notebook": _display_path(source), "step": step,
        "target": values.get("target", target or _declared_default(nb, "target")),
        "parameters": masked_values, "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 2), "outcome": outcome, "error": message, "exit_code": exit_code,
        "html": html_path.name, "charts": charts,
    }
    nb.metadata[report.METADATA_KEY] = meta
    papermill_meta = nb.metadata.setdefault("papermill", {})
    papermill_meta["output_path"] = str(executed)
    for index in params.tagged_cells(nb, params.INJECTED_TAG):
        # Rebuild the injected cell from masked values, then mask every text in the notebook.
        nb.cells[index].source = translate_parameters(KERNEL_NAME, "python", masked_values, "Parameters")
    masking.mask_notebook(nb, secrets)
    nbformat.write(nb, executed)

    hidden = []
    if validation is not None and not (failure and failure[0] == validation):
        hidden.append(validation)
    html_written: Path | None = None
    try:
        html_written = report.render_run_html(nb, html_path, hidden_cells=hidden)
    except Exception as exc:  # the notebook is the record; a rendering problem must not hide it
        print(f"warning: could not write {html_path.name}: {type(exc).__name__}: {_said(exc, secrets)}", file=sys.stderr)
    masked_meta = nb.metadata[report.METADATA_KEY]
    return RunOutcome(exit_code=exit_code, outcome=outcome, name=str(masked_meta["name"]), verdict=meta["verdict"],
                      summary=str(masked_meta["summary"]), run_dir=run_dir, notebook=executed, html=html_written,
                      duration_s=duration, step=step, message=masked_meta["run"]["error"])


def _declared_default(nb: Any, name: str) -> Any:
    declared = params.declared_parameters(nb).get(name)
    return declared.default if declared else None


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _existing_notebook(notebook: str | Path) -> Path:
    path = Path(notebook)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ParameterError("notebook", str(notebook), "an existing .ipynb file")
    return path.resolve()


def run_notebook(notebook: str | Path, parameters: Sequence[Sequence[str]] = (), param_files: Sequence[str | Path] = (),
                 target: str | None = None, outdir: str | Path | None = None, progress: bool = True,
                 cell_timeout: int | None = None) -> RunOutcome:
    """`runbook run`: check parameter names (ParameterError before anything runs), execute into
    `<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/`, print the verdict and the report path.
    `cell_timeout`: seconds one cell may take (None: no limit). On Ctrl-C the run is recorded in
    its folder (outcome "interrupted") and KeyboardInterrupt is re-raised."""
    source = _existing_notebook(notebook)
    if cell_timeout is not None and (isinstance(cell_timeout, bool) or not isinstance(cell_timeout, int) or cell_timeout <= 0):
        raise ParameterError("cell_timeout", cell_timeout, "a whole number of seconds greater than 0, or None for no limit")
    values = resolve_parameters(source, parameters or (), param_files or (), target)
    now = datetime.now()
    run_dir = _unique_dir(Path(outdir or DEFAULT_REPORTS) / f"{now:%Y-%m-%d}" / f"{now:%H%M%S}-{source.stem}")
    print(f"Running {_display_path(source)} -> {run_dir}", file=sys.stderr, flush=True)
    try:
        outcome = execute_runbook(source, values, run_dir, target=target, progress=progress, cell_timeout=cell_timeout)
    except KeyboardInterrupt:
        # Ctrl-C outside the notebook's execution (starting, or writing the record): leave a record
        # unless the run's notebook is already written.
        if not (run_dir / source.name).exists():
            _record_unexecuted(source, values, run_dir, target or values.get("target") or "local", step=None,
                               verdict="blocked", outcome=report.INTERRUPTED, summary=INTERRUPTED_SUMMARY,
                               error=INTERRUPTED_SUMMARY, exit_code=EXIT_INTERRUPTED)
        print(f"Interrupted; the record so far: {run_dir.resolve()}", file=sys.stderr)
        raise
    if outcome.message:
        print(f"error: {outcome.message}", file=sys.stderr)
    print(f"{outcome.label} {outcome.name}: {outcome.summary} ({outcome.duration_s:.1f}s)")
    print(f"Report: {Path(outcome.html or outcome.notebook).resolve()}")
    if outcome.outcome == report.INTERRUPTED:
        raise KeyboardInterrupt
    return outcome


# ---------------------------------------------------------------------------------------------
# The overnight plan

_STEP_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=_STEP_ID)
    notebook: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = "Overnight runbooks"
    target: Literal["local", "gcp"] = "local"
    parameters: dict[str, Any] = Field(default_factory=dict)
    cell_timeout_seconds: int | None = Field(default=None, gt=0)
    steps: list[PlanStep] = Field(min_length=1)


@dataclass
class PlannedStep:
    step: PlanStep
    notebook: Path
    values: dict[str, Any]


@dataclass
class LoadedPlan:
    path: Path
    plan: Plan
    target: str
    steps: list[PlannedStep]


def _where(plan_data: Any, loc: Sequence[Any]) -> str:
    parts = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]"
            if i == 1 and loc[0] == "steps" and isinstance(plan_data, Mapping):
                steps = plan_data.get("steps")
                if isinstance(steps, list) and part < len(steps) and isinstance(steps[part], Mapping) and "id" in steps[part]:
                    parts[-1] += f" (step {steps[part]['id']!r})"
        else:
            parts.append(str(part))
    return ".".join(parts) or "plan"


def _find_notebook(name: str, plan_dir: Path) -> Path | None:
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [plan_dir / path, Path.cwd() / path, PROJECT_ROOT / path]
    return next((c.resolve() for c in candidates if c.is_file() and c.suffix == ".ipynb"), None)


def load_plan(plan_path: str | Path, target: str | None = None) -> LoadedPlan:
    """Read and check a plan completely before anything runs; ConfigError names the file, the step
    and the key. Relative notebook paths resolve against the plan's folder, then the current
    folder, then the project. Every step's parameter names are checked against its notebook, and
    its values against the notebook's model when the validation cell names one of
    runbook_lib.params (`validate_step_values`)."""
    path = Path(plan_path)
    if not path.is_file():
        raise ConfigError(f"{plan_path}: the plan file does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a plan is a mapping with title, target, parameters and steps.")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        # A misspelt key explains the "missing" error it causes, so report it first.
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = _where(data, error["loc"])
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"{path}: {where} is not a plan key (steps take id, notebook, parameters, depends_on; "
                              f"the plan takes title, target, parameters, cell_timeout_seconds, steps).") from None
        raise ConfigError(f"{path}: {where}: {error['msg']}.") from None
    if target is not None and target not in ("local", "gcp"):
        raise ParameterError("target", target, "choose one of local, gcp")
    chosen_target = target or plan.target
    seen: set[str] = set()
    planned = []
    for step in plan.steps:
        if step.id in seen:
            raise ConfigError(f"{path}: step {step.id!r} appears twice; step ids must be unique.")
        for dependency in step.depends_on:
            if dependency not in {s.id for s in plan.steps}:
                raise ConfigError(f"{path}: step {step.id!r} depends on {dependency!r}, which is not a step of this plan.")
            if dependency not in seen:
                raise ConfigError(f"{path}: step {step.id!r} depends on {dependency!r}, which does not run before it; "
                                  "a step may depend only on earlier steps (so there are no cycles).")
        seen.add(step.id)
        notebook = _find_notebook(step.notebook, path.parent)
        if notebook is None:
            raise ConfigError(f"{path}: step {step.id!r}: notebook {step.notebook!r} does not exist.")
        nb = nbformat.read(notebook, as_version=4)
        declared = params.declared_parameters(nb)
        values = {k: _plain(v, k) for k, v in {**plan.parameters, **step.parameters}.items()}
        if "target" in declared:
            values["target"] = chosen_target
        try:
            check_declared(notebook, declared, values)
            validate_step_values(nb, notebook, values)
        except ParameterError as exc:
            raise ConfigError(f"{path}: step {step.id!r}: {exc}") from None
        planned.append(PlannedStep(step, notebook, values))
    return LoadedPlan(path, plan, chosen_target, planned)


def validation_model(nb: Any) -> type[params.RunbookParams] | None:
    """The runbook_lib.params model a notebook's validation cell passes to `params.from_notebook`
    (`params.from_notebook(params.DiagnoseParams, globals())`), or None when it names another
    (e.g. a model of the notebook's own folder, which only its kernel can import)."""
    index = validation_cell_index(nb)
    if index is None:
        return None
    try:
        tree = ast.parse(params.cell_source(nb.cells[index]))
    except SyntaxError:
        return None
    modules: set[str] = set()       # local names of runbook_lib.params
    names: dict[str, str] = {}      # local name -> name in runbook_lib.params
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "runbook_lib" and not node.level:
            modules |= {a.asname or a.name for a in node.names if a.name == "params"}
        elif isinstance(node, ast.ImportFrom) and node.module == "runbook_lib.params" and not node.level:
            names.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "runbook_lib.params" and a.asname}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        calls_from_notebook = (
            (isinstance(func, ast.Attribute) and func.attr == "from_notebook"
             and isinstance(func.value, ast.Name) and func.value.id in modules)
            or (isinstance(func, ast.Name) and names.get(func.id) == "from_notebook"))
        if not calls_from_notebook:
            continue
        model = node.args[0]
        if isinstance(model, ast.Attribute) and isinstance(model.value, ast.Name) and model.value.id in modules:
            found = getattr(params, model.attr, None)
        elif isinstance(model, ast.Name) and model.id in names:
            found = getattr(params, names[model.id], None)
        else:
            return None
        return found if isinstance(found, type) and issubclass(found, params.RunbookParams) else None
    return None


def validate_step_values(nb: Any, notebook: Path, values: Mapping[str, Any]) -> None:
    """Validate a step's values as its validation cell will, before the night starts: raise the
    ParameterError the notebook would raise. The model sees the parameters cell's literal defaults
    overridden by `values`, with relative paths taken from the notebook's folder (the kernel's
    working folder). Does nothing when the model is not one of runbook_lib.params; a validator that
    breaks for another reason is left for the kernel to report in context."""
    model = validation_model(nb)
    if model is None:
        return
    merged = {name: default for name, default in _literal_defaults(nb).items() if name in model.model_fields}
    merged.update(values)
    moved = set()
    for name, value in merged.items():
        if name.endswith(PATH_SUFFIXES) and isinstance(value, str) and value.strip():
            merged[name] = os.path.join(notebook.parent, os.path.expanduser(value))
            moved.add(name)
    try:
        params.validate_params(model, merged)
    except ParameterError as exc:
        if exc.parameter in moved and exc.parameter in values:  # name the path as the plan wrote it
            original = masking.mask_text(str(values[exc.parameter]), masking.secret_values(values))
            raise ParameterError(exc.parameter, masking.mask_value(exc.parameter, original), exc.allowed) from None
        raise
    except Exception:
        return


def _literal_defaults(nb: Any) -> dict[str, Any]:
    indexes = params.tagged_cells(nb, params.PARAMETERS_TAG)
    if not indexes:
        return {}
    defaults = {}
    for name, node in params.assigned_names(params.cell_source(nb.cells[indexes[0]])).items():
        if node.value is None:
            continue  # `name: T` without a value: the kernel has no such variable either
        try:
            defaults[name] = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            continue  # not a literal (e.g. date.today()): the model's own default stands in
    return defaults


@dataclass
class PlanOutcome:
    exit_code: int
    folder: Path
    index: Path
    steps: list[RunOutcome] = field(default_factory=list)


def record_without_running(planned: PlannedStep, run_dir: Path, target: str, *, verdict: str, outcome: str,
                           summary: str, error: str | None, exit_code: int) -> RunOutcome:
    """Write a step that did not run (blocked, not run after Ctrl-C, or the runner itself broke)
    like any other run: its notebook, unexecuted, with metadata["runbook"], and a page showing only
    the header."""
    return _record_unexecuted(planned.notebook, planned.values, run_dir, target, step=planned.step.id,
                              verdict=verdict, outcome=outcome, summary=summary, error=error, exit_code=exit_code)


def _record_unexecuted(notebook: Path, values: Mapping[str, Any], run_dir: Path, target: str, *, step: str | None,
                       verdict: str, outcome: str, summary: str, error: str | None, exit_code: int) -> RunOutcome:
    run_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    executed = run_dir / notebook.name
    html_path = run_dir / f"{notebook.stem}.html"
    secrets = masking.secret_values(values)
    nb.metadata[report.METADATA_KEY] = {
        "name": notebook.stem, "verdict": verdict, "summary": summary, "figures": {}, "details": {},
        "run": {"notebook": _display_path(notebook), "step": step, "target": target,
                "parameters": masking.mask_parameters(values, secrets),
                "started": None, "duration_s": None, "outcome": outcome, "error": error,
                "exit_code": exit_code, "html": html_path.name, "charts": []},
    }
    masking.mask_notebook(nb, secrets)
    nbformat.write(nb, executed)
    meta = nb.metadata[report.METADATA_KEY]
    written: Path | None = html_path
    try:
        report.render_run_html(nb, html_path, hidden_cells=range(len(nb.cells)))
    except Exception as exc:
        print(f"warning: could not write {html_path.name}: {type(exc).__name__}: {_said(exc, secrets)}", file=sys.stderr)
        written = None
    return RunOutcome(exit_code=exit_code, outcome=outcome, name=meta["name"], verdict=verdict,
                      summary=meta["summary"], run_dir=run_dir, notebook=executed, html=written, duration_s=0.0,
                      step=step, message=meta["run"]["error"])


def plan_exit_code(step_codes: Sequence[int]) -> int:
    """130 if a step was interrupted, else 1 if any step errored or had bad parameters, else 3 if
    any failed or was blocked, else 0."""
    codes = set(step_codes)
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    if codes & {EXIT_ERROR, EXIT_BAD_PARAMETERS}:
        return EXIT_ERROR
    return EXIT_FAILED if EXIT_FAILED in codes else EXIT_OK


def run_plan(plan_path: str | Path, outdir: str | Path | None = None, target: str | None = None,
             progress: bool = False) -> PlanOutcome:
    """`runbook overnight`: run every step in order (a step whose dependency did not end pass/warn
    is recorded as blocked), then write index.html and summary.json beside the runs.
    Exit code: 1 if any step errored or had bad parameters, else 3 if any failed or was blocked, else 0.
    On Ctrl-C the current step is recorded "interrupted", every later one "not run", the index and
    summary.json are written all the same, and KeyboardInterrupt is re-raised (the CLI exits 130)."""
    loaded = load_plan(plan_path, target)
    started = datetime.now().astimezone()
    folder = _unique_dir(Path(outdir or DEFAULT_REPORTS) / f"{started:%Y-%m-%d}" / f"overnight-{started:%H%M%S}")
    total = len(loaded.steps)
    print(f"Overnight plan {loaded.path} ({total} runbooks, target {loaded.target}) -> {folder}", flush=True)
    outcomes: dict[str, RunOutcome] = {}
    interrupted_at: str | None = None
    try:
        try:
            for number, planned in enumerate(loaded.steps, 1):
                outcome = _run_step(planned, folder, loaded, outcomes, number, total, progress)
                outcomes[planned.step.id] = outcome
                print(f"{outcome.label} ({outcome.duration_s:.1f}s) {outcome.summary}", flush=True)
                if outcome.outcome == report.INTERRUPTED:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted_at = _record_the_rest_after_interrupt(loaded, folder, outcomes)
            if interrupted_at is not None:
                print(f"\nInterrupted (Ctrl-C) during step {interrupted_at}; the steps after it were not run.", flush=True)
            raise
    finally:
        # Whatever happened, the morning has a page: every step so far, in plan order.
        notebooks = [outcomes[s.step.id].notebook for s in loaded.steps
                     if s.step.id in outcomes and outcomes[s.step.id].notebook.exists()]
        index = report.write_index(folder, notebooks, loaded.plan.title, loaded.target, started,
                                   datetime.now().astimezone(), interrupted_at=interrupted_at)
        print(f"Morning-review report: {Path(index.path).resolve()}", flush=True)
    exit_code = plan_exit_code([o.exit_code for o in outcomes.values()])
    return PlanOutcome(exit_code, folder, index.path, list(outcomes.values()))


def _run_step(planned: PlannedStep, folder: Path, loaded: LoadedPlan, outcomes: Mapping[str, RunOutcome],
              number: int, total: int, progress: bool) -> RunOutcome:
    step = planned.step
    print(f"[{number}/{total}] {step.id} ... ", end="", flush=True)
    run_dir = folder / step.id
    not_passed = [d for d in step.depends_on if outcomes[d].exit_code != EXIT_OK]
    if not_passed:
        reason = "; ".join(f"depends on {d}, which ended {outcomes[d].label}" for d in not_passed)
        return record_without_running(planned, run_dir, loaded.target, verdict="blocked",
                                      outcome=report.BLOCKED, summary=f"not run: {reason}",
                                      error=None, exit_code=EXIT_FAILED)
    try:
        return execute_runbook(planned.notebook, planned.values, run_dir, step=step.id,
                               target=loaded.target, progress=progress,
                               cell_timeout=loaded.plan.cell_timeout_seconds)
    except Exception as exc:  # one broken step must not lose the night's other results
        message = f"the runner failed: {type(exc).__name__}: {_said(exc, masking.secret_values(planned.values))}"
        return record_without_running(planned, run_dir, loaded.target, verdict="fail",
                                      outcome=report.ERROR, summary=message, error=message,
                                      exit_code=EXIT_ERROR)


def _record_the_rest_after_interrupt(loaded: LoadedPlan, folder: Path, outcomes: dict[str, RunOutcome]) -> str | None:
    """Record the step Ctrl-C stopped (unless it left its own record) and every later step as not
    run; return the interrupted step's id (None if every step had already ended)."""
    remaining = [s for s in loaded.steps if s.step.id not in outcomes or outcomes[s.step.id].outcome == report.INTERRUPTED]
    if not remaining:
        return None
    current = remaining[0]
    for planned in remaining:
        step_id = planned.step.id
        if step_id in outcomes:
            continue  # the interrupted run recorded itself, with its outputs so far
        run_dir = folder / step_id
        if planned is current:
            written = run_dir / planned.notebook.name
            if written.exists():  # Ctrl-C came after the step wrote its notebook
                try:
                    outcomes[step_id] = _outcome_from_record(written, planned)
                    continue
                except Exception:
                    pass  # cut short while being written: replaced by the record below
            outcomes[step_id] = record_without_running(
                planned, run_dir, loaded.target, verdict="blocked", outcome=report.INTERRUPTED,
                summary=INTERRUPTED_SUMMARY, error=None, exit_code=EXIT_INTERRUPTED)
        else:
            outcomes[step_id] = record_without_running(
                planned, run_dir, loaded.target, verdict="blocked", outcome=report.NOT_RUN,
                summary=f"not run: the night was interrupted (Ctrl-C) during step {current.step.id}",
                error=None, exit_code=EXIT_INTERRUPTED)
    return current.step.id


def _outcome_from_record(notebook: Path, planned: PlannedStep) -> RunOutcome:
    meta = report.run_metadata(nbformat.read(notebook, as_version=4))
    run = meta.get("run") or {}
    html_path = notebook.parent / str(run.get("html") or "")
    return RunOutcome(exit_code=int(run.get("exit_code", EXIT_ERROR)), outcome=str(run.get("outcome")),
                      name=str(meta.get("name")), verdict=str(meta.get("verdict")), summary=str(meta.get("summary")),
                      run_dir=notebook.parent, notebook=notebook, html=html_path if html_path.is_file() else None,
                      duration_s=float(run.get("duration_s") or 0.0), step=planned.step.id, message=run.get("error"))
