"""The round steps (tests/real_log_rounds.py) on a throwaway copy of the fixtures' layout."""
from __future__ import annotations

import hashlib
import math

import yaml

import real_log_rounds as rounds


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def test_split_holds_out_the_first_share_of_each_signature_by_sha256():
    labels = {f"{sig}--log-{i}.txt": sig for sig, n in (("a", 1), ("b", 2), ("c", 7)) for i in range(n)}
    held = rounds.split(labels)
    for sig in "abc":
        names = sorted((n for n in labels if labels[n] == sig), key=_digest)
        keep = math.ceil(0.7 * len(names))
        assert [held[n] for n in names] == [True] * keep + [False] * (len(names) - keep)
    assert sum(held.values()) == 1 + 2 + 5


def _layout(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "MANIFEST.yaml").write_text("# header\nlogs:\n  old--x-1.txt:\n    {signature: old, error_line: 2, set: "
                                        "held-out-3,\n     note: first}\n  old--x-2.txt:\n    set: tuning\n"
                                        "    signature: old\n    error_line: 1\n")
    (real / "SECOND-LABELS.yaml").write_text("logs:\n  old--x-1.txt:\n    signature: old\n    error_line: 2\n")
    (real / "SOURCES.md").write_text("| `old--x-1.txt` | acme/tool issue #7 (by a) | what | none needed |\n"
                                     "| `old--x-2.txt` | acme/site, file `README.md` (commit 1) | what | none |\n"

                                     "\n## Asked for, not found as a usable real log\n\n- nothing\n")
    pending = tmp_path / "pending-9a"
    pending.mkdir()
    logs = {"unknown--new-1.txt": ("unknown", "sure"), "unknown--new-2.txt": ("unknown", "sure"),
            "pip-install-failed--new-3.txt": ("pip-install-failed", "arguable")}
    manifest = {"logs": {}}
    for name, (sig, confidence) in logs.items():
        (pending / name).write_text("Step #0: one\nStep #0: ERROR: two\n")
        manifest["logs"][name] = {"signature": sig, "error_line": 2, "confidence": confidence}
    manifest["logs"]["pip-install-failed--new-3.txt"]["other"] = "unknown: it may be the index"
    (pending / "MANIFEST.yaml").write_text(yaml.safe_dump(manifest))
    (pending / "SOURCES.md").write_text("".join(f"| `{n}` | acme/other issue #{i} (by b) | what | none |\n"
                                                for i, n in enumerate(logs, 1)))
    return real, pending


def test_problems_name_what_keeps_pending_logs_out(tmp_path):
    real, pending = _layout(tmp_path)
    assert rounds.problems([pending], real) == []
    (real / "SOURCES.md").write_text("| `old--x-3.txt` | https://blog.example/posts/7/ (A blog, 2024) | what | none |\n"
                                     + (real / "SOURCES.md").read_text())
    (pending / "unknown--new-1.txt").write_text("one line only\n")
    (pending / "stray.txt").write_text("a\nb\n")
    (pending / "unknown--new-2.txt").write_text("Step #0: noise\n" * 61)
    (pending / "SOURCES.md").write_text((pending / "SOURCES.md").read_text().replace("| `unknown--new-1.txt` |",
                                                                                     "| unknown--new-1.txt |")
                                        + "| `x` | acme/tool issue #7 (by c) | what | none |\n"
                                        + "| `y` | acme/site, file `docs/a.md` (commit 2) | what | none |\n"
                                        + "| `z` | <https://Blog.example/posts/7#part-2> A blog | what | none |\n"
                                        + "| `w` | https://blog.example/posts/8 (A blog) | what | none |\n")
    other = pending.parent / "pending-9b"
    other.mkdir()
    (other / "unknown--new-9.txt").write_text("a\nb\n")
    (other / "MANIFEST.yaml").write_text(yaml.safe_dump({"logs": {"unknown--new-9.txt": {
        "signature": "unknown", "error_line": 2, "confidence": "sure"}}}))
    (other / "SOURCES.md").write_text("| `unknown--new-9.txt` | acme/other issue #2 (by d) | what | none |\n")
    found = rounds.problems([pending, other], real)
    assert found[-1] == "pending-9b: acme/other #2 is taken by pending-9a in this round too"
    found = rounds.problems([pending], real)
    assert found == ["pending-9a/stray.txt: no label",
                     "pending-9a/unknown--new-1.txt: one line (the excerpt rule wants the lines around the failure)",
                     "pending-9a/unknown--new-2.txt: 61 lines (an excerpt has at most 60: cut it from the top or the "
                     "bottom, never inside the failure)",
                     "pending-9a/unknown--new-1.txt: no SOURCES.md row (a row starts with the name in backticks: "
                     "| `unknown--new-1.txt` |)",
                     "pending-9a: acme/site is cited in real/SOURCES.md already",
                     "pending-9a: acme/tool #7 is cited in real/SOURCES.md already",
                     "pending-9a: blog.example/posts/7 is cited in real/SOURCES.md already"]


def test_anonymise_refuses_what_combine_would(tmp_path, capsys):
    _, pending = _layout(tmp_path)
    (pending / "unknown--new-1.txt").write_text("one line only\n")
    to = tmp_path / "relabel"
    assert rounds.main(["anonymise", "9", str(pending), "--to", str(to)]) == 2
    assert "unknown--new-1.txt: one line" in capsys.readouterr().err and not to.exists()


def test_combine_then_retune(tmp_path):
    real, pending = _layout(tmp_path)
    second = tmp_path / "relabel"
    mapping = rounds.anonymise([pending], second)
    assert sorted(mapping.values()) == sorted(p.name for p in pending.glob("*.txt"))
    assert sorted(p.name for p in second.iterdir()) == sorted(mapping)   # the labeller's folder holds no names
    (second / "LABELS.yaml").write_text(yaml.safe_dump({"logs": {
        q: {"signature": "unknown", "error_line": 1, "confidence": "sure"} for q in mapping}}))
    held = rounds.combine(9, [pending], second, real)
    assert not pending.exists()

    logs = yaml.safe_load((real / "MANIFEST.yaml").read_text())["logs"]
    assert logs["old--x-1.txt"] == {"signature": "old", "error_line": 2, "set": "held-out-3", "note": "first"}
    for name, out in held.items():
        assert logs[name]["set"] == ("held-out-9" if out else "tuning")
        assert (real / name).exists()
    assert logs["pip-install-failed--new-3.txt"]["note"] == "arguable unknown (it may be the index)"
    assert set(yaml.safe_load((real / "SECOND-LABELS.yaml").read_text())["logs"]) == {"old--x-1.txt", *held}
    sources = (real / "SOURCES.md").read_text()
    assert sources.index("acme/other issue #3") < sources.index("## Asked for") and sources.count("\n| `") == 4

    held_out = sorted(n for n, out in held.items() if out)[0]
    rounds.retune(held_out, stop=25, why="which reads its line.", missed=True, real=real)
    rounds.retune("old--x-1.txt", stop=25, why="which knows it.", missed=False, real=real)
    after = yaml.safe_load((real / "MANIFEST.yaml").read_text())["logs"]
    assert after[held_out]["set"] == "tuning"
    assert after[held_out]["note"].startswith("held-out-9 in round 9 (a miss at its measurement); tuning since stop 25")
    assert after["old--x-1.txt"]["note"] == ("held-out-3 in round 3 (an xfail there); tuning since stop 25, which "
                                             "knows it. Earlier note: first")
    assert {n: e for n, e in after.items() if n not in (held_out, "old--x-1.txt")} == \
        {n: e for n, e in logs.items() if n not in (held_out, "old--x-1.txt")}
