r"""Hourly power and water of the six cooling technologies, and the Green Grid metrics.

The model is a steady-state energy balance per hour, per unit of IT heat (see
docs/physics-thermal.md for the derivation and every parameter's source):

* IT heat splits into a liquid path (share ``liquid_heat_fraction``: cold plates or
  immersion) and an air path (the rest). Each path has a supply temperature
  :math:`S` and a temperature rise :math:`\Delta T`.
* The heat sink is the outdoor dry bulb (dry coolers, air-side economiser), the wet bulb
  (cooling towers) or the leaving temperature of a direct evaporative pad
  :math:`T_{db} - \varepsilon (T_{db} - T_{wb})`. Free cooling reaches
  :math:`T_{free} = T_{sink} + \text{approach}` (plus the coil offset for air cooled from
  water). The chiller carries the share of the path's load that free cooling cannot
  (an integrated economiser): :math:`\phi = \mathrm{clip}((T_{free} - S)/\Delta T, 0, 1)`,
  and :math:`\phi = 1` without an economiser or when outdoor air is too humid for the
  ASHRAE A1 envelope (dew point > ``econ_max_dewpoint_c``).
* Chiller COP follows a constant fraction of the Carnot COP, scaled from the AHRI rating
  point: :math:`COP = COP_r \frac{T_e/(T_c - T_e)}{T_{e,r}/(T_{c,r} - T_{e,r})}`, clipped to
  [1, ``chiller_cop_max``], with :math:`T_e` the chilled-water temperature and
  :math:`T_c` the sink plus a condenser offset (kelvin).
* Mechanical power per IT power = compressors + air movers + pumps + heat-rejection fans;
  everything ends up as heat, so the plant rejects :math:`1 + \text{compressors + fans +
  pumps}` per unit IT.
* Towers evaporate ``evap_latent_fraction`` of the heat they reject at the latent heat of
  the tower water, plus blowdown for the cycles of concentration and drift; direct
  evaporative pads evaporate exactly the sensible cooling they give the supply air.

All functions are vectorised: weather is a scalar, ndarray or DataArray (any dims, e.g.
``(site, hour)``), parameters carry a ``cooling`` dim, results broadcast to
``(cooling, *weather dims)``. No per-site Python loops; only the six technologies are
looped over, in blocks of sites to bound memory.

References
----------
.. [1] The Green Grid, "PUE: a comprehensive examination of the metric", White Paper 49,
   2012; ISO/IEC 30134-2:2016 (PUE).
.. [2] Patterson, M. et al., "Water Usage Effectiveness (WUE)", The Green Grid White
   Paper 35, 2011; ISO/IEC 30134-9:2022 (WUE).
.. [3] ASHRAE TC 9.9, *Thermal Guidelines for Data Processing Environments*, 5th ed.,
   2021: A1 recommended 18-27 degC, allowable 15-32 degC, max dew point 17 degC.
.. [4] ANSI/ASHRAE/IES Standard 90.1-2019, Table 6.8.1-3 (chiller minimum efficiencies at
   AHRI 550/590 rating conditions: 6.7 degC leaving chilled water; 29.4 degC entering
   condenser water or 35 degC air).
.. [5] ASHRAE Handbook HVAC Systems and Equipment, chapters "Cooling Towers" (approach
   2-4 K to wet bulb) and "Evaporative Air-Cooling Equipment" (direct saturation
   effectiveness 70-95 %).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.physics import psychrometrics as psy
from dcplan.physics import water as h2o

__all__ = [
    "COOLING_COLUMNS",
    "as_cooling_params",
    "chiller_cop",
    "cooling_hourly",
    "cooling_annual",
    "pue",
    "annual_pue",
    "peak_pue",
    "wue",
    "pad_leaving_temperature",
    "tower_latent_fraction",
    "supply_dewpoint_excursion_hours",
]

logger = logging.getLogger(__name__)

_KELVIN = 273.15

#: numeric parameters the hourly model reads from each row of data/cooling.csv
COOLING_COLUMNS = (
    "liquid_heat_fraction", "supply_c", "delta_t_k", "approach_k", "chw_offset_k",
    "air_supply_c", "air_delta_t_k", "air_chw_offset_k", "evap_effectiveness",
    "econ_max_dewpoint_c", "chiller_cop_rated", "chiller_rated_sink_c",
    "chiller_rated_chw_c", "chiller_cond_offset_k", "chiller_cop_max", "fan_fraction",
    "pump_fraction", "rejection_fan_fraction", "evap_latent_fraction",
    "cycles_of_concentration", "drift_fraction", "tower_range_k", "supply_max_dewpoint_c",
)
#: moist-air specific heat used in the pad and coil balances [kJ/(kg K)]
_CP_AIR = 1.006
#: latent heat of water at 0 degC used with the humidity-ratio enthalpy form [kJ/kg]
_HFG0 = 2501.0
#: coil apparatus dew point above the chilled-water supply [K] (ASHRAE Handbook
#: Fundamentals ch. 1 / HVAC Systems and Equipment ch. 23: coil leaving air leaves within
#: ~1-2 K of the chilled water at design)
_COIL_ADP_K = 1.0
_TEXT_COLUMNS = ("sink", "chiller_sink")
_BOOL_COLUMNS = ("economiser",)
_SINKS = ("dry", "wet", "evap")
_CP_WATER = 4.186  # kJ/(kg K)


def as_cooling_params(params) -> xr.Dataset:
    """Normalise cooling parameters to an xr.Dataset with a ``cooling`` dim.

    Parameters
    ----------
    params : pandas.DataFrame, xarray.Dataset, pandas.Series or mapping
        A table indexed by ``cooling`` (as :func:`dcplan.catalog.read_cooling` returns),
        a Dataset with a ``cooling`` dim, or one technology's row (Series/dict of
        scalars, which gives a Dataset without the ``cooling`` dim).

    Returns
    -------
    xr.Dataset
        The numeric, text and boolean columns the model needs.

    Raises
    ------
    ValueError
        Naming every missing column or bad value and the technology it belongs to.
    """
    if isinstance(params, xr.Dataset):
        ds = params
    elif isinstance(params, pd.DataFrame):
        frame = params
        if frame.index.name != "cooling":
            if "cooling" in frame.columns:
                frame = frame.set_index("cooling")
            else:
                frame = frame.rename_axis("cooling")
        ds = xr.Dataset.from_dataframe(frame)
    elif isinstance(params, (pd.Series, Mapping)):
        ds = xr.Dataset({k: ((), v) for k, v in dict(params).items()})
    else:
        raise TypeError(f"cooling params must be a DataFrame, Dataset or mapping, got "
                        f"{type(params).__name__}")
    needed = COOLING_COLUMNS + _TEXT_COLUMNS + _BOOL_COLUMNS
    missing = [c for c in needed if c not in ds]
    if missing:
        raise ValueError(f"cooling params lack column(s) {missing}; see data/cooling.csv")
    problems = []
    for col in COOLING_COLUMNS:
        ds[col] = ds[col].astype(float)
    for col in ("sink", "chiller_sink"):
        bad = ~ds[col].isin(_SINKS if col == "sink" else ("dry", "wet"))
        if bool(bad.any()):
            problems.append(f"{col} must be one of {_SINKS}, got {_values(ds[col], bad)}")
    checks = {
        "liquid_heat_fraction": (0, 1), "delta_t_k": (0.5, 40), "air_delta_t_k": (0.5, 40),
        "approach_k": (0, 30), "evap_effectiveness": (0, 1), "chiller_cop_rated": (1, 15),
        "chiller_cop_max": (1, 30), "fan_fraction": (0, 0.5), "pump_fraction": (0, 0.5),
        "rejection_fan_fraction": (0, 0.5), "evap_latent_fraction": (0, 1),
        "drift_fraction": (0, 0.01), "tower_range_k": (1, 20),
    }
    for col, (lo, hi) in checks.items():
        bad = ~((ds[col] >= lo) & (ds[col] <= hi))
        if bool(bad.any()):
            problems.append(f"{col} must lie in [{lo}, {hi}], got {_values(ds[col], bad)}")
    bad = ~(ds["cycles_of_concentration"] > 1)
    if bool(bad.any()):
        problems.append(f"cycles_of_concentration must be > 1, got "
                        f"{_values(ds['cycles_of_concentration'], bad)}")
    if problems:
        raise ValueError("invalid cooling parameters:\n  - " + "\n  - ".join(problems))
    ds["economiser"] = ds["economiser"].astype(bool)
    return ds


def _values(da, mask):
    if "cooling" in da.dims:
        return {str(k): (v.item() if hasattr(v, "item") else v)
                for k, v in zip(da["cooling"].values[mask.values],
                                                 da.values[mask.values], strict=False)}
    return da.item()


def chiller_cop(chw_c, sink_c, cop_rated, rated_chw_c, rated_sink_c, cond_offset_k,
                cop_max):
    r"""Chiller COP at a chilled-water and sink temperature (constant Carnot fraction).

    .. math::
        COP = COP_r\,\frac{T_e / (T_c - T_e)}{T_{e,r} / (T_{c,r} - T_{e,r})},\quad
        T_c = T_{sink} + \delta_{cond}

    clipped to [1, ``cop_max``]. Temperatures in the ratio are kelvin.

    Parameters
    ----------
    chw_c : numeric
        Chilled-water (or evaporator-side) supply temperature. [degC]
    sink_c : numeric
        Condenser sink: outdoor dry bulb (air-cooled) or wet bulb (water-cooled). [degC]
    cop_rated : numeric
        COP at the rating point. [1]
    rated_chw_c, rated_sink_c : numeric
        Rating point: 6.7 degC chilled water; 35 degC air or 23.9 degC wet bulb. [degC]
    cond_offset_k : numeric
        Condensing temperature above the sink. [K]
    cop_max : numeric
        Cap for low-lift hours. [1]

    Returns
    -------
    cop : numeric
        [1]

    References
    ----------
    .. [1] ASHRAE 90.1-2019 Table 6.8.1-3 (rated COPs at AHRI 550/590 conditions).
    """
    sink = np.asarray(sink_c)
    dt = np.float32 if sink.dtype == np.float32 else np.float64  # keep float32 fast path
    te = np.asarray(chw_c, dtype=dt) + dt(_KELVIN)
    tc = np.asarray(sink, dtype=dt) + dt(cond_offset_k + _KELVIN)
    ter = rated_chw_c + _KELVIN
    tcr = rated_sink_c + cond_offset_k + _KELVIN
    lift = np.maximum(tc - te, 1e-3)
    cop = te / lift * dt(cop_rated / (ter / (tcr - ter)))
    out = np.clip(cop, dt(1.0), dt(cop_max))
    return float(out) if np.ndim(out) == 0 else out


def pad_leaving_temperature(dry_bulb_c, wet_bulb_c, pressure_pa, effectiveness,
                            max_dewpoint_c=np.nan):
    r"""Air temperature leaving a direct evaporative pad, throttled to a dew-point limit.

    The pad is adiabatic (constant wet bulb): cooling the air by :math:`\Delta T` adds
    :math:`\Delta w = c_p \Delta T / h_{fg}` of moisture. Full effectiveness gives
    :math:`T_{db} - arepsilon (T_{db} - T_{wb})`; a pad throttled (bypass or staged
    media) to hold the supply dew point at ``max_dewpoint_c`` cools at most
    :math:`\Delta T_{max} = (w_{lim} - w_{out})\,h_{fg}/c_p`, and not at all when the
    outdoor air is already above the limit.

    Parameters
    ----------
    dry_bulb_c, wet_bulb_c : numeric
        Outdoor air. [degC]
    pressure_pa : numeric
        Barometric pressure. [Pa]
    effectiveness : float
        Saturation effectiveness of the pad, 0-1. [1]
    max_dewpoint_c : float, default NaN (no limit)
        Supply-air dew-point limit, e.g. 17 degC for ASHRAE class A1 (allowable). [degC]

    Returns
    -------
    leaving_c : numeric
        [degC]
    w_out : numeric
        Outdoor humidity ratio. [kg/kg]

    References
    ----------
    .. [1] ASHRAE Handbook HVAC Systems and Equipment, ch. "Evaporative Air-Cooling
       Equipment" (direct evaporative cooling follows the wet-bulb line).
    .. [2] ASHRAE TC 9.9, *Thermal Guidelines*, 5th ed. (2021): A1 allowable dew point
       <= 17 degC.
    """
    tdb = np.asarray(dry_bulb_c)
    twb = np.asarray(wet_bulb_c)
    p = np.asarray(pressure_pa, dtype=float)
    leaving = tdb - effectiveness * (tdb - twb)
    w_out = psy._w_from_twb(tdb.astype(float), twb.astype(float), p)
    if np.isfinite(max_dewpoint_c):
        w_lim = psy._ws(np.asarray(max_dewpoint_c, dtype=float), p)
        dt_max = np.maximum(w_lim - w_out, 0.0) * _HFG0 / _CP_AIR
        leaving = np.maximum(leaving, tdb - dt_max)
    return leaving.astype(tdb.dtype, copy=False), w_out


def tower_latent_fraction(dry_bulb_c, wet_bulb_c, pressure_pa, water_c):
    r"""Share of a wet tower's heat rejection that leaves by evaporation (Merkel).

    Merkel's model takes the air leaving the fill as saturated at the water temperature;
    the heat the air picks up then splits into sensible :math:`c_p (T_w - T_{db})` and
    latent :math:`(w_s(T_w) - w_{out})\,h_{fg}` parts. In cold, dry air more of the heat
    leaves sensibly (about 50 % near 0 degC); in hot air the latent share reaches 1 (the
    air is cooled while it is humidified).

    .. math:: f_{lat} = \mathrm{clip}\!\left(rac{(w_s(T_w) - w_{out}) h_{fg}}
              {h_s(T_w) - h_{out}}, 0, 1
ight)

    Parameters
    ----------
    dry_bulb_c, wet_bulb_c : numeric
        Outdoor air. [degC]
    pressure_pa : numeric
        [Pa]
    water_c : numeric
        Mean water temperature in the fill (wet bulb + approach + range / 2). [degC]

    Returns
    -------
    fraction : numeric
        [1]

    References
    ----------
    .. [1] Merkel, F., "Verdunstungskühlung", VDI-Forschungsarbeiten 275, 1925; ASHRAE
       Handbook HVAC Systems and Equipment, ch. "Cooling Towers" (Merkel theory; exit air
       close to saturation).
    .. [2] Kröger, D. G., *Air-Cooled Heat Exchangers and Cooling Towers*, PennWell, 2004,
       ch. 6 (evaporation share of heat rejected falls in cold dry weather).
    """
    tdb = np.asarray(dry_bulb_c, dtype=float)
    twb = np.asarray(wet_bulb_c, dtype=float)
    p = np.asarray(pressure_pa, dtype=float)
    tw = np.maximum(np.asarray(water_c, dtype=float), twb + 0.5)
    w_in = psy._w_from_twb(tdb, twb, p)
    w_ex = psy._ws(tw, p)
    latent = np.maximum(w_ex - w_in, 0.0) * (_HFG0 + 1.86 * tw)
    sensible = _CP_AIR * (tw - tdb)
    total = np.maximum(latent + sensible, 1e-9)
    return np.clip(latent / total, 0.0, 1.0)


def _tech_kernel(p, tdb, twb, humid, liquid_fraction, pressure=101325.0):
    """Hourly (mech fraction, water L/kWh IT) for one technology; ndarrays broadcast."""
    dtype = tdb.dtype
    sink = p["sink"]
    w_out = None
    if sink == "dry":
        t_sink = tdb
    elif sink == "wet":
        t_sink = twb
    else:  # direct evaporative pad, throttled to the supply dew-point limit
        t_sink, w_out = pad_leaving_temperature(tdb, twb, pressure, p["evap_effectiveness"],
                                                p["supply_max_dewpoint_c"])
    t_chiller_sink = tdb if p["chiller_sink"] == "dry" else twb
    air_side = sink in ("dry", "evap") and np.isfinite(p["econ_max_dewpoint_c"])
    lf = liquid_fraction
    paths = (
        # share, supply, dT, free-cooling temperature, chilled-water temperature
        (lf, p["supply_c"], p["delta_t_k"], t_sink + p["approach_k"],
         p["supply_c"] - p["chw_offset_k"]),
        (1.0 - lf, p["air_supply_c"], p["air_delta_t_k"],
         t_sink + p["approach_k"] + (0.0 if lf == 0 else p["air_chw_offset_k"]),
         p["air_supply_c"] - (p["chw_offset_k"] if lf == 0 else p["air_chw_offset_k"])),
    )
    compressor = np.zeros(np.broadcast_shapes(tdb.shape, twb.shape), dtype=dtype)
    evap_cooling = np.zeros_like(compressor)
    for share, supply, dt, t_free, chw in paths:
        if share <= 0:
            continue
        if p["economiser"]:
            phi = np.clip((t_free - supply) / dt, 0.0, 1.0)
            if air_side and humid is not None:
                # outdoor air above the A1 dew point cannot be brought in: chiller only
                phi = np.where(humid, 1.0, phi)
        else:
            phi = np.ones_like(compressor)
        cop = chiller_cop(chw, t_chiller_sink, p["chiller_cop_rated"],
                          p["chiller_rated_chw_c"], p["chiller_rated_sink_c"],
                          p["chiller_cond_offset_k"], p["chiller_cop_max"])
        compressor = compressor + share * phi / cop
        if sink == "evap" and p["economiser"] and share > 0:
            # latent load: the trim coil condenses what the air carries above its
            # apparatus dew point (chilled water + 1 K) whenever it runs on outdoor air
            leaving = np.maximum(t_sink, supply - p["approach_k"])
            w_coil = w_out + _CP_AIR * np.clip(tdb - leaving, 0.0, None) / _HFG0
            w_adp = psy._ws(np.asarray(chw + _COIL_ADP_K, dtype=float), pressure)
            latent = np.maximum(w_coil - w_adp, 0.0) * _HFG0 / (_CP_AIR * dt)
            if humid is not None:
                latent = np.where(humid, 0.0, latent)
            compressor = compressor + share * np.where(phi > 0, latent, 0.0) / cop
        if sink == "evap" and p["economiser"]:
            # the pad cools outdoor air from tdb to at most the supply setpoint; the water
            # evaporated equals that sensible cooling, per unit of the air's IT heat pickup
            leaving = np.maximum(t_sink, supply - p["approach_k"])
            cooled = np.clip(tdb - leaving, 0.0, None) / dt
            if humid is not None:
                cooled = np.where(humid, 0.0, cooled)
            evap_cooling = evap_cooling + share * cooled
    fans = p["fan_fraction"] * (1.0 - lf)
    pumps = p["pump_fraction"]
    heat = 1.0 + compressor + fans + pumps
    rejection = p["rejection_fan_fraction"] * heat
    mech = compressor + fans + pumps + rejection

    n = p["cycles_of_concentration"]
    if sink == "wet":
        t_water = np.clip(twb + p["approach_k"], 0.0, 60.0)
        share_latent = np.minimum(
            tower_latent_fraction(tdb, twb, pressure, t_water + p["tower_range_k"] / 2.0),
            p["evap_latent_fraction"])
        evap = heat * share_latent * h2o.evaporation_l_per_kwh(t_water)
        circulating = heat * 3600.0 / (_CP_WATER * p["tower_range_k"])  # kg/kWh IT
        water = h2o.makeup_water(evap, n, p["drift_fraction"] * circulating)
    elif sink == "evap":
        t_water = np.clip(twb, 0.0, 60.0)
        evap = evap_cooling * p["evap_latent_fraction"] * h2o.evaporation_l_per_kwh(t_water)
        water = h2o.makeup_water(evap, n)
    else:
        water = np.zeros_like(compressor)
    return mech.astype(dtype, copy=False), np.asarray(water, dtype=dtype)


def _tech_rows(ds):
    """Split a params Dataset into (cooling ids, per-technology dicts of scalars)."""
    cols = COOLING_COLUMNS + _TEXT_COLUMNS + _BOOL_COLUMNS
    if "cooling" not in ds.dims:
        return None, [{c: ds[c].item() for c in cols}]
    ids = [str(c) for c in ds["cooling"].values]
    rows = [{c: ds[c].sel(cooling=i).item() for c in cols} for i in ds["cooling"].values]
    return ids, rows


def _liquid_fractions(ids, rows, liquid_heat_fraction):
    if liquid_heat_fraction is None:
        return [r["liquid_heat_fraction"] for r in rows]
    if isinstance(liquid_heat_fraction, xr.DataArray) and "cooling" in liquid_heat_fraction.dims:
        vals = [float(liquid_heat_fraction.sel(cooling=i)) for i in ids]
    elif isinstance(liquid_heat_fraction, Mapping):
        vals = [float(liquid_heat_fraction.get(i, r["liquid_heat_fraction"]))
                for i, r in zip(ids or [None], rows, strict=False)]
    else:
        vals = [float(liquid_heat_fraction)] * len(rows)
    for v in vals:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"liquid_heat_fraction must lie in [0, 1], got {v}")
    # a technology without a liquid path cannot take liquid heat
    return [v if r["liquid_heat_fraction"] > 0 else 0.0 for v, r in zip(vals, rows, strict=False)]


def _humid_mask(tdb, twb, pressure, rows):
    limits = {r["econ_max_dewpoint_c"] for r in rows if np.isfinite(r["econ_max_dewpoint_c"])}
    if not limits:
        return {}
    w_out = psy._w_from_twb(tdb.astype(float), twb.astype(float), pressure)
    out = {}
    for lim in limits:
        pws = psy._pws(np.asarray(lim, dtype=float))
        out[lim] = w_out > psy.EPSILON * pws / (pressure - pws)
    return out


def _check_weather(tdb, twb):
    if np.any(~np.isfinite(tdb)) or np.any(~np.isfinite(twb)):
        raise ValueError("dry_bulb_c and wet_bulb_c must be finite (fill gaps first)")
    if np.any(tdb < -80) or np.any(tdb > 65):
        raise ValueError(f"dry_bulb_c outside [-80, 65] degC: min {tdb.min():g}, "
                         f"max {tdb.max():g}")
    excess = twb - tdb
    if np.any(excess > 0.05):
        raise ValueError(f"wet_bulb_c exceeds dry_bulb_c by up to {excess.max():.3g} K; "
                         "a wet bulb cannot be above the dry bulb")


def _hourly_numpy(rows, lfs, tdb, twb, pressure):
    tdb, twb = np.broadcast_arrays(tdb, twb)
    _check_weather(tdb, twb)
    twb = np.minimum(twb, tdb)
    humid = _humid_mask(tdb, twb, pressure, rows)
    mechs, waters = [], []
    for p, lf in zip(rows, lfs, strict=False):
        m, w = _tech_kernel(p, tdb, twb, humid.get(p["econ_max_dewpoint_c"]), lf, pressure)
        mechs.append(np.broadcast_to(m, tdb.shape))
        waters.append(np.broadcast_to(w, tdb.shape))
    return np.stack(mechs), np.stack(waters)


def cooling_hourly(params, dry_bulb_c, wet_bulb_c, *, pressure_pa=101325.0,
                   liquid_heat_fraction=None):
    """Hourly mechanical power and on-site water per unit IT, for every technology.

    Parameters
    ----------
    params : DataFrame, Dataset or mapping
        Rows of data/cooling.csv (see :func:`as_cooling_params`). With a ``cooling`` dim
        all technologies are computed at once.
    dry_bulb_c : numeric
        Outdoor dry-bulb temperature, e.g. dims ``(site, hour)``. [degC]
    wet_bulb_c : numeric
        Outdoor thermodynamic wet bulb, same shape or broadcastable. [degC]
    pressure_pa : numeric, default 101325
        Barometric pressure (for the economiser humidity limit). [Pa]
    liquid_heat_fraction : float, mapping or DataArray over ``cooling``, optional
        Share of IT heat captured by liquid (chip profile); defaults to the table's.
        Ignored for technologies without a liquid path.

    Returns
    -------
    mech_fraction : numeric
        Cooling electrical power per unit IT power (compressors, fans, pumps). [1]
    water_l_per_kwh_it : numeric
        On-site water consumed (make-up) per kWh of IT energy. [L/kWh]

    Both have dims ``("cooling", *weather dims)`` when ``params`` has a ``cooling`` dim,
    else the weather's shape. float32 weather gives float32 results.

    References
    ----------
    See the module docstring.
    """
    ds = as_cooling_params(params)
    ids, rows = _tech_rows(ds)
    lfs = _liquid_fractions(ids, rows, liquid_heat_fraction)
    if any(isinstance(a, xr.DataArray) for a in (dry_bulb_c, wet_bulb_c, pressure_pa)):
        dry, wet, pres = xr.broadcast(*(a if isinstance(a, xr.DataArray) else xr.DataArray(a)
                                         for a in (dry_bulb_c, wet_bulb_c, pressure_pa)))
        dry, wet = xr.broadcast(dry, wet)
        pres = pres.broadcast_like(dry).transpose(*dry.dims)
        wet = wet.transpose(*dry.dims)
        mech, water = _hourly_numpy(rows, lfs, _float(dry.values), _float(wet.values),
                                    pres.values.astype(float))
        dims = dry.dims
        coords = dict(dry.coords)
        if ids is None:
            mech, water = mech[0], water[0]
        else:
            dims = ("cooling",) + dims
            coords["cooling"] = ids
        mech = xr.DataArray(mech, dims=dims, coords=coords,
                            attrs={"units": "1", "long_name": "cooling power per IT power"})
        water = xr.DataArray(water, dims=dims, coords=coords,
                             attrs={"units": "L/kWh", "long_name": "on-site water per IT kWh"})
        return mech, water
    tdb, twb = _float(dry_bulb_c), _float(wet_bulb_c)
    pres = np.asarray(pressure_pa, dtype=float)
    mech, water = _hourly_numpy(rows, lfs, tdb, twb, pres)
    if ids is None:
        mech, water = mech[0], water[0]
    if mech.ndim == 0:
        return float(mech), float(water)
    return mech, water


def _float(a):
    a = np.asarray(a)
    return a if a.dtype in (np.float32, np.float64) else a.astype(float)


def cooling_annual(params, dry_bulb_c, wet_bulb_c, *, pressure_pa=101325.0,
                   it_load=None, electrical_loss_fraction=0.0, other_fraction=0.0,
                   liquid_heat_fraction=None, dim="hour", block=64):
    """Annual PUE, design-hour PUE and site WUE for every (site, technology).

    Computes :func:`cooling_hourly` in blocks along the first non-``dim`` dimension (so a
    1,000-site x 6 x 8,760 h run never holds the full 3-D array) and reduces over hours.

    Parameters
    ----------
    params : DataFrame, Dataset or mapping
        data/cooling.csv rows.
    dry_bulb_c, wet_bulb_c : xarray.DataArray
        Hourly weather with dims e.g. ``(site, hour)``. [degC]
    pressure_pa : numeric or DataArray, default 101325
        Barometric pressure per site. [Pa]
    it_load : DataArray over ``dim``, optional
        IT load profile (any scale); weights the hours. Default: flat.
    electrical_loss_fraction : numeric or DataArray, default 0
        Electrical-chain losses per unit IT (transformers, UPS, PDUs). [1]
    other_fraction : numeric or DataArray, default 0
        Lighting, offices and other loads per unit IT. [1]
    liquid_heat_fraction : optional
        As in :func:`cooling_hourly`.
    dim : str, default "hour"
        The time dimension.
    block : int, default 64
        Sites per block.

    Returns
    -------
    xr.Dataset
        ``pue_annual``, ``pue_peak``, ``wue_l_per_kwh`` (site WUE) and
        ``mech_fraction_mean`` with dims ``(site, cooling)``.

    References
    ----------
    .. [1] The Green Grid WP 49 (PUE); The Green Grid WP 35 and ISO/IEC 30134-9 (WUE).
    """
    dry, wet = xr.broadcast(dry_bulb_c, wet_bulb_c)
    if dim not in dry.dims:
        raise ValueError(f"weather has no {dim!r} dim (dims: {dry.dims})")
    others = [d for d in dry.dims if d != dim]
    dry = dry.transpose(*others, dim)
    wet = wet.transpose(*others, dim)
    load = xr.ones_like(dry.isel({dim: 0}, drop=True)).expand_dims({dim: dry.sizes[dim]}) \
        if it_load is None else it_load
    if bool((load < 0).any()) or not bool((load.sum(dim) > 0).all()):
        raise ValueError("it_load must be >= 0 with a positive total")
    pieces = []
    lead = others[0] if others else None
    n = dry.sizes[lead] if lead else 1
    for start in range(0, n, block):
        sel = {lead: slice(start, start + block)} if lead else {}
        d, w = dry.isel(sel), wet.isel(sel)
        pres = pressure_pa.isel(sel) if (isinstance(pressure_pa, xr.DataArray)
                                          and lead in pressure_pa.dims) else pressure_pa
        mech, water = cooling_hourly(params, d, w, pressure_pa=pres,
                                     liquid_heat_fraction=liquid_heat_fraction)
        # reduce with numpy over the last (hour) axis; sums accumulate in float64
        elec = _per_site(_sel(electrical_loss_fraction, sel), mech)
        other = _per_site(_sel(other_fraction, sel), mech)
        it = load.isel(sel) if (isinstance(load, xr.DataArray) and lead in load.dims) else load
        it_np = np.asarray(it.transpose(*[x for x in mech.dims if x in it.dims]).values
                           if isinstance(it, xr.DataArray) else it, dtype=np.float64)
        m, wv = mech.values, water.values
        it_total = it_np.sum(axis=-1)
        mech_mean = np.einsum("...h,...h->...", m, np.broadcast_to(it_np, m.shape),
                              dtype=np.float64) / it_total
        water_mean = np.einsum("...h,...h->...", wv, np.broadcast_to(it_np, wv.shape),
                               dtype=np.float64) / it_total
        facility = np.broadcast_to(it_np, m.shape) * (1.0 + m.astype(np.float64) + elec + other)
        k = facility.argmax(axis=-1)[..., None]
        peak = (np.take_along_axis(facility, k, -1)
                / np.take_along_axis(np.broadcast_to(it_np, m.shape), k, -1))[..., 0]
        dims = mech.dims[:-1]
        coords = {c: mech.coords[c] for c in dims if c in mech.coords}
        pieces.append(xr.Dataset({
            "pue_annual": (dims, 1.0 + mech_mean + elec[..., 0] + other[..., 0]),
            "pue_peak": (dims, peak),
            "wue_l_per_kwh": (dims, water_mean),
            "mech_fraction_mean": (dims, mech_mean),
        }, coords=coords))
    out = xr.concat(pieces, dim=lead) if lead else pieces[0]
    out = out.astype(float)
    out["pue_annual"].attrs = {"units": "1", "long_name": "annual PUE (The Green Grid)"}
    out["pue_peak"].attrs = {"units": "1", "long_name": "PUE at the peak facility hour"}
    out["wue_l_per_kwh"].attrs = {"units": "L/kWh", "long_name": "site WUE"}
    out["mech_fraction_mean"].attrs = {"units": "1", "long_name": "mean cooling power / IT"}
    return out


def _per_site(value, mech):
    """Electrical/other fraction as a float64 array broadcastable to mech (..., hour)."""
    if isinstance(value, xr.DataArray):
        dims = [d for d in mech.dims if d in value.dims]
        arr = value.transpose(*dims).values.astype(float)
        shape = [mech.sizes[d] if d in value.dims else 1 for d in mech.dims[:-1]]
        return arr.reshape(shape + [1])
    arr = np.asarray(value, dtype=float)
    if arr.ndim:
        raise ValueError("electrical_loss_fraction/other_fraction must be scalars or "
                         "DataArrays with named dims")
    return np.full([1] * mech.ndim, float(arr))


def _sel(value, sel):
    if isinstance(value, xr.DataArray) and sel and next(iter(sel)) in value.dims:
        return value.isel(sel)
    return value


def _num(x):
    return x if isinstance(x, xr.DataArray) else np.asarray(x, dtype=float)


def _ret(x):
    return float(x) if not isinstance(x, xr.DataArray) and np.ndim(x) == 0 else x


def pue(it, mechanical, electrical_losses=0.0, other=0.0):
    r"""Power Usage Effectiveness: total facility power (or energy) over IT.

    .. math:: PUE = (IT + P_{mech} + P_{elec} + P_{other}) / IT

    Parameters
    ----------
    it : numeric
        IT power or energy, > 0. [kW] or [kWh]
    mechanical : numeric
        Cooling power or energy, same unit. [kW] or [kWh]
    electrical_losses : numeric, default 0
        Electrical-chain losses, same unit.
    other : numeric, default 0
        Lighting, offices and other loads, same unit.

    Returns
    -------
    pue : numeric
        >= 1. [1]

    References
    ----------
    .. [1] The Green Grid, White Paper 49, 2012; ISO/IEC 30134-2:2016.
    """
    it = _num(it)
    if np.any(np.asarray(it) <= 0):
        raise ValueError("IT power/energy must be > 0 for PUE")
    for name, v in (("mechanical", mechanical), ("electrical_losses", electrical_losses),
                    ("other", other)):
        if np.any(np.asarray(v) < 0):
            raise ValueError(f"{name} must be >= 0")
    return _ret((it + _num(mechanical) + _num(electrical_losses) + _num(other)) / it)


def annual_pue(it_series, facility_series, dim="hour"):
    """PUE over a period: total facility energy / total IT energy (The Green Grid).

    Hourly powers summed over ``dim`` (or the last axis for arrays). Not the mean of
    hourly PUEs, which over-weights light-load hours.

    Parameters
    ----------
    it_series : numeric
        Hourly IT power or energy. [kW] or [kWh]
    facility_series : numeric
        Hourly total facility power or energy, >= IT. [kW] or [kWh]
    dim : str, default "hour"
        Time dimension of DataArrays.

    Returns
    -------
    pue : numeric
        [1]

    References
    ----------
    .. [1] The Green Grid, White Paper 49, 2012 ("annual PUE" from energy totals).
    """
    if isinstance(it_series, xr.DataArray) or isinstance(facility_series, xr.DataArray):
        it_total = it_series.sum(dim)
        fac_total = facility_series.sum(dim)
    else:
        it_total = np.asarray(it_series, dtype=float).sum(axis=-1)
        fac_total = np.asarray(facility_series, dtype=float).sum(axis=-1)
    if np.any(np.asarray(it_total) <= 0):
        raise ValueError("total IT energy must be > 0")
    if np.any(np.asarray(fac_total) < np.asarray(it_total) * (1 - 1e-9)):
        raise ValueError("facility energy is below IT energy: PUE < 1 is impossible")
    return _ret(fac_total / it_total)


def peak_pue(it_series, facility_series, dim="hour"):
    """Facility / IT at the hour of peak facility power (the design hour). [1]

    Parameters as :func:`annual_pue`. This is what the grid connection must carry per
    unit of IT, so it sets interconnect sizing.
    """
    if isinstance(it_series, xr.DataArray) or isinstance(facility_series, xr.DataArray):
        fac, it = xr.broadcast(facility_series, it_series)
        idx = fac.argmax(dim)
        return fac.isel({dim: idx}) / it.isel({dim: idx})
    fac = np.asarray(facility_series, dtype=float)
    it = np.broadcast_to(np.asarray(it_series, dtype=float), fac.shape)
    idx = np.expand_dims(fac.argmax(axis=-1), -1)
    return _ret(np.take_along_axis(fac, idx, -1)[..., 0] / np.take_along_axis(it, idx, -1)[..., 0])


def wue(site_water_l, it_energy_kwh):
    """Water Usage Effectiveness (site): annual on-site water over IT energy.

    Parameters
    ----------
    site_water_l : numeric
        Water used on site for cooling, humidification and on-site generation. [L]
    it_energy_kwh : numeric
        IT equipment energy over the same period, > 0. [kWh]

    Returns
    -------
    wue : numeric
        [L/kWh]

    References
    ----------
    .. [1] Patterson et al., The Green Grid White Paper 35, 2011; ISO/IEC 30134-9:2022.
    """
    if np.any(np.asarray(it_energy_kwh) <= 0):
        raise ValueError("IT energy must be > 0 for WUE")
    if np.any(np.asarray(site_water_l) < 0):
        raise ValueError("site water must be >= 0")
    return _ret(_num(site_water_l) / _num(it_energy_kwh))


def supply_dewpoint_excursion_hours(params, dry_bulb_c, wet_bulb_c, *, pressure_pa=101325.0,
                                    limit_c=17.0):
    """Hours a year the supply air of an evaporative air technology exceeds a dew-point limit.

    Counts, per technology with a direct evaporative pad and an economiser, the hours in
    which outdoor air is used (outdoor dew point at or below ``econ_max_dewpoint_c``) and
    the air leaving the pad carries more moisture than ``limit_c`` allows. With the pad
    throttled to ``supply_max_dewpoint_c`` = 17 degC (ASHRAE A1) this is 0; set that
    column to NaN to see an unthrottled pad's excursions.

    Parameters
    ----------
    params : DataFrame or Dataset
        data/cooling.csv rows.
    dry_bulb_c, wet_bulb_c : array_like
        (site, hour) outdoor weather. [degC]
    pressure_pa : numeric or (site, 1) array
        [Pa]
    limit_c : float, default 17
        ASHRAE A1 allowable dew point. [degC]

    Returns
    -------
    numpy.ndarray
        (cooling, site) hours; 0 for technologies without a pad. [h]
    """
    ds = as_cooling_params(params)
    ids, rows = _tech_rows(ds)
    tdb = np.atleast_2d(np.asarray(dry_bulb_c, dtype=float))
    twb = np.minimum(np.atleast_2d(np.asarray(wet_bulb_c, dtype=float)), tdb)
    pres = np.asarray(pressure_pa, dtype=float)
    if pres.ndim == 1:
        pres = pres[:, None]
    out = np.zeros((len(rows), tdb.shape[0]))
    w_lim = psy._ws(np.asarray(limit_c, dtype=float), pres)
    for k, p in enumerate(rows):
        if p["sink"] != "evap" or not p["economiser"]:
            continue
        leaving, w_out = pad_leaving_temperature(tdb, twb, pres, p["evap_effectiveness"],
                                                 p["supply_max_dewpoint_c"])
        leaving = np.maximum(leaving, p["air_supply_c"] - p["approach_k"])
        w_supply = w_out + _CP_AIR * np.clip(tdb - leaving, 0.0, None) / _HFG0
        outdoor_ok = w_out <= psy._ws(np.asarray(p["econ_max_dewpoint_c"], dtype=float), pres)
        out[k] = ((w_supply > w_lim * (1 + 1e-6)) & outdoor_ok).sum(axis=-1)
    return out
