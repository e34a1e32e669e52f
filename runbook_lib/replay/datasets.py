"""Step 3 of runbook 03: the test datasets the replay writes, made before any call.

Each missing test dataset is created in its production dataset's location, with a default table
expiration (the replay's output cleans itself up) and labels marking it as the kit's (the warehouse adds
created-by=phase-runbooks; only such datasets can ever be dropped by the kit); each output table with
production's schema and partitioning (`create_table_like`, never a schema autodetected from the first
rows a processor writes). A test table that already exists must match production's schema and
partitioning, or the replay stops before calling anything, and nothing is created.

What to create is planned first (`plan_test_datasets`, reads only) and then created from that plan
(`create_test_datasets`): a dry run stops after the plan, and commands.py prints the same plan as `bq`
commands.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ..phases import PhaseRegistry
from ..warehouse import carries_kit_label, check_labels

# The labels of a test dataset the replay creates, besides the kit's own.
LABELS = {"runbook": "03_prefixed_replay"}
WOULD_CREATE, CREATED, EXISTS, REFUSED = "would create", "created", "exists", "refused"


@dataclass
class NewDataset:
    """A test dataset the replay creates, as create_dataset is given it."""

    name: str
    location: str | None     # its production dataset's
    ttl_days: float          # default table expiration
    labels: dict[str, str]   # LABELS with the kit's own (check_labels: what the warehouse sets)

    @classmethod
    def like(cls, name: str, location: str | None, ttl_days: float) -> "NewDataset":
        """A test dataset made like its production dataset (in `location`, production's), labelled the kit's."""
        return cls(name, location, ttl_days, check_labels(LABELS))

    def create(self, warehouse: Any) -> None:
        warehouse.create_dataset(self.name, default_table_expiration_days=self.ttl_days, exists_ok=True,
                                 location=self.location, labels=self.labels)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TestTable:
    production: str     # dataset.table
    test: str
    action: str         # would create | created | exists | refused
    detail: str = ""
    location: str | None = None   # where it is created (its production dataset's location)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TestDatasets:
    tables: list[TestTable] = field(default_factory=list)
    new_datasets: list[NewDataset] = field(default_factory=list)   # the plan: missing test datasets
    datasets_created: list[str] = field(default_factory=list)
    ttl_days: float = 0.0
    foreign: list[str] = field(default_factory=list)   # existing test datasets without the kit's label

    @property
    def problems(self) -> list[str]:
        return [f"{t.test}: {t.detail}" for t in self.tables if t.action == REFUSED]

    @property
    def new_tables(self) -> list[TestTable]:
        """The tables the plan creates (would create, or created)."""
        return [t for t in self.tables if t.action in (WOULD_CREATE, CREATED)]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"production table": t.production, "test table": t.test, "action": t.action,
                              "detail": t.detail or "-"} for t in self.tables])

    def to_dict(self) -> dict:
        return {"tables": [t.to_dict() for t in self.tables], "new_datasets": [d.to_dict() for d in self.new_datasets],
                "datasets_created": list(self.datasets_created), "ttl_days": self.ttl_days, "foreign": list(self.foreign)}


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


def plan_test_datasets(warehouse: Any, pairs: list[tuple[str, str]], ttl_days: float) -> TestDatasets:
    """What is missing (`would create`) and whether what exists matches production; reads only."""
    found = TestDatasets(ttl_days=ttl_days)
    exists: dict[str, bool] = {}
    notes: dict[str, str] = {}
    infos: dict[str, Any] = {}   # dataset -> its DatasetInfo (labels, location), read once per dataset

    def info(name: str) -> Any:
        if name not in infos:
            infos[name] = warehouse.dataset_info(name)
        return infos[name]

    for production, test in pairs:
        dataset = test.split(".")[0]
        if dataset not in exists:
            exists[dataset] = warehouse.dataset_exists(dataset)
            if exists[dataset] and not carries_kit_label(info(dataset).labels):
                notes[dataset] = f"dataset {dataset} was not made by the kit (no created-by label); used as it is"
                found.foreign.append(dataset)
        if not warehouse.table_exists(production):
            found.tables.append(TestTable(production, test, REFUSED, f"production {production} does not exist, "
                                                                     "so there is no schema to copy"))
            continue
        source = production.split(".")[0]
        location = info(source).location
        if exists[dataset]:
            elsewhere = _other_location(dataset, info(dataset).location, source, location)
            if elsewhere:
                found.tables.append(TestTable(production, test, REFUSED, elsewhere))
                continue
        if exists[dataset] and warehouse.table_exists(test):
            problem = _mismatch(warehouse, production, test)
            found.tables.append(TestTable(production, test, REFUSED if problem else EXISTS,
                                          problem or notes.get(dataset, "")))
            continue
        if not exists[dataset] and all(d.name != dataset for d in found.new_datasets):
            found.new_datasets.append(NewDataset.like(dataset, location, ttl_days))
        found.tables.append(TestTable(production, test, WOULD_CREATE,
                                      notes.get(dataset, "") if exists[dataset] else
                                      f"in a new dataset {dataset} ({location})", location))
    return found


def _other_location(test: str, there: str | None, production: str, here: str | None) -> str:
    """Why an existing test dataset cannot be used beside its production one: BigQuery runs a query in one
    location, so the phases' writes (which read production) and the comparison would be refused."""
    if not there or not here or there.lower() == here.lower():
        return ""
    return (f"dataset {test} is in {there} but production {production} is in {here}, and a BigQuery query reads "
            f"datasets of one location only (a dataset cannot move): drop {test} or choose another dataset_prefix")


def create_test_datasets(warehouse: Any, planned: TestDatasets) -> TestDatasets:
    """Create what the plan says (nothing when it refused a table: the replay stops before any call)."""
    if planned.problems:
        return planned
    for new in planned.new_datasets:
        new.create(warehouse)
        planned.datasets_created.append(new.name)
    made = {d.name: d for d in planned.new_datasets}
    for table in planned.new_tables:
        warehouse.create_table_like(table.production, table.test, exists_ok=True)
        table.action = CREATED
        dataset = made.get(table.test.split(".")[0])
        if dataset is not None:
            table.detail = (f"dataset {dataset.name} created in {dataset.location}, labelled the kit's, tables "
                            f"expire after {dataset.ttl_days:g} days")
    return planned


def prepare_test_datasets(warehouse: Any, pairs: list[tuple[str, str]], ttl_days: float,
                          dry_run: bool = False) -> TestDatasets:
    """The plan, then (unless dry_run) what it creates; problems are `refused` rows."""
    planned = plan_test_datasets(warehouse, pairs, ttl_days)
    return planned if dry_run else create_test_datasets(warehouse, planned)
