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

Then, to find where a speed-up below 2x comes from:

- per-phase CPU seconds (user + system) summed over the scenarios for each run, and their
  ratio: a phase that costs more CPU when two tasks run at once is slowed by the other core
- the CPU of the workers' task threads and of their other threads (Dask's event loop and
  anything else: a sign of oversubscription), and of the sweep's own process (writing the
  scenarios, the scheduler)
- the tail: from the first worker running out of scenarios to the last result, and the
  time to combine sweep.csv and sweep.nc at the end
- a machine check: the CPU seconds of fixed work (a Python loop in cache, numpy streaming
  through memory) alone and on both cores at once; a ratio above 1 is the machine (shared
  physical core or memory bandwidth), which no setting of dcplan changes

On a shared machine wall times are inflated by the other load; the summed CPU seconds
show how much work the scenarios themselves took.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
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
    from dcplan.sweep import _thread_cpu, run_sweep

    started = time.perf_counter()
    with cluster(workers=workers, host="127.0.0.1") as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        startup = time.perf_counter() - started
        load = os.getloadavg()[0]
        done: dict[str, float] = {}

        def progress(event, info=None):
            if event == "scenario" and info.get("state") == "done":
                done[info["scenario"]] = time.perf_counter()
            elif event == "combine":
                done["<combine>"] = time.perf_counter()

        threads0 = _thread_cpu()
        t0, cpu0 = time.perf_counter(), time.process_time()
        table = run_sweep(base, scenarios=cases, out=out, scheduler=client.scheduler.address, report=False,
                          progress=progress)
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
        threads1 = _thread_cpu()
        # this process's main thread ran run_sweep (writing each scenario, combining); the
        # others are the event loop of the scheduler and the client
        main = threading.main_thread().native_id
        client_main = threads1.get(main, 0.0) - threads0.get(main, 0.0)
        worker_cpu = client.run(_process_cpu)
    records = [json.loads((out / case.folder / "scenario.json").read_text()) for case in cases]
    # the tail: from the first worker to run out of scenarios to the end of the sweep
    last_by_worker = {}
    for record in records:
        last_by_worker[record["worker"]] = max(last_by_worker.get(record["worker"], 0.0), done[record["name"]])
    tail = (max(last_by_worker.values()) - min(last_by_worker.values())) if len(last_by_worker) > 1 else 0.0
    return {"workers": workers, "startup": startup, "wall": wall, "client_cpu": client_cpu, "table": table,
            "task_wall": float(table["task_seconds"].sum()), "task_cpu": float(table["task_cpu_seconds"].sum()),
            "records": records, "tail": tail, "worker_cpu": worker_cpu, "combine": t0 + wall - done["<combine>"],
            "client_main": client_main,
            "load_before": load, "load_after": os.getloadavg()[0]}


def _process_cpu() -> float:
    """CPU seconds of this (worker) process so far."""
    return time.process_time()


def _kernel(kind: str) -> float:
    """CPU seconds of a fixed amount of work: a Python loop in cache, or numpy streaming 128 MB."""
    import numpy as np

    cpu = time.process_time()
    if kind == "python":
        total = 0
        for i in range(6_000_000):
            total += i * i % 7
    else:
        a = np.full(8_000_000, 1.0)
        b = np.empty_like(a)
        for _ in range(30):
            np.multiply(a, 1.0001, out=b)
            np.add(b, a, out=a)
    return time.process_time() - cpu


def machine_check() -> None:
    """Does one core slow the other down? The same work alone, then on both cores at once.

    dcplan cannot change this: on a virtual machine whose two vCPUs are hyperthreads of one
    physical core, or whose memory bandwidth is shared, every task costs more CPU seconds
    when both cores work, and the speed-up of 2 workers is capped below 2x by that much.
    """
    from concurrent.futures import ProcessPoolExecutor

    print("\nmachine check: CPU seconds of fixed work alone / with the other core doing the same")
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_kernel, ["python", "python"]))  # start both processes
        for kind in ("python", "numpy"):
            alone = min(pool.submit(_kernel, kind).result() for _ in range(2))
            pair = max(max(pool.map(_kernel, [kind, kind])) for _ in range(2))
            print(f"  {kind + (' loop in cache' if kind == 'python' else ' streaming 128 MB'):<26} "
                  f"{alone:6.2f} s alone, {pair:6.2f} s in pairs: x{pair / alone:.2f}")


def phase_table(runs: list[dict]) -> None:
    """Summed CPU seconds (user + system) of each phase of the tasks, per run."""
    phases = list(dict.fromkeys(p for r in runs for rec in r["records"] for p in rec.get("phases", {})
                                if p != "threads"))
    print("\nper-phase CPU seconds summed over the scenarios (user + system; system in brackets)")
    print(f"{'phase':>10} " + " ".join(f"{str(r['workers']) + ' worker(s)':>20}" for r in runs)
          + (f" {'ratio 2/1':>9}" if len(runs) == 2 else ""))
    for phase in phases:
        cells, totals = [], []
        for r in runs:
            user = sum(rec.get("phases", {}).get(phase, {}).get("user", 0.0) for rec in r["records"])
            system = sum(rec.get("phases", {}).get(phase, {}).get("system", 0.0) for rec in r["records"])
            totals.append(user + system)
            cells.append(f"{user + system:>11.2f} ({system:>5.2f})")
        ratio = f" {totals[1] / totals[0]:>9.2f}" if len(runs) == 2 and totals[0] > 0 else ""
        print(f"{phase:>10} " + " ".join(f"{c:>20}" for c in cells) + ratio)
    for r in runs:
        threads = [rec.get("phases", {}).get("threads") for rec in r["records"]]
        threads = [t for t in threads if t]
        if threads:
            main = sum(t["main"] for t in threads)
            other = sum(t["other"] for t in threads)
            print(f"{r['workers']} worker(s): CPU of the workers' main threads during tasks {main:.1f} s, of their "
                  f"other threads {other:.1f} s ({other / max(main + other, 1e-9):.1%}; at most "
                  f"{max(t['count'] for t in threads)} threads per worker); whole worker processes "
                  f"{sum(r['worker_cpu'].values()):.1f} s since start-up; the sweep's process {r['client_cpu']:.1f} s "
                  f"({r['client_main']:.1f} s writing and combining, the rest the scheduler and client event loop)")


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
    phase_table(runs)
    machine_check()
    for r in runs:
        print(f"{r['workers']} worker(s): tail (first worker out of scenarios to the last result) {r['tail']:.1f} s, "
              f"then sweep.csv and sweep.nc written in {r['combine']:.1f} s")
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
