"""The sifting route's per-site work on Dask: 1 worker against 2 on the same study.

Usage::

    python benchmarks/bench_pricing.py                  # 1,000 sites x 20 years
    python benchmarks/bench_pricing.py 300 20 --rounds 3

The study is the synthetic one of ``bench_optimize.py`` (seed 0). The LP is sifted once in
this process (one thread) for its optimal duals; then, on a LocalCluster of 1 worker
and again of 2 (``dcplan.distributed.cluster``, the workers started and warmed before the
clock), a :class:`dcplan.optimize.pricing.Pricer` with the cluster's client prices every
site at those duals (cold: each worker builds its sites' LPs), then at duals 3 % lower per
further ``--rounds`` (warm: from the last basis), then solves the site bounds' LPs. Printed: the seconds
of sending the sites' problems to the workers, of each phase, the speed-up of 2 workers
over 1 on the per-site work (target >= 1.6x, issue 12) and whether every price equals the
serial one. Wall seconds depend on the machine's load; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcplan.distributed import cluster  # noqa: E402
from dcplan.optimize import screening as sc  # noqa: E402
from dcplan.optimize.model import build_model  # noqa: E402
from dcplan.optimize.pricing import Pricer  # noqa: E402
from dcplan.testing.synthetic import make_inputs  # noqa: E402

CHIPS = ("h100_sxm", "mi300x", "b200_hgx", "gb200_nvl72")
COOLINGS = ("air_chiller", "dlc_dry", "immersion")
TARGET = 1.6


def duals(blocks, rounds: int):
    """The LP's optimal coupling-row duals, then ``rounds - 1`` more, each 3 % lower (a
    change of costs like the one between sifting rounds)."""
    lp = sc.sift_lp(blocks, threads=1)
    lp.pricer.close()
    return [lp.y * 0.97**k for k in range(rounds)], lp


def per_site_work(blocks, ys, active, client) -> tuple[dict, np.ndarray]:
    """Seconds of each phase on ``client``'s workers, and every price computed."""
    pricer = Pricer(blocks, client=client)
    sites = np.arange(blocks.n_site)
    t = time.perf_counter()
    pricer.start()
    seconds = {"send the sites' problems": time.perf_counter() - t}
    prices = []
    for k, y in enumerate(ys):
        d = pricer.reduced_costs(y)
        t = time.perf_counter()
        prices.append(pricer.price_all(sites, d))
        seconds["price every site, " + ("cold" if k == 0 else f"warm {k}")] = time.perf_counter() - t
    t = time.perf_counter()
    empty = pricer.closed_empty_all(sites, active)
    d = pricer.reduced_costs(ys[-1])
    forced = {int(s): active[s][active[s] >= 0][-1:] for s in np.nonzero(empty)[0]}
    prices.append(pricer.price_all(np.nonzero(empty)[0], d, forced=forced))
    seconds["site bounds (closed check, priced open)"] = time.perf_counter() - t
    pricer.close()
    return seconds, np.concatenate(prices)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="*", type=int, default=[1000, 20])
    parser.add_argument("--rounds", type=int, default=2, help="dual vectors priced (1 cold + warm)")
    args = parser.parse_args(argv[1:])
    n_sites, n_years = args.size
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    t = time.perf_counter()
    ds = make_inputs(n_sites, n_years, seed=0, chips=CHIPS, coolings=COOLINGS)
    sm = build_model(ds)
    blocks = sc.site_blocks(sm)
    active = sm.variables["site_active"].pos[:, 0, 0, 0, :]
    ys, lp = duals(blocks, args.rounds)
    print(f"{n_sites} sites x {n_years} years: {sm.n_col:,} columns; LP sifted in this process "
          f"({lp.rounds} rounds) in {time.perf_counter() - t:.1f} s with build")
    serial = Pricer(blocks)
    reference = np.concatenate(
        [serial.price_all(np.arange(blocks.n_site), serial.reduced_costs(y)) for y in ys])
    serial.close()
    runs = {}
    for workers in (1, 2):
        with cluster(workers=workers, host="127.0.0.1") as client:
            client.wait_for_workers(workers, timeout=120)
            client.run(lambda: __import__("dcplan.optimize.pricing"))  # imports off the clock
            seconds, values = per_site_work(blocks, ys, active, client)
        runs[workers] = seconds
        same = np.allclose(values[: len(reference)], reference, rtol=1e-9, atol=1e-9)
        print(f"  {workers} worker(s): " + "; ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
              + f"; prices equal the serial ones: {'yes' if same else 'NO'}")
    work = {w: sum(v for k, v in s.items() if not k.startswith("send")) for w, s in runs.items()}
    speed = work[1] / work[2]
    print(f"  per-site work: 1 worker {work[1]:.2f} s, 2 workers {work[2]:.2f} s: speed-up "
          f"{speed:.2f}x (target >= {TARGET}x: {'MET' if speed >= TARGET else 'NOT MET'})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
