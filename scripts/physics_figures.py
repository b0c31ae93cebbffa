"""Print the physics figures the site comparison rests on, for four US cities.

Usage: PYTHONPATH=. python scripts/physics_figures.py

For Phoenix, Dallas, Seattle and Chicago (inline sites, the weather dcplan gives them by
default) it prints each cooling technology's annual PUE and site WUE for an H100
training fleet, and the IT kW per GPU of H100 and GB200 NVL72: rack-only and at cluster
level (with the scalable unit's fabric, storage and management share) where the build
carries both. Every figure is computed by :func:`dcplan.build_inputs`; nothing is typed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dcplan  # noqa: E402
from dcplan.spec import parse_study  # noqa: E402

CITIES = {
    "phoenix": ("Phoenix AZ", 33.45, -112.07),
    "dallas": ("Dallas TX", 32.78, -96.80),
    "seattle": ("Seattle WA", 47.61, -122.33),
    "chicago": ("Chicago IL", 41.88, -87.63),
}


def main() -> int:
    logging.disable(logging.WARNING)
    study = parse_study({
        "name": "physics figures",
        "horizon": {"first_year": 2026, "last_year": 2030},
        "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 10_000}]},
        "chips": {"use": ["h100_sxm", "gb200_nvl72"]},
        "sites": {"inline": [{"site_id": k, "name": n, "lat": la, "lon": lo}
                             for k, (n, la, lo) in CITIES.items()]},
    })
    ds = dcplan.build_inputs(study)
    techs = [str(t) for t in ds["cooling"].values]
    print("Annual PUE / site WUE [L/kWh] (H100 fleet, default workload)")
    print(f"{'site':10s}" + "".join(f"{t:>19s}" for t in techs))
    for site in ds["site"].values:
        cells = []
        for t in techs:
            p = float(ds["pue_annual"].sel(site=site, cooling=t))
            w = float(ds["wue_l_per_kwh"].sel(site=site, cooling=t))
            cells.append(f"{p:8.3f} / {w:6.3f}   ")
        print(f"{str(site):10s}" + "".join(f"{c:>19s}" for c in cells))
    if "weather_source" in ds:
        sources = zip(ds["site"].values.tolist(), ds["weather_source"].values.tolist(),
                      strict=True)
        print("weather:", dict(sources))
    print()
    print("IT kW per GPU at nameplate")
    rack = ds["it_kw_per_gpu_rack"] if "it_kw_per_gpu_rack" in ds else ds["it_kw_per_gpu"]
    cluster = ds["it_kw_per_gpu"] if "it_kw_per_gpu_rack" in ds else None
    print(f"{'chip':14s}{'rack-only':>12s}{'cluster-level':>16s}")
    for chip in ("h100_sxm", "gb200_nvl72"):
        c = f"{float(cluster.sel(chip=chip)):16.3f}" if cluster is not None else f"{'n/a':>16s}"
        print(f"{chip:14s}{float(rack.sel(chip=chip)):12.3f}{c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
