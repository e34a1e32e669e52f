"""Small helpers the rewrites share: DuckDB SQL templates and questions about sqlglot nodes."""
from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp


@lru_cache(maxsize=256)
def _parsed_template(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def tpl(sql: str, **parts: exp.Expression) -> exp.Expression:
    """DuckDB SQL with `__name__` column placeholders replaced by expression trees."""
    tree = _parsed_template(sql).copy()
    used: set[str] = set()
    for col in list(tree.find_all(exp.Column)):
        key = col.name[2:-2] if col.name.startswith("__") and col.name.endswith("__") else None
        if key in parts:
            col.replace(parts[key].copy() if key in used else parts[key])
            used.add(key)
    return tree


def sql_text(text: str | None) -> str:
    """A DuckDB string literal (NULL for None)."""
    return "NULL" if text is None else exp.Literal.string(text).sql("duckdb")


def fails(node: exp.Expression, message_sql: str) -> str:
    """SQL for "this function fails with `message_sql`": ERROR(...), or NULL under BigQuery's SAFE. prefix."""
    return "NULL" if isinstance(node.parent, exp.SafeFunc) else f"ERROR({message_sql})"


def is_int_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d+", node.this or "") is not None


def field_value(field: exp.Expression) -> exp.Expression:
    """The value of a STRUCT(...) constructor's field: `1 AS a` (an Alias), `a := 1` (a PropertyEQ) or plain `1`."""
    if isinstance(field, exp.PropertyEQ):
        return field.expression
    return field.this if isinstance(field, exp.Alias) else field


def is_decimal_cast(node: exp.Expression | None) -> bool:
    return isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in (
        exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def is_safe(node: exp.Expression) -> bool:
    """SAFE_CAST, or a function with BigQuery's SAFE_ variant flag."""
    return isinstance(node, exp.TryCast) or bool(node.args.get("safe"))


def one_statement_each(tree: exp.Expression, key: str) -> list[exp.Expression]:
    """`tree` as one statement per element of its list argument `key`, in order (DuckDB takes one DROP object and
    one ALTER action a statement, where BigQuery takes several)."""
    items = tree.args.get(key)
    if not isinstance(items, list) or len(items) < 2:
        return [tree]
    out = []
    for item in items:
        single = tree.copy()
        single.set(key, [item.copy()])
        out.append(single)
    return out


# Functions DuckDB's TRY() refuses to wrap (volatile), as they appear once rewritten.
_VOLATILE = {"ERROR", "RANDOM", "RAND", "UUID", "GEN_RANDOM_UUID", "NEXTVAL"}


def volatile(node: exp.Expression) -> bool:
    return node.find(exp.Rand) is not None or any(f.name.upper() in _VOLATILE for f in node.find_all(exp.Anonymous))


def is_random(node: exp.Expression) -> bool:
    """A value that differs each time it is evaluated (an ERROR() raises the same each time)."""
    return node.find(exp.Rand) is not None or any(
        f.name.upper() in _VOLATILE - {"ERROR"} for f in node.find_all(exp.Anonymous))
