"""Google's list filters (Cloud Build's builds.list, Cloud Logging's entries.list) as the fakes evaluate them:
`field op value` terms and Cloud Logging's `log_id("LOG_ID")`, joined by AND, with parenthesised OR groups;
enough of the grammar for what the kit sends."""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
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
    if not text or not text.strip():
        return True
    text = text.strip()
    ands = _split_top_level(text, "AND")
    if len(ands) > 1:
        return all(matches_filter(record, part) for part in ands)
    ors = _split_top_level(text, "OR")
    if len(ors) > 1:
        return any(matches_filter(record, part) for part in ors)
    if text.startswith("(") and text.endswith(")"):
        return matches_filter(record, text[1:-1])
    function = _LOG_ID.fullmatch(text)
    if function:
        return _log_id_matches(record, json.loads(function.group(1)))
    term = _TERM.fullmatch(text)
    if not term:
        raise ValueError(f"fake cannot parse filter term {text!r}")
    name, op, value = term.groups()
    if value.startswith('"'):
        value = json.loads(value)
    return _compare(_lookup(record, name), op, value, name)
