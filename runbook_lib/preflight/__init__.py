"""Source preflight for `gcloud run deploy --source=DIR`: pure filesystem analysis, no cloud calls.

What it answers, exactly as gcloud and Docker decide it, one module each:

* upload.py          which files gcloud uploads (its ignore rules) and which builder it picks,
* dockerfile.py      Dockerfile parsing, whether every COPY/ADD source is in the Docker build context
                     (upload filter, then `.dockerignore`), and the diff of two Dockerfiles,
* buildpacks.py      whether the Python buildpack would find an entrypoint and accept the Python version,
* deploy_scripts.py  deploy scripts that copy a Dockerfile to the repository root: the race behind the
                     2025-12-31 incident.

`preflight()` runs them all on one checkout; every public name is importable from here.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..formats import size
from .buildpacks import EntrypointCheck, buildpacks_entrypoint_check
from .deploy_scripts import NONEXISTENT_FLAG, Lint, lint_deploy_scripts
from .dockerfile import (BuildContext, CopyProblem, CopySource, DockerIgnoreRule, Instruction, copy_sources,
                         docker_build_context, dockerfile_copy_check, dockerfile_diff, dockerignore_excludes,
                         parse_dockerfile, parse_dockerignore)
from .upload import (DEFAULT_GCLOUDIGNORE, GCLOUDIGNORE, GIT_FILES, INCLUDE_DIRECTIVE, BuilderChoice, IgnoreRule,
                     IgnoreRules, SourceWalk, UploadSet, choose_builder, file_kind, gcloud_ignore_rules,
                     posix_rel, read_source_text, source_root, upload_file_set)


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
        out = [lint.message for lint in errors] + list(self.builder.warnings) + self.upload.notes
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
        head = (f"{len(self.upload.files)} files ({size(self.upload.total_bytes)}) uploaded; "
                f"builder {self.builder.builder}")
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


def preflight(source_dir: str | os.PathLike, dockerfile: str | None = None, env: dict[str, str] | None = None,
              ignore_file: str | None = None) -> Preflight:
    """Everything `gcloud run deploy --source=DIR` would do locally, checked before anything is uploaded.

    `dockerfile` is the phase's own Dockerfile (relative to DIR), checked as the explicit
    `gcloud builds submit --config` build would use it; the root Dockerfile is checked when Docker is chosen.
    """
    root = source_root(source_dir)
    if dockerfile is not None and not (root / dockerfile).is_file():
        raise ParameterError("dockerfile", dockerfile, f"give a Dockerfile path relative to {root} that exists")
    if env is not None and not isinstance(env, dict):
        raise ParameterError("env", env, "give a mapping of build environment variables such as GOOGLE_ENTRYPOINT")
    upload = upload_file_set(root, ignore_file)
    builder = choose_builder(root, ignore_file)
    checks: dict[str, list[CopyProblem]] = {}
    targets = ([builder.dockerfile] if builder.dockerfile else []) + ([dockerfile] if dockerfile else [])
    for target in dict.fromkeys(posix_rel(t) for t in targets):
        not_a_file = _dockerfile_not_a_file(root, target)
        checks[target] = [not_a_file] if not_a_file else dockerfile_copy_check(root, target, upload)
    entry = buildpacks_entrypoint_check(root, env, upload)
    return Preflight(str(root), upload, builder, checks, entry, lint_deploy_scripts(root))


def _dockerfile_not_a_file(root: Path, target: str) -> CopyProblem | None:
    """gcloud picks Docker when DIR/Dockerfile merely exists (os.path.exists), so a folder or a pipe by that name
    gets a Docker build that cannot read it; dockerfile_copy_check would instead blame a `dockerfile_path` nobody
    gave. (An explicit `dockerfile` that is not a file was refused above: that one the caller did give.)"""
    try:
        mode = os.stat(root / target).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = file_kind(mode)
    return CopyProblem(target, 0, "", target, "dockerfile-not-a-file",
                       f"{target} is a {kind}, not a file: gcloud chooses a Docker build because the path exists, "
                       f"and that build fails reading it; rename or remove the {kind}.")


__all__ = [
    "Preflight", "preflight",
    # upload.py
    "DEFAULT_GCLOUDIGNORE", "GCLOUDIGNORE", "GIT_FILES", "INCLUDE_DIRECTIVE", "BuilderChoice", "IgnoreRule",
    "IgnoreRules", "SourceWalk", "UploadSet", "choose_builder", "gcloud_ignore_rules", "read_source_text",
    "upload_file_set",
    # dockerfile.py
    "BuildContext", "CopyProblem", "CopySource", "DockerIgnoreRule", "Instruction", "copy_sources",
    "docker_build_context", "dockerfile_copy_check", "dockerfile_diff", "dockerignore_excludes", "parse_dockerfile",
    "parse_dockerignore",
    # buildpacks.py
    "EntrypointCheck", "buildpacks_entrypoint_check",
    # deploy_scripts.py
    "NONEXISTENT_FLAG", "Lint", "lint_deploy_scripts",
]
