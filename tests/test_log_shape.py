"""The report below a line (LogShape._report_below): the lines that telling_line_below, says_below and
chain_end_below read, within its Cloud Build step."""
from runbook_lib.diagnose.log_structure import LogShape

LOG = """Step #0 - "build": error: the report opens here
Step #0 - "build": caused by: the first wrapped error
Step #0 - "build": caused by: the wrapped error at the end of the chain
Step #1 - "push": caused by: another step's line, which no report of step 0 reaches
Step #1 - "push": hint: another step's advice
"""


def _shape_and_first_line():
    return LogShape(LOG), 0, 1   # (the report opens at the log's first character, line 1)


def test_telling_line_below_reads_the_report_in_its_step_only():
    shape, start, lineno = _shape_and_first_line()
    found = shape.telling_line_below(start, lineno, lambda own: own.startswith("caused by:"))
    assert found is not None and found[0] == 2 and "first wrapped" in found[2]
    assert shape.telling_line_below(start, lineno, lambda own: own.startswith("hint:")) is None


def test_telling_line_below_after_gives_the_next_line_of_the_report():
    shape, start, lineno = _shape_and_first_line()
    found = shape.telling_line_below(start, lineno, lambda own: "first wrapped" in own, after=True)
    assert found is not None and found[0] == 3


def test_says_below_stops_at_the_step_and_at_until():
    shape, start, lineno = _shape_and_first_line()
    assert shape.says_below(start, lineno, lambda own: "end of the chain" in own, lambda own: False)
    assert not shape.says_below(start, lineno, lambda own: own.startswith("hint:"), lambda own: False)
    assert not shape.says_below(start, lineno, lambda own: "end of the chain" in own, lambda own: "first" in own)


def test_chain_end_below_ends_with_the_step():
    shape, start, lineno = _shape_and_first_line()
    found = shape.chain_end_below(start, lineno, lambda own: own.startswith("caused by:"))
    assert found is not None and found[0] == 3
