"""SIGTERM and SIGHUP handled like Ctrl-C: what `timeout`, `docker stop` and a Cloud Run job's deadline
send, and what a closing terminal or ssh session sends, becomes an exception, so a run unwinds as on Ctrl-C
(the kernel is shut down, the run and the night are recorded, the private copy of the notebook is dropped)
and the command exits 128 + the signal's number (143, 129)."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


# Signals that stop a run as SIGTERM does. SIGHUP's default would kill the runner with nothing recorded.
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) arrived. A KeyboardInterrupt, so every path that records Ctrl-C records it too."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__()
        self.signum = signum


def signal_of(exc: BaseException) -> int:
    """The signal behind an interruption: the one Terminated carries, else SIGINT (Ctrl-C)."""
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
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


@contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Terminated in the main thread (once: a second one while
    the records are being written is ignored, so they are written whole), unless they were ignored
    already. Elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _terminate(signum, frame):
        for each in TERMINATING:
            signal.signal(each, signal.SIG_IGN)
        raise Terminated(signum)

    # A signal the command was started with ignored stays ignored: `nohup runbook overnight ...` means the
    # night outlives its terminal.
    before = {each: signal.signal(each, _terminate) for each in TERMINATING
              if signal.getsignal(each) != signal.SIG_IGN}
    try:
        yield
    finally:
        for each, handler in before.items():
            signal.signal(each, handler)
