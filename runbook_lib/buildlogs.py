"""Fetch a build's log, trying each place it can live, and say what happened at each.

Target-neutral: the cloud adapters (runbook_lib.gcp.storage / .logs) and the local sandbox plug in
their own LogSource objects. Where Cloud Build puts a log depends on the build's `options.logging`:

- unset / LEGACY: the logs bucket (`logsBucket`, object `log-<ID>.txt`) AND Cloud Logging;
- GCS_ONLY: only the bucket;
- CLOUD_LOGGING_ONLY / STACKDRIVER_ONLY: only Cloud Logging (no bucket object is written);
- NONE: nowhere.

So the chain skips the places a build's mode rules out instead of reporting a misleading "not found".
"""
from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, runtime_checkable

import yaml

from .errors import AccessDenied, CredentialsMissing, NotFoundError, ParameterError, RunbookError
from .formats import keyed_table, sentence
from .request_logs import entry_time

BUCKET = "gcs"
LOGGING = "logging"
LOCAL_FILE = "local-file"

OUTCOMES = ("ok", "not-found", "forbidden", "no-credentials", "wrong-region", "logging-disabled", "skipped", "error")
LOGGING_MODES = ("LOGGING_UNSPECIFIED", "LEGACY", "GCS_ONLY", "STACKDRIVER_ONLY", "CLOUD_LOGGING_ONLY", "NONE")
CLOUD_LOGGING_ONLY_MODES = ("CLOUD_LOGGING_ONLY", "STACKDRIVER_ONLY")

_BUILD_NAME = re.compile(r"projects/(?P<project>[^/]+)(/locations/(?P<region>[^/]+))?/builds/(?P<id>[^/]+)")
_LOG_URL_REGION = re.compile(r"region=([a-z0-9-]+)")


# ---------------------------------------------------------------- typed outcomes a source raises

class LogSourceError(RunbookError):
    """A source could not produce the log; `outcome` is the Attempt outcome it maps to."""

    outcome = "error"


class NotFound(LogSourceError):
    outcome = "not-found"


class Forbidden(LogSourceError):
    outcome = "forbidden"


class WrongRegion(LogSourceError):
    outcome = "wrong-region"


class Disabled(LogSourceError):
    outcome = "logging-disabled"


@runtime_checkable
class LogSource(Protocol):
    """One place a build log can be read from. `name` is "gcs", "logging", or a source's own name.

    fetch(build) returns the log text or raises NotFound / Forbidden / WrongRegion / Disabled
    (any other LogSourceError is recorded as "error"), or one of the kit's own errors: NotFoundError
    (not-found), AccessDenied (forbidden: a missing role, an API not enabled, a perimeter),
    CredentialsMissing (no-credentials); any other RunbookError or OSError is "error". None of them stops
    the chain: the next source, and the saved log file last, are still tried.
    """

    name: str

    def fetch(self, build: dict) -> str: ...


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class Attempt:
    source: str
    outcome: str
    detail: str

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome={self.outcome!r} is not valid: choose one of {', '.join(OUTCOMES)}.")

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "outcome": self.outcome, "detail": self.detail}


@dataclass
class LogFetch:
    build_id: str | None
    text: str | None
    source: str | None
    attempts: list[Attempt] = field(default_factory=list)
    command: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None

    def to_dict(self, include_text: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"build_id": self.build_id, "source": self.source, "command": self.command,
                                "attempts": [a.to_dict() for a in self.attempts],
                                "lines": None if self.text is None else len(self.text.splitlines())}
        if include_text:
            data["text"] = self.text
        return data

    def table(self):
        return keyed_table([a.to_dict() for a in self.attempts], ["source", "outcome", "detail"])

    def summary(self) -> str:
        if self.ok:
            return f"log of build {self.build_id} read from {self.source} ({len(self.text.splitlines())} lines)"
        tried = ", ".join(f"{a.source}: {a.outcome}" for a in self.attempts) or "nothing tried"
        return f"no log found for build {self.build_id} ({tried})"


# ---------------------------------------------------------------- build facts the chain needs

def logging_mode(build: dict) -> str:
    """The build's options.logging, LOGGING_UNSPECIFIED when absent (REST JSON omits defaults)."""
    mode = (build.get("options") or {}).get("logging") or "LOGGING_UNSPECIFIED"
    if mode not in LOGGING_MODES:
        raise ParameterError("build.options.logging", mode, f"choose one of {', '.join(LOGGING_MODES)}")
    return mode


def build_location(build: dict) -> tuple[str | None, str | None]:
    """(project, region) of a build: projectId wins over the name's (often numeric) project."""
    match = _BUILD_NAME.fullmatch(build.get("name") or "")
    project = build.get("projectId") or (match.group("project") if match else None)
    if match:
        # projects/P/builds/ID is the legacy name of a build in region global.
        return project, match.group("region") or "global"
    from_url = _LOG_URL_REGION.search(str(build.get("logUrl") or ""))
    return project, from_url.group(1) if from_url else None


def log_command(build_id: str, region: str | None, project: str | None) -> str:
    """The gcloud command that works: plain `gcloud builds log ID` only searches region global."""
    parts = ["gcloud", "builds", "log", build_id]
    if region:
        parts.append(f"--region={region}")
    if project:
        parts.append(f"--project={project}")
    return " ".join(parts)


def command_for(build: dict) -> str | None:
    if not build.get("id"):
        return None
    project, region = build_location(build)
    # Never guess "global": that is the plain command that fails for regional builds.
    return log_command(build["id"], region or "REGION", project)


# ---------------------------------------------------------------- the chain

def _policy_skip(source_name: str, mode: str) -> Attempt | None:
    """An Attempt that the build's logging mode decides without asking the source, else None."""
    if source_name == LOCAL_FILE:
        return None
    if mode == "NONE":
        return Attempt(source_name, "logging-disabled",
                       "The build ran with options.logging=NONE, so Cloud Build kept no log anywhere.")
    if source_name == BUCKET and mode in CLOUD_LOGGING_ONLY_MODES:
        return Attempt(source_name, "skipped",
                       f"The build ran with options.logging={mode}, so no log object was written to a bucket.")
    if source_name == LOGGING and mode == "GCS_ONLY":
        return Attempt(source_name, "skipped",
                       "The build ran with options.logging=GCS_ONLY, so its log went only to the logs bucket.")
    return None


# The kit's own errors a cloud source raises (gcp/refusals.py says them), as outcomes.
_KIT_OUTCOMES = {NotFoundError: "not-found", AccessDenied: "forbidden", CredentialsMissing: "no-credentials"}


def _unless_empty(attempt: Attempt, text: str | None) -> tuple[Attempt, str | None]:
    """A log with no text (an object still being written, a file saved empty) is no log: the next source is tried,
    and without one the Build resource says what failed."""
    if text is None or text.strip():
        return attempt, text
    return Attempt(attempt.source, "not-found", f"{attempt.detail.rstrip('.')}: the log is empty, nothing to read."), None


def _try_source(source: LogSource, build: dict) -> tuple[Attempt, str | None]:
    try:
        text = source.fetch(build)
    except LogSourceError as exc:
        return Attempt(source.name, exc.outcome, sentence(exc)), None
    except tuple(_KIT_OUTCOMES) as exc:
        outcome = next(outcome for kind, outcome in _KIT_OUTCOMES.items() if isinstance(exc, kind))
        return Attempt(source.name, outcome, sentence(exc)), None
    except (OSError, RunbookError) as exc:  # network failures, unexpected API errors wrapped by the source
        return Attempt(source.name, "error", f"{type(exc).__name__}: {sentence(exc)}"), None
    if text is None:
        return Attempt(source.name, "not-found", "The source returned no log."), None
    lines = len(text.splitlines())
    return Attempt(source.name, "ok", f"Read {lines} log lines."), text


# A build log is a few MiB at most; a file far bigger than any is not one (and would not fit in memory).
MAX_LOG_FILE_BYTES = 512 * 1024 ** 2
# Cloud Build's first line of a build's log (after gcloud's own lines, when `gcloud builds submit`'s output was saved)
_STARTING_BUILD = re.compile(r'^starting build "([^"\s]+)"\s*$', re.MULTILINE)
_HEAD_CHARS = 16_384


def _read_bounded(path: Path) -> str:
    """The file's text; a ParameterError naming log_file when it is larger than any build log."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_LOG_FILE_BYTES + 1)
    if len(data) > MAX_LOG_FILE_BYTES:
        raise ParameterError("log_file", str(path), f"give a saved build log of at most "
                             f"{MAX_LOG_FILE_BYTES // 1024 ** 2} MiB; this file is larger, so it is no build's log")
    return decode_log(data)


# A saved log is UTF-8, but not always: Notepad's "UTF-8 with BOM", PowerShell 5's `>` (UTF-16 LE with a BOM), a
# UTF-16 file whose BOM was lost. The BOM says which (UTF-32's first: its LE BOM starts as UTF-16 LE's does).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_log(data: bytes) -> str:
    """A saved log's text: by its BOM (UTF-8, UTF-16 or UTF-32, the BOM left out), UTF-16 without one when its
    first bytes say so (an ASCII character in UTF-16 is a NUL byte and its own; UTF-8 text holds no NUL), else
    UTF-8; bytes that are not text in that encoding become U+FFFD, never an error."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    head = data[:4096] if len(data) % 2 == 0 else b""
    even, odd = head[::2], head[1::2]
    # (the other byte of a character is NUL too for U+2500's box drawing, `─`, so the NULs of the ASCII characters
    # need only outnumber those; two NULs in one character, UTF-32's, is no UTF-16)
    nul_pairs = sum(1 for a, b in zip(even, odd) if a == b == 0)
    for nul, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if len(head) >= 4 and nul.count(0) > max(len(nul) // 4, other.count(0), 4 * nul_pairs):
            return data.decode(codec, errors="replace")
    return data.decode("utf-8", errors="replace")


def _check_same_build(path: Path, build_id: str | None, named: list[str]) -> None:
    """A saved log that names another build is that build's log, not this one's: refused, naming both."""
    others = sorted(set(named) - {build_id})
    if build_id and others:
        raise ParameterError("log_file", str(path), f"give the saved log of build {build_id}; this file is the log "
                             f"of build {', '.join(others)}")


def _read_local_file(path: Path, build_id: str | None = None) -> tuple[Attempt, str | None]:
    if not path.is_file():
        return Attempt(LOCAL_FILE, "not-found", f"No file at {path}."), None
    try:
        text = _read_bounded(path)
    except OSError as exc:
        return Attempt(LOCAL_FILE, "error", f"Reading {path} failed: {sentence(exc)}"), None
    entries = _export_entries(text)
    if entries is not None:
        _check_same_build(path, build_id, [str(i) for e in entries if (i := _entry_build_id(e))])
        lines = _entries_lines(entries)
        return Attempt(LOCAL_FILE, "ok", f"Read {len(lines)} Cloud Logging entries from {path} (an export, "
                                         "put oldest first)."), "".join(line + "\n" for line in lines)
    newest_first = listed_newest_first(text)
    if newest_first:
        text = oldest_first(text)
    started = _STARTING_BUILD.search(text, 0, _HEAD_CHARS)
    _check_same_build(path, build_id, [started.group(1)] if started else [])
    read = f"Read {len(text.splitlines())} log lines from {path}"
    return Attempt(LOCAL_FILE, "ok", read + (" (a listing of Cloud Logging entries newest first, as `gcloud logging "
                                             "read` prints them, put oldest first)." if newest_first else ".")), text


# ---------------------------------------------------------------- a saved Cloud Logging export

# What an operator saves when the log lives only in Cloud Logging: Logs Explorer's JSON download (an array
# of LogEntry), `gcloud logging read --format=json` (the same), or gcloud's default YAML (one document per
# entry). gcloud lists newest first unless told `--order=asc`; a build's log reads oldest first.
_YAML_ENTRY_KEYS = re.compile(r"^(?:textPayload|jsonPayload|insertId|logName):", re.MULTILINE)


def exported_entries(text: str) -> list[str] | None:
    """The lines of a saved Cloud Logging export, oldest first, or None when text is not one (a plain log)."""
    entries = _export_entries(text)
    return None if entries is None else _entries_lines(entries)


def _entries_lines(entries: list[dict]) -> list[str]:
    """The text lines of exported entries, in the order given."""
    return [line for entry in entries for line in _entry_lines(entry)]


def exported_build_log(text: str) -> str | None:
    """The log a saved export of a build's Cloud Logging entries holds, oldest first, one line a line (each entry's
    text: Cloud Build writes one entry per line of its log), or None when text is no such export. Only entries of
    Cloud Build (`resource.type` "build") are read so: a Cloud Run revision's entry pasted as it is stays that text."""
    entries = _export_entries(text)
    if entries is None or not all((e.get("resource") or {}).get("type") == "build" for e in entries):
        return None
    return "".join(line + "\n" for line in _entries_lines(entries))


# `gcloud logging read ... --format='value(textPayload)'` prints each entry's text alone, newest first: a build's
# log upside down, with no timestamps to put it right. Cloud Build's own lines show it: in a log as written
# `starting build "ID"` comes first, FETCHSOURCE and BUILD above the steps, a step's `Finished Step #N` below its
# `Starting Step #N` and its lines, and the build's verdicts (PUSH, DONE, ERROR, TIMEOUT, `ERROR: build step N ...
# failed`) below them all. (Not every step line is below its `Starting Step`: Cloud Build once printed the pull of
# the step's image above it; and a step's empty last line, `Step #1: `, may come after its `Finished Step`.)
_OWN_LINE = re.compile(r'^[ \t]*(?:(?P<start>starting build) "[^"\n]*"[ \t]*\r?$|(?P<edge>Starting|Finished) Step '
                       r'#(?P<edge_step>\d+)\b|(?P<phase>FETCHSOURCE|BUILD)[ \t]*\r?$|'
                       r'(?P<verdict>PUSH|DONE|ERROR|TIMEOUT|ERROR: build step .* failed\b.*?)[ \t]*\r?$|'
                       r'Step #(?P<step>\d+)(?: - "[^"\n]*")?:[ \t]*\S)', re.MULTILINE)




def listed_newest_first(text: str) -> bool:
    """Whether a plain log is a build's log listed newest first (gcloud logging read's default order): it ends with
    the build's first line, `starting build "ID"`, and Cloud Build's own lines stand in the reverse of the order it
    writes them, none in that order. (A part of such a listing copied without that line is read as it stands.)"""
    # gcloud lists every entry of the build: the listing ends with its first, `starting build "ID"`
    if not _STARTING_BUILD.match(text[-4096:].rstrip().rsplit("\n", 1)[-1].strip()):
        return False
    at: dict[tuple, list[int]] = {}   # each kind of line -> the line numbers it is on
    lineno, counted = 1, 0
    for m in _OWN_LINE.finditer(text):
        lineno += text.count("\n", counted, m.start())
        counted = m.start()
        if m.group("edge"):
            kind: tuple = (m.group("edge"), int(m.group("edge_step")))
        elif m.group("step"):
            kind = ("step", int(m.group("step")))
        else:
            kind = next((name, m.group(name)) for name in ("start", "phase", "verdict") if m.group(name))
        at.setdefault(kind, []).append(lineno)
    steps = [kind for kind in at if kind[0] in ("Starting", "step", "Finished")]
    verdicts = [kind for kind in at if kind[0] == "verdict"]
    # (a, b): a's lines stand above b's in a log as written
    pairs = [(("start", "starting build"), kind) for kind in at if kind[0] != "start"]
    pairs += [(("phase", "FETCHSOURCE"), ("phase", "BUILD"))]
    pairs += [(phase, kind) for phase in (("phase", "FETCHSOURCE"), ("phase", "BUILD")) for kind in steps + verdicts]
    pairs += [(kind, verdict) for kind in steps for verdict in verdicts]
    pairs += [(a, b) for n in {kind[1] for kind in steps}
              for a, b in ((("step", n), ("Finished", n)), (("Starting", n), ("Finished", n)))]
    pairs += [(("verdict", "PUSH"), ("verdict", "DONE"))]
    pairs = [(at[a], at[b]) for a, b in pairs if a in at and b in at]
    in_order = any(min(a) < max(b) for a, b in pairs)
    upside_down = any(max(a) > min(b) for a, b in pairs)
    return upside_down and not in_order


def oldest_first(text: str) -> str:
    """The lines of a listing newest first in the order they were written (the last line's newline as it was)."""
    ends = text.endswith("\n")
    lines = (text[:-1] if ends else text).split("\n")
    return "\n".join(lines[::-1]) + ("\n" if ends else "")


def _export_entries(text: str) -> list[dict] | None:
    """The LogEntry mappings of a saved Cloud Logging export, oldest first, or None when text is not one."""
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        entries = data.get("entries", [data]) if isinstance(data, dict) else data
    elif _YAML_ENTRY_KEYS.search(text, 0, 4096):
        try:
            entries = list(yaml.safe_load_all(text))
        except yaml.YAMLError:
            return None
    else:
        return None
    if not isinstance(entries, list) or not entries or not all(_is_entry(e) for e in entries):
        return None
    moments = [entry_time(e) for e in entries]   # (YAML may have read a stamp as a datetime: str() undoes it)
    if None not in moments:
        if moments[0] > moments[-1]:   # newest first: reversed, entries of one instant keep their order
            entries, moments = entries[::-1], moments[::-1]
        entries = [entries[i] for i in sorted(range(len(entries)), key=moments.__getitem__)]
    return entries


def _entry_build_id(entry: dict) -> Any:
    """The build a Cloud Build log entry belongs to (resource.labels.build_id), if it says."""
    resource = entry.get("resource")
    labels = resource.get("labels") if isinstance(resource, dict) else None
    return labels.get("build_id") if isinstance(labels, dict) else None


def _is_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and any(k in entry for k in ("textPayload", "jsonPayload", "protoPayload"))
            and any(k in entry for k in ("timestamp", "insertId", "logName")))


def _entry_lines(entry: dict) -> list[str]:
    payload = entry.get("textPayload")
    if payload is None:
        body = entry.get("jsonPayload") or entry.get("protoPayload") or {}
        payload = (body.get("message") or body.get("textPayload") or (body.get("status") or {}).get("message")
                   or json.dumps(body, sort_keys=True))
    return str(payload).rstrip("\n").split("\n")


def fetch_build_log(build: dict, sources: Iterable[LogSource], local_file: str | Path | None = None) -> LogFetch:
    """Try each source in order (normally the logs bucket, then Cloud Logging), then local_file.

    Stops at the first source that returns text.
    """
    if not isinstance(build, dict) or not build.get("id"):
        raise ParameterError("build", type(build).__name__ if not isinstance(build, dict) else build.get("id"),
                             "pass the build as a dict with an 'id' (Cloud Build v1 REST JSON)")
    mode = logging_mode(build)
    sources = list(sources)
    for source in sources:
        if not isinstance(source, LogSource):
            raise ParameterError("sources", source, "each source needs a name and a fetch(build) method")
    result = LogFetch(build_id=build["id"], text=None, source=None, command=command_for(build))
    for source in sources:
        attempt = _policy_skip(source.name, mode)
        text = None
        if attempt is None:
            attempt, text = _unless_empty(*_try_source(source, build))
        result.attempts.append(attempt)
        if text is not None:
            result.text, result.source = text, source.name
            return result
    if local_file is None:
        result.attempts.append(Attempt(LOCAL_FILE, "skipped", "No local log file was given."))
        return result
    attempt, text = _unless_empty(*_read_local_file(Path(local_file), build["id"]))
    result.attempts.append(attempt)
    if text is not None:
        result.text, result.source = text, LOCAL_FILE
    return result
