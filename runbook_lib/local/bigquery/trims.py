"""TRIM, LTRIM and RTRIM of one argument strip Unicode's whitespace, as BigQuery's do.

String functions doc (TRIM: "If set_of_characters_to_remove isn't specified, all whitespace characters are removed");
compliance functions_testlib_string_2.cc: `TRIM('\\t\\r\\n abc\\t\\n\\r ')` is 'abc', and so for "all 25 space
characters defined by Unicode" (the White_Space property). DuckDB's one-argument TRIM strips spaces only: a value read from a file
with a trailing `\\r` or `\\t` kept it, and a join or GROUP BY on the trimmed key split what BigQuery joins.
"""
from __future__ import annotations

from sqlglot import exp

# Unicode's White_Space characters (PropList.txt), all 25
WHITESPACE = "".join(chr(c) for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                                       0x2028, 0x2029, 0x202F, 0x205F, 0x3000))


def trim_whitespace(node: exp.Trim) -> exp.Expression | None:
    if node.expression is None:
        node.set("expression", exp.Literal.string(WHITESPACE))
    return None
