"""compare_replay: every table a prefixed replay wrote, compared with production over the replay's dates.

The test tables are `<prefix>_<dataset>.<table>` (phases.py prefixed_dataset, as upstream builds the
name); keys and partition columns come from phases.yaml, and every statement filters on the table's
partition column, so the warehouse reads only the replay's dates.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Sequence

import pandas as pd

from ..checks import as_date
from ..errors import NotFoundError, ParameterError, RunbookError
from ..formats import keyed_table, one_line, quote_identifier
from ..phases import OutputTable, PhaseRegistry, check_test_prefix, prefixed_dataset
from ..protocols import TableInfo, Warehouse
from ..results import Result
from ..target import Target
from .diff import SchemaDiff, TableDiff, Thresholds
from .parameters import check_limits, check_tolerance, day_sql
from .plan import base_type
from .tables import DEFAULT_SAMPLE_ROWS, CostGuard, CostRefused, compare_tables
from .verdict import describe

VERDICT_ORDER = ("pass", "warn", "blocked", "fail")
RUN_REPLAY_FIRST = "run runbook 03 (prefixed replay) first"


@dataclass
class ReplayComparison(Result):
    """One TableDiff per replayed table, and the verdict of the worst."""

    dataset_prefix: str = ""
    start_date: date | None = None
    end_date: date | None = None
    diffs: list[TableDiff] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)   # output tables of phases the replay never ran
    missing: list[str] = field(default_factory=list)   # output tables a phase the replay ran did not write
    notes: list[str] = field(default_factory=list)     # what the comparison left out, said rather than hidden

    def verdict_table(self) -> pd.DataFrame:
        """One row per table, keyed by it: the verdict and the counts behind it. Narrow enough for a screen: the test
        table is the production one under the prefix, and which columns differ by how much is column_table()."""
        counted = ["rows prod", "rows test", "changed rows", "changed %", "only prod", "only test", "dup. keys",
                   "columns differing"]
        rows = []
        for d in self.diffs:
            row = {"table": d.prod_table, "verdict": d.verdict.upper(),
                   "rows prod": d.rows_prod, "rows test": d.rows_test, "changed rows": d.changed_rows,
                   "changed %": round(100 * d.changed_rate, 2), "only prod": d.only_in_prod,
                   "only test": d.only_in_test, "dup. keys": d.duplicate_keys_prod + d.duplicate_keys_test,
                   "columns differing": len(d.differing_columns()), "dates differing": _date_span(d.mismatch_dates())}
            if not d.compared:   # nothing was counted: no zeros that would read as counts
                row.update(dict.fromkeys(counted), **{"dates differing": "-"})
            rows.append(row)
        frame = keyed_table(rows, ["table", "verdict", *counted, "dates differing"])
        return frame.astype({name: "Int64" for name in counted if name != "changed %"})

    def column_table(self) -> pd.DataFrame:
        """Per table (its key) and column that differs in its values or its schema: mismatches, share of matched
        rows, dates, largest difference ("-" where the column has none: text, dates, a column only one side has),
        and how the column changed (missing or added in test, retyped)."""
        rows = []
        for d in self.diffs:
            changes = {c: "missing in test" for c in d.schema.missing} | {c: "added in test" for c in d.schema.extra} \
                | {c: f"{p} in production, {t} in test" for c, p, t in d.schema.type_changed}
            for column in d.differing_columns():
                rows.append({"table": d.prod_table, "column": column, "mismatches": d.column_mismatches[column],
                             "of matched rows %": round(100 * d.column_mismatches[column] / max(d.matched_rows, 1), 2),
                             "dates": _date_span(d.mismatch_dates(column)),
                             "max |delta|": _delta_shown(d.max_abs_delta.get(column)),
                             "schema": changes.pop(column, "-")})
            rows += [{"table": d.prod_table, "column": column, "mismatches": None, "of matched rows %": None,
                      "dates": "-", "max |delta|": "-", "schema": change} for column, change in changes.items()]
        frame = keyed_table(rows, ["table", "column", "mismatches", "of matched rows %", "dates", "max |delta|",
                                   "schema"])
        return frame.astype({"mismatches": "Int64", "of matched rows %": "Float64", "max |delta|": object})

    def sample_table(self, rows_per_table: int = 10) -> pd.DataFrame:
        """The first mismatched values of each table, production beside test (text quoted, so that what
        differs in it shows on a page: see _shown)."""
        frames = []
        for d in self.diffs:
            if d.sample.empty:
                continue
            shown = d.sample.head(rows_per_table).copy()
            for side in ("prod_value", "test_value"):   # (a list: Series.map would make a NULL NaN)
                shown[side] = pd.Series([_shown(v) for v in shown[side]], index=shown.index, dtype=object)
            shown.insert(0, "key", _key_text(shown, d.keys))
            shown.insert(0, "table", d.prod_table)
            frames.append(shown[["table", "key", "column", "prod_value", "test_value", "abs_delta"]])
        if not frames:
            return pd.DataFrame(columns=["table", "key", "column", "prod_value", "test_value", "abs_delta"])
        return pd.concat(frames, ignore_index=True)

    def one_sided_table(self, rows_per_side: int = 5) -> pd.DataFrame:
        """The first keys (by key) of each table's rows on one side only: table, where the row is
        ("only in production" or "only in test") and its key."""
        frames = []
        for d in self.diffs:
            if d.one_sided_keys.empty:
                continue
            shown = d.one_sided_keys.groupby("side", sort=False).head(rows_per_side)
            frames.append(pd.DataFrame({"table": d.prod_table, "only in": shown["side"],
                                        "key": _key_text(shown, d.keys)}))
        if not frames:
            return pd.DataFrame(columns=["table", "only in", "key"])
        return pd.concat(frames, ignore_index=True)


def compare_replay(target: Target, dataset_prefix: str, start_date: Any = None, end_date: Any = None,
                   tables: Sequence[str] | None = None, *, abs_tol: float = 0.0, rel_tol: float = 0.0,
                   exclude: Sequence[str] | None = None, thresholds: Thresholds | None = None,
                   max_bytes_billed: int | None = None, sample_rows: int = DEFAULT_SAMPLE_ROWS) -> ReplayComparison:
    """Compare each table a replay with `dataset_prefix` wrote against production, start_date..end_date
    (None: the dates the test tables hold). `tables` default: every output table in phases.yaml whose
    test table exists; none existing gives verdict blocked, and so does a replay of the prefix still running."""
    phases = target.phases
    prefix = check_test_prefix(dataset_prefix, phases)
    start = as_date("start_date", start_date) if start_date not in (None, "") else None
    end = as_date("end_date", end_date) if end_date not in (None, "") else None
    if start and end and start > end:
        raise ParameterError("start_date", start.isoformat(), f"must be on or before end_date {end.isoformat()}")
    check_limits(max_bytes_billed, sample_rows, None)
    # (compare_tables checks them too, but only once the replay's tables were read and their days queried)
    check_tolerance("abs_tol", abs_tol)
    check_tolerance("rel_tol", rel_tol)
    warehouse = target.warehouse
    # the reads that choose what to compare are held to max_bytes_billed as the comparisons are
    guard = CostGuard(warehouse, max_bytes_billed)
    result = ReplayComparison(name="compare_outputs", verdict="blocked", summary="-", dataset_prefix=prefix,
                              start_date=start, end_date=end)
    # Its test datasets are half-written while it calls: the dates it has not reached yet would read as rows
    # the head code drops.
    from ..replay.ledger import replay_holder   # (not at the top: runbook_lib.replay imports what imports this)

    running = replay_holder(target, prefix)
    if running:
        result.summary = f"A replay with prefix {prefix!r} is running ({running}); compare once it ends."
        result.details = {"dataset_prefix": prefix, "replay_running": running}
        return result
    # each production and test table's metadata, read once here for every step (on gcp each read is a tables.get)
    infos: dict[str, TableInfo | None] = {}
    chosen, result.not_replayed, result.missing = _tables(warehouse, phases, prefix, tables, infos)
    if not chosen:
        wanted = sorted({prefixed_dataset(t.dataset, prefix) for t in phases.all_tables()})
        result.summary = (f"No test datasets: nothing named {', '.join(wanted)} holds a replayed table; "
                          f"{RUN_REPLAY_FIRST}.")
        result.details = {"dataset_prefix": prefix, "looked_for": wanted}
        return result
    _read_tables(warehouse, infos, [ref for t in chosen for ref in (t.ref, t.test_ref(prefix))])
    kinds = _partition_kinds(infos, prefix, chosen)
    undated = [_undated(table, prefix, kinds[table.ref]) for table in chosen if kinds[table.ref] not in DATED]
    chosen = [table for table in chosen if kinds[table.ref] in DATED]
    if not chosen:
        result.diffs = undated
        return _conclude(result)
    try:
        held = _test_days(guard, prefix, chosen, kinds)
    except CostRefused as exc:
        result.summary = str(exc)
        return result
    first, last = (min(held), max(held)) if held else (None, None)
    # dates (given: start and end are None unless they were) no replayed table holds a row of
    outside = (("start_date", start) if first is not None and start and start > last else
               ("end_date", end) if first is not None and end and end < first else None)
    if outside:
        raise ParameterError(outside[0], outside[1].isoformat(), f"the test tables with prefix {prefix!r} hold rows "
                                                                 f"for {first}..{last} only; choose dates there")
    start, end = start or first, end or last
    result.start_date, result.end_date = start, end
    if start is None or end is None or start > end:
        result.summary = f"The test tables with prefix {prefix!r} hold no rows to compare; {RUN_REPLAY_FIRST}."
        return result
    _refuse_dates_not_replayed(held, prefix, start, end, start_date, end_date)
    excluded = _excluded_by_table(infos, chosen, prefix, exclude)
    # Rows with a NULL partition value (BigQuery's __NULL__ partition) belong to no date: compared when the
    # dates cover all the replay wrote, otherwise counted and said to be left out.
    whole = first is not None and start <= first and end >= last
    for table in chosen:
        test_ref = table.test_ref(prefix)
        where = _days_filter(table.partition_column, kinds[table.ref])
        if whole:
            where = f"({where}) OR {quote_identifier(table.partition_column)} IS NULL"
        else:
            result.notes += _null_partition_note(guard, infos, table, test_ref, kinds[table.ref])
        try:
            diff = compare_tables(
                warehouse, table.ref, test_ref, table.keys, exclude=excluded[table.ref], abs_tol=abs_tol, rel_tol=rel_tol,
                where=where, params={"start_date": start, "end_date": end}, partition_column=table.partition_column,
                thresholds=thresholds, max_bytes_billed=max_bytes_billed, sample_rows=sample_rows, phases=phases,
                tables_read=infos)
        except CostRefused as exc:
            diff = describe(TableDiff(name=f"compare {test_ref}", verdict="blocked", summary=str(exc),
                                      prod_table=table.ref, test_table=test_ref, keys=table.keys, compared=False))
        except ParameterError as exc:
            if exc.parameter not in ("prod_table", "keys", "partition_column"):
                raise   # the operator's own input (exclude, ...)
            diff = _not_comparable(infos, table, test_ref)
        result.diffs.append(diff)
    result.diffs += undated
    return _conclude(result)


def _excluded_by_table(infos: dict[str, TableInfo | None], chosen: list[OutputTable], prefix: str,
                       exclude: Sequence[str] | None) -> dict[str, list[str] | None]:
    """Each table's share of `exclude`: the names among its columns (either side's, whatever their case) that are
    not its keys. A name no compared table has is refused, before any comparison, and so is one that is a key of
    every table having it; None (the bookkeeping columns) stays None for each (compare_tables keeps keys too)."""
    if exclude is None:
        return {t.ref: None for t in chosen}
    names = [exclude] if isinstance(exclude, str) else exclude
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ParameterError("exclude", exclude, "give a list of column names, or None for the bookkeeping columns")
    columns = {t.ref: {name.lower() for ref in (t.ref, t.test_ref(prefix)) if infos[ref] is not None
                       for name, _ in infos[ref].columns} for t in chosen}
    keys = {t.ref: {k.lower() for k in t.keys} for t in chosen}
    for name in names:
        having = [t for t in chosen if name.lower() in columns[t.ref]]
        if not having:
            raise ParameterError("exclude", name, f"choose a column of one of the compared tables "
                                                  f"({', '.join(t.table for t in chosen)}), or None for the "
                                                  "bookkeeping columns")
        # (a key of some tables and a plain column of others leaves those others only: keys are always matched)
        if all(name.lower() in keys[t.ref] for t in having):
            raise ParameterError("exclude", name, f"it is a key of {', '.join(t.table for t in having)}, and keys "
                                                  "are always compared; exclude other columns")
    return {t.ref: [n for n in names if n.lower() in columns[t.ref] and n.lower() not in keys[t.ref]] for t in chosen}


def _tables(warehouse: Warehouse, phases: PhaseRegistry, prefix: str, tables: Sequence[str] | None,
            infos: dict[str, TableInfo | None]) -> tuple[list[OutputTable], list[str], list[str]]:
    """The tables to compare, those of phases the replay never ran (their test dataset exists, none of the phase's
    tables does) and those missing from a phase it ran (some of the phase's other test tables exist). Tables
    named in `tables` are read into `infos` to be checked."""
    known = phases.all_tables()
    if tables is None or (isinstance(tables, (list, tuple)) and not tables):
        present: dict[str, Any] = {}
        for table in known:
            dataset = prefixed_dataset(table.dataset, prefix)
            if dataset not in present:
                present[dataset] = warehouse.dataset_exists(dataset) and {
                    name.split(".")[-1] for name in warehouse.list_tables(dataset)}
        chosen, not_replayed, missing = [], [], []
        for name in phases.names():
            listed = [t for t in phases.phases[name].tables if present[prefixed_dataset(t.dataset, prefix)]]
            written = [t for t in listed if t.table in present[prefixed_dataset(t.dataset, prefix)]]
            chosen += written
            (missing if written else not_replayed).extend(t.ref for t in listed if t not in written)
        return chosen, not_replayed, missing
    if isinstance(tables, str) or not isinstance(tables, (list, tuple)):
        raise ParameterError("tables", tables, "give a list of output tables from phases.yaml, or an empty list for all")
    by_name = {t.ref: t for t in known} | {t.table: t for t in known}
    chosen = []
    for name in tables:
        if name not in by_name:
            raise ParameterError("tables", name, f"choose output tables from phases.yaml: {', '.join(t.ref for t in known)}")
        table = by_name[name]
        test_ref = table.test_ref(prefix)
        for ref in (table.ref, test_ref):
            if _read_tables(warehouse, infos, [ref])[ref] is None:
                raise ParameterError("tables", name, f"{ref} does not exist; {RUN_REPLAY_FIRST}" if ref == test_ref
                                     else f"production table {ref} does not exist")
        if table not in chosen:
            chosen.append(table)
    return chosen, [], []


def _read_tables(warehouse: Warehouse, infos: dict[str, TableInfo | None], refs: Iterable[str]) -> dict[str, TableInfo | None]:
    """`infos` with the metadata of each of `refs` not read yet (None: the table does not exist). table_info says
    itself that a table is missing: table_exists first would be a second read (a tables.get on gcp)."""
    for ref in refs:
        if ref not in infos:
            try:
                infos[ref] = warehouse.table_info(ref)
            except NotFoundError:
                infos[ref] = None
    return infos


def _not_comparable(infos: dict[str, TableInfo | None], table: OutputTable, test_ref: str) -> TableDiff:
    """A replayed table compare_tables refused: production's table is gone (blocked), or one of the
    tables lacks or retypes a key or the partition column phases.yaml names (fail when the test table
    does, blocked when production does)."""
    diff = TableDiff(name=f"compare {test_ref}", verdict="blocked", summary="-", prod_table=table.ref,
                     test_table=test_ref, keys=table.keys, compared=False)
    if infos[table.ref] is None:
        diff.summary = f"Production table {table.ref} does not exist: nothing to compare {test_ref} with."
        return describe(diff)
    # (column names whatever their case, as BigQuery's)
    prod, test = ({name.lower(): kind for name, kind in infos[ref].columns} for ref in (table.ref, test_ref))
    problems, schema = [], SchemaDiff()
    for column in dict.fromkeys([*table.keys, *([table.partition_column] if table.partition_column else [])]):
        role, name = ("key column" if column in table.keys else "partition column"), column.lower()
        if name not in prod:
            problems.append(f"production lacks {role} {column}")
        elif name not in test:
            problems.append(f"test lacks {role} {column}")
            schema.missing.append(column)
        elif base_type(prod[name]) != base_type(test[name]):
            problems.append(f"{role} {column} is {prod[name]} in production, {test[name]} in test")
            schema.type_changed.append((column, prod[name], test[name]))
    diff.schema = schema
    diff.verdict = "fail" if schema else "blocked"
    diff.summary = f"{test_ref} cannot be compared with {table.ref}: {'; '.join(problems) or 'see compare_tables'}."
    return describe(diff)


def _test_days(guard: CostGuard, prefix: str, tables: list[OutputTable], kinds: dict[str, str]) -> set[date]:
    """The partition days the test tables hold rows for (one small query per table): the first, the last and
    the holes between. Each table whole, even when dates are given: its first and last days say whether the
    dates cover all the replay wrote (NULL partition compared) and which dates to choose instead (the same
    column read as a MIN and MAX would read). Not from partition metadata: INFORMATION_SCHEMA.PARTITIONS is a
    query job on BigQuery too (billed its 10 MB minimum, as this one is at replay sizes) and needs a tables.get
    to check the partitioning column; in the sandbox that route measured about 3 times slower."""
    held: set[date] = set()
    for t in tables:
        day = day_sql(quote_identifier(t.partition_column), kinds[t.ref])
        frame = guard.query(f"SELECT DISTINCT {day} AS day FROM `{t.test_ref(prefix)}`", {},
                            f"read of the days {t.test_ref(prefix)} holds")
        held |= {as_date("day", d) for d in frame["day"] if pd.notna(d)}
    return held


SHOWN_DATES = 3   # dates a refusal lists before it counts the rest
# partition columns a replay's dates are read from; "": the column is missing (compare_tables says which side lacks it)
DATED = ("DATE", "TIMESTAMP", "DATETIME", "")


def _partition_kinds(infos: dict[str, TableInfo | None], prefix: str, tables: list[OutputTable]) -> dict[str, str]:
    """Each table's partition column's BigQuery base type (production's, or test's when production lacks the
    table or the column; "" when neither has it: compare_tables then says which lacks it)."""
    kinds = {}
    for t in tables:
        found = ""
        for info in (infos[t.ref], infos[t.test_ref(prefix)]):
            if not found and info is not None:
                types = {name.lower(): kind for name, kind in info.columns}
                found = base_type(types.get(t.partition_column.lower(), ""))
        kinds[t.ref] = found
    return kinds


def _undated(table: OutputTable, prefix: str, kind: str) -> TableDiff:
    """A table whose partition column (phases.yaml's, the date a replay writes) is no date: its dates cannot be
    chosen, so it is not compared (an INT64 range or a text column would be filtered with DATE parameters,
    which BigQuery refuses)."""
    test_ref = table.test_ref(prefix)
    return describe(TableDiff(
        name=f"compare {test_ref}", verdict="blocked", prod_table=table.ref, test_table=test_ref, keys=table.keys,
        compared=False, summary=f"{test_ref} vs {table.ref}: not compared, as its partition column "
                                f"{table.partition_column} is {kind} and runbook 04 compares a replay by the dates "
                                f"it wrote (a DATE, TIMESTAMP or DATETIME column, as phases.yaml's partition_column "
                                f"must be)."))


def _days_filter(column: str, kind: str) -> str:
    """The rows whose day is in @start_date..@end_date (DATE parameters), as a comparison of the column itself
    with constant expressions: BigQuery prunes partitions with that, and a TIMESTAMP cannot be compared with a
    DATE at all. A DATE column as it is."""
    column = quote_identifier(column)
    if kind in ("TIMESTAMP", "DATETIME"):
        return f"{column} >= {kind}(@start_date) AND {column} < {kind}(DATE_ADD(@end_date, INTERVAL 1 DAY))"
    return f"{column} BETWEEN @start_date AND @end_date"


def _null_partition_note(guard: CostGuard, infos: dict[str, TableInfo | None], table: OutputTable, test_ref: str,
                         kind: str) -> list[str]:
    """A note of the rows a date range leaves out because their partition value is NULL (one count over
    BigQuery's __NULL__ partition of each side); none when there are none, or the tables cannot be counted."""
    if not kind or infos[table.ref] is None or infos[test_ref] is None:
        return []
    column = quote_identifier(table.partition_column)
    try:
        counted = guard.query(f"SELECT (SELECT COUNT(*) FROM `{table.ref}` WHERE {column} IS NULL) AS prod, "
                              f"(SELECT COUNT(*) FROM `{test_ref}` WHERE {column} IS NULL) AS test", {},
                              f"count of {table.ref}'s rows with a NULL {table.partition_column}")
    except CostRefused as exc:
        return [f"{table.ref}: rows with a NULL {table.partition_column} were left out and not counted: {exc}"]
    except RunbookError:
        return []   # (a side lacks the column: compare_tables says so)
    prod, test = (int(counted[side].iloc[0]) for side in ("prod", "test"))
    if not prod and not test:
        return []
    return [f"{table.ref}: rows with a NULL {table.partition_column} were left out ({prod:,} in production, "
            f"{test:,} in test); compare without dates to include them"]


def _refuse_dates_not_replayed(held: set[date], prefix: str, start: date, end: date, start_date: Any,
                               end_date: Any) -> None:
    """Refuse the dates of start..end no test table holds a row for (`held`: the days they do): compared, they
    would read as every production row missing."""
    holes = [start + timedelta(days=n) for n in range((end - start).days + 1)
             if start + timedelta(days=n) not in held]
    if not holes:
        return
    shown = ", ".join(d.isoformat() for d in holes[:SHOWN_DATES])
    more = f" and {len(holes) - SHOWN_DATES} more" if len(holes) > SHOWN_DATES else ""
    parameter, value = (("start_date", start.isoformat()) if start_date not in (None, "") else
                        ("end_date", end.isoformat()) if end_date not in (None, "") else ("dataset_prefix", prefix))
    raise ParameterError(parameter, value, f"no replayed table with prefix {prefix!r} holds a row for {shown}{more} "
                                           f"(within {start}..{end}); choose dates the replay wrote, or replay those")


def _conclude(result: ReplayComparison) -> ReplayComparison:
    diffs = result.diffs
    # a table a phase the replay ran did not write is at least a warning: the replay may have failed there
    result.verdict = max([d.verdict for d in diffs] + (["warn"] if result.missing else []), key=VERDICT_ORDER.index)
    span = f" for {result.start_date}..{result.end_date}" if result.start_date else ""
    differing = [d for d in diffs if d.verdict != "pass"]
    if not differing:
        result.summary = (f"All {len(diffs)} replayed tables match production{span} "
                          f"(prefix {result.dataset_prefix!r}, within tolerance).")
    else:
        parts = [one_line(_short(d), 400) for d in differing]
        result.summary = f"{len(differing)} of {len(diffs)} replayed tables differ from production{span}: " \
                         + "; ".join(parts) + "."
    if result.missing:
        result.summary += (f" Missing from the replay (their phase wrote its other tables): "
                           f"{', '.join(result.missing)}.")
    if result.not_replayed:
        result.summary += f" Not replayed: {', '.join(result.not_replayed)}."
    if result.notes:
        result.summary += " " + "; ".join(result.notes) + "."
    result.figures = {
        "tables compared": len(diffs), "tables differing": len(differing), "tables missing": len(result.missing),
        "changed rows": sum(d.changed_rows for d in diffs),
        "rows only in production": sum(d.only_in_prod for d in diffs),
        "rows only in test": sum(d.only_in_test for d in diffs),
        "columns differing": sum(len(d.differing_columns()) for d in diffs),
        "schema differences": sum(d.schema.count() for d in diffs),
    }
    result.details = {"dataset_prefix": result.dataset_prefix, "start_date": str(result.start_date),
                      "end_date": str(result.end_date), "not_replayed": result.not_replayed,
                      "missing": result.missing, "notes": result.notes,
                      "tables": [d.to_dict() for d in diffs]}
    return result


def _short(diff: TableDiff) -> str:
    """A table's finding without repeating both table names."""
    prefix = f"{diff.test_table} vs {diff.prod_table}: "
    text = diff.summary[len(prefix):] if diff.summary.startswith(prefix) else diff.summary
    return f"{diff.prod_table}: {text.rstrip('.')}"


def _key_text(frame: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """Each row's key as one text, its parts joined by " | " (a NULL part as None)."""
    return [" | ".join(str(v) for v in parts) for parts in frame[list(keys)].itertuples(index=False)]


def _shown(value: Any) -> Any:
    """A text value as a page can show its difference from another: quoted, a space that HTML would
    fold away (leading, trailing, one of several) as ␣, other white space, controls and combining
    marks escaped ('e' + U+0301 is "e\\u0301", not an é that looks like the precomposed one)."""
    if not isinstance(value, str):
        return value
    out = []
    for i, c in enumerate(value):
        if c == " ":
            folded = i == 0 or i == len(value) - 1 or value[i - 1] == " " or value[i + 1] == " "
            out.append("\u2423" if folded else c)
        elif c.isprintable() and unicodedata.category(c)[0] not in "MZC":
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return '"' + "".join(out) + '"'


def _delta_shown(delta: float | None) -> float | str:
    """A column's largest difference to four significant digits (a float's last bits are noise on a page), or "-"
    for a column that has none: pandas would print NaN, which reads as a value gone wrong."""
    return "-" if delta is None else float(f"{delta:.4g}")


def _date_span(values: list[Any]) -> str:
    if not values:
        return "-"
    if len(values) <= 3:
        return ", ".join(str(v) for v in values)
    return f"{values[0]}..{values[-1]} ({len(values)} dates)"

