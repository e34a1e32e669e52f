"""Steps 4 and 6 of runbook 03: fingerprints of production, taken before and after the replay.

Every table in every dataset a phase reads or writes (listed again at each fingerprint, so a table created
meanwhile is seen), plus the run-history table: its kind and columns (tables.get), rows and last change of
each partition, from the warehouse's partition metadata (INFORMATION_SCHEMA.PARTITIONS, no table scan),
and, where asked, a content checksum of the replay's partitions, pushed down to the warehouse:

    SELECT <partition key> AS day, BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(`c1`, ..., `cn`)))) AS checksum
    FROM `dataset.table` WHERE <the partition column's day> IN UNNEST(@days) GROUP BY 1

(checksum_sql(); the columns as step 4 read them, in order; the whole table when it has no partition column, none
for a view or an integer-range partitioning). The checksum scans those partitions: nothing billed on the sandbox,
bytes billed on BigQuery, so there it is opt-in and its bytes are estimated (a dry run) before it runs. Taken only
while a table has the columns step 4 read (else its column change is the change), and a checksum that cannot be
taken is a change too. Comparing two fingerprints names each table and partition that changed, and how.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

import pandas as pd

from ..compare.parameters import day_sql
from ..errors import NotFoundError, RunbookError
from ..formats import one_line, size
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
    columns: tuple[tuple[str, str], ...] = ()     # (name, BigQuery type), in order; () when not read
    kind: str = "TABLE"                            # TABLE or VIEW
    problem: str = ""                              # why its checksum could not be taken

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def rows_on(self, day: date) -> int:
        found = self.partitions.get(day.isoformat())
        return found.rows if found else 0

    def to_dict(self) -> dict:
        return {"ref": self.ref, "exists": self.exists, "kind": self.kind, "rows": self.rows,
                "columns": [list(c) for c in self.columns], "problem": self.problem,
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




def checksum_sql(warehouse: Any, ref: str, days: list[date], info: Any = None) -> tuple[str, dict | None] | None:
    """The checksum of the replay's days in each partition of a table (of the whole table if unpartitioned),
    keyed as the fingerprint keys partitions; None for a table partitioned by an integer range, which has
    no partition of a day (metadata only). A partition of an hour, a month or a year is checksummed over
    its rows of the replay's days only, the same rows before and after.

    The columns are named (not the row alias) so a dry run counts every column it reads; a DATE partition
    column is filtered as it is, which BigQuery prunes by. The rows are grouped by position, not by the
    alias `day`, which a column of that name would stand for in the sandbox (DuckDB binds a GROUP BY name
    to the column before the alias; BigQuery, to the alias). None for a view, which has no partitions and
    stores nothing of its own (the tables under it are fingerprinted themselves)."""
    info = info or warehouse.table_info(ref)
    if info.kind == "VIEW":
        return None   # no partitions and no storage of its own: its tables are fingerprinted themselves
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
    columns: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)   # what each query reads
    infos: dict[str, Any] = field(default_factory=dict)   # each table's tables.get as the plan read it

    def to_dict(self) -> dict:
        return {"queries": {ref: {"sql": sql, "days": [d.isoformat() for d in (params or {}).get("days", [])]}
                            for ref, (sql, params) in self.queries.items()},
                "bytes_per_pass": self.bytes_per_pass, "note": self.note}

    @property
    def on(self) -> bool:
        return bool(self.queries)


def plan_checksums(warehouse: Any, refs: Iterable[str], days: list[date], wanted: bool, max_bytes: int) -> Checksums:
    if not wanted:
        return Checksums(note="off (production_checksum): partition metadata only")
    queries, columns, infos = {}, {}, {}
    for ref in refs:
        try:   # table_info says a table is missing itself: no table_exists call before it
            info = infos[ref] = warehouse.table_info(ref)
        except NotFoundError:
            continue   # nothing to checksum
        query = checksum_sql(warehouse, ref, days, info)
        if query is not None:
            queries[ref], columns[ref] = query, tuple(info.columns)
    scanned = sum(warehouse.estimate_bytes(sql, params) for sql, params in queries.values())
    if scanned > max_bytes:
        return Checksums(bytes_per_pass=scanned,
                         note=f"skipped: each pass would scan {size(scanned)}, more than checksum_max_gb "
                              f"({size(max_bytes)}); partition metadata only")
    return Checksums(queries, scanned, columns=columns, infos=infos)


# ---------------------------------------------------------------- fingerprints


def _key(partition: Any) -> str:
    day = partition.partition_date
    return day.isoformat() if day else (partition.partition_id or WHOLE_TABLE)


def table_print(warehouse: Any, ref: str, checksums: Checksums | None = None, schema: bool = False,
                info: Any = None) -> TablePrint:
    """Rows and last change per partition; with `schema`, the table's kind and columns too (tables.get, or
    `info` when it was just read); with `checksums`, the checksum of the replay's partitions, taken only while
    the table has the columns its query was written for."""
    partitions = existing_partitions(warehouse, ref)
    if partitions is None:
        return TablePrint(ref, exists=False)
    found = TablePrint(ref, exists=True)
    if schema:
        try:
            info = info or warehouse.table_info(ref)
        except NotFoundError:
            return TablePrint(ref, exists=False)   # dropped between the two reads
        found.columns, found.kind = tuple(info.columns), info.kind
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
        if schema and found.columns != checksums.columns.get(ref, found.columns):
            return found   # its query names the columns step 4 read: the column change is what is said
        sql, params = checksums.queries[ref]
        try:
            answer = warehouse.query(sql, params)
        except RunbookError as exc:   # a column gone, a table replaced by a view ...: said as a change
            found.problem = f"its checksum could not be taken ({one_line(str(exc), 160)})"
            return found
        for row in answer.itertuples(index=False):
            printed = found.partitions.get(str(row.day))
            if printed is not None and not pd.isna(row.checksum):
                printed.checksum = int(row.checksum)
    return found


def fingerprint(warehouse: Any, refs: Iterable[str], checksums: Checksums | None = None,
                fresh: bool = True) -> Fingerprint:
    """Every table's print. Not `fresh`: step 4, whose checksum plan has just read each table (tables.get once)."""
    infos = {} if fresh or checksums is None else checksums.infos
    return {ref: table_print(warehouse, ref, checksums, schema=True, info=infos.get(ref)) for ref in refs}


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
            same = ", checksum unchanged" if new.checksum is not None else ""   # XOR cancels identical rows
            said.append(f"{name}: rewritten{when} (same {new.rows} rows{same})")
    return said


def _schema_changes(before: TablePrint, after: TablePrint) -> list[str]:
    """The table's kind and columns, as tables.get reports them (both read: a print without them says nothing)."""
    said = []
    if before.kind != after.kind:
        said.append(f"a {before.kind.lower()} before, a {after.kind.lower()} now")
    if not (before.columns and after.columns) or before.columns == after.columns:
        return said
    old, new = dict(before.columns), dict(after.columns)
    added = [f"`{c}` {t}" for c, t in after.columns if c not in old]
    dropped = [f"`{c}`" for c, _ in before.columns if c not in new]
    retyped = [f"`{c}` {old[c]} -> {t}" for c, t in after.columns if c in old and old[c] != t]
    parts = ([f"added {', '.join(added)}"] if added else []) + ([f"dropped {', '.join(dropped)}"] if dropped else []) \
        + ([f"retyped {', '.join(retyped)}"] if retyped else [])
    said.append(f"columns changed: {'; '.join(parts)}" if parts else "columns reordered")
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
        parts = _schema_changes(old, new) + ([new.problem] if new.problem and not old.problem else []) \
            + _partition_changes(old, new)
        if parts:
            hidden = len(parts) - shown
            more = f"; {hidden} more partition{'s' if hidden > 1 else ''} changed" if hidden > 0 else ""
            found.append(Change(ref, "; ".join(parts[:shown]) + more, new.rows - old.rows))
    return found
