"""`value [NOT] LIKE ANY|SOME|ALL UNNEST(array)`, the quantified LIKE over an array (operators doc, "Quantified LIKE
operator"; https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#like_operator_quantified).

sqlglot's BigQuery parser reads `LIKE ANY UNNEST(a)` but not `LIKE ALL UNNEST(a)` or `LIKE SOME UNNEST(a)`, and its
DuckDB SQL drops the quantifier: `v LIKE UNNEST(a)`, which DuckDB runs as one row per pattern (a 3-row table queried
with 2 patterns gave 6 rows, every aggregate over them inflated) and refuses in a WHERE. Here the quantifier is read
after LIKE for ALL and SOME too, and the comparison becomes one scalar subquery over the patterns with BigQuery's
three-valued answer, as ZetaSQL (BigQuery's engine) rewrites it itself (like_any_all_rewriter.cc):

    ANY:  FALSE for an empty or NULL array; NULL for a NULL value; TRUE if a pattern matches; NULL if a pattern is
          NULL; else FALSE.
    ALL:  TRUE for an empty or NULL array; NULL for a NULL value; FALSE if a pattern does not match; NULL if a
          pattern is NULL; else TRUE.
    NOT LIKE ANY / ALL: the same with NOT LIKE for each pattern.

(The operators doc's prose says LIKE ALL over an empty array is FALSE; the engine's rewrite and its compliance tests,
like_all.test `Value LIKE ALL UNNEST([])`, say TRUE, which is what is done here.) The parenthesised list form,
`LIKE ANY ('a%', 'b%')`, is left to sqlglot: it writes an OR (AND for ALL) of LIKEs, whose NULLs already follow the
same rules.
"""
from __future__ import annotations

from sqlglot import exp
from sqlglot.parsers.bigquery import BigQueryParser
from sqlglot.tokens import TokenType

from .sqltree import tpl

_QUANTIFIED = ("(SELECT CASE WHEN COUNT(*) = 0 THEN {empty} WHEN __v__ IS NULL THEN NULL "
               "WHEN {decided} THEN {decision} WHEN BOOL_OR(_bq_like_pattern IS NULL) THEN NULL ELSE {empty} END "
               "FROM UNNEST(__a__) AS _bq_like_patterns(_bq_like_pattern))")
# quantifier: (the answer for no patterns, "a pattern decides" in BOOL_OR/BOOL_AND of __m__ (each pattern's match))
_ANY = _QUANTIFIED.format(empty="FALSE", decided="BOOL_OR(__m__)", decision="TRUE")
_ALL = _QUANTIFIED.format(empty="TRUE", decided="NOT BOOL_AND(__m__)", decision="FALSE")


def _quantifier_after_like(quantifier: type[exp.Expression]):
    """A parser of ALL / SOME right after [NOT] LIKE, as sqlglot's own reads ANY (a list of patterns is read as before,
    as a tuple); anywhere else it steps back and reads nothing (GoogleSQL has no other quantified comparison)."""
    def parse(parser):
        before = parser._tokens[parser._index - 2] if parser._index >= 2 else None
        if before is not None and before.token_type in (TokenType.LIKE, TokenType.ILIKE):
            return parser.expression(quantifier(this=parser._parse_bitwise()))
        parser._retreat(parser._index - 1)
        return None
    return parse


# BigQueryParser shares its parent's table: it gets its own copy, so no other dialect reads ALL or SOME this way.
BigQueryParser.NO_PAREN_FUNCTION_PARSERS = {**BigQueryParser.NO_PAREN_FUNCTION_PARSERS,
                                            "ALL": _quantifier_after_like(exp.All),
                                            "SOME": _quantifier_after_like(exp.Any)}


def quantified_like(node: exp.Like) -> exp.Expression | None:
    """`v [NOT] LIKE ANY|ALL UNNEST(a)` as a scalar subquery over a's patterns (each LIKE with BigQuery's backslash
    escapes); anything else None."""
    quantifier = node.expression
    if not isinstance(quantifier, (exp.Any, exp.All)) or not isinstance(quantifier.this, exp.Unnest):
        return None
    unnest = quantifier.this
    if len(unnest.expressions) != 1:
        return None
    value = node.this
    match: exp.Expression = exp.Escape(this=exp.Like(this=value.copy(), expression=exp.column("_bq_like_pattern")),
                                       expression=exp.Literal.string("\\"))
    if node.args.get("negate"):
        match = exp.Not(this=exp.paren(match))
    template = _ALL if isinstance(quantifier, exp.All) else _ANY
    return tpl(template, v=value, a=unnest.expressions[0], m=match)
