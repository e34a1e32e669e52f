"""The embedded warehouse: a DuckDB file that answers BigQuery-dialect SQL.

A BigQuery dataset is a DuckDB schema. The phase services, the notebook kernel and the CLI are
separate processes and DuckDB lets one process write a file at a time, so a connection is held
only for the length of one operation and a lock conflict is retried briefly.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from ..errors import ParameterError, WarehouseBusy
from .dialect import to_duckdb

LOCK_RETRY_SECONDS = 30.0


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


class LocalWarehouse:
    def __init__(self, path: str | Path, project: str = "sandbox", lock_retry_seconds: float = LOCK_RETRY_SECONDS):
        p = Path(path).expanduser()
        if p.exists() and p.is_dir():
            raise ParameterError("warehouse_path", str(path), "give a file path for the DuckDB database, not a folder")
        if not p.parent.exists():
            raise ParameterError("warehouse_path", str(path), f"its folder {p.parent} must exist")
        self.path = p.resolve()
        self.project = project
        self.lock_retry_seconds = lock_retry_seconds

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.lock_retry_seconds
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only and self.path.exists())
                break
            except duckdb.IOException as exc:
                if not _is_lock_conflict(exc) or time.monotonic() > deadline:
                    if _is_lock_conflict(exc):
                        raise WarehouseBusy(
                            f"The warehouse {self.path} stayed locked by another process for "
                            f"{self.lock_retry_seconds:.0f}s; stop it or retry."
                        ) from None
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """Run one BigQuery-dialect query and return its rows."""
        with self.connection() as con:
            return con.execute(to_duckdb(sql), params or {}).df()

    def execute(self, sql: str, params: dict | None = None) -> None:
        """Run BigQuery-dialect statements (DDL/DML), all in one transaction."""
        statements = to_duckdb(sql, many=True)
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for stmt in statements:
                    con.execute(stmt, _params_used(stmt, params))
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise


def _params_used(stmt: str, params: dict | None) -> dict:
    if not params:
        return {}
    return {k: v for k, v in params.items() if f"${k}" in stmt}
