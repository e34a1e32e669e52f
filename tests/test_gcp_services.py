"""GcpServices with the real run_v2 client over REST against the local fake."""
import os
import subprocess

import pytest

from fakes.fixtures import PHASE4_FAILED_ID, PROJECT, make_fake_gcloud
from fakes.server import Reply
from runbook_lib import target as target_mod
from runbook_lib.errors import AccessDenied, NotFoundError, ParameterError, RunbookError
from runbook_lib.gcp import identity_tokens

P4 = "nba-phase4-precompute-processors"
NAME = f"projects/{PROJECT}/locations/us-west2/services/{P4}"
PUBSUB = "serviceAccount:pubsub-push@nba-props-platform.iam.gserviceaccount.com"
PUSH_TOKEN = "token-the-fake-issued-to-pubsub-push"


def _load(fake, source_sha: str, public: bool = False):
    url = f"{fake.endpoint}/svc/{P4}"
    fake.run_services[NAME] = {
        "name": NAME, "uri": url, "latestReadyRevision": f"{NAME}/revisions/{P4}-00029-fdx",
        "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00029-fdx", "percent": 100}],
        "invokerIamDisabled": False,
    }
    fake.run_revisions[NAME] = [
        {"name": f"{NAME}/revisions/{P4}-00029-fdx", "labels": {"commit-sha": source_sha},
         "containers": [{"image": f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}@sha256:ab"}],
         "createTime": "2025-12-29T23:13:37Z"},
        {"name": f"{NAME}/revisions/{P4}-00028-qwe", "labels": {"commit-sha": "0000000"},
         "containers": [{"image": "old"}], "createTime": "2025-12-20T10:00:00Z"},
    ]
    members = ["serviceAccount:pubsub-push@nba-props-platform.iam.gserviceaccount.com"] + (["allUsers"] if public else [])
    fake.run_policies[NAME] = {"version": 1, "etag": "BwYx", "bindings": [{"role": "roles/run.invoker", "members": members}]}
    fake.service_health[P4] = {"status": "healthy", "service": P4}
    fake.identity_tokens[PUSH_TOKEN] = PUBSUB


@pytest.fixture
def gcp(fake_apis):
    _load(fake_apis, "abc1234")
    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint, "logging": fake_apis.endpoint,
                                                               "pubsub": fake_apis.endpoint})
    yield tg
    tg.close()


@pytest.fixture
def repo(tmp_path):
    """A checkout where the prefix commit comes after the serving revision's commit."""
    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "old")
    old = git("rev-parse", "--short=7", "HEAD")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "prefix")
    prefix = git("rev-parse", "HEAD")
    return tmp_path, old, prefix


def test_describe_reads_revision_commit_iam_and_prefix_support(fake_apis, repo, tmp_path):
    path, old_sha, prefix_sha = repo
    _load(fake_apis, old_sha)
    phases_file = tmp_path / "phases.yaml"
    from runbook_lib.phases import DEFAULT_PHASES_FILE

    phases_file.write_text(DEFAULT_PHASES_FILE.read_text().replace("5ee366a", prefix_sha[:7]))
    tg = target_mod.connect("gcp", project=PROJECT, phases_file=str(phases_file), source_dir=str(path),
                            endpoints={"run": fake_apis.endpoint})
    try:
        info = tg.services.describe("phase4")
        assert info.revision == f"{P4}-00029-fdx"
        assert info.commit_sha == old_sha             # the revision's commit-sha label
        assert info.commit_sha_full == subprocess.run(["git", "-C", str(path), "rev-parse", old_sha], check=True,
                                                      capture_output=True, text=True).stdout.strip()
        assert info.supports_prefix is False          # the serving code predates dataset_prefix
        assert info.public is False and info.code_phase == "" and info.pid is None
        assert info.invoker_members == [PUBSUB]
        revisions = tg.services.list_revisions("phase4")
        assert [r.name for r in revisions] == [f"{P4}-00029-fdx", f"{P4}-00028-qwe"]
        assert revisions[1].commit_sha_full is None and revisions[1].supports_prefix is None  # unknown to git
        assert tg.services.health("phase4", token=PUSH_TOKEN) == {"http_status": 200, "status": "healthy",
                                                                  "service": P4}
    finally:
        tg.close()
    paths = fake_apis.paths("GET")
    assert f"/v2/{NAME}" in paths and f"/v2/{NAME}:getIamPolicy" in paths and f"/v2/{NAME}/revisions" in paths


def test_describe_lists_every_revision_with_traffic_most_first(fake_apis, gcp):
    """A split sends each revision its share of the requests: describe names all of them, not just the first."""
    fake_apis.run_services[NAME]["trafficStatuses"] = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00028-qwe", "percent": 10},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00029-fdx", "percent": 90},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00027-zzz", "percent": 0, "tag": "old"}]
    info = gcp.services.describe("phase4")
    assert info.revision == f"{P4}-00029-fdx" and info.commit_sha == "abc1234"
    assert [(r.name, r.percent, r.commit_sha, r.image) for r in info.serving] == [
        (f"{P4}-00029-fdx", 90, "abc1234", f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}@sha256:ab"),
        (f"{P4}-00028-qwe", 10, "0000000", "old")]
    assert info.to_dict()["serving"][1]["percent"] == 10
    fake_apis.requests.clear()
    assert gcp.services.traffic_now("phase4") == [(r.name, r.percent) for r in info.serving]
    assert fake_apis.paths("GET") == [f"/v2/{NAME}"]   # the replay's check before every call: one read


def test_traffic_now_before_cloud_run_names_the_revisions_is_the_latest_ready_one(fake_apis, gcp):
    fake_apis.run_services[NAME]["trafficStatuses"] = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]
    assert gcp.services.traffic_now("phase4") == [(r.name, r.percent) for r in gcp.services.describe("phase4").serving]
    assert gcp.services.traffic_now("phase4") == [(f"{P4}-00029-fdx", 100)]


def test_all_users_binding_makes_the_service_public(fake_apis):
    _load(fake_apis, "abc1234", public=True)
    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint})
    try:
        info = tg.services.describe("phase4")
        assert info.public is True and info.supports_prefix is None   # no checkout given: unknown
        assert info.commit_sha == "abc1234" and info.commit_sha_full is None
        assert tg.services.health("phase4")["http_status"] == 200     # public: no token needed
    finally:
        tg.close()


@pytest.mark.parametrize("bindings, disabled, public, invokers", [
    ([{"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}], False, True, ["allAuthenticatedUsers"]),
    ([{"role": "roles/run.invoker", "members": [PUBSUB]}], True, True, [PUBSUB]),        # --no-invoker-iam-check
    # a conditional binding neither makes it public nor lets anyone in unconditionally
    ([{"role": "roles/run.invoker", "members": ["allUsers"],
       "condition": {"title": "until 2026", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}}],
     False, False, []),
    # roles that carry run.routes.invoke name invokers; roles/viewer does not
    ([{"role": "roles/run.developer", "members": ["user:dev@example.com"]},
      {"role": "roles/editor", "members": ["group:ops@example.com"]},
      {"role": "roles/viewer", "members": ["user:auditor@example.com"]}], False, False,
     ["user:dev@example.com", "group:ops@example.com"]),
])
def test_public_and_invokers_follow_the_shared_definition(fake_apis, gcp, bindings, disabled, public, invokers):
    fake_apis.run_policies[NAME] = {"version": 3, "etag": "BwYx", "bindings": bindings}
    fake_apis.run_services[NAME]["invokerIamDisabled"] = disabled
    info = gcp.services.describe("phase4")
    assert (info.public, info.invoker_members) == (public, invokers)


def test_iam_policy_keeps_version_conditions_and_the_etag_text(fake_apis, gcp):
    condition = {"title": "until 2026", "expression": "request.time < timestamp('2026-01-01T00:00:00Z')"}
    fake_apis.run_policies[NAME] = {"version": 3, "etag": "BwYxAbC0dE8=", "bindings": [
        {"role": "roles/run.invoker", "members": [PUBSUB]},
        {"role": "roles/run.invoker", "members": ["allUsers"], "condition": condition}]}
    assert gcp.services.iam_policy("phase4") == {"version": 3, "etag": "BwYxAbC0dE8=", "bindings": [
        {"role": "roles/run.invoker", "members": [PUBSUB]},
        {"role": "roles/run.invoker", "members": ["allUsers"], "condition": condition}]}


def test_health_error_bodies_are_one_line(fake_apis, gcp):
    forbidden = gcp.services.health("phase4")
    assert forbidden == {"http_status": 403, "error": "Error: Forbidden Your client does not have permission to get "
                                                      "URL /health from this server."}
    unauthorized = gcp.services.health("phase4", token="forged")
    assert unauthorized["http_status"] == 401 and unauthorized["error"].startswith("Error: Unauthorized")
    assert set(unauthorized) == {"http_status", "error"}
    fake_apis.service_health[P4] = Reply("upstream\nconnect error", "text/plain")
    assert gcp.services.health("phase4", token=PUSH_TOKEN) == {"http_status": 200, "error": "upstream connect error"}
    fake_apis.service_health[P4] = Reply("[" * 3_000_000, "application/json")   # past the body cap: read as text
    assert gcp.services.health("phase4", token=PUSH_TOKEN)["error"].startswith("[[[")
    sent = [r for r in fake_apis.requests if r.path == f"/svc/{P4}/health"]
    assert "authorization" not in sent[0].headers and sent[1].headers["authorization"] == "Bearer forged"
    assert sent[0].headers["user-agent"].startswith("runbook-kit/")


def test_the_fakes_cloud_run_lets_in_a_caller_granted_an_invoke_role_on_the_project_or_above(fake_apis, gcp):
    """Cloud Run's IAM check evaluates the service's policy with its project's, folders' and organisation's: a
    member granted roles/run.invoker on the project (or its folder) is let in though the service names it nowhere."""
    analyst_token = "token-the-fake-issued-to-an-analyst"
    fake_apis.identity_tokens[analyst_token] = "user:analyst@example.com"
    assert gcp.services.health("phase4", token=analyst_token)["http_status"] == 403
    fake_apis.project_policies[PROJECT] = {"version": 1, "etag": "BwY=", "bindings": [
        {"role": "roles/run.invoker", "members": ["user:analyst@example.com"]}]}
    assert gcp.services.health("phase4", token=analyst_token)["http_status"] == 200
    assert gcp.services.health("phase4")["http_status"] == 403   # no token: still refused
    fake_apis.project_policies[PROJECT] = {"version": 1, "etag": "BwY=", "bindings": []}
    fake_apis.project_ancestry[PROJECT] = ["folders/1", "organizations/2"]
    fake_apis.ancestor_policies["organizations/2"] = {"version": 1, "etag": "BwY=", "bindings": [
        {"role": "roles/run.invoker", "members": ["allAuthenticatedUsers"]}]}
    assert gcp.services.health("phase4", token=analyst_token)["http_status"] == 200


def test_the_fakes_cloud_run_check_takes_every_invoke_role_and_evaluates_expirable_access(fake_apis, gcp):
    """Cloud Run lets in every role with run.routes.invoke and evaluates a binding's condition; the fake skipped
    every conditional binding and knew five roles."""
    from fakes.server import INVOKE_ROLES
    from runbook_lib.services import INVOKER_ROLES

    assert INVOKE_ROLES == set(INVOKER_ROLES)

    def until(moment: str, expression: str = 'request.time < timestamp("{}")') -> dict:
        return {"title": "t", "expression": expression.format(moment)}

    grants = {"svc": ("roles/run.servicesInvoker", None), "temp": ("roles/run.invoker", until("2099-01-01T00:00:00Z")),
              "single": ("roles/run.invoker", until("2099-01-01T00:00:00Z", "request.time < timestamp('{}')")),
              "gone": ("roles/run.invoker", until("2020-01-01T00:00:00Z")),
              "unknown": ("roles/run.invoker", until("", 'request.path.startsWith("/health")'))}
    fake_apis.run_policies[NAME] = {"version": 3, "etag": "BwYx", "bindings": [
        {"role": role, "members": [f"user:{who}@example.com"], **({"condition": c} if c else {})}
        for who, (role, c) in grants.items()]}
    answered = {}
    for who in grants:
        fake_apis.identity_tokens[f"tok-{who}"] = f"user:{who}@example.com"
        answered[who] = gcp.services.health("phase4", token=f"tok-{who}")["http_status"]
    # a condition the fake cannot evaluate is refused as not granting, never let in by accident
    assert answered == {"svc": 200, "temp": 200, "single": 200, "gone": 403, "unknown": 403}


def _policy(version: int, etag: bytes, *bindings: tuple):
    from google.iam.v1 import policy_pb2
    from google.type import expr_pb2

    policy = policy_pb2.Policy(version=version, etag=etag)
    for role, members, expression in bindings:
        one = policy.bindings.add(role=role, members=members)
        if expression:
            one.condition.CopyFrom(expr_pb2.Expr(title="t", expression=expression))
    return policy


def test_the_fakes_set_iam_policy_refuses_what_iam_refuses(fake_apis, gcp):
    """IAM answers 409 ABORTED to a stale etag, and 400 INVALID_ARGUMENT to a condition on allUsers or
    allAuthenticatedUsers or to conditions in a policy that is not version 3; the fake stored any policy."""
    from google.api_core import exceptions

    from fakes.deploys import FakeDeploys

    FakeDeploys(fake_apis)
    run = gcp.services.clients.run
    etag = run.get_iam_policy(request={"resource": NAME, "options": {"requested_policy_version": 3}}).etag
    later, invoker = 'request.time < timestamp("2099-01-01T00:00:00Z")', "roles/run.invoker"
    refused = [(_policy(3, etag, (invoker, ["allUsers"], later)), 400, "allUsers"),
               (_policy(3, etag, (invoker, ["allAuthenticatedUsers"], later)), 400, "allAuthenticatedUsers"),
               (_policy(1, etag, (invoker, ["user:temp@example.com"], later)), 400, "version 3"),
               (_policy(3, b"stale", (invoker, [PUBSUB], None)), 409, "concurrent policy changes")]
    for policy, code, said in refused:
        with pytest.raises(exceptions.GoogleAPICallError) as caught:
            run.set_iam_policy(request={"resource": NAME, "policy": policy})
        assert caught.value.code == code and said in caught.value.message
    assert fake_apis.run_policies[NAME]["etag"] == "BwYx"   # nothing refused was stored
    taken = run.set_iam_policy(request={"resource": NAME, "policy": _policy(
        3, etag, (invoker, [PUBSUB], None), (invoker, ["user:temp@example.com"], later))})
    assert taken.etag != etag
    with pytest.raises(exceptions.GoogleAPICallError) as caught:   # the etag read before that change is stale now
        run.set_iam_policy(request={"resource": NAME, "policy": _policy(3, etag, (invoker, [PUBSUB], None))})
    assert caught.value.code == 409
    run.set_iam_policy(request={"resource": NAME, "policy": _policy(1, b"", (invoker, [PUBSUB], None))})   # no etag


def test_requests_are_logged_like_cloud_run(fake_apis, gcp):
    gcp.services.health("phase4", token=PUSH_TOKEN)
    gcp.services.request("phase4", "GET", "/.env")
    found = gcp.logs.request_logs("phase4")   # the default window: the last 24 hours
    assert [(e["httpRequest"]["status"], e["httpRequest"]["requestUrl"].rsplit("/", 1)[-1]) for e in found] == \
        [(403, ".env"), (200, "health")]
    with pytest.raises(ParameterError) as caught:
        gcp.services.request("phase4", "GET", "/health", remote_ip="45.148.10.174")
    assert caught.value.parameter == "remote_ip"


# ---------------------------------------------------------------- identity tokens


@pytest.fixture
def user_adc(monkeypatch):
    def refuse(audience):
        from google.auth.exceptions import DefaultCredentialsError

        raise DefaultCredentialsError("Neither metadata server or valid service account credentials are found.")

    monkeypatch.setattr(identity_tokens, "adc_id_token", refuse)


def _on_path(monkeypatch, gcloud) -> None:
    monkeypatch.setenv("PATH", f"{gcloud.bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_user_adc_falls_back_to_gcloud_without_an_audience(fake_apis, gcp, user_adc, monkeypatch, tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", "tok-user", account="operator@example.com")
    _on_path(monkeypatch, gcloud)
    assert gcp.services.identity_token(phase="phase4") == "tok-user"
    # gcloud refuses --audiences for user accounts, and Cloud Run accepts a user's plain token
    assert gcloud.calls() == [["config", "get-value", "account"], ["auth", "print-identity-token"]]


def test_a_service_account_in_gcloud_gets_the_service_url_as_audience(fake_apis, gcp, user_adc, monkeypatch, tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", "tok-sa", account="ci@nba-props-platform.iam.gserviceaccount.com")
    _on_path(monkeypatch, gcloud)
    assert gcp.services.identity_token(phase="phase4") == "tok-sa"
    assert gcloud.calls()[-1] == ["auth", "print-identity-token", f"--audiences={fake_apis.endpoint}/svc/{P4}"]


def test_a_service_account_principal_is_impersonated(fake_apis, gcp, monkeypatch, tmp_path):
    def must_not_be_used(audience):
        raise AssertionError("ADC mints tokens for its own identity, not for the principal asked for")

    monkeypatch.setattr(identity_tokens, "adc_id_token", must_not_be_used)
    gcloud = make_fake_gcloud(tmp_path / "bin", "tok-push")
    _on_path(monkeypatch, gcloud)
    assert gcp.services.identity_token(PUBSUB, phase="phase4") == "tok-push"
    assert gcloud.calls() == [["auth", "print-identity-token",
                               "--impersonate-service-account=pubsub-push@nba-props-platform.iam.gserviceaccount.com",
                               f"--audiences={fake_apis.endpoint}/svc/{P4}", "--include-email"]]


def test_adc_that_can_mint_tokens_is_used_first(fake_apis, gcp, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(identity_tokens, "adc_id_token", lambda audience: seen.append(audience) or "tok-adc")
    gcloud = make_fake_gcloud(tmp_path / "bin", "tok-user")
    _on_path(monkeypatch, gcloud)
    assert gcp.services.identity_token(phase="phase4") == "tok-adc"
    assert seen == [f"{fake_apis.endpoint}/svc/{P4}"] and gcloud.calls() == []


@pytest.mark.parametrize("principal", ["user:someone@example.com", "operator@sandbox.local", "allUsers", 42])
def test_principals_gcp_cannot_mint_for_are_rejected(gcp, principal, monkeypatch, tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", "tok")
    _on_path(monkeypatch, gcloud)
    with pytest.raises(ParameterError) as caught:
        gcp.services.identity_token(principal)
    assert caught.value.parameter == "principal" and "serviceAccount:" in str(caught.value)
    assert gcloud.calls() == []


def test_without_gcloud_the_error_says_how_to_provide_a_token(gcp, user_adc, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))   # an empty folder: no gcloud
    with pytest.raises(RunbookError) as caught:
        gcp.services.identity_token(phase="phase4")
    message = str(caught.value)
    assert "gcloud is not on PATH" in message and "gcloud auth print-identity-token" in message
    assert "\n" not in message and message.endswith(".")


def test_a_failing_gcloud_is_reported_in_one_sentence(gcp, user_adc, monkeypatch, tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", "", fail="You do not currently have an active account selected.")
    _on_path(monkeypatch, gcloud)
    with pytest.raises(RunbookError, match="You do not currently have an active account selected.*gcloud auth login"):
        gcp.services.identity_token(phase="phase4")


def test_a_refused_impersonation_is_one_sentence_naming_the_account_and_the_role(gcp, monkeypatch, tmp_path):
    gcloud = make_fake_gcloud(tmp_path / "bin", "", fail="Permission 'iam.serviceAccounts.getOpenIdToken' denied.")
    _on_path(monkeypatch, gcloud)
    with pytest.raises(RunbookError) as caught:
        gcp.services.identity_token(PUBSUB, phase="phase4")
    email = PUBSUB.split(":", 1)[1]
    assert str(caught.value) == (
        f"`gcloud auth print-identity-token --impersonate-service-account={email}` failed: ERROR: "
        f"(gcloud.auth.print-identity-token) Permission "
        f"'iam.serviceAccounts.getOpenIdToken' denied.; impersonating it needs roles/iam.serviceAccountTokenCreator "
        f"on {email} for your account.")


# ---------------------------------------------------------------- connect: offline, shared clients, close


def test_connect_is_offline_and_the_adapters_share_the_targets_clients(fake_apis, monkeypatch):
    import google.auth

    def no_adc(*args, **kwargs):
        raise AssertionError("credentials were resolved")

    monkeypatch.setattr(google.auth, "default", no_adc)
    target_mod.connect("gcp", project=PROJECT).close()   # no endpoints: production clients, never built

    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"cloudbuild": fake_apis.endpoint,
                                                               "logging": fake_apis.endpoint})
    clients = tg.services.clients
    assert clients._built == {}
    assert tg.builds.get(PHASE4_FAILED_ID)["id"] == PHASE4_FAILED_ID
    tg.logs.request_logs("phase4")
    assert set(clients._built) == {"cloudbuild", "logging"}
    # The shared client (behind its timeout guard), not a second one.
    assert tg.builds.client.list_builds.__wrapped__.__self__ is clients.cloudbuild.unwrapped
    assert tg.logs.cloud_logging.client.list_entries.__wrapped__.__self__ is clients.logging.unwrapped
    tg.close()
    assert clients._built == {}


def test_missing_service_is_named(fake_apis):
    tg = target_mod.connect("gcp", project=PROJECT, endpoints={"run": fake_apis.endpoint})
    try:
        with pytest.raises(NotFoundError, match=f"Cloud Run service {NAME} was not found"):
            tg.services.describe("phase4")
    finally:
        tg.close()


def test_unknown_connect_option_is_rejected():
    with pytest.raises(ValueError, match="connect option='zone' is not valid: target=gcp accepts"):
        target_mod.connect("gcp", zone="x")


def test_user_adc_is_recognised_without_probing_the_metadata_server(monkeypatch, tmp_path):
    from google.oauth2 import id_token

    def probe(*args, **kwargs):
        raise AssertionError("fetch_id_token was called for user credentials")

    (tmp_path / "application_default_credentials.json").write_text('{"type": "authorized_user"}')
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setattr(id_token, "fetch_id_token", probe)
    with pytest.raises(RunbookError, match="user credentials"):
        identity_tokens.adc_id_token("https://example.run.app")
    (tmp_path / "application_default_credentials.json").write_text('{"type": "service_account"}')
    monkeypatch.setattr(id_token, "fetch_id_token", lambda request, audience: f"minted for {audience}")
    assert identity_tokens.adc_id_token("https://example.run.app") == "minted for https://example.run.app"


def test_adc_is_not_tried_again_once_it_could_not_mint(fake_apis, gcp, monkeypatch, tmp_path):
    tried = []

    def refuse(audience):
        tried.append(audience)
        raise RunbookError("user credentials")

    monkeypatch.setattr(identity_tokens, "adc_id_token", refuse)
    _on_path(monkeypatch, make_fake_gcloud(tmp_path / "failing", "", fail="You do not currently have an active account."))
    for _ in range(2):   # also when gcloud then fails: runbook 00 asks once per phase, each a metadata-server probe
        with pytest.raises(RunbookError, match="active account"):
            gcp.services.identity_token(phase="phase4")
    assert len(tried) == 1
    _on_path(monkeypatch, make_fake_gcloud(tmp_path / "bin", "tok-user"))
    assert [gcp.services.identity_token(phase="phase4") for _ in range(2)] == ["tok-user", "tok-user"]
    assert len(tried) == 1


# ---------------------------------------------------------------- Pub/Sub push subscriptions


def _subscription(name: str, endpoint: str | None, account: str = "", project: str = PROJECT) -> dict:
    sub = {"name": f"projects/{project}/subscriptions/{name}", "topic": f"projects/{project}/topics/t-{name}",
           "ackDeadlineSeconds": 60}
    if endpoint is not None:
        sub["pushConfig"] = {"pushEndpoint": endpoint}
        if account:
            sub["pushConfig"]["oidcToken"] = {"serviceAccountEmail": account, "audience": "aud-" + name}
    return sub


def test_push_subscriptions_page_to_the_end_and_keep_those_that_push_to_the_service(fake_apis, gcp):
    run_app = f"https://{P4}-756957797294.us-west2.run.app"
    fake_apis.run_services[NAME]["urls"] = [run_app, f"https://{P4}-h4sh-wl.a.run.app"]
    fake_apis.pubsub_subscriptions = (
        [_subscription(f"other-{i:02d}", f"https://elsewhere-{i}.run.app/push") for i in range(7)]
        + [_subscription("p4-plain", run_app + "/process"),
           _subscription("p4-token", f"https://{P4}-h4sh-wl.a.run.app/process", account="push@p.iam.gserviceaccount.com"),
           _subscription("p4-pull", None),
           _subscription("z-p4-uri", fake_apis.run_services[NAME]["uri"] + "/x")]
        + [_subscription("p4-foreign", run_app + "/process", project="another-project")])
    fake_apis.max_page_size = 3
    subs = gcp.services.push_subscriptions("phase4")
    assert [s.short_name for s in subs] == ["p4-plain", "p4-token", "z-p4-uri"]
    plain, token = subs[0], subs[1]
    assert (plain.topic, plain.push_endpoint, plain.has_token) == (
        f"projects/{PROJECT}/topics/t-p4-plain", run_app + "/process", False)
    assert (token.service_account, token.audience, token.has_token) == ("push@p.iam.gserviceaccount.com",
                                                                        "aud-p4-token", True)
    listed = [r for r in fake_apis.requests if r.path == f"/v1/projects/{PROJECT}/subscriptions"]
    assert len(listed) == 4   # 11 subscriptions of the project, 3 a page: every page was read


def test_push_subscriptions_say_whether_pushes_are_unwrapped(fake_apis, gcp):
    """pushConfig.noWrapper (with or without writeMetadata) survives the REST client, as the fix must say it again."""
    run_app = f"https://{P4}-756957797294.us-west2.run.app"
    fake_apis.run_services[NAME]["urls"] = [run_app]
    raw, meta, wrapped = (_subscription(name, run_app + "/process") for name in ("p4-raw", "p4-meta", "p4-wrapped"))
    raw["pushConfig"]["noWrapper"] = {}
    meta["pushConfig"]["noWrapper"] = {"writeMetadata": True}
    fake_apis.pubsub_subscriptions = [raw, meta, wrapped]
    subs = {s.short_name: (s.no_wrapper, s.write_metadata) for s in gcp.services.push_subscriptions("phase4")}
    assert subs == {"p4-raw": (True, False), "p4-meta": (True, True), "p4-wrapped": (False, False)}


def test_push_subscriptions_refused_names_the_role(fake_apis, gcp):
    fake_apis.refuse(f"/v1/projects/{PROJECT}/subscriptions", 403, "User not authorized to perform this action.")
    with pytest.raises(AccessDenied) as caught:
        gcp.services.push_subscriptions("phase4")
    message = str(caught.value)
    assert "roles/pubsub.viewer" in message and "User not authorized" in message and PROJECT in message


# ---------------------------------------------------------------- what image a revision runs

AR = f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy"
SIDECAR = {"name": "otel", "image": "otel/opentelemetry-collector:0.98"}


def _digest(letter: str) -> str:
    return "sha256:" + letter * 64


def test_a_revisions_image_is_its_ingress_containers_not_a_sidecar_listed_first(fake_apis, gcp):
    """Cloud Run sends the requests to the container with ports; a sidecar is the same in every revision, so reading
    it hid which code each revision of a split runs."""
    fake_apis.run_revisions[NAME][0].update(
        containers=[SIDECAR, {"name": "app", "image": f"{AR}/{P4}:v2", "ports": [{"containerPort": 8080}]}],
        containerStatuses=[{"name": "otel", "imageDigest": f"docker.io/otel/opentelemetry-collector@{_digest('0')}"},
                           {"name": "app", "imageDigest": f"{AR}/{P4}@{_digest('a')}"}])
    fake_apis.max_page_size = 1   # read by hand (the client drops containerStatuses): every page still read
    revisions = gcp.services.list_revisions("phase4")
    assert [r.name for r in revisions] == [f"{P4}-00029-fdx", f"{P4}-00028-qwe"]
    assert (revisions[0].image, revisions[0].image_digest) == (f"{AR}/{P4}:v2", _digest("a"))
    serving = gcp.services.describe("phase4").serving[0]
    assert (serving.image, serving.image_digest) == (f"{AR}/{P4}:v2", _digest("a"))


@pytest.mark.parametrize("status", [{"imageDigest": _digest("b")}, {"name": "app-1", "imageDigest": _digest("b")},
                                    {"imageDigest": f"gcr.io/{PROJECT}/{P4}@{_digest('b')}"}])
def test_a_lone_containers_resolved_digest_is_read_named_or_not_bare_or_pinned(fake_apis, gcp, status):
    fake_apis.run_revisions[NAME][0]["containerStatuses"] = [status]
    assert gcp.services.list_revisions("phase4")[0].image_digest == _digest("b")
    fake_apis.run_revisions[NAME][0].pop("containerStatuses")
    assert gcp.services.list_revisions("phase4")[0].image_digest == ""   # not said: unknown


def test_a_latest_target_and_a_revision_target_naming_one_revision_are_one_serving_revision(fake_apis, gcp):
    """`update-traffic --to-revisions=LATEST=50,R=50` while R is the latest: R serves 100%, not a split with itself."""
    fake_apis.run_services[NAME]["trafficStatuses"] = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "revision": f"{P4}-00029-fdx", "percent": 50},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00029-fdx", "percent": 50}]
    info = gcp.services.describe("phase4")
    assert [(r.name, r.percent) for r in info.serving] == [(f"{P4}-00029-fdx", 100)]
    assert gcp.services.traffic_now("phase4") == [(f"{P4}-00029-fdx", 100)]
    assert gcp.services.list_revisions("phase4")[0].traffic_percent == 100


def test_shares_of_one_revision_are_summed_before_the_most_is_chosen(fake_apis, gcp):
    fake_apis.run_services[NAME]["trafficStatuses"] = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00028-qwe", "percent": 40},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "revision": f"{P4}-00029-fdx", "percent": 30},
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": f"{P4}-00029-fdx", "percent": 30}]
    info = gcp.services.describe("phase4")
    assert info.revision == f"{P4}-00029-fdx" and info.commit_sha == "abc1234"
    assert [(r.name, r.percent) for r in info.serving] == [(f"{P4}-00029-fdx", 60), (f"{P4}-00028-qwe", 40)]
    assert gcp.services.traffic_now("phase4") == [(f"{P4}-00029-fdx", 60), (f"{P4}-00028-qwe", 40)]
