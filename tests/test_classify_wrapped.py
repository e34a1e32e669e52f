"""Logs a terminal hard-wrapped at one width are read with their lines joined (lines.unwrapped)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runbook_lib.diagnose import classify_log
from runbook_lib.diagnose.lines import UNWRAP_MAX_CHARS, unwrapped

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_real_logs import MANIFEST, NEAR, REAL, UNMEASURED, is_near  # noqa: E402


def _wrap(text: str, width: int) -> tuple[str, dict[int, int]]:
    """text cut every `width` characters as a terminal does, and where each of its lines starts then."""
    out: list[str] = []
    where: dict[int, int] = {}
    for n, line in enumerate(text.split("\n"), 1):
        where[n] = len(out) + 1
        out += [line[i:i + width] for i in range(0, len(line), width)] or [""]
    return "\n".join(out), where


PUSH = ("Step #1: error pushing image: Post https://gcr.io/v2/p/app/blobs/uploads/: token auth attempt for registry: "
        "https://gcr.io/v2/token?scope=repository%3Ap%2Fapp%3Apush%2Cpull request failed with status: 403 Forbidden")


def test_a_wrapped_log_is_read_joined_at_the_lines_as_given():
    log = "\n".join(['starting build "b1"', "Step #1: The push refers to repository [gcr.io/p/app]", PUSH,
                     "ERROR: push failed"]) + "\n"
    wrapped, where = _wrap(log, 70)
    assert unwrapped(wrapped) == (log, [where[n] for n in range(1, 6)])
    top = classify_log(wrapped)[0]
    assert (top.signature, top.line) == ("push-permission-denied", where[3])
    assert top.evidence[0] == wrapped.split("\n")[where[3] - 1]   # quoted as given: the line's first piece


@pytest.mark.parametrize("lines", [
    ["x" * 80, "x" * 80, "next"],                                            # a retry's equal lines
    ["Uploading sources...failed" + " " * 60, "Deployment failed" + " " * 69, "ERROR: it broke"],   # padded columns
    ["│ {" + " " * 76 + "│", "│ [" + " " * 76 + "│", "│ ]"],                  # a frame
    ["WARN server version 20.10.6 differs from the one used (19.03.8) ok", "WARN client version 20.10.6 differs "
     "from the one used (19.03.8) ok", "Error: it broke"],                   # two similar lines, ending alike
    ["a" * 50, "b" * 50, "c"],                                               # shorter than any terminal
])
def test_lines_that_only_look_cut_are_left_as_they_are(lines):
    text = "\n".join(lines) + "\n"
    assert unwrapped(text) == (text, None)


def test_a_long_log_is_not_looked_at():
    text = ("y" * 99 + "\n") * (UNWRAP_MAX_CHARS // 100 + 1) + "z" * 99 + "\n"
    assert unwrapped(text) == (text, None)


def test_real_logs_wrapped_at_120_columns_mostly_read_the_same():
    # every real log with a line over 120 characters, cut there as a terminal would: of those read right as
    # stored, at most a few may be read otherwise once wrapped (a log with one long line shows no cut to go by).
    # Measured when unwrapping came in: 19 of 608 lost (48 without it), about one in 32; at stop 46, 26 of 839 (the
    # latest a two-line log whose one long line holds the words that decide it), so the bound is a share, one in 30.
    # The line read is judged in the log's own lines (since stop 58): an answer at the first piece of the line read
    # as stored is that line, however many pieces of the lines between the wrap added (at stop 58, 75 of 2,320 lost,
    # 72 of them logs whose few long lines show no cut to go by; counted in the wrapped lines, 78)
    right = lost = 0
    for name, entry in MANIFEST.items():
        if entry["set"] in UNMEASURED:   # (no test reads a held-out set before its measurement)
            continue
        text = (REAL / name).read_text(encoding="utf-8")
        if max(map(len, text.split("\n"))) <= 120:
            continue
        top = classify_log(text)[0]
        if top.signature != entry["signature"] or not is_near(top.line, entry["error_line"]):
            continue
        wrapped, where = _wrap(text, 120)
        again = classify_log(wrapped)[0]
        right += 1
        stored = {piece: n for n, piece in where.items()}.get(again.line, -NEAR - 1) if again.line else 0
        lost += again.signature != entry["signature"] or not is_near(stored, entry["error_line"])
    assert right > 500 and lost <= right // 30, (right, lost)


def test_a_heading_drawn_to_the_width_is_no_cut():
    # (Elm pads its headings to 80 columns with dashes; the report below is its own, wrapped by Elm, not cut)
    heading = "-- PROBLEM BUILDING DEPENDENCIES " + "-" * 47
    text = "\n".join([heading, "I ran into a compilation error when trying to build the following package:",
                      "x" * 79 + "y", "z"]) + "\n"
    joined, where = unwrapped(text)
    assert joined.split("\n")[0] == heading
