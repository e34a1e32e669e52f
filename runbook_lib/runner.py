"""Run runbooks headlessly with papermill: one notebook (`runbook run`), a plan of them overnight
(`runbook overnight`), and JupyterLab on the same notebooks (`runbook lab`).

Exit codes (`.exit_code` of what run_notebook/run_plan return):
  0  verdict pass or warn
  2  bad parameters: unknown names are refused before anything runs; bad values stop the
     notebook in its validation cell (the first code cell after the parameters), before any work
  3  verdict fail or blocked
  1  any other error: a cell raised (papermill's failing-cell banner stays in the notebook), or the
     notebook finished without calling `report.record(...)` (recorded as verdict fail, outcome
     "no-result": a runbook that says nothing is a broken runbook, not a failed check)

Each run writes `<stem>.ipynb` (executed, secrets masked, result in metadata["runbook"]),
`<stem>.html` (outputs only) and `figures/*.png` (charts saved by `charts.show`) into its folder:
`<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/` for `run`, and
`<outdir or reports>/<YYYY-MM-DD>/overnight-<HHMMSS>/<step id>/` for a plan, beside the plan's
`index.html` and `summary.json`.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
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
from .phases import PROJECT_ROOT

EXIT_OK, EXIT_ERROR, EXIT_BAD_PARAMETERS, EXIT_FAILED = 0, 1, 2, 3
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
        os.environ[RUN_DIR_ENV] = str(run_dir)
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
    for name, value in values.items():
        if name not in declared:
            allowed = (f"{notebook.name} declares {', '.join(declared)}" if declared
                       else f"{notebook.name} has no cell tagged 'parameters'")
            raise ParameterError(name, masking.mask_value(name, value), f"it is not a parameter of this runbook ({allowed})")


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


def _first_error(nb: Any) -> tuple[int, Any] | None:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"):
                    continue
                return index, output
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return index, {"ename": "CellExecutionError", "evalue": "the cell failed without an error output"}
    return None


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _unique_dir(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


@contextlib.contextmanager
def _quiet_papermill_parameter_warnings():
    """Names were already checked against the parameters cell; papermill's own inference misreads
    annotations such as `str | None` and would warn "Passed unknown parameter" about valid ones."""
    logger = logging.getLogger("papermill")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
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
    with tempfile.TemporaryDirectory(prefix="runbook-") as private:
        # papermill writes the unmasked notebook; keep that copy in a private temp folder only.
        raw_output = Path(private) / source.name
        with _kernel_environment(jupyter_base, run_dir), _quiet_papermill_parameter_warnings():
            try:
                papermill.execute_notebook(
                    str(source), str(raw_output), parameters=values or None, kernel_name=KERNEL_NAME, language="python",
                    progress_bar=progress, cwd=str(source.parent), request_save_on_cell_execute=False,
                    execution_timeout=cell_timeout, log_output=False)
            except PapermillExecutionError:
                pass  # the error is in the saved notebook, with papermill's banner
            except Exception as exc:  # kernel died, could not start, ...: still leave a record
                crash = f"{type(exc).__name__}: {_one_line(str(exc))}"
        nb = nbformat.read(raw_output, as_version=4) if raw_output.exists() else nbformat.read(source, as_version=4)
    duration = time.monotonic() - clock

    recorded = report.recorded_result(nb)
    validation = validation_cell_index(nb)
    failure = _first_error(nb)
    message = None
    if crash is not None:
        outcome, message = report.ERROR, f"the run stopped: {crash}"
    elif failure is not None:
        index, output = failure
        sentence = _one_line(f"{output.get('ename')}: {output.get('evalue')}")
        if index == validation and output.get("ename") in params.PARAMETER_ERROR_NAMES:
            outcome, message = report.BAD_PARAMETERS, _one_line(str(output.get("evalue")))
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
        meta = {"name": (recorded or {}).get("name") or source.stem, "verdict": "fail",
                "summary": f"bad parameter: {message}" if outcome == report.BAD_PARAMETERS else message,
                "figures": {}, "details": {"recorded": recorded} if recorded else {}}
    charts = sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / FIGURES_DIR).glob("*.png"))
    masked_values = masking.mask_parameters(values, secrets)
    exit_code = {report.COMPLETED: EXIT_OK if meta["verdict"] in ("pass", "warn") else EXIT_FAILED,
                 report.BAD_PARAMETERS: EXIT_BAD_PARAMETERS}.get(outcome, EXIT_ERROR)
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
        print(f"warning: could not write {html_path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
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
                 target: str | None = None, outdir: str | Path | None = None, progress: bool = True) -> RunOutcome:
    """`runbook run`: check parameter names (ParameterError before anything runs), execute into
    `<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/`, print the verdict and the report path."""
    source = _existing_notebook(notebook)
    values = resolve_parameters(source, parameters or (), param_files or (), target)
    now = datetime.now()
    run_dir = _unique_dir(Path(outdir or DEFAULT_REPORTS) / f"{now:%Y-%m-%d}" / f"{now:%H%M%S}-{source.stem}")
    print(f"Running {_display_path(source)} -> {run_dir}", file=sys.stderr, flush=True)
    outcome = execute_runbook(source, values, run_dir, target=target, progress=progress)
    if outcome.outcome == report.BAD_PARAMETERS:
        print(f"error: {outcome.message}", file=sys.stderr)
    elif outcome.message:
        print(f"error: {outcome.message}", file=sys.stderr)
    print(f"{outcome.label} {outcome.name}: {outcome.summary} ({outcome.duration_s:.1f}s)")
    print(f"Report: {Path(outcome.html or outcome.notebook).resolve()}")
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
    folder, then the project."""
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
        declared = params.declared_parameters(nbformat.read(notebook, as_version=4))
        values = {k: _plain(v, k) for k, v in {**plan.parameters, **step.parameters}.items()}
        if "target" in declared:
            values["target"] = chosen_target
        try:
            check_declared(notebook, declared, values)
        except ParameterError as exc:
            raise ConfigError(f"{path}: step {step.id!r}: {exc}") from None
        planned.append(PlannedStep(step, notebook, values))
    return LoadedPlan(path, plan, chosen_target, planned)


@dataclass
class PlanOutcome:
    exit_code: int
    folder: Path
    index: Path
    steps: list[RunOutcome] = field(default_factory=list)


def record_without_running(planned: PlannedStep, run_dir: Path, target: str, *, verdict: str, outcome: str,
                           summary: str, error: str | None, exit_code: int) -> RunOutcome:
    """Write a step that did not run (blocked, or the runner itself broke) like any other run: its
    notebook, unexecuted, with metadata["runbook"], and a page showing only the header."""
    run_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(planned.notebook, as_version=4)
    executed = run_dir / planned.notebook.name
    html_path = run_dir / f"{planned.notebook.stem}.html"
    secrets = masking.secret_values(planned.values)
    nb.metadata[report.METADATA_KEY] = {
        "name": planned.notebook.stem, "verdict": verdict, "summary": summary, "figures": {}, "details": {},
        "run": {"notebook": _display_path(planned.notebook), "step": planned.step.id, "target": target,
                "parameters": masking.mask_parameters(planned.values, secrets),
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
        print(f"warning: could not write {html_path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        written = None
    return RunOutcome(exit_code=exit_code, outcome=outcome, name=meta["name"], verdict=verdict,
                      summary=meta["summary"], run_dir=run_dir, notebook=executed, html=written, duration_s=0.0,
                      step=planned.step.id, message=meta["run"]["error"])


def plan_exit_code(step_codes: Sequence[int]) -> int:
    """1 if any step errored or had bad parameters, else 3 if any failed or was blocked, else 0."""
    codes = set(step_codes)
    if codes & {EXIT_ERROR, EXIT_BAD_PARAMETERS}:
        return EXIT_ERROR
    return EXIT_FAILED if EXIT_FAILED in codes else EXIT_OK


def run_plan(plan_path: str | Path, outdir: str | Path | None = None, target: str | None = None,
             progress: bool = False) -> PlanOutcome:
    """`runbook overnight`: run every step in order (a step whose dependency did not end pass/warn
    is recorded as blocked), then write index.html and summary.json beside the runs.
    Exit code: 1 if any step errored or had bad parameters, else 3 if any failed or was blocked, else 0."""
    loaded = load_plan(plan_path, target)
    started = datetime.now().astimezone()
    folder = _unique_dir(Path(outdir or DEFAULT_REPORTS) / f"{started:%Y-%m-%d}" / f"overnight-{started:%H%M%S}")
    total = len(loaded.steps)
    print(f"Overnight plan {loaded.path} ({total} runbooks, target {loaded.target}) -> {folder}", flush=True)
    outcomes: dict[str, RunOutcome] = {}
    for number, planned in enumerate(loaded.steps, 1):
        step = planned.step
        print(f"[{number}/{total}] {step.id} ... ", end="", flush=True)
        run_dir = folder / step.id
        not_passed = [d for d in step.depends_on if outcomes[d].exit_code != EXIT_OK]
        if not_passed:
            reason = "; ".join(f"depends on {d}, which ended {outcomes[d].label}" for d in not_passed)
            outcome = record_without_running(planned, run_dir, loaded.target, verdict="blocked",
                                             outcome=report.BLOCKED, summary=f"not run: {reason}",
                                             error=None, exit_code=EXIT_FAILED)
        else:
            try:
                outcome = execute_runbook(planned.notebook, planned.values, run_dir, step=step.id,
                                          target=loaded.target, progress=progress,
                                          cell_timeout=loaded.plan.cell_timeout_seconds)
            except Exception as exc:  # one broken step must not lose the night's other results
                message = f"the runner failed: {type(exc).__name__}: {_one_line(str(exc))}"
                outcome = record_without_running(planned, run_dir, loaded.target, verdict="fail",
                                                 outcome=report.ERROR, summary=message, error=message,
                                                 exit_code=EXIT_ERROR)
        outcomes[step.id] = outcome
        print(f"{outcome.label} ({outcome.duration_s:.1f}s) {outcome.summary}", flush=True)
    notebooks = [o.notebook for o in outcomes.values() if o.notebook.exists()]
    index = report.write_index(folder, notebooks, loaded.plan.title, loaded.target, started, datetime.now().astimezone())
    exit_code = plan_exit_code([o.exit_code for o in outcomes.values()])
    print(f"Morning-review report: {Path(index.path).resolve()}")
    return PlanOutcome(exit_code, folder, index.path, list(outcomes.values()))
