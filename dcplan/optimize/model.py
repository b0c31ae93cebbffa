"""The siting and build-out MILP: sets, variables, one ``add_*`` per constraint family.

Read :func:`build_model` top to bottom like PyPSA's ``create_model``. Each builder computes
its coefficients for the whole family at once with numpy broadcasting over the named axes
``(site, chip, cooling, option, year)`` and records them as sparse triplets in a
:class:`Matrix`; the Pyomo components are then created from those triplets as
``LinearExpression`` rows (one Python step per row, no filtered generator sums). Model units:
GPUs in thousands (kGPU), money in millions of USD (MUSD), power in MW; see
docs/formulation.md.

Three build modes share the builders:

``tighten=True`` (default)
    Column bounds implied by the constraints (land, build rate, interconnect capacity and
    phasing), the same bounds as the interconnect link's coefficient by year, and the
    fleet-rounding valid inequality. None cuts off a feasible plan;
    ``tests/test_differential.py`` checks the optimum against ``tighten=False``.
``tighten=False``
    The plain model: no valid inequality, no column bound beyond 0/1 and the structural
    zeros, big-M of the site link equal to the land (or build-rate) limit it follows from.
``elastic=True``
    For the diagnosis: the structural zeros (permit and construction, interconnect lead,
    chip first year) become rows that an elastic relaxation may loosen, and every column
    bound that follows from a relaxable limit is dropped.
"""

from __future__ import annotations

import copy
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import xarray as xr

from dcplan.errors import DataError, Problem
from dcplan.optimize.levers_fleet import add_fleet_levers
from dcplan.optimize.levers_power import add_power_levers
from dcplan.optimize.registry import FAMILIES
from dcplan.optimize.years import add_monotone, drop_next, next_year, shift
from dcplan.physics import grid

if TYPE_CHECKING:
    import pyomo.environ as pyo

logger = logging.getLogger(__name__)

#: the named axes every coefficient array is broadcast over, in this order
AX = ("site", "chip", "cooling", "option", "year")
#: row senses are stored as short strings ("le", "ge", "eq"), not Python objects
_SENSE = np.dtype("<U2")

REQUIRED = (
    "it_kw_per_gpu",
    "dense_pflops",
    "gpu_capex_usd",
    "service_life_yr",
    "first_year",
    "compatible",
    "facility_mwh_per_gpu_year",
    "facility_peak_kw_per_gpu",
    "water_m3_per_gpu_year",
    "co2_t_per_mwh",
    "electricity_usd_per_mwh",
    "water_usd_per_m3",
    "land_mw",
    "water_cap_m3_per_yr",
    "permit_year",
    "it_earliest_year",
    "max_build_mw_per_yr",
    "site_open_usd",
    "facility_capex_usd_per_mw",
    "fixed_om_usd_per_mw_yr",
    "ic_capacity_mw",
    "ic_earliest_year",
    "ic_phase_mw_per_yr",
    "ic_capex_usd",
    "target_gpus",
    "target_pflops",
    "target_chip_allowed",
    "discount_factor",
    "capital_factor_gpu",
    "capital_factor_facility",
    "capital_factor_site",
    "capital_factor_interconnect",
    "capex_budget_usd",
    "carbon_cap_t",
    "carbon_price_usd_per_t",
)


# ------------------------------------------------------------------------ data structures
@dataclass
class VarFamily:
    """Where the columns of one variable family sit: ``pos`` has -1 where absent."""

    name: str
    dims: tuple[str, ...]
    pos: np.ndarray  # 5-D over AX, singleton on dims the family does not have
    kind: str
    #: a family expressed by other columns (the compact form's ``gpus``): its values are
    #: ``(expand @ x)[pos]`` and ``pos`` indexes the rows of ``expand``, not the columns
    expand: sp.csr_array | None = None


class RowFamily:
    """One constraint family: rows ``start..stop`` of the matrix.

    ``labels`` (the index of each row, a tuple of coordinates, one coordinate for a 1-D
    family, None for a scalar row) are made on first use from the cells the rows sit on, so
    a solve that never reads them never builds half a million tuples.
    """

    __slots__ = ("name", "dims", "sense", "start", "stop", "_labels", "_cells", "_shape", "_coords")

    def __init__(self, name, dims, sense, start, stop, *, labels=None, cells=None, shape=None,
                 coords=None):
        self.name, self.dims, self.sense = name, tuple(dims), sense
        self.start, self.stop = start, stop
        self._labels = None if labels is None else list(labels)
        self._cells, self._shape, self._coords = cells, shape, coords

    @property
    def labels(self) -> list:
        if self._labels is None:
            self._labels = _labels(self._cells, self._shape, self.dims, self._coords)
        return self._labels

    def moved(self, offset: int) -> RowFamily:
        """A copy of this family with its rows ``offset`` further on (labels still lazy)."""
        out = copy.copy(self)
        out.start, out.stop = self.start + offset, self.stop + offset
        return out

    def keep(self, kept: np.ndarray) -> None:
        """Keep only the rows where ``kept`` (relative to this family's rows)."""
        if self._labels is None:
            self._cells = self._cells[kept]
        else:
            self._labels = [lab for lab, k in zip(self._labels, kept, strict=True) if k]

    def __repr__(self) -> str:
        return f"RowFamily({self.name!r}, {self.dims}, {self.sense!r}, rows {self.start}..{self.stop})"


def _labels(cells: np.ndarray, shape: tuple, dims: tuple, coords: dict) -> list:
    """Index labels of the flat ``cells`` of a 5-D array over AX, as Pyomo would key them."""
    if not dims:
        return [None] * len(cells)
    idx = np.unravel_index(cells, shape)
    cols = [np.asarray(coords[d], dtype=object)[idx[AX.index(d)]] for d in dims]
    return list(zip(*cols, strict=True)) if len(dims) > 1 else list(cols[0])


@dataclass(frozen=True)
class BuildOptions:
    """How the model is built: families left out, tightenings, elastic bounds."""

    skip: frozenset
    tighten: bool = True
    elastic: bool = False

    def on(self, family: str) -> bool:
        return family not in self.skip


@dataclass
class Domains:
    """Sparse index sets and column bounds shared by several builders (5-D over AX)."""

    block_mw: float
    gpu_ok: np.ndarray  # (site, chip, cooling, 1, year): GPUs may sit there
    blocks_ok: np.ndarray  # (site, 1, cooling, 1, year): IT blocks may exist
    blocks_ub: np.ndarray  # upper bound of it_blocks [blocks]
    it_start: np.ndarray  # (site, 1, cooling, 1, 1): first year IT may be online
    ic_ok: np.ndarray  # (site, 1, 1, option, year): interconnect MW may be energised
    ic_ub: np.ndarray  # upper bound of ic_mw [MW]
    ic_start: np.ndarray  # (site, 1, 1, option, 1): first year the option energises
    site_cap: np.ndarray  # (site, 1, 1, 1, year): big-M of the site link [MW]
    penalty: float  # shortfall penalty [USD per GPU-year]; 0 = hard targets
    iso_on: bool


@dataclass
class Columns:
    """Column positions of every variable family (-1 where a variable is absent)."""

    site_active: np.ndarray
    it_blocks: np.ndarray
    ic_active: np.ndarray
    ic_mw: np.ndarray
    gpus: np.ndarray
    gpus_new: np.ndarray
    shortfall_gpus: np.ndarray
    shortfall_pflops: np.ndarray
    it_total: np.ndarray


@dataclass
class SitingModel:
    """The built model: its arrays, the index maps that read it back, and (on demand) the
    Pyomo ConcreteModel.

    Attributes
    ----------
    inputs : xr.Dataset
        The inputs the model was built from.
    options : BuildOptions
        Families left out, tightenings on or off, elastic bounds.
    variables, rows : dict
        Column positions of each variable family and row ranges of each constraint family.
    A, rhs, senses, col_lower, col_upper, integrality, cost
        The model as arrays (rows and columns in build order; rows that lost every variable
        dropped). The solve hands exactly these to HiGHS (:func:`dcplan.optimize.highs.handoff`).
    model : pyo.ConcreteModel
        The same model as Pyomo components named as in :mod:`dcplan.optimize.registry`,
        built from the arrays the first time it is read and kept (:func:`to_pyomo`).
    vardata : list
        The Pyomo variable of every column, in column order (built with ``model``).
    trivially_infeasible : list of tuple
        ``(family, label, sense, rhs)`` of the rows that lost every variable (e.g. a target
        in a year no chip is on sale) and cannot hold; the solve reports them without
        calling HiGHS.
    """

    inputs: xr.Dataset
    options: BuildOptions
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
    trivially_infeasible: list = field(default_factory=list)
    build_seconds: float = 0.0
    #: built in the compact form (:mod:`dcplan.optimize.compact`): no ``gpu_stock_balance``
    #: rows, ``gpus`` a window sum of ``gpus_new``
    compact: bool = False
    _pyomo: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def model(self) -> pyo.ConcreteModel:
        """The Pyomo model, built from the arrays on first use (see :func:`to_pyomo`)."""
        if self._pyomo is None:
            self._pyomo = to_pyomo(self)
        return self._pyomo[0]

    @property
    def vardata(self) -> list:
        """The Pyomo variable of each column, in column order (builds ``model`` if needed)."""
        if self._pyomo is None:
            self._pyomo = to_pyomo(self)
        return self._pyomo[1]

    @property
    def has_pyomo(self) -> bool:
        """Whether the Pyomo model has been built."""
        return self._pyomo is not None

    @property
    def skip(self) -> frozenset:
        return self.options.skip

    @property
    def n_col(self) -> int:
        return len(self.col_lower)

    @property
    def n_row(self) -> int:
        return len(self.rhs)

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bound of every row, from its sense and right-hand side."""
        return (
            np.where(self.senses == "le", -np.inf, self.rhs),
            np.where(self.senses == "ge", np.inf, self.rhs),
        )

    def row_family(self) -> np.ndarray:
        """Constraint name of every row (object array)."""
        out = np.empty(self.n_row, dtype=object)
        for r in self.rows.values():
            out[r.start : r.stop] = r.name
        return out

    def row_labels(self) -> list:
        """(constraint name, label) of every row."""
        out: list = [None] * self.n_row
        for r in self.rows.values():
            for k, lab in enumerate(r.labels):
                out[r.start + k] = (r.name, lab)
        return out

    def values(self, x: np.ndarray, name: str) -> np.ndarray:
        """Solution of a variable family as a 5-D array (0 where the variable is absent)."""
        fam = self.variables[name]
        if fam.expand is not None:
            x = fam.expand @ x
        return np.where(fam.pos >= 0, x[np.maximum(fam.pos, 0)], 0.0)

    def __repr__(self) -> str:
        return (
            f"SitingModel({self.inputs.sizes['site']} sites x {self.inputs.sizes['year']} years: "
            f"{self.n_col:,} columns ({int(self.integrality.sum()):,} integer), "
            f"{self.n_row:,} rows, {self.A.nnz:,} nonzeros; skip={sorted(self.skip)}"
            f"{'; compact' if self.compact else ''})"
        )


class Matrix:
    """Accumulates columns, rows, sparse triplets and objective terms over the named axes."""

    def __init__(self, inputs: xr.Dataset):
        self.inputs = inputs
        self.sizes = {d: int(inputs.sizes[d]) for d in AX}
        self.coords = {d: list(inputs[d].values.tolist()) for d in AX}
        self.years = np.asarray(inputs["year"].values, dtype=int)
        self.variables: dict[str, VarFamily] = {}
        self.rows: dict[str, RowFamily] = {}
        self.n_col = 0
        self.n_row = 0
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._kind: list[np.ndarray] = []
        self._rhs: list[np.ndarray] = []
        self._sense: list[np.ndarray] = []
        self._tr: list[np.ndarray] = []
        self._tc: list[np.ndarray] = []
        self._tv: list[np.ndarray] = []
        self._oc: list[np.ndarray] = []
        self._ov: list[np.ndarray] = []

    def coef(self, name: str) -> np.ndarray:
        """Input variable as a 5-D array over AX (bools stay bool)."""
        da = self.inputs[name]
        order = [d for d in AX if d in da.dims]
        values = np.asarray(da.transpose(*order).values)
        return values.reshape([self.sizes[d] if d in da.dims else 1 for d in AX])

    def shape(self, dims) -> tuple[int, ...]:
        return tuple(self.sizes[d] if d in dims else 1 for d in AX)

    def add_var(self, name, dims, mask, lb, ub, kind) -> np.ndarray:
        """Declare columns where ``mask``; returns their positions (-1 elsewhere)."""
        mask = np.broadcast_to(mask, self.shape(dims))
        n = int(mask.sum())
        pos = np.full(mask.shape, -1, dtype=np.int64)
        pos[mask] = np.arange(self.n_col, self.n_col + n)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), mask.shape)[mask])
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), mask.shape)[mask])
        self._kind.append(np.full(n, kind != "continuous", dtype=bool))
        self.n_col += n
        self.variables[name] = VarFamily(name, tuple(dims), pos, kind)
        return pos

    def add_rows(self, name, dims, mask, sense, rhs, labels=None) -> np.ndarray:
        """Declare rows where ``mask``; returns their positions (-1 elsewhere)."""
        mask = np.asarray(mask)
        cells = None
        if labels is None:
            mask = np.broadcast_to(mask, self.shape(dims))
            cells = np.flatnonzero(mask)
        n = int(np.count_nonzero(mask))
        pos = np.full(mask.shape, -1, dtype=np.int64)
        pos[mask] = np.arange(self.n_row, self.n_row + n)
        self._rhs.append(np.broadcast_to(np.asarray(rhs, dtype=float), mask.shape)[mask])
        self._sense.append(np.full(n, sense, dtype=_SENSE))
        self.rows[name] = RowFamily(
            name, dims, sense, self.n_row, self.n_row + n, labels=labels, cells=cells,
            shape=mask.shape, coords=self.coords,
        )
        self.n_row += n
        return pos

    def terms(self, row, col, coef) -> None:
        row, col, coef = np.broadcast_arrays(row, col, np.asarray(coef, dtype=float))
        keep = (row >= 0) & (col >= 0) & (coef != 0)
        # int32 positions: half the memory of the triplets (checked in arrays())
        self._tr.append(row[keep].astype(np.int32))
        self._tc.append(col[keep].astype(np.int32))
        self._tv.append(coef[keep])

    def objective(self, col, coef) -> None:
        col, coef = np.broadcast_arrays(col, np.asarray(coef, dtype=float))
        keep = (col >= 0) & (coef != 0)
        self._oc.append(col[keep])
        self._ov.append(coef[keep])

    def arrays(self):
        """(A, rhs, sense, lb, ub, integer, cost) in build order; A is CSR with summed
        duplicates and no stored zeros. The triplet lists are released on the way."""
        if max(self.n_row, self.n_col) >= 2**31 - 1:
            raise ValueError(f"{self.n_row:,} rows x {self.n_col:,} columns: too large for HiGHS")

        def cat(parts, dtype=float):
            out = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
            parts.clear()
            return out

        rows = cat(self._tr, np.int32)
        cols = cat(self._tc, np.int32)
        vals = cat(self._tv)
        A = sp.csr_array((vals, (rows, cols)), shape=(self.n_row, self.n_col))
        del rows, cols, vals
        A.sum_duplicates()
        A.eliminate_zeros()
        cost = np.zeros(self.n_col)
        if self._oc:
            np.add.at(cost, cat(self._oc, np.int64), cat(self._ov))
        return (
            A,
            cat(self._rhs),
            cat(self._sense, _SENSE),
            cat(self._lb),
            cat(self._ub),
            cat(self._kind, bool),
            cost,
        )


@dataclass
class Builder:
    """Everything the ``add_*`` functions share: matrix, options, domains and columns."""

    m: Matrix
    opt: BuildOptions
    dom: Domains | None = None
    col: Columns | None = None
    #: row positions (5-D over AX) of families other builders add terms to (the levers)
    pos: dict = field(default_factory=dict)

    def on(self, family: str) -> bool:
        return self.opt.on(family)

    def coef(self, name: str) -> np.ndarray:
        return self.m.coef(name)


def _check(inputs: xr.Dataset) -> None:
    problems = [
        Problem(f"inputs['{v}']", "missing", "build the inputs with dcplan.build_inputs")
        for v in REQUIRED
        if v not in inputs
    ]
    problems += [
        Problem(f"inputs dim '{d}'", "missing or empty", "give at least one value")
        for d in AX
        if d not in inputs.sizes or inputs.sizes[d] == 0
    ]
    if "block_mw" not in inputs.attrs or not float(inputs.attrs["block_mw"]) > 0:
        problems.append(
            Problem(
                "inputs.attrs['block_mw']",
                f"{inputs.attrs.get('block_mw')!r}",
                "give a positive IT block size in MW",
            )
        )
    if problems:
        raise DataError(problems, "the inputs Dataset does not follow the contract")


def build_model(
    inputs: xr.Dataset,
    skip=(),
    *,
    tighten: bool = True,
    elastic: bool = False,
    compact: bool = False,
) -> SitingModel:
    """Build the siting and build-out MILP of ``inputs``.

    Parameters
    ----------
    inputs : xr.Dataset
        The inputs contract of docs/architecture.md.
    skip : iterable of str
        Constraint families to leave out (names in
        :data:`dcplan.optimize.registry.FAMILIES`), for tests and what-if studies.
    tighten : bool
        Add the column bounds and valid inequalities (see the module docstring).
    elastic : bool
        Build the diagnosis variant: structural zeros become relaxable rows.
    compact : bool
        GPUs online as window sums of their vintages instead of the stock balance rows
        (:func:`dcplan.optimize.compact.compact_model`); the same optimum.

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
    b = Builder(
        Matrix(inputs), BuildOptions(skip, tighten=tighten and not elastic, elastic=elastic)
    )
    b.dom = domains(b)
    b.col = add_variables(b)
    add_gpu_stock(b)
    add_target(b)
    add_it_capacity(b)
    add_fleet_rounding(b)
    add_build_rate(b)
    add_land(b)
    add_site_open(b)
    add_site_count(b)
    add_facility_peak(b)
    add_interconnect(b)
    add_water_cap(b)
    add_capex_budget(b)
    add_carbon_cap(b)
    add_iso_share(b)
    add_power_levers(b)
    add_fleet_levers(b)  # off unless the study turns a fleet lever on
    add_ic_block_rounding(b)
    add_structural_rows(b)
    add_objective(b)
    model = _finish(b)
    if compact:
        from dcplan.optimize.compact import compact_model

        model = compact_model(model)
    model.build_seconds = time.perf_counter() - started
    logger.info("built %r in %.2f s", model, model.build_seconds)
    return model


# ----------------------------------------------------------------------------------- sets
def domains(b: Builder) -> Domains:
    """Sparse index sets and the column bounds that follow from the constraints."""
    m, on = b.m, b.on
    T = m.sizes["year"]
    y = m.years.reshape(1, 1, 1, 1, T)
    first = m.years[0]
    block = float(m.inputs.attrs["block_mw"])
    elastic = b.opt.elastic
    compat = (
        m.coef("compatible").astype(bool)
        if on("compatibility")
        else np.ones(m.shape(("chip", "cooling")), bool)
    )
    on_sale = (
        y >= m.coef("first_year")
        if on("chip_first_year") and not elastic
        else np.ones(m.shape(("chip", "year")), bool)
    )
    # IT may be online once the permit is in hand and the hall is built (construction lead)
    it_start = (
        m.coef("it_earliest_year") if on("permit") else np.full(m.shape(("site", "cooling")), first)
    )
    it_start = np.broadcast_to(it_start, m.shape(("site", "cooling"))).astype(float)
    permitted = (
        (y >= it_start) if not elastic else np.ones(m.shape(("site", "cooling", "year")), bool)
    )
    # GPUs where no IT capacity can exist yet could never fit
    gpu_ok = compat & on_sale & (permitted if on("it_capacity") else True)
    cooling_used = (compat & on_sale).any(axis=(1, 4), keepdims=True)

    land = m.coef("land_mw")
    rate = m.coef("max_build_mw_per_yr")
    # IT MW a site can hold in year t, by the land and build-rate limits (valid: the land row
    # holds in every year through monotone capacity, and capacity is the sum of at most
    # t - start + 1 yearly additions of at most `rate` each)
    cap = np.full(m.shape(("site", "cooling", "year")), np.inf)
    if not elastic:
        if on("land"):
            cap = np.minimum(cap, land)
        if on("build_rate"):
            years_open = np.maximum(y - it_start.min(axis=2, keepdims=True) + 1, 0)
            cap = np.minimum(cap, np.where(years_open > 0, rate * np.maximum(years_open, 1), 0.0))
    site_cap = cap.min(axis=2, keepdims=True)  # the limits above are for the site's total IT
    if not b.opt.tighten:
        cap = np.full(cap.shape, np.inf)
    if elastic:
        # diagnosis: the link needs some finite M; far above anything a target could use
        scale = _fleet_scale_mw(m)
        site_cap = np.full(
            site_cap.shape,
            10.0 * max(scale, float(np.nanmax(np.where(np.isfinite(land), land, 0.0)))) + block,
        )
    missing = ~np.isfinite(site_cap).all(axis=4)[:, 0, 0, 0]
    if missing.any():
        names = [m.coords["site"][i] for i in np.nonzero(missing)[0]]
        raise DataError(
            [
                Problem(
                    f"inputs.land_mw[site={s}]",
                    "unlimited, and so is max_build_mw_per_yr",
                    "give the site a finite land_mw (IT MW it can host)",
                )
                for s in names[:10]
            ],
            "a site needs a finite IT capacity limit",
        )
    blocks_ok = cooling_used & permitted & (cap >= block) & (site_cap >= block)
    blocks_ub = (
        np.floor(np.minimum(cap, site_cap) / block + 1e-9)
        if b.opt.tighten
        else np.full(cap.shape, np.inf)
    )

    ic_cap = m.coef("ic_capacity_mw")
    earliest = m.coef("ic_earliest_year").astype(float)
    ic_start = earliest if on("ic_lead") else np.full(ic_cap.shape, float(first))
    ic_ub = np.full(np.broadcast_shapes(ic_cap.shape, y.shape), np.inf)
    if b.opt.tighten:
        # min(capacity, phase x years since the earliest year), 0 before it
        cap = ic_cap if on("ic_capacity") else np.full(ic_cap.shape, np.inf)
        phase = m.coef("ic_phase_mw_per_yr") if on("ic_phase") else np.full(ic_cap.shape, 1e30)
        ic_ub = grid.energisable_mw(m.years, ic_start[..., 0], cap[..., 0], phase[..., 0])
    ic_ok = (ic_cap > 0) & (ic_ub > 0) & ((y >= ic_start) if not elastic else True)

    penalty = float(m.inputs.attrs.get("shortfall_penalty_usd_per_gpu", 0) or 0)
    share = float(m.inputs.attrs.get("max_iso_share", 1.0) or 1.0)
    return Domains(
        block_mw=block,
        gpu_ok=gpu_ok,
        blocks_ok=blocks_ok,
        blocks_ub=blocks_ub,
        it_start=it_start,
        ic_ok=ic_ok,
        ic_ub=ic_ub,
        ic_start=ic_start,
        site_cap=site_cap,
        penalty=penalty,
        iso_on=on("iso_share") and 0 < share < 1,
    )


def _fleet_scale_mw(m: Matrix) -> float:
    """The fleet's peak IT need [MW]: a scale for the diagnosis' big-M, never a bound."""
    it_kw = m.coef("it_kw_per_gpu")
    pflops = m.coef("dense_pflops")
    allowed = m.coef("target_chip_allowed").astype(bool) & (pflops > 0)
    need = (m.coef("target_gpus") * it_kw).sum(axis=1, keepdims=True)
    kw_per_pf = (it_kw / np.where(allowed, pflops, np.inf)).max() if allowed.any() else 0.0
    return float((need + m.coef("target_pflops") * kw_per_pf).max()) / 1000.0


def add_variables(b: Builder) -> Columns:
    """Decision variables (registry.VARIABLES) on sparse index sets."""
    m, d = b.m, b.dom
    SY = ("site", "year")
    site_ok = np.ones(m.shape(SY), bool)
    site_active = m.add_var("site_active", SY, site_ok, 0, 1, "binary")
    it_blocks = m.add_var(
        "it_blocks", ("site", "cooling", "year"), d.blocks_ok, 0, d.blocks_ub, "integer"
    )
    ic_active = m.add_var("ic_active", ("site", "option", "year"), d.ic_ok, 0, 1, "binary")
    ic_mw = m.add_var("ic_mw", ("site", "option", "year"), d.ic_ok, 0, d.ic_ub, "continuous")
    dims = ("site", "chip", "cooling", "year")
    gpus = m.add_var("gpus", dims, d.gpu_ok, 0, np.inf, "continuous")
    gpus_new = m.add_var("gpus_new", dims, d.gpu_ok, 0, np.inf, "continuous")
    t_gpus = m.coef("target_gpus") / 1e3
    t_pf = m.coef("target_pflops") / 1e3
    soft = d.penalty > 0 and b.on("target")
    sf = m.add_var("shortfall_gpus", ("chip", "year"), soft & (t_gpus > 0), 0, t_gpus, "continuous")
    sfp = m.add_var("shortfall_pflops", ("year",), soft & (t_pf > 0), 0, t_pf, "continuous")
    tot = m.add_var("it_total_mw", ("year",), d.iso_on, 0, np.inf, "continuous")
    return Columns(
        site_active=site_active,
        it_blocks=it_blocks,
        ic_active=ic_active,
        ic_mw=ic_mw,
        gpus=gpus,
        gpus_new=gpus_new,
        shortfall_gpus=sf,
        shortfall_pflops=sfp,
        it_total=tot,
    )


# ---------------------------------------------------------------------------- constraints
def add_gpu_stock(b: Builder) -> None:
    """gpus[t] = gpus[t-1] + gpus_new[t] - gpus_new[t - service_life]."""
    if not b.on("gpu_stock"):
        return
    m, c = b.m, b.col
    life = np.maximum(np.rint(m.coef("service_life_yr")).astype(int), 1)
    r = m.add_rows(
        "gpu_stock_balance", ("site", "chip", "cooling", "year"), b.dom.gpu_ok, "eq", 0.0
    )
    m.terms(r, c.gpus, 1.0)
    m.terms(r, shift(c.gpus, 1), -1.0)
    m.terms(r, c.gpus_new, -1.0)
    m.terms(r, shift(c.gpus_new, life), 1.0)


def add_target(b: Builder) -> None:
    """Fleet targets: GPUs by chip, and dense PFLOPS of the allowed chips."""
    if not b.on("target"):
        return
    m, c = b.m, b.col
    t_gpus = m.coef("target_gpus") / 1e3
    r = m.add_rows("target_gpus_min", ("chip", "year"), t_gpus > 0, "ge", t_gpus)
    m.terms(r, c.gpus, 1.0)
    m.terms(r, c.shortfall_gpus, 1.0)
    t_pf = m.coef("target_pflops") / 1e3
    r = m.add_rows("target_pflops_min", ("year",), t_pf > 0, "ge", t_pf)
    m.terms(r, c.gpus, m.coef("dense_pflops") * m.coef("target_chip_allowed").astype(float))
    m.terms(r, c.shortfall_pflops, 1.0)


def add_it_capacity(b: Builder) -> None:
    """GPU IT load of each cooling fits its installed IT capacity; capacity never decreases."""
    m, c, d = b.m, b.col, b.dom
    if b.on("it_capacity"):
        has = d.gpu_ok.any(axis=1, keepdims=True)
        r = m.add_rows("it_capacity_max", ("site", "cooling", "year"), has, "le", 0.0)
        m.terms(r, c.gpus, m.coef("it_kw_per_gpu"))  # kW/GPU = MW per kGPU
        m.terms(r, c.it_blocks, -d.block_mw)
    if b.on("it_monotone"):
        add_monotone(b, "it_blocks_monotone", ("site", "cooling", "year"), c.it_blocks)


def fleet_rounding_need(b: Builder) -> list[tuple[tuple[int, ...], int, float]]:
    """(cooling subset, year index, blocks needed) of every fleet-rounding row.

    For a set ``K`` of coolings, the chips ``C_K`` that can only be cooled by members of ``K``
    sit on K's blocks. Under hard targets the IT they need is at least the optimum of
    ``min sum_c kw_c G_c  s.t.  G_c >= target_c, sum_c pf_c G_c >= target_pflops`` over
    ``c in C_K`` when every chip that counts toward PFLOPS is in ``C_K`` (otherwise only the GPU
    targets count): ``sum kw_c T_c + max(0, P - sum pf_c T_c) * min(kw/pf)``. GPUs bought
    for one target count toward the other, so the two needs are never simply added.
    """
    m, d = b.m, b.dom
    compat = d.gpu_ok.any(axis=(0, 4))[:, :, 0]  # (chip, cooling): may ever share a site
    kw = m.coef("it_kw_per_gpu")[0, :, 0, 0, 0]
    t_gpu = m.coef("target_gpus")[0, :, 0, 0, :] / 1e3  # kGPU (chip, year)
    t_pf = m.coef("target_pflops")[0, 0, 0, 0, :] / 1e3  # kPFLOPS (year,)
    pflops = m.coef("dense_pflops")[0, :, 0, 0, 0]
    allowed = (
        m.coef("target_chip_allowed").astype(bool)[0, :, 0, 0, 0]
        & (pflops > 0)
        & compat.any(axis=1)
    )
    n_k = m.sizes["cooling"]
    found: dict[frozenset, np.ndarray] = {frozenset(): np.zeros(m.sizes["year"])}
    out = []
    for size in range(1, n_k + 1):
        for subset in itertools.combinations(range(n_k), size):
            inside = ~compat[:, [k for k in range(n_k) if k not in subset]].any(axis=1)
            need = (kw[inside, None] * t_gpu[inside]).sum(axis=0)
            if allowed.any() and inside[allowed].all():
                from_targets = (pflops[allowed, None] * t_gpu[allowed]).sum(axis=0)
                best = float((kw[allowed] / pflops[allowed]).min())
                need = need + np.maximum(t_pf - from_targets, 0.0) * best
            key = frozenset(subset)
            found[key] = need
            # a superset adds a row only where it asks for more than each of its subsets
            weaker = np.max([found[key - {k}] for k in subset], axis=0)
            for t in np.nonzero(need > weaker + 1e-9)[0]:
                out.append((subset, int(t), float(np.ceil(need[t] / d.block_mw - 1e-6))))
    return out


def add_fleet_rounding(b: Builder) -> None:
    """Valid inequality: the blocks installed fleet-wide cover the year's target, rounded up.

    See :func:`fleet_rounding_need`. Every integer plan already satisfies it (GPUs fit the
    blocks of their cooling and a hard target puts at least the target online), so the
    optimum is unchanged; the LP relaxation, which could otherwise fill fractional blocks
    exactly, pays for the rounding and its bound rises. Left out under a soft target.
    """
    if (
        not (b.opt.tighten and b.on("fleet_rounding") and b.on("target") and b.on("it_capacity"))
        or b.dom.penalty > 0
    ):
        return
    m, c = b.m, b.col
    rows = [r for r in fleet_rounding_need(b) if r[2] > 0]
    if not rows:
        return
    labels = [
        ("+".join(m.coords["cooling"][k] for k in subset), int(m.years[t])) for subset, t, _ in rows
    ]
    pos = m.add_rows(
        "it_fleet_min",
        ("cooling_set", "year"),
        np.ones(len(rows), bool),
        "ge",
        np.asarray([r[2] for r in rows]),
        labels=labels,
    )
    for row, (subset, t, _) in zip(pos, rows, strict=False):
        cols = c.it_blocks[:, 0, list(subset), 0, t].reshape(-1)
        m.terms(np.full(cols.shape, row), cols, 1.0)


def add_build_rate(b: Builder) -> None:
    """IT MW commissioned per site and year, over all coolings, <= max_build_mw_per_yr.

    Also in a site's first possible year (the addition is then the whole capacity): the
    column bounds cap each cooling alone, not their sum.
    """
    if not b.on("build_rate"):
        return
    m, c, d = b.m, b.col, b.dom
    rate = m.coef("max_build_mw_per_yr")
    has = (c.it_blocks >= 0).any(axis=2, keepdims=True)
    reach = (np.where(c.it_blocks >= 0, d.blocks_ub, 0.0)).sum(axis=2, keepdims=True) * d.block_mw
    need = has & np.isfinite(rate) & (rate < reach)
    r = m.add_rows(
        "build_rate_max", ("site", "year"), need, "le", np.where(np.isfinite(rate), rate, 0.0)
    )
    m.terms(r, c.it_blocks, d.block_mw)
    m.terms(r, shift(c.it_blocks, 1), -d.block_mw)


def add_land(b: Builder) -> None:
    """Installed IT over all coolings <= land_mw (last year; every year without monotone)."""
    if not b.on("land"):
        return
    m, c, d = b.m, b.col, b.dom
    land = m.coef("land_mw")
    years = np.zeros(m.sizes["year"], bool)
    years[-1] = True
    if not b.on("it_monotone"):
        years[:] = True
    reach = (np.where(c.it_blocks >= 0, d.blocks_ub, 0.0)).sum(axis=2, keepdims=True) * d.block_mw
    has = (c.it_blocks >= 0).any(axis=2, keepdims=True)
    mask = has & years.reshape(1, 1, 1, 1, -1) & np.isfinite(land) & (land < reach)
    r = m.add_rows("land_max", ("site", "year"), mask, "le", np.where(np.isfinite(land), land, 0.0))
    m.terms(r, c.it_blocks, d.block_mw)


def add_site_open(b: Builder) -> None:
    """IT capacity only at active sites (big-M = the site's IT limit); a site stays open."""
    if not b.on("site_open"):
        return
    m, c, d = b.m, b.col, b.dom
    reach = (np.where(c.it_blocks >= 0, d.blocks_ub, 0.0)).sum(axis=2, keepdims=True) * d.block_mw
    big = np.minimum(reach, d.site_cap)
    has = (c.it_blocks >= 0).any(axis=2, keepdims=True)
    r = m.add_rows("site_open_capacity", ("site", "year"), has, "le", 0.0)
    m.terms(r, c.it_blocks, d.block_mw)
    m.terms(r, c.site_active, -big)
    add_monotone(b, "site_active_monotone", ("site", "year"), c.site_active)


def _last(pos: np.ndarray) -> np.ndarray:
    return pos[..., -1:]


def add_site_count(b: Builder) -> None:
    """min_sites <= sites opened by the last year <= max_sites."""
    if not b.on("site_count"):
        return
    m, c = b.m, b.col
    n_sites = m.sizes["site"]
    lo = int(m.inputs.attrs.get("min_sites", 0) or 0)
    hi = m.inputs.attrs.get("max_sites", n_sites)
    hi = n_sites if hi is None or not np.isfinite(float(hi)) else int(hi)
    one = np.ones((1, 1, 1, 1, 1), bool)
    r = m.add_rows("sites_min", (), one & (lo > 0), "ge", lo)
    m.terms(r, _last(c.site_active), 1.0)
    r = m.add_rows("sites_max", (), one & (hi < n_sites), "le", hi)
    m.terms(r, _last(c.site_active), 1.0)


def add_facility_peak(b: Builder) -> None:
    """Facility peak of the GPUs online <= interconnect MW energised at the site."""
    if not b.on("facility_peak"):
        return
    m, c = b.m, b.col
    has = b.dom.gpu_ok.any(axis=(1, 2), keepdims=True)
    r = m.add_rows("facility_peak_max", ("site", "year"), has, "le", 0.0)
    b.pos["facility_peak_max"] = r
    m.terms(r, c.gpus, m.coef("facility_peak_kw_per_gpu"))
    m.terms(r, c.ic_mw, -1.0)


def add_interconnect(b: Builder) -> None:
    """Phasing, monotone energisation, option capacity and one option per opened site."""
    m, c = b.m, b.col
    prev = shift(c.ic_mw, 1)
    if b.on("ic_phase"):
        phase = m.coef("ic_phase_mw_per_yr")
        need = (c.ic_mw >= 0) & np.isfinite(phase) & (phase < b.dom.ic_ub)
        r = m.add_rows(
            "ic_phase_max",
            ("site", "option", "year"),
            need,
            "le",
            np.where(np.isfinite(phase), phase, 0.0),
        )
        m.terms(r, c.ic_mw, 1.0)
        m.terms(r, prev, -1.0)
    if b.on("ic_monotone"):
        add_monotone(b, "ic_mw_monotone", ("site", "option", "year"), c.ic_mw)
    if b.on("ic_capacity"):
        r = m.add_rows("ic_capacity_max", ("site", "option", "year"), c.ic_mw >= 0, "le", 0.0)
        m.terms(r, c.ic_mw, 1.0)
        cap = m.coef("ic_capacity_mw")
        if b.opt.tighten:
            # the MW the option can have energised by year t (phasing from its earliest
            # year): with v = 1 the column bound already holds, with v = 0 both give 0
            cap = np.minimum(cap, b.dom.ic_ub)
        m.terms(r, c.ic_active, -cap)
    if b.on("ic_choice"):
        add_monotone(b, "ic_active_monotone", ("site", "option", "year"), c.ic_active)
        link = b.on("site_open")
        has = (_last(c.ic_active) >= 0).any(axis=3, keepdims=True)
        r = m.add_rows("ic_choice_max", ("site",), has, "le", 0.0 if link else 1.0)
        m.terms(r, _last(c.ic_active), 1.0)
        if link:
            m.terms(r, _last(c.site_active), -1.0)


def ic_block_rounding_terms(b: Builder) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Slopes and option terms of the IT-block rounding cuts, or None without their premises.

    At site s in year t the IT load ``q = sum_c it_kw_c g`` fits the blocks, ``q <= B N``
    (``N`` the blocks over all coolings, a whole number), and the interconnect option
    energised: ``rho q <= e_o <= cap_o v_o`` with ``rho`` the site's lowest facility peak per
    IT kW that year, and at most one option active (``ic_choice``). When option p is active,
    ``q <= min(B N, Q_p)`` with ``Q_p = cap_p / rho``. For a slope ``gamma`` in [0, 1] the
    most ``min(B N, Q_p) - gamma B N`` can be over whole ``N >= 0`` is
    ``delta_p = B max(f_p (1 - gamma), Q_p/B - gamma (f_p + 1))``, ``f_p = floor(Q_p / B)``.
    So ``q <= gamma B N + sum_p delta_p v_p`` holds for every integer plan (with no option
    active, ``q = 0``). The row of option o takes ``gamma = frac(Q_o / B)``, which makes it
    tight at both ``N = f_o`` and ``N = f_o + 1`` with option o active: behind an
    interconnect smaller than a block the LP must pay for the whole block.

    Returns ``gamma`` (site, 1, 1, option, year; NaN where option o gives no row) and, per
    option p, ``delta_p`` (same shape) [MW].
    """
    m, c, d = b.m, b.col, b.dom
    premises = ("it_capacity", "facility_peak", "ic_capacity", "ic_choice")
    if not (b.opt.tighten and all(b.on(f) for f in premises)) or b.pos.get("facility_peak_supply"):
        return None
    kw = m.coef("it_kw_per_gpu")
    fpk = m.coef("facility_peak_kw_per_gpu")
    ratio = np.where(d.gpu_ok & (kw > 0), fpk / np.where(kw > 0, kw, 1.0), np.inf)
    rho = ratio.min(axis=(1, 2), keepdims=True)  # (site, 1, 1, 1, year); inf: no GPUs
    if (rho <= 0).any():
        return None
    usable = np.isfinite(rho)
    has = (c.ic_active >= 0) & usable
    cap = np.where(has, np.minimum(m.coef("ic_capacity_mw"), d.ic_ub), 0.0)
    q = cap / np.where(usable, rho, 1.0) / d.block_mw  # IT the option allows [blocks]
    f = np.floor(q + 1e-9)
    frac = q - f
    gamma = np.where(has & (frac > 1e-6) & (frac < 1.0 - 1e-6), frac, np.nan)
    delta = []
    for p in range(q.shape[3]):
        fp, qp = f[:, :, :, p : p + 1, :], q[:, :, :, p : p + 1, :]
        dp = np.maximum(fp * (1.0 - gamma), qp - gamma * (fp + 1.0)) * d.block_mw
        delta.append(np.where(has[:, :, :, p : p + 1, :], np.maximum(dp, 0.0), 0.0))
    return gamma, delta


def add_ic_block_rounding(b: Builder) -> None:
    """Valid inequality: IT behind an interconnect pays for the blocks it rounds up to.

    See :func:`ic_block_rounding_terms`. Every integer plan satisfies it, so the optimum is
    unchanged (``tests/test_differential.py``); the LP relaxation, which otherwise holds
    the IT behind a 20 MW line in 0.3 of a 50 MW block, pays for the whole block.
    """
    if not b.on("ic_block_rounding"):
        return
    terms = ic_block_rounding_terms(b)
    if terms is None:
        return
    gamma, delta = terms
    m, c, d = b.m, b.col, b.dom
    ok = np.isfinite(gamma)  # only where the site may hold GPUs that year (rho finite)
    r = m.add_rows("ic_block_rounding", ("site", "option", "year"), ok, "le", 0.0)
    m.terms(r, c.gpus, m.coef("it_kw_per_gpu"))
    m.terms(r, c.it_blocks, -np.where(ok, gamma, 0.0) * d.block_mw)
    for p, dp in enumerate(delta):
        m.terms(r, c.ic_active[:, :, :, p : p + 1, :], -dp)


def add_water_cap(b: Builder) -> None:
    """On-site water of the GPUs online <= water_cap_m3_per_yr (rows in 1,000 m3)."""
    if not b.on("water_cap"):
        return
    m, c = b.m, b.col
    cap = m.coef("water_cap_m3_per_yr") / 1e3
    has = b.dom.gpu_ok.any(axis=(1, 2), keepdims=True) & np.isfinite(cap)
    r = m.add_rows(
        "water_cap_max", ("site", "year"), has, "le", np.where(np.isfinite(cap), cap, 0.0)
    )
    m.terms(r, c.gpus, m.coef("water_m3_per_gpu_year"))  # m3/GPU = 1,000 m3 per kGPU


def add_capex_budget(b: Builder) -> None:
    """Capital spent (cash) in each year <= capex_budget_usd (rows in MUSD)."""
    if not b.on("capex_budget"):
        return
    m, c, d = b.m, b.col, b.dom
    budget = m.coef("capex_budget_usd") / 1e6
    r = m.add_rows(
        "capex_budget_max",
        ("year",),
        np.isfinite(budget),
        "le",
        np.where(np.isfinite(budget), budget, 0.0),
    )
    b.pos["capex_budget_max"] = r
    # a cumulative column x_t spends (x_t - x_{t-1}) c in year t: +c in row t, -c in row t+1
    nxt = next_year(r)
    fac = m.coef("facility_capex_usd_per_mw") * d.block_mw / 1e6
    m.terms(r, c.it_blocks, fac)
    m.terms(nxt, c.it_blocks, -fac)
    opening = m.coef("site_open_usd") / 1e6
    m.terms(r, c.site_active, opening)
    m.terms(nxt, c.site_active, -opening)
    ic = m.coef("ic_capex_usd") / 1e6
    m.terms(r, c.ic_active, ic)
    m.terms(nxt, c.ic_active, -ic)
    m.terms(r, c.gpus_new, m.coef("gpu_capex_usd") / 1e3)


def add_carbon_cap(b: Builder) -> None:
    """Fleet CO2 from facility energy <= carbon_cap_t (rows in kt)."""
    if not b.on("carbon_cap"):
        return
    m, c = b.m, b.col
    cap = m.coef("carbon_cap_t") / 1e3
    r = m.add_rows(
        "carbon_cap_max", ("year",), np.isfinite(cap), "le", np.where(np.isfinite(cap), cap, 0.0)
    )
    b.pos["carbon_cap_max"] = r
    m.terms(r, c.gpus, m.coef("facility_mwh_per_gpu_year") * m.coef("co2_t_per_mwh"))


def add_iso_share(b: Builder) -> None:
    """IT capacity in any one ISO <= max_iso_share x fleet IT capacity."""
    if not b.dom.iso_on:
        return
    m, c, d = b.m, b.col, b.dom
    share = float(m.inputs.attrs["max_iso_share"])
    r = m.add_rows("it_total_def", ("year",), np.ones(m.shape(("year",)), bool), "eq", 0.0)
    m.terms(r, c.it_total, 1.0)
    m.terms(r, c.it_blocks, -d.block_mw)
    iso = np.asarray(m.inputs["iso"].values).astype(str)
    names, idx = np.unique(iso, return_inverse=True)
    has = np.zeros((len(names), m.sizes["year"]), bool)
    np.logical_or.at(has, idx, (c.it_blocks >= 0).any(axis=(1, 2, 3)))
    labels = [(str(names[i]), int(m.years[t])) for i, t in zip(*np.nonzero(has), strict=False)]
    rows = m.add_rows("iso_share_max", ("iso", "year"), has, "le", 0.0, labels=labels)
    site_rows = rows[idx].reshape(m.sizes["site"], 1, 1, 1, m.sizes["year"])
    m.terms(site_rows, c.it_blocks, d.block_mw)
    m.terms(rows, c.it_total.reshape(1, -1), -share)


def add_structural_rows(b: Builder) -> None:
    """Elastic model only: the zeros the index sets impose, as rows a relaxation may loosen."""
    if not b.opt.elastic:
        return
    m, c, d = b.m, b.col, b.dom
    y = m.years.reshape(1, 1, 1, 1, -1)
    if b.on("permit"):
        early = (c.it_blocks >= 0) & (y < d.it_start)
        r = m.add_rows("it_before_permit", ("site", "cooling", "year"), early, "le", 0.0)
        m.terms(r, c.it_blocks, d.block_mw)
    if b.on("ic_lead"):
        early = (c.ic_mw >= 0) & (y < d.ic_start)
        r = m.add_rows("ic_before_earliest", ("site", "option", "year"), early, "le", 0.0)
        m.terms(r, c.ic_mw, 1.0)
    if b.on("chip_first_year"):
        early = (y < m.coef("first_year")) & (c.gpus >= 0).any(axis=(0, 2), keepdims=True)
        r = m.add_rows("gpus_before_sale", ("chip", "year"), early, "le", 0.0)
        m.terms(r, c.gpus, 1.0)


# ------------------------------------------------------------------------------ objective
def add_objective(b: Builder) -> None:
    """NPV of capital charges, opex and shortfall penalty [MUSD].

    Capital charges follow the study's method (annuity, salvage or none) through the
    ``capital_factor_*`` inputs: the NPV charged per USD of an asset bought in year t.
    A cumulative column (blocks, active site, active interconnect) bought in year t is
    charged ``f_t``; written per column as ``x_t (f_t - f_{t+1})`` (one nonzero each).
    """
    m, c, d = b.m, b.col, b.dom
    df = m.coef("discount_factor")
    fac = m.coef("facility_capex_usd_per_mw") * drop_next(m.coef("capital_factor_facility"))
    om = m.coef("fixed_om_usd_per_mw_yr") * df
    m.objective(c.it_blocks, d.block_mw * (fac + om) / 1e6)
    price = m.coef("electricity_usd_per_mwh") + m.coef("carbon_price_usd_per_t") * m.coef(
        "co2_t_per_mwh"
    )
    per_gpu_year = m.coef("facility_mwh_per_gpu_year") * price + m.coef(
        "water_m3_per_gpu_year"
    ) * m.coef("water_usd_per_m3")
    m.objective(c.gpus, df * per_gpu_year / 1e3)  # USD/GPU x 1,000 GPU / 1e6
    m.objective(c.gpus_new, m.coef("capital_factor_gpu") * m.coef("gpu_capex_usd") / 1e3)
    m.objective(
        c.site_active, drop_next(m.coef("capital_factor_site")) * m.coef("site_open_usd") / 1e6
    )
    m.objective(
        c.ic_active,
        drop_next(m.coef("capital_factor_interconnect")) * m.coef("ic_capex_usd") / 1e6,
    )
    if d.penalty > 0:
        m.objective(c.shortfall_gpus, df * d.penalty / 1e3)
        pflops = m.coef("dense_pflops")
        allowed = m.coef("target_chip_allowed").astype(bool) & (pflops > 0)
        per_pf = d.penalty / float(pflops[allowed].min()) if allowed.any() else d.penalty
        m.objective(c.shortfall_pflops, df * per_pf / 1e3)


# ------------------------------------------------------------------------- finish, Pyomo
def _finish(b: Builder) -> SitingModel:
    """The arrays of the built matrix; rows that lost every variable are checked and dropped."""
    m = b.m
    A, rhs, sense, lb, ub, integer, cost = m.arrays()
    keep_rows = np.diff(A.indptr) > 0
    trivial: list = []
    if not keep_rows.all():
        empty = ~keep_rows
        holds = np.where(
            sense == "le",
            0.0 <= rhs + _TOL,
            np.where(sense == "ge", 0.0 >= rhs - _TOL, np.abs(rhs) <= _TOL),
        )
        bad = empty & ~holds
        new_index = np.cumsum(keep_rows) - 1
        for fam in m.rows.values():
            if bad[fam.start : fam.stop].any():
                for k in np.nonzero(bad[fam.start : fam.stop])[0].tolist():
                    i = fam.start + k
                    trivial.append((fam.name, fam.labels[k], fam.sense, float(rhs[i])))
            # empty rows carry no information for the solver: drop them
            kept = keep_rows[fam.start : fam.stop]
            fam.keep(kept)
            start = int(new_index[fam.start - 1] + 1) if fam.start > 0 else 0
            fam.start, fam.stop = start, start + int(kept.sum())
        A = A[keep_rows]
        rhs = rhs[keep_rows]
        sense = sense[keep_rows]
    return SitingModel(
        inputs=m.inputs,
        options=b.opt,
        variables=m.variables,
        rows=m.rows,
        A=A,
        rhs=rhs,
        senses=sense,
        col_lower=lb,
        col_upper=ub,
        integrality=integer,
        cost=cost,
        cost_offset=0.0,
        trivially_infeasible=trivial,
    )


def to_pyomo(sm: SitingModel) -> tuple[pyo.ConcreteModel, list]:
    """The Pyomo ConcreteModel of ``sm`` and its variable of every column, in column order.

    One indexed ``Var`` per variable family and one indexed ``Constraint`` per row family
    (a scalar one for a family without dims), keyed by the same labels as ``sm.rows``; one
    ``LinearExpression`` per row from the CSR matrix (no generator sums); the objective is
    ``sm.cost``. Compiled by Pyomo's ``LinearStandardFormCompiler`` with
    ``column_order=vardata`` it gives back ``sm``'s matrix (``tests/test_optimize.py``).
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    started = time.perf_counter()
    kinds = {"binary": pyo.Binary, "integer": pyo.NonNegativeIntegers, "continuous": pyo.Reals}
    coords = {d: list(sm.inputs[d].values.tolist()) for d in AX}
    model = pyo.ConcreteModel(name=str(sm.inputs.attrs.get("study_name", "dcplan")))
    vardata: list = []
    for fam in sm.variables.values():
        if fam.expand is not None:  # not a column (the compact form's gpus)
            continue
        labels = _labels(np.flatnonzero(fam.pos >= 0), fam.pos.shape, fam.dims, coords)
        var = pyo.Var(labels, domain=kinds[fam.kind], dense=True)
        model.add_component(fam.name, var)
        vardata.extend(var.values())
    for v, lo, hi in zip(vardata, sm.col_lower.tolist(), sm.col_upper.tolist(), strict=True):
        v.setlb(lo)
        v.setub(None if hi == np.inf else hi)

    A = sm.A
    indptr = A.indptr.tolist()
    indices = A.indices.tolist()
    data = A.data.tolist()
    rhs = sm.rhs.tolist()
    for fam in sm.rows.values():
        rows = {}
        for k, label in enumerate(fam.labels):
            i = fam.start + k
            expr = LinearExpression(
                constant=0.0,
                linear_coefs=data[indptr[i] : indptr[i + 1]],
                linear_vars=[vardata[j] for j in indices[indptr[i] : indptr[i + 1]]],
            )
            rows[label] = (
                expr <= rhs[i]
                if fam.sense == "le"
                else (expr >= rhs[i] if fam.sense == "ge" else expr == rhs[i])
            )
        if not fam.dims:
            if rows:
                model.add_component(fam.name, pyo.Constraint(expr=next(iter(rows.values()))))
            continue
        model.add_component(
            fam.name,
            pyo.Constraint(list(rows), rule=lambda _m, *i, _r=rows: _r[i if len(i) > 1 else i[0]]),
        )
    nz = np.nonzero(sm.cost)[0]
    model.objective = pyo.Objective(
        expr=LinearExpression(
            constant=sm.cost_offset,
            linear_coefs=sm.cost[nz].tolist(),
            linear_vars=[vardata[j] for j in nz.tolist()],
        ),
        sense=pyo.minimize,
    )
    logger.info("Pyomo model of %r built in %.2f s", sm, time.perf_counter() - started)
    return model, vardata


_TOL = 1e-9
