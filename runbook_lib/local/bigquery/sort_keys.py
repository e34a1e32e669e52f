"""Sort keys that cannot hold a NaN, known from the tables' types, so that they sort without rewrites.nan_sorts_first's
extra key.

BigQuery sorts NaN before -inf, DuckDB after +inf, so every ORDER BY key gets a NaN key before it (rewrites.py). For a
key of another type that key is a constant, yet DuckDB still sorts on it: a window's ROW_NUMBER() over 300k rows
ordered by a TIMESTAMP took twice as long with it (bench_warehouse (b)). Where the schema says a key is a column of
another type than FLOAT64, the key is marked (NO_NAN) and goes alone.

Only what is certain from the SQL's shape is marked: a column of a `dataset.table` the same SELECT reads (by its
alias or name, or alone in its FROM clause), found in the schema with another type than FLOAT64; at a query's ORDER BY
not the name of one of its select list's aliases (which BigQuery reads first). A CTE, a subquery, an unnest, a
column of a table the schema does not hold: left with the NaN key, as without a schema.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

NO_NAN = "sort_key_no_nan"

# The BigQuery types (numeric_types.Schema) a NaN can be in: FLOAT64 and what holds one (a key of a STRUCT or ARRAY
# type is refused by both engines anyway).
_MAY_HOLD_NAN = ("FLOAT", "STRUCT", "ARRAY", "JSON")


def _keys(tree: exp.Expression) -> Iterator[tuple[exp.Ordered, exp.Column, exp.Select]]:
    """Each ORDER BY key (of a query, a window or an aggregate) that is a column, with the SELECT it is read in."""
    for order in tree.find_all(exp.Order):
        select = order.parent if isinstance(order.parent, exp.Select) else \
            order.find_ancestor(exp.Select) if isinstance(order.parent, (exp.Window, exp.AggFunc)) else None
        if select is None:
            continue   # a set operation's ORDER BY: its keys name the result's columns
        for ordered in order.expressions:
            if isinstance(ordered, exp.Ordered) and isinstance(ordered.this, exp.Column):
                yield ordered, ordered.this, select


def _sources(select: exp.Select) -> dict[str, tuple[str, str]] | None:
    """The SELECT's FROM and JOIN tables by the name a column qualifies them with (their alias, else their name);
    None when it reads anything but `dataset.table`s (a CTE, a subquery, an UNNEST)."""
    from_ = select.args.get("from_") or select.args.get("from")   # (sqlglot renamed the arg)
    if from_ is None:
        return None
    sources: dict[str, tuple[str, str]] = {}
    for source in [from_.this, *(j.this for j in select.args.get("joins") or [])]:
        if not isinstance(source, exp.Table) or not source.db or not source.name:
            return None
        sources[(source.alias_or_name or source.name).lower()] = (source.db, source.name)
    return sources


def _refs(trees: Iterable[exp.Expression]) -> Iterator[tuple[exp.Ordered, tuple[str, str], str]]:
    """(key, the table its column is certainly read from, the column's name) for each key that can be marked."""
    for tree in trees:
        for ordered, column, select in _keys(tree):
            sources = _sources(select)
            if not sources:
                continue
            name = column.name.lower()
            if isinstance(ordered.parent.parent, exp.Select) and any(
                    p.alias.lower() == name and not (isinstance(p.this, exp.Column) and p.this.name.lower() == name)
                    for p in select.expressions if isinstance(p, exp.Alias)):
                continue   # ORDER BY an alias: BigQuery sorts by the select list's expression
            if column.table:
                table = sources.get(column.table.lower())
            else:
                table = next(iter(sources.values())) if len(sources) == 1 else None
            if table is not None:
                yield ordered, table, name


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types would let some sort key go without its NaN key."""
    return frozenset(table for _, table, _ in _refs(trees))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_no_nan(table, name, schema) for _, table, name in _refs(trees))


def mark(tree: exp.Expression, schema) -> None:
    """Mark (NO_NAN) the keys of `tree` that are columns of a type holding no NaN, by the schema."""
    if schema is None:
        return
    for ordered, table, name in list(_refs([tree])):
        if _no_nan(table, name, schema):
            ordered.meta[NO_NAN] = True


def may_hold_nan(kind: str) -> bool:
    """Whether a column of BigQuery type `kind` (as numeric_types.Schema spells it) can hold a NaN."""
    return any(word in kind.upper() for word in _MAY_HOLD_NAN)


def _no_nan(table: tuple[str, str], name: str, schema) -> bool:
    ref = f"{table[0]}.{table[1]}"
    columns = next((columns for r, columns in schema if r == ref), None)
    kind = next((t for c, t in columns or () if c.lower() == name), None)
    return kind is not None and not may_hold_nan(kind)
