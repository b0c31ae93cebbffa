"""Shadow prices of a plan that was stored without them: rebuild the model and re-price it."""

from __future__ import annotations

import pandas as pd

from dcplan.optimize.duals import shadow_price_table
from dcplan.optimize.highs import handoff
from dcplan.optimize.model import build_model


def shadow_prices(plan, *, binding_tol: float = 1e-7) -> pd.DataFrame:
    """Duals by constraint family and year, from the LP with the plan's integers fixed.

    Solving already stores this table in the plan (:meth:`dcplan.results.Plan.shadow_prices`);
    this rebuilds the model from the plan's ``in_`` inputs to compute it again.

    Parameters
    ----------
    plan : dcplan.results.Plan
        A solved plan.
    binding_tol : float
        |dual| above which a row counts as binding.

    Returns
    -------
    pandas.DataFrame
        See :func:`dcplan.optimize.duals.shadow_price_table`.
    """
    skip = tuple(filter(None, str(plan.dataset.attrs.get("skip", "")).split(",")))
    sm = build_model(plan.inputs, skip=skip)
    return shadow_price_table(
        sm, handoff(sm, compile_pyomo=False), plan.dataset, binding_tol=binding_tol
    )
