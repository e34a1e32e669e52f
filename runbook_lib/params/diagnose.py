"""Runbook 01's parameters."""
from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from ..diagnose.build import BUILD_ID_PATTERN
from ..errors import ParameterError
from .base import ExistingFileOrEmpty, ExistingFolderOrEmpty, PhaseName, PhaseNameOrEmpty, TargetParams, param


class DiagnoseParams(TargetParams):
    """Runbook 01: why a build failed, which builder ran and why, and the fix."""

    runbook: ClassVar[str | None] = "01_diagnose_build"

    build_id: str = param("", allowed="a Cloud Build id, a lowercase UUID like c3c052da-ddd1-46eb-9d3a-7219a9909377, or empty")
    phase: PhaseName = "phase4"
    source_dir: ExistingFolderOrEmpty = param("", allowed="an existing pipeline checkout folder, or empty")
    log_file: ExistingFileOrEmpty = param("", allowed="an existing saved build log file, or empty")
    compare_with: PhaseNameOrEmpty = ""

    @field_validator("build_id")
    @classmethod
    def _build_id(cls, v: str) -> str:
        if v and not BUILD_ID_PATTERN.fullmatch(v):
            raise ParameterError("build_id", v, "give a Cloud Build id, a lowercase UUID like "
                                 "c3c052da-ddd1-46eb-9d3a-7219a9909377, or leave it empty to use the phase's latest failed build")
        return v
