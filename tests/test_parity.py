"""Target parity: the SAME assertions against connect("local") and connect("gcp") (real clients against the
fakes, loaded with a mirror of the sandbox's incident state), so notebooks never need to branch on the target."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from fakes.bigquery import FakeBigQuery
from fakes.fixtures import connect_gcp_on_fakes
from runbook_lib.errors import ParameterError, WarehouseQueryError
from runbook_lib.local.sandbox import IAM_FIX_AT, MORNING, NIGHT_START, pubsub_push_member, scheduler_member
from runbook_lib.local.home import SandboxHome
from runbook_lib.local.service_iam import OPERATOR
from runbook_lib.overview import output_tables
from runbook_lib.phases import load_phases
from runbook_lib.request_logs import REQUEST_LOG_WINDOW
from runbook_lib.services import INVOKER_ROLES

P3 = "nba-phase3-analytics-processors"
P4 = "nba-phase4-precompute-processors"
REVISION_KEYS = {"name", "service", "labels", "commit_sha", "commit_sha_full", "image", "created",
                 "traffic_percent", "supports_prefix", "code_phase", "ready", "tags", "image_digest"}
INFO_TYPES = {"phase": str, "service": str, "region": str, "url": (str, type(None)), "revision": str,
              "commit_sha": str, "commit_sha_full": (str, type(None)), "supports_prefix": (bool, type(None)),
              "image": str, "created": str, "running": bool, "public": bool, "invoker_members": list,
              "code_phase": str, "pid": (int, type(None)), "ingress": str, "invoker_iam_disabled": bool,
              "serving": list, "failed_revision": str}
SHORT_SHA = re.compile(r"[0-9a-f]{7}")
FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00")))


def _state(home) -> dict:
    return json.loads((Path(home) / "state.json").read_text())


@pytest.fixture
def bigquery_over_sandbox(sandbox_home):
    """The BigQuery fake serving the sandbox's own warehouse file (read only, as the tests share it)."""
    phases = load_phases()
    with FakeBigQuery(SandboxHome(sandbox_home).warehouse, project=phases.project) as fake:
        yield fake


@pytest.fixture
def gcp_target(fake_apis, bigquery_over_sandbox, sandbox_home, tmp_path, monkeypatch):
    """target=gcp on the fakes, mirroring the sandbox; the operator has user ADC (which cannot mint ID
    tokens) and gcloud on PATH, the usual laptop."""
    fake_apis.max_page_size = 40   # the night holds hundreds of entries: several pages
    target = connect_gcp_on_fakes(fake_apis, sandbox_home, tmp_path, monkeypatch,
                                  bigquery_endpoint=bigquery_over_sandbox.endpoint)
    yield target
    target.close()


@pytest.fixture(params=["local", "gcp"])
def target(request):
    return request.getfixturevalue("local_target" if request.param == "local" else "gcp_target")


# ---------------------------------------------------------------- services


def test_describe_fields_types_and_the_incident_state(target, sandbox_home):
    commits = _state(sandbox_home)["source"]["commits"]
    p4, p3 = target.services.describe("phase4"), target.services.describe("phase3")
    for info in (p3, p4):
        assert set(info.to_dict()) == set(INFO_TYPES)
        for name, kind in INFO_TYPES.items():
            assert isinstance(getattr(info, name), kind), (name, getattr(info, name))
        assert all(isinstance(m, str) for m in info.invoker_members)
        assert SHORT_SHA.fullmatch(info.commit_sha) and FULL_SHA.fullmatch(info.commit_sha_full)
        assert info.commit_sha_full.startswith(info.commit_sha)
        assert info.region == "us-west2" and info.image
        assert info.ingress == "all" and info.invoker_iam_disabled is False
    # The night's fix removed allUsers; Phase 4's allAuthenticatedUsers is still there: public.
    members = {OPERATOR, pubsub_push_member(target.project), scheduler_member(target.project)}
    assert p3.public is False and set(p3.invoker_members) == members
    assert p4.public is True and set(p4.invoker_members) == members | {"allAuthenticatedUsers"}
    assert (p4.phase, p4.service, p3.service) == ("phase4", P4, P3)
    assert p4.revision == f"{P4}-00029-fdx" and p4.created == "2025-12-29T23:13:37Z"
    assert p4.commit_sha_full == commits["before_prefix"] and p4.supports_prefix is False
    assert p3.commit_sha_full == commits["head"] and p3.supports_prefix is True
    assert [i.phase for i in target.services.list()] == ["phase3", "phase4"]


def test_traffic_now_is_what_describe_says_serves(target):
    for phase in ("phase3", "phase4"):
        assert target.services.traffic_now(phase) == [(r.name, r.percent) for r in target.services.describe(phase).serving]


def test_list_revisions_keys_and_newest_first(target):
    for phase, service in (("phase3", P3), ("phase4", P4)):
        revisions = target.services.list_revisions(phase)
        assert revisions and all(set(r.to_dict()) == REVISION_KEYS for r in revisions)
        created = [_when(r.created) for r in revisions]
        assert created == sorted(created, reverse=True)
        assert [r.traffic_percent for r in revisions] == [100] + [0] * (len(revisions) - 1)
        assert revisions[0].name == target.services.describe(phase).revision
        for r in revisions:
            assert r.service == service and r.labels["commit-sha"] == r.commit_sha
            assert r.commit_sha_full.startswith(r.commit_sha) and isinstance(r.supports_prefix, bool)
            assert isinstance(r.code_phase, str) and r.ready is True
    names = [r.name for r in target.services.list_revisions("phase4")]
    assert [n.rsplit("-", 2)[1] for n in names] == ["00029", "00028", "00027"] and names[0].endswith("-fdx")


def test_iam_policy_shape(target):
    policy = target.services.iam_policy("phase4")
    assert set(policy) == {"version", "bindings", "etag"}
    assert isinstance(policy["version"], int) and isinstance(policy["etag"], str) and policy["etag"]
    for binding in policy["bindings"]:
        assert {"role", "members"} <= set(binding) <= {"role", "members", "condition"}
        assert isinstance(binding["members"], list)
    invokers = [b for b in policy["bindings"] if b["role"] == "roles/run.invoker"]
    assert set(invokers[0]["members"]) == set(target.services.describe("phase4").invoker_members)


def test_project_iam_policy_shape_and_the_incident_morning_bindings(target):
    """The project's own policy, as the audit reads it: a real project's owner, editors and Google's agents,
    and no invoke role granted to anyone else, so the night's story stays the services' own policies."""
    policy = target.services.project_iam_policy()
    assert set(policy) == {"version", "bindings", "etag"}
    assert isinstance(policy["version"], int) and isinstance(policy["etag"], str) and policy["etag"]
    for binding in policy["bindings"]:
        assert {"role", "members"} <= set(binding) <= {"role", "members", "condition"}
    roles = {b["role"]: b["members"] for b in policy["bindings"]}
    assert roles["roles/owner"] == [OPERATOR] and "roles/run.invoker" not in roles
    assert not any(m in ("allUsers", "allAuthenticatedUsers") for b in policy["bindings"] for m in b["members"])


def test_both_targets_read_the_same_project_policy(local_target, gcp_target, fake_apis):
    assert local_target.services.project_iam_policy()["bindings"] == gcp_target.services.project_iam_policy()["bindings"]
    # Resource Manager v3, asked for policy version 3
    (asked,) = [r for r in fake_apis.requests if r.path == "/v3/projects/nba-props-platform:getIamPolicy"]
    assert asked.method == "POST" and asked.body == {"options": {"requestedPolicyVersion": 3}}


def test_both_targets_read_the_same_folders_and_organisation_and_their_policies(local_target, gcp_target, fake_apis):
    """The project's ancestry (a folder, then the organisation) and each one's policy, as the audit reads them:
    the same on both targets, and nothing there that reaches the services."""
    ancestors = local_target.services.project_ancestors()
    assert ancestors == gcp_target.services.project_ancestors() == ["folders/290611488015",
                                                                    "organizations/418329165803"]
    for resource in ancestors:
        local, gcp = (t.services.ancestor_iam_policy(resource) for t in (local_target, gcp_target))
        assert set(local) == set(gcp) == {"version", "bindings", "etag"} and local["bindings"] == gcp["bindings"]
        assert not [b for b in local["bindings"] if b["role"] in INVOKER_ROLES]
    # v1 getAncestry, as gcloud projects get-ancestors-iam-policy; v3 getIamPolicy asked for version 3
    assert [r.method for r in fake_apis.requests if r.path == "/v1/projects/nba-props-platform:getAncestry"] == ["POST"]
    asked = [r for r in fake_apis.requests if r.path in ("/v3/folders/290611488015:getIamPolicy",
                                                          "/v3/organizations/418329165803:getIamPolicy")]
    assert len(asked) == 2 and all(r.body == {"options": {"requestedPolicyVersion": 3}} for r in asked)
    for target in (local_target, gcp_target):
        with pytest.raises(ParameterError, match="resource"):
            target.services.ancestor_iam_policy("projects/nba-props-platform")


def test_push_subscriptions_name_the_incident_subscriptions_without_a_token(target):
    for phase, service, topic in (("phase3", P3, "nba-phase2-complete"), ("phase4", P4, "nba-phase3-complete")):
        (sub,) = target.services.push_subscriptions(phase)
        assert sub.name == f"projects/{target.project}/subscriptions/{service}-push" and sub.short_name == f"{service}-push"
        assert sub.topic == f"projects/{target.project}/topics/{topic}"
        assert sub.push_endpoint == f"https://{service}-756957797294.us-west2.run.app/process"
        assert (sub.service_account, sub.audience, sub.has_token) == ("", "", False)
    with pytest.raises(ParameterError):
        target.services.push_subscriptions("phase9")


def test_health_shapes_for_200_401_and_403(target):
    services = target.services
    forbidden = services.health("phase4")
    assert set(forbidden) == {"http_status", "error"} and forbidden["http_status"] == 403
    assert "permission" in forbidden["error"] and "/health" in forbidden["error"] and "\n" not in forbidden["error"]
    unauthorized = services.health("phase4", token="not-a-token-anyone-issued")
    assert set(unauthorized) == {"http_status", "error"} and unauthorized["http_status"] == 401
    token = services.identity_token(phase="phase4")
    assert isinstance(token, str) and token
    ok = services.health("phase4", token=token)
    assert ok["http_status"] == 200 and ok["status"] == "healthy" and ok["service"] == P4
    # the incident: Phase 3 serves Phase 4's code, and its /health says so
    assert services.health("phase3", token=services.identity_token(phase="phase3"))["service"] == P4


# ---------------------------------------------------------------- request logs


def test_request_logs_phase_or_service_name_and_newest_first(target):
    logs = target.logs
    by_phase = logs.request_logs("phase4", since=NIGHT_START, until=MORNING)
    assert by_phase and {e["resource"]["labels"]["service_name"] for e in by_phase} == {P4}
    ids = [e["insertId"] for e in by_phase]
    assert [e["insertId"] for e in logs.request_logs(P4, since=NIGHT_START, until=MORNING)] == ids
    assert [e["insertId"] for e in logs.request_logs("4", since=NIGHT_START, until=MORNING)] == ids
    times = [_when(e["timestamp"]) for e in by_phase]
    assert times == sorted(times, reverse=True) and NIGHT_START <= times[-1] and times[0] < MORNING
    both = logs.request_logs(since=NIGHT_START, until=MORNING)
    assert {e["resource"]["labels"]["service_name"] for e in both} == {P3, P4}
    assert len(both) == len(by_phase) + len(logs.request_logs("phase3", since=NIGHT_START, until=MORNING))
    with pytest.raises(ParameterError) as caught:
        logs.request_logs("phase9", since=NIGHT_START)
    assert caught.value.parameter == "service"
    assert all(word in str(caught.value) for word in ("phase3", "phase4", P3, P4))


def test_request_logs_status_codes_and_classes(target):
    night = {"since": NIGHT_START, "until": MORNING}
    every = target.logs.request_logs("phase3", **night)
    codes = {e["httpRequest"]["status"] for e in every}
    assert {200, 403, 404} <= codes
    four = target.logs.request_logs("phase3", status="4xx", **night)
    assert four and {e["httpRequest"]["status"] for e in four} == {c for c in codes if 400 <= c < 500}
    assert [e["insertId"] for e in four] == [e["insertId"] for e in every if 400 <= e["httpRequest"]["status"] < 500]
    assert target.logs.request_logs("phase3", status="5xx", **night) == []
    only_403 = target.logs.request_logs("phase3", status=403, **night)
    assert only_403 and {e["httpRequest"]["status"] for e in only_403} == {403}
    mixed = target.logs.request_logs("phase3", status=[200, "4xx"], **night)
    assert len(mixed) == len(four) + len([e for e in every if e["httpRequest"]["status"] == 200])
    assert {e["httpRequest"]["status"] for e in target.logs.request_logs("phase3", status=[200, 404], **night)} \
        == {200, 404}


def test_request_logs_since_inclusive_until_exclusive(target):
    entries = target.logs.request_logs("phase4", since=IAM_FIX_AT, until=MORNING)
    stamps = [e["timestamp"] for e in entries]
    pick = next(e for e in entries if stamps.count(e["timestamp"]) == 1)
    at = _when(pick["timestamp"])
    tick = timedelta(microseconds=1)
    assert [e["insertId"] for e in target.logs.request_logs("phase4", since=at, until=at + tick)] == [pick["insertId"]]
    assert pick["insertId"] not in {e["insertId"] for e in target.logs.request_logs("phase4", since=at - timedelta(seconds=5),
                                                                                   until=at)}
    assert pick["insertId"] not in {e["insertId"] for e in target.logs.request_logs("phase4", since=at + tick,
                                                                                   until=at + timedelta(seconds=5))}
    # a date is midnight UTC; ISO text works too
    by_date = target.logs.request_logs("phase4", since="2025-12-30T18:00:00Z", until=MORNING.date())
    assert by_date and all(_when(e["timestamp"]) < datetime(2025, 12, 31, tzinfo=timezone.utc) for e in by_date)


def test_request_logs_limit_and_no_limit(target):
    night = {"since": NIGHT_START, "until": MORNING}
    every = target.logs.request_logs(**night)
    assert len(every) > 100   # more than two pages of the gcp fake
    assert target.logs.request_logs(limit=None, **night) == every
    assert [e["insertId"] for e in target.logs.request_logs("phase4", limit=5, **night)] == \
        [e["insertId"] for e in every if e["resource"]["labels"]["service_name"] == P4][:5]


def test_request_logs_default_window_is_the_last_24_hours(target):
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert target.services.health("phase4")["http_status"] == 403    # logged as Cloud Run logs every request
    recent = target.logs.request_logs("phase4")
    assert recent and all(_when(e["timestamp"]) >= since - REQUEST_LOG_WINDOW for e in recent)
    assert any(_when(e["timestamp"]) >= since and e["httpRequest"]["status"] == 403 for e in recent)
    # until alone: the 24 hours before it
    before_morning = target.logs.request_logs("phase4", until=MORNING)
    assert before_morning and all(MORNING - REQUEST_LOG_WINDOW <= _when(e["timestamp"]) < MORNING
                                  for e in before_morning)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"status": "403"}, "status"), ({"status": 42}, "status"), ({"status": "forbidden"}, "status"),
    ({"status": []}, "status"), ({"limit": 0}, "limit"), ({"limit": True}, "limit"), ({"since": "yesterday"}, "since"),
    ({"since": "2025-12-31", "until": "2025-12-30"}, "until"), ({"until": 5}, "until"),
])
def test_request_logs_reject_bad_arguments_the_same_way(target, kwargs, parameter):
    with pytest.raises(ParameterError) as caught:
        target.logs.request_logs("phase4", **kwargs)
    assert caught.value.parameter == parameter


# ---------------------------------------------------------------- the two targets side by side


# ---------------------------------------------------------------- builds: Artifact Registry's repositories


def test_a_repository_is_looked_up_and_when_missing_the_others_are_listed(target):
    from runbook_lib.protocols import RepositoryCheck

    found = target.builds.check_repository("cloud-run-source-deploy", "us-west2")
    assert found == RepositoryCheck("cloud-run-source-deploy", "us-west2", True)
    missing = target.builds.check_repository("no-such-repo", "us-west2")
    assert (missing.exists, missing.others, missing.note) == (False, ("cloud-run-source-deploy",), "")
    elsewhere = target.builds.check_repository("cloud-run-source-deploy", "europe-west1")
    assert (elsewhere.exists, elsewhere.others) == (False, ())
    with pytest.raises(ParameterError):
        target.builds.check_repository("Not_A_Repo", "us-west2")


def test_both_targets_describe_the_same_services_and_logs(local_target, gcp_target):
    """Beyond the same assertions: given the same state, the two adapters return the same values."""
    where = {"url", "running", "pid", "code_phase"}   # how to reach it, and sandbox-only knowledge
    for phase in ("phase3", "phase4"):
        local, gcp = local_target.services.describe(phase).to_dict(), gcp_target.services.describe(phase).to_dict()
        for info in (local, gcp):   # each serving revision carries code_phase too: sandbox-only knowledge
            info["serving"] = [{k: v for k, v in r.items() if k not in where} for r in info["serving"]]
        assert {k: v for k, v in local.items() if k not in where} == {k: v for k, v in gcp.items() if k not in where}
        strip = [{k: v for k, v in r.to_dict().items() if k not in where}
                 for r in local_target.services.list_revisions(phase)]
        assert strip == [{k: v for k, v in r.to_dict().items() if k not in where}
                         for r in gcp_target.services.list_revisions(phase)]
        assert local_target.services.iam_policy(phase)["bindings"] == gcp_target.services.iam_policy(phase)["bindings"]
        assert local_target.services.push_subscriptions(phase) == gcp_target.services.push_subscriptions(phase)
    query = {"since": IAM_FIX_AT, "until": MORNING, "status": "4xx"}
    assert local_target.logs.request_logs("phase4", **query) == gcp_target.logs.request_logs("phase4", **query)


def test_both_targets_count_the_same_production_rows(local_target, gcp_target):
    """The overview's table counts, pushed down to the sandbox's DuckDB and to BigQuery (the fake over the
    same file) through the real client: the same frames, dates as dates."""
    local_summary, local_daily = output_tables(local_target)
    gcp_summary, gcp_daily = output_tables(gcp_target)
    pd.testing.assert_frame_equal(local_summary, gcp_summary)
    pd.testing.assert_frame_equal(local_daily, gcp_daily)
    assert len(local_daily) and isinstance(local_daily.day.iloc[0], date)
    assert local_target.warehouse.list_datasets() == gcp_target.warehouse.list_datasets()


def test_the_overview_counts_tables_that_require_a_partition_filter(local_target, gcp_target, bigquery_over_sandbox):
    """Big production tables often set require_partition_filter, and BigQuery refuses any query of one without a
    filter on its partition column: the counts come from the partitions' metadata, the same as the sandbox's."""
    tables = [t.ref for t in local_target.phases.all_tables() if local_target.warehouse.table_exists(t.ref)]
    bigquery_over_sandbox.require_partition_filter = set(tables)
    with pytest.raises(WarehouseQueryError, match="without a filter over column"):   # the fake refuses as BigQuery
        gcp_target.warehouse.query(f"SELECT COUNT(*) AS n FROM {tables[0]}")
    local_summary, local_daily = output_tables(local_target)
    gcp_summary, gcp_daily = output_tables(gcp_target)
    pd.testing.assert_frame_equal(local_summary, gcp_summary)
    pd.testing.assert_frame_equal(local_daily, gcp_daily)
    assert int(gcp_summary["rows"].sum()) > 0 and not gcp_summary["note"].astype(bool).any()
