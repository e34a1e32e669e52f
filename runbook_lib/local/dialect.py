"""BigQuery SQL -> DuckDB SQL, with the known silent differences corrected.

SQL across the kit is written once, in BigQuery's dialect. sqlglot does the bulk of the
translation; this module fixes what sqlglot translates into valid DuckDB SQL that gives a
*different answer* than BigQuery would (day-of-week numbering, DATE_TRUNC returning a
timestamp, decimal literals, UNNEST offsets, ...), fills in what DuckDB lacks
(FARM_FINGERPRINT, INFORMATION_SCHEMA views with BigQuery's names) and refuses, in one
sentence, what the local warehouse cannot run. tests/test_dialect.py pins each fix to the
answer BigQuery gives.

translate() also reports what each statement does (creates a table partitioned by a column,
drops a dataset, merges into a table, ...) so the warehouse can keep its metadata.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from ..errors import RunbookError

INTERNAL_SCHEMA = "_runbook_meta"
# DuckDB's own schemas and ours: never a BigQuery dataset.
HIDDEN_SCHEMAS = (INTERNAL_SCHEMA, "main", "information_schema", "pg_catalog")

# BigQuery NUMERIC is DECIMAL(38, 9). BIGNUMERIC has 38 integer and 38 fractional digits,
# more than DuckDB's widest DECIMAL (38 digits in all); we keep 20 integer + 18 fractional.
NUMERIC_DUCKDB = (38, 9)
BIGNUMERIC_DUCKDB = (38, 18)

_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")


class UnsupportedSQL(RunbookError, ValueError):
    """A BigQuery construct the local (DuckDB) warehouse cannot run; the message names it."""


@dataclass(frozen=True)
class Statement:
    """One translated statement and what it does to the warehouse's catalog."""

    sql: str
    kind: str  # query | create_table | create_view | create_schema | drop_table | drop_schema | merge | dml |
    #            alter | rename_table | transaction | other
    dataset: str | None = None  # the dataset a DDL/DML statement changes
    table: str | None = None
    replace: bool = False
    if_not_exists: bool = False
    partition_column: str | None = None
    copy_from: tuple[str, str] | None = None  # CREATE TABLE ... LIKE / COPY / CLONE source
    options: tuple[tuple[str, str], ...] = ()  # OPTIONS(name=value), value as DuckDB SQL
    merge_check: str | None = None  # SQL that finds a target row matched by 2+ source rows
    tables: tuple[tuple[str, str], ...] = ()  # every dataset.table the statement names
    datasets: tuple[str, ...] = ()  # datasets named by dataset-scoped INFORMATION_SCHEMA views
    params: tuple[str, ...] = ()  # @names used
    drops: tuple[tuple[str, str], ...] = ()  # DROP TABLE/VIEW targets
    renamed_to: str | None = None  # ALTER TABLE ... RENAME TO

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name.lower())


# ---------------------------------------------------------------------------------------------
# FARM_FINGERPRINT: FarmHash Fingerprint64 (farmhashna::Hash64) of the UTF-8 bytes, as BigQuery
# returns it: a signed INT64. Pure Python so it needs no compiled package.

_MASK = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _f64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _f32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _rot(v: int, r: int) -> int:
    return ((v >> r) | (v << (64 - r))) & _MASK


def _smix(v: int) -> int:
    return v ^ (v >> 47)


def _h16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & _MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK
    b ^= b >> 47
    return (b * mul) & _MASK


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = _K2 + n * 2
        a = (_f64(s, 0) + _K2) & _MASK
        b = _f64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _MASK
        d = ((_rot(a, 25) + b) * mul) & _MASK
        return _h16(c, d, mul)
    if n >= 4:
        return _h16(n + (_f32(s, 0) << 3), _f32(s, n - 4), _K2 + n * 2)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_smix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
    return _K2


def _len17to32(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    a = (_f64(s, 0) * _K1) & _MASK
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & _MASK
    d = (_f64(s, n - 16) * _K2) & _MASK
    return _h16((_rot((a + b) & _MASK, 43) + _rot(c, 30) + d) & _MASK,
                (a + _rot((b + _K2) & _MASK, 18) + c) & _MASK, mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    a = (_f64(s, 0) * _K2) & _MASK
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & _MASK
    d = (_f64(s, n - 16) * _K2) & _MASK
    y = (_rot((a + b) & _MASK, 43) + _rot(c, 30) + d) & _MASK
    z = _h16(y, (a + _rot((b + _K2) & _MASK, 18) + c) & _MASK, mul)
    e = (_f64(s, 16) * mul) & _MASK
    f = _f64(s, 24)
    g = ((y + _f64(s, n - 32)) * mul) & _MASK
    h = ((z + _f64(s, n - 24)) * mul) & _MASK
    return _h16((_rot((e + f) & _MASK, 43) + _rot(g, 30) + h) & _MASK,
                (e + _rot((f + a) & _MASK, 18) + g) & _MASK, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24)
    a = (a + w) & _MASK
    b = _rot((b + a + z) & _MASK, 21)
    c = a
    a = (a + x + y) & _MASK
    b = (b + _rot(a, 44)) & _MASK
    return (a + z) & _MASK, (b + c) & _MASK


def fingerprint64(s: bytes) -> int:
    """FarmHash Fingerprint64 of `s` as an unsigned 64-bit integer."""
    n = len(s)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    y = (81 * _K1 + 113) & _MASK
    z = (_smix((y * _K2 + 113) & _MASK) * _K2) & _MASK
    v0 = v1 = w0 = w1 = 0
    x = (81 * _K2 + _f64(s, 0)) & _MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rot((x + y + v0 + _f64(s, i + 8)) & _MASK, 37) * _K1) & _MASK
        y = (_rot((y + v1 + _f64(s, i + 48)) & _MASK, 42) * _K1) & _MASK
        x ^= w1
        y = (y + v0 + _f64(s, i + 40)) & _MASK
        z = (_rot((z + w0) & _MASK, 33) * _K1) & _MASK
        v0, v1 = _weak32(s, i, (v1 * _K1) & _MASK, (x + w0) & _MASK)
        w0, w1 = _weak32(s, i + 32, (z + w1) & _MASK, (y + _f64(s, i + 16)) & _MASK)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = _K1 + ((z & 0xFF) << 1)
    i = last64
    w0 = (w0 + ((n - 1) & 63)) & _MASK
    v0 = (v0 + w0) & _MASK
    w0 = (w0 + v0) & _MASK
    x = (_rot((x + y + v0 + _f64(s, i + 8)) & _MASK, 37) * mul) & _MASK
    y = (_rot((y + v1 + _f64(s, i + 48)) & _MASK, 42) * mul) & _MASK
    x ^= (w1 * 9) & _MASK
    y = (y + v0 * 9 + _f64(s, i + 40)) & _MASK
    z = (_rot((z + w0) & _MASK, 33) * mul) & _MASK
    v0, v1 = _weak32(s, i, (v1 * mul) & _MASK, (x + w0) & _MASK)
    w0, w1 = _weak32(s, i + 32, (z + w1) & _MASK, (y + _f64(s, i + 16)) & _MASK)
    z, x = x, z
    return _h16((_h16(v0, w0, mul) + _smix(y) * _K0 + z) & _MASK, (_h16(v1, w1, mul) + x) & _MASK, mul)


@lru_cache(maxsize=65536)  # keys repeat a lot (player ids, dates); hashing is ~2 µs anyway
def farm_fingerprint(value: str | bytes | None) -> int | None:
    """BigQuery FARM_FINGERPRINT: signed INT64 fingerprint of a STRING (UTF-8) or BYTES value."""
    if value is None:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    u = fingerprint64(raw)
    return u - (1 << 64) if u >= (1 << 63) else u


# ---------------------------------------------------------------------------------------------
# Type names

_SIMPLE_BQ_TYPES = {
    "BIGINT": "INT64", "INTEGER": "INT64", "SMALLINT": "INT64", "TINYINT": "INT64", "HUGEINT": "INT64",
    "UBIGINT": "INT64", "UINTEGER": "INT64", "USMALLINT": "INT64", "UTINYINT": "INT64", "UHUGEINT": "INT64",
    "DOUBLE": "FLOAT64", "FLOAT": "FLOAT64", "VARCHAR": "STRING", "UUID": "STRING", "BOOLEAN": "BOOL",
    "DATE": "DATE", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "TIMESTAMP": "DATETIME",
    "TIMESTAMP_NS": "DATETIME", "TIMESTAMP_MS": "DATETIME", "TIMESTAMP_S": "DATETIME",
    "TIME": "TIME", "BLOB": "BYTES", "INTERVAL": "INTERVAL", "JSON": "JSON",
}


def _bq_decimal(p: int, s: int) -> str:
    if (p, s) == NUMERIC_DUCKDB:
        return "NUMERIC"
    if (p, s) == BIGNUMERIC_DUCKDB:
        return "BIGNUMERIC"
    return f"NUMERIC({p}, {s})" if s <= 9 and p - s <= 29 else f"BIGNUMERIC({p}, {s})"


@lru_cache(maxsize=1024)
def bigquery_type(duckdb_type: str) -> str:
    """A DuckDB column type as BigQuery names it (INFORMATION_SCHEMA.COLUMNS.data_type)."""
    t = (duckdb_type or "").strip()
    if t.upper() in _SIMPLE_BQ_TYPES:
        return _SIMPLE_BQ_TYPES[t.upper()]
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t, re.I)
    if m:
        return _bq_decimal(int(m.group(1)), int(m.group(2)))
    if t.upper().startswith("ENUM("):
        return "STRING"
    try:
        built = exp.DataType.build(t, dialect="duckdb")
    except SqlglotError:
        return t
    for node in list(built.find_all(exp.DataType)):
        if node.this == exp.DataType.Type.DECIMAL and len(node.expressions) == 2:
            p, s = (int(e.this.name) for e in node.expressions)
            node.replace(exp.DataType.build(_bq_decimal(p, s), dialect="bigquery"))
        elif node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UBIGINT, exp.DataType.Type.UINT):
            node.replace(exp.DataType.build("INT64", dialect="bigquery"))
    return built.sql("bigquery")


def duckdb_type(bigquery_type_name: str) -> str:
    """A BigQuery type name (INT64, NUMERIC, ARRAY<STRING>, ...) as a DuckDB column type."""
    built = exp.DataType.build(bigquery_type_name, dialect="bigquery")
    _fix_decimal_types(built)
    return built.sql("duckdb")


# DuckDB column types that BigQuery does not have, and the BigQuery-shaped type they become.
def normalised_column_type(duckdb_type_name: str) -> str | None:
    """The DuckDB type a column should have so it holds what BigQuery's type holds, or None if fine."""
    t = duckdb_type_name.upper()
    if t in ("INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "UHUGEINT"):
        return "BIGINT"
    if t == "FLOAT":
        return "DOUBLE"
    if t in ("TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return "TIMESTAMP"
    if t == "UUID" or t.startswith("ENUM("):
        return "VARCHAR"
    return None


# ---------------------------------------------------------------------------------------------
# Rewrites on the BigQuery syntax tree

@lru_cache(maxsize=256)
def _parsed_template(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def _tpl(sql: str, **parts: exp.Expression) -> exp.Expression:
    """DuckDB SQL with `__name__` column placeholders replaced by expression trees."""
    tree = _parsed_template(sql).copy()
    used: set[str] = set()
    for col in list(tree.find_all(exp.Column)):
        key = col.name[2:-2] if col.name.startswith("__") and col.name.endswith("__") else None
        if key in parts:
            col.replace(parts[key].copy() if key in used else parts[key])
            used.add(key)
    return tree


def _unit_name(unit: exp.Expression | None) -> str:
    if unit is None:
        return ""
    if isinstance(unit, exp.WeekStart):
        return f"WEEK({unit.this.name.upper()})"
    return unit.name.upper()


def _week_start_index(unit: str) -> int | None:
    """Sunday=0 .. Saturday=6 for WEEK / WEEK(<DAY>) / ISOWEEK, else None."""
    if unit == "WEEK":
        return 0
    if unit == "ISOWEEK":
        return 1
    m = re.fullmatch(r"WEEK\((\w+)\)", unit)
    if m and m.group(1) in _WEEKDAYS:
        return _WEEKDAYS.index(m.group(1))
    return None


def _fix_extract(node: exp.Extract) -> exp.Expression | None:
    unit = _unit_name(node.this)
    x = node.expression
    if unit == "DAYOFWEEK":
        # BigQuery numbers days 1 (Sunday) .. 7 (Saturday); DuckDB 0 .. 6.
        return _tpl("(EXTRACT(DAYOFWEEK FROM __x__) + 1)", x=x)
    if unit == "ISOWEEK":
        return _tpl("EXTRACT(WEEK FROM __x__)", x=x)  # DuckDB's WEEK is the ISO week
    start = _week_start_index(unit)
    if start is not None:
        # BigQuery WEEK(<day>): weeks begin on <day>; days before the year's first <day> are week 0.
        # DuckDB's WEEK is the ISO week (1..53, Monday-based, can belong to the previous year).
        return _tpl(
            f"CAST((EXTRACT(DAYOFYEAR FROM __x__) + 6 - ((EXTRACT(DAYOFWEEK FROM __x__) + 7 - {start}) % 7)) // 7 AS BIGINT)",
            x=x,
        )
    if unit == "MILLISECOND":
        return _tpl("(EXTRACT(MILLISECOND FROM __x__) % 1000)", x=x)  # DuckDB counts the seconds too
    if unit == "MICROSECOND":
        return _tpl("(EXTRACT(MICROSECOND FROM __x__) % 1000000)", x=x)
    if unit == "DATE":
        return _tpl("CAST(__x__ AS DATE)", x=x)
    if unit == "TIME":
        return _tpl("CAST(__x__ AS TIME)", x=x)
    if unit == "DATETIME":
        return _tpl("CAST(__x__ AS TIMESTAMP)", x=x)
    return None


_BUCKETS = {"DAY": "1 day", "MONTH": "1 month", "QUARTER": "3 months", "YEAR": "1 year"}


def _fix_trunc(node: exp.Expression) -> exp.Expression | None:
    """DATE_TRUNC / DATETIME_TRUNC / TIMESTAMP_TRUNC to day-or-longer parts.

    DuckDB's date_trunc turns a DATE into a TIMESTAMP and its WEEK is Monday-based; BigQuery keeps
    the input's type and its WEEK starts on Sunday (WEEK(<day>) on <day>). time_bucket keeps the
    input's type and its origin (Monday 2000-01-03, or 2000-01-01 for months) lets an offset pick
    the week's first day.
    """
    if node.args.get("zone") is not None:
        return None
    unit = _unit_name(node.args.get("unit"))
    x = node.this
    if unit in _BUCKETS:
        return _tpl(f"TIME_BUCKET(INTERVAL '{_BUCKETS[unit]}', __x__)", x=x)
    start = _week_start_index(unit)
    if start is not None:
        return _tpl(f"TIME_BUCKET(INTERVAL '7 days', __x__, INTERVAL '{start - 1} days')", x=x)
    if unit == "ISOYEAR":
        if isinstance(node, exp.DateTrunc):
            return _tpl("CAST(DATE_TRUNC('ISOYEAR', __x__) AS DATE)", x=x)
        return _tpl("DATE_TRUNC('ISOYEAR', __x__)", x=x)
    return None


def _fix_decimal_types(node: exp.Expression) -> None:
    for dt in list(node.find_all(exp.DataType)):
        if dt.expressions:
            continue
        if dt.this == exp.DataType.Type.DECIMAL:
            p, s = NUMERIC_DUCKDB
        elif dt.this == exp.DataType.Type.BIGDECIMAL:
            p, s = BIGNUMERIC_DUCKDB
        else:
            continue
        dt.set("this", exp.DataType.Type.DECIMAL)
        dt.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(p)), exp.DataTypeParam(this=exp.Literal.number(s))])


def _is_decimal_cast(node: exp.Expression | None) -> bool:
    return isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in (
        exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def _is_int_literal(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d+", node.this or "") is not None


def _is_constant_int_arithmetic(node: exp.Expression) -> bool:
    """An integer literal, or +, -, * over integer literals (possibly already cast to BIGINT)."""
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.BIGINT:
        node = node.this
    if isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        return _is_constant_int_arithmetic(node.this) and _is_constant_int_arithmetic(node.expression)
    return _is_int_literal(node)


def _is_nonzero_number(node: exp.Expression) -> bool:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this) != 0
        except ValueError:
            return False
    return False


# ---------------------------------------------------------------------------------------------
# Corrections that need more than one line: CAST, LIKE, time zones, SUBSTR, array subscripts

# What BigQuery accepts when it casts a STRING (ZetaSQL conversion rules): decimal digits or a
# hex 0x literal with an optional sign for INT64 (not '1.5', not '1e3'), 'true' or 'false' in any
# case for BOOL, and only the date literal form YYYY-[M]M-[D]D for DATE. Surrounding blanks pass,
# as BigQuery's integer parsing allows them.
_INT64_TEXT = r"\s*[+-]?[0-9]+\s*"
_HEX64_TEXT = r"\s*[+-]?0[xX][0-9a-fA-F]+\s*"
_DATE_TEXT = r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\s*"
_INT64_RANGE = (-(1 << 63), (1 << 63) - 1)


def _is_safe(node: exp.Expression) -> bool:
    return isinstance(node, exp.TryCast) or bool(node.args.get("safe"))


def _sql_text(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def _cast_string_literal(text: str, target: exp.DataType.Type, safe: bool) -> exp.Expression | None:
    """CAST('literal' AS INT64 | BOOL | DATE) decided here, as BigQuery decides it when it analyses the query."""
    t = exp.DataType.Type
    if target == t.BIGINT:
        value = None
        if re.fullmatch(_INT64_TEXT, text):
            value = int(text.strip())
        elif re.fullmatch(_HEX64_TEXT, text):
            value = int(text.strip().replace("0x", "").replace("0X", ""), 16)
        if value is not None and _INT64_RANGE[0] <= value <= _INT64_RANGE[1]:
            return exp.Cast(this=exp.Literal.number(value), to=exp.DataType.build("BIGINT"))
        failure, duck = f"Bad int64 value: {text}", "BIGINT"
    elif target == t.BOOLEAN:
        if text.lower() in ("true", "false"):
            return exp.Boolean(this=text.lower() == "true")
        failure, duck = f"Bad bool value: {text}", "BOOLEAN"
    else:  # DATE
        if re.fullmatch(_DATE_TEXT, text):
            return None  # DuckDB reads this form as BigQuery does (and rejects 2024-02-30 too)
        failure, duck = f"Invalid date: '{text}'", "DATE"
    if safe:
        return _tpl(f"CAST(NULL AS {duck})")
    return _tpl(f"CAST(ERROR({_sql_text(failure)}) AS {duck})")


def _fix_cast(node: exp.Expression) -> exp.Expression | None:
    """CAST/SAFE_CAST to INT64, BOOL, DATE and STRING, where DuckDB's rules differ from BigQuery's.

    The input's type is unknown here; typeof() is folded when DuckDB binds the query, so each CASE
    keeps one branch. A failed CAST raises BigQuery's message; SAFE_CAST gives NULL. ERROR(NULL) is
    NULL, so a NULL input stays NULL without a branch of its own.
    """
    t = exp.DataType.Type
    target = node.to.this
    if target not in (t.BIGINT, t.BOOLEAN, t.DATE, t.TEXT):
        return None
    x = node.this
    safe = _is_safe(node)
    cast = "TRY_CAST" if safe else "CAST"
    if isinstance(x, exp.Literal) and x.is_string and target != t.TEXT:
        return _cast_string_literal(x.this, target, safe)
    if target == t.BIGINT:
        if isinstance(x, exp.Literal) and _is_int_literal(x):
            return None
        bad = "NULL" if safe else "ERROR('Bad int64 value: ' || _s_)"
        # Floats: BigQuery rounds halfway cases away from zero (CAST(2.5 AS INT64) = 3); DuckDB
        # rounds them to even. Strings: DuckDB would also take '1.5' (as 2) and '1e3'.
        sql = (
            "CASE WHEN TYPEOF(__x__) IN ('DOUBLE', 'FLOAT') THEN "
            f"{cast}(ROUND(TRY_CAST(__x__ AS DOUBLE)) AS BIGINT) "
            "WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE "
            f"WHEN REGEXP_FULL_MATCH(_s_, {_sql_text(_INT64_TEXT)}) THEN {cast}(_s_ AS BIGINT) "
            f"WHEN REGEXP_FULL_MATCH(_s_, {_sql_text(_HEX64_TEXT)}) THEN "
            "(CASE WHEN STARTS_WITH(LTRIM(_s_), '-') THEN -1 ELSE 1 END) * "
            f"{cast}(LOWER(REGEXP_EXTRACT(_s_, '0[xX][0-9a-fA-F]+')) AS BIGINT) "
            f"ELSE {bad} END "
            f"ELSE {cast}(__x__ AS BIGINT) END"
        )
    elif target == t.BOOLEAN:
        if isinstance(x, (exp.Predicate, exp.Boolean, exp.Not)):
            return None
        bad = "NULL" if safe else "ERROR('Bad bool value: ' || _s_)"
        # DuckDB would also take 't', 'yes', '1', ...
        sql = (
            "CASE WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE LOWER(_s_) WHEN 'true' THEN TRUE "
            f"WHEN 'false' THEN FALSE ELSE {bad} END ELSE {cast}(__x__ AS BOOLEAN) END"
        )
    elif target == t.DATE:
        bad = "NULL" if safe else "ERROR('Invalid date: ''' || _s_ || '''')"
        # DuckDB would also take '2024-01-05 10:00:00' (dropping the time) and '2024/01/05'.
        sql = (
            "CASE WHEN TYPEOF(__x__) = 'VARCHAR' THEN CASE "
            f"WHEN REGEXP_FULL_MATCH(_s_, {_sql_text(_DATE_TEXT)}) THEN {cast}(TRIM(_s_) AS DATE) "
            f"ELSE {bad} END ELSE {cast}(__x__ AS DATE) END"
        )
    else:  # STRING
        if isinstance(x, exp.Literal) or (isinstance(x, (exp.Cast, exp.TryCast)) and not _is_decimal_cast(x)):
            return None
        # BigQuery writes NUMERIC/BIGNUMERIC without trailing zeros (NUMERIC '1.50' -> '1.5',
        # ZetaSQL NumericValue::ToString); DuckDB pads to the scale ('1.500000000').
        trimmed = "CASE WHEN CONTAINS(_s_, '.') THEN RTRIM(RTRIM(_s_, '0'), '.') ELSE _s_ END"
        if _is_decimal_cast(x):
            sql = trimmed
        else:
            sql = f"CASE WHEN TYPEOF(__x__) LIKE 'DECIMAL%' THEN {trimmed} ELSE {cast}(__x__ AS VARCHAR) END"
    return _tpl(sql.replace("_s_", "CAST(__x__ AS VARCHAR)"), x=x)


def _fix_like(node: exp.Expression) -> exp.Expression | None:
    """BigQuery's LIKE takes a backslash as its escape character (r'a\\_b' matches only 'a_b');
    DuckDB's LIKE has none unless told, so the backslash would be an ordinary character."""
    if isinstance(node.parent, exp.Escape):
        return None
    pattern = node.expression
    if isinstance(pattern, (exp.Literal, exp.RawString)) and "\\" not in str(pattern.this):
        return None  # nothing to escape: keep the plain LIKE, which DuckDB optimises
    return exp.Escape(this=node, expression=exp.Literal.string("\\"))


_ZONE_TOKENS = re.compile(r"%%|%Ez|%z|%Z")


def _has_zone_token(fmt: str) -> bool:
    return any(m.group(0) != "%%" for m in _ZONE_TOKENS.finditer(fmt))


def _utc_format(fmt: str) -> str:
    """The format with BigQuery's zone elements written out for UTC, the default zone."""
    fixed = {"%%": "%%", "%Ez": "+00:00", "%z": "+0000", "%Z": "UTC"}
    return _ZONE_TOKENS.sub(lambda m: fixed[m.group(0)], fmt)


def _offset_sql(token: str) -> str:
    """SQL for %z / %Ez / %Z, given the zone's offset from UTC in seconds as _o_."""
    sign = "CASE WHEN _o_ < 0 THEN '-' ELSE '+' END"
    hours = "CAST(ABS(_o_) // 3600 AS VARCHAR)"
    minutes = "LPAD(CAST(ABS(_o_) % 3600 // 60 AS VARCHAR), 2, '0')"
    if token == "%z":
        return f"({sign} || LPAD({hours}, 2, '0') || {minutes})"
    if token == "%Ez":
        return f"({sign} || LPAD({hours}, 2, '0') || ':' || {minutes})"
    # %Z: BigQuery names the zone by its offset (format elements doc: 'UTC-5'; UTC itself is 'UTC').
    return (f"('UTC' || CASE WHEN _o_ = 0 THEN '' ELSE {sign} || {hours} || "
            f"CASE WHEN ABS(_o_) % 3600 = 0 THEN '' ELSE ':' || {minutes} END END)")


def _fix_format_timestamp(node: exp.TimeToStr) -> exp.Expression | None:
    """FORMAT_TIMESTAMP(fmt, ts [, zone]): sqlglot drops the zone, and DuckDB prints %Z of a UTC
    value as '' and %z as '+00' where BigQuery prints 'UTC' and '+0000'."""
    fmt, zone = node.args.get("format"), node.args.get("zone")
    tokens = isinstance(fmt, exp.Literal) and fmt.is_string and _has_zone_token(fmt.this)
    x = node.this.this
    if zone is None:
        if not tokens:
            return None
        return _tpl(f"STRFTIME(CAST(CAST(__x__ AS TIMESTAMPTZ) AS TIMESTAMP), {_sql_text(_utc_format(fmt.this))})",
                    x=x)
    local = "TIMEZONE(__z__, CAST(__x__ AS TIMESTAMPTZ))"  # the wall-clock time in the zone
    if not tokens:
        return _tpl(f"STRFTIME({local}, __f__)", x=x, z=zone, f=fmt)
    offset = f"CAST(EPOCH({local}) - EPOCH(TIMEZONE('UTC', CAST(__x__ AS TIMESTAMPTZ))) AS BIGINT)"
    pieces, last = [], 0
    for m in _ZONE_TOKENS.finditer(fmt.this):
        if m.group(0) == "%%":
            continue
        if m.start() > last:
            pieces.append(f"STRFTIME({local}, {_sql_text(fmt.this[last:m.start()])})")
        pieces.append(_offset_sql(m.group(0)).replace("_o_", offset))
        last = m.end()
    if last < len(fmt.this):
        pieces.append(f"STRFTIME({local}, {_sql_text(fmt.this[last:])})")
    return _tpl("(" + " || ".join(pieces) + ")", x=x, z=zone)


def _fix_parse_timestamp(node: exp.StrToTime) -> exp.Expression:
    """PARSE_TIMESTAMP(fmt, text [, zone]) is a TIMESTAMP: the text is wall-clock time in `zone`
    (UTC without one) unless it carries its own offset. DuckDB's strptime gives a zone-less
    TIMESTAMP (BigQuery's DATETIME), and sqlglot drops the zone."""
    fmt = node.args.get("format")
    zone = node.args.get("zone")
    parse = node.copy()
    parse.set("zone", None)
    if isinstance(fmt, exp.Literal) and fmt.is_string and re.search(r"%E?z|%Z", fmt.this.replace("%%", "")):
        return _tpl("CAST(__p__ AS TIMESTAMPTZ)", p=parse)  # the text names its own offset
    return _tpl("TIMEZONE(__z__, __p__)", z=zone if zone is not None else exp.Literal.string("UTC"), p=parse)


def _fix_substr(node: exp.Substring) -> None:
    """BigQuery SUBSTR starts at 1 when the position is 0 or before the start of the string
    (SUBSTR('abcdef', 0, 2) = 'ab'); DuckDB counts the positions before 1 against the length."""
    start = node.args.get("start")
    if start is None or (isinstance(start, exp.Literal) and _is_int_literal(start) and int(start.this) > 0):
        return None
    node.set("start", _tpl("CASE WHEN __p__ = 0 OR -__p__ > LENGTH(__s__) THEN 1 ELSE __p__ END",
                           p=start, s=node.this.copy()))
    return None


def _fix_array_index(node: exp.Bracket) -> exp.Expression | None:
    """arr[OFFSET(i)] / arr[ORDINAL(i)] outside the array is an error in BigQuery ("Array index 5
    is out of bounds (overflow)"); DuckDB returns NULL, which only SAFE_OFFSET/SAFE_ORDINAL do.
    Before the start DuckDB counts from the end (list[-1] is the last element): NULL in BigQuery."""
    base = int(node.args["offset"])
    index = node.expressions[0]
    if node.args.get("safe"):
        if isinstance(index, exp.Literal) and _is_int_literal(index):
            return None  # a non-negative literal: past the end DuckDB's NULL is BigQuery's NULL
        return _tpl(f"CASE WHEN __i__ >= {base} THEN LIST_EXTRACT(__a__, __i__ + {1 - base}) END",
                    a=node.this, i=index)
    text = "'Array index ' || CAST(__i__ AS VARCHAR) || ' is out of bounds "
    return _tpl(
        f"CASE WHEN __i__ < {base} THEN ERROR({text}(underflow)') "
        f"WHEN __i__ - {base} >= LEN(__a__) THEN ERROR({text}(overflow)') "
        f"ELSE LIST_EXTRACT(__a__, __i__ + {1 - base}) END",
        a=node.this, i=index,
    )


_BENIGN_WARNINGS = ("EXTRACT from TIMESTAMPTZ",)  # the session time zone is UTC, as in BigQuery


def _rewrite(node: exp.Expression) -> exp.Expression | None:
    """Return a replacement for `node`, or None to keep it. Children are already rewritten."""
    if isinstance(node, exp.Literal) and not node.is_string:
        text = str(node.this)
        if "." in text and "e" not in text.lower() and not _is_decimal_cast(node.parent):
            # BigQuery: an unannotated 1.5 is FLOAT64 (so 0.1 + 0.2 = 0.3 is FALSE); DuckDB: DECIMAL.
            return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
        if _is_int_literal(node) and isinstance(node.parent, (exp.Add, exp.Sub, exp.Mul)):
            other = node.parent.expression if node is node.parent.this else node.parent.this
            if _is_constant_int_arithmetic(other):
                # BigQuery integer literals are INT64; DuckDB's are INT32 and overflow at 2^31.
                return exp.Cast(this=node, to=exp.DataType.build("BIGINT"))
        return None
    if isinstance(node, exp.Extract):
        return _fix_extract(node)
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)):
        return _fix_trunc(node)
    if isinstance(node, (exp.DateAdd, exp.DateSub)):
        # BigQuery DATE_ADD/DATE_SUB return a DATE; DuckDB's date + interval is a TIMESTAMP.
        return exp.Cast(this=node, to=exp.DataType.build("DATE"))
    if isinstance(node, exp.CurrentDatetime):
        return _tpl("CAST(CURRENT_TIMESTAMP AS TIMESTAMP)")
    if isinstance(node, (exp.Cast, exp.TryCast)) and not node.to.expressions:
        return _fix_cast(node)
    if isinstance(node, exp.Div) and not _is_nonzero_number(node.expression):
        # BigQuery's / raises "division by zero"; DuckDB returns Infinity (or NaN) without a word.
        node.set("expression", _tpl("CASE WHEN __d__ = 0 THEN ERROR('division by zero') ELSE __d__ END",
                                    d=node.expression))
        return None
    if isinstance(node, exp.Anonymous) and node.name.upper() == "IEEE_DIVIDE" and len(node.expressions) == 2:
        a, b = node.expressions
        return _tpl("(CAST(__a__ AS DOUBLE) / CAST(__b__ AS DOUBLE))", a=a, b=b)
    if isinstance(node, exp.Format):
        # BigQuery FORMAT takes printf-style specifiers; DuckDB's format() takes {} and would
        # return the pattern unchanged.
        pattern = node.this
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            # %t/%T print any value as text: DuckDB's %s. BigQuery's ' flag groups thousands with
            # commas (FORMAT("%'d", 1234567) = '1,234,567'); DuckDB's printf spells that flag ","
            # (its own ' flag groups with apostrophes).
            text = re.sub(r"%'?([-+ #0]*\d*(?:\.\d+)?)[tT]", r"%\1s", pattern.this)
            pattern = exp.Literal.string(re.sub(r"%([-+ #0]*)'", r"%\1,", text))
        return exp.Anonymous(this="PRINTF", expressions=[pattern, *node.expressions])
    if isinstance(node, (exp.Like, exp.ILike)):
        return _fix_like(node)
    if type(node) is exp.TimeToStr and isinstance(node.this, exp.TsOrDsToTimestamp):
        return _fix_format_timestamp(node)
    if type(node) is exp.StrToTime:
        return _fix_parse_timestamp(node)
    if isinstance(node, exp.Substring):
        return _fix_substr(node)
    if isinstance(node, exp.Bracket) and node.args.get("offset") is not None and len(node.expressions) == 1:
        return _fix_array_index(node)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Limit):
        # ARRAY_AGG(x ORDER BY y LIMIT n): DuckDB has no LIMIT inside aggregates.
        limit = node.this
        node.set("this", limit.this)
        return exp.Anonymous(this="LIST_SLICE", expressions=[node, exp.Literal.number(1), limit.expression])
    if isinstance(node, exp.Unnest) and node.args.get("offset"):
        return _unnest_with_offset(node)
    if isinstance(node, exp.Delete) and not node.this and node.args.get("tables"):
        # BigQuery allows DELETE t WHERE ...; DuckDB needs DELETE FROM t.
        tables = node.args["tables"]
        node.set("tables", None)
        node.set("this", tables[0])
        return None
    if isinstance(node, exp.DataType):
        _fix_decimal_types(node)
        return None
    return None


_unnest_counter = iter(range(1, 1 << 62))


def _unnest_with_offset(node: exp.Unnest) -> exp.Expression:
    """UNNEST(a) AS x WITH OFFSET AS o: BigQuery's offset counts from 0, DuckDB's ORDINALITY from 1."""
    alias = node.args.get("alias")
    cols = [c.name for c in alias.columns] if alias is not None and alias.columns else []
    value_name = cols[0] if cols else (alias.name if alias is not None and alias.name else "f0_")
    offset_name = node.args["offset"].name or "offset"
    n = next(_unnest_counter)
    sub = _tpl(
        f'(SELECT _v AS "{value_name}", _i - 1 AS "{offset_name}" FROM UNNEST(__a__) WITH ORDINALITY AS _u(_v, _i))',
        a=node.expressions[0],
    )
    return exp.Subquery(this=sub.this if isinstance(sub, exp.Subquery) else sub,
                        alias=exp.TableAlias(this=exp.to_identifier(f"_unnest{n}")))


def _apply(tree: exp.Expression, fn: Callable[[exp.Expression], exp.Expression | None]) -> exp.Expression:
    """Rewrite bottom-up: every node sees its already rewritten children."""
    for node in reversed(list(tree.walk())):
        parent, key, index = node.parent, node.arg_key, node.index
        new = fn(node)
        if new is None or new is node:
            continue
        if parent is None:
            tree = new
        else:
            parent.set(key, new, index) if index is not None else parent.set(key, new)
    return tree


# ---------------------------------------------------------------------------------------------
# INFORMATION_SCHEMA

def _lit(value: str | None) -> str:
    return "NULL" if value is None else exp.Literal.string(value).sql("duckdb")


_HIDDEN_SQL = ", ".join(_lit(s) for s in HIDDEN_SCHEMAS)


def _tables_view(project: str, dataset: str | None) -> str:
    where = f"AND t.schema_name = {_lit(dataset)}" if dataset else ""
    return f"""
        SELECT {_lit(project)} AS table_catalog, t.schema_name AS table_schema, t.table_name AS table_name,
               t.table_type AS table_type, t.is_insertable_into AS is_insertable_into, 'NO' AS is_typed,
               m.created_at AS creation_time
        FROM (SELECT schema_name, table_name, 'BASE TABLE' AS table_type, 'YES' AS is_insertable_into
              FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary
              UNION ALL
              SELECT schema_name, view_name, 'VIEW', 'NO'
              FROM duckdb_views() WHERE database_name = current_database() AND NOT temporary AND NOT internal) AS t
        LEFT JOIN {INTERNAL_SCHEMA}.tables AS m ON m.dataset = t.schema_name AND m.table_name = t.table_name
        WHERE t.schema_name NOT IN ({_HIDDEN_SQL}) {where}
        ORDER BY t.schema_name, t.table_name"""


def _columns_view(project: str, dataset: str | None) -> str:
    where = f"AND c.schema_name = {_lit(dataset)}" if dataset else ""
    return f"""
        SELECT {_lit(project)} AS table_catalog, c.schema_name AS table_schema, c.table_name AS table_name,
               c.column_name AS column_name, CAST(c.column_index AS BIGINT) AS ordinal_position,
               CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable,
               _bq_type(c.data_type) AS data_type, 'NEVER' AS is_generated, 'NO' AS is_hidden,
               'NO' AS is_system_defined,
               CASE WHEN m.partition_column = c.column_name THEN 'YES' ELSE 'NO' END AS is_partitioning_column,
               CAST(NULL AS BIGINT) AS clustering_ordinal_position
        FROM duckdb_columns() AS c
        LEFT JOIN {INTERNAL_SCHEMA}.tables AS m ON m.dataset = c.schema_name AND m.table_name = c.table_name
        WHERE c.database_name = current_database() AND NOT c.internal AND c.schema_name NOT IN ({_HIDDEN_SQL}) {where}
        ORDER BY c.schema_name, c.table_name, c.column_index"""


def _schemata_view(project: str, location: str | None) -> str:
    return f"""
        SELECT {_lit(project)} AS catalog_name, s.schema_name AS schema_name, CAST(NULL AS VARCHAR) AS schema_owner,
               m.created_at AS creation_time, m.created_at AS last_modified_time, {_lit(location)} AS location,
               CAST(NULL AS VARCHAR) AS ddl, CAST(NULL AS VARCHAR) AS default_collation_name
        FROM duckdb_schemas() AS s
        LEFT JOIN {INTERNAL_SCHEMA}.datasets AS m ON m.dataset = s.schema_name
        WHERE s.database_name = current_database() AND NOT s.internal AND s.schema_name NOT IN ({_HIDDEN_SQL})
        ORDER BY s.schema_name"""


def _info_schema(table: exp.Table, project: str, datasets: list[str]) -> exp.Expression | None:
    name = table.name
    if not name.upper().startswith("INFORMATION_SCHEMA."):
        return None
    view = name.split(".", 1)[1].upper()
    qualifier = table.db or None
    region = qualifier[len("region-"):] if qualifier and qualifier.lower().startswith("region-") else None
    dataset = None if region else qualifier
    if view == "SCHEMATA":
        sql = _schemata_view(project, region)
    elif view in ("TABLES", "COLUMNS"):
        if not qualifier:
            raise UnsupportedSQL(
                f"INFORMATION_SCHEMA.{view} needs a dataset or region qualifier "
                f"(dataset.INFORMATION_SCHEMA.{view}), as in BigQuery without a default dataset."
            )
        if dataset:
            datasets.append(dataset)
        sql = _tables_view(project, dataset) if view == "TABLES" else _columns_view(project, dataset)
    else:
        raise UnsupportedSQL(
            f"The local warehouse does not support INFORMATION_SCHEMA.{view}; it offers TABLES, COLUMNS and SCHEMATA."
        )
    alias = table.alias if table.alias and "." not in table.alias else view
    return exp.Subquery(this=sqlglot.parse_one(sql, read="duckdb"), alias=exp.TableAlias(this=exp.to_identifier(alias)))


# ---------------------------------------------------------------------------------------------
# Statements

def _unsupported(tree: exp.Expression) -> UnsupportedSQL:
    try:
        text = tree.sql("bigquery")
    except SqlglotError:
        text = type(tree).__name__
    words = " ".join(text.split()[:2])
    return UnsupportedSQL(
        f"The local warehouse does not support the BigQuery statement starting {words!r} "
        f"(scripting, variables, models, exports and procedures run only on BigQuery)."
    )


def _strip_project(tree: exp.Expression, catalog: str | None) -> None:
    """Drop the project part of table names; with `catalog`, name the DuckDB database instead.

    A fully qualified name cannot be ambiguous: DuckDB reads `x.t` as catalog x or schema x, so a
    dataset that shares its name with the database file (or is called temp or system) needs it.
    """
    tables = list(tree.find_all(exp.Table))
    aliases = {t.alias_or_name for t in tables if t.name}
    for t in tables:
        if t.name.upper().startswith("INFORMATION_SCHEMA."):
            continue
        t.set("catalog", None)
        # `FROM ds.t AS t, t.arr` names an array column of the alias t, not a dataset.
        if catalog and t.db and t.db not in aliases:
            t.set("catalog", exp.to_identifier(catalog, quoted=True))


def _partition_column(prop: exp.Expression) -> str | None:
    target = prop.this
    if isinstance(target, exp.Identifier):
        name = target.name
    else:
        col = target if isinstance(target, exp.Column) else target.find(exp.Column)
        if col is None:
            return None
        name = col.name
    return None if name.upper() in ("_PARTITIONDATE", "_PARTITIONTIME") else name


def _merge_check(merge: exp.Merge) -> str | None:
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


def _fix_merge_insert_row(merge: exp.Merge) -> None:
    whens = merge.args.get("whens")
    for w in whens.expressions if whens is not None else []:
        then = w.args.get("then")
        if isinstance(then, exp.Insert) and isinstance(then.this, exp.Var) and then.this.name.upper() == "ROW":
            # BigQuery INSERT ROW inserts every source column, by position.
            w.set("then", exp.Var(this="INSERT BY POSITION"))


def _options(props: exp.Properties | None) -> tuple[list[tuple[str, str]], str | None, bool]:
    """OPTIONS(...) values, the partition column, and whether PARTITION BY was given."""
    options: list[tuple[str, str]] = []
    partition: str | None = None
    keep = []
    had_partition = False
    for p in list(props.expressions) if props is not None else []:
        if isinstance(p, exp.PartitionedByProperty):
            partition = _partition_column(p)
            had_partition = True
        elif isinstance(p, exp.Property) and type(p) is exp.Property:
            value = _apply(p.args["value"], _rewrite)
            options.append((p.name.lower(), value.sql("duckdb")))
        elif isinstance(p, (exp.ClusterProperty, exp.LocationProperty)):
            pass  # clustering and location mean nothing to a single-file DuckDB warehouse
        else:
            keep.append(p)
    if props is not None:
        props.set("expressions", keep)
    return options, partition, had_partition


def _ref(table: exp.Table) -> tuple[str, str] | None:
    return (table.db, table.name) if table.db and table.name else None


def _translate_one(tree: exp.Expression, project: str, catalog: str | None) -> Statement:
    if isinstance(tree, (exp.Transaction, exp.Commit)):
        # BEGIN/COMMIT TRANSACTION: the warehouse already runs a batch in one transaction.
        return Statement(sql="", kind="transaction")
    if isinstance(tree, (exp.Command, exp.Declare, exp.Set, exp.Export, exp.Rollback)) \
            or not isinstance(tree, (exp.Query, exp.DDL, exp.DML, exp.Merge, exp.Drop, exp.Alter, exp.TruncateTable)):
        raise _unsupported(tree)
    if isinstance(tree, exp.Create) and tree.kind not in ("TABLE", "VIEW", "SCHEMA", "FUNCTION"):
        raise UnsupportedSQL(f"The local warehouse does not support CREATE {tree.kind}; only BigQuery runs it.")
    _strip_project(tree, catalog)
    params = tuple(sorted({p.name for p in tree.find_all(exp.Parameter)}))
    tables = tuple(dict.fromkeys(
        r for r in (_ref(t) for t in tree.find_all(exp.Table)) if r and not r[1].upper().startswith("INFORMATION_SCHEMA.")))

    kind, dataset, table = "other", None, None
    replace = bool(tree.args.get("replace"))
    if_not_exists = bool(tree.args.get("exists"))
    options: list[tuple[str, str]] = []
    partition: str | None = None
    copy_from: tuple[str, str] | None = None
    merge_check: str | None = None
    drops: tuple[tuple[str, str], ...] = ()
    renamed_to: str | None = None

    if isinstance(tree, exp.Create):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if tree.kind == "SCHEMA":
            kind, dataset = "create_schema", target.db or target.name
        elif tree.kind in ("TABLE", "VIEW") and isinstance(target, exp.Table):
            kind = "create_table" if tree.kind == "TABLE" else "create_view"
            dataset, table = target.db or None, target.name
        options, partition, _ = _options(tree.args.get("properties"))
        for like in tree.find_all(exp.LikeProperty):
            copy_from = _ref(like.this)
        clone = tree.args.get("clone")
        if clone is not None:
            # CREATE TABLE x COPY y / CLONE y: a full copy (DuckDB has neither keyword).
            copy_from = _ref(clone.this)
            tree.set("clone", None)
            tree.set("expression", exp.select("*").from_(clone.this.copy()))
    elif isinstance(tree, exp.Drop):
        targets = [t for t in ([tree.this] if tree.this else []) + list(tree.args.get("tables") or [])
                   if isinstance(t, exp.Table)]
        if tree.kind == "SCHEMA" and targets:
            kind, dataset = "drop_schema", targets[0].db or targets[0].name
        elif tree.kind in ("TABLE", "VIEW") and targets:
            kind = "drop_table"
            drops = tuple((t.db, t.name) for t in targets if t.db)
    elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        kind, dataset, table = "alter", tree.this.db or None, tree.this.name
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AlterRename):
                kind, renamed_to = "rename_table", action.this.name
    elif isinstance(tree, exp.Merge):
        kind, dataset, table = "merge", tree.this.db or None, tree.this.name
        _fix_merge_insert_row(tree)
    elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.TruncateTable)):
        kind = "dml"
    elif isinstance(tree, exp.Query):
        kind = "query"

    tree = _apply(tree, _rewrite)
    # After the rewrites, so the views' own DuckDB SQL is not "corrected" as if it were BigQuery's.
    info_datasets: list[str] = []
    for t in list(tree.find_all(exp.Table)):
        view = _info_schema(t, project, info_datasets)
        if view is not None:
            t.replace(view)
    if isinstance(tree, exp.Merge):
        merge_check = _merge_check(tree)
    try:
        out = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        message = str(exc)
        if not all(any(b in line for b in _BENIGN_WARNINGS) for line in message.splitlines() if line.strip()):
            raise UnsupportedSQL(
                f"The local warehouse cannot translate this BigQuery SQL to DuckDB: {message.splitlines()[0]}."
            ) from None
        out = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.IGNORE)
    return Statement(
        sql=out, kind=kind, dataset=dataset, table=table, replace=replace, if_not_exists=if_not_exists,
        partition_column=partition, copy_from=copy_from, options=tuple(options), merge_check=merge_check,
        tables=tables, datasets=tuple(dict.fromkeys(info_datasets)), params=params, drops=drops,
        renamed_to=renamed_to,
    )


@lru_cache(maxsize=512)
def translate(sql: str, project: str = "sandbox", catalog: str | None = None) -> tuple[Statement, ...]:
    """Translate BigQuery SQL (one or more statements) into DuckDB statements.

    `project` is what INFORMATION_SCHEMA reports as the catalog; `catalog`, when given, is the DuckDB
    database name to qualify every dataset.table with.
    """
    try:
        trees = sqlglot.parse(sql, read="bigquery", error_level=ErrorLevel.RAISE)
    except ParseError as exc:
        errors = getattr(exc, "errors", None) or [{}]
        first = errors[0]
        near = first.get("highlight") or ""
        line = first.get("line")
        where = f" near {near!r} (line {line})" if near else ""
        description = first.get("description") or str(exc).splitlines()[0]
        description = re.sub(r"<Token token_type: [^,]+, text: ([^,]*), line: .*?>", r"'\1'", description)
        raise UnsupportedSQL(
            f"The local warehouse could not read this BigQuery SQL{where}: {description.rstrip('.')}."
        ) from None
    statements = [_translate_one(t, project, catalog) for tree in trees if tree is not None
                  for t in _one_object_per_drop(tree)]
    if not statements:
        raise UnsupportedSQL("The SQL given to the local warehouse contains no statement.")
    return tuple(statements)


def _one_object_per_drop(tree: exp.Expression) -> list[exp.Expression]:
    """DROP TABLE a, b: DuckDB drops one object per statement."""
    tables = tree.args.get("tables") if isinstance(tree, exp.Drop) else None
    if not tables or len(tables) < 2:
        return [tree]
    out = []
    for t in tables:
        single = tree.copy()
        single.set("tables", [t.copy()])
        out.append(single)
    return out


def to_duckdb(sql: str, many: bool = False, project: str = "sandbox"):
    """DuckDB SQL for BigQuery `sql`: one string, or a list of strings with many=True."""
    out = [s.sql for s in translate(sql, project) if s.kind != "transaction"]
    if many:
        return out
    if len(out) != 1:
        raise ValueError(f"expected one SQL statement, got {len(out)}")
    return out[0]


def register_functions(con) -> None:
    """Give a DuckDB connection the BigQuery functions DuckDB lacks (cheap; once per connection)."""
    import duckdb

    con.create_function("farm_fingerprint", farm_fingerprint, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.BIGINT,
                        type="native", null_handling="default", side_effects=False)
    con.create_function("_bq_type", bigquery_type, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR,
                        type="native", null_handling="default", side_effects=False)


