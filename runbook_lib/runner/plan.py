"""The overnight plan: load and check a plan completely before anything runs, run its steps in
order, record the steps that did not run, and write the night's index.html and summary.json."""
from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import masking, nights, params, report
from ..checks import SURROGATE_ADVICE, parse_yaml_as_written, unwritable_text
from ..errors import CloudUnreachable, ConfigError, ParameterError, QuotaExceeded, RunbookError
from ..exit_codes import ExitCode
from ..gcp.connect import check_environment
from ..local.state import night_on
from ..phases import PROJECT_ROOT
from ..publish import PublishError, Publisher
from ..unfinished_nights import write_started
from ..target import TARGETS
from .outcome import RunOutcome, said, sentence_start, stopped_outcome, stopped_signal, stopped_text
from .parameters import check_target, validate_step_values, written_values
from .run import check_outdir, execute_runbook, read_notebook, read_record, record_unexecuted, stopped_summary, unique_dir
from .signals import signal_name, signal_of, stopped

_STEP_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class PlanStep(BaseModel):
    # strict: a plan's keys are YAML-typed already, so `allow_changes: 'yes'` or `cell_timeout_seconds: true`
    # is a mistake to say, not a value to convert (to true, and to a one-second limit).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    id: str = Field(pattern=_STEP_ID)
    notebook: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    cell_timeout_seconds: int | None = Field(default=None, gt=0)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    title: str = "Overnight runbooks"
    target: Literal[TARGETS] = "local"
    # A plan that would change a real project (target gcp, a step with dry_run false) must say so up front.
    allow_changes: bool = False
    parameters: dict[str, Any] = Field(default_factory=dict)
    cell_timeout_seconds: int | None = Field(default=None, gt=0)
    steps: list[PlanStep] = Field(min_length=1)


@dataclass
class PlannedStep:
    step: PlanStep
    notebook: Path
    values: dict[str, Any]
    nb: Any = field(default=None, repr=False)   # the notebook as load_plan parsed it (the run parses it no more)


@dataclass
class LoadedPlan:
    path: Path
    plan: Plan
    target: str
    steps: list[PlannedStep]


@dataclass
class PlanOutcome:
    exit_code: int
    folder: Path
    index: Path
    steps: list[RunOutcome] = field(default_factory=list)
    published: str | None = None      # the night page's gs:// URL, when the night was published


# ---------------------------------------------------------------------------------------------
# Loading: everything is checked before the night starts

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
    try:
        data, written = parse_yaml_as_written(path)
    except FileNotFoundError:
        raise ConfigError(f"{plan_path}: the plan file does not exist.") from None
    except ParameterError as exc:   # a path the filesystem refuses
        raise ConfigError(f"{plan_path}: {exc.allowed}.") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a plan is a mapping with title, target, parameters and steps.")
    unwritable = unwritable_text(data)
    if unwritable is not None:
        where, character = unwritable
        raise ConfigError(f"{path}: {_where(data, where)} holds {character}, which cannot be written as UTF-8: "
                          f"{SURROGATE_ADVICE}.")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        # A misspelt key explains the "missing" error it causes, so report it first.
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = _where(data, error["loc"])
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"{path}: {where} is not a plan key (steps take id, notebook, parameters, depends_on, "
                              f"cell_timeout_seconds; the plan takes title, target, allow_changes, parameters, "
                              f"cell_timeout_seconds, steps).") from None
        raise ConfigError(f"{path}: {where}: {error['msg']}.") from None
    check_target(target)
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
        try:
            nb = read_notebook(notebook)
        except ParameterError as exc:
            raise ConfigError(f"{path}: step {step.id!r}: {exc}") from None
        declared = params.declared_parameters(nb)
        raw = {**plan.parameters, **step.parameters}
        texts = {**_written(written, "parameters"), **_written(_written_step(written, step.id), "parameters")}
        try:
            values = written_values(notebook, declared, raw, texts)
            if "target" in declared:
                values["target"] = chosen_target
            validate_step_values(nb, notebook, values)
        except ParameterError as exc:
            raise ConfigError(f"{path}: step {step.id!r}: {exc}") from None
        planned.append(PlannedStep(step, notebook, values, nb))
        _refuse_unallowed_changes(path, plan, chosen_target, step.id, declared, values)
    return LoadedPlan(path, plan, chosen_target, planned)


def _written(data: Any, key: str) -> dict[str, Any]:
    """data[key] of the plan as written (every scalar as text), {} when it is not a mapping."""
    found = data.get(key) if isinstance(data, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def _written_step(data: Any, step_id: str) -> Mapping[str, Any]:
    steps = data.get("steps") if isinstance(data, Mapping) else None
    return next((s for s in steps or [] if isinstance(s, Mapping) and s.get("id") == step_id), {})


def changes_things(declared: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Does a step run for real: its notebook takes dry_run, and the step's value (else the notebook's
    default) is anything but true? (0, "no" or None may well be read as false by a notebook whose own
    model is not the kit's: only a dry run that says true is sure to change nothing.)"""
    if "dry_run" not in declared:
        return False
    return values.get("dry_run", declared["dry_run"].default) is not True


def _refuse_unallowed_changes(path: Path, plan: Plan, target: str, step_id: str, declared: Mapping[str, Any],
                              values: Mapping[str, Any]) -> None:
    if target == "gcp" and not plan.allow_changes and changes_things(declared, values):
        project = values.get("project") or "the project in params/phases.yaml"
        raise ConfigError(f"{path}: step {step_id!r} runs with dry_run false on target gcp, which changes "
                          f"{project}; a plan that changes a real project must say allow_changes: true at its top.")


# ---------------------------------------------------------------------------------------------
# The night

def plan_exit_code(step_codes: Sequence[int]) -> ExitCode:
    """143 if SIGTERM stopped a step, 129 if SIGHUP did, 130 if Ctrl-C did, else 1 if any step errored or
    had bad parameters, else 3 if any failed or was blocked, else 0."""
    codes = set(step_codes)
    for stopped_code in (ExitCode.TERMINATED, ExitCode.HUNG_UP, ExitCode.INTERRUPTED):
        if stopped_code in codes:
            return stopped_code
    if codes & {ExitCode.ERROR, ExitCode.BAD_INPUT}:
        return ExitCode.ERROR
    return ExitCode.FAILED if ExitCode.FAILED in codes else ExitCode.OK


def record_without_running(planned: PlannedStep, run_dir: Path, loaded: LoadedPlan, *, verdict: str, outcome: str,
                           summary: str, error: str | None, exit_code: int) -> RunOutcome:
    """Record a step that did not run (blocked, not run after Ctrl-C, or the runner itself broke)."""
    return record_unexecuted(planned.notebook, planned.values, run_dir, loaded.target, step=planned.step.id,
                             plan=loaded.plan.title,
                             verdict=verdict, outcome=outcome, summary=summary, error=error, exit_code=exit_code)


def _record_without_running_safely(planned: PlannedStep, run_dir: Path, loaded: LoadedPlan, **record: Any) -> RunOutcome:
    """record_without_running, and without the step's values if those cannot be written (the runner may
    have failed on them): the night must still show the step."""
    try:
        return record_without_running(planned, run_dir, loaded, **record)
    except Exception:
        return record_without_running(dataclasses.replace(planned, values={}), run_dir, loaded, **record)


def run_plan(plan_path: str | Path, outdir: str | Path | None = None, target: str | None = None,
             progress: bool = False, publisher: Publisher | None = None) -> PlanOutcome:
    """`runbook overnight`: run every step in order (a step whose dependency did not end pass/warn
    is recorded as blocked), then write index.html and summary.json beside the runs, and the
    reports folder's index.html of every night (runbook_lib.nights).
    Exit code: 1 if any step errored or had bad parameters, else 3 if any failed or was blocked, else 0.
    On Ctrl-C the current step is recorded "interrupted", every later one "not run", the index and
    summary.json are written all the same, and KeyboardInterrupt is re-raised (the CLI exits 130);
    SIGTERM and SIGHUP (raised as signals.Terminated) are handled the same way, recorded "terminated"
    (143, 129); a stopped night exits so even when its record could not be written (said as well). An
    exception the runner did not plan for (a bug in the kit) cuts the night short the same
    way: the step it broke in is recorded ERROR, the later ones "not run", and the night exits 1.
    `publisher` (runbook_lib.publish, `--publish gs://...`): the earlier nights' summaries are fetched
    before the night (a missing or refused bucket stops here; a failing one only costs the comparison) and
    the night is published after it, also when it was stopped; a night that could not be published exits 1,
    its pages still on disk."""
    loaded = load_plan(plan_path, target)
    if any(s.values.get("target") == "gcp" for s in loaded.steps):
        check_environment()   # once, before the night, not once per step
    reports_dir = check_outdir(outdir)
    if publisher is not None:
        _fetch_history(publisher, reports_dir)
    started = datetime.now().astimezone()
    with ExitStack() as sandboxes:
        for home in _sandboxes_of(loaded):
            sandboxes.enter_context(night_on(home, {"pid": os.getpid(), "plan": loaded.plan.title,
                                                    "started": f"{started:%Y-%m-%d %H:%M:%S %z}",
                                                    "reports": str(reports_dir)}))
        return _run_night(loaded, reports_dir, started, progress, publisher)


def _sandboxes_of(loaded: LoadedPlan) -> list:
    """The sandboxes the night's steps on target local use (a runbook that takes sandbox_home), each once."""
    from ..local.home import sandbox_home

    homes = [sandbox_home(s.values.get("sandbox_home")) for s in loaded.steps
             if s.values.get("target") == "local" and "sandbox_home" in params.declared_parameters(s.nb)]
    return list({home.root: home for home in homes}.values())


def _run_night(loaded: LoadedPlan, reports_dir: Path, started: datetime, progress: bool,
               publisher: Publisher | None) -> PlanOutcome:
    folder = unique_dir(reports_dir / f"{started:%Y-%m-%d}" / f"overnight-{started:%H%M%S}")
    write_started(folder, loaded.plan.title, loaded.target, started, [s.step.id for s in loaded.steps])
    total = len(loaded.steps)
    print(f"Overnight plan {loaded.path} ({total} runbooks, target {loaded.target}) -> {folder}", flush=True)
    outcomes: dict[str, RunOutcome] = {}
    interrupted_at: str | None = None
    stop: KeyboardInterrupt | None = None   # Ctrl-C, SIGTERM or SIGHUP; None when the runner itself failed
    failure: Exception | None = None
    try:
        try:
            for number, planned in enumerate(loaded.steps, 1):
                outcome = _run_step(planned, folder, loaded, outcomes, number, total, progress)
                outcomes[planned.step.id] = outcome
                print(f"{outcome.label} ({outcome.duration_s:.1f}s) {outcome.summary}", flush=True)
                if outcome.outcome in report.STOPPED:
                    raise stopped(stopped_signal(outcome))
        except KeyboardInterrupt as exc:
            stop, signum = exc, signal_of(exc)
            interrupted_at = _record_the_rest(loaded, folder, outcomes, signum)
            if interrupted_at is not None:
                print(f"\n{sentence_start(stopped_text(signum))} during step {interrupted_at}; "
                      "the steps after it were not run.", flush=True)
            raise
        except Exception as exc:  # a bug in the kit: the night is cut short, never recorded as finished
            failure = exc
            # Known before anything is recorded, so that a record failing as well still leaves the night cut short.
            interrupted_at = next((s.step.id for s in loaded.steps if s.step.id not in outcomes), None)
            _record_the_rest(loaded, folder, outcomes, exc)
    finally:
        # Whatever happened, the morning has a page: every step so far, in plan order.
        # (from the records the steps returned: the step notebooks are not read again)
        rows = [outcomes[s.step.id].index_row(folder) for s in loaded.steps
                if s.step.id in outcomes and outcomes[s.step.id].notebook.exists()]
        try:
            night = nights.write_night(folder, rows, loaded.plan.title, loaded.target, started,
                                       datetime.now().astimezone(), interrupted_at=interrupted_at,
                                       interrupted_by=signal_name(signal_of(stop)) if stop else None)
        except OSError as exc:   # a full disk: said as the night's own loss, not as a file nobody named
            lost = NightNotRecorded.of(folder, exc)
            if stop is None:
                raise lost from exc
            # Stopped as well: said, and the stop still decides the exit code (130, 143), as a caller's
            # `timeout` or job runner reads it.
            print(f"error: {lost}", file=sys.stderr, flush=True)
            raise stop from lost
        print(f"Morning-review report: {night.index.resolve()}", flush=True)
        print(f"Every night: {(folder.parent.parent / nights.INDEX).resolve()}", flush=True)
        published = _publish(publisher, folder) if publisher is not None else None
    exit_code = plan_exit_code([o.exit_code for o in outcomes.values()])
    if failure is not None:
        _say_the_runner_failed(failure, interrupted_at)
        exit_code = ExitCode.ERROR
    if publisher is not None and published is None:
        exit_code = ExitCode.ERROR
    return PlanOutcome(exit_code, folder, night.index, list(outcomes.values()), published)


class NightNotRecorded(RunbookError):
    """The end of a night that could not write its summary.json or page (a full disk, a folder made read-only)."""

    @classmethod
    def of(cls, folder: Path, exc: OSError) -> "NightNotRecorded":
        rebuild = f"`runbook report {shlex.quote(str(folder.parent.parent))}`"
        if (folder / nights.SUMMARY).is_file():   # written whole or not at all: then only the page failed
            return cls(f"the night's page could not be written to {folder}: {exc.strerror or exc}; its "
                       f"{nights.SUMMARY} was, and {rebuild} writes the page once there is room.")
        return cls(f"the night's {nights.SUMMARY} and page could not be written to {folder}: {exc.strerror or exc}; "
                   f"its step folders keep what ran, and {rebuild} lists it as INCOMPLETE once there is room.")


def _fetch_history(publisher: Publisher, reports_dir: Path) -> None:
    """The earlier nights' summaries from the bucket (publisher.history_read says whether every one was read). A
    bucket that is missing or refused stops here, before the night (the night could not be published either);
    Cloud Storage failing for a while (no answer, 5xx or a quota, after the call policy's retries) does not: the
    night is worth more than its comparison, and _publish then leaves the bucket's reports index as it was."""
    try:
        copied = publisher.fetch_history(reports_dir)
    except (PublishError, CloudUnreachable, QuotaExceeded) as exc:
        print(f"warning: the earlier nights in {publisher.destination.url} could not be read, so this night "
              f"runs without them and its page compares only with nights in {reports_dir}: {exc}",
              file=sys.stderr, flush=True)
        return
    print(f"Earlier nights from {publisher.destination.url}: {copied} fetched", flush=True)


def _publish(publisher: Publisher, folder: Path) -> str | None:
    """Publish the night; its URL, or None after saying in one sentence why it could not be. A night whose
    earlier nights could not be read is published without replacing the reports index, which is said: exit 0
    all the same, as that only costs the night its comparison and, until the next night, its line on the index."""
    try:
        url = publisher.publish(folder)
    except RunbookError as exc:
        print(f"error: the night was not published: {exc}", file=sys.stderr, flush=True)
        return None
    print(f"Published: {url}", flush=True)
    if not publisher.history_read:
        print(f"warning: {publisher.index_url} was left as it was, since a list of the nights this container "
              "has would drop the earlier nights it could not read; the next night that reads them lists this one",
              file=sys.stderr, flush=True)
    return url


def _run_step(planned: PlannedStep, folder: Path, loaded: LoadedPlan, outcomes: Mapping[str, RunOutcome],
              number: int, total: int, progress: bool) -> RunOutcome:
    step = planned.step
    print(f"[{number}/{total}] {step.id} ... ", end="", flush=True)
    run_dir = folder / step.id
    not_passed = [d for d in step.depends_on if outcomes[d].exit_code != ExitCode.OK]
    if not_passed:
        reason = "; ".join(f"depends on {d}, which ended {outcomes[d].label}" for d in not_passed)
        return record_without_running(planned, run_dir, loaded, verdict="blocked",
                                      outcome=report.BLOCKED, summary=f"not run: {reason}",
                                      error=None, exit_code=ExitCode.FAILED)
    try:
        return execute_runbook(planned.notebook, planned.values, run_dir, step=step.id, plan=loaded.plan.title,
                               target=loaded.target, progress=progress,
                               cell_timeout=step.cell_timeout_seconds or loaded.plan.cell_timeout_seconds,
                               nb=planned.nb)
    except Exception as exc:  # one broken step must not lose the night's other results
        return _record_without_running_safely(planned, run_dir, loaded,
                                              **_failed_record(_runner_failed(exc, planned)))


def _runner_failed(exc: Exception, planned: PlannedStep) -> str:
    return f"the runner failed: {type(exc).__name__}: {said(exc, masking.secret_values(planned.values))}"


def _failed_record(message: str) -> dict[str, Any]:
    """How a step the runner failed in is recorded (record_without_running's arguments)."""
    return {"verdict": "fail", "outcome": report.ERROR, "summary": message, "error": message, "exit_code": ExitCode.ERROR}


def _say_the_runner_failed(exc: Exception, step_id: str | None) -> None:
    """One sentence, then the traceback: an exception nobody planned for is a bug in the kit."""
    where = f" during step {step_id}; the steps after it were not run" if step_id else " after the last step"
    print(f"error: the runner itself failed{where} ({type(exc).__name__}: {said(exc)}). This is a bug in the "
          "kit; the night's page and summary.json are written. The traceback:", file=sys.stderr, flush=True)
    traceback.print_exception(exc, file=sys.stderr)


def _written_record(written: Path) -> RunOutcome | None:
    """The record a step wrote before the runner took its outcome; None if there is none, or it was cut
    short while being written."""
    if not written.exists():
        return None
    try:
        return read_record(written)
    except Exception:
        return None


def _record_the_rest(loaded: LoadedPlan, folder: Path, outcomes: dict[str, RunOutcome],
                     cause: int | Exception) -> str | None:
    """Record the step a night cut short stopped in (unless it left its own record) and every later step as
    not run; return the id of the step it stopped in (None if every step had already ended). `cause`: the
    signal that stopped the night (its number: Ctrl-C, SIGTERM, SIGHUP), or the exception the runner itself
    failed with. A signal comes from outside at any moment: a step it stopped recorded itself so, and a step
    that wrote its whole record before it came (the runner had not taken its outcome yet) had finished, so
    the night stopped in the step after it. The runner fails while it handles a step: the night stopped in
    that step, whatever the step wrote."""
    by_signal = not isinstance(cause, Exception)
    stopped = report.STOPPED if by_signal else ()
    remaining = [s for s in loaded.steps if s.step.id not in outcomes or outcomes[s.step.id].outcome in stopped]
    if remaining and remaining[0].step.id not in outcomes:
        first = remaining[0]
        written = _written_record(folder / first.step.id / first.notebook.name)
        if written is not None:
            outcomes[first.step.id] = written
            if by_signal and written.outcome not in report.STOPPED:
                remaining = remaining[1:]
    if not remaining:
        return None
    current = remaining[0]
    if isinstance(cause, Exception):
        record = _failed_record(_runner_failed(cause, current))
        not_run = f"not run: the runner failed during step {current.step.id}"
    else:
        record = {"verdict": "blocked", "outcome": stopped_outcome(cause), "summary": stopped_summary(cause),
                  "error": None, "exit_code": ExitCode.for_signal(cause)}
        not_run = f"not run: the night was {stopped_text(cause)} during step {current.step.id}"
    for planned in remaining:
        step_id = planned.step.id
        if step_id in outcomes:
            continue  # the stopped run recorded itself, with its outputs so far
        run_dir = folder / step_id
        if planned is current:
            outcomes[step_id] = _record_without_running_safely(planned, run_dir, loaded, **record)
        else:
            outcomes[step_id] = _record_without_running_safely(
                planned, run_dir, loaded, verdict="blocked", outcome=report.NOT_RUN, summary=not_run, error=None,
                exit_code=record["exit_code"])
    return current.step.id
