"""CLI robustness: user text printed as written, options validated like the schema, a report
failure never discards a solved plan, Ctrl-C on a sweep exits cleanly and keeps only whole scenarios."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY_STUDY
from typer.testing import CliRunner

from dcplan.cli import _safe, app

PROJECT = Path(__file__).resolve().parents[1]
runner = CliRunner()

STUDY = dict(TINY_STUDY, name="cli safety")


def _write(tmp_path: Path, study: dict, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(study, allow_unicode=True))
    return path


@pytest.fixture()
def no_solve(monkeypatch):
    import dcplan.run

    def boom(*args, **kwargs):
        raise AssertionError("options must be checked before solving")

    monkeypatch.setattr(dcplan.run, "_solve", boom)


def test_safe_escapes_markup_and_control_characters():
    assert _safe("[/x] [bold]b[/bold]") == r"\[/x] \[bold]b\[/bold]"
    assert _safe("a\x1b[31mred\x00") == r"a\x1b[31mred\x00"
    assert "\x1b" not in _safe("\x1b") and "\x00" not in _safe("\x00")
    assert _safe("line\nnext") == "line\nnext"


def test_markup_in_names_is_printed_as_written(tmp_path):
    study = dict(STUDY, name="evil [/x] [bold]study")
    study["sites"] = {"inline": [
        {"site_id": "ash[/x]burn", "name": "Ash [red]burn[/red] \x1b[31mESC\x00", "lat": 39.04,
         "lon": -77.49},
        {"site_id": "abilene", "lat": 32.45, "lon": -99.73}]}
    path = _write(tmp_path, study)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    assert "evil [/x] [bold]study" in result.stdout
    assert "\x1b" not in result.stdout and "\x00" not in result.stdout
    validated = runner.invoke(app, ["validate", str(path)])
    assert validated.exit_code == 0 and "evil [/x] [bold]study" in validated.stdout


def test_markup_in_an_unknown_key_is_printed_as_written(tmp_path):
    study = dict(STUDY, **{"[/x]": 1, "\x1b[2J": 2})
    result = runner.invoke(app, ["validate", str(_write(tmp_path, study))])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception,
                                                                              SystemExit)
    assert "[/x]" in result.output and "\x1b" not in result.output


def test_bracketed_text_in_messages_is_kept(tmp_path):
    study = dict(STUDY, fleet={"gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": "5 kg"}]})
    result = runner.invoke(app, ["validate", str(_write(tmp_path, study))])
    assert result.exit_code == 1
    assert "[mass]" in result.output


@pytest.mark.parametrize("option", [
    ["--gap", "2"], ["--gap", "-1"], ["--gap", "nan"], ["--gap", "0"], ["--gap", "inf"],
    ["--time-limit", "0s"], ["--time-limit", "-5min"], ["--time-limit", "nan s"],
    ["--time-limit", "inf s"], ["--time-limit", "5 kg"],
])
def test_gap_and_time_limit_are_validated_before_solving(tmp_path, option, no_solve):
    result = runner.invoke(app, ["run", str(_write(tmp_path, STUDY)), "--out",
                                 str(tmp_path / "o"), *option])
    assert result.exit_code == 1, result.output
    assert option[0] in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_report_failure_keeps_the_solved_plan(tmp_path, monkeypatch):
    import dcplan.report

    def broken(plan, out_dir):
        Path(out_dir).mkdir()
        Path(out_dir, "half.png").write_bytes(b"x")
        raise ValueError(r"Unknown symbol: \foo, found '\'  (at char 0), (line:1, col:1)")

    monkeypatch.setattr(dcplan.report, "write_report", broken)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(_write(tmp_path, STUDY)), "--out", str(out)])
    assert result.exit_code == 5, result.output
    text = " ".join(result.output.split())
    assert "report failed" in text and f"dcplan report {out}" in text and r"\foo" in text
    assert (out / "plan.nc").is_file() and (out / "summary.json").is_file()
    assert not (out / "report").exists()
    assert "Plan by year" in result.stdout


def test_a_mathtext_site_name_never_loses_the_plan(tmp_path):
    study = dict(STUDY)
    study["sites"] = {"inline": [
        {"site_id": "ashburn", "name": r"$\foo$ campus", "lat": 39.04, "lon": -77.49},
        {"site_id": "abilene", "name": r"$\frac{1}{$", "lat": 32.45, "lon": -99.73}]}
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(_write(tmp_path, study)), "--out", str(out)])
    assert result.exit_code == 0, result.output  # names are text, never TeX
    assert (out / "plan.nc").is_file() and (out / "summary.json").is_file()
    assert "$\\frac{1}{$" in (out / "report" / "index.html").read_text(encoding="utf-8")


def test_validate_opens_the_site_file(tmp_path):
    (tmp_path / "sites.csv").write_text("lat,lon\n39.04,-77.49\n")
    study = dict(STUDY, sites={"file": "sites.csv"})
    result = runner.invoke(app, ["validate", str(_write(tmp_path, study))])
    assert result.exit_code == 1 and "site_id" in result.output
    (tmp_path / "sites.csv").write_text("site_id,lat,lon\na,39.04,-77.49\n")
    assert runner.invoke(app, ["validate", str(_write(tmp_path, study))]).exit_code == 0


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    path = _write(root, STUDY)
    out = root / "run"
    assert runner.invoke(app, ["run", str(path), "--out", str(out), "-q", "--no-report"]
                         ).exit_code == 0
    inputs = root / "inputs.nc"
    assert runner.invoke(app, ["inputs", str(path), "--out", str(inputs), "-q"]).exit_code == 0
    return out, inputs


def _copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_report_with_a_broken_sites_gpkg_is_clear(finished_run, tmp_path):
    out = _copy_run(finished_run[0], tmp_path / "run")
    (out / "sites.gpkg").write_bytes(b"garbage" * 50)
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 1, result.output
    assert "cannot read the run" in result.output and result.exception is None or isinstance(
        result.exception, SystemExit)
    assert not (out / "report").exists()


def test_report_of_an_inputs_file_as_plan_is_clear(finished_run, tmp_path):
    import shutil

    out = _copy_run(finished_run[0], tmp_path / "run")
    shutil.copy(finished_run[1], out / "plan.nc")
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 1, result.output
    assert "inputs file" in result.output and isinstance(result.exception, SystemExit)


def test_sweep_ctrl_c_exits_130_without_tracebacks(tmp_path):
    path = _write(tmp_path, STUDY)
    out = tmp_path / "sweep"
    env = dict(os.environ, PYTHONPATH=str(PROJECT), MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, "-m", "dcplan.cli", "sweep", str(path), "--vary",
                             "limits.block_mw=10,20,30,40", "--workers", "2", "--out", str(out),
                             "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "dcplan-manifest.json").is_file():  # the sweep is under way
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert waited < 10
    assert "Traceback" not in err and "interrupted" in err and "rerun to resume" in err, err
    time.sleep(1.0)
    # the sweep folder keeps only whole scenarios (a rerun resumes from them), nothing half written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "sweep"]
    from dcplan.atomic import read_manifest

    for entry in out.iterdir():
        assert not entry.name.startswith("."), entry
        if entry.is_dir():
            assert read_manifest(entry) is not None and (entry / "scenario.json").is_file(), entry
