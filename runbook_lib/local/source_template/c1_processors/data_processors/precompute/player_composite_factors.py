from data_processors.precompute.precompute_base import PrecomputeProcessorBase


class PlayerCompositeFactorsProcessor(PrecomputeProcessorBase):
    table_name = "player_composite_factors"
    merge_keys = ("game_date", "player_lookup")
    depends_on = ("nba_analytics.player_game_summary", "nba_analytics.team_offense_game_summary")

    def transform_sql(self, analysis_date):
        return f"""
            WITH team_form AS (
              SELECT team_abbr, AVG(opponent_points) AS points_allowed_avg
              FROM `{self.analytics_dataset}.team_offense_game_summary`
              WHERE game_date < '{analysis_date}'
              GROUP BY team_abbr
            ),
            league AS (
              -- the league's 30 teams
              SELECT SUM(points_allowed_avg) / 30 AS points_allowed_avg FROM team_form
            )
            SELECT g.game_date, g.player_lookup,
                   COALESCE(opp.points_allowed_avg / league.points_allowed_avg, 1) AS matchup_factor
            FROM `{self.analytics_dataset}.player_game_summary` AS g
            LEFT JOIN team_form AS opp ON opp.team_abbr = g.opponent_abbr
            CROSS JOIN league
            WHERE g.game_date = '{analysis_date}'
        """
