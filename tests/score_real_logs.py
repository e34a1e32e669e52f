"""Score the catalogue on sets of the real logs: `python tests/score_real_logs.py SET [SET ...] [--misses]`.

How a round is measured (tests/fixtures/logs/real/MANIFEST.yaml's header): a held-out set is scored once, at the end of
its round. Until then UNMEASURED below lists it, the tests skip it and this script refuses it unless `--measure` is
given, so that checking a tuning change cannot print a held-out set's score by accident (round 17's was, once). The
real-log tests take the manifest, its sets and NEAR from here.
`--root DIR` scores another checkout's runbook_lib (an earlier catalogue, for the "before this round" numbers).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from real_log_rounds import REAL, read_yaml   # (tests/ is on the import path: as a script, or for the tests)

MANIFEST = read_yaml(REAL / "MANIFEST.yaml")["logs"]
NEAR = 3  # the evidence line may be this many lines from the real error line
LAST_ROUND = 267
SETS = ("original", "tuning", *(f"held-out-{n}" for n in range(1, LAST_ROUND + 1)))
# A held-out set is measured once, after the tuning of its round: until then its name is listed here and
# its cases are skipped (by test_classify_real.py, also in its decoration test, and test_classify_whole_logs.py)
# and main() refuses it, so that running the tests or this script while tuning cannot become a way of looking at it.
# Each held-out set up to LAST_ROUND not listed here was measured at the end of its round; MANIFEST.yaml's header
# records its score and what became of its misses (once: this file does not repeat them).
UNMEASURED: set[str] = set()


def is_near(found: int, labelled: int) -> bool:
    """Whether the line read is within NEAR lines of the labelled one; no line (0) is near only no line."""
    return (found == 0) == (labelled == 0) and abs(found - labelled) <= NEAR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="manifest sets: original, tuning, held-out-N")
    parser.add_argument("--misses", action="store_true", help="list each log the catalogue gets wrong")
    parser.add_argument("--measure", action="store_true", help="score a set that is still unmeasured (once)")
    parser.add_argument("--root", type=Path, help="a checkout whose runbook_lib to score instead of this one")
    args = parser.parse_args(argv)
    hidden = sorted(set(args.sets) & UNMEASURED)
    if hidden and not args.measure:
        print(f"sets must be measured once, at the end of their round: {', '.join(hidden)} is still unmeasured "
              "(pass --measure to measure it now).", file=sys.stderr)
        return 2
    if args.root:   # (ahead of the installed checkout on the import path)
        sys.path.insert(0, str(args.root.resolve()))
    from runbook_lib.diagnose import classify_log

    for wanted in args.sets:
        entries = {name: e for name, e in MANIFEST.items() if e["set"] == wanted}
        if not entries:
            print(f"{wanted}: no logs in this set", file=sys.stderr)
            return 2
        top = near = 0
        for name, entry in entries.items():
            found = classify_log((REAL / name).read_text(encoding="utf-8"))[0]
            right = found.signature == entry["signature"]
            close = right and is_near(found.line, entry["error_line"])
            top, near = top + right, near + close
            if args.misses and not close:
                print(f"  miss {name}: {found.signature} at {found.line}, "
                      f"labelled {entry['signature']} at {entry['error_line']}")
        print(f"{wanted}: {len(entries)} logs, the right top signature for {top}, within {NEAR} lines for {near}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
