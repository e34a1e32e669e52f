"""GcpServices with the real run_v2 client over REST against the local fake."""
import subprocess

import pytest

from fakes.fixtures import PROJECT
from runbook_lib import target as target_mod
from runbook_lib.errors import NotFoundError

P4 = "nba-phase4-precompute-processors"
NAME = f"projects/{PROJECT}/locations/us-west2/services/{P4}"


def _load(fake, source_sha: str, public: bool = False):
    url = f"{fake.endpoint}/svc/{P4}"
    fake.run_services[NAME] = {
        "name": NAME, "uri": url, "latestReadyRevision": f"{NAME}/revisions/{P4}-00029-fdx",
        "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00029-fdx", "percent": 100}],
        "invokerIamDisabled": False,
    }
    fake.run_revisions[NAME] = [
        {"name": f"{NAME}/revisions/{P4}-00029-fdx", "labels": {"commit-sha": source_sha},
         "containers": [{"image": f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}@sha256:ab"}],
         "createTime": "2025-12-29T23:13:37Z"},
        {"name": f"{NAME}/revisions/{P4}-00028-qwe", "labels": {"commit-sha": "0000000"},
         "containers": [{"image": "old"}], "createTime": "2025-12-20T10:00:00Z"},
    ]
    members = ["serviceAccount:pubsub-push@nba-props-platform.iam.gserviceaccount.com"] + (["allUsers"] if public else [])
    fake.run_policies[NAME] = {"version": 1, "etag": "BwYx", "bindings": [{"role": "roles/run.invoker", "members": members}]}
    fake.service_health[P4] = {"status": "healthy", "service": P4}


@pytest.fixture
def repo(tmp_path):
    """A checkout where the prefix commit comes after the serving revision's commit."""
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "old")
    old = git("rev-parse", "--short=7", "HEAD")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "prefix")
    prefix = git("rev-parse", "HEAD")
    return tmp_path, old, prefix


def test_describe_reads_revision_commit_iam_and_prefix_support(fake_apis, repo, tmp_path):
    path, old_sha, prefix_sha = repo
    _load(fake_apis, old_sha)
    phases_file = tmp_path / "phases.yaml"
    from runbook_lib.phases import DEFAULT_PHASES_FILE

    phases_file.write_text(DEFAULT_PHASES_FILE.read_text().replace("5ee366a", prefix_sha[:7]))
    tg = target_mod.connect("gcp", project=PROJECT, phases_file=str(phases_file), source_dir=str(path),
                            endpoints={"run": fake_apis.endpoint})
    try:
        info = tg.services.describe("phase4")
        assert info.revision == f"{P4}-00029-fdx"
        assert info.commit_sha == old_sha
        assert info.supports_prefix is False          # the serving code predates dataset_prefix
        assert info.public is False
        assert info.invoker_members == ["serviceAccount:pubsub-push@nba-props-platform.iam.gserviceaccount.com"]
        assert [r["name"] for r in tg.services.list_revisions("phase4")] == [f"{P4}-00029-fdx", f"{P4}-00028-qwe"]
        assert tg.services.health("phase4") == {"http_status": 200, "status": "healthy", "service": P4}
    finally:
        tg.close()
    paths = fake_apis.paths("GET")
    assert f"/v2/{NAME}" in paths and f"/v2/{NAME}:getIamPolicy" in paths and f"/v2/{NAME}/revisions" in paths


def test_all_users_binding_makes_the_service_public(fake_apis):
    _load(fake_apis, "abc1234", public=True)
    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint})
    try:
        info = tg.services.describe("phase4")
        assert info.public is True and info.supports_prefix is None   # no checkout given: unknown
    finally:
        tg.close()


def test_missing_service_is_named(fake_apis):
    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint})
    try:
        with pytest.raises(NotFoundError, match=f"Cloud Run service {NAME} was not found"):
            tg.services.describe("phase4")
    finally:
        tg.close()


def test_unknown_connect_option_is_rejected():
    with pytest.raises(ValueError, match="connect option='zone' is not valid: target=gcp accepts"):
        target_mod.connect("gcp", zone="x")
