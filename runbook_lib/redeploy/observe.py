"""What serves a phase right now, read the same way before a deploy and after it: the serving revision, its
image, `commit-sha` label and creation time, the traffic split, who may invoke it, and what `/health` says
when called with an identity token (the token is used, never shown).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ..errors import ParameterError, RunbookError
from ..formats import keyed_table, sentence
from ..gitinfo import commit_contains
from ..overview import HEALTH_TIMEOUT_S
from ..services import PUBLIC_MEMBERS, Revision, ServiceInfo


@dataclass
class Serving:
    phase: str
    service: str
    revision: str
    image: str
    commit_sha: str                  # the serving revision's commit-sha label
    created: str
    supports_prefix: bool | None
    traffic: dict[str, int]          # revision -> percent
    health: dict                     # {"http_status" (None: not read), "service"?, "commit_sha"?, "error"?}
    public: bool
    invoker_members: list[str] = field(default_factory=list)
    invoker_iam_disabled: bool = False

    @property
    def public_because(self) -> str:
        """Why the service is public, in a few words ("" when it is not)."""
        if self.invoker_iam_disabled:
            return "its invoker IAM check is disabled"
        members = [m for m in self.invoker_members if m in PUBLIC_MEMBERS]
        return f"{' and '.join(members)} may invoke it" if members else ""

    @property
    def health_service(self) -> str | None:
        return self.health.get("service") if self.health.get("http_status") == 200 else None

    @property
    def health_commit(self) -> str | None:
        return health_commit(self.health)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_commit(health: dict) -> str | None:
    """The commit a /health answer reports, under any of the names services use for it (None: it reports none)."""
    if health.get("http_status") != 200:
        return None
    return next((str(health[k]) for k in ("commit_sha", "commit", "git_commit") if health.get(k)), None)


def health_with_token(target: Any, phase: str, tag: str | None = None) -> dict:
    """GET /health as the operator (on the tag's URL when given); without a way to mint a token, the service's
    refusal is the answer. A /health that cannot be read (no answer in time, a dropped connection, no URL) is an
    answer too, with no http_status: it must fail the checks, not end the runbook with the new revision unchecked."""
    try:
        token = target.services.identity_token(phase=phase)
    except RunbookError:
        token = None
    try:
        return target.services.health(phase, token=token, timeout_s=HEALTH_TIMEOUT_S, tag=tag)
    except ParameterError:
        raise
    except RunbookError as exc:
        return {"http_status": None, "error": f"could not be read: {sentence(exc)}"}


def split_said(traffic: dict[str, int], none: str = "nothing") -> str:
    """"REV1 90%, REV2 10%": every revision with its share, as the guards and the tables say a split."""
    return ", ".join(f"{r} {p}%" for r, p in traffic.items()) or none


def said(traffic: dict[str, int]) -> str:
    """"REV" for one revision with all the traffic, else as split_said."""
    if len(traffic) == 1 and next(iter(traffic.values())) == 100:
        return next(iter(traffic))
    return split_said(traffic, "no revision")


def traffic_of(revisions: list[Revision]) -> dict[str, int]:
    """revision -> percent of the traffic, for each revision that has some."""
    return {r.name: r.traffic_percent for r in revisions if r.traffic_percent}


def current_traffic(target: Any, phase: str) -> dict[str, int]:
    return traffic_of(target.services.list_revisions(phase))


NOT_READ = {"http_status": None, "error": "was not read."}


def serving(target: Any, phase: str, info: ServiceInfo | None = None,
            revisions: list[Revision] | None = None, read_health: bool = True) -> Serving:
    """What serves now; `info` and `revisions`: the service's describe() and list_revisions() when already read.
    read_health=False: /health is not called (NOT_READ), when only the traffic and IAM are wanted."""
    info = info if info is not None else target.services.describe(phase)
    traffic = traffic_of(revisions if revisions is not None else target.services.list_revisions(phase))
    health = health_with_token(target, phase) if read_health else dict(NOT_READ)
    return Serving(phase=info.phase, service=info.service, revision=info.revision, image=info.image,
                   commit_sha=info.commit_sha, created=info.created, supports_prefix=info.supports_prefix,
                   traffic=traffic, health=health, public=info.public,
                   invoker_members=list(info.invoker_members), invoker_iam_disabled=info.invoker_iam_disabled)


@dataclass
class Before:
    """Step 1: what runs now, and what would run."""

    now: Serving
    commit: str
    image: str                            # what would run: the image the plan builds, or the one it is given
    commit_supports_prefix: bool | None   # does the commit to deploy include the phase's prefix_support_commit?
    preflight: Any = None                 # runbook 01's source preflight of the checkout (None without one)
    label: str = ""                       # the new revision's commit-sha label ("": none, nothing proves the commit)

    def table(self) -> pd.DataFrame:
        yes_no = {True: "yes", False: "NO", None: "unknown"}
        now = self.now
        status = now.health.get("http_status")
        health = (f"{'' if status is None else status} {now.health_service or now.health.get('error', '')}".strip()
                  + (f" (commit {now.health_commit[:7]})" if now.health_commit else ""))
        rows = [("revision", now.revision, "a new revision"),
                ("image", now.image, self.image),
                ("commit-sha label", now.commit_sha or "-", self.label or "none: nothing proves the image's commit"),
                ("created", now.created, "-"),
                ("traffic", split_said(now.traffic, "-"), "none until its checks pass on its tag's URL, then 100%"),
                ("/health", health, "must name the phase's own service and say it is healthy"),
                ("includes prefix_support_commit", yes_no[now.supports_prefix], yes_no[self.commit_supports_prefix])]
        return keyed_table(rows, ["", "runs now", "would run"])

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.to_dict(), "commit": self.commit, "image": self.image,
                "commit_supports_prefix": self.commit_supports_prefix, "label": self.label,
                "preflight": self.preflight.summary() if self.preflight is not None else None}


def before(target: Any, plan: Any, now: Serving | None = None) -> Before:
    """What serves the phase now (`now`, when already read) and what the plan would put there (reads only)."""
    from ..diagnose import run_preflight

    prefix = target.phases.get(plan.phase).prefix_support_commit
    supports = commit_contains(plan.source_dir, plan.commit, prefix) if plan.source_dir else None
    image = f"{plan.image} (built with {plan.dockerfile})" if plan.config is not None else plan.image
    return Before(now if now is not None else serving(target, plan.phase), plan.commit, image, supports,
                  run_preflight(target, plan.phase, plan.source_dir), plan.labels.get("commit-sha", ""))
