"""TableDiff: what compare_tables found (counts, partitions, histogram, sample), the Thresholds its
verdict is judged against, and the SchemaDiff between the two tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import ParameterError
from ..results import Result

NULL_PARTITION_ID = "__NULL__"   # BigQuery's partition id for the rows whose partition column is NULL


@dataclass(frozen=True)
class Thresholds:
    """Beyond these a comparison fails; differences within them are a warning."""

    max_changed_rate: float = 0.01   # changed rows / key-matched rows
    max_missing_rate: float = 0.0    # rows only in production / production rows
    max_extra_rate: float = 0.0      # rows only in test / test rows
    max_duplicate_keys: int = 0      # keys found more than once, both sides together

    def __post_init__(self) -> None:
        for name in ("max_changed_rate", "max_missing_rate", "max_extra_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ParameterError(name, value, "give a fraction from 0 to 1 (0.01 is 1%)")
        if isinstance(self.max_duplicate_keys, bool) or not isinstance(self.max_duplicate_keys, int) \
                or self.max_duplicate_keys < 0:
            raise ParameterError("max_duplicate_keys", self.max_duplicate_keys, "give a whole number, 0 or more")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SchemaDiff:
    missing: list[str] = field(default_factory=list)   # production columns the test table lacks
    extra: list[str] = field(default_factory=list)     # test columns production lacks
    type_changed: list[tuple[str, str, str]] = field(default_factory=list)   # (column, prod type, test type)

    def __bool__(self) -> bool:
        return bool(self.count())

    def count(self) -> int:
        """Columns missing, added or retyped."""
        return len(self.missing) + len(self.extra) + len(self.type_changed)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"test lacks {', '.join(self.missing)}")
        if self.extra:
            parts.append(f"test adds {', '.join(self.extra)}")
        parts += [f"{c} is {p} in production, {t} in test" for c, p, t in self.type_changed]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"missing": self.missing, "extra": self.extra, "type_changed": [list(t) for t in self.type_changed]}


@dataclass
class TableDiff(Result):
    """How a test table differs from production, with a verdict against thresholds."""

    prod_table: str = ""
    test_table: str = ""
    keys: tuple[str, ...] = ()
    compared_columns: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    partition_column: str | None = None
    rows_prod: int = 0
    rows_test: int = 0
    only_in_prod: int = 0
    only_in_test: int = 0
    matched_rows: int = 0      # keys with exactly one row on each side: compared row by row
    changed_rows: int = 0
    duplicate_keys_prod: int = 0
    duplicate_keys_test: int = 0
    ambiguous_rows_prod: int = 0
    ambiguous_rows_test: int = 0
    column_mismatches: dict[str, int] = field(default_factory=dict)
    max_abs_delta: dict[str, float] = field(default_factory=dict)
    schema: SchemaDiff = field(default_factory=SchemaDiff)
    # partition_value, rows_prod, rows_test, only_in_prod, only_in_test, duplicate keys, changed_rows
    partitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    partition_mismatches: pd.DataFrame = field(default_factory=pd.DataFrame)   # partition_value, column, mismatches
    delta_histogram: pd.DataFrame = field(default_factory=pd.DataFrame)   # column, decade, cells, mismatches
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)   # keys..., column, prod_value, test_value, abs_delta
    # side ("production" or "test"), keys...: the first keys (by key) found on that side only
    one_sided_keys: pd.DataFrame = field(default_factory=pd.DataFrame)
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    bytes_estimated: int | None = None
    compared: bool = True   # False: the tables were not compared (refused, or not comparable): no counts

    @property
    def changed_rate(self) -> float:
        return self.changed_rows / self.matched_rows if self.matched_rows else 0.0

    def mismatch_dates(self, column: str | None = None) -> list[Any]:
        """Partition values with a mismatch (in `column`, or in any column), in order; then the NULL partition of a
        partitioned comparison (rows whose partition column is NULL, or an integer range's values outside it) by
        BigQuery's id for it, __NULL__: left out, a table differing there and on one day read as that day alone."""
        frame = self.partition_mismatches
        if frame.empty:
            return []
        if column is not None:
            frame = frame[frame["column"] == column]
        values = frame.loc[frame["mismatches"] > 0, "partition_value"]
        found = sorted(values.dropna().unique().tolist())
        return found + [NULL_PARTITION_ID] if self.partition_column and values.isna().any() else found

    def differing_columns(self) -> list[str]:
        """Columns with mismatches, most first."""
        return [c for c, n in sorted(self.column_mismatches.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0]
