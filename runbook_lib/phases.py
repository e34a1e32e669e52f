"""The phase registry, loaded from params/phases.yaml and validated strictly."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .checks import read_yaml
from .errors import ConfigError, ParameterError
from .formats import PROJECT_ID, PROJECT_NUMBER, REGION, SERVICE_ACCOUNT_EMAIL, SERVICE_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PHASES_FILE = PROJECT_ROOT / "params" / "phases.yaml"
PHASES_ENV = "RUNBOOK_PHASES"

PAYLOAD_STYLES = ("date_range", "single_date")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")
# An Artifact Registry repository id: lowercase letters, digits and hyphens, starting with a letter, at most 63.
REPOSITORY = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
REPOSITORY_ALLOWED = ("give an Artifact Registry repository id (lowercase letters, digits and hyphens, starting with "
                      "a letter and not ending with a hyphen, at most 63)")
DEFAULT_REPOSITORY = "cloud-run-source-deploy"   # the repository `gcloud run deploy --source` pushes to


def check_repository_id(repository: object, parameter: str = "repository") -> str:
    """An Artifact Registry repository id (REPOSITORY), or ParameterError: both targets' check_repository."""
    if not isinstance(repository, str) or not REPOSITORY.fullmatch(repository):
        raise ParameterError(parameter, repository, REPOSITORY_ALLOWED)
    return repository


@dataclass(frozen=True)
class OutputTable:
    dataset: str
    table: str
    keys: tuple[str, ...]
    partition_column: str

    @property
    def ref(self) -> str:
        return f"{self.dataset}.{self.table}"

    def test_ref(self, dataset_prefix: str) -> str:
        """This table in the test dataset a replay under `dataset_prefix` writes."""
        return f"{prefixed_dataset(self.dataset, dataset_prefix)}.{self.table}"


@dataclass(frozen=True)
class Phase:
    name: str
    number: int
    title: str
    service: str
    service_identity: str
    dockerfile: str
    deploy_script: str
    endpoint: str
    payload_style: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    prefix_support_commit: str
    tables: tuple[OutputTable, ...]
    region: str
    # Service accounts that are meant to call the service (Pub/Sub push, Cloud Scheduler): anyone else
    # holding roles/run.invoker on it is a finding of the security audit.
    expected_invokers: tuple[str, ...] = ()

    def table(self, ref: str) -> OutputTable:
        for t in self.tables:
            if t.ref == ref or t.table == ref:
                return t
        allowed = ", ".join(t.ref for t in self.tables)
        raise ParameterError("table", ref, f"{self.name} writes only {allowed}")


@dataclass(frozen=True)
class PhaseRegistry:
    project: str
    project_number: str
    region: str
    run_history_table: str
    phases: dict[str, Phase] = field(default_factory=dict)
    source: str = ""
    # Columns stamped per run (processed_at, ...): never a difference of computation.
    bookkeeping_columns: tuple[str, ...] = ()
    repository: str = DEFAULT_REPOSITORY   # the Artifact Registry repository images are pushed to

    def get(self, name: str) -> Phase:
        key = str(name).strip().lower()
        if key.isdigit():
            key = f"phase{key}"
        if key not in self.phases:
            allowed = ", ".join(sorted(self.phases))
            raise ParameterError("phase", name, f"choose one of {allowed}")
        return self.phases[key]

    def by_service(self, service: str) -> Phase:
        for p in self.phases.values():
            if p.service == service:
                return p
        allowed = ", ".join(p.service for p in self.phases.values())
        raise ParameterError("service", service, f"choose one of {allowed}")

    def names(self) -> list[str]:
        return sorted(self.phases, key=lambda n: self.phases[n].number)

    def all_tables(self) -> list[OutputTable]:
        return [t for n in self.names() for t in self.phases[n].tables]


def _need(mapping: dict, key: str, where: str, source: str, kind=str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise ConfigError(f"{source}: {where} is missing the required key '{key}'.")
    value = mapping[key]
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}: {where}.{key} must be a list of names, got {value!r}.")
        return value
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{source}: {where}.{key} must be a whole number, got {value!r}.")
        return value
    if kind is dict:
        if not isinstance(value, dict) or not value:
            raise ConfigError(f"{source}: {where}.{key} must be a non-empty mapping.")
        return value
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise ConfigError(f"{source}: {where}.{key} must be a non-empty text value, got {value!r}.")
    return str(value)


def _check(ok: bool, source: str, where: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: {where} {message}.")


def parse_phases(doc: object, source: str = "phases.yaml") -> PhaseRegistry:
    """Validate a parsed phases document; every problem names the file and the key."""
    _check(isinstance(doc, dict), source, "the document", "must be a mapping with project, region and phases")
    # project and regions are printed in gcloud commands (--project=, --region=): checked as Google names them.
    project = _need(doc, "project", "the document", source)
    _check(bool(PROJECT_ID.fullmatch(project) or PROJECT_NUMBER.fullmatch(project)), source, "project",
           "must be a Google Cloud project id (6-30 lowercase letters, digits or hyphens, starting with a letter "
           "and not ending with a hyphen)")
    region = _need(doc, "region", "the document", source)
    _check(bool(REGION.fullmatch(region)), source, "region", "must be a Google Cloud region such as us-west2")
    project_number = str(doc.get("project_number", ""))
    _check(not project_number or bool(PROJECT_NUMBER.fullmatch(project_number)), source, "project_number",
           "must be a project number (digits), or left out")
    run_history = _need(doc, "run_history_table", "the document", source)
    _check(run_history.count(".") == 1 and all(_DATASET.match(part) for part in run_history.split(".")), source,
           "run_history_table", "must be written dataset.table")
    bookkeeping = _need(doc, "bookkeeping_columns", "the document", source, list) if "bookkeeping_columns" in doc else []
    for column in bookkeeping:
        _check(bool(_COLUMN.match(column)), source, f"bookkeeping_columns entry {column!r}", "must be a column name")
    raw_phases = _need(doc, "phases", "the document", source, dict)
    phases: dict[str, Phase] = {}
    repository = str(doc.get("repository", DEFAULT_REPOSITORY))
    _check(bool(REPOSITORY.fullmatch(repository)), source, "repository",
           "must be an Artifact Registry repository id (lowercase letters, digits and hyphens, starting with a "
           "letter and not ending with a hyphen, at most 63)")
    allowed_top = {"project", "project_number", "region", "run_history_table", "phases", "repository", "bookkeeping_columns"}
    extra = set(doc) - allowed_top
    _check(not extra, source, f"top-level key(s) {sorted(extra)}", f"are unknown; allowed: {sorted(allowed_top)}")
    for name, spec in raw_phases.items():
        where = f"phases.{name}"
        _check(isinstance(name, str) and bool(_NAME.match(name)), source, where, "must be a lowercase name such as phase3")
        _check(isinstance(spec, dict), source, where, "must be a mapping")
        service = _need(spec, "service", where, source)
        _check(bool(SERVICE_NAME.fullmatch(service)), source, f"{where}.service",
               "must be a Cloud Run service name (lowercase letters, digits and hyphens, at most 63)")
        payload_style = _need(spec, "payload_style", where, source)
        _check(payload_style in PAYLOAD_STYLES, source, f"{where}.payload_style", f"must be one of {', '.join(PAYLOAD_STYLES)}")
        endpoint = _need(spec, "endpoint", where, source)
        _check(endpoint.startswith("/"), source, f"{where}.endpoint", "must start with /")
        raw_commit = spec.get("prefix_support_commit") if isinstance(spec, dict) else None
        # YAML reads an unquoted 5e12345 as a float and 0123456 as a number: a commit id must be quoted text.
        _check(raw_commit is None or isinstance(raw_commit, str), source, f"{where}.prefix_support_commit",
               f"must be a git commit id written in quotes (YAML read {raw_commit!r} as a number)")
        commit = _need(spec, "prefix_support_commit", where, source)
        _check(bool(_SHA.match(commit)), source, f"{where}.prefix_support_commit", "must be a git commit id (7 to 40 hex digits)")
        reads = _need(spec, "reads", where, source, list)
        writes = _need(spec, "writes", where, source, list)
        for ds in reads + writes:
            _check(bool(_DATASET.match(ds)), source, f"{where} dataset {ds!r}", "must be a BigQuery dataset name")
        tables = []
        for ref, tspec in _need(spec, "tables", where, source, dict).items():
            twhere = f"{where}.tables.{ref}"
            _check(isinstance(ref, str) and ref.count(".") == 1, source, twhere, "must be named dataset.table")
            dataset, table = ref.split(".")
            _check(dataset in writes, source, twhere, f"is in dataset {dataset!r}, which {where}.writes does not list")
            keys = _need(tspec, "keys", twhere, source, list)
            _check(len(keys) >= 1, source, f"{twhere}.keys", "must list at least one column")
            partition = _need(tspec, "partition_column", twhere, source)
            _check(partition == keys[0], source, f"{twhere}.partition_column", "must be the first merge key")
            tables.append(OutputTable(dataset, table, tuple(keys), partition))
        phase_region = _need(spec, "region", where, source) if "region" in spec else region
        _check(bool(REGION.fullmatch(phase_region)), source, f"{where}.region",
               "must be a Google Cloud region such as us-west2")
        invokers = _need(spec, "expected_invokers", where, source, list) if "expected_invokers" in spec else []
        for email in invokers:
            _check(bool(SERVICE_ACCOUNT_EMAIL.fullmatch(email)), source, f"{where}.expected_invokers entry {email!r}",
                   "must be a service-account email such as pubsub-push@my-project.iam.gserviceaccount.com")
        # One Cloud Run service is one phase's code: a second phase on it would have its /health judged wrong
        # and its Dockerfile deployed into the other's service.
        shared = next((other.name for other in phases.values()
                       if other.service == service and other.region == phase_region), None)
        _check(shared is None, source, f"{where}.service", f"names {service} in {phase_region}, which phases.{shared} "
               "already runs on; each phase has a Cloud Run service of its own")
        known = {"number", "title", "service", "service_identity", "dockerfile", "deploy_script", "endpoint",
                 "payload_style", "reads", "writes", "prefix_support_commit", "tables", "region", "expected_invokers"}
        extra = set(spec) - known
        _check(not extra, source, f"{where} key(s) {sorted(extra)}", f"are unknown; allowed: {sorted(known)}")
        phases[name] = Phase(
            name=name,
            number=_need(spec, "number", where, source, int),
            title=_need(spec, "title", where, source),
            service=service,
            service_identity=str(spec.get("service_identity", service)),
            dockerfile=_need(spec, "dockerfile", where, source),
            deploy_script=str(spec.get("deploy_script", "")),
            endpoint=endpoint,
            payload_style=payload_style,
            reads=tuple(reads),
            writes=tuple(writes),
            prefix_support_commit=commit,
            tables=tuple(tables),
            region=phase_region,
            expected_invokers=tuple(invokers),
        )
    return PhaseRegistry(project=project, project_number=project_number, region=region,
                         run_history_table=run_history, phases=phases, source=source, repository=repository,
                         bookkeeping_columns=tuple(bookkeeping))


def default_phases_file() -> Path:
    """$RUNBOOK_PHASES, else the checkout's params/phases.yaml, else ./params/phases.yaml (an installed
    kit, such as the Docker image, has no checkout around its package)."""
    if os.environ.get(PHASES_ENV):
        return Path(os.environ[PHASES_ENV]).expanduser()
    if DEFAULT_PHASES_FILE.is_file():
        return DEFAULT_PHASES_FILE
    return Path.cwd() / "params" / "phases.yaml"


def load_phases(path: str | Path | None = None) -> PhaseRegistry:
    """Load the registry from `path` (default: default_phases_file()).

    Parsed once per file version: parameter checks, processors and services ask for it on every call."""
    p = Path(path) if path else default_phases_file()
    try:
        stamp = p.stat().st_mtime_ns
    except OSError:
        stamp = None  # read_yaml below names the missing file
    return _load_phases(str(p.resolve()) if stamp is not None else str(p), stamp)


@lru_cache(maxsize=16)
def _load_phases(path: str, stamp: int | None) -> PhaseRegistry:
    return parse_phases(read_yaml(path, "phases_file", "phases.yaml"), source=path)


def prefixed_dataset(dataset: str, dataset_prefix: str) -> str:
    """The dataset a prefixed run writes to, exactly as upstream builds it.

    Upstream always joins with an underscore: "test" -> test_nba_analytics, and the older
    scripts' "test_" -> test__nba_analytics. An empty prefix means production.
    """
    return f"{dataset_prefix}_{dataset}" if dataset_prefix else dataset


TEST_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}")
TEST_PREFIX_RULE = "lower-case letters and digits, starting with a letter, at most 16 characters, such as 'test'"


def production_datasets(phases: PhaseRegistry) -> list[str]:
    """Every dataset a phase reads or writes, and the run-history table's."""
    names = {phases.run_history_table.split(".")[0]}
    for phase in phases.phases.values():
        names.update(phase.reads + phase.writes)
    return sorted(names)


def check_test_prefix(value: object, phases: PhaseRegistry, parameter: str = "dataset_prefix") -> str:
    """A dataset_prefix whose datasets can only ever be test datasets, or one ParameterError sentence.

    Never empty (upstream reads an empty prefix as production); never ending in "_" (upstream adds the
    underscore itself, so "test_" writes test__nba_analytics); never a production dataset's name or the
    start of one, nor one that turns a production dataset into another.
    """
    if not isinstance(value, str):
        raise ParameterError(parameter, value, f"give text: {TEST_PREFIX_RULE}")
    production = production_datasets(phases)
    example = "nba_analytics" if "nba_analytics" in production else production[0]
    if value == "":
        raise ParameterError(parameter, value, f"upstream reads an empty prefix as production, so the run would "
                                               f"write {example} itself; give a test prefix such as 'test'")
    if value.endswith("_"):
        fixed = value.rstrip("_")
        raise ParameterError(parameter, value, f"upstream adds the underscore itself, so {value!r} writes "
                                               f"{prefixed_dataset(example, value)} (two underscores), a dataset "
                                               f"nothing else reads; give {fixed or 'test'!r}")
    if not TEST_PREFIX.fullmatch(value):
        raise ParameterError(parameter, value, f"give {TEST_PREFIX_RULE}")
    for dataset in production:
        if dataset.startswith(value):
            raise ParameterError(parameter, value, f"it is {'the name' if dataset == value else 'the start'} of "
                                                   f"production dataset {dataset}; choose a prefix such as 'test'")
        if prefixed_dataset(dataset, value) in production:
            raise ParameterError(parameter, value, f"it would make {dataset} into production dataset "
                                                   f"{prefixed_dataset(dataset, value)}; choose a prefix such as 'test'")
    return value
