import os

PROJECT_ID = os.environ.get("GCP_PROJECT_ID", "nba-props-platform")
RUN_HISTORY_TABLE = "nba_reference.processor_run_history"
