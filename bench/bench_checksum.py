"""What runbook 03's content checksum (runbook_lib.replay.fingerprint) costs on the sandbox.

The checksum of a partition is BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(<every column>)))), in
BigQuery's dialect, so that a checksum taken on BigQuery and one taken independently from BigQuery's
own JSON text agree. On the sandbox TO_JSON_STRING and FARM_FINGERPRINT are the dialect layer's:
this bench measures that path against two peers in the same run, on the same warehouse file:

- kit: `warehouse.query(checksum_sql(...))` over every partition of a 25-column NBA-shaped table
  (bench_compare's generator: dates, text, booleans, integers, floats with NULLs);
- json-peer: DuckDB's own JSON text hashed by the same FARM_FINGERPRINT UDF, in plain DuckDB
  (`BIT_XOR(farm_fingerprint(CAST(to_json(struct) AS VARCHAR)))`): what the dialect layer did before
  it spelled values as BigQuery does; its checksums are not BigQuery's;
- floor: DuckDB's own vectorised `BIT_XOR(hash(...))` of the same columns in plain DuckDB (the local
  warehouse's `row_hash_sql`): the least a per-row fingerprint can cost.

Each contender runs ROUNDS times, taking turns; each keeps its fastest run and its least CPU time
(all threads; steadier than wall time on a shared machine, which slows a run down, never speeds it
up). The kit's checksums must not change between rounds.

    python -m bench checksum            # 1,000,000 rows
    python bench/bench_checksum.py 200000
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROWS = 1_000_000
ROUNDS = 3
TABLE = "nba_analytics.pgs"


def _days() -> list[date]:
    return [date(2024, 10, 22) + timedelta(days=i) for i in range(200)]   # bench_compare's 200 game dates


def _timed(run) -> tuple[tuple[float, float], object]:
    started, cpu = time.perf_counter(), time.process_time()
    found = run()
    return (time.perf_counter() - started, time.process_time() - cpu), found


def kit(path: Path) -> tuple[tuple[float, float], dict]:
    from runbook_lib.local.warehouse import LocalWarehouse
    from runbook_lib.replay.fingerprint import checksum_sql

    wh = LocalWarehouse(path)

    def run() -> dict:
        sql, params = checksum_sql(wh, TABLE, _days())
        return {str(r.day): int(r.checksum) for r in wh.query(sql, params).itertuples(index=False)}
    return _timed(run)


def _columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    schema, table = TABLE.split(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table]).fetchall()]


def _plain(path: Path, row_hash: str) -> tuple[float, float]:
    from runbook_lib.local.bigquery import register_functions

    con = duckdb.connect(str(path), read_only=True)
    register_functions(con)
    columns = ", ".join(f'"{c}"' for c in _columns(con))
    times, _ = _timed(lambda: con.execute(f"SELECT game_date, BIT_XOR({row_hash.format(columns=columns)}) "
                                          f"FROM {TABLE} GROUP BY game_date").fetchall())
    con.close()
    return times


def json_peer(path: Path) -> tuple[float, float]:
    return _plain(path, "farm_fingerprint(CAST(to_json(struct_pack({columns})) AS VARCHAR))")


def floor(path: Path) -> tuple[float, float]:
    return _plain(path, "hash({columns})")


def main(argv: list[str] | None = None) -> int:
    rows = int(argv[0]) if argv else ROWS
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.bench_compare import generate

    folder = Path(tempfile.mkdtemp(prefix="bench-checksum-"))
    try:
        path = folder / "warehouse.duckdb"
        started = time.perf_counter()
        generate(path, rows)
        print(f"   {rows:,} rows x 25 columns generated in {time.perf_counter() - started:.1f} s", flush=True)
        best = {name: (float("inf"), float("inf")) for name in ("kit", "json-peer", "floor")}
        checksums = None
        for _ in range(ROUNDS):
            times, found = kit(path)
            if checksums is not None and found != checksums:
                print("   the kit's checksums changed between rounds")
                return 1
            checksums = found
            for name, run in (("kit", times), ("json-peer", json_peer(path)), ("floor", floor(path))):
                best[name] = (min(best[name][0], run[0]), min(best[name][1], run[1]))
        print(f"   {len(checksums)} partitions checksummed")
        peer = best["json-peer"]
        print("| rows | contender | best s | CPU s | x floor | x json-peer | x json-peer (CPU) |\n"
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, (seconds, cpu) in best.items():
            print(f"| {rows:,} | {name} | {seconds:.2f} | {cpu:.2f} | {seconds / best['floor'][0]:.1f} | "
                  f"{seconds / peer[0]:.2f} | {cpu / peer[1]:.2f} |")
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
