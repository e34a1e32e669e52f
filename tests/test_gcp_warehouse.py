"""target=gcp's warehouse: what only BigQuery has (jobs, labels, billing caps, error payloads, retries,
endpoints), through the real google-cloud-bigquery client against the BigQuery fake.

The behaviour both targets share is tested on both in tests/test_warehouse_targets.py.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from google.api_core.retry import retry_base

from fakes.bigquery import FakeBigQuery
from fakes.errors import perimeter_refusal, service_disabled
from runbook_lib.errors import (AccessDenied, BytesBilledLimitExceeded, CloudUnreachable, NotFoundError,
                                ParameterError, QuotaExceeded, ServiceDisabled, WarehouseQueryError)
from runbook_lib.gcp.bigquery_errors import JOB_USER
from runbook_lib.gcp.calls import CALL_DEADLINE_ENV
from runbook_lib.gcp.bigquery_schema import schema_field, type_text
from runbook_lib.gcp.connect import ENDPOINTS_ENV
from runbook_lib.gcp.warehouse import GcpWarehouse, storage_api_installed
from runbook_lib.local.warehouse import LocalWarehouse, UnsupportedSQL
from runbook_lib.target import connect

PROJECT = "my-project"
DEADLINE_S = "2"
TABLE = "nba_analytics.player_game_summary"
TABLE_PATH = r"datasets/nba_analytics/tables/player_game_summary"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    path = tmp_path_factory.mktemp("bq") / "w.duckdb"
    seed = LocalWarehouse(path, project=PROJECT)
    seed.create_dataset("nba_analytics")
    seed.create_table("nba_analytics.player_game_summary", [("game_date", "DATE"), ("player_lookup", "STRING"),
                                                            ("points", "INT64")], partition_column="game_date")
    seed.execute("INSERT INTO nba_analytics.player_game_summary SELECT DATE_ADD(DATE '2024-01-01', INTERVAL MOD(x, 5) DAY), "
                 "CONCAT('player', CAST(x AS STRING)), x FROM UNNEST(GENERATE_ARRAY(1, 200)) AS x")
    with FakeBigQuery(seed, project=PROJECT, max_page_rows=64) as server:
        yield server


@pytest.fixture
def gcp(fake, monkeypatch):
    """The adapter as connect() builds it, whose calls give up retrying after DEADLINE_S (the call policy
    of every Google API, from the environment as an operator sets it; the client takes it when first built)."""
    yield from _adapter(fake, monkeypatch, runbook="04_compare_outputs")


def _adapter(fake, monkeypatch, **options):
    monkeypatch.setenv(CALL_DEADLINE_ENV, DEADLINE_S)
    target = connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}, **options)
    fake.requests.clear()
    yield target.warehouse
    fake.clear_faults()
    target.close()


# ------------------------------------------------------------------------------------------ jobs


def test_every_job_carries_the_labels_the_billing_cap_and_no_cache_for_dry_runs(gcp, fake):
    gcp.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary")
    gcp.execute("UPDATE nba_analytics.player_game_summary SET points = points WHERE FALSE")
    assert gcp.estimate_bytes("SELECT points FROM nba_analytics.player_game_summary") == 200 * 8
    gcp.partitions("nba_analytics.player_game_summary")
    jobs = fake.submitted_jobs()
    assert len(jobs) == 4
    for job in jobs:
        assert job["labels"] == {"runbook": "04_compare_outputs", "created-by": "phase-runbooks"}
        assert job["query"]["maximumBytesBilled"] == str(100 * 1024 ** 3) and job["query"]["useLegacySql"] is False
    assert [j.get("dryRun", False) for j in jobs] == [False, False, True, False]
    assert jobs[2]["query"]["useQueryCache"] is False


def test_query_parameters_are_sent_typed(gcp, fake):
    gcp.query("SELECT @d AS d, @ts AS ts, @dt AS dt, @n AS n, @ids AS ids",
              {"d": date(2024, 1, 7), "ts": datetime(2024, 1, 7, 10, tzinfo=timezone.utc),
               "dt": datetime(2024, 1, 7, 10), "n": Decimal("1.5"), "ids": [1, 2], "unused": None})
    sent = {p["name"]: p["parameterType"] for p in fake.submitted_jobs()[-1]["query"]["queryParameters"]}
    assert sent == {"d": {"type": "DATE"}, "ts": {"type": "TIMESTAMP"}, "dt": {"type": "DATETIME"},
                    "n": {"type": "NUMERIC"}, "ids": {"type": "ARRAY", "arrayType": {"type": "INT64"}}}
    # No parameter type coerces to every other (a STRING NULL compared with an INT64 column is refused), so a
    # None is refused before sending, as is what the client cannot type (an empty list) or send (> INT64).
    for value, words in ((object(), "give None"), ([], "empty"), (None, "give a typed value"),
                         (2 ** 63, "outside INT64")):
        with pytest.raises(ParameterError, match=r"^params\['x'\]=") as caught:
            gcp.query("SELECT @x AS x", {"x": value})
        assert words in str(caught.value)


def test_a_result_array_with_a_null_element_is_refused_as_bigquery_does(gcp):
    # Data types, ARRAY NULLs: BigQuery "raises an error if a query result has ARRAYs which contain NULL elements".
    with pytest.raises(WarehouseQueryError) as caught:
        gcp.query("SELECT 1 AS k, [1, NULL, 3] AS a")
    assert str(caught.value).startswith("BigQuery cannot return column a of the query: an ARRAY in a result "
                                        "cannot hold a NULL element; ")
    assert "\n" not in str(caught.value)
    assert list(gcp.query("SELECT CAST(NULL AS ARRAY<INT64>) AS a").a.iloc[0]) == []   # a NULL ARRAY is []


def test_an_interval_result_is_typed_interval_and_sent_in_bigquerys_canonical_text(gcp, fake):
    """BigQuery sends an INTERVAL as `[sign]Y-M [sign]D [sign]H:M:S[.F]` (data types doc), the one form the client
    parses (_helpers._INTERVAL_PATTERN) into a relativedelta. The fake typed the column STRING and sent
    "MonthDayNano(months=1, ...)", so the kit's INTERVAL values on gcp had never been what the client makes."""
    import pyarrow as pa
    from dateutil.relativedelta import relativedelta
    from google.cloud.bigquery._helpers import _INTERVAL_PATTERN

    sql = ("SELECT MAKE_INTERVAL(month => 1) AS month, MAKE_INTERVAL(year => -1, month => -2, day => 3, hour => -4, "
           "minute => -5, second => -6) AS mixed, INTERVAL '-0.25' SECOND AS part, CAST(NULL AS INTERVAL) AS none, "
           "[MAKE_INTERVAL(day => 1)] AS listed")
    rows = gcp.client.query(sql).result()
    assert [f.field_type for f in rows.schema] == ["INTERVAL"] * 5
    row = list(rows)[0]
    assert (row["month"], row["part"], row["none"], row["listed"]) == (relativedelta(months=1),
                                                                      relativedelta(microseconds=-250000), None,
                                                                      [relativedelta(days=1)])
    assert row["mixed"] == relativedelta(years=-1, months=-2, days=3, hours=-4, minutes=-5, seconds=-6)
    # the kit's frame of them: the sandbox's (runbook 04's sample and record: test_compare_planted)
    assert gcp.query(sql).iloc[0].tolist() == fake.warehouse.query(sql).iloc[0].tolist()
    from fakes.bigquery import interval_text

    def text(months: int, days: int, nanoseconds: int) -> str:
        return interval_text(pa.scalar((months, days, nanoseconds), pa.month_day_nano_interval()).as_py())

    assert text(1, 0, 0) == "0-1 0 0:0:0" and text(-14, 3, -14_706_000_000_000) == "-1-2 3 -4:5:6"
    assert text(0, -40, 360_001_000_001_000) == "0-0 -40 100:0:1.000001" and _INTERVAL_PATTERN.match(text(0, 0, -1))


def test_results_are_read_page_by_page(gcp, fake):
    df = gcp.query("SELECT player_lookup, points FROM nba_analytics.player_game_summary ORDER BY points")
    assert df.points.tolist() == list(range(1, 201))
    pages = [r for r in fake.requests if "/queries/" in r.path and r.param("maxResults") != "0"]
    assert len(pages) == 4   # 200 rows, 64 a page


def test_the_storage_read_api_is_used_only_against_google(fake):
    assert connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}).warehouse.use_storage_api is False
    assert connect("gcp", project=PROJECT).warehouse.use_storage_api is storage_api_installed()


# ------------------------------------------------------------------------------------------ errors


def test_403_access_denied_names_the_missing_role(gcp, fake):
    fake.fail("POST", "jobs", "accessDenied", f"Access Denied: Project {PROJECT}: User does not have "
                                              f"bigquery.jobs.create permission in project {PROJECT}.", code=403)
    with pytest.raises(AccessDenied) as caught:
        gcp.query("SELECT 1 AS x")
    assert caught.value.role == JOB_USER
    assert str(caught.value).startswith(f"BigQuery denied the query in project {PROJECT}: grant the caller "
                                        f"roles/bigquery.jobUser on project {PROJECT} (BigQuery said: Access Denied")

    fake.fail("GET", r"datasets/nba_analytics/tables/player_game_summary", "accessDenied",
              f"Access Denied: Table {PROJECT}:nba_analytics.player_game_summary: Permission bigquery.tables.get "
              f"denied on table {PROJECT}:nba_analytics.player_game_summary (or it may not exist).", code=403)
    with pytest.raises(AccessDenied, match=r"grant the caller roles/bigquery\.dataViewer on dataset nba_analytics "):
        gcp.table_info("nba_analytics.player_game_summary")

    fake.fail("POST", r"datasets/test_nba_analytics/tables", "accessDenied",
              f"Access Denied: Dataset {PROJECT}:test_nba_analytics: Permission bigquery.tables.create denied on "
              f"dataset {PROJECT}:test_nba_analytics (or it may not exist).", code=403)
    with pytest.raises(AccessDenied) as caught:
        gcp.create_table("test_nba_analytics.player_game_summary", [("x", "INT64")])
    assert caught.value.role == "roles/bigquery.dataEditor"
    assert "on the test dataset test_nba_analytics only (never a production dataset)" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("reason, message, error, advice", [
    ("billingNotEnabled", "Billing has not been enabled for this project. Enable billing at https://console.cloud."
     "google.com/billing. DML queries are not allowed in the free tier.", AccessDenied,
     f"link a billing account with `gcloud billing projects link {PROJECT} --billing-account=ACCOUNT_ID`"),
    ("responseTooLarge", "Response too large to return. Consider specifying a destination table in your job "
     "configuration.", WarehouseQueryError, "select fewer rows or columns, or aggregate"),
    ("policyViolation", "Request violates an organization policy.", AccessDenied, "ask whoever manages that policy"),
    ("blocked", "This operation has been blocked.", WarehouseQueryError, "contact Google Cloud support"),
])
def test_a_403_no_role_fixes_says_what_it_is_not_a_role(gcp, fake, reason, message, error, advice):
    """BigQuery's 403 reasons besides accessDenied (the client's job/base.py _ERROR_REASON_TO_EXCEPTION)."""
    fake.fail("POST", "jobs", reason, message, code=403)
    with pytest.raises(error) as caught:
        gcp.query("SELECT 1 AS x")
    said = str(caught.value)
    assert said.startswith(f"BigQuery refused the query in project {PROJECT} ({reason}): ") and advice in said
    assert "grant" not in said and "roles/" not in said and getattr(caught.value, "role", None) is None
    assert "\n" not in said and said.endswith(".")


def test_what_every_api_means_alike_is_said_from_the_shared_table(gcp, fake):
    """BigQuery's own reasons are its adapter's; a disabled API or a perimeter are said as for every API."""
    fake.fault(rf"/bigquery/v2/projects/{PROJECT}/jobs", service_disabled("bigquery.googleapis.com", "BigQuery API",
                                                                          "123456789012"), times=1)
    with pytest.raises(ServiceDisabled, match=rf"^The BigQuery API \(bigquery.googleapis.com\) is not enabled in "
                                              rf"project {PROJECT}, so BigQuery refused the query: run `gcloud "
                                              rf"services enable bigquery.googleapis.com --project={PROJECT}`"):
        gcp.query("SELECT 1 AS x")
    fake.fault(r"/bigquery/v2/projects/", perimeter_refusal("bigquery.googleapis.com", "XlFLBBM_Wstu6u3Qn5s1K",
                                                            "123456789012"), times=1)
    with pytest.raises(AccessDenied) as caught:
        gcp.list_datasets()
    assert caught.value.vpc_sc_id == "XlFLBBM_Wstu6u3Qn5s1K" and "vpcServiceControlsUniqueIdentifier" in str(caught.value)


def test_404_not_found_is_one_sentence(gcp, fake):
    with pytest.raises(NotFoundError) as caught:
        gcp.query("SELECT * FROM nba_analytics.player_game_sumary")
    assert str(caught.value) == (f"Table nba_analytics.player_game_sumary was not found in project {PROJECT}; "
                                 "tables in nba_analytics: player_game_summary.")


def test_400_bytes_billed_limit_exceeded_names_the_estimate(fake):
    target = connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}, maximum_bytes_billed=1000)
    with pytest.raises(BytesBilledLimitExceeded) as caught:
        target.warehouse.query("SELECT * FROM nba_analytics.player_game_summary")
    estimate = target.warehouse.estimate_bytes("SELECT * FROM nba_analytics.player_game_summary")
    assert caught.value.limit == 1000 and caught.value.estimate == estimate > 0
    assert str(caught.value).startswith("BigQuery refused the query: it would bill at least 10 MiB, more than "
                                        "maximum_bytes_billed=1000 (1000 B), and its dry run estimates ")
    assert str(caught.value).endswith("add a partition filter, read fewer columns, or raise maximum_bytes_billed.")
    target.close()


def test_429_rate_limit_is_retried_with_backoff_then_given_up(gcp, fake):
    fake.fail("POST", "jobs", "rateLimitExceeded", "Exceeded rate limits: too many api requests per user", times=2)
    assert gcp.query("SELECT 1 AS x").x.iloc[0] == 1
    assert len([r for r in fake.requests if r.method == "POST" and r.path.endswith("/jobs")]) == 3
    fake.fail("POST", "jobs", "rateLimitExceeded", "Exceeded rate limits: too many api requests per user", times=None)
    fake.requests.clear()
    with pytest.raises(QuotaExceeded, match=r"^BigQuery still refused the query in project my-project "
                                            r"\(rateLimitExceeded\) after retrying with backoff for 2 s: Exceeded rate"):
        gcp.query("SELECT 1 AS x")
    assert len(fake.requests) > 3   # tried again and again before giving up


def test_a_job_that_failed_for_a_quota_is_run_again(gcp, fake):
    # A failed job changed nothing, so the adapter runs the query again (403 quotaExceeded, BigQuery's other form).
    fake.fail("POST", "jobs", "quotaExceeded", "Quota exceeded: Your project exceeded quota for concurrent queries",
              code=403, times=1)
    assert gcp.query("SELECT 2 AS x").x.iloc[0] == 2


def test_a_job_that_fails_while_running_for_a_rate_limit_is_run_again_as_a_new_job(gcp, fake):
    # BigQuery answers jobs.insert with the job RUNNING; once it fails, getQueryResults answers the job's error on
    # every call (403 rateLimitExceeded, the limit on table updates that small ledger writes meet). Polling the dead
    # job until the deadline gave up without running the query again; jobs.get says the job failed, so it is run
    # again, as a new job, well within the deadline.
    fake.fail_job("rateLimitExceeded", "Exceeded rate limits: too many table update operations for this table",
                  code=403)
    started = time.monotonic()
    assert gcp.query("SELECT 5 AS x").x.iloc[0] == 5
    assert time.monotonic() - started < float(DEADLINE_S)
    jobs = [r.body["jobReference"]["jobId"] for r in fake.requests if r.method == "POST" and r.path.endswith("/jobs")]
    assert len(jobs) == len(set(jobs)) == 2
    assert fake.jobs[jobs[0]].resource["status"]["errorResult"]["reason"] == "rateLimitExceeded"
    assert _hits(fake, "GET", rf"queries/{jobs[0]}") == 1   # its error was asked for once, then jobs.get told
    # A job that fails for a reason no repeat changes is not run again.
    fake.requests.clear()
    fake.fail_job("invalidQuery", "Division by zero: 1 / 0")
    with pytest.raises(WarehouseQueryError, match=r"^BigQuery refused the query \(invalidQuery\): Division by zero"):
        gcp.query("SELECT 6 AS x")
    assert len(fake.submitted_jobs()) == 1


# ------------------------------------------------------------------------------------------ the call policy
# BigQuery's calls follow the policy of every Google API (gcp/calls.py): its deadline and backoff, the faults it
# retries (503, 429, a refused or reset connection) and BigQuery's own transient reasons, and its words on giving up.

def _hits(fake: FakeBigQuery, method: str, path: str) -> int:
    return len([r for r in fake.requests if r.method == method and re.search(rf"/(?:{path})\Z", r.path)])


def test_the_call_deadline_setting_bounds_a_read_that_stays_unavailable(gcp, fake, monkeypatch):
    # Every wait the longest the backoff allows (0.1, 0.2, 0.4, 0.8 s under a 2 s deadline): a 5th try at most.
    monkeypatch.setattr(retry_base, "random", SimpleNamespace(uniform=lambda low, high: high))
    fake.fail("GET", TABLE_PATH, "backendError", "Error encountered during execution. Retrying may solve it.",
              code=503, times=None)
    with pytest.raises(CloudUnreachable, match=rf"^BigQuery at {fake.endpoint} was still unavailable for get_table "
                                               rf"after retrying for {DEADLINE_S} s \(503 "):
        gcp.table_info(TABLE)
    assert 2 <= _hits(fake, "GET", TABLE_PATH) <= 5


def test_a_reset_connection_on_a_read_is_retried_and_said_unreachable_when_it_stays(gcp, fake):
    fake.reset("GET", TABLE_PATH, times=2)
    assert gcp.table_info(TABLE).num_rows == 200
    assert _hits(fake, "GET", TABLE_PATH) == 3    # reset twice, then answered
    fake.reset("GET", r"queries/[\w-]+", times=1)  # polling the query job for its results
    assert gcp.query("SELECT 3 AS x").x.iloc[0] == 3
    assert len(fake.submitted_jobs()) == 1        # the job itself was not run again
    fake.reset("GET", TABLE_PATH, times=None)
    with pytest.raises(CloudUnreachable, match=rf"^BigQuery at {fake.endpoint} could not be reached for get_table "
                                               r"after retries \(Connection reset by peer\): check the network"):
        gcp.table_info(TABLE)
    assert _hits(fake, "GET", TABLE_PATH) > 4


def test_a_refused_connection_is_retried_then_said_unreachable(monkeypatch):
    closed = socket.create_server(("127.0.0.1", 0))
    endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    monkeypatch.setenv(CALL_DEADLINE_ENV, "1")
    with connect("gcp", project=PROJECT, endpoints={"bigquery": endpoint}) as target:
        for read, call in ((target.warehouse.list_datasets, "list_datasets"),
                           (lambda: target.warehouse.query("SELECT 1 AS x"), "query")):
            with pytest.raises(CloudUnreachable, match=rf"^BigQuery at {endpoint} could not be reached for {call} "
                                                       r"after retries \(Connection refused\)"):
                read()


def test_query_results_that_stay_unavailable_are_said_unavailable_not_a_quota(gcp, fake):
    fake.fail("GET", r"queries/[\w-]+", "backendError", "Error encountered during execution. Retrying may solve it.",
              code=503, times=None)
    with pytest.raises(CloudUnreachable, match=rf"^BigQuery at {fake.endpoint} was still unavailable for the query "
                                               rf"after retrying for {DEADLINE_S} s \(503 "):
        gcp.query("SELECT 4 AS x")
    assert _hits(fake, "GET", r"queries/[\w-]+") > 1
    assert len(fake.submitted_jobs()) == 1        # the job ran; only its results could not be fetched


@pytest.mark.parametrize("reason", ["quotaExceeded", "rateLimitExceeded"])
def test_a_quota_or_rate_limit_that_stays_is_said_as_a_quota(gcp, fake, reason):
    fake.fail("GET", TABLE_PATH, reason, "Quota exceeded: Your project exceeded quota for tabledata.list bytes per "
                                         "second per project", code=403, times=None)
    with pytest.raises(QuotaExceeded, match=rf"^BigQuery still refused reading table {TABLE} in project {PROJECT} "
                                            rf"\({reason}\) after retrying with backoff for {DEADLINE_S} s: Quota "):
        gcp.table_info(TABLE)
    assert _hits(fake, "GET", TABLE_PATH) > 1


def test_syntax_errors_name_line_and_column(gcp):
    with pytest.raises(WarehouseQueryError, match=r"^BigQuery rejected the SQL of the query at line 2, column \d+: "
                                                  r"Syntax error: "):
        gcp.query("SELECT 1 AS a,\n  FROM FROM")


def test_error_bodies_are_shaped_like_bigquerys(fake):
    reply = requests.get(f"{fake.endpoint}/bigquery/v2/projects/{PROJECT}/datasets/nope", timeout=10)
    body = reply.json()["error"]
    assert reply.status_code == 404 and body["code"] == 404 and body["status"] == "NOT_FOUND"
    assert body["errors"][0]["reason"] == "notFound" and body["message"].startswith(f"Not found: Dataset {PROJECT}:nope")


# ------------------------------------------------------------------------------------------ wiring


def test_endpoints_come_from_the_environment_too(fake, monkeypatch):
    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps({"bigquery": fake.endpoint}))
    with connect("gcp", project=PROJECT) as target:
        assert "nba_analytics" in target.warehouse.list_datasets()
    with pytest.raises(ParameterError, match=r"^endpoints\['bigquery'\]="):
        connect("gcp", project=PROJECT, endpoints={"bigquery": "127.0.0.1:9"}).warehouse.list_datasets()


@pytest.mark.parametrize("option, value", [("maximum_bytes_billed", -1), ("maximum_bytes_billed", 1.5),
                                           ("bigquery_location", "mars"), ("runbook", "")])
def test_connect_options_are_checked(option, value):
    with pytest.raises(ParameterError) as caught:
        connect("gcp", project=PROJECT, **{option: value})
    assert caught.value.parameter in (option, "location")


@pytest.mark.parametrize("type_text_", ["INT64", "FLOAT64", "BOOL", "STRING", "BYTES", "DATE", "DATETIME", "TIME",
                                        "TIMESTAMP", "NUMERIC", "BIGNUMERIC", "NUMERIC(10, 2)", "JSON",
                                        "ARRAY<STRING>", "STRUCT<a INT64, b ARRAY<DATE>>", "ARRAY<STRUCT<x FLOAT64>>"])
def test_column_types_survive_the_rest_schema(type_text_):
    assert type_text(schema_field("c", type_text_)) == type_text_


@pytest.mark.parametrize("unit, said", [("DAY", "_PARTITIONDATE"), ("HOUR", "TIMESTAMP_TRUNC(_PARTITIONTIME, HOUR)")])
def test_the_fake_refuses_an_ingestion_time_partitioned_table_as_the_sandbox_does(gcp, fake, unit, said):
    """timePartitioning without a field is ingestion time: BigQuery makes such a table (_PARTITIONTIME), which the
    sandbox under the fake cannot hold. The fake made it unpartitioned, without a word, so a test meaning BigQuery's
    table passed on another; it refuses it as a bad request, in the sandbox's own sentence."""
    from google.api_core.exceptions import BadRequest
    from google.cloud import bigquery

    table = bigquery.Table(f"{PROJECT}.nba_analytics.ingested", schema=[bigquery.SchemaField("who", "STRING")])
    table.time_partitioning = bigquery.TimePartitioning(type_=unit)
    with pytest.raises(BadRequest) as caught:
        gcp.client.create_table(table)
    with pytest.raises(UnsupportedSQL) as sandbox:
        fake.warehouse.execute(f"CREATE TABLE nba_analytics.ingested (who STRING) PARTITION BY {said}")
    assert caught.value.code == 400 and caught.value.errors[0]["reason"] == "invalid"
    assert caught.value.errors[0]["message"] == str(sandbox.value)
    assert f"(PARTITION BY {said})" in str(sandbox.value) and not gcp.table_exists("nba_analytics.ingested")


def test_the_fake_starts_on_its_own(tmp_path):
    path = tmp_path / "w.duckdb"
    seed = LocalWarehouse(path, project=PROJECT)
    seed.create_dataset("nba_raw")
    seed.execute("CREATE TABLE nba_raw.games AS SELECT DATE '2024-01-07' AS game_date, 'LAL' AS home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.bigquery", "--port", str(port), "--warehouse",
                                str(path), "--project", PROJECT], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert f"on http://127.0.0.1:{port}" in process.stdout.readline()
        with connect("gcp", project=PROJECT, endpoints={"bigquery": f"http://127.0.0.1:{port}"}) as target:
            assert target.warehouse.query("SELECT game_date, home FROM nba_raw.games").values.tolist() == \
                [[date(2024, 1, 7), "LAL"]]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_a_direct_adapter_needs_no_connect(fake):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(),
                             client_options={"api_endpoint": fake.endpoint})
    adapter = GcpWarehouse(PROJECT, client, location="US", use_storage_api=False)
    try:
        assert adapter.list_tables("nba_analytics")[0] == "player_game_summary"
        adapter.query("SELECT 1 AS x")
        assert fake.submitted_jobs()[-1]["labels"]["runbook"] == "interactive"
        assert fake.submitted_jobs()[-1]["query"]["query"] == "SELECT 1 AS x"
        # jobs.get, tabledata.list pages and tables.delete, as the client calls them
        job = client.query("SELECT 2 AS y")
        assert job.result().total_rows == 1 and client.get_job(job.job_id).state == "DONE"
        rows = list(client.list_rows(f"{PROJECT}.nba_analytics.player_game_summary", page_size=50))
        assert len(rows) == 200 and rows[0]["game_date"].year == 2024
        adapter.create_table("nba_analytics.doomed", [("x", "INT64")])
        client.delete_table(f"{PROJECT}.nba_analytics.doomed")
        assert not adapter.table_exists("nba_analytics.doomed")
    finally:
        client.close()


def test_a_create_is_sent_again_only_where_a_repeat_is_harmless(gcp, fake):
    """A 503 may come after the dataset was made: sent again, that create is a Conflict, which exists_ok=True
    reads as done and exists_ok=False would misreport as 'already exists'; so only the former is retried."""
    from runbook_lib.errors import RunbookError

    def inserts() -> int:
        return len([r for r in fake.requests if r.method == "POST" and r.path.endswith("/datasets")])

    fake.fail("POST", "datasets", "backendError", "Error encountered during execution. Retrying may solve it.",
              code=503, times=1)
    gcp.create_dataset("retried_create", exists_ok=True)
    assert inserts() == 2 and "retried_create" in gcp.list_datasets()
    fake.requests.clear()
    fake.fail("POST", "datasets", "backendError", "Error encountered during execution. Retrying may solve it.",
              code=503, times=1)
    with pytest.raises(RunbookError):
        gcp.create_dataset("sent_once", exists_ok=False)
    assert inserts() == 1 and "sent_once" not in gcp.list_datasets()


# ------------------------------------------------------------------------------------------ locations
# BigQuery runs a query job only in the location of the datasets it names; a job pinned elsewhere is refused
# with a 404 that reads like a missing dataset ("Not found: Dataset P:DS was not found in location LOC").


@pytest.fixture
def pinned(fake, monkeypatch):
    """The adapter pinned to us-west2 (bigquery_location) while the pipeline's dataset nba_analytics is in US."""
    yield from _adapter(fake, monkeypatch, bigquery_location="us-west2")


def _job_locations(fake: FakeBigQuery) -> list[str]:
    return [r.body["jobReference"].get("location") for r in fake.requests
            if r.method == "POST" and r.path.endswith("/jobs")]


def test_the_fake_refuses_a_job_run_outside_its_datasets_location(fake):
    from google.api_core.exceptions import NotFound
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(),
                             client_options={"api_endpoint": fake.endpoint})
    try:
        with pytest.raises(NotFound, match=rf"Not found: Dataset {PROJECT}:nba_analytics was not found in "
                                           r"location us-west2"):
            client.query(f"SELECT COUNT(*) AS n FROM {TABLE}", location="us-west2").result()
        assert list(client.query(f"SELECT COUNT(*) AS n FROM {TABLE}", location="US").result())[0].n == 200
        assert list(client.query(f"SELECT COUNT(*) AS n FROM {TABLE}").result())[0].n == 200   # BigQuery finds it
        assert list(client.query("SELECT 1 AS n", location="us-west2").result())[0].n == 1    # names no dataset
    finally:
        client.close()


def test_a_pinned_target_reads_a_dataset_in_that_datasets_own_location(pinned, fake):
    assert pinned.query(f"SELECT COUNT(*) AS n FROM {TABLE}").n.iloc[0] == 200
    assert len(pinned.partitions(TABLE)) == 5
    assert pinned.estimate_bytes(f"SELECT points FROM {TABLE}") == 200 * 8
    assert set(_job_locations(fake)) == {"US"}
    assert _hits(fake, "GET", "datasets/nba_analytics") == 1   # the dataset's location, read once
    fake.requests.clear()
    assert pinned.query("SELECT 1 AS x").x.iloc[0] == 1
    assert _job_locations(fake) == ["us-west2"]   # a job that names no dataset runs where it is pinned


def test_a_fingerprint_through_a_pinned_target_sees_a_write(pinned, fake):
    from runbook_lib.replay.fingerprint import changes, fingerprint

    fake.warehouse.create_dataset("located_us", location="US")
    ref = "located_us.games"
    fake.warehouse.create_table(ref, [("game_date", "DATE"), ("who", "STRING")], partition_column="game_date")
    fake.warehouse.execute(f"INSERT INTO {ref} VALUES (DATE '2025-12-15', 'a')")
    before = fingerprint(pinned, [ref])
    fake.warehouse.execute(f"INSERT INTO {ref} VALUES (DATE '2025-12-15', 'written by mistake')")
    after = fingerprint(pinned, [ref])
    assert before[ref].exists and after[ref].exists
    assert after[ref].partitions["2025-12-15"].rows == 2 and changes(before, after)


def test_a_job_run_outside_its_datasets_location_says_both_locations(pinned, fake):
    fake.fail("POST", "jobs", "notFound", f"Not found: Dataset {PROJECT}:nba_analytics was not found in location EU",
              code=404)
    with pytest.raises(WarehouseQueryError) as caught:
        pinned.query(f"SELECT COUNT(*) AS n FROM {TABLE}")
    assert not isinstance(caught.value, NotFoundError)
    said = str(caught.value)
    assert said.startswith("BigQuery ran the query in location EU, but dataset nba_analytics is in location US")
    assert "\n" not in said and said.count(". ") == 0 and said.endswith(".")
    # a dataset that does not exist is still not found, whatever location BigQuery names
    with pytest.raises(NotFoundError, match=r"^Dataset nowhere_at_all was not found in project"):
        pinned.query("SELECT * FROM nowhere_at_all.t")


def test_a_query_of_datasets_in_two_locations_says_so_not_which_location_to_connect_with(gcp, fake):
    """No job can read datasets of two locations, wherever it runs: the fake refuses it as BigQuery does, and the
    kit says both locations instead of advising a bigquery_location that cannot help."""
    fake.warehouse.create_dataset("located_eu", location="EU")
    fake.warehouse.create_table("located_eu.games", [("game_date", "DATE")], partition_column="game_date")
    with pytest.raises(WarehouseQueryError) as caught:
        gcp.query(f"SELECT COUNT(*) AS n FROM {TABLE} JOIN located_eu.games USING (game_date)")
    said = str(caught.value)
    assert said.startswith("BigQuery cannot run the query: it reads datasets in more than one location "
                           "(located_eu in EU, nba_analytics in US)"), said
    assert "bigquery_location" not in said and "\n" not in said
    assert gcp.query("SELECT COUNT(*) AS n FROM located_eu.games").n.iloc[0] == 0   # each alone still reads
