"""Base class of the Phase 4 precompute processors: read nba_analytics, MERGE into nba_precompute."""
from google.cloud import bigquery

from shared.config import PROJECT_ID
from shared.run_history import record_run


class PrecomputeProcessorBase:
    table_name = ""
    merge_keys = ()
    depends_on = ("nba_analytics.player_game_summary",)

    def __init__(self, backfill_mode=False, strict_mode=True, skip_dependency_check=False, dataset_prefix=""):
        self.client = bigquery.Client(project=PROJECT_ID)
        self.backfill_mode = backfill_mode
        self.strict_mode = strict_mode
        self.skip_dependency_check = skip_dependency_check
        # A prefix sends the writes to "<prefix>_nba_precompute"; reads still use production nba_analytics.
        self.dataset_prefix = dataset_prefix
        self.dataset = f"{dataset_prefix}_nba_precompute" if dataset_prefix else "nba_precompute"
        self.analytics_dataset = "nba_analytics"

    def check_dependencies(self, analysis_date):
        for table in self.depends_on:
            rows = list(self.client.query(
                f"SELECT COUNT(*) AS n FROM `{PROJECT_ID}.{table}` WHERE game_date <= '{analysis_date}'").result())
            if rows[0].n == 0 and self.strict_mode:
                raise RuntimeError(f"dependency {table} has no rows up to {analysis_date}")

    def transform_sql(self, analysis_date):
        raise NotImplementedError

    def run(self, analysis_date):
        if not self.skip_dependency_check:
            self.check_dependencies(analysis_date)
        target = f"{PROJECT_ID}.{self.dataset}.{self.table_name}"
        on = " AND ".join(f"t.{k} = s.{k}" for k in self.merge_keys)
        sql = (f"MERGE `{target}` t USING ({self.transform_sql(analysis_date)}) s ON {on} "
               "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT ROW")
        job = self.client.query(sql)
        job.result()
        record_run(type(self).__name__, analysis_date, "success", job.num_dml_affected_rows or 0)
        return job.num_dml_affected_rows or 0
