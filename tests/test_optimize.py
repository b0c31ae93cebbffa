"""The siting MILP: hand-computable optima, one test per constraint family, infeasibility,
determinism and the Pyomo hand-off."""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

from dcplan.errors import InfeasibleError
from dcplan.optimize import FAMILIES, build_model, solve
from dcplan.optimize.registry import (
    CONSTRAINTS,
    FLEET_LEVER_FAMILIES,
    LEVER_FAMILIES,
    TIGHTENINGS,
    VARIABLES,
)
from dcplan.optimize.solve import handoff, run_highs, set_options
from dcplan.testing.synthetic import make_inputs


def _tiny(n_sites=3, n_years=4, **kw) -> xr.Dataset:
    """Small study: one chip, two coolings, every option energises in year 1."""
    ds = make_inputs(
        n_sites, n_years, chips=("h100_sxm",), coolings=("air_chiller", "dlc_dry"), seed=3, **kw
    )
    ds["permit_year"][:] = ds.attrs["first_year"]
    ds["it_earliest_year"][:] = ds.attrs["first_year"]
    ds["ic_earliest_year"][:] = ds.attrs["first_year"]
    ds["ic_capacity_mw"][:] = 200.0
    ds["ic_phase_mw_per_yr"][:] = 200.0
    ds["land_mw"][:] = 1000.0
    ds["max_build_mw_per_yr"][:] = 1000.0
    ds["water_cap_m3_per_yr"][:] = np.inf
    ds["target_gpus"][:] = 20_000.0
    ds["target_pflops"][:] = 0.0
    return ds


def _cheap_site(ds) -> str:
    plan = solve(ds)
    return str(plan.sites.loc[plan.sites.chosen, "site_id"].iloc[0])


def test_two_sites_dear_first_then_cheap_when_it_energises():
    ds = _tiny(2, 4, service_life_yr=1)
    ds["electricity_usd_per_mwh"][:] = [150.0, 40.0]  # s0001 is far cheaper to run
    ds["ic_earliest_year"].loc[dict(site="s0001")] = 2028  # but energises only in year 3
    ds["site_open_usd"][:] = 1e6
    ds["ic_capex_usd"][:] = 1e6
    ds["facility_capex_usd_per_mw"][:] = 1e5  # building twice costs little next to the energy bill
    plan = solve(ds, mip_rel_gap=1e-6)
    g = plan.dataset["gpus"].sum(("chip", "cooling"))
    assert g.sel(site="s0000", year=[2026, 2027]).values == pytest.approx(
        [20_000, 20_000], rel=1e-6
    )
    assert g.sel(site="s0001", year=[2026, 2027]).values == pytest.approx([0, 0], abs=1e-6)
    assert g.sel(site="s0001", year=[2028, 2029]).values == pytest.approx(
        [20_000, 20_000], rel=1e-6
    )
    assert g.sel(site="s0000", year=[2028, 2029]).values == pytest.approx([0, 0], abs=1e-6)
    assert plan.audit().ok


def test_objective_matches_hand_computed_npv():
    ds = _tiny(1, 2)
    ds["carbon_price_usd_per_t"][:] = 0.0
    plan = solve(ds, mip_rel_gap=1e-9)
    d = plan.dataset
    it = 20_000 * float(ds["it_kw_per_gpu"][0]) / 1000  # 28 MW -> 2 blocks of 20 MW
    assert float(d["it_capacity_mw"].sum("cooling").isel(site=0, year=-1)) == pytest.approx(
        np.ceil(it / 20) * 20
    )
    assert plan.dataset.attrs["objective_usd"] == pytest.approx(
        float(d["capital_npv_usd"].sum())
        + float((d["opex_usd"].sum("site") * ds["discount_factor"]).sum()),
        rel=1e-6,
    )


# one study per family where that family binds; skipping it must break it
def _water(ds):
    ds["water_cap_m3_per_yr"][:] = 2_000.0
    ds["wue_l_per_kwh"][:] = 1.0
    ds["water_m3_per_gpu_year"][:] = 5.0
    ds["water_m3_per_gpu_year"].loc[dict(cooling="dlc_dry")] = 0.01
    ds["facility_capex_usd_per_mw"].loc[dict(cooling="dlc_dry")] = 30e6
    return ds


def _land(ds):
    ds["land_mw"][:] = 20.0
    return ds


def _build(ds):
    ds["max_build_mw_per_yr"][:] = 20.0
    ds["target_gpus"][:] = [[0, 0, 0, 40_000]]
    return ds


def _budget(ds):
    ds["capex_budget_usd"][:] = 1.5e9
    ds["target_gpus"][:] = [[0, 0, 40_000, 40_000]]
    return ds


def _carbon(ds):
    ds["co2_t_per_mwh"][:] = [0.7, 0.1, 0.7]
    ds["electricity_usd_per_mwh"][:] = [30.0, 200.0, 30.0]
    ds["carbon_cap_t"][:] = 60_000.0
    return ds


def _count(ds):
    ds.attrs["min_sites"] = 2
    return ds


def _iso(ds):
    ds = ds.assign_coords(iso=("site", ["PJM", "ERCOT", "MISO"]))
    ds.attrs["max_iso_share"] = 0.5
    return ds


def _phase(ds):
    ds["ic_phase_mw_per_yr"][:] = 20.0
    ds["target_gpus"][:] = [[0, 0, 0, 40_000]]
    return ds


def _lead(ds):
    ds["ic_earliest_year"][:] = 2028
    ds.attrs["shortfall_penalty_usd_per_gpu"] = 1e6  # short in 2026-27, which skipping would hide
    return ds


def _permit(ds):
    ds["it_earliest_year"][:] = 2028
    ds.attrs["shortfall_penalty_usd_per_gpu"] = 1e6
    return ds


def _compat(ds):
    ds["compatible"].loc[dict(cooling="air_chiller")] = False
    return ds


def _first_year(ds):
    ds["first_year"][:] = 2028
    ds.attrs["shortfall_penalty_usd_per_gpu"] = 1e6
    return ds


def _ic_capacity(ds):
    ds["ic_capacity_mw"][:] = 30.0
    return ds


def _choice(ds):
    ds["ic_capacity_mw"][:] = 20.0  # one option cannot carry the fleet's ~35 MW peak
    ds["ic_phase_mw_per_yr"][:] = 20.0
    ds["site_open_usd"][:] = 5e9  # so a second option at one site beats a second site
    return ds


def _same(ds):
    return ds


CASES = {
    "water_cap": _water,
    "land": _land,
    "build_rate": _build,
    "capex_budget": _budget,
    "carbon_cap": _carbon,
    "site_count": _count,
    "iso_share": _iso,
    "ic_phase": _phase,
    "ic_lead": _lead,
    "permit": _permit,
    "compatibility": _compat,
    "chip_first_year": _first_year,
    "ic_capacity": _ic_capacity,
    "target": _same,
    "it_capacity": _same,
    "facility_peak": _same,
    "site_open": _same,
    "ic_choice": _choice,
    "gpu_stock": _same,
}


@pytest.mark.parametrize("family", sorted(CASES))
def test_family_binds_and_skipping_it_breaks_it(family):
    ds = CASES[family](_tiny())
    full = solve(ds, mip_rel_gap=1e-4)
    assert full.audit().ok, full.audit()
    loose = solve(ds, mip_rel_gap=1e-4, skip=(family,))
    loose.dataset.attrs["skip"] = ""  # audit the loose plan against every family
    report = loose.audit()
    assert family in report.families() or (
        family == "gpu_stock" and "accounting" in report.families()
    ), report


def test_every_family_is_covered_by_a_test():
    structural = {"it_monotone", "ic_monotone"}  # never bind at an optimum (building costs money)
    # the levers need study inputs of their own: tests/test_levers_power.py and
    # tests/test_levers_fleet.py cover them
    levers = set(LEVER_FAMILIES) | set(FLEET_LEVER_FAMILIES)
    assert set(FAMILIES) - structural - set(TIGHTENINGS) - levers <= set(CASES)


def _lp(sm) -> tuple[float, np.ndarray]:
    """(optimum, column values) of the LP relaxation of ``sm``."""
    ho = handoff(sm, compile_pyomo=False)
    every = np.arange(sm.n_col, dtype=np.int32)
    ho.highs.changeColsIntegrality(sm.n_col, every, np.zeros(sm.n_col, dtype=np.uint8))
    ho.highs.run()
    return ho.highs.getInfo().objective_function_value, np.asarray(ho.highs.getSolution().col_value)


def _lp_bound(sm) -> float:
    return _lp(sm)[0]


def test_fleet_rounding_raises_the_lp_bound_and_keeps_the_optimum():
    ds = make_inputs(
        8, 6, chips=("h100_sxm", "gb200_nvl72"), coolings=("air_chiller", "dlc_dry"), seed=5
    )
    ds.attrs["block_mw"] = 50.0
    with_cut, without = build_model(ds), build_model(ds, skip=("fleet_rounding",))
    rows = with_cut.rows["it_fleet_min"]
    # the liquid-only chip gets rows of its own cooling; both chips rows of the pair
    assert {lab[0] for lab in rows.labels} == {"dlc_dry", "air_chiller+dlc_dry"}
    assert _lp_bound(with_cut) > _lp_bound(without) + 1.0  # MUSD
    a = solve(ds, mip_rel_gap=1e-6)
    b = solve(ds, mip_rel_gap=1e-6, skip=("fleet_rounding",))
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-5)
    assert a.audit().ok


def test_fleet_rounding_left_out_under_a_soft_target():
    ds = make_inputs(4, 5, seed=2)
    ds.attrs["shortfall_penalty_usd_per_gpu"] = 1e5
    assert "it_fleet_min" not in build_model(ds).rows


def test_every_component_is_registered():
    sm = build_model(_iso(_tiny()))
    from pyomo.environ import Constraint, Var

    names = {c.name for c in sm.model.component_objects((Var, Constraint))}
    assert names <= set(VARIABLES) | set(CONSTRAINTS)


def test_infeasible_target_names_the_family_year_and_figures():
    ds = _tiny()
    ds["ic_capacity_mw"][:] = 50.0
    ds["target_gpus"].loc[dict(year=2027)] = 600_000
    with pytest.raises(InfeasibleError) as info:
        solve(ds)
    d = info.value.diagnosis
    # 600k GPUs need ~900 MW of facility peak; the 50 MW interconnects are what binds
    assert "facility_peak" in d.families, d.slacks
    assert "MW more grid power energised in 2027" in d.headline
    # and the alternative within today's limits: how much of the target is out of reach
    assert "lower the h100_sxm GPU target of 2027 (600,000) by" in str(d)
    assert "[" not in str(d)  # planning words, never a raw row name


def test_same_input_same_plan():
    ds = make_inputs(12, 6, seed=5)
    a, b = solve(ds), solve(ds)
    for name in ("gpus", "it_capacity_mw", "interconnect_option_mw", "site_active"):
        np.testing.assert_array_equal(a.dataset[name].values, b.dataset[name].values)
    assert a.dataset.attrs["objective_usd"] == b.dataset.attrs["objective_usd"]


def _isos(ds):
    ds = ds.assign_coords(iso=("site", [("PJM", "ERCOT", "MISO")[i % 3] for i in range(ds.sizes["site"])]))
    ds.attrs["max_iso_share"] = 0.5
    return ds


def _standard_form(ho) -> tuple:
    """The hand-off's matrix and vectors in SitingModel column order."""
    import highspy
    import scipy.sparse as sp

    order = np.argsort(ho.cols)
    A = ho.highs.getLp().a_matrix_
    assert A.format_ == highspy.MatrixFormat.kColwise

    csc = sp.csc_array(
        (np.asarray(A.value_), np.asarray(A.index_), np.asarray(A.start_)),
        shape=(len(ho.rows), len(ho.cols)),
    )
    return (
        csc[:, order].toarray(),
        ho.row_lower,
        ho.row_upper,
        ho.col_lower[order],
        ho.col_upper[order],
        ho.cost[order],
        ho.integrality[order],
    )


@pytest.mark.parametrize("power", [False, True])
def test_pyomo_route_gives_the_array_route_matrix_and_optimum(power):
    """The default hand-off (the model's arrays) and the Pyomo route (the ConcreteModel,
    built on demand, through LinearStandardFormCompiler) pass HiGHS the identical model,
    rows and columns in the same order, and reach the same optimum."""
    ds = make_inputs(6, 5, seed=4)
    if power:  # an ISO-share row family keyed by (iso, year) and a scalar site-count row
        ds = _isos(ds)
        ds.attrs["min_sites"] = 2
    sm = build_model(ds)
    assert not sm.has_pyomo  # build_model makes no Pyomo objects
    fast = handoff(sm)
    assert not sm.has_pyomo  # nor does the default hand-off
    slow = handoff(sm, compile_pyomo=True)
    assert sm.has_pyomo
    for a, b in zip(_standard_form(fast), _standard_form(slow), strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.count_nonzero(_standard_form(fast)[0]) == sm.A.nnz > 0
    objs = []
    for ho in (fast, slow):
        set_options(ho.highs, time_limit_s=60, mip_rel_gap=0.0, threads=1, seed=0)
        objs.append(run_highs(ho)["objective"])
    assert objs[0] == pytest.approx(objs[1], rel=1e-9)


def test_pyomo_rows_and_columns_carry_the_model_labels():
    """Row i of the compiled Pyomo model is the constraint sm.row_labels()[i]; column j is
    the Pyomo variable of sm.variables at position j; bounds and domains match."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    ds = _isos(make_inputs(5, 5, seed=2))
    sm = build_model(ds)
    info = LinearStandardFormCompiler().write(sm.model, mixed_form=True, column_order=sm.vardata)
    names = [(r[0].parent_component().name, r[0].index()) for r in info.rows]
    assert names == sm.row_labels()
    assert [id(v) for v in info.columns] == [id(v) for v in sm.vardata]
    coords = {d: ds[d].values.tolist() for d in ("site", "chip", "cooling", "option", "year")}
    for fam in sm.variables.values():
        var = getattr(sm.model, fam.name)
        for cell in zip(*np.nonzero(fam.pos >= 0), strict=True):
            key = tuple(coords[d][cell[i]] for i, d in enumerate(
                ("site", "chip", "cooling", "option", "year")) if d in fam.dims)
            v = var[key if len(key) > 1 else key[0]]
            j = int(fam.pos[cell])
            assert sm.vardata[j] is v
            assert v.lb == sm.col_lower[j]
            assert (v.ub if v.ub is not None else np.inf) == sm.col_upper[j]
            assert v.is_integer() == bool(sm.integrality[j])
    assert sm.model is sm.model  # built once, then kept


def test_rows_without_variables_are_reported_or_dropped():
    """A target in a year no chip is on sale keeps no variable: it is reported as
    trivially infeasible and dropped with the other empty rows; no kept row is empty and
    every family's row range and labels still line up."""
    ds = _tiny(3, 4)
    ds["first_year"][:] = 2027  # the only chip goes on sale in year 2
    sm = build_model(ds)
    assert [(t[0], t[1]) for t in sm.trivially_infeasible] == [("target_gpus_min", ("h100_sxm", 2026))]
    assert np.all(np.diff(sm.A.indptr) > 0)
    assert sum(f.stop - f.start for f in sm.rows.values()) == sm.n_row
    for fam in sm.rows.values():
        assert len(fam.labels) == fam.stop - fam.start
    years = [lab[1] for lab in sm.rows["target_gpus_min"].labels]
    assert years == [2027, 2028, 2029]
    ds["target_gpus"].loc[dict(year=2026)] = 0.0  # no target before the sale: nothing to report
    assert build_model(ds).trivially_infeasible == []


def test_unknown_family_rejected():
    with pytest.raises(ValueError, match="unknown constraint families"):
        build_model(_tiny(), skip=("watre_cap",))


def test_shadow_prices_price_the_binding_target():
    from dcplan.optimize import shadow_prices

    ds = _tiny()
    plan = solve(ds, mip_rel_gap=1e-6)
    table = shadow_prices(plan)
    assert {"family", "year", "dual", "binding", "meaning"} <= set(table.columns)
    target = table[table.constraint == "target_gpus_min"].set_index("year")
    # 1,000 more GPUs in every year cost at least their purchase (service life 5 > 4 years) [MUSD]
    assert target.loc[2026, "binding"] == 1
    # the GPUs bought in 2026 serve all four years: their capital charge (annuities inside
    # the horizon) is the least that one more thousand GPUs online in every year can cost
    charge = float(ds["gpu_capex_usd"][0] * ds["capital_factor_gpu"].isel(chip=0, year=0)) / 1e3
    assert target["dual"].sum() >= charge * (1 - 1e-6)
    assert (target["dual"] >= -1e-9).all()


def test_time_limit_without_a_plan_raises_solve_error():
    from dcplan.errors import SolveError

    with pytest.raises(SolveError) as info:
        solve(make_inputs(40, 10, seed=1), time_limit_s=0.01, use_start=False)
    assert info.value.status == "time_limit"


def test_time_limit_bounds_the_whole_solve_including_the_start():
    import time

    ds = make_inputs(60, 12, seed=4)
    started = time.perf_counter()
    try:
        plan = solve(ds, time_limit_s=3.0, mip_rel_gap=1e-9)
    except Exception as exc:  # no plan in time is an acceptable outcome here
        assert getattr(exc, "status", "") == "time_limit"
    else:
        assert plan.status in ("optimal", "time_limit")
    # the limit covers screening and the MIP; construction and the audit come on top
    assert time.perf_counter() - started < 3.0 + 20.0


def test_lp_bound_certifies_a_screened_plan_within_the_gap():
    ds = make_inputs(12, 8, seed=6)
    plan = solve(ds, mip_rel_gap=0.10)
    attrs = plan.dataset.attrs
    assert attrs["bound_source"] == "lp_relaxation"
    # the bound reported is the LP relaxation's optimum, computed independently here
    assert attrs["dual_bound_usd"] / 1e6 == pytest.approx(_lp_bound(build_model(ds)), rel=1e-7)
    assert attrs["dual_bound_usd"] <= attrs["objective_usd"]
    assert plan.mip_gap <= 0.10 and plan.audit().ok
    tight = solve(ds, mip_rel_gap=1e-7)
    assert tight.dataset.attrs["bound_source"] == "highs_mip"
    assert tight.objective_usd <= plan.objective_usd + 1e-3
    assert plan.objective_usd <= tight.objective_usd / (1 - 0.10)


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("capex_budget", "capex budget by $"),
        ("carbon_cap", "carbon cap by"),
        ("water_cap", "more water than its allowance"),
        ("max_sites", "more site(s) than max_sites"),
    ],
)
def test_diagnosis_names_the_limit_that_binds_with_the_size_of_the_change(limit, words):
    ds = _tiny()
    if limit == "capex_budget":
        ds["capex_budget_usd"][:] = 1e8
    elif limit == "carbon_cap":
        ds["carbon_cap_t"][:] = 1_000.0
    elif limit == "water_cap":
        ds["water_cap_m3_per_yr"][:] = 100.0
        ds["water_m3_per_gpu_year"][:] = 5.0
    else:
        ds["ic_capacity_mw"][:] = 20.0
        ds["ic_phase_mw_per_yr"][:] = 20.0
        ds.attrs["max_sites"] = 1
    with pytest.raises(InfeasibleError) as info:
        solve(ds, diagnosis_time_limit_s=20)
    d = info.value.diagnosis
    assert words in d.headline, str(d)
    assert "[" not in str(d) and "_max" not in str(d) and "_min" not in str(d)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DCPLAN_SLOW"), reason="minutes: set DCPLAN_SLOW=1 (pytest -m slow)"
)
def test_national_portfolio_solves_to_its_gap():
    """models/national_portfolio.yaml: every catalog site, 1.6 M GPUs, ten years.

    Slow (minutes): ``DCPLAN_SLOW=1 pytest -m slow``; benchmarks/bench_national.py prints
    its time against the target.
    """
    from pathlib import Path

    from dcplan import load_study
    from dcplan.inputs import build_inputs

    root = Path(__file__).resolve().parents[1]
    study = load_study(root / "models" / "national_portfolio.yaml")
    inputs = build_inputs(study)
    assert inputs.sizes["site"] >= 500
    assert float(inputs["target_gpus"].sum()) >= 1.5e6
    plan = solve(inputs, time_limit_s=study.solver.time_limit_s, mip_rel_gap=study.solver.mip_rel_gap)
    assert plan.status in ("optimal", "time_limit")
    assert plan.dataset.attrs["mip_gap"] <= study.solver.mip_rel_gap + 1e-9
    assert plan.audit().ok


def _behind_a_25_mw_line() -> xr.Dataset:
    """One site, one H100 on air, 50 MW blocks, a single 25 MW interconnect, no target yet."""
    ds = make_inputs(1, 4, chips=("h100_sxm",), coolings=("air_chiller",),
                     options=("existing",), block_mw=50.0, seed=3)
    ds["ic_capacity_mw"][:] = 25.0
    ds["ic_phase_mw_per_yr"][:] = 25.0
    ds["max_build_mw_per_yr"][:] = np.inf
    ds["target_gpus"][:] = 0.0
    return ds


def test_ic_block_rounding_makes_the_lp_pay_for_whole_blocks():
    """One site behind a 25 MW interconnect, 50 MW blocks: the LP holds its IT in at least
    IT x rho / 25 blocks (one whole block per 25 MW of facility peak), not IT / 50."""
    ds = _behind_a_25_mw_line()
    ds["target_gpus"][0, -1] = 8_000.0  # about 11 MW of IT
    # fleet rounding (a whole block fleet-wide) left out: it alone would round this LP up
    with_cut = build_model(ds, skip=("fleet_rounding",))
    without = build_model(ds, skip=("fleet_rounding", "ic_block_rounding"))
    assert "ic_block_rounding" in with_cut.rows
    kw = float(ds["it_kw_per_gpu"].values[0])
    rho = float(ds["facility_peak_kw_per_gpu"].values.min()) / kw
    it_mw = 8.0 * kw  # kGPU x kW/GPU
    for sm, blocks_at_least in ((with_cut, it_mw * rho / 25.0), (without, it_mw / 50.0)):
        blocks = sm.values(_lp(sm)[1], "it_blocks")[0, 0, :, 0, -1].sum()
        assert blocks == pytest.approx(blocks_at_least, rel=1e-6)
    assert _lp_bound(with_cut) > _lp_bound(without) + 1.0  # MUSD
    a = solve(ds, mip_rel_gap=1e-7)
    b = solve(ds, mip_rel_gap=1e-7, skip=("ic_block_rounding",))
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-6)
    assert a.audit().ok


def test_solve_after_a_highs_run_with_another_thread_count():
    """HiGHS sizes its thread scheduler at the first run; a notebook that ran HiGHS
    itself (2 threads) must not make dcplan's threads=1 solve fail with "Not Set"."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 2)
    h.addVar(0.0, 1.0)
    h.changeColCost(0, 1.0)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    plan = solve(_tiny(), threads=1, mip_rel_gap=1e-6)
    assert plan.status == "optimal" and plan.audit().ok


def test_shadow_prices_stay_on_the_interconnect_not_on_the_rounding_cut():
    """With the integers fixed the cut is implied yet tight where the interconnect binds; its
    rows are freed, so the dual is reported on facility_peak (a limit a planner can act on)."""
    ds = _behind_a_25_mw_line()
    ds["target_gpus"][0, -2:] = 30_000.0  # more than 25 MW can carry: a soft target binds it
    ds.attrs["shortfall_penalty_usd_per_gpu"] = 2e5
    table = solve(ds, mip_rel_gap=1e-7).shadow_prices()
    by_family = table.groupby("family")["dual"].apply(lambda d: float(np.abs(d).max()))
    assert by_family.get("ic_block_rounding", 0.0) == 0.0
    assert by_family["facility_peak"] > 1e-6
