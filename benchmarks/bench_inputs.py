"""Time build_inputs for 1,000 sites x 8 chips x 6 cooling technologies with hourly weather.

Sites are the shipped catalog plus jittered copies of it (inline, so they go through the
same enrichment as user sites) until there are ``--sites`` of them. Prints the wall time
of each phase and the total; target: <= 10 s on 2 cores.

    python benchmarks/bench_inputs.py --sites 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dcplan
from dcplan.sites import load_catalog
from dcplan.spec import parse_study

CHIPS = ["a100_sxm", "h100_sxm", "h200_sxm", "b200_hgx", "gb200_nvl72", "gb300_nvl72", "mi300x", "mi355x"]


def make_study(n_sites: int, seed: int = 0):
    catalog = load_catalog()
    rng = np.random.default_rng(seed)
    extra = max(0, n_sites - len(catalog))
    picks = catalog.sample(n=extra, replace=True, random_state=seed) if extra else catalog.iloc[:0]
    inline = [
        {
            "site_id": f"bench-{i}",
            "lat": float(row.lat + rng.uniform(-0.02, 0.02)),
            "lon": float(row.lon + rng.uniform(-0.02, 0.02)),
        }
        for i, row in enumerate(picks.itertuples())
    ]
    data = {
        "name": f"bench {n_sites} sites",
        "horizon": {"first_year": 2026, "last_year": 2045},
        "fleet": {"gpus": [{"year": 2030, "chip": c, "gpus": 10000} for c in CHIPS]},
        "sites": {
            "catalog": {"limit": min(n_sites, len(catalog))},
            "inline": inline,
        },
    }
    return parse_study(data, "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    study = make_study(args.sites)
    times = []
    for _ in range(args.repeat):
        phases: dict[str, float] = {}
        last = [time.perf_counter(), None]

        def progress(event, info=None, phases=phases, last=last):
            now = time.perf_counter()
            if last[1] is not None:
                phases[last[1]] = phases.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, (info or {}).get("detail", event)

        start = time.perf_counter()
        ds = dcplan.build_inputs(study, progress=progress)
        times.append(time.perf_counter() - start)
    print(f"build_inputs: {ds.sizes['site']} sites x {ds.sizes['chip']} chips x "
          f"{ds.sizes['cooling']} cooling x 8760 h x {ds.sizes['year']} years")
    for name, seconds in phases.items():
        print(f"  {name:<32s} {seconds:6.2f} s   (last run)")
    print(f"total: median {np.median(times):.2f} s over {len(times)} runs "
          f"(min {min(times):.2f} s); target <= 10 s")


if __name__ == "__main__":
    main()
