"""Where the sandbox keeps its files: one folder, `.runbook/` in the project by default."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..phases import PROJECT_ROOT


@dataclass(frozen=True)
class SandboxHome:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "sandbox.duckdb"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def source(self) -> Path:
        """The sandbox pipeline's git checkout (the 'source repository')."""
        return self.root / "source"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Pid files and service ports of processes the sandbox started."""
        return self.root / "run"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def replay(self) -> Path:
        """The ledgers of prefixed replays (runbook 03), one per prefix."""
        return self.root / "replay"

    def ledger(self, prefix: str) -> Path:
        """The ledger of the replays with `prefix` (its lock beside it)."""
        return self.replay / f"{prefix}.ledger.jsonl"

    def ensure(self) -> "SandboxHome":
        for p in (self.root, self.logs, self.run, self.builds):
            p.mkdir(parents=True, exist_ok=True)
        return self


def sandbox_home(root: str | Path | None = None) -> SandboxHome:
    """The sandbox folder: `root`, else $RUNBOOK_HOME, else `<project>/.runbook`."""
    chosen = root or os.environ.get("RUNBOOK_HOME") or (PROJECT_ROOT / ".runbook")
    return SandboxHome(Path(chosen).expanduser().resolve())
