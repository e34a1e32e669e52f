"""Arrays of STRUCTs and UNNEST, where DuckDB's answer differs from BigQuery's: a tuple's or positional STRUCT's
fields named by the array's first element, such an array unnested into its fields, WITH OFFSET counted from 0, and a
GENERATE_..._ARRAY's step of 0 an error."""
from __future__ import annotations

from itertools import count

from sqlglot import exp

from .sqltree import fails, field_value, is_int_literal, sql_text, tpl


def _field(node: exp.Expression) -> tuple[str | None, exp.Expression]:
    """A STRUCT field's name (None: positional) and value."""
    return (node.name or None) if isinstance(node, (exp.PropertyEQ, exp.Alias)) else None, field_value(node)


def _named_like(element: exp.Expression, first: exp.Struct) -> exp.Expression | None:
    """`element`, a STRUCT or tuple, with each field given the name of `first`'s field at its place (inside nested
    STRUCTs too), whatever its own; None when it has nothing to rename or does not line up with `first`."""
    if not isinstance(element, (exp.Struct, exp.Tuple)) or len(element.expressions) != len(first.expressions):
        return None
    fields, renamed = [], False
    for (name, value), (first_name, first_value) in zip(map(_field, element.expressions),
                                                        map(_field, first.expressions)):
        nested = _named_like(value, first_value) if isinstance(first_value, exp.Struct) else None
        if nested is not None:
            value, renamed = nested, True
        if first_name is not None and (name is None or name.lower() != first_name.lower()):
            name, renamed = first_name, True   # (by position: a later STRUCT's own names do not count)
        # (moved, not copied: the element they come from is replaced, in this translation's own tree)
        fields.append(exp.PropertyEQ(this=exp.to_identifier(name), expression=value) if name else value)
    return exp.Struct(expressions=fields) if renamed else None


def struct_elements_named_as_the_first(node: exp.Array) -> None:
    """[STRUCT(1 AS a, 'x' AS b), (2, 'y'), STRUCT(3, 'z')]: BigQuery's array takes its STRUCT type from its elements'
    supertype, whose field names are the first element's, so a later tuple or positional STRUCT has fields a and b
    (data types doc, "Constructing a STRUCT": a tuple's fields are named by context). DuckDB keeps each element's own
    (v1, v2 or none), so `SELECT * FROM UNNEST(...)` gave one unnamed column and a nested positional field read NULL."""
    first = node.expressions[0] if node.expressions else None
    if not isinstance(first, exp.Struct):
        return None
    for element in list(node.expressions)[1:]:
        named = _named_like(element, first)
        if named is not None:
            element.replace(named)
    return None


_unnest_counter = count(1)


def unnest(node: exp.Unnest) -> exp.Expression | None:
    """An array of STRUCTs whose later elements were tuples (named above, struct_elements_named_as_the_first)
    is exploded into its fields as sqlglot explodes one written all in STRUCTs (its BigQuery parser decides that
    from the elements' types before they are named)."""
    array = node.expressions[0] if node.expressions else None
    if isinstance(array, exp.Array) and array.expressions and all(isinstance(e, exp.Struct) for e in array.expressions):
        node.set("explode_array", True)
    return _unnest_with_offset(node)


def _unnest_with_offset(node: exp.Unnest) -> exp.Expression | None:
    """UNNEST(a) AS x WITH OFFSET AS o: BigQuery's offset counts from 0, DuckDB's ORDINALITY from 1."""
    if not node.args.get("offset"):
        return None
    alias = node.args.get("alias")
    cols = [c.name for c in alias.columns] if alias is not None and alias.columns else []
    value_name = cols[0] if cols else (alias.name if alias is not None and alias.name else "f0_")
    offset_name = node.args["offset"].name or "offset"
    # An array of STRUCTs unnested with no alias gives one column per field (as without WITH OFFSET)
    value = "_v.*" if node.args.get("explode_array") and alias is None else f'_v AS "{value_name}"'
    sub = tpl(
        f'(SELECT {value}, _i - 1 AS "{offset_name}" FROM UNNEST(__a__) WITH ORDINALITY AS _u(_v, _i))',
        a=node.expressions[0],
    )
    return exp.Subquery(this=sub.this if isinstance(sub, exp.Subquery) else sub,
                        alias=exp.TableAlias(this=exp.to_identifier(f"_unnest{next(_unnest_counter)}")))


def array_slice(node: exp.ArraySlice) -> exp.Expression:
    """ARRAY_SLICE(a, start, end): offsets from 0, both inclusive, a negative one counted from the end (-1 the last);
    DuckDB's ARRAY_SLICE counts from 1, so a non-negative offset is moved up by one (a negative one means the same)."""
    def from_one(offset: exp.Expression) -> exp.Expression:
        return tpl("CASE WHEN __o__ >= 0 THEN __o__ + 1 ELSE __o__ END", o=offset)
    return tpl("ARRAY_SLICE(__a__, __s__, __e__)", a=node.this, s=from_one(node.args["start"]),
               e=from_one(node.args["end"]))


def struct_columns_named_as_the_first_branch(node: exp.SetOperation) -> None:
    """UNION / INTERSECT / EXCEPT of STRUCT columns: BigQuery takes a STRUCT column's type from its branches'
    supertype, whose fields are matched by position and named by the first branch (conversion rules, "Supertypes");
    DuckDB unifies STRUCTs by name, so `STRUCT('blue', 'square')` after `STRUCT('blue' AS color, 'round' AS shape)`
    gave four fields, two of them NULL, and STRUCT(3 AS b, 4 AS a) after STRUCT(1 AS a, 2 AS b) swapped its values.
    The same for an array of STRUCT literals in each branch."""
    first = node.this
    while isinstance(first, (exp.SetOperation, exp.Subquery)):
        first = first.this
    later = node.expression.this if isinstance(node.expression, exp.Subquery) else node.expression
    if not (isinstance(first, exp.Select) and isinstance(later, exp.Select)) \
            or len(first.expressions) != len(later.expressions):
        return None
    for first_item, item in zip(first.expressions, later.expressions):
        first_value = first_item.this if isinstance(first_item, exp.Alias) else first_item
        value = item.this if isinstance(item, exp.Alias) else item
        if isinstance(first_value, exp.Array) and first_value.expressions and isinstance(value, exp.Array):
            first_value, elements = first_value.expressions[0], list(value.expressions)   # an ARRAY of STRUCTs
        else:
            elements = [value]
        if isinstance(first_value, exp.Struct):
            for element in elements:
                named = _named_like(element, first_value)
                if named is not None:
                    element.replace(named)
    return None


def nonzero_step(node: exp.GenerateSeries | exp.GenerateDateArray | exp.GenerateTimestampArray) -> None:
    """GENERATE_ARRAY, GENERATE_DATE_ARRAY and GENERATE_TIMESTAMP_ARRAY with a step of 0 fail ("Sequence step cannot be
    0.", ZetaSQL generate_array.h; compliance functions_testlib_generate_array.cc), NULL under SAFE.; DuckDB's
    GENERATE_SERIES gave an empty array."""
    step = node.args.get("step")
    if step is None or (is_int_literal(step) and int(step.this) != 0):
        return None
    zero = "INTERVAL '0' SECOND" if not isinstance(node, exp.GenerateSeries) else "0"
    node.set("step", tpl(f"CASE WHEN __s__ = {zero} THEN {fails(node, sql_text('Sequence step cannot be 0.'))} "
                         "ELSE __s__ END", s=step))
    return None


def _never_null(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) or (isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))


def array_to_string_null_text(node: exp.ArrayToString) -> exp.Expression | None:
    """ARRAY_TO_STRING with a NULL delimiter or NULL text is NULL (compliance functions_testlib_2.cc, ArrayToString);
    DuckDB's read a NULL delimiter as none, and sqlglot's COALESCE of each element with a NULL text as no text. A
    delimiter that is no literal (a column's) joins through LIST_REDUCE: DuckDB's ARRAY_TO_STRING takes a constant
    one only ("The "arg" argument in function "string_agg" must be a constant expression")."""
    delimiter, text = node.expression, node.args.get("null")
    checked = [a for a in (delimiter, text) if a is not None and not _never_null(a)]
    if not checked:
        return None
    nulls = " OR ".join(f"__a{i}__ IS NULL" for i in range(len(checked)))
    parts = {f"a{i}": a.copy() for i, a in enumerate(checked)}
    if delimiter is None or _never_null(delimiter):
        return tpl(f"CASE WHEN {nulls} THEN NULL ELSE __f__ END", f=node, **parts)
    elements = ("LIST_TRANSFORM(__l__, lambda _ats_x: COALESCE(_ats_x, __n__))" if text is not None
                else "LIST_FILTER(__l__, lambda _ats_x: _ats_x IS NOT NULL)")
    joined = (f"LIST_REDUCE({elements}, lambda _ats_a, _ats_x, _ats_i: CASE WHEN _ats_i = 1 THEN _ats_x "
              "ELSE _ats_a || __d__ || _ats_x END, '')")
    return tpl(f"CASE WHEN {nulls} THEN NULL ELSE {joined} END", l=node.this, d=delimiter.copy(),
               **({"n": text.copy()} if text is not None else {}), **parts)


def first_or_last(node: exp.ArrayFirst | exp.ArrayLast) -> exp.Expression:
    """ARRAY_FIRST and ARRAY_LAST (array functions doc): the first or last element, an error for an empty array ([ZetaSQL]
    reference_impl/function.cc's words), NULL for a NULL one; DuckDB has neither ("Function not found")."""
    first = isinstance(node, exp.ArrayFirst)
    message = sql_text("ARRAY_FIRST cannot get the first element of an empty array" if first
                       else "ARRAY_LAST cannot get the last element of an empty array")
    return tpl(f"CASE WHEN LEN(__a__) = 0 THEN {fails(node, message)} ELSE __a__[{1 if first else -1}] END",
               a=node.this)
