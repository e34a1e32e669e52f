"""`runbook overnight PLAN --publish gs://BUCKET/PREFIX`: the morning-review pages in Cloud Storage.

A scheduled job starts in a fresh container, so a night alone would know no earlier night. Before the
night, the earlier nights' summary.json files are copied from the bucket into the local reports folder
(`fetch_history`), so the night's page says what changed and the reports index lists every night. After
it, the night's folder is uploaded, then the reports folder's index.html, less its list of local single
runs (`publish`), but only when the earlier nights were all read: a list built without them would drop them
from the published index, which is then left as it was. The bucket holds the same layout as the reports folder
(PREFIX/index.html, PREFIX/<date>/overnight-<time>/...), so every relative link resolves there too. Earlier
nights' own pages are never uploaded again.

Needs, on the bucket, roles/storage.objectUser: storage.objects.list and get (the history), create, and
delete, since the reports index is replaced every night and Cloud Storage asks for both to replace an
object (roles/storage.objectCreator alone cannot).

The client is google-cloud-storage, built like every other client of the kit (gcp/clients.py) and
following its call policy (gcp/calls.py), so RUNBOOK_GCP_ENDPOINTS (with RUNBOOK_GCP_ANONYMOUS=1) can
point it at an emulator.
"""
from __future__ import annotations

import functools
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import nights
from .errors import AccessDenied, ConfigError, NotFoundError, ParameterError, RunbookError, ServiceDisabled

# A bucket name as Cloud Storage allows it (3-63 characters, or up to 222 with dots).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
# A night folder renamed by hand is fetched too: its summary.json says when it ran (nights.scan_nights lists it).
_NIGHT_SUMMARY = re.compile(r"(\d{4}-\d{2}-\d{2})/(overnight-[^/]+)/summary\.json")
SUMMARY, INDEX = "summary.json", "index.html"
PUBLISH_ROLE = "roles/storage.objectUser (to list and read the earlier nights, and to replace the reports index)"


class PublishError(RunbookError):
    """The night could not be published; its pages are still in the local reports folder."""


class PublishRefused(ConfigError):
    """The bucket cannot be used at all (missing, or refused): said before the night starts."""


@dataclass(frozen=True)
class Destination:
    bucket: str
    prefix: str     # "" or "a/b": no slash at either end

    @property
    def url(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}" if self.prefix else f"gs://{self.bucket}"

    def object_name(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative


def parse_destination(text: Any) -> Destination:
    """gs://BUCKET or gs://BUCKET/PREFIX, or a ParameterError naming --publish."""
    allowed = ("give gs://BUCKET or gs://BUCKET/PREFIX (a bucket name of lowercase letters, digits, dots, - and _; "
               "a prefix without . or .. folders)")
    if not isinstance(text, str) or not text.startswith("gs://"):
        raise ParameterError("--publish", text, allowed)
    bucket, _, prefix = text[len("gs://"):].partition("/")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or any(p in ("", ".", "..") for p in parts) \
            or any(ord(c) < 32 or c in "#?[]*" for c in prefix):
        raise ParameterError("--publish", text, allowed)
    return Destination(bucket, prefix)


def content_type_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "application/x-ipynb+json"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") or guessed == "application/json" else guessed


@dataclass
class Publisher:
    """Copies nights between a reports folder and gs://BUCKET/PREFIX (see the module docstring)."""

    destination: Destination
    storage: Callable[[], Any]               # the google-cloud-storage client, made on first use
    # Set once fetch_history has copied every earlier night: until then the local folder may lack some, and
    # its list of nights must not replace the bucket's.
    history_read: bool = field(default=False, init=False)

    @property
    def index_url(self) -> str:
        return f"gs://{self.destination.bucket}/{self.destination.object_name(INDEX)}"

    @classmethod
    def to(cls, url: str) -> "Publisher":
        """A publisher for `--publish URL`, with the kit's storage client (gcp/clients.py)."""
        destination = parse_destination(url)

        @functools.cache
        def storage() -> Any:
            from .gcp.clients import make_clients
            from .gcp.connect import endpoints_from_env
            from .phases import load_phases

            return make_clients(load_phases().project, endpoints=endpoints_from_env()).storage

        return cls(destination, storage)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, write: bool = False, **kwargs: Any) -> Any:
        """fn(...) as one call to Cloud Storage under the kit's call policy (gcp/calls.py); a missing bucket
        or a missing role on it as one sentence naming the bucket. The policy's other sentences (credentials,
        an API not enabled, a perimeter, a quota, no answer) pass through as they are; what the policy leaves
        to the caller (a 400, a 412, a 5xx answered to a write) is one PublishError sentence."""
        from .gcp.calls import cloud_call, site_of
        from .gcp.refusals import refused_as

        try:
            with refused_as(what, PublishError, write=write):
                return cloud_call(site_of(self.storage(), "storage"), fn, *args, **kwargs)
        except NotFoundError:
            raise PublishRefused(f"{what}: bucket {self.destination.bucket} does not exist (404); create it with "
                                 f"`gcloud storage buckets create gs://{self.destination.bucket}`, or publish to "
                                 "another.") from None
        except AccessDenied as exc:
            if isinstance(exc, ServiceDisabled) or exc.vpc_sc_id is not None:   # not a role: said as it is
                raise
            raise PublishRefused(f"{what} was refused: the caller needs {PUBLISH_ROLE} on bucket "
                                 f"{self.destination.bucket} ({str(exc).rstrip('.')}).") from None

    def fetch_history(self, reports_dir: Path) -> int:
        """Copy each earlier night's summary.json the local folder lacks; the number copied. Sets history_read
        when every one was (a listing or a download that fails part way raises, leaving it unset)."""
        where = f"Reading the earlier nights in {self.destination.url}"
        client, prefix = self.storage(), self.destination.object_name("")

        def list_blobs() -> list:   # every page, inside the one call
            return list(client.list_blobs(self.destination.bucket, prefix=prefix or None,
                                          match_glob=f"{prefix}*/overnight-*/{SUMMARY}"))

        blobs = self._call(where, list_blobs)
        copied = 0
        for blob in blobs:
            found = _NIGHT_SUMMARY.fullmatch(blob.name[len(prefix):])
            local = Path(reports_dir, *found.groups(), SUMMARY) if found else None
            if local is None or local.exists():
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self._call(where, blob.download_as_bytes))
            copied += 1
        self.history_read = True
        return copied

    def publish(self, night_folder: Path) -> str:
        """Upload the night's folder, then the reports index if history_read (else the bucket's index is left as
        it was, and the next night that reads the earlier nights lists this one); the night page's gs:// URL."""
        night_folder = Path(night_folder)
        reports_dir = night_folder.parent.parent
        files = sorted(p for p in night_folder.rglob("*") if p.is_file())
        bucket = self.storage().bucket(self.destination.bucket)
        for path in files:
            relative = path.relative_to(reports_dir).as_posix()
            blob = bucket.blob(self.destination.object_name(relative))
            if path.name == INDEX:
                blob.cache_control = "no-cache"   # the pages that change from night to night
            self._call(f"Publishing {relative} to {self.destination.url}", blob.upload_from_filename, str(path),
                       write=True, content_type=content_type_of(path))
        night_page = self.destination.object_name(f"{night_folder.relative_to(reports_dir).as_posix()}/{INDEX}")
        if not self.history_read:
            return f"gs://{self.destination.bucket}/{night_page}"
        # The list of nights without the local single runs: the bucket has none of them to link to.
        blob = bucket.blob(self.destination.object_name(INDEX))
        blob.cache_control = "no-cache"
        self._call(f"Publishing {INDEX} to {self.destination.url}", blob.upload_from_string,
                   nights.published_reports_index(reports_dir), write=True, content_type="text/html; charset=utf-8")
        return f"gs://{self.destination.bucket}/{night_page}"
