"""A TableDiff's verdict against its Thresholds, its one-line summary, figures and details."""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from .diff import TableDiff
from .values import json_value

SHOWN_SAMPLE_ROWS = 20   # the sample rows (and one-sided keys per side) the details carry


def conclude(diff: TableDiff) -> TableDiff:
    """Set the verdict, the one-line summary, figures and details from the counts."""
    t = diff.thresholds
    failures, notes = [], []
    changed = diff.differing_columns()
    if diff.changed_rows:
        where = _dates_text(diff.mismatch_dates())
        text = (f"{diff.changed_rows:,} of {diff.matched_rows:,} matched rows differ ({diff.changed_rate:.2%}) "
                f"in {_names(changed)}{' on ' + where if where else ''}")
        (failures if diff.changed_rate > t.max_changed_rate else notes).append(text)
    for count, total, limit, what in ((diff.only_in_prod, diff.rows_prod, t.max_missing_rate, "only in production"),
                                      (diff.only_in_test, diff.rows_test, t.max_extra_rate, "only in test")):
        if count:
            (failures if count / max(total, 1) > limit else notes).append(f"{_rows(count)} {what}")
    duplicates = diff.duplicate_keys_prod + diff.duplicate_keys_test
    if duplicates:
        text = (f"{duplicates:,} duplicate key{'s' if duplicates != 1 else ''} ({diff.duplicate_keys_prod:,} in "
                f"production, {diff.duplicate_keys_test:,} in test)")
        (failures if duplicates > t.max_duplicate_keys else notes).append(text)
    if diff.schema:
        (failures if diff.schema.missing else notes).append(diff.schema.describe())
    if not diff.rows_prod and not diff.rows_test:
        notes.append("no rows on either side")
    diff.verdict = "fail" if failures else "warn" if notes else "pass"
    if diff.verdict == "pass":
        diff.summary = (f"{diff.test_table} matches {diff.prod_table}: {diff.rows_prod:,} rows, every key on both sides, "
                        f"no compared column differs beyond tolerance.")
    else:
        diff.summary = f"{diff.test_table} vs {diff.prod_table}: " + "; ".join(failures + notes) + "."
    return describe(diff)


def describe(diff: TableDiff) -> TableDiff:
    """The figures and details of a diff whose verdict and summary are set."""
    diff.figures = {"rows (prod/test)": f"{diff.rows_prod:,}/{diff.rows_test:,}" if diff.compared else "-",
                    "changed rows": diff.changed_rows, "only in production": diff.only_in_prod,
                    "only in test": diff.only_in_test,
                    "duplicate keys": diff.duplicate_keys_prod + diff.duplicate_keys_test,
                    "columns differing": len(diff.differing_columns()), "schema differences": diff.schema.count()}
    diff.details = details(diff)
    return diff


def details(diff: TableDiff) -> dict[str, Any]:
    """Everything the comparison found, JSON-safe (the sample cut to its first rows)."""
    def records(frame: pd.DataFrame, limit: int | None = None, values: tuple[str, ...] = ()) -> list[dict]:
        """Rows as plain values; a NaN in `values` is the value NaN (the sample's), elsewhere a NULL."""
        shown = frame if limit is None else frame.head(limit)
        return [{k: json_value(v, "NaN" if k in values else None) for k, v in row.items()}
                for row in shown.to_dict(orient="records")]

    return {
        "prod_table": diff.prod_table, "test_table": diff.test_table, "keys": list(diff.keys),
        "compared_columns": diff.compared_columns, "excluded": diff.excluded, "partition_column": diff.partition_column,
        **{name: getattr(diff, name) for name in (
            "rows_prod", "rows_test", "only_in_prod", "only_in_test", "matched_rows", "changed_rows",
            "duplicate_keys_prod", "duplicate_keys_test", "ambiguous_rows_prod", "ambiguous_rows_test")},
        "changed_rate": diff.changed_rate, "column_mismatches": diff.column_mismatches,
        "max_abs_delta": {c: json_value(v) for c, v in diff.max_abs_delta.items()}, "schema": diff.schema.to_dict(),
        "mismatch_dates": {c: [str(d) for d in diff.mismatch_dates(c)] for c in diff.differing_columns()},
        "partitions": records(diff.partitions), "sample": records(diff.sample, SHOWN_SAMPLE_ROWS, ("prod_value", "test_value")),
        "one_sided_keys": records(diff.one_sided_keys.groupby("side").head(SHOWN_SAMPLE_ROWS)
                                  if not diff.one_sided_keys.empty else diff.one_sided_keys),
        "abs_tol": diff.abs_tol, "rel_tol": diff.rel_tol, "thresholds": diff.thresholds.to_dict(),
        "bytes_estimated": diff.bytes_estimated, "compared": diff.compared,
    }


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _names(columns: list[str], limit: int = 4) -> str:
    return ", ".join(columns[:limit]) + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _dates_text(values: list[Any]) -> str:
    if not values:
        return ""
    if len(values) <= 3:
        return ", ".join(str(v) for v in values)
    kind = "dates" if all(isinstance(v, date) for v in values) else "partitions"
    return f"{len(values)} {kind} from {values[0]} to {values[-1]}"
