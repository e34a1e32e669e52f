"""The local warehouse's API: datasets, tables, metadata, errors, and several processes sharing the file."""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook_lib.errors import NotFoundError, ParameterError, WarehouseBusy, WarehouseQueryError
from runbook_lib.local.duckdb_file import engine_settings
from runbook_lib.local import table_stats
from runbook_lib.local.bigquery import meta
from runbook_lib.local.warehouse import LocalWarehouse, NewTable, TableInfo

# Every query left untyped is typed anyway and must mark nothing (conftest.decimal_pruning_checked).
pytestmark = pytest.mark.usefixtures("decimal_pruning_checked")


@pytest.fixture
def wh(tmp_path) -> LocalWarehouse:
    return LocalWarehouse(tmp_path / "w.duckdb", project="proj")


@pytest.fixture
def games(wh) -> LocalWarehouse:
    wh.create_dataset("nba_analytics")
    wh.create_table("nba_analytics.player_game_summary",
                    [("game_date", "DATE"), ("player_lookup", "STRING"), ("points", "INT64"), ("minutes", "FLOAT64")],
                    partition_column="game_date")
    wh.execute("INSERT INTO nba_analytics.player_game_summary VALUES "
               "(DATE '2024-01-07', 'lebronjames', 30, 35.5), (DATE '2024-01-07', 'stephcurry', 28, 33.0)")
    return wh


# ------------------------------------------------------------------------------------------ path

def test_warehouse_path_must_be_a_file_in_an_existing_folder(tmp_path):
    with pytest.raises(ParameterError, match=r"^warehouse_path=.* not a folder\.$"):
        LocalWarehouse(tmp_path)
    with pytest.raises(ParameterError, match=r"^warehouse_path=.*must exist\.$"):
        LocalWarehouse(tmp_path / "missing" / "w.duckdb")
    junk = tmp_path / "notes.duckdb"
    junk.write_text("these are not the bytes of a DuckDB database" * 10)
    with pytest.raises(ParameterError, match=r"^warehouse_path=.*not a DuckDB database"):
        LocalWarehouse(junk)


def test_an_empty_file_is_refused_when_opened(tmp_path):
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    with pytest.raises(ParameterError, match="not a DuckDB database"):
        LocalWarehouse(empty, lock_retry_seconds=0.2).list_datasets()


def test_a_new_path_becomes_a_database(tmp_path):
    wh = LocalWarehouse(tmp_path / "new.duckdb")
    assert wh.list_datasets() == []
    assert (tmp_path / "new.duckdb").exists()


# ------------------------------------------------------------------------------------------ datasets

def test_datasets_hide_internal_schemas(wh):
    wh.create_dataset("nba_raw")
    wh.execute("CREATE SCHEMA nba_analytics")
    assert wh.list_datasets() == ["nba_analytics", "nba_raw"]
    assert wh.dataset_exists("nba_raw") and not wh.dataset_exists("nba_precompute")
    assert not wh.dataset_exists("main")
    with duckdb.connect(str(wh.path), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    assert "_runbook_meta" in schemas  # it exists, only hidden


def test_create_dataset_validates_before_changing_anything(wh):
    for bad in ("nba-raw", "", "a.b", "_runbook_meta", "information_schema"):
        with pytest.raises(ParameterError, match="^dataset="):
            wh.create_dataset(bad)
    for days in (0, -1, "2", True):
        with pytest.raises(ParameterError, match="^default_table_expiration_days="):
            wh.create_dataset("ok", default_table_expiration_days=days)
    assert wh.list_datasets() == []
    wh.create_dataset("ok")
    wh.create_dataset("ok")  # exists_ok
    with pytest.raises(ParameterError, match="already exists"):
        wh.create_dataset("ok", exists_ok=False)


def test_dataset_default_expiration_sets_table_expiry(wh):
    wh.create_dataset("scratch", default_table_expiration_days=1.5)
    wh.create_table("scratch.a", [("x", "INT64")])
    wh.execute("CREATE TABLE scratch.b AS SELECT 1 AS x")
    wh.load_dataframe(pd.DataFrame({"x": [1]}), "scratch.c")
    wh.execute("CREATE TABLE scratch.d (x INT64) OPTIONS(expiration_timestamp = TIMESTAMP '2031-02-03 04:05:06+00')")
    for name in "abc":
        info = wh.table_info(f"scratch.{name}")
        assert info.expires_at - info.created_at == timedelta(days=1.5), name
    assert wh.table_info("scratch.d").expires_at.isoformat() == "2031-02-03T04:05:06+00:00"
    wh.create_dataset("forever")
    wh.create_table("forever.a", [("x", "INT64")])
    assert wh.table_info("forever.a").expires_at is None


def test_drop_dataset(games):
    with pytest.raises(ParameterError, match=r"^delete_contents=False .*player_game_summary"):
        games.drop_dataset("nba_analytics")
    assert games.table_exists("nba_analytics.player_game_summary")
    games.drop_dataset("nba_analytics", delete_contents=True)
    assert games.list_datasets() == []
    # A new dataset of the same name starts clean: no metadata left over.
    games.create_dataset("nba_analytics")
    games.execute("CREATE TABLE nba_analytics.player_game_summary (x INT64)")
    assert games.table_info("nba_analytics.player_game_summary").partition_column is None


# ------------------------------------------------------------------------------------------ tables

def test_table_info(games):
    info = games.table_info("nba_analytics.player_game_summary")
    assert isinstance(info, TableInfo)
    assert (info.dataset, info.table, info.num_rows, info.partition_column) == \
        ("nba_analytics", "player_game_summary", 2, "game_date")
    assert info.columns == [("game_date", "DATE"), ("player_lookup", "STRING"), ("points", "INT64"),
                            ("minutes", "FLOAT64")]
    d = info.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["ref"] == "nba_analytics.player_game_summary" and d["expires_at"] is None
    assert games.list_tables("nba_analytics") == ["player_game_summary"]
    assert games.table_exists("proj.nba_analytics.player_game_summary")


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement the process's DuckDB runs from here on, in order."""
    from runbook_lib.local.duckdb_file import engine

    eng = engine()
    run: list[str] = []

    class Recording:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args, **kwargs):
            run.append(sql)
            return self._con.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(eng, "con", Recording(eng.con))
    return run


def test_table_info_takes_rows_and_bytes_from_the_statistics_as_tables_get_does(games, statements):
    """The partition statistics the warehouse keeps (as BigQuery's storage metadata) hold the rows and
    bytes: the table itself is not read. A table written without the warehouse has none: it is counted."""
    info = games.table_info("nba_analytics.player_game_summary")
    assert (info.num_rows, info.num_bytes) == (2, 2 * 8 + (2 + 11) + (2 + 10) + 2 * 8 + 2 * 8)
    assert not [s for s in statements if '"player_game_summary"' in s], statements
    with games.connection() as con:
        con.execute("CREATE TABLE nba_analytics.raw AS SELECT * FROM nba_analytics.player_game_summary")
    statements.clear()
    raw = games.table_info("nba_analytics.raw")
    assert (raw.num_rows, raw.num_bytes) == (info.num_rows, info.num_bytes)
    assert [s for s in statements if '"raw"' in s]


def test_create_table_validates_its_input(games):
    for columns, pattern in [([], "^columns="), ([("a b", "INT64")], "^columns="), ([("a", "NOTATYPE")], "^columns="),
                             ([("a", "INT64"), ("A", "STRING")], "unique")]:
        with pytest.raises(ParameterError, match=pattern):
            games.create_table("nba_analytics.x", columns)
    with pytest.raises(ParameterError, match="^partition_column="):
        games.create_table("nba_analytics.x", [("a", "INT64")], partition_column="b")
    for ref in ("x", "a.b.c.d", "nba_analytics.", "_runbook_meta.tables"):
        with pytest.raises(ParameterError, match="^table_ref="):
            games.create_table(ref, [("a", "INT64")])
    assert games.list_tables("nba_analytics") == ["player_game_summary"]
    games.create_table("nba_analytics.player_game_summary", [("a", "INT64")])  # exists_ok: left as it was
    assert games.table_info("nba_analytics.player_game_summary").num_rows == 2
    with pytest.raises(ParameterError, match="already exists"):
        games.create_table("nba_analytics.player_game_summary", [("a", "INT64")], exists_ok=False)


def test_create_tables_makes_all_or_none(games):
    """Several tables in one transaction: a bad spec, a table that exists (exists_ok=False) or a missing dataset
    refuses them all before any is made; with exists_ok, a table that exists is left as it is and not named."""
    good = NewTable([("a", "INT64"), ("d", "DATE")], "d")
    for tables, exists_ok, error in [
            ({"nba_analytics.one": good, "nba_analytics.two": NewTable([("a", "NOTATYPE")])}, True, ParameterError),
            ({"nba_analytics.one": good, "nba_analytics.player_game_summary": good}, False, ParameterError),
            ({"nba_analytics.one": good, "nowhere.two": good}, True, NotFoundError)]:
        with pytest.raises(error):
            games.create_tables(tables, exists_ok=exists_ok)
        assert games.list_tables("nba_analytics") == ["player_game_summary"]
    made = games.create_tables({"nba_analytics.one": good, "nba_analytics.player_game_summary": good,
                                "nba_analytics.two": NewTable([("s", "STRING")], None, ["s"])})
    assert made == ["nba_analytics.one", "nba_analytics.two"]
    assert games.table_info("nba_analytics.player_game_summary").num_rows == 2
    one, two = games.table_info("nba_analytics.one"), games.table_info("nba_analytics.two")
    assert (one.partition_column, one.num_rows, two.clustering, two.num_rows) == ("d", 0, ["s"], 0)


def test_a_new_tables_statistics_are_what_a_recount_finds(games):
    """A table just made is recorded as empty without counting it (table_stats.record_empty): the same record a
    recount makes, partitioned or not."""
    games.create_table("nba_analytics.parted", [("a", "INT64"), ("d", "DATE")], partition_column="d")
    games.create_table("nba_analytics.whole", [("a", "INT64")])
    games.create_table_like("nba_analytics.player_game_summary", "nba_analytics.like")
    with games.connection() as con:
        for table in ("parted", "whole", "like"):
            made = con.execute(f"SELECT * EXCLUDE (last_modified) FROM {meta.PARTITIONS} "
                               "WHERE dataset = 'nba_analytics' AND table_name = ? ORDER BY ALL", [table]).fetchall()
            table_stats.refresh(con, "nba_analytics", table, datetime.now(timezone.utc))
            recounted = con.execute(f"SELECT * EXCLUDE (last_modified) FROM {meta.PARTITIONS} "
                                    "WHERE dataset = 'nba_analytics' AND table_name = ? ORDER BY ALL",
                                    [table]).fetchall()
            assert made == recounted, table


def test_create_table_types(games):
    games.create_table("nba_analytics.typed", [("n", "NUMERIC"), ("ts", "TIMESTAMP"), ("tags", "ARRAY<STRING>"),
                                               ("s", "STRUCT<a INT64, b DATE>"), ("ok", "BOOL")])
    assert games.table_info("nba_analytics.typed").columns == [
        ("n", "NUMERIC"), ("ts", "TIMESTAMP"), ("tags", "ARRAY<STRING>"), ("s", "STRUCT<a INT64, b DATE>"),
        ("ok", "BOOL")]


def test_create_table_like(games):
    games.create_dataset("test_nba_analytics")
    games.create_table_like("nba_analytics.player_game_summary", "test_nba_analytics.player_game_summary")
    src, dest = (games.table_info(f"{d}.player_game_summary") for d in ("nba_analytics", "test_nba_analytics"))
    assert dest.columns == src.columns and dest.partition_column == "game_date" and dest.num_rows == 0
    with pytest.raises(NotFoundError, match="^Table nba_analytics.nope was not found"):
        games.create_table_like("nba_analytics.nope", "test_nba_analytics.x")
    with pytest.raises(NotFoundError, match="^Dataset nowhere was not found"):
        games.create_table_like("nba_analytics.player_game_summary", "nowhere.x")


def test_load_dataframe_replace_and_append(games):
    df = pd.DataFrame({"game_date": [date(2024, 1, 8)] * 3, "player": ["a", "b", "c"],
                       "pts": pd.Series([1, 2, 3], dtype="int32"), "mins": pd.Series([1.5, 2.5, 3.5], dtype="float32"),
                       "at": pd.to_datetime(["2024-01-08 10:00"] * 3)})
    assert games.load_dataframe(df, "nba_analytics.loaded", partition_column="game_date") == 3
    info = games.table_info("nba_analytics.loaded")
    # INT32 / FLOAT32 / nanosecond columns become what BigQuery would store: INT64, FLOAT64, DATETIME.
    assert info.columns == [("game_date", "DATE"), ("player", "STRING"), ("pts", "INT64"), ("mins", "FLOAT64"),
                            ("at", "DATETIME")]
    assert info.partition_column == "game_date" and info.num_rows == 3
    games.load_dataframe(df[["pts", "player", "game_date", "mins", "at"]].head(2), "nba_analytics.loaded",
                         mode="append")  # columns matched by name, not position
    assert games.query("SELECT SUM(pts) AS s FROM nba_analytics.loaded").s.iloc[0] == 9
    games.load_dataframe(df.head(1), "nba_analytics.loaded")
    info = games.table_info("nba_analytics.loaded")
    assert info.num_rows == 1 and info.partition_column == "game_date"
    with pytest.raises(ParameterError, match="^mode="):
        games.load_dataframe(df, "nba_analytics.loaded", mode="merge")
    with pytest.raises(ParameterError, match="^partition_column="):
        games.load_dataframe(df, "nba_analytics.loaded", partition_column="nope")
    with pytest.raises(NotFoundError, match="^Dataset nowhere was not found"):
        games.load_dataframe(df, "nowhere.loaded")


def test_load_dataframes_writes_several_tables_in_one_transaction(games):
    frames = {"nba_analytics.one": pd.DataFrame({"game_date": [date(2024, 1, 8)], "n": [1]}),
              "nba_analytics.two": pd.DataFrame({"game_date": [date(2024, 1, 8)] * 2, "n": [2, 3]})}
    assert games.load_dataframes(frames, partition_columns={"nba_analytics.two": "game_date"}) \
        == {"nba_analytics.one": 1, "nba_analytics.two": 2}
    assert games.table_info("nba_analytics.two").partition_column == "game_date"
    assert games.table_info("nba_analytics.one").partition_column is None
    # A frame that cannot be written (its name is a view's) undoes the others: all or nothing.
    games.execute("CREATE VIEW nba_analytics.blocked AS SELECT 1 AS x")
    with pytest.raises(Exception, match="View"):
        games.load_dataframes({"nba_analytics.one": pd.DataFrame({"n": [9, 9, 9]}),
                               "nba_analytics.blocked": pd.DataFrame({"n": [9]})})
    assert games.table_info("nba_analytics.one").num_rows == 1
    with pytest.raises(ParameterError, match="^frames="):
        games.load_dataframes({})
    with pytest.raises(ParameterError, match="^partition_columns="):
        games.load_dataframes(frames, partition_columns={"nba_analytics.other": "game_date"})


# ------------------------------------------------------------------------------------------ errors

def test_not_found_messages_name_the_object_and_what_exists(games):
    path = str(games.path)
    expected_table = (f"Table nba_analytics.player_game_sumary was not found in the local warehouse ({path}); "
                      f"tables in nba_analytics: player_game_summary.")
    with pytest.raises(NotFoundError) as info:
        games.table_info("nba_analytics.player_game_sumary")
    assert str(info.value) == expected_table
    with pytest.raises(NotFoundError) as info:
        games.query("SELECT COUNT(*) FROM `proj.nba_analytics.player_game_sumary` WHERE points > @p", {"p": 1})
    assert str(info.value) == expected_table
    with pytest.raises(NotFoundError) as info:
        games.list_tables("nba_precompute")
    assert str(info.value) == (f"Dataset nba_precompute was not found in the local warehouse ({path}); "
                               f"datasets: nba_analytics.")
    for call in (lambda: games.query("SELECT * FROM nba_precompute.player_daily_cache"),
                 lambda: games.execute("INSERT INTO nba_precompute.x VALUES (1)"),
                 lambda: games.execute("CREATE TABLE nba_precompute.x (a INT64)"),
                 lambda: games.drop_dataset("nba_precompute"),
                 lambda: games.create_table("nba_precompute.x", [("a", "INT64")])):
        with pytest.raises(NotFoundError, match=r"^Dataset nba_precompute was not found in the local warehouse"):
            call()


def test_execute_is_all_or_nothing(games):
    with pytest.raises(NotFoundError):
        games.execute("""INSERT INTO nba_analytics.player_game_summary VALUES (DATE '2024-01-08', 'x', 1, 1.0);
                         CREATE TABLE nba_analytics.made_midway (a INT64);
                         INSERT INTO nba_analytics.no_such_table VALUES (1)""")
    assert games.table_info("nba_analytics.player_game_summary").num_rows == 2
    assert not games.table_exists("nba_analytics.made_midway")


def test_bad_sql_and_params_are_parameter_errors(games):
    with pytest.raises(ParameterError, match="^sql="):
        games.query("  ")
    with pytest.raises(ParameterError, match="^params="):
        games.query("SELECT @a", [1])


# ------------------------------------------------------------------------------------------ processes

def _hold_file(path: str, read_only: bool, ready, release) -> None:
    con = duckdb.connect(path, read_only=read_only)
    ready.set()
    release.wait(60)
    con.close()


@pytest.fixture
def holder(tmp_path):
    """Start a process that holds the warehouse file open until released."""
    ctx = multiprocessing.get_context("spawn")
    started = []

    def start(path, read_only: bool):
        ready, release = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=_hold_file, args=(str(path), read_only, ready, release), daemon=True)
        proc.start()
        assert ready.wait(60), "the holder process did not open the file"
        started.append((proc, release))
        return release

    yield start
    for proc, release in started:
        release.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def test_writer_elsewhere_makes_us_wait_then_busy(games, holder):
    release = holder(games.path, read_only=False)
    impatient = LocalWarehouse(games.path, lock_retry_seconds=0.3)
    with pytest.raises(WarehouseBusy, match="stayed locked by another process"):
        impatient.query("SELECT 1")
    # A patient caller waits for the lock to go, then succeeds.
    threading.Timer(0.3, release.set).start()
    assert games.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary").n.iloc[0] == 2


def test_readers_share_the_file_and_writers_wait_for_them(games, holder):
    games.list_datasets()  # this instance has set up the file; from now on it reads read-only
    release = holder(games.path, read_only=True)
    patient_reader = LocalWarehouse(games.path, lock_retry_seconds=0.3)
    patient_reader.list_datasets()  # the holder only reads, so a fresh instance can read too
    assert games.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary").n.iloc[0] == 2
    with pytest.raises(WarehouseBusy):
        LocalWarehouse(games.path, lock_retry_seconds=0.3).execute(
            "INSERT INTO nba_analytics.player_game_summary VALUES (DATE '2024-01-09', 'z', 1, 1.0)")
    release.set()
    games.execute("INSERT INTO nba_analytics.player_game_summary VALUES (DATE '2024-01-09', 'z', 1, 1.0)")
    assert games.table_info("nba_analytics.player_game_summary").num_rows == 3


def _writer(path: str, worker: int, n: int) -> int:
    wh = LocalWarehouse(path, lock_retry_seconds=120)
    for i in range(n):
        if i % 3 == 2:
            wh.load_dataframe(pd.DataFrame({"worker": [worker], "i": [i]}), "shared.events", mode="append")
        else:
            wh.execute("INSERT INTO shared.events (worker, i) VALUES (@w, @i)", {"w": worker, "i": i})
        wh.query("SELECT COUNT(*) AS n FROM shared.events WHERE worker = @w", {"w": worker})
    return n


def _reader(path: str, n: int) -> list[int]:
    wh = LocalWarehouse(path, lock_retry_seconds=120)
    return [int(wh.query("SELECT COUNT(*) AS n FROM shared.events").n.iloc[0]) for _ in range(n)]


def test_processes_share_the_warehouse(wh):
    wh.create_dataset("shared")
    wh.create_table("shared.events", [("worker", "INT64"), ("i", "INT64")])
    n = 15
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        writers = [pool.apply_async(_writer, (str(wh.path), w, n)) for w in (1, 2)]
        reader = pool.apply_async(_reader, (str(wh.path), 25))
        assert [r.get(timeout=240) for r in writers] == [n, n]
        counts = reader.get(timeout=240)
    assert counts == sorted(counts) and all(0 <= c <= 2 * n for c in counts)
    rows = wh.query("SELECT worker, i FROM shared.events ORDER BY worker, i")
    assert len(rows) == 2 * n
    assert sorted(map(tuple, rows.values.tolist())) == [(w, i) for w in (1, 2) for i in range(n)]


# ------------------------------------------------------------------------------------------ sessions

# A bad engine setting: one sentence that names the variable, its value and what is allowed.
ONE_SENTENCE = re.compile(r"RUNBOOK_DUCKDB_[A-Z_]+='[^'\n]*' is not valid: [^\n.]+\.")


def test_the_engine_takes_a_share_of_memory_and_spills_outside_the_working_folder():
    defaults = engine_settings({})
    assert defaults["memory_limit"] == "25%" and "threads" not in defaults
    assert Path(defaults["temp_directory"]).parent.parent == Path(tempfile.gettempdir())
    assert Path(defaults["temp_directory"]).name == str(os.getpid())   # processes never share spill files
    given = engine_settings({"RUNBOOK_DUCKDB_MEMORY_LIMIT": "1.5GB", "RUNBOOK_DUCKDB_TEMP_DIR": "/x/spill",
                             "RUNBOOK_DUCKDB_THREADS": "1"})
    assert given == {"memory_limit": "1.5GB", "temp_directory": "/x/spill", "threads": "1"}
    for variable, bad in (("RUNBOOK_DUCKDB_MEMORY_LIMIT", "0%"), ("RUNBOOK_DUCKDB_MEMORY_LIMIT", "lots%"),
                          ("RUNBOOK_DUCKDB_THREADS", "0"), ("RUNBOOK_DUCKDB_THREADS", "two")):
        with pytest.raises(ParameterError) as err:
            engine_settings({variable: bad})
        assert err.value.parameter == variable and ONE_SENTENCE.fullmatch(str(err.value)), str(err.value)
    # a fresh process's engine runs with them; DuckDB's own refusal is one sentence naming the variable
    show = ("from runbook_lib.local.duckdb_file import engine; print(engine().con.execute(\"SELECT "
            "current_setting('memory_limit'), current_setting('threads'), current_setting('enable_progress_bar')\")"
            ".fetchone())")
    env = {**os.environ, "RUNBOOK_DUCKDB_MEMORY_LIMIT": "1GiB", "RUNBOOK_DUCKDB_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "('1.0 GiB', 1, False)"   # (no progress bar drawn on a notebook's stdout)
    env["RUNBOOK_DUCKDB_MEMORY_LIMIT"] = "a lot"
    run = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True)
    assert run.returncode != 0 and "RUNBOOK_DUCKDB_MEMORY_LIMIT='a lot' is not valid" in run.stderr


def test_a_spill_folder_that_cannot_be_made_is_one_sentence_naming_the_variable(tmp_path):
    (tmp_path / "file").write_text("")
    show = "from runbook_lib.local.duckdb_file import engine; engine()"
    env = {**os.environ, "RUNBOOK_DUCKDB_TEMP_DIR": str(tmp_path / "file" / "a" / "spill")}
    run = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True)
    last = run.stderr.strip().splitlines()[-1]
    assert run.returncode != 0 and last.startswith("runbook_lib.errors.ParameterError: RUNBOOK_DUCKDB_TEMP_DIR=")
    assert ONE_SENTENCE.fullmatch(last.split(": ", 1)[1]) and "give a folder this user can create" in last


def test_what_does_not_fit_spills_to_the_engines_own_folder(tmp_path):
    # a sort of ~200 MB of text held to 64 MB: DuckDB spills, into the folder it is given (made on
    # first use, with the folders above it), and removes it when the process ends
    spill = tmp_path / "a" / "b" / "spill"
    sort = ("import os; from runbook_lib.local.duckdb_file import engine; con = engine().con; "
            "print(con.execute(\"SELECT COUNT(*) FROM (SELECT md5(CAST(range AS VARCHAR)) || md5(CAST(-range AS "
            "VARCHAR)) AS s FROM range(1500000) ORDER BY s)\").fetchone()[0], os.path.isdir(os.environ['SPILL']))")
    env = {**os.environ, "RUNBOOK_DUCKDB_MEMORY_LIMIT": "64MB", "RUNBOOK_DUCKDB_TEMP_DIR": str(spill),
           "SPILL": str(spill), "RUNBOOK_DUCKDB_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", sort], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["1500000", "True"] and not spill.exists()


def test_temp_objects_last_one_call(wh):
    # A BigQuery script's TEMP functions and tables vanish when it ends; the same script runs again.
    script = "CREATE TEMP FUNCTION bump(x INT64) AS (x + 1); CREATE TEMP TABLE seed AS SELECT @start AS x; " \
             "SELECT bump(x) AS y FROM seed"
    assert wh.query(script, {"start": 1}).y.iloc[0] == 2
    assert wh.query(script, {"start": 2}).y.iloc[0] == 3
    # ... and a later script naming it is refused as BigQuery refuses a table without its dataset
    with pytest.raises(WarehouseQueryError, match='Table "seed" must be qualified with a dataset'):
        wh.query("SELECT * FROM seed")
    # A script that makes only a TEMP table between them must not leave the function behind either
    # (the engine lists TEMP functions only after a script that made one).
    wh.query("CREATE TEMP FUNCTION once(x INT64) AS (x); SELECT once(1) AS y")
    wh.query("CREATE TEMP TABLE staged AS SELECT 1 AS x; SELECT x FROM staged")
    with pytest.raises(WarehouseQueryError, match="Function not found: once"):
        wh.query("SELECT once(1) AS y")


def test_dataset_names_that_duckdb_also_uses(tmp_path):
    # temp, system and the database file's own name are DuckDB catalogs; as datasets they still work.
    wh = LocalWarehouse(tmp_path / "sandbox.duckdb")
    for name in ("temp", "system", "sandbox", "memory"):
        wh.create_dataset(name)
        wh.execute(f"CREATE TABLE {name}.t AS SELECT 1 AS a; INSERT INTO {name}.t VALUES (2)")
        wh.load_dataframe(pd.DataFrame({"a": [3]}), f"{name}.t", mode="append")
        assert wh.query(f"SELECT SUM(a) AS s FROM {name}.t").s.iloc[0] == 6
        assert wh.table_info(f"{name}.t").num_rows == 3
    assert wh.list_datasets() == ["memory", "sandbox", "system", "temp"]


def test_a_nested_operation_shares_the_open_connection(games):
    with games.connection(read_only=False) as con:
        con.execute("CREATE TABLE nba_analytics.raw_copy AS SELECT * FROM nba_analytics.player_game_summary")
        assert games.table_info("nba_analytics.raw_copy").num_rows == 2
    other = LocalWarehouse(games.path.parent / "other.duckdb")
    with games.connection(read_only=True):
        with pytest.raises(RuntimeError, match="still open"):
            other.list_datasets()
    assert other.list_datasets() == []


# ------------------------------------------------------------------------------------------ bytes and partitions

def test_dry_run_bills_what_bigquery_reads(games):
    # 2 rows: DATE 8 + STRING (2 + length) + INT64 8 + FLOAT64 8 each
    whole = 2 * (8 + 8 + 8) + (2 + len("lebronjames")) + (2 + len("stephcurry"))
    ref = "nba_analytics.player_game_summary"
    assert games.table_info(ref).num_bytes == whole
    # an INSERT ... SELECT or CREATE TABLE AS reads its source, never its target
    assert games.estimate_bytes(f"INSERT INTO {ref} SELECT * FROM {ref} WHERE points > 100") == whole
    assert games.estimate_bytes(f"CREATE TABLE nba_analytics.copy AS SELECT points FROM {ref}") == 16
    # SELECT * from a CTE reads only the columns the CTE reads
    assert games.estimate_bytes(f"WITH p AS (SELECT points FROM {ref}) SELECT * FROM p") == 16
    # an UPDATE reads the columns it names in the target
    assert games.estimate_bytes(f"UPDATE {ref} SET points = points + 1 WHERE minutes > 0") == 32
    # a script bills every statement
    assert games.estimate_bytes(f"SELECT points FROM {ref}; SELECT minutes FROM {ref}") == 32
    assert not games.table_exists("nba_analytics.copy")


def test_loads_partitioned_by_an_integer_column_count_each_value_as_a_partition(games):
    frame = pd.DataFrame({"bucket": [3, 3, 7, None], "v": ["a", "b", "c", "d"]}).astype({"bucket": "Int64"})
    games.load_dataframes({"nba_analytics.by_bucket": frame}, partition_columns={"nba_analytics.by_bucket": "bucket"})
    info = games.table_info("nba_analytics.by_bucket")
    assert (info.partition_column, info.partition_type, info.partition_range) == ("bucket", "RANGE", None)
    assert [(p.partition_id, p.total_rows) for p in games.partitions("nba_analytics.by_bucket")] == \
        [("3", 2), ("7", 1), ("__NULL__", 1)]
    assert games.estimate_bytes("SELECT v FROM nba_analytics.by_bucket WHERE bucket = 7") == 3 + 8
    # appended behind the warehouse's back: the statistics no longer hold the table's rows, so an
    # estimate counts from the rows
    with games.connection() as con:
        con.execute("INSERT INTO nba_analytics.by_bucket VALUES (7, 'eeee')")
    assert games.estimate_bytes("SELECT v FROM nba_analytics.by_bucket WHERE bucket = 7") == 3 + 6 + 2 * 8


def test_partition_statistics_follow_loads_and_are_counted_when_missing(games):
    frame = pd.DataFrame({"game_date": [date(2024, 1, 8), date(2024, 1, 8), None], "n": [1, 2, 3]})
    games.load_dataframe(frame, "nba_analytics.loaded", partition_column="game_date")
    assert [(p.partition_id, p.total_rows) for p in games.partitions("nba_analytics.loaded")] == \
        [("20240108", 2), ("__NULL__", 1)]
    # written behind the warehouse's back: no statistics yet, so partitions() counts them first
    with games.connection() as con:
        con.execute("CREATE TABLE nba_analytics.raw AS SELECT DATE '2024-01-09' AS game_date")
    assert [(p.partition_id, p.total_rows) for p in games.partitions("nba_analytics.raw")] == [(None, 1)]
    with pytest.raises(Exception, match="needs a dataset qualifier"):
        games.query("SELECT * FROM `region-us`.INFORMATION_SCHEMA.PARTITIONS")


def test_existing_partitions_reads_once_and_is_none_for_a_missing_table_or_dataset(games):
    from runbook_lib.warehouse import existing_partitions

    frame = pd.DataFrame({"game_date": [date(2024, 1, 8), date(2024, 1, 9)], "n": [1, 2]})
    games.load_dataframe(frame, "nba_analytics.loaded", partition_column="game_date")
    assert [(p.partition_id, p.total_rows) for p in existing_partitions(games, "nba_analytics.loaded")] == \
        [("20240108", 1), ("20240109", 1)]
    assert existing_partitions(games, "nba_analytics.nope") is None
    assert existing_partitions(games, "nowhere_at_all.t") is None
    with pytest.raises(ParameterError):   # a malformed ref is still the caller's mistake, not "missing"
        existing_partitions(games, "not a ref")


@pytest.mark.parametrize("mode", ["append", "replace"])
@pytest.mark.parametrize("value", [Decimal("1.1234567890123456789"), Decimal("123456789012345678901.1234567891")])
def test_a_load_of_bignumeric_values_the_sandbox_cannot_hold_is_refused_not_rounded(wh, mode, value):
    # The sandbox's BIGNUMERIC is DECIMAL(38, 18); BigQuery's holds 38 decimal places and 38 integer digits. An
    # append into a BIGNUMERIC column used to round 1.1234567890123456789 to 1.123456789012345679 silently.
    wh.create_dataset("ds")
    wh.create_table("ds.t", [("k", "INT64"), ("b", "BIGNUMERIC")])
    frame = pd.DataFrame({"k": [1, 2], "b": [Decimal("1.5"), value]})
    with pytest.raises(ParameterError, match=r"^frames\['ds.t'\]\['b'\]=Decimal.* BIGNUMERIC .*the sandbox's "
                                             r"BIGNUMERIC holds 18 decimal places and 20 integer digits"):
        wh.load_dataframe(frame, "ds.t", mode=mode)
    assert wh.query("SELECT COUNT(*) AS n FROM ds.t").n.iloc[0] == 0
    wh.load_dataframe(frame.head(1), "ds.t", mode="append")   # what it holds exactly loads as it is
    assert wh.query("SELECT b FROM ds.t").b.iloc[0] == Decimal("1.5")


def test_partition_by_and_cluster_by_name_a_column_whatever_its_case(wh):
    """BigQuery's column names match whatever their case: `(TS TIMESTAMP) PARTITION BY DATE(ts)` is valid DDL, which
    the sandbox refused ("PARTITION BY names ts, which is not a column"). Found by an oracle probe of runbook 04."""
    wh.create_dataset("p")
    wh.execute("CREATE TABLE p.a (K INT64, TS TIMESTAMP) PARTITION BY DATE(ts) CLUSTER BY k")
    info = wh.table_info("p.a")
    assert (info.partition_column, list(info.clustering)) == ("TS", ["K"])   # as the table spells them


# A write recounts only the partitions it wrote when the other partitions' kept figures still add up to the table.
_DML = st.sampled_from([
    "INSERT INTO ds.p (day, name, v) VALUES (DATE '2024-01-0{a}', 'n{b}', {b})",
    "DELETE FROM ds.p WHERE day = DATE '2024-01-0{a}' AND v < {b}",
    "UPDATE ds.p SET v = v + {b}, name = CONCAT(name, 'x') WHERE day = DATE '2024-01-0{a}'",
    "UPDATE ds.p SET day = DATE '2024-01-0{a}' WHERE v = {b}",                  # moves rows between partitions
    "UPDATE ds.p SET day = NULL WHERE v = {b}",                                  # ... into __NULL__
    "MERGE ds.p AS t USING (SELECT DATE '2024-01-0{a}' AS day, 'n{b}' AS name, {b} AS v) AS s "
    "ON t.name = s.name WHEN MATCHED THEN UPDATE SET day = s.day WHEN NOT MATCHED THEN "
    "INSERT (day, name, v) VALUES (s.day, s.name, s.v)",
    "MERGE ds.p AS t USING (SELECT 'n{b}' AS name) AS s ON t.name = s.name WHEN MATCHED THEN DELETE",
    "TRUNCATE TABLE ds.p; INSERT INTO ds.p (day, name, v) VALUES (DATE '2024-01-0{a}', 'n{b}', {b})",
    "ALTER TABLE ds.p ADD COLUMN IF NOT EXISTS extra STRING; INSERT INTO ds.p (day, name, v) "
    "VALUES (DATE '2024-01-0{a}', 'n{b}', {b})",
    # a write, then a column the script adds, then a write again: the recount sees the new column
    "INSERT INTO ds.p (day, name, v) VALUES (DATE '2024-01-0{a}', 'n{b}', {b}); "
    "ALTER TABLE ds.p ADD COLUMN IF NOT EXISTS late{b} INT64; UPDATE ds.p SET v = v + 1 WHERE v = {b}",
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(_DML, st.integers(1, 5), st.integers(0, 6)), min_size=1, max_size=6))
def test_partition_statistics_after_any_writes_are_a_fresh_count_of_the_rows(tmp_path_factory, steps):
    from runbook_lib.local import duckdb_catalog, table_stats
    from runbook_lib.local.bigquery import meta
    wh = LocalWarehouse(tmp_path_factory.mktemp("stats") / "w.duckdb")
    wh.create_dataset("ds")
    wh.execute("CREATE TABLE ds.p (day DATE, name STRING, v INT64) PARTITION BY day; "
               "INSERT INTO ds.p SELECT DATE_ADD(DATE '2024-01-01', INTERVAL MOD(i, 5) DAY), CONCAT('n', CAST(i AS "
               "STRING)), i FROM UNNEST(GENERATE_ARRAY(0, 11)) AS i")
    for sql, a, b in steps:
        before = {p.partition_id: p.last_modified for p in wh.partitions("ds.p")}
        wh.execute(sql.format(a=a, b=b))
        with wh.connection(read_only=True) as con:
            cols = duckdb_catalog.columns(con, "ds", "p")
            fresh = {pid: (rows, check, sizes) for pid, rows, check, sizes
                     in table_stats._count(con, "ds", "p", cols, checksum=True)}
            kept = con.execute(f"SELECT partition_id, total_rows, checksum, column_bytes FROM {meta.PARTITIONS} "
                               "WHERE dataset = 'ds' AND table_name = 'p'").fetchall()
        assert {pid: (rows, check, json.loads(sizes)) for pid, rows, check, sizes in kept} == fresh, sql
        after = {p.partition_id: p.last_modified for p in wh.partitions("ds.p")}
        # a partition whose rows are as they were, and that no statement wrote, keeps its last change
        assert all(after[pid] == before[pid] for pid in after.keys() & before.keys()
                   if pid not in _touched(sql.format(a=a, b=b), before)), sql


def _touched(sql: str, before: dict) -> set:
    """Every partition a statement may have written (all of them, unless it names one day only)."""
    if sql.startswith(("INSERT", "DELETE", "UPDATE ds.p SET v")) and ";" not in sql:
        return {re.search(r"2024-01-0(\d)", sql).expand(r"2024010\1")}
    return set(before) | {"__NULL__"}


def test_list_tables_names_tables_and_views_in_order_and_refuses_a_dataset_that_is_not_there(tmp_path):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    wh.create_dataset("empty")
    wh.create_dataset("ds")
    wh.execute("CREATE TABLE ds.zeta (n INT64); CREATE TABLE ds.alpha (n INT64); "
               "CREATE VIEW ds.middle AS SELECT n FROM ds.alpha")
    assert wh.list_tables("ds") == ["alpha", "middle", "zeta"]
    assert wh.list_tables("empty") == []
    for missing in ("nothing", "_runbook_meta"):   # nor the warehouse's own bookkeeping
        with pytest.raises(NotFoundError, match=f"Dataset {missing} was not found"):
            wh.list_tables(missing)


def test_a_script_run_inside_an_open_operation_keeps_its_temp_tables_to_itself(tmp_path):
    """BigQuery's TEMP tables last one script: two scripts in one opening of the file (as a phase run makes) each
    make their own, and none outlives its script."""
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    script = "CREATE TEMP TABLE staged AS SELECT @n AS n; SELECT n FROM staged"
    with wh.connection() as con:
        assert [wh.query(script, {"n": n}).iloc[0, 0] for n in (1, 2)] == [1, 2]
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM staged")
    with wh.connection() as con:
        assert wh.query(script, {"n": 3}).iloc[0, 0] == 3
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM staged")
