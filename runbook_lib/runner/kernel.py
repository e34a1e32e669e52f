"""The kernel runbooks run on: always this environment's Python, never whatever "python3" means
elsewhere; and `runbook lab`, JupyterLab on the same notebooks with that kernel."""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..charts import RUN_DIR_ENV
from ..progress import PROGRESS_ENV, run_progress_file
from ..errors import ParameterError, RunbookError
from .. import kernel_main
from ..kernel_main import STDERR_ENV
from ..exit_codes import ExitCode
from ..local.processes import STARTED_BY_ENV
from ..phases import PHASES_ENV, PROJECT_ROOT

KERNEL_NAME = "phase-runbooks"
KERNEL_MODULE = kernel_main.__name__   # (runbook_lib.kernel_main)
KERNEL_LOG = ".kernel-stderr"   # in the run's folder while it runs (kernel_main), removed after
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
ALLOW_ROOT = "--allow-root"


def kernel_spec() -> dict[str, Any]:
    return {
        # log_level=CRITICAL: ipykernel warns on every start that loopback TCP is unencrypted (the
        # standard Jupyter set-up, messages are HMAC-signed) and reports the interrupt jupyter_client sends
        # while shutting a finished kernel down; that noise would bury the progress lines. Other loggers
        # (tornado's) say the same kind of thing: kernel_main sends them to the run's kernel log.
        "argv": [sys.executable, "-m", KERNEL_MODULE, "-f", "{connection_file}", "--IPKernelApp.log_level=CRITICAL"],
        "display_name": "Python (phase-runbooks)",
        "language": "python",
        "metadata": {"debugger": True},
    }


def ensure_kernelspec() -> Path:
    """Write the `phase-runbooks` kernelspec for sys.executable if missing or stale; return the
    `.../share/jupyter` folder holding it (sys.prefix, or the user's Jupyter data folder)."""
    from jupyter_core.paths import jupyter_data_dir

    wanted = kernel_spec()
    problems = []
    for base in (Path(sys.prefix) / "share" / "jupyter", Path(jupyter_data_dir())):
        spec_file = base / "kernels" / KERNEL_NAME / "kernel.json"
        try:
            if spec_file.exists() and json.loads(spec_file.read_text()) == wanted:
                return base
            spec_file.parent.mkdir(parents=True, exist_ok=True)
            spec_file.write_text(json.dumps(wanted, indent=1))
            return base
        except (OSError, ValueError) as exc:
            problems.append(f"{spec_file}: {exc}")
    raise RunbookError("could not write the phase-runbooks kernelspec: " + "; ".join(problems))


# Paths the kernel reads from the environment, which an operator gives relative to where they stand: the
# sandbox, the phases file (README: copy it and point RUNBOOK_PHASES at the copy), the key google-auth opens.
PATH_VARIABLES = ("RUNBOOK_HOME", PHASES_ENV, "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG")


@contextmanager
def kernel_environment(jupyter_base: Path, run_dir: Path | None, run_id: str | None = None) -> Iterator[None]:
    """The kernel inherits our environment: put our kernelspec first on JUPYTER_PATH (so no other
    `phase-runbooks` spec can shadow it), tell `charts.show` where the run folder is and `progress` where to
    say how far a long step is, and give the run's id to the sandbox services the kernel starts (so the runner
    can stop them after it), and the kernel process's own stderr its log file (kernel_log_file)."""
    saved = {key: os.environ.get(key)
             for key in ("JUPYTER_PATH", RUN_DIR_ENV, PROGRESS_ENV, STDERR_ENV, STARTED_BY_ENV, *PATH_VARIABLES)}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_base), saved["JUPYTER_PATH"]) if p)
    if run_id is not None:
        os.environ[STARTED_BY_ENV] = run_id
    os.environ.update(absolute_paths(saved))
    if run_dir is not None:
        os.environ[RUN_DIR_ENV] = str(Path(run_dir).resolve())  # the kernel runs in notebooks/
        os.environ[PROGRESS_ENV] = str(run_progress_file(run_dir))
        os.environ[STDERR_ENV] = str(kernel_log_file(run_dir))
    else:
        for key in (RUN_DIR_ENV, PROGRESS_ENV, STDERR_ENV):
            os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def kernel_log_file(run_dir: Path) -> Path:
    """Where the kernel of the run in `run_dir` writes its own stderr (runbook_lib.kernel_main)."""
    return Path(run_dir).resolve() / KERNEL_LOG


def absolute_paths(env: Mapping[str, str | None]) -> dict[str, str]:
    """PATH_VARIABLES set in `env`, made absolute: a kernel's working folder is notebooks/, so a relative path is
    from where the operator stands (`runbook run`, `runbook overnight`, `runbook lab`)."""
    return {key: os.path.abspath(os.path.expanduser(env[key])) for key in PATH_VARIABLES if env.get(key)}


def _running_as_root() -> bool:
    geteuid = getattr(os, "geteuid", None)  # absent on Windows, where there is no root to refuse
    return geteuid is not None and geteuid() == 0


def lab_command(port: int = 8888, no_browser: bool = False, notebook_dir: Path | None = None) -> list[str]:
    """The command `runbook lab` runs: this environment's JupyterLab on notebooks/, loopback only,
    with the phase-runbooks kernel as the default. As root (the usual case in a container, the
    kit's own image included) JupyterLab refuses to start without --allow-root, so it is given."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ParameterError("port", port, "a TCP port number from 1 to 65535")
    command = [sys.executable, "-m", "jupyterlab",
               f"--ServerApp.root_dir={notebook_dir or NOTEBOOKS_DIR}",
               f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
               f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}"]
    if _running_as_root():
        command.append(ALLOW_ROOT)
    if no_browser:
        command.append("--no-browser")
    return command


def open_lab(port: int = 8888, no_browser: bool = False) -> int:
    """Replace this process with JupyterLab (returns only if that cannot start)."""
    command = lab_command(port, no_browser)
    base = ensure_kernelspec()
    env = {**os.environ, **absolute_paths(os.environ)}
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(base), env.get("JUPYTER_PATH")) if p)
    if ALLOW_ROOT in command:
        print(f"Running as root (as in a container): starting JupyterLab with {ALLOW_ROOT}.", file=sys.stderr, flush=True)
    try:
        os.execve(command[0], command, env)
    except OSError as exc:
        print(f"error: could not start JupyterLab ({' '.join(command)}): {exc}", file=sys.stderr)
    return ExitCode.ERROR
