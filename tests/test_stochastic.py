"""Two-stage stochastic studies: the extensive form, VSS/EVPI, the audit and the outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from dcplan.errors import AuditError, SpecError
from dcplan.optimize import solve
from dcplan.optimize import stochastic as st
from dcplan.spec import parse_study
from dcplan.testing.synthetic import make_inputs

TIGHT = st.SolverOptions(mip_rel_gap=1e-6, time_limit_s=120)


def _scaled(ds: xr.Dataset, factor: float, penalty: float = 0.0) -> xr.Dataset:
    out = ds.copy()
    out["target_gpus"] = ds["target_gpus"] * factor
    out.attrs = dict(ds.attrs, shortfall_penalty_usd_per_gpu=penalty)
    return out


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1.0)


@pytest.fixture(scope="module")
def small():
    return make_inputs(4, 5, seed=3)


def test_one_scenario_is_the_deterministic_optimum(small):
    result = st.solve_stochastic(st.scenarios_from_inputs([small], [1.0]), st.Stage(2027), options=TIGHT)
    plan = solve(small, mip_rel_gap=1e-6, shadow_prices=False)
    assert _rel(result.rp_usd, plan.objective_usd) < 1e-5
    assert _rel(result.expected_cost_usd, plan.objective_usd) < 1e-5


def test_identical_scenarios_are_the_deterministic_optimum(small):
    scenarios = st.scenarios_from_inputs([small, small.copy(), small.copy()], [0.2, 0.3, 0.5])
    result = st.solve_stochastic(scenarios, st.Stage(2028), options=TIGHT)
    plan = solve(small, mip_rel_gap=1e-6, shadow_prices=False)
    assert _rel(result.rp_usd, plan.objective_usd) < 1e-5
    assert abs(result.vss_usd) <= result.vss_tolerance_usd + 1.0
    assert abs(result.evpi_usd) <= result.evpi_tolerance_usd + 1.0
    assert result.n_link_rows > 0


def test_non_anticipativity_holds_and_later_years_differ(small):
    scenarios = st.scenarios_from_inputs([_scaled(small, 0.5), _scaled(small, 1.6)], [0.5, 0.5], ["low", "high"])
    result = st.solve_stochastic(scenarios, st.Stage(2027, share_site_choice=False), options=TIGHT)
    assert st.non_anticipativity_gap(result) < 1e-6
    plans = st.scenario_plans(result)
    ds = st.StochasticPlan(result, plans, name="na").dataset
    first = ds["first_stage_year"].values.astype(bool)
    it = ds["it_capacity_mw"].sum("cooling")
    assert float(np.abs(it.sel(scenario="low") - it.sel(scenario="high"))[:, first].max()) == 0.0
    gpus = ds["gpus_new"].sum(("site", "cooling"))
    assert float(np.abs(gpus.sel(scenario="low") - gpus.sel(scenario="high"))[:, first].max()) < 1e-3
    # the scenarios differ after the first stage (the high one needs more)
    online = ds["gpus"].isel(year=-1).sum(("site", "chip", "cooling"))
    assert float(online.sel(scenario="high")) > 1.5 * float(online.sel(scenario="low"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vss_and_evpi_are_nonnegative_within_the_gap(seed):
    base = make_inputs(4, 5, seed=seed)
    factors = np.random.default_rng(seed).uniform(0.4, 1.8, size=3)
    inputs = [_scaled(base, f, penalty=60_000.0) for f in factors]
    p = np.random.default_rng(seed + 10).dirichlet(np.ones(3))
    result = st.solve_stochastic(st.scenarios_from_inputs(inputs, p), st.Stage(2027),
                                 options=st.SolverOptions(mip_rel_gap=1e-4, time_limit_s=120))
    assert np.isfinite(result.eev_usd), result.eev_problems
    assert result.vss_usd >= -result.vss_tolerance_usd - 1.0
    assert result.evpi_usd >= -result.evpi_tolerance_usd - 1.0
    # the extensive form starts from the mean-value plan, so it is never dearer
    assert result.rp_usd <= result.eev_usd + 1.0
    assert result.ws_usd <= result.rp_usd + 1.0 + result.evpi_tolerance_usd


def test_cvar_weight_zero_is_expected_cost_and_a_weight_lowers_the_tail(small):
    inputs = [_scaled(small, f, penalty=60_000.0) for f in (0.5, 1.0, 1.7)]
    p = [0.45, 0.45, 0.1]
    neutral = st.solve_stochastic(st.scenarios_from_inputs(inputs, p), st.Stage(2027), cvar_weight=0.0,
                                  options=TIGHT, value_of_information=False)
    assert _rel(neutral.rp_usd, neutral.expected_cost_usd) < 1e-9
    assert _rel(neutral.expected_cost_usd, float(np.dot(p, neutral.scenario_cost_usd))) < 1e-9
    averse = st.solve_stochastic(st.scenarios_from_inputs(inputs, p), st.Stage(2027), cvar_weight=1.0,
                                 cvar_alpha=0.8, options=TIGHT, value_of_information=False)
    costs = averse.scenario_cost_usd
    # the objective is E + w CVaR of the plan's own scenario costs
    assert _rel(averse.rp_usd, float(np.dot(p, costs)) + st.cvar(costs, np.asarray(p), 0.8)) < 1e-6
    assert st.cvar(costs, np.asarray(p), 0.8) <= st.cvar(neutral.scenario_cost_usd, np.asarray(p), 0.8) + 1.0
    assert averse.expected_cost_usd >= neutral.expected_cost_usd - 1.0


def test_cvar_of_a_discrete_distribution():
    costs = np.array([1.0, 2.0, 10.0])
    p = np.array([0.5, 0.3, 0.2])
    assert st.cvar(costs, p, 0.8) == pytest.approx(10.0)  # the worst 20 % is the 10
    assert st.cvar(costs, p, 0.5) == pytest.approx((0.3 * 2 + 0.2 * 10) / 0.5)
    assert st.cvar(costs, p, 0.0) == pytest.approx(float(p @ costs))


def test_a_site_only_one_scenario_permits_is_not_built_in_the_first_stage(small):
    late = small.copy()
    site0 = small["site"] == small["site"][0]
    late["it_earliest_year"] = small["it_earliest_year"].where(~site0, 2100)  # site 0 never permitted
    open_early = small.copy()
    open_early["it_earliest_year"] = xr.full_like(small["it_earliest_year"], int(small["year"][0]))
    scenarios = st.scenarios_from_inputs([open_early, late], [0.5, 0.5], ["permitted", "refused"])
    result = st.solve_stochastic(scenarios, st.Stage(2028, share_site_choice=False), options=TIGHT)
    assert result.forced_zero > 0
    blocks = [s.sm.values(x, "it_blocks") for s, x in zip(result.scenarios, result.x, strict=True)]
    years = small["year"].values
    assert float(blocks[0][0][..., years <= 2028].max()) == 0.0
    assert float(blocks[1][0].max()) == 0.0
    st.scenario_plans(result)  # both plans pass their own audit


def test_pyomo_blocks_give_the_same_optimum(small):
    inputs = [_scaled(small, 0.6), _scaled(small, 1.3)]
    arrays = st.solve_stochastic(st.scenarios_from_inputs(inputs, [0.5, 0.5]), st.Stage(2027), options=TIGHT,
                                 value_of_information=False)
    scenarios = st.scenarios_from_inputs(inputs, [0.5, 0.5])
    parent, order = st.build_pyomo_extensive_form(scenarios, st.Stage(2027))
    pyomo = st.solve_pyomo_extensive_form(parent, order, TIGHT)
    assert _rel(pyomo["objective"] * 1e6, arrays.rp_usd) < 1e-5


def test_a_plan_that_breaks_a_scenario_is_never_returned(small):
    result = st.solve_stochastic(st.scenarios_from_inputs([small, small.copy()], [0.5, 0.5]), st.Stage(2027),
                                 options=TIGHT, value_of_information=False)
    sm = result.scenarios[1].sm
    gpus = sm.variables["gpus"].pos
    result.x[1][gpus[gpus >= 0]] = 0.0  # scenario 1 loses its fleet: its targets are missed
    with pytest.raises(AuditError, match="s1"):
        st.scenario_plans(result)


# ----------------------------------------------------------------------------- the spec
BASE = {
    "name": "two-stage tiny",
    "horizon": {"first_year": 2026, "last_year": 2030},
    "fleet": {"gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": 5000}]},
    "sites": {"inline": [{"site_id": "ashburn", "lat": 39.04, "lon": -77.49},
                         {"site_id": "abilene", "lat": 32.45, "lon": -99.73}]},
    "cooling": {"allowed": ["air_chiller"]},
}


def _with(uncertainty: dict) -> dict:
    return {**BASE, "uncertainty": uncertainty}


def test_probabilities_that_do_not_sum_to_one_are_a_clear_error():
    bad = _with({"first_stage_last_year": 2028, "scenarios": [
        {"name": "low", "probability": 0.5}, {"name": "high", "probability": 0.4}]})
    with pytest.raises(SpecError) as err:
        parse_study(bad, "study.yaml")
    text = str(err.value)
    assert "study.yaml: uncertainty" in text and "sum to 0.9" in text and "low 0.5" in text
    with pytest.raises(SpecError, match="sum to 1.1"):
        st.check_probabilities([0.6, 0.5], ["a", "b"])
    with pytest.raises(SpecError, match="not in"):
        st.check_probabilities([0.0, 1.0], ["a", "b"])


def test_other_uncertainty_errors_name_the_field():
    with pytest.raises(SpecError, match="first_stage_last_year 2035 is outside the horizon"):
        parse_study(_with({"first_stage_last_year": 2035, "scenarios": [{"name": "a", "probability": 1}]}))
    with pytest.raises(SpecError, match="duplicate scenario names"):
        parse_study(_with({"first_stage_last_year": 2028, "scenarios": [
            {"name": "a", "probability": 0.5}, {"name": "a", "probability": 0.5}]}))
    with pytest.raises(SpecError, match="every scenario shares"):
        parse_study(_with({"first_stage_last_year": 2028, "scenarios": [
            {"name": "a", "probability": 1, "overrides": {"horizon.last_year": 2031}}]}))
    study = parse_study(_with({"first_stage_last_year": 2028, "scenarios": [
        {"name": "a", "probability": 1, "overrides": {"grid.transformer_weeks": 200}}]}), "s.yaml")
    with pytest.raises(SpecError, match=r"uncertainty.scenarios\[0\] \(a\).overrides.*transformer_weeks"):
        st.scenario_studies(study)


def test_scenario_overrides_reach_the_inputs():
    study = parse_study(_with({"first_stage_last_year": 2028, "scenarios": [
        {"name": "base", "probability": 0.5},
        {"name": "slow_grid", "probability": 0.5, "overrides": {"grid.transformer_lead_weeks": 210,
                                                                  "fleet.gpus": [{"year": 2030, "chip": "h100_sxm",
                                                                                  "gpus": 8000}]}}]}))
    scenarios = st.build_scenarios(study)
    a, b = (s.inputs for s in scenarios)
    assert float(b["target_gpus"].sel(year=2030).sum()) == 8000.0
    assert float(a["target_gpus"].sel(year=2030).sum()) == 5000.0
    assert (b["ic_earliest_year"] >= a["ic_earliest_year"]).all()
    mean = st.mean_inputs(scenarios)
    assert float(mean["target_gpus"].sel(year=2030).sum()) == pytest.approx(6500.0)
    assert mean["ic_earliest_year"].dtype == a["ic_earliest_year"].dtype


# ---------------------------------------------------------------------- shipped study
@pytest.fixture(scope="module")
def shipped():
    from dcplan.spec import load_study

    return st.solve_study(load_study("models/two_stage.yaml"))


def test_shipped_study_has_a_stochastic_plan_worth_more_than_the_mean_plan(shipped):
    r = shipped.result
    assert r.status == "optimal"
    assert shipped.facts()["vss_significant"], shipped.vss_text()
    assert r.vss_usd > r.vss_tolerance_usd > 0
    # the first-stage decisions differ from those of the mean-value plan
    mean = st.family_values(r.mean_sm, r.mean_x)
    own = st.family_values(r.scenarios[0].sm, r.x[0])
    years = r.scenarios[0].inputs["year"].values
    differ = [f for f in mean if np.abs(mean[f] - own[f])[..., r.stage.year_mask(f, years)].max() > 0.5]
    assert differ
    assert st.non_anticipativity_gap(r) < 1e-6
    assert all(plan.audit().ok for plan in shipped.plans.values())


def test_shipped_study_outputs(shipped, tmp_path):
    ds = shipped.dataset
    assert ds.sizes["scenario"] == 4
    assert all("units" in ds[v].attrs for v in ds.variables)
    assert ds["it_capacity_mw"].attrs["non_anticipative"] == "years up to 2029"
    assert ds["site_active"].attrs["non_anticipative"] == "every year"
    assert float(ds["scenario_probability"].sum()) == pytest.approx(1.0)
    shipped.to_dir(tmp_path / "out")
    back = xr.load_dataset(tmp_path / "out" / "stochastic.nc")
    assert list(back["scenario"].values) == shipped.scenario_names
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["vss_usd"] == pytest.approx(shipped.vss_usd)
    assert summary["audit"]["ok"] is True
    for name in shipped.scenario_names:
        assert (tmp_path / "out" / "scenarios" / name / "plan.nc").is_file()


def test_shipped_study_report_words_match_the_numbers(shipped, tmp_path):
    from dcplan.report.stochastic import recourse, shared_decisions, write_stochastic_report

    page = write_stochastic_report(shipped, tmp_path / "report").read_text(encoding="utf-8")
    shared = shared_decisions(shipped.dataset)
    for site in shared["sites"]:
        assert site["site"] in page
    assert f"{sum(shared['it_mw'].values()):,.0f} MW of IT online by 2029" in page
    for name in shipped.scenario_names:
        r = recourse(shipped.dataset, name)
        assert f"{r['it_last_mw']:,.0f} MW in the last year" in page
        assert f"{r['cost_usd'] / 1e6:,.1f}" in page
    assert f"VSS ${shipped.vss_usd / 1e6:,.1f} M" in page


# ---------------------------------------------------------------------------------- CLI
def test_cli_run_solves_a_two_stage_study_and_prints_vss(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from dcplan.cli import app

    study = _with({"first_stage_last_year": 2028, "scenarios": [
        {"name": "low", "probability": 0.6},
        {"name": "high", "probability": 0.4,
         "overrides": {"fleet.gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": 9000}]}}]})
    study["fleet"] = {**study["fleet"], "shortfall_penalty_usd_per_gpu": 60000}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stochastic"] and summary["audit"]["ok"]
    assert "VSS" in result.output and "EVPI" in result.output
    assert "passed in every scenario" in result.output
    for name in ("stochastic.nc", "report/index.html", "scenarios/low/plan.nc", "scenarios/high/plan.nc"):
        assert (out / name).is_file(), name
    ds = xr.load_dataset(out / "stochastic.nc")
    assert list(ds["scenario"].values) == ["low", "high"]
