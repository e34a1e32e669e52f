"""The morning review after a hostile probe (/work/probes/nights): a summary.json whose date cannot exist and a
damaged step record leave that night INCOMPLETE instead of crashing `runbook report` (and every later night's
history); a run's page keeps a notebook's own first cell; an unreadable notebook is one sentence and exit 2;
`runbook report` refuses a night's own folder; a text figure that changes past its cut is a change; a night cut short
lists its steps in the order they ran."""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from runbook_lib import changes, cli, nights
from test_nights import START, _write_night
from test_runner import _only_run_dir


def _three_nights(reports: Path) -> list[nights.Night]:
    return [_write_night(reports, START + timedelta(days=d), [{"step": "a", "verdict": "pass", "figures": {"n": d}}])
            for d in range(3)]


@pytest.mark.parametrize("started", ["2025-02-30T03:00:00+00:00", "2025-03-02T24:00:00+00:00"])
def test_a_summary_naming_a_date_that_cannot_exist_leaves_that_night_incomplete_and_the_others_listed(
        tmp_path, started, capsys):
    reports = tmp_path / "reports"
    first, second, _ = _three_nights(reports)
    summary = second.folder / nights.SUMMARY
    data = json.loads(summary.read_text())
    data["started"] = started
    summary.write_text(json.dumps(data))
    assert not nights.summary_problems(data)                      # the schema checks the shape only
    night = nights.read_night(second.folder)
    assert night.incomplete and "summary.json" in night.incomplete
    assert cli.main(["report", str(reports)]) == 0, capsys.readouterr().err
    assert len(nights.find_nights(reports)) == 3


@pytest.mark.parametrize("field, value", [("exit_code", None), ("started", "yesterday"), ("html", "/tmp/x.html")])
def test_a_damaged_step_record_of_a_night_cut_short_is_an_unreadable_step_not_a_crash(tmp_path, field, value):
    reports = tmp_path / "reports"
    night = _write_night(reports, START, [{"step": "a", "verdict": "pass"}, {"step": "b", "verdict": "pass"}])
    (night.folder / nights.SUMMARY).unlink()
    notebook = night.folder / "b" / "check.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["runbook"]["run"][field] = value
    nbformat.write(nb, notebook)
    read = nights.read_night(night.folder)
    assert [s.step for s in read.steps] == ["a"] and "1 step notebook could not be read" in read.incomplete
    assert nights.rebuild(reports).nights


def test_a_night_cut_short_lists_its_steps_in_the_order_they_ran_whatever_the_files_times(tmp_path):
    reports = tmp_path / "reports"
    night = _write_night(reports, START, [{"step": s, "verdict": "pass"} for s in ("overview", "diagnose", "audit")])
    (night.folder / nights.SUMMARY).unlink()
    for age, step in enumerate(("overview", "diagnose", "audit")):   # copied without times: the last step first
        moment = 1_700_000_000 - 100 * age
        os.utime(night.folder / step / "check.ipynb", (moment, moment))
    assert [s.step for s in nights.read_night(night.folder).steps] == ["overview", "diagnose", "audit"]


def test_report_refuses_a_nights_own_folder_or_a_date_folder_and_names_the_folder_of_nights(tmp_path, capsys):
    reports = tmp_path / "reports"
    night = _three_nights(reports)[0]
    page = (night.folder / nights.INDEX).read_text()
    for inside in (night.folder, night.folder.parent):
        assert cli.main(["report", str(inside)]) == 2
        err = capsys.readouterr().err
        assert "REPORTS_DIR" in err and f"runbook report {reports.resolve()}" in err
    assert (night.folder / nights.INDEX).read_text() == page and not (night.folder.parent / nights.INDEX).exists()


def test_a_text_figure_that_changes_past_its_cut_is_a_change_shown_where_it_parts():
    common = "gs://123456789012.cloudbuild-logs.googleusercontent.com/log-"
    (said,) = changes.figure_changes("log", common + "c3c052da.txt", common + "4fb3fc2d.txt")
    assert "c3c052da" in said and "4fb3fc2d" in said
    assert changes.figure_changes("log", common + "a.txt", common + "a.txt") == []
    assert changes.figure_changes("share", 0.123451, 0.123452) == []       # numbers: compared as shown


@pytest.mark.parametrize("content", ['{"cells": [', "{}"])
def test_an_unreadable_notebook_is_one_sentence_and_exit_2(tmp_path, content, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text(content)
    assert cli.main(["run", str(broken), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "notebook=" in err and "a readable Jupyter notebook" in err and "Traceback" not in err
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"title: Broken\nsteps:\n  - id: a\n    notebook: {broken}\n")
    assert cli.main(["overnight", str(plan), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "step 'a'" in err and "a readable Jupyter notebook" in err and "Traceback" not in err


def test_a_notebooks_own_first_cell_after_the_parameters_is_on_its_page(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("rows = 3", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(f'FINDING: {rows} rows checked')")]
    own = tmp_path / "own.ipynb"
    nbformat.write(nb, own)
    cli.main(["run", str(own), "-o", str(tmp_path / "out")])   # it records no verdict: an error, with its page
    page = (_only_run_dir(tmp_path / "out") / "own.html").read_text()
    assert "FINDING: 3 rows checked" in page     # (the kit's quiet validation cell stays off: test_runner.py)
