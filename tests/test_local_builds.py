"""The sandbox builder decides and fails exactly as gcloud and Cloud Build would."""
import pytest

from buildlog_helpers import fetch_build_log_by_id
from runbook_lib.buildlogs import fetch_build_log
from runbook_lib.diagnose import classify_log
from runbook_lib.errors import NotFoundError, ParameterError
from runbook_lib.local.builds import LocalBuilds
from runbook_lib.local.incident_night import INCIDENT_BUILD_ID, seed_incident_builds
from runbook_lib.local.home import sandbox_home
from runbook_lib.local.source_repo import create_source_repo
from runbook_lib.phases import load_phases

DOCKERFILE = """FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY shared/ ./shared/
COPY data_processors/ ./data_processors/
CMD exec gunicorn data_processors.precompute.main:app
"""


@pytest.fixture
def builds(tmp_path):
    return LocalBuilds(sandbox_home(tmp_path / "home").ensure(), load_phases())


@pytest.fixture
def src(tmp_path):
    root = tmp_path / "src"
    (root / "shared").mkdir(parents=True)
    (root / "data_processors" / "precompute").mkdir(parents=True)
    (root / "docker").mkdir()
    (root / "requirements.txt").write_text("flask\n")
    (root / "shared" / "util.py").write_text("X = 1\n")
    (root / "data_processors" / "precompute" / "main.py").write_text("app = None\n")
    (root / "docker" / "precompute-processor.Dockerfile").write_text(DOCKERFILE)
    (root / ".gitignore").write_text("*.pyc\n")
    return root


def _log(builds, build):
    return builds.bucket_path(build["id"]).read_text()


def _top(builds, build):
    return classify_log(_log(builds, build))[0].signature


def test_root_dockerfile_means_docker_build_and_push(builds, src):
    (src / "Dockerfile").write_text(DOCKERFILE)
    out = builds.source_deploy("phase4", src)
    b = out.build
    assert b["status"] == "SUCCESS" and out.extra["builder"] == "dockerfile"
    assert [s["name"] for s in b["steps"]] == ["gcr.io/cloud-builders/docker"] * 2
    assert b["steps"][0]["args"][0] == "build" and b["steps"][1]["args"][0] == "push"
    assert b["tags"] == ["service_nba-phase4-precompute-processors"]
    assert b["name"] == f"projects/756957797294/locations/us-west2/builds/{b['id']}"
    assert b["results"]["images"][0]["digest"].startswith("sha256:")
    assert out.code_phase == "phase4"       # same content as the phase's own Dockerfile
    assert "Successfully tagged" in _log(builds, b)


def test_no_root_dockerfile_falls_back_to_buildpacks_which_need_an_entrypoint(builds, src):
    b = builds.source_deploy("phase4", src).build
    assert b["status"] == "FAILURE" and b["failureInfo"]["type"] == "USER_BUILD_STEP"
    assert b["steps"][1]["name"] == "gcr.io/k8s-skaffold/pack" and b["steps"][1]["exitCode"] == 1
    assert "gcp-runtimes-builder-python-google-22-full" in b["tags"]
    assert _top(builds, b) == "buildpacks-no-entrypoint"


def test_lowercase_dockerfile_is_not_a_dockerfile(builds, src):
    (src / "dockerfile").write_text(DOCKERFILE)
    out = builds.source_deploy("phase4", src)
    assert out.extra["builder"] == "buildpacks" and out.build["status"] == "FAILURE"


def test_procfile_lets_buildpacks_succeed(builds, src):
    (src / "Procfile").write_text("web: gunicorn data_processors.precompute.main:app\n")
    b = builds.source_deploy("phase4", src).build
    assert b["status"] == "SUCCESS" and b["steps"][1]["status"] == "SUCCESS"


def test_bad_python_version_is_the_version_signature(builds, src):
    (src / "main.py").write_text("app = None\n")
    (src / ".python-version").write_text("python3.11\n")
    b = builds.source_deploy("phase4", src).build
    assert b["status"] == "FAILURE" and _top(builds, b) == "buildpacks-python-version"


def test_ignored_root_dockerfile_is_chosen_but_missing_from_the_upload(builds, src):
    (src / "Dockerfile").write_text(DOCKERFILE)
    (src / ".gcloudignore").write_text("Dockerfile\n")
    out = builds.source_deploy("phase4", src)
    assert out.extra["builder"] == "dockerfile" and out.build["status"] == "FAILURE"
    assert _top(builds, out.build) == "dockerfile-not-in-upload"


def test_missing_copy_source_fails_at_that_instruction(builds, src):
    (src / "Dockerfile").write_text(DOCKERFILE.replace("COPY shared/", "COPY common/"))
    b = builds.source_deploy("phase4", src).build
    assert b["status"] == "FAILURE"
    findings = classify_log(_log(builds, b))
    assert findings[0].signature == "docker-copy-source-missing"
    assert "common" in findings[0].evidence[0]


def test_config_build_with_explicit_dockerfile(builds, src):
    config = {"steps": [
        {"name": "gcr.io/cloud-builders/docker",
         "args": ["build", "-t", "gcr.io/$PROJECT_ID/p4:$BUILD_ID", "-f", "docker/precompute-processor.Dockerfile", "."]},
        {"name": "gcr.io/cloud-builders/docker", "args": ["push", "gcr.io/$PROJECT_ID/p4:$BUILD_ID"]}],
        "images": ["gcr.io/$PROJECT_ID/p4:$BUILD_ID"]}
    out = builds.submit_config(config, src, tags=["service_nba-phase4-precompute-processors"])
    b = out.build
    assert b["status"] == "SUCCESS" and out.code_phase == "phase4"
    assert b["images"] == [f"gcr.io/nba-props-platform/p4:{b['id']}"]
    assert b["steps"][0]["args"][3:5] == ["-f", "docker/precompute-processor.Dockerfile"]
    assert builds.latest_successful("nba-phase4-precompute-processors")["id"] == b["id"]


@pytest.mark.parametrize("repository, fails", [("cloud-run-source-deploy", False), ("nba-images", True)])
def test_a_push_to_an_artifact_registry_repository_that_does_not_exist_fails_there(builds, src, repository, fails):
    # Artifact Registry never creates a repository on push; the sandbox has the one its source deploys use
    image = f"us-west2-docker.pkg.dev/$PROJECT_ID/{repository}/p4:$BUILD_ID"
    config = {"steps": [
        {"name": "gcr.io/cloud-builders/docker", "id": "build",
         "args": ["build", "-t", image, "-f", "docker/precompute-processor.Dockerfile", "."]},
        {"name": "gcr.io/cloud-builders/docker", "id": "push", "args": ["push", image]}], "images": [image]}
    b = builds.submit_config(config, src).build
    assert b["status"] == ("FAILURE" if fails else "SUCCESS")
    assert [s["status"] for s in b["steps"]] == ["SUCCESS", "FAILURE" if fails else "SUCCESS"]
    if fails:
        assert 'Step #1 - "push": name unknown: Repository "nba-images" not found' in _log(builds, b).splitlines()
        assert _top(builds, b) == "push-permission-denied"


def test_config_build_rejects_steps_it_cannot_emulate(builds, src):
    with pytest.raises(ParameterError, match=r"steps\[0\]=.*docker build and docker push steps only"):
        builds.submit_config({"steps": [{"name": "ubuntu", "args": ["echo"]}]}, src)


def test_lookup_in_global_explains_the_region_and_the_chain_reads_the_bucket(builds, src):
    b = builds.source_deploy("phase4", src).build
    with pytest.raises(NotFoundError, match="source deploys .* build in the service's region"):
        builds.get(b["id"], region="global")
    fetched = fetch_build_log_by_id(b["id"], builds, builds.log_sources(), region="global")
    assert fetched.ok and fetched.source == "gcs"
    assert fetched.command == f"gcloud builds log {b['id']} --region=us-west2 --project=nba-props-platform"
    assert ("cloudbuild", "wrong-region") in [(a.source, a.outcome) for a in fetched.attempts]


def test_missing_bucket_object_falls_through_to_a_local_file(builds, src, tmp_path):
    b = builds.source_deploy("phase4", src).build
    saved = tmp_path / "saved.txt"
    saved.write_text(_log(builds, b))
    builds.bucket_path(b["id"]).unlink()
    fetched = fetch_build_log(b, builds.log_sources(), local_file=saved)
    assert fetched.source == "local-file"
    assert [(a.source, a.outcome) for a in fetched.attempts][0] == ("gcs", "not-found")


def test_a_bucket_log_that_is_not_utf8_is_read_as_the_gcp_source_reads_it(builds, src):
    """A step's Latin-1 output, or a log saved as UTF-16: read with U+FFFD or by its BOM, never an error that
    stops the chain (the sandbox read it strictly, and runbook 01 ended in a UnicodeDecodeError)."""
    b = builds.source_deploy("phase4", src).build
    path = builds.bucket_path(b["id"])
    text = path.read_text()
    path.write_bytes(text.encode() + b"caf\xe9 \xff\n")
    fetched = fetch_build_log(b, builds.log_sources())
    assert fetched.source == "gcs" and fetched.text.endswith("caf\ufffd \ufffd\n")
    path.write_bytes(text.encode("utf-16"))
    assert fetch_build_log(b, builds.log_sources()).text == text


def test_bad_input(builds, tmp_path):
    with pytest.raises(ParameterError, match="build_id="):
        builds.get("not-a-build")
    with pytest.raises(ParameterError, match="source_dir="):
        builds.source_deploy("phase4", tmp_path / "missing")
    with pytest.raises(ParameterError, match="phase='phase9'"):
        builds.source_deploy("phase9", tmp_path)


def test_the_incident_night_is_reproduced(tmp_path):
    home = sandbox_home(tmp_path / "home").ensure()
    repo = create_source_repo(home.source)
    phases = load_phases()
    outcomes = seed_incident_builds(home, phases, repo)
    builds = LocalBuilds(home, phases)
    failed = builds.latest_failed("nba-phase4-precompute-processors")
    assert failed["id"] == INCIDENT_BUILD_ID
    assert builds.outcome(INCIDENT_BUILD_ID).extra["builder"] == "buildpacks"
    assert _top(builds, failed) == "buildpacks-no-entrypoint"
    race = builds.latest_successful("nba-phase3-analytics-processors")
    assert race["createTime"].startswith("2025-12-31T01:41")
    assert builds.outcome(race["id"]).code_phase == "phase4"      # Phase 3 uploaded Phase 4's Dockerfile
    good = builds.latest_successful("nba-phase4-precompute-processors")
    assert good["createTime"].startswith("2025-12-29") and builds.outcome(good["id"]).commit == repo.commits["before_prefix"]
    assert not (repo.path / "Dockerfile").exists()              # the replay never touched the sandbox checkout
    assert len(outcomes) == 4


def test_concurrent_builds_from_several_processes_keep_every_record(builds, src):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        ids = [i for batch in pool.starmap(_build_in_child, [(str(builds.home.root), str(src))] * 3) for i in batch]
    stored = {b["id"] for b in builds.list(limit=100)}
    assert len(set(ids)) == 30 and set(ids) <= stored
    assert all(builds.bucket_path(i).is_file() for i in ids)


def _build_in_child(home: str, src: str) -> list[str]:
    from runbook_lib.local.builds import LocalBuilds
    from runbook_lib.local.home import sandbox_home
    from runbook_lib.phases import load_phases

    builds = LocalBuilds(sandbox_home(home), load_phases())
    return [builds.source_deploy("phase4", src).build["id"] for _ in range(10)]


def test_config_step_missing_a_flag_value_is_one_sentence(builds, src):
    config = {"steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t"]}]}
    with pytest.raises(ParameterError, match="-t needs a value after it"):
        builds.submit_config(config, src)
