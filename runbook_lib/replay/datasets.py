"""Step 3 of runbook 03: the test datasets the replay writes, made before any call.

Each missing test dataset is created in its production dataset's location, with a default table
expiration (the replay's output cleans itself up) and labels marking it as the kit's (the warehouse adds
created-by=phase-runbooks; only such datasets can ever be dropped by the kit); each output table with
production's schema and partitioning (`create_table_like`, never a schema autodetected from the first
rows a processor writes). A test table that already exists must match production's schema and
partitioning, or the replay stops before calling anything.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ..phases import PhaseRegistry
from ..warehouse import carries_kit_label

# The labels of a test dataset the replay creates, besides the kit's own.
LABELS = {"runbook": "03_prefixed_replay"}


@dataclass
class TestTable:
    production: str     # dataset.table
    test: str
    action: str         # created | exists | would create | refused
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TestDatasets:
    tables: list[TestTable] = field(default_factory=list)
    datasets_created: list[str] = field(default_factory=list)
    ttl_days: float = 0.0

    @property
    def problems(self) -> list[str]:
        return [f"{t.test}: {t.detail}" for t in self.tables if t.action == "refused"]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"production table": t.production, "test table": t.test, "action": t.action,
                              "detail": t.detail or "-"} for t in self.tables])

    def to_dict(self) -> dict:
        return {"tables": [t.to_dict() for t in self.tables], "datasets_created": list(self.datasets_created),
                "ttl_days": self.ttl_days}


def output_tables(phases: PhaseRegistry, selected: list[str], prefix: str) -> list[tuple[str, str]]:
    """(production table, test table) for every output table of the selected phases."""
    return [(t.ref, t.test_ref(prefix))
            for name in selected for t in phases.get(name).tables]


def _mismatch(warehouse: Any, production: str, test: str) -> str:
    """How an existing test table differs from production in schema or partitioning ("" if it does not)."""
    want, got = warehouse.table_info(production), warehouse.table_info(test)
    if want.columns != got.columns:
        missing = [c for c, _ in want.columns if c not in dict(got.columns)]
        extra = [c for c, _ in got.columns if c not in dict(want.columns)]
        what = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                           f"extra {', '.join(extra)}" if extra else "") if part)
        return f"its columns differ from production's ({what or 'types or order'}); drop it or choose another prefix"
    if want.partition_column != got.partition_column:
        return (f"it is partitioned by {got.partition_column or 'nothing'}, production by "
                f"{want.partition_column or 'nothing'}; drop it or choose another prefix")
    return ""


def prepare_test_datasets(warehouse: Any, pairs: list[tuple[str, str]], ttl_days: float,
                          dry_run: bool = False) -> TestDatasets:
    """Create what is missing (nothing with dry_run) and check what exists; problems are `refused` rows."""
    found = TestDatasets(ttl_days=ttl_days)
    checked: dict[str, bool] = {}
    notes: dict[str, str] = {}
    locations: dict[str, str] = {}   # production dataset -> its location, read once per dataset
    for production, test in pairs:
        dataset = test.split(".")[0]
        if dataset not in checked:
            checked[dataset] = warehouse.dataset_exists(dataset)
            if checked[dataset] and not carries_kit_label(warehouse.dataset_info(dataset).labels):
                notes[dataset] = f"dataset {dataset} was not made by the kit (no created-by label); used as it is"
        if not warehouse.table_exists(production):
            found.tables.append(TestTable(production, test, "refused", f"production {production} does not exist, "
                                                                       "so there is no schema to copy"))
            continue
        if checked[dataset] and warehouse.table_exists(test):
            problem = _mismatch(warehouse, production, test)
            found.tables.append(TestTable(production, test, "refused" if problem else "exists",
                                          problem or notes.get(dataset, "")))
            continue
        source = production.split(".")[0]
        if source not in locations:
            locations[source] = warehouse.dataset_info(source).location
        location = locations[source]
        if dry_run:
            found.tables.append(TestTable(production, test, "would create", notes.get(dataset, "") if checked[dataset]
                                          else f"in a new dataset {dataset} ({location})"))
            continue
        if not checked[dataset]:
            warehouse.create_dataset(dataset, default_table_expiration_days=ttl_days, exists_ok=True,
                                     location=location, labels=LABELS)
            checked[dataset] = True
            found.datasets_created.append(dataset)
            notes[dataset] = (f"dataset {dataset} created in {location}, labelled the kit's, tables expire after "
                              f"{ttl_days:g} days")
        warehouse.create_table_like(production, test, exists_ok=True)
        found.tables.append(TestTable(production, test, "created", notes.get(dataset, "")))
    return found
