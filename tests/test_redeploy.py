"""Runbook 02 on the sandbox: a dry run changes nothing, the morning fix redeploys Phase 4 and Phase 3 for
real (and runbook 00 then agrees), a failed verification rolls back, pinned traffic is moved, the guards
refuse with one sentence, and bad input is one sentence and exit 2 with nothing changed."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib import overview, params, redeploy, runner
from runbook_lib.errors import ConfigError, ParameterError
from runbook_lib.local.builds import LocalBuilds
from runbook_lib.local.home import sandbox_home
from runbook_lib.local.processes import is_our_process, read_run_file
from runbook_lib.services import RolloutInProgress
from runbook_lib.target import connect

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_redeploy_phase.ipynb"
P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
REVISION = re.compile(r"nba-phase[34]-[a-z]+-processors-000\d\d-[a-z]{3}")

pytestmark = pytest.mark.slow


def _params(home: Path, **values) -> params.RedeployParams:
    return params.validate_params(params.RedeployParams, {"sandbox_home": str(home), **values})


def _run(home: Path, **values) -> redeploy.RedeployResult:
    """The notebook's cells, in order, against the sandbox at `home`."""
    p = _params(home, **values)
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, p, progress=None)
        run.before.table()
        run.guard()
        run.execute()
        run.verify()
        return run.result()


def _untouched(home: Path) -> dict:
    """What a run must not change: the state file, the build history, the service processes."""
    builds = Path(home) / "builds" / "builds.json"
    return {"state": (Path(home) / "state.json").read_bytes(), "builds": builds.read_bytes(),
            "processes": {phase: (read_run_file(sandbox_home(home), phase) or {}).get("pid") for phase in ("phase3", "phase4")}}


def _head(home: Path) -> str:
    return json.loads((Path(home) / "state.json").read_text())["source"]["commits"]["head"]


@pytest.fixture
def home(make_sandbox):
    return make_sandbox(start_services=True)


# ---------------------------------------------------------------- the morning fix

def test_a_dry_run_changes_nothing(home):
    before = _untouched(home)
    assert all(before["processes"].values())
    result = _run(home, phase="phase4")
    assert result.verdict == "pass" and result.summary.startswith("Dry run, nothing changed")
    assert result.figures == {"old revision": f"{P4}-00029-fdx", "new revision": "-", "commit": _head(home)[:7],
                              "checks passed": "0/0", "rolled back": "no"}
    assert _untouched(home) == before


def test_the_execute_step_run_again_never_builds_twice(home, monkeypatch):
    """In JupyterLab the Execute cell is one keystroke from running again, after it finished or after an interrupt:
    a second build blamed "another redeploy" for this run's own candidate (/work/probes/papermill finding 3)."""
    from runbook_lib.redeploy import runbook as redeploy_runbook

    p = _params(home, phase="phase3", dry_run=False)
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, p, progress=None)
        run.execute()
        builds = (Path(home) / "builds" / "builds.json").read_bytes()
        again = run.execute()
        assert again.iloc[0, 0].startswith(f"This run already deployed {run.rollout.revision} with no traffic")
        assert (Path(home) / "builds" / "builds.json").read_bytes() == builds
        run.verify()
        assert run.result().verdict == "pass"
        # the verify cell run again (probe interactive finding 2): this run's own move of the traffic read as
        # someone else's, and the pass became "production never reached it"
        state = (Path(home) / "state.json").read_bytes()
        said = run.verify().iloc[0, 0]
        assert said.startswith(f"This run already verified {run.rollout.revision} (") and \
            "checks passed; the traffic was moved to it): its checks stand" in said
        assert run.result().verdict == "pass" and (Path(home) / "state.json").read_bytes() == state

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(redeploy_runbook, "deploy_image", interrupted)
        run = redeploy.prepare(tg, p, progress=None)
        with pytest.raises(KeyboardInterrupt):
            run.execute()
        builds = (Path(home) / "builds" / "builds.json").read_bytes()
        assert run.execute().iloc[0, 0].startswith("This run's deploy was started once and did not finish")
        assert (Path(home) / "builds" / "builds.json").read_bytes() == builds
        result = run.result()
        assert result.verdict == "fail" and "prepare the redeploy again from the top" in result.summary


def test_parameters_validated_again_since_the_prepare_cell_stop_the_cells_after_it(home):
    """In JupyterLab the operator edits the parameters and runs the validation cell again, but not the prepare
    cell: the execute cell deployed the plan prepared with the old values (probe interactive finding 3)."""
    prepared = params.from_notebook(params.RedeployParams, {"sandbox_home": str(home), "phase": "phase3",
                                                            "dry_run": False})
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, prepared, progress=None)
        params.from_notebook(params.RedeployParams, {"sandbox_home": str(home), "phase": "phase4", "dry_run": True})
        before = _untouched(home)
        said = run.execute().iloc[0, 0]
        assert said.startswith("The parameters were validated again since the redeploy was prepared (")
        assert "phase 'phase4' now, 'phase3' then" in said and "dry_run True now, False then" in said
        assert said.endswith("nothing was done; run the cells again from the redeploy's prepare cell, so it acts on "
                             "the parameters you see.")
        assert _untouched(home) == before
        params.from_notebook(params.RedeployParams, {"sandbox_home": str(home), "phase": "phase3", "dry_run": False})
        assert params.superseded(prepared, "the redeploy") is None   # validated again to the same values: go on


def test_the_morning_fix_redeploys_both_phases_and_the_overview_agrees(home):
    """Phase 4 is still public on the incident morning (allAuthenticatedUsers): the redeploy says so (warn,
    the audit runbook's matter) and leaves it; everything about the code is fixed."""
    head = _head(home)
    old_pids = _untouched(home)["processes"]
    for phase, service, previous, verdict in (("phase4", P4, f"{P4}-00029-fdx", "warn"), ("phase3", P3, None, "pass")):
        result = _run(home, phase=phase, dry_run=False)
        assert result.verdict == verdict, result.summary
        assert result.figures["checks passed"] == "7/7" and result.figures["rolled back"] == "no"
        iam = next(c for c in result.checks if c.name.startswith("invokers"))
        assert (iam.status, "allAuthenticatedUsers may invoke it" in iam.detail) == (
            ("warn", True) if phase == "phase4" else ("pass", False))
        new = result.figures["new revision"]
        assert REVISION.fullmatch(new) and new.startswith(service)
        assert previous is None or result.figures["old revision"] == previous
        with connect("local", home=home) as tg:
            info = tg.services.describe(phase)
            assert (info.revision, info.commit_sha_full, info.code_phase, info.supports_prefix) == (new, head, phase, True)
            health = tg.services.health(phase, token=tg.services.identity_token())
            assert (health["service"], health["commit_sha"]) == (service, head)
            build = LocalBuilds(tg.builds.home, tg.phases).get(result.details["build"]["build_id"])
            assert f"redeploy_{service}" in build["tags"] and "-f" in build["steps"][0]["args"]
    # The old processes were stopped; each phase now runs its own code from head with dataset_prefix support.
    assert not any(is_our_process(pid) for pid in old_pids.values())
    with connect("local", home=home) as tg:
        ov = overview.pipeline_overview(tg)
    assert [(s.phase, s.http_status, s.wrong_code, s.supports_prefix) for s in ov.phases] == [
        ("phase3", 200, False, True), ("phase4", 200, False, True)]
    assert ov.summary == (f"{P4} is public (allUsers or allAuthenticatedUsers can invoke it). Next: runbook 05 "
                          f"(notebooks/05_security_audit.ipynb) to see who can call {P4} and print the fix.")


def test_a_failed_candidate_gets_no_traffic_and_a_later_redeploy_moves_the_pinned_traffic(home):
    """Redeploying Phase 3 from the image the night's race built (Phase 4's code) fails /health on the tag's URL:
    no traffic moves (nothing to roll back), but --no-traffic pinned the service. The proper redeploy after it migrates
    pinned (`--to-tags=candidate=100`), then follows the latest again as the service did before the failed one: the
    failed candidate's label says so, and the plan names it (/work/probes/redeploy2 finding 1)."""
    with connect("local", home=home) as tg:
        race_image = tg.services.describe("phase3").image
    result = _run(home, phase="phase3", strategy="image", image=race_image, dry_run=False)
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert result.summary.startswith(f"{result.figures['new revision']} failed its checks on its tag's URL, so "
                                     f"production never reached it ({P3}-00041") and "/health service" in result.summary
    failed = {c.name: c for c in result.checks}
    assert failed["candidate /health service"].status == "fail" and P4 in failed["candidate /health service"].detail
    assert failed["commit-sha label"].status == "pass" and failed["rollback"].status == "skip"
    with connect("local", home=home) as tg:
        assert tg.services.describe("phase3").revision == result.figures["old revision"]
        assert tg.services.health("phase3", token=tg.services.identity_token())["service"] == P4  # as before
        assert tg.services.follows_latest("phase3") is False
    fixed = _run(home, phase="phase3", dry_run=False)
    assert fixed.verdict == "pass", fixed.summary
    traffic = next(c for c in fixed.checks if c.name == "serves 100% of traffic")
    assert traffic.detail.startswith(f"Its checks passed on the tag candidate's URL, so the traffic moved from "
                                     f"{P3}-00041") and traffic.detail.endswith("(following the latest again, as "
                                                                              "before the deploy): "
                                                                              f"{fixed.figures['new revision']} "
                                                                              "serves 100%.")
    assert fixed.details["plan"]["migrate_command"].startswith(f"gcloud run services update-traffic {P3} "
                                                               "--to-tags=candidate=100 ")
    assert any(w.startswith(f"{result.figures['new revision']}, tagged candidate with no traffic") and
               "this run follows the latest again" in w for w in fixed.details["plan"]["warnings"])
    with connect("local", home=home) as tg:
        assert tg.services.follows_latest("phase3") is True


def test_auto_rollback_off_leaves_the_traffic_and_says_how_to_roll_back(home, monkeypatch):
    """The candidate passes on its tag's URL, then the service's own /health fails once it serves."""
    from runbook_lib.local.services import LocalServices

    read = LocalServices.health

    def unhealthy_once_serving(self, phase, token=None, timeout_s=None, tag=None):
        answer = read(self, phase, token=token, timeout_s=timeout_s, tag=tag)
        return answer if tag else {**answer, "status": "unhealthy"}

    monkeypatch.setattr(LocalServices, "health", unhealthy_once_serving)
    result = _run(home, phase="phase3", dry_run=False, auto_rollback=False)
    assert result.verdict == "fail" and result.figures["rolled back"] == "no"
    assert "gcloud run services update-traffic nba-phase3-analytics-processors --to-revisions=" in result.summary
    with connect("local", home=home) as tg:
        assert tg.services.describe("phase3").revision == result.figures["new revision"]


def test_an_image_nobody_built_is_refused_and_nothing_changes(home):
    before = _untouched(home)
    elsewhere = "us-west2-docker.pkg.dev/nba-props-platform/elsewhere/nba-phase4-precompute-processors:x"
    # nothing records which commit it holds: the checkout's HEAD is not assumed
    with pytest.raises(ParameterError) as caught:
        _run(home, phase="phase4", strategy="image", dry_run=False, image=elsewhere)
    assert caught.value.parameter == "commit" and "nothing says which code it holds" in str(caught.value)
    result = _run(home, phase="phase4", strategy="image", dry_run=False, image=elsewhere, commit=_head(home))
    assert result.verdict == "fail" and result.figures["new revision"] == "-"
    assert result.summary.startswith("The sandbox runs only images its own builder made")
    assert result.summary.endswith(f"{P4}-00029-fdx still serves.") and _untouched(home) == before


def test_a_revision_that_cannot_start_is_not_ready_and_keeps_the_old_process(home):
    """A build of no phase's Dockerfile has no service to run: the sandbox's 'container failed to start'."""
    with connect("local", home=home) as tg:
        tree = Path(home) / "odd-tree"
        shutil.copytree(tg.source_dir, tree, ignore=shutil.ignore_patterns(".git"))
        (tree / "docker" / "odd.Dockerfile").write_text("FROM python:3.11-slim\nCOPY shared/ ./shared/\n")
        image = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/odd:1"
        tg.builds.submit(redeploy.cloudbuild_config(P4, "docker/odd.Dockerfile", image, _head(home)), str(tree))
        old = read_run_file(sandbox_home(home), "phase4")
        rollout = tg.services.deploy("phase4", image)
        assert not rollout.ready and "is not ready and cannot serve traffic" in rollout.message
        assert rollout.traffic == {f"{P4}-00029-fdx": 100}
        assert read_run_file(sandbox_home(home), "phase4")["pid"] == old["pid"]
        assert tg.services.list_revisions("phase4")[0].ready is False


# ---------------------------------------------------------------- guards

def test_a_build_in_progress_blocks_and_nothing_changes(home):
    builds = Path(home) / "builds" / "builds.json"
    records = json.loads(builds.read_text())
    working = json.loads(json.dumps(records[-1]))
    working["build"].update(id="0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f", status="WORKING",
                            createTime="2025-12-31T08:01:00.000000Z", tags=[f"service_{P4}"])
    builds.write_text(json.dumps(records + [working]))
    before = _untouched(home)
    result = _run(home, phase="phase4", dry_run=False)
    assert result.verdict == "blocked"
    assert result.summary.startswith(f"Refused to start: Build 0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f of {P4} is WORKING")
    assert "gcloud builds cancel 0d6f8a2c-5b1e-4c3d-9e7f-2a4b6c8d0e1f --region=us-west2 --project=" in result.summary
    assert _untouched(home) == before


def test_a_rollout_in_another_process_blocks(home):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state_file = Path(home) / "state.json"
        state = json.loads(state_file.read_text())
        state["services"]["phase4"]["rollout"] = {"pid": sleeper.pid, "started": "2025-12-31T08:00:00Z",
                                                  "what": "deploying an image"}
        state_file.write_text(json.dumps(state))
        result = _run(home, phase="phase4", dry_run=False)
        assert result.verdict == "blocked" and f"process {sleeper.pid}" in result.summary
        with connect("local", home=home) as tg, pytest.raises(RolloutInProgress):
            tg.services.update_traffic("phase4", None)
    finally:
        sleeper.kill()
        sleeper.wait()
    with connect("local", home=home) as tg:   # a rollout whose process died holds nothing up
        assert tg.services.rollout_in_progress("phase4") is None


def test_a_deploy_scripts_leftover_dockerfile_blocks_and_says_whose_it_is(home):
    source = Path(home) / "source"
    shutil.copyfile(source / "docker" / "precompute-processor.Dockerfile", source / "Dockerfile")
    before = _untouched(home)
    dry = _run(home, phase="phase3")
    assert dry.verdict == "warn" and "a real run would be refused now" in dry.summary
    result = _run(home, phase="phase3", dry_run=False)
    assert result.verdict == "blocked" and _untouched(home) == before
    refusal = result.details["refusals"][0]
    assert "is a copy of docker/precompute-processor.Dockerfile, left by a deploy script" in refusal
    assert "bin/precompute/deploy/deploy_precompute_processors.sh" in refusal and refusal.count(".") >= 1
    (source / "Dockerfile").unlink()
    assert _run(home, phase="phase3").verdict == "pass"


# ---------------------------------------------------------------- bad input

BAD_INPUT = [
    ({"phase": "phase9"}, "phase", "choose one of phase3, phase4"),
    ({"commit": "0123abc"}, "commit", "give a commit that exists in"),
    ({"strategy": "image"}, "image", "give the image to deploy when strategy is image"),
    ({"region": "us_west2"}, "region", "a Google Cloud region such as us-west2"),
    ({"repository": "Cloud_Run"}, "repository", "give an Artifact Registry repository id"),
]


@pytest.mark.parametrize("values, parameter, allowed", BAD_INPUT, ids=[v[1] for v in BAD_INPUT])
def test_bad_input_is_one_sentence_naming_the_parameter(sandbox_home, values, parameter, allowed):
    with pytest.raises(ParameterError) as caught:
        _params(sandbox_home, **values)
    assert caught.value.parameter == parameter and allowed in str(caught.value)
    assert str(caught.value).count("\n") == 0 and str(caught.value).startswith(f"{parameter}=")


@pytest.mark.parametrize("values, parameter, allowed", BAD_INPUT, ids=[v[1] for v in BAD_INPUT])
def test_bad_input_in_a_plan_stops_the_night_before_it_starts(sandbox_home, tmp_path, values, parameter, allowed):
    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps({"title": "t", "target": "local", "steps": [
        {"id": "redeploy", "notebook": str(NOTEBOOK), "parameters": {"sandbox_home": str(sandbox_home),
                                                                      "dry_run": False, **values}}]}))
    with pytest.raises(ConfigError) as caught:
        runner.load_plan(plan)
    assert f"step 'redeploy': {parameter}=" in str(caught.value) and allowed in str(caught.value)
    assert runner_exit(["overnight", str(plan), "-o", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_bad_input_in_the_notebook_exits_2_and_changes_nothing(home, tmp_path):
    before = _untouched(home)
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(home)], ["commit", "0123abc"],
                                                        ["dry_run", "false"]], outdir=tmp_path, progress=False)
    assert outcome.exit_code == 2 and "commit='0123abc' is not valid" in outcome.summary
    assert _untouched(home) == before


def test_a_repository_that_does_not_exist_is_refused_before_anything_is_built(home, tmp_path):
    # the sandbox, as Artifact Registry: the incident's repository exists, no other does until it is created
    before = _untouched(home)
    with pytest.raises(ParameterError) as caught:
        _run(home, phase="phase4", repository="no-such-repo")
    said = str(caught.value)
    assert caught.value.parameter == "repository" and said.startswith("repository='no-such-repo' is not valid: ")
    assert "repositories in us-west2: cloud-run-source-deploy" in said and "\n" not in said
    # the sandbox's project is a real project's id: the command names it PROJECT, saying it is gcp's
    assert ("gcloud artifacts repositories create no-such-repo --repository-format=docker --location=us-west2 "
            "--project=PROJECT (what this would be on gcp, not the sandbox's") in said
    assert "nba-props-platform" not in said
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(home)], ["repository", "no-such-repo"],
                                                        ["dry_run", "false"]], outdir=tmp_path, progress=False)
    assert outcome.exit_code == 2 and "repository='no-such-repo' is not valid" in outcome.summary
    assert _untouched(home) == before
    assert _run(home, phase="phase4", repository="cloud-run-source-deploy").verdict == "pass"


def runner_exit(argv: list[str]) -> int:
    from runbook_lib.cli import main

    return main(argv)


# ---------------------------------------------------------------- what says which code an image holds


def _commits(home: Path) -> dict:
    return json.loads((Path(home) / "state.json").read_text())["source"]["commits"]


def test_an_image_deployed_as_it_is_takes_its_commit_from_the_build_that_pushed_it(home):
    """The deploy writes the commit-sha label from the plan, so the plan's commit must come from a record of the
    image: here the kit's own build of an older commit. Defaulting to the checkout's HEAD would label old code new."""
    old = next(sha for role, sha in _commits(home).items() if sha != _head(home))
    with connect("local", home=home) as tg:
        image = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase4-precompute-processors:old"
        tree = Path(home) / "old-tree"
        subprocess.run(["git", "-C", tg.source_dir, "worktree", "add", "--detach", str(tree), old], check=True,
                       capture_output=True)
        built = tg.builds.submit(redeploy.cloudbuild_config(P4, "docker/precompute-processor.Dockerfile", image, old),
                                 str(tree))
        digest = built["results"]["images"][0]["digest"]
        pushed = redeploy.by_digest(image, digest)
        plan = redeploy.make_plan(tg, "phase4", strategy="image", image=pushed)
        assert plan.commit == old and plan.provenance == f"build {built['id']} pushed it, built from commit {old[:7]}'s tree"
        assert plan.labels["commit-sha"] == old[:7]
        with pytest.raises(ParameterError) as caught:
            redeploy.make_plan(tg, "phase4", strategy="image", image=pushed, commit=_head(home))
        assert caught.value.parameter == "commit" and f"give {old[:7]}, the commit {pushed} holds" in str(caught.value)
        # the image a revision ran: its label is the record
        serving = tg.services.describe("phase4")
        again = redeploy.make_plan(tg, "phase4", strategy="image", image=serving.image)
        assert again.commit.startswith(serving.commit_sha) and again.provenance.startswith("revision ")
        assert not [w for w in again.warnings if "service ran this image" in w]
        # an image only another phase's service ran: the incident's failure mode, said in the plan (a dry run warns)
        other = tg.services.describe("phase3")
        crossed = redeploy.make_plan(tg, "phase4", strategy="image", image=other.image)
        assert crossed.warnings == [f"only phase3's service ran this image ({crossed.provenance}), so it may hold "
                                    "phase3's code, not phase4's"]
    dry = _run(home, phase="phase4", strategy="image", image=other.image)
    assert dry.verdict == "warn" and "only phase3's service ran this image" in dry.summary


def test_the_commit_check_passes_only_on_a_record_of_the_image():
    from types import SimpleNamespace

    from runbook_lib.redeploy.verify import _commit

    plan = SimpleNamespace(commit_short="a51aae7", image="repo/x@sha256:ab", provenance="")
    assert _commit(plan, "").status == "warn"                # unproven: no label, as the plan said
    assert _commit(plan, "").detail.startswith("No commit-sha label: nothing records which commit repo/x@sha256:ab")
    assert _commit(plan, "a51aae7").status == "fail"         # a label the deploy was to remove
    plan.provenance = "build b-1 pushed it, built from commit a51aae7's tree"
    assert _commit(plan, "a51aae7").status == "pass"
    assert _commit(plan, "0000000").status == "fail" and _commit(plan, "").status == "fail"


def test_an_image_no_record_proves_is_deployed_without_a_commit_label(home):
    """A commit given for an image nothing records is not written as the commit-sha label, which runbook 00 and
    runbook 03's replay gate trust: the plan says so, its gcloud command removes the label, and the new
    revision carries none (the serving revision's label is not carried over)."""
    head = _head(home)
    image = "us-west2-docker.pkg.dev/nba-props-platform/cloud-run-source-deploy/nba-phase4-precompute-processors:elsewhere"
    with connect("local", home=home) as tg:
        config = redeploy.cloudbuild_config(P4, "docker/precompute-processor.Dockerfile", image, head)
        config["tags"] = []        # not the kit's redeploy build: nothing the kit reads records its commit
        built = tg.builds.submit(config, tg.source_dir)
        pushed = redeploy.by_digest(image, built["results"]["images"][0]["digest"])
        assert tg.services.describe("phase4").commit_sha     # the label the serving revision carries
    dry = _run(home, phase="phase4", strategy="image", image=pushed, commit=head)
    assert dry.verdict == "pass" and dry.summary.startswith("Dry run, nothing changed: nothing records which code the "
                                                            "image holds, so the new revision would carry no commit-sha "
                                                            f"label; the plan would deploy {pushed} phase4 from {head[:7]}")
    deploy = dry.details["plan"]["commands"][0]
    assert "--remove-labels=commit-sha" in deploy and "commit-sha=" not in deploy
    assert dry.details["before"]["label"] == ""
    result = _run(home, phase="phase4", strategy="image", image=pushed, commit=head, dry_run=False)
    label = next(c for c in result.checks if c.name == "commit-sha label")
    assert label.status == "warn" and label.detail.startswith("No commit-sha label"), result.summary
    assert result.figures["rolled back"] == "no"
    with connect("local", home=home) as tg:
        new = next(r for r in tg.services.list_revisions("phase4") if r.name == result.figures["new revision"])
        assert new.commit_sha == "" and "commit-sha" not in new.labels and new.labels["git-branch"] == "main"


def test_a_service_changed_since_the_plan_is_refused_and_not_rolled_back_over(home):
    """Someone deployed or moved traffic after the plan was made: rolling back to the plan's revision would undo
    their change, so the run is refused before anything changes."""
    p = _params(home, phase="phase4", dry_run=False)
    with connect("local", home=home) as tg:
        run = redeploy.prepare(tg, p, progress=None)
        older = next(r.name for r in tg.services.list_revisions("phase4")
                     if r.ready is not False and r.name != run.plan.previous_revision)
        tg.services.update_traffic("phase4", older)          # someone else, meanwhile
        before = _untouched(home)
        run.guard()
        run.execute()
        run.verify()
        result = run.result()
    assert result.verdict == "blocked" and f"now serves {older} 100%, not {P4}-00029-fdx 100%" in result.summary
    assert _untouched(home)["builds"] == before["builds"]


def test_the_build_guard_looks_in_the_services_region_too():
    from types import SimpleNamespace

    asked = []

    class Builds:
        def list(self, region, tags, limit):
            asked.append(region)
            return [{"id": "b-1", "status": "WORKING", "createTime": "2025-12-31T08:00:00Z"}] \
                if region == "us-west2" and tags == [f"service_{P4}"] else []

    plan = SimpleNamespace(service=P4, build_region="global", region="us-west2", project="p", printed_project="p",
                           gcp_only="")
    refusals = redeploy.builds_in_progress(SimpleNamespace(builds=Builds()), plan)
    assert set(asked) == {"global", "us-west2"} and len(refusals) == 1
    assert refusals[0].startswith(f"Build b-1 of {P4} is WORKING") and "--region=us-west2" in refusals[0]


def test_the_build_guard_sees_a_build_of_the_services_continuous_deployment_trigger():
    """A push to the repository builds and deploys the service through its trigger (tagged with the bare service
    name): a redeploy started meanwhile would race it to the traffic."""
    from types import SimpleNamespace

    class Builds:
        def list(self, region, tags, limit):
            return [{"id": "t-1", "status": "QUEUED", "createTime": "2025-12-31T08:00:00Z"}] \
                if region == "us-west2" and tags == [P4] else []

    plan = SimpleNamespace(service=P4, build_region="global", region="us-west2", project="p", printed_project="p",
                           gcp_only="")
    refusals = redeploy.builds_in_progress(SimpleNamespace(builds=Builds()), plan)
    assert len(refusals) == 1 and refusals[0].startswith(f"Build t-1 of {P4} is QUEUED")


def test_the_sandbox_refuses_a_split_it_cannot_serve(home):
    with connect("local", home=home) as tg:
        names = [r.name for r in tg.services.list_revisions("phase4") if r.ready is not False][:2]
        with pytest.raises(ParameterError) as caught:
            tg.services.update_traffic("phase4", {names[0]: 50, names[1]: 50})
        assert caught.value.parameter == "revision" and "one revision at a time" in str(caught.value)
        with pytest.raises(ParameterError):
            tg.services.update_traffic("phase4", {names[0]: 60})   # not 100
