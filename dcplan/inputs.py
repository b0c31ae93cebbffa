"""Turn a study into the coefficient dataset the optimiser reads.

:func:`build_inputs` is the only place that calls :mod:`dcplan.physics` on study data.
It returns one :class:`xarray.Dataset` with named dims (``site``, ``chip``, ``cooling``,
``year``, ``option``; ``hour`` when asked) whose variables all carry ``units`` and
``long_name``; docs/architecture.md lists them.

The hot path is vectorised over sites, technologies and hours: hourly weather is a
(site, hour) array, cooling performance a (site, cooling, hour) array, and the per-GPU
energy and water coefficients are matrix products of those with the (chip, hour) load
curves, so 1,000 sites x 8 chips x 6 technologies x 8,760 h take seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.catalog import read_chips, read_cooling
from dcplan.errors import DataError, Problem, SpecError
from dcplan.spec import Study

logger = logging.getLogger(__name__)

HOURS = 8760
#: per-GPU cluster overheads in data/chips.csv (fabric, storage, management) [kW]
CLUSTER_COLUMNS = ("network_kw_per_gpu", "storage_kw_per_gpu", "mgmt_kw_per_gpu")


def _noop(event: str, info: dict | None = None) -> None:
    return None


# --------------------------------------------------------------------------- tables
def chip_table(study: Study) -> pd.DataFrame:
    """The study's chips: catalog rows with overrides applied, plus custom parts."""
    catalog = read_chips()
    rows = {}
    for chip in study.chips.custom:
        fields = chip.model_dump(exclude_none=True)
        chip_id = fields.pop("chip_id")
        base = {c: np.nan for c in catalog.columns}
        base.update({"name": chip_id, "vendor": "custom", "system": "custom",
                     "scenario": False, "power_smoothing": False, "source": "study"})
        base.update(fields)
        rows[chip_id] = base
    for chip_id in study.chip_ids():
        if chip_id not in rows:
            rows[chip_id] = catalog.loc[chip_id].to_dict()
    for chip_id, override in study.chips.overrides.items():
        if chip_id in rows:
            rows[chip_id].update(override.model_dump(exclude_none=True))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "chip"
    _fill_chip_defaults(table)
    return table


def _fill_chip_defaults(table: pd.DataFrame) -> None:
    """Derive what a custom part may leave out; fail loudly where nothing sensible exists."""
    catalog = read_chips()
    for column in CLUSTER_COLUMNS:
        # a custom part gets the catalog's typical (8-GPU node) share unless it gives one
        if column in table:
            table[column] = table[column].astype(float).fillna(catalog[column].median())
    if "liquid_heat_fraction" in table:
        # a custom part without a figure gets the catalog's typical cold-plate capture
        typical = read_chips()["liquid_heat_fraction"].median()
        table["liquid_heat_fraction"] = table["liquid_heat_fraction"].fillna(typical)
    for column in ("air_coolable", "scenario", "power_smoothing"):
        table[column] = table[column].astype(bool)
    required = ["rack_kw", "gpus_per_rack", "dense_bf16_tflops", "first_year",
                "price_usd_per_gpu", "service_life_yr"]
    problems = [
        Problem(f"chips.{chip}", f"{column} is missing", f"give chips.overrides.{chip}.{column}")
        for column in required
        for chip in table.index[table[column].isna()]
    ]
    if problems:
        raise SpecError(problems)


def cooling_table(study: Study) -> pd.DataFrame:
    """The allowed cooling technologies with the study's overrides applied."""
    table = read_cooling().loc[list(study.cooling.allowed)].copy()
    for tech, override in study.cooling.overrides.items():
        if tech in table.index:
            for column, value in override.model_dump(exclude_none=True).items():
                table.loc[tech, column] = value
    table.index.name = "cooling"
    return table


def site_table(study: Study):
    """Candidate sites from every source of the study, enriched and validated."""
    import geopandas as gpd

    from dcplan import sites as site_io
    from dcplan.spec import resolve_path

    frames = []
    spec = study.sites
    if spec.catalog is not None:
        ref = spec.catalog
        catalog = site_io.filter_sites(
            site_io.load_catalog(),
            states=ref.states,
            isos=ref.isos,
            min_kv=ref.min_kv,
            max_price_usd_per_mwh=ref.max_price_usd_per_mwh,
            water_stress=ref.max_water_stress,
            site_ids=ref.site_ids,
            limit=ref.limit,
            limit_by=ref.limit_by,
        )
        if ref.limit is not None:
            logger.info("sites.catalog.limit %d kept by rule %r: %s", ref.limit, ref.limit_by,
                        catalog["iso"].value_counts().to_dict())
        if catalog.empty:
            raise SpecError([Problem("sites.catalog", "the filters leave no catalog site",
                                     "loosen the filters (see `dcplan sites list`)")])
        frames.append(catalog)
    if spec.file is not None:
        path = resolve_path(study, spec.file)
        frames.append(site_io.enrich_sites(site_io.read_sites(path)))
    if spec.inline:
        records = [s.model_dump(exclude_none=True) for s in spec.inline]
        enriched = site_io.enrich_sites(site_io.sites_from_records(records))
        _warn_inline_defaults(records, enriched)
        frames.append(enriched)
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    gdf = _apply_site_overrides(gdf, study)
    site_io.validate_sites(gdf, source="sites")
    return gdf.reset_index(drop=True)


def _apply_site_overrides(gdf, study: Study):
    problems = []
    ids = set(gdf["site_id"])
    for site_id, override in study.sites.overrides.items():
        if site_id not in ids:
            problems.append(Problem(f"sites.overrides.{site_id}", "no candidate has this id",
                                    "use an id of a catalog, file or inline site"))
            continue
        for column, value in override.model_dump(exclude_none=True).items():
            if column not in gdf.columns:
                gdf[column] = np.nan if not isinstance(value, str) else None
            gdf.loc[gdf["site_id"] == site_id, column] = value
    if problems:
        raise SpecError(problems)
    return gdf


def check_study(study: Study) -> None:
    """The input-time checks of :func:`build_inputs` without the physics (for validate).

    Raises the same :class:`SpecError` a run raises for chips that fit no allowed cooling
    technology, and for bad chip or cooling overrides.
    """

    chips = chip_table(study)
    cooling = cooling_table(study)
    compatible = _compatible(chips, cooling)
    _check_placeable(chips, cooling, np.asarray(compatible, bool))


#: site attributes that drive the plan; an inline site that leaves one out gets a warning
#: naming the default it receives
PLAN_DEFAULTS = ("headroom_mw", "headroom_year", "land_mw", "water_m3_per_yr", "max_grid_kv",
                 "permit_lead_time_yr", "queue_study_yr")


def _warn_inline_defaults(records: list[dict], enriched) -> None:
    for i, rec in enumerate(records):
        unset = [c for c in PLAN_DEFAULTS if c not in rec and c in enriched.columns]
        if not unset:
            continue
        values = ", ".join(f"{c}={enriched[c].iloc[i]:g}" for c in unset)
        logger.warning("sites.inline[%s] leaves %s unset and gets the default(s) %s; "
                       "give them in the study if you know better", rec["site_id"],
                       ", ".join(unset), values)


# --------------------------------------------------------------------------- weather
def site_weather(study: Study, sites) -> xr.Dataset:
    """Hourly dry- and wet-bulb per site: EPW files where given, else a synthetic year.

    Order of precedence: a site's own ``weather_file``; else, when the study names
    ``weather.dir``, the nearest EPW station of that folder within
    ``weather.max_distance_km``; else the synthetic typical year built from the nearest
    station's design temperatures and degree days (:func:`dcplan.weather.synthetic_year`,
    a screening approximation). ``weather_source`` and ``weather_distance_km`` record
    which each site got.
    """
    from dcplan import weather
    from dcplan.sites import nearest
    from dcplan.spec import resolve_path

    zone = sites["climate_zone"].astype(str).str.strip()
    moisture = zone.str[-1].where(zone.str[-1].isin(["A", "B", "C"]), "")
    dry, wet, pressure = _synthetic_year(
        sites["cooling_design_db_c"].to_numpy(float),
        sites["heating_design_db_c"].to_numpy(float),
        sites["hdd18"].to_numpy(float),
        sites["cdd10"].to_numpy(float),
        moisture.to_numpy().astype(str),
        sites["elevation_m"].to_numpy(float),
        sites.geometry.y.to_numpy(float),
        sites.geometry.x.to_numpy(float),
    )
    source = np.array(["synthetic"] * len(sites), dtype=object)
    distance = np.full(len(sites), np.nan)
    files: dict[int, tuple] = {}
    wcfg = getattr(study, "weather", None)
    if wcfg is not None and wcfg.dir:
        index = weather.epw_index(resolve_path(study, wcfg.dir))
        if len(index):
            ids, dist = nearest(sites.geometry.y.to_numpy(float), sites.geometry.x.to_numpy(float),
                                index["lat"].to_numpy(float), index["lon"].to_numpy(float))
            for i, (k, d) in enumerate(zip(ids, dist, strict=True)):
                if d <= wcfg.max_distance_km:
                    files[i] = (index["path"].iloc[int(k)], float(d), "weather.dir")
        logger.info("weather.dir: %d of %d sites within %g km of an EPW station",
                    len(files), len(sites), wcfg.max_distance_km)
    if "weather_file" in sites.columns:
        for i, name in enumerate(sites["weather_file"]):
            if isinstance(name, str) and name:
                files[i] = (resolve_path(study, name), 0.0, "weather_file")
    problems = []
    cache: dict = {}
    for i, (path, dist, how) in sorted(files.items()):
        where = (f"sites ({sites['site_id'].iloc[i]}).weather_file" if how == "weather_file"
                 else f"weather.dir ({path})")
        if not path.is_file():
            problems.append(Problem(where, f"weather file {str(path)!r} does not exist",
                                    "fix the path (relative to the study file) or remove it"))
            continue
        epw = cache.get(path)
        if epw is None:
            epw = cache[path] = weather.read_epw(path)
        if epw.sizes["hour"] < HOURS:
            problems.append(Problem(where,
                                    f"{path.name} has {epw.sizes['hour']} hours, not {HOURS}",
                                    "use a full-year EPW/TMY file"))
            continue
        dry[i] = epw["temp_air_c"].to_numpy()[:HOURS]
        wet[i] = epw["wet_bulb_c"].to_numpy()[:HOURS]
        pressure[i] = float(epw["pressure_pa"].mean())
        source[i] = path.name
        distance[i] = dist
    if problems:
        raise SpecError(problems)
    return xr.Dataset(
        {
            "dry_bulb_c": (("site", "hour"), dry, {"units": "degC", "long_name": "dry-bulb temperature"}),
            "wet_bulb_c": (("site", "hour"), wet, {"units": "degC", "long_name": "wet-bulb temperature"}),
            "pressure_pa": (("site",), pressure, {"units": "Pa", "long_name": "mean barometric pressure"}),
            "weather_source": (("site",), source.astype(str), {"long_name": "EPW file or 'synthetic'"}),
            "weather_distance_km": (("site",), distance,
                                    {"units": "km", "long_name": "distance to the EPW station used "
                                     "(0 for a site's own file, NaN for synthetic weather)"}),
        }
    )


#: synthetic years kept in this process, by a hash of their inputs: the scenarios of a
#: sweep share their sites' weather, and each sweep worker builds it once instead of per
#: scenario (about 1.5 s of a 100-site scenario's 7 s; benchmarks/bench_sweep.py)
_SYNTHETIC_YEARS: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
#: most synthetic years kept, and the largest kept [bytes of hourly data]
SYNTHETIC_CACHE_ENTRIES, SYNTHETIC_CACHE_BYTES = 2, 512_000_000


def _synthetic_year(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly dry bulb, wet bulb [site, hour] and pressure [site] of the synthetic year.

    ``columns``: cooling and heating design dry bulb, HDD18, CDD10, moisture letter,
    elevation, latitude, longitude per site. :func:`dcplan.weather.synthetic_year` is
    deterministic in these and its dew-point model file, so a result is reused for the same
    values and the same file (size and time); the caller gets copies it may change.
    """
    from dcplan import weather
    from dcplan.catalog import data_path

    digest = hashlib.sha256()
    try:
        model = data_path("dewpoint_model.csv").stat()
        digest.update(f"{model.st_size}:{model.st_mtime_ns}".encode())
    except (OSError, DataError):  # synthetic_year reports the missing file
        digest.update(b"no dew-point model")
    for column in columns:
        digest.update(f"{column.dtype.str}{column.shape}".encode())
        digest.update(np.ascontiguousarray(column).tobytes())
    key = digest.hexdigest()
    kept = _SYNTHETIC_YEARS.get(key)
    if kept is None:
        design_hot, design_cold, hdd, cdd, moisture, elevation, lat, lon = columns
        year = weather.synthetic_year(design_hot, design_cold, hdd, cdd, moisture, elevation, lat, lon=lon)
        kept = (np.array(year["temp_air_c"].transpose("site", "hour").to_numpy(), dtype=np.float32),
                np.array(year["wet_bulb_c"].transpose("site", "hour").to_numpy(), dtype=np.float32),
                np.array(year["pressure_pa"].to_numpy(), dtype=float))
        if kept[0].nbytes + kept[1].nbytes <= SYNTHETIC_CACHE_BYTES:
            while len(_SYNTHETIC_YEARS) >= SYNTHETIC_CACHE_ENTRIES:
                _SYNTHETIC_YEARS.pop(next(iter(_SYNTHETIC_YEARS)))
            _SYNTHETIC_YEARS[key] = kept
    return kept[0].copy(), kept[1].copy(), kept[2].copy()


# --------------------------------------------------------------------------- loads
def chip_loads(study: Study, chips: pd.DataFrame) -> xr.Dataset:
    """Hourly IT load of each chip (fraction of nameplate) for the study's workload mix."""
    from dcplan.physics import loads

    work = study.workload
    share = work.training_share
    inference = loads.inference_load(mean=work.inference.mean, peak=work.inference.peak)
    curves = {}
    for chip_id, row in chips.iterrows():
        training = loads.training_load(
            mean=work.training.mean,
            swing_amplitude=work.training.swing_amplitude,
            checkpoint_interval_h=work.training.checkpoint_interval_h,
            checkpoint_dip=work.training.checkpoint_dip,
            smoothing_cap=loads.DEFAULT_SMOOTHING_CAP if row["power_smoothing"] else None,
        )
        if share >= 1.0:
            curves[chip_id] = training
        elif share <= 0.0:
            curves[chip_id] = inference
        else:
            curves[chip_id] = loads.mix_loads([training, inference], [share, 1.0 - share])
    chip_ids = list(chips.index)
    series = np.stack([np.asarray(curves[c].series, dtype=np.float64) for c in chip_ids])
    return xr.Dataset(
        {
            "load_fraction": (("chip", "hour"), series.astype(np.float32),
                              {"units": "1", "long_name": "hourly mean IT load / nameplate"}),
            "load_mean_fraction": (("chip",), np.array([curves[c].mean for c in chip_ids]),
                                   {"units": "1", "long_name": "mean IT load / nameplate"}),
            "load_peak_fraction": (("chip",), np.array([curves[c].peak for c in chip_ids]),
                                   {"units": "1", "long_name": "peak IT load / nameplate (within-hour envelope)"}),
        },
        coords={"chip": chip_ids},
    )


# --------------------------------------------------------------------------- facility
def facility_coefficients(
    study: Study,
    chips: pd.DataFrame,
    cooling: pd.DataFrame,
    weather_ds: xr.Dataset,
    load_ds: xr.Dataset,
    *,
    keep_hourly: bool = False,
) -> xr.Dataset:
    """PUE, WUE and per-GPU facility energy, peak and water for every site, chip and cooling."""
    from dcplan.physics import chips as chip_physics
    from dcplan.physics import cooling as cooling_physics
    from dcplan.physics import electrical

    chip_ids = list(chips.index)
    techs = list(cooling.index)
    it_kw_rack = chip_physics.it_kw_per_gpu(chips["rack_kw"].to_numpy(float),
                                            chips["gpus_per_rack"].to_numpy(float))
    # cluster level (the default the optimiser sees): rack + the scalable unit's fabric,
    # storage and management share per GPU (data/chips.csv, docs/physics-it.md)
    it_kw = chip_physics.cluster_kw_per_gpu(
        chips["rack_kw"].to_numpy(float), chips["gpus_per_rack"].to_numpy(float),
        *(chips[c].to_numpy(float) for c in CLUSTER_COLUMNS))

    # Cooling: mechanical power and on-site water per unit IT, (site, cooling, hour),
    # computed in blocks of sites to bound memory; liquid technologies capture the
    # fleet's GPU-weighted share of heat in liquid.
    weights = _fleet_weights(study, chips)
    liquid_share = float((weights * chips["liquid_heat_fraction"].to_numpy(float)).sum())
    liquid = {t: liquid_share for t in techs if bool(cooling.loc[t, "liquid"])}
    n_site = weather_ds.sizes["site"]
    dry_all = weather_ds["dry_bulb_c"].to_numpy()
    wet_all = weather_ds["wet_bulb_c"].to_numpy()
    pres_all = weather_ds["pressure_pa"].to_numpy()
    mech_np = np.empty((n_site, len(techs), HOURS), dtype=np.float32)
    water_np = np.empty((n_site, len(techs), HOURS), dtype=np.float32)
    excursion = np.zeros((n_site, len(techs)))
    block = 128
    for start in range(0, n_site, block):
        stop = min(start + block, n_site)
        mech_b, water_b = cooling_physics.cooling_hourly(
            cooling, dry_all[start:stop], wet_all[start:stop],
            pressure_pa=pres_all[start:stop, None], liquid_heat_fraction=liquid or None,
        )
        mech_np[start:stop] = np.moveaxis(np.asarray(mech_b, dtype=np.float32), 0, 1)
        excursion[start:stop] = cooling_physics.supply_dewpoint_excursion_hours(
            cooling, dry_all[start:stop], wet_all[start:stop],
            pressure_pa=pres_all[start:stop]).T
        water_np[start:stop] = np.moveaxis(np.asarray(water_b, dtype=np.float32), 0, 1)

    # Electrical-chain losses per unit of nameplate IT at each hour's load (chip, hour);
    # loss *power* stays finite at zero load, where no-load losses remain.
    load = load_ds["load_fraction"].to_numpy().astype(np.float64)
    chain = {"redundancy": study.electrical.redundancy, "ups_mode": study.electrical.ups_mode}
    elec_power = np.asarray(electrical.electrical_loss_power(load, **chain), dtype=np.float64)
    other = study.electrical.other_fraction
    peak = load_ds["load_peak_fraction"].to_numpy()
    elec_peak = np.asarray(electrical.electrical_loss_power(peak, **chain), dtype=np.float64) / peak

    # Energy per nameplate kW-year: sum_h [L_c(h) (1 + other) + loss_c(h) + L_c(h) mech(s,k,h)];
    # the mechanical term is one matrix product of (site*cooling, hour) with (hour, chip).
    flat_mech = mech_np.reshape(n_site * len(techs), HOURS)
    flat_water = water_np.reshape(n_site * len(techs), HOURS)
    load32 = load.astype(np.float32)
    mech_weighted = (flat_mech @ load32.T).reshape(n_site, len(techs), len(chip_ids))
    water_weighted = (flat_water @ load32.T).reshape(n_site, len(techs), len(chip_ids))
    base_kwh = (load * (1.0 + other) + elec_power).sum(axis=1)  # (chip,)
    facility_kwh_per_kw = base_kwh[None, None, :] + mech_weighted  # (site, cooling, chip)
    it_kwh_per_kw = load.sum(axis=1)

    mwh_per_gpu = facility_kwh_per_kw * it_kw[None, None, :] / 1000.0
    m3_per_gpu = water_weighted * it_kw[None, None, :] / 1000.0

    # Design hour: the worst cooling hour coinciding with the peak IT envelope.
    mech_max = mech_np.max(axis=2)  # (site, cooling)
    peak_pue_chip = 1.0 + mech_max[:, :, None] + elec_peak[None, None, :] + other
    peak_kw_per_gpu = it_kw[None, None, :] * peak[None, None, :] * peak_pue_chip

    # Fleet PUE and WUE at the fleet's load curve (chips weighted by their GPU targets).
    fleet_load = (weights[:, None] * load).sum(axis=0)
    fleet_loss = (weights[:, None] * elec_power).sum(axis=0)
    fleet_load32 = fleet_load.astype(np.float32)
    it_energy = fleet_load.sum()
    pue_annual = (
        (fleet_load * (1.0 + other) + fleet_loss).sum()
        + (flat_mech @ fleet_load32).reshape(n_site, len(techs))
    ) / it_energy
    wue = (flat_water @ fleet_load32).reshape(n_site, len(techs)) / it_energy
    fleet_peak = float((weights * peak).sum())
    fleet_elec_peak = float((weights * elec_peak).sum())
    pue_peak = 1.0 + mech_max + fleet_elec_peak + other

    compatible = _compatible(chips, cooling)

    _check_placeable(chips, cooling, np.asarray(compatible, bool))

    sc = ("site", "cooling")
    scc = ("site", "chip", "cooling")
    ds = xr.Dataset(
        {
            "it_kw_per_gpu": (("chip",), np.asarray(it_kw, float),
                              {"units": "kW", "long_name": "nameplate IT power per GPU at cluster "
                               "level: rack + fabric, storage and management share"}),
            "it_kw_per_gpu_rack": (("chip",), np.asarray(it_kw_rack, float),
                                   {"units": "kW", "long_name": "nameplate IT power per GPU of "
                                    "the GPU rack alone"}),
            "compatible": (("chip", "cooling"), np.asarray(compatible, bool),
                           {"units": "1", "long_name": "chip can be deployed with this cooling technology"}),
            "pue_annual": (sc, pue_annual.astype(float),
                           {"units": "1", "long_name": "annual PUE at the fleet load curve (Green Grid)"}),
            "pue_peak": (sc, pue_peak.astype(float),
                         {"units": "1", "long_name": "design-hour PUE at peak IT load"}),
            "wue_l_per_kwh": (sc, wue.astype(float),
                              {"units": "L/kWh", "long_name": "site WUE: on-site water per IT energy"}),
            "supply_dewpoint_excursion_h": (sc, excursion,
                                            {"units": "h/year", "long_name": "hours the supply air "
                                             "exceeds the ASHRAE A1 17 degC dew point"}),
            "facility_mwh_per_gpu_year": (scc, mwh_per_gpu.transpose(0, 2, 1).astype(float),
                                          {"units": "MWh", "long_name": "facility energy per GPU-year"}),
            "facility_peak_kw_per_gpu": (scc, peak_kw_per_gpu.transpose(0, 2, 1).astype(float),
                                         {"units": "kW", "long_name": "facility peak power per GPU"}),
            "water_m3_per_gpu_year": (scc, m3_per_gpu.transpose(0, 2, 1).astype(float),
                                      {"units": "m**3", "long_name": "on-site water per GPU-year"}),
            "it_mwh_per_gpu_year": (("chip",), it_kwh_per_kw * np.asarray(it_kw, float) / 1000.0,
                                    {"units": "MWh", "long_name": "IT energy per GPU-year"}),
        },
        coords={"chip": chip_ids, "cooling": techs},
    )
    ds.attrs["fleet_peak_fraction"] = fleet_peak
    if keep_hourly:
        ds["pue_hourly"] = (
            ("site", "cooling", "hour"),
            (1.0 + mech_np + (fleet_loss / np.maximum(fleet_load, 1e-9) + other).astype(np.float32)),
            {"units": "1", "long_name": "hourly facility/IT power at the fleet's mean electrical losses"},
        )
        ds["water_l_per_kwh_hourly"] = (("site", "cooling", "hour"), water_np,
                                        {"units": "L/kWh", "long_name": "hourly on-site water per IT energy"})
    return ds


def _compatible(chips: pd.DataFrame, cooling: pd.DataFrame) -> np.ndarray:
    """(chip, cooling) pairs whose racks the cooling can take (:func:`physics.racks.compatible`)."""
    from dcplan.physics import racks

    return np.asarray(racks.compatible(
        chips["rack_kw"].to_numpy(float)[:, None],
        chips["air_coolable"].to_numpy(bool)[:, None],
        cooling["max_rack_kw"].to_numpy(float)[None, :],
        cooling["air_cooled_it"].to_numpy(bool)[None, :],
    ), bool)


def _check_placeable(chips: pd.DataFrame, cooling: pd.DataFrame, compatible: np.ndarray) -> None:
    """A chip that fits no allowed cooling technology can never be deployed: say so now."""
    problems = []
    for i, chip_id in enumerate(chips.index):
        if compatible[i].any():
            continue
        limits = ", ".join(f"{t} {cooling.loc[t, 'max_rack_kw']:g} kW" for t in cooling.index)
        air = "" if chips.loc[chip_id, "air_coolable"] else " and is not air-coolable"
        problems.append(Problem(
            f"chips.{chip_id}",
            f"its {chips.loc[chip_id, 'rack_kw']:g} kW racks{air} fit none of the allowed cooling "
            f"technologies (max rack power: {limits})",
            "allow a liquid technology in cooling.allowed, raise its max_rack_kw in "
            "cooling.overrides if your design supports it, or drop the chip",
        ))
    if problems:
        raise SpecError(problems)


def _fleet_weights(study: Study, chips: pd.DataFrame) -> np.ndarray:
    """Share of each chip in the fleet, from the largest GPU target of each (even if none)."""
    counts = pd.Series(0.0, index=chips.index)
    for target in study.fleet.gpus:
        counts[target.chip] = max(counts[target.chip], target.gpus)
    if counts.sum() <= 0:
        counts[:] = 1.0
    return (counts / counts.sum()).to_numpy()


# --------------------------------------------------------------------------- grid
def grid_coefficients(study: Study, sites) -> xr.Dataset:
    """Interconnect options per site and the first year permits allow capacity online."""
    from dcplan.physics import grid

    first = study.horizon.first_year
    options = grid.interconnect_options(
        max_grid_kv=sites["max_grid_kv"].to_numpy(float),
        headroom_mw=sites["headroom_mw"].to_numpy(float),
        headroom_year=sites["headroom_year"].to_numpy(float),
        queue_study_yr=sites["queue_study_yr"].to_numpy(float),
        start_year=first,
        transformer_lead_weeks=study.grid.transformer_lead_weeks,
        switchgear_lead_weeks=study.grid.switchgear_lead_weeks,
        ramp_years={"new_substation": study.grid.ramp_years_new_substation},
    )
    permit = grid.permit_year(sites["permit_lead_time_yr"].to_numpy(float), start_year=first)
    options = options.assign_coords(site=sites["site_id"].to_numpy())
    keep = ["ic_capacity_mw", "ic_earliest_year", "ic_phase_mw_per_yr", "ic_capex_usd", "ic_kv"]
    ds = options[[v for v in keep if v in options]]
    ds["permit_year"] = (("site",), np.asarray(permit, dtype=int),
                         {"units": "calendar_year",
                          "long_name": "first year permits allow IT capacity online"})
    # the parts of each option's time to power: the study or queue, then the equipment
    equipment = np.where(
        options["option"].values == "existing",
        grid.construction_yr(0.0, study.grid.switchgear_lead_weeks),
        grid.construction_yr(study.grid.transformer_lead_weeks, study.grid.switchgear_lead_weeks),
    )[None, :] * np.ones(options["ic_lead_time_yr"].shape)
    ds["ic_equipment_yr"] = (("site", "option"), equipment,
                             {"units": "year", "long_name": "equipment lead and commissioning of the option"})
    ds["ic_queue_yr"] = (("site", "option"), options["ic_lead_time_yr"].values - equipment,
                         {"units": "year", "long_name": "interconnection study or queue time of the option"})
    ds["permit_lead_time_yr"] = (("site",), sites["permit_lead_time_yr"].to_numpy(float),
                                 {"units": "year", "long_name": "permitting critical path"})
    return ds


def construction_coefficients(study: Study, sites, cooling: pd.DataFrame) -> xr.Dataset:
    """Construction lead per cooling and the first year IT can be online at each site.

    The hall is built once the permit is in hand, so IT comes online
    ``ceil(permit lead + construction)`` years after the study starts (one rounding, so that
    a 1.5-year permit and an 18-month build give 3 years, not 2 + 2); power must also be
    energised by then, which the interconnect options govern.
    """
    from dcplan.physics import grid

    months = np.array([study.construction.by_cooling.get(k, study.construction.first_block_months)
                       for k in cooling.index], dtype=float)
    lead = sites["permit_lead_time_yr"].to_numpy(float)[:, None] + months[None, :] / 12.0
    earliest = grid.earliest_year(study.horizon.first_year, lead)
    return xr.Dataset(
        {
            "construction_yr": (("cooling",), months / 12.0,
                                {"units": "year", "long_name": "construction of shell, plant and first IT block"}),
            "it_earliest_year": (("site", "cooling"), earliest,
                                 {"units": "calendar_year", "long_name":
                                  "first year IT may be online (permit + construction)"}),
        },
        coords={"site": sites["site_id"].astype(str).to_numpy(), "cooling": list(cooling.index)},
    )


def capital_factors(study: Study, chips: pd.DataFrame) -> xr.Dataset:
    """NPV charged per USD of capital bought in each year, by asset (:mod:`dcplan.economics`)."""
    from dcplan import economics

    years = study.horizon.years
    first, rate, method = study.horizon.first_year, study.horizon.discount_rate, study.costs.capital
    life = study.costs.economic_life
    attrs = lambda what: {"units": "1", "long_name": f"NPV charged per USD of {what} bought in the year ({method})"}  # noqa: E731
    gpu_life = np.maximum(np.rint(chips["service_life_yr"].to_numpy(float)), 1.0)
    return xr.Dataset(
        {
            "capital_factor_gpu": (("chip", "year"), economics.capital_factor(years, first, rate, gpu_life, method),
                                   attrs("GPUs")),
            "capital_factor_facility": (("year",),
                                        economics.capital_factor(years, first, rate, life.facility_yr, method),
                                        attrs("facility")),
            "capital_factor_site": (("year",), economics.capital_factor(years, first, rate, life.site_yr, method),
                                    attrs("site opening")),
            "capital_factor_interconnect": (("year",),
                                            economics.capital_factor(years, first, rate, life.interconnect_yr,
                                                                     method),
                                            attrs("interconnect")),
        },
        coords={"chip": list(chips.index), "year": years},
    )


# --------------------------------------------------------------------------- money, targets
def _by_year(value, years: list[int], missing: float) -> np.ndarray:
    """A flat value, or a {year: value} mapping held forward from each given year."""
    if value is None:
        return np.full(len(years), missing)
    if not isinstance(value, dict):
        return np.full(len(years), float(value))
    out = np.full(len(years), missing)
    for i, year in enumerate(years):
        given = [y for y in value if y <= year]
        if given:
            out[i] = float(value[max(given)])
    return out


def target_arrays(study: Study, chips: pd.DataFrame) -> xr.Dataset:
    """Fleet targets per chip and year (GPUs) and per year (dense PFLOPS)."""
    years = study.horizon.years
    chip_ids = list(chips.index)
    gpus = np.zeros((len(chip_ids), len(years)))
    for i, chip_id in enumerate(chip_ids):
        points = sorted((t.year, t.gpus) for t in study.fleet.gpus if t.chip == chip_id)
        gpus[i] = _ramp(points, years, study.fleet.ramp)
    pflops_points = sorted((t.year, t.dense_pflops) for t in study.fleet.compute)
    pflops = _ramp(pflops_points, years, study.fleet.ramp)
    chip_sets = {tuple(sorted(t.chips)) if t.chips else None for t in study.fleet.compute}
    if len(chip_sets) > 1:
        raise SpecError([Problem("fleet.compute", "compute targets name different chip lists",
                                 "give every compute target the same chips (or none)")])
    allowed_set = next(iter(chip_sets)) if chip_sets else None
    allowed = np.array([allowed_set is None or c in allowed_set for c in chip_ids])
    return xr.Dataset(
        {
            "target_gpus": (("chip", "year"), gpus, {"units": "GPU", "long_name": "GPUs that must be online"}),
            "target_pflops": (("year",), pflops,
                              {"units": "PFLOPS", "long_name": "dense BF16 compute that must be online"}),
            "target_chip_allowed": (("chip",), allowed,
                                    {"units": "1", "long_name": "chip counts toward target_pflops"}),
        },
        coords={"chip": chip_ids, "year": years},
    )


def _ramp(points: list[tuple[int, float]], years: list[int], ramp: str) -> np.ndarray:
    out = np.zeros(len(years))
    if not points:
        return out
    xs = np.array([p[0] for p in points], float)
    ys = np.array([p[1] for p in points], float)
    ys = np.maximum.accumulate(ys)  # a target never falls once reached
    yr = np.array(years, float)
    if ramp == "linear":
        out = np.interp(yr, xs, ys, left=0.0)
        before = yr < xs[0]
        out[before] = 0.0
    else:
        idx = np.searchsorted(xs, yr, side="right") - 1
        out = np.where(idx >= 0, ys[np.clip(idx, 0, None)], 0.0)
    return out


# --------------------------------------------------------------------------- assembly
def build_inputs(
    study: Study,
    *,
    keep_hourly: bool = False,
    progress: Callable[..., None] | None = None,
) -> xr.Dataset:
    """Build the coefficient dataset of a study.

    Parameters
    ----------
    study : Study
        A validated study (:func:`dcplan.load_study`).
    keep_hourly : bool
        Keep hourly weather, load and PUE (adds an ``hour`` dimension; large).
    progress : callable, optional
        ``progress(event, info)`` reporting each step.

    Returns
    -------
    xarray.Dataset
        Dims ``site``, ``chip``, ``cooling``, ``year``, ``option``; see docs/architecture.md.

    Raises
    ------
    SpecError, DataError
        On bad or inconsistent input, listing every problem found.
    """
    progress = progress or _noop
    step = lambda detail: progress("inputs", {"phase": "inputs", "detail": detail})  # noqa: E731

    step("chips and cooling")
    chips = chip_table(study)
    cooling = cooling_table(study)
    step("sites")
    sites = site_table(study)
    site_ids = sites["site_id"].astype(str).to_numpy()
    step(f"weather for {len(sites)} sites")
    weather_ds = site_weather(study, sites)
    step("load curves")
    load_ds = chip_loads(study, chips)
    step("cooling, PUE and water")
    facility = facility_coefficients(study, chips, cooling, weather_ds, load_ds, keep_hourly=keep_hourly)
    step("interconnects and permits")
    grid_ds = grid_coefficients(study, sites)
    years = study.horizon.years
    targets = target_arrays(study, chips)

    site_vars = _site_variables(study, sites, cooling)
    build_ds = construction_coefficients(study, sites, cooling)
    money = capital_factors(study, chips)
    chip_vars = xr.Dataset(
        {
            "rack_kw": (("chip",), chips["rack_kw"].to_numpy(float),
                        {"units": "kW", "long_name": "rack power at nameplate"}),
            "gpus_per_rack": (("chip",), chips["gpus_per_rack"].to_numpy(float),
                              {"units": "1", "long_name": "GPUs per rack"}),
            "dense_pflops": (("chip",), chips["dense_bf16_tflops"].to_numpy(float) / 1000.0,
                             {"units": "PFLOPS", "long_name": "dense BF16 compute per GPU"}),
            "gpu_capex_usd": (("chip",), chips["price_usd_per_gpu"].to_numpy(float),
                              {"units": "USD", "long_name": "price per GPU incl. server and network share"}),
            "service_life_yr": (("chip",), chips["service_life_yr"].to_numpy(float),
                                {"units": "year", "long_name": "service life"}),
            "first_year": (("chip",), chips["first_year"].to_numpy(int),
                           {"units": "calendar_year", "long_name": "first year available"}),
        },
        coords={"chip": list(chips.index)},
    )
    rate = study.horizon.discount_rate
    first = study.horizon.first_year
    year_vars = xr.Dataset(
        {
            "discount_factor": (("year",), 1.0 / (1.0 + rate) ** (np.array(years) - first),
                                {"units": "1", "long_name": "present-value factor of each year"}),
            "capex_budget_usd": (("year",), _by_year(study.limits.capex_budget_usd_per_year, years, np.inf),
                                 {"units": "USD", "long_name": "capital budget per year (inf = none)"}),
            "carbon_cap_t": (("year",), _by_year(study.limits.carbon_cap_t_per_year, years, np.inf),
                             {"units": "t", "long_name": "fleet CO2 cap per year (inf = none)"}),
            "carbon_price_usd_per_t": (("year",), _by_year(study.costs.carbon_price_usd_per_t, years, 0.0),
                                       {"units": "USD/t", "long_name": "carbon price"}),
        },
        coords={"year": years},
    )
    ds = xr.merge(
        [facility, load_ds[["load_mean_fraction", "load_peak_fraction"]], chip_vars, year_vars,
         targets, site_vars, grid_ds.assign_coords(site=site_ids), build_ds, money],
        compat="override",
        join="outer",
    )
    if keep_hourly:
        ds = ds.merge(weather_ds.assign_coords(site=site_ids)[["dry_bulb_c", "wet_bulb_c"]])
        ds["load_fraction"] = load_ds["load_fraction"]
    ds["weather_source"] = (("site",), weather_ds["weather_source"].to_numpy(),
                            {"long_name": "EPW file or 'synthetic'"})
    ds["weather_distance_km"] = weather_ds["weather_distance_km"].assign_coords(site=site_ids)
    ds = ds.assign_coords(
        site=site_ids,
        iso=("site", sites["iso"].astype(str).to_numpy()),
        state=("site", sites["state"].astype(str).to_numpy()),
        site_name=("site", sites["name"].astype(str).to_numpy()),
        lat=("site", sites.geometry.y.to_numpy(float),
             {"units": "degree", "standard_name": "latitude", "long_name": "latitude (north)"}),
        lon=("site", sites.geometry.x.to_numpy(float),
             {"units": "degree", "standard_name": "longitude", "long_name": "longitude (east)"}),
    )
    ds["year"].attrs.update({"units": "calendar_year", "long_name": "planning year"})
    limits = study.limits
    ds.attrs.update(
        {
            "study_name": study.name,
            "first_year": first,
            "last_year": study.horizon.last_year,
            "discount_rate": rate,
            "capital_cost_method": study.costs.capital,
            "facility_life_yr": study.costs.economic_life.facility_yr,
            "site_life_yr": study.costs.economic_life.site_yr,
            "interconnect_life_yr": study.costs.economic_life.interconnect_yr,
            "block_mw": limits.block_mw,
            "min_sites": limits.min_sites,
            "max_sites": limits.max_sites if limits.max_sites is not None else len(site_ids),
            "max_iso_share": limits.max_iso_share if limits.max_iso_share is not None else 1.0,
            "shortfall_penalty_usd_per_gpu": study.fleet.shortfall_penalty_usd_per_gpu or 0.0,
            "sites_limit_rule": _limit_rule(study),
        }
    )
    from dcplan.power_plan import power_inputs

    # the time-to-power levers the study turns on (nothing when none is)
    ds = ds.merge(power_inputs(study, sites, chips, ds, _state_column).assign_coords(site=site_ids))
    from dcplan.fleet_levers import lever_inputs

    ds = lever_inputs(study, ds)  # the fleet levers the study turns on (none: unchanged)
    _check_finite(ds)
    progress("inputs", {"phase": "inputs", "done": True, "detail": f"{len(site_ids)} sites"})
    return ds


def _limit_rule(study: Study) -> str:
    """How sites.catalog.limit chose its rows, for the inputs attributes."""
    ref = study.sites.catalog
    return "none" if ref is None or ref.limit is None else f"{ref.limit} by {ref.limit_by}"


def _site_variables(study: Study, sites, cooling: pd.DataFrame) -> xr.Dataset:
    from dcplan.physics import electrical

    n = len(sites)
    # redundancy: the electrical plant's share of capex scales with installed capacity;
    # backup generators' test fuel (hours within the state's permit limit) joins fixed O&M
    scheme = study.electrical.redundancy
    redundancy_mult = electrical.redundancy_capex_multiplier(scheme)
    total_h = _state_column(sites, "genset_total_h_per_yr")
    fuel = electrical.genset_fuel_usd_per_mw_yr(electrical.genset_test_hours(total_h))
    capex = (
        cooling["facility_capex_usd_per_mw"].to_numpy(float)[None, :]
        * redundancy_mult
        * study.costs.facility_capex_multiplier
        * sites.get("capex_multiplier", pd.Series(1.0, index=sites.index)).fillna(1.0).to_numpy(float)[:, None]
    )
    water_cap = sites["water_m3_per_yr"].to_numpy(float) * study.limits.water_cap_scale
    return xr.Dataset(
        {
            "co2_t_per_mwh": (("site",), sites["co2_t_per_mwh"].to_numpy(float),
                              {"units": "t/MWh", "long_name": "grid CO2e intensity"}),
            "electricity_usd_per_mwh": (("site",), sites["electricity_usd_per_mwh"].to_numpy(float),
                                        {"units": "USD/MWh", "long_name": "electricity price"}),
            "water_usd_per_m3": (("site",), sites["water_usd_per_m3"].to_numpy(float),
                                 {"units": "USD/m**3", "long_name": "water price"}),
            "water_source_l_per_kwh": (("site",), sites["water_l_per_kwh_source"].to_numpy(float),
                                       {"units": "L/kWh", "long_name": "off-site water of grid power"}),
            "land_mw": (("site",), sites["land_mw"].to_numpy(float),
                        {"units": "MW", "long_name": "IT MW the land can host"}),
            "water_cap_m3_per_yr": (("site",), water_cap,
                                    {"units": "m**3/year",
                                     "long_name": "on-site water allowance per year"}),
            "max_build_mw_per_yr": (("site",), np.full(n, study.limits.max_build_mw_per_year),
                                    {"units": "MW/year",
                                     "long_name": "IT MW commissioned per year at most"}),
            "site_open_usd": (("site",), np.full(n, study.costs.site_open_usd),
                              {"units": "USD", "long_name": "fixed cost of opening the site"}),
            "facility_capex_usd_per_mw": (("site", "cooling"), capex,
                                          {"units": "USD/MW", "long_name": "facility capex per IT MW"}),
            "fixed_om_usd_per_mw_yr": (
                ("cooling",),
                cooling["fixed_om_usd_per_mw_yr"].to_numpy(float) * redundancy_mult
                + float(np.max(fuel)),
                {"units": "USD/MW/year", "long_name": "fixed O&M per IT MW (scaled with the "
                 "redundancy scheme, plus generator test fuel)"}),
            "electrical_capex_multiplier": (
                (), redundancy_mult,
                {"units": "1", "long_name": f"facility capex of the {scheme} scheme relative to "
                 "the 2N reference"}),
            "genset_mw_per_it_mw": (
                (), electrical.genset_installed_mw_per_it_mw(scheme),
                {"units": "MW/MW", "long_name": "backup generator nameplate per IT MW"}),
            "genset_fuel_usd_per_mw_yr": (
                ("site",), np.broadcast_to(fuel, (n,)).astype(float),
                {"units": "USD/MW/year", "long_name": "generator test fuel per IT MW (hours "
                 "within the state's permit limit)"}),
        },
        coords={"cooling": list(cooling.index)},
    )


#: variables where NaN carries a meaning (not read by the optimiser)
_NAN_ALLOWED = ("weather_distance_km",)


def _state_column(sites, column: str) -> np.ndarray:
    """A column of data/regions/states.csv for each site's state (NaN where absent)."""
    if column in sites.columns:
        return sites[column].to_numpy(float)
    from dcplan import sites as site_io

    states = site_io._shipped_regions().states
    if column not in states.columns:
        return np.full(len(sites), np.nan)
    return states[column].reindex(sites["state"].astype(str).to_numpy()).to_numpy(float)


def _check_finite(ds: xr.Dataset) -> None:
    """No NaN may reach the optimiser; name the variable and the first bad labels."""
    problems = []
    for name, var in ds.data_vars.items():
        if var.dtype.kind != "f" or name in _NAN_ALLOWED:
            continue
        bad = np.isnan(var.to_numpy())
        if bad.any():
            first = dict(zip(var.dims, (int(i[0]) for i in np.nonzero(bad)), strict=True))
            labels = {d: str(ds[d].to_numpy()[i]) for d, i in first.items() if d in ds.coords}
            problems.append(Problem(f"inputs.{name}", f"{int(bad.sum())} missing values, e.g. at {labels}",
                                    "give the missing site or chip attribute in the study"))
    if problems:
        raise DataError(problems, "the study's inputs are incomplete")


def write_inputs(ds: xr.Dataset, path, *, overwrite: bool = False, protect=()) -> None:
    """Write the inputs dataset to netCDF, zlib-compressed and atomically.

    An existing file is replaced only if dcplan wrote it (a netCDF file whose
    ``written_by`` attribute is ``dcplan``), or with ``overwrite``; never a folder, link or
    device (:mod:`dcplan.atomic`).
    """
    from dcplan.atomic import write_file_atomic
    from dcplan.netcdf import ENGINE, encoding

    def write(tmp) -> None:
        out = ds.copy()
        out.attrs["written_by"] = "dcplan"
        out.to_netcdf(tmp, engine=ENGINE, encoding=encoding(out))

    write_file_atomic(path, write, overwrite=overwrite, recognise=_written_by_dcplan,
                      protect=protect)


def _written_by_dcplan(path) -> bool:
    import netCDF4

    with open(path, "rb") as handle:
        if handle.read(4) not in (b"CDF\x01", b"CDF\x02", b"\x89HDF"):
            return False
    with netCDF4.Dataset(path) as nc:
        return getattr(nc, "written_by", None) == "dcplan"
