"""Step 1 of the audit, who may call each phase service: its IAM policy and the project's (version 3, conditions
shown), invoker IAM check and ingress, each member judged against the service accounts expected to call it, and
the exact `gcloud` commands that would fix each finding (printed, never run). The project's folders and
organisation are read too (its ancestry, then each one's policy): their grants reach every service as the
project's do. Whatever the caller may not read is said, once, with the permission it takes, and the audit carries
on. The data is model.py's, the judging policy.py's and inherited.py's."""
from __future__ import annotations

from typing import Any

import pandas as pd

from .inherited import inherited_granted, judge_inherited_grants, read_ancestry, read_project_policy
from .model import AuditScope, ServiceAccess
from .policy import judge_access


def who_may_call(target: Any, scope: AuditScope) -> list[ServiceAccess]:
    """Step 1: each audited service's invokers (policy version 3) by its own policy, the project's and those of
    the project's folders and organisation, IAM check and ingress, judged. The policies above the services are
    read once; what cannot be read, the audit says why."""
    project_policy = read_project_policy(target, scope.project)
    ancestry = read_ancestry(target, scope.project)
    above = inherited_granted(project_policy, ancestry)
    access = []
    for phase in scope.phases:
        expected = scope.expected_members(phase.name)
        own = judge_access(phase, target.services.describe(phase.name), target.services.iam_policy(phase.name),
                           expected, scope.project, until=scope.until, granted=above)
        access.append(judge_inherited_grants(own, project_policy, ancestry, expected, scope.project, scope.until))
    return access


def members_table(access: list[ServiceAccess]) -> pd.DataFrame:
    """Every member that may invoke each service, its role and condition, and how the audit judges it."""
    rows = [{"service": a.service, "policy version": a.policy_version, **m} for a in access for m in a.members]
    rows += [{"service": a.service, "policy version": a.policy_version, "member": "(no IAM check: anyone)",
              "role": "--no-invoker-iam-check", "condition": "", "judged": "public", "where": "service"}
             for a in access if a.invoker_iam_disabled]
    return pd.DataFrame(rows, columns=["service", "where", "policy version", "member", "role", "condition", "judged"])


def services_table(access: list[ServiceAccess]) -> pd.DataFrame:
    return pd.DataFrame([{
        "service": a.service, "public": "YES" if a.public else "no", "ingress": a.ingress,
        "invoker IAM check": "OFF" if a.invoker_iam_disabled else "on",
        "unexpected invokers": sum(m["judged"] == "unexpected" for m in a.members),
    } for a in access])
