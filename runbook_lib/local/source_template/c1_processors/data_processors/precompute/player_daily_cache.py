from data_processors.precompute.precompute_base import PrecomputeProcessorBase


class PlayerDailyCacheProcessor(PrecomputeProcessorBase):
    table_name = "player_daily_cache"
    merge_keys = ("cache_date", "player_lookup")

    def transform_sql(self, analysis_date):
        return f"""
            SELECT DATE '{analysis_date}' AS cache_date, player_lookup,
                   AVG(points) AS points_avg_last_10, AVG(minutes) AS minutes_avg_last_10
            FROM `{self.analytics_dataset}.player_game_summary`
            WHERE game_date < '{analysis_date}'
            GROUP BY player_lookup
        """
