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
  ARRAY_AGG of a STRUCT, ARRAY(SELECT AS STRUCT ...), or a CAST to ARRAY<STRUCT<...>> (expression_types.py).
Anything else (a name two sources have, a source whose columns are not known, a star) is left as it was. An UNNEST
with an alias keeps one column of that name: exploded, the alias would name DuckDB's row of the fields, which is a
STRUCT of NULLs where BigQuery's value is NULL (a LEFT JOIN with no element, a NULL element).

Under `SELECT *`, though, BigQuery's aliased UNNEST of STRUCTs gives the fields too (query syntax, "UNNEST and
structs": `SELECT *, struct_value FROM UNNEST(...) AS struct_value` gives x, y and struct_value): `SELECT * FROM t,
UNNEST(t.items) AS item` ended in one STRUCT column `item` here. Where that UNNEST is the SELECT's last source (so that
its fields come last, as BigQuery's do), has no WITH OFFSET, and its STRUCT's field names are known (a table's column,
a CAST), the star is written `* EXCEPT (item), item.f1 AS f1, ...` (a field the star's EXCEPT names left out).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import from_sources, tables_where
from .expression_types import is_array_of, type_of


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


def _holds_structs(array: exp.Expression, schema, unnest: exp.Unnest) -> bool:
    """Whether `array` certainly holds STRUCTs (its own UNNEST is not where its columns are looked for)."""
    return is_array_of(type_of(array, schema, skip=unnest), exp.DataType.Type.STRUCT)


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell an UNNEST of a column to give its fields."""
    return tables_where(trees, lambda tree: any(isinstance(a, exp.Column) for _, a in _unnests(tree))
                        or next(_starred_unnests(tree), None) is not None)


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_holds_structs(array, schema, unnest) for tree in trees for unnest, array in _unnests(tree)) \
        or any(next(_starred_fields(tree, schema), None) is not None for tree in trees)


def _starred_unnests(tree: exp.Expression) -> Iterator[tuple[exp.Star, exp.Unnest, str]]:
    """Each unqualified star (no REPLACE) whose SELECT's last source is an UNNEST of one array with an alias and no
    offset, with that alias."""
    for select in tree.find_all(exp.Select):
        stars = [e for e in select.expressions if isinstance(e, exp.Star)]
        sources = from_sources(select)
        source = sources[-1] if sources else None
        if len(stars) != 1 or stars[0].args.get("replace") or stars[0].args.get("rename") \
                or not isinstance(source, exp.Unnest) or source.args.get("offset") \
                or source.args.get("explode_array") or len(source.expressions) != 1:
            continue
        alias = source.args.get("alias")   # (sqlglot's BigQuery parser makes the alias the UNNEST's one column)
        names = [] if alias is None else [c.name for c in alias.columns] or [alias.name]
        if len(names) == 1 and names[0] and not (alias.name and alias.columns):
            yield stars[0], source, names[0]


def _field_names(unnest: exp.Unnest, schema) -> list[str] | None:
    """The names of the fields of the STRUCTs `unnest` gives, where its array's type names them all."""
    array = type_of(unnest.expressions[0], schema, skip=unnest)
    if not is_array_of(array, exp.DataType.Type.STRUCT):
        return None
    fields = array.expressions[0].expressions
    names = [f.name for f in fields if isinstance(f, exp.ColumnDef)]
    return names if names and len(names) == len(fields) else None


def _starred_fields(tree: exp.Expression, schema) -> Iterator[tuple[exp.Star, str, list[str]]]:
    for star, unnest, alias in _starred_unnests(tree):
        names = _field_names(unnest, schema)
        if names is not None:
            yield star, alias, names


def mark(tree: exp.Expression, schema) -> None:
    """Mark (sqlglot's `explode_array`) each UNNEST of `tree` that gives an array of STRUCTs' fields in BigQuery, and
    write out the fields of an aliased one under a star."""
    for unnest, array in list(_unnests(tree)):
        if _holds_structs(array, schema, unnest):
            unnest.set("explode_array", True)
    for star, alias, names in list(_starred_fields(tree, schema)):
        listed = star.args.get("except_") or star.args.get("except") or []   # (sqlglot renamed the arg)
        excepted = {e.name.lower() for e in listed}
        kept = [e for e in listed if e.name.lower() not in {n.lower() for n in names}]
        star.set("except_" if "except_" in exp.Star.arg_types else "except", [*kept, exp.column(alias)])
        select = star.parent
        position = select.expressions.index(star)
        fields = [exp.alias_(exp.column(name, table=alias), name) for name in names if name.lower() not in excepted]
        select.set("expressions", [*select.expressions[:position + 1], *fields, *select.expressions[position + 1:]])
