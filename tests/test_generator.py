"""The sample data generator: deterministic, realistic, and shaped like the platform's raw tables."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.local.generator import (
    BOOKMAKERS,
    PLAYERS_PER_TEAM,
    PROP_TYPES,
    RAW_COLUMNS,
    TEAMS,
    build_raw_frames,
    generate_raw,
    league_roster,
    player_lookup,
)
from runbook_lib.local.pipeline import TABLE_COLUMNS
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.phases import load_phases

RAW_TABLES = ("games", "player_boxscores", "prop_lines")


def digest(warehouse, ref: str) -> tuple[int, str]:
    """Row count and an order-independent digest of a table's full contents."""
    df = warehouse.query(
        "SELECT COUNT(*) AS n, TO_HEX(MD5(STRING_AGG(TO_JSON_STRING(t), '\\n' ORDER BY TO_JSON_STRING(t)))) AS d "
        f"FROM `{ref}` AS t")
    return int(df["n"].iloc[0]), df["d"].iloc[0]


def schemas(warehouse) -> set[str]:
    with warehouse.connection() as con:
        return {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One generation at the defaults (scale 1.0), shared by the read-only tests."""
    wh = LocalWarehouse(tmp_path_factory.mktemp("gen") / "w.duckdb")
    counts = generate_raw(wh)
    frames = {name: wh.query(f"SELECT * FROM `nba_raw.{name}`") for name in RAW_TABLES}
    return wh, counts, frames


def test_default_scale_is_about_two_weeks_and_fifty_thousand_rows(default_run):
    wh, counts, frames = default_run
    assert set(counts) == {f"nba_raw.{t}" for t in RAW_TABLES}
    for name in RAW_TABLES:
        assert counts[f"nba_raw.{name}"] == len(frames[name]) > 0
    games = frames["games"]
    dates = pd.to_datetime(games["game_date"]).dt.date
    assert dates.min() == date(2025, 12, 15)
    assert dates.nunique() == 14
    per_day = games.groupby(dates).size()
    assert per_day.between(6, 9).all() and 7 <= per_day.mean() <= 8.5
    assert 40_000 <= sum(counts.values()) <= 60_000
    assert counts["nba_raw.prop_lines"] > counts["nba_raw.player_boxscores"] > counts["nba_raw.games"]


def test_tables_have_the_documented_columns(default_run):
    _, _, frames = default_run
    for name in RAW_TABLES:
        assert list(frames[name].columns) == [c for c, _ in RAW_COLUMNS[name]]


def test_tables_have_the_documented_column_types_and_partitioning(default_run):
    # The types as BigQuery would report them (INFORMATION_SCHEMA.COLUMNS), not just the names: a
    # generator that wrote game_date as a string or the odds as floats would change every query on them.
    wh, _, _ = default_run
    for name in RAW_TABLES:
        info = wh.table_info(f"nba_raw.{name}")
        assert info.columns == list(RAW_COLUMNS[name]), name
        assert info.partition_column == "game_date"
        reported = wh.query("SELECT column_name, data_type FROM nba_raw.INFORMATION_SCHEMA.COLUMNS "
                            "WHERE table_name = @t ORDER BY ordinal_position", {"t": name})
        assert list(zip(reported.column_name, reported.data_type)) == list(RAW_COLUMNS[name])
    assert ("captured_at", "TIMESTAMP") in RAW_COLUMNS["prop_lines"]  # an instant, in UTC
    for table in load_phases().all_tables():
        assert wh.table_info(table.ref).columns == list(TABLE_COLUMNS[table.table]), table.ref


def test_same_seed_gives_identical_tables_and_another_seed_does_not(tmp_path):
    first, second, other = (LocalWarehouse(tmp_path / f"{n}.duckdb") for n in ("a", "b", "c"))
    generate_raw(first, days=2, seed=7)
    generate_raw(second, days=2, seed=7)
    generate_raw(other, days=2, seed=8)
    for name in RAW_TABLES:
        ref = f"nba_raw.{name}"
        assert digest(first, ref) == digest(second, ref)
        assert digest(first, ref) != digest(other, ref)


def test_regenerating_replaces_the_raw_tables(tmp_path):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    generate_raw(wh, days=3, seed=1)
    counts = generate_raw(wh, days=1, seed=1)
    for name in RAW_TABLES:
        assert digest(wh, f"nba_raw.{name}")[0] == counts[f"nba_raw.{name}"]
    assert wh.query("SELECT COUNT(DISTINCT game_date) AS n FROM `nba_raw.games`")["n"].iloc[0] == 1


def test_the_raw_tables_are_replaced_together_or_not_at_all(tmp_path):
    # One transaction for all three tables: a reader in another process sees one seed's games, box
    # scores and lines, never a mix. Here the last table cannot be replaced (a view holds its name),
    # so neither may the first two be.
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    generate_raw(wh, days=2, seed=7)
    before = {name: digest(wh, f"nba_raw.{name}") for name in RAW_TABLES[:2]}
    wh.execute("DROP TABLE nba_raw.prop_lines; CREATE VIEW nba_raw.prop_lines AS SELECT 1 AS x")
    with pytest.raises(Exception, match="View"):
        generate_raw(wh, days=2, seed=8)
    assert {name: digest(wh, f"nba_raw.{name}") for name in RAW_TABLES[:2]} == before


@pytest.mark.parametrize("scale, days, expected_days", [(0.5, None, 7), (0.01, None, 1), (3, None, 42), (1.0, 3, 3)])
def test_scale_multiplies_days_and_days_overrides(tmp_path, scale, days, expected_days):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    generate_raw(wh, days=days, scale=scale)
    dates = wh.query("SELECT MIN(game_date) AS first, COUNT(DISTINCT game_date) AS n FROM `nba_raw.games`")
    assert dates["n"].iloc[0] == expected_days
    assert pd.Timestamp(dates["first"].iloc[0]).date() == date(2025, 12, 15)


def test_rosters_are_stable_across_seeds_with_clean_lookup_ids():
    roster = league_roster().players
    assert len(roster) == len(TEAMS) * PLAYERS_PER_TEAM == 390
    assert roster["player_lookup"].is_unique
    assert roster["player_lookup"].str.fullmatch(r"[a-z0-9]+").all()
    assert roster.groupby("team_abbr").size().eq(PLAYERS_PER_TEAM).all()
    one = set(build_raw_frames(date(2025, 12, 15), 2, seed=1)["player_boxscores"]["player_lookup"])
    two = set(build_raw_frames(date(2025, 12, 15), 2, seed=2)["player_boxscores"]["player_lookup"])
    assert one | two <= set(roster["player_lookup"])


@pytest.mark.parametrize("name, lookup", [
    ("LeBron James", "lebronjames"), ("Nikola Jokić", "nikolajokic"), ("De'Aaron Fox", "deaaronfox"),
    ("Shai Gilgeous-Alexander", "shaigilgeousalexander"), ("Jaren Jackson Jr.", "jarenjacksonjr"),
    ("Alperen Şengün", "alperensengun"),
])
def test_player_lookup_flattens_names(name, lookup):
    assert player_lookup(name) == lookup


def test_box_scores_are_plausible(default_run):
    _, _, frames = default_run
    box = frames["player_boxscores"]
    counting = [c for c, t in RAW_COLUMNS["player_boxscores"] if t == "INT64"]
    assert (box[counting] >= 0).all().all()
    assert (box["points"] == 2 * box["fg_made"] + box["three_made"] + box["ft_made"]).all()
    assert (box["fg_made"] <= box["fg_att"]).all()
    assert (box["three_made"] <= box["three_att"]).all() and (box["three_made"] <= box["fg_made"]).all()
    assert (box["ft_made"] <= box["ft_att"]).all()
    assert (box["paint_att"] + box["mid_att"] + box["three_att"] == box["fg_att"]).all()
    assert box["minutes"].between(1, 48).all()
    assert (box["team_abbr"] != box["opponent_abbr"]).all()
    assert not box.duplicated(["game_id", "player_lookup"]).any()
    # a realistic league: per-team-game totals near NBA averages
    team = box.groupby(["game_id", "team_abbr"])[["points", "fg_att", "rebounds", "assists", "minutes"]].sum()
    assert 100 <= team["points"].mean() <= 125
    assert 80 <= team["fg_att"].mean() <= 100
    assert 38 <= team["rebounds"].mean() <= 52
    assert 20 <= team["assists"].mean() <= 32
    assert team["minutes"].mean() == pytest.approx(240, abs=3)
    per_player = box.groupby("player_lookup")["points"].mean()
    assert 20 <= per_player.max() <= 45


def test_games_match_their_box_scores_and_the_schedule_is_sane(default_run):
    _, _, frames = default_run
    games, box = frames["games"], frames["player_boxscores"]
    assert games["game_id"].is_unique
    assert (games["home_team_abbr"] != games["away_team_abbr"]).all()
    assert (games["home_score"] != games["away_score"]).all()
    assert set(games["home_team_abbr"]) | set(games["away_team_abbr"]) == set(TEAMS)
    sides = pd.concat([games[["game_date", "home_team_abbr"]].set_axis(["d", "t"], axis=1),
                       games[["game_date", "away_team_abbr"]].set_axis(["d", "t"], axis=1)])
    assert not sides.duplicated().any(), "a team plays at most once a day"
    totals = box.groupby(["game_id", "is_home"])["points"].sum().unstack()
    merged = games.set_index("game_id")
    assert (totals[True].reindex(merged.index) == merged["home_score"]).all()
    assert (totals[False].reindex(merged.index) == merged["away_score"]).all()
    assert (games["season"] == "2025-26").all()


def test_prop_lines_are_plausible(default_run):
    _, _, frames = default_run
    props, box = frames["prop_lines"], frames["player_boxscores"]
    assert set(props["bookmaker"]) == set(BOOKMAKERS)
    assert set(props["prop_type"]) == set(PROP_TYPES)
    assert not props.duplicated(["game_id", "player_lookup", "bookmaker", "prop_type"]).any()
    assert (props["line"] > 0).all()
    assert ((props["line"] * 2) % 1 == 0).all(), "lines sit on the half-point grid"
    for col in ("over_odds", "under_odds"):
        assert (props[col].abs() >= 100).all() and props[col].between(-400, 400).all()
    captured = pd.to_datetime(props["captured_at"], utc=True)
    assert (captured.dt.date == pd.to_datetime(props["game_date"]).dt.date).all()
    played = set(zip(box["game_id"], box["player_lookup"]))
    assert set(zip(props["game_id"], props["player_lookup"])) <= played
    points = props[props["prop_type"] == "points"]
    assert 8 <= points["line"].mean() <= 20


def test_production_datasets_are_created_empty(default_run):
    wh, _, _ = default_run
    phases = load_phases()
    assert {"nba_raw", "nba_analytics", "nba_precompute", "nba_reference"} <= schemas(wh)
    for table in phases.all_tables():
        df = wh.query(f"SELECT * FROM `{table.ref}`")
        assert df.empty and list(df.columns) == [c for c, _ in TABLE_COLUMNS[table.table]]
    assert wh.query(f"SELECT COUNT(*) AS n FROM `{phases.run_history_table}`")["n"].iloc[0] == 0


def test_existing_production_rows_survive_regeneration(tmp_path):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    generate_raw(wh, days=1)
    wh.execute("INSERT INTO `nba_analytics.team_offense_game_summary` (game_date, team_abbr) "
               "VALUES (DATE '2025-12-15', 'BOS')")
    generate_raw(wh, days=1)
    assert wh.query("SELECT COUNT(*) AS n FROM `nba_analytics.team_offense_game_summary`")["n"].iloc[0] == 1


@pytest.mark.parametrize("kwargs, parameter", [
    ({"scale": 0}, "scale"), ({"scale": -1.0}, "scale"), ({"scale": "big"}, "scale"),
    ({"scale": float("nan")}, "scale"), ({"days": 0}, "days"), ({"days": 2.5}, "days"),
    ({"seed": -1}, "seed"), ({"seed": "x"}, "seed"), ({"start_date": "15/12/2025"}, "start_date"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, kwargs, parameter):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    with pytest.raises(ParameterError) as err:
        generate_raw(wh, **kwargs)
    assert err.value.parameter == parameter
    assert "nba_raw" not in schemas(wh)


def test_start_date_accepts_iso_text_and_dates_roll_forward(tmp_path):
    wh = LocalWarehouse(tmp_path / "w.duckdb")
    counts = generate_raw(wh, start_date="2026-02-27", days=3)
    dates = pd.to_datetime(wh.query("SELECT DISTINCT game_date FROM `nba_raw.games`")["game_date"]).dt.date
    assert sorted(dates) == [date(2026, 2, 27) + timedelta(days=i) for i in range(3)]
    assert counts["nba_raw.games"] == len(wh.query("SELECT * FROM `nba_raw.games`"))
    assert np.isin(wh.query("SELECT DISTINCT season FROM `nba_raw.games`")["season"], ["2025-26"]).all()
