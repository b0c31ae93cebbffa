"""Every CLI command, its error paths and exit codes (typer's CliRunner)."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import TINY_STUDY
from typer.testing import CliRunner

from dcplan.cli import app

runner = CliRunner()

STUDY = dict(TINY_STUDY, name="cli tiny")


@pytest.fixture()
def study_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "inputs", "schema", "report", "sweep", "sites", "data"):
        assert command in result.output


def test_validate_ok(study_file):
    result = runner.invoke(app, ["validate", str(study_file)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_reports_every_problem_and_exits_1(tmp_path):
    bad = dict(STUDY, horizon={"first_year": 2030, "last_year": 2026}, oops=1)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "oops" in result.output and "first_year" in result.output


def test_validate_missing_file_exits_1():
    result = runner.invoke(app, ["validate", "no/such/study.yaml"])
    assert result.exit_code == 1
    assert "no study file" in result.output


def test_schema_prints_json(tmp_path):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "horizon" in schema["properties"]
    out = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == schema


def test_run_bad_time_limit_exits_1(study_file, tmp_path):
    result = runner.invoke(app, ["run", str(study_file), "--time-limit", "5 kg", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "time-limit" in result.output
    assert not (tmp_path / "o").exists()


def test_sweep_bad_vary_exits_1(study_file):
    result = runner.invoke(app, ["sweep", str(study_file), "--vary", "limits.block_mw"])
    assert result.exit_code == 1
    assert "field.path=value1,value2" in result.output


# ------------------------------------------------------------------------------ run paths
@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One real `dcplan run` of the tiny study, shared by the tests that read its outputs."""
    root = tmp_path_factory.mktemp("cli")
    study = root / "tiny.yaml"
    study.write_text(yaml.safe_dump(STUDY))
    out = root / "run"
    result = runner.invoke(app, ["run", str(study), "--out", str(out)])
    return study, out, result


def test_run_writes_the_whole_result_and_exits_0(solved):
    _, out, result = solved
    assert result.exit_code == 0, result.output
    for name in ("plan.nc", "sites.gpkg", "summary.json", "report/index.html"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["audit"]["ok"]
    assert summary["sites_opened"] >= 1
    assert "Plan by year" in result.output and "Sites opened" in result.output
    # the 2030 target is met and shown in thousands
    row = next(r for r in summary["years"] if r["year"] == 2030)
    assert row["gpus"] >= 5000 - 1e-6


def test_two_runs_give_identical_plans(solved, tmp_path):
    import xarray as xr

    study, out, _ = solved
    again = tmp_path / "again"
    assert runner.invoke(app, ["run", str(study), "--out", str(again), "-q", "--no-report"]).exit_code == 0
    a = xr.load_dataset(out / "plan.nc")
    b = xr.load_dataset(again / "plan.nc")
    for name in ("site_open", "it_capacity_mw", "gpus", "interconnect_mw", "capex_usd"):
        assert a[name].equals(b[name]), name
    assert a.attrs["objective_usd"] == b.attrs["objective_usd"]


def test_run_json_prints_the_summary(solved, tmp_path):
    study, _, _ = solved
    result = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "j"), "--json", "--no-report"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert {"status", "objective_usd", "mip_gap", "solve_seconds", "sites_opened", "years"} <= set(summary)


def test_report_rebuilds_from_a_finished_run(solved):
    _, out, _ = solved
    (out / "report" / "index.html").unlink()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report" / "index.html").stat().st_size > 10_000


def test_report_of_a_folder_without_a_plan_exits_1(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "plan.nc" in result.output


def test_infeasible_run_exits_2_names_the_family_and_writes_nothing(tmp_path):
    study = dict(STUDY, fleet={"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 5_000_000}]})
    path = tmp_path / "inf.yaml"
    path.write_text(yaml.safe_dump(study))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "target" in result.output and "2028" in result.output and "MW" in result.output
    assert not (tmp_path / "o").exists()


def test_time_limit_without_a_plan_exits_3(study_file, tmp_path, monkeypatch):
    import dcplan.run
    from dcplan.errors import SolveError

    def no_plan(*args, **kwargs):
        raise SolveError("time limit of 1 s reached with no feasible plan", status="time_limit")

    monkeypatch.setattr(dcplan.run, "run_study", no_plan)
    result = runner.invoke(app, ["run", str(study_file), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "no plan" in result.output and not (tmp_path / "o").exists()


def test_inputs_writes_the_coefficient_dataset(study_file, tmp_path):
    import xarray as xr

    out = tmp_path / "inputs.nc"
    result = runner.invoke(app, ["inputs", str(study_file), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    ds = xr.load_dataset(out)
    assert ds.sizes["site"] == 2 and "facility_mwh_per_gpu_year" in ds
    assert ds["facility_mwh_per_gpu_year"].attrs["units"]


def test_sites_list_and_show():
    result = runner.invoke(app, ["sites", "list", "--iso", "ERCOT", "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 3 and {r["iso"] for r in rows} == {"ERCOT"}
    shown = runner.invoke(app, ["sites", "show", rows[0]["site_id"]])
    assert shown.exit_code == 0 and rows[0]["site_id"] in shown.output
    missing = runner.invoke(app, ["sites", "show", "no_such_site"])
    assert missing.exit_code == 1 and "dcplan sites list" in " ".join(missing.output.split())


def test_data_list_names_tables_and_studies():
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    assert "chips.csv" in result.output and "model  training_campus" in result.output


def test_run_says_when_the_dask_workers_were_not_used(study_file, tmp_path):
    result = runner.invoke(app, ["run", str(study_file), "--no-report", "--workers", "1",
                                 "--set", "solver.route=full", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "Dask workers were not used" in result.output


def test_run_rejects_a_bad_worker_count_or_both_cluster_options(study_file, tmp_path):
    result = runner.invoke(app, ["run", str(study_file), "--workers", "0", "--out", str(tmp_path / "a")])
    assert result.exit_code == 1 and "--workers" in result.output and "give 1 or more" in result.output
    result = runner.invoke(app, ["run", str(study_file), "--workers", "2", "--scheduler",
                                 "tcp://127.0.0.1:8786", "--out", str(tmp_path / "b")])
    assert result.exit_code == 1 and "leave out --workers" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_run_prices_the_sites_on_a_local_dask_cluster(study_file, tmp_path):
    """`--workers 1` with the sifting route: the run's per-site problems go to a LocalCluster
    and the plan is the one solved here (same objective, audit passed)."""
    here, there = tmp_path / "here", tmp_path / "there"
    base = ["run", str(study_file), "-q", "--no-report", "--set", "solver.route=sifting",
            "--gap", "1e-6"]
    assert runner.invoke(app, [*base, "--out", str(here)]).exit_code == 0
    result = runner.invoke(app, [*base, "--out", str(there), "--workers", "1"])
    assert result.exit_code == 0, result.output
    a = json.loads((here / "summary.json").read_text())
    b = json.loads((there / "summary.json").read_text())
    assert b["audit"]["ok"] and b["objective_usd"] == pytest.approx(a["objective_usd"], rel=1e-6)
    import xarray as xr

    with xr.open_dataset(here / "plan.nc") as local, xr.open_dataset(there / "plan.nc") as far:
        assert local.attrs["site_pricing"] == "1 thread(s)"
        assert far.attrs["site_pricing"] == "dask: 1 worker(s)"
