"""UNNEST of a column that holds an ARRAY of STRUCTs, with no alias: its fields, as BigQuery gives them.

BigQuery's UNNEST of an array of STRUCTs gives a row per element with a column per field (query syntax, "UNNEST
operator": "for input arrays of STRUCTs ... a separate column for each field"), so `SELECT * FROM t, UNNEST(t.arr)`
ends in the fields and `(SELECT SUM(a) FROM UNNEST(arr))` reads field `a`. DuckDB's UNNEST gives one STRUCT column:
the first query's shape was wrong and the second was refused ("column a not found"). sqlglot explodes an array
written as STRUCT literals while parsing (`explode_array`), but a column's type is not in the SQL: it is in the
schema, or in the CTE or subquery the column comes from.

Only what is certain from the SQL's shape and the schema is marked (EXPLODE is sqlglot's own `explode_array`): an
UNNEST in a FROM or JOIN, with no alias and no other argument, of a column found by its qualifier, else as the one
source of the nearest SELECT outwards that has that name (a correlated subquery's UNNEST reads the outer query's
table), which is
- a `dataset.table`'s column whose schema type is ARRAY<STRUCT<...>>, or
- a CTE's or subquery's select-list item that is one: such a column again, an array of STRUCT literals, an
  ARRAY_AGG of a STRUCT, ARRAY(SELECT AS STRUCT ...), or a CAST to ARRAY<STRUCT<...>>.
Anything else (a name two sources have, a source whose columns are not known, a star) is left as it was. An UNNEST
with an alias keeps one column of that name: exploded, the alias would name DuckDB's row of the fields, which is a
STRUCT of NULLs where BigQuery's value is NULL (a LEFT JOIN with no element, a NULL element).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

_MAX_DEPTH = 8   # CTEs and subqueries followed, at most (a column renamed through them)


def _unnests(tree: exp.Expression) -> Iterator[tuple[exp.Unnest, exp.Expression]]:
    """Each UNNEST of one array, in a FROM or JOIN, with no alias and not exploded yet, with that array."""
    for unnest in tree.find_all(exp.Unnest):
        if not isinstance(unnest.parent, (exp.From, exp.Join)) or unnest.args.get("explode_array"):
            continue
        alias = unnest.args.get("alias")
        if alias is not None and (alias.name or alias.columns):
            continue
        if len(unnest.expressions) == 1:
            yield unnest, unnest.expressions[0]


def _sources(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_") or select.args.get("from")   # (sqlglot renamed the arg)
    if from_ is None:
        return []
    return [from_.this, *(j.this for j in select.args.get("joins") or [])]


def _cte(table: exp.Table) -> exp.Query | None:
    """The query of the CTE a table name without a dataset names, from the nearest WITH outwards."""
    node: exp.Expression | None = table
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with") if isinstance(node, exp.Query) else None
        for cte in (with_.expressions if with_ else []):
            if cte.alias_or_name.lower() == table.name.lower():
                return cte.this
        node = node.parent
    return None


def _item(query: exp.Expression, name: str) -> exp.Expression | None | bool:
    """The select-list item of `query` named `name`; None when it has none; False when that is not known (a star,
    a set operation, a query of another shape)."""
    if not isinstance(query, exp.Select):
        return False
    found = None
    for item in query.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            return False
        if item.alias_or_name.lower() == name:
            if found is not None:
                return False
            found = item
    return found


class _Unknown(Exception):
    """What a name stands for cannot be told from the SQL and the schema."""


def _provides(source: exp.Expression, name: str, schema, unnest: exp.Unnest) -> exp.Expression | str | None:
    """What `source` gives as column `name`: its schema type (a table), its select-list item (a CTE or a
    subquery), None when it has no such column. Raises _Unknown when that cannot be known."""
    if source is unnest:
        return None
    if isinstance(source, exp.Table):
        if not source.db:
            query = _cte(source)
            if query is None:
                raise _Unknown
            item = _item(query, name)
            if item is False:
                raise _Unknown
            return item
        ref = f"{source.db}.{source.name}"
        columns = next((columns for r, columns in schema or () if r == ref), None)
        if columns is None:
            raise _Unknown
        return next((t for c, t in columns if c.lower() == name), None)
    if isinstance(source, exp.Subquery):
        item = _item(source.this, name)
        if item is False:
            raise _Unknown
        return item
    raise _Unknown   # another UNNEST, a table function: its columns are not known here


def _is_struct_array(column: exp.Column, schema, unnest: exp.Unnest, depth: int = 0) -> bool:
    """Whether `column`, read where it stands, certainly holds an ARRAY of STRUCTs."""
    if depth > _MAX_DEPTH:
        return False
    name, qualifier = column.name.lower(), column.table.lower()
    select = column.find_ancestor(exp.Select)
    try:
        while select is not None:
            sources = _sources(select)
            if qualifier:
                named = [s for s in sources if s.alias_or_name.lower() == qualifier]
                if named:
                    given = _provides(named[0], name, schema, unnest)
                    return given is not None and _holds_structs(given, schema, unnest, depth)
            else:
                given = [g for s in sources if (g := _provides(s, name, schema, unnest)) is not None]
                if len(given) > 1:
                    return False
                if given:
                    return _holds_structs(given[0], schema, unnest, depth)
            select = select.parent.find_ancestor(exp.Select) if select.parent is not None else None
    except _Unknown:
        return False
    return False


def _holds_structs(given: exp.Expression | str, schema, unnest: exp.Unnest, depth: int) -> bool:
    if isinstance(given, str):   # a table column's BigQuery type
        return given.upper().replace(" ", "").startswith("ARRAY<STRUCT<")
    value = given.this if isinstance(given, exp.Alias) else given
    if isinstance(value, exp.Column):
        return _is_struct_array(value, schema, unnest, depth + 1)
    if isinstance(value, exp.Array):
        elements = value.expressions
        if len(elements) == 1 and isinstance(elements[0], exp.Query):   # ARRAY(SELECT AS STRUCT ...)
            return elements[0].args.get("kind") == "STRUCT"
        return bool(elements) and all(isinstance(e, exp.Struct) for e in elements)
    if isinstance(value, exp.ArrayAgg):
        return isinstance(value.this, exp.Struct)
    if isinstance(value, exp.Cast):
        to = value.to
        return to.is_type(exp.DataType.Type.ARRAY) and bool(to.expressions) \
            and to.expressions[0].is_type(exp.DataType.Type.STRUCT)
    return False


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell an UNNEST of a column to give its fields."""
    return frozenset((t.db, t.name) for tree in trees if any(isinstance(a, exp.Column) for _, a in _unnests(tree))
                     for t in tree.find_all(exp.Table) if t.db and t.name)


def explodable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_holds_structs(array, schema, unnest, 0) for tree in trees for unnest, array in _unnests(tree))


def mark_struct_unnests(tree: exp.Expression, schema) -> None:
    """Mark (sqlglot's `explode_array`) each UNNEST of `tree` that gives an array of STRUCTs' fields in BigQuery."""
    for unnest, array in list(_unnests(tree)):
        if _holds_structs(array, schema, unnest, 0):
            unnest.set("explode_array", True)
