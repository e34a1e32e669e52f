"""Recorded results and the page of each run; the rows the morning-review index is built from.

Inside a notebook, `record(result)` displays the result with a kit-specific MIME type; after the
run the runner copies it into the executed notebook's `metadata["runbook"]`:

    {"name", "verdict": "pass"|"warn"|"fail"|"blocked", "summary": one line,
     "figures": {name: number or short text}, "details": {...runbook-specific...},
     "figure_order": [the figures' names, headline first, then as the runbook set them],
     "run": RunRecord.to_dict(), filled in by the runner}

Everything here that reports on a run reads only that metadata. The pages are built from the
Jinja2 templates in runbook_lib/templates/ (autoescaped), static, with relative links only;
runbook_lib.nights writes each night's index, summary.json and the list of nights.
"""
from __future__ import annotations

import copy
import functools
import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

import jinja2

# nbformat is imported where a page or a row needs it: every runbook's kernel imports this module for
# record(), and nbformat brings jsonschema, whose optional rfc3987-syntax compiles a grammar on import
# (a second or more per kernel).
from .changes import shown as shown_figure
from .errors import ParameterError
from .exit_codes import ExitCode
from .files import write_whole
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

# Outcomes of a run (RunRecord.outcome).
COMPLETED, ERROR, BAD_PARAMETERS, BLOCKED, NO_RESULT = "completed", "error", "bad-parameters", "blocked", "no-result"
# Ctrl-C or SIGTERM: the run it stopped, and (overnight) the steps after it; all carry verdict "blocked".
INTERRUPTED, TERMINATED, NOT_RUN = "interrupted", "terminated", "not-run"
STOPPED = (INTERRUPTED, TERMINATED)
_OUTCOME_LABELS = {ERROR: "ERROR", BAD_PARAMETERS: "BAD PARAMETERS", NO_RESULT: "NO RESULT",
                   INTERRUPTED: "INTERRUPTED", TERMINATED: "TERMINATED", NOT_RUN: "NOT RUN"}
# The index shows a summary up to this long, linking to the run's own page, which has it whole.
INDEX_SUMMARY_CHARS = 240
# A step's row on a night's index shows up to this many figures; beyond it, one fewer and "+N more" (its page).
INDEX_FIGURES = 8
# Where the order of a result's figures is kept: the notebook stores every mapping with sorted keys (nbformat
# writes them so), which would put a runbook's headline figure wherever its name sorts.
FIGURE_ORDER_KEY = "figure_order"


# ---------------------------------------------------------------------------------------------
# In the notebook

def record(result: Result | Mapping[str, Any], headline: Sequence[str] = ()) -> None:
    """Record the runbook's result: display it, and mark it for the runner to store in metadata.
    `headline`: the names of the figures the morning review shows first (the rest follow in the order the
    runbook set them). Returns None so that a notebook's last line `report.record(result)` prints nothing more."""
    result = as_result(result)
    from IPython.display import display

    recorded = result.to_dict()
    names = list(recorded["figures"])
    if isinstance(headline, str) or any(name not in names for name in headline):
        raise ParameterError("headline", headline, f"a list of the result's figure names ({', '.join(names)})")
    recorded[FIGURE_ORDER_KEY] = list(dict.fromkeys([*headline, *names]))
    display({RESULT_MIME: recorded, "text/html": result._repr_html_(), "text/plain": str(result)}, raw=True)


def ordered_figures(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded result's figures in the order it gave them (its headline first); figures a record without
    that order holds (an older kit's) follow in the order they are stored."""
    figures = dict(meta.get("figures") or {})
    order = meta.get(FIGURE_ORDER_KEY)
    named = [n for n in order if isinstance(n, str) and n in figures] if isinstance(order, list) else []
    return {name: figures[name] for name in dict.fromkeys([*named, *figures])}


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
# After the run: what the runner records, and reading it back

@dataclass(kw_only=True)
class RunRecord:
    """How one run went, as `metadata["runbook"]["run"]` of its executed notebook. The runner
    writes it; the run page, the index and the overnight plan read it back. Every text in it is
    masked; file names are relative to the run's folder."""
    notebook: str | None = None          # the source notebook, relative to the project when inside it
    step: str | None = None              # the plan step (overnight only)
    plan: str | None = None              # the plan's title (overnight only): which nights compare
    target: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    started: str | None = None           # ISO 8601 with offset; None when the run never started
    duration_s: float | None = None
    outcome: str = COMPLETED
    error: str | None = None             # the one-line error sentence, if the run did not complete
    exit_code: int = ExitCode.ERROR
    html: str | None = None              # the run's page
    charts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = int(self.exit_code)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunRecord:
        """Lenient: a record written by an older kit, or by hand, lacks keys; they take the
        defaults (a missing exit code reads as an error, as nothing says otherwise)."""
        data = data or {}
        duration = data.get("duration_s")
        return cls(notebook=data.get("notebook"), step=data.get("step"), plan=data.get("plan"),
                   target=data.get("target"), parameters=dict(data.get("parameters") or {}),
                   started=data.get("started"), duration_s=duration if isinstance(duration, (int, float)) else None,
                   outcome=str(data.get("outcome") or COMPLETED), error=data.get("error"),
                   exit_code=int(data.get("exit_code", ExitCode.ERROR)), html=data.get("html") or None,
                   charts=[str(c) for c in data.get("charts") or []])


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


def shown_verdict(meta: Mapping[str, Any]) -> str:
    """The recorded verdict, or "fail" for a record without a valid one."""
    return meta["verdict"] if meta.get("verdict") in VERDICTS else "fail"


def outcome_label(verdict: str, outcome: str | None) -> str:
    """The badge text: the outcome when the run did not complete (ERROR, NOT RUN, ...), else the verdict."""
    return _OUTCOME_LABELS.get(outcome or COMPLETED, str(verdict).upper())


# ---------------------------------------------------------------------------------------------
# The pages

@functools.cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("runbook_lib", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # A relative link, URL-encoded (a file named `q #1?.html` or `ü.html` is reached as such);
    # autoescape then makes it a safe attribute value.
    env.filters["href"] = lambda path: quote(str(path), safe="/")
    env.filters["short"] = _short
    env.filters["figure"] = shown_figure
    env.filters["stem"] = lambda path: Path(path).stem
    env.filters["day"] = lambda moment: f"{moment:%Y-%m-%d}"
    env.filters["clock"] = clock
    env.filters["cut"] = lambda value, limit: len(" ".join(str(value).split())) > limit   # would `short` cut it?
    env.globals["colours"] = VERDICT_COLOURS
    return env


def clock(moment: datetime) -> str:
    """A time of day with its UTC offset ("03:00:00 -08:00", "11:00:05 UTC"): nights run in different zones
    (a job in UTC, a rerun on a laptop in Tokyo) read in their order. Naive: this machine's local time."""
    moment = moment if moment.tzinfo else moment.astimezone()
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return f"{moment:%H:%M:%S} UTC"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{moment:%H:%M:%S} {'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def _short(value: Any, limit: int = 80) -> str:
    return one_line(value if isinstance(value, str) else json.dumps(value, default=str), limit)


def render_run_html(nb: Any, html_path: Path, hidden_cells: Sequence[int] = ()) -> Path:
    """Write the HTML page of one run: a header from metadata["runbook"], then the outputs only
    (no code, no injected parameters; `hidden_cells` are dropped too, e.g. a quiet validation cell).
    Tables in the outputs get text columns left-aligned and number columns right-aligned."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    page = copy.deepcopy(nb)
    # A progress bar redraws with carriage returns, one stream output a redraw: the page shows its last state once
    # (nbconvert's own merge of streams, off unless asked), as JupyterLab shows it.
    page, _ = CoalesceStreamsPreprocessor(enabled=True).preprocess(page, {})
    hidden = set(hidden_cells)
    page.cells = [cell for i, cell in enumerate(page.cells)
                  if i not in hidden and "injected-parameters" not in cell.get("metadata", {}).get("tags", [])]
    meta = run_metadata(nb)
    header = nbformat.v4.new_code_cell(source="")
    header.metadata["tags"] = [HEADER_TAG]
    header.outputs = [nbformat.v4.new_output("display_data", data={"text/html": run_header(meta)})]
    page.cells.insert(0, header)
    for cell in page.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if "text/html" in data:
                fragment = data["text/html"]
                data["text/html"] = align_table_columns("".join(fragment) if isinstance(fragment, list) else fragment)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    title = meta.get("name") or Path(html_path).stem
    body, _ = exporter.from_notebook_node(page, resources={"metadata": {"name": title}})
    body = without_remote_loads(body)
    return write_whole(Path(html_path), body)


def without_remote_loads(page: str) -> str:
    """`page` without any <script> that would fetch code from another host, nor remote stylesheets
    (the page needs neither: outputs are static, charts embedded)."""
    page = _SCRIPT.sub(lambda m: "" if _REMOTE_IN_SCRIPT.search(m.group(0)) else m.group(0), page)
    return _REMOTE_LINK.sub("", page)


def run_header(meta: Mapping[str, Any]) -> str:
    """The header of a run's page (an HTML fragment), from its metadata["runbook"]."""
    run = RunRecord.from_dict(meta.get("run"))
    verdict = shown_verdict(meta)
    facts = [f"notebook {run.notebook}" if run.notebook else "",
             f"step {run.step}" if run.step else "",
             f"target {run.target}" if run.target else "",
             f"started {run.started}" if run.started else "",
             f"took {run.duration_s:.1f}s" if run.duration_s is not None else ""]
    return templates().get_template("run_header.html.j2").render(
        verdict=verdict, label=outcome_label(verdict, run.outcome), name=str(meta.get("name", "")),
        summary=str(meta.get("summary", "")), error=str(run.error) if run.error else None,
        figures=ordered_figures(meta), run=run, facts=[f for f in facts if f])


# Alignment of output tables. JupyterLab's stylesheet right-aligns every cell of an output table
# (and pandas its column headers), which makes long text hard to read. Each cell gets an inline
# style, which no stylesheet rule overrides: left, or right in a column whose every filled data
# cell is a number. Columns are counted from the end of each row, so index labels (th cells,
# some spanning several rows) do not shift them; a row with a colspan is left as it is.
# A cell holding a long unbroken text (a caller's User-Agent, a digest) may also break it anywhere: in a table laid
# out by its content, `overflow-wrap: break-word` does not lower a cell's narrowest width, so one such cell widens
# the table past its output area and pushes the other columns out of sight. Only those cells: breaking anywhere in
# every cell would split short words ("requests", an address) whenever the table is squeezed.
_TABLE = re.compile(r"<table\b.*?</table\s*>", re.IGNORECASE | re.DOTALL)
_ROW = re.compile(r"<tr\b.*?</tr\s*>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<(t[dh])\b([^>]*)>(.*?)(?=<t[dh]\b|</tr)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?%?|[-+]?\.\d+|[-+]?inf")
_NO_VALUE = {"", "nan", "none", "<na>", "nat", "...", "…", "—", "-"}
_UNBROKEN = re.compile(r"\S{40,}")   # about a quarter of a run page's output area


def align_table_columns(fragment: str) -> str:
    """`fragment` with every table cell aligned as its column's content asks (see above)."""
    return _TABLE.sub(lambda table: _align_table(table.group(0)), fragment)


def _align_table(table: str) -> str:
    numbers: dict[int, bool] = {}   # column (counted from the row's end) -> every filled cell is a number
    for row in _ROW.finditer(table):
        cells = list(_CELL.finditer(row.group(0)))
        for column, cell in zip(range(len(cells), 0, -1), cells):
            text = _cell_text(cell)
            if cell.group(1).lower() == "td" and text.lower() not in _NO_VALUE:
                numbers[column] = numbers.get(column, True) and bool(_NUMBER.fullmatch(text))

    def align_row(row: re.Match) -> str:
        cells = list(_CELL.finditer(row.group(0)))
        if any("colspan" in cell.group(2).lower() for cell in cells):
            return row.group(0)
        aligned, end = [], 0
        for column, cell in zip(range(len(cells), 0, -1), cells):
            aligned.append(row.group(0)[end:cell.start()])
            tag, attributes = cell.group(1), cell.group(2)
            if "style" not in attributes.lower():
                side = "right" if numbers.get(column) else "left"
                wrap = ";overflow-wrap:anywhere" if _UNBROKEN.search(_cell_text(cell)) else ""
                attributes += f' style="text-align:{side}{wrap}"'
            aligned.append(f"<{tag}{attributes}>")
            end = cell.start(3)
        return "".join(aligned) + row.group(0)[end:]

    return _ROW.sub(align_row, table)


def _cell_text(cell: re.Match) -> str:
    return html.unescape(_TAG.sub("", cell.group(3))).strip()


# ---------------------------------------------------------------------------------------------
# A run as a row of its night's index (runbook_lib.nights writes the index and summary.json)

@dataclass
class IndexRow:
    """One step of a night, as summary.json records it (paths relative to the night's folder)."""
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


def read_row(ipynb_path: Path, folder: Path) -> IndexRow:
    """One index row from an executed notebook's metadata["runbook"] (nothing else is read)."""
    import nbformat

    return row_from_metadata(run_metadata(nbformat.read(ipynb_path, as_version=4)), Path(ipynb_path), folder)


def row_from_metadata(meta: Mapping[str, Any], ipynb_path: Path, folder: Path) -> IndexRow:
    """The index row of the run `meta` (its metadata["runbook"]) recorded in `ipynb_path`."""
    run = RunRecord.from_dict(meta.get("run"))
    run_dir = ipynb_path.parent

    def rel(name: str | None) -> str | None:
        return (run_dir / name).relative_to(folder).as_posix() if name else None

    verdict = shown_verdict(meta)
    return IndexRow(
        step=str(run.step or run_dir.name),
        name=str(meta.get("name") or ipynb_path.stem),
        verdict=verdict,
        label=outcome_label(verdict, run.outcome),
        summary=str(meta.get("summary") or "no result was recorded"),
        figures=ordered_figures(meta),
        duration_s=run.duration_s,
        html=rel(run.html),
        charts=[c for c in (rel(c) for c in run.charts) if c],
        notebook=rel(ipynb_path.name),
        reason=run.error,
    )
