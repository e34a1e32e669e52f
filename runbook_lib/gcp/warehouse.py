"""The warehouse on target=gcp: BigQuery through google-cloud-bigquery (REST), behind the Warehouse Protocol.

Every query job carries the kit's labels (`runbook=<name>`, `created-by=phase-runbooks`), runs in the
target's BigQuery location when one is set, and is capped by `maximum_bytes_billed`, so a runbook
cannot scan a production table by accident; `estimate_bytes` is the dry run a runbook shows first.
Every call follows the call policy of every Google API (gcp/calls.py CallPolicy: one request's timeout,
one call's deadline with its backoff): reads, the wait for a job and a job that failed for a limit or
a transient reason (run again, as a new job) are retried over the policy's transient faults and
BigQuery's own (bigquery_errors.retry_policy), a query within one deadline; a write only where a repeat
is harmless. A failure becomes one sentence naming what to do: BigQuery's reasons from
runbook_lib/gcp/bigquery_errors.py, no answer, a lost connection or a service still unavailable in the
call policy's words. Large results come through the BigQuery Storage Read API when
google-cloud-bigquery-storage is installed and the endpoint is Google's, by REST pages otherwise; either
way they become the same DataFrame as on the sandbox
(runbook_lib.warehouse.frame_from_arrow).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import time
from typing import Any, Callable, Sequence

import pandas as pd
from google.api_core import exceptions
from google.api_core import retry as retries
from google.cloud import bigquery

from ..errors import NotFoundError, ParameterError
from ..protocols import DatasetInfo, PartitionInfo, TableInfo
from ..warehouse import (
    DEFAULT_LOCATION,
    KIT_LABELS,
    carries_kit_label,
    not_the_kits,
    PARTITIONS_SQL,
    check_columns,
    check_dataset_name,
    check_expiration_days,
    check_label_value,
    check_labels,
    check_location,
    check_params,
    check_sql,
    frame_from_arrow,
    hashed_columns,
    missing_params,
    partition_infos,
    split_ref,
)
from .bigquery_errors import explain, is_retryable, retry_policy
from .calls import CallSite, cloud_error, is_transient, site_of
from .refusals import reason_of
from .bigquery_schema import columns_of, query_parameters, schema_field

# A runaway query against production costs money: refuse to bill more than this unless told otherwise.
DEFAULT_MAXIMUM_BYTES_BILLED = 100 * 1024 ** 3
_DAY_MS = 24 * 60 * 60 * 1000


def storage_api_installed() -> bool:
    """Whether the BigQuery Storage Read API client (google-cloud-bigquery-storage) can be imported."""
    return importlib.util.find_spec("google.cloud.bigquery_storage_v1") is not None


def transport_fault(exc: BaseException) -> bool:
    """A transient fault that names no BigQuery reason (a reset or refused connection, a proxy's 502 or 503):
    the only fault retried in place while waiting for a job. BigQuery answers a failed job's getQueryResults
    with the job's own error (rateLimitExceeded, backendError ...), in the words of a refused call, so only
    jobs.get can tell whether it was the call or the job (GcpWarehouse._wait)."""
    return is_transient(exc) and not (isinstance(exc, exceptions.GoogleAPICallError) and reason_of(exc))


def check_maximum_bytes_billed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError("maximum_bytes_billed", value, "give a whole number of bytes greater than 0, "
                                                            "e.g. 10 * 1024 ** 3 for 10 GiB")
    return value


@dataclasses.dataclass(frozen=True)
class SqlNames:
    """What a query's SQL text names, from one parse: the @parameters it uses (None when it cannot be parsed
    here: BigQuery will say why) and the (project, dataset) of each dataset it names (tables,
    INFORMATION_SCHEMA views, DDL targets), the target's project where it names none, never a region
    qualifier (`region-us`)."""

    parameters: frozenset[str] | None
    datasets: tuple[tuple[str, str], ...] = ()


# A query's dry run (its estimate) and its run each ask, with the same text: parsed once (a big statement: ~70 ms).
@functools.lru_cache(maxsize=128)
def sql_names(sql: str, project: str) -> SqlNames:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    except SqlglotError:
        return SqlNames(None)
    named = ((t.catalog or project, t.db) for tree in trees for t in tree.find_all(exp.Table))
    return SqlNames(frozenset(p.name for tree in trees for p in tree.find_all(exp.Parameter)),
                    tuple(dict.fromkeys((p, d) for p, d in named if d and not d.lower().startswith("region-"))))


def datasets_named(sql: str, project: str) -> list[tuple[str, str]]:
    """(project, dataset) of each dataset a BigQuery SQL text names (SqlNames.datasets)."""
    return list(sql_names(sql, project).datasets)


class GcpWarehouse:
    """BigQuery datasets of one project; `client` is a google.cloud.bigquery.Client (or a lazy stand-in)."""

    def __init__(self, project: str, client: Any, location: str | None = None,
                 maximum_bytes_billed: int = DEFAULT_MAXIMUM_BYTES_BILLED, runbook: str | None = None,
                 use_storage_api: bool | None = None):
        self.project = project
        self.client = client
        self.location = check_location(location)
        self.maximum_bytes_billed = check_maximum_bytes_billed(maximum_bytes_billed)
        self.job_labels = {"runbook": check_label_value("runbook", "interactive" if runbook is None else runbook), **KIT_LABELS}
        self.use_storage_api = storage_api_installed() if use_storage_api is None else use_storage_api
        self._locations: dict[tuple[str, str], str] = {}   # (project, dataset) -> its location, read once

    def __repr__(self) -> str:
        return f"GcpWarehouse(project={self.project!r}, location={self.location!r})"

    def close(self) -> None:
        """Nothing of its own: the BigQuery client belongs to the target, which closes it."""

    # ------------------------------------------------------------------------------------------------
    # calling BigQuery

    @property
    def site(self) -> CallSite:
        """BigQuery's endpoint and the call policy its client follows (the client's own when connect() built
        it, else the environment's); BigQuery's refusals are said here, with the dataset and role."""
        return dataclasses.replace(site_of(self.client, "bigquery", self.project), refusals=False)

    @property
    def retry(self) -> retries.Retry:
        """What every call that may be sent again is given instead of the client's own retry (10 minutes
        by default): the call policy's, with BigQuery's transient reasons."""
        return retry_policy(self.site.policy)

    def _do(self, fn: Callable[[], Any], doing: str, kind: str = "read", dataset: str | None = None,
            sql: str | None = None, params: dict | None = None) -> Any:
        """fn(), whose calls carry their retry; a failure becomes the kit's sentence (_explained)."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - _explained() passes on what is neither BigQuery's nor the policy's
            said = self._explained(exc, doing, dataset, kind, sql, params)
            if said is exc:
                raise
            raise said from None

    def _explained(self, exc: BaseException, doing: str, dataset: str | None, kind: str = "read",
                   sql: str | None = None, params: dict | None = None) -> BaseException:
        """BigQuery's reason as a sentence (bigquery_errors.explain), else the call policy's for no answer, a
        lost connection or a service still unavailable at the deadline (what the client wrapper said already
        for its own calls, and says here for a job's polling and results), else `exc` itself."""
        site = self.site
        estimate = (lambda: self._dry_run_bytes(sql, params)) if sql is not None else None
        said = explain(exc, doing, self.project, kind=kind, dataset=dataset, not_found=self._not_found,
                       limit=self.maximum_bytes_billed, estimate=estimate, retry_seconds=site.policy.deadline_s,
                       located=lambda name: self._dataset_location(self.project, name),
                       spread=(lambda: self._spread(sql)) if sql is not None else None)
        return (cloud_error(exc, site, doing) or exc) if said is exc else said

    def _not_found(self, dataset: str | None, table: str | None, message: str) -> NotFoundError:
        if dataset and table:
            try:
                names = sorted(t.table_id for t in self.client.list_tables(f"{self.project}.{dataset}",
                                                                           retry=self.retry))
            except exceptions.NotFound:
                return self._not_found(dataset, None, message)
            except Exception:  # noqa: BLE001 - the sentence is still right without the listing
                names = None
            listed = f"; tables in {dataset}: {', '.join(names) or 'none'}" if names is not None else ""
            return NotFoundError(f"Table {dataset}.{table} was not found in project {self.project}{listed}.")
        if dataset:
            try:
                names = self.list_datasets()
            except Exception:  # noqa: BLE001 - the sentence is still right without the listing
                names = None
            listed = f"; datasets: {', '.join(names) or 'none'}" if names is not None else ""
            return NotFoundError(f"Dataset {dataset} was not found in project {self.project}{listed}.")
        return NotFoundError(f"BigQuery found nothing in project {self.project}: {message}.")

    def _job_config(self, names: SqlNames, params: dict | None, dry_run: bool = False) -> bigquery.QueryJobConfig:
        params = check_params(params)
        used = names.parameters
        if used is not None:
            missing_params(used, params)
            params = {k: v for k, v in params.items() if k in used}
        return bigquery.QueryJobConfig(
            query_parameters=query_parameters(params), labels=dict(self.job_labels),
            maximum_bytes_billed=self.maximum_bytes_billed, dry_run=dry_run,
            use_query_cache=not dry_run,   # a cached answer would estimate 0 bytes
            use_legacy_sql=False)

    def _submit(self, sql: str, config: bigquery.QueryJobConfig, location: str | None) -> bigquery.QueryJob:
        return self.client.query(sql, job_config=config, location=location, retry=self.retry, job_retry=None)

    def _job_location(self, names: SqlNames) -> str | None:
        """Where a query job runs. BigQuery runs a job only in the location of the datasets it names, and
        refuses one given another (a 404 that reads like a missing dataset), so a job whose datasets share
        one location runs there, whatever bigquery_location says: the pin is for jobs that name no dataset
        (and for new datasets). Unpinned, BigQuery finds the datasets' location itself."""
        if self.location is None:
            return None
        found = {self._dataset_location(project, dataset) for project, dataset in names.datasets}
        found.discard(None)
        return found.pop() if len(found) == 1 else self.location

    def _dataset_location(self, project: str, dataset: str) -> str | None:
        """A dataset's location (datasets.get, once per dataset), or None when it cannot be read (missing,
        refused): the query then says what is wrong in its own words."""
        key = (project, dataset)
        if key not in self._locations:
            try:
                found = self.client.get_dataset(f"{project}.{dataset}", retry=self.retry).location
            except exceptions.GoogleAPIError:
                return None
            if not found:
                return None
            self._locations[key] = check_location(found) or found
        return self._locations[key]

    def _spread(self, sql: str) -> dict[str, str]:
        """Where each dataset the query names is (those that can be read)."""
        places = {dataset if project == self.project else f"{project}.{dataset}":
                  self._dataset_location(project, dataset) for project, dataset in sql_names(sql, self.project).datasets}
        return {name: place for name, place in places.items() if place}

    def _sql_names(self, sql: str) -> SqlNames:
        """The query's SQL parsed once, for its parameters and the location of its datasets."""
        return sql_names(check_sql(sql), self.project)

    def _run(self, sql: str, params: dict | None, doing: str, kind: str) -> Any:
        names = self._sql_names(sql)
        config, retry, location = self._job_config(names, params), self.retry, self._job_location(names)
        deadline = time.monotonic() + self.site.policy.deadline_s

        def run():
            # The insert (its job id is the client's, so a repeat finds the same job) and the wait are retried
            # inside; the client's own job restarts (job_retry) would go on for 10 minutes, so this retry runs
            # the query again, as a new job, when the job failed for a limit or a transient reason (a failed job
            # changed nothing). What gave up inside (RetryError, CloudUnreachable) is not retried again.
            return self._wait(self._submit(sql, config, location), retry, deadline)

        return self._do(retry(run), doing, kind=kind, sql=sql, params=params)

    def _wait(self, job: bigquery.QueryJob, retry: retries.Retry, deadline: float) -> Any:
        """The job's rows once it is done, or its failure. While it runs only a transport fault is retried in
        place: an error BigQuery names (getQueryResults answers a failed job's own) sends the kit to jobs.get,
        which is authoritative: a job DONE with an errorResult raises that, for the caller's retry to run the
        query again or not by its reason; otherwise the call failed, not the job, and the wait goes on. Each
        wait gets what is left of the call's `deadline`, so a job run again is still within it."""
        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        def failed() -> bool:
            return job.state == "DONE" and job.error_result is not None

        def wait() -> None:
            try:
                job.result(retry=self.site.policy.retry(transport_fault).with_timeout(left()), job_retry=None)
            except exceptions.GoogleAPICallError:
                if job.state != "DONE":
                    job.reload(retry=retry.with_timeout(left()))
                if failed():
                    raise job.exception() from None
                raise

        retry.with_predicate(lambda exc: is_retryable(exc) and not failed()).with_timeout(left())(wait)()
        # Done: no call is sent again, and the pages of its results are read with the full retry.
        return job.result(retry=retry, job_retry=None)

    def _dry_run_bytes(self, sql: str, params: dict | None) -> int | None:
        names = self._sql_names(sql)
        config = self._job_config(names, params, dry_run=True)
        try:
            job = self._submit(sql, config, self._job_location(names))
        except exceptions.GoogleAPIError:
            return None
        return int(job.total_bytes_processed or 0)

    def row_hash_sql(self, columns: Sequence[str], types: Sequence[str] | None = None) -> str:
        """FARM_FINGERPRINT of the columns as one JSON value (NULLs, nested values and types included):
        BigQuery's own vectorised fingerprint, an INT64 per row. TO_JSON_STRING writes a SQL NULL and a
        JSON null alike, so JSON columns (by `types`) go in as their text, NULL staying NULL."""
        fields = [f"IF({q} IS NULL, NULL, TO_JSON_STRING({q})) AS {q.rpartition('.')[2]}" if kind == "JSON" else q
                  for q, kind in hashed_columns(columns, types)]
        return f"FARM_FINGERPRINT(TO_JSON_STRING(STRUCT({', '.join(fields)})))"

    # ------------------------------------------------------------------------------------------------
    # SQL

    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        rows = self._run(sql, params, "the query", kind="job")
        if not rows.schema:
            return pd.DataFrame()   # DDL and DML return no rows
        # Pages are fetched with the retry given to result(); a half-read iterator cannot start again.
        table = self._do(lambda: rows.to_arrow(create_bqstorage_client=self.use_storage_api),
                         "reading the query's results")
        return frame_from_arrow(table)

    def execute(self, sql: str, params: dict | None = None) -> None:
        self._run(sql, params, "the statements", kind="write")

    def estimate_bytes(self, sql: str, params: dict | None = None) -> int:
        names = self._sql_names(sql)
        config, location = self._job_config(names, params, dry_run=True), self._job_location(names)
        job = self._do(lambda: self._submit(sql, config, location), "the dry run of the query", kind="job")
        return int(job.total_bytes_processed or 0)

    # ------------------------------------------------------------------------------------------------
    # catalogue

    def list_datasets(self) -> list[str]:
        found = self._do(lambda: list(self.client.list_datasets(self.project, retry=self.retry)),
                         "listing datasets")
        return sorted(d.dataset_id for d in found)

    def list_tables(self, dataset: str) -> list[str]:
        check_dataset_name(dataset)
        found = self._do(lambda: list(self.client.list_tables(f"{self.project}.{dataset}", retry=self.retry)),
                         f"listing the tables of dataset {dataset}", dataset=dataset)
        return sorted(t.table_id for t in found)

    def dataset_exists(self, name: str) -> bool:
        check_dataset_name(name)
        try:
            self.client.get_dataset(f"{self.project}.{name}", retry=self.retry)
        except exceptions.NotFound:
            return False
        except Exception as exc:  # noqa: BLE001
            raise self._explained(exc, f"reading dataset {name}", name)
        return True

    def table_exists(self, ref: str) -> bool:
        parsed = split_ref(ref)
        try:
            self.client.get_table(self._table_id(parsed), retry=self.retry)
        except exceptions.NotFound:
            return False
        except Exception as exc:  # noqa: BLE001
            raise self._explained(exc, f"reading table {parsed.ref}", parsed.dataset)
        return True

    def _table_id(self, parsed) -> str:
        return f"{parsed.project or self.project}.{parsed.dataset}.{parsed.table}"

    def _get_table(self, ref: str, parameter: str = "table_ref") -> bigquery.Table:
        parsed = split_ref(ref, parameter)
        return self._do(lambda: self.client.get_table(self._table_id(parsed), retry=self.retry),
                        f"reading table {parsed.ref}", dataset=parsed.dataset)

    def table_info(self, ref: str) -> TableInfo:
        t = self._get_table(ref)
        partitioning, ranged = t.time_partitioning, t.range_partitioning
        if partitioning:
            partition, kind, bounds = partitioning.field or "_PARTITIONTIME", partitioning.type_, None
        elif ranged:
            r = ranged.range_
            known = r is not None and None not in (r.start, r.end, r.interval)
            partition, kind = ranged.field, "RANGE"
            bounds = (int(r.start), int(r.end), int(r.interval)) if known else None
        else:
            partition, kind, bounds = None, None, None
        return TableInfo(
            dataset=t.dataset_id, table=t.table_id, columns=columns_of(t.schema), num_rows=int(t.num_rows or 0),
            partition_column=partition,
            expires_at=t.expires, created_at=t.created, kind="VIEW" if t.table_type == "VIEW" else "TABLE",
            num_bytes=int(t.num_bytes) if t.num_bytes is not None else None, last_modified=t.modified,
            partition_type=kind, partition_range=bounds,
            clustering=list(t.clustering_fields or []), labels=dict(t.labels or {}))

    def dataset_info(self, name: str) -> DatasetInfo:
        check_dataset_name(name)
        ds = self._do(lambda: self.client.get_dataset(f"{self.project}.{name}", retry=self.retry),
                      f"reading dataset {name}", dataset=name)
        ms = ds.default_table_expiration_ms
        return DatasetInfo(name=ds.dataset_id, location=ds.location,
                           default_table_expiration_days=ms / _DAY_MS if ms else None,
                           labels=dict(ds.labels or {}), created_at=ds.created, last_modified=ds.modified)

    def partitions(self, ref: str) -> list[PartitionInfo]:
        t = self._get_table(ref)
        sql = PARTITIONS_SQL.format(project=t.project, dataset=t.dataset_id)
        return partition_infos(self.query(sql, {"table_name": t.table_id}))

    # ------------------------------------------------------------------------------------------------
    # changes

    def create_dataset(self, name: str, default_table_expiration_days: float | None = None,
                       exists_ok: bool = True, location: str | None = None,
                       labels: dict[str, str] | None = None) -> None:
        check_dataset_name(name)
        days = check_expiration_days(default_table_expiration_days)
        dataset = bigquery.Dataset(f"{self.project}.{name}")
        dataset.location = check_location(location) or self.location or DEFAULT_LOCATION
        dataset.labels = check_labels(labels)
        if days is not None:
            dataset.default_table_expiration_ms = int(round(days * _DAY_MS))
        try:
            # Retried only where a repeat is harmless: a create that landed before a 503 is then a Conflict.
            self.client.create_dataset(dataset, retry=self.retry if exists_ok else None)
            self._locations[(self.project, name)] = dataset.location
        except exceptions.Conflict:
            if exists_ok:
                return
            raise ParameterError("dataset", name, f"it already exists in project {self.project}; "
                                                  "pass exists_ok=True to reuse it") from None
        except Exception as exc:  # noqa: BLE001
            raise self._explained(exc, f"creating dataset {name}", name, "write") from None

    def create_table(self, ref: str, columns: Sequence[tuple[str, str]], partition_column: str | None = None,
                     exists_ok: bool = True, clustering: Sequence[str] | None = None) -> None:
        parsed = split_ref(ref)
        checked = check_columns(columns, partition_column, clustering)
        table = bigquery.Table(self._table_id(parsed), schema=[schema_field(n, t) for n, t in checked])
        if partition_column is not None:
            table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                                field=partition_column)
        if clustering:
            table.clustering_fields = list(clustering)
        self._insert_table(table, parsed.ref, exists_ok, "table_ref")

    def create_table_like(self, source_ref: str, dest_ref: str, exists_ok: bool = True) -> None:
        dest = split_ref(dest_ref, "dest_ref")
        source = self._get_table(source_ref, "source_ref")
        table = bigquery.Table(self._table_id(dest), schema=source.schema)
        table.time_partitioning = source.time_partitioning
        table.range_partitioning = source.range_partitioning
        table.clustering_fields = source.clustering_fields
        self._insert_table(table, dest.ref, exists_ok, "dest_ref")

    def _insert_table(self, table: bigquery.Table, ref: str, exists_ok: bool, parameter: str) -> None:
        try:
            # As create_dataset: retried only with exists_ok, where a create that landed is then a Conflict.
            self.client.create_table(table, retry=self.retry if exists_ok else None)
        except exceptions.Conflict:
            if exists_ok:
                return
            raise ParameterError(parameter, ref, f"that table already exists in project {self.project}; "
                                                 "pass exists_ok=True") from None
        except Exception as exc:  # noqa: BLE001
            raise self._explained(exc, f"creating table {ref}", table.dataset_id, "write") from None

    def drop_dataset(self, name: str, delete_contents: bool = False) -> None:
        info = self.dataset_info(name)
        if not carries_kit_label(info.labels):
            raise ParameterError("dataset", name, not_the_kits(name))
        if not delete_contents:
            tables = self.list_tables(name)
            if tables:
                raise ParameterError("delete_contents", delete_contents,
                                     f"dataset {name} still holds {', '.join(tables)}; "
                                     "pass delete_contents=True to drop them too")
        # not_found_ok: the dataset was just found, so a NotFound can only be a retried delete that had landed.
        self._do(lambda: self.client.delete_dataset(f"{self.project}.{name}", delete_contents=delete_contents,
                                                    retry=self.retry, not_found_ok=True),
                 f"dropping dataset {name}", kind="write", dataset=name)
        self._locations.pop((self.project, name), None)

