"""Local fakes the real Google Cloud client libraries talk to over plain HTTP (see server.py, fixtures.py)."""
from .server import DATA_DIR, FakeGoogleApis, RecordedRequest, google_error, load_json, matches_filter

__all__ = ["DATA_DIR", "FakeGoogleApis", "RecordedRequest", "google_error", "load_json", "matches_filter"]
