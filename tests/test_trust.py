"""The four wrong verdicts of the plan-trust review, each reproduced from a study and
checked against the plain model (every tightening off)."""

from __future__ import annotations

import numpy as np
import pytest

import dcplan
from dcplan.errors import AuditError
from dcplan.optimize import build_model, solve


def _study(**over) -> dict:
    """Two inline sites with ample grid, one or two coolings; targets in 2028."""
    study = {
        "name": "trust",
        "horizon": {"first_year": 2026, "last_year": 2029, "discount_rate": "7 %"},
        "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 10_000}]},
        "sites": {
            "inline": [
                {
                    "site_id": "a",
                    "lat": 32.45,
                    "lon": -99.73,
                    "state": "TX",
                    "land_mw": 400,
                    "headroom_mw": "400 MW",
                    "headroom_year": 2026,
                    "permit_lead_time_yr": 0,
                },
                {
                    "site_id": "b",
                    "lat": 41.6,
                    "lon": -93.6,
                    "state": "IA",
                    "land_mw": 400,
                    "headroom_mw": "400 MW",
                    "headroom_year": 2026,
                    "permit_lead_time_yr": 0,
                },
            ]
        },
        "construction": {"first_block_months": 0},
        "cooling": {"allowed": ["air_chiller", "dlc_dry"]},
        "solver": {"mip_rel_gap": 1e-7, "time_limit_s": 120},
    }
    for key, value in over.items():
        study[key] = value
    return study


def _inputs(study: dict):
    from dcplan.spec import parse_study

    return dcplan.build_inputs(parse_study(study))


def _plain(inputs):
    return solve(inputs, mip_rel_gap=1e-7, tighten=False, use_start=False)


def test_build_rate_holds_in_a_sites_first_year_across_coolings():
    # H100 (air or liquid) and GB200 (liquid only): 40 MW of IT in 2028 against 30 MW/yr
    study = _study(
        fleet={
            "gpus": [
                {"year": 2028, "chip": "h100_sxm", "gpus": 10_000},
                {"year": 2028, "chip": "gb200_nvl72", "gpus": 10_000},
            ]
        },
        limits={"max_build_mw_per_year": 30, "block_mw": 10},
    )
    inputs = _inputs(study)
    plan = solve(inputs, mip_rel_gap=1e-7)
    assert plan.audit().ok, plan.audit()
    it = plan.dataset["it_capacity_mw"].sum("cooling")
    added = it - it.shift(year=1, fill_value=0.0)
    assert float(added.max()) <= 30.0 + 1e-6
    assert int(plan.dataset["site_open"].sum()) == 2  # one site cannot commission 40 MW in a year
    assert plan.objective_usd == pytest.approx(_plain(inputs).objective_usd, rel=1e-6)


def test_fleet_rounding_counts_gpus_once_for_a_gpu_and_a_pflops_target():
    # 10k H100 also supply 9,894 dense PFLOPS: the target needs 2 blocks of IT, not 3
    study = _study(
        fleet={
            "gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 10_000}],
            "compute": [{"year": 2028, "dense_pflops": 9_894, "chips": ["h100_sxm"]}],
        },
        cooling={"allowed": ["air_chiller"]},
    )
    inputs = _inputs(study)
    it_mw = 10_000 * float(inputs["it_kw_per_gpu"].sel(chip="h100_sxm")) / 1e3
    block = float(inputs.attrs["block_mw"])
    sm = build_model(inputs)
    rows = sm.rows["it_fleet_min"]
    need = {lab: sm.rhs[rows.start + k] for k, lab in enumerate(rows.labels)}
    assert need[("air_chiller", 2028)] == np.ceil(it_mw / block - 1e-6)
    plan = solve(inputs, mip_rel_gap=1e-7)
    assert plan.objective_usd == pytest.approx(_plain(inputs).objective_usd, rel=1e-6)
    loose = solve(inputs, mip_rel_gap=1e-7, skip=("fleet_rounding",))
    assert plan.objective_usd == pytest.approx(loose.objective_usd, rel=1e-6)


def test_replacements_forced_early_by_a_budget_are_feasible():
    # 2-year life and no capital in 2030: GPUs for 2030 are bought in 2029, while the 2028
    # vintage is still online, so more GPUs are online in 2029 than any year's target
    study = _study(
        horizon={"first_year": 2026, "last_year": 2030, "discount_rate": "7 %"},
        fleet={
            "gpus": [
                {"year": 2028, "chip": "h100_sxm", "gpus": 30_000},
                {"year": 2030, "chip": "h100_sxm", "gpus": 30_000},
            ]
        },
        chips={"overrides": {"h100_sxm": {"service_life_yr": 2}}},
        limits={"capex_budget_usd_per_year": {2026: 1e12, 2030: 0}},
    )
    inputs = _inputs(study)
    plan = solve(inputs, mip_rel_gap=1e-7)
    assert plan.audit().ok
    online = plan.dataset["gpus"].sum(("site", "chip", "cooling"))
    assert float(online.sel(year=2029)) > 30_000 * 1.5
    assert plan.objective_usd == pytest.approx(_plain(inputs).objective_usd, rel=1e-6)


def test_a_plan_that_fails_its_audit_is_never_optimal(monkeypatch):
    # a model that leaves out the build rate while the plan claims every family: the audit
    # catches the plan, and solve raises instead of returning it
    import sys

    solve_module = sys.modules["dcplan.optimize.solve"]

    real = solve_module.build_model
    monkeypatch.setattr(
        solve_module,
        "build_model",
        lambda inputs, skip=(), **kw: _claims_no_skip(real(inputs, skip=("build_rate",), **kw)),
    )
    study = _study(
        limits={"max_build_mw_per_year": 10, "block_mw": 10},
        fleet={"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 20_000}]},
    )
    with pytest.raises(AuditError) as info:
        solve(_inputs(study), mip_rel_gap=1e-6)
    assert info.value.plan.status == "audit_failed"
    assert "build_rate" in info.value.audit.families()


def _claims_no_skip(sm):
    from dcplan.optimize.model import BuildOptions

    sm.options = BuildOptions(frozenset(), tighten=sm.options.tighten)
    return sm
