"""Step 1 of runbook 03: the dataset prefix, and the map of what a prefixed replay reads and writes.

Upstream joins prefix and dataset with an underscore ("test" -> test_nba_analytics), so the older
scripts' "test_" writes test__nba_analytics; nothing validates the prefix and an empty one means
production. Writes honour the prefix, reads do not (a prefixed Phase 4 reads production
nba_analytics), and run-history rows go to production whatever the prefix. The map shows all of it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from ..phases import PhaseRegistry, prefixed_dataset

RUN_HISTORY_CAUSE = ("upstream processors write their run-history rows to production {table} whatever "
                     "dataset_prefix says")


@dataclass
class DatasetUse:
    """One dataset a replayed phase touches: where production keeps it and where the replay goes."""

    phase: str
    role: str            # reads | writes | run history
    production: str      # dataset (or dataset.table for the run history)
    replay: str          # what the prefixed run really uses
    note: str = ""

    @property
    def production_touched(self) -> bool:
        return self.replay == self.production

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DatasetMap:
    prefix: str
    uses: list[DatasetUse] = field(default_factory=list)
    reads_production_output: list[str] = field(default_factory=list)   # sentences: a phase reading another's production output

    @property
    def test_datasets(self) -> dict[str, str]:
        """Production dataset -> the test dataset the replay writes, in phase order."""
        return {u.production: u.replay for u in self.uses if u.role == "writes"}

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"phase": u.phase, "role": u.role, "production": u.production,
                              "the replay uses": u.replay, "note": u.note} for u in self.uses])

    def to_dict(self) -> dict:
        return {"prefix": self.prefix, "uses": [u.to_dict() for u in self.uses],
                "reads_production_output": list(self.reads_production_output)}


def dataset_map(phases: PhaseRegistry, selected: list[str], prefix: str) -> DatasetMap:
    """production dataset -> test dataset for everything the selected phases read and write."""
    uses: list[DatasetUse] = []
    cross: list[str] = []
    writers = {ds: name for name in phases.names() for ds in phases.get(name).writes}
    for name in selected:
        phase = phases.get(name)
        for dataset in phase.reads:
            note = "reads are not prefixed upstream"
            producer = writers.get(dataset)
            if producer and producer != name:
                note = (f"reads are not prefixed upstream: {name} reads production {dataset}, "
                        f"not {prefixed_dataset(dataset, prefix)}")
                cross.append(f"Phase {phase.number}'s test output was computed from production Phase "
                             f"{phases.get(producer).number} data ({dataset}), not from the replayed "
                             f"{prefixed_dataset(dataset, prefix)}")
            uses.append(DatasetUse(name, "reads", dataset, dataset, note))
        for dataset in phase.writes:
            uses.append(DatasetUse(name, "writes", dataset, prefixed_dataset(dataset, prefix)))
    history = phases.run_history_table
    uses.append(DatasetUse(", ".join(selected), "run history", history, history,
                           RUN_HISTORY_CAUSE.format(table=history) + ": counted and reported as a warning"))
    return DatasetMap(prefix, uses, cross)
