"""Statement translation: split a BigQuery script, translate each statement, say what it does.

translate() returns one Statement per statement: its DuckDB SQL and what it does to the catalog
(creates a table partitioned by a column, drops a dataset, merges into a table, ...), so the
warehouse can keep `_runbook_meta` in step and explain errors in BigQuery's terms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from collections.abc import Iterable
from typing import Any, Callable, Protocol

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from . import information_schema
from .column_sources import correlated_paths_as_unnests
from .datetimes import zones_of_values
from .format_casts import restore_format_casts
from .sqltree import one_statement_each
from .errors import UnsupportedSQL
from .numeric_types import Schema, mark_decimal_results, table_schema, tables_to_type, worth_typing
from . import (alterations, concatenation, differences, float_overflows, foreign_functions, nan_comparisons, refusals,
               routines, set_literals, sort_keys, struct_equality, struct_positions, struct_unnests, subscripts)
from .rewrites import BIGQUERY_TYPEOF, apply


@dataclass(frozen=True)
class Statement:
    """One translated statement and what it does to the warehouse's catalog."""

    sql: str
    kind: str  # query | create_table | create_view | create_schema | drop_table | drop_schema | merge | dml |
    #            alter | rename_table | transaction | other
    dataset: str | None = None  # the dataset a DDL/DML statement changes (and `table` the table)
    table: str | None = None
    replace: bool = False
    if_not_exists: bool = False
    partition_column: str | None = None
    partition_range: tuple[int, int, int] | None = None  # RANGE_BUCKET's (start, end, interval)
    partition_unit: str | None = None  # HOUR, MONTH or YEAR of a time-unit column (None: DAY)
    partition_takes: str | None = None  # the column type of PARTITION BY's *_TRUNC function, to check
    clustering: tuple[str, ...] = ()  # CLUSTER BY columns
    copy_from: tuple[str, str] | None = None  # CREATE TABLE ... LIKE / COPY / CLONE source
    options: tuple[tuple[str, str], ...] = ()  # OPTIONS(name=value), value as DuckDB SQL
    merge_check: str | None = None  # SQL that finds a target row a MERGE or an UPDATE ... FROM matched 2+ rows of
    tables: tuple[tuple[str, str], ...] = ()  # every dataset.table the statement names
    datasets: tuple[str, ...] = ()  # datasets named by dataset-scoped INFORMATION_SCHEMA views
    params: tuple[str, ...] = ()  # @names used
    drops: tuple[tuple[str, str], ...] = ()  # DROP TABLE/VIEW targets
    renamed_to: str | None = None  # ALTER TABLE ... RENAME TO
    writes_rows: bool = False  # INSERT, UPDATE, DELETE or MERGE: rows it writes can be RETURNed (not TRUNCATE)
    unqualified: tuple[str, ...] = ()  # tables named without a dataset, neither a CTE nor the script's TEMP table
    temp: bool = False  # CREATE TEMP TABLE / FUNCTION: BigQuery drops it when the script ends

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name.lower())


# ---------------------------------------------------------------------------------------------
# What each kind of statement does (fields of Statement), by sqlglot statement class

def _ref(table: exp.Table) -> tuple[str, str] | None:
    return (table.db, table.name) if table.db and table.name else None


# Partitioned tables doc, ingestion time (https://cloud.google.com/bigquery/docs/partitioned-tables#ingestion_time):
# BigQuery assigns rows to partitions by the time it ingests them and serves that time as the _PARTITIONTIME and
# _PARTITIONDATE pseudocolumns, which SELECT * and the schema never show. The sandbox has no such hidden column,
# so it refuses the table rather than make an unpartitioned one that says nothing.
_INGESTION_TIME = ("_PARTITIONDATE", "_PARTITIONTIME")
_NO_INGESTION_TIME = ("The local warehouse cannot make a table partitioned by ingestion time (PARTITION BY {what}): "
                      "it has no _PARTITIONTIME or _PARTITIONDATE pseudocolumns; partition by a DATE or TIMESTAMP "
                      "column, or use target=gcp.")


def _partition_column(prop: exp.Expression) -> str | None:
    target = prop.this
    if isinstance(target, exp.Identifier):
        name = target.name
    else:
        col = target if isinstance(target, exp.Column) else target.find(exp.Column)
        if col is None:
            return None
        name = col.name
    if name.upper() in _INGESTION_TIME:
        raise UnsupportedSQL(_NO_INGESTION_TIME.format(what=target.sql("bigquery")))
    return name


_TRUNCS = {exp.TimestampTrunc: "TIMESTAMP", exp.DatetimeTrunc: "DATETIME", exp.DateTrunc: "DATE"}
_UNITS = {"DATE": ("MONTH", "YEAR"), "DATETIME": ("HOUR", "DAY", "MONTH", "YEAR"),
          "TIMESTAMP": ("HOUR", "DAY", "MONTH", "YEAR")}
# BigQuery's own words for a PARTITION BY it does not take
PARTITION_BY_RULE = ("PARTITION BY expression must be DATE(<timestamp_column>), DATE(<datetime_column>), "
                     "DATETIME_TRUNC(<datetime_column>, DAY/HOUR/MONTH/YEAR), a DATE column, "
                     "TIMESTAMP_TRUNC(<timestamp_column>, DAY/HOUR/MONTH/YEAR), DATE_TRUNC(<date_column>, "
                     "MONTH/YEAR), or RANGE_BUCKET(<int64_column>, GENERATE_ARRAY(<int64_value>, <int64_value>[, "
                     "<int64_value>]))")


def _partition_unit(prop: exp.Expression) -> tuple[str, str] | None:
    """PARTITION BY TIMESTAMP_TRUNC(ts, HOUR) / DATETIME_TRUNC(dt, MONTH) / DATE_TRUNC(d, YEAR): (the column
    type the function takes, its unit); None for a partition by day (a DATE column, DATE(ts)) or range."""
    trunc = prop.this
    kind = _TRUNCS.get(type(trunc))
    if kind is None:
        return None
    unit = trunc.args.get("unit")
    return kind, (unit.name if unit is not None else "").upper()


def partition_by_taken(takes: str | None, unit: str | None, column_type: str) -> bool:
    """Whether BigQuery takes a PARTITION BY of a *_TRUNC function taking `takes` at `unit` (None: DAY)
    over a column of `column_type`."""
    return takes is None or (takes == column_type and (unit or "DAY") in _UNITS[takes])


def _partition_range(prop: exp.Expression) -> tuple[int, int, int] | None:
    """PARTITION BY RANGE_BUCKET(column, GENERATE_ARRAY(start, end, interval)): (start, end, interval)."""
    bucket = prop.this
    series = bucket.expression if isinstance(bucket, exp.RangeBucket) else None
    if not isinstance(series, exp.GenerateSeries):
        return None
    bounds = [series.args.get(k) for k in ("start", "end", "step")]
    if bounds[2] is None:
        bounds[2] = exp.Literal.number(1)
    try:
        start, end, interval = (int(b.to_py()) for b in bounds)
    except (AttributeError, TypeError, ValueError):
        raise UnsupportedSQL("The local warehouse takes RANGE_BUCKET partitioning with whole-number constants: "
                             f"{prop.this.sql('bigquery')}.") from None
    if interval <= 0 or end <= start:
        raise UnsupportedSQL(f"RANGE_BUCKET partitioning needs start < end and an interval above 0, not "
                             f"{start}, {end}, {interval}.")
    return start, end, interval


def _take_options(props: exp.Properties | None) -> tuple[list[tuple[str, str]], str | None,
                                                        tuple[int, int, int] | None, tuple[str, str] | None,
                                                        tuple[str, ...]]:
    """OPTIONS(...) values (a dataset's location among them), the partition column (and an integer
    one's range, or a time column's truncation) and the clustering columns, removed from the DDL
    (DuckDB has none of them)."""
    options: list[tuple[str, str]] = []
    partition: str | None = None
    partition_range: tuple[int, int, int] | None = None
    truncation: tuple[str, str] | None = None
    clustering: tuple[str, ...] = ()
    keep = []
    for p in list(props.expressions) if props is not None else []:
        if isinstance(p, exp.PartitionedByProperty):
            partition = _partition_column(p)
            partition_range = _partition_range(p)
            truncation = _partition_unit(p)
        elif type(p) is exp.Property:
            options.append((p.name.lower(), apply(p.args["value"]).sql("duckdb")))
        elif isinstance(p, exp.LocationProperty):
            options.append(("location", p.this.sql("duckdb")))
        elif isinstance(p, exp.ClusterProperty):
            clustering = tuple(c.name for c in p.expressions)
        else:
            keep.append(p)
    if props is not None:
        props.set("expressions", keep)
    return options, partition, partition_range, truncation, clustering


def _describe_create(tree: exp.Create) -> dict[str, Any]:
    if tree.kind not in ("TABLE", "VIEW", "SCHEMA", "FUNCTION"):
        raise UnsupportedSQL(f"The local warehouse does not support CREATE {tree.kind}; only BigQuery runs it.")
    if tree.find(exp.MaterializedProperty) is not None:
        raise UnsupportedSQL("The local warehouse does not support CREATE MATERIALIZED VIEW; only BigQuery runs it "
                             "(a CREATE VIEW of the same query reads the same rows here).")
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    out: dict[str, Any] = {}
    if tree.kind == "SCHEMA":
        out.update(kind="create_schema", dataset=target.db or target.name)
    elif tree.kind in ("TABLE", "VIEW") and isinstance(target, exp.Table):
        out.update(kind="create_table" if tree.kind == "TABLE" else "create_view",
                   dataset=target.db or None, table=target.name)
    options, partition, partition_range, truncation, clustering = _take_options(tree.args.get("properties"))
    out.update(options=tuple(options), partition_column=partition, partition_range=partition_range,
               partition_takes=truncation and truncation[0], clustering=clustering,
               partition_unit=truncation and truncation[1])   # (DAY is stored as None by meta)
    for like in tree.find_all(exp.LikeProperty):
        out["copy_from"] = _ref(like.this)
    clone = tree.args.get("clone")
    if clone is not None:
        # CREATE TABLE x COPY y / CLONE y: a full copy (DuckDB has neither keyword).
        out["copy_from"] = _ref(clone.this)
        tree.set("clone", None)
        tree.set("expression", exp.select("*").from_(clone.this.copy()))
    return out


def _describe_drop(tree: exp.Drop) -> dict[str, Any]:
    targets = [t for t in ([tree.this] if tree.this else []) + list(tree.args.get("tables") or [])
               if isinstance(t, exp.Table)]
    if tree.kind == "SCHEMA" and targets:
        return {"kind": "drop_schema", "dataset": targets[0].db or targets[0].name}
    if tree.kind in ("TABLE", "VIEW") and targets:
        return {"kind": "drop_table", "drops": tuple((t.db, t.name) for t in targets if t.db)}
    return {}


def _describe_alter(tree: exp.Alter) -> dict[str, Any]:
    if not isinstance(tree.this, exp.Table):
        return {}
    out: dict[str, Any] = {"kind": "alter", "dataset": tree.this.db or None, "table": tree.this.name}
    options = alterations.table_options(tree)
    if options is not None:
        return {**out, "kind": "alter_options", "options": alterations.options(
            options, alterations.TABLE_OPTIONS, "a table", lambda value: apply(value).sql("duckdb"))}
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.AlterRename):
            out.update(kind="rename_table", renamed_to=action.this.name)
    return out


def _describe_merge(tree: exp.Merge) -> dict[str, Any]:
    whens = tree.args.get("whens")
    for w in whens.expressions if whens is not None else []:
        then = w.args.get("then")
        if isinstance(then, exp.Insert) and isinstance(then.this, exp.Var) and then.this.name.upper() == "ROW":
            # BigQuery INSERT ROW inserts every source column, by position.
            w.set("then", exp.Var(this="INSERT BY POSITION"))
    return {"kind": "merge", "dataset": tree.this.db or None, "table": tree.this.name, "writes_rows": True}


def _describe_dml(tree: exp.Expression) -> dict[str, Any]:
    """INSERT / UPDATE / DELETE / TRUNCATE: the table it changes is the first one it names."""
    if isinstance(tree, exp.Insert):
        struct_positions.insert_by_position(tree)
    target = next(tree.find_all(exp.Table), None)
    return {"kind": "dml", "dataset": (target.db or None) if target else None, "table": target.name if target else None,
            "writes_rows": not isinstance(tree, exp.TruncateTable)}


_DESCRIBE: dict[type[exp.Expression], Callable[[Any], dict[str, Any]]] = {
    exp.Create: _describe_create,
    exp.Drop: _describe_drop,
    exp.Alter: _describe_alter,
    exp.Merge: _describe_merge,
    exp.Insert: lambda tree: _describe_dml(tree),
    exp.Update: lambda tree: _describe_dml(tree),
    exp.Delete: lambda tree: _describe_dml(tree),
    exp.TruncateTable: lambda tree: _describe_dml(tree),
}


def _merge_check(merge: exp.Merge) -> str | None:
    """SQL finding a target row that two source rows match, when the MERGE updates or deletes matches."""
    whens = merge.args.get("whens")
    clauses = whens.expressions if whens is not None else []
    touches_matched = any(
        w.args.get("matched") and not w.args.get("source") and (
            isinstance(w.args.get("then"), exp.Update) or
            (isinstance(w.args.get("then"), exp.Var) and w.args["then"].name.upper() == "DELETE"))
        for w in clauses
    )
    if not touches_matched:
        return None
    target = merge.this
    alias = target.alias or target.name
    using = merge.args["using"]
    return (
        f"SELECT 1 FROM {target.sql('duckdb')} JOIN {using.sql('duckdb')} ON {merge.args['on'].sql('duckdb')} "
        f"GROUP BY {exp.to_identifier(alias).sql('duckdb')}.rowid HAVING COUNT(*) > 1 LIMIT 1"
    )


def _update_check(update: exp.Update) -> str | None:
    """SQL finding a target row that two rows of an UPDATE's FROM match: BigQuery fails that UPDATE (DML doc, UPDATE
    with joins: "UPDATE/MERGE must match at most one source row for each target row"), where DuckDB wrote one."""
    source = update.args.get("from_") or update.args.get("from")
    if source is None:
        return None
    target = update.this
    alias = target.alias or target.name
    where = update.args.get("where")
    return (f"SELECT 1 FROM {target.sql('duckdb')}, {source.this.sql('duckdb')} {where.sql('duckdb') if where else ''} "
            f"GROUP BY {exp.to_identifier(alias).sql('duckdb')}.rowid HAVING COUNT(*) > 1 LIMIT 1")


# ---------------------------------------------------------------------------------------------
# One statement

def _strip_project(tree: exp.Expression, catalog: str | None) -> None:
    """Drop the project part of table names; with `catalog`, name the DuckDB database instead.

    A fully qualified name cannot be ambiguous: DuckDB reads `x.t` as catalog x or schema x, so a
    dataset that shares its name with the database file (or is called temp or system) needs it.
    """
    tables = list(tree.find_all(exp.Table))
    aliases = {t.alias_or_name for t in tables if t.name}
    for t in tables:
        if information_schema.is_information_schema(t):
            continue
        t.set("catalog", None)
        # `FROM ds.t AS t, t.arr` names an array column of the alias t, not a dataset.
        if catalog and t.db and t.db not in aliases:
            t.set("catalog", exp.to_identifier(catalog, quoted=True))


_GENERATED_NAME = re.compile(r"f\d+_", re.IGNORECASE)


def _name_anonymous_columns(query: exp.Query) -> None:
    """A result column BigQuery gives no name, an expression without an alias, is called `f0_`, `f1_`, ... in the
    order of such columns (`SELECT name, COUNT(*)` gives `name` and `f0_`); DuckDB would call it by its own
    SQL (`count_star()`). The names of the query's first SELECT, which names a set operation's columns. Left as it
    is where the query already uses such a name, which the alias would shadow."""
    first: exp.Expression = query
    while isinstance(first, (exp.SetOperation, exp.Subquery)):
        first = first.this
    if not isinstance(first, exp.Select):
        return
    named = [isinstance(item, (exp.Alias, exp.Column, exp.Dot, exp.Star)) or bool(item.alias)
             for item in first.expressions]
    if all(named) or any(_GENERATED_NAME.fullmatch(i.name) for i in query.find_all(exp.Identifier)):
        return
    numbers = iter(range(len(named)))
    first.set("expressions", [item if is_named else exp.alias_(item, f"f{next(numbers)}_", copy=False)
                              for item, is_named in zip(list(first.expressions), named)])


class SchemaMarker(Protocol):
    """A correction that needs the tables' column types besides NUMERIC's (numeric_types): a module of these three
    functions, which marks the BigQuery tree before any rewrite for rewrites.py to read. A schema of None marks what
    the SQL alone shows (a CTE's array)."""

    def tables_to_read(self, trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]]:
        """The (dataset, table) pairs whose column types could matter to it (none: it cannot concern the trees)."""

    def markable(self, trees: Iterable[exp.Expression], schema) -> bool:
        """Whether, with those types, it marks something."""

    def mark(self, tree: exp.Expression, schema) -> None:
        """Mark `tree` in place."""


_SCHEMA_MARKERS: tuple[SchemaMarker, ...] = (
    sort_keys, struct_unnests, subscripts, differences, struct_equality, nan_comparisons, concatenation, set_literals,
    float_overflows)   # (float_overflows last: it copies what the others marked)

_BENIGN_WARNINGS = ("EXTRACT from TIMESTAMPTZ",)  # the session time zone is UTC, as in BigQuery


def _duckdb_sql(tree: exp.Expression) -> str:
    """DuckDB SQL for `tree`, which is this translation's own copy: generated in place (sqlglot's default copies
    the tree first, a third of generating a wide query), and refused for anything DuckDB's generator cannot say."""
    generator = Dialect.get_or_raise("duckdb").generator(unsupported_level=ErrorLevel.IGNORE)
    try:
        sql = generator.generate(tree, copy=False)
    except UnsupportedSQL:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:   # sqlglot's own slip on a rare shape
        raise UnsupportedSQL(f"The local warehouse cannot translate this BigQuery SQL to DuckDB (sqlglot's "
                             f"generator failed on it: {type(exc).__name__}); target=gcp runs it.") from None
    problems = [m for m in generator.unsupported_messages if not any(b in m for b in _BENIGN_WARNINGS)]
    if problems:
        raise UnsupportedSQL(f"The local warehouse cannot translate this BigQuery SQL to DuckDB: {problems[0]}.")
    return sql


def _temp_tables(trees: tuple[exp.Expression, ...]) -> frozenset[str]:
    """The (lower-case) names of the TEMP tables a script creates: BigQuery names them without a dataset."""
    return frozenset(
        target.name.lower() for tree in trees
        if isinstance(tree, exp.Create) and tree.kind == "TABLE" and tree.find(exp.TemporaryProperty)
        and isinstance(target := tree.this.this if isinstance(tree.this, exp.Schema) else tree.this, exp.Table))


def _unqualified_tables(tree: exp.Expression, temp_tables: frozenset[str]) -> tuple[str, ...]:
    """Tables named without a dataset that are neither a CTE (any of the statement's: a superset of those in
    scope) nor one of the script's TEMP tables. BigQuery refuses them without a default dataset, which the sandbox
    has none of; DuckDB would look them up in its own catalog (`duckdb_tables`, `pg_constraint`) and answer.
    A correlated path (`FROM t, t.arr`) names its alias as `db`, an UNNEST is no table, `RENAME TO` takes a
    bare name, and a function's name (CREATE TEMP FUNCTION f, DROP FUNCTION f) is parsed as a table's."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return tuple(dict.fromkeys(
        t.name for t in tree.find_all(exp.Table)
        if not t.db and isinstance(t.this, exp.Identifier) and not information_schema.is_information_schema(t)
        and not isinstance(t.parent, (exp.AlterRename, exp.UserDefinedFunction))
        and not (isinstance(t.parent, exp.Drop) and t.parent.kind not in ("TABLE", "VIEW"))
        and t.name.lower() not in ctes and t.name.lower() not in temp_tables))


def _translate_one(tree: exp.Expression, project: str, catalog: str | None, schema: Schema | None,
                   temp_tables: frozenset[str] = frozenset()) -> Statement:
    if isinstance(tree, (exp.Transaction, exp.Commit)) or refusals.is_bare_begin(tree):
        # BEGIN/COMMIT TRANSACTION: the warehouse already runs a batch in one transaction.
        return Statement(sql="", kind="transaction")
    if isinstance(tree, exp.Command):
        fields = alterations.command_fields(tree, lambda value: apply(value).sql("duckdb"))
        if fields is not None:
            return _alteration_without_duckdb_sql(fields, catalog)
    if isinstance(tree, (exp.Command, exp.Declare, exp.Set, exp.Export, exp.Rollback)) \
            or not isinstance(tree, (exp.Query, exp.DDL, exp.DML, exp.Merge, exp.Drop, exp.Alter, exp.TruncateTable)):
        raise refusals.unsupported(tree)
    describe = next((fn for cls, fn in _DESCRIBE.items() if isinstance(tree, cls)), None)
    correlated_paths_as_unnests(tree)
    refusals.answer_system_variables(tree, project)
    routines.unqualify_calls(tree, project)
    zones_of_values(tree)
    for typeof in tree.find_all(exp.Typeof):   # the SQL's own TYPEOF (rewrites.py; a rewrite's is DuckDB's)
        typeof.meta[BIGQUERY_TYPEOF] = True
    struct_positions.compare_field_by_field(tree)
    struct_positions.compare_by_position(tree)
    if isinstance(tree, exp.Create):
        routines.prepare(tree)
    if isinstance(tree, (exp.Create, exp.Alter)):
        alterations.drop_unenforced_constraints(tree)
    unqualified = _unqualified_tables(tree, temp_tables)   # the tables the operator named, not a rewrite's
    if schema is not None:   # before any rewrite: the tree is still BigQuery's
        mark_decimal_results(tree, schema)
    for marker in _SCHEMA_MARKERS:
        marker.mark(tree, schema)
    if isinstance(tree, exp.Query):
        _name_anonymous_columns(tree)
    _strip_project(tree, catalog)
    fields: dict[str, Any] = {"kind": "query" if isinstance(tree, exp.Query) else "other"}
    fields.update(describe(tree) if describe else {})
    fields.update(
        replace=bool(tree.args.get("replace")),
        if_not_exists=bool(tree.args.get("exists")),
        params=tuple(sorted({p.name for p in tree.find_all(exp.Parameter)})),
        tables=tuple(dict.fromkeys(
            r for t in tree.find_all(exp.Table) if not information_schema.is_information_schema(t)
            and (r := _ref(t)))),
        unqualified=unqualified,
        temp=isinstance(tree, exp.Create) and tree.find(exp.TemporaryProperty) is not None,
    )
    tree = apply(tree)
    # After the rewrites, so the views' own DuckDB SQL is not "corrected" as if it were BigQuery's.
    info_datasets: list[str] = []
    for t in list(tree.find_all(exp.Table)):
        view = information_schema.view_for(t, project, info_datasets)
        if view is not None:
            t.replace(view)
    if isinstance(tree, exp.Merge):
        fields["merge_check"] = _merge_check(tree)
    elif isinstance(tree, exp.Update):
        fields["merge_check"] = _update_check(tree)
    if fields["kind"] == "alter_options" or isinstance(tree, exp.Alter) and not tree.args.get("actions"):
        return _alteration_without_duckdb_sql(fields, catalog)   # (options kept in _runbook_meta; constraints dropped)
    return Statement(sql=_duckdb_sql(tree), datasets=tuple(dict.fromkeys(info_datasets)), **fields)


def _alteration_without_duckdb_sql(fields: dict[str, Any], catalog: str | None) -> Statement:
    """An ALTER that changes nothing DuckDB keeps: its SQL only reads the table (none of its rows), so that a missing
    table fails as BigQuery's ALTER does, unless IF EXISTS; a dataset's is checked by the warehouse (`datasets`)."""
    if fields["kind"] == "alter_dataset_options":
        return Statement(sql="", datasets=() if fields.get("if_not_exists") else (fields["dataset"],), **fields)
    if fields.get("if_not_exists") or not fields.get("dataset"):
        return Statement(sql="", **{**fields, "tables": ()})
    probe = exp.select(exp.Null()).from_(exp.table_(fields["table"], db=fields["dataset"])).limit(0)
    _strip_project(probe, catalog)
    return Statement(sql=_duckdb_sql(probe), **{"tables": ((fields["dataset"], fields["table"]),), **fields})


# ---------------------------------------------------------------------------------------------
# Scripts

def _parse(sql: str) -> list[exp.Expression]:
    try:
        trees = sqlglot.parse(routines.readable(sql), read="bigquery", error_level=ErrorLevel.RAISE)
    except ParseError as exc:
        procedural = refusals.procedural_statement(sql)
        if procedural is not None:
            raise refusals.unsupported(procedural) from None
        errors = getattr(exc, "errors", None) or [{}]
        first = errors[0]
        near = first.get("highlight") or ""
        line, column = first.get("line"), first.get("col")
        where = f" near {near!r} (line {line}, column {column})" if near else ""
        description = first.get("description") or str(exc).splitlines()[0]
        description = re.sub(r"<Token token_type: [^,]+, text: ([^,]*), line: .*?>", r"'\1'", description)
        raise UnsupportedSQL(
            f"The local warehouse could not read this BigQuery SQL{where}: {description.rstrip('.')}."
        ) from None
    except TokenError as exc:   # sqlglot's tokenizer: a string, quoted name or comment left open, mostly
        near = re.sub(r"^Error tokenizing ", "", str(exc).splitlines()[0])[:60]
        raise UnsupportedSQL(f"The local warehouse could not read this BigQuery SQL near {near}: a string, bytes "
                             "literal, quoted name or comment is not closed, or a character is not SQL.") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:   # sqlglot's own slip on a rare shape
        raise UnsupportedSQL(f"The local warehouse could not read this BigQuery SQL (sqlglot's parser failed on it: "
                             f"{type(exc).__name__}); target=gcp runs it.") from None
    # A comment after the last `;` parses as an exp.Semicolon holding only that comment: no statement to run
    return [t for tree in trees if tree is not None and not isinstance(tree, exp.Semicolon)
            for t in one_statement_each(tree, "tables" if isinstance(tree, exp.Drop) else "actions")]


@lru_cache(maxsize=64)
def parsed(sql: str) -> tuple[exp.Expression, ...]:
    """The statements of BigQuery `sql` as sqlglot trees, parsed once for its translation and its dry
    run's estimate (a 20 KB statement takes ~70 ms): callers only read them, or change a copy."""
    trees = _parse(sql)
    restore_format_casts(sql, trees)   # (sqlglot's parser turned them into StrToTime, losing the type and format)
    return tuple(trees)


@lru_cache(maxsize=512)
def translate(sql: str, project: str = "sandbox", catalog: str | None = None,
              schema: Schema | None = None) -> tuple[Statement, ...]:
    """Translate BigQuery SQL (one or more statements) into DuckDB statements.

    `project` is what INFORMATION_SCHEMA reports as the catalog; `catalog`, when given, is the DuckDB
    database name to qualify every dataset.table with. `schema`, the BigQuery column types of the tables
    the SQL reads (numeric_types.table_schema), lets NUMERIC and BIGNUMERIC results be typed and rounded as
    BigQuery's (numerics.py); without it, or where no decimal can take part, the translation is the same as
    if none were given. Raises UnsupportedSQL, in one sentence, for what the local warehouse cannot run.
    """
    trees = parsed(sql)
    foreign_functions.refuse_foreign_calls(sql)
    refusals.check_json_objects(sql, trees)
    refusals.refuse_net_functions(trees)
    refusals.refuse_null_arguments(trees)
    temp_tables = _temp_tables(trees)
    if schema is None:
        statements = [_translate_one(t.copy(), project, catalog, None, temp_tables)   # (rewritten in place)
                      for t in trees]
    else:   # a statement in which no decimal can take part is the same as without the schema: not translated again
        plain = translate(sql, project, catalog)
        statements = [_translate_one(t.copy(), project, catalog, schema, temp_tables)
                      if worth_typing([t], schema) or any(m.markable([t], schema) for m in _SCHEMA_MARKERS) else same
                      for t, same in zip(trees, plain)]
    if not statements:
        raise UnsupportedSQL("The SQL given to the local warehouse contains no statement.")
    return tuple(statements)


@lru_cache(maxsize=512)
def typing_tables(sql: str) -> frozenset[tuple[str, str]] | None:
    """The (dataset, table) pairs whose column types retyped() reads for `sql`; None when it needs none."""
    trees = parsed(sql)
    decimals = tables_to_type(trees)
    other = frozenset().union(*(marker.tables_to_read(trees) for marker in _SCHEMA_MARKERS))
    if decimals is None:   # (an empty set is a query of literals to type: not None)
        return other or None
    return decimals | other


def retyped(con, sql: str, statements: tuple[Statement, ...], project: str, catalog: str) -> tuple[Statement, ...]:
    """`statements`, translate(sql, project, catalog), translated again knowing the BigQuery types of the tables
    their queries read (from `con`, the DuckDB connection with `catalog` attached), so that NUMERIC and BIGNUMERIC
    results are BigQuery's (numerics.py) and the other type-dependent corrections apply (`_SCHEMA_MARKERS`). The same
    statements where nothing in them can be corrected, known without reading the catalog (half a millisecond a
    table)."""
    tables = typing_tables(sql)
    if tables is None:
        return statements
    return translate(sql, project, catalog, table_schema(con, tables, catalog))


def to_duckdb(sql: str, many: bool = False, project: str = "sandbox"):
    """DuckDB SQL for BigQuery `sql`: one string, or a list of strings with many=True."""
    out = [s.sql for s in translate(sql, project) if s.kind != "transaction"]
    if many:
        return out
    if len(out) != 1:
        raise ValueError(f"expected one SQL statement, got {len(out)}")
    return out[0]
