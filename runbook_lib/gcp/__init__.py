"""Adapters over the real Google Cloud client libraries (target="gcp")."""
