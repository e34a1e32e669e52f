"""One sentence from pydantic's error list: what a parameter was given, and what it allows, as the operator would
fix it (how papermill and YAML read a value that was meant as text, a flag or a list)."""
from __future__ import annotations

import types
import typing
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ValidationError

from ..errors import ParameterError
from ..masking import MASK, is_secret_name, mask_data

LIST_WRITTEN = "it takes a list: [a, b], or a,b on the command line"

_ALLOWED_BY_TYPE = {
    "missing": "a value is required",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    # (a text field without allowed= of its own: still more than "text", which says nothing to fix)
    "string_type": "text, in quotes", "list_type": "a list", "dict_type": "a mapping of names to values",
    "date_type": "a date as YYYY-MM-DD", "date_parsing": "a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "a date as YYYY-MM-DD", "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "datetime_type": "a date and time as YYYY-MM-DDTHH:MM:SS",
    "datetime_parsing": "a date and time as YYYY-MM-DDTHH:MM:SS",
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


def shown(name: str, value: Any, secrets: list[str] = ()) -> Any:
    """A value as an error sentence shows it: `***` for a secret name, else scrubbed of secret shapes
    and of the other secret parameters' values (a URL may carry a token)."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return mask_data(value, secrets) if isinstance(value, (str, Mapping, list, tuple)) else value


def first_problem(model_cls: type[BaseModel], values: Mapping[str, Any], exc: ValidationError,
                   error_cls: type[ParameterError], secrets: list[str] = ()) -> ParameterError:
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ParameterError):
        # A validator raised the sentence itself; keep it (re-raised with the notebook-friendly class).
        return error_cls(cause.parameter, shown(cause.parameter, cause.value, secrets),
                         cause.allowed + _read_by_yaml(model_cls, cause.parameter, cause.value))
    loc = error.get("loc") or ()
    name = str(loc[0]) if loc else "parameters"
    value = values.get(name, error.get("input")) if loc else "..."
    return error_cls(name, shown(name, value, secrets), allowed_for(model_cls, name, error)
                     + _read_by_yaml(model_cls, name, value) + _how_a_list_is_written(model_cls, name, value))


def _read_by_yaml(model_cls: type[BaseModel], name: str, value: Any) -> str:
    """How a text parameter came to hold a number or a flag, and how to give it as text, for the sentence:
    "; it came as the number 1234567, not as text (...): quote it in a YAML file, or ..." ("" otherwise).

    The kit cannot tell where the value was written. papermill's `-p` types it with int() and float()
    (`-p commit 1234567` is a number, `12e4567` is inf, True and False are flags); a YAML file (`-y`, `-f`) is
    read as YAML 1.1 (`0123456` is the octal 42798, `no` is false). So the sentence says what either reads,
    never which one did; the octal spelling is named only for a number a leading-zero value can be read as.
    The kit's own runner types a text parameter as text (runner.parameters.coerce_cli_value, as_written)."""
    field = model_cls.model_fields.get(name)
    if field is None or str not in scalar_types(field.annotation) or isinstance(value, str):
        return ""
    as_text = (f": quote it in a YAML file, or give it with papermill's -r {name} VALUE (runbook run -p keeps "
               "it as text)")
    if is_secret_name(name) and isinstance(value, (bool, int, float)):   # never the value of a secret, in any form
        return "; it came as a number or a flag, not as text: quote it in a YAML file"   # (not on a command line)
    if is_boolean(value):
        return (f"; it came as the flag {'true' if value else 'false'}, not as text (YAML reads yes, no, on and off "
                "as flags, papermill's -p True and False)" + as_text)
    if isinstance(value, int) and abs(value) >= 8:   # (0 to 7 read the same with a leading zero or without)
        octal = f"{'-' if value < 0 else ''}0{abs(value):o}"
        return (f"; it came as the number {value}, not as text (papermill's -p reads digits as a number, and YAML "
                f"1.1 reads {octal}, with its leading zero, as this number, in octal)" + as_text)
    if isinstance(value, (int, float)):
        return (f"; it came as the number {value}, not as text (papermill's -p and YAML read an unquoted number "
                "as one)" + as_text)
    return ""


# Text an operator means as a flag: YAML 1.1's words for one (papermill's -p types only True and False, so
# `-p dry_run false` arrives as this text), and pydantic's y and n.
_FLAG_WORDS = {"true": True, "yes": True, "on": True, "y": True, "false": False, "no": False, "off": False, "n": False}


def flag_as_text(name: str, value: Any) -> str:
    """For a flag given as text that names one ('false', 'no'), how to give the flag itself:
    " as a flag, not the text 'false': give papermill -p NAME False ..." ("" for other values)."""
    word = value.strip().lower() if isinstance(value, str) else None
    if word not in _FLAG_WORDS:
        return ""
    flag = "True" if _FLAG_WORDS[word] else "False"
    given = "text" if is_secret_name(name) else f"the text {value!r}"
    return (f" as a flag, not {given}: give papermill -p {name} {flag} (capital {flag[0]}) or "
            f"-y '{name}: {flag.lower()}', or runbook run -p {name} {flag.lower()}")


def allowed_for(model_cls: type[BaseModel], name: str, error: Mapping[str, Any]) -> str:
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


def _how_a_list_is_written(model_cls: type[BaseModel], name: str, value: Any) -> str:
    """For a list parameter given something that is no list: " (it takes a list: ...)" ("" otherwise)."""
    field = model_cls.model_fields.get(name)
    if field is None or isinstance(value, (list, tuple, Mapping)):
        return ""
    takes_list = any(kind is list or typing.get_origin(kind) is list for kind in scalar_types(field.annotation))
    return f" ({LIST_WRITTEN})" if takes_list else ""


def scalar_types(annotation: Any) -> set[Any]:
    """The types a field's annotation unites (`bool | None` -> {bool, NoneType}); itself when not a union."""
    return set(typing.get_args(annotation)) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else {annotation}


def converted_quietly(annotation: Any, value: Any) -> bool:
    """Would pydantic turn `value` into the field's type by a conversion an operator would not expect?
    (A flag from anything but true or false; a number from a flag, or from text.)"""
    kinds = scalar_types(annotation)
    if kinds - {type(None)} == {bool}:
        return not is_boolean(value) and not (value is None and type(None) in kinds)
    if kinds & {int, float} and bool not in kinds:
        return is_boolean(value) or (is_text(value) and str not in kinds)
    return False


def is_text(value: Any) -> bool:
    """Text, also as bytes (pydantic reads b"64" as 64 just as it reads "64")."""
    return isinstance(value, (str, bytes, bytearray))


def is_boolean(value: Any) -> bool:
    """True or False, also as numpy gives it (a flag computed in a notebook: `(frame.x > 0).any()`)."""
    return isinstance(value, bool) or type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")


def _literal_choices(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    choices: list[Any] = []
    for arg in typing.get_args(annotation):
        choices.extend(_literal_choices(arg))
    if type(None) in typing.get_args(annotation):
        choices.append(None)
    return choices
