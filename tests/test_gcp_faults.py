"""What a real operator meets, through the real client libraries against the fakes: Google's refusals
(a missing role, an API not enabled, a VPC Service Controls perimeter, expired credentials, a quota) are
one sentence each, and transient faults (429, 503) on reads are retried until the call gets through.

One fake serves the module; each test injects its faults (fakes/errors.py bodies, as Google sends them)
and the call policy's deadline is 2 s, so a fault that never clears costs 2 s of backoff, no more.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Callable

import pytest
from google.auth import credentials as auth_credentials
from google.auth.exceptions import RefreshError

from fakes.errors import (permission_denied, perimeter_refusal, rate_limited, scope_insufficient, service_disabled,
                          unauthenticated, unavailable)
from fakes.fixtures import LOGS_BUCKET, PHASE4_FAILED_ID, PHASE4_SERVICE, PROJECT, PROJECT_NUMBER, REGION, recorded_build
from fakes.server import FakeGoogleApis, load_json
from fakes.fixtures import recorded_builds
from runbook_lib import diagnose
from runbook_lib.buildlogs import fetch_build_log
from runbook_lib.errors import (AccessDenied, CloudUnreachable, CredentialsMissing, QuotaExceeded, RunbookError,
                                ServiceDisabled)
from runbook_lib.target import connect

NAME = f"projects/{PROJECT}/locations/{REGION}/services/{PHASE4_SERVICE}"
BUILDS = f"/v1/projects/{PROJECT}/locations/{REGION}/builds"
SINCE, UNTIL = datetime(2025, 12, 31, tzinfo=timezone.utc), datetime(2025, 12, 31, 8, tzinfo=timezone.utc)
VPC_SC_ID = "VQQnKfXtZ16NHnOmdJAy0E92tVT_8fZZRGvnndBWXZLKFx_KItn1EA"
DEADLINE_S = "2"


def _load_service(fake: FakeGoogleApis) -> None:
    revisions = [f"{PHASE4_SERVICE}-0002{n}-abc" for n in range(4)]
    fake.run_services[NAME] = {
        "name": NAME, "uri": f"{fake.endpoint}/svc/{PHASE4_SERVICE}", "latestReadyRevision": f"{NAME}/revisions/{revisions[-1]}",
        "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": revisions[-1], "percent": 100}],
        "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED"}}
    fake.run_revisions[NAME] = [{"name": f"{NAME}/revisions/{r}", "labels": {"commit-sha": f"abc123{n}"},
                                 "containers": [{"image": f"us-west2-docker.pkg.dev/{PROJECT}/r/{PHASE4_SERVICE}:{n}"}],
                                 "createTime": f"2025-12-2{n}T10:00:00Z"} for n, r in enumerate(revisions)]
    fake.run_policies[NAME] = {"version": 1, "etag": "BwYx", "bindings": [
        {"role": "roles/run.invoker", "members": [f"serviceAccount:pubsub-push@{PROJECT}.iam.gserviceaccount.com"]}]}


@pytest.fixture(scope="module")
def fake():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNBOOK_GCP_CALL_DEADLINE_S", DEADLINE_S)
        apis = FakeGoogleApis(builds=recorded_builds(),
                              entries=load_json("logging_build_entries.json") + load_json("logging_run_requests.json"))
        apis.start()
        _load_service(apis)
        try:
            yield apis
        finally:
            apis.stop()


@pytest.fixture(scope="module")
def tg(fake):
    endpoints = {name: fake.endpoint for name in ("cloudbuild", "logging", "run", "pubsub", "storage")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNBOOK_GCP_CALL_DEADLINE_S", DEADLINE_S)   # the clients take the policy when first built
        target = connect("gcp", project=PROJECT, endpoints=endpoints)
        target.builds.get(PHASE4_FAILED_ID)
        target.services.describe("phase4")
        target.logs.request_logs("phase4", since=SINCE, until=UNTIL)
        list(target.services.push_subscriptions("phase4"))
    yield target
    target.close()


@pytest.fixture(autouse=True)
def _clean(fake):
    fake.clear_faults()
    fake.max_page_size = None
    with fake._lock:
        fake.requests.clear()
    yield


def _hits(fake: FakeGoogleApis, pattern: str) -> int:
    import re

    return sum(1 for path in fake.paths() if re.match(pattern, path))


# Each read the runbooks make, the path its request goes to, and the role that allows it.
READS: dict[str, tuple[str, Callable, str, str]] = {
    "get_build": (rf"{BUILDS}/{PHASE4_FAILED_ID}$", lambda tg: tg.builds.get(PHASE4_FAILED_ID),
                  "cloudbuild.builds.get", "roles/cloudbuild.builds.viewer"),
    "list_builds": (rf"{BUILDS}$", lambda tg: tg.builds.latest_failed(PHASE4_SERVICE),
                    "cloudbuild.builds.list", "roles/cloudbuild.builds.viewer"),
    "get_service": (rf"/v2/{NAME}$", lambda tg: tg.services.describe("phase4"), "run.services.get", "roles/run.viewer"),
    "list_revisions": (rf"/v2/{NAME}/revisions$", lambda tg: tg.services.list_revisions("phase4"),
                       "run.revisions.list", "roles/run.viewer"),
    "get_iam_policy": (rf"/v2/{NAME}:getIamPolicy$", lambda tg: tg.services.iam_policy("phase4"),
                       "run.services.getIamPolicy", "roles/run.viewer"),
    "list_entries": (r"/v2/entries:list$", lambda tg: tg.logs.request_logs("phase4", since=SINCE, until=UNTIL),
                     "logging.logEntries.list", "roles/logging.viewer"),
    "list_subscriptions": (rf"/v1/projects/{PROJECT}/subscriptions$", lambda tg: tg.services.push_subscriptions("phase4"),
                           "pubsub.subscriptions.list", "roles/pubsub.viewer"),
}
SERVICE_OF = {"get_build": "cloudbuild.googleapis.com", "list_builds": "cloudbuild.googleapis.com",
              "get_service": "run.googleapis.com", "list_revisions": "run.googleapis.com",
              "get_iam_policy": "run.googleapis.com", "list_entries": "logging.googleapis.com",
              "list_subscriptions": "pubsub.googleapis.com"}
TITLE_OF = {"cloudbuild.googleapis.com": "Cloud Build API", "run.googleapis.com": "Cloud Run Admin API",
            "logging.googleapis.com": "Cloud Logging API", "pubsub.googleapis.com": "Cloud Pub/Sub API"}


# ---------------------------------------------------------------- transient faults: the read gets through

@pytest.mark.parametrize("call", READS)
@pytest.mark.parametrize("fault", ["503", "429"])
def test_a_transient_fault_on_a_read_is_retried_until_it_gets_through(fake, tg, call, fault):
    path, read, _, _ = READS[call]
    expected = read(tg)
    undisturbed = _hits(fake, path)
    with fake._lock:
        fake.requests.clear()
    refusal = unavailable() if fault == "503" else rate_limited(SERVICE_OF[call], PROJECT_NUMBER, "read_requests",
                                                                "ReadRequestsPerMinutePerProject")
    fake.fault(path, refusal, times=2)
    assert read(tg) == expected
    assert _hits(fake, path) == undisturbed + 2      # two refused, then answered


def test_a_page_refused_in_the_middle_of_a_log_listing_still_gives_every_entry(fake, tg):
    everything = tg.logs.request_logs("phase4", since=SINCE, until=UNTIL)
    with fake._lock:
        fake.requests.clear()
    fake.max_page_size = 5
    fake.fault(r"/v2/entries:list$", unavailable(), times=1, skip=2)   # the third page fails once
    assert tg.logs.request_logs("phase4", since=SINCE, until=UNTIL) == everything
    pages = -(-len(everything) // 5)
    assert len(everything) > 10 and _hits(fake, r"/v2/entries:list$") == pages + 1   # the third page asked again, not all again


def test_a_quota_that_stays_used_up_is_one_sentence_after_the_backoff(fake, tg):
    fake.fault(rf"{BUILDS}/", rate_limited("cloudbuild.googleapis.com", PROJECT_NUMBER,
                                           "cloudbuild.googleapis.com/read_requests", "ReadRequestsPerMinutePerProject"))
    with pytest.raises(QuotaExceeded) as caught:
        tg.builds.get(PHASE4_FAILED_ID)
    said = str(caught.value)
    assert said.startswith(f"Cloud Build still refused get_build in project {PROJECT} after retrying with backoff "
                           f"for {DEADLINE_S} s: the quota ReadRequestsPerMinutePerProject of 600 is used up")
    assert "RATE_LIMIT_EXCEEDED" in said and "request_increase" in said and "\n" not in said
    assert _hits(fake, rf"{BUILDS}/") > 2


def test_a_service_that_stays_unavailable_is_one_sentence_naming_it(fake, tg):
    fake.fault(r"/v2/entries:list$", unavailable())
    with pytest.raises(CloudUnreachable, match=rf"^Cloud Logging at {fake.endpoint} was still unavailable for "
                                               rf"list_entries after retrying for {DEADLINE_S} s "
                                               r"\(503 The service is currently unavailable\)\.$"):
        tg.logs.request_logs("phase4", since=SINCE, until=UNTIL)   # Google's words, not the request line first


# ---------------------------------------------------------------- writes are sent once

@pytest.mark.parametrize("fault, error, said", [
    ("503", RunbookError, f"to {PHASE4_SERVICE} failed (503 service unavailable): The service is currently unavailable; "
                          "it was not sent again, and may or may not have taken effect: look before running it again."),
    ("429", QuotaExceeded, "it was not sent again, since a change sent twice could happen twice"),
])
def test_a_refused_write_is_never_sent_again(fake, tg, fault, error, said):
    refusal = unavailable() if fault == "503" else rate_limited("run.googleapis.com", PROJECT_NUMBER,
                                                                "run.googleapis.com/write_requests", "WritesPerMinute")
    fake.fault(rf"/v2/{NAME}$", refusal, method="PATCH")
    with pytest.raises(error) as caught:
        tg.services.deploy("phase4", f"us-west2-docker.pkg.dev/{PROJECT}/r/{PHASE4_SERVICE}@sha256:{'a' * 64}")
    assert said in str(caught.value)
    assert fake.paths("PATCH") == [f"/v2/{NAME}"]


# ---------------------------------------------------------------- refusals: one sentence with what to do

@pytest.mark.parametrize("call", READS)
def test_an_api_not_enabled_is_the_command_that_enables_it(fake, tg, call):
    path, read, _, _ = READS[call]
    service = SERVICE_OF[call]
    fake.fault(path, service_disabled(service, TITLE_OF[service], PROJECT_NUMBER))
    with pytest.raises(ServiceDisabled) as caught:
        read(tg)
    said = str(caught.value)
    assert f"run `gcloud services enable {service} --project={PROJECT}`" in said
    assert f"{TITLE_OF[service]} ({service}) is not enabled in project {PROJECT}" in said
    assert "roles/" not in said      # a disabled API is not a missing role (Cloud Logging's 403 included)
    assert caught.value.command == f"gcloud services enable {service} --project={PROJECT}"
    assert _hits(fake, path) == 1    # not retried: enabling takes a person


def test_an_api_google_checked_in_gclouds_own_project_is_the_quota_project_fix(fake, tg):
    """User credentials without a quota project are billed to gcloud's OAuth client project, where Google then
    finds the API disabled: enabling it in the kit's project would change nothing."""
    path, read, _, _ = READS["get_service"]
    fake.fault(path, service_disabled("run.googleapis.com", TITLE_OF["run.googleapis.com"], "764086051850"))
    with pytest.raises(ServiceDisabled) as caught:
        read(tg)
    assert str(caught.value) == (
        "Cloud Run refused get_service: Google checked the Cloud Run Admin API (run.googleapis.com) in project "
        f"764086051850, gcloud's own OAuth client project, not in {PROJECT}, as your Application Default Credentials "
        f"name no quota project: run `gcloud auth application-default set-quota-project {PROJECT}` and run it again.")


@pytest.mark.parametrize("call", READS)
@pytest.mark.parametrize("detail", ["ErrorInfo", "plain 403"])
def test_a_missing_role_names_the_role_for_that_call(fake, tg, call, detail):
    path, read, permission, role = READS[call]
    if detail == "ErrorInfo":
        fake.fault(path, permission_denied(permission, f"//{SERVICE_OF[call]}/projects/{PROJECT}", SERVICE_OF[call]))
    else:   # no ErrorInfo, no permission named (older APIs, proxies): the call's own permission
        fake.refuse(path.rstrip("$"), 403, "The caller does not have permission")
    with pytest.raises(AccessDenied) as caught:
        read(tg)
    assert caught.value.role == role and not isinstance(caught.value, ServiceDisabled)
    assert f"the caller needs {role} ({permission}) on project {PROJECT}" in str(caught.value)


def test_a_perimeter_refusal_keeps_the_identifier_an_administrator_needs(fake, tg):
    fake.fault(rf"{BUILDS}/", perimeter_refusal("cloudbuild.googleapis.com", VPC_SC_ID, PROJECT_NUMBER))
    with pytest.raises(AccessDenied) as caught:
        tg.builds.get(PHASE4_FAILED_ID)
    assert caught.value.vpc_sc_id == VPC_SC_ID
    assert f"VPC Service Controls perimeter blocked the request (vpcServiceControlsUniqueIdentifier: {VPC_SC_ID})" \
        in str(caught.value)


class TokenCredentials(auth_credentials.Credentials):
    """Credentials that always get a token, which the fake then refuses or finds too narrow."""

    def refresh(self, request):
        self.token = "ya29.a-token-google-will-refuse"


@pytest.mark.parametrize("refusal, said", [
    (unauthenticated("run.googleapis.com"), "refused the credentials for get_service (401 UNAUTHENTICATED, "
                                            "ACCESS_TOKEN_EXPIRED): run `gcloud auth application-default login`"),
    (scope_insufficient("run.googleapis.com"), "lacks the cloud-platform scope (ACCESS_TOKEN_SCOPE_INSUFFICIENT)"),
])
def test_credentials_google_refuses_say_how_to_log_in(fake, refusal, said):
    fake.fault(rf"/v2/{NAME}$", refusal)
    with connect("gcp", project=PROJECT, endpoints={"run": fake.endpoint}, credentials=TokenCredentials()) as target:
        with pytest.raises(CredentialsMissing) as caught:
            target.services.describe("phase4")
    assert said in str(caught.value) and "--impersonate-service-account=EMAIL" in str(caught.value)
    assert fake.requests[-1].headers["authorization"] == "Bearer ya29.a-token-google-will-refuse"


def test_anonymous_credentials_refused_say_they_were_chosen(fake, tg):
    fake.fault(rf"/v2/{NAME}$", unauthenticated("run.googleapis.com", "CREDENTIALS_MISSING"))
    with pytest.raises(CredentialsMissing, match=rf"^Cloud Run at {fake.endpoint} refused anonymous credentials, "
                                                 r"which were chosen for it \(RUNBOOK_GCP_ANONYMOUS=1"):
        tg.services.describe("phase4")


def test_revisions_are_read_page_by_page(fake, tg):
    fake.max_page_size = 1
    assert [r.name for r in tg.services.list_revisions("phase4")] == [f"{PHASE4_SERVICE}-0002{n}-abc" for n in (3, 2, 1, 0)]
    assert [r.param("pageToken") for r in fake.requests if r.path.endswith("/revisions")] == [None, "1", "2", "3"]


# ---------------------------------------------------------------- the build-log chain goes on

def test_a_perimeter_on_the_logs_bucket_is_said_and_cloud_logging_has_the_log(fake, tg):
    fake.fault(f"/download/storage/v1/b/{LOGS_BUCKET}/",
               perimeter_refusal("storage.googleapis.com", VPC_SC_ID, PROJECT_NUMBER, json_api=True))
    fetched = diagnose.fetch_log(tg, recorded_build(PHASE4_FAILED_ID))
    bucket, logging = fetched.attempts
    assert (bucket.source, bucket.outcome) == ("gcs", "forbidden")
    assert f"vpcServiceControlsUniqueIdentifier: {VPC_SC_ID}" in bucket.detail
    assert "read the build's log from Cloud Logging instead" in bucket.detail
    assert (fetched.source, logging.outcome) == ("logging", "ok")
    assert "No buildpack groups passed detection." in fetched.text


def test_reading_a_build_log_from_its_bucket_sends_no_request_after_it_returns(fake, tg):
    # (google-cloud-storage 3.17 on fetches a bucket's metadata in a thread of its own on first use, for its tracing:
    # a request the kit never asked for, which once reached this module's fake while the next test ran)
    fetched = diagnose.fetch_log(tg, recorded_build(PHASE4_FAILED_ID))
    assert fetched.attempts[0].source == "gcs"
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert f"/storage/v1/b/{LOGS_BUCKET}" not in fake.paths()
        time.sleep(0.05)


def test_the_global_build_path_answers_not_found_and_the_build_is_found_in_its_region(fake, tg):
    build = diagnose.find_build(tg, build_id=PHASE4_FAILED_ID, region="global")
    assert build["id"] == PHASE4_FAILED_ID
    assert fake.paths("GET") == [f"/v1/projects/{PROJECT}/locations/global/builds/{PHASE4_FAILED_ID}",
                                 f"{BUILDS}/{PHASE4_FAILED_ID}"]


class RefusedCredentials(auth_credentials.Credentials):
    """Credentials whose token can no longer be refreshed (expired, revoked, impersonation refused)."""

    def refresh(self, request):
        raise RefreshError("('invalid_grant: Token has been expired or revoked.', {'error': 'invalid_grant'})")


def _chain_with_saved_file(target, tmp_path):
    saved = tmp_path / "saved.log"
    saved.write_text("Step #1: ERROR: failed to build: a saved line\n")
    return fetch_build_log(recorded_build(PHASE4_FAILED_ID), target.logs.build_log_sources(), local_file=saved)


def test_expired_credentials_do_not_stop_the_chain_before_the_saved_file(fake, tmp_path):
    endpoints = {name: fake.endpoint for name in ("cloudbuild", "logging", "storage")}
    with connect("gcp", project=PROJECT, endpoints=endpoints, credentials=RefusedCredentials()) as target:
        with pytest.raises(CredentialsMissing, match="The Google Cloud credentials were refused when calling Cloud "
                                                     "Build at .*invalid_grant.*gcloud auth application-default login"):
            target.builds.get(PHASE4_FAILED_ID)
        fetched = _chain_with_saved_file(target, tmp_path)
    assert [(a.source, a.outcome) for a in fetched.attempts] == [("gcs", "no-credentials"),
                                                                 ("logging", "no-credentials"), ("local-file", "ok")]
    assert fetched.source == "local-file" and "a saved line" in fetched.text
    assert all("gcloud auth application-default login" in a.detail for a in fetched.attempts[:2])


def test_no_credentials_at_all_do_not_stop_the_chain_before_the_saved_file(fake, tmp_path, monkeypatch):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_adc(*args, **kwargs):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    endpoints = {name: fake.endpoint for name in ("cloudbuild", "logging", "storage")}
    with connect("gcp", project=PROJECT, endpoints=endpoints, anonymous=False) as target:
        sources = target.logs.build_log_sources()     # no client is built, so no credentials are needed yet
        assert [s.name for s in sources] == ["gcs", "logging"]
        fetched = _chain_with_saved_file(target, tmp_path)
    assert [(a.source, a.outcome) for a in fetched.attempts] == [("gcs", "no-credentials"),
                                                                 ("logging", "no-credentials"), ("local-file", "ok")]
    assert "target=gcp found no Google Cloud credentials for Cloud Storage" in fetched.attempts[0].detail
    assert fake.requests == []


# ---------------------------------------------------------------- anonymous credentials are a choice, and said

def test_overridden_endpoints_get_real_credentials_unless_anonymous_is_chosen(fake, monkeypatch):
    from runbook_lib.gcp.clients import ANONYMOUS_ENV, GcpClients

    monkeypatch.delenv(ANONYMOUS_ENV)
    with connect("gcp", project=PROJECT, endpoints={"cloudbuild": fake.endpoint}) as target:
        assert target.description == (f"project {PROJECT}; endpoints overridden: cloudbuild at {fake.endpoint}; "
                                      "Application Default Credentials there")
    with connect("gcp", project=PROJECT, endpoints={"cloudbuild": fake.endpoint}, anonymous=True) as target:
        assert target.description.endswith("; anonymous credentials there")
    monkeypatch.setenv(ANONYMOUS_ENV, "1")
    assert GcpClients(PROJECT, endpoints={"cloudbuild": fake.endpoint}).anonymous is True
    with connect("gcp", project=PROJECT) as target:
        assert target.description == f"project {PROJECT}"   # Google's own endpoints: nothing to say
    monkeypatch.setenv(ANONYMOUS_ENV, "maybe")
    from runbook_lib.errors import ParameterError

    with pytest.raises(ParameterError, match=rf"^{ANONYMOUS_ENV}='maybe' is not valid"):
        GcpClients(PROJECT)


def test_the_check_before_a_run_wants_credentials_unless_anonymous_was_chosen(fake, monkeypatch):
    from runbook_lib.gcp.clients import ANONYMOUS_ENV
    from runbook_lib.gcp.connect import ENDPOINTS_ENV, check_credentials
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    asked = []

    def no_adc(*args, **kwargs):
        asked.append(1)
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps({"cloudbuild": fake.endpoint}))
    check_credentials()                                   # RUNBOOK_GCP_ANONYMOUS=1 (the tests' choice)
    assert asked == []
    monkeypatch.delenv(ANONYMOUS_ENV)
    with pytest.raises(CredentialsMissing, match="target=gcp found no Google Cloud credentials"):
        check_credentials()                               # an http:// endpoint alone no longer implies anonymous


# ---------------------------------------------------------------- what the policy leaves: refused_as

def _permission_denied_with_error_info():
    from google.api_core import exceptions
    from google.rpc import error_details_pb2

    info = error_details_pb2.ErrorInfo(reason="IAM_PERMISSION_DENIED", domain="run.googleapis.com",
                                       metadata={"permission": "run.services.update"})
    return exceptions.PermissionDenied("Permission denied on resource 'phase4'", error_info=info)


@pytest.mark.parametrize("raised, said", [
    (lambda e: e.FailedPrecondition("POST https://run.googleapis.com/v2/x: Image 'x' not found"),
     "Deploying x was refused (400 failed precondition): Image 'x' not found."),
    (lambda e: e.AlreadyExists("Service already exists", errors=[{"reason": "duplicate"}]),
     "Deploying x was refused (409 already exists, duplicate): Service already exists."),
    (lambda e: e.ServiceUnavailable("The service is currently unavailable"),
     "Deploying x failed (503 service unavailable): The service is currently unavailable."),
    (lambda e: e.GoogleAPICallError("something odd"), "Deploying x was refused: something odd."),
    (lambda e: _permission_denied_with_error_info(),
     "Deploying x was refused (403 permission denied, IAM_PERMISSION_DENIED, permission run.services.update): "
     "Permission denied on resource 'phase4'."),
])
def test_refused_as_says_what_was_refused_and_why_as_the_callers_error(raised, said):
    from google.api_core import exceptions

    from runbook_lib.buildlogs import LogSourceError
    from runbook_lib.gcp.refusals import refused_as

    for error in (RunbookError, LogSourceError):
        with pytest.raises(error) as caught, refused_as("Deploying x", error):
            raise raised(exceptions)
        assert type(caught.value) is error and str(caught.value) == said
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_write_that_failed_on_googles_side_says_it_was_not_sent_again_and_may_have_taken_effect():
    from google.api_core import exceptions

    from runbook_lib.gcp.refusals import refused_as

    with pytest.raises(RunbookError) as caught, refused_as("Deploying x", write=True):
        raise exceptions.ServiceUnavailable("The service is currently unavailable")
    assert str(caught.value) == ("Deploying x failed (503 service unavailable): The service is currently unavailable; "
                                 "it was not sent again, and may or may not have taken effect: look before running "
                                 "it again.")
    # a refusal (4xx) did not take effect, and a read changes nothing: neither says so
    with pytest.raises(RunbookError) as caught, refused_as("Deploying x", write=True):
        raise exceptions.FailedPrecondition("Image 'x' not found")
    assert "sent again" not in str(caught.value)
    with pytest.raises(RunbookError) as caught, refused_as("Reading x"):
        raise exceptions.ServiceUnavailable("The service is currently unavailable")
    assert "sent again" not in str(caught.value)


def test_refused_as_lets_the_policys_sentences_and_other_errors_through():
    from runbook_lib.gcp.refusals import refused_as

    for passing in (AccessDenied("said by the call policy"), KeyError("a bug")):
        with pytest.raises(type(passing)) as caught, refused_as("Deploying x"):
            raise passing
        assert caught.value is passing


@pytest.mark.parametrize("service, api, endpoint", [
    ("cloudresourcemanager", "Resource Manager", "https://cloudresourcemanager.googleapis.com"),
    ("artifactregistry", "Artifact Registry", "https://artifactregistry.googleapis.com"),
])
def test_the_rest_apis_have_their_call_site_like_every_other_api(service, api, endpoint):
    from runbook_lib.gcp.calls import site_of
    from runbook_lib.gcp.clients import SERVICES

    assert service in SERVICES
    site = site_of(object(), service, PROJECT)   # an object not guarded: Google's endpoint for the API
    assert (site.api, site.endpoint, site.project) == (api, endpoint, PROJECT)


LISTINGS = {call: READS[call] for call in ("list_builds", "list_revisions", "list_entries", "list_subscriptions")}
ITEMS_OF = {"list_builds": "builds", "list_revisions": "revisions", "list_entries": "entries",
            "list_subscriptions": "subscriptions"}


@pytest.mark.parametrize("call", LISTINGS)
def test_a_listing_given_the_same_page_token_again_ends_in_one_sentence(fake, tg, call):
    """An API (or a proxy) that hands back a token it gave before would be listed until the cell's timeout."""
    import re

    path = LISTINGS[call][0]
    pages = {"n": 0}

    def the_same_page_again(request):
        if re.match(path, request.path):
            pages["n"] += 1
            if pages["n"] > 50:
                return 400, {"error": {"code": 400, "message": "test: an endless listing", "status": "INVALID_ARGUMENT"}}
            return 200, {ITEMS_OF[call]: [], "nextPageToken": "the-same-token"}
        return None

    fake.routes.insert(0, the_same_page_again)
    try:
        with pytest.raises(CloudUnreachable) as caught:
            result = LISTINGS[call][1](tg)
            list(result) if result is not None and not isinstance(result, dict) else None
    finally:
        fake.routes.remove(the_same_page_again)
    assert pages["n"] == 2   # the first page, then its token once; asking for it again is where it ends
    assert re.fullmatch(r".* at http://127\.0\.0\.1:\d+ gave back a page token it had given before while listing "
                        rf"\({call}\), so the listing would never end; stopped there .*\.", str(caught.value))


@pytest.mark.parametrize("call", ["get_build", "get_service", "list_entries"])
def test_an_empty_200_is_one_sentence_not_a_library_error(fake, tg, call):
    """(A proxy or load balancer answering for the API.) A parse error, an AttributeError or a TypeError out of
    the client library took runbook 00 down past its per-phase handling."""
    path, read = READS[call][0], READS[call][1]
    fake.fault(path, (200, None))
    with pytest.raises(CloudUnreachable) as caught:
        read(tg)
    assert f" at {fake.endpoint} answered " in str(caught.value) and "with a body that is not its JSON (" in \
        str(caught.value) and "\n" not in str(caught.value)
