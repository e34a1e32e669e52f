"""The difference of two DATEs, DATETIMEs or TIMESTAMPs is an INTERVAL in BigQuery (operators doc, "Date arithmetics
operators"): `DATE '2021-05-20' - DATE '2020-04-19'` is 396 days, and a TIMESTAMP difference of a day and a half is
36 hours, no days (`0-0 0 36:34:56.789`). DuckDB gives a DATE difference as an INT64 (EXTRACT refused it, `> 7` ran
where BigQuery refuses it) and a TIMESTAMP difference with whole days in its day part (EXTRACT(HOUR ...) 12, not 36).

Where both operands are known to be of one of those types (a literal or CAST of it, a function of that result, a
column the tables' types or a CTE say is one, column_sources.py), the subtraction is marked DIFFERENCE_OF and
rewritten (rewrites.py) as BigQuery's INTERVAL: days for DATEs, microseconds for the others. Else DuckDB's.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import MAX_DEPTH, dataset_tables, source_of

DIFFERENCE_OF = "difference_of"

_T = exp.DataType.Type
_CAST_KINDS = {_T.DATE: "DATE", _T.TIMESTAMPTZ: "TIMESTAMP", _T.TIMESTAMP: "DATETIME", _T.DATETIME: "DATETIME"}
_MADE = {exp.CurrentDate: "DATE", exp.Date: "DATE", exp.DateFromParts: "DATE", exp.DateTrunc: "DATE",
         exp.CurrentTimestamp: "TIMESTAMP", exp.TimestampTrunc: "TIMESTAMP", exp.UnixToTime: "TIMESTAMP",
         exp.CurrentDatetime: "DATETIME", exp.DatetimeTrunc: "DATETIME"}


def _kind(value, schema, depth: int = 0) -> str | None:
    """"DATE", "DATETIME", "TIMESTAMP", or None when `value` is not known to be one."""
    if value is None or depth > MAX_DEPTH:
        return None
    if isinstance(value, str):   # a table column's BigQuery type
        kind = value.upper().strip()
        return kind if kind in ("DATE", "DATETIME", "TIMESTAMP") else None
    if isinstance(value, exp.Alias):
        value = value.this
    if isinstance(value, exp.Paren):
        return _kind(value.this, schema, depth + 1)
    if isinstance(value, (exp.Cast, exp.TryCast)) and not value.to.expressions:
        return _CAST_KINDS.get(value.to.this)
    if isinstance(value, exp.Column):
        return _kind(source_of(value, schema), schema, depth + 1)
    if isinstance(value, (exp.Max, exp.Min, exp.AnyValue)):   # (of its argument's type)
        return _kind(value.this, schema, depth + 1)
    return _MADE.get(type(value))


def _subtractions(tree: exp.Expression) -> Iterator[exp.Sub]:
    yield from tree.find_all(exp.Sub)


def _both(sub: exp.Sub, schema) -> str | None:
    left = _kind(sub.this, schema)
    return left if left is not None and left == _kind(sub.expression, schema) else None


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that a subtraction is of two DATEs or times."""
    return frozenset().union(*(dataset_tables(tree) for tree in trees
                               if any(s.find(exp.Column) is not None for s in _subtractions(tree))))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_both(s, schema) for tree in trees for s in _subtractions(tree))


def mark(tree: exp.Expression, schema) -> None:
    for sub in list(_subtractions(tree)):
        kind = _both(sub, schema)
        if kind is not None:
            sub.meta[DIFFERENCE_OF] = kind
