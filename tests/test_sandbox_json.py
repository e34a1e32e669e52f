"""The sandbox's JSON functions against ZetaSQL's compliance cases (functions_testlib_json.cc, found by the zt_json
probe, findings F01, F02, F04): INT64 of a JSON integer past 2^53 keeps its digits, JSON_ARRAY and JSON_OBJECT encode
their values as TO_JSON does, and a negative JSONPath index finds nothing."""
from __future__ import annotations

import pytest

from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError
from sandbox_queries import one_value, raised

pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("json") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute("""CREATE TABLE ds.events (payload JSON, raw STRING, amount NUMERIC, at TIMESTAMP, ratio FLOAT64);
                 INSERT INTO ds.events VALUES (JSON '{"id": 1234567890123456789, "tags": [1, 2, 3]}',
                                               '{"id": 9007199254740993, "tags": [1, 2, 3]}', NUMERIC '10.25',
                                               TIMESTAMP '2024-01-05 10:00:00.5+00', 0.5)""")
    return w


def test_int64_of_a_json_integer_past_2_to_the_53_keeps_its_digits(wh):
    # functions_testlib_json.cc: INT64 of an int64 JSON number converts exactly; DuckDB typed a positive integer
    # UBIGINT and the conversion went through FLOAT64 (1234567890123456789 became ...768)
    row = wh.query_arrow("SELECT INT64(payload.id) AS a, INT64(JSON_QUERY(payload, '$.id')) AS b, "
                         "INT64(PARSE_JSON(raw).id) AS c, INT64(JSON '9223372036854775807') AS d, "
                         "INT64(JSON '-9223372036854775808') AS e, INT64(JSON '1e3') AS f FROM ds.events").to_pylist()
    assert row == [{"a": 1234567890123456789, "b": 1234567890123456789, "c": 9007199254740993,
                    "d": 9223372036854775807, "e": -9223372036854775808, "f": 1000}]
    assert "cannot be converted to an int64" in raised(wh, "SELECT INT64(JSON '9223372036854775808')")
    assert one_value(wh, "SELECT SAFE.INT64(JSON '18446744073709551615')") is None


def test_json_array_and_json_object_encode_values_as_to_json_does(wh):
    # functions_testlib_json.cc JsonArray/JsonObject: TO_JSON's encodings; DuckDB wrote NUMERIC with nine places
    row = wh.query_arrow("SELECT TO_JSON_STRING(JSON_ARRAY(amount, NUMERIC '10', ratio, at, 1, 'a', NULL, TRUE)) AS a, "
                         "TO_JSON_STRING(JSON_OBJECT('amount', amount, 'at', at, 'n', 2)) AS o, "
                         "TO_JSON_STRING(JSON_ARRAY(NUMERIC '9007199254740993')) AS w FROM ds.events").to_pylist()
    assert row == [{"a": '[10.25,10,0.5,"2024-01-05T10:00:00.500Z",1,"a",null,true]',
                    "o": '{"amount":10.25,"at":"2024-01-05T10:00:00.500Z","n":2}', "w": "[9007199254740993]"}]


@pytest.mark.parametrize("call", ["JSON_QUERY(raw, '$.tags[-1]')", "JSON_VALUE(raw, '$.tags[-1]')",
                                  "JSON_EXTRACT_SCALAR(raw, '$.tags[-1]')", "JSON_QUERY(payload, '$.tags[-1]')"])
def test_a_negative_jsonpath_index_finds_nothing(wh, call):
    # functions_testlib_json.cc: '$.x[-1]' is NULL; DuckDB's JSONPath read it from the end (the last element)
    assert one_value(wh, f"SELECT {call} IS NULL FROM ds.events") is True
    assert one_value(wh, f"SELECT {call.replace('-1', '2')} IS NULL FROM ds.events") is False


def test_an_unparseable_json_int64_still_fails(wh):
    with pytest.raises(WarehouseQueryError):
        wh.query("SELECT INT64(JSON '10.5')")
