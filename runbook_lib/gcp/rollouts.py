"""Rollouts on Cloud Run, as `gcloud run deploy --image` and `gcloud run services update-traffic` make them, over
update_service: the writing half of GcpServices (gcp/services.py), which reads the services these change."""
from __future__ import annotations

from typing import Any

from ..errors import OperationTimeout, ParameterError, RunbookError
from ..protocols import ROLLOUT_TIMEOUT_S, Progress
from ..services import (INVOKER_ROLE, Rollout, RolloutInProgress, ServiceChanged, check_image, check_tag, one_line,
                        string_map, traffic_split, without_all_users)
from .operations import await_operation, operation_error
from .refusals import refused_as, refused_sentence
from .run_resources import ingress_container, message_dict, ready_condition
from .traffic import keeping_tags, new_revision_name, no_traffic_targets, serving_shares, tag_url


class CloudRunRollouts:
    """Deploy an image, move traffic, and take allUsers off run.invoker: the rollout methods of GcpServices, which
    gives them `phases`, `clients`, `poll_s`, `_name`, `_service` and `list_revisions`."""

    def rollout_in_progress(self, phase: str) -> str | None:
        """Cloud Run's own word: a service whose `reconciling` is true has a rollout that has not settled."""
        service = self._service(phase)
        if not service.get("reconciling"):
            return None
        latest = service.get("latestCreatedRevision", "").rsplit("/", 1)[-1]
        return (f"{self.phases.get(phase).service} is still rolling out"
                f"{f' revision {latest}' if latest else ''} (Cloud Run reports it reconciling).")

    def follows_latest(self, phase: str) -> bool:
        """Does a share of the traffic go to whatever revision is latest (a LATEST target, `--to-latest`), rather
        than to named revisions only? A rollback pins named revisions, so the kit says when it ends that."""
        service = self._service(phase)
        return any(str(t.get("type", "")).endswith("LATEST") and t.get("percent")
                   for t in service.get("traffic") or service.get("trafficStatuses") or [])

    def deploy(self, phase: str, image: str, labels: dict[str, str] | None = None, env: dict[str, str] | None = None,
               timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
               remove_labels: tuple[str, ...] = (), remove_env: tuple[str, ...] = (),
               tag: str | None = None, etag: str | None = None) -> Rollout:
        """update_service with the template's image replaced, labels (service and revision) and environment
        variables merged, `remove_labels` taken off both (`--remove-labels`: a key not there is ignored),
        `remove_env` off the container (`--remove-env-vars`, applied before the updates), and a blank revision
        name (Cloud Run names it); then allUsers loses run.invoker. With a tag, as `--no-traffic --tag=TAG`: the
        revision named here, as gcloud names it, and the traffic list pinned with a tagged 0% target for it
        (gcp/traffic.py)."""
        image, labels, env = check_image(image), string_map("labels", labels), string_map("env", env)
        tag = check_tag(tag, self.phases.get(phase).service)
        self._refuse_unsettled(phase)
        with refused_as(f"The deploy of {image} to {self.phases.get(phase).service}", write=True):
            return self._deploy(phase, image, labels, env, timeout_s, progress, tuple(remove_labels),
                                tuple(remove_env), tag, etag)

    def scale_tag_to_zero(self, phase: str, tag: str) -> None:
        """Cloud Run scales a revision no request reaches to zero by itself: nothing to send."""
        self.phases.get(phase)
        check_tag(tag)

    def _deploy(self, phase: str, image: str, labels: dict[str, str], env: dict[str, str], timeout_s: float,
                progress: Progress | None, remove_labels: tuple[str, ...] = (),
                remove_env: tuple[str, ...] = (), tag: str | None = None, etag: str | None = None) -> Rollout:
        from google.cloud import run_v2

        service = self.clients.run.get_service(name=self._name(phase))
        before = service.latest_created_revision
        if not service.template.containers:
            service.template.containers.append(run_v2.Container())
        at = ingress_container(service.template.containers, lambda c: len(c.ports))
        if at is None:
            ported = sum(1 for c in service.template.containers if c.ports)
            raise RunbookError(f"{self.phases.get(phase).service} has {len(service.template.containers)} containers "
                               f"and {ported or 'none'} with a port, so which one serves its requests (the ingress "
                               f"container, whose image a deploy replaces) cannot be told; nothing was changed.")
        container = service.template.containers[at]
        container.image = image
        for gone in [e for e in container.env if e.name in remove_env]:
            container.env.remove(gone)
        for key, value in env.items():
            existing = next((e for e in container.env if e.name == key), None)
            if existing is None:
                container.env.append(run_v2.EnvVar(name=key, value=value))
            else:
                existing.value = value
        service.template.labels.update(labels)
        service.labels.update(labels)
        for key in remove_labels:
            for held in (service.template.labels, service.labels):
                if key in held:
                    del held[key]
        service.template.revision = ""
        if tag:
            named = new_revision_name(self.phases.get(phase).service,
                                      [r.name.rsplit("/", 1)[-1] for r in
                                       self.clients.revisions.list_revisions(parent=self._name(phase))])
            service.template.revision = named
            traffic = no_traffic_targets(service, named, tag)
            del service.traffic[:]
            service.traffic.extend(traffic)
        operation = self._update(service, f"The deploy of {image}", etag)
        message = self._await(operation, f"The rollout of {self.phases.get(phase).service}", timeout_s, progress)
        after = self._service(phase)
        created = after.get("latestCreatedRevision", "")
        revision = created.rsplit("/", 1)[-1] if created and created != before else ""
        ready = bool(revision) and ready_condition(message_dict(self.clients.revisions.get_revision(name=created))
                                          .get("conditions", [])) is True
        if ready:
            message = f"Revision {revision} is ready."
        else:
            message = message or (f"Revision {revision} is not ready yet." if revision
                                  else "Cloud Run created no new revision.")
        from google.api_core.exceptions import GoogleAPICallError

        try:
            notes = self._drop_all_users(phase)
        except (RunbookError, GoogleAPICallError) as exc:   # the revision exists now: said with its rollout
            said = str(exc) if isinstance(exc, RunbookError) else refused_sentence(
                f"Removing allUsers from {INVOKER_ROLE} on {self.phases.get(phase).service}", exc)
            notes = [f"allUsers could not be removed from {INVOKER_ROLE}: {one_line(said)}"]
        return Rollout(revision, ready, one_line(message), serving_shares(after), notes,
                       tag_url=tag_url(after, tag) if tag and ready else "")

    def update_traffic(self, phase: str, revision: str | dict[str, int] | None = None,
                       timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
                       etag: str | None = None) -> Rollout:
        with refused_as(f"Moving the traffic of {self.phases.get(phase).service}", write=True):
            return self._update_traffic(phase, revision, timeout_s, progress, etag)

    def etag(self, phase: str) -> str:
        return self._service(phase).get("etag", "")

    def _update(self, service: Any, what: str, etag: str | None) -> Any:
        """update_service, only on the service as it was when `etag` was read when one is given (it replaces the
        etag the service was just read with); Cloud Run's refusal of a stale one (409 ABORTED, or 412/400
        FAILED_PRECONDITION as some APIs answer it) is then ServiceChanged."""
        from google.api_core import exceptions

        if etag:
            service.etag = etag
        try:
            return self.clients.run.update_service(service=service)
        except (exceptions.Aborted, exceptions.Conflict, exceptions.FailedPrecondition) as exc:
            if not etag:
                raise
            raise ServiceChanged.since(what, service.name.rsplit("/", 1)[-1], etag,
                                       one_line(str(exc.message or exc))) from None

    def _update_traffic(self, phase: str, revision: str | dict[str, int] | None, timeout_s: float,
                        progress: Progress | None, etag: str | None = None) -> Rollout:
        from google.cloud import run_v2

        service = self.clients.run.get_service(name=self._name(phase))
        kind = run_v2.TrafficTargetAllocationType
        if revision is None:
            wanted = [run_v2.TrafficTarget(type_=kind.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent=100)]
        else:
            split = traffic_split(revision)
            known = [r.name for r in self.list_revisions(phase) if r.ready is not False]
            for name in split:
                if name not in known:
                    raise ParameterError("revision", name, f"give a ready revision of "
                                         f"{self.phases.get(phase).service}: {', '.join(known)}")
            wanted = [run_v2.TrafficTarget(type_=kind.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, revision=name,
                                           percent=percent) for name, percent in split.items()]
        traffic = keeping_tags(list(service.traffic), wanted)
        del service.traffic[:]
        service.traffic.extend(traffic)
        operation = self._update(service, f"Moving the traffic of {self.phases.get(phase).service}", etag)
        error = self._await(operation, f"Moving the traffic of {self.phases.get(phase).service}", timeout_s, progress)
        after = serving_shares(self._service(phase))
        serving = max(after, key=after.get) if after else ""
        if revision is None:
            ok, said = not error and after.get(serving) == 100, f"100% to {serving} (latest)"
        else:
            ok, said = not error and after == split, ", ".join(f"{p}% to {r}" for r, p in split.items())
        return Rollout(serving, ok, one_line(error or f"Traffic: {said}."), after)

    def _refuse_unsettled(self, phase: str) -> None:
        busy = self.rollout_in_progress(phase)
        if busy:
            raise RolloutInProgress(f"{busy.rstrip('.')}; wait for it to settle.")

    def _await(self, operation: Any, what: str, timeout_s: float, progress: Progress | None) -> str | None:
        """Await a rollout; its error message (Cloud Run's reason a revision is not ready), or None."""
        try:
            await_operation(operation, what, timeout_s, describe=_rollout_progress, progress=progress,
                            poll_s=self.poll_s)
        except OperationTimeout as exc:
            return str(exc)
        return operation_error(operation)

    def _drop_all_users(self, phase: str) -> list[str]:
        """--no-allow-unauthenticated on an existing service: allUsers loses run.invoker, nothing else changes."""
        from google.iam.v1 import policy_pb2

        resource = self._name(phase)
        policy = self.clients.run.get_iam_policy(request={"resource": resource,
                                                          "options": {"requested_policy_version": 3}})
        bindings = without_all_users([{"role": b.role, "members": list(b.members),
                                       "condition": b.condition if b.HasField("condition") else None}
                                      for b in policy.bindings])
        if bindings is None:
            return []
        changed = policy_pb2.Policy(version=policy.version, etag=policy.etag)
        for binding in bindings:
            one = changed.bindings.add(role=binding["role"], members=binding["members"])
            if binding["condition"] is not None:
                one.condition.CopyFrom(binding["condition"])
        self.clients.run.set_iam_policy(request={"resource": resource, "policy": changed})
        return [f"removed allUsers from {INVOKER_ROLE} on {self.phases.get(phase).service}"]


_SETTLED = {"CONDITION_SUCCEEDED": "ready", "CONDITION_FAILED": "failed"}


def _rollout_progress(metadata: Any) -> str:
    """One line from the operation's metadata (the Service): reconciling, then ready or failed."""
    latest = metadata.latest_created_revision.rsplit("/", 1)[-1]
    state = "reconciling" if metadata.reconciling else _SETTLED.get(metadata.terminal_condition.state.name, "settled")
    return f"rollout of {latest or 'a new revision'}: {state}"
