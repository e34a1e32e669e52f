"""Google Cloud's Python buildpack, checked on the upload: would it detect the app, find an entrypoint
(GOOGLE_ENTRYPOINT, a Procfile web process, main.py or app.py) and accept the Python version?
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .upload import UploadSet, read_source_text, source_root, upload_file_set

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


PROJECT_DESCRIPTOR = "project.toml"


def project_descriptor_env(root: os.PathLike, upload: UploadSet) -> tuple[dict[str, str], list[str]]:
    """The build env vars of the uploaded project.toml (the buildpacks project descriptor Cloud Build's pack
    reads: `[[build.env]]` name/value entries, `[[io.buildpacks.build.env]]` in schema 0.2), and its problems."""
    if PROJECT_DESCRIPTOR not in upload:
        return {}, []
    try:
        data = tomllib.loads(read_source_text(os.path.join(root, PROJECT_DESCRIPTOR)) or "")
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{PROJECT_DESCRIPTOR} is not valid TOML ({exc}), so pack stops on it before any buildpack runs."]
    env: dict[str, str] = {}
    for path in (("build", "env"), ("io", "buildpacks", "build", "env")):
        entries: Any = data
        for key in path:
            entries = entries.get(key) if isinstance(entries, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                env[entry["name"]] = str(entry.get("value", ""))
    return env, []


def buildpacks_entrypoint_check(source_dir: str | os.PathLike, env: dict[str, str] | None = None,
                                upload_set: UploadSet | None = None) -> EntrypointCheck:
    """Would Google Cloud's Python buildpack detect the app, find an entrypoint, and accept the version?

    The build env vars are the uploaded project.toml's, with `env` (as `--set-build-env-vars` gives them) over
    them, as pack's own `--env` flags win over the descriptor."""
    root = source_root(source_dir)
    upload = upload_set if upload_set is not None else upload_file_set(root)
    descriptor_env, problems = project_descriptor_env(root, upload)
    env = {**descriptor_env, **(env or {})}
    top = {f for f in upload.files if "/" not in f}
    detected = bool(top & set(_PY_MARKERS)) or any(f.endswith(".py") for f in upload.files)
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
        lines = [ln.strip() for ln in (read_source_text(root / ".python-version") or "").splitlines()
                 if ln.strip() and not ln.strip().startswith("#")]
        version = lines[0] if lines else ""
        if not _PY_VERSION.match(version):
            problems.append(f".python-version says {version!r}, which is not a plain Python 3 version such as "
                            "3.11: the buildpack fails with 'invalid Python version specified'.")
    if version is None and "runtime.txt" in top:
        version = (read_source_text(root / "runtime.txt") or "").strip()
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
        where = f" ({PROJECT_DESCRIPTOR} [[build.env]])" if env["GOOGLE_ENTRYPOINT"] == descriptor_env.get(
            "GOOGLE_ENTRYPOINT") else ""
        return EntrypointCheck(True, True, f"GOOGLE_ENTRYPOINT is set{where}, so the buildpack uses it.", version,
                               problems, expected)
    if "Procfile" in top:
        text = read_source_text(root / "Procfile") or ""
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
