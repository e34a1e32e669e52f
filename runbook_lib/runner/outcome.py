"""How a run ended: its outcome, exit code and recorded result, decided from what happened
(`decide_outcome`, a pure function), and what `run_notebook`/`run_plan` return for it."""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

from .. import errors, masking, params, report
from ..exit_codes import ExitCode, for_verdict
from ..formats import one_line
from .signals import signal_name

NO_RESULT_MESSAGE = "the runbook ended without recording a result (it never called runbook_lib.report.record)"


@dataclass(frozen=True)
class CellError:
    """The first cell that raised: where, and what papermill recorded of the exception."""
    index: int
    execution_count: int | None
    ename: str
    evalue: str


@dataclass(frozen=True)
class Decision:
    outcome: str                 # report.COMPLETED, ERROR, BAD_PARAMETERS, NO_RESULT, INTERRUPTED or TERMINATED
    exit_code: ExitCode
    error: str | None            # the one-line error sentence (masked); None when the run completed
    result: dict[str, Any]       # name, verdict, summary, figures, details: metadata["runbook"] less "run"


# Text no kit sentence is (a library's message, nbclient's timeout with its preview of the cell) is cut to
# this many characters; the kit's own sentences are shown whole, as they may end with the command to run.
FOREIGN_TEXT_CHARS = 300


def said(text: Any, secrets: Sequence[str] = (), whole: bool = False) -> str:
    """Error text for a message: masked whole first, then made one line and, unless `whole`, cut
    (cutting first could leave half a secret that no rule recognises any more)."""
    masked = masking.mask_text(str(text), secrets)
    flat = " ".join(masked.split()) if whole else one_line(masked, FOREIGN_TEXT_CHARS)
    # backslashreplace: an exception may quote text no UTF-8 file can hold (a lone surrogate), and the
    # sentence is written to the run's notebook and page
    return flat.encode("utf-8", "backslashreplace").decode("utf-8")


def kit_error_names() -> frozenset[str]:
    """The names of the kit's own exceptions (every RunbookError, as a notebook's error output names it):
    their message is one sentence written for the operator, never cut."""
    found, todo = set(), [errors.RunbookError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(found | params.PARAMETER_ERROR_NAMES)


def decide_outcome(*, stopped_by: int | None, crash: str | None, failure: CellError | None,
                   validation_cell: int | None, recorded: Mapping[str, Any] | None, fallback_name: str,
                   duration_s: float = 0.0, secrets: Sequence[str] = (), parameters: Collection[str] = ()) -> Decision:
    """Decide how a run ended, in this order: a signal stopped it (`stopped_by`: SIGINT is Ctrl-C,
    SIGTERM what `timeout`, `docker stop` or a job's deadline sends); the run stopped outside any
    cell (`crash`: the kernel died, a cell outlived its timeout, the kernel never started); a cell
    raised (a parameter error in the validation cell is bad parameters, and so is one naming one of
    the notebook's `parameters` in a later cell, e.g. a build id that does not exist; anything else
    is an error); the notebook never recorded a result (a runbook that says nothing is broken, not
    a failed check); else the recorded verdict. Error texts are masked with `secrets` before they
    are cut."""
    if stopped_by is not None:
        error = f"{stopped_text(stopped_by)} after {duration_s:.0f}s, before the runbook finished"
        return _not_completed(stopped_outcome(stopped_by), ExitCode.for_signal(stopped_by), error, error, recorded,
                              fallback_name)
    if crash is not None:
        error = f"the run stopped: {said(crash, secrets)}"
        return _not_completed(report.ERROR, ExitCode.ERROR, error, error, recorded, fallback_name)
    if failure is not None:
        if failure.ename in params.PARAMETER_ERROR_NAMES and (
                failure.index == validation_cell or _parameter_named(failure.evalue) in parameters):
            error = said(failure.evalue, secrets, whole=True)
            return _not_completed(report.BAD_PARAMETERS, ExitCode.BAD_INPUT, error, f"bad parameter: {error}",
                                  recorded, fallback_name)
        whole = failure.ename in kit_error_names()
        error = (f"error in cell [{failure.execution_count}]: "
                 f"{said(f'{failure.ename}: {failure.evalue}', secrets, whole=whole)}")
        return _not_completed(report.ERROR, ExitCode.ERROR, error, error, recorded, fallback_name)
    if recorded is None:
        return _not_completed(report.NO_RESULT, ExitCode.ERROR, NO_RESULT_MESSAGE, NO_RESULT_MESSAGE, None, fallback_name)
    return Decision(report.COMPLETED, for_verdict(recorded.get("verdict")), None, dict(recorded))


def stopped_text(signum: int) -> str:
    """How a stopped run is described: "interrupted (Ctrl-C)", "terminated (SIGTERM)", "terminated (SIGHUP)"."""
    return f"{'interrupted' if signum == signal.SIGINT else 'terminated'} ({signal_name(signum)})"


def sentence_start(text: str) -> str:
    """`text` with its first letter in capitals and the rest as it is (str.capitalize would write "sigterm")."""
    return text[:1].upper() + text[1:]


def stopped_outcome(signum: int) -> str:
    return report.INTERRUPTED if signum == signal.SIGINT else report.TERMINATED


def stopped_signal(outcome: RunOutcome) -> int:
    """The signal that stopped a run (its exit code is 128 + the signal's number; Ctrl-C if it says nothing)."""
    return ExitCode.signal_of(outcome.exit_code) or signal.SIGINT


def _parameter_named(evalue: str) -> str | None:
    """The parameter a ParameterError's sentence names ("build_id='...' is not valid: ...")."""
    found = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", evalue or "")
    return found.group(1) if found else None


def _not_completed(outcome: str, exit_code: ExitCode, error: str, summary: str,
                   recorded: Mapping[str, Any] | None, fallback_name: str) -> Decision:
    """A run that did not complete: verdict blocked if it was stopped, else fail; a result it
    recorded before that is kept under details."""
    result = {"name": (recorded or {}).get("name") or fallback_name,
              "verdict": "blocked" if outcome in report.STOPPED else "fail",
              "summary": summary, "figures": {}, "details": {"recorded": dict(recorded)} if recorded else {}}
    return Decision(outcome, exit_code, error, result)


def _clean_exit(output: Mapping[str, Any]) -> bool:
    """sys.exit(0) or sys.exit(): the notebook chose to stop there. Papermill's own rule (it then adds
    no error banner); the cells after it do not run, so a result must be recorded before it."""
    return output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0")


def first_error(nb: Any) -> CellError | None:
    """The first cell of an executed notebook that raised (a clean sys.exit is not an error)."""
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        count = cell.get("execution_count")
        for output in outputs:
            if output.get("output_type") == "error" and not _clean_exit(output):
                return CellError(index, count, str(output.get("ename")), str(output.get("evalue")))
        if any(o.get("output_type") == "error" and _clean_exit(o) for o in outputs):
            continue  # papermill flags that cell as an exception too; it is not one
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return CellError(index, count, "CellExecutionError", "the cell failed without an error output")
    return None


@dataclass
class RunOutcome:
    """What `run_notebook` returns, and `run_plan` for each step: the recorded run, as read back."""
    exit_code: int
    outcome: str
    name: str
    verdict: str
    summary: str
    run_dir: Path
    notebook: Path        # the executed notebook
    html: Path | None
    duration_s: float
    step: str | None = None
    message: str | None = None   # the error sentence, when the run did not complete
    meta: dict[str, Any] = field(default_factory=dict, repr=False)   # metadata["runbook"] as written

    @property
    def label(self) -> str:
        return report.outcome_label(self.verdict, self.outcome)

    def index_row(self, folder: Path) -> report.IndexRow:
        """The run's row on the night's index (`folder`: the night), from the record it wrote."""
        return report.row_from_metadata(self.meta, self.notebook, folder)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any], notebook: Path, html: Path | None) -> RunOutcome:
        """From the executed notebook's metadata["runbook"] (masked, as written)."""
        run = report.RunRecord.from_dict(meta.get("run"))
        return cls(exit_code=run.exit_code, outcome=run.outcome, name=str(meta.get("name")),
                   verdict=report.shown_verdict(meta), summary=str(meta.get("summary")), run_dir=notebook.parent,
                   notebook=notebook, html=html, duration_s=run.duration_s or 0.0, step=run.step, message=run.error,
                   meta=dict(meta))
