"""Two-stage extensive form: build time of the two routes, and the solve, on synthetic studies.

Prints, for S demand scenarios of an n-site synthetic study: the scenario models' build time,
the array route (block-diagonal scenario matrices + non-anticipativity rows, passed to HiGHS)
and the Pyomo route (one parent ConcreteModel with a Block per scenario, compiled by the
standard-form compiler), wall and CPU seconds, and that both reach the same optimum.

    PYTHONPATH=. python benchmarks/bench_stochastic.py [n_sites] [n_years] [n_scenarios]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from dcplan.optimize import stochastic as st
from dcplan.testing.synthetic import make_inputs


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(n_sites: int = 12, n_years: int = 6, n_scenarios: int = 3) -> None:
    base = make_inputs(n_sites, n_years, seed=0)
    factors = np.linspace(0.5, 1.5, n_scenarios)
    inputs = []
    for f in factors:
        ds = base.copy()
        ds["target_gpus"] = base["target_gpus"] * f
        ds.attrs = dict(base.attrs, shortfall_penalty_usd_per_gpu=60_000.0)
        inputs.append(ds)
    p = np.full(n_scenarios, 1.0 / n_scenarios)
    stage = st.Stage(int(base["year"].values[n_years // 3]))
    opts = st.SolverOptions(mip_rel_gap=0.01, time_limit_s=120)

    scenarios, w, c = _timed(lambda: st.scenarios_from_inputs(inputs, p))
    print(f"{n_scenarios} scenarios x {n_sites} sites x {n_years} years: scenario models built in "
          f"{w:.2f} s wall ({c:.2f} s CPU)")
    ef, w1, c1 = _timed(lambda: st.extensive_form(scenarios, stage))
    ho, w2, c2 = _timed(lambda: st._pass(ef.A, ef.row_lower, ef.row_upper, ef.col_lower, ef.col_upper,
                                          ef.integrality, ef.cost, ef.offset))
    print(f"array route: extensive form {w1:.3f} s + hand-off {w2:.3f} s wall "
          f"({c1 + c2:.3f} s CPU); {ef.n_col:,} columns, {ef.A.shape[0]:,} rows "
          f"({ef.n_link_rows:,} non-anticipativity)")
    res, w, c = _timed(lambda: st._run(ho, opts, ef.offset))
    print(f"array route solve: {res['status']}, {res['objective']:.3f} MUSD in {w:.2f} s wall ({c:.2f} s CPU)")

    fresh = st.scenarios_from_inputs(inputs, p)
    (parent, order), w3, c3 = _timed(lambda: st.build_pyomo_extensive_form(fresh, stage))
    res2, w4, c4 = _timed(lambda: st.solve_pyomo_extensive_form(parent, order, opts))
    compile_s = res2["compile_seconds"]
    print(f"Pyomo route: parent model with Blocks {w3:.3f} s + standard-form compile {compile_s:.3f} s wall "
          f"({c3:.3f} s CPU to build)")
    print(f"Pyomo route solve: {res2['status']}, {res2['objective']:.3f} MUSD")
    print(f"build + hand-off, array / Pyomo route: {(w1 + w2):.3f} s / {(w3 + compile_s):.3f} s "
          f"({(w3 + compile_s) / max(w1 + w2, 1e-9):.0f}x)")
    print(f"same optimum within the gap: {abs(res['objective'] - res2['objective']) <= 0.01 * abs(res['objective'])}")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:]])
