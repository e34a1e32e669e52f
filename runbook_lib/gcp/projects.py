"""Resource Manager v3: the project's IAM policy, the one call the security audit makes of that API.

Invoke roles granted on the project reach every Cloud Run service in it, so the audit reads the project's
policy as well as each service's. No Resource Manager client library is installed (and one call does not
warrant one), so this is REST over google-auth's AuthorizedSession: calls.timed_session caps each request,
and GcpClients hands the client out as a GuardedClient, so `get_iam_policy` gets the call policy's retry
(it only reads) and Google's refusals become the kit's sentences (gcp/refusals.py), as every other call.
"""
from __future__ import annotations

from typing import Callable

from ..services import policy_shape
from .calls import RestClient


class ResourceManagerClient(RestClient):
    """projects.getIamPolicy over REST (GcpClients builds it: "cloudresourcemanager" in calls.API_NAMES)."""

    def get_iam_policy(self, project: str, timeout: float | None = None, retry: Callable | None = None) -> dict:
        """The project's policy as Google's JSON (version, bindings, etag). Version 3 is asked for: without
        it IAM answers a policy with conditional bindings in version 1, roles renamed and conditions dropped.
        `timeout` and `retry` come from the call policy (GuardedClient), as a client library's would."""
        return self._call("POST", f"v3/projects/{project}:getIamPolicy", timeout, retry,
                          body={"options": {"requestedPolicyVersion": 3}})


def project_policy(answer: dict) -> dict:
    """Google's Policy JSON as Services.iam_policy() shapes a policy: {"version", "bindings", "etag"}."""
    return policy_shape(answer.get("version", 1), answer.get("bindings", []), answer.get("etag", ""))
