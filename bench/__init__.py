"""Benchmarks (not tests): `python -m bench.bridge_bench`, `python -m bench.service_bench`."""
