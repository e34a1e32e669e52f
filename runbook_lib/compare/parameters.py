"""compare_tables' parameters, checked against the two tables' schemas before any statement runs:
one ParameterError sentence per bad value. They also settle what the statements compare: the key and
compared columns (bookkeeping columns left out), the SchemaDiff, and the partition each row counts in."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Mapping

from ..errors import NotFoundError, ParameterError
from ..formats import check_column_names
from ..phases import PhaseRegistry
from ..protocols import TableInfo, Warehouse
from .diff import SchemaDiff
from .plan import Column, base_type


def check_tolerance(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ParameterError(name, value, "give a number of 0 or more")
    return float(value)


def check_limits(max_bytes_billed: Any, sample_rows: Any, where: Any) -> None:
    if max_bytes_billed is not None and (isinstance(max_bytes_billed, bool) or not isinstance(max_bytes_billed, int)
                                         or max_bytes_billed <= 0):
        raise ParameterError("max_bytes_billed", max_bytes_billed, "give a number of bytes above 0, or None")
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 0:
        raise ParameterError("sample_rows", sample_rows, "give a whole number of rows, 0 or more")
    if where is not None and (not isinstance(where, str) or not where.strip()):
        raise ParameterError("where", where, "give a BigQuery SQL condition, or None")


def read_table(warehouse: Warehouse, parameter: str, ref: Any,
               known: Mapping[str, TableInfo | None] | None = None) -> TableInfo:
    """The table's metadata, read once (table_info says itself that a table is missing): from `known` when the
    caller read it already (None there: it found the table missing), else from the warehouse."""
    info = None
    if isinstance(ref, str) and known is not None and ref in known:
        info = known[ref]
    elif isinstance(ref, str):
        try:
            info = warehouse.table_info(ref)
        except (ParameterError, NotFoundError):   # not shaped like dataset.table, or not there
            pass
    if info is not None:
        return info
    raise ParameterError(parameter, ref, "give an existing table as dataset.table")


def in_production_spelling(prod: TableInfo, test: TableInfo) -> TableInfo:
    """test's metadata with each column spelled as production spells it. BigQuery column names are
    case-insensitive (no table holds both `Points` and `points`), so test's `points` is production's `Points`,
    and a statement may name it so on either side (as DuckDB may)."""
    spelling = {name.lower(): name for name, _ in prod.columns}
    partition = test.partition_column
    return replace(test, columns=[(spelling.get(name.lower(), name), kind) for name, kind in test.columns],
                   partition_column=spelling.get(partition.lower(), partition) if partition else partition)


def spelled(given: Any, prod: TableInfo, test: TableInfo) -> Any:
    """Column names given as parameters, spelled as the tables spell them (production's spelling first); any
    other value as given, for its check to refuse."""
    spelling = {name.lower(): name for name, _ in [*test.columns, *prod.columns]}   # (production's last: it wins)
    if isinstance(given, str):
        return spelling.get(given.lower(), given)
    if isinstance(given, (list, tuple)):
        return type(given)(spelling.get(g.lower(), g) if isinstance(g, str) else g for g in given)
    return given


def check_keys(keys: Any, prod: TableInfo, test: TableInfo) -> tuple[str, ...]:
    keys = [keys] if isinstance(keys, str) else keys
    if not isinstance(keys, (list, tuple)) or not keys:
        raise ParameterError("keys", keys, "give the key column names as a list")
    check_column_names(keys, "keys")   # (names BigQuery allows: flexible column names)
    if len(set(keys)) != len(keys):
        raise ParameterError("keys", list(keys), "name each key column once")
    prod_types, test_types = dict(prod.columns), dict(test.columns)
    for key in keys:
        for info, types in ((prod, prod_types), (test, test_types)):
            if key not in types:
                raise ParameterError("keys", key, f"choose columns of {info.ref}: {', '.join(types)}")
        if base_type(prod_types[key]) != base_type(test_types[key]):
            raise ParameterError("keys", key, f"a key must have one type, not {prod_types[key]} in {prod.ref} "
                                              f"and {test_types[key]} in {test.ref}")
        if base_type(prod_types[key]) in UNORDERABLE:
            raise ParameterError("keys", key, f"rows are sorted by their keys, and BigQuery sorts by no "
                                              f"{base_type(prod_types[key])} column: choose key columns of "
                                              f"another type")
    return tuple(keys)


# BigQuery's data types doc: ORDER BY takes every type but ARRAY, STRUCT, GEOGRAPHY and JSON
UNORDERABLE = frozenset({"ARRAY", "STRUCT", "GEOGRAPHY", "JSON"})


def choose_columns(columns: Any, exclude: Any, keys: tuple[str, ...], prod: TableInfo, test: TableInfo,
             phases: PhaseRegistry) -> tuple[list[Column], list[str], SchemaDiff]:
    prod_types, test_types = dict(prod.columns), dict(test.columns)
    every = list(prod_types) + [c for c in test_types if c not in prod_types]
    if exclude is None:
        bookkeeping = {c.lower() for c in phases.bookkeeping_columns}
        excluded = [c for c in every if c.lower() in bookkeeping and c not in keys]
    else:
        excluded = [exclude] if isinstance(exclude, str) else list(exclude) if isinstance(exclude, (list, tuple)) else None
        if excluded is None:
            raise ParameterError("exclude", exclude, "give a list of column names, or None for the bookkeeping columns")
        for name in excluded:
            if name in keys:
                raise ParameterError("exclude", name, f"it is a key of {prod.ref}, and keys are always compared; "
                                                      "exclude other columns")
            if name not in prod_types and name not in test_types:
                raise ParameterError("exclude", name, f"choose columns of the tables: {', '.join(every)}")
    if columns is None:
        wanted = [c for c in every if c not in keys and c not in excluded]
    else:
        wanted = [columns] if isinstance(columns, str) else list(columns) if isinstance(columns, (list, tuple)) else []
        if not wanted:
            raise ParameterError("columns", columns, "give a non-empty list of column names, or None for all")
        check_column_names(wanted, "columns")
        for name in wanted:
            if name not in prod_types and name not in test_types:
                raise ParameterError("columns", name, f"choose columns of the tables: {', '.join(every)}")
            if name in keys or name in excluded:
                raise ParameterError("columns", name, "it is a key or excluded; keys are matched, not compared")
    schema = SchemaDiff(missing=[c for c in wanted if c not in test_types],
                        extra=[c for c in wanted if c not in prod_types],
                        type_changed=[(c, prod_types[c], test_types[c]) for c in wanted
                                      if c in prod_types and c in test_types and prod_types[c] != test_types[c]])
    compared = [Column(c, prod_types[c], test_types[c]) for c in wanted if c in prod_types and c in test_types]
    return compared, excluded, schema


def choose_partition(partition_column: str | None, prod: TableInfo, test: TableInfo) -> str | None:
    names_p, names_t = dict(prod.columns), dict(test.columns)
    if partition_column is None:
        partition_column = prod.partition_column
        return partition_column if partition_column in names_p and partition_column in names_t else None
    if not isinstance(partition_column, str) or partition_column not in names_p or partition_column not in names_t:
        raise ParameterError("partition_column", partition_column, "choose a column both tables have, or None")
    return partition_column


def day_sql(value: str, kind: str) -> str:
    """The day a partition column's value falls in, as BigQuery partitions by it: DATE(value) for a TIMESTAMP
    (its UTC day) or DATETIME, the value itself otherwise. `value` is SQL: a quoted column, or a template's {0};
    `kind` its BigQuery base type (plan.base_type)."""
    return f"DATE({value})" if kind in ("TIMESTAMP", "DATETIME") else value


def partition_sql(column: str | None, prod: TableInfo, test: TableInfo) -> tuple[str, str | None, str]:
    """Which partition a value of `column` falls in, as SQL over the value ({0}) for production and for test
    (None: production's), and the partitions' type. Each side's by its own type of the column (test may have
    retyped it: a TIMESTAMP's day against a DATE), in production's partitioning; a column whose partitions would
    be of two types (a DATE's days and a STRING's values) cannot be counted side by side and is refused."""
    if column is None:
        return "{0}", None, ""
    prod_of, prod_type = _partition_of(column, dict(prod.columns)[column], prod)
    test_of, test_type = _partition_of(column, dict(test.columns)[column], prod)
    if base_type(prod_type) != base_type(test_type):
        types = dict(prod.columns)[column], dict(test.columns)[column]
        raise ParameterError("partition_column", column, f"it is {types[0]} in {prod.ref} and {types[1]} in "
                                                         f"{test.ref}, whose partitions cannot be matched; choose "
                                                         "another column, or None")
    return prod_of, (test_of if test_of != prod_of else None), prod_type


def _partition_of(column: str, column_type: str, prod: TableInfo) -> tuple[str, str]:
    """The partition of a `column_type` value of `column` as SQL over the value ({0}), and its type: as BigQuery
    partitions production's table, a TIMESTAMP or DATETIME column by day (or by the hour the table says), an
    integer-range partitioned column by its ranges (values outside them in the NULL partition); any other column by
    its value. A table partitioned by MONTH or YEAR is counted by the column's day all the same: its partition's
    first day (2025-02-01 for 202502) would read as the date a row differs on, one that may not differ or even lie
    outside the compared dates, and the day costs nothing more (the same column read, a filter on its days prunes
    the same partitions)."""
    kind = base_type(column_type)
    unit = (prod.partition_type or "DAY") if column == prod.partition_column else "DAY"
    if kind in ("TIMESTAMP", "DATETIME") and unit == "HOUR":
        return f"{kind}_TRUNC({{0}}, HOUR)", kind
    if kind in ("TIMESTAMP", "DATETIME", "DATE"):
        return day_sql("{0}", kind), "DATE"
    if kind == "INT64" and unit == "RANGE" and prod.partition_range:
        start, end, interval = (int(v) for v in prod.partition_range)
        return (f"IF({{0}} >= {start} AND {{0}} < {end}, {start} + DIV({{0}} - {start}, {interval}) * {interval}, "
                "NULL)"), "INT64"
    return "{0}", column_type
