"""Column type names: BigQuery's (INT64, NUMERIC, ARRAY<STRING>, ...) and DuckDB's, both ways."""
from __future__ import annotations

import re
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import SqlglotError

# BigQuery NUMERIC is DECIMAL(38, 9). BIGNUMERIC has 38 integer and 38 fractional digits,
# more than DuckDB's widest DECIMAL (38 digits in all); we keep 20 integer + 18 fractional.
NUMERIC_DUCKDB = (38, 9)
BIGNUMERIC_DUCKDB = (38, 18)

_SIMPLE_BQ_TYPES = {
    "BIGINT": "INT64", "INTEGER": "INT64", "SMALLINT": "INT64", "TINYINT": "INT64", "HUGEINT": "INT64",
    "UBIGINT": "INT64", "UINTEGER": "INT64", "USMALLINT": "INT64", "UTINYINT": "INT64", "UHUGEINT": "INT64",
    "DOUBLE": "FLOAT64", "FLOAT": "FLOAT64", "VARCHAR": "STRING", "UUID": "STRING", "BOOLEAN": "BOOL",
    "DATE": "DATE", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "TIMESTAMP": "DATETIME",
    "TIMESTAMP_NS": "DATETIME", "TIMESTAMP_MS": "DATETIME", "TIMESTAMP_S": "DATETIME",
    "TIME": "TIME", "BLOB": "BYTES", "INTERVAL": "INTERVAL", "JSON": "JSON",
}


def _bq_decimal(p: int, s: int) -> str:
    if (p, s) == NUMERIC_DUCKDB:
        return "NUMERIC"
    if (p, s) == BIGNUMERIC_DUCKDB:
        return "BIGNUMERIC"
    return f"NUMERIC({p}, {s})" if s <= 9 and p - s <= 29 else f"BIGNUMERIC({p}, {s})"


@lru_cache(maxsize=1024)
def bigquery_type(duckdb_type: str) -> str:
    """A DuckDB column type as BigQuery names it (INFORMATION_SCHEMA.COLUMNS.data_type)."""
    t = (duckdb_type or "").strip()
    if t.upper() in _SIMPLE_BQ_TYPES:
        return _SIMPLE_BQ_TYPES[t.upper()]
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t, re.I)
    if m:
        return _bq_decimal(int(m.group(1)), int(m.group(2)))
    if t.upper().startswith("ENUM("):
        return "STRING"
    try:
        built = exp.DataType.build(t, dialect="duckdb")
    except SqlglotError:
        return t
    for node in list(built.find_all(exp.DataType)):
        if node.this == exp.DataType.Type.DECIMAL and len(node.expressions) == 2:
            p, s = (int(e.this.name) for e in node.expressions)
            node.replace(exp.DataType.build(_bq_decimal(p, s), dialect="bigquery"))
        elif node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UBIGINT, exp.DataType.Type.UINT):
            node.replace(exp.DataType.build("INT64", dialect="bigquery"))
    return built.sql("bigquery")


@lru_cache(maxsize=1024)   # (a pure function of the name: a table's ~30 columns name a handful of types)
def duckdb_type(bigquery_type_name: str) -> str:
    """A BigQuery type name (INT64, NUMERIC, ARRAY<STRING>, ...) as a DuckDB column type."""
    built = exp.DataType.build(bigquery_type_name, dialect="bigquery")
    fix_decimal_types(built)
    return built.sql("duckdb")


_NARROW_INTEGERS = ("INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT",
                    "UHUGEINT")
# A type name inside a nested type: followed by `,`, `)`, `[` or the end (a STRUCT field's name is followed by its type)
_NESTED_NARROW = re.compile(r"\b(%s|FLOAT)(?=[,)\[]|$)" % "|".join(_NARROW_INTEGERS))


def normalised_column_type(duckdb_type_name: str) -> str | None:
    """The DuckDB type a column should have so it holds what BigQuery's type holds, or None if fine. Inside an
    ARRAY or STRUCT too: `CREATE TABLE t AS SELECT [1] AS a` made an INTEGER[] column, which read back as int32."""
    t = duckdb_type_name.upper()
    if "[" in t or t.startswith(("STRUCT(", "MAP(")):
        wider = _NESTED_NARROW.sub(lambda m: "DOUBLE" if m.group(1) == "FLOAT" else "BIGINT", duckdb_type_name)
        return wider if wider != duckdb_type_name else None
    if t in ("INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "UHUGEINT"):
        return "BIGINT"
    if t == "FLOAT":
        return "DOUBLE"
    if t in ("TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return "TIMESTAMP"
    if t == "UUID" or t.startswith("ENUM("):
        return "VARCHAR"
    return None


def fix_decimal_types(node: exp.Expression) -> None:
    """Bare NUMERIC / BIGNUMERIC get BigQuery's precision and scale (DuckDB's bare DECIMAL is (18, 3))."""
    for dt in list(node.find_all(exp.DataType)):
        if dt.expressions:
            continue
        if dt.this == exp.DataType.Type.DECIMAL:
            p, s = NUMERIC_DUCKDB
        elif dt.this == exp.DataType.Type.BIGDECIMAL:
            p, s = BIGNUMERIC_DUCKDB
        else:
            continue
        dt.set("this", exp.DataType.Type.DECIMAL)
        dt.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(p)), exp.DataTypeParam(this=exp.Literal.number(s))])
