from data_processors.precompute.precompute_base import PrecomputeProcessorBase


class PlayerCompositeFactorsProcessor(PrecomputeProcessorBase):
    table_name = "player_composite_factors"
    merge_keys = ("game_date", "player_lookup")
    depends_on = ("nba_analytics.player_game_summary", "nba_analytics.team_offense_game_summary")

    def transform_sql(self, analysis_date):
        return f"""
            SELECT DATE '{analysis_date}' AS game_date, player_lookup,
                   AVG(points) / NULLIF(AVG(minutes), 0) AS scoring_rate
            FROM `{self.analytics_dataset}.player_game_summary`
            WHERE game_date < '{analysis_date}'
            GROUP BY player_lookup
        """
