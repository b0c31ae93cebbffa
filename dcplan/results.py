"""The Plan: what to build where and when, with units, an audit and atomic output files.

``Plan.dataset`` is an xr.Dataset with a ``units`` and ``long_name`` on every variable and
the inputs stored under an ``in_`` prefix, so that :meth:`Plan.audit` can re-check every
constraint family from the file alone (numpy/xarray, no Pyomo).
"""

from __future__ import annotations

import html
import importlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from dcplan import power_plan

logger = logging.getLogger(__name__)

ENGINE = "netcdf4"
DIMS5 = ("site", "chip", "cooling", "option", "year")

#: output variables: dims, units, long_name
OUTPUTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "site_open": (("site",), "1", "site opened by the last year"),
    "site_active": (("site", "year"), "1", "site open (opening cost paid) by the year"),
    "it_capacity_mw": (("site", "cooling", "year"), "MW", "installed IT capacity"),
    "gpus": (("site", "chip", "cooling", "year"), "GPU", "GPUs online"),
    "gpus_new": (("site", "chip", "cooling", "year"), "GPU", "GPUs deployed in the year"),
    "interconnect_option": (("site", "option"), "1", "interconnect option chosen"),
    "interconnect_active": (("site", "option", "year"), "1", "interconnect option built (cost paid) by the year"),
    "interconnect_option_mw": (("site", "option", "year"), "MW", "interconnect MW energised per option"),
    "interconnect_mw": (("site", "year"), "MW", "interconnect MW energised"),
    "facility_peak_mw": (("site", "year"), "MW", "facility peak power of the GPUs online"),
    "energy_mwh": (("site", "year"), "MWh", "facility energy"),
    "water_m3": (("site", "year"), "m**3", "on-site water"),
    "co2_t": (("site", "year"), "t", "CO2 of the facility energy"),
    "capex_usd": (("site", "year"), "USD", "capital spent in the year (cash)"),
    "capital_npv_usd": (("site", "year"), "USD", "net present cost charged for the capital bought in the year"),
    "opex_usd": (("site", "year"), "USD", "operating cost (energy, water, fixed O&M, carbon price)"),
    "capex_gpus_usd": (("site", "year"), "USD", "capital spent on GPUs"),
    "capex_facility_usd": (("site", "cooling", "year"), "USD", "capital spent on the facility, by cooling"),
    "capex_interconnect_usd": (("site", "year"), "USD", "capital spent on the grid interconnection"),
    "capex_site_usd": (("site", "year"), "USD", "capital spent opening the site"),
    "shortfall_gpus": (("chip", "year"), "GPU", "GPUs short of target_gpus"),
    "shortfall_pflops": (("year",), "PFLOPS", "PFLOPS short of target_pflops"),
    "levelised_usd_per_gpu_hour": (("site",), "USD/GPU/h", "net present cost per discounted GPU-hour online"),
}

HOURS_PER_YEAR = 8760.0

_INPUT_DEFAULT_UNITS = {"compatible": "1", "target_chip_allowed": "1"}

#: columns of the shadow-price table (:meth:`Plan.shadow_prices`); computed at solve time by
#: :func:`dcplan.optimize.duals.shadow_price_table` and stored in the plan
DUAL_COLUMNS = ["family", "constraint", "year", "dual", "usd_per_unit", "where", "unit", "binding",
                "meaning", "actionable"]


# ----------------------------------------------------------------------------- flows
def _in(ds: xr.Dataset, name: str) -> xr.DataArray:
    return ds[f"in_{name}"]


def _added(cumulative: xr.DataArray) -> xr.DataArray:
    """What a cumulative quantity gains in each year (the first year counts in full)."""
    cumulative = cumulative.astype(float)
    return cumulative - cumulative.shift(year=1, fill_value=0.0)


def capex_parts(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Capital spent by category [USD]: the plan's decisions times the input coefficients.

    ``capex_gpus_usd`` (site, year): GPUs deployed x price; ``capex_facility_usd`` (site,
    cooling, year): IT MW added x facility capex of the cooling; ``capex_interconnect_usd``
    (site, year): the option's cost in the year it is built; ``capex_site_usd`` (site, year):
    the opening cost in the year the site opens. They add up to ``capex_usd`` (cash).
    """
    return {
        "capex_gpus_usd": (ds["gpus_new"] * _in(ds, "gpu_capex_usd")).sum(("chip", "cooling")),
        "capex_facility_usd": _added(ds["it_capacity_mw"]) * _in(ds, "facility_capex_usd_per_mw"),
        "capex_interconnect_usd": (_added(ds["interconnect_active"]) * _in(ds, "ic_capex_usd")).sum("option"),
        "capex_site_usd": _added(ds["site_active"]) * _in(ds, "site_open_usd"),
    }


def compute_flows(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Peak, energy, water, CO2, capex (cash and NPV charged) and opex per site and year."""
    g = ds["gpus"]
    energy = (g * _in(ds, "facility_mwh_per_gpu_year")).sum(("chip", "cooling"))
    water = (g * _in(ds, "water_m3_per_gpu_year")).sum(("chip", "cooling"))
    peak = (g * _in(ds, "facility_peak_kw_per_gpu")).sum(("chip", "cooling")) / 1e3
    co2 = energy * _in(ds, "co2_t_per_mwh")
    cap = ds["it_capacity_mw"]
    facility = _added(cap) * _in(ds, "facility_capex_usd_per_mw")
    gpus = ds["gpus_new"] * _in(ds, "gpu_capex_usd")
    opening = _added(ds["site_active"]) * _in(ds, "site_open_usd")
    interconnect = _added(ds["interconnect_active"]) * _in(ds, "ic_capex_usd")
    capex = facility.sum("cooling") + gpus.sum(("chip", "cooling")) + opening + interconnect.sum("option")
    capital_npv = (
        (facility * _in(ds, "capital_factor_facility")).sum("cooling")
        + (gpus * _in(ds, "capital_factor_gpu")).sum(("chip", "cooling"))
        + opening * _in(ds, "capital_factor_site")
        + (interconnect * _in(ds, "capital_factor_interconnect")).sum("option")
    )
    opex = (
        energy * (_in(ds, "electricity_usd_per_mwh") + _in(ds, "carbon_price_usd_per_t") * _in(ds, "co2_t_per_mwh"))
        + water * _in(ds, "water_usd_per_m3")
        + (cap * _in(ds, "fixed_om_usd_per_mw_yr")).sum("cooling")
    )
    return {"facility_peak_mw": peak, "energy_mwh": energy, "water_m3": water, "co2_t": co2,
            "capex_usd": capex, "capital_npv_usd": capital_npv, "opex_usd": opex}


def levelised_cost(ds: xr.Dataset) -> tuple[xr.DataArray, float]:
    """Net present cost per discounted GPU-hour online, by site and for the fleet [USD/GPU/h].

    Cost: capital charged (the study's capital method) plus discounted opex; the shortfall
    penalty is left out (it buys no GPU-hour). NaN where a site has no GPU online.
    """
    df = _in(ds, "discount_factor")
    cost = ds["capital_npv_usd"].sum("year") + (ds["opex_usd"] * df).sum("year")
    hours = (ds["gpus"].sum(("chip", "cooling")) * df).sum("year") * HOURS_PER_YEAR
    by_site = (cost / hours.where(hours > 0)).rename("levelised_usd_per_gpu_hour")
    total_hours = float(hours.sum())
    fleet = float(cost.sum()) / total_hours if total_hours > 0 else float("nan")
    return by_site, fleet


def npv_usd(ds: xr.Dataset) -> float:
    """Objective recomputed from the plan: capital charged + NPV of opex and penalty [USD]."""
    df = _in(ds, "discount_factor")
    total = float(ds["capital_npv_usd"].sum()) + float((ds["opex_usd"].sum("site") * df).sum())
    penalty = float(ds.attrs.get("shortfall_penalty_usd_per_gpu", 0.0) or 0.0)
    if penalty > 0:
        dense = _in(ds, "dense_pflops")
        pflops = dense.where(_in(ds, "target_chip_allowed").astype(bool) & (dense > 0))
        per_pf = penalty / float(pflops.min()) if bool(pflops.notnull().any()) else penalty
        total += float((ds["shortfall_gpus"].sum("chip") * df).sum()) * penalty
        total += float((ds["shortfall_pflops"] * df).sum()) * per_pf
    from dcplan import fleet_levers

    return total + power_plan.power_npv_usd(ds) + fleet_levers.cost_usd(ds)


def duals_to_dataset(table: pd.DataFrame) -> xr.Dataset:
    """The shadow-price table as ``dual_*`` variables along ``dual_row`` (for plan.nc)."""
    row = np.arange(len(table))
    units = {"dual": "MUSD per model unit of the row", "usd_per_unit": "USD per unit of the row"}
    out = {}
    for column in DUAL_COLUMNS:
        values = table[column].to_numpy() if column in table else np.zeros(len(table))
        if column in ("family", "constraint", "where", "unit", "meaning"):
            values = values.astype(str)
        elif column == "actionable":
            values = values.astype(np.int8)
        elif column in ("year", "binding"):
            values = values.astype(np.int64)
        else:
            values = values.astype(float)
        out[f"dual_{column}"] = xr.DataArray(
            values, dims=("dual_row",),
            attrs={"units": units.get(column, "1"), "long_name": f"shadow prices: {column}"})
    return xr.Dataset(out, coords={"dual_row": row})


def duals_from_dataset(dataset: xr.Dataset) -> pd.DataFrame | None:
    """The table stored by :func:`duals_to_dataset`, or None when the plan has none."""
    if "dual_constraint" not in dataset:
        return None
    frame = pd.DataFrame({c: dataset[f"dual_{c}"].values for c in DUAL_COLUMNS if f"dual_{c}" in dataset})
    for column in ("family", "constraint", "where", "unit", "meaning"):
        if column in frame:
            frame[column] = frame[column].astype(str)
    if "actionable" in frame:
        frame["actionable"] = frame["actionable"].astype(bool)
    return frame.reindex(columns=DUAL_COLUMNS)


# ----------------------------------------------------------------------------- audit
@dataclass(frozen=True)
class Violation:
    """One constraint element the plan breaks beyond tolerance."""

    family: str
    constraint: str
    where: dict
    value: float
    limit: float

    def __str__(self) -> str:
        at = ", ".join(f"{k}={v}" for k, v in self.where.items())
        return f"{self.constraint}[{at}]: {self.value:,.6g} vs limit {self.limit:,.6g}"


@dataclass
class AuditReport:
    """Result of :meth:`Plan.audit`: every violation found, and the families checked."""

    violations: list[Violation] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def families(self) -> set[str]:
        return {v.family for v in self.violations}

    def to_dict(self) -> dict:
        return {"ok": self.ok, "violations": len(self.violations), "checked": list(self.checked),
                "families": sorted(self.families()), "details": [str(v) for v in self.violations[:20]]}

    def __repr__(self) -> str:
        if self.ok:
            return f"AuditReport(ok, {len(self.checked)} families checked)"
        head = "\n".join(f"  {v}" for v in self.violations[:10])
        return f"AuditReport({len(self.violations)} violations in {sorted(self.families())}):\n{head}"


class _Auditor:
    def __init__(self, ds: xr.Dataset, rtol: float):
        self.ds = ds
        self.rtol = rtol
        self.report = AuditReport()

    def check(self, family, constraint, value, limit, sense="le", atol=1e-3):
        """Record elements where ``value`` (sense) ``limit`` fails beyond atol + rtol*|limit|."""
        if family not in self.report.checked:
            self.report.checked.append(family)
        value, limit = xr.broadcast(xr.DataArray(value).astype(float), xr.DataArray(limit).astype(float))
        tol = atol + self.rtol * np.abs(limit.values)
        v, lim = value.values, limit.values
        with np.errstate(invalid="ignore"):
            if sense == "le":
                bad = v > lim + tol
            elif sense == "ge":
                bad = v < lim - tol
            else:
                bad = np.abs(v - lim) > tol
        if bad.ndim == 0:
            if bad:
                self.report.violations.append(Violation(family, constraint, {}, float(v), float(lim)))
            return
        for idx in zip(*np.nonzero(bad), strict=False):
            where = {d: _plain(value[d].values[i]) for d, i in zip(value.dims, idx, strict=False)}
            self.report.violations.append(Violation(family, constraint, where, float(v[idx]), float(lim[idx])))


def _plain(x):
    return x.item() if hasattr(x, "item") else x


def audit_dataset(ds: xr.Dataset, *, rtol: float = 1e-6) -> AuditReport:
    """Re-check every constraint family of a plan dataset from its outputs and ``in_`` inputs."""
    a = _Auditor(ds, rtol)
    attrs = ds.attrs
    skip = set(filter(None, str(attrs.get("skip", "")).split(",")))
    g, gn = ds["gpus"], ds["gpus_new"]
    cap = ds["it_capacity_mw"]
    year = ds["year"]
    block = float(attrs["block_mw"])
    eps_gpu = 0.5  # GPUs are continuous in the model; half a GPU is below any planning meaning

    a.check("nonnegative", "gpus_nonnegative", g, 0.0, "ge", eps_gpu)
    a.check("nonnegative", "gpus_new_nonnegative", gn, 0.0, "ge", eps_gpu)
    # stock = deployments of the last service_life_yr vintages
    life = _in(ds, "service_life_yr").round().astype(int)
    window = xr.zeros_like(g)
    for c in ds["chip"].values:
        L = int(life.sel(chip=c))
        cs = gn.sel(chip=c).cumsum("year")
        window.loc[{"chip": c}] = cs - cs.shift(year=L, fill_value=0.0)
    if "gpu_stock" not in skip:
        a.check("gpu_stock", "gpu_stock_balance", g, window, "eq", eps_gpu)
    # targets
    penalty = float(attrs.get("shortfall_penalty_usd_per_gpu", 0.0) or 0.0)
    if "target" not in skip:
        fleet = g.sum(("site", "cooling"))
        a.check("target", "target_gpus_min", fleet + ds["shortfall_gpus"], _in(ds, "target_gpus"), "ge", eps_gpu)
        pf = (fleet * _in(ds, "dense_pflops") * _in(ds, "target_chip_allowed").astype(float)).sum("chip")
        a.check("target", "target_pflops_min", pf + ds["shortfall_pflops"], _in(ds, "target_pflops"), "ge", 1e-3)
        if penalty <= 0:
            a.check("target", "shortfall_hard_target", ds["shortfall_gpus"], 0.0, "le", eps_gpu)
    # where GPUs may go
    if "compatibility" not in skip:
        a.check("compatibility", "gpus_compatible", g.where(~_in(ds, "compatible").astype(bool), 0.0), 0.0, "le",
                eps_gpu)
    if "chip_first_year" not in skip:
        a.check("chip_first_year", "gpus_on_sale", g.where(year < _in(ds, "first_year"), 0.0), 0.0, "le", eps_gpu)
    if "it_capacity" not in skip:
        load = (g * _in(ds, "it_kw_per_gpu")).sum("chip") / 1e3
        a.check("it_capacity", "it_capacity_max", load, cap, "le")
    a.check("it_capacity", "it_blocks_integer", np.abs(cap / block - np.round(cap / block)) * block, 0.0, "le")
    if "it_monotone" not in skip:
        a.check("it_monotone", "it_blocks_monotone", cap, cap.shift(year=1, fill_value=0.0), "ge")
    if "permit" not in skip:
        a.check("permit", "it_earliest_year", cap.where(year < _in(ds, "it_earliest_year"), 0.0), 0.0, "le")
    total_it = cap.sum("cooling")
    if "build_rate" not in skip:
        a.check("build_rate", "build_rate_max", total_it - total_it.shift(year=1, fill_value=0.0),
                _in(ds, "max_build_mw_per_yr"), "le")
    if "land" not in skip:
        a.check("land", "land_max", total_it, _in(ds, "land_mw"), "le")
    opened = ds["site_open"].astype(bool)
    active = ds["site_active"].astype(bool)
    a.check("accounting", "site_open_is_last_active", opened.astype(float), active.isel(year=-1).astype(float),
            "eq", 0.5)
    if "site_open" not in skip:
        a.check("site_open", "site_open_capacity", total_it.where(~active, 0.0), 0.0, "le")
        a.check("site_open", "site_active_monotone", active.astype(float),
                active.astype(float).shift(year=1, fill_value=0.0), "ge", 0.5)
    if "site_count" not in skip:
        n_open = xr.DataArray(float(opened.sum()))
        lo = float(attrs.get("min_sites", 0) or 0)
        hi = attrs.get("max_sites", ds.sizes["site"])
        hi = float(ds.sizes["site"] if hi is None else hi)
        a.check("site_count", "sites_min", n_open, lo, "ge", 0.5)
        a.check("site_count", "sites_max", n_open, hi, "le", 0.5)
    flows = compute_flows(ds)
    if "facility_peak" not in skip:  # grid MW, plus flexible and bridge MW where the levers are on
        a.check("facility_peak", "facility_peak_max", flows["facility_peak_mw"],
                ds["interconnect_mw"] + power_plan.power_supply_mw(ds), "le")
    icm = ds["interconnect_option_mw"]
    sel = ds["interconnect_option"].astype(bool)
    ic_on = ds["interconnect_active"].astype(bool)
    a.check("accounting", "interconnect_option_is_last_active", sel.astype(float),
            ic_on.isel(year=-1).astype(float), "eq", 0.5)
    a.check("interconnect", "interconnect_mw_sum", ds["interconnect_mw"], icm.sum("option"), "eq")
    if "ic_lead" not in skip:
        a.check("ic_lead", "ic_earliest_year", icm.where(year < _in(ds, "ic_earliest_year"), 0.0), 0.0, "le")
    prev = icm.shift(year=1, fill_value=0.0)
    if "ic_phase" not in skip:
        a.check("ic_phase", "ic_phase_max", icm - prev, _in(ds, "ic_phase_mw_per_yr"), "le")
    if "ic_monotone" not in skip:
        a.check("ic_monotone", "ic_mw_monotone", icm, prev, "ge")
    if "ic_capacity" not in skip:
        a.check("ic_capacity", "ic_capacity_max", icm, _in(ds, "ic_capacity_mw") * ic_on, "le")
    if "ic_choice" not in skip:
        limit = opened.astype(float) if "site_open" not in skip else 1.0
        a.check("ic_choice", "ic_choice_max", sel.sum("option"), limit, "le", 0.5)
        a.check("ic_choice", "ic_active_monotone", ic_on.astype(float),
                ic_on.astype(float).shift(year=1, fill_value=0.0), "ge", 0.5)
    if "water_cap" not in skip:
        a.check("water_cap", "water_cap_max", flows["water_m3"], _in(ds, "water_cap_m3_per_yr"), "le", 1.0)
    if "capex_budget" not in skip:
        a.check("capex_budget", "capex_budget_max",
                flows["capex_usd"].sum("site") + power_plan.capex_cash_usd(ds), _in(ds, "capex_budget_usd"),
                "le", 1.0)
    if "carbon_cap" not in skip:
        a.check("carbon_cap", "carbon_cap_max", flows["co2_t"].sum("site") + power_plan.carbon_delta_t(ds),
                _in(ds, "carbon_cap_t"), "le", 1e-3)
    share = float(attrs.get("max_iso_share", 1.0) or 1.0)
    if "iso_share" not in skip and 0 < share < 1 and "iso" in ds.coords:
        by_iso = total_it.groupby(ds["iso"].rename("iso_region")).sum()
        a.check("iso_share", "iso_share_max", by_iso, share * total_it.sum("site"), "le")
    power_plan.audit_power(a, ds, skip)
    from dcplan import fleet_levers

    fleet_levers.audit_fleet(a, ds, skip)  # the fleet levers' rows, where the study has them
    # stored outputs agree with what they are derived from
    for name, value in flows.items():
        atol = 1.0 if name.endswith(("_usd", "_m3")) else 1e-3
        a.check("accounting", f"{name}_consistent", ds[name], value, "eq", atol)
    objective = float(attrs.get("objective_usd", np.nan))
    if np.isfinite(objective):
        a.check("accounting", "objective_consistent", xr.DataArray(npv_usd(ds)), objective, "eq", 1e3)
    return a.report


# ------------------------------------------------------------------------------ views
#: The package that draws plans. Like pandas' plotting backend, the data layer knows only its
#: name: the package registers its functions with :func:`register_view` when imported, and
#: the Plan's notebook shortcuts load it on first use. Plan never imports the drawing code.
VIEW_BACKEND = "dcplan.report"
_VIEWS: dict[str, Callable] = {}


def register_view(name: str, func: Callable) -> None:
    """Make ``func(plan, ...)`` the implementation of ``Plan.<name>(...)``."""
    _VIEWS[name] = func


def _view(name: str) -> Callable:
    if name not in _VIEWS:
        importlib.import_module(VIEW_BACKEND)
    return _VIEWS[name]


# ------------------------------------------------------------------------------ Plan
class Plan:
    """A solved build-out plan.

    Attributes
    ----------
    dataset : xr.Dataset
        Decisions and flows with ``units`` attrs, inputs under ``in_``, run facts in attrs.
    sites : geopandas.GeoDataFrame
        One row per candidate site (EPSG:4326) with ``chosen``, ``first_year``,
        ``it_capacity_mw``, ``cooling``, ``interconnect_option``, ``ic_kv``.
    """

    def __init__(self, dataset: xr.Dataset):
        self.dataset = dataset
        self._sites = None
        self._audit: AuditReport | None = None
        self._shadow: pd.DataFrame | None = None

    # ---- construction
    @classmethod
    def from_solution(cls, sm, x: np.ndarray, meta: dict, *, study_yaml: str | None = None) -> Plan:
        """Build the Plan from a SitingModel and its column values (model units)."""
        inputs = sm.inputs
        coords = {d: inputs[d] for d in DIMS5}

        def arr(name, dims, scale=1.0, rounding=False):
            if name not in sm.variables:
                return np.zeros([inputs.sizes[d] for d in dims])
            values = sm.values(x, name) * scale
            if rounding:
                values = np.round(values)
            values = np.maximum(values, 0.0)
            axes = tuple(i for i, d in enumerate(DIMS5) if d not in dims)
            return values.squeeze(axis=axes) if axes else values

        block = float(inputs.attrs["block_mw"])
        active = arr("site_active", ("site", "year"), rounding=True) > 0.5
        ic_active = arr("ic_active", ("site", "option", "year"), rounding=True) > 0.5
        data = {
            "site_open": active[:, -1],
            "site_active": active,
            "it_capacity_mw": arr("it_blocks", ("site", "cooling", "year"), rounding=True) * block,
            "gpus": arr("gpus", ("site", "chip", "cooling", "year"), 1e3),
            "gpus_new": arr("gpus_new", ("site", "chip", "cooling", "year"), 1e3),
            "interconnect_option": ic_active[:, :, -1],
            "interconnect_active": ic_active,
            "interconnect_option_mw": arr("ic_mw", ("site", "option", "year")),
            "shortfall_gpus": arr("shortfall_gpus", ("chip", "year"), 1e3),
            "shortfall_pflops": arr("shortfall_pflops", ("year",), 1e3),
        }
        ds = xr.Dataset({k: (OUTPUTS[k][0], v) for k, v in data.items()},
                        coords={**coords, **{c: inputs[c] for c in inputs.coords if c not in coords}})
        ds["interconnect_mw"] = ds["interconnect_option_mw"].sum("option")
        for name in inputs.data_vars:
            ds[f"in_{name}"] = inputs[name]
        attrs = {k: v for k, v in inputs.attrs.items() if _attr_ok(v)}
        attrs["inputs_attrs_json"] = json.dumps({k: _jsonable(v) for k, v in inputs.attrs.items()})
        attrs.update({k: _attr_value(v) for k, v in meta.items()})
        attrs["study_yaml"] = study_yaml or ""
        ds.attrs = attrs
        for name, value in {**compute_flows(ds), **capex_parts(ds)}.items():
            ds[name] = value.transpose(*OUTPUTS[name][0])
        power_plan.add_power_outputs(ds, sm, x)
        by_site, fleet = levelised_cost(ds)
        ds["levelised_usd_per_gpu_hour"] = by_site
        ds.attrs["levelised_usd_per_gpu_hour"] = fleet
        _stamp(ds)
        from dcplan import fleet_levers

        ds = fleet_levers.plan_outputs(sm, x, ds)  # fleet levers the study turned on (if any)
        return cls(ds)

    @property
    def inputs(self) -> xr.Dataset:
        """The inputs Dataset the plan was solved from (``in_`` prefix removed)."""
        names = [v for v in self.dataset.data_vars if v.startswith("in_")]
        ds = self.dataset[names].rename({v: v[3:] for v in names})
        ds.attrs = json.loads(self.dataset.attrs.get("inputs_attrs_json", "{}"))
        for k in ("block_mw",):
            ds.attrs.setdefault(k, self.dataset.attrs.get(k))
        return ds

    # ---- run facts
    @property
    def status(self) -> str:
        """HiGHS's verdict: ``optimal`` (within the gap) or ``time_limit`` (a feasible plan, gap open)."""
        return str(self.dataset.attrs.get("status", ""))

    @property
    def objective_usd(self) -> float:
        """Net present cost of the plan [USD]."""
        return float(self.dataset.attrs.get("objective_usd", np.nan))

    @property
    def mip_gap(self) -> float:
        """Relative gap between the plan and HiGHS's proven bound [1]."""
        return float(self.dataset.attrs.get("mip_gap", np.nan))

    def shadow_prices(self) -> pd.DataFrame | None:
        """Duals by constraint and year from the LP with this plan's integer decisions fixed.

        Computed at solve time and stored in the plan (columns :data:`DUAL_COLUMNS`); None
        for a plan that has none (e.g. a plan.nc written before they were stored, which
        :func:`dcplan.optimize.shadow_prices` can re-price).
        """
        if self._shadow is None:
            self._shadow = duals_from_dataset(self.dataset)
        return self._shadow

    def set_shadow_prices(self, table: pd.DataFrame) -> None:
        """Store the shadow-price table (columns :data:`DUAL_COLUMNS`) in the plan's dataset."""
        stored = self.dataset.drop_vars([v for v in self.dataset.variables if str(v).startswith("dual_")])
        self.dataset = stored.merge(duals_to_dataset(table), combine_attrs="override")
        self._shadow = None

    # ---- figures: notebook shortcuts drawn by the view backend (dcplan.report)
    def plot_site_map(self, ax=None):
        """Candidate and chosen sites on a US map, sized by IT MW, coloured by cooling."""
        return _view("plot_site_map")(self, ax=ax)

    def plot_buildout(self, ax=None):
        """IT MW commissioned per site and year."""
        return _view("plot_buildout")(self, ax=ax)

    def plot_capacity(self, ax=None):
        """GPUs and IT capacity online against the fleet target."""
        return _view("plot_capacity")(self, ax=ax)

    def plot_resources(self, ax=None):
        """Energy, peak power, water and CO2 by year."""
        return _view("plot_resources")(self, ax=ax)

    def plot_costs(self, ax=None):
        """Capex by category and opex by year."""
        return _view("plot_costs")(self, ax=ax)

    def plot_binding_constraints(self, ax=None, limit: int = 15):
        """The binding constraints and their shadow prices (LP with the decisions fixed)."""
        return _view("plot_binding_constraints")(self, ax=ax, limit=limit)

    def write_report(self, out_dir) -> Path:
        """Write the figures and a self-contained index.html into ``out_dir``."""
        return _view("write_report")(self, out_dir)

    # ---- views
    @property
    def sites(self):
        """GeoDataFrame of every candidate with what the plan does there."""
        if self._sites is None:
            self._sites = self._build_sites()
        return self._sites

    def _build_sites(self):
        import geopandas as gpd

        ds = self.dataset
        frame = pd.DataFrame({"site_id": ds["site"].values.astype(str)})
        for name, coord in ds.coords.items():
            if coord.dims == ("site",) and name != "site":
                frame[name] = coord.values
        cap = ds["it_capacity_mw"]
        total = cap.sum("cooling")
        online = total > 0
        first = xr.where(online, ds["year"], np.iinfo(np.int64).max).min("year")
        frame["chosen"] = ds["site_open"].values.astype(bool)
        frame["first_year"] = pd.array(np.where(online.any("year"), first, 0), dtype="Int64")
        frame.loc[~online.any("year").values, "first_year"] = pd.NA
        last = cap.isel(year=-1)
        frame["it_capacity_mw"] = total.isel(year=-1).values
        best_k = last.argmax("cooling").values
        frame["cooling"] = np.where(last.sum("cooling").values > 0, ds["cooling"].values[best_k], "")
        sel = ds["interconnect_option"].astype(bool)
        best_o = sel.argmax("option").values
        has = sel.any("option").values
        frame["interconnect_option"] = np.where(has, ds["option"].values[best_o], "")
        kv = ds["in_ic_kv"].values[np.arange(len(best_o)), best_o] if "in_ic_kv" in ds else np.full(len(best_o), np.nan)
        frame["ic_kv"] = np.where(has, kv, np.nan)
        frame["interconnect_mw"] = ds["interconnect_mw"].isel(year=-1).values
        # time to power of what the plan chose: queue, equipment, permit and construction
        for name, var in (("ttp_queue_yr", "in_ic_queue_yr"), ("ttp_equipment_yr", "in_ic_equipment_yr")):
            if var in ds:
                frame[name] = np.where(has, ds[var].values[np.arange(len(best_o)), best_o], np.nan)
        if "in_permit_lead_time_yr" in ds:
            frame["ttp_permit_yr"] = ds["in_permit_lead_time_yr"].values
        if "in_construction_yr" in ds:
            cooling_index = {c: i for i, c in enumerate(ds["cooling"].values)}
            lead = ds["in_construction_yr"].values
            frame["ttp_construction_yr"] = [lead[cooling_index[c]] if c in cooling_index else np.nan
                                            for c in frame["cooling"]]
        if "levelised_usd_per_gpu_hour" in ds:
            frame["levelised_usd_per_gpu_hour"] = ds["levelised_usd_per_gpu_hour"].values
        frame["gpus"] = ds["gpus"].isel(year=-1).sum(("chip", "cooling")).values
        lon = frame["lon"] if "lon" in frame else np.full(len(frame), np.nan)
        lat = frame["lat"] if "lat" in frame else np.full(len(frame), np.nan)
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")

    def summary(self) -> pd.DataFrame:
        """Fleet totals by year."""
        ds = self.dataset
        out = pd.DataFrame(index=pd.Index(ds["year"].values, name="year"))
        out["sites_online"] = (ds["it_capacity_mw"].sum("cooling") > 0).sum("site").values
        out["it_capacity_mw"] = ds["it_capacity_mw"].sum(("site", "cooling")).values
        out["gpus"] = ds["gpus"].sum(("site", "chip", "cooling")).values
        out["gpus_new"] = ds["gpus_new"].sum(("site", "chip", "cooling")).values
        out["pflops"] = (ds["gpus"].sum(("site", "cooling")) * ds["in_dense_pflops"]).sum("chip").values
        for name in ("interconnect_mw", "facility_peak_mw", "energy_mwh", "water_m3", "co2_t", "capex_usd",
                     "capital_npv_usd", "opex_usd"):
            out[name] = ds[name].sum("site").values
        out["shortfall_gpus"] = ds["shortfall_gpus"].sum("chip").values
        return out

    def site_years(self) -> pd.DataFrame:
        """One row per site and year: capacity, GPUs, power, energy, water, CO2 and money."""
        ds = self.dataset
        frame = xr.Dataset({
            "it_capacity_mw": ds["it_capacity_mw"].sum("cooling"),
            "gpus": ds["gpus"].sum(("chip", "cooling")),
            "gpus_new": ds["gpus_new"].sum(("chip", "cooling")),
            **{name: ds[name] for name in ("interconnect_mw", "facility_peak_mw", "energy_mwh",
                                           "water_m3", "co2_t", "capex_usd", "opex_usd")},
        }).to_dataframe()
        frame = frame.drop(columns=[c for c in frame.columns if c in ds.coords])  # site attributes
        return frame.reset_index()

    def to_csv(self, folder) -> list[Path]:
        """Write tidy CSV tables for spreadsheets: ``years.csv`` (fleet totals by year),
        ``site_years.csv`` (one row per site and year) and ``sites.csv`` (one row per candidate).

        Column names carry their unit (``_mw``, ``_usd``, ``_m3``...). Returns the files written.
        """
        from dcplan.atomic import write_text_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sites = pd.DataFrame(self.sites.drop(columns="geometry"))
        tables = {"years.csv": self.summary().reset_index(), "site_years.csv": self.site_years(),
                  "sites.csv": sites}
        written = []
        for name, table in tables.items():
            write_text_atomic(folder / name, table.to_csv(index=False))
            written.append(folder / name)
        return written

    def audit(self, *, rtol: float = 1e-6) -> AuditReport:
        """Re-check every constraint family from the outputs and stored inputs alone."""
        self._audit = audit_dataset(self.dataset, rtol=rtol)
        return self._audit

    def summary_dict(self) -> dict:
        """Content of summary.json."""
        ds = self.dataset
        verdict = self._audit or self.audit()
        years = self.summary().reset_index()
        keys = ("status", "objective_usd", "dual_bound_usd", "bound_source", "mip_gap", "capital_cost_method",
                "levelised_usd_per_gpu_hour", "usd_per_delivered_gpu_hour", "solve_seconds",
                "start_seconds", "build_seconds",
                "handoff_seconds", "mip_rel_gap", "time_limit_s", "threads", "seed", "n_columns", "n_rows",
                "n_nonzeros")
        out = {"study": ds.attrs.get("study_name", "")}
        out.update({k: _jsonable(ds.attrs.get(k)) for k in keys})
        chosen = ds["site"].values[ds["site_open"].values.astype(bool)]
        out["sites_opened"] = int(len(chosen))
        out["sites"] = [str(s) for s in chosen]
        if "levelised_usd_per_gpu_hour" in ds:
            lcoc = ds["levelised_usd_per_gpu_hour"].sel(site=chosen)
            out["levelised_usd_per_gpu_hour_by_site"] = {str(s): _jsonable(v) for s, v in
                                                         zip(lcoc["site"].values, lcoc.values, strict=False)}
        out["years"] = [{k: _jsonable(v) for k, v in row.items()} for row in years.to_dict("records")]
        out["audit"] = verdict.to_dict()
        return out

    # ---- files
    def to_dir(self, path) -> Path:
        """Write plan.nc, sites.gpkg and summary.json into ``path``, atomically.

        Everything is written into a temporary sibling folder that is renamed into place only
        once complete; a failure leaves no folder that looks whole.
        """
        from dcplan.atomic import atomic_dir

        path = Path(path)
        with atomic_dir(path) as tmp:
            self._write_netcdf(tmp / "plan.nc")
            self._write_sites(tmp / "sites.gpkg")
            (tmp / "summary.json").write_text(json.dumps(self.summary_dict(), indent=2), encoding="utf-8")
        logger.info("plan written to %s", path)
        return path

    def _write_netcdf(self, file: Path) -> None:
        from dcplan.netcdf import write_netcdf

        write_netcdf(self.dataset, file)  # zlib level 4, ordinary permissions

    def _write_sites(self, file: Path) -> None:
        self.sites.to_file(file, driver="GPKG", layer="sites", engine="pyogrio")

    @classmethod
    def from_dir(cls, path) -> Plan:
        """Read a plan written by :meth:`to_dir`."""
        import geopandas as gpd

        path = Path(path)
        file = path / "plan.nc"
        if not file.is_file():
            msg = f"no plan.nc in {path}; is it the output folder of a finished run?"
            raise FileNotFoundError(msg)
        ds = xr.load_dataset(file, engine=ENGINE)
        for name in ("site_open", "site_active", "interconnect_option", "interconnect_active",
                     "in_compatible", "in_target_chip_allowed"):
            if name in ds and ds[name].dtype != bool:
                ds[name] = ds[name].astype(bool)
        plan = cls(ds)
        gpkg = path / "sites.gpkg"
        if gpkg.is_file():
            plan._sites = gpd.read_file(gpkg, engine="pyogrio")
        return plan

    # ---- display
    def __repr__(self) -> str:
        a = self.dataset.attrs
        n_open = int(self.dataset["site_open"].sum())
        y = self.dataset["year"].values
        npv_bn = float(a.get("objective_usd", np.nan)) / 1e9
        return (f"<Plan {a.get('study_name', '')!s}: {a.get('status', '?')}, NPV ${npv_bn:,.2f} bn, "
                f"gap {float(a.get('mip_gap', np.nan)):.2%}, {n_open} of {self.dataset.sizes['site']} sites, "
                f"{y[0]}-{y[-1]}>")

    def _repr_html_(self) -> str:
        table = self.summary()[["sites_online", "it_capacity_mw", "gpus", "facility_peak_mw", "capex_usd", "opex_usd"]]
        return f"<p><b>{html.escape(repr(self))}</b></p>" + table.to_html(float_format=lambda v: f"{v:,.0f}")


# ---------------------------------------------------------------------------- helpers
def _stamp(ds: xr.Dataset) -> None:
    for name, (_, unit, long_name) in OUTPUTS.items():
        if name in ds:
            ds[name].attrs.update(units=unit, long_name=long_name)
    for name in ds.data_vars:
        if name.startswith("in_"):
            attrs = ds[name].attrs
            attrs.setdefault("units", _INPUT_DEFAULT_UNITS.get(name[3:], "1"))
            attrs.setdefault("long_name", name[3:].replace("_", " "))


def _attr_ok(v) -> bool:
    return isinstance(v, (str, int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _attr_value(v):
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return ""
    return v


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.bool_):
        return bool(v)
    return v
