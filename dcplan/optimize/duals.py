"""Shadow prices of a plan: fix its integer decisions, re-solve the LP, aggregate the duals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dcplan.optimize.registry import CONSTRAINTS, MEANING


def shadow_prices(plan, *, binding_tol: float = 1e-7) -> pd.DataFrame:
    """Duals by constraint family and year, from the LP with the plan's integers fixed.

    Parameters
    ----------
    plan : dcplan.results.Plan
        A solved plan (its ``in_`` inputs are rebuilt into the model).
    binding_tol : float
        |dual| above which a row counts as binding.

    Returns
    -------
    pandas.DataFrame
        Columns ``family``, ``constraint``, ``year`` (-1 when the row has no year), ``dual``
        (sum over rows, MUSD of NPV per model unit of the row), ``usd_per_unit`` (the dual of
        the single row with the largest one, in USD), ``where`` (that row's site, cooling,
        option or ISO), ``unit`` (the row's model unit, e.g. MW or kGPU), ``binding`` (rows with a
        nonzero dual) and ``meaning``.
    """
    from dcplan.optimize.model import AX, build_model
    from dcplan.optimize.solve import handoff

    inputs = plan.inputs
    skip = tuple(filter(None, str(plan.dataset.attrs.get("skip", "")).split(",")))
    sm = build_model(inputs, skip=skip)
    ho = handoff(sm, compile_pyomo=False)
    h = ho.highs
    lower, upper = ho.col_lower.copy(), ho.col_upper.copy()
    block = float(inputs.attrs["block_mw"])
    fixed = {
        "site_active": plan.dataset["site_active"].astype(float),
        "it_blocks": plan.dataset["it_capacity_mw"] / block,
        "ic_active": plan.dataset["interconnect_active"].astype(float),
    }
    for name, da in fixed.items():
        fam = sm.variables[name]
        order = [d for d in AX if d in da.dims]
        values = np.asarray(da.transpose(*order).values).reshape(fam.pos.shape)
        mask = fam.pos >= 0
        lower[fam.pos[mask]] = upper[fam.pos[mask]] = np.round(values[mask])
    n = sm.n_col
    every = np.arange(n, dtype=np.int32)
    h.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
    h.changeColsBounds(n, every, lower, upper)
    h.run()
    dual = np.asarray(h.getSolution().row_dual)
    records = []
    for fam in sm.rows.values():
        entry = CONSTRAINTS[fam.name]
        d = dual[fam.start:fam.stop]
        if "year" in fam.dims:
            k = fam.dims.index("year")
            years = np.array([lab[k] if isinstance(lab, tuple) else lab for lab in fam.labels], dtype=int)
        else:
            years = np.full(len(d), -1)
        for year in np.unique(years):
            sel = years == year
            dual_sum = float(d[sel].sum())
            # the single most valuable row: loosening one row is what a planner can do
            rows_sel = np.nonzero(sel)[0]
            top = rows_sel[int(np.argmax(np.abs(d[sel])))] if len(rows_sel) else 0
            label = fam.labels[top] if len(rows_sel) else None
            records.append({"family": entry.family, "constraint": fam.name, "year": int(year),
                            "dual": dual_sum, "usd_per_unit": float(d[top]) * 1e6 if len(rows_sel) else 0.0,
                            "where": _where(label, fam.dims), "unit": entry.unit,
                            "binding": int((np.abs(d[sel]) > binding_tol).sum()),
                            "meaning": MEANING.get(entry.family, entry.description)})
    columns = ["family", "constraint", "year", "dual", "usd_per_unit", "where", "unit", "binding", "meaning"]
    return pd.DataFrame(records, columns=columns)


def _where(label, dims: tuple[str, ...]) -> str:
    """The non-year parts of a row label, e.g. ``site_a/dlc_dry``."""
    if label is None:
        return ""
    parts = label if isinstance(label, tuple) else (label,)
    return "/".join(str(p) for p, d in zip(parts, dims) if d != "year")
