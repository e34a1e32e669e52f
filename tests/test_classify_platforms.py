"""What to do about a buildpacks failure depends on the product that ran the build (catalogue `platforms`).

A Cloud Run source deploy fell back to buildpacks because gcloud saw no Dockerfile: build the Dockerfile
explicitly. Cloud Functions, App Engine and App Hosting build only with buildpacks: that advice is wrong there.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.diagnose import classify_log, explain, load_catalogue, parse_catalogue
from runbook_lib.errors import ConfigError

LOGS = Path(__file__).parent / "fixtures" / "logs"
REAL = LOGS / "real"
DOCKERFILE_ADVICE = "--image"   # deploying an explicitly built image


def top(text: str):
    return classify_log(text)[0]


@pytest.mark.parametrize("name, signature, platform, says", [
    # Cloud Functions quoting npm's refusal on its own line (`Build failed: npm ERR! ...`)
    ("buildpacks-build-failed--firebase-functions-1395.txt", "buildpacks-build-failed", "cloud-functions",
     "GOOGLE_FUNCTION_TARGET"),
    # gcloud's own error prefix names the product: ERROR: (gcloud.functions.deploy) ...
    ("buildpacks-build-failed--functions-framework-go-65.txt", "buildpacks-build-failed", "cloud-functions",
     "deploy the function again"),
    ("buildpacks-build-failed--nytimes-library-381.txt", "buildpacks-build-failed", "app-engine", "gcloud app deploy"),
    ("buildpacks-build-failed--famfin-apphosting-next-cve.txt", "buildpacks-build-failed", "app-hosting",
     "apphosting:rollouts:create"),
    ("buildpacks-no-entrypoint--happycoding-java-11.txt", "buildpacks-no-entrypoint", "app-engine", "entrypoint:"),
])
def test_a_managed_products_buildpacks_failure_gets_that_products_advice(name, signature, platform, says):
    finding = top((REAL / name).read_text(errors="replace"))
    assert (finding.signature, finding.platform) == (signature, platform)
    fixes = " ".join(finding.fix)
    assert says in fixes
    # no Dockerfile to fall back to on these products, and the cause does not blame gcloud's Dockerfile check
    assert DOCKERFILE_ADVICE not in fixes and "no-use-google-dev-pack" not in fixes
    assert "Dockerfile when it ran" not in finding.cause and "found no top-level" not in finding.cause
    assert finding.to_dict()["platform"] == platform


def test_the_incidents_cloud_run_source_deploy_keeps_the_dockerfile_advice():
    finding = top((LOGS / "buildpacks-no-entrypoint-1.txt").read_text())
    sig = load_catalogue().get("buildpacks-no-entrypoint")
    assert finding.platform is None
    assert (finding.cause, finding.fix) == (sig.cause, list(sig.fix))
    assert any(DOCKERFILE_ADVICE in step for step in finding.fix)


def test_the_diagnosis_ranks_the_platforms_fixes():
    log = ("ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: npm ERR! code E404\n"
           "npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found; Error ID: 0f1e2d3c\n")
    diagnosis = explain(classify_log(log))
    assert diagnosis.verdict == "fail"
    assert diagnosis.findings[0].platform == "cloud-functions"
    assert diagnosis.fixes[0].startswith("Fix what the evidence lines name in the function's source")
    assert not any(DOCKERFILE_ADVICE in step for step in diagnosis.fixes)
    assert "Cloud Functions builds" in diagnosis.cause


def test_a_signature_without_advice_for_the_platform_keeps_its_own():
    # pip's failure is the same matter on every product
    log = ("ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: "
           "ERROR: Could not find a version that satisfies the requirement flask==99.0\n")
    finding = top(log)
    sig = load_catalogue().get("pip-install-failed")
    assert (finding.signature, finding.platform, finding.fix) == ("pip-install-failed", None, list(sig.fix))


def test_the_first_platform_listed_wins():
    cat = load_catalogue()
    both = "apphosting: building backend\nfunctions: updating Node.js 20 function api\n"
    assert cat.platform_of(both) == [p.name for p in cat.platforms][0] == "app-hosting"
    assert cat.platform_of("Step #0: nothing of the kind\n") is None


# ---- catalogue validation -------------------------------------------------------------------

def _doc(advice=None, platforms=None):
    entry = {"id": "thing", "title": "A thing", "weight": 10, "patterns": ["thing went wrong"],
             "cause": "It broke.", "fix": ["Fix it."]}
    if advice is not None:
        entry["platforms"] = advice
    unknown = {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}
    return {"platforms": platforms if platforms is not None else [{"name": "paas", "markers": ["paas deploy"]}],
            "signatures": [entry, unknown]}


def test_advice_for_a_platform_replaces_cause_and_fix_only_on_that_platform():
    cat = parse_catalogue(_doc({"paas": {"cause": "The PaaS broke it.", "fix": ["Redeploy on the PaaS."]}}))
    on_paas = classify_log("paas deploy app\nthing went wrong\n", cat)[0]
    elsewhere = classify_log("thing went wrong\n", cat)[0]
    assert (on_paas.platform, on_paas.cause, on_paas.fix) == ("paas", "The PaaS broke it.", ["Redeploy on the PaaS."])
    assert (elsewhere.platform, elsewhere.cause, elsewhere.fix) == (None, "It broke.", ["Fix it."])


@pytest.mark.parametrize("advice, platforms, message", [
    ({"heroku": {"cause": "c.", "fix": ["f"]}}, None, r"signature 'thing'.platforms names unknown platform 'heroku'"),
    ({"paas": {"cause": "c."}}, None, r"signature 'thing'.platforms.paas must have exactly a cause and a fix"),
    ({"paas": {"cause": "c.", "fix": []}}, None, r"signature 'thing'.platforms.paas.fix must be one or more steps"),
    (["paas"], None, r"signature 'thing'.platforms must map platform names"),
    (None, [{"name": "paas", "markers": ["paas deploy"], "fallback": "thing"}], r"a platform has no fallback"),
    (None, [{"name": "paas", "markers": ["(a|b)"]}], r"platform 'paas' marker pattern"),
])
def test_bad_platform_entries_are_config_errors_naming_the_entry(advice, platforms, message):
    with pytest.raises(ConfigError, match=message):
        parse_catalogue(_doc(advice, platforms))


def test_a_huge_log_is_searched_for_its_platform_near_either_end():
    from runbook_lib.diagnose.catalogue import PLATFORM_WINDOW
    cat = load_catalogue()
    filler = "Step #1: ordinary output\n" * (PLATFORM_WINDOW // 10)   # 2.5 windows of lines naming no product
    assert cat.platform_of("functions: updating Node.js 20 function api\n" + filler) == "cloud-functions"
    assert cat.platform_of(filler + "ERROR: (gcloud.app.deploy) Error Response: [9] Cloud build failed\n") == \
        "app-engine"
    # a product's lines only in the middle of a log that long are not its framing
    assert cat.platform_of(filler + "apphosting: building\n" + filler) is None
