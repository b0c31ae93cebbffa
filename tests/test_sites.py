"""Tests for dcplan.sites: the shipped catalog, enrichment of any US point, validation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from dcplan import sites
from dcplan.errors import DataError


@pytest.fixture(scope="module")
def catalog() -> gpd.GeoDataFrame:
    return sites.load_catalog()


@pytest.fixture(scope="module")
def known() -> gpd.GeoDataFrame:
    records = [
        dict(site_id="loudoun", lat=39.03, lon=-77.49),       # Ashburn, Loudoun County VA
        dict(site_id="abilene", lat=32.45, lon=-99.73),       # Abilene TX (Taylor County)
        dict(site_id="phoenix", lat=33.45, lon=-112.07),      # Phoenix, Maricopa County AZ
        dict(site_id="user", lat=41.6, lon=-93.6, land_mw=250.0, water_stress="high"),
    ]
    return sites.enrich_sites(sites.sites_from_records(records)).set_index("site_id", drop=False)


def test_catalog_size_ids_and_columns(catalog):
    assert len(catalog) >= 300
    assert catalog["site_id"].is_unique
    assert catalog.crs.to_epsg() == 4326
    for col in sites.SITE_COLUMNS + sites.GEN_COLUMNS + ["price_vintage", "queue_study_yr"]:
        assert col in catalog.columns, col
        assert not catalog[col].isna().any(), col
    sites.validate_sites(catalog, source="us_sites.csv")


def test_catalog_units_in_column_names(catalog):
    unitless = {"site_id", "name", "state", "county_fips", "ba_code", "iso", "egrid_subregion",
                "station_id", "climate_zone", "water_stress", "headroom_year", "existing_dc_50km",
                "price_vintage", "lat", "lon", "geometry", "utility", "queue_region", "hdd18",
                "cdd10"}
    suffixes = ("_m", "_km", "_c", "_usd_per_mwh", "_t_per_mwh", "_l_per_kwh_source", "_kv",
                "_mw", "_m3_per_yr", "_usd_per_m3", "_yr", "_mw_50km")
    for col in catalog.columns:
        assert col in unitless or col.endswith(suffixes), col


def test_catalog_geometry_inside_lower48(catalog):
    assert catalog.geometry.geom_type.eq("Point").all()
    assert catalog.geometry.y.between(24.4, 49.5).all()
    assert catalog.geometry.x.between(-125.0, -66.9).all()
    assert not catalog["state"].isin(["AK", "HI"]).any()
    assert catalog["county_fips"].str.fullmatch(r"\d{5}").all()
    assert (catalog["county_fips"].str[:2].astype(int) > 0).all()


def test_catalog_spread(catalog):
    # a spread of ISOs and climates: every RTO present, hot-humid to very cold
    assert {"PJM", "ERCOT", "MISO", "SPP", "CAISO", "NYISO", "ISONE", "SOUTHEAST", "WEST"} <= set(
        catalog["iso"])
    assert catalog["climate_zone"].str[0].nunique() >= 6
    assert catalog["state"].nunique() >= 45
    assert (catalog["max_grid_kv"] >= 115).all()


def test_catalog_values_in_public_ranges(catalog):
    # eGRID subregions span ~230-1,530 lb/MWh = 0.104-0.694 t/MWh (physical_facts sect. 7/9.12)
    assert catalog["co2_t_per_mwh"].between(0.10, 0.70).all()
    # EIA 2023 industrial prices in physical_facts sect. 6 range 5.75 (NM) to 18.64 (CA) c/kWh
    assert catalog["electricity_usd_per_mwh"].between(50.0, 190.0).all()
    tx = catalog.loc[catalog["state"] == "TX", "electricity_usd_per_mwh"]
    assert np.allclose(tx, 66.0)  # EIA Electric Power Annual 2023: TX 6.60 c/kWh
    assert set(catalog["water_stress"]) <= set(sites.WATER_STRESS_ORDER)
    assert catalog["permit_lead_time_yr"].between(0.5, 5).all()
    assert catalog["headroom_year"].between(2024, 2035).all()


def test_loudoun_is_pjm_dominion(known, catalog):
    row = known.loc["loudoun"]
    assert (row["state"], row["county_fips"], row["iso"], row["ba_code"]) == ("VA", "51107", "PJM", "PJM")
    assert "Virginia Electric" in row["utility"]  # Dominion Energy Virginia
    assert row["queue_region"] == "PJM-DOM"
    assert row["queue_study_yr"] >= 3.0  # NoVA 36-48+ months (build.inc)
    assert row["existing_dc_50km"] > 100  # the densest US data-centre market
    assert row["egrid_subregion"] == "SRVC"
    in_loudoun = catalog[catalog["county_fips"] == "51107"]
    assert len(in_loudoun) >= 1 and (in_loudoun["queue_region"] == "PJM-DOM").all()


def test_abilene_is_ercot(known):
    row = known.loc["abilene"]
    assert (row["state"], row["iso"], row["ba_code"], row["egrid_subregion"]) == (
        "TX", "ERCOT", "ERCO", "ERCT")


def test_maricopa_is_arizona_ba(known):
    row = known.loc["phoenix"]
    assert row["county_fips"] == "04013"
    assert row["ba_code"] in {"AZPS", "SRP"}
    assert row["egrid_subregion"] == "AZNM"
    assert row["water_stress"] in {"high", "extremely_high"}
    assert row["climate_zone"][0] in {"1", "2"} and row["cooling_design_db_c"] > 40


def test_enrich_fills_everything_and_user_values_win(known):
    assert not known[sites.SITE_COLUMNS].isna().any().any()
    user = known.loc["user"]
    assert user["land_mw"] == 250.0 and user["water_stress"] == "high"
    assert user["water_m3_per_yr"] == sites.WATER_CAP_M3_PER_YR["high"]  # follows the user's class
    assert user["state"] == "IA" and user["iso"] == "MISO"
    assert 0.5 < user["station_dist_km"] < 50


def test_filter_sites(catalog):
    out = sites.filter_sites(catalog, states=["va", "TX"], min_kv=230, water_stress="medium_high")
    assert len(out) > 0
    assert set(out["state"]) <= {"VA", "TX"} and (out["max_grid_kv"] >= 230).all()
    assert not out["water_stress"].isin(["high", "extremely_high", "arid"]).any()
    cheap = sites.filter_sites(catalog, isos=["ercot"], max_price_usd_per_mwh=70, limit=3)
    assert len(cheap) == 3 and (cheap["iso"] == "ERCOT").all()
    ids = list(catalog["site_id"].iloc[[5, 2]])
    assert list(sites.filter_sites(catalog, site_ids=ids)["site_id"]) == ids
    with pytest.raises(DataError, match="no catalog site"):
        sites.filter_sites(catalog, site_ids=["nope"])
    with pytest.raises(DataError, match="unknown class"):
        sites.filter_sites(catalog, water_stress="dry")
    assert len(sites.load_catalog(states=["VA"])) == (catalog["state"] == "VA").sum()


def test_read_sites_formats_roundtrip(tmp_path):
    gdf = sites.sites_from_records([dict(site_id="a", lat=39.0, lon=-77.5),
                                    dict(site_id="b", lat=32.4, lon=-99.7)])
    gdf[["site_id", "geometry"]].to_file(tmp_path / "s.geojson", driver="GeoJSON")
    gdf[["site_id", "geometry"]].to_file(tmp_path / "s.gpkg", driver="GPKG")
    pd.DataFrame({"site_id": ["a", "b"], "latitude": [39.0, 32.4], "longitude": [-77.5, -99.7]}).to_csv(
        tmp_path / "s.csv", index=False)
    for name in ("s.geojson", "s.gpkg", "s.csv"):
        got = sites.read_sites(tmp_path / name)
        np.testing.assert_allclose(got.geometry.y, [39.0, 32.4])
        assert list(got["site_id"]) == ["a", "b"]
        assert got.crs.to_epsg() == 4326


def test_file_without_crs_is_rejected(tmp_path):
    gdf = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=gpd.points_from_xy([-77.5], [39.0]))
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(tmp_path / "nocrs.gpkg", driver="GPKG")
    with pytest.raises(DataError, match="no CRS"):
        sites.read_sites(tmp_path / "nocrs.gpkg")


def test_csv_without_lat_lon(tmp_path):
    pd.DataFrame({"site_id": ["a"], "x": [1.0]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="lat/lon") as err:
        sites.read_sites(tmp_path / "bad.csv")
    assert "bad.csv" in str(err.value)


def test_validate_lists_every_problem_at_once():
    records = [
        dict(site_id="ok", lat=39.0, lon=-77.5),
        dict(site_id="dup", lat=35.0, lon=-90.0),
        dict(site_id="dup", lat=36.0, lon=-91.0),
        dict(site_id="swapped", lat=-97.7, lon=30.3),   # Austin with lat/lon swapped
        dict(site_id="paris", lat=48.85, lon=2.35),     # outside every US region
        dict(site_id="neg", lat=40.0, lon=-100.0, land_mw=-5.0),
    ]
    gdf = sites.enrich_sites(sites.sites_from_records(records))
    with pytest.raises(DataError) as err:
        sites.validate_sites(gdf, source="candidates.csv")
    text = str(err.value)
    locations = " ".join(p.location for p in err.value.problems)
    assert "duplicate ids ['dup']" in text
    assert "swapped" in text and "candidates.csv: swapped.lat" in locations
    assert "outside every US county" in text and "paris" in locations
    assert "neg.land_mw" in locations and "negative" in text
    assert all(p.fix for p in err.value.problems)
    # outside-the-US sites are not also reported for each missing column
    assert sum("paris" in p.location for p in err.value.problems) == 1


def test_validate_nan_and_missing_crs():
    gdf = sites.enrich_sites(sites.sites_from_records([dict(site_id="a", lat=39.0, lon=-77.5)]))
    gdf.loc[0, "electricity_usd_per_mwh"] = np.nan
    gdf = gdf.set_crs(None, allow_override=True)
    with pytest.raises(DataError) as err:
        sites.validate_sites(gdf, source="x.gpkg")
    msgs = [str(p) for p in err.value.problems]
    assert any("no CRS" in m for m in msgs)
    assert any("a.electricity_usd_per_mwh" in m and "missing" in m for m in msgs)


def test_non_numeric_lat_reported():
    with pytest.raises(DataError, match="not a number"):
        sites.sites_from_records([dict(site_id="a", lat="north", lon=-77.0)])


def test_nearest_and_sum_within_known_distances():
    # one degree of latitude is ~111.2 km on the mean-radius sphere
    idx, dist = sites.nearest([40.0], [-100.0], [41.0, 45.0], [-100.0, -100.0])
    assert idx[0] == 0 and dist[0] == pytest.approx(111.19, abs=0.1)
    total = sites.sum_within([40.0], [-100.0], [40.3, 41.0], [-100.0, -100.0], [2.0, 5.0], 50.0)
    assert total[0] == pytest.approx(2.0)


def test_catalog_limit_keeps_the_filters_spread():
    from dcplan import sites as site_io
    # training_campus's filter: 4 ISOs at >= 345 kV and <= 80 USD/MWh; 24 kept
    kept = site_io.load_catalog(isos=["ERCOT", "SPP", "MISO", "PJM"], min_kv=345,
                                max_price_usd_per_mwh=80, limit=24)
    counts = kept["iso"].value_counts()
    assert set(counts.index) == {"ERCOT", "SPP", "MISO", "PJM"}
    assert counts.max() - counts.min() <= 1  # round-robin: even spread
    # water_southwest: 4 states, 12 kept by state -> every state the filter kept appears
    pool = site_io.load_catalog(states=["AZ", "NV", "NM", "UT"])
    kept = site_io.load_catalog(states=["AZ", "NV", "NM", "UT"], limit=12, limit_by="state")
    assert set(kept["state"]) == set(pool["state"])
    # deterministic and a subset of the filtered rows, in file order
    again = site_io.load_catalog(states=["AZ", "NV", "NM", "UT"], limit=12, limit_by="state")
    assert list(kept["site_id"]) == list(again["site_id"])
    order = list(pool["site_id"])
    positions = [order.index(s) for s in kept["site_id"]]
    assert positions == sorted(positions)
    # "first" keeps the old behaviour
    first = site_io.load_catalog(states=["AZ", "NV", "NM", "UT"], limit=12, limit_by="first")
    assert list(first["site_id"]) == order[:12]
