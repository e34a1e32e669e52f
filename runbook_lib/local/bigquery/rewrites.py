"""Rewrites of the BigQuery syntax tree, one small function per construct, dispatched by node class.

sqlglot turns BigQuery SQL into valid DuckDB SQL; the rewrites here correct what would then give
a *different answer* than BigQuery (each is pinned by a golden test in tests/test_dialect.py); one,
_filtered_array_agg, fixes a cost instead (sqlglot's form makes DuckDB do per row what it need not).
REWRITES maps a sqlglot expression class to its rewrite, as sqlglot's own dialects map classes to
generators in their TRANSFORMS; a subclass without an entry of its own uses its parent's.
A rewrite gets a node whose children are already rewritten and returns a replacement, or None to
keep the node (possibly changed in place).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from sqlglot import exp

from .approximate_aggregates import approx_quantiles, approx_top_count, approx_top_sum, nulls_clause
from .arrays import (array_slice, array_to_string_null_text, first_or_last, nonzero_step,
                     struct_columns_named_as_the_first_branch, struct_elements_named_as_the_first, unnest)
from .casts import fix_cast
from .column_order import bigquery_star_order
from .concatenation import concat_as_strings, pipes_as_strings
from .datetimes import (CONSTRUCTED, DATE_ARITHMETIC, constructed, date_arithmetic, date_from_unix_date,
                        datetime_in_zone, fix_extract, fix_trunc, interval_arithmetic,
                        interval_span, offset_zone, string_in_zone, time_of, timestamp_array_bounds, timestamp_diff,
                        timestamp_in_zone, unix_millis, unix_seconds, unix_to_time)
from .errors import UnsupportedSQL
from .json_conversions import (json_bool, json_float64, json_int64, json_string, recursive_descent,
                               unfollowed_path)
from .json_nulls import (fix_json_query, fix_json_type, json_arrays_only, json_set_values, json_strip_nulls,
                         malformed_json_is_null)
from .decimal_math import CALLS as DECIMAL_MATH
from .decimal_math import decimal_math
from .math_domains import (DOMAIN_CHECKED, bit_count, corr, corr_window, left_shift, outside_domain, sign,
                           right_shift)
from .numeric_types import RESULT
from .numerics import (average, common_supertype, division, integer_division, product, rounding, safe_division,
                       windowed_average)
from .navigation import checked_offset
from .parse_formats import fix_parse_timestamp, parse_elements_checked
from .print_formats import fix_format_timestamp
from .printf_format import printf_format
from .quantified_like import quantified_like
from .subscripts import SUBSCRIPT_OF
from .differences import DIFFERENCE_OF
from .nan_comparisons import COMPARISONS as NAN_COMPARED
from .nans import nan_comparison, nan_least, nan_min, nan_min_window, nan_sorts_first
from .sqltree import fails, field_value, is_decimal_cast, is_int_literal, sql_text, tpl, volatile
from .string_lengths import LENGTH_CHECKED, negative_length
from .trims import trim_whitespace
from .characters import CHARACTER_REWRITES
from .regexps import REGEXP_REWRITES
from .typenames import fix_decimal_types

Rewrite = Callable[[exp.Expression], "exp.Expression | None"]


def _is_constant_int_arithmetic(node: exp.Expression) -> bool:
    """An integer literal, or +, -, * over integer literals (possibly already cast to BIGINT)."""
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.BIGINT:
        node = node.this
    if isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        return _is_constant_int_arithmetic(node.this) and _is_constant_int_arithmetic(node.expression)
    return is_int_literal(node)


_DECIMALS = (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def _in_decimal_slot(node: exp.Literal) -> bool:
    """Whether a decimal literal goes where BigQuery coerces it to NUMERIC or BIGNUMERIC exactly (conversion rules,
    literal coercion): an element of `ARRAY<NUMERIC>[...]`, a NUMERIC field of `STRUCT<...>(...)`, or a value of an
    INSERT's VALUES row (DuckDB casts it to the column's type: a DECIMAL exactly, a FLOAT64 to the nearest double).
    As a DOUBLE first, 123456789.123456789 was stored as ...784."""
    value: exp.Expression = node.parent if isinstance(node.parent, exp.Neg) else node
    holder = value.parent
    if isinstance(holder, exp.Tuple) and isinstance(holder.parent, exp.Values):
        return True
    typed = holder.parent if isinstance(holder, (exp.Array, exp.Struct)) else None
    if not isinstance(typed, exp.Cast) or not typed.to.expressions:
        return False
    if isinstance(holder, exp.Array) and typed.to.is_type(exp.DataType.Type.ARRAY):
        element = typed.to.expressions[0]
    elif isinstance(holder, exp.Struct) and typed.to.is_type(exp.DataType.Type.STRUCT) \
            and len(typed.to.expressions) == len(holder.expressions):
        field = typed.to.expressions[next(i for i, e in enumerate(holder.expressions) if e is value)]
        element = field.args.get("kind") if isinstance(field, exp.ColumnDef) else field
    else:
        return False
    return isinstance(element, exp.DataType) and element.this in _DECIMALS


def _number_literal(node: exp.Literal) -> exp.Expression | None:
    if node.is_string:
        return None
    text = str(node.this)
    if "." in text and "e" not in text.lower() and not is_decimal_cast(node.parent) and not _in_decimal_slot(node):
        # BigQuery: an unannotated 1.5 is FLOAT64 (so 0.1 + 0.2 = 0.3 is FALSE); DuckDB: DECIMAL.
        return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
    if is_int_literal(node) and isinstance(node.parent, (exp.Add, exp.Sub, exp.Mul)):
        other = node.parent.expression if node is node.parent.this else node.parent.this
        if _is_constant_int_arithmetic(other):
            # BigQuery integer literals are INT64; DuckDB's are INT32 and overflow at 2^31.
            return exp.Cast(this=node, to=exp.DataType.build("BIGINT"))
    return None


# The current date and time as functions, not DuckDB's bare CURRENT_DATE / CURRENT_TIMESTAMP keywords, which bind to a
# select-list alias of the same name (`SELECT CURRENT_DATE() AS current_date` was refused); in the zone asked for.
def _current_datetime(node: exp.CurrentDatetime) -> exp.Expression:
    zone = node.this
    if zone is None:
        return tpl("CAST(GET_CURRENT_TIMESTAMP() AS TIMESTAMP)")
    return tpl("CAST(TIMEZONE(__z__, GET_CURRENT_TIMESTAMP()) AS TIMESTAMP)", z=zone)


def _set_to_default(node: exp.Column) -> exp.Expression | None:
    """`UPDATE ... SET c = DEFAULT` (and MERGE's UPDATE SET): the keyword, which sqlglot reads as a column "DEFAULT"."""
    if node.table or node.this.quoted or node.name.upper() != "DEFAULT":
        return None
    parent = node.parent
    if isinstance(parent, exp.EQ) and parent.expression is node and isinstance(parent.parent, (exp.Update, exp.Merge,
                                                                                                exp.When)):
        return exp.var("DEFAULT")
    return None


def _byte_length(node: exp.ByteLength) -> exp.Expression:
    """BYTE_LENGTH of a STRING is its UTF-8 length (sqlglot's OCTET_LENGTH takes only BLOBs)."""
    return tpl("CASE WHEN TYPEOF(__x__) = 'BLOB' THEN OCTET_LENGTH(CAST(__x__ AS BLOB)) "
               "ELSE OCTET_LENGTH(ENCODE(CAST(__x__ AS VARCHAR))) END", x=node.this)


def _difference(node: exp.Sub) -> exp.Expression | None:
    """DATE - DATE, and TIMESTAMP or DATETIME differences, as BigQuery's INTERVAL (differences.py)."""
    kind = node.meta.get(DIFFERENCE_OF)
    if kind == "DATE":
        return tpl("TO_DAYS(CAST(__a__ - __b__ AS INTEGER))", a=node.this, b=node.expression)
    if kind is not None:
        return tpl("TO_MICROSECONDS(EPOCH_US(__a__) - EPOCH_US(__b__))", a=node.this, b=node.expression)
    return None


def _current_date(node: exp.CurrentDate) -> exp.Expression | None:
    if node.this is not None:
        return tpl("CAST(TIMEZONE(__z__, GET_CURRENT_TIMESTAMP()) AS DATE)", z=node.this)
    return tpl("CAST(GET_CURRENT_TIMESTAMP() AS DATE)")


def _current_timestamp(node: exp.CurrentTimestamp) -> exp.Expression | None:
    return tpl("GET_CURRENT_TIMESTAMP()") if node.this is None else None


def _countif(node: exp.Expression) -> exp.Expression | None:
    """Aggregate functions doc (COUNTIF): the number of TRUE values, 0 when there is none; DuckDB's
    COUNT_IF gives NULL when every value is NULL. COALESCE(COUNT_IF(x), 0), around the window of a
    windowed one (COUNT(NULLIF(x, FALSE)) would count the same, about 4 times slower)."""
    if isinstance(node, exp.CountIf) and isinstance(node.parent, exp.Window):
        return None   # the window is wrapped instead
    if isinstance(node, exp.Window) and not isinstance(node.this, exp.CountIf):
        return None
    return exp.Coalesce(this=node, expressions=[exp.Literal.number(0)])


BIGQUERY_TYPEOF = "bigquery_typeof"   # meta of a TYPEOF the SQL itself calls (statements.py marks them)


def _typeof(node: exp.Typeof) -> exp.Expression | None:
    """TYPEOF (utility functions doc) names BigQuery's types: TYPEOF(12+1) is 'INT64', TYPEOF(NULL) 'INT64' (a NULL
    literal is typed INT64); DuckDB's said 'INTEGER', 'VARCHAR', '"NULL"'. (Folded when DuckDB binds the query.)"""
    if not node.meta_get(BIGQUERY_TYPEOF):
        return None
    return tpl("CASE WHEN TYPEOF(__x__) = '\"NULL\"' THEN 'INT64' ELSE _bq_type(TYPEOF(__x__)) END", x=node.this)


def _mathematical(node: exp.Expression) -> exp.Expression | None:
    """A mathematical function: of a NUMERIC or BIGNUMERIC in decimal (decimal_math.py), else checked for a result
    BigQuery refuses (math_domains.py)."""
    return decimal_math(node) or (outside_domain(node) if isinstance(node, DOMAIN_CHECKED) else None)


def _anonymous(node: exp.Anonymous) -> exp.Expression | None:
    if node.name.upper() == "IEEE_DIVIDE" and len(node.expressions) == 2:
        a, b = node.expressions
        return tpl("(CAST(__a__ AS DOUBLE) / CAST(__b__ AS DOUBLE))", a=a, b=b)
    return None


def _like_with_backslash_escapes(node: exp.Expression) -> exp.Expression | None:
    """BigQuery's LIKE takes a backslash as its escape character (r'a\\_b' matches only 'a_b');
    DuckDB's LIKE has none unless told, so the backslash would be an ordinary character."""
    if isinstance(node.parent, exp.Escape):
        return None
    pattern = node.expression
    if isinstance(pattern, (exp.Literal, exp.RawString)) and "\\" not in str(pattern.this):
        return None  # nothing to escape: keep the plain LIKE, which DuckDB optimises
    return exp.Escape(this=node, expression=exp.Literal.string("\\"))


def _substr(node: exp.Substring) -> None:
    """BigQuery SUBSTR starts at 1 when the position is 0 or before the start of the string
    (SUBSTR('abcdef', 0, 2) = 'ab'); DuckDB counts the positions before 1 against the length.
    A negative length is an error in BigQuery (NULL under SAFE.); DuckDB returns ''."""
    start, length = node.args.get("start"), node.args.get("length")
    if start is not None and not (isinstance(start, exp.Literal) and is_int_literal(start) and int(start.this) > 0):
        node.set("start", tpl("CASE WHEN __p__ = 0 OR -__p__ > LENGTH(__s__) THEN 1 ELSE __p__ END",
                              p=start, s=node.this.copy()))
    if length is not None and not (isinstance(length, exp.Literal) and is_int_literal(length)):
        failure = fails(node, sql_text("Third argument in SUBSTR() cannot be negative"))
        # (a NULL string or position makes the result NULL first: functions_testlib_string_2.cc)
        node.set("length", tpl(f"CASE WHEN __l__ < 0 AND __s__ IS NOT NULL AND __p__ IS NOT NULL THEN {failure} "
                               "ELSE __l__ END", l=length, s=node.this.copy(),
                               p=(start or exp.Literal.number(1)).copy()))
    return None


def _array_subscript(node: exp.Bracket) -> exp.Expression | None:
    """arr[OFFSET(i)] / arr[ORDINAL(i)] outside the array is an error in BigQuery ("Array index 5
    is out of bounds (overflow)"); DuckDB returns NULL, which only SAFE_OFFSET/SAFE_ORDINAL do.
    Before the start DuckDB counts from the end (list[-1] is the last element): NULL in BigQuery."""
    if len(node.expressions) != 1:
        return None
    if node.args.get("offset") is None:
        return _bare_subscript(node)
    base = int(node.args["offset"])
    index = node.expressions[0]
    if node.args.get("safe"):
        if isinstance(index, exp.Literal) and is_int_literal(index):
            return None  # a non-negative literal: past the end DuckDB's NULL is BigQuery's NULL
        return tpl(f"CASE WHEN __i__ >= {base} THEN LIST_EXTRACT(__a__, __i__ + {1 - base}) END",
                   a=node.this, i=index)
    text = "'Array index ' || CAST(__i__ AS VARCHAR) || ' is out of bounds "
    return tpl(
        f"CASE WHEN __i__ < {base} THEN ERROR({text}(underflow)') "
        f"WHEN __i__ - {base} >= LEN(__a__) THEN ERROR({text}(overflow)') "
        f"ELSE LIST_EXTRACT(__a__, __i__ + {1 - base}) END",
        a=node.this, i=index,
    )


def _bare_subscript(node: exp.Bracket) -> exp.Expression | None:
    """arr[i] as arr[OFFSET(i)], json[i] from 0, where subscripts.py knew which the base is."""
    kind = node.meta.get(SUBSCRIPT_OF)
    if kind == "JSON":
        return tpl("CASE WHEN __i__ >= 0 THEN JSON_EXTRACT(__a__, '$[' || CAST(__i__ AS VARCHAR) || ']') END",
                   a=node.this, i=node.expressions[0])
    if kind == "ARRAY":
        return _array_subscript(exp.Bracket(this=node.this, expressions=list(node.expressions), offset=0))
    return None


def _array_agg_limit(node: exp.ArrayAgg) -> exp.Expression | None:
    # ARRAY_AGG(x ORDER BY y LIMIT n): DuckDB has no LIMIT inside aggregates.
    if not isinstance(node.this, exp.Limit):
        return None
    limit = node.this
    node.set("this", limit.this)
    return exp.Anonymous(this="LIST_SLICE", expressions=[node, exp.Literal.number(1), limit.expression])


def _filtered_array_agg(node: exp.IgnoreNulls) -> exp.Expression | None:
    """ARRAY_AGG(IF(c, NULL, STRUCT(...)) IGNORE NULLS) gathers the same as ARRAY_AGG(STRUCT(...))
    FILTER (WHERE (c) IS NOT TRUE), since a STRUCT constructor is never NULL (and IF(c, STRUCT(...),
    NULL) as FILTER (WHERE c)). sqlglot writes IGNORE NULLS as a FILTER that repeats the IF, and DuckDB
    then fills a CASE of the whole struct for every row; referencing the columns as a struct costs
    nothing (measured: a tenth to a sixth of the CPU of runbook_lib.compare's one-pass statement,
    which gathers its few odd rows so, at 10M rows)."""
    agg = node.this
    branch = agg.this if isinstance(agg, exp.ArrayAgg) else None
    if not isinstance(branch, exp.If):
        return None
    condition, true, false = branch.this, branch.args.get("true"), branch.args.get("false")
    if isinstance(true, exp.Null) and isinstance(false, exp.Struct):
        kept, wanted = false, exp.Is(this=exp.paren(condition), expression=exp.Not(this=exp.true()))
    elif isinstance(true, exp.Struct) and isinstance(false, exp.Null):
        kept, wanted = true, condition
    else:
        return None
    agg.set("this", kept)
    return exp.Filter(this=agg, expression=exp.Where(this=wanted))


def _delete_without_from(node: exp.Delete) -> None:
    # BigQuery allows DELETE t WHERE ...; DuckDB needs DELETE FROM t.
    if not node.this and node.args.get("tables"):
        tables = node.args["tables"]
        node.set("tables", None)
        node.set("this", tables[0])
    return None


def _decimal_types(node: exp.DataType) -> None:
    fix_decimal_types(node)
    if node.is_type(exp.DataType.Type.STRUCT):
        # STRUCT<INT64, STRING>: anonymous fields (data types doc), which a DuckDB STRUCT type must name; named as
        # sqlglot names a STRUCT(1, 'a') constructor's, _0, _1, ... (DuckDB refused the type in its parser's words)
        node.set("expressions", [exp.ColumnDef(this=exp.to_identifier(f"_{i}"), kind=field)
                                 if isinstance(field, exp.DataType) else field
                                 for i, field in enumerate(node.expressions)])
    return None


# INSTR(value, subvalue, position, occurrence) (string functions doc): the position of the
# occurrence-th match (overlapping matches count) searching forwards from position, or backwards
# from position counted from the end when it is negative; 0 when there is none; an error when
# position is 0 or occurrence is not positive; NULL when any argument is NULL.
_INSTR = """
CASE WHEN __v__ IS NULL OR __s__ IS NULL OR __p__ IS NULL OR __o__ IS NULL THEN NULL
     WHEN __p__ = 0 THEN {zero_position}
     WHEN __o__ <= 0 THEN {bad_occurrence}
     ELSE COALESCE(LIST_EXTRACT(CASE WHEN __p__ > 0 THEN LIST_FILTER({starts}, lambda _instr_i: _instr_i >= __p__)
                                     ELSE LIST_REVERSE(LIST_FILTER({starts}, lambda _instr_i: _instr_i <= LENGTH(__v__) + __p__ + 1))
                                END, __o__), 0)
END"""
_INSTR_STARTS = "LIST_FILTER(RANGE(1, LENGTH(__v__) + 1), lambda _instr_j: SUBSTRING(__v__, _instr_j, LENGTH(__s__)) = __s__)"


def _instr(node: exp.StrPosition) -> exp.Expression | None:
    position, occurrence = node.args.get("position"), node.args.get("occurrence")
    if position is None and occurrence is None:
        return None  # STRPOS / two-argument INSTR: DuckDB's strpos answers the same
    sql = _INSTR.format(
        starts=_INSTR_STARTS,
        zero_position=fails(node, sql_text("INSTR position must not be 0")),
        bad_occurrence=fails(node, "'INSTR occurrence must be positive, got ' || CAST(__o__ AS VARCHAR)"),
    )
    one = exp.Literal.number(1)
    return tpl(sql, v=node.this, s=node.args["substr"], p=position or one, o=occurrence or one.copy())


def _struct_field(field: exp.Expression) -> tuple[str, exp.Expression]:
    """A STRUCT(...) field's name as BigQuery gives it (its alias, a column's or path's last name, else
    "" for an anonymous field) and its value."""
    if isinstance(field, (exp.Alias, exp.PropertyEQ)):
        return field.alias if isinstance(field, exp.Alias) else field.name, field_value(field)
    return (field.name if isinstance(field, exp.Column) else ""), field


def _to_json_string(node: exp.JSONFormat) -> exp.Expression | None:
    """TO_JSON_STRING(value[, pretty_print]): BigQuery's JSON text (json_text.py), where DuckDB's
    to_json writes 1e20 as 100000000000000000000.0, a TIMESTAMP with a space and +00, BYTES as text.
    TO_JSON(value[, stringify_wide_numbers=>b]): the same encodings as a JSON value (json_text.to_json: members
    sorted, a repeated field once), typed JSON, where sqlglot's translation made DuckDB's to_json text.
    A STRUCT(...) written as the argument itself may have anonymous or repeated field names, which
    BigQuery writes ("" and both) and a DuckDB struct cannot hold: its fields are renamed by position
    and BigQuery's names handed over beside it."""
    to_json = bool(node.args.get("to_json"))
    value = node.this
    names = tpl("CAST(NULL AS VARCHAR[])")   # typed: DuckDB before 2.0 hands no untyped NULL to Arrow
    if isinstance(value, exp.Tuple):   # (x, y): "an anonymous struct type with anonymous fields" (data types doc)
        value = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(f"_field{i}"), expression=v.copy())
                                        for i, v in enumerate(value.expressions)])
        names = exp.Array(expressions=[exp.Literal.string("") for _ in value.expressions])
    elif isinstance(value, exp.Struct):
        fields = [_struct_field(f) for f in value.expressions]
        bigquery_names = [name for name, _ in fields]
        if "" in bigquery_names or len({n.lower() for n in bigquery_names}) < len(bigquery_names):
            value.set("expressions", [exp.PropertyEQ(this=exp.to_identifier(f"_field{i}"), expression=v)
                                      for i, (_, v) in enumerate(fields)])
            names = exp.Array(expressions=[exp.Literal.string(n) for n in bigquery_names])
    kind = exp.Anonymous(this="TYPEOF", expressions=[value.copy()])
    if to_json:
        return tpl("CAST(__j__ AS JSON)", j=exp.Anonymous(
            this="_bq_to_json", expressions=[value, kind, _stringify_wide_numbers(node), names]))
    pretty = node.args.get("options") or exp.false()
    return exp.Anonymous(this="_bq_to_json_string", expressions=[value, kind, pretty, names])


def _plain_json(value: exp.Expression) -> bool:
    """A literal DuckDB's JSON_ARRAY and JSON_OBJECT write as TO_JSON does: a string, a whole number, a boolean, NULL."""
    return isinstance(value, (exp.Boolean, exp.Null)) or (
        isinstance(value, exp.Literal) and (value.is_string or is_int_literal(value)))


def _json_constructor_values(node: exp.JSONArray | exp.JSONObject) -> None:
    """JSON_ARRAY's and JSON_OBJECT's values are encoded as TO_JSON encodes them (JSON functions doc; compliance
    functions_testlib_json.cc, JsonArray and JsonObject): DuckDB's own wrote a NUMERIC with all nine places
    ([1.500000000]) and a TIMESTAMP in its own text."""
    slots = [(e, "expression") for e in node.expressions if isinstance(e, exp.JSONKeyValue)] \
        if isinstance(node, exp.JSONObject) else [(node, i) for i in range(len(node.expressions))]
    for holder, key in slots:
        value = holder.expression if key == "expression" else holder.expressions[key]
        if value is None or _plain_json(value):
            continue
        encoded = _to_json_string(exp.JSONFormat(this=value.copy(), to_json=True))
        if key == "expression":
            holder.set("expression", encoded)
        else:
            holder.expressions[key] = encoded
            encoded.parent, encoded.arg_key, encoded.index = holder, "expressions", key


def _stringify_wide_numbers(node: exp.JSONFormat) -> exp.Expression:
    """TO_JSON's stringify_wide_numbers=>b (FALSE when not given)."""
    option = node.args.get("options")
    if option is None:
        return exp.false()
    if isinstance(option, exp.Kwarg) and option.this.name.lower() == "stringify_wide_numbers":
        return option.expression
    raise UnsupportedSQL(f"The local warehouse's TO_JSON takes stringify_wide_numbers=>TRUE or FALSE only, "
                         f"not {option.sql('bigquery')}.")


def _safe_prefix(node: exp.SafeFunc) -> exp.Expression:
    """SAFE.f(args) (functions doc, SAFE. prefix): NULL where f itself would raise an error, but an
    argument's own error still raises. DuckDB's TRY() turns any error inside it into NULL, and
    refuses volatile functions, ERROR() among them: an argument that carries one of the kit's
    raising corrections (x / y, CAST from STRING, OFFSET) cannot be wrapped without hiding it."""
    call = node.this
    name = call.name.upper() if isinstance(call, exp.Anonymous) else (
        call.sql_name() if isinstance(call, exp.Func) else type(call).__name__.upper())
    return _try(call, f"SAFE.{name}", "under SAFE.", "drop SAFE")


def _try(call: exp.Expression, name: str, where: str, instead: str) -> exp.Expression:
    """TRY(call): NULL where `call` raises, refused when an argument could raise (TRY would hide it)."""
    if volatile(call):
        raise UnsupportedSQL(
            f"The local warehouse cannot run {name} over an argument that can itself fail (a division, "
            f"a CAST from STRING, an OFFSET) or is random: BigQuery still raises an argument's error {where}, "
            f"and DuckDB's TRY() would hide it; use SAFE_DIVIDE, SAFE_CAST or SAFE_OFFSET in the argument, or {instead}."
        )
    return exp.Anonymous(this="TRY", expressions=[call])


# (each operand in parentheses: SAFE_SUBTRACT(a, b - c) is a - (b - c))
_SAFE_OPERATORS: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression]] = {
    exp.SafeAdd: lambda n: exp.Add(this=exp.paren(n.this), expression=exp.paren(n.expression)),
    exp.SafeSubtract: lambda n: exp.Sub(this=exp.paren(n.this), expression=exp.paren(n.expression)),
    exp.SafeMultiply: lambda n: exp.Mul(this=exp.paren(n.this), expression=exp.paren(n.expression)),
}


def _safe_arithmetic(node: exp.Expression) -> exp.Expression:
    """SAFE_ADD, SAFE_SUBTRACT, SAFE_MULTIPLY (mathematical functions doc): the operator's answer, or
    NULL where it overflows; DuckDB has none of them, and raises on an overflow (TRY: NULL)."""
    operation = _SAFE_OPERATORS[type(node)](node)
    # SAFE_MULTIPLY of NUMERICs is a NUMERIC, corrected as their product is (numerics.py); DuckDB's was DECIMAL(38, 18),
    # read back as a BIGNUMERIC. (A BIGNUMERIC product's correction can refuse a value, which TRY() would hide.)
    if isinstance(operation, exp.Mul) and node.meta.get(RESULT) == "NUMERIC":
        operation.meta.update(node.meta)
        operation = product(operation) or operation
    return _try(exp.paren(operation), node.sql_name(), "in a SAFE_ function", "use the operator")


REWRITES: dict[type[exp.Expression], Rewrite] = {
    exp.Literal: lambda node: offset_zone(node) or _number_literal(node),
    exp.Extract: fix_extract,
    exp.DateTrunc: fix_trunc,
    exp.TimestampTrunc: fix_trunc,
    exp.DatetimeTrunc: fix_trunc,
    **{cls: date_arithmetic for cls in DATE_ARITHMETIC},   # (a DATE; an error past the range)
    exp.Add: interval_arithmetic,
    exp.CurrentDatetime: _current_datetime,
    exp.CurrentDate: _current_date,
    exp.Column: _set_to_default,
    exp.ByteLength: _byte_length,
    exp.Sub: lambda node: _difference(node) or interval_arithmetic(node),
    exp.CurrentTimestamp: _current_timestamp,
    exp.TimestampDiff: timestamp_diff,
    exp.Timestamp: timestamp_in_zone,
    exp.Datetime: datetime_in_zone,
    exp.TsOrDsToTime: time_of,   # TIME(x)
    **dict.fromkeys(CONSTRUCTED, constructed),   # DATE(y, m, d), TIME(h, m, s), DATETIME(y, m, d, h, m, s)
    **dict.fromkeys((exp.StrToDate, exp.ParseTime, exp.ParseDatetime), parse_elements_checked),
    exp.String: lambda node: json_string(node) or string_in_zone(node),
    exp.UnixSeconds: unix_seconds,
    exp.UnixMillis: unix_millis,
    exp.DateFromUnixDate: date_from_unix_date,
    exp.UnixToTime: unix_to_time,
    exp.GenerateTimestampArray: lambda node: timestamp_array_bounds(node) or nonzero_step(node),
    **dict.fromkeys((exp.GenerateSeries, exp.GenerateDateArray), nonzero_step),   # arrays.py
    exp.Cast: fix_cast,  # and TryCast (SAFE_CAST)
    exp.Div: division,   # numerics.py: NUMERIC and BIGNUMERIC results, typed and rounded as BigQuery's
    exp.IntDiv: integer_division,
    exp.SafeDivide: safe_division,
    exp.Mul: product,
    exp.Avg: average,
    **{cls: common_supertype for cls in (exp.Coalesce, exp.If, exp.Case, exp.Greatest)},
    exp.Least: nan_least,
    exp.Min: nan_min,
    **{cls: rounding for cls in (exp.Round, exp.Trunc, exp.Ceil, exp.Floor)},
    exp.Sign: lambda node: rounding(node) or sign(node),
    exp.Anonymous: _anonymous,
    exp.Typeof: _typeof,
    exp.Format: printf_format,   # printf_format.py
    exp.Like: lambda node: quantified_like(node) or _like_with_backslash_escapes(node),   # (quantified_like.py)
    exp.ILike: _like_with_backslash_escapes,
    exp.TimeToStr: fix_format_timestamp,
    exp.StrToTime: fix_parse_timestamp,
    exp.Substring: _substr,
    exp.StrPosition: _instr,
    exp.Bracket: _array_subscript,
    exp.ArrayAgg: _array_agg_limit,
    exp.IgnoreNulls: lambda node: nulls_clause(node) or _filtered_array_agg(node),
    exp.RespectNulls: nulls_clause,
    exp.ApproxQuantiles: approx_quantiles,   # approximate_aggregates.py
    exp.ApproxTopK: approx_top_count,
    exp.ApproxTopSum: approx_top_sum,
    exp.Unnest: unnest,
    exp.ArraySlice: array_slice,
    exp.ArrayToString: array_to_string_null_text,
    **dict.fromkeys((exp.ArrayFirst, exp.ArrayLast), first_or_last),
    exp.SetOperation: struct_columns_named_as_the_first_branch,
    exp.Select: bigquery_star_order,
    exp.Array: struct_elements_named_as_the_first,
    exp.Delete: _delete_without_from,
    exp.DataType: _decimal_types,
    exp.SafeFunc: _safe_prefix,
    exp.CountIf: _countif,
    exp.Window: lambda node: (windowed_average(node) or corr_window(node) or _countif(node)
                              or nan_min_window(node)),
    exp.Corr: corr,
    exp.Interval: interval_span,   # datetimes.py: INTERVAL '1-2' YEAR TO MONTH
    **dict.fromkeys((exp.Lag, exp.Lead), checked_offset),   # navigation.py
    exp.BitwiseCount: bit_count,
    exp.BitwiseLeftShift: left_shift,
    exp.BitwiseRightShift: right_shift,
    **dict.fromkeys((*DOMAIN_CHECKED, *DECIMAL_MATH), _mathematical),
    **{cls: negative_length for cls in LENGTH_CHECKED},   # string_lengths.py
    exp.Trim: trim_whitespace,   # trims.py
    **CHARACTER_REWRITES,   # characters.py
    **REGEXP_REWRITES,   # regexps.py
    exp.Concat: concat_as_strings,   # concatenation.py
    exp.DPipe: pipes_as_strings,
    **{cls: _safe_arithmetic for cls in _SAFE_OPERATORS},
    exp.JSONFormat: _to_json_string,
    **dict.fromkeys((exp.JSONArray, exp.JSONObject), _json_constructor_values),
    exp.JSONType: fix_json_type,
    exp.JSONExtract: lambda node: unfollowed_path(node) or malformed_json_is_null(node) or fix_json_query(node),
    exp.JSONExtractScalar: lambda node: unfollowed_path(node) or malformed_json_is_null(node),
    exp.JSONPath: recursive_descent,   # json_conversions.py
    exp.Int64: json_int64,
    exp.Float64: json_float64,
    exp.JSONBool: json_bool,
    exp.JSONSet: json_set_values,
    exp.JSONStripNulls: json_strip_nulls,
    **{cls: lambda node: unfollowed_path(node) or json_arrays_only(node)
       for cls in (exp.JSONValueArray, exp.JSONExtractArray)},
    **{cls: nan_comparison for cls in NAN_COMPARED},
    exp.Order: nan_sorts_first,
}


@lru_cache(maxsize=None)
def _rewrite_for(cls: type[exp.Expression]) -> Rewrite | None:
    return next((REWRITES[k] for k in cls.__mro__ if k in REWRITES), None)


def rewrite(node: exp.Expression) -> exp.Expression | None:
    """A replacement for `node`, or None to keep it."""
    fn = _rewrite_for(type(node))
    return fn(node) if fn is not None else None


def apply(tree: exp.Expression, fn: Rewrite = rewrite) -> exp.Expression:
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
