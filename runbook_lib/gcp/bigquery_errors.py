"""BigQuery's errors as the kit's one-sentence errors, and BigQuery's transient reasons for the call policy's retry.

BigQuery names what went wrong in `error.errors[].reason` (notFound, accessDenied, invalidQuery,
bytesBilledLimitExceeded, rateLimitExceeded, quotaExceeded, ...); google-cloud-bigquery keeps that list
on the exception (`exc.errors`), whether the HTTP call failed or the job did. The mapping reads the
reason, never the HTTP status alone: BigQuery answers a rate limit with 403 as often as with 429.
What every Google API means the same way (credentials, the API not enabled, billing, a VPC Service
Controls perimeter), which role grants a permission and how a reason is read come from the shared table,
gcp/refusals.py. How long a call waits and what it retries is the call policy of every API (gcp/calls.py);
BigQuery's own reasons decide what it retries (retry_policy), and what the policy says on giving up (no
answer, a lost connection, a service still unavailable) is the same sentence as for every API.
"""
from __future__ import annotations

import re
from typing import Callable

from google.api_core import exceptions
from google.api_core import retry as retries

from ..errors import AccessDenied, BytesBilledLimitExceeded, NotFoundError, QuotaExceeded, WarehouseQueryError
from ..formats import one_line, size
from ..warehouse import null_element_refusal
from .calls import CallPolicy, is_transient
from .refusals import common_refusal, is_rate_limit, reason_of, role_for_permission

# BigQuery's reasons worth another try: google-cloud-bigquery's own (its DEFAULT_RETRY), and quotaExceeded,
# which BigQuery also answers for limits that clear in seconds (concurrent queries, table updates per table).
RETRY_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded", "backendError", "internalError", "badGateway"})
LIMIT_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded"})

# The read, write and job roles (BigQuery's IAM docs); which permission each grants is in refusals.py.
VIEWER, JOB_USER, EDITOR = "roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/bigquery.dataEditor"
_PERMISSION = re.compile(r"\bbigquery\.\w+\.\w+")
# BigQuery's words when its message names no permission.
_PHRASE_ROLES = ((re.compile(r"run query jobs", re.I), JOB_USER), (re.compile(r"query table|read table", re.I), VIEWER))
_RESOURCE = re.compile(r"\b(Table|Dataset) [a-z][a-z0-9-]*:(\w+)(?:\.([\w-]+))?")
_POSITION = re.compile(r"\s*at \[(\d+):(\d+)\]\s*$")
_REQUIRED = re.compile(r"(\d+) or higher required")
# BigQuery's 404 for a job run outside the location of a dataset it names reads like a missing dataset.
_NULL_ELEMENT = re.compile(r"Array cannot have a null element; error in writing field (\S+)")
_JOB_LOCATION = re.compile(r"was not found in location ([\w-]+)")

# BigQuery's 403 reasons that no role fixes (google-cloud-bigquery's job/base.py maps them to 403 with
# accessDenied; BigQuery's error-messages page says what each means): what it means and what to do.
_NOT_A_ROLE = {
    "billingNotEnabled": (AccessDenied, "billing is not enabled for the project, and BigQuery needs it for this "
                                        "(DML and more than the free tier): link a billing account with "
                                        "`gcloud billing projects link {project} --billing-account=ACCOUNT_ID`"),
    "responseTooLarge": (WarehouseQueryError, "the result is larger than BigQuery returns in one response: select "
                                              "fewer rows or columns, or aggregate before reading it back"),
    "policyViolation": (AccessDenied, "a policy set on the project or its data (an organization policy, a data "
                                      "policy or a row-level access policy) forbids it, which no role the kit "
                                      "could name changes: ask whoever manages that policy"),
    "blocked": (WarehouseQueryError, "BigQuery has blocked this operation for now, usually to protect the service: "
                                     "wait and run it again later, and contact Google Cloud support if it stays "
                                     "blocked"),
}


def message_of(exc: BaseException) -> str:
    """BigQuery's own message, without the client's status prefix and repeated error list."""
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    text = first.get("message") or getattr(exc, "message", None) or str(exc)
    return one_line(str(text).rstrip(". "), 400)


def is_retryable(exc: BaseException) -> bool:
    """Worth another try on BigQuery. Where BigQuery names a reason, the reason decides, as in
    google-cloud-bigquery's DEFAULT_RETRY: a failed job's error carries its reason on a 500 when the client
    knows no other status for it (bytesBilledLimitExceeded, resourcesExceeded, ...), which is no fault to
    retry. Otherwise what every API retries (gcp/calls.py is_transient)."""
    reason = reason_of(exc) if isinstance(exc, exceptions.GoogleAPICallError) else None
    if reason is None:
        return is_transient(exc)
    return reason in RETRY_REASONS or is_rate_limit(exc)


def retry_policy(policy: CallPolicy) -> retries.Retry:
    """The call policy's retry (its deadline and backoff) over BigQuery's transient faults (is_retryable)."""
    return policy.retry(is_retryable)


def _role_for(message: str, kind: str) -> str:
    named = _PERMISSION.search(message)
    role = role_for_permission(named.group(0)) if named else None
    if role is not None:
        return role
    for pattern, role in _PHRASE_ROLES:
        if pattern.search(message):
            return role
    return {"job": JOB_USER, "write": EDITOR}.get(kind, VIEWER)


def _resource(message: str) -> tuple[str | None, str | None]:
    """(dataset, table) named in BigQuery's message such as "Table p:ds.t" or "Dataset p:ds"."""
    found = _RESOURCE.search(message)
    return (found.group(2), found.group(3)) if found else (None, None)


def _same_location(a: str, b: str) -> bool:
    return a.lower() == b.lower()   # BigQuery's locations are case-insensitive (US, us, us-west2)


def _run_elsewhere(message: str, dataset: str | None, doing: str, located: Callable[[str], str | None] | None,
                   spread: Callable[[], dict[str, str]] | None = None) -> WarehouseQueryError | None:
    """The sentence for a job BigQuery ran outside the location of a dataset it names: its 404 ("Dataset P:DS
    was not found in location LOC") says the same for a dataset that does not exist, so it is this only when
    the dataset is found, elsewhere. Not a NotFoundError: the table is there (a reader such as
    existing_partitions must not take it for a missing table). spread() is where each dataset the query names
    is: datasets in two locations can be read by no job, wherever it runs."""
    job = _JOB_LOCATION.search(message)
    where = located(dataset) if job and dataset and located else None
    if where is None or _same_location(where, job.group(1)):
        return None
    places = spread() if spread is not None else {}
    if len({place.lower() for place in places.values()}) > 1:
        named = ", ".join(f"{name} in {place}" for name, place in sorted(places.items()))
        return WarehouseQueryError(
            f"BigQuery cannot run {doing}: it reads datasets in more than one location ({named}), and a query "
            f"reads datasets of one location only; a dataset cannot move, so recreate one of them beside the other.")
    return WarehouseQueryError(
        f"BigQuery ran {doing} in location {job.group(1)}, but dataset {dataset} is in location {where} and a "
        f"query runs only where the datasets it reads are: connect with bigquery_location='{where}' (or without "
        f"bigquery_location) to read it.")


def _size(n: int | None) -> str:
    return "an unknown amount" if n is None else size(n)


def explain(exc: BaseException, doing: str, project: str, kind: str = "read", dataset: str | None = None,
            not_found: Callable[[str | None, str | None, str], Exception] | None = None,
            limit: int | None = None, estimate: Callable[[], int | None] | None = None,
            retry_seconds: float | None = None, located: Callable[[str], str | None] | None = None,
            spread: Callable[[], dict[str, str]] | None = None) -> BaseException:
    """The kit's error for a failed BigQuery call, or `exc` itself when it is not BigQuery's to say: not
    BigQuery's answer, or retries used up on a fault that is not a limit (the call policy says those).

    doing: what the kit was doing, e.g. "the query" or "reading table ds.t"; kind: read, write or job
    (which role an access error points at); not_found(dataset, table, message) builds the not-found
    sentence (the adapter lists what does exist); estimate() dry-runs the query for a billing error;
    retry_seconds: the call policy's deadline, for a limit still refused after retrying; located(dataset)
    is where a dataset is (None when it does not exist), to tell a job run elsewhere from a missing dataset;
    spread() is where each dataset the query names is.
    """
    shared = common_refusal(exc, "BigQuery", doing, project)
    if shared is not None:
        return shared
    if not isinstance(exc, (exceptions.GoogleAPICallError, exceptions.RetryError)):
        return exc
    reason = reason_of(exc)
    message = message_of(exc.cause if isinstance(exc, exceptions.RetryError) and exc.cause else exc)
    retried = isinstance(exc, exceptions.RetryError)
    if reason in LIMIT_REASONS or is_rate_limit(exc):
        why = f"{doing} in project {project} ({reason or 'rate limited'})"
        said = f"still refused {why} after retrying with backoff for {retry_seconds or 0:g} s" if retried else \
            f"refused {why}"
        return QuotaExceeded(f"BigQuery {said}: {message}; wait a few minutes and run it again, or run fewer "
                             f"queries at once.")
    if retried:
        return exc
    if reason == "notFound" or isinstance(exc, exceptions.NotFound):
        ds, table = _resource(message)
        elsewhere = _run_elsewhere(message, ds or dataset, doing, located, spread)
        if elsewhere is not None:
            return elsewhere
        if not_found is not None:
            return not_found(ds or dataset, table, message)
        return NotFoundError(f"BigQuery found nothing for {doing} in project {project}: {message}.")
    if reason in _NOT_A_ROLE:
        error, what = _NOT_A_ROLE[reason]
        said = f"BigQuery refused {doing} in project {project} ({reason}): {what.format(project=project)} " \
               f"(BigQuery said: {message})."
        return error(said, scope=f"project {project}") if error is AccessDenied else error(said)
    if reason == "accessDenied" or isinstance(exc, (exceptions.Forbidden, exceptions.Unauthorized)):
        role = _role_for(message, kind)
        ds, _ = _resource(message)
        ds = ds or dataset
        if role == EDITOR:
            scope = f"the test dataset {ds} only (never a production dataset)" if ds else \
                "the test datasets only (never a production dataset)"
        elif role == JOB_USER:
            scope = f"project {project}"
        else:
            scope = f"dataset {ds}" if ds else f"the datasets it reads in project {project}"
        return AccessDenied(f"BigQuery denied {doing} in project {project}: grant the caller {role} on {scope} "
                            f"(BigQuery said: {message}).", role=role, scope=scope)
    if reason == "bytesBilledLimitExceeded":
        required = _REQUIRED.search(message)
        needed = int(required.group(1)) if required else None
        estimated = estimate() if estimate is not None else None
        return BytesBilledLimitExceeded(
            f"BigQuery refused {doing}: it would bill at least {_size(needed)}, more than "
            f"maximum_bytes_billed={limit} ({_size(limit)}), and its dry run estimates "
            f"{_size(estimated)} processed; add a partition filter, read fewer columns, "
            "or raise maximum_bytes_billed.", limit=limit or 0, estimate=estimated)
    null_element = _NULL_ELEMENT.search(message)
    if null_element:
        column = null_element.group(1)
        return WarehouseQueryError(null_element_refusal(column, doing, written=kind == "write"))
    position = _POSITION.search(message)
    if position:
        line, column = position.groups()
        return WarehouseQueryError(f"BigQuery rejected the SQL of {doing} at line {line}, column {column}: "
                                   f"{_POSITION.sub('', message)}.")
    return WarehouseQueryError(f"BigQuery refused {doing} ({reason or type(exc).__name__}): {message}.")
