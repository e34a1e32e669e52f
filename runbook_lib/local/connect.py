"""connect("local"): the sandbox behind the Target interface."""
from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError
from ..phases import PhaseRegistry
from ..target import Target
from .builds import LocalBuilds
from .home import sandbox_home
from .logs import LocalLogs
from .services import LocalServices
from .state import register_user, require_initialised
from .warehouse import LocalWarehouse

LOCAL_OPTIONS = {"home", "warehouse_path", "phases_file", "project", "region"}


def connect_local(phases: PhaseRegistry, **options) -> Target:
    unknown = set(options) - LOCAL_OPTIONS
    if unknown:
        raise ParameterError("connect option", sorted(unknown)[0], f"target=local accepts {', '.join(sorted(LOCAL_OPTIONS))}")
    home = sandbox_home(options.get("home"))
    require_initialised(home)   # a runbook only reads the sandbox: never create one here
    from .sandbox import sandbox_phases

    # The sandbox's git history has its own commit ids; compare revisions with its prefix commit.
    phases = sandbox_phases(home.root, phases)
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
