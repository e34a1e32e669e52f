"""Runbook 01's parameters."""
from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from ..diagnose.build import BUILD_ID_PATTERN
from ..errors import ParameterError
from .base import (TargetParams, _existing, _known_phase, param)


class DiagnoseParams(TargetParams):
    """Runbook 01: why a build failed, which builder ran and why, and the fix."""

    runbook: ClassVar[str | None] = "01_diagnose_build"

    build_id: str = param("", allowed="a Cloud Build id, a lowercase UUID like c3c052da-ddd1-46eb-9d3a-7219a9909377, or empty")
    phase: str = "phase4"
    source_dir: str = param("", allowed="an existing pipeline checkout folder, or empty")
    log_file: str = param("", allowed="an existing saved build log file, or empty")
    compare_with: str = ""

    @field_validator("build_id")
    @classmethod
    def _build_id(cls, v: str) -> str:
        if v and not BUILD_ID_PATTERN.fullmatch(v):
            raise ParameterError("build_id", v, "give a Cloud Build id, a lowercase UUID like "
                                 "c3c052da-ddd1-46eb-9d3a-7219a9909377, or leave it empty to use the phase's latest failed build")
        return v

    @field_validator("phase")
    @classmethod
    def _phase(cls, v: str) -> str:
        return _known_phase("phase", v)

    @field_validator("compare_with")
    @classmethod
    def _compare_with(cls, v: str) -> str:
        return _known_phase("compare_with", v) if v else v

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        return _existing("source_dir", v, "folder") if v else v

    @field_validator("log_file")
    @classmethod
    def _log_file(cls, v: str) -> str:
        return _existing("log_file", v, "file") if v else v
