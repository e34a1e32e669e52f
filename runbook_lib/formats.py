"""Small formats every part of the kit shares: one-line text, byte sizes, RFC 3339 times, Google Cloud names.

Written once here so the sandbox and the cloud adapters cannot drift apart on, say, how a Cloud
Logging timestamp with nanoseconds is read, or what counts as a region id.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Any

from .errors import ParameterError

ELLIPSIS = "…"

# Google Cloud's own rules: a project id is 6-30 lowercase letters, digits and hyphens starting with a
# letter (a project number is digits); a Cloud Run service name is at most 63 lowercase letters, digits
# and hyphens, starting with a letter and not ending with a hyphen; a region id looks like us-west2.
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
PROJECT_NUMBER = re.compile(r"\d{6,20}")
SERVICE_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
REGION = re.compile(r"[a-z]+(-[a-z]+)+\d+")
# A service account's email: NAME@PROJECT.iam.gserviceaccount.com, PROJECT@appspot.gserviceaccount.com,
# NUMBER-compute@developer.gserviceaccount.com, service-NUMBER@gcp-sa-SERVICE.iam.gserviceaccount.com.
SERVICE_ACCOUNT_EMAIL = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}@[a-z0-9][a-z0-9.-]{0,99}\.gserviceaccount\.com")
# A table alias before a column name (`alias.column`): letters, digits, underscores, not starting with a digit.
ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")
# BigQuery's flexible column names ("Specify a schema", flexible column names): up to 300 characters, each a
# letter, mark or number of any language, connector or dash punctuation (`_`, `-`), a space, or one of & % = + : ' < > # |
# (so never a backtick, a backslash, a period or a quote: the docs list those as unsupported).
COLUMN_NAME_MAX = 300
_FLEXIBLE_SPECIALS = frozenset(" &%=+:'<>#|")
# That rule in a refusal's words (check_column_names, quote_columns say it alike)
COLUMN_NAME_RULE = "up to 300 letters of any language, digits, underscores, dashes, spaces or & % = + : ' < > # |"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_FRACTION = re.compile(r"(\.\d{6})\d+")
# IEC binary units, as BigQuery bills and reports bytes ("1 TB = 2^40 bytes") and gcloud and the console show them.
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


# ---------------------------------------------------------------- tables


def keyed_table(rows: Any, columns: list[str]) -> Any:
    """Rows as a DataFrame keyed by their first column, that column's name heading it on the table's one header row
    (an index's own name would sit on a second header row, under the other columns' names)."""
    import pandas as pd   # (here: the text helpers above are imported where pandas is not)

    frame = pd.DataFrame(rows, columns=columns).set_index(columns[0])
    return frame.rename_axis(None).rename_axis(columns[0], axis="columns")


# ---------------------------------------------------------------- text


def one_line(text: Any, limit: int = 300) -> str:
    """Whitespace folded to single spaces, cut to `limit` characters with an ellipsis (scrubbed of secrets
    first when cut: half a password or token is a shape no rule recognises when the page is masked)."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    flat = _masked(flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + ELLIPSIS


def first_few(items: Any, shown: int = 5) -> str:
    """The first `shown` of a list, and how many more: "a, b, c and 4 more"."""
    items = [str(i) for i in items]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def headline(text: Any, limit: int = 220) -> str:
    """One line cut at a word boundary: a summary that fits a row of the morning-review index."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    flat = _masked(flat)
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " " + ELLIPSIS


def _masked(flat: str) -> str:
    from .masking import mask_text   # (masking is imported by the runner; formats by everything)

    return " ".join(mask_text(flat).split())


def sentence(exc: BaseException) -> str:
    """An exception's message as one sentence ending with a full stop (its type name if it has none)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith(".") else text + "."


def size(n_bytes: int) -> str:
    """A byte count as text in IEC binary units (1 KiB = 1024 B, 1 MiB = 2^20 B ... 1 TiB = 2^40 B) to three
    significant digits: "512 B", "1023 B", "1 KiB", "1.5 KiB", "9.31 GiB", "0.977 MiB" (never "1e+03 KiB").

    Binary because BigQuery bills and reports bytes so (its on-demand price is per TiB, "1 TB = 2^40 bytes")
    and gcloud and the console show GiB and MiB: a size the kit prints reads the same as Google's. Only text:
    a caller that compares or prices bytes keeps the number and formats at the edge. A count that is not a
    whole number of bytes, 0 or more, is a ParameterError (a bug in the caller, said clearly)."""
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int) or n_bytes < 0:
        raise ParameterError("n_bytes", n_bytes, "a whole number of bytes, 0 or more")
    if n_bytes < 1024:
        return f"{n_bytes} B"
    value, unit = float(n_bytes), 0
    while float(f"{value:.3g}") >= 1000 and unit < len(BINARY_UNITS) - 1:   # 1023.9 KiB is 1 MiB, not 1.02e+03 KiB
        value /= 1024
        unit += 1
    shown = f"{value:.3g}" if value < 1000 else f"{value:,.0f}"   # beyond EiB: every digit
    return f"{shown} {BINARY_UNITS[unit]}"


# ---------------------------------------------------------------- times


def parse_time(text: str) -> datetime:
    """RFC 3339 text as Google's APIs write it (Z, offsets, up to nanoseconds) -> aware UTC datetime.

    Raises ValueError for anything else (Python's fromisoformat alone would also take ISO 8601's week dates and
    basic format, `2025-W01`, `20251231T080000Z`); a naive value is taken as UTC."""
    if not _RFC3339.fullmatch(str(text).strip()):
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", str(text).strip().replace("Z", "+00:00")))
    try:
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:   # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise ValueError(f"not a time in years 1 to 9999 in UTC: {text!r}") from None


def as_utc(parameter: str, value: Any) -> datetime | None:
    """A datetime (naive = UTC), a date (midnight UTC) or ISO 8601 text -> aware UTC datetime; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    raise ParameterError(parameter, value, "give a datetime, a date or ISO 8601 text such as 2025-12-31T01:00:00Z")


def rfc3339(moment: datetime, micros: bool = True) -> str:
    """UTC text with a trailing Z, as Cloud Logging and Cloud Build write it (microseconds unless told not)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micros else "%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- Google Cloud names


def check_project(project: Any) -> str:
    if not isinstance(project, str) or not (PROJECT_ID.fullmatch(project) or PROJECT_NUMBER.fullmatch(project)):
        raise ParameterError("project", project,
                             "give a Google Cloud project id (6-30 lowercase letters, digits, hyphens) or number")
    return project


def check_region(region: Any) -> str:
    if not isinstance(region, str) or not (region == "global" or REGION.fullmatch(region)):
        raise ParameterError("region", region, "give a Google Cloud region such as us-west2, or global")
    return region


def check_service(service: Any) -> str:
    if not isinstance(service, str) or not SERVICE_NAME.fullmatch(service):
        raise ParameterError("service", service,
                             "give a Cloud Run service name: lowercase letters, digits and hyphens, starting with a letter "
                             "and not ending with a hyphen, at most 63")
    return service


def check_service_account(parameter: str, value: Any) -> str:
    """A service account's email (a leading `serviceAccount:` is dropped), lowercase."""
    email = value.strip().removeprefix("serviceAccount:").lower() if isinstance(value, str) else None
    if not email or not SERVICE_ACCOUNT_EMAIL.fullmatch(email):
        raise ParameterError(parameter, value, "give service-account emails such as "
                                               "pubsub-push@my-project.iam.gserviceaccount.com")
    return email


# ---------------------------------------------------------------- SQL


def is_column_name(name: Any) -> bool:
    """Whether BigQuery allows `name` as a column name (flexible column names: `3pt_pct`, `Punktzahl_ü`)."""
    return (isinstance(name, str) and 0 < len(name) <= COLUMN_NAME_MAX
            and all(c in _FLEXIBLE_SPECIALS or unicodedata.category(c)[0] in "LMN"
                    or unicodedata.category(c) in ("Pc", "Pd") for c in name))


def check_column_names(names: Any, parameter: str) -> list[str]:
    """Column names a caller gave as `parameter`, each one BigQuery allows; refused naming that parameter."""
    given = [names] if isinstance(names, str) else names
    if not isinstance(given, (list, tuple)) or not given:
        raise ParameterError(parameter, names, "give a non-empty list of column names")
    for name in given:
        if not is_column_name(name):
            raise ParameterError(parameter, name, f"give column names BigQuery allows: {COLUMN_NAME_RULE}")
    return list(given)


def quote_identifier(name: str) -> str:
    """A name as a BigQuery quoted identifier: in backticks, a backtick or backslash in it escaped (lexical
    structure doc: quoted identifiers take the string literals' escape sequences)."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_columns(columns: Any, parameter: str = "columns") -> list[str]:
    """Column names (or alias.column) as BigQuery quoted identifiers, each checked against BigQuery's
    flexible column names (so any name a BigQuery table has passes): `a`, t.`b`, `3pt_pct`."""
    if isinstance(columns, str) or not columns or not all(isinstance(c, str) for c in columns):
        raise ParameterError(parameter, columns, "give a non-empty list of column names")
    quoted = []
    for column in columns:
        alias, _, name = column.rpartition(".")   # (a column name never holds a period)
        if (alias and not ALIAS.fullmatch(alias)) or not is_column_name(name):
            raise ParameterError(parameter, column, f"give column names BigQuery allows ({COLUMN_NAME_RULE}), "
                                                    "optionally as alias.column")
        quoted.append(f"{alias}.{quote_identifier(name)}" if alias else quote_identifier(name))
    return quoted
