"""The siting and build-out MILP: sets, variables, one ``add_*`` per constraint family.

Read :func:`build_model` top to bottom like PyPSA's ``create_model``. Each builder computes
its coefficients for the whole family at once with numpy broadcasting over the named axes
``(site, chip, cooling, option, year)`` and records them as sparse triplets; the Pyomo
components are then created from those triplets as ``LinearExpression`` rows (one Python
step per row, no filtered generator sums). Model units: GPUs in thousands (kGPU), money in
millions of USD (MUSD), power in MW; see docs/formulation.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
import xarray as xr
from pyomo.core.expr.numeric_expr import LinearExpression

from dcplan.errors import DataError, Problem
from dcplan.optimize.registry import CONSTRAINTS, FAMILIES, VARIABLES

logger = logging.getLogger(__name__)

#: the named axes every coefficient array is broadcast over, in this order
AX = ("site", "chip", "cooling", "option", "year")
_KIND = {"binary": pyo.Binary, "integer": pyo.NonNegativeIntegers, "continuous": pyo.Reals}

REQUIRED = (
    "it_kw_per_gpu", "dense_pflops", "gpu_capex_usd", "service_life_yr", "first_year",
    "compatible", "facility_mwh_per_gpu_year", "facility_peak_kw_per_gpu",
    "water_m3_per_gpu_year", "co2_t_per_mwh", "electricity_usd_per_mwh", "water_usd_per_m3",
    "land_mw", "water_cap_m3_per_yr", "permit_year", "max_build_mw_per_yr", "site_open_usd",
    "facility_capex_usd_per_mw", "fixed_om_usd_per_mw_yr", "ic_capacity_mw", "ic_earliest_year",
    "ic_phase_mw_per_yr", "ic_capex_usd", "target_gpus", "target_pflops", "target_chip_allowed",
    "discount_factor", "capex_budget_usd", "carbon_cap_t", "carbon_price_usd_per_t",
)


@dataclass
class VarFamily:
    """Where the columns of one variable family sit: ``pos`` has -1 where absent."""

    name: str
    dims: tuple[str, ...]
    pos: np.ndarray  # 5-D over AX, singleton on dims the family does not have
    kind: str


@dataclass
class RowFamily:
    """One constraint family: rows ``start..stop`` of the matrix."""

    name: str
    dims: tuple[str, ...]
    labels: list
    sense: str  # "le", "ge" or "eq"
    start: int
    stop: int


@dataclass
class SitingModel:
    """The built model: the Pyomo ConcreteModel plus the index maps that read it back.

    Attributes
    ----------
    model : pyo.ConcreteModel
        Components named as in :mod:`dcplan.optimize.registry`.
    inputs : xr.Dataset
        The inputs the model was built from.
    skip : frozenset of str
        Constraint families left out.
    variables, rows : dict
        Column positions of each variable family and row ranges of each constraint family.
    A, rhs, senses, col_lower, col_upper, integrality, cost
        The same model as arrays (rows and columns in build order), used to cross-check the
        standard-form hand-off and by the diagnosis.
    trivially_infeasible : list of str
        Rows that lost every variable (e.g. a target in a year no chip is on sale) and cannot
        hold; the solve reports them without calling HiGHS.
    """

    model: pyo.ConcreteModel
    inputs: xr.Dataset
    skip: frozenset
    variables: dict[str, VarFamily]
    rows: dict[str, RowFamily]
    A: sp.csr_array
    rhs: np.ndarray
    senses: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    cost: np.ndarray
    cost_offset: float
    vardata: list
    trivially_infeasible: list[str] = field(default_factory=list)
    build_seconds: float = 0.0

    @property
    def n_col(self) -> int:
        return len(self.col_lower)

    @property
    def n_row(self) -> int:
        return len(self.rhs)

    def row_family(self) -> np.ndarray:
        """Family name of every row (object array)."""
        out = np.empty(self.n_row, dtype=object)
        for r in self.rows.values():
            out[r.start:r.stop] = r.name
        return out

    def values(self, x: np.ndarray, name: str) -> np.ndarray:
        """Solution of a variable family as a 5-D array (0 where the variable is absent)."""
        pos = self.variables[name].pos
        return np.where(pos >= 0, x[np.maximum(pos, 0)], 0.0)

    def __repr__(self) -> str:
        return (f"SitingModel({self.inputs.sizes['site']} sites x {self.inputs.sizes['year']} years: "
                f"{self.n_col:,} columns ({int(self.integrality.sum()):,} integer), "
                f"{self.n_row:,} rows, {self.A.nnz:,} nonzeros; skip={sorted(self.skip)})")


class _Assembly:
    """Accumulates columns, rows and sparse triplets; builds the Pyomo model at the end."""

    def __init__(self, inputs: xr.Dataset, skip: frozenset):
        self.inputs = inputs
        self.skip = skip
        self.sizes = {d: int(inputs.sizes[d]) for d in AX}
        self.coords = {d: list(inputs[d].values.tolist()) for d in AX}
        self.years = np.asarray(inputs["year"].values, dtype=int)
        self.vars: dict[str, VarFamily] = {}
        self.rows: dict[str, RowFamily] = {}
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []
        self.n_col = 0
        self.n_row = 0
        self.rhs: list[np.ndarray] = []
        self.sense: list[np.ndarray] = []
        self.tr: list[np.ndarray] = []
        self.tc: list[np.ndarray] = []
        self.tv: list[np.ndarray] = []
        self.oc: list[np.ndarray] = []
        self.ov: list[np.ndarray] = []

    def on(self, family: str) -> bool:
        return family not in self.skip

    def get(self, name: str) -> np.ndarray:
        """Input variable as a float 5-D array over AX (bools stay bool)."""
        da = self.inputs[name]
        order = [d for d in AX if d in da.dims]
        values = np.asarray(da.transpose(*order).values)
        return values.reshape([self.sizes[d] if d in da.dims else 1 for d in AX])

    def shape(self, dims) -> tuple[int, ...]:
        return tuple(self.sizes[d] if d in dims else 1 for d in AX)

    def add_var(self, name, dims, mask, lb, ub, kind) -> np.ndarray:
        mask = np.broadcast_to(mask, self.shape(dims))
        n = int(mask.sum())
        pos = np.full(mask.shape, -1, dtype=np.int64)
        pos[mask] = np.arange(self.n_col, self.n_col + n)
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=float), mask.shape)[mask])
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), mask.shape)[mask])
        self.kinds.append(np.full(n, kind, dtype=object))
        self.n_col += n
        self.vars[name] = VarFamily(name, tuple(dims), pos, kind)
        return pos

    def add_rows(self, name, dims, mask, sense, rhs, labels=None) -> np.ndarray:
        """Declare rows where ``mask``; returns their positions (-1 elsewhere)."""
        if labels is None:
            mask = np.broadcast_to(mask, self.shape(dims))
            idx = np.nonzero(mask)
            cols = [np.asarray(self.coords[d], dtype=object)[idx[AX.index(d)]] for d in dims]
            if len(dims) > 1:
                labels = list(zip(*cols))
            else:
                labels = list(cols[0]) if dims else [None] * int(mask.sum())
        n = int(np.count_nonzero(mask))
        pos = np.full(mask.shape, -1, dtype=np.int64)
        pos[mask] = np.arange(self.n_row, self.n_row + n)
        self.rhs.append(np.broadcast_to(np.asarray(rhs, dtype=float), mask.shape)[mask])
        self.sense.append(np.full(n, sense, dtype=object))
        self.rows[name] = RowFamily(name, tuple(dims), labels, sense, self.n_row, self.n_row + n)
        self.n_row += n
        return pos

    def terms(self, row, col, coef) -> None:
        row, col, coef = np.broadcast_arrays(row, col, np.asarray(coef, dtype=float))
        keep = (row >= 0) & (col >= 0) & (coef != 0)
        self.tr.append(row[keep])
        self.tc.append(col[keep])
        self.tv.append(coef[keep])

    def objective(self, col, coef) -> None:
        col, coef = np.broadcast_arrays(col, np.asarray(coef, dtype=float))
        keep = (col >= 0) & (coef != 0)
        self.oc.append(col[keep])
        self.ov.append(coef[keep])


def shift(pos: np.ndarray, lag) -> np.ndarray:
    """``pos`` of year t - lag at year t (-1 before the horizon); ``lag`` may vary by chip."""
    out = np.full(pos.shape, -1, dtype=np.int64)
    lags = np.broadcast_to(np.asarray(lag, dtype=int), pos.shape[:-1] + (1,))
    for value in np.unique(lags):
        if value <= 0 or value >= pos.shape[-1]:
            if value <= 0:
                out = np.where(lags == value, pos, out)
            continue
        shifted = np.full(pos.shape, -1, dtype=np.int64)
        shifted[..., value:] = pos[..., :-value]
        out = np.where(lags == value, shifted, out)
    return out


def _check(inputs: xr.Dataset) -> None:
    problems = [Problem(f"inputs['{v}']", "missing", "build the inputs with dcplan.build_inputs")
                for v in REQUIRED if v not in inputs]
    problems += [Problem(f"inputs dim '{d}'", "missing or empty", "give at least one value")
                 for d in AX if d not in inputs.sizes or inputs.sizes[d] == 0]
    if "block_mw" not in inputs.attrs or not float(inputs.attrs["block_mw"]) > 0:
        problems.append(Problem("inputs.attrs['block_mw']", f"{inputs.attrs.get('block_mw')!r}",
                                "give a positive IT block size in MW"))
    if problems:
        raise DataError(problems, "the inputs Dataset does not follow the contract")


def build_model(inputs: xr.Dataset, skip=()) -> SitingModel:
    """Build the siting and build-out MILP of ``inputs``.

    Parameters
    ----------
    inputs : xr.Dataset
        The inputs contract of docs/architecture.md.
    skip : iterable of str
        Constraint families to leave out (names in
        :data:`dcplan.optimize.registry.FAMILIES`), for tests and what-if studies.

    Returns
    -------
    SitingModel
    """
    started = time.perf_counter()
    skip = frozenset(skip)
    unknown = skip - set(FAMILIES)
    if unknown:
        msg = f"unknown constraint families {sorted(unknown)}; expected some of {list(FAMILIES)}"
        raise ValueError(msg)
    _check(inputs)
    a = _Assembly(inputs, skip)
    add_variables(a)
    add_gpu_stock(a)
    add_target(a)
    add_it_capacity(a)
    add_fleet_rounding(a)
    add_build_rate(a)
    add_land(a)
    add_site_open(a)
    add_site_count(a)
    add_facility_peak(a)
    add_interconnect(a)
    add_water_cap(a)
    add_capex_budget(a)
    add_carbon_cap(a)
    add_iso_share(a)
    add_objective(a)
    model = _finish(a)
    model.build_seconds = time.perf_counter() - started
    logger.info("built %r in %.2f s", model, model.build_seconds)
    return model


# ----------------------------------------------------------------------------------- sets
def _derived(a: _Assembly) -> None:
    """Masks and bounds shared by several builders (computed once)."""
    T = a.sizes["year"]
    y = a.years.reshape(1, 1, 1, 1, T)
    block = float(a.inputs.attrs["block_mw"])
    compat = a.get("compatible").astype(bool) if a.on("compatibility") else np.ones(a.shape(("chip", "cooling")), bool)
    on_sale = y >= a.get("first_year") if a.on("chip_first_year") else np.ones(a.shape(("chip", "year")), bool)
    permit = a.get("permit_year")
    start = np.where(a.on("permit"), permit, a.years[0]) * np.ones(a.shape(("site",)))
    permitted = y >= start
    # GPUs before the permit year could only sit on IT capacity that cannot exist yet
    gpu_ok = compat & on_sale & (permitted if a.on("it_capacity") else True)
    cooling_used = (compat & on_sale).any(axis=(1, 4), keepdims=True)

    # the most IT a single site could ever usefully hold: the fleet's peak IT need
    it_kw = a.get("it_kw_per_gpu")
    pflops = a.get("dense_pflops")
    allowed = a.get("target_chip_allowed").astype(bool) & (pflops > 0)
    need_gpus = (a.get("target_gpus") * it_kw).sum(axis=1, keepdims=True)
    kw_per_pflop = (it_kw / np.where(allowed, pflops, np.inf)).max() if allowed.any() else 0.0
    need_pf = a.get("target_pflops") * kw_per_pflop
    need_mw = float((need_gpus + need_pf).max()) / 1000.0
    share = float(a.inputs.attrs.get("max_iso_share", 1.0) or 1.0)
    if a.on("iso_share") and 0 < share < 1:
        need_mw /= share
    fleet_cap = (np.ceil(need_mw / block) + 1) * block
    cap = np.full(a.shape(("site", "year")), fleet_cap)
    if a.on("land"):
        cap = np.minimum(cap, a.get("land_mw"))
    if a.on("build_rate"):
        cap = np.minimum(cap, a.get("max_build_mw_per_yr") * np.maximum(y - start + 1, 0))
    a.block = block
    a.gpu_ok = gpu_ok
    a.blocks_ok = cooling_used & permitted & (cap >= block)
    a.blocks_ub = np.floor(cap / block + 1e-9)
    a.permit_start = start

    ic_cap = a.get("ic_capacity_mw")
    earliest = a.get("ic_earliest_year")
    ic_start = np.where(a.on("ic_lead"), earliest, a.years[0]) * np.ones(ic_cap.shape)
    # no site ever needs to energise more than the whole fleet's facility peak
    fpk = a.get("facility_peak_kw_per_gpu").max(axis=(0, 2), keepdims=True)
    peak_gpus = (a.get("target_gpus") * fpk).sum(axis=1, keepdims=True)
    kw_peak_per_pflop = (fpk / np.where(allowed, pflops, np.inf)).max() if allowed.any() else 0.0
    peak_mw = float((peak_gpus + a.get("target_pflops") * kw_peak_per_pflop).max()) / 1000.0
    ic_ub = np.full(np.broadcast_shapes(ic_cap.shape, y.shape), np.ceil(peak_mw) + 1.0)
    if a.on("ic_capacity"):
        ic_ub = np.minimum(ic_ub, ic_cap)
    if a.on("ic_phase"):
        ic_ub = np.minimum(ic_ub, a.get("ic_phase_mw_per_yr") * np.maximum(y - ic_start + 1, 0))
    a.ic_ok = (ic_cap > 0) & (y >= ic_start) & (ic_ub > 0)
    a.ic_ub = ic_ub
    a.ic_start = ic_start
    a.df = a.get("discount_factor")
    # fixed costs fall due in the year the site is permitted / the option first energises
    a.t_open = np.clip(permit, a.years[0], a.years[-1]).astype(int) - a.years[0]
    a.t_ic = np.clip(earliest, a.years[0], a.years[-1]).astype(int) - a.years[0]


def add_variables(a: _Assembly) -> None:
    """Decision variables (registry.VARIABLES) on sparse index sets."""
    _derived(a)
    S = ("site",)
    a.open = a.add_var("site_open", S, True, 0, 1, "binary")
    a.n = a.add_var("it_blocks", ("site", "cooling", "year"), a.blocks_ok, 0, a.blocks_ub, "integer")
    sel_ok = a.ic_ok.any(axis=4, keepdims=True)
    a.sel = a.add_var("ic_select", ("site", "option"), sel_ok, 0, 1, "binary")
    a.ic = a.add_var("ic_mw", ("site", "option", "year"), a.ic_ok, 0, a.ic_ub, "continuous")
    dims = ("site", "chip", "cooling", "year")
    a.g = a.add_var("gpus", dims, a.gpu_ok, 0, np.inf, "continuous")
    a.gn = a.add_var("gpus_new", dims, a.gpu_ok, 0, np.inf, "continuous")
    penalty = float(a.inputs.attrs.get("shortfall_penalty_usd_per_gpu", 0) or 0)
    a.penalty = penalty
    t_gpus = a.get("target_gpus") / 1e3
    t_pf = a.get("target_pflops") / 1e3
    soft = penalty > 0 and a.on("target")
    a.sf = a.add_var("shortfall_gpus", ("chip", "year"), soft & (t_gpus > 0), 0, t_gpus, "continuous")
    a.sfp = a.add_var("shortfall_pflops", ("year",), soft & (t_pf > 0), 0, t_pf, "continuous")
    share = float(a.inputs.attrs.get("max_iso_share", 1.0) or 1.0)
    a.iso_on = a.on("iso_share") and 0 < share < 1
    a.tot = a.add_var("it_total_mw", ("year",), a.iso_on, 0, np.inf, "continuous")


# ---------------------------------------------------------------------------- constraints
def add_gpu_stock(a: _Assembly) -> None:
    """gpus[t] = gpus[t-1] + gpus_new[t] - gpus_new[t - service_life]."""
    if not a.on("gpu_stock"):
        return
    life = np.maximum(np.rint(a.get("service_life_yr")).astype(int), 1)
    r = a.add_rows("gpu_stock_balance", ("site", "chip", "cooling", "year"), a.gpu_ok, "eq", 0.0)
    a.terms(r, a.g, 1.0)
    a.terms(r, shift(a.g, 1), -1.0)
    a.terms(r, a.gn, -1.0)
    a.terms(r, shift(a.gn, life), 1.0)


def add_target(a: _Assembly) -> None:
    """Fleet targets: GPUs by chip, and dense PFLOPS of the allowed chips."""
    if not a.on("target"):
        return
    t_gpus = a.get("target_gpus") / 1e3
    r = a.add_rows("target_gpus_min", ("chip", "year"), t_gpus > 0, "ge", t_gpus)
    a.terms(r, a.g, 1.0)
    a.terms(r, a.sf, 1.0)
    t_pf = a.get("target_pflops") / 1e3
    r = a.add_rows("target_pflops_min", ("year",), t_pf > 0, "ge", t_pf)
    a.terms(r, a.g, a.get("dense_pflops") * a.get("target_chip_allowed").astype(float))
    a.terms(r, a.sfp, 1.0)


def add_it_capacity(a: _Assembly) -> None:
    """GPU IT load of each cooling fits its installed IT capacity; capacity never decreases."""
    if a.on("it_capacity"):
        has = a.gpu_ok.any(axis=1, keepdims=True)
        r = a.add_rows("it_capacity_max", ("site", "cooling", "year"), has, "le", 0.0)
        a.terms(r, a.g, a.get("it_kw_per_gpu"))  # kW/GPU = MW per kGPU
        a.terms(r, a.n, -a.block)
    if a.on("it_monotone"):
        prev = shift(a.n, 1)
        r = a.add_rows("it_blocks_monotone", ("site", "cooling", "year"), (a.n >= 0) & (prev >= 0), "ge", 0.0)
        a.terms(r, a.n, 1.0)
        a.terms(r, prev, -1.0)


def add_fleet_rounding(a: _Assembly) -> None:
    """Valid inequality: the blocks installed fleet-wide cover the year's target, rounded up.

    For every set ``K`` of coolings, the chips that can only be cooled by members of ``K``
    need at least ``ceil(need_K,t / block_mw)`` blocks of those coolings in year t. Every
    integer plan already satisfies it (GPUs fit installed blocks, and a hard target puts at
    least the target online), so the optimum is unchanged; the LP relaxation, which could
    otherwise fill fractional blocks exactly, pays for the rounding and its bound rises.
    Left out when the target is soft (a shortfall may leave blocks unbuilt).
    """
    if not (a.on("fleet_rounding") and a.on("target") and a.on("it_capacity")) or a.penalty > 0:
        return
    import itertools

    compat = a.gpu_ok.any(axis=(0, 4))[:, :, 0]  # (chip, cooling): may ever share a site
    kw = a.get("it_kw_per_gpu")[0, :, 0, 0, :]  # (chip, 1)
    need_gpus = a.get("target_gpus")[0, :, 0, 0, :] / 1e3 * kw  # MW of IT by (chip, year)
    t_pf = a.get("target_pflops")[0, 0, 0, 0, :] / 1e3
    pflops = a.get("dense_pflops")[0, :, 0, 0, 0]
    allowed = a.get("target_chip_allowed").astype(bool)[0, :, 0, 0, 0] & (pflops > 0)
    n_k = a.sizes["cooling"]
    found: dict[frozenset, np.ndarray] = {frozenset(): np.zeros(a.sizes["year"])}
    rows, labels, rhs = [], [], []
    for size in range(1, n_k + 1):
        for subset in itertools.combinations(range(n_k), size):
            inside = ~compat[:, [k for k in range(n_k) if k not in subset]].any(axis=1)
            need = need_gpus[inside].sum(axis=0)
            pf_chips = allowed & compat.any(axis=1)
            if pf_chips.any() and inside[pf_chips].all():
                need = need + t_pf * float((kw[pf_chips, 0] / pflops[pf_chips]).min())
            key = frozenset(subset)
            found[key] = need
            # a superset adds a row only where it asks for more than each of its subsets
            weaker = np.max([found[key - {k}] for k in subset], axis=0)
            for t in np.nonzero(need > weaker + 1e-9)[0]:
                rows.append((subset, t))
                labels.append(("+".join(a.coords["cooling"][k] for k in subset), int(a.years[t])))
                rhs.append(np.ceil(need[t] / a.block - 1e-6))
    if not rows:
        return
    pos = a.add_rows("it_fleet_min", ("cooling_set", "year"), np.ones(len(rows), bool), "ge",
                     np.asarray(rhs), labels=labels)
    for row, (subset, t) in zip(pos, rows):
        cols = a.n[:, 0, list(subset), 0, t].reshape(-1)
        a.terms(np.full(cols.shape, row), cols, 1.0)


def add_build_rate(a: _Assembly) -> None:
    """IT MW commissioned per site and year <= max_build_mw_per_yr."""
    if not a.on("build_rate"):
        return
    rate = a.get("max_build_mw_per_yr")
    reach = (a.blocks_ub * (a.n >= 0)).sum(axis=2, keepdims=True) * a.block
    has_prev = (shift(a.n, 1) >= 0).any(axis=2, keepdims=True)
    # the first year's build is already capped by the column bounds
    need = has_prev & (rate < reach)
    r = a.add_rows("build_rate_max", ("site", "year"), need, "le", rate)
    a.terms(r, a.n, a.block)
    a.terms(r, shift(a.n, 1), -a.block)


def _last(pos: np.ndarray) -> np.ndarray:
    return pos[..., -1:]


def add_land(a: _Assembly) -> None:
    """Installed IT (all coolings, last year) <= land_mw."""
    if not a.on("land"):
        return
    land = a.get("land_mw")
    reach = (_last(a.blocks_ub) * (_last(a.n) >= 0)).sum(axis=2, keepdims=True) * a.block
    r = a.add_rows("land_max", ("site",), (land < reach[..., 0:1]), "le", land)
    a.terms(r, _last(a.n), a.block)


def add_site_open(a: _Assembly) -> None:
    """IT capacity only at opened sites: installed IT <= M_s x site_open."""
    if not a.on("site_open"):
        return
    reach = (_last(a.blocks_ub) * (_last(a.n) >= 0)).sum(axis=2, keepdims=True) * a.block
    if a.on("land"):
        reach = np.minimum(reach, a.get("land_mw"))
    r = a.add_rows("site_open_capacity", ("site",), reach > 0, "le", 0.0)
    a.terms(r, _last(a.n), a.block)
    a.terms(r, a.open, -reach)


def add_site_count(a: _Assembly) -> None:
    """min_sites <= sites opened <= max_sites."""
    if not a.on("site_count"):
        return
    n_sites = a.sizes["site"]
    lo = int(a.inputs.attrs.get("min_sites", 0) or 0)
    hi = a.inputs.attrs.get("max_sites", n_sites)
    hi = n_sites if hi is None or not np.isfinite(float(hi)) else int(hi)
    one = np.ones((1, 1, 1, 1, 1), bool)
    r = a.add_rows("sites_min", (), one & (lo > 0), "ge", lo)
    a.terms(r, a.open, 1.0)
    r = a.add_rows("sites_max", (), one & (hi < n_sites), "le", hi)
    a.terms(r, a.open, 1.0)


def add_facility_peak(a: _Assembly) -> None:
    """Facility peak of the GPUs online <= interconnect MW energised at the site."""
    if not a.on("facility_peak"):
        return
    has = a.gpu_ok.any(axis=(1, 2), keepdims=True)
    r = a.add_rows("facility_peak_max", ("site", "year"), has, "le", 0.0)
    a.terms(r, a.g, a.get("facility_peak_kw_per_gpu"))
    a.terms(r, a.ic, -1.0)


def add_interconnect(a: _Assembly) -> None:
    """Phasing, monotone energisation, option capacity and one option per opened site."""
    prev = shift(a.ic, 1)
    if a.on("ic_phase"):
        phase = a.get("ic_phase_mw_per_yr")
        r = a.add_rows("ic_phase_max", ("site", "option", "year"), (a.ic >= 0) & (phase < a.ic_ub), "le", phase)
        a.terms(r, a.ic, 1.0)
        a.terms(r, prev, -1.0)
    if a.on("ic_monotone"):
        r = a.add_rows("ic_mw_monotone", ("site", "option", "year"), (a.ic >= 0) & (prev >= 0), "ge", 0.0)
        a.terms(r, a.ic, 1.0)
        a.terms(r, prev, -1.0)
    if a.on("ic_capacity"):
        big = _last(a.ic_ub)
        r = a.add_rows("ic_capacity_max", ("site", "option"), _last(a.ic) >= 0, "le", 0.0)
        a.terms(r, _last(a.ic), 1.0)
        a.terms(r, a.sel, -big)
    if a.on("ic_choice"):
        link = a.on("site_open")
        r = a.add_rows("ic_choice_max", ("site",), (a.sel >= 0).any(axis=3, keepdims=True), "le", 0.0 if link else 1.0)
        a.terms(r, a.sel, 1.0)
        if link:
            a.terms(r, a.open, -1.0)


def add_water_cap(a: _Assembly) -> None:
    """On-site water of the GPUs online <= water_cap_m3_per_yr (rows in 1,000 m3)."""
    if not a.on("water_cap"):
        return
    cap = a.get("water_cap_m3_per_yr") / 1e3
    has = a.gpu_ok.any(axis=(1, 2), keepdims=True) & np.isfinite(cap)
    r = a.add_rows("water_cap_max", ("site", "year"), has, "le", np.where(np.isfinite(cap), cap, 0.0))
    a.terms(r, a.g, a.get("water_m3_per_gpu_year"))  # m3/GPU = 1,000 m3 per kGPU


def add_capex_budget(a: _Assembly) -> None:
    """Capital spent in each year <= capex_budget_usd (rows in MUSD)."""
    if not a.on("capex_budget"):
        return
    budget = a.get("capex_budget_usd") / 1e6
    r = a.add_rows("capex_budget_max", ("year",), np.isfinite(budget), "le", np.where(np.isfinite(budget), budget, 0.0))
    fac = a.get("facility_capex_usd_per_mw") * a.block / 1e6
    a.terms(r, a.n, fac)
    a.terms(_next_year_rows(r), a.n, -fac)  # n_t is last year's stock in row t+1
    a.terms(r, a.gn, a.get("gpu_capex_usd") / 1e3)
    rows = r.reshape(-1)
    a.terms(rows[a.t_open], a.open, a.get("site_open_usd") / 1e6)
    a.terms(rows[a.t_ic], a.sel, a.get("ic_capex_usd") / 1e6)


def _next_year_rows(r: np.ndarray) -> np.ndarray:
    """Row of year t+1 at year t (blocks installed at t are 'previous' in year t+1)."""
    out = np.full(r.shape, -1, dtype=np.int64)
    out[..., :-1] = r[..., 1:]
    return out


def add_carbon_cap(a: _Assembly) -> None:
    """Fleet CO2 from facility energy <= carbon_cap_t (rows in kt)."""
    if not a.on("carbon_cap"):
        return
    cap = a.get("carbon_cap_t") / 1e3
    r = a.add_rows("carbon_cap_max", ("year",), np.isfinite(cap), "le", np.where(np.isfinite(cap), cap, 0.0))
    a.terms(r, a.g, a.get("facility_mwh_per_gpu_year") * a.get("co2_t_per_mwh"))


def add_iso_share(a: _Assembly) -> None:
    """IT capacity in any one ISO <= max_iso_share x fleet IT capacity."""
    if not a.iso_on:
        return
    share = float(a.inputs.attrs["max_iso_share"])
    r = a.add_rows("it_total_def", ("year",), np.ones(a.shape(("year",)), bool), "eq", 0.0)
    a.terms(r, a.tot, 1.0)
    a.terms(r, a.n, -a.block)
    iso = np.asarray(a.inputs["iso"].values).astype(str)
    names, idx = np.unique(iso, return_inverse=True)
    has = np.zeros((len(names), a.sizes["year"]), bool)
    np.logical_or.at(has, idx, (a.n >= 0).any(axis=(1, 2, 3)))
    labels = [(str(names[i]), int(a.years[t])) for i, t in zip(*np.nonzero(has))]
    rows = a.add_rows("iso_share_max", ("iso", "year"), has, "le", 0.0, labels=labels)
    site_rows = rows[idx].reshape(a.sizes["site"], 1, 1, 1, a.sizes["year"])
    a.terms(site_rows, a.n, a.block)
    a.terms(rows, a.tot.reshape(1, -1), -share)


# ------------------------------------------------------------------------------ objective
def add_objective(a: _Assembly) -> None:
    """NPV of capex, opex and shortfall penalty [MUSD]."""
    df = a.df
    df_next = np.concatenate([df[..., 1:], np.zeros(df.shape[:-1] + (1,))], axis=-1)
    block = a.block
    # sum_t df_t (n_t - n_{t-1}) capex  ==  sum_t n_t (df_t - df_{t+1}) capex
    fac = a.get("facility_capex_usd_per_mw") * (df - df_next)
    om = a.get("fixed_om_usd_per_mw_yr") * df
    a.objective(a.n, block * (fac + om) / 1e6)
    price = a.get("electricity_usd_per_mwh") + a.get("carbon_price_usd_per_t") * a.get("co2_t_per_mwh")
    per_gpu_year = a.get("facility_mwh_per_gpu_year") * price + a.get("water_m3_per_gpu_year") * a.get("water_usd_per_m3")
    a.objective(a.g, df * per_gpu_year / 1e3)  # USD/GPU x 1,000 GPU / 1e6
    a.objective(a.gn, df * a.get("gpu_capex_usd") / 1e3)
    dfv = df.reshape(-1)
    a.objective(a.open, dfv[a.t_open] * a.get("site_open_usd") / 1e6)
    a.objective(a.sel, dfv[a.t_ic] * a.get("ic_capex_usd") / 1e6)
    if a.penalty > 0:
        a.objective(a.sf, df * a.penalty / 1e3)
        pflops = a.get("dense_pflops")
        allowed = a.get("target_chip_allowed").astype(bool) & (pflops > 0)
        per_pf = a.penalty / float(pflops[allowed].min()) if allowed.any() else a.penalty
        a.objective(a.sfp, df * per_pf / 1e3)


# ---------------------------------------------------------------------------------- Pyomo
def _finish(a: _Assembly) -> SitingModel:
    lb = np.concatenate(a.lb) if a.lb else np.zeros(0)
    ub = np.concatenate(a.ub) if a.ub else np.zeros(0)
    kinds = np.concatenate(a.kinds) if a.kinds else np.zeros(0, dtype=object)
    rhs = np.concatenate(a.rhs) if a.rhs else np.zeros(0)
    sense = np.concatenate(a.sense) if a.sense else np.zeros(0, dtype=object)
    A = sp.coo_array(
        (np.concatenate(a.tv), (np.concatenate(a.tr), np.concatenate(a.tc))),
        shape=(a.n_row, a.n_col),
    ).tocsr()
    A.sum_duplicates()
    A.eliminate_zeros()
    cost = np.zeros(a.n_col)
    if a.oc:
        np.add.at(cost, np.concatenate(a.oc), np.concatenate(a.ov))

    m = pyo.ConcreteModel(name=str(a.inputs.attrs.get("study_name", "dcplan")))
    vardata: list = []
    for fam in a.vars.values():
        mask = fam.pos >= 0
        idx = np.nonzero(mask)
        cols = [np.asarray(a.coords[d], dtype=object)[idx[AX.index(d)]] for d in fam.dims]
        labels = list(zip(*cols)) if len(fam.dims) > 1 else list(cols[0])
        var = pyo.Var(labels, domain=_KIND[fam.kind], dense=True)
        m.add_component(fam.name, var)
        vardata.extend(var.values())
    for v, lo, hi in zip(vardata, lb.tolist(), ub.tolist()):
        v.setlb(lo)
        v.setub(None if hi == np.inf else hi)

    indptr = A.indptr.tolist()
    indices = A.indices.tolist()
    data = A.data.tolist()
    rhs_list = rhs.tolist()
    trivial: list[str] = []
    keep_rows = np.diff(A.indptr) > 0
    for fam in a.rows.values():
        rows = {}
        for k, label in enumerate(fam.labels):
            i = fam.start + k
            b, e = indptr[i], indptr[i + 1]
            if b == e:
                if not _holds(0.0, fam.sense, rhs_list[i]):
                    trivial.append(f"{fam.name}[{label}] needs {fam.sense} {rhs_list[i]:g} but no variable can serve it")
                continue
            expr = LinearExpression(constant=0.0, linear_coefs=data[b:e], linear_vars=[vardata[j] for j in indices[b:e]])
            rhs_i = rhs_list[i]
            rows[label] = expr <= rhs_i if fam.sense == "le" else (expr >= rhs_i if fam.sense == "ge" else expr == rhs_i)
        if not fam.dims:
            if rows:
                m.add_component(fam.name, pyo.Constraint(expr=next(iter(rows.values()))))
            continue
        m.add_component(fam.name, pyo.Constraint(list(rows), rule=lambda _m, *i, _r=rows: _r[i if len(i) > 1 else i[0]]))
    nz = np.nonzero(cost)[0]
    m.objective = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=cost[nz].tolist(), linear_vars=[vardata[j] for j in nz.tolist()]),
        sense=pyo.minimize,
    )
    # empty rows carry no information for the solver; drop them from the array view too
    if not keep_rows.all():
        new_index = np.cumsum(keep_rows) - 1
        for fam in a.rows.values():
            kept = keep_rows[fam.start:fam.stop]
            fam.labels = [lab for lab, k in zip(fam.labels, kept) if k]
            start = int(new_index[fam.start - 1] + 1) if fam.start > 0 else 0
            fam.start, fam.stop = start, start + int(kept.sum())
        A = A[keep_rows]
        rhs = rhs[keep_rows]
        sense = sense[keep_rows]
    integrality = np.array([k != "continuous" for k in kinds], dtype=bool)
    return SitingModel(
        model=m, inputs=a.inputs, skip=a.skip, variables=a.vars, rows=a.rows, A=A, rhs=rhs,
        senses=sense, col_lower=lb, col_upper=ub, integrality=integrality, cost=cost,
        cost_offset=0.0, vardata=vardata, trivially_infeasible=trivial,
    )


def _holds(value: float, sense: str, rhs: float, tol: float = 1e-9) -> bool:
    if sense == "le":
        return value <= rhs + tol
    if sense == "ge":
        return value >= rhs - tol
    return abs(value - rhs) <= tol


def registered_names() -> set[str]:
    """Every component name the registry declares (for the test that all are built)."""
    return set(VARIABLES) | set(CONSTRAINTS)
