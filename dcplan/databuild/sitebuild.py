"""Build the site catalog and region tables from public source files.

Readers for each public file (EIA plant layers, EIA-860, the IM3 county -> utility -> BA
mapping, eGRID tables, EIA-861 prices, OneBuilding stations, Census boundaries, the IM3
data-centre atlas) and :func:`build_catalog`, which turns a folder laid out like
``../shared/data`` (see its README) into ``data/sites/us_sites.csv`` and the compact
``data/regions/`` tables that :mod:`dcplan.sites` uses to enrich any US location.

The site-selection rule (deterministic; docs/sites-and-grid.md):

1. anchor points are power plants from EIA-860 (2019) whose highest grid-connection
   voltage is >= 115 kV and whose current (EIA, May 2023) nameplate is >= 100 MW, in the
   lower 48 states and DC: each is a proxy for a high-voltage substation with
   transmission leaving it;
2. the lower 48 are cut into 1 degree x 1 degree cells; in each cell the anchor with the
   highest grid voltage wins, then the largest nameplate, then the lowest plant code;
3. every county with >= 5 existing data centres in the IM3 atlas and no site yet gets
   the best plant (>= 69 kV) within 50 km of the county's interior point.

Curated figures (prices, queue times, permits, water assumptions) are module constants
below, each with its source; they come from ../shared/reference/physical_facts.md.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dcplan import sites as site_mod
from dcplan.errors import DataError, Problem
from dcplan.physics import grid

log = logging.getLogger(__name__)

CELL_DEG = 1.0
MIN_KV = 115.0
MIN_PLANT_MW = 100.0
DC_COUNTY_MIN = 5
DC_RADIUS_KM = 50.0
DC_CELL_DEG = 0.1
LB_PER_T = 2204.62262

#: relative paths inside a source folder laid out like ../shared/data
SOURCES = {
    "eia_plants": "power_plants/eia_us_power_plants_202305.csv",
    "eia860": "power_plants/eia860_plants_2019.csv",
    "county_ba": "grid_regions/county_utility_ba_nerc_mapping_2018.csv",
    "reeds": "grid_regions/reeds_ba_regions.geojson",
    "egrid_state": "emissions/egrid2023_state_co2e_output_rate.csv",
    "egrid_subregion": "emissions/egrid2018_subregion_SRL18.csv",
    "egrid_ba_xwalk": "emissions/usepa_egrid_static_xwalk_balancing_authority.csv",
    "egrid_utility_xwalk": "emissions/usepa_egrid_static_xwalk_subregion_utility.csv",
    "eia861": "electricity_prices/eia861_avgprice_annual_1990_2019.csv",
    "stations": "climate/onebuilding_stations_usa_unique_wmo.csv",
    "states": "us_boundaries/us_states_census2017.geojson",
    "counties": "us_boundaries/us_counties_census2017.geojson",
    "atlas": "existing_datacenters/im3_datacenter_centroids.geojson",
}

STATE_FIPS = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT",
    "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL",
    "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD",
    "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
    "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND",
    "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV",
    "55": "WI", "56": "WY",
}
LOWER48_DC = sorted(set(STATE_FIPS.values()) - {"AK", "HI"})

#: EIA-860/861 balancing-authority code -> ISO/RTO or utility region of queue times
ISO_OF_BA = {
    "PJM": "PJM", "ERCO": "ERCOT", "MISO": "MISO", "SWPP": "SPP", "CISO": "CAISO",
    "NYIS": "NYISO", "ISNE": "ISONE",
}
SOUTHEAST_BAS = {"SOCO", "TVA", "DUK", "CPLE", "CPLW", "SC", "SCEG", "SEPA", "YAD", "AEC",
                 "LGEE", "FPL", "FPC", "FMPP", "JEA", "TAL", "TEC", "SEC", "GVL", "HST", "NSB",
                 "AECI", "SPA", "EEI", "OVEC", "SPS"}
#: utility id of Virginia Electric & Power Co (Dominion Energy Virginia), EIA-861
DOMINION_UTILITY_ID = 19876

#: eGRID subregion where the BA crosswalk gives none (multi-subregion BAs), by
#: (BA, state) then by state: a simplification of EPA's eGRID subregion map.
SUBREGION_BA_STATE = {
    ("PJM", "IL"): "RFCW", ("PJM", "VA"): "SRVC", ("PJM", "NC"): "SRVC", ("PJM", "KY"): "RFCW",
    ("PJM", "MI"): "RFCW", ("PJM", "IN"): "RFCW", ("MISO", "IN"): "RFCW",
    ("MISO", "KY"): "SRMW", ("SWPP", "NE"): "MROW", ("SWPP", "ND"): "MROW",
    ("SWPP", "SD"): "MROW", ("SWPP", "MT"): "MROW", ("SWPP", "MN"): "MROW",
    ("SWPP", "IA"): "MROW", ("SWPP", "WY"): "MROW", ("SWPP", "MO"): "SPNO",
    ("SWPP", "TX"): "SPSO", ("SWPP", "NM"): "SPSO", ("SWPP", "LA"): "SPSO",
    ("SWPP", "AR"): "SPSO", ("MISO", "TX"): "SRMV", ("EPE", "TX"): "AZNM",
    ("WACM", "WY"): "RMPA", ("WACM", "NE"): "RMPA", ("WAUW", "MT"): "MROW",
}
SUBREGION_STATE = {
    "AL": "SRSO", "AR": "SRMV", "AZ": "AZNM", "CA": "CAMX", "CO": "RMPA", "CT": "NEWE",
    "DC": "RFCE", "DE": "RFCE", "FL": "FRCC", "GA": "SRSO", "IA": "MROW", "ID": "NWPP",
    "IL": "SRMW", "IN": "RFCW", "KS": "SPNO", "KY": "SRTV", "LA": "SRMV", "MA": "NEWE",
    "MD": "RFCE", "ME": "NEWE", "MI": "RFCM", "MN": "MROW", "MO": "SRMW", "MS": "SRMV",
    "MT": "NWPP", "NC": "SRVC", "ND": "MROW", "NE": "MROW", "NH": "NEWE", "NJ": "RFCE",
    "NM": "AZNM", "NV": "NWPP", "NY": "NYUP", "OH": "RFCW", "OK": "SPSO", "OR": "NWPP",
    "PA": "RFCE", "RI": "NEWE", "SC": "SRVC", "SD": "MROW", "TN": "SRTV", "TX": "ERCT",
    "UT": "NWPP", "VA": "SRVC", "VT": "NEWE", "WA": "NWPP", "WI": "MROE", "WV": "RFCW",
    "WY": "NWPP", "AK": "AKGD", "HI": "HIOA",
}
NYC_COUNTIES = {"36005", "36047", "36061", "36081", "36085"}
LONG_ISLAND_COUNTIES = {"36059", "36103"}
PA_WEST_OF_LON = -78.0  # western Pennsylvania (Pittsburgh) sits in RFCW

#: eGRID subregion total-output CO2 rates [lb/MWh] newer than the eGRID2018 file: EPA
#: eGRID as reproduced in the EPA GHG Emission Factors Hub (US average 818.3 lb/MWh,
#: most likely eGRID2020), listed in physical_facts sect. 7. They replace the eGRID2018
#: SRC2ERTA values where given; the rest (NYLI, AKMS, HI) keep eGRID2018.
EGRID_SUBREGION_LB_PER_MWH = {
    "NYUP": 233.5, "CAMX": 513.5, "NEWE": 528.2, "NWPP": 600.0, "SRVC": 623.1,
    "NYCW": 634.6, "RFCE": 652.5, "SRMV": 740.4, "ERCT": 818.6, "SRTV": 834.2,
    "FRCC": 835.1, "AZNM": 846.6, "SRSO": 860.2, "SPSO": 931.8, "SPNO": 954.0,
    "MROW": 979.5, "RFCW": 985.0, "AKGD": 1097.6, "RMPA": 1144.8, "RFCM": 1153.1,
    "SRMW": 1480.7, "MROE": 1526.4,
}
EGRID_NEWER_VINTAGE = "eGRID (Emission Factors Hub 2022, ~2020 data)"

#: EIA Electric Power Annual 2023, average industrial revenue [cents/kWh] (released
#: Oct 17 2024, eia.gov/electricity/annual), as listed in physical_facts sect. 6.
INDUSTRIAL_PRICE_2023_CENTS = {
    "TX": 6.60, "VA": 8.92, "OH": 7.03, "AZ": 8.11, "IA": 6.91, "GA": 6.88, "IL": 8.20,
    "IN": 8.24, "NE": 7.63, "NV": 10.36, "NC": 7.15, "OR": 7.52, "PA": 7.75, "SC": 6.68,
    "TN": 6.23, "UT": 6.99, "WA": 6.35, "LA": 5.88, "NM": 5.75, "CA": 18.64,
}

#: Baseline water stress by state: ASSUMPTION reading the WRI Aqueduct 4.0 category
#: definitions (Kuzma et al. 2023) onto each state's dominant conditions; no offline
#: Aqueduct copy was available. Dry (B) climate zones move one class up at run time.
STATE_WATER_STRESS = {
    "AZ": "extremely_high", "NV": "extremely_high", "NM": "extremely_high",
    "CA": "extremely_high", "UT": "high", "CO": "high", "KS": "high",
    "TX": "medium_high", "NE": "medium_high", "OK": "medium_high", "ID": "medium_high",
    "WY": "medium_high", "SD": "medium_high", "NJ": "medium_high", "FL": "medium_high",
    "MT": "low_medium", "ND": "low_medium", "OR": "low_medium", "WA": "low_medium",
    "IA": "low_medium", "IL": "low_medium", "IN": "low_medium", "VA": "low_medium",
    "NC": "low_medium", "SC": "low_medium", "GA": "low_medium", "AR": "low_medium",
    "MD": "low_medium", "DE": "low_medium", "DC": "low_medium", "MO": "low_medium",
}  # every other state: "low"

#: Permitting tracks [yr]: ASSUMPTION (physical_facts sect. 10: US data-centre permit
#: durations were not found). Zoning/building, air (backup generators) and water run in
#: parallel; the critical path is the longest. State exceptions are sourced facts that
#: lengthen a track: VA (Loudoun removed by-right zoning in 2025, CBRE; DEQ 500 h/yr
#: generator permits with BACT from Jul 2026), MD (PSC CPCN for backup generation).
PERMIT_DEFAULT = {"zoning_building_yr": 1.5, "air_permit_yr": 1.0, "water_permit_yr": 0.75}
PERMIT_STATE = {
    "VA": {"zoning_building_yr": 2.0, "air_permit_yr": 1.5},
    "MD": {"air_permit_yr": 2.5},
}
#: backup generator operating limits [h/yr]: federal NSPS IIII / NESHAP ZZZZ allow 100 h
#: maintenance + testing of which <= 50 h non-emergency; Virginia DEQ caps total
#: operation at 500 h/yr with no non-emergency hours beyond testing (VA DEQ, Trinity).
GENSET_NONEMERGENCY_H = 50.0
GENSET_STATE = {"VA": {"genset_nonemergency_h_per_yr": 0.0, "genset_total_h_per_yr": 500.0}}

#: water consumed off-site per kWh of grid power [L/kWh], derived: LBNL 2024 report,
#: ~800 billion L indirect water for 176 TWh of US DC electricity in 2023 = 4.5 L/kWh.
WATER_L_PER_KWH_SOURCE = round(800e9 / 176e9, 2)

#: Large-load study / queue time [yr] and the year spare capacity at existing
#: substations frees up, by queue region. Sources: LBNL Queued Up 2024 (average age of
#: active queue projects 34 months US, 28 TX, 33 CA, 34 VA) as a proxy for large-load
#: studies; NoVA 36-48+ months (build.inc) and Dominion's 2022 eastern Loudoun pause
#: until ~2026 for Dominion; ERCOT >= 75 MW large-load "Batch Zero" study. headroom_year
#: is an ASSUMPTION (2026 generally, 2028 behind Dominion's constrained network).
INTERCONNECTION = [
    # queue_region, iso, queue_study_yr, headroom_year, large_load_mw, source
    ("DEFAULT", "", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average age of active projects 34 months"),
    ("PJM", "PJM", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: VA 34 months"),
    ("PJM-DOM", "PJM", 48 / 12, 2028, np.nan, "build.inc NoVA 36-48+ months; Dominion Loudoun pause 2022"),
    ("ERCOT", "ERCOT", 28 / 12, 2026, 75.0, "LBNL Queued Up 2024: TX 28 months; ERCOT large load >= 75 MW"),
    ("CAISO", "CAISO", 33 / 12, 2026, np.nan, "LBNL Queued Up 2024: CA 33 months"),
    ("MISO", "MISO", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
    ("SPP", "SPP", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
    ("NYISO", "NYISO", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
    ("ISONE", "ISONE", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
    ("SOUTHEAST", "SOUTHEAST", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
    ("WEST", "WEST", 34 / 12, 2026, np.nan, "LBNL Queued Up 2024: US average 34 months"),
]

#: spare MW at the anchor plant's substation: ASSUMPTION, 10 % of the plant's nameplate
#: clipped to 20..150 MW (no public substation-headroom data; see docs).
HEADROOM_FRACTION, HEADROOM_MIN_MW, HEADROOM_MAX_MW = 0.10, 20.0, 150.0

FUEL_COLUMNS = {
    "ng": ["NG_MW"], "coal": ["Coal_MW"], "nuclear": ["Nuclear_MW"],
    "hydro": ["Hydro_MW", "HydroPS_MW"], "wind": ["Wind_MW"], "solar": ["Solar_MW"],
    "battery": ["Bat_MW"], "other": ["Bio_MW", "Geo_MW", "Crude_MW", "Other_MW"],
}


# --------------------------------------------------------------------------- readers
def _need(path: Path, columns, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), f"{what} file not found",
                                 "point --from at a folder laid out like ../shared/data")])
    table = pd.read_csv(path, low_memory=False, encoding="utf-8-sig")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError([Problem(str(path), f"{what}: missing columns {missing}",
                                 "use the same public file layout (see data/README.md)")])
    return table


def read_eia_plants(path) -> pd.DataFrame:
    """EIA U.S. Energy Atlas power plants (May 2023): plant_code, lat, lon, total_mw, MW by fuel.

    Returns columns ``plant_code``, ``plant_name``, ``lat``, ``lon``, ``total_mw`` and
    ``<fuel>_mw`` for the groups in :data:`FUEL_COLUMNS` (missing = 0). [MW]
    """
    cols = ["Plant_Code", "Plant_Name", "Latitude", "Longitude", "Total_MW"]
    raw = _need(path, cols + sum(FUEL_COLUMNS.values(), []), "EIA power plants")
    out = pd.DataFrame({
        "plant_code": raw["Plant_Code"].astype(int),
        "plant_name": raw["Plant_Name"].astype(str),
        "lat": pd.to_numeric(raw["Latitude"], errors="coerce"),
        "lon": pd.to_numeric(raw["Longitude"], errors="coerce"),
        "total_mw": pd.to_numeric(raw["Total_MW"], errors="coerce").fillna(0.0),
    })
    for fuel, columns in FUEL_COLUMNS.items():
        out[f"{fuel}_mw"] = raw[columns].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1)
    return out.dropna(subset=["lat", "lon"]).reset_index(drop=True)


def read_eia860(path) -> pd.DataFrame:
    """EIA-860 plant file: plant_code, name, state, county, lat, lon, ba_code, max_grid_kv.

    ``max_grid_kv`` is the highest of the three "Grid Voltage (kV)" fields. [kV]
    """
    kv_cols = ["Grid Voltage (kV)", "Grid Voltage 2 (kV)", "Grid Voltage 3 (kV)"]
    cols = ["Plant Code", "Plant Name", "State", "County", "Latitude", "Longitude",
            "Balancing Authority Code"] + kv_cols
    raw = _need(path, cols, "EIA-860 plants")
    kv = raw[kv_cols].apply(pd.to_numeric, errors="coerce")
    return pd.DataFrame({
        "plant_code": raw["Plant Code"].astype(int),
        "plant_name": raw["Plant Name"].astype(str).str.strip(),
        "state": raw["State"].astype(str).str.strip(),
        "county": raw["County"].astype(str).str.strip(),
        "lat": pd.to_numeric(raw["Latitude"], errors="coerce"),
        "lon": pd.to_numeric(raw["Longitude"], errors="coerce"),
        "ba_code": raw["Balancing Authority Code"].astype(str).str.strip(),
        "max_grid_kv": kv.max(axis=1),
    }).dropna(subset=["lat", "lon"]).reset_index(drop=True)


def read_county_ba_mapping(path) -> pd.DataFrame:
    """County -> utility -> BA rows (IM3 electricity_entity_boundaries, 2018).

    Returns ``county_fips`` (5-digit), ``utility_id``, ``utility``, ``sales_mwh``,
    ``ba_code``, ``retail_choice``; rows with no BA ("Missing") are dropped.

    ERCOT's wires utilities (Oncor, CenterPoint, AEP Texas, TNMP) report no retail sales
    and no BA, because retail electric providers sell to their customers; they carry the
    NERC region "TRE" (Texas Reliability Entity, which is ERCOT). Such rows are kept as
    BA ``ERCO`` with ``retail_choice`` set, so :func:`primary_ba` can prefer them: the
    utility-wide sales of a neighbouring BA (e.g. Southwestern Public Service in Ector
    County, whose Odessa load is Oncor's) otherwise win the county.
    """
    cols = ["County_FIPS", "Utility_Number", "Utility_Name", "Total_Sales_MWh", "BA_Short_Name"]
    raw = _need(path, cols, "county-BA mapping")
    ba = raw["BA_Short_Name"].astype(str).str.strip()
    sales = pd.to_numeric(raw["Total_Sales_MWh"], errors="coerce")
    nerc = (raw["NERC_Region_Short_Name"].astype(str).str.strip()
            if "NERC_Region_Short_Name" in raw.columns else pd.Series("", index=raw.index))
    choice = (nerc == "TRE") & (ba == "Missing") & ~(sales > 0)
    out = pd.DataFrame({
        "county_fips": raw["County_FIPS"].astype(int).astype(str).str.zfill(5),
        "utility_id": raw["Utility_Number"].astype(int),
        "utility": raw["Utility_Name"].astype(str).str.strip(),
        "sales_mwh": sales.where(~choice, 0.0),
        "ba_code": ba.where(~choice, "ERCO"),
        "retail_choice": choice,
    })
    keep = (out["ba_code"] != "Missing") & ((out["sales_mwh"] > 0) | out["retail_choice"])
    return out[keep].reset_index(drop=True)


def primary_ba(mapping: pd.DataFrame) -> pd.DataFrame:
    """One row per county: an ERCOT wires utility where one serves it, else the utility
    (and its BA) with the largest retail sales (sales are utility-wide totals)."""
    mapping = mapping.assign(
        retail_choice=mapping["retail_choice"] if "retail_choice" in mapping
        else False)
    best = mapping.sort_values(["county_fips", "retail_choice", "sales_mwh", "utility_id"],
                               ascending=[True, False, False, True])
    return best.drop_duplicates("county_fips").set_index("county_fips")


def read_egrid_state_rates(path) -> pd.Series:
    """eGRID2023 state total-output CO2e rate [t/MWh], indexed by 2-letter state."""
    raw = _need(path, ["state", "co2e_lb_per_mwh"], "eGRID state rates")
    raw = raw[raw["state"].str.len() == 2]
    return (raw.set_index("state")["co2e_lb_per_mwh"] / LB_PER_T).rename("co2_t_per_mwh")


def read_egrid_subregions(path) -> pd.DataFrame:
    """eGRID subregion table (SRL): ``egrid_subregion``, ``name``, ``co2_t_per_mwh``.

    Uses SRC2ERTA, the annual total-output CO2-equivalent rate [lb/MWh] -> [t/MWh].
    """
    raw = _need(path, ["SUBRGN", "SRNAME", "SRC2ERTA"], "eGRID subregions")
    return pd.DataFrame({
        "egrid_subregion": raw["SUBRGN"].astype(str),
        "name": raw["SRNAME"].astype(str),
        "co2_t_per_mwh": (pd.to_numeric(raw["SRC2ERTA"], errors="coerce") / LB_PER_T).round(4),
    })


def read_egrid_ba_crosswalk(path) -> pd.Series:
    """BA code -> eGRID subregion for BAs that sit in one subregion (EPA static table)."""
    raw = _need(path, ["SUBRGN", "Balancing Authority Code"], "eGRID BA crosswalk")
    raw = raw.dropna(subset=["SUBRGN"])
    raw = raw[raw["SUBRGN"].astype(str).str.strip() != ""]
    return raw.drop_duplicates("Balancing Authority Code").set_index(
        "Balancing Authority Code")["SUBRGN"].astype(str)


def read_egrid_utility_crosswalk(path) -> pd.Series:
    """Utility id -> most frequent eGRID subregion (EPA static table)."""
    raw = _need(path, ["Utility ID", "SUBRGN"], "eGRID utility crosswalk")
    counts = raw.groupby(["Utility ID", "SUBRGN"]).size().rename("n").reset_index()
    counts = counts.sort_values(["Utility ID", "n", "SUBRGN"], ascending=[True, False, True])
    return counts.drop_duplicates("Utility ID").set_index("Utility ID")["SUBRGN"]


def read_eia861_prices(path, year: int | None = None) -> pd.DataFrame:
    """EIA-861 industrial price by state [USD/MWh] (Total Electric Industry).

    Returns columns ``state``, ``year``, ``industrial_usd_per_mwh``; the newest year
    unless *year* is given.
    """
    raw = _need(path, ["Year", "State", "Industry Sector Category", "Industrial"], "EIA-861 prices")
    raw = raw[raw["Industry Sector Category"] == "Total Electric Industry"]
    year = int(raw["Year"].max()) if year is None else int(year)
    raw = raw[raw["Year"] == year]
    return pd.DataFrame({
        "state": raw["State"].astype(str).str.strip(),
        "year": year,
        "industrial_usd_per_mwh": pd.to_numeric(raw["Industrial"], errors="coerce") * 10.0,
    }).reset_index(drop=True)


def read_stations(path) -> pd.DataFrame:
    """OneBuilding TMYx station index: station_id (WMO), lat, lon, elevation, ASHRAE zone, design temps."""
    cols = ["wmo", "state", "city", "latitude", "longitude", "elevation", "ashrae_climate_zone",
            "heating_design_db_c", "cooling_design_db_c", "hdd18", "cdd10"]
    raw = _need(path, cols, "weather stations").dropna(subset=["wmo"])
    return pd.DataFrame({
        "station_id": raw["wmo"].astype(int).astype(str),
        "name": raw["city"].astype(str),
        "state": raw["state"].astype(str),
        "lat": raw["latitude"].astype(float),
        "lon": raw["longitude"].astype(float),
        "elevation_m": raw["elevation"].astype(float),
        # "4A - Mixed - Humid" -> "4A"; "7 - Very Cold" -> "7"
        "climate_zone": raw["ashrae_climate_zone"].astype(str).str.split("-").str[0].str.strip(),
        "heating_design_db_c": raw["heating_design_db_c"].astype(float),
        "cooling_design_db_c": raw["cooling_design_db_c"].astype(float),
        "hdd18": raw["hdd18"].astype(float),
        "cdd10": raw["cdd10"].astype(float),
    }).sort_values("station_id").reset_index(drop=True)


def read_census_boundaries(path) -> gpd.GeoDataFrame:
    """Census cartographic boundaries (us-atlas GeoJSON): ``fips``, ``name``, geometry (EPSG:4326).

    States carry a 2-digit ``fips``, counties a 5-digit one plus ``state``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "boundary file not found", "check --from")])
    gdf = gpd.read_file(path).to_crs(site_mod.CRS)
    gdf = gdf.rename(columns={"id": "fips"})
    gdf["fips"] = gdf["fips"].astype(str)
    gdf["state"] = gdf["fips"].str[:2].map(STATE_FIPS)
    # drop territories, and polygons too small to survive the 1:10m generalisation
    # (e.g. Falls Church city VA): points there join the neighbouring county
    gdf = gdf[gdf["state"].notna() & gdf.geometry.notna()].copy()
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf[["fips", "name", "state", "geometry"]].reset_index(drop=True)


def read_datacenter_atlas(path) -> gpd.GeoDataFrame:
    """IM3 data-centre atlas centroids (ODbL): state and point of each existing site.

    Only counts derived from it are shipped (share-alike licence).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "data-centre atlas not found", "check --from")])
    gdf = gpd.read_file(path).to_crs(site_mod.CRS)
    gdf["geometry"] = gdf.geometry.representative_point()
    return gdf[["state_abb", "geometry"]].rename(columns={"state_abb": "state"})


def read_reeds_regions(path) -> gpd.GeoDataFrame:
    """ReEDS balancing regions with their BA code (pypsa-usa copy)."""
    gdf = gpd.read_file(path).to_crs(site_mod.CRS)
    return gdf[["ba_code", "geometry"]]


# --------------------------------------------------------------------------- region tables
def iso_of(ba_code: pd.Series) -> pd.Series:
    """ISO/region of each BA code: RTOs by name, SOUTHEAST, else WEST."""
    iso = ba_code.map(ISO_OF_BA)
    iso = iso.where(iso.notna(), ba_code.map(lambda b: "SOUTHEAST" if b in SOUTHEAST_BAS else None))
    return iso.fillna("WEST")


def build_counties(src: Path, atlas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """County polygons with state, primary BA and utility, ISO, eGRID subregion, DC counts."""
    counties = read_census_boundaries(src / SOURCES["counties"]).rename(
        columns={"fips": "county_fips", "name": "county"})
    rep = counties.geometry.representative_point()
    counties["rep_lat"], counties["rep_lon"] = rep.y.round(4), rep.x.round(4)

    prim = primary_ba(read_county_ba_mapping(src / SOURCES["county_ba"]))
    counties["ba_code"] = counties["county_fips"].map(prim["ba_code"])
    counties["utility"] = counties["county_fips"].map(prim["utility"])
    counties["utility_id"] = counties["county_fips"].map(prim["utility_id"])
    # counties without a mapped BA: the ReEDS region their interior point falls in
    miss = counties["ba_code"].isna()
    if miss.any():
        reeds = read_reeds_regions(src / SOURCES["reeds"])
        pts = gpd.GeoDataFrame(geometry=rep[miss].values, index=counties.index[miss], crs=site_mod.CRS)
        hit = gpd.sjoin_nearest(pts.to_crs("EPSG:5070"), reeds.to_crs("EPSG:5070"), how="left")
        hit = hit[~hit.index.duplicated()]
        counties.loc[miss, "ba_code"] = hit["ba_code"]
    counties["ba_code"] = counties["ba_code"].fillna("NA")
    counties["iso"] = iso_of(counties["ba_code"])
    counties["queue_region"] = np.where(counties["utility_id"] == DOMINION_UTILITY_ID,
                                        "PJM-DOM", counties["iso"])

    ba_x = read_egrid_ba_crosswalk(src / SOURCES["egrid_ba_xwalk"])
    ut_x = read_egrid_utility_crosswalk(src / SOURCES["egrid_utility_xwalk"])
    sub = counties["ba_code"].map(ba_x)
    sub = sub.fillna(counties["utility_id"].map(ut_x))
    pair = pd.Series(list(zip(counties["ba_code"], counties["state"], strict=True)),
                     index=counties.index).map(SUBREGION_BA_STATE)
    sub = sub.fillna(pair).fillna(counties["state"].map(SUBREGION_STATE))
    sub[counties["county_fips"].isin(NYC_COUNTIES)] = "NYCW"
    sub[counties["county_fips"].isin(LONG_ISLAND_COUNTIES)] = "NYLI"
    west_pa = (counties["state"] == "PA") & (counties["rep_lon"] < PA_WEST_OF_LON) & (sub == "RFCE")
    sub[west_pa] = "RFCW"
    counties["egrid_subregion"] = sub

    joined = gpd.sjoin(atlas, counties[["county_fips", "geometry"]], how="inner", predicate="within")
    counts = joined.groupby("county_fips").size()
    counties["dc_count"] = counties["county_fips"].map(counts).fillna(0).astype(int)
    cols = ["county_fips", "county", "state", "ba_code", "utility", "iso", "queue_region",
            "egrid_subregion", "dc_count", "rep_lat", "rep_lon", "geometry"]
    return counties[cols].sort_values("county_fips").reset_index(drop=True)


def build_states(src: Path) -> pd.DataFrame:
    """State table: industrial price (2023 where curated, else EIA-861 escalated), CO2, water, permits."""
    p861 = read_eia861_prices(src / SOURCES["eia861"]).set_index("state")
    base_year = int(p861["year"].iloc[0])
    p2023 = pd.Series(INDUSTRIAL_PRICE_2023_CENTS) * 10.0
    # escalate the older EIA-861 year by the median 2023/base ratio of the curated states
    ratio = float((p2023 / p861["industrial_usd_per_mwh"].reindex(p2023.index)).median())
    rows = []
    for st in sorted(set(STATE_FIPS.values())):
        if st in p2023.index:
            price, vintage = float(p2023[st]), "EIA EPA 2023"
        else:
            price = float(p861.loc[st, "industrial_usd_per_mwh"]) * ratio
            vintage = f"EIA-861 {base_year} x{ratio:.3f} to 2023"
        permit = {**PERMIT_DEFAULT, **PERMIT_STATE.get(st, {})}
        gen = {"genset_nonemergency_h_per_yr": GENSET_NONEMERGENCY_H,
               "genset_total_h_per_yr": np.nan, **GENSET_STATE.get(st, {})}
        rows.append({
            "state": st,
            "state_fips": next(k for k, v in STATE_FIPS.items() if v == st),
            "industrial_usd_per_mwh": round(price, 2),
            "price_vintage": vintage,
            "water_stress": STATE_WATER_STRESS.get(st, "low"),
            "water_l_per_kwh_source": WATER_L_PER_KWH_SOURCE,
            **permit,
            "permit_lead_time_yr": float(grid.permit_lead_time(**permit)),
            **gen,
        })
    states = pd.DataFrame(rows)
    co2 = read_egrid_state_rates(src / SOURCES["egrid_state"])
    states["co2_state_2023_t_per_mwh"] = states["state"].map(co2).round(4)
    return states


def build_subregions(src: Path) -> pd.DataFrame:
    """eGRID subregion CO2 rates: the newer curated values, else eGRID2018 from the file."""
    table = read_egrid_subregions(src / SOURCES["egrid_subregion"]).set_index("egrid_subregion")
    table["co2_vintage"] = "eGRID2018 (SRC2ERTA, CO2e)"
    newer = pd.Series(EGRID_SUBREGION_LB_PER_MWH) / LB_PER_T
    hit = table.index.isin(newer.index)
    table.loc[hit, "co2_t_per_mwh"] = newer.reindex(table.index[hit]).round(4).to_numpy()
    table.loc[hit, "co2_vintage"] = EGRID_NEWER_VINTAGE
    return table


def dc_cell_counts(atlas: gpd.GeoDataFrame, cell_deg: float = DC_CELL_DEG) -> pd.DataFrame:
    """Existing data centres counted per *cell_deg* grid cell (centre lat/lon, count)."""
    i = np.floor(atlas.geometry.y.to_numpy() / cell_deg).astype(int)
    j = np.floor(atlas.geometry.x.to_numpy() / cell_deg).astype(int)
    counts = pd.DataFrame({"i": i, "j": j}).value_counts().rename("dc_count").reset_index()
    counts["lat"] = ((counts["i"] + 0.5) * cell_deg).round(3)
    counts["lon"] = ((counts["j"] + 0.5) * cell_deg).round(3)
    return counts.sort_values(["lat", "lon"])[["lat", "lon", "dc_count"]].reset_index(drop=True)


def build_interconnection() -> pd.DataFrame:
    cols = ["queue_region", "iso", "queue_study_yr", "headroom_year", "large_load_mw", "source"]
    table = pd.DataFrame(INTERCONNECTION, columns=cols)
    table["queue_study_yr"] = table["queue_study_yr"].round(3)
    return table


def build_region_tables(src: Path) -> tuple[site_mod.RegionTables, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """All region tables from the sources, plus the atlas points and the states layer."""
    atlas = read_datacenter_atlas(src / SOURCES["atlas"])
    counties = build_counties(src, atlas)
    tables = site_mod.RegionTables(
        counties=counties,
        states=build_states(src).set_index("state"),
        subregions=build_subregions(src),
        interconnection=build_interconnection().set_index("queue_region"),
        stations=read_stations(src / SOURCES["stations"]),
        dc_cells=dc_cell_counts(atlas),
    )
    states_geo = read_census_boundaries(src / SOURCES["states"])
    return tables, atlas, states_geo


# --------------------------------------------------------------------------- site selection
def select_candidates(plants860: pd.DataFrame, plants: pd.DataFrame,
                      counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pick candidate anchor plants by the documented rule (see the module docstring)."""
    merged = plants860.merge(plants[["plant_code", "total_mw"]], on="plant_code", how="inner")
    merged = merged[merged["state"].isin(LOWER48_DC)]
    order = ["max_grid_kv", "total_mw", "plant_code"]
    asc = [False, False, True]
    anchors = merged[(merged["max_grid_kv"] >= MIN_KV) & (merged["total_mw"] >= MIN_PLANT_MW)]
    anchors = anchors.assign(cell_lat=np.floor(anchors["lat"] / CELL_DEG).astype(int),
                             cell_lon=np.floor(anchors["lon"] / CELL_DEG).astype(int))
    picked = anchors.sort_values(order, ascending=asc).drop_duplicates(["cell_lat", "cell_lon"])
    picked = picked.assign(rule="hv_cell")

    # data-centre ecosystems: counties with many existing DCs and no site yet
    hubs = counties[(counties["dc_count"] >= DC_COUNTY_MIN)
                    & counties["state"].isin(LOWER48_DC)].sort_values("county_fips")
    pts = gpd.GeoDataFrame(picked, geometry=gpd.points_from_xy(picked["lon"], picked["lat"]),
                           crs=site_mod.CRS)
    have = set(gpd.sjoin(pts, counties[["county_fips", "geometry"]], predicate="within")["county_fips"])
    pool = merged[(merged["max_grid_kv"] >= 69) & (merged["total_mw"] > 0)]
    pool = pool.sort_values(order, ascending=asc).reset_index(drop=True)
    extra = []
    chosen = set(picked["plant_code"])
    for hub in hubs.itertuples():  # a few dozen hubs: a loop is clearer than a join
        if hub.county_fips in have:
            continue
        _, dist = site_mod.nearest(pool["lat"], pool["lon"], [hub.rep_lat], [hub.rep_lon])
        near = pool[(dist <= DC_RADIUS_KM) & ~pool["plant_code"].isin(chosen)]
        if near.empty:
            continue
        best = near.iloc[0]
        chosen.add(best["plant_code"])
        extra.append(best)
    hubs_df = pd.DataFrame(extra).assign(rule="dc_hub") if extra else picked.iloc[:0]
    out = pd.concat([picked, hubs_df], ignore_index=True)
    return out.drop(columns=["cell_lat", "cell_lon"], errors="ignore").reset_index(drop=True)


def catalog_from_sources(src: Path, tables=None, atlas=None) -> gpd.GeoDataFrame:
    """The catalog GeoDataFrame (not written) from a source folder."""
    src = Path(src)
    if tables is None:
        tables, atlas, _ = build_region_tables(src)
    plants = read_eia_plants(src / SOURCES["eia_plants"])
    plants860 = read_eia860(src / SOURCES["eia860"])
    cand = select_candidates(plants860, plants, tables.counties)

    site_ids = cand["state"].str.lower() + "-" + cand["plant_code"].astype(str)
    headroom = np.clip(HEADROOM_FRACTION * cand["total_mw"], HEADROOM_MIN_MW, HEADROOM_MAX_MW)
    gdf = gpd.GeoDataFrame({
        "site_id": site_ids,
        "max_grid_kv": cand["max_grid_kv"].astype(float),
        "headroom_mw": headroom.round(1),
        "_plant_name": cand["plant_name"],
        "_county": cand["county"],
    }, geometry=gpd.points_from_xy(cand["lon"].round(5), cand["lat"].round(5)), crs=site_mod.CRS)

    # exact counts from the source points (runtime enrichment approximates from county counts)
    gdf["existing_dc_50km"] = np.rint(site_mod.sum_within(
        gdf.geometry.y, gdf.geometry.x, atlas.geometry.y, atlas.geometry.x,
        np.ones(len(atlas)), DC_RADIUS_KM)).astype(int)
    fuel = plants[[f"{f}_mw" for f in site_mod.FUELS]].to_numpy(float)
    gen = site_mod.sum_within(gdf.geometry.y, gdf.geometry.x, plants["lat"], plants["lon"], fuel,
                              DC_RADIUS_KM)
    enriched = site_mod.enrich_sites(gdf, tables)
    enriched["name"] = (enriched["_plant_name"] + " " + enriched["max_grid_kv"].map("{:.0f}".format)
                        + " kV (" + enriched["_county"] + " Co., " + enriched["state"] + ")")
    for j, col in enumerate(site_mod.GEN_COLUMNS):
        enriched[col] = gen[:, j].round(1)
    enriched = enriched.drop(columns=["_plant_name", "_county"])
    enriched = enriched.sort_values("site_id").reset_index(drop=True)
    return enriched


def catalog_columns() -> list[str]:
    """Columns written to us_sites.csv, in order."""
    return site_mod.SITE_COLUMNS + site_mod.GEN_COLUMNS + ["price_vintage", "lat", "lon"]


def build_catalog(source_dir, out_dir) -> list[Path]:
    """Rebuild ``sites/us_sites.csv`` and ``regions/*`` under *out_dir* from *source_dir*.

    Parameters
    ----------
    source_dir : path
        folder laid out like ``../shared/data`` (see ``SOURCES`` for the files read).
    out_dir : path
        the data folder to write into (normally the project's ``data/``).

    Returns
    -------
    list of Path
        the files written.
    """
    src, out = Path(source_dir), Path(out_dir)
    if not src.is_dir():
        raise DataError([Problem(str(src), "source folder not found",
                                 "give a folder laid out like ../shared/data")])
    missing = [rel for rel in SOURCES.values() if not (src / rel).is_file()]
    if missing:
        raise DataError([Problem(str(src / rel), "source file missing",
                                 "download it (see data/README.md) or copy the layout")
                         for rel in missing])
    tables, atlas, states_geo = build_region_tables(src)
    catalog = catalog_from_sources(src, tables, atlas)
    written = write_region_tables(tables, states_geo, out / "regions")
    site_dir = out / "sites"
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / "us_sites.csv"
    table = catalog[catalog_columns()].copy()
    table["lat"], table["lon"] = table["lat"].round(5), table["lon"].round(5)
    table.to_csv(path, index=False, float_format="%.6g")
    log.info("wrote %d candidate sites to %s", len(table), path)
    return [*written, path]


def write_region_tables(tables: site_mod.RegionTables, states_geo: gpd.GeoDataFrame,
                        folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    path = folder / "counties.geojson"
    counties = tables.counties.copy()
    path.unlink(missing_ok=True)
    counties.to_file(path, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 4,
                                                           "WRITE_BBOX": "NO"})
    written.append(path)
    path = folder / "states.geojson"
    path.unlink(missing_ok=True)
    lower = states_geo[states_geo["state"].isin(LOWER48_DC)].copy()
    lower["geometry"] = lower.geometry.simplify(0.01, preserve_topology=True)
    lower.rename(columns={"fips": "state_fips"}).to_file(
        path, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 3})
    written.append(path)
    for name, frame in (("states.csv", tables.states.reset_index()),
                        ("egrid_subregions.csv", tables.subregions.reset_index()),
                        ("interconnection.csv", tables.interconnection.reset_index()),
                        ("stations.csv", tables.stations),
                        ("dc_counts.csv", tables.dc_cells)):
        path = folder / name
        frame.to_csv(path, index=False, float_format="%.6g")
        written.append(path)
    return written
