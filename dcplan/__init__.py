"""dcplan: plan where, when and how to build the datacenters for an AI accelerator fleet.

The public API, in the order a study flows through it::

    import dcplan
    study = dcplan.load_study("models/training_campus.yaml")
    inputs = dcplan.build_inputs(study)          # xr.Dataset of physical coefficients
    plan = dcplan.solve(inputs)                  # Pyomo + HiGHS, audited
    plan = dcplan.run_study(study, out="runs/x") # all of the above, plus outputs and report

Submodules are imported lazily so that ``import dcplan`` stays fast and a notebook that
only needs the physics does not pay for Pyomo.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dcplan.errors import DataError, DcplanError, InfeasibleError, SolveError, SpecError

__version__ = "0.1.0"

_LAZY = {
    "load_study": ("dcplan.spec", "load_study"),
    "parse_study": ("dcplan.spec", "parse_study"),
    "Study": ("dcplan.spec", "Study"),
    "build_inputs": ("dcplan.inputs", "build_inputs"),
    "build_model": ("dcplan.optimize", "build_model"),
    "solve": ("dcplan.optimize", "solve"),
    "run_study": ("dcplan.run", "run_study"),
    "Plan": ("dcplan.results", "Plan"),
    "load_catalog": ("dcplan.sites", "load_catalog"),
}

__all__ = [
    "DataError",
    "DcplanError",
    "InfeasibleError",
    "SolveError",
    "SpecError",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dcplan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover  (explicit re-exports, for type checkers)
    from dcplan.inputs import build_inputs as build_inputs
    from dcplan.optimize import build_model as build_model
    from dcplan.optimize import solve as solve
    from dcplan.results import Plan as Plan
    from dcplan.run import run_study as run_study
    from dcplan.sites import load_catalog as load_catalog
    from dcplan.spec import Study as Study
    from dcplan.spec import load_study as load_study
    from dcplan.spec import parse_study as parse_study
