-- Phase 3 player_game_summary: one row per player per game.
-- Reads {raw} (the raw dataset, never prefixed). Parameters: @start_date, @end_date.
-- pipeline.py stages this SELECT and MERGEs it into the target on the table's keys.
-- FLOAT64 measures are summed as NUMERIC: a float sum depends on row order, and its last bit can
-- flip a ROUND, so a replay over the same data would differ from production by 0.01 here and there.
WITH box AS (
  SELECT
    b.game_date,
    b.player_lookup,
    b.game_id,
    g.season,
    b.player_name,
    b.team_abbr,
    b.opponent_abbr,
    b.is_home,
    b.minutes,
    b.points,
    b.rebounds,
    b.assists,
    b.steals,
    b.blocks,
    b.turnovers,
    b.fg_made,
    b.fg_att,
    b.three_made,
    b.three_att,
    b.ft_made,
    b.ft_att,
    b.paint_att,
    b.mid_att,
    SUM(CAST(b.minutes AS NUMERIC)) OVER (PARTITION BY b.game_id, b.team_abbr) AS team_minutes,
    SUM(CAST(b.fg_att + 0.44 * b.ft_att + b.turnovers AS NUMERIC)) OVER (PARTITION BY b.game_id, b.team_abbr) AS team_plays
  FROM `{raw}.player_boxscores` AS b
  JOIN `{raw}.games` AS g ON g.game_id = b.game_id
  WHERE b.game_date BETWEEN @start_date AND @end_date
),
latest_points_lines AS (
  -- a bookmaker may move its line during the day; the last capture is the one bettors faced
  SELECT game_date, player_lookup, bookmaker, line
  FROM `{raw}.prop_lines`
  WHERE prop_type = 'points' AND game_date BETWEEN @start_date AND @end_date
  QUALIFY ROW_NUMBER() OVER (PARTITION BY game_date, player_lookup, bookmaker ORDER BY captured_at DESC) = 1
),
points_lines AS (
  -- consensus line across bookmakers, on the half-point grid books use
  SELECT game_date, player_lookup, ROUND(AVG(CAST(line AS NUMERIC)) * 2) / 2 AS points_line, COUNT(*) AS line_bookmakers
  FROM latest_points_lines
  GROUP BY game_date, player_lookup
)
SELECT
  box.game_date,
  box.player_lookup,
  box.game_id,
  box.season,
  box.player_name,
  box.team_abbr,
  box.opponent_abbr,
  box.is_home,
  box.minutes,
  box.points,
  box.rebounds,
  box.assists,
  box.steals,
  box.blocks,
  box.turnovers,
  box.fg_made,
  box.fg_att,
  box.three_made,
  box.three_att,
  box.ft_made,
  box.ft_att,
  box.paint_att,
  box.mid_att,
  ROUND(SAFE_DIVIDE(box.fg_made, box.fg_att), 4) AS fg_pct,
  ROUND(SAFE_DIVIDE(box.points, 2 * (box.fg_att + 0.44 * box.ft_att)), 4) AS ts_pct,
  -- usage rate: share of the team's plays the player finished while on the floor
  ROUND(100 * SAFE_DIVIDE((box.fg_att + 0.44 * box.ft_att + box.turnovers) * (box.team_minutes / 5),
                          box.minutes * box.team_plays), 2) AS usage_rate,
  pl.points_line,
  COALESCE(pl.line_bookmakers, 0) AS line_bookmakers,
  -- points exactly on the line are a PUSH (stakes returned); the code before the head commit graded them OVER
  CASE
    WHEN pl.points_line IS NULL THEN NULL
    WHEN box.points > pl.points_line THEN 'OVER'
    WHEN box.points < pl.points_line THEN 'UNDER'
    ELSE 'PUSH'
  END AS over_under_result,
  box.points - pl.points_line AS line_margin
FROM box
LEFT JOIN points_lines AS pl
  ON pl.game_date = box.game_date AND pl.player_lookup = box.player_lookup
