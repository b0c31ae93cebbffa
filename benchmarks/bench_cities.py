"""Annual PUE and WUE of every cooling technology in four US cities, and kW per GPU.

Run: python benchmarks/bench_cities.py

For Phoenix, Dallas, Seattle and Chicago (their airport rows of data/climate_stations.csv,
the statistics any site near them gets), builds the synthetic typical year
(:func:`dcplan.weather.synthetic_year_from_table`) and prints each cooling technology's
annual PUE and site WUE (:func:`dcplan.physics.cooling.cooling_annual`, with 4.5 %
electrical-chain losses and 1.5 % other loads, as benchmarks/bench_weather.py), then the
nameplate IT power per GPU of the H100 and GB200 systems in data/chips.csv, rack only
(:func:`dcplan.physics.chips.it_kw_per_gpu`) and at cluster level with the scalable unit's
fabric, storage and management (:func:`dcplan.physics.chips.cluster_kw_per_gpu`; "n/a"
where the library has no cluster-level figure). Everything printed is computed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcplan import catalog, weather  # noqa: E402
from dcplan.physics import chips, cooling  # noqa: E402

#: WMO ids of the four cities' airport stations
CITIES = {"Phoenix": "722780", "Dallas": "722590", "Seattle": "727930", "Chicago": "725300"}
CHIPS = ("h100_sxm", "gb200_nvl72")
ELEC, OTHER = 0.045, 0.015


def city_table() -> pd.DataFrame:
    """(technology x city) annual PUE and WUE from the cities' synthetic years."""
    stations = pd.read_csv(catalog.data_path("climate_stations.csv"), comment="#",
                           dtype={"station_id": str, "moisture": str}).set_index("station_id")
    rows = stations.loc[list(CITIES.values())]
    rows.index = pd.Index(list(CITIES), name="site")
    year = weather.synthetic_year_from_table(rows)
    res = cooling.cooling_annual(catalog.read_cooling(), year["temp_air_c"],
                                 year["wet_bulb_c"], pressure_pa=year["pressure_pa"],
                                 electrical_loss_fraction=ELEC, other_fraction=OTHER)
    pue = res["pue_annual"].to_pandas()
    wue = res["wue_l_per_kwh"].to_pandas()
    if pue.index.name != "cooling":
        pue, wue = pue.T, wue.T
    return pd.concat({"PUE": pue, "WUE L/kWh": wue}, axis=1)


def gpu_table() -> pd.DataFrame:
    """kW per GPU, rack only and cluster level, for the H100 and GB200 systems."""
    table = catalog.read_chips()
    if "chip_id" in table.columns:
        table = table.set_index("chip_id")
    out = {}
    for chip in CHIPS:
        row = table.loc[chip]
        rack = chips.it_kw_per_gpu(float(row["rack_kw"]), float(row["gpus_per_rack"]))
        cluster = np.nan
        if hasattr(chips, "cluster_kw_per_gpu") and "network_kw_per_gpu" in row.index:
            cluster = chips.cluster_kw_per_gpu(
                float(row["rack_kw"]), float(row["gpus_per_rack"]),
                float(row["network_kw_per_gpu"]), float(row["storage_kw_per_gpu"]),
                float(row["mgmt_kw_per_gpu"]))
        out[chip] = {"system": row["system"], "rack-only kW/GPU": rack,
                     "cluster kW/GPU": cluster}
    return pd.DataFrame(out).T


def main() -> int:
    with pd.option_context("display.width", 140, "display.float_format", "{:.3f}".format):
        print("annual PUE and site WUE, synthetic typical year from the airport station "
              f"(electrical losses {ELEC:g}, other {OTHER:g} per unit IT)")
        print(city_table().to_string(na_rep="n/a"))
        print("\nnameplate IT power per GPU")
        print(gpu_table().to_string(na_rep="n/a"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
