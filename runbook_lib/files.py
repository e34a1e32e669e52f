"""Files written whole or not at all: the runner, the services and the report read them at any moment."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def write_whole(path: Path, text: str, make_parents: bool = False) -> Path:
    """Write `text` to `path` whole or not at all: a full disk or a crash mid-write leaves the file as it was
    (a reader, a service process or the tool reading summary.json, never meets half of it). Written beside it,
    under a name of this process and thread, then moved into place; the partial file is removed when the write
    fails. The OSError names `path` when the OS named none."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename in (None, str(partial)):   # (a write's ENOSPC names none)
            exc.filename = str(path)
        raise
    return path
