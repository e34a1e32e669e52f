"""`runbook demo`: the one command behind `make demo` and the Docker image's default, so they cannot drift.

Reset the sandbox to the incident morning, run the sandbox's overnight plan (which finds the incident,
then fixes it in the sandbox), stop the services the night started, and exit 0 when the night's only
findings are verdicts (fail or blocked: the incident, exit 3 otherwise); an error stays an error.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, ParameterError
from .exit_codes import ExitCode
from .phases import PROJECT_ROOT

SANDBOX_PLAN = Path("params") / "overnight-sandbox.yaml"
# The sandbox's size when --scale is not given: a smaller one makes a quicker demo (tests, slow machines).
SCALE_ENV = "RUNBOOK_DEMO_SCALE"
DEFAULT_SCALE = 1.0
FOUND_THE_INCIDENT = "The runbooks found the incident (verdicts fail or blocked): open the report above."


def sandbox_plan() -> Path:
    """params/overnight-sandbox.yaml of the checkout, else of the current folder (an installed kit,
    such as the Docker image, keeps params/ in its working folder)."""
    for root in (PROJECT_ROOT, Path.cwd()):
        if (root / SANDBOX_PLAN).is_file():
            return root / SANDBOX_PLAN
    raise ConfigError(f"{SANDBOX_PLAN} is in neither {PROJECT_ROOT} nor {Path.cwd()}: run `runbook demo` "
                      "from the kit's folder.")


def demo_scale(scale: float | None = None) -> float:
    """--scale, else $RUNBOOK_DEMO_SCALE, else 1.0 (about two weeks of games); the sandbox checks its range."""
    if scale is not None:
        return scale
    raw = os.environ.get(SCALE_ENV, "").strip()
    try:
        return float(raw) if raw else DEFAULT_SCALE
    except ValueError:
        raise ParameterError(SCALE_ENV, raw, "give a number such as 0.5 (the sandbox's size; 1.0 is about two "
                                             "weeks of games)") from None


def run_demo(scale: float | None = None, outdir: str | Path | None = None) -> int:
    """Reset the sandbox ($RUNBOOK_HOME, else the kit's .runbook), run the sandbox plan into `outdir`
    (default reports/), stop the sandbox's services; the exit code as described in the module."""
    from . import runner
    from .local import sandbox

    plan = sandbox_plan()
    runner.check_outdir(outdir)   # a report folder the night would refuse: refused before the reset
    status = sandbox.reset_sandbox(scale=demo_scale(scale), start_services=False)
    if status.problem:
        print(status.to_text())
        return ExitCode.ERROR
    try:
        night = runner.run_plan(plan, outdir=outdir)
    finally:
        sandbox.stop_sandbox()   # the night starts services on demand; a demo leaves none behind
    if night.exit_code == ExitCode.FAILED:
        print(FOUND_THE_INCIDENT, flush=True)
        return ExitCode.OK
    return night.exit_code
