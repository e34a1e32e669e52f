"""Runbook 01's parameters."""
from __future__ import annotations

from typing import ClassVar

from ..diagnose.build import BUILD_ID_PATTERN
from .base import (PHASE_ALLOWED, ExistingFileOrEmpty, ExistingFolderOrEmpty, PhaseName, PhaseNameOrEmpty,
                   TargetParams, matching_or_empty, param)


BuildId = matching_or_empty(BUILD_ID_PATTERN, "give a Cloud Build id, a lowercase UUID like "
                            "c3c052da-ddd1-46eb-9d3a-7219a9909377, or leave it empty to use the phase's latest failed build")


class DiagnoseParams(TargetParams):
    """Runbook 01: why a build failed, which builder ran and why, and the fix."""

    runbook: ClassVar[str | None] = "01_diagnose_build"

    build_id: BuildId = param("", allowed="a Cloud Build id, a lowercase UUID like c3c052da-ddd1-46eb-9d3a-7219a9909377, or empty")
    phase: PhaseName = param("phase4", allowed=PHASE_ALLOWED)
    source_dir: ExistingFolderOrEmpty = param("", allowed="an existing pipeline checkout folder, or empty")
    log_file: ExistingFileOrEmpty = param("", allowed="an existing saved build log file (plain text or a Cloud Logging export), or empty")
    compare_with: PhaseNameOrEmpty = param("", allowed="a phase of params/phases.yaml to compare with, such as "
                                                       "phase3, or empty")
