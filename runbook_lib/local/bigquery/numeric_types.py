"""Which expressions of a statement BigQuery types NUMERIC or BIGNUMERIC, known from the tables it reads.

DuckDB types some decimal results differently from BigQuery (numerics.py corrects them), and a correction
costs something, so it goes only where BigQuery's type is NUMERIC or BIGNUMERIC. That depends on the columns'
types: the warehouse reads the BigQuery types of the tables a statement's queries read (table_schema) and hands
them to translate(), where mark_decimal_results() types each query that can involve a decimal with sqlglot's
annotate_types over them, then marks each node numerics.py corrects with its BigQuery type and its operands'
(node.meta):

    meta[RESULT]    "NUMERIC" or "BIGNUMERIC" (a node BigQuery types otherwise is not marked)
    meta[OPERANDS]  the kinds of the values it computes from, in operands() order: "INT64", "FLOAT64",
                    "NUMERIC", "BIGNUMERIC", "NULL", another type's name, or None where not known

sqlglot's BigQuery typing is taken as it is, except where a decimal takes part in the nodes of _RULES, which
follow the result type tables of BigQuery's documentation, so that what is marked and what is corrected agree.
A FLOAT64 literal counts as FLOAT64 there (no literal coercion): NUMERIC * 1.5 stays FLOAT64, as before.
A query that cannot be typed (sqlglot gives up on it, or reads a table it was not told of) is left unmarked,
and runs as it did before.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from .column_sources import dataset_tables
from .typenames import bigquery_type

RESULT = "bigquery_type"
OPERANDS = "operand_kinds"
DECIMALS = ("NUMERIC", "BIGNUMERIC")
_SITE = "_numeric_site"

# The BigQuery types of the tables a statement reads: (("dataset.table", (("column", "TYPE"), ...)), ...).
Schema = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


def operands(node: exp.Expression) -> list[exp.Expression | None]:
    """The values a marked node computes its result from (CASE: its THEN and ELSE values)."""
    if isinstance(node, exp.Case):
        return [w.args.get("true") for w in node.args.get("ifs") or []] + [node.args.get("default")]
    if isinstance(node, exp.If):
        return [node.args.get("true"), node.args.get("false")]
    if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        return [node.this, *node.expressions]
    if isinstance(node, (exp.Binary, exp.SafeDivide, exp.SafeMultiply, exp.Log)):
        return [node.this, node.expression]
    return [node.this]


# ---------------------------------------------------------------------------------------------
# BigQuery's result types, where a NUMERIC or BIGNUMERIC takes part

def _arithmetic(kinds: list[str | None], division: bool) -> str | None:
    """Operators doc (https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#arithmetic_operators),
    "Result types for Addition and Multiplication", "... for Subtraction", "... for Division", and SAFE_DIVIDE's
    table (mathematical functions doc): FLOAT64 on either side gives FLOAT64; else a BIGNUMERIC gives BIGNUMERIC,
    a NUMERIC NUMERIC; INT64 with INT64 gives INT64, or FLOAT64 for a division."""
    known = [k for k in kinds if k != "NULL"]
    if any(k not in ("INT64", "FLOAT64", *DECIMALS) for k in known):
        return None
    for kind in ("FLOAT64", "BIGNUMERIC", "NUMERIC"):
        if kind in known:
            return kind
    return ("FLOAT64" if division else "INT64") if known else None


def _supertype(kinds: list[str | None]) -> str | None:
    """Conversion rules doc, Supertypes (https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules#supertypes):
    NUMERIC's supertypes are NUMERIC, BIGNUMERIC, FLOAT64; BIGNUMERIC's BIGNUMERIC, FLOAT64; INT64's all four; the
    common supertype is the most specific in all their sets. So NUMERIC with BIGNUMERIC is BIGNUMERIC, with INT64
    NUMERIC, with FLOAT64 FLOAT64 (a NULL takes any type). COALESCE, IFNULL, IF, CASE, GREATEST and LEAST return it
    (conditional expressions doc; mathematical functions doc for GREATEST/LEAST)."""
    return _arithmetic(kinds, division=False)


def _same_as_operand(kinds: list[str | None]) -> str | None:
    """Aggregate functions doc, AVG's "Returned Data Types" (https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#avg):
    NUMERIC for NUMERIC, BIGNUMERIC for BIGNUMERIC. Mathematical functions doc, ROUND, TRUNC, CEIL, FLOOR and SIGN's
    return type tables: the same."""
    return kinds[0] if kinds and kinds[0] in DECIMALS else None


_RULES: dict[type[exp.Expression], Callable[[list[str | None]], str | None]] = {
    exp.Add: lambda kinds: _arithmetic(kinds, division=False),
    exp.Sub: lambda kinds: _arithmetic(kinds, division=False),
    exp.Mul: lambda kinds: _arithmetic(kinds, division=False),
    exp.Div: lambda kinds: _arithmetic(kinds, division=True),
    exp.SafeDivide: lambda kinds: _arithmetic(kinds, division=True),
    exp.SafeMultiply: lambda kinds: _arithmetic(kinds, division=False),
    exp.IntDiv: lambda kinds: _arithmetic(kinds, division=False),   # DIV: INT64, NUMERIC or BIGNUMERIC
    exp.Coalesce: _supertype,
    exp.If: _supertype,
    exp.Case: _supertype,
    exp.Greatest: _supertype,
    exp.Least: _supertype,
    exp.Avg: _same_as_operand,
    exp.Round: _same_as_operand,
    exp.Trunc: _same_as_operand,
    exp.Ceil: _same_as_operand,
    exp.Floor: _same_as_operand,
    exp.Sign: _same_as_operand,
    # Mathematical functions doc, SQRT, CBRT, EXP, LN, LOG10's return type tables: the same; POW and LOG's
    # (two arguments): as a division's (INT64 with INT64 gives FLOAT64)
    **dict.fromkeys((exp.Sqrt, exp.Cbrt, exp.Exp, exp.Ln), _same_as_operand),
    exp.Pow: lambda kinds: _arithmetic(kinds, division=True),
    exp.Log: lambda kinds: _arithmetic(kinds, division=True),
}
# Typed by the rules above but corrected by nothing: their DuckDB result is BigQuery's already.
_TYPED_ONLY = (exp.Add, exp.Sub)

_INT64 = tuple(exp.DataType.INTEGER_TYPES)
_FLOAT64 = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


def kind_of(data_type: exp.DataType | None) -> str | None:
    """A sqlglot type as the kinds above name it (a NUMERIC(P, S) column is a NUMERIC or BIGNUMERIC value)."""
    if data_type is None or data_type.this == exp.DataType.Type.UNKNOWN:
        return None
    t = data_type.this
    if t == exp.DataType.Type.DECIMAL:
        params = [int(p.this.name) for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
        precision, scale = (params[0], params[1] if len(params) > 1 else 0) if params else (38, 9)
        return "NUMERIC" if scale <= 9 and precision - scale <= 29 else "BIGNUMERIC"
    if t == exp.DataType.Type.BIGDECIMAL:
        return "BIGNUMERIC"
    if t in _INT64:
        return "INT64"
    if t in _FLOAT64:
        return "FLOAT64"
    if t == exp.DataType.Type.NULL:
        return "NULL"
    return t.value


_DECIMAL_TYPES = {"NUMERIC": exp.DataType.Type.DECIMAL, "BIGNUMERIC": exp.DataType.Type.BIGDECIMAL,
                  "INT64": exp.DataType.Type.BIGINT, "FLOAT64": exp.DataType.Type.DOUBLE}


@lru_cache(maxsize=1)
def _metadata() -> dict:
    """BigQuery's sqlglot type annotators, with _RULES in place of sqlglot's own where a decimal takes part."""
    base = Dialect.get_or_raise("bigquery").EXPRESSION_METADATA
    metadata = dict(base)
    for cls, rule in _RULES.items():
        metadata[cls] = {"annotator": _annotator(rule, base.get(cls) or {})}
    return metadata


def _annotator(rule: Callable[[list[str | None]], str | None], sqlglots: dict) -> Callable:
    def annotate(annotator, node: exp.Expression) -> exp.Expression:
        kinds = [None if o is None else kind_of(o.type) for o in operands(node)]
        if any(k in DECIMALS for k in kinds) and not (isinstance(node, exp.If) and isinstance(node.parent, exp.Case)):
            kind = rule(kinds)
            annotator._set_type(node, _DECIMAL_TYPES.get(kind or "", exp.DataType.Type.UNKNOWN))
        elif "annotator" in sqlglots:
            sqlglots["annotator"](annotator, node)
        elif isinstance(node, exp.Binary):
            annotator._annotate_binary(node)
        else:
            annotator._set_type(node, sqlglots.get("returns") or exp.DataType.Type.UNKNOWN)
        return node
    return annotate


# ---------------------------------------------------------------------------------------------
# Marking a statement

def _is_site(node: exp.Expression) -> bool:
    return type(node) in _RULES and not isinstance(node, _TYPED_ONLY) and \
        not (isinstance(node, exp.If) and isinstance(node.parent, exp.Case))


def _sites(tree: exp.Expression) -> list[exp.Expression]:
    """The nodes numerics.py may correct (a CASE's WHEN branches are typed as part of the CASE)."""
    return [n for n in tree.walk() if _is_site(n)]


def _outermost_queries(tree: exp.Expression) -> list[exp.Query]:
    return [n for n in tree.walk(prune=lambda n: isinstance(n, exp.Query)) if isinstance(n, exp.Query)]


def tables_to_type(trees: Iterable[exp.Expression]) -> frozenset[tuple[str, str]] | None:
    """The (dataset, table) pairs whose column types typing the statements needs: the tables read by their
    queries that have something to correct; None when nothing in them could take a correction."""
    queries = [q for t in trees for q in _outermost_queries(t) if any(_is_site(n) for n in q.walk())]
    if not queries:
        return None
    return frozenset().union(*(dataset_tables(q) for q in queries))


_DECIMAL_TYPES_ = (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def _candidate_queries(tree: exp.Expression, schema: Schema) -> list[exp.Query]:
    """The outermost queries of `tree` with something to correct and a NUMERIC or BIGNUMERIC somewhere in them:
    a column of one (a STRUCT or ARRAY holding one too) in a table the query reads, or a CAST, literal or
    PARSE_(BIG)NUMERIC making one."""
    decimal_tables = {ref for ref, columns in schema if any("NUMERIC" in t.upper() for _, t in columns)}
    chosen = []
    for query in _outermost_queries(tree):
        site = decimal = False
        for node in query.walk():
            site = site or _is_site(node)
            decimal = decimal or isinstance(node, (exp.ParseNumeric, exp.ParseBignumeric)) or \
                (isinstance(node, exp.DataType) and node.this in _DECIMAL_TYPES_) or \
                (isinstance(node, exp.Table) and f"{node.db}.{node.name}" in decimal_tables)
            if site and decimal:
                chosen.append(query)
                break
    return chosen


def _queries_to_type(tree: exp.Expression, schema: Schema) -> list[exp.Query]:
    """The candidate queries (above) in which a correction site has an operand that may be a NUMERIC or
    BIGNUMERIC (_decimal_values). Only those are typed: typing a query costs milliseconds, a wide one a
    second (runbook 04's comparisons cast INT64 differences to NUMERIC, under IFs and COALESCEs that never
    see one), and a script's history INSERT needs none."""
    candidates = _candidate_queries(tree, schema)
    if not candidates or _names_not_followed(tree):
        return candidates
    maybe = _decimal_values(tree, schema)
    return [q for q in candidates
            if any(_is_site(n) and any(o is not None and id(o) in maybe for o in operands(n)) for n in q.walk())]


# What typing can never make NUMERIC or BIGNUMERIC, whatever it reads: a truth value, a literal (sqlglot types
# 1.5 FLOAT64 and 123 INT64), a parameter (typed unknown), a count.
_NEVER_DECIMAL = (exp.Predicate, exp.Connector, exp.Not, exp.Literal, exp.Null, exp.Boolean, exp.Parameter,
                  exp.Placeholder, exp.DataType, exp.Count)


def _decimal_values(tree: exp.Expression, schema: Schema) -> set[int]:
    """The ids of the nodes of `tree` whose value annotate_types might type NUMERIC or BIGNUMERIC: a superset,
    found without scopes by the names values go by. A name may carry a decimal when a read table's column of
    that name holds one, or when an alias, a STRUCT field, or an UNNEST's or subquery's alias names a value
    that may, or when a set operation's column (named by its first branch) may be one in any branch. A query's
    value is its columns (not its WITH, FROM or WHERE), a star may be any column, a CAST decides by its type alone,
    a function sqlglot types with a fixed type by that type, and anything else may be a decimal when one of its
    parts may. (_names_not_followed says where names come otherwise: such a tree is typed whole.)"""
    names = {word.lower() for _, columns in schema for column, kind in columns if "NUMERIC" in kind.upper()
             for word in (column, *_WORD.findall(kind))}
    names |= {field.name.lower() for t in tree.find_all(exp.DataType) if _holds_decimal(t)
              for field in t.find_all(exp.ColumnDef)}
    nodes = list(tree.walk(bfs=False))
    nodes.reverse()   # each node after its parts
    metadata = _metadata()
    while True:
        maybe: set[int] = set()
        for node in nodes:
            if _may_be_decimal(node, maybe, names, metadata):
                maybe.add(id(node))
        named = names | _names_given(nodes, maybe)
        if named == names:
            return maybe
        names = named


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _holds_decimal(data_type: exp.DataType) -> bool:
    return any(t.this in _DECIMAL_TYPES_ for t in data_type.find_all(exp.DataType))


def _may_be_decimal(node: exp.Expression, maybe: set[int], names: set[str], metadata: dict) -> bool:
    if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
        return True   # the columns of what it reads, by whatever names: `(SELECT * FROM t)` is t's one column
    if isinstance(node, (exp.Column, exp.Dot)):
        return node.name.lower() in names
    if isinstance(node, exp.Select):   # its values are its columns (not its WITH, FROM or WHERE)
        return any(id(column) in maybe for column in node.expressions)
    if isinstance(node, exp.SetOperation):
        return id(node.this) in maybe or id(node.expression) in maybe
    if isinstance(node, _NEVER_DECIMAL):
        return False
    if isinstance(node, exp.Cast):
        return _holds_decimal(node.to)
    returns = metadata.get(type(node), {}).get("returns")
    if returns is not None:
        return (returns.this if isinstance(returns, exp.DataType) else returns) in _DECIMAL_TYPES_
    return any(id(part) in maybe for part in node.iter_expressions())


def _names_not_followed(tree: exp.Expression) -> bool:
    """Whether `tree` names columns in a way _names_given does not follow: PIVOT and UNPIVOT (names made from
    values and aliases), MATCH_RECOGNIZE, or a set operation whose first branch takes its names from a star."""
    return any(isinstance(node, (exp.Pivot, exp.MatchRecognize))
               or (isinstance(node, exp.SetOperation) and "*" in node.named_selects) for node in tree.walk())


def _names_given(nodes: list[exp.Expression], maybe: set[int]) -> set[str]:
    """The names that values which may be decimals go by further on. (A set operation's columns take the
    first branch's names, whichever branch the decimal comes from.)"""
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, exp.SetOperation) and id(node) in maybe:
            out.update(name.lower() for name in node.named_selects)
        elif isinstance(node, exp.Alias) and id(node.this) in maybe:
            out.add(node.alias.lower())
        elif isinstance(node, exp.PropertyEQ) and id(node.expression) in maybe:
            out.add(node.name.lower())
        elif isinstance(node, exp.TableAlias) and node.parent is not None and (
                id(node.parent) in maybe or id(node.parent.this) in maybe):
            out.update(n.lower() for n in (node.name, *(c.name for c in node.columns)) if n)
    return out


def worth_typing(trees: Iterable[exp.Expression], schema: Schema) -> bool:
    """Whether typing can mark anything: else the statements translate as if no schema were known."""
    return any(_queries_to_type(t, schema) for t in trees)


def mark_decimal_results(tree: exp.Expression, schema: Schema) -> None:
    """Mark the nodes of `tree` whose BigQuery type is NUMERIC or BIGNUMERIC (RESULT, OPERANDS).

    Each outermost query is typed on a copy (qualifying columns rewrites the tree); the copy's nodes carry a
    site number to the original's."""
    sites = _sites(tree)
    if not sites:
        return
    for number, node in enumerate(sites):
        node.meta[_SITE] = number
    try:
        found: dict[int, tuple[str | None, tuple[str | None, ...]]] = {}
        for query in _queries_to_type(tree, schema):
            found.update(_typed_sites(query, schema))
    finally:
        for node in sites:
            node.meta.pop(_SITE, None)
    for number, (kind, operand_kinds) in found.items():
        if kind in DECIMALS:
            sites[number].meta[RESULT] = kind
            sites[number].meta[OPERANDS] = operand_kinds


def _typed_sites(query: exp.Query, schema: Schema) -> dict[int, tuple[str | None, tuple[str | None, ...]]]:
    copy = query.copy()
    for table in copy.find_all(exp.Table):
        table.set("catalog", None)   # the schema names dataset.table (a project part means nothing locally)
    try:
        mapping = _mapping(schema)
        # (a select list alias named in GROUP BY or HAVING is left unexpanded: typed unknown, left alone; expanding
        # costs a third of qualify's time)
        copy = qualify(copy, dialect="bigquery", schema=mapping, validate_qualify_columns=False, expand_alias_refs=False,
                       quote_identifiers=False, identify=False, allow_partial_qualification=True)
        copy = annotate_types(copy, schema=mapping, expression_metadata=_metadata())
    except Exception:   # noqa: BLE001 - typing only decides where a correction goes; untyped, a statement runs as before
        return {}
    found: dict[int, tuple[str | None, tuple[str | None, ...]]] = {}
    for node in copy.walk():
        number = node.meta_get(_SITE)
        if number is None:
            continue
        seen = (kind_of(node.type), tuple(None if o is None else kind_of(o.type) for o in operands(node)))
        # (a node qualify copied, typed differently in its copies, is left alone)
        found[number] = seen if found.get(number, seen) == seen else (None, ())
    return found


@lru_cache(maxsize=64)
def _mapping(schema: Schema) -> MappingSchema:
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for ref, columns in schema:
        dataset, _, table = ref.partition(".")
        nested.setdefault(dataset, {})[table] = {name: _readable(t) for name, t in columns}
    return MappingSchema(nested, dialect="bigquery")


@lru_cache(maxsize=1024)
def _readable(type_name: str) -> str:
    """A column type sqlglot reads, or UNKNOWN: one odd column (a RANGE, say) leaves the rest typed."""
    try:
        exp.DataType.build(type_name, dialect="bigquery")
        return type_name
    except Exception:   # noqa: BLE001 - sqlglot raises several kinds for a type it cannot read
        return "UNKNOWN"


# ---------------------------------------------------------------------------------------------
# The schema, read from the warehouse

def table_schema(con, refs: Iterable[tuple[str, str]], catalog: str) -> Schema:
    """The BigQuery types of the columns of the tables and views `refs` ((dataset, table) pairs) in the DuckDB
    database `catalog`, as translate() takes them. A missing one is left out: the statement then fails on it in
    its own words. (Binding a query to read its types costs about half a millisecond a table; DuckDB's
    duckdb_columns() several.)"""
    import duckdb

    out = []
    for dataset, table in sorted(set(refs)):
        name = ".".join('"' + part.replace('"', '""') + '"' for part in (catalog, dataset, table))
        try:
            rel = con.sql(f"SELECT * FROM {name} LIMIT 0")
        except duckdb.Error:
            continue
        out.append((f"{dataset}.{table}", tuple((c, bigquery_type(str(t))) for c, t in zip(rel.columns, rel.types))))
    return tuple(out)
