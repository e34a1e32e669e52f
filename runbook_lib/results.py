"""Typed runbook results: a verdict, a one-line summary, key figures and runbook-specific details."""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("pass", "warn", "fail", "blocked")
VERDICT_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "blocked": "#6e7781"}


def _plain(value: Any) -> Any:
    """JSON-safe copy: dates, paths, dataclasses and numpy scalars become plain values."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass
class Result:
    name: str
    verdict: str
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not valid: choose one of {', '.join(VERDICTS)}.")
        if "\n" in self.summary:
            raise ValueError("summary must be one line.")

    def to_dict(self) -> dict[str, Any]:
        return _plain({"name": self.name, "verdict": self.verdict, "summary": self.summary,
                       "figures": self.figures, "details": self.details})

    def __str__(self) -> str:
        return f"[{self.verdict.upper()}] {self.name}: {self.summary}"

    def _repr_html_(self) -> str:
        colour = VERDICT_COLOURS[self.verdict]
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.figures.items()
        )
        return (
            f"<div><span style='background:{colour};color:white;padding:2px 8px;border-radius:4px;"
            f"font-weight:bold'>{self.verdict.upper()}</span> <b>{html.escape(self.name)}</b>: "
            f"{html.escape(self.summary)}<table>{rows}</table></div>"
        )
