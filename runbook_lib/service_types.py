"""What a Cloud Run service, a revision, a rollout and a service's answer are, on both targets: the value types the
sandbox's and Google Cloud's adapters return (services.py holds the rules both apply to them: who may call a service,
what its /health says)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

from .errors import RunbookError
from .formats import parse_time
from .images import parse_image

# Cloud Run's ingress settings (run_v2 IngressTraffic) as gcloud's --ingress names them. A service that
# does not say has Cloud Run's default, all: reachable from the internet (IAM still decides who gets in).
INGRESS_SETTINGS = {"INGRESS_TRAFFIC_ALL": "all", "INGRESS_TRAFFIC_INTERNAL_ONLY": "internal",
                    "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": "internal-and-cloud-load-balancing",
                    "INGRESS_TRAFFIC_NONE": "none"}
DEFAULT_INGRESS = "all"



@dataclass(frozen=True, eq=False)
class RunImage:
    """What a revision runs (Revision.runs, ServingRevision.runs): two are equal when they are one image as far as the
    kit can tell. By digest when both have one: a tag can name two builds, and one build has many names (by tag, by
    digest, in gcr.io and in Artifact Registry). By the image text otherwise."""

    image: str
    digest: str   # sha256:<hex>, or "" when neither Cloud Run nor the reference says

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunImage):
            return NotImplemented
        if self.digest and other.digest:
            return self.digest == other.digest
        # a revision whose image is unknown (absent from the list, no ingress container) vouches for no other
        return bool(self.image) and self.image == other.image

    __hash__ = None   # type: ignore[assignment]  # equal by digest or by text: no one hash agrees with both


def resolved_digest(image_digest: str) -> str:
    """sha256:<hex> from Cloud Run's containerStatuses[].imageDigest, which may be a reference pinned by it."""
    return image_digest.rpartition("@")[2] if image_digest else ""


class _Record:
    """A value type's plain form: its fields as a dict (what a run's record and the report keep)."""

    def to_dict(self) -> dict:
        return asdict(self)


class _RunsAnImage(_Record):
    """A revision, serving or listed: `image` as deployed and the `image_digest` it resolved to."""

    image: str
    image_digest: str

    @property
    def runs(self) -> RunImage:
        """What it runs, compared as RunImage says (runbook 00's and 03's "one image" in a split); an image given by
        digest runs that digest, whether or not the resolved one was read."""
        return RunImage(self.image, self.image_digest or parse_image(self.image).digest)


@dataclass
class ServingRevision(_RunsAnImage):
    """One revision that gets a share of a service's traffic: Cloud Run sends it that share of the requests,
    so each one must honour dataset_prefix and run the phase's own code (ServiceInfo.serving)."""

    name: str
    percent: int
    commit_sha: str               # its `commit-sha` label (short id); "" when it has none
    supports_prefix: bool | None  # does its commit include the phase's prefix_support_commit? None: cannot tell
    image: str = ""               # the ingress container's, as deployed: by tag or by digest (Revision.image)
    code_phase: str = ""          # whose code the image holds (sandbox-only knowledge; "" on gcp)
    ready: bool | None = None     # its Ready condition (Revision.ready): Cloud Run still routes a share to a
    #                               revision that stopped being ready (its image deleted, say), and those calls fail
    image_digest: str = ""        # the digest the image resolved to when the revision was made (Revision.image_digest)


@dataclass
class ServiceInfo(_Record):
    """One phase's Cloud Run service as `describe()` reports it, the same on every target."""

    phase: str
    service: str
    region: str
    url: str | None            # where to call it (sandbox: the loopback URL while its process runs, else None)
    revision: str              # the revision serving (most of) the traffic
    commit_sha: str            # the serving revision's `commit-sha` label: the short (7-character) id deployed revisions carry
    supports_prefix: bool | None  # does the serving code honour dataset_prefix? None: cannot tell (gcp without source_dir)
    image: str
    created: str               # when the serving revision was created (RFC 3339, UTC)
    running: bool              # can answer now (sandbox: its process is up; Cloud Run: Ready with a URL)
    public: bool               # is_public(): run.invoker for allUsers/allAuthenticatedUsers, or the IAM check disabled
    invoker_members: list[str] = field(default_factory=list)  # invoker_members(): who may call it
    code_phase: str = ""       # whose code the image holds (sandbox-only knowledge; "" on gcp, where only /health tells)
    pid: int | None = None     # sandbox only: the service process
    commit_sha_full: str | None = None  # the full 40-hex id (sandbox: always; gcp: resolved in source_dir, else None)
    ingress: str = DEFAULT_INGRESS      # who can reach it at all: all, internal, internal-and-cloud-load-balancing, none
    invoker_iam_disabled: bool = False  # `--no-invoker-iam-check`: Cloud Run lets every caller in (public)
    # Every revision with more than 0% of the traffic, most first (the fields above describe the first only);
    # the sandbox serves one revision at a time, so there it is always one at 100%.
    serving: list[ServingRevision] = field(default_factory=list)
    # The newest revision when it failed to become ready and takes no traffic (a deploy that never started:
    # Cloud Run keeps the traffic where it was), else "" (failed_newest()).
    failed_revision: str = ""


def ingress_setting(api_value: Any) -> str:
    """gcloud's name for a run_v2 ingress value; missing or UNSPECIFIED is Cloud Run's default, all."""
    return INGRESS_SETTINGS.get(str(api_value or ""), DEFAULT_INGRESS)


@dataclass
class PushSubscription:
    """A Pub/Sub push subscription whose endpoint is a phase's service, the same on every target."""

    name: str                  # projects/P/subscriptions/S
    topic: str                 # projects/P/topics/T
    push_endpoint: str
    service_account: str = ""  # pushConfig.oidcToken.serviceAccountEmail; "" when pushes carry no OIDC token
    audience: str = ""         # pushConfig.oidcToken.audience ("" means the endpoint URL)
    # pushConfig.noWrapper: the message data is the HTTP body (no JSON envelope); its writeMetadata puts the
    # message's metadata in headers. A new push config (modify-push-config) must say them again.
    no_wrapper: bool = False
    write_metadata: bool = False

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def has_token(self) -> bool:
        return bool(self.service_account)

    def to_dict(self) -> dict:
        return {**asdict(self), "short_name": self.short_name, "has_token": self.has_token}


def push_subscriptions_to(subscriptions: Iterable[dict], service_urls: Iterable[str]) -> list[PushSubscription]:
    """The push subscriptions (Pub/Sub REST JSON: name, topic, pushConfig) whose endpoint is on one of a
    service's URLs (Cloud Run gives a service two: https://S-PROJECT_NUMBER.REGION.run.app and the older
    hashed one), sorted by name. Pull subscriptions have no pushEndpoint and are left out."""
    hosts = {urlsplit(url).netloc.lower() for url in service_urls if url}
    found = []
    for sub in subscriptions:
        push = sub.get("pushConfig") or {}
        endpoint = push.get("pushEndpoint") or ""
        if not endpoint or urlsplit(endpoint).netloc.lower() not in hosts:
            continue
        token = push.get("oidcToken") or {}
        # noWrapper is a message ({} when set without writeMetadata): its presence is what unwraps.
        no_wrapper = push.get("noWrapper")
        found.append(PushSubscription(name=sub.get("name", ""), topic=sub.get("topic", ""), push_endpoint=endpoint,
                                      service_account=token.get("serviceAccountEmail", ""),
                                      audience=token.get("audience", ""), no_wrapper=no_wrapper is not None,
                                      write_metadata=bool((no_wrapper or {}).get("writeMetadata"))))
    return sorted(found, key=lambda s: s.name)


@dataclass
class Revision(_RunsAnImage):
    """One revision of a phase's service, as `gcloud run revisions list` shows it; the same on every target."""

    name: str
    service: str
    labels: dict[str, str]
    commit_sha: str               # the `commit-sha` label (short id); "" when the revision has none
    commit_sha_full: str | None   # resolved in the source checkout (sandbox: always), else None
    image: str                    # the ingress container's (the one with ports), as deployed: by tag or by digest
    created: str                  # RFC 3339, UTC
    traffic_percent: int
    supports_prefix: bool | None  # does its commit include the phase's prefix_support_commit? None: cannot tell
    code_phase: str = ""          # whose code the image holds (sandbox-only knowledge; "" on gcp)
    ready: bool | None = None     # its Ready condition: True, False (it failed to start), None (not settled / unknown)
    # the traffic tags naming it (`--tag`): each gives it a URL of its own, https://TAG---<the service's host>, which
    # reaches it whatever share of the traffic it has, 0% included
    tags: list[str] = field(default_factory=list)
    # sha256:<hex> the image resolved to when the revision was made: Cloud Run's containerStatuses[].imageDigest of
    # the ingress container, whether the image was given by tag or by digest; the sandbox's, when its image names one.
    # "" when unknown.
    image_digest: str = ""


@dataclass
class Rollout(_Record):
    """How a deploy or a traffic change ended (Services.deploy / Services.update_traffic), the same on every target."""

    revision: str                 # the revision created (deploy) or now given the traffic (update_traffic)
    ready: bool                   # did that revision become ready (a timeout is not ready)
    message: str                  # one line: what Cloud Run said, e.g. why the revision is not ready
    traffic: dict[str, int] = field(default_factory=dict)   # revision -> percent once it settled
    notes: list[str] = field(default_factory=list)          # what else changed, e.g. "removed allUsers from run.invoker"
    tag_url: str = ""             # a deploy with a tag: the URL that reaches the new revision ("" until it is ready)


class RolloutInProgress(RunbookError):
    """Another deploy or traffic change of the service has not settled yet."""


class ServiceChanged(RunbookError):
    """A deploy or traffic change given the service's etag was refused: the service changed since that etag was
    read (Cloud Run answers 409 ABORTED), so whatever was checked against it no longer holds. Nothing changed."""

    @classmethod
    def since(cls, what: str, service: str, etag: str, said: str = "") -> "ServiceChanged":
        """The one sentence both targets say; `said`: the service's own words, when it gave any."""
        theirs = f"; Cloud Run: {said}" if said else ""
        return cls(f"{what} was refused: {service} changed since its etag {etag} was read (another deploy or traffic "
                   f"change got there first{theirs}); nothing was changed.")


def newest_revisions_first(revisions: Iterable[Revision]) -> list[Revision]:
    return sorted(revisions, key=lambda r: (parse_time(r.created or "1970-01-01T00:00:00Z"), r.name), reverse=True)


def failed_newest(revisions: Iterable[Revision]) -> str:
    """ServiceInfo.failed_revision from the revisions newest first: the newest when it is not ready and has no
    traffic, else ""."""
    newest = next(iter(revisions), None)
    return newest.name if newest is not None and newest.ready is False and not newest.traffic_percent else ""


@dataclass
class ServiceResponse:
    status: int
    body: dict
    # The response's headers, names lower-cased (e.g. "retry-after", which a 429/503 may carry).
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def to_dict(self) -> dict:
        return {"status": self.status, "body": self.body, "headers": dict(self.headers)}


class ConnectionDropped(RunbookError):
    """The service closed or reset the connection without an answer (its instance died or was replaced):
    like a timeout, the request may or may not have run, and it is worth repeating (on both targets)."""


def lower_headers(headers: Any) -> dict[str, str]:
    """A response's headers as {lower-cased name: value} (requests' and http.client's alike)."""
    return {str(k).lower(): str(v) for k, v in (headers.items() if hasattr(headers, "items") else headers or [])}
