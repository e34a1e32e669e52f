"""SIGTERM handled like Ctrl-C: what `timeout`, `docker stop` and a Cloud Run job's deadline send
becomes an exception, so a run unwinds as on Ctrl-C (the kernel is shut down, the run and the
night are recorded, the private copy of the notebook is dropped) and the command exits 143."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so every path that records Ctrl-C records it too."""

    signum = signal.SIGTERM


def signal_of(exc: BaseException) -> int:
    """The signal behind an interruption: SIGTERM for Terminated, else SIGINT (Ctrl-C)."""
    return int(getattr(exc, "signum", signal.SIGINT))


def signal_name(signum: int) -> str:
    """How the kit names a stopping signal: "Ctrl-C" for SIGINT, else its name ("SIGTERM")."""
    if signum == signal.SIGINT:
        return "Ctrl-C"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def stopped(signum: int) -> KeyboardInterrupt:
    """The exception to raise again once a run stopped by `signum` is recorded."""
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated in the main thread (once: a second SIGTERM while
    the records are being written is ignored, so they are written whole). Elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
