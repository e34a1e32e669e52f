"""Charts of a replay comparison (matplotlib figures for `runbook_lib.charts.show`).

Each is drawn from what compare_replay already brought back (counts per date, mismatches per
column, the |test - production| histogram, the sample), never from another scan of the tables.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .. import charts
from .replay import ReplayComparison
from .diff import TableDiff
from .values import is_number

PROD_COLOUR, TEST_COLOUR, BEYOND_COLOUR = "#4c72b0", "#dd8452", "#c44e52"
HEATMAP_COLUMNS = 30   # the most differing columns a heatmap shows (a page's width); the title says how many more
LABELLED_DATES = 16    # dates a panel of the rows chart has room to label "N differ" over each


def _span(result: ReplayComparison) -> str:
    return f"{result.start_date} to {result.end_date}" if result.start_date else "no dates"


def _empty(fig: Any, title: str, text: str) -> Any:
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def rows_per_date_chart(result: ReplayComparison) -> Any:
    """Rows per partition date, production beside test, one panel per table (dates where they differ stand out)."""
    diffs = [d for d in result.diffs if not d.partitions.empty]
    if not diffs:
        return _empty(charts.new_figure(8, 2.5), "Rows per date: test vs production", result.summary)
    cols = 2 if len(diffs) > 1 else 1
    rows = math.ceil(len(diffs) / cols)
    fig = charts.new_figure(10, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, diff in zip(axes, diffs):
        frame = diff.partitions
        dates = pd.to_datetime(frame["partition_value"].astype(str), errors="coerce")
        x = np.arange(len(frame))
        ax.bar(x - 0.2, frame["rows_prod"], width=0.4, color=PROD_COLOUR, label="production")
        ax.bar(x + 0.2, frame["rows_test"], width=0.4, color=TEST_COLOUR, label="test")
        changed = frame["changed_rows"] + frame["only_in_prod"] + frame["only_in_test"]
        differing = np.flatnonzero(changed.to_numpy() > 0)
        tops = np.maximum(frame["rows_prod"].to_numpy(dtype=float), frame["rows_test"].to_numpy(dtype=float))
        title = diff.prod_table
        if len(frame) <= LABELLED_DATES:
            for i in differing:
                ax.annotate(f"{int(changed.iloc[i])} differ", (x[i], tops[i]), ha="center", va="bottom", fontsize=6,
                            color=BEYOND_COLOUR)
        elif len(differing):   # a label per date would print over its neighbours: a mark, and the count in the title
            ax.plot(x[differing], tops[differing], linestyle="none", marker="v", ms=3, color=BEYOND_COLOUR)
            title += f" ({len(differing)} of {len(frame)} dates differ, marked \u25bc)"
        labels = [d.strftime("%m-%d") if pd.notna(d) else str(v) for d, v in zip(dates, frame["partition_value"])]
        step = max(1, len(labels) // 12)
        ax.set_xticks(x[::step], labels[::step], fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("rows", fontsize=7)
        ax.set_xlabel(f"{diff.partition_column or 'partition'} (month-day)", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(diffs):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Rows per date, test vs production, {_span(result)}", fontsize=10)
    return fig


def mismatch_rates(result: ReplayComparison, limit: int | None = None) -> pd.DataFrame:
    """Table x column: mismatched rows as a percentage of key-matched rows (columns that differ somewhere;
    with `limit`, the `limit` columns with the highest rate in some table)."""
    rates: dict[str, float] = {}
    for d in result.diffs:
        for c in d.differing_columns():
            rates[c] = max(rates.get(c, 0.0), d.column_mismatches[c] / max(d.matched_rows, 1))
    columns = sorted(rates)
    if limit is not None:
        columns = sorted(sorted(rates, key=lambda c: (-rates[c], c))[:limit])
    frame = pd.DataFrame(index=[d.prod_table for d in result.diffs], columns=columns, dtype=float)
    for d in result.diffs:
        for c in columns:
            if c in d.column_mismatches:   # a column the table compares (0 where it matched everywhere)
                frame.loc[d.prod_table, c] = 100.0 * d.column_mismatches[c] / max(d.matched_rows, 1)
    return frame


def mismatch_heatmap(result: ReplayComparison) -> Any:
    """Mismatch rate by table and column, for the columns that differ in some table."""
    rates = mismatch_rates(result, HEATMAP_COLUMNS)
    title = f"Mismatch rate by table and column, {_span(result)}"
    differing = len({c for d in result.diffs for c in d.differing_columns()})
    if differing > len(rates.columns):
        shown = len(rates.columns)
        title += f"\n(the {shown} columns with the highest rate; {differing - shown} more differ)"
    if rates.empty or rates.columns.empty:
        return _empty(charts.new_figure(8, 2.0), title, "No compared column differs beyond tolerance.")
    fig = charts.new_figure(max(6.0, 1.0 + 0.9 * len(rates.columns)), 1.6 + 0.45 * len(rates.index))
    ax = fig.add_subplot()
    values = rates.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="Reds", vmin=0, vmax=max(1.0, np.nanmax(values)), aspect="auto")
    ax.set_xticks(range(len(rates.columns)), rates.columns, rotation=35, ha="right", fontsize=7)
    ax.set_yticks(range(len(rates.index)), rates.index, fontsize=7)
    for (i, j), value in np.ndenumerate(values):
        if not np.isnan(value):   # blank: the table has no such column
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="% of key-matched rows")
    ax.set_title(title, fontsize=10)
    return fig


def _top_numeric(result: ReplayComparison, top: int) -> list[tuple[TableDiff, str]]:
    found = [(d.column_mismatches[c], d, c) for d in result.diffs for c in d.differing_columns()
             if c in d.max_abs_delta]
    return [(d, c) for _, d, c in sorted(found, key=lambda t: (-t[0], t[1].prod_table, t[2]))[:top]]


def delta_histograms(result: ReplayComparison, top: int = 4) -> Any:
    """|test - production| by power of ten for the numeric columns that differ most: cells within
    tolerance and beyond it (from the warehouse's histogram, every changed row counted)."""
    chosen = _top_numeric(result, top)
    title = f"|test - production| of the numeric columns that differ most, {_span(result)}"
    if not chosen:
        return _empty(charts.new_figure(8, 2.0), title, "No numeric column differs beyond tolerance.")
    fig = charts.new_figure(10, 2.8 * math.ceil(len(chosen) / 2))
    axes = fig.subplots(math.ceil(len(chosen) / 2), min(2, len(chosen)), squeeze=False).ravel()
    for ax, (diff, column) in zip(axes, chosen):
        hist = diff.delta_histogram[diff.delta_histogram["column"] == column]
        labels = [f"{10.0 ** d:g} to {10.0 ** (d + 1):g}" for d in hist["decade"]]
        x = np.arange(len(hist))
        within = hist["cells"] - hist["mismatches"]
        ax.bar(x, within, color=PROD_COLOUR, label="within tolerance")
        ax.bar(x, hist["mismatches"], bottom=within, color=BEYOND_COLOUR, label="beyond tolerance")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_xlabel(f"|test - production| of {column}, in {column}'s units", fontsize=7)
        ax.set_ylabel("rows", fontsize=7)
        ax.set_title(f"{diff.prod_table}.{column}", fontsize=8)
    for ax in axes[len(chosen):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def scatter_test_vs_prod(result: ReplayComparison) -> Any:
    """Test against production for the numeric column that differs most (mismatched rows of the sample)."""
    chosen = _top_numeric(result, 1)
    title = f"Test vs production, {_span(result)}"
    if not chosen:
        return _empty(charts.new_figure(6, 2.0), title, "No numeric column differs beyond tolerance.")
    diff, column = chosen[0]
    pairs = diff.sample[diff.sample["column"] == column]
    pairs = pairs[pairs["prod_value"].map(is_number) & pairs["test_value"].map(is_number)]
    fig = charts.new_figure(6, 5)
    ax = fig.add_subplot()
    prod, test = pairs["prod_value"].astype(float), pairs["test_value"].astype(float)
    ax.scatter(prod, test, s=10, alpha=0.6, color=TEST_COLOUR, label=f"{len(pairs)} mismatched rows (sample)")
    if len(pairs):
        low, high = float(min(prod.min(), test.min())), float(max(prod.max(), test.max()))
        ax.plot([low, high], [low, high], color="grey", lw=1, ls="--", label="test = production")
    dates = diff.mismatch_dates(column)
    when = f"{dates[0]} to {dates[-1]}" if dates else _span(result)
    ax.set_xlabel(f"production {column} ({column}'s units)")
    ax.set_ylabel(f"test {column} ({column}'s units)")
    ax.set_title(f"Test vs production: {diff.prod_table}.{column}\nmismatched dates {when}", fontsize=9)
    ax.legend(fontsize=7)
    return fig
