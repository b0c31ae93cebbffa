"""The wheel carries the shipped data and studies, and they are found from an install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build from a clean copy: an in-tree build/ folder could carry stale files into the wheel
    source = out / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", ".venv", "runs", "__pycache__", ".pytest_cache", "site"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        capture_output=True, text=True, check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{build.stderr[-2000:]}")
    return next(out.glob("dcplan-*.whl"))


def test_wheel_ships_data_and_models(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("dcplan/_data/chips.csv", "dcplan/_data/cooling.csv", "dcplan/_data/sites/us_sites.csv",
                   "dcplan/_data/README.md", "dcplan/_models/training_campus.yaml"):
        assert member in names, member


def test_installed_wheel_finds_catalog_and_studies_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = (
        "import dcplan, dcplan.catalog as c, dcplan.sites as s;"
        "assert '_data' in str(c.data_dir()), c.data_dir();"
        "print(len(s.load_catalog()), c.find_study('training_campus').name)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    n_sites, study = run.stdout.split()
    assert int(n_sites) > 100 and study == "training_campus.yaml"
