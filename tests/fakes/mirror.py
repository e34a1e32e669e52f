"""Every fake Google API as one Google Cloud project mirroring one sandbox, for whole nights on target=gcp.

`FakeCloud.mirroring(home, workdir)` starts, on 127.0.0.1:
- the Cloud Build / Cloud Logging / Cloud Run / Pub/Sub / Resource Manager fake (server.py, pubsub.py) holding
  the sandbox's builds, services, revisions, IAM policies (the project's too), push subscriptions and request
  log (fixtures.mirror_sandbox),
  with builds and rollouts that can be created (deploys.py);
- gcp-storage-emulator holding the Cloud Build logs bucket with the sandbox's build logs (and, once a
  redeploy stages one, the staging bucket);
- the BigQuery fake serving the sandbox's own warehouse file (bigquery.py).

The fake Cloud Run's services are the sandbox's own processes (serve=True): a call its IAM check lets in
is answered by them, so a replay really writes rows the BigQuery fake then reads; and a revision the fake
rolls out is deployed in the sandbox too (SandboxRollouts), so what the fake says serves is what answers.

`apply(monkeypatch)` is the one place that points a process, and the notebook kernels it starts, at the
fakes: RUNBOOK_GCP_ENDPOINTS, anonymous credentials chosen for them (RUNBOOK_GCP_ANONYMOUS=1), the mirrored phase registry, the sandbox
home, a `gcloud` that prints an identity token the fake issued to the operator, and user Application
Default Credentials (which cannot mint identity tokens, as on an operator's laptop).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.gitinfo import commit_contains
from runbook_lib.local.home import SandboxHome, sandbox_home
from runbook_lib.local.services import LocalServices
from runbook_lib.phases import PhaseRegistry

from .bigquery import FakeBigQuery
from .deploys import FakeDeploys
from .fixtures import PROJECT, FakeGcloud, StorageEmulator, mirror_for_operator, start_storage_emulator_in_process
from .server import FakeGoogleApis

# What `gcloud auth application-default login` leaves: user credentials, which cannot mint ID tokens.
USER_ADC = {"type": "authorized_user", "client_id": "fake-client.apps.googleusercontent.com",
            "client_secret": "fake-secret", "refresh_token": "fake-refresh-token"}


def mirror_builds(fake: FakeGoogleApis, storage_client: Any, box: SandboxHome) -> None:
    """The sandbox's Cloud Build history in the fake, and each build's log in its logs bucket."""
    records = json.loads((box.builds / "builds.json").read_text())
    fake.builds.extend(record["build"] for record in records)
    for build in (record["build"] for record in records):
        bucket_name = build["logsBucket"].removeprefix("gs://")
        bucket = storage_client.lookup_bucket(bucket_name) or storage_client.create_bucket(bucket_name)
        log = box.builds / bucket_name / f"log-{build['id']}.txt"
        bucket.blob(log.name).upload_from_string(log.read_text(), content_type="text/plain")


@dataclass
class SandboxRollouts:
    """FakeDeploys.on_serving: the sandbox serves what the fake Cloud Run serves. A revision the fake built
    is deployed in the sandbox (its phase's code by the Dockerfile it was built from, at its commit); one it
    was loaded with, or made earlier, gets the traffic back. Failures are kept in `errors`, not raised into
    the fake's answer."""

    box: SandboxHome
    phases: PhaseRegistry
    deployed: dict[str, str] = field(default_factory=dict)   # the fake's revision -> the sandbox's
    errors: list[str] = field(default_factory=list)

    def __call__(self, service_name: str, revision: str, built: dict | None) -> None:
        try:
            self._serve(service_name.rsplit("/", 1)[-1], revision, built)
        except Exception as exc:  # noqa: BLE001 - the test reads them; the fake keeps answering
            self.errors.append(f"{revision}: {type(exc).__name__}: {exc}")

    def _serve(self, service: str, revision: str, built: dict | None) -> None:
        phase = next(name for name in self.phases.names() if self.phases.get(name).service == service)
        services = LocalServices(self.box, self.phases, self.box.warehouse)
        if built is None or revision in self.deployed:
            services.update_traffic(phase, self.deployed.get(revision, revision))
            return
        code_phase = next((name for name in self.phases.names()
                           if self.phases.get(name).dockerfile == built["dockerfile"]), None)
        supports = commit_contains(self.box.source, built["commit"], self.phases.get(phase).prefix_support_commit)
        info = services.deploy_revision(phase, built["commit"], built["image"], supports is True, code_phase=code_phase)
        self.deployed[revision] = info.revision


@dataclass
class FakeCloud:
    box: SandboxHome
    phases_file: Path
    apis: FakeGoogleApis
    storage: StorageEmulator
    deploys: FakeDeploys
    bigquery: FakeBigQuery
    rollouts: SandboxRollouts
    gcloud: FakeGcloud
    cloudsdk_config: Path

    @classmethod
    def mirroring(cls, home: str | Path, workdir: Path) -> "FakeCloud":
        """Start every fake on the sandbox at `home` (initialised; its services need not run);
        `workdir` holds the mirrored phases.yaml, the fake gcloud and its configuration."""
        box = sandbox_home(home)
        apis = FakeGoogleApis().start()
        storage = start_storage_emulator_in_process()
        try:
            phases_file, phases, gcloud = mirror_for_operator(apis, box.root, workdir, serve=True)
            mirror_builds(apis, storage.client(), box)
            deploys = FakeDeploys(apis, storage=storage.client(),
                                  identity_by_dockerfile={phases.get(n).dockerfile: phases.get(n).service_identity
                                                          for n in phases.names()})
            rollouts = SandboxRollouts(box, phases)
            deploys.on_serving = rollouts
            bigquery = FakeBigQuery(box.warehouse, project=PROJECT).start()
        except BaseException:
            apis.stop()
            storage.stop()
            raise
        config = workdir / "gcloud-config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "application_default_credentials.json").write_text(json.dumps(USER_ADC))
        return cls(box, phases_file, apis, storage, deploys, bigquery, rollouts, gcloud, config)

    def endpoints(self) -> dict[str, str]:
        return {**{api: self.apis.endpoint for api in ("cloudbuild", "logging", "run", "pubsub", "cloudresourcemanager",
                                                       "artifactregistry")},
                "storage": self.storage.endpoint, "bigquery": self.bigquery.endpoint}

    def apply(self, monkeypatch) -> None:
        """Point this process and its children (notebook kernels) at the fakes."""
        from runbook_lib.gcp.clients import ANONYMOUS_ENV
        from runbook_lib.gcp.connect import ENDPOINTS_ENV
        from runbook_lib.phases import PHASES_ENV

        monkeypatch.setenv(ENDPOINTS_ENV, json.dumps(self.endpoints()))
        monkeypatch.setenv(ANONYMOUS_ENV, "1")
        monkeypatch.setenv(PHASES_ENV, str(self.phases_file))
        monkeypatch.setenv("RUNBOOK_HOME", str(self.box.root))
        monkeypatch.setenv("PATH", f"{self.gcloud.bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(self.cloudsdk_config))
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)

    def stop(self) -> None:
        for server in (self.bigquery, self.apis, self.storage):
            server.stop()
