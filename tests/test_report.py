"""The morning-review index, built from a real overnight run of the fixture notebooks."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from conftest import once_per_test_run
from runbook_lib import nights, report, runner
from runbook_lib.errors import ParameterError
from runbook_lib.results import Result

NOTEBOOKS = Path(__file__).parent / "notebooks"
PLANTED = "night-S3CRET-91ab"

# A notebook whose file name needs URL-encoding in a link ("#" and "?" end a path; "ü" is not ASCII).
ODD_NAME = "q #1? ü.ipynb"

PLAN = f"""
title: Fixture night
target: local
parameters: {{rows: 4}}
steps:
  - id: ok
    notebook: "odd/{ODD_NAME}"
  - id: warned
    notebook: {NOTEBOOKS / 'example.ipynb'}
    parameters: {{verdict: warn, api_token: {PLANTED}}}
  - id: failed
    notebook: {NOTEBOOKS / 'example.ipynb'}
    parameters: {{verdict: fail, chart: false}}
  - id: after-fail
    notebook: {NOTEBOOKS / 'example.ipynb'}
    depends_on: [ok, failed]
  - id: after-warn
    notebook: {NOTEBOOKS / 'no_record.ipynb'}
    depends_on: [warned]
  - id: broken
    notebook: {NOTEBOOKS / 'raising.ipynb'}
  - id: bad-value
    notebook: {NOTEBOOKS / 'example.ipynb'}
    parameters: {{rows: 0, chart: false}}
"""
EXPECTED = {  # step: (badge, verdict, has chart)
    "ok": ("PASS", "pass", True), "warned": ("WARN", "warn", True), "failed": ("FAIL", "fail", False),
    "after-fail": ("BLOCKED", "blocked", False), "after-warn": ("NO RESULT", "fail", False),
    "broken": ("ERROR", "fail", False), "bad-value": ("BAD PARAMETERS", "fail", False),
}


class _Page(HTMLParser):
    """Rows of the runs table (cell texts), every href/src, and the callout text."""

    def __init__(self):
        super().__init__()
        self.rows, self.links, self.callout, self._cell, self._depth, self._in_callout = [], [], "", None, 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if key in attrs:
                self.links.append(attrs[key])
        if tag == "tr" and attrs.get("class", "").startswith("row-"):
            self.rows.append([])
        if tag == "td" and self.rows and self._cell is None:
            self._cell, self._depth = [], 0
        elif tag == "td" and self._cell is not None:
            self._depth += 1
        if tag == "div" and "callout" in attrs.get("class", ""):
            self._in_callout = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            if self._depth:
                self._depth -= 1
            else:
                self.rows[-1].append(" ".join("".join(self._cell).split()))
                self._cell = None
        if tag == "div":
            self._in_callout = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data + " ")
        if self._in_callout:
            self.callout += data


def _night(base: Path):
    (base / "odd").mkdir()
    (base / "odd" / ODD_NAME).write_bytes((NOTEBOOKS / "example.ipynb").read_bytes())
    (base / "odd" / "fixture_params.py").write_bytes((NOTEBOOKS / "fixture_params.py").read_bytes())
    plan = base / "plan.yaml"
    plan.write_text(PLAN)
    return runner.run_plan(plan, outdir=base / "reports")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    outcome = once_per_test_run(tmp_path_factory, "report-night", lambda: _night(tmp_path_factory.mktemp("night")))
    page = _Page()
    page.feed(outcome.index.read_text())
    return outcome, page


def test_overnight_runs_every_step_and_exits_1_when_one_errored(night):
    outcome, _ = night
    assert [o.step for o in outcome.steps] == list(EXPECTED)
    assert {o.step: o.label for o in outcome.steps} == {k: v[0] for k, v in EXPECTED.items()}
    assert outcome.exit_code == 1
    # A value only the notebook's own model can judge stops that step alone; the night goes on.
    bad = next(o for o in outcome.steps if o.step == "bad-value")
    assert bad.exit_code == 2 and "rows=0 is not valid" in bad.summary
    assert runner.plan_exit_code([0, 2]) == 1
    assert outcome.index == outcome.folder / "index.html"
    assert outcome.folder.name.startswith("overnight-") and outcome.folder.parent.parent == outcome.index.parents[2]


def test_index_has_one_row_per_runbook_with_badge_summary_figures_and_duration(night):
    outcome, page = night
    assert len(page.rows) == len(EXPECTED)
    for row, (step, (badge, _, _)) in zip(page.rows, EXPECTED.items()):
        number, verdict, runbook, summary, figures, duration, _charts = row
        assert verdict == badge and f"step {step}" in runbook
        if step in ("ok", "warned", "failed"):
            assert "example check" in runbook and summary.startswith("4 rows checked")
            assert "rows 4" in figures and duration.endswith("s")
    blocked = page.rows[3]
    assert "depends on failed, which ended FAIL" in blocked[3] and "ok" not in blocked[3].split("depends on")[1]
    assert "RuntimeError: boom" in page.rows[5][3]


def test_first_failure_is_called_out_and_date_and_target_shown(night):
    outcome, page = night
    assert page.callout.startswith("First failure:") and "failed" in page.callout
    text = outcome.index.read_text()
    started = datetime.fromisoformat(json.loads((outcome.folder / "summary.json").read_text())["started"])
    assert f"date <b>{started:%Y-%m-%d}</b>" in text and "target <b>local</b>" in text


def _browser_path(link: str) -> str:
    """The file a browser opens for a relative link: the URL's path, percent-decoded."""
    parsed = urlparse(link)
    assert not parsed.scheme and not parsed.netloc and not link.startswith("/"), link
    assert not parsed.query and not parsed.fragment, link   # a raw "#" or "?" would cut the path
    return unquote(parsed.path)


def test_every_link_is_relative_and_resolves_as_a_browser_reads_it(night):
    outcome, page = night
    assert page.links
    for link in page.links:
        assert (outcome.folder / _browser_path(link)).is_file(), link
    pages = [_browser_path(link) for link in page.links if link.endswith(".html")]
    assert "../../index.html" in pages   # the list of every night
    assert {Path(p).parts[0] for p in pages if not p.startswith("..")} == set(EXPECTED)
    assert "ok/q #1? ü.html" in pages and "ok/q #1? ü.ipynb" in map(_browser_path, page.links)


def test_charts_are_thumbnailed(night):
    outcome, page = night
    thumbs = [_browser_path(link) for link in page.links if link.endswith(".png")]
    with_chart = [step for step, (_, _, chart) in EXPECTED.items() if chart]
    assert sorted({Path(t).parts[0] for t in thumbs}) == sorted(with_chart)
    assert all((outcome.folder / t).read_bytes().startswith(b"\x89PNG") for t in thumbs)


def test_no_page_of_the_night_loads_anything_from_the_internet(night):
    outcome, _ = night
    pages = list(outcome.folder.rglob("*.html"))
    assert len(pages) == len(EXPECTED) + 1
    for file in pages:
        text = file.read_text(encoding="utf-8")
        assert "https://cdn" not in text and 'import("http' not in text and "import('http" not in text, file
        assert not re.search(r"""<script[^>]*\ssrc=["']?(https?:)?//""", text), file


def test_summary_json_matches_the_notebooks_metadata(night):
    outcome, _ = night
    summary = json.loads((outcome.folder / "summary.json").read_text())
    assert summary["first_failure"] == "failed" and summary["target"] == "local"
    assert summary["counts"] == {"pass": 1, "warn": 1, "fail": 4, "blocked": 1}
    assert summary["interrupted_at"] is None
    for step in summary["steps"]:
        nb = nbformat.read(outcome.folder / step["notebook"], as_version=4)
        meta = nb.metadata["runbook"]
        assert (step["verdict"], step["summary"], step["step"]) == (meta["verdict"], meta["summary"], meta["run"]["step"])


def test_blocked_step_did_not_execute_and_its_page_says_why(night):
    outcome, _ = night
    blocked = next(o for o in outcome.steps if o.step == "after-fail")
    nb = nbformat.read(blocked.notebook, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["runbook"]["verdict"] == "blocked"
    assert "not run: depends on failed" in blocked.html.read_text()


def test_a_warn_dependency_lets_the_dependent_run(night):
    outcome, _ = night
    dependent = next(o for o in outcome.steps if o.step == "after-warn")
    assert dependent.outcome == report.NO_RESULT  # it ran (and forgot to record)
    assert "without recording a result" in dependent.summary


def test_the_planted_secret_is_nowhere_in_the_nights_files(night):
    outcome, _ = night
    files = [p for p in outcome.folder.rglob("*") if p.is_file()]
    assert outcome.index in files and outcome.folder / "summary.json" in files
    for file in files:
        assert PLANTED.encode() not in file.read_bytes(), file


def test_recorded_result_reads_the_last_record_output():
    nb = nbformat.v4.new_notebook()
    for summary in ("first", "second"):
        cell = nbformat.v4.new_code_cell("report.record(r)")
        data = Result("x", "warn", summary).to_dict()
        cell.outputs = [nbformat.v4.new_output("display_data", data={report.RESULT_MIME: data, "text/plain": summary})]
        nb.cells.append(cell)
    assert report.recorded_result(nb)["summary"] == "second"
    assert report.recorded_result(nbformat.v4.new_notebook()) is None


def test_record_accepts_a_result_or_a_checked_mapping():
    assert report.as_result({"name": "x", "verdict": "pass", "summary": "ok"}).verdict == "pass"
    with pytest.raises(ParameterError, match="verdict"):
        report.as_result({"name": "x", "verdict": "great", "summary": "ok"})
    with pytest.raises(ParameterError, match="only the keys"):
        report.as_result({"name": "x", "verdict": "pass", "summary": "ok", "extra": 1})


NIGHT_FOLDER = "reports/2024-01-15/overnight-030000"


def _recorded_notebook(folder: Path, step: str, file_name: str, summary: str) -> Path:
    run_dir = folder / step
    run_dir.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    html_name = Path(file_name).with_suffix(".html").name
    nb.metadata["runbook"] = {"name": "long", "verdict": "fail", "summary": summary, "figures": {}, "details": {},
                              "run": {"step": step, "outcome": "completed", "html": html_name, "charts": []}}
    (run_dir / html_name).write_text("<p>run page</p>")
    path = run_dir / file_name
    nbformat.write(nb, path)
    return path


def test_index_summaries_are_cut_but_summary_json_keeps_them_whole(tmp_path):
    long = "the build failed because " + "of a very long reason " * 40
    folder = tmp_path / NIGHT_FOLDER
    notebook = _recorded_notebook(folder, "long", "long.ipynb", long)
    night = nights.write_night(folder, [report.read_row(notebook, folder)], "t", "local", datetime(2024, 1, 15, 3, 0))
    page = _Page()
    page.feed(night.index.read_text())
    shown = page.rows[0][3]
    # a cut summary links to the page that has it whole
    assert shown.endswith(" (whole)") and '>(whole)</a>' in night.index.read_text()
    shown = shown.removesuffix(" (whole)")
    assert len(shown) <= report.INDEX_SUMMARY_CHARS and shown.endswith("…") and long.startswith(shown[:-1])
    assert len(page.callout) < len(long)
    assert json.loads((folder / "summary.json").read_text())["steps"][0]["summary"] == long


def test_an_interrupted_night_says_so_in_the_index(tmp_path):
    folder = tmp_path / NIGHT_FOLDER
    notebook = _recorded_notebook(folder, "a", "a.ipynb", "ok")
    night = nights.write_night(folder, [report.read_row(notebook, folder)], "t", "local", datetime(2024, 1, 15, 3, 0), interrupted_at="a")
    assert "<b>Interrupted</b> (Ctrl-C) during step a" in night.index.read_text()
    assert json.loads((folder / "summary.json").read_text())["interrupted_at"] == "a"


def test_remote_scripts_and_stylesheets_are_removed_and_inline_ones_kept():
    page = ("<head><script src='https://cdn.example/require.js'></script>"
            "<link rel='stylesheet' href='https://cdn.example/x.css'>"
            "<script type='module'>const m = (await import(\"https://cdnjs.example/mermaid.mjs\")).default;</script>"
            "<script>var inline = 1;</script></head>")
    cleaned = report.without_remote_loads(page)
    assert cleaned == "<head><script>var inline = 1;</script></head>"


class _Cells(HTMLParser):
    """Every table cell of a page: (tag, its inline text-align or None, its text), row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            style = dict(attrs).get("style") or ""
            align = re.search(r"text-align:\s*(\w+)", style)
            self._cell = [tag, align.group(1) if align else None, ""]
            self.rows[-1].append(self._cell)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data.strip()


def test_run_pages_left_align_text_columns_and_right_align_numbers(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({
        "command": ["gcloud builds log 1234 --region=us-west2", "pip install -r requirements.txt"],
        "rows": [1204, None],                # a missing value does not make a column text
        "commit": ["0123456", "abc1234"],    # one cell looks like a number; the column is text
        "share": ["12.5%", "-3"],
    }, index=pd.Index(["phase3", "phase4"], name="phase"))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("frame")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                           data={"text/html": frame._repr_html_(), "text/plain": str(frame)})]
    nb.cells = [cell]
    nb.metadata["runbook"] = {"name": "tables", "verdict": "warn", "summary": "s", "figures": {"mismatched rows": 12},
                              "details": {}, "run": {"outcome": "completed", "html": "t.html"}}
    cells = _Cells()
    cells.feed(report.render_run_html(nb, tmp_path / "t.html").read_text(encoding="utf-8"))
    by_text = {text: (tag, align) for row in cells.rows for tag, align, text in row if text}
    assert by_text["gcloud builds log 1234 --region=us-west2"] == ("td", "left")
    assert by_text["1204.0"] == ("td", "right") and by_text["NaN"] == ("td", "right")
    assert by_text["0123456"] == ("td", "left") and by_text["abc1234"] == ("td", "left")
    assert by_text["12.5%"] == ("td", "right") and by_text["-3"] == ("td", "right")
    # Headers follow their column; index labels are text.
    assert by_text["command"] == ("th", "left") and by_text["rows"] == ("th", "right")
    assert by_text["share"] == ("th", "right") and by_text["phase4"] == ("th", "left")
    # The run header's figures too: names left, numbers right.
    assert by_text["mismatched rows"] == ("th", "left") and by_text["12"] == ("td", "right")


def test_pages_escape_what_runbooks_recorded(tmp_path):
    folder = tmp_path / NIGHT_FOLDER
    notebook = _recorded_notebook(folder, "a", "a.ipynb", "<script>alert('summary')</script>")
    night = nights.write_night(folder, [report.read_row(notebook, folder)], "<b>title</b>", "local", datetime(2024, 1, 15, 3, 0))
    header = report.run_header(nbformat.read(notebook, as_version=4).metadata["runbook"])
    for page in (night.index.read_text(), header):
        assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    assert "<b>title</b>" not in night.index.read_text()


def test_a_progress_bar_shows_once_on_the_page_in_its_last_state(tmp_path):
    """tqdm redraws with a carriage return, each redraw its own stream output: the page showed every one."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rp.run()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"\rreplay bar: {n:3d}%|") for n in
                    (0, 25, 50, 75)] + [nbformat.v4.new_output("stream", name="stderr", text="\rreplay bar: 100%|\n"),
                                        nbformat.v4.new_output("stream", name="stdout", text="done\n")]
    nb.cells = [cell]
    page = report.render_run_html(nb, tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.count("replay bar:") == 1 and "replay bar: 100%" in page and "done" in page


# A caller's User-Agent as runbook 05's table of external callers shows it: chosen by any internet client, cut to 240
# characters by pandas (display.max_colwidth), unbroken.
AGENT = '</td><script>alert(1)</script>"><img src=x onerror=alert(2)>' + "B" * 180


def _callers_page(tmp_path: Path) -> Path:
    import pandas as pd

    callers = pd.DataFrame({"ip": ["198.51.100.9", "73.158.64.21"], "agent": [AGENT, "curl/8.5.0"],
                            "requests": [1, 4], "ok_2xx": [1, 4], "statuses": ["200", "200"],
                            "paths": ["/process-date", "/health"], "services": ["nba-phase4-precompute-processors"] * 2,
                            "first": ["2025-12-30 21:00:00+00:00"] * 2, "last": ["2025-12-30 21:00:00+00:00"] * 2,
                            "before_change": [True, False]})
    with pd.option_context("display.max_colwidth", 240):
        html_table = callers._repr_html_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("callers")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                           data={"text/html": html_table, "text/plain": str(callers)})]
    nb.cells = [cell]
    nb.metadata["runbook"] = {"name": "security_audit", "verdict": "fail", "figures": {}, "details": {},
                              "summary": "2 external callers reached the app",
                              "run": {"outcome": "completed", "exit_code": 3}}
    return report.render_run_html(nb, tmp_path / "05_security_audit.html")


def test_only_a_cell_holding_a_long_unbroken_text_may_break_it_anywhere(tmp_path):
    """In a table laid out by its content, `overflow-wrap: break-word` does not narrow a cell: the long cell gets
    `anywhere`, which does. The others keep their words whole when the table is squeezed."""
    page = _callers_page(tmp_path).read_text(encoding="utf-8")
    cells = re.findall(r'<t[dh] style="([^"]*)">([^<]*)', page)
    wrapping = [text for style, text in cells if "overflow-wrap:anywhere" in style]
    assert len(cells) > 20 and len(wrapping) == 1 and wrapping[0].startswith("&lt;/td&gt;&lt;script&gt;"), cells


CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_a_long_unbroken_cell_keeps_every_column_of_its_table_in_sight(tmp_path):
    """The 239-character User-Agent widened the table to twice its output area: requests, ok_2xx, statuses and
    the rest of every row were behind a scrollbar. In Chromium at 1300 px the table fits its box, and no cell of
    one short word without a hyphen (an address, a column's name) is split."""
    page = _callers_page(tmp_path)
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", """<script>
window.addEventListener("load", () => {
  const table = document.querySelector(".jp-OutputArea-output table");
  const words = [...table.querySelectorAll("td, th")].filter(c => /^[^\\s-]{1,30}$/.test(c.innerText.trim()));
  const split = words.filter(c => {
    const range = document.createRange(); range.selectNodeContents(c); return range.getClientRects().length > 1;
  }).map(c => c.innerText);
  document.title = JSON.stringify({need: table.scrollWidth, box: table.parentElement.clientWidth, split});
});
</script></body>"""), encoding="utf-8")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1300,1800",
                           f"--user-data-dir={tmp_path / '.chromium-profile'}", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r"<title>(\{.*?\})</title>", done.stdout)
    assert found, f"Chromium printed no measure: {done.stderr[-2000:]}"
    seen = json.loads(html.unescape(found.group(1)))
    assert 0 < seen["need"] <= seen["box"], seen
    assert not seen["split"], seen
