"""A phase's state as the overview reads it (what serves it, its /health, whether it honours dataset_prefix) and what
each fact means for a prefixed run, in sentences: runbook 00's findings, runbook 02's verify and runbook 03's
capability check say them alike."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .formats import one_line
from .services import DEFAULT_INGRESS, ServingRevision

GIVE_SOURCE_DIR = "give source_dir, a checkout of the pipeline"
NO_LABEL = "has no commit-sha label (runbook 02 deploys with one)"


@dataclass
class PhaseState:
    phase: str
    service: str
    revision: str                 # the revision with most of the traffic ("" when the service could not be read)
    commit: str
    supports_prefix: bool | None  # of EVERY serving revision: False if any ignores it, None if any cannot be told
    http_status: int | None
    reported_service: str | None
    expected_service: str
    public: bool
    serving: list[ServingRevision] = field(default_factory=list)   # every revision with a share of the traffic
    health_said: str = ""         # what /health answered, in one line
    problem: str = ""             # why this phase's facts could not be read (describe or /health raised), or
                                  # why nothing serves it
    health_status: str | None = None   # the `status` /health's JSON gave ("healthy" per the contract), else None
    failed_revision: str = ""     # the service's newest revision when it failed to become ready (a deploy that
                                  # never started: Cloud Run keeps the traffic where it was), else ""
    token_error: str = ""         # why no identity token could be minted, so /health was called without one
    ingress: str = DEFAULT_INGRESS   # who can reach the service: outside the VPC, an internal one answers 404
    # Why dataset_prefix support cannot be told, per serving revision whose support is None: no label, no
    # checkout, or a commit the checkout lacks each need another act of the operator.
    prefix_unknown_why: dict[str, str] = field(default_factory=dict)

    @property
    def wrong_code(self) -> bool:
        return self.reported_service is not None and self.reported_service != self.expected_service

    @property
    def names_no_service(self) -> bool:
        """/health answered 200 without naming a service (text, HTML, JSON without `service`): whose code
        serves is then unverified, not right."""
        return self.http_status == 200 and self.reported_service is None

    @property
    def healthy(self) -> bool:
        """/health answered as DESIGN.md's contract says a healthy service does: 200, {"status": "healthy", ...}."""
        return self.http_status == 200 and self.health_status == "healthy"

    def read_health(self, health: dict) -> "PhaseState":
        """What /health answered, read into this state: the one reading of it, which runbook 02's verify shares."""
        self.http_status = health.get("http_status")
        named, status = health.get("service"), health.get("status")
        self.reported_service = named if self.http_status == 200 and isinstance(named, str) and named else None
        self.health_status = status if isinstance(status, str) else None
        self.health_said = health_said(health)
        return self

    @property
    def unchecked_revisions(self) -> list[ServingRevision]:
        """In a split, the serving revisions on another image than the first's (ServingRevision.runs: by the digest
        Cloud Run resolved, else by name): one /health call reaches one revision, so it cannot vouch for the code of
        the others."""
        if not self.serving:
            return []
        first = self.serving[0].runs
        return [r for r in self.serving[1:] if r.runs != first]

    @property
    def without_prefix(self) -> list[ServingRevision]:
        return [r for r in self.serving if r.supports_prefix is False]

    @property
    def prefix_unknown(self) -> list[ServingRevision]:
        return [r for r in self.serving if r.supports_prefix is None]

    @property
    def split(self) -> bool:
        return len(self.serving) > 1

    @property
    def right_code(self) -> bool:
        return self.reported_service == self.expected_service and not self.unchecked_revisions

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), wrong_code=self.wrong_code)


def share(revision: ServingRevision) -> str:
    """"90% to REV (abc1234)": a serving revision and its share of the traffic, for sentences."""
    return f"{revision.percent}% of its traffic to {revision.name} ({revision.commit_sha or 'no commit-sha label'})"


# The sentences below say what a phase's facts mean for a prefixed run, once for runbook 00's findings and
# runbook 03's capability check (replay/capability.py) alike; each is "" when its fact does not hold.

def _commit_text(state: PhaseState) -> str:
    return state.commit[:7] or "a revision without a commit-sha label"


def wrong_code_sentence(state: PhaseState) -> str:
    """/health names another phase's service."""
    if not state.wrong_code:
        return ""
    return (f"{state.phase} serves another phase's code (/health names {state.reported_service}, "
            f"not {state.expected_service})")


def health_status_sentence(state: PhaseState) -> str:
    """/health answered, but not 200: whose code serves is unknown."""
    if state.http_status is None or state.http_status == 200:
        return ""
    unchecked = f"so which code serves {state.service} cannot be checked"
    # A bare status misleads: a 404 reads as a missing /health route (another code), a 403 as the service's IAM
    # when this machine is outside the VPC or had no token to send.
    if state.http_status in (403, 404) and unreachable_why(state):
        return f"{state.phase}'s /health answered {state.http_status} here, {unchecked}: {unreachable_why(state)}"
    if state.http_status in (401, 403) and state.token_error:
        return (f"{state.phase}'s /health answered {state.http_status} to a call without an identity token, "
                f"{unchecked}: {state.token_error[:1].lower()}{state.token_error[1:].rstrip('.')}")
    if state.http_status == 403:
        return (f"{state.phase}'s /health answered 403 to the identity token sent, {unchecked}: the caller needs "
                f"roles/run.invoker on {state.service}")
    return f"{state.phase}'s /health answered {state.http_status}, {unchecked}"


def unreachable_why(state: PhaseState) -> str:
    """Why this machine may not reach the service at all ("" when its ingress lets the internet in)."""
    if state.ingress == DEFAULT_INGRESS:
        return ""
    if state.ingress == "none":
        return f"its ingress is none, so no request reaches {state.service}"
    through = " or through its Cloud load balancer" if state.ingress == "internal-and-cloud-load-balancing" else ""
    return (f"its ingress is {state.ingress}, so /health cannot be reached from outside the VPC (run the overview "
            f"from inside the VPC{through})")


def unhealthy_sentence(state: PhaseState) -> str:
    """/health answered 200 but does not say the service is healthy (its status is another word, or none while
    it names a service): the service itself says it cannot do its work."""
    if state.http_status != 200 or state.healthy or (state.names_no_service and state.health_status is None):
        return ""   # not 200, or a 200 that names no service: the sentences above and below say so
    return f"{state.phase}'s /health answered 200 but does not say {state.service} is healthy ({state.health_said})"


def failed_revision_sentence(state: PhaseState) -> str:
    """The newest revision failed to become ready while an older one serves: what was deployed last is not what
    runs. A warning, not a failure: the phase is served (DESIGN.md's incident morning left Phase 4 on an older
    revision after its deploy failed, and still answering), and what that older code is worth is judged by the
    sentences about it (wrong code, dataset_prefix); the failed deploy is runbook 01's and 02's to fix."""
    if not state.failed_revision or not state.serving:
        return ""   # nothing serves at all: the phase's problem says so, naming it
    return (f"{state.phase}'s newest revision {state.failed_revision} failed to become ready, so the code last "
            f"deployed to {state.service} is not what serves it (runbook 01 diagnoses why, runbook 02 redeploys)")


def not_ready_sentence(state: PhaseState) -> str:
    """A revision with a share of the traffic that Cloud Run reports not ready (its Ready condition failed after it
    took the traffic: an image deleted from the registry, a crash on each new instance). Cloud Run keeps routing that
    share to it, so those requests fail even while /health, answered by an instance still up, says all is well."""
    failing = [r for r in state.serving if r.ready is False]
    if not failing:
        return ""
    shares = ", ".join(f"{r.percent}% to {r.name}" for r in failing)
    return (f"{state.phase} sends {shares}, which Cloud Run reports not ready, so those calls can fail (runbook 02 "
            f"redeploys {state.service} or sends its traffic to a ready revision)")


def no_service_sentence(state: PhaseState) -> str:
    """/health answered 200 without naming a service: whose code serves is unverified, not right."""
    if not state.names_no_service:
        return ""
    return (f"{state.phase}'s /health answered 200 but names no service ({state.health_said}), so which code "
            f"serves {state.service} cannot be checked")


def prefix_sentence(state: PhaseState, prefix_commit: str) -> str:
    """Why a phase would write production with a prefix (a serving revision from before `prefix_commit`, the
    first commit honouring dataset_prefix)."""
    lacking = state.without_prefix
    if not lacking:
        return ""
    if state.split:
        return (f"{state.phase} sends {' and '.join(share(r) for r in lacking)}, from before dataset_prefix "
                f"support ({prefix_commit}): those calls of a prefixed run would write production")
    return (f"{state.phase} runs {_commit_text(state)}, from before dataset_prefix support ({prefix_commit}): "
            f"a prefixed run would write production")


def prefix_unknown_sentence(state: PhaseState, prefix_commit: str) -> str:
    """Whether the serving code honours dataset_prefix cannot be told: a revision without a commit-sha label, no
    source_dir, or a commit the checkout has not fetched (overview.phase_state tells which)."""
    if state.supports_prefix is not None:
        return ""
    which = (" and ".join(f"{r.name} ({r.percent}% of the traffic, {r.commit_sha or 'no commit-sha label'})"
                          for r in state.prefix_unknown) if state.split else state.commit[:7] or state.revision)

    def why_not(r: ServingRevision) -> str:
        said = state.prefix_unknown_why.get(r.name) or GIVE_SOURCE_DIR
        return f"{r.name if state.split else 'it'} {said}" if said == NO_LABEL else said

    why = list(dict.fromkeys(why_not(r) for r in state.prefix_unknown))
    return (f"whether {state.phase}'s {which} contains dataset_prefix support ({prefix_commit}) cannot be told: "
            f"{', and '.join(why or [GIVE_SOURCE_DIR])}")


def unchecked_sentence(state: PhaseState) -> str:
    """The serving revisions whose code /health cannot vouch for ("" when there are none)."""
    others = state.unchecked_revisions
    if not others:
        return ""
    first = state.serving[0]
    # one name, two builds (a moving tag): say so, or the sentence reads as if the images looked alike
    renamed = [r for r in others if r.image and r.image == first.image]
    builds = (f" ({first.image} named two builds: {' and '.join(_short_digest(r) for r in [first, *renamed])})"
              if renamed else "")
    return (f"{state.phase} sends {' and '.join(share(r) for r in others)}, another image than "
            f"{first.name}'s{builds}, whose code one /health call cannot check")


def _short_digest(revision: ServingRevision) -> str:
    digest = revision.runs.digest
    return f"{revision.name} {digest[:len('sha256:') + 12]}" if digest else revision.name


def health_said(health: dict) -> str:
    """What /health answered, in one line: its error text (a page, plain text), else its JSON."""
    body = {k: v for k, v in health.items() if k != "http_status"}
    if set(body) == {"error"}:
        return one_line(body["error"], 160)
    return one_line(json.dumps(body, sort_keys=True, default=str), 160)
