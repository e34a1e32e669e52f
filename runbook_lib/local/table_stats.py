"""What BigQuery's storage metadata answers, for the local warehouse: logical bytes, rows and last change
per partition (INFORMATION_SCHEMA.PARTITIONS, TableInfo.num_bytes), and the bytes a query would process
(a dry run's totalBytesProcessed).

BigQuery bills the logical bytes of the columns a query reads, in the partitions it does not prune:
8 bytes for INT64, FLOAT64, DATE, DATETIME, TIME and TIMESTAMP, 1 for BOOL, 16 for NUMERIC and
INTERVAL, 32 for BIGNUMERIC, 2 + the UTF-8 length for STRING and BYTES, nothing for a NULL
(cloud.google.com/bigquery/docs/storage_overview#data_size_calculation); arrays, structs and JSON are
counted here as their JSON text. The estimate prunes partitions with the filters on the partition
column that BigQuery can prune by (constants and query parameters, joined by AND), reads only the
columns the query names (all of them for `*`), and never counts an INSERT's or a CREATE's target.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import duckdb
import pyarrow.compute as pc
from sqlglot import exp

from ..protocols import FIRST_PARTITION_DAY, LAST_PARTITION_DAY, NULL_PARTITION, UNPARTITIONED
from ..warehouse import PARTITION_ID_FORMATS
from . import duckdb_catalog as catalog
from .bigquery import bigquery_type, meta, parsed, translate
from .bigquery.sqltree import sql_text
from .duckdb_file import CATALOG, qualified, quote

_FIXED = {"INT64": 8, "FLOAT64": 8, "DATE": 8, "DATETIME": 8, "TIME": 8, "TIMESTAMP": 8, "BOOL": 1,
          "INTERVAL": 16, "BIGNUMERIC": 32, "NUMERIC": 16}


def column_bytes_sql(name: str, duckdb_type: str, alias: str | None = None) -> str:
    """DuckDB SQL for the logical bytes one row's value of a column takes (0 for NULL)."""
    col = f"{quote(alias)}.{quote(name)}" if alias else quote(name)
    bq = bigquery_type(duckdb_type)
    base = bq.split("(")[0]
    if base in _FIXED:
        return f"(CASE WHEN {col} IS NULL THEN 0 ELSE {_FIXED[base]} END)"
    if base == "STRING":
        return f"COALESCE(2 + STRLEN({col}), 0)"
    if base == "BYTES":
        return f"COALESCE(2 + OCTET_LENGTH({col}), 0)"
    return f"COALESCE(STRLEN(CAST(TO_JSON({col}) AS VARCHAR)), 0)"


def _summed_bytes_sql(name: str, duckdb_type: str) -> str:
    """DuckDB SQL for the logical bytes of a column over a group of rows (a fixed width counts its non-NULL values:
    DuckDB plans COUNT(x) * 8 in half the time of SUM(CASE ...), and a refresh's cost is mostly planning)."""
    base = bigquery_type(duckdb_type).split("(")[0]
    if base in _FIXED:
        return f"COUNT({quote(name)}) * {_FIXED[base]}"
    return f"CAST(COALESCE(SUM({column_bytes_sql(name, duckdb_type)}), 0) AS BIGINT)"


def _row_bytes_sql(columns: list[tuple[str, str]], alias: str | None = None) -> str:
    return " + ".join(column_bytes_sql(n, t, alias) for n, t in columns) or "0"




def partition_id_sql(partition: str | None, columns: dict[str, str],
                     partition_range: tuple[int, int, int] | None = None, unit: str | None = None) -> str:
    """DuckDB SQL for BigQuery's partition_id of a row. A DATE, DATETIME or (UTC) TIMESTAMP column's day
    (YYYYMMDD), or its hour, month or year by `unit` (YYYYMMDDHH, YYYYMM, YYYY); __UNPARTITIONED__ before
    1960 or after 2159, as BigQuery's. An INT64 column's range start (`partition_range` (start, end,
    interval), __UNPARTITIONED__ outside it; without one, every value its own partition). __NULL__ for
    NULL; NULL for an unpartitioned table."""
    if partition is None or partition not in columns:
        return "CAST(NULL AS VARCHAR)"
    col, kind = quote(partition), bigquery_type(columns[partition])
    if kind == "INT64":
        if partition_range is None:
            pid = f"CAST({col} AS VARCHAR)"
        else:
            start, end, interval = (int(v) for v in partition_range)
            pid = (f"CASE WHEN {col} < {start} OR {col} >= {end} THEN '{UNPARTITIONED}' "
                   f"ELSE CAST({start} + ({col} - {start}) // {interval} * {interval} AS VARCHAR) END")
    elif kind in ("DATE", "DATETIME", "TIMESTAMP"):   # the session's time zone is UTC
        day = col if kind == "DATE" else f"CAST({col} AS DATE)"
        # BigQuery's time-unit partitions span 1960-01-01 to 2159-12-31; a day outside them is __UNPARTITIONED__
        pid = (f"CASE WHEN {day} < DATE '{FIRST_PARTITION_DAY}' OR {day} > DATE '{LAST_PARTITION_DAY}' "
               f"THEN '{UNPARTITIONED}' "
               f"ELSE STRFTIME({col}, '{PARTITION_ID_FORMATS[unit or 'DAY']}') END")
    else:
        return "CAST(NULL AS VARCHAR)"   # not a type BigQuery partitions by: one partition
    return f"COALESCE({pid}, '{NULL_PARTITION}')"


def _partitioning(con: duckdb.DuckDBPyConnection, dataset: str, table: str,
                  cols: list[tuple[str, str]]) -> str:
    return _recorded_partitioning(meta.table_meta(con, dataset, table), cols)


def _recorded_partitioning(recorded: dict, cols: list[tuple[str, str]]) -> str:
    """partition_id_sql for a table by its recorded metadata (meta.table_meta) and columns."""
    return partition_id_sql(recorded.get("partition_column"), dict(cols), recorded.get("partition_range"),
                            recorded.get("partition_unit"))


def _in_partitions(pid: str, partitions: Collection[str]) -> str:
    """A WHERE clause keeping the rows whose partition_id (`pid`, its SQL) is one of `partitions`."""
    return f" WHERE {pid} IN ({', '.join(sql_text(p) for p in sorted(partitions))})"


def _count(con: duckdb.DuckDBPyConnection, dataset: str, table: str, cols: list[tuple[str, str]],
           checksum: bool = False, only: Collection[str] | None = None, pid: str | None = None) -> list[tuple]:
    """(partition_id, rows, [checksum,] logical bytes per column) per partition, counted from the rows (of the
    partitions `only` names, when given; `pid`: the table's partition_id SQL, when built already)."""
    return _counted(con, dataset, table, cols, checksum, only, pid)[0]


def _counted(con: duckdb.DuckDBPyConnection, dataset: str, table: str, cols: list[tuple[str, str]],
             checksum: bool = False, only: Collection[str] | None = None, pid: str | None = None,
             total: bool = False) -> tuple[list[tuple], int | None]:
    """_count's answer, and with `total` the table's rows, counted in the same statement (None when no partition
    `only` names has a row left)."""
    pid = pid or _partitioning(con, dataset, table, cols)
    sizes = "".join(f", {_summed_bytes_sql(n, t)}" for n, t in cols)
    check = ", CAST(COALESCE(SUM(CAST(HASH(_r) AS HUGEINT)), 0) AS HUGEINT)" if checksum else ""
    every = f", (SELECT COUNT(*) FROM {qualified(dataset, table)})" if total else ""
    where = _in_partitions(pid, only) if only is not None else ""
    rows = con.execute(f"SELECT {pid} AS pid, COUNT(*){check}{every}{sizes} FROM {qualified(dataset, table)} AS _r"
                       f"{where} GROUP BY ALL ORDER BY 1").fetchall()
    fixed = 3 if checksum else 2
    skip = fixed + (1 if total else 0)
    return ([(*r[:fixed], dict(zip((n for n, _ in cols), (int(b) for b in r[skip:])))) for r in rows],
            int(rows[0][fixed]) if total and rows else None)


def written_partitions_sql(recorded: dict, cols: list[tuple[str, str]], written: Collection[str | None]) -> str:
    """A WHERE clause keeping the rows of the partitions a statement wrote (`written`, as run_noting_partitions
    returns them) of a table (`recorded`: its meta.table_meta, `cols`: its columns), or "" for every row (a table
    without partitions, or a write of all of them)."""
    if not written or meta.EVERY_PARTITION in written or None in written or recorded.get("partition_column") is None:
        return ""
    return _in_partitions(_recorded_partitioning(recorded, cols), written)


def run_noting_partitions(con: duckdb.DuckDBPyConnection, sql: str, params: dict, cols: list[tuple[str, str]],
                          recorded: dict) -> set[str | None]:
    """Run an INSERT, UPDATE, DELETE or MERGE (DuckDB SQL) into a table (`cols`: its columns, `recorded`: its
    meta.table_meta); the partition_ids of the rows it wrote (an UPDATE's rows after it; the partition it moved a row
    out of changed its count)."""
    pid = _recorded_partitioning(recorded, cols)
    # (DuckDB takes no MERGE in a CTE, so the ids are made distinct here, batch by batch)
    batches = con.sql(f"{sql} RETURNING {pid} AS pid", params=params or None).to_arrow_reader()   # runs it once
    return {p for batch in batches for p in pc.unique(batch.column(0)).to_pylist()}


def refresh(con: duckdb.DuckDBPyConnection, dataset: str, table: str, now: datetime,
            written: Collection[str | None] = (), cols: list[tuple[str, str]] | None = None,
            recorded: dict | None = None) -> None:
    """Recount a table's partitions after a change: a partition whose content changed, or that a
    statement wrote (`written`, meta.EVERY_PARTITION for all), is modified now. (`cols`: its columns, `recorded`:
    its meta.table_meta, when read.)"""
    cols = cols if cols is not None else catalog.columns(con, dataset, table)
    recorded = recorded if recorded is not None else meta.table_meta(con, dataset, table)
    pid = _recorded_partitioning(recorded, cols)
    if recorded.get("partition_column") is not None and written and meta.EVERY_PARTITION not in written \
            and None not in written and _recount_written(con, dataset, table, cols, now, set(written), pid):
        return
    stats = _count(con, dataset, table, cols, checksum=True, pid=pid)
    if recorded.get("partition_column") is None and not stats:
        stats = [(None, 0, 0, {})]   # an unpartitioned table has its one (empty) partition
    meta.replace_partition_stats(con, dataset, table, stats, now, written)


def record_empty(con: duckdb.DuckDBPyConnection, dataset: str, table: str, partitioned: bool, now: datetime) -> None:
    """A table just made with no rows: the statistics a recount would find (none; an unpartitioned table has its one
    empty partition), without the recount (planning an aggregate of every column costs more than making the table)."""
    meta.replace_partition_stats(con, dataset, table, [] if partitioned else [(None, 0, 0, {})], now, ())


def _recount_written(con: duckdb.DuckDBPyConnection, dataset: str, table: str, cols: list[tuple[str, str]],
                     now: datetime, written: set[str], pid: str) -> bool:
    """Recount only the partitions the statements wrote, keeping the others' figures; False (nothing recorded)
    when that cannot be trusted. Every row a statement wrote or deleted is in `written`; a row an UPDATE moved
    out of a partition is not, and leaves that partition's kept count too high: so the kept counts of the
    other partitions and the new counts must add up to the table's rows (and name the same columns)."""
    records = meta.partition_records(con, dataset, table)
    kept = meta.partition_stats(con, dataset, table, records)
    names = {n for n, _ in cols}
    if kept is None or any(set(sizes) != names for _, sizes in kept.values()):
        return False
    counted, rows = _counted(con, dataset, table, cols, checksum=True, only=written, pid=pid, total=True)
    if rows is None:   # every row of the partitions written is gone
        rows = con.execute(f"SELECT COUNT(*) FROM {qualified(dataset, table)}").fetchall()[0][0]
    if rows != sum(n for p, (n, _) in kept.items() if p not in written) + sum(r[1] for r in counted):
        return False
    meta.replace_partition_stats(con, dataset, table, counted, now, written, counted_only=written, records=records)
    return True


def _column_bytes(con: duckdb.DuckDBPyConnection, dataset: str, table: str,
                  cols: list[tuple[str, str]]) -> dict[str | None, dict[str, int]]:
    """partition_id -> logical bytes of each of `cols`: from the kept statistics (as BigQuery's storage
    metadata) while they hold as many rows as the table, else counted from the rows (a table the
    warehouse never wrote, or changed behind its back)."""
    kept = meta.partition_stats(con, dataset, table)
    if kept is not None:
        rows = con.execute(f"SELECT COUNT(*) FROM {qualified(dataset, table)}").fetchall()[0][0]
        if rows == sum(total for total, _ in kept.values()) and \
                all(n in sizes for _, sizes in kept.values() for n, _ in cols):
            return {pid: sizes for pid, (_, sizes) in kept.items()}
    return {pid: sizes for pid, _, sizes in _count(con, dataset, table, cols)}


def table_size(con: duckdb.DuckDBPyConnection, dataset: str, table: str,
               cols: list[tuple[str, str]]) -> tuple[int, int]:
    """(rows, logical bytes) of a table (`cols`: its columns): from its statistics, as BigQuery's storage
    metadata answers tables.get, counted from the rows when there are none (a table the warehouse never
    wrote)."""
    kept = meta.table_size(con, dataset, table)
    if kept is not None:
        return kept
    rows, size = con.execute(f"SELECT COUNT(*), COALESCE(SUM({_row_bytes_sql(cols)}), 0) "
                             f"FROM {qualified(dataset, table)}").fetchall()[0]
    return int(rows), int(size)


# ---------------------------------------------------------------------------------------------
# Dry runs

def estimate(con: duckdb.DuckDBPyConnection, sql: str, project: str, params: dict) -> int:
    """The bytes BigQuery would process for `sql` (every statement of a script), without running it:
    the logical bytes of the columns read, in every partition a partition filter keeps (a partition
    is read whole when any of its rows passes the filter)."""
    total = 0
    for tree in parsed(sql):   # as the translation parsed it (read only)
        for (dataset, table), (columns, filters, alias) in _scans(con, tree).items():
            if not columns:
                continue
            sizes = _column_bytes(con, dataset, table, columns)
            read = set(sizes)
            if filters:
                read = _partitions_passing(con, dataset, table, filters, alias, project, params)
            total += sum(sizes[pid].get(n, 0) for pid in read if pid in sizes for n, _ in columns)
    return total


def _partitions_passing(con: duckdb.DuckDBPyConnection, dataset: str, table: str, filters: list[exp.Expr],
                        alias: str, project: str, params: dict) -> set[str | None]:
    """The partition_ids of the rows that pass the partition filters (they name the partition column only)."""
    where = " AND ".join(f"({f.sql('bigquery')})" for f in filters)
    statement = translate(f"SELECT * FROM `{dataset}`.`{table}` AS `{alias}` WHERE {where}", project, CATALOG)[0]
    used = {k: catalog.bound(v) for k, v in params.items() if k in statement.params}
    cols = catalog.columns(con, dataset, table)
    pid = _partitioning(con, dataset, table, cols)
    return {r[0] for r in con.execute(f"SELECT DISTINCT {pid} FROM ({statement.sql}) AS _rows", used).fetchall()}


def _scans(con: duckdb.DuckDBPyConnection, tree: exp.Expr) -> dict:
    """(dataset, table) -> (columns read as (name, DuckDB type), partition filters, alias) for one statement."""
    written = _written_target(tree)
    tables = [t for t in tree.find_all(exp.Table) if t.db and t.name and t is not written
              and not t.name.upper().startswith("INFORMATION_SCHEMA.") and catalog.schema_exists(con, t.db)
              and catalog.relation_exists(con, t.db, t.name)]
    # `SELECT *` reads every column of the tables in its own FROM (not of those inside its CTEs).
    star_selects = {id(s.find_ancestor(exp.Select)) for s in tree.find_all(exp.Star)
                    if not isinstance(s.parent, (exp.Count, exp.Column))}
    # (qualifier, name or None for `qualifier.*`) of every column reference, listed once
    named = {(c.table, None if isinstance(c.this, exp.Star) else c.name) for c in tree.find_all(exp.Column)}
    comparisons = _constant_comparisons(tree)
    scans: dict = {}
    for t in tables:
        cols = catalog.columns(con, t.db, t.name)
        names = {n for n, _ in cols}
        alias = t.alias_or_name
        partition = meta.table_meta(con, t.db, t.name).get("partition_column")
        read, filters = set(), []
        for qualifier, name in named:
            if qualifier in (alias, "") and (name is None or name in names):
                read |= names if name is None else {name}
        if id(t.find_ancestor(exp.Select)) in star_selects:
            read = names
        if partition is not None:
            filters = [_requalified(term, alias) for term, columns in comparisons
                       if all(c.name == partition and c.table in (alias, "") for c in columns)]
        previous = scans.get((t.db, t.name))
        columns = [(n, ty) for n, ty in cols if n in read | (set(dict(previous[0])) if previous else set())]
        # The same table read twice (a self-join) is pruned by the filters both reads share only.
        shared = [f for f in filters if previous is None or any(f == g for g in previous[1])]
        scans[(t.db, t.name)] = (columns, shared if previous else filters, alias)
    return scans


def _written_target(tree: exp.Expr) -> exp.Table | None:
    """The table an INSERT or CREATE writes: BigQuery does not bill reading it."""
    if isinstance(tree, (exp.Insert, exp.Create)):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        return target if isinstance(target, exp.Table) else None
    return None


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    node = node.unnest() if isinstance(node, exp.Paren) else node
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _constant_comparisons(tree: exp.Expr) -> list[tuple[exp.Expr, list[exp.Column]]]:
    """WHERE conjuncts that compare columns with constants and parameters (no subquery), with their
    columns: a partition filter is one whose columns are all the partition column."""
    found = []
    for where in tree.find_all(exp.Where):
        for term in _conjuncts(where.this):
            if not isinstance(term, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)):
                continue
            columns = list(term.find_all(exp.Column))
            if columns and not any(isinstance(n, (exp.Subquery, exp.Select)) for n in term.walk()):
                found.append((term, columns))
    return found


def _requalified(term: exp.Expr, alias: str) -> exp.Expr:
    term = term.copy()
    for c in term.find_all(exp.Column):
        c.set("table", exp.to_identifier(alias))
    return term
