"""Cloud Run services over the real google-cloud-run (run_v2) client, REST transport."""
from __future__ import annotations

from typing import Any

import requests
from google.protobuf.json_format import MessageToDict

from ..errors import NotFoundError, RunbookError
from ..gitinfo import commit_contains
from ..local.services import ServiceInfo, ServiceResponse
from ..phases import PhaseRegistry

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
INVOKER_ROLE = "roles/run.invoker"


def _json(message: Any) -> dict:
    return MessageToDict(type(message).pb(message), preserving_proto_field_name=False)


class GcpServices:
    """The same interface as the sandbox's LocalServices, for real Cloud Run services.

    `source_dir` (a checkout of the pipeline) lets the kit tell whether a revision's commit
    includes the phase's dataset_prefix commit; without it that answer is unknown (None).
    """

    def __init__(self, project: str, phases: PhaseRegistry, clients, source_dir: str | None = None,
                 http: requests.Session | None = None):
        self.project = project
        self.phases = phases
        self.clients = clients
        self.source_dir = source_dir
        self.http = http or requests.Session()

    def _name(self, phase: str) -> str:
        p = self.phases.get(phase)
        return f"projects/{self.project}/locations/{p.region}/services/{p.service}"

    def _service(self, phase: str) -> dict:
        from google.api_core import exceptions

        name = self._name(phase)
        try:
            return _json(self.clients.run.get_service(name=name))
        except exceptions.NotFound:
            raise NotFoundError(f"Cloud Run service {name} was not found; check project and region in phases.yaml.") from None

    def list_revisions(self, phase: str) -> list[dict]:
        service = self._service(phase)
        serving = {t.get("revision"): t.get("percent", 0) for t in service.get("trafficStatuses", [])}
        rows = []
        for rev in self.clients.revisions.list_revisions(parent=self._name(phase)):
            data = _json(rev)
            short = data["name"].rsplit("/", 1)[-1]
            containers = data.get("containers") or [{}]
            rows.append({"name": short, "commit_sha": data.get("labels", {}).get("commit-sha", ""),
                         "image": containers[0].get("image", ""), "created": data.get("createTime", ""),
                         "traffic_percent": serving.get(short, 0)})
        return sorted(rows, key=lambda r: r["created"], reverse=True)

    def iam_policy(self, phase: str) -> dict:
        policy = self.clients.run.get_iam_policy(request={"resource": self._name(phase)})
        return {"bindings": [{"role": b.role, "members": list(b.members)} for b in policy.bindings],
                "etag": policy.etag.decode() if isinstance(policy.etag, bytes) else policy.etag}

    def describe(self, phase: str) -> ServiceInfo:
        p = self.phases.get(phase)
        service = self._service(phase)
        serving = [t for t in service.get("trafficStatuses", []) if t.get("percent")]
        revision = (serving[0].get("revision") if serving else None) or service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
        revisions = {r["name"]: r for r in self.list_revisions(phase)}
        current = revisions.get(revision, {})
        commit = current.get("commit_sha", "")
        invokers = [m for b in self.iam_policy(phase)["bindings"] if b["role"] == INVOKER_ROLE for m in b["members"]]
        supports = commit_contains(self.source_dir, commit, p.prefix_support_commit) if (self.source_dir and commit) else None
        return ServiceInfo(
            phase=p.name, service=p.service, region=p.region, url=service.get("uri"), revision=revision,
            commit_sha=commit, supports_prefix=supports, image=current.get("image", ""),
            created=current.get("created", ""), running=bool(service.get("uri")),
            public=bool(service.get("invokerIamDisabled")) or any(m in PUBLIC_MEMBERS for m in invokers),
            invoker_members=invokers, code_phase="",
        )

    def list(self) -> list[ServiceInfo]:
        return [self.describe(name) for name in self.phases.names()]

    def identity_token(self, principal: str | None = None, phase: str | None = None) -> str:
        """An ID token for calling a service (audience: its URL), like `gcloud auth print-identity-token`."""
        import google.auth.transport.requests
        from google.oauth2 import id_token

        audience = self._service(phase or self.phases.names()[0]).get("uri", "")
        try:
            return id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)
        except Exception as exc:  # user credentials cannot mint ID tokens this way
            raise RunbookError(
                "Could not mint an identity token from Application Default Credentials "
                f"({type(exc).__name__}); run with a service account or pass token=$(gcloud auth print-identity-token)."
            ) from None

    def _call(self, method: str, phase: str, path: str, token: str | None, payload: dict | None = None,
              user_agent: str | None = None, remote_ip: str | None = None) -> ServiceResponse:
        url = self._service(phase).get("uri")
        if not url:
            raise RunbookError(f"Cloud Run service for {phase} has no URL (default URL disabled?).")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if user_agent:
            headers["User-Agent"] = user_agent
        response = self.http.request(method, url.rstrip("/") + path, json=payload, headers=headers, timeout=300)
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:2000]}
        return ServiceResponse(response.status_code, body)

    def health(self, phase: str, token: str | None = None) -> dict:
        """GET /health: the body plus `http_status` (a 401/403 body is the error), as in the sandbox."""
        response = self._call("GET", phase, "/health", token)
        return {"http_status": response.status, **response.body}

    def invoke(self, phase: str, payload: dict, token: str | None = None, user_agent: str | None = None,
               remote_ip: str | None = None) -> ServiceResponse:
        return self._call("POST", phase, self.phases.get(phase).endpoint, token, payload, user_agent)

    def close(self) -> None:
        self.http.close()
