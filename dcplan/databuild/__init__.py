"""Builders of the shipped data tables from public source files (``dcplan data build-sites``,
``scripts/``); not used when planning."""
