"""The process's DuckDB engine, and the warehouse file attached to it for one operation at a time.

The phase services, the notebook kernel and the CLI are separate processes, and DuckDB lets one
process at a time open a file for writing (or several for reading only). So each process keeps
one in-memory DuckDB with its session set up (UTC, BigQuery functions), each operation ATTACHes
the warehouse file (read-only when it only reads) and DETACHes it at the end, and a lock conflict
is retried with a short, jittered backoff until a deadline (then WarehouseBusy).

Each engine is held to a share of the machine's memory, since several of these processes run at
once and DuckDB alone would let each take 80% of it (and keep what it may, as a cache of the file);
what does not fit spills to a folder of the process's own under the system's temporary folder
(DuckDB's own default is `.tmp` in the working directory, a notebook's folder). The environment
overrides all three:

    RUNBOOK_DUCKDB_MEMORY_LIMIT   a share of memory ("25%", the default) or a size ("4GB")
    RUNBOOK_DUCKDB_TEMP_DIR       where to spill (default: <tmp>/runbook-duckdb-<uid>/<pid>)
    RUNBOOK_DUCKDB_THREADS        worker threads (default: DuckDB's, one per core)
"""
from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from ..errors import ParameterError, WarehouseBusy, WarehouseDamaged
from .bigquery import register_functions

# The DuckDB name of the attached warehouse file. A dash keeps it apart from every BigQuery
# dataset name (letters, digits, underscores), so dataset.table never reads as catalog.schema.
CATALOG = "runbook-wh"

NOT_A_DATABASE = "that file is not a DuckDB database; give a new file name or an existing .duckdb file"
# What fixes a damaged warehouse: the sandbox's is rebuilt with its data; another one the caller made.
REBUILD = "run `runbook sandbox reset` to rebuild the sandbox (a warehouse of your own: recreate it)"
# A DuckDB file starts with its main header and two database headers, one 4 KiB block each.
HEADER_BYTES = 3 * 4096


def quote(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def qualified(dataset: str, table: str | None = None) -> str:
    """A fully qualified name: `dataset.table` alone is ambiguous in DuckDB when the dataset is
    called like a database (temp, system, memory)."""
    name = f"{quote(CATALOG)}.{quote(dataset)}"
    return f"{name}.{quote(table)}" if table is not None else name


def looks_like_duckdb(p: Path) -> bool:
    """DuckDB files carry the magic bytes "DUCK" at offset 8. An empty file may be one being created."""
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 0 or (len(head) >= 12 and head[8:12] == b"DUCK")


def _is_lock_conflict(exc: Exception) -> bool:
    lowered = str(exc).lower()
    return (
        ("lock" in lowered and ("conflicting" in lowered or "could not set lock" in lowered))
        # Another DuckDB instance in this process (code of ours or not) has the file open.
        or "different configuration" in lowered or "unique file handle conflict" in lowered
    )


def damaged(path: Path, problem: str) -> WarehouseDamaged:
    return WarehouseDamaged(f"The warehouse {path} {problem}: {REBUILD}.")


def file_problem(path: Path, retry_seconds: float = 2.0) -> str | None:
    """What is wrong with an existing warehouse's file, in words ("is missing", "is empty (0 bytes)",
    "is truncated ...", "cannot be read ..."), or None when it looks whole. Never creates the file;
    a file another process keeps locked longer than `retry_seconds` is not judged (None)."""
    if not path.exists():
        return "is missing"
    if not path.is_file():
        return "is not a file"
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes)"
    if not looks_like_duckdb(path):
        return "is not a DuckDB database"
    eng = engine()
    with eng.lock:
        if eng.attached is not None:
            return None   # in use by an operation of this process, so readable
        try:
            eng.attach(path, True, retry_seconds)
        except WarehouseDamaged as exc:
            return str(exc).removeprefix(f"The warehouse {path} ").split(": run `runbook sandbox reset`")[0]
        except (WarehouseBusy, ParameterError):
            return None if path.stat().st_size else "is empty (0 bytes)"
        try:
            block_size, used = eng.con.execute(
                "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = ?",
                [CATALOG]).fetchone()
        finally:
            eng.release()
    # Every used block lies in the file (free ones at its end may not): a file shorter than that
    # lost data. A cut inside the last blocks passes this look and is caught when they are read.
    needed = HEADER_BYTES + int(used) * int(block_size)
    if size < needed:
        return f"is truncated ({size:,} bytes, less than the {needed:,} its header says are in use)"
    return None


DEFAULT_MEMORY_LIMIT = "25%"
# The DuckDB setting each environment variable overrides.
SETTING_VARIABLES = {"memory_limit": "RUNBOOK_DUCKDB_MEMORY_LIMIT", "temp_directory": "RUNBOOK_DUCKDB_TEMP_DIR",
                     "threads": "RUNBOOK_DUCKDB_THREADS"}


def engine_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """DuckDB's memory_limit, temp_directory and (when given) threads for this process's engine."""
    env = os.environ if environ is None else environ
    limit = env.get(SETTING_VARIABLES["memory_limit"], "").strip() or DEFAULT_MEMORY_LIMIT
    if limit.endswith("%"):   # DuckDB takes a share of the memory it finds (its container's, if less)
        try:
            share = float(limit[:-1])
        except ValueError:
            share = 0.0
        if not 0 < share <= 100:
            raise ParameterError(SETTING_VARIABLES["memory_limit"], limit,
                                 "give a share of memory above 0% and up to 100%, or a size such as 4GB")
    temp = env.get(SETTING_VARIABLES["temp_directory"], "").strip() or \
        str(Path(tempfile.gettempdir()) / f"runbook-duckdb-{os.getuid()}" / str(os.getpid()))
    settings = {"memory_limit": limit, "temp_directory": temp}
    threads = env.get(SETTING_VARIABLES["threads"], "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ParameterError(SETTING_VARIABLES["threads"], threads, "give a whole number of threads, 1 or more")
        settings["threads"] = threads
    return settings


class Engine:
    """One in-memory DuckDB per process, its session set up once (UTC, BigQuery functions, the
    memory, spill folder and threads of engine_settings).

    Creating a DuckDB instance costs tens of milliseconds; attaching a file to a live one costs
    about one, so operations attach and detach the warehouse file rather than connect to it.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        settings = engine_settings()
        # DuckDB makes its spill folder when it first spills, but not the folders above it
        try:
            Path(settings["temp_directory"]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            why = (exc.strerror or str(exc)).lower()
            raise ParameterError(SETTING_VARIABLES["temp_directory"], settings["temp_directory"],
                                 f"give a folder this user can create and write ({why})") from None
        # Never fetch an extension: a call DuckDB would serve from one (NET.HOST read as inet's host()) must not
        # reach the network, write under ~/.duckdb, or answer with that extension's meaning instead of BigQuery's
        self.con = duckdb.connect(":memory:", config=NO_EXTENSION_DOWNLOADS)
        for name, value in settings.items():
            try:
                self.con.execute(f"SET {name} = '{value.replace(chr(39), chr(39) * 2)}'")
            except duckdb.Error:
                self.con.close()
                raise ParameterError(SETTING_VARIABLES[name], value,
                                     "DuckDB does not take it: give a size such as 4GB, a share such as 25%, "
                                     "a folder, or a number of threads") from None
        # BigQuery evaluates TIMESTAMP functions in UTC unless told otherwise.
        self.con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for a query that lasts over 2 s: noise in a notebook's
        # output, the CLI's and a test's (which read stdout). In a Jupyter kernel without ipywidgets
        # it is off already, and DuckDB refuses to change the setting at all.
        if self.con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
            self.con.execute("SET enable_progress_bar = false")
        register_functions(self.con)
        self.lock = threading.RLock()
        self.attached: tuple[Path, bool] | None = None
        self.made_temp_objects = False
        self.made_temp_functions = False   # listing TEMP macros reads duckdb_functions(), ~13 ms of ~3,000 rows

    def attach(self, path: Path, read_only: bool, retry_seconds: float) -> None:
        """ATTACH the file, retrying while another process holds its lock."""
        started = time.monotonic()
        deadline = started + retry_seconds
        delay = 0.01
        text_path = str(path).replace("'", "''")
        while True:
            try:
                self.con.execute(f"ATTACH '{text_path}' AS {quote(CATALOG)}{' (READ_ONLY)' if read_only else ''}")
                self.con.execute(f"USE {quote(CATALOG)}")
                self.attached = (path, read_only)
                return
            except duckdb.Error as exc:
                if "not a valid DuckDB database" in str(exc):
                    # An empty file may be a database another process is creating this instant.
                    if path.exists() and path.stat().st_size == 0 \
                            and time.monotonic() < started + min(2.0, retry_seconds):
                        time.sleep(delay)
                        continue
                    raise ParameterError("warehouse_path", str(path), NOT_A_DATABASE) from None
                if isinstance(exc, duckdb.IOException) and path.exists() and not _is_lock_conflict(exc):
                    raise damaged(path, f"cannot be read ({str(exc).splitlines()[0]})") from None
                if not _is_lock_conflict(exc):
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"The warehouse {path} stayed locked by another process for "
                        f"{retry_seconds:g}s; stop it or retry."
                    ) from None
                # Jitter so that processes backing off together do not collide again in step.
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 1.6, 0.25)

    def drop_temp_objects(self) -> None:
        """Drop the TEMP tables and views (and macros, where a script made one) a script made: BigQuery's last
        one script."""
        if self.made_temp_objects:
            listed = _TEMP_RELATIONS + (_TEMP_MACROS if self.made_temp_functions else "")
            for kind, name in self.con.execute(listed).fetchall():
                self.con.execute(f"DROP {kind} IF EXISTS temp.main.{quote(name)}")
            self.made_temp_objects = self.made_temp_functions = False

    def release(self) -> None:
        """End any open transaction, drop this operation's TEMP objects and DETACH the file."""
        con = self.con
        self.attached = None
        rollback(con)
        try:
            self.drop_temp_objects()
            con.execute("USE memory")
            con.execute(f"DETACH DATABASE IF EXISTS {quote(CATALOG)}")
        except duckdb.Error:
            # Never leave the file attached (and locked): start this process's engine afresh.
            global _ENGINE
            try:
                con.close()
            finally:
                _ENGINE = None


NO_EXTENSION_DOWNLOADS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

_TEMP_RELATIONS = """
    SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary
    UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND NOT internal"""
_TEMP_MACROS = """
    UNION ALL SELECT DISTINCT CASE WHEN function_type = 'table_macro' THEN 'MACRO TABLE' ELSE 'MACRO' END, function_name
        FROM duckdb_functions() WHERE database_name = 'temp' AND NOT internal
        AND function_type IN ('macro', 'table_macro')"""

_ENGINE: Engine | None = None
_ENGINE_GUARD = threading.Lock()


def engine() -> Engine:
    """This process's engine (a forked child gets its own)."""
    global _ENGINE
    with _ENGINE_GUARD:
        if _ENGINE is None or _ENGINE.pid != os.getpid():
            _ENGINE = Engine()
        return _ENGINE


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, enabled: bool = True) -> Iterator[None]:
    """All or nothing: BEGIN, then COMMIT when the block ends, ROLLBACK (and re-raise) when it fails.
    With enabled=False (a read-only operation) the block runs as it is."""
    if not enabled:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # nothing open (the failure came before BEGIN, or DuckDB already ended it)
