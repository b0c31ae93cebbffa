"""Report section of the fleet levers: what each lever the study turned on did to the plan.

Every number in the text is computed from the plan's dataset (its outputs and ``in_``
inputs); nothing is typed. A plan without fleet levers gets no section.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.results import Plan


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _money(usd: float) -> str:
    if not np.isfinite(usd):
        return "n/a"
    if abs(usd) >= 1e9:
        return f"{usd / 1e9:,.2f} bn USD"
    return f"{usd / 1e6:,.0f} M USD"


def supply_chain_text(ds: xr.Dataset) -> list[str]:
    """Sentences on the transformer cap: in service, orders, where it binds, the waits."""
    if "in_lpt_per_option" not in ds:
        return []
    years = ds["year"].values.astype(int)
    service = ds["lpt_in_service"].values
    limit = ds["in_lpt_installed_max"].values
    orders = ds["lpt_orders"].values
    cap = float(ds["in_lpt_orders_max"].values[0])
    lead = int(ds["in_lpt_lead_yr"])
    out = [f"Large power transformers (>= 100 MVA): the fleet may order {cap:g} a year; an "
           f"order serves {lead} years later. The plan puts {_n(service[-1])} in service by "
           f"{years[-1]} (at most {_n(limit[-1])} could be)."]
    binds = [int(y) for y, s, lim in zip(years, service, limit, strict=True) if lim > 0 and s >= lim - 1e-6]
    if binds:
        out.append("The cap binds in " + ", ".join(map(str, binds)) + ": every transformer the "
                   "orders could deliver by then is in service.")
    if np.isfinite(orders).all() and orders.sum() > 0:
        placed = ", ".join(f"{int(y)}: {o:g}" for y, o in zip(years, orders, strict=True) if o > 0)
        on_order = float(ds["in_lpt_on_order"]) if "in_lpt_on_order" in ds else 0.0
        wait = longest_wait(years, orders, service, on_order)
        out.append(f"Orders, each placed as late as the cap allows: {placed}. First ordered, "
                   f"first served, the longest wait from order to service is {wait} years, "
                   f"against the {lead}-year lead a free market would give.")
    chosen = ds["interconnect_option"].astype(bool)
    per_mw = []
    for o in ds["option"].values:
        n = float((ds["in_lpt_per_option"].sel(option=o) * chosen.sel(option=o)).sum())
        mw = float((ds["in_ic_capacity_mw"].sel(option=o) * chosen.sel(option=o)).sum())
        if n > 0:
            per_mw.append(f"{o}: {n:g} transformers for {_n(mw)} MW")
    if per_mw:
        out.append("Options chosen that need transformers: " + "; ".join(per_mw) + ".")
    return out


def longest_wait(years, orders, service, on_order: float = 0.0) -> int:
    """Longest years from order to service, first ordered first served (whole units); units
    on order before the horizon count as ordered the year before it."""
    added = np.diff(np.concatenate([[0.0], np.asarray(service, float)]))
    years = np.asarray(years, int)
    placed = np.concatenate([np.full(int(round(on_order)), years[0] - 1),
                             np.repeat(years, np.rint(np.asarray(orders, float)).astype(int))])
    served = np.repeat(np.asarray(years, int), np.rint(np.maximum(added, 0)).astype(int))
    k = min(len(placed), len(served))
    return int((served[:k] - placed[:k]).max()) if k else 0


def chip_delivery_text(ds: xr.Dataset) -> list[str]:
    """Sentences on the chip delivery caps: deployments against the cap by year."""
    if "in_chip_delivery_max_gpus" not in ds:
        return []
    out = []
    deployed = ds["gpus_new"].sum(("site", "cooling"))
    cap = ds["in_chip_delivery_max_gpus"]
    for chip in ds["chip"].values:
        c = cap.sel(chip=chip).values
        if not np.isfinite(c).any():
            continue
        d = deployed.sel(chip=chip).values
        years = ds["year"].values.astype(int)
        at_cap = [int(y) for y, di, ci in zip(years, d, c, strict=True) if np.isfinite(ci) and di >= ci - 0.5]
        out.append(f"{chip}: at most {_n(np.nanmax(c[np.isfinite(c)]))} GPUs delivered a year; the plan "
                   f"takes {', '.join(f'{int(y)}: {_n(v)}' for y, v in zip(years, d, strict=True) if v > 0.5)}"
                   + (f"; the cap binds in {', '.join(map(str, at_cap))}." if at_cap else "."))
    return out


def training_cluster_text(ds: xr.Dataset) -> list[str]:
    """Sentences on the training clusters: home site, GPUs there, remote GPUs and their cost."""
    if "in_cluster_gpus" not in ds:
        return []
    out = []
    years = ds["year"].values.astype(int)
    for chip in ds["chip"].values:
        size = ds["in_cluster_gpus"].sel(chip=chip).values
        if not (size > 0).any():
            continue
        t = int(np.nonzero(size > 0)[0][0])
        home = ds["cluster_home"].sel(chip=chip).values.astype(bool)
        site = str(ds["site"].values[home][0]) if home.any() else "none"
        online = ds["gpus"].sum("cooling").sel(chip=chip)
        at_home = float(online.sel(site=site).isel(year=t)) if home.any() else 0.0
        second = float(online.isel(year=t).where(~xr.DataArray(home, dims="site"), 0).max())
        remote = float(ds["cluster_remote_gpus"].sel(chip=chip).isel(year=t))
        words = (f"{chip}: a cluster of {_n(size[t])} GPUs from {years[t]} sits at {site}, which "
                 f"holds {_n(at_home)} GPUs of the chip in {years[t]} (the next largest site "
                 f"{_n(second)}).")
        if bool(ds["in_cluster_multi_site"].sel(chip=chip)):
            cost = float((ds["cluster_bandwidth_usd"] * ds["in_discount_factor"]).sum())
            words += (f" The cluster may span sites: {_n(remote)} of its GPUs are elsewhere in "
                      f"{years[t]}, paying {_money(cost)} of inter-site bandwidth (NPV).")
        out.append(words)
    return out


def delivered_text(ds: xr.Dataset) -> list[str]:
    """Sentences on delivered compute: GPUs per workload, hours, cost per delivered GPU-hour."""
    if "delivered_gpu_h" not in ds:
        return []
    years = ds["year"].values.astype(int)
    last = -1
    out = []
    for w in ds["workload"].values:
        u = float(ds[f"in_utilisation_{w}"])
        need = float(ds[f"in_delivered_{w}_gpu_h"].isel(year=last))
        if need <= 0:
            continue
        g = float(ds["workload_gpus"].sel(workload=w).isel(year=last))
        out.append(f"{w}: {need / 1e6:,.1f} million GPU-hours a year at {u:.0%} utilisation take "
                   f"{_n(g)} GPUs in {years[last]} ({_n(need / (8760 * u))} at the minimum).")
    online = float(ds["gpus"].isel(year=last).sum())
    cost = float(ds.attrs.get("usd_per_delivered_gpu_hour", np.nan))
    lcoc = float(ds.attrs.get("levelised_usd_per_gpu_hour", np.nan))
    out.append(f"GPUs online in {years[last]}: {_n(online)}. Cost per delivered GPU-hour "
               f"{cost:,.2f} USD, against {lcoc:,.2f} USD per GPU-hour online.")
    return out


def delay_text(ds: xr.Dataset) -> list[str]:
    """Sentences on the value of delay: the cost of reaching the targets earlier or later."""
    if "delay_npv_usd" not in ds:
        return []
    shifts = ds["delay_shift"].values.astype(int)
    npv = ds["delay_npv_usd"].values
    base = float(npv[shifts == 0][0]) if (shifts == 0).any() else np.nan
    out = []
    for s, v, status in zip(shifts, npv, ds["delay_status"].values, strict=True):
        if s == 0:
            continue
        when = f"{abs(s)} year{'s' if abs(s) > 1 else ''} {'earlier' if s < 0 else 'later'}"
        if not np.isfinite(v):
            out.append(f"Targets {when}: no plan ({status}).")
            continue
        diff = v - base
        out.append(f"Targets {when}: {_money(v)} ({'+' if diff >= 0 else '-'}{_money(abs(diff))} "
                   "against the study's years).")
    penalty = float(ds.attrs.get("shortfall_penalty_usd_per_gpu", 0) or 0)
    if penalty > 0:
        out.append(f"The study prices a GPU-year short of target at {penalty:,.0f} USD; the curve "
                   "includes those penalties.")
    return out


def plot_value_of_delay(plan: Plan, ax: Axes | None = None) -> Figure:
    """Net present cost against the shift of the target years (the cost-versus-speed curve)."""
    ds = plan.dataset
    if ax is None:
        fig = Figure(figsize=(6.0, 3.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    shifts = ds["delay_shift"].values.astype(int)
    npv = ds["delay_npv_usd"].values / 1e9
    ok = np.isfinite(npv)
    ax.plot(shifts[ok], npv[ok], marker="o", color="#4c72b0")
    gap = ds["delay_mip_gap"].values
    ax.errorbar(shifts[ok], npv[ok], yerr=[gap[ok] * npv[ok], np.zeros(ok.sum())], fmt="none",
                ecolor="#999999", capsize=3)
    for s in shifts[~ok]:
        ax.axvline(s, color="#d62728", linestyle=":", linewidth=1)
    ax.set_xlabel("target years moved by [years] (negative = earlier)")
    ax.set_ylabel("net present cost [bn USD]")
    ax.set_xticks(shifts)
    ax.set_title("Value of delay: cost of reaching the targets earlier or later")
    ax.grid(alpha=0.3)
    return fig


def fleet_levers_html(plan: Plan) -> str:
    """The report section of the fleet levers ('' when the study turned none on)."""
    ds = plan.dataset
    parts = [
        ("Shared supply: large power transformers", supply_chain_text(ds)),
        ("Shared supply: chip deliveries", chip_delivery_text(ds)),
        ("Training clusters in one place", training_cluster_text(ds)),
        ("Delivered compute", delivered_text(ds)),
        ("Value of delay", delay_text(ds)),
    ]
    body = []
    for title, lines in parts:
        if not lines:
            continue
        body.append(f"<h3>{_esc(title)}</h3><ul>" + "".join(f"<li>{_esc(x)}</li>" for x in lines) + "</ul>")
    if "delay_npv_usd" in ds:
        buffer = io.BytesIO()
        plot_value_of_delay(plan).savefig(buffer, format="png", dpi=110, facecolor="white")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        body.append('<figure id="fig-value_of_delay"><img alt="net present cost against the shift of '
                     f'the target years" src="data:image/png;base64,{data}"><figcaption>Each point is '
                     "the study solved again with every target year moved; bars show the MIP gap."
                     "</figcaption></figure>")
    if not body:
        return ""
    return ('<h2 id="fleet-levers">Fleet levers of time to power</h2><p>What the fleet levers '
            "the study turned on did to the plan (docs/formulation.md, \"Time-to-power levers: "
            "fleet\").</p>" + "".join(body))
