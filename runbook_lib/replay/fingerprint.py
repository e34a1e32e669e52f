"""Steps 4 and 6 of runbook 03: fingerprints of production, taken before and after the replay.

Every table in every dataset a phase reads or writes, plus the run-history table: rows and last change of
each partition, from the warehouse's partition metadata (INFORMATION_SCHEMA.PARTITIONS, no table scan),
and, where asked, a content checksum of the replay's partitions (BIT_XOR of FARM_FINGERPRINT of each row's
JSON, pushed down to the warehouse). The checksum scans those partitions: nothing billed on the sandbox,
bytes billed on BigQuery, so there it is opt-in and its bytes are estimated (a dry run) before it runs.
Comparing two fingerprints names each table and partition that changed, and how.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

import pandas as pd

from ..compare.parameters import day_sql
from ..errors import NotFoundError
from ..formats import size
from ..phases import PhaseRegistry
from ..phases import production_datasets
from ..warehouse import PARTITION_ID_FORMATS, existing_partitions

WHOLE_TABLE = ""                # the one "partition" of a table without a partition column


@dataclass
class PartitionPrint:
    rows: int
    last_modified: datetime | None = None
    checksum: int | None = None   # only for the replay's partitions, and only when asked

    def to_dict(self) -> dict:
        d = asdict(self)
        d["last_modified"] = self.last_modified.isoformat() if self.last_modified else None
        return d


@dataclass
class TablePrint:
    ref: str
    exists: bool
    partitions: dict[str, PartitionPrint] = field(default_factory=dict)   # "2025-12-15", "__NULL__" or ""

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def rows_on(self, day: date) -> int:
        found = self.partitions.get(day.isoformat())
        return found.rows if found else 0

    def to_dict(self) -> dict:
        return {"ref": self.ref, "exists": self.exists, "rows": self.rows,
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


# ---------------------------------------------------------------- checksums




def checksum_sql(warehouse: Any, ref: str, days: list[date]) -> tuple[str, dict | None] | None:
    """The checksum of the replay's days in each partition of a table (of the whole table if unpartitioned),
    keyed as the fingerprint keys partitions; None for a table partitioned by an integer range, which has
    no partition of a day (metadata only). A partition of an hour, a month or a year is checksummed over
    its rows of the replay's days only, the same rows before and after.

    The columns are named (not the row alias) so a dry run counts every column it reads; a DATE partition
    column is filtered as it is, which BigQuery prunes by. The rows are grouped by position, not by the
    alias `day`, which a column of that name would stand for in the sandbox (DuckDB binds a GROUP BY name
    to the column before the alias; BigQuery, to the alias)."""
    info = warehouse.table_info(ref)
    row_hash = "FARM_FINGERPRINT(TO_JSON_STRING(STRUCT({})))".format(", ".join(f"`{c}`" for c, _ in info.columns))
    column = info.partition_column
    if column is None:
        return f"SELECT '' AS day, BIT_XOR({row_hash}) AS checksum FROM `{ref}`", None
    typed = dict(info.columns).get(column, "").split("(")[0]
    if typed not in ("DATE", "DATETIME", "TIMESTAMP"):
        return None
    day = day_sql(f"`{column}`", typed)
    unit = info.partition_type or "DAY"   # a day's partition is keyed by its ISO date, the others by their id
    key = f"CAST({day} AS STRING)" if unit == "DAY" else f"FORMAT_{typed}('{PARTITION_ID_FORMATS[unit]}', `{column}`)"
    return (f"SELECT {key} AS day, BIT_XOR({row_hash}) AS checksum FROM `{ref}` "
            f"WHERE {day} IN UNNEST(@days) GROUP BY 1", {"days": list(days)})


@dataclass
class Checksums:
    """The checksum queries of one fingerprint, with the bytes each pass scans (a dry run's estimate)."""

    queries: dict[str, tuple[str, dict | None]] = field(default_factory=dict)
    bytes_per_pass: int = 0
    note: str = ""          # why there are none, when there are none

    @property
    def on(self) -> bool:
        return bool(self.queries)


def plan_checksums(warehouse: Any, refs: Iterable[str], days: list[date], wanted: bool, max_bytes: int) -> Checksums:
    if not wanted:
        return Checksums(note="off (production_checksum): partition metadata only")
    queries = {}
    for ref in refs:
        try:   # table_info says a table is missing itself: no table_exists call before it
            query = checksum_sql(warehouse, ref, days)
        except NotFoundError:
            continue   # nothing to checksum
        if query is not None:
            queries[ref] = query
    scanned = sum(warehouse.estimate_bytes(sql, params) for sql, params in queries.values())
    if scanned > max_bytes:
        return Checksums(bytes_per_pass=scanned,
                         note=f"skipped: each pass would scan {size(scanned)}, more than checksum_max_gb "
                              f"({size(max_bytes)}); partition metadata only")
    return Checksums(queries, scanned)


# ---------------------------------------------------------------- fingerprints


def _key(partition: Any) -> str:
    day = partition.partition_date
    return day.isoformat() if day else (partition.partition_id or WHOLE_TABLE)


def table_print(warehouse: Any, ref: str, checksums: Checksums | None = None) -> TablePrint:
    partitions = existing_partitions(warehouse, ref)
    if partitions is None:
        return TablePrint(ref, exists=False)
    found = TablePrint(ref, exists=True)
    for p in partitions:
        if not (p.total_rows or p.partition_id):
            continue   # an empty unpartitioned table has no rows to speak of
        # (BigQuery lists __UNPARTITIONED__ once per storage tier when its rows are in both: one partition)
        seen = found.partitions.get(_key(p))
        if seen is None:
            found.partitions[_key(p)] = PartitionPrint(p.total_rows, p.last_modified)
        else:
            seen.rows += p.total_rows
            seen.last_modified = max(filter(None, (seen.last_modified, p.last_modified)), default=None)
    if checksums is not None and ref in checksums.queries:
        sql, params = checksums.queries[ref]
        for row in warehouse.query(sql, params).itertuples(index=False):
            printed = found.partitions.get(str(row.day))
            if printed is not None and not pd.isna(row.checksum):
                printed.checksum = int(row.checksum)
    return found


def fingerprint(warehouse: Any, refs: Iterable[str], checksums: Checksums | None = None) -> Fingerprint:
    return {ref: table_print(warehouse, ref, checksums) for ref in refs}


# ---------------------------------------------------------------- comparing


@dataclass
class Change:
    ref: str
    what: str                  # one clause: "2025-12-16: 166 -> 170 rows", "created, 24 rows"
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
        elif old.last_modified != new.last_modified:
            when = f" at {new.last_modified:%H:%M:%S} UTC" if new.last_modified else ""
            same = ", same content" if new.checksum is not None else ""
            said.append(f"{name}: rewritten{when} (same {new.rows} rows{same})")
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
