"""Tests of dcplan.physics.racks (density, floor area, compatibility, busbar current)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dcplan.physics import racks

CHIPS_CSV = Path(__file__).resolve().parents[1] / "data" / "chips.csv"


def test_racks_per_mw_and_area():
    # DGX SuperPOD H100: 40.8 kW per rack -> 24.5 racks per MW
    assert racks.racks_per_mw(40.8) == pytest.approx(24.51, abs=0.01)
    assert racks.floor_area_m2_per_mw(40.8, area_per_rack_m2=2.8) == pytest.approx(68.6, abs=0.1)
    # NVL72 at 132 kW needs ~3.2x less white space per MW than 40.8 kW racks
    ratio = racks.floor_area_m2_per_mw(40.8) / racks.floor_area_m2_per_mw(132.0)
    assert ratio == pytest.approx(132.0 / 40.8)
    # Uptime 2024 industry-average rack ~8 kW -> 125 racks per MW
    assert racks.racks_per_mw(8.0) == pytest.approx(125.0)
    assert racks.rack_density_kw_per_m2(28.0, 2.8) == pytest.approx(10.0)


def test_default_area_per_rack_is_in_planning_range():
    # 25-30 ft^2 per rack incl. aisles (0.0929 m^2 per ft^2)
    assert 25 * 0.0929 <= racks.AREA_PER_RACK_M2 <= 30 * 0.0929 + 0.01


def test_check1_air_hall_limits():
    # physical_facts check 1: DGX B200 (14.3 kW, air-cooled; NVIDIA user guide) fits a
    # 40 kW air hall at 2 per rack (28.6 kW), not at 3 (42.9 kW)
    assert racks.compatible(2 * 14.3, True, 40.0, True)
    assert not racks.compatible(3 * 14.3, True, 40.0, True)
    # four DGX H100 (40.8 kW) fail a 30 kW air rack
    assert not racks.compatible(4 * 10.2, True, 30.0, True)
    # GB200 NVL72 (~132 kW, no air option) never lands in an air hall, even a generous one
    assert not racks.compatible(132.0, False, 200.0, True)
    # but fits a direct-to-chip hall rated 150 kW (DLC 50-150 kW typical, sect. 3a)
    assert racks.compatible(132.0, False, 150.0, False)
    # an air-coolable system may use a liquid hall (rear door / DLC variant)
    assert racks.compatible(40.8, True, 80.0, False)


def test_compatible_broadcasts_chip_by_cooling_dataarrays():
    chip = ["h100_sxm", "b200_hgx", "gb200_nvl72"]
    cooling = ["air_chiller", "rdhx", "dlc_dry", "immersion"]
    rack_kw = xr.DataArray([40.8, 28.6, 132.0], coords={"chip": chip}, dims="chip")
    air = xr.DataArray([True, True, False], coords={"chip": chip}, dims="chip")
    # literal limits per physical_facts 3a: air 40 kW (check 1), RDHx ~80 kW,
    # DLC 50-150 kW, single-phase immersion ~100-150 kW
    max_kw = xr.DataArray([40.0, 80.0, 150.0, 150.0], coords={"cooling": cooling},
                          dims="cooling")
    air_it = xr.DataArray([True, True, False, False], coords={"cooling": cooling},
                          dims="cooling")
    ok = racks.compatible(rack_kw, air, max_kw, air_it)
    assert isinstance(ok, xr.DataArray)
    assert set(ok.dims) == {"chip", "cooling"}
    assert ok.dtype == bool
    expected = {
        ("h100_sxm", "air_chiller"): False,  # 40.8 > 40
        ("b200_hgx", "air_chiller"): True,
        ("gb200_nvl72", "air_chiller"): False,
        ("gb200_nvl72", "rdhx"): False,  # air-cooled IT behind a rear door
        ("gb200_nvl72", "dlc_dry"): True,
        ("h100_sxm", "rdhx"): True,
    }
    for (c, k), value in expected.items():
        assert bool(ok.sel(chip=c, cooling=k)) is value, (c, k)
    # numpy broadcasting by position gives the same table
    arr = racks.compatible(rack_kw.values[:, None], air.values[:, None],
                           max_kw.values[None, :], air_it.values[None, :])
    np.testing.assert_array_equal(arr, ok.transpose("chip", "cooling").values)
    # and scalars agree element by element
    for i in range(3):
        for j in range(4):
            assert racks.compatible(float(rack_kw[i]), bool(air[i]), float(max_kw[j]),
                                    bool(air_it[j])) == arr[i, j]


def test_catalog_liquid_only_chips_never_air():
    table = pd.read_csv(CHIPS_CSV, true_values=["true"], false_values=["false"])
    ok = racks.compatible(table.rack_kw.values, table.air_coolable.values, 1e6, True)
    # even with no rack limit, liquid-only systems are refused by an air hall
    np.testing.assert_array_equal(ok, table.air_coolable.values)
    assert not ok[table.chip_id.isin(["gb200_nvl72", "gb300_nvl72", "rubin_nvl144"])].any()


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((-1.0, True, 40.0, True), "rack_kw"),
        ((30.0, True, 0.0, True), "max_rack_kw"),
        ((30.0, "yes", 40.0, True), "air_coolable"),
        ((30.0, True, 40.0, 1.5), "needs_air_cooled_it"),
    ],
)
def test_compatible_invalid(args, name):
    with pytest.raises(ValueError, match=name):
        racks.compatible(*args)


def test_busbar_current_known_values():
    # physical_facts check 6 / The Register: 120 kW at 48 V = 2.5 kA; 54 V 2.2 kA; 800 V 150 A
    assert racks.busbar_current_a(120.0, 48.0) == pytest.approx(2500.0)
    assert racks.busbar_current_a(120.0, 54.0) == pytest.approx(2222.2, abs=0.1)
    assert racks.busbar_current_a(120.0, 800.0) == pytest.approx(150.0)
    # 600 kW Kyber-class rack at 54 V: ~11 kA
    assert racks.busbar_current_a(600.0, 54.0) == pytest.approx(11111.1, abs=0.1)


def test_busbar_flags_600kw_on_54v():
    kw = np.array([40.8, 132.0, 190.0, 600.0])
    ok = racks.busbar_ok(kw, 54.0)
    np.testing.assert_array_equal(ok, [True, True, True, False])
    assert racks.busbar_ok(600.0, 800.0)  # 800 VDC (NVIDIA whitepaper) carries it
    da = racks.busbar_ok(xr.DataArray(kw, dims="chip"))
    np.testing.assert_array_equal(da.values, ok)
    with pytest.raises(ValueError, match="voltage_v"):
        racks.busbar_current_a(100.0, 0.0)


def test_scalar_ndarray_dataarray_agree():
    kw = np.array([8.0, 40.8, 132.0])
    arr = racks.floor_area_m2_per_mw(kw)
    da = racks.floor_area_m2_per_mw(xr.DataArray(kw, dims="chip"))
    np.testing.assert_allclose(da.values, arr)
    for i, value in enumerate(kw):
        assert racks.floor_area_m2_per_mw(float(value)) == pytest.approx(arr[i])
