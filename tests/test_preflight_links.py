"""Symlinks in a source directory, and a Dockerfile that is not a file, as gcloud uploads them and Docker builds them.

gcloud uploads a symlink as a link, never what it points to, and skips a dangling one; BuildKit resolves a link only
inside the build context. So a link leading out of the source, or nowhere, is missing from the build, while a link
to something inside the source works.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.preflight import dockerfile_copy_check, preflight, upload_file_set
from runbook_lib.preflight.upload import LINK_DANGLING, LINK_OUTSIDE


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def monorepo_service(tmp_path: Path) -> Path:
    """svc/ is the source directory; shared/ sits beside it, outside what gcloud uploads."""
    make_tree(tmp_path, {"shared/lib/util.py": "X = 1\n", "shared/settings.py": "S = 1\n",
                         "svc/main.py": "print('hi')\n", "svc/pkg/helpers.py": "H = 1\n"})
    return tmp_path / "svc"


def write_dockerfile(root: Path, *sources: str) -> None:
    """One COPY per source, the first on line 3."""
    (root / "Dockerfile").write_text("FROM python:3.11-slim\nWORKDIR /app\n"
                                     + "".join(f"COPY {src} ./\n" for src in sources))


def flagged(root: Path) -> dict[str, tuple[str, int]]:
    return {p.source: (p.reason, p.line) for p in dockerfile_copy_check(root, "Dockerfile")}


# ---- links leading out of the source, or nowhere ----------------------------------------------

def test_a_copied_file_symlink_to_outside_the_source_is_not_uploaded(tmp_path):
    """The monorepo case: svc/settings.py -> ../shared/settings.py is uploaded as a link to a file the upload lacks,
    and so is a link to such a link."""
    svc = monorepo_service(tmp_path)
    os.symlink("../shared/settings.py", svc / "settings.py")
    os.symlink("settings.py", svc / "config.py")
    write_dockerfile(svc, "main.py", "settings.py", "config.py")
    upload = upload_file_set(svc)
    assert "settings.py" not in upload and "config.py" not in upload and "main.py" in upload
    assert f"settings.py ({LINK_OUTSIDE})" in upload.skipped and f"config.py ({LINK_OUTSIDE})" in upload.skipped
    problems = dockerfile_copy_check(svc, "Dockerfile", upload)
    assert {p.source: (p.reason, p.line) for p in problems} == {"settings.py": ("not-uploaded", 4),
                                                                "config.py": ("not-uploaded", 5)}
    # on disk, and no rule leaves it out: the sentence must not blame a rule or a missing path
    assert problems[0].message.startswith("Dockerfile:4 COPY settings.py: ")
    assert not any("left out" in p.message or "does not exist" in p.message for p in problems)


def test_a_copied_folder_symlink_to_outside_the_source_is_not_uploaded(tmp_path):
    """os.walk lists a folder link with the folders; one leading out, relative or absolute, must not be taken for an
    uploaded folder."""
    svc = monorepo_service(tmp_path)
    os.symlink("../shared/lib", svc / "lib")
    os.symlink(tmp_path / "shared" / "lib", svc / "vendor")
    write_dockerfile(svc, "lib/", "vendor")
    upload = upload_file_set(svc)
    assert "lib" not in upload.dirs and "vendor" not in upload.dirs
    assert f"lib ({LINK_OUTSIDE})" in upload.skipped and f"vendor ({LINK_OUTSIDE})" in upload.skipped
    assert flagged(svc) == {"lib/": ("not-uploaded", 3), "vendor": ("not-uploaded", 4)}


def test_a_copied_dangling_symlink_is_flagged_and_never_counted_as_uploaded(tmp_path):
    """gcloud skips a dangling link (a loop dangles too: os.path.exists is false for it), so the COPY finds
    nothing; the walk used to list it as an empty file."""
    svc = monorepo_service(tmp_path)
    os.symlink("/nonexistent/secrets.py", svc / "secrets.py")
    os.symlink("loop", svc / "loop")
    write_dockerfile(svc, "main.py", "secrets.py", "loop")
    upload = upload_file_set(svc)
    assert "secrets.py" not in upload and "loop" not in upload
    assert f"secrets.py ({LINK_DANGLING})" in upload.skipped and f"loop ({LINK_DANGLING})" in upload.skipped
    assert set(flagged(svc)) == {"secrets.py", "loop"}


def test_the_sentence_for_a_copied_link_says_what_gcloud_does_with_it(tmp_path):
    """gcloud does upload a link leading out, so "cannot upload it" is wrong; the skipped entry's reason reads right
    after "it is"."""
    svc = monorepo_service(tmp_path)
    os.symlink("../shared/settings.py", svc / "settings.py")
    os.symlink("/nonexistent/secrets.py", svc / "secrets.py")
    write_dockerfile(svc, "settings.py", "secrets.py")
    messages = [p.message for p in dockerfile_copy_check(svc, "Dockerfile")]
    assert messages == [f"Dockerfile:3 COPY settings.py: it is {LINK_OUTSIDE}.",
                        f"Dockerfile:4 COPY secrets.py: it is {LINK_DANGLING}."]


def test_links_out_or_nowhere_are_one_note_that_does_not_say_gcloud_cannot_upload_them(tmp_path):
    """The preflight lists them with its problems even when no COPY names them: a buildpacks build or the app
    reading them fails the same way. A named pipe keeps its own note."""
    svc = monorepo_service(tmp_path)
    os.symlink("../shared/lib", svc / "lib")
    os.symlink("/nonexistent/secrets.py", svc / "secrets.py")
    os.mkfifo(svc / "queue")
    write_dockerfile(svc, "main.py")
    result = preflight(svc)
    [links] = [p for p in result.problems if "symlink" in p]
    assert links == (f"2 symlinks point outside the source directory or nowhere, so the build cannot read what they "
                     f"point to: lib ({LINK_OUTSIDE}), secrets.py ({LINK_DANGLING}).")
    assert "cannot upload" not in links
    assert "1 entries are not regular files and were skipped, not read: queue (named pipe); gcloud cannot upload " \
           "them either." in result.problems


def test_an_ignored_symlink_to_outside_is_left_out_by_its_rule_and_is_no_problem(tmp_path):
    """A `.env` linked from elsewhere and listed in the ignore file is never uploaded, so where it points does not
    matter."""
    svc = monorepo_service(tmp_path)
    os.symlink("../shared/settings.py", svc / ".env")
    os.symlink("../shared/lib", svc / "cache")
    os.symlink("/nonexistent/x", svc / "stale.lock")
    make_tree(svc, {".gcloudignore": ".env\ncache/\n*.lock\n"})
    write_dockerfile(svc, "main.py")
    result = preflight(svc)
    assert result.ok, result.problems
    assert {".env", "cache/", "stale.lock"} <= set(result.upload.ignored) and result.upload.skipped == []


# ---- links inside the source ------------------------------------------------------------------

def test_symlinks_pointing_inside_the_source_still_count_as_uploaded(tmp_path):
    """BuildKit resolves a link within the build context, and the target is uploaded, so these COPY lines work:
    a file link, a link to a link, an absolute one, and a folder link (os.walk does not descend into it, so it
    counts as the folder it is)."""
    svc = monorepo_service(tmp_path)
    os.symlink("main.py", svc / "app.py")
    os.symlink("app.py", svc / "entry.py")
    os.symlink(svc / "pkg" / "helpers.py", svc / "helpers.py")
    os.symlink("pkg", svc / "pkglink")
    write_dockerfile(svc, "app.py", "entry.py", "helpers.py", "pkglink/")
    upload = upload_file_set(svc)
    assert {"app.py", "entry.py", "helpers.py"} <= set(upload.files) and "pkglink" in upload.dirs
    assert upload.skipped == []
    assert flagged(svc) == {}
    assert preflight(svc).ok


# ---- a Dockerfile that is not a file ----------------------------------------------------------

def test_a_folder_named_dockerfile_is_a_problem_not_an_exception(tmp_path):
    """gcloud picks Docker because DIR/Dockerfile exists (os.path.exists), and that build cannot read a folder; the
    preflight used to raise about a `dockerfile_path` nobody gave."""
    make_tree(tmp_path, {"main.py": "", "requirements.txt": "flask\n", "Dockerfile/README.md": "notes\n"})
    result = preflight(tmp_path)
    assert result.builder.builder == "dockerfile"
    [problem] = result.copy_problems["Dockerfile"]
    assert (problem.reason, problem.line, problem.instruction, problem.source) == \
           ("dockerfile-not-a-file", 0, "", "Dockerfile")
    assert problem.message == ("Dockerfile is a folder, not a file: gcloud chooses a Docker build because the path "
                               "exists, and that build fails reading it; rename or remove the folder.")
    assert not result.ok and result.problems == [problem.message]
    assert result.summary().endswith(f"1 problem(s), first: {problem.message}")


def test_a_named_pipe_named_dockerfile_is_a_problem_and_never_opened(tmp_path):
    """Opening a pipe would block the preflight forever, so it runs in a thread that fails the test instead."""
    make_tree(tmp_path, {"main.py": ""})
    os.mkfifo(tmp_path / "Dockerfile")
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(result=preflight(tmp_path)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "preflight blocked (it opened the pipe?)"
    [problem] = done["result"].copy_problems["Dockerfile"]
    assert problem.reason == "dockerfile-not-a-file"
    assert problem.message.startswith("Dockerfile is a named pipe, not a file: ")
    assert problem.message.endswith("; rename or remove the named pipe.")


def test_an_explicit_dockerfile_that_is_a_folder_is_still_a_parameter_error(tmp_path):
    """That path the caller did give, so naming the parameter is right."""
    make_tree(tmp_path, {"main.py": "", "docker/phase.Dockerfile/README.md": "notes\n"})
    with pytest.raises(ParameterError) as caught:
        preflight(tmp_path, dockerfile="docker/phase.Dockerfile")
    assert caught.value.parameter == "dockerfile"


def test_a_file_copied_through_a_folder_link_inside_the_source_is_its_targets(tmp_path):
    """BuildKit follows a folder link inside the context, so `COPY pkglink/helpers.py` copies pkg/helpers.py (a link
    to that link too); what the target lacks, or .dockerignore leaves out of it, is still a problem."""
    svc = monorepo_service(tmp_path)
    os.symlink("pkg", svc / "pkglink")
    os.symlink("pkglink", svc / "chain")
    write_dockerfile(svc, "pkglink/helpers.py", "chain/helpers.py", "pkglink/missing.py")
    assert upload_file_set(svc).folder_links == {"pkglink": "pkg", "chain": "pkg"}
    assert flagged(svc) == {"pkglink/missing.py": ("not-on-disk", 5)}
    (svc / ".dockerignore").write_text("pkg/helpers.py\n")
    assert set(flagged(svc)) == {"pkglink/helpers.py", "chain/helpers.py", "pkglink/missing.py"}
