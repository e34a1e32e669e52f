"""Keep secrets out of everything the kit writes: notebooks, their metadata, HTML and the index.

Two rules:
- a parameter whose name contains token, secret, password or key has its value replaced by `***`;
- text anywhere is scrubbed of bearer tokens, `Authorization:` credentials, PEM and PGP private
  keys, Google API keys, OAuth access tokens and client secrets, JWTs, passwords in URLs, GitHub
  tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), AWS access key ids (AKIA..., ASIA...), Slack
  tokens (xoxb-, xoxp-, xapp-, ...) and webhook URLs, `"api_key": "..."`-style pairs, and the
  literal values of secret parameters, also as they appear HTML-, JSON-, repr- or URL-escaped (so
  a secret printed or displayed by a cell is caught too).

Every pattern runs in about linear time (bounded name parts, possessive loops, no alternatives
that can match the same character, candidates anchored where a name or token starts), and a
notebook output is cut to MAX_OUTPUT_BYTES before it is masked, so a huge or hostile output
cannot stall a run.
"""
from __future__ import annotations

import functools
import html
import json
import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "***"

# Parameter names: the rule, deliberately broad (token, secret, password or key anywhere: `sort_key`,
# `keystore` too), but for a plural `keys` at a name's end: in a data kit that is key columns (runbook 04's own
# `max_duplicate_keys`, a threshold whose masking blanked every equal number, dates' years included, in the report),
# unless a word before it says what keys (`api_keys`, `ssh_keys`).
_SECRET_NAME = re.compile(r"token|secret|password|(?:api|private|access|ssh|signing|encryption|account)[_.-]?keys"
                          r"|key(?!s(?![a-z0-9]))", re.IGNORECASE)

# Names inside free text are matched more narrowly: "keys: game_date" in a report is not a secret.
# A name starts where no name character precedes it (not at every \b inside a long base64 run),
# and its parts are bounded, so a 100 KB token-like blob costs one short look, not a quadratic scan.
_NAME_CHAR = r"[A-Za-z0-9_.-]"
# A name that ends in one of these words names something about a secret, not the secret: gcloud's
# `--push-auth-token-audience=https://...` is the URL a token is minted for, and masking it would print a
# fix command that sets the audience to `***` (the Pub/Sub pushes would stay refused).
_ABOUT_A_SECRET = ("audience", "type", "uri", "url", "endpoint", "file", "path", "expiry", "lifetime")
_TEXT_SECRET_NAME = (rf"(?<!{_NAME_CHAR}){_NAME_CHAR}{{0,64}}?"
                     r"(?:token|secret|password|passwd|api[_-]?key|private[_-]?key|access[_-]?key)"
                     rf"{_NAME_CHAR}{{0,64}}+" + "".join(f"(?<!{word})" for word in _ABOUT_A_SECRET))
# A name that ends in the word itself (api_token, DB_PASSWORD): before a colon with no space, where a longer name
# is more likely a resource (PROJECT:DATASET) than a secret.
_TEXT_SECRET_NAME_ENDING = (rf"(?<!{_NAME_CHAR}){_NAME_CHAR}{{0,64}}?"
                            r"(?:token|secret|password|passwd|api[_-]?key|private[_-]?key|access[_-]?key)s?"
                            rf"(?!{_NAME_CHAR})")
# name = value or name: value, not the == of a version pin (secret-manager==2.99.0) or a C++/Rust ::
_SEPARATOR = r"(?:=(?!=)|:(?!:))"


# A value that is the shell's reference to a secret, not the secret: token="$(gcloud auth print-identity-token)",
# --build-arg TOKEN=$GITHUB_TOKEN, password=${DB_PASSWORD} (how a build passes it: evidence to keep).
_NOT_A_REFERENCE = r"(?-i:(?!\$[({]|\$[A-Z_][A-Z0-9_]*+(?![a-z0-9])))"   # (upper case: whatever the pattern's flags)


def _quoted_value(quote_group: int) -> str:
    """A quoted value up to its closing quote: a backslash is only ever consumed with the character
    it escapes, so an unclosed quote followed by many backslashes fails in linear time."""
    return rf"(?!\*\*\*){_NOT_A_REFERENCE}(?:(?!\{quote_group})(?:\\.|[^\\\n]))++\{quote_group}"


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(Bearer)\s++(?!\*\*\*)[A-Za-z0-9\-._~+/]{8,}+=*", re.IGNORECASE), r"\1 " + MASK),
    # Authorization: Basic dXNlcjpwYXNz (also as a header dict entry or a curl -H argument)
    (re.compile(r"""(\bAuthorization["']?\s*+[:=]\s*+["']?Basic\s++)(?!\*\*\*)[A-Za-z0-9+/]{4,}+={0,2}""",
                re.IGNORECASE), r"\1" + MASK),
    # scheme://user:password@host
    (re.compile(r"""((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,19}+://[^\s/?#@:'"<>]{0,256}+:)"""
                r"""(?!\*\*\*@)[^\s/?#@'"<>]{1,256}+@"""), r"\1" + MASK + "@"),
    (re.compile(r"\bAIza[0-9A-Za-z\-_]{35,}+"), MASK),
    # Secrets by shape, whatever names them: GitHub tokens (classic and fine-grained), AWS access
    # key ids, Slack bot/user/app tokens and incoming-webhook URLs.
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{22,}+)"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}+"), MASK),
    (re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]{8,}+"), r"\1" + MASK),
    (re.compile(r"\bya29\.[0-9A-Za-z\-_.]++"), MASK),
    (re.compile(r"\bGOCSPX-[0-9A-Za-z\-_]{10,}+"), MASK),
    # A JWT starts a base64url run (not mid-run after a "-"), so a run of "-eyJ" pieces is one look.
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*+"), MASK),
    # "client_secret": "...", 'api_token': '...'  (JSON and Python reprs, also JSON inside a JSON string)
    (re.compile(r"""(\\?["'])(""" + _TEXT_SECRET_NAME + r""")\1(\s*+:\s*+)(\\?["'])""" + _quoted_value(4),
                re.IGNORECASE), r"\1\2\1\3\4" + MASK + r"\4"),
    # api_token = "abc" (Python source, keyword arguments in tracebacks)
    (re.compile(r"""(""" + _TEXT_SECRET_NAME + r""")(\s*+""" + _SEPARATOR + r"""\s*+)(["'])""" + _quoted_value(3),
                re.IGNORECASE), r"\1\2\3" + MASK + r"\3"),
    # api_token=abc, password: hunter2, password:hunter2 (logs, command lines, headers); not a name that only
    # starts with such a word right before a colon (bq's tokenomics-prod:dataset)
    (re.compile(r"""(""" + _TEXT_SECRET_NAME + r""")(\s*+=(?!=)\s*+|\s*+:(?!:)\s++)(?!\*\*\*)(?!["'])"""
                + _NOT_A_REFERENCE + r"""[^\s,;&"'<>]++""", re.IGNORECASE), r"\1\2" + MASK),
    (re.compile(r"""(""" + _TEXT_SECRET_NAME_ENDING + r""":)(?![:\s])(?!\*\*\*)(?!["'])""" + _NOT_A_REFERENCE
                + r"""[^\s,;&"'<>]++""", re.IGNORECASE), r"\1" + MASK),
    # A secret cut short for display by something other than the kit (pandas cuts a long cell with "..."),
    # no longer the shape its rule above needs: scheme://user:pass..., ghp_A1b2..., "password": "hun...
    (re.compile(r"""((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,19}+://[^\s/?#@:'"<>]{0,256}+:)(?!\*\*\*)"""
                r"""[^\s/?#@'"<>.…]{1,256}+(?=…|\.\.\.)"""), r"\1" + MASK),
    (re.compile(r"""(?<![A-Za-z0-9_-])(?:gh[pousr]_|github_pat_|AIza|GOCSPX-|xox[abposre]-|xapp-|AKIA|ASIA|eyJ)"""
                r"""[A-Za-z0-9_-]*+(?=…|\.\.\.)"""), MASK),
    (re.compile(r"""(""" + _TEXT_SECRET_NAME + r"""\\?["']?\s*+[=:]\s*+\\?["'])(?!\*\*\*)[^"'\n…]{1,256}+(?=…)""",
                re.IGNORECASE), r"\1" + MASK),
]

# PEM and PGP private keys: "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PGP PRIVATE KEY BLOCK-----".
_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]{1,20} ){0,3})PRIVATE KEY( BLOCK)?-----")
# A key's END line is looked for this far after its BEGIN line (a 4096-bit PGP key is about 7 KB).
_PEM_MAX_BODY = 65536
# A block cut short (no END line): its body, also JSON-escaped ("\n" as two characters) or with
# PGP armor headers ("Version: ..."); masking a little prose after it is the safe side.
_PEM_BODY = re.compile(r"(?:\\[nr]|[A-Za-z0-9+/=:.\s-])++")

# A literal secret shorter than this is not searched for in free text: masking every "abc" in a
# report would destroy it. Such values are still masked wherever they appear by name.
MIN_LITERAL_LENGTH = 4

# An output (stream text, a text/* or SVG representation, an error's traceback) longer than this
# is cut before masking: a run that prints 50 MB must not make masking or the HTML page unusable.
MAX_OUTPUT_BYTES = 1_000_000
TRUNCATION_MARKER = "[output truncated by the runner: {dropped} of {total} bytes not kept]"
_MIMES_CUT_NOT_DROPPED = ("text/plain",)   # other text mimes are dropped, not cut, when too big


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(str(name)))


def mask_value(name: str, value: Any) -> Any:
    """The value to show for parameter `name`: `***` for a secret name (unless unset), else the value."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    return value


def secret_values(parameters: Mapping[str, Any]) -> list[str]:
    """Literal values of secret-named parameters (nested mappings and lists included). `mask_text`
    also finds each one HTML-, JSON-, repr- and URL-escaped."""
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


def literal_forms(secret: str) -> set[str]:
    """The ways a secret value shows up in what a notebook writes: as is, HTML-escaped (pandas and
    IPython HTML, with either quote style), inside a JSON string or a Python repr, URL-encoded."""
    encoded = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
               repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret, safe="")}
    forms = set(encoded)
    for text in encoded:
        forms.add(html.escape(text, quote=False))
        forms.add(html.escape(text))
        forms.add(html.escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;"))
    return {f for f in forms if len(f) >= MIN_LITERAL_LENGTH}


@functools.lru_cache(maxsize=64)
def _all_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_LITERAL_LENGTH:
            forms |= literal_forms(secret)
    return tuple(sorted(forms, key=len, reverse=True))


def _mask_private_keys(text: str) -> str:
    if "-----BEGIN " not in text:
        return text
    parts: list[str] = []
    position = 0
    searched: dict[str, int] = {}  # END line -> where a search that found nothing stopped
    while (begin := _PEM_BEGIN.search(text, position)) is not None:
        end_line = f"-----END {begin.group(1)}PRIVATE KEY{begin.group(2) or ''}-----"
        window_end = begin.end() + _PEM_MAX_BODY + len(end_line)
        # Never search the same stretch twice: many BEGIN lines without an END stay linear.
        end = text.find(end_line, max(begin.end(), searched.get(end_line, 0)), window_end)
        if end < 0:
            searched[end_line] = window_end - len(end_line) + 1
        parts.append(text[position:begin.end()])
        if end >= 0:
            parts.append(MASK + end_line)
            position = end + len(end_line)
            continue
        body = _PEM_BODY.match(text, begin.end())
        position = begin.end()
        if body is not None and not text.startswith(MASK, begin.end()):
            parts.append(MASK)
            position = body.end()
    parts.append(text[position:])
    return "".join(parts)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Scrub known secret shapes and the given literal secret values (in every escaped form) from `text`."""
    if not text:
        return text
    for form in _all_forms(tuple(secrets)):
        if form in text:
            text = text.replace(form, MASK)
    text = _mask_private_keys(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask_keys(items: Iterable[tuple[Any, Any]], secrets: list[str], value_of) -> dict[Any, Any]:
    """A mapping with text keys masked too (a secret can be a key: {"<token>": "user"}); two keys
    that mask alike are kept apart rather than one silently replacing the other."""
    masked: dict[Any, Any] = {}
    for key, value in items:
        new_key = mask_text(key, secrets) if isinstance(key, str) else key
        if new_key in masked:
            n = 2
            while f"{new_key} #{n}" in masked:
                n += 1
            new_key = f"{new_key} #{n}"
        masked[new_key] = value_of(key, value)
    return masked


def mask_parameters(parameters: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of a parameter mapping with secret-named values replaced and text (keys too) scrubbed."""
    secrets = list(secrets)

    def walk(name: str, value: Any) -> Any:
        if is_secret_name(name) and value not in (None, ""):
            return MASK
        if isinstance(value, Mapping):
            return _mask_keys(value.items(), secrets, lambda k, v: walk(str(k), v))
        if isinstance(value, list):
            return [walk(name, v) for v in value]
        if isinstance(value, str):
            return mask_text(value, secrets)
        return value

    return _mask_keys(parameters.items(), secrets, lambda k, v: walk(str(k), v))


def mask_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Scrub every string inside a JSON-like value, mapping keys included (by shape and literal)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        masked = _mask_keys(value.items(), secrets, lambda k, v: mask_data(v, secrets))
        # Keep nbformat's NotebookNode (attribute access) where the input was one.
        return type(value)(masked) if isinstance(value, dict) and type(value) is not dict else masked
    if isinstance(value, (list, tuple)):
        return [mask_data(v, secrets) for v in value]
    return value


def _mask_source(source: Any, secrets: list[str]) -> Any:
    if isinstance(source, list):
        return [mask_text(line, secrets) for line in source]
    return mask_text(source, secrets)


# ---------------------------------------------------------------------------------------------
# Cutting outputs that are too big to mask and show

def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def cap_text(text: str, limit: int = MAX_OUTPUT_BYTES, secrets: Iterable[str] = ()) -> str:
    """`text` if it fits in `limit` UTF-8 bytes, else its start plus a visible truncation marker.

    The cut falls on a line end (or a space) near the limit where there is one, and a trailing
    beginning of a literal secret is dropped: a secret cut in half would not be recognised later.
    """
    if len(text) * 4 <= limit:
        return text
    data = _utf8(text)
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    for separator in ("\n", " "):
        at = kept.rfind(separator, max(0, len(kept) - 65536))
        if at > 0:
            kept = kept[:at + 1]
            break
    for form in _all_forms(tuple(secrets)):
        partial = next((k for k in range(len(form) - 1, 0, -1) if kept.endswith(form[:k])), 0)
        if partial:
            kept = kept[:-partial]
    dropped = len(data) - len(_utf8(kept))
    marker = TRUNCATION_MARKER.format(dropped=dropped, total=len(data))
    return kept + ("" if kept.endswith("\n") else "\n") + marker + "\n"


def _as_text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def cap_output(output: Any, limit: int = MAX_OUTPUT_BYTES, secrets: Iterable[str] = ()) -> None:
    """Cut one notebook output in place to at most about `limit` bytes per representation.

    Stream text and text/plain are cut with a marker; a too-big HTML, Markdown, LaTeX, SVG or
    JavaScript representation is dropped (cut HTML could swallow the rest of the report page), and
    a text/plain note says so if nothing textual is left. Images and JSON data are left alone.
    """
    secrets = list(secrets)
    if "text" in output:
        text = _as_text(output["text"])
        capped = cap_text(text, limit, secrets)
        if capped is not text:
            output["text"] = capped
    if "traceback" in output:
        output["traceback"] = _cap_lines([str(line) for line in output["traceback"]], limit, secrets)
    if isinstance(output.get("evalue"), str):
        output["evalue"] = cap_text(output["evalue"], limit, secrets)
    data = output.get("data")
    if not data:
        return
    for mime in list(data):
        value = data[mime]
        if not isinstance(value, (str, list)) or mime.endswith("json") or (
                mime.startswith("image/") and mime != "image/svg+xml"):
            continue
        text = _as_text(value)
        if len(text) * 4 <= limit or len(_utf8(text)) <= limit:
            continue
        if mime in _MIMES_CUT_NOT_DROPPED:
            data[mime] = cap_text(text, limit, secrets)
        else:
            del data[mime]
            note = TRUNCATION_MARKER.format(dropped=len(_utf8(text)), total=len(_utf8(text)))
            data["text/plain"] = data.get("text/plain") or f"{note} ({mime} representation)"


def _cap_lines(lines: list[str], limit: int, secrets: list[str]) -> list[str]:
    kept, size = [], 0
    for i, line in enumerate(lines):
        line = cap_text(line, limit, secrets)
        size += len(_utf8(line))
        if size > limit and kept:
            dropped = sum(len(_utf8(rest)) for rest in lines[i:])
            kept.append(TRUNCATION_MARKER.format(dropped=dropped, total=size - len(_utf8(line)) + dropped))
            break
        kept.append(line)
    return kept


# ---------------------------------------------------------------------------------------------
# Whole notebooks

def mask_notebook(nb: Any, secrets: Iterable[str] = (), output_limit: int = MAX_OUTPUT_BYTES) -> Any:
    """Mask a notebook in place (and return it): papermill's metadata (parameters first), every cell
    source and cell metadata, every text-like output and its metadata, and the recorded
    `metadata.runbook`. Outputs are cut to `output_limit` bytes first. Image data is left alone."""
    secrets = list(secrets)
    papermill_meta = nb.metadata.get("papermill")
    if papermill_meta:
        if isinstance(papermill_meta.get("parameters"), Mapping):
            papermill_meta["parameters"] = mask_parameters(papermill_meta["parameters"], secrets)
        nb.metadata["papermill"] = mask_data(papermill_meta, secrets)
    if "runbook" in nb.metadata:
        recorded = dict(nb.metadata["runbook"])
        run = recorded.get("run")
        if isinstance(run, Mapping) and isinstance(run.get("parameters"), Mapping):
            recorded["run"] = {**run, "parameters": mask_parameters(run["parameters"], secrets)}
        nb.metadata["runbook"] = mask_data(recorded, secrets)
    for cell in nb.cells:
        cell["source"] = _mask_source(cell.get("source", ""), secrets)
        if cell.get("metadata"):
            cell["metadata"] = mask_data(cell["metadata"], secrets)
        for output in cell.get("outputs", []):
            cap_output(output, output_limit, secrets)
            _mask_output(output, secrets)
    return nb


def _mask_output(output: Any, secrets: list[str]) -> None:
    if "text" in output:
        output["text"] = _mask_source(output["text"], secrets)
    if "traceback" in output:
        output["traceback"] = [mask_text(line, secrets) for line in output["traceback"]]
    if "evalue" in output:
        output["evalue"] = mask_text(output["evalue"], secrets)
    if output.get("metadata"):
        output["metadata"] = mask_data(output["metadata"], secrets)
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
