"""The processors' request parameters, checked as the upstream services check them (which is not much:
the dataset prefix is taken as given, so a bad one fails at write time, as it would on BigQuery)."""
from __future__ import annotations

from ..errors import ParameterError
from .pipeline_sql import CodeVersion


def choose_processors(processors, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """None or an empty list means every processor of the phase, as upstream treats `processors: []`."""
    if processors is None:
        return allowed
    if isinstance(processors, str):
        processors = [p for p in processors.split(",") if p.strip()]
    if not isinstance(processors, (list, tuple, set, frozenset)):
        raise ParameterError("processors", processors, f"give a list of names from {', '.join(allowed)}")
    chosen = []
    for name in processors:
        if not isinstance(name, str) or name.strip() not in allowed:
            raise ParameterError("processors", name, f"choose from {', '.join(allowed)}")
        if name.strip() not in chosen:
            chosen.append(name.strip())
    return tuple(chosen) or allowed


def as_prefix(value) -> str:
    # Upstream takes the prefix as given; only its type must allow building a dataset name.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParameterError("dataset_prefix", value, "give text such as 'test' (empty means production)")
    return value


def check_flags(**flags) -> None:
    # "false" from a JSON client is truthy; refuse anything but a real boolean.
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ParameterError(name, value, "give true or false")


def check_code(code) -> None:
    if not isinstance(code, CodeVersion):
        raise ParameterError("code", code, "give a CodeVersion(commit, supports_prefix)")
