"""The gcloud commands the security audit prints, never runs: removing a grant from a service, the project,
a folder or the organisation (with gcloud's --condition rules), granting a push account run.invoker, turning
the invoker IAM check back on, and the read-only listings of who may invoke from above the service.
"""
from __future__ import annotations

import shlex

from ..services import INVOKER_ROLE, INVOKER_ROLES


def _where(service: str, region: str, project: str) -> str:
    return f"{shlex.quote(service)} --region={region} --project={project}"


# Separators for --condition's dict when a value holds a comma (gcloud topic escaping: `^D^` first makes D the
# separator); the first that no value holds is taken, so every value reaches gcloud whole.
CONDITION_SEPARATORS = (",", ";", "|", "~", "#", "@", "!", "%", "~~~")


def _condition_flag(condition: dict) -> str:
    """gcloud's --condition=expression=...,title=...; with `^D^` naming another separator D when a value has a
    comma."""
    parts = [(k, condition[k]) for k in ("expression", "title", "description") if condition.get(k)]
    separator = next((d for d in CONDITION_SEPARATORS if not any(d in str(v) for _, v in parts)),
                     CONDITION_SEPARATORS[-1])
    text = separator.join(f"{k}={v}" for k, v in parts)
    return "--condition=" + shlex.quote(("" if separator == "," else f"^{separator}^") + text)


def _unconditional_flag(conditional_policy: bool) -> str:
    """gcloud refuses to add or remove a binding without a condition to or from a policy that holds any
    conditional binding unless told `--condition=None` (non-interactive: IamPolicyBindingIncompleteError;
    interactive: it asks)."""
    return " --condition=None" if conditional_policy else ""


def remove_binding_command(service: str, region: str, project: str, member: str, role: str,
                           condition: dict | None = None, conditional_policy: bool = False) -> str:
    return _remove_from(f"gcloud run services remove-iam-policy-binding {_where(service, region, project)}", member,
                        role, condition, conditional_policy)


def add_invoker_command(service: str, region: str, project: str, email: str, conditional_policy: bool = False) -> str:
    return (f"gcloud run services add-iam-policy-binding {_where(service, region, project)} "
            f"--member=serviceAccount:{email} --role={INVOKER_ROLE}" + _unconditional_flag(conditional_policy))


def invoker_iam_check_command(service: str, region: str, project: str) -> str:
    """The reversal of `--no-invoker-iam-check`."""
    return f"gcloud run services update {_where(service, region, project)} --invoker-iam-check"


def _remove_from(command: str, member: str, role: str, condition: dict | None, conditional_policy: bool) -> str:
    """`command` (a gcloud remove-iam-policy-binding and its resource) with the member, role and --condition."""
    command += f" --member={shlex.quote(member)} --role={shlex.quote(role)}"
    return command + (" " + _condition_flag(condition) if condition else _unconditional_flag(conditional_policy))


def remove_project_binding_command(project: str, member: str, role: str, condition: dict | None = None,
                                   conditional_policy: bool = False) -> str:
    """`gcloud projects remove-iam-policy-binding` for a grant on the project (the same --condition rules)."""
    return _remove_from(f"gcloud projects remove-iam-policy-binding {project}", member, role, condition,
                        conditional_policy)


# gcloud's commands for a folder's and an organisation's policy, by resource kind (their reference pages:
# `gcloud resource-manager folders remove-iam-policy-binding FOLDER --member=PRINCIPAL --role=ROLE
# [--all | --condition=...]`, `gcloud organizations remove-iam-policy-binding ORGANIZATION ...` alike, and
# `get-iam-policy FOLDER` / `ORGANIZATION`), each taking the bare number.
_ANCESTOR_GCLOUD = {"folders": "gcloud resource-manager folders", "organizations": "gcloud organizations"}


def remove_ancestor_binding_command(resource: str, member: str, role: str, condition: dict | None = None,
                                    conditional_policy: bool = False) -> str:
    """`gcloud resource-manager folders remove-iam-policy-binding N` or `gcloud organizations
    remove-iam-policy-binding N` for a grant on one of the project's folders or its organisation (`resource`:
    folders/N, organizations/N), with the same --condition rules as the project's."""
    kind, number = resource.split("/", 1)
    return _remove_from(f"{_ANCESTOR_GCLOUD[kind]} remove-iam-policy-binding {number}", member, role, condition,
                        conditional_policy)


def ancestors_policy_command(project: str) -> str:
    """The read-only command listing the IAM policies of the project's folders and organisation too."""
    return f"gcloud projects get-ancestors-iam-policy {project}"


def _invokers_listing(command: str) -> str:
    """A read-only get-iam-policy `command` narrowed to the grants that may invoke every service below: the
    roles with run.routes.invoke (INVOKER_ROLES) and every custom role (which the filter cannot look into)."""
    roles = " ".join(INVOKER_ROLES)
    return (f"{command} --flatten='bindings[].members' "
            f"--filter='bindings.role=({roles}) OR bindings.role~^projects/ OR bindings.role~^organizations/' "
            f"--format='table(bindings.role, bindings.members, bindings.condition.title)'")


def project_invokers_command(project: str) -> str:
    """The read-only command listing the project policy's grants that may invoke every service in it."""
    return _invokers_listing(f"gcloud projects get-iam-policy {project}")


def ancestor_policy_command(resource: str) -> str:
    """The read-only command printing a folder's or the organisation's IAM policy (`resource`: folders/N,
    organizations/N)."""
    kind, number = resource.split("/", 1)
    return f"{_ANCESTOR_GCLOUD[kind]} get-iam-policy {number}"


def ancestor_invokers_command(resource: str) -> str:
    """The read-only command listing a folder's or the organisation's grants that may invoke every service
    below it (`resource`: folders/N, organizations/N)."""
    return _invokers_listing(ancestor_policy_command(resource))


def placed(where: str) -> str:
    """Where a grant is, in words: "the project", "folder N", "organization N" (a Finding's or member's where)."""
    if where == "project":
        return "the project"
    kind, _, number = where.partition("/")
    return {"folders": "folder", "organizations": "organization"}.get(kind, kind) + f" {number}"
