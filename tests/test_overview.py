"""Runbook 00 sees what the sandbox serves on the incident morning."""
from runbook_lib import overview


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
    assert ov.figures["wrong code"] == 1
    assert ov.figures["ignore dataset_prefix"] == 1 and ov.figures["public services"] == 0
    counts = dict(zip(ov.tables["table"], ov.tables["rows"]))
    rows = local_target.warehouse.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary")["n"][0]
    assert counts["nba_analytics.player_game_summary"] == rows > 0
    table = ov.services_table()
    assert table.loc[table["phase"] == "phase4", "dataset_prefix"].item() == "IGNORED"
    assert table.loc[table["phase"] == "phase3", "right code"].item() == "NO"
    fig = overview.daily_rows_chart(ov)
    assert fig.axes[0].get_title() == "Production rows per partition date" and fig.axes[0].lines

