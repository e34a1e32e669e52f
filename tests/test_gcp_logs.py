"""GcpLogs and the storage log reader with the real google-cloud-logging / -storage clients over HTTP."""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

import pytest

from fakes.fixtures import (CLOUD_LOGGING_ONLY_ID, LOGS_BUCKET, PHASE3_DOCKER_ID, PHASE3_SERVICE, PHASE4_FAILED_ID,
                            PHASE4_SERVICE, PROJECT, PROJECT_NUMBER, recorded_bucket_log, recorded_build,
                            recorded_builds, start_storage_emulator_subprocess)
from fakes.errors import unavailable
from fakes.filters import matches_filter
from fakes.server import FakeGoogleApis, load_json
from runbook_lib.buildlogs import Forbidden, LogSourceError, NotFound, fetch_build_log
from runbook_lib.errors import AccessDenied, ParameterError
from runbook_lib.gcp.calls import CALL_DEADLINE_ENV
from runbook_lib.gcp.clients import storage_client
from runbook_lib.gcp.logs import CloudLoggingLogSource, GcpLogs, GcpRuntimeLogs, build_log_filter, request_log_filter
from runbook_lib.gcp.storage import GcsLogSource, logs_object_location, read_logs_bucket_object
from runbook_lib.phases import load_phases
from runbook_lib.request_logs import request_log_query

UTC = timezone.utc
BUILD_START = datetime(2025, 12, 31, 1, 36, 19, 482913, tzinfo=UTC)
BUILD_END = datetime(2025, 12, 31, 1, 59, 29, 101734, tzinfo=UTC)


@pytest.fixture
def logs(fake_apis):
    adapter = GcpLogs(PROJECT, endpoint=fake_apis.endpoint)
    yield adapter
    adapter.close()


@pytest.fixture
def runtime_logs(logs):
    """target.logs on gcp: request_logs with the registry's phase and service names."""
    return GcpRuntimeLogs(load_phases(), logs, storage_client=lambda: None)


def _recorded_lines(build_id: str) -> list[str]:
    entries = [e for e in load_json("logging_build_entries.json") if e["resource"]["labels"]["build_id"] == build_id]
    return [e["textPayload"] for e in sorted(entries, key=lambda e: e["timestamp"])]


# ---------------------------------------------------------------- build log entries

def test_build_log_filter_is_exact():
    assert build_log_filter(PHASE4_FAILED_ID, BUILD_START, BUILD_END) == (
        'log_id("cloudbuild") AND resource.type="build" AND '
        f'resource.labels.build_id="{PHASE4_FAILED_ID}" AND '
        f'timestamp>="2025-12-31T01:36:19Z" AND timestamp<="2025-12-31T01:59:30Z"')


def test_build_log_entries_sends_the_filter_and_returns_the_lines_in_order(logs, fake_apis):
    text = logs.build_log_entries(PHASE4_FAILED_ID, BUILD_START, BUILD_END)

    assert text.splitlines() == _recorded_lines(PHASE4_FAILED_ID)
    assert "No buildpack groups passed detection." in text
    request = fake_apis.requests[0]
    assert (request.method, request.path) == ("POST", "/v2/entries:list")
    assert request.body["resourceNames"] == [f"projects/{PROJECT}"]
    assert request.body["orderBy"] == "timestamp asc"
    # our explicit bounds are sent as-is: the client's 24-hour default bound was not added
    assert fake_apis.received_filters() == [build_log_filter(PHASE4_FAILED_ID, BUILD_START, BUILD_END)]


def test_build_log_entries_follow_page_tokens_and_stop_when_the_token_is_omitted(logs, fake_apis):
    fake_apis.max_page_size = 10
    text = logs.build_log_entries(PHASE4_FAILED_ID, BUILD_START, BUILD_END)
    lines = _recorded_lines(PHASE4_FAILED_ID)
    assert text.splitlines() == lines
    tokens = [r.body.get("pageToken") for r in fake_apis.requests]
    assert tokens == [None] + [str(n) for n in range(10, len(lines), 10)]


def test_build_log_entries_outside_the_window_are_not_returned(logs):
    a_day_later = BUILD_END + timedelta(days=1)
    assert logs.build_log_entries(PHASE4_FAILED_ID, a_day_later, a_day_later + timedelta(hours=1)) == ""


def test_build_log_entries_reject_bad_arguments(logs, fake_apis):
    with pytest.raises(ParameterError) as caught:
        logs.build_log_entries("c3c052da", BUILD_START, BUILD_END)
    assert caught.value.parameter == "build_id"
    with pytest.raises(ParameterError) as caught:
        logs.build_log_entries(PHASE4_FAILED_ID, BUILD_END, BUILD_START)
    assert caught.value.parameter == "end"
    with pytest.raises(ParameterError) as caught:
        logs.build_log_entries(PHASE4_FAILED_ID, "yesterday", BUILD_END)
    assert caught.value.parameter == "start"
    assert fake_apis.requests == []


def test_cloud_logging_source_searches_around_the_build_times(logs, fake_apis):
    build = recorded_build(CLOUD_LOGGING_ONLY_ID)
    text = CloudLoggingLogSource(logs, slack=timedelta(minutes=5)).fetch(build)

    assert text.splitlines() == _recorded_lines(CLOUD_LOGGING_ONLY_ID)
    sent = fake_apis.received_filters()[0]
    created = datetime.fromisoformat(build["createTime"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(build["finishTime"].replace("Z", "+00:00"))
    assert f'timestamp>="{(created - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")}"' in sent
    upper = datetime.fromtimestamp(math.ceil((finished + timedelta(minutes=5)).timestamp()), tz=UTC)
    assert f'timestamp<="{upper.strftime("%Y-%m-%dT%H:%M:%SZ")}"' in sent


def test_cloud_logging_source_without_entries_is_not_found(logs):
    build = dict(recorded_build(PHASE3_DOCKER_ID), id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound, match="no entries for build 00000000"):
        CloudLoggingLogSource(logs).fetch(build)


def test_cloud_logging_refusal_names_the_role(logs, fake_apis):
    fake_apis.refuse("/v2/entries:list")
    with pytest.raises(AccessDenied, match="roles/logging.viewer") as caught:
        logs.build_log_entries(PHASE4_FAILED_ID, BUILD_START, BUILD_END)
    assert caught.value.role == "roles/logging.viewer"


def test_a_cloud_logging_answer_the_call_policy_leaves_is_one_log_source_sentence(logs, fake_apis):
    fake_apis.refuse("/v2/entries:list", code=400, message="Unparseable filter: syntax error at line 1")
    with pytest.raises(LogSourceError) as caught:
        logs.build_log_entries(PHASE4_FAILED_ID, BUILD_START, BUILD_END)
    assert str(caught.value) == (f"Listing Cloud Logging entries (entries:list) in project {PROJECT} was refused "
                                 "(400 bad request): Unparseable filter: syntax error at line 1.")


class _SearchedByNumber(FakeGoogleApis):
    """Cloud Logging as Google documents it for a project given as its number: resourceNames may name it, and the
    entries' logName still holds the id ("will contain PROJECT_ID in queries", LogEntry.logName). The stock fake
    knows the id alone."""

    def _list_entries(self, body: dict):
        names = [n.replace(f"projects/{PROJECT_NUMBER}", f"projects/{PROJECT}") for n in body.get("resourceNames", [])]
        return super()._list_entries(dict(body, resourceNames=names))


def test_a_project_given_as_its_number_finds_its_build_log_and_its_requests():
    """connect("gcp", project=NUMBER) is allowed: no filter may spell the project, which logName never holds as
    its number, so the build's entries and the services' requests are found all the same."""
    fake = _SearchedByNumber(builds=recorded_builds(),
                             entries=load_json("logging_build_entries.json") + load_json("logging_run_requests.json"))
    fake.start()
    logs = GcpLogs(PROJECT_NUMBER, endpoint=fake.endpoint)
    try:
        text = logs.build_log_entries(PHASE4_FAILED_ID, BUILD_START, BUILD_END)
        requests = GcpRuntimeLogs(load_phases(), logs, storage_client=lambda: None).request_logs(
            None, "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z")
    finally:
        logs.close()
        fake.stop()
    assert text.splitlines() == _recorded_lines(PHASE4_FAILED_ID)
    assert len(requests) == len(load_json("logging_run_requests.json"))
    assert [r.body["resourceNames"] for r in fake.requests] == [[f"projects/{PROJECT_NUMBER}"]] * 2
    assert not any("projects/" in f for f in fake.received_filters())


def test_the_fake_reads_log_id_as_cloud_logging_does():
    """log_id("ID") matches the log ID ending logName, URL-encoded there, under any parent; the name is not
    case-sensitive; it is a term like any other."""
    request = {"logName": "projects/p/logs/run.googleapis.com%2Frequests", "resource": {"type": "cloud_run_revision"}}
    build = {"logName": "organizations/1/logs/cloudbuild", "resource": {"type": "build"}}
    assert matches_filter(request, 'log_id("run.googleapis.com/requests")')
    assert matches_filter(request, 'LOG_ID( "run.googleapis.com/requests" ) AND resource.type="cloud_run_revision"')
    assert not matches_filter(request, 'log_id("requests")') and not matches_filter(request, 'log_id("cloudbuild")')
    assert matches_filter(build, '(log_id("cloudbuild") OR log_id("other")) AND resource.type="build"')
    assert not matches_filter(build, 'log_id("cloudbuild") AND resource.type="gce_instance"')
    assert not matches_filter({"resource": {"type": "build"}}, 'log_id("cloudbuild")')
    with pytest.raises(ValueError, match="cannot parse"):
        matches_filter(build, "log_id(cloudbuild)")


# ---------------------------------------------------------------- Cloud Run request logs

def test_request_logs_filter_is_exact_and_names_the_services_region():
    query = request_log_query(load_phases(), "phase4", datetime(2025, 12, 31, tzinfo=UTC),
                              datetime(2025, 12, 31, 12, 0, 0, 250000, tzinfo=UTC), status=[401, 403, "5xx"])
    assert request_log_filter(query) == (
        'log_id("run.googleapis.com/requests") AND resource.type="cloud_run_revision" '
        f'AND resource.labels.service_name="{PHASE4_SERVICE}" AND resource.labels.location="us-west2" AND '
        f'timestamp>="2025-12-31T00:00:00Z" AND timestamp<"2025-12-31T12:00:00.250000Z" AND (httpRequest.status=401 OR '
        f'httpRequest.status=403 OR (httpRequest.status>=500 AND httpRequest.status<600))')


def test_request_logs_filter_for_every_service_and_a_class_alone():
    query = request_log_query(load_phases(), None, "2025-12-31T00:00:00Z", status="4xx")
    assert query.regions == ("us-west2", "us-west2")   # phases.yaml's: each service's region is in the query
    assert request_log_filter(query) == (
        'log_id("run.googleapis.com/requests") AND resource.type="cloud_run_revision" '
        f'AND (resource.labels.service_name="{PHASE3_SERVICE}" OR resource.labels.service_name="{PHASE4_SERVICE}") '
        f'AND resource.labels.location="us-west2" AND timestamp>="2025-12-31T00:00:00Z" AND '
        f'(httpRequest.status>=400 AND httpRequest.status<500)')


def test_request_logs_filter_pairs_each_service_with_its_own_region():
    query = dataclasses.replace(request_log_query(load_phases(), None, "2025-12-31T00:00:00Z"),
                                regions=("us-west2", "us-east1"))
    assert query.services == (PHASE3_SERVICE, PHASE4_SERVICE)
    assert request_log_filter(query) == (
        'log_id("run.googleapis.com/requests") AND resource.type="cloud_run_revision" '
        f'AND ((resource.labels.service_name="{PHASE3_SERVICE}" AND resource.labels.location="us-west2") OR '
        f'(resource.labels.service_name="{PHASE4_SERVICE}" AND resource.labels.location="us-east1")) '
        f'AND timestamp>="2025-12-31T00:00:00Z"')


def test_request_logs_leave_out_a_same_named_service_in_another_region(runtime_logs, fake_apis):
    stray = [dict(e, insertId=e["insertId"] + "-stray",
                  resource={**e["resource"], "labels": {**e["resource"]["labels"], "location": "europe-west1"}})
             for e in load_json("logging_run_requests.json")]
    fake_apis.entries = fake_apis.entries + stray
    found = runtime_logs.request_logs(None, "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z")
    assert len(found) == len(load_json("logging_run_requests.json"))
    assert {e["resource"]["labels"]["location"] for e in found} == {"us-west2"}


def test_request_logs_returns_log_entry_dicts_newest_first(runtime_logs, fake_apis):
    since, until = "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z"
    found = runtime_logs.request_logs(PHASE4_SERVICE, since, until, status=403, limit=500)

    recorded = [e for e in load_json("logging_run_requests.json")
                if e["resource"]["labels"]["service_name"] == PHASE4_SERVICE and e["httpRequest"]["status"] == 403]
    assert len(found) == len(recorded)
    assert [e["insertId"] for e in found] == [e["insertId"] for e in sorted(recorded, key=lambda e: e["timestamp"],
                                                                                reverse=True)]
    first = found[0]
    assert first["resource"]["type"] == "cloud_run_revision"
    assert set(first["httpRequest"]) >= {"status", "remoteIp", "userAgent", "requestUrl"}
    assert first["timestamp"].endswith("Z") and first["receiveTimestamp"].endswith("Z")
    assert fake_apis.requests[0].body["orderBy"] == "timestamp desc"
    pubsub = [e for e in found if e["httpRequest"]["userAgent"].startswith("APIs-Google")]
    assert pubsub and len(pubsub) < len(found)  # Pub/Sub pushes without a token, and a scanner


def test_request_logs_limit_phase_name_and_other_service(runtime_logs):
    found = runtime_logs.request_logs("phase3", "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z", limit=3)
    assert len(found) == 3
    assert {e["resource"]["labels"]["service_name"] for e in found} == {PHASE3_SERVICE}


def test_request_logs_without_a_limit_read_every_page(runtime_logs, fake_apis):
    fake_apis.max_page_size = 5
    found = runtime_logs.request_logs(None, "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z", limit=None)
    assert len(found) == len(load_json("logging_run_requests.json")) > 5
    assert len([r for r in fake_apis.requests if r.path == "/v2/entries:list"]) == -(-len(found) // 5)


def test_a_listing_longer_than_the_read_quota_resumes_at_the_page_it_could_not_read(fake_apis, monkeypatch):
    """Cloud Logging's per-minute read quota, scaled down (2 entries.list calls a second, 6-entry pages, 6 pages):
    a listing begun again after each 429 read the first 2 pages in every window and never got further; resumed
    at its page token (good for 24 hours), it reads every entry once."""
    # The client takes the policy when first built; a window's wait fits in it, with the backoff's jitter and room for a
    # loaded machine (at 4 s a retry that landed just before a window's end, then a longer backoff, ran out in CI).
    monkeypatch.setenv(CALL_DEADLINE_ENV, "10")
    fake_apis.max_page_size = 6
    adapter = GcpLogs(PROJECT, endpoint=fake_apis.endpoint)
    runtime = GcpRuntimeLogs(load_phases(), adapter, storage_client=lambda: None)
    window = (None, "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z")
    try:
        everything = runtime.request_logs(*window)
        fake_apis.requests.clear()
        fake_apis.limit_reads(2, window_s=1.0)
        assert runtime.request_logs(*window) == everything
    finally:
        adapter.close()
    assert len(everything) == len(load_json("logging_run_requests.json")) > 2 * 6
    asked = [r.body.get("pageToken") for r in fake_apis.requests if r.path == "/v2/entries:list"]
    assert fake_apis.read_quota.refused > 0 and asked.count(None) == 1   # refused pages were asked again, not page 1
    assert sorted(set(asked) - {None}, key=int) == [str(n) for n in range(6, len(everything), 6)]


WINDOW = ("2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z")


def _key(entry: dict) -> tuple:
    return entry["timestamp"], entry.get("insertId", ""), entry["httpRequest"]["requestUrl"]


def _listings(fake_apis) -> list:
    return [r.body.get("pageToken") for r in fake_apis.requests if r.path == "/v2/entries:list"]


def test_request_logs_stream_page_by_page_as_the_pages_arrive(runtime_logs, fake_apis):
    """The audit's load of a whole window (iter_request_logs): an entry is handed over before the next page is
    asked for, so a window of a million requests is never held at once; together they are request_logs'."""
    everything = runtime_logs.request_logs(None, *WINDOW)
    fake_apis.requests.clear()
    fake_apis.max_page_size = 5
    stream = runtime_logs.iter_request_logs(None, *WINDOW)
    assert fake_apis.requests == []                       # nothing is asked before the first entry is wanted
    first = [next(stream) for _ in range(5)]
    assert _listings(fake_apis) == [None]                 # one page read, the second not yet asked for
    rest = list(stream)
    assert sorted(map(_key, first + rest)) == sorted(map(_key, everything)) and len(everything) > 10
    assert len(_listings(fake_apis)) == -(-len(everything) // 5)
    assert [e["timestamp"] for e in first + rest] == sorted(e["timestamp"] for e in everything)   # oldest first


def test_a_stream_refused_mid_way_resumes_at_the_page_it_could_not_read_without_giving_an_entry_twice(
        runtime_logs, fake_apis):
    everything = runtime_logs.request_logs(None, *WINDOW)
    fake_apis.requests.clear()
    fake_apis.max_page_size = 5
    fake_apis.fault(r"/v2/entries:list$", unavailable(), times=2, skip=2)   # the third page fails twice
    streamed = list(runtime_logs.iter_request_logs(None, *WINDOW))
    assert sorted(map(_key, streamed)) == sorted(map(_key, everything))
    asked = _listings(fake_apis)
    assert asked.count(None) == 1 and asked.count("10") == 3 and len(asked) == -(-len(everything) // 5) + 2


def test_a_client_whose_session_names_no_pages_is_listed_again_past_what_it_gave(fake_apis):
    """A client the kit did not build (no page tokens seen): after a failure mid-way it starts again from the
    first page and passes over the entries it already gave, so none is given twice or lost."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import logging_v2

    client = logging_v2.Client(project=PROJECT, credentials=AnonymousCredentials(), _use_grpc=False,
                               client_options={"api_endpoint": fake_apis.endpoint})
    runtime = GcpRuntimeLogs(load_phases(), GcpLogs(PROJECT, client=client), storage_client=lambda: None)
    everything = runtime.request_logs(None, *WINDOW)
    fake_apis.max_page_size = 5
    fake_apis.fault(r"/v2/entries:list$", unavailable(), times=1, skip=2)
    streamed = list(runtime.iter_request_logs(None, *WINDOW))
    assert sorted(map(_key, streamed)) == sorted(map(_key, everything))


def test_a_stream_checks_its_arguments_before_any_call(runtime_logs, fake_apis):
    with pytest.raises(ParameterError) as caught:
        runtime_logs.iter_request_logs("phase4", *WINDOW, status="403")
    assert caught.value.parameter == "status" and fake_apis.requests == []


def test_request_logs_status_class(runtime_logs):
    found = runtime_logs.request_logs("phase4", "2025-12-31T00:00:00Z", "2025-12-31T23:59:59Z", status="4xx")
    assert {e["httpRequest"]["status"] for e in found} == {401, 403}


@pytest.mark.parametrize("kwargs, parameter", [
    ({"status": 42}, "status"), ({"status": "403"}, "status"), ({"limit": 0}, "limit"),
    ({"service": "Bad_Name"}, "service"), ({"until": "2025-12-30T00:00:00Z"}, "until"),
])
def test_request_logs_reject_bad_arguments(runtime_logs, fake_apis, kwargs, parameter):
    args = {"service": PHASE4_SERVICE, "since": "2025-12-31T00:00:00Z", "until": "2025-12-31T01:00:00Z", **kwargs}
    with pytest.raises(ParameterError) as caught:
        runtime_logs.request_logs(**args)
    assert caught.value.parameter == parameter
    assert fake_apis.requests == []


# ---------------------------------------------------------------- the logs bucket object

def test_logs_object_location_default_and_custom_bucket():
    build = recorded_build(PHASE4_FAILED_ID)
    assert logs_object_location(build) == (LOGS_BUCKET, f"log-{PHASE4_FAILED_ID}.txt")
    custom = dict(build, logsBucket="gs://team-build-logs/phase4/")
    assert logs_object_location(custom) == ("team-build-logs", f"phase4/log-{PHASE4_FAILED_ID}.txt")
    with pytest.raises(NotFound, match="names no logsBucket"):
        logs_object_location(recorded_build(CLOUD_LOGGING_ONLY_ID))


def test_a_logs_bucket_named_without_gs_is_read_as_gcloud_reads_it(storage_emulator):
    """The REST reference gives logsBucket by the bucket naming rules, and gcloud's GCSLogTailer takes it with or
    without gs://; a value that names no bucket is still refused."""
    build = recorded_build(PHASE4_FAILED_ID)
    assert logs_object_location(dict(build, logsBucket=LOGS_BUCKET)) == (LOGS_BUCKET, f"log-{PHASE4_FAILED_ID}.txt")
    assert logs_object_location(dict(build, logsBucket="team-build-logs/phase4/")) == (
        "team-build-logs", f"phase4/log-{PHASE4_FAILED_ID}.txt")
    for bad in ("https://storage.googleapis.com/team-build-logs", "Team Build Logs", "gs://", "gs:///phase4", "-x-"):
        with pytest.raises(ParameterError) as caught:
            logs_object_location(dict(build, logsBucket=bad))
        assert caught.value.parameter == "build.logsBucket"
    client = storage_client(PROJECT, endpoint=storage_emulator.endpoint)
    assert GcsLogSource(client).fetch(dict(build, logsBucket=LOGS_BUCKET)) == recorded_bucket_log(PHASE4_FAILED_ID)


def test_read_logs_bucket_object_from_the_storage_emulator(storage_emulator):
    client = storage_client(PROJECT, endpoint=storage_emulator.endpoint)
    text = read_logs_bucket_object(recorded_build(PHASE4_FAILED_ID), client)
    assert text == recorded_bucket_log(PHASE4_FAILED_ID)
    assert "Sorry your project couldn't be built." in text


def test_a_log_object_that_is_not_utf8_is_read_with_replacement_characters(storage_emulator):
    """A step's Latin-1 output (one byte that is no UTF-8) loses one character, not the whole log."""
    client = storage_client(PROJECT, endpoint=storage_emulator.endpoint)
    build = dict(recorded_build(PHASE4_FAILED_ID), id="latin1-build")
    logged = recorded_bucket_log(PHASE4_FAILED_ID).encode() + 'Step #1 - "build": caf\xe9\n'.encode("latin-1")
    client.bucket(LOGS_BUCKET).blob("log-latin1-build.txt").upload_from_string(logged, content_type="text/plain")
    text = GcsLogSource(client).fetch(build)
    assert text.startswith(recorded_bucket_log(PHASE4_FAILED_ID)) and text.endswith('"build": caf\ufffd\n')


def test_an_empty_log_object_is_no_log_and_the_chain_goes_on(storage_emulator, tmp_path):
    """A 0-byte object (a log still being written, a truncated one) is not the log read: the next source answers,
    and with none left the chain says the log is empty instead of diagnosing nothing."""
    client = storage_client(PROJECT, endpoint=storage_emulator.endpoint)
    build = dict(recorded_build(PHASE4_FAILED_ID), id="empty-build")
    client.bucket(LOGS_BUCKET).blob("log-empty-build.txt").upload_from_string(b"", content_type="text/plain")

    class Later:
        name = "logging"

        def fetch(self, build):
            return "Step #0: the log Cloud Logging holds\n"

    fetched = fetch_build_log(build, [GcsLogSource(client), Later()])
    assert fetched.source == "logging" and fetched.text.startswith("Step #0")
    assert (fetched.attempts[0].outcome, fetched.attempts[0].detail) == (
        "not-found", "Read 0 log lines: the log is empty, nothing to read.")
    blank = tmp_path / "saved.log"
    blank.write_text("\n  \n", encoding="utf-8")
    alone = fetch_build_log(build, [GcsLogSource(client)], local_file=blank)
    assert alone.text is None and [a.outcome for a in alone.attempts] == ["not-found", "not-found"]
    assert alone.attempts[-1].detail.endswith("the log is empty, nothing to read.")


def test_missing_log_object_is_not_found(storage_emulator):
    client = storage_client(PROJECT, endpoint=storage_emulator.endpoint)
    with pytest.raises(NotFound, match="404"):
        GcsLogSource(client).fetch(recorded_build(PHASE3_DOCKER_ID))


def test_forbidden_bucket_explains_permission_and_vpc_sc(fake_apis):
    # The emulator never answers 403, so this bucket is served by the fake's Google-shaped 403.
    fake_apis.refuse(f"/download/storage/v1/b/{LOGS_BUCKET}/")
    client = storage_client(PROJECT, endpoint=fake_apis.endpoint)
    with pytest.raises(Forbidden) as caught:
        read_logs_bucket_object(recorded_build(PHASE4_FAILED_ID), client)
    message = str(caught.value)
    assert "403" in message and "roles/viewer" in message and "VPC Service Controls" in message
    # (google-cloud-storage may also GET the bucket's metadata from a background thread; ignore that)
    downloads = [p for p in fake_apis.paths() if p.startswith("/download/")]
    assert downloads == [f"/download/storage/v1/b/{LOGS_BUCKET}/o/log-{PHASE4_FAILED_ID}.txt"]


def test_a_storage_answer_the_call_policy_leaves_is_one_log_source_sentence(fake_apis):
    fake_apis.refuse(f"/download/storage/v1/b/{LOGS_BUCKET}/", code=412, message="Precondition Failed")
    client = storage_client(PROJECT, endpoint=fake_apis.endpoint)
    with pytest.raises(LogSourceError) as caught:
        read_logs_bucket_object(recorded_build(PHASE4_FAILED_ID), client)
    assert type(caught.value) is LogSourceError   # not Forbidden or NotFound: those are the policy's
    said = str(caught.value)   # google-cloud-storage's download gives Google's JSON body as its message:
    assert said == (f"Reading gs://{LOGS_BUCKET}/log-{PHASE4_FAILED_ID}.txt was refused (412 precondition "
                    "failed): Precondition Failed.")   # the sentence quotes only the body's own message


def test_storage_emulator_also_runs_as_a_subprocess():
    emulator = start_storage_emulator_subprocess()
    try:
        client = emulator.client()
        client.create_bucket(LOGS_BUCKET).blob(f"log-{PHASE4_FAILED_ID}.txt").upload_from_string("one\ntwo\n")
        assert read_logs_bucket_object(recorded_build(PHASE4_FAILED_ID), client) == "one\ntwo\n"
    finally:
        emulator.stop()
    assert emulator.process.returncode is not None
