"""The build-log fetch chain: logs bucket -> Cloud Logging -> local file, with real clients over HTTP."""
from __future__ import annotations

import json

import pytest
import yaml

from fakes.fixtures import (CLOUD_LOGGING_ONLY_ID, LOGS_BUCKET, PHASE3_DOCKER_ID, PHASE4_FAILED_ID, PROJECT,
                            REGION, recorded_bucket_log, recorded_build)
from buildlog_helpers import FunctionSource, fetch_build_log_by_id
from fakes.server import load_json
from runbook_lib.buildlogs import (Attempt, Disabled, Forbidden, LogFetch, LogSource, NotFound, WrongRegion,
                                   decode_log, exported_build_log, exported_entries, fetch_build_log,
                                   listed_newest_first, log_command)
from runbook_lib.diagnose import classify_log
from runbook_lib.errors import NotFoundError, ParameterError
from runbook_lib.gcp.builds import GcpBuilds
from runbook_lib.gcp.clients import make_clients
from runbook_lib.gcp.logs import CloudLoggingLogSource, GcpLogs
from runbook_lib.gcp.storage import GcsLogSource

REGIONAL_COMMAND = f"gcloud builds log {PHASE4_FAILED_ID} --region={REGION} --project={PROJECT}"


def _logging_lines(build_id: str) -> list[str]:
    entries = [e for e in load_json("logging_build_entries.json") if e["resource"]["labels"]["build_id"] == build_id]
    return [e["textPayload"] for e in sorted(entries, key=lambda e: e["timestamp"])]


def _outcomes(fetch: LogFetch) -> list[tuple[str, str]]:
    return [(a.source, a.outcome) for a in fetch.attempts]


def _storage_paths(fake) -> list[str]:
    return [p for p in fake.paths() if "/storage/v1/" in p]


@pytest.fixture
def clients(fake_apis, storage_emulator):
    """Cloud Build + Cloud Logging on the fake, Cloud Storage on gcp-storage-emulator."""
    shared = make_clients(PROJECT, endpoints={"cloudbuild": fake_apis.endpoint, "logging": fake_apis.endpoint,
                                              "storage": storage_emulator.endpoint})
    yield shared
    shared.close()


@pytest.fixture
def refused_bucket_clients(fake_apis):
    """Everything on the fake, whose storage path answers 403 like the Google-owned default logs bucket."""
    fake_apis.refuse(f"/download/storage/v1/b/{LOGS_BUCKET}/")
    shared = make_clients(PROJECT, endpoints={"cloudbuild": fake_apis.endpoint, "logging": fake_apis.endpoint,
                                              "storage": fake_apis.endpoint})
    yield shared
    shared.close()


def _sources(shared) -> list[LogSource]:
    return [GcsLogSource(shared.storage), CloudLoggingLogSource(GcpLogs(PROJECT, client=shared.logging))]


def test_bucket_object_is_read_first_and_logging_is_not_asked(clients, fake_apis):
    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID), _sources(clients))

    assert fetch.ok and fetch.source == "gcs"
    assert fetch.text == recorded_bucket_log(PHASE4_FAILED_ID)
    assert _outcomes(fetch) == [("gcs", "ok")]
    assert fetch.command == REGIONAL_COMMAND
    assert "/v2/entries:list" not in fake_apis.paths()


def test_forbidden_bucket_falls_back_to_cloud_logging(refused_bucket_clients, fake_apis):
    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID), _sources(refused_bucket_clients))

    assert _outcomes(fetch) == [("gcs", "forbidden"), ("logging", "ok")]
    assert fetch.source == "logging"
    assert fetch.text.splitlines() == _logging_lines(PHASE4_FAILED_ID)
    forbidden = fetch.attempts[0].detail
    assert "roles/viewer" in forbidden and "VPC Service Controls" in forbidden
    assert f'resource.labels.build_id="{PHASE4_FAILED_ID}"' in fake_apis.received_filters()[0]


def test_cloud_logging_only_build_skips_the_bucket(refused_bucket_clients, fake_apis):
    build = recorded_build(CLOUD_LOGGING_ONLY_ID)
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"

    fetch = fetch_build_log(build, _sources(refused_bucket_clients))

    assert _outcomes(fetch) == [("gcs", "skipped"), ("logging", "ok")]
    assert "CLOUD_LOGGING_ONLY" in fetch.attempts[0].detail
    assert fetch.text.splitlines() == _logging_lines(CLOUD_LOGGING_ONLY_ID)
    assert _storage_paths(fake_apis) == []  # the bucket was never asked
    assert fetch.command == f"gcloud builds log {CLOUD_LOGGING_ONLY_ID} --region={REGION} --project={PROJECT}"


def test_stackdriver_only_is_treated_like_cloud_logging_only(clients):
    build = recorded_build(PHASE4_FAILED_ID)
    build["options"]["logging"] = "STACKDRIVER_ONLY"
    fetch = fetch_build_log(build, _sources(clients))
    assert _outcomes(fetch) == [("gcs", "skipped"), ("logging", "ok")]


def test_gcs_only_build_does_not_ask_cloud_logging(clients, fake_apis):
    build = recorded_build(PHASE3_DOCKER_ID)
    build["options"]["logging"] = "GCS_ONLY"
    fetch = fetch_build_log(build, _sources(clients))  # no bucket object for this build in the emulator
    assert _outcomes(fetch) == [("gcs", "not-found"), ("logging", "skipped"), ("local-file", "skipped")]
    assert not fetch.ok
    assert "/v2/entries:list" not in fake_apis.paths()


def test_logging_none_disables_every_cloud_source_but_not_a_local_file(clients, fake_apis, tmp_path):
    build = recorded_build(PHASE4_FAILED_ID)
    build["options"]["logging"] = "NONE"

    fetch = fetch_build_log(build, _sources(clients))
    assert _outcomes(fetch) == [("gcs", "logging-disabled"), ("logging", "logging-disabled"),
                                ("local-file", "skipped")]
    assert fetch.text is None and fetch.source is None
    assert fake_apis.requests == []

    saved = tmp_path / "saved-from-console.txt"
    saved.write_text("copied by hand\n")
    fetch = fetch_build_log(build, _sources(clients), local_file=saved)
    assert _outcomes(fetch)[-1] == ("local-file", "ok")
    assert fetch.text == "copied by hand\n"


def test_everything_failing_falls_back_to_the_local_file(clients, fake_apis, tmp_path):
    fake_apis.refuse("/v2/entries:list")
    local = tmp_path / f"log-{PHASE3_DOCKER_ID}.txt"
    local.write_text("Step #0: Step 1/9 : FROM python:3.11-slim\nDONE\n")

    fetch = fetch_build_log(recorded_build(PHASE3_DOCKER_ID), _sources(clients), local_file=str(local))

    assert _outcomes(fetch) == [("gcs", "not-found"), ("logging", "forbidden"), ("local-file", "ok")]
    assert fetch.source == "local-file"
    assert fetch.text == local.read_text()
    assert str(local) in fetch.attempts[-1].detail


def test_nothing_anywhere_is_a_clear_miss(clients, tmp_path):
    build = dict(recorded_build(PHASE3_DOCKER_ID), id="00000000-0000-4000-8000-000000000000",
                 name=f"projects/{PROJECT}/locations/{REGION}/builds/00000000-0000-4000-8000-000000000000")
    fetch = fetch_build_log(build, _sources(clients), local_file=tmp_path / "absent.txt")
    assert _outcomes(fetch) == [("gcs", "not-found"), ("logging", "not-found"), ("local-file", "not-found")]
    assert not fetch.ok
    assert fetch.summary().startswith("no log found for build 00000000")


def test_by_id_from_global_explains_the_region_and_gives_the_regional_command(clients, fake_apis):
    builds = GcpBuilds(PROJECT, REGION, client=clients.cloudbuild)

    fetch = fetch_build_log_by_id(PHASE4_FAILED_ID, builds, _sources(clients), region="global")

    assert _outcomes(fetch) == [("cloudbuild", "wrong-region"), ("gcs", "ok")]
    detail = fetch.attempts[0].detail
    assert "not in region global" in detail and f"--region={REGION}" in detail and "source deploys" in detail
    assert fetch.command == REGIONAL_COMMAND
    assert fake_apis.paths()[:2] == [f"/v1/projects/{PROJECT}/locations/global/builds/{PHASE4_FAILED_ID}",
                                     f"/v1/projects/{PROJECT}/locations/{REGION}/builds/{PHASE4_FAILED_ID}"]
    assert fetch.text == recorded_bucket_log(PHASE4_FAILED_ID)


def test_by_id_in_the_service_region_has_no_region_attempt(clients):
    builds = GcpBuilds(PROJECT, REGION, client=clients.cloudbuild)
    fetch = fetch_build_log_by_id(PHASE4_FAILED_ID, builds, _sources(clients))
    assert _outcomes(fetch) == [("gcs", "ok")]


def test_by_id_missing_everywhere_raises_not_found(clients):
    builds = GcpBuilds(PROJECT, REGION, client=clients.cloudbuild)
    with pytest.raises(NotFoundError, match=f"region {REGION}"):
        fetch_build_log_by_id("00000000-0000-4000-8000-000000000000", builds, _sources(clients), region="global")


# ---------------------------------------------------------------- the protocol, for the sandbox's own sources

def _raise(exc):
    def fetch(build):
        raise exc
    return fetch


def test_typed_errors_from_any_source_map_to_outcomes():
    build = recorded_build(PHASE4_FAILED_ID)
    sources = [FunctionSource("gcs", _raise(Forbidden("No access."))),
               FunctionSource("sandbox-builder", _raise(WrongRegion("Asked global, built in us-west2."))),
               FunctionSource("logging", _raise(NotFound("No entries."))),
               FunctionSource("archive", _raise(Disabled("Archive turned off."))),
               FunctionSource("flaky", _raise(ConnectionError("connection refused"))),
               FunctionSource("last", lambda b: f"log of {b['id']}\n")]
    fetch = fetch_build_log(build, sources)
    assert _outcomes(fetch) == [("gcs", "forbidden"), ("sandbox-builder", "wrong-region"), ("logging", "not-found"),
                                ("archive", "logging-disabled"), ("flaky", "error"), ("last", "ok")]
    assert fetch.attempts[4].detail == "ConnectionError: connection refused."
    assert fetch.text == f"log of {PHASE4_FAILED_ID}\n" and fetch.source == "last"


def test_a_programming_error_in_a_source_is_not_swallowed():
    with pytest.raises(KeyError):
        fetch_build_log(recorded_build(PHASE4_FAILED_ID), [FunctionSource("gcs", lambda b: b["missing"])])


def test_result_to_dict_and_table():
    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID),
                            [FunctionSource("gcs", _raise(Forbidden("Refused."))),
                             FunctionSource("logging", lambda b: "a\nb\n")])
    data = fetch.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["source"] == "logging" and data["lines"] == 2 and data["command"] == REGIONAL_COMMAND
    assert data["attempts"][0] == {"source": "gcs", "outcome": "forbidden", "detail": "Refused."}
    assert "text" not in fetch.to_dict(include_text=False)
    table = fetch.table()
    assert list(table.columns) == ["outcome", "detail"] and list(table.index) == ["gcs", "logging"]
    assert table["outcome"].tolist() == ["forbidden", "ok"]


def test_bad_inputs_are_parameter_errors():
    with pytest.raises(ParameterError) as caught:
        fetch_build_log({"status": "FAILURE"}, [])
    assert caught.value.parameter == "build"
    with pytest.raises(ParameterError) as caught:
        fetch_build_log(recorded_build(PHASE4_FAILED_ID), [object()])
    assert caught.value.parameter == "sources"
    bad_mode = recorded_build(PHASE4_FAILED_ID)
    bad_mode["options"]["logging"] = "EVERYWHERE"
    with pytest.raises(ParameterError) as caught:
        fetch_build_log(bad_mode, [])
    assert caught.value.parameter == "build.options.logging"
    with pytest.raises(ValueError):
        Attempt("gcs", "maybe", "Not an outcome.")


def test_log_command_without_region_is_the_plain_global_command():
    assert log_command(PHASE4_FAILED_ID, None, None) == f"gcloud builds log {PHASE4_FAILED_ID}"
    assert log_command(PHASE4_FAILED_ID, REGION, PROJECT) == REGIONAL_COMMAND


# ---------------------------------------------------------------- a saved Cloud Logging export as log_file

def _entries_newest_first(build_id: str) -> list[dict]:
    entries = [e for e in load_json("logging_build_entries.json") if e["resource"]["labels"]["build_id"] == build_id]
    return sorted(entries, key=lambda e: e["timestamp"], reverse=True)   # gcloud logging read's default order


@pytest.mark.parametrize("saved_as", ["Logs Explorer JSON", "gcloud logging read YAML"])
def test_a_saved_cloud_logging_export_reads_as_the_log_oldest_first(tmp_path, saved_as):
    entries = _entries_newest_first(PHASE4_FAILED_ID)
    assert len(entries) > 5
    saved = tmp_path / "downloaded-logs.json"
    saved.write_text(json.dumps(entries, indent=2) if saved_as.endswith("JSON")
                     else yaml.safe_dump_all(entries, sort_keys=True))

    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved)

    assert fetch.text.splitlines() == _logging_lines(PHASE4_FAILED_ID)
    assert f"Read {len(entries)} Cloud Logging entries" in fetch.attempts[-1].detail
    assert classify_log(fetch.text)[0].signature == classify_log(recorded_bucket_log(PHASE4_FAILED_ID))[0].signature


def test_an_export_keeps_the_order_of_entries_of_one_instant_and_reads_json_payloads():
    same = "2026-11-30T02:00:00Z"   # a zero fraction left out, as protobuf's JSON writes it
    entries = [{"timestamp": "2026-11-30T02:00:00.500Z", "textPayload": "fourth"},
               {"timestamp": same, "jsonPayload": {"message": "third"}},
               {"timestamp": same, "textPayload": "second\n"},
               {"timestamp": "2026-11-30T01:59:59.999999999Z", "protoPayload": {"status": {"message": "first"}}}]
    in_order = ["first", "second", "third", "fourth"]
    assert exported_entries(json.dumps(entries)) == in_order
    assert exported_entries(json.dumps({"entries": entries[::-1]})) == in_order
    assert exported_entries(yaml.safe_dump_all(entries)) == in_order
    unquoted = "timestamp: 2026-11-30T02:00:01Z\ntextPayload: later\n---\ntimestamp: 2026-11-30T02:00:00Z\ntextPayload: sooner\n"
    assert exported_entries(unquoted) == ["sooner", "later"]   # YAML read those stamps as datetimes
    no_time = [{"insertId": "b", "textPayload": "as given"}, {"insertId": "a", "textPayload": "kept"}]
    assert exported_entries(json.dumps(no_time)) == ["as given", "kept"]


@pytest.mark.parametrize("plain", [
    "[builder] ERROR: failed to build: exit status 1\n",
    '{"error": "not an entry"}\n',
    "textPayload: a log that starts with a key\nERROR: build step 0 failed\n",
    "[1, 2, 3]",
])
def test_a_plain_log_is_no_export(plain):
    assert exported_entries(plain) is None


# ---------------------------------------------------------------- a saved log of another build, or no log at all

OTHER_BUILD = "0badc0de-0000-4000-8000-000000000001"


@pytest.mark.parametrize("saved_as", ["plain log", "gcloud builds submit output", "Logs Explorer JSON"])
def test_a_saved_log_of_another_build_is_refused_naming_both(tmp_path, saved_as):
    saved = tmp_path / "saved.txt"
    if saved_as == "Logs Explorer JSON":
        entries = [dict(e, resource={"type": "build", "labels": {"build_id": OTHER_BUILD}})
                   for e in _entries_newest_first(PHASE4_FAILED_ID)]
        saved.write_text(json.dumps(entries))
    else:
        head = "Logs are available at [https://console.cloud.google.com/...].\n--- REMOTE BUILD OUTPUT ---\n" \
            if saved_as.startswith("gcloud") else ""
        saved.write_text(f'{head}starting build "{OTHER_BUILD}"\n\nFETCHSOURCE\nERROR: build step 0 failed\n')
    with pytest.raises(ParameterError) as caught:
        fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved)
    message = str(caught.value)
    assert caught.value.parameter == "log_file" and message.count(".") >= 1 and "\n" not in message
    assert f"give the saved log of build {PHASE4_FAILED_ID}; this file is the log of build {OTHER_BUILD}" in message


def test_a_saved_log_of_this_build_is_read(tmp_path):
    saved = tmp_path / "saved.txt"
    saved.write_text(f'starting build "{PHASE4_FAILED_ID}"\nERROR: build step 0 failed\n')
    assert fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved).source == "local-file"


def test_a_log_file_larger_than_any_build_log_is_refused(tmp_path, monkeypatch):
    from runbook_lib import buildlogs

    assert buildlogs.MAX_LOG_FILE_BYTES == 512 * 1024 ** 2
    monkeypatch.setattr(buildlogs, "MAX_LOG_FILE_BYTES", 1024)
    saved = tmp_path / "huge.txt"
    saved.write_text("x" * 1025)
    with pytest.raises(ParameterError, match=r"log_file='.*huge\.txt' is not valid: give a saved build log of at "
                                             r"most 0 MiB; this file is larger"):
        fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved)
    saved.write_text("x" * 1024)
    assert fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved).ok


# ---------------------------------------------------------------- a saved log in another encoding or order

@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-8"),
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),                 # Notepad's UTF-8 with BOM
    lambda text: text.replace("\n", "\r\n").encode("utf-16"),   # PowerShell 5's `>`: UTF-16 LE, BOM, CRLF
    lambda text: text.encode("utf-16-be"),                               # UTF-16 without its BOM
    lambda text: text.encode("utf-32"),
], ids=["UTF-8", "UTF-8 BOM", "UTF-16 LE BOM CRLF", "UTF-16 BE no BOM", "UTF-32"])
def test_a_saved_log_is_decoded_by_its_bom_or_its_nul_bytes(tmp_path, encode):
    log = recorded_bucket_log(PHASE4_FAILED_ID)
    saved = tmp_path / "saved.txt"
    saved.write_bytes(encode(log))
    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved)
    assert fetch.text.replace("\r\n", "\n") == log
    assert decode_log(encode(log)).replace("\r\n", "\n") == log
    top, plain = classify_log(encode(log))[0], classify_log(log)[0]
    assert (top.signature, top.line) == (plain.signature, plain.line)
    assert decode_log(b"caf\xe9 \xff") == "caf\ufffd \ufffd"   # not UTF-8 and no BOM: replaced, never an error


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_bom_is_told_by_its_ascii_characters_nuls_among_box_drawings(codec):
    # (`─` is U+2500: one of its two bytes is NUL too, on the side opposite an ASCII character's)
    table = ["┌────────┬──────────────┐", "│ (index)│ version      │", "├────────┼──────────────┤",
             "│ 0      │ '14.3.0'     │", "└────────┴──────────────┘", "Error: Could not find Xcode version 15"]
    text = "\n".join(table) + "\n"
    assert decode_log(text.encode(codec)) == text
    # UTF-32 without its BOM is not read as UTF-16 (two NULs in one UTF-16 character)
    assert "\x00" in decode_log("plain ascii log line\n".encode("utf-32-le"))


def test_a_listing_newest_first_is_read_oldest_first_and_named_so(tmp_path):
    # gcloud logging read 'resource.type="build" AND resource.labels.build_id="ID"' --format='value(textPayload)'
    lines = _logging_lines(PHASE4_FAILED_ID)
    listing = "".join(line + "\n" for line in lines[::-1])
    assert listed_newest_first(listing) and not listed_newest_first("".join(line + "\n" for line in lines))
    saved = tmp_path / "listing.txt"
    saved.write_text(listing)
    fetch = fetch_build_log(recorded_build(PHASE4_FAILED_ID), [], local_file=saved)
    assert fetch.text.splitlines() == lines and "newest first" in fetch.attempts[-1].detail
    in_order = classify_log(fetch.text)[0]
    # classify_log given the listing reads it oldest first too, and names the line of the listing it was given
    given = classify_log(listing)[0]
    assert (given.signature, given.line) == (in_order.signature, len(lines) + 1 - in_order.line)
    assert given.evidence[0] == listing.split("\n")[given.line - 1]


def test_classify_log_reads_an_export_of_the_builds_entries_as_its_log_and_other_entries_as_text():
    entries = _entries_newest_first(PHASE4_FAILED_ID)
    log = "".join(line + "\n" for line in _logging_lines(PHASE4_FAILED_ID))
    assert exported_build_log(json.dumps(entries, indent=2)) == log
    top, plain = classify_log(json.dumps(entries, indent=2))[0], classify_log(log)[0]
    assert (top.signature, top.line, top.evidence) == (plain.signature, plain.line, plain.evidence)
    revision = [dict(e, resource={"type": "cloud_run_revision", "labels": {}}) for e in entries]
    assert exported_build_log(json.dumps(revision)) is None   # a revision's entries posted as they are: text
