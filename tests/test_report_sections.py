"""The report of a real solved plan: what an analyst can act on, nothing else."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dcplan.spec import parse_study

STUDY = {
    "name": "report sections",
    "horizon": {"first_year": 2026, "last_year": 2032},
    "fleet": {"gpus": [{"year": 2030, "chip": "h100_sxm", "gpus": 30000},
                       {"year": 2031, "chip": "gb200_nvl72", "gpus": 20000}]},
    "sites": {"inline": [
        {"site_id": "ashburn", "name": "Ashburn VA", "lat": 39.04, "lon": -77.49},
        {"site_id": "abilene", "name": "Abilene TX", "lat": 32.45, "lon": -99.73},
        {"site_id": "quincy", "name": "Quincy WA", "lat": 47.23, "lon": -119.85},
        {"site_id": "phoenix", "name": "Goodyear AZ", "lat": 33.44, "lon": -112.36},
    ]},
    "cooling": {"allowed": ["air_chiller", "air_evap", "dlc_dry", "dlc_tower", "immersion"]},
    "limits": {"block_mw": 20, "max_build_mw_per_year": 60},
    "solver": {"time_limit_s": "60 s", "mip_rel_gap": 0.005},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    from dcplan.results import Plan
    from dcplan.run import run_study

    out = tmp_path_factory.mktemp("report") / "run"
    run_study(parse_study(STUDY), out=out)
    plan = Plan.from_dir(out)
    return plan, (out / "report" / "index.html").read_text(encoding="utf-8")


def _used(plan):
    ds = plan.dataset
    opened = set(ds["site"].values[ds["site_open"].values.astype(bool)].astype(str))
    cooling = set(ds["cooling"].values[(ds["it_capacity_mw"] > 0).any(("site", "year")).values].astype(str))
    return opened, cooling


def test_capex_by_category_is_in_plan_nc_and_adds_up(run):
    plan, _ = run
    ds = plan.dataset
    parts = ["capex_gpus_usd", "capex_facility_usd", "capex_interconnect_usd", "capex_site_usd"]
    assert all(name in ds and ds[name].attrs["units"] == "USD" for name in parts)
    total = sum(ds[name].sum([d for d in ds[name].dims if d not in ("site", "year")]) for name in parts)
    np.testing.assert_allclose(total.values, ds["capex_usd"].values, rtol=1e-9, atol=1.0)
    assert float(ds["capex_gpus_usd"].sum()) > 0 and float(ds["capex_facility_usd"].sum()) > 0


def test_report_shows_no_unused_cooling_and_no_unopened_site(run):
    from dcplan.report import COOLING_LABELS, binding_constraints_text

    plan, page = run
    opened, cooling = _used(plan)
    unopened = set(plan.dataset["site"].values.astype(str)) - opened
    unused = set(plan.dataset["cooling"].values.astype(str)) - cooling
    assert unopened and unused, "the study must leave something out for this test to bite"
    legend = re.search(r"<p>Cooling colours:(.*?)</p>", page).group(1)
    assert all(COOLING_LABELS[c] in legend for c in cooling)
    assert not any(COOLING_LABELS[c] in legend for c in unused)
    for line in binding_constraints_text(plan):
        assert not any(f"{s}/" in line or line.endswith(f"at {s}.") for s in unopened), line
        assert not any(f"/{c}" in line for c in unused), line
    sections = re.findall(r'<section class="site" id="site-([^"]+)">', page)
    assert set(sections) == opened


def test_binding_figure_panels_have_one_unit_each_and_full_labels(run):
    plan, _ = run
    fig = plan.plot_binding_constraints()
    xlabels = [ax.get_xlabel() for ax in fig.axes]
    assert len(set(xlabels)) == len(xlabels)  # one unit per panel
    for ax in fig.axes:
        assert ax.get_xscale() == "linear"
        assert not any(t.get_text().endswith(("…", "...")) for t in ax.get_yticklabels())


def test_tables_write_years_as_years_and_site_sections_have_the_facts(run):
    plan, page = run
    assert not re.search(r"<td[^>]*>2,0\d\d</td>", page)
    first = plan.sites.loc[plan.sites["chosen"], "first_year"].dropna().astype(int)
    assert any(f">{y}</td>" in page for y in first)
    assert "Time to power" in page and "USD per GPU-hour" in page and "construction" in page
    assert 'id="assumptions"' in page and "EIA" in page and "1,000 MW" in page


def test_timeline_labels_sit_on_their_rows(run):
    plan, _ = run
    ax = plan.plot_buildout().axes[0]
    labels = [t for t in ax.texts if t.get_gid() == "mw_label"]
    assert labels
    rows = {round(t.get_position()[1], 6) for t in labels}
    assert rows <= set(range(len(ax.get_yticks())))  # exactly on a row, not between two


def _chromium():
    import os
    import shutil

    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.browser
def test_new_sections_render_in_headless_chromium(run, tmp_path):
    import subprocess

    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium on this machine")
    plan, _ = run
    index = tmp_path / "report" / "index.html"
    plan.write_report(index.parent)
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", index.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    opened, _ = _used(plan)
    assert 'id="assumptions"' in dom and "Sites in detail" in dom
    assert all(f'id="site-{site}"' in dom for site in opened)
    assert dom.count("data:image/png;base64,") >= 6  # every figure decoded into the page
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,4000", index.as_uri()],
                   capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 4000 and pixels.std() > 0.05, "the page rendered blank"
