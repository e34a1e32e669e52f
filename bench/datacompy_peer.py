"""The datacompy peer of bench_compare, run by that bench in a virtualenv of its own.

datacompy pins pandas below the kit's, so it never enters the kit's environment: the bench creates
the virtualenv on first use and runs this file there, one backend per process, and reads one JSON
line from stdout. It imports nothing from the kit.

    python bench/datacompy_peer.py --backend pandas|polars --file WAREHOUSE.duckdb --abs-tol 0.01
"""
from __future__ import annotations

import argparse
import json
import time

KEYS = ["game_date", "player_lookup"]
PROD, TEST = '"nba_analytics"."pgs"', '"test_nba_analytics"."pgs"'


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["pandas", "polars"], required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--abs-tol", type=float, default=0.0)
    parser.add_argument("--rel-tol", type=float, default=0.0)
    args = parser.parse_args()

    import datacompy
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(args.file, read_only=True)
    if args.backend == "pandas":
        prod, test = con.sql(f"SELECT * FROM {PROD}").df(), con.sql(f"SELECT * FROM {TEST}").df()
        compare_cls = datacompy.PandasCompare
    else:
        prod, test = con.sql(f"SELECT * FROM {PROD}").pl(), con.sql(f"SELECT * FROM {TEST}").pl()
        compare_cls = datacompy.PolarsCompare
    con.close()
    loaded, cpu = time.perf_counter(), time.process_time()
    # df2 is production: datacompy's tolerance is |df1 - df2| <= abs_tol + rel_tol * |df2|, the kit's formula.
    cmp = compare_cls(test, prod, join_columns=KEYS, abs_tol=args.abs_tol, rel_tol=args.rel_tol,
                      df1_name="test", df2_name="prod")
    matched = len(cmp.intersect_rows)
    result = {
        "rows_prod": len(prod), "rows_test": len(test),
        "only_in_prod": len(cmp.df2_unq_rows), "only_in_test": len(cmp.df1_unq_rows),
        "matched_rows": matched, "changed_rows": int(matched - cmp.count_matching_rows()),
        "column_mismatches": {s["column"]: int(s["unequal_cnt"]) for s in cmp.column_stats
                              if s["column"] not in KEYS},
    }
    finished, cpu = time.perf_counter(), time.process_time() - cpu
    print(json.dumps({"load_seconds": loaded - started, "seconds": finished - loaded, "cpu_seconds": cpu,
                      "counts": result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
