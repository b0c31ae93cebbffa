"""Figures of a plan: each ``plot_*`` function takes a :class:`~dcplan.results.Plan` and an
optional matplotlib ``Axes``, draws on it (or on a new figure) and returns the ``Figure``.

They use plain matplotlib and never touch pyplot's global state, so they work in scripts,
notebooks and on servers without a display.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dcplan.catalog import data_dir
from dcplan.report.common import (
    _CANDIDATE_COLOR,
    _CAPEX_PALETTE,
    _MAX_STACKED_SITES,
    _OPEX_COLOR,
    _OTHER_COLOR,
    _SHORTFALL_COLOR,
    _SITE_CYCLE,
    _TARGET_COLOR,
    _chosen,
    _cooling_label,
    _site_label,
    _var,
    _years,
    cooling_color,
)
from dcplan.report.tables import (
    _binding_rows,
    _constraint_label,
    _plain_meaning,
    _unit_words,
    _usd_short,
    cost_components,
)
from dcplan.results import Plan, npv_usd

logger = logging.getLogger(__name__)


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


def _states_path() -> Path | None:
    path = data_dir() / "regions" / "states.geojson"
    return path if path.is_file() else None


#: the map's projection: NAD83 / Conus Albers, equal-area, so areas and distances between
#: sites are not stretched towards the north as on a longitude/latitude plot
EQUAL_AREA_CRS = "EPSG:5070"


def _project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude [degrees] to Conus Albers easting/northing [km]."""
    from pyproj import Transformer

    if not len(lon):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    to_albers = Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)
    x, y = to_albers.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x) / 1e3, np.asarray(y) / 1e3


def _site_name(plan: Plan, site_id: str) -> str:
    """The site's readable name, or its id."""
    sites = plan.sites
    for column in ("name", "site_name"):
        if column in sites.columns:
            match = sites.loc[sites["site_id"] == site_id, column]
            if len(match) and isinstance(match.iloc[0], str) and match.iloc[0]:
                return match.iloc[0]
    return site_id


def plot_site_map(plan: Plan, ax: Axes | None = None) -> Figure:
    """Candidate and chosen sites on a map of state boundaries.

    Drawn in the Conus Albers equal-area projection (EPSG:5070). Candidates are small grey
    dots; chosen sites are circles sized by their final IT capacity, coloured by their main
    cooling technology and labelled with their name and MW. State boundaries come from
    ``data/regions/states.geojson`` when it is shipped.

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
    fig, ax = _axes(ax, (9.0, 5.8))
    sites = plan.sites
    x, y = _project(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    pad = 150.0
    xlim = (np.nanmin(x) - pad, np.nanmax(x) + pad) if len(sites) else (-2400.0, 2300.0)
    ylim = (np.nanmin(y) - pad, np.nanmax(y) + pad) if len(sites) else (250.0, 3200.0)
    # keep a readable regional context even when all sites sit in one county
    if xlim[1] - xlim[0] < 1000:
        mid = sum(xlim) / 2
        xlim = (mid - 500, mid + 500)
    if ylim[1] - ylim[0] < 650:
        mid = sum(ylim) / 2
        ylim = (mid - 325, mid + 325)

    states = _states_path()
    if states is not None:
        import geopandas as gpd

        try:
            boundaries = gpd.read_file(states)
            if boundaries.crs is None:
                boundaries = boundaries.set_crs(4326)
            boundaries = boundaries.to_crs(EQUAL_AREA_CRS)
            boundaries.geometry = boundaries.geometry.scale(1e-3, 1e-3, origin=(0, 0))
            boundaries.plot(ax=ax, facecolor="#f7f7f4", edgecolor="#9a9a9a", linewidth=0.5,
                            gid="states")
        except (OSError, ValueError, RuntimeError):  # unreadable file: context only
            logger.warning("could not draw %s", states, exc_info=True)
    ax.set_facecolor("#eef3f7" if states is not None else "white")

    chosen_mask = sites["chosen"].astype(bool).to_numpy() if "chosen" in sites else np.zeros(len(sites), bool)
    ax.scatter(x[~chosen_mask], y[~chosen_mask], s=10, color=_CANDIDATE_COLOR,
               edgecolor="none", label=f"candidate ({(~chosen_mask).sum()})", zorder=3,
               gid="candidates")
    chosen = sites[chosen_mask]
    cx, cy = x[chosen_mask], y[chosen_mask]
    if len(chosen):
        mw = (chosen["it_capacity_mw"].astype(float).fillna(0).to_numpy() if "it_capacity_mw" in chosen
              else np.ones(len(chosen)))
        size = 40 + 460 * mw / max(mw.max(), 1e-9)
        cooling = (chosen["cooling"].astype(str).to_numpy() if "cooling" in chosen
                   else np.array(["?"] * len(chosen)))
        for tech in dict.fromkeys(cooling):
            sel = cooling == tech
            ax.scatter(cx[sel], cy[sel], s=size[sel],
                       color=cooling_color(tech), alpha=0.85, edgecolor="black", linewidth=0.6,
                       label=f"chosen: {_cooling_label(tech)}", zorder=4, gid="chosen")
        for px, py, site_id, value in zip(cx, cy, chosen["site_id"], mw, strict=True):
            ax.annotate(f"{_site_name(plan, str(site_id))}\n{value:,.0f} MW", (px, py), xytext=(6, 6),
                        textcoords="offset points", fontsize=7, zorder=5, gid="site_label")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("easting [km], Conus Albers equal-area projection (EPSG:5070)")
    ax.set_ylabel("northing [km]")
    ax.set_title(f"Sites: {len(chosen)} of {len(sites)} candidates chosen")
    ax.legend(loc="lower left", fontsize=8, markerscale=0.6, framealpha=0.9)
    return fig


def plot_buildout_timeline(plan: Plan, ax: Axes | None = None) -> Figure:
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
                # on the row itself, centred on its bar, so it cannot be read as the next row's
                ax.text(year, row, f"{total:,.0f}", ha="center", va="center", fontsize=6.5,
                        color="#1d1d1d", gid="mw_label",
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7,
                              "edgecolor": "none"})
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


def plot_capacity_vs_target(plan: Plan, ax: Axes | Sequence[Axes] | None = None) -> Figure:
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
            online_pf = pflops.sum(axis=1).reindex(years, fill_value=0).to_numpy()
            pax.bar(years, missing_pf.to_numpy() / 1e3, bottom=online_pf / 1e3,
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


def plot_resources(plan: Plan, ax: Axes | Sequence[Axes] | None = None) -> Figure:
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


def _shortfall_penalty_npv(ds: xr.Dataset, costs_npv: float) -> float:
    """Discounted penalty for missed targets [USD]; 0 for hard targets."""
    penalty = float(ds.attrs.get("shortfall_penalty_usd_per_gpu", 0.0) or 0.0)
    shortfall = _var(ds, "shortfall_gpus")
    if penalty <= 0 or shortfall is None:
        return 0.0
    # the plan's own objective arithmetic, so the waterfall cannot drift from it
    return max(npv_usd(ds) - costs_npv, 0.0)


def plot_cost_breakdown(plan: Plan, ax: Axes | Sequence[Axes] | None = None) -> Figure:
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


def _wrapped(text: str, width: int = 58) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def plot_binding_constraints(plan: Plan, ax: Axes | None = None, limit: int = 15) -> Figure:
    """The binding constraints a planner can act on, ranked by shadow price, one panel per unit.

    Each bar is one constraint family and year that binds at an opened site, an installed
    cooling or a chosen interconnection (or fleet-wide); its length is the change in net
    present cost for one more unit of that limit. Limits in different units (USD per MW,
    USD per thousand GPUs...) get separate panels so no axis mixes them; labels are written
    in full. Plans without shadow prices get a figure that says so.

    Parameters
    ----------
    plan : Plan
    ax : matplotlib.axes.Axes, optional
        Drawn into (split into one panel per unit) when given.
    limit : int
        Most bars to draw in all.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _binding_rows(plan, limit)
    if rows is None or rows.empty:
        fig, ax = _axes(ax, (10.0, 2.6))
        ax.set_xlabel("shadow price [USD of net present cost per unit of the limit]")
        _empty_note(ax, "shadow prices are not available for this plan" if rows is None
                    else "no constraint binds with a non-zero shadow price")
        ax.set_yticks([])
        return fig
    units = [str(u) if isinstance(u, str) else "" for u in rows.get("unit", pd.Series([""] * len(rows)))]
    rows = rows.assign(unit=units)
    groups = list(dict.fromkeys(rows["unit"]))  # in order of their largest price
    heights = [len(rows[rows["unit"] == u]) for u in groups]
    if ax is None:
        fig = Figure(figsize=(11.0, 1.2 + 0.62 * sum(heights) + 0.9 * len(groups)), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(len(groups), 1, gridspec_kw={"height_ratios": heights})))
    else:
        fig, axes = _panels(ax, len(groups), (11.0, 4.0))
    for axis, unit in zip(axes, groups, strict=True):
        part = rows[rows["unit"] == unit]
        labels = []
        for _, row in part.iterrows():
            meaning = _plain_meaning(row)
            place = str(row.get("where") or "")
            text = f"{_constraint_label(row)}: {meaning}" if meaning else _constraint_label(row)
            labels.append(_wrapped(text + (f" ({place})" if place else "")))
        positions = np.arange(len(part))
        sizes = part["size"].to_numpy(dtype=float)
        axis.barh(positions, sizes, color="#4c72b0", gid="shadow_prices")
        for y, value in zip(positions, sizes, strict=True):
            axis.text(value, y, f" {_usd_short(value)}", va="center", fontsize=7.5)
        axis.set_yticks(positions, labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_xlim(0, sizes.max() * 1.2)
        axis.xaxis.set_major_formatter(lambda value, _pos: _usd_short(value))
        words = _unit_words(unit)
        axis.set_xlabel(f"shadow price [USD of net present cost per {words or 'unit'}]", fontsize=8)
        axis.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        axis.set_axisbelow(True)
    axes[0].set_title("What limits the plan: binding constraints a planner can act on, by shadow price")
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: file stem, drawing function, and caption builder."""

    name: str
    title: str
    draw: Callable[[Plan], Figure]
    caption: Callable[[Plan], str]


def _caption_map(plan: Plan) -> str:
    chosen = _chosen(plan)
    return (f"Candidate sites (grey) and the {len(chosen)} chosen of {len(plan.sites)}, sized by "
            "final IT capacity [MW] and coloured by cooling technology.")


def _caption_timeline(plan: Plan) -> str:
    return ("When each site's IT capacity comes online: one row per site, one cell per year, "
            "split by cooling technology and labelled with installed IT MW.")


def _caption_capacity(plan: Plan) -> str:
    return ("GPUs online by chip against the fleet target (black step; red hatching marks any "
            "shortfall), and installed IT capacity [MW] by cooling technology.")


def _caption_resources(plan: Plan) -> str:
    return "Facility energy [GWh], on-site water [thousand m³] and CO₂e [kt] per year, by site."


def _caption_costs(plan: Plan) -> str:
    return ("Undiscounted capex and opex per year [billion USD], and how the discounted parts "
            "add up to the net present cost.")


def _caption_binding(plan: Plan) -> str:
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
