"""The morning review across nights: two real overnight runs compared, the list of every night,
summary.json against its schema, `runbook report` after nights were copied, cut short or deleted,
and the pages looked at in a real browser (headless Chromium, when installed)."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from conftest import once_per_test_run
from runbook_lib import changes, cli, nights, report, runner, unfinished_nights

NOTEBOOKS = Path(__file__).parent / "notebooks"
OVERVIEW = runner.PROJECT_ROOT / "notebooks" / "00_pipeline_overview.ipynb"

# The fixture check and one real runbook; the second night's check passes where the first failed.
PLAN = """
title: Two nights
target: local
steps:
  - id: check
    notebook: {example}
    parameters: {{rows: {rows}, verdict: {verdict}, chart: {chart}}}
  - id: overview
    notebook: {overview}
    parameters: {{sandbox_home: {sandbox}}}
"""


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory, sandbox_home):
    return once_per_test_run(tmp_path_factory, "two-nights",
                             lambda: _two_nights(tmp_path_factory.mktemp("two-nights"), sandbox_home))


def _two_nights(base: Path, sandbox_home: Path):
    outcomes = []
    for rows, verdict, chart in ((1000, "fail", "false"), (4, "pass", "true")):
        plan = base / f"{verdict}.yaml"
        plan.write_text(PLAN.format(example=NOTEBOOKS / "example.ipynb", rows=rows, verdict=verdict, chart=chart,
                                    overview=OVERVIEW, sandbox=sandbox_home))
        outcomes.append(runner.run_plan(plan, outdir=base / "reports"))
    return base / "reports", outcomes


def _text(fragment: str) -> str:
    """The text a reader sees: cells, lines and items apart, inline tags (links, badges) joined."""
    spaced = re.sub(r"<(br|/?t[dhr]|/?div|/?li|/?span)\b[^>]*>", " ", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", spaced)).split())


def _section(page: str, start: str, end: str = "<h2") -> str:
    after = page.split(start, 1)[1]
    return after.split(end, 1)[0]


def _items(fragment: str) -> list[str]:
    return [_text(li) for li in re.findall(r"<li\b[^>]*>(.*?)</li>", fragment, re.DOTALL)]


def _night_rows(index_page: str) -> list[list[str]]:
    """Cells (as raw HTML) of each row of the list of nights."""
    body = _section(index_page, "<tbody>", "</tbody>")
    return [re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.DOTALL) for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)]


def _hrefs(fragment: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', fragment)]


def test_the_list_of_nights_has_both_newest_first(two_nights):
    reports, (first, second) = two_nights
    page = (reports / "index.html").read_text(encoding="utf-8")
    rows = _night_rows(page)
    assert len(rows) == 2
    assert [_hrefs(row[0])[0] for row in rows] == [
        second.index.relative_to(reports).as_posix(), first.index.relative_to(reports).as_posix()]
    newest, oldest = rows
    assert _text(newest[2]) == "1 pass 1 fail" and _text(oldest[2]) == "2 fail"
    # The first failure links to that step's page; the night before had the fixture check failing first.
    assert _text(oldest[3]).startswith("check FAIL 1000 rows checked")
    assert _text(newest[3]).startswith("overview FAIL")
    assert all((reports / h).is_file() for row in rows for h in _hrefs("".join(row)))
    assert _items(newest[4]) == ["check: now PASS (was FAIL)", "check: rows 1,000 -> 4", "check: verdict asked: fail -> pass"]
    assert _text(oldest[4]) == "first night of this plan here"


def test_the_second_nights_page_says_what_changed_verdicts_first(two_nights):
    _, (first, second) = two_nights
    page = second.index.read_text(encoding="utf-8")
    changed = _items(_section(page, '<h2 id="changes">'))
    assert changed == ["check: now PASS (was FAIL)", "check: rows 1,000 -> 4", "check: verdict asked: fail -> pass"]
    assert '<li class="change-verdict"><a href="#step-1">check</a>' in page
    # The real runbook found the same incident both nights: nothing about it is news.
    assert not any(item.startswith("overview") for item in changed)
    nav = _hrefs(page.split("<h1>", 1)[0])
    assert nav == ["../../index.html", "../" + "/".join(first.index.parts[-3:-1]) + "/index.html"
                   if first.folder.parent != second.folder.parent else f"../{first.folder.name}/index.html"]


def test_the_first_nights_page_has_nothing_to_compare(two_nights):
    _, (first, _) = two_nights
    page = first.index.read_text(encoding="utf-8")
    assert "The first night of this plan in this reports folder: nothing to compare with yet." in page
    assert "Each step over the last nights" not in page


def test_each_step_shows_its_verdict_and_figures_on_the_nights_before(two_nights):
    _, (first, second) = two_nights
    page = second.index.read_text(encoding="utf-8")
    check = _section(page, '<section id="step-1"', "</section>")
    verdicts = re.search(r"<tr><th>verdict</th>(.*?)</tr>", check, re.DOTALL).group(1)
    assert _text(verdicts) == "FAIL PASS"
    assert [(second.folder / h).resolve() for h in _hrefs(verdicts)] == [
        (night.folder / "check" / "example.html").resolve() for night in (first, second)]
    rows = re.search(r"<tr><th>rows</th>(.*?)</tr>", check, re.DOTALL).group(1)
    assert _text(rows).startswith("1,000 4") and "<svg" in rows and 'aria-label="rows: 1,000, 4 (oldest first)"' in rows
    asked = re.search(r"<tr><th>verdict asked</th>(.*?)</tr>", check, re.DOTALL).group(1)
    assert _text(asked) == "fail pass" and "<svg" not in asked   # text gets no chart
    # The real runbook's numeric figures get a trend over both nights, flat here.
    overview = _section(page, '<section id="step-2"', "</section>")
    assert "production rows" in overview and overview.count("<svg") >= 1
    # The runs table shows the step's earlier verdicts as a strip, oldest first.
    strip = re.search(r'<div class="strip"[^>]*>(.*?)</div>', page, re.DOTALL).group(1)
    assert re.findall(r'title="[^"]*: (\w+)"', strip) == ["FAIL", "PASS"]


def test_every_nights_summary_matches_the_schema_and_records_the_plan(two_nights):
    _, outcomes = two_nights
    for outcome in outcomes:
        summary = json.loads((outcome.folder / nights.SUMMARY).read_text())
        assert nights.summary_problems(summary) == []
        assert summary["title"] == "Two nights"
        for step in summary["steps"]:
            meta = nbformat.read(outcome.folder / step["notebook"], as_version=4).metadata["runbook"]
            assert meta["run"]["plan"] == "Two nights"


@pytest.mark.parametrize("change, problem", [
    (lambda s: s.pop("counts"), "the top level: 'counts' is a required property"),
    (lambda s: s["steps"][0].update(verdict="great"), "steps/0/verdict: 'great' is not one of"),
    (lambda s: s["steps"][0].update(html="/home/me/reports/x.html"), "steps/0/html"),
    (lambda s: s["steps"][0].update(notebook="../elsewhere/x.ipynb"), "steps/0/notebook"),
    (lambda s: s["steps"][0]["charts"].append("https://example.com/x.png"), "steps/0/charts/0"),
    (lambda s: s.update(started="yesterday"), "started: 'yesterday' does not match"),
    (lambda s: s.update(extra=1), "Additional properties are not allowed ('extra' was unexpected)"),
])
def test_the_schema_refuses_what_would_break_a_copied_night(two_nights, change, problem):
    _, (_, second) = two_nights
    summary = json.loads((second.folder / nights.SUMMARY).read_text())
    summary["steps"][0]["charts"] = []
    change(summary)
    problems = nights.summary_problems(summary)
    assert problems and any(problem in p for p in problems), problems


def _copy_reports(reports: Path, to: Path) -> Path:
    shutil.copytree(reports, to)
    return to


def _links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    for link in _hrefs(text) + [html.unescape(s) for s in re.findall(r'src="([^"]*)"', text)]:
        parsed = urlparse(link)
        assert not parsed.scheme and not parsed.netloc and not link.startswith("/"), link
        if not parsed.path:
            assert parsed.fragment in ids, link
            continue
        target = page.parent / unquote(parsed.path)
        assert target.is_file(), (page, link)
        if parsed.fragment:
            assert f'id="{parsed.fragment}"' in target.read_text(encoding="utf-8"), (page, link)


def test_runbook_report_rebuilds_a_copied_folder_with_a_night_cut_short(two_nights, tmp_path, capsys):
    reports, (first, second) = two_nights
    copied = _copy_reports(reports, tmp_path / "elsewhere")
    cut_short = copied / second.folder.relative_to(reports)
    (cut_short / nights.SUMMARY).unlink()
    (cut_short / nights.INDEX).unlink()
    (copied / nights.INDEX).unlink()
    assert cli.main(["report", str(copied)]) == 0
    out = capsys.readouterr().out
    assert f"incomplete: {cut_short}: it has no summary.json" in out and "Rebuilt 2 night pages" in out
    rows = _night_rows((copied / nights.INDEX).read_text(encoding="utf-8"))
    assert len(rows) == 2 and "INCOMPLETE" in rows[0][0] and "INCOMPLETE" not in rows[1][0]
    # Listed from its notebooks, still compared with the night before (the plan's title is in each record).
    page = (cut_short / nights.INDEX).read_text(encoding="utf-8")
    assert "<b>Incomplete:</b> it has no summary.json" in page
    assert _items(_section(page, '<h2 id="changes">'))[0] == "check: now PASS (was FAIL)"
    assert not (cut_short / nights.SUMMARY).exists()   # summary.json is the runner's record of a finished night
    for night_page in [copied / nights.INDEX, *copied.glob("*/overnight-*/index.html")]:
        _links_resolve(night_page)


def test_runbook_report_after_a_night_was_deleted(two_nights, tmp_path):
    reports, (first, second) = two_nights
    copied = _copy_reports(reports, tmp_path / "copy")
    shutil.rmtree(copied / first.folder.relative_to(reports))
    assert cli.main(["report", str(copied)]) == 0
    index = (copied / nights.INDEX).read_text(encoding="utf-8")
    assert len(_night_rows(index)) == 1 and first.folder.name not in index
    page = (copied / second.folder.relative_to(reports) / nights.INDEX).read_text(encoding="utf-8")
    assert "The first night of this plan in this reports folder" in page and first.folder.name not in page
    _links_resolve(copied / nights.INDEX)


@pytest.mark.parametrize("args, message", [
    (["report", "no/such/folder"], "REPORTS_DIR='no/such/folder' is not valid: an existing folder of nights"),
    (["report", ".", "--nights", "-1"], "--nights=-1 is not valid"),
])
def test_runbook_report_refuses_bad_input_in_one_sentence(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_an_empty_reports_folder_gets_a_page_saying_so(tmp_path):
    assert cli.main(["report", str(tmp_path)]) == 0
    assert "No nights yet" in (tmp_path / nights.INDEX).read_text()


# ---------------------------------------------------------------------------------------------
# Nights written without running anything: many nights, other plans, long texts

def _png(path: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, np.linspace(0, 1, 40 * 60).reshape(40, 60))


def _write_night(reports: Path, started: datetime, steps: list[dict], title: str = "Synthetic",
                 target: str = "local", folder_name: str | None = None) -> nights.Night:
    """A night recorded as the runner records one (step notebooks with metadata["runbook"], run
    pages, charts), then written with nights.write_night; steps: dicts of step, verdict, figures,
    and optionally label/outcome, summary, chart."""
    folder = reports / f"{started:%Y-%m-%d}" / (folder_name or f"overnight-{started:%H%M%S}")
    notebooks = []
    for number, step in enumerate(steps):
        run_dir = folder / step["step"]
        run_dir.mkdir(parents=True)
        charts = []
        if step.get("chart"):
            _png(run_dir / "figures" / "trend.png")
            charts = ["figures/trend.png"]
        nb = nbformat.v4.new_notebook()
        nb.metadata["runbook"] = {
            "name": step.get("name", "synthetic check"), "verdict": step["verdict"],
            "summary": step.get("summary", f"{step['verdict']} on {started:%Y-%m-%d}"),
            "figures": step.get("figures", {}), "details": {},
            "run": {"step": step["step"], "plan": title, "target": target, "outcome": step.get("outcome", "completed"),
                    "started": (started + timedelta(minutes=number)).isoformat(timespec="seconds"),
                    "duration_s": 1.5, "exit_code": 0, "html": "check.html", "charts": charts}}
        (run_dir / "check.html").write_text("<p>run page</p>")
        nbformat.write(nb, run_dir / "check.ipynb")
        notebooks.append(run_dir / "check.ipynb")
    rows = [report.read_row(nb, folder) for nb in notebooks]
    return nights.write_night(folder, rows, title, target, started, started + timedelta(minutes=len(steps)))


START = datetime(2025, 3, 1, 3, 0, tzinfo=timezone(timedelta(hours=-8)))


def test_a_night_shows_the_last_seven_nights_by_default_and_report_takes_another_number(tmp_path):
    reports = tmp_path / "reports"
    for day in range(10):
        _write_night(reports, START + timedelta(days=day), [{"step": "a", "verdict": "pass", "figures": {"rows": day * 100}}])
    newest = reports / "2025-03-10" / "overnight-030000" / nights.INDEX
    history = _section(newest.read_text(), '<section id="step-1"', "</section>")
    heads = re.findall(r"<th>(.*?)</th>", re.search(r"<thead>(.*?)</thead>", history, re.DOTALL).group(1), re.DOTALL)
    assert [_text(h) for h in heads] == ["night"] + [f"2025-03-{d:02d} 03:00:00 -08:00" for d in range(3, 10)] + ["this night", "trend"]
    assert 'aria-label="rows: 200, 300, 400, 500, 600, 700, 800, 900 (oldest first)"' in history
    assert len(_night_rows((reports / nights.INDEX).read_text())) == 10
    nights.rebuild(reports, history=2)
    history = _section(newest.read_text(), '<section id="step-1"', "</section>")
    assert history.count("<col>") == 3


def test_nights_compare_only_with_nights_of_the_same_plan(tmp_path):
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "fail"}], title="Sandbox")
    _write_night(reports, START + timedelta(hours=1), [{"step": "a", "verdict": "pass"}], title="Production", target="gcp")
    _write_night(reports, START + timedelta(hours=2), [{"step": "a", "verdict": "pass"}], title="Sandbox")
    index = (reports / nights.INDEX).read_text()
    rows = _night_rows(index)
    assert [_text(r[1]) for r in rows] == ["Sandbox target local", "Production target gcp", "Sandbox target local"]
    assert _items(rows[0][4]) == ["a: now PASS (was FAIL)"] and _text(rows[1][4]) == "first night of this plan here"


def test_each_nights_changes_are_worked_out_once_for_its_page_and_the_list(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    for day in range(3):
        _write_night(reports, START + timedelta(days=day), [{"step": "a", "verdict": ("pass", "fail")[day % 2]}])
    compared: list[str] = []
    real = changes.night_changes

    def counting(steps, previous, **options):
        compared.append(steps[0]["summary"])   # "<verdict> on <the night's date>"
        return real(steps, previous, **options)

    monkeypatch.setattr(changes, "night_changes", counting)
    nights.rebuild(reports)
    assert len(compared) == 3 and len(set(compared)) == 3
    compared.clear()
    night = _write_night(reports, START + timedelta(days=3), [{"step": "a", "verdict": "fail"}])
    assert len(compared) == 4 and len(set(compared)) == 4
    assert _items(_night_rows((reports / nights.INDEX).read_text())[0][4]) == ["a: now FAIL (was PASS)"]
    assert "now FAIL (was PASS)" in night.index.read_text()


def test_two_nights_started_in_the_same_second_keep_their_order(tmp_path):
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "fail"}])
    _write_night(reports, START, [{"step": "a", "verdict": "pass"}], folder_name="overnight-030000-2")
    found = nights.find_nights(reports)
    assert [n.folder.name for n in found] == ["overnight-030000", "overnight-030000-2"]
    page = (found[1].index).read_text()
    assert _items(_section(page, '<h2 id="changes">')) == ["a: now PASS (was FAIL)"]


def test_a_summary_json_that_does_not_match_the_schema_is_read_from_the_notebooks(tmp_path):
    reports = tmp_path / "deliberately-invalid" / "reports"
    night = _write_night(reports, START, [{"step": "a", "verdict": "warn", "figures": {"rows": 3}}])
    summary = json.loads((night.folder / nights.SUMMARY).read_text())
    summary["steps"][0]["html"] = "/absolute/check.html"
    (night.folder / nights.SUMMARY).write_text(json.dumps(summary))
    found = nights.read_night(night.folder)
    assert found.incomplete.startswith("its summary.json does not match the schema (steps/0/html:")
    assert [(s.step, s.verdict, s.figures, s.html) for s in found.steps] == [("a", "warn", {"rows": 3}, "a/check.html")]
    assert (found.title, found.target) == ("Synthetic", "local")
    (night.folder / nights.SUMMARY).write_text("{not json")
    assert nights.read_night(night.folder).incomplete == "its summary.json could not be read (JSONDecodeError)"


def test_a_night_cut_short_while_writing_a_notebook_says_so(tmp_path):
    night = _write_night(tmp_path / "reports", START, [{"step": "a", "verdict": "pass"}, {"step": "b", "verdict": "fail"}])
    (night.folder / nights.SUMMARY).unlink()
    (night.folder / "b" / "check.ipynb").write_text('{"cells": [')
    found = nights.read_night(night.folder)
    assert found.incomplete.endswith("; 1 step notebook could not be read") and [s.step for s in found.steps] == ["a"]


def test_the_nights_page_is_written_whatever_lies_beside_it(tmp_path, monkeypatch, capsys):
    """The reports folder cannot be listed at all: the night still gets its page, and the reports index is left
    as it was (a list of this night alone would drop every earlier one)."""
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "pass"}])
    listed = (reports / nights.INDEX).read_text()

    def broken(reports_dir, leave_out=None):
        raise PermissionError("a neighbour cannot be read")

    monkeypatch.setattr(nights, "scan_nights", broken)
    night = _write_night(reports, START + timedelta(days=1), [{"step": "a", "verdict": "pass"}])
    assert night.index.is_file() and (night.folder / nights.SUMMARY).is_file()
    err = capsys.readouterr().err
    assert "warning: could not read the earlier nights in" in err and "PermissionError: a neighbour cannot be read" in err
    assert f"{reports / nights.INDEX} was left as it was" in err and "`runbook report" in err
    assert (reports / nights.INDEX).read_text() == listed


# As the operator runs it: root reads any folder, so as root the command runs without the capabilities that allow it
# (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), and chmod 000 bites as it does for any user.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]

# `runbook report`, then the end of the next night (day 3 after START), in one process run as the operator.
REPORT_THEN_A_NIGHT = """
import sys
from datetime import datetime, timedelta
from pathlib import Path
from runbook_lib import cli, nights, report
reports, start = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
print("report exit", cli.main(["report", str(reports)]), flush=True)
folder = reports / f"{start:%Y-%m-%d}" / f"overnight-{start:%H%M%S}"
folder.mkdir(parents=True)
row = report.IndexRow(step="a", name="synthetic check", verdict="pass", label="PASS", summary="s", figures={"n": 3},
                      duration_s=1.0, html=None, charts=[], notebook="a/check.ipynb")
nights.write_night(folder, [row], "Synthetic", "local", start, start + timedelta(minutes=1))
"""


def _as_the_operator(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None or subprocess.run([*NO_OVERRIDE, "true"], capture_output=True).returncode:
        pytest.skip("as root, an unreadable folder needs setpriv to drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH")
    return [*NO_OVERRIDE, *command]


def test_an_unreadable_night_or_date_folder_is_named_and_the_other_nights_still_listed_and_compared(tmp_path):
    """A night written by another user with umask 077 (or being copied in) took every night out: `runbook report`
    failed, and the next night's end rewrote the reports index with itself alone, compared with nothing."""
    reports = tmp_path / "reports"
    first, locked, other_users = [
        _write_night(reports, START + timedelta(days=d), [{"step": "a", "verdict": "pass", "figures": {"n": d}}])
        for d in range(3)]
    locked_day = _write_night(reports, START + timedelta(days=5), [{"step": "a", "verdict": "pass"}]).folder.parent
    # The last two: another user's night with umask 022, readable but not writable.
    modes = {locked.folder: 0, locked_day: 0, other_users.index: 0o444, other_users.folder: 0o555}
    for path, mode in modes.items():
        path.chmod(mode)
    try:
        done = subprocess.run(_as_the_operator([sys.executable, "-c", REPORT_THEN_A_NIGHT, str(reports),
                                                (START + timedelta(days=3)).isoformat()]),
                              capture_output=True, text=True, timeout=300)
    finally:
        for path in modes:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert done.returncode == 0 and "report exit 0" in done.stdout, done.stdout + done.stderr
    denied = "the folder could not be read (PermissionError: Permission denied)"
    for folder in (locked.folder, locked_day):   # said by `runbook report`, then by the night's end
        assert done.stderr.count(f"warning: {folder} is left out of {reports / nights.INDEX}: {denied}\n") == 2
    assert f"could not write {other_users.index} (PermissionError: Permission denied)" in done.stderr
    assert "Rebuilt 1 night page of 2 (1 could not be written, said above); every night" in done.stdout
    index = (reports / nights.INDEX).read_text()
    assert [_hrefs(row[0])[0] for row in _night_rows(index)] == [
        f"2025-03-0{day}/overnight-030000/index.html" for day in (4, 3, 1)]
    assert _items(_section(index, 'id="left-out"', "</div>")) == [
        f"2025-03-02/overnight-030000: {denied}", f"2025-03-06: {denied}"]
    page = (reports / "2025-03-04" / "overnight-030000" / nights.INDEX).read_text()
    assert "the night before (2025-03-03 03:00:00 -08:00)" in page
    assert _items(_section(page, '<h2 id="changes">')) == ["a: n 2 -> 3"]


def test_a_night_folder_renamed_by_hand_is_listed_by_its_recorded_start(tmp_path, capsys):
    """`overnight-030000-before-fix`, a file manager's `overnight-030000 copy`: a folder holding the kit's
    summary.json is a night, in the place its recorded start gives it; one that looks like a night without a
    summary to say when it ran is named as left out; a folder that is no night at all is passed over."""
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "pass", "figures": {"n": 1}}])
    _write_night(reports, START + timedelta(days=1), [{"step": "a", "verdict": "pass", "figures": {"n": 2}}],
                 folder_name="overnight-030000-before-fix")
    copied = _write_night(reports, START + timedelta(days=2), [{"step": "a", "verdict": "pass", "figures": {"n": 3}}],
                          folder_name="overnight-030000 copy")
    killed = _write_night(reports, START + timedelta(days=3), [{"step": "a", "verdict": "pass"}],
                          folder_name="overnight-030000-killed")
    (killed.folder / nights.SUMMARY).unlink()
    notes = reports / "2025-03-05" / "overnight-notes"
    notes.mkdir(parents=True)
    (notes / "todo.txt").write_text("not a night")
    capsys.readouterr()
    assert cli.main(["report", str(reports)]) == 0
    err = capsys.readouterr().err
    index = (reports / nights.INDEX).read_text()
    assert [_hrefs(row[0])[0] for row in _night_rows(index)] == [
        "2025-03-03/overnight-030000%20copy/index.html", "2025-03-02/overnight-030000-before-fix/index.html",
        "2025-03-01/overnight-030000/index.html"]
    assert _items(copied.index.read_text().split('<h2 id="changes">', 1)[1].split("<h2", 1)[0]) == ["a: n 2 -> 3"]
    why = "its name is not overnight-HHMMSS[-N] and it has no summary.json: the night stopped before it finished"
    left_out = _items(_section(index, 'id="left-out"', "</div>"))
    assert len(left_out) == 1 and left_out[0].startswith(f"2025-03-04/overnight-030000-killed: {why}")
    assert f"warning: {killed.folder} is left out of {reports / nights.INDEX}: {why}" in err
    assert "overnight-notes" not in index + err


def test_a_night_killed_before_any_notebook_is_dated_by_its_start_marker_in_any_zone(tmp_path, monkeypatch):
    """The folder's name is the night's local clock: read on a machine in another zone (or at a fall-back) it
    names another instant. The marker the night wrote as it started is an aware time, and says the plan."""
    folder = tmp_path / "reports" / "2025-03-02" / "overnight-030000"
    (folder / "a").mkdir(parents=True)
    began = datetime(2025, 3, 2, 3, 0, tzinfo=timezone(timedelta(hours=-8)))
    unfinished_nights.write_started(folder, "Nightly", "local", began)
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        found = nights.read_night(folder)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert found.started == began and (found.title, found.target) == ("Nightly", "local")
    assert found.incomplete.startswith("it has no summary.json and no step notebook")
    for damaged in ("{", "[]", '{"started": "2025-03-02T03:00:00", "title": 7}', '{"started": "tomorrow"}'):
        (folder / nights.STARTED).write_text(damaged)   # unreadable or zoneless: the folder's name says when
        found = nights.read_night(folder)
        assert found.started == datetime(2025, 3, 2, 3, 0).astimezone() and found.title is None


def test_a_night_killed_in_its_first_step_is_listed_incomplete(tmp_path):
    """Killed (SIGKILL: the OOM killer, a preempted VM) before any step wrote its notebook: the folder and its
    name are all there is, and the night is listed all the same, not left out as if it never ran."""
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "pass"}])
    empty = reports / "2025-03-02" / "overnight-030000"
    (empty / "a").mkdir(parents=True)
    found = nights.read_night(empty)
    assert found.incomplete.startswith("it has no summary.json and no step notebook") and found.steps == []
    assert found.started == datetime(2025, 3, 2, 3, 0).astimezone() and found.title is None
    assert cli.main(["report", str(reports)]) == 0
    rows = _night_rows((reports / nights.INDEX).read_text())
    assert len(rows) == 2 and "INCOMPLETE" in rows[0][0] and _text(rows[0][1]).startswith("unknown plan")
    assert "All runbooks passed" not in (empty / nights.INDEX).read_text()


def test_a_night_cut_short_never_passes_and_the_next_compares_with_the_last_complete_night(tmp_path):
    """Killed while its step b ran: b and c were not run that night, they did not leave the plan; the next
    night compares with the last night that ran them, and says which night that is."""
    reports = tmp_path / "reports"
    steps = [{"step": s, "verdict": "pass", "figures": {"rows": 1}} for s in "abc"]
    _write_night(reports, START, steps)
    killed = _write_night(reports, START + timedelta(days=1), steps[:1])
    (killed.folder / nights.SUMMARY).unlink()
    third = _write_night(reports, START + timedelta(days=2),
                         [{**s, "figures": {"rows": 2}} if s["step"] == "b" else s for s in steps])
    nights.rebuild(reports)
    page = killed.index.read_text()
    assert "All runbooks passed" not in page
    assert _items(_section(page, '<h2 id="changes">')) == ["b: not run that night", "c: not run that night"]
    page = third.index.read_text()
    since = _section(page, '<h2 id="changes">')
    assert _items(since) == ["b: rows 1 -> 2"]
    assert "the latest complete night of this plan, 2025-03-01 03:00:00 -08:00" in _text(since)
    history = _section(page, '<section id="step-2"', "</section>")
    assert _text(re.search(r"<tr><th>verdict</th>(.*?)</tr>", history, re.DOTALL).group(1)) == \
        "PASS not run that night PASS"
    rows = _night_rows((reports / nights.INDEX).read_text())
    assert _items(rows[0][4]) == ["b: rows 1 -> 2"] and "INCOMPLETE" in rows[1][0]


def test_report_showing_no_earlier_nights_still_compares_with_the_night_before(tmp_path):
    """--nights 0 hides the history columns; whether there was a night before does not depend on it."""
    reports = tmp_path / "reports"
    _write_night(reports, START, [{"step": "a", "verdict": "fail"}])
    second = _write_night(reports, START + timedelta(days=1), [{"step": "a", "verdict": "pass"}])
    assert cli.main(["report", str(reports), "--nights", "0"]) == 0
    page = second.index.read_text()
    assert _items(_section(page, '<h2 id="changes">')) == ["a: now PASS (was FAIL)"]
    assert "Each step over the last nights" not in page and 'class="strip"' not in page
    rows = _night_rows((reports / nights.INDEX).read_text())
    assert _items(rows[0][4]) == ["a: now PASS (was FAIL)"] and _text(rows[1][4]) == "first night of this plan here"


def test_nights_of_one_second_order_as_summary_json_records_them_then_by_folder(tmp_path):
    """summary.json keeps the start to the second: the night being written, whose start the runner knows to
    the microsecond, is ordered at that precision too, so its page and a rebuilt page agree."""
    reports = tmp_path / "reports"
    # The -2 night started later in the same second but finished first.
    later = _write_night(reports, START + timedelta(microseconds=550_000), [{"step": "a", "verdict": "pass"}],
                         folder_name="overnight-030000-2")
    first = _write_night(reports, START + timedelta(microseconds=300_000), [{"step": "a", "verdict": "fail"}])
    assert "The first night of this plan" in first.index.read_text()
    nights.rebuild(reports)
    assert [n.folder.name for n in nights.find_nights(reports)] == ["overnight-030000", "overnight-030000-2"]
    assert "The first night of this plan" in first.index.read_text()
    assert _items(_section(later.index.read_text(), '<h2 id="changes">')) == ["a: now PASS (was FAIL)"]


def test_times_on_the_pages_carry_their_utc_offset(tmp_path):
    """Nights run in different zones (a job in UTC, a rerun on a laptop in Tokyo) read in the right order."""
    reports = tmp_path / "reports"
    tokyo = timezone(timedelta(hours=9))
    _write_night(reports, datetime(2025, 3, 1, 20, 0, tzinfo=tokyo), [{"step": "a", "verdict": "pass"}])  # 11:00 UTC
    newer = _write_night(reports, datetime(2025, 3, 1, 11, 0, 5, tzinfo=timezone.utc), [{"step": "a", "verdict": "pass"}])
    rows = _night_rows((reports / nights.INDEX).read_text())
    assert [_text(r[0]) for r in rows] == ["2025-03-01 11:00:05 UTC", "2025-03-01 20:00:00 +09:00"]
    page = newer.index.read_text()
    assert "the night before (2025-03-01 20:00:00 +09:00)" in page and "started 11:00:05 UTC" in _text(page)
    heads = re.search(r"<thead>(.*?)</thead>", _section(page, '<section id="step-1"', "</section>"), re.DOTALL).group(1)
    assert _text(heads) == "night 2025-03-01 20:00:00 +09:00 this night trend"
    assert 'title="2025-03-01 20:00:00 +09:00: PASS"' in page


def _long_nights(reports: Path) -> nights.Night:
    """Nine nights whose texts are as long as runbooks may make them: the newest is returned."""
    long_id = "diagnose-phase3-deploy-" + "x" * 41
    emails = [f"service-account-{i}@a-very-long-project-name-{i}.iam.gserviceaccount.com" for i in range(12)]
    for day in range(9):
        steps = [
            {"step": long_id, "verdict": ("fail", "pass", "warn")[day % 3], "chart": day == 8,
             "name": "diagnose_build_with_a_rather_long_result_name_" + "y" * 30,
             "summary": "The build failed because " + "the root Dockerfile was removed by a racing deploy script " * 12
                        + "gs://123456789012.cloudbuild-logs.googleusercontent.com/log-" + "f" * 80 + ".txt",
             "figures": {"rows in nba_precompute.player_daily_cache that do not match production": 1204 - day * 100,
                         "commit": "0123456789abcdef" * 4 + str(day), "external callers": emails[: day + 3],
                         "share": day / 7, "builder": "buildpacks" if day % 2 else "docker",
                         "ok": day % 2 == 0, "nothing": None, "ratio text": f"{day}/9"}},
            {"step": "bad", "verdict": "fail", "outcome": "bad-parameters", "figures": {}},
        ]
        if day % 4 == 0:
            steps.append({"step": "sometimes", "verdict": "blocked", "outcome": "not-run"})
        newest = _write_night(reports, START + timedelta(days=day), steps,
                              title="Overnight review of the phased pipeline against production-like data, every runbook")
    return newest


# ---------------------------------------------------------------------------------------------
# In a real browser

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)
browser = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")

# Added to a copy of a page: once everything loaded, it writes what it found into the page, which
# Chromium's --dump-dom then prints.
PROBE = """<script>
window.addEventListener("load", () => {
  const cells = [...document.querySelectorAll("td, th")]
    .filter(c => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
    .map(c => c.innerText.slice(0, 80));
  const images = [...document.images].map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0]);
  const out = {overflowing: cells, images, links: [...document.querySelectorAll("a[href]")].map(a => a.href),
               ids: [...document.querySelectorAll("[id]")].map(e => e.id),
               pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
  const pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _in_browser(page: Path, width: int = 1280) -> dict:
    """What headless Chromium finds on `page` at `width` pixels: overflowing cells, images and
    whether they loaded, every link as the browser resolved it, the page's width."""
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--hide-scrollbars", f"--user-data-dir={page.parent / '.chromium-profile'}",
             f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
        shutil.rmtree(page.parent / ".chromium-profile", ignore_errors=True)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"Chromium printed no probe for {page}: {done.stderr[-2000:]}"
    # Links to the probe itself (#anchors) are links to the page.
    result = json.loads(html.unescape(found.group(1)).replace(probe.as_uri(), page.as_uri()))
    result["page"] = page
    return result


def _looks_right(seen: dict) -> None:
    page = seen["page"]
    assert not seen["overflowing"], f"text overflows its table cell on {page}: {seen['overflowing']}"
    assert seen["pageWidth"] <= seen["viewport"], f"{page} is wider than the window"
    assert all(loaded for _, loaded in seen["images"]), f"images that did not load on {page}: {seen['images']}"
    for link in seen["links"]:
        parsed = urlparse(link)
        assert parsed.scheme == "file", f"{page} links outside its folder: {link}"
        target = Path(unquote(parsed.path))
        assert target.is_file(), f"{page} links to a missing file: {link}"
        if parsed.fragment:
            ids = seen["ids"] if target == page else re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8"))
            assert parsed.fragment in ids, f"{page} links to a missing anchor: {link}"


@browser
def test_the_probe_sees_overflow_broken_images_and_missing_links(tmp_path):
    """The browser check can fail: a page with each defect is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><table style="table-layout:fixed;width:200px"><tr>'
                    '<td style="white-space:nowrap">' + "a-very-long-unbreakable-token-" * 5 + "</td></tr></table>"
                    '<img src="missing.png"><a href="missing.html">x</a></body></html>')
    seen = _in_browser(page)
    assert seen["overflowing"] and seen["images"] == [["missing.png", False]]
    with pytest.raises(AssertionError, match="overflows"):
        _looks_right(seen)
    seen["overflowing"], seen["images"] = [], []
    with pytest.raises(AssertionError, match="missing file"):
        _looks_right(seen)


@browser
def test_the_two_nights_look_right_in_a_browser(two_nights, tmp_path):
    reports, outcomes = two_nights
    # A copy: the probe and Chromium's profile are written beside each page, and the nights are shared read-only
    # by the tests of both xdist workers (another test may be copying them at this moment).
    copied = _copy_reports(reports, tmp_path / "reports")
    indexes = [copied / o.index.relative_to(reports) for o in outcomes]
    for page in [copied / nights.INDEX, *indexes]:
        seen = _in_browser(page)
        _looks_right(seen)
        assert seen["links"]
    assert any(loaded for _, loaded in _in_browser(indexes[1])["images"])  # the chart thumbnail


@browser
@pytest.mark.parametrize("width", [1280, 900])
def test_long_texts_and_many_nights_fit_their_cells(tmp_path, width):
    reports = tmp_path / "reports"
    newest = _long_nights(reports)
    for page in (reports / nights.INDEX, newest.index):
        _looks_right(_in_browser(page, width))


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_night_killed_mid_step_names_the_step_its_last_progress_and_the_steps_not_run(tmp_path):
    """SIGKILL (the OOM killer) while step b ran: b made its folder and said its progress, but wrote no notebook,
    and the page listed a alone, "stopped before it finished, or is still running", naming neither b nor c."""
    reports = tmp_path / "reports"
    killed = _write_night(reports, START, [{"step": "a", "verdict": "pass"}])
    (killed.folder / nights.SUMMARY).unlink()
    (killed.folder / "b").mkdir()
    (killed.folder / "b" / ".progress").write_text("replay test: 7/28 calls after 8 s, retries=0\n")
    marker = {"started": START.isoformat(), "title": "Synthetic", "target": "local", "steps": ["a", "b", "c"],
              "pid": _dead_pid(), "host": socket.gethostname()}
    (killed.folder / nights.STARTED).write_text(json.dumps(marker))
    found = nights.read_night(killed.folder)
    assert found.interrupted_at == "b" and [s.step for s in found.steps] == ["a"]
    assert found.incomplete == (
        f"it has no summary.json: its runner (pid {marker['pid']}) ended without writing it (killed: SIGKILL, the OOM "
        "killer, a reboot); stopped during step b (no record: the runner was killed; last progress: replay test: "
        "7/28 calls after 8 s, retries=0); not run: c")
    assert cli.main(["report", str(reports)]) == 0
    page = _text(killed.index.read_text())
    assert "still running" not in page and "Cut short during step b: the steps after it were not run." in page
    row = _night_rows((reports / nights.INDEX).read_text())[0]
    assert "cut short" in _text(row[0]) and "stopped during step b (no record: the runner was killed" in row[0]


def test_a_night_whose_runner_lives_is_still_running_and_another_hosts_may_be(tmp_path):
    """The runner's own marker names its pid and host: alive here, the night is running (no step is said to
    have stopped); on another host it cannot be told, and the page says both, naming the step it is in."""
    folder = tmp_path / "reports" / "2025-03-02" / "overnight-030000"
    (folder / "a").mkdir(parents=True)
    unfinished_nights.write_started(folder, "Nightly", "local", START, ["a", "b"])
    marker = json.loads((folder / nights.STARTED).read_text())
    assert (marker["steps"], marker["pid"], marker["host"]) == (["a", "b"], os.getpid(), socket.gethostname())
    found = nights.read_night(folder)
    assert found.interrupted_at is None
    assert found.incomplete == ("it has no summary.json and no step notebook: the night is still running "
                                f"(pid {os.getpid()}, in step a)")
    (folder / nights.STARTED).write_text(json.dumps({**marker, "host": "elsewhere"}))
    found = nights.read_night(folder)
    assert found.interrupted_at is None and found.incomplete == (
        "it has no summary.json and no step notebook: the night stopped before it finished, or is still running (on "
        f"elsewhere, pid {os.getpid()}); it was in step a (no record yet)")


def test_a_full_disk_leaves_no_half_written_summary_and_names_the_file(tmp_path, monkeypatch):
    """summary.json was written in place: a disk that filled at the end of a night left it half-written (0 bytes),
    the record other tools read; a record that cannot be written whole is absent, the night INCOMPLETE."""
    real = Path.write_text

    def disk_full(path, text, *args, **kwargs):
        real(path, text[:len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    folder = tmp_path / "reports" / "2025-03-01" / "overnight-030000"
    folder.mkdir(parents=True)
    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError) as raised:
        nights.write_night(folder, [], "Synthetic", "local", START, START)
    monkeypatch.undo()
    assert raised.value.filename == str(folder / nights.SUMMARY)
    assert sorted(p.name for p in folder.iterdir()) == []   # neither a half summary nor the partial file
    assert nights.read_night(folder).incomplete.startswith("it has no summary.json and no step notebook")
