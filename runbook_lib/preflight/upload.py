"""What `gcloud run deploy --source=DIR` uploads and which builder it picks, exactly as gcloud decides.

* Upload filter: `--ignore-file`, else `.gcloudignore`, else, when `.git` or `.gitignore` exists, a
  default that ignores `.gcloudignore`, `.git`, `.gitignore` and includes `.gitignore`'s rules.
* Builder: a file named exactly `Dockerfile` at the top level on disk -> Docker, otherwise Google
  Cloud buildpacks; the ignore rules do not change the choice.

gcloud's pattern semantics differ from git's, and this module follows gcloud's own matching function: a
pattern with a slash in the middle (`docker/x`) still matches at any depth unless it starts with `/` or uses
`**`, and a `*` that is a pattern's first part does not match below a folder (`*` then `!src/` uploads src/).
Only the top-level `.gitignore` counts; gcloud ignores nested ones.
"""
from __future__ import annotations

import fnmatch
import itertools
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import check_path
from ..errors import ConfigError, ParameterError
from .. import formats

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
# the source directory


def source_root(source_dir: str | os.PathLike) -> Path:
    """The checkout as an absolute local directory; a gs:// source or a missing folder is a ParameterError."""
    text = str(source_dir)
    if text.startswith("gs://"):
        raise ParameterError("source_dir", text, "give a local directory; a gs:// source has no local files "
                             "to check (and always builds with buildpacks)")
    root = check_path("source_dir", Path(text).expanduser(), shown=text)
    if not root.is_dir():
        raise ParameterError("source_dir", text, "give an existing local directory")
    return root.resolve()


def posix_rel(path: str | os.PathLike) -> str:
    """A path relative to the source root as gcloud and Docker compare them: `/`-separated and cleaned as
    Docker cleans a COPY source (`./src/` and `src/.` are `src`, `a/../b` is `b`); `.` is the root itself."""
    text = str(path).replace(os.sep, "/")
    if not text.strip("/"):
        return ""
    return posixpath.normpath(text).strip("/") or "."


# ----------------------------------------------------------------------------------------------
# reading the checkout safely: regular files only, a bounded walk

# A pipeline checkout is far smaller than these; `source_dir=/` is not a checkout and stops here.
MAX_WALK_FILES = 50_000
MAX_WALK_DEPTH = 32
MAX_WALK_BYTES = 2 * 1024 ** 3
MAX_TEXT_BYTES = 1_000_000       # a Dockerfile, Procfile, ignore file or script is read up to this


def file_kind(mode: int) -> str:
    """What a non-regular directory entry is, in words."""
    for test, kind in ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return kind
    return "special file"


def read_source_text(path: str | os.PathLike, limit: int = MAX_TEXT_BYTES) -> str | None:
    """The text of a regular file (its first `limit` bytes), or None for anything else: a named
    pipe would block the read forever, and a device may not be opened at all."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)   # never blocks, even if a pipe took its place
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            data = fh.read(limit)
        except OSError:   # opened but not readable (/proc, /sys, a file on a failing disk): skipped as a pipe is
            return None
    return data.decode("utf-8", errors="replace")


# gcloud uploads a symlink as a link, never what it points to, and skips a dangling one (storage_util.Snapshot,
# snapshot._MakeTarball); BuildKit resolves a link only inside the build context. So the build cannot read through a
# link leading out of the source or nowhere. Worded to follow "it is " in a sentence.
LINK_OUTSIDE = "a symlink to outside the source directory, and gcloud uploads the link, not what it points to"
LINK_DANGLING = "a dangling symlink, which gcloud skips"


class SourceWalk:
    """os.walk of a checkout with bounds: at most MAX_WALK_FILES files, MAX_WALK_BYTES of them and
    MAX_WALK_DEPTH folders deep. Yields (dirpath, rel_dir, dirnames, regular file names with their
    sizes); entries that are not regular files, and symlinks leading outside the source or nowhere, go
    to `skipped` (`links` says which of those are links, and whether to a folder); `stopped` says which
    bound was reached (the walk then ends early). A link to a file or folder inside the source stays
    what it points to: the build context holds both."""

    def __init__(self, root: Path):
        self.root = root
        self._real_root = os.path.realpath(root)
        self.files = 0
        self.bytes = 0
        self.skipped: list[str] = []          # "path (named pipe)"
        self.links: dict[str, bool] = {}      # skipped link path -> whether it is a folder link
        self.stopped: str | None = None
        self._full = False

    def _link_problem(self, path: str) -> str | None:
        """Why the upload cannot carry what the link at `path` points to; None when it points inside the source."""
        target = os.path.realpath(path)
        if not os.path.exists(target):       # a loop too: gcloud's os.path.exists is false for it as well
            return LINK_DANGLING
        if os.path.commonpath([self._real_root, target]) != self._real_root:
            return LINK_OUTSIDE
        return None

    def _skip_link(self, rel: str, why: str, is_dir: bool) -> None:
        self.skipped.append(f"{rel} ({why})")
        self.links[rel] = is_dir

    def __iter__(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = posix_rel(os.path.relpath(dirpath, self.root)) if dirpath != str(self.root) else ""
            rel_dir = "" if rel_dir == "." else rel_dir
            if rel_dir.count("/") + 1 >= MAX_WALK_DEPTH and dirnames:
                self.stopped = self.stopped or f"folders more than {MAX_WALK_DEPTH} levels deep were not read " \
                                               f"(first: {rel_dir}/{sorted(dirnames)[0]})"
                dirnames[:] = []
            # os.walk lists a folder link with the folders but never descends into it; one pointing outside must
            # not be taken for an uploaded folder.
            for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                why = self._link_problem(os.path.join(dirpath, name))
                if why:
                    dirnames.remove(name)
                    self._skip_link(f"{rel_dir}/{name}" if rel_dir else name, why, True)
            regular = []
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    mode = os.lstat(path)       # the one stat an ordinary file gets; links alone are followed
                    if stat.S_ISLNK(mode.st_mode):
                        why = self._link_problem(path)
                        if why:
                            self._skip_link(f"{rel_dir}/{name}" if rel_dir else name, why, False)
                            continue
                        mode = os.stat(path)
                except OSError:
                    continue                    # gone since its folder was listed: nothing left to upload
                if not stat.S_ISREG(mode.st_mode):
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    self.skipped.append(f"{rel} ({file_kind(mode.st_mode)})")
                    continue
                self.files += 1
                self.bytes += mode.st_size
                regular.append((name, mode.st_size))
                if self.files >= MAX_WALK_FILES or self.bytes >= MAX_WALK_BYTES:
                    self._full = True
                    self.stopped = (f"it stopped after {self.files:,} files and {formats.size(self.bytes)}, "
                                    f"far more than a service's source (is source_dir the pipeline checkout?)")
                    break
            yield dirpath, rel_dir, dirnames, regular
            if self._full:
                return


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
    skipped: list[str] = field(default_factory=list)   # "path (named pipe)", "path (<LINK_OUTSIDE>)"; never read
    incomplete: str | None = None      # why the walk stopped early (a bound reached), if it did

    @property
    def notes(self) -> list[str]:
        """What was not looked at, in sentences (the preflight lists them with its problems)."""
        notes = []
        links = [e for e in self.skipped if e.endswith((f"({LINK_OUTSIDE})", f"({LINK_DANGLING})"))]
        special = [e for e in self.skipped if e not in links]
        if special:
            notes.append(f"{len(special)} entries are not regular files and were skipped, not read: "
                         f"{_first_few(special)}; gcloud cannot upload them either.")
        if links:
            # gcloud does upload a link that leads outside, so "cannot upload" would be wrong for these.
            one = len(links) == 1
            notes.append(f"{len(links)} {'symlink points' if one else 'symlinks point'} outside the source directory "
                         f"or nowhere, so the build cannot read what {'it points' if one else 'they point'} to: "
                         f"{_first_few(links)}.")
        if self.incomplete:
            notes.append(f"The source walk is incomplete: {self.incomplete}.")
        return notes

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, os.PathLike)) and posix_rel(path) in self._file_set

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
            "skipped": self.skipped[:max_files],
            "incomplete": self.incomplete,
        }


def _first_few(entries: list[str], shown: int = 5) -> str:
    more = f" and {len(entries) - shown} more" if len(entries) > shown else ""
    return ", ".join(entries[:shown]) + more


def upload_file_set(source_dir: str | os.PathLike, ignore_file: str | None = None, top: int = 5) -> UploadSet:
    """The files `gcloud run deploy --source=DIR` would upload, with sizes and what was left out."""
    root = source_root(source_dir)
    rules = gcloud_ignore_rules(root, ignore_file)
    files: list[str] = []
    dirs: list[str] = []
    ignored: list[str] = []
    total = 0
    by_folder: dict[str, list[int]] = {}
    walk = SourceWalk(root)
    for _, rel_dir, dirnames, regular in walk:
        for name, size in regular:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rules._excludes_entry(rel, False):
                ignored.append(rel)
                continue
            files.append(rel)
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
    skipped = []
    for entry in walk.skipped:
        rel = entry.split(" (", 1)[0]
        is_dir = walk.links.get(rel)
        # An ignored link is not uploaded at all, so where it points does not matter (a `.env` linked from the home
        # folder and listed in .gitignore is no problem).
        if is_dir is not None and rules._excludes_entry(rel, is_dir):
            ignored.append(rel + "/" if is_dir else rel)
        else:
            skipped.append(entry)
    largest = sorted(({"folder": k, "bytes": v[0], "files": v[1]} for k, v in by_folder.items()),
                     key=lambda d: (-d["bytes"], d["folder"]))[:top]
    files.sort()
    return UploadSet(str(root), rules.rule_source, files, sorted(dirs), sorted(ignored), total, largest,
                     rules, frozenset(files), skipped, walk.stopped)


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
    root = source_root(source_dir)
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
    nested = sorted(posix_rel(p.relative_to(root)) for pattern in ("*/Dockerfile", "*/*/Dockerfile")
                    for p in itertools.islice(root.glob(pattern), 1000) if p.is_file())[:5]
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
