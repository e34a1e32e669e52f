"""Dockerfiles as Docker reads them: instructions, COPY/ADD sources, `.dockerignore`, whether every
source is in the build context gcloud uploads, and an instruction-level diff of two Dockerfiles.
"""
from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..errors import ParameterError
from .dockerfile_words import (MAX_LINE_BYTES, Variables, go_glob, heredoc_names, linear, mount_sources,
                               raw_words, split_keyword)
from .upload import LINK_DANGLING, LINK_OUTSIDE, UploadSet, posix_rel, read_source_text, source_root, upload_file_set


# ----------------------------------------------------------------------------------------------
# parsing


@dataclass(frozen=True)
class Instruction:
    line: int        # 1-based line where the instruction starts
    keyword: str     # upper case
    args: str        # continuation lines joined with a space
    escape: str = "\\"   # the Dockerfile's escape character (its `# escape=` directive)

    @property
    def normalized(self) -> str:
        return f"{self.keyword} {' '.join(self.args.split())}".strip()

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "keyword": self.keyword, "args": self.args}


_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their line numbers: continuations joined, comments dropped, heredoc bodies skipped."""
    lines = text.removeprefix("\ufeff").splitlines()   # BuildKit drops a byte-order mark before the directives
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
        keyword, args = split_keyword(joined)
        for word, dash in heredoc_names(keyword, args, escape):
            while i < len(lines) and (lines[i].strip() if dash else lines[i]) != word:
                i += 1
            i += 1
        out.append(Instruction(start, keyword, args, escape))
    return out


def overlong_lines(text: str) -> list[int]:
    """The lines BuildKit refuses to parse: longer than 65,535 bytes ("dockerfile line greater than max allowed
    size")."""
    return [n for n, line in enumerate(text.split("\n"), start=1)
            if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES]


@dataclass(frozen=True)
class CopySource:
    line: int
    keyword: str
    source: str


def copy_sources(instructions: Iterable[Instruction]) -> list[CopySource]:
    """The build-context paths COPY/ADD and RUN's bind mounts read, each expanded as BuildKit expands it (quotes
    removed, ARG defaults and ENV values put in); `--from=` stages, URLs, git sources and heredocs are skipped, and
    so is a source using a form of expansion this does not know (`${VAR#x}`) or one that expands to nothing (an
    unset variable: the context's root, always there)."""
    found: list[CopySource] = []
    variables = None
    for ins in instructions:
        if variables is None:
            variables = Variables(ins.escape)
        if ins.keyword == "RUN":
            for src in mount_sources(ins.args):
                expanded = variables.expand(src)
                if expanded:
                    found.append(CopySource(ins.line, "RUN --mount", expanded))
        if ins.keyword not in ("COPY", "ADD"):
            variables.see(ins.keyword, ins.args)
            continue
        tokens = raw_words(ins.args, ins.escape)
        flags = []
        while tokens and tokens[0].startswith("--"):
            flags.append(tokens.pop(0))
        if any(f.startswith("--from") for f in flags):
            continue
        rest = " ".join(tokens)
        words: list[str | None] = [variables.expand(t) for t in tokens]
        if rest.startswith("["):
            try:
                words = [variables.expand(str(t)) for t in json.loads(rest)]
            except ValueError:
                pass
        for src in words[:-1]:
            if not src or src.startswith("<<") or re.match(r"^[a-z][a-z0-9+.-]*://", src) \
                    or src.startswith("git@"):
                continue
            found.append(CopySource(ins.line, ins.keyword, src))
    return found


# ----------------------------------------------------------------------------------------------
# .dockerignore and the build context


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
    regex: Any = field(repr=False, compare=False)   # RE2's, as linear as Docker's own matcher
    malformed: bool = False   # Go's filepath.Match refuses it, and so the build refuses the context


def parse_dockerignore(text: str, source: str = ".dockerignore") -> list[DockerIgnoreRule]:
    """moby/patternmatcher's reading (ignorefile.ReadAll, then Pattern.compile): a leading byte-order mark
    dropped; a pattern starting `**` with no other wildcard matches any path ending in the rest (`**.md` matches
    README.md); a pattern Go's filepath.Match calls malformed is kept, marked, matching nothing."""
    rules = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
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
        malformed = go_glob(pattern) is None
        if malformed:
            regex = linear("[^\\x00-\\x{10FFFF}]")   # matches nothing
        elif pattern.startswith("**") and not any(ch in pattern[2:] for ch in "*?[\\"):
            suffix = pattern[2:]   # patternmatcher's suffixMatch; `**/foo` matches `foo` too
            regex = linear(f"^(?:.*{re.escape(suffix)}" + (f"|{re.escape(suffix[1:])}" if suffix.startswith("/")
                                                              else "") + ")$")
        else:
            regex = linear(_docker_pattern_regex(pattern))
        rules.append(DockerIgnoreRule(raw.strip(), exclusion, number, source, regex, malformed))
    return rules


def dockerignore_excludes(rules: list[DockerIgnoreRule], path: str) -> DockerIgnoreRule | None:
    """The rule that excludes `path` (Docker: the last matching rule wins, matching the path or a parent)."""
    path = posix_rel(path)
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
    folder_links: dict[str, str] = field(default_factory=dict)   # inside the source: link -> its target

    def has(self, source: str) -> bool:
        src = posix_rel(source)
        if src in ("", "."):
            return bool(self.files)
        through = self._through_links(src)
        if through != src:   # BuildKit follows a folder link inside the context: its target must be there
            return self.has(through)
        if _is_glob(src):
            regex = go_glob(src)
            return regex is not None and (any(regex.match(p) for p in self.files)
                                          or any(regex.match(d) for d in self.dirs))
        return src in self.files or src in self.dirs

    def _through_links(self, src: str) -> str:
        """The path with its longest leading folder link replaced by the link's target (links to links in turn,
        up to 40, as Linux follows them)."""
        for _ in range(40):
            parts = src.split("/")
            link = next(("/".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)
                         if "/".join(parts[:k]) in self.folder_links), None)
            if link is None:
                return src
            src = posix_rel(f"{self.folder_links[link]}/{src[len(link) + 1:]}")
        return src


def _is_glob(src: str) -> bool:
    return any(ch in src for ch in "*?[\\")


def docker_build_context(upload: UploadSet, dockerfile: str | None = None) -> BuildContext:
    """The upload set after Docker applies `.dockerignore` (or `<Dockerfile>.dockerignore`, which wins)."""
    candidates = []
    if dockerfile:
        candidates.append(posix_rel(dockerfile) + ".dockerignore")
    candidates.append(".dockerignore")
    chosen = next((c for c in candidates if c in upload), None)  # an ignore file that was not uploaded does nothing
    rules = parse_dockerignore(read_source_text(Path(upload.source_dir, chosen)) or "", chosen) if chosen else []
    files = {f for f in upload.files if dockerignore_excludes(rules, f) is None} if rules else set(upload.files)
    dirs = set()
    for f in files:
        parts = f.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:k]))
    dirs |= {d for d in upload.dirs if not rules or dockerignore_excludes(rules, d) is None}
    return BuildContext(files, dirs, chosen, rules, dict(upload.folder_links))


# ----------------------------------------------------------------------------------------------
# COPY/ADD sources against the build context


def _on_disk(root: Path, source: str) -> bool:
    """Whether the source names something in the source directory; a wildcard matches as COPY's does, one path
    component for each of its own (Go's filepath.Match never crosses a `/`)."""
    src = posix_rel(source)
    if src in ("", "."):
        return True
    if not _is_glob(src):
        return os.path.lexists(root / src)   # a dangling link is there, and not uploaded
    regex = go_glob(src)
    if regex is None:
        return False
    depth = src.count("/")
    for dirpath, dirnames, filenames in os.walk(root):
        rel = posix_rel(os.path.relpath(dirpath, root))
        level = 0 if rel == "." else rel.count("/") + 1
        if level == depth:
            prefix = "" if rel == "." else rel + "/"
            if any(regex.match(prefix + name) for name in dirnames + filenames):
                return True
            dirnames[:] = []
    return False


MAX_DOCKERFILE_BYTES = 16 * 1024 ** 2   # far past any Dockerfile; past it, what was not read is said


def dockerfile_copy_check(source_dir: str | os.PathLike, dockerfile_path: str,
                          upload_set: UploadSet | None = None) -> list[CopyProblem]:
    """Every COPY/ADD source must be in the build context: on disk, uploaded by gcloud, not .dockerignored."""
    root = source_root(source_dir)
    path = Path(dockerfile_path)
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise ParameterError("dockerfile_path", str(dockerfile_path), f"give a Dockerfile that exists under {root}")
    upload = upload_set if upload_set is not None else upload_file_set(root)
    try:
        rel_dockerfile = posix_rel((full.parent.resolve() / full.name).relative_to(root))   # (itself a link: as gcloud)
    except ValueError:
        rel_dockerfile = None  # a Dockerfile outside the source is sent separately; only its sources matter
    problems: list[CopyProblem] = []
    label = rel_dockerfile or str(full)
    if rel_dockerfile is not None and rel_dockerfile not in upload:
        problems.append(CopyProblem(label, 0, "", rel_dockerfile, "dockerfile-not-uploaded",
                                    f"{rel_dockerfile} itself is not in the upload, so the build cannot read it: "
                                    f"{_why_not_uploaded(root, rel_dockerfile, upload)}."))
    context = docker_build_context(upload, rel_dockerfile)
    for rule in (r for r in context.rules if r.malformed):
        problems.append(CopyProblem(label, 0, "", rule.text, "malformed-pattern",
                                    f"{rule.source}:{rule.line} '{rule.text}' is a malformed pattern (Go's "
                                    f"filepath.Match: syntax error in pattern), and Docker refuses the build context."))
    text = read_source_text(full, limit=MAX_DOCKERFILE_BYTES) or ""
    if full.stat().st_size > MAX_DOCKERFILE_BYTES:
        problems.append(CopyProblem(label, 0, "", label, "dockerfile-too-big",
                                    f"{label} is larger than {MAX_DOCKERFILE_BYTES:,} bytes; its COPY and ADD "
                                    "sources past that were not checked."))
    for number in overlong_lines(text)[:3]:
        problems.append(CopyProblem(label, number, "", label, "line-too-long",
                                    f"{label}:{number} is longer than {MAX_LINE_BYTES:,} bytes, and BuildKit refuses "
                                    "the Dockerfile (dockerfile line greater than max allowed size)."))
    for src in copy_sources(parse_dockerfile(text)):
        if context.has(src.source):
            continue
        where = f"{label}:{src.line} {src.keyword} {src.source}"
        rel = posix_rel(src.source)
        if _is_glob(rel) and go_glob(rel) is None:
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "malformed-pattern",
                                        f"{where}: a malformed pattern (Go's filepath.Match: syntax error in "
                                        "pattern), and the build fails on it."))
        elif not _on_disk(root, src.source):
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "not-on-disk",
                                        f"{where}: the path does not exist in the source directory."))
        elif not _matches_any(rel, upload.files, upload.dirs):
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "not-uploaded",
                                        f"{where}: {_why_not_uploaded(root, rel, upload)}."))
        else:
            rule = next((dockerignore_excludes(context.rules, f) for f in _expand(rel, upload)
                         if dockerignore_excludes(context.rules, f)), None)
            why = f"rule '{rule.text}' at {rule.source}:{rule.line}" if rule else context.dockerignore
            problems.append(CopyProblem(label, src.line, src.keyword, src.source, "dockerignored",
                                        f"{where}: excluded from the Docker build context by {why}."))
    return problems


def _why_not_uploaded(root: Path, rel: str, upload: UploadSet) -> str:
    """Why a file on disk (a COPY source, the Dockerfile itself) is not in the upload: the ignore rule that leaves
    it out, else what the upload's reading says (never "left out" by rules that upload everything)."""
    rule = upload.why_ignored(rel, is_dir=(root / rel).is_dir())
    if rule is not None:
        return f"gcloud leaves it out of the upload (rule '{rule.text}' at {rule.where})"
    if rel == ".." or rel.startswith("../"):
        return "the path is outside the source directory, and gcloud uploads only that directory"
    for entry in upload.skipped:
        path, _, kind = entry.partition(" (")
        kind = kind[:-1]
        if path == rel:
            return f"it is {kind}" if kind in (LINK_OUTSIDE, LINK_DANGLING) else \
                "it is not a regular file, so gcloud cannot upload it"
        if kind == LINK_OUTSIDE and rel.startswith(path + "/"):
            return f"it is under {path}, {kind}"
    if upload.incomplete:
        return f"it is not among the files read for the upload: {upload.incomplete}"
    return f"no ignore rule leaves it out ({upload.rule_source}), yet it is not among the files gcloud uploads"


def _matches_any(src: str, files: Iterable[str], dirs: Iterable[str]) -> bool:
    if _is_glob(src):
        regex = go_glob(src)
        return regex is not None and (any(regex.match(p) for p in files) or any(regex.match(d) for d in dirs))
    return src in set(files) or src in set(dirs)


def _expand(src: str, upload: UploadSet) -> list[str]:
    if _is_glob(src):
        regex = go_glob(src)
        if regex is None:
            return []
        return [f for f in upload.files if regex.match(f)] + [d for d in upload.dirs if regex.match(d)]
    return [src] + [f for f in upload.files if f.startswith(src + "/")]


# ----------------------------------------------------------------------------------------------
# diff


def dockerfile_diff(a_path: str | os.PathLike, b_path: str | os.PathLike, changed_only: bool = False) -> pd.DataFrame:
    """Instruction-level diff of two Dockerfiles, aligned by difflib over normalized instructions."""
    sides = []
    for name, p in (("a_path", a_path), ("b_path", b_path)):
        if not Path(p).is_file():
            raise ParameterError(name, str(p), "give the path of an existing Dockerfile")
        sides.append(parse_dockerfile(read_source_text(p) or ""))
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
