"""`_runbook_meta`: what the warehouse keeps beside DuckDB's catalog, and the only module that knows its layout.

DuckDB has no place for what BigQuery keeps about a dataset (location, labels, default table expiration)
or a table (partition column, clustering, labels, expiry, last change), nor for BigQuery's partition
metadata (rows, logical bytes and last change per partition, which INFORMATION_SCHEMA.PARTITIONS
serves without scanning the table). The warehouse keeps them in three tables of an internal schema
that list_datasets() and INFORMATION_SCHEMA never show, writes them through the functions below, and
the INFORMATION_SCHEMA views join them through `join_tables` / `join_datasets` / PARTITIONS.
"""
from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta

SCHEMA = "_runbook_meta"
# DuckDB's own schemas and ours: never a BigQuery dataset.
HIDDEN_SCHEMAS = (SCHEMA, "main", "information_schema", "pg_catalog")

_DATASETS = f"{SCHEMA}.datasets"
_TABLES = f"{SCHEMA}.tables"
PARTITIONS = f"{SCHEMA}.partitions"

# Files made before a column existed gain it when next opened for writing (ADD COLUMN IF NOT EXISTS).
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {_DATASETS} (
    dataset VARCHAR, default_table_expiration_days DOUBLE, created_at TIMESTAMPTZ);
ALTER TABLE {_DATASETS} ADD COLUMN IF NOT EXISTS location VARCHAR;
ALTER TABLE {_DATASETS} ADD COLUMN IF NOT EXISTS labels VARCHAR;
CREATE TABLE IF NOT EXISTS {_TABLES} (
    dataset VARCHAR, table_name VARCHAR, partition_column VARCHAR, created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ);
ALTER TABLE {_TABLES} ADD COLUMN IF NOT EXISTS clustering VARCHAR;
ALTER TABLE {_TABLES} ADD COLUMN IF NOT EXISTS labels VARCHAR;
ALTER TABLE {_TABLES} ADD COLUMN IF NOT EXISTS last_modified TIMESTAMPTZ;
ALTER TABLE {_TABLES} ADD COLUMN IF NOT EXISTS partition_range VARCHAR;
ALTER TABLE {_TABLES} ADD COLUMN IF NOT EXISTS partition_unit VARCHAR;
CREATE TABLE IF NOT EXISTS {PARTITIONS} (
    dataset VARCHAR, table_name VARCHAR, partition_id VARCHAR, total_rows BIGINT, total_logical_bytes BIGINT,
    checksum HUGEINT, last_modified TIMESTAMPTZ);
ALTER TABLE {PARTITIONS} ADD COLUMN IF NOT EXISTS column_bytes VARCHAR;
"""
_TABLE_FIELDS = ("partition_column", "created_at", "expires_at", "clustering", "labels", "last_modified",
                 "partition_range", "partition_unit")
# The columns that came last: a file without them is set up again (ALTER TABLE ... ADD COLUMN IF NOT EXISTS).
_LATEST = (("datasets", "labels"), ("tables", "last_modified"), ("tables", "partition_unit"),
           ("partitions", "checksum"), ("partitions", "column_bytes"))


# ---------------------------------------------------------------------------------------------
# For the INFORMATION_SCHEMA views (SQL fragments)

def join_tables(alias: str, dataset_sql: str, table_sql: str) -> str:
    """LEFT JOIN of the table metadata as `alias`; the view reads alias.partition_column and alias.created_at."""
    return f"LEFT JOIN {_TABLES} AS {alias} ON {alias}.dataset = {dataset_sql} AND {alias}.table_name = {table_sql}"


def join_datasets(alias: str, dataset_sql: str) -> str:
    """LEFT JOIN of the dataset metadata as `alias`; the view reads alias.created_at and alias.location."""
    return f"LEFT JOIN {_DATASETS} AS {alias} ON {alias}.dataset = {dataset_sql}"


# ---------------------------------------------------------------------------------------------
# For the warehouse (each takes an open DuckDB connection on the warehouse file)

def exists(con) -> bool:
    """Whether the file has the current layout (else the warehouse sets it up before reading)."""
    wanted = ", ".join(f"('{t}', '{c}')" for t, c in _LATEST)
    found = con.execute(
        "SELECT COUNT(*) FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = $s "
        f"AND (table_name, column_name) IN ({wanted})", {"s": SCHEMA}).fetchall()[0][0]
    return found == len(_LATEST)


def _json(value) -> str | None:
    return json.dumps(value, sort_keys=True) if value else None


def table_meta(con, dataset: str, table: str) -> dict:
    """partition_column, created_at, expires_at, clustering, labels, last_modified, partition_range
    (an integer partition column's (start, end, interval), or None) and partition_unit (a time column's
    HOUR, MONTH or YEAR; None for DAY) of a table, or {}."""
    rows = con.execute(f"SELECT {', '.join(_TABLE_FIELDS)} FROM {_TABLES} WHERE dataset = $d AND table_name = $t",
                       {"d": dataset, "t": table}).fetchall()
    if not rows:
        return {}
    found = dict(zip(_TABLE_FIELDS, rows[0]))
    found["clustering"] = json.loads(found["clustering"]) if found["clustering"] else []
    found["labels"] = json.loads(found["labels"]) if found["labels"] else {}
    found["partition_range"] = tuple(json.loads(found["partition_range"])) if found["partition_range"] else None
    return found


def set_table_meta(con, dataset: str, table: str, partition: str | None, created: datetime,
                   expires: datetime | None, clustering=(), labels: dict | None = None,
                   partition_range: tuple[int, int, int] | None = None, partition_unit: str | None = None) -> None:
    forget_table(con, dataset, table)
    con.execute(f"INSERT INTO {_TABLES} (dataset, table_name, {', '.join(_TABLE_FIELDS)}) "
                "VALUES ($d, $t, $p, $c, $e, $cl, $l, $c, $r, $u)",
                {"d": dataset, "t": table, "p": partition, "c": created, "e": expires,
                 "cl": _json(list(clustering)), "l": _json(labels),
                 "r": _json(list(partition_range)) if partition_range else None,
                 "u": partition_unit if partition_unit != "DAY" else None})


_UNCHANGED = object()


def set_table_options(con, dataset: str, table: str, now: datetime, expires=_UNCHANGED, labels=_UNCHANGED) -> None:
    """ALTER TABLE ... SET OPTIONS: a new expiry (None: never) or labels (replacing all of them), as given."""
    if not table_meta(con, dataset, table):   # (a table the warehouse did not make: its metadata starts here)
        set_table_meta(con, dataset, table, None, now, None)
    for column, value in (("expires_at", expires), ("labels", labels)):
        if value is not _UNCHANGED:
            con.execute(f"UPDATE {_TABLES} SET {column} = $v WHERE dataset = $d AND table_name = $t",
                        {"v": _json(value) if column == "labels" else value, "d": dataset, "t": table})


def set_dataset_options(con, dataset: str, now: datetime, days=_UNCHANGED, labels=_UNCHANGED) -> None:
    """ALTER SCHEMA ... SET OPTIONS: a new default table expiration (None: none) or labels, as given."""
    if not dataset_meta(con, dataset):
        set_dataset_meta(con, dataset, None, now)
    for column, value in (("default_table_expiration_days", days), ("labels", labels)):
        if value is not _UNCHANGED:
            con.execute(f"UPDATE {_DATASETS} SET {column} = $v WHERE dataset = $d",
                        {"v": _json(value) if column == "labels" else value, "d": dataset})


def set_partition_column(con, dataset: str, table: str, partition: str) -> None:
    con.execute(f"UPDATE {_TABLES} SET partition_column = $p WHERE dataset = $d AND table_name = $t",
                {"p": partition, "d": dataset, "t": table})


def rename_table(con, dataset: str, table: str, new_name: str) -> None:
    for name in (_TABLES, PARTITIONS):
        con.execute(f"UPDATE {name} SET table_name = $n WHERE dataset = $d AND table_name = $t",
                    {"n": new_name, "d": dataset, "t": table})


def forget_table(con, dataset: str, table: str) -> None:
    for name in (_TABLES, PARTITIONS):
        con.execute(f"DELETE FROM {name} WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table})


def set_dataset_meta(con, dataset: str, days: float | None, created: datetime, location: str | None = None,
                     labels: dict | None = None) -> None:
    con.execute(f"DELETE FROM {_DATASETS} WHERE dataset = $d", {"d": dataset})
    con.execute(f"INSERT INTO {_DATASETS} (dataset, default_table_expiration_days, created_at, location, labels) "
                "VALUES ($d, $x, $c, $loc, $l)",
                {"d": dataset, "x": days, "c": created, "loc": location, "l": _json(labels)})


def dataset_meta(con, dataset: str) -> dict:
    """default_table_expiration_days, created_at, location and labels of a dataset, or {}."""
    rows = con.execute(f"SELECT default_table_expiration_days, created_at, location, labels FROM {_DATASETS} "
                       "WHERE dataset = $d", {"d": dataset}).fetchall()
    if not rows:
        return {}
    days, created, location, labels = rows[0]
    return {"default_table_expiration_days": days, "created_at": created, "location": location,
            "labels": json.loads(labels) if labels else {}}


def forget_dataset(con, dataset: str) -> None:
    """Drop a dataset's metadata and that of every table in it."""
    for name in (_TABLES, PARTITIONS, _DATASETS):
        con.execute(f"DELETE FROM {name} WHERE dataset = $d", {"d": dataset})


def default_expiry(con, dataset: str, created: datetime) -> datetime | None:
    """When a table created in `dataset` at `created` expires, from the dataset's default expiration."""
    rows = con.execute(f"SELECT default_table_expiration_days FROM {_DATASETS} WHERE dataset = $d",
                       {"d": dataset}).fetchall()
    days = rows[0][0] if rows else None
    return created + timedelta(days=days) if days else None


def has_partition_stats(con, dataset: str, table: str) -> bool:
    return con.execute(f"SELECT COUNT(*) FROM {PARTITIONS} WHERE dataset = $d AND table_name = $t",
                       {"d": dataset, "t": table}).fetchall()[0][0] > 0


def partition_stats(con, dataset: str, table: str,
                    records: dict | None = None) -> dict[str | None, tuple[int, dict[str, int]]] | None:
    """partition_id -> (total_rows, logical bytes per column), or None when none are kept (or were kept
    before column bytes were). (`records`: partition_records' answer, when read already.)"""
    records = partition_records(con, dataset, table) if records is None else records
    if not records or any(column_bytes is None for _, _, column_bytes in records.values()):
        return None
    return {pid: (int(figures[0]), json.loads(column_bytes)) for pid, (figures, _, column_bytes) in records.items()}


def partition_records(con, dataset: str, table: str) -> dict:
    """partition_id -> ((total_rows, total_logical_bytes, checksum), last_modified, column_bytes as JSON) as kept."""
    return {r[0]: (r[1:4], r[4], r[5]) for r in con.execute(
        f"SELECT partition_id, total_rows, total_logical_bytes, checksum, last_modified, column_bytes FROM {PARTITIONS} "
        "WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table}).fetchall()}


_PARTITION_FIELDS = "dataset, table_name, partition_id, total_rows, total_logical_bytes, checksum, last_modified, " \
                    "column_bytes"


EVERY_PARTITION = "*"   # in the partitions a statement wrote: it wrote the whole table (no partition_id is "*")


def replace_partition_stats(con, dataset: str, table: str, stats: list[tuple], now: datetime,
                            written: Collection[str | None] = (), counted_only: Collection[str] | None = None,
                            records: dict | None = None) -> None:
    """Record (partition_id, total_rows, checksum, logical bytes per column) per partition; a partition
    whose figures changed, that is new, or that a statement `written` wrote (if only the same rows
    again: BigQuery's LAST_MODIFIED_TIME is the last write) was modified `now`, and so was the table.
    With `counted_only`, `stats` counted only those partitions, and every other partition keeps its figures.
    (`records`: partition_records' answer, when read already.)"""
    before = partition_records(con, dataset, table) if records is None else records
    if counted_only is not None:
        before = {pid: old for pid, old in before.items() if pid in counted_only}
    rows, changed = [], set(before) - {s[0] for s in stats}
    for pid, total, checksum, columns in stats:
        size = sum(columns.values())
        old = before.get(pid)
        same = old is not None and tuple(old[0]) == (total, size, checksum) and pid not in written \
            and EVERY_PARTITION not in written
        rows.append((dataset, table, pid, total, size, checksum, old[1] if same else now, _json(columns) or "{}"))
        if not same:
            changed.add(pid)
    if not changed and before and all(old[2] is not None for old in before.values()):
        return
    if counted_only is None:
        con.execute(f"DELETE FROM {PARTITIONS} WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table})
    else:
        con.execute(f"DELETE FROM {PARTITIONS} WHERE dataset = $d AND table_name = $t AND partition_id IN "
                    "(SELECT UNNEST($p))", {"d": dataset, "t": table, "p": sorted(counted_only)})
    if rows:   # one statement: a statement on the attached file costs more than the rows it carries
        values = ", ".join("(?, ?, ?, ?, ?, CAST(? AS HUGEINT), ?, ?)" for _ in rows)
        con.execute(f"INSERT INTO {PARTITIONS} ({_PARTITION_FIELDS}) VALUES {values}", [v for row in rows for v in row])
    if not changed:
        return
    con.execute(f"UPDATE {_TABLES} SET last_modified = $n WHERE dataset = $d AND table_name = $t",
                {"n": now, "d": dataset, "t": table})


def table_size(con, dataset: str, table: str) -> tuple[int, int] | None:
    """The table's (rows, logical bytes) from its partition statistics, or None when none are kept."""
    rows, size = con.execute(f"SELECT SUM(total_rows), SUM(total_logical_bytes) FROM {PARTITIONS} "
                             "WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table}).fetchall()[0]
    return None if rows is None else (int(rows), int(size))
