"""Build, hand-off and solve times of the siting MILP on synthetic studies.

Usage::

    python benchmarks/bench_optimize.py                 # 100 and 1,000 sites x 20 years
    python benchmarks/bench_optimize.py --sites 100     # one size
    python benchmarks/bench_optimize.py --time-limit 1800

Prints, per size: model size, Pyomo construction time, standard-form hand-off time, HiGHS
run time (its own ``getRunTime``), final gap, and (build + hand-off) as a share of the total.
Synthetic inputs: 4 chips, 3 coolings, 3 interconnect options, 1,500 GPUs of target per
candidate site in the last year (1.5 M GPUs at 1,000 sites), threads=1, seed 0, gap 1 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from importlib.metadata import version

import pyomo

from dcplan.optimize.model import build_model
from dcplan.optimize.solve import handoff, run_highs, screened_start, set_options
from dcplan.testing.synthetic import make_inputs

CHIPS = ("h100_sxm", "mi300x", "b200_hgx", "gb200_nvl72")
COOLINGS = ("air_chiller", "dlc_dry", "immersion")


def bench(n_sites: int, n_years: int, *, gap: float, time_limit: float, seed: int) -> dict:
    inputs = make_inputs(n_sites, n_years, chips=CHIPS, coolings=COOLINGS, seed=seed)
    t0 = time.perf_counter()
    sm = build_model(inputs)
    t_build = time.perf_counter() - t0
    ho = handoff(sm)
    t1 = time.perf_counter()
    start = screened_start(sm, time_limit_s=time_limit, mip_rel_gap=gap, threads=1, seed=seed)
    t_start = time.perf_counter() - t1
    if start is not None:
        print(f"      screening: LP bound {start.lp_bound:,.1f} MUSD, screened plan {start.objective:,.1f} MUSD "
              f"(gap {start.gap:.3%}) after {t_start:.1f} s", flush=True)
    if start is not None and start.gap <= gap:
        # the LP bound proves the screened plan within the gap (as dcplan.solve does)
        result = {"seconds": 0.0, "status": "optimal (LP bound)", "gap": start.gap, "objective": start.objective}
    else:
        set_options(ho.highs, time_limit_s=time_limit, mip_rel_gap=gap, threads=1, seed=seed)
        result = run_highs(ho, start=start.x if start is not None else None)
    t_solve = result["seconds"] + t_start
    overhead = t_build + ho.seconds
    return {
        "sites": n_sites, "years": n_years, "columns": sm.n_col, "integer": int(sm.integrality.sum()),
        "rows": sm.n_row, "nonzeros": int(sm.A.nnz), "build_s": t_build, "handoff_s": ho.seconds,
        "solve_s": t_solve, "start_s": t_start, "status": result["status"], "gap": result.get("gap", float("nan")),
        "objective_musd": result.get("objective", float("nan")),
        "overhead_share": overhead / (overhead + t_solve),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, pyomo {pyomo.version.version}, highspy {version('highspy')}, "
          f"{os.cpu_count()} cores")
    for n in args.sites:
        r = bench(n, args.years, gap=args.gap, time_limit=args.time_limit, seed=args.seed)
        print(
            f"{r['sites']:>5} sites x {r['years']} years: {r['columns']:,} columns ({r['integer']:,} integer), "
            f"{r['rows']:,} rows, {r['nonzeros']:,} nonzeros\n"
            f"      build {r['build_s']:.2f} s, hand-off {r['handoff_s']:.2f} s, solve {r['solve_s']:.1f} s "
            f"(of which LP-screening start {r['start_s']:.1f} s) "
            f"[{r['status']}, gap {r['gap']:.3%}, objective {r['objective_musd']:,.0f} MUSD]; "
            f"build + hand-off = {r['overhead_share']:.1%} of the total",
            flush=True,
        )


if __name__ == "__main__":
    main()
