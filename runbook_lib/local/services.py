"""The sandbox's Cloud Run: loopback phase services, their revisions, IAM and identity tokens.

Each phase service is a separate process (`python -m runbook_lib.local.service_app`) bound to
127.0.0.1 on a free port. What Cloud Run would hold (revisions, traffic, IAM policy) is kept in
the sandbox state file, which the service processes read on every request, so an IAM change
takes effect at once, as on Cloud Run. A stopped service starts again on the next request
(Cloud Run scales from zero). LocalServices is made of this module's revisions, traffic and rollouts and three
mixins: service_processes.py (its processes, and calling them), candidates.py (tags) and service_iam.py (IAM).
"""
from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import NotFoundError, ParameterError, RunbookError
from ..phases import PhaseRegistry
# The value types and the meaning of "public" / "invoker" are shared with target=gcp; re-exported here
# so `from runbook_lib.local.services import ServiceInfo` keeps working.
from ..gitinfo import commit_contains
from ..images import parse_image
from ..protocols import ROLLOUT_TIMEOUT_S, Progress
from ..services import (DEFAULT_INGRESS, INVOKER_ROLE, PhaseEndpoints, PushSubscription, Revision, Rollout,
                        RolloutInProgress, ServiceInfo, ServingRevision, check_image, check_tag, failed_newest,
                        invoker_members, is_public, newest_revisions_first, push_subscriptions_to, string_map,
                        traffic_split, without_all_users)
from .builds import LocalBuilds
from .candidates import SandboxTags, tags_by_revision
from .service_iam import SandboxIam
from .service_processes import SandboxProcesses
from .processes import is_our_process, pid_alive, process_lock, read_run_file, terminate, write_run_file
from .state import refuse_if_changed, require_services_state, service_etag, state_lock, write_state

ANONYMOUS = None  # token=None (or "") sends no Authorization header, as with GcpServices
_SHA = re.compile(r"^[0-9a-f]{7,40}$")


# ---------------------------------------------------------------- the service API


class LocalServices(SandboxProcesses, SandboxTags, SandboxIam, PhaseEndpoints):
    def __init__(self, home, phases: PhaseRegistry, warehouse_path: str | Path):
        self.home = home
        self.phases = phases
        self.warehouse_path = Path(warehouse_path)
        self._started: set[int] = set()

    # ---- reading state

    def _record(self, phase: str) -> tuple[str, dict]:
        name = self.phases.get(phase).name
        state = require_services_state(self.home)
        if name not in state["services"]:
            raise NotFoundError(f"The sandbox has no service for {name}; reset the sandbox.")
        return name, state["services"][name]

    @staticmethod
    def _serving(record: dict) -> dict:
        """The revision the traffic goes to. RunbookError (never a bare StopIteration, which would end runbook 00
        instead of failing that phase's row) when none has a share, or the one named is not in the state."""
        serving = next((t["revisionName"] for t in record["traffic"] if t.get("percent", 0) > 0), None)
        if serving is None:
            raise RunbookError(f"{record['service']} gives no revision a share of its traffic, so no revision serves "
                               f"it; send the traffic to a ready revision (runbook 02 redeploys it).")
        revision = next((r for r in record["revisions"] if r["name"] == serving), None)
        if revision is None:
            raise RunbookError(f"{record['service']} sends its traffic to {serving}, a revision the sandbox does not "
                               f"hold, so no revision serves it; send the traffic to a ready revision (runbook 02 "
                               f"redeploys it).")
        return revision

    def describe(self, phase: str) -> ServiceInfo:
        name, record = self._record(phase)
        revision = self._serving(record)
        live = read_run_file(self.home, name)
        running = bool(live and live.get("revision") == revision["name"])
        return ServiceInfo(
            phase=name, service=record["service"], region=record["region"],
            url=live["url"] if running else None, revision=revision["name"],
            commit_sha=_label(revision["commit_sha"]), commit_sha_full=revision["commit_sha"],
            supports_prefix=bool(revision["supports_prefix"]),
            image=revision["image"], created=revision["created"], running=running,
            public=is_public(record["iam_policy"], bool(record.get("invoker_iam_disabled"))),
            invoker_members=invoker_members(record["iam_policy"]),
            code_phase=revision.get("code_phase", name), pid=live["pid"] if running else None,
            ingress=record.get("ingress", DEFAULT_INGRESS),
            invoker_iam_disabled=bool(record.get("invoker_iam_disabled")),
            # The sandbox serves one revision at a time (update_traffic refuses a split).
            serving=[ServingRevision(revision["name"], 100, _label(revision["commit_sha"]),
                                     bool(revision["supports_prefix"]), revision["image"],
                                     revision.get("code_phase", name), revision.get("ready", True),
                                     parse_image(revision["image"]).digest)],
            failed_revision=failed_newest(self._revisions(name, record)),
        )

    def traffic_now(self, phase: str) -> list[tuple[str, int]]:
        # The sandbox serves one revision at a time (update_traffic refuses a split).
        _, record = self._record(phase)
        return [(self._serving(record)["name"], 100)]

    def list(self) -> list[ServiceInfo]:
        state = require_services_state(self.home)
        return [self.describe(n) for n in self.phases.names() if n in state["services"]]

    def list_revisions(self, phase: str) -> list[Revision]:
        """Revisions newest first by creation time (then by name), as `gcloud run revisions list` shows them."""
        return self._revisions(*self._record(phase))

    @staticmethod
    def _revisions(name: str, record: dict) -> list[Revision]:
        traffic = {t["revisionName"]: t.get("percent", 0) for t in record["traffic"]}
        tags = tags_by_revision(record)
        revisions = []
        for rev in record["revisions"]:
            labels = _labels(rev)
            revisions.append(Revision(
                name=rev["name"], service=record["service"], labels=labels, commit_sha=labels.get("commit-sha", ""),
                commit_sha_full=rev["commit_sha"], image=rev["image"], created=rev["created"],
                traffic_percent=traffic.get(rev["name"], 0), supports_prefix=bool(rev["supports_prefix"]),
                code_phase=rev.get("code_phase", name), ready=rev.get("ready", True), tags=tags.get(rev["name"], []),
                image_digest=parse_image(rev["image"]).digest))
        return newest_revisions_first(revisions)

    def push_subscriptions(self, phase: str) -> list[PushSubscription]:
        """The sandbox project's Pub/Sub push subscriptions whose endpoint is this service (state file)."""
        _, record = self._record(phase)
        subscriptions = require_services_state(self.home).get("pubsub_subscriptions", [])
        return push_subscriptions_to(subscriptions, record.get("urls", []))

    # ---- changing state

    def deploy_revision(self, phase: str, commit: str, image: str, supports_prefix: bool,
                        code_phase: str | None = None, created: str | None = None) -> ServiceInfo:
        """Create the next revision, send it 100% of traffic and (re)start the service on it.

        code_phase names whose code the image holds (default: this phase); a Dockerfile mix-up
        deploys another phase's code, and /health then names the other service.
        """
        name = self.phases.get(phase).name
        code = self.phases.get(code_phase).name if code_phase else name
        if not isinstance(commit, str) or not _SHA.match(commit):
            raise ParameterError("commit", commit, "give a git commit id (7 to 40 lowercase hex digits)")
        check_image(image)
        if not isinstance(supports_prefix, bool):
            raise ParameterError("supports_prefix", supports_prefix, "give True or False")
        when = created or _now()
        with state_lock(self.home):
            state = require_services_state(self.home)
            record = state["services"][name]
            revision = revision_record(record["service"], _next_number(record), commit, image, supports_prefix,
                                       when, code)
            record["revisions"].append(revision)
            record["traffic"] = [{"revisionName": revision["name"], "percent": 100}]
            record["traffic_latest"] = True
            write_state(self.home, state)
        self.ensure_running(name)
        return self.describe(name)

    # ---- rollouts: what `gcloud run deploy --image` and `update-traffic` do

    def rollout_in_progress(self, phase: str) -> str | None:
        """One sentence naming the deploy or traffic change of the service still running in some process."""
        _, record = self._record(phase)
        rollout = record.get("rollout")
        if not rollout or not pid_alive(rollout.get("pid")):
            return None  # none, or one whose process died: nothing is still changing the service
        return (f"{record['service']} is being changed by process {rollout['pid']} since {rollout['started']} "
                f"({rollout['what']}).")

    def etag(self, phase: str) -> str:
        _, record = self._record(phase)
        return service_etag(record)

    def follows_latest(self, phase: str) -> bool:
        """Does the traffic go to whatever revision is latest (`--to-latest`), rather than to a named revision? A
        rollback pins a named revision, so the kit says when it ends that (as on gcp)."""
        _, record = self._record(phase)
        return bool(record.get("traffic_latest", True))

    def deploy(self, phase: str, image: str, labels: dict[str, str] | None = None, env: dict[str, str] | None = None,
               timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
               remove_labels: tuple[str, ...] = (), remove_env: tuple[str, ...] = (),
               tag: str | None = None, etag: str | None = None) -> Rollout:
        """A new revision of `image`, a sandbox build: its service process starts from that build's code (the
        phase whose Dockerfile it built, at the commit it built) on a free loopback port; once it listens the
        traffic moves (unless pinned) and the old process stops. A build of no phase's Dockerfile cannot
        start: the revision is left not ready, and the traffic where it was. Labels are merged into the serving
        revision's, less `remove_labels` (`--remove-labels`); environment variables likewise, less `remove_env`.
        A tag (`--no-traffic`): the traffic pinned where it is, the revision in the tag's process (candidates.py)."""
        name, tag = self.phases.get(phase).name, check_tag(tag, self.phases.get(phase).service)
        image, labels, env = check_image(image), string_map("labels", labels), string_map("env", env)
        built = LocalBuilds(self.home, self.phases).image_outcome(image)
        if built is None or not built.commit:
            raise NotFoundError(f"The sandbox runs only images its own builder made, and no sandbox build produced "
                                f"{image}; build it first (to go back to an earlier revision, move the traffic to it).")
        prefix = self.phases.get(name).prefix_support_commit
        supports = commit_contains(self.home.source, built.commit, prefix) is True
        with self._rollout(name, f"deploying {image}"):
            with state_lock(self.home):
                state = require_services_state(self.home)
                record = state["services"][name]
                refuse_if_changed(record, etag, f"The deploy of {image}")
                current = self._serving(record)
                revision = revision_record(record["service"], _next_number(record), built.commit, image, supports,
                                           _now(), built.code_phase or "")
                kept = {k: v for k, v in {**_labels(current), **labels}.items() if k not in remove_labels}
                kept_env = {k: v for k, v in current.get("env", {}).items() if k not in remove_env}
                revision.update(ready=None, labels=kept, env={**kept_env, **env})
                record["revisions"].append(revision)
                if tag:   # gcloud's --no-traffic: the traffic stays, by revision name, where it goes now
                    record["traffic_latest"] = False
                notes = _drop_all_users(record)
                write_state(self.home, state)
            if progress is not None:
                progress(f"revision {revision['name']}: starting")
            if tag:
                return self._start_tagged(name, revision, tag, timeout_s, progress, notes)
            return self._start(name, revision, timeout_s, progress, notes)

    def _start(self, name: str, revision: dict, timeout_s: float, progress: Progress | None,
               notes: list[str]) -> Rollout:
        with process_lock(self.home, name):
            old = read_run_file(self.home, name)
            try:
                live = self._spawn(name, revision, timeout_s=timeout_s)
                ready, message = True, f"Revision {revision['name']} is ready."
            except RunbookError as exc:
                live, ready = None, False
                message = (f"Revision {revision['name']} is not ready and cannot serve traffic: {exc}")
            with state_lock(self.home):
                state = require_services_state(self.home)
                record = state["services"][name]
                stored = next(r for r in record["revisions"] if r["name"] == revision["name"])
                stored["ready"] = ready
                if ready and record.get("traffic_latest", True):
                    record["traffic"] = [{"revisionName": revision["name"], "percent": 100}]
                serving = self._serving(record)["name"]
                write_state(self.home, state)
            if live is not None and serving != revision["name"]:
                # Traffic is pinned elsewhere: the new revision waits, its process does not.
                terminate(live["pid"], self.home.root)
                live = None
            if old and (live is not None or not is_our_process(old["pid"], self.home.root)):
                terminate(old["pid"], self.home.root)
            elif old:
                write_run_file(self.home, name, old)   # the old process keeps serving
        if progress is not None:
            progress(f"revision {revision['name']}: {'ready' if ready else 'not ready'}")
        return Rollout(revision["name"], ready, message, self._traffic(name), notes)

    def update_traffic(self, phase: str, revision: str | dict[str, int] | None = None,
                       timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
                       etag: str | None = None) -> Rollout:
        """All traffic to one ready revision (pinned there), or revision=None: to the latest ready one from now on.
        The service process restarts on the revision that now serves. The sandbox serves one revision at a
        time: a split of several is refused."""
        name = self.phases.get(phase).name
        if revision is not None:
            split = traffic_split(revision)
            if len(split) > 1:
                raise ParameterError("revision", revision, "give one revision: the sandbox serves one revision at a "
                                     "time, never a split")
            revision = next(iter(split))
        with self._rollout(name, f"moving traffic to {revision or 'the latest revision'}"):
            with state_lock(self.home):
                state = require_services_state(self.home)
                record = state["services"][name]
                refuse_if_changed(record, etag, f"Moving the traffic of {record['service']}")
                ready = [r for r in record["revisions"] if r.get("ready", True)]
                if revision is None:
                    chosen = max(ready, key=lambda r: (r["created"], r["name"]))
                else:
                    chosen = next((r for r in ready if r["name"] == revision), None)
                    if chosen is None:
                        known = ", ".join(r["name"] for r in ready)
                        raise ParameterError("revision", revision, f"give a ready revision of {record['service']}: {known}")
                record["traffic"] = [{"revisionName": chosen["name"], "percent": 100}]
                record["traffic_latest"] = revision is None
                write_state(self.home, state)
            self._ensure_one(name, timeout_s=timeout_s)
        if progress is not None:
            progress(f"traffic: 100% to {chosen['name']}")
        return Rollout(chosen["name"], True, f"Traffic: 100% to {chosen['name']}"
                       f"{' (latest)' if revision is None else ''}.", self._traffic(name))

    def _traffic(self, name: str) -> dict[str, int]:
        _, record = self._record(name)
        return {t["revisionName"]: t.get("percent", 0) for t in record["traffic"]}

    @contextmanager
    def _rollout(self, name: str, what: str) -> Iterator[None]:
        """Mark the service as changing for as long as this runs; refuse when another process is changing it."""
        with state_lock(self.home):
            state = require_services_state(self.home)
            record = state["services"][name]
            busy = record.get("rollout")
            if busy and pid_alive(busy.get("pid")) and busy.get("pid") != os.getpid():
                raise RolloutInProgress(f"{record['service']} is being changed by process {busy['pid']} since "
                                        f"{busy['started']} ({busy['what']}); wait for it to finish.")
            record["rollout"] = {"pid": os.getpid(), "started": _now(), "what": what}
            write_state(self.home, state)
        try:
            yield
        finally:
            with state_lock(self.home):
                state = require_services_state(self.home)
                state["services"][name].pop("rollout", None)
                write_state(self.home, state)


# ---------------------------------------------------------------- helpers


def _label(commit: str) -> str:
    """The `commit-sha` label a source deploy puts on its revision: the short id."""
    return commit[:7]


def _labels(revision: dict) -> dict[str, str]:
    """A revision's labels: those its deploy set (even none, once a deploy removed them), else the `commit-sha`
    label the night's deploy scripts set."""
    labels = revision.get("labels")
    return dict(labels) if labels is not None else {"commit-sha": _label(revision["commit_sha"])}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_number(record: dict) -> int:
    return max(int(r["name"].rsplit("-", 2)[1]) for r in record["revisions"]) + 1


def _drop_all_users(record: dict) -> list[str]:
    """What --no-allow-unauthenticated does to an existing service: allUsers loses run.invoker, nothing else."""
    policy = record["iam_policy"]
    bindings = without_all_users(policy.get("bindings", []))
    if bindings is None:
        return []
    policy["bindings"] = bindings
    return [f"removed allUsers from {INVOKER_ROLE} on {record['service']}"]


def revision_record(service: str, number: int, commit: str, image: str, supports_prefix: bool,
                    created: str, code_phase: str, suffix: str | None = None) -> dict:
    """A revision as the state keeps it; the 3-letter suffix is derived, so it is reproducible."""
    if suffix is None:
        digest = hashlib.sha256(f"{service}/{number}/{commit}/{created}".encode()).digest()
        suffix = "".join("abcdefghijklmnopqrstuvwxyz"[b % 26] for b in digest[:3])
    return {"name": f"{service}-{number:05d}-{suffix}", "commit_sha": commit, "image": image,
            "supports_prefix": bool(supports_prefix), "created": created, "code_phase": code_phase}


def source_image(project: str, region: str, service: str, commit: str, build: str = "") -> str:
    """Where a source deploy's image lands (Artifact Registry's cloud-run-source-deploy repo).

    Every build makes a new image, so `build` (e.g. the revision name) goes into the digest.
    """
    digest = hashlib.sha256(f"{service}@{commit}/{build}".encode()).hexdigest()
    return f"{region}-docker.pkg.dev/{project}/cloud-run-source-deploy/{service}@sha256:{digest}"
