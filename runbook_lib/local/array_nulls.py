"""NULLs in a query result's ARRAYs, as BigQuery returns them, for the sandbox's DuckDB results (DuckDB keeps
both): a NULL element is refused, a NULL ARRAY comes back empty, and is written empty. The refusal's sentence is
shared with the gcp adapter (runbook_lib/warehouse.py null_element_refusal)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp


def column_with_null_element(table: pa.Table) -> str | None:
    """The first column of a result whose ARRAYs (at any depth, inside STRUCTs too) hold a NULL element: BigQuery
    "raises an error if a query result has ARRAYs which contain NULL elements" (a NULL ARRAY is fine)."""
    return next((name for name, column in zip(table.column_names, table.columns)
                 if any(_holds_null_element(chunk) for chunk in column.chunks)), None)


def _holds_null_element(values: pa.Array) -> bool:
    kind = values.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        elements = values.flatten()   # the elements of the non-NULL lists
        return elements.null_count > 0 or _holds_null_element(elements)
    if pa.types.is_struct(kind):
        fields = values.flatten()   # each field, NULL where the STRUCT is
        return any(_holds_null_element(field) for field in fields)
    return False


def array_columns(columns: list[tuple[str, str]]) -> list[str]:
    """The columns whose DuckDB type holds a list (`INTEGER[]`, a STRUCT with one inside)."""
    return [name for name, kind in columns if "[]" in kind]


def null_arrays_as_empty(table: pa.Table) -> pa.Table:
    """The result with every NULL ARRAY (at any depth) made empty: "BigQuery translates a NULL ARRAY into an
    empty ARRAY in the query result" (Data types, array NULLs), so the client never sees one."""
    if not any(_holds_array(t) for t in table.schema.types):
        return table
    columns = [pa.chunked_array([_arrays_made_empty(chunk) for chunk in column.chunks], type=column.type)
               for column in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _holds_array(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return True
    return pa.types.is_struct(kind) and any(_holds_array(kind.field(i).type) for i in range(kind.num_fields))


def _arrays_made_empty(values: pa.Array) -> pa.Array:
    kind = values.type
    if not _holds_array(kind):
        return values
    if pa.types.is_struct(kind):
        return pa.StructArray.from_arrays([_arrays_made_empty(f) for f in values.flatten()],
                                          fields=list(kind), mask=values.is_null())
    filled = pc.coalesce(values, pa.scalar([], type=kind))
    return type(filled).from_arrays(filled.offsets, _arrays_made_empty(filled.values))


def holds_null_array(table: pa.Table) -> bool:
    """Whether a column of `table` holds a NULL ARRAY at any depth (in a STRUCT that is not itself NULL)."""
    return any(_null_array_in(chunk, None) for column in table.columns for chunk in column.chunks)


def _null_array_in(values: pa.Array, present: pa.Array | None) -> bool:
    """`present`: where the enclosing STRUCTs are not NULL (None: everywhere), as a NULL STRUCT's fields read NULL."""
    kind = values.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        missing = values.is_null() if present is None else pc.and_(values.is_null(), present)
        return bool(pc.any(missing).as_py()) or _null_array_in(values.flatten(), None)
    if pa.types.is_struct(kind):
        here = values.is_valid() if present is None else pc.and_(values.is_valid(), present)
        return any(_null_array_in(field, here) for field in values.flatten())
    return False


def emptied_sql(value: str, duckdb_type: str) -> str:
    """DuckDB SQL for `value` (SQL of a column of `duckdb_type`, its DuckDB type) with every NULL ARRAY in it made
    empty, at any depth: BigQuery stores an ARRAY as a REPEATED field, which has no NULL, so a NULL ARRAY written to a
    table reads back as [] (`a IS NULL` FALSE, ARRAY_LENGTH 0, TO_JSON_STRING '[]'), as a query result shows it."""
    return _emptied(value, exp.DataType.build(duckdb_type, dialect="duckdb"), 0)


def _emptied(value: str, kind: exp.DataType, depth: int) -> str:
    if kind.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) and kind.expressions:
        element, name = kind.expressions[0], f"_emptied_{depth}"
        inner = _emptied(name, element, depth + 1)
        listed = value if inner == name else f"LIST_TRANSFORM({value}, lambda {name}: {inner})"
        return f"COALESCE({listed}, CAST([] AS {kind.sql('duckdb')}))"
    if kind.this == exp.DataType.Type.STRUCT and _has_array(kind):
        fields = [(f.name, f.args["kind"]) for f in kind.expressions if isinstance(f, exp.ColumnDef)]
        packed = ", ".join(f"{_quoted(n)} := {_emptied(f'{value}.{_quoted(n)}', k, depth)}" for n, k in fields)
        return f"CASE WHEN {value} IS NULL THEN NULL ELSE STRUCT_PACK({packed}) END"
    return value


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _has_array(kind: exp.DataType) -> bool:
    return kind.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) or any(
        _has_array(f.args["kind"]) for f in kind.expressions if isinstance(f, exp.ColumnDef))
