"""What `gcloud run deploy --source=DIR` uploads and which builder it picks, exactly as gcloud decides.

* Upload filter: `--ignore-file`, else `.gcloudignore`, else, when `.git` or `.gitignore` exists, a
  default that ignores `.gcloudignore`, `.git`, `.gitignore` and includes `.gitignore`'s rules.
* Builder: a file named exactly `Dockerfile` at the top level on disk -> Docker, otherwise Google
  Cloud buildpacks; the ignore rules do not change the choice.

The rules' reading is gcloudignore.py's (gcloud's own matching functions); the walk of the source, source_tree.py's.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from ..formats import first_few
from .gcloudignore import (DEFAULT_GCLOUDIGNORE, GCLOUDIGNORE, GIT_FILES, INCLUDE_DIRECTIVE, IgnoreRule,  # noqa: F401
                           IgnoreRules, gcloud_ignore_rules)
from .source_tree import (LINK_DANGLING, LINK_OUTSIDE, MAX_TEXT_BYTES, MAX_WALK_BYTES, MAX_WALK_DEPTH,  # noqa: F401
                          MAX_WALK_FILES, SourceWalk, file_kind, posix_rel, read_source_text, source_root)

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
    folder_links: dict[str, str] = field(default_factory=dict)   # a folder link inside the source -> its target

    @property
    def notes(self) -> list[str]:
        """What was not looked at, in sentences (the preflight lists them with its problems)."""
        notes = []
        links = [e for e in self.skipped if e.endswith((f"({LINK_OUTSIDE})", f"({LINK_DANGLING})"))]
        special = [e for e in self.skipped if e not in links]
        if special:
            notes.append(f"{len(special)} entries are not regular files and were skipped, not read: "
                         f"{first_few(special)}; gcloud cannot upload them either.")
        if links:
            # gcloud does upload a link that leads outside, so "cannot upload" would be wrong for these.
            one = len(links) == 1
            notes.append(f"{len(links)} {'symlink points' if one else 'symlinks point'} outside the source directory "
                         f"or nowhere, so the build cannot read what {'it points' if one else 'they point'} to: "
                         f"{first_few(links)}.")
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
                     rules, frozenset(files), skipped, walk.stopped, dict(walk.folder_links))


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
