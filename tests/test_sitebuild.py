"""Tests for dcplan.databuild.sitebuild: readers of the public files and a reproducible catalog build."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dcplan import sites
from dcplan.databuild import sitebuild
from dcplan.errors import DataError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.shared

# cell-aligned box around Virginia / Maryland: selection inside is independent of the rest
BOX = dict(lat=(36.0, 40.0), lon=(-80.0, -75.0))
MARGIN_DEG = 0.6  # > 50 km, so counts of plants within 50 km are unaffected by the crop


@pytest.fixture(scope="module")
def src() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


def test_readers(src):
    p860 = sitebuild.read_eia860(src / sitebuild.SOURCES["eia860"])
    assert (p860["max_grid_kv"].dropna() <= 800).all() and p860["plant_code"].is_unique
    plants = sitebuild.read_eia_plants(src / sitebuild.SOURCES["eia_plants"])
    assert len(plants) > 10000 and (plants["total_mw"] >= 0).all()
    prices = sitebuild.read_eia861_prices(src / sitebuild.SOURCES["eia861"])
    assert int(prices["year"].iloc[0]) == 2019
    assert prices.set_index("state").loc["AL", "industrial_usd_per_mwh"] == pytest.approx(59.5)
    sub = sitebuild.read_egrid_subregions(src / sitebuild.SOURCES["egrid_subregion"])
    assert len(sub) == 26
    mapping = sitebuild.primary_ba(sitebuild.read_county_ba_mapping(src / sitebuild.SOURCES["county_ba"]))
    assert mapping.loc["51107", "ba_code"] == "PJM"
    stations = sitebuild.read_stations(src / sitebuild.SOURCES["stations"])
    assert stations["station_id"].is_unique and stations["climate_zone"].str.len().le(2).all()


def test_missing_source_files_listed(tmp_path):
    with pytest.raises(DataError) as err:
        sitebuild.build_catalog(tmp_path, tmp_path / "out")
    assert len(err.value.problems) == len(sitebuild.SOURCES)


def _crop(src: Path, dst: Path) -> None:
    for rel in sitebuild.SOURCES.values():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        target = dst / rel
        if rel.startswith("power_plants/"):
            table = pd.read_csv(src / rel, low_memory=False, encoding="utf-8-sig")
            lat = pd.to_numeric(table["Latitude"], errors="coerce")
            lon = pd.to_numeric(table["Longitude"], errors="coerce")
            keep = lat.between(*BOX["lat"]) & lon.between(*BOX["lon"])
            table[keep].to_csv(target, index=False)
        else:
            target.symlink_to(src / rel)


def test_subset_build_reproduces_shipped_rows(src, tmp_path):
    cropped = tmp_path / "src"
    _crop(src, cropped)
    written = sitebuild.build_catalog(cropped, tmp_path / "data")
    assert {p.name for p in written} >= {"us_sites.csv", "counties.geojson", "states.csv"}
    built = pd.read_csv(tmp_path / "data" / "sites" / "us_sites.csv", dtype={"county_fips": str,
                                                                          "station_id": str})
    shipped = pd.read_csv(Path(sites.__file__).resolve().parents[1] / "data" / "sites" / "us_sites.csv",
                          dtype={"county_fips": str, "station_id": str})

    def interior(t):
        return t[t["lat"].between(BOX["lat"][0] + MARGIN_DEG, BOX["lat"][1] - MARGIN_DEG)
                 & t["lon"].between(BOX["lon"][0] + MARGIN_DEG, BOX["lon"][1] - MARGIN_DEG)
                 & (t["site_id"].str.len() > 0)]

    a = interior(built).set_index("site_id").sort_index()
    b = interior(shipped).set_index("site_id").sort_index()
    # hub picks near the box edge may differ; the per-cell rule must agree exactly
    common = a.index.intersection(b.index)
    assert len(common) >= 5 and len(common) >= 0.8 * len(b)
    pd.testing.assert_frame_equal(a.loc[common], b.loc[common], check_exact=False, rtol=1e-6,
                                  check_dtype=False)


def test_region_tables_small_and_sourced():
    data = Path(sites.__file__).resolve().parents[1] / "data" / "regions"
    sizes = {p.name: p.stat().st_size for p in data.iterdir()}
    assert sizes["counties.geojson"] < 3_000_000
    assert sum(sizes.values()) < 4_000_000
    inter = pd.read_csv(data / "interconnection.csv")
    assert inter["source"].str.len().gt(10).all()
    assert {"DEFAULT", "PJM-DOM", "ERCOT"} <= set(inter["queue_region"])


def test_every_catalog_site_iso_agrees_with_the_county_ba_mapping(shared_data):
    # every BA the IM3 county -> utility -> BA mapping lists for the site's county (ERCOT
    # wires utilities, NERC region TRE without a BA, count as ERCO) must include the
    # catalog's ISO; the list of disagreements is printed by the assertion
    path = shared_data / "grid_regions" / "county_utility_ba_nerc_mapping_2018.csv"
    mapping = sitebuild.read_county_ba_mapping(path)
    mapping["iso"] = sitebuild.iso_of(mapping["ba_code"]).to_numpy()
    allowed = mapping.groupby("county_fips")["iso"].apply(set)
    catalog = sites.load_catalog()
    disagree = [(r.site_id, r.county_fips, r.iso, sorted(allowed[r.county_fips]))
                for r in catalog.itertuples()
                if r.county_fips in allowed.index and r.iso not in allowed[r.county_fips]]
    assert disagree == []
    # counties the mapping has no BA for at all: only DC (a federal district) and Fort
    # Bend TX (ERCOT retail choice, no utility row with a NERC region)
    unmapped = sorted(r.site_id for r in catalog.itertuples()
                      if r.county_fips not in allowed.index)
    assert unmapped == ["dc-59012", "tx-3470"]


def test_odessa_is_ercot():
    # Ector County, TX: Oncor (ERCOT) serves Odessa; the mapping's largest-sales rule
    # picked Southwestern Public Service (SPP) from its utility-wide sales
    catalog = sites.load_catalog().set_index("site_id")
    assert catalog.loc["tx-55215", "iso"] == "ERCOT"
    assert catalog.loc["tx-55215", "egrid_subregion"] == "ERCT"
    inline = sites.enrich_sites(sites.sites_from_records(
        [{"site_id": "odessa", "lat": 31.85, "lon": -102.37}]))
    assert inline["iso"].iloc[0] == "ERCOT"


def test_primary_ba_prefers_ercot_wires_utility():
    mapping = pd.DataFrame({
        "county_fips": ["48135", "48135"], "utility_id": [17718, 44372],
        "utility": ["Southwestern Public Service Co", "Oncor Electric Delivery Company LLC"],
        "sales_mwh": [14269358.0, 0.0], "ba_code": ["SWPP", "ERCO"],
        "retail_choice": [False, True]})
    assert sitebuild.primary_ba(mapping).loc["48135", "ba_code"] == "ERCO"
