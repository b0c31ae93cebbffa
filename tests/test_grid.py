"""Tests for dcplan.physics.grid: interconnect options, lead times, phasing, permits."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dcplan.physics import grid


def _one(max_kv, headroom, queue, start=2026, headroom_year=2026, **kw):
    ds = grid.interconnect_options([max_kv], [headroom], [headroom_year], [queue], start, **kw)
    return ds.isel(site=0)


def test_new_345kv_substation_waits_for_study_and_transformer_lead():
    # Only a new 345 kV substation: no headroom, and EHV only (tap disabled by capacity 0 at 69 kV
    # would be wrong here, so look at the new_substation option itself).
    queue = 34 / 12  # LBNL Queued Up 2024: average age of active requests 34 months
    ds = _one(345.0, 0.0, queue)
    sub = ds.sel(option="new_substation")
    assert float(sub.ic_capacity_mw) > 0 and float(sub.ic_kv) == 345.0
    assert float(ds.sel(option="existing").ic_capacity_mw) == 0.0
    # DOE 2024: large power transformers take >= 80 weeks; default 120 weeks (NEMA)
    floor = 2026 + queue + 80 / 52.1775
    assert int(sub.ic_earliest_year) >= np.ceil(floor)
    assert int(sub.ic_earliest_year) >= 2026 + queue + grid.TRANSFORMER_LEAD_WEEKS / 52.1775
    assert float(sub.ic_lead_time_yr) >= queue + 120 / 52.1775


def test_lead_time_grows_with_transformer_lead():
    fast = _one(345.0, 0.0, 2.0, transformer_lead_weeks=80.0).sel(option="new_substation")
    slow = _one(345.0, 0.0, 2.0, transformer_lead_weeks=210.0).sel(option="new_substation")
    assert int(slow.ic_earliest_year) - int(fast.ic_earliest_year) >= 2  # 130 weeks ~ 2.5 yr


def test_existing_headroom_waits_for_headroom_year():
    ds = _one(138.0, 60.0, 3.0, headroom_year=2029)
    ex = ds.sel(option="existing")
    assert float(ex.ic_capacity_mw) == 60.0
    assert int(ex.ic_earliest_year) == 2029
    # no new transformers, so existing beats a new tap
    assert int(ex.ic_earliest_year) <= int(ds.sel(option="tap").ic_earliest_year)


def test_option_availability_and_voltage_classes():
    ds = grid.interconnect_options([60.0, 138.0, 230.0, 500.0, 765.0], [0] * 5, [2026] * 5,
                                   [3.0] * 5, 2026)
    cap = ds.ic_capacity_mw
    assert float(cap.sel(site=0, option="tap")) == 0.0  # < 69 kV: no transmission tap
    assert float(cap.sel(site=1, option="new_substation")) == 0.0  # no EHV nearby
    assert float(ds.ic_kv.sel(site=4, option="tap")) == 230.0  # taps are <= 230 kV
    assert float(ds.ic_kv.sel(site=3, option="new_substation")) == 500.0
    assert float(ds.ic_kv.sel(site=1, option="new_substation")) == 345.0
    kv = ds.ic_kv.where(cap > 0)
    assert float(kv.min()) >= 69 and float(kv.max()) <= 500


def test_n_plus_one_transformers():
    # 1000 MW on 300 MVA units at pf 0.95: ceil(1000 / 285) = 4, plus one spare
    assert grid.transformer_count(1000.0, 300.0) == 5
    assert grid.transformer_count(0.0, 300.0) == 0
    assert grid.transformer_count(285.0, 300.0) == 2


def test_phased_energisation_never_exceeds_capacity_or_arrives_at_once():
    rng = np.random.default_rng(0)
    n = 50
    ds = grid.interconnect_options(rng.choice([69, 115, 138, 230, 345, 500], n),
                                   rng.uniform(0, 150, n), rng.integers(2026, 2031, n),
                                   rng.uniform(1, 5, n), 2026)
    years = np.arange(2026, 2046)
    sched = grid.energisable_mw(years, ds.ic_earliest_year, ds.ic_capacity_mw, ds.ic_phase_mw_per_yr)
    assert sched.dims == ("site", "option", "year")
    assert bool((sched <= ds.ic_capacity_mw + 1e-9).all())
    assert bool((sched.diff("year") >= -1e-9).all())  # cumulative
    assert bool((sched.diff("year") <= ds.ic_phase_mw_per_yr + 1e-9).all())
    before = sched.where(sched.year < ds.ic_earliest_year)
    assert float(before.fillna(0).max()) == 0.0
    built = ds.ic_capacity_mw > 0
    first = sched.sel(year=2045) > 0
    # never all at once: what the first energised year holds is less than the capacity
    first_mw = sched.where(sched.year == ds.ic_earliest_year).max("year")
    assert bool((first_mw.where(built) < ds.ic_capacity_mw.where(built)).sum() == int(built.sum()))
    assert bool((first == built).all())  # 20 years is long enough to reach capacity


def test_energisable_scalar_array_dataarray_agree():
    years = np.arange(2026, 2036)
    scalar = grid.energisable_mw(years, 2028, 400.0, 150.0)
    np.testing.assert_allclose(scalar, [0, 0, 150, 300, 400, 400, 400, 400, 400, 400])
    arr = grid.energisable_mw(years, np.array([2028, 2030]), np.array([400.0, 100.0]),
                              np.array([150.0, 50.0]))
    np.testing.assert_allclose(arr[0], scalar)
    da = grid.energisable_mw(years, xr.DataArray([2028, 2030], dims="site"),
                             xr.DataArray([400.0, 100.0], dims="site"),
                             xr.DataArray([150.0, 50.0], dims="site"))
    np.testing.assert_allclose(da.values, arr)


def test_interconnect_vectorised_equals_scalar():
    kv = np.array([69.0, 138.0, 345.0, 500.0])
    head = np.array([0.0, 40.0, 120.0, 0.0])
    hy = np.array([2026, 2027, 2030, 2026])
    q = np.array([2.33, 2.83, 4.0, 2.75])
    many = grid.interconnect_options(kv, head, hy, q, 2026)
    for i in range(len(kv)):
        one = grid.interconnect_options(kv[i], head[i], hy[i], q[i], 2026).isel(site=0)
        for name in many.data_vars:
            np.testing.assert_allclose(many[name].isel(site=i).values, one[name].values)


def test_helpers_scalar_array_dataarray():
    values = np.array([69.0, 140.0, 400.0])
    da = xr.DataArray(values, dims="site")
    for option in grid.OPTIONS:
        arr = grid.voltage_class(values, option)
        assert isinstance(grid.voltage_class(da, option), xr.DataArray)
        np.testing.assert_allclose(grid.voltage_class(da, option).values, arr)
        for i, v in enumerate(values):
            assert grid.voltage_class(v, option) == arr[i]
    lead = np.array([0.0, 1.5, 2.01])
    np.testing.assert_array_equal(grid.permit_year(lead, 2026), [2026, 2028, 2029])
    assert grid.permit_year(1.5, 2026) == 2028
    np.testing.assert_array_equal(grid.permit_year(xr.DataArray(lead, dims="site"), 2026).values,
                                  [2026, 2028, 2029])


def test_permit_critical_path():
    assert grid.permit_lead_time(1.5, 2.5, 0.75) == 2.5  # e.g. Maryland CPCN for gensets
    assert grid.permit_lead_time() == 1.5
    assert grid.GENSET_VIRGINIA_TOTAL_H == 500.0  # Virginia DEQ


def test_defaults_inside_public_ranges():
    lo, hi = grid.TRANSFORMER_LEAD_WEEKS_RANGE  # DOE 2024: 80-210 weeks
    assert lo <= grid.TRANSFORMER_LEAD_WEEKS <= hi
    assert 46 <= grid.SWITCHGEAR_LEAD_WEEKS <= 48  # Cushman & Wakefield 2025
    assert all(v >= 100 for k, v in grid.TRANSFORMER_MVA_BY_KV.items() if k >= 345)  # LPT >= 100 MVA


def test_bad_input_raises():
    with pytest.raises(ValueError, match="queue_study_yr"):
        grid.interconnect_options([138.0], [0.0], [2026], [np.nan], 2026)
    with pytest.raises(ValueError, match=">= 0"):
        grid.interconnect_options([138.0], [-5.0], [2026], [2.0], 2026)
    with pytest.raises(ValueError, match="unknown interconnect option"):
        grid.voltage_class(138.0, "bogus")
    with pytest.raises(ValueError):
        grid.permit_year(-1.0, 2026)
