"""String functions that read or map a string's characters, answering as BigQuery's do where DuckDB's differ:
UNICODE and ASCII of a first character, INITCAP's delimiters, TRANSLATE's source characters, UPPER's and LOWER's
mappings of one character to several.

TRANSLATE refuses a source with a character in it twice: an error in BigQuery, NULL under SAFE. String functions doc,
TRANSLATE: "A duplicate character in source_characters results in an error"; the message is
ZetaSQL's (Utf8Translator, compliance functions_testlib_string_1.cc: `Duplicate character "a" in TRANSLATE source
characters`, the character written as a string literal: `"\\n"`, and `'"'` for a double quote). DuckDB's TRANSLATE maps
the character by its first place instead, so a query that fails on BigQuery passed on the sandbox.
"""
from __future__ import annotations

from functools import cache

import pyarrow as pa
from sqlglot import exp

from .arrow_udfs import per_distinct
from .sqltree import fails, sql_text, tpl, volatile


def unicode_of_empty(node: exp.Unicode) -> exp.Expression:
    """UNICODE of an empty STRING is 0 ("Returns 0 if value is empty"), where DuckDB's is -1: a NUL appended, which
    is the empty string's first character and no other's, and the value read once."""
    return tpl("UNICODE(__x__ || CHR(0))", x=node.this)


def ascii_checked(node: exp.Ascii) -> exp.Expression | None:
    """ASCII of a STRING whose first character is not ASCII fails ("Argument to ASCII is not a structurally valid
    ASCII string: '...'", ZetaSQL's FirstCharOfStringToASCII; NULL under SAFE), where DuckDB's gives its code point."""
    if volatile(node.this):
        return None   # (the check would read it again)
    message = "'Argument to ASCII is not a structurally valid ASCII string: ''' || __x__ || ''''"
    return tpl(f"CASE WHEN ASCII(__x__) > 127 THEN {fails(node, message)} ELSE __f__ END", x=node.this.copy(), f=node)


def initcap_without_delimiters(node: exp.Initcap) -> exp.Expression | None:
    """INITCAP with a column's delimiters that may be empty: no delimiter, so only the first character is capitalised,
    where sqlglot's regex of the delimiters, `[]`, fails to compile (a literal's are known as the query is read)."""
    delimiters = node.expression
    if delimiters is None or isinstance(delimiters, exp.Literal):
        return None
    return tpl("CASE WHEN __d__ = '' THEN UPPER(LEFT(__x__, 1)) || LOWER(SUBSTRING(__x__, 2)) ELSE __f__ END",
               d=delimiters.copy(), x=node.this.copy(), f=node)


# TRANSLATE
_ESCAPED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _literal(character: str) -> str:
    """A character as ZetaSQL's ToStringLiteral writes it: in double quotes, or single ones around a double quote."""
    quote = "'" if character == '"' else '"'
    return f"{quote}{_ESCAPED.get(character, character)}{quote}"


def _message(character_sql: str) -> str:
    return f"'Duplicate character ' || {character_sql} || ' in TRANSLATE source characters'"


# the first character of a source that stands in it before (a column's value, read when the query runs)
_REPEATED = ("SUBSTRING(__s__, LIST_FILTER(RANGE(2, LENGTH(__s__) + 1), lambda _translate_i: "
             "STRPOS(SUBSTRING(__s__, 1, _translate_i - 1), SUBSTRING(__s__, _translate_i, 1)) > 0)[1], 1)")
_WRITTEN = ("CASE __c__ WHEN '\"' THEN '''\"''' "
            + " ".join(f"WHEN {sql_text(c)} THEN {sql_text(_literal(c))}" for c in _ESCAPED)
            + " ELSE '\"' || __c__ || '\"' END")


def duplicate_source(node: exp.Translate) -> exp.Expression | None:
    """TRANSLATE checked for a source character written twice: at translation for a literal source, else as it runs."""
    source, text, target = node.args.get("from_"), node.this, node.args.get("to")
    if source is None or target is None:
        return None
    # a NULL argument makes the result NULL before the source is checked
    present = "__x__ IS NOT NULL AND __t__ IS NOT NULL"
    if isinstance(source, exp.Literal) and source.is_string:
        chars = source.this
        repeated = next((c for i, c in enumerate(chars) if c in chars[:i]), None)
        if repeated is None:
            return None
        failure = fails(node, _message(sql_text(_literal(repeated))))
        return tpl(f"CASE WHEN {present} THEN {failure} ELSE NULL END", x=text, t=target)
    if volatile(source):
        return None   # (read once by DuckDB's TRANSLATE; the check would read it again)
    failure = fails(node, _message(tpl(_WRITTEN, c=tpl(_REPEATED, s=source.copy())).sql("duckdb")))
    return tpl(f"CASE WHEN {present} AND {_REPEATED} IS NOT NULL THEN {failure} ELSE __f__ END",
               s=source.copy(), x=text.copy(), t=target.copy(), f=node)


# UPPER and LOWER: BigQuery maps case as ICU does in the root locale (ZetaSQL's UpperUtf8 and LowerUtf8,
# icu::CaseMap::utf8ToUpper with locale ""): Unicode's full mappings, where one character may become several ('ß' ->
# 'SS', 'ŉ' -> 'ʼN', 'ﬁ' -> 'FI', 'İ' -> 'i̇') and a capital sigma ending a word becomes 'ς'. DuckDB maps each
# character to one ('ß' -> 'ẞ', 'ﬁ' stays). Python's str.upper and str.lower are the same full mappings, Final_Sigma
# included, so a value holding such a character is mapped by them, and any other by DuckDB's own function.
_FIRST_PLANE = 0x10000   # (every character Unicode maps to several lies below it: the last is U+FB17)


@cache
def _several(mapping: str) -> str:
    """The characters that `mapping` ('upper' or 'lower') maps to more than one, and for 'lower' the capital sigma."""
    several = "".join(c for c in map(chr, range(_FIRST_PLANE)) if len(getattr(c, mapping)()) > 1)
    return several + ("Σ" if mapping == "lower" else "")


def full_case_mapping(node: exp.Upper | exp.Lower) -> exp.Expression | None:
    if volatile(node.this):
        return None   # (the check would read it again)
    mapping = "upper" if isinstance(node, exp.Upper) else "lower"
    return tpl(f"CASE WHEN REGEXP_MATCHES(__x__, {sql_text(f'[{_several(mapping)}]')}) THEN _bq_{mapping}(__x__) "
               "ELSE __f__ END", x=node.this.copy(), f=node)


def upper_in_full(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return per_distinct(values, str.upper, pa.string())   # (a NULL stays NULL there)


def lower_in_full(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return per_distinct(values, str.lower, pa.string())


CHARACTER_REWRITES = {exp.Unicode: unicode_of_empty, exp.Ascii: ascii_checked,
                      exp.Initcap: initcap_without_delimiters, exp.Translate: duplicate_source,
                      **dict.fromkeys((exp.Upper, exp.Lower), full_case_mapping)}
