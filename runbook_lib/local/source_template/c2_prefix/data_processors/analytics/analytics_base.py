"""Base class of the Phase 3 analytics processors: read nba_raw, MERGE into nba_analytics."""
from google.cloud import bigquery

from shared.config import PROJECT_ID
from shared.run_history import record_run


class AnalyticsProcessorBase:
    table_name = ""
    merge_keys = ()

    def __init__(self, backfill_mode=False, dataset_prefix=""):
        self.client = bigquery.Client(project=PROJECT_ID)
        self.backfill_mode = backfill_mode
        # A prefix sends the writes to "<prefix>_nba_analytics" (test runs); reads stay on nba_raw.
        self.dataset_prefix = dataset_prefix
        self.dataset = f"{dataset_prefix}_nba_analytics" if dataset_prefix else "nba_analytics"
        self.raw_dataset = "nba_raw"

    def transform_sql(self, start_date, end_date):
        raise NotImplementedError

    def run(self, start_date, end_date):
        target = f"{PROJECT_ID}.{self.dataset}.{self.table_name}"
        on = " AND ".join(f"t.{k} = s.{k}" for k in self.merge_keys)
        sql = (f"MERGE `{target}` t USING ({self.transform_sql(start_date, end_date)}) s ON {on} "
               "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT ROW")
        job = self.client.query(sql)
        job.result()
        record_run(type(self).__name__, start_date, "success", job.num_dml_affected_rows or 0)
        return job.num_dml_affected_rows or 0
