"""APPROX_QUANTILES and APPROX_TOP_COUNT as BigQuery answers them on the sandbox's small data: exactly.

GoogleSQL's approximate aggregate functions page (https://cloud.google.com/bigquery/docs/reference/standard-sql/
approximate_aggregate_functions; google/zetasql docs/approximate_aggregate_functions.md). BigQuery's sketches are
exact on inputs this small, and every one of the page's examples is the exact answer:
- APPROX_QUANTILES(x, q) returns input values: the i-th boundary is the value of rank max(1, ceil(i * n / q)) among
  the n sorted values ([1, 1, 1, 4, 5, 6, 7, 8, 9, 10] gives [1, 5, 10]; DISTINCT [1, 6, 10]; with RESPECT NULLS,
  where NULLs sort first and count, [NULL, 4, 10]). DuckDB's APPROX_QUANTILE, sqlglot's translation, is a t-digest
  that interpolates (25 for the median of 10, 20, 30, 40); its QUANTILE_DISC picks exactly that rank (checked for
  every n up to 400 against q of 3 to 1000).
- APPROX_TOP_COUNT(x, n): the n most frequent values with their counts, NULL counted as a value ("doesn't ignore
  NULLs"), NULL for no rows; sqlglot refused it as APPROX_TOP_K. APPROX_TOP_SUM is refused in one sentence.
"""
from __future__ import annotations

from sqlglot import exp

from .errors import UnsupportedSQL
from .sqltree import tpl

# set on a translation that already took its RESPECT NULLS or IGNORE NULLS into account (the clause's node, the
# rewritten call's parent, is then dropped)
_NULLS_CLAUSE_DONE = "nulls_clause_done"

_QUANTILE_POSITIONS = "LIST_TRANSFORM(RANGE(0, __q__ + 1), lambda _i: _i / __q__)"
# RESPECT NULLS: the sorted values with their NULLs first, picked by rank; NULL when there are no rows
_QUANTILES_WITH_NULLS = ("CASE WHEN __l__ IS NOT NULL THEN LIST_TRANSFORM(RANGE(0, __q__ + 1), lambda _i: "
                         "LIST_EXTRACT(__l__, GREATEST(1, (_i * LEN(__l__) + __q__ - 1) // __q__))) END")
# Counts from HISTOGRAM (which skips NULLs) and one entry for the NULLs, sorted by count, most first
_TOP_COUNT = """
CASE WHEN COUNT(*) > 0 THEN LIST_SLICE(LIST_TRANSFORM(LIST_SORT(LIST_CONCAT(
    LIST_TRANSFORM(MAP_ENTRIES(HISTOGRAM(__x__)), lambda _e: {'k': -CAST(_e.value AS BIGINT), 'v': _e.key}),
    CASE WHEN COUNT(*) > COUNT(__x__) THEN [{'k': COUNT(__x__) - COUNT(*), 'v': NULL}] ELSE [] END)),
  lambda _e: {'value': _e.v, 'count': -_e.k}), 1, __n__) END"""


def _positive(number: exp.Expression, name: str, limit: int | None = None) -> None:
    """BigQuery's analysis-time refusal of a literal count out of range (compliance tests' words)."""
    if isinstance(number, exp.Literal) and not number.is_string:
        value = int(number.this)
        if value < 1:
            raise UnsupportedSQL(f"The second argument to {name} function must be positive.")
        if limit is not None and value > limit:
            raise UnsupportedSQL(f"The second argument to {name} function cannot be greater than {limit}.")


def approx_quantiles(node: exp.ApproxQuantiles) -> exp.Expression:
    distinct = isinstance(node.this, exp.Distinct)
    value, number = node.this.expressions if distinct else (node.this, node.expression)
    _positive(number, "APPROX_QUANTILES", 100000)
    clause = node.parent if isinstance(node.parent, (exp.RespectNulls, exp.IgnoreNulls)) else None
    over = (clause or node).parent
    argument = exp.Distinct(expressions=[value]) if distinct else value
    if isinstance(clause, exp.RespectNulls):
        if isinstance(over, exp.Window):
            raise UnsupportedSQL("The local warehouse runs APPROX_QUANTILES(... RESPECT NULLS) only as an aggregate, "
                                 "not over a window; use target=gcp for that.")
        values = tpl("LIST_SORT(LIST(__x__), 'ASC', 'NULLS FIRST')", x=argument)
        new = tpl(_QUANTILES_WITH_NULLS, l=values, q=number)
    else:
        new = exp.Anonymous(this="QUANTILE_DISC", expressions=[argument, tpl(_QUANTILE_POSITIONS, q=number)])
    new.meta[_NULLS_CLAUSE_DONE] = clause is not None
    return new


def approx_top_count(node: exp.ApproxTopK) -> exp.Expression:
    if isinstance(node.parent, exp.Window):
        raise UnsupportedSQL("The local warehouse runs APPROX_TOP_COUNT only as an aggregate, not over a window; "
                             "use target=gcp for that.")
    number = node.expression
    _positive(number, "APPROX_TOP_COUNT")
    return tpl(_TOP_COUNT, x=node.this, n=number)


def approx_top_sum(node: exp.ApproxTopSum) -> exp.Expression:
    raise UnsupportedSQL("The local warehouse does not emulate APPROX_TOP_SUM (top values by a summed weight); "
                         "use target=gcp for it, or GROUP BY the value with SUM(weight) ORDER BY it DESC LIMIT n.")


def nulls_clause(node: exp.RespectNulls | exp.IgnoreNulls) -> exp.Expression | None:
    """x RESPECT NULLS / IGNORE NULLS in a call: dropped where the call's translation took it in; DuckDB takes both
    in a window function; ARRAY_AGG keeps NULLs as BigQuery's does without the clause. Otherwise refused in the
    kit's words (sqlglot's were "RESPECT NULLS is not supported for non-window functions..")."""
    if node.this.meta.get(_NULLS_CLAUSE_DONE):
        return node.this
    if isinstance(node.parent, exp.Window) or isinstance(node, exp.IgnoreNulls):
        return None
    if isinstance(node.this, exp.ArrayAgg):
        return node.this
    call = node.this
    name = call.name.upper() if isinstance(call, exp.Anonymous) else (
        call.sql_name() if isinstance(call, exp.Func) else type(call).__name__.upper())
    raise UnsupportedSQL(f"The local warehouse takes RESPECT NULLS in a window function (... OVER (...)), in "
                         f"ARRAY_AGG and in APPROX_QUANTILES, not in {name}; use target=gcp for that.")
