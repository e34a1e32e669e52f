"""Runbook 04: compare and chart test output against production, inside the warehouse.

tables.py      compare_tables -> TableDiff: two passes of BigQuery SQL (row fingerprints, then the detail
               of the rows whose fingerprints differ), run under a dry-run cost limit
parameters.py  compare_tables' parameters checked against both tables' schemas
diff.py        TableDiff, SchemaDiff and the Thresholds a verdict is judged against
verdict.py     a TableDiff's verdict, one-line summary, figures and details
plan.py        the Plan a comparison runs: tables, key, compared columns and their types, partitioning
sql.py         the statements themselves, written from a Plan
replay.py      compare_replay -> ReplayComparison: every table a prefixed replay wrote, over its dates
charts.py      rows per date, mismatch heatmap, |test - production| histograms, test vs production scatter
values.py      the results' cells as plain Python values (sample, JSON, display)
"""
from .charts import delta_histograms, mismatch_heatmap, mismatch_rates, rows_per_date_chart, scatter_test_vs_prod
from .replay import ReplayComparison, compare_replay
from .diff import SchemaDiff, TableDiff, Thresholds
from .tables import CostRefused, compare_tables

__all__ = ["CostRefused", "ReplayComparison", "SchemaDiff", "TableDiff", "Thresholds", "compare_replay",
           "compare_tables", "delta_histograms", "mismatch_heatmap", "mismatch_rates", "rows_per_date_chart",
           "scatter_test_vs_prod"]
