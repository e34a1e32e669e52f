"""Runbook 00: what the sandbox serves on the incident morning, after the fix, and when things go wrong."""
import json
from pathlib import Path

import pytest

from runbook_lib import overview
from runbook_lib.errors import RunbookError
from runbook_lib.target import connect


def test_overview_flags_prefix_ignoring_phase4_and_counts_production(local_target):
    ov = overview.pipeline_overview(local_target)
    by_phase = {s.phase: s for s in ov.phases}
    assert by_phase["phase4"].supports_prefix is False
    assert by_phase["phase4"].revision.endswith("00029-fdx")
    assert by_phase["phase3"].supports_prefix is True
    assert all(s.http_status == 200 for s in ov.phases)
    # The deploy race left Phase 3 serving Phase 4's code: /health names the wrong service.
    assert by_phase["phase3"].wrong_code and by_phase["phase3"].reported_service == "nba-phase4-precompute-processors"
    assert not by_phase["phase4"].wrong_code
    assert ov.verdict == "fail"
    assert ov.summary.startswith("phase3 serves the wrong code (/health names nba-phase4-precompute-processors)")
    assert "phase4 runs" in ov.summary and "ignores dataset_prefix" in ov.summary
    # The night's IAM fix removed allUsers but left Phase 4's allAuthenticatedUsers: still public.
    assert "nba-phase4-precompute-processors is public" in ov.summary
    assert not by_phase["phase3"].public and by_phase["phase4"].public
    assert ov.figures["wrong code"] == 1
    assert ov.figures["ignore dataset_prefix"] == 1 and ov.figures["public services"] == 1
    counts = dict(zip(ov.tables["table"], ov.tables["rows"]))
    rows = local_target.warehouse.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary")["n"][0]
    assert counts["nba_analytics.player_game_summary"] == rows > 0
    table = ov.services_table()
    assert table.loc[table["phase"] == "phase4", "dataset_prefix"].item() == "IGNORED"
    assert table.loc[table["phase"] == "phase3", "right code"].item() == "NO"
    fig = overview.daily_rows_chart(ov)
    assert fig.axes[0].get_title() == "Production rows per partition date" and fig.axes[0].lines



# ---------------------------------------------------------------- beyond the incident morning

@pytest.fixture(scope="module")
def repaired_home(seeded_sandbox):
    """A sandbox after the morning fix: both phases redeployed from head, each with its own code, and
    Phase 4's allAuthenticatedUsers binding removed (the security audit's fix)."""
    from runbook_lib.local.sandbox import stop_sandbox

    home = seeded_sandbox(0.15, "repaired")
    head = json.loads((Path(home) / "state.json").read_text())["source"]["commits"]["head"]
    with connect("local", home=home) as tg:
        for phase in ("phase4", "phase3"):
            tg.services.deploy_revision(phase, commit=head, image=f"img-{phase}@{head[:7]}", supports_prefix=True,
                                        code_phase=phase)
        policy = tg.services.iam_policy("phase4")
        tg.services.set_iam_policy("phase4", {"bindings": [
            {**b, "members": [m for m in b["members"] if m != "allAuthenticatedUsers"]} for b in policy["bindings"]]})
    yield home
    stop_sandbox(home)


def test_a_repaired_sandbox_passes(repaired_home):
    with connect("local", home=repaired_home) as tg:
        ov = overview.pipeline_overview(tg)
    assert [(s.phase, s.http_status, s.wrong_code, s.supports_prefix, s.public) for s in ov.phases] == [
        ("phase3", 200, False, True, False), ("phase4", 200, False, True, False)]
    assert ov.verdict == "pass"
    assert ov.summary == "Every phase serves its own code, honours dataset_prefix and is private."
    assert ov.figures["wrong code"] == 0 and ov.figures["services healthy"] == "2/2"


def test_a_public_service_fails_the_overview(repaired_home):
    with connect("local", home=repaired_home) as tg:
        before = tg.services.iam_policy("phase3")
        public = {"bindings": before["bindings"] + [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
        tg.services.set_iam_policy("phase3", public)
        try:
            ov = overview.pipeline_overview(tg)
        finally:
            tg.services.set_iam_policy("phase3", {"bindings": before["bindings"]})
    assert ov.verdict == "fail" and ov.figures["public services"] == 1
    assert "nba-phase3-analytics-processors is public" in ov.summary
    with connect("local", home=repaired_home) as tg:
        assert overview.pipeline_overview(tg).verdict == "pass"


def test_an_iam_check_turned_off_is_public_too(repaired_home):
    with connect("local", home=repaired_home) as tg:
        tg.services.set_invoker_iam_check("phase4", False)
        try:
            ov = overview.pipeline_overview(tg)
        finally:
            tg.services.set_invoker_iam_check("phase4", True)
    assert ov.verdict == "fail" and "nba-phase4-precompute-processors is public" in ov.summary


def test_a_refused_health_check_is_not_wrong_code(repaired_home, monkeypatch):
    """No token can be minted: /health is refused (403). That says nothing about whose code runs."""
    with connect("local", home=repaired_home) as tg:
        def no_token(principal=None, phase=None):
            raise RunbookError("could not mint an identity token")

        monkeypatch.setattr(tg.services, "identity_token", no_token)
        ov = overview.pipeline_overview(tg)
    assert [(s.http_status, s.reported_service, s.wrong_code) for s in ov.phases] == [(403, None, False)] * 2
    assert ov.verdict == "warn" and "wrong code" not in ov.summary
    assert "phase3 /health answered 403" in ov.summary and ov.figures["services healthy"] == "0/2"
    table = ov.services_table()
    assert list(table["right code"]) == ["?", "?"] and list(table["reports"]) == ["-", "-"]


def test_a_failing_health_check_warns(repaired_home, monkeypatch):
    with connect("local", home=repaired_home) as tg:
        real = tg.services.health
        monkeypatch.setattr(tg.services, "health", lambda phase, token=None: {"http_status": 503, "error": "starting"}
                            if phase == "phase4" else real(phase, token=token))
        ov = overview.pipeline_overview(tg)
    states = {s.phase: s for s in ov.phases}
    assert states["phase4"].http_status == 503 and not states["phase4"].wrong_code
    assert states["phase3"].http_status == 200 and not states["phase3"].wrong_code
    assert ov.verdict == "warn" and ov.summary == "phase4 /health answered 503."
