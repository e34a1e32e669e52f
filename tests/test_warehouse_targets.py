"""The Warehouse contract on both targets: the sandbox's LocalWarehouse, and target=gcp's BigQuery adapter
through the real google-cloud-bigquery client against the BigQuery fake (tests/fakes/bigquery.py).

Every test here runs the SAME assertions on each (parity, as tests/test_parity.py does for services);
the tests at the end compare the two targets' answers to one another directly. The SQL is what the
replay and compare runbooks send; expected values are BigQuery's answers.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import farmhash
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fakes.bigquery import FakeBigQuery
from runbook_lib.errors import NotFoundError, ParameterError, RunbookError, WarehouseQueryError
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.protocols import DatasetInfo, PartitionInfo, TableInfo
from runbook_lib.target import connect
from runbook_lib.warehouse import KIT_LABELS

PROJECT = "my-project"
GAMES = [("game_date", "DATE"), ("player_lookup", "STRING"), ("points", "INT64"), ("minutes", "FLOAT64")]


@pytest.fixture(scope="module")
def local_wh(tmp_path_factory) -> LocalWarehouse:
    return LocalWarehouse(tmp_path_factory.mktemp("local") / "w.duckdb", project=PROJECT)


@pytest.fixture(scope="module")
def bigquery_fake(tmp_path_factory):
    """One fake for the module, over its own warehouse file; pages of 40 rows so results page."""
    with FakeBigQuery(tmp_path_factory.mktemp("fake") / "w.duckdb", project=PROJECT, max_page_rows=40) as fake:
        yield fake


@pytest.fixture(scope="module")
def gcp_wh(bigquery_fake):
    target = connect("gcp", project=PROJECT, endpoints={"bigquery": bigquery_fake.endpoint}, runbook="parity")
    yield target.warehouse
    target.close()


def _fingerprint_of(text: str) -> int:
    """BigQuery's FARM_FINGERPRINT of a text: farmhash's fingerprint64, read as a signed INT64."""
    u = farmhash.fingerprint64(text)
    return u - (1 << 64) if u >= 1 << 63 else u


@pytest.fixture(params=["local", "gcp"])
def wh(request):
    return request.getfixturevalue(f"{request.param}_wh")


@pytest.fixture
def ds(wh, request) -> str:
    """A fresh dataset named after the test (each target has its own file, so the name is free on both)."""
    name = re.sub(r"\W", "_", request.node.originalname.removeprefix("test_"))[:60]
    wh.create_dataset(name)
    yield name
    wh.drop_dataset(name, delete_contents=True)


def _games(wh, ds: str) -> str:
    ref = f"{ds}.player_game_summary"
    wh.create_table(ref, GAMES, partition_column="game_date", clustering=["player_lookup"])
    wh.execute(f"""INSERT INTO {ref} VALUES
        (DATE '2024-01-07', 'lebronjames', 30, 35.5), (DATE '2024-01-07', 'stephcurry', 28, 33.5),
        (DATE '2024-01-08', 'lebronjames', 25, NULL), (DATE '2024-01-09', 'nikolajokic', NULL, 36.25)""")
    return ref


# ------------------------------------------------------------------------------------------ datasets


def test_datasets_carry_location_expiration_and_the_kits_label(wh, ds):
    wh.create_dataset(f"{ds}_eu", default_table_expiration_days=1.5, location="eu", labels={"team": "ops"})
    info = wh.dataset_info(f"{ds}_eu")
    assert isinstance(info, DatasetInfo)
    assert (info.name, info.location, info.default_table_expiration_days) == (f"{ds}_eu", "EU", 1.5)
    assert info.labels == {"team": "ops", **KIT_LABELS}
    assert info.created_at.tzinfo is not None and info.created_at <= datetime.now(timezone.utc)
    assert wh.dataset_info(ds).location == "US" and wh.dataset_info(ds).labels == KIT_LABELS
    assert {ds, f"{ds}_eu"} <= set(wh.list_datasets()) and wh.dataset_exists(ds)
    assert not wh.dataset_exists(f"{ds}_nope")
    wh.create_dataset(ds)   # exists_ok: left as it was
    with pytest.raises(ParameterError, match=r"^dataset=.*already exists"):
        wh.create_dataset(ds, exists_ok=False)
    wh.create_table(f"{ds}_eu.t", [("x", "INT64")])
    table = wh.table_info(f"{ds}_eu.t")
    assert round((table.expires_at - table.created_at).total_seconds()) == 1.5 * 86400
    wh.drop_dataset(f"{ds}_eu", delete_contents=True)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"name": "a-b"}, "dataset"), ({"name": "ok", "labels": {"Team": "x"}}, "labels"),
    ({"name": "ok", "labels": {"team": "X"}}, "labels['team']"),
    ({"name": "ok", "labels": {"created-by": "me"}}, "labels['created-by']"),
    ({"name": "ok", "default_table_expiration_days": 0}, "default_table_expiration_days"),
    ({"name": "ok", "location": "mars"}, "location"),
])
def test_create_dataset_refuses_bad_input_before_anything_changes(wh, kwargs, parameter):
    before = wh.list_datasets()
    with pytest.raises(ParameterError) as caught:
        wh.create_dataset(**kwargs)
    assert caught.value.parameter == parameter
    assert wh.list_datasets() == before


def test_only_the_kits_datasets_are_dropped(wh, ds):
    wh.execute(f"CREATE SCHEMA {ds}_prod")   # as the pipeline makes its datasets: no kit label
    with pytest.raises(ParameterError, match=rf"^dataset='{ds}_prod' .*does not carry the kit's label "
                                             r"created-by=phase-runbooks"):
        wh.drop_dataset(f"{ds}_prod")
    assert wh.dataset_exists(f"{ds}_prod")
    wh.create_table(f"{ds}.t", [("x", "INT64")])
    with pytest.raises(ParameterError, match=r"^delete_contents=False .*still holds t"):
        wh.drop_dataset(ds)
    with pytest.raises(NotFoundError, match=rf"^Dataset {ds}_gone was not found"):
        wh.drop_dataset(f"{ds}_gone")
    wh.execute(f"DROP SCHEMA {ds}_prod")


# ------------------------------------------------------------------------------------------ tables


def test_table_info_reports_what_bigquery_does(wh, ds):
    ref = _games(wh, ds)
    info = wh.table_info(ref)
    assert isinstance(info, TableInfo)
    assert (info.dataset, info.table, info.num_rows, info.kind) == (ds, "player_game_summary", 4, "TABLE")
    assert info.columns == GAMES
    assert (info.partition_column, info.partition_type, info.clustering) == ("game_date", "DAY", ["player_lookup"])
    # 8 bytes per DATE, INT64, FLOAT64 value, 2 + length per STRING, NULLs nothing
    assert info.num_bytes == 4 * 8 + sum(2 + len(p) for p in ("lebronjames", "stephcurry", "lebronjames",
                                                                "nikolajokic")) + 3 * 8 + 3 * 8
    assert info.created_at <= info.last_modified <= datetime.now(timezone.utc) and info.expires_at is None
    assert wh.list_tables(ds) == ["player_game_summary"] and wh.table_exists(f"{PROJECT}.{ref}")
    assert not wh.table_exists(f"{ds}.nope")


def test_create_table_types_and_create_table_like(wh, ds):
    typed = [("n", "NUMERIC"), ("p", "NUMERIC(10, 2)"), ("ts", "TIMESTAMP"), ("dt", "DATETIME"), ("tags", "ARRAY<STRING>"),
             ("s", "STRUCT<a INT64, b DATE>"), ("ok", "BOOL"), ("raw", "BYTES"), ("big", "BIGNUMERIC")]
    wh.create_table(f"{ds}.typed", typed)
    assert wh.table_info(f"{ds}.typed").columns == typed
    ref = _games(wh, ds)
    wh.create_table_like(ref, f"{ds}.copy")
    copy = wh.table_info(f"{ds}.copy")
    assert (copy.columns, copy.partition_column, copy.clustering, copy.num_rows) == \
        (GAMES, "game_date", ["player_lookup"], 0)
    wh.create_table(ref, [("a", "INT64")])   # exists_ok: left as it was
    with pytest.raises(ParameterError, match="already exists"):
        wh.create_table(ref, [("a", "INT64")], exists_ok=False)
    with pytest.raises(NotFoundError, match=rf"^Table {ds}.nope was not found"):
        wh.create_table_like(f"{ds}.nope", f"{ds}.x")


@pytest.mark.parametrize("args, parameter", [
    (([],), "columns"), (([("a b", "INT64")],), "columns"), (([("a", "NOTATYPE")],), "columns"),
    (([("a", "INT64"), ("A", "STRING")],), "columns"), (([("a", "INT64")], "b"), "partition_column"),
    (([("a", "INT64")], "a"), "partition_column"), (([("a", "DATE")], None, True, ["b"]), "clustering"),
])
def test_create_table_refuses_bad_input(wh, ds, args, parameter):
    with pytest.raises(ParameterError) as caught:
        wh.create_table(f"{ds}.x", *args)
    assert caught.value.parameter == parameter
    assert wh.list_tables(ds) == []


# ------------------------------------------------------------------------------------------ queries


def test_query_rows_come_back_typed_as_the_bigquery_client_types_them(wh):
    df = wh.query("""SELECT 1 AS i, CAST(NULL AS INT64) AS i_null, 1.5 AS f, TRUE AS b, 'x' AS s, DATE '2024-01-07' AS d,
                            TIMESTAMP '2024-01-07 10:00:00+02' AS ts, DATETIME '2024-01-07 10:00:00' AS dt,
                            NUMERIC '1.25' AS n, [1, 2] AS arr, STRUCT(1 AS a, 'q' AS b) AS st, b'ab' AS raw""")
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        "i": "Int64", "i_null": "Int64", "f": "float64", "b": "boolean", "s": "str", "d": "dbdate",
        "ts": "datetime64[us, UTC]", "dt": "datetime64[us]", "n": "object", "arr": "object", "st": "object",
        "raw": "object"}
    row = df.iloc[0]
    assert row.d == date(2024, 1, 7) and isinstance(row.d, date)
    assert row.ts == pd.Timestamp("2024-01-07 08:00:00", tz="UTC") and row.n == Decimal("1.25")
    assert list(row.arr) == [1, 2] and row.st == {"a": 1, "b": "q"} and row.raw == b"ab"
    assert pd.isna(row.i_null) and row.i == 1 and bool(row.b) is True
    # a date pandas cannot hold as a timestamp stays a datetime.date, as the BigQuery client keeps it
    assert wh.query("SELECT DATE '1500-01-01' AS d").d.iloc[0] == date(1500, 1, 1)
    empty = wh.query("SELECT DATE '2024-01-07' AS d, 1 AS i FROM UNNEST([1]) AS x WHERE FALSE")
    assert empty.empty and {c: str(t) for c, t in empty.dtypes.items()} == {"d": "dbdate", "i": "Int64"}


@pytest.mark.parametrize("value", [
    7, 2.5, True, "lebron", b"\x00\xff", Decimal("12.345"), date(2024, 1, 7), datetime(2024, 1, 7, 10, 30),
    datetime(2024, 1, 7, 10, 30, tzinfo=timezone.utc), [1, 2, 3], ["a", "b"],
], ids=lambda v: type(v).__name__)
def test_query_parameters_come_back_as_given(wh, value):
    got = wh.query("SELECT @v AS v", {"v": value}).v.iloc[0]
    assert (list(got) if isinstance(value, list) else got) == value


def test_query_parameters_are_checked_before_anything_runs(wh):
    with pytest.raises(ParameterError, match=r"^params=\['a'\] .*the SQL uses @b"):
        wh.query("SELECT @a + @b AS c", {"a": 1})
    with pytest.raises(ParameterError, match="^params="):
        wh.query("SELECT @a", [1])
    with pytest.raises(ParameterError, match="^sql="):
        wh.query("   ")
    assert wh.query("SELECT @a AS a", {"a": 1, "unused": "x"}).a.iloc[0] == 1


def test_numpy_scalars_are_taken_as_their_python_values(wh):
    """What a value read back from a query's frame is (np.int64 from .to_numpy(), np.bool_, np.float64)."""
    read_back = wh.query("SELECT 3 AS v").v.to_numpy()[0]
    assert wh.query("SELECT @v + 1 AS v", {"v": read_back}).v.iloc[0] == 4
    assert wh.query("SELECT @v + 1 AS v", {"v": np.int64(3)}).v.iloc[0] == 4
    assert wh.query("SELECT @v * 2 AS v", {"v": np.float64(1.25)}).v.iloc[0] == 2.5
    assert bool(wh.query("SELECT NOT @v AS v", {"v": np.bool_(True)}).v.iloc[0]) is False
    assert wh.query("SELECT ARRAY_LENGTH(@v) AS v", {"v": [np.int64(1), np.int64(2)]}).v.iloc[0] == 2


BAD_PARAMETERS = {"empty list": [], "all-NULL list": [None], "None": None, "beyond INT64": 2 ** 63,
                  "below INT64": -(2 ** 63) - 1, "list beyond INT64": [1, 2 ** 63], "object": object()}


@pytest.mark.parametrize("value", list(BAD_PARAMETERS.values()), ids=list(BAD_PARAMETERS))
def test_parameters_bigquery_cannot_type_are_refused_before_anything_runs(wh, value):
    with pytest.raises(ParameterError, match=r"^params\['v'\]=") as caught:
        wh.query("SELECT COUNT(*) AS n FROM UNNEST([1]) AS x WHERE @v IS NOT NULL", {"v": value})
    assert "\n" not in str(caught.value)


def test_both_targets_refuse_a_parameter_in_the_same_words(local_wh, gcp_wh):
    for value in BAD_PARAMETERS.values():
        said = []
        for wh in (local_wh, gcp_wh):
            with pytest.raises(ParameterError) as caught:
                wh.query("SELECT @v AS v", {"v": value})
            said.append(re.sub(r"at 0x[0-9a-f]+", "", str(caught.value)))
        assert said[0] == said[1]


@pytest.mark.parametrize("sql, column", [
    ("SELECT 1 AS k, [1, NULL, 3] AS a", "a"),
    ("SELECT STRUCT([CAST(NULL AS STRING)] AS names) AS s", "s"),
    ("SELECT [STRUCT([1, NULL] AS xs)] AS nested", "nested"),
])
def test_a_result_array_with_a_null_element_is_refused_as_bigquery_does(wh, sql, column):
    # Data types, ARRAY NULLs: BigQuery "raises an error if a query result has ARRAYs which contain NULL elements",
    # at any depth; the sandbox must not hand the runbooks rows BigQuery never would.
    with pytest.raises(RunbookError, match=rf"cannot return column {column} of the query: an ARRAY in a result "
                                           r"cannot hold a NULL element; ") as caught:
        wh.query(sql)
    assert "\n" not in str(caught.value)


def test_a_null_array_and_nulls_beside_arrays_are_fine(wh):
    df = wh.query("SELECT CAST(NULL AS ARRAY<INT64>) AS a, [1, 2] AS b, CAST(NULL AS STRUCT<xs ARRAY<INT64>>) AS s, "
                  "[STRUCT(CAST(NULL AS INT64) AS x)] AS t, STRUCT(CAST(NULL AS ARRAY<INT64>) AS xs) AS u")
    # "BigQuery translates a NULL ARRAY into an empty ARRAY in the query result", inside a STRUCT too
    assert list(df.a.iloc[0]) == [] and list(df.b.iloc[0]) == [1, 2] and list(df.u.iloc[0]["xs"]) == []
    assert df.s.iloc[0] is None and [dict(e) for e in df.t.iloc[0]] == [{"x": None}]


def test_a_null_array_written_to_a_table_reads_back_empty(wh, ds):
    # BigQuery stores an ARRAY as a REPEATED field, which has no NULL: a NULL ARRAY written reads back as [] inside the
    # next query too (`a IS NULL` FALSE, ARRAY_LENGTH 0, TO_JSON_STRING '[]'), at any depth, through every write; a
    # NULL STRUCT stays NULL. The sandbox stored the NULL, and only a result's NULL ARRAY came back [].
    wh.execute(f"CREATE TABLE `{ds}.held` (k INT64, d DATE, a ARRAY<INT64>, s STRUCT<x ARRAY<STRING>, y INT64>, "
               f"l ARRAY<STRUCT<z ARRAY<INT64>>>) PARTITION BY d")
    wh.execute(f"INSERT INTO `{ds}.held` (k, d, a, s, l) VALUES (1, DATE '2024-01-01', NULL, STRUCT(NULL, 1), "
               f"[STRUCT(CAST(NULL AS ARRAY<INT64>))]), (2, DATE '2024-01-02', [2], NULL, NULL)")
    wh.execute(f"INSERT INTO `{ds}.held` (k, d) VALUES (3, DATE '2024-01-03')")
    wh.execute(f"UPDATE `{ds}.held` SET a = NULL WHERE k = 2")
    wh.execute(f"MERGE `{ds}.held` AS t USING (SELECT 4 AS k, DATE '2024-01-04' AS d) AS n ON t.k = n.k "
               f"WHEN NOT MATCHED THEN INSERT (k, d, a) VALUES (n.k, n.d, CAST(NULL AS ARRAY<INT64>))")
    wh.execute(f"CREATE TABLE `{ds}.made` AS SELECT 5 AS k, CAST(NULL AS ARRAY<STRING>) AS a")
    got = wh.query(f"SELECT k, a IS NULL AS a_null, ARRAY_LENGTH(a) AS n, TO_JSON_STRING(s) AS s, "
                   f"TO_JSON_STRING(l) AS l FROM `{ds}.held` ORDER BY k")
    assert got.a_null.tolist() == [False] * 4 and got.n.tolist() == [0] * 4
    assert got.s.tolist() == ['{"x":[],"y":1}', "null", "null", "null"]
    assert got.l.tolist() == ['[{"z":[]}]', "[]", "[]", "[]"]
    assert wh.query(f"SELECT a IS NULL AS a_null FROM `{ds}.made`").a_null.tolist() == [False]


@pytest.mark.parametrize("write", [
    "CREATE TABLE `{ds}.tags` AS SELECT 1 AS k, [1, NULL] AS a",
    "INSERT INTO `{ds}.kept` (k, a) VALUES (2, [3, NULL])",
    "INSERT INTO `{ds}.kept` (k, s) SELECT 3, STRUCT(['x', NULL] AS names)",
    "UPDATE `{ds}.kept` SET a = ARRAY_CONCAT(a, [CAST(NULL AS INT64)]) WHERE k = 1",
])
def test_writing_an_array_with_a_null_element_fails_and_writes_nothing(wh, ds, write):
    # BigQuery: "Array cannot have a null element; error in writing field a"; the sandbox wrote it, so a pipeline
    # step that worked in a replay failed in production
    wh.execute(f"CREATE TABLE `{ds}.kept` (k INT64, a ARRAY<INT64>, s STRUCT<names ARRAY<STRING>>)")
    wh.execute(f"INSERT INTO `{ds}.kept` (k, a) VALUES (1, [1, 2])")
    with pytest.raises(RunbookError, match=r"cannot write column \w+ of .*: an ARRAY in a table cannot hold a NULL "
                                           r"element; drop the NULLs"):
        wh.execute(write.format(ds=ds))
    kept = wh.query(f"SELECT k, a FROM `{ds}.kept`")
    assert kept.k.tolist() == [1] and [list(a) for a in kept.a] == [[1, 2]]
    assert not wh.table_exists(f"{ds}.tags")


@pytest.mark.parametrize("write", [
    "INSERT INTO `{ds}.daily` (d, a) VALUES (DATE '2024-01-02', [3, NULL])",
    "UPDATE `{ds}.daily` SET d = DATE '2024-01-03', a = [CAST(NULL AS INT64)] WHERE d = DATE '2024-01-01'",
    "MERGE `{ds}.daily` AS t USING (SELECT DATE '2024-01-01' AS d, [1, NULL] AS a) AS s ON t.d = s.d "
    "WHEN MATCHED THEN UPDATE SET a = s.a",
])
def test_a_write_into_one_partition_of_an_array_with_a_null_element_fails(wh, ds, write):
    wh.execute(f"CREATE TABLE `{ds}.daily` (d DATE, a ARRAY<INT64>) PARTITION BY d")
    wh.execute(f"INSERT INTO `{ds}.daily` (d, a) VALUES (DATE '2024-01-01', [1, 2]), (DATE '2024-01-05', [5])")
    with pytest.raises(RunbookError, match=r"cannot write column a of .*: an ARRAY in a table cannot hold a NULL"):
        wh.execute(write.format(ds=ds))
    assert sorted(map(list, wh.query(f"SELECT a FROM `{ds}.daily`").a)) == [[1, 2], [5]]


def test_a_script_may_read_and_write_a_table_it_created(wh, ds):
    # BigQuery runs a script statement by statement; the sandbox's dry run (which the fake BigQuery answers every job
    # with) refused a table made by an earlier statement as missing
    script = (f"CREATE TABLE `{ds}.made` (d DATE, n INT64) PARTITION BY d; "
              f"INSERT INTO `{ds}.made` (d, n) VALUES (DATE '2024-01-01', 1); SELECT SUM(n) AS n FROM `{ds}.made`")
    assert wh.estimate_bytes(script) == 0
    assert wh.query(script).n.tolist() == [1]
    with pytest.raises(NotFoundError, match="absent"):
        wh.estimate_bytes(f"SELECT * FROM `{ds}.absent`; CREATE TABLE `{ds}.absent` (n INT64)")


def test_a_write_reads_only_the_partitions_it_wrote_for_null_array_elements(local_wh):
    # every other partition was checked when it was written; a row planted behind the warehouse's back in another
    # partition does not fail a write that did not touch it (the check reads what the write wrote, not the table)
    local_wh.create_dataset("arrays_by_day")
    local_wh.execute("CREATE TABLE arrays_by_day.t (d DATE, a ARRAY<INT64>) PARTITION BY d; "
                     "INSERT INTO arrays_by_day.t (d, a) VALUES (DATE '2024-01-01', [1])")
    with local_wh.connection(read_only=False) as con:
        con.execute("INSERT INTO arrays_by_day.t VALUES (DATE '2024-01-09', [NULL])")
    local_wh.execute("INSERT INTO arrays_by_day.t (d, a) VALUES (DATE '2024-01-02', [2])")
    with pytest.raises(RunbookError, match="cannot hold a NULL element"):
        local_wh.execute("UPDATE arrays_by_day.t SET a = a WHERE d = DATE '2024-01-09'")


def test_integers_inside_arrays_and_structs_are_int64_in_the_sandbox(local_wh):
    # BigQuery has one integer type (its client reads INT64 in an ARRAY or STRUCT as int64); DuckDB's literal is
    # INT32, inside an ARRAY or STRUCT too, and a table made from one kept it (CREATE TABLE AS SELECT [1] read back
    # as int32)
    local_wh.create_dataset("nested_ints")
    local_wh.execute("CREATE TABLE nested_ints.t AS SELECT [1, 2] AS l, STRUCT('a' AS a, 1 AS b, [2.5] AS f) AS s")
    for table in (local_wh.query_arrow("SELECT l, s FROM nested_ints.t"),
                  local_wh.query_arrow("SELECT [1, 2] AS l, STRUCT('a' AS a, 1 AS b, [2.5] AS f) AS s")):
        assert table.schema.field("l").type.value_type == pa.int64()
        assert table.schema.field("s").type.field("b").type == pa.int64()
        assert table.to_pylist() == [{"l": [1, 2], "s": {"a": "a", "b": 1, "f": [2.5]}}]


def test_results_larger_than_a_page_come_back_whole(wh):
    df = wh.query("SELECT x, CONCAT('p', CAST(x AS STRING)) AS s FROM UNNEST(GENERATE_ARRAY(1, 130)) AS x ORDER BY x")
    assert df.x.tolist() == list(range(1, 131)) and df.s.iloc[-1] == "p130"


def test_not_found_names_what_does_exist(wh, ds):
    _games(wh, ds)
    with pytest.raises(NotFoundError, match=rf"^Table {ds}.player_game_sumary was not found .*tables in {ds}: "
                                            r"player_game_summary\.$"):
        wh.query(f"SELECT * FROM `{PROJECT}.{ds}.player_game_sumary` WHERE points > @p", {"p": 1})
    for call in (lambda: wh.table_info(f"{ds}.player_game_sumary"), lambda: wh.partitions(f"{ds}.nope")):
        with pytest.raises(NotFoundError, match=rf"^Table {ds}.(player_game_sumary|nope) was not found"):
            call()
    for call in (lambda: wh.query("SELECT * FROM nowhere_at_all.t"), lambda: wh.list_tables("nowhere_at_all"),
                 lambda: wh.dataset_info("nowhere_at_all"), lambda: wh.create_table("nowhere_at_all.t", [("a", "INT64")])):
        with pytest.raises(NotFoundError, match=r"^Dataset nowhere_at_all was not found .*datasets: .*"):
            call()


def test_sql_errors_name_the_line_and_column(wh):
    with pytest.raises(RunbookError, match=r"line 2, column \d+"):
        wh.query("SELECT 1 AS a,\n  FROM FROM")


def test_a_transaction_is_all_or_nothing(wh, ds):
    ref = _games(wh, ds)
    with pytest.raises(NotFoundError):
        wh.execute(f"""BEGIN TRANSACTION;
            DELETE FROM {ref} WHERE game_date = DATE '2024-01-07';
            INSERT INTO {ds}.no_such_table VALUES (1);
            COMMIT TRANSACTION;""")
    assert wh.table_info(ref).num_rows == 4


# ------------------------------------------------------------------------------------------ bytes and partitions


def test_estimate_bytes_reads_only_the_columns_and_partitions_named(wh, ds):
    ref = _games(wh, ds)
    whole = wh.table_info(ref).num_bytes
    assert wh.estimate_bytes(f"SELECT * FROM {ref}") == whole
    assert wh.estimate_bytes(f"SELECT COUNT(*) AS n FROM {ref}") == 0
    assert wh.estimate_bytes(f"SELECT points FROM {ref}") == 3 * 8
    one_day = wh.estimate_bytes(f"SELECT * FROM {ref} WHERE game_date = @d", {"d": date(2024, 1, 7)})
    two_days = wh.estimate_bytes(f"SELECT * FROM {ref} WHERE game_date BETWEEN DATE '2024-01-07' AND '2024-01-08'")
    assert 0 < one_day < two_days < whole
    # a filter on another column prunes nothing: BigQuery still reads the partitions
    assert wh.estimate_bytes(f"SELECT points FROM {ref} WHERE points > 20") == 3 * 8
    assert wh.table_info(ref).num_rows == 4   # nothing ran
    with pytest.raises(NotFoundError):
        wh.estimate_bytes(f"SELECT * FROM {ds}.nope")


def test_partitions_come_from_metadata_and_change_only_where_written(wh, ds):
    ref = _games(wh, ds)
    parts = wh.partitions(ref)
    assert all(isinstance(p, PartitionInfo) for p in parts)
    assert [(p.partition_id, p.partition_date, p.total_rows) for p in parts] == [
        ("20240107", date(2024, 1, 7), 2), ("20240108", date(2024, 1, 8), 1), ("20240109", date(2024, 1, 9), 1)]
    assert sum(p.total_logical_bytes for p in parts) == wh.table_info(ref).num_bytes
    before = {p.partition_id: p.last_modified for p in parts}
    # the replay's MERGE into one partition (partition column first in the keys)
    wh.execute(f"""MERGE {ref} AS t
        USING (SELECT DATE '2024-01-08' AS game_date, 'lebronjames' AS player_lookup, 27 AS points, 30.0 AS minutes
               UNION ALL SELECT DATE '2024-01-08', 'stephcurry', 31, 34.0) AS s
        ON t.game_date = s.game_date AND t.player_lookup = s.player_lookup
           AND t.game_date BETWEEN @start AND @end
        WHEN MATCHED THEN UPDATE SET points = s.points, minutes = s.minutes
        WHEN NOT MATCHED THEN INSERT ROW""", {"start": date(2024, 1, 8), "end": date(2024, 1, 8)})
    after = {p.partition_id: p for p in wh.partitions(ref)}
    assert after["20240108"].total_rows == 2 and after["20240108"].last_modified > before["20240108"]
    assert after["20240107"].last_modified == before["20240107"]
    assert after["20240109"].last_modified == before["20240109"]
    wh.create_table(f"{ds}.flat", [("x", "INT64")])
    assert [(p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.flat")] == [(None, 0)]


@pytest.mark.parametrize("rewrite", [
    "UPDATE {ref} SET points = points WHERE game_date = DATE '2024-01-08'",
    "DELETE FROM {ref} WHERE game_date = DATE '2024-01-08'; "
    "INSERT INTO {ref} VALUES (DATE '2024-01-08', 'lebronjames', 25, NULL)",
    "UPDATE {ref} SET points = 0 WHERE game_date = DATE '2024-01-08'; "
    "UPDATE {ref} SET points = 25 WHERE game_date = DATE '2024-01-08'",
    "MERGE {ref} AS t USING (SELECT * FROM {ref} WHERE game_date = DATE '2024-01-08') AS s "
    "ON t.game_date = s.game_date AND t.player_lookup = s.player_lookup "
    "WHEN MATCHED THEN UPDATE SET points = s.points",
], ids=["update-to-itself", "delete-and-insert-again", "changed-and-back", "merge-of-its-own-rows"])
def test_a_write_of_the_same_rows_is_still_the_partitions_last_change(wh, ds, rewrite):
    """BigQuery's LAST_MODIFIED_TIME is a partition's last write, not its last different content: a replay
    that rewrote production with what it held has still written production."""
    ref = _games(wh, ds)
    before = {p.partition_id: p for p in wh.partitions(ref)}
    table_before = wh.table_info(ref).last_modified
    wh.execute(rewrite.format(ref=ref))
    after = {p.partition_id: p for p in wh.partitions(ref)}
    assert [(p.partition_id, p.total_rows) for p in after.values()] == \
        [(p.partition_id, p.total_rows) for p in before.values()]
    assert after["20240108"].last_modified > before["20240108"].last_modified
    assert after["20240107"].last_modified == before["20240107"].last_modified
    assert after["20240109"].last_modified == before["20240109"].last_modified
    assert wh.table_info(ref).last_modified > table_before


def test_a_write_that_matches_no_row_changes_nothing(wh, ds):
    ref = _games(wh, ds)
    before = [(p.partition_id, p.last_modified) for p in wh.partitions(ref)]
    wh.execute(f"UPDATE {ref} SET points = 1 WHERE player_lookup = 'nobody'; "
               f"DELETE FROM {ref} WHERE game_date = DATE '2030-01-01'")
    assert [(p.partition_id, p.last_modified) for p in wh.partitions(ref)] == before


def test_a_table_replaced_by_the_same_rows_is_written_everywhere(wh, ds):
    flat = f"{ds}.flat"
    wh.execute(f"CREATE TABLE {flat} AS SELECT 1 AS x")
    first = wh.partitions(flat)[0].last_modified
    wh.execute(f"CREATE OR REPLACE TABLE {flat} AS SELECT 1 AS x")
    assert wh.partitions(flat)[0].last_modified > first


def test_a_sandbox_load_replacing_a_table_with_the_rows_it_read_writes_every_partition(local_wh):
    """(Loading is the sandbox's own way in, for its generator and tests.) A replace truncates, as BigQuery's
    WRITE_TRUNCATE, and the frame query() gave (db-dtypes DATE columns included) loads back as it was."""
    local_wh.create_dataset("reload")
    ref = _games(local_wh, "reload")
    before = {p.partition_id: p.last_modified for p in local_wh.partitions(ref)}
    rows = local_wh.query(f"SELECT * FROM {ref}")
    assert rows["game_date"].dtype.name == "dbdate"
    local_wh.load_dataframe(rows, ref, mode="replace")
    after = {p.partition_id: p.last_modified for p in local_wh.partitions(ref)}
    assert after.keys() == before.keys() and all(after[k] > before[k] for k in before)
    assert local_wh.table_info(ref).columns == GAMES
    assert local_wh.query(f"SELECT * FROM {ref} ORDER BY 1, 2").equals(rows.sort_values(["game_date", "player_lookup"],
                                                                                   ignore_index=True))


def test_integer_range_partitions_have_bigquerys_ids_and_estimates(wh, ds):
    ref = f"{ds}.ranged"
    wh.execute(f"""CREATE TABLE {ref} (bucket INT64, v STRING)
                   PARTITION BY RANGE_BUCKET(bucket, GENERATE_ARRAY(0, 30, 10))""")
    wh.execute(f"INSERT INTO {ref} VALUES (1, 'a'), (5, 'bb'), (12, 'ccc'), (35, 'dddd'), (NULL, 'eeeee')")
    info = wh.table_info(ref)
    assert (info.partition_column, info.partition_type, info.partition_range) == ("bucket", "RANGE", (0, 30, 10))
    # a range's id is its start; outside [start, end) is __UNPARTITIONED__, NULL is __NULL__
    assert sorted((p.partition_id, p.total_rows) for p in wh.partitions(ref)) == [
        ("0", 2), ("10", 1), ("__NULL__", 1), ("__UNPARTITIONED__", 1)]
    v = {text: 2 + len(text) for text in ("a", "bb", "ccc", "dddd", "eeeee")}
    # BigQuery reads whole partitions (bucket = 5 reads [0, 10), the row with 1 too), and the
    # partition column the filter names
    assert wh.estimate_bytes(f"SELECT v FROM {ref} WHERE bucket = 5") == v["a"] + v["bb"] + 2 * 8
    # __UNPARTITIONED__ holds values a filter may keep: read
    assert wh.estimate_bytes(f"SELECT v FROM {ref} WHERE bucket >= @b", {"b": 12}) == v["ccc"] + v["dddd"] + 2 * 8
    assert wh.estimate_bytes(f"SELECT v FROM {ref}") == sum(v.values())
    wh.create_table_like(ref, f"{ds}.ranged_copy")
    assert wh.table_info(f"{ds}.ranged_copy").partition_range == (0, 30, 10)


def test_timestamp_and_datetime_columns_partition_by_day(wh, ds):
    wh.execute(f"CREATE TABLE {ds}.events (ts TIMESTAMP, n INT64) PARTITION BY DATE(ts)")
    wh.execute(f"CREATE TABLE {ds}.local_events (dt DATETIME, n INT64) PARTITION BY DATETIME_TRUNC(dt, DAY)")
    wh.execute(f"""INSERT INTO {ds}.events VALUES (TIMESTAMP '2024-01-07 23:30:00+00', 1),
                     (TIMESTAMP '2024-01-08 01:00:00+02', 2), (TIMESTAMP '2024-01-08 00:30:00+00', 3), (NULL, 4)""")
    wh.execute(f"""INSERT INTO {ds}.local_events VALUES (DATETIME '2024-01-07 23:30:00', 1),
                     (DATETIME '2024-01-08 00:30:00', 2)""")
    # a TIMESTAMP's day is its UTC day (01:00+02 is 23:00 the day before)
    assert [(p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.events")] == [
        ("20240107", 2), ("20240108", 1), ("__NULL__", 1)]
    assert [(p.partition_date, p.total_rows) for p in wh.partitions(f"{ds}.local_events")] == [
        (date(2024, 1, 7), 1), (date(2024, 1, 8), 1)]
    assert wh.table_info(f"{ds}.events").partition_type == "DAY"
    # a filter on the partition column reads the whole days it keeps (n and the column, 8 bytes a row)
    assert wh.estimate_bytes(f"SELECT n FROM {ds}.events WHERE ts >= TIMESTAMP '2024-01-08 00:00:00+00'") == 2 * 8
    assert wh.estimate_bytes(f"SELECT n FROM {ds}.events WHERE ts > TIMESTAMP '2024-01-07 23:00:00+00'") == 6 * 8
    assert wh.estimate_bytes(f"SELECT n FROM {ds}.local_events WHERE dt < DATETIME '2024-01-08 00:00:00'") == 2 * 8


def test_days_outside_bigquerys_partition_range_are_unpartitioned(wh, ds):
    # time-unit partitions span 1960-01-01 to 2159-12-31: BigQuery puts any other day in __UNPARTITIONED__
    wh.execute(f"CREATE TABLE {ds}.far (k DATE, v INT64) PARTITION BY k")
    wh.execute(f"""INSERT INTO {ds}.far VALUES (DATE '1959-12-31', 1), (DATE '1960-01-01', 2), (DATE '2159-12-31', 3),
                     (DATE '2160-01-01', 4), (DATE '0001-01-01', 5), (NULL, 6)""")
    assert sorted((p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.far")) == [
        ("19600101", 1), ("21591231", 1), ("__NULL__", 1), ("__UNPARTITIONED__", 3)]


def test_hour_month_and_year_partitions_have_bigquerys_ids(wh, ds):
    # BigQuery's partition_id is YYYYMMDDHH for an hour, YYYYMM for a month, YYYY for a year (UTC for a TIMESTAMP)
    wh.execute(f"""CREATE TABLE {ds}.hourly (ts TIMESTAMP, n INT64) PARTITION BY TIMESTAMP_TRUNC(ts, HOUR);
                   CREATE TABLE {ds}.monthly (d DATE, n INT64) PARTITION BY DATE_TRUNC(d, MONTH);
                   CREATE TABLE {ds}.yearly (dt DATETIME, n INT64) PARTITION BY DATETIME_TRUNC(dt, YEAR)""")
    wh.execute(f"""INSERT INTO {ds}.hourly VALUES (TIMESTAMP '2024-01-07 23:30:00+00', 1),
                     (TIMESTAMP '2024-01-08 01:10:00+02', 2), (TIMESTAMP '2024-01-08 00:00:00+00', 3),
                     (TIMESTAMP '1959-12-31 23:00:00+00', 4), (NULL, 5)""")
    wh.execute(f"""INSERT INTO {ds}.monthly VALUES (DATE '2024-01-07', 1), (DATE '2024-01-31', 2), (DATE '2024-02-01', 3)""")
    wh.execute(f"""INSERT INTO {ds}.yearly VALUES (DATETIME '2023-12-31 23:59:59', 1), (DATETIME '2024-01-01 00:00:00', 2),
                     (DATETIME '2024-07-01 12:00:00', 3)""")
    assert [(p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.hourly")] == [
        ("2024010723", 2), ("2024010800", 1), ("__NULL__", 1), ("__UNPARTITIONED__", 1)]
    assert [(p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.monthly")] == [("202401", 2), ("202402", 1)]
    assert [(p.partition_id, p.total_rows) for p in wh.partitions(f"{ds}.yearly")] == [("2023", 1), ("2024", 2)]
    assert [p.partition_date for p in wh.partitions(f"{ds}.monthly")] == [None, None]   # a month is no day
    assert [wh.table_info(f"{ds}.{t}").partition_type for t in ("hourly", "monthly", "yearly")] == ["HOUR", "MONTH", "YEAR"]
    # a filter on one day reads that day's whole month (n and d, 8 bytes each a row)
    assert wh.estimate_bytes(f"SELECT n FROM {ds}.monthly WHERE d = DATE '2024-01-07'") == 2 * 2 * 8
    wh.create_table_like(f"{ds}.monthly", f"{ds}.monthly_copy")
    assert wh.table_info(f"{ds}.monthly_copy").partition_type == "MONTH"
    wh.execute(f"CREATE TABLE {ds}.hourly_like LIKE {ds}.hourly")
    assert wh.table_info(f"{ds}.hourly_like").partition_type == "HOUR"


@pytest.mark.parametrize("ddl", ["(d DATE) PARTITION BY DATE_TRUNC(d, HOUR)", "(d DATE) PARTITION BY DATE_TRUNC(d, DAY)",
                                 "(d DATE) PARTITION BY TIMESTAMP_TRUNC(d, MONTH)",
                                 "(ts TIMESTAMP) PARTITION BY DATETIME_TRUNC(ts, MONTH)"])
def test_a_partitioning_bigquery_refuses_is_refused(wh, ds, ddl):
    with pytest.raises(RunbookError, match="PARTITION BY expression must be"):
        wh.execute(f"CREATE TABLE {ds}.bad {ddl}")
    assert not wh.table_exists(f"{ds}.bad")


def test_a_fingerprint_keys_a_months_partition_by_its_id_and_checksums_the_replayed_days(wh, ds):
    # runbook 03 fingerprints every production table, whatever its partitioning: a table partitioned by month is
    # keyed by BigQuery's partition ids, and its checksum covers the replay's days in it
    from runbook_lib.replay.fingerprint import changes, fingerprint, plan_checksums

    ref = f"{ds}.monthly"
    wh.execute(f"CREATE TABLE {ref} (ts TIMESTAMP, n INT64) PARTITION BY TIMESTAMP_TRUNC(ts, MONTH)")
    wh.execute(f"""INSERT INTO {ref} VALUES (TIMESTAMP '2025-12-15 10:00:00+00', 1), (TIMESTAMP '2025-12-20 10:00:00+00', 2),
                                           (TIMESTAMP '2026-01-02 10:00:00+00', 3)""")
    days = [date(2025, 12, 15)]
    checksums = plan_checksums(wh, [ref], days, True, 10 ** 9)
    before = fingerprint(wh, [ref], checksums)
    printed = before[ref].partitions
    assert sorted(printed) == ["202512", "202601"] and printed["202512"].rows == 2
    expected = _fingerprint_of('{"ts":"2025-12-15T10:00:00Z","n":1}')
    assert (printed["202512"].checksum, printed["202601"].checksum) == (expected, None)
    wh.execute(f"UPDATE {ref} SET n = 10 WHERE n = 1")
    after = fingerprint(wh, [ref], checksums)
    assert [c.what for c in changes(before, after)] == ["202512: same 2 rows, different content"]


def test_information_schema_partitions_in_sql(wh, ds):
    ref = _games(wh, ds)
    df = wh.query(f"""SELECT table_name, partition_id, total_rows FROM `{PROJECT}.{ds}.INFORMATION_SCHEMA.PARTITIONS`
                      WHERE table_name = 'player_game_summary' AND partition_id >= @from ORDER BY partition_id""",
                  {"from": "20240108"})
    assert df.values.tolist() == [["player_game_summary", "20240108", 1], ["player_game_summary", "20240109", 1]]
    assert wh.table_info(ref).num_rows == 4


# ------------------------------------------------------------------------------------------ what the runbooks send


def test_compare_fingerprints_rows_per_partition(wh, ds):
    ref = _games(wh, ds)
    df = wh.query(f"""
        SELECT game_date, COUNT(*) AS row_count,
               BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(player_lookup, points, minutes)))) AS fingerprint
        FROM {ref} WHERE game_date BETWEEN @start AND @end GROUP BY game_date ORDER BY game_date""",
                  {"start": date(2024, 1, 7), "end": date(2024, 1, 9)})
    assert df.game_date.tolist() == [date(2024, 1, 7), date(2024, 1, 8), date(2024, 1, 9)]
    assert df.row_count.tolist() == [2, 1, 1]

    def fp(text: str) -> int:   # BigQuery's FARM_FINGERPRINT: farmhash fingerprint64 read as signed
        u = farmhash.fingerprint64(text)
        return u - (1 << 64) if u >= 1 << 63 else u

    assert df.fingerprint.iloc[2] == fp('{"player_lookup":"nikolajokic","points":null,"minutes":36.25}')
    assert df.fingerprint.iloc[0] == fp('{"player_lookup":"lebronjames","points":30,"minutes":35.5}') ^ \
        fp('{"player_lookup":"stephcurry","points":28,"minutes":33.5}')


@pytest.mark.parametrize("sql, expected", [
    # FARM_FINGERPRINT of '' (DESIGN: checked against BigQuery)
    ("SELECT FARM_FINGERPRINT('')", -7286425919675154353),
    # TO_JSON_STRING: compact JSON, struct fields in order, dates quoted, NULL as null
    ("SELECT TO_JSON_STRING(STRUCT(1 AS a, 'x' AS b, DATE '2024-01-07' AS d, CAST(NULL AS STRING) AS n))",
     '{"a":1,"b":"x","d":"2024-01-07","n":null}'),
    ("SELECT TO_JSON_STRING([1, 2, 3])", "[1,2,3]"),
    # SAFE_ functions: NULL instead of an error
    ("SELECT SAFE_DIVIDE(1, 0)", None), ("SELECT SAFE_CAST('x' AS INT64)", None),
    ("SELECT SAFE.PARSE_DATE('%Y-%m-%d', 'not a date')", None), ("SELECT SAFE_DIVIDE(6, 4)", 1.5),
    # CAST(x AS STRING): floats in 15 significant digits, or 17 where 15 do not give the value back (1.0 is '1':
    # ZetaSQL's compliance cases, see test_dialect), NUMERIC without trailing zeros
    ("SELECT CAST(1.0 AS STRING)", "1"), ("SELECT CAST(2.5 AS STRING)", "2.5"),
    ("SELECT CAST(0.1 AS STRING)", "0.1"), ("SELECT CAST(NUMERIC '1.50' AS STRING)", "1.5"),
    ("SELECT CAST(NUMERIC '10' AS STRING)", "10"),
])
def test_golden_answers_the_runbooks_rely_on(wh, sql, expected):
    df = wh.query(sql)
    value = df.iloc[0, 0]
    assert (None if pd.isna(value) else value) == expected


def test_to_json_is_a_json_value_with_bigquerys_encoding(wh):
    # JSON functions page, TO_JSON: a JSON value (members sorted as the JSON type keeps them: the page's
    # STRUCT(12 AS purchases, TRUE AS inStock) -> {"inStock":true,"purchases":12}); a wide INT64 stays a number
    # unless stringify_wide_numbers=>TRUE. The client gives a JSON column as its text, on both targets alike.
    df = wh.query("SELECT TO_JSON(STRUCT(12 AS purchases, TRUE AS inStock)) AS j, "
                  "TO_JSON(9007199254740993) AS n, TO_JSON(9007199254740993, stringify_wide_numbers=>TRUE) AS s, "
                  "TO_JSON_STRING(TO_JSON(STRUCT(2 AS b, 1 AS a))) AS t")
    assert df.iloc[0].tolist() == ['{"inStock":true,"purchases":12}', "9007199254740993", '"9007199254740993"',
                                   '{"a":1,"b":2}']


def test_to_json_is_typed_json_as_the_client_sees_it(gcp_wh):
    fields = gcp_wh.client.query("SELECT TO_JSON(STRUCT(1 AS a)) AS j, TO_JSON_STRING(1) AS s").result().schema
    assert [(f.name, f.field_type) for f in fields] == [("j", "JSON"), ("s", "STRING")]


@pytest.mark.parametrize("sql", [
    "SELECT CAST(x AS BIGNUMERIC) AS x FROM UNNEST([0.1]) AS x",
    "SELECT CAST(x AS BIGNUMERIC) AS x FROM UNNEST([NUMERIC '123456789012345678901234.5']) AS x",
])
def test_a_runtime_cast_to_bignumeric_the_sandbox_cannot_hold_is_refused(wh, sql):
    # The sandbox's BIGNUMERIC is DECIMAL(38, 18): a value BigQuery would hold to 38 places is refused, not rounded
    # (by ERROR() as it runs, as the sandbox's other runtime casts; the gcp adapter's sentence carries it).
    with pytest.raises(RunbookError, match=r"the sandbox's BIGNUMERIC holds 18 decimal places"):
        wh.query(sql)


@pytest.mark.parametrize("sql, words", [
    ("SELECT CAST(x AS INT64) AS n FROM UNNEST(['12', 'abc']) AS x", "abc"),
    ("SELECT x + 1 AS n FROM UNNEST([9223372036854775807]) AS x", "INT64"),
])
def test_a_query_that_fails_as_it_runs_is_a_warehouse_error_on_both_targets(wh, sql, words):
    # BigQuery fails a bad cast or an overflow as the query runs (invalidQuery: WarehouseQueryError on gcp); the
    # sandbox raised DuckDB's own exception, which no runbook catches.
    with pytest.raises(WarehouseQueryError, match=words) as caught:
        wh.query(sql)
    assert "\n" not in str(caught.value)


def test_a_table_partitioned_by_ingestion_time_is_refused(wh, ds):
    with pytest.raises(RunbookError, match=r"cannot make a table partitioned by ingestion time"):
        wh.execute(f"CREATE TABLE {ds}.by_load (x INT64) PARTITION BY _PARTITIONDATE")
    assert not wh.table_exists(f"{ds}.by_load")


# ------------------------------------------------------------------------------------------ side by side


def test_both_targets_answer_the_same(local_wh, gcp_wh):
    for w in (local_wh, gcp_wh):
        w.create_dataset("side_by_side", labels={"purpose": "parity"})
        _games(w, "side_by_side")
    try:
        sql = "SELECT * FROM side_by_side.player_game_summary WHERE game_date >= @d ORDER BY game_date, player_lookup"
        params = {"d": date(2024, 1, 8)}
        pd.testing.assert_frame_equal(local_wh.query(sql, params), gcp_wh.query(sql, params))
        assert local_wh.estimate_bytes(sql, params) == gcp_wh.estimate_bytes(sql, params)
        timeless = {"created_at", "last_modified"}
        local_info, gcp_info = (w.table_info("side_by_side.player_game_summary").to_dict() for w in (local_wh, gcp_wh))
        assert {k: v for k, v in local_info.items() if k not in timeless} == \
            {k: v for k, v in gcp_info.items() if k not in timeless}
        assert [(p.partition_id, p.total_rows, p.total_logical_bytes) for p in
                local_wh.partitions("side_by_side.player_game_summary")] == \
            [(p.partition_id, p.total_rows, p.total_logical_bytes) for p in
             gcp_wh.partitions("side_by_side.player_game_summary")]
        local_ds, gcp_ds = (w.dataset_info("side_by_side").to_dict() for w in (local_wh, gcp_wh))
        assert {k: v for k, v in local_ds.items() if k not in timeless} == \
            {k: v for k, v in gcp_ds.items() if k not in timeless}
    finally:
        for w in (local_wh, gcp_wh):
            w.drop_dataset("side_by_side", delete_contents=True)
