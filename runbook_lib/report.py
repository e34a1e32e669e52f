"""Recorded results and the HTML a team reads: one page per run and the morning-review index.

Inside a notebook, `record(result)` displays the result with a kit-specific MIME type; after the
run the runner copies it into the executed notebook's `metadata["runbook"]`:

    {"name", "verdict": "pass"|"warn"|"fail"|"blocked", "summary": one line,
     "figures": {name: number or short text}, "details": {...runbook-specific...},
     "run": {...filled in by the runner: notebook, step, target, parameters (masked), started,
             duration_s, outcome, error, exit_code, html, charts...}}

Everything here that reports on a run reads only that metadata.
"""
from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

import nbformat

from .errors import ParameterError
from .formats import one_line
from .results import VERDICT_COLOURS, VERDICTS, Result

RESULT_MIME = "application/vnd.phase-runbooks.result+json"
# nbconvert's lab template loads require.js and MathJax by <script src>, and mermaid by a module
# script's import("https://cdnjs..."); a report read offline or behind a proxy must not reach out.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_REMOTE_IN_SCRIPT = re.compile(
    r"""\bsrc\s*=\s*["']?(?:https?:)?//|\bimport\s*\(\s*["'`](?:https?:)?//|["'`]https?://[^"'`\s]*\.m?js["'`]""",
    re.IGNORECASE)
_REMOTE_LINK = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//[^>]*>""", re.IGNORECASE)
METADATA_KEY = "runbook"
HEADER_TAG = "runbook-header"

# Outcomes of a run, as the runner records them in metadata["runbook"]["run"]["outcome"].
COMPLETED, ERROR, BAD_PARAMETERS, BLOCKED, NO_RESULT = "completed", "error", "bad-parameters", "blocked", "no-result"
# Ctrl-C: the run it stopped, and (overnight) the steps after it; both carry verdict "blocked".
INTERRUPTED, NOT_RUN = "interrupted", "not-run"
_OUTCOME_LABELS = {ERROR: "ERROR", BAD_PARAMETERS: "BAD PARAMETERS", NO_RESULT: "NO RESULT",
                   INTERRUPTED: "INTERRUPTED", NOT_RUN: "NOT RUN"}
# The index shows a summary up to this long; the run's own page has it whole.
INDEX_SUMMARY_CHARS = 240


# ---------------------------------------------------------------------------------------------
# In the notebook

def record(result: Result | Mapping[str, Any]) -> None:
    """Record the runbook's result: display it, and mark it for the runner to store in metadata.
    Returns None so that a notebook's last line `report.record(result)` prints nothing more."""
    result = as_result(result)
    from IPython.display import display

    display({RESULT_MIME: result.to_dict(), "text/html": result._repr_html_(), "text/plain": str(result)}, raw=True)


def as_result(value: Result | Mapping[str, Any]) -> Result:
    if isinstance(value, Result):
        return value
    if not isinstance(value, Mapping):
        raise ParameterError("result", type(value).__name__, "a runbook_lib.results.Result or a mapping with name, verdict, summary")
    unknown = set(value) - {"name", "verdict", "summary", "figures", "details"}
    if unknown:
        raise ParameterError("result", sorted(unknown), "only the keys name, verdict, summary, figures, details")
    try:
        return Result(**value)
    except (TypeError, ValueError) as exc:
        raise ParameterError("result", dict(value), str(exc).rstrip(".")) from None


# ---------------------------------------------------------------------------------------------
# After the run (the runner)

def recorded_result(nb: Any) -> dict[str, Any] | None:
    """The last result a notebook recorded with `record()` (from its outputs), or None."""
    found = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if RESULT_MIME in data:
                found = data[RESULT_MIME]
    return json.loads(json.dumps(found)) if found is not None else None


def run_metadata(nb: Any) -> dict[str, Any]:
    """`metadata["runbook"]` of an executed notebook ({} if absent)."""
    return json.loads(json.dumps(nb.metadata.get(METADATA_KEY, {})))


def badge_label(meta: Mapping[str, Any]) -> str:
    outcome = (meta.get("run") or {}).get("outcome")
    return _OUTCOME_LABELS.get(outcome, str(meta.get("verdict", "fail")).upper())


def badge(meta: Mapping[str, Any]) -> str:
    verdict = meta.get("verdict") if meta.get("verdict") in VERDICTS else "fail"
    return (f"<span class='badge' style='background:{VERDICT_COLOURS[verdict]}'>"
            f"{html.escape(badge_label(meta))}</span>")


def render_run_html(nb: Any, html_path: Path, hidden_cells: Sequence[int] = ()) -> Path:
    """Write the HTML page of one run: a header from metadata["runbook"], then the outputs only
    (no code, no injected parameters; `hidden_cells` are dropped too, e.g. a quiet validation cell)."""
    from nbconvert import HTMLExporter

    page = copy.deepcopy(nb)
    hidden = set(hidden_cells)
    page.cells = [cell for i, cell in enumerate(page.cells)
                  if i not in hidden and "injected-parameters" not in cell.get("metadata", {}).get("tags", [])]
    meta = run_metadata(nb)
    header = nbformat.v4.new_code_cell(source="")
    header.metadata["tags"] = [HEADER_TAG]
    header.outputs = [nbformat.v4.new_output("display_data", data={"text/html": _run_header(meta)})]
    page.cells.insert(0, header)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    title = meta.get("name") or Path(html_path).stem
    body, _ = exporter.from_notebook_node(page, resources={"metadata": {"name": title}})
    body = without_remote_loads(body)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def without_remote_loads(page: str) -> str:
    """`page` without any <script> that would fetch code from another host, nor remote stylesheets
    (the page needs neither: outputs are static, charts embedded)."""
    page = _SCRIPT.sub(lambda m: "" if _REMOTE_IN_SCRIPT.search(m.group(0)) else m.group(0), page)
    return _REMOTE_LINK.sub("", page)


def _href(path: str) -> str:
    """A relative link as an attribute value: URL-encoded (a file named `q #1?.html` or `ü.html`
    is reached as such), then HTML-escaped."""
    return html.escape(quote(path, safe="/"))


def _figures_table(figures: Mapping[str, Any]) -> str:
    if not figures:
        return ""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_short(v))}</td></tr>" for k, v in figures.items())
    return f"<table class='figures'>{rows}</table>"


def _short(value: Any, limit: int = 80) -> str:
    return one_line(value if isinstance(value, str) else json.dumps(value, default=str), limit)


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:1em;color:#1f2328}
.badge{color:#fff;padding:2px 8px;border-radius:4px;font-weight:bold;font-size:.85em;white-space:nowrap}
table{border-collapse:collapse}th,td{text-align:left;padding:4px 8px;vertical-align:top;border-bottom:1px solid #d0d7de}
table.figures th,table.figures td{border:none;padding:1px 6px;font-size:.9em}
.callout{border-left:6px solid #cf222e;background:#fff0f0;padding:.6em 1em;margin:1em 0}
.ok{border-left-color:#1a7f37;background:#f0fff4}
.muted{color:#57606a;font-size:.9em}
img.thumb{max-width:220px;max-height:140px;border:1px solid #d0d7de;margin:2px}
"""


def _run_header(meta: Mapping[str, Any]) -> str:
    run = meta.get("run") or {}
    params = run.get("parameters") or {}
    param_rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_short(v))}</td></tr>"
                         for k, v in params.items())
    error = run.get("error")
    error = f"<p class='callout'>{html.escape(str(error))}</p>" if error and str(error) not in str(meta.get("summary")) else ""
    facts = [f"notebook {run.get('notebook')}" if run.get("notebook") else "",
             f"step {run.get('step')}" if run.get("step") else "",
             f"target {run.get('target')}" if run.get("target") else "",
             f"started {run.get('started')}" if run.get("started") else "",
             f"took {run['duration_s']:.1f}s" if isinstance(run.get("duration_s"), (int, float)) else ""]
    return (
        f"<style>{_CSS}</style><div class='runbook-header'>"
        f"<h1>{badge(meta)} {html.escape(str(meta.get('name', '')))}</h1>"
        f"<p><b>{html.escape(str(meta.get('summary', '')))}</b></p>{error}"
        f"{_figures_table(meta.get('figures') or {})}"
        f"<p class='muted'>{html.escape(' · '.join(f for f in facts if f))}</p>"
        + (f"<details><summary>parameters</summary><table class='figures'>{param_rows}</table></details>" if param_rows else "")
        + "</div>"
    )


# ---------------------------------------------------------------------------------------------
# The morning-review index

@dataclass
class IndexRow:
    step: str
    name: str
    verdict: str
    label: str
    summary: str
    figures: dict[str, Any]
    duration_s: float | None
    html: str | None      # relative to the index
    charts: list[str]     # relative to the index
    notebook: str | None  # relative to the index
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Index:
    path: Path
    rows: list[IndexRow] = field(default_factory=list)

    @property
    def first_failure(self) -> IndexRow | None:
        return next((r for r in self.rows if r.verdict == "fail"), None) or next(
            (r for r in self.rows if r.verdict not in ("pass", "warn")), None)


def read_row(ipynb_path: Path, folder: Path) -> IndexRow:
    """One index row from an executed notebook's metadata["runbook"] (nothing else is read)."""
    ipynb_path = Path(ipynb_path)
    meta = run_metadata(nbformat.read(ipynb_path, as_version=4))
    run = meta.get("run") or {}
    run_dir = ipynb_path.parent

    def rel(name: str | None) -> str | None:
        if not name:
            return None
        return (run_dir / name).relative_to(folder).as_posix()

    return IndexRow(
        step=str(run.get("step") or run_dir.name),
        name=str(meta.get("name") or ipynb_path.stem),
        verdict=meta.get("verdict") if meta.get("verdict") in VERDICTS else "fail",
        label=badge_label(meta),
        summary=str(meta.get("summary") or "no result was recorded"),
        figures=dict(meta.get("figures") or {}),
        duration_s=run.get("duration_s"),
        html=rel(run.get("html")),
        charts=[c for c in (rel(c) for c in run.get("charts") or []) if c],
        notebook=rel(ipynb_path.name),
        reason=run.get("error"),
    )


def write_index(folder: Path, notebooks: Sequence[Path], title: str, target: str, started: datetime,
                finished: datetime | None = None, interrupted_at: str | None = None) -> Index:
    """Write `folder/index.html` (static, relative URL-encoded links, inline CSS) and
    `folder/summary.json`. `interrupted_at`: the step Ctrl-C stopped the night in, if it did."""
    folder = Path(folder)
    index = Index(folder / "index.html", [read_row(Path(nb), folder) for nb in notebooks])
    counts = {v: sum(1 for r in index.rows if r.verdict == v) for v in VERDICTS}
    first = index.first_failure
    if first is not None:
        link = f" (<a href='{_href(first.html)}'>details</a>)" if first.html else ""
        callout = (f"<div class='callout'><b>First failure:</b> {html.escape(first.step)} — "
                   f"{html.escape(_short(first.summary, INDEX_SUMMARY_CHARS))}{link}</div>")
    else:
        callout = "<div class='callout ok'><b>All runbooks passed</b> (pass or warn).</div>"
    if interrupted_at is not None:
        callout = (f"<div class='callout'><b>Interrupted</b> (Ctrl-C) during step {html.escape(interrupted_at)}: "
                   "the steps after it were not run.</div>" + callout)
    body_rows = "".join(_index_row(i + 1, row) for i, row in enumerate(index.rows))
    counts_text = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no runbooks"
    duration = f" · took {(finished - started).total_seconds():.0f}s" if finished else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} — {started:%Y-%m-%d}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">date <b>{started:%Y-%m-%d}</b> · started {started:%H:%M:%S} · target <b>{html.escape(target)}</b>{duration} · {counts_text}</p>
{callout}
<table class="runs"><thead><tr><th>#</th><th>verdict</th><th>runbook</th><th>summary</th><th>key figures</th><th>duration</th><th>charts</th></tr></thead>
<tbody>{body_rows}</tbody></table>
</body></html>
"""
    index.path.write_text(page, encoding="utf-8")
    summary = {"title": title, "target": target, "started": started.isoformat(timespec="seconds"),
               "finished": finished.isoformat(timespec="seconds") if finished else None,
               "interrupted_at": interrupted_at,
               "counts": counts, "first_failure": first.step if first else None,
               "steps": [row.to_dict() for row in index.rows]}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return index


def _index_row(number: int, row: IndexRow) -> str:
    label = f"<span class='badge' style='background:{VERDICT_COLOURS[row.verdict]}'>{html.escape(row.label)}</span>"
    name = html.escape(row.name)
    title = f"<a href='{_href(row.html)}'>{name}</a>" if row.html else name
    notebook = f" · <a href='{_href(row.notebook)}'>notebook</a>" if row.notebook else ""
    step = f"<div class='muted'>step {html.escape(row.step)}{notebook}</div>"
    duration = f"{row.duration_s:.1f}s" if isinstance(row.duration_s, (int, float)) else "—"
    thumbs = "".join(f"<a href='{_href(c)}'><img class='thumb' src='{_href(c)}' alt='{html.escape(Path(c).stem)}'></a>"
                     for c in row.charts)
    return (f"<tr class='row-{row.verdict}'><td>{number}</td><td>{label}</td><td>{title}{step}</td>"
            f"<td>{html.escape(_short(row.summary, INDEX_SUMMARY_CHARS))}</td>"
            f"<td>{_figures_table(dict(list(row.figures.items())[:6]))}</td>"
            f"<td>{duration}</td><td>{thumbs}</td></tr>")
