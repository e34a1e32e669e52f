"""Typed runbook parameters, validated strictly with one clear sentence per mistake.

Each runbook has a model here (a subclass of `RunbookParams`). Its notebook declares the same names
in a cell tagged `parameters` and validates them in the next cell:

    from runbook_lib import params
    p = params.from_notebook(params.DiagnoseParams, globals())

A bad value raises `ParameterError` naming the parameter, the value and what is allowed; a name
the model does not know is an error too (papermill itself would only warn).

To add a runbook's model, subclass `RunbookParams`; use `param(default, allowed=...)` when the
automatic "what is allowed" text would be unclear, and raise `ParameterError` from validators.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
import typing
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from . import formats
from .diagnose.build import BUILD_ID_PATTERN
from .errors import ParameterError
from .target import TARGETS
from .masking import MASK, is_secret_name, mask_data, mask_value, secret_values

PROJECT_ID = Annotated[str, StringConstraints(pattern=rf"^{formats.PROJECT_ID.pattern}$")]
REGION = Annotated[str, StringConstraints(pattern=rf"^({formats.REGION.pattern}|global)$")]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
# papermill starts the cell it injects with this comment; the kernel's input history shows it.
INJECTED_COMMENT = "# Parameters"


class NotebookParameterError(ParameterError):
    """A ParameterError raised inside a notebook: IPython shows only the one sentence, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"ParameterError: {self}"]


# Exception names (as a notebook's error output records them) that mean "bad parameters".
PARAMETER_ERROR_NAMES = frozenset({"ParameterError", NotebookParameterError.__name__})


def unknown_parameter_error(name: str, allowed: str,
                            error_cls: type[ParameterError] = ParameterError) -> ParameterError:
    """A name the runbook does not take: "NAME is not a parameter of this runbook: ALLOWED."

    The sentence never repeats the value: a misspelt secret name (`api_tokn`) is not recognised as
    secret, so its value may well be one. `.value` is `***` for the same reason.
    """
    error = error_cls(name, MASK, allowed)
    error.args = (f"{name} is not a parameter of this runbook: {allowed}.",)
    return error


def param(default: Any = ..., *, allowed: str, **constraints: Any) -> Any:
    """A model field whose error message says `allowed`, e.g. allowed="a date as YYYY-MM-DD"."""
    return Field(default, json_schema_extra={"allowed": allowed}, **constraints)


class RunbookParams(BaseModel):
    """Parameters every runbook takes. Unknown names are rejected; instances are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # The runbook's name, for the `runbook=<name>` label BigQuery jobs carry on target=gcp.
    runbook: ClassVar[str | None] = None

    target: Literal[TARGETS] = "local"
    project: PROJECT_ID | None = param(
        None, allowed="a Google Cloud project id (6-30 lowercase letters, digits or hyphens, starting with a letter) or None")
    region: REGION | None = param(None, allowed="a Google Cloud region such as us-west2, global, or None")
    sandbox_home: str | None = param(None, allowed="the sandbox folder as text, or None for $RUNBOOK_HOME or ./.runbook")

    def masked(self) -> dict[str, Any]:
        """The values with secret-named parameters shown as ***, for displays and reports."""
        return {name: mask_value(name, value) for name, value in self.model_dump(mode="json").items()}

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `target.connect(p.target, **p.connect_options())`."""
        if self.target == "local":
            return {"home": self.sandbox_home} if self.sandbox_home else {}
        return {k: v for k, v in (("project", self.project), ("region", self.region), ("runbook", self.runbook)) if v}


def validate_params(model_cls: type[RunbookParams], values: Mapping[str, Any],
                    error_cls: type[ParameterError] = ParameterError) -> RunbookParams:
    """Build `model_cls` from `values`; the first problem becomes one ParameterError sentence."""
    fields = model_cls.model_fields
    for name in values:
        if name not in fields:
            raise unknown_parameter_error(name, f"use one of {', '.join(fields)}", error_cls)
    secrets = secret_values(values)
    try:
        return model_cls.model_validate(dict(values))
    except ValidationError as exc:
        raise _first_problem(model_cls, values, exc, error_cls, secrets) from None


def from_notebook(model_cls: type[RunbookParams], namespace: Mapping[str, Any]) -> RunbookParams:
    """Validate a notebook's parameters: `params.from_notebook(Model, globals())`.

    Reads the model's fields from the notebook namespace and rejects any name papermill injected
    that the model does not know (found in the kernel's input history, as papermill marks it).
    """
    _table_display_defaults()
    fields = model_cls.model_fields
    for name in injected_names(namespace):
        if name not in fields:
            raise unknown_parameter_error(name, f"use one of {', '.join(fields)}", NotebookParameterError)
    values = {name: namespace[name] for name in fields if name in namespace}
    return validate_params(model_cls, values, error_cls=NotebookParameterError)


def _table_display_defaults() -> None:
    """Runbook tables carry log lines, commands and image names: show them whole, wrapped, not cut at 50."""
    import pandas as pd

    pd.set_option("display.max_colwidth", 240)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 160)


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """Names assigned by the latest papermill-injected cell in an IPython namespace ([] if none)."""
    history = namespace.get("In")
    if not isinstance(history, list):
        return []
    for source in reversed(history):
        if isinstance(source, str) and source.lstrip().startswith(INJECTED_COMMENT):
            return list(assigned_names(source))
    return []


# ---------------------------------------------------------------------------------------------
# The notebook side: what a `parameters` cell declares.

@dataclass(frozen=True)
class DeclaredParameter:
    name: str
    annotation: str | None  # source text of the type, e.g. "str | None"
    default: Any            # the literal default, or the source text if it is not a literal
    help: str | None        # the comment on the assignment's line


def assigned_names(source: str) -> dict[str, ast.stmt]:
    """Top-level `name = ...` / `name: T = ...` statements of a cell, by name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def tagged_cells(nb: Any, tag: str) -> list[int]:
    return [i for i, cell in enumerate(nb["cells"]) if tag in cell.get("metadata", {}).get("tags", [])]


def declared_parameters(nb: Any) -> dict[str, DeclaredParameter]:
    """The parameters a notebook's `parameters` cell declares (empty if it has no such cell)."""
    indexes = tagged_cells(nb, PARAMETERS_TAG)
    if not indexes:
        return {}
    source = cell_source(nb["cells"][indexes[0]])
    comments = _line_comments(source)
    declared = {}
    for name, node in assigned_names(source).items():
        annotation = ast.get_source_segment(source, node.annotation) if isinstance(node, ast.AnnAssign) else None
        value_node = node.value
        try:
            default = ast.literal_eval(value_node) if value_node is not None else None
        except ValueError:
            default = ast.get_source_segment(source, value_node)
        declared[name] = DeclaredParameter(name, annotation, default, comments.get(node.end_lineno))
    return declared


def _line_comments(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return comments


# ---------------------------------------------------------------------------------------------
# One sentence from pydantic's error list.

_ALLOWED_BY_TYPE = {
    "missing": "a value is required",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "a mapping of names to values",
    "date_type": "a date as YYYY-MM-DD", "date_parsing": "a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "a date as YYYY-MM-DD", "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "datetime_type": "a date and time as YYYY-MM-DDTHH:MM:SS", "datetime_parsing": "a date and time as YYYY-MM-DDTHH:MM:SS",
    "datetime_from_date_parsing": "a date and time as YYYY-MM-DDTHH:MM:SS",
}

_ALLOWED_BY_CONSTRAINT = {
    "greater_than": "a value greater than {gt}", "greater_than_equal": "a value of at least {ge}",
    "less_than": "a value less than {lt}", "less_than_equal": "a value of at most {le}",
    "string_too_short": "text of at least {min_length} characters",
    "string_too_long": "text of at most {max_length} characters",
    "string_pattern_mismatch": "text matching {pattern}",
    "too_short": "at least {min_length} items", "too_long": "at most {max_length} items",
    "enum": "choose one of {expected}",
}


def _shown(name: str, value: Any, secrets: list[str] = ()) -> Any:
    """A value as an error sentence shows it: `***` for a secret name, else scrubbed of secret shapes
    and of the other secret parameters' values (a URL may carry a token)."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return mask_data(value, secrets) if isinstance(value, (str, Mapping, list, tuple)) else value


def _first_problem(model_cls: type[BaseModel], values: Mapping[str, Any], exc: ValidationError,
                   error_cls: type[ParameterError], secrets: list[str] = ()) -> ParameterError:
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ParameterError):
        # A validator raised the sentence itself; keep it (re-raised with the notebook-friendly class).
        return error_cls(cause.parameter, _shown(cause.parameter, cause.value, secrets), cause.allowed)
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else "parameters"
    value = values.get(name, error.get("input")) if loc else "..."
    return error_cls(name, _shown(name, value, secrets), _allowed(model_cls, name, error))


def _allowed(model_cls: type[BaseModel], name: str, error: Mapping[str, Any]) -> str:
    field = model_cls.model_fields.get(name)
    extra = field.json_schema_extra if field is not None else None
    if isinstance(extra, dict) and "allowed" in extra:
        return str(extra["allowed"])
    kind = error["type"]
    if kind == "literal_error" and field is not None:
        choices = _literal_choices(field.annotation)
        if choices:
            return "choose one of " + ", ".join(str(c) for c in choices)
    if kind in _ALLOWED_BY_TYPE:
        return _ALLOWED_BY_TYPE[kind]
    if kind in _ALLOWED_BY_CONSTRAINT:
        try:
            return _ALLOWED_BY_CONSTRAINT[kind].format(**(error.get("ctx") or {}))
        except KeyError:
            pass
    message = str(error.get("msg", "not accepted")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:].rstrip(".")


def _literal_choices(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    choices: list[Any] = []
    for arg in typing.get_args(annotation):
        choices.extend(_literal_choices(arg))
    if type(None) in typing.get_args(annotation):
        choices.append(None)
    return choices


# ---------------------------------------------------------------------------------------------
# The runbooks' own models.



def _known_phase(parameter: str, value: str) -> str:
    from .phases import load_phases

    registry = load_phases()
    try:
        return registry.get(value).name          # "4" and "phase4" name the same phase
    except ParameterError:
        raise ParameterError(parameter, value, f"choose one of {', '.join(registry.names())}") from None


def _existing(parameter: str, value: str, kind: str) -> str:
    path = Path(value).expanduser()
    ok = path.is_dir() if kind == "folder" else path.is_file()
    if not ok:
        raise ParameterError(parameter, value, f"give an existing {kind}, or leave it empty")
    return str(path.resolve())


class TargetParams(RunbookParams):
    """Parameters of a runbook that connects to a target: on local, the sandbox must exist already
    (a read-only runbook never creates one), which is checked here so it is bad input, exit 2."""

    @model_validator(mode="after")
    def _sandbox_ready(self) -> "TargetParams":
        if self.target == "local":
            from .local.home import sandbox_home
            from .local.state import require_initialised

            require_initialised(sandbox_home(self.sandbox_home), shown=self.sandbox_home)
        return self


class OverviewParams(TargetParams):
    """Runbook 00: what is serving and whether it can be trusted with a prefixed run."""

    runbook: ClassVar[str | None] = "00_pipeline_overview"

    source_dir: str = param("", allowed="a pipeline checkout folder (gcp: to tell which commits support dataset_prefix), or empty")

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        return _existing("source_dir", v, "folder") if v else v

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options


class DiagnoseParams(TargetParams):
    """Runbook 01: why a build failed, which builder ran and why, and the fix."""

    runbook: ClassVar[str | None] = "01_diagnose_build"

    build_id: str = param("", allowed="a Cloud Build id, a lowercase UUID like c3c052da-ddd1-46eb-9d3a-7219a9909377, or empty")
    phase: str = "phase4"
    source_dir: str = param("", allowed="an existing pipeline checkout folder, or empty")
    log_file: str = param("", allowed="an existing saved build log file, or empty")
    compare_with: str = ""

    @field_validator("build_id")
    @classmethod
    def _build_id(cls, v: str) -> str:
        if v and not BUILD_ID_PATTERN.fullmatch(v):
            raise ParameterError("build_id", v, "give a Cloud Build id, a lowercase UUID like "
                                 "c3c052da-ddd1-46eb-9d3a-7219a9909377, or leave it empty to use the phase's latest failed build")
        return v

    @field_validator("phase")
    @classmethod
    def _phase(cls, v: str) -> str:
        return _known_phase("phase", v)

    @field_validator("compare_with")
    @classmethod
    def _compare_with(cls, v: str) -> str:
        return _known_phase("compare_with", v) if v else v

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        return _existing("source_dir", v, "folder") if v else v

    @field_validator("log_file")
    @classmethod
    def _log_file(cls, v: str) -> str:
        return _existing("log_file", v, "file") if v else v


class CompareParams(TargetParams):
    """Runbook 04: how the output of a prefixed replay differs from production, inside the warehouse."""

    dataset_prefix: str = "test"
    start_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the first date the test tables hold")
    end_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the last date the test tables hold")
    tables: list[str] = param([], allowed="a list of output tables from phases.yaml, or [] for every table the replay wrote")
    abs_tol: float = param(1e-9, allowed="a number of 0 or more", ge=0, allow_inf_nan=False)
    rel_tol: float = param(0.0, allowed="a number of 0 or more", ge=0, allow_inf_nan=False)
    max_changed_rate: float = param(0.01, allowed="a fraction from 0 to 1 (0.01 is 1%)", ge=0, le=1)
    max_missing_rate: float = param(0.0, allowed="a fraction from 0 to 1", ge=0, le=1)
    max_extra_rate: float = param(0.0, allowed="a fraction from 0 to 1", ge=0, le=1)
    max_duplicate_keys: int = param(0, allowed="a whole number, 0 or more", ge=0)
    exclude: list[str] | None = param(None, allowed="a list of column names, or None for the bookkeeping columns of phases.yaml")
    max_bytes_billed: int = param(10_000_000_000, allowed="a number of bytes above 0", gt=0)

    @field_validator("dataset_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        from .phases import check_test_prefix, load_phases

        return check_test_prefix(v, load_phases())

    @field_validator("start_date", "end_date")
    @classmethod
    def _date(cls, v: str, info) -> str:
        if not v:
            return v
        try:
            return date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            raise ParameterError(info.field_name, v, "give a date as YYYY-MM-DD, or leave it empty") from None

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: list[str]) -> list[str]:
        from .phases import load_phases

        known = load_phases().all_tables()
        names = {t.ref for t in known} | {t.table for t in known}
        for name in v:
            if name not in names:
                raise ParameterError("tables", name, f"choose output tables from phases.yaml: {', '.join(t.ref for t in known)}")
        return v

    @model_validator(mode="after")
    def _range(self) -> "CompareParams":
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ParameterError("start_date", self.start_date, f"must be on or before end_date {self.end_date}")
        return self

    def compare_options(self) -> dict[str, Any]:
        """Keyword arguments for `compare.compare_replay(target, **p.compare_options())`."""
        from .compare import Thresholds

        return {"dataset_prefix": self.dataset_prefix, "start_date": self.start_date or None,
                "end_date": self.end_date or None, "tables": list(self.tables) or None,
                "abs_tol": self.abs_tol, "rel_tol": self.rel_tol, "exclude": self.exclude,
                "thresholds": Thresholds(self.max_changed_rate, self.max_missing_rate, self.max_extra_rate,
                                         self.max_duplicate_keys),
                "max_bytes_billed": self.max_bytes_billed}


IMAGE_REFERENCE = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+"
                             r"(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?")


class RedeployParams(TargetParams):
    """Runbook 02: build a phase from its own Dockerfile with an explicit Cloud Build config, deploy the image,
    prove the right code runs, and roll back when it does not."""

    phase: str = "phase4"
    source_dir: str = param("", allowed="an existing pipeline checkout folder, or empty for the sandbox's own (local)")
    commit: str = ""
    strategy: Literal["cloudbuild-config", "image"] = "cloudbuild-config"
    image: str = param("", allowed="a container image reference such as "
                       "us-west2-docker.pkg.dev/PROJECT/REPOSITORY/SERVICE:TAG (or @sha256:DIGEST), or empty")
    repository: str = param("", allowed="an Artifact Registry repository id (lowercase letters, digits and hyphens, "
                            "starting with a letter), or empty for the one in params/phases.yaml")
    dry_run: bool = True
    auto_rollback: bool = True

    @field_validator("phase")
    @classmethod
    def _phase(cls, v: str) -> str:
        return _known_phase("phase", v)

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        return _existing("source_dir", v, "folder") if v else v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v and not IMAGE_REFERENCE.fullmatch(v):
            raise ParameterError("image", v, "give a container image reference such as "
                                 "us-west2-docker.pkg.dev/PROJECT/REPOSITORY/SERVICE:TAG (or @sha256:DIGEST), or empty")
        return v

    @field_validator("repository")
    @classmethod
    def _repository(cls, v: str) -> str:
        from .phases import REPOSITORY

        if v and not REPOSITORY.fullmatch(v):
            raise ParameterError("repository", v, "give an Artifact Registry repository id (lowercase letters, "
                                 "digits and hyphens, starting with a letter, at most 63), or empty")
        return v

    @model_validator(mode="after")
    def _strategy_commit_and_checkout(self) -> "RedeployParams":
        from .gitinfo import resolve_commit

        if self.strategy == "image" and not self.image:
            raise ParameterError("image", self.image, "give the image to deploy when strategy is image")
        if self.strategy != "image" and self.image:
            raise ParameterError("image", self.image, "leave it empty unless strategy is image (the "
                                 "cloudbuild-config strategy deploys the image it builds)")
        checkout = self.source_dir or self._own_checkout()
        if checkout:
            resolve_commit(checkout, self.commit or "HEAD")
        elif self.strategy == "cloudbuild-config":
            raise ParameterError("source_dir", self.source_dir, "give the pipeline checkout to build from "
                                 f"(target {self.target} has none of its own)")
        elif not re.fullmatch(r"[0-9a-f]{7,40}", self.commit):
            raise ParameterError("commit", self.commit, "give the commit the image was built from (7 to 40 hex "
                                 "digits), or a source_dir to read it from")
        return self

    def _own_checkout(self) -> str:
        if self.target != "local":
            return ""
        from .local.home import sandbox_home

        return str(sandbox_home(self.sandbox_home).source)

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options


# Cloud Logging keeps request logs 30 days in the _Default bucket: a longer look back finds nothing more.
MAX_LOOKBACK_HOURS = 720


class AuditParams(TargetParams):
    """Runbook 05: who may call the phase services, who tried, and what broke."""

    services: list[str] = param([], allowed="a list of phases or Cloud Run service names such as [phase4], "
                                            "or empty for every phase")
    until: str = param("", allowed="a timestamp such as 2025-12-31T08:00:00Z (UTC unless it says), or empty for now")
    lookback_hours: float = param(24.0, allowed=f"a number of hours above 0 and at most {MAX_LOOKBACK_HOURS}",
                                  gt=0, le=MAX_LOOKBACK_HOURS)
    expected_invokers: list[str] | dict[str, list[str]] = param(
        [], allowed="service-account emails (a list for every service, or {phase: [emails]}), or empty for "
                    "params/phases.yaml's")

    @field_validator("services", mode="before")
    @classmethod
    def _services(cls, v: Any) -> Any:
        from .phases import load_phases
        from .services import phase_named

        if not isinstance(v, (str, list, tuple)):
            return v   # pydantic names the type
        registry = load_phases()
        items = [v] if isinstance(v, str) else v
        return list(dict.fromkeys(phase_named(registry, item, "services") for item in items))

    @field_validator("until")
    @classmethod
    def _until(cls, v: str) -> str:
        if not v:
            return v
        try:
            return formats.rfc3339(formats.parse_time(v), micros=False)
        except ValueError:
            raise ParameterError("until", v, "give a timestamp such as 2025-12-31T08:00:00Z (UTC unless it says), "
                                             "or leave it empty for now") from None

    @field_validator("lookback_hours", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ParameterError("lookback_hours", v, f"a number of hours above 0 and at most {MAX_LOOKBACK_HOURS}")
        return v

    @field_validator("expected_invokers", mode="before")
    @classmethod
    def _expected(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [formats.check_service_account("expected_invokers", email) for email in v]
        if isinstance(v, Mapping):
            by_phase = {}
            for phase, emails in v.items():
                name = _known_phase("expected_invokers", phase)
                if isinstance(emails, str) or not isinstance(emails, (list, tuple)):
                    raise ParameterError("expected_invokers", v, f"give a list of service-account emails for {name}")
                by_phase[name] = [formats.check_service_account("expected_invokers", email) for email in emails]
            return by_phase
        return v   # pydantic names the type

    def audited_phases(self, registry) -> list[str]:
        """The phases to audit: those asked for, else every phase of the registry."""
        return list(self.services) or registry.names()

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(since, until) of the request logs to read: lookback_hours up to `until` (default now)."""
        end = formats.parse_time(self.until) if self.until else (now or datetime.now(timezone.utc))
        return end - timedelta(hours=self.lookback_hours), end

    def expected_for(self, phase) -> tuple[str, ...]:
        """Service-account emails expected to call a phase's service: given here, else params/phases.yaml's."""
        if isinstance(self.expected_invokers, dict) and phase.name in self.expected_invokers:
            return tuple(self.expected_invokers[phase.name])
        if isinstance(self.expected_invokers, list) and self.expected_invokers:
            return tuple(self.expected_invokers)
        return tuple(phase.expected_invokers)


MAX_CONCURRENCY = 16
MAX_TTL_DAYS = 365
MAX_DATES = 366


def _whole_number(parameter: str, value: Any, low: int, high: int) -> Any:
    """Refuse booleans (pydantic reads True as 1) and numbers out of range, in one sentence."""
    allowed = f"a whole number from {low} to {high}"
    if isinstance(value, bool) or (isinstance(value, (int, float)) and not low <= value <= high):
        raise ParameterError(parameter, value, allowed)
    return value


def _iso_day(parameter: str, value: str) -> str:
    from datetime import date

    try:
        day = date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise ParameterError(parameter, value, "give a date as YYYY-MM-DD, or leave it empty")
    today = datetime.now(timezone.utc).date()
    if day > today:
        raise ParameterError(parameter, value, f"it is in the future (today is {today.isoformat()} UTC): "
                                               "there is nothing to replay yet")
    return value


class ReplayParams(TargetParams):
    """Runbook 03: a prefixed replay of Phase 3 -> Phase 4 into test datasets, with proof that production
    was not touched."""

    runbook: ClassVar[str | None] = "03_prefixed_replay"

    start_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for end_date")
    end_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the latest date production has data for")
    dataset_prefix: str = "test"
    phases: list[str] = param([], allowed="a list of phases such as [phase3, phase4], or empty for every phase")
    processors: list[str] = param([], allowed="a list of processor (output table) names, or empty for all")
    concurrency: int = param(2, allowed=f"a whole number from 1 to {MAX_CONCURRENCY}")
    resume: bool = True
    test_dataset_ttl_days: int = param(7, allowed=f"a whole number of days from 1 to {MAX_TTL_DAYS}")
    allowed_prod_writes: list[str] | None = param(
        None, allowed='a list of production tables written "dataset.table", or None for the run-history table '
                      "in params/phases.yaml")
    max_dates: int = param(31, allowed=f"a whole number from 1 to {MAX_DATES}")
    dry_run: bool = False
    production_checksum: bool | None = None
    checksum_max_gb: float = param(10.0, allowed="a number of gigabytes above 0", gt=0)
    source_dir: str = param("", allowed="a pipeline checkout folder (gcp: to tell which commits support "
                                        "dataset_prefix), or empty")
    impersonate_service_account: str = param("", allowed="a service-account email to call the services as, "
                                                         "or empty for your own credentials")

    @field_validator("dataset_prefix", mode="before")
    @classmethod
    def _prefix(cls, v: Any) -> Any:
        from .phases import check_test_prefix, load_phases

        return check_test_prefix(v, load_phases())

    @field_validator("phases", mode="before")
    @classmethod
    def _phases(cls, v: Any) -> Any:
        from .phases import load_phases

        v = [v] if isinstance(v, str) else v
        if not isinstance(v, (list, tuple)):
            return v   # pydantic names the type
        registry = load_phases()
        chosen = {_known_phase("phases", item) for item in v}
        return sorted(chosen, key=lambda name: registry.get(name).number)

    @field_validator("processors", mode="before")
    @classmethod
    def _processors(cls, v: Any) -> Any:
        from .phases import load_phases

        v = [v] if isinstance(v, str) else v
        if not isinstance(v, (list, tuple)):
            return v
        known = [t.table for t in load_phases().all_tables()]
        for name in v:
            if name not in known:
                raise ParameterError("processors", name, f"choose from {', '.join(known)}")
        return list(dict.fromkeys(v))

    @field_validator("start_date", "end_date")
    @classmethod
    def _dates(cls, v: str, info: Any) -> str:
        return _iso_day(info.field_name, v) if v else v

    @field_validator("concurrency", "test_dataset_ttl_days", "max_dates", mode="before")
    @classmethod
    def _whole(cls, v: Any, info: Any) -> Any:
        highest = {"concurrency": MAX_CONCURRENCY, "test_dataset_ttl_days": MAX_TTL_DAYS, "max_dates": MAX_DATES}
        return _whole_number(info.field_name, v, 1, highest[info.field_name])

    @field_validator("allowed_prod_writes", mode="before")
    @classmethod
    def _allowed(cls, v: Any) -> Any:
        from .phases import load_phases
        from .phases import production_datasets

        if v is None or not isinstance(v, (list, tuple)):
            return v
        production = production_datasets(load_phases())
        for ref in v:
            if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+", ref) \
                    or ref.split(".")[0] not in production:
                raise ParameterError("allowed_prod_writes", ref, f'give production tables as "dataset.table" in '
                                                                 f"{', '.join(production)}")
        return list(dict.fromkeys(v))

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        return _existing("source_dir", v, "folder") if v else v

    @field_validator("impersonate_service_account")
    @classmethod
    def _impersonate(cls, v: str) -> str:
        return formats.check_service_account("impersonate_service_account", v) if v else v

    @model_validator(mode="after")
    def _range_and_processors(self) -> "ReplayParams":
        from .phases import load_phases

        if self.start_date and self.end_date:
            self.days_between(self.start_date, self.end_date)
        registry = load_phases()
        if self.processors:
            for name in self.selected_phases(registry):
                if not any(t.table in self.processors for t in registry.get(name).tables):
                    mine = ", ".join(t.table for t in registry.get(name).tables)
                    raise ParameterError("processors", self.processors, f"name none of {name}'s processors ({mine}): "
                                         f"add some of them, or leave {name} out of phases")
        return self

    # ---- what the runbook reads from them

    def selected_phases(self, registry) -> list[str]:
        return list(self.phases) or registry.names()

    def processors_by_phase(self, registry) -> dict[str, tuple[str, ...]]:
        """Each selected phase's processors as sent; () means all of them (upstream reads [] as all)."""
        return {name: tuple(t.table for t in registry.get(name).tables if t.table in self.processors)
                for name in self.selected_phases(registry)}

    def days_between(self, start: str, end: str) -> list:
        from datetime import date, timedelta

        first, last = date.fromisoformat(start), date.fromisoformat(end)
        if first > last:
            raise ParameterError("start_date", start, f"give a date on or before end_date {end}")
        count = (last - first).days + 1
        if count > self.max_dates:
            raise ParameterError("end_date", end, f"{start}..{end} is {count} dates, more than max_dates="
                                                  f"{self.max_dates}; replay fewer dates or raise max_dates")
        return [first + timedelta(days=n) for n in range(count)]

    def days(self, data_first, data_last) -> list:
        """The dates to replay, empty dates resolved, checked against the dates production has data for."""
        if data_first is None:
            raise ParameterError("start_date", self.start_date, "production has no data for the replayed phases, "
                                                                "so there is no date to replay")
        end = self.end_date or data_last.isoformat()
        start = self.start_date or end
        for name, value in (("start_date", start), ("end_date", end)):
            if not data_first.isoformat() <= value <= data_last.isoformat():
                raise ParameterError(name, value, f"it is outside the data: production has output for "
                                                  f"{data_first.isoformat()}..{data_last.isoformat()}")
        return self.days_between(start, end)

    def allowed_writes(self, registry) -> list[str]:
        return list(self.allowed_prod_writes) if self.allowed_prod_writes is not None else [registry.run_history_table]

    def checksum(self) -> bool:
        """Checksum production's replayed partitions? Asked, else always on the sandbox (it bills nothing)
        and never on BigQuery (a scan billed by the byte)."""
        return self.production_checksum if self.production_checksum is not None else self.target == "local"

    def principal(self) -> str | None:
        return f"serviceAccount:{self.impersonate_service_account}" if self.impersonate_service_account else None

    def ledger_file(self) -> Path | None:
        """Where the sandbox keeps this prefix's ledger; None on gcp (a table in a test dataset)."""
        if self.target != "local":
            return None
        from .local.home import sandbox_home

        return sandbox_home(self.sandbox_home).replay / f"{self.dataset_prefix}.ledger.jsonl"

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options
