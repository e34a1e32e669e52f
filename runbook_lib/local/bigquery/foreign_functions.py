"""Functions of other SQL dialects that BigQuery does not have: refused, by the name written, as BigQuery refuses them.

sqlglot's BigQuery parser knows every dialect's functions, and a name it does not know goes to DuckDB as written, so
SQL that BigQuery refuses with "Function not found" ran in the sandbox and failed only in production: `NVL(x, 0)`,
`YEAR(d)`, `DATEDIFF(a, b)`, `MEDIAN(x)`, `NOW()`, `ARRAY_CONTAINS(a, x)` (a probe ran 862 such names). Some also
answered otherwise than the BigQuery function an author meant (`DAYOFWEEK` of a Monday was 1, BigQuery's EXTRACT gives
2; NEXT_DAY near 9999-12-31 escaped as Python's OverflowError). The check reads the function names as written, before
parsing: sqlglot gives `NVL` and `IFNULL` one class. The table holds the names an author from another dialect writes
(Snowflake, Postgres, MySQL, T-SQL, Spark, DuckDB), none of them in BigQuery's function list
(https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all), each with what BigQuery writes instead;
a name the script defines itself (CREATE TEMP FUNCTION) or qualifies (`dataset.fn`) is the user's.
"""
from __future__ import annotations

from sqlglot.tokens import TokenType

from .errors import UnsupportedSQL
from .routines import defined_functions, tokens

_EXTRACT = "EXTRACT({} FROM x)"
# name -> what BigQuery writes instead
INSTEAD: dict[str, str] = {
    **{part: _EXTRACT.format(part) for part in ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "QUARTER",
                                                "DAYOFYEAR")},
    "DAYOFWEEK": "EXTRACT(DAYOFWEEK FROM x), which counts Sunday as 1",
    "DAYOFMONTH": _EXTRACT.format("DAY"), "WEEKOFYEAR": _EXTRACT.format("ISOWEEK"),
    "DAYNAME": "FORMAT_DATE('%A', d)", "MONTHNAME": "FORMAT_DATE('%B', d)",
    "DATE_PART": "EXTRACT(part FROM x)", "DATEPART": "EXTRACT(part FROM x)",
    "DATEDIFF": "DATE_DIFF(end, start, DAY) or TIMESTAMP_DIFF", "TIMESTAMPDIFF": "TIMESTAMP_DIFF(end, start, part)",
    "DATEADD": "DATE_ADD(d, INTERVAL n part)", "TIMESTAMPADD": "TIMESTAMP_ADD(ts, INTERVAL n part)",
    "ADD_MONTHS": "DATE_ADD(d, INTERVAL n MONTH)", "MONTHS_BETWEEN": "DATE_DIFF(end, start, MONTH)",
    "DATE_FROM_PARTS": "DATE(year, month, day)", "MAKE_DATE": "DATE(year, month, day)",
    "TIMESTAMP_FROM_PARTS": "TIMESTAMP(DATETIME(year, month, day, hour, minute, second))",
    "MAKE_TIMESTAMP": "TIMESTAMP(DATETIME(year, month, day, hour, minute, second))",
    "CONVERT_TIMEZONE": "DATETIME(ts, zone) or TIMESTAMP(datetime, zone)",
    "STR_TO_DATE": "PARSE_DATE(format, text)", "TO_DATE": "PARSE_DATE(format, text) or DATE(x)",
    "STRPTIME": "PARSE_TIMESTAMP(format, text)",
    "TO_TIMESTAMP": "PARSE_TIMESTAMP(format, text) or TIMESTAMP_SECONDS(n)",
    "STRFTIME": "FORMAT_TIMESTAMP(format, ts)", "TO_CHAR": "FORMAT_DATE, FORMAT_TIMESTAMP or FORMAT",
    "EPOCH": "UNIX_SECONDS(ts)",
    **dict.fromkeys(("NOW", "GETDATE", "SYSDATE"), "CURRENT_TIMESTAMP()"), "TODAY": "CURRENT_DATE()",
    "NEXT_DAY": "DATE_ADD(DATE_TRUNC(d, WEEK(MONDAY)), INTERVAL 1 WEEK) for the next Monday after d",
    "NVL": "IFNULL(x, default)", "NVL2": "IF(x IS NOT NULL, a, b)", "IIF": "IF(condition, a, b)",
    "DECODE": "CASE x WHEN ... THEN ... END", "EQUAL_NULL": "a IS NOT DISTINCT FROM b", "TRY_CAST": "SAFE_CAST",
    "LEN": "LENGTH(s)", "LCASE": "LOWER(s)", "UCASE": "UPPER(s)", "CHARINDEX": "STRPOS(s, sub) or INSTR",
    "LOCATE": "STRPOS(s, sub) or INSTR", "CONCAT_WS": "ARRAY_TO_STRING([a, b], separator)",
    "SPLIT_PART": "SPLIT(s, delimiter)[SAFE_OFFSET(n - 1)]", "STRING_SPLIT": "SPLIT(s, delimiter)",
    "REGEXP_LIKE": "REGEXP_CONTAINS(s, pattern)", "REGEXP_MATCHES": "REGEXP_CONTAINS(s, pattern)",
    "REGEXP_COUNT": "ARRAY_LENGTH(REGEXP_EXTRACT_ALL(s, pattern))", "CONTAINS": "CONTAINS_SUBSTR(s, sub)",
    "STARTSWITH": "STARTS_WITH(s, prefix)", "ENDSWITH": "ENDS_WITH(s, suffix)",
    "LEVENSHTEIN": "EDIT_DISTANCE(a, b)", "SPACE": "REPEAT(' ', n)", "HEX": "TO_HEX(bytes)", "UNHEX": "FROM_HEX(s)",
    "SHA2": "SHA256(x) or SHA512(x)", "PRINTF": "FORMAT(format, ...)", "BASE64_ENCODE": "TO_BASE64(bytes)",
    "MEDIAN": "PERCENTILE_CONT(x, 0.5) OVER () or APPROX_QUANTILES(x, 2)[OFFSET(1)]",
    "MODE": "APPROX_TOP_COUNT(x, 1)[OFFSET(0)].value", "QUANTILE": "APPROX_QUANTILES or PERCENTILE_CONT",
    "COUNT_IF": "COUNTIF(condition)", "BOOL_AND": "LOGICAL_AND(b)", "BOOL_OR": "LOGICAL_OR(b)",
    **dict.fromkeys(("ARG_MAX", "ARGMAX"), "MAX_BY(x, y)"), **dict.fromkeys(("ARG_MIN", "ARGMIN"), "MIN_BY(x, y)"),
    "APPROX_DISTINCT": "APPROX_COUNT_DISTINCT(x)", **dict.fromkeys(("LISTAGG", "GROUP_CONCAT"), "STRING_AGG(s, sep)"),
    "PRODUCT": "EXP(SUM(LN(x)))",
    **dict.fromkeys(("KURTOSIS", "SKEWNESS"), "the moments from AVG and POW"),
    "ARRAY_MIN": "(SELECT MIN(x) FROM UNNEST(arr) AS x)", "ARRAY_MAX": "(SELECT MAX(x) FROM UNNEST(arr) AS x)",
    "ARRAY_SUM": "(SELECT SUM(x) FROM UNNEST(arr) AS x)", "ARRAY_CONTAINS": "x IN UNNEST(arr)",
    "ARRAY_SIZE": "ARRAY_LENGTH(arr)", "ARRAY_DISTINCT": "ARRAY(SELECT DISTINCT x FROM UNNEST(arr) AS x)",
    "ARRAY_SORT": "ARRAY(SELECT x FROM UNNEST(arr) AS x ORDER BY x)", "ARRAY_APPEND": "ARRAY_CONCAT(arr, [x])",
    "ARRAY_PREPEND": "ARRAY_CONCAT([x], arr)", "ARRAY_JOIN": "ARRAY_TO_STRING(arr, separator)",
    "ARRAY_POSITION": "(SELECT o FROM UNNEST(arr) AS x WITH OFFSET o WHERE x = v)",
    "ARRAY_INTERSECT": "ARRAY(SELECT x FROM UNNEST(a) AS x WHERE x IN UNNEST(b))",
    "GENERATE_SERIES": "GENERATE_ARRAY(start, end) with UNNEST", "LOG2": "LOG(x, 2)", "DEGREES": "x * 180 / ACOS(-1)",
    "RADIANS": "x * ACOS(-1) / 180", "SIGNUM": "SIGN(x)", "TRUNCATE": "TRUNC(x, digits)", "RANDOM": "RAND()",
    "FACTORIAL": "a product over GENERATE_ARRAY(1, n)", "GCD": "a recursive CTE or a UDF", "LCM": "a UDF",
    **dict.fromkeys(("UUID", "GEN_RANDOM_UUID", "NEWID"), "GENERATE_UUID()"),
    "JSON_VALID": "SAFE.PARSE_JSON(s) IS NOT NULL", "JSON_EXTRACT_PATH_TEXT": "JSON_VALUE(json, '$.a.b')",
    # more of the same habits (the foreign probe's list, groups A-H)
    **dict.fromkeys(("DAY_OF_WEEK", "DAYOFWEEK_ISO", "ISODOW", "WEEKDAY"), "EXTRACT(DAYOFWEEK FROM x) (Sunday is 1)"),
    **dict.fromkeys(("DAY_OF_MONTH",), _EXTRACT.format("DAY")), "DAY_OF_YEAR": _EXTRACT.format("DAYOFYEAR"),
    **dict.fromkeys(("WEEK_OF_YEAR", "YEAROFWEEK", "YEAR_OF_WEEK", "ISOYEAR"), "EXTRACT(ISOWEEK or ISOYEAR FROM x)"),
    **{part: _EXTRACT.format(part) for part in ("MILLISECOND", "MICROSECOND")},
    **dict.fromkeys(("LAST_DAY_OF_MONTH", "DAYS_IN_MONTH"), "LAST_DAY(d) (and EXTRACT(DAY FROM LAST_DAY(d)))"),
    **dict.fromkeys(("DATEFROMPARTS",), "DATE(year, month, day)"),
    **dict.fromkeys(("TIMESTAMPFROMPARTS", "MAKE_TIMESTAMPTZ"), "TIMESTAMP(DATETIME(y, m, d, h, mi, s), zone)"),
    **dict.fromkeys(("TIME_FROM_PARTS", "TIMEFROMPARTS"), "TIME(hour, minute, second)"),
    **dict.fromkeys(("STR_TO_TIME", "TRY_STRPTIME"), "PARSE_TIMESTAMP(format, text) (SAFE. for TRY)"),
    "EPOCH_MS": "UNIX_MILLIS(ts) or TIMESTAMP_MILLIS(n)", "EPOCH_US": "UNIX_MICROS(ts) or TIMESTAMP_MICROS(n)",
    **dict.fromkeys(("LOCALTIMESTAMP", "UTC_TIMESTAMP", "TRANSACTION_TIMESTAMP", "GET_CURRENT_TIMESTAMP"),
                    "CURRENT_TIMESTAMP()"),
    "UTC_DATE": "CURRENT_DATE()", "AGE": "DATE_DIFF or TIMESTAMP_DIFF", "DATE_BIN": "TIMESTAMP_BUCKET or DATE_TRUNC",
    "TRY": "the SAFE. prefix (SAFE.f(...))", "STRLEN": "LENGTH(s)", "STRING_TO_ARRAY": "SPLIT(s, delimiter)",
    "REGEXP_SPLIT_TO_ARRAY": "SPLIT or REGEXP_EXTRACT_ALL", "REGEXP_FULL_MATCH": "REGEXP_CONTAINS(s, r'^...$')",
    **dict.fromkeys(("JARO_WINKLER_SIMILARITY", "JAROWINKLER_SIMILARITY", "DAMERAU_LEVENSHTEIN"),
                    "EDIT_DISTANCE(a, b)"),
    "LEFTPAD": "LPAD(s, n, fill)", "RIGHTPAD": "RPAD(s, n, fill)", "BASE64": "TO_BASE64(bytes)", "SHA": "SHA1(x)",
    "STRIP_ACCENTS": "NORMALIZE(s, NFD) and REGEXP_REPLACE(s, r'\\pM', '')", "ORD": "ASCII(s) or UNICODE(s)",
    "MEAN": "AVG(x)", "STDEV": "STDDEV(x)", "VARIANCE_POP": "VAR_POP(x)", "VARIANCE_SAMP": "VAR_SAMP(x)",
    "BOOLAND_AGG": "LOGICAL_AND(b)", "BOOLOR_AGG": "LOGICAL_OR(b)", "APPROX_TOP_K": "APPROX_TOP_COUNT(x, k)",
    "APPROX_QUANTILE": "APPROX_QUANTILES(x, n)", "QUANTILE_DISC": "PERCENTILE_DISC(x, p) OVER ()",
    **{f"REGR_{k}": "CORR, COVAR_POP and VAR_POP" for k in ("SLOPE", "INTERCEPT", "R2", "AVGX", "AVGY", "SXX", "SYY",
                                                            "SXY")},
    **dict.fromkeys(("LIST", "ARRAYAGG"), "ARRAY_AGG(x)"),
    **dict.fromkeys(("GEOMEAN", "GEOMETRIC_MEAN"), "EXP(AVG(LN(x)))"),
    **dict.fromkeys(("ARRAY_HAS", "LIST_CONTAINS", "LIST_HAS"), "x IN UNNEST(arr)"), "CARDINALITY": "ARRAY_LENGTH(arr)",
    **dict.fromkeys(("ARRAY_CAT", "LIST_CONCAT", "LIST_CAT"), "ARRAY_CONCAT(a, b)"),
    **dict.fromkeys(("SORT_ARRAY", "LIST_SORT"), "ARRAY(SELECT x FROM UNNEST(arr) AS x ORDER BY x)"),
    **dict.fromkeys(("ARRAY_UNIQUE", "LIST_DISTINCT"), "ARRAY(SELECT DISTINCT x FROM UNNEST(arr) AS x)"),
    "ARRAY_REMOVE": "ARRAY(SELECT x FROM UNNEST(arr) AS x WHERE x != v)",
    "ARRAY_COMPACT": "ARRAY(SELECT x FROM UNNEST(arr) AS x WHERE x IS NOT NULL)",
    **dict.fromkeys(("ARRAYS_ZIP", "EXPLODE"), "UNNEST(arr) WITH OFFSET in FROM"),
    **{f"LIST_{k}": f"(SELECT {k}(x) FROM UNNEST(arr) AS x)" for k in ("SUM", "MAX", "MIN", "AVG")},
    "LIST_FIRST": "ARRAY_FIRST(arr)", "LIST_LAST": "ARRAY_LAST(arr)", "LIST_SLICE": "ARRAY_SLICE(arr, start, end)",
    **dict.fromkeys(("ISNAN",), "IS_NAN(x)"), "ISINF": "IS_INF(x)", "ISFINITE": "NOT IS_INF(x) AND NOT IS_NAN(x)",
    "FMOD": "MOD(x, y)", "DIVIDE": "x / y or SAFE_DIVIDE(x, y)", "ROUND_EVEN": "ROUND(x, n, 'ROUND_HALF_EVEN')",
    "GREATEST_COMMON_DIVISOR": "a UDF", "SETSEED": "nothing: BigQuery's RAND takes no seed",
    **dict.fromkeys(("UUIDV4", "UUID_STRING"), "GENERATE_UUID()"), "JSON_PARSE": "PARSE_JSON(s)",
    "JSON_EXTRACT_PATH": "JSON_QUERY(json, '$.a.b')", "JSON_ARRAY_LENGTH": "ARRAY_LENGTH(JSON_QUERY_ARRAY(json))",
    "TO_BOOLEAN": "CAST(x AS BOOL)", "TO_DOUBLE": "CAST(x AS FLOAT64)", "PG_TYPEOF": "TYPEOF(x)",
    **dict.fromkeys(("CURRENT_USER", "CURRENT_ROLE"), "SESSION_USER()"),
    **dict.fromkeys(("CURRENT_DATABASE", "CURRENT_SCHEMA", "CURRENT_CATALOG", "VERSION"), "INFORMATION_SCHEMA views"),
}

# A name right after these is a table's, a function's being created, ...: no call
_NOT_A_CALL_AFTER = {TokenType.DOT, TokenType.TABLE, TokenType.INTO, TokenType.FUNCTION, TokenType.VIEW,
                     TokenType.EXISTS, TokenType.PROCEDURE}


def refuse_foreign_calls(sql: str) -> None:
    """UnsupportedSQL for the first call of a name in INSTEAD (as BigQuery's "Function not found", with what BigQuery
    writes), unless the script defines a function of that name."""
    read = tokens(sql)
    defined = defined_functions(read)
    for before, token, after in zip([None, *read], read, read[1:]):
        name = token.text.upper()
        if name in INSTEAD and name not in defined and after.token_type == TokenType.L_PAREN \
                and token.token_type != TokenType.STRING \
                and (before is None or before.token_type not in _NOT_A_CALL_AFTER):
            raise UnsupportedSQL(f"Function not found: {name} (BigQuery has no function of that name, so production "
                                 f"would refuse this SQL; write {INSTEAD[name]}).")
