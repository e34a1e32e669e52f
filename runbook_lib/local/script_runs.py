"""Running one translated script in the embedded warehouse: its statements in order, in the caller's transaction.

What BigQuery does around each statement that DuckDB does not is done here: a MERGE or UPDATE matching a target row
with several source rows is refused; a query's ARRAY with a NULL element is refused and a NULL ARRAY read as empty;
the partitions a statement wrote are noted, and each table the script changed is recounted once, at its end
(table_stats), with the ARRAYs it wrote stored as BigQuery stores them; what a statement did to the catalogue is
kept in `_runbook_meta` (statement_effects).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Collection, NamedTuple, Sequence

import duckdb
import pyarrow as pa

from ..errors import NullArrayElement, WarehouseQueryError
from ..warehouse import null_element_refusal
from . import duckdb_catalog as catalog
from . import statement_effects, table_stats
from .array_nulls import array_columns, column_with_null_element, emptied_sql, holds_null_array, null_arrays_as_empty
from .bigquery import Statement, meta
from .duckdb_errors import dataset_not_found
from .duckdb_file import engine, qualified

# Statements that leave every table's columns and partitioning as they were: a script reads a table's shape once
# while only these run, and again after any other (CREATE OR REPLACE, ALTER, DROP, RENAME may change it).
SHAPE_KEEPING_KINDS = frozenset({"query", "merge", "dml"})


class TableShape(NamedTuple):
    columns: list[tuple[str, str]]   # (name, DuckDB type), in order; none where the table does not exist
    recorded: dict                   # its _runbook_meta record (meta.table_meta)


def _shape(con: duckdb.DuckDBPyConnection, shapes: dict[tuple[str, str], TableShape], dataset: str,
           table: str) -> TableShape:
    """A table's shape, read once while `shapes` keeps it (see SHAPE_KEEPING_KINDS)."""
    if (dataset, table) not in shapes:
        cols = catalog.columns(con, dataset, table)
        shapes[dataset, table] = TableShape(cols, meta.table_meta(con, dataset, table) if cols else {})
    return shapes[dataset, table]


def _arrays_written_as_bigquery_stores_them(con: duckdb.DuckDBPyConnection, dataset: str, table: str,
                                            shape: TableShape, written: Collection[str | None] = ()) -> None:
    """Fail the statement (in its transaction: nothing is written) where a table it wrote (`shape`: its columns and
    record) now holds an ARRAY with a NULL element, which BigQuery refuses to write; make each NULL ARRAY it wrote
    empty, as BigQuery stores one. (Its ARRAY columns only, in the partitions it wrote (`written`) when it names
    them: every other row was seen to when it was written.)"""
    arrays = array_columns(shape.columns)
    if not arrays:
        return
    listed = ", ".join(f'"{name}"' for name in arrays)
    where = table_stats.written_partitions_sql(shape.recorded, shape.columns, written)
    written_arrays = catalog.fetch_arrow(con, f"SELECT {listed} FROM {qualified(dataset, table)}{where}", {})
    column = column_with_null_element(written_arrays)
    if column is not None:
        raise NullArrayElement(null_element_refusal(column, f"table {dataset}.{table}",
                                                    by="The sandbox, as BigQuery,", written=True), column)
    if holds_null_array(written_arrays):   # stored as BigQuery stores it: a REPEATED field has no NULL (array_nulls)
        kinds = dict(shape.columns)
        emptied = ", ".join(f'"{name}" = ' + emptied_sql(f'"{name}"', kinds[name]) for name in arrays)
        con.execute(f"UPDATE {qualified(dataset, table)} SET {emptied}{where}")


def run_script(con: duckdb.DuckDBPyConnection, statements: Sequence[Statement], params: dict | None, path: Path,
               location: str) -> pa.Table:
    """Run the statements (in the caller's transaction) in the warehouse file at `path`, whose datasets are made in
    `location` unless a statement says otherwise; the last one's rows. Each table they changed is recounted once, at
    the end."""
    changed: dict[tuple[str, str], set[str | None]] = {}   # table -> the partitions written
    shapes: dict[tuple[str, str], TableShape] = {}
    for st in statements[:-1]:
        _run(con, st, params, changed, shapes, path, location)
    rows = _run(con, statements[-1], params, changed, shapes, path, location, fetch=True)
    now = datetime.now(timezone.utc)
    for (dataset, table), written in sorted(changed.items()):
        shape = _shape(con, shapes, dataset, table)
        if shape.columns:   # (none: the script dropped it; a table has a column)
            _arrays_written_as_bigquery_stores_them(con, dataset, table, shape, written)
            table_stats.refresh(con, dataset, table, now, written, shape.columns, shape.recorded)
    return rows

def _run(con: duckdb.DuckDBPyConnection, st: Statement, params: dict | None,
         changed: dict[tuple[str, str], set[str | None]], shapes: dict[tuple[str, str], TableShape], path: Path,
         location: str, fetch: bool = False) -> pa.Table | None:
    if st.kind == "transaction":
        return pa.table({}) if fetch else None
    if st.kind not in SHAPE_KEEPING_KINDS:
        shapes.clear()
    used = {k: catalog.bound(v, k) for k, v in (params or {}).items() if k in st.params}
    if st.datasets:
        for ds in st.datasets:
            if not catalog.schema_exists(con, ds):
                raise dataset_not_found(con, path, ds)
    existed = None
    if st.kind in ("create_table", "create_view", "create_schema") and st.dataset:
        existed = catalog.schema_exists(con, st.dataset) if st.kind == "create_schema" else \
            catalog.relation_exists(con, st.dataset, st.table)
    if st.merge_check:
        if con.execute(st.merge_check, used).fetchall():
            raise WarehouseQueryError(
                f"{'MERGE into' if st.kind == 'merge' else 'UPDATE of'} {st.dataset}.{st.table} matched one "
                "target row with several source rows; "
                "BigQuery refuses that (UPDATE/MERGE must match at most one source row for each target row)."
            )
    if fetch and st.kind == "query":
        rows = catalog.fetch_arrow(con, st.sql, used)
        column = column_with_null_element(rows)
        if column is not None:
            raise NullArrayElement(null_element_refusal(column, "the query", by="The sandbox, as BigQuery,"), column)
        return null_arrays_as_empty(rows)
    if st.temp:   # BigQuery's TEMP objects last one script, not the process
        engine().made_temp_objects = True
        engine().made_temp_functions |= st.kind not in ("create_table", "create_view")
    shape = _shape(con, shapes, st.dataset, st.table) if st.writes_rows and st.dataset and st.table else None
    if shape and shape.columns:   # (none: no such table, which the statement's own run then says)
        # a write that leaves the same rows still moves the partition's last change, as on BigQuery
        written = table_stats.run_noting_partitions(con, st.sql, used, shape.columns, shape.recorded)
        changed.setdefault((st.dataset, st.table), set()).update(written)
    elif st.sql:   # (an ALTER of what only _runbook_meta keeps has none)
        con.execute(st.sql, used)
        # A query before the last runs to its end, its rows unread, as BigQuery runs each statement of a script:
        # DuckDB 2 takes no next statement while a result is pending (DuckDB 1 dropped it, and has no complete())
        if hasattr(con, "complete"):
            con.complete()
    statement_effects.record(con, st, existed, changed, location)
    return pa.table({}) if fetch else None
