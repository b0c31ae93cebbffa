"""Every CLI command, its error paths and exit codes (typer's CliRunner)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from dcplan.cli import app

runner = CliRunner()

STUDY = {
    "name": "cli tiny",
    "horizon": {"first_year": 2026, "last_year": 2029},
    "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 5000}]},
    "sites": {"inline": [
        {"site_id": "ashburn", "lat": 39.04, "lon": -77.49},
        {"site_id": "abilene", "lat": 32.45, "lon": -99.73},
    ]},
    "cooling": {"allowed": ["air_chiller", "dlc_dry"]},
    "solver": {"time_limit_s": "60 s"},
}


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
