"""The sandbox's mathematical functions against ZetaSQL's compliance cases (functions_testlib_math.cc, found by the
zt_cast probe, findings F02, F03, F07, F08): SQRT, CBRT, EXP, LN, LOG, LOG10 and POW of a NUMERIC are NUMERICs
computed to the last place; a FLOAT64 function fails where a finite argument gives a result that is not finite,
and not where an argument is already infinite; SIGN keeps a FLOAT64 a FLOAT64."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib.local.bigquery.decimal_math import DecimalMathError, _in_floating_point, compute
from runbook_lib.local.warehouse import LocalWarehouse
from sandbox_queries import one_value, raised

pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

INF, NAN = "CAST('inf' AS FLOAT64)", "CAST('nan' AS FLOAT64)"


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("math") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute("""CREATE TABLE ds.amounts (id INT64, n NUMERIC, b BIGNUMERIC, x FLOAT64, i INT64);
                 INSERT INTO ds.amounts VALUES (1, NUMERIC '2', BIGNUMERIC '2', 2.0, 2),
                                               (2, NUMERIC '-1', BIGNUMERIC '-1', -1.0, -1),
                                               (3, NULL, NULL, NULL, NULL),
                                               (4, NUMERIC '0', BIGNUMERIC '0', 0.0, 0)""")
    return w


def typed(wh: LocalWarehouse, sql: str) -> tuple[pa.DataType, object]:
    table = wh.query_arrow(sql)
    assert table.num_rows == 1 and table.num_columns == 1
    return table.schema.types[0], table.column(0)[0].as_py()


NUMERIC = pa.decimal128(38, 9)


# functions_testlib_math.cc: {function, {arguments}, NUMERIC result}
@pytest.mark.parametrize("call, expected", [
    ("SQRT(NUMERIC '0.25')", "0.5"),
    ("SQRT(NUMERIC '1e-8')", "0.0001"),
    ("SQRT(NUMERIC '9e28')", "300000000000000"),
    ("SQRT(NUMERIC '99999999999999999999999999999.999999999')", "316227766016837.933199889"),
    ("POW(NUMERIC '64', NUMERIC '0.5')", "8"),
    ("POW(NUMERIC '81', NUMERIC '3.75')", "14348907"),
    ("POW(NUMERIC '-1', NUMERIC '-1')", "-1"),
    ("POW(NUMERIC '0', NUMERIC '0')", "1"),
    ("POWER(NUMERIC '2', 10)", "1024"),            # an INT64 beside a NUMERIC is coerced to it
    ("EXP(NUMERIC '1')", "2.718281828"),
    ("LN(NUMERIC '2.718281828')", "1"),            # 0.9999999998 rounded at the 9th place
    ("LOG10(NUMERIC '1e-9')", "-9"),
    ("LOG(NUMERIC '8', NUMERIC '2')", "3"),
    ("LOG(NUMERIC '100', 10)", "2"),
    ("CBRT(NUMERIC '-27')", "-3"),
    ("CBRT(NUMERIC '2')", "1.25992105"),
])
def test_math_of_a_numeric_is_a_numeric_to_its_last_place(wh, call, expected):
    kind, value = typed(wh, f"SELECT {call}")
    assert kind == NUMERIC and value == Decimal(expected)


def test_math_of_numeric_columns_is_numeric_and_null_for_null(wh):
    rows = wh.query_arrow("SELECT id, SQRT(n) AS r, POW(n, 2) AS p, EXP(n) AS e, LOG(n + 3, n + 2) AS l, "
                          "SQRT(x) AS f, POW(i, 2) AS g FROM ds.amounts WHERE id IN (1, 3) ORDER BY id")
    assert rows.schema.field("r").type == NUMERIC and rows.schema.field("l").type == NUMERIC
    assert rows.schema.field("f").type == pa.float64() and rows.schema.field("g").type == pa.float64()
    assert rows.to_pylist() == [
        {"id": 1, "r": Decimal("1.414213562"), "p": Decimal("4"), "e": Decimal("7.389056099"),
         "l": Decimal("1.160964047"), "f": math.sqrt(2), "g": 4.0},
        {"id": 3, "r": None, "p": None, "e": None, "l": None, "f": None, "g": None}]


def test_a_float64_argument_makes_the_call_float64(wh):
    assert typed(wh, "SELECT POW(n, x) FROM ds.amounts WHERE id = 1") == (pa.float64(), 4.0)


def test_a_bignumeric_is_computed_to_the_sandboxs_18_places(wh):
    assert typed(wh, "SELECT SQRT(b) FROM ds.amounts WHERE id = 1") == \
        (pa.decimal128(38, 18), Decimal("1.414213562373095049"))


@pytest.mark.parametrize("call, message", [
    ("SQRT(n)", "SQRT is undefined for negative value: SQRT(-1)"),
    ("LN(n)", "LN is undefined for zero or negative value: LN(-1)"),
    ("LOG10(n)", "LOG10 is undefined for zero or negative value"),
    ("LOG(NUMERIC '8', n + 2)", "LOG is undefined for zero or negative value, or when base equals 1"),
    ("POW(n, NUMERIC '0.5')", "Negative NUMERIC value cannot be raised to a fractional power"),
    ("EXP(n + 1000)", "numeric overflow: EXP(999)"),
    ("POW(n - 1, n - 1)", None),   # -2 ** -2 is 0.25: no error
])
def test_a_numeric_outside_the_functions_domain_fails_and_is_null_under_safe(wh, call, message):
    sql = f"SELECT {{}}{call} FROM ds.amounts WHERE id = 2"
    if message is None:
        assert one_value(wh, sql.format("")) == Decimal("0.25")
        return
    assert message in raised(wh, sql.format(""))
    assert one_value(wh, sql.format("SAFE.")) is None


def test_zero_to_a_negative_numeric_power_is_a_division_by_zero(wh):
    assert "division by zero" in raised(wh, "SELECT POW(n, -1) FROM ds.amounts WHERE id = 4")


@pytest.mark.parametrize("call", ["LN(0)", "LOG10(0.0)", "ACOS(2)", "COT(0)", "LOG(8, 1)", "POW(2.0, 1024.0)",
                                  "POW(-1.0, 0.5)", "POW(0.0, -0.1)", "EXP(1000.0)", "LOG(8.0, -2.0)"])
def test_a_float64_function_with_finite_arguments_and_no_finite_result_fails(wh, call):
    # ZetaSQL's CheckFloatingPointError; DuckDB answered with the IEEE value (inf, -inf or NaN)
    assert "Floating point error in function" in raised(wh, f"SELECT {call}")
    assert one_value(wh, f"SELECT SAFE.{call} IS NULL") is True


def test_sqrt_of_any_negative_float64_fails(wh):
    assert "Argument to SQRT cannot be negative" in raised(wh, f"SELECT SQRT(-{INF})")
    assert one_value(wh, "SELECT SAFE.SQRT(x) IS NULL FROM ds.amounts WHERE id = 2") is True


@pytest.mark.parametrize("call, expected", [
    (f"LN(-{INF})", "nan"), (f"LOG10(-{INF})", "nan"), (f"LOG(-{INF}, 2.0)", "nan"), (f"EXP({INF})", "inf"),
    (f"LOG(2.0, {INF})", "nan"), (f"LOG(0.5, {INF})", "nan"),   # a base that is not finite gives NaN
    (f"LOG({INF}, 2.0)", "inf"), (f"ACOS({INF})", "nan"), (f"EXP(-{INF})", "0"),
])
def test_a_float64_function_of_an_infinite_argument_is_its_ieee_value(wh, call, expected):
    value = one_value(wh, f"SELECT {call}")
    assert (math.isnan(value) if expected == "nan" else value == float(expected)), value


def test_a_null_argument_wins_over_a_domain_error(wh):
    assert one_value(wh, "SELECT LOG(0.0, CAST(NULL AS FLOAT64))") is None
    assert one_value(wh, "SELECT LOG(CAST(NULL AS FLOAT64), 0.0)") is None
    assert one_value(wh, "SELECT LN(x) FROM ds.amounts WHERE id = 3") is None


def test_sign_keeps_the_arguments_type_and_nan(wh):
    rows = wh.query_arrow(f"SELECT SIGN(x) AS f, SIGN(i) AS i, SIGN(n) AS n, SIGN({NAN}) AS nan, "
                          f"SIGN(-{INF}) AS inf FROM ds.amounts WHERE id = 2")
    assert rows.schema.types == [pa.float64(), pa.int64(), NUMERIC, pa.float64(), pa.float64()]
    row = rows.to_pylist()[0]
    assert (row["f"], row["i"], row["n"], row["inf"]) == (-1.0, -1, Decimal(-1), -1.0) and math.isnan(row["nan"])


@pytest.mark.parametrize("name, x, y, kind, expected", [
    ("POW", "2", "-2", "NUMERIC", "0.25"),
    ("POW", "10", "-20", "NUMERIC", "0"),               # below the last place: 0, no error
    ("POW", "-2", "3", "NUMERIC", "-8"),
    ("POW", "99999999999999999999999999999", "2", "BIGNUMERIC", None),   # wider than the sandbox's BIGNUMERIC
    ("POW", "10", "29", "NUMERIC", None),                # overflow
    ("SQRT", "2", None, "BIGNUMERIC", "1.414213562373095049"),
    ("LOG", "1000", "10", "NUMERIC", "3"),
])
def test_decimal_math_rounds_half_away_from_zero_and_fails_out_of_range(name, x, y, kind, expected):
    if expected is None:
        with pytest.raises(DecimalMathError):
            compute(name, Decimal(x), None if y is None else Decimal(y), kind)
    else:
        assert compute(name, Decimal(x), None if y is None else Decimal(y), kind) == Decimal(expected)


_NUMERICS = st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal("99999999999999999999999999999.999999999"),
                        places=9, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(x=_NUMERICS, call=st.sampled_from([("SQRT", None), ("LN", None), ("LOG", Decimal(10)), ("LOG", Decimal("2")),
                                          ("LOG", Decimal("0.5")), ("LOG", Decimal("1.000000001"))]))
def test_the_floating_point_path_rounds_as_the_decimal_one(x, call):
    # SQRT, LN and LOG of a NUMERIC take FLOAT64 where its error cannot move the ninth place; where it answers, the
    # answer is the decimal computation's (at 60 digits)
    name, base = call
    quick = _in_floating_point(name, x, base)
    with localcontext(Context(prec=60)):
        exact = {"SQRT": lambda: x.sqrt(), "LN": lambda: x.ln()}.get(name, lambda: x.ln() / base.ln())()
        exact = exact.quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    assert quick is None or quick == exact
    assert compute(name, x, base, "NUMERIC") == exact
