"""Sweeps: scenarios files and their errors, one Dask task per scenario on a real
LocalCluster (2 worker processes on loopback), failures kept beside the plans, resume, the
combined netCDF, and the CLI with --scheduler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import TINY_STUDY
from typer.testing import CliRunner

from dcplan.cli import EXIT_SOME_FAILED, app
from dcplan.errors import OutputError, SpecError
from dcplan.spec import load_study
from dcplan.sweep import (
    FINAL_STATUSES,
    Scenario,
    finished_record,
    read_scenarios,
    run_sweep,
    scenario_key,
    vary_scenarios,
    write_scenario,
)

PROJECT = Path(__file__).resolve().parents[1]
runner = CliRunner()
STUDY = dict(TINY_STUDY, name="sweep tiny")

#: base, a larger build block, a build rate no plan can meet (infeasible), a carbon price
SCENARIOS_YAML = """\
- name: base
- name: big_blocks
  limits.block_mw: 40 MW
- name: no_room
  limits.max_build_mw_per_year: 1
- name: carbon
  costs.carbon_price_usd_per_t: 150
"""
SCENARIOS_CSV = """\
name,limits.block_mw,limits.max_build_mw_per_year,costs.carbon_price_usd_per_t
base,,,
big_blocks,40 MW,,
no_room,,1,
carbon,,,150
"""


@pytest.fixture()
def study_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ scenarios files
def test_yaml_and_csv_scenarios_give_the_same_studies(study_file, tmp_path):
    base = load_study(study_file)
    from_yaml = read_scenarios(_file(tmp_path, "s.yaml", SCENARIOS_YAML), base)
    from_csv = read_scenarios(_file(tmp_path, "s.csv", SCENARIOS_CSV), base)
    assert [c.name for c in from_yaml] == [c.name for c in from_csv] == ["base", "big_blocks", "no_room", "carbon"]
    # the same resolved studies: "40 MW" and the CSV cell read to the same canonical value
    assert [c.key for c in from_yaml] == [c.key for c in from_csv]
    by_name = {c.name: c.study for c in from_yaml}
    assert by_name["big_blocks"].limits.block_mw == 40.0
    assert by_name["no_room"].limits.max_build_mw_per_year == 1.0
    assert by_name["carbon"].costs.carbon_price_usd_per_t == 150.0
    assert by_name["base"].limits == base.limits and by_name["base"].name == "sweep tiny [base]"
    assert len({c.key for c in from_yaml}) == 4


def test_scenarios_file_reports_every_problem_with_file_scenario_field_value_and_fix(study_file, tmp_path):
    text = textwrap.dedent("""\
        - name: ok
          limits.block_mw: 40
        - name: typo
          limits.blok_mw: 40
        - name: negative
          limits.block_mw: -5
        - name: ok
        - name: "bad/name"
        - limits.block_mw: 10
        - just a string
        - name: into_value
          name.x: 1
    """)
    path = _file(tmp_path, "bad.yaml", text)
    with pytest.raises(SpecError) as info:
        read_scenarios(path, load_study(study_file))
    problems = info.value.problems
    assert len(problems) == 7, info.value
    assert all(str(path) in p.location and p.fix for p in problems)
    text = str(info.value)
    assert "scenario 'typo'" in text and "limits.blok_mw" in text              # unknown field
    assert "scenario 'negative'" in text and "limits.block_mw" in text and "-5" in text  # bad value
    assert "'ok' is also used" in text                                        # duplicate name
    assert "'bad/name' cannot name a folder" in text
    assert "entry 6" in text and "no name" in text
    assert "entry 7" in text and "a scenario is a mapping" in text
    assert "'name' in 'name.x' holds a value" in text


def test_csv_scenarios_errors(study_file, tmp_path):
    base = load_study(study_file)
    no_name = _file(tmp_path, "a.csv", "scenario,limits.block_mw\nx,10\n")
    with pytest.raises(SpecError, match="no 'name' column"):
        read_scenarios(no_name, base)
    ragged = _file(tmp_path, "b.csv", "name,limits.block_mw\nx,10,20\ny,[1\n")
    with pytest.raises(SpecError) as info:
        read_scenarios(ragged, base)
    text = str(info.value)
    assert f"{ragged}:2: scenario 'x'" in text and "3 cells for 2 columns" in text
    assert f"{ragged}:3: scenario 'y': limits.block_mw" in text and "'[1'" in text
    with pytest.raises(SpecError, match="must be .yaml, .yml or .csv"):
        read_scenarios(_file(tmp_path, "c.txt", "name\nx\n"), base)
    with pytest.raises(SpecError, match="cannot read the scenarios file"):
        read_scenarios(tmp_path / "missing.yaml", base)
    with pytest.raises(SpecError, match="holds no scenarios"):
        read_scenarios(_file(tmp_path, "empty.yaml", ""), base)
    with pytest.raises(SpecError, match="duplicate key"):
        read_scenarios(_file(tmp_path, "dup.yaml", "- name: a\n  name: b\n"), base)


def test_scenario_key_follows_the_resolved_study_the_site_file_and_the_version(tmp_path, monkeypatch):
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,lat,lon\nashburn,39.04,-77.49\nabilene,32.45,-99.73\n")
    study = {k: v for k, v in STUDY.items() if k != "sites"} | {"sites": {"file": "sites.csv"}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(study))
    base = load_study(path)
    [plain] = vary_scenarios(base, {"limits.block_mw": [40]})
    [spelled] = vary_scenarios(base, {"limits.block_mw": ["40 MW"]})
    [other] = vary_scenarios(base, {"limits.block_mw": [30]})
    assert plain.key == spelled.key != other.key  # canonical units: the same study
    sites.write_text("site_id,lat,lon\nashburn,39.04,-77.49\nabilene,32.46,-99.73\n")
    assert scenario_key(plain.study) != plain.key  # the site file changed
    import dcplan

    monkeypatch.setattr(dcplan, "__version__", "99.0")
    sites.write_text("site_id,lat,lon\nashburn,39.04,-77.49\nabilene,32.45,-99.73\n")
    assert scenario_key(plain.study) != plain.key  # another dcplan version


def test_vary_names_scenarios_by_their_values(study_file):
    cases = vary_scenarios(load_study(study_file), {"limits.block_mw": [10, "20 MW"],
                                                    "costs.carbon_price_usd_per_t": [0]})
    assert [c.name for c in cases] == ["limits.block_mw=10,costs.carbon_price_usd_per_t=0",
                                       "limits.block_mw=20_MW,costs.carbon_price_usd_per_t=0"]
    with pytest.raises(SpecError, match="limits.block_mw"):
        vary_scenarios(load_study(study_file), {"limits.block_mw": [-1]})


def test_cli_refuses_vary_with_scenarios_and_bad_cluster_options(study_file, tmp_path):
    scen = _file(tmp_path, "s.yaml", SCENARIOS_YAML)
    out = tmp_path / "sw"
    cases = [
        (["--vary", "limits.block_mw=10,20", "--scenarios", str(scen)], "not both"),
        ([], "give the scenarios with --vary or with --scenarios"),
        (["--scenarios", str(scen), "--scheduler", "localhost:8786"], "not a scheduler address"),
        (["--scenarios", str(scen), "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "leave out --workers"),
        (["--scenarios", str(scen), "--workers", "0"], "give 1 or more"),
        (["--scenarios", str(_file(tmp_path, "bad.csv", "name,limits.block_mw\nx,-1\n"))], "bad.csv:2: scenario 'x'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["sweep", str(study_file), *args, "--out", str(out)])
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_the_scenarios_files_in_the_docs_read_as_documented(tmp_path):
    import re

    page = (PROJECT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    yaml_text = re.findall(r"```yaml\n(.*?)```", page, flags=re.S)[0]
    csv_text = re.findall(r"```text\n(name,.*?)```", page, flags=re.S)[0]
    base = load_study("training_campus")
    from_yaml = read_scenarios(_file(tmp_path, "s.yaml", yaml_text), base)
    from_csv = read_scenarios(_file(tmp_path, "s.csv", csv_text), base)
    assert [c.name for c in from_yaml] == ["base", "big_blocks", "carbon_price", "fewer_sites"]
    assert [c.name for c in from_csv] == ["base", "big_blocks", "carbon_price"]
    assert [c.key for c in from_csv] == [c.key for c in from_yaml[:3]]  # the same three studies
    assert from_yaml[3].study.limits.max_sites == 4


def test_the_sweep_folder_may_not_hold_the_scenarios_file(study_file, tmp_path):
    out = tmp_path / "sw"
    out.mkdir()
    scen = _file(out, "s.yaml", SCENARIOS_YAML)
    result = runner.invoke(app, ["sweep", str(study_file), "--scenarios", str(scen), "--out", str(out),
                                 "--overwrite"])
    assert result.exit_code == 1 and "an input of this study" in " ".join(result.output.split())
    assert scen.read_text() == SCENARIOS_YAML


# ------------------------------------------------------------------ atomic scenario folders
KILLED_WRITE = textwrap.dedent("""
    import sys
    from dcplan.sweep import Scenario, write_scenario
    case = Scenario("a", {}, None, key="k1")
    write_scenario(sys.argv[1], case, {"status": "optimal", "files": {"plan.nc": b"x" * 100000}})
""")


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 6])
def test_a_killed_write_never_leaves_a_scenario_that_looks_finished(tmp_path, step):
    out = tmp_path / "sweep"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(PROJECT), DCPLAN_FAULT_STEP=str(step))
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(out)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr  # killed at the step
    record = finished_record(out / "scenario_a", "k1")
    if step <= 5:  # not yet swapped in: nothing at the path, the scenario counts as not run
        assert record is None and not (out / "scenario_a").exists()
    else:  # swapped in: whole
        assert record["status"] == "optimal" and (out / "scenario_a" / "plan.nc").stat().st_size == 100000
    # the next write of the scenario clears the leftovers and puts it in place
    write_scenario(out, Scenario("a", {}, None, key="k2"), {"status": "infeasible", "error": "e"})
    assert finished_record(out / "scenario_a", "k2")["status"] == "infeasible"
    assert sorted(p.name for p in out.iterdir()) == ["scenario_a"]


def test_finished_means_a_plan_or_proven_infeasible_for_the_same_key(tmp_path):
    for status in ("optimal", "infeasible", "no_plan", "error"):
        write_scenario(tmp_path, Scenario(status, {}, None, key="k"),
                       {"status": status, "files": {"plan.nc": b"x"} if status == "optimal" else {}})
        finished = finished_record(tmp_path / f"scenario_{status}", "k")
        assert (finished is not None) == (status in FINAL_STATUSES), status
        assert finished_record(tmp_path / f"scenario_{status}", "other") is None


# ------------------------------------------------------------------ on a real LocalCluster
@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes on loopback (dcplan.distributed)."""
    from dcplan.distributed import cluster

    with cluster(workers=2, host="127.0.0.1") as client:
        client.wait_for_workers(2, timeout=120)
        yield client


@pytest.fixture(scope="module")
def first_sweep(client, tmp_path_factory):
    """The four scenarios solved once through --scheduler; the tests below read or copy it."""
    tmp = tmp_path_factory.mktemp("sweep")
    study = tmp / "tiny.yaml"
    study.write_text(yaml.safe_dump(STUDY))
    scenarios = _file(tmp, "s.yaml", SCENARIOS_YAML)
    out = tmp / "sweep"
    result = runner.invoke(app, ["sweep", str(study), "--scenarios", str(scenarios), "--out", str(out),
                                 "--scheduler", client.scheduler.address])
    return study, scenarios, out, result


def test_a_failing_scenario_is_recorded_and_the_others_kept(first_sweep):
    _, _, out, result = first_sweep
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "1 of 4 scenarios have no plan: no_room" in " ".join(result.output.split())
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["scenario"]) == ["base", "big_blocks", "no_room", "carbon"]
    status = dict(zip(table["scenario"], table["status"], strict=True))
    assert status == {"base": "optimal", "big_blocks": "optimal", "no_room": "infeasible", "carbon": "optimal"}
    failed = table.set_index("scenario").loc["no_room"]
    assert "max_build_mw_per_year" in failed["error"] and np.isnan(failed["objective_usd"])
    ok = table[table["status"] == "optimal"]
    assert ok["audit_ok"].all() and (ok["objective_usd"] > 0).all() and (ok["solve_seconds"] > 0).all()
    assert (table["task_cpu_seconds"] > 0).all() and table["solved"].all()
    # dearer blocks and a carbon price both cost more than the base plan
    cost = dict(zip(table["scenario"], table["objective_usd"], strict=True))
    assert cost["big_blocks"] > cost["base"] and cost["carbon"] > cost["base"]
    record = json.loads((out / "scenario_no_room" / "scenario.json").read_text())
    assert record["status"] == "infeasible" and "max_build_mw_per_year" in record["diagnosis"]
    assert not (out / "scenario_no_room" / "plan.nc").exists()
    for name in ("base", "big_blocks", "carbon"):
        summary = json.loads((out / f"scenario_{name}" / "summary.json").read_text())
        assert summary["objective_usd"] == pytest.approx(cost[name])
    assert (out / "report" / "index.html").is_file()


def test_each_scenario_records_the_cpu_of_its_phases_and_of_its_worker_threads(first_sweep):
    _, _, out, _ = first_sweep
    record = json.loads((out / "scenario_base" / "scenario.json").read_text())
    phases = record["phases"]
    assert {"inputs", "build", "handoff", "solve", "plan", "audit", "write"} <= set(phases)
    for name, spent in phases.items():
        if name != "threads":
            assert spent["wall"] >= 0 and spent["user"] >= 0 and spent["system"] >= 0, name
    assert phases["solve"]["user"] + phases["solve"]["system"] > 0
    # the task's own thread did the work; a worker's other threads (event loop, HiGHS, BLAS)
    # took far less than it, and the CPU of the phases adds up to the task's CPU
    threads = phases["threads"]
    assert threads["main"] > 2 * threads["other"] and threads["count"] >= 2
    phase_cpu = sum(v["user"] + v["system"] for k, v in phases.items() if k != "threads")
    assert phase_cpu == pytest.approx(threads["main"] + threads["other"], abs=0.2)
    assert phase_cpu == pytest.approx(record["task_cpu_seconds"], abs=0.2)


def test_local_workers_run_without_profiler_or_malloc_trimming_and_with_one_blas_thread(client):
    def settings():
        import os

        import dask

        return (dask.config.get("distributed.worker.profile.enabled"), os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                os.environ.get("OMP_NUM_THREADS"), os.environ.get("OPENBLAS_NUM_THREADS"))

    assert set(client.run(settings).values()) == {(False, None, "1", "1")}


def test_a_worker_builds_the_synthetic_weather_of_the_same_sites_once():
    from dcplan import inputs, weather
    from dcplan.spec import parse_study

    study = parse_study({**STUDY, "sites": {"catalog": {"limit": 5}}}, "test")
    sites = inputs.site_table(study)
    inputs._SYNTHETIC_YEARS.clear()
    first = inputs.site_weather(study, sites)
    assert len(inputs._SYNTHETIC_YEARS) == 1
    first["dry_bulb_c"].values[:] = -99.0  # a caller's change does not reach the kept year
    again = inputs.site_weather(study, sites)
    assert len(inputs._SYNTHETIC_YEARS) == 1
    zone = sites["climate_zone"].astype(str).str.strip()
    year = weather.synthetic_year(
        sites["cooling_design_db_c"].to_numpy(float), sites["heating_design_db_c"].to_numpy(float),
        sites["hdd18"].to_numpy(float), sites["cdd10"].to_numpy(float),
        zone.str[-1].where(zone.str[-1].isin(["A", "B", "C"]), "").to_numpy(),
        sites["elevation_m"].to_numpy(float), sites.geometry.y.to_numpy(float), lon=sites.geometry.x.to_numpy(float))
    np.testing.assert_array_equal(again["dry_bulb_c"].values,
                                  year["temp_air_c"].transpose("site", "hour").values.astype(np.float32))
    np.testing.assert_array_equal(again["wet_bulb_c"].values,
                                  year["wet_bulb_c"].transpose("site", "hour").values.astype(np.float32))
    # other sites are another year, built anew
    fewer = sites.iloc[:3]
    assert inputs.site_weather(study, fewer).sizes["site"] == 3 and len(inputs._SYNTHETIC_YEARS) == 2


def test_the_combined_netcdf_has_a_scenario_dimension_with_units(first_sweep):
    _, _, out, _ = first_sweep
    ds = xr.load_dataset(out / "sweep.nc")
    assert list(ds["scenario"].values) == ["base", "big_blocks", "no_room", "carbon"]
    assert ds["it_capacity_mw"].dims[0] == "scenario" and ds["site_open"].dims == ("scenario", "site")
    missing = [v for v in ds.variables if "units" not in ds[v].attrs]
    assert not missing, missing
    assert ds["it_capacity_mw"].attrs["units"] == "MW" and ds["objective_usd"].attrs["units"] == "USD"
    assert list(ds["status"].values) == ["optimal", "optimal", "infeasible", "optimal"]
    assert np.isnan(ds["objective_usd"].sel(scenario="no_room"))
    assert ds["it_capacity_mw"].sel(scenario="no_room").isnull().all()
    for name in ("base", "big_blocks"):  # each slice is that scenario's own plan
        plan = xr.load_dataset(out / f"scenario_{name}" / "plan.nc")
        np.testing.assert_allclose(ds["it_capacity_mw"].sel(scenario=name).transpose(*plan["it_capacity_mw"].dims),
                                   plan["it_capacity_mw"])
        assert float(ds["objective_usd"].sel(scenario=name)) == pytest.approx(plan.attrs["objective_usd"])
    # 40 MW blocks: every installed capacity is a multiple of 40
    big = ds["it_capacity_mw"].sel(scenario="big_blocks").values
    assert np.allclose(big % 40.0, 0.0) and big.max() > 0


def test_a_rerun_skips_finished_scenarios_and_solves_changed_ones(first_sweep, client, tmp_path):
    from dask.distributed import get_task_stream

    study, scenarios, first, _ = first_sweep
    out = tmp_path / "sweep"
    shutil.copytree(first, out)
    base = load_study(study)
    cases = read_scenarios(scenarios, base)
    address = client.scheduler.address
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("scenario_*/plan.nc")}

    events = []
    with get_task_stream(client) as stream:
        table = run_sweep(base, scenarios=cases, out=out, scheduler=address, report=False,
                          progress=lambda event, info=None: events.append((event, info)))
    assert len(stream.data) == 0  # nothing solved: the infeasible one is final too
    assert not table["solved"].any() and list(table["status"]) == ["optimal", "optimal", "infeasible", "optimal"]
    assert sorted(i["scenario"] for e, i in events if e == "scenario" and i["state"] == "skipped") == \
        sorted(c.name for c in cases)
    assert before == {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("scenario_*/plan.nc")}

    changed = read_scenarios(_file(tmp_path, "s2.yaml", SCENARIOS_YAML.replace("150", "100")), base)
    events.clear()
    with get_task_stream(client) as stream:
        table = run_sweep(base, scenarios=changed, out=out, scheduler=address, report=False,
                          progress=lambda event, info=None: events.append((event, info)))
    assert len(stream.data) == 1  # only the changed carbon scenario
    assert list(table.loc[table["solved"], "scenario"]) == ["carbon"]
    states = [(i["scenario"], i["state"]) for e, i in events if e == "scenario"]
    assert ("carbon", "started") in states and ("carbon", "done") in states
    assert float(xr.load_dataset(out / "sweep.nc")["objective_usd"].sel(scenario="carbon")) < \
        float(pd.read_csv(first / "sweep.csv").set_index("scenario").loc["carbon", "objective_usd"])

    user_file = out / "my_notes.txt"  # a file of the user's inside the sweep folder
    user_file.write_text("mine")
    with get_task_stream(client) as stream:
        table = run_sweep(base, scenarios=changed[:2], out=out, scheduler=address, report=False, fresh=True)
    assert len(stream.data) == 2 and table["solved"].all()
    assert user_file.read_text() == "mine"


def test_a_sweep_refuses_a_user_folder_where_a_scenario_goes(first_sweep, client, tmp_path):
    study, scenarios, first, _ = first_sweep
    out = tmp_path / "sweep"
    shutil.copytree(first, out)
    shutil.rmtree(out / "scenario_carbon")
    (out / "scenario_carbon").mkdir()
    (out / "scenario_carbon" / "data.txt").write_text("mine")
    base = load_study(study)
    with pytest.raises(OutputError, match="scenario_carbon"):
        run_sweep(base, scenarios=read_scenarios(scenarios, base), out=out, scheduler=client.scheduler.address)
    assert (out / "scenario_carbon" / "data.txt").read_text() == "mine"


def test_cli_vary_through_a_running_scheduler(study_file, client, tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", str(study_file), "--vary", "limits.block_mw=10,20", "--out", str(out),
                                 "--scheduler", client.scheduler.address, "--no-report"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert sorted(table["limits.block_mw"]) == [10, 20]
    assert (table["status"] == "optimal").all() and table["audit_ok"].all()
    for name in table["scenario"]:
        assert (out / f"scenario_{name}" / "summary.json").is_file()
    assert "limits.block_mw=10" in result.output and "optimal" in result.output


def test_an_unreachable_scheduler_is_a_clear_error(study_file, tmp_path, monkeypatch):
    import socket

    import dcplan.distributed

    monkeypatch.setattr(dcplan.distributed, "CONNECT_TIMEOUT_S", 2.0)

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(app, ["sweep", str(study_file), "--vary", "limits.block_mw=10",
                                 "--out", str(tmp_path / "sw"), "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 1, result.output
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in " ".join(result.output.split())
