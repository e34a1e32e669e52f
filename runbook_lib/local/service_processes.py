"""The process face of the sandbox's Cloud Run: a service's process started on its serving revision (Cloud Run
scales from zero), stopped, and called over HTTP. A mixin of LocalServices (services.py), which gives it home,
phases, warehouse_path, _started, _record, _serving, describe and list, and of SandboxTags (candidates.py), which
gives it the processes of tagged revisions.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..deadlines import AnswerDeadline
from ..errors import ParameterError, RunbookError, ServiceTimeout
from ..phases import PROJECT_ROOT
from ..services import MAX_BODY_BYTES, ConnectionDropped, ServiceInfo, ServiceResponse, check_tag, lower_headers, \
    response_body
from .processes import (_CHILDREN, APP_MODULE, accepts, log_tail, process_lock, read_run_file, run_file,
                        stop_recorded_processes, terminate)
from .state import other_users

START_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 300.0


class SandboxProcesses:
    """The process methods of the Services protocol on the sandbox (see LocalServices)."""

    def ensure_running(self, phase: str | None = None) -> list[ServiceInfo]:
        """Start the service process(es) on their serving revision unless already running on it."""
        names = [self.phases.get(phase).name] if phase else [i.phase for i in self.list()]
        for name in names:
            self._ensure_one(name)
        return [self.describe(n) for n in names]

    def _ensure_one(self, name: str, timeout_s: float = START_TIMEOUT_S) -> dict:
        with process_lock(self.home, name):
            _, record = self._record(name)
            revision = self._serving(record)
            live = read_run_file(self.home, name)
            if live and live.get("revision") == revision["name"]:
                return live
            adopted = self._adopt_tag_process(name, revision["name"])
            if live:
                terminate(live["pid"], self.home.root)
                if adopted is None:
                    run_file(self.home, name).unlink(missing_ok=True)
            return adopted or self._spawn(name, revision, timeout_s=timeout_s)

    def _spawn(self, name: str, revision: dict, timeout_s: float = START_TIMEOUT_S, run_name: str = "") -> dict:
        """`run_name`: the run/ record the process announces itself in (default the service's own, `name`)."""
        Path(self.home.logs).mkdir(parents=True, exist_ok=True)
        run_name = run_name or name
        args = [sys.executable, "-m", APP_MODULE, "--phase", revision.get("code_phase", name),
                "--service-phase", name, "--port", "0", "--home", str(self.home.root),
                "--warehouse", str(self.warehouse_path), "--revision", revision["name"],
                "--commit", revision["commit_sha"], "--supports-prefix", "1" if revision["supports_prefix"] else "0",
                "--run-name", run_name]
        if self.phases.source and Path(self.phases.source).is_file():
            args += ["--phases-file", str(Path(self.phases.source).resolve())]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        with open(Path(self.home.logs) / f"{name}-service.log", "ab") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=str(self.home.root), env=env, start_new_session=True)
        _CHILDREN[proc.pid] = proc
        self._started.add(proc.pid)
        deadline = time.monotonic() + min(timeout_s, START_TIMEOUT_S)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                _CHILDREN.pop(proc.pid, None)
                raise RunbookError(f"The {name} service process exited with code {proc.returncode} while starting: "
                                   f"{log_tail(self.home, name)}")
            try:
                record = json.loads(run_file(self.home, run_name).read_text())
            except (FileNotFoundError, ValueError):
                record = None
            if record and record.get("pid") == proc.pid and accepts(record["port"]):
                return record
            time.sleep(0.03)
        terminate(proc.pid, self.home.root)
        raise RunbookError(f"The {name} service did not start within {min(timeout_s, START_TIMEOUT_S):.0f}s: "
                           f"{log_tail(self.home, name)}")

    def stop(self, phase: str | None = None) -> list[str]:
        """Stop the service process(es); returns the phases that had one running."""
        if phase is None:
            return stop_recorded_processes(self.home)
        name = self.phases.get(phase).name
        with process_lock(self.home, name):
            record = read_run_file(self.home, name)
            run_file(self.home, name).unlink(missing_ok=True)
            stopped = [name] if record and terminate(record["pid"], self.home.root) else []
            self._stop_tag_processes(name)
        return stopped

    def close(self) -> None:
        """Stop the processes this object started; services that were already up stay up.

        Another kit process that has the sandbox open (a replay in another kernel, a night's step) may be in
        the middle of a call to one of them: then nothing is stopped, and they stop by themselves after their
        idle time (as Cloud Run scales to zero), or with `runbook sandbox stop`. Whether anyone else is
        *calling* a service is not recorded, but whether anyone else has the sandbox open is (state.py's
        users), so that is the rule."""
        if not other_users(self.home):
            for pid in sorted(self._started):
                terminate(pid, self.home.root)
        self._started.clear()

    # ---- calling the services

    def request(self, phase: str, method: str, path: str, body: dict | None = None, token: str | None = None,
                user_agent: str | None = None, remote_ip: str | None = None,
                headers: dict | None = None, timeout_s: float | None = None,
                tag: str | None = None) -> ServiceResponse:
        """One HTTP request to a phase service (started first if it is not running); tag: to the tag's URL, the
        process of the revision it names (local/candidates.py).

        timeout_s: how long to wait for the answer (None: REQUEST_TIMEOUT_S). A connection the service drops
        or resets without answering (its process died or was replaced) is ConnectionDropped, as on gcp.

        token=None sends no Authorization header (Cloud Run answers 403); pass
        identity_token() to call as the operator, as `curl -H "Authorization: Bearer
        $(gcloud auth print-identity-token)"` would.
        """
        if method not in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
            raise ParameterError("method", method, "give an HTTP method such as GET or POST")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ParameterError("path", path, "give a URL path starting with /")
        name = self.phases.get(phase).name
        live = self._tag_process(name, tag, START_TIMEOUT_S) if check_tag(tag) else self._ensure_one(name)
        sent = {"User-Agent": user_agent or "runbook-kit/0.1 (sandbox)"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if remote_ip:
            sent["X-Forwarded-For"] = remote_ip
        sent.update(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        wait_s = REQUEST_TIMEOUT_S if timeout_s is None else timeout_s
        late = f"{method} {path} on the sandbox's {name} service got no answer within {wait_s:g}s (it may still " \
               f"be working on it)."
        conn = http.client.HTTPConnection("127.0.0.1", live["port"], timeout=wait_s)
        deadline = AnswerDeadline(wait_s)
        try:
            conn.connect()
            deadline.arm(conn.sock)
            conn.request(method, path, body=payload, headers=sent)
            resp = conn.getresponse()
            raw = resp.read(MAX_BODY_BYTES + 1)
            content_type = resp.getheader("Content-Type", "")
            status, answered = resp.status, lower_headers(resp.getheaders())
        except TimeoutError:
            raise ServiceTimeout(late) from None
        except (ConnectionError, http.client.HTTPException) as exc:   # RemoteDisconnected, a reset, a cut answer
            if deadline.expired:   # the deadline cut it: the answer was late, not dropped
                raise ServiceTimeout(late) from None
            raise ConnectionDropped(f"{method} {path} on the sandbox's {name} service: the connection was dropped "
                                    f"without an answer ({type(exc).__name__}: {exc or 'no message'}).") from None
        finally:
            deadline.disarm()
            conn.close()
        if deadline.expired:   # a body without a length ends where the deadline cut it: not the whole answer
            raise ServiceTimeout(late)
        return ServiceResponse(status, response_body(raw, content_type, status), answered)
