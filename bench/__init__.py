"""Benchmarks (not run by the tests): `make bench` runs every bench_*.py module here."""
