"""Pytest fixtures: the Cloud Build / Cloud Logging / Cloud Run fake and gcp-storage-emulator, each on
127.0.0.1, plus helpers that make the fake mirror a sandbox and put a fake `gcloud` on PATH.

Import the fixtures you use into a test module (`from fakes.fixtures import fake_apis, ...`); every
server is started per test and stopped in teardown.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from runbook_lib.services import INGRESS_SETTINGS

from .artifacts import mirror_repositories
from .deploys import container_statuses
from .server import DATA_DIR, FakeGoogleApis, load_json

PROJECT = "nba-props-platform"
PROJECT_NUMBER = "756957797294"
REGION = "us-west2"
LOGS_BUCKET = f"{PROJECT_NUMBER}.cloudbuild-logs.googleusercontent.com"

PHASE4_FAILED_ID = "c3c052da-ddd1-46eb-9d3a-7219a9909377"      # buildpacks source deploy, FAILURE
PHASE3_DOCKER_ID = "6a1d9e42-5b3c-4f8a-9e27-1c0b8d7f3a65"      # Docker source deploy, SUCCESS
PHASE4_OLD_DOCKER_ID = "2f7c1b9e-8d4a-4e6b-a3f0-5c9d2e1b7a48"  # the running revision's build, SUCCESS
CLOUD_LOGGING_ONLY_ID = "9d2e7a41-3f5b-4c8e-b1a7-6e0f2d4c8b93"  # gcloud builds submit, CLOUD_LOGGING_ONLY
GLOBAL_BUILD_ID = "7e3a9c15-2d48-4b6f-8a1e-9f0c3b5d7e21"       # an older build in region global

PHASE4_SERVICE = "nba-phase4-precompute-processors"
PHASE3_SERVICE = "nba-phase3-analytics-processors"


def recorded_builds() -> list[dict]:
    return load_json("cloudbuild_builds.json")


def recorded_build(build_id: str) -> dict:
    return next(b for b in recorded_builds() if b["id"] == build_id)


def recorded_bucket_log(build_id: str) -> str:
    return (DATA_DIR / f"log-{build_id}.txt").read_text()


@pytest.fixture
def fake_apis() -> Iterator[FakeGoogleApis]:
    """Cloud Build v1 + Cloud Logging v2 fake loaded with the recorded builds and log entries."""
    fake = FakeGoogleApis(builds=recorded_builds(),
                          entries=load_json("logging_build_entries.json") + load_json("logging_run_requests.json"))
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@dataclass
class StorageEmulator:
    endpoint: str
    server: Any = None        # in-process gcp_storage_emulator Server
    process: Any = None       # or a subprocess.Popen

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=PROJECT, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoint})

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_storage_emulator_in_process() -> StorageEmulator:
    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    # Port 0 lets the OS pick a free port; the emulator keeps its HTTPServer on _api._httpd.
    port = server._api._httpd.server_address[1]
    return StorageEmulator(endpoint=f"http://127.0.0.1:{port}", server=server)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_storage_emulator_subprocess(timeout: float = 20.0) -> StorageEmulator:
    """The emulator's own CLI (`python -m gcp_storage_emulator start --in-memory`) in a child process."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    emulator = StorageEmulator(endpoint=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gcp-storage-emulator exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return emulator
        except OSError:
            time.sleep(0.05)
    emulator.stop()
    raise RuntimeError(f"gcp-storage-emulator did not listen on port {port} within {timeout} s")


@pytest.fixture
def storage_emulator() -> Iterator[StorageEmulator]:
    """gcp-storage-emulator in memory, in this process, holding the default logs bucket with the
    recorded log of the failed Phase 4 build."""
    emulator = start_storage_emulator_in_process()
    try:
        client = emulator.client()
        bucket = client.create_bucket(LOGS_BUCKET)
        bucket.blob(f"log-{PHASE4_FAILED_ID}.txt").upload_from_string(
            recorded_bucket_log(PHASE4_FAILED_ID), content_type="text/plain")
        yield emulator
    finally:
        emulator.stop()


# ---------------------------------------------------------------- the fake as a mirror of a sandbox

def mirror_sandbox(fake: FakeGoogleApis, home: str | Path, phases, serve: bool = False) -> None:
    """Load the fake with what Cloud Run, Pub/Sub and Cloud Logging would hold for the sandbox at `home`:
    its services (URL <fake>/svc/<service>), revisions with their `commit-sha` labels, traffic, IAM
    policies (the services', the project's, its folders' and organisation's), ingress, what each /health answers, the push subscriptions,
    and its request log (replacing
    the recorded Cloud Run request entries). serve=True: a call Cloud Run's IAM check lets in is answered by
    the sandbox's own service process (as the sandbox's operator), so the phases really run and write."""
    home = Path(home)
    if serve:
        fake.service_apps.update(sandbox_apps(home, phases))
    state = json.loads((home / "state.json").read_text())
    for name, record in state["services"].items():
        full = f"projects/{phases.project}/locations/{record['region']}/services/{record['service']}"
        last = record["revisions"][-1]["name"]
        fake.run_services[full] = {
            "name": full, "uri": f"{fake.endpoint}/svc/{record['service']}",
            "latestReadyRevision": f"{full}/revisions/{last}",
            "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": t["revisionName"],
                                 "percent": t["percent"]} for t in record["traffic"]],
            "invokerIamDisabled": bool(record.get("invoker_iam_disabled")),
            "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED"},
            # Cloud Run's own URLs (what push subscriptions name); the fake answers on `uri`.
            "urls": list(record.get("urls", [])),
            "ingress": {v: k for k, v in INGRESS_SETTINGS.items()}[record.get("ingress", "all")],
        }
        # Cloud Run lists revisions in its own order; oldest first here, so sorting is the adapter's job.
        fake.run_revisions[full] = [
            {"name": f"{full}/revisions/{rev['name']}",
             "labels": rev.get("labels") or {"commit-sha": rev["commit_sha"][:7]},
             "containers": [{"image": rev["image"]}], "createTime": rev["created"],
             "containerStatuses": container_statuses([{"image": rev["image"]}], fake.artifact_tags),
             "conditions": [{"type": "Ready", "state": "CONDITION_SUCCEEDED" if rev.get("ready", True)
                             else "CONDITION_FAILED"}]}
            for rev in sorted(record["revisions"], key=lambda r: r["created"])]
        policy = record["iam_policy"]
        fake.run_policies[full] = {"version": policy.get("version", 1), "etag": "BwYxAbC0dE8=",
                                   "bindings": policy["bindings"]}
        serving = next(r for r in record["revisions"]
                       if r["name"] == next(t["revisionName"] for t in record["traffic"] if t["percent"]))
        fake.service_health[record["service"]] = {
            "status": "healthy", "service": phases.get(serving.get("code_phase", name)).service_identity,
            "commit_sha": serving["commit_sha"]}
    fake.pubsub_subscriptions = [dict(sub) for sub in state.get("pubsub_subscriptions", [])]
    mirror_repositories(fake, phases.project, state, phases.region)
    if "project_iam_policy" in state:
        project_policy = state["project_iam_policy"]
        fake.project_policies[phases.project] = {"version": project_policy.get("version", 1), "etag": "BwYpRoJ3cT0=",
                                                 "bindings": project_policy["bindings"]}
    if "project_ancestry" in state:
        fake.project_ancestry[phases.project] = [a["name"] for a in state["project_ancestry"]]
        for ancestor in state["project_ancestry"]:
            policy = ancestor["iam_policy"]
            fake.ancestor_policies[ancestor["name"]] = {"version": policy.get("version", 1), "etag": "BwYq0Rg4nC5=",
                                                        "bindings": policy["bindings"]}
    log = home / "logs" / "requests.jsonl"
    sandbox_entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    fake.entries = [e for e in fake.entries if e.get("resource", {}).get("type") != "cloud_run_revision"] + sandbox_entries


def sandbox_apps(home: Path, phases) -> dict:
    """Each sandbox service's process as a fake Cloud Run service's app: (method, path, body) -> (code, body)."""
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.local.services import LocalServices

    box = sandbox_home(home)
    services = LocalServices(box, phases, box.warehouse)

    def app(phase: str):
        def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
            reply = services.request(phase, method, path, body if isinstance(body, dict) else None,
                                     token=services.identity_token())
            return reply.status, reply.body
        return answer

    return {phases.get(name).service: app(name) for name in phases.names()}


def mirrored_phases_file(home: str | Path, path: Path) -> Path:
    """The default phases.yaml with each prefix_support_commit set to the sandbox's own commit
    (what connect("local") does in memory), for a gcp target whose source_dir is the sandbox's checkout."""
    from runbook_lib.phases import DEFAULT_PHASES_FILE

    commits = json.loads((Path(home) / "state.json").read_text())["prefix_support_commits"]
    lines, phase = [], None
    for line in DEFAULT_PHASES_FILE.read_text().splitlines():
        found = re.match(r"^  (phase\w+):\s*$", line)
        phase = found.group(1) if found else phase
        if phase in commits and line.strip().startswith("prefix_support_commit:"):
            line = re.sub(r"prefix_support_commit:\s*\S+", f'prefix_support_commit: "{commits[phase][:7]}"', line)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


OPERATOR_TOKEN = "fake-id-token-for-the-operator"


def mirror_for_operator(fake: FakeGoogleApis, home: str | Path, workdir: Path, serve: bool = False):
    """The fake mirroring the sandbox at `home` (mirror_sandbox) by the phase registry workdir/phases.yaml
    (mirrored_phases_file), and a gcloud in workdir/bin printing an identity token the fake issued to the
    sandbox's operator. Returns (phases_file, phases, gcloud)."""
    from runbook_lib.phases import load_phases

    phases_file = mirrored_phases_file(home, workdir / "phases.yaml")
    phases = load_phases(phases_file)
    mirror_sandbox(fake, home, phases, serve=serve)
    fake.identity_tokens[OPERATOR_TOKEN] = "user:operator@sandbox.local"
    return phases_file, phases, make_fake_gcloud(workdir / "bin", OPERATOR_TOKEN)


def connect_gcp_on_fakes(fake: FakeGoogleApis, home: str | Path, tmp_path: Path, monkeypatch,
                         storage_endpoint: str | None = None, bigquery_endpoint: str | None = None,
                         serve: bool = False):
    """target=gcp (the real clients) on the fakes mirroring the sandbox at `home`, its checkout as source_dir;
    the operator has user ADC (which cannot mint ID tokens) and gcloud on PATH, the usual laptop, and
    gcloud's token is one the fake issued to the sandbox's operator. serve=True: the sandbox's processes
    answer the services' calls (see mirror_sandbox)."""
    from runbook_lib import target as target_mod
    from runbook_lib.gcp import identity_tokens

    phases_file, _, gcloud = mirror_for_operator(fake, home, tmp_path, serve=serve)

    def user_adc(audience):
        from google.auth.exceptions import DefaultCredentialsError

        raise DefaultCredentialsError("authorized_user credentials cannot mint ID tokens")

    monkeypatch.setattr(identity_tokens, "adc_id_token", user_adc)
    monkeypatch.setenv("PATH", f"{gcloud.bin_dir}:{os.environ['PATH']}")
    endpoints = {name: fake.endpoint for name in ("cloudbuild", "logging", "run", "pubsub", "cloudresourcemanager",
                                                  "artifactregistry")}
    if storage_endpoint:
        endpoints["storage"] = storage_endpoint
    if bigquery_endpoint:
        endpoints["bigquery"] = bigquery_endpoint
    return target_mod.connect("gcp", phases_file=str(phases_file), source_dir=str(Path(home) / "source"),
                              endpoints=endpoints)


_FAKE_GCLOUD = """#!{python}
import json, sys
args = sys.argv[1:]
with open({calls!r}, "a") as fh:
    fh.write(json.dumps(args) + "\\n")
if args[:3] == ["config", "get-value", "account"]:
    print({account!r})
elif args[:2] == ["auth", "print-identity-token"]:
    if {fail!r}:
        print("ERROR: (gcloud.auth.print-identity-token) " + {fail!r}, file=sys.stderr)
        sys.exit(1)
    print({token!r})
else:
    print("fake gcloud: unexpected " + " ".join(args), file=sys.stderr)
    sys.exit(2)
"""


@dataclass
class FakeGcloud:
    """A `gcloud` executable in `bin_dir` that prints `token` and records every call's arguments."""

    bin_dir: Path
    calls_file: Path

    def calls(self) -> list[list[str]]:
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]


def make_fake_gcloud(bin_dir: Path, token: str, account: str = "operator@example.com",
                     fail: str = "") -> FakeGcloud:
    bin_dir.mkdir(parents=True, exist_ok=True)
    calls = bin_dir / "gcloud-calls.jsonl"
    script = bin_dir / "gcloud"
    script.write_text(_FAKE_GCLOUD.format(python=sys.executable, calls=str(calls), account=account,
                                          token=token, fail=fail))
    script.chmod(0o755)
    return FakeGcloud(bin_dir, calls)
