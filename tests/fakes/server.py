"""A threaded local HTTP fake of the Cloud Build v1 and Cloud Logging v2 REST APIs.

The real client libraries (transport="rest", AnonymousCredentials, api_endpoint="http://127.0.0.1:PORT")
talk to it. It answers like Google does where the kit depends on it:

- builds live in one location; `/v1/projects/P/builds/ID` (the legacy global path) and
  `/v1/projects/P/locations/global/builds/ID` only see builds whose location is `global`, so a
  regional source-deploy build is NOT_FOUND there, exactly the trap `gcloud builds log ID` falls into;
- errors use Google's JSON shape `{"error": {"code", "message", "status", "details"}}` with an ErrorInfo
  (reason, domain, metadata) where Google gives one (fakes/errors.py), and any request can be made to
  fail, once, a few times or always (`fault`): a transient 429 or 503, a disabled API, a missing role,
  a VPC Service Controls perimeter, expired credentials, or a connection reset without an answer
  (fakes/errors.py CONNECTION_RESET);
- the REST clients ask for enums as numbers (`$alt=json;enum-encoding=int`), and get them (fakes/enums.py);
- list calls (builds, log entries, revisions, subscriptions) honour pageSize/pageToken and OMIT
  nextPageToken on the last page (google-cloud-logging loops forever on `"nextPageToken": ""`);
- Cloud Logging's read quota can be set (`limit_reads`): entries.list answers 429 RATE_LIMIT_EXCEEDED past
  N calls in a window, as ReadRequestsPerMinutePerProject does (60 a minute by default), while a page token
  it gave stays good (Google's last 24 hours);
- Cloud Logging filters are evaluated (a small subset of the query language: AND, parenthesised OR,
  `=`, `!=`, `>=`, `<=`, `>`, `<`), so a wrong filter finds nothing instead of passing by accident;
- a Cloud Run service's own URL is `<endpoint>/svc/<service>`; Cloud Run's IAM check sits in front of
  every path there (no token -> 403 HTML page, a token the fake never issued -> 401 HTML page, an
  issued token whose member may not invoke -> 403), and every call is written to the request log
  (`entries`) as a `cloud_run_revision` LogEntry, as Cloud Run does; behind the check a service answers
  /health from `service_health`, or every path from its real app in `service_apps` (a sandbox's process);
- getIamPolicy answers a policy with conditional bindings in version 1, mangled, unless version 3 is
  asked for (`options.requestedPolicyVersion=3`), as IAM does;
- Pub/Sub's subscriptions list is served by fakes/pubsub.py;
- Resource Manager v3's projects.getIamPolicy (POST /v3/projects/P:getIamPolicy) answers `project_policies`,
  as requested (version 3 or mangled, as above); a project it does not hold is a 403, as Google answers
  ("Permission is denied if the policy or the resource do not exist"); v1 projects.getAncestry (POST
  /v1/projects/P:getAncestry) answers `project_ancestry` (the project, then its folders and organisation),
  and v3 folders/organizations getIamPolicy answer `ancestor_policies`, the same way;
- Cloud Run's IAM check honours grants on the service's project, folders and organisation too, as Google's does,
  of every role that carries run.routes.invoke, and evaluates IAM's expirable-access condition
  (`request.time < timestamp("T")`); a condition of any other form is refused as not granting.

Every request is recorded (method, path, query, JSON body) so tests can assert the exact paths.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from . import artifacts, enums, pubsub
from .errors import CONNECTION_RESET, Refusal, google_error, permission_denied, rate_limited
from .filters import as_time, matches_filter

DATA_DIR = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text())


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    """Requests whose path matches `path` (a regex, from the path's start; `$` to end it) and whose method is
    `method` (any when None) get `refusal` instead of an answer: after letting `skip` of them through,
    the next `times` of them, or every one (None)."""
    path: re.Pattern
    refusal: Refusal
    method: str | None = None
    times: int | None = None
    skip: int = 0

    def matches(self, request: "RecordedRequest") -> bool:
        return bool(self.path.match(request.path)) and self.method in (None, request.method)


@dataclass
class Reply:
    """A response that is not Google's JSON: Cloud Run's HTML error pages."""

    body: str
    content_type: str = "text/html; charset=UTF-8"


# Cloud Run's own pages for a request its IAM check refuses (the app never sees it).
FORBIDDEN_PAGE = ("<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
                  "<title>403 Forbidden</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
                  "<h1>Error: Forbidden</h1>\n<h2>Your client does not have permission to get URL "
                  "<code>{path}</code> from this server.</h2>\n<h2></h2>\n</body></html>\n")
UNAUTHORIZED_PAGE = ("<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
                     "<title>401 Unauthorized</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
                     "<h1>Error: Unauthorized</h1>\n<h2>Your client does not have permission to the requested "
                     "URL <code>{path}</code>.</h2>\n<h2></h2>\n</body></html>\n")
# What Cloud Run answers a request from outside the VPC to a service whose ingress keeps the internet out (the internet
# "cannot reach your service", cloud.google.com/run/docs/securing/ingress): Google's 404 page, before IAM is asked.
NOT_FOUND_PAGE = ("<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
                  "<title>404 Page not found</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
                  "<h1>Error: Page not found</h1>\n<h2>The requested URL was not found on this server.</h2>\n"
                  "<h2></h2>\n</body></html>\n")
# Every predefined role that carries run.routes.invoke, a full copy kept apart from the library's INVOKER_ROLES so
# the fake stays an oracle (Cloud Run's roles page, the IAM predefined roles reference; a test holds the two equal).
INVOKE_ROLES = frozenset({
    "roles/run.invoker", "roles/run.servicesInvoker", "roles/run.developer", "roles/run.admin", "roles/run.editor",
    "roles/run.sourceDeveloper", "roles/editor", "roles/owner",
    "roles/cloudfunctions.admin", "roles/cloudfunctions.developer", "roles/cloudfunctions.editor",
    "roles/firebase.admin", "roles/firebase.developAdmin", "roles/iam.dataScientist", "roles/iam.devOps",
    "roles/iam.mlEngineer",
    "roles/aiplatform.serviceAgent", "roles/ces.serviceAgent", "roles/cloudfunctions.serviceAgent",
    "roles/dialogflow.serviceAgent", "roles/firebaseapphosting.serviceAgent", "roles/firebasedataconnect.serviceAgent",
    "roles/integrations.serviceAgent", "roles/monitoring.notificationServiceAgent", "roles/run.serviceAgent",
    "roles/serverless.serviceAgent", "roles/spanner.serviceAgent", "roles/visionai.serviceAgent",
})
# IAM's expirable access, the one condition form the fake evaluates (CEL takes either quote).
_EXPIRES = re.compile(r"""\s*request\.time\s*<\s*timestamp\(\s*(?:"([^"]+)"|'([^']+)')\s*\)\s*""")


def condition_holds(condition: dict | None, now: datetime) -> bool:
    """Whether a binding's condition lets its members in at `now`, as IAM evaluates it: none always does;
    `request.time < timestamp("T")` while now is before T. Any other expression is refused as not granting:
    the fake cannot evaluate CEL, and a grant it cannot evaluate must not let a caller in by accident."""
    if not condition:
        return True
    found = _EXPIRES.fullmatch(condition.get("expression") or "")
    if not found:
        return False
    try:
        until = datetime.fromisoformat((found[1] or found[2]).replace("Z", "+00:00"))
    except ValueError:
        return False
    return now < (until if until.tzinfo else until.replace(tzinfo=timezone.utc))


def build_location(build: dict) -> str:
    """Location of a recorded build, from its resource name projects/P/locations/R/builds/ID."""
    match = re.fullmatch(r"projects/[^/]+/locations/([^/]+)/builds/[^/]+", build.get("name", ""))
    return match.group(1) if match else "global"


def policy_as_requested(policy: dict, requested_version: str | None) -> dict:
    """IAM's answer to getIamPolicy: asked for less than version 3, a policy with conditional bindings
    comes back as version 1 with those roles renamed ROLE_withcond_HASH and their conditions dropped."""
    if str(requested_version or "") == "3" or not any(b.get("condition") for b in policy.get("bindings", [])):
        return policy
    mangled = []
    for binding in policy.get("bindings", []):
        binding = dict(binding)
        condition = binding.pop("condition", None)
        if condition:
            digest = hashlib.sha256(json.dumps(condition, sort_keys=True).encode()).hexdigest()[:20]
            binding["role"] = f"{binding['role']}_withcond_{digest}"
        mangled.append(binding)
    return {**policy, "version": 1, "bindings": mangled}


# ---------------------------------------------------------------- the server

@dataclass
class ReadQuota:
    """A rate quota: `calls` requests per window of `window_s` seconds (FakeGoogleApis.limit_reads)."""
    calls: int
    window_s: float
    project_number: str
    started: float = float("-inf")
    used: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> bool:
        """Whether one more request is within the quota (and then counted)."""
        with self.lock:
            now = time.monotonic()
            if now - self.started >= self.window_s:
                self.started, self.used = now, 0
            if self.used >= self.calls:
                self.refused += 1
                return False
            self.used += 1
            return True


class HttpFake:
    """A threaded JSON HTTP server on 127.0.0.1 (a free port) that records every request.

    Subclasses answer in `_route(request) -> (status, payload)`: a dict is sent as JSON, a Reply as
    it is, None as an empty body (204-style)."""

    name = "fake-http"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self, port: int = 0):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                fake._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                fake._handle(self, "POST")

            def do_PUT(self):  # noqa: N802
                fake._handle(self, "PUT")

            def do_PATCH(self):  # noqa: N802
                fake._handle(self, "PATCH")

            def do_DELETE(self):  # noqa: N802
                fake._handle(self, "DELETE")

            def log_message(self, *args):  # keep pytest output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if method is None or r.method == method]

    # -- test controls
    def fault(self, path: str, refusal: Refusal, method: str | None = None, times: int | None = None,
              skip: int = 0) -> None:
        """Answer requests whose path matches the regex `path` (from its start) with `refusal` ((status, Google's
        error body): fakes/errors.py): after `skip` of them, the next `times`, or every one (None). The first
        matching fault wins."""
        with self._lock:
            self.faults.append(Fault(re.compile(path), refusal, method.upper() if method else None, times, skip))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, request: RecordedRequest) -> Refusal | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(request):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault.refusal
        return None

    # -- dispatch
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(method, path, query, body, {k.lower(): v for k, v in handler.headers.items()})
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is CONNECTION_RESET:
            _reset(handler)
            return
        code, payload = fault or self._route(request)
        if payload is None:
            data, content_type = b"", None
        elif isinstance(payload, Reply):
            data, content_type = payload.body.encode(), payload.content_type
        else:
            data, content_type = json.dumps(payload).encode(), "application/json; charset=UTF-8"
        handler.send_response(code)
        if content_type:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, request: RecordedRequest) -> tuple[int, Any]:
        raise NotImplementedError


def tag_url_of(service_uri: str, tag: str) -> str:
    """A tag's URL, https://TAG---<the service's host>; the fake's services live at <endpoint>/svc/<service>,
    so there the tag goes before the service's name."""
    base, _, service = service_uri.rpartition("/svc/")
    return f"{base}/svc/{tag}---{service}" if base else ""


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer and with a TCP RST (SO_LINGER 0), not an orderly FIN."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()   # the RST goes once the handler's files on the socket are closed too


class FakeGoogleApis(HttpFake):
    """Cloud Build v1 + Cloud Logging v2 (+ refusals for any path) on 127.0.0.1, a free port."""

    name = "fake-google-apis"

    def __init__(self, builds: list[dict] | None = None, entries: list[dict] | None = None):
        super().__init__()
        self.builds: list[dict] = list(builds or [])
        self.entries: list[dict] = list(entries or [])
        # Cloud Run v2: services by full name, revisions by service name, IAM policies by service name,
        # and what each service's own /health answers (served under /svc/<service>/ as its URL).
        self.run_services: dict[str, dict] = {}
        self.run_revisions: dict[str, list[dict]] = {}
        self.run_policies: dict[str, dict] = {}
        self.service_health: dict[str, dict] = {}
        # and what each tag's URL answers on /health: "TAG---<service>" -> the tagged revision's answer
        self.tag_health: dict[str, dict] = {}
        # Services whose app is real: short name -> callable(method, path, body) -> (code, JSON body), called
        # once Cloud Run's IAM check let the request in (fixtures.mirror_sandbox: the sandbox's own processes).
        self.service_apps: dict[str, Callable[[str, str, Any], tuple[int, Any]]] = {}
        self.pubsub_subscriptions: list[dict] = []   # Pub/Sub REST JSON; routes in fakes/pubsub.py
        self.project_policies: dict[str, dict] = {}  # project id -> its IAM policy (Resource Manager v3)
        # project id -> its folders and organisation, nearest first ("folders/N", "organizations/N"; Resource
        # Manager v1 getAncestry), and each one's IAM policy (v3 folders/organizations getIamPolicy)
        self.project_ancestry: dict[str, list[str]] = {}
        self.ancestor_policies: dict[str, dict] = {}
        # Artifact Registry: "projects/P/locations/L" -> repository ids there; routes in fakes/artifacts.py
        self.artifact_repositories: dict[str, list[str]] = {}
        # and "LOCATION-docker.pkg.dev/P/R/PACKAGE:TAG" -> the digest the tag points at now (artifacts.push_tag)
        self.artifact_tags: dict[str, str] = {}
        # ID tokens the fake's identity provider issued: token -> IAM member ("user:...", "serviceAccount:...").
        self.identity_tokens: dict[str, str] = {}
        # More APIs plug in here (tests/fakes/deploys.py): each takes a request and answers (code, payload),
        # or None when the path is not theirs.
        self.routes: list[Callable[[RecordedRequest], tuple[int, Any] | None]] = []
        self.max_page_size: int | None = None  # cap pages below the requested pageSize, as servers may
        self.read_quota: ReadQuota | None = None  # Cloud Logging's entries.list quota (limit_reads), none by default

    def limit_reads(self, calls: int, window_s: float = 60.0, project_number: str = "756957797294") -> None:
        """Cloud Logging's read quota: at most `calls` entries.list requests per window of `window_s` seconds
        (a window starts at the first request after the last one ended); past that, until the window ends,
        429 RESOURCE_EXHAUSTED with RATE_LIMIT_EXCEEDED on ReadRequestsPerMinutePerProject (fakes/errors.py),
        which is not counted. A fault still answers first."""
        with self._lock:
            self.read_quota = ReadQuota(calls, window_s, project_number)

    def refuse(self, path_prefix: str, code: int = 403, message: str | None = None) -> None:
        """Answer every request whose path starts with path_prefix with a plain Google error (no ErrorInfo)."""
        default = ("The caller does not have permission" if code == 403 else f"refused with {code}")
        self.fault(re.escape(path_prefix), (code, google_error(code, message or default)))

    def received_filters(self) -> list[str]:
        with self._lock:
            found = []
            for r in self.requests:
                if r.path == "/v2/entries:list" and isinstance(r.body, dict):
                    found.append(r.body.get("filter"))
                elif r.param("filter") is not None:
                    found.append(r.param("filter"))
            return found

    # -- dispatch
    def _route(self, request: RecordedRequest) -> tuple[int, Any]:
        code, payload = self._answer(request)
        if code == 200 and isinstance(payload, dict) and "enum-encoding=int" in (request.param("$alt") or ""):
            payload = enums.as_numbers(request.method, request.path, payload)
        return code, payload

    def _answer(self, request: RecordedRequest) -> tuple[int, Any]:
        for route in self.routes:
            answer = route(request)
            if answer is not None:
                return answer
        path = request.path
        if request.method == "GET":
            m = re.fullmatch(r"/v1/projects/([^/]+)/locations/([^/]+)/builds/([^/]+)", path)
            if m:
                return self._get_build(*m.groups())
            m = re.fullmatch(r"/v1/projects/([^/]+)/builds/([^/]+)", path)
            if m:
                return self._get_build(m.group(1), "global", m.group(2))
            m = re.fullmatch(r"/v1/projects/([^/]+)/locations/([^/]+)/builds", path)
            if m:
                return self._list_builds(m.group(1), m.group(2), request)
            m = re.fullmatch(r"/v1/projects/([^/]+)/builds", path)
            if m:
                return self._list_builds(m.group(1), "global", request)
            m = re.fullmatch(r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)(:getIamPolicy|/revisions)?", path)
            if m:
                return self._run(m.group(1), m.group(2), request)
        if request.method == "POST" and path == "/v2/entries:list":
            quota = self.read_quota
            if quota is not None and not quota.take():
                return rate_limited("logging.googleapis.com", quota.project_number,
                                    "logging.googleapis.com/read_requests", "ReadRequestsPerMinutePerProject",
                                    str(quota.calls))
            return self._list_entries(request.body or {})
        m = re.fullmatch(r"/v3/projects/([^/:]+):getIamPolicy", path)
        if m and request.method == "POST":
            return self._project_policy(m.group(1), request.body if isinstance(request.body, dict) else {})
        m = re.fullmatch(r"/v1/projects/([^/:]+):getAncestry", path)
        if m and request.method == "POST":
            return self._ancestry(m.group(1))
        m = re.fullmatch(r"/v3/((folders|organizations)/[0-9]+):getIamPolicy", path)
        if m and request.method == "POST":
            return self._ancestor_policy(m.group(1), request.body if isinstance(request.body, dict) else {})
        m = re.fullmatch(r"/svc/([^/]+)(/.*)", path)
        if m:
            return self._cloud_run_call(request, m.group(1), m.group(2))
        for other_api in (pubsub.route, artifacts.route):
            routed = other_api(self, request)
            if routed is not None:
                return routed
        return 404, google_error(404, f"fake has no route for {request.method} {path}")

    # -- Cloud Run v2
    def _run(self, name: str, suffix: str | None, request: RecordedRequest) -> tuple[int, dict]:
        if name not in self.run_services:
            return 404, google_error(404, f"Resource '{name.rsplit('/', 1)[-1]}' of kind 'SERVICE' in region "
                                          f"'{name.split('/')[3]}' in project '{name.split('/')[1]}' does not exist.")
        if suffix == ":getIamPolicy":
            return 200, policy_as_requested(self.run_policies.get(name, {"etag": "BwY="}),
                                            request.param("options.requestedPolicyVersion"))
        if suffix == "/revisions":
            return 200, self._page(self.run_revisions.get(name, []), "revisions", request.param("pageSize"),
                                   request.param("pageToken"), self.max_page_size)
        from .deploys import service_etag

        service_etag(self.run_services[name])
        return 200, self.run_services[name]

    def _run_service(self, short: str) -> dict | None:
        return next((s for name, s in self.run_services.items() if name.rsplit("/", 1)[-1] == short), None)

    def _cloud_run_check(self, service: dict | None, authorization: str | None) -> int:
        """Cloud Run's IAM check in front of the app: 200, 401 or 403. As on Google Cloud, a grant on the
        service's project, any of its folders or its organisation lets a member in as one on the service does."""
        policies = [self.run_policies.get(service["name"], {})] if service else []
        if service:
            project = service["name"].split("/")[1]
            policies += [self.project_policies.get(project, {})]
            policies += [self.ancestor_policies.get(a, {}) for a in self.project_ancestry.get(project, [])]
        now = datetime.now(timezone.utc)
        members = {m for policy in policies for b in policy.get("bindings", [])
                   if b.get("role") in INVOKE_ROLES and condition_holds(b.get("condition"), now)
                   for m in b.get("members", [])}
        if (service and service.get("invokerIamDisabled")) or "allUsers" in members:
            return 200
        if not authorization:
            return 403
        scheme, _, token = authorization.partition(" ")
        member = self.identity_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if member is None:
            return 401
        return 200 if ("allAuthenticatedUsers" in members or member in members) else 403

    def _cloud_run_call(self, request: RecordedRequest, short: str, path: str) -> tuple[int, Any]:
        host = short
        tag, _, short = short.rpartition("---")
        service = self._run_service(short)
        code = self._cloud_run_check(service, request.headers.get("authorization"))
        reply: Any
        # every call to the fake comes from this machine, never from inside a VPC
        if service is not None and service.get("ingress", "INGRESS_TRAFFIC_ALL") not in ("INGRESS_TRAFFIC_ALL",
                                                                                        "INGRESS_TRAFFIC_UNSPECIFIED"):
            code, reply = 404, Reply(NOT_FOUND_PAGE)
        elif code == 403:
            reply = Reply(FORBIDDEN_PAGE.format(path=path))
        elif code == 401:
            reply = Reply(UNAUTHORIZED_PAGE.format(path=path))
        elif tag:   # a tag's URL reaches the revision it names, whatever the service's own URL serves
            if path == "/health" and request.method == "GET" and host in self.tag_health:
                reply = self.tag_health[host]
            else:
                code, reply = 404, {"error": f"Not found: {path} on the tag {tag}'s URL."}
        elif short in self.service_apps:
            code, reply = self.service_apps[short](request.method, path, request.body)
        elif path == "/health" and request.method == "GET" and short in self.service_health:
            reply = self.service_health[short]
        else:
            code, reply = 404, {"error": f"Not found: {path}."}
        if service is not None:
            self._log_cloud_run_request(service, request, path, code, tag)
        return code, reply

    def _log_cloud_run_request(self, service: dict, request: RecordedRequest, path: str, code: int,
                               tag: str = "") -> None:
        name = service["name"]
        project, region, short = name.split("/")[1], name.split("/")[3], name.rsplit("/", 1)[-1]
        serving = [t for t in service.get("trafficStatuses", []) if (t.get("tag") == tag if tag else t.get("percent"))]
        revision = serving[0].get("revision") if serving else service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry = {
            "insertId": uuid.uuid4().hex[:16], "timestamp": now, "receiveTimestamp": now,
            "severity": "ERROR" if code >= 500 else "WARNING" if code >= 400 else "INFO",
            "logName": f"projects/{project}/logs/run.googleapis.com%2Frequests",
            "resource": {"type": "cloud_run_revision",
                         "labels": {"service_name": short, "revision_name": revision, "location": region,
                                    "project_id": project, "configuration_name": short}},
            "httpRequest": {"requestMethod": request.method, "requestUrl": service.get("uri", "") + path,
                            "status": code, "remoteIp": "127.0.0.1",
                            "userAgent": request.headers.get("user-agent", ""), "protocol": "HTTP/1.1"},
        }
        with self._lock:
            self.entries.append(entry)

    # -- Resource Manager v3
    def _project_policy(self, project: str, body: dict) -> tuple[int, dict]:
        if project not in self.project_policies:
            return permission_denied("resourcemanager.projects.getIamPolicy", f"projects/{project}",
                                     "cloudresourcemanager.googleapis.com")
        asked = (body.get("options") or {}).get("requestedPolicyVersion")
        return 200, policy_as_requested(self.project_policies[project], None if asked is None else str(asked))

    def _ancestry(self, project: str) -> tuple[int, dict]:
        """getAncestry: the project itself, then its folders and organisation, bottom to top; a project the fake
        does not hold is refused as Google refuses one that does not exist or may not be read."""
        if project not in self.project_ancestry:
            return permission_denied("resourcemanager.projects.get", f"projects/{project}",
                                     "cloudresourcemanager.googleapis.com")
        kinds = {"folders": "folder", "organizations": "organization"}
        chain = [{"resourceId": {"type": "project", "id": project}}]
        chain += [{"resourceId": {"type": kinds[a.split("/")[0]], "id": a.split("/")[1]}}
                  for a in self.project_ancestry[project]]
        return 200, {"ancestor": chain}

    def _ancestor_policy(self, resource: str, body: dict) -> tuple[int, dict]:
        if resource not in self.ancestor_policies:
            permission = ("resourcemanager.folders.getIamPolicy" if resource.startswith("folders/")
                          else "resourcemanager.organizations.getIamPolicy")
            return permission_denied(permission, resource, "cloudresourcemanager.googleapis.com")
        asked = (body.get("options") or {}).get("requestedPolicyVersion")
        return 200, policy_as_requested(self.ancestor_policies[resource], None if asked is None else str(asked))

    # -- Cloud Build
    def _project_matches(self, build: dict, project: str) -> bool:
        name_project = build.get("name", "").split("/")[1] if build.get("name") else None
        return project in (build.get("projectId"), name_project)

    def _get_build(self, project: str, location: str, build_id: str) -> tuple[int, dict]:
        for build in self.builds:
            if build["id"] == build_id and self._project_matches(build, project) and build_location(build) == location:
                return 200, build
        # Google's wording for a build looked up in the wrong location.
        return 404, google_error(404, "Requested entity was not found.")

    def _list_builds(self, project: str, location: str, request: RecordedRequest) -> tuple[int, dict]:
        try:
            found = [b for b in self.builds if self._project_matches(b, project)
                     and build_location(b) == location and matches_filter(b, request.param("filter"))]
        except ValueError as exc:
            return 400, google_error(400, str(exc))
        found.sort(key=lambda b: as_time(b["createTime"]), reverse=True)
        return 200, self._page(found, "builds", request.param("pageSize"), request.param("pageToken"),
                               self.max_page_size)

    # -- Cloud Logging
    def _list_entries(self, body: dict) -> tuple[int, dict]:
        projects = {name.split("/", 1)[1] for name in body.get("resourceNames", []) if name.startswith("projects/")}
        try:
            found = [e for e in self.entries
                     if e["logName"].split("/")[1] in projects and matches_filter(e, body.get("filter"))]
        except ValueError as exc:
            return 400, google_error(400, str(exc))
        descending = (body.get("orderBy") or "timestamp asc").strip().lower() == "timestamp desc"
        found.sort(key=lambda e: as_time(e["timestamp"]), reverse=descending)
        return 200, self._page(found, "entries", body.get("pageSize"), body.get("pageToken"), self.max_page_size)

    @staticmethod
    def _page(items: list[dict], key: str, page_size: Any, page_token: Any, cap: int | None) -> dict:
        start = int(page_token) if page_token else 0
        size = int(page_size) if page_size else 50
        if cap is not None:
            size = min(size, cap)
        page = items[start:start + size]
        result: dict[str, Any] = {key: page} if page else {}
        if start + size < len(items):  # nextPageToken only when more remain; never ""
            result["nextPageToken"] = str(start + size)
        return result
