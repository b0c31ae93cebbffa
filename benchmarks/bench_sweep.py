"""Sweep speed-up: the same scenarios on a LocalCluster of 1 worker, then of 2 workers.

Usage: python benchmarks/bench_sweep.py [--scenarios 20] [--sites 100] [--quick]

The study takes ``--sites`` candidates from the shipped catalog (``sites.catalog.limit``)
with GB200 and GB300 targets over 2026-2032; the scenarios cross carbon prices, build
blocks and build rates (each a different study, so none is skipped). Each run gets a fresh
sweep folder and its own LocalCluster; the workers import dcplan before the clock starts
(cluster start-up is printed apart). Printed against the targets of the issue:

- speed-up = wall(1 worker) / wall(2 workers), target >= 1.6x
- sweep efficiency = speed-up / 2, target >= 80 %
- busy share = summed task wall seconds / (workers x sweep wall): how much of the workers'
  time went into tasks (the rest is scheduling, result transfer and writing)
- CPU share = summed task CPU seconds / summed task wall seconds: below 100 % the tasks
  waited for a core, i.e. the machine was busy with other work

On a shared machine wall times are inflated by the other load; the summed CPU seconds
show how much work the scenarios themselves took.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def base_study(n_sites: int) -> dict:
    return {
        "name": f"bench sweep {n_sites} sites",
        "horizon": {"first_year": 2026, "last_year": 2032},
        "fleet": {"gpus": [{"year": 2029, "chip": "gb200_nvl72", "gpus": 200_000},
                           {"year": 2032, "chip": "gb300_nvl72", "gpus": 400_000}]},
        "cooling": {"allowed": ["dlc_dry", "dlc_tower"]},
        "sites": {"catalog": {"limit": n_sites}},
        "limits": {"block_mw": 50, "max_build_mw_per_year": 600},
        "solver": {"time_limit_s": "300 s", "mip_rel_gap": 0.01},
    }


def scenario_grid(n: int) -> list[dict]:
    """``n`` distinct scenarios: carbon price x build block x build rate."""
    combos = itertools.product([0, 50, 100, 150, 200], ["25 MW", "50 MW"], ["400 MW", "600 MW"],
                               [0.07, 0.05])
    out = []
    for carbon, block, rate, rate_disc in itertools.islice(combos, n):
        out.append({"name": f"c{carbon}_b{block.split()[0]}_r{rate.split()[0]}_d{int(rate_disc * 100)}",
                    "costs.carbon_price_usd_per_t": carbon, "limits.block_mw": block,
                    "limits.max_build_mw_per_year": rate, "horizon.discount_rate": rate_disc})
    return out


def _warm() -> bool:
    import dcplan.inputs  # noqa: F401 - import the pipeline on the worker before the clock starts
    import dcplan.optimize  # noqa: F401
    import dcplan.run  # noqa: F401

    return True


def run(base, cases, workers: int, out: Path) -> dict:
    from dcplan.distributed import cluster
    from dcplan.sweep import run_sweep

    started = time.perf_counter()
    with cluster(workers=workers, host="127.0.0.1") as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        startup = time.perf_counter() - started
        load = os.getloadavg()[0]
        t0, cpu0 = time.perf_counter(), time.process_time()
        table = run_sweep(base, scenarios=cases, out=out, scheduler=client.scheduler.address, report=False)
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
    return {"workers": workers, "startup": startup, "wall": wall, "client_cpu": client_cpu, "table": table,
            "task_wall": float(table["task_seconds"].sum()), "task_cpu": float(table["task_cpu_seconds"].sum()),
            "load_before": load, "load_after": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="4 scenarios of 10 sites (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.scenarios, args.sites = 4, 10
    import yaml

    from dcplan.distributed import available_cores
    from dcplan.spec import load_study
    from dcplan.sweep import read_scenarios

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        (tmp / "study.yaml").write_text(yaml.safe_dump(base_study(args.sites)))
        (tmp / "scenarios.yaml").write_text(yaml.safe_dump(scenario_grid(args.scenarios)))
        base = load_study(tmp / "study.yaml")
        cases = read_scenarios(tmp / "scenarios.yaml", base)
        print(f"{len(cases)} scenarios of a {args.sites}-site study (catalog), {available_cores()} cores "
              f"available, load average {os.getloadavg()[0]:.1f} at the start")
        runs = [run(base, cases, workers, tmp / f"w{workers}") for workers in (1, 2)]

    print(f"\n{'workers':>7} {'start-up s':>10} {'sweep wall s':>12} {'task wall s':>11} {'task CPU s':>10} "
          f"{'busy share':>10} {'CPU share':>9} {'load':>11}")
    for r in runs:
        busy = r["task_wall"] / (r["workers"] * r["wall"])
        share = r["task_cpu"] / r["task_wall"]
        print(f"{r['workers']:>7} {r['startup']:>10.1f} {r['wall']:>12.1f} {r['task_wall']:>11.1f} "
              f"{r['task_cpu']:>10.1f} {busy:>10.0%} {share:>9.0%} {r['load_before']:>5.1f}-{r['load_after']:<5.1f}")
    one, two = runs
    statuses = [sorted(set(r["table"]["status"])) for r in runs]
    print(f"\nscenario statuses: 1 worker {statuses[0]}, 2 workers {statuses[1]}")
    solves = [float(r["table"]["solve_seconds"].median()) for r in runs]
    print(f"median HiGHS solve per scenario: {solves[0]:.1f} s (1 worker), {solves[1]:.1f} s (2 workers)")
    merged = one["table"].set_index("scenario")[["objective_usd", "mip_gap"]].join(
        two["table"].set_index("scenario")[["objective_usd", "mip_gap"]].add_suffix("_2"))
    differ = (merged["objective_usd"] - merged["objective_usd_2"]).abs() / merged["objective_usd"]
    allowed = merged[["mip_gap", "mip_gap_2"]].max(axis=1)
    print(f"objectives agree within each scenario's gap: {bool((differ <= allowed + 1e-9).all())} "
          f"(largest difference {differ.max():.3%})")
    speedup = one["wall"] / two["wall"]
    efficiency = speedup / 2
    cpu_efficiency = one["task_cpu"] / two["task_cpu"]
    print(f"\nspeed-up of 2 workers over 1: {speedup:.2f}x (target >= 1.6x) "
          f"{'MET' if speedup >= 1.6 else 'NOT MET'}")
    print(f"sweep efficiency on 2 workers: {efficiency:.0%} (target >= 80 %) "
          f"{'MET' if efficiency >= 0.8 else 'NOT MET'}")
    print(f"summed task CPU seconds: {one['task_cpu']:.1f} (1 worker), {two['task_cpu']:.1f} (2 workers), "
          f"ratio {cpu_efficiency:.2f}: the same work either way, so a speed-up below 2x is time the "
          "workers waited, for a core or for the scheduler")
    print("wall times on a machine shared with other work are pessimistic: compare the CPU share of the two runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
