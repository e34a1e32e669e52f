"""How the sandbox's build time grows with its scale, and what the kit's data loading costs.

1. generate_raw (the raw tables) at scale 1, 2 and 10: seconds per 100k rows, and a ratio
   against a peer measured in the same run: the same DataFrames (build_raw_frames, same seed and
   dates) written with plain DuckDB `CREATE TABLE ... AS SELECT * FROM df` into a new file.
   Targets: <= 1.5x the peer, at each scale and for the marginal cost per row of a straight-line
   fit over the three scales (the kit's extras are the partition metadata, the column type
   normalisation and the empty production tables, none of which should rival the bulk load);
   time(scale 2) / time(scale 1) <= 2.6x (2x is linear); the cost per row at scale 10 <= the
   cost per row at scale 1 (no worse than linear).
2. init_sandbox(start_services=False) at scale 0.5, 1 and 2, with a breakdown by stage.
   Target: time(scale 2) / time(scale 1) <= 2.6x and time(1) / time(0.5) <= 2.6x.

No services are started (nothing binds a port); every sandbox is stopped and its folder removed.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np

from runbook_lib.local import generator, pipeline, sandbox
from runbook_lib.local.generator import (DAYS_AT_SCALE_1, DEFAULT_SEED, DEFAULT_START, RAW_COLUMNS, RAW_DATASET,
                                         build_raw_frames, generate_raw)
from runbook_lib.local.sandbox import init_sandbox, stop_sandbox
from runbook_lib.local.warehouse import LocalWarehouse

GENERATOR_SCALES = (1, 2, 10)
GENERATOR_ROUNDS = 3  # median of
SANDBOX_SCALES = (0.5, 1, 2)
SANDBOX_ROUNDS = 2  # best of: a whole build is long enough that the minimum is the steady figure

GENERATOR_PEER_TARGET = 1.5
DOUBLING_TARGET = 2.6
PER_ROW_TARGET = 1.0

# Stages of a sandbox build, found by wrapping these functions while it runs.
STAGES = (
    ("repo", sandbox, "create_source_repo"),
    ("raw", generator, "generate_raw"),
    ("phase3", pipeline, "run_phase3"),
    ("phase4", pipeline, "run_phase4"),
    ("builds", sandbox, "_seed_builds"),
)
STAGE_NOTES = ("repo: the sample source repository (git); raw: generate_raw; phase3: one run_phase3 over all "
               "dates; phase4: run_phase4 once per date; builds: the night's Cloud Build history; other: state, "
               "request log, status")


def _verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x (target <= {target:g}x) -> {'OK' if ratio <= target else 'OVER'}"


@contextmanager
def _temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- generate_raw vs plain DuckDB


def _kit_generate(scale: float) -> tuple[float, int]:
    with _temp_dir("bench-gen-") as d:
        started = time.perf_counter()
        rows = generate_raw(LocalWarehouse(d / "warehouse.duckdb"), scale=scale)
        return time.perf_counter() - started, sum(rows.values())


def _peer_generate(scale: float) -> tuple[float, float, int]:
    """(seconds making the frames, seconds loading them, rows) with plain DuckDB."""
    n_days = max(1, round(DAYS_AT_SCALE_1 * scale))  # as generate_raw counts days
    with _temp_dir("bench-gen-peer-") as d:
        started = time.perf_counter()
        frames = build_raw_frames(DEFAULT_START, n_days, DEFAULT_SEED)
        made = time.perf_counter()
        con = duckdb.connect(str(d / "warehouse.duckdb"))
        try:
            con.execute(f"CREATE SCHEMA {RAW_DATASET}")
            for name, df in frames.items():
                con.register("df", df[[c for c, _ in RAW_COLUMNS[name]]])
                con.execute(f"CREATE TABLE {RAW_DATASET}.{name} AS SELECT * FROM df")
                con.unregister("df")
        finally:
            con.close()
        loaded = time.perf_counter()
        return made - started, loaded - made, sum(len(df) for df in frames.values())


def bench_generator() -> None:
    print(f"   generate_raw vs the same frames bulk-loaded with plain DuckDB (median of {GENERATOR_ROUNDS}):")
    seen: dict[float, dict[str, float]] = {}
    for scale in GENERATOR_SCALES:
        kit, frames, load = [], [], []
        for _ in range(GENERATOR_ROUNDS):
            t, rows = _kit_generate(scale)
            kit.append(t)
            f, lo, peer_rows = _peer_generate(scale)
            frames.append(f)
            load.append(lo)
        if rows != peer_rows:
            raise RuntimeError(f"scale {scale}: the kit wrote {rows} rows, the peer {peer_rows}")
        r = seen[scale] = {"kit": statistics.median(kit), "frames": statistics.median(frames),
                           "load": statistics.median(load), "rows": rows}
        peer = r["frames"] + r["load"]
        print(f"     scale {scale:>4g}: {rows:>9,} rows | kit {r['kit']:.2f} s = {r['kit'] / rows * 1e5:.3f} s/100k rows"
              f" | peer {peer:.2f} s (frames {r['frames']:.2f} + load {r['load']:.2f}) | "
              f"kit / peer {_verdict(r['kit'] / peer, GENERATOR_PEER_TARGET)}")
        print(f"                 loading alone: kit ~{max(r['kit'] - r['frames'], 0):.2f} s vs plain CTAS "
              f"{r['load']:.2f} s")
    one, two, ten = (seen[s] for s in GENERATOR_SCALES)
    rows = [seen[s]["rows"] for s in GENERATOR_SCALES]
    kit_per_row, kit_fixed = np.polyfit(rows, [seen[s]["kit"] for s in GENERATOR_SCALES], 1)
    peer_per_row, peer_fixed = np.polyfit(rows, [seen[s]["frames"] + seen[s]["load"] for s in GENERATOR_SCALES], 1)
    print(f"     straight-line fit over the three scales: fixed cost kit {kit_fixed:.2f} s vs peer {peer_fixed:.2f} s; "
          f"per 100k rows kit {kit_per_row * 1e5:.3f} s vs peer {peer_per_row * 1e5:.3f} s -> marginal kit / peer "
          f"{_verdict(kit_per_row / peer_per_row, GENERATOR_PEER_TARGET)}")
    print(f"     time(scale 2) / time(scale 1): {_verdict(two['kit'] / one['kit'], DOUBLING_TARGET)} "
          f"for {two['rows'] / one['rows']:.2f}x the rows")
    per_row = (ten["kit"] / ten["rows"]) / (one["kit"] / one["rows"])
    print(f"     cost per row, scale 10 / scale 1: {_verdict(per_row, PER_ROW_TARGET)} "
          f"({ten['rows'] / one['rows']:.1f}x the rows in {ten['kit'] / one['kit']:.1f}x the time)")


# ---------------------------------------------------------------- init_sandbox


@contextmanager
def _stage_timer() -> Iterator[dict[str, float]]:
    """Seconds spent in each of STAGES while the block runs (the functions are wrapped, then restored)."""
    spent: dict[str, float] = defaultdict(float)
    originals = []
    for label, module, attr in STAGES:
        fn = getattr(module, attr, None)
        if not callable(fn):
            continue  # the build no longer has this stage under this name: report the rest
        originals.append((module, attr, fn))
        setattr(module, attr, _timed_wrapper(fn, label, spent))
    try:
        yield spent
    finally:
        for module, attr, fn in originals:
            setattr(module, attr, fn)


def _timed_wrapper(fn: Callable, label: str, spent: dict[str, float]) -> Callable:
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started
    return wrapper


def _init_once(scale: float) -> tuple[float, dict[str, float], int, tuple[str, str]]:
    with _temp_dir("bench-sandbox-") as home:
        try:
            with _stage_timer() as spent:
                started = time.perf_counter()
                status = init_sandbox(home, scale=scale, start_services=False)
                took = time.perf_counter() - started
            return took, dict(spent), sum(t.rows for t in status.tables), status.dates
        finally:
            stop_sandbox(home)


def bench_init() -> None:
    print(f"   init_sandbox(start_services=False), best of {SANDBOX_ROUNDS} after one untimed warm-up build:")
    _init_once(SANDBOX_SCALES[0])  # first-use costs (imports, git, page cache) belong to no scale
    runs: dict[float, list] = {scale: [] for scale in SANDBOX_SCALES}
    for _ in range(SANDBOX_ROUNDS):
        for scale in SANDBOX_SCALES:  # scales take turns, so a busy spell hits them alike
            runs[scale].append(_init_once(scale))
    seen = {scale: min(results, key=lambda r: r[0]) for scale, results in runs.items()}
    labels = [label for label, _, _ in STAGES]
    header = f"     {'scale':>5}  {'rows':>8}  {'dates':>5}  {'total':>7}  " + "  ".join(f"{lb:>7}" for lb in labels)
    print(header + "    other  phase4/date")
    for scale, (took, spent, rows, dates) in seen.items():
        other = took - sum(spent.values())
        n_dates = (date.fromisoformat(dates[1]) - date.fromisoformat(dates[0])).days + 1
        cells = "  ".join(f"{spent.get(lb, 0.0):>6.2f}s" for lb in labels)
        print(f"     {scale:>5g}  {rows:>8,}  {n_dates:>5}  {took:>6.2f}s  {cells}  {other:>6.2f}s  "
              f"{spent.get('phase4', 0.0) / n_dates:>10.3f}s")
    print(f"     ({STAGE_NOTES})")
    for small, big in zip(SANDBOX_SCALES, SANDBOX_SCALES[1:]):
        a, b = seen[small], seen[big]
        worst = max(labels, key=lambda lb: b[1].get(lb, 0.0) / max(a[1].get(lb, 0.0), 1e-9))
        print(f"     time(scale {big:g}) / time(scale {small:g}): {_verdict(b[0] / a[0], DOUBLING_TARGET)} "
              f"for {b[2] / a[2]:.2f}x the rows; fastest-growing stage: {worst} "
              f"{b[1].get(worst, 0.0) / max(a[1].get(worst, 0.0), 1e-9):.2f}x")


def main() -> int:
    bench_generator()
    bench_init()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
