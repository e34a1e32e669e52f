"""files.write_whole: the one way the kit writes a file others read at any moment (the state, a service's run
record, a build's log and records, progress, summaries and reports)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runbook_lib import files, report


def test_a_failed_write_leaves_the_file_as_it_was_and_no_partial(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    files.write_whole(target, "before")

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError) as err:
        files.write_whole(target, "after")
    monkeypatch.undo()
    assert err.value.filename == str(target)
    assert target.read_text() == "before" and os.listdir(tmp_path) == ["state.json"]


def test_parents_are_made_only_when_asked(tmp_path):
    with pytest.raises(FileNotFoundError):
        files.write_whole(tmp_path / "logs" / "build.txt", "x")
    assert files.write_whole(tmp_path / "logs" / "build.txt", "x", make_parents=True).read_text() == "x"


def test_threads_writing_one_file_never_leave_half_of_one_or_a_partial(tmp_path):
    target = tmp_path / "run.json"
    texts = [str(n) * 200_000 for n in range(8)]
    seen: list[str] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            if target.exists():
                seen.append(target.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=lambda t=t: [files.write_whole(target, t) for _ in range(5)]) for t in texts]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert target.read_text() in texts and os.listdir(tmp_path) == ["run.json"]
    assert seen and all(text in texts for text in seen)


def test_the_report_writes_through_it():
    assert report.write_whole is files.write_whole
