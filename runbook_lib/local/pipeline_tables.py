"""The sample pipeline's output tables: their processors, their schemas (BigQuery types, in column
order; the first column is the partition column) and the run-history table's, and creating any that
are missing."""
from __future__ import annotations

from typing import Iterable

from ..errors import NotFoundError
from ..phases import PhaseRegistry, load_phases
from .warehouse import NewTable

PHASE3_PROCESSORS = ("player_game_summary", "team_offense_game_summary")
PHASE4_PROCESSORS = (
    "player_daily_cache",
    "player_composite_factors",
    "player_shot_zone_analysis",
    "team_defense_zone_analysis",
)

# Output schemas (BigQuery types), in column order. The first column is the partition column.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "player_game_summary": (
        ("game_date", "DATE"), ("player_lookup", "STRING"), ("game_id", "STRING"), ("season", "STRING"),
        ("player_name", "STRING"), ("team_abbr", "STRING"), ("opponent_abbr", "STRING"), ("is_home", "BOOL"),
        ("minutes", "FLOAT64"), ("points", "INT64"), ("rebounds", "INT64"), ("assists", "INT64"),
        ("steals", "INT64"), ("blocks", "INT64"), ("turnovers", "INT64"), ("fg_made", "INT64"),
        ("fg_att", "INT64"), ("three_made", "INT64"), ("three_att", "INT64"), ("ft_made", "INT64"),
        ("ft_att", "INT64"), ("paint_att", "INT64"), ("mid_att", "INT64"), ("fg_pct", "FLOAT64"),
        ("ts_pct", "FLOAT64"), ("usage_rate", "FLOAT64"), ("points_line", "FLOAT64"),
        ("line_bookmakers", "INT64"), ("over_under_result", "STRING"), ("line_margin", "FLOAT64"),
    ),
    "team_offense_game_summary": (
        ("game_date", "DATE"), ("team_abbr", "STRING"), ("game_id", "STRING"), ("opponent_abbr", "STRING"),
        ("is_home", "BOOL"), ("points", "INT64"), ("opponent_points", "INT64"), ("win", "BOOL"),
        ("fg_made", "INT64"), ("fg_att", "INT64"), ("fg_pct", "FLOAT64"), ("three_made", "INT64"),
        ("three_att", "INT64"), ("three_pct", "FLOAT64"), ("ft_made", "INT64"), ("ft_att", "INT64"),
        ("rebounds", "INT64"), ("assists", "INT64"), ("turnovers", "INT64"), ("possessions", "FLOAT64"),
        ("offensive_rating", "FLOAT64"), ("defensive_rating", "FLOAT64"), ("pace", "FLOAT64"),
    ),
    "player_daily_cache": (
        ("cache_date", "DATE"), ("player_lookup", "STRING"), ("player_name", "STRING"), ("team_abbr", "STRING"),
        ("games_played", "INT64"), ("last_game_date", "DATE"), ("days_since_last_game", "INT64"),
        ("points_avg_last_5", "FLOAT64"), ("points_avg_last_10", "FLOAT64"), ("points_std_last_10", "FLOAT64"),
        ("rebounds_avg_last_10", "FLOAT64"), ("assists_avg_last_10", "FLOAT64"),
        ("minutes_avg_last_10", "FLOAT64"), ("ts_pct_last_10", "FLOAT64"), ("usage_rate_last_10", "FLOAT64"),
    ),
    "player_composite_factors": (
        ("game_date", "DATE"), ("player_lookup", "STRING"), ("team_abbr", "STRING"), ("opponent_abbr", "STRING"),
        ("days_rest", "INT64"), ("is_back_to_back", "BOOL"), ("fatigue_factor", "FLOAT64"),
        ("opponent_points_allowed_avg", "FLOAT64"), ("matchup_factor", "FLOAT64"), ("pace_factor", "FLOAT64"),
        ("composite_factor", "FLOAT64"), ("points_avg_last_10", "FLOAT64"), ("projected_points", "FLOAT64"),
        ("points_line", "FLOAT64"), ("projected_edge", "FLOAT64"),
    ),
    "player_shot_zone_analysis": (
        ("analysis_date", "DATE"), ("player_lookup", "STRING"), ("team_abbr", "STRING"),
        ("games_in_sample", "INT64"), ("fg_att", "INT64"), ("paint_att", "INT64"), ("mid_att", "INT64"),
        ("three_att", "INT64"), ("paint_share", "FLOAT64"), ("mid_share", "FLOAT64"),
        ("three_share", "FLOAT64"), ("fg_pct", "FLOAT64"), ("three_pct", "FLOAT64"),
    ),
    "team_defense_zone_analysis": (
        ("analysis_date", "DATE"), ("team_abbr", "STRING"), ("games_in_sample", "INT64"),
        ("points_allowed_avg", "FLOAT64"), ("defensive_rating", "FLOAT64"), ("opponent_fg_pct", "FLOAT64"),
        ("opponent_paint_share", "FLOAT64"), ("opponent_mid_share", "FLOAT64"),
        ("opponent_three_share", "FLOAT64"), ("pace_avg", "FLOAT64"),
    ),
}

RUN_HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "STRING"), ("processor_name", "STRING"), ("phase", "STRING"), ("data_date", "DATE"),
    ("dataset_prefix", "STRING"), ("target_dataset", "STRING"), ("rows_processed", "INT64"),
    ("status", "STRING"), ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
    ("commit_sha", "STRING"), ("error", "STRING"),
)


def ensure_production_tables(warehouse, phases: PhaseRegistry | None = None) -> list[str]:
    """Create the production output datasets/tables and the run-history table if missing.

    Returns the table refs it made sure of. Existing tables and their rows are left alone.
    """
    registry = phases or load_phases()
    refs = []
    wanted = []
    for phase_name in ("phase3", "phase4"):
        for table in registry.get(phase_name).tables:
            wanted.append((table.dataset, table.table, TABLE_COLUMNS[table.table], table.partition_column))
            refs.append(table.ref)
    dataset, name = registry.run_history_table.split(".")
    wanted.append((dataset, name, RUN_HISTORY_COLUMNS, "data_date"))
    refs.append(registry.run_history_table)
    ensure_tables(warehouse, wanted)
    return refs


def ensure_tables(warehouse, wanted: Iterable[tuple[str, str, tuple, str | None]]) -> None:
    """Create missing datasets and tables; (dataset, table, columns, partition column) each.

    Prefixed datasets appear this way on first write, with the production tables' schema.
    One listing per dataset keeps this cheap when everything already exists.
    """
    by_dataset: dict[str, list] = {}
    for dataset, table, columns, partition in wanted:
        by_dataset.setdefault(dataset, []).append((table, columns, partition))
    for dataset, tables in by_dataset.items():
        try:
            existing = set(warehouse.list_tables(dataset))
        except NotFoundError:
            # Made by the pipeline, not the kit: no kit label, so the kit will not drop it.
            warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS `{dataset}`")
            existing = set()
        missing = {f"{dataset}.{table}": NewTable(list(columns), partition)
                   for table, columns, partition in tables if table not in existing}
        if missing:   # (one transaction: a reader sees a phase's tables all made or none)
            warehouse.create_tables(missing, exists_ok=True)
