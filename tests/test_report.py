"""Report figures and the self-contained HTML page, on a small hand-made plan.

The fake plan has the attributes the report reads from dcplan.results.Plan, so these tests
do not depend on the optimiser; numbers are chosen so every total can be checked by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure
from shapely.geometry import Point, box

from dcplan import report

YEARS = [2026, 2027, 2028, 2029, 2030]
SITES = ["s1", "s2", "s3", "s4", "s5"]
COOLING = ["air_chiller", "dlc_dry", "dlc_tower"]
CHIPS = ["h100_sxm", "gb200_nvl72"]
# Installed IT MW per (site, cooling) over YEARS; s2 and s5 are never built.
IT = {
    ("s1", "dlc_dry"): [0, 40, 80, 80, 80],
    ("s3", "dlc_tower"): [0, 0, 20, 60, 100],
    ("s3", "air_chiller"): [0, 0, 0, 20, 20],
    ("s4", "dlc_dry"): [20, 20, 20, 20, 20],
}
GPUS_PER_MW = {"air_chiller": ("h100_sxm", 900.0), "dlc_dry": ("gb200_nvl72", 700.0),
               "dlc_tower": ("gb200_nvl72", 700.0)}


class FakePlan:
    def __init__(self, dataset, sites, summary, shadow=None):
        self.dataset = dataset
        self.sites = sites
        self._summary = summary
        self._shadow = shadow

    def shadow_prices(self):
        return self._shadow

    def summary_dict(self):
        return self._summary

    def summary(self):
        return pd.DataFrame(self._summary["years"]).set_index("year")


def _dataset(capex_parts: bool = False, discount: bool = True) -> xr.Dataset:
    coords = {"site": SITES, "cooling": COOLING, "chip": CHIPS, "year": YEARS}
    it = xr.DataArray(np.zeros((5, 3, 5)), dims=("site", "cooling", "year"),
                      coords={k: coords[k] for k in ("site", "cooling", "year")})
    for (site, tech), values in IT.items():
        it.loc[site, tech] = values
    gpus = xr.DataArray(np.zeros((5, 2, 3, 5)), dims=("site", "chip", "cooling", "year"),
                        coords={k: coords[k] for k in ("site", "chip", "cooling", "year")})
    for tech, (chip, per_mw) in GPUS_PER_MW.items():
        gpus.loc[:, chip, tech, :] = it.sel(cooling=tech) * per_mw
    site_it = it.sum("cooling")
    energy = site_it * 8760 * 0.8 * 1.25
    added = site_it.diff("year").reindex(year=YEARS, fill_value=0) + site_it.where(
        site_it.year == YEARS[0], 0)
    capex = added * 12e6
    ds = xr.Dataset(
        {
            "site_open": ("site", (site_it.sum("year") > 0).values.astype(float)),
            "it_capacity_mw": it.assign_attrs(units="MW"),
            "gpus": gpus.assign_attrs(units="GPU"),
            "energy_mwh": energy.assign_attrs(units="MWh"),
            "facility_peak_mw": site_it * 1.3,
            "water_m3": site_it * 1000.0,
            "co2_t": energy * 0.4,
            "capex_usd": capex,
            "opex_usd": site_it * 1e5 + energy * 60,
            "shortfall_gpus": (("chip", "year"), np.array([[0, 0, 0, 0, 0], [0, 0, 5000, 0, 0]], float)),
            "in_target_gpus": (("chip", "year"), np.array([[0, 0, 0, 18000, 18000],
                                                           [10000, 40000, 80000, 100000, 130000]], float)),
            "in_target_pflops": ("year", np.array([0, 0, 100, 200, 300], float)),
            "in_dense_pflops": ("chip", np.array([0.99, 2.5])),
        },
        coords={**coords, "lat": ("site", [39.0, 31.0, 33.4, 45.6, 41.0]),
                "lon": ("site", [-77.5, -97.0, -112.0, -121.2, -96.0]),
                "iso": ("site", ["PJM", "ERCOT", "WEST", "WEST", "SPP"]),
                "state": ("site", ["VA", "TX", "AZ", "OR", "NE"])},
        attrs={"study_name": "tiny <test> study"},
    )
    if discount:
        ds["in_discount_factor"] = ("year", 1 / 1.07 ** np.arange(5))
    if capex_parts:
        ds["capex_gpus_usd"] = capex * 0.75
        ds["capex_facility_usd"] = capex * 0.25
    return ds


def _sites(ds: xr.Dataset) -> gpd.GeoDataFrame:
    it = ds["it_capacity_mw"]
    final = it.isel(year=-1).sum("cooling").to_pandas()
    main_cooling = it.isel(year=-1).idxmax("cooling").to_pandas()
    first = {s: next((y for y in YEARS if float(it.sel(site=s, year=y).sum()) > 0), None) for s in SITES}
    chosen = final > 0
    return gpd.GeoDataFrame(
        {
            "site_id": SITES,
            "name": ["Ashburn", "Waco", "Mesa", "The Dalles", "Omaha"],
            "state": ds["state"].values,
            "iso": ds["iso"].values,
            "chosen": chosen.values,
            "first_year": [first[s] if chosen[s] else None for s in SITES],
            "it_capacity_mw": final.values,
            "cooling": [main_cooling[s] if chosen[s] else None for s in SITES],
            "interconnect_option": ["tap", None, "new_substation", "existing", None],
            "ic_kv": [230.0, np.nan, 500.0, 115.0, np.nan],
        },
        geometry=[Point(x, y) for x, y in zip(ds["lon"].values, ds["lat"].values, strict=True)],
        crs="EPSG:4326",
    )


def _summary(ds: xr.Dataset, ok: bool = True) -> dict:
    years = []
    for y in YEARS:
        sel = ds.sel(year=y)
        years.append({
            "year": y,
            "it_capacity_mw": float(sel["it_capacity_mw"].sum()),
            "gpus": float(sel["gpus"].sum()),
            "facility_peak_mw": float(sel["facility_peak_mw"].sum()),
            "energy_mwh": float(sel["energy_mwh"].sum()),
            "water_m3": float(sel["water_m3"].sum()),
            "co2_t": float(sel["co2_t"].sum()),
            "capex_usd": float(sel["capex_usd"].sum()),
            "opex_usd": float(sel["opex_usd"].sum()),
        })
    return {
        "status": "optimal",
        "objective_usd": 3.1e9,
        "mip_gap": 0.004,
        "solve_seconds": 2.5,
        "sites_opened": 3,
        "years": years,
        "audit": {"ok": ok, "violations": [] if ok else [{"family": "water_cap", "site": "s3", "year": 2029}]},
    }


SHADOW = pd.DataFrame({
    "family": ["power_balance", "interconnect_phase", "water_cap", "land_cap", "target_gpus"],
    "year": [2028, 2027, 2029, 2030, 2026],
    "dual": [-2.5e6, 8.0e5, 0.0, 1.2e4, 3.0e3],
    "binding": [True, True, True, False, True],
    "meaning": ["IT capacity needed to host the GPUs", "MW a substation can energise per year",
                "on-site water allowance", "land the site can host", "GPUs that must be online"],
})


def make_plan(shadow=SHADOW, ok=True, **kwargs) -> FakePlan:
    ds = _dataset(**kwargs)
    return FakePlan(ds, _sites(ds), _summary(ds, ok=ok), shadow=shadow)


@pytest.fixture
def plan() -> FakePlan:
    return make_plan()


def _bars(ax, gid=None):
    return [p for p in ax.patches if gid is None or p.get_gid() == gid]


def _heights_by_x(patches) -> dict[float, float]:
    out: dict[float, float] = {}
    for p in patches:
        x = round(p.get_x() + p.get_width() / 2, 6)
        out[x] = out.get(x, 0.0) + p.get_height()
    return out


# --------------------------------------------------------------------------- figures


def test_site_map_draws_each_site_once_and_sizes_by_mw(plan, monkeypatch):
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)
    fig = report.plot_site_map(plan)
    ax = fig.axes[0]
    chosen = [c for c in ax.collections if c.get_gid() == "chosen"]
    candidates = [c for c in ax.collections if c.get_gid() == "candidates"]
    assert sum(len(c.get_offsets()) for c in chosen) == 3
    assert sum(len(c.get_offsets()) for c in candidates) == 2
    # One collection per cooling technology in use, coloured from the shared palette.
    assert len(chosen) == 2
    colors = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in chosen}
    from matplotlib.colors import to_rgb
    assert colors == {tuple(np.round(to_rgb(report.COOLING_COLORS[t]), 3)) for t in ("dlc_dry", "dlc_tower")}
    # s3 (120 MW) is drawn larger than s4 (20 MW).
    sizes = {tuple(np.round(o, 3)): s for c in chosen for o, s in zip(c.get_offsets(), c.get_sizes(), strict=False)}
    projected = report.figures._project([-112.0, -121.2], [33.4, 45.6])
    s3, s4 = (tuple(np.round(p, 3)) for p in zip(*projected, strict=True))
    assert sizes[s3] > sizes[s4]
    assert "equal-area" in ax.get_xlabel() and "[km]" in ax.get_xlabel()
    # equal area: one degree of longitude is shorter in the north than in the south
    (xs, _), (xn, _) = (report.figures._project([-100.0, -99.0], [lat, lat]) for lat in (30.0, 48.0))
    assert (xn[1] - xn[0]) < 0.8 * (xs[1] - xs[0])
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "site_label"]
    assert len(labels) == 3 and all("MW" in t for t in labels)


def test_site_map_draws_state_boundaries_when_shipped(plan, monkeypatch, tmp_path):
    states = gpd.GeoDataFrame({"state": ["AA", "BB"]},
                              geometry=[box(-125, 30, -100, 50), box(-100, 25, -70, 50)], crs="EPSG:4326")
    path = tmp_path / "states.geojson"
    states.to_file(path, driver="GeoJSON")
    monkeypatch.setattr(report.figures, "_states_path", lambda: path)
    ax = report.plot_site_map(plan).axes[0]
    boundary = [c for c in ax.collections if c.get_gid() == "states"]
    assert boundary and len(boundary[0].get_paths()) == 2


def test_site_map_uses_the_given_axes(plan, monkeypatch):
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)
    fig = Figure()
    ax = fig.add_subplot()
    assert report.plot_site_map(plan, ax=ax) is fig
    assert any(c.get_gid() == "chosen" for c in ax.collections)


def test_buildout_timeline_has_one_cell_per_site_year_cooling(plan):
    ax = report.plot_buildout_timeline(plan).axes[0]
    cells = [p for p in ax.patches if p.get_gid() and p.get_gid().count("|") == 2]
    expected = sum(1 for values in IT.values() for v in values if v > 0)
    assert len(cells) == expected
    # Rows are sites ordered by first year: s4 (2026), s1 (2027), s3 (2028).
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split("(")[-1].rstrip(")") for label in labels] == ["s4", "s1", "s3"]
    # Within a cell, parts are proportional to MW: s3 in 2029 is 60 tower + 20 air.
    parts = {p.get_gid(): p.get_height() for p in cells}
    assert parts["s3|2029|dlc_tower"] == pytest.approx(3 * parts["s3|2029|air_chiller"])
    assert "[MW]" in ax.get_title()


def test_buildout_timeline_without_capacity_says_so():
    plan = make_plan()
    plan.dataset["it_capacity_mw"] = plan.dataset["it_capacity_mw"] * 0
    ax = report.plot_buildout_timeline(plan).axes[0]
    assert not ax.patches
    assert any("no IT capacity" in t.get_text() for t in ax.texts)


def test_capacity_vs_target_bars_sum_to_fleet_totals(plan):
    fig = report.plot_capacity_vs_target(plan)
    gax, pax, max_ = fig.axes[:3]
    ds = plan.dataset
    gpu_totals = ds["gpus"].sum(["site", "chip", "cooling"]).values / 1e3
    stacked = _heights_by_x([p for p in gax.patches if p.get_gid() in CHIPS])
    assert [stacked.get(float(y), 0.0) for y in YEARS] == pytest.approx(list(gpu_totals))
    target = next(line for line in gax.lines if line.get_gid() == "target_gpus")
    assert list(target.get_ydata()[:-1]) == pytest.approx(list(ds["in_target_gpus"].sum("chip").values / 1e3))
    assert target.get_xdata()[0] == pytest.approx(YEARS[0] - 0.5)
    shortfall = [p for p in gax.patches if p.get_gid() == "shortfall"]
    assert sum(p.get_height() for p in shortfall) == pytest.approx(5.0)
    pflops = _heights_by_x(pax.patches)
    expected = (ds["gpus"].sum(["site", "cooling"]) * ds["in_dense_pflops"]).sum("chip").values / 1e3
    assert [pflops.get(float(y), 0.0) for y in YEARS] == pytest.approx(list(expected))
    it = _heights_by_x(max_.patches)
    assert [it.get(float(y), 0.0) for y in YEARS] == pytest.approx([20, 60, 120, 180, 220])
    for ax in (gax, pax, max_):
        assert "[" in ax.get_ylabel()


def test_capacity_vs_target_drops_the_compute_panel_without_a_compute_target():
    plan = make_plan()
    plan.dataset["in_target_pflops"] = plan.dataset["in_target_pflops"] * 0
    assert len(report.plot_capacity_vs_target(plan).axes) == 2


def test_capacity_vs_target_accepts_one_axes_and_splits_it(plan):
    fig = Figure(figsize=(12, 4))
    ax = fig.add_subplot()
    assert report.plot_capacity_vs_target(plan, ax=ax) is fig
    assert len(fig.axes) == 3


def test_resources_bars_sum_to_totals(plan):
    fig = report.plot_resources(plan)
    for ax, name in zip(fig.axes, ["energy_mwh", "water_m3", "co2_t"], strict=True):
        totals = plan.dataset[name].sum("site").values / 1e3
        heights = _heights_by_x(ax.patches)
        assert [heights.get(float(y), 0.0) for y in YEARS] == pytest.approx(list(totals))
        assert "[" in ax.get_ylabel() and "/yr]" in ax.get_ylabel()
    # The same site keeps its colour across panels.
    first = {p.get_gid(): p.get_facecolor() for p in fig.axes[0].patches}
    for ax in fig.axes[1:]:
        for p in ax.patches:
            assert p.get_facecolor() == first[p.get_gid()]


def test_resources_rejects_the_wrong_number_of_axes(plan):
    fig = Figure()
    with pytest.raises(ValueError, match="expected 3 Axes"):
        report.plot_resources(plan, ax=fig.subplots(1, 2))


def test_cost_breakdown_bars_and_waterfall_add_up(plan):
    fig = report.plot_cost_breakdown(plan)
    bax, wax = fig.axes
    ds = plan.dataset
    total = float(ds["capex_usd"].sum() + ds["opex_usd"].sum()) / 1e9
    assert sum(p.get_height() for p in bax.patches) == pytest.approx(total)
    steps = [p for p in wax.patches if str(p.get_gid()).startswith("step|")]
    (bar_total,) = [p for p in wax.patches if p.get_gid() == "total"]
    npv = float(((ds["capex_usd"] + ds["opex_usd"]).sum("site") * ds["in_discount_factor"]).sum()) / 1e9
    assert sum(p.get_height() for p in steps) == pytest.approx(npv)
    assert bar_total.get_height() == pytest.approx(npv)
    # Each step starts where the previous one ended.
    assert steps[1].get_y() == pytest.approx(steps[0].get_height())


def test_cost_breakdown_splits_capex_by_category_when_available():
    plan = make_plan(capex_parts=True)
    bax = report.plot_cost_breakdown(plan).axes[0]
    gids = {p.get_gid() for p in bax.patches}
    assert {"capex: GPUs", "capex: facility", "opex"} <= gids
    assert "capex" not in gids
    assert report.cost_components(plan).sum().sum() == pytest.approx(
        float(plan.dataset["capex_usd"].sum() + plan.dataset["opex_usd"].sum()))


def test_cost_breakdown_without_discount_factors_says_so():
    plan = make_plan(discount=False)
    wax = report.plot_cost_breakdown(plan).axes[1]
    assert not wax.patches
    assert any("no discount factors" in t.get_text() for t in wax.texts)


def test_binding_constraints_rank_binding_nonzero_duals(plan):
    ax = report.plot_binding_constraints(plan).axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "shadow_prices"]
    # water_cap has a zero dual and land_cap does not bind.
    assert len(bars) == 3
    assert sorted(p.get_width() for p in bars) == pytest.approx([3.0e3, 8.0e5, 2.5e6])
    assert "power_balance 2028" in ax.get_yticklabels()[0].get_text()
    assert "[USD" in ax.get_xlabel()
    assert not any("…" in t.get_text() or "..." in t.get_text() for t in ax.get_yticklabels())
    lines = report.binding_constraints_text(plan)
    assert len(lines) == 3 and lines[0].startswith("power_balance 2028: IT capacity needed to host the GPUs")
    assert "2.5 M USD" in lines[0]


def test_binding_constraints_absent_says_so():
    plan = make_plan(shadow=None)
    ax = report.plot_binding_constraints(plan).axes[0]
    assert not ax.patches
    assert any("not available" in t.get_text() for t in ax.texts)
    assert "not available" in report.binding_constraints_text(plan)[0]


# --------------------------------------------------------------------------- the HTML page


@pytest.fixture
def written(plan, tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)
    return report.write_report(plan, tmp_path / "report")


def test_report_writes_every_figure_and_one_self_contained_page(written):
    assert written.name == "index.html"
    folder = written.parent
    names = [spec.name for spec in report.FIGURES]
    for name in names:
        png = folder / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = written.read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*(f"{n}.png" for n in names), "index.html", "dcplan-manifest.json"])
    for name in names:
        assert re.search(rf'<figure id="fig-{name}"><img alt="[^"]+" src="data:image/png;base64,', page)
    assert page.count("<figcaption>") == len(names)
    # Offline: nothing is fetched and nothing runs.
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page, flags=re.I)
    assert refs and all(r.startswith("data:") for r in refs)
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page


def test_report_page_carries_summary_audit_constraints_and_sites(written):
    page = written.read_text(encoding="utf-8")
    assert "tiny &lt;test&gt; study" in page  # escaped, never raw markup
    assert "optimal" in page and "$3.10 bn" in page and "0.40%" in page
    assert "Passed" in page
    assert "IT capacity needed to host the GPUs" in page
    table = page.split("<h2>Chosen sites</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == 4  # header + 3 chosen sites
    for site in ("s1", "s3", "s4"):
        assert f">{site}<" in table
    assert ">s2<" not in table and ">s5<" not in table
    # The per-year totals are in the page in the stated units.
    assert "IT capacity [MW]" in page and ">220<" in page


def test_report_page_shows_a_failed_audit(tmp_path, monkeypatch):
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)
    plan = make_plan(ok=False, shadow=None)
    page = report.write_report(plan, tmp_path / "r").read_text(encoding="utf-8")
    assert "FAILED" in page and "water_cap" in page
    assert "Shadow prices are not available" in page


def test_report_is_written_atomically(plan, tmp_path, monkeypatch):
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)
    out = tmp_path / "report"

    def boom(plan, ax=None):
        raise RuntimeError("disk full")

    broken = (*report.FIGURES[:-1], report.FigureSpec("binding_constraints", "x", boom, lambda p: ""))
    monkeypatch.setattr(report.html, "FIGURES", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_report(plan, out)
    assert not out.exists()
    assert not list(tmp_path.iterdir()), "no partial folder may be left behind"

    # A previous report survives a failed rewrite untouched.
    from dcplan.atomic import atomic_dir

    with atomic_dir(out) as previous:
        (previous / "index.html").write_text("previous", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_report(plan, out)
    assert (out / "index.html").read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_report_failure_while_writing_the_page_leaves_no_index(plan, tmp_path, monkeypatch):
    monkeypatch.setattr(report.figures, "_states_path", lambda: None)

    def half_page(plan, figures):
        raise OSError("interrupted")

    monkeypatch.setattr(report.html, "render_html", half_page)
    with pytest.raises(OSError, match="interrupted"):
        report.write_report(plan, tmp_path / "report")
    assert not any(tmp_path.rglob("index.html"))


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.browser
def test_report_renders_in_headless_chromium(written, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium on this machine")
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1280,2000", written.as_uri()]
    subprocess.run(cmd, check=False, capture_output=True, timeout=120)
    assert shot.is_file(), "Chromium produced no screenshot"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.std() > 0.05, "the page rendered blank"


def test_report_folder_is_readable_by_others(written):
    assert written.parent.stat().st_mode & 0o055 == 0o055


def test_report_of_a_solved_synthetic_plan(tmp_path):
    """The report reads a real Plan, and its NPV waterfall lands on the solver's objective."""
    synthetic = pytest.importorskip("dcplan.testing.synthetic")
    optimize = pytest.importorskip("dcplan.optimize")
    plan = optimize.solve(synthetic.make_inputs(n_sites=4, n_years=4, seed=3), time_limit_s=60)
    index = report.write_report(plan, tmp_path / "report")
    page = index.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(report.FIGURES)
    wax = report.plot_cost_breakdown(plan).axes[1]
    (total,) = [p for p in wax.patches if p.get_gid() == "total"]
    assert total.get_height() * 1e9 == pytest.approx(plan.summary_dict()["objective_usd"], rel=1e-6)
    chosen = plan.sites[plan.sites["chosen"]]
    table = page.split("<h2>Chosen sites</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == len(chosen) + 1
