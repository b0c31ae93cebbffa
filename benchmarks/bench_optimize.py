"""Build, hand-off and solve of the siting MILP on synthetic studies, against issue 12's targets.

Usage::

    python benchmarks/bench_optimize.py                    # 100 x 20 and 1,000 x 20
    python benchmarks/bench_optimize.py 100 20             # one size: sites, years
    python benchmarks/bench_optimize.py --big              # adds 5,000 sites x 25 years
    python benchmarks/bench_optimize.py 100 20 --lp-solvers   # time every LP solver on the LP
    python benchmarks/bench_optimize.py --time-limit 1800 --lp-solver simplex
    python benchmarks/bench_optimize.py 1000 20 --no-solve  # build, hand-off, floor, memory
    python benchmarks/bench_optimize.py 100 20 --no-solve --no-pyomo --compact-lp  # plain vs compact LP
    python benchmarks/bench_optimize.py 1000 20 --no-solve --compact  # the compact formulation

Each size runs in a fresh process. It prints: model size; build seconds (numpy triplets to
the model's arrays) and hand-off seconds (those arrays to ``passModel``), the route the
solve takes; the *floor* (the identical matrix built from the numpy triplets and passed to
highspy with ``passModel`` in another fresh process: seconds and peak RSS); our peak RSS
after the hand-off; for reference, the seconds of the Pyomo route (the ConcreteModel built
from the arrays, then Pyomo's standard-form compiler to ``passModel``; ``--no-pyomo`` skips
it); the seconds of the screening LP, the restricted MIP and the full MIP; the gap; the
sites set aside by LP reduced costs; and each figure against its target:

* 1,000 x 20 to a 1 % gap in <= 300 s (5,000 x 25: a feasible plan with a gap <= 2 % in <= 900 s);
* build + hand-off <= 5 % of the total and <= 20x the floor's seconds;
* peak memory <= 2x the floor's.

Synthetic inputs (dcplan.testing.synthetic): 4 chips, 3 coolings, 3 interconnect options,
1,500 GPUs of target per candidate site in the last year, threads=1 (``--threads N``: the
solve's threads, on which the sifting route also prices its sites), seed 0. Wall seconds
depend on the machine's load; CPU seconds are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHIPS = ("h100_sxm", "mi300x", "b200_hgx", "gb200_nvl72")
COOLINGS = ("air_chiller", "dlc_dry", "immersion")
TARGET_S = {(1000, 20): 300.0, (5000, 25): 900.0}
TARGET_GAP = {(5000, 25): 0.02}


def _rss_mb() -> float:
    """Peak resident set size of this process [MB].

    Linux's ``VmHWM`` (reset at exec, unlike ``ru_maxrss``, which a child started from a big
    process inherits); ``ru_maxrss`` elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------- the floor
def floor(path: str) -> None:
    """Fresh process: the matrix from numpy triplets to ``passModel``; prints JSON."""
    import highspy
    import scipy.sparse as sp

    z = np.load(path)
    base = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    n_row, n_col = (int(v) for v in z["shape"])
    A = sp.csc_array((z["v"], (z["r"], z["c"])), shape=(n_row, n_col))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    status = h.passModel(
        n_col, n_row, A.nnz, 1, 1, 0.0, z["cost"], z["cl"], z["cu"], z["rl"], z["ru"],
        A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32), A.data, z["integ"],
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = status != highspy.HighsStatus.kError
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": _rss_mb(), "import_rss_mb": base,
                      "ok": bool(ok)}))


def _floor(sm, tmp: str) -> dict:
    coo = sm.A.tocoo()
    row_lower, row_upper = sm.row_bounds()
    path = os.path.join(tmp, "floor.npz")
    np.savez(path, r=coo.row.astype(np.int32), c=coo.col.astype(np.int32), v=coo.data,
             shape=np.array(sm.A.shape), cost=sm.cost, cl=sm.col_lower, cu=sm.col_upper,
             rl=row_lower, ru=row_upper,
             integ=sm.integrality.astype(np.int32))
    out = subprocess.run([sys.executable, __file__, "--floor", path], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ LP solvers
ALL_LP_RUNS = [("simplex", {}), ("ipx", {"run_crossover": "on"}), ("ipx", {"run_crossover": "off"}),
               ("hipo", {"run_crossover": "on"}), ("pdlp", {})]
#: the two LP solvers dcplan chooses between (docs/performance.md §4), for --compact-lp
CHOSEN_LP_RUNS = [("ipx", {"run_crossover": "on"}), ("simplex", {})]


def lp_solvers(sm, time_limit: float, runs=ALL_LP_RUNS) -> list[dict]:
    """Seconds of the LP relaxation by each HiGHS LP solver (fresh Highs each time)."""
    import highspy

    from dcplan.optimize.highs import handoff

    out = []
    for solver, extra in runs:
        ho = handoff(sm, compile_pyomo=False)
        h = ho.highs
        h.changeColsIntegrality(sm.n_col, np.arange(sm.n_col, dtype=np.int32),
                                np.zeros(sm.n_col, dtype=np.uint8))
        for key, value in {"solver": solver, "threads": 1, "time_limit": time_limit, **extra}.items():
            h.setOptionValue(key, value)
        t0, c0 = time.perf_counter(), time.process_time()
        h.run()
        info = h.getInfo()
        out.append({
            "solver": solver + ("" if not extra else f" crossover {extra['run_crossover']}"),
            "status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value if info.primal_solution_status else float("nan"),
            "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            # HiGHS falls back to simplex when a solver is not in the build
            "iterations": f"simplex {info.simplex_iteration_count}, ipm {info.ipm_iteration_count}, "
                          f"pdlp {info.pdlp_iteration_count}",
            "ok": h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
        })
    return out


# ------------------------------------------------------------------------------- one size
def run(n_sites: int, n_years: int, *, gap: float, time_limit: float, seed: int, lp_solver: str,
        compare_lp: bool, solve: bool = True, pyomo_route: bool = True,
        compact_lp: bool = False, compact: bool = False, route: str = "auto", threads: int = 1) -> dict:
    from dcplan.optimize.highs import handoff
    from dcplan.optimize.model import build_model
    from dcplan.optimize.solve import optimise
    from dcplan.testing.synthetic import make_inputs

    inputs = make_inputs(n_sites, n_years, chips=CHIPS, coolings=COOLINGS, seed=seed)
    base = _rss_mb()
    c0 = time.process_time()
    sm = build_model(inputs, compact=compact)
    t_build, cpu_build = sm.build_seconds, time.process_time() - c0
    c0 = time.process_time()
    ho = handoff(sm)
    cpu_handoff = time.process_time() - c0
    rss = _rss_mb()  # peak so far: imports, inputs, build and the default hand-off
    r = {"sites": n_sites, "years": n_years, "columns": sm.n_col,
         "integer": int(sm.integrality.sum()), "rows": sm.n_row, "nonzeros": int(sm.A.nnz),
         "build_s": t_build, "build_cpu": cpu_build, "handoff_s": ho.seconds,
         "handoff_cpu": cpu_handoff, "rss_mb": rss, "import_rss_mb": base}
    with tempfile.TemporaryDirectory() as tmp:
        r["floor"] = _floor(sm, tmp)
    if pyomo_route:
        # the reference route: the Pyomo model built from the arrays, then compiled by
        # Pyomo's LinearStandardFormCompiler (a second HiGHS instance, dropped after)
        t0, c0 = time.perf_counter(), time.process_time()
        sm.model  # noqa: B018  (built on first access)
        r["pyomo_build_s"], r["pyomo_build_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        c0 = time.process_time()
        r["pyomo_handoff_s"] = handoff(sm, compile_pyomo=True).seconds
        r["pyomo_handoff_cpu"] = time.process_time() - c0
        r["pyomo_rss_mb"] = _rss_mb()
    if compare_lp:
        r["lp_solvers"] = lp_solvers(sm, time_limit)
    if compact_lp:
        # the same LP relaxation in the compact formulation (GPUs online as window sums of
        # vintages, dcplan.optimize.compact) beside the plain one, by the two chosen solvers
        small = build_model(inputs, compact=True)
        r["compact"] = {"columns": small.n_col, "rows": small.n_row, "nonzeros": int(small.A.nnz),
                        "build_s": small.build_seconds}
        r["lp_solvers"] = [dict(row, form="plain") for row in lp_solvers(sm, time_limit, CHOSEN_LP_RUNS)]
        r["lp_solvers"] += [dict(row, form="compact")
                            for row in lp_solvers(small, time_limit, CHOSEN_LP_RUNS)]
        del small
    if not solve:
        return r
    c0 = time.process_time()
    t0 = time.perf_counter()
    res = optimise(sm, ho, time_limit_s=time_limit, mip_rel_gap=gap, threads=threads, seed=seed,
                   lp_solver=lp_solver, route=route)
    r.update(solve_s=time.perf_counter() - t0, solve_cpu=time.process_time() - c0,
             phases=res["phases"], status=res["status"], gap=res.get("gap", float("nan")),
             objective=res.get("objective", float("nan")), bound=res.get("bound", ""),
             lp_solver=res["lp_solver"], sites_pruned=res["sites_pruned"],
             route=res.get("route", "full"), sites_kept=res.get("sites_kept", 0),
             lp_rounds=res.get("lp_rounds", 0), lp_bound=res.get("lp_bound", float("nan")),
             lagrangian_bound=res.get("lagrangian_bound", float("nan")),
             threads=threads)
    return r


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report(r: dict, gap: float) -> None:
    size = (r["sites"], r["years"])
    fl = r["floor"]
    overhead = r["build_s"] + r["handoff_s"]
    print(f"{r['sites']:>5} sites x {r['years']} years: {r['columns']:,} columns "
          f"({r['integer']:,} integer), {r['rows']:,} rows, {r['nonzeros']:,} nonzeros")
    print(f"  build {r['build_s']:.2f} s (cpu {r['build_cpu']:.2f}), hand-off {r['handoff_s']:.2f} s "
          f"(cpu {r['handoff_cpu']:.2f}) of the model's arrays; floor (numpy triplets -> passModel, "
          f"fresh process) {fl['seconds']:.2f} s (cpu {fl['cpu']:.2f}); build + hand-off "
          f"{overhead / fl['seconds']:.1f}x the floor (cpu {(r['build_cpu'] + r['handoff_cpu']) / fl['cpu']:.1f}x)")
    print(f"  peak RSS: ours {r['rss_mb']:,.0f} MB after the hand-off (imports and inputs "
          f"{r['import_rss_mb']:,.0f} MB), floor {fl['rss_mb']:,.0f} MB (imports and arrays "
          f"{fl['import_rss_mb']:,.0f} MB): {r['rss_mb'] / fl['rss_mb']:.2f}x")
    if "pyomo_build_s" in r:
        print(f"  reference, the Pyomo route: ConcreteModel from the arrays {r['pyomo_build_s']:.2f} s "
              f"(cpu {r['pyomo_build_cpu']:.2f}), LinearStandardFormCompiler -> passModel "
              f"{r['pyomo_handoff_s']:.2f} s (cpu {r['pyomo_handoff_cpu']:.2f}); peak RSS then "
              f"{r['pyomo_rss_mb']:,.0f} MB")
    if "compact" in r:
        c = r["compact"]
        print(f"  compact form: {c['columns']:,} columns, {c['rows']:,} rows, {c['nonzeros']:,} "
              f"nonzeros, built in {c['build_s']:.2f} s")
    for row in r.get("lp_solvers", []):
        form = f" ({row['form']})" if "form" in row else ""
        print(f"  LP{form} by {row['solver']:<18} {row['status']:<12} objective {row['objective']:,.4f} "
              f"in {row['seconds']:7.1f} s (cpu {row['cpu']:.1f}) [{row['iterations']}]")
    if "solve_s" not in r:
        ratio = overhead / fl["seconds"] if fl["seconds"] > 0 else float("nan")
        mem = r["rss_mb"] / fl["rss_mb"]
        print(f"  targets (no solve): build + hand-off {ratio:.1f}x the floor (<= 20x: "
              f"{_verdict(ratio <= 20)}); peak memory {mem:.1f}x the floor's (<= 2x: "
              f"{_verdict(mem <= 2)})", flush=True)
        return
    total = overhead + r["solve_s"]
    ph = r["phases"]
    if r.get("route") == "sifting":
        print(f"  route: site sifting; LP by {r['lp_rounds']} rounds (bound {r['lp_bound']:,.1f} "
              f"MUSD; with the sites' integers {r.get('lagrangian_bound', float('nan')):,.1f}), "
              f"MIP over {r['sites_kept']} kept sites")
    print(f"  solve on {r.get('threads', 1)} thread(s) {r['solve_s']:.1f} s (cpu {r['solve_cpu']:.1f}): "
          f"LP ({r['lp_solver']}) "
          f"{ph.get('lp', 0):.1f} s, restricted MIP {ph.get('restricted_mip', 0):.1f} s, "
          f"full MIP {ph.get('mip', 0):.1f} s; {r['sites_pruned']} sites set aside by LP reduced "
          f"costs; [{r['status']}, gap {r['gap']:.3%}, bound from {r['bound']}, objective "
          f"{r['objective']:,.1f} MUSD]")
    want_gap = TARGET_GAP.get(size, gap)
    limit = TARGET_S.get(size)
    solved = r["status"] in ("optimal", "time_limit") and r["gap"] <= want_gap + 1e-12
    line = f"  targets: total {total:.1f} s to gap {r['gap']:.2%}"
    if limit is not None:
        line += f" (target <= {limit:.0f} s to {want_gap:.0%}: {_verdict(solved and total <= limit)})"
    share = overhead / total if total > 0 else float("nan")
    ratio = overhead / fl["seconds"] if fl["seconds"] > 0 else float("nan")
    mem = r["rss_mb"] / fl["rss_mb"]
    print(line + f"; build + hand-off {share:.1%} of the total (<= 5 %: {_verdict(share <= 0.05)}), "
          f"{ratio:.1f}x the floor (<= 20x: {_verdict(ratio <= 20)}); peak memory {mem:.1f}x the "
          f"floor's (<= 2x: {_verdict(mem <= 2)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="*", type=int, help="sites years (default 100 20 and 1000 20)")
    parser.add_argument("--big", action="store_true", help="also 5,000 sites x 25 years")
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lp-solver", default="auto")
    parser.add_argument("--lp-solvers", action="store_true", help="time every HiGHS LP solver")
    parser.add_argument("--route", default="auto", help="solve route: auto, full or sifting")
    parser.add_argument("--threads", type=int, default=1,
                        help="solver threads (the sifting route prices sites on this many)")
    parser.add_argument("--compact-lp", action="store_true",
                        help="time the LP relaxation of the plain and the compact form (IPX, simplex)")
    parser.add_argument("--compact", action="store_true",
                        help="build and solve the compact formulation (dcplan.optimize.compact)")
    parser.add_argument("--no-solve", action="store_true",
                        help="build, hand-off, floor and memory only (no MIP solve)")
    parser.add_argument("--no-pyomo", action="store_true",
                        help="skip the reference line of the Pyomo route")
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(args.floor)
        return
    if args.child:
        r = run(*args.size, gap=args.gap, time_limit=args.time_limit, seed=args.seed,
                lp_solver=args.lp_solver, compare_lp=args.lp_solvers, solve=not args.no_solve,
                pyomo_route=not args.no_pyomo, compact_lp=args.compact_lp, compact=args.compact,
                route=args.route, threads=args.threads)
        print(json.dumps(r, default=float))
        return
    if args.size and len(args.size) != 2:
        parser.error("give the size as two numbers: sites years")
    sizes = [tuple(args.size)] if args.size else [(100, 20), (1000, 20)]
    if args.big:
        sizes.append((5000, 25))
    import highspy  # noqa: F401  (version below)
    import pyomo

    print(f"python {platform.python_version()}, pyomo {pyomo.version.version}, "
          f"highspy {version('highspy')}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for n_sites, n_years in sizes:
        cmd = [sys.executable, __file__, str(n_sites), str(n_years), "--child", "--gap", str(args.gap),
               "--time-limit", str(args.time_limit), "--seed", str(args.seed),
               "--lp-solver", args.lp_solver, "--route", args.route, "--threads", str(args.threads)]
        cmd += ["--lp-solvers"] if args.lp_solvers else []
        cmd += (["--no-solve"] if args.no_solve else []) + (["--no-pyomo"] if args.no_pyomo else [])
        cmd += (["--compact-lp"] if args.compact_lp else []) + (["--compact"] if args.compact else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode != 0:
            print(f"{n_sites} x {n_years}: failed\n{out.stderr[-2000:]}", flush=True)
            continue
        report(json.loads(out.stdout.strip().splitlines()[-1]), args.gap)


if __name__ == "__main__":
    main()
