"""The overnight sandbox plan (`runbook demo`: `make demo` and the Docker image's default) finds the
incident, fixes it for real in the sandbox and shows the fix; a plan that would change a real project is
refused before the night unless it says allow_changes: true."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from runbook_lib import cli, runner
from runbook_lib.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PLAN = ROOT / "params" / "overnight-sandbox.yaml"
REDEPLOY = ROOT / "notebooks" / "02_redeploy_phase.ipynb"
REPLAY = ROOT / "notebooks" / "03_prefixed_replay.ipynb"


@pytest.mark.slow
def test_the_sandbox_night_finds_the_incident_then_fixes_it(demo_night):
    """The night `runbook demo` (`make demo`, the image's default) ran in a fresh sandbox."""
    summary = demo_night.summary
    assert (summary["title"], summary["target"]) == ("Overnight sandbox review", "local")
    verdicts = {step["step"]: step["verdict"] for step in summary["steps"]}
    assert verdicts == {"pipeline-overview": "fail", "diagnose-build": "fail", "diagnose-phase3-deploy": "fail",
                        "security-audit": "fail", "redeploy-phase4": "warn", "redeploy-phase3": "pass",
                        "prefixed-replay": "warn", "overview-after-fix": "fail",
                        # the replay ran the head commit's corrected computations: the compare finds them
                        "compare-outputs": "fail"}
    # The code is fixed; what the last overview still finds is the audit's matter: Phase 4 is public.
    after = next(step for step in summary["steps"] if step["step"] == "overview-after-fix")
    assert after["summary"] == ("nba-phase4-precompute-processors is public (allUsers or allAuthenticatedUsers can invoke "
                                "it). Next: runbook 05 (notebooks/05_security_audit.ipynb) to see who can call "
                                "nba-phase4-precompute-processors and print the fix.")
    # The replay ran on the fixed phases: test datasets written, production untouched but for the run history.
    replayed = next(step for step in summary["steps"] if step["step"] == "prefixed-replay")
    assert replayed["summary"].startswith("Replayed 2 dates of phase3 -> phase4 into test_nba_analytics, "
                                          "test_nba_precompute; production untouched but for 12 run-history rows")
    # ...and the compare finds the head commit's two documented corrections, nothing else (no float noise).
    compared = next(step for step in summary["steps"] if step["step"] == "compare-outputs")
    differing = [t for t in ("player_game_summary", "team_offense_game_summary", "player_daily_cache",
                             "player_composite_factors", "player_shot_zone_analysis", "team_defense_zone_analysis")
                 if f".{t}:" in compared["summary"]]
    assert set(differing) <= {"player_game_summary", "player_composite_factors"} and differing, compared["summary"]
    assert compared["figures"]["tables differing"] == len(differing)
    assert compared["figures"]["rows only in production"] == compared["figures"]["rows only in test"] == 0
    state = json.loads((demo_night.home / "state.json").read_text())
    head = state["source"]["commits"]["head"]
    for phase in ("phase3", "phase4"):
        record = state["services"][phase]
        serving = next(r for r in record["revisions"] if r["name"] == record["traffic"][0]["revisionName"])
        assert (serving["commit_sha"], serving["code_phase"], serving["supports_prefix"]) == (head, phase, True)


@pytest.mark.parametrize("scale, env, said", [
    ("0", None, "scale=0.0 is not valid"),
    (None, "two", "RUNBOOK_DEMO_SCALE='two' is not valid"),
])
def test_a_bad_demo_scale_is_refused_before_the_sandbox_is_touched(tmp_path, monkeypatch, capsys, scale, env, said):
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    if env is not None:
        monkeypatch.setenv("RUNBOOK_DEMO_SCALE", env)
    assert cli.main(["demo", *(["--scale", scale] if scale else []), "-o", str(tmp_path / "reports")]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "home").exists() and not (tmp_path / "reports").exists()


def _gcp_plan(tmp_path: Path, source: Path, allow: bool | None, dry_run: bool | None,
              notebook: Path = REDEPLOY) -> Path:
    step = {"id": "fix", "notebook": str(notebook), "parameters": {"source_dir": str(source)}}
    if dry_run is not None:
        step["parameters"]["dry_run"] = dry_run
    plan = {"title": "fix", "target": "gcp", "steps": [step]}
    if allow is not None:
        plan["allow_changes"] = allow
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(plan))
    return path


@pytest.mark.parametrize("notebook", [REDEPLOY, REPLAY], ids=lambda p: p.stem)
def test_a_plan_that_changes_a_real_project_must_allow_it(sandbox_home, tmp_path, capsys, notebook):
    source = Path(sandbox_home) / "source"
    refused = _gcp_plan(tmp_path, source, allow=None, dry_run=False, notebook=notebook)
    with pytest.raises(ConfigError) as caught:
        runner.load_plan(refused)
    assert str(caught.value).endswith("step 'fix' runs with dry_run false on target gcp, which changes "
                                      "the project in params/phases.yaml; a plan that changes a real project must "
                                      "say allow_changes: true at its top.")
    out = tmp_path / "reports"
    assert cli.main(["overnight", str(refused), "-o", str(out)]) == 2 and not out.exists()
    assert "allow_changes: true" in capsys.readouterr().err
    allowed = _gcp_plan(tmp_path, source, allow=True, dry_run=False, notebook=notebook)
    assert runner.load_plan(allowed).plan.allow_changes
    for dry_run in (True, None):            # a dry run (the notebook's default) changes nothing
        assert runner.load_plan(_gcp_plan(tmp_path, source, allow=None, dry_run=dry_run,
                                          notebook=notebook)).target == "gcp"


def test_the_sandbox_plan_aimed_at_gcp_never_starts(sandbox_home, monkeypatch):
    """`--target gcp` on the sandbox plan is refused before the night: it names no checkout to build from on
    gcp, and it does not allow changes to a real project."""
    monkeypatch.setenv("RUNBOOK_HOME", str(sandbox_home))
    assert runner.load_plan(SANDBOX_PLAN).target == "local"
    assert "allow_changes" not in yaml.safe_load(SANDBOX_PLAN.read_text())
    with pytest.raises(ConfigError):
        runner.load_plan(SANDBOX_PLAN, target="gcp")
