"""Cloud Run traffic targets as gcloud writes them: `update-traffic` keeping tags, and `deploy --no-traffic --tag`.

`gcloud run deploy --no-traffic --tag=TAG` names the new revision itself (a tag needs a revision to name before the
revision exists) and sends the whole traffic list: every current target pinned by revision name ("assigns any
traffic assigned to the LATEST revision to the specific revision bound to LATEST before the deployment"), tags
kept, plus a 0% target for the new revision carrying the tag. A tag names one target, so one that was on
another revision moves.
"""
from __future__ import annotations

import random
import string
from typing import Any

from ..errors import RunbookError

# Cloud Run: a revision name is lowercase, starts with the service's name and a hyphen, at most 63 characters.
REVISION_NAME_MAX = 63


def keeping_tags(before: list, wanted: list) -> list:
    """The new traffic targets, with every tag of the old ones kept, as `gcloud run services update-traffic`
    keeps them (--to-revisions / --to-latest change percentages; only the tag flags change tags): a tag rides
    on the new target of its revision, else on a 0% target of its own."""
    by_revision = {(t.type_, t.revision): t for t in wanted}
    kept = list(wanted)
    for old in before:
        if not old.tag:
            continue
        same = by_revision.get((old.type_, old.revision))
        if same is not None and not same.tag:
            same.tag = old.tag
        else:
            kept.append(type(old)(type_=old.type_, revision=old.revision, tag=old.tag, percent=0))
    return kept


def serving_shares(service: dict) -> dict[str, int]:
    """revision -> percent of the traffic, from a Service's trafficStatuses (REST JSON), for each with a share."""
    shares: dict[str, int] = {}
    for status in service.get("trafficStatuses", []):
        if status.get("percent"):
            shares[status.get("revision", "")] = shares.get(status.get("revision", ""), 0) + int(status["percent"])
    return shares


def tags_by_revision(service: dict) -> dict[str, list[str]]:
    """revision -> the tags naming it, from a Service's trafficStatuses (REST JSON)."""
    found: dict[str, list[str]] = {}
    for status in service.get("trafficStatuses", []):
        if status.get("tag") and status.get("revision"):
            found.setdefault(status["revision"], []).append(status["tag"])
    return found


def tag_url(service: dict, tag: str) -> str:
    """The URL Cloud Run gives a tag: the `uri` of its entry in trafficStatuses ("" when it has none yet)."""
    return next((t.get("uri", "") for t in service.get("trafficStatuses", []) if t.get("tag") == tag), "")


def new_revision_name(service_name: str, revision_names: list[str]) -> str:
    """A name for the revision a deploy creates, as Cloud Run makes them: SERVICE-<next number>-<three letters>."""
    numbers = []
    for name in revision_names:
        middle = name[len(service_name) + 1:].split("-", 1)[0] if name.startswith(f"{service_name}-") else ""
        numbers += [int(middle)] if middle.isdigit() else []
    letters = "".join(random.choice(string.ascii_lowercase) for _ in range(3))
    name = f"{service_name}-{max(numbers, default=0) + 1:05d}-{letters}"
    if len(name) > REVISION_NAME_MAX:
        raise RunbookError(f"{service_name} is too long a service name for a revision name Cloud Run accepts "
                           f"({name}, over {REVISION_NAME_MAX} characters); deploy it with gcloud run deploy "
                           "--no-traffic --tag and a --revision-suffix short enough.")
    return name


def no_traffic_targets(service: Any, new_revision: str, tag: str) -> list:
    """`--no-traffic --tag=TAG`: the current targets pinned by revision name, tags kept (TAG moved to the new
    revision), then the new revision at 0% with the tag. `service` is a run_v2 Service."""
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType
    latest = next((s.revision for s in service.traffic_statuses
                   if s.type_ == kind.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST and s.revision), "") \
        or service.latest_ready_revision.rsplit("/", 1)[-1]
    # no traffic spec: what Cloud Run reports serving, else its default, LATEST 100
    current = list(service.traffic) or [
        run_v2.TrafficTarget(type_=s.type_, revision=s.revision, percent=s.percent, tag=s.tag)
        for s in service.traffic_statuses] or [
        run_v2.TrafficTarget(type_=kind.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=100)]
    pinned: list = []
    for target in current:
        revision = latest if target.type_ == kind.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST else target.revision
        keep_tag = target.tag if target.tag != tag else ""
        if not revision or not (target.percent or keep_tag):
            continue
        same = next((p for p in pinned if p.revision == revision and not (p.tag and keep_tag)), None)
        if same is not None:
            same.percent += target.percent
            same.tag = same.tag or keep_tag
            continue
        pinned.append(run_v2.TrafficTarget(type_=kind.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, revision=revision,
                                           percent=target.percent, tag=keep_tag))
    return pinned + [run_v2.TrafficTarget(type_=kind.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, revision=new_revision,
                                          percent=0, tag=tag)]
