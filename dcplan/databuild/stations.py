"""The climate station table, built from the climate.onebuilding.org US station index.

``scripts/build_climate_table.py`` uses :func:`read_onebuilding_stations` to write
``data/climate_stations.csv``; planning reads the finished table, never the index.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from dcplan.errors import DataError, Problem
from dcplan.weather import fit_annual_cycle

logger = logging.getLogger(__name__)


_ONEBUILDING_COLUMNS = ("state", "city", "wmo", "latitude", "longitude", "elevation",
                        "ashrae_climate_zone", "heating_design_db_c", "cooling_design_db_c",
                        "hdd18", "cdd10")
_ZONE = re.compile(r"^\s*([0-8])([ABC]?)\b")


def _parse_zone(label):
    """'4A - Mixed - Humid' -> ('4A', 'A'); '7 - Very Cold' -> ('7', '')."""
    m = _ZONE.match(str(label))
    if not m:
        return "", ""
    number, letter = m.groups()
    if "could not be determined" in str(label):
        letter = ""  # zones 7-8 have no moisture class in ASHRAE 169
    return number + letter, letter


def read_onebuilding_stations(path):
    """Read the climate.onebuilding.org US station index into dcplan's station table.

    Parameters
    ----------
    path : str or Path
        CSV with at least the columns state, city, wmo, latitude, longitude, elevation,
        ashrae_climate_zone, heating_design_db_c, cooling_design_db_c, hdd18, cdd10 (as
        in ``onebuilding_stations_usa_unique_wmo.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per WMO station: ``station_id`` (6-digit WMO string), ``name``, ``state``,
        ``lat``, ``lon``, ``elevation_m``, ``climate_zone`` ("4A", "7"), ``moisture``
        ("A", "B", "C" or ""), ``heating_design_db_c``, ``cooling_design_db_c``,
        ``hdd18``, ``cdd10`` [K day], plus the fitted ``annual_mean_c`` and
        ``annual_amplitude_c`` of the synthetic year. Rows without a WMO number are
        dropped (logged).

    Raises
    ------
    DataError
        Missing columns, or non-numeric / implausible values (each naming the row).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(str(path), "station file not found",
                                 "download the climate.onebuilding.org index or pass its path")])
    raw = pd.read_csv(path, dtype={"wmo": str})
    missing = [c for c in _ONEBUILDING_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError([Problem(str(path), f"missing column(s) {missing}",
                                 "use the onebuilding station index format")])
    no_wmo = raw["wmo"].isna() | (raw["wmo"].astype(str).str.strip() == "")
    if no_wmo.any():
        logger.info("%s: dropping %d station(s) without a WMO id", path, int(no_wmo.sum()))
    raw = raw.loc[~no_wmo].reset_index(drop=True)
    problems = []
    numeric = {"latitude": (-90, 90), "longitude": (-180, 180), "elevation": (-500, 6000),
               "heating_design_db_c": (-60, 35), "cooling_design_db_c": (-10, 55),
               "hdd18": (0, 15000), "cdd10": (0, 9000)}
    for col, (lo, hi) in numeric.items():
        v = pd.to_numeric(raw[col], errors="coerce")
        bad = v.isna() | (v < lo) | (v > hi)
        if bad.any():
            rows = (raw.index[bad] + 2).tolist()[:5]  # +2: header line, 1-based
            problems.append(Problem(f"{path}: column {col}, line(s) {rows}",
                                    f"non-numeric or outside [{lo}, {hi}]: "
                                    f"{raw.loc[bad, col].tolist()[:5]}",
                                    "correct or remove those rows"))
        raw[col] = v
    if problems:
        raise DataError(problems)
    zones = raw["ashrae_climate_zone"].map(_parse_zone)
    wmo = raw["wmo"].astype(str).str.replace(r"\.0$", "", regex=True).str.zfill(6)
    table = pd.DataFrame({
        "station_id": wmo,
        "name": raw["city"].astype(str).str.replace(".", " ", regex=False),
        "state": raw["state"].astype(str),
        "lat": raw["latitude"].astype(float),
        "lon": raw["longitude"].astype(float),
        "elevation_m": raw["elevation"].astype(float),
        "climate_zone": [z for z, _ in zones],
        "moisture": [m for _, m in zones],
        "heating_design_db_c": raw["heating_design_db_c"].astype(float),
        "cooling_design_db_c": raw["cooling_design_db_c"].astype(float),
        "hdd18": raw["hdd18"].astype(float),
        "cdd10": raw["cdd10"].astype(float),
    })
    dup = table["station_id"].duplicated()
    if dup.any():
        logger.info("%s: keeping the first of %d duplicated WMO ids", path, int(dup.sum()))
        table = table.loc[~dup].reset_index(drop=True)
    tm, amp = fit_annual_cycle(table["hdd18"].to_numpy(), table["cdd10"].to_numpy(),
                               table["cooling_design_db_c"].to_numpy(),
                               table["heating_design_db_c"].to_numpy())
    table["annual_mean_c"] = tm
    table["annual_amplitude_c"] = amp
    return table


