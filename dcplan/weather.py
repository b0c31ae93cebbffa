r"""Hourly weather for the cooling model: EPW files, station tables and synthetic years.

* :func:`read_epw` reads an EnergyPlus weather file (TMY/TMYx) into an hourly Dataset.
* The station table itself is built from the climate.onebuilding.org index by
  :func:`dcplan.databuild.stations.read_onebuilding_stations` (``scripts/build_climate_table.py``).
* :func:`synthetic_year` builds a deterministic *synthetic typical year* per site from the
  station statistics alone. It is an approximation for screening many sites; a real EPW
  or TMY file for the site is better and should be used when available.

The synthetic year (see docs/physics-thermal.md):

.. math::
    T(d, h) = T_m + A_s \cos\theta_d + S(\theta_d)
    + A_d(\theta_d) \cos\frac{2\pi (h - 14)}{24},\quad
    \theta_d = 2\pi (d + 0.5 - d_{peak}) / 365

plus a fixed sequence of day-to-day anomalies (each month of it standardised, so the draw
orders the days but sets no month's mean or spread), with :math:`T_m, A_s` refitted so
that the degree days of the daily means equal the station's HDD18 and CDD10, a seasonal
shape :math:`S` (harmonics sin theta, cos 2 theta, sin 2 theta) and the diurnal half
amplitude :math:`A_d` from models fitted to the 44 NREL TMY3 files, the coldest and
warmest 5 % of hours stretched so the station table's 99 % and 1 % design dry bulbs hold
exactly (:data:`DESIGN_EXCEEDANCE`: the climate.onebuilding.org index carries those, not
the 99.6 % / 0.4 % values), and the hours beyond them stretched so the 99.6 % / 0.4 %
points land where a model fitted from the table's values to the ASHRAE 2009 design
conditions in the TMY3 headers puts them. The dew point comes from a model fitted to the same
files (:func:`fit_dewpoint_model`, all coefficients in ``data/dewpoint_model.csv``): it
reads the humidity regime from the temperature record and the location, not from the
ASHRAE moisture label. The wet bulb follows from the ASHRAE psychrometric equation.
* :func:`epw_index` lists a folder of EPW files for a study's ``weather.dir``.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.errors import DataError, Problem
from dcplan.physics import psychrometrics as psy

__all__ = [
    "read_epw",
    "epw_index",
    "fit_annual_cycle",
    "synthetic_year",
    "synthetic_year_from_table",
    "fit_dewpoint_model",
    "load_dewpoint_model",
    "DEWPOINT_TERMS",
    "HOURS",
]

logger = logging.getLogger(__name__)

HOURS = 8760
#: day of year (0-based) of the warmest daily mean in the northern hemisphere (about
#: July 20, NOAA 1991-2020 normals for most US stations)
PEAK_DAY = 201.0
#: hour index (0-23, as read by :func:`read_epw`) of the diurnal maximum: EPW hour 15,
#: 14:00-15:00 local standard time (the 44 TMY3 files' mean profile peaks there)
PEAK_HOUR = 14.0
#: diurnal half-amplitude bounds [K]: observed US daily ranges are ~4-25 K
DIURNAL_BOUNDS = (1.0, 12.0)
#: the moisture labels :func:`synthetic_year` accepts (ASHRAE 169); none changes the year
MOISTURE_CLASSES = ("A", "B", "C", "")
#: share of hours above the station table's cooling design dry bulb (and below its heating
#: one). The climate.onebuilding.org index values are the 1 % / 99 % design dry bulbs, not
#: the 0.4 % / 99.6 % ones: against the ASHRAE 2009 values in the 42 TMY3 headers that carry
#: them they differ by +0.4 +- 0.4 K (cooling 1 %) and +0.7 +- 0.7 K (heating 99 %), the
#: small same-sign warming of a later record, but by -1.1 K and +3.3 K from the 0.4 % /
#: 99.6 % values (opposite signs no warming can give); benchmarks/bench_weather.py prints it
DESIGN_EXCEEDANCE = 0.01

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
                                 "give the path of an .epw file "
                                 "(e.g. from climate.onebuilding.org)")])
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="latin-1") as fh:
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
    attrs.update(_epw_design_conditions(lines[1] if len(lines) > 1 else ""))

    def var(v, units, long_name):
        return ("hour", v.astype(np.float32), {"units": units, "long_name": long_name})

    return xr.Dataset(
        {"temp_air_c": var(temp, "degC", "dry-bulb temperature"),
         "dewpoint_c": var(dew, "degC", "dew-point temperature"),
         "relative_humidity": var(rh, "1", "relative humidity (fraction)"),
         "pressure_pa": var(pressure, "Pa", "station pressure"),
         "wet_bulb_c": var(wet, "degC", "thermodynamic wet-bulb temperature")},
        coords={"hour": hour}, attrs=attrs)


def epw_index(folder):
    """The EPW files of a folder (``*.epw``, ``*.epw.gz``) with their LOCATION coordinates.

    Reads only each file's first line, so a folder of hundreds of files indexes in
    milliseconds; :func:`read_epw` then reads the ones a study uses.

    Returns
    -------
    pandas.DataFrame
        ``path``, ``station_id``, ``name``, ``lat`` [degrees], ``lon`` [degrees].

    Raises
    ------
    DataError
        The folder does not exist, or a file's LOCATION line is malformed (naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError([Problem(str(folder), "weather folder not found",
                                 "give weather.dir as a folder of .epw or .epw.gz files")])
    rows, problems = [], []
    for path in sorted([*folder.glob("*.epw"), *folder.glob("*.epw.gz")]):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="latin-1") as fh:
            first = fh.readline()
        loc = [f.strip() for f in first.split(",")]
        try:
            if loc[0].upper() != "LOCATION":
                raise ValueError
            rows.append({"path": path, "station_id": loc[5], "name": loc[1],
                         "lat": float(loc[6]), "lon": float(loc[7])})
        except (ValueError, IndexError):
            problems.append(Problem(f"{path}:1", "no valid EPW LOCATION line",
                                    "remove the file from the folder or repair it"))
    if problems:
        raise DataError(problems)
    return pd.DataFrame(rows, columns=["path", "station_id", "name", "lat", "lon"])


def _epw_design_conditions(line):
    """ASHRAE design values from an EPW ``DESIGN CONDITIONS`` header line (may be absent).

    The 2009/2013/2017 Handbook layout: after ``Heating`` come the coldest month and the
    99.6 % and 99 % dry bulbs (``heating_design_db_c``, ``heating_design_99_db_c``); after
    ``Cooling`` the hottest month, the mean daily range, the 0.4 % dry bulb and its mean
    coincident wet bulb, the 1 % dry bulb (``cooling_design_1_db_c``), ..., and (9th
    field) the 0.4 % evaporation wet bulb. Returns only the values found, as floats in
    degC.
    """
    fields = [f.strip() for f in line.split(",")]
    if not fields or fields[0].upper() != "DESIGN CONDITIONS":
        return {}
    out = {}
    upper = [f.upper() for f in fields]
    try:
        h = upper.index("HEATING")
        out["heating_design_db_c"] = float(fields[h + 2])
        out["heating_design_99_db_c"] = float(fields[h + 3])
        c = upper.index("COOLING")
        out["cooling_daily_range_k"] = float(fields[c + 2])
        out["cooling_design_db_c"] = float(fields[c + 3])
        out["cooling_design_mcwb_c"] = float(fields[c + 4])
        out["cooling_design_1_db_c"] = float(fields[c + 5])
        out["cooling_design_wb_c"] = float(fields[c + 9])
        out["cooling_design_dp_c"] = float(fields[c + 17])
    except (ValueError, IndexError):
        logger.info("EPW design conditions not fully parsed: %s", line[:80])
    return out


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
        Cooling and heating design dry bulbs (start values and degenerate cases). [degC]

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
        # a singular Jacobian: the whole sinusoid lies on one side of a base (|x| >= 1), so
        # A_s cannot move that total. Solve one total for T_m alone and widen A_s until
        # the cycle crosses the nearer base (a near-tropical 12 K day of heating stopped
        # the Newton steps at the start values, 4 K too cool: Florida Keys Marathon; a
        # marine cycle wholly between 10 and 18 degC did the same)
        stuck = ~ok & (hdd > 1e-9) & (cdd > 1e-9)
        d_tm = np.where(stuck & (np.abs(a21) > 1e-12), g2 / np.where(a21 == 0, 1.0, a21),
                        np.where(stuck & (np.abs(a11) > 1e-12),
                                 -g1 / np.where(a11 == 0, 1.0, a11), d_tm))
        reach = np.where(x1 <= -1.0, tm - 18.0,
                         np.where(x2 <= -1.0, 10.0 - tm, np.minimum(18.0 - tm, tm - 10.0)))
        widen = stuck & (np.minimum(np.abs(x1), np.abs(x2)) >= 1.0)
        d_amp = np.where(widen, np.minimum(amp - 1.05 * reach, 0.0), d_amp)
        tm = tm - np.clip(d_tm, -3.0, 3.0)
        amp = np.maximum(amp - np.clip(d_amp, -3.0, 3.0), 0.5)
        if np.nanmax(np.abs(d_tm) + np.abs(d_amp), initial=0.0) < 1e-9:
            break
    # degenerate climates: no heating (tropics) or no cooling above 10 degC (arctic)
    no_hdd, no_cdd = hdd <= 1e-9, cdd <= 1e-9
    spread = np.maximum((cdb - hdb) / 2.0 - 5.0, 0.5)  # less a typical 5 K diurnal swing
    tm = np.where(no_hdd, 10.0 + cdd, np.where(no_cdd, 18.0 - hdd, tm))
    amp = np.where(no_hdd, np.minimum(spread, np.maximum(tm - 18.0, 0.5)),
                   np.where(no_cdd, np.minimum(spread, np.maximum(10.0 - tm, 0.5)), amp))
    resid = np.abs(amp * _f((18.0 - tm) / amp) - hdd) + np.abs(amp * _f((tm - 10.0) / amp) - cdd)
    bad = (resid > 0.05) & ~no_hdd & ~no_cdd
    if bad.any():
        logger.warning("degree-day fit did not converge for %d station(s); max residual "
                       "%.3g K", int(bad.sum()), float(resid[bad].max()))
    return tm, amp


#: names of the dew-point model's terms, in the order of data/dewpoint_model.csv
DEWPOINT_TERMS = ("const", "diurnal_amp", "daily_mean", "annual_mean", "annual_amp",
                  "elevation_km", "season", "east", "east_season", "north",
                  "summer_annual_amp", "summer_east_amp", "diurnal_cycle")
#: terms of the diurnal half-amplitude model (fitted to the TMY3 files' mean daily
#: cosine amplitude by month, coefficients ``amp_d_<term>`` in data/dewpoint_model.csv):
#: constant, season, annual swing, elevation, the eastern moisture step and its season,
#: and how far the design dry bulbs reach beyond the annual cycle in summer and winter
DIURNAL_TERMS = ("const", "season", "annual_amp", "elevation_km", "east", "east_season",
                 "summer_excess", "winter_excess")
#: terms of the design-tail model: how far the ASHRAE 0.4 % / 99.6 % dry bulbs lie beyond
#: the station table's 1 % / 99 % ones, ``tail_heat_*`` and ``tail_cool_*`` in
#: data/dewpoint_model.csv
TAIL_TERMS = ("const", "excess", "annual_amp")
#: terms of the 0.4 % wet-bulb calibration, ``design_wb_*`` in data/dewpoint_model.csv:
#: the ASHRAE 0.4 % evaporation wet bulb regressed on the uncalibrated synthetic year's
#: own 0.4 % wet bulb, the eastern moisture step, the elevation and the station table's
#: 1 % cooling design dry bulb
WET_BULB_TERMS = ("const", "synthetic", "east", "elevation_km", "cooling_db")
#: bounds of that distance [K] (ASHRAE 2009: 0.2-4.7 K over the 42 TMY3 headers)
TAIL_GAP_BOUNDS = (0.1, 8.0)
#: the share of hours the design-tail model places its point at (0.4 % / 99.6 %)
_EXTREME = 0.004
#: the moisture divide east of the Rockies: a logistic step centred on 101 W, ~3 degrees
#: wide (the 100th meridian aridity line, Seager et al. 2018, Earth Interactions 22)
EAST_CENTER_LON = -101.0
EAST_WIDTH_DEG = 3.0
#: terms of the day-to-day spread models (standard deviation of the daily-mean dry bulb
#: and dew point about their smooth annual course) and their correlation
SPREAD_TERMS = ("const", "diurnal_amp", "annual_amp", "season")
#: terms beyond the constant ``diurnal_cycle`` of the dew point's mean daily cycle
#: (``diurnal_cycle_<term>``): it varies with the season and across the moisture divide
CYCLE_TERMS = ("season", "east", "east_season")
#: the seasonal shape beyond the fitted sinusoid: harmonics of the phase theta of the
#: daily-mean cycle (sin theta: spring against autumn; cos 2 theta, sin 2 theta: a flatter
#: or sharper summer), each times a factor of the station, coefficients
#: ``shape_<harmonic>_<factor>``, fitted to the TMY3 files' monthly-mean departures from
#: the degree-day sinusoid
SHAPE_HARMONICS = ("sin1", "cos2", "sin2")
SHAPE_FACTORS = ("const", "annual_amp", "east")
SHAPE_TERMS = tuple(f"shape_{h}_{f}" for h in SHAPE_HARMONICS for f in SHAPE_FACTORS)
#: terms of the correlation of the day-to-day dry-bulb and dew-point anomalies
#: (``td_corr_<term>``): strong where fronts swap humid and dry air masses (the continental
#: east), weak on marine coasts and in the mountains. Two sets of the same five factors
#: (constant, diurnal half-amplitude, annual swing / 10 K, east step, east step x annual
#: swing / 10 K), one weighted by the summer share (1 + season) / 2 and one by the winter
#: share (1 - season) / 2: in winter every station's anomalies correlate strongly (cold
#: fronts), in summer strongly only in the humid continental interior (0.7-0.8 at
#: Milwaukee, Fargo, Burlington) and weakly in Florida (about 0.1) and the dry west
CORR_FACTORS = ("const", "diurnal_amp", "annual_amp", "east", "east_amp")
CORR_TERMS = tuple(f"{half}_{f}" for half in ("summer", "winter") for f in CORR_FACTORS)
VARIABILITY_TERMS = tuple(f"t_sd_{t}" for t in SPREAD_TERMS) \
    + tuple(f"d_sd_{t}" for t in SPREAD_TERMS) + ("td_correlation",) \
    + tuple(f"h_sd_{t}" for t in SPREAD_TERMS) + ("h_persistence", "d_skew") \
    + tuple(f"diurnal_cycle_{t}" for t in CYCLE_TERMS) \
    + tuple(f"amp_d_{t}" for t in DIURNAL_TERMS) \
    + tuple(f"tail_{side}_{t}" for side in ("heat", "cool") for t in TAIL_TERMS) \
    + tuple(f"design_wb_{t}" for t in WET_BULB_TERMS) + SHAPE_TERMS \
    + tuple(f"td_corr_{t}" for t in CORR_TERMS)
#: persistence (lag-1 autocorrelation) of the daily anomalies, about 0.6-0.7 for US
#: daily mean temperature (e.g. NOAA GHCN-Daily station records)
ANOMALY_PERSISTENCE = 0.65
#: seed of the fixed anomaly sequence: the synthetic year is deterministic
_ANOMALY_SEED = 20240907


def _hourly_sequence(persistence):
    """Fixed hourly AR(1) sequence, daily means removed, scaled to unit variance (365, 24)."""
    rng = np.random.default_rng(_ANOMALY_SEED + 1)
    e = rng.standard_normal(HOURS + 240)
    r = float(np.clip(persistence, 0.0, 0.99))
    z = np.empty_like(e)
    z[0] = e[0]
    for k in range(1, e.size):
        z[k] = r * z[k - 1] + np.sqrt(1 - r * r) * e[k]
    z = z[240:].reshape(365, 24)
    z = z - z.mean(axis=1, keepdims=True)
    return z / z.std()


#: 0-based month of each day of the 365-day year (30.42-day months, as the fits use)
_DAY_MONTH = np.minimum((np.arange(365) // 30.42).astype(int), 11)


def _anomaly_sequences():
    """Two fixed AR(1) daily sequences (temperature, dew point), each month standardised."""
    rng = np.random.default_rng(_ANOMALY_SEED)
    e = rng.standard_normal((2, 365 + 60))
    z = np.empty_like(e)
    z[:, 0] = e[:, 0]
    r = ANOMALY_PERSISTENCE
    for k in range(1, e.shape[1]):
        z[:, k] = r * z[:, k - 1] + np.sqrt(1 - r * r) * e[:, k]
    z = z[:, 60:]
    # each month of each sequence to mean 0 and standard deviation 1: the draw then sets
    # only the order of the days, not a month's mean or spread (with the raw draw a month
    # could come out 3 K warm for every site, and the figures moved with the seed)
    for m in range(12):
        k = _DAY_MONTH == m
        z[:, k] = ((z[:, k] - z[:, k].mean(axis=1, keepdims=True))
                   / z[:, k].std(axis=1, keepdims=True))
    return z[0], z[1]


def _shape_features(theta, amp, lon):
    """(site, day, term) design matrix of the seasonal-shape terms (SHAPE_TERMS)."""
    harm = np.stack([np.sin(theta), np.cos(2 * theta), np.sin(2 * theta)], axis=-1)
    fac = np.stack([np.ones_like(amp), amp / 10.0, _east(lon)], axis=-1)  # (site, factor)
    return (harm[:, :, :, None] * fac[:, None, None, :]).reshape(*theta.shape, -1)


def _corr_features(amp_d, amp, season, lon):
    """(site, day, term) design matrix of the anomaly-correlation model (CORR_TERMS)."""
    east = np.broadcast_to(_east(lon)[:, None], season.shape)
    swing = np.broadcast_to(np.asarray(amp, dtype=float)[:, None], season.shape) / 10.0
    factors = np.stack([np.ones_like(season), amp_d, swing, east, east * swing], axis=-1)
    summer = ((1.0 + season) / 2.0)[..., None]
    return np.concatenate([factors * summer, factors * (1.0 - summer)], axis=-1)


def _spread_features(amp_d, amp, season):
    n, d = amp_d.shape
    return np.stack([np.ones((n, d)), amp_d, np.broadcast_to(amp[:, None], (n, d)), season],
                    axis=-1)
#: absolute ceiling of a synthetic dew point [degC] (above the highest 0.4 % dew points
#: in the US, about 26-27 degC on the Gulf coast; ASHRAE Handbook Fundamentals ch. 14)
DEWPOINT_CEILING = 27.0
#: share of the day's diurnal half-amplitude between a hot hour and the hour the
#: cooling design dry bulb is set at; keeps the tail stretch on afternoon hours
_TAIL_QUANTILE = 0.05


def _east(lon):
    """Logistic step from 0 west to 1 east of the 100th-meridian moisture divide."""
    # clipped to the fitted area (contiguous US) so Alaska and Hawaii do not extrapolate
    lon_c = np.clip(np.asarray(lon, dtype=float), -125.0, -67.0)
    return 1.0 / (1.0 + np.exp(-(lon_c - EAST_CENTER_LON) / EAST_WIDTH_DEG))


def _diurnal_features(cdb, hdb, tm, amp, elev, season, lon):
    """(site, day, term) design matrix of the diurnal half-amplitude model (DIURNAL_TERMS).

    ``summer_excess`` = cooling design dry bulb - (Tm + As), weighted towards summer, and
    ``winter_excess`` = (Tm - As) - heating design dry bulb, weighted towards winter: how
    far the hourly extremes reach beyond the daily-mean cycle, which the diurnal swing and
    the day-to-day anomalies share.
    """
    n, d = season.shape
    east = _east(lon)[:, None]
    out = np.empty((n, d, len(DIURNAL_TERMS)))
    out[..., 0] = 1.0
    out[..., 1] = season
    out[..., 2] = amp[:, None]
    out[..., 3] = (np.asarray(elev, dtype=float) / 1000.0)[:, None]
    out[..., 4] = east
    out[..., 5] = east * season
    out[..., 6] = (cdb - tm - amp)[:, None] * (1.0 + season) / 2.0
    out[..., 7] = (tm - amp - hdb)[:, None] * (1.0 - season) / 2.0
    return out


def _dewpoint_features(daily_mean, amp_d, tm, amp, elev, season, lat, lon):
    """(site, day, term) design matrix of the daily-mean dew-point depression model.

    ``east`` (the logistic step of :func:`_east`) and ``north`` = (lat - 40) / 10 carry the
    large-scale moisture supply (Gulf of Mexico and Atlantic air east of the Rockies) that
    the temperature record alone cannot show; ``summer_annual_amp`` and
    ``summer_east_amp`` (annual swing / 10 K times the summer share (1 + season) / 2,
    the second times the east step) let the summer humidity differ between a small
    annual swing (Florida) and a large one (the continental interior).
    """
    n, d = daily_mean.shape
    out = np.empty((n, d, len(DEWPOINT_TERMS) - 1))
    out[..., 0] = 1.0
    out[..., 1] = amp_d
    out[..., 2] = daily_mean
    out[..., 3] = tm[:, None]
    out[..., 4] = amp[:, None]
    out[..., 5] = (elev / 1000.0)[:, None]
    out[..., 6] = season
    east = _east(lon)[:, None]
    out[..., 7] = east
    out[..., 8] = east * season
    out[..., 9] = ((np.clip(np.asarray(lat, dtype=float), 24.0, 49.0) - 40.0) / 10.0)[:, None]
    # the summer humidity of a small annual swing (Florida, Gulf coast) against a large one
    # (the continental interior), east and west of the divide
    summer_swing = (np.asarray(amp, dtype=float) / 10.0)[:, None] * (1.0 + season) / 2.0
    out[..., 10] = summer_swing
    out[..., 11] = east * summer_swing
    return out


def load_dewpoint_model(path=None) -> dict:
    """Coefficients of the synthetic dew-point model (``data/dewpoint_model.csv``).

    Fitted by ``scripts/build_dewpoint_model.py`` to the 44 NREL TMY3 hourly files (see
    data/README.md); returns ``{term: coefficient}`` for :data:`DEWPOINT_TERMS`.
    """
    from dcplan.catalog import data_path

    path = data_path("dewpoint_model.csv") if path is None else Path(path)
    table = pd.read_csv(path, comment="#")
    coef = dict(zip(table["term"], table["coefficient"].astype(float), strict=True))
    missing = [t for t in DEWPOINT_TERMS + VARIABILITY_TERMS if t not in coef]
    if missing:
        raise DataError([Problem(str(path), f"missing term(s) {missing}",
                                 "rebuild it with scripts/build_dewpoint_model.py")])
    return coef


def _annual_fields(cdb, hdb, hdd, cdd, latv, elev, lonv, coef):
    """Daily mean, diurnal half-amplitude and season phase of the synthetic year.

    The daily mean is the degree-day sinusoid plus the fitted seasonal shape
    (``shape_*`` terms of ``coef``, 0 where absent). The half-amplitude comes from the
    fitted diurnal model (``amp_d_*`` terms of ``coef``), clipped to
    :data:`DIURNAL_BOUNDS`.
    """
    tm, amp = fit_annual_cycle(hdd, cdd, cdb, hdb)
    peak = np.where(latv < 0, PEAK_DAY - 182.5, PEAK_DAY)
    day = np.arange(365, dtype=float)
    theta = 2 * np.pi * (day[None, :] + 0.5 - peak[:, None]) / 365.0  # (site, day)
    season = np.cos(theta)
    b_shape = np.array([coef.get(t, 0.0) for t in SHAPE_TERMS])
    daily_mean = (tm[:, None] + amp[:, None] * season
                  + _shape_features(theta, amp, lonv) @ b_shape)
    beta = np.array([coef[f"amp_d_{t}"] for t in DIURNAL_TERMS])
    amp_d = np.clip(_diurnal_features(cdb, hdb, tm, amp, elev, season, lonv) @ beta,
                    *DIURNAL_BOUNDS)
    return tm, amp, season, daily_mean, amp_d


def _stretch_tails(temp, cdb, hdb, exceedance=DESIGN_EXCEEDANCE):
    """Stretch each site's coldest and warmest hours so its design points hit hdb/cdb.

    With e = ``exceedance``, below the 5 % point T' = q5 - (q5 - T) (q5 - hdb) / (q5 - q_e),
    and the mirror image above the 95 % point: monotone, leaves the middle 90 % of hours
    as they are, and makes the design dry bulbs exact. The hours beyond the design point
    keep the shape the fitted diurnal cycle and day-to-day anomalies give them.
    """
    lo_q, hi_q = np.quantile(temp, [exceedance, _TAIL_QUANTILE], axis=1)
    up_q, top_q = np.quantile(temp, [1 - _TAIL_QUANTILE, 1 - exceedance], axis=1)
    out = temp.astype(float, copy=True)
    span_lo = np.maximum(hi_q - lo_q, 1e-6)
    scale_lo = np.clip((hi_q - hdb) / span_lo, 0.0, None)
    span_hi = np.maximum(top_q - up_q, 1e-6)
    scale_hi = np.clip((cdb - up_q) / span_hi, 0.0, None)
    cold = out < hi_q[:, None]
    out = np.where(cold, hi_q[:, None] - (hi_q[:, None] - out) * scale_lo[:, None], out)
    hot = out > up_q[:, None]
    return np.where(hot, up_q[:, None] + (out - up_q[:, None]) * scale_hi[:, None], out)


def _wet_bulb_features(wb_synthetic, elev, lon, cdb):
    """(site, term) design matrix of the 0.4 % wet-bulb model (WET_BULB_TERMS)."""
    wb = np.asarray(wb_synthetic, dtype=float)
    return np.stack([np.ones_like(wb), wb, _east(lon) * np.ones_like(wb),
                     np.asarray(elev, dtype=float) / 1000.0 * np.ones_like(wb),
                     np.asarray(cdb, dtype=float) * np.ones_like(wb)], axis=-1)


def _stretch_wet_bulb(temp, dew, wet, pressure, target):
    """Dew points that move each site's 0.4 % wet bulb to ``target``, top 5 % hours only.

    Above the year's 95 % wet bulb, wb' = q95 + (wb - q95) (target - q95) / (q0.4% - q95)
    (monotone, the rest of the year untouched); each such hour's dew point is then the
    one that gives wb' at its dry bulb (the psychrometric equation solved for the
    humidity ratio), capped at the dry bulb and :data:`DEWPOINT_CEILING`.
    """
    wet64 = wet.astype(float)
    q95, q_top = np.quantile(wet64, [1.0 - _TAIL_QUANTILE, 1.0 - _EXTREME], axis=1)
    scale = np.clip((target - q95) / np.maximum(q_top - q95, 0.05), 0.0, None)
    top = wet64 > q95[:, None]
    wb_new = np.minimum(q95[:, None] + (wet64 - q95[:, None]) * scale[:, None],
                        temp.astype(float))
    p = pressure[:, None] * np.ones_like(wet64)
    w = np.maximum(psy._w_from_twb(temp.astype(float), wb_new, p), 1e-7)
    dew_new = psy._dewpoint_from_pw(w * p / (psy.EPSILON + w))
    dew_new = np.minimum(np.minimum(dew_new, temp), DEWPOINT_CEILING)
    return np.where(top, dew_new, dew)


def _design_gaps(cdb, hdb, tm, amp, coef):
    """Fitted distance from the 1 % / 99 % design dry bulbs to the 0.4 % / 99.6 % ones [K].

    ``gap = tail_<side>_const + tail_<side>_excess * excess + tail_<side>_annual_amp * As``
    with the excess of :func:`_diurnal_features` and the table's own degree-day sinusoid;
    fitted from the station table's 1 % / 99 % values to the ASHRAE 2009 0.4 % / 99.6 %
    values in the TMY3 headers (:func:`fit_dewpoint_model`), so it also carries the
    difference of the two records. NaN (no extra stretch) where a term is absent.
    """
    gaps = []
    for side, excess in (("heat", tm - amp - hdb), ("cool", cdb - tm - amp)):
        b = np.array([coef.get(f"tail_{side}_{t}", np.nan) for t in TAIL_TERMS])
        gaps.append(np.clip(_tail_features(excess, amp) @ b, *TAIL_GAP_BOUNDS))
    return gaps[0], gaps[1]


def _tail_features(excess, amp):
    """(site, term) design matrix of the design-tail model (TAIL_TERMS)."""
    excess = np.asarray(excess, dtype=float)
    return np.stack([np.ones_like(excess), excess,
                     np.asarray(amp, dtype=float) * np.ones_like(excess)], axis=-1)


def _stretch_extremes(temp, cdb, hdb, gap_heat, gap_cool, exceedance=DESIGN_EXCEEDANCE):
    """Stretch the hours beyond the design points so the 0.4 % / 99.6 % ones lie a gap out.

    Below hdb, T' = hdb - (hdb - T) gap / (hdb - q_0.4%) (mirror image above cdb):
    monotone, keeps the design points, and leaves sites with a NaN gap as they are.
    """
    q_lo, q_hi = np.quantile(temp, [_EXTREME, 1.0 - _EXTREME], axis=1)
    scale_lo = np.where(np.isfinite(gap_heat), gap_heat / np.maximum(hdb - q_lo, 0.05), 1.0)
    scale_hi = np.where(np.isfinite(gap_cool), gap_cool / np.maximum(q_hi - cdb, 0.05), 1.0)
    out = np.where(temp < hdb[:, None],
                   hdb[:, None] - (hdb[:, None] - temp) * scale_lo[:, None], temp)
    return np.where(out > cdb[:, None],
                    cdb[:, None] + (out - cdb[:, None]) * scale_hi[:, None], out)


def _temperature_year(cdb, hdb, hdd, cdd, latv, elev, lonv, coef, z_t):
    """(site, hour) dry bulbs of the synthetic year and the fields they were built from.

    Returns ``temp, tm, amp, season, daily_mean, amp_d, spread`` of the last of three
    fixed-point passes: the day-to-day anomalies and the tail stretch add degree days a
    pure sinusoid lacks, so the sinusoid is refitted to the target less that excess.
    """
    n = cdb.size
    diurnal = np.cos(2 * np.pi * (np.arange(24) - PEAK_HOUR) / 24.0)  # (hour of day,)
    hdd_fit, cdd_fit = hdd.copy(), cdd.copy()
    # the design tails read the table's own degree-day sinusoid, as in the fit (not the
    # one refitted below, which moves with the anomaly sequence)
    gaps = _design_gaps(cdb, hdb, *fit_annual_cycle(hdd, cdd, cdb, hdb), coef)
    for _ in range(3):
        tm, amp, season, daily_mean, amp_d = _annual_fields(cdb, hdb, hdd_fit, cdd_fit,
                                                            latv, elev, lonv, coef)
        spread = _spread_features(amp_d, amp, season)
        t_sd = np.maximum(spread @ np.array([coef[f"t_sd_{t}"] for t in SPREAD_TERMS]), 0.0)
        t_anom = t_sd * z_t[None, :]
        temp = (daily_mean[:, :, None] + t_anom[:, :, None]
                + amp_d[:, :, None] * diurnal).reshape(n, HOURS)
        temp = _stretch_tails(temp, cdb, hdb)
        temp = _stretch_extremes(temp, cdb, hdb, *gaps)
        daily = temp.reshape(n, 365, 24).mean(axis=2)
        hdd_fit = np.maximum(hdd_fit - (np.maximum(18.0 - daily, 0).sum(axis=1) - hdd), 0.0)
        cdd_fit = np.maximum(cdd_fit - (np.maximum(daily - 10.0, 0).sum(axis=1) - cdd), 0.0)
        short = 8.0 * 365 - (hdd_fit + cdd_fit)
        hdd_fit, cdd_fit = hdd_fit + np.maximum(short, 0) / 2, cdd_fit + np.maximum(short, 0) / 2
    return temp, tm, amp, season, daily_mean, amp_d, spread


def synthetic_year(cooling_design_db_c, heating_design_db_c, hdd18, cdd10, moisture=None,
                   elevation_m=0.0, lat=None, *, lon=None, site=None, dtype=np.float32,
                   dewpoint_model=None):
    """Deterministic synthetic typical year of hourly dry bulb, dew point and wet bulb.

    A screening approximation built from station statistics alone (see the module
    docstring and docs/physics-thermal.md); it reproduces the station's 1 % / 99 %
    design dry bulbs exactly and its HDD18 and CDD10 closely, but not its weather
    sequence. The diurnal swing, the 0.4 % / 99.6 % tails and the dew point come from
    models fitted to the 44 NREL TMY3 hourly files and their ASHRAE headers
    (:func:`fit_dewpoint_model`); the humidity regime is read from the temperature
    record (diurnal range, annual swing, elevation) and the location, not from the ASHRAE
    moisture label. Use :func:`read_epw` with a real TMY/EPW file where one exists.

    Parameters
    ----------
    cooling_design_db_c : array_like
        Cooling design dry bulb exceeded :data:`DESIGN_EXCEEDANCE` (1 %) of the hours,
        per site: the station table's ``cooling_design_db_c``. [degC]
    heating_design_db_c : array_like
        Heating design dry bulb with 1 % of the hours below it (99 %), per site. [degC]
    hdd18, cdd10 : array_like
        Degree days (base 18 and 10 degC). [K day]
    moisture : array_like of str, optional
        ASHRAE 169 moisture class "A", "B", "C" or "": checked, but it changes nothing
        (the upstream labels are unreliable: Phoenix Goodyear is tagged humid "1A").
    elevation_m : array_like
        Site elevation (sets the barometric pressure). [m]
    lat : array_like, optional
        Latitude; southern-hemisphere sites get a half-year phase shift. [degrees]
    lon : array_like, optional
        Longitude (default -95, the middle of the US); a term of the dew-point model.
        [degrees]
    site : array_like, optional
        Coordinate values of the ``site`` dim (default 0..n-1; taken from a pandas
        index or DataArray coord when given).
    dtype : numpy dtype, default float32
        float32 keeps 1,000 sites x 8,760 h at 35 MB per variable.
    dewpoint_model : dict, optional
        ``{term: coefficient}`` of the fitted weather models (default
        :func:`load_dewpoint_model`).

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
    moist = np.atleast_1d(np.asarray("" if moisture is None else moisture, dtype=object))
    moist = np.array(["" if (m is None or (isinstance(m, float) and np.isnan(m)))
                      else str(m).strip().upper() for m in moist], dtype=object)
    n = max(cdb.size, hdb.size, hdd.size, cdd.size, elev.size, moist.size)
    try:
        cdb, hdb, hdd, cdd, elev = (np.broadcast_to(a, (n,)) for a in (cdb, hdb, hdd, cdd, elev))
        moist = np.broadcast_to(moist, (n,))
        latv = np.broadcast_to(np.atleast_1d(np.asarray(
            45.0 if lat is None else lat, dtype=float)), (n,))
        lonv = np.broadcast_to(np.atleast_1d(np.asarray(
            -95.0 if lon is None else lon, dtype=float)), (n,))
    except ValueError:
        raise ValueError("synthetic_year inputs must have the same length (one per site)") from None
    unknown = sorted(set(moist) - set(MOISTURE_CLASSES))
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
    coef = load_dewpoint_model() if dewpoint_model is None else dewpoint_model
    diurnal = np.cos(2 * np.pi * (np.arange(24) - PEAK_HOUR) / 24.0)  # (hour of day,)
    z_t, z_d = _anomaly_sequences()
    temp, tm, amp, season, daily_mean, amp_d, spread = _temperature_year(
        cdb, hdb, hdd, cdd, latv, elev, lonv, coef, z_t)
    d_sd = np.maximum(spread @ np.array([coef[f"d_sd_{t}"] for t in SPREAD_TERMS]), 0.0)
    b_rho = np.array([coef.get(f"td_corr_{t}", np.nan) for t in CORR_TERMS])
    if np.isfinite(b_rho).all():
        rho = np.clip(_corr_features(amp_d, amp, season, lonv) @ b_rho, -0.95, 0.95)
    else:
        rho = np.full((n, 365), float(np.clip(coef["td_correlation"], -0.95, 0.95)))
    z_dew = rho * z_t[None, :] + np.sqrt(1.0 - rho * rho) * z_d[None, :]  # (site, day)
    g = float(coef.get("d_skew", 0.0))
    if g != 0.0:
        # skewed like the real anomalies (dry outbreaks): Cornish-Fisher second-order term
        z_dew = z_dew + g / 6.0 * (z_dew * z_dew - 1.0)
        z_dew = ((z_dew - z_dew.mean(axis=1, keepdims=True))
                 / z_dew.std(axis=1, keepdims=True))
    d_anom = d_sd * z_dew

    beta = np.array([coef[t] for t in DEWPOINT_TERMS[:-1]])
    # the model predicts ln(e / e_s(T_mean)), the log of the daily-mean relative humidity
    ln_rh = np.minimum(_dewpoint_features(daily_mean, amp_d, tm, amp, elev, season,
                                          latv, lonv) @ beta, 0.0)
    dew_daily = psy._dewpoint_from_pw(psy._pws(daily_mean) * np.exp(ln_rh)) + d_anom
    # within the day: the fitted mean cycle plus hour-to-hour departures (h_sd_*) that
    # leave the daily mean as it is
    h_sd = np.maximum(spread @ np.array([coef.get(f"h_sd_{t}", 0.0) for t in SPREAD_TERMS]),
                      0.0)
    z_h = _hourly_sequence(coef.get("h_persistence", 0.0))
    east = _east(lonv)[:, None]
    c_day = coef["diurnal_cycle"] + sum(
        coef.get(f"diurnal_cycle_{t}", 0.0) * f
        for t, f in zip(CYCLE_TERMS, (season, east, east * season), strict=True))
    dew = (dew_daily[:, :, None] + (c_day * amp_d)[:, :, None] * diurnal
           + h_sd[:, :, None] * z_h[None]).reshape(n, HOURS)
    dew = np.minimum(np.minimum(dew, temp), DEWPOINT_CEILING)
    pressure = np.asarray(psy.pressure_from_elevation(elev), dtype=float)
    pws = psy._pws(dew)
    w = psy.EPSILON * pws / (pressure[:, None] - pws)
    temp = temp.astype(dtype)
    wet = psy._wet_bulb(temp, w.astype(dtype), pressure.astype(dtype)[:, None])
    wet = np.minimum(wet, temp)
    beta_wb = np.array([coef.get(f"design_wb_{t}", np.nan) for t in WET_BULB_TERMS])
    if np.isfinite(beta_wb).all():
        # calibrate the hours around the 0.4 % wet bulb to the fitted design value
        feats = _wet_bulb_features(np.quantile(wet, 1.0 - _EXTREME, axis=1), elev, lonv, cdb)
        dew = _stretch_wet_bulb(temp, dew, wet, pressure, feats @ beta_wb)
        pws = psy._pws(dew)
        w = psy.EPSILON * pws / (pressure[:, None] - pws)
        wet = np.minimum(psy._wet_bulb(temp, w.astype(dtype), pressure.astype(dtype)[:, None]),
                         temp)
    site_coord = np.arange(n) if site is None else np.asarray(site)
    attrs = {"synthetic": 1, "description": "dcplan synthetic typical year (annual + diurnal "
             "sinusoids fitted to degree days and design temperatures, dew point from a "
             "model fitted to NREL TMY3 files); not measured weather"}

    def var(v, units, long_name):
        return (("site", "hour"), v, {"units": units, "long_name": long_name})

    return xr.Dataset(
        {"temp_air_c": var(temp, "degC", "dry-bulb temperature (synthetic)"),
         "dewpoint_c": var(dew.astype(dtype), "degC", "dew-point temperature (synthetic)"),
         "wet_bulb_c": var(wet.astype(dtype, copy=False), "degC",
                           "thermodynamic wet bulb (synthetic)"),
         "pressure_pa": ("site", pressure, {"units": "Pa", "long_name": "standard pressure"})},
        coords={"site": site_coord, "hour": np.arange(HOURS)}, attrs=attrs)


def _unit(a):
    """Rows of ``a`` less their mean, scaled to unit norm (dot products are correlations)."""
    a = a - a.mean(axis=1, keepdims=True)
    return a / np.maximum(np.sqrt((a * a).sum(axis=1, keepdims=True)), 1e-12)


def fit_dewpoint_model(table, real_dewpoint_c, real_temp_c, design_conditions=None, *,
                       rcond=None) -> dict:
    """Fit the synthetic year's models to real hourly weather (least squares).

    The diurnal half-amplitude of the dry bulb (:data:`DIURNAL_TERMS`) is fitted to the
    real days' projection on the model's cosine, by month; the seasonal shape
    (:data:`SHAPE_TERMS`) to the real monthly means' departure from the degree-day
    sinusoid; the correlation of the day-to-day dry-bulb and dew-point anomalies
    (:data:`CORR_TERMS`) to each station-month's correlation. The daily-mean dew point is
    the synthetic daily-mean temperature less a depression linear in the day's diurnal
    half-amplitude and mean temperature, the station's annual
    mean and swing, its elevation and the season; the hourly dew point adds a diurnal
    cycle proportional to the day's half-amplitude (negative when afternoon mixing dries
    the air). Monthly means are fitted, pooled over the stations.

    Parameters
    ----------
    table : pandas.DataFrame
        Station rows (as data/climate_stations.csv): cooling_design_db_c,
        heating_design_db_c, hdd18, cdd10, elevation_m, lat.
    real_dewpoint_c, real_temp_c : array_like
        (station, 8760) measured hourly dew points and dry bulbs, rows in the order of
        ``table``. [degC]
    design_conditions : pandas.DataFrame, optional
        Rows as ``table``: the ASHRAE ``heating_design_db_c`` (99.6 %),
        ``heating_design_99_db_c``, ``cooling_design_db_c`` (0.4 %) and
        ``cooling_design_1_db_c`` of each station (e.g. the EPW header attrs of
        :func:`read_epw`; NaN where absent). Fits the design-tail terms (:data:`TAIL_TERMS`:
        distance from the table's 1 % / 99 % dry bulb to the header's 0.4 % / 99.6 % one,
        linear in the excess over the annual cycle and the annual swing); without it
        those terms are left out.

    Returns
    -------
    dict
        ``{term: coefficient}`` for :data:`DEWPOINT_TERMS` and :data:`VARIABILITY_TERMS`.
    """
    real = np.asarray(real_dewpoint_c, dtype=float)
    real_temp = np.asarray(real_temp_c, dtype=float)
    n = len(table)
    for name, arr in (("real_dewpoint_c", real), ("real_temp_c", real_temp)):
        if arr.shape != (n, HOURS):
            raise ValueError(f"{name} must be ({n}, {HOURS}), got {arr.shape}")
    cdb = table["cooling_design_db_c"].to_numpy(float)
    hdb = table["heating_design_db_c"].to_numpy(float)
    hdd, cdd = table["hdd18"].to_numpy(float), table["cdd10"].to_numpy(float)
    lat = table["lat"].to_numpy(float) if "lat" in table else np.full(n, 45.0)
    lon = table["lon"].to_numpy(float)
    elev = table["elevation_m"].to_numpy(float)
    month = np.minimum((np.arange(365) // 30.42).astype(int), 11)

    def monthly(a):
        """(site, day[, term]) -> (site * 12[, term]) monthly means."""
        m = np.stack([a[:, month == k].mean(axis=1) for k in range(12)], axis=1)
        return m.reshape(n * 12, *a.shape[2:])

    # diurnal half-amplitude: each real day's hourly deviations from its mean projected on
    # the cosine the synthetic year uses, monthly means regressed on the features
    diurnal = np.cos(2 * np.pi * (np.arange(24) - PEAK_HOUR) / 24.0)
    t_hours = real_temp.reshape(n, 365, 24)
    t_dev = t_hours - t_hours.mean(axis=2, keepdims=True)
    amp_real = (t_dev @ diurnal) / float(diurnal @ diurnal)
    tm0, amp0 = fit_annual_cycle(hdd, cdd, cdb, hdb)
    peak = np.where(lat < 0, PEAK_DAY - 182.5, PEAK_DAY)
    season0 = np.cos(2 * np.pi * (np.arange(365.0)[None, :] + 0.5 - peak[:, None]) / 365.0)
    fd = _diurnal_features(cdb, hdb, tm0, amp0, elev, season0, lon)
    b_amp, *_ = np.linalg.lstsq(monthly(fd), monthly(amp_real), rcond=rcond)
    out = {f"amp_d_{t}": float(v) for t, v in zip(DIURNAL_TERMS, b_amp, strict=True)}
    # seasonal shape: the real monthly means' departure from the degree-day sinusoid
    theta0 = 2 * np.pi * (np.arange(365.0)[None, :] + 0.5 - peak[:, None]) / 365.0
    shape_dev = t_hours.mean(axis=2) - (tm0[:, None] + amp0[:, None] * season0)
    b_shape, *_ = np.linalg.lstsq(monthly(_shape_features(theta0, amp0, lon)),
                                  monthly(shape_dev), rcond=rcond)
    out.update(zip(SHAPE_TERMS, (float(b) for b in b_shape), strict=True))
    tm, amp, season, daily_mean, amp_d = _annual_fields(cdb, hdb, hdd, cdd, lat, elev, lon,
                                                        out)
    x = _dewpoint_features(daily_mean, amp_d, tm, amp, elev, season, lat, lon)
    real_daily = real.reshape(n, 365, 24).mean(axis=2)
    xm = np.stack([x[:, month == m].mean(axis=1) for m in range(12)], axis=1)
    ln_rh = np.log(psy._pws(real_daily) / psy._pws(daily_mean))
    ym = np.stack([ln_rh[:, month == m].mean(axis=1) for m in range(12)], axis=1)
    beta, *_ = np.linalg.lstsq(xm.reshape(-1, xm.shape[-1]), ym.ravel(), rcond=rcond)
    d_dev = real.reshape(n, 365, 24) - real_daily[:, :, None]
    driver = amp_d[:, :, None] * diurnal
    east = _east(lon)[:, None, None]
    drivers = np.stack([driver, driver * season[:, :, None], driver * east,
                        driver * east * season[:, :, None]], axis=-1).reshape(-1, 4)
    b_c, *_ = np.linalg.lstsq(drivers, d_dev.ravel(), rcond=rcond)
    out.update(zip(DEWPOINT_TERMS[:-1], (float(b) for b in beta), strict=True))
    out["diurnal_cycle"] = float(b_c[0])
    out.update({f"diurnal_cycle_{t}": float(v) for t, v in zip(CYCLE_TERMS, b_c[1:],
                                                                strict=True)})
    # hour-to-hour departures from that mean cycle (frontal passages, afternoon mixing):
    # their lag-1 correlation, and their spread by month regressed below
    resid = d_dev - (drivers @ b_c).reshape(d_dev.shape)
    num = (resid[:, :, 1:] * resid[:, :, :-1]).sum()
    den = (resid * resid).sum()
    out["h_persistence"] = float(num / den) if den > 0 else 0.0
    # day-to-day spread about a 31-day running mean, by month, regressed on the features
    kernel = np.ones(31) / 31.0

    def anomaly(daily):
        wrapped = np.concatenate([daily[:, -15:], daily, daily[:, :15]], axis=1)
        smooth = np.stack([np.convolve(row, kernel, mode="valid") for row in wrapped])
        return daily - smooth

    real_t = t_hours.mean(axis=2)
    t_an, d_an = anomaly(real_t), anomaly(real_daily)
    fs = _spread_features(amp_d, amp, season)
    fsm = np.stack([fs[:, month == m].mean(axis=1) for m in range(12)], axis=1)
    fsm = fsm.reshape(-1, fsm.shape[-1])
    h_rms = np.sqrt((resid * resid).mean(axis=2))  # (site, day) within-day spread
    for key, an in (("t_sd", t_an), ("d_sd", d_an), ("h_sd", h_rms)):
        if key == "h_sd":
            sd = np.stack([np.sqrt((an[:, month == m] ** 2).mean(axis=1))
                           for m in range(12)], axis=1).ravel()
        else:
            sd = np.stack([an[:, month == m].std(axis=1) for m in range(12)],
                          axis=1).ravel()
        b, *_ = np.linalg.lstsq(fsm, sd, rcond=rcond)
        out.update({f"{key}_{t}": float(v) for t, v in zip(SPREAD_TERMS, b, strict=True)})
    out["td_correlation"] = float(np.corrcoef(t_an.ravel(), d_an.ravel())[0, 1])
    # the same correlation by station and month, regressed on the features
    corr = np.stack([np.sum(_unit(t_an[:, month == m]) * _unit(d_an[:, month == m]), axis=1)
                     for m in range(12)], axis=1).ravel()
    b, *_ = np.linalg.lstsq(monthly(_corr_features(amp_d, amp, season, lon)), corr,
                            rcond=rcond)
    out.update({f"td_corr_{t}": float(v) for t, v in zip(CORR_TERMS, b, strict=True)})
    # skewness of the dew-point anomalies, each station-month standardised, pooled
    zs = []
    for m in range(12):
        a = d_an[:, month == m]
        zs.append((a - a.mean(axis=1, keepdims=True))
                  / np.maximum(a.std(axis=1, keepdims=True), 1e-6))
    zs = np.concatenate(zs, axis=1)
    out["d_skew"] = float(np.clip((zs ** 3).mean(), -1.5, 1.5))
    # design tails: ASHRAE 99 % - 99.6 % and 0.4 % - 1 % dry bulbs on the excess
    if design_conditions is not None:
        dc = design_conditions
        for side, gap, excess in (
                ("heat", hdb - dc["heating_design_db_c"], tm - amp - hdb),
                ("cool", dc["cooling_design_db_c"] - cdb, cdb - tm - amp)):
            gap = np.asarray(gap, dtype=float)
            ok = np.isfinite(gap)
            if ok.sum() < 3:
                raise ValueError(f"design_conditions: {int(ok.sum())} stations with both "
                                 f"{side}ing design dry bulbs, need >= 3")
            x = _tail_features(excess, amp)[ok]
            b, *_ = np.linalg.lstsq(x, gap[ok], rcond=rcond)
            out.update({f"tail_{side}_{t}": float(v) for t, v in zip(TAIL_TERMS, b, strict=True)})
        if "cooling_design_wb_c" in dc:
            wb_design = np.asarray(dc["cooling_design_wb_c"], dtype=float)
            ok = np.isfinite(wb_design)
            year = synthetic_year(cdb, hdb, hdd, cdd, None, elev, lat, lon=lon,
                                  dewpoint_model=out)
            wb_syn = np.quantile(year["wet_bulb_c"].values, 1.0 - _EXTREME, axis=1)
            x = _wet_bulb_features(wb_syn, elev, lon, cdb)[ok]
            b, *_ = np.linalg.lstsq(x, wb_design[ok], rcond=rcond)
            out.update({f"design_wb_{t}": float(v)
                        for t, v in zip(WET_BULB_TERMS, b, strict=True)})
    return out


def synthetic_year_from_table(table, *, site=None, dtype=np.float32, dewpoint_model=None):
    """:func:`synthetic_year` for a DataFrame with the station/site climate columns.

    ``table`` needs cooling_design_db_c, heating_design_db_c, hdd18, cdd10, moisture (or
    climate_zone, whose letter is used), elevation_m and optionally lat; its index (or
    ``site``) labels the ``site`` dim.
    """
    if "moisture" in table.columns:
        moisture = table["moisture"].fillna("").astype(str)
    elif "climate_zone" in table.columns:
        zone = table["climate_zone"].fillna("").astype(str)
        moisture = zone.str.extract(r"([ABC])$")[0].fillna("")
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
        lon=table["lon"].to_numpy() if "lon" in table.columns else None,
        site=table.index.to_numpy() if site is None else site, dtype=dtype,
        dewpoint_model=dewpoint_model)
