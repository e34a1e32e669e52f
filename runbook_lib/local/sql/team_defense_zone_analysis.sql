-- Phase 4 team_defense_zone_analysis: what each team allowed over its last 10 games before
-- @analysis_date. Reads {analytics}: always PRODUCTION (upstream behaviour).
-- Parameters: @analysis_date, @season_start.
-- FLOAT64 measures are summed as NUMERIC: a float sum depends on row order, and its last bit can
-- flip a ROUND, so a replay over the same data would differ from production by 0.01 here and there.
WITH team_games AS (
  SELECT
    game_id,
    team_abbr,
    ROW_NUMBER() OVER (PARTITION BY team_abbr ORDER BY game_date DESC) AS recency
  FROM `{analytics}.team_offense_game_summary`
  WHERE game_date >= @season_start AND game_date < @analysis_date
),
last_10 AS (
  SELECT game_id, team_abbr FROM team_games WHERE recency <= 10
),
opponent_offense AS (
  -- the other side's row of the same game is what this team's defense allowed
  SELECT
    l.team_abbr,
    COUNT(*) AS games_in_sample,
    AVG(o.points) AS points_allowed_avg,
    SUM(o.points) AS points_allowed,
    SUM(CAST(o.possessions AS NUMERIC)) AS opponent_possessions,
    SUM(o.fg_made) AS opponent_fg_made,
    SUM(o.fg_att) AS opponent_fg_att,
    AVG(CAST(o.pace AS NUMERIC)) AS pace_avg
  FROM last_10 AS l
  JOIN `{analytics}.team_offense_game_summary` AS o
    ON o.game_id = l.game_id AND o.team_abbr != l.team_abbr
  GROUP BY l.team_abbr
),
opponent_zones AS (
  SELECT
    l.team_abbr,
    SUM(p.paint_att) AS paint_att,
    SUM(p.mid_att) AS mid_att,
    SUM(p.three_att) AS three_att,
    SUM(p.fg_att) AS fg_att
  FROM last_10 AS l
  JOIN `{analytics}.player_game_summary` AS p
    ON p.game_id = l.game_id AND p.opponent_abbr = l.team_abbr
  GROUP BY l.team_abbr
)
SELECT
  @analysis_date AS analysis_date,
  o.team_abbr,
  o.games_in_sample,
  ROUND(o.points_allowed_avg, 2) AS points_allowed_avg,
  ROUND(100 * SAFE_DIVIDE(o.points_allowed, o.opponent_possessions), 2) AS defensive_rating,
  ROUND(SAFE_DIVIDE(o.opponent_fg_made, o.opponent_fg_att), 4) AS opponent_fg_pct,
  ROUND(SAFE_DIVIDE(z.paint_att, z.fg_att), 4) AS opponent_paint_share,
  ROUND(SAFE_DIVIDE(z.mid_att, z.fg_att), 4) AS opponent_mid_share,
  ROUND(SAFE_DIVIDE(z.three_att, z.fg_att), 4) AS opponent_three_share,
  ROUND(o.pace_avg, 2) AS pace_avg
FROM opponent_offense AS o
LEFT JOIN opponent_zones AS z ON z.team_abbr = o.team_abbr
