"""NULLs in a query result's ARRAYs, as BigQuery returns them, for the sandbox's DuckDB results (DuckDB keeps
both): a NULL element is refused, a NULL ARRAY comes back empty. The refusal's sentence is shared with the gcp
adapter (runbook_lib/warehouse.py null_element_refusal)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


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
