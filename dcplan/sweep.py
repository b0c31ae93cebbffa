"""Scenario sweeps: solve every combination of varied study fields in parallel on Dask.

Each scenario is one process-level task with HiGHS on one thread (HiGHS's MIP search is
essentially serial, so processes beat threads). Results are written per scenario and
gathered into one table, ``sweep.csv``.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from dcplan.atomic import atomic_dir, write_text_atomic
from dcplan.spec import Study, _set_path, parse_study, with_overrides  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)


def parse_vary(items: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``["limits.block_mw=10,20", "costs.carbon_price_usd_per_t=0,100"]``.

    Values are read as YAML scalars, so numbers, booleans and quantity strings all work.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        field, sep, values = item.partition("=")
        if not sep or not field.strip() or not values.strip():
            msg = f"--vary {item!r}: write field.path=value1,value2 (e.g. limits.block_mw=10,20)"
            raise ValueError(msg)
        grid[field.strip()] = [yaml.safe_load(v) for v in values.split(",")]
    return grid


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``["limits.block_mw=40", "solver.mip_rel_gap=0.005"]`` (one value each, YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip() or not value.strip():
            msg = f"--set {item!r}: write field.path=value (e.g. limits.block_mw=40)"
            raise ValueError(msg)
        out[field.strip()] = yaml.safe_load(value)
    return out


def scenarios(base: Study, grid: Mapping[str, list[Any]]) -> list[tuple[dict, Study]]:
    """Every combination of the grid applied to ``base``, validated."""
    raw = base.model_dump(mode="json", exclude_none=True)
    keys = list(grid)
    out = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        data = copy.deepcopy(raw)
        for key, value in zip(keys, combo, strict=True):
            _set_path(data, key, value)
        label = dict(zip(keys, combo, strict=True))
        study = parse_study(data, f"{base.name} with {label}")
        study._base_dir = base._base_dir
        out.append((label, study))
    return out


def _solve_one(study: Study, out_dir: str) -> dict:
    """Worker task: solve one scenario and return its summary (never raises)."""
    from dcplan.errors import DcplanError
    from dcplan.run import run_study

    try:
        plan = run_study(study, out=out_dir, report=False, threads=1)
        summary = plan.summary_dict()
    except DcplanError as exc:
        summary = {"status": type(exc).__name__, "error": str(exc).splitlines()[0]}
    return summary


def run_sweep(
    base: Study,
    grid: Mapping[str, list[Any]],
    *,
    out: str | Path,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[..., None] | None = None,
    report: bool = True,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Solve every scenario of ``grid`` on a Dask cluster and tabulate the results.

    ``out`` follows the output rules of :mod:`dcplan.atomic`: it is checked and locked
    before any scenario runs, and the whole sweep folder appears at once when it is done.

    Parameters
    ----------
    base : Study
    grid : mapping of dotted field path -> list of values
    out : folder; scenario ``i`` is written to ``out/scenario_<i>``, the table to
        ``out/sweep.csv``
    workers : local worker processes (ignored with ``scheduler``)
    scheduler : address of an existing Dask scheduler, e.g. ``tcp://head:8786``
    report : also write ``out/report/index.html``: the scenarios side by side and a tornado
        chart of the varied fields (:func:`dcplan.report.sweep.write_sweep_report`)
    overwrite : replace ``out`` even if it is a folder dcplan did not write

    Returns
    -------
    pandas.DataFrame
        One row per scenario: the varied values, status, objective and key totals.
    """
    from dcplan.run import study_paths

    out = Path(out)
    cases = scenarios(base, grid)
    with atomic_dir(out, overwrite=overwrite, protect=study_paths(base), kind="sweep") as stage:
        summaries = _solve_all(cases, stage, workers, scheduler, progress)
        rows = []
        for i, (label, _) in enumerate(cases):
            summary = summaries[i]
            rows.append(
                {
                    "scenario": i,
                    **label,
                    "status": summary.get("status"),
                    "objective_usd": summary.get("objective_usd"),
                    "mip_gap": summary.get("mip_gap"),
                    "sites_opened": summary.get("sites_opened"),
                    "sites": " ".join(summary.get("sites", [])),
                    "solve_seconds": summary.get("solve_seconds"),
                    "audit_ok": summary.get("audit", {}).get("ok"),
                    "error": summary.get("error", ""),
                }
            )
        table = pd.DataFrame(rows)
        write_text_atomic(stage / "sweep.csv", table.to_csv(index=False))
        if report:
            from dcplan.report.sweep import write_sweep_report

            write_sweep_report(table, grid, stage / "report")
    return table


def _solve_all(cases, stage: Path, workers: int, scheduler: str | None,
               progress) -> dict[int, dict]:
    from dask.distributed import Client, LocalCluster, as_completed

    progress = progress or (lambda *a, **k: None)
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=":0",  # a free port: never a "port 8787 in use" warning
            # dask's own chatter (start-up INFO, "event loop unresponsive" on a busy machine)
            # is not the planner's business; errors still show
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        futures = {
            client.submit(_solve_one, study, str(stage / f"scenario_{i}"), pure=False): i
            for i, (_, study) in enumerate(cases)
        }
        summaries: dict[int, dict] = {}
        for done, future in enumerate(as_completed(futures), start=1):
            summaries[futures[future]] = future.result()
            progress("sweep", {"phase": "sweep", "detail": f"{done}/{len(cases)} scenarios"})
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return summaries
