"""The incident night of 2025-12-30 as the sandbox replays it: what `runbook sandbox init` sets up.

After init the sandbox looks like the platform at 08:00 UTC on 2025-12-31:
- production nba_analytics / nba_precompute filled over every sample date by the code that served
  before the head commit, which corrects two computations (local/corrections.py): a prefixed replay
  with head code differs from production in exactly those columns;
- Phase 3 serves a revision built from the head commit (honours dataset_prefix);
- Phase 4 still serves nba-phase4-precompute-processors-00029-fdx, built from the commit BEFORE
  dataset_prefix support: a prefixed Phase 4 run would write production;
- the night's security fix removed allUsers, so Phase 3 is private; Phase 4 also had
  allAuthenticatedUsers, which `--no-allow-unauthenticated` and removing allUsers leave in place, so
  Phase 4 is still public (any Google account may call it);
- the pipeline's Pub/Sub push subscriptions send no OIDC token, and the request log holds the
  night's traffic: those pushes (403 after the fix), scanner probes (404 from the app before it),
  the operator's and the scheduler's authenticated calls (night_of_requests);
- Cloud Build's history holds the night's deploy race: both deploy scripts ran at once from one
  checkout, and Phase 4's build fell back to buildpacks and failed (seed_incident_builds).
"""
from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..phases import PhaseRegistry
from .builds import BuildOutcome, LocalBuilds
from .home import SandboxHome
from .logs import request_entry
from .service_iam import OPERATOR
from .services import revision_record, source_image
from .source_repo import SourceRepo

# The incident night, UTC.
NIGHT_START = datetime(2025, 12, 30, 18, 0, tzinfo=timezone.utc)
IAM_FIX_AT = datetime(2025, 12, 30, 22, 41, 17, tzinfo=timezone.utc)   # allUsers removed
PHASE3_DEPLOY_STARTED = datetime(2025, 12, 31, 1, 41, 3, tzinfo=timezone.utc)   # both deploy scripts start
PHASE3_REDEPLOY_AT = datetime(2025, 12, 31, 1, 47, 12, tzinfo=timezone.utc)
MORNING = datetime(2025, 12, 31, 8, 0, tzinfo=timezone.utc)

PUBSUB_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
SCHEDULER_USER_AGENT = "Google-Cloud-Scheduler"
OPERATOR_IP = "73.158.64.21"
LOG_SEED = 20251231

INCIDENT_BUILD_ID = "c3c052da-ddd1-46eb-9d3a-7219a9909377"   # Phase 4's failed build, the one runbook 01 finds
_BUILD_NS = uuid.UUID("5f1e0c2a-8d7b-4c6e-9a1f-3b2d4e6f8a10")   # the other seeded builds' ids: the same every init


def pubsub_push_member(project: str) -> str:
    return f"serviceAccount:pubsub-push@{project}.iam.gserviceaccount.com"


def scheduler_member(project: str) -> str:
    return f"serviceAccount:scheduler-invoker@{project}.iam.gserviceaccount.com"


def run_app_url(phases: PhaseRegistry, service: str, region: str) -> str:
    """The service's Cloud Run URL, https://SERVICE-PROJECT_NUMBER.REGION.run.app (what the night's
    request log and the push subscriptions name; the sandbox itself answers on 127.0.0.1)."""
    return f"https://{service}-{phases.project_number or '0'}.{region}.run.app"


# ---------------------------------------------------------------- services and subscriptions


def incident_services(phases: PhaseRegistry, repo: SourceRepo) -> dict:
    """Revisions, traffic and IAM of both services on the incident morning."""
    before, head = repo.commits["before_prefix"], repo.commits["head"]
    history = {
        # phase: [(number, commit, created, fixed suffix or None)], oldest first; the last serves.
        "phase3": [(39, before, "2025-12-29T22:31:05Z", None), (40, before, "2025-12-29T22:58:31Z", None),
                   (41, head, PHASE3_REDEPLOY_AT.strftime("%Y-%m-%dT%H:%M:%SZ"), None)],
        "phase4": [(27, before, "2025-12-29T22:35:18Z", None), (28, before, "2025-12-29T22:58:02Z", None),
                   (29, before, "2025-12-29T23:13:37Z", "fdx")],
    }
    invokers = sorted([OPERATOR, pubsub_push_member(phases.project), scheduler_member(phases.project)])
    # The night's fix (`--no-allow-unauthenticated`, then removing allUsers) left Phase 4's
    # allAuthenticatedUsers in place: any Google account may still call it.
    left_public = {"phase4": ["allAuthenticatedUsers"]}
    services = {}
    for name in phases.names():
        phase = phases.get(name)
        revisions = []
        for number, commit, created, suffix in history.get(name, history["phase3"]):
            image = source_image(phases.project, phase.region, phase.service, commit, build=f"{number:05d}")
            revisions.append(revision_record(phase.service, number, commit, image, commit != before, created,
                                             name, suffix=suffix))
        members = sorted(invokers + left_public.get(name, []))
        services[name] = {
            "service": phase.service, "region": phase.region, "urls": [run_app_url(phases, phase.service, phase.region)],
            "ingress": "all", "revisions": revisions,
            "traffic": [{"revisionName": revisions[-1]["name"], "percent": 100}],
            "iam_policy": {"version": 1, "bindings": [{"role": "roles/run.invoker", "members": members}]},
        }
    return services


def incident_subscriptions(phases: PhaseRegistry, services: dict) -> list[dict]:
    """Each phase's Pub/Sub push subscription (REST shape), pushing to /process WITHOUT an OIDC token:
    fine while the services were public, refused (403) by Cloud Run's IAM check since the fix."""
    return [{"name": f"projects/{phases.project}/subscriptions/{record['service']}-push",
             "topic": f"projects/{phases.project}/topics/nba-phase{phases.get(name).number - 1}-complete",
             "pushConfig": {"pushEndpoint": record["urls"][0] + "/process"}, "ackDeadlineSeconds": 600}
            for name, record in services.items()]


# ---------------------------------------------------------------- the night's request log


def night_of_requests(phases: PhaseRegistry, services: dict, seed: int = LOG_SEED) -> list[dict]:
    """Request-log entries for 2025-12-30 18:00 .. 2025-12-31 08:00 UTC, deterministic.

    Before IAM_FIX_AT both services were public (allUsers): everything reached the app, so the
    Pub/Sub pushes got 200 and scanner probes 404. The fix removed allUsers; the push
    subscriptions send no OIDC token, so from then on every push (and its retries) is a 403.
    """
    rng = random.Random(seed)
    entries: list[tuple[datetime, dict]] = []

    def add(name: str, when: datetime, method: str, path: str, status: int, ip: str, agent: str,
            latency: float, size: int) -> None:
        record = services[name]
        serving = [r for r in record["revisions"] if r["created"] <= when.strftime("%Y-%m-%dT%H:%M:%SZ")]
        revision = serving[-1]["name"] if serving else record["revisions"][0]["name"]
        base = run_app_url(phases, record["service"], record["region"])
        entries.append((when, request_entry(
            project=phases.project, service=record["service"], revision=revision, region=record["region"],
            method=method, url=base + path, status=status, remote_ip=ip, user_agent=agent,
            latency_s=latency, response_size=size, timestamp=when, insert_id=f"{rng.getrandbits(64):016x}",
            request_size=None)))

    names = phases.names()
    google_ips = ["66.102.8.%d" % n for n in (65, 66, 67, 70)] + ["66.249.83.%d" % n for n in (1, 3, 5, 34)]
    # Pub/Sub pushes to /process: one per topic message plus retries with backoff.
    for name in names:
        when = NIGHT_START + timedelta(seconds=rng.uniform(0, 120))
        while when < MORNING:
            public = when < IAM_FIX_AT
            attempts = 1 if public else rng.choice((1, 2, 2, 3))
            at = when
            for _ in range(attempts):
                add(name, at, "POST", "/process", 200 if public else 403, rng.choice(google_ips), PUBSUB_USER_AGENT,
                    rng.uniform(1.5, 9.0) if public else rng.uniform(0.0004, 0.004), 48 if public else 295)
                at += timedelta(seconds=rng.uniform(10, 60))
            when += timedelta(seconds=rng.uniform(240, 480))

    # Scanners: public addresses probing for secrets and admin pages.
    scanners = [("45.148.10.174", "Mozilla/5.0 zgrab/0.x"), ("185.220.101.47", "python-requests/2.31.0"),
                ("167.94.138.120", "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"),
                ("194.165.16.72", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
                ("8.218.91.23", "Go-http-client/1.1"), ("104.248.55.190", "curl/7.88.1")]
    probes = ["/.env", "/wp-login.php", "/.git/config", "/wp-admin/setup-config.php", "/phpmyadmin/index.php",
              "/actuator/env", "/admin", "/.aws/credentials", "/cgi-bin/luci", "/"]
    for ip, agent in scanners:
        when = NIGHT_START + timedelta(minutes=rng.uniform(0, (MORNING - NIGHT_START).total_seconds() / 60 - 30))
        for path in rng.sample(probes, rng.randint(2, 5)):
            for name in rng.sample(names, rng.randint(1, len(names))):
                public = when < IAM_FIX_AT
                add(name, when, "GET", path, 404 if public else 403, ip, agent,
                    rng.uniform(0.001, 0.01), 33 if public else 295)
                when += timedelta(seconds=rng.uniform(0.3, 4))

    # The operator: health checks while securing and redeploying, one forgotten token, a Phase 3 test.
    curl = "curl/8.5.0"
    operator_calls = [
        ("phase3", datetime(2025, 12, 30, 22, 44, 2), "GET", "/health", 403),   # no token after the fix
        ("phase3", datetime(2025, 12, 30, 22, 45, 31), "GET", "/health", 200),
        ("phase4", datetime(2025, 12, 30, 22, 46, 8), "GET", "/health", 200),
        ("phase3", datetime(2025, 12, 31, 1, 49, 40), "GET", "/health", 200),
        ("phase4", datetime(2025, 12, 31, 1, 55, 12), "GET", "/health", 200),
        ("phase3", datetime(2025, 12, 31, 1, 58, 3), "POST", phases.get("phase3").endpoint, 200),
    ]
    for name, when, method, path, status in operator_calls:
        if name in services:
            latency = rng.uniform(4, 30) if method == "POST" else rng.uniform(0.01, 0.2)
            add(name, when.replace(tzinfo=timezone.utc), method, path, status, OPERATOR_IP, curl, latency,
                295 if status == 403 else rng.randint(90, 1800))

    # Cloud Scheduler's nightly runs, with an OIDC token: Phase 3 then Phase 4.
    for name, when in (("phase3", datetime(2025, 12, 31, 6, 0, 4)), ("phase4", datetime(2025, 12, 31, 6, 30, 3))):
        if name in services:
            add(name, when.replace(tzinfo=timezone.utc), "POST", phases.get(name).endpoint, 200,
                "107.178.194.%d" % rng.randint(2, 250), SCHEDULER_USER_AGENT, rng.uniform(8, 40),
                rng.randint(900, 2400))
    entries.sort(key=lambda item: item[0])
    return [e for _, e in entries]


# ---------------------------------------------------------------- the deploy race's builds


def seed_incident_builds(home: SandboxHome, phases: PhaseRegistry, source: SourceRepo) -> list[BuildOutcome]:
    """Replay the night: both deploy scripts run at once from one checkout of head.

    Phase 3's script copies its Dockerfile to the root, Phase 4's overwrites it with its own, Phase 3's
    gcloud uploads (Docker build of Phase 4's code), Phase 3's script deletes ./Dockerfile, and then
    Phase 4's gcloud finds no root Dockerfile and falls back to buildpacks, which fail.
    """
    builds = LocalBuilds(home, phases)
    p3, p4 = phases.get("phase3"), phases.get("phase4")
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="deploy-race-") as tmp:
        # Dec 29: the last good deploys, one script at a time, from the commit before dataset_prefix.
        earlier = Path(tmp) / "earlier"
        subprocess.run(["git", "clone", "-q", str(source.path), str(earlier)], check=True, capture_output=True)
        subprocess.run(["git", "-C", str(earlier), "checkout", "-q", source.commits["before_prefix"]],
                       check=True, capture_output=True)
        for name, at in (("phase3", datetime(2025, 12, 29, 22, 52, 40, tzinfo=timezone.utc)),
                         ("phase4", datetime(2025, 12, 29, 23, 4, 11, tzinfo=timezone.utc))):
            shutil.copyfile(earlier / phases.get(name).dockerfile, earlier / "Dockerfile")
            outcomes.append(builds.source_deploy(name, earlier, when=at,
                                                 build_id=str(uuid.uuid5(_BUILD_NS, f"{name}-dec29"))))
            (earlier / "Dockerfile").unlink()
        # Dec 31: both scripts at once from one checkout of head.
        checkout = Path(tmp) / "checkout"
        shutil.copytree(source.path, checkout, symlinks=True)
        root_dockerfile = checkout / "Dockerfile"
        shutil.copyfile(checkout / p3.dockerfile, root_dockerfile)      # phase 3 script: cp
        shutil.copyfile(checkout / p4.dockerfile, root_dockerfile)      # phase 4 script: cp (overwrites)
        phase3 = builds.source_deploy("phase3", checkout, when=PHASE3_DEPLOY_STARTED + timedelta(seconds=12),
                                      build_id=str(uuid.uuid5(_BUILD_NS, "phase3-incident")))
        root_dockerfile.unlink()                                         # phase 3 script: rm ./Dockerfile
        phase4 = builds.source_deploy("phase4", checkout, when=PHASE3_DEPLOY_STARTED + timedelta(seconds=16),
                                      build_id=INCIDENT_BUILD_ID)
    return outcomes + [phase3, phase4]
