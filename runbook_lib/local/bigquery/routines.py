"""BigQuery's SQL UDFs and table functions as DuckDB macros (user-defined functions doc, table functions doc).

sqlglot translates `CREATE [TEMP] FUNCTION` to a DuckDB macro, but four BigQuery forms came out wrong:
- a templated parameter (`x ANY TYPE`) became DuckDB's VARIANT, which no argument binds to: every call was refused.
  A macro's parameter without a type takes whatever it is given, as BigQuery's templated one does;
- a typed scalar parameter refused a literal BigQuery coerces to its type (`NextDay('2024-01-31')` for a DATE): it
  is untyped in the macro and cast to its type where the body reads it (conversion rules doc, literal coercion);
- `RETURNS FLOAT64 AS (x)` dropped the RETURNS type, so the function gave the body's type (a table made from it got an
  INT64 column): the body is cast to the declared type;
- `CREATE TABLE FUNCTION f(...) AS (SELECT ...)`, written without `RETURNS TABLE<...>` as BigQuery's own examples are,
  lost the word TABLE and became a scalar function. A body that is a query, not an expression (a scalar UDF's
  subquery is parenthesised twice, `AS ((SELECT ...))`), is a table function;
- `DROP TABLE FUNCTION` could not be read, and a project-qualified call (`p.ds.f(1)`) named no function;
- a temp function named as a function sqlglot knows from another dialect (`CREATE TEMP FUNCTION NVL(x) ...`, a shim
  that code migrated to BigQuery often defines) was never called: sqlglot read `NVL(x)` as its own COALESCE. Such a
  function and its calls are renamed before parsing (`_own_nvl`), so the script's body runs.
"""
from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from .errors import UnsupportedSQL

_T = exp.DataType.Type

_DROP_TABLE_FUNCTION = re.compile(r"(^|;)(\s*)DROP\s+TABLE\s+FUNCTION\b", re.IGNORECASE)


def readable(sql: str) -> str:
    """`sql` with `DROP TABLE FUNCTION` as `DROP FUNCTION` (which drops a table macro too), which sqlglot can read, and
    the script's own functions that sqlglot would take for its own renamed."""
    return _own_functions_renamed(_DROP_TABLE_FUNCTION.sub(r"\1\2DROP FUNCTION", sql))


def tokens(sql: str) -> list:
    """sqlglot's BigQuery tokens of `sql` ([] where it cannot tokenize them: the parser says what is wrong)."""
    try:
        return Dialect.get_or_raise("bigquery").tokenize(sql)
    except TokenError:
        return []


def defined_functions(tokens_: list) -> frozenset[str]:
    """The (upper-case) names of the unqualified functions a script creates (`CREATE [TEMP] FUNCTION name(`)."""
    return frozenset(name.text.upper() for function, name, paren in zip(tokens_, tokens_[1:], tokens_[2:])
                     if function.token_type == TokenType.FUNCTION and paren.token_type == TokenType.L_PAREN)


def _own_functions_renamed(sql: str) -> str:
    parser = Dialect.get_or_raise("bigquery").parser_class
    read = tokens(sql)
    clashing = {n for n in defined_functions(read) if n in parser.FUNCTIONS or n in parser.FUNCTION_PARSERS}
    if not clashing:
        return sql
    out, at = [], 0
    for before, token, after in zip([None, *read], read, read[1:]):
        if token.text.upper() in clashing and after.token_type == TokenType.L_PAREN \
                and (before is None or before.token_type != TokenType.DOT):
            out += [sql[at:token.start], f"_own_{token.text.lower()}"]
            at = token.end + 1
    return "".join(out) + sql[at:]


def _is_table_function(create: exp.Create) -> bool:
    body = create.expression
    returns = create.find(exp.ReturnsProperty)
    if returns is not None:
        return bool(returns.args.get("is_table"))
    return isinstance(body, exp.Query) and not isinstance(body, exp.Subquery) or \
        isinstance(body, exp.Subquery) and isinstance(body.this, exp.Query) and not isinstance(body.this, exp.Subquery)


def prepare(create: exp.Create) -> None:
    """Make a BigQuery CREATE FUNCTION's tree say to DuckDB what BigQuery means by it (in place)."""
    if create.kind != "FUNCTION" or not isinstance(create.this, exp.UserDefinedFunction):
        return
    if create.find(exp.LanguageProperty) is not None:
        raise UnsupportedSQL("The local warehouse runs SQL functions only: a JavaScript (LANGUAGE js) or other "
                             "non-SQL function runs only on BigQuery.")
    table_function = _is_table_function(create)
    cast_to: dict[str, exp.DataType] = {}
    for parameter in create.this.expressions:
        kind = parameter.args.get("kind") if isinstance(parameter, exp.ColumnDef) else None
        # (a table function's query may read a column of a parameter's name: its parameters keep their types)
        scalar = isinstance(kind, exp.DataType) and not kind.expressions and not kind.args.get("nested") \
            and not table_function
        if isinstance(kind, exp.DataType) and (kind.is_type(_T.VARIANT) or scalar):
            parameter.set("kind", None)
            if not kind.is_type(_T.VARIANT):   # (ANY TYPE takes what it is given)
                cast_to[parameter.name.lower()] = kind
    body = create.expression
    for column in list(body.find_all(exp.Column)) if body is not None and cast_to else []:
        if not column.table and column.name.lower() in cast_to:
            column.replace(exp.Cast(this=column.copy(), to=cast_to[column.name.lower()].copy()))
    properties = create.args.get("properties")
    if table_function:
        if create.find(exp.ReturnsProperty) is None:
            table = exp.ReturnsProperty(this=exp.Schema(this=exp.Var(this="TABLE")), is_table=True)
            if properties is None:
                create.set("properties", exp.Properties(expressions=[table]))
            else:
                properties.append("expressions", table)
        return
    returns = create.find(exp.ReturnsProperty)
    body = create.expression
    if returns is not None and isinstance(returns.this, exp.DataType) and body is not None:
        inner = body.this if isinstance(body, exp.Paren) else body
        body.replace(exp.Paren(this=exp.Cast(this=inner.copy(), to=returns.this.copy())))


def unqualify_calls(tree: exp.Expression, project: str) -> None:
    """`project.dataset.f(...)`, the sandbox's own project named, as `dataset.f(...)`: DuckDB knows no project."""
    for dot in list(tree.find_all(exp.Dot)):
        owner = dot.this
        if isinstance(dot.expression, exp.Anonymous) and isinstance(owner, exp.Dot) \
                and isinstance(owner.this, exp.Identifier) and owner.this.name == project \
                and isinstance(owner.expression, exp.Identifier):
            owner.replace(owner.expression.copy())
