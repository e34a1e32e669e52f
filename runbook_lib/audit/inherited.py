"""The policies every service inherits: the project's, and its folders' and organisation's (its ancestry, then
each one's policy), read once, and their invoke-role grants judged for each service as its own are. What the
caller may not read is said, once, with the permission it takes, and the audit carries on."""
from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from ..errors import AccessDenied, CloudUnreachable, CredentialsMissing, NotFoundError, QuotaExceeded, ServiceDisabled
from .commands import (add_invoker_command, ancestor_policy_command, ancestors_policy_command, placed,
                       remove_ancestor_binding_command, remove_project_binding_command)
from .model import Ancestry, InheritedPolicy, ServiceAccess, within
from .policy import granted_members, judge_bindings

# Reading the project's policy takes this permission; the least predefined role that grants it and only reads.
PROJECT_POLICY_PERMISSION = "resourcemanager.projects.getIamPolicy"
PROJECT_POLICY_READER = "roles/iam.securityReviewer"
# The project's folders and organisation come from projects.getAncestry, which takes resourcemanager.projects.get
# on the project (roles/browser is the least role with it and only reads); each one's policy takes its own
# getIamPolicy permission there, which roles/iam.securityReviewer holds too. Operators rarely hold it on a
# folder or the organisation, so a 403 there is usual: said, never a reason to stop.
ANCESTRY_PERMISSION = "resourcemanager.projects.get"
ANCESTRY_READER = "roles/browser"
ANCESTOR_POLICY_PERMISSION = {"folders": "resourcemanager.folders.getIamPolicy",
                              "organizations": "resourcemanager.organizations.getIamPolicy"}


# What refuses a read (a missing role, the API not enabled, a perimeter, credentials that Resource Manager's
# endpoint does not take), finds nothing to read (a sandbox that keeps no such policy) or gets no answer (the API
# unavailable or out of quota after the call policy's retries): said, never a reason to stop.
_UNREADABLE = (AccessDenied, CredentialsMissing, NotFoundError, CloudUnreachable, QuotaExceeded)


def read_project_policy(target: Any, project: str) -> InheritedPolicy:
    """The project's policy (where "project"); what refuses it is said, and the audit carries on with the
    services' own policies, as it does without the push subscriptions."""
    try:
        return InheritedPolicy("project", target.services.project_iam_policy())
    except _UNREADABLE as exc:
        return InheritedPolicy("project", None, _unread_sentence(
            exc, f"The IAM policy of project {project}", PROJECT_POLICY_PERMISSION, placed("project"),
            PROJECT_POLICY_READER, "its grants reach every service in it"))


def read_ancestry(target: Any, project: str) -> Ancestry:
    """The project's folders and organisation and each one's policy, read only. A refusal (to read the ancestry,
    or one ancestor's policy: a 403 is usual, operators rarely hold resourcemanager.folders.getIamPolicy) is said
    for what it refused, and the audit carries on with what it could read."""
    try:
        resources = target.services.project_ancestors()
    except _UNREADABLE as exc:
        return Ancestry(not_read=_unread_sentence(
            exc, f"The folders and organisation above project {project}", ANCESTRY_PERMISSION, f"project {project}",
            ANCESTRY_READER,
            f"invoke roles granted there reach every service too; `{ancestors_policy_command(project)}` lists them"))
    read = []
    for resource in resources:
        try:
            read.append(InheritedPolicy(resource, target.services.ancestor_iam_policy(resource)))
        except _UNREADABLE as exc:
            read.append(InheritedPolicy(resource, None, _unread_sentence(
                exc, f"The IAM policy of {placed(resource)}", ANCESTOR_POLICY_PERMISSION[resource.partition("/")[0]],
                placed(resource), PROJECT_POLICY_READER,
                f"its grants reach every service {within(resource)} it; `{ancestor_policy_command(resource)}` "
                f"lists them")))
    return Ancestry(tuple(read))


def _unread_sentence(exc: Exception, what: str, permission: str, on: str, reader: str, then: str) -> str:
    """`what` could not be read: why (Google's words, or the sandbox's), the permission it takes when a role is
    missing, and what the audit does without it."""
    said = str(exc).rstrip(". ")
    missing_role = isinstance(exc, AccessDenied) and not isinstance(exc, ServiceDisabled) and not exc.vpc_sc_id
    needs = f"; reading it takes {permission} on {on}, e.g. {reader}" if missing_role else ""
    return f"{what} could not be read ({said}){needs}: {then}. The audit carries on without it."


def inherited_granted(project_policy: InheritedPolicy, ancestry: Ancestry | None) -> set[str]:
    """The members the project's policy and its folders' and organisation's (those read) let call every service."""
    inherited = (project_policy, *(ancestry.ancestors if ancestry else ()))
    return set().union(*(granted_members(p.policy) for p in inherited if p.read))


def judge_inherited_grants(access: ServiceAccess, project_policy: InheritedPolicy, ancestry: Ancestry | None,
                           expected_members: set[str], project: str, until: datetime | None = None) -> ServiceAccess:
    """The service's access with the grants of invoke roles on the project and on its folders and organisation
    added (where "project", folders/N, organizations/N), judged as the service's own are: anyone at all is public
    (critical; under a condition, a warning), a member not among the expected invokers a warning with the
    `gcloud projects` / `resource-manager folders` / `organizations` removal; the owners and editors and Google's
    service agents there are listed, not judged (see BASIC_ROLES). What was not read, conclude says, once for
    every service (ancestry None: the folders and organisation were not looked at). until: as judge_access's.
    An expected invoker's deleted account there is fixed by a grant on the service itself, the narrowest."""
    access.project_policy, access.ancestry = project_policy, ancestry
    granted = access.invoker_members() | inherited_granted(project_policy, ancestry)
    add = partial(add_invoker_command, access.service, access.region, project,
                  conditional_policy=access.conditional_policy)
    for inherited in (project_policy, *(ancestry.ancestors if ancestry else ())):
        if not inherited.read:
            continue
        remove = (partial(remove_project_binding_command, project) if inherited.where == "project"
                  else partial(remove_ancestor_binding_command, inherited.where))
        members, findings = judge_bindings(access.service, inherited.policy, expected_members, remove,
                                            inherited.where, add=add, until=until, granted=granted)
        access.members += members
        access.findings += findings
    return access
