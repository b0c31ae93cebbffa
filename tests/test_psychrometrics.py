"""Psychrometrics against psychrolib (ASHRAE Fundamentals SI) and published values."""

import numpy as np
import psychrolib
import pytest
import xarray as xr

from dcplan.physics import psychrometrics as ps

psychrolib.SetUnitSystem(psychrolib.SI)


@pytest.mark.parametrize("temp_c, expected_pa", [
    # ASHRAE Handbook Fundamentals 2017 (SI) ch. 1 Table 3 saturation pressures
    (-20.0, 103.26), (0.0, 611.2), (20.0, 2339.3), (30.0, 4246.8), (50.0, 12351.3),
])
def test_saturation_pressure_ashrae_table(temp_c, expected_pa):
    assert ps.saturation_vapor_pressure(temp_c) == pytest.approx(expected_pa, rel=3e-4)


def test_pressure_from_elevation_standard_atmosphere():
    # ASHRAE Fundamentals 2017 ch. 1 Table 1: 101.325 kPa at 0 m, 89.875 kPa at 1,000 m
    assert ps.pressure_from_elevation(0.0) == pytest.approx(101325.0)
    assert ps.pressure_from_elevation(1000.0) == pytest.approx(89875.0, rel=2e-4)


def test_wet_bulb_known_value_psychrolib_example():
    # psychrolib's own SI test: 25 degC, RH 80 %, 101325 Pa -> wet bulb 22.4 degC
    assert ps.wet_bulb(25.0, 101325.0, relative_humidity=0.8) == pytest.approx(
        psychrolib.GetTWetBulbFromRelHum(25.0, 0.8, 101325.0), abs=1e-3)
    assert ps.wet_bulb(25.0, 101325.0, relative_humidity=0.8) == pytest.approx(22.4, abs=0.1)


def test_against_psychrolib_random():
    rng = np.random.default_rng(42)
    t = rng.uniform(-30, 50, 400)
    rh = rng.uniform(0.05, 1.0, 400)
    p = rng.uniform(70000, 104000, 400)
    got_wb = ps.wet_bulb(t, p, relative_humidity=rh)
    ref_wb = np.array([psychrolib.GetTWetBulbFromRelHum(*a) for a in zip(t, rh, p, strict=False)])
    # the ASHRAE equation jumps at 0 degC (water/ice forms): skip the ambiguous band
    clear = np.abs(ref_wb) > 1.0
    assert np.abs(got_wb - ref_wb)[clear].max() < 2e-3
    ref_td = np.array([psychrolib.GetTDewPointFromRelHum(a, b) for a, b in zip(t, rh, strict=False)])
    assert np.abs(ps.dewpoint_from_relative_humidity(t, rh) - ref_td).max() < 1e-6
    ref_w = np.array([psychrolib.GetHumRatioFromTWetBulb(a, b, c) for a, b, c in zip(t, ref_wb, p, strict=False)])
    assert np.allclose(ps.humidity_ratio_from_wet_bulb(t, ref_wb, p), ref_w, rtol=1e-9)


def test_wet_bulb_from_dewpoint_matches_rh_route():
    td = ps.dewpoint_from_relative_humidity(35.0, 0.3)
    assert ps.wet_bulb(35.0, 90000.0, dewpoint_c=td) == pytest.approx(
        ps.wet_bulb(35.0, 90000.0, relative_humidity=0.3), abs=1e-6)


def test_saturated_air_wet_bulb_equals_dry_bulb():
    assert ps.wet_bulb(20.0, relative_humidity=1.0) == pytest.approx(20.0, abs=1e-4)
    assert ps.relative_humidity_from_dewpoint(20.0, 20.0) == pytest.approx(1.0)


def test_scalar_ndarray_dataarray_agree():
    t = np.array([[10.0, 30.0, -5.0], [25.0, 40.0, 0.5]])
    rh = np.array([[0.5, 0.3, 0.9], [0.8, 0.1, 0.6]])
    arr = ps.wet_bulb(t, 95000.0, relative_humidity=rh)
    da = ps.wet_bulb(xr.DataArray(t, dims=("site", "hour")), 95000.0,
                     relative_humidity=xr.DataArray(rh, dims=("site", "hour")))
    assert isinstance(da, xr.DataArray) and da.dims == ("site", "hour")
    np.testing.assert_allclose(da.values, arr)
    for i in np.ndindex(t.shape):
        scalar = ps.wet_bulb(float(t[i]), 95000.0, relative_humidity=float(rh[i]))
        assert isinstance(scalar, float)
        assert scalar == pytest.approx(arr[i], abs=1e-9)


def test_float32_fast_path_close_to_float64():
    t = np.linspace(5, 45, 200)
    w = ps.humidity_ratio(0.4 * ps.saturation_vapor_pressure(t), 101325.0)
    f64 = ps._wet_bulb(t, w, 101325.0)
    f32 = ps._wet_bulb(t.astype(np.float32), w.astype(np.float32), np.float32(101325.0))
    assert f32.dtype == np.float32
    assert np.abs(f64 - f32).max() < 2e-3


def test_invalid_inputs():
    with pytest.raises(ValueError, match="percent"):
        ps.wet_bulb(25.0, relative_humidity=80.0)
    with pytest.raises(ValueError, match="exactly one"):
        ps.wet_bulb(25.0)
    with pytest.raises(ValueError, match="exactly one"):
        ps.wet_bulb(25.0, relative_humidity=0.5, dewpoint_c=10.0)
    with pytest.raises(ValueError, match="dew point cannot be above"):
        ps.relative_humidity_from_dewpoint(20.0, 25.0)
    with pytest.raises(ValueError, match="temp_c"):
        ps.saturation_vapor_pressure(250.0)
    with pytest.raises(ValueError, match="elevation_m"):
        ps.pressure_from_elevation(20000.0)
