"""Cloud Run's IAM in the sandbox: identity tokens signed with the sandbox's key, and the invoker check
every service process makes in front of every path."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Iterable

from ..errors import ParameterError
from ..services import invoker_members, policy_shape

TOKEN_LIFETIME_S = 3600
_MEMBER = re.compile(r"^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet):\S+)$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(key: str, principal: str, now: float | None = None, lifetime_s: int = TOKEN_LIFETIME_S) -> str:
    """A JWT-shaped identity token signed with the sandbox's key (HS256)."""
    issued = int(now if now is not None else time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": "sandbox"}
    email = principal.split(":", 1)[1]
    claims = {"iss": "https://sandbox.local", "aud": "sandbox", "sub": principal, "email": email,
              "email_verified": True, "iat": issued, "exp": issued + lifetime_s}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def verify_token(key: str, token: str, now: float | None = None) -> str | None:
    """The principal a token was issued to, or None if it is malformed, forged or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not key:
        return None
    try:
        expected = hmac.new(key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < (now if now is not None else time.time()):
        return None
    principal = claims.get("sub")
    return principal if isinstance(principal, str) else None


def inherited_policies(state: dict) -> list[dict]:
    """The policies every service of the sandbox project inherits, as a service on Cloud Run inherits them: the
    project's and those of its folders and organisation (state keys project_iam_policy, project_ancestry; an
    older sandbox may keep neither)."""
    policies = [state["project_iam_policy"]] if state.get("project_iam_policy") else []
    return policies + [a.get("iam_policy") or {} for a in state.get("project_ancestry", [])]


def admits(policy: dict, principal: str | None, invoker_iam_disabled: bool = False,
           inherited: Iterable[dict] = ()) -> bool:
    """Whether Cloud Run's IAM check lets `principal` (None: a caller without a valid token) invoke the service:
    no IAM check, allUsers, or (with a token) allAuthenticatedUsers or the principal among the invokers, by a
    grant on the service or on what it inherits (`inherited`: inherited_policies(state)), as IAM evaluates the
    union of the policies from the resource up to its organisation."""
    members = set(invoker_members(policy))
    for above in inherited:
        members.update(invoker_members(above))
    if invoker_iam_disabled or "allUsers" in members:
        return True
    return principal is not None and ("allAuthenticatedUsers" in members or principal in members)


def authorize(policy: dict, key: str, authorization: str | None,
              invoker_iam_disabled: bool = False, inherited: Iterable[dict] = ()) -> tuple[int, str | None]:
    """Cloud Run's IAM check in front of every path: (200 | 401 | 403, principal); `inherited` as for admits()."""
    inherited = list(inherited)
    if admits(policy, None, invoker_iam_disabled, inherited):
        return 200, None
    if not authorization:
        return 403, None  # Cloud Run answers a request without credentials with 403
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return 401, None
    principal = verify_token(key, token.strip())
    if principal is None:
        return 401, None
    return (200 if admits(policy, principal, invoker_iam_disabled, inherited) else 403), principal


def policy_etag(policy: dict) -> str:
    body = json.dumps(policy.get("bindings", []), sort_keys=True).encode()
    return "BwY" + _b64(hashlib.sha256(body).digest()[:9])


def shaped_policy(policy: dict) -> dict:
    """A policy the sandbox keeps, as iam_policy() returns it on every target: policy_shape builds new bindings,
    so the caller may change what it gets without touching the state."""
    return policy_shape(policy.get("version", 1), policy.get("bindings", []), policy_etag(policy))


def valid_bindings(policy) -> list[dict]:
    if not isinstance(policy, dict) or not isinstance(policy.get("bindings", []), list):
        raise ParameterError("policy", policy, "give a dict with a 'bindings' list, as iam_policy() returns")
    unknown = set(policy) - {"bindings", "etag", "version"}
    if unknown:
        raise ParameterError("policy key", sorted(unknown)[0], "a policy has only bindings, etag and version")
    bindings = []
    for binding in policy.get("bindings", []):
        if not isinstance(binding, dict) or not str(binding.get("role", "")).startswith("roles/"):
            raise ParameterError("binding", binding, "each binding needs a role such as roles/run.invoker")
        members = binding.get("members")
        if not isinstance(members, list) or not members:
            raise ParameterError("members", members, f"binding {binding.get('role')} needs a non-empty list")
        for member in members:
            if not isinstance(member, str) or not _MEMBER.match(member):
                raise ParameterError("member", member, "use allUsers, allAuthenticatedUsers, user:EMAIL, "
                                     "serviceAccount:EMAIL, group:EMAIL or domain:NAME")
        clean = {"role": binding["role"], "members": sorted(set(members))}
        if binding.get("condition"):
            clean["condition"] = binding["condition"]
        bindings.append(clean)
    return bindings
