"""Functions sqlglot reads in BigQuery SQL that BigQuery does not have: refused as BigQuery refuses them.

sqlglot's BigQuery parser knows every dialect's functions, and its DuckDB SQL then runs what BigQuery would refuse with
"Function not found". NEXT_DAY (Oracle's, Snowflake's; not in BigQuery's function list,
https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all) ran, and near 9999-12-31 its answer was
past BigQuery's date range and escaped as Python's raw OverflowError when read.
"""
from __future__ import annotations

from sqlglot import exp

from .errors import UnsupportedSQL

# sqlglot class: (the name as written, what BigQuery writes instead)
_NOT_BIGQUERY: dict[type[exp.Expression], tuple[str, str]] = {
    exp.NextDay: ("NEXT_DAY", "for the next Monday after d, write DATE_ADD(DATE_TRUNC(d, WEEK(MONDAY)), INTERVAL 1 WEEK)"),
    # DuckDB's list aggregates (BigQuery's array functions: ARRAY_FIRST, ARRAY_LAST, ARRAY_LENGTH, ARRAY_REVERSE, ...)
    exp.ArrayMin: ("ARRAY_MIN", "write (SELECT MIN(x) FROM UNNEST(arr) AS x)"),
    exp.ArrayMax: ("ARRAY_MAX", "write (SELECT MAX(x) FROM UNNEST(arr) AS x)"),
    exp.ArraySum: ("ARRAY_SUM", "write (SELECT SUM(x) FROM UNNEST(arr) AS x)"),
}

NOT_BIGQUERY = tuple(_NOT_BIGQUERY)


def not_bigquery(node: exp.Expression) -> None:
    name, instead = _NOT_BIGQUERY[type(node)]
    raise UnsupportedSQL(f"Function not found: {name} (BigQuery has no function of that name; {instead}).")
