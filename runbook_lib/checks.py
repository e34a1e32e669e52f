"""Small input checks the library shares: dates and YAML files, each failing in one sentence."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ParameterError


def as_date(parameter: str, value: Any) -> date:
    """A date from a date, a datetime (or pandas Timestamp) or ISO text such as 2025-12-15."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date") and callable(value.date):   # pandas.Timestamp, numpy datetime wrappers
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ParameterError(parameter, value, "give a date or an ISO date text such as 2025-12-15")


def read_yaml(path: str | Path, parameter: str, what: str) -> Any:
    """Parse a YAML file; a missing file names `parameter`, a syntax error names the file and line."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(parameter, str(path), f"give the path of an existing {what}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}: is not valid YAML{at}.") from None
