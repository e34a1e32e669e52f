"""What the sandbox-SQL tests share: the one value a query returns, its one row of dates and times as ISO text, and the
error a query raises."""
from __future__ import annotations

import pytest

from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError


def one_value(wh: LocalWarehouse, sql: str):
    """The value of a query that returns one row of one column (asserted)."""
    rows = wh.query_arrow(sql).to_pylist()
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return next(iter(rows[0].values()))


def raised(wh: LocalWarehouse, sql: str, error: type[Exception] = WarehouseQueryError) -> str:
    """The message of the `error` the query raises (asserted)."""
    with pytest.raises(error) as caught:
        wh.query(sql)
    return str(caught.value)


def iso_row(wh: LocalWarehouse, sql: str) -> dict:
    """The one row a query of dates and times returns, each value as its isoformat() (None stays None; asserted)."""
    rows = wh.query_arrow(sql).to_pylist()
    assert len(rows) == 1, rows
    return {k: v if v is None else v.isoformat() for k, v in rows[0].items()}
