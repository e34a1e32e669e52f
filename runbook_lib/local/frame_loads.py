"""DataFrames on their way into the sandbox's warehouse (LocalWarehouse.load_dataframes): made readable by DuckDB,
and refused where DuckDB would round their values where BigQuery keeps them."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import ParameterError
from .bigquery.casts import bignumeric_refusal, decimal_places, too_wide_for_bignumeric

if TYPE_CHECKING:
    import pandas as pd

_NUMERIC_DECIMALS = 9   # BigQuery's NUMERIC: more decimal places make a loaded column BIGNUMERIC


def duckdb_readable(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with db-dtypes' DATE and TIME columns (what query() and BigQuery's to_dataframe give) as
    Python dates and times, which DuckDB reads as DATE and TIME; it does not know the dtypes themselves."""
    foreign = [c for c in df.columns if df[c].dtype.name in ("dbdate", "dbtime")]
    return df.astype({c: object for c in foreign}) if foreign else df


def refuse_rounded_bignumerics(ref: str, df: pd.DataFrame, bignumeric_columns: set[str]) -> None:
    """Refuse a load whose Decimal values would be rounded into the sandbox's BIGNUMERIC, DECIMAL(38, 18):
    appended to a BIGNUMERIC column, or in a column BigQuery types BIGNUMERIC (a value with more than NUMERIC's
    9 decimal places), a value with more than 18 decimal places or 20 integer digits. DuckDB would round it
    silently (or refuse it in its own words); BigQuery's BIGNUMERIC holds 38 and 38."""
    for column in df.columns:
        values = df[column]
        if values.dtype != object:
            continue
        decimals = [v for v in values if isinstance(v, Decimal) and v.is_finite()]
        if not decimals:
            continue
        wide = next((v for v in decimals if too_wide_for_bignumeric(v)), None)
        bignumeric = column in bignumeric_columns or any(decimal_places(v) > _NUMERIC_DECIMALS for v in decimals)
        if wide is not None and bignumeric:
            raise ParameterError(f"frames[{ref!r}][{column!r}]", wide, bignumeric_refusal(wide).rstrip("."))


