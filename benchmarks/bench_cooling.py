"""Time hourly PUE and WUE for 1,000 sites x 6 cooling technologies x 8,760 h.

Run: python benchmarks/bench_cooling.py [n_sites]
Includes building the synthetic typical years (dry bulb + wet bulb) from station statistics.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dcplan import catalog, weather  # noqa: E402
from dcplan.physics import cooling  # noqa: E402


def main(n_sites: int = 1000) -> None:
    stations = pd.read_csv(catalog.data_path("climate_stations.csv"), comment="#",
                           dtype={"station_id": str, "moisture": str})
    sites = stations.sample(n=n_sites, replace=n_sites > len(stations), random_state=0)
    sites = sites.reset_index(drop=True).rename_axis("site")
    params = catalog.read_cooling()
    t0 = time.perf_counter()
    year = weather.synthetic_year_from_table(sites)
    t1 = time.perf_counter()
    res = cooling.cooling_annual(params, year.temp_air_c, year.wet_bulb_c,
                                 pressure_pa=year.pressure_pa, electrical_loss_fraction=0.045,
                                 other_fraction=0.015)
    t2 = time.perf_counter()
    print(f"{n_sites} sites x {params.shape[0]} cooling x 8760 h")
    print(f"  synthetic years (dry + wet bulb): {t1 - t0:6.2f} s")
    print(f"  hourly PUE/WUE + annual reduction: {t2 - t1:6.2f} s")
    print(f"  total: {t2 - t0:6.2f} s")
    print("  median annual PUE:", res.pue_annual.median("site").round(3).to_pandas().to_dict())
    print("  median site WUE [L/kWh]:",
          res.wue_l_per_kwh.median("site").round(3).to_pandas().to_dict())
    assert np.isfinite(res.pue_annual.values).all()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
