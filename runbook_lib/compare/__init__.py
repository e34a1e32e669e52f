"""Runbook 04: compare and chart test output against production, inside the warehouse.

tables.py  compare_tables -> TableDiff: two passes of BigQuery SQL (row fingerprints, then the detail
           of the rows whose fingerprints differ), a verdict against Thresholds
sql.py     the statements themselves
replay.py  compare_replay -> ReplayComparison: every table a prefixed replay wrote, over its dates
charts.py  rows per date, mismatch heatmap, |test - production| histograms, test vs production scatter
values.py  the results' cells as plain Python values (sample, JSON, display)
"""
from .charts import delta_histograms, mismatch_heatmap, mismatch_rates, rows_per_date_chart, scatter_test_vs_prod
from .replay import ReplayComparison, compare_replay
from .tables import CostRefused, SchemaDiff, TableDiff, Thresholds, compare_tables

__all__ = ["CostRefused", "ReplayComparison", "SchemaDiff", "TableDiff", "Thresholds", "compare_replay",
           "compare_tables", "delta_histograms", "mismatch_heatmap", "mismatch_rates", "rows_per_date_chart",
           "scatter_test_vs_prod"]
