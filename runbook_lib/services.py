"""What both targets mean by a Cloud Run service, so notebooks never branch on the target.

The sandbox (local/services.py, local/logs.py) and Google Cloud (gcp/services.py, gcp/logs.py) return
the value types of service_types.py and compute "public", "invoker members" and /health results
with the functions here, so the two adapters cannot drift apart.
"""
from __future__ import annotations

import http.client
import json
import re
from itertools import accumulate
from typing import Any, Iterable

from .errors import ParameterError
from .formats import one_line
# (re-exported: the adapters and runbooks import the value types from here)
from .service_types import (DEFAULT_INGRESS, INGRESS_SETTINGS, ConnectionDropped, PushSubscription,  # noqa: F401
                            Revision, Rollout, RolloutInProgress, RunImage, ServiceChanged, ServiceInfo,
                            ServiceResponse, ServingRevision, failed_newest, ingress_setting, lower_headers,
                            newest_revisions_first, push_subscriptions_to, resolved_digest)

# Cloud Run: a service is public when roles/run.invoker is bound (without a condition) to one of these
# members, or when its invoker IAM check is disabled (invokerIamDisabled: true).
INVOKER_ROLE = "roles/run.invoker"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
# Every predefined role whose permissions include run.routes.invoke: who may call a service. Checked
# against Cloud Run's roles page (https://cloud.google.com/run/docs/reference/iam/roles), the IAM
# predefined roles reference (https://cloud.google.com/iam/docs/roles-permissions, "Cloud Run roles and
# permissions" and the role and permission index) and, for the roles of other products, a copy of
# IAM's roles.list (github.com/iann0036/iam-dataset gcp/roles/, 2026-08-22). The service agents' roles
# are granted to Google's own accounts, but any member may hold them.
INVOKER_ROLES = (
    # Cloud Run
    "roles/run.invoker", "roles/run.servicesInvoker", "roles/run.developer", "roles/run.admin", "roles/run.editor",
    "roles/run.sourceDeveloper",
    # basic roles
    "roles/editor", "roles/owner",
    # other products' roles that carry it
    "roles/cloudfunctions.admin", "roles/cloudfunctions.developer", "roles/cloudfunctions.editor",
    "roles/firebase.admin", "roles/firebase.developAdmin", "roles/iam.dataScientist", "roles/iam.devOps",
    "roles/iam.mlEngineer",
    # service agents
    "roles/aiplatform.serviceAgent", "roles/ces.serviceAgent", "roles/cloudfunctions.serviceAgent",
    "roles/dialogflow.serviceAgent", "roles/firebaseapphosting.serviceAgent", "roles/firebasedataconnect.serviceAgent",
    "roles/integrations.serviceAgent", "roles/monitoring.notificationServiceAgent", "roles/run.serviceAgent",
    "roles/serverless.serviceAgent", "roles/spanner.serviceAgent", "roles/visionai.serviceAgent",
)
# The predefined roles that can be granted on a Cloud Run service (they hold run.services.* permissions)
# but do NOT carry run.routes.invoke, from the same sources. Any other role on a service (a custom role
# `projects/P/roles/R` or `organizations/O/roles/R`, or a predefined role newer than this list) is one
# the kit cannot judge: role_may_invoke() says so.
NON_INVOKER_ROLES = (
    "roles/viewer", "roles/run.viewer", "roles/run.sourceViewer", "roles/run.sshReader", "roles/run.sshRoot",
    "roles/cloudfunctions.viewer", "roles/firebase.viewer", "roles/firebase.developViewer", "roles/firebase.editor",
    "roles/iam.securityAdmin", "roles/iam.securityAuditor", "roles/iam.securityReviewer",
    "roles/iam.siteReliabilityEngineer", "roles/iam.supportUser", "roles/resourcemanager.tagUser",
    "roles/resourcemanager.tagViewer", "roles/dlp.orgdriver", "roles/dlp.projectdriver", "roles/eventarc.serviceAgent",
    "roles/firebasemods.serviceAgent", "roles/runapps.serviceAgent",
)


def role_may_invoke(role: str) -> bool | None:
    """True: the role carries run.routes.invoke; False: it does not; None: the kit cannot tell (a custom
    role, or a predefined one it does not know): `gcloud iam roles describe` says."""
    if role in INVOKER_ROLES:
        return True
    if role in NON_INVOKER_ROLES:
        return False
    return None


def describe_role_command(role: str) -> str:
    """The read-only gcloud command that lists a role's permissions (look for run.routes.invoke)."""
    parts = role.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "roles":
        return f"gcloud iam roles describe {parts[3]} --project={parts[1]} --format='value(includedPermissions)'"
    if len(parts) == 4 and parts[0] == "organizations" and parts[2] == "roles":
        return (f"gcloud iam roles describe {parts[3]} --organization={parts[1]} "
                f"--format='value(includedPermissions)'")
    return f"gcloud iam roles describe {role} --format='value(includedPermissions)'"

# ---------------------------------------------------------------- IAM


class PhaseEndpoints:
    """The phase services' own endpoints, the same on every target: subclasses provide `phases` and
    `request(phase, method, path, body=None, token=None, user_agent=None, remote_ip=None, timeout_s=None,
    tag=None)`."""

    def invoke(self, phase: str, payload: dict, token: str | None = None, user_agent: str | None = None,
               remote_ip: str | None = None) -> ServiceResponse:
        """POST the payload to the phase's endpoint (/process-date-range or /process-date)."""
        if not isinstance(payload, dict):
            raise ParameterError("payload", payload, "give a dict (the JSON body of the request)")
        return self.request(phase, "POST", self.phases.get(phase).endpoint, payload, token=token,
                            user_agent=user_agent, remote_ip=remote_ip)

    def health(self, phase: str, token: str | None = None, timeout_s: float | None = None,
               tag: str | None = None) -> dict:
        """GET /health: {"http_status": code, **json_body}; a non-JSON body (Cloud Run's 401/403 pages)
        gives {"http_status": code, "error": "<one line>"}. timeout_s: how long to wait for the answer
        (None: the adapter's default for any request, minutes). tag: on the tag's URL (the revision it names,
        whatever its share of the traffic) instead of the service's."""
        return health_result(self.request(phase, "GET", "/health", token=token, timeout_s=timeout_s, tag=tag))


def _unconditional(policy: dict) -> list[dict]:
    return [b for b in policy.get("bindings", []) if not b.get("condition")]


def invoker_members(policy: dict) -> list[str]:
    """Members that may call the service: any unconditional binding of a role with run.routes.invoke."""
    members: list[str] = []
    for binding in _unconditional(policy):
        if binding.get("role") in INVOKER_ROLES:
            members += [m for m in binding.get("members", []) if m not in members]
    return members


def is_public(policy: dict, invoker_iam_disabled: bool = False) -> bool:
    """Cloud Run's definition: run.invoker (or another role with run.routes.invoke) bound to allUsers or
    allAuthenticatedUsers, or no IAM check."""
    if invoker_iam_disabled:
        return True
    return any(binding.get("role") in INVOKER_ROLES and any(m in PUBLIC_MEMBERS for m in binding.get("members", []))
               for binding in _unconditional(policy))


def check_image(image: Any) -> str:
    if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        raise ParameterError("image", image, "give a container image reference without spaces")
    return image


def traffic_split(revision: Any) -> dict[str, int]:
    """Services.update_traffic's target as revision -> percent: one revision's name (all of it), or a split of
    whole percentages over distinct revisions that adds up to 100."""
    if isinstance(revision, str) and revision:
        return {revision: 100}
    if not isinstance(revision, dict) or not revision or not all(
            isinstance(k, str) and k and isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100
            for k, v in revision.items()) or sum(revision.values()) != 100:
        raise ParameterError("revision", revision, "give a revision's name, or {revision: percent} with whole "
                             "percentages above 0 that add up to 100")
    return dict(revision)


# Cloud Run's rule for a traffic tag: it becomes the first part of a host name (TAG---SERVICE...).
_TAG = re.compile(r"^[a-z](?:[a-z0-9-]{0,44}[a-z0-9])?$")


# Cloud Run refuses a tag longer than this together with the service's name ("Combined traffic tag and service name
# cannot exceed 46 characters"): the tag URL's first host label holds both.
TAG_AND_SERVICE_MAX = 46


def tag_fits(tag: str, service: str) -> bool:
    return len(tag) + len(service) <= TAG_AND_SERVICE_MAX


def check_tag(tag: Any, service: str = "") -> str | None:
    """A traffic tag (`--tag`) Cloud Run takes beside `service`'s name, or None for none."""
    if tag is None:
        return None
    if not isinstance(tag, str) or not _TAG.match(tag) or "---" in tag:
        raise ParameterError("tag", tag, "give a traffic tag of lowercase letters, digits and hyphens (at most 46), "
                             "starting with a letter and ending with a letter or digit, or None")
    if not tag_fits(tag, service):
        raise ParameterError("tag", tag, f"give a tag of at most {TAG_AND_SERVICE_MAX - len(service)} characters: "
                             f"Cloud Run takes tag and service name ({service}) together up to {TAG_AND_SERVICE_MAX}")
    return tag


def string_map(parameter: str, value: Any) -> dict[str, str]:
    """Labels or environment variables: a mapping of names to text (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ParameterError(parameter, value, "give a mapping of names to text values")
    return dict(value)


def without_all_users(bindings: Iterable[dict]) -> list[dict] | None:
    """The bindings once `--no-allow-unauthenticated` has run: allUsers out of roles/run.invoker (and nothing
    else: allAuthenticatedUsers stays, as with gcloud); None when allUsers had no such binding."""
    bindings = [dict(b) for b in bindings]
    changed = False
    for binding in bindings:
        if binding.get("role") == INVOKER_ROLE and "allUsers" in binding.get("members", []):
            binding["members"] = [m for m in binding["members"] if m != "allUsers"]
            changed = True
    return [b for b in bindings if b.get("members")] if changed else None


# The resources above a project whose IAM policies reach its services: folders/N (any depth), organizations/N.
ANCESTOR_NAME = re.compile(r"^(folders|organizations)/[0-9]+$")


def ancestor_name(resource: Any) -> str:
    """A folder's or organisation's resource name as Resource Manager spells it (Services.project_ancestors);
    anything else is refused before a call is made (a path built from it must not reach another API)."""
    if not isinstance(resource, str) or not ANCESTOR_NAME.match(resource):
        raise ParameterError("resource", resource, "give a folder or an organisation as folders/NUMBER or "
                             "organizations/NUMBER, as project_ancestors() names them")
    return resource


def policy_shape(version: int, bindings: Iterable[dict], etag: str) -> dict:
    """{"version", "bindings": [{"role", "members", "condition"?}], "etag"}: iam_policy() on every target."""
    shaped = []
    for binding in bindings:
        one = {"role": binding["role"], "members": list(binding.get("members", []))}
        if binding.get("condition"):
            one["condition"] = {k: v for k, v in dict(binding["condition"]).items() if v}
        shaped.append(one)
    return {"version": int(version or 1), "bindings": shaped, "etag": etag}


# ---------------------------------------------------------------- responses


# JSON nested deeper than this is no service's answer; Python's parser would raise RecursionError on it (near 1000),
# which is never raised at all, so as not to leave the interpreter at the edge of its stack.
MAX_JSON_DEPTH = 200
_NESTING = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deep a JSON text's arrays and objects nest (brackets inside strings not counted); an unclosed string
    ends the count, as it ends the text's JSON."""
    depth = deepest = 0
    at, size = 0, len(raw)
    while at < size:
        quote = raw.find(b'"', at)
        brackets = raw[at:size if quote < 0 else quote].translate(None, delete=_NOT_NESTING)
        steps = list(accumulate(map(_NESTING.__getitem__, brackets), initial=depth))
        deepest, depth = max(deepest, max(steps)), steps[-1]
        if quote < 0:
            break
        end = _STRING_END.match(raw, quote + 1)   # the closing quote: one not escaped
        if end is None:
            break
        at = end.end()
    return deepest


_NOT_NESTING = bytes(set(range(256)) - set(_NESTING))
_STRING_END = re.compile(rb'(?:[^"\\]|\\.)*+"')   # possessive, and matched where the string starts only: linear
MAX_BODY_BYTES = 1_000_000   # a service's answer is read past this by no one; a body of megabytes says one line


def read_capped(chunks: Iterable[bytes]) -> bytes:
    """A body's first MAX_BODY_BYTES and one byte more (enough to know it was longer), the rest never read."""
    kept, size = [], 0
    for chunk in chunks:
        kept.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(kept)[:MAX_BODY_BYTES + 1]


def response_body(raw: bytes, content_type: str, status: int) -> dict:
    """A JSON object body as is; anything else (Cloud Run's HTML 401/403 pages, text) as {"error": one line}."""
    raw = raw or b""
    if "json" in (content_type or "") and len(raw) <= MAX_BODY_BYTES and json_depth(raw) <= MAX_JSON_DEPTH:
        try:
            parsed = json.loads(raw or b"{}")
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        except ValueError:
            pass
    # Cloud Run's own 401/403 pages are HTML: keep their words, drop the markup (a tag is found from its own `<`, so
    # a `<` without a `>` costs one look, not a scan to the end).
    text = _HTML_TITLE.sub("", raw[:MAX_BODY_BYTES].decode(errors="replace"))
    text = _HTML_TAG.sub(" ", text)
    return {"error": one_line(text) or http.client.responses.get(status, f"HTTP {status}")}


_HTML_TITLE = re.compile(r"<title>[^<]*+</title>|</?code>")
_HTML_TAG = re.compile(r"<[^<>]*+>")


def health_result(response: ServiceResponse) -> dict:
    """health(): {**json_body, "http_status": code}, or {"error": "<one line>", "http_status": code}: the status is
    the HTTP answer's, whatever the body says."""
    return {**response.body, "http_status": response.status}
