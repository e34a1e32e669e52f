"""REGEXP_EXTRACT, REGEXP_EXTRACT_ALL, REGEXP_INSTR and REGEXP_SUBSTR as BigQuery's (work in progress)."""
from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

REGEXP_REWRITES: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression | None]] = {}
