"""Pub/Sub v1 routes of the fake (FakeGoogleApis), kept apart from server.py: the subscriptions list
that google-cloud-pubsub's SubscriberClient (transport="rest") pages through.

Subscriptions live in `fake.pubsub_subscriptions` as Pub/Sub REST JSON (name, topic, pushConfig
{pushEndpoint, oidcToken {serviceAccountEmail, audience}}, ackDeadlineSeconds); refusals use the fake's
`refuse("/v1/projects/P/subscriptions")`, as for every other API.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeGoogleApis, RecordedRequest

_LIST = re.compile(r"/v1/projects/([^/]+)/subscriptions")


def route(fake: "FakeGoogleApis", request: "RecordedRequest") -> tuple[int, Any] | None:
    """(status, JSON) for a Pub/Sub request, or None when the request is not Pub/Sub's."""
    match = _LIST.fullmatch(request.path)
    if request.method != "GET" or not match:
        return None
    project = match.group(1)
    found = sorted((s for s in fake.pubsub_subscriptions if s["name"].split("/")[1] == project),
                   key=lambda s: s["name"])
    return 200, fake._page(found, "subscriptions", request.param("pageSize"), request.param("pageToken"),
                           fake.max_page_size)
