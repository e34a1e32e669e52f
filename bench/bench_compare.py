"""What runbook 04's compare_tables costs, against datacompy and against the DuckDB floor.

Tables: generated NBA-shaped player_game_summary tables of 1M and 10M rows x 25 columns (keys
game_date, player_lookup; text, booleans, integers, floats with NULLs), and a test copy with 0.1% of
the rows removed, 0.1% added and 1% changed (a fifth of those a float moved below the tolerance,
others a float moved beyond it, a NULL against a value, an integer, a text value).

Contenders, each in a fresh process whose peak resident memory is read from the kernel (wait4):
- kit: `compare_tables(LocalWarehouse(file), ...)`: the comparison (fingerprints joined on the key,
  counts, the detail of the rows whose fingerprints differ and a 1,000-row sample) through the
  BigQuery dialect layer, dry-run estimates included, on tables the kit wrote (partitioned by
  game_date, with their statistics), its engine as configured by default (DuckDB held to 25% of
  memory); kit-capped: the same held to 1.5 GB (RUNBOOK_DUCKDB_MEMORY_LIMIT); kit-raw: the same tables
  as plain DuckDB made them (no partitioning, no statistics: each dry run counts bytes from the rows);
- floor: one hash pass over both tables in plain DuckDB (a FULL JOIN of keys and `hash(...)` of the
  23 compared columns), the least any fingerprinting comparison must do; it cannot tell tolerance,
  NULLs or columns apart;
- datacompy 1.1 with its pandas and polars backends (PandasCompare, PolarsCompare), in a virtualenv of
  their own (~/.cache/phase-runbooks/bench-datacompy, made on first use: datacompy pins pandas below the kit's),
  tables loaded from the same file with DuckDB; its load time is shown apart from its compare time.

The kit and the floor run ROUNDS times, alternating, and each keeps its fastest run (the machine
may be shared); "CPU s" is the process's CPU time during the comparison (all threads), steadier than
wall time under load.

Every contender's counts must agree: the kit's and datacompy's (rows on one side only, changed rows,
mismatches per column) exactly; the floor's rows on one side only too. A disagreement fails the bench.
Targets (issue 10): at 10M rows the kit within 2x the floor's time and under 2 GiB peak memory.

    python -m bench compare             # both sizes
    python bench/bench_compare.py 1000000 [--no-datacompy]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
# Outside the work tree: a virtualenv of the peer's own, kept between runs.
PEER_VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "phase-runbooks" / "bench-datacompy"
PEER_REQUIREMENTS = ["datacompy==1.1.0", f"duckdb=={duckdb.__version__}"]
SIZES = (1_000_000, 10_000_000)
ABS_TOL = 0.01
KEYS = ["game_date", "player_lookup"]
MEMORY_CAP = 8 * 2**30   # a contender past this is stopped (the machine is shared) and shown as such
TIME_TARGET, MEMORY_TARGET = 2.0, 2 * 2**30
ROUNDS = 3   # runs of the kit and of the floor, alternating; the best of each is kept
KIT_MEMORY_LIMIT = "1.5GB"   # kit-capped: the kit with DuckDB held to this (RUNBOOK_DUCKDB_MEMORY_LIMIT)
TEAMS = "['ATL','BOS','BKN','CHA','CHI','CLE','DAL','DEN','DET','GSW','HOU','IND','LAC','LAL','MEM'," \
        "'MIA','MIL','MIN','NOP','NYK','OKC','ORL','PHI','PHX','POR','SAC','SAS','TOR','UTA','WAS']"

GENERATE = f"""
CREATE SCHEMA raw_nba_analytics; CREATE SCHEMA raw_test_nba_analytics;
CREATE TABLE raw_nba_analytics.pgs AS
SELECT
  DATE '2024-10-22' + CAST(i % 200 AS INTEGER) AS game_date,
  'player' || lpad(CAST(i // 200 AS VARCHAR), 7, '0') AS player_lookup,
  {TEAMS}[1 + CAST(hash(i, 1) % 30 AS INTEGER)] AS team_abbr,
  {TEAMS}[1 + CAST(hash(i, 2) % 30 AS INTEGER)] AS opponent_abbr,
  'g' || CAST(hash(i, 3) % 100000 AS VARCHAR) AS game_id,
  '2024-25' AS season,
  hash(i, 4) % 2 = 0 AS is_home,
  round(CAST(hash(i, 5) % 4800 AS DOUBLE) / 100, 1) AS minutes,
  CAST(hash(i, 6) % 45 AS BIGINT) AS points,
  CAST(hash(i, 7) % 16 AS BIGINT) AS rebounds,
  CAST(hash(i, 8) % 12 AS BIGINT) AS assists,
  CAST(hash(i, 9) % 4 AS BIGINT) AS steals,
  CAST(hash(i, 10) % 4 AS BIGINT) AS blocks,
  CAST(hash(i, 11) % 6 AS BIGINT) AS turnovers,
  CAST(hash(i, 12) % 14 AS BIGINT) AS fg_made,
  CAST(14 + hash(i, 13) % 12 AS BIGINT) AS fg_att,
  CAST(hash(i, 14) % 6 AS BIGINT) AS three_made,
  CAST(6 + hash(i, 15) % 6 AS BIGINT) AS three_att,
  CAST(hash(i, 16) % 8 AS BIGINT) AS ft_made,
  CAST(8 + hash(i, 17) % 4 AS BIGINT) AS ft_att,
  CASE WHEN hash(i, 18) % 20 = 0 THEN NULL ELSE round(CAST(hash(i, 19) % 10000 AS DOUBLE) / 10000, 4) END AS fg_pct,
  round(CAST(hash(i, 20) % 10000 AS DOUBLE) / 8000, 4) AS ts_pct,
  CAST(hash(i, 21) % 4000 AS DOUBLE) / 100 AS usage_rate,
  CASE WHEN hash(i, 22) % 5 = 0 THEN NULL ELSE 0.5 + CAST(hash(i, 23) % 40 AS DOUBLE) END AS points_line,
  ['OVER', 'UNDER', 'PUSH'][1 + CAST(hash(i, 24) % 3 AS INTEGER)] AS over_under_result
FROM range(?) AS t(i);

CREATE TABLE raw_test_nba_analytics.pgs AS
WITH picked AS (SELECT *, hash(player_lookup, game_date, 'pick') AS pick FROM raw_nba_analytics.pgs),
kinds AS (SELECT *, CASE WHEN pick % 100 = 1 THEN (pick // 100) % 5 END AS kind FROM picked)
SELECT * EXCLUDE (pick, kind) REPLACE (
  CASE kind WHEN 0 THEN minutes + {ABS_TOL / 10} WHEN 1 THEN minutes + 1.5 ELSE minutes END AS minutes,
  CASE kind WHEN 2 THEN CASE WHEN fg_pct IS NULL THEN 0.5 END ELSE fg_pct END AS fg_pct,
  CASE kind WHEN 3 THEN points + 1 ELSE points END AS points,
  CASE kind WHEN 4 THEN 'MIA' ELSE team_abbr END AS team_abbr)
FROM kinds
WHERE pick % 1000 <> 7
UNION ALL
SELECT * REPLACE (player_lookup || 'n' AS player_lookup) FROM raw_nba_analytics.pgs
WHERE hash(player_lookup, 'add') % 1000 = 3;
"""
# The same tables as the kit keeps them (and BigQuery would): partitioned by game_date, with their
# statistics (rows and logical bytes per partition and column, which dry-run estimates read).
REGISTER = """
CREATE SCHEMA nba_analytics; CREATE SCHEMA test_nba_analytics;
CREATE TABLE nba_analytics.pgs PARTITION BY game_date AS SELECT * FROM raw_nba_analytics.pgs;
CREATE TABLE test_nba_analytics.pgs PARTITION BY game_date AS SELECT * FROM raw_test_nba_analytics.pgs
"""

def generate(path: Path, rows: int) -> None:
    """The tables twice: as plain DuckDB made them (raw_*: no partitioning, no statistics, as a file
    the kit never wrote), and as the kit keeps them (written by its warehouse, in BigQuery SQL)."""
    con = duckdb.connect(str(path))
    for statement in (s for s in GENERATE.split(";") if s.strip()):
        con.execute(statement, [rows] if "range(?)" in statement else None)
    con.close()
    from runbook_lib.local.warehouse import LocalWarehouse

    LocalWarehouse(path).execute(REGISTER)


# ---------------------------------------------------------------- contenders (each in its own process)


def kit(path: str, memory_limit: str | None = None, prefix: str = "") -> dict:
    if memory_limit:   # before the engine starts (runbook_lib.local.duckdb_file)
        os.environ["RUNBOOK_DUCKDB_MEMORY_LIMIT"] = memory_limit
    from runbook_lib.compare import compare_tables
    from runbook_lib.local.warehouse import LocalWarehouse

    wh = LocalWarehouse(path)
    started, cpu = time.perf_counter(), time.process_time()
    diff = compare_tables(wh, f"{prefix}nba_analytics.pgs", f"{prefix}test_nba_analytics.pgs", KEYS, abs_tol=ABS_TOL,
                          partition_column="game_date")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = {name: getattr(diff, name) for name in ("rows_prod", "rows_test", "only_in_prod", "only_in_test",
                                                     "matched_rows", "changed_rows", "column_mismatches")}
    return {"seconds": seconds, "cpu_seconds": cpu, "counts": counts, "sample_rows": len(diff.sample)}


def floor(path: str) -> dict:
    con = duckdb.connect(path, read_only=True)
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'nba_analytics' AND table_name = 'pgs' "
        "ORDER BY column_index").fetchall() if r[0] not in KEYS]
    hashed = f"hash({', '.join(columns)})"
    started, cpu = time.perf_counter(), time.process_time()
    only_prod, only_test, differ = con.execute(f"""
        SELECT COUNT(*) FILTER (WHERE t.h IS NULL), COUNT(*) FILTER (WHERE p.h IS NULL), COUNT(*) FILTER (WHERE p.h <> t.h)
        FROM (SELECT game_date, player_lookup, {hashed} AS h FROM nba_analytics.pgs) AS p
        FULL JOIN (SELECT game_date, player_lookup, {hashed} AS h FROM test_nba_analytics.pgs) AS t
        USING (game_date, player_lookup)""").fetchone()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "counts": {"only_in_prod": only_prod, "only_in_test": only_test,
                                           "fingerprints_differ": differ}}


CONTENDERS = {"kit": kit, "kit-capped": lambda path: kit(path, KIT_MEMORY_LIMIT),
              "kit-raw": lambda path: kit(path, prefix="raw_"), "floor": floor}


def _peak_rss_watch(pid: int, peak: list[int], stop: threading.Event) -> None:
    """Poll the child's resident memory; stop it past MEMORY_CAP."""
    status = Path(f"/proc/{pid}/status")
    while not stop.is_set():
        try:
            rss = int(next(line for line in status.read_text().splitlines() if line.startswith("VmRSS:")).split()[1]) * 1024
        except (OSError, StopIteration, ValueError):
            return
        if rss > MEMORY_CAP:
            peak.append(-1)
            os.kill(pid, 9)
            return
        stop.wait(0.2)


def run_contender(command: list[str]) -> dict:
    """Run one contender process; its JSON line, plus peak_rss (bytes, from wait4) or an error."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    over, stop = [], threading.Event()
    watcher = threading.Thread(target=_peak_rss_watch, args=(process.pid, over, stop), daemon=True)
    watcher.start()
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    if over:
        return {"error": f"stopped above {MEMORY_CAP / 2**30:.0f} GiB"}
    if process.returncode != 0:
        return {"error": (stderr.strip().splitlines() or ["exit %d" % process.returncode])[-1][:200]}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024
    return result


def peer_python() -> Path | None:
    """The datacompy virtualenv's python, created on first use; None when it cannot be installed."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PEER_REQUIREMENTS):
        return python
    print(f"   installing {', '.join(PEER_REQUIREMENTS)} into {PEER_VENV} (bench only) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except subprocess.CalledProcessError as exc:
        print(f"   datacompy peer unavailable: {exc}")
        return None
    stamp.write_text("\n".join(PEER_REQUIREMENTS))
    return python


def bench_size(rows: int, peer: Path | None) -> tuple[list[dict], bool]:
    folder = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    path = folder / "warehouse.duckdb"
    try:
        started = time.perf_counter()
        # In a process of its own: a child's peak memory (wait4) starts from its parent's at the fork.
        subprocess.run([sys.executable, "-m", "bench.bench_compare", "--generate", str(path), str(rows)], check=True,
                       env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        print(f"   {rows:,} rows x 25 columns generated in {time.perf_counter() - started:.1f} s "
              f"({path.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        commands = {name: [sys.executable, "-m", "bench.bench_compare", "--contender", name, str(path)]
                    for name in CONTENDERS}
        if peer is not None:
            for backend in ("polars", "pandas"):
                commands[f"datacompy-{backend}"] = [str(peer), str(HERE / "datacompy_peer.py"), "--backend", backend,
                                                    "--file", str(path), "--abs-tol", str(ABS_TOL)]
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        # The kit and the floor (the target's ratio) alternate ROUNDS times: on a shared machine a run
        # is slowed by whatever else runs then, never sped up, so each one's best is kept.
        order = [name for _ in range(ROUNDS) for name in ("kit", "floor")] + \
            [name for name in commands if name not in ("kit", "floor")]
        for name in order:
            result = run_contender(commands[name])
            runs[name].append(result)
            shown = result.get("error") or (f"{result['seconds']:.2f} s ({result['cpu_seconds']:.2f} s of CPU), "
                                            f"peak {result['peak_rss'] / 2**20:,.0f} MiB")
            print(f"   {name:18} {shown}", flush=True)
        results = [{**best_of(found), "name": name, "rows": rows} for name, found in runs.items()]
        return results, check_agreement(results)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def best_of(runs: list[dict]) -> dict:
    """A contender's fastest run, with the least CPU time and the highest peak memory of its runs
    (an error when none finished)."""
    finished = [r for r in runs if "error" not in r]
    if not finished:
        return runs[0]
    return {**min(finished, key=lambda r: r["seconds"]), "cpu_seconds": min(r["cpu_seconds"] for r in finished),
            "peak_rss": max(r["peak_rss"] for r in finished)}


def check_agreement(results: list[dict]) -> bool:
    by_name = {r["name"]: r for r in results if "counts" in r}
    kit_counts = by_name["kit"]["counts"]
    ok = True
    for variant in ("kit-capped", "kit-raw"):   # the same code: compared with the kit through its counts
        other = by_name.pop(variant, None)
        if other is not None and other["counts"] != kit_counts:
            print(f"   DISAGREEMENT kit vs {variant}")
            ok = False
    for name, result in by_name.items():
        counts = result["counts"]
        shared = [k for k in counts if k in kit_counts]
        wrong = [k for k in shared if counts[k] != kit_counts[k]]
        if wrong:
            ok = False
            print(f"   DISAGREEMENT kit vs {name}: " + "; ".join(f"{k}: {kit_counts[k]} vs {counts[k]}" for k in wrong))
    floor_counts = by_name["floor"]["counts"]
    if floor_counts["fingerprints_differ"] < kit_counts["changed_rows"]:
        ok = False
        print("   DISAGREEMENT: the kit finds more changed rows than fingerprints differ")
    return ok


def table(results: list[dict]) -> str:
    floors = {r["rows"]: r for r in results if r["name"] == "floor" and "seconds" in r}
    lines = ["| rows | contender | compare s | CPU s | load s | x floor | x floor (CPU) | peak memory |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['rows']:,} | {r['name']} | - | - | - | - | - | {r['error']} |")
            continue
        load = f"{r['load_seconds']:.2f}" if "load_seconds" in r else "-"
        floor_run = floors.get(r["rows"], {"seconds": float("nan"), "cpu_seconds": float("nan")})
        lines.append(f"| {r['rows']:,} | {r['name']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {load} | "
                     f"{r['seconds'] / floor_run['seconds']:.2f} | {r['cpu_seconds'] / floor_run['cpu_seconds']:.2f} | "
                     f"{r['peak_rss'] / 2**30:.2f} GiB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench` calls main() for both sizes; run as a script it takes sizes (or a contender)."""
    argv = argv or []
    if argv[:1] == ["--contender"]:   # inside a contender's own process
        print(json.dumps(CONTENDERS[argv[1]](argv[2])))
        return 0
    if argv[:1] == ["--generate"]:
        generate(Path(argv[1]), int(argv[2]))
        return 0
    peers = "--no-datacompy" not in argv
    sizes = [int(a) for a in argv if a != "--no-datacompy"] or list(SIZES)
    peer = peer_python() if peers else None
    results, ok = [], True
    for rows in sizes:
        found, agreed = bench_size(rows, peer)
        results += found
        ok = ok and agreed
    print(table(results))
    big = {r["name"]: r for r in results if r["rows"] == max(sizes) and "seconds" in r}
    if "kit" in big and "floor" in big:
        ratio = big["kit"]["seconds"] / big["floor"]["seconds"]
        cpu_ratio = big["kit"]["cpu_seconds"] / big["floor"]["cpu_seconds"]
        print(f"   target at {max(sizes):,} rows: kit <= {TIME_TARGET:g}x floor ({ratio:.2f}x: "
              f"{'met' if ratio <= TIME_TARGET else 'MISSED'}; CPU {cpu_ratio:.2f}x), peak < 2 GiB ({big['kit']['peak_rss'] / 2**30:.2f} GiB: "
              f"{'met' if big['kit']['peak_rss'] < MEMORY_TARGET else 'MISSED'})")
    return 0 if ok else 1   # a disagreement is a broken comparison; a slow one is a finding


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
