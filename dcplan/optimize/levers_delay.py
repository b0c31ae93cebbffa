"""Value of delay: the study solved again with its target years shifted.

The cost-versus-speed curve of the fleet levers (docs/formulation.md, "Time-to-power
levers: fleet"): each point is a full solve of the study with every target year moved by
a whole number of years (:func:`dcplan.fleet_levers.shifted_study`), computed, never typed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from dcplan.fleet_levers import shifted_study

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.spec import Study

logger = logging.getLogger(__name__)


def delay_curve(study: Study, shifts=None, *, base=None, time_limit_s=None, mip_rel_gap=None,
                threads=None, progress=None) -> xr.Dataset:
    """Net present cost of the plan with every target year shifted (value of delay).

    Parameters
    ----------
    study : Study
        The study; ``shifts`` default to ``fleet_levers.value_of_delay.shifts_yr``.
    base : Plan, optional
        The plan of the unshifted study (shift 0), reused instead of solved again.

    Returns
    -------
    xarray.Dataset
        Along ``delay_shift`` (years; positive = later): ``delay_npv_usd``, ``delay_mip_gap``,
        ``delay_status`` ("optimal", "time_limit" or "infeasible").
    """
    from dcplan.errors import InfeasibleError, SolveError
    from dcplan.inputs import build_inputs
    from dcplan.optimize.solve import solve

    shifts = sorted(set(study.fleet_levers.value_of_delay.shifts_yr if shifts is None else shifts) | {0})
    opts = study.solver
    npv, gap, status = [], [], []
    for shift in shifts:
        if shift == 0 and base is not None:
            plan = base
        else:
            try:
                plan = solve(build_inputs(shifted_study(study, shift)),
                             time_limit_s=time_limit_s or opts.time_limit_s,
                             mip_rel_gap=mip_rel_gap or opts.mip_rel_gap,
                             threads=threads or opts.threads, seed=opts.seed, shadow_prices=False)
            except (InfeasibleError, SolveError) as exc:
                logger.info("value of delay: targets shifted %+d yr: %s", shift, exc)
                npv.append(np.nan)
                gap.append(np.nan)
                status.append("infeasible")
                continue
        npv.append(plan.objective_usd)
        gap.append(plan.mip_gap)
        status.append(plan.status)
        if progress is not None:
            progress("delay", {"phase": "delay", "detail": f"targets {shift:+d} yr: "
                               f"{plan.objective_usd / 1e9:,.2f} bn USD"})
    if progress is not None:
        progress("delay", {"phase": "delay", "done": True, "detail": f"{len(shifts)} solves"})
    return xr.Dataset(
        {"delay_npv_usd": ("delay_shift", np.asarray(npv, float),
                           {"units": "USD", "long_name": "net present cost with the target years shifted"}),
         "delay_mip_gap": ("delay_shift", np.asarray(gap, float),
                           {"units": "1", "long_name": "MIP gap of the shifted solve"}),
         "delay_status": ("delay_shift", np.asarray(status, dtype=str),
                          {"long_name": "solver verdict of the shifted solve"})},
        coords={"delay_shift": ("delay_shift", np.asarray(shifts, int),
                                {"units": "year", "long_name": "target years moved by (+ = later)"})},
    )
