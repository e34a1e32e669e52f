-- Phase 4 player_composite_factors: adjustment factors for every player who plays on @analysis_date.
-- Reads {analytics}: always PRODUCTION (upstream behaviour). Who plays whom on the day comes from that
-- day's player_game_summary rows; every factor uses only games strictly before the day.
-- Parameters: @analysis_date, @season_start.
-- FLOAT64 measures are summed as NUMERIC: a float sum depends on row order, and its last bit can
-- flip a ROUND, so a replay over the same data would differ from production by 0.01 here and there.
WITH todays_games AS (
  SELECT game_date, player_lookup, team_abbr, opponent_abbr, points_line
  FROM `{analytics}.player_game_summary`
  WHERE game_date = @analysis_date
),
player_history AS (
  SELECT
    player_lookup,
    game_date,
    points,
    ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY game_date DESC) AS recency
  FROM `{analytics}.player_game_summary`
  WHERE game_date >= @season_start AND game_date < @analysis_date
),
player_form AS (
  SELECT player_lookup, MAX(game_date) AS last_game_date, AVG(IF(recency <= 10, points, NULL)) AS points_avg_last_10
  FROM player_history
  GROUP BY player_lookup
),
team_history AS (
  SELECT
    team_abbr,
    opponent_points,
    pace,
    ROW_NUMBER() OVER (PARTITION BY team_abbr ORDER BY game_date DESC) AS recency
  FROM `{analytics}.team_offense_game_summary`
  WHERE game_date >= @season_start AND game_date < @analysis_date
),
team_form AS (
  SELECT team_abbr, AVG(opponent_points) AS points_allowed_avg, AVG(CAST(pace AS NUMERIC)) AS pace_avg
  FROM team_history
  WHERE recency <= 10
  GROUP BY team_abbr
),
league AS (
  -- averaged over the teams that have played: until every team has, a league average over all 30
  -- (the code before the head commit) was too low and every matchup and pace factor too high
  SELECT AVG(CAST(points_allowed_avg AS NUMERIC)) AS points_allowed_avg, AVG(CAST(pace_avg AS NUMERIC)) AS pace_avg
  FROM team_form
),
factors AS (
  SELECT
    g.game_date,
    g.player_lookup,
    g.team_abbr,
    g.opponent_abbr,
    g.points_line,
    DATE_DIFF(g.game_date, f.last_game_date, DAY) - 1 AS days_rest,
    f.points_avg_last_10,
    opp.points_allowed_avg AS opponent_points_allowed_avg,
    -- a team without history yet is treated as league average (factor 1)
    COALESCE(SAFE_DIVIDE(opp.points_allowed_avg, league.points_allowed_avg), 1) AS matchup_factor,
    COALESCE(SAFE_DIVIDE((own.pace_avg + opp.pace_avg) / 2, league.pace_avg), 1) AS pace_factor
  FROM todays_games AS g
  LEFT JOIN player_form AS f ON f.player_lookup = g.player_lookup
  LEFT JOIN team_form AS own ON own.team_abbr = g.team_abbr
  LEFT JOIN team_form AS opp ON opp.team_abbr = g.opponent_abbr
  CROSS JOIN league
),
with_fatigue AS (
  SELECT
    *,
    -- back-to-backs cost scoring; two or more days off help a little; no history is neutral
    CASE
      WHEN days_rest IS NULL THEN 1
      WHEN days_rest = 0 THEN 0.94
      WHEN days_rest = 1 THEN 1
      WHEN days_rest = 2 THEN 1.02
      ELSE 1.03
    END AS fatigue_factor
  FROM factors
)
SELECT
  game_date,
  player_lookup,
  team_abbr,
  opponent_abbr,
  days_rest,
  COALESCE(days_rest = 0, FALSE) AS is_back_to_back,
  CAST(fatigue_factor AS FLOAT64) AS fatigue_factor,
  ROUND(opponent_points_allowed_avg, 2) AS opponent_points_allowed_avg,
  ROUND(matchup_factor, 4) AS matchup_factor,
  ROUND(pace_factor, 4) AS pace_factor,
  ROUND(fatigue_factor * matchup_factor * pace_factor, 4) AS composite_factor,
  ROUND(points_avg_last_10, 2) AS points_avg_last_10,
  ROUND(points_avg_last_10 * fatigue_factor * matchup_factor * pace_factor, 2) AS projected_points,
  points_line,
  ROUND(points_avg_last_10 * fatigue_factor * matchup_factor * pace_factor - points_line, 2) AS projected_edge
FROM with_fatigue
