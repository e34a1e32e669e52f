"""target=gcp's warehouse: what only BigQuery has (jobs, labels, billing caps, error payloads, retries,
endpoints), through the real google-cloud-bigquery client against the BigQuery fake.

The behaviour both targets share is tested on both in tests/test_warehouse_targets.py.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from fakes.bigquery import FakeBigQuery
from fakes.errors import perimeter_refusal, service_disabled
from runbook_lib.errors import AccessDenied, BytesBilledLimitExceeded, NotFoundError, ParameterError, QuotaExceeded
from runbook_lib.errors import ServiceDisabled
from runbook_lib.errors import WarehouseQueryError
from runbook_lib.gcp.bigquery_errors import JOB_USER, retry_policy
from runbook_lib.gcp.bigquery_schema import schema_field, type_text
from runbook_lib.gcp.connect import ENDPOINTS_ENV
from runbook_lib.gcp.warehouse import GcpWarehouse, storage_api_installed
from runbook_lib.local.warehouse import LocalWarehouse
from runbook_lib.target import connect

PROJECT = "my-project"
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
def gcp(fake):
    """The adapter as connect() builds it, with a quick backoff (the fake answers at once)."""
    target = connect("gcp", project=PROJECT, endpoints={"bigquery": fake.endpoint}, runbook="04_compare_outputs")
    target.warehouse.retry = retry_policy(1.0, initial=0.01, maximum=0.05)
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
    gcp.query("SELECT @d AS d, @ts AS ts, @dt AS dt, @n AS n, @ids AS ids, @missing AS missing",
              {"d": date(2024, 1, 7), "ts": datetime(2024, 1, 7, 10, tzinfo=timezone.utc),
               "dt": datetime(2024, 1, 7, 10), "n": Decimal("1.5"), "ids": [1, 2], "missing": None, "unused": 1})
    sent = {p["name"]: p["parameterType"] for p in fake.submitted_jobs()[-1]["query"]["queryParameters"]}
    assert sent == {"d": {"type": "DATE"}, "ts": {"type": "TIMESTAMP"}, "dt": {"type": "DATETIME"},
                    "n": {"type": "NUMERIC"}, "ids": {"type": "ARRAY", "arrayType": {"type": "INT64"}},
                    "missing": {"type": "STRING"}}
    with pytest.raises(ParameterError, match=r"^params\['x'\]="):
        gcp.query("SELECT @x AS x", {"x": object()})
    with pytest.raises(ParameterError, match=r"^params\['x'\]="):
        gcp.query("SELECT @x AS x", {"x": []})


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
                                            r"\(rateLimitExceeded\) after retrying with backoff for 1s: Exceeded rate"):
        gcp.query("SELECT 1 AS x")
    assert len(fake.requests) > 3   # tried again and again before giving up


def test_a_job_that_failed_for_a_quota_is_run_again(gcp, fake):
    # A failed job changed nothing, so the adapter runs the query again (403 quotaExceeded, BigQuery's other form).
    fake.fail("POST", "jobs", "quotaExceeded", "Quota exceeded: Your project exceeded quota for concurrent queries",
              code=403, times=1)
    assert gcp.query("SELECT 2 AS x").x.iloc[0] == 2


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
