"""The physics-facing variables of inputs.nc: weather sources, cluster power, excursions."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import dcplan
from dcplan.spec import parse_study


def _study(**extra):
    data = {
        "name": "physics inputs",
        "horizon": {"first_year": 2026, "last_year": 2030},
        "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 1000}]},
        "chips": {"use": ["h100_sxm", "gb200_nvl72"]},
        "sites": {"inline": [
            {"site_id": "laredo", "lat": 27.55, "lon": -99.45, "headroom_mw": 50},
            {"site_id": "dallas", "lat": 32.78, "lon": -96.80, "headroom_mw": 50},
        ]},
    }
    data.update(extra)
    return parse_study(data)


def test_weather_dir_uses_nearest_epw_within_the_distance(shared_data):
    folder = shared_data / "weather" / "tmy3"
    ds = dcplan.build_inputs(_study(weather={"dir": str(folder), "max_distance_km": "40 km"}))
    src = dict(zip(ds["site"].values, ds["weather_source"].values, strict=True))
    dist = dict(zip(ds["site"].values, ds["weather_distance_km"].values, strict=True))
    # Laredo Intl AP (27.57 N, 99.49 W) is ~4.5 km from the site; Dallas has no file within
    # 40 km (the nearest TMY3 station of the folder is Amarillo or Laredo, > 300 km)
    assert src["laredo"] == "USA_TX_Laredo.Intl.AP.722520_TMY3.epw.gz"
    assert 3.0 < dist["laredo"] < 6.0
    assert src["dallas"] == "synthetic" and np.isnan(dist["dallas"])
    assert ds["weather_distance_km"].attrs["units"] == "km"
    # with a generous distance, Dallas takes the nearest file instead
    far = dcplan.build_inputs(_study(weather={"dir": str(folder), "max_distance_km": 600}))
    assert far["weather_source"].sel(site="dallas").item() != "synthetic"


def test_weather_dir_missing_folder_is_a_clear_error(tmp_path):
    from dcplan.errors import DataError
    with pytest.raises(DataError, match="weather folder not found"):
        dcplan.build_inputs(_study(weather={"dir": str(tmp_path / "nope")}))


def test_inputs_carry_rack_and_cluster_power_and_excursions():
    logging.disable(logging.WARNING)
    try:
        ds = dcplan.build_inputs(_study())
    finally:
        logging.disable(logging.NOTSET)
    rack = ds["it_kw_per_gpu_rack"].sel(chip="gb200_nvl72").item()
    cluster = ds["it_kw_per_gpu"].sel(chip="gb200_nvl72").item()
    assert rack == pytest.approx(132.0 / 72)
    assert cluster == pytest.approx(1.2e3 / 576, rel=0.005)  # NVIDIA SU TDP per GPU
    # the optimiser's energy coefficients scale with the cluster-level figure (both chips
    # share one load curve, so IT MWh per kW is the same)
    ratio = (ds["it_mwh_per_gpu_year"].sel(chip="gb200_nvl72")
             / ds["it_kw_per_gpu"].sel(chip="gb200_nvl72")).item()
    assert ratio == pytest.approx((ds["it_mwh_per_gpu_year"].sel(chip="h100_sxm")
                                   / ds["it_kw_per_gpu"].sel(chip="h100_sxm")).item(), rel=1e-9)
    ex = ds["supply_dewpoint_excursion_h"]
    assert ex.dims == ("site", "cooling") and ex.attrs["units"] == "h/year"
    assert (ex.values == 0).all()


def test_validate_catches_a_rack_no_cooling_admits(tmp_path):
    # a Rubin-class 190 kW rack with the default 150 kW liquid limit: run rejects it, so
    # must validate
    from typer.testing import CliRunner

    from dcplan.cli import app
    study = tmp_path / "s.yaml"
    study.write_text(
        "name: rubin\nhorizon: {first_year: 2026, last_year: 2030}\n"
        "fleet: {gpus: [{year: 2028, chip: rubin_nvl144, gpus: 7200}]}\n"
        "sites: {inline: [{site_id: a, lat: 32.78, lon: -96.8}]}\n")
    result = CliRunner().invoke(app, ["validate", str(study)])
    assert result.exit_code != 0
    assert "fit none of the" in " ".join(result.output.split())
    assert "rubin_nvl144" in result.output


def test_inline_site_defaults_are_named_in_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="dcplan.inputs"):
        dcplan.build_inputs(parse_study({
            "name": "x", "horizon": {"first_year": 2026, "last_year": 2030},
            "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 1000}]},
            "sites": {"inline": [{"site_id": "a", "lat": 32.78, "lon": -96.8}]}}))
    text = caplog.text
    assert "sites.inline[a]" in text and "headroom_mw=50" in text


def test_every_inputs_variable_has_units_pint_can_parse():
    import pint

    from dcplan.units import ureg
    logging.disable(logging.WARNING)
    try:
        ds = dcplan.build_inputs(_study())
    finally:
        logging.disable(logging.NOTSET)
    plain = pint.UnitRegistry()
    bad = []
    for name in [*ds.data_vars, *ds.coords]:
        var = ds[name]
        if var.dtype.kind in "OUSb" and name != "compatible":
            continue  # labels (site ids, names, sources) carry no unit
        units = var.attrs.get("units")
        if units is None:
            bad.append((name, "no units"))
            continue
        for registry in (plain, ureg):
            try:
                registry.parse_units(units)
                break
            except (pint.errors.UndefinedUnitError, ValueError, AssertionError):
                continue
        else:
            bad.append((name, units))
    assert bad == []
    # per-year quantities say so; calendar years are labels, not durations
    assert ds["water_cap_m3_per_yr"].attrs["units"] == "m**3/year"
    assert ds["max_build_mw_per_yr"].attrs["units"] == "MW/year"
    assert ds["first_year"].attrs["units"] == "calendar_year"
    assert not ureg.parse_units("calendar_year").dimensionality == ureg.year.dimensionality
    assert ds["lat"].attrs["units"] == "degree"
