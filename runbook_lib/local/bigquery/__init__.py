"""BigQuery SQL on DuckDB: the local warehouse's dialect layer.

SQL across the kit is written once, in BigQuery's dialect. sqlglot does the bulk of the
translation; this package fixes what sqlglot translates into valid DuckDB SQL that gives a
*different answer* than BigQuery would (day-of-week numbering, DATE_TRUNC returning a timestamp,
decimal literals, UNNEST offsets, TO_JSON_STRING's spelling, ...), fills in what DuckDB lacks
(FARM_FINGERPRINT, INFORMATION_SCHEMA views with BigQuery's names, SAFE. prefixes) and refuses, in
one sentence (UnsupportedSQL), what the local warehouse cannot run. tests/test_dialect.py pins each
fix to the answer BigQuery gives.

    statements    translate(sql) -> Statement per statement (DuckDB SQL + what it does); to_duckdb
    rewrites      REWRITES: sqlglot expression class -> correction (casts, datetimes, json_nulls, numerics,
                  printf_format (FORMAT), approximate_aggregates hold the long ones)
    routines      SQL UDFs and table functions as DuckDB macros; alterations: ALTER ... SET OPTIONS, several
                  actions, keys NOT ENFORCED
    expression_types   an expression's BigQuery type from the SQL and the tables' (for the type-dependent rewrites)
    numeric_types which expressions BigQuery types NUMERIC/BIGNUMERIC, from the tables' types (retyped)
    information_schema   TABLES, COLUMNS, SCHEMATA views
    functions     FARM_FINGERPRINT (pyfarmhash) and the other Python UDFs; register_functions(con)
    json_text     TO_JSON_STRING: any value as BigQuery's JSON text (its "JSON encodings"), over Arrow
    typenames     BigQuery <-> DuckDB column type names
    meta          `_runbook_meta`, the warehouse's partition/expiration metadata (its only owner)

The warehouse (runbook_lib.local.warehouse.LocalWarehouse) runs the statements; a BigQuery API
fake can serve the same translation.
"""
from . import meta
from .errors import UnsupportedSQL
from .functions import farm_fingerprint, register_functions
from .statements import Statement, parsed, retyped, to_duckdb, translate
from .typenames import bigquery_type, duckdb_type, normalised_column_type

__all__ = [
    "Statement", "UnsupportedSQL", "bigquery_type", "duckdb_type", "farm_fingerprint", "meta",
    "normalised_column_type", "parsed", "register_functions", "retyped", "to_duckdb", "translate",
]
