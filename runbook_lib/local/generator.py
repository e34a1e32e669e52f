"""Deterministic sample data for the sandbox: nba_raw games, box scores and player prop lines.

Rosters (names, roles, skill) are fixed, so player_lookup ids are the same whatever the seed;
the seed drives the schedule, the box scores and the bookmakers' lines. Everything is drawn in
bulk with one numpy Generator, so the same seed gives identical tables.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ..checks import as_date
from ..errors import ParameterError
from ..phases import PhaseRegistry
from .pipeline import ensure_production_tables

RAW_DATASET = "nba_raw"
DEFAULT_START = date(2025, 12, 15)
DEFAULT_SEED = 20251231
DAYS_AT_SCALE_1 = 14
ROSTER_SEED = 1946  # fixed: the league's players do not change with the data seed

TEAMS = (
    "ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW",
    "HOU", "IND", "LAC", "LAL", "MEM", "MIA", "MIL", "MIN", "NOP", "NYK",
    "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR", "UTA", "WAS",
)
PLAYERS_PER_TEAM = 13

# One or two recognisable names per team (with the accents, apostrophes, hyphens and suffixes
# that player_lookup must flatten); the rest of each roster is made up.
FEATURED_PLAYERS = {
    "ATL": [("Trae Young", "G")], "BOS": [("Jaylen Brown", "G")], "BKN": [("Michael Porter Jr.", "F")],
    "CHA": [("LaMelo Ball", "G")], "CHI": [("Coby White", "G")], "CLE": [("Donovan Mitchell", "G")],
    "DAL": [("Anthony Davis", "C"), ("Kyrie Irving", "G")], "DEN": [("Nikola Jokić", "C")],
    "DET": [("Cade Cunningham", "G")], "GSW": [("Stephen Curry", "G")], "HOU": [("Alperen Şengün", "C")],
    "IND": [("Pascal Siakam", "F")], "LAC": [("Kawhi Leonard", "F")],
    "LAL": [("LeBron James", "F"), ("Luka Dončić", "G")], "MEM": [("Jaren Jackson Jr.", "C")],
    "MIA": [("Bam Adebayo", "C")], "MIL": [("Giannis Antetokounmpo", "F")], "MIN": [("Anthony Edwards", "G")],
    "NOP": [("Zion Williamson", "F")], "NYK": [("Jalen Brunson", "G")], "OKC": [("Shai Gilgeous-Alexander", "G")],
    "ORL": [("Paolo Banchero", "F")], "PHI": [("Joel Embiid", "C"), ("Kelly Oubre Jr.", "F")],
    "PHX": [("Devin Booker", "G")], "POR": [("Deni Avdija", "F")], "SAC": [("Domantas Sabonis", "C")],
    "SAS": [("Victor Wembanyama", "C"), ("De'Aaron Fox", "G")], "TOR": [("Scottie Barnes", "F")],
    "UTA": [("Lauri Markkanen", "F")], "WAS": [("Alex Sarr", "C")],
}
FIRST_NAMES = (
    "Aaron Andre Bennett Brandon Caleb Cameron Chris Damian Darius Dante Derrick Devon Dillon Donte "
    "Elijah Eric Evan Gary Grant Isaiah Ivan Jalen Jamal Jarrett Javon Jeremy Jordan Josh Julian Justin "
    "Keegan Kendall Kevin Khalil Kobe Lonnie Malik Marcus Mason Miles Moses Nate Nick Obi Omari Quentin "
    "Reggie Ricky Sam Terrence Trey Tyler Tyrese Victor Walker Xavier Zach"
).split()
LAST_NAMES = (
    "Adams Allen Bailey Barrett Bell Brooks Bryant Carter Clark Coleman Collins Cooper Davis Dixon Ellis "
    "Evans Fields Fletcher Gordon Graham Green Hamilton Harris Hayes Henderson Hill Holmes Howard Hunter "
    "Jackson Jenkins Johnson Jones Kennedy King Lewis Long Marshall Martin Mitchell Moore Morris Murray "
    "Nelson O'Neal Parker Patterson Porter Powell Reed Richardson Robinson Rogers Ross Sanders Simmons "
    "Stewart Sullivan Taylor Thomas Thompson Turner Walker Wallace Washington Watson White Williams Wright"
).split()

# Roster slots: (role, default position). Slot 0 is the team's first featured player.
SLOTS = (
    ("star", "G"), ("starter", "G"), ("starter", "F"), ("starter", "F"), ("starter", "C"),
    ("rotation", "G"), ("rotation", "F"), ("rotation", "C"), ("rotation", "G"),
    ("bench", "G"), ("bench", "F"), ("bench", "F"), ("bench", "C"),
)
# role -> (mean minutes, FGA/min, FTA/min, TOV/min, chance to get into a game)
ROLE_RATES = {
    "star": (33.0, 0.56, 0.19, 0.090, 1.00),
    "starter": (29.0, 0.33, 0.08, 0.050, 1.00),
    "rotation": (19.0, 0.32, 0.07, 0.050, 1.00),
    "bench": (8.0, 0.31, 0.07, 0.050, 0.50),
}
# position -> (share of FGA from three, share of 2PA in the paint, REB/min, AST/min, BLK/min, STL/min)
POSITION_RATES = {
    "G": (0.44, 0.40, 0.12, 0.17, 0.010, 0.036),
    "F": (0.37, 0.52, 0.19, 0.09, 0.020, 0.030),
    "C": (0.12, 0.78, 0.30, 0.07, 0.050, 0.025),
}
INJURY_CHANCE = 0.06
BOOKMAKERS = ("draftkings", "fanduel", "betmgm", "caesars", "espnbet")
PROP_TYPES = ("points", "rebounds", "assists", "threes", "pts_reb_ast", "steals_blocks")
PROP_OFFER_CHANCE = 0.9  # not every book posts every market for every player

RAW_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "games": (
        ("game_id", "STRING"), ("game_date", "DATE"), ("season", "STRING"), ("home_team_abbr", "STRING"),
        ("away_team_abbr", "STRING"), ("home_score", "INT64"), ("away_score", "INT64"),
    ),
    "player_boxscores": (
        ("game_id", "STRING"), ("game_date", "DATE"), ("player_lookup", "STRING"), ("player_name", "STRING"),
        ("team_abbr", "STRING"), ("opponent_abbr", "STRING"), ("is_home", "BOOL"), ("minutes", "FLOAT64"),
        ("points", "INT64"), ("rebounds", "INT64"), ("assists", "INT64"), ("steals", "INT64"),
        ("blocks", "INT64"), ("turnovers", "INT64"), ("fg_made", "INT64"), ("fg_att", "INT64"),
        ("three_made", "INT64"), ("three_att", "INT64"), ("ft_made", "INT64"), ("ft_att", "INT64"),
        ("paint_att", "INT64"), ("mid_att", "INT64"),
    ),
    "prop_lines": (
        ("game_date", "DATE"), ("game_id", "STRING"), ("player_lookup", "STRING"), ("bookmaker", "STRING"),
        ("prop_type", "STRING"), ("line", "FLOAT64"), ("over_odds", "INT64"), ("under_odds", "INT64"),
        ("captured_at", "TIMESTAMP"),
    ),
}


def player_lookup(name: str) -> str:
    """The platform's player id: the name lowercased, accents and punctuation removed."""
    flat = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat.lower() if ch.isalnum())


def season_label(day: date) -> str:
    start = day.year if day.month >= 10 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


@dataclass(frozen=True)
class Roster:
    """Every player of the league, one row each, ordered team by team, slot by slot."""

    players: pd.DataFrame


def league_roster() -> Roster:
    rng = np.random.default_rng(ROSTER_SEED)
    rows, used = [], set()
    for team in TEAMS:
        featured = list(FEATURED_PLAYERS.get(team, []))
        for slot, (role, position) in enumerate(SLOTS):
            if featured:
                name, position = featured.pop(0)
                role = "star"
            else:
                while True:
                    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                    if player_lookup(name) not in used:
                        break
            used.add(player_lookup(name))
            rows.append({"team_abbr": team, "slot": slot, "player_name": name,
                         "player_lookup": player_lookup(name), "role": role, "position": position})
    df = pd.DataFrame(rows)
    n = len(df)
    role = df["role"].map(ROLE_RATES)
    pos = df["position"].map(POSITION_RATES)
    skill = lambda sd: rng.lognormal(0.0, sd, n)  # noqa: E731 - per-player spread around the role mean
    df["minutes_mean"] = [r[0] for r in role]
    df["fga_rate"] = [r[1] for r in role] * skill(0.12)
    df["fta_rate"] = [r[2] for r in role] * skill(0.25)
    df["tov_rate"] = [r[3] for r in role] * skill(0.15)
    df["play_chance"] = [r[4] for r in role]
    df["three_share"] = np.clip([p[0] for p in pos] * skill(0.2), 0.01, 0.7)
    df["paint_share"] = np.clip([p[1] for p in pos] * skill(0.1), 0.15, 0.95)
    df["reb_rate"] = [p[2] for p in pos] * skill(0.15)
    ast_boost = np.where(df["role"] == "star", 1.4, 1.0)
    df["ast_rate"] = [p[3] for p in pos] * skill(0.2) * ast_boost
    df["blk_rate"] = [p[4] for p in pos] * skill(0.3)
    df["stl_rate"] = [p[5] for p in pos] * skill(0.2)
    df["three_pct"] = np.clip(rng.normal(0.36, 0.03, n) - np.where(df["position"] == "C", 0.03, 0), 0.25, 0.45)
    df["paint_pct"] = np.clip(rng.normal(0.60, 0.04, n), 0.45, 0.75)
    df["mid_pct"] = np.clip(rng.normal(0.42, 0.04, n), 0.30, 0.55)
    df["ft_pct"] = np.clip(rng.normal(0.78, 0.07, n) - np.where(df["position"] == "C", 0.06, 0), 0.45, 0.93)
    return Roster(df)


# ---------------------------------------------------------------- entry point


def generate_raw(
    warehouse,
    start_date: date | str = DEFAULT_START,
    days: int | None = None,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    phases: PhaseRegistry | None = None,
) -> dict[str, int]:
    """Write nba_raw.games, nba_raw.player_boxscores and nba_raw.prop_lines (replacing them).

    `days` game dates from `start_date`; when None, 14 x `scale` (at least 1). Also creates the
    empty production datasets/tables nba_analytics, nba_precompute and the run-history table
    (existing ones keep their rows). Returns rows written per raw table ref.
    """
    start = as_date("start_date", start_date)
    n_days = _day_count(days, scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError("seed", seed, "give a whole number of 0 or more")
    tables = build_raw_frames(start, n_days, int(seed))
    # the file opened once for the load and the empty tables (each opening costs an ATTACH, and after a write a
    # checkpoint on DETACH: ten of them cost as much as the load)
    with warehouse.connection():
        _replace_tables(warehouse, RAW_DATASET, tables)
        ensure_production_tables(warehouse, phases)
    return {f"{RAW_DATASET}.{name}": len(df) for name, df in tables.items()}


def build_raw_frames(start: date, n_days: int, seed: int) -> dict[str, pd.DataFrame]:
    """The three raw tables as DataFrames, without touching any warehouse."""
    rng = np.random.default_rng(seed)
    roster = league_roster().players
    games = _schedule(rng, start, n_days)
    box = _box_scores(rng, games, roster)
    games = _settle_scores(rng, games, box)
    props = _prop_lines(rng, box, roster)
    return {"games": games, "player_boxscores": box, "prop_lines": props}


# ---------------------------------------------------------------- the pieces


def _schedule(rng: np.random.Generator, start: date, n_days: int) -> pd.DataFrame:
    """7-8 games a day; teams rested longest play first and nobody plays three days running."""
    rows = []
    rest = rng.integers(1, 3, len(TEAMS)).astype(float)  # days since each team last played
    streak = np.zeros(len(TEAMS))  # consecutive days played
    for offset in range(n_days):
        day = start + timedelta(days=offset)
        n_games = int(rng.choice([6, 7, 8, 9], p=[0.15, 0.35, 0.35, 0.15]))
        priority = rest + rng.random(len(TEAMS)) * 1.5 - np.where(streak >= 2, 100.0, 0.0)
        playing = np.argsort(-priority, kind="stable")[: 2 * n_games]
        playing = rng.permutation(playing)
        for home, away in zip(playing[0::2], playing[1::2]):
            rows.append({"game_id": f"{day:%Y%m%d}_{TEAMS[away]}_{TEAMS[home]}", "game_date": day,
                         "season": season_label(day), "home_team_abbr": TEAMS[home], "away_team_abbr": TEAMS[away]})
        played = np.zeros(len(TEAMS), dtype=bool)
        played[playing] = True
        rest = np.where(played, 1.0, rest + 1.0)
        streak = np.where(played, streak + 1, 0)
    return pd.DataFrame(rows)


def _box_scores(rng: np.random.Generator, games: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    # One candidate row per (game, side, roster slot).
    sides = pd.concat([
        games.assign(team_abbr=games["home_team_abbr"], opponent_abbr=games["away_team_abbr"], is_home=True),
        games.assign(team_abbr=games["away_team_abbr"], opponent_abbr=games["home_team_abbr"], is_home=False),
    ], ignore_index=True)[["game_id", "game_date", "team_abbr", "opponent_abbr", "is_home"]]
    rows = sides.merge(roster, on="team_abbr", how="inner").sort_values(["game_id", "is_home", "slot"],
                                                                         ascending=[True, False, True])
    rows = rows.reset_index(drop=True)
    n = len(rows)
    plays = (rng.random(n) >= INJURY_CHANCE) & (rng.random(n) < rows["play_chance"].to_numpy())
    raw_minutes = np.clip(rng.normal(rows["minutes_mean"], 0.15 * rows["minutes_mean"] + 2.0), 1.0, None) * plays
    rows["raw_minutes"] = raw_minutes
    team_total = rows.groupby(["game_id", "team_abbr"])["raw_minutes"].transform("sum")
    # A team plays 240 minutes; the rotation stretches or shrinks to fill them.
    minutes = np.clip(raw_minutes * 240.0 / team_total.to_numpy(), 0.0, 44.0).round(1)
    rows["minutes"] = minutes
    rows = rows[rows["minutes"] >= 1.0].reset_index(drop=True)

    m = rows["minutes"].to_numpy()
    fga, ft_att = _shot_volumes(rng, rows)
    three_att = rng.binomial(fga, rows["three_share"].to_numpy())
    paint_att = rng.binomial(fga - three_att, rows["paint_share"].to_numpy())
    mid_att = fga - three_att - paint_att
    three_made = rng.binomial(three_att, rows["three_pct"].to_numpy())
    paint_made = rng.binomial(paint_att, rows["paint_pct"].to_numpy())
    mid_made = rng.binomial(mid_att, rows["mid_pct"].to_numpy())
    ft_made = rng.binomial(ft_att, rows["ft_pct"].to_numpy())
    fg_made = three_made + paint_made + mid_made
    out = pd.DataFrame({
        "game_id": rows["game_id"], "game_date": rows["game_date"], "player_lookup": rows["player_lookup"],
        "player_name": rows["player_name"], "team_abbr": rows["team_abbr"], "opponent_abbr": rows["opponent_abbr"],
        "is_home": rows["is_home"].astype(bool), "minutes": m,
        "points": 2 * fg_made + three_made + ft_made,
        "rebounds": rng.poisson(rows["reb_rate"].to_numpy() * m),
        "assists": rng.poisson(rows["ast_rate"].to_numpy() * m),
        "steals": rng.poisson(rows["stl_rate"].to_numpy() * m),
        "blocks": rng.poisson(rows["blk_rate"].to_numpy() * m),
        "turnovers": rng.poisson(rows["tov_rate"].to_numpy() * m),
        "fg_made": fg_made, "fg_att": fga, "three_made": three_made, "three_att": three_att,
        "ft_made": ft_made, "ft_att": ft_att, "paint_att": paint_att, "mid_att": mid_att,
    })
    int_cols = [c for c, t in RAW_COLUMNS["player_boxscores"] if t == "INT64"]
    out[int_cols] = out[int_cols].astype("int64")
    return out


def _shot_volumes(rng: np.random.Generator, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Field-goal and free-throw attempts per player.

    Both sides of a game share its tempo (possessions), so team totals move together the way
    they do in real games; each team's attempts are then shared among its players by their
    shooting rates and minutes.
    """
    game_ids, game_idx = np.unique(rows["game_id"].to_numpy(), return_inverse=True)
    tempo = rng.normal(99.0, 4.0, len(game_ids))  # possessions per team
    team_keys = rows["game_id"] + "|" + rows["team_abbr"]
    teams, team_idx = np.unique(team_keys.to_numpy(), return_inverse=True)
    team_tempo = np.zeros(len(teams))
    team_tempo[team_idx] = tempo[game_idx]
    team_fga = np.clip(np.round(rng.normal(0.895 * team_tempo, 3.5)), 65, 120).astype("int64")
    team_fta = np.clip(np.round(rng.normal(0.235 * team_tempo, 5.0)), 5, 50).astype("int64")
    slot = rows.groupby(team_keys.to_numpy()).cumcount().to_numpy()
    m = rows["minutes"].to_numpy()
    out = []
    for rate, totals in ((rows["fga_rate"].to_numpy(), team_fga), (rows["fta_rate"].to_numpy(), team_fta)):
        weights = np.zeros((len(teams), PLAYERS_PER_TEAM))
        weights[team_idx, slot] = rate * m
        shares = weights / weights.sum(axis=1, keepdims=True)
        counts = rng.multinomial(totals, shares)
        out.append(counts[team_idx, slot].astype("int64"))
    return out[0], out[1]


def _settle_scores(rng: np.random.Generator, games: pd.DataFrame, box: pd.DataFrame) -> pd.DataFrame:
    """Game scores are the box-score sums; a tie is broken by one extra made free throw.

    The free throw goes to the top scorer of a randomly chosen side, so 2*FG + 3PM + FT = PTS still
    holds for every player and the game score still equals its box score.
    """
    totals = box.pivot_table(index="game_id", columns="is_home", values="points", aggfunc="sum").reindex(games["game_id"])
    tied = totals[True].to_numpy() == totals[False].to_numpy()
    tied_ids = games["game_id"][tied].to_numpy()
    if len(tied_ids):
        home_wins = rng.random(len(tied_ids)) < 0.5
        chosen = pd.DataFrame({"game_id": tied_ids, "is_home": home_wins})
        candidates = box.reset_index().merge(chosen, on=["game_id", "is_home"])
        winners = candidates.sort_values(["game_id", "points", "index"], ascending=[True, False, True]) \
                            .drop_duplicates("game_id")["index"].to_numpy()
        for col in ("ft_made", "ft_att", "points"):
            box.loc[winners, col] += 1
        totals = box.pivot_table(index="game_id", columns="is_home", values="points", aggfunc="sum").reindex(games["game_id"])
    games = games.copy()
    games["home_score"] = totals[True].to_numpy().astype("int64")
    games["away_score"] = totals[False].to_numpy().astype("int64")
    return games


def _prop_lines(rng: np.random.Generator, box: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Lines for every regular (non-bench) player who played, per bookmaker and market."""
    rated = box.merge(roster[["player_lookup", "role", "minutes_mean", "fga_rate", "fta_rate", "three_share",
                              "paint_share", "three_pct", "paint_pct", "mid_pct", "ft_pct", "reb_rate",
                              "ast_rate", "stl_rate", "blk_rate"]], on="player_lookup")
    rated = rated[rated["role"] != "bench"].reset_index(drop=True)
    # What a book expects: the player's season rates at his usual minutes (about 240/241 of the mean).
    mins = rated["minutes_mean"] * 240.0 / 241.0
    fga = rated["fga_rate"] * mins
    three_att = fga * rated["three_share"]
    two_att = fga - three_att
    exp_threes = three_att * rated["three_pct"]
    exp_two_made = two_att * (rated["paint_share"] * rated["paint_pct"] + (1 - rated["paint_share"]) * rated["mid_pct"])
    exp_points = 2 * exp_two_made + 3 * exp_threes + rated["fta_rate"] * mins * rated["ft_pct"]
    exp_reb = rated["reb_rate"] * mins
    exp_ast = rated["ast_rate"] * mins
    expected = {
        "points": exp_points, "rebounds": exp_reb, "assists": exp_ast, "threes": exp_threes,
        "pts_reb_ast": exp_points + exp_reb + exp_ast,
        "steals_blocks": (rated["stl_rate"] + rated["blk_rate"]) * mins,
    }
    n_players, n_books, n_props = len(rated), len(BOOKMAKERS), len(PROP_TYPES)
    form = rng.lognormal(0.0, 0.06, n_players)  # the market's read of recent form, shared by books
    base = np.stack([expected[p].to_numpy() * form for p in PROP_TYPES], axis=1)  # players x props
    shape = (n_players, n_books, n_props)
    book_shift = rng.choice([-1.0, -0.5, 0.0, 0.0, 0.0, 0.5, 1.0], size=shape)
    scale = np.where(base < 5, 0.0, 1.0)[:, None, :]  # small markets don't move by whole points
    line = np.maximum(np.floor(base[:, None, :]) + 0.5 + book_shift * scale, 0.5)
    p_over = np.clip(rng.normal(0.5, 0.04, shape), 0.38, 0.62)
    vig = 1.045
    offered = rng.random(shape) < PROP_OFFER_CHANCE
    captured = rng.integers(0, 6 * 60, shape)  # minutes after 16:00 UTC, before tip-off

    idx_player, idx_book, idx_prop = np.nonzero(offered)
    game_dates = pd.to_datetime(rated["game_date"]).to_numpy()[idx_player]
    out = pd.DataFrame({
        "game_date": rated["game_date"].to_numpy()[idx_player],
        "game_id": rated["game_id"].to_numpy()[idx_player],
        "player_lookup": rated["player_lookup"].to_numpy()[idx_player],
        "bookmaker": np.array(BOOKMAKERS)[idx_book],
        "prop_type": np.array(PROP_TYPES)[idx_prop],
        "line": line[offered],
        "over_odds": _american_odds(p_over[offered] * vig),
        "under_odds": _american_odds((1 - p_over[offered]) * vig),
        "captured_at": pd.to_datetime(game_dates) + pd.Timedelta(hours=16)
                       + pd.to_timedelta(captured[offered], unit="m"),
    })
    out["captured_at"] = out["captured_at"].dt.tz_localize("UTC")
    return out


def _american_odds(prob: np.ndarray) -> np.ndarray:
    """Implied probability -> American odds, rounded to 5 as books quote them."""
    prob = np.clip(prob, 0.05, 0.95)
    favourite = -100 * prob / (1 - prob)
    underdog = 100 * (1 - prob) / prob
    odds = np.where(prob >= 0.5, favourite, underdog)
    odds = (np.round(odds / 5) * 5).astype("int64")
    # American odds never sit strictly between -100 and +100.
    return np.where(odds >= 0, np.maximum(odds, 100), np.minimum(odds, -100))


# ---------------------------------------------------------------- loading


def _replace_tables(warehouse, dataset: str, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the raw tables with one bulk load each, all in one transaction, so a reader in
    another process never sees one seed's games with another seed's box scores or lines.
    Partitioned by game date, like upstream."""
    # The pipeline's own dataset, so without the kit's label (the kit never drops it), as upstream makes it.
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`")
    frames = {f"{dataset}.{name}": df[[c for c, _ in RAW_COLUMNS[name]]] for name, df in tables.items()}
    warehouse.load_dataframes(frames, mode="replace", partition_columns={ref: "game_date" for ref in frames})


# ---------------------------------------------------------------- parameters




def _day_count(days, scale) -> int:
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
            raise ParameterError("days", days, "give a whole number of game dates, 1 or more")
        return int(days)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise ParameterError("scale", scale, "give a positive number (1.0 is about two weeks of games)")
    return max(1, round(DAYS_AT_SCALE_1 * scale))
