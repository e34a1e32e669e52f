"""Exit codes of the `runbook` command, shared by the CLI and the runner (what `run_notebook` and
`run_plan` return as `.exit_code`, and what each run records in its metadata)."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0            # every verdict pass or warn
    ERROR = 1         # the kit or a runbook broke: a cell raised, the kernel died, no result recorded
    BAD_INPUT = 2     # bad parameters or a bad plan: refused before any work
    FAILED = 3        # a verdict fail or blocked: the runbook ran and found a problem
    HUNG_UP = 129      # 128 + SIGHUP: the terminal or ssh session running it closed
    INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
    TERMINATED = 143   # 128 + SIGTERM: `timeout`, `docker stop`, a Cloud Run job's deadline

    @classmethod
    def for_signal(cls, signum: int) -> int:
        """A run stopped by a signal exits as a shell reports it: 128 + the signal's number."""
        code = 128 + int(signum)
        return cls(code) if code in cls._value2member_map_ else code

    @classmethod
    def signal_of(cls, code: int) -> int | None:
        """The signal behind an exit code that for_signal made (None for any other code)."""
        return int(code) - 128 if int(code) > 128 else None


def for_verdict(verdict: str) -> ExitCode:
    """A completed run's exit code: pass and warn are fine, anything else is a finding."""
    return ExitCode.OK if verdict in ("pass", "warn") else ExitCode.FAILED
