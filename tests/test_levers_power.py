"""Power levers: flexible interconnection, bridge turbines and their supply cap, smoothing.

Each lever's shipped study is solved with the lever on and off: the tests check the
direction and size of the change, that the plan obeys the new rows, that the audit catches
a plan that breaks them, and that a study without the ``power_levers:`` section builds exactly the
model it built before the levers existed.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import yaml

from dcplan.inputs import build_inputs
from dcplan.optimize import build_model, solve
from dcplan.optimize.registry import CONSTRAINTS, LEVER_FAMILIES
from dcplan.physics import onsite
from dcplan.results import audit_dataset
from dcplan.spec import parse_study

GAP = 1e-4


def _study(project_dir, name, *, power=True, **changes):
    data = yaml.safe_load((project_dir / "models" / f"{name}.yaml").read_text(encoding="utf-8"))
    if not power:
        data.pop("power_levers")
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        node[last] = value
    return parse_study(data, name)


_CACHE: dict = {}


def _plan(project_dir, name, *, power=True, **changes):
    key = (name, power, repr(sorted(changes.items())))
    if key not in _CACHE:
        _CACHE[key] = solve(build_inputs(_study(project_dir, name, power=power, **changes)),
                            mip_rel_gap=GAP)
    return _CACHE[key]


def _broken(plan, **edits):
    ds = plan.dataset.copy(deep=True)
    for name, (where, value) in edits.items():
        ds[name].loc[where] = value
    return audit_dataset(ds)


# ------------------------------------------------------------------------- physics
def test_duke_headroom_points_and_interpolation():
    assert [onsite.headroom_gw(s) for s in (0.0025, 0.005, 0.01)] == [76.0, 98.0, 126.0]
    assert onsite.headroom_gw(0.0075) == pytest.approx(112.0)
    with pytest.raises(ValueError, match="outside the published range"):
        onsite.headroom_gw(0.02)


def test_battery_split_reproduces_both_atb_rows():
    table = onsite.read_onsite_power()
    c2, c4 = table.loc["battery_2h", "capex_usd_per_kw"], table.loc["battery_4h", "capex_usd_per_kw"]
    power, energy = onsite.battery_cost_split(c2, c4)
    assert power + 2 * energy == pytest.approx(c2) and power + 4 * energy == pytest.approx(c4)
    assert 100 < energy < 400 and 100 < power < 600  # USD/kWh, USD/kW: utility battery range


def test_gas_turbine_figures_agree_with_an_independent_calculation():
    # 3.412 MMBtu per MWh of heat is 100 % efficiency: 9.9 MMBtu/MWh is 34.5 %, a simple cycle
    assert 0.33 < 3.412 / onsite.GAS_TURBINE_HEAT_RATE < 0.40
    # EPA 53.06 kg/MMBtu x 9.9 MMBtu/MWh = 0.525 t/MWh, above any US grid average (0.37)
    assert onsite.gas_co2_t_per_mwh() == pytest.approx(0.525, abs=1e-3)
    table = onsite.read_onsite_power()
    assert 600 < table.loc["gas_turbine", "capex_usd_per_kw"] < 1500  # ATB CT, USD/kW


def test_state_run_hour_cap_limits_bridge_availability():
    # 500 h/yr (Virginia DEQ) on a load using 7,000 MWh per MW of peak: 7 % of each MW
    assert onsite.bridge_availability(7000.0, 500.0) == pytest.approx(500 / 7000)
    assert onsite.bridge_availability(7000.0, np.nan) == onsite.GAS_TURBINE_FIRM_SHARE


@pytest.mark.shared
def test_onsite_table_is_what_the_build_script_derives(shared_data, project_dir):
    import importlib.util

    pytest.importorskip("pyarrow")
    spec = importlib.util.spec_from_file_location("b", project_dir / "scripts" / "build_onsite_power.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(shared_data / "costs" / "nrel_atb_electricity_2022.parquet").set_index("tech")
    shipped = onsite.read_onsite_power()
    for column in ("capex_usd_per_kw", "fixed_om_usd_per_kw_yr", "variable_om_usd_per_mwh"):
        np.testing.assert_allclose(built[column], shipped.loc[built.index, column], rtol=1e-6)


# ------------------------------------------------------------------- levers off
@pytest.mark.parametrize("name", ["flexible_grid", "bridge_power", "power_smoothing"])
def test_without_the_power_section_the_model_is_unchanged(project_dir, name):
    off = build_inputs(_study(project_dir, name, power=False))
    on = build_inputs(_study(project_dir, name))
    assert set(off.data_vars) < set(on.data_vars)
    xr.testing.assert_identical(off, on[list(off.data_vars)].assign_attrs(off.attrs))
    base = build_model(off)
    # the lever inputs dropped again: the same columns, rows, matrix and costs
    same = build_model(on[list(off.data_vars)].assign_attrs(on.attrs))
    assert (base.n_col, base.n_row) == (same.n_col, same.n_row)
    assert (base.A != same.A).nnz == 0 and np.array_equal(base.cost, same.cost)
    assert not set(base.variables) & {"flex_mw", "bridge_mw", "smoothing_mw"}


def test_every_lever_family_is_built_by_a_shipped_study(project_dir):
    built = set()
    for name in ("flexible_grid", "bridge_power", "power_smoothing"):
        sm = build_model(build_inputs(_study(project_dir, name)))
        built |= {CONSTRAINTS[r].family for r in sm.rows}
    assert set(LEVER_FAMILIES) <= built


# ------------------------------------------------------------ flexible interconnection
def test_flexible_interconnection_energises_earlier_and_cuts_the_shortfall(project_dir):
    off = _plan(project_dir, "flexible_grid", power=False)
    on = _plan(project_dir, "flexible_grid")
    assert off.audit().ok and on.audit().ok
    def supply(plan):
        ds = plan.dataset
        flex = ds["flex_mw"].sum(("site", "option")) if "flex_mw" in ds else 0.0
        return ds["interconnect_mw"].sum("site") + flex

    # 2030: without the lever only the two 50 MW existing options are energised
    assert float(supply(off).sel(year=2030)) <= 100.0 + 1e-6
    assert float(supply(on).sel(year=2030)) >= 400.0
    short_off = float(off.dataset["shortfall_gpus"].sel(year=2030).sum())
    short_on = float(on.dataset["shortfall_gpus"].sel(year=2030).sum())
    # the lever closes all but a residue: with 50 MW IT blocks the plan may leave a few
    # hundred GPUs short rather than buy a block for them (the residue moves with the
    # sites' peak PUE, i.e. with the weather)
    assert short_off > 150_000 and short_on < 0.01 * short_off
    assert on.objective_usd < off.objective_usd - 1e9  # the penalty saved outweighs curtailment
    # curtailed energy = flexible MW x 0.5 % x 8,760 h, and it is costed and reported
    ds = on.dataset
    flex = ds["flex_mw"].sum("option")
    np.testing.assert_allclose(ds["flex_curtailed_mwh"], flex * 0.005 * 8760, rtol=1e-9)
    assert float(ds["flex_curtailment_usd"].sum()) == pytest.approx(
        float(ds["flex_curtailed_mwh"].sum()) * 1500.0)
    assert float(ds["flex_gpu_years_lost"].sum()) > 0


def test_flexible_headroom_caps_the_fleet(project_dir):
    # 0.1 % of the 98 GW headroom = 98 MW for the whole fleet
    plan = _plan(project_dir, "flexible_grid", **{"power_levers.flexible_interconnection.headroom_share": 0.001})
    assert plan.audit().ok
    assert float(plan.dataset["flex_mw"].sum(("site", "option")).max()) <= 98.0 + 1e-6
    wide = _plan(project_dir, "flexible_grid")
    assert plan.objective_usd > wide.objective_usd


def test_audit_catches_flexible_mw_before_its_year_and_beyond_headroom(project_dir):
    plan = _plan(project_dir, "flexible_grid")
    site = str(plan.dataset["site"].values[0])
    report = _broken(plan, flex_mw=({"site": site, "option": "tap", "year": 2027}, 30.0))
    assert "flex_interconnect" in report.families()
    ds = plan.dataset.copy(deep=True)
    ds["in_flex_headroom_mw"][:] = 10.0
    assert "flex_headroom" in audit_dataset(ds).families()


# ---------------------------------------------------------------------- bridge power
def test_bridge_turbines_carry_load_before_the_grid_and_stop_after(project_dir):
    off = _plan(project_dir, "bridge_power", power=False)
    on = _plan(project_dir, "bridge_power")
    assert on.audit().ok
    ds = on.dataset
    gen = ds["bridge_gen_mw"]
    assert float(gen.sel(year=2029).sum()) > 200.0
    short_off = float(off.dataset["shortfall_gpus"].sel(year=[2029, 2030]).sum())
    short_on = float(ds["shortfall_gpus"].sel(year=[2029, 2030]).sum())
    assert short_on < short_off - 200_000
    # interim only: no generation at a site once its grid option is built
    built = ds["interconnect_active"].any("option")
    assert float(gen.where(built, 0.0).max()) <= 1e-6
    # kept as backup: installed MW never fall
    assert (ds["bridge_mw"].diff("year") >= -1e-6).all()
    # CO2 counted: turbine gas at 0.525 t/MWh on the energy generated, none for solar
    gt = {"bridge_tech": "gas_turbine"}
    np.testing.assert_allclose(ds["bridge_co2_t"].sel(gt), ds["bridge_energy_mwh"].sel(gt) * 0.5253,
                               rtol=1e-3)
    assert float(ds["bridge_co2_t"].sel(bridge_tech="solar_storage").max()) == 0.0


def test_turbine_supply_cap_binds_and_spreads_deliveries(project_dir):
    capped = _plan(project_dir, "bridge_power")
    free = _plan(project_dir, "bridge_power", **{"power_levers.bridge.supply_mw_per_year": None})
    gt = {"bridge_tech": "gas_turbine"}
    added = capped.dataset["bridge_mw"].sel(gt).sum("site").diff("year")
    assert float(added.max()) <= 200.0 + 1e-6
    first_capped = capped.dataset["bridge_mw"].sel(gt).sum("site")
    first_free = free.dataset["bridge_mw"].sel(gt).sum("site")
    # with the cap the fleet buys turbines a year earlier than it needs them
    assert float(first_capped.sel(year=2028)) > float(first_free.sel(year=2028)) + 100.0
    assert capped.objective_usd > free.objective_usd


def test_bridge_emissions_count_against_the_carbon_cap(project_dir):
    free = _plan(project_dir, "bridge_power")
    co2 = free.dataset["co2_t"].sum("site") + free.dataset["bridge_net_co2_t"].sum("site")
    cap = float(co2.sel(year=2030)) * 0.9
    capped = _plan(project_dir, "bridge_power", **{"limits.carbon_cap_t_per_year": cap})
    assert capped.audit().ok
    total = capped.dataset["co2_t"].sum("site") + capped.dataset["bridge_net_co2_t"].sum("site")
    assert float(total.max()) <= cap * (1 + 1e-6) + 1e-3


def _tight_cap(project_dir):
    """Fleet CO2 of the grid alone in the unconstrained bridge plan: bridge power may add none."""
    return float(_plan(project_dir, "bridge_power").dataset["co2_t"].sum("site").max())


def test_without_technology_choice_the_plan_uses_gas_turbines(project_dir):
    turbines = _plan(project_dir, "bridge_power",
                     **{"power_levers.bridge.technologies": ["gas_turbine"]})
    free = _plan(project_dir, "bridge_power")
    # with no carbon limit the cheapest bridge is the ATB turbine: the choice changes nothing
    assert free.objective_usd == pytest.approx(turbines.objective_usd, rel=1e-3)
    mw = free.dataset["bridge_mw"].max(("site", "year"))
    assert float(mw.sel(bridge_tech="gas_turbine")) > 200.0
    assert float(mw.drop_sel(bridge_tech="gas_turbine").max()) <= 1e-6


def test_a_tight_carbon_cap_moves_the_bridge_from_turbines_to_clean_technologies(project_dir):
    cap = _tight_cap(project_dir)
    turbines = _plan(project_dir, "bridge_power", **{"limits.carbon_cap_t_per_year": cap,
                                                     "power_levers.bridge.technologies": ["gas_turbine"]})
    choice = _plan(project_dir, "bridge_power", **{"limits.carbon_cap_t_per_year": cap})
    assert turbines.audit().ok and choice.audit().ok
    ds = choice.dataset
    clean = ds["bridge_gen_mw"].sel(bridge_tech=["fuel_cell", "solar_storage"]).sum()
    assert float(clean) > 50.0  # the plan takes low-carbon bridge power
    # turbines alone cannot carry the 2029-2030 ramp under the cap; the choice can, for less
    short = {p: float(x.dataset["shortfall_gpus"].sel(year=[2029, 2030]).sum())
             for p, x in (("turbines", turbines), ("choice", choice))}
    assert short["turbines"] > 10_000 and short["choice"] < short["turbines"] - 10_000
    assert choice.objective_usd < turbines.objective_usd - 1e8
    # solar plus storage carries only its firm share of its MW
    solar = ds["bridge_mw"].sel(bridge_tech="solar_storage")
    firm = float(ds["in_bridge_availability"].sel(bridge_tech="solar_storage").max())
    assert firm == pytest.approx(onsite.solar_storage_firm_share(0.268), rel=1e-2)
    assert (ds["bridge_gen_mw"].sel(bridge_tech="solar_storage") <= solar * firm + 1e-6).all()


def test_fuel_cells_skip_the_air_permit_and_run_hour_cap_combustion_does_not(project_dir, monkeypatch):
    import dcplan.inputs as inputs_module

    real = inputs_module._state_column

    def strict_state(sites, column):  # a 3-year air permit and Virginia's 500 h/yr cap
        values = np.asarray(real(sites, column), dtype=float)
        return {"air_permit_yr": np.full(len(values), 3.0),
                "genset_total_h_per_yr": np.full(len(values), 500.0)}.get(column, values)

    monkeypatch.setattr(inputs_module, "_state_column", strict_state)
    ds = build_inputs(_study(project_dir, "bridge_power"))
    first = ds["bridge_earliest_year"].max("site")
    assert int(first.sel(bridge_tech="gas_engine")) == 2026 + 3  # the permit governs
    assert int(first.sel(bridge_tech="gas_turbine")) == 2026 + 3
    assert int(first.sel(bridge_tech="fuel_cell")) == 2026 + 1  # its own lead only
    avail = ds["bridge_availability"].max("site")
    assert float(avail.sel(bridge_tech="gas_engine")) < 0.1  # 500 h of a ~7,000 MWh/MW load
    assert float(avail.sel(bridge_tech="fuel_cell")) == pytest.approx(onsite.GAS_TURBINE_FIRM_SHARE)


def test_audit_catches_bridge_generation_after_the_grid_and_beyond_supply(project_dir):
    plan = _plan(project_dir, "bridge_power")
    ds = plan.dataset
    built = ds["interconnect_active"].any("option")
    site, year = [(str(s), int(y)) for s in ds["site"].values for y in ds["year"].values
                  if bool(built.sel(site=s, year=y))][0]
    report = _broken(plan, bridge_gen_mw=({"site": site, "year": year}, 10.0))
    assert "bridge_power" in report.families()
    report = _broken(plan, bridge_mw=({"site": site, "year": 2028}, 900.0))
    assert "gas_turbine_supply" in report.families()
    # each technology is checked on its own: solar generating beyond its firm share
    pre = ds["bridge_gen_mw"].sum("bridge_tech").sel(site=site)
    y = int(pre["year"].values[int(np.argmax(pre.values))])
    report = _broken(plan, bridge_gen_mw=({"site": site, "year": y, "bridge_tech": "solar_storage"}, 5.0),
                     bridge_mw=({"site": site, "year": y, "bridge_tech": "gas_turbine"},
                                float(ds["bridge_mw"].sel(site=site, year=y, bridge_tech="gas_turbine"))))
    assert any(v.constraint == "bridge_gen_max_solar_storage" for v in report.violations)


def test_solar_storage_firm_share_is_bound_by_the_night():
    # ATB 2022 PV-plus-battery: 0.6 MW / 2.4 MWh per PV MW; 14 dark hours: 2.4 / 14 = 0.171,
    # below the 0.268 capacity factor (the energy the array makes)
    assert onsite.solar_storage_firm_share(0.268) == pytest.approx(2.4 / 14)
    assert onsite.solar_storage_firm_share(0.10) == pytest.approx(0.10)  # poor sun: energy binds
    table = onsite.read_onsite_power()
    assert 0.2 < table.loc["solar_storage", "capacity_factor"] < 0.35
    # fuel cells burn gas: 6.5 MMBtu/MWh x EPA 53.06 kg = 0.345 t/MWh, between grid and turbine
    assert onsite.gas_co2_t_per_mwh(onsite.FUEL_CELL_HEAT_RATE) == pytest.approx(0.345, abs=1e-3)


# -------------------------------------------------------------------- power smoothing
def test_smoothing_batteries_cover_the_swing_beyond_the_iso_allowance(project_dir):
    off = _plan(project_dir, "power_smoothing", power=False)
    on = _plan(project_dir, "power_smoothing")
    assert on.audit().ok
    ds = on.dataset
    swing_kw = 0.9 * 0.5 * 132.0 / 72.0  # training share x swing x GB200 nameplate per GPU
    swing = ds["gpus"].sum(("chip", "cooling")) * swing_kw / 1e3
    need = (swing - ds["in_smoothing_allowance_mw"]).clip(min=0)
    np.testing.assert_allclose(ds["smoothing_mw"], need, atol=1e-4)
    assert float(ds["smoothing_mw"].isel(year=-1).sum()) == pytest.approx(200_000 * swing_kw / 1e3 - 30.0)
    np.testing.assert_allclose(ds["smoothing_mwh"], ds["smoothing_mw"] * 0.25)
    # the batteries' cost is what the plan pays more
    extra = on.objective_usd - off.objective_usd
    assert extra == pytest.approx(on.dataset.attrs["power_npv_usd"], rel=0.02)
    assert extra > 0


def test_racks_with_their_own_smoothing_need_no_battery(project_dir):
    plan = _plan(project_dir, "power_smoothing",
                 **{"fleet.gpus": [{"year": 2029, "chip": "gb300_nvl72", "gpus": 200000}]})
    assert "smoothing_mw" not in plan.dataset or float(plan.dataset["smoothing_mw"].max()) == 0.0


def test_audit_catches_a_battery_too_small(project_dir):
    plan = _plan(project_dir, "power_smoothing")
    report = _broken(plan, smoothing_mw=({"site": "abilene_tx", "year": 2031}, 0.0))
    assert "power_smoothing" in report.families()


# ---------------------------------------------------------------------------- report
def test_report_section_states_the_levers_effect_in_numbers(project_dir):
    from dcplan.report.power import power_levers_html, power_levers_text

    flex = power_levers_text(_plan(project_dir, "flexible_grid"))
    ds = _plan(project_dir, "flexible_grid").dataset
    assert any("year(s) before firm service" in line for line in flex)
    assert any(f"{float(ds['flex_curtailed_mwh'].sum()):,.0f} MWh" in line for line in flex)
    bridge = " ".join(power_levers_text(_plan(project_dir, "bridge_power")))
    assert "supply cap binds" in bridge and "t CO2" in bridge
    smooth = power_levers_text(_plan(project_dir, "power_smoothing"))
    mw = float(_plan(project_dir, "power_smoothing").dataset["smoothing_mw"].sel(site="abilene_tx").max())
    assert any(f"abilene_tx needs {mw:,.0f} MW" in line for line in smooth)
    assert power_levers_html(_plan(project_dir, "flexible_grid", power=False)) == ""


def test_lever_outputs_survive_plan_nc_and_reaudit(project_dir, tmp_path):
    from dcplan.results import Plan

    plan = _plan(project_dir, "flexible_grid")
    back = Plan.from_dir(plan.to_dir(tmp_path / "run"))
    assert back.audit().ok
    assert back.dataset["flex_mw"].attrs["units"] == "MW"
    assert float(back.dataset.attrs["power_npv_usd"]) == pytest.approx(plan.dataset.attrs["power_npv_usd"])


def test_a_study_writing_the_old_power_section_is_told_to_rename_it(project_dir):
    from dcplan.errors import SpecError

    data = yaml.safe_load((project_dir / "models" / "bridge_power.yaml").read_text(encoding="utf-8"))
    data["power"] = data.pop("power_levers")
    with pytest.raises(SpecError) as err:
        parse_study(data, "bridge_power.yaml")
    assert "bridge_power.yaml: power" in str(err.value) and "power_levers" in str(err.value)
