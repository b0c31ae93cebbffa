"""Helpers for the tests and benchmarks (synthetic studies of any size); not used at runtime."""
