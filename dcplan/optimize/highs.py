"""Pass a SitingModel to HiGHS: the standard-form hand-off shared by the solve, the
diagnosis and the shadow prices.

Route (docs/performance.md §2-3): ``LinearStandardFormCompiler`` (mixed form, fixed column
order) -> scipy CSC -> one ``Highs.passModel`` with integrality. This module imports only the
model and HiGHS, so :mod:`dcplan.optimize.solve`, ``diagnose`` and ``duals`` can all use it
without importing each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dcplan.errors import SolveError
from dcplan.optimize.highs_quiet import new_highs
from dcplan.optimize.model import SitingModel


@dataclass
class Handoff:
    """A model passed to HiGHS, with the column map back to the SitingModel's order."""

    highs: highspy.Highs
    cols: np.ndarray  # HiGHS column j is SitingModel column cols[j]
    rows: np.ndarray  # HiGHS row i is SitingModel row rows[i]
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    cost: np.ndarray
    integrality: np.ndarray
    seconds: float
    n_col: int


def handoff(sm: SitingModel, *, compile_pyomo: bool = True) -> Handoff:
    """Compile ``sm.model`` to standard form and pass it to a new ``highspy.Highs``.

    With ``compile_pyomo=False`` the SitingModel's own arrays are passed instead (same rows
    and columns; used by the diagnosis re-solves and as a cross-check in the tests).
    """
    started = time.perf_counter()
    if compile_pyomo:
        info = LinearStandardFormCompiler().write(
            sm.model, mixed_form=True, column_order=sm.vardata
        )
        position = {id(v): i for i, v in enumerate(sm.vardata)}
        cols = np.fromiter(
            (position[id(v)] for v in info.columns), dtype=np.int64, count=len(info.columns)
        )
        A = info.A.tocsc()
        rhs = np.asarray(info.rhs, dtype=float)
        mult = np.fromiter((r[1] for r in info.rows), dtype=np.int64, count=len(info.rows))
        if len(info.rows) != sm.n_row:
            msg = f"standard form has {len(info.rows)} rows, the model {sm.n_row}"
            raise SolveError(msg, status="error")
        rows = np.arange(sm.n_row)
        cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(len(cols))
        offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    else:
        cols = np.arange(sm.n_col)
        A = sm.A.tocsc()
        rhs = sm.rhs
        mult = np.select([sm.senses == "le", sm.senses == "ge"], [1, -1], 0)
        rows = np.arange(sm.n_row)
        cost = sm.cost
        offset = sm.cost_offset
    row_lower = np.where(mult <= 0, rhs, -np.inf)
    row_upper = np.where(mult >= 0, rhs, np.inf)
    col_lower = sm.col_lower[cols]
    col_upper = sm.col_upper[cols]
    integrality = sm.integrality[cols].astype(np.int32)
    h = new_highs()
    status = h.passModel(
        len(cols),
        A.shape[0],
        A.nnz,
        1,
        1,
        offset,
        np.ascontiguousarray(cost, dtype=float),
        col_lower,
        col_upper,
        row_lower,
        row_upper,
        A.indptr[:-1].astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(float),
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise SolveError("HiGHS rejected the model (passModel returned an error)", status="error")
    return Handoff(
        h,
        cols,
        rows,
        row_lower,
        row_upper,
        col_lower,
        col_upper,
        cost,
        integrality,
        time.perf_counter() - started,
        sm.n_col,
    )
