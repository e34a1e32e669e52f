from data_processors.precompute.precompute_base import PrecomputeProcessorBase


class TeamDefenseZoneAnalysisProcessor(PrecomputeProcessorBase):
    table_name = "team_defense_zone_analysis"
    merge_keys = ("analysis_date", "team_abbr")
    depends_on = ("nba_analytics.team_offense_game_summary",)

    def transform_sql(self, analysis_date):
        return f"""
            SELECT DATE '{analysis_date}' AS analysis_date, opponent_abbr AS team_abbr,
                   AVG(points) AS points_allowed_avg
            FROM `{self.analytics_dataset}.team_offense_game_summary`
            WHERE game_date < '{analysis_date}'
            GROUP BY opponent_abbr
        """
