"""The local warehouse's errors in BigQuery's terms: a missing dataset or table named with what does exist,
and DuckDB's catalog and parser errors turned into the kit's one-sentence errors."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb

from ..errors import NotFoundError, WarehouseQueryError
from . import duckdb_catalog as catalog
from .bigquery import Statement, UnsupportedSQL


def dataset_not_found(con: duckdb.DuckDBPyConnection, path: Path, dataset: str) -> NotFoundError:
    names = catalog.datasets(con)
    return NotFoundError(
        f"Dataset {dataset} was not found in the local warehouse ({path}); "
        f"datasets: {', '.join(names) or 'none'}."
    )


def table_not_found(con: duckdb.DuckDBPyConnection, path: Path, dataset: str, table: str) -> NotFoundError:
    names = catalog.tables(con, dataset)
    return NotFoundError(
        f"Table {dataset}.{table} was not found in the local warehouse ({path}); "
        f"tables in {dataset}: {', '.join(names) or 'none'}."
    )


def require_table(con: duckdb.DuckDBPyConnection, path: Path, dataset: str, table: str) -> None:
    if not catalog.schema_exists(con, dataset):
        raise dataset_not_found(con, path, dataset)
    if not catalog.relation_exists(con, dataset, table):
        raise table_not_found(con, path, dataset, table)


@contextmanager
def explained(con: duckdb.DuckDBPyConnection, path: Path, statements: Sequence[Statement]) -> Iterator[None]:
    """Errors out of the block as the kit's one-sentence errors where explain knows them
    (after the transaction inside the block has rolled back, so the catalog is as it was)."""
    try:
        yield
    except BaseException as exc:
        mapped = explain(con, path, exc, statements)
        if mapped is exc:
            raise
        raise mapped from None


def explain(con: duckdb.DuckDBPyConnection, path: Path, exc: BaseException,
            statements: Sequence[Statement]) -> BaseException:
    """Turn DuckDB's catalog and parser errors into the kit's one-sentence errors."""
    if isinstance(exc, duckdb.CatalogException):
        for st in statements:
            skip = (st.dataset, st.table) if st.kind in ("create_table", "create_view") else None
            for ds, table in st.tables:
                if not catalog.schema_exists(con, ds):
                    return dataset_not_found(con, path, ds)
                if (ds, table) != skip and not catalog.relation_exists(con, ds, table):
                    return table_not_found(con, path, ds, table)
            if st.dataset and st.kind in ("create_table", "create_view", "merge") \
                    and not catalog.schema_exists(con, st.dataset):
                return dataset_not_found(con, path, st.dataset)
        function = _NO_FUNCTION.search(str(exc))
        if function:
            # BigQuery's invalidQuery "Function not found: name"; DuckDB's own suggestion names a DuckDB function
            return WarehouseQueryError(f"The query was refused: Function not found: {function.group(1)} (the sandbox "
                                       "has no function of that name; a BigQuery function it does not emulate, such "
                                       "as PARSE_NUMERIC, runs on target=gcp).")
        return exc
    if isinstance(exc, duckdb.ParserException):
        first = str(exc).splitlines()[0]
        return UnsupportedSQL(f"The local warehouse cannot run this SQL once translated to DuckDB ({first}).")
    if isinstance(exc, duckdb.BinderException):
        # BigQuery refuses these before running anything (an unrecognized name, a wrong argument type) with
        # invalidQuery, which the gcp adapter raises as WarehouseQueryError: the sandbox answers alike
        first = _BINDER_KIND.sub("", str(exc).splitlines()[0]).rstrip(".!")
        return WarehouseQueryError(f"The query was refused: {first}.")
    if isinstance(exc, _FAILED_AS_IT_RAN):
        # BigQuery fails these as the query runs (a bad cast, a value out of range, a checked limit) with
        # invalidQuery, which the gcp adapter raises as WarehouseQueryError: the sandbox answers alike
        first = _RUNTIME_KIND.sub("", str(exc).splitlines()[0]).rstrip(".!")
        return WarehouseQueryError(f"The query failed as it ran: {first}.")
    return exc


_NO_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table|Macro) Function with name (\S+) does not exist")
_FAILED_AS_IT_RAN = (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException)
_BINDER_KIND = re.compile(r"^Binder Error: ")
_RUNTIME_KIND = re.compile(r"^(Conversion|Invalid Input|Out of Range) Error: ")
