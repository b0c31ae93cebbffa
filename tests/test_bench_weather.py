"""The WUE error decomposition in benchmarks/bench_weather.py, against hand calculations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dcplan import catalog

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_weather.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_weather", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pad_degree_hours_by_hand(bench):
    params = catalog.read_cooling()
    row = params.loc["air_evap"]
    start = row["supply_c"] - row["approach_k"]  # 24 - 1.5 = 22.5 degC in data/cooling.csv
    lock = row["econ_max_dewpoint_c"]  # 15 degC
    dry = np.array([start - 2.5, start + 1.0, start + 7.5, start + 3.0])
    dew = np.array([10.0, lock - 5.0, lock + 1.0, lock - 0.1])
    all_dh, dry_dh = bench.pad_degree_hours(params, dry, dew)
    assert all_dh == pytest.approx(1.0 + 7.5 + 3.0)
    assert dry_dh == pytest.approx(1.0 + 3.0)  # the humid hour is locked out


def test_synthetic_dry_bulbs_on_the_real_hours(bench):
    rng = np.random.default_rng(3)
    real_t = rng.normal(15.0, 8.0, 8760)
    real_dew = real_t - rng.uniform(0.0, 12.0, 8760)
    syn_t = rng.normal(14.0, 6.0, 8760)
    t, dew = bench.with_synthetic_dry_bulb(real_t, real_dew, syn_t)
    month = bench._MONTH
    for m in range(12):
        k = month == m
        # each month carries exactly the synthetic values ...
        np.testing.assert_array_equal(np.sort(t[k]), np.sort(syn_t[k]))
        # ... in the order of the real dry bulbs
        np.testing.assert_array_equal(np.argsort(t[k], kind="stable"),
                                      np.argsort(real_t[k], kind="stable"))
    # the real dew point, capped at the new dry bulb
    np.testing.assert_array_equal(dew, np.minimum(real_dew, t))
    assert (dew < real_dew).any()
