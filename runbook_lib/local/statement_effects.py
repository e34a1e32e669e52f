"""What a statement did to the catalogue, written into `_runbook_meta` (runbook_lib.local.bigquery.meta).

A CREATE SCHEMA's location, labels and default expiration; a CREATE TABLE's partitioning, clustering,
labels and expiry (its own, or its dataset's default); drops and renames. The tables whose rows a
statement changed are noted in `changed` (with the partitions it wrote, when known), for the warehouse
to recount once the script has run.
"""
from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from ..errors import WarehouseQueryError
from . import duckdb_catalog as catalog
from .bigquery import Statement, bigquery_type, meta
from .bigquery.statements import PARTITION_BY_RULE, partition_by_taken


def record(con: duckdb.DuckDBPyConnection, st: Statement, existed: bool | None, changed: set[tuple[str, str]],
           location: str | None) -> None:
    """Keep _runbook_meta in step with what the statement did; note the tables whose rows it changed."""
    now = datetime.now(timezone.utc)
    if st.kind == "create_schema" and st.dataset and not existed:
        days = _option_value(con, st, "default_table_expiration_days")
        meta.set_dataset_meta(con, st.dataset, days and float(days), now, _option_value(con, st, "location") or location,
                              _labels(con, st))
    elif st.kind in ("create_table", "create_view") and st.dataset and st.table:
        if existed and not st.replace:
            return  # CREATE ... IF NOT EXISTS over an existing table changes nothing
        partition, partition_range, unit = st.partition_column, st.partition_range, st.partition_unit
        source = meta.table_meta(con, *st.copy_from) if st.copy_from else {}   # CREATE TABLE ... LIKE / COPY
        if partition is None and st.copy_from:
            partition, partition_range, unit = (source.get("partition_column"), source.get("partition_range"),
                                                source.get("partition_unit"))
        clustering = st.clustering or source.get("clustering", ())
        if st.kind == "create_table":
            catalog.normalise_column_types(con, st.dataset, st.table)
        if st.kind == "create_table" and (partition is not None or clustering):
            columns = {c: bigquery_type(t) for c, t in catalog.columns(con, st.dataset, st.table)}
            # column names match whatever their case, as BigQuery's do: kept as the table spells them
            spelled = {c.lower(): c for c in columns}
            clustering = tuple(spelled.get(c.lower(), c) for c in clustering)
            if partition is not None:
                partition = spelled.get(partition.lower(), partition)
                if partition not in columns:
                    raise WarehouseQueryError(
                        f"PARTITION BY names {partition}, which is not a column of {st.dataset}.{st.table} "
                        f"(columns: {', '.join(columns)}).")
                if not partition_by_taken(st.partition_takes, unit, columns[partition]):
                    raise WarehouseQueryError(f"{PARTITION_BY_RULE} ({partition} is {columns[partition]}).")
        expiration = st.option("expiration_timestamp")
        expires = con.execute(f"SELECT CAST({expiration} AS TIMESTAMPTZ)").fetchall()[0][0] if expiration \
            else meta.default_expiry(con, st.dataset, now)
        meta.set_table_meta(con, st.dataset, st.table, partition, now, expires, clustering, _labels(con, st),
                            partition_range, unit)
        if st.kind == "create_table":   # new, or replaced: every partition is written
            changed.setdefault((st.dataset, st.table), set()).add(meta.EVERY_PARTITION)
    elif st.kind == "alter_options" and st.dataset and st.table and catalog.relation_exists(con, st.dataset, st.table):
        options = dict(st.options)
        meta.set_table_options(con, st.dataset, st.table, now,
                               **({"expires": _option_value(con, st, "expiration_timestamp")}
                                  if "expiration_timestamp" in options else {}),
                               **({"labels": _labels(con, st) or {}} if "labels" in options else {}))
    elif st.kind == "alter_dataset_options" and st.dataset and catalog.schema_exists(con, st.dataset):
        options = dict(st.options)
        meta.set_dataset_options(con, st.dataset, now,
                                 **({"days": _option_value(con, st, "default_table_expiration_days")}
                                    if "default_table_expiration_days" in options else {}),
                                 **({"labels": _labels(con, st) or {}} if "labels" in options else {}))
    elif st.kind in ("merge", "dml") and st.dataset and st.table:
        changed.setdefault((st.dataset, st.table), set())
    elif st.kind == "drop_table":
        for dataset, table in st.drops:
            meta.forget_table(con, dataset, table)
    elif st.kind == "rename_table" and st.dataset and st.table and st.renamed_to:
        meta.rename_table(con, st.dataset, st.table, st.renamed_to)
    elif st.kind == "drop_schema" and st.dataset:
        meta.forget_dataset(con, st.dataset)


def _option_value(con: duckdb.DuckDBPyConnection, st: Statement, name: str):
    """The value of OPTIONS(name = ...) in a DDL statement, evaluated, or None."""
    sql = st.option(name)
    return con.execute(f"SELECT {sql}").fetchall()[0][0] if sql else None


def _labels(con: duckdb.DuckDBPyConnection, st: Statement) -> dict[str, str] | None:
    """OPTIONS(labels = [("key", "value"), ...]) as a dict."""
    pairs = _option_value(con, st, "labels")
    return {str(k): str(v) for k, v in (tuple(p.values()) if isinstance(p, dict) else p for p in pairs)} if pairs else None
