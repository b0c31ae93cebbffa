r"""Hourly weather for the cooling model: EPW files, station tables and synthetic years.

* :func:`read_epw` reads an EnergyPlus weather file (TMY/TMYx) into an hourly Dataset.
* The station table itself is built from the climate.onebuilding.org index by
  :func:`dcplan.databuild.stations.read_onebuilding_stations` (``scripts/build_climate_table.py``).
* :func:`synthetic_year` builds a deterministic *synthetic typical year* per site from the
  station statistics alone. It is an approximation for screening many sites; a real EPW
  or TMY file for the site is better and should be used when available.

The synthetic year (see docs/physics-thermal.md):

.. math::
    T(d, h) = T_m + A_s \cos\theta_d + A_d(\theta_d) \cos\frac{2\pi (h - 15)}{24},\quad
    \theta_d = 2\pi (d + 0.5 - d_{peak}) / 365

with :math:`T_m, A_s` fitted so that the degree days of the daily means equal the
station's HDD18 and CDD10 exactly (closed form for a sinusoid), and the diurnal half
amplitude :math:`A_d` interpolated between a summer value that reproduces the 0.4 %
cooling design dry bulb and a winter value that reproduces the 99.6 % heating design dry
bulb. The dew point of each day is the day's minimum temperature less a depression set
by the ASHRAE 169 moisture class (FAO-56 practice: about 0 K in humid climates, more in
arid ones), and the wet bulb follows from the ASHRAE psychrometric equation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.errors import DataError, Problem
from dcplan.physics import psychrometrics as psy

__all__ = [
    "read_epw",
    "fit_annual_cycle",
    "synthetic_year",
    "synthetic_year_from_table",
    "HOURS",
]

logger = logging.getLogger(__name__)

HOURS = 8760
#: day of year (0-based) of the warmest daily mean in the northern hemisphere (about
#: July 20, NOAA 1991-2020 normals for most US stations)
PEAK_DAY = 201.0
#: hour of the diurnal maximum (mid-afternoon, local standard time)
PEAK_HOUR = 15.0
#: diurnal half-amplitude bounds [K]: observed US daily ranges are ~4-25 K
DIURNAL_BOUNDS = (1.0, 12.0)
#: fallback diurnal half-amplitude by moisture class when the design data cannot fix it [K]
DIURNAL_DEFAULT = {"A": 5.0, "B": 7.5, "C": 4.0, "": 5.0}
#: dew-point depression below the daily minimum temperature, K = a + b * max(Tmin, 0),
#: by ASHRAE 169 moisture class (A humid, B dry, C marine, "" zones 7-8); see docs
DEWPOINT_DEPRESSION = {"A": (1.0, 0.0), "B": (2.0, 0.45), "C": (2.0, 0.0), "": (1.0, 0.0)}
#: ceiling of the daily dew point by moisture class [degC], about the 0.4 % dehumidification
#: dew points of humid Gulf (A: ~24), monsoon desert (B: ~20) and marine (C: ~16) stations
DEWPOINT_MAX = {"A": 24.0, "B": 20.0, "C": 16.0, "": 20.0}
#: fraction of the year above the 0.4 % design value, and the resulting offset factor of
#: the design value below the peak of two crossed cosines: delta = 0.008 pi sqrt(As Ad)
_DESIGN_K = 0.004 * 2.0 * np.pi

# ----------------------------------------------------------------------------- EPW

_EPW_COLUMNS = {6: "temp_air_c", 7: "dewpoint_c", 8: "relative_humidity", 9: "pressure_pa"}
_EPW_MISSING = {6: 99.9, 7: 99.9, 8: 999.0, 9: 999999.0}
_EPW_RANGES = {6: (-70.0, 70.0), 7: (-70.0, 70.0), 8: (0.0, 110.0), 9: (31000.0, 120000.0)}


def read_epw(path):
    """Read an EnergyPlus Weather (EPW) file into an hourly Dataset.

    Parameters
    ----------
    path : str or Path
        The ``.epw`` file (8 header lines, then 8,760 or 8,784 hourly records of 35
        comma-separated fields).

    Returns
    -------
    xr.Dataset
        Dims ``hour`` (0..8759; Feb 29 dropped from leap years) with ``temp_air_c``
        [degC], ``dewpoint_c`` [degC], ``relative_humidity`` [fraction 0-1],
        ``pressure_pa`` [Pa] and ``wet_bulb_c`` [degC] computed with the ASHRAE
        psychrometric equation; attrs ``station``, ``state``, ``country``,
        ``station_id`` (WMO), ``lat``, ``lon``, ``tz``, ``elevation_m``, ``source_file``.

    Raises
    ------
    DataError
        For a missing file, a malformed LOCATION line, records with the wrong number of
        fields or non-numeric values, missing-value codes or out-of-range values; each
        problem names the file and line number.

    References
    ----------
    .. [1] U.S. DOE, *EnergyPlus Auxiliary Programs*, "Weather Converter Program: EnergyPlus
       Weather File (EPW) Data Dictionary".
    """
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "EPW file not found",
                                 "give the path of an .epw file (e.g. from climate.onebuilding.org)")])
    with open(path, encoding="latin-1") as fh:
        lines = fh.read().splitlines()
    problems: list[Problem] = []
    if not lines or not lines[0].upper().startswith("LOCATION"):
        raise DataError([Problem(f"{path}:1", "first line is not an EPW LOCATION record",
                                 "check that this is an EnergyPlus .epw file")])
    loc = [s.strip() for s in lines[0].split(",")]
    if len(loc) < 10:
        raise DataError([Problem(f"{path}:1", f"LOCATION has {len(loc)} fields, expected 10",
                                 "LOCATION,city,state,country,source,WMO,lat,lon,tz,elevation")])
    try:
        lat, lon, tz, elev = (float(v) for v in loc[6:10])
    except ValueError:
        raise DataError([Problem(f"{path}:1", f"non-numeric lat/lon/tz/elevation {loc[6:10]}",
                                 "fix the LOCATION line")]) from None
    data_lines = lines[8:]
    while data_lines and not data_lines[-1].strip():
        data_lines.pop()
    rows = []
    for i, line in enumerate(data_lines):
        fields = line.split(",")
        lineno = i + 9
        if len(fields) < 10:
            problems.append(Problem(f"{path}:{lineno}",
                                    f"record has {len(fields)} fields, expected 35",
                                    "repair or re-download the file"))
            continue
        try:
            rows.append([float(fields[k]) for k in (1, 2, 3, 6, 7, 8, 9)])
        except ValueError:
            problems.append(Problem(f"{path}:{lineno}",
                                    f"non-numeric value in {fields[1:10]}",
                                    "repair or re-download the file"))
        if len(problems) >= 10:
            break
    if problems:
        raise DataError(problems)
    arr = np.asarray(rows, dtype=float).reshape(-1, 7)
    if arr.shape[0] not in (8760, 8784):
        raise DataError([Problem(str(path), f"{arr.shape[0]} hourly records, expected 8760 "
                                 "(or 8784 for a leap year)", "use a full-year EPW file")])
    month, day = arr[:, 0], arr[:, 1]
    lineno = np.arange(arr.shape[0]) + 9
    if arr.shape[0] == 8784:
        keep = ~((month == 2) & (day == 29))
        arr, lineno = arr[keep], lineno[keep]
        if arr.shape[0] != 8760:
            raise DataError([Problem(str(path), "8784 records but no Feb 29 to drop",
                                     "check the month/day columns")])
    values = {}
    for col, (epw_field, name) in enumerate(_EPW_COLUMNS.items(), start=3):
        v = arr[:, col]
        missing = v >= _EPW_MISSING[epw_field]
        lo, hi = _EPW_RANGES[epw_field]
        bad = missing | (v < lo) | (v > hi)
        if epw_field == 9:
            # station pressure may be missing in some files: fall back to the elevation
            if bad.all():
                v = np.full_like(v, psy.pressure_from_elevation(elev))
                bad = np.zeros_like(bad)
        if epw_field == 7 and bad.any():
            continue  # dew point can be recovered from RH below
        if bad.any():
            first = np.flatnonzero(bad)[:5]
            problems.append(Problem(
                f"{path}:{','.join(str(lineno[i]) for i in first)}",
                f"{name} missing or out of [{lo}, {hi}] in {int(bad.sum())} record(s), "
                f"e.g. {v[first[0]]}", "fill the gaps (e.g. interpolate) or use another file"))
        values[name] = v
    if problems:
        raise DataError(problems)
    temp = values["temp_air_c"]
    rh = np.clip(values["relative_humidity"] / 100.0, 0.0, 1.0)
    dew = arr[:, 4]
    dew_bad = (dew >= 99.9) | (dew < -70) | (dew > 70)
    if dew_bad.any():
        dew = np.where(dew_bad, psy.dewpoint_from_relative_humidity(
            temp, np.maximum(rh, 0.005)), dew)
    # EPW values are rounded to 0.1 K, so a dew point can exceed the dry bulb by a hair
    dew = np.minimum(dew, temp)
    pressure = values["pressure_pa"]
    wet = psy.wet_bulb(temp, pressure, dewpoint_c=dew)
    hour = np.arange(HOURS)
    attrs = {"station": loc[1], "state": loc[2], "country": loc[3], "station_id": loc[5],
             "lat": lat, "lon": lon, "tz": tz, "elevation_m": elev, "source_file": str(path)}

    def var(v, units, long_name):
        return ("hour", v.astype(np.float32), {"units": units, "long_name": long_name})

    return xr.Dataset(
        {"temp_air_c": var(temp, "degC", "dry-bulb temperature"),
         "dewpoint_c": var(dew, "degC", "dew-point temperature"),
         "relative_humidity": var(rh, "1", "relative humidity (fraction)"),
         "pressure_pa": var(pressure, "Pa", "station pressure"),
         "wet_bulb_c": var(wet, "degC", "thermodynamic wet-bulb temperature")},
        coords={"hour": hour}, attrs=attrs)


# ----------------------------------------------------------------- synthetic years

def _f(x):
    """Mean of max(x - cos(theta), 0) over a uniform phase: degree days of a sinusoid."""
    xc = np.clip(x, -1.0, 1.0)
    inner = (xc * (np.pi - np.arccos(xc)) + np.sqrt(1.0 - xc * xc)) / np.pi
    return np.where(x >= 1.0, x, np.where(x <= -1.0, 0.0, inner))


def _fp(x):
    return (np.pi - np.arccos(np.clip(x, -1.0, 1.0))) / np.pi


def fit_annual_cycle(hdd18, cdd10, cooling_design_db_c, heating_design_db_c):
    r"""Annual mean and half-amplitude of a sinusoidal daily-mean temperature.

    Solves, for every station at once (vectorised Newton),

    .. math::
        HDD_{18}/365 = A f\!\left(\frac{18 - T_m}{A}\right),\quad
        CDD_{10}/365 = A f\!\left(\frac{T_m - 10}{A}\right),\quad
        f(x) = \frac{x(\pi - \arccos x) + \sqrt{1 - x^2}}{\pi}

    (the mean of :math:`\max(x - \cos\theta, 0)` over a year). Where a degree-day total
    is 0 the pair is under-determined: :math:`T_m` then comes from the other total and
    :math:`A` from the design-temperature spread.

    Parameters
    ----------
    hdd18, cdd10 : array_like
        Heating degree days base 18 degC and cooling degree days base 10 degC. [K day]
    cooling_design_db_c, heating_design_db_c : array_like
        0.4 % and 99.6 % design dry bulbs (start values and degenerate cases). [degC]

    Returns
    -------
    annual_mean_c, annual_amplitude_c : numpy.ndarray
        [degC], [K]
    """
    hdd = np.asarray(hdd18, dtype=float) / 365.0
    cdd = np.asarray(cdd10, dtype=float) / 365.0
    cdb = np.asarray(cooling_design_db_c, dtype=float)
    hdb = np.asarray(heating_design_db_c, dtype=float)
    hdd, cdd, cdb, hdb = np.broadcast_arrays(hdd, cdd, cdb, hdb)
    if np.any(hdd < 0) or np.any(cdd < 0):
        raise ValueError("degree days must be >= 0")
    if np.any(hdd + cdd < 8.0 - 1e-6):
        raise ValueError("hdd18 + cdd10 must be >= 8 * 365 K day (each day contributes at "
                         "least 18 - 10 = 8 K); the degree days are inconsistent")
    tm = 14.0 + (cdd - hdd) / 2.0
    amp = np.maximum((cdb - hdb) / 2.0 - 6.0, 3.0)
    for _ in range(60):
        x1, x2 = (18.0 - tm) / amp, (tm - 10.0) / amp
        g1, g2 = amp * _f(x1) - hdd, amp * _f(x2) - cdd
        a11, a12 = -_fp(x1), _f(x1) - x1 * _fp(x1)
        a21, a22 = _fp(x2), _f(x2) - x2 * _fp(x2)
        det = a11 * a22 - a12 * a21
        ok = np.abs(det) > 1e-12
        det = np.where(ok, det, 1.0)
        d_tm = np.where(ok, (g1 * a22 - g2 * a12) / det, 0.0)
        d_amp = np.where(ok, (a11 * g2 - a21 * g1) / det, 0.0)
        tm = tm - np.clip(d_tm, -3.0, 3.0)
        amp = np.maximum(amp - np.clip(d_amp, -3.0, 3.0), 0.5)
        if np.nanmax(np.abs(d_tm) + np.abs(d_amp), initial=0.0) < 1e-9:
            break
    # degenerate climates: no heating (tropics) or no cooling above 10 degC (arctic)
    no_hdd, no_cdd = hdd <= 1e-9, cdd <= 1e-9
    spread = np.maximum((cdb - hdb) / 2.0 - DIURNAL_DEFAULT["A"], 0.5)
    tm = np.where(no_hdd, 10.0 + cdd, np.where(no_cdd, 18.0 - hdd, tm))
    amp = np.where(no_hdd, np.minimum(spread, np.maximum(tm - 18.0, 0.5)),
                   np.where(no_cdd, np.minimum(spread, np.maximum(10.0 - tm, 0.5)), amp))
    resid = np.abs(amp * _f((18.0 - tm) / amp) - hdd) + np.abs(amp * _f((tm - 10.0) / amp) - cdd)
    bad = (resid > 0.05) & ~no_hdd & ~no_cdd
    if bad.any():
        logger.warning("degree-day fit did not converge for %d station(s); max residual "
                       "%.3g K", int(bad.sum()), float(resid[bad].max()))
    return tm, amp


def _diurnal_amplitude(excess, amp):
    """Half-amplitude Ad with excess = Ad - 0.008 pi sqrt(As Ad) (0.4 % design offset)."""
    k = _DESIGN_K * np.sqrt(amp)
    disc = np.maximum(k * k + 4.0 * excess, 0.0)
    return ((k + np.sqrt(disc)) / 2.0) ** 2


def synthetic_year(cooling_design_db_c, heating_design_db_c, hdd18, cdd10, moisture,
                   elevation_m, lat=None, *, site=None, dtype=np.float32):
    """Deterministic synthetic typical year of hourly dry bulb, dew point and wet bulb.

    A screening approximation built from station statistics alone (see the module
    docstring and docs/physics-thermal.md); it reproduces the station's HDD18, CDD10 and
    (closely) its 0.4 % / 99.6 % design dry bulbs, but not its weather sequence. Use
    :func:`read_epw` with a real TMY/EPW file where one exists.

    Parameters
    ----------
    cooling_design_db_c : array_like
        0.4 % cooling design dry bulb, per site. [degC]
    heating_design_db_c : array_like
        99.6 % heating design dry bulb, per site. [degC]
    hdd18, cdd10 : array_like
        Degree days (base 18 and 10 degC). [K day]
    moisture : array_like of str
        ASHRAE 169 moisture class "A" (moist), "B" (dry), "C" (marine) or "".
    elevation_m : array_like
        Site elevation (sets the barometric pressure). [m]
    lat : array_like, optional
        Latitude; southern-hemisphere sites get a half-year phase shift. [degrees]
    site : array_like, optional
        Coordinate values of the ``site`` dim (default 0..n-1; taken from a pandas
        index or DataArray coord when given).
    dtype : numpy dtype, default float32
        float32 keeps 1,000 sites x 8,760 h at 35 MB per variable.

    Returns
    -------
    xr.Dataset
        ``temp_air_c``, ``dewpoint_c``, ``wet_bulb_c`` with dims ``(site, hour)`` and
        ``pressure_pa`` with dim ``site``; attrs flag the data as synthetic.

    Raises
    ------
    ValueError
        Inconsistent inputs (heating design above cooling design, unknown moisture
        class, mismatched lengths).
    """
    if site is None:
        for a in (cooling_design_db_c, hdd18):
            if isinstance(a, pd.Series):
                site = a.index.to_numpy()
                break
            if isinstance(a, xr.DataArray) and "site" in a.coords:
                site = a["site"].values
                break
    cdb = np.atleast_1d(np.asarray(cooling_design_db_c, dtype=float))
    hdb = np.atleast_1d(np.asarray(heating_design_db_c, dtype=float))
    hdd = np.atleast_1d(np.asarray(hdd18, dtype=float))
    cdd = np.atleast_1d(np.asarray(cdd10, dtype=float))
    elev = np.atleast_1d(np.asarray(elevation_m, dtype=float))
    moist = np.atleast_1d(np.asarray(moisture, dtype=object))
    moist = np.array(["" if (m is None or (isinstance(m, float) and np.isnan(m)))
                      else str(m).strip().upper() for m in moist], dtype=object)
    n = max(cdb.size, hdb.size, hdd.size, cdd.size, elev.size, moist.size)
    try:
        cdb, hdb, hdd, cdd, elev = (np.broadcast_to(a, (n,)) for a in (cdb, hdb, hdd, cdd, elev))
        moist = np.broadcast_to(moist, (n,))
        latv = np.broadcast_to(np.atleast_1d(np.asarray(
            45.0 if lat is None else lat, dtype=float)), (n,))
    except ValueError:
        raise ValueError("synthetic_year inputs must have the same length (one per site)") from None
    unknown = sorted(set(moist) - set(DEWPOINT_DEPRESSION))
    if unknown:
        raise ValueError(f"moisture must be 'A', 'B', 'C' or '', got {unknown}")
    if np.any(hdb >= cdb):
        i = int(np.flatnonzero(hdb >= cdb)[0])
        raise ValueError(f"heating_design_db_c ({hdb[i]}) must be below cooling_design_db_c "
                         f"({cdb[i]}) (site index {i})")
    for name, v in (("cooling_design_db_c", cdb), ("heating_design_db_c", hdb),
                    ("hdd18", hdd), ("cdd10", cdd), ("elevation_m", elev)):
        if not np.isfinite(v).all():
            raise ValueError(f"{name} has missing values")
    tm, amp = fit_annual_cycle(hdd, cdd, cdb, hdb)
    amp_summer = _diurnal_amplitude(cdb - tm - amp, amp)
    amp_winter = _diurnal_amplitude(tm - amp - hdb, amp)
    default = np.array([DIURNAL_DEFAULT[m] for m in moist])
    lo, hi = DIURNAL_BOUNDS
    clipped = ~((amp_summer >= lo) & (amp_summer <= hi) & (amp_winter >= lo) & (amp_winter <= hi))
    if clipped.any():
        logger.info("synthetic_year: diurnal amplitude clipped to [%g, %g] K at %d site(s)",
                    lo, hi, int(clipped.sum()))
    amp_summer = np.where(np.isfinite(amp_summer), np.clip(amp_summer, lo, hi), default)
    amp_winter = np.where(np.isfinite(amp_winter), np.clip(amp_winter, lo, hi), default)

    peak = np.where(latv < 0, PEAK_DAY - 182.5, PEAK_DAY)
    day = np.arange(365, dtype=float)
    season = np.cos(2 * np.pi * (day[None, :] + 0.5 - peak[:, None]) / 365.0)  # (site, day)
    daily_mean = tm[:, None] + amp[:, None] * season
    amp_d = (0.5 * (amp_summer + amp_winter))[:, None] \
        + (0.5 * (amp_summer - amp_winter))[:, None] * season
    diurnal = np.cos(2 * np.pi * (np.arange(24) - PEAK_HOUR) / 24.0)  # (hour of day,)
    temp = (daily_mean[:, :, None] + amp_d[:, :, None] * diurnal).astype(dtype)
    temp = temp.reshape(n, HOURS)

    a = np.array([DEWPOINT_DEPRESSION[m][0] for m in moist])[:, None]
    b = np.array([DEWPOINT_DEPRESSION[m][1] for m in moist])[:, None]
    tmin = daily_mean - amp_d
    cap = np.array([DEWPOINT_MAX[m] for m in moist])[:, None]
    dew_daily = np.minimum(tmin - (a + b * np.maximum(tmin, 0.0)), cap)
    pressure = np.asarray(psy.pressure_from_elevation(elev), dtype=float)
    pws = psy._pws(dew_daily)
    w_daily = psy.EPSILON * pws / (pressure[:, None] - pws)
    dew = np.repeat(dew_daily.astype(dtype), 24, axis=1)
    w = np.repeat(w_daily.astype(dtype), 24, axis=1)
    wet = psy._wet_bulb(temp, w, pressure.astype(dtype)[:, None])
    site_coord = np.arange(n) if site is None else np.asarray(site)
    attrs = {"synthetic": 1, "description": "dcplan synthetic typical year (annual + diurnal "
             "sinusoids fitted to degree days and design temperatures); not measured weather"}

    def var(v, units, long_name):
        return (("site", "hour"), v, {"units": units, "long_name": long_name})

    return xr.Dataset(
        {"temp_air_c": var(temp, "degC", "dry-bulb temperature (synthetic)"),
         "dewpoint_c": var(dew, "degC", "dew-point temperature (synthetic)"),
         "wet_bulb_c": var(wet.astype(dtype, copy=False), "degC",
                           "thermodynamic wet bulb (synthetic)"),
         "pressure_pa": ("site", pressure, {"units": "Pa", "long_name": "standard pressure"})},
        coords={"site": site_coord, "hour": np.arange(HOURS)}, attrs=attrs)


def synthetic_year_from_table(table, *, site=None, dtype=np.float32):
    """:func:`synthetic_year` for a DataFrame with the station/site climate columns.

    ``table`` needs cooling_design_db_c, heating_design_db_c, hdd18, cdd10, moisture (or
    climate_zone, whose letter is used), elevation_m and optionally lat; its index (or
    ``site``) labels the ``site`` dim.
    """
    if "moisture" in table.columns:
        moisture = table["moisture"].fillna("").astype(str)
    elif "climate_zone" in table.columns:
        moisture = table["climate_zone"].fillna("").astype(str).str.extract(r"([ABC])$")[0].fillna("")
    else:
        raise ValueError("table needs a 'moisture' or 'climate_zone' column")
    need = ["cooling_design_db_c", "heating_design_db_c", "hdd18", "cdd10", "elevation_m"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}")
    return synthetic_year(
        table["cooling_design_db_c"].to_numpy(), table["heating_design_db_c"].to_numpy(),
        table["hdd18"].to_numpy(), table["cdd10"].to_numpy(), moisture.to_numpy(),
        table["elevation_m"].to_numpy(),
        table["lat"].to_numpy() if "lat" in table.columns else None,
        site=table.index.to_numpy() if site is None else site, dtype=dtype)
