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

import json
import re
from decimal import Decimal

import pyarrow as pa
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


# JSON_STRIP_NULLS(json[, json_path][, include_arrays => b][, remove_empty => b]) (JSON functions doc): JSON nulls
# removed from objects and, unless include_arrays is FALSE, from arrays; with remove_empty, the containers left empty
# too (arrays only when include_arrays); a value left with nothing in it is a JSON null; a SQL NULL argument other
# than the JSON gives the JSON as it was. DuckDB's json function of that name strips objects only and takes neither
# named argument.
_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\.\"([^\"]*)\"|\[([0-9]+)\]")


def _path_steps(path: str) -> list[str | int] | None:
    """A JSONPath of names and offsets (`$.a.b[0]`, `$."a b"`) as its steps; None for one the sandbox cannot follow."""
    if not path.startswith("$"):
        return None
    steps, at = [], 1
    while at < len(path):
        m = _PATH_STEP.match(path, at)
        if m is None:
            return None
        steps.append(int(m.group(3)) if m.group(3) is not None else m.group(1) or m.group(2))
        at = m.end()
    return steps


_NOTHING = object()   # a value stripped away whole


def _stripped(value, arrays: bool, empty: bool):
    if value is None:
        return _NOTHING
    if isinstance(value, dict):
        kept = {k: s for k, v in value.items() if (s := _stripped(v, arrays, empty)) is not _NOTHING}
        return _NOTHING if empty and not kept else kept
    if isinstance(value, list) and arrays:
        kept = [s for v in value if (s := _stripped(v, arrays, empty)) is not _NOTHING]
        return _NOTHING if empty and not kept else kept
    if isinstance(value, list):   # (its nulls stay; the objects inside are stripped)
        return [v if v is None else (None if (s := _stripped(v, arrays, empty)) is _NOTHING else s) for v in value]
    return value


def _json_dump(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_dump(v) for v in value) + "]"
    if isinstance(value, Decimal):   # the number's own digits, never a float's rounding
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def strip_nulls(texts: pa.Array, paths: pa.Array, arrays: pa.Array, empty: pa.Array) -> pa.Array:
    """The DuckDB function _bq_json_strip_nulls(json text, path, include_arrays, remove_empty): JSON text."""
    out = []
    for text, path, with_arrays, remove_empty in zip(texts.to_pylist(), paths.to_pylist(), arrays.to_pylist(),
                                                       empty.to_pylist()):
        if text is None or path is None or with_arrays is None or remove_empty is None:
            out.append(text)
            continue
        steps = _path_steps(path)
        if steps is None:
            raise ValueError(f"JSON_STRIP_NULLS: the sandbox follows JSONPaths of names and offsets ($.a.b[0]), "
                             f"not {path!r}")
        document = json.loads(text, parse_float=Decimal)
        parent, key, node = None, None, document
        for step in steps:   # (a path that finds nothing leaves the JSON as it was)
            found = isinstance(node, dict) and isinstance(step, str) and step in node or \
                isinstance(node, list) and isinstance(step, int) and step < len(node)
            if not found:
                node = _NOTHING
                break
            parent, key, node = node, step, node[step]
        if node is not _NOTHING:
            result = _stripped(node, bool(with_arrays), bool(remove_empty))
            if parent is None:
                document = None if result is _NOTHING else result
            elif result is _NOTHING:
                parent.pop(key) if isinstance(parent, dict) else parent.__setitem__(key, None)
            else:
                parent[key] = result
        out.append(_json_dump(document))
    return pa.array(out, pa.string())


def json_strip_nulls(node: exp.JSONStripNulls) -> exp.Expression:
    def named(name: str, default: bool) -> exp.Expression:
        given = node.args.get(name)
        return given.expression if isinstance(given, exp.Kwarg) else exp.Boolean(this=default)
    path = node.expression if node.expression is not None else exp.Literal.string("$")
    return tpl("CAST(_bq_json_strip_nulls(CAST(__j__ AS VARCHAR), __p__, __a__, __e__) AS JSON)", j=node.this,
               p=path, a=named("include_arrays", True), e=named("remove_empty", False))
