"""Runbook 04's parameters."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from ..errors import ParameterError
from ..phases import TEST_PREFIX_RULE
from .base import TargetParams, each_of, iso_day, listed, param


class CompareParams(TargetParams):
    """Runbook 04: how the output of a prefixed replay differs from production, inside the warehouse."""

    runbook: ClassVar[str | None] = "04_compare_outputs"

    dataset_prefix: str = param("test", allowed=f"a test prefix: {TEST_PREFIX_RULE}")
    start_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the first date the test tables hold")
    end_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the last date the test tables hold")
    tables: list[str] = param([], allowed="a list of output tables from phases.yaml, or [] for every table the replay wrote")
    abs_tol: float = param(1e-9, allowed="a number of 0 or more", ge=0)
    rel_tol: float = param(0.0, allowed="a number of 0 or more", ge=0)
    max_changed_rate: float = param(0.01, allowed="a fraction from 0 to 1 (0.01 is 1%)", ge=0, le=1)
    max_missing_rate: float = param(0.0, allowed="a fraction from 0 to 1", ge=0, le=1)
    max_extra_rate: float = param(0.0, allowed="a fraction from 0 to 1", ge=0, le=1)
    max_duplicate_keys: int = param(0, allowed="a whole number, 0 or more", ge=0)
    exclude: list[str] | None = param(None, allowed="a list of column names, or None for the bookkeeping columns of phases.yaml")
    max_bytes_billed: int = param(10 * 2 ** 30, allowed="a number of bytes above 0", gt=0)

    @field_validator("dataset_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        from ..phases import check_test_prefix, load_phases

        return check_test_prefix(v, load_phases())

    @field_validator("start_date", "end_date")
    @classmethod
    def _date(cls, v: str, info) -> str:
        return iso_day(info.field_name, v, "no replay has written it yet") if v else v

    @field_validator("tables", "exclude", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        return listed(v)   # `-p tables a,b` and `-p exclude processed_at`, as runbook 03's phases take them

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: list[str]) -> list[str]:
        from ..phases import load_phases

        known = load_phases().all_tables()
        names = {t.ref for t in known} | {t.table for t in known}

        def table(name: str) -> str:
            if name not in names:
                raise ParameterError("tables", name, f"choose output tables from phases.yaml: {', '.join(t.ref for t in known)}")
            return name
        return each_of("tables", v, table, once=False)

    @model_validator(mode="after")
    def _range(self) -> "CompareParams":
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ParameterError("start_date", self.start_date, f"must be on or before end_date {self.end_date}")
        return self

    def compare_options(self) -> dict[str, Any]:
        """Keyword arguments for `compare.compare_replay(target, **p.compare_options())`."""
        from ..compare import Thresholds

        return {"dataset_prefix": self.dataset_prefix, "start_date": self.start_date or None,
                "end_date": self.end_date or None, "tables": list(self.tables) or None,
                "abs_tol": self.abs_tol, "rel_tol": self.rel_tol, "exclude": self.exclude,
                "thresholds": Thresholds(self.max_changed_rate, self.max_missing_rate, self.max_extra_rate,
                                         self.max_duplicate_keys),
                "max_bytes_billed": self.max_bytes_billed}
