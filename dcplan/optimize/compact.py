"""The compact formulation: GPUs online as window sums of their vintages.

The plain model has a column ``gpus[s,c,k,t]`` (GPUs online) and a row
``gpu_stock_balance``: ``gpus[t] = gpus[t-1] + gpus_new[t] - gpus_new[t-L]`` with ``L`` the
chip's service life. Where GPUs may sit at all, they may sit in every later year (the
``gpus`` domain of a cell is a tail of the horizon), so the balance has exactly one
solution::

    gpus[s,c,k,t] = sum of gpus_new[s,c,k,tau] over t-L < tau <= t   (W @ gpus_new)

:func:`compact_model` substitutes it into every row and the objective of a built
:class:`~dcplan.optimize.model.SitingModel`: with ``T`` the map from the remaining columns to
all columns (identity on them, ``W`` on ``gpus``), the compact matrix is ``A @ T`` without
the balance rows, and its cost ``T' c``. It has one row and one column fewer per GPU cell
(about 240,000 each at 1,000 sites x 20 years) and more nonzeros (each ``gpus`` term becomes
up to ``L`` ``gpus_new`` terms). ``gpus`` stays readable: ``sm.values(x, "gpus")`` returns
``W @ x`` on the compact solution, so the Plan, its audit, the levers and the shadow prices
see the same families as with the plain model.

The substitution is checked, not assumed: the balance rows of ``A @ T`` must vanish (every
coefficient below 1e-12), or :func:`compact_model` raises.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from dcplan.optimize.years import shift

if TYPE_CHECKING:  # build_model imports this module: no import back at run time
    from dcplan.optimize.model import SitingModel

logger = logging.getLogger(__name__)

#: the model's named axes (:data:`dcplan.optimize.model.AX`; a test checks they agree)
AX = ("site", "chip", "cooling", "option", "year")
#: the row family the compact form drops and the column family it expresses by its vintages
BALANCE, STOCK, NEW = "gpu_stock_balance", "gpus", "gpus_new"


def service_life(sm: SitingModel) -> np.ndarray:
    """Service life [years, >= 1] of each chip as a 5-D array over AX (as the balance rows)."""
    da = sm.inputs["service_life_yr"]
    order = [d for d in AX if d in da.dims]
    shape = [sm.inputs.sizes[d] if d in da.dims else 1 for d in AX]
    life = np.asarray(da.transpose(*order).values).reshape(shape)
    return np.maximum(np.rint(life).astype(int), 1)


def _kept_columns(sm: SitingModel) -> np.ndarray:
    """The columns of ``sm`` the compact form keeps (all but ``gpus``), in order."""
    stock = sm.variables[STOCK].pos
    removed = np.zeros(sm.n_col, bool)
    removed[stock[stock >= 0]] = True
    return np.flatnonzero(~removed)


def window_map(sm: SitingModel) -> sp.csr_array:
    """``T`` (all columns x columns without ``gpus``): x_all = T @ x_compact.

    Identity on the columns kept; row ``gpus[s,c,k,t]`` sums ``gpus_new[s,c,k,tau]`` over the
    last ``L`` years (columns numbered in the compact model's order).
    """
    stock, new = sm.variables[STOCK].pos, sm.variables[NEW].pos
    kept = _kept_columns(sm)
    index = np.full(sm.n_col, -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    rows, cols = [kept], [index[kept]]
    life = np.broadcast_to(service_life(sm), stock.shape)
    for lag in range(int(life.max()) if life.size else 0):
        src = shift(new, lag)
        ok = (stock >= 0) & (src >= 0) & (lag < life)
        rows.append(stock[ok])
        cols.append(index[src[ok]])
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(len(r)), (r, c)), shape=(sm.n_col, len(kept)))


def compact_model(sm: SitingModel) -> SitingModel:
    """The compact form of ``sm`` (see the module docstring); ``sm`` itself is unchanged.

    Returns ``sm`` when it has no stock balance (``skip=("gpu_stock",)``) or no GPU column.
    """
    if BALANCE not in sm.rows or STOCK not in sm.variables or NEW not in sm.variables:
        return sm
    started = time.perf_counter()
    T = window_map(sm)
    AT = (sm.A @ T).tocsr()
    AT.sum_duplicates()
    bal = sm.rows[BALANCE]
    residual = AT[bal.start : bal.stop]
    if residual.nnz and np.abs(residual.data).max() > 1e-12:
        msg = (
            "the GPU stock balance is not the window sum of its vintages in this model "
            f"(largest residual {np.abs(residual.data).max():.3g}); build it without compact"
        )
        raise ValueError(msg)
    keep_rows = np.ones(sm.n_row, bool)
    keep_rows[bal.start : bal.stop] = False
    A = AT[keep_rows]
    A.eliminate_zeros()
    empty = np.flatnonzero(np.diff(A.indptr) == 0)
    if empty.size:  # a row whose GPU terms cancelled: never expected, never hidden
        msg = f"the compact form left {empty.size} rows without variables"
        raise ValueError(msg)
    n_bal = bal.stop - bal.start
    rows = {
        name: fam.moved(-n_bal if fam.start >= bal.stop else 0)
        for name, fam in sm.rows.items()
        if name != BALANCE
    }
    kept = _kept_columns(sm)
    index = np.full(sm.n_col, -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    variables = {}
    for name, fam in sm.variables.items():
        if name == STOCK:  # read back through T: pos stays in the plain model's columns
            variables[name] = replace(fam, expand=T)
        else:
            pos = np.where(fam.pos >= 0, index[np.maximum(fam.pos, 0)], -1)
            variables[name] = replace(fam, pos=pos)
    out = replace(
        sm,
        variables=variables,
        rows=rows,
        A=A,
        rhs=sm.rhs[keep_rows],
        senses=sm.senses[keep_rows],
        col_lower=sm.col_lower[kept],
        col_upper=sm.col_upper[kept],
        integrality=sm.integrality[kept],
        cost=T.T @ sm.cost,
        compact=True,
        _pyomo=None,
    )
    logger.info("compact form %r in %.2f s", out, time.perf_counter() - started)
    return out
