"""Deploy-script lint: scripts that copy a Dockerfile to the repository root around
`gcloud run deploy --source`, the race behind the 2025-12-31 incident, and a gcloud flag that does not exist.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..shell_words import ShellCommand, logical_lines, simple_commands, without_prefix
from .upload import SourceWalk, posix_rel, read_source_text, source_root

NONEXISTENT_FLAG = "--no-use-google-dev-pack"


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
    for dirpath, _, dirnames, regular in SourceWalk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name, size in regular:
            if size > 512_000:
                continue
            path = Path(dirpath, name)
            if name.endswith((".sh", ".bash")):
                found.append(path)
                continue
            head = (read_source_text(path, limit=200) or "").split("\n", 1)[0]
            if head.startswith("#!") and re.search(r"\b(ba|z|k|da)?sh\b", head):
                found.append(path)
    return found


def _is_root_dockerfile(target: str, src: str | None = None) -> bool:
    target = target.strip("\"'").rstrip("/") or "."
    head, _, tail = target.rpartition("/")
    if tail == "Dockerfile":
        return head == "" or bool(_ROOT_DIR_WORDS.match(head.strip("\"'")))
    # `cp docker/Dockerfile .` also lands at the root
    return src is not None and Path(src.strip("\"'")).name == "Dockerfile" and bool(_ROOT_DIR_WORDS.match(target))


@dataclass
class _ScriptFacts:
    path: str
    copies: list[tuple[int, str]] = field(default_factory=list)     # (line, source Dockerfile)
    removes: list[int] = field(default_factory=list)
    deploys: list[int] = field(default_factory=list)
    bad_flag: list[int] = field(default_factory=list)


def _scan_script(path: str, text: str) -> _ScriptFacts:
    facts = _ScriptFacts(path)
    for number, line in logical_lines(text):
        if NONEXISTENT_FLAG in line and not line.lstrip().startswith("#"):
            facts.bad_flag.append(number)
        if _DEPLOY.search(line) and _SOURCE_FLAG.search(line) and not line.lstrip().startswith("#"):
            facts.deploys.append(number)
        for command in simple_commands(line):
            _scan_command(command, number, facts)
    return facts


# Commands that copy their next-to-last argument to their last one.
_COPIERS = ("cp", "mv", "ln", "install", "rsync")
def _what_is_written(name: str, args: list[str], command: ShellCommand) -> str:
    """What a command writing ./Dockerfile puts there, in words: the file it reads, else where its text comes from."""
    files = command.reads or (args if name == "cat" else [])
    if files:
        return " ".join(files)
    if command.heredoc:
        return "a heredoc"
    return "the input piped to `tee`" if name == "tee" else f"the output of `{name}`"


def _scan_command(command: ShellCommand, number: int, facts: _ScriptFacts) -> None:
    words = without_prefix(command.words)
    if not words:
        return
    name, args = words[0], [t for t in words[1:] if not t.startswith("-")]
    # `cat X > Dockerfile`, `sed ... X >> ./Dockerfile`, `tee Dockerfile`: the same race as `cp X Dockerfile`
    written = [w for w in command.writes + (args if name == "tee" else []) if _is_root_dockerfile(w)]
    if written:
        facts.copies.append((number, _what_is_written(name, args, command)))
    if name == "trap" and len(words) > 1:
        for sub in simple_commands(" ".join(words[1:])):
            _scan_command(sub, number, facts)
    elif name in _COPIERS and len(args) >= 2:
        if _is_root_dockerfile(args[-1], args[-2]):
            facts.copies.append((number, args[-2]))
    elif name == "rm" and any(_is_root_dockerfile(a) for a in args):
        facts.removes.append(number)


def lint_deploy_scripts(source_dir: str | os.PathLike) -> list[Lint]:
    """Deploy scripts that copy a Dockerfile to the repository root around `gcloud run deploy --source`."""
    root = source_root(source_dir)
    lints: list[Lint] = []
    copying: list[_ScriptFacts] = []
    for script in _shell_scripts(root):
        rel = posix_rel(script.relative_to(root))
        facts = _scan_script(rel, read_source_text(script) or "")
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
