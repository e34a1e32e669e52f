"""The parameter models' machinery: strict models, one sentence per mistake (its words: sentences.py), the
target checks."""
from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Callable, ClassVar, Literal, Mapping

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints,
                      ValidationError, field_validator, model_validator)

from .. import formats
from ..checks import check_path
from ..errors import ParameterError
from ..masking import MASK, mask_value, secret_values
from ..target import TARGETS
from .notebook import INJECTED_COMMENT, INJECTED_TAG, PARAMETERS_TAG, assigned_names  # noqa: F401
from .sentences import (LIST_WRITTEN, allowed_for, converted_quietly, first_problem, flag_as_text, is_boolean,
                        is_text, scalar_types, shown)

PROJECT_ID = Annotated[str, StringConstraints(pattern=rf"^{formats.PROJECT_ID.pattern}$")]
REGION = Annotated[str, StringConstraints(pattern=rf"^({formats.REGION.pattern}|global)$")]



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


def known_names(name: str, fields: Any) -> str:
    """What a misspelt name should have been: "did you mean days (one of ...)", else "use one of ..."."""
    close = difflib.get_close_matches(name, list(fields), n=1)
    return f"did you mean {close[0]} (one of {', '.join(fields)})" if close else f"use one of {', '.join(fields)}"


def param(default: Any = ..., *, allowed: str, **constraints: Any) -> Any:
    """A model field whose error message says `allowed`, e.g. allowed="a date as YYYY-MM-DD"."""
    return Field(default, json_schema_extra={"allowed": allowed}, **constraints)


class RunbookParams(BaseModel):
    """Parameters every runbook takes. Unknown names are rejected; instances are read-only."""

    # allow_inf_nan: no runbook has a use for an infinite limit, and it breaks the arithmetic a limit feeds.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    # The runbook's name, for the `runbook=<name>` label BigQuery jobs carry on target=gcp.
    runbook: ClassVar[str | None] = None
    # Parameters that only target gcp reads: given on local, the operator meant gcp (and would act on the sandbox
    # believing it the project), so they are refused there rather than dropped.
    gcp_only: ClassVar[tuple[str, ...]] = ("project",)

    target: Literal[TARGETS] = "local"
    project: PROJECT_ID | None = param(
        None, allowed="a Google Cloud project id (6-30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen) or None")
    region: REGION | None = param(None, allowed="a Google Cloud region such as us-west2, global, or None")
    sandbox_home: str | None = param(None, allowed="the sandbox folder as text, or None for $RUNBOOK_HOME, else the kit's .runbook folder")

    @model_validator(mode="before")
    @classmethod
    def _flags_and_numbers_as_written(cls, data: Any) -> Any:
        """What pydantic would quietly convert is refused instead: a flag is true or false (pydantic reads
        0, "n" or "off" as False, so `dry_run=0` would change things), and a number is never a flag (True
        would be a limit of 1) nor text: "24" is a quoted YAML value or a typo, not 24. Nothing the kit
        passes on is text where a number is meant: `-p NAME VALUE` is typed by the declared type first
        (runner.parameters.coerce_cli_value), a file's and a plan's values are YAML's own types. papermill's
        `-p dry_run false` does pass text (it types only True and False): that sentence says how to give a flag."""
        if isinstance(data, Mapping):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is not None and converted_quietly(field.annotation, value):
                    kinds = scalar_types(field.annotation)
                    kind = "bool_type" if bool in kinds else "int_type" if int in kinds else "float_type"
                    allowed = allowed_for(cls, name, {"type": kind})
                    if kind == "bool_type":
                        raise ParameterError(name, value, allowed + flag_as_text(name, value))
                    raise ParameterError(name, value, allowed + (", written as a number, not as text"
                                                                 if is_text(value) else ""))
        return data

    @field_validator("sandbox_home")
    @classmethod
    def _blank_home(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():   # ("" is an unset variable's value: not a request for the default)
            raise ParameterError("sandbox_home", v, cls.model_fields["sandbox_home"].json_schema_extra["allowed"])
        return v

    def masked(self) -> dict[str, Any]:
        """The values with secret-named parameters shown as ***, for displays and reports."""
        return {name: mask_value(name, value) for name, value in self.model_dump(mode="json").items()}

    @model_validator(mode="after")
    def _given_for_its_target(self) -> "RunbookParams":
        if self.target == "local":
            for name in self.gcp_only:
                value = getattr(self, name)
                if value:
                    raise ParameterError(name, value, "it is read on target gcp only, and the target is local (the "
                                                      "sandbox): add -p target gcp, or leave it out")
        elif self.sandbox_home:
            raise ParameterError("sandbox_home", self.sandbox_home, f"it is read on target local only, and the target "
                                                                    f"is {self.target}: leave it out, or give -p "
                                                                    "target local")
        return self

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
            raise unknown_parameter_error(name, known_names(name, fields), error_cls)
    secrets = secret_values(values)
    try:
        return model_cls.model_validate(dict(values))
    except ValidationError as exc:
        raise first_problem(model_cls, values, exc, error_cls, secrets) from None


def from_notebook(model_cls: type[RunbookParams], namespace: Mapping[str, Any]) -> RunbookParams:
    """Validate a notebook's parameters: `params.from_notebook(Model, globals())`.

    Reads the model's fields from the notebook namespace and rejects any name that the model does not
    know, assigned by the cell papermill injected (as papermill marks it in the kernel's input history) or
    by the parameters cell as it last ran (in JupyterLab an edited `lookback_hour = 168` would otherwise
    leave the default in force, silently). In a kernel where the parameters cell never ran, it says so
    rather than run on the defaults.
    """
    _table_display_defaults()
    fields = model_cls.model_fields
    for name in [*injected_names(namespace), *parameters_cell_names(namespace, fields)]:
        if name not in fields:
            raise unknown_parameter_error(name, known_names(name, fields), NotebookParameterError)
    if isinstance(namespace.get("In"), list) and not any(name in namespace for name in fields):
        error = NotebookParameterError("parameters", MASK, "run the parameters cell first")
        error.args = (f"The parameters cell has not run in this kernel: run it first (it sets {', '.join(fields)}), "
                      "then this cell.",)
        raise error
    values = {name: namespace[name] for name in fields if name in namespace}
    validated = validate_params(model_cls, values, error_cls=NotebookParameterError)
    _VALIDATED_IN_KERNEL.setdefault(model_cls, []).append(validated)
    return validated


# Each runbook model's parameters as from_notebook validated them in this kernel, oldest first: a cell run after
# the parameters were edited and validated again must not act on the values its runbook was prepared with.
_VALIDATED_IN_KERNEL: dict[type, list[RunbookParams]] = {}


def superseded(p: RunbookParams, what: str) -> str | None:
    """One sentence when the notebook's parameters were validated again (from_notebook) since `what` was prepared
    with `p`, to different values, saying which; None otherwise (and for parameters not from from_notebook)."""
    validated = _VALIDATED_IN_KERNEL.get(type(p), [])
    if not any(v is p for v in validated) or validated[-1] is p or validated[-1] == p:
        return None
    latest = validated[-1]
    changed = [f"{name} {shown(name, getattr(latest, name))!r} now, {shown(name, getattr(p, name))!r} then"
               for name in type(p).model_fields if getattr(latest, name) != getattr(p, name)]
    return (f"The parameters were validated again since {what} was prepared ({'; '.join(changed)}): nothing was "
            f"done; run the cells again from {what}'s prepare cell, so it acts on the parameters you see.")


def parameters_cell_names(namespace: Mapping[str, Any], fields: Mapping[str, Any]) -> list[str]:
    """Names assigned by the parameters cell as it last ran: the latest cell of the kernel's input history that
    assigns at least half of the model's fields (its other cells assign none, or one or two); [] if none."""
    history = namespace.get("In")
    if not isinstance(history, list):
        return []
    enough = max(1, (len(fields) + 1) // 2)
    for source in reversed(history):
        if isinstance(source, str) and not source.lstrip().startswith(INJECTED_COMMENT):
            names = list(assigned_names(source))
            if sum(name in fields for name in names) >= enough:
                return names
    return []


def _table_display_defaults() -> None:
    """Runbook tables carry log lines, commands and image names: show them whole, wrapped, not cut at 50; and every
    row of a table as long as a build's steps (Cloud Build runs at most 300) or a replay's calls (366 dates of two
    phases) can be, so a failed step or date in the middle is on the page. A longer table (a listing) shows its
    first and last rows."""
    import pandas as pd

    pd.set_option("display.max_colwidth", 240)
    pd.set_option("display.max_rows", 1000)
    pd.set_option("display.min_rows", 40)
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
# What every runbook that connects to a target shares.


def comma_list(value: Any) -> Any:
    """A list parameter's value: `-p phases phase3,phase4` is the list it means (a phase, a service or a table
    name holds no comma); a list stays itself, and other values are left for the field to refuse."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        return parts if len(parts) > 1 and all(parts) else [value]
    return value


def listed(value: Any) -> Any:
    """comma_list for a list parameter whose empty text is no list (a blank `-p tables ''` is refused saying how a
    list is written, as it was before a,b was taken; `[]` is the empty list)."""
    return value if isinstance(value, str) and not value.strip() else comma_list(value)


def each_of(parameter: str, items: Any, name_one: Callable[[Any], Any], *, once: bool = True) -> list:
    """name_one(item) for every item of a list parameter, in order (once each, unless once=False); an item it
    refuses is refused saying the parameter takes a list, and how one is written."""
    named = []
    for item in items:
        try:
            named.append(name_one(item))
        except ParameterError as exc:
            raise ParameterError(parameter, exc.value, f"{exc.allowed} ({LIST_WRITTEN})") from None
    return list(dict.fromkeys(named)) if once else named


def _known_phase(parameter: str, value: str) -> str:
    from ..phases import load_phases

    registry = load_phases()
    try:
        return registry.get(value).name          # "4" and "phase4" name the same phase
    except ParameterError:
        raise ParameterError(parameter, value, f"choose one of {', '.join(registry.names())}") from None


def iso_day(parameter: str, value: str, in_the_future: str) -> str:
    """A date written as YYYY-MM-DD exactly (not 20251215, 2025-W51-1 or a time, which Python's ISO reader
    also takes), not after today (UTC); `in_the_future` says why a later date is refused."""
    try:
        day = date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise ParameterError(parameter, value, "give a date as YYYY-MM-DD, or leave it empty")
    today = datetime.now(timezone.utc).date()
    if day > today:
        raise ParameterError(parameter, value, f"it is in the future (today is {today.isoformat()} UTC): "
                                               f"{in_the_future}")
    return value


def _existing(parameter: str, value: str, kind: str) -> str:
    path = check_path(parameter, Path(value).expanduser(), shown=value)
    ok = path.is_dir() if kind == "folder" else path.is_file()   # a named pipe is not a file
    if not ok:
        raise ParameterError(parameter, value, f"give an existing {kind}, or leave it empty")
    return str(path.resolve())


def _or_empty(check: Any) -> AfterValidator:
    """A field check that names the field it runs for and lets the empty value (the runbook's default) through."""
    return AfterValidator(lambda value, info: check(info.field_name, value) if value else value)


def matching_or_empty(pattern: re.Pattern[str], allowed: str) -> Any:
    """A text field type: empty, or matching `pattern` whole; anything else is `allowed`'s sentence."""
    def check(name: str, value: str) -> str:
        if not pattern.fullmatch(value):
            raise ParameterError(name, value, allowed)
        return value

    return Annotated[str, _or_empty(check)]


def _phase_number_as_text(value: Any) -> Any:
    """A phase given as a bare whole number (`phase: 4`, which YAML reads as 4) is its number as text: README's
    "4" names phase4 as "phase4" does. A flag is not a number."""
    return str(value) if isinstance(value, int) and not is_boolean(value) else value


# Field types the runbooks share: the sentence of each names the field it is declared as.
PhaseName = Annotated[str, BeforeValidator(_phase_number_as_text),
                      AfterValidator(lambda value, info: _known_phase(info.field_name, value))]
PhaseNameOrEmpty = Annotated[str, BeforeValidator(_phase_number_as_text), _or_empty(_known_phase)]
PHASE_ALLOWED = "a phase of params/phases.yaml such as phase4, or its number (4)"
ExistingFolderOrEmpty = Annotated[str, _or_empty(lambda name, value: _existing(name, value, "folder"))]
ExistingFileOrEmpty = Annotated[str, _or_empty(lambda name, value: _existing(name, value, "file"))]


def _and(things: list[str]) -> str:
    return ", ".join(things[:-1]) + " and " + things[-1] if len(things) > 1 else things[0]


class TargetParams(RunbookParams):
    """Parameters of a runbook that connects to a target: on local, the sandbox must exist already
    (a read-only runbook never creates one) and be writable (runbooks take lock files there), which
    is checked here so it is bad input, exit 2."""

    @model_validator(mode="after")
    def _sandbox_ready(self) -> "TargetParams":
        if self.target == "local":
            from ..local.home import sandbox_home
            from ..local.state import require_initialised, require_writable, wait_for_rebuild

            from ..phases import load_phases

            home = sandbox_home(self.sandbox_home)
            try:
                require_initialised(home, shown=self.sandbox_home)
            except ParameterError:
                # a reset under way is not a folder that was never a sandbox (as connect_local)
                if not wait_for_rebuild(home):
                    raise
                require_initialised(home, shown=self.sandbox_home)
            require_writable(home, shown=self.sandbox_home)
            served = load_phases().region
            # its builds, services and logs are in one region (and `global`, where gcloud looks for a build first)
            if self.region not in (None, served, "global"):
                raise ParameterError("region", self.region, f"the sandbox serves {served} only: give {served}, "
                                                            "global, or None")
        return self

    def _read_in_phases_regions(self, read: list[str]) -> None:
        """On gcp, for a runbook that reads only the phases' services (not builds): `region` has nothing to place,
        so one that is not the region of every phase read would be printed and answered about another."""
        if self.target != "gcp" or self.region is None:
            return
        from ..phases import load_phases

        registry = load_phases()
        regions = {name: registry.get(name).region for name in read}
        if set(regions.values()) == {self.region}:
            return
        served = sorted(set(regions.values()))
        where = ", ".join(f"{region} for {_and([n for n in read if regions[n] == region])}" for region in served)
        allowed = f"give {served[0]} or None" if len(served) == 1 else "give None"
        raise ParameterError("region", self.region, f"phases.yaml sets each phase's region, and this runbook reads "
                                                    f"its services there ({where}): {allowed}")


