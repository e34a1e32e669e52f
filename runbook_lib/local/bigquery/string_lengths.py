"""LEFT, RIGHT, LPAD, RPAD and REPEAT with a negative length: an error in BigQuery, NULL under SAFE.

String functions doc: LEFT/RIGHT "length ... must be positive or 0" (an error otherwise), LPAD/RPAD "return an error
if return_length is negative", REPEAT "an error if repetitions is negative"; the messages are ZetaSQL's (compliance
strings.test `strings_function_left_error`, `_right_error`, `_lpad_error`, `_repeat_error`). DuckDB answers instead:
LEFT('abc', -2) is 'a' (all but the last two), LPAD and REPEAT give '', so `LEFT(code, LENGTH(code) - 3)` over a short
code passed on the sandbox and failed the BigQuery job.
"""
from __future__ import annotations

from sqlglot import exp

from .sqltree import fails, is_int_literal, sql_text, tpl

_MESSAGES: dict[type[exp.Expression], str] = {
    exp.Left: "Second argument in LEFT() cannot be negative",
    exp.Right: "Second argument in RIGHT() cannot be negative",
    exp.Pad: "Second argument (output size) for LPAD/RPAD cannot be negative",
    exp.Repeat: "Second argument (repeat count) for REPEAT cannot be negative",
}

LENGTH_CHECKED = tuple(_MESSAGES)


def negative_length(node: exp.Expression) -> exp.Expression | None:
    length = node.args.get("times") if isinstance(node, exp.Repeat) else node.expression
    if length is None or is_int_literal(length):
        return None   # (a non-negative literal cannot fail)
    failure = fails(node, sql_text(_MESSAGES[type(node)]))
    # a NULL argument makes the result NULL before the length is checked (compliance functions_testlib_string_2.cc:
    # LEFT(NULL, -1) is NULL)
    if isinstance(node, exp.Pad):   # (DuckDB's LPAD and RPAD take an INTEGER length, not an INT64)
        length = exp.Cast(this=length, to=exp.DataType.build("INTEGER"))
        node.set("expression", length)
    others = [v for k, v in node.args.items() if isinstance(v, exp.Expression) and v is not length]
    present = "".join(f" AND __a{i}__ IS NOT NULL" for i in range(len(others)))
    return tpl(f"CASE WHEN __n__ < 0{present} THEN {failure} ELSE __f__ END", n=length.copy(), f=node,
               **{f"a{i}": v.copy() for i, v in enumerate(others)})
