"""The sandbox warehouse on SQL that GoogleSQL's own documented examples write: a script of several queries, a
comment after the last `;`, a table named without its dataset, and the refusals DuckDB words in its own terms
(its function names, its casts, its time zones). BigQuery runs the first two and refuses the third in one sentence;
a refusal names what the operator wrote, never DuckDB's functions or its advice. (Found by the zsql probes, which
ran the docs' examples on the sandbox.)"""
from __future__ import annotations

import duckdb
import pytest

from runbook_lib.local.bigquery import UnsupportedSQL
from runbook_lib.local.duckdb_errors import explain
from runbook_lib.local.warehouse import LocalWarehouse, WarehouseQueryError

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")

# DuckDB's words that a refusal of BigQuery SQL must not pass on: its functions, its advice, its nearest names
DUCKDB_WORDS = ("octet_length", "strftime", "date_part", "explicit type casts", "candidate", "Candidate",
                "COLUMNS(*)", "STAR expression", "Did you mean", "pg_", "duckdb_", "sqlite_")


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> LocalWarehouse:
    w = LocalWarehouse(tmp_path_factory.mktemp("refusals") / "d.duckdb", project="p")
    w.create_dataset("ds")
    w.execute("""CREATE TABLE ds.Roster (LastName STRING, SchoolID INT64, arr ARRAY<INT64>);
                 INSERT INTO ds.Roster VALUES ('Adams', 50, [1, 2]), ('Buchanan', 52, [3]);
                 CREATE TABLE ds.zones (ts TIMESTAMP, zone STRING);
                 INSERT INTO ds.zones VALUES (TIMESTAMP '2024-01-01 20:00:00+00', 'Mars/Olympus')""")
    return w


def refusal(wh: LocalWarehouse, sql: str, error: type[Exception] = WarehouseQueryError) -> str:
    with pytest.raises(error) as refused:
        wh.query(sql)
    return str(refused.value)


# ------------------------------------------------------------------------------------------
# Scripts: BigQuery runs every statement, and the job's result is the last statement's

def test_a_script_whose_select_before_the_last_returns_rows_gives_the_last_statements_rows(wh):
    """DuckDB refused the second statement while the first one's rows were unread (ResourceInUseException)."""
    assert wh.query("SELECT 1 AS a; SELECT 2 AS b").to_dict("records") == [{"b": 2}]
    assert wh.query("WITH A AS (SELECT 1 AS x UNION ALL SELECT 2) SELECT * FROM A;\n"
                    "WITH B AS (SELECT 2 AS x) SELECT * FROM B;").to_dict("records") == [{"x": 2}]
    wh.execute("CREATE TABLE ds.loaded (x INT64)")
    wh.execute("SELECT * FROM ds.Roster; INSERT INTO ds.loaded VALUES (7)")
    assert wh.query("SELECT x FROM ds.loaded").to_dict("records") == [{"x": 7}]


def test_a_select_before_the_last_runs_to_its_end_so_its_failure_fails_the_script(wh):
    """Its rows are not read, but it runs as BigQuery runs it: an error in its last rows fails the script."""
    said = refusal(wh, "SELECT IF(x > 900000, ERROR('late in the rows'), x) AS x "
                       "FROM UNNEST(GENERATE_ARRAY(1, 1000000)) AS x; SELECT 1 AS y")
    assert said == "The query failed as it ran: late in the rows."


# ------------------------------------------------------------------------------------------
# A comment after the last `;` is no statement

@pytest.mark.parametrize("sql", ["SELECT 1 AS x; -- done", "SELECT 1 AS x;\n/* the result is 1 */\n",
                                 "SELECT 1 AS x; -- one\n; -- two"])
def test_a_comment_after_the_last_semicolon_is_not_a_statement(wh, sql):
    """It was refused as a statement "starting '/* done'" of scripting, variables, models ... only BigQuery runs."""
    assert wh.query(sql).to_dict("records") == [{"x": 1}]


def test_a_comment_after_the_last_semicolon_of_a_change_is_not_a_statement(wh):
    wh.execute("CREATE TABLE ds.commented (x INT64)")
    wh.execute("INSERT INTO ds.commented VALUES (1);\n-- loaded one row\n")
    assert wh.query("SELECT x FROM ds.commented").to_dict("records") == [{"x": 1}]


@pytest.mark.parametrize("sql", ["-- only a comment", "/* a */ ; -- b", ";"])
def test_sql_of_only_comments_is_refused_as_containing_no_statement(wh, sql):
    said = refusal(wh, sql, UnsupportedSQL)
    assert said == "The SQL given to the local warehouse contains no statement."


# ------------------------------------------------------------------------------------------
# A table named without its dataset: BigQuery's refusal, never DuckDB's catalog

@pytest.mark.parametrize("sql, name", [
    ("SELECT * FROM Roster", "Roster"),                                      # the docs' examples name it so
    ("SELECT LOWER(item) AS example FROM items", "items"),
    ("SELECT table_name FROM duckdb_tables", "duckdb_tables"),               # answered from DuckDB's catalog
    ("SELECT COUNT(*) AS n FROM pg_constraint", "pg_constraint"),
    ("SELECT * FROM ds.Roster JOIN TeamMascot USING (SchoolID)", "TeamMascot"),
    ("WITH c AS (SELECT 1 AS a) SELECT * FROM c, Roster", "Roster"),
    ("SELECT * FROM (WITH c AS (SELECT 1 AS a) SELECT * FROM c) AS x, c", "c"),   # a CTE out of its scope
])
def test_a_table_named_without_its_dataset_is_refused_in_bigquerys_words(wh, sql, name):
    said = refusal(wh, sql)
    assert said == f'The query was refused: Table "{name}" must be qualified with a dataset (e.g. dataset.table).'


@pytest.mark.parametrize("sql", ["INSERT Points VALUES (1)", "CREATE TABLE plain (a INT64)",
                                 "UPDATE Roster SET SchoolID = 1 WHERE TRUE", "DROP TABLE Roster"])
def test_a_change_to_a_table_named_without_its_dataset_is_refused_and_changes_nothing(wh, sql):
    """A CREATE TABLE without a dataset made a table in DuckDB's default schema, which no dataset lists."""
    with pytest.raises(WarehouseQueryError, match=r'^The query was refused: Table "\w+" must be qualified'):
        wh.execute(sql)
    assert wh.list_datasets() == ["ds"]
    assert wh.query("SELECT COUNT(*) AS n FROM ds.Roster").to_dict("records") == [{"n": 2}]


def test_a_dry_run_refuses_a_table_named_without_its_dataset_as_the_query_would(wh):
    with pytest.raises(WarehouseQueryError, match='Table "Roster" must be qualified'):
        wh.estimate_bytes("SELECT * FROM Roster")


@pytest.mark.parametrize("sql, rows", [
    ("WITH Roster AS (SELECT 'x' AS LastName) SELECT LastName FROM Roster", [{"LastName": "x"}]),
    ("WITH RECURSIVE c AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT SUM(n) AS s FROM c",
     [{"s": 6}]),
    ("WITH c AS (SELECT 1 AS a) SELECT (SELECT a FROM c) AS a", [{"a": 1}]),
    ("SELECT r.LastName, a FROM ds.Roster AS r, r.arr AS a ORDER BY a", [{"LastName": "Adams", "a": 1},
                                                                          {"LastName": "Adams", "a": 2},
                                                                          {"LastName": "Buchanan", "a": 3}]),
    ("SELECT SUM(a) AS s FROM ds.Roster, UNNEST(arr) AS a", [{"s": 6}]),
    ("SELECT table_name FROM ds.INFORMATION_SCHEMA.TABLES WHERE table_name = 'Roster'", [{"table_name": "Roster"}]),
    ("SELECT schema_name FROM INFORMATION_SCHEMA.SCHEMATA", [{"schema_name": "ds"}]),
    ("CREATE TEMP TABLE picked AS SELECT LastName FROM ds.Roster WHERE SchoolID = 50; SELECT * FROM picked",
     [{"LastName": "Adams"}]),
    (("CREATE TEMP FUNCTION twice(x INT64) AS (2 * x); "
      "SELECT twice(SchoolID) AS v FROM ds.Roster WHERE LastName = 'Adams'"), [{"v": 100}]),
])
def test_names_bigquery_takes_without_a_dataset_still_run(wh, sql, rows):
    """A CTE's name, the script's TEMP table and function, a correlated path, UNNEST and INFORMATION_SCHEMA."""
    assert wh.query(sql).to_dict("records") == rows


def test_a_temp_table_lasts_its_script_and_a_later_script_naming_it_is_refused_as_bigquery_refuses_it(wh):
    """BigQuery's TEMP table belongs to its script: a later one names a table without a dataset (the sandbox gave
    DuckDB's raw CatalogException for it)."""
    assert wh.query("CREATE TEMP TABLE seed AS SELECT 1 AS x; SELECT x FROM seed").to_dict("records") == [{"x": 1}]
    with wh.connection(read_only=True) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []
    assert refusal(wh, "SELECT * FROM seed") == \
        'The query was refused: Table "seed" must be qualified with a dataset (e.g. dataset.table).'


def test_a_table_renamed_to_a_bare_name_stays_in_its_dataset(wh):
    wh.execute("CREATE TABLE ds.before_rename (x INT64); ALTER TABLE ds.before_rename RENAME TO after_rename")
    assert wh.table_exists("ds.after_rename") and not wh.table_exists("ds.before_rename")


# ------------------------------------------------------------------------------------------
# Refusals of a function's argument types name the BigQuery function, never DuckDB's

@pytest.mark.parametrize("sql, function", [
    ("SELECT LEFT(b'abc', 1) AS v", "LEFT"),                                   # BYTES: DuckDB's left takes text
    ("SELECT RPAD(b'abc', 5) AS v", "RPAD"),
    ("SELECT EXTRACT(YEAR FROM 5) AS v", "EXTRACT"),                           # DuckDB binds it as date_part
])
def test_a_call_the_sandbox_cannot_type_is_refused_naming_the_bigquery_function(wh, sql, function):
    said = refusal(wh, sql)
    assert said == (f"The query was refused: the sandbox cannot run {function} with the types of its arguments "
                    "(it does not take every argument type BigQuery takes; target=gcp runs it).")


def no_signature(call: str) -> str:
    """DuckDB's binder text for a call no signature of its function takes."""
    return (f"No function matches the given name and argument types '{call}'. You might need to add explicit type "
            "casts.")


@pytest.mark.parametrize("duckdb_said, sql, function", [
    (no_signature("octet_length(VARCHAR)"), "SELECT BYTE_LENGTH(s) AS v FROM (SELECT 'abc' AS s)", "BYTE_LENGTH"),
    (no_signature("strftime(TIME, STRING_LITERAL)"), "SELECT FORMAT_TIME('%H:%M', TIME '15:30:00') AS v",
     "FORMAT_TIME"),
    (('Could not choose a best candidate function for the function call "date_trunc(STRING_LITERAL, '
      'STRING_LITERAL)". In order to select one, please add explicit type casts.'),
     "SELECT DATE_TRUNC('2015-06-15', ISOYEAR) AS v", "DATE_TRUNC"),
    (no_signature("octet_length(VARCHAR)"), "SELECT COALESCE(SAFE.BYTE_LENGTH(s), 0) AS v FROM (SELECT 'abc' AS s)",
     "BYTE_LENGTH"),
    (no_signature("no_such_duckdb_name(VARCHAR)"), "SELECT 1 AS v", "a function call"),
    (no_signature("octet_length(VARCHAR)"), None, "a function call"),
])
def test_duckdbs_binder_refusal_of_argument_types_names_the_call_the_operator_wrote(wh, duckdb_said, sql, function):
    """The DuckDB texts the sandbox gave for these BigQuery calls (a rewrite may since take some of them): the
    function is found in the BigQuery SQL by what its translation calls, else it is "a function call"."""
    with wh.connection(read_only=True) as con:
        said = str(explain(con, wh.path, duckdb.BinderException(f"Binder Error: {duckdb_said}"), (), sql))
    assert said == (f"The query was refused: the sandbox cannot run {function} with the types of its arguments "
                    "(it does not take every argument type BigQuery takes; target=gcp runs it).")


def test_select_as_struct_star_is_refused_without_duckdbs_columns_advice(wh):
    said = refusal(wh, "SELECT ARRAY(SELECT AS STRUCT * FROM ds.Roster) AS a")
    assert said == ("The query was refused: the sandbox cannot run a * inside an expression, such as "
                    "SELECT AS STRUCT *; name the columns instead (SELECT AS STRUCT a, b).")
    assert wh.query("SELECT ARRAY(SELECT AS STRUCT LastName FROM ds.Roster WHERE SchoolID = 50) AS a") \
        .to_dict("records")[0]["a"][0] == {"LastName": "Adams"}


# ------------------------------------------------------------------------------------------
# A time zone DuckDB does not know

@pytest.mark.parametrize("sql, zone", [
    ("SELECT DATE(TIMESTAMP '2024-01-01 20:00:00+00', 'Mars/Olympus') AS v", "Mars/Olympus"),
    ("SELECT FORMAT_TIMESTAMP('%F %T', ts, zone) AS v FROM ds.zones", "Mars/Olympus"),   # a value, as it runs
    ("SELECT EXTRACT(HOUR FROM ts AT TIME ZONE 'Nowhere') AS v FROM ds.zones", "Nowhere"),
])
def test_an_unknown_time_zone_is_one_sentence_naming_it_and_what_the_sandbox_takes(wh, sql, zone):
    """DuckDB's raw NotImplementedException suggested "Candidate time zones", unrelated to the one written."""
    said = refusal(wh, sql)
    assert said == (f"The query failed as it ran: the sandbox does not know the time zone '{zone}' (it takes IANA "
                    "time zone names, such as America/Los_Angeles, or UTC).")


def test_no_refusal_here_passes_on_duckdbs_words(wh):
    """Each refusal above, once more, for any of DuckDB's names or advice."""
    for sql in ("SELECT * FROM Roster", "SELECT LEFT(b'abc', 1) AS v",
                "SELECT ARRAY(SELECT AS STRUCT * FROM ds.Roster)",
                "SELECT DATE(TIMESTAMP '2024-01-01 20:00:00+00', 'Mars/Olympus') AS v"):
        said = refusal(wh, sql)
        assert not [w for w in DUCKDB_WORDS if w in said], said
