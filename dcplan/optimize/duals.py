"""Shadow prices of a plan: fix its integer decisions, re-solve the LP, aggregate the duals.

:func:`shadow_price_table` runs at solve time on the model just solved, and the table is
stored in the plan (as ``dual_*`` variables along a ``dual_row`` dimension), so a plan read
back from ``plan.nc`` carries its shadow prices without the optimiser. This module does not
import :mod:`dcplan.optimize.solve`: the caller hands it the HiGHS model (a ``Handoff``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.optimize.highs_quiet import safe_run
from dcplan.optimize.model import AX
from dcplan.optimize.registry import CONSTRAINTS, MEANING, TIGHTENINGS
from dcplan.results import DUAL_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.optimize.highs import Handoff
    from dcplan.optimize.model import SitingModel


def _fixed_values(dataset: xr.Dataset, block_mw: float) -> dict[str, xr.DataArray]:
    return {
        "site_active": dataset["site_active"].astype(float),
        "it_blocks": dataset["it_capacity_mw"] / block_mw,
        "ic_active": dataset["interconnect_active"].astype(float),
    }


def _in_use(dataset: xr.Dataset) -> dict[str, set]:
    """Sites opened, coolings installed and options chosen: where a planner can act."""
    cap = dataset["it_capacity_mw"]
    return {
        "site": {str(s) for s in dataset["site"].values[dataset["site_open"].values.astype(bool)]},
        "cooling": {
            str(k) for k in dataset["cooling"].values[(cap > 0).any(("site", "year")).values]
        },
        "option": {
            str(o)
            for o in dataset["option"].values[
                dataset["interconnect_option"].astype(bool).any("site").values
            ]
        },
    }


def _actionable(label, dims: tuple[str, ...], used: dict[str, set]) -> bool:
    parts = label if isinstance(label, tuple) else (label,)
    return all(str(p) in used[d] for p, d in zip(parts, dims, strict=False) if d in used)


def shadow_price_table(
    sm: SitingModel, ho: Handoff, dataset: xr.Dataset, *, binding_tol: float = 1e-7
) -> pd.DataFrame:
    """Duals by constraint and year, from the LP of ``sm`` with the plan's integers fixed.

    Parameters
    ----------
    sm : SitingModel
        The model the plan was solved from.
    ho : Handoff
        ``sm`` passed to HiGHS in SitingModel order (``handoff(sm, compile_pyomo=False)``);
        its bounds and integrality are changed here.
    dataset : xr.Dataset
        The plan's decisions ``site_open``, ``it_capacity_mw`` and ``interconnect_option``.
    binding_tol : float
        |dual| above which a row counts as binding.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`dcplan.results.DUAL_COLUMNS`: ``dual`` is the sum over the family's rows
        in the year
        (MUSD of NPV per model unit of the row); ``usd_per_unit``, ``where`` and ``actionable``
        describe the single row with the largest |dual| among rows at opened sites, installed
        coolings and chosen interconnect options (``actionable`` true), or among all rows when
        none of those bind (``actionable`` false); ``unit`` is the row's model unit (MW, kGPU...).
    """
    h = ho.highs
    lower, upper = ho.col_lower.copy(), ho.col_upper.copy()
    for name, da in _fixed_values(dataset, float(sm.inputs.attrs["block_mw"])).items():
        if name not in sm.variables:
            continue
        fam = sm.variables[name]
        order = [d for d in AX if d in da.dims]
        values = np.asarray(da.transpose(*order).values).reshape(fam.pos.shape)
        mask = fam.pos >= 0
        lower[fam.pos[mask]] = upper[fam.pos[mask]] = np.round(values[mask])
    n = sm.n_col
    every = np.arange(n, dtype=np.int32)
    h.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
    h.changeColsBounds(n, every, lower, upper)
    # valid inequalities are implied once the integers are fixed, yet tight where the real
    # limit binds (a degenerate LP may put the dual on them): free them, so the dual stays
    # on the limit a planner can act on
    for fam in sm.rows.values():
        if CONSTRAINTS[fam.name].family in TIGHTENINGS and fam.stop > fam.start:
            rows = np.arange(fam.start, fam.stop, dtype=np.int32)
            h.changeRowsBounds(len(rows), rows, np.full(len(rows), -np.inf), np.full(len(rows), np.inf))
    safe_run(h)
    dual = np.asarray(h.getSolution().row_dual)
    if (
        dual.size != sm.n_row
    ):  # no dual solution (the fixed LP failed): no table rather than a wrong one
        return pd.DataFrame(columns=DUAL_COLUMNS)
    used = _in_use(dataset)
    records = []
    for fam in sm.rows.values():
        entry = CONSTRAINTS[fam.name]
        d = dual[fam.start : fam.stop]
        if "year" in fam.dims:
            k = fam.dims.index("year")
            years = np.array(
                [lab[k] if isinstance(lab, tuple) else lab for lab in fam.labels], dtype=int
            )
        else:
            years = np.full(len(d), -1)
        acts = np.array([_actionable(lab, fam.dims, used) for lab in fam.labels], dtype=bool)
        for year in np.unique(years):
            sel = years == year
            rows_sel = np.nonzero(sel)[0]
            if not len(rows_sel):
                continue
            # the single most valuable row a planner can act on: loosening one row at a site
            # that is built, with a cooling that is installed
            pick = rows_sel[acts[rows_sel] & (np.abs(d[rows_sel]) > binding_tol)]
            actionable = bool(len(pick))
            pool = pick if actionable else rows_sel
            top = pool[int(np.argmax(np.abs(d[pool])))]
            records.append(
                {
                    "family": entry.family,
                    "constraint": fam.name,
                    "year": int(year),
                    "dual": float(d[sel].sum()),
                    "usd_per_unit": float(d[top]) * 1e6,
                    "where": _where(fam.labels[top], fam.dims),
                    "unit": entry.unit,
                    "binding": int((np.abs(d[sel]) > binding_tol).sum()),
                    "meaning": MEANING.get(entry.family, entry.description),
                    "actionable": actionable,
                }
            )
    return pd.DataFrame(records, columns=DUAL_COLUMNS)


def _where(label, dims: tuple[str, ...]) -> str:
    """The non-year parts of a row label, e.g. ``site_a/dlc_dry``."""
    if label is None:
        return ""
    parts = label if isinstance(label, tuple) else (label,)
    return "/".join(str(p) for p, d in zip(parts, dims, strict=False) if d != "year")
