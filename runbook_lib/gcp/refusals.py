"""Why Google Cloud said no, as the kit's one-sentence errors: one table for every API the kit calls.

Google names the reason in a google.rpc.ErrorInfo detail, which google.api_core puts on the exception
as `exc.reason`, `exc.domain` and `exc.metadata` (IAM_PERMISSION_DENIED with the permission,
SERVICE_DISABLED with the service, RATE_LIMIT_EXCEEDED with the quota, SECURITY_POLICY_VIOLATED for a
VPC Service Controls perimeter, ACCESS_TOKEN_SCOPE_INSUFFICIENT, ...). The older JSON APIs (Cloud
Storage, BigQuery) also, or only, put a reason in `exc.errors[]` (forbidden, vpcServiceControls,
accessNotConfigured, rateLimitExceeded). The HTTP status alone says too little: a disabled API, a
missing role and a perimeter are all 403. google.auth's own errors (no Application Default
Credentials: DefaultCredentialsError; expired or revoked: RefreshError) are neither; they are said here
too, so every credentials problem is the same advice.

The call policy (gcp/calls.py) applies `refusal()` to every call of every client; BigQuery's adapter,
which says its own reasons with the dataset and role (gcp/bigquery_errors.py), uses `common_refusal()`,
`role_for_permission()`, `reason_of()` and `is_rate_limit()` for what the APIs share. What the policy leaves
to the caller (a 400, a 409, a 5xx answered to a write) becomes the caller's own error class in one sentence
with `refused_as()`.
"""
from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import AccessDenied, CredentialsMissing, NotFoundError, QuotaExceeded, RunbookError, ServiceDisabled
from ..formats import one_line

KEY_FILE_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
HOW_TO_LOG_IN = ("run `gcloud auth application-default login` (add `--impersonate-service-account=EMAIL` to act "
                 "as a service account, which needs roles/iam.serviceAccountTokenCreator on it), or set "
                 "GOOGLE_APPLICATION_CREDENTIALS to a service account key file")
QUOTA_HELP = "https://cloud.google.com/docs/quotas/help/request_increase"

# The predefined role that grants each permission the kit uses (the least one that does).
ROLE_FOR_PERMISSION = {
    "cloudbuild.builds.get": "roles/cloudbuild.builds.viewer",
    "cloudbuild.builds.list": "roles/cloudbuild.builds.viewer",
    "cloudbuild.builds.create": "roles/cloudbuild.builds.editor",
    "logging.logEntries.list": "roles/logging.viewer",
    "run.services.get": "roles/run.viewer",
    "run.services.list": "roles/run.viewer",
    "run.services.getIamPolicy": "roles/run.viewer",
    "run.revisions.get": "roles/run.viewer",
    "run.revisions.list": "roles/run.viewer",
    "run.operations.get": "roles/run.viewer",
    "run.services.update": "roles/run.developer",
    "run.services.setIamPolicy": "roles/run.admin",
    "run.routes.invoke": "roles/run.invoker",
    "storage.objects.get": "roles/storage.objectViewer",
    "storage.objects.create": "roles/storage.objectAdmin",
    "storage.buckets.get": "roles/storage.admin",
    "storage.buckets.create": "roles/storage.admin",
    "pubsub.subscriptions.list": "roles/pubsub.viewer",
    "iam.serviceAccounts.actAs": "roles/iam.serviceAccountUser",
    "iam.serviceAccounts.getOpenIdToken": "roles/iam.serviceAccountTokenCreator",
    "iam.serviceAccounts.getAccessToken": "roles/iam.serviceAccountTokenCreator",
    "bigquery.jobs.create": "roles/bigquery.jobUser",
    "bigquery.datasets.get": "roles/bigquery.dataViewer",
    "bigquery.tables.get": "roles/bigquery.dataViewer",
    "bigquery.tables.getData": "roles/bigquery.dataViewer",
    "bigquery.tables.list": "roles/bigquery.dataViewer",
    "bigquery.datasets.create": "roles/bigquery.dataEditor",
    "bigquery.datasets.update": "roles/bigquery.dataEditor",
    "bigquery.datasets.delete": "roles/bigquery.dataEditor",
    "bigquery.tables.create": "roles/bigquery.dataEditor",
    "bigquery.tables.update": "roles/bigquery.dataEditor",
    "bigquery.tables.updateData": "roles/bigquery.dataEditor",
    "bigquery.tables.delete": "roles/bigquery.dataEditor",
}

# The permission each call the kit makes needs, by (API, method): for a refusal that does not name it
# (a plain 403, or the JSON APIs' "forbidden"). `done` polls a long-running operation.
PERMISSION_FOR_CALL = {
    ("Cloud Build", "get_build"): "cloudbuild.builds.get",
    ("Cloud Build", "list_builds"): "cloudbuild.builds.list",
    ("Cloud Build", "create_build"): "cloudbuild.builds.create",
    ("Cloud Build", "done"): "cloudbuild.builds.get",
    ("Cloud Run", "get_service"): "run.services.get",
    ("Cloud Run", "list_services"): "run.services.list",
    ("Cloud Run", "get_revision"): "run.revisions.get",
    ("Cloud Run", "list_revisions"): "run.revisions.list",
    ("Cloud Run", "get_iam_policy"): "run.services.getIamPolicy",
    ("Cloud Run", "update_service"): "run.services.update",
    ("Cloud Run", "set_iam_policy"): "run.services.setIamPolicy",
    ("Cloud Run", "done"): "run.operations.get",
    ("Cloud Logging", "list_entries"): "logging.logEntries.list",
    ("Cloud Storage", "download_as_text"): "storage.objects.get",
    ("Cloud Storage", "download_as_bytes"): "storage.objects.get",
    ("Cloud Storage", "get_blob"): "storage.objects.get",
    ("Cloud Storage", "upload_from_string"): "storage.objects.create",
    ("Cloud Storage", "lookup_bucket"): "storage.buckets.get",
    ("Cloud Storage", "create_bucket"): "storage.buckets.create",
    ("Pub/Sub", "list_subscriptions"): "pubsub.subscriptions.list",
}

DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured"})
# The projects of gcloud's own OAuth clients, which Google bills (and checks APIs in) for user credentials that
# name no quota project.
GCLOUD_CLIENT_PROJECTS = frozenset({"764086051850", "32555940559"})
PERIMETER_REASONS = frozenset({"SECURITY_POLICY_VIOLATED", "vpcServiceControls"})
RATE_REASONS = frozenset({"RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "rateLimitExceeded",
                          "userRateLimitExceeded"})
CREDENTIAL_REASONS = frozenset({"ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
_VPC_SC_ID = re.compile(r"vpcServiceControlsUniqueIdentifier:?\s*([A-Za-z0-9_-]+)")
_PERMISSION = re.compile(r"Permission '([a-z]\w*(?:\.\w+)+)'|does not have ([a-z]\w*(?:\.\w+)+) access")
_SERVICE = re.compile(r"\b([a-z][a-z0-9-]*\.googleapis\.com)\b")
# google.api_core starts a REST error's message with the request ("GET https://...: "); the kit names the call.
_REQUEST = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE|HEAD) \S+: ")


# ---------------------------------------------------------------- what a refusal carries

def reason_of(exc: BaseException) -> str | None:
    """ErrorInfo's reason, else the first of the JSON APIs' `errors[].reason`; a RetryError's cause's."""
    exc = _cause(exc)
    reason = getattr(exc, "reason", None)
    if reason:
        return reason
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return first.get("reason")


def metadata_of(exc: BaseException) -> dict:
    metadata = getattr(_cause(exc), "metadata", None)
    return dict(metadata) if metadata else {}


def vpc_sc_identifier(exc: BaseException) -> str | None:
    """The vpcServiceControlsUniqueIdentifier of a perimeter's refusal: ErrorInfo's uid, the
    PreconditionFailure violation's description, or the message's text."""
    exc = _cause(exc)
    if reason_of(exc) in PERIMETER_REASONS and metadata_of(exc).get("uid"):
        return metadata_of(exc)["uid"]
    for detail in getattr(exc, "details", None) or ():
        for violation in (detail.get("violations") or []) if isinstance(detail, dict) else ():
            if violation.get("type") == "VPC_SERVICE_CONTROLS" and violation.get("description"):
                return violation["description"]
    found = _VPC_SC_ID.search(_message(exc))
    return found.group(1) if found else None


def permission_of(exc: BaseException, api: str, call: str) -> str | None:
    """The permission refused: ErrorInfo's, Google's message's, else the one the call needs."""
    named = metadata_of(exc).get("permission")
    if named:
        return named
    found = _PERMISSION.search(_message(exc))
    if found:
        return found.group(1) or found.group(2)
    return PERMISSION_FOR_CALL.get((api, call))


def role_for_permission(permission: str | None) -> str | None:
    return ROLE_FOR_PERMISSION.get(permission or "")


def is_rate_limit(exc: BaseException) -> bool:
    from google.api_core import exceptions

    return isinstance(_cause(exc), exceptions.TooManyRequests) or reason_of(exc) in RATE_REASONS


def _cause(exc: BaseException) -> BaseException:
    from google.api_core import exceptions

    if isinstance(exc, exceptions.RetryError) and exc.cause is not None:
        return exc.cause
    return exc


def _message(exc: BaseException) -> str:
    """The exception's message without the request line; when it is Google's JSON error body (as the Storage
    client's downloads quote it, followed by the transport's status tuple), that body's own `message`."""
    text = _REQUEST.sub("", str(getattr(exc, "message", None) or exc))
    if text.lstrip().startswith("{"):
        try:
            body, _ = json.JSONDecoder().raw_decode(text.lstrip())
        except ValueError:
            return text
        error = body.get("error") if isinstance(body, dict) else None
        said = error.get("message") if isinstance(error, dict) else None
        if isinstance(said, str) and said.strip():
            return said
    return text


def google_words(exc: BaseException, limit: int = 240) -> str:
    """Google's own words, on one line, for the end of a sentence."""
    return one_line(_message(_cause(exc)).rstrip(". "), limit)


# ---------------------------------------------------------------- the sentences

def key_file_refusal(key_file: str, exc: BaseException) -> str:
    """GOOGLE_APPLICATION_CREDENTIALS naming a file google.auth cannot use, in one sentence: the variable, its
    value, what is wrong and google.auth's own words (advice to set the variable would be no help)."""
    path = Path(key_file).expanduser()
    if not path.exists():
        what = "no such file"
    elif path.is_dir():
        what = "a folder, not a key file"
    else:
        what = "not a service account or authorized user key file"
    reason = " ".join(str(exc).split()).rstrip(". ")
    return (f"target=gcp cannot use {KEY_FILE_ENV}={key_file}: {what} (google.auth: {reason}); point it at a "
            f"service account or authorized user key file, or unset it and run `gcloud auth application-default "
            f"login`.")


def credentials_error(exc: BaseException, where: str | None) -> CredentialsMissing | None:
    """google.auth's DefaultCredentialsError (none found) or RefreshError (expired, revoked, or an
    impersonation refused) as one sentence; None for anything else."""
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, auth_exceptions.InvalidOperation):   # a 401 answered to anonymous credentials
        return CredentialsMissing(f"{where} refused anonymous credentials, which were chosen for it "
                                  f"(RUNBOOK_GCP_ANONYMOUS=1 or anonymous=True): choose them only for an endpoint "
                                  f"that takes none, or {HOW_TO_LOG_IN}.")
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        key_file = os.environ.get(KEY_FILE_ENV)
        if key_file:   # google.auth reads the variable first and stops at a file it cannot use
            return CredentialsMissing(key_file_refusal(key_file, exc))
        for_where = f" for {where}" if where else ""
        return CredentialsMissing(f"target=gcp found no Google Cloud credentials{for_where}: {HOW_TO_LOG_IN}.")
    if isinstance(exc, auth_exceptions.RefreshError):
        return CredentialsMissing(f"The Google Cloud credentials were refused when calling {where} "
                                  f"({one_line(exc, 160)}): {HOW_TO_LOG_IN}.")
    return None


def common_refusal(exc: BaseException, api: str, call: str, project: str | None,
                   endpoint: str | None = None) -> RunbookError | None:
    """What every API means the same way: credentials (none, expired, refused, without the
    cloud-platform scope), an API not enabled, billing disabled, a VPC Service Controls perimeter.
    `call` is what the kit was doing (a method name, or words such as "the query"); None for the rest."""
    from google.api_core import exceptions

    where = f"{api} at {endpoint}" if endpoint else api
    said = credentials_error(exc, where)
    if said is not None:
        return said
    if not isinstance(exc, (exceptions.GoogleAPICallError, exceptions.RetryError)):
        return None
    reason, metadata = reason_of(exc), metadata_of(exc)
    in_project = f" in project {project}" if project else ""
    if isinstance(_cause(exc), exceptions.Unauthorized):
        why = f"401 UNAUTHENTICATED, {reason}" if reason else "401 UNAUTHENTICATED"
        return CredentialsMissing(f"{where} refused the credentials for {call} ({why}): {HOW_TO_LOG_IN}.")
    if reason in CREDENTIAL_REASONS:
        return CredentialsMissing(f"{where} refused {call}: the credentials' access token lacks the cloud-platform "
                                  f"scope ({reason}); on a VM or GKE node give it that scope, or {HOW_TO_LOG_IN}.")
    if reason in DISABLED_REASONS:
        service = metadata.get("service") or _service_named(exc) or f"the {api} API"
        consumer = metadata.get("consumer", "").rpartition("/")[2]
        title = metadata.get("serviceTitle") or f"{api} API"
        if consumer in GCLOUD_CLIENT_PROJECTS:
            # Google checked the API where the calls are billed: with user credentials and no quota project, the
            # project of gcloud's own OAuth client, where enabling anything is neither possible nor the fix.
            return ServiceDisabled(f"{api} refused {call}: Google checked the {title} ({service}) in project "
                                   f"{consumer}, gcloud's own OAuth client project, not in {project or 'yours'}, as "
                                   f"your Application Default Credentials name no quota project: run `gcloud auth "
                                   f"application-default set-quota-project {project or 'PROJECT'}` and run it again.",
                                   service=service, project=consumer)
        target = project or consumer or "PROJECT"
        return ServiceDisabled(f"The {title} ({service}) is not enabled in project {target}, so {api} refused "
                               f"{call}: run `gcloud services enable {service} --project={target}`, wait a minute "
                               f"for it to take effect, and run it again.", service=service, project=target)
    if reason == "BILLING_DISABLED":
        return AccessDenied(f"{api} refused {call}{in_project} because billing is disabled for the project "
                            f"(BILLING_DISABLED): link a billing account with `gcloud billing projects link "
                            f"{project or 'PROJECT'} --billing-account=ACCOUNT_ID`.", scope=f"project {project}")
    perimeter = vpc_sc_identifier(exc)
    if perimeter or reason in PERIMETER_REASONS:
        return AccessDenied(f"{api} refused {call}{in_project}: a VPC Service Controls perimeter blocked the request "
                            f"(vpcServiceControlsUniqueIdentifier: {perimeter or 'not given'}); give that identifier "
                            f"to your administrator, who finds the rule that blocked it in the perimeter's audit "
                            f"logs, or run the kit from inside the perimeter.",
                            scope="a VPC Service Controls perimeter", vpc_sc_id=perimeter)
    return None


def refusal(exc: BaseException, api: str, call: str, project: str | None, endpoint: str | None = None,
            retried_s: float | None = None) -> RunbookError | None:
    """The kit's error for Google's refusal of one call (401, 403, 404, 429, with their reasons), or None
    for anything else. `retried_s`: how long the call policy retried a read before giving up."""
    from google.api_core import exceptions

    said = common_refusal(exc, api, call, project, endpoint)
    if said is not None:
        return said
    if not isinstance(exc, (exceptions.GoogleAPICallError, exceptions.RetryError)):
        return None
    cause = _cause(exc)
    in_project = f" in project {project}" if project else ""
    if is_rate_limit(exc):
        limit = _quota_text(exc)
        if isinstance(exc, exceptions.RetryError):
            return QuotaExceeded(f"{api} still refused {call}{in_project} after retrying with backoff for "
                                 f"{retried_s or 0:g} s: {limit}; wait a few minutes and run it again, or ask for "
                                 f"a higher quota ({QUOTA_HELP}).")
        return QuotaExceeded(f"{api} refused {call}{in_project}: {limit}; it was not sent again, since a change "
                             f"sent twice could happen twice: wait a minute and run it again.")
    if isinstance(cause, exceptions.Forbidden):
        permission = permission_of(cause, api, call)
        role = role_for_permission(permission)
        scope = f"project {project}" if project else "the project"
        needs = (f"the caller needs {role} ({permission}) on {scope}" if role else
                 f"the caller lacks {permission or 'a permission'}")
        return AccessDenied(f"{api} denied {call}{in_project}: {needs}; Google said: {google_words(cause)}.",
                            role=role, scope=scope)
    if isinstance(cause, exceptions.NotFound):
        return NotFoundError(f"{api} found nothing for {call}{in_project}: {google_words(cause)}.")
    return None


def _quota_text(exc: BaseException) -> str:
    metadata, reason = metadata_of(exc), reason_of(exc)
    limit = metadata.get("quota_limit") or metadata.get("quota_metric")
    value = f" of {metadata['quota_limit_value']}" if metadata.get("quota_limit_value") else ""
    what = f"the quota {limit}{value} is used up" if limit else "a rate limit or quota was exceeded"
    return f"{what} ({reason or getattr(_cause(exc), 'code', 429)}: {google_words(exc, 160)})"


def _service_named(exc: BaseException) -> str | None:
    found = _SERVICE.search(_message(_cause(exc)))
    return found.group(1) if found else None


# ---------------------------------------------------------------- what the caller is left with

@contextmanager
def refused_as(what: str, error: type[RunbookError] = RunbookError, write: bool = False) -> Iterator[None]:
    """Google's errors the call policy leaves to the caller (a 400 for an image that does not exist, a 409,
    a 503 answered to a write, which is never sent again) as `error(refused_sentence(what, exc))`. Missing
    roles, disabled APIs, quotas, credentials and a 404 are the policy's sentences already (refusal() above)
    and pass through, as does everything that is not Google's answer. With `write` (the call changes
    something), a failure on Google's side also says that the call was not sent again and may have taken
    effect: the operator looks before running it again."""
    from google.api_core import exceptions

    try:
        yield
    except exceptions.GoogleAPICallError as exc:
        said = refused_sentence(what, exc)
        if write and isinstance(exc, exceptions.ServerError):
            said = said.removesuffix(".") + ("; it was not sent again, and may or may not have taken effect: "
                                             "look before running it again.")
        raise error(said) from None


def refused_sentence(what: str, exc: BaseException) -> str:
    """One sentence: what the kit was doing, "was refused" (4xx) or "failed" (5xx), why in the words of
    google.api_core's class for the answer with its HTTP status (403 permission denied, 404 not found,
    400 failed precondition, 503 service unavailable ...), ErrorInfo's reason and the permission it
    names, then Google's own words. `what` names the resource ("Reading gs://b/o")."""
    from google.api_core import exceptions

    code, said = getattr(exc, "code", None), google_words(exc, 200)
    status = f"{int(code)} {_words(type(exc))}".strip() if code else _words(type(exc))
    reason, permission = reason_of(exc), metadata_of(exc).get("permission")
    why = [status, reason, f"permission {permission}" if permission and permission not in said else None]
    verb = "failed" if isinstance(exc, exceptions.ServerError) else "was refused"
    because = ", ".join(w for w in why if w)
    return f"{what} {verb}{f' ({because})' if because else ''}: {said}."


_GENERIC = frozenset({"GoogleAPICallError", "GoogleAPIError", "ClientError", "ServerError", "RedirectionException"})


def _words(kind: type) -> str:
    """google.api_core's exception class as words: PermissionDenied -> "permission denied"."""
    from google.api_core import exceptions

    if kind.__module__ != exceptions.__name__ or kind.__name__ in _GENERIC:
        return ""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__).lower()
