"""Runbook 00's parameters."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from .base import ExistingFolderOrEmpty, TargetParams, param


class OverviewParams(TargetParams):
    """Runbook 00: what is serving and whether it can be trusted with a prefixed run."""

    gcp_only: ClassVar[tuple[str, ...]] = ("project", "source_dir")   # the sandbox reads its own checkout
    runbook: ClassVar[str | None] = "00_pipeline_overview"

    source_dir: ExistingFolderOrEmpty = param("", allowed="a pipeline checkout folder (gcp: to tell which commits support dataset_prefix), or empty")

    @model_validator(mode="after")
    def _region(self) -> "OverviewParams":
        from ..phases import load_phases

        self._read_in_phases_regions(load_phases().names())
        return self

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options
