"""Runbook 02's plan: rendered as YAML and gcloud commands exactly (golden files), and accepted as it is by
the real Cloud Build client's Build message and by the sandbox's builder. Pure: no git, no cloud.

Regenerate the golden files after an intended change with RUNBOOK_UPDATE_GOLDEN=1."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from runbook_lib.errors import ParameterError
from runbook_lib.phases import DEFAULT_PHASES_FILE, load_phases
from runbook_lib.redeploy import label_value, render_plan
from runbook_lib.redeploy.plan import leftover_candidate, leftover_warning
from runbook_lib.services import Revision

GOLDEN = Path(__file__).parent / "fixtures" / "redeploy"
COMMIT = "a51aae7c2d9e4f0b8a6c1d3e5f7a9b0c2d4e6f81"
P4_PREVIOUS = "nba-phase4-precompute-processors-00029-fdx"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("RUNBOOK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; RUNBOOK_UPDATE_GOLDEN=1 rewrites it if that is intended"


def _phase4_plan(**overrides):
    values = {"project": "nba-props-platform", "repository": "cloud-run-source-deploy", "commit": COMMIT,
              "branch": "main", "source_dir": "/home/op/nba-stats-scraper", "previous_revision": P4_PREVIOUS}
    return render_plan(load_phases().get("phase4"), **{**values, **overrides})


def test_the_phase4_plan_renders_exactly():
    plan = _phase4_plan()
    _golden("phase4-cloudbuild-config.txt", plan.to_text())
    _golden("cloudbuild-phase4.yaml", plan.config_yaml())


def test_the_image_strategy_renders_exactly():
    image = ("us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase3-analytics-processors"
             "@sha256:" + "ab" * 32)
    plan = render_plan(load_phases().get("phase3"), project="nba-props-platform", repository="unused",
                       commit=COMMIT, branch="feature/Dataset_Prefix", source_dir=None,
                       previous_revision="nba-phase3-analytics-processors-00041-vzp", strategy="image", image=image)
    assert plan.config is None and plan.config_yaml() == ""
    # no record proves the commit: no commit-sha label (runbooks 00 and 03 trust it), and one carried is removed
    assert plan.labels == {"git-branch": "feature-dataset_prefix", "runbook-followed-latest": "true"}
    assert plan.remove_labels == ["commit-sha"]
    assert plan.env == {} and plan.remove_env == ["COMMIT_SHA"]   # /health would report the parameter back
    _golden("phase3-image.txt", plan.to_text())
    proven = render_plan(load_phases().get("phase3"), project="nba-props-platform", repository="unused",
                         commit=COMMIT, branch="main", source_dir=None, previous_revision="r-1", strategy="image",
                         image=image, provenance="revision r-0 ran it with the label commit-sha=a51aae7")
    assert proven.labels["commit-sha"] == "a51aae7" and proven.remove_labels == []
    assert proven.env == {"COMMIT_SHA": "a51aae7"} and proven.remove_env == []
    assert ("--update-labels=commit-sha=a51aae7,git-branch=main,runbook-followed-latest=true --update-env-vars"
            in proven.commands()[0])


def _phases_with_identity(tmp_path, identity):
    """The kit's registry with Phase 4's /health identity other than its service's name (phases.yaml allows it)."""
    text = DEFAULT_PHASES_FILE.read_text()
    said = "service_identity: nba-phase4-precompute-processors"
    assert said in text
    path = tmp_path / "phases.yaml"
    path.write_text(text.replace(said, f"service_identity: {json.dumps(identity)}"))
    return load_phases(path)


def _gate_passes(plan, health: dict) -> bool:
    ran = subprocess.run(["bash", "-c", plan.health_check_command().split(" | ", 1)[1] + " && echo MIGRATED"],
                         input=json.dumps(health), capture_output=True, text=True)
    return "MIGRATED" in ran.stdout and ran.returncode == 0


# the printed gate judges /health as the kit does (verify._identity, runbook 00): by the phase's service_identity,
# which an operator's copy of phases.yaml may set apart from the Cloud Run service's name (/work/probes/redeploy2 #2)
@pytest.mark.parametrize("identity", ["precompute-processors", "Precompute's processor"])
def test_the_printed_health_gate_judges_the_phases_service_identity(tmp_path, identity):
    phase = _phases_with_identity(tmp_path, identity).get("phase4")
    assert phase.service_identity == identity and phase.service == "nba-phase4-precompute-processors"
    plan = render_plan(phase, project="nba-props-platform", repository="cloud-run-source-deploy", commit=COMMIT,
                       branch="main", source_dir="/home/op/nba-stats-scraper", previous_revision=P4_PREVIOUS)
    if identity == "precompute-processors":
        _golden("phase4-service-identity.txt", plan.to_text())
    right = {"service": identity, "status": "healthy", "commit_sha": COMMIT}
    assert _gate_passes(plan, right)
    assert not _gate_passes(plan, {**right, "service": phase.service})   # another name: another phase's code
    assert not _gate_passes(plan, {**right, "status": "degraded"})


def test_the_plan_builds_the_phases_own_dockerfile_tagged_by_commit_and_deploys_privately():
    plan = _phase4_plan()
    build, push = plan.config["steps"]
    image = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase4-precompute-processors:a51aae7"
    assert build["args"][:5] == ["build", "-f", "docker/precompute-processor.Dockerfile", "-t", image]
    assert build["args"][-1] == "." and f"--label=org.opencontainers.image.revision={COMMIT}" in build["args"]
    assert push["args"] == ["push", image] and plan.config["images"] == [image]
    assert plan.labels == {"commit-sha": "a51aae7", "git-branch": "main", "runbook-followed-latest": "true"}
    assert plan.env == {"COMMIT_SHA": "a51aae7"}
    submit, digest, deploy, tag_url, check_then_migrate, follow_latest = plan.commands()[1:]
    assert submit.startswith('gcloud builds submit "$SRC_TREE" --config=cloudbuild-phase4.yaml --region=us-west2')
    # deployed by the digest the build pushed (a tag can move) with no traffic under the tag candidate, checked on
    # the tag's URL, and only when that check passes (&&) the traffic pinned to the revision the tag names; then,
    # as a step to take while it is the newest revision, following the latest again (Cloud Run's default was)
    assert digest == (f'IMAGE="$(gcloud artifacts docker images describe {image} --project=nba-props-platform '
                      "--format='value(image_summary.fully_qualified_digest)')\"")
    assert deploy.startswith('gcloud run deploy nba-phase4-precompute-processors --image="$IMAGE" --region=us-west2 '
                             '--project=nba-props-platform --no-traffic --tag=candidate ')
    assert tag_url == ('TAG_URL="$(gcloud run services describe nba-phase4-precompute-processors --region=us-west2 '
                       "--project=nba-props-platform --format='value(status.url)' | sed 's#^https://#https://"
                       "candidate---#')\"")
    check, migrate = check_then_migrate.split(" && ")
    assert check.startswith('curl -fsS -H "Authorization: Bearer $(gcloud auth print-identity-token)" '
                            '"$TAG_URL/health" | python3 -c ')
    assert '"service") == "nba-phase4-precompute-processors"' in check and '"status") == "healthy"' in check
    assert migrate == ("gcloud run services update-traffic nba-phase4-precompute-processors --to-tags=candidate=100 "
                       "--region=us-west2 --project=nba-props-platform")
    assert follow_latest.startswith("# then, while the candidate is the newest ready revision") and \
        follow_latest.endswith("update-traffic nba-phase4-precompute-processors --to-latest --region=us-west2 "
                               "--project=nba-props-platform")
    assert _phase4_plan(followed_latest=False).commands()[-1].endswith(" && " + migrate)   # pinned: stays pinned
    assert "--no-allow-unauthenticated" in deploy and "--update-env-vars=COMMIT_SHA=a51aae7" in deploy
    assert "--set-env-vars" not in deploy and "--source" not in deploy and "--no-use-google-dev-pack" not in deploy
    assert plan.rollback_command() == (f"gcloud run services update-traffic nba-phase4-precompute-processors "
                                       f"--to-revisions={P4_PREVIOUS}=100 --region=us-west2 --project=nba-props-platform")
    assert plan.to_dict()["commands"] == plan.commands()
    assert "<pre>" in plan._repr_html_() and "cloudbuild-phase4.yaml" in plan._repr_html_()


def test_the_rendered_config_is_a_cloud_build_config_both_targets_accept(tmp_path):
    from google.cloud.devtools import cloudbuild_v1

    plan = _phase4_plan()
    config = yaml.safe_load(plan.config_yaml())
    build = cloudbuild_v1.Build.from_json(json.dumps(config))   # unknown keys would raise here
    assert build.timeout.seconds == 1200 and list(build.tags) == ["redeploy_nba-phase4-precompute-processors",
                                                                  "commit_a51aae7"]
    from runbook_lib.local.builds import LocalBuilds
    from runbook_lib.local.home import sandbox_home

    source = tmp_path / "tree"
    (source / "docker").mkdir(parents=True)
    (source / "docker" / "precompute-processor.Dockerfile").write_text("FROM python:3.11-slim\nCOPY . /app\n")
    outcome = LocalBuilds(sandbox_home(tmp_path / "home").ensure(), load_phases()).submit_config(config, source)
    assert outcome.build["status"] == "SUCCESS" and outcome.commit == COMMIT   # the OCI label names the commit
    assert outcome.code_phase == "phase4"


def test_the_rollback_command_restores_a_split_as_it_was():
    plan = _phase4_plan(previous_traffic={P4_PREVIOUS: 90, "nba-phase4-precompute-processors-00028-abc": 10})
    assert plan.rollback_command() == (f"gcloud run services update-traffic nba-phase4-precompute-processors "
                                       f"--to-revisions={P4_PREVIOUS}=90,nba-phase4-precompute-processors-00028-abc=10 "
                                       "--region=us-west2 --project=nba-props-platform")


def test_label_values_follow_cloud_runs_rules():
    assert label_value("feature/Dataset_Prefix") == "feature-dataset_prefix"
    assert label_value("main") == "main" and label_value("///") == "unknown" and len(label_value("x" * 80)) == 63


@pytest.mark.parametrize("overrides, parameter", [
    ({"strategy": "source"}, "strategy"), ({"strategy": "image"}, "image"),
])
def test_a_plan_with_bad_values_is_refused(overrides, parameter):
    with pytest.raises(ParameterError) as caught:
        _phase4_plan(**overrides)
    assert caught.value.parameter == parameter


def _revision(name: str, percent: int = 0, tags=(), **labels) -> Revision:
    return Revision(name=name, service="nba-phase4-precompute-processors", labels=dict(labels), commit_sha="",
                    commit_sha_full=None, image="", created="", traffic_percent=percent, supports_prefix=None,
                    tags=list(tags))


# a candidate its redeploy never gave the traffic (interrupted, or its checks failed): its --no-traffic deploy may
# still pin the service, which only its label tells from the operator's own pin (/work/probes/redeploy2 finding 1)
def test_a_leftover_candidate_is_only_a_tagged_revision_with_no_traffic_newer_than_every_serving_one():
    new, old = "nba-phase4-precompute-processors-00030-abc", P4_PREVIOUS
    assert leftover_candidate([_revision(new, tags=["candidate"]), _revision(old, 100)], "candidate").name == new
    assert leftover_candidate([_revision(new, 100, tags=["candidate"]), _revision(old)], "candidate") is None
    assert leftover_candidate([_revision(new, 100), _revision(old, tags=["candidate"])], "candidate") is None
    assert leftover_candidate([_revision(new), _revision(old, 100)], "candidate") is None


@pytest.mark.parametrize("follows, label, said", [
    (False, "true", "pinned nba-phase4-precompute-processors, which followed the latest revision before it "
                    "(runbook-followed-latest=true): this run follows the latest again once its own candidate serves"),
    (False, "false", "left nba-phase4-precompute-processors pinned as it was, and this run leaves it so "
                     "(runbook-followed-latest=false)"),
    (False, None, "may have pinned nba-phase4-precompute-processors: this run leaves it pinned (if it followed the "
                  "latest revision before, follow it again with gcloud run services update-traffic "
                  "nba-phase4-precompute-processors --to-latest --region=us-west2 --project=nba-props-platform)"),
    (True, "true", "but nba-phase4-precompute-processors follows the latest revision now, and this run keeps it so"),
])
def test_a_leftover_candidate_is_warned_of_with_what_this_run_does_about_the_pin(follows, label, said):
    new = "nba-phase4-precompute-processors-00030-abc"
    leftover = _revision(new, tags=["candidate"], **({"runbook-followed-latest": label} if label else {}))
    warning = leftover_warning(_phase4_plan(followed_latest=follows or label == "true"), leftover, follows)
    assert warning == f"{new}, tagged candidate with no traffic (an interrupted or failed redeploy), {said}"
    assert ";" not in warning   # one clause of the plan's warnings, which are joined with semicolons
