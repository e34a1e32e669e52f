"""Runbook 03's parameters."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from .. import formats
from ..errors import ParameterError
from ..phases import TEST_PREFIX_RULE
from .base import ExistingFolderOrEmpty, TargetParams, _known_phase, comma_list, each_of, iso_day, listed, param


MAX_CONCURRENCY = 16
MAX_TTL_DAYS = 365
MAX_DATES = 366


class ReplayParams(TargetParams):
    """Runbook 03: a prefixed replay of Phase 3 -> Phase 4 into test datasets, with proof that production
    was not touched."""

    gcp_only: ClassVar[tuple[str, ...]] = ("project", "source_dir")   # the sandbox reads its own checkout
    runbook: ClassVar[str | None] = "03_prefixed_replay"

    start_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for end_date")
    end_date: str = param("", allowed="a date as YYYY-MM-DD, or empty for the latest date production has data for")
    dataset_prefix: str = param("test", allowed=f"a test prefix: {TEST_PREFIX_RULE}")
    phases: list[str] = param([], allowed="a list of phases such as [phase3, phase4], or empty for every phase")
    processors: list[str] = param([], allowed="a list of processor (output table) names, or empty for all")
    # The caps are the fields' own bounds, so they hold on the number pydantic ends with, whatever it was given as
    # (an int, numpy's int64, a Decimal); text and flags never get that far (RunbookParams refuses them).
    concurrency: int = param(2, allowed=f"a whole number from 1 to {MAX_CONCURRENCY}", ge=1, le=MAX_CONCURRENCY)
    resume: bool = True
    test_dataset_ttl_days: int = param(7, allowed=f"a whole number of days from 1 to {MAX_TTL_DAYS}", ge=1,
                                       le=MAX_TTL_DAYS)
    allowed_prod_writes: list[str] | None = param(
        None, allowed='a list of production tables written "dataset.table", or None for the run-history table '
                      "in params/phases.yaml")
    max_dates: int = param(31, allowed=f"a whole number from 1 to {MAX_DATES}", ge=1, le=MAX_DATES)
    dry_run: bool = True   # the notebook's default too: a replay writes test datasets and calls the services
    production_checksum: bool | None = None
    # BigQuery counts bytes in an INT64 (2^63 - 1 is about 8.6e9 GiB): a cap above that caps nothing and overflows
    checksum_max_gb: float = param(10.0, allowed="a number of GiB (2^30 bytes, as BigQuery bills) above 0 and at most "
                                                 "8000000000", gt=0, le=8e9)
    source_dir: ExistingFolderOrEmpty = param("", allowed="a pipeline checkout folder (gcp: to tell which commits "
                                                          "support dataset_prefix), or empty")
    impersonate_service_account: str = param("", allowed="a service-account email to call the services as, "
                                                         "or empty for your own credentials")

    @field_validator("dataset_prefix", mode="before")
    @classmethod
    def _prefix(cls, v: Any) -> Any:
        from ..phases import check_test_prefix, load_phases

        return check_test_prefix(v, load_phases())

    @field_validator("phases", mode="before")
    @classmethod
    def _phases(cls, v: Any) -> Any:
        from ..phases import load_phases

        v = comma_list(v)
        if not isinstance(v, (list, tuple)):
            return v   # pydantic names the type
        registry = load_phases()
        chosen = each_of("phases", v, lambda item: _known_phase("phases", item))
        return sorted(chosen, key=lambda name: registry.get(name).number)

    @field_validator("processors", mode="before")
    @classmethod
    def _processors(cls, v: Any) -> Any:
        from ..phases import load_phases

        v = comma_list(v)
        if not isinstance(v, (list, tuple)):
            return v
        known = [t.table for t in load_phases().all_tables()]

        def processor(name: Any) -> Any:
            if name not in known:
                raise ParameterError("processors", name, f"choose from {', '.join(known)}")
            return name
        return each_of("processors", v, processor)

    @field_validator("start_date", "end_date")
    @classmethod
    def _dates(cls, v: str, info: Any) -> str:
        return iso_day(info.field_name, v, "there is nothing to replay yet") if v else v

    @field_validator("allowed_prod_writes", mode="before")
    @classmethod
    def _allowed(cls, v: Any) -> Any:
        from ..phases import load_phases
        from ..phases import production_datasets

        v = listed(v)   # `-p allowed_prod_writes nba_reference.processor_run_history`, or a,b
        if v is None or not isinstance(v, (list, tuple)):
            return v
        production = production_datasets(load_phases())

        def table(ref: Any) -> Any:
            if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+", ref) \
                    or ref.split(".")[0] not in production:
                raise ParameterError("allowed_prod_writes", ref, f'give production tables as "dataset.table" in '
                                                                 f"{', '.join(production)}")
            return ref
        return each_of("allowed_prod_writes", v, table)

    @field_validator("impersonate_service_account")
    @classmethod
    def _impersonate(cls, v: str) -> str:
        return formats.check_service_account("impersonate_service_account", v) if v else v

    @model_validator(mode="after")
    def _range_and_processors(self) -> "ReplayParams":
        from ..phases import load_phases

        if self.start_date and self.end_date:
            self.days_between(self.start_date, self.end_date)
        registry = load_phases()
        self._read_in_phases_regions(self.selected_phases(registry))
        if self.processors:
            for name in self.selected_phases(registry):
                if not any(t.table in self.processors for t in registry.get(name).tables):
                    mine = ", ".join(t.table for t in registry.get(name).tables)
                    raise ParameterError("processors", self.processors, f"name none of {name}'s processors ({mine}): "
                                         f"add some of them, or leave {name} out of phases")
        return self

    # ---- what the runbook reads from them

    def selected_phases(self, registry) -> list[str]:
        return list(self.phases) or registry.names()

    def processors_by_phase(self, registry) -> dict[str, tuple[str, ...]]:
        """Each selected phase's processors as sent; () means all of them (upstream reads [] as all)."""
        return {name: tuple(t.table for t in registry.get(name).tables if t.table in self.processors)
                for name in self.selected_phases(registry)}

    def days_between(self, start: str, end: str) -> list:

        first, last = date.fromisoformat(start), date.fromisoformat(end)
        if first > last:
            raise ParameterError("start_date", start, f"give a date on or before end_date {end}")
        count = (last - first).days + 1
        if count > self.max_dates:
            raise ParameterError("end_date", end, f"{start}..{end} is {count} dates, more than max_dates="
                                                  f"{self.max_dates}; replay fewer dates or raise max_dates")
        return [first + timedelta(days=n) for n in range(count)]

    def days(self, data_first, data_last) -> list:
        """The dates to replay, empty dates resolved, checked against the dates production has data for."""
        if data_first is None:
            raise ParameterError("start_date", self.start_date, "production has no data for the replayed phases, "
                                                                "so there is no date to replay")
        end = self.end_date or data_last.isoformat()
        start = self.start_date or end
        # (a start_date not given is end_date's: a date outside the data is end_date's to change)
        for name, value in [*([("start_date", start)] if self.start_date else []), ("end_date", end)]:
            if not data_first.isoformat() <= value <= data_last.isoformat():
                raise ParameterError(name, value, f"it is outside the data: production has output for "
                                                  f"{data_first.isoformat()}..{data_last.isoformat()}")
        return self.days_between(start, end)

    def allowed_writes(self, registry) -> list[str]:
        return list(self.allowed_prod_writes) if self.allowed_prod_writes is not None else [registry.run_history_table]

    @property
    def checksum_max_bytes(self) -> int:
        """checksum_max_gb in bytes: binary gigabytes (GiB), the unit BigQuery bills and formats.size shows."""
        return int(self.checksum_max_gb * 2 ** 30)

    def checksum(self) -> bool:
        """Checksum production's replayed partitions? Asked, else always on the sandbox (it bills nothing)
        and never on BigQuery (a scan billed by the byte)."""
        return self.production_checksum if self.production_checksum is not None else self.target == "local"

    def principal(self) -> str | None:
        return f"serviceAccount:{self.impersonate_service_account}" if self.impersonate_service_account else None

    def ledger_file(self) -> Path | None:
        """Where the sandbox keeps this prefix's ledger; None on gcp (a table in a test dataset)."""
        if self.target != "local":
            return None
        from ..local.home import sandbox_home

        return sandbox_home(self.sandbox_home).ledger(self.dataset_prefix)

    def connect_options(self) -> dict[str, Any]:
        options = super().connect_options()
        if self.target == "gcp" and self.source_dir:
            options["source_dir"] = self.source_dir
        return options
