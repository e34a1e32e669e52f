"""Step 2 of runbook 03: may each replayed phase be called with a prefix at all?

Runbook 00's facts decide (runbook_lib.overview.phase_states): every revision with a share of the traffic
must run its own phase's code (/health names the service phases.yaml expects and says it is healthy, and in
a split all of them run the same image) and contain the dataset_prefix commit.
Otherwise the replay is blocked before anything is created or called: old code ignores the prefix and
writes production, and another phase's code answers the wrong endpoint. The fix is runbook 02.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..overview import phase_states
from ..phase_state import (PhaseState, health_status_sentence, no_service_sentence, prefix_sentence,
                           prefix_unknown_sentence, unchecked_sentence, unhealthy_sentence, wrong_code_sentence)

REDEPLOY_NOTEBOOK = "notebooks/02_redeploy_phase.ipynb"


@dataclass
class PhaseCapability:
    phase: str
    service: str
    revision: str
    commit: str
    health: str            # what /health said: the service it names, or its status
    ready: bool
    problem: str = ""      # one clause: why this phase may not be called with a prefix
    redeploy: bool = False  # runbook 02 fixes it (wrong code, old commit); else something else does
    # every revision with a share of the traffic, as judged: the replay's calls may go to these only (run.py)
    serving: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**self.__dict__, "serving": list(self.serving)}


@dataclass
class Capability:
    phases: list[PhaseCapability] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(p.ready for p in self.phases)

    def blocked_sentence(self) -> str:
        """Why the replay may not start, naming each phase and what fixes it ("" when it may)."""
        problems = [p for p in self.phases if not p.ready]
        if not problems:
            return ""
        text = "; ".join(p.problem for p in problems)
        redeploy = [p.phase for p in problems if p.redeploy]
        if redeploy:
            text += (f". Redeploy {' and '.join(redeploy)} with runbook 02 ({REDEPLOY_NOTEBOOK}, dry_run=False), "
                     f"then run this replay again")
        return text + "."

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"phase": p.phase, "service": p.service, "revision": p.revision,
                              "commit": p.commit[:7] or "-", "/health": p.health,
                              "may replay": "yes" if p.ready else "NO", "why not": p.problem or "-"}
                             for p in self.phases])

    def to_dict(self) -> dict:
        return {"ready": self.ready, "phases": [p.to_dict() for p in self.phases]}


def judge(state: PhaseState, prefix_commit: str) -> PhaseCapability:
    """One phase's answer from runbook 00's facts about it. Every revision with a share of the traffic is
    judged: Cloud Run sends that share of the replay's calls to it."""
    health = state.reported_service or (f"HTTP {state.http_status}" if state.http_status is not None else "-")
    found = PhaseCapability(state.phase, state.service, state.revision, state.commit, health, ready=False,
                            serving=tuple(r.name for r in state.serving))
    # The first reason that holds, in this order; runbook 02 fixes wrong code, old code and a split of images.
    reasons = [(f"{state.phase}: {state.problem}" if state.problem else "", False),
               (health_status_sentence(state), False),
               (unhealthy_sentence(state), False),   # it says itself it cannot do its work: calls would fail
               (wrong_code_sentence(state), True),
               (no_service_sentence(state), False),
               (prefix_sentence(state, prefix_commit), True),
               (unchecked_sentence(state), True),   # runbook 02 sends 100% of the traffic to the revision it checked
               (prefix_unknown_sentence(state, prefix_commit), False)]
    found.problem, found.redeploy = next(((said, fix) for said, fix in reasons if said), ("", False))
    found.ready = not found.problem
    return found


def check_capability(target: Any, selected: list[str]) -> Capability:
    """Each selected phase judged from what serves it now (reads only: describe, /health)."""
    states = {s.phase: s for s in phase_states(target)}
    return Capability([judge(states[name], target.phases.get(name).prefix_support_commit[:7]) for name in selected])
