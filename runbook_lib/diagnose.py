"""Runbook 01 logic: classify a build log, read the Build resource, explain the failure.

Pure library: it takes log text and Cloud Build v1 Build resources (REST JSON dicts, camelCase) and
never calls the cloud. The signature catalogue is data: runbook_lib/data/signatures.yaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .buildlogs import FAILED_STATUSES, RUNNING_STATUSES, build_location, command_for
from .checks import read_yaml
from .errors import ConfigError, ParameterError
from .formats import headline, one_line
from .results import Result

try:  # the regex parser is only used to find each pattern's literal anchor
    from re import _parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "data" / "signatures.yaml"
BUILDERS = ("buildpacks", "dockerfile", "any")
SEVERITIES = ("error", "warning")
MIN_NEEDLE = 4
MAX_LINES = 100        # line numbers kept per finding
MAX_EVIDENCE = 10      # evidence lines kept per finding
MAX_EVIDENCE_CHARS = 400
# How rare a character is in build logs, as a needle's first character: lowercase letters by
# English frequency, then uppercase (every "Step #0 - ..." line starts with S, so S counts as common).
_LOWER_BY_FREQUENCY = "etaoinsrhldcumfpgwybvkxjqz"
_COMMON = frozenset("0123456789 \t-./:_=\"',;()[]#S")


def _rarity(ch: str) -> int:
    if ch in _COMMON:
        return 0
    if ch in _LOWER_BY_FREQUENCY:
        return 1 + _LOWER_BY_FREQUENCY.index(ch)
    return 100
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_KEYS = {"id", "title", "builder", "severity", "weight", "patterns", "cause", "fix"}
# failureInfo.type / status values that name a signature even when the log says nothing useful
_STATUS_SIGNATURES = {"FETCH_SOURCE_FAILED": "source-fetch-failed", "PUSH_NOT_AUTHORIZED": "push-permission-denied",
                      "TIMEOUT": "build-timeout"}


# ----------------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class Signature:
    id: str
    title: str
    builder: str
    severity: str
    weight: int
    patterns: tuple[str, ...]
    cause: str
    fix: tuple[str, ...]


@dataclass(frozen=True)
class _Pattern:
    signature: int        # index into Catalogue.signatures
    number: int           # index into the signature's patterns
    needle: str           # a literal every match contains; found first with a fast scan
    regex: re.Pattern


class Catalogue:
    """Validated signatures plus the compiled scanner that finds candidate lines."""

    def __init__(self, signatures: list[Signature], source: str = "signatures.yaml"):
        self.signatures = signatures
        self.source = source
        self._by_id = {s.id: s for s in signatures}
        self._patterns: list[_Pattern] = []
        for si, sig in enumerate(signatures):
            for pi, text in enumerate(sig.patterns):
                self._patterns.append(_Pattern(si, pi, _needle(text, sig.id, source), re.compile(text)))
        needles = sorted({p.needle for p in self._patterns}, key=lambda n: (-len(n), n))
        # A bare alternation of literals (no groups) keeps the regex engine's first-character
        # prefilter; named groups per pattern would make the scan ~25x slower.
        self._scanner = re.compile("|".join(re.escape(n) for n in needles)) if needles else None

    def get(self, signature_id: str) -> Signature:
        if signature_id not in self._by_id:
            raise ParameterError("signature", signature_id, f"choose one of {', '.join(sorted(self._by_id))}")
        return self._by_id[signature_id]

    def ids(self) -> list[str]:
        return [s.id for s in self.signatures]


def _needle(pattern: str, sig_id: str, source: str) -> str:
    """The longest run of plain literal characters at the top level of the pattern."""
    where = f"{source}: signature '{sig_id}' pattern {pattern!r}"
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error as exc:
        raise ConfigError(f"{where} is not a valid regular expression: {exc}.") from None
    if parsed.state.flags & re.IGNORECASE:
        raise ConfigError(f"{where} uses (?i); patterns are case-sensitive, write the exact text instead.")
    runs, run = [], []
    for op, value in list(parsed) + [(None, None)]:
        if op is _sre_parse.LITERAL:
            run.append(chr(value))
            continue
        runs.append("".join(run))
        run = []
    # Any substring of a mandatory literal run is itself mandatory. Prefer one that starts with a
    # character that is rare in build logs: the scanner's speed is set by how often the first
    # characters of its needles occur in the text.
    candidates = [r[i:] for r in runs if "\n" not in r for i in range(len(r)) if len(r) - i >= MIN_NEEDLE]
    if not candidates:
        raise ConfigError(f"{where} needs a plain literal of at least {MIN_NEEDLE} characters outside groups "
                          "and alternations (split alternatives into separate patterns).")
    return max(candidates, key=lambda c: (_rarity(c[0]), len(c)))


def _text(entry: dict, key: str, where: str, source: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source}: {where}.{key} must be a non-empty text value, got {value!r}.")
    return " ".join(value.split())


def parse_catalogue(doc: object, source: str = "signatures.yaml") -> Catalogue:
    """Validate a parsed catalogue document; every problem names the file and the entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signatures"), list):
        raise ConfigError(f"{source}: the document must be a mapping with a 'signatures' list.")
    extra = set(doc) - {"version", "signatures"}
    if extra:
        raise ConfigError(f"{source}: top-level key(s) {sorted(extra)} are unknown; allowed: ['signatures', 'version'].")
    seen: set[str] = set()
    signatures: list[Signature] = []
    for n, entry in enumerate(doc["signatures"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: signatures[{n}] must be a mapping.")
        sig_id = entry.get("id")
        where = f"signature '{sig_id}'" if isinstance(sig_id, str) else f"signatures[{n}]"
        if not isinstance(sig_id, str) or not _ID.match(sig_id):
            raise ConfigError(f"{source}: {where}.id must be a lowercase hyphenated id, got {sig_id!r}.")
        if sig_id in seen:
            raise ConfigError(f"{source}: {where} is defined twice (duplicate id).")
        seen.add(sig_id)
        unknown = set(entry) - _KEYS
        if unknown:
            raise ConfigError(f"{source}: {where} has unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
        builder = entry.get("builder", "any")
        if builder not in BUILDERS:
            raise ConfigError(f"{source}: {where}.builder={builder!r} must be one of {', '.join(BUILDERS)}.")
        severity = entry.get("severity", "error")
        if severity not in SEVERITIES:
            raise ConfigError(f"{source}: {where}.severity={severity!r} must be one of {', '.join(SEVERITIES)}.")
        weight = entry.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
            raise ConfigError(f"{source}: {where}.weight must be a whole number from 0 to 100, got {weight!r}.")
        patterns = entry.get("patterns")
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            raise ConfigError(f"{source}: {where}.patterns must be a list of regular expressions.")
        if not patterns and sig_id != "unknown":
            raise ConfigError(f"{source}: {where}.patterns is empty; only 'unknown' may have no patterns.")
        fix = entry.get("fix")
        if isinstance(fix, str):
            fix = [fix]
        if not isinstance(fix, list) or not fix or not all(isinstance(f, str) and f.strip() for f in fix):
            raise ConfigError(f"{source}: {where}.fix must be one or more steps (a list of text).")
        signatures.append(Signature(sig_id, _text(entry, "title", where, source), builder, severity, weight,
                                    tuple(patterns), _text(entry, "cause", where, source),
                                    tuple(" ".join(f.split()) for f in fix)))
    if "unknown" not in seen:
        raise ConfigError(f"{source}: the catalogue needs an 'unknown' entry (used when nothing matches).")
    catalogue = Catalogue(signatures, source)  # compiles every pattern: bad regexes fail here
    return catalogue


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and validate a signature catalogue (default: the packaged signatures.yaml)."""
    if path is None:
        return _default_catalogue()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return _load(DEFAULT_CATALOGUE)


def _load(p: Path) -> Catalogue:
    return parse_catalogue(read_yaml(p, "catalogue", "signatures YAML file"), source=str(p))


# ----------------------------------------------------------------------------------------------
# classify a log


@dataclass
class Finding:
    signature: str
    title: str
    line: int                       # 1-based line of the first match (0: no line)
    lines: list[int]                # every matching line, capped at MAX_LINES
    evidence: list[str]             # matching lines' text, capped at MAX_EVIDENCE
    cause: str
    fix: list[str]
    score: float
    builder: str = "any"            # the builder this signature implies
    severity: str = "error"
    match_count: int = 0            # matching lines in total (not capped)

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.signature, "title": self.title, "line": self.line, "lines": list(self.lines),
                "evidence": list(self.evidence), "cause": self.cause, "fix": list(self.fix), "score": self.score,
                "builder": self.builder, "severity": self.severity, "match_count": self.match_count}


def _finding(sig: Signature, line: int, lines: list[int], evidence: list[str], score: float, count: int) -> Finding:
    return Finding(sig.id, sig.title, line, lines, evidence, sig.cause, list(sig.fix), score, sig.builder,
                   sig.severity, count)


def classify_log(text: str | bytes, catalogue: Catalogue | str | Path | None = None) -> list[Finding]:
    """Findings for a build log, best first; a single `unknown` finding when no signature matches.

    Ranked by signature weight, then by how many distinct patterns of the signature matched, then by
    the earliest line. Fast on huge logs: one literal-alternation scan finds candidate lines, and only
    those lines meet the real regexes; line numbers come from counting newlines between hits.
    """
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ParameterError("text", type(text).__name__, "give the build log as text (str or bytes)")
    acc: dict[int, dict] = {}
    if cat._scanner is not None:
        search = cat._scanner.search
        patterns = cat._patterns
        pos, counted_to, lineno, size = 0, 0, 1, len(text)
        while pos < size:
            m = search(text, pos)
            if m is None:
                break
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.end())
            end = size if end < 0 else end
            lineno += text.count("\n", counted_to, start)
            counted_to = start
            line = text[start:end].rstrip("\r")
            for p in patterns:
                if p.needle in line and p.regex.search(line):
                    a = acc.setdefault(p.signature, {"lines": [], "evidence": [], "patterns": set(), "count": 0})
                    a["patterns"].add(p.number)
                    if not a["lines"] or a["lines"][-1] != lineno:
                        a["count"] += 1
                        if len(a["lines"]) < MAX_LINES:
                            a["lines"].append(lineno)
                        if len(a["evidence"]) < MAX_EVIDENCE:
                            a["evidence"].append(line[:MAX_EVIDENCE_CHARS])
            pos = end + 1
    findings = []
    for si, a in acc.items():
        sig = cat.signatures[si]
        score = sig.weight + min(len(a["patterns"]), 5) / 10  # specificity: more distinct patterns agree
        findings.append(_finding(sig, a["lines"][0], a["lines"], a["evidence"], score, a["count"]))
    findings.sort(key=lambda f: (-f.score, f.line))
    if findings:
        return findings
    line, evidence = _first_error_line(text)
    sig = cat.get("unknown")
    return [_finding(sig, line, [line] if line else [], [evidence] if evidence else [], float(sig.weight),
                     1 if line else 0)]


def _first_error_line(text: str) -> tuple[int, str]:
    pos = 0
    while True:
        at = text.find("ERROR", pos)
        if at < 0:
            return 0, ""
        before = text[at - 1] if at else " "
        after = text[at + 5] if at + 5 < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            return text.count("\n", 0, start) + 1, text[start:end].rstrip("\r")[:MAX_EVIDENCE_CHARS]
        pos = at + 5


# ----------------------------------------------------------------------------------------------
# the Build resource


@dataclass
class BuilderEvidence:
    builder: str                      # buildpacks | dockerfile | cloudbuild-config | unknown
    evidence: list[str]               # quoted facts from the Build resource
    dockerfile: str | None = None     # for dockerfile builds: the -f path, else Dockerfile in the context
    service: str | None = None        # from a service_<NAME> tag (source deploys)
    build_id: str | None = None
    status: str | None = None
    region: str | None = None
    builder_image: str | None = None  # buildpacks builder image when named
    source_deploy: bool = False       # built by `gcloud run deploy --source`
    failure_type: str | None = None   # failureInfo.type

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_build(build: object) -> dict:
    if not isinstance(build, dict):
        raise ParameterError("build", type(build).__name__, "give a Cloud Build v1 Build resource as a dict "
                             "(the REST JSON, camelCase keys)")
    steps = build.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ParameterError("build.steps", steps, "give a list of step mappings")
    return build


def _region(build: dict) -> str | None:
    return build_location(build)[1]


def _docker_build_args(step: dict) -> list[str] | None:
    """The arguments after `build` when the step runs `docker build`, else None."""
    args = [str(a) for a in step.get("args", []) or []]
    entry = str(step.get("entrypoint") or "")
    if args[:1] == ["build"] and entry in ("", "docker"):
        return args[1:]
    if args[:2] == ["docker", "build"]:
        return args[2:]
    script = " ".join(args + [str(step.get("script") or "")])
    m = re.search(r"\bdocker\s+(?:buildx\s+)?build\s+(.*)", script)
    return m.group(1).split() if m else None


def _dockerfile_from_args(args: list[str]) -> str:
    dockerfile, positional, i = None, [], 0
    takes_value = {"-t", "--tag", "--build-arg", "--network", "--cache-from", "--label", "--target", "--platform",
                   "--secret", "--ssh", "--progress", "--iidfile", "--add-host", "-m", "--memory", "--shm-size"}
    while i < len(args):
        a = args[i]
        if a in ("-f", "--file") and i + 1 < len(args):
            dockerfile = args[i + 1]
            i += 2
            continue
        if a.startswith("--file="):
            dockerfile = a.split("=", 1)[1]
        elif a.startswith("-f") and len(a) > 2 and not a.startswith("--"):
            dockerfile = a[2:]
        elif a in takes_value:
            i += 1
        elif not a.startswith("-"):
            positional.append(a)
        i += 1
    if dockerfile:
        return dockerfile
    context = positional[-1] if positional else "."
    return "Dockerfile" if context in (".", "./", "/workspace") else f"{context.rstrip('/')}/Dockerfile"


def builder_evidence(build: dict) -> BuilderEvidence:
    """Which builder produced this build, which Dockerfile, which service, and the quoted evidence."""
    build = _check_build(build)
    steps = build.get("steps") or []
    tags = [str(t) for t in build.get("tags") or []]
    evidence: list[str] = []
    buildpacks, docker, user = False, None, False
    builder_image = None
    for n, step in enumerate(steps):
        name = str(step.get("name", ""))
        label = f"step {n}" + (f" ({step['id']})" if step.get("id") else "")
        args = [str(a) for a in step.get("args", []) or []]
        if "k8s-skaffold/pack" in name:
            buildpacks = True
            evidence.append(f"{label} runs {name}")
        if "serverless-runtimes/" in name or "buildpacks/builder" in name:
            buildpacks = True
            builder_image = builder_image or name
            evidence.append(f"{label} runs the buildpacks builder {name}")
        named = re.search(r"\S*serverless-runtimes/[^\s'\"]+", " ".join(args))
        if named and "k8s-skaffold/pack" in name:
            builder_image = builder_image or named.group(0)
            evidence.append(f"{label} sets the buildpacks builder {named.group(0)}")
        for k, a in enumerate(args):
            value = args[k + 1] if a == "--builder" and k + 1 < len(args) else (
                a.split("=", 1)[1] if a.startswith("--builder=") else None)
            if value:
                buildpacks = True
                builder_image = value
                evidence.append(f"{label} passes --builder {value}")
        is_docker_image = "cloud-builders/docker" in name or "cloud-builders/gcb-internal" in name
        docker_args = _docker_build_args(step) if is_docker_image or name in ("docker", "docker:latest") else None
        if docker_args is not None and not buildpacks:
            dockerfile = _dockerfile_from_args(docker_args)
            docker = docker or dockerfile
            short = " ".join(docker_args)
            evidence.append(f"{label} runs `docker build {short[:120]}` in {name} (Dockerfile: {dockerfile})")
        elif not ("k8s-skaffold/pack" in name or "serverless-runtimes/" in name or is_docker_image):
            user = True
    for tag in tags:
        if tag.startswith("gcp-runtimes-builder"):
            buildpacks = True
            evidence.append(f'tag "{tag}"')
    service = None
    for tag in tags:
        if tag.startswith("service_") and len(tag) > len("service_"):
            service = tag[len("service_"):]
            evidence.append(f'tag "{tag}" (a gcloud run deploy --source build for service {service})')
            break
    if service is None and (build.get("substitutions") or {}).get("_SERVICE_NAME"):
        service = str(build["substitutions"]["_SERVICE_NAME"])
        evidence.append(f"substitution _SERVICE_NAME={service}")
    if buildpacks:
        builder = "buildpacks"
    elif docker:
        builder = "dockerfile"
    elif user or steps:
        builder = "cloudbuild-config"
        evidence.append(f"{len(steps)} user step(s), none of them a docker build or buildpacks: "
                        + ", ".join(_short_image(str(s.get('name', ''))) for s in steps[:5]))
    else:
        builder = "unknown"
        evidence.append("the build has no steps")
    images = [str(i) for i in build.get("images") or []]
    source_deploy = service is not None or any("cloud-run-source-deploy" in i for i in images)
    failure_type = (build.get("failureInfo") or {}).get("type")
    return BuilderEvidence(builder, evidence, docker if builder == "dockerfile" else None, service,
                           build.get("id"), build.get("status"), _region(build), builder_image, source_deploy,
                           failure_type)


def _short_image(name: str) -> str:
    name = name.split("@", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and "." in parts[0]:
        parts = parts[1:]
    short = "/".join(parts)
    return short.removeprefix("cloud-builders/")




def _seconds(timing: dict | None) -> float | None:
    if not isinstance(timing, dict) or not timing.get("startTime") or not timing.get("endTime"):
        return None
    try:
        return round((pd.Timestamp(timing["endTime"]) - pd.Timestamp(timing["startTime"])).total_seconds(), 3)
    except (ValueError, TypeError):
        return None


def build_table(build: dict) -> pd.DataFrame:
    """One compact row per step: id, image, abbreviated args, status, exit code, duration in seconds."""
    build = _check_build(build)
    rows = []
    for n, step in enumerate(build.get("steps") or []):
        args = " ".join(str(a) for a in step.get("args", []) or [])
        if step.get("entrypoint"):
            args = f"{step['entrypoint']} {args}".strip()
        exit_code = step.get("exitCode")
        if exit_code is None and step.get("status") == "SUCCESS":
            exit_code = 0  # proto3 JSON leaves zero values out
        rows.append({"step": n, "id": step.get("id", ""), "name": _short_image(str(step.get("name", ""))),
                     "args": one_line(args, 80), "status": step.get("status", ""), "exit_code": exit_code,
                     "duration_s": _seconds(step.get("timing"))})
    frame = pd.DataFrame(rows, columns=["step", "id", "name", "args", "status", "exit_code", "duration_s"])
    return frame.astype({"exit_code": "Int64", "duration_s": "Float64"})


def log_locations(build: dict) -> list[dict[str, str]]:
    """Where this build's log can be read, best first (bucket object, Cloud Logging filter, none)."""
    build = _check_build(build)
    build_id = build.get("id", "")
    logging_mode = (build.get("options") or {}).get("logging", "LOGGING_UNSPECIFIED")
    bucket = str(build.get("logsBucket") or "")
    project = build_location(build)[0]
    out: list[dict[str, str]] = []
    if logging_mode == "NONE":
        return [{"kind": "none", "where": "options.logging is NONE: this build kept no log."}]
    if bucket and logging_mode not in ("CLOUD_LOGGING_ONLY", "STACKDRIVER_ONLY"):
        prefix = bucket if bucket.startswith("gs://") else f"gs://{bucket}"
        location = {"kind": "bucket", "where": f"{prefix.rstrip('/')}/log-{build_id}.txt"}
        if bucket.rstrip("/").endswith(".cloudbuild-logs.googleusercontent.com"):
            location["note"] = ("A 403 on this Google-owned default logs bucket is a permission or VPC Service "
                                "Controls matter, not a missing log; read the Cloud Logging copy instead.")
        out.append(location)
    if logging_mode != "GCS_ONLY":
        since = build.get("createTime") or build.get("startTime") or ""
        flt = (f'logName="projects/{project or "PROJECT"}/logs/cloudbuild" AND resource.type="build" '
               f'AND resource.labels.build_id="{build_id}"')
        if since:
            flt += f' AND timestamp>="{since}"'
        out.append({"kind": "cloud-logging", "where": flt})
    return out


def build_summary(build: dict) -> dict[str, Any]:
    """Status, failure, timings, source, tags, images and where the log is, as plain values."""
    build = _check_build(build)
    failure = build.get("failureInfo") or {}
    storage = (build.get("source") or {}).get("storageSource") or {}
    source = None
    if storage.get("bucket"):
        source = f"gs://{storage['bucket']}/{storage.get('object', '')}"
        if storage.get("generation"):
            source += f"#{storage['generation']}"
    region = _region(build)
    build_id = build.get("id")
    created, started, finished = (build.get(k) for k in ("createTime", "startTime", "finishTime"))
    return {
        "id": build_id,
        "status": build.get("status"),
        "status_detail": build.get("statusDetail"),
        "failure_type": failure.get("type"),
        "failure_detail": failure.get("detail"),
        "region": region,
        "create_time": created,
        "start_time": started,
        "finish_time": finished,
        "queued_s": _seconds({"startTime": created, "endTime": started}),
        "duration_s": _seconds({"startTime": started, "endTime": finished}),
        "source": source,
        "tags": list(build.get("tags") or []),
        "images": list(build.get("images") or []),
        "logs_bucket": build.get("logsBucket"),
        "logging": (build.get("options") or {}).get("logging"),
        "log_locations": log_locations(build),
        "log_url": build.get("logUrl"),
        # gcloud looks in region "global" unless told otherwise; source deploys build in the service's region.
        "log_command": command_for(build),
    }


def compare_builds(build: dict, reference: dict, labels: tuple[str, str] = ("this build", "reference"),
                   source_bytes: tuple[int | None, int | None] = (None, None)) -> pd.DataFrame:
    """Side by side: a failed build and the sibling phase's last successful one (builder, steps, source)."""
    rows: dict[str, list[Any]] = {}
    for b, size in ((build, source_bytes[0]), (reference, source_bytes[1])):
        ev, summary, table = builder_evidence(b), build_summary(b), build_table(b)
        values = {
            "build": summary["id"], "status": summary["status"], "failure": summary["failure_type"],
            "service": ev.service, "builder": ev.builder, "dockerfile": ev.dockerfile,
            "builder_image": ev.builder_image, "steps": len(table),
            "step_images": ", ".join(table["name"]) if len(table) else "",
            "duration_s": summary["duration_s"], "source": summary["source"], "source_bytes": size,
            "images": ", ".join(summary["images"]), "tags": ", ".join(summary["tags"]),
        }
        for key, value in values.items():
            rows.setdefault(key, []).append(value)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(labels))
    frame["same"] = [a == b for a, b in zip(frame.iloc[:, 0], frame.iloc[:, 1])]
    return frame


# ----------------------------------------------------------------------------------------------
# the diagnosis


@dataclass
class Diagnosis(Result):
    """Runbook 01's result: a Result plus the cause, the ranked fixes and the redeploy parameters."""

    cause: str = ""
    fixes: list[str] = field(default_factory=list)
    redeploy: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["details"].update({"cause": self.cause, "fixes": list(self.fixes), "redeploy": dict(self.redeploy),
                               "findings": [f.to_dict() for f in self.findings]})
        return out

    def _repr_html_(self) -> str:
        import html

        fixes = "".join(f"<li>{html.escape(x)}</li>" for x in self.fixes)
        redeploy = "\n".join(f"{k} = {v!r}" for k, v in self.redeploy.items())
        return (super()._repr_html_() + f"<p><b>Cause:</b> {html.escape(self.cause)}</p>"
                + (f"<p><b>Fixes, best first:</b></p><ol>{fixes}</ol>" if fixes else "")
                + "<p><b>Parameters for notebooks/02_redeploy_phase.ipynb:</b></p>"
                + f"<pre>{html.escape(redeploy)}</pre>")


def _fill(step: str, phase: Any, service: str | None) -> str:
    """Put the phase's own names into a catalogue fix step."""
    if phase is not None:
        step = step.replace("cloudbuild-<phase>.yaml", f"cloudbuild-{phase.name}.yaml")
        step = step.replace("<phase Dockerfile>", phase.dockerfile)
        step = step.replace("--region REGION", f"--region {phase.region}")
    if service:
        step = step.replace("gcloud run deploy SERVICE", f"gcloud run deploy {service}")
    return step


def _phase_for(service: str | None, phase: Any, phases: Any):
    if phase is not None:
        return phases.get(phase.name if hasattr(phase, "name") else phase)
    if service:
        try:
            return phases.by_service(service)
        except ParameterError:
            return None
    return None


def explain(findings: list[Finding], evidence: BuilderEvidence | None = None, preflight: Any = None, *,
            phase: Any = None, phases: Any = None, source_dir: str | None = None,
            catalogue: Catalogue | None = None) -> Diagnosis:
    """Turn findings (+ builder evidence, + an optional source preflight) into one verdict with fixes.

    The redeploy parameters name the phase (from `phase`, else from the build's service tag), the
    source directory, the phase's Dockerfile from the registry, and strategy "cloudbuild-config".
    """
    if not isinstance(findings, list) or not all(isinstance(f, Finding) for f in findings):
        raise ParameterError("findings", findings, "give the list of Finding values classify_log returned")
    if evidence is not None and not isinstance(evidence, BuilderEvidence):
        raise ParameterError("evidence", evidence, "give the BuilderEvidence from builder_evidence(build) or None")
    cat = catalogue if catalogue is not None else load_catalogue()
    if phases is None:
        from .phases import load_phases

        phases = load_phases()
    the_phase = _phase_for(evidence.service if evidence else None, phase, phases)
    status = evidence.status if evidence else None
    ranked = list(findings)
    top = ranked[0] if ranked else None
    # The Build resource can name the cause when the log does not (e.g. a fetch failure logs nothing).
    if (top is None or top.signature == "unknown") and evidence is not None:
        implied = _STATUS_SIGNATURES.get(evidence.failure_type or "") or _STATUS_SIGNATURES.get(status or "")
        if implied and implied in cat.ids():
            sig = cat.get(implied)
            said = f"failureInfo.type {evidence.failure_type}" if evidence.failure_type else f"status {status}"
            top = _finding(sig, 0, [], [f"Build resource: {said}"], float(sig.weight), 0)
            ranked = [top] + [f for f in ranked if f.signature != "unknown"]

    failed = status in FAILED_STATUSES if status else bool(top and top.signature != "unknown" and top.severity == "error")
    start_failed = any(f.signature == "container-start-failed" for f in ranked)
    problems = list(getattr(preflight, "problems", []) or [])
    wrong_builder = bool(evidence and the_phase and evidence.builder == "buildpacks" and the_phase.dockerfile)

    service = evidence.service if evidence and evidence.service else (the_phase.service if the_phase else None)
    who = f"{service} build {evidence.build_id}" if evidence and evidence.build_id else (service or "The build")
    builder = evidence.builder if evidence else (top.builder if top and top.builder != "any" else "unknown")
    if evidence is None and not ranked:
        verdict, cause = "blocked", "Neither a build log nor a Build resource was given, so there is nothing to diagnose."
        summary = "Nothing to diagnose: no log findings and no build."
    elif failed or start_failed:
        verdict = "fail"
        where = f" (log line {top.line})" if top and top.line else ""
        cause = top.cause if top else "The build failed."
        if top and top.signature == "unknown" and evidence is not None:
            cause = (f"The build ended {status} and no catalogue signature matched the log"
                     f"{'; the first ERROR is at line ' + str(top.line) if top.line else ''}.")
        summary = f"{who} {status or 'failed'} with {builder}: {top.title if top else 'unknown cause'}{where}."
    elif status in RUNNING_STATUSES:
        verdict, cause = "warn", f"The build is still {status}; diagnose it again when it has finished."
        summary = f"{who} is {status}; nothing to diagnose yet."
    elif status and status != "SUCCESS":
        verdict, cause = "warn", f"The build ended {status}: it was stopped, not broken, so there is no failure to explain."
        summary = f"{who} ended {status}; no failure to diagnose."
    elif wrong_builder or problems:
        verdict = "warn"
        cause = (f"{service} was built with buildpacks although the phase has its own Dockerfile "
                 f"({the_phase.dockerfile}), so gcloud did not see a top-level Dockerfile when it ran."
                 if wrong_builder else problems[0])
        summary = f"{who} {status or ''} but needs attention: {cause}".replace("  ", " ")
    elif evidence is None and top is not None and top.signature == "unknown":
        verdict = "warn"
        cause = top.cause
        summary = "No known failure signature in the log" + (f"; first ERROR at line {top.line}." if top.line else ".")
    else:
        verdict, cause = "pass", "The build succeeded with the expected builder."
        summary = f"{who} {status or 'succeeded'} with {builder}."

    lints = list(getattr(preflight, "lints", []) or [])
    race = next((lint for lint in lints if lint.kind == "root-dockerfile-race"), None)
    if race is not None and verdict == "fail" and top is not None and (
            top.builder == "buildpacks" or top.signature == "dockerfile-not-in-upload"):
        cause = (f"{cause.rstrip('.')}; the source preflight shows why: {len(race.related)} deploy scripts "
                 "copy their Dockerfile to the same ./Dockerfile and race when run together.")

    fixes: list[str] = []
    if verdict == "fail" or wrong_builder:
        chosen = list(ranked)
        if wrong_builder and not any(f.builder == "buildpacks" for f in chosen) \
                and "buildpacks-build-failed" in cat.ids():
            # A phase with a Dockerfile built by buildpacks: the fix is the explicit Docker build.
            chosen.insert(0, _finding(cat.get("buildpacks-build-failed"), 0, [], [], 0.0, 0))
        lead = chosen[0] if chosen else None
        for f in chosen:
            if f.signature == "unknown" and len(chosen) > 1:
                continue
            # Findings that share the lead's builder are the same root cause: their fixes repeat it.
            if f is not lead and f.builder != "any" and lead is not None and f.builder == lead.builder:
                continue
            fixes.extend(x for x in f.fix if x not in fixes)
    for lint in lints:
        if lint.severity == "error" and lint.message not in fixes:
            fixes.insert(0 if lint.kind == "root-dockerfile-race" else len(fixes), lint.message)
    fixes = [_fill(x, the_phase, service) for x in fixes]

    redeploy = {
        "phase": the_phase.name if the_phase else None,
        "source_dir": source_dir or getattr(preflight, "source_dir", None) or ".",
        "dockerfile": the_phase.dockerfile if the_phase else None,
        "strategy": "cloudbuild-config",
    }
    figures = {
        "builder": builder,
        "top_signature": top.signature if top else None,
        "build_status": status,
        "service": service,
        "phase": redeploy["phase"],
        "log_source": None,  # the caller knows where the log came from
    }
    details = {
        "evidence": evidence.to_dict() if evidence else None,
        "preflight": preflight.to_dict() if hasattr(preflight, "to_dict") else None,
    }
    return Diagnosis(name="diagnose_build", verdict=verdict, summary=headline(summary), figures=figures,
                     details=details, cause=" ".join(cause.split()), fixes=fixes, redeploy=redeploy,
                     findings=ranked)


# ----------------------------------------------------------------------------------------------
# the runbook's steps against a target (the notebook calls these, in this order)


def find_build(target: Any, build_id: str | None = None, phase: str | None = None,
               region: str | None = None) -> dict:
    """The build to diagnose: `build_id` if given, else the latest failed build of the phase's service.

    A build id is looked up in `region` (default: the phase's region), then in the phase's region and
    in global: source deploys build in the service's region, `gcloud builds submit` without
    --region builds in global, and an operator rarely knows which one ran.
    """
    if build_id:
        from .errors import NotFoundError

        home = target.phases.get(phase).region if phase else target.region
        searched = []
        for where in dict.fromkeys([region or home, home, "global"]):
            try:
                return target.builds.get(build_id, region=where)
            except NotFoundError:
                searched.append(where)
        raise NotFoundError(f"Build {build_id} was not found in region {' or '.join(searched)} of project "
                            f"{target.project}; check the id, or list builds with: gcloud builds list "
                            f"--region=REGION --project={target.project}")
    if not phase:
        raise ParameterError("build_id", build_id, "give a build id, or a phase to take its latest failed build")
    p = target.phases.get(phase)
    build = target.builds.latest_failed(p.service, region=region or p.region)
    if build is None:
        from .errors import NotFoundError

        raise NotFoundError(f"No failed build tagged service_{p.service} was found in region {region or p.region} "
                            f"of project {target.project}; pass build_id to diagnose a particular build.")
    return build


def build_phase(target: Any, build: dict, requested: str) -> str:
    """The phase a build belongs to: its service_<NAME> tag decides; `requested` when it has none."""
    service = builder_evidence(build).service
    if service:
        try:
            return target.phases.by_service(service).name
        except ParameterError:
            pass  # a service outside the registry: keep the operator's phase
    return target.phases.get(requested).name


def fetch_log(target: Any, build: dict, log_file: str | None = None):
    """The build log through the chain: logs bucket, then Cloud Logging, then a local file."""
    from .buildlogs import fetch_build_log

    return fetch_build_log(build, target.logs.build_log_sources(), local_file=log_file or None)


def default_source_dir(target: Any) -> str | None:
    """The pipeline checkout to preflight when none is given: the sandbox's own source repository."""
    home = target.options.get("home") if target.name == "local" else None
    return str(Path(home) / "source") if home else None


def sibling_phase(target: Any, phase: str, compare_with: str | None = None) -> str:
    """The phase to compare with: `compare_with`, else the phase next to it in the registry."""
    if compare_with:
        other = target.phases.get(compare_with).name
        if other == target.phases.get(phase).name:
            raise ParameterError("compare_with", compare_with, "name a phase other than the one being diagnosed")
        return other
    names = target.phases.names()
    i = names.index(target.phases.get(phase).name)
    return names[i - 1] if i > 0 else names[(i + 1) % len(names)]


@dataclass
class SideBySide:
    phase: str
    sibling: str
    builds: pd.DataFrame | None              # compare_builds, or None when the sibling has no successful build
    dockerfile_diff: pd.DataFrame | None     # instruction-level diff, or None without a checkout
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "sibling": self.sibling, "note": self.note,
                "builds": None if self.builds is None else self.builds.astype(str).to_dict(),
                "dockerfile_changes": None if self.dockerfile_diff is None
                else int((self.dockerfile_diff["op"] != "equal").sum())}


def side_by_side(target: Any, build: dict, phase: str, sibling: str, source_dir: str | None = None) -> SideBySide:
    """This build beside the sibling phase's last successful build, and the two Dockerfiles diffed."""
    from .preflight import dockerfile_diff

    mine, theirs = target.phases.get(phase), target.phases.get(sibling)
    reference = target.builds.latest_successful(theirs.service, region=theirs.region)
    frame = None
    note = f"{theirs.service} has no successful build in {theirs.region} to compare with."
    if reference is not None:
        frame = compare_builds(build, reference, labels=(f"{mine.name} (this build)", f"{theirs.name} (last success)"))
        note = f"Compared with {theirs.service} build {reference['id']}."
        if builder_evidence(reference).source_deploy:
            # A source deploy builds whatever ./Dockerfile held at upload time, maybe another phase's.
            note += (f" It was a source deploy: it built whatever ./Dockerfile held at upload time, so check that "
                     f"{theirs.service}'s /health names {theirs.service_identity} (runbook 00).")
    diff = None
    if source_dir:
        a, b = Path(source_dir) / mine.dockerfile, Path(source_dir) / theirs.dockerfile
        if a.is_file() and b.is_file():
            diff = dockerfile_diff(a, b)
        else:
            note += f" No Dockerfile diff: {a if not a.is_file() else b} is not in the checkout."
    return SideBySide(mine.name, theirs.name, frame, diff, note)


def summary_table(build: dict) -> pd.DataFrame:
    """The build's summary as one compact two-column table."""
    summary = build_summary(build)
    summary.pop("log_locations")
    rows = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in summary.items() if v not in (None, [], "")]
    return pd.DataFrame(rows, columns=["field", "value"]).set_index("field")


def evidence_table(evidence: BuilderEvidence, preflight: Any = None) -> pd.DataFrame:
    """Which builder ran, quoted from the Build resource, and (with a checkout) why gcloud chose it."""
    rows = [("builder", evidence.builder)]
    if evidence.dockerfile:
        rows.append(("dockerfile", evidence.dockerfile))
    if evidence.builder_image:
        rows.append(("builder image", evidence.builder_image))
    rows.append(("source deploy", "yes (gcloud run deploy --source)" if evidence.source_deploy else "no"))
    rows += [("evidence", line) for line in evidence.evidence]
    if preflight is not None:
        rows.append(("gcloud would choose now", f"{preflight.builder.builder}: {preflight.builder.reason}"))
        rows += [("warning", w) for w in preflight.builder.warnings]
    return pd.DataFrame(rows, columns=["what", "value"]).set_index("what")


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """Ranked findings: id, line, the first matching log line, the cause and the first fix."""
    return pd.DataFrame([{
        "rank": i, "signature": f.signature, "line": f.line,
        "evidence": one_line(f.evidence[0], 110) if f.evidence else "", "cause": f.cause,
        "fix": f.fix[0] if f.fix else "",
    } for i, f in enumerate(findings, start=1)]).set_index("rank")


def run_preflight(target: Any, phase: str, source_dir: str | None) -> Any:
    """The source preflight of the phase's checkout, or None when there is no checkout to look at."""
    from .preflight import preflight

    if not source_dir:
        return None
    p = target.phases.get(phase)
    dockerfile = p.dockerfile if (Path(source_dir) / p.dockerfile).is_file() else None
    return preflight(source_dir, dockerfile=dockerfile)


def preflight_table(pf: Any) -> pd.DataFrame | None:
    """What `gcloud run deploy --source` would do with this checkout, one check a row."""
    if pf is None:
        return None
    rows = [("upload", f"{len(pf.upload.files)} files, {pf.upload.total_bytes:,} bytes "
                       f"(rules: {pf.upload.rule_source})"),
            ("largest folders", ", ".join(f"{d['folder']} {d['bytes']:,} B" for d in pf.upload.largest_folders)),
            ("builder gcloud picks", f"{pf.builder.builder}: {pf.builder.reason}")]
    rows += [("builder warning", w) for w in pf.builder.warnings]
    for dockerfile, problems in pf.copy_problems.items():
        rows.append((f"COPY/ADD in {dockerfile}", "all sources in the build context" if not problems
                     else f"{len(problems)} missing"))
        rows += [("missing", p.message) for p in problems]
    rows.append(("buildpacks entrypoint", f"{'found' if pf.entrypoint.found else 'NOT found'}: {pf.entrypoint.how}"))
    rows += [(f"deploy script ({lint.severity})", lint.message) for lint in pf.lints]
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")


_LEGACY_STEP = re.compile(r"Step \d+/\d+ : (.+?)\s*$")             # docker build (legacy builder)
_BUILDKIT_STEP = re.compile(r"#\d+ \[(?:[\w.-]+ )?\d+/\d+\] (.+?)\s*$")  # docker build with BuildKit
MATCH_THRESHOLD = 0.8


def logged_instructions(log_text: str) -> list[str]:
    """The Dockerfile instructions a docker build printed, in order, normalised like preflight's."""
    found = []
    for line in log_text.splitlines():
        m = _LEGACY_STEP.search(line) or _BUILDKIT_STEP.search(line)
        if m:
            keyword, _, args = m.group(1).partition(" ")
            found.append(f"{keyword.upper()} {' '.join(args.split())}".strip())
    return found


def built_from(target: Any, log_text: str, source_dir: str | None) -> dict[str, Any] | None:
    """Which phase's Dockerfile a docker build really ran, recognised from the instructions in its log.

    A source deploy builds whatever ./Dockerfile held at upload time; on the incident night that was
    the other phase's. None when the log shows no docker steps or no phase's Dockerfile matches.
    """
    import difflib

    from .preflight import parse_dockerfile

    logged = logged_instructions(log_text or "")
    if not logged or not source_dir:
        return None
    best = None
    for name in target.phases.names():
        path = Path(source_dir) / target.phases.get(name).dockerfile
        if not path.is_file():
            continue
        own = [i.normalized for i in parse_dockerfile(path.read_text(errors="replace"))]
        score = difflib.SequenceMatcher(a=logged, b=own, autojunk=False).ratio()
        if best is None or score > best["score"]:
            best = {"phase": name, "dockerfile": target.phases.get(name).dockerfile, "score": round(score, 3)}
    return best if best and best["score"] >= MATCH_THRESHOLD else None


def conclude(target: Any, findings: list[Finding], evidence: BuilderEvidence, pf: Any, fetched: Any,
             phase: str, source_dir: str | None) -> Diagnosis:
    """The verdict, with where the log came from, and which phase's Dockerfile the build really ran."""
    diagnosis = explain(findings, evidence, pf, phase=phase, phases=target.phases, source_dir=source_dir)
    diagnosis.figures["log_source"] = fetched.source or "none"
    diagnosis.details["log_fetch"] = fetched.to_dict(include_text=False)
    ran = built_from(target, fetched.text, source_dir)
    diagnosis.details["built_from"] = ran
    if ran is None:
        return diagnosis
    diagnosis.figures["built_from"] = ran["dockerfile"]
    if ran["phase"] == target.phases.get(phase).name:
        return diagnosis
    service = target.phases.get(phase).service
    other = target.phases.get(ran["phase"])
    cause = (f"{service} was built from {other.name}'s Dockerfile ({ran['dockerfile']}, recognised from the build "
             f"log's steps), so its image runs {other.name}'s code and its /health names {other.service_identity}; "
             "a source deploy builds whatever ./Dockerfile held at upload time.")
    fixes = [f"Redeploy {phase} from its own Dockerfile ({target.phases.get(phase).dockerfile}) with an explicit "
             "`gcloud builds submit --config` build and `gcloud run deploy --image` (parameters below)."]
    return replace(diagnosis, verdict="fail",
                   summary=headline(f"{service} build {evidence.build_id} ran {other.name}'s Dockerfile "
                                     f"({ran['dockerfile']}): the service runs {other.name}'s code."),
                   cause=f"{cause} {diagnosis.cause}" if diagnosis.verdict == "fail" else cause,
                   fixes=fixes + [f for f in diagnosis.fixes if f not in fixes])
