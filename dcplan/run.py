"""Run a study end to end: inputs, optimisation, audit, outputs and report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from dcplan.atomic import atomic_dir
from dcplan.spec import Study

logger = logging.getLogger(__name__)

Progress = Callable[..., None]


def _noop(event: str, info: dict | None = None) -> None:
    return None


def run_study(
    study: Study,
    *,
    out: str | Path | None = None,
    report: bool = True,
    progress: Progress | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float | None = None,
    threads: int | None = None,
):
    """Build the inputs of ``study``, solve it, audit the plan and (optionally) write it.

    Parameters
    ----------
    study : Study
        A validated study (see :func:`dcplan.load_study`).
    out : path, optional
        Folder to write ``plan.nc``, ``sites.gpkg``, ``summary.json`` and ``report/`` into.
        The folder appears only once everything in it is complete.
    report : bool
        Also write the HTML report and figures.
    progress : callable, optional
        ``progress(event, info)`` is called at each phase (for the CLI's progress display).
    time_limit_s, mip_rel_gap, threads : optional
        Override the study's solver options.

    Returns
    -------
    Plan

    Raises
    ------
    InfeasibleError
        With a diagnosis in planning terms.
    SolveError
        Time limit reached with no feasible plan, or a solver failure.
    """
    from dcplan.inputs import build_inputs
    from dcplan.optimize import solve

    progress = progress or _noop
    progress("inputs", {"phase": "inputs", "detail": f"{study.name}"})
    inputs = build_inputs(study, progress=progress)
    progress("inputs", {"phase": "inputs", "done": True,
                        "detail": f"{inputs.sizes['site']} sites, {inputs.sizes['chip']} chips"})
    options = study.solver
    plan = solve(
        inputs,
        time_limit_s=time_limit_s if time_limit_s is not None else options.time_limit_s,
        mip_rel_gap=mip_rel_gap if mip_rel_gap is not None else options.mip_rel_gap,
        threads=threads if threads is not None else options.threads,
        seed=options.seed,
        progress=progress,
        study_yaml=study.to_yaml(),
    )
    if out is not None:
        progress("write", {"phase": "write", "detail": str(out)})
        with atomic_dir(out) as tmp:
            plan.to_dir(tmp)
            if report:
                from dcplan.report import write_report

                progress("report", {"phase": "report", "detail": "figures and HTML"})
                write_report(plan, tmp / "report")
        logger.info("wrote %s", out)
    return plan
