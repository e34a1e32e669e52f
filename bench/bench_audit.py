"""What runbook 05's request-log analysis costs over a plain DuckDB aggregation of the same file.

A million Cloud Run request-log entries (about 850 MB of JSON lines, shaped as Cloud Logging returns
them: trace, resource labels, the httpRequest fields) are generated under a temporary folder.
Contenders, each in a fresh process so time and peak memory are its own, taking turns for ROUNDS rounds:

- peer: `SELECT service_name, status, count(*) FROM read_json(file) GROUP BY ALL` on a new DuckDB
  connection: one pass over the JSON, what a script would write;
- kit:  audit.RequestLog: load the file (only the fields the audit reads), classify every caller, and
  compute every table the runbook shows (timeline, classes, top refused, reached the app, refused pushes);
- runbook: audit.who_tried, the call runbook 05 makes, with the file as a sandbox's request log
  (logs/requests.jsonl, target.logs a LocalLogs): the window's entries of every phase's service, loaded,
  counted per service, classified and every table computed. No IAM policy is read (no access given), so
  the classification has no facts; that costs nothing measurable. Until 2026-12-04 this path parsed every
  entry in Python once per phase and sorted it, and the kit's figure hid it (1M entries: 136 s, 4.3 GB).

Target: kit and runbook each <= 3x the peer's time (median of the rounds), measured in the same run. Peak
memory (max RSS of each process) is shown, untargeted.
"""
from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ENTRIES = 1_000_000
ROUNDS = 3
TARGET = 3.0
SINCE = datetime(2025, 12, 30, 8, tzinfo=timezone.utc)
PROJECT, NUMBER, REGION = "nba-props-platform", "756957797294", "us-west2"
SERVICES = ("nba-phase3-analytics-processors", "nba-phase4-precompute-processors")

PEER_SQL = ("SELECT resource.labels.service_name AS service, httpRequest.status AS status, count(*) AS requests "
            "FROM read_json(?, format = 'newline_delimited') GROUP BY ALL ORDER BY ALL")

# (share, user agent, addresses, statuses): the incident night's callers, in proportion.
CALLERS = [
    (0.55, "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
     ["66.102.8.65", "66.102.8.66", "66.249.83.1", "66.249.83.34"], [403, 403, 403, 200]),
    (0.15, "Mozilla/5.0 zgrab/0.x", [f"45.148.10.{n}" for n in range(1, 60)], [403, 403, 404]),
    (0.10, "python-requests/2.31.0", [f"185.220.101.{n}" for n in range(1, 90)], [403, 404]),
    (0.08, "Google-Cloud-Scheduler", ["107.178.194.12", "107.178.194.40"], [200]),
    (0.07, "GoogleHC/1.0", ["35.191.10.4", "35.191.12.9"], [200]),
    (0.05, "curl/8.5.0", ["73.158.64.21"], [200, 403]),
]
PATHS = ["/process", "/health", "/.env", "/wp-login.php", "/.git/config", "/admin", "/process-date", "/"]


def _line(rng: random.Random, when: datetime) -> str:
    share = rng.random()
    for weight, agent, addresses, statuses in CALLERS:
        share -= weight
        if share <= 0:
            break
    service = rng.choice(SERVICES)
    status = rng.choice(statuses)
    path = "/process" if agent.startswith("APIs-Google") else rng.choice(PATHS)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    trace = f"{rng.getrandbits(128):032x}"
    entry = {
        "insertId": f"{rng.getrandbits(64):016x}", "timestamp": stamp, "receiveTimestamp": stamp,
        "severity": "WARNING" if status >= 400 else "INFO",
        "logName": f"projects/{PROJECT}/logs/run.googleapis.com%2Frequests",
        "resource": {"type": "cloud_run_revision", "labels": {
            "service_name": service, "revision_name": f"{service}-00029-fdx", "location": REGION,
            "project_id": PROJECT, "configuration_name": service}},
        "httpRequest": {
            "requestMethod": "POST" if path.startswith("/process") else "GET",
            "requestUrl": f"https://{service}-{NUMBER}.{REGION}.run.app{path}", "status": status,
            "responseSize": str(rng.randint(30, 2400)), "userAgent": agent, "remoteIp": rng.choice(addresses),
            "latency": f"{rng.uniform(0.0004, 9):.6f}s"},
        "trace": f"projects/{PROJECT}/traces/{trace}",
    }
    return json.dumps(entry, separators=(",", ":")) + "\n"


def generate(path: Path, entries: int = ENTRIES, seed: int = 20251231) -> int:
    """Write `entries` request-log entries over 24 hours to `path`; returns its size in bytes."""
    rng = random.Random(seed)
    step = 86_400 / entries
    with path.open("w", encoding="utf-8") as fh:
        batch = []
        for i in range(entries):
            batch.append(_line(rng, SINCE + timedelta(seconds=i * step)))
            if len(batch) == 10_000:
                fh.write("".join(batch))
                batch.clear()
        fh.write("".join(batch))
    return path.stat().st_size


# ---------------------------------------------------------------- one contender, in its own process


def _peer(path: str) -> int:
    import duckdb

    con = duckdb.connect()
    rows = con.execute(PEER_SQL, [path]).fetchall()
    con.close()
    return sum(r[2] for r in rows)


def _kit(path: str) -> int:
    from runbook_lib.audit import RequestLog, ServiceFacts, bucket_minutes

    log = RequestLog()
    loaded = log.load_file(path)
    log.classify([ServiceFacts(SERVICES[0], False, False), ServiceFacts(SERVICES[1], True, True)])
    tables = log.analyse(SINCE, bucket_minutes(24))
    log.close()
    assert int(tables["by_service"]["requests"].sum()) == loaded
    return loaded


def _runbook(path: str) -> int:
    from types import SimpleNamespace

    from runbook_lib.audit import AuditScope, who_tried
    from runbook_lib.local.logs import REQUEST_LOG_FILE, LocalLogs
    from runbook_lib.phases import load_phases

    assert Path(path).name == REQUEST_LOG_FILE   # where a sandbox keeps it, so LocalLogs reads this file
    phases = load_phases()
    target = SimpleNamespace(logs=LocalLogs(SimpleNamespace(logs=str(Path(path).parent)), phases), phases=phases)
    scope = AuditScope(phases=tuple(phases.get(name) for name in phases.names()), expected={}, since=SINCE,
                       until=SINCE + timedelta(hours=24), project=PROJECT)
    tried = who_tried(target, scope, [], progress=False)
    assert sum(tried.per_service.values()) == tried.entries
    return tried.entries


def _one(contender: str, path: str) -> None:
    run = {"peer": _peer, "kit": _kit, "runbook": _runbook}[contender]
    import duckdb  # noqa: F401 - imported before the clock starts, as in a notebook

    if contender != "peer":
        import runbook_lib.audit  # noqa: F401
    started = time.perf_counter()
    rows = run(path)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))


def _measure(contender: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.bench_audit", "--one", contender, str(path)],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as folder:
        path = Path(folder) / "requests.jsonl"
        started = time.perf_counter()
        size = generate(path)
        print(f"   generated {ENTRIES:,} request-log entries, {size / 1e6:.0f} MB of JSON lines "
              f"({time.perf_counter() - started:.1f} s)")
        seen: dict[str, list[dict]] = {"peer": [], "kit": [], "runbook": []}
        for _ in range(ROUNDS):
            for contender in seen:
                seen[contender].append(_measure(contender, path))
    for contender, runs in seen.items():
        assert all(r["rows"] == ENTRIES for r in runs), (contender, runs)
    time_of = {c: statistics.median(r["seconds"] for r in runs) for c, runs in seen.items()}
    memory = {c: max(r["peak_mb"] for r in runs) for c, runs in seen.items()}
    print(f"   peer read_json aggregation: {time_of['peer']:.2f} s, peak {memory['peer']:.0f} MB")
    print(f"   kit load + classify + every table: {time_of['kit']:.2f} s, peak {memory['kit']:.0f} MB")
    print(f"   runbook who_tried on the sandbox's log: {time_of['runbook']:.2f} s, peak {memory['runbook']:.0f} MB")
    over = 0
    for contender in ("kit", "runbook"):
        ratio = time_of[contender] / time_of["peer"]
        over += ratio > TARGET
        print(f"   {contender} / peer: {ratio:.2f}x (target <= {TARGET:g}x) -> {'OK' if ratio <= TARGET else 'OVER'}"
              f"  (median of {ROUNDS} rounds)")
    return 1 if over else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        _one(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(main())
