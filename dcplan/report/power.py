"""Report section: what the time-to-power levers on the power side did in this plan.

Sentences with numbers computed from the plan's outputs (docs/formulation.md, "Time-to-power
levers: power"); nothing when the study turned no power lever on.
"""

from __future__ import annotations

import html

import numpy as np

from dcplan.results import Plan


def _years(values, years) -> str:
    picked = [str(int(y)) for y, v in zip(years, values, strict=False) if v > 1e-6]
    return "–".join([picked[0], picked[-1]]) if len(picked) > 1 else (picked[0] if picked else "none")


#: plain names of the bridge technologies
_TECH_NAMES = {"gas_turbine": "gas turbines", "gas_engine": "gas engines",
               "fuel_cell": "fuel cells", "solar_storage": "solar plus storage"}


def power_levers_text(plan: Plan) -> list[str]:
    """One plain sentence per fact about the power levers of ``plan`` (empty when none is on)."""
    ds = plan.dataset
    years = ds["year"].values
    out: list[str] = []
    if "flex_mw" in ds:
        flex = ds["flex_mw"]
        share = float(ds["in_flex_curtailment_share"])
        for site in ds["site"].values:
            f = flex.sel(site=site).sum("option").values
            if not (f > 1e-6).any():
                continue
            first = int(years[np.argmax(f > 1e-6)])
            opt = str(ds["option"].values[int(np.argmax(flex.sel(site=site).sum("year").values))])
            firm = int(ds["in_ic_earliest_year"].sel(site=site, option=opt))
            out.append(
                f"Flexible interconnection: {site} takes {f.max():,.0f} MW on its {opt} option as a "
                f"curtailable load from {first}, {firm - first} year(s) before firm service in {firm}.")
        curtailed = float(ds["flex_curtailed_mwh"].sum())
        if curtailed > 0:
            out.append(
                f"It commits to {share:.2%} curtailment: {curtailed:,.0f} MWh given up over the horizon, "
                f"worth {float(ds['flex_curtailment_usd'].sum()) / 1e6:,.1f} MUSD of compute "
                f"({float(ds['flex_gpu_years_lost'].sum()):,.0f} GPU-years lost); the fleet uses at most "
                f"{float(flex.sum(('site', 'option')).max()):,.0f} of its "
                f"{float(ds['in_flex_headroom_mw'].max()):,.0f} MW share of the curtailment-enabled headroom.")
    if "bridge_mw" in ds:
        gen = ds["bridge_gen_mw"]
        cap = ds["bridge_mw"]
        for site in ds["site"].values:
            c = cap.sel(site=site).max("year")
            if not float(c.sum()) > 1e-6:
                continue
            g = gen.sel(site=site).sum("bridge_tech").values
            mix = ", ".join(f"{float(c.sel(bridge_tech=t)):,.0f} MW of {_TECH_NAMES.get(str(t), t)}"
                            for t in c["bridge_tech"].values if float(c.sel(bridge_tech=t)) > 1e-6)
            out.append(
                f"Bridge power: {site} installs {mix} that carry up to {g.max():,.0f} MW in "
                f"{_years(g, years)} before the grid arrives, then stay as backup.")
        energy = float(ds["bridge_energy_mwh"].sum())
        if energy > 0 or float(cap.max()) > 0:
            turbines = (cap.sel(bridge_tech="gas_turbine").sum("site")
                        if "gas_turbine" in cap["bridge_tech"].values else None)
            capped = []
            if turbines is not None:
                added = turbines.diff("year", label="upper")
                supply = ds["in_bridge_supply_mw_per_yr"].sel(year=added["year"])
                capped = [int(y) for y, a, s in zip(added["year"].values, added.values, supply.values,
                                                    strict=False) if np.isfinite(s) and a >= s - 1e-3]
                if float(turbines.isel(year=0)) >= float(supply.isel(year=0)) - 1e-3:
                    capped.insert(0, int(years[0]))
            out.append(
                f"Bridge power generates {energy:,.0f} MWh, emitting {float(ds['bridge_co2_t'].sum()):,.0f} t CO2 "
                f"({float(ds['bridge_net_co2_t'].sum()):+,.0f} t against grid power); its fuel and O&M less "
                f"the grid energy it replaces come to {float(ds['bridge_net_energy_usd'].sum()) / 1e6:+,.1f} MUSD."
                + (f" The fleet-wide gas turbine supply cap binds in {', '.join(map(str, capped))}: "
                   "turbines arrive in the years before they are needed." if capped else
                   " The fleet-wide gas turbine supply cap does not bind."))
    if "smoothing_mw" in ds:
        mw = ds["smoothing_mw"].isel(year=-1)
        for site in ds["site"].values:
            b = float(mw.sel(site=site))
            if b <= 1e-6:
                continue
            out.append(
                f"Power smoothing: {site} needs {b:,.0f} MW / {b * float(ds['in_smoothing_duration_h']):,.0f} MWh "
                f"of batteries to keep its training swing within the "
                f"{float(ds['in_smoothing_allowance_mw'].sel(site=site)):,.0f} MW its ISO accepts.")
        if float(mw.sum()) > 0:
            usd = float(mw.sum()) * float(ds["in_smoothing_capex_usd_per_mw"])  # capacity never falls
            out.append(f"Smoothing batteries cost {usd / 1e6:,.1f} MUSD of capital.")
    if any(name in ds for name in ("flex_mw", "bridge_mw", "smoothing_mw")):
        npv = float(ds.attrs.get("power_npv_usd", 0.0))
        out.append(f"Net present cost of the power levers: {npv / 1e6:,.1f} MUSD.")
    return out


def power_levers_html(plan: Plan) -> str:
    """The section as HTML (empty when the study turned no power lever on)."""
    lines = power_levers_text(plan)
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<h2 id="power-levers">Time-to-power levers: power</h2><ul>{items}</ul>'
