-- Phase 4 player_shot_zone_analysis: where each player's shots came from over his last 10 games
-- before @analysis_date. Reads {analytics}: always PRODUCTION (upstream behaviour).
-- Parameters: @analysis_date, @season_start.
WITH history AS (
  SELECT
    player_lookup,
    team_abbr,
    fg_made,
    fg_att,
    three_made,
    three_att,
    paint_att,
    mid_att,
    ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY game_date DESC) AS recency
  FROM `{analytics}.player_game_summary`
  WHERE game_date >= @season_start AND game_date < @analysis_date
),
last_10 AS (
  SELECT
    player_lookup,
    MAX(IF(recency = 1, team_abbr, NULL)) AS team_abbr,
    COUNT(*) AS games_in_sample,
    SUM(fg_made) AS fg_made,
    SUM(fg_att) AS fg_att,
    SUM(three_made) AS three_made,
    SUM(three_att) AS three_att,
    SUM(paint_att) AS paint_att,
    SUM(mid_att) AS mid_att
  FROM history
  WHERE recency <= 10
  GROUP BY player_lookup
)
SELECT
  @analysis_date AS analysis_date,
  player_lookup,
  team_abbr,
  games_in_sample,
  fg_att,
  paint_att,
  mid_att,
  three_att,
  ROUND(SAFE_DIVIDE(paint_att, fg_att), 4) AS paint_share,
  ROUND(SAFE_DIVIDE(mid_att, fg_att), 4) AS mid_share,
  ROUND(SAFE_DIVIDE(three_att, fg_att), 4) AS three_share,
  ROUND(SAFE_DIVIDE(fg_made, fg_att), 4) AS fg_pct,
  ROUND(SAFE_DIVIDE(three_made, three_att), 4) AS three_pct
FROM last_10
WHERE fg_att > 0
