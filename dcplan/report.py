"""Figures and a self-contained HTML report of a plan.

Every ``plot_*`` function takes a :class:`~dcplan.results.Plan` (anything with ``.dataset``,
``.sites``, ``.summary_dict()`` and optionally ``.shadow_prices()``) and an optional
matplotlib ``Axes``, draws on it (or on a new figure) and returns the ``Figure``. They use
plain matplotlib and never touch pyplot's global state, so they work in scripts, notebooks
and on servers without a display.

:func:`write_report` renders all of them to PNG files and one ``index.html`` that embeds
the figures as data URIs with inline CSS: the page opens offline, by e-mail or from a
USB stick, and needs no JavaScript.

Example
-------
>>> from dcplan.report import plot_buildout_timeline, write_report   # doctest: +SKIP
>>> fig = plot_buildout_timeline(plan)                                # doctest: +SKIP
>>> write_report(plan, "runs/x/report")                               # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dcplan.atomic import atomic_dir

logger = logging.getLogger(__name__)

__all__ = [
    "COOLING_COLORS",
    "COOLING_LABELS",
    "FIGURES",
    "FigureSpec",
    "binding_constraints_text",
    "cooling_color",
    "cost_components",
    "plot_binding_constraints",
    "plot_buildout_timeline",
    "plot_capacity_vs_target",
    "plot_cost_breakdown",
    "plot_resources",
    "plot_site_map",
    "render_html",
    "write_report",
]

#: One colour per cooling technology, used by every figure and the HTML legend.
COOLING_COLORS: dict[str, str] = {
    "air_chiller": "#8c96a3",
    "air_evap": "#e0a03a",
    "rdhx": "#9b6bbf",
    "dlc_dry": "#2f7fc1",
    "dlc_tower": "#2aa198",
    "immersion": "#c2474f",
}
#: Readable names of the cooling technologies.
COOLING_LABELS: dict[str, str] = {
    "air_chiller": "air, chillers",
    "air_evap": "air, evaporative",
    "rdhx": "rear-door HX",
    "dlc_dry": "direct liquid, dry coolers",
    "dlc_tower": "direct liquid, towers",
    "immersion": "immersion",
}
_OTHER_COLOR = "#555555"
_CANDIDATE_COLOR = "#b8b8b8"
_TARGET_COLOR = "#111111"
_SHORTFALL_COLOR = "#d62728"
# Resource and cost stacks use a fixed qualitative cycle so a site keeps its colour.
_SITE_CYCLE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
               "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
_MAX_STACKED_SITES = 8
_CAPEX_PALETTE = ["#4c72b0", "#64b5cd", "#8172b3", "#ccb974", "#937860", "#da8bc3"]
_OPEX_COLOR = "#dd8452"


def cooling_color(cooling: str) -> str:
    """Colour of a cooling technology (grey for unknown ids)."""
    return COOLING_COLORS.get(str(cooling), _OTHER_COLOR)


def _cooling_label(cooling: str) -> str:
    return COOLING_LABELS.get(str(cooling), str(cooling))


# --------------------------------------------------------------------------- helpers


def _var(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    return ds[name] if name in ds.data_vars else None


def _years(ds: xr.Dataset) -> np.ndarray:
    return np.asarray(ds["year"].values).astype(int)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.get_figure(), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _panels(ax: Axes | Sequence[Axes] | None, n: int, figsize: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """``n`` side-by-side Axes: new ones, the ones given, or ``ax`` split in ``n``."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, list(np.atleast_1d(fig.subplots(1, n)))
    if isinstance(ax, Axes):
        fig = ax.get_figure()
        if n == 1:
            return fig, [ax]
        spec = ax.get_subplotspec()
        if spec is not None:
            ax.remove()
            sub = spec.subgridspec(1, n, wspace=0.35)
            return fig, [fig.add_subplot(sub[0, i]) for i in range(n)]
        # An Axes placed by hand: share its rectangle out.
        ax.set_axis_off()
        gap = 0.12
        width = (1 - gap * (n - 1)) / n
        return fig, [ax.inset_axes([i * (width + gap), 0, width, 1]) for i in range(n)]
    axes = list(ax)
    if len(axes) != n:
        msg = f"expected {n} Axes, got {len(axes)} (fix: pass one Axes, {n} Axes or none)"
        raise ValueError(msg)
    return axes[0].get_figure(), axes


def _chosen(plan: Any) -> pd.DataFrame:
    sites = plan.sites
    if "chosen" in sites.columns:
        return sites[sites["chosen"].astype(bool)]
    return sites.iloc[0:0]


def _site_label(plan: Any, site_id: str) -> str:
    sites = plan.sites
    for column in ("name", "site_name"):
        if column in sites.columns:
            match = sites.loc[sites["site_id"] == site_id, column]
            if len(match) and isinstance(match.iloc[0], str) and match.iloc[0]:
                return f"{match.iloc[0]} ({site_id})"
    return str(site_id)


def _by_site_year(ds: xr.Dataset, name: str, scale: float = 1.0) -> pd.DataFrame:
    """A (site, year) variable as a year x site table, dropping sites that are always 0."""
    da = _var(ds, name)
    if da is None:
        return pd.DataFrame(index=_years(ds))
    extra = [d for d in da.dims if d not in ("site", "year")]
    if extra:
        da = da.sum(extra)
    table = da.transpose("year", "site").to_pandas() * scale
    table.index = table.index.astype(int)
    return table.loc[:, (table.abs() > 0).any(axis=0)]


def _top_columns(table: pd.DataFrame, keep: int) -> pd.DataFrame:
    """Keep the ``keep`` largest columns and sum the rest into ``other``."""
    if table.shape[1] <= keep:
        return table
    order = table.abs().sum().sort_values(ascending=False).index
    out = table[order[: keep - 1]].copy()
    out["other"] = table[order[keep - 1:]].sum(axis=1)
    return out


def _stacked_bars(ax: Axes, table: pd.DataFrame, colors: Sequence[str], labels: Sequence[str],
                  width: float = 0.8, offset: float = 0.0, gid: str = "") -> None:
    bottom = np.zeros(len(table))
    for column, color, label in zip(table.columns, colors, labels, strict=True):
        values = table[column].to_numpy(dtype=float)
        container = ax.bar(table.index + offset, values, width=width, bottom=bottom,
                           color=color, label=label, edgecolor="white", linewidth=0.4)
        for patch in container.patches:
            patch.set_gid(gid or str(column))
        bottom = bottom + values


def _empty_note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            fontsize=10, color="#555555", wrap=True)


def _year_axis(ax: Axes, years: np.ndarray) -> None:
    step = max(1, math.ceil(len(years) / 12))
    ax.set_xticks(years[::step])
    ax.set_xlabel("year")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)


def _site_colors(columns: Sequence[str]) -> list[str]:
    return [_OTHER_COLOR if c == "other" else _SITE_CYCLE[i % len(_SITE_CYCLE)]
            for i, c in enumerate(columns)]


# --------------------------------------------------------------------------- figures


def _states_path() -> Path | None:
    try:
        from dcplan.catalog import data_dir

        path = data_dir() / "regions" / "states.geojson"
    except Exception:  # a broken install must not stop a report
        logger.debug("no data folder found for the state boundaries", exc_info=True)
        return None
    return path if path.is_file() else None


def plot_site_map(plan: Any, ax: Axes | None = None) -> Figure:
    """Candidate and chosen sites on a map of state boundaries.

    Candidates are small grey dots; chosen sites are circles sized by their final IT
    capacity and coloured by their main cooling technology. State boundaries come from
    ``data/regions/states.geojson`` when it is shipped, otherwise the sites are drawn on a
    plain longitude/latitude frame.

    Parameters
    ----------
    plan : Plan
        A solved plan.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, (9.0, 5.6))
    sites = plan.sites
    lon = sites.geometry.x.to_numpy()
    lat = sites.geometry.y.to_numpy()
    pad = 2.0
    xlim = (np.nanmin(lon) - pad, np.nanmax(lon) + pad) if len(sites) else (-125, -66)
    ylim = (np.nanmin(lat) - pad, np.nanmax(lat) + pad) if len(sites) else (24, 50)
    # Keep a readable regional context even when all sites sit in one county.
    if xlim[1] - xlim[0] < 12:
        mid = sum(xlim) / 2
        xlim = (mid - 6, mid + 6)
    if ylim[1] - ylim[0] < 7:
        mid = sum(ylim) / 2
        ylim = (mid - 3.5, mid + 3.5)

    states = _states_path()
    if states is not None:
        import geopandas as gpd

        try:
            boundaries = gpd.read_file(states)
            if boundaries.crs is not None and boundaries.crs.to_epsg() != 4326:
                boundaries = boundaries.to_crs(4326)
            boundaries.plot(ax=ax, facecolor="#f7f7f4", edgecolor="#9a9a9a", linewidth=0.5,
                            gid="states")
        except Exception:  # draw the sites anyway; the boundaries are context only
            logger.warning("could not draw %s", states, exc_info=True)
    ax.set_facecolor("#eef3f7" if states is not None else "white")

    chosen_mask = sites["chosen"].astype(bool).to_numpy() if "chosen" in sites else np.zeros(len(sites), bool)
    ax.scatter(lon[~chosen_mask], lat[~chosen_mask], s=10, color=_CANDIDATE_COLOR,
               edgecolor="none", label=f"candidate ({(~chosen_mask).sum()})", zorder=3,
               gid="candidates")
    chosen = sites[chosen_mask]
    if len(chosen):
        mw = chosen["it_capacity_mw"].astype(float).fillna(0).to_numpy() if "it_capacity_mw" in chosen else np.ones(len(chosen))
        size = 40 + 460 * mw / max(mw.max(), 1e-9)
        cooling = chosen["cooling"].astype(str).to_numpy() if "cooling" in chosen else np.array(["?"] * len(chosen))
        for tech in dict.fromkeys(cooling):
            sel = cooling == tech
            ax.scatter(chosen.geometry.x[sel], chosen.geometry.y[sel], s=size[sel],
                       color=cooling_color(tech), alpha=0.85, edgecolor="black", linewidth=0.6,
                       label=f"chosen: {_cooling_label(tech)}", zorder=4, gid="chosen")
        for x, y, site_id, value in zip(chosen.geometry.x, chosen.geometry.y, chosen["site_id"], mw, strict=True):
            ax.annotate(f"{site_id}\n{value:,.0f} MW", (x, y), xytext=(6, 6), textcoords="offset points",
                        fontsize=7, zorder=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect(1 / math.cos(math.radians(sum(ylim) / 2)))
    ax.set_xlabel("longitude [°E]")
    ax.set_ylabel("latitude [°N]")
    ax.set_title(f"Sites: {len(chosen)} of {len(sites)} candidates chosen")
    ax.legend(loc="lower left", fontsize=8, markerscale=0.6, framealpha=0.9)
    return fig


def plot_buildout_timeline(plan: Any, ax: Axes | None = None) -> Figure:
    """Gantt chart of installed IT capacity per chosen site and year.

    One row per site that ever holds capacity, ordered by first year. Each year-cell is
    split by cooling technology (colour) and its height is the cell's IT MW relative to
    the largest cell; the cell is labelled with its total MW.

    Parameters
    ----------
    plan : Plan
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = plan.dataset
    it = _var(ds, "it_capacity_mw")
    years = _years(ds)
    active = it.sum(["cooling", "year"]) > 0 if it is not None else None
    site_ids = [] if active is None else [str(s) for s in ds["site"].values[active.values]]
    first = {s: int(years[(it.sel(site=s).sum("cooling") > 0).values][0]) for s in site_ids}
    site_ids.sort(key=lambda s: (first[s], s))
    fig, ax = _axes(ax, (10.0, 1.6 + 0.45 * max(len(site_ids), 2)))
    if not site_ids:
        _empty_note(ax, "no IT capacity is built in this plan")
        ax.set_xlabel("year")
        return fig
    largest = float(it.sum("cooling").max())
    coolings = [str(c) for c in ds["cooling"].values]
    used: set[str] = set()
    for row, site in enumerate(site_ids):
        cells = it.sel(site=site).transpose("year", "cooling").values
        for j, year in enumerate(years):
            total = float(cells[j].sum())
            if total <= 0:
                continue
            height = 0.85 * total / largest
            bottom = row - height / 2
            for k, tech in enumerate(coolings):
                value = float(cells[j, k])
                if value <= 0:
                    continue
                part = height * value / total
                ax.barh(bottom + part / 2, 0.92, left=year - 0.46, height=part,
                        color=cooling_color(tech), edgecolor="none", gid=f"{site}|{year}|{tech}")
                bottom += part
                used.add(tech)
            if len(years) <= 16:
                ax.text(year, row + 0.44, f"{total:,.0f}", ha="center", va="top", fontsize=6.5,
                        color="#333333")
    ax.set_yticks(range(len(site_ids)), [_site_label(plan, s) for s in site_ids], fontsize=8)
    ax.set_ylim(len(site_ids) - 0.3, -0.7)
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    _year_axis(ax, years)
    ax.set_ylabel("chosen site")
    ax.set_title("Build-out: installed IT capacity [MW] by site, year and cooling "
                 "(bar height and label: MW)", fontsize=10)
    handles = [Patch(color=cooling_color(t), label=_cooling_label(t)) for t in coolings if t in used]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              title="cooling", title_fontsize=8)
    return fig


def _fleet_gpus(ds: xr.Dataset) -> pd.DataFrame:
    gpus = _var(ds, "gpus")
    if gpus is None:
        return pd.DataFrame(index=_years(ds))
    table = gpus.sum([d for d in gpus.dims if d not in ("chip", "year")]).transpose("year", "chip").to_pandas()
    table.index = table.index.astype(int)
    return table.loc[:, (table > 0).any(axis=0)]


def _target_line(ax: Axes, years: np.ndarray, values: np.ndarray, label: str, gid: str) -> None:
    """A step line that spans each year's whole bar (years are drawn as bars of width 1)."""
    edges = np.append(years - 0.5, years[-1] + 0.5)
    ax.step(edges, np.append(values, values[-1]), where="post", color=_TARGET_COLOR,
            linewidth=1.8, label=label, gid=gid)


def plot_capacity_vs_target(plan: Any, ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Fleet online by year against the target: GPUs, dense PFLOPS (when targeted) and IT MW.

    GPUs are stacked by chip with the GPU target as a black step line and any shortfall
    hatched in red; when the study sets a compute target, a second panel compares dense
    BF16 PFLOPS; the last panel stacks installed IT MW by cooling technology.

    Parameters
    ----------
    plan : Plan
    ax : Axes or sequence of Axes, optional
        One Axes (split into the panels), one Axes per panel, or none for a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = plan.dataset
    years = _years(ds)
    target_pflops = _var(ds, "in_target_pflops")
    dense = _var(ds, "in_dense_pflops")
    show_pflops = target_pflops is not None and dense is not None and float(target_pflops.max()) > 0
    n = 3 if show_pflops else 2
    fig, axes = _panels(ax, n, (5.0 * n, 4.4))

    gpus = _fleet_gpus(ds)
    gax = axes[0]
    chip_colors = _site_colors(list(gpus.columns))
    _stacked_bars(gax, gpus / 1e3, chip_colors, list(gpus.columns))
    target = _var(ds, "in_target_gpus")
    if target is not None and float(target.sum()) > 0:
        _target_line(gax, years, target.sum("chip").to_numpy() / 1e3, "GPU target", "target_gpus")
    shortfall = _var(ds, "shortfall_gpus")
    if shortfall is not None and float(shortfall.sum()) > 0:
        missing = shortfall.sum("chip").to_pandas().to_numpy()
        gax.bar(years, missing / 1e3, bottom=gpus.sum(axis=1).reindex(years, fill_value=0).to_numpy() / 1e3,
                width=0.8, color="none", edgecolor=_SHORTFALL_COLOR, hatch="///", label="shortfall",
                gid="shortfall")
    gax.set_ylabel("GPUs online [thousand GPUs]")
    gax.set_title("GPUs by chip vs target")
    _year_axis(gax, years)
    gax.legend(fontsize=7, loc="upper left")

    if show_pflops:
        pax = axes[1]
        pflops = gpus * dense.to_pandas().reindex(gpus.columns).fillna(0.0)
        _stacked_bars(pax, pflops / 1e3, chip_colors, list(pflops.columns))
        _target_line(pax, years, target_pflops.to_numpy() / 1e3, "compute target", "target_pflops")
        missing_pf = _var(ds, "shortfall_pflops")
        if missing_pf is not None and float(missing_pf.sum()) > 0:
            pax.bar(years, missing_pf.to_numpy() / 1e3, bottom=pflops.sum(axis=1).reindex(years, fill_value=0).to_numpy() / 1e3,
                    width=0.8, color="none", edgecolor=_SHORTFALL_COLOR, hatch="///", label="shortfall",
                    gid="shortfall")
        pax.set_ylabel("dense BF16 compute online [EFLOPS]")
        pax.set_title("Compute vs target")
        _year_axis(pax, years)
        pax.legend(fontsize=7, loc="upper left")

    max_ = axes[-1]
    it = _var(ds, "it_capacity_mw")
    if it is not None:
        by_cooling = it.sum("site").transpose("year", "cooling").to_pandas()
        by_cooling.index = by_cooling.index.astype(int)
        by_cooling = by_cooling.loc[:, (by_cooling > 0).any(axis=0)]
        _stacked_bars(max_, by_cooling, [cooling_color(c) for c in by_cooling.columns],
                      [_cooling_label(c) for c in by_cooling.columns])
        max_.legend(fontsize=7, loc="upper left", title="cooling", title_fontsize=7)
    else:
        _empty_note(max_, "the plan has no it_capacity_mw")
    max_.set_ylabel("installed IT capacity [MW]")
    max_.set_title("IT capacity by cooling")
    _year_axis(max_, years)
    return fig


_RESOURCES = (
    ("energy_mwh", 1e-3, "facility energy [GWh/yr]", "Energy"),
    ("water_m3", 1e-3, "on-site water [thousand m³/yr]", "Water"),
    ("co2_t", 1e-3, "CO₂e emissions [kt/yr]", "CO₂e"),
)


def plot_resources(plan: Any, ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Facility energy, on-site water and CO2e by year, stacked by site.

    Parameters
    ----------
    plan : Plan
    ax : Axes or sequence of three Axes, optional
        One Axes (split in three), three Axes, or none for a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = plan.dataset
    years = _years(ds)
    fig, axes = _panels(ax, 3, (15.0, 4.4))
    # The same sites in the same colours on all three panels.
    energy = _by_site_year(ds, "energy_mwh")
    order = list(_top_columns(energy, _MAX_STACKED_SITES).columns) if energy.shape[1] else []
    for axis, (name, scale, label, title) in zip(axes, _RESOURCES, strict=True):
        table = _by_site_year(ds, name, scale)
        if table.shape[1] == 0:
            _empty_note(axis, f"no {title.lower()} in this plan")
        else:
            if len(order):
                keep = [c for c in order if c != "other" and c in table.columns]
                rest = [c for c in table.columns if c not in keep]
                table = table[keep].assign(**({"other": table[rest].sum(axis=1)} if rest else {}))
            table = table.reindex(years, fill_value=0.0)
            colors = [_SITE_CYCLE[order.index(c) % len(_SITE_CYCLE)] if c in order and c != "other"
                      else _OTHER_COLOR for c in table.columns]
            _stacked_bars(axis, table, colors, [str(c) for c in table.columns])
        axis.set_ylabel(label)
        axis.set_title(f"{title} by site")
        _year_axis(axis, years)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="upper left", title="site", title_fontsize=7)
    return fig


def _capex_parts(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Capex split by category when the plan carries ``capex_<part>_usd`` variables."""
    parts = {}
    for name in ds.data_vars:
        if name.startswith("capex_") and name.endswith("_usd") and name != "capex_usd" \
                and "year" in ds[name].dims:
            parts[name[len("capex_"):-len("_usd")].replace("_", " ")] = ds[name]
    return parts


def _sum_to_year(da: xr.DataArray) -> pd.Series:
    series = da.sum([d for d in da.dims if d != "year"]).to_pandas()
    series.index = series.index.astype(int)
    return series


def cost_components(plan: Any) -> pd.DataFrame:
    """Capex by category and opex per year [USD], undiscounted; columns are the categories."""
    ds = plan.dataset
    columns: dict[str, pd.Series] = {}
    parts = _capex_parts(ds)
    if parts:
        for label, da in parts.items():
            columns[f"capex: {label}"] = _sum_to_year(da)
    elif "capex_usd" in ds:
        columns["capex"] = _sum_to_year(ds["capex_usd"])
    if "opex_usd" in ds:
        columns["opex"] = _sum_to_year(ds["opex_usd"])
    table = pd.DataFrame(columns).reindex(_years(ds)).fillna(0.0)
    table.index.name = "year"
    return table


def _shortfall_penalty_npv(ds: xr.Dataset, costs_npv: float) -> float:
    """Discounted penalty for missed targets [USD]; 0 for hard targets."""
    penalty = float(ds.attrs.get("shortfall_penalty_usd_per_gpu", 0.0) or 0.0)
    shortfall = _var(ds, "shortfall_gpus")
    if penalty <= 0 or shortfall is None:
        return 0.0
    try:
        # The plan's own objective arithmetic, so the waterfall cannot drift from it.
        from dcplan.results import npv_usd

        return max(npv_usd(ds) - costs_npv, 0.0)
    except Exception:
        logger.debug("dcplan.results.npv_usd unavailable; GPU shortfall only", exc_info=True)
    factor = _sum_to_year(ds["in_discount_factor"])
    return float((_sum_to_year(shortfall) * factor).sum() * penalty)


def plot_cost_breakdown(plan: Any, ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Capex by category and opex by year, and the net present cost as a waterfall.

    The left panel stacks undiscounted capex (by category when the plan splits it) and
    opex per year. When the plan carries the discount factors (``in_discount_factor``), the
    right panel adds each component's discounted total up to the net present cost, with
    the solver's objective marked for comparison.

    Parameters
    ----------
    plan : Plan
    ax : Axes or sequence of two Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = plan.dataset
    years = _years(ds)
    fig, (bax, wax) = _panels(ax, 2, (13.0, 4.6))
    table = cost_components(plan)
    if table.shape[1] == 0:
        _empty_note(bax, "the plan has no capex or opex")
    else:
        capex_cols = [c for c in table.columns if c.startswith("capex")]
        colors = [_CAPEX_PALETTE[i % len(_CAPEX_PALETTE)] for i in range(len(capex_cols))]
        if capex_cols:
            _stacked_bars(bax, table[capex_cols] / 1e9, colors, capex_cols, width=0.4, offset=-0.2)
        if "opex" in table:
            _stacked_bars(bax, table[["opex"]] / 1e9, [_OPEX_COLOR], ["opex"], width=0.4, offset=0.2)
        bax.legend(fontsize=7, loc="upper left")
    bax.set_ylabel("cost [billion USD/yr, undiscounted]")
    bax.set_title("Capex (left bars) and opex (right bars) by year")
    _year_axis(bax, years)

    discount = _var(ds, "in_discount_factor")
    if discount is None or table.shape[1] == 0:
        _empty_note(wax, "no discount factors in the plan:\nnet present cost waterfall not drawn")
        wax.set_ylabel("net present cost [billion USD]")
        wax.set_xticks([])
        return fig
    factor = discount.to_pandas()
    factor.index = factor.index.astype(int)
    npv = table.mul(factor.reindex(table.index).fillna(0.0), axis=0).sum()
    if "capital_npv_usd" in ds:
        # capital enters the objective as the study charges it (annuities, salvage or the
        # full price), not as discounted cash
        method = ds.attrs.get("capital_cost_method", "annuity")
        capital = pd.Series({f"capex ({method})": float(ds["capital_npv_usd"].sum())})
        npv = pd.concat([capital, npv.drop([c for c in npv.index if c.startswith("capex")])])
    penalty = _shortfall_penalty_npv(ds, float(npv.sum()))
    if penalty > 0:
        npv["shortfall penalty"] = penalty
    running = 0.0
    labels = list(npv.index) + ["net present cost"]
    for i, (label, value) in enumerate(npv.items()):
        color = (_CAPEX_PALETTE[i % len(_CAPEX_PALETTE)] if label.startswith("capex")
                 else _OPEX_COLOR if label == "opex" else _SHORTFALL_COLOR)
        wax.bar(i, value / 1e9, bottom=running / 1e9, color=color, width=0.6, gid=f"step|{label}")
        running += float(value)
    wax.bar(len(npv), running / 1e9, color="#333333", width=0.6, gid="total")
    objective = plan.summary_dict().get("objective_usd")
    if objective is not None and np.isfinite(objective):
        wax.axhline(objective / 1e9, color=_SHORTFALL_COLOR, linestyle="--", linewidth=1,
                    label=f"solver objective {objective / 1e9:,.2f} bn")
        wax.legend(fontsize=7, loc="upper left")
    wax.set_xticks(range(len(labels)), labels, rotation=25, ha="right", fontsize=8)
    wax.set_ylabel("net present cost [billion USD]")
    wax.set_title("Net present cost, discounted")
    wax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    wax.set_axisbelow(True)
    return fig


def _shadow_prices(plan: Any) -> pd.DataFrame | None:
    getter = getattr(plan, "shadow_prices", None)
    if getter is None:
        return None
    try:
        table = getter() if callable(getter) else getter
    except Exception:  # MIP duals need a fixed re-solve that may not have run
        logger.info("shadow prices unavailable", exc_info=True)
        return None
    if table is None or not isinstance(table, pd.DataFrame) or table.empty:
        return None
    if not {"family", "dual"} <= set(table.columns):
        return None
    return table


#: families whose duals are accounting or tightening, not limits a planner can loosen
_NOT_LIMITS = frozenset({"gpu_stock", "it_monotone", "ic_monotone", "fleet_rounding"})


def _binding_rows(plan: Any, limit: int) -> pd.DataFrame | None:
    table = _shadow_prices(plan)
    if table is None:
        return None
    table = table[~table["family"].isin(_NOT_LIMITS)].copy()
    if "binding" in table:
        table = table[table["binding"].astype(bool)]
    value = table["usd_per_unit"] if "usd_per_unit" in table else table["dual"]
    table["size"] = value.astype(float).abs()
    table = table[table["size"] > 0].sort_values("size", ascending=False)
    return table.head(limit)


def _constraint_label(row: pd.Series) -> str:
    year = row.get("year")
    missing = year is None or (isinstance(year, float) and math.isnan(year)) or int(year) < 0
    when = "" if missing else f" {int(year)}"
    return f"{row['family']}{when}"


def binding_constraints_text(plan: Any, limit: int = 12) -> list[str]:
    """The binding constraints in plain words, largest shadow price first.

    Returns a one-item list saying why when the plan has no shadow prices or none bind.
    """
    table = _shadow_prices(plan)
    if table is None:
        return ["Shadow prices are not available for this plan, so the binding limits are "
                "not ranked."]
    rows = _binding_rows(plan, limit)
    if rows is None or rows.empty:
        return ["No constraint binds with a non-zero shadow price: no single limit "
                "is driving the cost of this plan."]
    lines = []
    for _, row in rows.iterrows():
        meaning = _plain_meaning(row)
        what = f"{_constraint_label(row)}: {meaning}" if meaning else _constraint_label(row)
        unit = _unit_words(row.get("unit"))
        per = f" per {unit}" if unit else " per unit"
        place = str(row.get("where") or "")
        where = (f" for {place}" if row["family"] == "target" else f" at {place}") if place else ""
        if int(row.get("binding", 1) or 1) > 1:
            where += f" ({int(row['binding'])} rows bind)"
        lines.append(f"{what}: about {_usd_short(row['size'])} USD of net present cost{per}{where}.")
    return lines


def _plain_meaning(row: pd.Series) -> str:
    """The family's meaning without its trailing unit bracket."""
    text = str(row.get("meaning") or "").strip().rstrip(".")
    return text.split(" [")[0] if text.endswith("]") else text


def _unit_words(unit: Any) -> str:
    if not isinstance(unit, str) or unit in ("", "1"):
        return ""
    return {"kGPU": "thousand GPUs", "kPFLOPS": "thousand PFLOPS", "MUSD": "million USD",
            "kt": "kt CO2", "1000 m**3": "thousand m³ of water"}.get(unit, unit)


def _usd_short(value: float) -> str:
    for scale, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= scale:
            return f"{value / scale:,.3g}{suffix}"
    return f"{value:,.3g}"


def plot_binding_constraints(plan: Any, ax: Axes | None = None, limit: int = 15) -> Figure:
    """The binding constraints ranked by the size of their shadow price.

    Each bar is one constraint family and year that binds; its length is the change in
    net present cost for one more unit of that limit, and its label says what the limit
    is in plain words. Plans without shadow prices get a figure that says so.

    Parameters
    ----------
    plan : Plan
    ax : matplotlib.axes.Axes, optional
    limit : int
        Most bars to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _binding_rows(plan, limit)
    n = 0 if rows is None else len(rows)
    fig, ax = _axes(ax, (10.0, 1.8 + 0.38 * max(n, 3)))
    ax.set_xlabel("shadow price [USD of net present cost per unit of the limit (MW, thousand GPUs, ...)]")
    if rows is None:
        _empty_note(ax, "shadow prices are not available for this plan")
        ax.set_yticks([])
        return fig
    if rows.empty:
        _empty_note(ax, "no constraint binds with a non-zero shadow price")
        ax.set_yticks([])
        return fig
    labels = []
    for _, row in rows.iterrows():
        meaning = _plain_meaning(row)
        meaning = meaning if len(meaning) <= 60 else meaning[:57] + "..."
        labels.append(f"{_constraint_label(row)}: {meaning}" if meaning else _constraint_label(row))
    positions = np.arange(n)
    sizes = rows["size"].to_numpy(dtype=float)
    ax.barh(positions, sizes, color="#4c72b0", gid="shadow_prices")
    for y, value in zip(positions, sizes, strict=True):
        ax.text(value, y, f" {_usd_short(value)}", va="center", fontsize=7.5)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    if sizes.max() / sizes.min() > 100:
        ax.set_xscale("log")
    ax.set_xlim(right=sizes.max() * (3 if sizes.max() / sizes.min() > 100 else 1.15))
    ax.xaxis.set_major_formatter(lambda value, _pos: _usd_short(value))
    ax.set_title("What limits the plan: binding constraints by shadow price")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: file stem, drawing function, and caption builder."""

    name: str
    title: str
    draw: Callable[[Any], Figure]
    caption: Callable[[Any], str]


def _caption_map(plan: Any) -> str:
    chosen = _chosen(plan)
    return (f"Candidate sites (grey) and the {len(chosen)} chosen of {len(plan.sites)}, sized by "
            "final IT capacity [MW] and coloured by cooling technology.")


def _caption_timeline(plan: Any) -> str:
    return ("When each site's IT capacity comes online: one row per site, one cell per year, "
            "split by cooling technology and labelled with installed IT MW.")


def _caption_capacity(plan: Any) -> str:
    return ("GPUs online by chip against the fleet target (black step; red hatching marks any "
            "shortfall), and installed IT capacity [MW] by cooling technology.")


def _caption_resources(plan: Any) -> str:
    return "Facility energy [GWh], on-site water [thousand m³] and CO₂e [kt] per year, by site."


def _caption_costs(plan: Any) -> str:
    return ("Undiscounted capex and opex per year [billion USD], and how the discounted parts "
            "add up to the net present cost.")


def _caption_binding(plan: Any) -> str:
    return ("The limits that drive the cost of the plan, ranked by shadow price: the change in "
            "net present cost for one more unit of each limit.")


#: The figures of the report, in page order; ``name`` is the PNG file stem.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("site_map", "Where", plot_site_map, _caption_map),
    FigureSpec("buildout_timeline", "When", plot_buildout_timeline, _caption_timeline),
    FigureSpec("capacity_vs_target", "How much", plot_capacity_vs_target, _caption_capacity),
    FigureSpec("resources", "Energy, water and carbon", plot_resources, _caption_resources),
    FigureSpec("cost_breakdown", "Cost", plot_cost_breakdown, _caption_costs),
    FigureSpec("binding_constraints", "What limits the plan", plot_binding_constraints,
               _caption_binding),
)

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d1d1d;
background:#fafafa;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.7em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#555;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:130px;background:#fcfcfc}
.card b{display:block;font-size:1.25em}.card span{color:#555;font-size:.85em}
.ok{color:#1a7f37}.bad{color:#b42318}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 9px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
figure{margin:12px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;margin-top:4px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px 0 10px;
vertical-align:middle}
footer{color:#777;font-size:.8em;margin-top:40px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not np.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, facecolor="white")
    return buffer.getvalue()


def _summary_cards(summary: dict) -> str:
    audit = summary.get("audit") or {}
    ok = audit.get("ok")
    years = summary.get("years") or []
    last = years[-1] if years else {}
    cards = [
        ("status", _esc(summary.get("status", "unknown"))),
        ("net present cost", f"${_fmt((summary.get('objective_usd') or float('nan')) / 1e9, 2)} bn"),
        ("MIP gap", f"{summary['mip_gap']:.2%}" if isinstance(summary.get("mip_gap"), (int, float)) else "–"),
        ("sites opened", _fmt(summary.get("sites_opened"))),
        (f"IT capacity {last.get('year', '')}", f"{_fmt(last.get('it_capacity_mw'))} MW"),
        (f"GPUs {last.get('year', '')}", _fmt(last.get("gpus"))),
        ("solve time", f"{_fmt(summary.get('solve_seconds'), 1)} s"),
        ("audit", f'<span class="{"ok" if ok else "bad"}">{"passed" if ok else "FAILED" if ok is False else "not run"}</span>'),
    ]
    return '<div class="cards">' + "".join(
        f"<div class=card><b>{value}</b><span>{_esc(label)}</span></div>" for label, value in cards
    ) + "</div>"


_YEAR_COLUMNS = (
    ("it_capacity_mw", "IT capacity [MW]", 1.0, 0),
    ("gpus", "GPUs", 1.0, 0),
    ("facility_peak_mw", "facility peak [MW]", 1.0, 0),
    ("energy_mwh", "energy [GWh]", 1e-3, 0),
    ("water_m3", "water [thousand m³]", 1e-3, 0),
    ("co2_t", "CO₂e [kt]", 1e-3, 1),
    ("capex_usd", "capex [million USD]", 1e-6, 0),
    ("opex_usd", "opex [million USD]", 1e-6, 0),
)


def _years_table(summary: dict) -> str:
    rows = summary.get("years") or []
    if not rows:
        return "<p>No per-year totals in the summary.</p>"
    head = "<tr><th>year</th>" + "".join(f"<th>{_esc(label)}</th>" for _, label, _, _ in _YEAR_COLUMNS) + "</tr>"
    body = "".join(
        f"<tr><td>{_esc(row.get('year', ''))}</td>"
        + "".join(f"<td>{_fmt(row.get(key, float('nan')) * scale if row.get(key) is not None else None, d)}</td>"
                  for key, _, scale, d in _YEAR_COLUMNS)
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


_SITE_COLUMNS = (
    ("site_id", "site", None),
    ("name", "name", None),
    ("site_name", "name", None),
    ("state", "state", None),
    ("iso", "ISO/region", None),
    ("first_year", "first year", 0),
    ("it_capacity_mw", "IT capacity [MW]", 0),
    ("cooling", "cooling", None),
    ("interconnect_option", "interconnect", None),
    ("ic_kv", "voltage [kV]", 0),
)


def _sites_table(plan: Any) -> str:
    chosen = _chosen(plan)
    if chosen.empty:
        return "<p>No site is opened in this plan.</p>"
    columns, seen = [], set()
    for key, label, digits in _SITE_COLUMNS:
        if key in chosen.columns and label not in seen:
            columns.append((key, label, digits))
            seen.add(label)
    if "first_year" in chosen.columns:
        chosen = chosen.sort_values(["first_year", "site_id"])
    head = "<tr>" + "".join(
        f'<th class="{"l" if d is None else ""}">{_esc(label)}</th>' for _, label, d in columns) + "</tr>"
    body = []
    for _, row in chosen.iterrows():
        cells = []
        for key, _, digits in columns:
            value = row[key]
            if key == "cooling":
                text = (f'<span class="swatch" style="background:{cooling_color(value)}"></span>'
                        f"{_esc(_cooling_label(value))}")
            elif digits is None:
                text = _esc("" if pd.isna(value) else value)
            else:
                text = _fmt(None if pd.isna(value) else float(value), digits)
            cells.append(f'<td class="{"l" if digits is None else ""}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _audit_html(summary: dict) -> str:
    audit = summary.get("audit")
    if not audit:
        return "<p>The plan was not audited.</p>"
    violations = audit.get("violations") or []
    if audit.get("ok"):
        return ('<p class="ok">Passed: every constraint family was re-checked from the plan\'s '
                "outputs alone and none is violated.</p>")
    items = "".join(f"<li>{_esc(v if isinstance(v, str) else _violation_text(v))}</li>" for v in violations)
    return (f'<p class="bad">FAILED: {len(violations)} violation(s) found when re-checking the '
            f"plan from its outputs.</p><ul>{items}</ul>")


def _violation_text(violation: Any) -> str:
    if isinstance(violation, dict):
        return "; ".join(f"{k}: {v}" for k, v in violation.items())
    return str(violation)


def _cooling_legend(plan: Any) -> str:
    ds = plan.dataset
    present = [str(c) for c in ds["cooling"].values] if "cooling" in ds.coords else list(COOLING_COLORS)
    return "<p>Cooling colours:" + "".join(
        f'<span class="swatch" style="background:{cooling_color(c)}"></span>{_esc(_cooling_label(c))}'
        for c in present) + "</p>"


def render_html(plan: Any, figures: dict[str, bytes]) -> str:
    """The report page with ``figures`` (name -> PNG bytes) embedded as data URIs."""
    summary = plan.summary_dict()
    ds = plan.dataset
    name = summary.get("study") or ds.attrs.get("study_name") or ds.attrs.get("in_study_name") or "dcplan plan"
    years = _years(ds)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(name)}: dcplan report</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(name)}</h1>",
        f'<p class="sub">dcplan fleet plan, {years[0]}–{years[-1]}, '
        f"{ds.sizes.get('site', 0)} candidate sites.</p>",
        _summary_cards(summary),
        "<h2>Audit</h2>",
        _audit_html(summary),
        "<h2>Binding constraints</h2><ul>",
        "".join(f"<li>{_esc(line)}</li>" for line in binding_constraints_text(plan)),
        "</ul>",
        "<h2>Totals by year</h2>",
        _years_table(summary),
        "<h2>Chosen sites</h2>",
        _sites_table(plan),
        _cooling_legend(plan),
    ]
    for spec in FIGURES:
        if spec.name not in figures:
            continue
        data = base64.b64encode(figures[spec.name]).decode("ascii")
        caption = spec.caption(plan)
        parts += [
            f"<h2>{_esc(spec.title)}</h2>",
            f'<figure id="fig-{spec.name}"><img alt="{_esc(caption)}" '
            f'src="data:image/png;base64,{data}">',
            f"<figcaption>{_esc(caption)}</figcaption></figure>",
        ]
    parts.append("<footer>Generated by dcplan. Figures are also saved beside this page as PNG files.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_report(plan: Any, out_dir: str | Path) -> Path:
    """Write the figures as PNG files and a self-contained ``index.html`` into ``out_dir``.

    The folder is filled under a temporary name and swapped in whole, so a failure leaves
    the previous report (or nothing), never a half-written one.

    Parameters
    ----------
    plan : Plan
        A solved plan.
    out_dir : str or pathlib.Path
        Report folder; replaced if it exists.

    Returns
    -------
    pathlib.Path
        Path of ``index.html``.
    """
    out_dir = Path(out_dir)
    figures: dict[str, bytes] = {}
    with atomic_dir(out_dir) as tmp:
        # mkdtemp makes the folder private (0700); a report is meant to be shared.
        tmp.chmod(0o755)
        for spec in FIGURES:
            fig = spec.draw(plan)
            png = _png(fig)
            (tmp / f"{spec.name}.png").write_bytes(png)
            figures[spec.name] = png
        (tmp / "index.html").write_text(render_html(plan, figures), encoding="utf-8")
    logger.info("wrote report %s", out_dir / "index.html")
    return out_dir / "index.html"
