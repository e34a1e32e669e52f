"""The checks a deploy plan passes before anything runs: the Artifact Registry repository its build pushes to exists,
and the commit's tree, as `gcloud builds submit` uploads it, holds the phase's Dockerfile and the files it copies.
Each refusal is one sentence naming the parameter and the fix; what the build would trip on later is a warning."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError
from ..gitinfo import export_tree
from ..preflight import UploadSet, dockerfile_copy_check, posix_rel, upload_file_set
from ..shell_words import PrintedProject

if TYPE_CHECKING:
    from .plan import DeployPlan

# COPY/ADD sources a warning names before it says how many more
COPY_PROBLEMS_SHOWN = 3


def repository_checked(target: Any, phase: Any, repository: str, given: bool = True) -> str:
    """The build's push goes to `<region>-docker.pkg.dev/<project>/<repository>/...`: a repository that is not
    there is refused now, naming `repository`, the ones that are and the command that creates it, before a build
    runs that could only fail at its push. "" when it exists; the note to warn with when it could not be checked
    (read-only either way: Builds.check_repository)."""
    found = target.builds.check_repository(repository, phase.region)
    if found.exists is not False:
        return found.note
    there = (f"the Docker repositories in {found.location}: {', '.join(found.others)}" if found.others
             else f"there is none in {found.location}")
    whose = "" if given else " (params/phases.yaml's)"
    printed = PrintedProject.of(target)
    raise ParameterError("repository", repository, f"Artifact Registry has no repository {repository}{whose} in "
                         f"{found.location}, where the build pushes; give one that exists ({there}), or create it: "
                         f"gcloud artifacts repositories create {repository} --repository-format=docker "
                         f"--location={found.location} --project={printed.printed}{printed.aside}")


def upload_checked(plan: DeployPlan) -> list[str]:
    """The build reads the commit's tree as `gcloud builds submit` uploads it, through that tree's own ignore rules
    (the targets' submit stage it the same way): a Dockerfile the upload leaves out is refused now, before anything
    runs, naming the rule that drops it and the fix; COPY/ADD sources missing from the build context are warnings
    naming them (the build would fail at them). Nothing to check without a checkout to export the tree from."""
    if plan.config is None or not plan.source_dir:
        return []
    with tempfile.TemporaryDirectory(prefix=f"redeploy-upload-{plan.phase}-") as tree:
        export_tree(plan.source_dir, plan.commit, tree)
        dockerfile = posix_rel(plan.dockerfile)
        if not (Path(tree) / dockerfile).is_file():
            raise ParameterError("commit", plan.commit_short, f"its tree has no {dockerfile}, {plan.phase}'s "
                                 "Dockerfile in params/phases.yaml, so the build could not read it; give a commit "
                                 "that has it")
        upload = upload_file_set(tree)
        problems = dockerfile_copy_check(tree, dockerfile, upload)
    if any(p.reason == "dockerfile-not-uploaded" for p in problems):
        raise ParameterError("commit", plan.commit_short, _dockerfile_left_out(plan, dockerfile, upload))
    if not problems:
        return []
    # the sources first: a summary that cuts the clause short still names them
    more = f" and {len(problems) - COPY_PROBLEMS_SHOWN} more" if len(problems) > COPY_PROBLEMS_SHOWN else ""
    sources = ", ".join(p.source for p in problems[:COPY_PROBLEMS_SHOWN]) + more
    said = "; ".join(p.message.rstrip(".") for p in problems[:COPY_PROBLEMS_SHOWN])
    return [f"the build would fail: {dockerfile} copies {sources}, which the build context of commit "
            f"{plan.commit_short} lacks ({said}); fix its .gcloudignore or .dockerignore and give that commit"]


def _dockerfile_left_out(plan: DeployPlan, dockerfile: str, upload: UploadSet) -> str:
    """Which ignore line drops the Dockerfile, and the fix that works with gcloud's rules: a `!` line re-includes a
    file only while no rule above it left out a folder holding it (gcloud does not look inside such a folder)."""
    rule = upload.why_ignored(dockerfile)
    if rule is None:
        return (f"{dockerfile}, {plan.phase}'s Dockerfile, is not in the upload `gcloud builds submit` makes from its "
                f"tree ({upload.rule_source}), so the build could not read it; give a commit whose upload has it")
    said = (f"{dockerfile}, {plan.phase}'s Dockerfile, is left out of the upload `gcloud builds submit` makes from "
            f"its tree by line {rule.line} of {rule.source}, '{rule.text}', so the build could not read it")
    folder = _ignored_folder(upload, dockerfile)
    if folder:
        fix = (f"that line leaves out the whole folder {folder}/, so no ! line below it can bring the file back: "
               f"delete it or narrow it (for example {folder}/* followed by !{dockerfile}) in {rule.source}, commit, "
               "and give that commit")
    else:
        fix = f"delete that line or add !{dockerfile} below it in {rule.source}, commit, and give that commit"
    return f"{said}; {fix}"


def _ignored_folder(upload: UploadSet, path: str) -> str:
    """The outermost folder holding `path` that the upload leaves out ("" when the file itself is left out)."""
    parts = path.split("/")
    return next(("/".join(parts[:depth]) for depth in range(1, len(parts))
                 if upload.why_ignored("/".join(parts[:depth]), is_dir=True) is not None), "")
