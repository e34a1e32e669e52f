"""Test-only parameter model and helpers for the runner's fixture notebooks (not part of the kit)."""
from __future__ import annotations

import sys
from typing import Literal

from pydantic import Field

from runbook_lib import charts
from runbook_lib.params import RunbookParams
from runbook_lib.results import Result


class ExampleParams(RunbookParams):
    verdict: Literal["pass", "warn", "fail", "blocked"] = "pass"
    rows: int = Field(3, ge=1, le=1000)
    api_token: str = ""
    chart: bool = True


def check(p: ExampleParams) -> Result:
    """A fake check whose verdict is a parameter. With a token it behaves like careless code that
    prints and records the secret, so the tests can prove masking catches it everywhere."""
    details = {"rows_seen": list(range(p.rows)), "python": sys.executable}
    summary = f"{p.rows} rows checked"
    if p.api_token:
        print(f"calling the service with Authorization: Bearer {p.api_token}")
        print(f"the token was {p.api_token}")
        details["request"] = {"headers": {"Authorization": f"Bearer {p.api_token}"}, "token": p.api_token}
        summary += f" with token {p.api_token}"
    return Result(name="example check", verdict=p.verdict, summary=summary,
                  figures={"rows": p.rows, "verdict asked": p.verdict}, details=details)


def show_chart(p: ExampleParams) -> None:
    """Draw the rows chart unless chart=False (matplotlib costs a second or two per run in tests)."""
    if not p.chart:
        return
    fig = charts.new_figure(4, 2)
    ax = fig.add_subplot()
    ax.bar(range(p.rows), [i + 1 for i in range(p.rows)])
    ax.set_title("rows")
    charts.show(fig, "rows")


def explode(p: ExampleParams) -> None:
    raise RuntimeError("boom: the fixture runbook failed on purpose")
