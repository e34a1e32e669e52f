from data_processors.analytics.analytics_base import AnalyticsProcessorBase


class TeamOffenseGameSummaryProcessor(AnalyticsProcessorBase):
    table_name = "team_offense_game_summary"
    merge_keys = ("game_date", "team_abbr")

    def transform_sql(self, start_date, end_date):
        return f"""
            SELECT game_date, team_abbr, SUM(points) AS points, SUM(field_goals_attempted) AS fga
            FROM `{self.raw_dataset}.player_boxscores`
            WHERE game_date BETWEEN '{start_date}' AND '{end_date}'
            GROUP BY game_date, team_abbr
        """
