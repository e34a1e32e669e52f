"""Reading Cloud Build v1 Build resources (REST JSON) and turning findings into a diagnosis."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook_lib.diagnose import (BuilderEvidence, Diagnosis, build_summary, build_table, builder_evidence,
                                  classify_log, compare_builds, evidence_table, explain, log_locations, side_by_side)
from runbook_lib.errors import ParameterError
from runbook_lib.phases import load_phases
from runbook_lib.results import Result

LOGS = Path(__file__).parent / "fixtures" / "logs"
PROJECT_NUMBER = "756957797294"
REGION = "us-west2"


def _build(build_id: str, status: str, steps: list[dict], tags: list[str], images: list[str], **extra) -> dict:
    build = {
        "name": f"projects/{PROJECT_NUMBER}/locations/{REGION}/builds/{build_id}",
        "id": build_id,
        "projectId": "nba-props-platform",
        "status": status,
        "createTime": "2025-12-31T01:41:19.482913Z",
        "startTime": "2025-12-31T01:41:21.782913Z",
        "finishTime": "2025-12-31T01:54:29.101734Z",
        "steps": steps,
        "timeout": "600s",
        "logUrl": f"https://console.cloud.google.com/cloud-build/builds;region={REGION}/{build_id}?project={PROJECT_NUMBER}",
        "logsBucket": f"gs://{PROJECT_NUMBER}.cloudbuild-logs.googleusercontent.com",
        "source": {"storageSource": {"bucket": f"run-sources-nba-props-platform-{REGION}",
                                     "object": "services/svc/1767145275.482913-9c1f6f0d2a7b.zip",
                                     "generation": "1767145275482913"}},
        "tags": tags,
        "images": images,
        "options": {"machineType": "E2_HIGHCPU_8"},
    }
    build.update(extra)
    return build


def _timing(start: str, end: str) -> dict:
    return {"startTime": f"2025-12-31T01:{start}Z", "endTime": f"2025-12-31T01:{end}Z"}


P4_IMAGE = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase4-precompute-processors:latest"
P3_IMAGE = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase3-analytics-processors:latest"


def buildpacks_build() -> dict:
    """The incident's Phase 4 build: a source deploy that fell back to buildpacks."""
    return _build(
        "c3c052da-ddd1-46eb-9d3a-7219a9909377", "FAILURE",
        [
            {"name": "gcr.io/k8s-skaffold/pack", "id": "pre-buildpack", "entrypoint": "sh",
             "args": ["-c", "chmod a+w /workspace && pack config default-builder "
                            "us-docker.pkg.dev/serverless-runtimes/google-22-full/builder/python:latest"],
             "status": "SUCCESS", "timing": _timing("41:22.782913", "41:30.782913")},
            {"name": "gcr.io/k8s-skaffold/pack", "id": "build", "entrypoint": "pack",
             "args": ["build", P4_IMAGE, "--network=cloudbuild", "--path=.", "--publish"],
             "status": "FAILURE", "exitCode": 51, "timing": _timing("41:30.782913", "54:26.101734")},
        ],
        ["gcp-runtimes-builder-python-google-22-full", "service_nba-phase4-precompute-processors"], [P4_IMAGE],
        failureInfo={"type": "USER_BUILD_STEP",
                     "detail": 'Build step failure: build step 1 "gcr.io/k8s-skaffold/pack" failed: step exited '
                               "with non-zero status: 51"},
        statusDetail="Build step failure")


def docker_build(status: str = "SUCCESS") -> dict:
    """Phase 3's source deploy that found ./Dockerfile (older gcloud: cloud-builders/docker)."""
    return _build(
        "6a1d9e42-5b3c-4f8a-9e27-1c0b8d7f3a65", status,
        [
            {"name": "gcr.io/cloud-builders/docker",
             "args": ["build", "--network", "cloudbuild", "--no-cache", "-t", P3_IMAGE, "."],
             "status": "SUCCESS", "timing": _timing("41:18.903117", "44:31.503117")},
            {"name": "gcr.io/cloud-builders/docker", "args": ["push", P3_IMAGE],
             "status": "SUCCESS", "timing": _timing("44:31.503117", "44:49.503117")},
        ],
        ["service_nba-phase3-analytics-processors"], [P3_IMAGE])


def gcb_internal_build() -> dict:
    """Newer gcloud runs source-deploy Docker builds in gcr.io/cloud-builders/gcb-internal."""
    return _build(
        "2f7c1b9e-8d4a-4e6b-a3f0-5c9d2e1b7a48", "SUCCESS",
        [{"name": "gcr.io/cloud-builders/gcb-internal", "id": "Build",
          "args": ["docker", "build", "--network", "cloudbuild", "-t", P4_IMAGE, "."],
          "status": "SUCCESS", "timing": _timing("41:20.000000", "43:05.500000")}],
        ["service_nba-phase4-precompute-processors"], [P4_IMAGE])


def config_docker_build() -> dict:
    """`gcloud builds submit --config cloudbuild-phase4.yaml`: docker build -f the phase's Dockerfile."""
    return _build(
        "9d2e7a41-3f5b-4c8e-b1a7-6e0f2d4c8b93", "SUCCESS",
        [{"name": "gcr.io/cloud-builders/docker",
          "args": ["build", "-t", "gcr.io/nba-props-platform/nba-phase4-precompute-processors",
                   "-f", "docker/precompute-processor.Dockerfile", "."], "status": "SUCCESS"},
         {"name": "gcr.io/cloud-builders/docker",
          "args": ["push", "gcr.io/nba-props-platform/nba-phase4-precompute-processors"], "status": "SUCCESS"}],
        [], ["gcr.io/nba-props-platform/nba-phase4-precompute-processors"],
        options={"logging": "CLOUD_LOGGING_ONLY"})


def config_steps_build() -> dict:
    """A config build with only user steps (tests, a gcloud step): no docker build, no buildpacks."""
    return _build(
        "7e3a9c15-2d48-4b6f-8a1e-9f0c3b5d7e21", "FAILURE",
        [{"name": "python:3.11-slim", "id": "unit-tests", "entrypoint": "bash",
          "args": ["-c", "pip install -r requirements.txt && pytest -q"], "status": "FAILURE", "exitCode": 1},
         {"name": "gcr.io/google.com/cloudsdktool/cloud-sdk", "entrypoint": "gcloud",
          "args": ["run", "services", "update-traffic", "x", "--to-latest"], "status": "QUEUED"}],
        [], [], options={"logging": "NONE"}, failureInfo={"type": "USER_BUILD_STEP", "detail": "step 0 failed"})


TRIGGER = "4a1b2c3d-0000-4000-8000-000000000001"
TRIGGER_IMAGE = ("us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/pipeline/"
                 "nba-phase4-precompute-processors:abc1234")


def trigger_build(status: str = "FAILURE") -> dict:
    """A build of Cloud Run's continuous deployment: its trigger's substitutions and tags, an image in
    cloud-run-source-deploy, no service_ tag, the repository cloned by the trigger (no storageSource)."""
    build = _build(
        "5b8e2f90-1c3d-4e7a-9b6f-2d4c8a0e1f37", status,
        [{"name": "gcr.io/cloud-builders/docker", "id": "Build", "status": status, "exitCode": 1,
          "args": ["build", "--no-cache", "-t", TRIGGER_IMAGE, ".", "-f", "Dockerfile"]},
         {"name": "gcr.io/cloud-builders/docker", "id": "Push", "status": "QUEUED", "args": ["push", TRIGGER_IMAGE]},
         {"name": "gcr.io/google.com/cloudsdktool/cloud-sdk:slim", "id": "Deploy", "entrypoint": "gcloud",
          "status": "QUEUED", "args": ["run", "services", "update", "nba-phase4-precompute-processors"]}],
        ["gcp-cloud-build-deploy-cloud-run", "gcp-cloud-build-deploy-cloud-run-managed",
         "nba-phase4-precompute-processors"], [TRIGGER_IMAGE],
        buildTriggerId=TRIGGER,
        substitutions={"_SERVICE_NAME": "nba-phase4-precompute-processors", "_DEPLOY_REGION": REGION,
                       "_AR_HOSTNAME": "us-west2-docker.pkg.dev", "_PLATFORM": "managed", "_TRIGGER_ID": TRIGGER,
                       "REPO_NAME": "pipeline", "BRANCH_NAME": "main", "COMMIT_SHA": "abc1234"})
    build.pop("source")
    return build


NO_DOCKERFILE_LOG = ('starting build\n'
                     'Step #0 - "Build": ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such '
                     'file or directory\n'
                     'ERROR: build step 0 "gcr.io/cloud-builders/docker" failed: step exited with non-zero status: 1\n')


# ---- builder_evidence --------------------------------------------------------------------------

def test_buildpacks_source_deploy():
    ev = builder_evidence(buildpacks_build())
    assert isinstance(ev, BuilderEvidence)
    assert ev.builder == "buildpacks" and ev.dockerfile is None
    assert ev.service == "nba-phase4-precompute-processors" and ev.source_deploy
    assert ev.builder_image == "us-docker.pkg.dev/serverless-runtimes/google-22-full/builder/python:latest"
    assert ev.region == REGION and ev.status == "FAILURE" and ev.failure_type == "USER_BUILD_STEP"
    text = " | ".join(ev.evidence)
    assert "gcr.io/k8s-skaffold/pack" in text and 'tag "gcp-runtimes-builder-python-google-22-full"' in text


def test_buildpacks_by_builder_image_or_flag_alone():
    step = {"name": "us-west2-docker.pkg.dev/serverless-runtimes/google-22-full/builder/python:latest",
            "args": ["/cnb/lifecycle/creator", "-app=."]}
    assert builder_evidence(_build("b1", "FAILURE", [step], [], [])).builder == "buildpacks"
    pack = {"name": "buildpacksio/pack:0.36.0", "args": ["build", "img", "--builder", "gcr.io/buildpacks/builder:v1"]}
    ev = builder_evidence(_build("b2", "FAILURE", [pack], [], []))
    assert (ev.builder, ev.builder_image) == ("buildpacks", "gcr.io/buildpacks/builder:v1")
    assert builder_evidence(_build("b3", "FAILURE", [], ["gcp-runtimes-builder-python"], [])).builder == "buildpacks"


def test_docker_source_deploy_uses_the_root_dockerfile():
    ev = builder_evidence(docker_build())
    assert (ev.builder, ev.dockerfile, ev.service) == ("dockerfile", "Dockerfile", "nba-phase3-analytics-processors")
    assert any("docker build" in e and "gcr.io/cloud-builders/docker" in e for e in ev.evidence)


def test_a_trigger_build_is_named_as_one_and_is_no_source_deploy():
    ev = builder_evidence(trigger_build())
    assert (ev.builder, ev.dockerfile, ev.source_deploy) == ("dockerfile", "Dockerfile", False)
    assert ev.service == "nba-phase4-precompute-processors"     # the phase is still found from _SERVICE_NAME
    assert (ev.trigger_id, ev.trigger_repo, ev.trigger_commit) == (TRIGGER, "pipeline", "abc1234")
    assert f"buildTriggerId {TRIGGER} (a trigger build of pipeline at abc1234, not a gcloud upload)" in ev.evidence
    table = evidence_table(ev)["value"]
    assert table["source deploy"] == "no"
    assert table["trigger"] == f"trigger {TRIGGER} (repository pipeline at commit abc1234)"
    bare = trigger_build()
    bare.pop("substitutions")
    assert builder_evidence(bare).trigger_said == f"trigger {TRIGGER}"
    assert "trigger" not in evidence_table(builder_evidence(docker_build())).index   # a source deploy has none


def test_a_trigger_builds_fixes_and_side_by_side_never_speak_of_the_gcloud_upload():
    diagnosis = explain(classify_log(NO_DOCKERFILE_LOG), builder_evidence(trigger_build()))
    assert diagnosis.verdict == "fail" and diagnosis.figures["top_signature"] == "dockerfile-not-in-upload"
    assert diagnosis.fixes[0].startswith(f"This build came from trigger {TRIGGER} (repository pipeline at commit "
                                         "abc1234): ") and "git ls-tree -r --name-only abc1234" in diagnosis.fixes[0]
    assert not any(".gcloudignore" in f or "upload" in f for f in diagnosis.fixes)
    assert "not a gcloud upload" in diagnosis.cause
    uploaded = explain(classify_log(NO_DOCKERFILE_LOG), builder_evidence(docker_build("FAILURE")))
    assert any(".gcloudignore" in f for f in uploaded.fixes)     # a source deploy keeps them
    assert "trigger" not in uploaded.cause

    def beside(reference: dict) -> str:
        target = SimpleNamespace(phases=load_phases(),
                                 builds=SimpleNamespace(latest_successful=lambda service, region: reference))
        return side_by_side(target, buildpacks_build(), "phase4", "phase3").note

    note = beside(trigger_build("SUCCESS"))
    assert f"trigger {TRIGGER} (repository pipeline at commit abc1234)" in note
    assert "upload" not in note and "source deploy" not in note
    assert "It was a source deploy: it built whatever ./Dockerfile held at upload time" in beside(docker_build())


def test_gcb_internal_docker_build():
    ev = builder_evidence(gcb_internal_build())
    assert (ev.builder, ev.dockerfile) == ("dockerfile", "Dockerfile")
    assert any("gcb-internal" in e for e in ev.evidence)


def test_config_build_with_dash_f():
    ev = builder_evidence(config_docker_build())
    assert (ev.builder, ev.dockerfile, ev.service, ev.source_deploy) == (
        "dockerfile", "docker/precompute-processor.Dockerfile", None, False)


@pytest.mark.parametrize("args, expected", [
    (["build", "--file=docker/a.Dockerfile", "."], "docker/a.Dockerfile"),
    (["build", "-t", "img", "services/api"], "services/api/Dockerfile"),
    (["build", "--build-arg", "X=1", "-t", "img", "."], "Dockerfile"),
])
def test_which_dockerfile(args, expected):
    step = {"name": "gcr.io/cloud-builders/docker", "args": args}
    assert builder_evidence(_build("b", "SUCCESS", [step], [], [])).dockerfile == expected


DOCKER = "gcr.io/cloud-builders/docker"
KANIKO = "gcr.io/kaniko-project/executor:latest"
P4_DOCKERFILE = "docker/precompute-processor.Dockerfile"


@pytest.mark.parametrize("steps, dockerfile", [
    # `--builder` of buildx names a builder instance, not a buildpacks builder
    ([{"name": DOCKER, "args": ["buildx", "create", "--name", "ci", "--use"]},
      {"name": DOCKER, "args": ["buildx", "build", "--builder", "ci", "-f", P4_DOCKERFILE, "-t", P4_IMAGE, "--push", "."]}],
     P4_DOCKERFILE),
    ([{"name": DOCKER, "args": ["buildx", "build", "-t", P4_IMAGE, "--builder=ci", "services/api"]}],
     "services/api/Dockerfile"),
    # kaniko with its own flags, and as `gcloud builds submit --tag` runs it with builds/use_kaniko
    ([{"name": KANIKO, "args": [f"--dockerfile={P4_DOCKERFILE}", "--context=dir:///workspace",
                                f"--destination={P4_IMAGE}"]}], P4_DOCKERFILE),
    ([{"name": KANIKO, "args": ["--destination", P4_IMAGE, "--cache", "--cache-ttl", "6h", "--cache-dir", ""]}],
     "Dockerfile"),
    ([{"name": KANIKO, "args": ["--context", "dir:///workspace/services/api", "--destination", P4_IMAGE]}],
     "services/api/Dockerfile"),
    # a shell step: docker's arguments end at the shell operator
    ([{"name": DOCKER, "entrypoint": "bash", "args": ["-c", f"docker build -t {P4_IMAGE} . && docker push {P4_IMAGE}"]}],
     "Dockerfile"),
    ([{"name": DOCKER, "entrypoint": "sh", "args": ["-ec", f"DOCKER_BUILDKIT=1 docker build -t {P4_IMAGE} . 2>&1 | tee b.log; "
                                                           "docker push x || true"]}], "Dockerfile"),
    ([{"name": DOCKER, "script": f"#!/bin/bash\ndocker build \\\n  -f {P4_DOCKERFILE} -t {P4_IMAGE} .\ndocker push {P4_IMAGE}\n"}],
     P4_DOCKERFILE),
    # the command after a shell keyword (if, then, do) is still read
    ([{"name": DOCKER, "entrypoint": "bash",
       "args": ["-c", f'if [ -n "$TAG" ]; then docker build -f {P4_DOCKERFILE} -t {P4_IMAGE} .; fi']}], P4_DOCKERFILE),
    ([{"name": DOCKER, "args": ["build", "-f=docker/x.Dockerfile", "-t", "img", "/workspace"]}], "docker/x.Dockerfile"),
])
def test_dockerfile_builds_of_every_spelling(steps, dockerfile):
    ev = builder_evidence(_build("b", "SUCCESS", steps, [], []))
    assert (ev.builder, ev.dockerfile, ev.builder_image) == ("dockerfile", dockerfile, None)


def test_builder_flag_means_buildpacks_only_on_pack():
    shell_pack = {"name": "gcr.io/k8s-skaffold/pack", "entrypoint": "bash",
                  "args": ["-c", f"pack build {P4_IMAGE} --builder gcr.io/buildpacks/builder:v1 --publish && echo done"]}
    ev = builder_evidence(_build("b", "FAILURE", [shell_pack], [], []))
    assert (ev.builder, ev.builder_image) == ("buildpacks", "gcr.io/buildpacks/builder:v1")
    # a step that is neither pack nor docker: its --builder says nothing about buildpacks
    other = {"name": "node:20", "entrypoint": "npx", "args": ["nx", "build", "api", "--builder", "esbuild"]}
    ev = builder_evidence(_build("b", "FAILURE", [other], [], []))
    assert (ev.builder, ev.builder_image) == ("cloudbuild-config", None)


def test_config_build_with_user_steps_only():
    ev = builder_evidence(config_steps_build())
    assert ev.builder == "cloudbuild-config" and ev.dockerfile is None
    assert "python:3.11-slim" in ev.evidence[-1]


def test_not_a_build_is_a_parameter_error():
    with pytest.raises(ParameterError, match="build="):
        builder_evidence(["not", "a", "dict"])
    with pytest.raises(ParameterError, match="build.steps="):
        build_table({"steps": "oops"})


# ---- table, summary, log locations, side by side ------------------------------------------------

def test_build_table_one_row_per_step():
    table = build_table(buildpacks_build())
    assert list(table.columns) == ["id", "name", "args", "status", "exit_code", "duration_s"]
    assert list(table.index) == [0, 1] and table.columns.name == "step"   # (the step's number heads the rows)
    assert list(table["name"]) == ["k8s-skaffold/pack", "k8s-skaffold/pack"]
    assert list(table["status"]) == ["SUCCESS", "FAILURE"]
    assert list(table["exit_code"]) == [0, 51]           # SUCCESS without exitCode is 0 (proto3 drops zeros)
    assert table["duration_s"].tolist() == [8.0, pytest.approx(775.318821)]
    assert table["args"][1].startswith("pack build ") and len(table["args"][1]) <= 80
    assert build_table(_build("b", "QUEUED", [], [], [])).empty


def test_build_table_without_timing_or_exit_code():
    table = build_table(config_steps_build())
    assert table["exit_code"].tolist()[0] == 1
    assert table["exit_code"].isna().tolist() == [False, True]
    assert table["duration_s"].isna().all()
    assert table["name"].tolist() == ["python:3.11-slim", "google.com/cloudsdktool/cloud-sdk"]


def test_build_summary():
    s = build_summary(buildpacks_build())
    assert (s["status"], s["failure_type"], s["region"]) == ("FAILURE", "USER_BUILD_STEP", REGION)
    assert s["source"].startswith(f"gs://run-sources-nba-props-platform-{REGION}/services/svc/")
    assert s["source"].endswith("#1767145275482913")
    assert s["queued_s"] == pytest.approx(2.3) and s["duration_s"] == pytest.approx(787.318821)
    assert s["log_command"] == (f"gcloud builds log c3c052da-ddd1-46eb-9d3a-7219a9909377 --region={REGION}"
                                " --project=nba-props-platform")
    assert s["images"] == [P4_IMAGE] and "service_nba-phase4-precompute-processors" in s["tags"]
    json.dumps(s)


def test_log_locations_follow_options_logging():
    default = log_locations(buildpacks_build())
    assert [loc["kind"] for loc in default] == ["bucket", "cloud-logging"]
    assert default[0]["where"] == (f"gs://{PROJECT_NUMBER}.cloudbuild-logs.googleusercontent.com/"
                                   "log-c3c052da-ddd1-46eb-9d3a-7219a9909377.txt")
    assert "VPC Service Controls" in default[0]["note"]
    only_logging = log_locations(config_docker_build())
    assert [loc["kind"] for loc in only_logging] == ["cloud-logging"]
    assert ('log_id("cloudbuild") AND resource.type="build" AND '
            'resource.labels.build_id="9d2e7a41-3f5b-4c8e-b1a7-6e0f2d4c8b93"') in only_logging[0]["where"]
    assert 'timestamp>="2025-12-31T01:41:19.482913Z"' in only_logging[0]["where"]
    assert [loc["kind"] for loc in log_locations(config_steps_build())] == ["none"]
    gcs_only = buildpacks_build()
    gcs_only["options"]["logging"] = "GCS_ONLY"
    assert [loc["kind"] for loc in log_locations(gcs_only)] == ["bucket"]


def test_compare_builds_side_by_side():
    frame = compare_builds(buildpacks_build(), docker_build(), labels=("phase4", "phase3"),
                           source_bytes=(4_100_000, 4_000_000))
    assert list(frame.columns) == ["phase4", "phase3", "same"]
    assert frame.loc["builder"].tolist() == ["buildpacks", "dockerfile", False]
    assert frame.loc["steps"].tolist() == [2, 2, True]
    assert frame.loc["source_bytes", "phase4"] == 4_100_000
    assert frame.loc["step_images", "phase3"] == "docker, docker"


# ---- explain ------------------------------------------------------------------------------------

def test_the_incident_explained():
    findings = classify_log((LOGS / "buildpacks-no-entrypoint-1.txt").read_text())
    diagnosis = explain(findings, builder_evidence(buildpacks_build()))
    assert isinstance(diagnosis, Diagnosis) and isinstance(diagnosis, Result)
    assert diagnosis.verdict == "fail"
    assert "buildpacks" in diagnosis.cause and "Dockerfile" in diagnosis.cause and diagnosis.cause.endswith(".")
    assert diagnosis.redeploy == {"phase": "phase4", "source_dir": "", "strategy": "cloudbuild-config",
                                  "dry_run": True}
    assert diagnosis.figures["builder"] == "buildpacks"
    assert diagnosis.figures["top_signature"] == "buildpacks-no-entrypoint"
    assert diagnosis.figures["log_source"] is None
    first = diagnosis.fixes[0]
    assert "gcloud builds submit --config cloudbuild-phase4.yaml" in first
    assert "docker/precompute-processor.Dockerfile" in first
    assert any("gcloud run deploy nba-phase4-precompute-processors --image" in f for f in diagnosis.fixes)
    assert not any("--no-use-google-dev-pack" in f and "does not exist" not in f for f in diagnosis.fixes)
    # fixes from same-builder findings are not repeated
    assert sum("gcloud builds submit --config" in f for f in diagnosis.fixes) == 1
    data = json.loads(json.dumps(diagnosis.to_dict()))
    assert data["details"]["redeploy"]["strategy"] == "cloudbuild-config"
    assert data["details"]["findings"][0]["line"] == 41
    assert "\n" not in diagnosis.summary and "line 41" in diagnosis.summary


def test_preflight_race_leads_the_fixes(tmp_path):
    scripts = {
        "bin/a.sh": "cp docker/analytics-processor.Dockerfile ./Dockerfile\ngcloud run deploy a --source=.\nrm Dockerfile\n",
        "bin/b.sh": "cp docker/precompute-processor.Dockerfile ./Dockerfile\ngcloud run deploy b --source .\nrm Dockerfile\n",
        "data_processors/x.py": "",
    }
    for rel, text in scripts.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    from runbook_lib.preflight import preflight

    pre = preflight(tmp_path)
    findings = classify_log((LOGS / "buildpacks-no-entrypoint-2.txt").read_text())
    diagnosis = explain(findings, builder_evidence(buildpacks_build()), pre)
    assert diagnosis.fixes[0].startswith("2 deploy scripts share one root ./Dockerfile")
    assert "race" in diagnosis.cause
    assert diagnosis.redeploy["source_dir"] == str(tmp_path.resolve())
    assert diagnosis.details["preflight"]["lints"]


def test_status_names_the_cause_when_the_log_does_not():
    build = docker_build("FAILURE")
    build["failureInfo"] = {"type": "FETCH_SOURCE_FAILED", "detail": "failed to fetch source"}
    diagnosis = explain(classify_log("FETCHSOURCE\n"), builder_evidence(build))
    assert diagnosis.verdict == "fail"
    assert diagnosis.figures["top_signature"] == "source-fetch-failed"
    assert diagnosis.findings[0].evidence == ["Build resource: failureInfo.type FETCH_SOURCE_FAILED"]


NO_LOG = "the build ran with options.logging=NONE, so Cloud Build kept none"


@pytest.mark.parametrize("failure_type, signature", [
    ("PUSH_FAILED", "push-permission-denied"), ("PUSH_NOT_AUTHORIZED", "push-permission-denied"),
    ("FETCH_SOURCE_FAILED", "source-fetch-failed"), ("PUSH_IMAGE_NOT_FOUND", None), ("LOGGING_FAILURE", None),
    ("USER_BUILD_STEP", None), ("FAILURE_TYPE_UNSPECIFIED", None),
])
def test_no_log_leads_with_the_build_resource(failure_type, signature):
    build = config_docker_build()
    build.update(status="FAILURE", failureInfo={"type": failure_type, "detail": "what  Cloud Build said"})
    for findings in ([], classify_log("")):      # nothing classified, or an empty log classified
        diagnosis = explain(findings, builder_evidence(build), no_log=NO_LOG)
        assert diagnosis.verdict == "fail"
        assert diagnosis.cause.startswith(f"No log of the build could be read ({NO_LOG}), so this comes from the "
                                          f"Build resource: failureInfo.type {failure_type} (")
        assert '"what Cloud Build said"' in diagnosis.cause
        assert "signature matched" not in diagnosis.cause and "no log could be read" in diagnosis.summary
        assert diagnosis.figures["top_signature"] == signature
        assert all("add a signature" not in fix and "around that line" not in fix for fix in diagnosis.fixes)
        if failure_type != "FAILURE_TYPE_UNSPECIFIED":
            assert diagnosis.fixes


def test_no_log_and_no_failure_info_says_the_status():
    build = config_docker_build()
    build["status"] = "TIMEOUT"
    diagnosis = explain([], builder_evidence(build), no_log=NO_LOG)
    assert diagnosis.figures["top_signature"] == "build-timeout"
    assert "Build resource: status TIMEOUT and no failureInfo." in diagnosis.cause
    with pytest.raises(ParameterError, match="no_log="):
        explain([], builder_evidence(build), no_log="")


@pytest.mark.parametrize("log", ["", "Build failed with status: EXPIRED\n"])
def test_an_expired_build_leads_with_the_queue_ttl(log):
    build = docker_build("EXPIRED")
    diagnosis = explain(classify_log(log), builder_evidence(build))
    assert diagnosis.verdict == "fail" and diagnosis.figures["top_signature"] == "build-timeout"
    assert "Build expired in the queue" in diagnosis.summary and "timed out" not in diagnosis.summary
    assert diagnosis.cause.startswith("The build waited in Cloud Build's queue longer than its queue time-to-live")
    assert "queueTtl" in diagnosis.fixes[0] and not any("Raise the build timeout" in f for f in diagnosis.fixes)
    timed_out = explain(classify_log(log), builder_evidence(docker_build("TIMEOUT")))
    assert any("Raise the build timeout" in f for f in timed_out.fixes)     # TIMEOUT keeps its own fixes


def test_a_step_that_hit_its_own_timeout_points_at_that_step():
    build = docker_build("FAILURE")
    build["steps"][0].update(status="TIMEOUT", timeout="300s", id="Build")
    build["failureInfo"] = {"type": "USER_BUILD_STEP", "detail": 'Build step failure: build step 0 timed out'}
    log = 'ERROR: build step 0 "gcr.io/cloud-builders/docker" failed: context deadline exceeded\n'
    for diagnosis in (explain(classify_log(log), builder_evidence(build)),
                      explain([], builder_evidence(build), no_log=NO_LOG)):
        assert diagnosis.verdict == "fail" and diagnosis.figures["top_signature"] == "build-timeout"
        assert "Build step timed out" in diagnosis.summary
        assert "step 0 (Build, timeout 300s) ran longer than its own timeout" in diagnosis.cause
        assert "EXPIRED" not in diagnosis.cause and "queue" not in diagnosis.cause
        assert diagnosis.fixes[0].startswith("Raise the `timeout:` of step 0 (Build, timeout 300s)")
        assert not any("Raise the build timeout" in f for f in diagnosis.fixes)
    assert "Build resource: step 0 (Build, timeout 300s) status TIMEOUT" in diagnosis.findings[0].evidence
    assert builder_evidence(build).timed_out_step == "step 0 (Build, timeout 300s)"
    # a build stopped by its own timeout marks its running step TIMEOUT too: that is the build's timeout
    whole = docker_build("TIMEOUT")
    whole["steps"][0]["status"] = "TIMEOUT"
    timed_out = explain(classify_log("TIMEOUT\n"), builder_evidence(whole))
    assert builder_evidence(whole).timed_out_step is None
    assert timed_out.cause.startswith("The build ran longer than its timeout") and "EXPIRED" not in timed_out.cause
    assert any("Raise the build timeout" in f for f in timed_out.fixes)


def test_an_internal_error_is_run_again_first():
    diagnosis = explain(classify_log(""), builder_evidence(docker_build("INTERNAL_ERROR")))
    assert diagnosis.verdict == "fail"
    assert diagnosis.fixes[0].startswith("Run the build again: status INTERNAL_ERROR is Cloud Build's own failure")
    wrong_builder = buildpacks_build()
    wrong_builder.update(status="INTERNAL_ERROR")
    wrong_builder.pop("failureInfo")
    fixes = explain([], builder_evidence(wrong_builder), no_log=NO_LOG).fixes
    assert fixes[0].startswith("Run the build again") and "gcloud builds submit --config" in fixes[1]
    assert not any("Run the build again: status" in f for f in explain(
        classify_log(""), builder_evidence(docker_build("FAILURE"))).fixes)


@pytest.mark.parametrize("failure_type, signature", [
    ("PUSH_FAILED", "push-permission-denied"), ("PUSH_NOT_AUTHORIZED", "push-permission-denied"),
    ("FETCH_SOURCE_FAILED", "source-fetch-failed"),
])
def test_the_failures_own_fix_comes_before_the_phases_builder_fixes(failure_type, signature):
    """Phase 4 built with buildpacks: the explicit Docker build is a standing fix, but a refused push or fetch is
    mended by its own (an IAM grant), which comes first."""
    build = buildpacks_build()
    build["failureInfo"] = {"type": failure_type, "detail": "what Cloud Build said"}
    diagnosis = explain([], builder_evidence(build), no_log=NO_LOG)
    assert diagnosis.figures["top_signature"] == signature
    assert diagnosis.fixes[0] == " ".join(diagnosis.findings[0].fix[0].split())
    builder_fix = next(i for i, f in enumerate(diagnosis.fixes) if "gcloud builds submit --config" in f)
    assert builder_fix == len(diagnosis.findings[0].fix)     # right after the failure's own fixes


def test_unknown_failure_still_fails_and_points_at_the_error():
    findings = classify_log((LOGS / "unknown-1.txt").read_text())
    diagnosis = explain(findings, builder_evidence(config_steps_build()))
    assert diagnosis.verdict == "fail" and diagnosis.figures["top_signature"] == "unknown"
    assert "read line 14 first" in diagnosis.cause and diagnosis.figures["phase"] is None
    assert diagnosis.redeploy["phase"] is None


def test_success_with_the_expected_builder_passes():
    diagnosis = explain(classify_log((LOGS / "unknown-2.txt").read_text()), builder_evidence(docker_build()))
    assert diagnosis.verdict == "pass" and diagnosis.fixes == []
    assert diagnosis.redeploy["phase"] == "phase3"


def test_success_with_buildpacks_for_a_dockerfile_phase_warns():
    build = buildpacks_build()
    build["status"] = "SUCCESS"
    build.pop("failureInfo")
    diagnosis = explain(classify_log("DONE\n"), builder_evidence(build))
    assert diagnosis.verdict == "warn"
    assert "docker/precompute-processor.Dockerfile" in diagnosis.cause
    assert any("gcloud builds submit --config" in f for f in diagnosis.fixes)


def test_container_that_would_not_start_fails_even_after_a_good_build():
    findings = classify_log((LOGS / "container-start-failed-1.txt").read_text())
    diagnosis = explain(findings, builder_evidence(docker_build()))
    assert diagnosis.verdict == "fail" and diagnosis.figures["top_signature"] == "container-start-failed"


def test_running_build_and_log_only_and_nothing():
    running = docker_build("WORKING")
    assert explain(classify_log(""), builder_evidence(running)).verdict == "warn"
    log_only = explain(classify_log((LOGS / "pip-install-failed-1.txt").read_text()))
    assert log_only.verdict == "fail" and log_only.figures["builder"] == "unknown"
    assert explain(classify_log("")).verdict == "warn"
    assert explain([]).verdict == "blocked"


def test_explicit_phase_and_bad_inputs():
    phases = load_phases()
    diagnosis = explain(classify_log("x"), None, phase="3", phases=phases, source_dir="/src")
    assert diagnosis.redeploy == {"phase": "phase3", "source_dir": "/src", "strategy": "cloudbuild-config",
                                  "dry_run": True}
    with pytest.raises(ParameterError, match="phase='phase9'"):
        explain(classify_log("x"), phase="phase9")
    with pytest.raises(ParameterError, match="findings="):
        explain("not findings")
    with pytest.raises(ParameterError, match="evidence="):
        explain(classify_log("x"), evidence=copy.deepcopy(buildpacks_build()))
