"""The `runbook` command: headless runbooks, overnight plans and the embedded sandbox."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from typing import Any, Callable, Sequence, TextIO

from .errors import ConfigError, CredentialsMissing, ParameterError, RunbookError
from .masking import mask_text
from .exit_codes import ExitCode
from .phases import PROJECT_ROOT
from .target import TARGETS

# The names tests use; everything else says ExitCode.
EXIT_OK, EXIT_BAD_INPUT = ExitCode.OK, ExitCode.BAD_INPUT

EXIT_CODES = """\
exit codes:
  0    every verdict pass or warn
  1    an error: a cell raised, the kernel died, a cell outlived its timeout, the kit itself failed
  2    bad input, refused before anything ran: a parameter, a plan, a file or folder given
  3    a verdict fail or blocked: the runbook ran and found a problem
  129  terminated by SIGHUP (the terminal or ssh session closed); recorded the same way
  130  interrupted by Ctrl-C (the run, or the night's index, is recorded first)
  143  terminated by SIGTERM (`timeout`, `docker stop`, a job's deadline); recorded the same way"""

# Each command lists the codes it can exit with, and no other.
SANDBOX_EXIT_CODES = """\
exit codes:
  0    done; for status: an initialised sandbox in working order
  1    an error; for status: a damaged sandbox, or a folder where none is initialised yet
  2    bad input, refused before anything changed: --home, --scale (init: a scale other than the sandbox's own),
       --principal
  129  terminated by SIGHUP (the terminal or ssh session closed)
  130  interrupted by Ctrl-C
  143  terminated by SIGTERM (`timeout`, `docker stop`)"""

DEMO_EXIT_CODES = """\
exit codes:
  0    the night ran: its verdicts found the incident (fail or blocked), or everything passed
  1    an error: a step errored or had bad parameters, the sandbox could not be reset, the kit itself failed
  2    bad input, refused before anything ran: --scale, $RUNBOOK_DEMO_SCALE, -o
  129  terminated by SIGHUP; the night is recorded first
  130  interrupted by Ctrl-C; the night is recorded first
  143  terminated by SIGTERM (`timeout`, `docker stop`); the night is recorded first"""

# A sandbox command named in a hint, unless the hint names its --home already.
_SANDBOX_HINT = re.compile(r"`runbook sandbox (?:init|status|reset|stop)\b(?![^`]*--home)")

HOME_HELP = (f"sandbox folder (default: $RUNBOOK_HOME if set, else {PROJECT_ROOT / '.runbook'}, the kit's own "
             "folder, wherever the command runs from)")

RUN_EPILOG = f"""\
Parameters: -f files are read in order, then -p pairs, then --target. A name the notebook's parameters
cell does not declare is refused before anything runs; values are checked by its validation cell.
-p values are typed as the notebook declares them (text stays text: -p commit 0123456); a file's
values are typed the same way (phase: 4 is "4"). Parameter files are UTF-8 YAML mappings of at most
1 MiB, without anchors, aliases or a key written twice. Prefer files for secrets: a -p value shows in
the process list.

{EXIT_CODES}"""

PLAN_FORMAT = f"""\
plan format (YAML, UTF-8, at most 1 MiB, no anchors, aliases or key written twice):
  title: Overnight runbooks            # shown on the morning-review index
  target: local                        # local (the sandbox) or gcp; --target overrides it
  parameters: {{sandbox_home: null}}     # given to every step; each notebook must declare them
  cell_timeout_seconds: 900            # optional: one cell's limit for every step
  steps:
    - id: diagnose-phase4              # lowercase letters, digits, - and _; unique
      notebook: notebooks/01_diagnose_build.ipynb   # relative to the plan, then here, then the kit
      parameters: {{phase: phase4}}      # this step's own values (win over the plan's)
      depends_on: [overview]           # run only if these earlier steps ended pass or warn
      cell_timeout_seconds: 1800       # optional: this step's limit (wins over the plan's)

A path (a parameter named *_dir, *_file, *_home or *_path) may name environment variables as ${{NAME}},
e.g. source_dir: ${{PIPELINE_CHECKOUT}}; an unset one is refused before the night starts.

Everything is checked before the night starts: keys, step ids, notebooks, every step's parameter
names, the values of the kit's runbooks, and credentials for target gcp. Each step writes its run
folder; index.html and summary.json are written beside them, also after Ctrl-C, SIGTERM or SIGHUP.

{EXIT_CODES}"""


def _not_blank(value: str | None, option: str, allowed: str) -> str | None:
    """An option given empty (`--home "$UNSET"`) is a mistake, not a request for its default."""
    if value is not None and not value.strip():
        raise ParameterError(option, value, allowed)
    return value


def sandbox_hints(home: str | None) -> Callable[[str], str]:
    """What makes the `runbook sandbox ...` commands a text names act on the sandbox at `home` (None: the
    default one): each given `--home FOLDER` unless that is the kit's own .runbook, so that a hint followed
    as printed, in any shell, never acts on (or resets) another sandbox."""
    from .local.home import sandbox_home

    try:
        root = sandbox_home(home).root
    except (OSError, ValueError):
        return str
    if root == (PROJECT_ROOT / ".runbook").resolve():
        return str
    option = f" --home {shlex.quote(str(root))}"
    return lambda text: _SANDBOX_HINT.sub(lambda found: found.group(0) + option, str(text))


def _sandbox(args: argparse.Namespace) -> int:
    from .local import sandbox

    home = _not_blank(args.home, "--home", "give the sandbox folder, or leave --home out for $RUNBOOK_HOME, else "
                                           "the kit's .runbook")
    if args.principal is not None and args.action != "token":
        raise ParameterError("--principal", args.principal, "give it with `runbook sandbox token` only")
    if args.action == "token":
        return _sandbox_token(home, args.principal)
    if args.action == "init":
        status = sandbox.init_sandbox(home=home, scale=args.scale, force=args.force, start_services=not args.no_services)
    elif args.action == "status":
        status = sandbox.sandbox_status(home=home)
    elif args.action == "reset":
        status = sandbox.reset_sandbox(home=home, scale=sandbox_scale(args.scale))
    else:
        sandbox.stop_sandbox(home=home)
        print("Stopped every process the sandbox had started.")
        return ExitCode.OK
    print(sandbox_hints(home)(status.to_text()))
    # A folder that holds no sandbox is not one in working order: a script must tell the two apart.
    return ExitCode.ERROR if status.problem or not status.initialised else ExitCode.OK


def _sandbox_token(home: str | None, principal: str | None) -> int:
    """Print an identity token the sandbox's services take (local/service_iam.py identity_token), as `gcloud auth
    print-identity-token` prints Google's: `curl -H "Authorization: Bearer $(runbook sandbox token)" ...`."""
    from .local.home import sandbox_home
    from .local.services import LocalServices
    from .phases import load_phases

    box = sandbox_home(home)
    print(LocalServices(box, load_phases(), box.warehouse).identity_token(principal))
    return ExitCode.OK


def sandbox_scale(given: float | None) -> float:
    """--scale, else the size a new sandbox gets."""
    return 1.0 if given is None else given


def _run(args: argparse.Namespace) -> int:
    from . import runner

    if args.help_params:
        print(runner.describe_parameters(args.notebook))
        return ExitCode.OK
    from .runner.run import check_cell_timeout

    check_cell_timeout(args.cell_timeout, "--cell-timeout")
    result = runner.run_notebook(
        args.notebook, parameters=args.parameters or [], param_files=args.param_files or [],
        target=args.target, outdir=args.outdir, cell_timeout=args.cell_timeout,
    )
    return result.exit_code


def _overnight(args: argparse.Namespace) -> int:
    from . import runner

    from .publish import Publisher

    # A bad URL (an empty one too) stops here, before the night.
    publisher = Publisher.to(args.publish) if args.publish is not None else None
    result = runner.run_plan(args.plan, outdir=args.outdir, target=args.target, publisher=publisher)
    return result.exit_code


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(scale=args.scale, outdir=args.outdir)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import nights

    reports_dir = Path(_not_blank(args.reports_dir, "REPORTS_DIR", "the folder of nights, or leave it out for reports"))
    if not reports_dir.is_dir():
        raise ParameterError("REPORTS_DIR", args.reports_dir, "an existing folder of nights (<date>/overnight-*/ inside it)")
    above = nights.reports_folder_of(reports_dir)
    if above is not None:   # its own page would be overwritten by a list of the nights under it: none
        raise ParameterError("REPORTS_DIR", args.reports_dir, f"the folder of nights, not a night or a date inside it: "
                             f"runbook report {above}")
    history = nights.DEFAULT_HISTORY if args.nights is None else args.nights
    if history < 0:
        raise ParameterError("--nights", history, "0 or more earlier nights")
    rebuilt = nights.rebuild(reports_dir, history=history)
    for night in rebuilt.nights:
        if night.incomplete:
            print(f"incomplete: {night.folder}: {night.incomplete}")
    print(f"{rebuilt.summary}; every night and single run: {(reports_dir / nights.INDEX).resolve()}")
    return ExitCode.OK


def _lab(args: argparse.Namespace) -> int:
    from . import runner

    return runner.open_lab(port=args.port, no_browser=args.no_browser)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("phase-runbooks")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="runbook", formatter_class=raw, epilog=EXIT_CODES,
        description="Runbooks for a phased data pipeline on Google Cloud, and their embedded sandbox.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sb = sub.add_parser("sandbox", help="create, inspect, reset or stop the embedded sandbox", formatter_class=raw,
                        description="The embedded sandbox (target local): a DuckDB warehouse, a Cloud Build "
                                    "emulation and the phase services on 127.0.0.1.", epilog=SANDBOX_EXIT_CODES)
    sb.add_argument("action", choices=["init", "status", "reset", "stop", "token"],
                    help="init: build it if missing (idempotent; repairs a missing warehouse); status: what it "
                         "holds; reset: rebuild from scratch (refused while runs use it); stop: stop its services; "
                         "token: print an identity token its services take (curl -H \"Authorization: Bearer "
                         "$(runbook sandbox token)\" ...)")
    sb.add_argument("--home", default=None, help=HOME_HELP)
    sb.add_argument("--scale", type=float, default=None,
                    help="sample data size for init and reset, above 0 and at most 10 (default 1.0, about two weeks "
                         "of games); init refuses a scale other than an existing sandbox's: reset rebuilds it")
    sb.add_argument("--force", action="store_true", help="init: rebuild even if the sandbox is already initialised")
    sb.add_argument("--no-services", action="store_true", help="init: do not start the loopback phase services")
    sb.add_argument("--principal", default=None, metavar="P",
                    help="token: whose token, user:EMAIL or serviceAccount:EMAIL (default: the sandbox's operator, "
                         "user:operator@sandbox.local)")
    sb.set_defaults(func=_sandbox)

    run = sub.add_parser("run", help="execute one runbook notebook headlessly", formatter_class=raw,
                         description="Execute one runbook notebook with papermill into "
                                     "<outdir>/<date>/<time>-<notebook>/ (its notebook, HTML page and charts; "
                                     "secrets masked) and print its verdict.", epilog=RUN_EPILOG)
    run.add_argument("notebook", help="the runbook, e.g. notebooks/01_diagnose_build.ipynb")
    run.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set one parameter (repeatable); see --help-params for the notebook's names")
    run.add_argument("-f", "--parameters-file", dest="param_files", action="append", metavar="PARAMS.yaml",
                     help="read parameters from a YAML mapping (repeatable; later files and -p win)")
    run.add_argument("--target", choices=TARGETS, default=None,
                     help="local (the embedded sandbox) or gcp (a real project); default: the notebook's own")
    run.add_argument("-o", "--outdir", default=None, metavar="FOLDER",
                     help="report folder (default: reports/ under the current folder)")
    run.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                     help="stop a cell that runs longer than this, 0 for no limit (default: the notebook's own "
                          "limit, metadata runbook_settings.cell_timeout_seconds, else 1800)")
    run.add_argument("--help-params", action="store_true",
                     help="list the notebook's parameters with their types, defaults and help, then exit")
    run.set_defaults(func=_run)

    ov = sub.add_parser("overnight", help="run a plan of runbooks and write the morning-review index.html",
                        formatter_class=raw, epilog=PLAN_FORMAT,
                        description="Run a plan of runbooks in order and write the morning-review index.html "
                                    "and summary.json into <outdir>/<date>/overnight-<time>/.")
    ov.add_argument("plan", help="the plan, e.g. params/overnight-sandbox.yaml (format below)")
    ov.add_argument("--target", choices=TARGETS, default=None, help="override the plan's target")
    ov.add_argument("-o", "--outdir", default=None, metavar="FOLDER",
                    help="report folder (default: reports/ under the current folder)")
    ov.add_argument("--publish", default=None, metavar="gs://BUCKET/PREFIX",
                    help="also publish the night to Cloud Storage: the earlier nights' summaries are read from "
                         "there first (so a fresh container still compares with them), then the night's folder and "
                         "the reports index are uploaded, in the reports folder's layout (relative links work)")
    ov.set_defaults(func=_overnight)

    demo = sub.add_parser("demo", help="reset the sandbox, run its overnight plan, stop its services (`make demo`, "
                                       "the Docker image's default)", formatter_class=raw,
                          description="Reset the sandbox ($RUNBOOK_HOME, else the kit's .runbook) to the incident "
                                      "morning, run params/overnight-sandbox.yaml (it finds the incident, then fixes "
                                      "it in the sandbox), stop the services the night started and print the report's "
                                      "path. Exits 0 when the runbooks ran and only their verdicts found problems "
                                      "(the incident), 1 on an error.", epilog=DEMO_EXIT_CODES)
    demo.add_argument("--scale", type=float, default=None,
                      help="sample data size, above 0 and at most 10 (default: $RUNBOOK_DEMO_SCALE, else 1.0, "
                           "about two weeks of games)")
    demo.add_argument("-o", "--outdir", default=None, metavar="FOLDER",
                      help="report folder (default: reports/ under the current folder)")
    demo.set_defaults(func=_demo)

    rp = sub.add_parser("report", help="rebuild the morning-review pages (REPORTS_DIR/index.html and each night's "
                                       "index.html) from the nights on disk",
                        description="Rebuild REPORTS_DIR/index.html (every night, then the latest single runs) and "
                                    "each night's index.html from what is on disk: after nights were copied in, "
                                    "deleted or cut short. Exits 0, or 2 for a REPORTS_DIR that is not a folder.")
    rp.add_argument("reports_dir", nargs="?", default="reports", metavar="REPORTS_DIR",
                    help="the folder `runbook overnight` writes to (default: reports)")
    rp.add_argument("--nights", type=int, default=None, metavar="N",
                    help="earlier nights shown beside each step of a night's page (default: 7)")
    rp.set_defaults(func=_report)

    lab = sub.add_parser("lab", help="open JupyterLab on notebooks/ with this environment's kernel",
                         description="Open JupyterLab on the kit's notebooks/ with this environment's kernel "
                                     "(phase-runbooks), on 127.0.0.1.")
    lab.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default: 8888)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.set_defaults(func=_lab)
    return parser


class _PipeSafe:
    """stdout that goes quiet when its reader goes away (`runbook sandbox status | head -1`): the
    command carries on, records what it runs and exits with its own code, instead of a traceback."""

    def __init__(self, stream: TextIO, reader_gone: bool = False):
        self._stream = stream
        self.reader_gone = reader_gone

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._quiet()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._quiet()

    def _quiet(self) -> None:
        self.reader_gone = True
        try:   # Python flushes stdout once more at exit: let that go to /dev/null, not to the closed pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _null_for_closed_streams() -> bool:
    """A command started with stdout or stderr closed (`runbook overnight ... >&-`, as some schedulers and daemons
    start it; Python then leaves sys.stdout or sys.stderr None) writes them to /dev/null, as if their reader were
    gone from the start; True when stdout was closed. Fds 1 and 2 are given /dev/null first, before any file is
    opened: a file the command opens later would take a closed one's number, and a child (a kernel) would start
    with it closed, or write into that file."""
    closed = {1: sys.stdout is None, 2: sys.stderr is None}
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
                os.set_inheritable(fd, True)   # (os.open's fds are not): a child's streams must be open
            except OSError:
                pass
    if closed[1]:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if closed[2]:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    return closed[1]


def main(argv: list[str] | None = None) -> int:
    from .runner.outcome import stopped_text
    from .runner.signals import sigterm_as_exception, signal_of

    closed = _null_for_closed_streams()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    _refuse_unknown_leading_options(parser, argv)
    args = parser.parse_args(argv)
    # Hints in a sandbox command's errors name the sandbox it was given, as its status does.
    hinted = sandbox_hints(args.home if args.home and args.home.strip() else None) if args.command == "sandbox" else str
    stdout, sys.stdout = sys.stdout, _PipeSafe(sys.stdout, reader_gone=closed)   # type: ignore[assignment]
    try:
        with sigterm_as_exception():
            return args.func(args)
    except (ParameterError, ConfigError, CredentialsMissing) as exc:
        _say(hinted(exc))
        return ExitCode.BAD_INPUT
    except RunbookError as exc:
        _say(hinted(exc))
        return ExitCode.ERROR
    except KeyboardInterrupt as exc:   # Ctrl-C, or Terminated: SIGTERM or SIGHUP
        signum = signal_of(exc)
        _say(stopped_text(signum), prefix="")
        return ExitCode.for_signal(signum)
    except OSError as exc:
        # A file or folder the operating system refused that no check caught: one sentence, no traceback.
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        _say(f"the operating system refused{where}: {exc.strerror or exc}")
        return ExitCode.ERROR
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


def _refuse_unknown_leading_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """An option before the command that `runbook` does not take (`runbook --bogus`): argparse would only say
    that a COMMAND is required."""
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    known = ("-h", "--help", "--version")
    for arg in argv[:command]:
        if arg == "--":
            return
        name = arg.split("=", 1)[0]
        if not (name in known or (name.startswith("--") and len(name) > 2
                                  and any(k.startswith(name) for k in known if k.startswith("--")))):
            parser.error(f"option {arg} is not recognised: before the command, runbook takes only "
                         f"--help and --version (each command's own options follow it: runbook COMMAND --help)")


def _say(message: object, prefix: str = "error: ") -> None:
    # stderr is a job's log (Cloud Logging for a scheduled night): a refusal may quote a value with a password
    try:
        print(f"{prefix}{mask_text(str(message))}", file=sys.stderr)
    except (BrokenPipeError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
