"""What a newcomer's walkthrough found in the runner, the reports index and the CLI: error sentences shown
whole and said once, every key figure reachable (in the runbook's own order), single runs listed beside the
nights, sandbox hints that name the sandbox they were given, `--scale` never ignored silently, a bad
GOOGLE_APPLICATION_CREDENTIALS said as such, and help and option errors that say what applies."""
from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from runbook_lib import cli, nights, report, runner
from runbook_lib.errors import CredentialsMissing, ParameterError
from runbook_lib.exit_codes import ExitCode
from runbook_lib.runner.outcome import CellError, decide_outcome

# A refusal that ends with the command to run, longer than any cut the kit used to make (240, 300).
COMMAND = ("gcloud artifacts repositories create no-such-repo --repository-format=docker --location=us-west2 "
           "--project=nba-props-platform")
LONG_ALLOWED = ("Artifact Registry has no repository no-such-repo in us-west2, where the build pushes; give one "
                "that exists (the Docker repositories in us-west2: cloud-run-source-deploy, and several others "
                f"that the project keeps for its own images), or create it: {COMMAND}")
# Figures in the order a runbook sets them (not their names' order), its headline named last on purpose.
FIGURES = {"tables compared": 9, "zeta rows": 1, "tables differing": 2, "tables missing": 0, "alpha rows": 3,
           "beta": 4, "gamma": 5, "delta": 6, "epsilon": 7}


def _text(fragment: str) -> str:
    spaced = re.sub(r"<(br|/?t[dhr]|/?div|/?li|/?span|/?p)\b[^>]*>", " ", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", spaced)).split())


def _notebook(folder: Path) -> Path:
    """A runbook that refuses mode=long in its validation cell with LONG_ALLOWED, and otherwise records FIGURES
    with "tables differing" as its headline."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('mode: str = "ok"  # ok or long')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell("from runbook_lib.errors import ParameterError\n"
                                  f"if mode == 'long':\n    raise ParameterError('mode', mode, {LONG_ALLOWED!r})"),
        nbformat.v4.new_code_cell("from runbook_lib import report\nfrom runbook_lib.results import Result\n"
                                  f"report.record(Result('ordered', 'pass', 'figures in order', figures={FIGURES!r}),"
                                  " headline=['tables differing'])"),
    ]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    path = folder / "ordered.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """One run refused with a long sentence, one that records figures; both through the CLI."""
    base = tmp_path_factory.mktemp("newcomer")
    notebook = _notebook(base)
    out = base / "reports"
    captured = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNBOOK_HOME", str(base / "home"))   # never the kit's own sandbox
        for mode in ("long", "ok"):
            err, stdout = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdout):
                code = cli.main(["run", str(notebook), "-p", "mode", mode, "-o", str(out)])
            captured.append((code, stdout.getvalue(), err.getvalue()))
    return out, captured


def _run_dir(out: Path, verdict: str) -> Path:
    """The run of the fixture notebook that recorded `verdict`."""
    for path in out.glob("*/*/ordered.ipynb"):
        if nbformat.read(path, as_version=4).metadata["runbook"]["verdict"] == verdict:
            return path.parent
    raise AssertionError(f"no {verdict} run in {out}")


# ---------------------------------------------------------------------------------------------
# Finding 3 and 12: an error sentence is whole, in the terminal and on the run's page, and said once

def test_a_refusal_is_whole_and_said_once_in_the_terminal(two_runs):
    _, [(code, out, err), _] = two_runs
    assert code == ExitCode.BAD_INPUT
    sentence = f"mode='long' is not valid: {LONG_ALLOWED}."
    assert f"error: {sentence}" in err
    assert (out + err).count(COMMAND) == 1, out + err
    assert re.search(r"^BAD PARAMETERS ordered \(\d+\.\ds\)$", out, re.M), out


def test_the_refusal_is_whole_on_the_runs_page_and_in_its_record(two_runs):
    out, _ = two_runs
    run_dir = _run_dir(out, "fail")
    meta = nbformat.read(run_dir / "ordered.ipynb", as_version=4).metadata["runbook"]
    assert meta["run"]["error"].endswith(f"{COMMAND}.") and meta["summary"].endswith(f"{COMMAND}.")
    header = report.run_header(meta)
    assert f"{COMMAND}." in _text(header)


def test_kit_errors_are_whole_and_foreign_text_is_still_cut():
    long_evalue = f"No failed build was found in region us-west2 of {'x' * 300}; run {COMMAND}"
    kit = decide_outcome(stopped_by=None, crash=None, failure=CellError(5, 5, "NotFoundError", long_evalue),
                         validation_cell=1, recorded=None, fallback_name="nb")
    assert kit.error.endswith(COMMAND) and kit.exit_code == ExitCode.ERROR
    foreign = decide_outcome(stopped_by=None, crash=None, failure=CellError(5, 5, "KeyError", long_evalue),
                             validation_cell=1, recorded=None, fallback_name="nb")
    assert len(foreign.error) < 340 and foreign.error.endswith("…")


# ---------------------------------------------------------------------------------------------
# Finding 8: every figure reachable, in the runbook's order, its headline first

def test_figures_keep_the_runbooks_order_with_its_headline_first(two_runs):
    out, [_, (code, _, _)] = two_runs
    assert code == ExitCode.OK
    run_dir = _run_dir(out, "pass")
    row = report.read_row(run_dir / "ordered.ipynb", out)
    assert list(row.figures) == ["tables differing", *[n for n in FIGURES if n != "tables differing"]]


def test_record_refuses_a_headline_that_is_not_a_figure():
    from runbook_lib.results import Result

    with pytest.raises(ParameterError, match="headline"):
        report.record(Result("r", "pass", "s", figures={"a": 1}), headline=["b"])


def _row(step: str, figures: dict, summary: str = "fine") -> report.IndexRow:
    return report.IndexRow(step=step, name=step, verdict="pass", label="PASS", summary=summary, figures=figures,
                           duration_s=1.0, html=f"{step}/{step}.html", charts=[], notebook=f"{step}/{step}.ipynb")


def _night(reports: Path, rows: list[report.IndexRow], started: datetime, finished: datetime) -> Path:
    folder = reports / f"{started:%Y-%m-%d}" / f"overnight-{started:%H%M%S}"
    folder.mkdir(parents=True)
    nights.write_night(folder, rows, "Plan", "local", started, finished)
    return folder


def test_a_nights_index_shows_every_figure_when_few_else_links_to_the_rest(tmp_path):
    eight = dict(list(FIGURES.items())[:8])
    start = datetime(2025, 1, 2, 3, 0, 0, tzinfo=timezone.utc)
    folder = _night(tmp_path, [_row("few", eight), _row("many", FIGURES, summary="y " * 200)], start,
                    start + timedelta(seconds=5))
    page = (folder / "index.html").read_text()
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr class=")[1:]
    assert all(name in _text(rows[0]) for name in eight) and "more" not in _text(rows[0])
    many = rows[1]
    assert "+2 more" in _text(many) and 'href="many/many.html">+2 more' in many
    assert "epsilon" not in _text(many) and "tables compared" in _text(many)
    assert 'href="many/many.html">(whole)' in many   # a summary cut on the index links to the whole


# ---------------------------------------------------------------------------------------------
# Finding 11: single runs on reports/index.html; Finding 12: the same "took" live and rebuilt

def test_single_runs_are_listed_on_the_reports_index(two_runs):
    out, _ = two_runs
    page = (out / "index.html").read_text()
    section = _text(page.split('id="single-runs"', 1)[1])
    assert "2 runs of runbook run" in section and "BAD PARAMETERS" in section and "PASS" in section
    assert section.index("PASS") < section.index("BAD PARAMETERS")   # newest first
    links = re.findall(r'href="([^"]+\.html)"', page.split('id="single-runs"', 1)[1])
    assert links and all((out / link).is_file() for link in links)


def _fake_run(reports: Path, day: str, clock: str, verdict: str = "pass") -> None:
    folder = reports / day / f"{clock}-fake"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["runbook"] = {"name": f"fake {clock}", "verdict": verdict, "summary": f"run at {clock}",
                              "figures": {"n": 1}, "details": {},
                              "run": {"started": f"{day}T{clock[:2]}:{clock[2:4]}:{clock[4:]}+00:00",
                                      "outcome": "completed", "exit_code": 0, "html": "fake.html"}}
    nbformat.write(nb, folder / "fake.ipynb")
    (folder / "fake.html").write_text("<p>run</p>")


def test_the_reports_index_lists_the_latest_single_runs_and_counts_the_older_ones(tmp_path, capsys):
    reports = tmp_path / "reports"
    for n in range(nights.SINGLE_RUNS_SHOWN + 2):
        _fake_run(reports, "2025-01-02" if n < 30 else "2025-01-03", f"{n // 60:02d}{n % 60:02d}00")
    (reports / "2025-01-03" / "235959-running").mkdir()   # a run still going: no notebook yet
    assert cli.main(["report", str(reports)]) == 0
    page = (reports / "index.html").read_text()
    section = _text(page.split('id="single-runs"', 1)[1])
    assert f"The latest {nights.SINGLE_RUNS_SHOWN} of {nights.SINGLE_RUNS_SHOWN + 2}" in section
    assert "2 older ones" in section
    shown = re.findall(r"run at (\d{6})", section)
    assert len(shown) == nights.SINGLE_RUNS_SHOWN and shown == sorted(shown, key=lambda c: c, reverse=True)
    assert shown[0] == "005100" and "000000" not in shown and "000100" not in shown
    # What a bucket gets has no single runs: it holds none of their folders.
    assert "single-runs" not in nights.published_reports_index(reports)


def test_single_runs_are_ordered_by_when_they_started_not_by_their_local_folder_names(tmp_path):
    """/work/probes/timezones finding 3: at the US clock change a run at 01:50 EDT is followed, 20 minutes later, by
    one at 01:10 EST; a laptop in Los Angeles and a job in UTC name one day's runs by two clocks. The folder names
    sort them wrongly, their records and their notebooks' times do not."""
    import os

    reports = tmp_path / "reports"
    runs = [("2026-11-01", "015000", "2026-11-01T01:50:00-04:00"), ("2026-11-01", "011000", "2026-11-01T01:10:00-05:00"),
            ("2026-01-05", "200000", "2026-01-05T20:00:00-08:00"), ("2026-01-06", "030000", "2026-01-06T03:00:00+00:00")]
    for day, clock, started in runs:
        _fake_run(reports, day, clock)
        notebook = reports / day / f"{clock}-fake" / "fake.ipynb"
        nb = nbformat.read(notebook, as_version=4)
        nb.metadata["runbook"]["run"]["started"] = started
        nbformat.write(nb, notebook)
        ended = datetime.fromisoformat(started).timestamp() + 60
        os.utime(notebook, (ended, ended))
    shown, older = nights.find_single_runs(reports)
    assert [run.started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") for run in shown] == [
        "2026-11-01 06:10", "2026-11-01 05:50", "2026-01-06 04:00", "2026-01-06 03:00"] and older == 0
    latest, older = nights.find_single_runs(reports, shown=1)   # the cut keeps the newest, whatever its name
    assert [run.started.strftime("%H:%M") for run in latest] == ["01:10"] and older == 3


def test_a_nights_duration_reads_the_same_before_and_after_a_rebuild(tmp_path):
    start = datetime(2025, 1, 2, 3, 0, 0, 600000, tzinfo=timezone.utc)
    folder = _night(tmp_path, [_row("one", {"a": 1})], start, start + timedelta(seconds=80.4))   # 80.4s; 81 to the s
    took = re.findall(r"took (\d+)s", _text((folder / "index.html").read_text()))
    listed = _text((tmp_path / "index.html").read_text())
    nights.rebuild(tmp_path)
    assert took == re.findall(r"took (\d+)s", _text((folder / "index.html").read_text())) == ["81"]
    assert listed == _text((tmp_path / "index.html").read_text())


# ---------------------------------------------------------------------------------------------
# Finding 6: sandbox hints carry --home; "not initialised" exits 1

def test_status_of_a_folder_without_a_sandbox_exits_1_and_its_hint_names_the_folder(tmp_path, capsys):
    home = tmp_path / "no sandbox"
    assert cli.main(["sandbox", "status", "--home", str(home)]) == ExitCode.ERROR
    assert f"`runbook sandbox init --home '{home}'`" in capsys.readouterr().out


def test_hints_name_a_sandbox_other_than_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNBOOK_HOME", raising=False)
    damaged = "the warehouse X is empty: run `runbook sandbox reset` to rebuild it"
    assert cli.sandbox_hints(str(tmp_path))(damaged).endswith(f"run `runbook sandbox reset --home {tmp_path}` "
                                                              "to rebuild it")
    assert cli.sandbox_hints(None)(damaged) == damaged
    given = "run `runbook sandbox reset --scale 3 --home /x`"
    assert cli.sandbox_hints(str(tmp_path))(given) == given
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    assert f"--home {tmp_path}" in cli.sandbox_hints(None)(damaged)


# ---------------------------------------------------------------------------------------------
# Finding 5: init --scale on a sandbox of another scale is refused

def test_init_with_another_scale_is_refused_naming_scale_and_reset(seeded_sandbox, capsys):
    root = seeded_sandbox(0.15, "scaled")
    state = (root / "state.json").read_bytes()
    assert cli.main(["sandbox", "init", "--home", str(root), "--no-services", "--scale", "0.3"]) == 2
    err = capsys.readouterr().err
    assert "--scale" in err and "scale 0.15" in err and len(err.strip().splitlines()) == 1
    assert f"`runbook sandbox reset --scale 0.3 --home {root}`" in err
    assert (root / "state.json").read_bytes() == state
    for same in (["--scale", "0.15"], []):
        assert cli.main(["sandbox", "init", "--home", str(root), "--no-services", *same]) == 0
        assert "scale 0.15" in capsys.readouterr().out
    assert (root / "state.json").read_bytes() == state


# ---------------------------------------------------------------------------------------------
# Finding 7: GOOGLE_APPLICATION_CREDENTIALS naming a file google.auth cannot use

@pytest.mark.parametrize("content, why", [(None, "no such file"), ("{}", "not a service account or authorized "
                                                                         "user key file")])
def test_a_bad_key_file_is_named_with_its_value_and_googles_reason(tmp_path, monkeypatch, capsys, content, why):
    from runbook_lib.gcp.connect import ENDPOINTS_ENV, check_credentials

    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content)
    monkeypatch.delenv(ENDPOINTS_ENV, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    with pytest.raises(CredentialsMissing) as caught:
        check_credentials()
    said = str(caught.value)
    assert f"GOOGLE_APPLICATION_CREDENTIALS={key}: {why} (google.auth: " in said
    assert ("was not found" if content is None else "does not have a valid type") in said
    out = tmp_path / "reports"
    assert cli.main(["run", str(runner.NOTEBOOKS_DIR / "00_pipeline_overview.ipynb"), "-p", "target", "gcp",
                     "-p", "project", "my-project", "-o", str(out)]) == 2
    assert f"GOOGLE_APPLICATION_CREDENTIALS={key}: {why}" in capsys.readouterr().err and not out.exists()


def test_no_credentials_at_all_says_google_cloud_once(monkeypatch):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    from runbook_lib.gcp.connect import ENDPOINTS_ENV, check_credentials

    def no_adc(*args, **kwargs):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    monkeypatch.delenv(ENDPOINTS_ENV, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(CredentialsMissing) as caught:
        check_credentials()
    assert str(caught.value).startswith("target=gcp found no Google Cloud credentials: run `gcloud auth")


# ---------------------------------------------------------------------------------------------
# Finding 12: help and option errors

def _help(capsys, *args: str) -> str:
    with pytest.raises(SystemExit):
        cli.main([*args, "--help"])
    return capsys.readouterr().out


def test_each_commands_help_lists_only_the_exit_codes_that_apply(capsys):
    sandbox_help, demo_help = _help(capsys, "sandbox"), _help(capsys, "demo")
    for text in (sandbox_help, demo_help):
        assert "exit codes:" in text and not re.search(r"^\s+3\s", text, re.M)
    assert "not initialised" in sandbox_help or "none is initialised" in sandbox_help
    for command in ("report", "lab"):
        usage, description = _help(capsys, command).split("\n\n", 2)[:2]
        assert usage.startswith(f"usage: runbook {command}") and not description.startswith(("positional", "options"))


def test_an_unknown_option_before_the_command_is_said_to_be_unknown(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["--bogus"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--bogus is not recognised" in err and "required" not in err


def test_a_negative_cell_timeout_names_the_option(tmp_path, capsys):
    out = tmp_path / "reports"
    assert cli.main(["run", str(runner.NOTEBOOKS_DIR / "00_pipeline_overview.ipynb"), "--cell-timeout", "-5",
                     "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --cell-timeout=-5 is not valid: ") and "None" not in err and not out.exists()


def _runbook_with_closed(streams: str, *args: str) -> subprocess.CompletedProcess:
    """`runbook ARGS` started as a scheduler or daemon may start it, with `streams` closed (`>&-`, `2>&-`): Python
    then sets sys.stdout or sys.stderr to None (stdout=DEVNULL would not: fd 1 is open there)."""
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "runbook_lib.cli", *args))
    return subprocess.run(["sh", "-c", f"exec {command} {streams}"], capture_output=True, text=True, timeout=120,
                          cwd=runner.PROJECT_ROOT)


def test_a_night_started_with_stdout_and_stderr_closed_runs_and_exits_with_its_own_code(tmp_path):
    """With stdout closed the night's first print was an AttributeError traceback, exit 120, and a night with no
    step; its kernel, started with the same closed streams, must start too. One run: each costs the CLI's start."""
    reports, plan = tmp_path / "reports", tmp_path / "plan.yaml"
    plan.write_text(f"steps:\n  - id: a\n    notebook: {Path(__file__).parent / 'notebooks' / 'example.ipynb'}\n"
                    "    parameters: {rows: 3, chart: false}\n")
    done = _runbook_with_closed(">&- 2>&-", "overnight", str(plan), "-o", str(reports))
    summaries = list(reports.glob("*/overnight-*/summary.json"))
    steps = [(s["step"], s["label"], s["summary"]) for s in json.loads(summaries[0].read_text())["steps"]] \
        if summaries else None
    assert (done.returncode, done.stderr, steps and steps[0][:2]) == (0, "", ("a", "PASS")), steps
