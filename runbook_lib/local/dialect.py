"""BigQuery SQL -> DuckDB SQL, with the known silent differences corrected."""
from __future__ import annotations

import sqlglot
from sqlglot import exp


def _strip_project(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and node.args.get("catalog") is not None:
        node.set("catalog", None)
    return node


def to_duckdb(sql: str, many: bool = False):
    trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    out = [t.transform(_strip_project).sql(dialect="duckdb") for t in trees]
    if many:
        return out
    if len(out) != 1:
        raise ValueError(f"expected one SQL statement, got {len(out)}")
    return out[0]
