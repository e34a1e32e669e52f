"""Read a build's log object from its Cloud Storage logs bucket (google-cloud-storage).

Cloud Build writes `log-<BUILD_ID>.txt` into `logsBucket`; the default bucket is
`gs://<PROJECT_NUMBER>.cloudbuild-logs.googleusercontent.com`, owned by Google, readable with
Project Viewer and not from inside a VPC Service Controls perimeter. A user-chosen logsBucket may carry
a folder (`gs://bucket/folder`), in which case the object is `folder/log-<ID>.txt`. The REST reference gives
logsBucket as a bucket name, and gcloud's own log reader (GCSLogTailer.FromBuild) takes it with or without
`gs://`, so the kit does too.
"""
from __future__ import annotations

import re
from typing import Any

from ..buildlogs import BUCKET, Forbidden, LogSourceError, NotFound, decode_log
from ..errors import AccessDenied, NotFoundError, ParameterError, ServiceDisabled
from .calls import cloud_call, site_of
from .refusals import refused_as

DEFAULT_BUCKET_SUFFIX = ".cloudbuild-logs.googleusercontent.com"
# Cloud Storage's bucket naming rules: 3-222 characters of a-z 0-9 - _ . beginning and ending with a letter or digit
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def logs_object_location(build: dict) -> tuple[str, str]:
    """(bucket, object name) of a build's log; NotFound when the build names no logsBucket."""
    build_id = build.get("id")
    if not build_id:
        raise ParameterError("build", build, "pass the build as a dict with an 'id'")
    logs_bucket = build.get("logsBucket")
    if not logs_bucket:
        raise NotFound(f"Build {build_id} names no logsBucket, so there is no bucket log object to read.")
    bucket, _, folder = str(logs_bucket).removeprefix("gs://").partition("/")
    if not _BUCKET_NAME.fullmatch(bucket):
        raise ParameterError("build.logsBucket", logs_bucket, "expected a bucket name or a gs://BUCKET[/folder] URL")
    folder = folder.strip("/")
    return bucket, f"{folder}/log-{build_id}.txt" if folder else f"log-{build_id}.txt"


def forbidden_detail(bucket: str, object_name: str, refused: AccessDenied | None = None) -> str:
    """Why reading a log object was refused, and what to do: a VPC Service Controls perimeter (with its
    identifier), or the role the bucket needs (the Google-owned default bucket: Project Viewer)."""
    url = f"gs://{bucket}/{object_name}"
    default = bucket.endswith(DEFAULT_BUCKET_SUFFIX)
    instead = "; read the build's log from Cloud Logging instead" if default else ""
    if refused is not None and refused.vpc_sc_id is not None:
        return (f"Reading {url} was refused (403) by a VPC Service Controls perimeter (vpcServiceControlsUniqueIdentifier: "
                f"{refused.vpc_sc_id}): give that identifier to your administrator{instead}.")
    if default:
        return (f"Reading {url} was refused (403): the default Cloud Build logs bucket is Google-owned, so it "
                f"needs the Project Viewer role (roles/viewer) on the project and is not readable from inside "
                f"a VPC Service Controls perimeter{instead}.")
    return (f"Reading {url} was refused (403): the caller needs storage.objects.get on bucket {bucket} "
            f"(roles/storage.objectViewer), and a VPC Service Controls perimeter can also block it.")


def read_logs_bucket_object(build: dict, storage_client: Any) -> str:
    """The build's log text; raises NotFound (404 / no logsBucket), Forbidden (403), LogSourceError;
    the kit's CredentialsMissing, CloudUnreachable, QuotaExceeded as the call policy says them."""
    bucket, object_name = logs_object_location(build)
    blob = storage_client.bucket(bucket).blob(object_name)
    try:
        with refused_as(f"Reading gs://{bucket}/{object_name}", LogSourceError):
            # bytes, decoded as a saved log is: a step's Latin-1 output is no reason to lose the whole log
            return decode_log(cloud_call(site_of(storage_client, "storage"), blob.download_as_bytes))
    except NotFoundError:
        raise NotFound(f"gs://{bucket}/{object_name} does not exist (404).") from None
    except ServiceDisabled as exc:
        raise Forbidden(str(exc)) from None
    except AccessDenied as exc:
        raise Forbidden(forbidden_detail(bucket, object_name, exc)) from None


class GcsLogSource:
    """LogSource "gcs": the build's log object in its logs bucket."""

    name = BUCKET

    def __init__(self, storage_client: Any):
        self.storage_client = storage_client

    def fetch(self, build: dict) -> str:
        return read_logs_bucket_object(build, self.storage_client)
