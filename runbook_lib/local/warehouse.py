"""The embedded warehouse: a DuckDB file that answers BigQuery-dialect SQL.

A BigQuery dataset is a DuckDB schema; a table ref is "dataset.table". What DuckDB has no place
for (partition column, clustering, labels, locations, expirations, partition statistics) lives in
the internal schema `_runbook_meta` (laid out by runbook_lib.local.bigquery.meta), which
list_datasets() and INFORMATION_SCHEMA never show; table_stats keeps the partition statistics in
step with every change and answers dry runs. The SQL itself is translated by runbook_lib.local.bigquery.
The rules and checks both targets share live in runbook_lib/warehouse.py.

The file is attached for the length of one operation (duckdb_file: reads read-only, a lock held by
another process retried until `lock_retry_seconds` have passed, then WarehouseBusy); every change
is one transaction, and script_runs runs a translated script's statements in it. duckdb_catalog answers what
exists, in BigQuery's terms; duckdb_errors says what does not (and turns DuckDB's errors into the kit's sentences).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, NamedTuple, Sequence

import duckdb
import pyarrow as pa

from ..errors import ParameterError, WarehouseQueryError
from ..protocols import DatasetInfo, PartitionInfo, TableInfo
from ..warehouse import (
    DEFAULT_LOCATION,
    PARTITIONS_SQL,
    carries_kit_label,
    check_clustering,
    check_columns,
    check_expiration_days,
    check_labels,
    check_location,
    check_params,
    check_sql,
    frame_from_arrow,
    hashed_columns,
    metadata_time,
    missing_params,
    not_the_kits,
    partition_infos,
)
from . import duckdb_catalog as catalog
from . import table_stats
from .bigquery import Statement, UnsupportedSQL, bigquery_type, duckdb_type, meta, retyped, to_duckdb, translate
from .frame_loads import duckdb_readable, refuse_rounded_bignumerics
from .duckdb_errors import dataset_not_found, explained, require_table, unqualified_table
from .script_runs import run_script
from .duckdb_file import (CATALOG, NOT_A_DATABASE, damaged, engine, file_problem, looks_like_duckdb, qualified,
                          quote, transaction)

if TYPE_CHECKING:   # pandas only when a frame is asked for: a phase service reads Arrow, and starts faster
    import pandas as pd

__all__ = ["LocalWarehouse", "TableInfo", "WarehouseQueryError", "UnsupportedSQL", "to_duckdb"]

LOCK_RETRY_SECONDS = 30.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class NewTable(NamedTuple):
    """A table for LocalWarehouse.create_tables to make: (name, BigQuery type) pairs, its partition column and
    clustering columns."""
    columns: Sequence[tuple[str, str]]
    partition_column: str | None = None
    clustering: Sequence[str] | None = None


class LocalWarehouse:
    """BigQuery-shaped access to one DuckDB file. Every method opens and closes its own connection."""

    def __init__(self, path: str | Path, project: str = "sandbox", lock_retry_seconds: float = LOCK_RETRY_SECONDS,
                 location: str = DEFAULT_LOCATION, create: bool = True):
        """`create=False`: the file must exist already (a runbook or a service reading the sandbox
        never makes a new, empty warehouse); a missing one is WarehouseDamaged."""
        p = Path(path).expanduser()
        if p.exists() and p.is_dir():
            raise ParameterError("warehouse_path", str(path), "give a file path for the DuckDB database, not a folder")
        if not p.parent.exists():
            raise ParameterError("warehouse_path", str(path), f"its folder {p.parent} must exist")
        if p.exists() and not looks_like_duckdb(p):
            raise ParameterError("warehouse_path", str(path), NOT_A_DATABASE)
        self.path = p.resolve()
        self.project = project
        self.lock_retry_seconds = lock_retry_seconds
        self.create = create
        self.location = check_location(location)   # where datasets are said to live (one file: nowhere else)
        self._meta_ready = False

    def __repr__(self) -> str:
        return f"LocalWarehouse({str(self.path)!r}, project={self.project!r})"

    def close(self) -> None:
        """Nothing to close: connections live only as long as one operation."""

    # ----------------------------------------------------------------------------------------
    # Connections

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse file, open for one operation (UTC session, BigQuery functions registered).

        The process keeps one in-memory DuckDB with the session set up; each operation ATTACHes
        the file (read-only when it only reads) and DETACHes it at the end, which releases the
        file lock for other processes. Operations in one process take turns; an operation nested
        in another on the same file shares its connection (and a script's TEMP objects end with it).
        """
        eng = engine()
        with eng.lock, self._unreadable_is_damage():
            if eng.attached is not None:
                path, attached_read_only = eng.attached
                if path == self.path and (read_only or not attached_read_only):
                    made_before = eng.made_temp_objects
                    try:
                        yield eng.con
                    finally:
                        if not made_before:   # a nested script's TEMP objects last that script, as on BigQuery's
                            try:
                                eng.drop_temp_objects()
                            except duckdb.Error:
                                pass   # the outer operation's release drops them, or starts the engine afresh
                    return
                raise RuntimeError(
                    f"A warehouse operation on {path} is still open in this thread; finish it before "
                    f"opening {self.path}{' for writing' if not read_only else ''}.")
            if not self.path.exists():
                if not self.create:
                    raise damaged(self.path, "is missing")
                read_only = False  # DuckDB creates a new file only when it may write
            eng.attach(self.path, read_only, self.lock_retry_seconds)
            try:
                if not self._meta_ready:
                    if not read_only:
                        eng.con.execute(meta.DDL)
                    elif not meta.exists(eng.con):
                        # A file we have not set up yet: set it up once, then carry on reading.
                        eng.release()
                        eng.attach(self.path, False, self.lock_retry_seconds)
                        eng.con.execute(meta.DDL)
                    self._meta_ready = True
                yield eng.con
            finally:
                eng.release()

    @contextmanager
    def _unreadable_is_damage(self) -> Iterator[None]:
        """DuckDB's IO errors (a truncated file read past its end) as one sentence saying how to rebuild."""
        try:
            yield
        except duckdb.IOException as exc:
            raise damaged(self.path, f"cannot be read ({str(exc).splitlines()[0]})") from None

    def problem(self) -> str | None:
        """What is wrong with the warehouse file ("is missing", "is truncated ..."), or None; see
        duckdb_file.file_problem. Creates nothing."""
        return file_problem(self.path)

    # ----------------------------------------------------------------------------------------
    # SQL

    def _translate(self, sql: str, params: dict | None) -> tuple[Statement, ...]:
        statements = translate(check_sql(sql), self.project, CATALOG)
        unqualified = next((name for st in statements for name in st.unqualified), None)
        if unqualified is not None:
            raise unqualified_table(unqualified)
        missing_params({p for s in statements for p in s.params}, check_params(params))
        return statements

    def row_hash_sql(self, columns: Sequence[str], types: Sequence[str] | None = None) -> str:
        """DuckDB's own HASH over the columns: vectorised, unlike the sandbox's FARM_FINGERPRINT UDF. Its
        hash loses the shape of nested values (a NULL STRUCT hashes as a STRUCT of NULLs, a NULL or
        [NULL] ARRAY as [], STRUCT(a [1, 2], b [3]) as STRUCT(a [1], b [2, 3])), so ARRAY and STRUCT
        columns (by `types`) are hashed as their JSON text, and so are INTERVAL columns, whose hash takes a month
        for 30 days (as their equality does, in DuckDB and in BigQuery), where gcp's fingerprint of the JSON text
        ("P1M", "P30D") tells the two apart. A NUMERIC(P, S) column is DECIMAL(P, S) here, whose
        hash of 1.50 is not DECIMAL(38, 9)'s of 1.5, so NUMERIC columns are hashed at NUMERIC's own scale (as
        BigQuery's NUMERIC values carry none)."""
        hashed = [f"TO_JSON_STRING({q})" if kind in ("ARRAY", "STRUCT", "INTERVAL")
                  else f"CAST({q} AS NUMERIC)" if kind == "NUMERIC"
                  else q for q, kind in hashed_columns(columns, types)]
        return f"HASH({', '.join(hashed)})"

    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """Run BigQuery-dialect SQL and return the last statement's rows, typed as the BigQuery client
        types them (runbook_lib.warehouse.frame_from_arrow).

        Statements before the last (a CREATE TEMP FUNCTION, say) run first on the same connection.
        """
        table = self.query_arrow(sql, params)
        if table.num_columns:
            return frame_from_arrow(table)
        import pandas as pd
        return pd.DataFrame()

    def query_arrow(self, sql: str, params: dict | None = None) -> pa.Table:
        """query()'s rows as Arrow, with BigQuery's column types (the BigQuery fake serves these)."""
        statements = self._translate(sql, params)
        read_only = all(s.kind in ("query", "transaction") or (s.kind == "other" and s.temp) for s in statements)
        with self.connection(read_only=read_only) as con:
            statements = retyped(con, sql, statements, self.project, CATALOG)   # NUMERIC results as BigQuery's
            with explained(con, self.path, statements, sql), transaction(con, enabled=not read_only):
                return run_script(con, statements, params, self.path, self.location)

    def estimate_bytes(self, sql: str, params: dict | None = None) -> int:
        """The bytes BigQuery would bill a scan of for `sql`, as its dry run reports them (table_stats)."""
        statements = self._translate(sql, params)
        with self.connection(read_only=True) as con:
            made: set[tuple[str | None, str | None]] = set()   # what the script creates before a statement reads it
            for st in statements:   # a dry run fails as the query would, on what is missing
                if st.kind in ("create_table", "create_view"):
                    made.add((st.dataset, st.table))
                for dataset, table in (r for r in st.tables if r not in made):
                    require_table(con, self.path, dataset, table)
            return table_stats.estimate(con, sql, self.project, params or {})

    def execute(self, sql: str, params: dict | None = None) -> None:
        """Run BigQuery-dialect statements (DDL/DML), all in one transaction: all or nothing."""
        statements = self._translate(sql, params)
        with self.connection() as con:
            statements = retyped(con, sql, statements, self.project, CATALOG)   # NUMERIC results as BigQuery's
            with explained(con, self.path, statements, sql), transaction(con):
                run_script(con, statements, params, self.path, self.location)

    # ----------------------------------------------------------------------------------------
    # Catalog

    def list_datasets(self) -> list[str]:
        with self.connection(read_only=True) as con:
            return catalog.datasets(con)

    def list_tables(self, dataset: str) -> list[str]:
        catalog.check_dataset_name(dataset, reserved_ok=True)
        with self.connection(read_only=True) as con:
            names = catalog.tables_if_dataset(con, dataset)
            if names is None:
                raise dataset_not_found(con, self.path, dataset)
            return names

    def dataset_exists(self, name: str) -> bool:
        catalog.check_dataset_name(name, reserved_ok=True)
        with self.connection(read_only=True) as con:
            return catalog.schema_exists(con, name)

    def table_exists(self, ref: str) -> bool:
        dataset, table = catalog.split_ref(ref)
        with self.connection(read_only=True) as con:
            return catalog.relation_exists(con, dataset, table)

    def table_info(self, ref: str) -> TableInfo:
        dataset, table = catalog.split_ref(ref)
        with self.connection(read_only=True) as con:
            require_table(con, self.path, dataset, table)
            recorded = meta.table_meta(con, dataset, table)
            view = catalog.is_view(con, dataset, table)
            partition = recorded.get("partition_column")
            duckdb_columns = catalog.columns(con, dataset, table)
            columns = [(name, bigquery_type(t)) for name, t in duckdb_columns]
            ranged = partition is not None and dict(columns).get(partition) == "INT64"
            # BigQuery stores no rows for a view: tables.get says 0 rows and 0 bytes.
            num_rows, num_bytes = (0, 0) if view else table_stats.table_size(con, dataset, table, duckdb_columns)
            return TableInfo(
                dataset=dataset, table=table,
                columns=columns,
                num_rows=num_rows, partition_column=partition,
                expires_at=metadata_time(recorded.get("expires_at")), created_at=metadata_time(recorded.get("created_at")),
                kind="VIEW" if view else "TABLE",
                num_bytes=num_bytes,
                last_modified=metadata_time(recorded.get("last_modified") or recorded.get("created_at")),
                partition_type=("RANGE" if ranged else recorded.get("partition_unit") or "DAY") if partition else None,
                partition_range=recorded.get("partition_range") if ranged else None,
                clustering=list(recorded.get("clustering") or []),
                labels=dict(recorded.get("labels") or {}),
            )

    def dataset_info(self, name: str) -> DatasetInfo:
        catalog.check_dataset_name(name)
        with self.connection(read_only=True) as con:
            if not catalog.schema_exists(con, name):
                raise dataset_not_found(con, self.path, name)
            recorded = meta.dataset_meta(con, name)
        return DatasetInfo(name=name, location=recorded.get("location") or self.location,
                           default_table_expiration_days=recorded.get("default_table_expiration_days"),
                           labels=dict(recorded.get("labels") or {}), created_at=metadata_time(recorded.get("created_at")),
                           last_modified=metadata_time(recorded.get("created_at")))

    def partitions(self, ref: str) -> list[PartitionInfo]:
        """INFORMATION_SCHEMA.PARTITIONS of one table (counted first if it changed outside the warehouse)."""
        dataset, table = catalog.split_ref(ref)
        sql = PARTITIONS_SQL.format(project=self.project, dataset=dataset)
        with self.connection(read_only=True) as con:
            require_table(con, self.path, dataset, table)
            if catalog.is_view(con, dataset, table):
                return []   # a view stores nothing, so it has no partitions
            if meta.has_partition_stats(con, dataset, table):
                # Counted already (the usual case): the query shares this attach rather than making another.
                return partition_infos(self.query(sql, {"table_name": table}))
        with self.connection() as con, transaction(con):
            table_stats.refresh(con, dataset, table, _utcnow())
        return partition_infos(self.query(sql, {"table_name": table}))

    # ----------------------------------------------------------------------------------------
    # Changes

    def create_dataset(self, name: str, default_table_expiration_days: float | None = None,
                       exists_ok: bool = True, location: str | None = None,
                       labels: dict[str, str] | None = None) -> None:
        """Create a dataset carrying `labels` and the kit's own; tables created in it later expire
        `default_table_expiration_days` after creation."""
        catalog.check_dataset_name(name)
        days = check_expiration_days(default_table_expiration_days)
        location = check_location(location) or self.location
        labels = check_labels(labels)
        with self.connection() as con:
            if catalog.schema_exists(con, name):
                if exists_ok:
                    return
                raise ParameterError("dataset", name,
                                     "it already exists in the local warehouse; pass exists_ok=True to reuse it")
            with transaction(con):
                con.execute(f"CREATE SCHEMA {qualified(name)}")
                meta.set_dataset_meta(con, name, days, _utcnow(), location, labels)

    def create_table(self, ref: str, columns: Sequence[tuple[str, str]], partition_column: str | None = None,
                     exists_ok: bool = True, clustering: Sequence[str] | None = None) -> None:
        """Create an empty table from (name, BigQuery type) pairs."""
        self.create_tables({ref: NewTable(columns, partition_column, clustering)}, exists_ok=exists_ok)

    def create_tables(self, tables: Mapping[str, NewTable], exists_ok: bool = True) -> list[str]:
        """Create several empty tables (ref -> NewTable) in one transaction, all or none; the refs it made (with
        exists_ok, a table that exists is left as it is)."""
        wanted = {}
        for ref, new in tables.items():
            checked = check_columns(new.columns, new.partition_column, new.clustering)
            wanted[catalog.split_ref(ref)] = (ref, checked, new)
        with self.connection() as con:
            made = []
            for (dataset, table), (ref, _, _) in wanted.items():
                if not catalog.schema_exists(con, dataset):
                    raise dataset_not_found(con, self.path, dataset)
                if not catalog.relation_exists(con, dataset, table):
                    made.append((dataset, table))
                elif not exists_ok:
                    raise ParameterError("table_ref", ref,
                                         "that table already exists in the local warehouse; pass exists_ok=True")
            with transaction(con):
                now = _utcnow()
                for dataset, table in made:
                    _, checked, new = wanted[dataset, table]
                    defs = [f"{quote(name)} {duckdb_type(bq)}" for name, bq in checked]
                    con.execute(f"CREATE TABLE {qualified(dataset, table)} ({', '.join(defs)})")
                    meta.set_table_meta(con, dataset, table, new.partition_column, now,
                                        meta.default_expiry(con, dataset, now),
                                        check_clustering(new.clustering, [c[0] for c in checked]))
                    table_stats.record_empty(con, dataset, table, new.partition_column is not None, now)
        return [wanted[d, t][0] for d, t in made]

    def create_table_like(self, source_ref: str, dest_ref: str, exists_ok: bool = True) -> None:
        """An empty table with the source's columns, partition column and clustering."""
        src = catalog.split_ref(source_ref, "source_ref")
        dest = catalog.split_ref(dest_ref, "dest_ref")
        with self.connection() as con:
            require_table(con, self.path, *src)
            if not catalog.schema_exists(con, dest[0]):
                raise dataset_not_found(con, self.path, dest[0])
            if catalog.relation_exists(con, *dest):
                if exists_ok:
                    return
                raise ParameterError("dest_ref", dest_ref,
                                     "that table already exists in the local warehouse; pass exists_ok=True")
            with transaction(con):
                con.execute(f"CREATE TABLE {qualified(*dest)} AS SELECT * FROM {qualified(*src)} LIMIT 0")
                now = _utcnow()
                source = meta.table_meta(con, *src)
                meta.set_table_meta(con, *dest, source.get("partition_column"), now,
                                    meta.default_expiry(con, dest[0], now), source.get("clustering", ()),
                                    partition_range=source.get("partition_range"),
                                    partition_unit=source.get("partition_unit"))
                table_stats.record_empty(con, *dest, source.get("partition_column") is not None, now)

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
        import pandas as pd

        targets = []
        for ref, df in frames.items():
            if not isinstance(df, pd.DataFrame):
                raise ParameterError("df", type(df).__name__, "give a pandas DataFrame")
            dataset, table = catalog.split_ref(ref)
            partition = partition_columns.get(ref)
            if partition is not None and partition not in df.columns:
                raise ParameterError("partition_column", partition,
                                     f"choose one of the DataFrame's columns {', '.join(map(str, df.columns))}")
            targets.append((ref, dataset, table, df, partition))
        with self.connection() as con:
            for ref, dataset, table, df, _ in targets:
                if not catalog.schema_exists(con, dataset):
                    raise dataset_not_found(con, self.path, dataset)
                kept = catalog.columns(con, dataset, table) if mode == "append" and \
                    catalog.relation_exists(con, dataset, table) else []
                refuse_rounded_bignumerics(ref, df, {n for n, t in kept if bigquery_type(t) == "BIGNUMERIC"})
            names = [f"_runbook_df{i}" for i in range(len(targets))]
            for name, (_, _, _, df, _) in zip(names, targets):
                con.register(name, duckdb_readable(df))
            try:
                with transaction(con):
                    for name, (_, dataset, table, _, partition) in zip(names, targets):
                        self._load_one(con, name, dataset, table, mode, partition)
                        # replace truncates: every partition is written, if with the same rows
                        table_stats.refresh(con, dataset, table, _utcnow(),
                                            {meta.EVERY_PARTITION} if mode == "replace" else ())
            finally:
                for name in names:
                    con.unregister(name)
        return {ref: len(df) for ref, _, _, df, _ in targets}

    def _load_one(self, con: duckdb.DuckDBPyConnection, source: str, dataset: str, table: str, mode: str,
                  partition_column: str | None) -> None:
        exists = catalog.relation_exists(con, dataset, table)
        target = qualified(dataset, table)
        if mode == "append" and exists:
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source}")
            if partition_column is not None:
                meta.set_partition_column(con, dataset, table, partition_column)
            return
        previous = meta.table_meta(con, dataset, table) if exists else {}
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
        catalog.normalise_column_types(con, dataset, table)
        now = _utcnow()
        created = previous.get("created_at") or now
        kept = partition_column in (None, previous.get("partition_column"))   # a new one has no range nor unit
        meta.set_table_meta(con, dataset, table, partition_column or previous.get("partition_column"),
                            created, previous.get("expires_at") if previous else meta.default_expiry(con, dataset, now),
                            partition_range=previous.get("partition_range") if kept else None,
                            partition_unit=previous.get("partition_unit") if kept else None)

    def drop_dataset(self, name: str, delete_contents: bool = False) -> None:
        """Drop a dataset the kit created (it carries the kit's label); any other is refused."""
        catalog.check_dataset_name(name)
        with self.connection() as con:
            if not catalog.schema_exists(con, name):
                raise dataset_not_found(con, self.path, name)
            if not carries_kit_label(meta.dataset_meta(con, name).get("labels")):
                raise ParameterError("dataset", name, not_the_kits(name))
            tables = catalog.tables(con, name)
            if tables and not delete_contents:
                raise ParameterError("delete_contents", delete_contents,
                                     f"dataset {name} still holds {', '.join(tables)}; "
                                     "pass delete_contents=True to drop them too")
            with transaction(con):
                con.execute(f"DROP SCHEMA {qualified(name)} CASCADE")
                meta.forget_dataset(con, name)
