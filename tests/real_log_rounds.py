"""The steps of a round of real logs (tests/fixtures/logs/real/LABELLING.md), as commands:

  python tests/real_log_rounds.py anonymise ROUND PENDING... --to DIR
      copy a round's pending logs to DIR as Q001.txt ... (in SHA-256 order of their names, the map beside DIR
      as DIR.map.json) for the second, blind labeller, who writes DIR/LABELS.yaml (`logs: {Q001.txt: {signature, error_line, confidence}}`)
  python tests/real_log_rounds.py combine ROUND PENDING... [--second DIR]
      check the pending logs, split them blindly into held-out-ROUND and tuning, move them into real/,
      append their MANIFEST, SOURCES and SECOND-LABELS entries and remove the pending folders
  python tests/real_log_rounds.py retune NAME --stop N --why "which ..." [--missed]
      move a held-out log whose miss a later change fixed to tuning, with the note that says so

A pending directory (tests/fixtures/logs/pending-NNx) holds a collector's .txt logs, its MANIFEST.yaml (`logs:
{name: {signature, error_line, confidence, other}}`) and its SOURCES.md rows. After `combine`, raise LAST_ROUND
and add the set to UNMEASURED in score_real_logs.py and the round's header entry to MANIFEST.yaml, then commit,
before the classifier reads a log of the round.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REAL = Path(__file__).resolve().parent / "fixtures" / "logs" / "real"
MAX_LINES = 60   # an excerpt, not a whole build (test_classify_real.py holds every real log to it)
HELD_OUT_SHARE = 0.7   # per signature, this share of a round's logs (rounded up, at least one) is held out
# a SOURCES.md row's source column: `owner/repo issue #N` (or pull request) or `owner/repo, file ...`
CITED = re.compile(r"([\w.-]+/[\w.-]+)(?:,| (?:issue|pull request|PR) #(\d+))")
# a web page's row starts with its address; the same page under another fragment or query is the same source
CITED_PAGE = re.compile(r"<?(https?://[^\s#?>]+?)/?(?:[#?][^\s>]*)?>?(?:\s|,|$)")


def load_yaml(text: str):
    """YAML read with libyaml where PyYAML has it (the whole manifest: 0.5 s instead of 3 s, in each test process that
    imports score_real_logs)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_yaml(path: Path):
    """A YAML file of the real logs (load_yaml)."""
    return load_yaml(path.read_text(encoding="utf-8"))


def split(labels: dict[str, str]) -> dict[str, bool]:
    """Which logs are held out, from their names and expected signatures only: per signature, the names sorted by
    SHA-256, the first HELD_OUT_SHARE of them (rounded up)."""
    by_signature: dict[str, list[str]] = defaultdict(list)
    for name, signature in labels.items():
        by_signature[signature].append(name)
    held: dict[str, bool] = {}
    for names in by_signature.values():
        names.sort(key=_digest)
        keep = math.ceil(HELD_OUT_SHARE * len(names))
        held.update({name: i < keep for i, name in enumerate(names)})
    return held


def problems(pending: list[Path], real: Path = REAL) -> list[str]:
    """What keeps a round's pending logs out: a file without a label or a label without a file, a log of one line
    or of more than MAX_LINES, a name already in real/, a label without its SOURCES.md row, a source already cited
    there or taken by another folder of the round."""
    out, cited = [], _cited((real / "SOURCES.md").read_text(encoding="utf-8"))
    taken: dict[tuple[str, str], str] = {}   # this round's threads and pages, each a folder that took it
    for folder in pending:
        labels = _labels(folder)
        files = {p.name for p in folder.glob("*.txt")}
        out += [f"{folder.name}/{n}: no label" for n in sorted(files - set(labels))]
        out += [f"{folder.name}/{n}: labelled, no file" for n in sorted(set(labels) - files)]
        for name in sorted(files & set(labels)):
            text = (folder / name).read_text(encoding="utf-8")
            lines = len(text.splitlines())
            if len(text.strip().splitlines()) < 2:
                out.append(f"{folder.name}/{name}: one line (the excerpt rule wants the lines around the failure)")
            if lines > MAX_LINES:
                out.append(f"{folder.name}/{name}: {lines} lines (an excerpt has at most {MAX_LINES}: cut it from the "
                           "top or the bottom, never inside the failure)")
            if (real / name).exists():
                out.append(f"{folder.name}/{name}: a log of that name is in real/ already")
        rows = _rows(folder)
        out += [f"{folder.name}/{name}: no SOURCES.md row (a row starts with the name in backticks: | `{name}` |)"
                for name in sorted(labels) if f"| `{name}` |" not in rows]
        repos = {repo for repo, _ in cited}
        out += [f"{folder.name}: {repo}{f' #{n}' if n else ''} is cited in real/SOURCES.md already"
                for repo, n in sorted(_cited(rows), key=str) if (repo, n) in cited or (not n and repo in repos)]
        for repo, n in sorted(_cited(rows) - cited, key=str):
            if n and (repo, n) in taken:
                out.append(f"{folder.name}: {repo} #{n} is taken by {taken[repo, n]} in this round too")
            taken.setdefault((repo, n), folder.name)
    return out


def _cited(text: str) -> set[tuple[str, str]]:
    """(owner/repo, issue or pull request number, or "" for a repository's file) of each row of a SOURCES.md; a web
    page's row gives (its address without scheme, fragment or query, "")."""
    found = set()
    for line in text.splitlines():
        cells = line.split(" | ")
        if not (line.startswith("| `") and len(cells) > 2):
            continue
        if m := CITED.match(cells[1].strip()):
            found.add((m.group(1), m.group(2) or ""))
        elif m := CITED_PAGE.match(cells[1].strip()):
            found.add((m.group(1).split("://", 1)[1].lower(), ""))
    return found


def _rows(folder: Path) -> str:
    """A pending folder's SOURCES.md rows ("" without any)."""
    path = folder / "SOURCES.md"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def _labels(folder: Path) -> dict[str, dict]:
    return read_yaml(folder / "MANIFEST.yaml")["logs"] or {}


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def anonymise(pending: list[Path], to: Path) -> dict[str, str]:
    names = sorted(((folder, n) for folder in pending for n in _labels(folder)), key=lambda fn: _digest(fn[1]))
    to.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for i, (folder, name) in enumerate(names, 1):
        mapping[f"Q{i:03d}.txt"] = name
        shutil.copyfile(folder / name, to / f"Q{i:03d}.txt")
    _map_of(to).write_text(json.dumps(mapping, indent=1) + "\n", encoding="utf-8")
    return mapping


def _map_of(folder: Path) -> Path:
    """Where anonymise keeps the Qnnn -> name map: beside the labeller's folder, not in it (the names hold the
    first labels)."""
    return folder.parent / f"{folder.name}.map.json"


def combine(round_no: int, pending: list[Path], second: Path | None, real: Path = REAL) -> dict[str, bool]:
    by_folder = {folder: _labels(folder) for folder in pending}
    labels = {name: entry for of_folder in by_folder.values() for name, entry in of_folder.items()}
    held = split({name: entry["signature"] for name, entry in labels.items()})
    manifest, seconds = [], []
    mapped = {}
    if second is not None:
        names = json.loads(_map_of(second).read_text(encoding="utf-8"))
        mapped = {names[q]: e for q, e in read_yaml(second / "LABELS.yaml")["logs"].items()}
        missing = sorted(set(labels) - set(mapped))
        if missing:
            raise SystemExit(f"the second labeller has no label for {', '.join(missing)}")
    for name in sorted(labels, key=lambda n: (n.split("--")[0], n)):
        entry = labels[name]
        manifest.append(f"  {name}:\n    set: {'held-out-%d' % round_no if held[name] else 'tuning'}\n"
                        f"    signature: {entry['signature']}\n    error_line: {entry['error_line']}\n")
        if entry.get("confidence") == "arguable":   # `other: "id: why"` -> `note: 'arguable id (why)'`
            other, _, why = str(entry.get("other", "")).partition(": ")
            manifest[-1] += "    note: " + _quoted(f"arguable {other} ({why})" if why else f"arguable {other}") + "\n"
        if name in mapped:
            e = mapped[name]
            seconds.append(f"  {name}:\n    signature: {e['signature']}\n    error_line: {e['error_line']}\n"
                           f"    confidence: {e.get('confidence', 'sure')}\n"
                           + (f"    other: {json.dumps(e['other'])}\n" if e.get("other") else ""))
    rows = "".join(own + "\n" for folder in pending if (own := _rows(folder)))
    for folder, of_folder in by_folder.items():
        for name in of_folder:
            shutil.move(folder / name, real / name)
    _append(real / "MANIFEST.yaml", "".join(manifest))
    if seconds:
        _append(real / "SECOND-LABELS.yaml", "".join(seconds))
    sources = (real / "SOURCES.md").read_text(encoding="utf-8")
    at = sources.index("\n## Asked for, not found")
    (real / "SOURCES.md").write_text(sources[:at].rstrip("\n") + "\n" + rows + sources[at:], encoding="utf-8")
    for folder in pending:   # all it held is in real/ now (and in git's history)
        shutil.rmtree(folder)
    return held


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text, encoding="utf-8")


def retune(name: str, stop: int, why: str, missed: bool, real: Path = REAL) -> str:
    """Rewrite NAME's manifest entry from held-out-N to tuning, its note saying when and why (and keeping the
    earlier note); returns the new entry."""
    path = real / "MANIFEST.yaml"
    text = path.read_text(encoding="utf-8")
    entry = load_yaml(text)["logs"][name]
    held = entry["set"]
    if not held.startswith("held-out-"):
        raise SystemExit(f"{name} is in set {held}, not a held-out set")
    round_no = held.removeprefix("held-out-")
    how = "a miss at its measurement" if missed else "an xfail there"
    note = f"{held} in round {round_no} ({how}); tuning since stop {stop}, {why}"
    if entry.get("note"):
        note += f" Earlier note: {entry['note']}"
    new = (f"  {name}:\n    set: tuning\n    signature: {entry['signature']}\n    error_line: {entry['error_line']}\n"
           f"    note: {_quoted(note)}\n")
    # the entry runs from its key line to the next key line at the same indent (block or flow style)
    match = re.search(rf"^  {re.escape(name)}:\n(?:(?:    |\s*$).*\n?)*", text, re.M)
    if match is None:
        raise SystemExit(f"{name}: its manifest entry is not in the expected layout")
    path.write_text(text[:match.start()] + new + text[match.end():], encoding="utf-8")
    if read_yaml(path)["logs"][name]["set"] != "tuning":
        raise SystemExit(f"{name}: the rewritten manifest does not read back as tuning")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("anonymise")
    a.add_argument("round", type=int)
    a.add_argument("pending", nargs="+", type=Path)
    a.add_argument("--to", type=Path, required=True)
    c = sub.add_parser("combine")
    c.add_argument("round", type=int)
    c.add_argument("pending", nargs="+", type=Path)
    c.add_argument("--second", type=Path, help="the second labeller's folder (its LABELS.yaml; the map beside it)")
    r = sub.add_parser("retune")
    r.add_argument("name")
    r.add_argument("--stop", type=int, required=True)
    r.add_argument("--why", required=True, help="what the change does, starting `which ...`")
    r.add_argument("--missed", action="store_true", help="the log was a miss at its measurement, never an xfail")
    args = parser.parse_args(argv)
    if args.command in ("anonymise", "combine"):   # (no second labeller reads a log the round cannot keep)
        found = problems(args.pending)
        if found:
            print("\n".join(found), file=sys.stderr)
            return 2
    if args.command == "anonymise":
        print(f"{len(anonymise(args.pending, args.to))} logs copied to {args.to}")
    elif args.command == "combine":
        held = combine(args.round, args.pending, args.second)
        print(f"round {args.round}: {sum(held.values())} held-out-{args.round}, {len(held) - sum(held.values())} "
              "tuning; now raise LAST_ROUND, add the set to UNMEASURED in score_real_logs.py and add the MANIFEST "
              "header entry")
    else:
        print(retune(args.name, args.stop, args.why, args.missed), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
