import copy

import pytest
import yaml

from runbook_lib.errors import ConfigError, ParameterError
from runbook_lib.phases import DEFAULT_PHASES_FILE, load_phases, parse_phases, prefixed_dataset


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(DEFAULT_PHASES_FILE.read_text())


def test_default_registry_mirrors_the_platform():
    reg = load_phases()
    p3, p4 = reg.get("phase3"), reg.get("phase4")
    assert reg.project == "nba-props-platform" and reg.region == "us-west2"
    assert p3.service == "nba-phase3-analytics-processors"
    assert p4.service == "nba-phase4-precompute-processors"
    assert (p3.endpoint, p3.payload_style) == ("/process-date-range", "date_range")
    assert (p4.endpoint, p4.payload_style) == ("/process-date", "single_date")
    assert p4.dockerfile == "docker/precompute-processor.Dockerfile"
    assert p4.reads == ("nba_analytics",) and p4.writes == ("nba_precompute",)
    assert p4.table("player_daily_cache").keys == ("cache_date", "player_lookup")
    assert p3.table("nba_analytics.team_offense_game_summary").partition_column == "game_date"
    assert reg.run_history_table == "nba_reference.processor_run_history"
    assert reg.get("4") is p4 and reg.by_service(p3.service) is p3
    assert reg.names() == ["phase3", "phase4"]


def test_expected_invokers_are_service_account_emails_and_optional(doc):
    assert load_phases().get("phase4").expected_invokers == (
        "pubsub-push@nba-props-platform.iam.gserviceaccount.com",
        "scheduler-invoker@nba-props-platform.iam.gserviceaccount.com")
    without = copy.deepcopy(doc)
    del without["phases"]["phase3"]["expected_invokers"]
    assert parse_phases(without).get("phase3").expected_invokers == ()


def test_unknown_phase_names_what_is_allowed():
    with pytest.raises(ParameterError, match=r"phase='phase7' is not valid: choose one of phase3, phase4\."):
        load_phases().get("phase7")


def test_unknown_table_names_what_is_allowed():
    with pytest.raises(ParameterError, match="phase3 writes only nba_analytics.player_game_summary"):
        load_phases().get("phase3").table("player_daily_cache")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("phases"), "missing the required key 'phases'"),
        (lambda d: d["phases"]["phase4"].pop("service"), "phases.phase4 is missing the required key 'service'"),
        (lambda d: d["phases"]["phase4"].update(payload_style="batch"), "payload_style must be one of date_range, single_date"),
        (lambda d: d["phases"]["phase3"].update(endpoint="process"), "endpoint must start with /"),
        (lambda d: d["phases"]["phase3"].update(service="Bad_Name"), "must be a Cloud Run service name"),
        (lambda d: d["phases"]["phase3"].update(prefix_support_commit="zzz"), "must be a git commit id"),
        # YAML reads unquoted 5e12345 as a float (infinity) and 0123456 as a number
        (lambda d: d["phases"]["phase3"].update(prefix_support_commit=float("5e12345")), "written in quotes (YAML read inf"),
        (lambda d: d["phases"]["phase3"].update(prefix_support_commit=123456), "written in quotes (YAML read 123456"),
        (lambda d: d["phases"]["phase3"].update(colour="red"), "key(s) ['colour'] are unknown"),
        (lambda d: d["phases"]["phase3"]["tables"]["nba_analytics.player_game_summary"].update(partition_column="player_lookup"),
         "must be the first merge key"),
        (lambda d: d["phases"]["phase3"]["tables"].update({"nba_precompute.x": {"keys": ["a"], "partition_column": "a"}}),
         "which phases.phase3.writes does not list"),
        (lambda d: d.update(run_history_table="history"), "run_history_table must be written dataset.table"),
        # Printed in gcloud commands (--project=, --region=): a name Google would refuse, or one with a
        # space or a ; in it, must not get that far.
        (lambda d: d.update(project="My Project; rm -rf ~"), "project must be a Google Cloud project id"),
        (lambda d: d.update(region="us west2"), "region must be a Google Cloud region"),
        (lambda d: d["phases"]["phase4"].update(region="West"), "phases.phase4.region must be a Google Cloud region"),
        (lambda d: d.update(project_number="12ab"), "project_number must be a project number"),
        (lambda d: d.update(run_history_table="nba reference.history"), "run_history_table must be written dataset.table"),
        (lambda d: d.update(bookkeeping_columns="processed_at"), "bookkeeping_columns must be a list of names"),
        (lambda d: d.update(bookkeeping_columns=["processed at"]), "bookkeeping_columns entry 'processed at' must be a column name"),
        (lambda d: d["phases"]["phase4"].update(expected_invokers="pubsub-push@p.iam.gserviceaccount.com"),
         "phases.phase4.expected_invokers must be a list of names"),
        (lambda d: d["phases"]["phase4"].update(expected_invokers=["user:me@example.com"]),
         "expected_invokers entry 'user:me@example.com' must be a service-account email"),
        # two phases on one service: runbook 00 would call one of them wrong code, runbook 02 deploy into the other
        (lambda d: d["phases"]["phase4"].update(service=d["phases"]["phase3"]["service"]),
         "phases.phase4.service names nba-phase3-analytics-processors in us-west2, which phases.phase3 already runs on"),
    ],
)
def test_malformed_registry_is_one_sentence_naming_the_key(doc, mutate, message):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(ConfigError) as err:
        parse_phases(bad, source="phases.yaml")
    text = str(err.value)
    assert message in text
    assert text.startswith("phases.yaml: ") and text.endswith(".") and "\n" not in text


def test_invalid_yaml_and_missing_file(tmp_path):
    broken = tmp_path / "phases.yaml"
    broken.write_text("phases: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML at line"):
        load_phases(broken)
    with pytest.raises(ParameterError, match="phases_file="):
        load_phases(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "prefix, expected",
    [("test", "test_nba_analytics"), ("test_", "test__nba_analytics"), ("", "nba_analytics")],
)
def test_prefix_matches_upstream(prefix, expected):
    assert prefixed_dataset("nba_analytics", prefix) == expected


def test_one_service_name_in_two_regions_is_two_services(doc):
    two = copy.deepcopy(doc)
    two["phases"]["phase4"].update(service=two["phases"]["phase3"]["service"], region="europe-west1")
    registry = parse_phases(two, source="phases.yaml")
    assert {p.region for p in registry.phases.values()} == {"us-west2", "europe-west1"}


def test_bookkeeping_columns_are_optional(doc):
    assert load_phases().bookkeeping_columns == ("processed_at", "created_at", "updated_at", "run_id")
    bare = copy.deepcopy(doc)
    bare.pop("bookkeeping_columns")
    assert parse_phases(bare).bookkeeping_columns == ()
