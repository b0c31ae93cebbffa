"""Site sifting (dcplan.optimize.screening) against the plain model on random small studies.

Every claim of the route is checked, not assumed: the sifted LP is the whole LP, its
Lagrangian bound never exceeds the LP optimum (converged or not), the bound of the plans
that open a site never exceeds their optimum, and the route's plan and gap agree with the
plain MIP's optimum.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from test_differential import _answer, tiny_studies

from dcplan.errors import InfeasibleError
from dcplan.optimize import screening as sc
from dcplan.optimize.highs import handoff
from dcplan.optimize.model import build_model
from dcplan.optimize.solve import choose_route
from dcplan.testing.synthetic import make_inputs

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _lp_optimum(sm, fix_lower: dict | None = None) -> float | None:
    """Optimum of the whole LP relaxation by HiGHS (None if not optimal)."""
    import highspy

    ho = handoff(sm, compile_pyomo=False)
    h = ho.highs
    h.setOptionValue("threads", 1)
    h.changeColsIntegrality(
        sm.n_col, np.arange(sm.n_col, dtype=np.int32), np.zeros(sm.n_col, dtype=np.uint8)
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value)


def _mip_optimum(sm, open_col: int | None = None) -> float | None:
    """Optimum of the MIP (site_active column ``open_col`` held at 1), or None."""
    import highspy

    ho = handoff(sm, compile_pyomo=False)
    h = ho.highs
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-9)
    if open_col is not None:
        h.changeColBounds(int(open_col), 1.0, 1.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(h.getInfo().objective_function_value)


@settings(max_examples=40, **SETTINGS)
@given(tiny_studies())
def test_sifted_lp_is_the_whole_lp_and_its_bound_never_exceeds_it(ds):
    sm = build_model(ds)
    whole = _lp_optimum(sm)
    blocks = sc.site_blocks(sm)
    sifted = sc.sift_lp(blocks, batch=1)
    event(f"LP solved: {whole is not None}")
    if whole is None:
        # an infeasible LP never sifts to a plan
        assert sifted is None or not sifted.converged
        return
    assert sifted is not None and sifted.converged
    assert sifted.objective == pytest.approx(whole, rel=1e-6, abs=1e-6)
    assert sifted.bound <= whole + 1e-6 * max(1.0, abs(whole))
    # stopped after one round (a working set of one site): still a valid bound
    early = sc.sift_lp(blocks, batch=1, max_rounds=2)
    if early is not None:
        assert early.bound <= whole + 1e-6 * max(1.0, abs(whole))


@pytest.mark.parametrize("block_mw", [50.0, 250.0])
def test_site_bounds_never_exceed_the_optimum_of_plans_that_open_the_site(block_mw):
    """Both forms the route uses: with the sites' LP prices and with their integer prices."""
    checked = 0
    for seed in range(10):
        sm = build_model(make_inputs(5, 5, seed=seed, block_mw=block_mw))
        lp = sc.sift_lp(sc.site_blocks(sm))
        if lp is None:  # an infeasible draw: its LP is infeasible too
            assert _lp_optimum(sm) is None
            continue
        assert lp.converged
        active = sm.variables["site_active"].pos[:, 0, 0, 0, :]
        bounds = sc.site_bounds(lp, active)
        with_integers = sc.site_bounds(lp, active, sc.integer_site_prices(lp, time_limit_s=30.0))
        lp.pricer.close()
        if block_mw == 50.0:  # closing a site empties it in this model (250 MW blocks may
            assert np.isfinite(bounds).all()  # not fit a site at all: no bound, kept)
        assert (with_integers >= bounds - 1e-6 * np.abs(bounds).clip(1.0)).all()
        for s in range(sm.inputs.sizes["site"]):
            best = _mip_optimum(sm, open_col=active[s, -1])
            if best is None:
                continue
            checked += 1
            tol = 1e-6 * max(1.0, abs(best))
            assert bounds[s] <= best + tol, (seed, s)
            assert with_integers[s] <= best + tol, (seed, s)
    assert checked >= 20


def test_a_site_whose_closing_does_not_empty_it_is_never_left_out():
    """Without the site link, IT can sit at a closed site: no site bound is claimed."""
    sm = build_model(make_inputs(4, 5, seed=3), skip=("site_open",))
    lp = sc.sift_lp(sc.site_blocks(sm))
    bounds = sc.site_bounds(lp, sm.variables["site_active"].pos[:, 0, 0, 0, :])
    assert not np.isfinite(bounds).any()


@settings(max_examples=30, **SETTINGS)
@given(tiny_studies())
def test_sifting_route_has_the_plain_optimum_within_its_gap(ds):
    """The route's plan costs no less than the plain optimum, its bound no more, and when it
    says optimal the plan is within the asked gap of the plain optimum; it is audited."""
    gap = 1e-4
    try:
        from dcplan.optimize import solve

        plan = solve(ds, mip_rel_gap=gap, time_limit_s=60.0, diagnosis_time_limit_s=1.0,
                     shadow_prices=False, route="sifting")
        status, objective = plan.status, plan.objective_usd
    except InfeasibleError:
        status, objective, plan = "infeasible", None, None
    plain_status, plain_objective, _ = _answer(ds, tighten=False, use_start=False)
    assert (status == "infeasible") == (plain_status == "infeasible"), (status, plain_status)
    event(f"verdict: {status}")
    if status == "infeasible":
        return
    tol = 1e-6 * max(abs(plain_objective), 1.0) + 1.0
    assert objective >= plain_objective - tol
    assert float(plan.dataset.attrs["dual_bound_usd"]) <= plain_objective + tol
    if status == "optimal":
        assert (objective - plain_objective) / objective <= gap + 1e-6
    assert plan.audit().ok


def test_auto_route_sifts_only_large_models():
    assert choose_route(10_000) == "full"
    assert choose_route(1_000_000) == "sifting"
    assert choose_route(10, "sifting") == "sifting"
    with pytest.raises(ValueError, match="route must be one of"):
        choose_route(10, "dantzig")


@pytest.mark.parametrize(
    ("size", "seed", "options"),
    [((6, 5), 2, {"compact": True}), ((8, 6), 4, {"threads": 2})],
    ids=["compact form", "two threads"],
)
def test_sifting_route_variant_has_the_plain_optimum(size, seed, options):
    from dcplan.optimize import solve

    ds = make_inputs(*size, seed=seed)
    plain = solve(ds, mip_rel_gap=1e-6, shadow_prices=False, route="full")
    sifted = solve(ds, mip_rel_gap=1e-6, shadow_prices=False, route="sifting",
                   time_limit_s=120.0, **options)
    assert sifted.dataset.attrs["solve_route"] == "sifting"
    assert sifted.objective_usd >= plain.objective_usd * (1 - 1e-6)
    assert float(sifted.dataset.attrs["dual_bound_usd"]) <= plain.objective_usd * (1 + 1e-6)
    if sifted.status == "optimal":
        assert sifted.objective_usd == pytest.approx(plain.objective_usd, rel=2e-6)
    assert sifted.audit().ok


def _assert_same_pricing(one, other, active):
    """Two sifted LPs of one model, priced in different places, agree site by site: rounds,
    bound, prices, site bounds and integer prices; both pricers are closed."""
    try:
        assert other is not None and other.rounds == one.rounds
        assert other.bound == pytest.approx(one.bound, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(other.prices, one.prices, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(
            sc.site_bounds(other, active), sc.site_bounds(one, active), rtol=1e-9, atol=1e-9
        )
        np.testing.assert_allclose(
            sc.integer_site_prices(other, time_limit_s=30.0),
            sc.integer_site_prices(one, time_limit_s=30.0), rtol=1e-7, atol=1e-7,
        )
    finally:
        one.pricer.close()
        if other is not None:
            other.pricer.close()


def test_sites_priced_on_two_threads_give_the_serial_prices_and_bounds():
    """The site LPs split over two worker threads return, site by site, what one thread does."""
    compared = 0
    for seed in range(6):
        sm = build_model(make_inputs(14, 6, seed=seed))
        blocks = sc.site_blocks(sm)
        active = sm.variables["site_active"].pos[:, 0, 0, 0, :]
        one = sc.sift_lp(blocks, batch=3, threads=1)
        two = sc.sift_lp(blocks, batch=3, threads=2)
        if one is None:
            assert two is None
            continue
        _assert_same_pricing(one, two, active)
        compared += 1
    assert compared >= 3


@settings(max_examples=40, **SETTINGS)
@given(tiny_studies())
def test_bound_with_the_sites_integers_never_exceeds_the_optimum(ds):
    """``L(y)`` with each site's integer price in place of its LP price (a MIP per site)
    lies between the LP's bound and the plain MIP optimum."""
    sm = build_model(ds)
    blocks = sc.site_blocks(sm)
    lp = sc.sift_lp(blocks, batch=1)
    plain_status, plain_objective, _ = _answer(ds, tighten=False, use_start=False)
    if lp is None or not lp.converged:
        return
    try:
        prices = sc.integer_site_prices(lp, time_limit_s=30.0)
    finally:
        lp.pricer.close()
    assert (prices >= lp.prices - 1e-9).all()
    lower = sc.lagrangian_constant(blocks, lp.y) + float(prices.sum())
    event(f"raised: {lower > lp.bound + 1e-6}")
    if plain_status == "infeasible":
        return
    tol = 1e-6 * max(abs(plain_objective), 1.0)
    assert lower <= plain_objective + tol


def test_bound_with_the_sites_integers_is_raised_and_valid_on_coarse_blocks():
    """With 250 MW blocks the sites' integers bind: the bound rises above the LP's on some
    studies (on these synthetic draws it does not at 50-150 MW) and never passes the MIP
    optimum."""
    raised = checked = 0
    for seed in range(12):
        sm = build_model(make_inputs(6, 6, seed=seed, block_mw=250.0))
        blocks = sc.site_blocks(sm)
        lp = sc.sift_lp(blocks)
        if lp is None:
            continue
        prices = sc.integer_site_prices(lp, time_limit_s=30.0)
        lp.pricer.close()
        lower = sc.lagrangian_constant(blocks, lp.y) + float(prices.sum())
        best = _mip_optimum(sm)
        if best is None:
            continue
        checked += 1
        assert lower <= best + 1e-6 * max(abs(best), 1.0), seed
        raised += lower > lp.bound + 1e-6 * max(abs(best), 1.0)
    assert checked >= 6 and raised >= 1, (checked, raised)


# ------------------------------------------------------------- site problems on Dask workers
@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes on loopback (dcplan.distributed)."""
    from dcplan.distributed import cluster

    with cluster(workers=2, host="127.0.0.1") as client:
        client.wait_for_workers(2, timeout=120)
        yield client


def test_sites_priced_on_dask_workers_give_the_serial_prices_and_bounds(client):
    """Each worker's actor prices its share of the sites; site by site the prices, the site
    bounds and the integer prices are the serial ones, and both workers get sites."""
    compared = 0
    for seed in range(4):
        sm = build_model(make_inputs(14, 6, seed=seed, block_mw=250.0))
        blocks = sc.site_blocks(sm)
        active = sm.variables["site_active"].pos[:, 0, 0, 0, :]
        one = sc.sift_lp(blocks, batch=3, threads=1)
        far = sc.sift_lp(blocks, batch=3, client=client)
        if one is None:
            assert far is None
            continue
        assert far is not None
        assert len(far.pricer._actors) == 2 and len(set(far.pricer._owner.tolist())) == 2
        _assert_same_pricing(one, far, active)
        compared += 1
    assert compared >= 2


def test_dask_pricing_names_only_the_workers_that_hold_sites(client):
    """One site on a 2-worker cluster: one actor, and the plan attribute says 1 worker;
    start() on a pricer without a cluster does nothing."""
    from dcplan.optimize.pricing import Pricer

    blocks = sc.site_blocks(build_model(make_inputs(1, 4, seed=3)))
    assert blocks.n_site == 1
    far = Pricer(blocks, client=client)
    try:
        far.start()
        assert len(far._actors) == 1 and far.places == "dask: 1 worker(s)"
    finally:
        far.close()
    assert far.places == "dask: 1 worker(s)"  # still said after the actors are released
    local = Pricer(blocks)
    local.start()
    assert local.places == "1 thread(s)"
    local.close()


def test_sifting_route_on_dask_workers_has_the_plain_optimum(client):
    from dcplan.optimize import solve

    ds = make_inputs(8, 6, seed=4)
    plain = solve(ds, mip_rel_gap=1e-6, shadow_prices=False, route="full")
    far = solve(ds, mip_rel_gap=1e-6, shadow_prices=False, route="sifting", time_limit_s=120.0,
                client=client)
    assert far.dataset.attrs["solve_route"] == "sifting"
    assert far.objective_usd == pytest.approx(plain.objective_usd, rel=2e-6)
    assert far.audit().ok
