"""Keep secrets out of everything the kit writes: notebooks, their metadata, HTML and the index.

Two rules:
- a parameter whose name contains token, secret, password or key has its value replaced by `***`;
- text anywhere is scrubbed of bearer tokens, PEM private keys, Google API keys, OAuth access
  tokens, JWTs, `"api_key": "..."`-style pairs, and the literal values of secret parameters
  (so a secret printed by a cell is caught too).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

MASK = "***"

# Parameter names: the rule, deliberately broad (it also masks e.g. `keys`).
_SECRET_NAME = re.compile(r"token|secret|password|key", re.IGNORECASE)

# Names inside free text are matched more narrowly: "keys: game_date" in a report is not a secret.
_TEXT_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:token|secret|password|passwd|api[_-]?key|private[_-]?key|access[_-]?key)[A-Za-z0-9_.-]*"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, also when JSON-escaped ("\n" as two characters).
    (re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL),
     r"-----BEGIN \1PRIVATE KEY-----" + MASK + r"-----END \1PRIVATE KEY-----"),
    # A PEM block cut short (no END line): mask the base64 body that follows.
    (re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)(?!\*\*\*)(?:\\n|[A-Za-z0-9+/=\s])+"), r"\1" + MASK),
    (re.compile(r"\b(Bearer)\s+(?!\*\*\*)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE), r"\1 " + MASK),
    (re.compile(r"\bAIza[0-9A-Za-z\-_]{35,}"), MASK),
    (re.compile(r"\bya29\.[0-9A-Za-z\-_.]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # "client_secret": "...", 'api_token': '...'  (JSON and Python reprs)
    (re.compile(r"""(["'])(""" + _TEXT_SECRET_NAME + r""")\1(\s*:\s*)(["'])(?!\*\*\*)(?:\\.|(?!\4).)+\4""", re.IGNORECASE),
     r"\1\2\1\3\4" + MASK + r"\4"),
    # api_token = "abc" (Python source, keyword arguments in tracebacks)
    (re.compile(r"""\b(""" + _TEXT_SECRET_NAME + r""")(\s*[=:]\s*)(["'])(?!\*\*\*)(?:\\.|(?!\3).)+\3""", re.IGNORECASE),
     r"\1\2\3" + MASK + r"\3"),
    # api_token=abc, password: hunter2 (logs, command lines, headers)
    (re.compile(r"""\b(""" + _TEXT_SECRET_NAME + r""")(\s*[=:]\s*)(?!\*\*\*)(?!["'])[^\s,;&"'<>]+""", re.IGNORECASE),
     r"\1\2" + MASK),
]

# A literal secret shorter than this is not searched for in free text: masking every "abc" in a
# report would destroy it. Such values are still masked wherever they appear by name.
MIN_LITERAL_LENGTH = 4


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(str(name)))


def mask_value(name: str, value: Any) -> Any:
    """The value to show for parameter `name`: `***` for a secret name (unless unset), else the value."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return value


def secret_values(parameters: Mapping[str, Any]) -> list[str]:
    """Literal values of secret-named parameters (nested mappings and lists included)."""
    found: list[str] = []

    def walk(name: str, value: Any, secret: bool) -> None:
        secret = secret or is_secret_name(name)
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(str(key), inner, secret)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(name, inner, secret)
        elif secret and value is not None and not isinstance(value, bool):
            text = str(value)
            if len(text) >= MIN_LITERAL_LENGTH:
                found.append(text)

    for key, value in parameters.items():
        walk(str(key), value, False)
    # Longest first, so a secret that contains another is replaced whole.
    return sorted(set(found), key=len, reverse=True)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Scrub known secret shapes and the given literal secret values from `text`."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= MIN_LITERAL_LENGTH:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_parameters(parameters: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of a parameter mapping with secret-named values replaced and text scrubbed."""
    secrets = list(secrets)

    def walk(name: str, value: Any) -> Any:
        if is_secret_name(name) and value not in (None, ""):
            return MASK
        if isinstance(value, Mapping):
            return {k: walk(str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(name, v) for v in value]
        if isinstance(value, str):
            return mask_text(value, secrets)
        return value

    return {k: walk(str(k), v) for k, v in parameters.items()}


def mask_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Scrub every string inside a JSON-like value (keys kept, values masked by shape and literal)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: mask_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_data(v, secrets) for v in value]
    return value


def _mask_source(source: Any, secrets: list[str]) -> Any:
    if isinstance(source, list):
        return [mask_text(line, secrets) for line in source]
    return mask_text(source, secrets)


def mask_notebook(nb: Any, secrets: Iterable[str] = ()) -> Any:
    """Mask a notebook in place (and return it): papermill's parameter metadata, every cell source,
    every text-like output and the recorded `metadata.runbook`. Image data is left alone."""
    secrets = list(secrets)
    papermill_meta = nb.metadata.get("papermill")
    if papermill_meta and isinstance(papermill_meta.get("parameters"), Mapping):
        papermill_meta["parameters"] = mask_parameters(papermill_meta["parameters"], secrets)
    if "runbook" in nb.metadata:
        recorded = dict(nb.metadata["runbook"])
        run = recorded.get("run")
        if isinstance(run, Mapping) and isinstance(run.get("parameters"), Mapping):
            recorded["run"] = {**run, "parameters": mask_parameters(run["parameters"], secrets)}
        nb.metadata["runbook"] = mask_data(recorded, secrets)
    for cell in nb.cells:
        cell["source"] = _mask_source(cell.get("source", ""), secrets)
        for output in cell.get("outputs", []):
            _mask_output(output, secrets)
    return nb


def _mask_output(output: Any, secrets: list[str]) -> None:
    if "text" in output:
        output["text"] = _mask_source(output["text"], secrets)
    if "traceback" in output:
        output["traceback"] = [mask_text(line, secrets) for line in output["traceback"]]
    if "evalue" in output:
        output["evalue"] = mask_text(output["evalue"], secrets)
    data = output.get("data")
    if data:
        for mime in list(data):
            if mime.startswith("image/") and mime != "image/svg+xml":
                continue
            value = data[mime]
            if isinstance(value, (str, list)) and not mime.endswith("json"):
                data[mime] = _mask_source(value, secrets)
            else:
                data[mime] = mask_data(value, secrets)
