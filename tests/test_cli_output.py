"""What the CLI writes for people and for other tools: pure JSON on stdout, no library chatter,
clear errors, overrides, the starter study and the tidy CSV export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dcplan.cli import app
from dcplan.results import Plan

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]

STUDY = {
    "name": "cli output",
    "horizon": {"first_year": 2026, "last_year": 2030},
    "fleet": {"gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": 5000}]},
    "sites": {
        "inline": [
            {"site_id": "ashburn", "lat": 39.04, "lon": -77.49},
            {"site_id": "abilene", "lat": 32.45, "lon": -99.73},
        ]
    },
    "cooling": {"allowed": ["air_chiller", "dlc_dry"]},
    "solver": {"time_limit_s": "60 s"},
}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a fresh process: file descriptor 1 is what a pipe would receive."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "dcplan.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture()
def study_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path


def test_run_json_is_pure_json_and_quiet_is_silent(study_file, tmp_path):
    result = _cli("run", str(study_file), "--json", "--no-report", "--out", "o1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # no HiGHS banner or progress before or after it
    assert summary["status"] == "optimal"
    assert summary["audit"]["ok"]
    assert "HiGHS" not in result.stdout
    quiet = _cli("run", str(study_file), "-q", "--no-report", "--out", "o2", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    assert "Running HiGHS" not in quiet.stderr


def test_sweep_prints_no_library_info_lines(study_file, tmp_path):
    result = _cli(
        "sweep",
        str(study_file),
        "--vary",
        "limits.block_mw=10,20",
        "--out",
        "sw",
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr + result.stdout, result.stderr
    assert "distributed." not in result.stderr and "UserWarning" not in result.stderr, result.stderr
    assert (tmp_path / "sw" / "sweep.csv").is_file()
    page = (tmp_path / "sw" / "report" / "index.html").read_text(encoding="utf-8")
    assert "Tornado" in page and "limits.block_mw" in page and "NPV cost" in page
    assert (tmp_path / "sw" / "report" / "tornado.png").stat().st_size > 1000


def test_tornado_ranks_fields_by_the_swing_of_the_mean_objective():
    from dcplan.report.sweep import plot_tornado, tornado_table

    table = pd.DataFrame({"a": [1, 1, 2, 2], "b": [10, 20, 10, 20],
                          "objective_usd": [100.0, 104.0, 200.0, 204.0]})
    bars = tornado_table(table, ["b", "a"])
    assert list(bars["field"]) == ["a", "b"]  # a moves the mean by 100, b by 4
    assert bars.loc[0, "swing_usd"] == pytest.approx(100.0)
    assert bars.loc[1, ["low_usd", "high_usd"]].tolist() == pytest.approx([150.0, 154.0])
    ax = plot_tornado(table, ["a", "b"]).axes[0]
    assert {p.get_gid() for p in ax.patches} == {"tornado|a", "tornado|b"}


def test_progress_lines_are_not_cut_at_80_columns_in_a_pipe(study_file, tmp_path):
    result = _cli("inputs", str(study_file), "--out", "in.nc", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wrote = [line for line in result.stdout.splitlines() if line.startswith("wrote")]
    assert wrote and wrote[0].rstrip().endswith("years")  # the whole line, not "...4 ye"


def test_version():
    from dcplan import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"dcplan {__version__}"


def test_time_limit_error_names_both_dimensions(study_file, tmp_path):
    result = runner.invoke(
        app, ["run", str(study_file), "--time-limit", "5 m", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "has dimension [length]" in text and "convertible to s" in text


def test_sites_list_unknown_state_is_an_error():
    result = runner.invoke(app, ["sites", "list", "--state", "ZZ"])
    assert result.exit_code == 1
    assert "ZZ" in result.output and "TX" in result.output  # names the value and the choices
    assert runner.invoke(app, ["sites", "list", "--state", "TX", "--limit", "1"]).exit_code == 0


def test_run_set_overrides_a_field(study_file, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "run",
            str(study_file),
            "-q",
            "--no-report",
            "--out",
            str(out),
            "--set",
            "limits.block_mw=40",
            "--set",
            "horizon.discount_rate=5 %",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = Plan.from_dir(out)
    assert float(plan.dataset.attrs["block_mw"]) == 40.0
    caps = plan.dataset["it_capacity_mw"].values
    assert np.allclose(caps / 40.0, np.round(caps / 40.0))
    bad = runner.invoke(
        app,
        ["run", str(study_file), "--set", "limits.no_such_key=1", "--out", str(tmp_path / "bad")],
    )
    assert bad.exit_code == 1
    assert "no_such_key" in bad.output


def test_init_writes_a_commented_study_that_solves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "First fleet"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "first_fleet.yaml"
    text = path.read_text()
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 10
    assert runner.invoke(app, ["init", "First fleet"]).exit_code == 1  # never overwrites
    assert path.read_text() == text
    run = runner.invoke(app, ["run", str(path), "-q", "--no-report", "--out", str(tmp_path / "r")])
    assert run.exit_code == 0, run.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["audit"]["ok"]
    assert summary["years"][-1]["gpus"] >= 20000 - 0.5


def test_export_csv_round_trips(study_file, tmp_path):
    out = tmp_path / "run"
    assert (
        runner.invoke(
            app, ["run", str(study_file), "-q", "--no-report", "--out", str(out)]
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["export", str(out), "--csv", str(tmp_path / "csv")])
    assert result.exit_code == 0, result.output
    plan = Plan.from_dir(out)
    years = pd.read_csv(tmp_path / "csv" / "years.csv").set_index("year")
    pd.testing.assert_frame_equal(years, plan.summary(), check_dtype=False)
    site_years = pd.read_csv(tmp_path / "csv" / "site_years.csv")
    assert len(site_years) == plan.dataset.sizes["site"] * plan.dataset.sizes["year"]
    for name in ("capex_usd", "opex_usd", "energy_mwh", "water_m3", "co2_t", "facility_peak_mw"):
        back = site_years.set_index(["site", "year"])[name].to_xarray()
        np.testing.assert_allclose(
            back.sel(site=plan.dataset["site"].values).values,
            plan.dataset[name].values,
            rtol=1e-12,
            atol=0,
        )
        np.testing.assert_allclose(
            site_years.groupby("year")[name].sum().values, years[name].values, rtol=1e-9
        )
    sites = pd.read_csv(tmp_path / "csv" / "sites.csv")
    assert list(sites["site_id"]) == list(plan.dataset["site"].values)
    assert sites["chosen"].tolist() == plan.dataset["site_open"].values.tolist()
    missing = runner.invoke(
        app, ["export", str(tmp_path / "nowhere"), "--csv", str(tmp_path / "c2")]
    )
    assert missing.exit_code == 1


def test_netcdf_outputs_are_compressed_and_readable_by_others(study_file, tmp_path):
    import netCDF4
    import xarray as xr

    from dcplan.inputs import build_inputs, write_inputs
    from dcplan.netcdf import COMPLEVEL
    from dcplan.spec import load_study

    ds = build_inputs(load_study(study_file), keep_hourly=True)
    old = os.umask(0o022)
    try:
        write_inputs(ds, tmp_path / "inputs.nc")
    finally:
        os.umask(old)
    path = tmp_path / "inputs.nc"
    assert path.stat().st_mode & 0o777 == 0o644  # like a plain open(), not a 0600 temp file
    with netCDF4.Dataset(path) as nc:
        filters = [nc[v].filters() for v in nc.variables
                   if nc[v].ndim and getattr(nc[v].dtype, "kind", "") == "f"]
    assert filters and all(f["zlib"] and f["complevel"] == COMPLEVEL for f in filters)
    plain = tmp_path / "plain.nc"
    ds.to_netcdf(plain, engine="netcdf4")
    # hourly synthetic weather carries day-to-day anomalies (fitted to TMY3 files), which
    # compress less than smooth sinusoids: ~0.70 of the plain file
    assert path.stat().st_size < 0.75 * plain.stat().st_size
    back = xr.load_dataset(path)
    for name in ds.data_vars:
        if ds[name].dtype.kind == "f":
            np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert not list(tmp_path.glob(".*.tmp"))


def test_progress_in_a_narrow_terminal_keeps_the_clock_whole(monkeypatch):
    import io
    import re

    from rich.console import Console

    from dcplan import cli

    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=80, color_system=None)
    monkeypatch.setattr(cli, "err_console", terminal)
    long_detail = "SitingModel(1,000 sites x 10 years: 2,310,000 columns (900,000 integer), " * 3
    with cli._phases(quiet=False) as report:
        report("build", {"phase": "build", "detail": long_detail, "done": True})
    text = buffer.getvalue()
    lines = [line for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).splitlines() if "build" in line]
    assert lines and all(len(line) <= 80 for line in lines)
    assert re.search(r"\d:\d\d:\d\d\s*$", lines[-1]), lines[-1]  # the elapsed time, not "0:0…"
    assert "…" in lines[-1]  # the detail gave way
