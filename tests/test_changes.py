"""What changed from one night to the next, in sentences, and the trend charts: generic over any
runbook's figures (nothing here names a real runbook's figure)."""
from __future__ import annotations

import re

import pytest

from runbook_lib import changes


def _step(step="s", verdict="pass", label=None, notebook="s/nb.ipynb", **figures):
    return {"step": step, "verdict": verdict, "label": label or verdict.upper(), "figures": figures,
            "notebook": notebook}


@pytest.mark.parametrize("value, text", [
    (1204, "1,204"), (0, "0"), (2.0, "2"), (0.125, "0.125"), (12345.678, "12,346"), (3.14159, "3.142"), (-3.5, "-3.5"),
    (True, "yes"), (False, "no"), (None, "none"), ("docker", "docker"), ("", "(empty)"),
    (["a@x", "b@y"], "a@x, b@y"), ([], "(empty)"), ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'),
    ("x" * 100, "x" * 59 + "…"),
])
def test_values_are_shown_as_a_reader_reads_them(value, text):
    assert changes.shown(value) == text


@pytest.mark.parametrize("name, old, new, sentences", [
    ("mismatched rows", 1204, 0, ["mismatched rows 1,204 -> 0"]),
    ("share", 0.25, 0.5, ["share 0.25 -> 0.5"]),
    ("phase4 supports dataset_prefix", False, True, ["phase4 supports dataset_prefix: no -> yes"]),
    ("builder", "buildpacks", "docker", ["builder: buildpacks -> docker"]),
    ("top signature", "no-entrypoint", None, ["top signature: no-entrypoint -> none"]),
    ("services healthy", "1/2", "2/2", ["services healthy: 1/2 -> 2/2"]),
    ("external callers", ["a@x"], ["a@x", "b@y", "c@z"], ["new in external callers: b@y, c@z"]),
    ("external callers", ["a@x", "b@y"], ["b@y"], ["gone from external callers: a@x"]),
    ("external callers", ["a@x"], ["b@y"], ["new in external callers: b@y", "gone from external callers: a@x"]),
    ("rows", 3, 3, []), ("builder", "docker", "docker", []), ("flag", True, True, []),
    ("ratio", 0.1 + 0.2, 0.3, []),            # floating-point noise is not news
    ("rows", 1, True, ["rows: 1 -> yes"]),   # a bool is not a number, even in Python
])
def test_figure_changes_are_plain_sentences(name, old, new, sentences):
    assert changes.figure_changes(name, old, new) == sentences


def test_verdict_changes_come_first_then_steps_new_or_gone_then_figures():
    before = [_step("a", "pass", rows=5, builder="docker"), _step("b", "pass", x=1), _step("c", "fail")]
    after = [_step("a", "pass", rows=7, builder="docker"), _step("b", "fail", x=2), _step("d", "pass")]
    found = changes.night_changes(after, before)
    assert [(c.step, c.kind, c.text) for c in found] == [
        ("b", "verdict", "now FAIL (was PASS)"),
        ("d", "step", "new in the plan (not in the night before)"),
        ("c", "step", "no longer in the plan"),
        ("a", "figure", "rows 5 -> 7"),
        ("b", "figure", "x 1 -> 2"),
    ]
    assert changes.night_changes(after, None) == []
    assert changes.night_changes(after, after) == []


def test_a_step_missing_from_a_night_cut_short_was_not_run_that_night_not_dropped_from_the_plan():
    before = [_step("a", "pass"), _step("b", "pass"), _step("c", "pass")]
    found = changes.night_changes([_step("a", "pass")], before, cut_short=True)
    assert [(c.step, c.kind, c.text) for c in found] == [("b", "step", "not run that night"),
                                                         ("c", "step", "not run that night")]


def test_outcomes_count_as_verdict_changes_and_a_run_without_figures_is_not_a_list_of_losses():
    before = _step("a", "pass", rows=5, builder="docker")
    errored = _step("a", "fail", label="ERROR")
    assert [c.text for c in changes.step_changes("a", before, errored)] == ["now ERROR (was PASS)"]
    assert [c.text for c in changes.step_changes("a", errored, before)] == ["now PASS (was ERROR)"]
    # Same verdict, another outcome: still news.
    assert [c.text for c in changes.step_changes("a", _step("a", "fail"), _step("a", "fail", label="NO RESULT"))] == [
        "now NO RESULT (was FAIL)"]


def test_figures_new_and_no_longer_recorded():
    found = changes.step_changes("a", _step("a", old=1, kept=2), _step("a", kept=2, added="x"))
    assert [c.text for c in found] == ["new figure added: x", "no longer recorded: old (was 1)"]


def test_steps_are_matched_by_id_and_notebook_file():
    before = [_step("a", "pass", notebook="a/00_overview.ipynb")]
    after = [_step("a", "pass", notebook="a/01_diagnose.ipynb")]
    assert [(c.step, c.text) for c in changes.night_changes(after, before)] == [
        ("a", "new in the plan (not in the night before)"), ("a", "no longer in the plan")]
    assert changes.step_key({"step": "a", "notebook": None}) == ("a", "")


def _points(svg: str) -> list[tuple[float, float]]:
    line = re.search(r'<polyline points="([^"]+)"', svg).group(1)
    return [tuple(map(float, p.split(","))) for p in line.split()]


def test_trend_chart_is_inline_svg_over_the_numbers():
    svg = changes.sparkline("rows <x>", [3, 5, None, 1], width=96, height=26)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "http" not in svg
    assert "rows &lt;x&gt;: 3, 5, —, 1 (oldest first)" in svg
    points = _points(svg)
    assert len(points) == 3                       # the gap is bridged
    xs, ys = zip(*points)
    assert xs[0] < xs[1] < xs[2] and xs[2] == pytest.approx(93)   # the newest night at the right edge
    assert ys[1] == min(ys) and ys[2] == max(ys)  # 5 highest on the chart (smallest y), 1 lowest
    assert all(0 <= y <= 26 for y in ys)
    circle = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert (float(circle.group(1)), float(circle.group(2))) == pytest.approx(points[-1], abs=0.1)


@pytest.mark.parametrize("values", [[], [3], [None, 3, "x"], [True, False, True], ["1", "2"]])
def test_no_trend_chart_without_two_numbers(values):
    assert changes.sparkline("f", values) is None


def test_a_flat_trend_is_a_flat_line():
    ys = {y for _, y in _points(changes.sparkline("f", [2, 2, 2]))}
    assert ys == {13.0}
