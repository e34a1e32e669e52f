"""The sandbox warehouse on what a pipeline's BigQuery SQL uses beyond one query: SQL UDFs (templated, typed,
RETURNS), table functions as BigQuery documents them, TEMP objects, system variables, scripting it does not run,
and CREATE of what exists. (Found by the zsql_scripts probe, against the user-defined functions, table functions,
procedural language and system variables docs.)"""
from __future__ import annotations

import logging

import pytest

from runbook_lib.local.bigquery import UnsupportedSQL, meta
from runbook_lib.local.duckdb_file import engine
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError

pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")


@pytest.fixture
def wh(tmp_path) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute("CREATE TABLE ds.t (id INT64, cat STRING); INSERT INTO ds.t VALUES (1, 'a'), (2, 'b'), (3, 'a')")
    return w


def test_a_temp_table_after_a_comment_lasts_its_script_only(wh):
    # BigQuery drops a script's TEMP tables and functions when it ends; a header comment hid the CREATE from the
    # check, so the table outlived the script: the next run failed, or (IF NOT EXISTS) read the last run's rows
    wh.execute("CREATE TABLE ds.days (d DATE)")
    for day in ("2024-01-01", "2024-01-02"):
        wh.execute(f"-- load one day\nCREATE TEMP TABLE IF NOT EXISTS stage AS SELECT DATE '{day}' AS d;\n"
                   "INSERT INTO ds.days SELECT d FROM stage;")
    assert [str(d) for d in wh.query("SELECT d FROM ds.days ORDER BY d").d] == ["2024-01-01", "2024-01-02"]
    script = "/* label */ CREATE TEMP FUNCTION label(x INT64) AS (x + 1); SELECT label(1) AS v"
    assert wh.query(script).v.tolist() == [2] and wh.query(script).v.tolist() == [2]


def test_create_of_what_exists_is_bigquerys_already_exists(wh):
    with pytest.raises(WarehouseQueryError, match=r"Already Exists: Table ds\.t \(CREATE OR REPLACE"):
        wh.execute("CREATE TABLE ds.t (a INT64)")
    with pytest.raises(WarehouseQueryError, match="Already Exists: Dataset ds"):
        wh.execute("CREATE SCHEMA ds")
    with pytest.raises(WarehouseQueryError, match="Already Exists: Function f"):
        wh.query("CREATE TEMP FUNCTION f(x INT64) AS (x); CREATE TEMP FUNCTION f(x INT64) AS (x); SELECT f(1)")
    assert wh.query("SELECT COUNT(*) AS n FROM ds.t").n.tolist() == [3]   # nothing changed


def test_project_id_is_the_sandboxs_project_and_other_system_variables_are_refused(wh):
    assert wh.query("SELECT @@project_id AS p").p.tolist() == ["p"]
    with pytest.raises(UnsupportedSQL, match=r"system variable @@row_count \(scripting"):
        wh.query("SELECT @@row_count AS r")


def test_templated_and_typed_sql_udfs_answer_as_the_docs_print(wh):
    # user-defined-functions.md: ANY TYPE parameters take any argument; 1.75 and 1.7802547770700636
    got = wh.query("CREATE TEMP FUNCTION AddFourAndDivideAny(x ANY TYPE, y ANY TYPE) AS ((x + 4) / y); "
                   "SELECT AddFourAndDivideAny(3, 4) AS i, AddFourAndDivideAny(1.59, 3.14) AS f")
    assert got.i.tolist() == [1.75] and got.f.tolist() == [pytest.approx(1.7802547770700636)]
    last = wh.query("CREATE TEMP FUNCTION LastArrayElement(arr ANY TYPE) AS (arr[ORDINAL(ARRAY_LENGTH(arr))]); "
                    "SELECT LastArrayElement(['Ada', 'Rogers']) AS v")
    assert last.v.tolist() == ["Rogers"]
    # a literal BigQuery coerces to a typed parameter; the RETURNS type is the result's (a table made from it too)
    next_day = wh.query("CREATE TEMP FUNCTION NextDay(d DATE) AS (DATE_ADD(d, INTERVAL 1 DAY)); "
                        "SELECT CAST(NextDay('2024-01-31') AS STRING) AS v")
    assert next_day.v.tolist() == ["2024-02-01"]
    wh.execute("CREATE TEMP FUNCTION asf(x INT64) RETURNS FLOAT64 AS (x); CREATE TABLE ds.o AS SELECT asf(2) AS r")
    assert dict(wh.table_info("ds.o").columns)["r"] == "FLOAT64"


def test_a_table_function_without_returns_table_is_one(wh):
    # table-functions doc: RETURNS TABLE<...> is optional; without it sqlglot made a scalar function
    wh.execute("CREATE OR REPLACE TABLE FUNCTION ds.bycat(c STRING) AS (SELECT id FROM ds.t WHERE cat = c)")
    assert sorted(wh.query("SELECT id FROM ds.bycat('a')").id) == [1, 3]
    wh.execute("CREATE TABLE FUNCTION ds.bycat2(c STRING) AS SELECT id FROM ds.t WHERE cat = c")
    assert wh.query("SELECT COUNT(*) AS n FROM p.ds.bycat2('b')").n.tolist() == [1]
    wh.execute("DROP TABLE FUNCTION ds.bycat")
    # a scalar UDF's subquery, parenthesised twice, stays scalar; a project-qualified call names it
    wh.execute("CREATE FUNCTION ds.total(x INT64) AS ((SELECT SUM(id) + x FROM ds.t))")
    assert wh.query("SELECT p.ds.total(4) AS v, ds.total(0) AS w").values.tolist() == [[10, 6]]


@pytest.mark.parametrize("sql, first_words", [
    ("IF (SELECT COUNT(*) FROM ds.t) > 0 THEN SELECT 1; END IF;", "IF"),
    ("CASE WHEN TRUE THEN SELECT 1; ELSE SELECT 2; END CASE;", "CASE"),
    ("RAISE USING MESSAGE = 'stop';", "RAISE"),
    ("lbl: LOOP LEAVE lbl; END LOOP lbl;", "lbl: LOOP"),
    ("-- nightly job\nBEGIN INSERT INTO ds.t VALUES (9, 'z'); END;", "BEGIN INSERT"),
])
def test_scripting_is_refused_in_the_kits_sentence_naming_the_statement(wh, sql, first_words, caplog):
    with caplog.at_level(logging.WARNING, logger="sqlglot"), pytest.raises(UnsupportedSQL) as refused:
        wh.execute(sql)
    assert str(refused.value).startswith(f"The local warehouse does not support the BigQuery statement starting "
                                         f"{first_words!r} (scripting")
    assert "sqlglot" not in str(refused.value) and "nightly" not in str(refused.value)
    assert not [r for r in caplog.records if "Falling back" in r.getMessage()]
    assert wh.query("SELECT COUNT(*) AS n FROM ds.t").n.tolist() == [3]


def test_bare_begin_is_a_transaction_and_a_javascript_udf_is_said_to_be_one(wh):
    wh.execute("BEGIN; INSERT INTO ds.t VALUES (4, 'c'); COMMIT;")
    assert wh.query("SELECT COUNT(*) AS n FROM ds.t").n.tolist() == [4]
    with pytest.raises(UnsupportedSQL, match=r"JavaScript \(LANGUAGE js\)"):
        wh.query("CREATE TEMP FUNCTION js(x STRING) RETURNS STRING LANGUAGE js AS r'return x;'; SELECT js('a')")


def test_net_functions_are_refused_by_name_and_no_extension_is_ever_fetched(wh):
    with pytest.raises(UnsupportedSQL, match=r"Function not found: NET\.HOST \(the sandbox does not emulate"):
        wh.query("SELECT NET.HOST('https://www.google.com/path') AS h")
    with pytest.raises(UnsupportedSQL, match=r"NET\.IP_FROM_STRING"):
        wh.query("SELECT NET.IP_FROM_STRING('1.2.3.4') AS ip")
    with wh.connection(read_only=True) as con:
        assert con is engine().con
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def test_an_anonymous_struct_is_inserted_by_position(wh):
    # BigQuery coerces STRUCT(1, 'x') and (1, 'x') to the column's STRUCT<a, b>; DuckDB refused _0, _1
    wh.execute("CREATE TABLE ds.s (s STRUCT<a INT64, b STRING>, arr ARRAY<STRUCT<a INT64, b STRING>>)")
    wh.execute("INSERT INTO ds.s VALUES (STRUCT(1, 'x'), [STRUCT(2, 'y')]), ((3, 'z'), [(4, 'w')])")
    assert wh.query("SELECT s.a, s.b, arr[OFFSET(0)].a AS first FROM ds.s ORDER BY 1").values.tolist() == \
        [[1, "x", 2], [3, "z", 4]]


def test_alter_table_takes_several_actions_and_set_options_keeps_expiry_and_labels(wh):
    wh.execute("ALTER TABLE ds.t ADD COLUMN a INT64, ADD COLUMN b STRING")
    assert [c for c, _ in wh.table_info("ds.t").columns] == ["id", "cat", "a", "b"]
    wh.execute("ALTER TABLE ds.t SET OPTIONS (expiration_timestamp = TIMESTAMP '2030-01-01 00:00:00+00', "
               "labels = [('team', 'data'), ('tier', 'test')], description = 'a test table')")
    info = wh.table_info("ds.t")
    assert str(info.expires_at) == "2030-01-01 00:00:00+00:00" and info.labels == {"team": "data", "tier": "test"}
    wh.execute("ALTER TABLE ds.t SET OPTIONS (expiration_timestamp = NULL, labels = [('tier', 'prod')])")
    info = wh.table_info("ds.t")
    assert info.expires_at is None and info.labels == {"tier": "prod"}   # labels replaced, as BigQuery's SET does
    wh.execute("ALTER TABLE ds.t ALTER COLUMN cat SET OPTIONS (description = 'category')")
    wh.execute("ALTER SCHEMA ds SET OPTIONS (default_table_expiration_days = 3, labels = [('env', 'sandbox')])")
    with wh.connection(read_only=True) as con:
        assert meta.dataset_meta(con, "ds")["default_table_expiration_days"] == 3
        assert meta.dataset_meta(con, "ds")["labels"] == {"env": "sandbox"}
    assert wh.query("SELECT COUNT(*) AS n FROM ds.t").n.tolist() == [3]


def test_alter_refusals_name_the_table_the_dataset_or_the_option(wh):
    with pytest.raises(Exception, match=r"Table ds\.nope was not found"):
        wh.execute("ALTER TABLE ds.nope SET OPTIONS (description = 'x')")
    wh.execute("ALTER TABLE IF EXISTS ds.nope SET OPTIONS (description = 'x')")
    with pytest.raises(Exception, match="Dataset nods was not found"):
        wh.execute("ALTER SCHEMA nods SET OPTIONS (labels = [('a', 'b')])")
    with pytest.raises(UnsupportedSQL, match="cannot set a table option require_partition_filter; it keeps "
                                             "expiration_timestamp, labels"):
        wh.execute("ALTER TABLE ds.t SET OPTIONS (require_partition_filter = TRUE)")
    with pytest.raises(UnsupportedSQL, match="CREATE MATERIALIZED VIEW; only BigQuery runs it"):
        wh.execute("CREATE MATERIALIZED VIEW ds.mv AS SELECT id FROM ds.t")


def test_keys_not_enforced_are_not_enforced(wh):
    # BigQuery takes PRIMARY KEY and FOREIGN KEY only NOT ENFORCED, as metadata; DuckDB enforced them (or could not
    # read the words): a duplicate key BigQuery stores was refused
    wh.execute("CREATE TABLE ds.k (id INT64, ref INT64 REFERENCES ds.t(id) NOT ENFORCED, "
               "PRIMARY KEY (id) NOT ENFORCED)")
    wh.execute("CREATE TABLE ds.k2 (id INT64 PRIMARY KEY NOT ENFORCED); "
               "ALTER TABLE ds.t ADD PRIMARY KEY (id) NOT ENFORCED")
    wh.execute("INSERT INTO ds.k VALUES (1, 9), (1, 9); INSERT INTO ds.k2 VALUES (1), (1); "
               "INSERT INTO ds.t VALUES (1, 'c')")
    assert wh.query("SELECT (SELECT COUNT(*) FROM ds.k) AS k, (SELECT COUNT(*) FROM ds.k2) AS k2").values.tolist() == \
        [[2, 2]]
