"""One run: execute a notebook with papermill into its folder, decide how it went, and write the
record (the masked notebook with metadata["runbook"], its HTML page, its charts)."""
from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import sys
import time
import uuid
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import nbformat

from .. import masking, params, report
from ..charts import FIGURES_DIR
from ..checks import check_path
from ..errors import ParameterError
from ..exit_codes import ExitCode
from ..gcp.connect import check_environment
from ..phases import PROJECT_ROOT
from .echo import echo_progress
from .kernel import KERNEL_NAME, ensure_kernelspec, kernel_environment, kernel_log_file
from .outcome import (RunOutcome, decide_outcome, first_error, said, sentence_start, stopped_outcome, stopped_signal,
                      stopped_text)
from .parameters import declared_default, plain_values, resolve_parameters, validation_cell_index
from .signals import signal_of, stopped

DEFAULT_REPORTS = Path("reports")
# A notebook's own cell timeout: metadata[SETTINGS_KEY]["cell_timeout_seconds"]; without one, this.
SETTINGS_KEY = "runbook_settings"
DEFAULT_CELL_TIMEOUT_S = 1800
# Starts of a kernel that died before answering (see kernel_died_starting) before the run is an error.
KERNEL_START_ATTEMPTS = 3


def stopped_summary(signum: int) -> str:
    return f"{stopped_text(signum)} before the runbook finished"


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
    """Names were already checked against the parameters cell; papermill's own inference skips a line
    whose annotation it cannot read (`str | None`: the kit's runbooks write `Optional[str]`, but the runner
    runs any notebook) and would warn "Passed unknown parameter" about a valid name.
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


class _KernelWeStopped(logging.Filter):
    """Ctrl-C or SIGTERM shuts the kernel down while nbclient still awaits a cell; asyncio then logs
    that task's DeadKernelError as "Task exception was never retrieved", with a traceback, when the
    task is collected - possibly after the run is recorded. The run already says how it ended."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (record.getMessage().startswith("Task exception was never retrieved")
                    and type(error).__name__ == "DeadKernelError")


logging.getLogger("asyncio").addFilter(_KernelWeStopped())


class _NotebooksInMemory:
    """A papermill I/O handler that keeps the executed notebook in this process's memory. Papermill
    saves the unmasked notebook as each cell starts and ends; kept here, no unmasked copy ever
    reaches the disk, whatever stops the run (even SIGKILL leaves nothing behind to clean up)."""

    scheme = "runbook-memory://"
    saved: dict[str, str] = {}

    @classmethod
    def register(cls) -> None:
        from papermill.iorw import papermill_io

        if not any(scheme == cls.scheme for scheme, _ in papermill_io._handlers):
            papermill_io.register(cls.scheme, cls)

    @classmethod
    def read(cls, path: str) -> str:
        return cls.saved[path]

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        cls.saved[path] = buf

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        return []

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


def _papermill(source: Path, unexecuted: Any, values: Mapping[str, Any], run_dir: Path, progress: bool,
               cell_timeout: int | None, run_id: str, secrets: Sequence[str] = ()) -> tuple[Any, int | None, str | None]:
    """Execute `source` (`unexecuted`: as the kit parsed it); return (the executed notebook, or a copy
    of `unexecuted` when papermill saved none; the signal that stopped it or None; why the run stopped
    outside any cell or None). Never raises for what happens inside the notebook. The kernel's own stderr
    is shown (masked of `secrets`) only when the run stopped outside any cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    jupyter_base = ensure_kernelspec()
    _NotebooksInMemory.register()
    crash: str | None = None
    stopped_by: int | None = None
    output = f"{_NotebooksInMemory.scheme}{run_id}/{source.name}"
    kernel_log = kernel_log_file(run_dir)
    kernel_log.unlink(missing_ok=True)
    try:
        with kernel_environment(jupyter_base, run_dir, run_id), _quiet_papermill_parameter_warnings(), \
                echo_progress(run_dir, bar_shown=progress) as last_progress:
            for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
                crash = None
                _NotebooksInMemory.saved.pop(output, None)
                try:
                    # Saved as each cell starts and ends, so a dead kernel, a timeout, Ctrl-C or SIGTERM
                    # still leaves the outputs so far to record. Papermill takes the path: handed the
                    # parsed notebook instead, it would write it out and parse it again, and keep the
                    # whole notebook as its metadata's input_path.
                    papermill.execute_notebook(
                        str(source), output, parameters=dict(values) or None, kernel_name=KERNEL_NAME,
                        language="python", progress_bar=progress, cwd=str(source.parent),
                        request_save_on_cell_execute=True, execution_timeout=cell_timeout, log_output=False)
                except PapermillExecutionError:
                    pass  # the error is in the saved notebook, with papermill's banner
                except KeyboardInterrupt as exc:
                    stopped_by = signal_of(exc)  # recorded with the outputs so far; the caller re-raises
                except Exception as exc:  # kernel died, a cell timed out, could not start, ...: still leave a record
                    crash = f"{type(exc).__name__}: {exc}"
                    if kernel_died_starting(exc) and attempt < KERNEL_START_ATTEMPTS:
                        print(f"warning: the kernel died as it started ({exc}); no cell ran, starting it again "
                              f"({attempt + 1} of {KERNEL_START_ATTEMPTS})", file=sys.stderr)
                        continue
                break
        if crash and last_progress.get("line"):   # a cell out of time or a dead kernel: how far its work had gone
            # (before the exception's own words, which a timeout fills with the cell's source and a summary cuts)
            kind, _, words = crash.partition(": ")
            crash = f"{kind} (the cell's last progress: {last_progress['line']}): {words}"
        if crash:
            _show_kernel_log(kernel_log, secrets)
        saved = _NotebooksInMemory.saved.get(output)
        try:
            nb = nbformat.reads(saved, as_version=4) if saved else None
        except Exception:  # a save cut short
            nb = None
    finally:
        _NotebooksInMemory.saved.pop(output, None)
        kernel_log.unlink(missing_ok=True)
    return nb or copy.deepcopy(unexecuted), stopped_by, crash


KERNEL_LOG_LINES = 20   # of a dead kernel's own stderr, shown under the run's error


def _show_kernel_log(path: Path, secrets: Sequence[str]) -> None:
    """Print the last lines the kernel process wrote to its stderr (kernel_main), if any: why it died, when
    it knew (a fatal error, a failed import as it started)."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return
    if lines:
        shown = masking.mask_text("\n".join(lines[-KERNEL_LOG_LINES:]), secrets)
        print("the kernel's own last messages (its stderr):", file=sys.stderr)
        print("\n".join(f"  {line}" for line in shown.splitlines()), file=sys.stderr, flush=True)


def quiet_validation_cell(nb: Any, index: int | None) -> bool:
    """The first code cell after the parameters is a validation cell (it calls params.from_notebook) that showed
    nothing but text streams (warnings, progress). Any other cell there is a notebook's own work, shown whole."""
    if index is None:
        return False
    cell = nb.cells[index]
    return "from_notebook(" in params.cell_source(cell) and all(
        o.get("output_type") == "stream" for o in cell.get("outputs", []))


def kernel_died_starting(exc: BaseException) -> bool:
    """The kernel never answered its first request, so no cell ran: most often a port it was handed was
    taken by another process between jupyter_client choosing it and the kernel binding it (a race
    jupyter_client cannot close across processes). jupyter_client says so as "Kernel died before replying to
    kernel_info" when it saw the process exit, and as "Kernel didn't respond in N seconds" when it waited out
    its start timeout instead (seen with the kernel's own `ZMQError: Address already in use`). Starting again
    is safe either way."""
    said = str(exc)
    return isinstance(exc, RuntimeError) and ("Kernel died before replying to kernel_info" in said
                                              or re.search(r"Kernel didn't respond in \d+ seconds", said) is not None)


def cell_timeout_for(nb: Any, given: int | None = None) -> int | None:
    """Seconds one cell may run: `given` (0: no limit), else the notebook's own
    metadata["runbook_settings"]["cell_timeout_seconds"], else DEFAULT_CELL_TIMEOUT_S."""
    if given is not None:
        return given or None
    return _own_cell_timeout(nb) or DEFAULT_CELL_TIMEOUT_S


def _own_cell_timeout(nb: Any) -> int | None:
    """The notebook's own metadata["runbook_settings"]["cell_timeout_seconds"] when it is a whole
    number of seconds above 0; None otherwise (the kit's default applies)."""
    declared = (nb.metadata.get(SETTINGS_KEY) or {}).get("cell_timeout_seconds")
    if isinstance(declared, int) and not isinstance(declared, bool) and declared > 0:
        return declared
    return None


def check_cell_timeout(value: Any, name: str = "cell_timeout") -> int | None:
    """`name`: the parameter as the caller knows it (`--cell-timeout` on the command line, where None cannot be
    typed: leaving the option out gives the notebook's own limit)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        default = (f" (leave {name} out for the notebook's own limit)" if name.startswith("--")
                   else ", or None for the notebook's own default")
        raise ParameterError(name, value, f"a whole number of seconds, 0 for no limit{default}")
    return value


def _stop_services_started_by(run_id: str, values: Mapping[str, Any]) -> None:
    """Stop the sandbox services this run's kernel started and left running (a notebook stopped by
    a signal or an error never reaches its `tg.close()`); services that were already up stay up."""
    from ..local.home import sandbox_home
    from ..local.processes import stop_started_by

    home = values.get("sandbox_home")
    try:
        stop_started_by(sandbox_home(home if isinstance(home, str) and home else None), run_id)
    except (OSError, ValueError) as exc:
        print(f"warning: could not stop the services this run started: {exc}", file=sys.stderr)


def execute_runbook(notebook: str | Path, values: Mapping[str, Any], run_dir: Path, *, step: str | None = None,
                    plan: str | None = None, target: str | None = None, progress: bool = True,
                    cell_timeout: int | None = None, nb: Any = None) -> RunOutcome:
    """Execute one notebook with already-checked parameter values into `run_dir` (created).
    `cell_timeout`: seconds one cell may take (see cell_timeout_for). `nb`: the notebook as the
    caller parsed it already (else it is read here; it is not changed). Never raises for what
    happens inside the notebook: that becomes the outcome."""
    from papermill.translators import translate_parameters

    source = Path(notebook).resolve()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    values = plain_values(values)
    secrets = masking.secret_values(values)
    started = datetime.now().astimezone()
    clock = time.monotonic()
    run_id = uuid.uuid4().hex
    unexecuted = nb if nb is not None else nbformat.read(source, as_version=4)
    timeout = cell_timeout_for(unexecuted, check_cell_timeout(cell_timeout))
    try:
        nb, stopped_by, crash = _papermill(source, unexecuted, values, run_dir, progress, timeout, run_id, secrets)
    finally:
        _stop_services_started_by(run_id, values)
    duration = time.monotonic() - clock

    validation = validation_cell_index(nb)
    failure = first_error(nb)
    decision = decide_outcome(stopped_by=stopped_by, crash=crash, failure=failure, validation_cell=validation,
                              recorded=report.recorded_result(nb), fallback_name=source.stem, duration_s=duration,
                              secrets=secrets, parameters=params.declared_parameters(nb))
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
    hidden = [validation] if quiet_validation_cell(nb, validation) and not (failure and failure.index == validation) \
        else []
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
    return RunOutcome.from_metadata(report.run_metadata(nb), executed, html_path)   # as a reader of the file sees it


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


def read_notebook(path: str | Path) -> Any:
    """The notebook at `path` (nbformat 4), or a ParameterError naming it when it is no notebook (truncated, empty,
    not JSON, not of the notebook format)."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:   # NotJSONError, a schema ValidationError, a UnicodeDecodeError ...
        why = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ParameterError("notebook", str(path), f"a readable Jupyter notebook; this one is not ({why})") from None


def describe_parameters(notebook: str | Path) -> str:
    """`runbook run NOTEBOOK --help-params`: the parameters its parameters cell declares (name, type,
    default, the comment beside it) and its cell timeout."""
    source = _existing_notebook(notebook)
    nb = read_notebook(source)
    declared = params.declared_parameters(nb)
    if not declared:
        return f"{source.name} has no cell tagged 'parameters': it takes no parameters."
    rows = [("NAME", "TYPE", "DEFAULT", "")] + [
        (d.name, d.annotation or "(any)", repr(d.default), d.help or "") for d in declared.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{source.name} takes these parameters (-p NAME VALUE, or -f FILE.yaml with NAME: VALUE lines):", ""]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3]
              for row in rows]
    timeout = cell_timeout_for(nb)
    own = "its own" if _own_cell_timeout(nb) else "the kit's default"
    lines += ["", f"Cell timeout: {timeout} s ({own}; --cell-timeout SECONDS changes it, 0 for no limit)."]
    return "\n".join(line.rstrip() for line in lines)


def check_outdir(outdir: str | Path | None) -> Path:
    """The report folder: refused in one sentence if it is blank (an unset shell variable, not a request
    for the default), a file, or cannot be made."""
    if outdir is not None and not str(outdir).strip():
        raise ParameterError("outdir", str(outdir), f"give a folder for the reports, or leave -o out for "
                                                    f"{DEFAULT_REPORTS}")
    folder = Path(outdir or DEFAULT_REPORTS)
    check_path("outdir", folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ParameterError("outdir", str(outdir), f"give a folder for the reports; {existing} is a file")
    # Tried now, not when the run is done: a folder the system refuses (a read-only file system, /proc, no
    # permission) is bad input refused before anything runs (exit 2), not an error after the run (exit 1).
    # What the try made is taken away again: a refusal later (a parameter, credentials) leaves nothing behind.
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        refused = None if os.access(folder, os.W_OK | os.X_OK) else "it cannot be written"
    except OSError as exc:
        refused = exc.strerror or type(exc).__name__
    for new_folder in made:   # deepest first
        try:
            new_folder.rmdir()
        except OSError:
            break
    if refused:
        raise ParameterError("outdir", str(outdir or folder), f"give a folder for the reports (-o) that can be made "
                                                              f"and written; {folder}: {refused}")
    return folder


def _list_the_run(reports_dir: Path) -> None:
    """Rewrite the reports folder's index.html, which lists single runs beside the nights; the run is
    recorded whatever happens to that page."""
    from .. import nights

    try:
        index = nights.refresh_reports_index(reports_dir)
    except Exception as exc:
        print(f"warning: could not rewrite {reports_dir / nights.INDEX}: {type(exc).__name__}: {said(exc)}; "
              f"`runbook report {reports_dir}` rebuilds it", file=sys.stderr)
        return
    print(f"Every run: {index.resolve()}")


def run_notebook(notebook: str | Path, parameters: Sequence[Sequence[str]] = (), param_files: Sequence[str | Path] = (),
                 target: str | None = None, outdir: str | Path | None = None, progress: bool = True,
                 cell_timeout: int | None = None) -> RunOutcome:
    """`runbook run`: check parameter names (ParameterError before anything runs), execute into
    `<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/`, print the verdict and the report path.
    `cell_timeout`: seconds one cell may take (None: the notebook's own default, 0: no limit).
    On Ctrl-C (or SIGTERM or SIGHUP, raised as signals.Terminated) the run is recorded in its folder (outcome
    "interrupted" or "terminated") and the interruption is raised again."""
    source = _existing_notebook(notebook)
    check_cell_timeout(cell_timeout)
    nb = read_notebook(source)   # once: papermill reads the file itself
    values = resolve_parameters(source, parameters or (), param_files or (), target, nb=nb)
    folder = check_outdir(outdir)
    if (values.get("target") or declared_default(nb, "target")) == "gcp":
        check_environment()
    now = datetime.now()
    run_dir = unique_dir(folder / f"{now:%Y-%m-%d}" / f"{now:%H%M%S}-{source.stem}")
    print(f"Running {display_path(source)} -> {run_dir}", file=sys.stderr, flush=True)
    try:
        outcome = execute_runbook(source, values, run_dir, target=target, progress=progress, cell_timeout=cell_timeout,
                                  nb=nb)
    except KeyboardInterrupt as exc:
        # Stopped outside the notebook's execution (starting, or writing the record): leave a record
        # unless the run's notebook is already written.
        signum = signal_of(exc)
        if not (run_dir / source.name).exists():
            record_unexecuted(source, values, run_dir, target or values.get("target") or "local", step=None,
                              verdict="blocked", outcome=stopped_outcome(signum), summary=stopped_summary(signum),
                              error=stopped_summary(signum), exit_code=ExitCode.for_signal(signum))
        print(f"{sentence_start(stopped_text(signum))}; the record so far: {run_dir.resolve()}", file=sys.stderr)
        raise
    if outcome.message:
        print(f"error: {outcome.message}", file=sys.stderr)
    # The error sentence is said once, whole, above; the verdict line then only names the run.
    said_above = bool(outcome.message) and outcome.message in outcome.summary
    print(f"{outcome.label} {outcome.name}{'' if said_above else f': {outcome.summary}'} ({outcome.duration_s:.1f}s)")
    print(f"Report: {Path(outcome.html or outcome.notebook).resolve()}")
    _list_the_run(folder)
    if outcome.outcome in report.STOPPED:
        raise stopped(stopped_signal(outcome))
    return outcome
