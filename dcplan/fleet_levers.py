"""Fleet levers of time to power, the plan-data half: inputs, outputs, audit, shifted targets.

The rows live in :mod:`dcplan.optimize.levers_fleet`; this module holds what needs no
optimiser (numpy/xarray only), so that the inputs and the Plan can use it without importing
the model:

* :func:`lever_inputs` turns the study's ``fleet_levers`` into input variables (called by
  :func:`dcplan.inputs.build_inputs`); levers left off add nothing;
* :func:`plan_outputs` reads a solution's lever columns into the Plan, and
  :func:`audit_fleet` re-checks every lever row from the plan's outputs alone;
* :func:`shifted_study` moves every target year (for the value-of-delay curve).

Rows and their validity are documented in docs/formulation.md ("Time-to-power levers:
fleet").

Sources and assumptions
-----------------------
.. [1] U.S. Department of Energy, "Large Power Transformer Resilience", report to
   Congress, July 2024: a large power transformer (LPT) is rated >= 100 MVA; in 2019 the
   US took 754 LPTs (137 made at home, 617 imported) and its plants could make at most
   ~343 a year; lead times 80-210 weeks.
.. [2] Wood Mackenzie, "Untangling the US transformer supply chain crisis" (press
   release, August 2025): US power-transformer supply short of demand by 30 % in 2025,
   demand up 116 % since 2019, imports 80 % of supply.
.. [3] Meta, "The Llama 3 Herd of Models" (July 2024): 16,384 H100 GPUs for 54 days with
   more than 90 % effective training time.
.. [4] A. Shehabi et al., "2024 United States Data Center Energy Usage Report", LBNL
   (December 2024): the 2028 scenarios imply ~50 % average-to-capacity use (325 TWh over
   74 GW x 8,760 h; 580 TWh over 132 GW x 8,760 h).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.spec import Study

logger = logging.getLogger(__name__)

HOURS_PER_YEAR = 8760.0

#: smallest rating of a large power transformer [MVA] (DOE [1])
LPT_MIN_MVA = 100.0
#: LPTs the US took in 2019: 137 domestic + 617 imported (DOE [1]); the scale a fleet's
#: transformers_per_year should be read against
US_LPT_UNITS_2019 = 754
#: most LPTs US plants could make per year (DOE [1], at the reported use rate)
US_LPT_DOMESTIC_CAPACITY = 343

#: inter-site bandwidth a GPU outside the cluster's home site needs [Gbps]. ASSUMPTION:
#: a scale-out NIC carries 400-800 Gbps per GPU inside a site; hierarchical or
#: low-communication synchronisation (DiLoCo-style) cuts inter-site traffic by two to three
#: orders of magnitude, to ~1-8 Gbps; 10 Gbps keeps the estimate on the safe side.
INTERSITE_GBPS_PER_GPU = 10.0
#: cost of inter-site (long-haul DCI) bandwidth [USD per Gbps-year]. ASSUMPTION: a leased
#: 100G wavelength at ~8,000 USD a month (no citable public price list was found).
USD_PER_GBPS_YEAR = 1000.0
INTERSITE_USD_PER_GPU_YEAR = INTERSITE_GBPS_PER_GPU * USD_PER_GBPS_YEAR

#: model families of the fleet levers (each off unless its inputs are present)
FAMILIES = ("lpt_supply", "chip_delivery", "training_cluster", "delivered_compute")
WORKLOADS = ("training", "inference")


# ------------------------------------------------------------------------------- inputs
def lpt_per_option(ic_kv: np.ndarray, ic_capacity_mw: np.ndarray, options) -> np.ndarray:
    """Large power transformers (>= 100 MVA) each interconnect option installs (N+1).

    The ``existing`` option uses the substation's transformers (none to order); the others
    install :func:`dcplan.physics.grid.transformer_count` units of the voltage class's
    rating, counted only when that rating makes them LPTs (DOE [1]).
    """
    from dcplan.physics import grid

    kv = np.asarray(ic_kv, float)
    cap = np.asarray(ic_capacity_mw, float)
    mva = np.vectorize(lambda v: grid.TRANSFORMER_MVA_BY_KV.get(float(v), 0.0))(kv)
    n = np.asarray(grid.transformer_count(cap, np.where(mva > 0, mva, 1.0)), float)
    new = np.asarray([str(o) != "existing" for o in options])[None, :]
    return np.where(new & (mva >= LPT_MIN_MVA) & (cap > 0), n, 0.0)


def lpt_lead_years(transformer_lead_weeks: float) -> int:
    """Whole years from ordering a transformer to its option energising: ceil(lead + commissioning)."""
    from dcplan.physics import grid

    lead = float(transformer_lead_weeks) / grid.WEEKS_PER_YEAR + grid.COMMISSIONING_YR
    return int(np.ceil(lead - 1e-9))


def lpt_installed_max(years, per_year: float, on_order: float, lead_yr: int) -> np.ndarray:
    """Transformers the fleet can have in service by each year under an order cap.

    Orders of year ``y`` (at most ``per_year``) serve from ``y + lead_yr``; orders start
    in the first planning year, with ``on_order`` units already in the pipeline joining
    the first year's orders. So ``on_order + per_year * (t - lead - first + 1)`` from
    ``first + lead`` on, 0 before.
    """
    years = np.asarray(years, int)
    slots = years - int(lead_yr) - int(years[0]) + 1
    return np.where(slots > 0, float(on_order) + float(per_year) * np.maximum(slots, 0), 0.0)


def lever_inputs(study: Study, ds: xr.Dataset) -> xr.Dataset:
    """The inputs of every lever the study turns on, merged into ``ds`` (unchanged if none)."""
    levers = study.fleet_levers
    years = np.asarray(ds["year"].values, int)
    chips = [str(c) for c in ds["chip"].values]
    out = {}
    supply = levers.supply_chain
    if supply.transformers_per_year is not None:
        lead = lpt_lead_years(study.grid.transformer_lead_weeks)
        out["lpt_per_option"] = (
            ("site", "option"),
            lpt_per_option(ds["ic_kv"].values, ds["ic_capacity_mw"].values, ds["option"].values),
            {"units": "1", "long_name": "large power transformers (>= 100 MVA) the option installs"})
        out["lpt_lead_yr"] = ((), float(lead), {
            "units": "year", "long_name": "years from a transformer order to its option energising"})
        out["lpt_on_order"] = ((), float(supply.transformers_on_order), {
            "units": "1", "long_name": "transformers on order before the first year"})
        out["lpt_orders_max"] = (("year",), np.full(len(years), float(supply.transformers_per_year)),
                                 {"units": "1/year", "long_name": "transformers the fleet may order per year"})
        out["lpt_installed_max"] = (("year",), lpt_installed_max(
            years, supply.transformers_per_year, supply.transformers_on_order, lead),
            {"units": "1", "long_name": "transformers the order cap lets be in service by the year"})
    if supply.chip_gpus_per_year:
        cap = np.full((len(chips), len(years)), np.inf)
        for chip, gpus in supply.chip_gpus_per_year.items():
            if chip in chips:
                cap[chips.index(chip)] = gpus
        out["chip_delivery_max_gpus"] = (("chip", "year"), cap, {
            "units": "GPU/year", "long_name": "GPUs of the chip delivered per year (inf = none)"})
    if levers.training_clusters:
        gpus = np.zeros((len(chips), len(years)))
        multi = np.zeros(len(chips), bool)
        price = np.zeros(len(chips))
        for cluster in levers.training_clusters:
            if cluster.chip not in chips:
                from dcplan.errors import Problem, SpecError

                raise SpecError([Problem(
                    "fleet_levers.training_clusters", f"chip {cluster.chip!r} is not in the study",
                    f"add {cluster.chip} to chips.use or to a fleet target")])
            i = chips.index(cluster.chip)
            gpus[i] = np.where(years >= cluster.year, cluster.gpus, 0.0)
            multi[i] = cluster.multi_site
            price[i] = (INTERSITE_USD_PER_GPU_YEAR if cluster.intersite_usd_per_gpu_year is None
                        else cluster.intersite_usd_per_gpu_year)
        out["cluster_gpus"] = (("chip", "year"), gpus, {
            "units": "GPU", "long_name": "GPUs of the chip's training cluster online together"})
        out["cluster_multi_site"] = (("chip",), multi, {
            "units": "1", "long_name": "the cluster may span sites"})
        out["cluster_intersite_usd_per_gpu_year"] = (("chip",), price, {
            "units": "USD/GPU/year", "long_name": "inter-site bandwidth per GPU outside the home site"})
    delivered = levers.delivered_compute
    if delivered.targets:
        for workload in WORKLOADS:
            points = sorted((t.year, t.gpu_hours) for t in delivered.targets if t.workload == workload)
            need = np.zeros(len(years))
            for year, hours in points:  # a target holds from its year on and never falls
                need = np.where(years >= year, np.maximum(need, hours), need)
            out[f"delivered_{workload}_gpu_h"] = (("year",), need, {
                "units": "GPU*h", "long_name": f"{workload} GPU-hours to deliver per year"})
            out[f"utilisation_{workload}"] = ((), float(getattr(delivered, f"{workload}_utilisation")), {
                "units": "1", "long_name": f"share of online hours a {workload} GPU delivers"})
    if not out:
        return ds
    return ds.assign(out)


# ------------------------------------------------------------------------------ outputs
#: plan outputs of the levers: dims, units, long_name (present only when the lever is on)
OUTPUTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "lpt_in_service": (("year",), "1", "large power transformers of the options built by the year"),
    "lpt_orders": (("year",), "1/year", "transformer orders per year (latest schedule the cap allows)"),
    "cluster_home": (("site", "chip"), "1", "the site holding the chip's training cluster"),
    "cluster_home_gpus": (("site", "chip", "year"), "GPU", "cluster GPUs at its home site"),
    "cluster_remote_gpus": (("chip", "year"), "GPU", "cluster GPUs at other sites (inter-site links)"),
    "cluster_bandwidth_usd": (("year",), "USD", "inter-site bandwidth cost of the clusters"),
    "workload_gpus": (("workload", "year"), "GPU", "GPUs given to each workload's delivered target"),
    "delivered_gpu_h": (("workload", "year"), "GPU*h", "GPU-hours delivered by workload"),
}


def lpt_order_schedule(in_service: np.ndarray, lead: int, cap: np.ndarray, on_order: float) -> np.ndarray:
    """Orders per year that put ``in_service`` transformers in service, each as late as the cap allows.

    Arrivals needed in year t are ordered in t - lead; where that exceeds the year's cap the
    excess moves to earlier years (a wait that lengthens the effective lead). Orders before
    the first year are the ``on_order`` units. NaN where no schedule fits (a broken plan).
    """
    added = np.diff(np.concatenate([[0.0], np.asarray(in_service, float)]))
    T = len(added)
    want = np.zeros(T)
    for t in range(T):
        if t - lead >= 0:
            want[t - lead] += added[t]
        else:
            on_order -= added[t]
    want[0] = max(want[0] - max(on_order, 0.0), 0.0)
    orders = np.zeros(T)
    carry = 0.0
    for y in range(T - 1, -1, -1):  # latest first: what a year cannot take moves earlier
        total = want[y] + carry
        orders[y] = min(total, cap[y])
        carry = total - orders[y]
    return orders if carry <= 1e-6 and on_order >= -1e-6 else np.full(T, np.nan)


def plan_outputs(sm, x: np.ndarray, ds: xr.Dataset) -> xr.Dataset:
    """Add the lever outputs of solution ``x`` of model ``sm`` to the plan dataset ``ds``."""
    def arr(name, dims, scale=1.0):
        values = np.maximum(sm.values(x, name) * scale, 0.0)
        axes = tuple(i for i, d in enumerate(("site", "chip", "cooling", "option", "year")) if d not in dims)
        return values.squeeze(axis=axes) if axes else values

    out = {}
    if "in_lpt_per_option" in ds:
        service = (ds["interconnect_active"].astype(float) * ds["in_lpt_per_option"]).sum(("site", "option"))
        out["lpt_in_service"] = service
        out["lpt_orders"] = xr.DataArray(lpt_order_schedule(
            service.values, int(ds["in_lpt_lead_yr"]), ds["in_lpt_orders_max"].values, _on_order(ds)),
            dims=("year",))
    if "cluster_home" in sm.variables:
        out["cluster_home"] = (("site", "chip"), np.round(arr("cluster_home", ("site", "chip"))) > 0.5)
        out["cluster_home_gpus"] = (("site", "chip", "year"), arr("cluster_home_gpus", ("site", "chip", "year"), 1e3))
        out["cluster_remote_gpus"] = (("chip", "year"), arr("cluster_remote_gpus", ("chip", "year"), 1e3))
    if "gpus_training" in sm.variables:
        gw = np.stack([arr(f"gpus_{w}", ("year",), 1e3) for w in WORKLOADS])
        out["workload_gpus"] = (("workload", "year"), gw)
    if not out:
        return ds
    ds = ds.assign(out)
    if "workload" in ds.dims:
        ds = ds.assign_coords(workload=list(WORKLOADS))
    for name, value in derived_outputs(ds).items():
        ds[name] = value
    for name, (_, unit, long_name) in OUTPUTS.items():
        if name in ds:
            ds[name].attrs.update(units=unit, long_name=long_name)
    if "delivered_gpu_h" in ds:
        ds.attrs["usd_per_delivered_gpu_hour"] = usd_per_delivered_gpu_hour(ds)
    return ds


def _on_order(ds: xr.Dataset) -> float:
    """Transformers on order before the first year."""
    return float(ds["in_lpt_on_order"]) if "in_lpt_on_order" in ds else 0.0


def derived_outputs(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Outputs computed from the plan's decisions and inputs (also what the audit recomputes)."""
    out = {}
    if "cluster_remote_gpus" in ds:
        out["cluster_bandwidth_usd"] = (
            ds["cluster_remote_gpus"] * ds["in_cluster_intersite_usd_per_gpu_year"]).sum("chip")
    if "workload_gpus" in ds:
        util = xr.DataArray([float(ds[f"in_utilisation_{w}"]) for w in WORKLOADS],
                            dims="workload", coords={"workload": list(WORKLOADS)})
        out["delivered_gpu_h"] = ds["workload_gpus"] * util * HOURS_PER_YEAR
    return out


def cost_usd(ds: xr.Dataset) -> float:
    """NPV of the levers' own costs in a plan (inter-site bandwidth) [USD]."""
    if "cluster_remote_gpus" not in ds:
        return 0.0
    df = ds["in_discount_factor"]
    return float((derived_outputs(ds)["cluster_bandwidth_usd"] * df).sum())


def usd_per_delivered_gpu_hour(ds: xr.Dataset) -> float:
    """Net present cost per discounted GPU-hour delivered to the workloads' targets [USD/GPU-h].

    Cost as for the levelised cost (capital charged + discounted opex + lever costs; no
    shortfall penalty); hours are those the delivered-compute rows count. NaN without them.
    """
    if "delivered_gpu_h" not in ds:
        return float("nan")
    df = ds["in_discount_factor"]
    cost = float(ds["capital_npv_usd"].sum()) + float((ds["opex_usd"].sum("site") * df).sum()) + cost_usd(ds)
    hours = float((ds["delivered_gpu_h"].sum("workload") * df).sum())
    return cost / hours if hours > 0 else float("nan")


# -------------------------------------------------------------------------------- audit
def audit_fleet(a, ds: xr.Dataset, skip: set) -> None:
    """Re-check every lever row from the plan's outputs and ``in_`` inputs (an ``_Auditor``)."""
    eps = 0.5  # half a GPU
    if "in_lpt_per_option" in ds and "lpt_supply" not in skip:
        service = (ds["interconnect_active"].astype(float) * ds["in_lpt_per_option"]).sum(("site", "option"))
        a.check("lpt_supply", "lpt_supply_max", service, ds["in_lpt_installed_max"], "le", 1e-6)
        if "lpt_in_service" in ds:
            a.check("accounting", "lpt_in_service_consistent", ds["lpt_in_service"], service, "eq", 1e-6)
    if "in_chip_delivery_max_gpus" in ds and "chip_delivery" not in skip:
        delivered = ds["gpus_new"].sum(("site", "cooling"))
        a.check("chip_delivery", "chip_delivery_max", delivered, ds["in_chip_delivery_max_gpus"], "le", eps)
    if "in_cluster_gpus" in ds and "training_cluster" not in skip:
        size = ds["in_cluster_gpus"]
        online = ds["gpus"].sum("cooling")  # (site, chip, year)
        home = ds["cluster_home"].astype(float) if "cluster_home" in ds else xr.zeros_like(online.isel(year=0))
        remote = ds["cluster_remote_gpus"] if "cluster_remote_gpus" in ds else xr.zeros_like(size)
        wanted = (size > 0).any("year")
        a.check("training_cluster", "cluster_home_one", home.sum("site").where(wanted, 1.0), 1.0, "eq", 0.5)
        at_home = (online * home).sum("site")
        a.check("training_cluster", "cluster_size_min", at_home + remote, size, "ge", eps)
        single = ~ds["in_cluster_multi_site"].astype(bool)
        a.check("training_cluster", "cluster_single_site", remote.where(single, 0.0), 0.0, "le", eps)
        a.check("training_cluster", "cluster_remote_max", remote + at_home.clip(max=size),
                online.sum("site"), "le", eps)
    if "in_delivered_training_gpu_h" in ds and "delivered_compute" not in skip:
        gw = ds["workload_gpus"] if "workload_gpus" in ds else xr.DataArray(
            np.zeros((len(WORKLOADS), ds.sizes["year"])), dims=("workload", "year"),
            coords={"workload": list(WORKLOADS), "year": ds["year"].values})
        for w in WORKLOADS:
            hours = gw.sel(workload=w) * float(ds[f"in_utilisation_{w}"]) * HOURS_PER_YEAR
            a.check("delivered_compute", f"delivered_{w}_min", hours, ds[f"in_delivered_{w}_gpu_h"], "ge",
                    HOURS_PER_YEAR * eps)
        a.check("delivered_compute", "delivered_split_max", gw.sum("workload"),
                ds["gpus"].sum(("site", "chip", "cooling")), "le", eps)
    derived = derived_outputs(ds)
    for name, value in derived.items():
        if name in ds:
            a.check("accounting", f"{name}_consistent", ds[name], value, "eq", 1.0)


# --------------------------------------------------------------------- value of delay
def shifted_study(study: Study, shift: int) -> Study:
    """The study with every target year moved by ``shift`` years (GPU, compute, cluster and
    delivered targets). A year moved before the horizon is held at its first year; a target
    moved past the horizon is dropped (it is not reached within the plan)."""
    first, last = study.horizon.first_year, study.horizon.last_year

    def move(items):
        kept = []
        for item in items:
            year = item.year + shift
            if year > last:
                continue
            kept.append(item.model_copy(update={"year": max(year, first)}))
        return kept

    fleet = study.fleet.model_copy(update={"gpus": move(study.fleet.gpus),
                                           "compute": move(study.fleet.compute)})
    levers = study.fleet_levers
    delivered = levers.delivered_compute.model_copy(update={"targets": move(levers.delivered_compute.targets)})
    levers = levers.model_copy(update={"training_clusters": move(levers.training_clusters),
                                       "delivered_compute": delivered})
    moved = study.model_copy(update={"fleet": fleet, "fleet_levers": levers})
    moved._base_dir = study._base_dir
    moved._source = study._source
    return moved
