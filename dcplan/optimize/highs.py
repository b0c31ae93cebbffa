"""Pass a SitingModel to HiGHS: the hand-off shared by the solve, the diagnosis and the
shadow prices.

Two routes give the same rows, columns and coefficients (docs/performance.md §3):

* default: the SitingModel's own arrays (its CSR matrix row-wise, HiGHS turning it
  column-wise) -> one ``Highs.passModel`` with integrality;
* ``compile_pyomo=True``: the Pyomo model (built on demand, :func:`dcplan.optimize.model.to_pyomo`)
  through Pyomo's ``LinearStandardFormCompiler`` (mixed form, fixed column order) -> scipy CSC
  -> ``passModel``. Slower by two orders of magnitude at scale; kept as the reference route
  and for models edited through Pyomo.

This module imports only the model and HiGHS, so :mod:`dcplan.optimize.solve`, ``diagnose``
and ``duals`` can all use it without importing each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

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


def handoff(sm: SitingModel, *, compile_pyomo: bool = False) -> Handoff:
    """Pass ``sm`` to a new ``highspy.Highs``.

    By default the SitingModel's own arrays are passed. With ``compile_pyomo=True``,
    ``sm.model`` (the Pyomo model, built now if it was not yet; its build time is counted in
    ``seconds``) is compiled to standard form by Pyomo and that is passed: the same rows and
    columns (``tests/test_optimize.py`` checks both routes give the identical matrix).
    """
    started = time.perf_counter()
    if compile_pyomo:
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        info = LinearStandardFormCompiler().write(
            sm.model, mixed_form=True, column_order=sm.vardata
        )
        position = {id(v): i for i, v in enumerate(sm.vardata)}
        cols = np.fromiter(
            (position[id(v)] for v in info.columns), dtype=np.int64, count=len(info.columns)
        )
        A = info.A.tocsc()
        a_format = 1  # column-wise
        rhs = np.asarray(info.rhs, dtype=float)
        mult = np.fromiter((r[1] for r in info.rows), dtype=np.int64, count=len(info.rows))
        if len(info.rows) != sm.n_row:
            msg = f"standard form has {len(info.rows)} rows, the model {sm.n_row}"
            raise SolveError(msg, status="error")
        rows = np.arange(sm.n_row)
        cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(len(cols))
        offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
        row_lower = np.where(mult <= 0, rhs, -np.inf)
        row_upper = np.where(mult >= 0, rhs, np.inf)
    else:
        cols = np.arange(sm.n_col)
        # row-wise, as built: HiGHS makes its column-wise copy itself, so no CSC copy here
        # (less peak memory, and faster than scipy's tocsc)
        A = sm.A
        a_format = 2
        row_lower, row_upper = sm.row_bounds()
        rows = np.arange(sm.n_row)
        cost = sm.cost
        offset = sm.cost_offset
    col_lower = sm.col_lower[cols]
    col_upper = sm.col_upper[cols]
    integrality = sm.integrality[cols].astype(np.int32)
    h = new_highs()
    status = h.passModel(
        len(cols),
        A.shape[0],
        A.nnz,
        a_format,
        1,
        offset,
        np.ascontiguousarray(cost, dtype=float),
        col_lower,
        col_upper,
        row_lower,
        row_upper,
        np.asarray(A.indptr[:-1], dtype=np.int32),  # no copy when already int32
        np.asarray(A.indices, dtype=np.int32),
        np.asarray(A.data, dtype=float),
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
