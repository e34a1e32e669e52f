"""The Target contract: what every target's warehouse, builds, services and logs answer.

`connect("local")` (the sandbox, runbook_lib/local/) and `connect("gcp")` (the real client libraries,
runbook_lib/gcp/) both return a Target whose parts satisfy these Protocols, so a runbook never branches on
the target. tests/test_parity.py checks both targets against them (statically, by typed assignment, and
by running the same assertions on each).

Shared value types live beside the semantics they carry: ServiceInfo, Revision, ServiceResponse and
PushSubscription in runbook_lib/services.py, TableInfo, DatasetInfo and PartitionInfo here, LogSource in
runbook_lib/buildlogs.py; the naming rules and checks every warehouse shares in runbook_lib/warehouse.py.
Adapters may offer more than the contract (the sandbox can pretend a caller's IP); runbooks use only what
is written here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, Sequence

if TYPE_CHECKING:
    import pandas as pd

    from .buildlogs import LogSource
    from .images import TagDigest
    from .services import PushSubscription, Revision, Rollout, ServiceInfo, ServiceResponse

# How long a build or a rollout is awaited before the kit gives up waiting (it may still finish).
BUILD_TIMEOUT_S = 1200.0
ROLLOUT_TIMEOUT_S = 600.0
Progress = Callable[[str], None]   # told one line whenever a long-running operation's state changes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class TableInfo:
    """One warehouse table as `Warehouse.table_info` reports it (BigQuery's tables.get, on every target)."""

    dataset: str
    table: str
    columns: list[tuple[str, str]]  # (name, BigQuery type)
    num_rows: int
    partition_column: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    kind: str = "TABLE"  # TABLE or VIEW
    num_bytes: int | None = None            # logical bytes, as BigQuery bills a full scan
    last_modified: datetime | None = None
    partition_type: str | None = None       # DAY (a date or time column's day) or RANGE (an INT64 column's)
    clustering: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    # RANGE partitioning's (start, end, interval): partition ids are range starts, values outside
    # [start, end) go to __UNPARTITIONED__ (the sandbox without one: every integer its own partition)
    partition_range: tuple[int, int, int] | None = None

    @property
    def ref(self) -> str:
        return f"{self.dataset}.{self.table}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ref"] = self.ref
        d["columns"] = [list(c) for c in self.columns]
        for k in ("expires_at", "created_at", "last_modified"):
            d[k] = _iso(d[k])
        return d


@dataclass
class DatasetInfo:
    """One dataset as `Warehouse.dataset_info` reports it."""

    name: str
    location: str | None
    default_table_expiration_days: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    last_modified: datetime | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("created_at", "last_modified"):
            d[k] = _iso(d[k])
        return d


NULL_PARTITION = "__NULL__"                # rows whose partition column is NULL
UNPARTITIONED = "__UNPARTITIONED__"         # the streaming buffer, and days outside 1960-2159
FIRST_PARTITION_DAY, LAST_PARTITION_DAY = date(1960, 1, 1), date(2159, 12, 31)   # BigQuery's time-unit partitions


def partition_day(partition_id: str | None) -> date | None:
    """The day of a daily partition's id (YYYYMMDD), else None."""
    pid = partition_id or ""
    if len(pid) != 8 or not pid.isdigit():
        return None
    try:   # an integer-range partition's id can be eight digits that are no day ("20000000")
        return date(int(pid[:4]), int(pid[4:6]), int(pid[6:8]))
    except ValueError:
        return None


@dataclass
class PartitionInfo:
    """One partition of a table, from INFORMATION_SCHEMA.PARTITIONS (no table scan)."""

    partition_id: str | None    # "20240107" for a DATE partition, "__NULL__", None for an unpartitioned table
    total_rows: int
    total_logical_bytes: int | None = None
    last_modified: datetime | None = None

    @property
    def partition_date(self) -> date | None:
        """The day a daily partition holds, or None (the NULL partition, an unpartitioned table)."""
        return partition_day(self.partition_id)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["last_modified"] = _iso(d["last_modified"])
        d["partition_date"] = self.partition_date.isoformat() if self.partition_date else None
        return d


@dataclass(frozen=True)
class RepositoryCheck:
    """Artifact Registry's answer on one repository, read only (`Builds.check_repository`): whether it exists in
    the location, and when it does not, which repositories do (one list call)."""

    repository: str
    location: str
    exists: bool | None                 # None: it could not be checked (`note` says why and which role reads it)
    others: tuple[str, ...] = ()        # the repositories that exist in the location, when this one does not
    note: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "others": list(self.others)}


class Closeable(Protocol):
    def close(self) -> None:
        """Release what the adapter itself holds (never what the target shares with it)."""


class Warehouse(Closeable, Protocol):
    """BigQuery-dialect SQL and the catalogue of datasets and tables ("dataset.table" refs).

    Query results are DataFrames with the dtypes google-cloud-bigquery gives with db-dtypes (INT64 ->
    Int64, DATE -> dbdate of datetime.date, TIMESTAMP -> datetime64[us, UTC], NUMERIC -> Decimal; see
    runbook_lib.warehouse.frame_from_arrow). A batch of statements is atomic only inside BEGIN
    TRANSACTION ... COMMIT TRANSACTION (BigQuery's rule; the sandbox runs every call in one anyway).
    """

    def query(self, sql: str, params: dict | None = None) -> "pd.DataFrame":
        """Rows of one BigQuery-dialect statement (or a script's last); @name query parameters from `params`."""

    def execute(self, sql: str, params: dict | None = None) -> None:
        """Run statements (DDL, DML, scripts) for their effect."""

    def estimate_bytes(self, sql: str, params: dict | None = None) -> int:
        """Bytes the SQL would process (a BigQuery dry run: columns read, partitions pruned), without running it."""

    def list_datasets(self) -> list[str]: ...

    def list_tables(self, dataset: str) -> list[str]: ...

    def dataset_exists(self, name: str) -> bool: ...

    def table_exists(self, ref: str) -> bool: ...

    def table_info(self, ref: str) -> TableInfo: ...

    def dataset_info(self, name: str) -> DatasetInfo: ...

    def partitions(self, ref: str) -> list[PartitionInfo]:
        """Rows and last change per partition (INFORMATION_SCHEMA.PARTITIONS), oldest partition first."""

    def create_dataset(self, name: str, default_table_expiration_days: float | None = None,
                       exists_ok: bool = True, location: str | None = None,
                       labels: dict[str, str] | None = None) -> None:
        """A dataset carrying `labels` plus the kit's own label (runbook_lib.warehouse.KIT_LABELS)."""

    def create_table(self, ref: str, columns: Sequence[tuple[str, str]], partition_column: str | None = None,
                     exists_ok: bool = True, clustering: Sequence[str] | None = None) -> None: ...

    def create_table_like(self, source_ref: str, dest_ref: str, exists_ok: bool = True) -> None:
        """An empty table with the source's schema, partitioning and clustering (never autodetected)."""

    def drop_dataset(self, name: str, delete_contents: bool = False) -> None:
        """Drop a dataset the kit created (it carries the kit's label); any other is refused."""

    def row_hash_sql(self, columns: Sequence[str], types: Sequence[str] | None = None) -> str:
        """A BigQuery-dialect expression fingerprinting a row's `columns` (names or alias.name) with the
        engine's own vectorised hash: one integer per row, equal for equal values (NULLs included) and
        different otherwise but for a ~2^-64 chance. Compare fingerprints only with fingerprints made by
        the same warehouse, of columns of the same types. `types` (the columns' BigQuery types, when
        known) lets an engine whose hash loses the shape of nested values write those out first.
        BigQuery: FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(a, b, ...))), INT64; the sandbox: DuckDB's
        HASH(a, b, ...), UBIGINT (its FARM_FINGERPRINT and TO_JSON_STRING are Python UDFs), over the
        JSON text of ARRAY and STRUCT values (DuckDB hashes a NULL STRUCT as one of NULLs, a NULL ARRAY
        as [])."""


class Builds(Closeable, Protocol):
    """Cloud Build: builds as Cloud Build v1 REST JSON (camelCase dicts, enum names, defaults omitted)."""

    project: str
    region: str   # the region source deploys build in (the services' region)

    def build_name(self, build_id: str, region: str | None = None) -> str: ...

    def get(self, build_id: str, region: str | None = None) -> dict:
        """The build in `region` (default: the services' region); BuildNotFound names where to look."""

    def list(self, region: str | None = None, tags: str | Iterable[str] | None = None,
             status: str | None = None, limit: int = 20) -> list[dict]:
        """Builds in one region matching every tag and the status, newest first, at most `limit`."""

    def latest_failed(self, service: str, region: str | None = None) -> dict | None: ...

    def latest_successful(self, service: str, region: str | None = None) -> dict | None: ...

    def check_repository(self, repository: str, location: str | None = None) -> RepositoryCheck:
        """Does the Artifact Registry repository a build pushes to exist in `location` (default: the services'
        region)? Read only: Artifact Registry's repositories.get, and when it is not there, one list of those that
        are. A refusal to read (403) is exists=None with a note naming the role that reads it, not an error."""

    def tag_digest(self, image: str) -> "TagDigest":
        """The digest an image's tag points at now (Artifact Registry's packages.tags.get; the sandbox: its newest
        build that pushed the tag); a tag that cannot be read is TagDigest("", why), never an error."""

    def submit(self, config: dict, source_dir: str, region: str | None = None, timeout_s: float = BUILD_TIMEOUT_S,
               progress: Progress | None = None) -> dict:
        """`gcloud builds submit SOURCE_DIR --config=CONFIG --region=REGION`: the folder is uploaded as gcloud
        uploads it (its ignore rules), the build runs in `region` (default: the services' region) and is awaited
        until it ends; returns the final Build. OperationTimeout (naming the build) when it outlasts `timeout_s`."""


class Services(Closeable, Protocol):
    """Cloud Run services of the phases: what serves, its revisions, who may call it, and calling it."""

    def describe(self, phase: str) -> "ServiceInfo":
        """The service and the revision with most of its traffic; `serving` lists every revision with a share."""

    def traffic_now(self, phase: str) -> list[tuple[str, int]]:
        """(revision, percent) for each revision with a share of the traffic now, most first ([]: none), read as
        describe() reads it but from the service alone: for a check made before every call (the replay's)."""

    def list(self) -> list["ServiceInfo"]: ...

    def list_revisions(self, phase: str) -> list["Revision"]:
        """Revisions newest first by creation time (then by name)."""

    def iam_policy(self, phase: str) -> dict:
        """{"version", "bindings": [{"role", "members", "condition"?}], "etag"} (policy version 3)."""

    def project_iam_policy(self) -> dict:
        """The project's IAM policy, shaped as iam_policy() (version 3): roles granted there reach every service
        of the project. AccessDenied (runbook_lib.errors) when the caller may not read it
        (resourcemanager.projects.getIamPolicy). Read only; the folders' and organisation's are ancestor_iam_policy()."""

    def project_ancestors(self) -> list[str]:
        """The project's folders and organisation, nearest first (folders/N, organizations/N; [] for a project
        with no organisation). AccessDenied when the caller may not read them (resourcemanager.projects.get)."""

    def ancestor_iam_policy(self, resource: str) -> dict:
        """The IAM policy of one of project_ancestors(), shaped as iam_policy() (version 3): an invoke role granted
        there reaches every service below. AccessDenied when the caller may not read it
        (resourcemanager.folders.getIamPolicy, resourcemanager.organizations.getIamPolicy). Read only."""

    def push_subscriptions(self, phase: str) -> list["PushSubscription"]:
        """The project's Pub/Sub push subscriptions whose endpoint is the phase's service, by name;
        AccessDenied (runbook_lib.errors) when the caller may not list them (roles/pubsub.viewer)."""

    def identity_token(self, principal: str | None = None, phase: str | None = None) -> str:
        """An ID token to call `phase`'s service as `principal` (None: the operator's own credentials)."""

    def request(self, phase: str, method: str, path: str, body: dict | None = None, token: str | None = None,
                user_agent: str | None = None, remote_ip: str | None = None,
                headers: dict | None = None, timeout_s: float | None = None,
                tag: str | None = None) -> "ServiceResponse":
        """One HTTP request to the phase's service (its answer's headers kept, lower-cased). ServiceTimeout
        (runbook_lib.errors) when it gets no answer within timeout_s (None: the adapter's default, minutes);
        ConnectionDropped (runbook_lib.services) when the connection is dropped without an answer. Either
        way the service may have run it, so only an idempotent request is safe to repeat. tag: to the tag's URL,
        which reaches the revision the tag names whatever its share of the traffic (NotFoundError when no
        revision carries it)."""

    def invoke(self, phase: str, payload: dict, token: str | None = None, user_agent: str | None = None,
               remote_ip: str | None = None) -> "ServiceResponse":
        """POST the payload to the phase's own endpoint (/process-date-range or /process-date)."""

    def health(self, phase: str, token: str | None = None, timeout_s: float | None = None,
               tag: str | None = None) -> dict:
        """GET /health: {"http_status": code, **body} or {"http_status": code, "error": one line}; timeout_s
        and tag as for request()."""

    def deploy(self, phase: str, image: str, labels: dict[str, str] | None = None, env: dict[str, str] | None = None,
               timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
               remove_labels: tuple[str, ...] = (), remove_env: tuple[str, ...] = (),
               tag: str | None = None, etag: str | None = None) -> "Rollout":
        """`gcloud run deploy SERVICE --image=IMAGE --update-labels=... --update-env-vars=... --no-allow-unauthenticated`:
        a new revision of `image`; labels and environment variables are merged into the current ones, never
        replaced, less `remove_labels` and `remove_env` (`--remove-labels`, `--remove-env-vars`); allUsers loses run.invoker (nothing is ever made public). Awaited until the revision is ready
        or failed (ready=False, Cloud Run's reason) or `timeout_s` passed (ready=False). Traffic follows Cloud
        Run: a service routed to LATEST moves to the new revision, traffic pinned to a revision stays there.
        RolloutInProgress when another rollout of the service has not settled.

        With a tag, `--no-traffic --tag=TAG`: the new revision gets no traffic at all, only the tag (moved off
        any revision that had it), and the traffic stays where it goes, pinned by revision name (a LATEST
        target becomes the revision that was latest before the deploy, as gcloud's --no-traffic does, so the
        service no longer follows the latest revision). Rollout.tag_url is the tag's URL, where the revision
        can be checked before anyone else reaches it.

        With an etag (from etag()), the deploy is refused with ServiceChanged, nothing changed, unless the service
        is still as it was when that etag was read: two runs that both checked the service before either deployed
        cannot both deploy."""

    def scale_tag_to_zero(self, phase: str, tag: str) -> None:
        """Done with the tag's URL for now: what serves only it stops, as Cloud Run scales an idle revision to zero
        by itself (so on gcp nothing is sent); the sandbox stops the process it started for the tag. The tag stays,
        and a later request to its URL starts it again. A revision with a share of the traffic is not touched."""

    def follows_latest(self, phase: str) -> bool:
        """Does a share of the traffic go to whatever revision is latest (a LATEST target, `--to-latest`) rather
        than to named revisions only? A rollback pins named revisions, and runbook 02 says so when it does."""

    def update_traffic(self, phase: str, revision: str | dict[str, int] | None = None,
                       timeout_s: float = ROLLOUT_TIMEOUT_S, progress: Progress | None = None,
                       etag: str | None = None) -> "Rollout":
        """All traffic to one ready revision (`gcloud run services update-traffic --to-revisions=REV=100`), a
        split {revision: percent} adding up to 100 (`--to-revisions=A=90,B=10`; the sandbox, which serves one
        revision at a time, refuses a split of several), or with revision=None to the latest ready one from
        now on (`--to-latest`). Tags stay as they are, as gcloud leaves them. etag: as for deploy()."""

    def etag(self, phase: str) -> str:
        """The service's fingerprint now (Cloud Run's Service.etag): it changes with every deploy, traffic or tag
        change and as a rollout settles, not with IAM. Handed to deploy() or update_traffic(), it makes the change
        conditional on the service being as it was read."""

    def rollout_in_progress(self, phase: str) -> str | None:
        """One sentence naming the rollout of the service that has not settled yet, else None."""


class Logs(Closeable, Protocol):
    """Cloud Run request logs and the places a build's log can be read from."""

    def request_logs(self, service: str | None = None, since: Any = None, until: Any = None, status: Any = None,
                     limit: int | None = None) -> list[dict]:
        """LogEntry dicts of resource.type="cloud_run_revision", newest first (runbook_lib.services)."""

    def iter_request_logs(self, service: str | None = None, since: Any = None, until: Any = None,
                          status: Any = None) -> Iterator[dict]:
        """request_logs' entries one at a time, in no promised order, never held together: runbook 05's load of
        a whole window (audit/tried.py; the sandbox's request_log_file is loaded into DuckDB where it is).
        The arguments are checked when it is called, before any read."""

    def build_log_sources(self) -> list["LogSource"]:
        """The build-log chain's sources in the order to try them (bucket, then Cloud Logging)."""

