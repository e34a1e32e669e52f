"""gcloud's ignore rules (.gcloudignore, `--ignore-file`, or the default it makes beside `.git`/`.gitignore`), copied
from gcloud's own matching functions: a pattern with a slash in the middle (`docker/x`) still matches at any depth
unless it starts with `/` or uses `**`, and a `*` that is a pattern's first part does not match below a folder (`*`
then `!src/` uploads src/). Only the top-level `.gitignore` counts; gcloud ignores nested ones."""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ParameterError
from .source_tree import posix_rel, read_source_text, source_root

GCLOUDIGNORE = ".gcloudignore"
GIT_FILES = (".git", ".gitignore")
DEFAULT_GCLOUDIGNORE = """\
# gcloud's default ignore rules (used when there is no .gcloudignore but .git or .gitignore exists)
.gcloudignore
.git
.gitignore
"""
INCLUDE_DIRECTIVE = "!include:"

# ----------------------------------------------------------------------------------------------
# gcloud ignore rules


# The rules below copy gcloud's own (googlecloudsdk/command_lib/util/glob.py and gcloudignore.py, gcloud 528)
# function for function, rather than translating patterns to regexes: gcloud's matching differs from git's in
# ways a regex hides (see _glob_matches).

def _handle_spaces(line: str) -> str:
    """glob._HandleSpaces: strip unescaped trailing spaces (a backslash and the next character are one token),
    then unescape `\\ `."""
    tokens, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            tokens.append(line[i:i + 2])
            i += 2
        else:
            tokens.append(line[i])
            i += 1
    while tokens and tokens[-1] == " ":
        tokens.pop()
    return "".join(tokens).replace("\\ ", " ")


_ENDS_IN_ODD_BACKSLASHES = re.compile(r"(?<!\\)\\(\\\\)*$")   # glob._ENDS_IN_ODD_NUMBER_SLASHES_RE


def _unescape(line: str) -> str:
    """glob._Unescape: an escaped backslash is one backslash, any other escaped character is itself (so `\\*`
    is a `*` that fnmatch still reads as a wildcard, as in gcloud)."""
    return re.sub(r"\\([^\\])", r"\1", line).replace("\\\\", "\\")


def _path_prefixes(path: str) -> list[str]:
    """glob.GetPathPrefixes: 'a/b/c' -> ['', 'a', 'a/b', 'a/b/c']."""
    prefixes, reminder = [path], True
    while path and reminder:
        path, reminder = posixpath.split(path)
        prefixes.insert(0, path)
    return prefixes


def _glob_matches(pattern_parts: list[str], path: str | None) -> bool:
    """glob.Glob._MatchesHelper, right to left: the last pattern part must match the last path part, and the rest
    the rest. So a pattern without `/` in front or `**` matches at any depth, even one with a slash in the
    middle (`docker/x` matches `lib/docker/x`); `**` anchors at the top. A `*` that is the first part of a
    pattern (the bare pattern `*` too) does not match below a folder, so `*` then `!src/` uploads src/;
    gcloud's own test is `len(remaining_path) > 1`, so below a folder with a one-character name it does match
    (`*` matches `a/x`), and this copies that too."""
    if not pattern_parts:
        return True
    if path is None:                 # `*` matches the root '' but `/*` does not
        return False
    part, remaining_pattern = pattern_parts[-1], pattern_parts[:-1]
    if path:
        path = posixpath.normpath(path)
    remaining_path: str | None
    remaining_path, path_part = posixpath.split(path)
    if not path_part:
        remaining_path = None
    if part == "**":
        if not (remaining_pattern and remaining_pattern[0] == ""):
            remaining_pattern.insert(0, "")
        return any(_glob_matches(remaining_pattern, prefix) for prefix in _path_prefixes(path))
    if part == "*" and not remaining_pattern and remaining_path and len(remaining_path) > 1:
        return False
    if not fnmatch.fnmatch(path_part, part):
        return False
    return _glob_matches(remaining_pattern, remaining_path)


@dataclass(frozen=True)
class IgnoreRule:
    """One line of a .gcloudignore-style file, with where it came from."""

    text: str
    negated: bool
    dir_only: bool
    source: str
    line: int
    parts: tuple[str, ...] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, raw: str, source: str, line: int) -> "IgnoreRule | None":
        """gcloudignore.Pattern.FromString and glob.Glob.FromString; None for the lines gcloud skips."""
        text = raw.rstrip("\r")
        if text.startswith("#"):
            return None
        negated = text.startswith("!")
        body = text[1:] if negated else text
        dir_only = body.endswith("/")
        body = body[:-1] if dir_only else body
        body = _handle_spaces(body)
        if _ENDS_IN_ODD_BACKSLASHES.search(body):
            return None
        body = _unescape(body)
        if not body:
            return None
        return cls(text, negated, dir_only, source, line, tuple(body.split("/")))

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return _glob_matches(list(self.parts), path)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class IgnoreRules:
    """An ordered rule list plus a description of where gcloud got it."""

    rules: list[IgnoreRule]
    rule_source: str
    files_read: list[str] = field(default_factory=list)

    def deciding_rule(self, path: str, is_dir: bool = False) -> IgnoreRule | None:
        """The rule that excludes `path` (itself or a parent directory), or None when it is uploaded."""
        parts = posix_rel(path).split("/")
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
                    rules.extend(_parse_ignore_text(read_source_text(target) or "", name, directory,
                                                    False, files_read))
            continue
        rule = IgnoreRule.parse(line, source, number)
        if rule is not None:
            rules.append(rule)
    return rules


def gcloud_ignore_rules(source_dir: str | os.PathLike, ignore_file: str | None = None) -> IgnoreRules:
    """The rules `gcloud run deploy --source=DIR [--ignore-file=F]` applies, and where they came from."""
    root = source_root(source_dir)
    files_read: list[str] = []
    if ignore_file:
        path = root / ignore_file
        if not path.is_file():
            raise ParameterError("ignore_file", ignore_file,
                                 f"give a file that exists relative to the source directory {root}")
        rules = _parse_ignore_text(read_source_text(path) or "", ignore_file, root, True, files_read)
        return IgnoreRules(rules, f"explicit ignore file {ignore_file} (--ignore-file)", [ignore_file] + files_read)
    path = root / GCLOUDIGNORE
    if path.is_file():
        rules = _parse_ignore_text(read_source_text(path) or "", GCLOUDIGNORE, root, True, files_read)
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
