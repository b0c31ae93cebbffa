"""The Plan: dataset units, sites GeoDataFrame, summary, atomic output folder, round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dcplan.optimize import solve
from dcplan.results import OUTPUTS, Plan
from dcplan.testing.synthetic import make_inputs


@pytest.fixture(scope="module")
def plan() -> Plan:
    return solve(make_inputs(6, 5, seed=7), study_yaml="name: tiny\n")


def test_every_output_has_units_and_contract_dims(plan):
    ds = plan.dataset
    for name, (dims, unit, _) in OUTPUTS.items():
        assert ds[name].dims == dims
        assert ds[name].attrs["units"] == unit
    assert all("units" in ds[v].attrs for v in ds.data_vars)
    assert ds.attrs["study_yaml"] == "name: tiny\n"
    assert "in_target_gpus" in ds


def test_sites_frame(plan):
    sites = plan.sites
    assert sites.crs.to_epsg() == 4326
    assert len(sites) == plan.dataset.sizes["site"]
    for col in ("site_id", "chosen", "first_year", "it_capacity_mw", "cooling", "interconnect_option", "ic_kv", "iso",
                "lat"):
        assert col in sites
    chosen = sites[sites.chosen]
    assert (chosen["interconnect_option"] != "").all()
    assert sites.loc[~sites.chosen, "it_capacity_mw"].sum() == 0


def test_summary_dict_is_json_and_matches_summary(plan):
    d = plan.summary_dict()
    json.dumps(d)
    assert d["status"] in ("optimal", "time_limit")
    assert d["audit"]["ok"] is True
    assert d["sites_opened"] == int(plan.dataset["site_open"].sum())
    last = d["years"][-1]
    assert last["gpus"] == pytest.approx(plan.summary()["gpus"].iloc[-1])
    assert "NPV" in repr(plan) and "<table" in plan._repr_html_()


def test_to_dir_round_trip(plan, tmp_path):
    out = plan.to_dir(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "dcplan-manifest.json", "plan.nc", "sites.gpkg", "summary.json"]
    back = Plan.from_dir(out)
    for name in ("gpus", "it_capacity_mw", "site_open", "interconnect_option", "in_compatible"):
        np.testing.assert_array_equal(back.dataset[name].values, plan.dataset[name].values)
    assert back.audit().ok
    assert list(back.sites["site_id"]) == list(plan.sites["site_id"])


def test_failed_write_leaves_nothing_that_looks_whole(plan, tmp_path, monkeypatch):
    def boom(self, file):
        raise OSError("disk full")

    monkeypatch.setattr(Plan, "_write_sites", boom)
    with pytest.raises(OSError, match="disk full"):
        plan.to_dir(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_run(plan, tmp_path, monkeypatch):
    out = plan.to_dir(tmp_path / "run")
    before = (out / "summary.json").read_text()
    monkeypatch.setattr(Plan, "_write_sites", lambda self, file: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        plan.to_dir(out)
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_plan_methods_draw_the_report_figures(plan):
    import matplotlib

    matplotlib.use("Agg")
    for name in ("plot_site_map", "plot_buildout", "plot_capacity", "plot_resources", "plot_costs",
                 "plot_binding_constraints"):
        fig = getattr(plan, name)()
        assert fig.axes, name
    assert plan.status == "optimal" and plan.objective_usd > 0 and 0 <= plan.mip_gap < 0.02


def test_report_ranks_real_shadow_prices_of_the_plan(plan):
    from dcplan.report import binding_constraints_text

    table = plan.shadow_prices()
    assert {"usd_per_unit", "unit", "where"} <= set(table.columns)
    lines = binding_constraints_text(plan)
    assert "not available" not in lines[0]
    # accounting identities and valid inequalities are not limits a planner can loosen
    assert not any(line.startswith(("gpu_stock", "fleet_rounding", "it_monotone")) for line in lines)
    assert all("USD of net present cost per" in line for line in lines)
