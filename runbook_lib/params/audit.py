"""Runbook 05's parameters."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Mapping

from pydantic import field_validator, model_validator

from .. import formats
from ..errors import ParameterError
from .base import TargetParams, _known_phase, comma_list, each_of, listed, param


MAX_LOOKBACK_HOURS = 720
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class AuditParams(TargetParams):
    """Runbook 05: who may call the phase services, who tried, and what broke."""

    runbook: ClassVar[str | None] = "05_security_audit"

    services: list[str] = param([], allowed="a list of phases or Cloud Run service names such as [phase4], "
                                            "or empty for every phase")
    until: str = param("", allowed="a timestamp such as 2025-12-31T08:00:00Z (UTC unless it says), or empty for now")
    lookback_hours: float = param(24.0, allowed=f"a number of hours above 0 and at most {MAX_LOOKBACK_HOURS}",
                                  gt=0, le=MAX_LOOKBACK_HOURS)
    expected_invokers: list[str] | dict[str, list[str]] = param(
        [], allowed="service-account emails (a list for every service, or {phase: [emails]}), or empty for "
                    "params/phases.yaml's")

    @field_validator("services", mode="before")
    @classmethod
    def _services(cls, v: Any) -> Any:
        from ..phases import load_phases
        from ..request_logs import phase_named

        if not isinstance(v, (str, list, tuple)):
            return v   # pydantic names the type
        registry = load_phases()
        return each_of("services", comma_list(v), lambda item: phase_named(registry, item, "services"))

    @field_validator("until")
    @classmethod
    def _until(cls, v: str) -> str:
        if not v:
            return v
        try:
            moment = formats.parse_time(v)
        except ValueError:
            raise ParameterError("until", v, "give a timestamp such as 2025-12-31T08:00:00Z (UTC unless it says), "
                                             "or leave it empty for now") from None
        now = datetime.now(timezone.utc)
        if moment > now:
            # A window in the future holds no requests yet: the audit would look clean for want of them.
            raise ParameterError("until", v, f"it is in the future (now is {formats.rfc3339(now, micros=False)}): "
                                             "give a time up to now, or leave it empty for now")
        if moment < EPOCH:
            raise ParameterError("until", v, "give a time from 1970 on (request logs are no older), "
                                             "or leave it empty for now")
        return formats.rfc3339(moment, micros=bool(moment.microsecond))

    @field_validator("expected_invokers", mode="before")
    @classmethod
    def _expected(cls, v: Any) -> Any:
        v = listed(v)   # `-p expected_invokers a@p.iam.gserviceaccount.com`, or a,b
        if isinstance(v, (list, tuple)):
            return each_of("expected_invokers", v,
                           lambda email: formats.check_service_account("expected_invokers", email), once=False)
        if isinstance(v, Mapping):
            by_phase = {}
            for phase, emails in v.items():
                name = _known_phase("expected_invokers", phase)
                if name in by_phase:   # (`phase4` and `4` name one phase: the last would silently win)
                    raise ParameterError("expected_invokers", phase, f"name each phase once; this is {name} again")
                if isinstance(emails, str) or not isinstance(emails, (list, tuple)):
                    raise ParameterError("expected_invokers", v, f"give a list of service-account emails for {name}")
                by_phase[name] = [formats.check_service_account("expected_invokers", email) for email in emails]
            return by_phase
        return v   # pydantic names the type

    @model_validator(mode="after")
    def _region(self) -> "AuditParams":
        from ..phases import load_phases

        self._read_in_phases_regions(self.audited_phases(load_phases()))   # each service is read in its own region
        return self

    def audited_phases(self, registry) -> list[str]:
        """The phases to audit: those asked for, else every phase of the registry."""
        return list(self.services) or registry.names()

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(since, until) of the request logs to read: lookback_hours up to `until` (default now)."""
        end = formats.parse_time(self.until) if self.until else (now or datetime.now(timezone.utc))
        return end - timedelta(hours=self.lookback_hours), end

    def expected_for(self, phase) -> tuple[str, ...]:
        """Service-account emails expected to call a phase's service: given here, else params/phases.yaml's."""
        if isinstance(self.expected_invokers, dict) and phase.name in self.expected_invokers:
            return tuple(self.expected_invokers[phase.name])
        if isinstance(self.expected_invokers, list) and self.expected_invokers:
            return tuple(self.expected_invokers)
        return tuple(phase.expected_invokers)
