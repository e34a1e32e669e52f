"""The processors' SQL: each processor's SELECT (sql/<processor>.sql, BigQuery dialect) as a given code
version runs it, and the scripts that MERGE its rows into the target table and record the run in the
run history, all in one warehouse call (one transaction), so a failure leaves nothing half-written.
Re-running a processor for the same dates replaces those dates' rows with identical ones: the MERGE
is idempotent."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError
from ..phases import OutputTable
from .corrections import sql_before_corrections
from .pipeline_tables import PHASE3_PROCESSORS, PHASE4_PROCESSORS, RUN_HISTORY_COLUMNS, TABLE_COLUMNS

SQL_DIR = Path(__file__).resolve().parent / "sql"


@dataclass(frozen=True)
class CodeVersion:
    """What a deployed revision's code can do."""

    commit: str
    supports_prefix: bool  # code from before the dataset_prefix commit ignores the prefix
    # code from before the head commit computes without its corrections (corrections.py): production
    # was written by such code, so a head replay differs from it in exactly those columns
    corrected: bool = True


HEAD = CodeVersion("head", True)


def processor_sql(processor: str, code: CodeVersion = HEAD) -> str:
    """The processor's SELECT as `code` runs it (BigQuery dialect, with {raw}/{analytics} placeholders)."""
    if processor not in PHASE3_PROCESSORS + PHASE4_PROCESSORS:
        allowed = ", ".join(PHASE3_PROCESSORS + PHASE4_PROCESSORS)
        raise ParameterError("processor", processor, f"choose one of {allowed}")
    head = (SQL_DIR / f"{processor}.sql").read_text()
    return head if code.corrected else sql_before_corrections(processor, head)


def merge_script(name: str, table: OutputTable, target_dataset: str, sources: dict, run_history: str,
                  code: CodeVersion) -> str:
    columns = [c for c, _ in TABLE_COLUMNS[name]]
    part = table.partition_column
    on = " AND ".join(f"T.{k} = S.{k}" for k in table.keys)
    updates = ", ".join(f"{c} = S.{c}" for c in columns if c not in table.keys)
    select = processor_sql(name, code).format(**sources)
    history_columns = ", ".join(c for c, _ in RUN_HISTORY_COLUMNS)
    return f"""
CREATE TEMP TABLE staged AS
{select};

MERGE `{target_dataset}.{table.table}` AS T
USING staged AS S
ON {on}
WHEN MATCHED THEN UPDATE SET {updates}
WHEN NOT MATCHED THEN INSERT ({", ".join(columns)}) VALUES ({", ".join("S." + c for c in columns)})
-- rows that are no longer produced go, but only on dates that have fresh rows: a date with no
-- source data is left as it was
WHEN NOT MATCHED BY SOURCE AND T.{part} IN (SELECT DISTINCT {part} FROM staged) THEN DELETE;

INSERT INTO `{run_history}` ({history_columns})
SELECT
  @run_id, @processor_name, @phase, d, @recorded_prefix, @target_dataset,
  COALESCE(n.rows_processed, 0),
  IF(n.rows_processed > 0, 'success', 'skipped'),
  @started_at, CURRENT_TIMESTAMP(), @commit_sha,
  IF(n.rows_processed > 0, NULL, 'no source rows for this date')
FROM UNNEST(GENERATE_DATE_ARRAY(@start_date, @end_date)) AS d
LEFT JOIN (SELECT {part} AS data_date, COUNT(*) AS rows_processed FROM staged GROUP BY {part}) AS n
  ON n.data_date = d;

SELECT COALESCE(SUM(rows_processed), 0) AS rows_written FROM `{run_history}` WHERE run_id = @run_id;
"""


def failure_script(run_history: str) -> str:
    history_columns = ", ".join(c for c, _ in RUN_HISTORY_COLUMNS)
    return f"""
INSERT INTO `{run_history}` ({history_columns})
SELECT @run_id, @processor_name, @phase, d, @recorded_prefix, @target_dataset, 0, 'failed',
       @started_at, CURRENT_TIMESTAMP(), @commit_sha, @error
FROM UNNEST(GENERATE_DATE_ARRAY(@start_date, @end_date)) AS d
"""
