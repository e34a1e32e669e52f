"""BigQuery's errors as the kit's one-sentence errors, and the retry with backoff for quota and rate limits.

BigQuery names what went wrong in `error.errors[].reason` (notFound, accessDenied, invalidQuery,
bytesBilledLimitExceeded, rateLimitExceeded, quotaExceeded, ...); google-cloud-bigquery keeps that list
on the exception (`exc.errors`), whether the HTTP call failed or the job did. The mapping reads the
reason, never the HTTP status alone: BigQuery answers a rate limit with 403 as often as with 429.
What every Google API means the same way (credentials, the API not enabled, billing, a VPC Service
Controls perimeter) and which role grants a permission come from the shared table, gcp/refusals.py.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from google.api_core import exceptions
from google.api_core import retry as retries

from ..errors import AccessDenied, BytesBilledLimitExceeded, NotFoundError, QuotaExceeded, WarehouseQueryError
from ..formats import one_line, size
from .refusals import common_refusal, role_for_permission

RETRY_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded", "backendError", "internalError"})
LIMIT_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded"})
RETRY_SECONDS = 120.0

# The read, write and job roles (BigQuery's IAM docs); which permission each grants is in refusals.py.
VIEWER, JOB_USER, EDITOR = "roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/bigquery.dataEditor"
_PERMISSION = re.compile(r"\bbigquery\.\w+\.\w+")
# BigQuery's words when its message names no permission.
_PHRASE_ROLES = ((re.compile(r"run query jobs", re.I), JOB_USER), (re.compile(r"query table|read table", re.I), VIEWER))
_RESOURCE = re.compile(r"\b(Table|Dataset) [a-z][a-z0-9-]*:(\w+)(?:\.([\w-]+))?")
_POSITION = re.compile(r"\s*at \[(\d+):(\d+)\]\s*$")
_REQUIRED = re.compile(r"(\d+) or higher required")


def reason_of(exc: BaseException) -> str | None:
    """The first BigQuery error reason an exception carries (None for anything else)."""
    if isinstance(exc, exceptions.RetryError):
        return reason_of(exc.cause) if exc.cause is not None else None
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return first.get("reason") or getattr(exc, "reason", None)


def message_of(exc: BaseException) -> str:
    """BigQuery's own message, without the client's status prefix and repeated error list."""
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    text = first.get("message") or getattr(exc, "message", None) or str(exc)
    return one_line(str(text).rstrip(". "), 400)


def is_retryable(exc: BaseException) -> bool:
    """Quota, rate limits and BigQuery's transient backend errors; never a refused or broken query."""
    if isinstance(exc, (exceptions.TooManyRequests, exceptions.ServiceUnavailable, exceptions.BadGateway,
                        ConnectionError)):
        return True
    return isinstance(exc, exceptions.GoogleAPICallError) and reason_of(exc) in RETRY_REASONS


def retry_policy(seconds: float = RETRY_SECONDS, initial: float = 1.0, maximum: float = 30.0) -> retries.Retry:
    """Exponential backoff (doubling from `initial`, with jitter, at most `maximum` apart) for `seconds`."""
    return retries.Retry(predicate=is_retryable, initial=initial, maximum=maximum, multiplier=2.0, timeout=seconds)


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


def _size(n: int | None) -> str:
    return "an unknown amount" if n is None else size(n)


def explain(exc: BaseException, doing: str, project: str, kind: str = "read", dataset: str | None = None,
            not_found: Callable[[str | None, str | None, str], Exception] | None = None,
            limit: int | None = None, estimate: Callable[[], int | None] | None = None,
            retry_seconds: float | None = None) -> BaseException:
    """The kit's error for a failed BigQuery call, or `exc` itself when it is not BigQuery's.

    doing: what the kit was doing, e.g. "the query" or "reading table ds.t"; kind: read, write or job
    (which role an access error points at); not_found(dataset, table, message) builds the not-found
    sentence (the adapter lists what does exist); estimate() dry-runs the query for a billing error.
    """
    shared = common_refusal(exc, "BigQuery", doing, project)
    if shared is not None:
        return shared
    if not isinstance(exc, (exceptions.GoogleAPICallError, exceptions.RetryError)):
        return exc
    reason = reason_of(exc)
    message = message_of(exc.cause if isinstance(exc, exceptions.RetryError) and exc.cause else exc)
    if isinstance(exc, exceptions.RetryError) or reason in LIMIT_REASONS:
        waited = f" after retrying with backoff for {retry_seconds:g}s" if retry_seconds else ""
        return QuotaExceeded(f"BigQuery still refused {doing} in project {project} ({reason or 'retries exhausted'})"
                             f"{waited}: {message}; wait a few minutes and run it again, or run fewer queries at once.")
    if reason == "notFound" or isinstance(exc, exceptions.NotFound):
        ds, table = _resource(message)
        if not_found is not None:
            return not_found(ds or dataset, table, message)
        return NotFoundError(f"BigQuery found nothing for {doing} in project {project}: {message}.")
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
    position = _POSITION.search(message)
    if position:
        line, column = position.groups()
        return WarehouseQueryError(f"BigQuery rejected the SQL of {doing} at line {line}, column {column}: "
                                   f"{_POSITION.sub('', message)}.")
    return WarehouseQueryError(f"BigQuery refused {doing} ({reason or type(exc).__name__}): {message}.")


def call(fn: Callable[[], Any], policy: retries.Retry | None) -> Any:
    """fn() retried by `policy` (None: once)."""
    return policy(fn)() if policy is not None else fn()
