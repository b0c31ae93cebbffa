"""Bad numbers and hostile files: every one gives a clear dcplan error, never a traceback,
a hang or a plausible-looking answer.

Families: non-finite and extreme values in every float variable of an inputs Dataset, non-finite and
absurd study fields, hostile YAML, broken site files, and broken run folders.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcplan import optimize
from dcplan.checks import INF_MEANS_NO_LIMIT, check_inputs
from dcplan.errors import DataError, DcplanError, SpecError
from dcplan.spec import load_study, parse_study
from dcplan.testing.synthetic import make_inputs

BAD_VALUES = [np.nan, np.inf, -np.inf, 1e300, -1e300, 1e30]
TIME_LIMIT_S = 10.0


@pytest.fixture(scope="module")
def small():
    return make_inputs(3, 3, seed=0)


def _float_vars(ds) -> list[str]:
    return [n for n, v in ds.data_vars.items() if v.dtype.kind == "f"]


# ------------------------------------------------------------------ inputs Dataset
def test_the_small_dataset_has_every_float_variable_of_the_contract(small):
    names = _float_vars(small)
    assert len(names) >= 30 and {"it_kw_per_gpu", "target_gpus", "land_mw"} <= set(names)
    check_inputs(small)  # the clean dataset passes


@pytest.mark.parametrize("value", BAD_VALUES, ids=str)
def test_every_float_variable_rejects_every_bad_value(small, value):
    """Each float variable x each bad value: rejected at solve's entry, named with its cell."""
    tried = allowed = 0
    for name in _float_vars(small):
        ds = small.copy(deep=True)
        flat = ds[name].values.reshape(-1)
        flat[flat.size // 2] = value
        if name in INF_MEANS_NO_LIMIT and value == np.inf:
            check_inputs(ds)  # inf means "no limit" here: allowed
            allowed += 1
            continue
        started = time.perf_counter()
        with pytest.raises(DataError) as err:
            optimize.solve(ds, time_limit_s=TIME_LIMIT_S)
        assert time.perf_counter() - started < 2.0, "rejected before any model is built"
        problem = err.value.problems[0]
        assert problem.location == f"inputs.{name}"
        assert "=" in problem.message and ("nan" in problem.message or "inf" in problem.message
                                           or "e+" in problem.message)
        if small[name].ndim:
            assert small[name].dims[0] + "=" in problem.message
        tried += 1
    assert tried + allowed == len(_float_vars(small)) >= 30
    assert allowed == (len(INF_MEANS_NO_LIMIT) if value == np.inf else 0)


def test_the_issue_reproductions_are_named(small):
    cases = {
        "it_kw_per_gpu": "chip=",  # was: an "optimal" plan with 5,000 GPUs in 0 MW
        "target_gpus": "year=",  # was: 0 GPUs at a cost of 0
        "land_mw": "site=",  # was: the site silently dropped
    }
    for name, where in cases.items():
        ds = small.copy(deep=True)
        ds[name].values.reshape(-1)[0] = np.nan
        with pytest.raises(DataError, match=name) as err:
            optimize.solve(ds)
        assert where in str(err.value)


def test_missing_units_and_bad_scalars_are_reported_together(small):
    ds = small.copy(deep=True)
    del ds["land_mw"].attrs["units"]
    ds.attrs["block_mw"] = float("nan")
    ds.attrs["discount_rate"] = 7.0
    with pytest.raises(DataError) as err:
        optimize.solve(ds)
    locations = {p.location for p in err.value.problems}
    assert {"inputs.land_mw", "inputs.attrs.block_mw", "inputs.attrs.discount_rate"} <= locations


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_no_hang_no_bad_optimal_no_traceback(small, data):
    """Random variable, random cell, random bad (or extreme) value: a clear DcplanError, or,
    where the value is a legitimate "no limit", an audited plan within the time limit."""
    names = _float_vars(small)
    name = data.draw(st.sampled_from(names), label="variable")
    ds = small.copy(deep=True)
    flat = ds[name].values.reshape(-1)
    cell = data.draw(st.integers(0, flat.size - 1), label="cell")
    value = data.draw(st.one_of(st.sampled_from(BAD_VALUES),
                                st.floats(allow_nan=True, allow_infinity=True).filter(
                                    lambda v: not np.isfinite(v) or abs(v) > 1e16)),
                      label="value")
    flat[cell] = value
    started = time.perf_counter()
    try:
        plan = optimize.solve(ds, time_limit_s=TIME_LIMIT_S)
    except DcplanError:
        outcome = "error"
    else:
        outcome = "plan"
        assert name in INF_MEANS_NO_LIMIT and value == np.inf, f"{name}={value} gave a plan"
        assert plan.audit().ok
    assert time.perf_counter() - started < TIME_LIMIT_S + 20, "solve overran its time limit"
    assert outcome in ("error", "plan")


# ------------------------------------------------------------------ study fields
BASE = {
    "name": "bad numbers",
    "horizon": {"first_year": 2026, "last_year": 2029},
    "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 5000}]},
    "sites": {"inline": [{"site_id": "ashburn", "lat": 39.04, "lon": -77.49}]},
}

SITE = BASE["sites"]["inline"][0]
NAN, INF = float("nan"), float("inf")
STUDY_CASES = [
    ("sites.inline[0].headroom_mw", {"sites": {"inline": [dict(SITE, headroom_mw=NAN)]}}),
    ("sites.inline[0].permit_lead_time_yr",
     {"sites": {"inline": [dict(SITE, permit_lead_time_yr=NAN)]}}),
    ("sites.inline[0].electricity_usd_per_mwh",
     {"sites": {"inline": [dict(SITE, electricity_usd_per_mwh="nan")]}}),
    ("sites.inline[0].headroom_mw", {"sites": {"inline": [dict(SITE, headroom_mw=INF)]}}),
    ("fleet.gpus[0].gpus", {"fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": INF}]}}),
    ("limits.block_mw", {"limits": {"block_mw": INF}}),
    ("limits.block_mw", {"limits": {"block_mw": 1e308}}),
    ("costs.site_open_usd", {"costs": {"site_open_usd": 1e308}}),
    ("limits.carbon_cap_t_per_year", {"limits": {"carbon_cap_t_per_year": INF}}),
    ("limits.capex_budget_usd_per_year", {"limits": {"capex_budget_usd_per_year": "inf USD"}}),
    ("limits.water_cap_scale", {"limits": {"water_cap_scale": INF}}),
    ("costs.carbon_price_usd_per_t", {"costs": {"carbon_price_usd_per_t": {2027: NAN}}}),
    ("workload.training_share", {"workload": {"training_share": NAN}}),
    ("limits.max_build_mw_per_year", {"limits": {"max_build_mw_per_year": "1e30 GW"}}),
    ("solver.time_limit_s", {"solver": {"time_limit_s": INF}}),
    ("horizon.discount_rate",
     {"horizon": {"first_year": 2026, "last_year": 2029, "discount_rate": NAN}}),
]


@pytest.mark.parametrize(("field", "change"), STUDY_CASES,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(STUDY_CASES)])
def test_study_fields_reject_non_finite_and_absurd_numbers(field, change):
    with pytest.raises(SpecError) as err:
        parse_study({**BASE, **change})
    assert any(field in p.location for p in err.value.problems), str(err.value)
    assert len(str(err.value)) < 1500


def test_no_limit_stays_expressible_as_null():
    study = parse_study({**BASE, "limits": {"carbon_cap_t_per_year": None,
                                            "capex_budget_usd_per_year": None}})
    assert study.limits.carbon_cap_t_per_year is None


def test_yaml_nan_and_inf_spellings_are_rejected(tmp_path):
    for spelling in (".nan", ".inf", "-.inf", ".NaN", "'nan'", "'inf MW'", "1e400"):
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(BASE).replace("gpus: 5000", f"gpus: {spelling}"))
        with pytest.raises(SpecError, match=r"fleet\.gpus\[0\]\.gpus"):
            load_study(path)


# ------------------------------------------------------------------ hostile YAML
def _alias_bomb(levels: int = 9, mapping: bool = False) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]" if not mapping else "a0: &a0 {k: v}"]
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        if mapping:
            lines.append(f"a{i}: &a{i} {{" + ", ".join(f"k{j}: {prev}" for j in range(9)) + "}")
        else:
            lines.append(f"a{i}: &a{i} [" + ", ".join([prev] * 9) + "]")
    return "\n".join(lines)


@pytest.mark.parametrize("mapping", [False, True], ids=["list-bomb", "mapping-bomb"])
def test_alias_bombs_are_refused_quickly_with_a_short_message(tmp_path, mapping):
    bomb = _alias_bomb(mapping=mapping)
    text = bomb + "\n" + yaml.safe_dump(BASE).replace("gpus: 5000", "gpus: *a8")
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text.encode()) < 2000
    started = time.perf_counter()
    with pytest.raises(SpecError, match="aliases") as err:
        load_study(path)
    assert time.perf_counter() - started < 5
    assert len(str(err.value)) < 1000


def test_a_big_list_in_a_quantity_field_is_quoted_briefly(tmp_path):
    study = {**BASE, "limits": {"block_mw": list(range(20000))}}
    with pytest.raises(SpecError) as err:
        parse_study(study)
    assert len(str(err.value)) < 2000


def test_an_oversized_study_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(BASE) + "description: '" + "x" * 5_000_000 + "'\n")
    started = time.perf_counter()
    with pytest.raises(SpecError, match="MB"):
        load_study(path)
    assert time.perf_counter() - started < 2


def test_duplicate_yaml_keys_are_rejected_with_the_line(tmp_path):
    path = tmp_path / "dup.yaml"
    rest = {k: v for k, v in BASE.items() if k != "name"}
    path.write_text("name: a\nname: b\n" + yaml.safe_dump(rest))
    with pytest.raises(SpecError, match=r"duplicate key 'name' \(first given on line 1\)") as err:
        load_study(path)
    assert ":2:" in str(err.value)
    merged = tmp_path / "merge.yaml"  # YAML merge keys may still be overridden
    merged.write_text(yaml.safe_dump(BASE) + "limits: {<<: {block_mw: 10}, block_mw: 20}\n")
    assert load_study(merged).limits.block_mw == 20


def test_load_study_of_a_mapping_raises_spec_error():
    with pytest.raises(SpecError, match="parse_study"):
        load_study(BASE)


def test_long_hostile_values_are_quoted_as_a_short_prefix():
    study = {**BASE, "limits": {"block_mw": "9" * 100_000 + " furlongs"}}
    with pytest.raises(SpecError) as err:
        parse_study(study)
    assert len(str(err.value)) < 1000


# ------------------------------------------------------------------ site files
def _study_with_file(tmp_path: Path, name: str) -> Path:
    study = {**BASE, "sites": {"file": name}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def _geojson(features, crs="EPSG:4326") -> str:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc)


def _point(site_id, lon=-77.49, lat=39.04):
    return {"type": "Feature", "properties": {"site_id": site_id},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _gpkg(path: Path, layers: dict[str, list[str]]) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    for layer, ids in layers.items():
        points = [Point(-77.49 - i, 39.04) for i in range(len(ids))]
        gdf = gpd.GeoDataFrame({"site_id": ids}, geometry=points, crs="EPSG:4326")
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


SITE_FILES = {
    "no_site_id.csv": ("lat,lon\n39.04,-77.49\n", "site_id"),
    "lat_inf.csv": ("site_id,lat,lon\na,inf,-77.49\n", "lat"),
    "headroom_text.csv": ("site_id,lat,lon,headroom_mw\na,39.04,-77.49,lots\n", "headroom_mw"),
    "headroom_nan.csv": ("site_id,lat,lon,headroom_mw\na,39.04,-77.49,nan\n", "headroom_mw"),
    "empty.csv": ("", "empty"),
    "header_only.csv": ("site_id,lat,lon\n", "no sites"),
    "not_utf8.csv": (b"site_id,lat,lon\n\xff\xfe,39,-77\n", "UTF-8"),
    "ids_case.csv": ("site_id,lat,lon\nSite1,39.04,-77.49\nsite1,39.5,-77.0\n",
                     "differ only by case"),
    "ids_space.csv": ("site_id,lat,lon\na,39.04,-77.49\na ,39.5,-77.0\n", "space"),
    "empty_fc.geojson": (_geojson([]), "no features"),
    "not_json.geojson": ("this is { not json", "cannot read the file as GeoJSON"),
    "zero.geojson": ("", "empty"),
    "unknown_crs.geojson": (_geojson([_point("a")], crs="EPSG:999999"), "CRS"),
    "garbage.gpkg": (b"\x00\x01garbage" * 100, "cannot read the file as GeoPackage"),
    "zero.gpkg": (b"", "empty"),
}


@pytest.mark.parametrize("name", list(SITE_FILES))
def test_broken_site_files_give_clear_errors(tmp_path, name):
    content, expected = SITE_FILES[name]
    file = tmp_path / name
    file.write_bytes(content if isinstance(content, bytes) else content.encode())
    from dcplan.inputs import build_inputs

    study = load_study(_study_with_file(tmp_path, name))
    with pytest.raises(DcplanError) as err:
        build_inputs(study)
    assert expected in str(err.value), str(err.value)
    assert name in str(err.value)


def test_a_geopackage_with_several_layers_reads_layer_sites(tmp_path):
    from dcplan.sites import read_sites

    path = tmp_path / "multi.gpkg"
    _gpkg(path, {"other": ["x1", "x2", "x3"], "sites": ["s1", "s2"]})
    assert list(read_sites(path)["site_id"]) == ["s1", "s2"]
    bad = tmp_path / "nosites.gpkg"
    _gpkg(bad, {"a": ["x1"], "b": ["y1"]})
    with pytest.raises(DataError, match="none is named 'sites'"):
        read_sites(bad)


def test_inline_ids_differing_by_case_are_rejected():
    from dcplan.inputs import build_inputs

    study = parse_study({**BASE, "sites": {"inline": [
        {"site_id": "Ashburn", "lat": 39.04, "lon": -77.49},
        {"site_id": "ashburn", "lat": 39.10, "lon": -77.40}]}})
    with pytest.raises(DataError, match="differ only by case"):
        build_inputs(study)


def test_a_gpkg_that_is_really_sqlite_without_layers_is_clear(tmp_path):
    path = tmp_path / "empty_db.gpkg"
    sqlite3.connect(path).execute("create table t (x)").connection.close()
    from dcplan.sites import read_sites

    with pytest.raises(DataError, match=r"empty_db\.gpkg"):
        read_sites(path)
