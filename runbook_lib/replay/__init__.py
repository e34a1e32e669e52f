"""Runbook 03 (a prefixed replay of Phase 3 -> Phase 4, with proof that production was not touched),
one module per job:

- prefix.py       the map production dataset -> what the replay uses (the prefix rules: phases.check_test_prefix)
- capability.py   may each phase be called with a prefix (runbook 00's facts); else blocked, runbook 02
- datasets.py     the test datasets and tables, planned, then made like production's before any call
- commands.py     the exact equivalent bq and curl commands of that plan and of the calls
- fingerprint.py  production's rows per partition (and checksums), before and after, and what changed
- ledger.py       each (date, phase)'s status as it changes: a file in the sandbox, a table in the cloud
- run.py          the calls: bounded concurrency, retries with backoff and jitter, a progress bar
- summary.py      the isolation verdict, the per-date table and chart
- runbook.py      the steps in the notebook's order, and the verdict

Everything the notebook and the tests use is importable from `runbook_lib.replay` itself.
"""
from .capability import Capability, PhaseCapability, check_capability
from .claims import ClaimLost, ReplayClaims
from .commands import ReplayCommands, call_command, dataset_command, replay_commands, table_command
from .datasets import (NewDataset, TestDatasets, TestTable, create_test_datasets, output_tables, plan_test_datasets,
                       prepare_test_datasets)
from .fingerprint import (Change, Checksums, PartitionPrint, TablePrint, changes, checksum_sql, fingerprint,
                          plan_checksums, production_tables)
from .ledger import FileLedger, LedgerBusy, LedgerEntry, WarehouseLedger, finished, replay_holder
from .prefix import DatasetMap, DatasetUse, dataset_map
from .run import (Call, Outcome, Replayer, RetryPolicy, Tokens, TrafficMoved, call_with_retries, payload_for,
                  plan_calls)
from .runbook import Replay, ReplayResult, data_dates, prepare
from .summary import Isolation, judge_isolation, per_date_table, rows_chart, test_rows

__all__ = [
    "Capability", "PhaseCapability", "check_capability",
    "ClaimLost", "ReplayClaims",
    "ReplayCommands", "call_command", "dataset_command", "replay_commands", "table_command",
    "NewDataset", "TestDatasets", "TestTable", "create_test_datasets", "output_tables", "plan_test_datasets",
    "prepare_test_datasets",
    "Change", "Checksums", "PartitionPrint", "TablePrint", "changes", "checksum_sql", "fingerprint",
    "plan_checksums", "production_tables",
    "FileLedger", "LedgerBusy", "LedgerEntry", "WarehouseLedger", "finished", "replay_holder",
    "DatasetMap", "DatasetUse", "dataset_map",
    "Call", "Outcome", "Replayer", "RetryPolicy", "Tokens", "TrafficMoved", "call_with_retries", "payload_for",
    "plan_calls",
    "Replay", "ReplayResult", "data_dates", "prepare",
    "Isolation", "judge_isolation", "per_date_table", "rows_chart", "test_rows",
]
