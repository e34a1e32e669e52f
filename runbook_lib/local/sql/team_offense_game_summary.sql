-- Phase 3 team_offense_game_summary: one row per team per game.
-- Reads {raw} (never prefixed). Parameters: @start_date, @end_date.
-- FLOAT64 measures are summed as NUMERIC: a float sum depends on row order, and its last bit can
-- flip a ROUND, so a replay over the same data would differ from production by 0.01 here and there.
WITH team_box AS (
  SELECT
    game_id,
    game_date,
    team_abbr,
    MAX(opponent_abbr) AS opponent_abbr,
    LOGICAL_AND(is_home) AS is_home,
    SUM(fg_made) AS fg_made,
    SUM(fg_att) AS fg_att,
    SUM(three_made) AS three_made,
    SUM(three_att) AS three_att,
    SUM(ft_made) AS ft_made,
    SUM(ft_att) AS ft_att,
    SUM(rebounds) AS rebounds,
    SUM(assists) AS assists,
    SUM(turnovers) AS turnovers,
    SUM(CAST(minutes AS NUMERIC)) AS team_minutes
  FROM `{raw}.player_boxscores`
  WHERE game_date BETWEEN @start_date AND @end_date
  GROUP BY game_id, game_date, team_abbr
),
with_possessions AS (
  -- box scores carry no offensive rebounds; about 22% of a team's rebounds are offensive
  SELECT *, 0.96 * (fg_att + turnovers + 0.44 * ft_att - 0.22 * rebounds) AS possessions
  FROM team_box
)
SELECT
  t.game_date,
  t.team_abbr,
  t.game_id,
  t.opponent_abbr,
  t.is_home,
  IF(t.is_home, g.home_score, g.away_score) AS points,
  IF(t.is_home, g.away_score, g.home_score) AS opponent_points,
  IF(t.is_home, g.home_score > g.away_score, g.away_score > g.home_score) AS win,
  t.fg_made,
  t.fg_att,
  ROUND(SAFE_DIVIDE(t.fg_made, t.fg_att), 4) AS fg_pct,
  t.three_made,
  t.three_att,
  ROUND(SAFE_DIVIDE(t.three_made, t.three_att), 4) AS three_pct,
  t.ft_made,
  t.ft_att,
  t.rebounds,
  t.assists,
  t.turnovers,
  ROUND(t.possessions, 2) AS possessions,
  ROUND(100 * SAFE_DIVIDE(IF(t.is_home, g.home_score, g.away_score), t.possessions), 2) AS offensive_rating,
  ROUND(100 * SAFE_DIVIDE(IF(t.is_home, g.away_score, g.home_score), o.possessions), 2) AS defensive_rating,
  -- possessions per 48 minutes, averaged over both sides as the league reports it
  ROUND(SAFE_DIVIDE(48 * (t.possessions + o.possessions) / 2, t.team_minutes / 5), 2) AS pace
FROM with_possessions AS t
JOIN with_possessions AS o ON o.game_id = t.game_id AND o.team_abbr = t.opponent_abbr
JOIN `{raw}.games` AS g ON g.game_id = t.game_id
