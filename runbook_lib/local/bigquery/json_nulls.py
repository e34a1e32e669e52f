"""Where a JSON null and a SQL NULL part ways: BigQuery's JSON functions keep them apart, DuckDB's differ.

A JSON value `JSON 'null'` is not SQL NULL (it IS NOT NULL, and TO_JSON_STRING writes both as null).
JSON functions doc (JSON_TYPE, JSON_QUERY, JSON_EXTRACT; tests/test_dialect.py holds its examples):

- JSON_TYPE names the outermost JSON value's type `object`, `array`, `string`, `number`, `boolean` or
  `null` (a JSON null), and is SQL NULL for a SQL NULL; DuckDB's json_type names its own types
  (NULL, VARCHAR, BIGINT, UBIGINT, DOUBLE, ...).
- JSON_QUERY and JSON_EXTRACT of a JSON value give the JSON null they find; of a JSON-formatted
  STRING, SQL NULL ("Extracts a SQL NULL when a JSON-formatted string null is encountered"). DuckDB's
  -> gives the JSON null for either. The translation does not know a bare column's type, so the
  STRING case is told by DuckDB's TYPEOF, which the optimizer folds to a constant per column.
"""
from __future__ import annotations

from sqlglot import exp

from .sqltree import sql_text, tpl

# DuckDB's json_type names -> BigQuery's (a SQL NULL has no name: NULL)
_JSON_TYPE = """CASE JSON_TYPE(__j__) WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array'
  WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null'
  WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' WHEN 'HUGEINT' THEN 'number'
  WHEN 'UHUGEINT' THEN 'number' WHEN 'DOUBLE' THEN 'number' END"""


def fix_json_type(node: exp.JSONType) -> exp.Expression:
    return tpl(f"({_JSON_TYPE})", j=node.this)


def fix_json_query(node: exp.JSONExtract) -> exp.Expression | None:
    """JSON_QUERY / JSON_EXTRACT of a JSON-formatted STRING: a JSON null found is SQL NULL."""
    if not isinstance(node.expression, exp.JSONPath):
        return None
    return tpl("(CASE WHEN TYPEOF(__x__) = 'JSON' THEN __e__ ELSE NULLIF(__e__, 'null') END)",
               x=node.this.copy(), e=node)


def malformed_json_is_null(node: exp.Expression) -> None:
    """A JSON-formatted STRING that is not JSON gives NULL to BigQuery's JSON_VALUE, JSON_QUERY and their _ARRAY and
    legacy forms ("If the JSON-formatted string is invalid, returns NULL"); DuckDB failed the whole query ("Malformed
    JSON at byte 0"). A JSON value is valid by construction, so JSON_VALID passes it as it is."""
    x = node.this
    if x is None or isinstance(x, exp.ParseJSON):
        return None
    node.set("this", tpl("CASE WHEN JSON_VALID(__x__) THEN __x__ END", x=x))
    return None


def json_arrays_only(node: exp.Expression) -> exp.Expression | None:
    """JSON_QUERY_ARRAY and JSON_VALUE_ARRAY (and their legacy names) are NULL where the path finds no array, and
    JSON_VALUE_ARRAY also where the array holds an object or an array (json functions doc: "If a JSONPath matches an
    object that isn't an array, then the output is NULL"); DuckDB's cast failed the query ("Expected ARRAY, but got
    VARCHAR") or gave the objects' text."""
    malformed_json_is_null(node)
    path = node.expression
    if not isinstance(path, exp.JSONPath):
        return None
    text = sql_text(path.sql("bigquery").strip("'\""))
    scalars = (f" AND NOT LIST_HAS_ANY(JSON_TYPE(__x__, {text} || '[*]'), ['OBJECT', 'ARRAY'])"
               if isinstance(node, exp.JSONValueArray) else "")
    return tpl(f"CASE WHEN JSON_TYPE(__x__, {text}) = 'ARRAY'{scalars} THEN __f__ END", x=node.this.copy(), f=node)


def json_set_values(node: exp.JSONSet) -> None:
    """JSON_SET's values are SQL values, encoded as JSON (a STRING '123' is the JSON string "123"); DuckDB's json_set
    read a VARCHAR as JSON text (`'123'` the number 123, `'foo'` a failed query)."""
    items = list(node.expressions)
    for at in range(1, len(items), 2):
        value = items[at]
        if not isinstance(value, (exp.PropertyEQ, exp.Kwarg)) and not isinstance(items[at - 1], (exp.PropertyEQ,
                                                                                                    exp.Kwarg)):
            items[at] = tpl("TO_JSON(__v__)", v=value)
    node.set("expressions", items)
    return None
