"""Build data/climate_stations.csv from the climate.onebuilding.org US station index.

Usage: python scripts/build_climate_table.py [path/to/onebuilding_stations_usa_unique_wmo.csv]

Defaults to ../shared/data/climate/ beside the checkout. The loader logic lives in
dcplan.stations.read_onebuilding_stations so a newer download can be rebuilt the same way.
Adds an estimate of the 0.4 % wet bulb from each station's synthetic typical year.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcplan import weather  # noqa: E402
from dcplan.databuild import stations  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "climate" / "onebuilding_stations_usa_unique_wmo.csv"
OUT = ROOT / "data" / "climate_stations.csv"


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT
    table = stations.read_onebuilding_stations(src)
    year = weather.synthetic_year_from_table(table)
    # 0.4 % wet bulb of the synthetic year: a screening estimate, not an ASHRAE value
    table["cooling_design_wb_c_est"] = np.quantile(year["wet_bulb_c"].values, 0.996, axis=1)
    rounding = {"lat": 4, "lon": 4, "elevation_m": 1, "heating_design_db_c": 1,
                "cooling_design_db_c": 1, "hdd18": 0, "cdd10": 0, "annual_mean_c": 2,
                "annual_amplitude_c": 2, "cooling_design_wb_c_est": 1}
    table = table.round(rounding).sort_values("station_id")
    with open(OUT, "w", newline="") as fh:
        fh.write(f"# derived by scripts/build_climate_table.py from {src.name} "
                 "(climate.onebuilding.org TMYx index); see data/README.md\n")
        table.to_csv(fh, index=False)
    print(f"wrote {OUT} ({len(table)} stations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
