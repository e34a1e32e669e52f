from data_processors.precompute.precompute_base import PrecomputeProcessorBase


class PlayerShotZoneAnalysisProcessor(PrecomputeProcessorBase):
    table_name = "player_shot_zone_analysis"
    merge_keys = ("analysis_date", "player_lookup")

    def transform_sql(self, analysis_date):
        return f"""
            SELECT DATE '{analysis_date}' AS analysis_date, player_lookup,
                   SUM(paint_attempts) / NULLIF(SUM(field_goals_attempted), 0) AS paint_rate
            FROM `{self.analytics_dataset}.player_game_summary`
            WHERE game_date < '{analysis_date}'
            GROUP BY player_lookup
        """
