"""BigQuery column types and query parameters between the kit's terms and google-cloud-bigquery's.

The kit names a column type as BigQuery's SQL does (INT64, ARRAY<STRING>, STRUCT<a INT64, b DATE>,
NUMERIC(10, 2)), which is what INFORMATION_SCHEMA.COLUMNS says on every target; the REST API
speaks SchemaField (legacy names INTEGER/FLOAT/BOOLEAN/RECORD, a REPEATED mode for arrays).
tests/fakes/bigquery.py converts with the same functions, so the two cannot disagree.
"""
from __future__ import annotations

from typing import Any, Mapping

from google.cloud import bigquery
from sqlglot import exp

from ..warehouse import bigquery_type_name, typed_parameter

_LEGACY = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}
_DECIMALS = (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def schema_field(name: str, type_text: str) -> bigquery.SchemaField:
    """A SchemaField for a column of BigQuery type `type_text` (ARRAY<...> becomes mode REPEATED)."""
    return _field(name, exp.DataType.build(bigquery_type_name(type_text), dialect="bigquery"), "NULLABLE")


def _field(name: str, dt: exp.DataType, mode: str) -> bigquery.SchemaField:
    if dt.this == exp.DataType.Type.ARRAY:
        return _field(name, dt.expressions[0], "REPEATED")
    if dt.this == exp.DataType.Type.STRUCT:
        fields = [_field(col.name, col.args["kind"], "NULLABLE") for col in dt.expressions]
        return bigquery.SchemaField(name, "RECORD", mode=mode, fields=fields)
    if dt.this in _DECIMALS and dt.expressions:
        precision, scale = (int(p.this.name) for p in dt.expressions)
        base = "NUMERIC" if dt.this == exp.DataType.Type.DECIMAL else "BIGNUMERIC"
        return bigquery.SchemaField(name, base, mode=mode, precision=precision, scale=scale)
    return bigquery.SchemaField(name, dt.sql("bigquery").split("(")[0], mode=mode)


def type_text(field: bigquery.SchemaField) -> str:
    """The BigQuery SQL type of a SchemaField, spelled as INFORMATION_SCHEMA.COLUMNS spells it."""
    base = _LEGACY.get(field.field_type.upper(), field.field_type.upper())
    if base == "STRUCT":
        base = "STRUCT<" + ", ".join(f"{f.name} {type_text(f)}" for f in field.fields) + ">"
    elif base in ("NUMERIC", "BIGNUMERIC") and field.precision is not None:
        base = f"{base}({field.precision}, {field.scale or 0})"
    if (field.mode or "NULLABLE").upper() == "REPEATED":
        base = f"ARRAY<{base}>"
    return bigquery_type_name(base)


def columns_of(schema: list[bigquery.SchemaField]) -> list[tuple[str, str]]:
    return [(f.name, type_text(f)) for f in schema]


# ---------------------------------------------------------------- query parameters


def query_parameters(params: Mapping[str, Any]) -> list:
    """Named query parameters for a Python mapping, typed by the rule both targets share (typed_parameter)."""
    out: list = []
    for name, value in params.items():
        typed = typed_parameter(name, value)
        kind = bigquery.ArrayQueryParameter if typed.is_array else bigquery.ScalarQueryParameter
        out.append(kind(name, typed.type, typed.value))
    return out
