"""Fit dcplan's synthetic dew-point model to real TMY3 hourly files; write data/dewpoint_model.csv.

Usage: python scripts/build_dewpoint_model.py [folder of *.epw or *.epw.gz]

Defaults to ../shared/data/weather/tmy3 beside the checkout: 44 NREL TMY3 files (1991-2005
record; public domain, as redistributed by IMMM-SFA/diyepw, BSD-2-Clause). Each file is
matched to its row of data/climate_stations.csv by WMO id; the synthetic year built from
that row is fitted to the file's hourly dew points and daily-mean temperatures
(:func:`dcplan.weather.fit_dewpoint_model`). Only the fitted coefficients are shipped.
benchmarks/bench_weather.py measures the model leave-one-station-out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_weather import design_conditions, load_stations  # noqa: E402

from dcplan import weather  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "weather" / "tmy3"
OUT = ROOT / "data" / "dewpoint_model.csv"


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT
    table, real = load_stations(folder)
    dew = np.stack([r["dewpoint_c"].values.astype(float) for r in real])
    temp = np.stack([r["temp_air_c"].values.astype(float) for r in real])
    coef = weather.fit_dewpoint_model(table, dew, temp, design_conditions(real))
    terms = [t for t in weather.DEWPOINT_TERMS + weather.VARIABILITY_TERMS]
    with open(OUT, "w", newline="") as fh:
        fh.write(f"# fitted by scripts/build_dewpoint_model.py to {len(table)} NREL TMY3 files "
                 f"({folder.name}); see data/README.md\n")
        fh.write("term,coefficient\n")
        for t in terms:
            fh.write(f"{t},{coef[t]:.6g}\n")
    print(f"wrote {OUT} ({len(table)} stations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
