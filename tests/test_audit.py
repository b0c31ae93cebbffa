"""Plan.audit re-checks the plan from its outputs alone and catches tampering."""

from __future__ import annotations

import pytest

from dcplan.optimize import solve
from dcplan.results import Plan
from dcplan.testing.synthetic import make_inputs


@pytest.fixture(scope="module")
def plan() -> Plan:
    return solve(make_inputs(6, 5, seed=11))


def _copy(plan: Plan) -> Plan:
    return Plan(plan.dataset.copy(deep=True))


def test_solved_plan_passes(plan):
    report = plan.audit()
    assert report.ok, report
    assert {"target", "it_capacity", "facility_peak", "land", "water_cap"} <= set(report.checked)


def test_more_gpus_than_capacity_is_caught(plan):
    p = _copy(plan)
    site = str(p.sites.loc[p.sites.chosen, "site_id"].iloc[0])
    p.dataset["it_capacity_mw"].loc[dict(site=site)] = 0.0
    report = p.audit()
    assert "it_capacity" in report.families()
    assert any(v.where.get("site") == site for v in report.violations if v.family == "it_capacity")


def test_removed_gpus_break_target_and_accounting(plan):
    p = _copy(plan)
    p.dataset["gpus"][:] = 0.0
    families = p.audit().families()
    assert {"target", "gpu_stock", "accounting"} <= families


def test_tampered_cost_breaks_objective(plan):
    p = _copy(plan)
    p.dataset.attrs["objective_usd"] = p.dataset.attrs["objective_usd"] * 0.9
    assert "accounting" in p.audit().families()


def test_second_interconnect_without_opening_is_caught(plan):
    p = _copy(plan)
    closed = str(p.sites.loc[~p.sites.chosen, "site_id"].iloc[0])
    p.dataset["interconnect_option"].loc[dict(site=closed)] = True
    assert "ic_choice" in p.audit().families()
