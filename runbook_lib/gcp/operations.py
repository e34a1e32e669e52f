"""Awaiting Google's long-running operations (a Cloud Build build, a Cloud Run rollout) with progress and a
timeout: `operation.done()` fetches the operation once per poll (GET .../operations/ID), its metadata says
how far it got, and the caller is told one line whenever that changes.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from ..errors import OperationTimeout
from ..protocols import Progress

POLL_SECONDS = 2.0   # how often an operation is fetched while it runs


def await_operation(operation: Any, what: str, timeout_s: float, describe: Callable[[Any], str] | None = None,
                    progress: Progress | None = None, poll_s: float = POLL_SECONDS) -> Any:
    """Poll until the operation is done; OperationTimeout after `timeout_s` (the operation itself goes on).

    `describe(metadata)` turns the operation's metadata into the one line `progress` is told on a change.
    Returns the operation; whether it succeeded is for the caller to read (its error or the resource)."""
    deadline = time.monotonic() + timeout_s
    said = None
    while True:
        done = operation.done()   # one GET of the operation, which also refreshes its metadata
        if describe is not None and progress is not None:
            line = describe(operation.metadata)
            if line and line != said:
                progress(line)
                said = line
        if done:
            return operation
        if time.monotonic() >= deadline:
            raise OperationTimeout(f"{what} did not finish within {timeout_s:g}s (operation "
                                   f"{operation.operation.name}); it may still finish on its own.")
        time.sleep(poll_s)


def operation_error(operation: Any) -> str | None:
    """The finished operation's error message, or None when it succeeded."""
    error = operation.operation.error if operation.operation.HasField("error") else None
    if error is None or not (error.code or error.message):
        return None
    return error.message or f"error code {error.code}"
