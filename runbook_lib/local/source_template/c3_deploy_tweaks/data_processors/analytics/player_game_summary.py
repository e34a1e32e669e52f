from data_processors.analytics.analytics_base import AnalyticsProcessorBase


class PlayerGameSummaryProcessor(AnalyticsProcessorBase):
    table_name = "player_game_summary"
    merge_keys = ("game_date", "player_lookup")

    def transform_sql(self, start_date, end_date):
        return f"""
            WITH lines AS (
              SELECT game_date, player_lookup, ROUND(AVG(line) * 2) / 2 AS points_line
              FROM `{self.raw_dataset}.prop_lines`
              WHERE prop_type = 'points' AND game_date BETWEEN '{start_date}' AND '{end_date}'
              GROUP BY game_date, player_lookup
            )
            SELECT b.game_date, b.player_lookup, b.team_abbr, b.minutes, b.points, b.rebounds, b.assists,
                   l.points_line,
                   CASE
                     WHEN l.points_line IS NULL THEN NULL
                     WHEN b.points > l.points_line THEN 'OVER'
                     WHEN b.points < l.points_line THEN 'UNDER'
                     ELSE 'PUSH'  -- exactly on the line: stakes returned
                   END AS over_under_result
            FROM `{self.raw_dataset}.player_boxscores` AS b
            LEFT JOIN lines AS l USING (game_date, player_lookup)
            WHERE b.game_date BETWEEN '{start_date}' AND '{end_date}'
        """
