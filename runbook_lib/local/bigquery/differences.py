"""The difference of two DATEs, DATETIMEs or TIMESTAMPs is an INTERVAL in BigQuery (operators doc, "Date arithmetics
operators"): `DATE '2021-05-20' - DATE '2020-04-19'` is 396 days, and a TIMESTAMP difference of a day and a half is
36 hours, no days (`0-0 0 36:34:56.789`). DuckDB gives a DATE difference as an INT64 (EXTRACT refused it, `> 7` ran
where BigQuery refuses it) and a TIMESTAMP difference with whole days in its day part (EXTRACT(HOUR ...) 12, not 36).

Where both operands are known to be of one of those types (a literal or CAST of it, a function of that result, a
column the tables' types or a CTE say is one, an array's element: expression_types.py), the subtraction is marked
DIFFERENCE_OF and rewritten (rewrites.py) as BigQuery's INTERVAL: days for DATEs, microseconds for the others. Else
DuckDB's.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

from .column_sources import tables_where
from .expression_types import type_of

DIFFERENCE_OF = "difference_of"

_T = exp.DataType.Type
_KINDS = {_T.DATE: "DATE", _T.TIMESTAMPTZ: "TIMESTAMP", _T.TIMESTAMP: "DATETIME", _T.DATETIME: "DATETIME"}


def _kind(value: exp.Expression, schema) -> str | None:
    """"DATE", "DATETIME", "TIMESTAMP", or None when `value` is not known to be one."""
    known = type_of(value, schema)
    return _KINDS.get(known.this) if known is not None and not known.expressions else None


def _subtractions(tree: exp.Expression) -> Iterator[exp.Sub]:
    yield from tree.find_all(exp.Sub)


def _both(sub: exp.Sub, schema) -> str | None:
    left = _kind(sub.this, schema)
    return left if left is not None and left == _kind(sub.expression, schema) else None


def tables_to_read(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
    """The (dataset, table) pairs whose column types could tell that a subtraction is of two DATEs or times."""
    return tables_where(trees, lambda tree: any(s.find(exp.Column) is not None for s in _subtractions(tree)))


def markable(trees: Iterable[exp.Expression], schema) -> bool:
    return any(_both(s, schema) for tree in trees for s in _subtractions(tree))


def mark(tree: exp.Expression, schema) -> None:
    for sub in list(_subtractions(tree)):
        kind = _both(sub, schema)
        if kind is not None:
            sub.meta[DIFFERENCE_OF] = kind
