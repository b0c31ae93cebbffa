"""Shared fixtures: paths to the project and to ../shared/data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA


#: a two-site study that solves in seconds, shared by the CLI and output-safety tests
TINY_STUDY = {
    "name": "cli tiny",
    "horizon": {"first_year": 2026, "last_year": 2030},
    "fleet": {"gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": 5000}]},
    "sites": {"inline": [
        {"site_id": "ashburn", "lat": 39.04, "lon": -77.49},
        {"site_id": "abilene", "lat": 32.45, "lon": -99.73},
    ]},
    "cooling": {"allowed": ["air_chiller", "dlc_dry"]},
    "solver": {"time_limit_s": "60 s"},
}
