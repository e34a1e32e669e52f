"""BigQuery's ALTER statements and table constraints that DuckDB reads otherwise or not at all (data definition language
doc): several actions in one ALTER TABLE (DuckDB takes one a statement: sqltree.one_statement_each), SET OPTIONS on a
table, a dataset or a column (DuckDB has no options: the warehouse keeps a table's expiration and labels, and a
dataset's default expiration and labels, in `_runbook_meta`), and PRIMARY KEY / FOREIGN KEY ... NOT ENFORCED, which
BigQuery keeps as metadata only and which DuckDB would enforce (refusing the duplicate keys BigQuery takes).
"""
from __future__ import annotations

import re
from typing import Any, Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .errors import UnsupportedSQL

# What SET OPTIONS may change here, and what it may name without effect on rows (a description, a display name)
TABLE_OPTIONS = ("expiration_timestamp", "labels")
DATASET_OPTIONS = ("default_table_expiration_days", "labels")
_NO_EFFECT = ("description", "friendly_name")


def _unenforced(node: exp.Expression) -> bool:
    return any("NOT ENFORCED" in (o.sql() if isinstance(o, exp.Expression) else str(o)).upper()
               for o in node.args.get("options") or [])


def drop_unenforced_constraints(tree: exp.Expression) -> None:
    """Remove the PRIMARY KEY and FOREIGN KEY constraints BigQuery does not enforce (all of them: it takes no other)."""
    for node in list(tree.find_all(exp.PrimaryKey, exp.ForeignKey, exp.PrimaryKeyColumnConstraint, exp.Reference)):
        if not _unenforced(node):
            continue
        owner = node.parent if isinstance(node.parent, (exp.ColumnConstraint, exp.Constraint)) else node
        owner.pop()
    if isinstance(tree, exp.Alter):
        tree.set("actions", [a for a in tree.args.get("actions") or []
                             if not (isinstance(a, exp.AddConstraint) and not a.expressions)])


def options(properties: list[exp.Expression], allowed: tuple[str, ...], what: str,
            to_duckdb: Callable[[exp.Expression], str]) -> tuple[tuple[str, str], ...]:
    """SET OPTIONS(name = value, ...) as (name, DuckDB SQL of the value) for the names the sandbox keeps; refused in
    one sentence for a name it cannot keep (a description is taken and has no effect)."""
    found = []
    for prop in properties:
        name = prop.name.lower()
        if name in allowed:
            found.append((name, to_duckdb(prop.args["value"])))
        elif name not in _NO_EFFECT:
            raise UnsupportedSQL(f"The local warehouse cannot set {what} option {name}; it keeps "
                                 f"{', '.join(allowed)} (and takes description, friendly_name): use target=gcp.")
    return tuple(found)


def table_options(alter: exp.Alter) -> list[exp.Expression] | None:
    """The properties of `ALTER TABLE ... SET OPTIONS (...)`, or None for another ALTER."""
    actions = alter.args.get("actions") or []
    if len(actions) == 1 and isinstance(actions[0], exp.AlterSet):
        return [p for props in actions[0].expressions if isinstance(props, exp.Properties) for p in props.expressions]
    return None


_ALTER_SCHEMA = re.compile(r"^\s*ALTER\s+SCHEMA\s+(IF\s+EXISTS\s+)?(.+?)\s+SET\s+OPTIONS\s*(\(.*\))\s*;?\s*$",
                           re.IGNORECASE | re.DOTALL)
_ALTER_COLUMN_OPTIONS = re.compile(r"^\s*ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(.+?)\s+ALTER\s+COLUMN\s+(IF\s+EXISTS\s+)?"
                                   r"\S+\s+SET\s+OPTIONS\s*(\(.*\))\s*;?\s*$", re.IGNORECASE | re.DOTALL)


def _read_options(text: str) -> list[exp.Expression]:
    try:   # (sqlglot reads OPTIONS (...) where it reads an ALTER TABLE's)
        alter = sqlglot.parse_one(f"ALTER TABLE _x SET OPTIONS {text}", read="bigquery")
    except SqlglotError:
        raise UnsupportedSQL(f"The local warehouse could not read these OPTIONS: {text[:80]}.") from None
    return table_options(alter) or []


def _name(text: str) -> exp.Table:
    try:
        return exp.to_table(text.strip(), dialect="bigquery")
    except SqlglotError:
        raise UnsupportedSQL(f"The local warehouse could not read the name {text.strip()[:60]!r}.") from None


def command_fields(command: exp.Command, to_duckdb: Callable[[exp.Expression], str]) -> dict[str, Any] | None:
    """Statement fields for what sqlglot reads as a bare command: `ALTER SCHEMA ... SET OPTIONS (...)` and
    `ALTER TABLE ... ALTER COLUMN c SET OPTIONS (...)` (a column's description, kept nowhere); None for others."""
    text = command.sql("bigquery", comments=False)
    schema = _ALTER_SCHEMA.match(text)
    if schema:
        name = _name(schema.group(2))
        dataset = name.name
        return {"kind": "alter_dataset_options", "dataset": dataset, "if_not_exists": bool(schema.group(1)),
                "options": options(_read_options(schema.group(3)), DATASET_OPTIONS, "a dataset", to_duckdb)}
    column = _ALTER_COLUMN_OPTIONS.match(text)
    if column:
        options(_read_options(column.group(4)), (), "a column", to_duckdb)
        table = _name(column.group(2))
        return {"kind": "alter", "dataset": table.db or None, "table": table.name,
                "if_not_exists": bool(column.group(1))}
    return None
