"""Score the catalogue on sets of the real logs: `python tests/score_real_logs.py SET [SET ...] [--misses]`.

How a round is measured (tests/fixtures/logs/real/MANIFEST.yaml's header): a held-out set is scored once, at the end of
its round. Until then test_classify_real.py lists it in UNMEASURED, and this script refuses it unless `--measure` is
given, so that checking a tuning change cannot print a held-out set's score by accident (round 17's was, once).
`--root DIR` scores another checkout's runbook_lib (an earlier catalogue, for the "before this round" numbers).
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import yaml

REAL = Path(__file__).resolve().parent / "fixtures" / "logs" / "real"
NEAR = 3


def unmeasured() -> set[str]:
    """The sets test_classify_real.py still skips (its UNMEASURED assignment, read without importing pytest)."""
    tree = ast.parse((Path(__file__).resolve().parent / "test_classify_real.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "UNMEASURED":
            value = node.value
            return set() if isinstance(value, ast.Call) else {ast.literal_eval(e) for e in value.elts}
    return set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="manifest sets: original, tuning, held-out-N")
    parser.add_argument("--misses", action="store_true", help="list each log the catalogue gets wrong")
    parser.add_argument("--measure", action="store_true", help="score a set that is still unmeasured (once)")
    parser.add_argument("--root", type=Path, help="a checkout whose runbook_lib to score instead of this one")
    args = parser.parse_args(argv)
    hidden = sorted(set(args.sets) & unmeasured())
    if hidden and not args.measure:
        print(f"sets must be measured once, at the end of their round: {', '.join(hidden)} is still unmeasured "
              "(pass --measure to measure it now).", file=sys.stderr)
        return 2
    sys.path.insert(0, str(args.root.resolve() if args.root else Path(__file__).resolve().parent.parent))
    from runbook_lib.diagnose import classify_log

    manifest = yaml.safe_load((REAL / "MANIFEST.yaml").read_text(encoding="utf-8"))["logs"]
    for wanted in args.sets:
        entries = {name: e for name, e in manifest.items() if e["set"] == wanted}
        if not entries:
            print(f"{wanted}: no logs in this set", file=sys.stderr)
            return 2
        top = near = 0
        for name, entry in entries.items():
            found = classify_log((REAL / name).read_text(encoding="utf-8"))[0]
            right = found.signature == entry["signature"]
            close = right and abs(found.line - entry["error_line"]) <= NEAR
            top, near = top + right, near + close
            if args.misses and not close:
                print(f"  miss {name}: {found.signature} at {found.line}, "
                      f"labelled {entry['signature']} at {entry['error_line']}")
        print(f"{wanted}: {len(entries)} logs, the right top signature for {top}, within {NEAR} lines for {near}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
