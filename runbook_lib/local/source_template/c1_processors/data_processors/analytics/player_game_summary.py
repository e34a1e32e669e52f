from data_processors.analytics.analytics_base import AnalyticsProcessorBase


class PlayerGameSummaryProcessor(AnalyticsProcessorBase):
    table_name = "player_game_summary"
    merge_keys = ("game_date", "player_lookup")

    def transform_sql(self, start_date, end_date):
        return f"""
            SELECT game_date, player_lookup, team_abbr, minutes, points, rebounds, assists
            FROM `{self.raw_dataset}.player_boxscores`
            WHERE game_date BETWEEN '{start_date}' AND '{end_date}'
        """
