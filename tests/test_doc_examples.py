"""Every study and Python snippet that README.md and docs/ show runs as shown.

Python blocks of one page run in order in one namespace (later blocks use earlier names),
in a scratch folder holding the page's own study files. A snippet that reads finished runs
other than those the page makes (``runs/base``, ``runs/no_water``) gets copies of the run
the page made.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import matplotlib
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

matplotlib.use("Agg")


def _blocks(page: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def _studies() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for k, block in enumerate(_blocks(page, "yaml")):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and {"horizon", "fleet", "sites"} <= set(data):
                out.append((f"{page.name}#{k}", block))
    return out


@pytest.mark.parametrize(("where", "text"), _studies(), ids=[w for w, _ in _studies()])
def test_every_documented_study_solves(where, text, tmp_path):
    import dcplan
    from dcplan.spec import parse_study

    plan = dcplan.run_study(parse_study(yaml.safe_load(text), source=where))
    assert plan.status in ("optimal", "time_limit")
    assert plan.audit().ok


def test_readme_python_snippet_runs(monkeypatch):
    (code,) = _blocks(ROOT / "README.md", "python")
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["plan"].audit().ok


def test_getting_started_and_notebook_snippets_run(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    (study,) = [b for b in _blocks(ROOT / "docs" / "getting-started.md", "yaml") if "horizon" in b]
    Path("my_study.yaml").write_text(study, encoding="utf-8")
    namespace: dict = {}
    for code in _blocks(ROOT / "docs" / "getting-started.md", "python"):
        exec(compile(code, "getting-started.md", "exec"), namespace)
    assert Path("runs/my_study/plan.nc").is_file()
    for name in ("base", "no_water"):
        shutil.copytree("runs/my_study", f"runs/{name}")
    namespace = {}
    for k, code in enumerate(_blocks(ROOT / "docs" / "notebook.md", "python")):
        exec(compile(code, f"notebook.md block {k}", "exec"), namespace)
        plt.close("all")
    assert os.path.isfile("figures/index.html")
    assert Path("chosen.geojson").is_file()
