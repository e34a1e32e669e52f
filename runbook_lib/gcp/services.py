"""Cloud Run services over the real google-cloud-run (run_v2) client, REST transport.

The same interface and semantics as the sandbox's LocalServices (see runbook_lib/services.py for the
shared value types and definitions). What only the sandbox can know is documented where it differs:
`code_phase` is "" here (only calling /health would tell whose code a revision runs) and `pid` is None.
"""
from __future__ import annotations

import base64
import re
import subprocess
from typing import Any, Callable, Iterator

import requests
from google.protobuf.json_format import MessageToDict

from ..deadlines import AnswerDeadline
from ..errors import NotFoundError, OperationTimeout, ParameterError, RunbookError, ServiceTimeout
from ..gitinfo import commit_contains
from ..phases import PhaseRegistry
from ..protocols import ROLLOUT_TIMEOUT_S, Progress
from ..services import (INVOKER_ROLE, ConnectionDropped, PhaseEndpoints, PushSubscription, Revision, Rollout,
                        RolloutInProgress, ServiceChanged, ServiceInfo, ServiceResponse, ServingRevision, check_image,
                        check_tag,
                        failed_newest,
                        ingress_setting, invoker_members, is_public, lower_headers, newest_revisions_first, one_line,
                        policy_shape, push_subscriptions_to, read_capped, resolved_digest, response_body, string_map,
                        traffic_split, without_all_users)
from . import identity_tokens
from .calls import PageTokens, RestClient, UnreadableAnswer
from .clients import close_client, guarded, rest_client
from .operations import POLL_SECONDS, await_operation, operation_error
from .projects import ancestors, project_policy
from .refusals import refused_as, refused_sentence
from .traffic import keeping_tags, new_revision_name, no_traffic_targets, serving_shares, tag_url, tags_by_revision

REQUEST_TIMEOUT_S = 300.0
USER_AGENT = "runbook-kit/0.1"
_SERVICE_ACCOUNT = re.compile(r"^serviceAccount:([^\s@]+@[^\s@]+\.gserviceaccount\.com)$")
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


def _json(message: Any) -> dict:
    return MessageToDict(type(message).pb(message), preserving_proto_field_name=False)


class GcpServices(PhaseEndpoints):
    """target.services for Google Cloud: the same interface as the sandbox's LocalServices.

    `source_dir` (a checkout of the pipeline) lets the kit resolve a revision's short `commit-sha`
    label to the full id and tell whether it includes the phase's dataset_prefix commit; without it
    those answers are unknown (None).
    """

    def __init__(self, project: str, phases: PhaseRegistry, clients, source_dir: str | None = None,
                 http: requests.Session | None = None):
        self.project = project
        self.phases = phases
        self.clients = clients
        self.source_dir = source_dir
        self.http = http or requests.Session()
        self._adc_mints_tokens: bool | None = None   # learnt on the first identity_token() call
        self._revisions_json: Any = None   # RevisionsJson, built on the first listing
        self.poll_s = POLL_SECONDS

    # ---- reading state

    def _name(self, phase: str) -> str:
        p = self.phases.get(phase)
        return f"projects/{self.project}/locations/{p.region}/services/{p.service}"

    def _service(self, phase: str) -> dict:
        name = self._name(phase)
        try:
            return _json(self.clients.run.get_service(name=name))
        except NotFoundError:
            raise NotFoundError(f"Cloud Run service {name} was not found; check project and region in phases.yaml.") from None

    def _full_sha(self, label: str, cache: dict) -> str | None:
        if not (self.source_dir and label):
            return None
        if label not in cache:
            done = subprocess.run(["git", "-C", str(self.source_dir), "rev-parse", "--verify", "--quiet",
                                   f"{label}^{{commit}}"], capture_output=True, text=True)
            cache[label] = done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None
        return cache[label]

    def _supports_prefix(self, phase: str, label: str, cache: dict) -> bool | None:
        if not (self.source_dir and label):
            return None
        if label not in cache:
            cache[label] = commit_contains(self.source_dir, label, self.phases.get(phase).prefix_support_commit)
        return cache[label]

    def _revisions(self, phase: str, service: dict) -> list[Revision]:
        serving = dict(_revision_shares(service))   # (a revision can be two targets: LATEST and a tag's 0%)
        tags = tags_by_revision(service)
        shas: dict = {}
        prefix: dict = {}
        rows = []
        for data in self._listed_revisions(phase):
            short = data["name"].rsplit("/", 1)[-1]
            labels = dict(data.get("labels", {}))
            label = labels.get("commit-sha", "")
            containers = data.get("containers") or []
            at = _ingress_container(containers, lambda c: c.get("ports"))
            app = containers[at] if at is not None else {}
            rows.append(Revision(name=short, service=self.phases.get(phase).service, labels=labels, commit_sha=label,
                                 commit_sha_full=self._full_sha(label, shas), image=app.get("image", ""),
                                 created=data.get("createTime", ""), traffic_percent=serving.get(short, 0),
                                 supports_prefix=self._supports_prefix(phase, label, prefix),
                                 ready=_ready(data.get("conditions", [])), tags=tags.get(short, []),
                                 image_digest=_image_digest(data, containers, at)))
        return newest_revisions_first(rows)

    def _listed_revisions(self, phase: str) -> Iterator[dict]:
        """The service's revisions as Cloud Run's JSON, every page. By hand: google-cloud-run's Revision has no
        containerStatuses (0.16), and its parser drops what it does not know, the digest each image resolved to."""
        if self._revisions_json is None:
            endpoint = self.clients.endpoints.get("run")
            self._revisions_json = guarded("run", rest_client(RevisionsJson, "run", self.clients.credentials("run"),
                                                              endpoint), project=self.project, endpoint=endpoint)
        tokens, token = PageTokens(self._revisions_json.where, "list_revisions"), ""
        while True:
            tokens.note(token)
            page = self._revisions_json.list_revisions(self._name(phase), page_token=token)
            yield from page.get("revisions", [])
            token = page.get("nextPageToken", "")
            if not token:
                return

    def list_revisions(self, phase: str) -> list[Revision]:
        """Revisions newest first by creation time (then by name), as in the sandbox; code_phase is ""
        (only the sandbox knows whose code an image holds)."""
        return self._revisions(phase, self._service(phase))

    def iam_policy(self, phase: str) -> dict:
        """{"version", "bindings": [{"role", "members", "condition"?}], "etag"}, as in the sandbox."""
        # Version 3, or IAM answers a policy with conditional bindings in version 1: roles renamed
        # ROLE_withcond_HASH and the conditions dropped.
        policy = self.clients.run.get_iam_policy(request={"resource": self._name(phase),
                                                          "options": {"requested_policy_version": 3}})
        bindings = []
        for b in policy.bindings:
            binding = {"role": b.role, "members": list(b.members)}
            if b.HasField("condition"):
                binding["condition"] = {"title": b.condition.title, "expression": b.condition.expression,
                                        "description": b.condition.description}
            bindings.append(binding)
        # The API's etag is base64 text; the client hands over the decoded bytes.
        return policy_shape(policy.version, bindings, base64.b64encode(policy.etag).decode())

    def project_iam_policy(self) -> dict:
        """The project's IAM policy in iam_policy()'s shape (Resource Manager v3 projects.getIamPolicy, version 3):
        an invoke role granted there reaches every service in the project. AccessDenied (naming
        resourcemanager.projects.getIamPolicy) when the caller may not read it."""
        return project_policy(self.clients.resourcemanager.get_iam_policy(self.project))

    def project_ancestors(self) -> list[str]:
        """The project's folders and organisation, nearest first (folders/N, organizations/N; [] for a project with
        no organisation), from Resource Manager v1 projects.getAncestry, as `gcloud projects
        get-ancestors-iam-policy` reads them. AccessDenied when the caller may not (resourcemanager.projects.get)."""
        return ancestors(self.clients.resourcemanager.get_ancestry(self.project))

    def ancestor_iam_policy(self, resource: str) -> dict:
        """A folder's or the organisation's IAM policy in iam_policy()'s shape (Resource Manager v3
        folders/organizations.getIamPolicy, version 3): an invoke role granted there reaches every service below.
        AccessDenied (resourcemanager.folders.getIamPolicy, .organizations.getIamPolicy) when the caller may not;
        ParameterError for any other name (the client checks it, as it builds the URL from it)."""
        return project_policy(self.clients.resourcemanager.get_ancestor_iam_policy(resource))

    def describe(self, phase: str) -> ServiceInfo:
        p = self.phases.get(phase)
        service = self._service(phase)
        revisions = self._revisions(phase, service)
        serving = _revision_shares(service)
        latest = service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
        revision = serving[0][0] if serving else latest
        unknown = Revision(name=revision or "", service=p.service, labels={}, commit_sha="", commit_sha_full=None,
                           image="", created="", traffic_percent=0, supports_prefix=None)
        current = next((r for r in revisions if r.name == revision), unknown)
        policy = self.iam_policy(phase)
        state = (service.get("terminalCondition") or {}).get("state", "CONDITION_SUCCEEDED")
        return ServiceInfo(
            phase=p.name, service=p.service, region=p.region, url=service.get("uri"), revision=revision,
            commit_sha=current.commit_sha, commit_sha_full=current.commit_sha_full,
            supports_prefix=current.supports_prefix, image=current.image, created=current.created, running=bool(service.get("uri")) and state == "CONDITION_SUCCEEDED",
            public=is_public(policy, bool(service.get("invokerIamDisabled"))),
            invoker_members=invoker_members(policy), code_phase="", pid=None,
            ingress=ingress_setting(service.get("ingress")),
            invoker_iam_disabled=bool(service.get("invokerIamDisabled")),
            serving=_serving_revisions(serving, revisions, current), failed_revision=failed_newest(revisions),
        )

    def traffic_now(self, phase: str) -> list[tuple[str, int]]:
        """One services.get (describe() also lists the revisions and reads the IAM policy)."""
        service = self._service(phase)
        latest = service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
        return _revision_shares(service) or ([(latest, 100)] if latest else [])

    def list(self) -> list[ServiceInfo]:
        return [self.describe(name) for name in self.phases.names()]

    def push_subscriptions(self, phase: str) -> list[PushSubscription]:
        """The project's Pub/Sub push subscriptions whose endpoint is on one of the service's URLs (every
        page of projects.subscriptions.list). Subscriptions in other projects that push here are not
        seen. AccessDenied when the caller lacks pubsub.subscriptions.list (roles/pubsub.viewer), or
        ServiceDisabled (an AccessDenied) when the Pub/Sub API is not enabled."""
        service = self._service(phase)
        listed = [_json(sub) for sub in self.clients.pubsub.list_subscriptions(project=f"projects/{self.project}")]
        return push_subscriptions_to(listed, [service.get("uri", ""), *service.get("urls", [])])

    # ---- calling the services

    def identity_token(self, principal: str | None = None, phase: str | None = None) -> str:
        """An ID token for calling `phase`'s service (audience: its URL; default: the first phase's).

        principal=None: your own credentials. Application Default Credentials first (a service account
        key, or Google's runtimes); user ADC cannot mint ID tokens, so then `gcloud auth
        print-identity-token` (with --audiences only when gcloud's active account is a service account:
        gcloud refuses it for user accounts, and Cloud Run accepts a user's plain token).
        principal="serviceAccount:EMAIL": impersonated with `gcloud auth print-identity-token
        --impersonate-service-account=EMAIL --audiences=URL --include-email` (needs Service Account
        Token Creator on it). Any other principal is a ParameterError: only the sandbox can mint
        tokens for other users.
        """
        email = None
        if principal is not None:
            match = _SERVICE_ACCOUNT.match(principal) if isinstance(principal, str) else None
            if not match:
                raise ParameterError("principal", principal, "on target=gcp give None (your own credentials) or "
                                     "serviceAccount:EMAIL of a service account to impersonate with gcloud")
            email = match.group(1)
        audience = self._service(phase or self.phases.names()[0]).get("uri")
        if not audience:
            raise RunbookError(f"Cloud Run service for {phase or self.phases.names()[0]} has no URL, so no token "
                               f"audience (is its default URL disabled?).")
        if email is None and self._adc_mints_tokens is not False:
            try:
                token = identity_tokens.adc_id_token(audience)
                self._adc_mints_tokens = True
                return token
            except Exception:  # noqa: BLE001 - user ADC, no ADC, no metadata server: gcloud next, and from now on
                self._adc_mints_tokens = False
        return identity_tokens.gcloud_token(audience, email)

    def request(self, phase: str, method: str, path: str, body: dict | None = None, token: str | None = None,
                user_agent: str | None = None, remote_ip: str | None = None,
                headers: dict | None = None, timeout_s: float | None = None,
                tag: str | None = None) -> ServiceResponse:
        """One HTTPS request to a phase's service; token=None sends no Authorization header (Cloud Run
        answers 403). remote_ip exists for the sandbox only: Cloud Run logs the real client address.
        timeout_s: how long to wait (None: REQUEST_TIMEOUT_S). A dropped connection is ConnectionDropped.
        tag: to the tag's URL (trafficStatuses' `uri` of the tag), which reaches the revision it names."""
        if method not in _METHODS:
            raise ParameterError("method", method, "give an HTTP method such as GET or POST")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ParameterError("path", path, "give a URL path starting with /")
        if remote_ip is not None:
            raise ParameterError("remote_ip", remote_ip, "leave it None on target=gcp: Cloud Run logs the caller's "
                                 "real address (only the sandbox can pretend another)")
        tag = check_tag(tag)
        service = self._service(phase)
        url = tag_url(service, tag) if tag else service.get("uri")
        if tag and not url:
            raise NotFoundError(f"No revision of {self.phases.get(phase).service} carries the tag {tag}, so it has "
                                f"no URL; deploy with --tag={tag} first.")
        if not url:
            raise RunbookError(f"Cloud Run service for {phase} has no URL (default URL disabled?).")
        sent = {"User-Agent": user_agent or USER_AGENT}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        wait_s = REQUEST_TIMEOUT_S if timeout_s is None else timeout_s
        deadline = AnswerDeadline(wait_s)
        late = (f"{method} {url.rstrip('/')}{path} got no answer within {wait_s:g}s (the service may still be "
                f"working on it).")
        try:
            # timeout= bounds the connection and each read: Cloud Run's front end passes the headers on whole, so
            # they come within it. The body is streamed as the service sends it, and a read timeout restarts with
            # every byte that trickles in: a watchdog holds the whole answer to the same deadline.
            # A redirect is the service's answer, judged as it is: following it would judge another host's answer
            # (and drop the token there).
            response = self.http.request(method, url.rstrip("/") + path, json=body, headers=sent, timeout=wait_s,
                                         stream=True, allow_redirects=False)
            try:
                deadline.arm(getattr(getattr(response.raw, "connection", None), "sock", None))
                raw = read_capped(response.iter_content(64 * 1024))
            finally:
                deadline.disarm()
                response.close()
        except requests.Timeout:   # before ConnectionError: a ConnectTimeout is both
            raise ServiceTimeout(late) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            # the deadline cut it, or the body's read outwaited it (requests calls that a ConnectionError too)
            if deadline.passed():
                raise ServiceTimeout(late) from None
            raise ConnectionDropped(f"{method} {url.rstrip('/')}{path}: the connection was dropped without an "
                                    f"answer ({one_line(str(exc), 200)}).") from None
        except requests.RequestException as exc:
            if deadline.expired:
                raise ServiceTimeout(late) from None
            raise RunbookError(f"{method} {url.rstrip('/')}{path} failed: {one_line(str(exc))}") from None
        if deadline.expired:   # a body without a length ends where the deadline cut it: not the whole answer
            raise ServiceTimeout(late)
        said = response_body(raw, response.headers.get("Content-Type", ""), response.status_code)
        if response.is_redirect:
            said = {"error": f"a redirect to {one_line(response.headers.get('Location', ''), 200)}, not followed"}
        return ServiceResponse(response.status_code, said, lower_headers(response.headers))

    # ---- rollouts: `gcloud run deploy --image` and `update-traffic`, over update_service

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
        at = _ingress_container(service.template.containers, lambda c: len(c.ports))
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
        ready = bool(revision) and _ready(_json(self.clients.revisions.get_revision(name=created))
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

    def close(self) -> None:
        self.http.close()   # the run clients belong to the target's shared GcpClients
        if self._revisions_json is not None:
            close_client(self._revisions_json)


class RevisionsJson(RestClient):
    """Cloud Run's revisions.list over REST, its JSON as the API gives it (GcpServices._listed_revisions)."""

    def list_revisions(self, parent: str, page_token: str = "", timeout: float | None = None,
                       retry: Callable | None = None) -> dict:
        """One page of `parent`'s (projects/P/locations/L/services/S) revisions: {"revisions", "nextPageToken"?}."""
        try:
            return self._call("GET", f"v2/{parent}/revisions", timeout, retry,
                              query={"pageToken": page_token} if page_token else None)
        except ValueError as exc:   # a 2xx that is not JSON: a proxy's page, said as for the client libraries
            raise UnreadableAnswer(one_line(str(exc), 120)) from None


def _revision_shares(service: dict) -> list[tuple[str, int]]:
    """(revision, percent) for each revision with a share of the traffic, most first. A LATEST target and a
    REVISION target naming the same revision (`--to-revisions=LATEST=50,R=50` while R is the latest) are one
    revision with both shares, as serving_shares counts them: never a split of a revision with itself."""
    shares = serving_shares(service)
    unnamed = shares.pop("", 0)   # LATEST before Cloud Run names its revision: the latest ready one
    latest = service.get("latestReadyRevision", "").rsplit("/", 1)[-1]
    if unnamed and latest:
        shares[latest] = shares.get(latest, 0) + unnamed
    return sorted(shares.items(), key=lambda share: share[1], reverse=True)


def _serving_revisions(shares: list[tuple[str, int]], revisions: list[Revision],
                       current: Revision) -> list[ServingRevision]:
    """Every revision with a share of the traffic, most first (a split sends that share of requests to each);
    the revision describe() reports when Cloud Run lists no traffic (e.g. only LATEST before it settled)."""
    by_name = {r.name: r for r in revisions}
    found = []
    for name, percent in shares or ([(current.name, 100)] if current.name else []):
        rev = by_name.get(name)
        found.append(ServingRevision(name, percent, rev.commit_sha if rev else "",
                                     rev.supports_prefix if rev else None, rev.image if rev else "",
                                     ready=rev.ready if rev else None, image_digest=rev.image_digest if rev else ""))
    return found


def _ingress_container(containers: Any, ports: Callable[[Any], Any]) -> int | None:
    """Which of a revision's containers Cloud Run sends the requests to, the one whose image is the phase's code:
    the only one, else the one with ports ("If you deploy multiple containers to a service, this is the ingress
    container"); the others are sidecars. None: several and not exactly one with ports."""
    if len(containers) == 1:
        return 0
    with_ports = [at for at, container in enumerate(containers) if ports(container)]
    return with_ports[0] if len(with_ports) == 1 else None


def _image_digest(revision: dict, containers: list[dict], at: int | None) -> str:
    """sha256:<hex> Cloud Run resolved the ingress container's image to (containerStatuses, matched by the
    container's name; a lone container's status is its own, named or not); "" when it says none."""
    if at is None:
        return ""
    statuses = revision.get("containerStatuses") or []
    name = containers[at].get("name", "")
    status = next((s for s in statuses if s.get("name", "") == name), None)
    if status is None and len(containers) == 1 and len(statuses) == 1:
        status = statuses[0]
    return resolved_digest((status or {}).get("imageDigest", ""))


def _ready(conditions: list[dict]) -> bool | None:
    """A resource's Ready condition: True (succeeded), False (failed), None (pending or not reported)."""
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = (ready or {}).get("state", "")
    return True if state == "CONDITION_SUCCEEDED" else False if state == "CONDITION_FAILED" else None


_SETTLED = {"CONDITION_SUCCEEDED": "ready", "CONDITION_FAILED": "failed"}


def _rollout_progress(metadata: Any) -> str:
    """One line from the operation's metadata (the Service): reconciling, then ready or failed."""
    latest = metadata.latest_created_revision.rsplit("/", 1)[-1]
    state = "reconciling" if metadata.reconciling else _SETTLED.get(metadata.terminal_condition.state.name, "settled")
    return f"rollout of {latest or 'a new revision'}: {state}"

