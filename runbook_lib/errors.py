"""Errors the kit raises on purpose; each carries one sentence an operator can act on."""


class RunbookError(Exception):
    """Base of every error the kit raises deliberately."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this: in a notebook (and its HTML page) the kit's own errors show as their one
        # sentence, never as a Python traceback; a traceback is kept for real bugs.
        return [f"{type(self).__name__}: {self}"]


# A value longer than this is shown cut in the sentence: the sentence is cut to one line where it is shown
# (the terminal, the morning review), and what is allowed must survive that, not 5,000 characters of value.
SHOWN_VALUE_LIMIT = 100


class ParameterError(RunbookError, ValueError):
    """Bad input: names the parameter, the value and what is allowed. The CLI exits 2."""

    def __init__(self, parameter: str, value: object, allowed: str):
        self.parameter = parameter
        self.value = value
        # one line, always: what is allowed may quote the value (a folder named with a newline) unescaped
        self.allowed = allowed.replace("\r", "\\r").replace("\n", "\\n")
        super().__init__(f"{parameter}={shown_value(value)} is not valid: {self.allowed}.")


def shown_value(value: object) -> str:
    """repr(value), cut to about SHOWN_VALUE_LIMIT characters with an ellipsis and its length; scrubbed of
    secret shapes first, so a cut never leaves half a password that no rule recognises any more."""
    from .masking import mask_text

    text = repr(value)
    if len(text) <= SHOWN_VALUE_LIMIT:
        return mask_text(text)
    whole = value if isinstance(value, str) else text
    cut = mask_text(whole)[:SHOWN_VALUE_LIMIT - 20] + "…"
    return f"{cut!r} ({len(whole):,} characters)" if isinstance(value, str) else f"{cut} ({len(whole):,} characters)"


class ConfigError(RunbookError, ValueError):
    """A configuration file (phases.yaml, a plan) is malformed; names the file and the key."""


class NotFoundError(RunbookError, LookupError):
    """A dataset, table, build, service or file that the operator named does not exist."""


class NotBuiltYet(RunbookError, NotImplementedError):
    """A capability that a later piece of work delivers; never a silent fake result."""

    def __init__(self, what: str, area: str):
        super().__init__(f"{what} is not built yet (issue area: {area}).")


class WarehouseBusy(RunbookError):
    """The local warehouse file stayed locked by another process longer than the retry budget."""


class WarehouseDamaged(RunbookError):
    """The local warehouse file is missing, empty, truncated or unreadable; says how to rebuild it."""


class CloudUnreachable(RunbookError):
    """A Google Cloud API did not answer in time, could not be reached or stayed unavailable, after the
    call policy's retries (so not a ConnectionError another retry would try again); names the API and its
    endpoint."""


class CredentialsMissing(RunbookError, PermissionError):
    """target=gcp has no usable Google Cloud credentials (none found, expired or refused, or without the
    cloud-platform scope); says how to get them. The CLI exits 2 when it finds this before a run."""


class OperationTimeout(RunbookError):
    """A build or a rollout outlasted the time the kit waits for it; it may still finish on its own."""


class ServiceTimeout(RunbookError, TimeoutError):
    """A call to a phase service got no answer in time; the service may still be working on it."""


class WarehouseQueryError(RunbookError, RuntimeError):
    """SQL the warehouse refused when it ran it (BigQuery's invalidQuery, or what the local warehouse
    refuses as BigQuery would); names the line and column when the warehouse gave them."""


class NullArrayElement(WarehouseQueryError):
    """A result column whose ARRAY holds a NULL element, which BigQuery refuses to return (`column` names it)."""

    def __init__(self, message: str, column: str):
        super().__init__(message)
        self.column = column


class AccessDenied(RunbookError, PermissionError):
    """Google Cloud refused a call: the caller lacks a permission (`role` grants it, `scope` is where to
    grant it), or a VPC Service Controls perimeter blocked it (`vpc_sc_id`, the identifier an
    administrator looks up). A runbook that can do without what was refused catches this and carries on."""

    def __init__(self, message: str, role: str | None = None, scope: str | None = None,
                 vpc_sc_id: str | None = None):
        super().__init__(message)
        self.role = role
        self.scope = scope
        self.vpc_sc_id = vpc_sc_id


class ServiceDisabled(AccessDenied):
    """A Google Cloud API is not enabled in the project; `command` is the `gcloud services enable` that fixes it."""

    def __init__(self, message: str, service: str, project: str):
        super().__init__(message, scope=f"project {project}")
        self.service = service          # e.g. cloudbuild.googleapis.com
        self.command = f"gcloud services enable {service} --project={project}"


class BytesBilledLimitExceeded(RunbookError):
    """A query would bill more than the target's maximum_bytes_billed; `estimate` is the dry run's bytes."""

    def __init__(self, message: str, limit: int, estimate: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.estimate = estimate


class QuotaExceeded(RunbookError):
    """A quota or rate limit refused the call: a read after the retries with backoff, a write at once
    (a write is never sent twice blindly)."""
