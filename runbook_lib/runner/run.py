"""One run: execute a notebook with papermill into its folder, decide how it went, and write the
record (the masked notebook with metadata["runbook"], its HTML page, its charts)."""
from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import nbformat

from .. import masking, params, report
from ..charts import FIGURES_DIR
from ..errors import ParameterError
from ..exit_codes import ExitCode
from ..phases import PROJECT_ROOT
from .kernel import KERNEL_NAME, ensure_kernelspec, kernel_environment
from .outcome import RunOutcome, decide_outcome, first_error, said
from .parameters import declared_default, plain_values, resolve_parameters, validation_cell_index

DEFAULT_REPORTS = Path("reports")
INTERRUPTED_SUMMARY = "interrupted (Ctrl-C) before the runbook finished"


def unique_dir(path: Path) -> Path:
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


def display_path(path: Path) -> str:
    """A notebook as the record names it: relative to the project when inside it."""
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


@contextlib.contextmanager
def _quiet_papermill_parameter_warnings() -> Iterator[None]:
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


def _papermill(source: Path, values: Mapping[str, Any], run_dir: Path, progress: bool,
               cell_timeout: int | None) -> tuple[Any, bool, str | None]:
    """Execute `source`; return (the executed notebook, interrupted by Ctrl-C?, why the run stopped
    outside any cell or None). Never raises for what happens inside the notebook."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    jupyter_base = ensure_kernelspec()
    crash: str | None = None
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="runbook-") as private:
        # papermill writes the unmasked notebook; keep that copy in a private temp folder only. It
        # saves it as each cell starts and ends, so a dead kernel, a timeout or Ctrl-C still leaves
        # the outputs so far to record.
        raw_output = Path(private) / source.name
        with kernel_environment(jupyter_base, run_dir), _quiet_papermill_parameter_warnings():
            try:
                papermill.execute_notebook(
                    str(source), str(raw_output), parameters=dict(values) or None, kernel_name=KERNEL_NAME,
                    language="python", progress_bar=progress, cwd=str(source.parent),
                    request_save_on_cell_execute=True, execution_timeout=cell_timeout, log_output=False)
            except PapermillExecutionError:
                pass  # the error is in the saved notebook, with papermill's banner
            except KeyboardInterrupt:
                interrupted = True  # recorded with the outputs so far; the caller re-raises
            except Exception as exc:  # kernel died, a cell timed out, could not start, ...: still leave a record
                crash = f"{type(exc).__name__}: {exc}"
        try:
            nb = nbformat.read(raw_output, as_version=4) if raw_output.exists() else None
        except Exception:  # a write cut short by Ctrl-C
            nb = None
    return nb or nbformat.read(source, as_version=4), interrupted, crash


def execute_runbook(notebook: str | Path, values: Mapping[str, Any], run_dir: Path, *, step: str | None = None,
                    plan: str | None = None, target: str | None = None, progress: bool = True,
                    cell_timeout: int | None = None) -> RunOutcome:
    """Execute one notebook with already-checked parameter values into `run_dir` (created).
    Never raises for what happens inside the notebook: that becomes the outcome."""
    from papermill.translators import translate_parameters

    source = Path(notebook).resolve()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    values = plain_values(values)
    secrets = masking.secret_values(values)
    started = datetime.now().astimezone()
    clock = time.monotonic()
    nb, interrupted, crash = _papermill(source, values, run_dir, progress, cell_timeout)
    duration = time.monotonic() - clock

    validation = validation_cell_index(nb)
    failure = first_error(nb)
    decision = decide_outcome(interrupted=interrupted, crash=crash, failure=failure, validation_cell=validation,
                              recorded=report.recorded_result(nb), fallback_name=source.stem, duration_s=duration,
                              secrets=secrets)
    masked_values = masking.mask_parameters(values, secrets)
    record = report.RunRecord(
        notebook=display_path(source), step=step, plan=plan,
        target=values.get("target", target or declared_default(nb, "target")),
        parameters=masked_values, started=started.isoformat(timespec="seconds"), duration_s=round(duration, 2),
        outcome=decision.outcome, error=decision.error, exit_code=decision.exit_code,
        html=f"{source.stem}.html",
        charts=sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / FIGURES_DIR).glob("*.png")))
    nb.metadata.setdefault("papermill", {})["output_path"] = str(run_dir / source.name)
    for index in params.tagged_cells(nb, params.INJECTED_TAG):
        # Rebuild the injected cell from masked values; write_record then masks every text.
        nb.cells[index].source = translate_parameters(KERNEL_NAME, "python", masked_values, "Parameters")
    # A quiet validation cell shows nothing worth a place on the page; a failing one is the story.
    hidden = [validation] if validation is not None and not (failure and failure.index == validation) else []
    return write_record(nb, decision.result, record, run_dir / source.name, secrets, hidden)


def write_record(nb: Any, result: Mapping[str, Any], record: report.RunRecord, executed: Path,
                 secrets: Sequence[str], hidden_cells: Sequence[int]) -> RunOutcome:
    """Store `result` and `record` in the notebook's metadata["runbook"], mask the whole notebook,
    write it to `executed` and its HTML page beside it, and read the outcome back from what was
    written. A page that cannot be rendered is a warning: the notebook is the record."""
    nb.metadata[report.METADATA_KEY] = {**result, "run": record.to_dict()}
    masking.mask_notebook(nb, secrets)
    nbformat.write(nb, executed)
    html_path: Path | None = executed.parent / str(record.html)
    try:
        report.render_run_html(nb, html_path, hidden_cells=hidden_cells)
    except Exception as exc:
        print(f"warning: could not write {html_path.name}: {type(exc).__name__}: {said(exc, secrets)}", file=sys.stderr)
        html_path = None
    return RunOutcome.from_metadata(nb.metadata[report.METADATA_KEY], executed, html_path)


def record_unexecuted(notebook: Path, values: Mapping[str, Any], run_dir: Path, target: str, *, step: str | None,
                      plan: str | None = None, verdict: str, outcome: str, summary: str, error: str | None, exit_code: int) -> RunOutcome:
    """Write a run that did not execute (blocked, not run, stopped before it started, or the runner
    itself broke) like any other: its notebook, unexecuted, with metadata["runbook"], and a page
    showing only the header."""
    run_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    secrets = masking.secret_values(values)
    result = {"name": notebook.stem, "verdict": verdict, "summary": summary, "figures": {}, "details": {}}
    record = report.RunRecord(notebook=display_path(notebook), step=step, plan=plan, target=target,
                              parameters=masking.mask_parameters(values, secrets), outcome=outcome, error=error,
                              exit_code=exit_code, html=f"{notebook.stem}.html")
    return write_record(nb, result, record, run_dir / notebook.name, secrets, hidden_cells=range(len(nb.cells)))


def read_record(notebook: Path) -> RunOutcome:
    """The outcome of a run from the notebook it wrote."""
    meta = report.run_metadata(nbformat.read(notebook, as_version=4))
    html_path = notebook.parent / str(report.RunRecord.from_dict(meta.get("run")).html or "")
    return RunOutcome.from_metadata(meta, notebook, html_path if html_path.is_file() else None)


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
    run_dir = unique_dir(Path(outdir or DEFAULT_REPORTS) / f"{now:%Y-%m-%d}" / f"{now:%H%M%S}-{source.stem}")
    print(f"Running {display_path(source)} -> {run_dir}", file=sys.stderr, flush=True)
    try:
        outcome = execute_runbook(source, values, run_dir, target=target, progress=progress, cell_timeout=cell_timeout)
    except KeyboardInterrupt:
        # Ctrl-C outside the notebook's execution (starting, or writing the record): leave a record
        # unless the run's notebook is already written.
        if not (run_dir / source.name).exists():
            record_unexecuted(source, values, run_dir, target or values.get("target") or "local", step=None,
                              verdict="blocked", outcome=report.INTERRUPTED, summary=INTERRUPTED_SUMMARY,
                              error=INTERRUPTED_SUMMARY, exit_code=ExitCode.INTERRUPTED)
        print(f"Interrupted; the record so far: {run_dir.resolve()}", file=sys.stderr)
        raise
    if outcome.message:
        print(f"error: {outcome.message}", file=sys.stderr)
    print(f"{outcome.label} {outcome.name}: {outcome.summary} ({outcome.duration_s:.1f}s)")
    print(f"Report: {Path(outcome.html or outcome.notebook).resolve()}")
    if outcome.outcome == report.INTERRUPTED:
        raise KeyboardInterrupt
    return outcome
