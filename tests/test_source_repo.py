"""The sandbox source repository: a real git history like the incident's, the same ids everywhere."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.local.source_repo import HISTORY, create_source_repo, open_source_repo, supports_prefix
from runbook_lib.phases import load_phases


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return create_source_repo(tmp_path_factory.mktemp("src") / "source")


def test_history_is_the_incidents(repo):
    log = _git(repo.path, "log", "--reverse", "--format=%H %s").splitlines()
    assert [line.split(" ", 1)[1] for line in log] == [message for _, message, _, _ in HISTORY]
    assert [line.split(" ", 1)[0] for line in log] == [repo.commits[r] for r in ("before_prefix", "prefix_support", "head")]
    assert "dataset_prefix" in _git(repo.path, "log", "-1", "--format=%s", repo.commits["prefix_support"])
    # only the prefix commit brings dataset_prefix into the processors
    grep_before = subprocess.run(["git", "grep", "-q", "dataset_prefix", repo.commits["before_prefix"]], cwd=repo.path)
    assert grep_before.returncode == 1  # not found
    assert "analytics_base.py" in _git(repo.path, "grep", "-l", "dataset_prefix", repo.commits["prefix_support"])


def test_commit_ids_are_the_same_in_another_home_whatever_the_users_git_setup(repo, tmp_path, monkeypatch):
    # A developer's identity, dates and umask must not leak into the ids.
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Somebody Else")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2031-01-01T00:00:00+00:00")
    home = tmp_path / "gitconfig-home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Other\n\temail = other@example.com\n[core]\n\tautocrlf = true\n")
    monkeypatch.setenv("HOME", str(home))
    old = os.umask(0o077)
    try:
        again = create_source_repo(tmp_path / "elsewhere")
    finally:
        os.umask(old)
    assert again.commits == repo.commits
    assert len(set(repo.commits.values())) == 3


def test_session_sandbox_records_the_same_ids(repo, sandbox_home):
    state = json.loads((sandbox_home / "state.json").read_text())
    assert state["source"]["commits"] == repo.commits
    assert set(state["prefix_support_commits"].values()) == {repo.commits["prefix_support"]}


def test_prefix_support_follows_ancestry(repo):
    assert supports_prefix(repo, repo.commits["head"]) is True
    assert supports_prefix(repo, repo.commits["prefix_support"]) is True
    assert supports_prefix(repo, repo.commits["before_prefix"]) is False
    assert supports_prefix(repo, "0" * 40) is False


def test_deploy_scripts_copy_the_dockerfile_to_the_root_and_remove_it(repo):
    phases = load_phases()
    for name in ("phase3", "phase4"):
        phase = phases.get(name)
        script = (repo.path / phase.deploy_script).read_text()
        cp = f"cp {phase.dockerfile} ./Dockerfile"
        deploy = 'gcloud run deploy "$SERVICE_NAME"'
        assert cp in script and deploy in script and "rm ./Dockerfile" in script
        assert script.index(cp) < script.index(deploy) < script.index("rm ./Dockerfile")
        assert "--source=." in script and '--region="$REGION"' in script and 'REGION="us-west2"' in script
        assert f'SERVICE_NAME="{phase.service}"' in script
        assert os.access(repo.path / phase.deploy_script, os.X_OK)


def test_dockerfiles_are_per_phase_and_nothing_lets_buildpacks_succeed(repo):
    root = repo.path
    for name in ("main.py", "app.py", "Procfile", "Dockerfile", ".gcloudignore", "project.toml"):
        assert not (root / name).exists(), name
    analytics = (root / "docker/analytics-processor.Dockerfile").read_text()
    precompute = (root / "docker/precompute-processor.Dockerfile").read_text()
    assert analytics != precompute
    for text, folder in ((analytics, "analytics"), (precompute, "precompute")):
        assert text.startswith("# ") and "FROM python:3.11-slim" in text
        assert "COPY requirements.txt" in text and "pip install" in text and "COPY shared/" in text
        assert f"COPY data_processors/{folder}/" in text and "CMD exec gunicorn" in text
    assert (root / "requirements.txt").is_file()
    # The default upload filter takes in .gitignore's rules: it must not hide ./Dockerfile.
    assert "Dockerfile" not in (root / ".gitignore").read_text()
    tracked = _git(root, "ls-files").split()
    assert any(p.startswith("data_processors/analytics/") for p in tracked)
    assert any(p.startswith("data_processors/precompute/") for p in tracked)


def test_existing_repo_is_reused_and_a_file_path_is_refused(repo, tmp_path):
    assert create_source_repo(repo.path).commits == repo.commits
    assert open_source_repo(repo.path).commits == repo.commits
    assert open_source_repo(tmp_path, missing_ok=True) is None
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ParameterError, match="source path"):
        create_source_repo(afile)
