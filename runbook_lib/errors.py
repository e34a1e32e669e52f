"""Errors the kit raises on purpose; each carries one sentence an operator can act on."""


class RunbookError(Exception):
    """Base of every error the kit raises deliberately."""


class ParameterError(RunbookError, ValueError):
    """Bad input: names the parameter, the value and what is allowed. The CLI exits 2."""

    def __init__(self, parameter: str, value: object, allowed: str):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        super().__init__(f"{parameter}={value!r} is not valid: {allowed}.")


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


class OperationTimeout(RunbookError):
    """A build or a rollout outlasted the time the kit waits for it; it may still finish on its own."""


class ServiceTimeout(RunbookError, TimeoutError):
    """A call to a phase service got no answer in time; the service may still be working on it."""


class WarehouseQueryError(RunbookError, RuntimeError):
    """SQL the warehouse refused when it ran it (BigQuery's invalidQuery, or what the local warehouse
    refuses as BigQuery would); names the line and column when the warehouse gave them."""


class AccessDenied(RunbookError, PermissionError):
    """The caller lacks a permission; `role` is the role that grants it, `scope` where to grant it."""

    def __init__(self, message: str, role: str | None = None, scope: str | None = None):
        super().__init__(message)
        self.role = role
        self.scope = scope


class BytesBilledLimitExceeded(RunbookError):
    """A query would bill more than the target's maximum_bytes_billed; `estimate` is the dry run's bytes."""

    def __init__(self, message: str, limit: int, estimate: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.estimate = estimate


class QuotaExceeded(RunbookError):
    """A quota or rate limit still refused the call after the retries with backoff."""


class PermissionRefused(RunbookError, PermissionError):
    """The caller may not read something optional; the sentence names the role that would allow it."""
