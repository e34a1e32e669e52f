"""Run runbooks headlessly with papermill: one notebook (`runbook run`), a plan of them overnight
(`runbook overnight`), and JupyterLab on the same notebooks (`runbook lab`).

    kernel.py      the kernelspec, the kernel's environment, `runbook lab`
    parameters.py  -p/-f values resolved and typed, names checked, plan values validated
    outcome.py     how a run ended (`decide_outcome`, pure) and what a run returns
    run.py         one run: execute, decide, write the masked record and its page
    plan.py        the overnight plan: load and check, run, record steps that did not run
    signals.py     SIGTERM and SIGHUP raised as Terminated (a KeyboardInterrupt), so they unwind as Ctrl-C does

Exit codes (runbook_lib.exit_codes.ExitCode; `.exit_code` of what run_notebook/run_plan return):
  0  verdict pass or warn (a cell may end the run early with sys.exit(0), as papermill allows)
  2  bad parameters. `run`: unknown names are refused before anything runs; bad values stop the
     notebook in its validation cell (the first code cell after the parameters), before any work.
     `overnight`: the whole plan is checked before anything runs: every step's names, and its values
     too when the validation cell names a model of runbook_lib.params (every runbook of the kit);
     a value only the notebook itself can judge (a model of its own) stops that step in its
     validation cell, is recorded as BAD PARAMETERS and makes the night exit 1. A plan that would
     change a real project (target gcp and a step whose dry_run is false) is refused unless it says
     `allow_changes: true` at its top.
     A ParameterError naming one of the notebook's parameters raised by a later cell (the runbook
     found the value wrong when it used it: a build id that does not exist) is bad parameters too.
     Missing Google Cloud credentials for target=gcp are refused before anything runs (once a night).
  3  verdict fail or blocked
  1  any other error: a cell raised (papermill's failing-cell banner stays in the notebook), the
     kernel died, a cell outlived the cell timeout, or the notebook finished without calling
     `report.record(...)` (recorded as verdict fail, outcome "no-result": a runbook that says
     nothing is a broken runbook, not a failed check)
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 (SIGHUP; both raised as signals.Terminated while
     the CLI runs):
     the interruption is re-raised after the records are written. The stopped run is recorded in
     its folder (outcome "interrupted" or "terminated", verdict blocked, the outputs so far);
     overnight also records every later step as "not run" and writes index.html and summary.json
     before stopping. Either way the sandbox services the run's kernel started are stopped.

Papermill's executed notebook, unmasked, is kept in this process's memory only (never on disk); a
cell may run for the notebook's own limit (metadata["runbook_settings"]["cell_timeout_seconds"]),
else DEFAULT_CELL_TIMEOUT_S, unless the caller or the plan says otherwise.

Each run writes `<stem>.ipynb` (executed, secrets masked, result and report.RunRecord in
metadata["runbook"]), `<stem>.html` (outputs only) and `figures/*.png` (charts saved by
`charts.show`) into its folder: `<outdir or reports>/<YYYY-MM-DD>/<HHMMSS>-<stem>/` for `run`, and
`<outdir or reports>/<YYYY-MM-DD>/overnight-<HHMMSS>/<step id>/` for a plan, beside the plan's
`index.html` and `summary.json`.
"""
from __future__ import annotations

from ..charts import RUN_DIR_ENV
from ..phases import PROJECT_ROOT
from .kernel import KERNEL_NAME, NOTEBOOKS_DIR, ensure_kernelspec, kernel_environment, kernel_spec, lab_command, open_lab
from .outcome import CellError, Decision, RunOutcome, decide_outcome, first_error
from .parameters import (PATH_SUFFIXES, absolute_paths, check_declared, coerce_cli_value, load_parameter_file,
                         resolve_parameters, validate_step_values, validation_cell_index, validation_model)
from .plan import (LoadedPlan, Plan, PlanOutcome, PlannedStep, PlanStep, load_plan, plan_exit_code,
                   record_without_running, run_plan)
from .run import (DEFAULT_CELL_TIMEOUT_S, DEFAULT_REPORTS, SETTINGS_KEY, cell_timeout_for, check_outdir,
                  describe_parameters, execute_runbook, read_record, record_unexecuted, run_notebook, unique_dir)
from .signals import Terminated, sigterm_as_exception

__all__ = [
    "RUN_DIR_ENV", "PROJECT_ROOT",
    "KERNEL_NAME", "NOTEBOOKS_DIR", "ensure_kernelspec", "kernel_environment", "kernel_spec", "lab_command", "open_lab",
    "CellError", "Decision", "RunOutcome", "decide_outcome", "first_error",
    "PATH_SUFFIXES", "absolute_paths", "check_declared", "coerce_cli_value", "load_parameter_file",
    "resolve_parameters", "validate_step_values", "validation_cell_index", "validation_model",
    "LoadedPlan", "Plan", "PlanOutcome", "PlannedStep", "PlanStep", "load_plan", "plan_exit_code",
    "record_without_running", "run_plan",
    "DEFAULT_CELL_TIMEOUT_S", "DEFAULT_REPORTS", "SETTINGS_KEY", "cell_timeout_for", "check_outdir",
    "describe_parameters", "execute_runbook", "read_record", "record_unexecuted", "run_notebook", "unique_dir",
    "Terminated", "sigterm_as_exception",
]
