"""GcpBuilds with the real google-cloud-build client (REST) against the local Cloud Build fake."""
from __future__ import annotations

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud.devtools import cloudbuild_v1

from fakes.fixtures import (CLOUD_LOGGING_ONLY_ID, GLOBAL_BUILD_ID, PHASE3_DOCKER_ID, PHASE3_SERVICE,
                            PHASE4_FAILED_ID, PHASE4_OLD_DOCKER_ID, PHASE4_SERVICE, PROJECT, REGION, recorded_build)
from runbook_lib.diagnose import builder_evidence
from runbook_lib.errors import NotFoundError, ParameterError
from runbook_lib.gcp.builds import BuildNotFound, GcpBuilds, build_filter
from runbook_lib.gcp.clients import make_clients

REGIONAL_GET = f"/v1/projects/{PROJECT}/locations/{REGION}/builds/{PHASE4_FAILED_ID}"


@pytest.fixture
def builds(fake_apis):
    adapter = GcpBuilds(PROJECT, REGION, endpoint=fake_apis.endpoint)
    yield adapter
    adapter.close()


def test_get_uses_the_regional_path_and_returns_rest_json(builds, fake_apis):
    build = builds.get(PHASE4_FAILED_ID)

    assert fake_apis.paths() == [REGIONAL_GET]
    assert build == recorded_build(PHASE4_FAILED_ID)  # the REST JSON round-trips through the proto unchanged
    assert build["status"] == "FAILURE"
    assert build["failureInfo"]["type"] == "USER_BUILD_STEP"
    assert [s["name"] for s in build["steps"]] == ["gcr.io/k8s-skaffold/pack"] * 2
    assert build["steps"][1]["exitCode"] == 1
    assert f"service_{PHASE4_SERVICE}" in build["tags"]
    assert any(t.startswith("gcp-runtimes-builder-") for t in build["tags"])


def test_the_client_asks_for_enums_as_numbers_and_the_kit_still_reads_their_names(builds, fake_apis):
    build = builds.get(PHASE4_FAILED_ID)
    assert fake_apis.requests[0].param("$alt") == "json;enum-encoding=int"
    # what the fake answered, as Google does when asked: FAILURE is 4, USER_BUILD_STEP 5
    raw = requests.get(fake_apis.endpoint + REGIONAL_GET, params={"$alt": "json;enum-encoding=int"}, timeout=10).json()
    assert (raw["status"], raw["failureInfo"]["type"]) == (4, 5)
    assert (build["status"], build["failureInfo"]["type"]) == ("FAILURE", "USER_BUILD_STEP")


def test_get_in_global_is_not_found_and_says_where_source_deploys_build(builds, fake_apis):
    with pytest.raises(BuildNotFound) as caught:
        builds.get(PHASE4_FAILED_ID, region="global")

    error = caught.value
    assert isinstance(error, NotFoundError)
    assert fake_apis.paths() == [f"/v1/projects/{PROJECT}/locations/global/builds/{PHASE4_FAILED_ID}"]
    message = str(error)
    assert "region global" in message
    assert "source deploys" in message
    assert f"gcloud builds log {PHASE4_FAILED_ID} --region={REGION} --project={PROJECT}" in message
    assert (error.region, error.home_region) == ("global", REGION)


def test_not_found_in_the_service_region_names_that_region_and_no_global_hint(builds):
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(BuildNotFound) as caught:
        builds.get(missing)
    assert f"region {REGION}" in str(caught.value)
    assert "source deploys" not in str(caught.value)


def test_a_build_that_lives_in_global_is_found_there(builds, fake_apis):
    assert builds.get(GLOBAL_BUILD_ID, region="global")["id"] == GLOBAL_BUILD_ID
    assert fake_apis.paths() == [f"/v1/projects/{PROJECT}/locations/global/builds/{GLOBAL_BUILD_ID}"]


def test_pitfall_project_id_and_id_beside_name_send_the_call_to_the_global_path(fake_apis):
    """Pins the library behaviour GcpBuilds.get avoids (it sends name= only)."""
    client = cloudbuild_v1.CloudBuildClient(transport="rest", credentials=AnonymousCredentials(),
                                            client_options={"api_endpoint": fake_apis.endpoint})
    request = cloudbuild_v1.GetBuildRequest(name=REGIONAL_GET[len("/v1/"):], project_id=PROJECT, id=PHASE4_FAILED_ID)
    with pytest.raises(Exception) as caught:
        client.get_build(request=request)
    assert type(caught.value).__name__ == "NotFound"
    assert fake_apis.paths() == [f"/v1/projects/{PROJECT}/builds/{PHASE4_FAILED_ID}"]
    client.transport.close()


@pytest.mark.parametrize("bad", ["c3c052da", "C3C052DA-DDD1-46EB-9D3A-7219A9909377", "", None, 42,
                                 "c3c052da-ddd1-46eb-9d3a-7219a9909377/../x"])
def test_bad_build_id_is_a_parameter_error_before_any_request(builds, fake_apis, bad):
    with pytest.raises(ParameterError) as caught:
        builds.get(bad)
    assert caught.value.parameter == "build_id"
    assert fake_apis.paths() == []


def test_bad_region_is_a_parameter_error(builds, fake_apis):
    with pytest.raises(ParameterError) as caught:
        builds.get(PHASE4_FAILED_ID, region="us west2")
    assert caught.value.parameter == "region"
    with pytest.raises(ParameterError):
        GcpBuilds(PROJECT, "")
    assert fake_apis.paths() == []


def test_list_sends_the_cloud_build_filter_on_the_regional_path_newest_first(builds, fake_apis):
    found = builds.list(tags=f"service_{PHASE4_SERVICE}")

    assert [b["id"] for b in found] == [PHASE4_FAILED_ID, PHASE4_OLD_DOCKER_ID]
    request = fake_apis.requests[-1]
    assert request.path == f"/v1/projects/{PROJECT}/locations/{REGION}/builds"
    assert request.param("filter") == f'tags="service_{PHASE4_SERVICE}"'
    assert request.param("projectId") is None  # would have switched the client to the global URL


def test_list_with_tags_and_status_builds_the_documented_filter_text(builds, fake_apis):
    found = builds.list(tags=[f"service_{PHASE4_SERVICE}"], status="FAILURE")
    assert [b["id"] for b in found] == [PHASE4_FAILED_ID]
    assert fake_apis.received_filters() == [f'tags="service_{PHASE4_SERVICE}" AND status="FAILURE"']


def test_list_without_filters_is_every_build_of_the_region_newest_first(builds):
    found = builds.list()
    created = [b["createTime"] for b in found]
    assert created == sorted(created, reverse=True)
    assert {b["id"] for b in found} == {PHASE4_FAILED_ID, PHASE3_DOCKER_ID, PHASE4_OLD_DOCKER_ID, CLOUD_LOGGING_ONLY_ID}
    assert GLOBAL_BUILD_ID not in {b["id"] for b in found}


def test_list_stops_at_the_limit_without_fetching_more_pages(builds, fake_apis):
    assert len(builds.list(limit=3)) == 3
    assert len(fake_apis.requests) == 1
    assert fake_apis.requests[0].param("pageSize") == "3"


def test_list_follows_next_page_tokens_until_the_last_page(builds, fake_apis):
    fake_apis.max_page_size = 1  # servers may return fewer items than pageSize asks for
    assert len(builds.list(limit=10)) == 4
    assert [r.param("pageToken") for r in fake_apis.requests] == [None, "1", "2", "3"]


@pytest.mark.parametrize("kwargs, parameter", [
    ({"status": "FAILED"}, "status"), ({"limit": 0}, "limit"), ({"limit": True}, "limit"),
    ({"tags": ['x" OR status="SUCCESS']}, "tags"),
])
def test_list_rejects_bad_arguments(builds, fake_apis, kwargs, parameter):
    with pytest.raises(ParameterError) as caught:
        builds.list(**kwargs)
    assert caught.value.parameter == parameter
    assert fake_apis.paths() == []


def test_latest_failed_and_latest_successful_by_service_tag(builds, fake_apis):
    assert builds.latest_failed(PHASE4_SERVICE)["id"] == PHASE4_FAILED_ID
    assert builds.latest_successful(PHASE4_SERVICE)["id"] == PHASE4_OLD_DOCKER_ID
    assert builds.latest_successful(PHASE3_SERVICE)["id"] == PHASE3_DOCKER_ID
    assert builds.latest_failed(PHASE3_SERVICE) is None
    filters = fake_apis.received_filters()
    assert f'tags="service_{PHASE4_SERVICE}" AND status="FAILURE"' in filters
    assert f'tags="service_{PHASE4_SERVICE}" AND status="SUCCESS"' in filters


def test_latest_failed_rejects_a_bad_service_name(builds):
    with pytest.raises(ParameterError) as caught:
        builds.latest_failed("Phase4 Service")
    assert caught.value.parameter == "service"


def test_a_trigger_build_read_through_the_client_is_named_as_one_not_as_a_source_deploy(builds, fake_apis):
    """Cloud Run's continuous deployment: its trigger's id and substitutions come through the client's proto, and
    the build, tagged and pushed much like a source deploy, is read as the trigger's clone of its repository."""
    trigger, build_id = "4a1b2c3d-0000-4000-8000-000000000001", "5b8e2f90-1c3d-4e7a-9b6f-2d4c8a0e1f37"
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/pipeline/{PHASE4_SERVICE}:abc1234"
    recorded = recorded_build(PHASE4_FAILED_ID)
    build = {**recorded, "id": build_id, "name": recorded["name"].replace(PHASE4_FAILED_ID, build_id),
             "buildTriggerId": trigger, "images": [image],
             "tags": ["gcp-cloud-build-deploy-cloud-run", "gcp-cloud-build-deploy-cloud-run-managed", PHASE4_SERVICE],
             "substitutions": {"_SERVICE_NAME": PHASE4_SERVICE, "_TRIGGER_ID": trigger, "REPO_NAME": "pipeline",
                               "COMMIT_SHA": "abc1234"},
             "steps": [{"name": "gcr.io/cloud-builders/docker", "id": "Build", "status": "FAILURE", "exitCode": 1,
                        "args": ["build", "--no-cache", "-t", image, ".", "-f", "Dockerfile"]}]}
    build.pop("source", None)
    fake_apis.builds.append(build)

    got = builds.get(build_id)
    assert got["buildTriggerId"] == trigger and got["substitutions"]["COMMIT_SHA"] == "abc1234"
    evidence = builder_evidence(got)
    assert not evidence.source_deploy and evidence.service == PHASE4_SERVICE
    assert evidence.trigger_said == f"trigger {trigger} (repository pipeline at commit abc1234)"


def test_a_phases_latest_failed_build_from_its_continuous_deployment_trigger_is_found_by_phase(builds, fake_apis):
    """Cloud Run's continuous deployment tags its builds with the bare service name (beside
    gcp-cloud-build-deploy-cloud-run), not service_NAME: runbook 01 by phase looked only at source deploys' and
    redeploys' tags and diagnosed an older build, or said there was none."""
    from types import SimpleNamespace

    from runbook_lib.diagnose.steps import find_build
    from runbook_lib.phases import load_phases

    recorded, build_id = recorded_build(PHASE4_FAILED_ID), "6c9f3a01-2d4e-4f8b-8a7c-3e5d9b1f2a48"
    fake_apis.builds.append({**recorded, "id": build_id, "name": recorded["name"].replace(PHASE4_FAILED_ID, build_id),
                             "createTime": "2030-01-01T00:00:00Z", "buildTriggerId": "4a1b2c3d-0000-4000-8000-0000000001",
                             "tags": ["gcp-cloud-build-deploy-cloud-run", "gcp-cloud-build-deploy-cloud-run-managed",
                                      PHASE4_SERVICE]})
    target = SimpleNamespace(phases=load_phases(), builds=builds, project=PROJECT, region=REGION)
    assert find_build(target, phase="phase4")["id"] == build_id
    assert f'tags="{PHASE4_SERVICE}"' in fake_apis.received_filters()


def test_build_filter_text():
    assert build_filter(["a", "b"], "SUCCESS") == 'tags="a" AND tags="b" AND status="SUCCESS"'
    assert build_filter() == ""


def test_shared_clients_point_each_library_at_its_endpoint(fake_apis):
    clients = make_clients(PROJECT, endpoints={"cloudbuild": fake_apis.endpoint, "logging": fake_apis.endpoint})
    try:
        adapter = GcpBuilds(PROJECT, REGION, client=clients.cloudbuild)
        assert adapter.get(PHASE3_DOCKER_ID)["status"] == "SUCCESS"
        assert isinstance(clients.credentials("cloudbuild"), AnonymousCredentials)
    finally:
        clients.close()


def test_constructing_adapters_and_clients_makes_no_request(fake_apis):
    clients = make_clients(PROJECT, endpoints={"cloudbuild": fake_apis.endpoint})
    GcpBuilds(PROJECT, REGION, endpoint=fake_apis.endpoint)
    assert fake_apis.requests == []
    clients.close()


@pytest.mark.parametrize("endpoints, parameter", [
    ({"cloudbuild": "127.0.0.1:8080"}, "endpoints['cloudbuild']"),
    ({"bigtable": "http://127.0.0.1:1"}, "endpoints"),
    ("http://127.0.0.1:1", "endpoints"),
])
def test_make_clients_rejects_bad_endpoints(endpoints, parameter):
    with pytest.raises(ParameterError) as caught:
        make_clients(PROJECT, endpoints=endpoints)
    assert caught.value.parameter == parameter


def test_make_clients_rejects_a_bad_project():
    with pytest.raises(ParameterError) as caught:
        make_clients("NBA Props")
    assert caught.value.parameter == "project"
