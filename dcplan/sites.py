"""Candidate sites as a GeoDataFrame: the shipped catalog, user files, enrichment, validation.

Every site ends up with the columns of the "Sites GeoDataFrame" contract in
``docs/architecture.md`` (CRS EPSG:4326, point geometry). A user site needs only
``site_id``, ``lat`` and ``lon``: :func:`enrich_sites` fills the rest from the compact
region tables shipped in ``data/regions/`` (county polygons with state, balancing
authority, ISO and eGRID subregion; state tables of prices, CO2 and water/permit
assumptions; interconnection queue times; weather stations). Values a user gives win.

The region tables are built by :func:`dcplan.databuild.sitebuild.build_catalog`; see
``docs/sites-and-grid.md`` for the rule that picks the catalog sites and the source of
every default.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dcplan.errors import DataError, Problem

log = logging.getLogger(__name__)

CRS = "EPSG:4326"
EARTH_RADIUS_KM = 6371.0088

#: contract columns (docs/architecture.md), in catalog order
SITE_COLUMNS: list[str] = [
    "site_id", "name", "state", "county_fips", "ba_code", "iso", "egrid_subregion",
    "elevation_m", "station_id", "station_dist_km", "climate_zone", "cooling_design_db_c",
    "heating_design_db_c", "hdd18", "cdd10", "electricity_usd_per_mwh", "co2_t_per_mwh",
    "water_l_per_kwh_source", "max_grid_kv", "land_mw", "water_m3_per_yr", "water_stress",
    "water_usd_per_m3", "headroom_mw", "headroom_year", "permit_lead_time_yr",
    "existing_dc_50km",
]
#: fuel groups of the optional ``gen_<fuel>_mw_50km`` columns
FUELS: list[str] = ["ng", "coal", "nuclear", "hydro", "wind", "solar", "battery", "other"]
GEN_COLUMNS: list[str] = [f"gen_{f}_mw_50km" for f in FUELS]
#: extra columns looked up at load time (not stored in us_sites.csv)
EXTRA_COLUMNS: list[str] = ["utility", "queue_region", "queue_study_yr"]

STR_COLUMNS = {"site_id", "name", "state", "county_fips", "ba_code", "iso", "egrid_subregion",
               "station_id", "climate_zone", "water_stress", "price_vintage", "utility",
               "queue_region"}
INT_COLUMNS = {"headroom_year", "existing_dc_50km"}

#: WRI Aqueduct baseline-water-stress classes, least to most stressed. "arid" (arid and
#: low water use) is ranked with "high" for filtering: little water to draw either way.
WATER_STRESS_ORDER: dict[str, int] = {
    "low": 0, "low_medium": 1, "medium_high": 2, "high": 3, "arid": 3, "extremely_high": 4,
}

# Sites must not stray further than this from the nearest shipped county polygon
# (simplified coastlines); beyond it the point is outside the US.
COUNTY_SNAP_KM = 15.0


# --------------------------------------------------------------------------- shipped data
def _data_path(relative: str) -> Path:
    """Path of a shipped table (delegates to dcplan.catalog, which handles wheels)."""
    from dcplan.catalog import data_path

    return data_path(relative)


@dataclass(frozen=True)
class RegionTables:
    """The lookup tables enrichment needs, all small.

    Attributes
    ----------
    counties : GeoDataFrame
        county polygons: county_fips, county, state, ba_code, utility, iso, queue_region,
        egrid_subregion, dc_count, rep_lat, rep_lon.
    states : DataFrame
        indexed by 2-letter state: price, CO2, water and permit defaults.
    subregions : DataFrame
        indexed by eGRID subregion: co2_t_per_mwh.
    interconnection : DataFrame
        indexed by queue_region: queue_study_yr, headroom_year.
    stations : DataFrame
        weather stations: station_id, lat, lon, elevation_m, climate_zone, design temps.
    dc_cells : DataFrame
        existing data centres counted per 0.1 degree cell: lat, lon (cell centre), dc_count.
    """

    counties: gpd.GeoDataFrame
    states: pd.DataFrame
    subregions: pd.DataFrame
    interconnection: pd.DataFrame
    stations: pd.DataFrame
    dc_cells: pd.DataFrame


def read_region_tables(folder: Path) -> RegionTables:
    """Read the region tables written by :func:`dcplan.databuild.sitebuild.build_catalog` from *folder*."""
    folder = Path(folder)
    counties = gpd.read_file(folder / "counties.geojson")
    counties["county_fips"] = counties["county_fips"].astype(str).str.zfill(5)
    states = pd.read_csv(folder / "states.csv", comment="#", dtype={"state_fips": str})
    subregions = pd.read_csv(folder / "egrid_subregions.csv", comment="#")
    interconnection = pd.read_csv(folder / "interconnection.csv", comment="#")
    stations = pd.read_csv(_stations_file(folder), comment="#", dtype={"station_id": str})
    return RegionTables(
        counties=counties,
        states=states.set_index("state"),
        subregions=subregions.set_index("egrid_subregion"),
        interconnection=interconnection.set_index("queue_region"),
        stations=stations,
        dc_cells=pd.read_csv(folder / "dc_counts.csv", comment="#"),
    )


def _stations_file(folder: Path) -> Path:
    return folder / "stations.csv"


@functools.lru_cache(maxsize=1)
def _shipped_regions() -> RegionTables:
    return read_region_tables(_data_path("regions/states.csv").parent)


@functools.lru_cache(maxsize=1)
def _shipped_catalog() -> gpd.GeoDataFrame:
    path = _data_path("sites/us_sites.csv")
    table = pd.read_csv(path, comment="#", dtype={"county_fips": str, "station_id": str})
    gdf = _points(table, str(path))
    regions = _shipped_regions()
    extra = regions.counties.drop(columns="geometry").set_index("county_fips")
    gdf["utility"] = gdf["county_fips"].map(extra["utility"])
    gdf["queue_region"] = gdf["county_fips"].map(extra["queue_region"]).fillna(gdf["iso"])
    gdf["queue_study_yr"] = _queue_years(gdf["queue_region"], gdf["iso"], regions.interconnection)
    return gdf


def load_catalog(**filters) -> gpd.GeoDataFrame:
    """The shipped US candidate-site catalog (``data/sites/us_sites.csv``).

    Parameters
    ----------
    **filters
        passed to :func:`filter_sites` (``states``, ``isos``, ``min_kv``, ...).

    Returns
    -------
    GeoDataFrame
        one row per site, CRS EPSG:4326, the contract columns plus ``utility``,
        ``queue_region`` and ``queue_study_yr`` (looked up from ``data/regions``).
    """
    gdf = _shipped_catalog().copy()
    return filter_sites(gdf, **filters) if filters else gdf


def filter_sites(
    gdf: gpd.GeoDataFrame,
    states=None,
    isos=None,
    min_kv: float | None = None,
    max_price_usd_per_mwh: float | None = None,
    water_stress: str | None = None,
    site_ids=None,
    limit: int | None = None,
    limit_by: str = "iso",
) -> gpd.GeoDataFrame:
    """Keep the sites that pass every given filter (None = no filter).

    Parameters
    ----------
    gdf : GeoDataFrame
        sites with the contract columns.
    states, isos : list of str, optional
        2-letter states / ISO names to keep (case-insensitive).
    min_kv : float, optional
        keep sites with ``max_grid_kv >= min_kv``. [kV]
    max_price_usd_per_mwh : float, optional
        keep sites with an electricity price at or below this. [USD/MWh]
    water_stress : str, optional
        most stressed class to keep, e.g. ``"medium_high"`` keeps low, low_medium and
        medium_high (``arid`` ranks with ``high``).
    site_ids : list of str, optional
        keep these ids, in the order given; unknown ids raise DataError.
    limit : int, optional
        keep *limit* rows after filtering, chosen by ``limit_by``.
    limit_by : {"iso", "state", "first"}, default "iso"
        how ``limit`` keeps the filter's spread: "iso" / "state" deal the rows round-robin
        over the groups (largest group first, ties by name; file order inside a group),
        so every ISO or state the filters kept is represented before any gets a second
        site; "first" keeps the first rows in file order. Deterministic.
    """
    mask = pd.Series(True, index=gdf.index)
    if states:
        mask &= gdf["state"].str.upper().isin([s.upper() for s in states])
    if isos:
        mask &= gdf["iso"].str.upper().isin([s.upper() for s in isos])
    if min_kv is not None:
        mask &= gdf["max_grid_kv"] >= float(min_kv)
    if max_price_usd_per_mwh is not None:
        mask &= gdf["electricity_usd_per_mwh"] <= float(max_price_usd_per_mwh)
    if water_stress is not None:
        if water_stress not in WATER_STRESS_ORDER:
            raise DataError([Problem("filter water_stress", f"unknown class {water_stress!r}",
                                     f"use one of {list(WATER_STRESS_ORDER)}")])
        rank = gdf["water_stress"].map(WATER_STRESS_ORDER)
        mask &= rank <= WATER_STRESS_ORDER[water_stress]
    out = gdf[mask]
    if site_ids:
        missing = [s for s in site_ids if s not in set(gdf["site_id"])]
        if missing:
            raise DataError([Problem("filter site_ids", f"no catalog site with id {missing}",
                                     "pick ids from `dcplan sites list`")])
        out = out.set_index("site_id", drop=False).reindex(
            [s for s in site_ids if s in set(out["site_id"])]).reset_index(drop=True)
    if limit is not None:
        out = limit_sites(out, int(limit), limit_by)
    return out.reset_index(drop=True)


LIMIT_RULES = ("iso", "state", "first")


def limit_sites(gdf: gpd.GeoDataFrame, limit: int, by: str = "iso") -> gpd.GeoDataFrame:
    """Keep ``limit`` rows dealt round-robin over ``by`` groups (see :func:`filter_sites`)."""
    if by not in LIMIT_RULES:
        raise DataError([Problem("sites.catalog.limit_by", f"unknown rule {by!r}",
                                 f"use one of {list(LIMIT_RULES)}")])
    if limit >= len(gdf):
        return gdf
    if by == "first":
        return gdf.head(limit)
    key = gdf[by].astype(str)
    sizes = key.value_counts()
    order = sorted(sizes.index, key=lambda g: (-sizes[g], g))
    rank = {g: i for i, g in enumerate(order)}
    within = key.groupby(key).cumcount()
    pick = (pd.DataFrame({"round": within.to_numpy(), "group": key.map(rank).to_numpy()},
                         index=gdf.index)
            .sort_values(["round", "group"], kind="stable").index[:limit])
    return gdf.loc[sorted(pick, key=gdf.index.get_loc)]


# --------------------------------------------------------------------------- reading
def _points(table: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    """GeoDataFrame of points from a table with lat/lon columns (validated first)."""
    cols = {c.lower(): c for c in table.columns}
    lat = cols.get("lat") or cols.get("latitude")
    lon = cols.get("lon") or cols.get("longitude") or cols.get("lng")
    if lat is None or lon is None:
        raise DataError([Problem(source, f"no lat/lon columns (found {list(table.columns)})",
                                 "add columns named lat and lon in decimal degrees (EPSG:4326)")])
    table = table.rename(columns={lat: "lat", lon: "lon"})
    problems = []
    for col in ("lat", "lon"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float))
        for i in np.flatnonzero(bad)[:MAX_LISTED]:
            problems.append(Problem(f"{source}: row {i + 1} ({_short(_sid(table, i))}).{col}",
                                    f"{col} {_short(table[col].iloc[i])} is not a number"
                                    + (" (not finite)" if np.isinf(values.iloc[i]) else ""),
                                    "give decimal degrees"))
        table[col] = values
    problems += _numeric_columns(table, source)
    if problems:
        raise DataError(problems)
    geometry = gpd.points_from_xy(table["lon"], table["lat"])
    return gpd.GeoDataFrame(table, geometry=geometry, crs=CRS)


def _sid(table: pd.DataFrame, i: int) -> str:
    return str(table["site_id"].iloc[i]) if "site_id" in table.columns else f"#{i + 1}"


#: most problems of one kind listed from a file (the count of the rest is given)
MAX_LISTED = 20
#: longest prefix of a value quoted in a message [characters]
MAX_QUOTED = 60
#: numeric site attributes a file may give (the rest of the contract is text or looked up)
NUMERIC_COLUMNS = ("electricity_usd_per_mwh", "co2_t_per_mwh", "water_l_per_kwh_source",
                   "max_grid_kv", "land_mw", "water_m3_per_yr", "water_usd_per_m3", "headroom_mw",
                   "headroom_year", "permit_lead_time_yr", "queue_study_yr", "elevation_m")


def _short(value) -> str:
    """repr of a value, cut to a short prefix (a hostile file must not flood the message)."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + f"... ({len(text)} chars)"


def _numeric_columns(table: pd.DataFrame, source: str) -> list[Problem]:
    """Numeric site attributes given in a file must be finite numbers (blank = look it up)."""
    problems = []
    for col in NUMERIC_COLUMNS:
        if col not in table.columns:
            continue
        raw = table[col]
        values = pd.to_numeric(raw, errors="coerce")
        given = raw.notna() & raw.astype(str).str.strip().ne("")
        bad = given.to_numpy() & ~np.isfinite(values.to_numpy(float))
        rows = np.flatnonzero(bad)
        for i in rows[:MAX_LISTED]:
            problems.append(Problem(f"{source}: row {i + 1} ({_short(_sid(table, i))}).{col}",
                                    f"{_short(raw.iloc[i])} is not a finite number",
                                    f"give {col} as a number, or leave it blank to look it up"))
        if len(rows) > MAX_LISTED:
            problems.append(Problem(f"{source}.{col}", f"{len(rows) - MAX_LISTED} more rows "
                                    "are not finite numbers", "fix every row"))
        table[col] = values
    return problems


def validate_site_ids(gdf, source: str) -> None:
    """Site ids must exist, be non-empty text without edge spaces, and differ by more than case."""
    problems = _id_problems(gdf, source)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {source}")


def _id_problems(gdf, source: str) -> list[Problem]:
    if "site_id" not in gdf.columns:
        return [Problem(source, f"no site_id column (found {_short(list(gdf.columns))})",
                        "add a column site_id with a unique id per site")]
    problems = []
    ids = gdf["site_id"]
    text = ids.astype(str)
    spaced = ids.notna() & text.ne(text.str.strip())
    for i in np.flatnonzero(spaced.to_numpy())[:MAX_LISTED]:
        problems.append(Problem(f"{source}: row {i + 1}.site_id",
                                f"site id {_short(text.iloc[i])} starts or ends with a space",
                                "remove the spaces (ids are compared exactly)"))
    folded = text.str.strip().str.casefold()
    groups: dict[str, list[str]] = {}
    for original, key in zip(text, folded, strict=True):
        groups.setdefault(key, []).append(original)
    for variants in groups.values():
        distinct = list(dict.fromkeys(variants))
        if len(distinct) > 1:
            problems.append(Problem(f"{source}.site_id", "site ids "
                                    f"{', '.join(_short(v) for v in distinct[:5])} differ only by "
                                    "case or spaces",
                                    "give each site one spelling, or distinct ids"))
    return problems


def read_sites(path) -> gpd.GeoDataFrame:
    """Read candidate sites from GeoJSON, GeoPackage or CSV (with lat/lon columns).

    Geometry must be points; layers are reprojected to EPSG:4326. A spatial file
    without a CRS raises DataError (we will not guess the datum).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "site file not found", "check the path")])
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataError([Problem(str(path), "the site file is empty (0 bytes)",
                                 "give one row or feature per candidate site")])
    if suffix in {".csv", ".txt"}:
        try:
            # only a blank cell is missing: "nan" or "NA" written in a number column is an error
            table = pd.read_csv(path, comment="#", dtype={"county_fips": str, "station_id": str,
                                                          "site_id": str},
                                keep_default_na=False, na_values=[""])
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataError([Problem(str(path), f"cannot read the file as CSV: {_first_line(exc)}",
                                     "save it as UTF-8 CSV with a header row: site_id,lat,lon,...")]
                            ) from None
        if table.empty:
            raise DataError([Problem(str(path), "the file has a header but no sites",
                                     "add one row per candidate site")])
        problems = _id_problems(table, path.name)
        if problems:
            raise DataError(problems, headline=f"{len(problems)} problem(s) in {path.name}")
        return _points(table, path.name)
    if suffix not in {".geojson", ".json", ".gpkg", ".shp", ".fgb"}:
        raise DataError([Problem(str(path), f"unsupported site file type {_short(suffix)}",
                                 "use .geojson, .gpkg or .csv with lat/lon columns")])
    gdf = _read_spatial(path, suffix)
    problems = []
    kinds = gdf.geom_type
    for i in np.flatnonzero((kinds != "Point").to_numpy()):
        problems.append(Problem(f"{path.name}: feature {i + 1} ({_sid(gdf, i)})",
                                f"geometry is {kinds.iloc[i]}, not a Point",
                                "give one point per candidate site"))
    if problems:
        raise DataError(problems)
    problems = _id_problems(gdf, path.name)
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {path.name}")
    try:
        gdf = gdf.to_crs(CRS)
    except Exception as exc:  # pyproj raises several types for a CRS it cannot transform
        raise DataError([Problem(path.name, f"cannot reproject from {_short(str(gdf.crs))} to "
                                 f"{CRS}: {_first_line(exc)}", "save the file in EPSG:4326")]
                        ) from None
    gdf["lat"] = gdf.geometry.y
    gdf["lon"] = gdf.geometry.x
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    problems = _numeric_columns(table, path.name)
    for col in ("lat", "lon"):
        for i in np.flatnonzero(~np.isfinite(table[col].to_numpy(float)))[:MAX_LISTED]:
            problems.append(Problem(f"{path.name}: feature {i + 1} ({_short(_sid(gdf, i))})",
                                    f"{col} is not finite after reprojection",
                                    "check the coordinates and the CRS of the file"))
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {path.name}")
    for col in NUMERIC_COLUMNS:
        if col in table.columns:
            gdf[col] = table[col]
    return gdf


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return _short(text[0]).strip("'") if text else type(exc).__name__


def _check_geojson_crs(path: Path) -> None:
    """GDAL reads a GeoJSON whose ``crs`` it does not know as EPSG:4326; we refuse instead."""
    import json

    from pyproj import CRS as ProjCRS

    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return  # unreadable JSON is reported by the reader
    crs = doc.get("crs") if isinstance(doc, dict) else None
    if not isinstance(crs, dict):
        return
    name = (crs.get("properties") or {}).get("name") if isinstance(crs.get("properties"), dict) \
        else None
    try:
        ProjCRS.from_user_input(name)
    except Exception:  # pyproj CRSError, TypeError for a non-string
        raise DataError([Problem(path.name, f"unknown CRS {_short(name)}",
                                 "save the file in EPSG:4326 (or a CRS EPSG knows)")]) from None


def _read_spatial(path: Path, suffix: str) -> gpd.GeoDataFrame:
    """GeoJSON/GeoPackage/... read with clear errors; a GeoPackage is read from layer ``sites``."""
    import pyogrio
    from pyproj import CRS as ProjCRS

    kind = {".gpkg": "GeoPackage", ".fgb": "FlatGeobuf", ".shp": "shapefile"}.get(suffix, "GeoJSON")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio/GDAL raise their own types for unreadable files
        raise DataError([Problem(str(path), f"cannot read the file as {kind}: {_first_line(exc)}",
                                 f"give a valid {kind} file, or a CSV with lat/lon columns")]
                        ) from None
    if kind == "GeoJSON":
        _check_geojson_crs(path)
    layer = None
    if len(layers) > 1:
        if "sites" not in layers:
            raise DataError([Problem(str(path), f"the file has {len(layers)} layers "
                                     f"({_short(', '.join(layers))}) and none is named 'sites'",
                                     "name the layer of candidate sites 'sites'")])
        layer = "sites"
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # as above
        raise DataError([Problem(str(path), f"cannot read the file as {kind}: {_first_line(exc)}",
                                 f"give a valid {kind} file, or a CSV with lat/lon columns")]
                        ) from None
    if gdf.empty:
        raise DataError([Problem(str(path), "the file holds no features",
                                 "give one point feature per candidate site")])
    if gdf.crs is None:
        raise DataError([Problem(path.name, "the file has no CRS",
                                 "save it with a CRS (EPSG:4326 for lat/lon)")])
    try:
        crs = ProjCRS.from_user_input(gdf.crs)
        known = crs.to_epsg() is not None or crs.is_geographic or crs.is_projected
    except Exception:  # pyproj CRSError and friends
        known = False
    if not known:
        raise DataError([Problem(path.name, f"unknown CRS {_short(str(gdf.crs))}",
                                 "save the file with a known CRS such as EPSG:4326")])
    return gdf


def sites_from_records(records) -> gpd.GeoDataFrame:
    """Sites from a list of dicts with at least ``site_id``, ``lat`` and ``lon``."""
    table = pd.DataFrame(list(records))
    if table.empty:
        raise DataError([Problem("sites", "no site records", "give at least one site")])
    return _points(table, "sites")


# --------------------------------------------------------------------------- geometry
def _unit_vectors(lat, lon) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _chord_to_km(chord) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def _km_to_chord(km: float) -> float:
    return 2.0 * np.sin(km / (2.0 * EARTH_RADIUS_KM))


def nearest(lat, lon, ref_lat, ref_lon) -> tuple[np.ndarray, np.ndarray]:
    """Index and great-circle distance [km] of the nearest reference point to each point."""
    from scipy.spatial import cKDTree

    tree = cKDTree(_unit_vectors(ref_lat, ref_lon))
    chord, idx = tree.query(_unit_vectors(lat, lon))
    return np.asarray(idx), _chord_to_km(chord)


def sum_within(lat, lon, ref_lat, ref_lon, weights, radius_km: float) -> np.ndarray:
    """Sum of *weights* (n_ref, k) over reference points within *radius_km* of each point."""
    from scipy.spatial import cKDTree

    weights = np.asarray(weights, float)
    squeeze = weights.ndim == 1
    weights = weights.reshape(len(weights), -1)
    tree = cKDTree(_unit_vectors(ref_lat, ref_lon))
    query = cKDTree(_unit_vectors(lat, lon))
    pairs = query.sparse_distance_matrix(tree, _km_to_chord(radius_km), output_type="coo_matrix")
    out = np.zeros((len(np.atleast_1d(lat)), weights.shape[1]))
    np.add.at(out, pairs.row, weights[pairs.col])
    return out[:, 0] if squeeze else out


# --------------------------------------------------------------------------- enrichment
def _queue_years(queue_region: pd.Series, iso: pd.Series, table: pd.DataFrame) -> pd.Series:
    years = queue_region.map(table["queue_study_yr"])
    years = years.fillna(iso.map(table["queue_study_yr"]))
    return years.fillna(table.loc["DEFAULT", "queue_study_yr"]).astype(float)


def _locate_counties(gdf: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """County attributes at each point: within a polygon, else the nearest within snap."""
    pts = gpd.GeoDataFrame({"_row": np.arange(len(gdf))}, geometry=gdf.geometry.values, crs=CRS)
    joined = gpd.sjoin(pts, counties, how="left", predicate="within")
    joined = joined.sort_values(["_row", "county_fips"]).drop_duplicates("_row")
    attrs = joined.drop(columns=["geometry", "index_right"]).set_index("_row")
    missing = attrs["county_fips"].isna().to_numpy()
    attrs["_county_dist_km"] = 0.0
    if missing.any():
        # simplified coastlines leave slivers: snap to the nearest county polygon
        metric = "EPSG:5070"
        miss = pts[missing].to_crs(metric)
        near = gpd.sjoin_nearest(miss, counties.to_crs(metric), how="left",
                                 distance_col="_d").drop_duplicates("_row").set_index("_row")
        cols = [c for c in attrs.columns if c in near.columns]
        attrs.loc[near.index, cols] = near[cols]
        attrs.loc[near.index, "_county_dist_km"] = near["_d"] / 1000.0
    return attrs.sort_index()


def enrich_sites(gdf: gpd.GeoDataFrame, tables: RegionTables | None = None) -> gpd.GeoDataFrame:
    """Fill every missing contract column of *gdf* from the shipped region tables.

    Parameters
    ----------
    gdf : GeoDataFrame
        sites with point geometry in EPSG:4326 and a ``site_id`` column; any contract
        column already present keeps its non-missing values (user values always win).
    tables : RegionTables, optional
        lookup tables; default the ones shipped in ``data/regions``.

    Returns
    -------
    GeoDataFrame
        a copy with every contract column plus ``lat``, ``lon``, ``utility``,
        ``queue_region``, ``queue_study_yr`` and ``price_vintage``. Points outside
        every county (outside the US) keep NaN there; :func:`validate_sites` reports them.
    """
    tables = tables or _shipped_regions()
    out = gdf.copy()
    if out.crs is None:
        raise DataError([Problem("sites", "the sites have no CRS", "set EPSG:4326")])
    out = out.to_crs(CRS)
    out["lat"], out["lon"] = out.geometry.y.to_numpy(), out.geometry.x.to_numpy()
    fill: dict[str, object] = {}

    located = _locate_counties(out, tables.counties)
    outside = (located["_county_dist_km"] > COUNTY_SNAP_KM).to_numpy() | located[
        "county_fips"].isna().to_numpy()
    loc = located.copy()
    loc.loc[outside, :] = np.nan  # outside the US: leave for validate_sites to report
    loc.index = out.index
    for col in ("state", "county_fips", "ba_code", "iso", "egrid_subregion", "utility",
                "queue_region"):
        fill[col] = loc[col]

    state = _prefer(out, "state", fill["state"])
    st = tables.states.reindex(state.to_numpy())
    st.index = out.index
    sub = _prefer(out, "egrid_subregion", fill["egrid_subregion"])
    fill["co2_t_per_mwh"] = pd.Series(
        sub.map(tables.subregions["co2_t_per_mwh"]).to_numpy(float), index=out.index)
    fill["electricity_usd_per_mwh"] = st["industrial_usd_per_mwh"]
    fill["price_vintage"] = st["price_vintage"]
    fill["water_l_per_kwh_source"] = st["water_l_per_kwh_source"]

    # nearest weather station (great circle)
    stn = tables.stations
    idx, dist = nearest(out["lat"], out["lon"], stn["lat"], stn["lon"])
    picked = stn.iloc[idx].reset_index(drop=True)
    picked.index = out.index
    fill["station_id"] = picked["station_id"].astype(str)
    fill["station_dist_km"] = pd.Series(np.round(dist, 2), index=out.index)
    for col in ("elevation_m", "climate_zone", "cooling_design_db_c", "heating_design_db_c",
                "hdd18", "cdd10"):
        fill[col] = picked[col]

    # water: state assumption, one class drier where the climate zone is dry (B)
    stress = st["water_stress"].copy()
    dry = picked["climate_zone"].astype(str).str.endswith("B") & stress.isin(
        ["low", "low_medium", "medium_high"])
    stress[dry] = stress[dry].map({"low": "low_medium", "low_medium": "medium_high",
                                   "medium_high": "high"})
    fill["water_stress"] = stress
    stress_now = _prefer(out, "water_stress", stress)
    fill["water_m3_per_yr"] = stress_now.map(WATER_CAP_M3_PER_YR).astype(float)
    fill["water_usd_per_m3"] = (stress_now.map(WATER_PRICE_FACTOR).astype(float)
                                * WATER_BASE_USD_PER_M3)
    fill["permit_lead_time_yr"] = st["permit_lead_time_yr"]

    # grid: queue region -> queue years and when existing headroom frees up
    iso = _prefer(out, "iso", fill["iso"])
    qreg = _prefer(out, "queue_region", fill["queue_region"]).fillna(iso)
    fill["queue_study_yr"] = _queue_years(qreg, iso, tables.interconnection)
    hy = qreg.map(tables.interconnection["headroom_year"]).fillna(
        iso.map(tables.interconnection["headroom_year"])).fillna(
        tables.interconnection.loc["DEFAULT", "headroom_year"])
    fill["headroom_year"] = hy
    fill["headroom_mw"] = pd.Series(DEFAULT_HEADROOM_MW, index=out.index, dtype=float)
    fill["land_mw"] = pd.Series(DEFAULT_LAND_MW, index=out.index, dtype=float)
    fill["max_grid_kv"] = pd.Series(DEFAULT_MAX_GRID_KV, index=out.index, dtype=float)

    # existing data centres: counts per 0.1 degree cell (all we ship from the IM3 atlas)
    c = tables.dc_cells
    fill["existing_dc_50km"] = pd.Series(np.rint(sum_within(
        out["lat"], out["lon"], c["lat"], c["lon"], c["dc_count"].to_numpy(float),
        50.0)).astype(int), index=out.index)

    if "name" not in out.columns or out["name"].isna().any():
        county = loc["county"].fillna("unknown county")
        fill["name"] = (out["site_id"].astype(str) + " (" + county.astype(str) + ", "
                        + state.fillna("??").astype(str) + ")")
    for col, values in fill.items():
        out[col] = _prefer(out, col, values)
    for col in INT_COLUMNS:
        if out[col].notna().all():
            out[col] = out[col].astype(int)
    order = SITE_COLUMNS + [c for c in out.columns if c not in SITE_COLUMNS and c != "geometry"]
    return gpd.GeoDataFrame(out[order], geometry=out.geometry, crs=CRS)


def _prefer(out: pd.DataFrame, col: str, default) -> pd.Series:
    """User values where given, else the looked-up default."""
    default = pd.Series(default, index=out.index) if not isinstance(default, pd.Series) else default
    if col not in out.columns:
        return default
    given = out[col]
    if given.dtype == object or pd.api.types.is_string_dtype(given):
        given = given.where(given.astype(str).str.strip().ne("") & given.notna())
    return given.where(given.notna(), default)


# Assumptions used when a site gives nothing better (documented in docs/sites-and-grid.md).
#: IT MW a candidate's land can host: a gigawatt-class campus (JLL puts gigawatt-scale
#: campuses at $5-20B); assumption, override per site.
DEFAULT_LAND_MW = 1000.0
#: spare MW at an existing substation for a user site without a plant record; assumption.
DEFAULT_HEADROOM_MW = 50.0
#: transmission voltage assumed near a user site without data: 138 kV, a common US
#: sub-transmission class (physical_facts sect. 4); assumption.
DEFAULT_MAX_GRID_KV = 138.0
#: potable water (Loudoun Water 2024 tier 1, $3.86 per 1,000 gal = $1.02/m3) plus sewer
#: on blowdown ($5.76 per 1,000 gal on ~25 % of make-up at 4 cycles = $0.38/m3).
WATER_BASE_USD_PER_M3 = 1.40
#: price multiplier by water stress; assumption (scarcer water costs more).
WATER_PRICE_FACTOR = {"low": 0.8, "low_medium": 0.9, "medium_high": 1.0, "high": 1.25,
                      "arid": 1.5, "extremely_high": 1.5}
#: annual on-site water a site may draw, by stress class [m3/yr]; assumption. A 1 GW IT
#: campus fully evaporative at ~1.8 L/kWh needs ~16e6 m3/yr (physical_facts sect. 9.4).
WATER_CAP_M3_PER_YR = {"low": 20e6, "low_medium": 10e6, "medium_high": 5e6, "high": 2e6,
                       "arid": 1e6, "extremely_high": 1e6}


# --------------------------------------------------------------------------- validation
def validate_sites(gdf: gpd.GeoDataFrame, source: str = "sites", required=None) -> None:
    """Check a site table; raise one DataError listing every problem found.

    Checks: CRS present (EPSG:4326 after reading), point geometry, lat/lon in range and
    not swapped, inside the US (a county was found), unique non-empty ids, no negative
    capacities, no NaN in required columns.
    """
    problems: list[Problem] = []
    required = SITE_COLUMNS if required is None else required
    if getattr(gdf, "crs", None) is None:
        problems.append(Problem(source, "the sites have no CRS",
                                "save the file with a CRS (EPSG:4326 for lat/lon)"))
    ids = gdf["site_id"].astype(str) if "site_id" in gdf.columns else None
    if ids is None:
        problems.append(Problem(source, "no site_id column", "add a unique site_id per row"))
        ids = pd.Series([f"#{i + 1}" for i in range(len(gdf))], index=gdf.index)
    else:
        dupes = sorted(set(ids[ids.duplicated()]))
        if dupes:
            problems.append(Problem(f"{source}.site_id",
                                    f"duplicate ids {_short(dupes)}",
                                    "make each site_id unique"))
        problems += [p for p in _id_problems(gdf, source) if "differ only" in p.message
                     or "space" in p.message]
        empty = gdf["site_id"].isna() | ids.str.strip().eq("")
        for i in np.flatnonzero(empty.to_numpy()):
            problems.append(Problem(f"{source}: row {i + 1}.site_id", "empty site_id",
                                    "give every site an id"))

    def where(i: int, col: str) -> str:
        return f"{source}: {ids.iloc[i]}.{col}"

    lat = gdf.geometry.y.to_numpy() if "geometry" in gdf else gdf["lat"].to_numpy(float)
    lon = gdf.geometry.x.to_numpy() if "geometry" in gdf else gdf["lon"].to_numpy(float)
    swapped = (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    for i in np.flatnonzero(swapped):
        problems.append(Problem(where(i, "lat"), f"lat {lat[i]} lon {lon[i]}: latitude out of "
                                "range, lat and lon look swapped", "swap the lat and lon values"))
    bad = ~swapped & ((np.abs(lat) > 90) | (np.abs(lon) > 180) | ~np.isfinite(lat)
                      | ~np.isfinite(lon))
    for i in np.flatnonzero(bad):
        problems.append(Problem(where(i, "lat"), f"lat {lat[i]} lon {lon[i]} out of range",
                                "use decimal degrees: -90..90 and -180..180"))
    in_range = ~swapped & ~bad
    # US sites have positive latitude and negative longitude: a pair like (-98, 32) is swapped
    us_swapped = in_range & (lat < -60) & (lon > 15) & (lon < 72)
    for i in np.flatnonzero(us_swapped):
        problems.append(Problem(where(i, "lat"), f"lat {lat[i]} lon {lon[i]} looks swapped "
                                "(a US longitude given as latitude)", "swap the lat and lon values"))
    if "county_fips" in gdf.columns:
        outside = in_range & ~us_swapped & gdf["county_fips"].isna().to_numpy()
        for i in np.flatnonzero(outside):
            problems.append(Problem(where(i, "geometry"), f"point ({lat[i]:.4f}, {lon[i]:.4f}) "
                                    "is outside every US county region",
                                    "give a location inside the United States, or check the "
                                    "sign of the longitude (west is negative)"))
    for col in ("land_mw", "headroom_mw", "water_m3_per_yr", "max_grid_kv",
                "permit_lead_time_yr", "electricity_usd_per_mwh", "water_usd_per_m3"):
        if col in gdf.columns:
            values = pd.to_numeric(gdf[col], errors="coerce").to_numpy(float)
            for i in np.flatnonzero(values < 0):
                problems.append(Problem(where(i, col), f"negative value {values[i]}",
                                        f"{col} must be >= 0"))
    located_bad = set()
    if "county_fips" in gdf.columns:
        located_bad = set(np.flatnonzero(gdf["county_fips"].isna().to_numpy()))
    for col in required:
        if col not in gdf.columns:
            problems.append(Problem(f"{source}.{col}", "required column missing",
                                    "run dcplan.sites.enrich_sites or give the column"))
            continue
        missing = gdf[col].isna().to_numpy()
        rows = [i for i in np.flatnonzero(missing) if i not in located_bad]
        for i in rows:
            problems.append(Problem(where(i, col), "missing value",
                                    f"give {col} for this site"))
    if problems:
        raise DataError(problems, headline=f"{len(problems)} problem(s) in {source}")
