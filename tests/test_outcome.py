"""How a run ended, decided by one pure function from what happened; and the record it writes."""
from __future__ import annotations

import json

import pytest

from runbook_lib import report
from runbook_lib.exit_codes import ExitCode
from runbook_lib.runner import CellError, decide_outcome

PASSED = {"name": "overview", "verdict": "pass", "summary": "all fine", "figures": {"rows": 3}, "details": {"x": 1}}
VALIDATION = 2


def _decide(**given):
    inputs = {"interrupted": False, "crash": None, "failure": None, "validation_cell": VALIDATION,
              "recorded": PASSED, "fallback_name": "00_pipeline_overview", "duration_s": 12.4}
    return decide_outcome(**{**inputs, **given})


@pytest.mark.parametrize("verdict, exit_code", [
    ("pass", ExitCode.OK), ("warn", ExitCode.OK), ("fail", ExitCode.FAILED), ("blocked", ExitCode.FAILED)])
def test_a_completed_run_exits_by_its_recorded_verdict(verdict, exit_code):
    decision = _decide(recorded={**PASSED, "verdict": verdict})
    assert (decision.outcome, decision.exit_code, decision.error) == (report.COMPLETED, exit_code, None)
    assert decision.result == {**PASSED, "verdict": verdict}


def test_a_run_that_recorded_nothing_is_an_error_not_a_failed_check():
    decision = _decide(recorded=None)
    assert (decision.outcome, decision.exit_code) == (report.NO_RESULT, ExitCode.ERROR)
    assert decision.result["verdict"] == "fail" and decision.result["name"] == "00_pipeline_overview"
    assert "without recording a result" in decision.result["summary"] == decision.error


def test_a_parameter_error_in_the_validation_cell_is_bad_input():
    failure = CellError(VALIDATION, 2, "NotebookParameterError", "phase='phase7' is not valid: choose one of phase3, phase4.")
    decision = _decide(failure=failure, recorded=None)
    assert (decision.outcome, decision.exit_code) == (report.BAD_PARAMETERS, ExitCode.BAD_INPUT)
    assert decision.error == "phase='phase7' is not valid: choose one of phase3, phase4."
    assert decision.result["summary"] == f"bad parameter: {decision.error}"


@pytest.mark.parametrize("failure", [
    CellError(VALIDATION, 2, "NameError", "name 'pp' is not defined"),                # the validation cell broke
    CellError(VALIDATION + 2, 4, "NotebookParameterError", "x=1 is not valid: no."),  # raised later, by the runbook's work
])
def test_any_other_failing_cell_is_an_error_naming_the_cell(failure):
    decision = _decide(failure=failure, recorded=None)
    assert (decision.outcome, decision.exit_code) == (report.ERROR, ExitCode.ERROR)
    assert decision.error == f"error in cell [{failure.execution_count}]: {failure.ename}: {failure.evalue}"


def test_an_error_after_recording_keeps_the_recorded_result_as_details():
    decision = _decide(failure=CellError(5, 5, "RuntimeError", "boom"))
    assert decision.result["name"] == "overview" and decision.result["verdict"] == "fail"
    assert decision.result["details"] == {"recorded": PASSED} and decision.result["figures"] == {}


def test_a_crash_outside_any_cell_comes_before_a_cell_error():
    decision = _decide(crash="DeadKernelError: Kernel died", failure=CellError(3, 3, "RuntimeError", "boom"))
    assert (decision.outcome, decision.exit_code) == (report.ERROR, ExitCode.ERROR)
    assert decision.error == "the run stopped: DeadKernelError: Kernel died"


def test_ctrl_c_comes_first_and_blocks_rather_than_fails():
    decision = _decide(interrupted=True, crash="DeadKernelError: x", failure=CellError(3, 3, "KeyboardInterrupt", ""))
    assert (decision.outcome, decision.exit_code) == (report.INTERRUPTED, ExitCode.INTERRUPTED)
    assert decision.result["verdict"] == "blocked"
    assert decision.error == "interrupted (Ctrl-C) after 12s, before the runbook finished" == decision.result["summary"]


def test_error_texts_are_masked_before_they_are_cut():
    secret = "tok-S3CRET-0a1b2c3d"
    evalue = "x" * 260 + f" auth failed for {secret}"   # one-line cut (300) falls inside the secret
    decision = _decide(failure=CellError(4, 4, "RuntimeError", evalue), secrets=[secret])
    assert decision.error.endswith("auth failed for ***") and secret[:6] not in decision.error
    crash = _decide(crash=f"Timeout\nwhile sending {secret}", secrets=[secret])
    assert crash.error == "the run stopped: Timeout while sending ***"


def test_the_run_record_round_trips_through_notebook_metadata():
    record = report.RunRecord(notebook="notebooks/00.ipynb", step="overview", target="local", parameters={"rows": 4},
                              started="2024-01-15T03:00:00+00:00", duration_s=1.25, outcome=report.ERROR,
                              error="boom", exit_code=ExitCode.ERROR, html="00.html", charts=["figures/a.png"])
    stored = json.loads(json.dumps(record.to_dict()))
    assert stored["exit_code"] == 1 and type(stored["exit_code"]) is int
    assert report.RunRecord.from_dict(stored) == record


def test_a_record_missing_keys_reads_with_defaults():
    record = report.RunRecord.from_dict({"step": "a", "outcome": "not-run", "duration_s": "soon"})
    assert (record.step, record.outcome, record.duration_s, record.charts, record.html) == ("a", "not-run", None, [], None)
    assert record.exit_code == ExitCode.ERROR and report.RunRecord.from_dict(None).outcome == report.COMPLETED
