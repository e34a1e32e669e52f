"""Google's error bodies, shaped as its REST APIs send them, for the fakes to answer with.

Every API: `{"error": {"code", "message", "status", "details": [...]}}`, the status named as gRPC names it
(401 UNAUTHENTICATED, 429 RESOURCE_EXHAUSTED ...), and a google.rpc.ErrorInfo detail whose `reason`,
`domain` and `metadata` say why (google.api_core reads them into exc.reason / .domain / .metadata). The
JSON APIs (Cloud Storage) add their older `errors: [{"message", "domain", "reason"}]`. The texts are
Google's own wording where the kit's users will meet them.

Each helper returns (HTTP status, body), what FakeGoogleApis.fault() and HttpFake.fault() take.
"""
from __future__ import annotations

from typing import Any

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
          504: "DEADLINE_EXCEEDED"}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
PRECONDITION_FAILURE = "type.googleapis.com/google.rpc.PreconditionFailure"
HELP = "type.googleapis.com/google.rpc.Help"

Refusal = tuple[int, dict]
# Not an answer: the fake resets the connection (TCP RST) once it has read the request, as a dying server
# or a proxy does; the client reads "Connection reset by peer".
CONNECTION_RESET: Refusal = (0, {})


def google_error(code: int, message: str, reason: str | None = None, domain: str = "googleapis.com",
                 metadata: dict[str, str] | None = None, details: list[dict] | tuple = (),
                 errors: list[dict] | None = None) -> dict:
    """The error body; with `reason`, an ErrorInfo detail first, as Google puts it."""
    error: dict[str, Any] = {"code": code, "message": message, "status": STATUS.get(code, "UNKNOWN")}
    if errors is not None:
        error["errors"] = errors
    found = list(details)
    if reason is not None:
        found.insert(0, {"@type": ERROR_INFO, "reason": reason, "domain": domain, "metadata": dict(metadata or {})})
    if found:
        error["details"] = found
    return {"error": error}


def permission_denied(permission: str, resource: str, service: str) -> Refusal:
    """IAM refused: the caller lacks `permission` on `resource` (IAM_PERMISSION_DENIED)."""
    return 403, google_error(403, f"Permission '{permission}' denied on resource '{resource}' (or it may not exist).",
                             "IAM_PERMISSION_DENIED", "iam.googleapis.com",
                             {"permission": permission, "resource": resource, "service": service})


def service_disabled(service: str, title: str, project_number: str) -> Refusal:
    """The API `service` (e.g. cloudbuild.googleapis.com) is not enabled in the project (SERVICE_DISABLED)."""
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project_number}"
    return 403, google_error(
        403, f"{title} has not been used in project {project_number} before or it is disabled. Enable it by "
             f"visiting {url} then retry. If you enabled this API recently, wait a few minutes for the action to "
             f"propagate to our systems and retry.", "SERVICE_DISABLED", "googleapis.com",
        {"service": service, "consumer": f"projects/{project_number}", "serviceTitle": title, "activationUrl": url,
         "containerInfo": project_number})


def perimeter_refusal(service: str, identifier: str, project_number: str, json_api: bool = False) -> Refusal:
    """A VPC Service Controls perimeter blocked the request; the JSON APIs (Cloud Storage) also list
    errors[] with reason vpcServiceControls."""
    message = f"Request is prohibited by organization's policy. vpcServiceControlsUniqueIdentifier: {identifier}"
    errors = [{"message": message, "domain": "global", "reason": "vpcServiceControls"}] if json_api else None
    violation = {"@type": PRECONDITION_FAILURE, "violations": [{"type": "VPC_SERVICE_CONTROLS",
                                                                "description": identifier}]}
    return 403, google_error(403, message, "SECURITY_POLICY_VIOLATED", "googleapis.com",
                             {"service": service, "uid": identifier, "consumer": f"projects/{project_number}"},
                             details=[violation], errors=errors)


def rate_limited(service: str, project_number: str, quota_metric: str, quota_limit: str,
                 value: str = "600") -> Refusal:
    """429 RESOURCE_EXHAUSTED: a per-minute quota is used up (RATE_LIMIT_EXCEEDED)."""
    message = (f"Quota exceeded for quota metric '{quota_metric}' and limit '{quota_limit}' of service '{service}' "
               f"for consumer 'project_number:{project_number}'.")
    return 429, google_error(429, message, "RATE_LIMIT_EXCEEDED", "googleapis.com",
                             {"service": service, "consumer": f"projects/{project_number}",
                              "quota_metric": quota_metric, "quota_limit": quota_limit, "quota_limit_value": value},
                             details=[{"@type": HELP, "links": [{"description": "Request a higher quota limit.",
                                                                 "url": "https://cloud.google.com/docs/quotas/help/"
                                                                        "request_increase"}]}])


def unavailable() -> Refusal:
    return 503, google_error(503, "The service is currently unavailable.")


def unauthenticated(service: str, reason: str = "ACCESS_TOKEN_EXPIRED") -> Refusal:
    """401: the access token was refused (expired, revoked, missing)."""
    return 401, google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                  "login cookie or other valid authentication credential. See "
                                  "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                             reason, "googleapis.com", {"service": service})


def scope_insufficient(service: str) -> Refusal:
    """403: a token without the cloud-platform scope (a VM's default scopes)."""
    return 403, google_error(403, "Request had insufficient authentication scopes.",
                             "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com", {"service": service})
