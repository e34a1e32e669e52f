"""One loopback phase service: a small WSGI app behind the sandbox's stand-in for Cloud Run.

    python -m runbook_lib.local.service_app --phase phase3 --port 0 --home H --warehouse W \
        --revision REV --commit SHA --supports-prefix 0|1 [--service-phase phase3] [--phases-file F] \
        [--lock-retry-seconds S]

--phase names whose code runs (its endpoints and /health identity); --service-phase names the
Cloud Run service it is deployed as (default: the same). In front of every path sits the
Cloud Run IAM check, then the app; every request becomes one request-log line. Once listening,
the process records {pid, port, url, revision, ...} in <home>/run/<service-phase>.json.

A warehouse file that another process keeps locked is a transient condition, not a failure: the
service answers 503 with a Retry-After header, and the body says what the run had committed.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import ParameterError, WarehouseBusy
from ..phases import Phase, PhaseRegistry, load_phases
from .home import sandbox_home
from .logs import append_request_logs, request_entry, request_log_path
from .identity import authorize, inherited_policies
from .processes import STARTED_BY_ENV, run_file, write_run_file
from .source_repo import CORRECTIONS_ROLE, contains, open_source_repo
from .state import read_state

MAX_BODY_BYTES = 1_000_000
RETRY_AFTER_SECONDS = 5  # what a 503 for a locked warehouse asks the caller to wait
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Field -> type for each endpoint's JSON body; the first ones listed are required.
PHASE3_FIELDS = {"start_date": str, "end_date": str, "processors": list, "backfill_mode": bool, "dataset_prefix": str}
PHASE3_REQUIRED = ("start_date", "end_date")
PHASE4_FIELDS = {"analysis_date": str, "processors": list, "backfill_mode": bool, "strict_mode": bool,
                 "skip_dependency_check": bool, "dataset_prefix": str}
PHASE4_REQUIRED = ("analysis_date",)

_FORBIDDEN_PAGE = ("<html><head><meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
                   "<title>403 Forbidden</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
                   "<h1>Error: Forbidden</h1>\n<h2>Your client does not have permission to get URL "
                   "<code>{path}</code> from this server.</h2>\n<h2></h2>\n</body></html>\n")
_UNAUTHORIZED_PAGE = ("<html><head><meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
                      "<title>401 Unauthorized</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
                      "<h1>Error: Unauthorized</h1>\n<h2>Your client does not have permission to the "
                      "requested URL <code>{path}</code>.</h2>\n<h2></h2>\n</body></html>\n")


# One processing request at a time per service process. The warehouse already takes turns per
# operation inside a process; holding the turn for a whole run keeps two runs of one service from
# interleaving their MERGEs and run-history rows. Across processes the DuckDB file lock (retried
# by LocalWarehouse) serialises writers. /health never waits for it.
_WAREHOUSE_TURN = threading.Lock()


class BadRequest(Exception):
    """The payload is wrong; the message is the one-sentence 400 answer."""


@dataclass(frozen=True)
class ServiceConfig:
    phases: PhaseRegistry
    code: Phase           # whose code runs
    deployed_as: Phase    # which Cloud Run service this is
    home_root: Path
    warehouse: Path
    revision: str
    commit: str
    supports_prefix: bool
    lock_retry_seconds: float | None = None  # how long to wait for a locked warehouse; None: its default
    corrected: bool = True   # the commit contains the head commit's corrected computations (corrections.py)


# ---------------------------------------------------------------- payload checks


def _check_fields(body: dict, fields: dict, required: tuple[str, ...], path: str) -> None:
    for key in body:
        if key not in fields:
            raise BadRequest(f"Unknown field '{key}': {path} accepts {', '.join(fields)}.")
    for key in required:
        if key not in body:
            raise BadRequest(f"Missing required field '{key}' for {path}.")
    for key, kind in fields.items():
        if key not in body or body[key] is None and key == "processors":
            continue
        value = body[key]
        if kind is bool and not isinstance(value, bool):
            raise BadRequest(f"Field '{key}' must be true or false, got {json.dumps(value)}.")
        if kind is str and not isinstance(value, str):
            raise BadRequest(f"Field '{key}' must be a string, got {json.dumps(value)}.")
        if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise BadRequest(f"Field '{key}' must be a list of processor names, got {json.dumps(value)}.")


def _iso_date(body: dict, key: str) -> date:
    text = body[key]
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"Field '{key}' must be a date written YYYY-MM-DD, got {json.dumps(text)}.") from None


# ---------------------------------------------------------------- the app


class PhaseApp:
    def __init__(self, config: ServiceConfig):
        self.config = config
        self.home = sandbox_home(config.home_root)
        self.log_path = request_log_path(self.home)
        self._state_cache: tuple[tuple[int, int], dict] | None = None
        self._state_lock = threading.Lock()

    # ---- Cloud Run's part: IAM, request logs

    def _state(self) -> dict:
        """The state file, re-read only when it changed (IAM changes apply at once)."""
        path = self.home.state_file
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._state_lock:
            if self._state_cache is None or self._state_cache[0] != stamp:
                self._state_cache = (stamp, read_state(self.home))
            return self._state_cache[1]

    def __call__(self, environ, start_response):
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        state = self._state()
        record = state.get("services", {}).get(self.config.deployed_as.name, {})
        status, _principal = authorize(record.get("iam_policy", {}), state.get("token_key", ""),
                                       environ.get("HTTP_AUTHORIZATION"), bool(record.get("invoker_iam_disabled")),
                                       inherited=inherited_policies(state))
        if status == 403:
            code, body, ctype = 403, _FORBIDDEN_PAGE.format(path=path).encode(), "text/html; charset=UTF-8"
        elif status == 401:
            code, body, ctype = 401, _UNAUTHORIZED_PAGE.format(path=path).encode(), "text/html; charset=UTF-8"
        else:
            code, payload = self._route(method, path, environ)
            body, ctype = json.dumps(payload).encode(), "application/json"
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        if code == 503:
            headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
        start_response(f"{code} {_REASONS.get(code, 'Status')}", headers)
        try:
            self._log(environ, method, path, code, len(body), time.monotonic() - started)
        except OSError as exc:   # (a full disk): the answer still goes out, as Cloud Run's does when logging fails;
            # raised here it dropped the connection, and the caller read "connection dropped", not the disk's words
            print(f"request log not written: {exc}", file=sys.stderr, flush=True)
        return [body]

    def _log(self, environ, method: str, path: str, code: int, size: int, latency: float) -> None:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        remote_ip = forwarded.split(",")[0].strip() or environ.get("REMOTE_ADDR", "")
        query = environ.get("QUERY_STRING", "")
        url = f"http://{environ.get('HTTP_HOST', '127.0.0.1')}{path}{'?' + query if query else ''}"
        trace = None
        trace_header = environ.get("HTTP_X_CLOUD_TRACE_CONTEXT", "")
        if trace_header:
            trace = f"projects/{self.config.phases.project}/traces/{trace_header.split('/')[0]}"
        length = environ.get("CONTENT_LENGTH") or None
        entry = request_entry(
            project=self.config.phases.project, service=self.config.deployed_as.service,
            revision=self.config.revision, region=self.config.deployed_as.region, method=method, url=url,
            status=code, remote_ip=remote_ip, user_agent=environ.get("HTTP_USER_AGENT", ""),
            latency_s=latency, response_size=size, timestamp=datetime.now(timezone.utc),
            request_size=int(length) if length and length.isdigit() else None, trace=trace)
        append_request_logs(self.log_path, [entry])

    # ---- the phase's own app

    def _route(self, method: str, path: str, environ) -> tuple[int, dict]:
        code_phase = self.config.code
        routes = {"/health": "GET", code_phase.endpoint: "POST", "/process": "POST"}
        if path not in routes:
            return 404, {"error": f"Not found: {path}."}
        if method != routes[path]:
            return 405, {"error": f"Method {method} is not allowed on {path}; use {routes[path]}."}
        if path == "/health":
            return 200, {"status": "healthy", "service": code_phase.service_identity, "commit_sha": self.config.commit}
        try:
            body = self._json_body(environ)
            if path == "/process":
                body = self._pubsub_message(body)
            with _WAREHOUSE_TURN:
                result = self._process(body, path)
            # A processor that failed makes the request fail, as the real services answer 500.
            return (500 if result["status"] == "failed" else 200), result
        except BadRequest as exc:
            return 400, {"error": str(exc)}
        except ParameterError as exc:
            return 400, {"error": str(exc)}
        except WarehouseBusy as exc:
            # The lock is another process's, and passes: 503 + Retry-After, never a failed run.
            run = getattr(exc, "run", None)  # pipeline.RunBusy: the run as far as it got
            return 503, {"error": str(exc), **(self._answer(run) if run is not None else {})}
        except Exception as exc:  # the service answers 500 and stays up, as gunicorn would
            return 500, {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]}

    @staticmethod
    def _json_body(environ) -> dict:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest(f"The request body must be a JSON object of at most {MAX_BODY_BYTES} bytes.")
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("The request body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body

    def _pubsub_message(self, envelope: dict) -> dict:
        """A Pub/Sub push: {"message": {"data": base64(JSON)}, "subscription": ...} naming one game date."""
        message = envelope.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("data"), str):
            raise BadRequest("A Pub/Sub push body must hold message.data (base64 JSON).")
        try:
            data = json.loads(base64.b64decode(message["data"], validate=True))
        except (ValueError, binascii.Error):
            raise BadRequest("message.data must be base64-encoded JSON.") from None
        if not isinstance(data, dict) or not isinstance(data.get("game_date"), str):
            raise BadRequest("The Pub/Sub message must name a game_date.")
        prefix = data.get("dataset_prefix", "")
        if self.config.code.payload_style == "date_range":
            return {"start_date": data["game_date"], "end_date": data["game_date"], "dataset_prefix": prefix}
        return {"analysis_date": data["game_date"], "dataset_prefix": prefix}

    def _process(self, body: dict, path: str) -> dict:
        from .pipeline import CodeVersion, run_phase3, run_phase4
        from .warehouse import LocalWarehouse

        config = self.config
        code = CodeVersion(commit=config.commit, supports_prefix=config.supports_prefix, corrected=config.corrected)
        waiting = {} if config.lock_retry_seconds is None else {"lock_retry_seconds": config.lock_retry_seconds}
        # create=False: a deleted warehouse is an error to report, never a new empty one to fill.
        warehouse = LocalWarehouse(config.warehouse, project=config.phases.project, create=False, **waiting)
        # Code from before the prefix commit never reads dataset_prefix: it is passed on, and ignored.
        if config.code.payload_style == "date_range":
            _check_fields(body, PHASE3_FIELDS, PHASE3_REQUIRED, config.code.endpoint if path != "/process" else path)
            start, end = _iso_date(body, "start_date"), _iso_date(body, "end_date")
            if end < start:
                raise BadRequest(f"end_date {end} is before start_date {start}.")
            run = run_phase3(warehouse, start, end, processors=body.get("processors"),
                             backfill_mode=body.get("backfill_mode", False),
                             dataset_prefix=body.get("dataset_prefix", ""), code=code, phases=config.phases)
        else:
            _check_fields(body, PHASE4_FIELDS, PHASE4_REQUIRED, config.code.endpoint if path != "/process" else path)
            run = run_phase4(warehouse, _iso_date(body, "analysis_date"), processors=body.get("processors"),
                             backfill_mode=body.get("backfill_mode", False),
                             strict_mode=body.get("strict_mode", True),
                             skip_dependency_check=body.get("skip_dependency_check", False),
                             dataset_prefix=body.get("dataset_prefix", ""), code=code, phases=config.phases)
        return self._answer(run)

    def _answer(self, run) -> dict:
        result = run.to_dict()
        config = self.config
        return {"status": result["status"], "service": config.code.service_identity,
                "revision": config.revision, "commit_sha": config.commit, "run": result}


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable"}


# ---------------------------------------------------------------- the server process


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    last_request = time.monotonic()

    def process_request(self, request, client_address):
        self.last_request = time.monotonic()
        super().process_request(request, client_address)


IDLE_TIMEOUT_S = 1800.0


def _stop_when_idle(server: ThreadingWSGIServer, idle_seconds: float) -> None:
    """Like Cloud Run scaling to zero: a service nobody calls goes away by itself, so a sandbox
    process never lingers for days; the next request starts it again."""
    while True:
        time.sleep(min(idle_seconds / 4, 30.0))
        if time.monotonic() - server.last_request > idle_seconds:
            server.shutdown()
            return


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the request log is the log; keep stderr for errors
        pass


def make_app(config: ServiceConfig) -> PhaseApp:
    return PhaseApp(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="service_app", description=__doc__.splitlines()[0])
    parser.add_argument("--phase", required=True)
    parser.add_argument("--service-phase", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--home", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--supports-prefix", choices=["0", "1"], required=True)
    parser.add_argument("--phases-file", default=None)
    parser.add_argument("--run-name", default=None,
                        help="the run/ record to announce itself in (default: the service phase's own)")
    parser.add_argument("--lock-retry-seconds", type=float, default=None,
                        help="how long a request waits for a warehouse another process has locked (then 503)")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S,
                        help="seconds without a request before the service stops itself (0: never)")
    args = parser.parse_args(argv)

    phases = load_phases(args.phases_file)
    # The pipeline (DuckDB, Arrow, sqlglot: 0.6-0.8 s of CPU) is imported by the first processing request, not
    # before the service announces itself: most processes the sandbox starts (a deploy's, a candidate's, a
    # restart's) only ever answer /health, and a night starts dozens. The kit's own warehouse imports the same
    # DuckDB, Arrow and sqlglot, so a broken install shows there before any service is called.

    code = phases.get(args.phase)
    deployed_as = phases.get(args.service_phase or args.phase)
    home = sandbox_home(args.home)
    # What the code at this commit computes: the head commit's corrections, or production's older code.
    repo = open_source_repo(home.source, missing_ok=True)
    corrected = repo is not None and contains(repo, CORRECTIONS_ROLE, args.commit)
    config = ServiceConfig(phases=phases, code=code, deployed_as=deployed_as, home_root=home.root,
                           warehouse=Path(args.warehouse), revision=args.revision, commit=args.commit,
                           supports_prefix=args.supports_prefix == "1", lock_retry_seconds=args.lock_retry_seconds,
                           corrected=corrected)
    server = make_server("127.0.0.1", args.port, make_app(config),
                         server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    port = server.server_address[1]
    # A tag's process has a record of its own: were it to announce itself in the service's, a kernel killed while it
    # starts could not put the service's back, and the process serving the traffic would be recorded nowhere.
    record_path = write_run_file(home, args.run_name or deployed_as.name, {
        "pid": os.getpid(), "port": port, "url": f"http://127.0.0.1:{port}", "phase": deployed_as.name,
        "code_phase": code.name, "service": deployed_as.service, "revision": args.revision,
        "commit_sha": args.commit, "supports_prefix": config.supports_prefix, "home": str(home.root),
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "started_by": os.environ.get(STARTED_BY_ENV),
    })

    def _stop(signum, frame):
        # shutdown() waits for serve_forever to return, so it must run off the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.last_request = time.monotonic()
    if args.idle_timeout > 0:
        threading.Thread(target=_stop_when_idle, args=(server, args.idle_timeout), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        # a tag's process that got the traffic was moved to the service's record (candidates._adopt_tag_process)
        for path in {record_path, run_file(home, deployed_as.name)}:
            try:
                if json.loads(path.read_text()).get("pid") == os.getpid():
                    path.unlink()
            except (OSError, ValueError):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
