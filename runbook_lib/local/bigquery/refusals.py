"""What the sandbox decides about a statement before translating it: BigQuery that it does not run, refused in one
sentence of its own (scripting, system variables other than @@project_id, the NET functions, JSON_OBJECT(key, value)
that sqlglot misreads), rather than in sqlglot's or DuckDB's words, and `@@project_id`, which it answers; and a NULL
literal where BigQuery's own analysis refuses one (LIMIT, OFFSET, STRING_AGG's separator), in BigQuery's words.
"""
from __future__ import annotations

import logging
import re

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from .errors import UnsupportedSQL


def unsupported(tree: exp.Expression | str) -> UnsupportedSQL:
    try:
        text = tree if isinstance(tree, str) else tree.sql("bigquery", comments=False)   # (not its leading comment)
    except SqlglotError:
        text = type(tree).__name__
    words = " ".join(text.split()[:2])
    return UnsupportedSQL(
        f"The local warehouse does not support the BigQuery statement starting {words!r} "
        f"(scripting, variables, models, exports and procedures run only on BigQuery)."
    )


def is_bare_begin(tree: exp.Expression) -> bool:
    """`BEGIN;`, which BigQuery takes as BEGIN TRANSACTION (sqlglot reads it as a command)."""
    return isinstance(tree, exp.Command) and tree.sql("bigquery", comments=False).strip().upper() == "BEGIN"


# The first words of BigQuery's procedural statements (procedural language doc); sqlglot cannot read most of them, and
# its parse error would blame the SQL, in its own class names, for what is valid BigQuery scripting
_PROCEDURAL = re.compile(
    r"(?:^|;)\s*((?:IF|CASE|WHILE|LOOP|REPEAT|FOR|BEGIN|RAISE|DECLARE|SET|EXECUTE\s+IMMEDIATE|CALL|RETURN|LEAVE|"
    r"BREAK|CONTINUE|ITERATE|ASSERT)\b|\w+\s*:\s*(?:BEGIN|LOOP|WHILE|REPEAT|FOR)\b)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*|#[^\n]*|/\*.*?\*/", re.DOTALL)


def procedural_statement(sql: str) -> str | None:
    found = _PROCEDURAL.search(_COMMENT.sub(" ", sql))
    return " ".join(found.group(1).split()) if found else None


class _NoCommandFallbackNotice(logging.Filter):
    """sqlglot logs each statement it cannot read as "Falling back to parsing as a 'Command'"; the kit refuses those
    in its own sentence, so the notice on stderr only repeats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_NoCommandFallbackNotice())


def answer_system_variables(tree: exp.Expression, project: str) -> None:
    """`@@project_id` is the project the query runs in (system variables doc): the sandbox's. The others describe a
    script as it runs (@@row_count, @@error.message, @@script.*, ...), which only BigQuery runs; sqlglot reads
    `@@name` as a parameter `@name` inside a parameter, which the caller's params could never give."""
    for variable in list(tree.find_all(exp.Parameter)):
        if not isinstance(variable.this, exp.Parameter):
            continue
        name = variable.this.name.lower()
        if name != "project_id":
            raise UnsupportedSQL(f"The local warehouse does not support the system variable @@{name} (scripting, "
                                 "variables, models, exports and procedures run only on BigQuery).")
        variable.replace(exp.Literal.string(project))


_EMPTY_JSON_OBJECT = re.compile(r"JSON_OBJECT\s*\(\s*\)", re.IGNORECASE)


def check_json_objects(sql: str, trees: tuple[exp.Expression, ...]) -> None:
    """sqlglot reads `JSON_OBJECT(key, value)` over columns named key and value as the SQL standard's KEY ... VALUE
    words and drops both, so the object was silently `{}`: refused unless the SQL itself wrote JSON_OBJECT()."""
    if "JSON_OBJECT" not in sql.upper():
        return
    empty = sum(1 for tree in trees for node in tree.find_all(exp.JSONObject) if not node.expressions)
    if empty > len(_EMPTY_JSON_OBJECT.findall(sql)):
        raise UnsupportedSQL("The local warehouse cannot read JSON_OBJECT(key, value) over columns named key and "
                             "value (it reads them as keywords); qualify them (t.key, t.value) or quote them "
                             "(`key`, `value`).")


def refuse_net_functions(trees: tuple[exp.Expression, ...]) -> None:
    """BigQuery's NET functions (NET.HOST, NET.IP_FROM_STRING, ...) are not emulated; DuckDB has a `host()` of its own
    (an extension's, about network addresses) that would answer something else."""
    for tree in trees:
        net = tree.find(exp.NetFunc)
        if net is not None:
            name = net.sql("bigquery", unsupported_level=ErrorLevel.IGNORE).split("(", 1)[0].upper()
            raise UnsupportedSQL(f"Function not found: {name} (the sandbox does not emulate BigQuery's NET "
                                 "functions; target=gcp runs them).")


def refuse_null_arguments(trees: tuple[exp.Expression, ...]) -> None:
    """A NULL literal where BigQuery requires a value (compliance limit_queries.test `limit_null`, aggregation_queries
    .test `aggregation_string_agg_error_1`): DuckDB read `LIMIT NULL` as no limit and STRING_AGG's NULL separator as a
    NULL result. Refused in BigQuery's words, as its analysis does; a parameter set to NULL is not checked."""
    for tree in trees:
        for clause in tree.find_all(exp.Limit, exp.Offset):
            if isinstance(clause.expression, exp.Null):
                raise UnsupportedSQL("Limit requires non-null count and offset (LIMIT or OFFSET NULL is refused by "
                                     "BigQuery too).")
        for aggregate in tree.find_all(exp.GroupConcat):
            if isinstance(aggregate.args.get("separator"), exp.Null):
                raise UnsupportedSQL("Argument 2 to STRING_AGG must be non-NULL (BigQuery refuses it too).")
