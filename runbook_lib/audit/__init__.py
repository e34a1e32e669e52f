"""Runbook 05 (security audit of the phase services), one module per job:

- model.py     the audit's data: its scope, findings, who may call one service (ServiceAccess), the
               policies every service inherits (InheritedPolicy, Ancestry)
- policy.py    judging one IAM policy's invoke-role bindings (version 3, conditions shown) against the
               expected invokers, with the gcloud fix commands; the service's invoker IAM check and ingress
- inherited.py reading the project's policy and its folders' and organisation's, judging their grants
               for every service; what could not be read, said with the permission it takes
- access.py    who may call (step 1): every audited service judged by its own policy and the inherited
               ones, and the members and services tables
- requests.py  the request log in DuckDB: load (read_json of JSON lines), classify callers, aggregate
- tried.py     who tried: every request-log entry of the window (paged to the end, counted), the findings
               about callers that reached the app, the chart of requests by service and status
- pushes.py    what broke: Pub/Sub pushes refused (since a policy change the log shows, throughout the
               window, or until they recovered), the push subscriptions that target each service, whether
               they carry an OIDC token (and whose), and the fix
- verdict.py   the Audit result: verdict, summary, figures, every fix command, and the read-only commands
               for what the audit could not read (the project's policy, its ancestry, a folder's or the
               organisation's policy)

The notebook calls audit_scope, who_may_call, who_tried, what_broke and conclude in that order; the fix
commands are printed for an operator to run, never run by the kit.
"""
from .access import members_table, services_table, who_may_call
from .commands import (add_invoker_command, ancestor_invokers_command, ancestor_policy_command,
                       ancestors_policy_command, invoker_iam_check_command, placed, project_invokers_command,
                       remove_ancestor_binding_command, remove_binding_command, remove_project_binding_command)
from .inherited import (ANCESTOR_POLICY_PERMISSION, ANCESTRY_PERMISSION, ANCESTRY_READER, PROJECT_POLICY_PERMISSION,
                        PROJECT_POLICY_READER, judge_inherited_grants, read_ancestry, read_project_policy)
from .model import SEVERITIES, Ancestry, AuditScope, Finding, InheritedPolicy, ServiceAccess, audit_scope, unread_above
from .policy import PUBLIC_MEANING, judge_access
from .pushes import (PushOutage, judge_pushes, modify_push_config_command, outage_table, push_account, source_text,
                     subscriptions_table, what_broke)
from .requests import (CALLER_CLASSES, GOOGLE_AGENTS, INTERNAL_ADDRESSES, PUSH_STATES, REFUSED_STATUSES, RequestLog,
                       ServiceFacts, bucket_minutes)
from .tried import WhoTried, moment_text, request_findings, requests_chart, who_tried
from .verdict import Audit, conclude

__all__ = [
    # model, policy, inherited, access
    "ANCESTOR_POLICY_PERMISSION", "ANCESTRY_PERMISSION", "ANCESTRY_READER", "PROJECT_POLICY_PERMISSION",
    "PROJECT_POLICY_READER", "PUBLIC_MEANING", "SEVERITIES", "Ancestry", "AuditScope", "Finding", "InheritedPolicy",
    "ServiceAccess", "audit_scope", "judge_access", "judge_inherited_grants", "unread_above",
    "members_table", "read_ancestry", "read_project_policy", "services_table", "who_may_call",
    # commands
    "add_invoker_command", "ancestor_invokers_command", "ancestor_policy_command", "ancestors_policy_command",
    "invoker_iam_check_command", "placed", "project_invokers_command", "remove_ancestor_binding_command",
    "remove_binding_command", "remove_project_binding_command",
    # requests
    "CALLER_CLASSES", "GOOGLE_AGENTS", "INTERNAL_ADDRESSES", "PUSH_STATES", "REFUSED_STATUSES", "RequestLog",
    "ServiceFacts", "bucket_minutes",
    # tried
    "WhoTried", "moment_text", "request_findings", "requests_chart", "who_tried",
    # pushes
    "PushOutage", "judge_pushes", "modify_push_config_command", "outage_table", "push_account", "source_text",
    "subscriptions_table", "what_broke",
    # verdict
    "Audit", "conclude",
]
