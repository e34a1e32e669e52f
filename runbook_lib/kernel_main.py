"""The runbook kernel's entry point (the phase-runbooks kernelspec runs `python -m runbook_lib.kernel_main`):
ipykernel, as `ipykernel_launcher` starts it, with the kernel process's own stderr sent to the file the runner
names in RUNBOOK_KERNEL_STDERR.

What a cell prints reaches the notebook either way. The process's stderr carries only the kernel's own logs:
tornado's traceback when a message reaches a socket ipykernel is closing as the runner shuts the kernel down
(harmless, and it would stand under the run's one-line error as if the run had crashed), and, rarely, why a
kernel died. The runner shows the file's last lines when the kernel died or never started, and removes it.
In JupyterLab (`runbook lab`) nothing names the file and stderr is left as it is.

Kept out of runbook_lib.runner: the kernel must start without importing the runner and papermill."""
from __future__ import annotations

import os
import sys
from pathlib import Path

STDERR_ENV = "RUNBOOK_KERNEL_STDERR"


def redirect_stderr(path: str) -> None:
    """Point file descriptor 2 (and so every process the kernel starts) at `path`, appending."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def main() -> None:
    path = os.environ.pop(STDERR_ENV, None)
    if path:
        try:
            redirect_stderr(path)
        except OSError as exc:   # a kernel that cannot keep its log still runs the notebook, its log on stderr
            print(f"warning: the kernel's log {path} cannot be written ({exc}); it goes to stderr", file=sys.stderr)
    # As ipykernel_launcher: the notebook's folder must not shadow a module while the kernel imports its own.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
