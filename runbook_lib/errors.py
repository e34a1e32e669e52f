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


class PermissionRefused(RunbookError, PermissionError):
    """The caller may not read something optional; the sentence names the role that would allow it."""
