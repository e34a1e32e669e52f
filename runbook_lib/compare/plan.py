"""What a comparison compares, as compare_tables settled it: the two tables, the key, the compared columns with
their BigQuery types on each side, the partitioning, and the fingerprint expressions (sql.py writes the statements
from a Plan).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

NUMERIC_TYPES = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC"})
EXACT_TYPES = frozenset({"INT64", "NUMERIC", "BIGNUMERIC"})   # their differences are computed exactly
# Types BigQuery can compare with `=`; anything else (ARRAY, STRUCT, JSON, GEOGRAPHY) is compared as JSON text.
EQUALITY_TYPES = NUMERIC_TYPES | {"STRING", "BYTES", "BOOL", "DATE", "DATETIME", "TIME", "TIMESTAMP"}


def base_type(bigquery_type: str) -> str:
    """NUMERIC(10, 2) -> NUMERIC, ARRAY<INT64> -> ARRAY, int64 -> INT64."""
    return bigquery_type.split("(")[0].split("<")[0].strip().upper()


@dataclass(frozen=True)
class Column:
    """A compared column and its BigQuery type on each side."""

    name: str
    prod_type: str
    test_type: str

    @property
    def numeric(self) -> bool:
        return base_type(self.prod_type) in NUMERIC_TYPES and base_type(self.test_type) in NUMERIC_TYPES

    @property
    def exact_type(self) -> str | None:
        """The type two exact numbers are subtracted in (None for FLOAT64): a difference of INT64s or
        NUMERICs cast to FLOAT64 first loses digits (9007199254740993 - 9007199254740992 would be 0)."""
        types = {base_type(self.prod_type), base_type(self.test_type)}
        if not types <= EXACT_TYPES:
            return None
        return "BIGNUMERIC" if "BIGNUMERIC" in types else "NUMERIC"

    @property
    def as_json(self) -> bool:
        """Compared as JSON text: a type `=` cannot compare, or a type change between non-numeric types."""
        p, t = base_type(self.prod_type), base_type(self.test_type)
        return not self.numeric and (p != t or p not in EQUALITY_TYPES)


@dataclass(frozen=True)
class Plan:
    """What to compare, as compare_tables settled it."""

    prod_table: str
    test_table: str
    keys: tuple[str, ...]
    key_types: tuple[str, ...]
    columns: tuple[Column, ...]
    partition_column: str | None
    partition_type: str   # the type of the partition values (DATE for a TIMESTAMP column's days)
    where: str | None
    row_hash: str      # the warehouse's fingerprint expression over the compared columns (both sides)
    key_hash: str      # ... and over the key columns, named _k0, _k1, ...
    partition_of: str = "{0}"   # the partition of a partition column value {0}, as SQL ("DATE({0})" for days)
    # ... of test's value, when test retyped the column (a TIMESTAMP's day against a DATE): each side's rows count
    # in the partition their own value falls in; None: production's
    test_partition_of: str | None = None

    @property
    def fingerprints_comparable(self) -> bool:
        """Whether equal fingerprints mean equal values: only while no compared column changed type."""
        return all(c.prod_type == c.test_type for c in self.columns)

    def part(self, value_sql: str, side: str = "p") -> str:
        """The partition of the partition column's value `value_sql`, read from production ("p") or test ("t")."""
        of = self.test_partition_of if side == "t" and self.test_partition_of is not None else self.partition_of
        return of.format(value_sql)

    def fingerprints_differ(self, prod: str, test: str) -> str:
        """SQL: the two rows' fingerprints differ (always, when they cannot be compared)."""
        return f"{prod} != {test}" if self.fingerprints_comparable else "TRUE"


def partition_literals(plan: Plan, values: Sequence[Any]) -> str | None:
    """Partition values as SQL literals, for a filter BigQuery can prune partitions with (a literal
    IN list; DuckDB skips row groups with it too); None for types not written that way here."""
    kind = base_type(plan.partition_type)
    if plan.partition_of != "{0}" or plan.test_partition_of not in (None, "{0}"):
        return None   # a day of a TIMESTAMP, a range of integers: read every partition
    if kind == "DATE" and all(isinstance(v, date) and not isinstance(v, datetime) for v in values):
        return ", ".join(f"DATE '{v.isoformat()}'" for v in values)
    if kind == "INT64" and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return ", ".join(str(v) for v in values)
    return None
