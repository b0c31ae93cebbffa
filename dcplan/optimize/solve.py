"""Hand the model to HiGHS in one call, solve it, and turn the answer into a Plan.

Route (docs/performance.md §2-3): the model's arrays (row-wise) -> one ``Highs.passModel``
with integrality (Pyomo's ``LinearStandardFormCompiler`` on request); options set explicitly;
the solution read once with ``np.asarray(col_value)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import xarray as xr

from dcplan.errors import AuditError, InfeasibleError, SolveError
from dcplan.optimize.duals import shadow_price_table
from dcplan.optimize.highs import Handoff, handoff
from dcplan.optimize.highs_quiet import safe_run, set_threads
from dcplan.optimize.model import SitingModel, build_model
from dcplan.optimize.screening import lagrangian_term, site_blocks, solve_by_sifting

logger = logging.getLogger(__name__)

Progress = Callable[[str, dict], None]

#: share of the time limit the LP-screening MIP start may use
SCREEN_SHARE = 0.4

#: LP solvers a route may name; "auto" picks by size (:func:`choose_lp_solver`). HiPO and
#: PDLP are left out: the highspy wheel in use (1.16) falls back to simplex for HiPO, and PDLP
#: took 372 s on the 100-site LP (first-order accuracy, no basis for reduced costs)
LP_SOLVERS = ("auto", "simplex", "ipx")

#: from this many columns on, the LPs are solved by interior point (IPX, with crossover to a
#: basic solution) rather than dual simplex. Measured by benchmarks/bench_optimize.py
#: ``--lp-solvers`` (docs/performance.md): at 100 sites x 20 years (55,580 columns) IPX takes
#: 17 s against 70 s for dual simplex; below a few thousand columns both take well under a
#: second and simplex needs no crossover.
IPM_FROM_COLUMNS = 5_000

#: solve routes: "full" hands the whole MIP to HiGHS (after the LP-screening start); "sifting"
#: solves the LP by site sifting and the MIP over the sites it needs, with a bound that
#: covers the sites left out (:mod:`dcplan.optimize.screening`); "auto" picks by size
ROUTES = ("auto", "full", "sifting")

#: from this many columns on, "auto" takes the sifting route. Measured (docs/performance.md):
#: the national study (570 sites x 10 years, 164,904 columns) found no plan in 600 s by the
#: full route and a plan within its 1 % gap in about 20 s by sifting; at 1,000 sites x 20 years
#: sifting solved the LP exactly in 4 rounds where interior point on the whole LP stalled; at
#: 100 x 20 (56k columns) the full route's branch and bound gives the tighter bound, because
#: the left-out sites' bounds are weak when the fleet needs only a few sites
SIFT_FROM_COLUMNS = 100_000

#: relative margin by which a site's LP bound must exceed the incumbent before the site is
#: set aside (LP optimality tolerances are about 1e-7 of the objective)
PRUNE_MARGIN = 1e-6


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        msg = f"{name} must be one of {list(allowed)}, got {value!r}"
        raise ValueError(msg)


def choose_lp_solver(n_col: int, lp_solver: str = "auto") -> str:
    """The HiGHS LP solver for a model of ``n_col`` columns (``lp_solver`` unless "auto")."""
    _check_choice("lp_solver", lp_solver, LP_SOLVERS)
    if lp_solver != "auto":
        return lp_solver
    return "ipx" if n_col >= IPM_FROM_COLUMNS else "simplex"


def choose_route(n_col: int, route: str = "auto") -> str:
    """The solve route for a model of ``n_col`` columns (``route`` unless "auto")."""
    _check_choice("route", route, ROUTES)
    if route != "auto":
        return route
    return "sifting" if n_col >= SIFT_FROM_COLUMNS else "full"


def set_lp_solver(h: highspy.Highs, solver: str) -> None:
    """Use ``solver`` for a pure LP and for the LPs inside HiGHS's MIP search."""
    h.setOptionValue("solver", solver)
    h.setOptionValue("mip_lp_solver", solver)
    if solver != "simplex":
        h.setOptionValue("run_crossover", "on")  # a basic solution: exact reduced costs


def _solution(values: np.ndarray):
    sol = highspy.HighsSolution()
    sol.col_value = values.tolist()
    sol.value_valid = True
    return sol


def set_options(h: highspy.Highs, *, time_limit_s, mip_rel_gap, threads, seed) -> None:
    """Every option that changes the answer or its timing, set explicitly."""
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("time_limit", float(time_limit_s) if time_limit_s else float("inf"))
    set_threads(h, threads)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("output_flag", True)  # feed the logging callback; nothing reaches stdout
    h.setOptionValue("log_to_console", False)


@dataclass
class Start:
    """A MIP start and the LP bound found on the way (both in MUSD)."""

    x: np.ndarray  # column values in SitingModel order
    objective: float
    lp_bound: float  # optimum of the full LP relaxation: a valid lower bound of the MIP
    #: LP bound of any plan that opens the site: lp_bound + reduced cost of
    #: site_active[site, last year] at the LP optimum (one entry per site)
    site_bound: np.ndarray | None = None
    lp_seconds: float = 0.0
    mip_seconds: float = 0.0
    sites_kept: int = 0
    lp_solver: str = "simplex"

    @property
    def gap(self) -> float:
        """Relative gap of the start against the LP bound, as HiGHS defines mip_gap."""
        return (self.objective - self.lp_bound) / max(abs(self.objective), 1e-9)

    def unneeded_sites(self, sm: SitingModel) -> np.ndarray:
        """Sites no plan cheaper than this start can open (bool per site).

        For the LP optimum with row duals y and reduced costs d (from a basic solution),
        every feasible plan x costs at least ``lp_bound + sum_j max(d_j, 0) (x_j - lb_j)``.
        A plan that opens site s has ``site_active[s, T] = 1``, so it costs at least
        ``site_bound[s]``; where that exceeds the start's objective (by PRUNE_MARGIN), the
        optimum does not open s and ``site_active[s, T]`` may be fixed at 0. Sites the start
        itself opens are never set aside.
        """
        n_site = sm.inputs.sizes["site"]
        if self.site_bound is None:
            return np.zeros(n_site, bool)
        open_pos = sm.variables["site_active"].pos[..., -1].reshape(-1)
        margin = PRUNE_MARGIN * max(abs(self.objective), 1.0)
        return (self.site_bound > self.objective + margin) & (self.x[open_pos] < 0.5)


def screened_start(
    sm: SitingModel,
    *,
    time_limit_s: float | None,
    mip_rel_gap: float,
    threads: int,
    seed: int,
    lp_solver: str = "auto",
) -> Start | None:
    """A MIP start from LP screening: solve the LP relaxation, keep the sites it uses most,
    solve the MIP restricted to them, and return that plan with the LP bound (or None).

    HiGHS's own heuristics rarely find a good incumbent for this model: the LP relaxation
    spreads small fractions of capacity over many sites. The restricted MIP is small, and
    its solution is feasible for the full model, so HiGHS starts with a near-optimal
    incumbent and only has to close the bound. ``time_limit_s`` bounds the whole screening
    (the LP and the restricted MIP); None when it runs out. ``lp_solver`` solves the LP
    (:func:`choose_lp_solver`).
    """
    started = time.perf_counter()
    n_col = sm.n_col
    solver = choose_lp_solver(n_col, lp_solver)
    ho = handoff(sm, compile_pyomo=False)
    h = ho.highs
    every = np.arange(n_col, dtype=np.int32)
    set_threads(h, threads)
    h.setOptionValue("random_seed", int(seed))
    set_lp_solver(h, solver)
    h.changeColsIntegrality(n_col, every, np.zeros(n_col, dtype=np.uint8))
    if time_limit_s:
        h.setOptionValue("time_limit", float(time_limit_s))
    safe_run(h)
    lp_seconds = time.perf_counter() - started
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    lp_bound = float(h.getInfo().objective_function_value)
    lp = h.getSolution()
    x_lp = np.asarray(lp.col_value)
    open_pos = sm.variables["site_active"].pos[..., -1].reshape(-1)
    site_bound = None
    if lp.dual_valid and h.getBasis().valid:
        bound = dual_bound(
            ho, np.asarray(lp.row_dual), np.asarray(lp.col_dual), offset=sm.cost_offset
        )
        if np.isfinite(bound):
            site_bound = min(bound, lp_bound) + np.maximum(np.asarray(lp.col_dual)[open_pos], 0.0)
    score = x_lp[open_pos]
    lo = int(sm.inputs.attrs.get("min_sites", 0) or 0)
    # the sites the LP opens, by how much, then the unopened ones by their reduced cost
    # (the cheapest to bring in first), up to 3x the LP's open-site total + 3
    keep = min(len(open_pos), max(lo, int(np.ceil(score.sum())) * 3 + 3))
    reduced = np.asarray(lp.col_dual)[open_pos] if lp.dual_valid else np.zeros(len(open_pos))
    order = np.lexsort((reduced, -np.round(score, 9)))
    drop = open_pos[order[keep:]]
    upper = ho.col_upper.copy()
    upper[drop] = 0.0
    h.changeColsBounds(n_col, every, ho.col_lower, upper)
    h.changeColsIntegrality(n_col, every, ho.integrality.astype(np.uint8))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap) / 2)
    left = float(time_limit_s) - (time.perf_counter() - started) if time_limit_s else 600.0
    if left <= 0:
        return None
    h.setOptionValue("time_limit", left)
    safe_run(h)
    if h.getInfo().primal_solution_status != 2:
        return None
    logger.info(
        "screened start: %d of %d sites kept, objective %.1f MUSD",
        keep,
        len(open_pos),
        h.getInfo().objective_function_value,
    )
    return Start(
        np.asarray(h.getSolution().col_value),
        float(h.getInfo().objective_function_value),
        lp_bound,
        site_bound=site_bound,
        lp_seconds=lp_seconds,
        mip_seconds=time.perf_counter() - started - lp_seconds,
        sites_kept=keep,
        lp_solver=solver,
    )


def dual_bound(
    ho: Handoff, row_dual: np.ndarray, col_dual: np.ndarray, offset: float = 0.0, tol: float = 1e-9
) -> float:
    """The Lagrangian lower bound of the LP of ``ho`` given HiGHS's duals (minimisation).

    ``c'x = y'Ax + d'x`` with ``d = c - A'y``; over the box of rows and columns each term is
    smallest at the bound its dual's sign points to. A dual of magnitude above ``tol`` that
    points to an infinite bound makes the bound useless (-inf); smaller ones count as zero.
    """
    rows = lagrangian_term(row_dual, ho.row_lower, ho.row_upper, tol)
    return rows + lagrangian_term(col_dual, ho.col_lower, ho.col_upper, tol) + offset


def prune_sites(ho: Handoff, sm: SitingModel, unneeded: np.ndarray) -> int:
    """Fix ``site_active[s, T] = 0`` in ``ho`` for the sites flagged ``unneeded``."""
    if not unneeded.any():
        return 0
    where = np.full(sm.n_col, -1, dtype=np.int64)
    where[ho.cols] = np.arange(len(ho.cols))
    cols = where[sm.variables["site_active"].pos[..., -1].reshape(-1)[unneeded]]
    cols = cols[cols >= 0].astype(np.int32)
    ho.highs.changeColsBounds(
        len(cols), cols, ho.col_lower[cols], np.zeros(len(cols), dtype=float)
    )
    ho.col_upper[cols] = 0.0
    return len(cols)


def run_highs(
    ho: Handoff, *, progress: Progress | None = None, start: np.ndarray | None = None
) -> dict:
    """Run HiGHS and classify the result; returns the column values in SitingModel order."""
    h = ho.highs

    def on_log(event) -> None:
        message = getattr(event, "message", "")
        if message:
            logger.debug("HiGHS: %s", str(message).rstrip())

    def on_improving(event) -> None:
        out = event.data_out
        if progress is not None:
            progress(
                "solve",
                {
                    "phase": "solve",
                    "objective": out.objective_function_value,
                    "gap": out.mip_gap,
                    "seconds": out.running_time,
                    "detail": f"incumbent {out.objective_function_value:,.1f} MUSD, "
                    f"bound {out.mip_dual_bound:,.1f} MUSD, "
                    + (f"gap {out.mip_gap:.2%}" if np.isfinite(out.mip_gap) else "no bound yet"),
                },
            )

    if start is not None:
        h.setSolution(_solution(start[ho.cols]))
    h.cbLogging.subscribe(on_log)
    if progress is not None and ho.integrality.any():
        h.cbMipImprovingSolution.subscribe(on_improving)
    safe_run(h)
    h.cbLogging.unsubscribe(on_log) if hasattr(h.cbLogging, "unsubscribe") else None
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    if model_status == S.kOptimal:
        status = "optimal"
    elif model_status == S.kTimeLimit and has_solution:
        status = "time_limit"
    elif model_status in (S.kInfeasible, S.kUnboundedOrInfeasible):
        status = "infeasible"
    elif model_status == S.kTimeLimit:
        status = "no_solution"
    else:
        status = "error"
    result = {
        "status": status,
        "model_status": h.modelStatusToString(model_status),
        "seconds": h.getRunTime(),
    }
    if status in ("optimal", "time_limit"):
        x_h = np.asarray(h.getSolution().col_value)
        x = np.zeros(ho.n_col)  # columns Pyomo dropped (in no row, no cost) stay at 0
        x[ho.cols] = x_h
        result["x"] = x
        result["objective"] = float(info.objective_function_value)
        mip = bool(ho.integrality.any())
        result["gap"] = float(info.mip_gap) if mip else 0.0
        result["dual_bound"] = float(info.mip_dual_bound) if mip else result["objective"]
    return result


def _objective_consistent(sm: SitingModel, result: dict, rtol: float = 1e-7) -> bool:
    """Does the objective HiGHS reports match the cost of the plan it returns?"""
    cost = float(sm.cost @ result["x"] + sm.cost_offset)
    return abs(cost - result["objective"]) <= rtol * max(abs(cost), 1.0)


def optimise(
    sm: SitingModel,
    ho: Handoff,
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.01,
    threads: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
    use_start: bool = True,
    lp_solver: str = "auto",
    prune: bool = True,
    route: str = "auto",
    client=None,
) -> dict:
    """Solve the built and handed-off model: screening LP, MIP start, pruning, MIP.

    With ``route`` "sifting" (or "auto" on a large model, :func:`choose_route`) the model
    is solved by :func:`dcplan.optimize.screening.solve_by_sifting` instead; the plain
    route is the fallback when its LP cannot be sifted.

    ``client`` (a ``dask.distributed.Client``) runs the sifting route's per-site problems on
    its workers (:mod:`dcplan.optimize.pricing`).

    Returns the result of :func:`run_highs` (or of the LP-bound certificate) with
    ``"bound"`` (where the dual bound comes from), ``"phases"`` (seconds of the LP, the
    restricted MIP and the full MIP), ``"lp_solver"`` and ``"sites_pruned"``.
    """
    report = progress or (lambda event, info: None)
    if choose_route(sm.n_col, route) == "sifting" and sm.integrality.any():
        sifted = _solve_by_sifting(
            sm, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads, seed=seed,
            client=client, report=report,
        )
        if sifted is not None:
            return sifted
    solver = choose_lp_solver(sm.n_col, lp_solver)
    set_options(
        ho.highs, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads, seed=seed
    )
    set_lp_solver(ho.highs, solver)
    report("solve", {"phase": "solve", "detail": "HiGHS"})
    start = None
    screening = 0.0
    phases: dict[str, float] = {}
    if use_start and sm.integrality.any():
        # the screening gets a share of the time limit; the full MIP keeps the rest
        t0 = time.perf_counter()
        report(
            "screen",
            {"phase": "screen", "detail": "LP relaxation, then the MIP on the sites it uses"},
        )
        share = SCREEN_SHARE * time_limit_s if time_limit_s else None
        start = screened_start(
            sm,
            time_limit_s=share,
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            lp_solver=solver,
        )
        screening = time.perf_counter() - t0
        if start is not None:
            phases["lp"] = start.lp_seconds
            phases["restricted_mip"] = start.mip_seconds
        else:
            phases["lp"] = screening
        if time_limit_s:
            ho.highs.setOptionValue("time_limit", max(float(time_limit_s) - screening, 0.1))
    pruned = 0
    if start is not None and start.gap <= mip_rel_gap:
        # the LP relaxation already proves the start within the gap: no branch and bound
        result = {
            "status": "optimal",
            "model_status": "Optimal (within the gap of the LP bound)",
            "seconds": screening,
            "x": start.x,
            "objective": start.objective,
            "gap": max(start.gap, 0.0),
            "dual_bound": start.lp_bound,
            "bound": "lp_relaxation",
        }
    else:
        unneeded = start.unneeded_sites(sm) if (start is not None and prune) else None
        if unneeded is not None and unneeded.any():
            # proven by the LP's reduced costs: no plan cheaper than the start opens them
            pruned = prune_sites(ho, sm, unneeded)
            logger.info("%d of %d sites set aside by LP reduced costs", pruned, len(unneeded))
        result = run_highs(ho, progress=progress, start=start.x if start is not None else None)
        if start is not None and "x" in result and not _objective_consistent(sm, result):
            # HiGHS has been seen to report an objective for a MIP started from a given
            # solution that the solution does not have; its verdict is then not trusted and
            # the model is solved again from scratch
            logger.warning(
                "HiGHS reported objective %.6f MUSD for a plan that costs %.6f MUSD; "
                "solving again without the start",
                result["objective"],
                float(sm.cost @ result["x"] + sm.cost_offset),
            )
            seconds = result["seconds"]
            fresh = handoff(sm, compile_pyomo=False)
            set_options(
                fresh.highs,
                time_limit_s=time_limit_s,
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
            )
            set_lp_solver(fresh.highs, solver)
            pruned = 0
            result = run_highs(fresh, progress=progress)
            result["seconds"] += seconds
        phases["mip"] = result["seconds"]
        result["seconds"] += screening
        result["bound"] = "highs_mip"
        if pruned and "dual_bound" in result:
            # a plan opening a set-aside site costs at least its site bound
            floor = float(start.site_bound[unneeded].min())
            result["dual_bound"] = min(result["dual_bound"], floor)
            result["bound"] = "highs_mip+lp_reduced_costs"
    result["phases"] = phases
    result["lp_solver"] = solver
    result["sites_pruned"] = pruned
    result["route"] = "full"
    return result


def _solve_by_sifting(sm, *, time_limit_s, mip_rel_gap, threads, seed, report, client=None) -> dict | None:
    """The sifting route's result dict (as :func:`optimise`'s), or None if its LP failed."""
    report("screen", {"phase": "screen", "detail": "site sifting: the LP over a working set"})
    active = sm.variables["site_active"].pos[:, 0, 0, 0, :]
    result = solve_by_sifting(
        site_blocks(sm),
        active,
        ic_active=sm.variables["ic_active"].pos[:, 0, 0, :, :] if "ic_active" in sm.variables else None,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        threads=threads,
        seed=seed,
        client=client,
        progress=lambda message: report("screen", {"phase": "screen", "detail": message}),
    )
    if result is None:
        logger.warning("site sifting failed; solving the whole model instead")
        return None
    result["bound"] = "site_sifting"
    result["lp_solver"] = "sifting"
    result["route"] = "sifting"
    return result


def solve(
    inputs: xr.Dataset,
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.01,
    threads: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
    study_yaml: str | None = None,
    skip=(),
    use_start: bool = True,
    tighten: bool = True,
    diagnosis_time_limit_s: float = 60.0,
    shadow_prices: bool = True,
    lp_solver: str = "auto",
    prune: bool = True,
    route: str = "auto",
    pyomo_handoff: bool = False,
    compact: bool = False,
    client=None,
):
    """Solve the siting and build-out study ``inputs`` and return the audited Plan.

    Parameters
    ----------
    inputs : xr.Dataset
        The inputs contract of docs/architecture.md.
    time_limit_s : float, optional
        HiGHS time limit [s]; None = none.
    mip_rel_gap : float
        Relative MIP gap at which HiGHS stops.
    threads, seed : int
        HiGHS threads and random seed (the same inputs and seed give the identical plan).
    progress : callable, optional
        ``progress(event, info)`` for "build", "handoff", "solve" (each improving incumbent:
        objective [MUSD] and gap) and "audit".
    study_yaml : str, optional
        The study's YAML text, stored in ``plan.dataset.attrs["study_yaml"]``.
    skip : iterable of str
        Constraint families to leave out (what-if studies and tests).
    use_start : bool
        Give HiGHS a MIP start from LP screening (:func:`screened_start`) and accept it
        without branch and bound when the LP bound proves it within the gap.
    tighten : bool
        Column bounds and valid inequalities (:func:`dcplan.optimize.model.build_model`);
        ``False`` with ``use_start=False`` solves the plain model (the differential tests).
    diagnosis_time_limit_s : float
        Time the infeasibility diagnosis may take [s].
    shadow_prices : bool
        Price the plan's constraints (the LP with its integer decisions fixed) and store
        the table in the plan.
    lp_solver : {"auto", "simplex", "ipx"}
        HiGHS solver of the screening LP and of the LPs in the MIP search; "auto" chooses
        by size (:func:`choose_lp_solver`). Every choice gives the same optimum within the gap.
    prune : bool
        Before the full MIP, fix closed the sites the LP's reduced costs prove no plan
        cheaper than the screened start opens (:meth:`Start.unneeded_sites`).
    route : {"auto", "full", "sifting"}
        How the MIP is solved (:func:`choose_route`): whole by HiGHS, or by site sifting
        for national studies. Every route's plan is audited and its gap is proven.
    pyomo_handoff : bool
        Build the Pyomo model and hand HiGHS its standard form compiled by Pyomo
        (:func:`dcplan.optimize.highs.handoff` with ``compile_pyomo=True``) instead of the
        model's own arrays: the same matrix, much slower at scale (docs/performance.md).
    compact : bool
        Solve the compact formulation (GPUs online as window sums of their vintages,
        :mod:`dcplan.optimize.compact`): the same optimum, fewer rows and columns.
    client : dask.distributed.Client, optional
        Where the sifting route solves its per-site problems (pricing, site bounds, the
        sites' integer prices): one actor per worker of the client's cluster
        (:mod:`dcplan.optimize.pricing`), for a study that outgrows one machine. Default:
        this process, on ``threads`` threads. The other routes do not use it.

    Returns
    -------
    dcplan.results.Plan

    Raises
    ------
    InfeasibleError
        No plan meets every constraint; ``.diagnosis`` says which families bind, where and when.
    SolveError
        Time limit with no feasible plan (``status="time_limit"``) or a solver failure.
    AuditError
        The solver's plan breaks a constraint when re-checked from the outputs
        (``status="audit_failed"``); never returned as a plan.
    """
    from dcplan.checks import check_inputs
    from dcplan.results import Plan

    check_inputs(inputs)  # NaN, inf, absurd magnitudes, missing units: DataError naming the cell
    report = progress or (lambda event, info: None)
    report("build", {"phase": "build", "detail": f"{inputs.sizes.get('site', 0)} sites"})
    sm = build_model(inputs, skip=skip, tighten=tighten, compact=compact)
    report(
        "build", {"phase": "build", "done": True, "seconds": sm.build_seconds, "detail": repr(sm)}
    )
    if sm.trivially_infeasible:
        from dcplan.optimize.diagnose import diagnose

        diagnosis = diagnose(
            sm, time_limit_s=diagnosis_time_limit_s, threads=threads, seed=seed, progress=progress
        )
        raise InfeasibleError(f"the study is infeasible: {diagnosis.headline}", diagnosis)
    via = "Pyomo standard form" if pyomo_handoff else "model arrays"
    report("handoff", {"phase": "handoff", "detail": f"{via} -> HiGHS"})
    ho = handoff(sm, compile_pyomo=pyomo_handoff)
    report(
        "handoff",
        {
            "phase": "handoff",
            "done": True,
            "seconds": ho.seconds,
            "detail": f"{len(ho.cols):,} columns, {len(ho.rows):,} rows",
        },
    )
    result = optimise(
        sm,
        ho,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        threads=threads,
        seed=seed,
        progress=progress,
        use_start=use_start,
        lp_solver=lp_solver,
        prune=prune,
        route=route,
        client=client,
    )
    screening = result["phases"].get("lp", 0.0) + result["phases"].get("restricted_mip", 0.0)
    logger.info("HiGHS %s in %.2f s", result["model_status"], result["seconds"])
    if result["status"] == "infeasible":
        from dcplan.optimize.diagnose import diagnose

        diagnosis = diagnose(
            sm, time_limit_s=diagnosis_time_limit_s, threads=threads, seed=seed, progress=progress
        )
        raise InfeasibleError(f"the study is infeasible: {diagnosis.headline}", diagnosis)
    if result["status"] == "no_solution":
        msg = (
            f"time limit of {time_limit_s} s reached with no feasible plan; raise the "
            "limit or relax the study"
        )
        raise SolveError(msg, status="time_limit")
    if result["status"] != "optimal" and result["status"] != "time_limit":
        msg = f"HiGHS stopped with status {result['model_status']!r} and no plan worth reporting"
        raise SolveError(msg, status=result["model_status"])
    report(
        "solve",
        {
            "phase": "solve",
            "done": True,
            "seconds": result["seconds"],
            "detail": f"{result['status']}, gap {result['gap']:.2%}",
        },
    )
    x = result["x"]
    meta = {
        "status": result["status"],
        "objective_usd": result["objective"] * 1e6,
        "dual_bound_usd": result["dual_bound"] * 1e6,
        "mip_gap": result["gap"],
        "solve_seconds": result["seconds"],
        "start_seconds": screening,
        "bound_source": result.get("bound", ""),
        "build_seconds": sm.build_seconds,
        "handoff_seconds": ho.seconds,
        "mip_rel_gap": mip_rel_gap,
        "time_limit_s": time_limit_s if time_limit_s is not None else float("inf"),
        "threads": threads,
        "seed": seed,
        "skip": ",".join(sorted(sm.skip)),
        "n_columns": sm.n_col,
        "n_rows": sm.n_row,
        "n_nonzeros": int(sm.A.nnz),
        "lp_solver": result["lp_solver"],
        "sites_pruned": result["sites_pruned"],
        "solve_route": result.get("route", "full"),
        # where the sifting route solved its per-site problems ("" on the other routes)
        "site_pricing": result.get("site_pricing", ""),
    }
    plan = Plan.from_solution(sm, x, meta, study_yaml=study_yaml)
    # shadow prices now, on the model just solved, so the plan (and plan.nc) carries them
    if shadow_prices:
        plan.set_shadow_prices(
            shadow_price_table(sm, handoff(sm, compile_pyomo=False), plan.dataset)
        )
    report("audit", {"phase": "audit", "detail": "re-checking every constraint"})
    verdict = plan.audit()
    report(
        "audit",
        {
            "phase": "audit",
            "done": True,
            "ok": verdict.ok,
            "detail": "passed" if verdict.ok else f"{len(verdict.violations)} violations",
        },
    )
    if not verdict.ok:
        plan.dataset.attrs["status"] = "audit_failed"
        head = "; ".join(str(v) for v in verdict.violations[:3])
        msg = (
            f"the solver's plan breaks {len(verdict.violations)} constraint element(s) when "
            "re-checked "
            f"from its outputs ({head}); it is not a valid plan"
        )
        raise AuditError(msg, plan=plan, audit=verdict)
    return plan
