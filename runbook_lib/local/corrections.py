"""The sandbox head commit's corrected computations, and what the code before it computed instead.

The processors' SQL in sql/*.sql is the head commit's. Production was written night after night by
the revisions that served before it (Phase 3 from 476352a-era code, Phase 4 still does), so the
sandbox builds production with the code before the corrections: a prefixed replay with head code
then differs from production in exactly these columns, on exactly the rows the fix concerns, as a
real fix would. Each correction is a piece of the head SQL and the old piece that production ran;
`sql_before_corrections` swaps them back (and refuses to run if the head SQL no longer holds the piece).

Where the differences land (the default sandbox, scale 1, game dates 2025-12-15..2025-12-28):
- nba_analytics.player_game_summary.over_under_result: rows whose points equal the consensus line
  (a push), graded OVER before: 'OVER' in production, 'PUSH' in a head replay; 39 rows on 13 dates
  (none on 2025-12-25).
- nba_precompute.player_composite_factors: matchup_factor, pace_factor, composite_factor,
  projected_points and projected_edge on the dates when some teams had played and others not yet
  (2025-12-16 and 2025-12-17): the old league average divided by all 30 teams. On the first date no
  team has played (factors are 1 either way) and from 2025-12-18 every team has (identical).
No other table or column changes.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import RunbookError


@dataclass(frozen=True)
class Correction:
    processor: str
    columns: tuple[str, ...]   # output columns whose values the correction changes
    why: str
    head: str                  # as it stands in sql/<processor>.sql (exactly once)
    before: str                # what the code before the head commit ran instead


CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        processor="player_game_summary",
        columns=("over_under_result",),
        why="points exactly on the consensus line are a PUSH (stakes returned), not an OVER",
        head="""    WHEN box.points > pl.points_line THEN 'OVER'
    WHEN box.points < pl.points_line THEN 'UNDER'
    ELSE 'PUSH'
""",
        before="""    WHEN box.points >= pl.points_line THEN 'OVER'
    ELSE 'UNDER'
""",
    ),
    Correction(
        processor="player_composite_factors",
        columns=("matchup_factor", "pace_factor", "composite_factor", "projected_points", "projected_edge"),
        why="the league average is taken over the teams that have played, not divided by all 30",
        head="""  SELECT AVG(CAST(points_allowed_avg AS NUMERIC)) AS points_allowed_avg, AVG(CAST(pace_avg AS NUMERIC)) AS pace_avg
  FROM team_form
""",
        before="""  SELECT SUM(CAST(points_allowed_avg AS NUMERIC)) / 30 AS points_allowed_avg,
    SUM(CAST(pace_avg AS NUMERIC)) / 30 AS pace_avg
  FROM team_form
""",
    ),
)


def sql_before_corrections(processor: str, head_sql: str) -> str:
    """The processor's SQL as the code before the head commit had it."""
    for correction in CORRECTIONS:
        if correction.processor != processor:
            continue
        if head_sql.count(correction.head) != 1:
            raise RunbookError(f"sql/{processor}.sql no longer holds the corrected piece of '{correction.why}' "
                               "exactly once; update runbook_lib/local/corrections.py with it.")
        head_sql = head_sql.replace(correction.head, correction.before)
    return head_sql
