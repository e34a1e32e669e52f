"""Source preflight for `gcloud run deploy --source=DIR`: pure filesystem analysis, no cloud calls.

What it answers, exactly as gcloud and Docker decide it:

* which files gcloud uploads (gcloud's ignore rules: `--ignore-file`, else `.gcloudignore`, else, when
  `.git` or `.gitignore` exists, a default that ignores `.gcloudignore`, `.git`, `.gitignore` and
  includes `.gitignore`'s rules),
* which builder gcloud picks (a file named exactly `Dockerfile` at the top level on disk -> Docker,
  otherwise Google Cloud buildpacks; the ignore rules do not change the choice),
* whether every COPY/ADD source is in the Docker build context (upload filter, then `.dockerignore`),
* whether the Python buildpack would find an entrypoint and accept the Python version,
* deploy scripts that copy a Dockerfile to the repository root: the race behind the 2025-12-31 incident.

gcloud's pattern semantics differ from git's in one visible way, and this module follows gcloud: a pattern
with a slash in the middle (`docker/x`) still matches at any depth unless it starts with `/` or uses `**`.
Only the top-level `.gitignore` counts; gcloud ignores nested ones.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .errors import ConfigError, ParameterError

GCLOUDIGNORE = ".gcloudignore"
GIT_FILES = (".git", ".gitignore")
DEFAULT_GCLOUDIGNORE = """\
# gcloud's default ignore rules (used when there is no .gcloudignore but .git or .gitignore exists)
.gcloudignore
.git
.gitignore
"""
INCLUDE_DIRECTIVE = "!include:"
NONEXISTENT_FLAG = "--no-use-google-dev-pack"


# ----------------------------------------------------------------------------------------------
# gcloud ignore rules


def _strip_unescaped_trailing_spaces(line: str) -> str:
    out = line
    while out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1]
    return out


def _ends_in_odd_backslashes(line: str) -> bool:
    stripped = line.rstrip("\\")
    return (len(line) - len(stripped)) % 2 == 1


def _glob_part_to_regex(part: str) -> str:
    """One path component of a glob (`*`, `?`, `[...]`, backslash escapes) as a regex; never crosses `/`."""
    out, i = [], 0
    while i < len(part):
        ch = part[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(part):
            i += 1
            out.append(re.escape(part[i]))
        elif ch == "[":
            end = part.find("]", i + 2 if i + 1 < len(part) and part[i + 1] in "!^" else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = part[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class IgnoreRule:
    """One line of a .gcloudignore-style file, with where it came from."""

    text: str
    negated: bool
    dir_only: bool
    source: str
    line: int
    regex: re.Pattern = field(repr=False, compare=False)

    @classmethod
    def parse(cls, raw: str, source: str, line: int) -> "IgnoreRule | None":
        text = raw.rstrip("\r")
        if not text or text.startswith("#"):
            return None
        negated = text.startswith("!")
        body = text[1:] if negated else text
        dir_only = body.endswith("/")
        body = body.rstrip("/") if dir_only else body
        body = _strip_unescaped_trailing_spaces(body)
        if not body or _ends_in_odd_backslashes(body):
            return None  # gcloud skips blank and malformed lines
        return cls(text, negated, dir_only, source, line, re.compile(_gcloud_regex(body)))

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.match(path) is not None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def _gcloud_regex(body: str) -> str:
    """gcloud matches patterns right to left: unanchored unless they start with `/`, use `**`, or start with `*/`."""
    parts = body.split("/")
    anchored = parts[0] == "" or "**" in parts or (parts[0] == "*" and len(parts) > 1)
    if parts[0] == "":
        parts = parts[1:]
    pieces: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**" and last:
            # "a/**" also matches "a" itself (zero trailing components), as gcloud does.
            pieces.append("(?:/.*)?" if pieces else ".*")
        elif part == "**":
            pieces.append("(?:.*/)?" if not pieces else "/(?:.*/)?")
        else:
            pieces.append(("/" if pieces and not pieces[-1].endswith("/)?") else "") + _glob_part_to_regex(part))
    return ("^" if anchored else "^(?:.*/)?") + "".join(pieces) + "$"


@dataclass
class IgnoreRules:
    """An ordered rule list plus a description of where gcloud got it."""

    rules: list[IgnoreRule]
    rule_source: str
    files_read: list[str] = field(default_factory=list)

    def deciding_rule(self, path: str, is_dir: bool = False) -> IgnoreRule | None:
        """The rule that excludes `path` (itself or a parent directory), or None when it is uploaded."""
        parts = _rel(path).split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            rule = self._last_match(prefix, is_dir or depth < len(parts))
            if rule is not None and not rule.negated:
                return rule
        return None

    def is_included(self, path: str, is_dir: bool = False) -> bool:
        return self.deciding_rule(path, is_dir) is None

    def _last_match(self, path: str, is_dir: bool) -> IgnoreRule | None:
        found = None
        for rule in self.rules:
            if rule.matches(path, is_dir):
                found = rule
        return found

    def _excludes_entry(self, path: str, is_dir: bool) -> IgnoreRule | None:
        # The walk prunes excluded directories, so only the entry itself still needs deciding.
        rule = self._last_match(path, is_dir)
        return rule if rule is not None and not rule.negated else None


def _rel(path: str | os.PathLike) -> str:
    text = str(path).replace(os.sep, "/")
    while text.startswith("./"):
        text = text[2:]
    return text.strip("/")


def _parse_ignore_text(text: str, source: str, directory: Path, allow_include: bool,
                       files_read: list[str]) -> list[IgnoreRule]:
    rules: list[IgnoreRule] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            directive = line[1:].lstrip()
            if directive.startswith(INCLUDE_DIRECTIVE):
                name = directive[len(INCLUDE_DIRECTIVE):].strip()
                if "/" in name:
                    raise ConfigError(f"{source}:{number}: #!include may only name a file in the same "
                                      f"directory, got {name!r} (gcloud fails the same way).")
                if allow_include:  # gcloud honours one level of includes only
                    target = directory / name
                    if not target.is_file():
                        raise ConfigError(f"{source}:{number}: #!include:{name} names a file that does not "
                                          f"exist (gcloud fails the same way).")
                    files_read.append(name)
                    rules.extend(_parse_ignore_text(target.read_text(errors="replace"), name, directory,
                                                    False, files_read))
            continue
        rule = IgnoreRule.parse(line, source, number)
        if rule is not None:
            rules.append(rule)
    return rules


def gcloud_ignore_rules(source_dir: str | os.PathLike, ignore_file: str | None = None) -> IgnoreRules:
    """The rules `gcloud run deploy --source=DIR [--ignore-file=F]` applies, and where they came from."""
    root = _source_root(source_dir)
    files_read: list[str] = []
    if ignore_file:
        path = root / ignore_file
        if not path.is_file():
            raise ParameterError("ignore_file", ignore_file,
                                 f"give a file that exists relative to the source directory {root}")
        rules = _parse_ignore_text(path.read_text(errors="replace"), ignore_file, root, True, files_read)
        return IgnoreRules(rules, f"explicit ignore file {ignore_file} (--ignore-file)", [ignore_file] + files_read)
    path = root / GCLOUDIGNORE
    if path.is_file():
        rules = _parse_ignore_text(path.read_text(errors="replace"), GCLOUDIGNORE, root, True, files_read)
        return IgnoreRules(rules, ".gcloudignore", [GCLOUDIGNORE] + files_read)
    if any((root / name).exists() for name in GIT_FILES):
        text = DEFAULT_GCLOUDIGNORE
        has_gitignore = (root / ".gitignore").exists()
        if has_gitignore:
            text += "#!include:.gitignore\n"
        rules = _parse_ignore_text(text, "default .gcloudignore", root, True, files_read)
        how = "gcloud's default rules (.git or .gitignore present): ignore .gcloudignore, .git, .gitignore"
        how += " and include .gitignore's rules" if has_gitignore else ""
        return IgnoreRules(rules, how, files_read)
    return IgnoreRules([], "none: no .gcloudignore, .git or .gitignore, so every file is uploaded", [])


def _source_root(source_dir: str | os.PathLike) -> Path:
    text = str(source_dir)
    if text.startswith("gs://"):
        raise ParameterError("source_dir", text, "give a local directory; a gs:// source has no local files "
                             "to check (and always builds with buildpacks)")
    root = Path(text).expanduser()
    if not root.is_dir():
        raise ParameterError("source_dir", text, "give an existing local directory")
    return root.resolve()


# ----------------------------------------------------------------------------------------------
# upload set


@dataclass
class UploadSet:
    source_dir: str
    rule_source: str
    files: list[str]
    dirs: list[str]
    ignored: list[str]                 # ignored files and pruned directories (with a trailing /)
    total_bytes: int
    largest_folders: list[dict]        # [{folder, bytes, files}], top-level folders, biggest first
    rules: IgnoreRules = field(repr=False)
    _file_set: frozenset = field(default=frozenset(), repr=False)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, os.PathLike)) and _rel(path) in self._file_set

    def why_ignored(self, path: str, is_dir: bool = False) -> IgnoreRule | None:
        return self.rules.deciding_rule(path, is_dir)

    def to_dict(self, max_files: int = 200) -> dict[str, Any]:
        return {
            "source_dir": self.source_dir,
            "rule_source": self.rule_source,
            "rule_files": list(self.rules.files_read),
            "file_count": len(self.files),
            "files": self.files[:max_files],
            "files_truncated": len(self.files) > max_files,
            "ignored": self.ignored[:max_files],
            "ignored_count": len(self.ignored),
            "total_bytes": self.total_bytes,
            "largest_folders": self.largest_folders,
        }


def upload_file_set(source_dir: str | os.PathLike, ignore_file: str | None = None, top: int = 5) -> UploadSet:
    """The files `gcloud run deploy --source=DIR` would upload, with sizes and what was left out."""
    root = _source_root(source_dir)
    rules = gcloud_ignore_rules(root, ignore_file)
    files: list[str] = []
    dirs: list[str] = []
    ignored: list[str] = []
    total = 0
    by_folder: dict[str, list[int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = _rel(os.path.relpath(dirpath, root)) if dirpath != str(root) else ""
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules._excludes_entry(rel, False):
                ignored.append(rel)
                continue
            files.append(rel)
            try:
                size = os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                size = 0  # a dangling symlink uploads as nothing useful
            total += size
            folder = rel.split("/", 1)[0] if "/" in rel else "."
            acc = by_folder.setdefault(folder, [0, 0])
            acc[0] += size
            acc[1] += 1
        keep = []
        for name in sorted(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            # gcloud treats every walked directory entry (symlinks to directories too) as a directory.
            if rules._excludes_entry(rel, True):
                ignored.append(rel + "/")
            else:
                keep.append(name)
                dirs.append(rel)
        dirnames[:] = keep
    largest = sorted(({"folder": k, "bytes": v[0], "files": v[1]} for k, v in by_folder.items()),
                     key=lambda d: (-d["bytes"], d["folder"]))[:top]
    files.sort()
    return UploadSet(str(root), rules.rule_source, files, sorted(dirs), sorted(ignored), total, largest,
                     rules, frozenset(files))


# ----------------------------------------------------------------------------------------------
# builder choice


@dataclass
class BuilderChoice:
    builder: str                      # "dockerfile" | "buildpacks"
    reason: str                       # one sentence
    dockerfile: str | None = None     # "Dockerfile" when Docker is chosen
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"builder": self.builder, "reason": self.reason, "dockerfile": self.dockerfile,
                "warnings": list(self.warnings)}


def choose_builder(source_dir: str | os.PathLike, ignore_file: str | None = None) -> BuilderChoice:
    """gcloud's one local check: does DIR/Dockerfile exist on disk right now (exact name, top level only)?"""
    text = str(source_dir)
    if text.startswith("gs://"):
        return BuilderChoice("buildpacks", "The source is a gs:// archive, and gcloud always builds those "
                             "with Google Cloud buildpacks.")
    root = _source_root(source_dir)
    names = os.listdir(root)
    # listdir gives the exact on-disk name, so the check is case-sensitive even on macOS.
    if "Dockerfile" in names and (root / "Dockerfile").exists():
        choice = BuilderChoice("dockerfile", "A file named exactly Dockerfile exists at the top of the source "
                               "directory, so gcloud builds it with Docker.", dockerfile="Dockerfile")
        rules = gcloud_ignore_rules(root, ignore_file)
        rule = rules.deciding_rule("Dockerfile")
        if rule is not None:
            choice.warnings.append(
                f"Docker chosen but Dockerfile ignored by the upload filter (it will be missing in the upload): "
                f"rule '{rule.text}' at {rule.where}.")
        return choice
    near = sorted(n for n in names if n.lower() == "dockerfile" and n != "Dockerfile")
    nested = sorted(_rel(p.relative_to(root)) for pattern in ("*/Dockerfile", "*/*/Dockerfile")
                    for p in root.glob(pattern) if p.is_file())[:5]
    choice = BuilderChoice("buildpacks", "There is no file named exactly Dockerfile at the top of the source "
                           "directory, so gcloud builds with Google Cloud buildpacks.")
    for name in near:
        choice.warnings.append(f"{name!r} is not 'Dockerfile': the name is case-sensitive on Linux, so gcloud "
                               "ignores it (a case-insensitive disk such as macOS's would match it).")
    for path in nested:
        choice.warnings.append(f"{path} is in a subfolder; gcloud only looks at the top level.")
    others = sorted(n for n in names if n.endswith(".Dockerfile") or n.startswith("Dockerfile."))
    for name in others:
        choice.warnings.append(f"{name} is not used by --source; only a file named exactly Dockerfile is.")
    return choice


# ----------------------------------------------------------------------------------------------
# Dockerfile parsing and COPY/ADD checks


@dataclass(frozen=True)
class Instruction:
    line: int        # 1-based line where the instruction starts
    keyword: str     # upper case
    args: str        # continuation lines joined with a space

    @property
    def normalized(self) -> str:
        return f"{self.keyword} {' '.join(self.args.split())}".strip()

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "keyword": self.keyword, "args": self.args}


_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their line numbers: continuations joined, comments dropped, heredoc bodies skipped."""
    lines = text.splitlines()
    escape = "\\"
    for raw in lines:  # parser directives live in the leading comment block only
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            escape = match.group(2)
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i + 1
        parts = []
        current = lines[i].rstrip()
        while current.endswith(escape):
            parts.append(current[:-1].strip())
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                i += 1
            current = lines[i].rstrip() if i < len(lines) else ""
        parts.append(current.strip())
        joined = " ".join(p for p in parts if p)
        i += 1
        for match in _HEREDOC.finditer(joined):
            word, dash = match.group(3), match.group(1)
            while i < len(lines) and (lines[i].strip() if dash else lines[i]) != word:
                i += 1
            i += 1
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


@dataclass(frozen=True)
class CopySource:
    line: int
    keyword: str
    source: str


_COPY_VALUE_FLAGS = ("--chown", "--chmod", "--link", "--parents", "--exclude", "--checksum", "--keep-git-dir")


def copy_sources(instructions: Iterable[Instruction]) -> list[CopySource]:
    """The build-context paths COPY/ADD read; `--from=` stages, URLs, heredocs and `$VARS` are skipped."""
    found: list[CopySource] = []
    for ins in instructions:
        if ins.keyword not in ("COPY", "ADD"):
            continue
        tokens = ins.args.split()
        flags = []
        while tokens and tokens[0].startswith("--"):
            flags.append(tokens.pop(0))
        if any(f.startswith("--from") for f in flags):
            continue
        rest = " ".join(tokens)
        if rest.startswith("["):
            try:
                tokens = [str(t) for t in json.loads(rest)]
            except ValueError:
                pass
        for src in tokens[:-1]:
            if src.startswith("<<") or "$" in src or re.match(r"^[a-z][a-z0-9+.-]*://", src) or src.startswith("git@"):
                continue
            found.append(CopySource(ins.line, ins.keyword, src))
    return found


def _docker_pattern_regex(pattern: str) -> str:
    """moby/patternmatcher: `*` and `?` stay inside one component, `**` spans any number of them."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
                if i + 1 < len(pattern) and pattern[i + 1] == "/":
                    i += 1
                out.append(".*" if i + 1 >= len(pattern) else "(?:.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                out.append("[" + pattern[i + 1:end].replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


@dataclass(frozen=True)
class DockerIgnoreRule:
    text: str
    exclusion: bool      # a `!` line: re-includes what it matches
    line: int
    source: str
    regex: re.Pattern = field(repr=False, compare=False)


def parse_dockerignore(text: str, source: str = ".dockerignore") -> list[DockerIgnoreRule]:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        exclusion = pattern.startswith("!")
        if exclusion:
            pattern = pattern[1:].strip()
        if not pattern:
            continue
        pattern = os.path.normpath(pattern).replace(os.sep, "/")
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern.lstrip("/")
        rules.append(DockerIgnoreRule(raw.strip(), exclusion, number, source,
                                      re.compile(_docker_pattern_regex(pattern))))
    return rules


def dockerignore_excludes(rules: list[DockerIgnoreRule], path: str) -> DockerIgnoreRule | None:
    """The rule that excludes `path` (Docker: the last matching rule wins, matching the path or a parent)."""
    path = _rel(path)
    parents = path.split("/")[:-1]
    decided: DockerIgnoreRule | None = None
    for rule in rules:
        matched = rule.regex.match(path) is not None
        if not matched:
            matched = any(rule.regex.match("/".join(parents[:k])) for k in range(1, len(parents) + 1))
        if matched:
            decided = None if rule.exclusion else rule
    return decided


@dataclass
class CopyProblem:
    dockerfile: str
    line: int
    instruction: str
    source: str
    reason: str        # "not-on-disk" | "not-uploaded" | "dockerignored" | "dockerfile-not-uploaded"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BuildContext:
    files: set[str]
    dirs: set[str]
    dockerignore: str | None
    rules: list[DockerIgnoreRule]

    def has(self, source: str) -> bool:
        src = _rel(source)
        if src in ("", "."):
            return bool(self.files)
        if any(ch in src for ch in "*?["):
            regex = re.compile(_docker_pattern_regex(src))
            return any(regex.match(p) for p in self.files) or any(regex.match(d) for d in self.dirs)
        return src in self.files or src in self.dirs


def docker_build_context(upload: UploadSet, dockerfile: str | None = None) -> BuildContext:
    """The upload set after Docker applies `.dockerignore` (or `<Dockerfile>.dockerignore`, which wins)."""
    candidates = []
    if dockerfile:
        candidates.append(_rel(dockerfile) + ".dockerignore")
    candidates.append(".dockerignore")
    chosen = next((c for c in candidates if c in upload), None)  # an ignore file that was not uploaded does nothing
    rules = parse_dockerignore(Path(upload.source_dir, chosen).read_text(errors="replace"), chosen) if chosen else []
    files = {f for f in upload.files if dockerignore_excludes(rules, f) is None} if rules else set(upload.files)
    dirs = set()
    for f in files:
        parts = f.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:k]))
    dirs |= {d for d in upload.dirs if not rules or dockerignore_excludes(rules, d) is None}
    return BuildContext(files, dirs, chosen, rules)


def _on_disk(root: Path, source: str) -> bool:
    src = _rel(source)
    if src in ("", "."):
        return True
    if any(ch in src for ch in "*?["):
        return any(True for _ in root.glob(src))
    return (root / src).exists()


def dockerfile_copy_check(source_dir: str | os.PathLike, dockerfile_path: str,
                          upload_set: UploadSet | None = None) -> list[CopyProblem]:
    """Every COPY/ADD source must be in the build context: on disk, uploaded by gcloud, not .dockerignored."""
    root = _source_root(source_dir)
    path = Path(dockerfile_path)
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise ParameterError("dockerfile_path", str(dockerfile_path), f"give a Dockerfile that exists under {root}")
    upload = upload_set if upload_set is not None else upload_file_set(root)
    try:
        rel_dockerfile = _rel(full.resolve().relative_to(root))
    except ValueError:
        rel_dockerfile = None  # a Dockerfile outside the source is sent separately; only its sources matter
    problems: list[CopyProblem] = []
    label = rel_dockerfile or str(full)
    if rel_dockerfile is not None and rel_dockerfile not in upload:
        rule = upload.why_ignored(rel_dockerfile)
        why = f"rule '{rule.text}' at {rule.where}" if rule else "it is not in the upload"
        problems.append(CopyProblem(label, 0, "", rel_dockerfile, "dockerfile-not-uploaded",
                                    f"{rel_dockerfile} itself is left out of the upload ({why}), so the build "
                                    "cannot read it."))
    context = docker_build_context(upload, rel_dockerfile)
    for src in copy_sources(parse_dockerfile(full.read_text(errors="replace"))):
        if context.has(src.source):
            continue
        where = f"{label}:{src.line} {src.keyword} {src.source}"
        rel = _rel(src.source)
        if not _on_disk(root, src.source):
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "not-on-disk",
                                        f"{where}: the path does not exist in the source directory."))
        elif not _matches_any(rel, upload.files, upload.dirs):
            rule = upload.why_ignored(rel, is_dir=(root / rel).is_dir())
            why = f"rule '{rule.text}' at {rule.where}" if rule else upload.rule_source
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "not-uploaded",
                                        f"{where}: gcloud leaves it out of the upload ({why})."))
        else:
            rule = next((dockerignore_excludes(context.rules, f) for f in _expand(rel, upload)
                         if dockerignore_excludes(context.rules, f)), None)
            why = f"rule '{rule.text}' at {rule.source}:{rule.line}" if rule else context.dockerignore
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "dockerignored",
                                        f"{where}: excluded from the Docker build context by {why}."))
    return problems


def _matches_any(src: str, files: Iterable[str], dirs: Iterable[str]) -> bool:
    if any(ch in src for ch in "*?["):
        regex = re.compile(_docker_pattern_regex(src))
        return any(regex.match(p) for p in files) or any(regex.match(d) for d in dirs)
    return src in set(files) or src in set(dirs)


def _expand(src: str, upload: UploadSet) -> list[str]:
    if any(ch in src for ch in "*?["):
        regex = re.compile(_docker_pattern_regex(src))
        return [f for f in upload.files if regex.match(f)] + [d for d in upload.dirs if regex.match(d)]
    return [src] + [f for f in upload.files if f.startswith(src + "/")]


# ----------------------------------------------------------------------------------------------
# buildpacks


_PY_VERSION = re.compile(r"^3\.\d{1,2}(\.\d{1,3})?$")
_RUNTIME_TXT = re.compile(r"^python-3\.\d{1,2}(\.\d{1,3})?$")
_PY_MARKERS = ("requirements.txt", "pyproject.toml", "setup.py", "Pipfile")


@dataclass
class EntrypointCheck:
    python_detected: bool
    found: bool
    how: str                         # how the entrypoint would be found, or why not (one sentence)
    python_version: str | None = None
    problems: list[str] = field(default_factory=list)
    expected_signatures: list[str] = field(default_factory=list)   # the log signatures this predicts

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def buildpacks_entrypoint_check(source_dir: str | os.PathLike, env: dict[str, str] | None = None,
                                upload_set: UploadSet | None = None) -> EntrypointCheck:
    """Would Google Cloud's Python buildpack detect the app, find an entrypoint, and accept the version?"""
    root = _source_root(source_dir)
    env = dict(env or {})
    upload = upload_set if upload_set is not None else upload_file_set(root)
    top = {f for f in upload.files if "/" not in f}
    detected = bool(top & set(_PY_MARKERS)) or any(f.endswith(".py") for f in upload.files)
    problems: list[str] = []
    expected: list[str] = []
    version = None
    for var in ("GOOGLE_PYTHON_VERSION", "GOOGLE_RUNTIME_VERSION"):
        if env.get(var):
            version = env[var].strip()
            if not _PY_VERSION.match(version):
                problems.append(f"{var}={version!r} is not a Python version the buildpack accepts (e.g. 3.11): "
                                "invalid Python version specified.")
            break
    if version is None and ".python-version" in top:
        lines = [ln.strip() for ln in (root / ".python-version").read_text(errors="replace").splitlines()
                 if ln.strip() and not ln.strip().startswith("#")]
        version = lines[0] if lines else ""
        if not _PY_VERSION.match(version):
            problems.append(f".python-version says {version!r}, which is not a plain Python 3 version such as "
                            "3.11: the buildpack fails with 'invalid Python version specified'.")
    if version is None and "runtime.txt" in top:
        version = (root / "runtime.txt").read_text(errors="replace").strip()
        if not _RUNTIME_TXT.match(version):
            problems.append(f"runtime.txt says {version!r}, expected the form python-3.11: "
                            "invalid Python version specified.")
    if problems:
        expected.append("buildpacks-python-version")
    if not detected:
        expected.append("buildpacks-detect-failed")
        return EntrypointCheck(False, False, "No Python files or requirements are in the upload, so no buildpack "
                               "would pass detection.", version, problems + [
                                   "No buildpack groups passed detection: nothing in the upload looks like a "
                                   "Python app."], expected)
    if env.get("GOOGLE_ENTRYPOINT", "").strip():
        return EntrypointCheck(True, True, "GOOGLE_ENTRYPOINT is set, so the buildpack uses it.", version,
                               problems, expected)
    if "Procfile" in top:
        text = (root / "Procfile").read_text(errors="replace")
        if re.search(r"^web\s*:", text, re.M):
            return EntrypointCheck(True, True, "A Procfile with a web: process is at the top of the upload.",
                                   version, problems, expected)
        problems.append("Procfile has no `web:` line, so the buildpack has no web process to start.")
        expected.append("buildpacks-no-entrypoint")
        return EntrypointCheck(True, False, "The Procfile has no web: process.", version, problems, expected)
    for name in ("main.py", "app.py"):
        if name in top:
            return EntrypointCheck(True, True, f"{name} is at the top of the upload, so the buildpack starts it "
                                   "with its default web server.", version, problems, expected)
    problems.append('for Python, provide a main.py or app.py file or set an entrypoint with "GOOGLE_ENTRYPOINT" '
                    'env var or by creating a "Procfile" file: none of them is in the upload.')
    expected.append("buildpacks-no-entrypoint")
    return EntrypointCheck(True, False, "No main.py or app.py at the top level, no Procfile and no "
                           "GOOGLE_ENTRYPOINT.", version, problems, expected)


# ----------------------------------------------------------------------------------------------
# deploy-script lint


@dataclass
class Lint:
    kind: str            # root-dockerfile-copy | root-dockerfile-race | nonexistent-flag
    severity: str        # error | warning
    path: str | None
    line: int
    message: str
    related: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".runbook", ".tox", ".mypy_cache"}
_ROOT_DIR_WORDS = re.compile(r"^(\.|\$\{?\w+\}?|\$\(pwd\)|\$PWD|\$\(git rev-parse --show-toplevel\))$")
_DEPLOY = re.compile(r"\bgcloud\s+(?:(?:alpha|beta)\s+)?run\s+deploy\b")
_SOURCE_FLAG = re.compile(r"(?:^|\s)--source(?:=|\s|$)")


def _shell_scripts(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            try:
                if path.stat().st_size > 512_000:
                    continue
                if name.endswith((".sh", ".bash")):
                    found.append(path)
                    continue
                with open(path, "rb") as fh:
                    head = fh.readline(200)
                if head.startswith(b"#!") and re.search(rb"\b(ba|z|k|da)?sh\b", head):
                    found.append(path)
            except OSError:
                continue
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out, buf, start = [], [], 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buf:
            start = number
        if raw.rstrip().endswith("\\"):
            buf.append(raw.rstrip()[:-1])
            continue
        buf.append(raw)
        out.append((start, " ".join(buf)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def _is_root_dockerfile(target: str, src: str | None = None) -> bool:
    target = target.strip("\"'").rstrip("/") or "."
    head, _, tail = target.rpartition("/")
    if tail == "Dockerfile":
        return head == "" or bool(_ROOT_DIR_WORDS.match(head.strip("\"'")))
    # `cp docker/Dockerfile .` also lands at the root
    return src is not None and Path(src.strip("\"'")).name == "Dockerfile" and bool(_ROOT_DIR_WORDS.match(target))


def _commands(line: str) -> list[list[str]]:
    """Simple commands of one logical shell line; quotes respected, `;`, `&&`, `||` and `|` split."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        tokens = [t.strip("\"'") for t in line.split()]
    cmds, current = [], []
    for token in tokens + [";"]:
        if token and set(token) <= set(";&|"):
            while current and current[0] in ("sudo", "command", "then", "do", "else", "exec", "if", "!"):
                current = current[1:]
            if current:
                cmds.append(current)
            current = []
        else:
            current.append(token)
    return cmds


@dataclass
class _ScriptFacts:
    path: str
    copies: list[tuple[int, str]] = field(default_factory=list)     # (line, source Dockerfile)
    removes: list[int] = field(default_factory=list)
    deploys: list[int] = field(default_factory=list)
    bad_flag: list[int] = field(default_factory=list)


def _scan_script(path: str, text: str) -> _ScriptFacts:
    facts = _ScriptFacts(path)
    for number, line in _logical_lines(text):
        if NONEXISTENT_FLAG in line and not line.lstrip().startswith("#"):
            facts.bad_flag.append(number)
        if _DEPLOY.search(line) and _SOURCE_FLAG.search(line) and not line.lstrip().startswith("#"):
            facts.deploys.append(number)
        for tokens in _commands(line):
            _scan_command(tokens, number, facts)
    return facts


def _scan_command(tokens: list[str], number: int, facts: _ScriptFacts) -> None:
    name, args = tokens[0], [t for t in tokens[1:] if not t.startswith("-")]
    if name == "trap" and len(tokens) > 1:
        for sub in _commands(" ".join(tokens[1:])):
            _scan_command(sub, number, facts)
    elif name in ("cp", "mv", "ln") and len(args) >= 2:
        if _is_root_dockerfile(args[-1], args[-2]):
            facts.copies.append((number, args[-2]))
    elif name == "rm" and any(_is_root_dockerfile(a) for a in args):
        facts.removes.append(number)


def lint_deploy_scripts(source_dir: str | os.PathLike) -> list[Lint]:
    """Deploy scripts that copy a Dockerfile to the repository root around `gcloud run deploy --source`."""
    root = _source_root(source_dir)
    lints: list[Lint] = []
    copying: list[_ScriptFacts] = []
    for script in _shell_scripts(root):
        rel = _rel(script.relative_to(root))
        facts = _scan_script(rel, script.read_text(errors="replace"))
        for number in facts.bad_flag:
            lints.append(Lint("nonexistent-flag", "error", rel, number,
                              f"{rel}:{number} passes {NONEXISTENT_FLAG}: gcloud has no such flag and rejects the "
                              "command; force a Docker build with `gcloud builds submit --config` (or --tag) and "
                              "`gcloud run deploy --image`."))
        if facts.copies and facts.deploys:
            copying.append(facts)
            line, src = facts.copies[0]
            removed = f" and deletes it (line {facts.removes[0]})" if facts.removes else ""
            lints.append(Lint("root-dockerfile-copy", "warning", rel, line,
                              f"{rel} copies {src} to ./Dockerfile (line {line}), runs `gcloud run deploy --source` "
                              f"(line {facts.deploys[0]}){removed}: the builder gcloud picks depends on which "
                              "./Dockerfile exists at that moment."))
    if len(copying) >= 2:
        names = [f.path for f in copying]
        pairs = ", ".join(f"{f.path} -> {f.copies[0][1]}" for f in copying)
        lints.append(Lint(
            "root-dockerfile-race", "error", None, 0,
            f"{len(copying)} deploy scripts share one root ./Dockerfile ({pairs}): run at the same time from one "
            "checkout, one uploads the other's Dockerfile and deploys the other phase's code (its /health then "
            "names the wrong service) while the other finds no Dockerfile after it was deleted and falls back to "
            "buildpacks, which is what broke the 2025-12-31 Phase 3/4 deploy; build each phase with "
            "`gcloud builds submit --config` and deploy with `gcloud run deploy --image`.", related=names))
    return lints


# ----------------------------------------------------------------------------------------------
# Dockerfile diff


def dockerfile_diff(a_path: str | os.PathLike, b_path: str | os.PathLike, changed_only: bool = False) -> pd.DataFrame:
    """Instruction-level diff of two Dockerfiles, aligned by difflib over normalized instructions."""
    sides = []
    for name, p in (("a_path", a_path), ("b_path", b_path)):
        if not Path(p).is_file():
            raise ParameterError(name, str(p), "give the path of an existing Dockerfile")
        sides.append(parse_dockerfile(Path(p).read_text(errors="replace")))
    a, b = sides
    matcher = difflib.SequenceMatcher(a=[i.normalized for i in a], b=[i.normalized for i in b], autojunk=False)
    rows = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" and changed_only:
            continue
        span = max(a1 - a0, b1 - b0)
        for k in range(span):
            ia = a[a0 + k] if a0 + k < a1 else None
            ib = b[b0 + k] if b0 + k < b1 else None
            kind = op if op != "replace" else ("replace" if ia and ib else ("delete" if ia else "insert"))
            rows.append({"op": kind,
                         "a_line": ia.line if ia else None, "a_instruction": ia.normalized if ia else "",
                         "b_line": ib.line if ib else None, "b_instruction": ib.normalized if ib else ""})
    frame = pd.DataFrame(rows, columns=["op", "a_line", "a_instruction", "b_line", "b_instruction"])
    return frame.astype({"a_line": "Int64", "b_line": "Int64"})


# ----------------------------------------------------------------------------------------------
# everything together


@dataclass
class Preflight:
    source_dir: str
    upload: UploadSet
    builder: BuilderChoice
    copy_problems: dict[str, list[CopyProblem]]
    entrypoint: EntrypointCheck
    lints: list[Lint]

    @property
    def problems(self) -> list[str]:
        """Everything worth fixing before a deploy, the likely root cause (a script race) first."""
        errors = sorted((lint for lint in self.lints if lint.severity == "error"),
                        key=lambda lint: lint.kind != "root-dockerfile-race")
        out = [lint.message for lint in errors] + list(self.builder.warnings)
        for problems in self.copy_problems.values():
            out += [p.message for p in problems]
        if self.builder.builder == "buildpacks":
            out += self.entrypoint.problems
        out += [lint.message for lint in self.lints if lint.severity != "error"]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        size = _human_bytes(self.upload.total_bytes)
        head = f"{len(self.upload.files)} files ({size}) uploaded; builder {self.builder.builder}"
        issues = self.problems
        if not issues:
            return f"{head}; no problems found."
        return f"{head}; {len(issues)} problem(s), first: {issues[0]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_dir": self.source_dir,
            "summary": self.summary(),
            "ok": self.ok,
            "problems": self.problems,
            "upload": self.upload.to_dict(),
            "builder": self.builder.to_dict(),
            "copy_problems": {k: [p.to_dict() for p in v] for k, v in self.copy_problems.items()},
            "entrypoint": self.entrypoint.to_dict(),
            "lints": [lint.to_dict() for lint in self.lints],
        }


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def preflight(source_dir: str | os.PathLike, dockerfile: str | None = None, env: dict[str, str] | None = None,
              ignore_file: str | None = None) -> Preflight:
    """Everything `gcloud run deploy --source=DIR` would do locally, checked before anything is uploaded.

    `dockerfile` is the phase's own Dockerfile (relative to DIR), checked as the explicit
    `gcloud builds submit --config` build would use it; the root Dockerfile is checked when Docker is chosen.
    """
    root = _source_root(source_dir)
    if dockerfile is not None and not (root / dockerfile).is_file():
        raise ParameterError("dockerfile", dockerfile, f"give a Dockerfile path relative to {root} that exists")
    if env is not None and not isinstance(env, dict):
        raise ParameterError("env", env, "give a mapping of build environment variables such as GOOGLE_ENTRYPOINT")
    upload = upload_file_set(root, ignore_file)
    builder = choose_builder(root, ignore_file)
    checks: dict[str, list[CopyProblem]] = {}
    targets = ([builder.dockerfile] if builder.dockerfile else []) + ([dockerfile] if dockerfile else [])
    for target in dict.fromkeys(_rel(t) for t in targets):
        checks[target] = dockerfile_copy_check(root, target, upload)
    entry = buildpacks_entrypoint_check(root, env, upload)
    return Preflight(str(root), upload, builder, checks, entry, lint_deploy_scripts(root))
