"""The source directory as gcloud reads it: its root, paths relative to it, and a bounded walk that reads regular
files only (a named pipe would block a read forever; gcloud uploads a symlink as a link)."""
from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from ..checks import check_path
from ..errors import ParameterError
from .. import formats

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
        self.folder_links: dict[str, str] = {}   # a folder link inside the source -> its target, both relative
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
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if why:
                    dirnames.remove(name)
                    self._skip_link(rel, why, True)
                else:   # BuildKit follows it inside the context: what is copied through it is its target's
                    target = os.path.realpath(os.path.join(dirpath, name))
                    self.folder_links[rel] = posix_rel(os.path.relpath(target, self._real_root))
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
