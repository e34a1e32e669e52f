"""The local warehouse's errors in BigQuery's terms: a missing dataset or table named with what does exist,
and DuckDB's catalog and parser errors turned into the kit's one-sentence errors."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import duckdb
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from ..errors import NotFoundError, WarehouseQueryError
from . import duckdb_catalog as catalog
from .bigquery import Statement, UnsupportedSQL, parsed
from .bigquery.rewrites import apply


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


def unqualified_table(name: str) -> WarehouseQueryError:
    """BigQuery's refusal of a table named without its dataset, when the job sets no default dataset (the sandbox
    has none): DuckDB would look the name up in its own catalog, and answer from `duckdb_tables` or `pg_constraint`."""
    return WarehouseQueryError(f'The query was refused: Table "{name}" must be qualified with a dataset '
                               "(e.g. dataset.table).")


@contextmanager
def explained(con: duckdb.DuckDBPyConnection, path: Path, statements: Sequence[Statement],
              sql: str | None = None) -> Iterator[None]:
    """Errors out of the block as the kit's one-sentence errors where explain knows them
    (after the transaction inside the block has rolled back, so the catalog is as it was)."""
    try:
        yield
    except BaseException as exc:
        mapped = explain(con, path, exc, statements, sql)
        if mapped is exc:
            raise
        raise mapped from None


def explain(con: duckdb.DuckDBPyConnection, path: Path, exc: BaseException,
            statements: Sequence[Statement], sql: str | None = None) -> BaseException:
    """Turn DuckDB's catalog and parser errors into the kit's one-sentence errors; `sql`, the BigQuery SQL the
    statements were translated from, names the operator's own function where DuckDB's refusal names its own."""
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
        missing = _NO_TABLE.search(str(exc))
        if missing and missing.group(1).lower() not in {table.lower() for st in statements for _, table in st.tables}:
            # a name translation let through as a CTE's, used out of the CTE's scope: DuckDB's suggestion names
            # its own catalog ("Did you mean pg_class?")
            return unqualified_table(missing.group(1))
        exists = _ALREADY_EXISTS.search(str(exc))
        if exists:
            return already_exists(exists.group(1), exists.group(2), statements)
        function = _NO_FUNCTION.search(str(exc))
        if function:
            # BigQuery's invalidQuery "Function not found: name"; DuckDB's own suggestion names a DuckDB function
            return WarehouseQueryError(f"The query was refused: Function not found: {function.group(1)} (the sandbox "
                                       "has no function of that name; a BigQuery function it does not emulate, such "
                                       "as PARSE_NUMERIC, runs on target=gcp).")
        return _refused(exc)
    if isinstance(exc, duckdb.ParserException):
        first = str(exc).splitlines()[0]
        return UnsupportedSQL(f"The local warehouse cannot run this SQL once translated to DuckDB ({first}).")
    if isinstance(exc, duckdb.BinderException):
        # BigQuery refuses these before running anything (an unrecognized name, a wrong argument type) with
        # invalidQuery, which the gcp adapter raises as WarehouseQueryError: the sandbox answers alike
        first = _BINDER_KIND.sub("", str(exc).splitlines()[0]).rstrip(".!")
        untyped = _UNTYPED_CALL.search(first)
        if untyped:
            # DuckDB names its own function (octet_length for BYTE_LENGTH) and advises casts to its own types
            return WarehouseQueryError(f"The query was refused: the sandbox cannot run "
                                       f"{_bigquery_call(sql, untyped.group(1))} with the types of its arguments (it "
                                       "does not take every argument type BigQuery takes; target=gcp runs it).")
        if first.startswith(_STAR_IN_EXPRESSION):
            # DuckDB's advice, COLUMNS(*), is DuckDB's own SQL, which BigQuery refuses
            return WarehouseQueryError("The query was refused: the sandbox cannot run a * inside an expression, such "
                                       "as SELECT AS STRUCT *; name the columns instead (SELECT AS STRUCT a, b).")
        return WarehouseQueryError(f"The query was refused: {first}.")
    if isinstance(exc, duckdb.NotImplementedException):
        zone = _UNKNOWN_ZONE.search(str(exc))
        if zone:
            # DuckDB's "Candidate time zones" are its nearest spellings, unrelated to an offset such as '-08'
            return WarehouseQueryError(f"The query failed as it ran: the sandbox does not know the time zone "
                                       f"'{zone.group(1)}' (it takes IANA time zone names, such as "
                                       "America/Los_Angeles, or UTC).")
    if isinstance(exc, duckdb.Error) and not isinstance(exc, _THE_FILES_OWN):
        # BigQuery fails these as the query runs (a bad cast, a value out of range, a checked limit) with
        # invalidQuery, which the gcp adapter raises as WarehouseQueryError: the sandbox answers alike, and so for
        # whatever else DuckDB raises about the SQL it ran, rather than let its own exception class out
        first = _RUNTIME_KIND.sub("", str(exc).splitlines()[0]).rstrip(".!")
        return WarehouseQueryError(f"The query failed as it ran: {first}.")
    return exc


def _refused(exc: BaseException) -> WarehouseQueryError:
    first = re.sub(r"^Catalog Error: ", "", str(exc).splitlines()[0]).rstrip(".!")
    return WarehouseQueryError(f"The query was refused: {first}.")


def already_exists(kind: str, name: str, statements: Sequence[Statement]) -> WarehouseQueryError:
    """BigQuery's duplicate (409) for a CREATE of what exists, in its words: `Already Exists: Table p:ds.t`."""
    kind = {"schema": "Dataset", "table": "Table", "view": "Table"}.get(kind.lower(), "Function")
    made = next((f"{st.dataset}.{name}" for st in statements if st.dataset and st.table
                 and st.table.lower() == name.lower()), name) if kind == "Table" else name
    return WarehouseQueryError(f"The query was refused: Already Exists: {kind} {made} (CREATE OR REPLACE replaces "
                               "it; CREATE ... IF NOT EXISTS leaves it as it is).")


def _bigquery_call(sql: str | None, duckdb_function: str) -> str:
    """The function of BigQuery `sql` whose translation calls DuckDB's `duckdb_function` (BYTE_LENGTH for
    octet_length), the innermost such call; "a function call" where the SQL does not tell."""
    if sql is None:
        return "a function call"
    spellings = (duckdb_function, *_BOUND_AS.get(duckdb_function.lower(), ()))
    called = re.compile(rf"\b(?:{'|'.join(map(re.escape, spellings))})\s*\(", re.IGNORECASE)
    try:
        trees = parsed(sql)
    except UnsupportedSQL:
        return "a function call"
    for tree in trees:
        for node in reversed(list(tree.find_all(exp.Func))):   # deepest first: an outer call contains the inner's
            try:
                duckdb_sql = apply(node.copy()).sql("duckdb", unsupported_level=ErrorLevel.IGNORE)
                name = re.match(r"[A-Za-z_][\w.]*", node.sql("bigquery", unsupported_level=ErrorLevel.IGNORE))
            except Exception:  # noqa: BLE001, S112 - a call the translation refuses alone is not the one DuckDB ran
                continue
            if name and called.search(duckdb_sql):
                return name.group(0).upper()
    return "a function call"


_NO_TABLE = re.compile(r"Table with name (\S+) does not exist!")
# (or a function of an extension the sandbox does not load: it fetches none)
_NO_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table|Macro) Function with name \"?([^\s\"]+)\"? "
                          r"(?:does not exist|is not in the catalog)")
_ALREADY_EXISTS = re.compile(r"(Table|View|Schema|(?:Scalar |Macro |Table )?(?:Macro )?Function|Macro) with name "
                             r"\"?([^\s\"!]+)\"? already exists")
# the file's own trouble (locked, truncated, interrupted): the warehouse explains those itself
_THE_FILES_OWN = (duckdb.IOException, duckdb.InterruptException)
# DuckDB's binder refusing a function's argument types: no signature takes them, or several do equally well
_UNTYPED_CALL = re.compile(r"^(?:No function matches the given name and argument types '"
                           r"|Could not choose a best candidate function for the function call \")(\w+)\(")
_BOUND_AS = {"date_part": ("EXTRACT",)}   # DuckDB's binder calls EXTRACT(part FROM x) date_part(part, x)
_STAR_IN_EXPRESSION = "STAR expression is only allowed as the root element of an expression"
_UNKNOWN_ZONE = re.compile(r"Unknown TimeZone '([^']*)'")
_BINDER_KIND = re.compile(r"^Binder Error: ")
_RUNTIME_KIND = re.compile(r"^[A-Z][\w ]*? Error: ")
