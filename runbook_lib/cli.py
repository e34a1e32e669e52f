"""The `runbook` command. Exit codes: 0 pass/warn, 1 error, 2 bad input, 3 verdict fail/blocked,
130 interrupted (Ctrl-C)."""
from __future__ import annotations

import argparse
import sys

from .errors import ConfigError, ParameterError, RunbookError
from .exit_codes import ExitCode
from .target import TARGETS

# The names tests use; everything else says ExitCode.
EXIT_OK, EXIT_BAD_INPUT = ExitCode.OK, ExitCode.BAD_INPUT


def _sandbox(args: argparse.Namespace) -> int:
    from .local import sandbox

    home = args.home
    if args.action == "init":
        status = sandbox.init_sandbox(home=home, scale=args.scale, force=args.force, start_services=not args.no_services)
    elif args.action == "status":
        status = sandbox.sandbox_status(home=home)
    elif args.action == "reset":
        status = sandbox.reset_sandbox(home=home, scale=args.scale)
    else:
        sandbox.stop_sandbox(home=home)
        print("Stopped every process the sandbox had started.")
        return ExitCode.OK
    print(status.to_text())
    return ExitCode.OK


def _run(args: argparse.Namespace) -> int:
    from . import runner

    result = runner.run_notebook(
        args.notebook, parameters=args.parameters or [], param_files=args.param_files or [],
        target=args.target, outdir=args.outdir, cell_timeout=args.cell_timeout,
    )
    return result.exit_code


def _overnight(args: argparse.Namespace) -> int:
    from . import runner

    result = runner.run_plan(args.plan, outdir=args.outdir, target=args.target)
    return result.exit_code


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import nights

    reports_dir = Path(args.reports_dir)
    if not reports_dir.is_dir():
        raise ParameterError("REPORTS_DIR", args.reports_dir, "an existing folder of nights (<date>/overnight-*/ inside it)")
    history = nights.DEFAULT_HISTORY if args.nights is None else args.nights
    if history < 0:
        raise ParameterError("--nights", history, "0 or more earlier nights")
    found = nights.rebuild(reports_dir, history=history)
    for night in found:
        if night.incomplete:
            print(f"incomplete: {night.folder}: {night.incomplete}")
    print(f"Rebuilt {len(found)} night page{'s' if len(found) != 1 else ''}; every night: "
          f"{(reports_dir / nights.INDEX).resolve()}")
    return ExitCode.OK


def _lab(args: argparse.Namespace) -> int:
    from . import runner

    return runner.open_lab(port=args.port, no_browser=args.no_browser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="create, inspect, reset or stop the embedded sandbox")
    sb.add_argument("action", choices=["init", "status", "reset", "stop"])
    sb.add_argument("--home", default=None, help="sandbox folder (default: $RUNBOOK_HOME or ./.runbook)")
    sb.add_argument("--scale", type=float, default=1.0, help="sample data size; 1.0 is about two weeks of games")
    sb.add_argument("--force", action="store_true", help="rebuild even if the sandbox is already initialised")
    sb.add_argument("--no-services", action="store_true", help="do not start the loopback phase services")
    sb.set_defaults(func=_sandbox)

    run = sub.add_parser("run", help="execute one runbook notebook headlessly")
    run.add_argument("notebook")
    run.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"))
    run.add_argument("-f", "--parameters-file", dest="param_files", action="append", metavar="PARAMS.yaml")
    run.add_argument("--target", choices=TARGETS, default=None)
    run.add_argument("-o", "--outdir", default=None, help="report folder (default: reports/)")
    run.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                     help="stop a cell that runs longer than this (default: no limit)")
    run.set_defaults(func=_run)

    ov = sub.add_parser("overnight", help="run a plan of runbooks and write the morning-review index.html")
    ov.add_argument("plan")
    ov.add_argument("--target", choices=TARGETS, default=None)
    ov.add_argument("-o", "--outdir", default=None)
    ov.set_defaults(func=_overnight)

    rp = sub.add_parser("report", help="rebuild the morning-review pages (REPORTS_DIR/index.html and each night's "
                                       "index.html) from the nights on disk")
    rp.add_argument("reports_dir", nargs="?", default="reports", metavar="REPORTS_DIR",
                    help="the folder `runbook overnight` writes to (default: reports)")
    rp.add_argument("--nights", type=int, default=None, metavar="N",
                    help="earlier nights shown beside each step of a night's page (default: 7)")
    rp.set_defaults(func=_report)

    lab = sub.add_parser("lab", help="open JupyterLab on notebooks/ with this environment's kernel")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--no-browser", action="store_true")
    lab.set_defaults(func=_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ParameterError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except RunbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
