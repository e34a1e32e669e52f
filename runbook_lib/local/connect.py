"""connect("local"): the sandbox behind the Target interface."""
from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError
from ..phases import PhaseRegistry
from ..target import Target
from .builds import LocalBuilds
from .home import sandbox_home
from .logs import LocalLogs
from .services import LocalServices, read_state
from .warehouse import LocalWarehouse

LOCAL_OPTIONS = {"home", "warehouse_path", "phases_file", "project", "region"}


def connect_local(phases: PhaseRegistry, **options) -> Target:
    unknown = set(options) - LOCAL_OPTIONS
    if unknown:
        raise ParameterError("connect option", sorted(unknown)[0], f"target=local accepts {', '.join(sorted(LOCAL_OPTIONS))}")
    home = sandbox_home(options.get("home"))
    # A runbook only reads the sandbox: refuse a folder that is not one rather than create it.
    if home.root.exists() and not home.root.is_dir():
        raise ParameterError("sandbox_home", str(home.root), "give a sandbox folder; this is a file")
    if not read_state(home).get("initialised"):
        raise ParameterError("sandbox_home", str(home.root),
                             f"give an initialised sandbox folder (run `runbook sandbox init --home {home.root}` first)")
    from .sandbox import sandbox_phases

    # The sandbox's git history has its own commit ids; compare revisions with its prefix commit.
    phases = sandbox_phases(home.root, phases)
    warehouse_path = Path(options.get("warehouse_path") or home.warehouse)
    return Target(
        name="local", project=options.get("project") or phases.project, region=options.get("region") or phases.region,
        phases=phases, warehouse=LocalWarehouse(warehouse_path, project=phases.project),
        builds=LocalBuilds(home, phases), services=LocalServices(home, phases, warehouse_path),
        logs=LocalLogs(home, phases), options={"home": str(home.root), "warehouse_path": str(warehouse_path)},
    )
