"""The IAM face of the sandbox's Cloud Run: the services' policies and the project's, folders' and organisation's
(read from the state file, shaped as on target=gcp), changing a service's policy or its invoker IAM check, and the
identity tokens the services take. A mixin of LocalServices (services.py), which gives it home, phases, _record
and describe.
"""
from __future__ import annotations

import re

from ..errors import AccessDenied, NotFoundError, ParameterError
from ..services import INVOKER_ROLE, ServiceInfo, ancestor_name
from .identity import admits, inherited_policies, make_token, policy_etag, shaped_policy, valid_bindings
from .state import require_services_state, state_lock, write_state

OPERATOR = "user:operator@sandbox.local"
_PRINCIPAL = re.compile(r"^(user|serviceAccount):[^\s@]+@[^\s@]+$")


class SandboxIam:
    """The IAM methods of the Services protocol on the sandbox (see LocalServices)."""

    def iam_policy(self, phase: str) -> dict:
        """{"version", "bindings": [{"role", "members", "condition"?}], "etag"}, as on target=gcp."""
        _, record = self._record(phase)
        return shaped_policy(record["iam_policy"])

    def project_iam_policy(self) -> dict:
        """The sandbox project's IAM policy (state file), shaped as iam_policy(), as on target=gcp."""
        state = require_services_state(self.home)
        if "project_iam_policy" not in state:
            raise NotFoundError(f"The sandbox at {self.home.root} keeps no project IAM policy (an older kit "
                                f"initialised it); run `runbook sandbox reset` to rebuild it with one.")
        return shaped_policy(state["project_iam_policy"])

    def project_ancestors(self) -> list[str]:
        """The sandbox project's folders and organisation, nearest first (state file), as on target=gcp."""
        return [a["name"] for a in self._ancestry()]

    def ancestor_iam_policy(self, resource: str) -> dict:
        """A folder's or the organisation's IAM policy (state file), shaped as iam_policy(), as on target=gcp;
        one that is not above the project is refused as Google refuses it (it cannot be told from one the caller
        may not read)."""
        name = ancestor_name(resource)
        found = next((a for a in self._ancestry() if a["name"] == name), None)
        if found is None:
            raise AccessDenied(f"The sandbox holds no {name} above its project, so its IAM policy cannot be read.",
                               scope=name)
        return shaped_policy(found["iam_policy"])

    def _ancestry(self) -> list[dict]:
        state = require_services_state(self.home)
        if "project_ancestry" not in state:
            raise NotFoundError(f"The sandbox at {self.home.root} keeps no folders or organisation above its project "
                                f"(an older kit initialised it); run `runbook sandbox reset` to rebuild it with them.")
        return state["project_ancestry"]

    def set_iam_policy(self, phase: str, policy: dict) -> dict:
        """Replace the service's IAM policy (like `gcloud run services set-iam-policy`)."""
        name = self.phases.get(phase).name
        bindings = valid_bindings(policy)
        with state_lock(self.home):
            state = require_services_state(self.home)
            record = state["services"][name]
            current = policy_etag(record["iam_policy"])
            if policy.get("etag") and policy["etag"] != current:
                raise ParameterError("policy etag", policy["etag"],
                                     f"the policy changed since it was read (now {current}); read it again")
            # IAM answers version 3 for a policy with conditions, 1 for one without.
            version = 3 if any(b.get("condition") for b in bindings) else 1
            record["iam_policy"] = {"version": version, "bindings": bindings}
            write_state(self.home, state)
        return self.iam_policy(name)

    def set_invoker_iam_check(self, phase: str, enabled: bool) -> ServiceInfo:
        """`gcloud run services update --[no-]invoker-iam-check`: disabled makes the service public."""
        name = self.phases.get(phase).name
        if not isinstance(enabled, bool):
            raise ParameterError("enabled", enabled, "give True (IAM checks callers) or False (anyone may call)")
        with state_lock(self.home):
            state = require_services_state(self.home)
            state["services"][name]["invoker_iam_disabled"] = not enabled
            write_state(self.home, state)
        return self.describe(name)

    def identity_token(self, principal: str | None = None, phase: str | None = None) -> str:
        """The sandbox's `gcloud auth print-identity-token` for `principal` (default: the operator).

        `phase` (the audience on Cloud Run) is accepted for parity with GcpServices; sandbox
        tokens are good for every service whose IAM policy lets the principal invoke it. A principal asked
        for by name with a `phase` gets a token only if that phase's service lets it in (AccessDenied
        otherwise): the sandbox has no Token Creator to refuse an impersonation, so a caller that mints its
        tokens up front (runbook 03) learns there, before it changes anything, what the service would answer.
        """
        asked_for = principal
        principal = OPERATOR if principal is None else principal
        if phase is not None:
            self.phases.get(phase)
        if not isinstance(principal, str) or not _PRINCIPAL.match(principal):
            raise ParameterError("principal", principal,
                                 "give user:EMAIL or serviceAccount:EMAIL, e.g. user:operator@sandbox.local")
        state = require_services_state(self.home)
        if asked_for is not None and phase is not None:
            _require_invoker(state, self.phases.get(phase), principal)
        return make_token(state["token_key"], principal)


def _require_invoker(state: dict, phase, principal: str) -> None:
    """AccessDenied unless the phase's service lets `principal` in, as its IAM check does (identity.authorize,
    in service_app.py): a grant on the service, or on the project, its folders or organisation."""
    record = state["services"][phase.name]
    if admits(record["iam_policy"], principal, bool(record.get("invoker_iam_disabled")),
              inherited=inherited_policies(state)):
        return
    raise AccessDenied(f"{principal} may not invoke {phase.service}: no role with run.routes.invoke is bound to it "
                       f"on the service or above it (grant it {INVOKER_ROLE} on the service)", role=INVOKER_ROLE,
                       scope=f"service {phase.service}")
