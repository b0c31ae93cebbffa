"""The siting and build-out optimiser: Pyomo model, HiGHS hand-off, diagnosis and duals.

``build_model(inputs, skip=())`` builds the MILP; ``solve(inputs, ...)`` returns an audited
:class:`dcplan.results.Plan` or raises ``InfeasibleError`` / ``SolveError``.
"""

from __future__ import annotations

from dcplan.optimize.model import SitingModel, build_model
from dcplan.optimize.registry import CONSTRAINTS, FAMILIES, VARIABLES
from dcplan.optimize.solve import solve

__all__ = [
    "CONSTRAINTS", "FAMILIES", "VARIABLES", "SitingModel", "build_model", "shadow_prices", "solve",
]


def __getattr__(name):
    if name == "shadow_prices":
        from dcplan.optimize.reprice import shadow_prices

        return shadow_prices
    if name == "diagnose":
        from dcplan.optimize.diagnose import diagnose

        return diagnose
    raise AttributeError(f"module 'dcplan.optimize' has no attribute {name!r}")
