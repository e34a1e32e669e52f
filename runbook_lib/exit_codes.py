"""Exit codes of the `runbook` command, shared by the CLI and the runner (what `run_notebook` and
`run_plan` return as `.exit_code`, and what each run records in its metadata)."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0            # every verdict pass or warn
    ERROR = 1         # the kit or a runbook broke: a cell raised, the kernel died, no result recorded
    BAD_INPUT = 2     # bad parameters or a bad plan: refused before any work
    FAILED = 3        # a verdict fail or blocked: the runbook ran and found a problem
    INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
    TERMINATED = 143   # 128 + SIGTERM: `timeout`, `docker stop`, a Cloud Run job's deadline


def for_verdict(verdict: str) -> ExitCode:
    """A completed run's exit code: pass and warn are fine, anything else is a finding."""
    return ExitCode.OK if verdict in ("pass", "warn") else ExitCode.FAILED
