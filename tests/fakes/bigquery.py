"""A BigQuery v2 REST fake over a DuckDB warehouse file, for google-cloud-bigquery (and people) to talk to.

No BigQuery emulator on the package index works offline as shipped (crucible-emulator refuses partitioned
tables, query parameters, dry runs and INFORMATION_SCHEMA), so this one serves the kit's own sandbox
warehouse: each DuckDB schema is a dataset, and SQL runs through the same BigQuery-dialect translation
as target=local (runbook_lib.local.warehouse.LocalWarehouse, through its public API only). It answers
the subset the kit uses, shaped as BigQuery answers it:

- datasets get/insert/list/delete, tables get/insert/list/delete (schema, timePartitioning and
  rangePartitioning, clustering, expiration, labels), tabledata.list with paging;
- jobs.insert of queries (named query parameters, labels, dryRun with a totalBytesProcessed estimate,
  maximumBytesBilled enforced as BigQuery bills: whole MiB, at least 10 MiB), jobs.get,
  jobs.getQueryResults with paging;
- a job is RUNNING when jobs.insert answers, as BigQuery answers it (a dry run aside, which is DONE), and
  stays RUNNING for the next `running_polls` reads of its state (jobs.get, or getQueryResults answering
  `jobComplete: false`), so every client waits for its jobs as it must against BigQuery;
- errors as `{"error": {"code", "message", "errors": [{"reason", "message", "domain"}], "status"}}`: a
  failed query is a DONE job with an errorResult, and getQueryResults then answers its error as an HTTP
  error, as BigQuery "translates job failure status into failure HTTP codes" (googleapis/python-bigquery
  #1122); a dry run or a refused call fails the HTTP request itself.

Tests inject refusals with `fail(...)` (403 accessDenied, 429 rateLimitExceeded, ...), make running jobs
fail with `fail_job(...)` (a job-level rateLimitExceeded, backendError ...), reset connections with
`reset(...)`, and read every request and job back. On its own, for people and other test suites:

    python -m tests.fakes.bigquery --port 9050 --warehouse .runbook/warehouse.duckdb --project sandbox
    connect("gcp", project="sandbox", endpoints={"bigquery": "http://127.0.0.1:9050"})
"""
from __future__ import annotations

import argparse
import base64
import copy
import functools
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from runbook_lib.errors import NotFoundError, NullArrayElement, ParameterError, RunbookError
from runbook_lib.gcp.bigquery_schema import schema_field, type_text
from runbook_lib.gcp.warehouse import datasets_named
from runbook_lib.local.warehouse import LocalWarehouse, UnsupportedSQL

from .errors import CONNECTION_RESET, google_error
from .server import HttpFake, RecordedRequest

MIB = 1024 * 1024
MIN_BILLED = 10 * MIB   # BigQuery bills at least 10 MB for a query that reads a table
_CODE_OF_REASON = {"notFound": 404, "accessDenied": 403, "duplicate": 409, "invalidQuery": 400, "invalid": 400,
                   "bytesBilledLimitExceeded": 400, "rateLimitExceeded": 429, "quotaExceeded": 403,
                   "resourceInUse": 400, "backendError": 500}
_API = "/bigquery/v2/projects/"


def bigquery_error(code: int, reason: str, message: str) -> dict:
    """An error body as BigQuery's REST API writes it: Google's, with the JSON APIs' errors[] naming the reason."""
    return google_error(code, message, errors=[{"message": message, "domain": "global", "reason": reason}])


class BigQueryRefusal(Exception):
    def __init__(self, reason: str, message: str, code: int | None = None):
        super().__init__(message)
        self.reason, self.message = reason, message
        self.code = code or _CODE_OF_REASON.get(reason, 400)

    def body(self) -> dict:
        return bigquery_error(self.code, self.reason, self.message)

    def error_result(self) -> dict:
        return {"reason": self.reason, "message": self.message, "location": "query"}


@dataclass
class FakeJob:
    """A query job: its resource as jobs.get returns it once done, its rows when it returned any, and how many
    more reads of its state find it still running."""

    resource: dict
    table: pa.Table | None = None
    fields: list = field(default_factory=list)
    error: BigQueryRefusal | None = None
    running_polls: int = 0

    def running(self) -> dict:
        """The resource while the job runs: no endTime, no errorResult yet."""
        resource = copy.deepcopy(self.resource)
        resource["status"] = {"state": "RUNNING"}
        resource["statistics"].pop("endTime", None)
        return resource


def _ms(moment: datetime | None) -> str | None:
    return str(int(moment.timestamp() * 1000)) if moment is not None else None


def _now_ms() -> str:
    return str(int(time.time() * 1000))


# ---------------------------------------------------------------- rows as BigQuery's REST API writes them

_LEGACY_NAMES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}


def legacy_field(name: str, type_text_: str):
    """The SchemaField BigQuery's REST API answers with: legacy type names (INTEGER, FLOAT, BOOLEAN, RECORD)."""
    from google.cloud.bigquery import SchemaField

    def rename(field: dict) -> dict:
        out = dict(field, type=_LEGACY_NAMES.get(field["type"], field["type"]))
        if "fields" in field:
            out["fields"] = [rename(f) for f in field["fields"]]
        return out

    return SchemaField.from_api_repr(rename(schema_field(name, type_text_).to_api_repr()))


def result_fields(schema: pa.Schema) -> list:
    """BigQuery SchemaFields for Arrow result columns (DuckDB's types are BigQuery's, spelled in Arrow)."""
    return [legacy_field(f.name, "JSON" if (f.metadata or {}).get(b"ARROW:extension:name") == b"google:sqlType:json"
                         else _arrow_type_text(f.type)) for f in schema]


def _arrow_type_text(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"ARRAY<{_arrow_type_text(t.value_type)}>"
    if pa.types.is_struct(t):
        return "STRUCT<" + ", ".join(f"{t.field(i).name} {_arrow_type_text(t.field(i).type)}"
                                     for i in range(t.num_fields)) + ">"
    if pa.types.is_dictionary(t):
        return _arrow_type_text(t.value_type)
    if pa.types.is_decimal(t):
        return "NUMERIC" if t.scale <= 9 and t.precision - t.scale <= 29 else "BIGNUMERIC"
    checks = ((pa.types.is_integer, "INT64"), (pa.types.is_floating, "FLOAT64"), (pa.types.is_boolean, "BOOL"),
              (pa.types.is_date, "DATE"), (pa.types.is_time, "TIME"), (pa.types.is_binary, "BYTES"),
              (pa.types.is_large_binary, "BYTES"))
    for check, name in checks:
        if check(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"
    if pa.types.is_interval(t):
        return "INTERVAL"
    return "STRING"


def _cell(value: Any, f, int64_timestamps: bool) -> Any:
    if value is None:
        # Data types doc (array NULLs): "BigQuery translates a NULL ARRAY into an empty ARRAY in the
        # query result" (the client cannot read a NULL there)
        return [] if f.mode == "REPEATED" else None
    if f.mode == "REPEATED":
        inner = type(f)(f.name, f.field_type, mode="NULLABLE", fields=f.fields)
        return [{"v": _cell(v, inner, int64_timestamps)} for v in value]
    kind = f.field_type
    if kind == "RECORD":
        return {"f": [{"v": _cell(value.get(sub.name), sub, int64_timestamps)} for sub in f.fields]}
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "FLOAT":
        if math.isnan(value):
            return "NaN"
        return ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) else repr(float(value))
    if kind == "TIMESTAMP":
        micros = (value - datetime(1970, 1, 1, tzinfo=timezone.utc)) // _MICRO
        return str(micros) if int64_timestamps else repr(micros / 1e6)
    if kind in ("NUMERIC", "BIGNUMERIC"):
        text = format(Decimal(value), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if kind == "BYTES":
        return base64.b64encode(value).decode()
    if kind == "INTERVAL":
        return interval_text(value)
    if isinstance(value, (date, datetime)) or hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1) - datetime(1970, 1, 1)


def interval_text(value: pa.MonthDayNano) -> str:
    """An INTERVAL as BigQuery sends it, in its canonical format `[sign]Y-M [sign]D [sign]H:M:S[.F]` (data types
    doc, interval type; google-cloud-bigquery's _helpers._INTERVAL_PATTERN reads nothing else): the months as years
    and months under one sign, the days as they are, the time under its own sign, to the microsecond BigQuery
    keeps."""
    months, days, nanoseconds = value
    micros = abs(nanoseconds) // 1000
    seconds, fraction = divmod(micros, 1_000_000)
    time = f"{seconds // 3600}:{seconds // 60 % 60}:{seconds % 60}"
    if fraction:
        time += f".{fraction:06d}".rstrip("0")
    return (f"{'-' if months < 0 else ''}{abs(months) // 12}-{abs(months) % 12} {days} "
            f"{'-' if nanoseconds < 0 else ''}{time}")


def rows_json(table: pa.Table, fields: list, start: int, count: int, int64_timestamps: bool) -> list[dict]:
    part = table.slice(start, count).to_pylist()
    return [{"f": [{"v": _cell(row[f.name], f, int64_timestamps)} for f in fields]} for row in part]


# ---------------------------------------------------------------- query parameters as Python values

def _parameter_value(ptype: dict, pvalue: dict) -> Any:
    if ptype.get("type") == "ARRAY":
        return [_parameter_value(ptype["arrayType"], v) for v in pvalue.get("arrayValues", [])]
    raw = pvalue.get("value")
    if raw is None:
        return None
    kind = ptype.get("type")
    if kind == "INT64":
        return int(raw)
    if kind == "FLOAT64":
        return float(raw)
    if kind == "BOOL":
        return raw.lower() == "true"
    if kind in ("NUMERIC", "BIGNUMERIC"):
        return Decimal(raw)
    if kind == "DATE":
        return date.fromisoformat(raw)
    if kind == "DATETIME":
        return datetime.fromisoformat(raw)
    if kind == "TIMESTAMP":
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if kind == "BYTES":
        return base64.b64decode(raw)
    return raw


def query_params(config: dict) -> dict:
    return {p["name"]: _parameter_value(p["parameterType"], p["parameterValue"])
            for p in config.get("queryParameters", [])}


# ---------------------------------------------------------------- the server

class FakeBigQuery(HttpFake):
    """BigQuery v2 REST over one DuckDB warehouse file, for one project, on 127.0.0.1."""

    name = "fake-bigquery"

    def __init__(self, warehouse: str | Path | LocalWarehouse, project: str = "sandbox", location: str = "US",
                 max_page_rows: int | None = None, running_polls: int = 1):
        super().__init__()
        self.warehouse = warehouse if isinstance(warehouse, LocalWarehouse) else LocalWarehouse(warehouse, project)
        self.project = project
        self.location = location
        self.max_page_rows = max_page_rows   # cap pages below the requested maxResults, as BigQuery may
        # Reads of a new job's state (jobs.get, getQueryResults) that find it still RUNNING. One is the least that
        # makes a client wait as against BigQuery, and costs two more requests a query (google-cloud-bigquery polls
        # without sleeping: BigQuery's getQueryResults holds the answer until the job is done or 10 s pass).
        self.running_polls = running_polls
        self._job_failures: list[BigQueryRefusal] = []
        self.jobs: dict[str, FakeJob] = {}
        self._jobs_lock = threading.Lock()
        # "dataset.table" whose queries BigQuery refuses without a filter on its partition column (a table's
        # requirePartitionFilter, which production tables of big projects often set)
        self.require_partition_filter: set[str] = set()

    # -- test controls
    def fail(self, method: str, path_pattern: str, reason: str, message: str, code: int | None = None,
             times: int | None = 1) -> None:
        """Answer the next `times` (None: every) requests matching method and the path regex (after
        /bigquery/v2/projects/P) with BigQuery's error body for `reason` (an HttpFake fault; clear_faults()
        clears it)."""
        refusal = BigQueryRefusal(reason, message, code)
        self.fault(rf"{_API}[^/]+/(?:{path_pattern})\Z", (refusal.code, refusal.body()), method, times)

    def fail_job(self, reason: str, message: str, code: int | None = None, times: int = 1) -> None:
        """The next `times` query jobs inserted (dry runs aside) fail while running, with `reason`, without
        running their SQL: jobs.insert answers them RUNNING as every job, then jobs.get answers DONE with that
        errorResult and getQueryResults answers it as BigQuery's error body (HTTP `code`, by default the
        reason's), as BigQuery answers a job that failed for a job-level limit (rateLimitExceeded: too many
        table updates) or fault (backendError)."""
        with self._jobs_lock:
            self._job_failures.extend(BigQueryRefusal(reason, message, code) for _ in range(times))

    def reset(self, method: str, path_pattern: str, times: int | None = 1) -> None:
        """Reset the connection of the next `times` (None: every) requests matching method and path, as
        fail() matches them, without an answer."""
        self.fault(rf"{_API}[^/]+/(?:{path_pattern})\Z", CONNECTION_RESET, method, times)

    def submitted_jobs(self, dry_run: bool | None = None) -> list[dict]:
        """The configuration of every job inserted, in order (dry runs too unless dry_run=False)."""
        with self._lock:
            bodies = [r.body for r in self.requests if r.method == "POST" and re.fullmatch(
                rf"{_API}[^/]+/jobs", r.path) and isinstance(r.body, dict)]
        return [b["configuration"] for b in bodies
                if dry_run is None or bool(b["configuration"].get("dryRun")) == dry_run]

    # -- dispatch
    def _route(self, request: RecordedRequest) -> tuple[int, Any]:
        if not request.path.startswith(_API):
            return 404, bigquery_error(404, "notFound", f"Not found: URL {request.path}")
        project, _, rest = request.path[len(_API):].partition("/")
        if project != self.project:
            return 404, bigquery_error(404, "notFound", f"Not found: Project {project}")
        try:
            return self._dispatch(request, rest)
        except BigQueryRefusal as refusal:
            return refusal.code, refusal.body()

    def _dispatch(self, request: RecordedRequest, rest: str) -> tuple[int, Any]:
        method = request.method
        routes = (
            ("GET", r"datasets", self._list_datasets),
            ("POST", r"datasets", self._insert_dataset),
            ("GET", r"datasets/(\w+)", self._get_dataset),
            ("DELETE", r"datasets/(\w+)", self._delete_dataset),
            ("GET", r"datasets/(\w+)/tables", self._list_tables),
            ("POST", r"datasets/(\w+)/tables", self._insert_table),
            ("GET", r"datasets/(\w+)/tables/([\w-]+)", self._get_table),
            ("DELETE", r"datasets/(\w+)/tables/([\w-]+)", self._delete_table),
            ("GET", r"datasets/(\w+)/tables/([\w-]+)/data", self._list_rows),
            ("POST", r"jobs", self._insert_job),
            ("GET", r"jobs/([\w-]+)", self._get_job),
            ("GET", r"queries/([\w-]+)", self._query_results),
        )
        for verb, pattern, handler in routes:
            found = re.fullmatch(pattern, rest)
            if verb == method and found:
                return handler(request, *found.groups())
        return 404, bigquery_error(404, "notFound", f"Not found: fake BigQuery has no route for {method} {rest}")

    # -- errors of the warehouse, as BigQuery words them
    def _refusal(self, exc: Exception) -> BigQueryRefusal:
        text = str(exc)
        found = re.match(r"(Table|Dataset) (\w+)(?:\.([\w-]+))? was not found", text)
        if isinstance(exc, NotFoundError) and found:
            kind, dataset, table = found.groups()
            name = f"{self.project}:{dataset}" + (f".{table}" if table else "")
            return BigQueryRefusal("notFound", f"Not found: {kind} {name} was not found in location {self.location}")
        if isinstance(exc, NullArrayElement):   # BigQuery's own words; the sandbox under the fake refused it
            return BigQueryRefusal("invalidQuery", f"Array cannot have a null element; error in writing field {exc.column}")
        if isinstance(exc, ParameterError) and "already exists" in text:
            return BigQueryRefusal("duplicate", f"Already Exists: {text}")
        if isinstance(exc, (RunbookError, ValueError, duckdb.Error)):
            return BigQueryRefusal("invalidQuery", text.splitlines()[0].rstrip("."))
        # A fault of the fake itself: say so in a 400 the client does not retry (a 500 it would).
        return BigQueryRefusal("invalid", f"fake BigQuery failed: {type(exc).__name__}: {text}")

    def _dataset_resource(self, name: str) -> dict:
        info = self._catalog(lambda: self.warehouse.dataset_info(name))
        resource = {"kind": "bigquery#dataset", "id": f"{self.project}:{name}", "etag": "fake",
                    "datasetReference": {"projectId": self.project, "datasetId": name},
                    "location": info.location or self.location, "labels": dict(info.labels),
                    "creationTime": _ms(info.created_at), "lastModifiedTime": _ms(info.last_modified or info.created_at)}
        if info.default_table_expiration_days:
            resource["defaultTableExpirationMs"] = str(int(round(info.default_table_expiration_days * 86400000)))
        return {k: v for k, v in resource.items() if v is not None}

    def _catalog(self, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - every failure becomes BigQuery's error body
            raise self._refusal(exc) from None

    # -- datasets
    def _list_datasets(self, request: RecordedRequest) -> tuple[int, dict]:
        names = self._catalog(self.warehouse.list_datasets)
        items = [{k: v for k, v in self._dataset_resource(n).items() if k in ("id", "datasetReference", "labels",
                                                                             "location")} | {"kind": "bigquery#dataset"}
                 for n in names]
        return 200, self._page({"kind": "bigquery#datasetList", "etag": "fake"}, "datasets", items, request,
                               "maxResults")

    def _insert_dataset(self, request: RecordedRequest) -> tuple[int, dict]:
        body = request.body or {}
        name = body["datasetReference"]["datasetId"]
        options = [f"location = '{body.get('location') or self.location}'"]
        if body.get("defaultTableExpirationMs"):
            options.append(f"default_table_expiration_days = {int(body['defaultTableExpirationMs']) / 86400000!r}")
        if body.get("labels"):
            pairs = ", ".join(f"({json.dumps(k)}, {json.dumps(v)})" for k, v in body["labels"].items())
            options.append(f"labels = [{pairs}]")
        if self._catalog(lambda: self.warehouse.dataset_exists(name)):
            raise BigQueryRefusal("duplicate", f"Already Exists: Dataset {self.project}:{name}")
        # DDL, as BigQuery itself would take it: the labels are exactly the request's (the kit's adapter
        # adds its own label; the fake must not).
        self._catalog(lambda: self.warehouse.execute(f"CREATE SCHEMA `{name}` OPTIONS({', '.join(options)})"))
        return 200, self._dataset_resource(name)

    def _get_dataset(self, request: RecordedRequest, name: str) -> tuple[int, dict]:
        return 200, self._dataset_resource(name)

    def _delete_dataset(self, request: RecordedRequest, name: str) -> tuple[int, None]:
        tables = self._catalog(lambda: self.warehouse.list_tables(name))
        if tables and request.param("deleteContents") != "true":
            raise BigQueryRefusal("resourceInUse", f"Dataset {self.project}:{name} is still in use")
        self._catalog(lambda: self.warehouse.execute(f"DROP SCHEMA `{name}` CASCADE"))
        return 204, None

    # -- tables
    def _table_resource(self, dataset: str, table: str) -> dict:
        info = self._catalog(lambda: self.warehouse.table_info(f"{dataset}.{table}"))
        resource: dict[str, Any] = {
            "kind": "bigquery#table", "id": f"{self.project}:{dataset}.{table}", "etag": "fake",
            "tableReference": {"projectId": self.project, "datasetId": dataset, "tableId": table},
            "schema": {"fields": [legacy_field(n, t).to_api_repr() for n, t in info.columns]},
            "numRows": str(info.num_rows), "type": info.kind, "location": self.location,
            "creationTime": _ms(info.created_at), "lastModifiedTime": _ms(info.last_modified or info.created_at),
            "expirationTime": _ms(info.expires_at), "labels": dict(info.labels) or None,
            "numBytes": str(info.num_bytes) if info.num_bytes is not None else None,
        }
        if info.partition_type == "RANGE":   # the sandbox may hold one without a range (each value its own)
            bounds = dict(zip(("start", "end", "interval"), map(str, info.partition_range or ())))
            resource["rangePartitioning"] = {"field": info.partition_column, **({"range": bounds} if bounds else {})}
        elif info.partition_column:
            resource["timePartitioning"] = {"type": info.partition_type or "DAY", "field": info.partition_column}
        if info.clustering:
            resource["clustering"] = {"fields": list(info.clustering)}
        if f"{dataset}.{table}".lower() in {r.lower() for r in self.require_partition_filter}:
            resource["requirePartitionFilter"] = True
        return {k: v for k, v in resource.items() if v is not None}

    def _list_tables(self, request: RecordedRequest, dataset: str) -> tuple[int, dict]:
        names = self._catalog(lambda: self.warehouse.list_tables(dataset))
        items = []
        for name in names:
            full = self._table_resource(dataset, name)
            items.append({k: v for k, v in full.items()
                          if k in ("kind", "id", "tableReference", "type", "timePartitioning", "rangePartitioning",
                                   "clustering", "labels", "creationTime", "expirationTime")})
        return 200, self._page({"kind": "bigquery#tableList", "etag": "fake", "totalItems": len(items)}, "tables",
                               items, request, "maxResults")

    def _insert_table(self, request: RecordedRequest, dataset: str) -> tuple[int, dict]:
        body = request.body or {}
        table = body["tableReference"]["tableId"]
        from google.cloud.bigquery import SchemaField

        columns = [(f["name"], type_text(SchemaField.from_api_repr(f))) for f in body.get("schema", {}).get("fields", [])]
        partitioning = body.get("timePartitioning") or {}
        clustering = (body.get("clustering") or {}).get("fields")
        ranged = body.get("rangePartitioning")
        unit = partitioning.get("type", "DAY")
        if partitioning and not partitioning.get("field"):
            self._ingestion_time_table(dataset, table, columns, unit)
            return 200, self._table_resource(dataset, table)
        if ranged or (partitioning.get("field") and unit != "DAY"):
            # create_table takes a day's partition column only: the others in DDL, as BigQuery would
            if self._catalog(lambda: self.warehouse.table_exists(f"{dataset}.{table}")):
                raise BigQueryRefusal("duplicate", f"Already Exists: Table {self.project}:{dataset}.{table}")
            if ranged:
                bounds = ranged.get("range") or {}
                series = ", ".join(str(int(bounds.get(k, d))) for k, d in (("start", 0), ("end", 1), ("interval", 1)))
                partition_by = f"RANGE_BUCKET(`{ranged['field']}`, GENERATE_ARRAY({series}))"
            else:
                kind = dict(columns).get(partitioning["field"], "TIMESTAMP")
                partition_by = f"{kind}_TRUNC(`{partitioning['field']}`, {unit})"
            cluster = f" CLUSTER BY {', '.join(f'`{c}`' for c in clustering)}" if clustering else ""
            self._catalog(lambda: self.warehouse.execute(
                f"CREATE TABLE `{dataset}.{table}` ({', '.join(f'`{n}` {t}' for n, t in columns)}) "
                f"PARTITION BY {partition_by}{cluster}"))
        else:
            self._catalog(lambda: self.warehouse.create_table(f"{dataset}.{table}", columns,
                                                              partition_column=partitioning.get("field"),
                                                              exists_ok=False, clustering=clustering))
        return 200, self._table_resource(dataset, table)

    def _ingestion_time_table(self, dataset: str, table: str, columns: list[tuple[str, str]], unit: str) -> None:
        """An ingestion-time partitioned table (timePartitioning without a field), made as the sandbox under the fake
        makes `PARTITION BY _PARTITIONDATE`: it refuses it (it has no _PARTITIONTIME pseudocolumn), and so does the
        fake, in the sandbox's words and as the bad request it is (400 invalid), rather than make an unpartitioned
        table that would pass a test meant for BigQuery's."""
        what = "_PARTITIONDATE" if unit == "DAY" else f"TIMESTAMP_TRUNC(_PARTITIONTIME, {unit})"
        try:
            self.warehouse.execute(f"CREATE TABLE `{dataset}.{table}` ({', '.join(f'`{n}` {t}' for n, t in columns)}) "
                                   f"PARTITION BY {what}")
        except UnsupportedSQL as exc:
            raise BigQueryRefusal("invalid", str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - every other failure as BigQuery's error body
            raise self._refusal(exc) from None

    def _get_table(self, request: RecordedRequest, dataset: str, table: str) -> tuple[int, dict]:
        return 200, self._table_resource(dataset, table)

    def _delete_table(self, request: RecordedRequest, dataset: str, table: str) -> tuple[int, None]:
        self._catalog(lambda: self.warehouse.table_info(f"{dataset}.{table}"))
        self._catalog(lambda: self.warehouse.execute(f"DROP TABLE `{dataset}.{table}`"))
        return 204, None

    def _list_rows(self, request: RecordedRequest, dataset: str, table: str) -> tuple[int, dict]:
        self._catalog(lambda: self.warehouse.table_info(f"{dataset}.{table}"))
        rows = self._catalog(lambda: self.warehouse.query_arrow(f"SELECT * FROM `{dataset}.{table}`"))
        fields = result_fields(rows.schema)
        return 200, self._rows_page({"kind": "bigquery#tableDataList", "etag": "fake"}, rows, fields, request)

    # -- jobs
    def _insert_job(self, request: RecordedRequest) -> tuple[int, dict]:
        body = request.body or {}
        config = body.get("configuration", {})
        query = config.get("query")
        if not query:
            raise BigQueryRefusal("invalid", "fake BigQuery runs query jobs only")
        reference = {"projectId": self.project, "jobId": body.get("jobReference", {}).get("jobId")
                     or f"job_{uuid.uuid4().hex}", "location": body.get("jobReference", {}).get("location")
                     or self.location}
        sql = query["query"]
        params = query_params(query)
        if query.get("useLegacySql", False):
            raise BigQueryRefusal("invalidQuery", "fake BigQuery speaks GoogleSQL only (useLegacySql=false)")
        _syntax_check(sql)
        self._check_job_location(sql, body.get("jobReference", {}).get("location"))
        self._check_partition_filters(sql)
        estimate = self._catalog(lambda: self.warehouse.estimate_bytes(sql, params))
        started = _now_ms()
        resource = {"kind": "bigquery#job", "id": f"{self.project}:{reference['location']}.{reference['jobId']}",
                    "jobReference": reference, "configuration": config,
                    "statistics": {"creationTime": started, "startTime": started,
                                   "totalBytesProcessed": str(estimate),
                                   "query": {"totalBytesProcessed": str(estimate), "cacheHit": False,
                                             "statementType": _statement_type(sql)}},
                    "status": {"state": "DONE"}}
        if config.get("dryRun"):
            return 200, resource
        job = FakeJob(resource, running_polls=self.running_polls)
        billed = 0 if estimate == 0 else max(MIN_BILLED, math.ceil(estimate / MIB) * MIB)
        limit = query.get("maximumBytesBilled")
        with self._jobs_lock:
            failure = self._job_failures.pop(0) if self._job_failures else None
        try:
            if failure is not None:
                raise failure
            if limit is not None and billed > int(limit):
                raise BigQueryRefusal("bytesBilledLimitExceeded", f"Query exceeded limit for bytes billed: {limit}. "
                                                                  f"{billed} or higher required.")
            try:
                table = self.warehouse.query_arrow(sql, params)
            except Exception as exc:  # noqa: BLE001
                raise self._refusal(exc) from None
            if table.num_columns:
                job.table, job.fields = table, result_fields(table.schema)
            resource["statistics"]["query"]["totalBytesBilled"] = str(billed)
        except BigQueryRefusal as refusal:
            job.error = refusal
            resource["status"] = {"state": "DONE", "errorResult": refusal.error_result(),
                                  "errors": [refusal.error_result()]}
        resource["statistics"]["endTime"] = _now_ms()
        with self._jobs_lock:
            self.jobs[reference["jobId"]] = job
        return 200, job.running() if job.running_polls else resource

    def _check_job_location(self, sql: str, location: str | None) -> None:
        """BigQuery runs a query job in the location of the datasets it names: a job given another location
        is refused with its 404 (as googleapis/google-cloud-python#15691 quotes it). A job given no location
        runs where its datasets are; a dataset that does not exist is left to the query's own not-found.
        Datasets in two locations are refused wherever the job runs ("All tables that are referenced in a query
        must be stored in datasets in the same location": cloud.google.com/bigquery/docs/datasets-intro)."""
        where: dict[str, str] = {}
        for dataset in (d for p, d in datasets_named(sql, self.project) if p == self.project):
            if not self._catalog(lambda: self.warehouse.dataset_exists(dataset)):
                continue
            where[dataset] = self._catalog(lambda: self.warehouse.dataset_info(dataset)).location or self.location
        running = location or next(iter(where.values()), None)
        for dataset, there in sorted(where.items()):
            if there.lower() != (running or there).lower():
                raise BigQueryRefusal("notFound", f"Not found: Dataset {self.project}:{dataset} was not found "
                                                  f"in location {running}")

    def _check_partition_filters(self, sql: str) -> None:
        """A table of `require_partition_filter` read by a SELECT whose WHERE does not name its partition column
        is refused, in BigQuery's words (cloud.google.com/bigquery/docs/querying-partitioned-tables)."""
        if not self.require_partition_filter:
            return
        import sqlglot
        from sqlglot import exp

        required = {r.lower() for r in self.require_partition_filter}
        for tree in (t for t in sqlglot.parse(sql, read="bigquery") if t is not None):
            for table in tree.find_all(exp.Table):
                if f"{table.db}.{table.name}".lower() not in required:
                    continue
                column = self._catalog(lambda: self.warehouse.table_info(f"{table.db}.{table.name}")).partition_column
                select = table.find_ancestor(exp.Select)
                where = select.args.get("where") if select is not None else None
                if where is None or not any(c.name.lower() == (column or "").lower() for c in where.find_all(exp.Column)):
                    raise BigQueryRefusal("invalidQuery", f"Cannot query over table '{self.project}.{table.db}."
                                                          f"{table.name}' without a filter over column(s) '{column}' "
                                                          "that can be used for partition elimination")

    def _job(self, job_id: str) -> FakeJob:
        with self._jobs_lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise BigQueryRefusal("notFound", f"Not found: Job {self.project}:{self.location}.{job_id}")
        return job

    def _still_running(self, job: FakeJob) -> bool:
        """Whether this read of the job's state finds it running (each read uses up one of its running_polls)."""
        with self._jobs_lock:
            if job.running_polls <= 0:
                return False
            job.running_polls -= 1
            return True

    def _get_job(self, request: RecordedRequest, job_id: str) -> tuple[int, dict]:
        job = self._job(job_id)
        return 200, job.running() if self._still_running(job) else job.resource

    def _query_results(self, request: RecordedRequest, job_id: str) -> tuple[int, dict]:
        job = self._job(job_id)
        if self._still_running(job):
            return 200, {"kind": "bigquery#getQueryResultsResponse", "etag": "fake", "jobComplete": False,
                         "jobReference": job.resource["jobReference"]}
        if job.error is not None:
            raise job.error
        head = {"kind": "bigquery#getQueryResultsResponse", "etag": "fake", "jobComplete": True,
                "jobReference": job.resource["jobReference"], "cacheHit": False,
                "totalBytesProcessed": job.resource["statistics"]["query"]["totalBytesProcessed"]}
        if job.table is None:
            return 200, {**head, "totalRows": "0"}
        return 200, self._rows_page(head, job.table, job.fields, request)

    # -- paging
    def _page_bounds(self, request: RecordedRequest, size_param: str, total: int) -> tuple[int, int]:
        start = int(request.param("pageToken") or request.param("startIndex") or 0)
        size = int(request.param(size_param)) if request.param(size_param) is not None else 100_000
        if self.max_page_rows is not None:
            size = min(size, self.max_page_rows)
        return start, max(0, min(size, total - start))

    def _page(self, head: dict, key: str, items: list, request: RecordedRequest, size_param: str) -> dict:
        start, size = self._page_bounds(request, size_param, len(items))
        out = dict(head)
        if items[start:start + size]:
            out[key] = items[start:start + size]
        if start + size < len(items):   # only when more remain, never ""
            out["nextPageToken"] = str(start + size)
        return out

    def _rows_page(self, head: dict, table: pa.Table, fields: list, request: RecordedRequest) -> dict:
        start, size = self._page_bounds(request, "maxResults", table.num_rows)
        int64_timestamps = (request.param("formatOptions.useInt64Timestamp") or "").lower() == "true"
        out = {**head, "schema": {"fields": [f.to_api_repr() for f in fields]}, "totalRows": str(table.num_rows)}
        if size:
            out["rows"] = rows_json(table, fields, start, size, int64_timestamps)
        if start + size < table.num_rows:
            out["pageToken"] = str(start + size)
        return out


def _syntax_check(sql: str) -> None:
    """BigQuery's own wording for a query it cannot parse: `Syntax error: ... at [line:column]`."""
    from sqlglot.errors import ParseError

    try:
        _parsed(sql)
    except ParseError as exc:
        first = (getattr(exc, "errors", None) or [{}])[0]
        description = re.sub(r"<Token token_type: [^,]+, text: ([^,]*), line: .*?>", r"\1",
                             first.get("description") or str(exc).splitlines()[0])
        raise BigQueryRefusal("invalidQuery", f"Syntax error: {description.rstrip('.')} at "
                                              f"[{first.get('line', 1)}:{first.get('col', 1)}]") from None


@functools.lru_cache(maxsize=64)
def _parsed(sql: str) -> tuple:
    """A job's statements, parsed once for its syntax check and its statement type (read only): a big statement
    takes ~70 ms to parse, and the fake answers each job's dry run and run."""
    import sqlglot

    return tuple(t for t in sqlglot.parse(sql, read="bigquery") if t is not None)


def _statement_type(sql: str) -> str:
    from sqlglot import exp

    trees = _parsed(sql)
    if len(trees) > 1:
        return "SCRIPT"
    tree = trees[0] if trees else None
    for kind, name in ((exp.Query, "SELECT"), (exp.Insert, "INSERT"), (exp.Update, "UPDATE"), (exp.Delete, "DELETE"),
                       (exp.Merge, "MERGE"), (exp.Create, "CREATE_TABLE"), (exp.Drop, "DROP_TABLE")):
        if isinstance(tree, kind):
            return name
    return "SCRIPT"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.bigquery",
                                     description="A BigQuery v2 REST fake over a DuckDB warehouse file.")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--warehouse", required=True, help="the DuckDB file to serve (created when missing)")
    parser.add_argument("--project", default="sandbox", help="the project id the fake answers for")
    parser.add_argument("--location", default="US", help="the location datasets and jobs report")
    args = parser.parse_args(argv)
    fake = FakeBigQuery(args.warehouse, project=args.project, location=args.location).start(args.port)
    print(f"fake BigQuery for project {args.project} on {fake.endpoint} serving {args.warehouse}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
