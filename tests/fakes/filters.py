"""Google's list filters (Cloud Build's builds.list, Cloud Logging's entries.list) as the fakes evaluate them:
`field op value` terms and Cloud Logging's `log_id("LOG_ID")`, joined by AND, with parenthesised OR groups;
enough of the grammar for what the kit sends."""
from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any, Callable
from urllib.parse import unquote

_TERM = re.compile(r'\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|>|<)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*')
# The Logging query language is not case-sensitive but for AND/OR/NOT and regular expressions: LOG_ID(...) too
_LOG_ID = re.compile(r'\s*log_id\(\s*("(?:[^"\\]|\\.)*")\s*\)\s*', re.IGNORECASE)


def _split_top_level(text: str, word: str) -> list[str]:
    """Split on ` AND `/` OR ` outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    token = f" {word} "
    while i < len(text):
        ch = text[i]
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(token, i):
            parts.append(text[start:i])
            i += len(token)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _lookup(record: dict, dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@functools.lru_cache(maxsize=1 << 16)   # every page compares and sorts every entry's timestamp again
def as_time(text: str) -> datetime:
    # Nanosecond timestamps: keep microseconds, which is all the fixtures need.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def _compare(actual: Any, op: str, expected: str, field_name: str) -> bool:
    if actual is None:
        return op == "!="
    if isinstance(actual, list):  # repeated fields (Cloud Build tags): "=" means "contains"
        hit = expected in actual
        return hit if op == "=" else (not hit if op == "!=" else False)
    if field_name.endswith("timestamp") or field_name.endswith("Time") or field_name.endswith("_time"):
        left, right = as_time(str(actual)), as_time(expected)
    elif isinstance(actual, (int, float)) and not isinstance(actual, bool):
        left, right = actual, float(expected)
    else:
        left, right = str(actual), expected
    return {"=": left == right, "!=": left != right, ">=": left >= right, "<=": left <= right,
            ">": left > right, "<": left < right}[op]


def _log_id_matches(record: dict, log_id: str) -> bool:
    """log_id("a/b") as Cloud Logging evaluates it: the log ID ending logName (PARENT/logs/ID, the ID URL-encoded
    there, a%2Fb), under any parent: it names the log alone, not the project."""
    parent, found, encoded = str(record.get("logName") or "").rpartition("/logs/")
    return bool(found and parent) and unquote(encoded) == log_id


def matches_filter(record: dict, text: str | None) -> bool:
    """Evaluate a filter of `field op value` terms joined by AND, with parenthesised OR groups."""
    return compiled_filter(text)(record)


@functools.lru_cache(maxsize=256)
def compiled_filter(text: str | None) -> Callable[[dict], bool]:
    """The filter parsed once into a predicate: a fake lists every entry against it for every page asked for, and
    parsing it again per entry made one page of a 46,000-line build log take 15 s."""
    if not text or not text.strip():
        return lambda record: True
    text = text.strip()
    ands = _split_top_level(text, "AND")
    if len(ands) > 1:
        parts = [compiled_filter(part) for part in ands]
        return lambda record: all(part(record) for part in parts)
    ors = _split_top_level(text, "OR")
    if len(ors) > 1:
        parts = [compiled_filter(part) for part in ors]
        return lambda record: any(part(record) for part in parts)
    if text.startswith("(") and text.endswith(")"):
        return compiled_filter(text[1:-1])
    function = _LOG_ID.fullmatch(text)
    if function:
        log_id = json.loads(function.group(1))
        return lambda record: _log_id_matches(record, log_id)
    term = _TERM.fullmatch(text)
    if not term:
        raise ValueError(f"fake cannot parse filter term {text!r}")
    name, op, value = term.groups()
    if value.startswith('"'):
        value = json.loads(value)
    return lambda record: _compare(_lookup(record, name), op, value, name)
