"""connect("local"): the sandbox behind the Target interface, or a DuckDB file of one's own alone."""
from __future__ import annotations

from pathlib import Path

from ..errors import NotFoundError, ParameterError
from ..phases import PhaseRegistry
from ..target import Target
from .builds import LocalBuilds
from .home import SandboxHome, sandbox_home
from .logs import LocalLogs
from .services import LocalServices
from .state import read_state, register_user, require_initialised, wait_for_rebuild
from .warehouse import LocalWarehouse

LOCAL_OPTIONS = {"home", "warehouse_path", "phases_file", "project", "region"}


class NoSandbox:
    """Builds, services and logs of a target that is only a DuckDB file: each use says so."""

    def __init__(self, home: SandboxHome, warehouse_path: Path):
        self._home, self._path = home, warehouse_path

    def close(self) -> None:
        pass  # holds nothing

    def __getattr__(self, name: str):
        raise NotFoundError(
            f"There is no sandbox at {self._home.root}: target=local opened only the warehouse file {self._path}, "
            f"so builds, services and logs are not available (run `runbook sandbox init` for a whole sandbox).")


def connect_local(phases: PhaseRegistry, **options) -> Target:
    unknown = set(options) - LOCAL_OPTIONS
    if unknown:
        raise ParameterError("connect option", sorted(unknown)[0], f"target=local accepts {', '.join(sorted(LOCAL_OPTIONS))}")
    home = sandbox_home(options.get("home"))
    state = read_state(home) if options.get("warehouse_path") else None   # the state file is read once
    if state is not None and not state.get("initialised"):
        return _warehouse_only(phases, home, options)
    try:
        state = require_initialised(home, state=state)   # a runbook only reads the sandbox: never create one here
    except ParameterError:
        if not wait_for_rebuild(home):   # a reset under way is not a folder that was never a sandbox
            raise
        state = require_initialised(home)
    from .sandbox import sandbox_phases

    # The sandbox's git history has its own commit ids; compare revisions with its prefix commit.
    phases = sandbox_phases(home.root, phases, state)
    # Registered as a user until the target closes (or the kernel ends): `sandbox reset` waits for none.
    release = register_user(home)
    warehouse_path = Path(options.get("warehouse_path") or home.warehouse)
    warehouse = LocalWarehouse(warehouse_path, project=phases.project, create=False)
    builds = LocalBuilds(home, phases)
    services = LocalServices(home, phases, warehouse_path)
    logs = LocalLogs(home, phases)
    return Target(
        name="local", project=options.get("project") or phases.project, region=options.get("region") or phases.region,
        phases=phases, warehouse=warehouse, builds=builds, services=services, logs=logs,
        description=f"sandbox at {home.root}", source_dir=str(home.source),
        options={"home": str(home.root), "warehouse_path": str(warehouse_path)},
        closers=[release, logs.close, builds.close, warehouse.close, services.close],
    )


def _warehouse_only(phases: PhaseRegistry, home: SandboxHome, options: dict) -> Target:
    """Any DuckDB file whose schemas are datasets, without a sandbox: people compare tables they brought."""
    given = options["warehouse_path"]
    path = Path(given).expanduser()
    if not path.is_file():
        raise ParameterError("warehouse_path", str(given), "give an existing DuckDB file (without a sandbox, "
                                                           "target=local opens a warehouse file but never creates one)")
    warehouse = LocalWarehouse(path, project=options.get("project") or phases.project)
    absent = NoSandbox(home, warehouse.path)
    return Target(
        name="local", project=options.get("project") or phases.project, region=options.get("region") or phases.region,
        phases=phases, warehouse=warehouse, builds=absent, services=absent, logs=absent,  # type: ignore[arg-type]
        description=f"warehouse file {warehouse.path} (no sandbox)", source_dir=None,
        options={"warehouse_path": str(warehouse.path)}, closers=[warehouse.close],
    )
