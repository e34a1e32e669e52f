"""Test helpers that stand in for a misbehaving service or change the sandbox's state for a while."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from runbook_lib.local.home import sandbox_home
from runbook_lib.local.state import read_state, state_lock, write_state


@contextmanager
def state_changed(root: str | Path, change: Callable[[dict], None]) -> Iterator[None]:
    """The sandbox's state file changed by change(state) for as long as this lasts, then put back (tests share
    their module's sandbox)."""
    at = sandbox_home(root)
    with state_lock(at):
        before = read_state(at)
        changed = json.loads(json.dumps(before))
        change(changed)
        write_state(at, changed)
    try:
        yield
    finally:
        with state_lock(at):
            write_state(at, before)


@contextmanager
def serving(handle: Callable[[socket.socket, threading.Event], None], backlog: int = 16) -> Iterator[int]:
    """A loopback port whose every connection is handed to handle(conn, stop) on a thread of its own (stop: set
    when the test is done); yields the port, and closes the server after."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(backlog)
    server.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()
