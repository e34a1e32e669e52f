"""What a column of a query reads, from the SQL's shape and the tables' types: the BigQuery type of a table's column,
or the select-list item of the CTE or subquery it comes from. For the rewrites that depend on a column's type where
BigQuery's and DuckDB's answers differ (expression_types.py reads a type through it).

A column is found by its qualifier (a FROM or JOIN source's alias or name), else as the one source of the nearest
SELECT outwards that has that name (a correlated subquery reads the outer query's table). A set operation's columns
are its first branch's, as BigQuery names them. Anything else (a name two sources have, a source whose columns are
not known, a star) is not known: None. The same reading of enclosing sources makes a subquery's `FROM t.arr` an UNNEST
of the outer row's array (correlated_paths_as_unnests).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlglot import exp

MAX_DEPTH = 8   # CTEs and subqueries followed, at most (a column renamed through them)


def dataset_tables(node: exp.Expression) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs `node` names: the tables whose column types the schema can hold."""
    return frozenset((t.db, t.name) for t in node.find_all(exp.Table) if t.db and t.name)


def tables_where(trees: Iterable[exp.Expression],
                 needs_types: Callable[[exp.Expression], bool]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs named by those of `trees` whose SQL has something their column types could decide
    (`needs_types(tree)`): a schema correction's tables to read, none for a statement it cannot concern."""
    return frozenset().union(*(dataset_tables(tree) for tree in trees if needs_types(tree)))


class _Unknown(Exception):
    """What a name stands for cannot be told from the SQL and the schema."""


def from_sources(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_") or select.args.get("from")   # (sqlglot renamed the arg)
    if from_ is None:
        return []
    return [from_.this, *(j.this for j in select.args.get("joins") or [])]


def _cte(table: exp.Table) -> exp.Query | None:
    """The query of the CTE a table name without a dataset names, from the nearest WITH outwards."""
    node: exp.Expression | None = table
    while node is not None:
        with_ = (node.args.get("with_") or node.args.get("with")) if isinstance(node, exp.Query) else None
        for cte in (with_.expressions if with_ else []):
            if cte.alias_or_name.lower() == table.name.lower():
                return cte.this
        node = node.parent
    return None


def _item(query: exp.Expression, name: str) -> exp.Expression | None:
    """The select-list item of `query` named `name` (a set operation's first branch's); None when it has none.
    Raises _Unknown when that is not known (a star, a query of another shape, two items of that name)."""
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.this
    if not isinstance(query, exp.Select):
        raise _Unknown
    found = None
    for item in query.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            raise _Unknown
        if item.alias_or_name.lower() == name:
            if found is not None:
                raise _Unknown
            found = item
    return found


def _provides(source: exp.Expression, name: str, schema, skip: exp.Expression | None):
    """What `source` gives as column `name`; None when it has no such column. Raises _Unknown when that cannot
    be known (a table the schema does not hold, another UNNEST, a table function)."""
    if source is skip:
        return None
    if isinstance(source, exp.Table):
        if not source.db:
            query = _cte(source)
            if query is None:
                raise _Unknown
            return _item(query, name)
        ref = f"{source.db}.{source.name}"
        columns = next((columns for r, columns in schema or () if r == ref), None)
        if columns is None:
            raise _Unknown
        return next((t for c, t in columns if c.lower() == name), None)
    if isinstance(source, exp.Subquery):
        return _item(source.this, name)
    if isinstance(source, exp.Unnest):
        alias = source.args.get("alias")
        # `UNNEST(a) AS x`: x is an element of a (sqlglot's BigQuery parser keeps x as the alias's one column)
        names = [c.name for c in alias.columns] if alias is not None and alias.columns else \
            [alias.name] if alias is not None and alias.name else []
        if len(names) == 1 and len(source.expressions) == 1 and not source.args.get("explode_array"):
            return Element(source.expressions[0]) if names[0].lower() == name else None
    raise _Unknown


@dataclass(frozen=True)
class Element:
    """An element of `array` (an UNNEST's alias names one)."""
    array: exp.Expression


def source_of(column: exp.Column, schema, skip: exp.Expression | None = None):
    """What `column`, read where it stands, reads: a table column's BigQuery type (str), or the CTE's or subquery's
    select-list item (an expression, whose own columns are read where it stands); None when that is not known.
    `skip`: a source not to look in (the UNNEST whose array the column is)."""
    name, qualifier = column.name.lower(), column.table.lower()
    select = column.find_ancestor(exp.Select)
    try:
        while select is not None:
            sources = from_sources(select)
            if qualifier:
                named = [s for s in sources if s.alias_or_name.lower() == qualifier]
                if named:
                    return _provides(named[0], name, schema, skip)
            else:
                given = [g for s in sources if (g := _provides(s, name, schema, skip)) is not None]
                if len(given) > 1:
                    return None
                if given:
                    return given[0]
            select = select.parent.find_ancestor(exp.Select) if select.parent is not None else None
    except _Unknown:
        return None
    return None


def path_root(column: exp.Column) -> exp.Column | None:
    """For `j.a.b`, read as a field path (its first part names no source), the column `j` it starts from; else None."""
    parts = [p for p in (column.args.get("catalog"), column.args.get("db"), column.args.get("table")) if p]
    if not parts:
        return None
    root = parts[0].name.lower()
    select = column.find_ancestor(exp.Select)
    while select is not None:
        if any(s.alias_or_name.lower() == root and not isinstance(s, exp.Unnest) for s in from_sources(select)):
            return None
        select = select.parent.find_ancestor(exp.Select) if select.parent is not None else None
    root_column = exp.column(parts[0].copy())
    root_column.parent = column.parent   # (read where the path stands)
    return root_column


def correlated_paths_as_unnests(tree: exp.Expression) -> None:
    """`FROM t.arr AS v` in a subquery, where t is an enclosing query's source, is an UNNEST of that row's array (query
    syntax doc, "correlated join"), as sqlglot already reads it beside t in one FROM; it was read as table arr of a
    dataset t ("Dataset t was not found"). A quoted name (`t.x`, the kit's own SQL writes every table so) is a table."""
    for table in list(tree.find_all(exp.Table)):
        if not (table.db and not table.catalog and isinstance(table.parent, (exp.From, exp.Join))) \
                or table.args["db"].args.get("quoted"):
            continue
        own = table.find_ancestor(exp.Select)   # (sqlglot reads a path beside t in one FROM itself)
        select = own.parent.find_ancestor(exp.Select) if own is not None and own.parent is not None else None
        while select is not None:
            if any(s.alias_or_name.lower() == table.db.lower() for s in from_sources(select)):
                alias = table.args.get("alias")   # (without one, the element is named as the path's last part)
                name = alias.this.copy() if alias is not None and alias.this else exp.to_identifier(table.name)
                table.replace(exp.Unnest(expressions=[exp.column(table.name, table=table.db)],
                                         alias=exp.TableAlias(columns=[name])))
                break
            select = select.parent.find_ancestor(exp.Select) if select.parent is not None else None
