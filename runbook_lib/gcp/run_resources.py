"""Cloud Run's resources as the kit reads them, for the services adapter and its rollouts: a message as the JSON the
API gives, the ingress container of a revision, a resource's Ready condition."""
from __future__ import annotations

from typing import Any, Callable

from google.protobuf.json_format import MessageToDict


def message_dict(message: Any) -> dict:
    """A run_v2 message as the API's JSON (camelCase keys)."""
    return MessageToDict(type(message).pb(message), preserving_proto_field_name=False)


def ingress_container(containers: Any, ports: Callable[[Any], Any]) -> int | None:
    """Which of a revision's containers Cloud Run sends the requests to, the one whose image is the phase's code:
    the only one, else the one with ports ("If you deploy multiple containers to a service, this is the ingress
    container"); the others are sidecars. None: several and not exactly one with ports."""
    if len(containers) == 1:
        return 0
    with_ports = [at for at, container in enumerate(containers) if ports(container)]
    return with_ports[0] if len(with_ports) == 1 else None


def ready_condition(conditions: list[dict]) -> bool | None:
    """A resource's Ready condition: True (succeeded), False (failed), None (pending or not reported)."""
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = (ready or {}).get("state", "")
    return True if state == "CONDITION_SUCCEEDED" else False if state == "CONDITION_FAILED" else None
