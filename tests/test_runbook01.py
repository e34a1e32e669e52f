"""Runbook 01's steps against the sandbox reach the incident's true cause; bad input is one sentence."""
import re
from pathlib import Path

import pytest

from runbook_lib import diagnose, params
from runbook_lib.errors import ParameterError
from runbook_lib.local.incident_night import INCIDENT_BUILD_ID
from runbook_lib.shell_words import GCP_ONLY_ASIDE


def test_latest_failed_phase4_build_is_the_incident_build(local_target):
    build = diagnose.find_build(local_target, phase="phase4")
    assert build["id"] == INCIDENT_BUILD_ID
    assert diagnose.find_build(local_target, build_id=INCIDENT_BUILD_ID)["id"] == INCIDENT_BUILD_ID


class CountedBuilds:
    """The target's builds, with each call counted; `later` builds are listed as the newest of their service."""

    def __init__(self, builds, later=()):
        self._builds, self.later, self.calls = builds, list(later), []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self._builds, name)

    def list(self, region=None, tags=None, status=None, limit=20):
        self.calls.append("list")
        tag = tags if isinstance(tags, str) else (list(tags or []) or [None])[0]
        mine = [b for b in self.later if tag is None or tag in b["tags"]]
        return (mine + self._builds.list(region, tags=tags, status=status, limit=limit))[:limit]


def test_a_phase_without_a_failed_build_is_a_pass_naming_the_builds_looked_at(local_target, sandbox_home):
    local_target.builds = counted = CountedBuilds(local_target.builds)
    assert diagnose.find_build(local_target, phase="phase3") is None
    dg = _prepare(local_target, sandbox_home, phase="phase3")
    assert (dg.build, dg.phase, dg.sibling) == (None, "phase3", "phase4")
    dx = dg.result()
    assert dx.verdict == "pass"
    assert dx.summary == ("No failed build of nba-phase3-analytics-processors in us-west2 (the last 2 builds looked "
                          "at: 2 SUCCESS, the newest 5ffaf38b-82b9-5d00-8f49-c1b31539d7f8 on 2025-12-31 01:41 UTC).")
    assert dx.figures == {"service": "nba-phase3-analytics-processors", "phase": "phase3", "builds_looked_at": 2}
    # The builds' own steps show nothing; the builds looked at stand in for the build; the checkout is still read.
    assert list(dg.summary_table()["status"]) == ["SUCCESS", "SUCCESS"]
    steps = [dg.build_table, dg.evidence_table, dg.log_table, dg.working_command, dg.findings_table]
    assert [step() for step in steps] == [None] * 5
    assert "upload" in dg.preflight_table().index
    assert dg.side_by_side.note == "No failed build of nba-phase3-analytics-processors to compare."
    assert "Cause:" not in dx._repr_html_() and "Parameters for" not in dx._repr_html_()
    # each search: one list each of source deploys, redeploys and trigger builds; nothing else
    assert counted.calls == ["list"] * 6


# The morning fix as runbook 02 builds it: tagged redeploy_<service>, not service_<service>.
LATER_SUCCESS = {"id": "0f0e0d0c-0b0a-4909-8807-060504030201", "status": "SUCCESS",
                 "createTime": "2026-01-02T09:00:00Z", "finishTime": "2026-01-02T09:04:00Z",
                 "tags": ["redeploy_nba-phase4-precompute-processors", "commit_42311f5"],
                 "name": "projects/756957797294/locations/us-west2/builds/0f0e0d0c-0b0a-4909-8807-060504030201"}


def test_a_failure_a_later_success_replaced_is_a_warning_that_keeps_the_diagnosis(local_target, sandbox_home):
    alone = _prepare(local_target, sandbox_home).result()              # the incident morning: no later success
    assert alone.verdict == "fail" and "superseded_by" not in alone.figures
    local_target.builds = counted = CountedBuilds(local_target.builds, [LATER_SUCCESS])
    dg = _prepare(local_target, sandbox_home)
    assert dg.build["id"] == INCIDENT_BUILD_ID and counted.calls == ["list"] * 3
    dx = dg.result()
    assert dx.verdict == "warn"
    assert dx.summary == (f"Superseded: nba-phase4-precompute-processors build {INCIDENT_BUILD_ID} FAILURE on "
                          f"2025-12-31 01:41 UTC, but build {LATER_SUCCESS['id']} of it succeeded later, on "
                          "2026-01-02 09:00 UTC.")
    assert dx.cause.endswith(f"the failed build's diagnosis, for the record: {alone.cause}")
    assert dx.figures == {**alone.figures, "superseded_by": LATER_SUCCESS["id"]}
    assert dx.findings == alone.findings and dx.fixes == alone.fixes
    assert dx.details["superseded_by"]["createTime"] == "2026-01-02T09:00:00Z"
    # A later build that did not succeed replaces nothing.
    local_target.builds = CountedBuilds(counted._builds, [{**LATER_SUCCESS, "status": "CANCELLED"}])
    assert _prepare(local_target, sandbox_home).result().verdict == "fail"


@pytest.mark.slow
def test_the_notebook_on_a_phase_without_a_failed_build_passes_and_shows_no_none(sandbox_home, tmp_path):
    import nbformat

    from runbook_lib import runner

    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "01_diagnose_build.ipynb"
    outcome = runner.run_notebook(notebook, parameters=[["sandbox_home", str(sandbox_home)], ["phase", "phase3"]],
                                  outdir=tmp_path, progress=False)
    assert (outcome.outcome, outcome.exit_code) == ("completed", 0), outcome.message
    nb = nbformat.read(outcome.notebook, as_version=4)
    assert nb.metadata["runbook"]["verdict"] == "pass"
    assert nb.metadata["runbook"]["summary"].startswith("No failed build of nba-phase3-analytics-processors")
    shown = [o.get("data", {}).get("text/plain", o.get("text", "")) for c in nb.cells if c.cell_type == "code"
             for o in c.outputs]
    assert "None" not in shown


def test_the_whole_chain_reaches_the_true_cause(local_target, sandbox_home):
    build = diagnose.find_build(local_target, phase="phase4")
    evidence = diagnose.builder_evidence(build)
    source_dir = diagnose.default_source_dir(local_target)
    pf = diagnose.run_preflight(local_target, "phase4", source_dir)
    fetched = diagnose.fetch_log(local_target, build)
    findings = diagnose.classify_log(fetched.text)
    dx = diagnose.conclude(local_target, findings, evidence, pf, fetched, "phase4", source_dir)

    assert evidence.builder == "buildpacks" and evidence.source_deploy
    assert pf.builder.builder == "buildpacks"                       # no root Dockerfile in the checkout
    assert any(lint.kind == "root-dockerfile-race" for lint in pf.lints)
    assert fetched.source == "gcs"
    assert fetched.command == (f"gcloud builds log {INCIDENT_BUILD_ID} --region=us-west2 "
                               "--project=nba-props-platform")
    assert findings[0].signature == "buildpacks-no-entrypoint"
    assert dx.verdict == "fail"
    assert dx.figures["log_source"] == "gcs" and dx.figures["top_signature"] == "buildpacks-no-entrypoint"
    assert "race" in dx.cause
    assert dx.redeploy == {"phase": "phase4", "source_dir": source_dir, "strategy": "cloudbuild-config",
                           "dry_run": True}
    # The redeploy runbook takes these values as they are (its parameter model accepts them).
    redeploy = params.validate_params(params.RedeployParams, {**dx.redeploy, "sandbox_home": str(sandbox_home)})
    assert (redeploy.phase, redeploy.source_dir, redeploy.dry_run) == ("phase4", source_dir, True)
    assert not any("--no-use-google-dev-pack" in fix and "does not exist" not in fix for fix in dx.fixes)
    assert "Parameters for notebooks/02_redeploy_phase.ipynb:" in dx._repr_html_()
    assert set(diagnose.findings_table(findings).columns) >= {"signature", "line", "evidence", "cause", "fix"}
    table = diagnose.preflight_table(pf)
    assert re.fullmatch(rf"{len(pf.upload.files)} files, [\d.]+ (B|KiB|MiB) \(rules: .+\)", table.loc["upload"].iloc[0])


def test_the_diagnosis_links_the_redeploy_runbook_only_once_it_exists(tmp_path, monkeypatch):
    from runbook_lib.diagnose import verdict

    dx = diagnose.explain(diagnose.classify_log("x"), phase="phase4")
    monkeypatch.setattr(verdict, "RUNBOOKS_DIR", tmp_path / "notebooks")
    assert "02_redeploy_phase" not in dx._repr_html_()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "02_redeploy_phase.ipynb").write_text("{}")
    assert "Parameters for notebooks/02_redeploy_phase.ipynb:" in dx._repr_html_()
    assert "phase = &#x27;phase4&#x27;" in dx._repr_html_()


def test_side_by_side_compares_the_sibling_and_diffs_dockerfiles(local_target):
    build = diagnose.find_build(local_target, phase="phase4")
    sibling = diagnose.sibling_phase(local_target, "phase4")
    assert sibling == "phase3"
    sbs = diagnose.side_by_side(local_target, build, "phase4", sibling, diagnose.default_source_dir(local_target))
    assert sbs.builds.loc["builder"].tolist()[:2] == ["buildpacks", "dockerfile"]
    changed = sbs.dockerfile_diff[sbs.dockerfile_diff["op"] != "equal"]
    assert changed["a_instruction"].str.contains("data_processors/precompute").any()
    assert changed["b_instruction"].str.contains("data_processors/analytics").any()
    with pytest.raises(ParameterError, match="compare_with='phase4' is not valid: name a phase other than"):
        diagnose.sibling_phase(local_target, "phase4", "phase4")


@pytest.mark.parametrize("values, message", [
    ({"build_id": "c3c052da"}, "build_id='c3c052da' is not valid: give a Cloud Build id"),
    ({"phase": "phase7"}, "phase='phase7' is not valid: choose one of phase3, phase4."),
    ({"source_dir": "/no/such/dir"}, "source_dir='/no/such/dir' is not valid: give an existing folder"),
    ({"log_file": "/no/such.log"}, "log_file='/no/such.log' is not valid: give an existing file"),
    ({"compare_with": "phase9"}, "compare_with='phase9' is not valid: choose one of phase3, phase4."),
    ({"colour": "red"}, "colour is not a parameter of this runbook: use one of target, project"),
])
def test_bad_parameters_are_one_sentence(values, message):
    with pytest.raises(ParameterError) as err:
        params.validate_params(params.DiagnoseParams, values)
    assert message in str(err.value) and str(err.value).count(". ") == 0


def test_a_build_that_ran_the_other_phase_dockerfile_is_caught(local_target):
    """The night's Phase 3 source deploy succeeded, but with Phase 4's Dockerfile: the log's docker steps say so."""
    build = local_target.builds.latest_successful("nba-phase3-analytics-processors")
    assert build["createTime"].startswith("2025-12-31")
    source_dir = diagnose.default_source_dir(local_target)
    phase = diagnose.build_phase(local_target, build, "phase4")
    assert phase == "phase3"                                   # the build's own service tag decides
    fetched = diagnose.fetch_log(local_target, build)
    ran = diagnose.built_from(local_target, fetched.text, source_dir)
    assert ran["phase"] == "phase4" and ran["dockerfile"] == "docker/precompute-processor.Dockerfile"
    evidence = diagnose.builder_evidence(build)
    dx = diagnose.conclude(local_target, diagnose.classify_log(fetched.text), evidence,
                           diagnose.run_preflight(local_target, phase, source_dir), fetched, phase, source_dir)
    assert dx.verdict == "fail"
    assert "ran phase4's Dockerfile" in dx.summary and "runs phase4's code" in dx.summary
    assert dx.fixes[0].startswith("Redeploy phase3 from its own Dockerfile (docker/analytics-processor.Dockerfile)")
    assert dx.redeploy["phase"] == "phase3" and dx.redeploy["strategy"] == "cloudbuild-config"


def test_the_dec29_phase3_build_ran_its_own_dockerfile(local_target):
    builds = [b for b in local_target.builds.list(tags=["service_nba-phase3-analytics-processors"], limit=10)
              if b["createTime"].startswith("2025-12-29")]
    fetched = diagnose.fetch_log(local_target, builds[0])
    ran = diagnose.built_from(local_target, fetched.text, diagnose.default_source_dir(local_target))
    assert ran["phase"] == "phase3"


def test_buildkit_steps_are_read_too():
    text = "#7 [2/5] WORKDIR /app\n#8 [3/5] COPY requirements.txt .\n#9 [stage-1 4/5] RUN  pip install -r requirements.txt\n"
    assert diagnose.logged_instructions(text) == ["WORKDIR /app", "COPY requirements.txt .",
                                                  "RUN pip install -r requirements.txt"]


def test_a_well_formed_build_id_that_does_not_exist_names_build_id(local_target):
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ParameterError) as caught:
        diagnose.find_build(local_target, build_id=missing)
    assert caught.value.parameter == "build_id" and "none has this id in region us-west2 or global" in str(caught.value)


# ---- the run object notebook 01 calls

def _prepare(target, sandbox_home, **values):
    return diagnose.prepare(target, params.validate_params(params.DiagnoseParams,
                                                           {"sandbox_home": str(sandbox_home), **values}))


def test_prepare_finds_the_incident_build_and_the_run_shows_each_step(local_target, sandbox_home):
    dg = _prepare(local_target, sandbox_home)
    assert isinstance(dg, diagnose.DiagnoseRun)
    assert (dg.build["id"], dg.phase, dg.sibling) == (INCIDENT_BUILD_ID, "phase4", "phase3")
    assert dg.source_dir == diagnose.default_source_dir(local_target) is not None
    assert dg.summary_table().loc["id", "value"] == INCIDENT_BUILD_ID
    assert dg.evidence_table().loc["builder", "value"] == "buildpacks"
    for table in (dg.summary_table(), dg.build_table(), dg.evidence_table(), dg.log_table(), dg.findings_table(),
                  dg.preflight_table()):
        # the key column's name on the header row (not on a row of its own), and no row numbers beside it
        assert table._repr_html_().split("</thead>")[0].count("<tr") == 1 and table.columns.name
    assert "gcloud would choose now" in dg.evidence_table().index         # the checkout was preflighted
    assert dg.log.source == "gcs" and list(dg.log_table().index)[0] == "gcs"
    # the sandbox's build carries the real project's id: the printed command names PROJECT and says so
    assert dg.working_command() == (f"Working command: `gcloud builds log {INCIDENT_BUILD_ID} --region=us-west2 "
                                    f"--project=PROJECT`{GCP_ONLY_ASIDE}")
    assert dg.summary_table().loc["log_command", "value"].endswith("--region=us-west2 --project=PROJECT")
    assert "nba-props-platform" not in dg.working_command()
    assert dg.findings_table().loc[1, "signature"] == "buildpacks-no-entrypoint"
    assert "upload" in dg.preflight_table().index
    assert dg.side_by_side.sibling == "phase3" and dg.side_by_side.dockerfile_diff is not None
    dx = dg.result()
    assert dx.verdict == "fail" and dx.figures["top_signature"] == "buildpacks-no-entrypoint"
    assert dx.figures["log_source"] == "gcs" and "race" in dx.cause


def test_the_run_reads_each_fact_once_and_its_verdict_does_not_need_the_skipped_cells(local_target, sandbox_home,
                                                                                     monkeypatch):
    from runbook_lib.diagnose import steps

    calls = {"fetch_log": 0, "run_preflight": 0, "side_by_side": 0}

    def counted(name):
        real = getattr(steps, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(steps, name, counted(name))
    shown = _prepare(local_target, sandbox_home)
    shown.evidence_table(), shown.log_table(), shown.working_command(), shown.findings_table(), shown.preflight_table()
    assert calls == {"fetch_log": 1, "run_preflight": 1, "side_by_side": 0}
    assert shown.result().verdict == "fail" and calls["fetch_log"] == 1 and calls["run_preflight"] == 1
    skipped = _prepare(local_target, sandbox_home)           # only the verdict cell runs
    assert skipped.result().to_dict() == shown.result().to_dict()
    assert calls == {"fetch_log": 2, "run_preflight": 2, "side_by_side": 0}   # no sibling build was looked up


def test_prepare_takes_the_phase_from_the_build_and_checks_compare_with_first(local_target, sandbox_home):
    sibling_build = local_target.builds.latest_successful("nba-phase3-analytics-processors")["id"]
    dg = _prepare(local_target, sandbox_home, build_id=sibling_build)          # phase defaults to phase4
    assert (dg.phase, dg.sibling) == ("phase3", "phase4")
    assert "ran phase4's Dockerfile" in dg.result().summary
    with pytest.raises(ParameterError, match="compare_with='phase3' is not valid: name a phase other than"):
        _prepare(local_target, sandbox_home, build_id=sibling_build, compare_with="phase3")


def test_a_run_without_a_checkout_shows_no_preflight_and_no_dockerfile_diff(local_target):
    build = diagnose.find_build(local_target, phase="phase4")
    dg = diagnose.DiagnoseRun(local_target, build, "phase4", "phase3", source_dir=None)
    assert dg.preflight is None and dg.preflight_table() is None
    assert "gcloud would choose now" not in dg.evidence_table().index
    assert dg.side_by_side.dockerfile_diff is None and dg.side_by_side.builds is not None
    assert dg.result().verdict == "fail" and "built_from" not in dg.result().figures


def test_the_working_command_says_so_when_there_is_none(local_target, sandbox_home):
    from runbook_lib.buildlogs import LogFetch
    dg = _prepare(local_target, sandbox_home)
    dg.log = LogFetch(build_id="", text=None, source=None, command=None)   # a build without an id
    assert dg.working_command() == "Working command: none (the build has no id to read its log by)."


def test_a_build_with_no_readable_log_is_diagnosed_from_its_build_resource(local_target):
    build = dict(diagnose.find_build(local_target, phase="phase4"))
    build.update(options={"logging": "NONE"},
                 failureInfo={"type": "PUSH_FAILED", "detail": "failed to push image: denied"})
    dg = diagnose.DiagnoseRun(local_target, build, "phase4", "phase3", source_dir=None)
    assert dg.findings == [] and dg.findings_table().empty
    dx = dg.result()
    assert dx.verdict == "fail" and dx.figures["log_source"] == "none"
    assert dx.cause.startswith("No log of the build could be read (the build ran with options.logging=NONE")
    assert 'failureInfo.type PUSH_FAILED (unable to push the image to the repository), detail "failed to push ' \
           'image: denied"' in dx.cause
    assert "signature matched" not in dx.cause and dx.figures["top_signature"] == "push-permission-denied"


def test_a_phases_dockerfile_is_shell_quoted_in_the_fix_commands():
    """phases.yaml's Dockerfile path goes into `docker build -f ...`: a path with a space is one argument."""
    import dataclasses
    import json
    import shlex

    from fakes.fixtures import PHASE4_FAILED_ID, recorded_bucket_log
    from runbook_lib.phases import load_phases

    registry = load_phases()
    spaced = dataclasses.replace(registry.get("phase4"), dockerfile="docker/precompute processor.Dockerfile")
    phases = dataclasses.replace(registry, phases={**registry.phases, "phase4": spaced})
    build = next(b for b in json.loads((Path(__file__).parent / "fakes" / "data" / "cloudbuild_builds.json").read_text())
                 if b["id"] == PHASE4_FAILED_ID)
    dx = diagnose.explain(diagnose.classify_log(recorded_bucket_log(PHASE4_FAILED_ID)), diagnose.builder_evidence(build),
                          phases=phases)
    step = next(f for f in dx.fixes if "docker build -f" in f)
    assert "docker build -f 'docker/precompute processor.Dockerfile' ." in step
    assert shlex.split("docker build -f 'docker/precompute processor.Dockerfile' .")[3] == spaced.dockerfile


def test_a_long_builds_every_step_is_on_the_page(sandbox_home):
    """pandas shows 10 rows of a table past display.max_rows: a 70-step build's failed step 35 would be cut."""
    from runbook_lib.diagnose.build import build_table

    params.from_notebook(params.DiagnoseParams, {"sandbox_home": str(sandbox_home)})   # the validation cell sets
    # the page's display
    steps = [{"name": "gcr.io/cloud-builders/gcloud", "id": f"step-{i}", "args": ["version"], "status": "SUCCESS"}
             for i in range(300)]
    steps[150] = dict(steps[150], id="the-failed-step", status="FAILURE")
    page = build_table({"id": "b", "status": "FAILURE", "steps": steps})._repr_html_()
    assert "the-failed-step" in page and page.count("<tr>") == 300   # (the header row has a style)
