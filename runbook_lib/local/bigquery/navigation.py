"""LAG and LEAD offsets as BigQuery takes them (navigation functions doc: the offset "must be a non-negative integer
literal or parameter"; ZetaSQL: "The offset to the function LAG must not be negative", "... must not be null").
DuckDB takes a negative offset as the other direction (LAG(x, -1) was the next row's x) and a NULL one as no row.
A literal is refused as the translation reads it; a parameter or expression fails as the query runs.
"""
from __future__ import annotations

from sqlglot import exp

from .errors import UnsupportedSQL
from .sqltree import fails, sql_text, tpl


def checked_offset(node: exp.Lag | exp.Lead) -> exp.Expression | None:
    offset = node.args.get("offset")
    if offset is None:
        return None
    name = "LAG" if isinstance(node, exp.Lag) else "LEAD"
    literal = offset.this if isinstance(offset, exp.Neg) else offset
    if isinstance(offset, exp.Null) or isinstance(offset, exp.Neg) and isinstance(literal, exp.Literal):
        which = "null" if isinstance(offset, exp.Null) else "negative"
        raise UnsupportedSQL(f"The offset to the function {name} must not be {which} (not {offset.sql('bigquery')}).")
    if isinstance(offset, exp.Literal):
        return None
    message = f"The offset to the function {name} must not be negative or null"
    offset.replace(tpl(f"CASE WHEN __o__ IS NULL OR __o__ < 0 THEN {fails(node, sql_text(message))} ELSE __o__ END",
                       o=offset.copy()))
    return None
