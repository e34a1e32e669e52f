"""`runbook overnight PLAN --publish gs://BUCKET/PREFIX` against gcp-storage-emulator, through google-cloud-storage:
each night runs in a fresh folder (a scheduled Cloud Run job's container), reads the earlier nights from the
bucket, and publishes its folder and the reports index there, where every relative link resolves."""
from __future__ import annotations

import json
import posixpath
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from runbook_lib import cli, runner
from runbook_lib.gcp.connect import ENDPOINTS_ENV
from runbook_lib.publish import Destination, parse_destination

EXAMPLE = Path(__file__).parent / "notebooks" / "example.ipynb"
BUCKET = "nba-props-platform-runbook-reports"
PLAN = f"""title: Published nights
target: local
steps:
  - id: check
    notebook: {EXAMPLE}
    parameters: {{verdict: VERDICT}}
"""


@pytest.mark.parametrize("url, destination", [
    ("gs://reports", Destination("reports", "")),
    ("gs://reports/", Destination("reports", "")),
    ("gs://my.reports_bucket-1/nightly/phase-runbooks/", Destination("my.reports_bucket-1", "nightly/phase-runbooks")),
])
def test_destinations(url, destination):
    assert parse_destination(url) == destination
    assert destination.object_name("index.html") == (f"{destination.prefix}/index.html" if destination.prefix
                                                     else "index.html")


@pytest.mark.parametrize("url", ["reports", "s3://reports/x", "gs://Reports", "gs://a", "gs://reports/../x",
                                 "gs://reports/a//b", "gs://reports/a/./b", "gs://reports/x?y", "gs://-reports"])
def test_bad_destinations_are_refused_before_anything_runs(url, tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("VERDICT", "pass"))
    assert cli.main(["overnight", str(plan), "-o", str(tmp_path / "reports"), "--publish", url]) == 2
    assert f"--publish={url!r} is not valid: give gs://BUCKET or gs://BUCKET/PREFIX" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.fixture
def bucket(storage_emulator, monkeypatch):
    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps({"storage": storage_emulator.endpoint}))
    monkeypatch.setenv("RUNBOOK_GCP_ANONYMOUS", "1")
    return storage_emulator.client().create_bucket(BUCKET)


def _night(tmp_path: Path, container: str, verdict: str, *extra: str) -> tuple[int, Path]:
    """One night in a fresh folder, as a scheduled job runs it; (exit code, local reports folder)."""
    folder = tmp_path / container
    folder.mkdir()
    plan = folder / "plan.yaml"
    plan.write_text(PLAN.replace("VERDICT", verdict))
    reports = folder / "reports"
    return cli.main(["overnight", str(plan), "-o", str(reports), *extra]), reports


def _links(html: str) -> list[str]:
    return [link for link in re.findall(r'(?:href|src)="([^"#]+)', html) if "://" not in link
            and not link.startswith(("data:", "mailto:"))]


def test_nights_are_published_with_their_history_and_every_link_resolves(bucket, tmp_path, capsys):
    url = f"gs://{BUCKET}/nightly"
    assert _night(tmp_path, "first", "pass", "--publish", url)[0] == 0
    first = capsys.readouterr().out
    uploaded_first = {blob.name: blob.generation for blob in bucket.client.list_blobs(BUCKET)}
    assert "Earlier nights from gs://nba-props-platform-runbook-reports/nightly: 0 fetched" in first
    code, reports = _night(tmp_path, "second", "fail", "--publish", url)
    second = capsys.readouterr().out
    assert code == 3 and ": 1 fetched" in second

    names = {blob.name for blob in bucket.client.list_blobs(BUCKET)}
    nights = sorted({re.match(r"nightly/(\d{4}-\d{2}-\d{2}/overnight-[^/]+)/", n).group(1) for n in names
                     if n != "nightly/index.html"})
    assert len(nights) == 2 and "nightly/index.html" in names
    published = re.search(r"^Published: (gs://\S+)$", second, re.M).group(1)
    assert published == f"gs://{BUCKET}/nightly/{nights[1]}/index.html"
    for night in nights:
        assert {f"nightly/{night}/{f}" for f in ("index.html", "summary.json", "check/example.ipynb",
                                                    "check/example.html")} <= names
    # Only tonight's folder and the index were uploaded by the second night: the first night's objects are
    # the ones it published (its summary was fetched, and its page rebuilt locally, but neither sent back).
    local = {p.relative_to(reports).as_posix() for p in reports.rglob("*") if p.is_file()}
    assert f"{nights[0]}/summary.json" in local and f"{nights[0]}/index.html" in local
    after = {blob.name: blob.generation for blob in bucket.client.list_blobs(BUCKET)}
    assert {n: g for n, g in after.items() if nights[0] in n} == {n: g for n, g in uploaded_first.items() if nights[0] in n}
    assert after["nightly/index.html"] != uploaded_first["nightly/index.html"]

    # The second night compared with the first, fetched from the bucket: its verdict change is on its page
    # and on the reports index, which lists both nights.
    index = bucket.blob("nightly/index.html").download_as_text()
    page = bucket.blob(f"nightly/{nights[1]}/index.html").download_as_text()
    assert all(night in index for night in nights)
    assert "Since the night before" in page and "check</a>: now FAIL (was PASS)" in page
    assert bucket.get_blob("nightly/index.html").cache_control == "no-cache"
    # gcp-storage-emulator keeps only the media type of what it is sent (Cloud Storage keeps the charset too).
    assert bucket.get_blob(f"nightly/{nights[1]}/index.html").content_type == "text/html"
    assert bucket.get_blob(f"nightly/{nights[1]}/summary.json").content_type == "application/json"
    assert bucket.get_blob(f"nightly/{nights[1]}/check/example.ipynb").content_type == "application/x-ipynb+json"

    # Every relative link of the published pages resolves to an object in the bucket.
    for name in ("nightly/index.html", f"nightly/{nights[1]}/index.html"):
        html = bucket.blob(name).download_as_text()
        targets = {posixpath.normpath(posixpath.join(posixpath.dirname(name), link)) for link in _links(html)}
        assert targets and targets <= names, sorted(targets - names)


def test_a_missing_bucket_stops_before_the_night(storage_emulator, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(ENDPOINTS_ENV, json.dumps({"storage": storage_emulator.endpoint}))
    monkeypatch.setenv("RUNBOOK_GCP_ANONYMOUS", "1")
    code, reports = _night(tmp_path, "job", "pass", "--publish", "gs://no-such-reports-bucket/nightly")
    assert code == 2 and not reports.exists()
    assert ("Reading the earlier nights in gs://no-such-reports-bucket/nightly: bucket no-such-reports-bucket does "
            "not exist (404); create it with `gcloud storage buckets create gs://no-such-reports-bucket`"
            in capsys.readouterr().err)


def test_a_night_that_cannot_be_published_exits_1_and_keeps_its_pages(bucket, storage_emulator, tmp_path, capsys,
                                                                      monkeypatch):
    from runbook_lib import publish

    def refuse(self, night_folder):
        raise publish.PublishError("Publishing index.html to gs://x failed: 503 backend unavailable")

    monkeypatch.setattr(publish.Publisher, "publish", refuse)
    code, reports = _night(tmp_path, "job", "pass", "--publish", f"gs://{BUCKET}/nightly")
    captured = capsys.readouterr()
    assert code == 1 and "error: the night was not published: Publishing index.html" in captured.err
    assert "Morning-review report: " in captured.out and list(reports.glob("*/overnight-*/index.html"))


@pytest.mark.parametrize("name, content_type", [
    ("index.html", "text/html; charset=utf-8"), ("summary.json", "application/json; charset=utf-8"),
    ("example.ipynb", "application/x-ipynb+json"), ("chart.png", "image/png"), ("run.log", "application/octet-stream"),
])
def test_pages_are_sent_as_what_a_browser_shows(name, content_type):
    from runbook_lib.publish import content_type_of

    assert content_type_of(Path(name)) == content_type


def test_a_refused_bucket_names_the_role_it_needs():
    from google.api_core import exceptions

    from runbook_lib.publish import Publisher, PublishRefused

    def refused(*args, **kwargs):
        raise exceptions.Forbidden("GET https://storage.googleapis.com/storage/v1/b/reports/o: runbook@p.iam."
                                   "gserviceaccount.com does not have storage.objects.list access to the Google "
                                   "Cloud Storage bucket.")

    class Refusing:   # a storage client whose every listing Google refuses
        list_blobs = staticmethod(refused)

    publisher = Publisher(parse_destination("gs://reports/nightly"), storage=Refusing)
    with pytest.raises(PublishRefused) as refusal:
        publisher.fetch_history(Path("unused"))
    said = str(refusal.value)
    assert said.startswith("Reading the earlier nights in gs://reports/nightly was refused: the caller needs "
                           "roles/storage.objectUser")
    assert "on bucket reports" in said and "storage.objects.list" in said


def test_a_write_google_fails_is_one_publish_error_naming_the_file_and_sent_once(fake_apis, tmp_path):
    """What the call policy leaves to the caller (a 503 answered to an upload, which is never sent again) is one
    PublishError sentence: what was being published, where, and the status."""
    from fakes.errors import unavailable
    from fakes.fixtures import PROJECT
    from runbook_lib.gcp.clients import storage_client
    from runbook_lib.publish import Publisher, PublishError

    night = tmp_path / "reports" / "2026-01-02" / "overnight-0100"
    night.mkdir(parents=True)
    (night / "index.html").write_text("<html></html>")
    (tmp_path / "reports" / "index.html").write_text("<html></html>")
    fake_apis.fault(r"/upload/storage/v1/b/reports/o", unavailable())
    client = storage_client(PROJECT, endpoint=fake_apis.endpoint)
    with pytest.raises(PublishError) as caught:
        Publisher(parse_destination("gs://reports/nightly"), storage=lambda: client).publish(night)
    said = str(caught.value)
    assert said.startswith("Publishing 2026-01-02/overnight-0100/index.html to gs://reports/nightly failed "
                           "(503 service unavailable): ") and "\n" not in said
    assert said.endswith("; it was not sent again, and may or may not have taken effect: look before running it again.")
    assert [p for p in fake_apis.paths("POST") if p.startswith("/upload/")] == ["/upload/storage/v1/b/reports/o"]


def test_the_readmes_cloud_run_job_runs_a_plan_the_image_has_and_publishes_it():
    """The job's --args in the README are `runbook`'s command line (the image's ENTRYPOINT): they parse, name a
    plan under params/ (which the image copies) and a --publish destination the kit accepts."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    job_args = re.search(r"--args=(\S+)", readme).group(1).replace("$P", "nba-props-platform").split(",")
    args = cli.build_parser().parse_args(job_args)
    assert args.func is cli._overnight and (root / args.plan).is_file() and args.plan.startswith("params/")
    assert parse_destination(args.publish) == Destination("nba-props-platform-runbook-reports", "nightly")


@pytest.mark.parametrize("failure", ["unreachable", "quota", "5xx"])
def test_earlier_nights_storage_cannot_read_for_a_while_do_not_stop_the_night(bucket, tmp_path, capsys, monkeypatch,
                                                                              failure):
    """A bucket that is missing or refused stops before the night (above); Cloud Storage failing for a while
    after the retries costs the night its comparison with the earlier nights, not the night itself."""
    from runbook_lib import errors, publish

    raised = {"unreachable": errors.CloudUnreachable("Cloud Storage (storage.googleapis.com) did not answer"),
              "quota": errors.QuotaExceeded("Cloud Storage refused the call: quota exceeded"),
              "5xx": publish.PublishError("Reading the earlier nights failed: 500 backend error")}[failure]

    def fail(self, reports_dir):
        raise raised

    url = f"gs://{BUCKET}/nightly"
    assert _night(tmp_path, "first", "pass", "--publish", url)[0] == 0
    capsys.readouterr()
    monkeypatch.setattr(publish.Publisher, "fetch_history", fail)
    code, reports = _night(tmp_path, "second", "pass", "--publish", url)
    captured = capsys.readouterr()
    assert code == 0 and f"warning: the earlier nights in {url} could not be read" in captured.err
    assert str(raised) in captured.err and "Earlier nights from" not in captured.out
    assert re.search(r"^Published: gs://\S+/index.html$", captured.out, re.M)   # the night ran and was published
    assert len({b.name.split("/")[2] for b in bucket.client.list_blobs(BUCKET) if b.name.count("/") > 2}) == 2


class _Blob:
    """A stand-in for google-cloud-storage's Blob, over a dict of object names to bytes."""

    def __init__(self, store: dict, name: str, unavailable: bool = False):
        self.store, self.name, self.unavailable, self.cache_control = store, name, unavailable, None

    def upload_from_filename(self, filename, content_type=None):
        self.store[self.name] = Path(filename).read_bytes()

    def upload_from_string(self, data, content_type=None):
        self.store[self.name] = data.encode() if isinstance(data, str) else data

    def download_as_bytes(self):
        if self.unavailable:
            from google.api_core import exceptions

            raise exceptions.ServiceUnavailable("The service is currently unavailable.")
        return self.store[self.name]


class _Storage:
    """A stand-in storage client: a bucket of earlier nights whose listing (or one of whose downloads) Cloud Storage
    answers 503 this morning; uploads succeed."""

    def __init__(self, store: dict, failing: str):
        self.store, self.failing = store, failing

    def list_blobs(self, bucket, prefix=None, match_glob=None):
        from google.api_core import exceptions

        if self.failing == "listing":
            raise exceptions.ServiceUnavailable("The service is currently unavailable.")
        names = sorted(n for n in self.store if n.endswith("/summary.json"))
        return [_Blob(self.store, n, unavailable=i == len(names) - 1) for i, n in enumerate(names)]

    def bucket(self, name):
        storage = self

        class Bucket:
            def blob(self, name):
                return _Blob(storage.store, name)

        return Bucket()


@pytest.mark.parametrize("failing", ["listing", "download"])
def test_earlier_nights_that_cannot_be_read_leave_the_published_index_as_it_was(tmp_path, capsys, failing):
    """The bucket's listing fails for a while (or a download does, part way): the night runs and its folder is
    published, but the bucket's index.html is left as it was; a list of the nights the container has would drop
    every earlier night from the morning review. Exit 0, the choice: the README promises that Cloud Storage failing
    for a while "only costs the night its comparison with the earlier nights" (and now, said there too, its line on
    the published index until the next night, which lists it); the night ran and is published. A warning says the
    index was left as it was."""
    from runbook_lib import nights, report
    from runbook_lib.publish import Publisher

    earlier = tmp_path / "earlier"
    for day in range(3):
        start = datetime(2025, 12, 1 + day, 3, 0, tzinfo=timezone.utc)
        folder = earlier / f"{start:%Y-%m-%d}" / f"overnight-{start:%H%M%S}"
        folder.mkdir(parents=True)
        row = report.IndexRow(step="check", name="check", verdict="pass", label="PASS", summary="ok", figures={},
                              duration_s=1.0, html=None, charts=[], notebook="check/example.ipynb")
        nights.write_night(folder, [row], "Published nights", "local", start, start + timedelta(minutes=3))
    store = {f"nightly/{p.relative_to(earlier).as_posix()}": p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    store["nightly/index.html"] = nights.published_reports_index(earlier).encode()   # as the third night published it
    before = dict(store)
    capsys.readouterr()

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("VERDICT", "pass"))
    publisher = Publisher(Destination(BUCKET, "nightly"), storage=lambda: _Storage(store, failing))
    outcome = runner.run_plan(plan, outdir=tmp_path / "job" / "reports", publisher=publisher)
    captured = capsys.readouterr()
    assert outcome.exit_code == 0 and outcome.published
    assert f"warning: the earlier nights in gs://{BUCKET}/nightly could not be read" in captured.err
    assert (f"warning: gs://{BUCKET}/nightly/index.html was left as it was, since a list of the nights this container "
            "has would drop the earlier nights it could not read; the next night that reads them lists this one"
            in captured.err)
    assert store["nightly/index.html"] == before["nightly/index.html"]
    assert "3 nights in this folder" in store["nightly/index.html"].decode()
    night = outcome.folder.relative_to(outcome.folder.parent.parent).as_posix()
    assert {n for n in store if n not in before} >= {f"nightly/{night}/{f}" for f in ("index.html", "summary.json")}
    assert all(store[n] == data for n, data in before.items())   # nothing of the earlier nights was touched
