"""The embedded warehouse: a DuckDB file that answers BigQuery-dialect SQL.

A BigQuery dataset is a DuckDB schema; a table ref is "dataset.table". What DuckDB has no place
for (partition column, dataset default table expiration, table expiry) lives in the internal
schema `_runbook_meta`, which list_datasets() and INFORMATION_SCHEMA never show.

The phase services, the notebook kernel and the CLI are separate processes, and DuckDB lets one
process at a time open a file for writing (or several for reading only). So a connection is held
only for the length of one operation, reads open the file read-only, and a lock conflict is
retried with a short, jittered backoff until `lock_retry_seconds` have passed (then WarehouseBusy).
"""
from __future__ import annotations

import os
import random
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import duckdb
import pandas as pd
from sqlglot.errors import SqlglotError

from ..errors import NotFoundError, ParameterError, RunbookError, WarehouseBusy
from ..formats import quote_columns
from ..protocols import TableInfo
from .dialect import (
    HIDDEN_SCHEMAS,
    INTERNAL_SCHEMA,
    Statement,
    UnsupportedSQL,
    bigquery_type,
    duckdb_type,
    normalised_column_type,
    register_functions,
    to_duckdb,
    translate,
)

__all__ = ["LocalWarehouse", "TableInfo", "WarehouseQueryError", "UnsupportedSQL", "to_duckdb"]

LOCK_RETRY_SECONDS = 30.0
# The DuckDB name of the attached warehouse file. A dash keeps it apart from every BigQuery
# dataset name (letters, digits, underscores), so dataset.table never reads as catalog.schema.
CATALOG = "runbook-wh"
_DATASET_NAME = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,1023}")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")
_HIDDEN = tuple(s.lower() for s in HIDDEN_SCHEMAS)

_META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {INTERNAL_SCHEMA};
CREATE TABLE IF NOT EXISTS {INTERNAL_SCHEMA}.datasets (
    dataset VARCHAR, default_table_expiration_days DOUBLE, created_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS {INTERNAL_SCHEMA}.tables (
    dataset VARCHAR, table_name VARCHAR, partition_column VARCHAR, created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ);
"""


class WarehouseQueryError(RunbookError, RuntimeError):
    """SQL that BigQuery would reject at run time (DuckDB would silently accept it)."""


def _q(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _fq(con: duckdb.DuckDBPyConnection, dataset: str, table: str | None = None) -> str:
    """A fully qualified name: `dataset.table` alone is ambiguous in DuckDB when the dataset is
    called like a database (temp, system, memory)."""
    name = f"{_q(CATALOG)}.{_q(dataset)}"
    return f"{name}.{_q(table)}" if table is not None else name


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    lowered = text.lower()
    return (
        ("lock" in lowered and ("conflicting" in lowered or "could not set lock" in lowered))
        # Another DuckDB instance in this process (code of ours or not) has the file open.
        or "different configuration" in lowered or "unique file handle conflict" in lowered
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LocalWarehouse:
    """BigQuery-shaped access to one DuckDB file. Every method opens and closes its own connection."""

    target = "local"

    def __init__(self, path: str | Path, project: str = "sandbox", lock_retry_seconds: float = LOCK_RETRY_SECONDS):
        p = Path(path).expanduser()
        if p.exists() and p.is_dir():
            raise ParameterError("warehouse_path", str(path), "give a file path for the DuckDB database, not a folder")
        if not p.parent.exists():
            raise ParameterError("warehouse_path", str(path), f"its folder {p.parent} must exist")
        if p.exists() and not _looks_like_duckdb(p):
            raise ParameterError(
                "warehouse_path", str(path),
                "that file is not a DuckDB database; give a new file name or an existing .duckdb file")
        self.path = p.resolve()
        self.project = project
        self.lock_retry_seconds = lock_retry_seconds
        self._meta_ready = False

    def __repr__(self) -> str:
        return f"LocalWarehouse({str(self.path)!r}, project={self.project!r})"

    def close(self) -> None:
        """Nothing to close: connections live only as long as one operation."""

    # ----------------------------------------------------------------------------------------
    # Connections

    def _attach(self, engine: "_Engine", read_only: bool) -> None:
        """ATTACH the file to the process's engine, retrying while another process holds its lock."""
        started = time.monotonic()
        deadline = started + self.lock_retry_seconds
        delay = 0.01
        path = str(self.path).replace("'", "''")
        while True:
            try:
                engine.con.execute(f"ATTACH '{path}' AS {_q(CATALOG)}{' (READ_ONLY)' if read_only else ''}")
                engine.con.execute(f"USE {_q(CATALOG)}")
                return
            except duckdb.Error as exc:
                text = str(exc)
                if "not a valid DuckDB database" in text:
                    # An empty file may be a database another process is creating this instant.
                    if self.path.exists() and self.path.stat().st_size == 0 \
                            and time.monotonic() < started + min(2.0, self.lock_retry_seconds):
                        time.sleep(delay)
                        continue
                    raise ParameterError(
                        "warehouse_path", str(self.path),
                        "that file is not a DuckDB database; give a new file name or an existing .duckdb file",
                    ) from None
                if not _is_lock_conflict(exc):
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"The warehouse {self.path} stayed locked by another process for "
                        f"{self.lock_retry_seconds:g}s; stop it or retry."
                    ) from None
                # Jitter so that processes backing off together do not collide again in step.
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 1.6, 0.25)

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse file, open for one operation (UTC session, BigQuery functions registered).

        The process keeps one in-memory DuckDB with the session set up; each operation ATTACHes
        the file (read-only when it only reads) and DETACHes it at the end, which releases the
        file lock for other processes. Operations in one process take turns; an operation nested
        in another on the same file shares its connection.
        """
        engine = _engine()
        with engine.lock:
            if engine.attached is not None:
                path, attached_read_only = engine.attached
                if path == self.path and (read_only or not attached_read_only):
                    yield engine.con
                    return
                raise RuntimeError(
                    f"A warehouse operation on {path} is still open in this thread; finish it before "
                    f"opening {self.path}{' for writing' if not read_only else ''}.")
            if not self.path.exists():
                read_only = False  # DuckDB creates a new file only when it may write
            self._attach(engine, read_only)
            engine.attached = (self.path, read_only)
            try:
                if not self._meta_ready:
                    if not read_only:
                        engine.con.execute(_META_DDL)
                    elif not _meta_exists(engine.con):
                        # A file we have not set up yet: set it up once, then carry on reading.
                        engine.release()
                        self._attach(engine, False)
                        engine.attached = (self.path, False)
                        engine.con.execute(_META_DDL)
                    self._meta_ready = True
                yield engine.con
            finally:
                engine.attached = None
                engine.release()

    # ----------------------------------------------------------------------------------------
    # SQL

    def _translate(self, sql: str, params: dict | None) -> tuple[Statement, ...]:
        if not isinstance(sql, str) or not sql.strip():
            raise ParameterError("sql", sql, "give a BigQuery SQL string")
        if params is not None and not isinstance(params, dict):
            raise ParameterError("params", params, "give a dict of parameter name -> value, or None")
        statements = translate(sql, self.project, CATALOG)
        wanted = {p for s in statements for p in s.params}
        missing = sorted(wanted - set(params or {}))
        if missing:
            raise ParameterError(
                "params", sorted(params or {}),
                "the SQL uses " + ", ".join("@" + m for m in missing) + ", which params does not give")
        return statements

    def row_hash_sql(self, columns: Sequence[str]) -> str:
        """DuckDB's own HASH over the columns: vectorised, unlike the sandbox's FARM_FINGERPRINT UDF."""
        return f"HASH({', '.join(quote_columns(columns))})"

    def estimate_bytes(self, sql: str, params: dict | None = None) -> int | None:
        """None: a local scan bills nothing. The SQL and its parameters are still checked, as a dry run would."""
        self._translate(sql, params)
        return None

    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """Run BigQuery-dialect SQL and return the last statement's rows.

        Statements before the last (a CREATE TEMP FUNCTION, say) run first on the same connection.
        """
        statements = self._translate(sql, params)
        read_only = all(s.kind in ("query", "transaction") or (s.kind == "other" and _is_temp(s)) for s in statements)
        with self.connection(read_only=read_only) as con:
            if not read_only:
                con.execute("BEGIN TRANSACTION")
            try:
                for st in statements[:-1]:
                    self._run(con, st, params)
                df = self._run(con, statements[-1], params, fetch=True)
                if not read_only:
                    con.execute("COMMIT")
                return df
            except BaseException as exc:
                if not read_only:
                    _rollback(con)
                mapped = self._explain(con, exc, statements)
                if mapped is exc:
                    raise
                raise mapped from None

    def execute(self, sql: str, params: dict | None = None) -> None:
        """Run BigQuery-dialect statements (DDL/DML), all in one transaction: all or nothing."""
        statements = self._translate(sql, params)
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for st in statements:
                    self._run(con, st, params)
                con.execute("COMMIT")
            except BaseException as exc:
                _rollback(con)
                mapped = self._explain(con, exc, statements)
                if mapped is exc:
                    raise
                raise mapped from None

    def _run(self, con: duckdb.DuckDBPyConnection, st: Statement, params: dict | None,
             fetch: bool = False) -> pd.DataFrame | None:
        if st.kind == "transaction":
            return pd.DataFrame() if fetch else None
        used = {k: _bound(v) for k, v in (params or {}).items() if k in st.params}
        if st.datasets:
            for ds in st.datasets:
                if not _schema_exists(con, ds):
                    raise self._dataset_not_found(con, ds)
        existed = None
        if st.kind in ("create_table", "create_view", "create_schema") and st.dataset:
            existed = _schema_exists(con, st.dataset) if st.kind == "create_schema" else \
                _relation_exists(con, st.dataset, st.table)
        if st.merge_check:
            if con.execute(st.merge_check, used).fetchall():
                raise WarehouseQueryError(
                    f"MERGE into {st.dataset}.{st.table} matched one target row with several source rows; "
                    "BigQuery refuses that (UPDATE/MERGE must match at most one source row for each target row)."
                )
        if fetch and st.kind == "query":
            return _fetch_df(con, st.sql, used)
        if _is_temp(st):
            _engine().made_temp_objects = True  # BigQuery's TEMP objects last one script, not the process
        con.execute(st.sql, used)
        self._after(con, st, existed, used)
        return pd.DataFrame() if fetch else None

    def _after(self, con: duckdb.DuckDBPyConnection, st: Statement, existed: bool | None, params: dict) -> None:
        """Keep _runbook_meta in step with what the statement did."""
        now = _utcnow()
        if st.kind == "create_schema" and st.dataset and not existed:
            days = st.option("default_table_expiration_days")
            value = con.execute(f"SELECT CAST({days} AS DOUBLE)").fetchall()[0][0] if days else None
            _set_dataset_meta(con, st.dataset, value, now)
        elif st.kind in ("create_table", "create_view") and st.dataset and st.table:
            if existed and not st.replace:
                return  # CREATE ... IF NOT EXISTS over an existing table changes nothing
            partition = st.partition_column
            if partition is None and st.copy_from:
                partition = _table_meta(con, *st.copy_from).get("partition_column")
            if st.kind == "create_table":
                _normalise_column_types(con, st.dataset, st.table)
                if partition is not None:
                    names = [c for c, _ in _columns(con, st.dataset, st.table)]
                    if partition not in names:
                        raise WarehouseQueryError(
                            f"PARTITION BY names {partition}, which is not a column of {st.dataset}.{st.table} "
                            f"(columns: {', '.join(names)}).")
            expires = None
            expiration = st.option("expiration_timestamp")
            if expiration:
                expires = con.execute(f"SELECT CAST({expiration} AS TIMESTAMPTZ)").fetchall()[0][0]
            else:
                expires = _default_expiry(con, st.dataset, now)
            _set_table_meta(con, st.dataset, st.table, partition, now, expires)
        elif st.kind == "drop_table":
            for dataset, table in st.drops:
                con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.tables WHERE dataset = $d AND table_name = $t",
                            {"d": dataset, "t": table})
        elif st.kind == "rename_table" and st.dataset and st.table and st.renamed_to:
            con.execute(f"UPDATE {INTERNAL_SCHEMA}.tables SET table_name = $n WHERE dataset = $d AND table_name = $t",
                        {"n": st.renamed_to, "d": st.dataset, "t": st.table})
        elif st.kind == "drop_schema" and st.dataset:
            con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.tables WHERE dataset = $d", {"d": st.dataset})
            con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.datasets WHERE dataset = $d", {"d": st.dataset})

    # ----------------------------------------------------------------------------------------
    # Errors

    def _explain(self, con: duckdb.DuckDBPyConnection, exc: BaseException,
                 statements: Sequence[Statement]) -> BaseException:
        """Turn DuckDB's catalog and parser errors into the kit's one-sentence errors."""
        if isinstance(exc, duckdb.CatalogException):
            for st in statements:
                skip = (st.dataset, st.table) if st.kind in ("create_table", "create_view") else None
                for ds, table in st.tables:
                    if not _schema_exists(con, ds):
                        return self._dataset_not_found(con, ds)
                    if (ds, table) != skip and not _relation_exists(con, ds, table):
                        return self._table_not_found(con, ds, table)
                if st.dataset and st.kind in ("create_table", "create_view", "merge") \
                        and not _schema_exists(con, st.dataset):
                    return self._dataset_not_found(con, st.dataset)
            return exc
        if isinstance(exc, duckdb.ParserException):
            first = str(exc).splitlines()[0]
            return UnsupportedSQL(f"The local warehouse cannot run this SQL once translated to DuckDB ({first}).")
        return exc

    def _dataset_not_found(self, con: duckdb.DuckDBPyConnection, dataset: str) -> NotFoundError:
        names = _datasets(con)
        return NotFoundError(
            f"Dataset {dataset} was not found in the local warehouse ({self.path}); "
            f"datasets: {', '.join(names) or 'none'}."
        )

    def _table_not_found(self, con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> NotFoundError:
        names = _tables(con, dataset)
        return NotFoundError(
            f"Table {dataset}.{table} was not found in the local warehouse ({self.path}); "
            f"tables in {dataset}: {', '.join(names) or 'none'}."
        )

    # ----------------------------------------------------------------------------------------
    # Catalog

    def list_datasets(self) -> list[str]:
        with self.connection(read_only=True) as con:
            return _datasets(con)

    def list_tables(self, dataset: str) -> list[str]:
        _check_dataset_name(dataset, reserved_ok=True)
        with self.connection(read_only=True) as con:
            if not _schema_exists(con, dataset):
                raise self._dataset_not_found(con, dataset)
            return _tables(con, dataset)

    def dataset_exists(self, name: str) -> bool:
        _check_dataset_name(name, reserved_ok=True)
        with self.connection(read_only=True) as con:
            return _schema_exists(con, name)

    def table_exists(self, ref: str) -> bool:
        dataset, table = _split_ref(ref)
        with self.connection(read_only=True) as con:
            return _relation_exists(con, dataset, table)

    def table_info(self, ref: str) -> TableInfo:
        dataset, table = _split_ref(ref)
        with self.connection(read_only=True) as con:
            self._require_table(con, dataset, table)
            meta = _table_meta(con, dataset, table)
            is_view = con.execute(
                "SELECT COUNT(*) FROM duckdb_views() WHERE database_name = current_database() "
                "AND schema_name = $d AND view_name = $t", {"d": dataset, "t": table}).fetchall()[0][0] > 0
            num_rows = con.execute(f"SELECT COUNT(*) FROM {_fq(con, dataset, table)}").fetchall()[0][0]
            return TableInfo(
                dataset=dataset, table=table,
                columns=[(name, bigquery_type(t)) for name, t in _columns(con, dataset, table)],
                num_rows=int(num_rows), partition_column=meta.get("partition_column"),
                expires_at=meta.get("expires_at"), created_at=meta.get("created_at"),
                kind="VIEW" if is_view else "TABLE",
            )

    def _require_table(self, con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> None:
        if not _schema_exists(con, dataset):
            raise self._dataset_not_found(con, dataset)
        if not _relation_exists(con, dataset, table):
            raise self._table_not_found(con, dataset, table)

    # ----------------------------------------------------------------------------------------
    # Changes

    def create_dataset(self, name: str, default_table_expiration_days: float | None = None,
                       exists_ok: bool = True) -> None:
        """Create a dataset; tables created in it later expire `default_table_expiration_days` after creation."""
        _check_dataset_name(name)
        if default_table_expiration_days is not None:
            if isinstance(default_table_expiration_days, bool) or \
                    not isinstance(default_table_expiration_days, (int, float)) or default_table_expiration_days <= 0:
                raise ParameterError("default_table_expiration_days", default_table_expiration_days,
                                     "give a number of days greater than 0, or None for no expiration")
        with self.connection() as con:
            if _schema_exists(con, name):
                if exists_ok:
                    return
                raise ParameterError("dataset", name,
                                     "it already exists in the local warehouse; pass exists_ok=True to reuse it")
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"CREATE SCHEMA {_fq(con, name)}")
                _set_dataset_meta(con, name, default_table_expiration_days and float(default_table_expiration_days),
                                  _utcnow())
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise

    def create_table(self, ref: str, columns: Sequence[tuple[str, str]], partition_column: str | None = None,
                     exists_ok: bool = True) -> None:
        """Create an empty table from (name, BigQuery type) pairs."""
        dataset, table = _split_ref(ref)
        if not columns or not all(isinstance(c, (tuple, list)) and len(c) == 2 for c in columns):
            raise ParameterError("columns", columns, "give a non-empty list of (name, BigQuery type) pairs")
        defs = []
        for name, bq in columns:
            if not isinstance(name, str) or not _COLUMN_NAME.fullmatch(name):
                raise ParameterError("columns", name, "column names are letters, digits and underscores, "
                                                      "not starting with a digit")
            try:
                defs.append(f"{_q(name)} {duckdb_type(bq)}")
            except (SqlglotError, ValueError, TypeError):
                raise ParameterError("columns", bq, f"column {name} needs a BigQuery type such as INT64, FLOAT64, "
                                                    "STRING, BOOL, DATE, TIMESTAMP, NUMERIC") from None
        names = [c[0] for c in columns]
        if len(set(n.lower() for n in names)) != len(names):
            raise ParameterError("columns", names, "column names must be unique")
        if partition_column is not None and partition_column not in names:
            raise ParameterError("partition_column", partition_column, f"choose one of the columns {', '.join(names)}")
        with self.connection() as con:
            if not _schema_exists(con, dataset):
                raise self._dataset_not_found(con, dataset)
            if _relation_exists(con, dataset, table):
                if exists_ok:
                    return
                raise ParameterError("table_ref", ref,
                                     "that table already exists in the local warehouse; pass exists_ok=True")
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"CREATE TABLE {_fq(con, dataset, table)} ({', '.join(defs)})")
                now = _utcnow()
                _set_table_meta(con, dataset, table, partition_column, now, _default_expiry(con, dataset, now))
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise

    def create_table_like(self, source_ref: str, dest_ref: str, exists_ok: bool = True) -> None:
        """An empty table with the source's columns and partition column."""
        src = _split_ref(source_ref, "source_ref")
        dest = _split_ref(dest_ref, "dest_ref")
        with self.connection() as con:
            self._require_table(con, *src)
            if not _schema_exists(con, dest[0]):
                raise self._dataset_not_found(con, dest[0])
            if _relation_exists(con, *dest):
                if exists_ok:
                    return
                raise ParameterError("dest_ref", dest_ref,
                                     "that table already exists in the local warehouse; pass exists_ok=True")
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"CREATE TABLE {_fq(con, *dest)} AS SELECT * FROM {_fq(con, *src)} LIMIT 0")
                now = _utcnow()
                _set_table_meta(con, *dest, _table_meta(con, *src).get("partition_column"), now,
                                _default_expiry(con, dest[0], now))
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise

    def load_dataframe(self, df: pd.DataFrame, ref: str, mode: str = "replace",
                       partition_column: str | None = None) -> int:
        """Write a DataFrame into a table (replace its rows, or append by column name); returns rows written."""
        partitions = {ref: partition_column} if partition_column is not None else None
        return self.load_dataframes({ref: df}, mode=mode, partition_columns=partitions)[ref]

    def load_dataframes(self, frames: Mapping[str, pd.DataFrame], mode: str = "replace",
                        partition_columns: Mapping[str, str] | None = None) -> dict[str, int]:
        """Write several DataFrames (table ref -> frame) in one transaction: another reader sees all
        of them or none of them. Returns rows written per ref."""
        if not isinstance(frames, Mapping) or not frames:
            raise ParameterError("frames", type(frames).__name__, 'give a non-empty dict of "dataset.table" -> DataFrame')
        if mode not in ("replace", "append"):
            raise ParameterError("mode", mode, "choose replace or append")
        partition_columns = dict(partition_columns or {})
        unknown = sorted(set(partition_columns) - set(frames))
        if unknown:
            raise ParameterError("partition_columns", unknown, "name only tables that frames loads")
        targets = []
        for ref, df in frames.items():
            if not isinstance(df, pd.DataFrame):
                raise ParameterError("df", type(df).__name__, "give a pandas DataFrame")
            dataset, table = _split_ref(ref)
            partition = partition_columns.get(ref)
            if partition is not None and partition not in df.columns:
                raise ParameterError("partition_column", partition,
                                     f"choose one of the DataFrame's columns {', '.join(map(str, df.columns))}")
            targets.append((ref, dataset, table, df, partition))
        with self.connection() as con:
            for _, dataset, _, _, _ in targets:
                if not _schema_exists(con, dataset):
                    raise self._dataset_not_found(con, dataset)
            names = [f"_runbook_df{i}" for i in range(len(targets))]
            for name, (_, _, _, df, _) in zip(names, targets):
                con.register(name, df)
            con.execute("BEGIN TRANSACTION")
            try:
                for name, (_, dataset, table, _, partition) in zip(names, targets):
                    self._load_one(con, name, dataset, table, mode, partition)
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
            finally:
                for name in names:
                    con.unregister(name)
        return {ref: len(df) for ref, _, _, df, _ in targets}

    def _load_one(self, con: duckdb.DuckDBPyConnection, source: str, dataset: str, table: str, mode: str,
                  partition_column: str | None) -> None:
        exists = _relation_exists(con, dataset, table)
        target = _fq(con, dataset, table)
        if mode == "append" and exists:
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source}")
            if partition_column is not None:
                con.execute(f"UPDATE {INTERNAL_SCHEMA}.tables SET partition_column = $p "
                            "WHERE dataset = $d AND table_name = $t",
                            {"p": partition_column, "d": dataset, "t": table})
            return
        previous = _table_meta(con, dataset, table) if exists else {}
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
        _normalise_column_types(con, dataset, table)
        now = _utcnow()
        created = previous.get("created_at") or now
        _set_table_meta(con, dataset, table, partition_column or previous.get("partition_column"),
                        created, previous.get("expires_at") if previous else _default_expiry(con, dataset, now))

    def drop_dataset(self, name: str, delete_contents: bool = False) -> None:
        _check_dataset_name(name)
        with self.connection() as con:
            if not _schema_exists(con, name):
                raise self._dataset_not_found(con, name)
            tables = _tables(con, name)
            if tables and not delete_contents:
                raise ParameterError("delete_contents", delete_contents,
                                     f"dataset {name} still holds {', '.join(tables)}; "
                                     "pass delete_contents=True to drop them too")
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DROP SCHEMA {_fq(con, name)} CASCADE")
                con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.tables WHERE dataset = $d", {"d": name})
                con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.datasets WHERE dataset = $d", {"d": name})
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise


# --------------------------------------------------------------------------------------------
# The process's DuckDB engine

class _Engine:
    """One in-memory DuckDB per process, its session set up once (UTC, BigQuery functions).

    Creating a DuckDB instance costs tens of milliseconds; attaching a file to a live one costs
    about one, so operations attach and detach the warehouse file rather than connect to it.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.con = duckdb.connect(":memory:")
        # BigQuery evaluates TIMESTAMP functions in UTC unless told otherwise.
        self.con.execute("SET TimeZone = 'UTC'")
        register_functions(self.con)
        self.lock = threading.RLock()
        self.attached: tuple[Path, bool] | None = None
        self.made_temp_objects = False

    def release(self) -> None:
        """End any open transaction, drop this operation's TEMP objects and DETACH the file."""
        con = self.con
        _rollback(con)
        try:
            if self.made_temp_objects:  # listing them is slow (duckdb_functions), so only when made
                for kind, name in con.execute(_TEMP_OBJECTS).fetchall():
                    con.execute(f"DROP {kind} IF EXISTS temp.main.{_q(name)}")
                self.made_temp_objects = False
            con.execute("USE memory")
            con.execute(f"DETACH DATABASE IF EXISTS {_q(CATALOG)}")
        except duckdb.Error:
            # Never leave the file attached (and locked): start this process's engine afresh.
            global _ENGINE
            try:
                con.close()
            finally:
                _ENGINE = None


_TEMP_OBJECTS = """
    SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary
    UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal
    UNION ALL SELECT DISTINCT CASE WHEN function_type = 'table_macro' THEN 'MACRO TABLE' ELSE 'MACRO' END, function_name
        FROM duckdb_functions() WHERE database_name = 'temp' AND NOT internal
        AND function_type IN ('macro', 'table_macro')"""

_ENGINE: _Engine | None = None
_ENGINE_GUARD = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    with _ENGINE_GUARD:
        if _ENGINE is None or _ENGINE.pid != os.getpid():  # a forked child needs its own
            _ENGINE = _Engine()
        return _ENGINE


# --------------------------------------------------------------------------------------------
# Helpers (all take an open connection)

def _looks_like_duckdb(p: Path) -> bool:
    """DuckDB files carry the magic bytes "DUCK" at offset 8. An empty file may be one being created."""
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 0 or (len(head) >= 12 and head[8:12] == b"DUCK")


def _bound(value):
    """A query parameter as BigQuery types it: a Python int is INT64 (DuckDB would bind 100000 as
    INT32, and @n * @n would overflow), a list of ints ARRAY<INT64>."""
    if isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX:
        return duckdb.LongValue(value)
    if isinstance(value, (list, tuple)) and value and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool) and _INT64_MIN <= v <= _INT64_MAX)
            for v in value) and any(v is not None for v in value):
        return duckdb.ListValue(list(value), duckdb.sqltypes.BIGINT)
    return value


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # nothing open (the failure came before BEGIN, or DuckDB already ended it)


def _is_temp(st: Statement) -> bool:
    return st.sql.upper().startswith(("CREATE TEMPORARY", "CREATE TEMP", "CREATE OR REPLACE TEMP"))


def _split_ref(ref: str, parameter: str = "table_ref") -> tuple[str, str]:
    parts = ref.split(".") if isinstance(ref, str) else []
    if len(parts) == 3:  # project.dataset.table: the project part means nothing locally
        parts = parts[1:]
    if len(parts) != 2 or not _DATASET_NAME.fullmatch(parts[0]) or not _TABLE_NAME.fullmatch(parts[1]):
        raise ParameterError(parameter, ref, 'give "dataset.table" (letters, digits, underscores)')
    if parts[0].lower() in _HIDDEN:
        raise ParameterError(parameter, ref, f"{parts[0]} is reserved by the local warehouse")
    return parts[0], parts[1]


def _check_dataset_name(name: str, reserved_ok: bool = False) -> None:
    if not isinstance(name, str) or not _DATASET_NAME.fullmatch(name):
        raise ParameterError("dataset", name, "dataset names are letters, digits and underscores (up to 1024)")
    if name.lower() in _HIDDEN and not reserved_ok:
        raise ParameterError("dataset", name, "that name is reserved by the local warehouse")


def _meta_exists(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $s "
        "AND table_name IN ('datasets', 'tables')", {"s": INTERNAL_SCHEMA}).fetchall()[0][0] == 2


def _datasets(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
        "AND NOT internal ORDER BY schema_name").fetchall()
    return [r[0] for r in rows if r[0].lower() not in _HIDDEN]


def _schema_exists(con: duckdb.DuckDBPyConnection, dataset: str) -> bool:
    return dataset.lower() not in _HIDDEN and con.execute(
        "SELECT COUNT(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = $d",
        {"d": dataset}).fetchall()[0][0] > 0


def _tables(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $d "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = $d AND NOT internal ORDER BY 1", {"d": dataset}).fetchall()
    return [r[0] for r in rows]


def _relation_exists(con: duckdb.DuckDBPyConnection, dataset: str, table: str | None) -> bool:
    return table is not None and table in _tables(con, dataset)


def _columns(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = $d AND table_name = $t ORDER BY column_index", {"d": dataset, "t": table}).fetchall()]


def _normalise_column_types(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> None:
    """Give every column a type BigQuery has (INTEGER -> BIGINT, FLOAT -> DOUBLE, ...).

    CREATE TABLE AS SELECT 1 AS n makes an INT32 column in DuckDB, which later overflows where
    BigQuery's INT64 would not; SUM() makes HUGEINT, which pandas turns into floats.
    """
    for name, t in _columns(con, dataset, table):
        wanted = normalised_column_type(t)
        if wanted:
            con.execute(f"ALTER TABLE {_fq(con, dataset, table)} ALTER COLUMN {_q(name)} TYPE {wanted}")


def _table_meta(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> dict:
    row = con.execute(
        f"SELECT partition_column, created_at, expires_at FROM {INTERNAL_SCHEMA}.tables "
        "WHERE dataset = $d AND table_name = $t", {"d": dataset, "t": table}).fetchall()
    row = row[0] if row else None
    return dict(zip(("partition_column", "created_at", "expires_at"), row)) if row else {}


def _set_table_meta(con: duckdb.DuckDBPyConnection, dataset: str, table: str, partition: str | None,
                    created: datetime, expires: datetime | None) -> None:
    con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.tables WHERE dataset = $d AND table_name = $t",
                {"d": dataset, "t": table})
    con.execute(f"INSERT INTO {INTERNAL_SCHEMA}.tables VALUES ($d, $t, $p, $c, $e)",
                {"d": dataset, "t": table, "p": partition, "c": created, "e": expires})


def _set_dataset_meta(con: duckdb.DuckDBPyConnection, dataset: str, days: float | None, created: datetime) -> None:
    con.execute(f"DELETE FROM {INTERNAL_SCHEMA}.datasets WHERE dataset = $d", {"d": dataset})
    con.execute(f"INSERT INTO {INTERNAL_SCHEMA}.datasets VALUES ($d, $x, $c)",
                {"d": dataset, "x": days, "c": created})


def _default_expiry(con: duckdb.DuckDBPyConnection, dataset: str, created: datetime) -> datetime | None:
    row = con.execute(f"SELECT default_table_expiration_days FROM {INTERNAL_SCHEMA}.datasets WHERE dataset = $d",
                      {"d": dataset}).fetchall()
    row = row[0] if row else None
    return created + timedelta(days=row[0]) if row and row[0] else None


def _fetch_df(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """Rows as a DataFrame, with the column types BigQuery would give (INT64, FLOAT64).

    DuckDB's integer literals are INT32 and its SUM over integers a 128-bit HUGEINT, which pandas
    receives as int32 and float64; BigQuery's client gives INT64. Casting raises on overflow, as
    BigQuery does.
    """
    rel = con.sql(sql, params=params or None)
    types = [str(t) for t in rel.types]
    wanted = [normalised_column_type(t) for t in types]
    if not any(w in ("BIGINT", "DOUBLE") for w in wanted):
        return rel.df()
    cols = ", ".join(
        (f"CAST(#{i} AS {w})" if w in ("BIGINT", "DOUBLE") else f"#{i}") + f" AS {_q(name)}"
        for i, (name, w) in enumerate(zip(rel.columns, wanted), start=1))
    return con.sql(f"SELECT {cols} FROM ({sql})", params=params or None).df()
