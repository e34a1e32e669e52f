"""The attached warehouse file in BigQuery's terms: dataset and table names, what exists, column
types, and BigQuery's types at the edges (query parameters in, Arrow rows out).

Every function that takes `con` expects the warehouse file attached and in use (duckdb_file).
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from .. import warehouse as shared
from ..errors import ParameterError
from .bigquery import meta, normalised_column_type
from .duckdb_file import qualified, quote

_HIDDEN = tuple(s.lower() for s in meta.HIDDEN_SCHEMAS)


# ---------------------------------------------------------------------------------------------
# Names (checked before anything opens the file)

def split_ref(ref: str, parameter: str = "table_ref") -> tuple[str, str]:
    """"dataset.table" (or "project.dataset.table") as (dataset, table); ParameterError otherwise."""
    parsed = shared.split_ref(ref, parameter)   # the project part means nothing locally
    if parsed.dataset.lower() in _HIDDEN:
        raise ParameterError(parameter, ref, f"{parsed.dataset} is reserved by the local warehouse")
    return parsed.dataset, parsed.table


def check_dataset_name(name: str, reserved_ok: bool = False) -> None:
    shared.check_dataset_name(name)
    if name.lower() in _HIDDEN and not reserved_ok:
        raise ParameterError("dataset", name, "that name is reserved by the local warehouse")


# ---------------------------------------------------------------------------------------------
# What exists

def datasets(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
        "AND NOT internal ORDER BY schema_name").fetchall()
    return [r[0] for r in rows if r[0].lower() not in _HIDDEN]


def schema_exists(con: duckdb.DuckDBPyConnection, dataset: str) -> bool:
    return dataset.lower() not in _HIDDEN and con.execute(
        "SELECT COUNT(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = $d",
        {"d": dataset}).fetchall()[0][0] > 0


_TABLES_AND_VIEWS = (
    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $d "
    "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
    "AND schema_name = $d AND NOT internal")


def tables(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Tables and views of a dataset."""
    return [r[0] for r in con.execute(f"{_TABLES_AND_VIEWS} ORDER BY 1", {"d": dataset}).fetchall()]


def tables_if_dataset(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str] | None:
    """Tables and views of a dataset, or None when there is no such dataset: one statement where schema_exists and
    tables take two (a statement costs more than the few rows either reads)."""
    if dataset.lower() in _HIDDEN:
        return None
    rows = con.execute(   # (the schema's own row, a NULL, first: there is none when the dataset is not)
        f"{_TABLES_AND_VIEWS} UNION ALL SELECT NULL FROM duckdb_schemas() WHERE database_name = current_database() "
        "AND schema_name = $d ORDER BY 1 NULLS FIRST", {"d": dataset}).fetchall()
    if not rows or rows[0][0] is not None:
        return None
    return [r[0] for r in rows[1:]]


def relation_exists(con: duckdb.DuckDBPyConnection, dataset: str, table: str | None) -> bool:
    return table is not None and table in tables(con, dataset)


def is_view(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> bool:
    return con.execute(
        "SELECT COUNT(*) FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = $d AND view_name = $t", {"d": dataset, "t": table}).fetchall()[0][0] > 0


def columns(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column, in order."""
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = $d AND table_name = $t ORDER BY column_index", {"d": dataset, "t": table}).fetchall()]


# ---------------------------------------------------------------------------------------------
# BigQuery's types

def normalise_column_types(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> None:
    """Give every column a type BigQuery has (INTEGER -> BIGINT, FLOAT -> DOUBLE, ...).

    CREATE TABLE AS SELECT 1 AS n makes an INT32 column in DuckDB, which later overflows where
    BigQuery's INT64 would not; SUM() makes HUGEINT, which pandas turns into floats.
    """
    for name, t in columns(con, dataset, table):
        wanted = normalised_column_type(t)
        if wanted:
            con.execute(f"ALTER TABLE {qualified(dataset, table)} ALTER COLUMN {quote(name)} TYPE {wanted}")


def bound(value, name: str = "parameter"):
    """A query parameter as BigQuery types it, by the rule both targets share (warehouse.typed_parameter: a
    numpy scalar is its Python value; None, an empty list or an int beyond INT64 are refused alike): an int
    is INT64 (DuckDB would bind 100000 as INT32, and @n * @n would overflow), a list of ints ARRAY<INT64>.
    `name` is the parameter's, for the refusal."""
    typed = shared.typed_parameter(name, value)
    if typed.type == "INT64":
        return duckdb.ListValue(typed.value, duckdb.sqltypes.BIGINT) if typed.is_array else duckdb.LongValue(typed.value)
    return typed.value


def fetch_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pa.Table:
    """Rows as Arrow, with the column types BigQuery would give (INT64, FLOAT64).

    DuckDB's integer literals are INT32 and its SUM over integers a 128-bit HUGEINT; BigQuery gives
    INT64. Casting raises on overflow, as BigQuery does.
    """
    rel = con.sql(sql, params=params or None)
    types = [str(t) for t in rel.types]
    wanted = [normalised_column_type(t) for t in types]
    cast = [w is not None and (w in ("BIGINT", "DOUBLE") or "[" in w or w.upper().startswith(("STRUCT(", "MAP(")))
            for w in wanted]
    if not any(cast):
        return _json_marked(rel.to_arrow_table(), types)
    cols = ", ".join(
        (f"CAST(#{i} AS {w})" if c else f"#{i}") + f" AS {quote(name)}"
        for i, (name, w, c) in enumerate(zip(rel.columns, wanted, cast), start=1))
    return _json_marked(con.sql(f"SELECT {cols} FROM ({sql})", params=params or None).to_arrow_table(), types)


# How google-cloud-bigquery marks a JSON column in its Arrow (_pandas_helpers: a string field with this
# extension name): DuckDB hands JSON over as plain text, so a JSON column is marked as the client marks it.
JSON_FIELD_METADATA = {b"ARROW:extension:name": b"google:sqlType:json"}


def _json_marked(table: pa.Table, duckdb_types: list[str]) -> pa.Table:
    if "JSON" not in duckdb_types:
        return table
    fields = [f.with_metadata(JSON_FIELD_METADATA) if t == "JSON" else f for f, t in zip(table.schema, duckdb_types)]
    return table.cast(pa.schema(fields))
