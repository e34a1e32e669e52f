"""Every processor run is recorded in production, whatever dataset it wrote."""
from datetime import datetime, timezone

from google.cloud import bigquery

from shared.config import PROJECT_ID, RUN_HISTORY_TABLE


def record_run(processor, data_date, status, rows_processed):
    client = bigquery.Client(project=PROJECT_ID)
    client.insert_rows_json(f"{PROJECT_ID}.{RUN_HISTORY_TABLE}", [{
        "processor_name": processor,
        "data_date": str(data_date),
        "status": status,
        "rows_processed": rows_processed,
        "recorded_at": datetime.now(timezone.utc).isoformat(),
    }])
