"""`runbook sandbox init|status|reset|stop`: the embedded sandbox, set up as on the incident morning.

init builds it: the source repository (source_repo.py), the raw data (generator.py), production as the
code serving before the head commit wrote it (pipeline.py), then the services, subscriptions, request
log and Cloud Build history of the incident night (incident_night.py, which says what the sandbox
looks like afterwards). status reports it; reset rebuilds it; stop stops its services.
"""
from __future__ import annotations

import math
import secrets
import shlex
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tqdm import tqdm

from ..checks import as_date, check_path
from ..errors import ParameterError, RunbookError
from ..phases import DEFAULT_REPOSITORY, PROJECT_ROOT, PhaseRegistry, load_phases
from .builds import LocalBuilds
from .home import SandboxHome, sandbox_home
from .incident_night import (  # the night's times, callers and members, importable from here as before
    IAM_FIX_AT, LOG_SEED, MORNING, NIGHT_START, OPERATOR_IP, PHASE3_REDEPLOY_AT, PUBSUB_USER_AGENT,
    SCHEDULER_USER_AGENT, incident_services, incident_subscriptions, night_of_requests, pubsub_push_member,
    run_app_url, scheduler_member, seed_incident_builds,
)
from .logs import append_request_logs, request_log_path
from .processes import stop_recorded_processes
from .service_iam import OPERATOR
from .services import LocalServices, ServiceInfo
from .state import (SandboxDamaged, read_state, refuse_if_in_use, sandbox_lock, state_lock, unwritable,
                    warehouse_problem, write_state)
from .source_repo import BUILDING_PREFIX, SourceRepo, create_source_repo, open_source_repo

__all__ = ["IAM_FIX_AT", "LOG_SEED", "MORNING", "NIGHT_START", "OPERATOR_IP", "PHASE3_REDEPLOY_AT",
           "PUBSUB_USER_AGENT", "SCHEDULER_USER_AGENT", "SandboxStatus", "TableRows", "init_sandbox",
           "night_of_requests", "pubsub_push_member", "reset_sandbox", "run_app_url", "sandbox_phases",
           "sandbox_prefix_commit", "sandbox_status", "scheduler_member", "stop_sandbox", "table_rows"]

STATE_VERSION = 1
MAX_SCALE = 10.0

# Files and folders the sandbox creates under its home; reset deletes these and nothing else.
CREATED_FILES = ("state.json", "state.lock", "init.lock", "sandbox.duckdb", "sandbox.duckdb.wal")
CREATED_DIRS = ("source", "logs", "run", "builds", "replay")


# ---------------------------------------------------------------- status


@dataclass
class TableRows:
    dataset: str
    table: str
    rows: int

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "table": self.table, "rows": self.rows}


@dataclass
class SandboxStatus:
    home: str
    initialised: bool
    scale: float | None = None
    dates: tuple[str, str] | None = None
    initialised_at: str | None = None
    commits: dict[str, str] = field(default_factory=dict)
    prefix_support_commits: dict[str, str] = field(default_factory=dict)
    services: list[ServiceInfo] = field(default_factory=list)
    tables: list[TableRows] = field(default_factory=list)
    request_log_entries: int = 0
    problem: str | None = None     # what makes the sandbox unusable (a missing or damaged warehouse)
    repaired: str | None = None    # what init found broken and rebuilt

    def to_dict(self) -> dict:
        return {
            "home": self.home, "initialised": self.initialised, "scale": self.scale,
            "dates": list(self.dates) if self.dates else None, "initialised_at": self.initialised_at,
            "commits": dict(self.commits), "prefix_support_commits": dict(self.prefix_support_commits),
            "services": [s.to_dict() for s in self.services], "tables": [t.to_dict() for t in self.tables],
            "request_log_entries": self.request_log_entries, "problem": self.problem, "repaired": self.repaired,
        }

    def to_text(self) -> str:
        if not self.initialised:
            return f"Sandbox at {self.home}: not initialised. Run `runbook sandbox init`."
        lines = [f"Sandbox at {self.home}",
                 f"  initialised {self.initialised_at}, scale {self.scale:g}, game dates {self.dates[0]} .. {self.dates[1]}"]
        if self.problem:
            lines.append(f"  DAMAGED: {self.problem}.")
        if self.repaired:
            lines.append(f"  Repaired: {self.repaired}.")
        if self.commits:
            prefix = sorted(set(self.prefix_support_commits.values()))
            lines.append(f"  source repository head {self.commits['head'][:7]}; dataset_prefix support added in "
                         f"{', '.join(c[:7] for c in prefix)}; request log: {self.request_log_entries} entries")
        lines.append("")
        rows = [("PHASE", "SERVICE", "REVISION", "COMMIT", "PREFIX", "STATE", "IAM", "URL")]
        for s in self.services:
            iam = "PUBLIC" if s.public else "private"
            code = "" if s.code_phase in ("", s.phase) else f" (runs {s.code_phase} code)"
            rows.append((s.phase, s.service, s.revision, s.commit_sha[:7], "yes" if s.supports_prefix else "NO",
                         "running" if s.running else "stopped", iam, (s.url or "-") + code))
        lines += _table(rows)
        if not self.problem:
            lines.append("")
            rows = [("DATASET", "TABLE", "ROWS")] + [(t.dataset, t.table, f"{t.rows:,}") for t in self.tables]
            lines += _table(rows, right={2})
        return "\n".join(lines)


def _table(rows: list[tuple], right: set[int] = frozenset()) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


# ---------------------------------------------------------------- public entry points


def init_sandbox(home: str | Path | None = None, scale: float | None = None, force: bool = False,
                 start_services: bool = True, phases_file: str | Path | None = None) -> SandboxStatus:
    """Create the sandbox (idempotent: an initialised sandbox is left as it is unless force). `scale`: its
    sample data's size (None: 1.0, or the scale of the sandbox it repairs); a scale other than that of an
    initialised sandbox is refused, unless force (reset_sandbox): silently keeping the old one would leave the
    operator with data of a size they did not ask for."""
    scale = None if scale is None else _check_scale(scale)
    box = _check_home(home)
    phases = load_phases(phases_file)
    _make_home(box)
    repaired = None
    with sandbox_lock(box):
        try:
            state, damaged = read_state(box), None
        except SandboxDamaged:   # init repairs a state file it cannot read, as a damaged warehouse
            state, damaged = {}, f"its state file {box.state_file} could not be read, so the sandbox was rebuilt"
        problem = warehouse_problem(box) if state.get("initialised") else None
        if state.get("initialised") and not (problem or force) and scale is not None:
            _refuse_another_scale(box, state.get("scale"), scale)
        if damaged and not force:
            repaired = damaged
        if not state.get("initialised") or problem or force:
            if problem and not force:   # init repairs what is missing or damaged
                repaired = f"its warehouse {box.warehouse} {problem}, so the sandbox was rebuilt"
            refuse_if_in_use(box)
            _refuse_foreign_files(box)
            stop_recorded_processes(box)
            _remove_created(box)
            had = state.get("scale") if problem else None
            _build(box, phases, scale if scale is not None else _valid_scale_or(had, 1.0))
    if start_services:
        LocalServices(box, phases, box.warehouse).ensure_running()
    return replace(sandbox_status(box.root, phases_file=phases_file), repaired=repaired)


def sandbox_status(home: str | Path | None = None, phases_file: str | Path | None = None) -> SandboxStatus:
    box = _check_home(home)
    state = read_state(box) if box.root.is_dir() else {}
    if not state.get("initialised"):
        return SandboxStatus(home=str(box.root), initialised=False)
    phases = load_phases(phases_file)
    services = LocalServices(box, phases, box.warehouse).list()
    problem = warehouse_problem(box)
    return SandboxStatus(
        home=str(box.root), initialised=True, scale=state.get("scale"), dates=tuple(state.get("dates", ("", ""))),
        initialised_at=state.get("initialised_at"), commits=dict(state.get("source", {}).get("commits", {})),
        prefix_support_commits=dict(state.get("prefix_support_commits", {})), services=services,
        tables=[] if problem else table_rows(box, phases), request_log_entries=_count_lines(request_log_path(box)),
        problem=f"the warehouse {box.warehouse} {problem}: run `runbook sandbox reset` to rebuild it" if problem else None,
    )


def reset_sandbox(home: str | Path | None = None, scale: float = 1.0, start_services: bool = True,
                  phases_file: str | Path | None = None) -> SandboxStatus:
    """Stop the services, delete what the sandbox created under its home, and init afresh."""
    _check_scale(scale)
    _check_home(home)
    return init_sandbox(home, scale=scale, force=True, start_services=start_services, phases_file=phases_file)


def stop_sandbox(home: str | Path | None = None) -> list[str]:
    """Stop every process the sandbox started; returns the phases that had one running."""
    box = _check_home(home)
    if not box.root.is_dir():
        return []
    return stop_recorded_processes(box)


def sandbox_prefix_commit(home: str | Path | None = None, phase: str = "phase4") -> str | None:
    """The sandbox's own id of the commit that added dataset_prefix support (None before init).

    params/phases.yaml names the real platform's commit (5ee366a); the sandbox's history has
    its own ids, so a local target must use this one.
    """
    state = read_state(_check_home(home))
    return state.get("prefix_support_commits", {}).get(phase)


def sandbox_phases(home: str | Path | None, phases: PhaseRegistry, state: dict | None = None) -> PhaseRegistry:
    """`phases` with each phase's prefix_support_commit replaced by the sandbox's commit id (from
    `state`, the sandbox state as the caller read it already, else read here)."""
    commits = (read_state(_check_home(home)) if state is None else state).get("prefix_support_commits", {})
    if not commits:
        return phases
    changed = {name: replace(p, prefix_support_commit=commits.get(name, p.prefix_support_commit))
               for name, p in phases.phases.items()}
    return replace(phases, phases=changed)


def table_rows(box: SandboxHome, phases: PhaseRegistry | None = None) -> list[TableRows]:
    """Row counts of every table in the warehouse, dataset by dataset."""
    from .warehouse import LocalWarehouse

    if not box.warehouse.exists():
        return []
    warehouse = LocalWarehouse(box.warehouse, project=(phases.project if phases else "sandbox"), create=False)
    return [TableRows(dataset, table, int(warehouse.table_info(f"{dataset}.{table}").num_rows))
            for dataset in sorted(warehouse.list_datasets())
            for table in sorted(t.split(".")[-1] for t in warehouse.list_tables(dataset))]


# ---------------------------------------------------------------- building


def _build(box: SandboxHome, phases: PhaseRegistry, scale: float) -> None:
    from .generator import DEFAULT_START, generate_raw
    from .pipeline import CodeVersion, run_phase3, run_phase4
    from .warehouse import LocalWarehouse

    box.ensure()
    repo = create_source_repo(box.source, force=True)
    warehouse = LocalWarehouse(box.warehouse, project=phases.project)
    generate_raw(warehouse, start_date=DEFAULT_START, scale=scale, phases=phases)
    span = warehouse.query("SELECT MIN(game_date) AS first, MAX(game_date) AS last FROM nba_raw.games")
    first, last = (as_date("first", span["first"].iloc[0]), as_date("last", span["last"].iloc[0]))

    # Production as the revisions serving before the head commit made it, night after night: their code
    # lacks the head commit's corrections (corrections.py), so a head replay differs where those apply.
    code = CodeVersion(commit=repo.commits["before_prefix"], supports_prefix=False, corrected=False)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # disable=None: a bar on a terminal, silence in logs and tests.
    with tqdm(total=1 + len(days), desc="Production runs", unit="run", disable=None, leave=False) as bar:
        runs = [run_phase3(warehouse, first, last, code=code, phases=phases)]
        bar.update()
        for day in days:
            runs.append(run_phase4(warehouse, day, code=code, phases=phases))
            bar.update()
    failed = [p for run in runs for p in run.processors if p.status == "failed"]
    if failed:
        raise RunbookError(f"The sandbox's production run failed: {failed[0].processor} "
                           f"{failed[0].start_date}: {failed[0].error}")

    state = {
        "version": STATE_VERSION, "initialised": False, "scale": scale, "project": phases.project,
        "dates": [first.isoformat(), last.isoformat()],
        "source": repo.to_dict(),
        "prefix_support_commits": {name: repo.commits["prefix_support"] for name in phases.names()},
        "token_key": secrets.token_hex(32),
        "services": incident_services(phases, repo),
        # Artifact Registry as the incident's project has it: the repository its source deploys push to, no other
        "artifact_repositories": {phases.region: [DEFAULT_REPOSITORY]},
    }
    state["pubsub_subscriptions"] = incident_subscriptions(phases, state["services"])
    state["project_iam_policy"] = incident_project_policy(phases)
    state["project_ancestry"] = incident_project_ancestry()
    write_state(box, state)
    request_log_path(box).unlink(missing_ok=True)
    append_request_logs(request_log_path(box), night_of_requests(phases, state["services"]))
    _seed_builds(box, phases, repo)
    with state_lock(box):
        state = read_state(box)
        state["initialised"] = True
        state["initialised_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_state(box, state)


def incident_project_policy(phases: PhaseRegistry) -> dict:
    """The project's own IAM policy on the incident morning, as a real project's looks: its owner (the
    operator, already an invoker of both services), the default compute and Google APIs service accounts as
    editors, and Google's service agents. No invoke role is granted to anyone else there, so the night's
    story is the services' own policies, as it was."""
    number = phases.project_number or "0"
    return {"version": 1, "bindings": [
        {"role": "roles/editor", "members": [f"serviceAccount:{number}-compute@developer.gserviceaccount.com",
                                             f"serviceAccount:{number}@cloudservices.gserviceaccount.com"]},
        {"role": "roles/owner", "members": [OPERATOR]},
        {"role": "roles/pubsub.serviceAgent",
         "members": [f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"]},
        {"role": "roles/run.serviceAgent",
         "members": [f"serviceAccount:service-{number}@serverless-robot-prod.iam.gserviceaccount.com"]},
    ]}


# The incident project's place in its organisation's hierarchy (made-up numbers, the shape Google gives them).
SANDBOX_FOLDER = "folders/290611488015"
SANDBOX_ORGANIZATION = "organizations/418329165803"


def incident_project_ancestry() -> list[dict]:
    """The folders and organisation above the project, nearest first, each with its IAM policy, as a real project
    under an organisation has them: administrators of the hierarchy and viewers, but no role with
    run.routes.invoke granted there to anyone, so the night's story stays the services' own policies."""
    return [
        {"name": SANDBOX_FOLDER, "iam_policy": {"version": 1, "bindings": [
            {"role": "roles/resourcemanager.folderAdmin", "members": ["group:platform-admins@nba-props.example"]},
            {"role": "roles/viewer", "members": ["group:data-engineering@nba-props.example"]},
        ]}},
        {"name": SANDBOX_ORGANIZATION, "iam_policy": {"version": 1, "bindings": [
            {"role": "roles/billing.user", "members": ["domain:nba-props.example"]},
            {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:gcp-admins@nba-props.example"]},
            {"role": "roles/resourcemanager.projectCreator", "members": ["domain:nba-props.example"]},
        ]}},
    ]


def _seed_builds(box: SandboxHome, phases: PhaseRegistry, repo: SourceRepo) -> None:
    """The night's Cloud Build history, and each revision linked to the build that made it."""
    seed_incident_builds(home=box, phases=phases, source=repo)
    _link_revisions_to_builds(box, phases, LocalBuilds(box, phases))


def _link_revisions_to_builds(box: SandboxHome, phases: PhaseRegistry, local_builds: LocalBuilds) -> None:
    """Give each revision the image of the source deploy build that made it (the latest successful
    build of that service created before the revision), and with it that image's code: the night's
    race built Phase 4's Dockerfile for Phase 3, so Phase 3's newest revision serves Phase 4's code."""
    with state_lock(box):
        state = read_state(box)
        for record in state["services"].values():
            done = local_builds.list(region=record["region"], tags=[f"service_{record['service']}"],
                                     status="SUCCESS", limit=500)
            for revision in record["revisions"]:
                before = [b for b in done if b["createTime"][:19] <= revision["created"][:19]]
                images = before[0].get("results", {}).get("images", []) if before else []
                if images and images[0].get("digest"):
                    revision["image"] = f"{images[0]['name'].rsplit(':', 1)[0]}@{images[0]['digest']}"
                    built = local_builds.outcome(before[0]["id"]).code_phase
                    revision["code_phase"] = built or revision["code_phase"]
        write_state(box, state)


# ---------------------------------------------------------------- checks and housekeeping


def _check_scale(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
            or scale <= 0 or scale > MAX_SCALE:
        raise ParameterError("scale", scale, f"give a number above 0 and at most {MAX_SCALE:g} "
                                             "(1.0 is about two weeks of games)")
    return float(scale)


def _valid_scale_or(scale, default: float) -> float:
    try:
        return _check_scale(scale)
    except ParameterError:
        return default


def _refuse_another_scale(box: SandboxHome, had, scale: float) -> None:
    if isinstance(had, (int, float)) and not isinstance(had, bool) and math.isclose(had, scale):
        return
    shown = f"{had:g}" if isinstance(had, (int, float)) and not isinstance(had, bool) else "unknown"
    home = "" if box.root == (PROJECT_ROOT / ".runbook").resolve() else f" --home {shlex.quote(str(box.root))}"
    raise ParameterError("scale", scale, f"the sandbox at {box.root} is already initialised at scale {shown}, and "
                                         f"--scale applies only when a sandbox is built: run `runbook sandbox reset "
                                         f"--scale {scale:g}{home}` to rebuild it at scale {scale:g} (what runs "
                                         f"changed in it is lost), or leave --scale out")


def _check_home(home) -> SandboxHome:
    if home is not None and not isinstance(home, (str, Path)):
        raise ParameterError("home", home, "give a folder path")
    if home is not None:
        check_path("home", home)
    box = sandbox_home(home)
    check_path("home", box.root)
    if box.root.exists() and not box.root.is_dir():
        raise ParameterError("home", str(box.root), "give a folder path; this is a file")
    return box


def _make_home(box: SandboxHome) -> None:
    """Create the sandbox folder, or say in one sentence why it cannot be written in."""
    try:
        box.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError("home", str(box.root), f"give a folder the sandbox can create and write in "
                             f"({(exc.strerror or str(exc)).lower()})") from None
    problem = unwritable(box.root)
    if problem:
        raise ParameterError("home", str(box.root), f"give a folder the sandbox can write in ({problem})")


def _refuse_foreign_files(box: SandboxHome) -> None:
    """Never delete a `source` folder that is not the sandbox's own repository."""
    src = box.source
    if src.exists() and any(src.iterdir()) and open_source_repo(src, missing_ok=True) is None:
        raise ParameterError("home", str(box.root),
                             f"its {src.name}/ folder is not a sandbox source repository; choose another folder")


def _remove_created(box: SandboxHome) -> None:
    # the state first: a reset stopped half-way leaves a sandbox that says it is not initialised (and is rebuilt by
    # the next init), never one that says it is while its source or builds are gone
    box.state_file.unlink(missing_ok=True)
    for name in CREATED_DIRS:
        path = box.root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for name in CREATED_FILES:
        if name != "init.lock":
            (box.root / name).unlink(missing_ok=True)
    for leftover in box.root.glob(f"{BUILDING_PREFIX}*"):   # a source repository whose init was killed
        shutil.rmtree(leftover, ignore_errors=True)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0
