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


def test_worst_seed_is_the_largest_of_each_figure(bench):
    rows = [(0.003, 0.21, 1.38, 1.87), (0.004, 0.29, 1.20, 2.23), (0.002, 0.25, 1.45, 1.95)]
    assert bench.worst_seed(rows) == (0.004, 0.29, 1.45, 2.23)
    line = bench.seed_line(bench.worst_seed(rows))
    # PUE and wet bulb inside their targets, WUE and dry bulb outside
    assert line == ("PUE 0.0040 PASS; WUE 0.2900 FAIL; wb p90 1.4500 PASS; "
                    "db p90 2.2300 FAIL")


def test_resampled_wue_error_is_zero_when_every_day_of_a_month_is_alike(bench):
    # every day of a month the same: any resampled year is the real year, error 0; with
    # days that differ (a hot spell in one July week) resampling moves the WUE
    params = catalog.read_cooling()
    month = bench._MONTH[::24]
    hour = np.cos(2 * np.pi * (np.arange(24) - 14) / 24.0)
    dry = (12.0 + 12.0 * np.sin(np.pi * month / 11.0))[:, None] + 6.0 * hour
    wet = dry - 6.0
    assert bench.resampled_wue_error(params, dry.ravel(), wet.ravel(), 101325.0) == 0.0
    hot = dry.copy()
    hot[185:192] += 6.0
    assert bench.resampled_wue_error(params, hot.ravel(), (hot - 6.0).ravel(), 101325.0) > 0.0
