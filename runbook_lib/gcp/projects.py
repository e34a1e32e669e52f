"""Resource Manager: the IAM policies above the services, the calls the security audit makes of that API.

Invoke roles granted on the project, on any of its folders or on its organisation reach every Cloud Run
service in it, so the audit reads those policies as well as each service's: the project's (v3
projects.getIamPolicy), its ancestry (v1 projects.getAncestry, as `gcloud projects get-ancestors-iam-policy`
does: the google-cloud-sdk's command_lib/projects/util.py GetIamPolicyWithAncestors calls
projects_api.GetAncestry, then each folder's and the organisation's GetIamPolicy; one call that needs only
resourcemanager.projects.get on the project, where walking v3 folders.get up the tree would need
resourcemanager.folders.get on every folder), then each ancestor's policy (v3 folders.getIamPolicy,
organizations.getIamPolicy). No Resource Manager client library is installed (and a few calls do not warrant
one), so this is REST over google-auth's AuthorizedSession: calls.timed_session caps each request, and
GcpClients hands the client out as a GuardedClient, so every `get_*` here gets the call policy's retry (they
only read) and Google's refusals become the kit's sentences (gcp/refusals.py), as every other call.
"""
from __future__ import annotations

from typing import Callable

from ..services import ancestor_name, policy_shape
from .calls import RestClient

# Version 3, or IAM answers a policy with conditional bindings in version 1, roles renamed, conditions dropped.
_VERSION_3 = {"options": {"requestedPolicyVersion": 3}}


class ResourceManagerClient(RestClient):
    """projects.getIamPolicy, projects.getAncestry and the ancestors' getIamPolicy over REST (GcpClients builds
    it: "cloudresourcemanager" in calls.API_NAMES)."""

    def get_iam_policy(self, project: str, timeout: float | None = None, retry: Callable | None = None) -> dict:
        """The project's policy as Google's JSON (version, bindings, etag). Version 3 is asked for: without
        it IAM answers a policy with conditional bindings in version 1, roles renamed and conditions dropped.
        `timeout` and `retry` come from the call policy (GuardedClient), as a client library's would."""
        return self._call("POST", f"v3/projects/{project}:getIamPolicy", timeout, retry, body=_VERSION_3)

    def get_ancestry(self, project: str, timeout: float | None = None, retry: Callable | None = None) -> dict:
        """v1 projects.getAncestry: {"ancestor": [{"resourceId": {"type", "id"}}, ...]}, ordered from the project
        itself up to its organisation. Needs resourcemanager.projects.get on the project."""
        return self._call("POST", f"v1/projects/{project}:getAncestry", timeout, retry, body={})

    def get_ancestor_iam_policy(self, resource: str, timeout: float | None = None,
                                retry: Callable | None = None) -> dict:
        """v3 folders.getIamPolicy or organizations.getIamPolicy for `resource` (folders/N, organizations/N), version
        3 asked for. Needs resourcemanager.folders.getIamPolicy (organizations.getIamPolicy) there."""
        return self._call("POST", f"v3/{ancestor_name(resource)}:getIamPolicy", timeout, retry, body=_VERSION_3)


def project_policy(answer: dict) -> dict:
    """Google's Policy JSON as Services.iam_policy() shapes a policy: {"version", "bindings", "etag"}."""
    return policy_shape(answer.get("version", 1), answer.get("bindings", []), answer.get("etag", ""))


def ancestors(answer: dict) -> list[str]:
    """getAncestry's answer as the resource names above the project, nearest first (folders, then the
    organisation); [] for a project with no parent (no organisation)."""
    found = []
    for ancestor in answer.get("ancestor", []):
        resource_id = ancestor.get("resourceId") or {}
        kind = {"folder": "folders", "organization": "organizations"}.get(resource_id.get("type", ""))
        if kind and resource_id.get("id"):
            found.append(f"{kind}/{resource_id['id']}")
    return found
