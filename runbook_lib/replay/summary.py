"""Steps 6 and 7 of runbook 03: the isolation verdict, and what each date and phase did.

Rows written to each test table are counted per date in the warehouse and shown next to production's
rows for the same date, so an empty or half-written date stands out before anyone compares values
(runbook 04 does that).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from .fingerprint import Change, Fingerprint, changes, table_print
from .prefix import RUN_HISTORY_CAUSE
from .run import Outcome


@dataclass
class Isolation:
    """Production after the replay against production before it."""

    changed: list[Change] = field(default_factory=list)   # outside allowed_prod_writes: the replay failed
    allowed: list[Change] = field(default_factory=list)   # in allowed_prod_writes: warnings
    run_history_table: str = ""

    @property
    def run_history_added(self) -> int:
        return sum(max(0, c.rows_added) for c in self.allowed if c.ref == self.run_history_table)

    def cause(self, change: Change) -> str:
        if change.ref == self.run_history_table:
            return RUN_HISTORY_CAUSE.format(table=self.run_history_table)
        return "allowed by allowed_prod_writes"

    def table(self) -> pd.DataFrame:
        rows = [{"production table": c.ref, "what changed": c.what, "verdict": "FAIL",
                 "why": "outside allowed_prod_writes"} for c in self.changed]
        rows += [{"production table": c.ref, "what changed": c.what, "verdict": "warn", "why": self.cause(c)}
                 for c in self.allowed]
        return pd.DataFrame(rows, columns=["production table", "what changed", "verdict", "why"])

    def to_dict(self) -> dict:
        return {"changed": [c.to_dict() for c in self.changed], "allowed": [c.to_dict() for c in self.allowed],
                "run_history_added": self.run_history_added}


def judge_isolation(before: Fingerprint, after: Fingerprint, allowed: list[str], run_history_table: str) -> Isolation:
    found = Isolation(run_history_table=run_history_table)
    for change in changes(before, after):
        (found.allowed if change.ref in allowed else found.changed).append(change)
    return found


def test_rows(warehouse: Any, pairs: list[tuple[str, str]], days: list[date]) -> dict[str, dict[date, int]]:
    """Rows per date in each test table (0 where a table is missing), counted in the warehouse."""
    counted = {}
    for _, test in pairs:
        printed = table_print(warehouse, test)
        counted[test] = {day: printed.rows_on(day) for day in days}
    return counted


def per_date_table(outcomes: list[Outcome], pairs_by_phase: dict[str, list[tuple[str, str]]],
                   test: dict[str, dict[date, int]], production: Fingerprint) -> pd.DataFrame:
    """One row per date and phase: status, attempts, seconds, and per output table "test / production" rows."""
    rows = []
    for o in outcomes:
        row: dict[str, Any] = {"date": o.day.isoformat(), "phase": o.phase, "status": o.status,
                               "attempts": o.attempts, "seconds": round(o.seconds, 2), "error": o.error or ""}
        for prod, test_ref in pairs_by_phase.get(o.phase, []):
            printed = production.get(prod)
            row[prod.split(".")[1]] = (f"{test.get(test_ref, {}).get(o.day, 0):,} / "
                                       f"{printed.rows_on(o.day) if printed else 0:,}")
        rows.append(row)
    return pd.DataFrame(rows).fillna("-")   # "-": that table is another phase's output


def rows_chart(pairs: list[tuple[str, str]], days: list[date], test: dict[str, dict[date, int]],
               production: Fingerprint, note: str = ""):
    """Rows per date of each output table: the replay's test table beside production's; `note` instead
    (why nothing ran) when given."""
    import textwrap

    from .. import charts

    if note or not pairs:
        fig = charts.new_figure(8, 1.6)
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, textwrap.fill(note or "no output tables", 110), ha="center", va="center", fontsize=8)
        ax.set_axis_off()
        return fig
    columns = min(3, len(pairs))
    lines = -(-len(pairs) // columns)
    fig = charts.new_figure(3.2 * columns, 2.4 * lines)
    labels = [d.strftime("%m-%d") for d in days]
    width = 0.4
    for i, (prod, test_ref) in enumerate(pairs):
        ax = fig.add_subplot(lines, columns, i + 1)
        printed = production.get(prod)
        xs = list(range(len(days)))
        ax.bar([x - width / 2 for x in xs], [test.get(test_ref, {}).get(d, 0) for d in days], width,
               label="test", color="#1f6feb")
        ax.bar([x + width / 2 for x in xs], [printed.rows_on(d) if printed else 0 for d in days], width,
               label="production", color="#8c959f")
        ax.set_title(prod.split(".")[1], fontsize=8)
        ax.set_xticks(xs, labels, fontsize=6, rotation=90 if len(days) > 7 else 0)
        ax.tick_params(axis="y", labelsize=6)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="upper right", fontsize=7, ncols=2)
    fig.suptitle("Rows per date: test table vs production", fontsize=9)
    return fig
