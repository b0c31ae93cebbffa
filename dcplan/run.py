"""Run a study end to end: inputs, optimisation, audit, outputs and report."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from dcplan.atomic import atomic_dir
from dcplan.errors import ReportError
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
    overwrite: bool = False,
    client=None,
):
    """Build the inputs of ``study``, solve it, audit the plan and (optionally) write it.

    Parameters
    ----------
    study : Study
        A validated study (see :func:`dcplan.load_study`).
    out : path, optional
        Folder to write ``plan.nc``, ``sites.gpkg``, ``summary.json`` and ``report/`` into.
        The folder appears only once everything in it is complete. It is checked and
        locked before any work: an existing folder is replaced only if dcplan wrote it
        (see :mod:`dcplan.atomic`), never a file, link or the study's own folder.
    report : bool
        Also write the HTML report and figures.
    progress : callable, optional
        ``progress(event, info)`` is called at each phase (for the CLI's progress display).
    time_limit_s, mip_rel_gap, threads : optional
        Override the study's solver options.
    overwrite : bool
        Replace ``out`` even if it is a folder dcplan did not write.
    client : dask.distributed.Client, optional
        Workers for the sifting route's per-site problems (see :func:`dcplan.solve`).

    Returns
    -------
    Plan
        (or :class:`dcplan.optimize.stochastic.StochasticPlan` for a study with an
        ``uncertainty:`` section: one audited plan per scenario, VSS and EVPI)

    Raises
    ------
    InfeasibleError
        With a diagnosis in planning terms.
    SolveError
        Time limit reached with no feasible plan, or a solver failure.
    OutputError
        ``out`` may not be written (checked before solving).
    ReportError
        The plan was solved and written to ``out`` but the report failed; the error
        carries the plan (``exc.plan``), so nothing is lost.
    """
    progress = progress or _noop
    if out is None:
        return _solve(study, progress, time_limit_s, mip_rel_gap, threads, client)
    report_error = None
    with atomic_dir(out, overwrite=overwrite, protect=study_paths(study), kind="run") as tmp:
        plan = _solve(study, progress, time_limit_s, mip_rel_gap, threads, client)
        progress("write", {"phase": "write", "detail": str(out)})
        plan.to_dir(tmp)
        if report:
            if getattr(plan, "is_stochastic", False):  # a two-stage study has its own report
                from dcplan.report.stochastic import write_stochastic_report as write_report
            else:
                from dcplan.report import write_report

            progress("report", {"phase": "report", "detail": "figures and HTML"})
            try:
                write_report(plan, tmp / "report")
            except Exception as exc:  # the plan is kept; the failure is raised after writing it
                logger.warning("the report failed: %s", exc)
                report_error = exc
                shutil.rmtree(tmp / "report", ignore_errors=True)  # no half report in the plan
    logger.info("wrote %s", out)
    if report_error is not None:
        msg = (f"the plan was written to {out}, but its report failed: "
               f"{type(report_error).__name__}: {str(report_error)[:300]}")
        raise ReportError(msg, plan=plan, out=Path(out)) from report_error
    return plan


def _solve(study: Study, progress, time_limit_s, mip_rel_gap, threads, client=None):
    from dcplan.inputs import build_inputs
    from dcplan.optimize import solve

    if study.uncertainty is not None:  # two-stage: every scenario, shared first-stage decisions
        from dcplan.optimize.stochastic import solve_study

        return solve_study(study, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads,
                           progress=progress)
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
        route=options.route,
        client=client,
    )
    if study.fleet_levers.value_of_delay.shifts_yr:
        from dcplan.optimize.levers_delay import delay_curve

        # value of delay: the study solved again with its target years shifted
        curve = delay_curve(study, base=plan, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
                            threads=threads, progress=progress)
        plan.dataset = plan.dataset.merge(curve, combine_attrs="override")
    return plan


def study_paths(study: Study) -> list[Path]:
    """The files a study reads (its own file, its site and weather files): never overwritten."""
    from dcplan.spec import resolve_path

    paths: list[Path] = []
    source = getattr(study, "_source", None)
    if source and Path(source).is_file():
        paths.append(Path(source))
    if study.sites.file:
        paths.append(resolve_path(study, study.sites.file))
    for site in [*study.sites.inline, *study.sites.overrides.values()]:
        if getattr(site, "weather_file", None):
            paths.append(resolve_path(study, site.weather_file))
    return paths
