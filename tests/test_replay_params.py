"""Runbook 03's bad input: one sentence naming the parameter, exit 2, nothing created or called."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import nbformat
import pytest

from runbook_lib import params, runner
from runbook_lib.errors import ParameterError
from runbook_lib.target import connect

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_prefixed_replay.ipynb"
# a week ahead, not a day: the cases are made when the tests are collected, and a run may cross midnight UTC
NEXT_WEEK = (datetime.now(timezone.utc).date() + timedelta(days=7)).isoformat()


@pytest.mark.parametrize("values, sentence", [
    ({"start_date": "2025-12-17", "end_date": "2025-12-15"},
     "start_date='2025-12-17' is not valid: give a date on or before end_date 2025-12-15."),
    ({"start_date": "2025-11-01", "end_date": "2025-12-15", "max_dates": 31},
     "end_date='2025-12-15' is not valid: 2025-11-01..2025-12-15 is 45 dates, more than max_dates=31; replay "
     "fewer dates or raise max_dates."),
    ({"end_date": NEXT_WEEK}, f"end_date='{NEXT_WEEK}' is not valid: it is in the future (today is "),
    ({"start_date": "2025-12-32"}, "start_date='2025-12-32' is not valid: give a date as YYYY-MM-DD, or leave it empty."),
    ({"phases": ["phase5"]}, "phases='phase5' is not valid: choose one of phase3, phase4 (it takes a list: [a, b], "
     "or a,b on the command line)."),
    ({"processors": ["nope"]}, "processors='nope' is not valid: choose from player_game_summary, "),
    ({"processors": ["player_game_summary"]},
     "processors=['player_game_summary'] is not valid: name none of phase4's processors (player_daily_cache, "
     "player_composite_factors, player_shot_zone_analysis, team_defense_zone_analysis): add some of them, or leave "
     "phase4 out of phases."),
    ({"concurrency": 0}, "concurrency=0 is not valid: a whole number from 1 to 16."),
    ({"concurrency": True}, "concurrency=True is not valid: a whole number from 1 to 16."),
    ({"concurrency": 2.5}, "concurrency=2.5 is not valid: a whole number from 1 to 16."),
    ({"test_dataset_ttl_days": 0}, "test_dataset_ttl_days=0 is not valid: a whole number of days from 1 to 365."),
    ({"max_dates": 0}, "max_dates=0 is not valid: a whole number from 1 to 366."),
    ({"dataset_prefix": "test_"}, "dataset_prefix='test_' is not valid: upstream adds the underscore itself"),
    ({"dataset_prefix": ""}, "dataset_prefix='' is not valid: upstream reads an empty prefix as production"),
    ({"allowed_prod_writes": ["test_nba_analytics.player_game_summary"]},
     "allowed_prod_writes='test_nba_analytics.player_game_summary' is not valid: give production tables as "
     "\"dataset.table\" in nba_analytics, nba_precompute, nba_raw, nba_reference (it takes a list: [a, b], or a,b on "
     "the command line)."),
    ({"impersonate_service_account": "someone@example.com"}, "impersonate_service_account='someone@example.com' is "
                                                             "not valid: give service-account emails"),
    ({"resume": "perhaps"}, "resume='perhaps' is not valid: true or false."),
])
def test_each_bad_value_is_one_sentence_naming_it(sandbox_home, values, sentence):
    with pytest.raises(ParameterError) as caught:
        params.validate_params(params.ReplayParams, {"sandbox_home": str(sandbox_home), **values})
    assert str(caught.value).startswith(sentence) and "\n" not in str(caught.value)


def test_dataset_prefix_is_described_by_the_rule_its_check_applies():
    from runbook_lib.phases import TEST_PREFIX_RULE

    allowed = params.ReplayParams.model_fields["dataset_prefix"].json_schema_extra["allowed"]
    assert allowed == f"a test prefix: {TEST_PREFIX_RULE}"


def test_good_values_are_read_as_the_runbook_uses_them(sandbox_home):
    p = params.validate_params(params.ReplayParams, {
        "sandbox_home": str(sandbox_home), "phases": ["4", "phase3"], "processors": ["player_game_summary",
                                                                                   "player_daily_cache"],
        "start_date": "2025-12-15", "end_date": "2025-12-16"})
    with connect("local", home=sandbox_home) as tg:
        assert p.selected_phases(tg.phases) == ["phase3", "phase4"]
        assert p.processors_by_phase(tg.phases) == {"phase3": ("player_game_summary",),
                                                    "phase4": ("player_daily_cache",)}
        assert p.allowed_writes(tg.phases) == ["nba_reference.processor_run_history"]
    assert (p.checksum(), p.principal(), p.ledger_file()) == (True, None, Path(sandbox_home) / "replay" /
                                                              "test.ledger.jsonl")
    on_gcp = params.validate_params(params.ReplayParams, {
        "target": "gcp", "project": "my-project", "source_dir": str(sandbox_home),
        "impersonate_service_account": "serviceAccount:Replayer@my-project.iam.gserviceaccount.com"})
    assert (on_gcp.checksum(), on_gcp.principal(), on_gcp.ledger_file()) == (
        False, "serviceAccount:replayer@my-project.iam.gserviceaccount.com", None)
    assert on_gcp.connect_options() == {"project": "my-project", "runbook": "03_prefixed_replay",
                                        "source_dir": str(Path(sandbox_home).resolve())}


@pytest.mark.parametrize("name, value, highest", [
    ("concurrency", "1_000", 16), ("concurrency", " 24 ", 16), ("max_dates", "100000", 366),
    # a number from a notebook's arithmetic (numpy), an exact number (Decimal, Fraction) and bytes: pydantic
    # converts each to an int, so the caps must hold on the converted value, not only on a Python int or float
    ("concurrency", "numpy", 16), ("test_dataset_ttl_days", Decimal(36500), 365), ("max_dates", Fraction(100000), 366),
    ("concurrency", b"64", 16), ("max_dates", Decimal("1000.0"), 366),
])
def test_the_caps_hold_for_every_form_a_number_comes_in(sandbox_home, name, value, highest):
    import numpy as np

    value = np.int64(1000) if value == "numpy" else value
    with pytest.raises(ParameterError) as caught:
        params.validate_params(params.ReplayParams, {"sandbox_home": str(sandbox_home), name: value})
    assert caught.value.parameter == name
    assert "a whole number" in str(caught.value) and f"from 1 to {highest}" in str(caught.value)


def _outside_effects(home: Path) -> dict:
    """What a refused run must not change: datasets, the services' request log's POSTs, the ledgers."""
    with connect("local", home=home) as tg:
        datasets = tg.warehouse.list_datasets()
    log = (home / "logs" / "requests.jsonl").read_text().splitlines()
    return {"datasets": datasets, "posts": sum('"POST"' in line for line in log), "ledgers": (home / "replay").exists()}


@pytest.mark.slow
@pytest.mark.parametrize("values, sentence", [
    ([["dataset_prefix", "test_"]], "bad parameter: dataset_prefix='test_' is not valid: upstream adds the underscore"),
    # `-p concurrency 1_000` stays the text written (YAML 1.2), which a number parameter refuses
    ([["concurrency", "1_000"]], "bad parameter: concurrency='1_000' is not valid: a whole number from 1 to 16"),
    ([["start_date", "2025-11-01"], ["end_date", "2025-11-02"]],
     "bad parameter: start_date='2025-11-01' is not valid: it is outside the data: production has output for "
     "2025-12-15..2025-12-18."),
])
def test_a_refused_run_exits_2_with_nothing_created_or_called(sandbox_home, tmp_path, values, sentence):
    home = Path(sandbox_home)
    before = _outside_effects(home)
    # A real run (not the default dry run), so that "nothing created or called" is the refusal's doing.
    outcome = runner.run_notebook(NOTEBOOK, parameters=[["sandbox_home", str(home)], ["dry_run", "false"], *values],
                                  outdir=tmp_path, progress=False)
    meta = nbformat.read(outcome.notebook, as_version=4).metadata["runbook"]
    assert (outcome.exit_code, outcome.outcome) == (2, "bad-parameters")
    assert meta["summary"].startswith(sentence), meta["summary"]
    assert _outside_effects(home) == before


@pytest.mark.parametrize("values, named", [({"end_date": "2025-12-10"}, "end_date='2025-12-10'"),
                                           ({"start_date": "2025-12-10"}, "start_date='2025-12-10'"),
                                           ({"start_date": "2025-12-10", "end_date": "2025-12-16"},
                                            "start_date='2025-12-10'"),
                                           ({"start_date": "2025-12-16", "end_date": "2025-12-20"},
                                            "end_date='2025-12-20'")])
def test_a_date_outside_the_data_names_the_parameter_that_was_given(sandbox_home, values, named):
    # an end_date alone stands for the start too: a date outside the data is the end_date's to change
    from datetime import date
    chosen = params.validate_params(params.ReplayParams, {"sandbox_home": str(sandbox_home), **values})
    with pytest.raises(ParameterError, match="outside the data") as caught:
        chosen.days(date(2025, 12, 15), date(2025, 12, 18))
    assert str(caught.value).startswith(named)
