"""Cloud Run services over the real google-cloud-run (run_v2) client, REST transport (what changes them, deploys and
traffic, is gcp/rollouts.py's).

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

from ..deadlines import AnswerDeadline
from ..errors import NotFoundError, ParameterError, RunbookError, ServiceTimeout
from ..gitinfo import commit_contains
from ..phases import PhaseRegistry
from ..services import (ConnectionDropped, PhaseEndpoints, PushSubscription, Revision, ServiceInfo, ServiceResponse,
                        ServingRevision, check_tag, failed_newest, ingress_setting, invoker_members, is_public,
                        lower_headers, newest_revisions_first, one_line, policy_shape, push_subscriptions_to,
                        read_capped, resolved_digest, response_body)
from . import identity_tokens
from .calls import PageTokens, RestClient, UnreadableAnswer
from .clients import close_client, guarded, rest_client
from .operations import POLL_SECONDS
from .projects import ancestors, project_policy
from .rollouts import CloudRunRollouts
from .run_resources import ingress_container, message_dict, ready_condition
from .traffic import serving_shares, tag_url, tags_by_revision

REQUEST_TIMEOUT_S = 300.0
USER_AGENT = "runbook-kit/0.1"
_SERVICE_ACCOUNT = re.compile(r"^serviceAccount:([^\s@]+@[^\s@]+\.gserviceaccount\.com)$")
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")


class GcpServices(CloudRunRollouts, PhaseEndpoints):
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
            return message_dict(self.clients.run.get_service(name=name))
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
            at = ingress_container(containers, lambda c: c.get("ports"))
            app = containers[at] if at is not None else {}
            rows.append(Revision(name=short, service=self.phases.get(phase).service, labels=labels, commit_sha=label,
                                 commit_sha_full=self._full_sha(label, shas), image=app.get("image", ""),
                                 created=data.get("createTime", ""), traffic_percent=serving.get(short, 0),
                                 supports_prefix=self._supports_prefix(phase, label, prefix),
                                 ready=ready_condition(data.get("conditions", [])), tags=tags.get(short, []),
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
        listed = [message_dict(sub) for sub in self.clients.pubsub.list_subscriptions(project=f"projects/{self.project}")]
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


