"""`SELECT *` in BigQuery's column order where DuckDB's star expands in another: a JOIN ... USING's columns first
(query syntax, "USING clause": the USING columns, then the left side's other columns, then the right's; DuckDB keeps a
USING column where the left table has it), and UNPIVOT's name column after its value columns (DuckDB puts it
before). The order is what a CREATE TABLE ... AS SELECT * and a positional INSERT ... SELECT * write: an INSERT
whose swapped columns had the same type wrote values into the wrong columns."""
from __future__ import annotations

from sqlglot import exp


def _moved(select: exp.Select, first: list[str], last: list[str]) -> None:
    """The select list's unqualified star as `first..., * EXCLUDE (first + last), last...`."""
    items = list(select.expressions)
    stars = [i for i, item in enumerate(items) if isinstance(item, exp.Star)]
    if len(stars) != 1 or not (first or last):
        return
    star = items[stars[0]]
    key = "except_" if "except_" in exp.Star.arg_types else "except"   # (sqlglot renamed the arg)
    excepted = {e.name.lower() for e in star.args.get(key) or []}
    first = [c for c in dict.fromkeys(first) if c.lower() not in excepted]
    last = [c for c in dict.fromkeys(last) if c.lower() not in excepted and c not in first]
    if not (first or last):
        return
    moved = exp.Star(**{**star.args, key: [*(star.args.get(key) or []), *(exp.column(c) for c in first + last)]})
    items[stars[0]:stars[0] + 1] = [*(exp.column(c) for c in first), moved, *(exp.column(c) for c in last)]
    select.set("expressions", items)


def bigquery_star_order(node: exp.Select) -> None:
    joins = node.args.get("joins") or []
    using = [ident.name for join in reversed(joins) for ident in join.args.get("using") or []]
    from_ = node.args.get("from_") or node.args.get("from")
    unpivot_names = [field.this.name for source in [from_.this if from_ else None, *(j.this for j in joins)]
                     if source is not None for pivot in source.args.get("pivots") or []
                     if pivot.args.get("unpivot") for field in pivot.args.get("fields") or []
                     if isinstance(field, exp.In) and isinstance(field.this, (exp.Identifier, exp.Column))]
    _moved(node, using, unpivot_names)
    return None
