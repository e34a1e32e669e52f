"""INFORMATION_SCHEMA views with BigQuery's names and columns, over DuckDB's catalog and `_runbook_meta`.

BigQuery's `dataset.INFORMATION_SCHEMA.TABLES` (and COLUMNS) list one dataset, the
`region-<name>` qualifier every dataset; SCHEMATA lists datasets; `dataset.INFORMATION_SCHEMA.PARTITIONS`
the partitions of a dataset's tables. Each view becomes a subquery in
DuckDB SQL; the warehouse checks that a named dataset exists before it runs (Statement.datasets).
"""
from __future__ import annotations

import sqlglot
from sqlglot import exp

from . import meta
from .errors import UnsupportedSQL
from .sqltree import sql_text

_HIDDEN_SQL = ", ".join(sql_text(s) for s in meta.HIDDEN_SCHEMAS)


def _tables_view(project: str, dataset: str | None) -> str:
    where = f"AND t.schema_name = {sql_text(dataset)}" if dataset else ""
    return f"""
        SELECT {sql_text(project)} AS table_catalog, t.schema_name AS table_schema, t.table_name AS table_name,
               t.table_type AS table_type, t.is_insertable_into AS is_insertable_into, 'NO' AS is_typed,
               m.created_at AS creation_time
        FROM (SELECT schema_name, table_name, 'BASE TABLE' AS table_type, 'YES' AS is_insertable_into
              FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary
              UNION ALL
              SELECT schema_name, view_name, 'VIEW', 'NO'
              FROM duckdb_views() WHERE database_name = current_database() AND NOT temporary AND NOT internal) AS t
        {meta.join_tables("m", "t.schema_name", "t.table_name")}
        WHERE t.schema_name NOT IN ({_HIDDEN_SQL}) {where}
        ORDER BY t.schema_name, t.table_name"""


def _columns_view(project: str, dataset: str | None) -> str:
    where = f"AND c.schema_name = {sql_text(dataset)}" if dataset else ""
    return f"""
        SELECT {sql_text(project)} AS table_catalog, c.schema_name AS table_schema, c.table_name AS table_name,
               c.column_name AS column_name, CAST(c.column_index AS BIGINT) AS ordinal_position,
               CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable,
               _bq_type(c.data_type) AS data_type, 'NEVER' AS is_generated, 'NO' AS is_hidden,
               'NO' AS is_system_defined,
               CASE WHEN m.partition_column = c.column_name THEN 'YES' ELSE 'NO' END AS is_partitioning_column,
               CAST(NULL AS BIGINT) AS clustering_ordinal_position
        FROM duckdb_columns() AS c
        {meta.join_tables("m", "c.schema_name", "c.table_name")}
        WHERE c.database_name = current_database() AND NOT c.internal AND c.schema_name NOT IN ({_HIDDEN_SQL}) {where}
        ORDER BY c.schema_name, c.table_name, c.column_index"""


def _partitions_view(project: str, dataset: str) -> str:
    """Rows, logical bytes and last change per partition, from the statistics the warehouse keeps as
    tables change (BigQuery's storage metadata: no table scan)."""
    return f"""
        SELECT {sql_text(project)} AS table_catalog, p.dataset AS table_schema, p.table_name AS table_name,
               p.partition_id AS partition_id, p.total_rows AS total_rows,
               p.total_logical_bytes AS total_logical_bytes, p.total_logical_bytes AS total_billable_bytes,
               p.last_modified AS last_modified_time, 'ACTIVE' AS storage_tier
        FROM {meta.PARTITIONS} AS p
        WHERE p.dataset = {sql_text(dataset)}
        ORDER BY p.table_name, p.partition_id"""


def _schemata_view(project: str, location: str | None) -> str:
    """Datasets; `region-<location>` lists only those in that location, as in BigQuery (a dataset made
    without one is in the warehouse's default, US)."""
    where = f"AND LOWER(COALESCE(m.location, 'US')) = LOWER({sql_text(location)})" if location else ""
    return f"""
        SELECT {sql_text(project)} AS catalog_name, s.schema_name AS schema_name, CAST(NULL AS VARCHAR) AS schema_owner,
               m.created_at AS creation_time, m.created_at AS last_modified_time,
               COALESCE(m.location, 'US') AS location,
               CAST(NULL AS VARCHAR) AS ddl, CAST(NULL AS VARCHAR) AS default_collation_name
        FROM duckdb_schemas() AS s
        {meta.join_datasets("m", "s.schema_name")}
        WHERE s.database_name = current_database() AND NOT s.internal AND s.schema_name NOT IN ({_HIDDEN_SQL}) {where}
        ORDER BY s.schema_name"""


def is_information_schema(table: exp.Table) -> bool:
    return table.name.upper().startswith("INFORMATION_SCHEMA.")


def view_for(table: exp.Table, project: str, datasets: list[str]) -> exp.Expression | None:
    """The DuckDB subquery for an INFORMATION_SCHEMA table reference, or None for any other table.

    A dataset-qualified view appends its dataset to `datasets`, which must exist when it runs.
    """
    if not is_information_schema(table):
        return None
    view = table.name.split(".", 1)[1].upper()
    qualifier = table.db or None
    region = qualifier[len("region-"):] if qualifier and qualifier.lower().startswith("region-") else None
    dataset = None if region else qualifier
    if view == "SCHEMATA":
        sql = _schemata_view(project, region)
    elif view in ("TABLES", "COLUMNS", "PARTITIONS"):
        if not qualifier or (view == "PARTITIONS" and not dataset):
            which = "a dataset" if view == "PARTITIONS" else "a dataset or region"
            raise UnsupportedSQL(
                f"INFORMATION_SCHEMA.{view} needs {which} qualifier "
                f"(dataset.INFORMATION_SCHEMA.{view}), as in BigQuery without a default dataset."
            )
        if dataset:
            datasets.append(dataset)
        sql = {"TABLES": _tables_view, "COLUMNS": _columns_view, "PARTITIONS": _partitions_view}[view](
            project, dataset)
    else:
        raise UnsupportedSQL(
            f"The local warehouse does not support INFORMATION_SCHEMA.{view}; it offers TABLES, COLUMNS, "
            "PARTITIONS and SCHEMATA."
        )
    alias = table.alias if table.alias and "." not in table.alias else view
    return exp.Subquery(this=sqlglot.parse_one(sql, read="duckdb"), alias=exp.TableAlias(this=exp.to_identifier(alias)))
