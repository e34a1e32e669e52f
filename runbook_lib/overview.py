"""Runbook 00: what is serving, is it the right code, can it honour dataset_prefix, what data is there."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import AccessDenied, QuotaExceeded, RunbookError
from .results import Result


@dataclass
class PhaseState:
    phase: str
    service: str
    revision: str
    commit: str
    supports_prefix: bool | None
    http_status: int | None
    reported_service: str | None
    expected_service: str
    public: bool

    @property
    def wrong_code(self) -> bool:
        return self.reported_service is not None and self.reported_service != self.expected_service

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, wrong_code=self.wrong_code)


@dataclass
class Overview(Result):
    phases: list[PhaseState] = field(default_factory=list)
    tables: pd.DataFrame | None = None       # production output tables: rows, partitions, latest partition
    daily_rows: pd.DataFrame | None = None   # rows per partition date for each output table

    def services_table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "phase": s.phase, "service": s.service, "revision": s.revision, "commit": s.commit[:7],
            "dataset_prefix": {True: "supported", False: "IGNORED", None: "unknown"}[s.supports_prefix],
            "/health": s.http_status, "reports": s.reported_service or "-",
            "right code": "NO" if s.wrong_code else ("yes" if s.reported_service else "?"),
            "public": "YES" if s.public else "no",
        } for s in self.phases])


def phase_states(target: Any) -> list[PhaseState]:
    states = []
    for name in target.phases.names():
        p = target.phases.get(name)
        info = target.services.describe(name)
        try:
            token = target.services.identity_token(phase=name)
        except RunbookError:
            token = None  # no way to mint a token here: /health then shows the service's refusal
        health = target.services.health(name, token=token)
        ok = health.get("http_status") == 200
        states.append(PhaseState(name, p.service, info.revision, info.commit_sha or "", info.supports_prefix,
                                 health.get("http_status"), health.get("service") if ok else None,
                                 p.service_identity, info.public))
    return states


def output_tables(target: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Row counts per production output table and per partition date, counted in the warehouse."""
    summary, daily = [], []
    for t in target.phases.all_tables():
        if not target.warehouse.table_exists(t.ref):
            summary.append({"table": t.ref, "rows": 0, "partitions": 0, "latest": None, "note": "missing"})
            continue
        frame = target.warehouse.query(
            f"SELECT {t.partition_column} AS day, COUNT(*) AS row_count FROM {t.ref} "
            f"GROUP BY {t.partition_column} ORDER BY day")
        frame["table"] = t.ref
        daily.append(frame)
        summary.append({"table": t.ref, "rows": int(frame["row_count"].sum()), "partitions": len(frame),
                        "latest": frame["day"].max() if len(frame) else None, "note": ""})
    daily_frame = pd.concat(daily, ignore_index=True) if daily else pd.DataFrame(columns=["day", "row_count", "table"])
    return pd.DataFrame(summary), daily_frame


def pipeline_overview(target: Any) -> Overview:
    states = phase_states(target)
    try:
        tables, daily = output_tables(target)
        data_note = ""
    except (AccessDenied, QuotaExceeded) as exc:   # the services' answers still stand without the data
        tables, daily, data_note = None, None, str(exc)
    problems, warnings = [], []
    for s in states:
        if s.wrong_code:
            problems.append(f"{s.phase} serves the wrong code (/health names {s.reported_service})")
        if s.public:
            problems.append(f"{s.service} is public (allUsers or allAuthenticatedUsers can invoke it)")
        if s.http_status != 200:
            warnings.append(f"{s.phase} /health answered {s.http_status}")
        if s.supports_prefix is False:
            warnings.append(f"{s.phase} runs {s.commit[:7]}, which ignores dataset_prefix (a prefixed run would write production)")
        elif s.supports_prefix is None:
            warnings.append(f"{s.phase}: whether {s.commit[:7] or 'its commit'} supports dataset_prefix is unknown (give source_dir)")
    if tables is not None:
        empty = tables.loc[tables["rows"] == 0, "table"].tolist()
        if empty:
            warnings.append(f"production tables without rows: {', '.join(empty)}")
    verdict = "fail" if problems else "warn" if warnings else "pass"
    findings = problems + warnings
    summary = "; ".join(findings) + "." if findings else "Every phase serves its own code, honours dataset_prefix and is private."
    figures = {
        "services healthy": f"{sum(s.http_status == 200 for s in states)}/{len(states)}",
        "wrong code": sum(s.wrong_code for s in states),
        "ignore dataset_prefix": sum(s.supports_prefix is False for s in states),
        "public services": sum(s.public for s in states),
    }
    if tables is not None:
        figures["production rows"] = int(tables["rows"].sum())
    details = {"phases": [s.to_dict() for s in states], "data_note": data_note,
               "tables": None if tables is None else tables.astype(str).to_dict(orient="records")}
    return Overview(name="pipeline_overview", verdict=verdict, summary=summary, figures=figures, details=details,
                    phases=states, tables=tables, daily_rows=daily)


def daily_rows_chart(overview: Overview):
    """Rows per partition date for each output table: gaps and stale tables stand out."""
    from . import charts

    fig = charts.new_figure(8, 3.2)
    ax = fig.add_subplot()
    frame = overview.daily_rows
    if frame is None or frame.empty:
        ax.text(0.5, 0.5, "no output data", ha="center", va="center")
    else:
        for table, part in frame.groupby("table"):
            ax.plot(pd.to_datetime(part["day"]), part["row_count"], marker="o", ms=3, label=table)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_ylabel("rows")
        fig.autofmt_xdate()
    ax.set_title("Production rows per partition date")
    return fig
