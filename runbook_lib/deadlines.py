"""A deadline for a whole HTTP answer, on both targets' request paths.

A socket timeout bounds one read only and restarts with every byte, so a service trickling a byte every few
seconds would hold the caller for minutes (runbook 00 past its cell limit, a replay's call past its patience).
AnswerDeadline shuts the connection's socket down when the deadline passes, which ends whatever read is
waiting on it; the caller then reports a timeout, not a dropped connection.
"""
from __future__ import annotations

import socket
import threading
import time


class AnswerDeadline:
    """`seconds` from now for the whole answer: arm() it on the connection's socket once connected, disarm()
    it when the answer is in; `expired`: it cut the connection, so what was read is not the whole answer."""

    def __init__(self, seconds: float):
        self._ends = time.monotonic() + seconds
        self._timer: threading.Timer | None = None
        self.expired = False

    def arm(self, sock: object) -> None:
        """Watch `sock`; nothing to watch when the transport shows no socket (each read's timeout is the bound)."""
        if not isinstance(sock, socket.socket):
            return
        self._timer = threading.Timer(max(self._ends - time.monotonic(), 0.0), self._cut, args=(sock,))
        self._timer.daemon = True
        self._timer.start()

    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self._ends

    def _cut(self, sock: socket.socket) -> None:
        self.expired = True
        try:
            # the plain socket's shutdown: an SSLSocket's own would drop its TLS state under the reading thread
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:   # already closed: the answer was in
            pass

    def disarm(self) -> None:
        """Stop watching (then `expired` says whether the deadline had cut the connection)."""
        if self._timer is not None:
            self._timer.cancel()
