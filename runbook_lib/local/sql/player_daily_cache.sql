-- Phase 4 player_daily_cache: each player's form going into @analysis_date.
-- Reads {analytics}: always the PRODUCTION dataset, even in a prefixed run (upstream behaviour).
-- Only games strictly before @analysis_date count, so the cache never sees the day it serves.
-- Parameters: @analysis_date, @season_start.
-- FLOAT64 measures are summed as NUMERIC: a float sum depends on row order, and its last bit can
-- flip a ROUND, so a replay over the same data would differ from production by 0.01 here and there.
WITH history AS (
  SELECT
    player_lookup,
    player_name,
    team_abbr,
    game_date,
    minutes,
    points,
    rebounds,
    assists,
    fg_att,
    ft_att,
    usage_rate,
    ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY game_date DESC) AS recency
  FROM `{analytics}.player_game_summary`
  WHERE game_date >= @season_start AND game_date < @analysis_date
)
SELECT
  @analysis_date AS cache_date,
  player_lookup,
  MAX(IF(recency = 1, player_name, NULL)) AS player_name,
  MAX(IF(recency = 1, team_abbr, NULL)) AS team_abbr,
  COUNT(*) AS games_played,
  MAX(game_date) AS last_game_date,
  DATE_DIFF(@analysis_date, MAX(game_date), DAY) AS days_since_last_game,
  ROUND(AVG(IF(recency <= 5, points, NULL)), 2) AS points_avg_last_5,
  ROUND(AVG(IF(recency <= 10, points, NULL)), 2) AS points_avg_last_10,
  ROUND(STDDEV_SAMP(IF(recency <= 10, points, NULL)), 2) AS points_std_last_10,
  ROUND(AVG(IF(recency <= 10, rebounds, NULL)), 2) AS rebounds_avg_last_10,
  ROUND(AVG(IF(recency <= 10, assists, NULL)), 2) AS assists_avg_last_10,
  ROUND(AVG(IF(recency <= 10, CAST(minutes AS NUMERIC), NULL)), 2) AS minutes_avg_last_10,
  ROUND(SAFE_DIVIDE(SUM(IF(recency <= 10, points, 0)),
                    2 * SUM(IF(recency <= 10, CAST(fg_att + 0.44 * ft_att AS NUMERIC), 0))), 4) AS ts_pct_last_10,
  ROUND(AVG(IF(recency <= 10, CAST(usage_rate AS NUMERIC), NULL)), 2) AS usage_rate_last_10
FROM history
GROUP BY player_lookup
