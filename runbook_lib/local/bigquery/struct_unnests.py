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
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import dataset_tables
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
    return frozenset().union(*(dataset_tables(tree) for tree in trees
                               if any(isinstance(a, exp.Column) for _, a in _unnests(tree))))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_holds_structs(array, schema, unnest) for tree in trees for unnest, array in _unnests(tree))


def mark(tree: exp.Expression, schema) -> None:
    """Mark (sqlglot's `explode_array`) each UNNEST of `tree` that gives an array of STRUCTs' fields in BigQuery."""
    for unnest, array in list(_unnests(tree)):
        if _holds_structs(array, schema, unnest):
            unnest.set("explode_array", True)
