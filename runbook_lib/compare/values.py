"""Cells of a comparison's results as plain Python values: for the sample, the report's JSON and display.

Both targets hand rows over as DataFrames typed as the BigQuery client types them (a DATE as a
pandas Timestamp locally, a date on BigQuery; NULL as NaN in a float column, NA in an integer one;
an ARRAY as a numpy array), so values are made plain once, here.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from ..checks import as_date
from .plan import base_type


def cell_value(value: Any, bigquery_type: str = "", nested: bool = False) -> Any:
    """A cell as a plain Python value of its BigQuery type (DATE columns arrive as pandas Timestamps
    locally, as dates on BigQuery; NULL as None, never pandas' NA or NaN; an ARRAY as a list, a STRUCT
    as a dict of plain values), usable again as a query parameter. A NaN in a DataFrame's float column stands
    for a NULL; inside an ARRAY or a STRUCT (`nested`), where a NULL is None, a NaN is the value NaN."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return value if nested else None
    if base_type(bigquery_type) == "DATE" and isinstance(value, (date, pd.Timestamp)):
        return as_date("value", value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0):
        return [cell_value(v, nested=True) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, dict):
        return {k: cell_value(v, nested=True) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def json_value(value: Any, nan: str | None = None) -> Any:
    """A value for JSON and display: the infinities as text, which JSON has no number for, and NaN as
    `nan` (None where a NaN stands for a NULL, as it does in a float column of a DataFrame)."""
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return nan
    value = cell_value(value)
    if isinstance(value, list):   # inside, a NULL is None and a NaN is NaN: said as text, as the infinities
        return [json_value(v, nan="NaN") for v in value]
    if isinstance(value, dict):
        return {k: json_value(v, nan="NaN") for k, v in value.items()}
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def is_number(value: Any) -> bool:
    """A finite INT64, FLOAT64 or NUMERIC value."""
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and math.isfinite(value)


def abs_delta(prod: Any, test: Any) -> float | None:
    """|test - prod| of two numbers, subtracted exactly when both are exact (INT64, NUMERIC)."""
    if not (is_number(prod) and is_number(test)):
        return None
    if isinstance(prod, float) or isinstance(test, float):
        return abs(float(test) - float(prod))
    return float(abs(Decimal(test) - Decimal(prod)))


def sort_text(value: Any) -> str:
    """Partition values may be dates, numbers or text, with None for "no partition": sorted as text."""
    return "" if value is None else str(value)


def sort_key(series: pd.Series) -> pd.Series:
    """sort_text as a pandas sort key."""
    return series.map(sort_text)
