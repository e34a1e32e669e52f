"""Source preflight on small source trees built in the test: upload set, builder, COPY sources, lint."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from runbook_lib.errors import ConfigError, ParameterError
from runbook_lib.formats import size
from runbook_lib.preflight import (buildpacks_entrypoint_check, choose_builder, copy_sources, dockerfile_copy_check,
                                   dockerfile_diff, dockerignore_excludes, gcloud_ignore_rules, lint_deploy_scripts,
                                   parse_dockerfile, parse_dockerignore, preflight, upload_file_set)

PHASE_DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
COPY shared/requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r requirements.txt
COPY data_processors /app/data_processors
CMD ["gunicorn", "-b", ":8080", "data_processors.service:app"]
"""


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def app_tree(root: Path, **extra: str) -> Path:
    files = {"shared/requirements.txt": "flask==3.1.0\n", "data_processors/service.py": "app = None\n",
             "data_processors/__init__.py": ""}
    files.update(extra)
    return make_tree(root, files)


# ---- builder choice -------------------------------------------------------------------------

def test_root_dockerfile_means_docker(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE)
    choice = choose_builder(tmp_path)
    assert (choice.builder, choice.dockerfile, choice.warnings) == ("dockerfile", "Dockerfile", [])
    assert "exactly Dockerfile" in choice.reason


def test_ignored_dockerfile_is_still_docker_but_missing_from_the_upload(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE, **{".gcloudignore": "# keep the upload small\nDockerfile\n"})
    choice = choose_builder(tmp_path)
    assert choice.builder == "dockerfile"
    assert len(choice.warnings) == 1
    assert "Docker chosen but Dockerfile ignored by the upload filter" in choice.warnings[0]
    assert ".gcloudignore:2" in choice.warnings[0]
    upload = upload_file_set(tmp_path)
    assert "Dockerfile" not in upload and "Dockerfile" in upload.ignored
    problems = dockerfile_copy_check(tmp_path, "Dockerfile", upload)
    assert [p.reason for p in problems] == ["dockerfile-not-uploaded"]
    assert "rule 'Dockerfile' at .gcloudignore:2" in problems[0].message
    result = preflight(tmp_path)
    assert not result.ok and any("Docker chosen but Dockerfile ignored" in p for p in result.problems)


def test_a_dockerfile_the_bounded_walk_did_not_reach_is_not_said_to_be_left_out(tmp_path, monkeypatch):
    from runbook_lib.preflight import source_tree

    dockerfile = "d0/d1/d2/d3/d4/Dockerfile"
    root = app_tree(tmp_path, **{dockerfile: PHASE_DOCKERFILE})
    monkeypatch.setattr(source_tree, "MAX_WALK_DEPTH", 4)
    [problem] = [p for p in dockerfile_copy_check(root, dockerfile) if p.reason == "dockerfile-not-uploaded"]
    # the same reason a COPY source gets: the walk stopped, no rule left it out
    assert "it is not among the files read for the upload: folders more than 4 levels deep" in problem.message
    assert "left out" not in problem.message


def test_lowercase_dockerfile_means_buildpacks(tmp_path):
    app_tree(tmp_path, dockerfile=PHASE_DOCKERFILE)
    choice = choose_builder(tmp_path)
    assert choice.builder == "buildpacks" and choice.dockerfile is None
    assert any("'dockerfile' is not 'Dockerfile'" in w for w in choice.warnings)


def test_dockerfile_in_a_subfolder_means_buildpacks(tmp_path):
    app_tree(tmp_path, **{"docker/Dockerfile": PHASE_DOCKERFILE,
                          "docker/precompute-processor.Dockerfile": PHASE_DOCKERFILE})
    choice = choose_builder(tmp_path)
    assert choice.builder == "buildpacks"
    assert any("docker/Dockerfile is in a subfolder" in w for w in choice.warnings)


def test_gs_source_is_always_buildpacks(tmp_path):
    choice = choose_builder("gs://nba-props-platform_cloudbuild/source/1767145263.tgz")
    assert choice.builder == "buildpacks" and "gs://" in choice.reason
    with pytest.raises(ParameterError, match="source_dir='gs://"):
        preflight("gs://bucket/source.tgz")


def test_bad_source_dir_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="source_dir="):
        choose_builder(tmp_path / "nope")
    with pytest.raises(ParameterError, match="dockerfile='docker/missing.Dockerfile'"):
        preflight(app_tree(tmp_path), dockerfile="docker/missing.Dockerfile")


# ---- the upload set -------------------------------------------------------------------------

def test_gitignore_only_applies_the_default_rules(tmp_path):
    app_tree(tmp_path, **{".gitignore": "__pycache__/\n*.log\n/build\n", "run.log": "x", "build/out.bin": "x",
                          "data_processors/__pycache__/service.cpython-311.pyc": "x", "nested/build/keep.txt": "k",
                          ".env": "SECRET=1"})
    upload = upload_file_set(tmp_path)
    assert upload.rule_source.startswith("gcloud's default rules") and "include .gitignore" in upload.rule_source
    assert ".gitignore" not in upload and "run.log" not in upload and "build/out.bin" not in upload
    assert "data_processors/__pycache__/service.cpython-311.pyc" not in upload
    assert "nested/build/keep.txt" in upload      # /build is anchored to the top
    assert ".env" in upload                        # nothing ignores it: worth knowing
    assert {"build/", "data_processors/__pycache__/", ".gitignore", "run.log"} <= set(upload.ignored)


def test_git_directory_alone_triggers_the_default_and_is_excluded(tmp_path):
    app_tree(tmp_path, **{".git/HEAD": "ref: refs/heads/main\n", ".git/objects/ab/cdef": "blob"})
    upload = upload_file_set(tmp_path)
    assert ".git/" in upload.ignored and not any(f.startswith(".git/") for f in upload.files)
    assert "include .gitignore" not in upload.rule_source


def test_no_git_files_uploads_everything(tmp_path):
    app_tree(tmp_path, **{"notes.log": "x"})
    upload = upload_file_set(tmp_path)
    assert upload.rule_source.startswith("none")
    assert upload.ignored == [] and "notes.log" in upload


def test_gcloudignore_wins_over_gitignore_unless_included(tmp_path):
    app_tree(tmp_path, **{".git/HEAD": "x", ".gitignore": "*.log\n", ".gcloudignore": ".git\n", "a.log": "x"})
    upload = upload_file_set(tmp_path)
    assert upload.rule_source == ".gcloudignore"
    assert "a.log" in upload and ".gitignore" in upload and ".gcloudignore" in upload
    (tmp_path / ".gcloudignore").write_text(".git\n#!include:.gitignore\n")
    assert "a.log" not in upload_file_set(tmp_path)


def test_explicit_ignore_file(tmp_path):
    app_tree(tmp_path, **{".gcloudignore": "shared/\n", "deploy.ignore": "data_processors/\n"})
    upload = upload_file_set(tmp_path, ignore_file="deploy.ignore")
    assert "explicit ignore file deploy.ignore" in upload.rule_source
    assert "shared/requirements.txt" in upload and "data_processors/service.py" not in upload
    with pytest.raises(ParameterError, match="ignore_file='missing.ignore'"):
        upload_file_set(tmp_path, ignore_file="missing.ignore")


def test_include_of_a_missing_file_fails_like_gcloud(tmp_path):
    app_tree(tmp_path, **{".gcloudignore": "#!include:.gitignore\n"})
    with pytest.raises(ConfigError, match=r"\.gcloudignore:1: #!include:\.gitignore names a file that does not exist"):
        upload_file_set(tmp_path)


@pytest.mark.parametrize("rules, path, is_dir, included", [
    ("*.pyc\n", "a/b/c.pyc", False, False),                      # unanchored glob matches at any depth
    ("/main.py\n", "main.py", False, False),                      # anchored
    ("/main.py\n", "sub/main.py", False, True),
    ("logs/\n", "logs", False, True),                             # trailing slash: directories only
    ("logs/\n", "logs/today.txt", False, False),
    ("docker/*.Dockerfile\n", "docker/a.Dockerfile", False, False),
    ("docker/*.Dockerfile\n", "x/docker/a.Dockerfile", False, False),  # gcloud: a middle slash does not anchor
    ("**/secret.json\n", "a/b/secret.json", False, False),
    ("data/**\n", "data/x/y.csv", False, False),
    ("data/**\n", "sub/data/x.csv", False, True),                 # ** anchors the pattern at the top
    ("a/**/z.txt\n", "a/z.txt", False, False),
    ("a/**/z.txt\n", "a/b/c/z.txt", False, False),
    ("*.md\n!README.md\n", "README.md", False, True),            # negation re-includes
    ("*.md\n!README.md\n", "CHANGES.md", False, False),
    ("docs/\n!docs/keep.md\n", "docs/keep.md", False, False),    # a parent that is ignored cannot be undone
    ("file\\ name \n", "file name", False, False),               # escaped space kept, trailing space dropped
    ("[abc].txt\n", "b.txt", False, False),
    ("[!abc].txt\n", "b.txt", False, True),
    # a `*` that is a pattern's first part does not match below a folder (gcloud's Glob._MatchesHelper), so an
    # allow-list uploads what it re-includes...
    ("*\n!src/\n", "src/app.py", False, True),
    ("*\n!src/\n", "src/lib/util.py", False, True),
    ("*\n!src/\n", "notes/todo.md", False, False),
    ("*/x\n", "ab/c/x", False, True),
    # ...except below a folder with a one-character name, gcloud's `len(remaining_path) > 1`
    ("*\n!a/\n", "a/x", False, False),
    ("*\n!ab/\n", "ab/x", False, True),
])
def test_gcloud_pattern_semantics(tmp_path, rules, path, is_dir, included):
    (tmp_path / ".gcloudignore").write_text(rules)
    assert gcloud_ignore_rules(tmp_path).is_included(path, is_dir) is included


def test_sizes_and_largest_folders(tmp_path):
    make_tree(tmp_path, {"big/a.bin": "x" * 5000, "big/b.bin": "x" * 3000, "small/c.txt": "x" * 10, "top.txt": "xy"})
    upload = upload_file_set(tmp_path, top=2)
    assert upload.total_bytes == 8012
    assert upload.largest_folders == [{"folder": "big", "bytes": 8000, "files": 2},
                                      {"folder": "small", "bytes": 10, "files": 1}]


# ---- Dockerfile and COPY sources ------------------------------------------------------------

def test_parse_dockerfile_lines_continuations_heredocs():
    text = ("# escape=\\\n"
            "FROM python:3.11-slim AS build\n"
            "\n"
            "# a comment\n"
            "RUN apt-get update && \\\n"
            "    # comment inside a continuation\n"
            "    apt-get install -y gcc\n"
            "COPY <<EOF /app/config.ini\n"
            "[main]\n"
            "FROM = not an instruction\n"
            "EOF\n"
            "copy --chown=app:app src/ /app/src/\n")
    ins = parse_dockerfile(text)
    assert [(i.line, i.keyword) for i in ins] == [(2, "FROM"), (5, "RUN"), (8, "COPY"), (12, "COPY")]
    assert ins[1].args == "apt-get update && apt-get install -y gcc"


def test_copy_sources_skip_stages_urls_heredocs_and_flags():
    text = ("FROM python:3.11-slim AS build\n"
            "COPY --chown=app:app --chmod=644 a.txt b.txt /dst/\n"
            "COPY --from=build /usr/lib /usr/lib\n"
            'ADD ["with space.txt", "/dst/"]\n'
            "ADD https://example.com/x.tgz /tmp/\n"
            "COPY $APP_DIR /app\n")
    assert [(c.line, c.source) for c in copy_sources(parse_dockerfile(text))] == [
        (2, "a.txt"), (2, "b.txt"), (4, "with space.txt")]


def test_missing_copy_source_is_reported_with_its_line(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE + "COPY config/settings.yaml /app/settings.yaml\n")
    problems = dockerfile_copy_check(tmp_path, "Dockerfile")
    assert [(p.line, p.source, p.reason) for p in problems] == [(7, "config/settings.yaml", "not-on-disk")]
    assert problems[0].message.startswith("Dockerfile:7 COPY config/settings.yaml")


def test_copy_sources_are_cleaned_as_docker_cleans_them(tmp_path):
    from runbook_lib.preflight import posix_rel

    assert [posix_rel(p) for p in ("src/.", "./src/", "src/lib/..", "a/../b", "/src/./app.py", "", ".", "./")] == [
        "src", "src", "src", "b", "src/app.py", "", ".", "."]
    copies = ["src/.", "./src/", "src/lib/..", "src/../requirements.txt", "src/./lib/u.py"]
    app_tree(tmp_path, **{"src/main.py": "", "src/lib/u.py": "", "requirements.txt": "",
                          "Dockerfile": "FROM python:3.11-slim\n" + "".join(f"COPY {c} /app/\n" for c in copies)})
    assert dockerfile_copy_check(tmp_path, "Dockerfile") == []


def test_a_source_no_rule_leaves_out_is_never_said_to_be_left_out_by_the_rules(tmp_path):
    root = tmp_path / "checkout"
    app_tree(root, Dockerfile="FROM python:3.11-slim\nCOPY ../outside.txt /app/\nCOPY queue /app/\n")
    (tmp_path / "outside.txt").write_text("x")
    os.mkfifo(root / "queue")
    problems = dockerfile_copy_check(root, "Dockerfile")
    assert [(p.source, p.reason) for p in problems] == [("../outside.txt", "not-uploaded"), ("queue", "not-uploaded")]
    assert problems[0].message == ("Dockerfile:2 COPY ../outside.txt: the path is outside the source directory, "
                                   "and gcloud uploads only that directory.")
    assert problems[1].message == "Dockerfile:3 COPY queue: it is not a regular file, so gcloud cannot upload it."
    assert not any("leaves it out" in p.message or "every file is uploaded" in p.message for p in problems)


def test_copy_source_left_out_by_gcloudignore(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE, **{".gcloudignore": "shared/\n"})
    problems = dockerfile_copy_check(tmp_path, "Dockerfile")
    assert [(p.line, p.reason) for p in problems] == [(3, "not-uploaded")]
    assert "rule 'shared/' at .gcloudignore:1" in problems[0].message


def test_copy_source_kept_by_an_allow_list_gcloudignore(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE,
             **{".gcloudignore": "*\n!Dockerfile\n!shared/\n!data_processors/\n", "notes/todo.md": "x"})
    upload = upload_file_set(tmp_path)
    assert upload.files == ["Dockerfile", "data_processors/__init__.py", "data_processors/service.py",
                            "shared/requirements.txt"]
    assert dockerfile_copy_check(tmp_path, "Dockerfile", upload) == []


def test_copy_source_excluded_by_dockerignore_and_exceptions(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE, **{".dockerignore": "# small context\nshared\n"})
    problems = dockerfile_copy_check(tmp_path, "Dockerfile")
    assert [(p.line, p.reason) for p in problems] == [(3, "dockerignored")]
    assert "rule 'shared' at .dockerignore:2" in problems[0].message
    (tmp_path / ".dockerignore").write_text("shared\n!shared/requirements.txt\n")
    assert dockerfile_copy_check(tmp_path, "Dockerfile") == []


def test_dockerignore_that_is_not_uploaded_does_nothing(tmp_path):
    app_tree(tmp_path, Dockerfile=PHASE_DOCKERFILE, **{".dockerignore": "shared\n", ".gcloudignore": ".dockerignore\n"})
    assert dockerfile_copy_check(tmp_path, "Dockerfile") == []


def test_phase_dockerfile_specific_dockerignore_wins(tmp_path):
    app_tree(tmp_path, **{"docker/p.Dockerfile": PHASE_DOCKERFILE, ".dockerignore": "",
                          "docker/p.Dockerfile.dockerignore": "data_processors\n"})
    problems = dockerfile_copy_check(tmp_path, "docker/p.Dockerfile")
    assert [(p.source, p.reason) for p in problems] == [("data_processors", "dockerignored")]


@pytest.mark.parametrize("rules, path, excluded", [
    ("*.md\n", "README.md", True),
    ("*.md\n", "docs/guide.md", False),            # Docker anchors at the context root
    ("**/*.md\n", "docs/guide.md", True),
    ("docs\n", "docs/a/b.txt", True),              # a matching parent excludes its contents
    ("docs\n!docs/keep.txt\n", "docs/keep.txt", False),
    ("/tests\n", "tests/test_a.py", True),
    ("data/*.csv\n", "data/sub/x.csv", False),
])
def test_dockerignore_semantics(rules, path, excluded):
    assert (dockerignore_excludes(parse_dockerignore(rules), path) is not None) is excluded


# ---- buildpacks ------------------------------------------------------------------------------

def test_no_entrypoint_predicts_the_incident_failure(tmp_path):
    app_tree(tmp_path)
    check = buildpacks_entrypoint_check(tmp_path)
    assert check.python_detected and not check.found
    assert check.expected_signatures == ["buildpacks-no-entrypoint"]
    assert any('for Python, provide a main.py or app.py file' in p for p in check.problems)


@pytest.mark.parametrize("files, env", [
    ({"Procfile": "web: gunicorn -b :$PORT data_processors.service:app\n"}, None),
    ({"main.py": "app = None\n"}, None),
    ({"app.py": "app = None\n"}, None),
    ({}, {"GOOGLE_ENTRYPOINT": "gunicorn -b :$PORT data_processors.service:app"}),
])
def test_entrypoint_found(tmp_path, files, env):
    app_tree(tmp_path, **files)
    check = buildpacks_entrypoint_check(tmp_path, env=env)
    assert check.found and check.problems == [] and check.expected_signatures == []


ENTRYPOINT = "gunicorn -b :$PORT data_processors.service:app"


@pytest.mark.parametrize("descriptor", [
    f'[[build.env]]\nname = "GOOGLE_ENTRYPOINT"\nvalue = "{ENTRYPOINT}"\n',
    f'[_]\nschema-version = "0.2"\n[[io.buildpacks.build.env]]\nname = "GOOGLE_ENTRYPOINT"\nvalue = "{ENTRYPOINT}"\n',
])
def test_entrypoint_and_build_env_from_project_toml(tmp_path, descriptor):
    app_tree(tmp_path, **{"project.toml": descriptor})
    check = buildpacks_entrypoint_check(tmp_path)
    assert check.found and check.problems == [] and check.expected_signatures == []
    assert "project.toml" in check.how
    assert preflight(tmp_path).entrypoint.found          # run_preflight's path: the checkout alone


def test_project_toml_python_version_env_and_what_overrides_it(tmp_path):
    app_tree(tmp_path, **{"project.toml": '[[build.env]]\nname = "GOOGLE_PYTHON_VERSION"\nvalue = "3.x"\n'})
    assert buildpacks_entrypoint_check(tmp_path).expected_signatures == ["buildpacks-python-version",
                                                                         "buildpacks-no-entrypoint"]
    # build env vars given to the build win over the descriptor's, as pack's --env does
    assert buildpacks_entrypoint_check(tmp_path, env={"GOOGLE_PYTHON_VERSION": "3.11"}).python_version == "3.11"
    (tmp_path / ".gcloudignore").write_text("project.toml\n")   # not uploaded: pack never sees it
    assert buildpacks_entrypoint_check(tmp_path).python_version is None
    (tmp_path / "project.toml").write_text("[[build.env]\n")
    (tmp_path / ".gcloudignore").unlink()
    assert any("project.toml is not valid TOML" in p for p in buildpacks_entrypoint_check(tmp_path).problems)


def test_procfile_without_web_and_ignored_procfile(tmp_path):
    app_tree(tmp_path, Procfile="worker: python -m data_processors.service\n")
    check = buildpacks_entrypoint_check(tmp_path)
    assert not check.found and "buildpacks-no-entrypoint" in check.expected_signatures
    (tmp_path / "Procfile").write_text("web: gunicorn x:app\n")
    (tmp_path / ".gcloudignore").write_text("Procfile\n")
    assert not buildpacks_entrypoint_check(tmp_path).found   # buildpacks only see the upload


@pytest.mark.parametrize("name, text, ok", [
    (".python-version", "3.11\n", True),
    (".python-version", "3.12.8\n", True),
    (".python-version", "python-3.11\n", False),
    (".python-version", "3.11.*\n", False),
    ("runtime.txt", "python-3.11.7\n", True),
    ("runtime.txt", "3.11\n", False),
])
def test_python_version_files(tmp_path, name, text, ok):
    app_tree(tmp_path, **{name: text, "main.py": ""})
    check = buildpacks_entrypoint_check(tmp_path)
    assert ("buildpacks-python-version" not in check.expected_signatures) is ok
    assert (check.problems == []) is ok


def test_nothing_pythonic_fails_detection(tmp_path):
    make_tree(tmp_path, {"README.md": "hello", "data/x.csv": "1"})
    check = buildpacks_entrypoint_check(tmp_path)
    assert not check.python_detected and check.expected_signatures == ["buildpacks-detect-failed"]


# ---- deploy scripts ---------------------------------------------------------------------------

PHASE3_SCRIPT = """#!/bin/bash
set -euo pipefail
cd "$(dirname "$0")/../../.."
cp docker/analytics-processor.Dockerfile ./Dockerfile
gcloud run deploy nba-phase3-analytics-processors \\
  --source=. \\
  --region=us-west2 --no-allow-unauthenticated
rm -f ./Dockerfile
"""
PHASE4_SCRIPT = """#!/bin/bash
cp docker/precompute-processor.Dockerfile Dockerfile && trap 'rm -f Dockerfile' EXIT
gcloud run deploy nba-phase4-precompute-processors --source . --region us-west2
"""


def test_two_scripts_sharing_the_root_dockerfile_race(tmp_path):
    app_tree(tmp_path, **{"bin/analytics/deploy/deploy_analytics_processors.sh": PHASE3_SCRIPT,
                          "bin/precompute/deploy/deploy_precompute_processors.sh": PHASE4_SCRIPT})
    lints = lint_deploy_scripts(tmp_path)
    kinds = sorted(lint.kind for lint in lints)
    assert kinds == ["root-dockerfile-copy", "root-dockerfile-copy", "root-dockerfile-race"]
    race = next(lint for lint in lints if lint.kind == "root-dockerfile-race")
    assert race.severity == "error"
    assert race.related == ["bin/analytics/deploy/deploy_analytics_processors.sh",
                            "bin/precompute/deploy/deploy_precompute_processors.sh"]
    assert "buildpacks" in race.message and "other's Dockerfile" in race.message
    copy3 = next(lint for lint in lints if lint.path and "analytics" in lint.path)
    assert copy3.line == 4 and "(line 5)" in copy3.message and "deletes it (line 8)" in copy3.message
    copy4 = next(lint for lint in lints if lint.path and "precompute" in lint.path)
    assert "deletes it (line 2)" in copy4.message      # the trap counts as the delete
    result = preflight(tmp_path)
    assert result.problems[0] == race.message


@pytest.mark.parametrize("write3, write4, source4", [
    ("cat docker/analytics-processor.Dockerfile > Dockerfile", "cat docker/precompute-processor.Dockerfile >./Dockerfile",
     "docker/precompute-processor.Dockerfile"),
    ("envsubst < docker/analytics-processor.Dockerfile >> Dockerfile",
     "cat docker/precompute-processor.Dockerfile | tee ./Dockerfile > /dev/null", "the input piped to `tee`"),
    ("install -m 644 docker/analytics-processor.Dockerfile ./Dockerfile", "cat <<'EOF' > Dockerfile",
     "a heredoc"),
    # a copy whose output is logged (2>&1 ends no command), a root named by an unquoted substitution
    ("cp docker/analytics-processor.Dockerfile ./Dockerfile 2>&1 | tee -a deploy.log",
     "cp docker/precompute-processor.Dockerfile $(git rev-parse --show-toplevel)/Dockerfile",
     "docker/precompute-processor.Dockerfile"),
])
def test_writing_the_root_dockerfile_any_way_is_the_same_race(tmp_path, write3, write4, source4):
    deploy = "gcloud run deploy {} --source=. --region=us-west2\nrm -f Dockerfile\n"
    app_tree(tmp_path, **{
        "bin/a.sh": f"#!/bin/bash\nset -e\n{write3}\n" + deploy.format("nba-phase3-analytics-processors"),
        "bin/b.sh": f"#!/bin/bash\nset -e\n{write4}\n" + deploy.format("nba-phase4-precompute-processors")})
    lints = lint_deploy_scripts(tmp_path)
    assert sorted((lint.kind, lint.path) for lint in lints) == [
        ("root-dockerfile-copy", "bin/a.sh"), ("root-dockerfile-copy", "bin/b.sh"), ("root-dockerfile-race", None)]
    copy4 = next(lint for lint in lints if lint.path == "bin/b.sh")
    assert copy4.message.startswith(f"bin/b.sh copies {source4} to ./Dockerfile (line 3)")
    # writing another file, or errors to ./Dockerfile's neighbour, is no copy
    (tmp_path / "bin/a.sh").write_text("#!/bin/bash\ncat x > docker/Dockerfile 2> Dockerfile.log\n"
                                       + deploy.format("svc"))
    assert not any(lint.path == "bin/a.sh" for lint in lint_deploy_scripts(tmp_path))


def test_one_script_is_a_warning_not_a_race(tmp_path):
    app_tree(tmp_path, **{"deploy.sh": PHASE3_SCRIPT,
                          "other.sh": "#!/bin/sh\ncp docker/a.Dockerfile docker/Dockerfile\n"
                                      "gcloud run deploy x --source=docker\n",
                          "notes/run": "#!/usr/bin/env bash\n# cp x.Dockerfile ./Dockerfile\necho hi\n"})
    lints = lint_deploy_scripts(tmp_path)
    assert [(lint.kind, lint.path) for lint in lints] == [("root-dockerfile-copy", "deploy.sh")]


def test_nonexistent_flag_is_flagged(tmp_path):
    app_tree(tmp_path, **{"bin/deploy.sh": "#!/bin/bash\ngcloud run deploy svc --source=. \\\n"
                                           "  --no-use-google-dev-pack --region=us-west2\n"})
    lints = lint_deploy_scripts(tmp_path)
    assert [(lint.kind, lint.line, lint.severity) for lint in lints] == [("nonexistent-flag", 2, "error")]
    assert "no such flag" in lints[0].message and "gcloud builds submit --config" in lints[0].message


# ---- Dockerfile diff and the bundle -----------------------------------------------------------

def test_dockerfile_diff_is_instruction_level(tmp_path):
    a = tmp_path / "a.Dockerfile"
    b = tmp_path / "b.Dockerfile"
    a.write_text(PHASE_DOCKERFILE)
    b.write_text(PHASE_DOCKERFILE.replace("WORKDIR /app\n", "WORKDIR   /app\nENV PYTHONUNBUFFERED=1\n")
                 .replace("data_processors.service:app", "data_processors.other:app"))
    diff = dockerfile_diff(a, b)
    assert list(diff["op"]) == ["equal", "equal", "insert", "equal", "equal", "equal", "replace"]
    inserted = diff[diff["op"] == "insert"].iloc[0]
    assert inserted["b_instruction"] == "ENV PYTHONUNBUFFERED=1" and inserted["b_line"] == 3
    assert len(dockerfile_diff(a, b, changed_only=True)) == 2
    with pytest.raises(ParameterError, match="b_path="):
        dockerfile_diff(a, tmp_path / "missing")


def test_preflight_bundle_to_dict_and_summary(tmp_path):
    app_tree(tmp_path, **{".gitignore": "*.log\n", "docker/precompute-processor.Dockerfile": PHASE_DOCKERFILE,
                          "Procfile": "web: gunicorn -b :$PORT data_processors.service:app\n"})
    result = preflight(tmp_path, dockerfile="docker/precompute-processor.Dockerfile")
    assert result.ok, result.problems
    assert result.builder.builder == "buildpacks"
    assert list(result.copy_problems) == ["docker/precompute-processor.Dockerfile"]
    summary = result.summary()
    assert "\n" not in summary and "builder buildpacks" in summary and "no problems" in summary
    assert f"{len(result.upload.files)} files ({size(result.upload.total_bytes)}) uploaded" in summary
    data = json.loads(json.dumps(result.to_dict()))
    assert data["upload"]["file_count"] == len(result.upload.files)
    assert data["entrypoint"]["found"] is True


# ---------------------------------------------------------------------------------------------
# Hostile checkouts: a named pipe, a socket, a tree too big or too deep to be a service's source

def _preflight_in_thread(root: Path, timeout: float = 60):
    """preflight(root) in a thread, so a read that blocks fails the test instead of hanging it."""
    import threading

    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(result=preflight(root, dockerfile="Dockerfile")), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "preflight blocked (it opened a named pipe?)"
    return done["result"]


def test_named_pipes_and_sockets_are_skipped_and_said_never_opened(tmp_path):
    import os
    import socket

    root = app_tree(tmp_path / "src", Dockerfile=PHASE_DOCKERFILE)
    # Pipes where the preflight reads: a deploy script, the Procfile, the ignore files, a nested file.
    for name in ("deploy.sh", "Procfile", ".dockerignore", "data_processors/queue", "bin/run"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / name)
    (root / ".gcloudignore").symlink_to(root / "Procfile")   # a link to a pipe is no better
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "agent.sock"))
    try:
        result = _preflight_in_thread(root)
    finally:
        sock.close()
    skipped = result.upload.skipped
    assert "deploy.sh (named pipe)" in skipped and "agent.sock (socket)" in skipped
    assert "data_processors/queue (named pipe)" in skipped and ".gcloudignore (named pipe)" in skipped
    assert not any(s.split(" (")[0] in result.upload for s in skipped)
    note = next(p for p in result.problems if "not regular files" in p)
    assert note.startswith("7 entries are not regular files and were skipped, not read: ")
    assert result.to_dict()["upload"]["skipped"] == skipped


def test_the_walk_is_bounded_and_says_where_it_stopped(tmp_path, monkeypatch):
    from runbook_lib.preflight import source_tree

    root = app_tree(tmp_path / "src")
    make_tree(root, {f"many/f{i:03d}.txt": "x" for i in range(40)})
    monkeypatch.setattr(source_tree, "MAX_WALK_FILES", 10)
    files = upload_file_set(root)
    assert len(files.files) == 10 and re.search(r"it stopped after 10 files and \d+ B, far more", files.incomplete)
    assert any("The source walk is incomplete" in n for n in files.notes)
    monkeypatch.setattr(source_tree, "MAX_WALK_FILES", 50_000)
    make_tree(root, {"/".join(f"d{i}" for i in range(8)) + "/deep.py": "x = 1\n"})
    monkeypatch.setattr(source_tree, "MAX_WALK_DEPTH", 4)
    files = upload_file_set(root)
    assert "folders more than 4 levels deep were not read (first: d0/d1/d2/d3/d4)" in files.incomplete
    assert not any(f.endswith("deep.py") for f in files.files)


def test_a_source_dir_path_too_long_for_the_filesystem_is_one_sentence():
    with pytest.raises(ParameterError) as caught:
        preflight("/tmp/" + "x" * 5000)
    assert caught.value.parameter == "source_dir" and "the filesystem accepts (file name too long)" in str(caught.value)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux's /proc/self/mem, a file open() allows "
                                                                 "and read() refuses")
def test_a_file_that_opens_but_cannot_be_read_is_passed_over(tmp_path):
    """(/proc, /sys or a failing disk in a checkout): the preflight goes on, as for a pipe or a device."""
    from runbook_lib.preflight.upload import read_source_text

    os.symlink("/proc/self/mem", tmp_path / "deploy.sh")
    assert read_source_text(tmp_path / "deploy.sh") is None
    preflight(str(tmp_path))
