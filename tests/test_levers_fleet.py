"""Fleet levers of time to power: each changes its study's plan in the expected direction and
size, off it leaves the model unchanged, and the audit catches a plan that breaks its rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dcplan.inputs import build_inputs
from dcplan.optimize import build_model, solve
from dcplan.optimize import levers_fleet as lf
from dcplan.optimize.levers_delay import delay_curve
from dcplan.optimize.registry import CONSTRAINTS, FLEET_LEVER_FAMILIES, MEANING
from dcplan.results import Plan
from dcplan.spec import FleetLevers, load_study

MODELS = Path(__file__).resolve().parents[1] / "models"
GAP = 0.005

#: input variables each lever adds (and nothing else)
LEVER_INPUTS = {
    "lpt_supply": ("lpt_per_option", "lpt_lead_yr", "lpt_on_order", "lpt_orders_max", "lpt_installed_max"),
    "chip_delivery": ("chip_delivery_max_gpus",),
    "training_cluster": ("cluster_gpus", "cluster_multi_site", "cluster_intersite_usd_per_gpu_year"),
    "delivered_compute": ("delivered_training_gpu_h", "delivered_inference_gpu_h", "utilisation_training",
                          "utilisation_inference"),
}


def _study(name: str):
    return load_study(MODELS / f"{name}.yaml")


def _off(study):
    return study.model_copy(update={"fleet_levers": FleetLevers()})


def _solve(ds, gap=GAP, **kw) -> Plan:
    return solve(ds, mip_rel_gap=gap, time_limit_s=120, shadow_prices=False, **kw)


def _broken(plan: Plan, family: str) -> set:
    p = Plan(plan.dataset.copy(deep=True))
    p.dataset.attrs["skip"] = ""
    return p.audit().families()


@pytest.fixture(scope="module")
def supply():
    study = _study("supply_chain")
    ds = build_inputs(study)
    return study, ds, _solve(ds), _solve(ds, skip=("lpt_supply",))


@pytest.fixture(scope="module")
def cluster():
    study = _study("training_cluster")
    ds = build_inputs(study)
    gap = study.solver.mip_rel_gap
    return study, ds, _solve(ds, gap), _solve(ds, gap, skip=("training_cluster",))


@pytest.fixture(scope="module")
def delivered():
    study = _study("delivered_compute")
    ds = build_inputs(study)
    return study, ds, _solve(ds), _solve(ds, skip=("delivered_compute",))


# ------------------------------------------------------------------------------- off = off
def test_levers_off_leave_the_inputs_and_model_unchanged(delivered):
    study, on_inputs, _, _ = delivered
    off_inputs = build_inputs(_off(study))
    added = set(on_inputs.data_vars) - set(off_inputs.data_vars)
    assert added == set(LEVER_INPUTS["delivered_compute"])
    xr.testing.assert_identical(on_inputs.drop_vars(sorted(added)), off_inputs)
    # a lever left out (its inputs present, its family skipped) builds the model without it
    a = build_model(on_inputs, skip=("delivered_compute",))
    b = build_model(off_inputs)
    assert a.n_col == b.n_col and a.n_row == b.n_row
    assert (a.A != b.A).nnz == 0
    np.testing.assert_array_equal(a.rhs, b.rhs)
    np.testing.assert_array_equal(a.cost, b.cost)


@pytest.mark.parametrize(("fixture", "family"), [("supply", "lpt_supply"), ("cluster", "training_cluster"),
                                                 ("delivered", "delivered_compute")])
def test_a_lever_without_its_inputs_builds_the_model_without_it(request, fixture, family):
    _, ds, on, off = request.getfixturevalue(fixture)
    a = build_model(ds, skip=(family,))
    b = build_model(ds.drop_vars(list(LEVER_INPUTS[family])))
    assert a.n_col == b.n_col and a.n_row == b.n_row and (a.A != b.A).nnz == 0
    np.testing.assert_array_equal(a.cost, b.cost)
    assert family in {CONSTRAINTS[r].family for r in build_model(ds).rows}
    assert not {CONSTRAINTS[r].family for r in b.rows} & set(FLEET_LEVER_FAMILIES)


@pytest.mark.parametrize("name", ["supply_chain", "training_cluster", "delivered_compute"])
def test_default_levers_add_no_input(name):
    study = _study(name)
    assert lf.lever_inputs(_off(study), xr.Dataset(coords={"year": [2026], "chip": ["x"]})).data_vars == {}


def test_every_lever_family_is_registered_and_covered():
    assert set(FLEET_LEVER_FAMILIES) == set(lf.FAMILIES) == set(LEVER_INPUTS)
    for family in FLEET_LEVER_FAMILIES:
        assert family in MEANING
        assert any(e.family == family for e in CONSTRAINTS.values())


# ---------------------------------------------------------------------- supply chain
def test_transformer_cap_cuts_transformers_and_changes_the_plan(supply):
    _, ds, on, off = supply
    assert on.audit().ok, on.audit()
    service_on = on.dataset["lpt_in_service"].values
    limit = ds["lpt_installed_max"].values
    assert (service_on <= limit + 1e-6).all()
    # without the cap the plan puts 16 transformers in service by 2030 (four 400 MW taps);
    # with 3 orders a year at most 6 can serve by then
    off_service = (off.dataset["interconnect_active"] * ds["lpt_per_option"]).sum(("site", "option"))
    year = {int(y): i for i, y in enumerate(ds["year"].values)}
    assert off_service.values[year[2030]] >= 12
    assert service_on[year[2030]] <= 6 < off_service.values[year[2030]]
    # the orders behind the plan never exceed the cap, and the cap binds at least once
    orders = on.dataset["lpt_orders"].values
    assert np.isfinite(orders).all() and (orders <= ds["lpt_orders_max"].values + 1e-6).all()
    assert np.isclose(service_on, limit).any()
    # fewer transformers per MW: the 345 kV substation (5 for 1,000 MW) replaces 230 kV taps
    chosen = on.dataset["interconnect_option"].sel(option="new_substation").any()
    assert bool(chosen)
    # the cap costs money and GPU-years: the first target is missed in part
    assert on.objective_usd > off.objective_usd * (1 + GAP)
    assert on.dataset["shortfall_gpus"].sum() > off.dataset["shortfall_gpus"].sum() + 10_000


def test_audit_catches_a_plan_over_the_transformer_cap(supply):
    _, _, _, off = supply
    assert "lpt_supply" in _broken(off, "lpt_supply")


def test_order_schedule_moves_excess_orders_earlier():
    # 6 transformers needed in year 4 with a 2-year lead and 2 orders a year: orders in 0, 1, 2
    orders = lf.lpt_order_schedule(np.array([0, 0, 0, 0, 6, 6.0]), 2, np.full(6, 2.0), 0.0)
    np.testing.assert_allclose(orders, [2, 2, 2, 0, 0, 0])
    # more than the cap can ever deliver: no schedule
    assert np.isnan(lf.lpt_order_schedule(np.array([0, 0, 9.0]), 1, np.full(3, 2.0), 0.0)).all()
    assert lf.lpt_installed_max([2026, 2027, 2028, 2029, 2030], 3, 1, 3).tolist() == [0, 0, 0, 4, 7]
    assert lf.lpt_lead_years(120) == 3  # 2.3 years of lead + 0.25 of commissioning


def test_lpt_count_follows_the_voltage_class():
    kv = np.array([[138.0, 230.0, 345.0]])
    cap = np.array([[150.0, 400.0, 1000.0]])
    n = lf.lpt_per_option(kv, cap, ["existing", "tap", "new_substation"])
    # existing: none to order; 230 kV tap: ceil(400 / (200 x 0.95)) + 1 = 4; 345 kV: 5
    assert n.tolist() == [[0.0, 4.0, 5.0]]
    # a 69 kV tap uses 50 MVA units: not large power transformers
    assert lf.lpt_per_option(np.array([[69.0]]), np.array([[75.0]]), ["tap"]).tolist() == [[0.0]]


# ---------------------------------------------------------------------- chip deliveries
def test_chip_delivery_cap_spreads_deployments(delivered):
    study, _, _, _ = delivered
    levers = FleetLevers(supply_chain={"chip_gpus_per_year": {"h200_sxm": 25_000}})
    fleet = study.fleet.model_copy(update={"shortfall_penalty_usd_per_gpu": 50_000.0})
    ds = build_inputs(study.model_copy(update={"fleet_levers": levers, "fleet": fleet}))
    on = _solve(ds)
    off = _solve(ds, skip=("chip_delivery",))
    deployed = lambda p: p.dataset["gpus_new"].sum(("site", "cooling")).sel(chip="h200_sxm")  # noqa: E731
    assert float(deployed(off).max()) >= 40_000 - 1  # the whole target in its first year
    assert float(deployed(on).max()) <= 25_000 + 0.5
    # IT can first be online in 2029: 25k arrive then, the other 15k a year later
    assert float(deployed(on).sel(year=2029)) == pytest.approx(25_000, abs=1)
    assert float(deployed(on).sel(year=2030)) == pytest.approx(15_000, abs=1)
    assert float(on.dataset["shortfall_gpus"].sel(year=2029).sum()) == pytest.approx(15_000, abs=1)
    assert on.objective_usd > off.objective_usd
    assert on.audit().ok
    assert "chip_delivery" in _broken(off, "chip_delivery")


# ---------------------------------------------------------------------- training cluster
def test_single_site_cluster_concentrates_the_fleet(cluster):
    _, ds, on, off = cluster
    assert on.audit().ok, on.audit()
    online = lambda p: p.dataset["gpus"].sum("cooling").sel(chip="gb200_nvl72", year=2029)  # noqa: E731
    # off: the fleet spreads over the three cheap 150 MW sites, none holds 100k GPUs
    assert float(online(off).max()) < 100_000
    # on: one site holds the whole 100k cluster, and it is the home the plan names
    home = on.dataset["cluster_home"].sel(chip="gb200_nvl72")
    assert int(home.sum()) == 1
    site = str(on.dataset["site"].values[home.values.astype(bool)][0])
    assert float(online(on).sel(site=site)) >= 100_000 - 0.5
    assert float(on.dataset["cluster_remote_gpus"].sum()) == 0.0
    # in one place it costs more (the large campus's dearer power)
    assert on.objective_usd > off.objective_usd * (1 + GAP)


def test_multi_site_cluster_pays_bandwidth_and_costs_between(cluster):
    study, _, on, off = cluster
    clusters = [c.model_copy(update={"multi_site": True, "intersite_usd_per_gpu_year": 1000.0})
                for c in study.fleet_levers.training_clusters]
    levers = study.fleet_levers.model_copy(update={"training_clusters": clusters})
    multi = _solve(build_inputs(study.model_copy(update={"fleet_levers": levers})))
    assert multi.audit().ok, multi.audit()
    remote = float(multi.dataset["cluster_remote_gpus"].sel(year=2029).sum())
    assert remote > 10_000  # cheap bandwidth: part of the cluster runs elsewhere
    bandwidth = float((multi.dataset["cluster_bandwidth_usd"] * multi.dataset["in_discount_factor"]).sum())
    assert bandwidth > 0
    assert off.objective_usd * (1 - GAP) <= multi.objective_usd <= on.objective_usd * (1 + GAP)


def test_audit_catches_a_cluster_split_over_sites(cluster):
    _, _, _, off = cluster
    assert "training_cluster" in _broken(off, "training_cluster")


# ---------------------------------------------------------------------- delivered compute
def test_delivered_hours_set_the_gpu_count(delivered):
    _, ds, on, off = delivered
    assert on.audit().ok, on.audit()
    need = 100e6 / (8760 * 0.90) + 250e6 / (8760 * 0.50)  # 12,684 + 57,078 GPUs
    online_on = float(on.dataset["gpus"].sel(year=2029).sum())
    online_off = float(off.dataset["gpus"].sel(year=2029).sum())
    assert online_off == pytest.approx(40_000, abs=1)
    assert online_on == pytest.approx(need, rel=1e-3)
    hours = on.dataset["delivered_gpu_h"].sel(year=2029)
    assert float(hours.sel(workload="inference")) == pytest.approx(250e6, rel=1e-3)
    # cost per delivered GPU-hour: NPV cost over discounted delivered hours, recomputed
    d = on.dataset
    df = d["in_discount_factor"]
    cost = float(d["capital_npv_usd"].sum()) + float((d["opex_usd"].sum("site") * df).sum())
    per_hour = cost / float((d["delivered_gpu_h"].sum("workload") * df).sum())
    assert d.attrs["usd_per_delivered_gpu_hour"] == pytest.approx(per_hour, rel=1e-9)
    assert per_hour > d.attrs["levelised_usd_per_gpu_hour"]  # utilisation below 100 %


def test_audit_catches_undelivered_hours(delivered):
    _, _, on, off = delivered
    p = Plan(on.dataset.copy(deep=True))
    p.dataset["workload_gpus"].loc[dict(workload="inference")] *= 0.5
    assert "delivered_compute" in p.audit().families()
    assert "delivered_compute" in _broken(off, "delivered_compute")


# ---------------------------------------------------------------------- value of delay
def test_value_of_delay_is_monotone_and_drawn(supply, tmp_path):
    study, _, on, _ = supply
    curve = delay_curve(study, [-1, 1], base=on, mip_rel_gap=GAP)
    npv = curve["delay_npv_usd"].values
    shifts = curve["delay_shift"].values.tolist()
    assert shifts == [-1, 0, 1]
    assert np.isfinite(npv).all()
    # later targets never cost more (their feasible set contains the earlier's), within the gap
    for earlier, later in zip(npv[:-1], npv[1:], strict=True):
        assert later <= earlier * (1 + GAP)
    assert npv[0] > npv[1] > npv[2]  # and here the trade is real both ways
    plan = Plan(on.dataset.merge(curve, combine_attrs="override"))
    from dcplan.report.html import render_html
    from dcplan.report.levers import delay_text

    page = render_html(plan, {})
    assert 'id="fig-value_of_delay"' in page and "Value of delay" in page
    diff = (npv[0] - npv[1]) / 1e9
    assert f"+{diff:,.2f} bn USD" in " ".join(delay_text(plan.dataset))


def test_shifted_study_moves_every_target():
    study = _study("supply_chain")
    later = lf.shifted_study(study, 2)
    assert [t.year for t in later.fleet.gpus] == [2032]  # 2032 + 2 is past the horizon: dropped
    earlier = lf.shifted_study(study, -5)
    assert [t.year for t in earlier.fleet.gpus] == [2026, 2027]  # held at the first year


def test_report_section_words_come_from_the_plan(supply, cluster, delivered):
    from dcplan.report.levers import fleet_levers_html, supply_chain_text, training_cluster_text

    _, _, on, off = supply
    text = " ".join(supply_chain_text(on.dataset))
    assert f"puts {on.dataset['lpt_in_service'].values[-1]:,.0f} in service" in text
    assert fleet_levers_html(Plan(off.dataset.drop_vars([v for v in off.dataset.data_vars
                                                         if v.startswith("in_lpt")]))) == ""
    words = " ".join(training_cluster_text(cluster[2].dataset))
    assert "100,000 GPUs from 2029" in words
    assert "delivered GPU-hour" in fleet_levers_html(delivered[2])
