"""Every tightening is valid: dcplan's answer equals the plain model's on random tiny studies.

dcplan solves with column bounds implied by the constraints, the fleet-rounding and
IT-block rounding valid inequalities, an LP-screening MIP start and the LP-bound
certificate. The plain model has none of them (``tighten=False, use_start=False``). Both
are solved to a 1e-7 gap; they must agree on feasibility and, when feasible, on the
optimum within 1e-6 (relative), and every plan must pass its own audit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from dcplan.errors import InfeasibleError
from dcplan.optimize import solve
from dcplan.testing.synthetic import CHIPS, COOLINGS, OPTIONS, make_inputs

GAP = 1e-7
EXAMPLES = 100


@st.composite
def tiny_studies(draw):
    """A random tiny inputs Dataset: 1-5 sites, 1-3 chips, 1-3 coolings, 3-7 years."""
    n_sites = draw(st.integers(1, 5))
    n_years = draw(st.integers(3, 7))
    chips = tuple(
        draw(st.lists(st.sampled_from(sorted(CHIPS)), min_size=1, max_size=3, unique=True))
    )
    coolings = tuple(
        draw(st.lists(st.sampled_from(sorted(COOLINGS)), min_size=1, max_size=3, unique=True))
    )
    options = tuple(
        draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=3, unique=True))
    )
    ds = make_inputs(
        n_sites,
        n_years,
        chips=chips,
        coolings=coolings,
        options=options,
        block_mw=draw(st.sampled_from([5.0, 10.0, 20.0, 40.0])),
        service_life_yr=draw(st.integers(1, 6)),
        discount_rate=draw(st.sampled_from([0.0, 0.05, 0.1])),
        capital=draw(st.sampled_from(["annuity", "salvage", "none"])),
        seed=draw(st.integers(0, 10_000)),
    )
    T, C = ds.sizes["year"], ds.sizes["chip"]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    # targets: GPUs by chip and year, and/or PFLOPS, from zero to a few hundred MW
    on_sale = ds["first_year"].values[:, None] <= ds["year"].values[None, :]
    gpus = np.where(
        on_sale & (rng.uniform(size=(C, T)) < 0.6),
        np.round(rng.uniform(0, 40_000, (C, T)), -2),
        0.0,
    )
    ds["target_gpus"][:] = gpus
    pf = np.where(rng.uniform(size=T) < 0.4, np.round(rng.uniform(0, 40_000, T)), 0.0)
    ds["target_pflops"][:] = pf
    ds["target_chip_allowed"][:] = rng.uniform(size=C) < 0.8
    ds["max_build_mw_per_yr"][:] = rng.choice([10.0, 30.0, 60.0, 200.0, np.inf], n_sites)
    ds["land_mw"][:] = rng.choice([20.0, 50.0, 150.0, 400.0], n_sites)
    ds["water_cap_m3_per_yr"][:] = np.where(
        rng.uniform(size=n_sites) < 0.4, rng.uniform(1e4, 2e6, n_sites), np.inf
    )
    budget = np.where(rng.uniform(size=T) < 0.3, rng.choice([0.0, 2e8, 1e9, 4e9], T), np.inf)
    ds["capex_budget_usd"][:] = budget
    ds["carbon_cap_t"][:] = np.where(rng.uniform(size=T) < 0.25, rng.uniform(1e4, 1e6, T), np.inf)
    ds["it_earliest_year"][:] = ds["permit_year"].values[:, None] + rng.integers(
        0, 2, (n_sites, ds.sizes["cooling"])
    )
    ds.attrs["max_sites"] = int(rng.integers(1, n_sites + 1))
    ds.attrs["min_sites"] = int(rng.integers(0, 2))
    ds.attrs["max_iso_share"] = float(rng.choice([1.0, 1.0, 0.5, 0.7]))
    ds.attrs["shortfall_penalty_usd_per_gpu"] = float(rng.choice([0.0, 0.0, 5e4, 2e5]))
    return ds


def _answer(ds, **kw):
    """('infeasible', None) or ('optimal', objective in USD, plan)."""
    try:
        plan = solve(
            ds,
            mip_rel_gap=GAP,
            time_limit_s=60.0,
            diagnosis_time_limit_s=1.0,
            shadow_prices=False,
            **kw,
        )
    except InfeasibleError:
        return "infeasible", None, None
    return plan.status, plan.objective_usd, plan


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tiny_studies())
def test_tightened_model_has_the_plain_models_optimum(ds):
    status, objective, plan = _answer(ds)
    plain_status, plain_objective, plain_plan = _answer(ds, tighten=False, use_start=False)
    assert status != "time_limit" and plain_status != "time_limit"
    assert (status == "infeasible") == (plain_status == "infeasible"), (status, plain_status)
    event(f"verdict: {status}")
    if status == "infeasible":
        return
    assert objective == pytest.approx(plain_objective, rel=1e-6, abs=1.0)
    assert plan.audit().ok and plain_plan.audit().ok


@pytest.mark.parametrize("capital", ["annuity", "salvage", "none"])
def test_each_capital_method_agrees_with_the_plain_model(capital):
    ds = make_inputs(4, 6, seed=11, capital=capital, service_life_yr=3)
    a, b = _answer(ds), _answer(ds, tighten=False, use_start=False)
    assert a[0] == b[0] == "optimal"
    assert a[1] == pytest.approx(b[1], rel=1e-6)


# ------------------------------------------------------------------ speed routes (issue 12)
ROUTE_EXAMPLES = 25


@settings(
    max_examples=ROUTE_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tiny_studies())
def test_interior_point_route_with_site_pruning_has_the_plain_optimum(ds):
    """IPX (with crossover) for every LP, and sites set aside by LP reduced costs."""
    status, objective, plan = _answer(ds, lp_solver="ipx", prune=True)
    plain_status, plain_objective, _ = _answer(
        ds, tighten=False, use_start=False, lp_solver="simplex", prune=False
    )
    assert (status == "infeasible") == (plain_status == "infeasible"), (status, plain_status)
    if status == "infeasible":
        return
    event(f"sites pruned: {int(plan.dataset.attrs['sites_pruned']) > 0}")
    assert objective == pytest.approx(plain_objective, rel=1e-6, abs=1.0)
    assert plan.audit().ok


def test_dual_bound_of_the_lp_equals_its_optimum():
    """The Lagrangian bound from HiGHS's duals (used to set sites aside) is the LP optimum."""
    import importlib

    solve_module = importlib.import_module("dcplan.optimize.solve")
    from dcplan.optimize.model import build_model

    sm = build_model(make_inputs(8, 6, seed=5))
    for solver in ("simplex", "ipx"):
        ho = solve_module.handoff(sm, compile_pyomo=False)
        h = ho.highs
        h.changeColsIntegrality(
            sm.n_col, np.arange(sm.n_col, dtype=np.int32), np.zeros(sm.n_col, dtype=np.uint8)
        )
        solve_module.set_lp_solver(h, solver)
        h.run()
        sol = h.getSolution()
        bound = solve_module.dual_bound(ho, np.asarray(sol.row_dual), np.asarray(sol.col_dual))
        objective = h.getInfo().objective_function_value
        assert bound == pytest.approx(objective, rel=1e-6)
        assert bound <= objective * (1 + 1e-9)


# ------------------------------------------------------- compact formulation (issue 12)
COMPACT_EXAMPLES = 30


@settings(
    max_examples=COMPACT_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tiny_studies())
def test_compact_formulation_has_the_plain_optimum(ds):
    """GPUs online as window sums of vintages (no stock balance rows, no gpus columns)."""
    status, objective, plan = _answer(ds, compact=True)
    plain_status, plain_objective, _ = _answer(ds, tighten=False, use_start=False)
    assert (status == "infeasible") == (plain_status == "infeasible"), (status, plain_status)
    event(f"verdict: {status}")
    if status == "infeasible":
        return
    assert objective == pytest.approx(plain_objective, rel=1e-6, abs=1.0)
    assert plan.audit().ok



# ------------------------------------------------ IT-block rounding behind an interconnect
@st.composite
def interconnect_limited_studies(draw):
    """A tiny study whose interconnect options are fractions and non-multiples of a block."""
    ds = draw(tiny_studies())
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    block = float(ds.attrs["block_mw"])
    shape = ds["ic_capacity_mw"].shape
    cap = np.round(rng.uniform(0.2, 4.5, shape) * block, 1)
    cap[rng.uniform(size=shape) < 0.15] = 0.0
    ds["ic_capacity_mw"][:] = cap
    ds["ic_phase_mw_per_yr"][:] = np.maximum(np.round(cap * rng.uniform(0.3, 1.0, shape), 1), 1.0)
    # targets of a few blocks, so that the small options matter
    ds["target_gpus"][:] = np.round(ds["target_gpus"].values * rng.uniform(0.02, 0.3), -1)
    ds["target_pflops"][:] = np.round(ds["target_pflops"].values * rng.uniform(0.02, 0.3))
    return ds


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(interconnect_limited_studies())
def test_ic_block_rounding_keeps_the_optimum(ds):
    """The cut against the plain model, and against the tightened model without it."""
    from dcplan.optimize import build_model

    sm = build_model(ds)
    event(f"rounding rows: {'yes' if 'ic_block_rounding' in sm.rows else 'no'}")
    status, objective, plan = _answer(ds)
    plain_status, plain_objective, plain_plan = _answer(ds, tighten=False, use_start=False)
    uncut_status, uncut_objective, _ = _answer(ds, skip=("ic_block_rounding",))
    assert "time_limit" not in (status, plain_status, uncut_status)
    assert (status == "infeasible") == (plain_status == "infeasible") == (uncut_status == "infeasible")
    event(f"verdict: {status}")
    if status == "infeasible":
        return
    assert objective == pytest.approx(plain_objective, rel=1e-6, abs=1.0)
    assert objective == pytest.approx(uncut_objective, rel=1e-6, abs=1.0)
    assert plan.audit().ok and plain_plan.audit().ok
