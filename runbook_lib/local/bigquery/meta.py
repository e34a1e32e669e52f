"""`_runbook_meta`: what the warehouse keeps beside DuckDB's catalog, and the only module that knows its layout.

DuckDB has no place for a table's partition column, a dataset's default table expiration or a
table's expiry, so the warehouse keeps them in two tables of an internal schema that
list_datasets() and INFORMATION_SCHEMA never show. The warehouse writes them through the
functions below; the INFORMATION_SCHEMA views join them through `join_tables` / `join_datasets`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

SCHEMA = "_runbook_meta"
# DuckDB's own schemas and ours: never a BigQuery dataset.
HIDDEN_SCHEMAS = (SCHEMA, "main", "information_schema", "pg_catalog")

_DATASETS = f"{SCHEMA}.datasets"
_TABLES = f"{SCHEMA}.tables"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {_DATASETS} (
    dataset VARCHAR, default_table_expiration_days DOUBLE, created_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS {_TABLES} (
    dataset VARCHAR, table_name VARCHAR, partition_column VARCHAR, created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ);
"""


# ---------------------------------------------------------------------------------------------
# For the INFORMATION_SCHEMA views (SQL fragments)

def join_tables(alias: str, dataset_sql: str, table_sql: str) -> str:
    """LEFT JOIN of the table metadata as `alias`; the view reads alias.partition_column and alias.created_at."""
    return f"LEFT JOIN {_TABLES} AS {alias} ON {alias}.dataset = {dataset_sql} AND {alias}.table_name = {table_sql}"


def join_datasets(alias: str, dataset_sql: str) -> str:
    """LEFT JOIN of the dataset metadata as `alias`; the view reads alias.created_at."""
    return f"LEFT JOIN {_DATASETS} AS {alias} ON {alias}.dataset = {dataset_sql}"


# ---------------------------------------------------------------------------------------------
# For the warehouse (each takes an open DuckDB connection on the warehouse file)

def exists(con) -> bool:
    return con.execute(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $s "
        "AND table_name IN ('datasets', 'tables')", {"s": SCHEMA}).fetchall()[0][0] == 2


def table_meta(con, dataset: str, table: str) -> dict:
    """partition_column, created_at and expires_at of a table, or {} when none are recorded."""
    rows = con.execute(
        f"SELECT partition_column, created_at, expires_at FROM {_TABLES} WHERE dataset = $d AND table_name = $t",
        {"d": dataset, "t": table}).fetchall()
    return dict(zip(("partition_column", "created_at", "expires_at"), rows[0])) if rows else {}


def set_table_meta(con, dataset: str, table: str, partition: str | None, created: datetime,
                   expires: datetime | None) -> None:
    forget_table(con, dataset, table)
    con.execute(f"INSERT INTO {_TABLES} VALUES ($d, $t, $p, $c, $e)",
                {"d": dataset, "t": table, "p": partition, "c": created, "e": expires})


def set_partition_column(con, dataset: str, table: str, partition: str) -> None:
    con.execute(f"UPDATE {_TABLES} SET partition_column = $p WHERE dataset = $d AND table_name = $t",
                {"p": partition, "d": dataset, "t": table})


def rename_table(con, dataset: str, table: str, new_name: str) -> None:
    con.execute(f"UPDATE {_TABLES} SET table_name = $n WHERE dataset = $d AND table_name = $t",
                {"n": new_name, "d": dataset, "t": table})


def forget_table(con, dataset: str, table: str) -> None:
    con.execute(f"DELETE FROM {_TABLES} WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table})


def set_dataset_meta(con, dataset: str, days: float | None, created: datetime) -> None:
    con.execute(f"DELETE FROM {_DATASETS} WHERE dataset = $d", {"d": dataset})
    con.execute(f"INSERT INTO {_DATASETS} VALUES ($d, $x, $c)", {"d": dataset, "x": days, "c": created})


def forget_dataset(con, dataset: str) -> None:
    """Drop a dataset's metadata and that of every table in it."""
    con.execute(f"DELETE FROM {_TABLES} WHERE dataset = $d", {"d": dataset})
    con.execute(f"DELETE FROM {_DATASETS} WHERE dataset = $d", {"d": dataset})


def default_expiry(con, dataset: str, created: datetime) -> datetime | None:
    """When a table created in `dataset` at `created` expires, from the dataset's default expiration."""
    rows = con.execute(f"SELECT default_table_expiration_days FROM {_DATASETS} WHERE dataset = $d",
                       {"d": dataset}).fetchall()
    days = rows[0][0] if rows else None
    return created + timedelta(days=days) if days else None
