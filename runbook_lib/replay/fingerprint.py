"""Steps 4 and 6 of runbook 03: fingerprints of production, taken before and after the replay.

Every table in every dataset a phase reads or writes, plus the run-history table: its rows per
partition and, where asked, a content checksum of the replay's partitions (BIT_XOR of
FARM_FINGERPRINT(TO_JSON_STRING(row)), pushed down to the warehouse). The checksum costs a scan of
those partitions: nothing on the sandbox, bytes billed on BigQuery, so there it is opt-in.
Comparing two fingerprints names each table and partition that changed, and how.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Iterable

import pandas as pd

from ..errors import NotFoundError
from ..phases import PhaseRegistry
from .prefix import production_datasets

NULL_PARTITION = "__NULL__"     # BigQuery's partition_id for rows whose partition column is NULL
WHOLE_TABLE = ""                # the one "partition" of a table without a partition column


@dataclass
class PartitionPrint:
    rows: int
    checksum: int | None = None   # only for the replay's partitions, and only when asked

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TablePrint:
    ref: str
    exists: bool
    partition_column: str | None = None
    partitions: dict[str, PartitionPrint] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def rows_on(self, day: date) -> int:
        found = self.partitions.get(day.isoformat())
        return found.rows if found else 0

    def to_dict(self) -> dict:
        return {"ref": self.ref, "exists": self.exists, "rows": self.rows, "partition_column": self.partition_column,
                "partitions": {k: v.to_dict() for k, v in self.partitions.items()}}


Fingerprint = dict[str, TablePrint]


def production_tables(warehouse: Any, phases: PhaseRegistry) -> list[str]:
    """Every table of every dataset a phase reads or writes (as listed now), and the run-history table.

    Every phase's, not only the replayed ones': a downstream phase triggered by mistake would write too."""
    refs = {phases.run_history_table}
    history_dataset = phases.run_history_table.split(".")[0]
    for dataset in production_datasets(phases):
        if dataset == history_dataset:
            continue   # only the run-history table of that dataset: the others are no phase's business
        try:
            refs.update(f"{dataset}.{table}" for table in warehouse.list_tables(dataset))
        except NotFoundError:
            continue
    return sorted(refs)


def _checksum_sql(ref: str, partition: str | None, checksum: bool) -> str:
    row_hash = "FARM_FINGERPRINT(TO_JSON_STRING(t))"
    if partition is None:
        digest = f"BIT_XOR({row_hash})" if checksum else "CAST(NULL AS INT64)"
        return f"SELECT '' AS partition_id, COUNT(*) AS row_count, {digest} AS checksum FROM `{ref}` AS t"
    day = f"CAST({partition} AS DATE)"
    digest = f"BIT_XOR(IF({day} IN UNNEST(@days), {row_hash}, NULL))" if checksum else "CAST(NULL AS INT64)"
    return (f"SELECT CAST({day} AS STRING) AS partition_id, COUNT(*) AS row_count, {digest} AS checksum "
            f"FROM `{ref}` AS t GROUP BY partition_id")


def table_print(warehouse: Any, ref: str, days: list[date], checksum: bool) -> TablePrint:
    if not warehouse.table_exists(ref):
        return TablePrint(ref, exists=False)
    partition = warehouse.table_info(ref).partition_column
    frame = warehouse.query(_checksum_sql(ref, partition, checksum), {"days": list(days)} if partition else None)
    found = TablePrint(ref, exists=True, partition_column=partition)
    for row in frame.itertuples(index=False):
        rows = int(row.row_count)
        if rows == 0 and partition is None:
            continue   # an empty table has no partitions
        key = NULL_PARTITION if pd.isna(row.partition_id) else str(row.partition_id)
        found.partitions[key] = PartitionPrint(rows, None if pd.isna(row.checksum) else int(row.checksum))
    return found


def fingerprint(warehouse: Any, refs: Iterable[str], days: list[date], checksum: bool) -> Fingerprint:
    return {ref: table_print(warehouse, ref, days, checksum) for ref in refs}


# ---------------------------------------------------------------- comparing


@dataclass
class Change:
    ref: str
    what: str                  # one clause: "2025-12-16: 166 -> 170 rows", "created with 24 rows"
    rows_added: int = 0        # after minus before (negative: rows went)

    def to_dict(self) -> dict:
        return asdict(self)


def _partition_changes(before: TablePrint, after: TablePrint) -> list[str]:
    said = []
    for key in sorted(set(before.partitions) | set(after.partitions)):
        old, new = before.partitions.get(key), after.partitions.get(key)
        name = key or "the table"
        if old is None:
            said.append(f"{name}: new, {new.rows} rows")
        elif new is None:
            said.append(f"{name}: gone ({old.rows} rows)")
        elif old.rows != new.rows:
            said.append(f"{name}: {old.rows} -> {new.rows} rows")
        elif old.checksum is not None and new.checksum is not None and old.checksum != new.checksum:
            said.append(f"{name}: same {new.rows} rows, different content")
    return said


def changes(before: Fingerprint, after: Fingerprint, shown: int = 3) -> list[Change]:
    """What differs between two fingerprints of the same tables, one Change per table."""
    found = []
    for ref in sorted(set(before) | set(after)):
        old = before.get(ref) or TablePrint(ref, exists=False)
        new = after.get(ref) or TablePrint(ref, exists=False)
        if not old.exists and not new.exists:
            continue
        if not old.exists:
            found.append(Change(ref, f"created, {new.rows} rows", new.rows))
            continue
        if not new.exists:
            found.append(Change(ref, f"dropped ({old.rows} rows)", -old.rows))
            continue
        parts = _partition_changes(old, new)
        if parts:
            hidden = len(parts) - shown
            more = f"; {hidden} more partition{'s' if hidden > 1 else ''} changed" if hidden > 0 else ""
            found.append(Change(ref, "; ".join(parts[:shown]) + more, new.rows - old.rows))
    return found
