"""Fleet levers of time to power, the model half: columns, rows and the value-of-delay curve.

Shared supply chains (large power transformers, chip deliveries), training clusters in one
place and delivered compute. Each lever is off until the study turns it on
(``fleet_levers`` in the study file); off, it adds no input, column or row, so the model
and its optimum are those without it. The ``add_*`` builders take the model's
:class:`~dcplan.optimize.model.Builder` and are called by
:func:`~dcplan.optimize.model.build_model` through :func:`add_fleet_levers`. Inputs,
plan outputs and the audit are in :mod:`dcplan.fleet_levers` (no optimiser needed); the
value-of-delay curve is :func:`dcplan.optimize.levers_delay.delay_curve`.

Rows and their validity are documented in docs/formulation.md ("Time-to-power levers:
fleet"). Model units as everywhere: GPUs in thousands (kGPU), money in MUSD.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from dcplan.fleet_levers import (  # noqa: F401  (re-exported: one place to read the levers)
    FAMILIES,
    HOURS_PER_YEAR,
    INTERSITE_USD_PER_GPU_YEAR,
    WORKLOADS,
    audit_fleet,
    lever_inputs,
    lpt_installed_max,
    lpt_lead_years,
    lpt_order_schedule,
    lpt_per_option,
    plan_outputs,
    shifted_study,
)

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.optimize.model import Builder

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ builders
def add_fleet_levers(b: Builder) -> None:
    """Every fleet lever whose inputs are present (none: the model is unchanged)."""
    add_lpt_supply(b)
    add_chip_delivery(b)
    add_training_cluster(b)
    add_delivered_compute(b)


def add_lpt_supply(b: Builder) -> None:
    """Transformers of the options built by year t <= what the order cap delivers by t.

    ``sum_{s,o} lpt[s,o] ic_active[s,o,t] <= lpt_installed_max[t]``: ``ic_active`` is
    cumulative, so the left side counts every LPT in service; the right side is the
    cumulative order cap lagged by the lead time (:func:`lpt_installed_max`).
    """
    m = b.m
    if not (b.on("lpt_supply") and "lpt_per_option" in m.inputs):
        return
    c = b.col
    n = m.coef("lpt_per_option")  # (site, 1, 1, option, 1)
    limit = m.coef("lpt_installed_max")  # (1, 1, 1, 1, year)
    uses = ((c.ic_active >= 0) & (n > 0)).any(axis=(0, 3), keepdims=True)
    r = m.add_rows("lpt_supply_max", ("year",), uses, "le", limit)
    m.terms(r, c.ic_active, n)


def add_chip_delivery(b: Builder) -> None:
    """GPUs of a chip deployed in a year over the fleet <= chip_delivery_max_gpus (kGPU)."""
    m = b.m
    if not (b.on("chip_delivery") and "chip_delivery_max_gpus" in m.inputs):
        return
    c = b.col
    cap = m.coef("chip_delivery_max_gpus") / 1e3
    has = (c.gpus_new >= 0).any(axis=(0, 2), keepdims=True) & np.isfinite(cap)
    r = m.add_rows("chip_delivery_max", ("chip", "year"), has, "le", np.where(np.isfinite(cap), cap, 0.0))
    m.terms(r, c.gpus_new, 1.0)


def add_training_cluster(b: Builder) -> None:
    """A chip's training cluster online together at one home site (or paying to span sites).

    Columns: ``cluster_home[s,c]`` (binary, one per chip), ``cluster_home_gpus[s,c,t]`` and,
    when the cluster may span sites, ``cluster_remote_gpus[c,t]`` (kGPU). Rows: one home;
    home GPUs <= cluster size x home and <= the chip's GPUs online there; home + remote >=
    the cluster size; home + remote <= the chip's GPUs in the fleet. Remote GPUs pay the
    inter-site bandwidth per GPU-year.
    """
    m = b.m
    if not (b.on("training_cluster") and "cluster_gpus" in m.inputs):
        return
    c = b.col
    size = m.coef("cluster_gpus") / 1e3  # (1, chip, 1, 1, year) kGPU
    wanted = size > 0
    chip_on = wanted.any(axis=4, keepdims=True)
    can = (c.gpus >= 0).any(axis=2, keepdims=True)  # (site, chip, 1, 1, year)
    home_ok = can.any(axis=4, keepdims=True) & chip_on
    home = m.add_var("cluster_home", ("site", "chip"), home_ok, 0, 1, "binary")
    y_ok = can & wanted
    ub = np.broadcast_to(size, y_ok.shape)
    home_gpus = m.add_var("cluster_home_gpus", ("site", "chip", "year"), y_ok, 0, ub, "continuous")
    multi = m.coef("cluster_multi_site").astype(bool)
    remote = m.add_var("cluster_remote_gpus", ("chip", "year"), wanted & multi, 0, size, "continuous")

    r = m.add_rows("cluster_home_one", ("chip",), chip_on, "eq", 1.0)
    m.terms(r, home, 1.0)
    r = m.add_rows("cluster_home_max", ("site", "chip", "year"), y_ok, "le", 0.0)
    m.terms(r, home_gpus, 1.0)
    m.terms(r, np.broadcast_to(home, y_ok.shape), -np.broadcast_to(size, y_ok.shape))
    r = m.add_rows("cluster_home_gpus_max", ("site", "chip", "year"), y_ok, "le", 0.0)
    m.terms(r, home_gpus, 1.0)
    m.terms(r, c.gpus, -1.0)
    r = m.add_rows("cluster_size_min", ("chip", "year"), wanted, "ge", size)
    m.terms(r, home_gpus, 1.0)
    m.terms(r, remote, 1.0)
    has_remote = (remote >= 0)
    r = m.add_rows("cluster_remote_max", ("chip", "year"), has_remote, "le", 0.0)
    m.terms(r, remote, 1.0)
    m.terms(r, home_gpus, 1.0)
    m.terms(r, c.gpus, -1.0)
    price = m.coef("cluster_intersite_usd_per_gpu_year")
    m.objective(remote, m.coef("discount_factor") * price / 1e3)  # USD/GPU x 1,000 / 1e6


def add_delivered_compute(b: Builder) -> None:
    """Delivered GPU-hours by workload: 8,760 h x utilisation x GPUs given to the workload.

    ``gpus_<workload>[t]`` (kGPU) share the fleet's GPUs online; each workload's share
    delivers ``8.76 x utilisation`` million GPU-hours per kGPU-year.
    """
    m = b.m
    if not (b.on("delivered_compute") and "delivered_training_gpu_h" in m.inputs):
        return
    c = b.col
    T = m.sizes["year"]
    cols = {}
    for w in WORKLOADS:
        need = m.coef(f"delivered_{w}_gpu_h") / 1e6  # million GPU-h
        has = need > 0
        cols[w] = m.add_var(f"gpus_{w}", ("year",), has, 0, np.inf, "continuous")
        labels = [(w, int(m.years[t])) for t in np.nonzero(has.reshape(-1))[0]]
        r = m.add_rows(f"delivered_{w}_min", ("workload", "year"), has, "ge", need, labels=labels)
        per_kgpu = HOURS_PER_YEAR * m.coef(f"utilisation_{w}") / 1e3  # M GPU-h per kGPU-year
        m.terms(r, cols[w], per_kgpu)
    any_w = np.zeros((1, 1, 1, 1, T), bool)
    for w in WORKLOADS:
        any_w |= cols[w] >= 0
    r = m.add_rows("delivered_split_max", ("year",), any_w, "le", 0.0)
    for w in WORKLOADS:
        m.terms(r, cols[w], 1.0)
    m.terms(r, c.gpus, -1.0)
