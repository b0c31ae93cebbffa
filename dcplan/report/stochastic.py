"""The report of a two-stage study: the decisions every scenario shares, each scenario's
recourse, and what the stochastic plan is worth against planning for the mean scenario.

Every number on the page is read from :attr:`StochasticPlan.dataset` (the scenario plans
along a ``scenario`` dimension) and the run facts stored with it.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from dcplan.atomic import atomic_dir
from dcplan.report.html import _CSS

logger = logging.getLogger(__name__)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _musd(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value / 1e6:,.1f}"


def _join(items: list[str]) -> str:
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def shared_decisions(ds: xr.Dataset) -> dict:
    """The first-stage decisions, read from the first scenario (the same in every scenario).

    Returns a dict with ``sites`` (site, year opened, interconnect option, year it is built
    or None), ``it_mw`` (site -> IT MW online by the last first-stage year), ``gpus_bought``
    (chip -> GPUs bought in the first-stage years) and ``last_year``.
    """
    first = ds.isel(scenario=0)
    years = ds["year"].values
    stage = ds["first_stage_year"].values.astype(bool)
    last = int(years[stage].max()) if stage.any() else int(years[0]) - 1
    shared_all = ds["site_active"].attrs.get("non_anticipative") == "every year"
    sites = []
    for s in ds["site"].values:
        active = first["site_active"].sel(site=s).values.astype(bool)
        if not active.any():
            continue
        opened = int(years[np.argmax(active)])
        if not shared_all and opened > last:
            continue
        ic = first["interconnect_active"].sel(site=s)
        option, built = None, None
        chosen = ic.values.astype(bool)
        if chosen.any():
            t = int(chosen.any(axis=0).argmax())  # (option, year): the first year one is built
            k = int(chosen[:, t].argmax())
            option, built = str(ds["option"].values[k]), int(years[t])
        sites.append({"site": str(s), "opened": opened, "option": option, "ic_year": built})
    it = first["it_capacity_mw"].sum("cooling").sel(year=years[stage]) if stage.any() else None
    it_mw = {str(s): float(it.sel(site=s).max()) for s in ds["site"].values} if it is not None else {}
    bought = first["gpus_new"].sel(year=years[stage]).sum(("site", "cooling", "year")) if stage.any() else None
    gpus = {str(c): float(bought.sel(chip=c)) for c in ds["chip"].values} if bought is not None else {}
    return {"sites": sites, "it_mw": {k: v for k, v in it_mw.items() if v > 0},
            "gpus_bought": {k: v for k, v in gpus.items() if v > 0.5}, "last_year": last,
            "shared_all": shared_all}


def recourse(ds: xr.Dataset, scenario: str) -> dict:
    """What one scenario adds after the first stage: IT MW and GPUs by site, sites it opens, shortfall."""
    one = ds.sel(scenario=scenario)
    years = ds["year"].values
    stage = ds["first_stage_year"].values.astype(bool)
    total = one["it_capacity_mw"].sum("cooling")
    base = total.sel(year=years[stage]).max("year") if stage.any() else xr.zeros_like(total.isel(year=0))
    added = total.isel(year=-1) - base
    later = ~stage
    new_gpus = one["gpus_new"].sel(year=years[later]).sum(("cooling", "year")) if later.any() else None
    opened = []
    if ds["site_active"].attrs.get("non_anticipative") != "every year":
        for s in ds["site"].values:
            active = one["site_active"].sel(site=s).values.astype(bool)
            if active.any() and not active[stage].any():
                opened.append(str(s))
    return {
        "it_added_mw": {str(s): float(v) for s, v in zip(ds["site"].values, added.values, strict=True) if v > 0},
        "gpus_added": ({str(c): float(new_gpus.sel(chip=c).sum()) for c in ds["chip"].values
                        if float(new_gpus.sel(chip=c).sum()) > 0.5} if new_gpus is not None else {}),
        "sites_opened": opened,
        "it_last_mw": float(total.isel(year=-1).sum()),
        "shortfall_gpu_years": float(one["shortfall_gpus"].sum()),
        "cost_usd": float(one["scenario_cost_usd"]),
        "eev_usd": float(one["eev_scenario_cost_usd"]),
        "ws_usd": float(one["ws_scenario_cost_usd"]),
        "probability": float(one["scenario_probability"]),
    }


def plot_capacity_by_scenario(ds: xr.Dataset) -> Figure:
    """Fleet IT capacity by year in each scenario; the first-stage years shaded."""
    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    years = ds["year"].values
    stage = ds["first_stage_year"].values.astype(bool)
    if stage.any():
        ax.axvspan(years[0] - 0.5, years[stage].max() + 0.5, color="#dddddd", alpha=0.6,
                   label="first stage (shared)")
    for name in ds["scenario"].values:
        total = ds["it_capacity_mw"].sel(scenario=name).sum(("site", "cooling"))
        p = float(ds["scenario_probability"].sel(scenario=name))
        ax.step(years, total.values, where="mid", label=f"{name} (p = {p:.2f})", gid=f"scenario|{name}")
    ax.set_xlabel("year")
    ax.set_ylabel("IT capacity installed [MW]")
    ax.set_title("IT capacity by scenario: shared first stage, then each scenario's recourse")
    ax.legend(fontsize=8)
    return fig


def _shared_html(ds: xr.Dataset) -> str:
    shared = shared_decisions(ds)
    rows = "".join(
        f'<tr><td class="l">{_esc(s["site"])}</td><td>{s["opened"]}</td><td class="l">{_esc(s["option"] or "–")}</td>'
        f'<td>{s["ic_year"] or "–"}</td><td>{shared["it_mw"].get(s["site"], 0.0):,.0f}</td></tr>'
        for s in shared["sites"])
    when = "in every year" if shared["shared_all"] else f"up to {shared['last_year']}"
    opened = [f"{s['site']} ({s['opened']})" for s in shared["sites"]]
    it_total = sum(shared["it_mw"].values())
    gpus = [f"{v:,.0f} {k}" for k, v in shared["gpus_bought"].items()]
    words = (f"Decided now, the same in every scenario: open {_join(opened)} (site openings and "
             f"interconnect choices shared {when}); {it_total:,.0f} MW of IT online by {shared['last_year']}; "
             f"GPUs bought through {shared['last_year']}: {_join(gpus)}.")
    return (f"<p>{_esc(words)}</p><table><tr><th class=\"l\">site</th><th>opened</th><th class=\"l\">"
            f"interconnect</th><th>built</th><th>IT MW by {shared['last_year']}</th></tr>{rows}</table>")


def _recourse_html(ds: xr.Dataset) -> str:
    parts = []
    rows = []
    for name in ds["scenario"].values:
        r = recourse(ds, name)
        added = [f"{v:,.0f} MW at {k}" for k, v in r["it_added_mw"].items()]
        gpus = [f"{v:,.0f} {k}" for k, v in r["gpus_added"].items()]
        adds = f"adds {_join(added)} of IT" if added else "adds no IT capacity"
        buys = f"buys {_join(gpus)} GPUs" if gpus else "buys no GPUs"
        text = (f"{name} (probability {r['probability']:.2f}): after the first stage it {adds} "
                f"({r['it_last_mw']:,.0f} MW in the last year) and {buys}")
        if r["sites_opened"]:
            text += f"; it opens {_join(r['sites_opened'])}"
        if r["shortfall_gpu_years"] > 0.5:
            text += f"; {r['shortfall_gpu_years']:,.0f} GPU-years short of the targets (priced by the penalty)"
        parts.append(f"<li>{_esc(text)}.</li>")
        rows.append(f'<tr><td class="l">{_esc(name)}</td><td>{r["probability"]:.2f}</td>'
                    f'<td>{_musd(r["cost_usd"])}</td><td>{_musd(r["eev_usd"])}</td><td>{_musd(r["ws_usd"])}</td></tr>')
    table = ('<table><tr><th class="l">scenario</th><th>probability</th><th>stochastic plan [M USD]</th>'
             "<th>mean-value plan [M USD]</th><th>planned alone [M USD]</th></tr>" + "".join(rows) + "</table>")
    return "<ul>" + "".join(parts) + "</ul>" + table


def render_stochastic_html(plan, figure_png: bytes) -> str:
    """The report page of a :class:`~dcplan.optimize.stochastic.StochasticPlan`."""
    ds = plan.dataset
    a = ds.attrs
    name = plan.name or a.get("study_name", "two-stage study")
    audit_ok = all(p.audit().ok for p in plan.plans.values())
    cards = [("expected cost [M USD]", _musd(a["expected_cost_usd"])),
             ("objective [M USD]", _musd(a["rp_usd"])),
             ("gap", f"{a['mip_gap']:.2%}"),
             ("mean-value plan, EEV [M USD]", _musd(a["eev_usd"])),
             ("wait and see, WS [M USD]", _musd(a["ws_usd"]))]
    if a.get("cvar_weight", 0) > 0:
        cards.insert(1, (f"CVaR {a['cvar_alpha']:.0%} [M USD]", _musd(a["cvar_usd"])))
    card_html = '<div class="cards">' + "".join(
        f'<div class="card"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for k, v in cards) + "</div>"
    data = base64.b64encode(figure_png).decode("ascii")
    problems = [line for line in str(a.get("eev_problems", "")).splitlines() if line]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_esc(name)}: dcplan two-stage report</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(name)}</h1>",
        f'<p class="sub">Two-stage plan over {ds.sizes["scenario"]} scenarios, {ds.sizes["site"]} candidate sites, '
        f"{int(ds['year'].values[0])}–{int(ds['year'].values[-1])}.</p>",
        card_html,
        "<h2>Value of planning for uncertainty</h2>",
        f"<p>{_esc(plan.vss_text())}.</p><p>{_esc(plan.evpi_text())}.</p>",
        ("<ul>" + "".join(f"<li>{_esc(p)}</li>" for p in problems[:10]) + "</ul>") if problems else "",
        "<h2>Audit</h2>",
        f'<p class="{"ok" if audit_ok else "bad"}">' + (
            "Every scenario's plan passes the audit against its own inputs." if audit_ok
            else "A scenario's plan FAILS the audit.") + "</p>",
        "<h2>Shared decisions</h2>", _shared_html(ds),
        "<h2>Each scenario's recourse</h2>", _recourse_html(ds),
        '<h2>Capacity by scenario</h2><figure id="fig-scenarios">'
        f'<img alt="IT capacity by scenario" src="data:image/png;base64,{data}">'
        "<figcaption>Installed IT MW by year in each scenario; the shaded years are the first stage, "
        "where every scenario builds the same.</figcaption></figure>",
        "<footer>Generated by dcplan. Each scenario's full plan and report inputs are in "
        "<code>scenarios/&lt;name&gt;/</code>.</footer>",
        "</main></body></html>",
    ])


def write_stochastic_report(plan, out_dir: str | Path) -> Path:
    """Write ``index.html`` and ``scenarios.png`` for a two-stage plan (atomically)."""
    out_dir = Path(out_dir)
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = plot_capacity_by_scenario(plan.dataset)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, facecolor="white")
    png = buffer.getvalue()
    with atomic_dir(out_dir) as tmp:
        tmp.chmod(0o755)
        (tmp / "scenarios.png").write_bytes(png)
        (tmp / "index.html").write_text(render_stochastic_html(plan, png), encoding="utf-8")
    logger.info("wrote two-stage report %s", out_dir / "index.html")
    return out_dir / "index.html"
