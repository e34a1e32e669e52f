"""Enums as numbers, as Google answers a REST client that asks for them.

The generated REST clients (Cloud Build, Cloud Run, Pub/Sub) send `$alt=json;enum-encoding=int`, and
Google's answer then carries every enum as its number (`"status": 3`, not `"status": "FAILURE"`) and, as
proto3 JSON does, leaves out fields at their default value. The fakes keep their state as readable REST
JSON; this turns an answer into what Google would send, through the API's own message types (the
schema, not the kit's code, decides which fields are enums).
"""
from __future__ import annotations

import functools
import re
from typing import Any

from google.protobuf import json_format


@functools.lru_cache(maxsize=1)
def _answer_types() -> list[tuple[str, re.Pattern, Any]]:
    """(method, path, protobuf message class) of each answer that carries enums."""
    from google.cloud import run_v2
    from google.cloud.devtools import cloudbuild_v1
    from google.longrunning import operations_pb2
    from google.pubsub_v1 import types as pubsub_types

    services = r"/v2/projects/[^/]+/locations/[^/]+/services/[^/:]+"
    return [
        ("GET", re.compile(r"/v1/projects/[^/]+(/locations/[^/]+)?/builds/[^/:]+"), cloudbuild_v1.Build.pb()),
        ("GET", re.compile(r"/v1/projects/[^/]+(/locations/[^/]+)?/builds"), cloudbuild_v1.ListBuildsResponse.pb()),
        ("POST", re.compile(r"/v1/projects/[^/]+/locations/[^/]+/builds"), operations_pb2.Operation),
        ("GET", re.compile(r"/v[12]/projects/[^/]+/locations/[^/]+/operations/[^/:]+"), operations_pb2.Operation),
        ("GET", re.compile(services), run_v2.Service.pb()),
        ("PATCH", re.compile(services), operations_pb2.Operation),
        ("GET", re.compile(services + "/revisions"), run_v2.ListRevisionsResponse.pb()),
        ("GET", re.compile(services + r"/revisions/[^/:]+"), run_v2.Revision.pb()),
        ("GET", re.compile(r"/v1/projects/[^/]+/subscriptions"), pubsub_types.ListSubscriptionsResponse.pb()),
    ]


def as_numbers(method: str, path: str, payload: dict) -> dict:
    """`payload` with its enums as numbers and default values left out, when the answer has a type here."""
    kind = next((kind for m, pattern, kind in _answer_types() if m == method and pattern.fullmatch(path)), None)
    if kind is None:
        return payload
    # ignore_unknown_fields: what the fake keeps beyond the API's schema, a client would drop anyway.
    message = json_format.ParseDict(payload, kind(), ignore_unknown_fields=True)
    return json_format.MessageToDict(message, use_integers_for_enums=True)
