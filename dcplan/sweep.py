"""Scenario sweeps: many variants of one study, each solved as its own task on Dask.

The scenarios come from ``--vary`` (every combination of the listed values,
:func:`vary_scenarios`) or from a scenarios file (YAML or CSV, one named scenario per entry
or row, :func:`read_scenarios`). Each scenario is one task on a Dask worker with HiGHS on
one thread; the process that runs the sweep writes every result, so workers on other
machines need no shared output folder. The sweep folder ``OUT`` holds:

``dcplan-manifest.json``
    marks the folder as a dcplan sweep (kind ``sweep``)
``scenario_<name>/``
    one folder per scenario, written whole or not at all (:func:`dcplan.atomic.atomic_dir`):
    ``scenario.json`` (name, key, overrides, status, error, timings) and, when the scenario
    has a plan, the run files ``plan.nc``, ``sites.gpkg`` and ``summary.json``
``sweep.csv``
    one row per scenario: its values, status, objective, gap, solve and task seconds, error
``sweep.nc``
    every plan's decisions and flows along a ``scenario`` dimension (NaN where a scenario
    has no plan or lacks a site), plus the per-scenario figures of ``sweep.csv``
``report/index.html``
    the scenarios side by side and a tornado chart (:mod:`dcplan.report.sweep`)

A rerun resumes. A scenario is skipped when its folder holds a ``scenario.json`` whose key
matches the scenario now and whose status is final (a plan, or proven infeasible); the key
(:func:`scenario_key`) hashes the scenario's resolved study, the contents of the files it
reads and the dcplan version, so a changed scenario is solved again. Scenarios that ended
without a verdict (a solver error, a time limit with no plan, a crashed worker) are retried.
``fresh=True`` solves every scenario again and replaces only their folders.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from dcplan.atomic import (
    MANIFEST,
    atomic_dir,
    atomic_file,
    check_output_dir,
    output_lock,
    read_manifest,
    write_text_atomic,
)
from dcplan.errors import OutputError, Problem, ReportError, SpecError
from dcplan.spec import Study, _put, parse_study, with_overrides  # noqa: F401 (with_overrides re-exported)

logger = logging.getLogger(__name__)

Progress = Callable[..., None]

#: manifest kinds of a sweep folder and of one scenario's folder in it
SWEEP_KIND = "sweep"
SCENARIO_KIND = "sweep-scenario"
#: the record of one scenario, inside its folder
RECORD = "scenario.json"
#: statuses of a scenario with a plan
PLAN_STATUSES = ("optimal", "time_limit")
#: statuses a rerun keeps (the same study gives the same verdict); any other is retried
FINAL_STATUSES = (*PLAN_STATUSES, "infeasible")
#: statuses of a scenario without a plan: proven infeasible, the solver stopped without a plan
#: (time limit or solver failure), the plan failed its audit, the scenario's inputs could not
#: be built, or anything else (including a worker that died)
FAILED_STATUSES = ("infeasible", "no_plan", "audit_failed", "invalid_input", "error")
#: a scenario name: it becomes the folder scenario_<name>
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.,+=-]{0,99}$")
#: largest scenarios file read [bytes]
MAX_SCENARIOS_BYTES = 4_000_000
#: the scenario-name key of a YAML entry and column of a CSV file
NAME_KEY = "name"
#: longest error message kept in sweep.csv and sweep.nc [characters] (scenario.json has it whole)
MAX_ERROR_CHARS = 300


# ------------------------------------------------------------------------ options
def parse_vary(items: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``["limits.block_mw=10,20", "costs.carbon_price_usd_per_t=0,100"]``.

    Values are read as YAML scalars, so numbers, booleans and quantity strings all work.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        field_path, sep, values = item.partition("=")
        if not sep or not field_path.strip() or not values.strip():
            msg = f"--vary {item!r}: write field.path=value1,value2 (e.g. limits.block_mw=10,20)"
            raise ValueError(msg)
        grid[field_path.strip()] = [yaml.safe_load(v) for v in values.split(",")]
    return grid


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``["limits.block_mw=40", "solver.mip_rel_gap=0.005"]`` (one value each, YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        field_path, sep, value = item.partition("=")
        if not sep or not field_path.strip() or not value.strip():
            msg = f"--set {item!r}: write field.path=value (e.g. limits.block_mw=40)"
            raise ValueError(msg)
        out[field_path.strip()] = yaml.safe_load(value)
    return out


def _get(data: Mapping, dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


# ------------------------------------------------------------------------ scenarios
@dataclass(frozen=True)
class Scenario:
    """One variant of a study in a sweep.

    Attributes
    ----------
    name : str
        Unique in the sweep; the results go to ``scenario_<name>/``.
    overrides : dict
        Dotted field path -> value, as given.
    study : Study
        The base study with the overrides applied, validated; its name is
        ``"<base name> [<scenario name>]"``.
    key : str
        :func:`scenario_key` of ``study``: what a rerun compares to skip a finished scenario.
    """

    name: str
    overrides: dict[str, Any] = field(compare=False)
    study: Study = field(compare=False, repr=False)
    key: str = ""

    @property
    def folder(self) -> str:
        """The scenario's folder inside the sweep folder."""
        return f"scenario_{self.name}"


def _file_digest(path: Path) -> str:
    try:
        if path.is_dir():  # a weather folder: names, sizes and times of its files
            entries = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                             for p in path.iterdir() if p.is_file())
            return hashlib.sha256(repr(entries).encode()).hexdigest()
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def scenario_key(study: Study, _digests: dict | None = None) -> str:
    """A hash of the resolved study, the files it reads and the dcplan version [hex].

    The study is hashed as its canonical JSON (every default filled in, quantities in
    canonical units), so writing ``"50 MW"`` or ``50`` gives the same key; its name and
    description, which change no figure, are left out. The site and
    weather files it names are hashed by content (a weather folder by its file names, sizes
    and times). The shipped data tables are covered by the version.
    """
    from dcplan import __version__
    from dcplan.run import study_paths
    from dcplan.spec import resolve_path

    digests = _digests if _digests is not None else {}
    digest = hashlib.sha256(f"dcplan {__version__}\n".encode())
    resolved = study.model_dump(mode="json", exclude={"name", "description"})
    digest.update(json.dumps(resolved, sort_keys=True, default=str).encode())
    source = getattr(study, "_source", None)
    paths = [p for p in study_paths(study) if not (source and str(p) == str(source))]
    if study.weather.dir:
        paths.append(resolve_path(study, study.weather.dir))
    for path in paths:
        resolved = Path(path).resolve()
        if resolved not in digests:
            digests[resolved] = _file_digest(resolved)
        digest.update(f"\n{resolved}={digests[resolved]}".encode())
    return digest.hexdigest()


def _scenario_study(base: Study, base_data: dict, name: str, overrides: Mapping[str, Any],
                    where: str) -> tuple[Study | None, list[Problem]]:
    data = copy.deepcopy(base_data)
    problems = []
    for path, value in overrides.items():
        problem = _put(data, path, value)
        if problem:
            problems.append(Problem(f"{where}: {path}", problem,
                                    "give a field path of the study such as limits.block_mw"))
    if problems:
        return None, problems
    suffix = f" [{name}]"
    data["name"] = str(base.name)[: 120 - len(suffix)] + suffix
    try:
        study = parse_study(data, where)
    except SpecError as exc:
        fix = "change the value in this scenario (`dcplan schema` lists what each field accepts)"
        return None, [Problem(p.location, p.message, p.fix or fix) for p in exc.problems]
    study._base_dir = base._base_dir
    study._source = base._source
    return study, []


def _scenarios_from(base: Study, entries: Sequence[tuple[str, str, Mapping[str, Any]]],
                    problems: list[Problem]) -> list[Scenario]:
    """Build and validate (name, where, overrides) entries; add every problem to ``problems``."""
    base_data = base.model_dump(mode="json", exclude_none=True)
    seen: dict[str, str] = {}
    digests: dict = {}
    out = []
    for name, where, overrides in entries:
        if name in seen:
            problems.append(Problem(where, f"the scenario name {name!r} is also used at {seen[name]}",
                                    "give every scenario its own name"))
            continue
        seen[name] = where
        study, found = _scenario_study(base, base_data, name, overrides, where)
        problems.extend(found)
        if study is not None:
            out.append(Scenario(name, dict(overrides), study, scenario_key(study, digests)))
    return out


def _value_text(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, (Mapping, list)) else str(value)


def vary_scenarios(base: Study, grid: Mapping[str, Sequence[Any]]) -> list[Scenario]:
    """Every combination of the values in ``grid`` applied to ``base``, validated.

    Each scenario is named by its values, e.g. ``limits.block_mw=10,costs.carbon_price_usd_per_t=0``
    (characters that do not belong in a folder name become ``_``), so adding a value to a
    grid leaves the names, and the finished results, of the other combinations as they were.

    Raises
    ------
    SpecError
        A combination names an unknown field or gives a value the field does not accept.
    """
    keys = list(grid)
    entries = []
    names: set[str] = set()
    for combo in itertools.product(*(grid[k] for k in keys)):
        label = dict(zip(keys, combo, strict=True))
        text = ",".join(f"{k}={_value_text(v)}" for k, v in label.items())
        name = re.sub(r"[^A-Za-z0-9_.,+=-]", "_", text)[:100].lstrip("_.,+=-") or "scenario"
        stem, i = name, 1
        while name in names:
            i += 1
            name = f"{stem[:95]}-{i}"
        names.add(name)
        entries.append((name, f"--vary {text}", label))
    problems: list[Problem] = []
    cases = _scenarios_from(base, entries, problems)
    if problems:
        raise SpecError(problems, "--vary gives scenarios that are not valid studies")
    return cases


def read_scenarios(path: str | Path, base: Study) -> list[Scenario]:
    """Read a scenarios file and apply each scenario to ``base``; report every problem at once.

    YAML: a list of mappings, each with ``name`` and dotted field paths::

        - name: low_carbon
          costs.carbon_price_usd_per_t: 0
        - name: big_blocks
          limits.block_mw: "50 MW"
          limits.max_sites: 4

    CSV: a header row with a ``name`` column and one column per field path; each cell is
    read as a YAML value (``50``, ``"50 MW"``, ``true``, ``null``) and an empty cell leaves
    the field as the base study has it::

        name,costs.carbon_price_usd_per_t,limits.block_mw
        low_carbon,0,
        big_blocks,,50 MW

    A value replaces the whole field (a list such as ``fleet.gpus`` is given whole). Names
    may use letters, digits and ``_ . , + = -`` (up to 100 characters): each becomes the
    folder ``scenario_<name>``. A scenario with no fields is the base study itself.

    Raises
    ------
    SpecError
        Listing every problem, each naming the file, the scenario, the field, the value
        and the fix.
    """
    path = Path(path)
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise SpecError([Problem(where, f"a scenarios file must be .yaml, .yml or .csv, not {suffix or 'no suffix'!r}",
                                 "save the scenarios as YAML (a list of mappings) or CSV (a name column)")])
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIOS_BYTES:
            raise SpecError([Problem(where, f"the file is {size / 1e6:.1f} MB; a scenarios file may be at "
                                     f"most {MAX_SCENARIOS_BYTES / 1e6:.0f} MB", "split the sweep in two")])
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fix = "check the path" if isinstance(exc, FileNotFoundError) else "check the path, and save the file as UTF-8"
        raise SpecError([Problem(where, f"cannot read the scenarios file: {str(exc)[:200]}", fix)]) from None
    problems: list[Problem] = []
    raw = _csv_entries(text, where, problems) if suffix == ".csv" else _yaml_entries(text, where, problems)
    entries = []
    for name, location, overrides in raw:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            problems.append(Problem(f"{location}: {NAME_KEY}", f"the scenario name {str(name)[:60]!r} cannot "
                                    "name a folder", "use letters, digits and _ . , + = - (at most 100, "
                                    "starting with a letter or digit), e.g. low_carbon"))
            continue
        entries.append((name, location, overrides))
    if not raw and not problems:
        problems.append(Problem(where, "the file holds no scenarios",
                                "add one entry (YAML) or row (CSV) per scenario"))
    cases = _scenarios_from(base, entries, problems)
    if problems:
        n = len(problems)
        raise SpecError(problems, f"{where}: {n} problem{'s' if n != 1 else ''} in the scenarios")
    return cases


def _yaml_entries(text: str, where: str, problems: list[Problem]) -> list[tuple[Any, str, dict]]:
    from dcplan.spec import _StudyLoader

    try:
        data = yaml.load(text, Loader=_StudyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = str(getattr(exc, "problem", None) or exc)[:300]
        problems.append(Problem(at, f"YAML syntax error: {problem}", getattr(exc, "fix", "")
                                or "fix the indentation or quoting at that line"))
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(where, f"the file holds a {type(data).__name__}, not a list of scenarios",
                                "write one '- name: ...' entry per scenario"))
        return []
    out = []
    for i, entry in enumerate(data, start=1):
        if not isinstance(entry, Mapping):
            problems.append(Problem(f"{where}: entry {i}", f"a scenario is a mapping, got {str(entry)[:60]!r}",
                                    "write '- name: low_carbon' followed by 'field.path: value' lines"))
            continue
        if NAME_KEY not in entry:
            problems.append(Problem(f"{where}: entry {i}", "the scenario has no name",
                                    "add 'name: ...' to the entry"))
            continue
        location = f"{where}: scenario {str(entry[NAME_KEY])[:60]!r} (entry {i})"
        overrides = {}
        for key, value in entry.items():
            if key == NAME_KEY:
                continue
            if not isinstance(key, str):
                problems.append(Problem(location, f"the key {key!r} is not a field path",
                                        "write a path such as limits.block_mw"))
                continue
            overrides[key] = value
        out.append((entry[NAME_KEY], location, overrides))
    return out


def _csv_entries(text: str, where: str, problems: list[Problem]) -> list[tuple[Any, str, dict]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    if NAME_KEY not in header:
        problems.append(Problem(f"{where}:1", f"no {NAME_KEY!r} column in the header {header[:8]}",
                                f"add a column named {NAME_KEY} with one scenario name per row"))
        return []
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes or "" in header:
        problems.append(Problem(f"{where}:1", f"the header has duplicate or empty columns {dupes or ['']}",
                                "give each column one field path, once"))
        return []
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        name = row[header.index(NAME_KEY)].strip() if len(row) > header.index(NAME_KEY) else ""
        location = f"{where}:{line}: scenario {name[:60]!r}"
        if len(row) != len(header):
            problems.append(Problem(location, f"{len(row)} cells for {len(header)} columns",
                                    "give every row one cell per header column (quote cells holding commas)"))
            continue
        overrides = {}
        for column, cell in zip(header, row, strict=True):
            if column == NAME_KEY or not cell.strip():
                continue
            try:
                overrides[column] = yaml.safe_load(cell)
            except yaml.YAMLError:
                problems.append(Problem(f"{location}: {column}",
                                        f"cannot read the value {cell[:60]!r}",
                                        "write a number, a quantity such as '50 MW', true/false or null"))
        out.append((name, location, overrides))
    return out


# ------------------------------------------------------------------------ running
def run_sweep(
    base: Study,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    scenarios: Sequence[Scenario] | None = None,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    report: bool = True,
    overwrite: bool = False,
    fresh: bool = False,
    protect: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Solve every scenario not yet finished in ``out`` on Dask and tabulate them all.

    Parameters
    ----------
    base : Study
    grid : mapping of dotted field path -> list of values, optional
        Every combination is a scenario (:func:`vary_scenarios`). Give ``grid`` or
        ``scenarios``, not both.
    scenarios : sequence of Scenario, optional
        E.g. from :func:`read_scenarios`.
    out : folder
        Missing, empty, a sweep folder dcplan wrote (resumed) or another folder dcplan
        wrote (replaced by a new sweep folder); any other folder only with ``overwrite``.
        It is locked against other dcplan processes for the whole sweep. Layout in the
        module docstring.
    workers : worker processes of the local cluster (default one per available core, never
        more than the scenarios to solve); not with ``scheduler``
    scheduler : address of a running Dask scheduler, e.g. ``tcp://head:8786``; its workers
        need this dcplan version and the files the study reads at the same paths
    progress : ``progress(event, info)``, called with ``"sweep"`` (``total``, ``to_solve``),
        ``"scenario"`` (``scenario``, ``state`` = ``skipped``/``started``/``done``, and the
        scenario's ``record`` when skipped or done) and ``"combine"``; ``started`` comes from
        the cluster's event thread
    report : also write ``out/report/index.html`` (:func:`dcplan.report.sweep.write_sweep_report`)
    overwrite : replace ``out`` even if it is a folder dcplan did not write
    fresh : solve every scenario again, even those ``out`` holds finished
    protect : further files ``out`` must not hold (e.g. the scenarios file), beside the
        files the study reads

    Returns
    -------
    pandas.DataFrame
        One row per scenario in order: ``scenario``, the overridden fields (the base value
        where a scenario leaves one alone), ``status``, ``objective_usd``, ``mip_gap``,
        ``sites_opened``, ``sites``, ``solve_seconds``, ``audit_ok``, ``error``,
        ``task_seconds``, ``task_cpu_seconds``, ``solved`` (False: kept from an earlier run)
        and ``key``.

    Raises
    ------
    SpecError
        Both or neither of ``grid`` and ``scenarios``, or a scenario that is not valid.
    OutputError
        ``out`` or a scenario folder in it may not be written (checked before any solve).
    ClusterError
        The scheduler cannot be reached, has no workers, or its workers run another dcplan.
    ReportError
        Everything was written but the comparison report failed (``exc.plan`` is the table).
    """
    from dcplan.run import study_paths

    if (grid is None) == (scenarios is None):
        raise SpecError([Problem("run_sweep", "give the scenarios as a grid (--vary) or as a list "
                                 "(--scenarios), exactly one of them",
                                 "put every combination you need into one scenarios file")])
    cases = vary_scenarios(base, grid) if scenarios is None else list(scenarios)
    if not cases:
        raise SpecError([Problem("run_sweep", "no scenarios to solve", "give at least one scenario")])
    progress = progress or (lambda event, info=None: None)
    out = Path(out)
    protect = [*study_paths(base), *(Path(p) for p in protect)]
    _prepare_folder(out, overwrite, protect)
    with output_lock(out):
        check_output_dir(out, overwrite=overwrite, protect=protect)  # again, under the lock
        out.mkdir(parents=True, exist_ok=True)
        _write_manifest(out, extra=["sweep.csv", "sweep.nc"])  # before writing them (see _ours)
        records: dict[str, dict] = {}
        todo = []
        for case in cases:
            record = None if fresh else finished_record(out / case.folder, case.key)
            if record is None:
                todo.append(case)
            else:
                records[case.name] = dict(record, solved=False)
        problems = []
        for case in todo:
            try:
                check_output_dir(out / case.folder)
            except OutputError as exc:
                problems.extend(exc.problems)
        if problems:
            raise OutputError(problems, "scenario folders dcplan will not replace")
        progress("sweep", {"phase": "sweep", "total": len(cases), "to_solve": len(todo),
                           "detail": f"{len(cases) - len(todo)} of {len(cases)} finished before"})
        for case in cases:
            if case.name in records:
                progress("scenario", {"scenario": case.name, "state": "skipped", "record": records[case.name]})
        if todo:
            _solve_all(todo, out, workers, scheduler, progress, records)
        progress("combine", {"phase": "combine", "detail": "sweep.csv, sweep.nc"})
        table = sweep_table(base, cases, records)
        ours = _ours(out)
        write_text_atomic(out / "sweep.csv", table.to_csv(index=False), recognise=ours)
        dataset = combine_plans(out, cases, records, base)
        with atomic_file(out / "sweep.nc", recognise=ours) as tmp:
            from dcplan.netcdf import ENGINE, encoding

            dataset.to_netcdf(tmp, engine=ENGINE, encoding=encoding(dataset))
        report_error = None
        if report:
            from dcplan.report.sweep import write_sweep_report

            fields = [c for c in table.columns if c in _override_fields(cases)]
            try:
                write_sweep_report(table, dict.fromkeys(fields, ()), out / "report")
            except OutputError:
                raise
            except Exception as exc:  # the results are written; the report is rebuilt from them
                logger.warning("the sweep report failed: %s", exc)
                report_error = exc
        _write_manifest(out)
    logger.info("sweep written to %s: %d scenarios, %d solved now", out, len(cases), len(todo))
    if report_error is not None:
        msg = (f"the sweep was written to {out}, but its report failed: "
               f"{type(report_error).__name__}: {str(report_error)[:300]}")
        raise ReportError(msg, plan=table, out=out) from report_error
    return table


def _prepare_folder(out: Path, overwrite: bool, protect: Sequence[Path]) -> None:
    """Leave a sweep folder to resume; replace any other folder dcplan may replace by an empty one."""
    check_output_dir(out, overwrite=overwrite, protect=protect)
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = read_manifest(out)
    if manifest is not None and manifest.get("kind") == SWEEP_KIND:
        return
    # another dcplan output (a run, a report), or a user folder with overwrite: a new sweep
    with atomic_dir(out, overwrite=overwrite, protect=protect, kind=SWEEP_KIND):
        pass


def _write_manifest(out: Path, extra: Sequence[str] = ()) -> None:
    """The sweep folder's manifest: the files dcplan wrote in it (``extra``: about to write)."""
    from dcplan import __version__

    files = set((read_manifest(out) or {}).get("files", [])) | set(extra)
    for name in ("sweep.csv", "sweep.nc"):
        if (out / name).is_file():
            files.add(name)
    for folder in out.iterdir():
        if folder.is_dir() and read_manifest(folder) is not None:
            files |= {str(p.relative_to(out)) for p in folder.rglob("*") if p.is_file()}
    data = {"written_by": "dcplan", "kind": SWEEP_KIND, "version": __version__,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": sorted(files)}
    write_text_atomic(out / MANIFEST, json.dumps(data, indent=2), recognise=lambda p: read_manifest(out) is not None)


def _ours(out: Path) -> Callable[[Path], bool]:
    """Recognise a file dcplan wrote in the sweep folder: its manifest lists it."""
    def recognise(path: Path) -> bool:
        return path.name in (read_manifest(out) or {}).get("files", [])

    return recognise


def finished_record(folder: str | Path, key: str) -> dict | None:
    """The record in a scenario folder if it is finished for ``key``, else None."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("kind") != SCENARIO_KIND:
        return None
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key or record.get("status") not in FINAL_STATUSES:
        return None
    if record["status"] in PLAN_STATUSES and not (folder / "plan.nc").is_file():
        return None
    return record


def _solve_all(todo: Sequence[Scenario], out: Path, workers: int | None, scheduler: str | None,
               progress: Progress, records: dict[str, dict]) -> None:
    from dask.distributed import as_completed

    from dcplan.distributed import available_cores, check_workers, cluster

    if scheduler is None:
        workers = min(workers or available_cores(), len(todo))
    topic = f"dcplan-sweep-{uuid.uuid4().hex[:12]}"
    with cluster(workers=workers, scheduler=scheduler) as client:
        check_workers(client, scheduler)

        def started(event) -> None:
            message = event[1] if isinstance(event, tuple) and len(event) == 2 else event
            if isinstance(message, dict) and "scenario" in message:
                progress("scenario", {"scenario": message["scenario"], "state": "started",
                                      "worker": message.get("worker", "")})

        client.subscribe_topic(topic, started)
        futures = {client.submit(_solve_scenario, case.name, case.study, topic, pure=False,
                                 key=f"dcplan-scenario-{topic[-12:]}-{i}"): case
                   for i, case in enumerate(todo)}
        seen: set[str] = set()
        for future in as_completed(futures):
            case = futures.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the task never returned: its worker died, or it could not be sent
                result = {"status": "error", "error": f"the task failed on its worker: {type(exc).__name__}: "
                          f"{str(exc)[:MAX_ERROR_CHARS]}"}
            for message in result.get("warnings", []):
                if message not in seen:
                    seen.add(message)
                    logger.warning("scenario %s: %s", case.name, message)
            records[case.name] = dict(write_scenario(out, case, result), solved=True)
            progress("scenario", {"scenario": case.name, "state": "done", "record": records[case.name]})
        client.unsubscribe_topic(topic)


def _solve_scenario(name: str, study: Study, topic: str | None = None) -> dict:
    """Worker task: solve one scenario with HiGHS on one thread; return its files and figures.

    Never raises for a scenario that fails: the failure is the result (status and error).
    """
    import socket
    import tempfile

    from dcplan.errors import AuditError, DataError, InfeasibleError, SolveError
    from dcplan.run import run_study

    meter = PhaseMeter()
    wall, cpu = time.perf_counter(), time.process_time()
    where = f"{socket.gethostname()}:{os.getpid()}"
    if topic:
        try:
            from distributed import get_worker

            get_worker().log_event(topic, {"scenario": name, "worker": where})
        except (ImportError, ValueError):  # not on a worker (called directly)
            pass
    result: dict[str, Any] = {"worker": where}
    # the scenario's warnings travel back with its result (the sweep logs each one once)
    # instead of going to the worker's stderr, where they would cut through the progress
    collected = _Collect()
    library = logging.getLogger("dcplan")
    library.addHandler(collected)
    try:
        plan = run_study(study, report=False, threads=1, progress=meter)
        meter("write")
        summary = plan.summary_dict()
        with tempfile.TemporaryDirectory(prefix="dcplan-scenario-") as tmp:
            folder = plan.to_dir(Path(tmp) / "plan")
            files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
        result.update(status=str(summary.get("status")), summary=summary, files=files, error="")
    except InfeasibleError as exc:
        result.update(status="infeasible", error=str(exc),
                      diagnosis=str(exc.diagnosis) if getattr(exc, "diagnosis", None) else "")
    except AuditError as exc:
        result.update(status="audit_failed", error=str(exc))
    except SolveError as exc:
        result.update(status="no_plan", error=str(exc), solver_status=getattr(exc, "status", ""))
    except (SpecError, DataError) as exc:
        result.update(status="invalid_input", error=str(exc))
    except Exception as exc:  # any other failure is recorded; the other scenarios go on
        logger.exception("scenario %s failed", name)
        result.update(status="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        library.removeHandler(collected)
    result["warnings"] = collected.messages
    result["task_seconds"] = time.perf_counter() - wall
    result["task_cpu_seconds"] = time.process_time() - cpu
    result["phases"] = meter.finish()
    return result


#: progress events of :func:`dcplan.run.run_study` -> the phase of a task they start
_PHASE_OF = {"screen": "solve"}


class PhaseMeter:
    """Wall, user-CPU and system-CPU seconds of each phase of one task, and of the threads.

    Called as ``progress(event, info)`` by :func:`dcplan.run.run_study`: a phase runs from
    its start event to the next phase's start (an event with ``done`` ends ``solve``, and what
    follows until the audit, Plan.from_solution and the shadow prices, is ``plan``); before the
    first event is ``setup``. The CPU seconds are the whole process's (:func:`os.times`).
    :meth:`finish` returns ``{phase: {"wall", "user", "system"}}`` plus ``"threads"``: the CPU
    seconds during the task of the thread that created the meter (``main``: the one running
    the task) and of all the process's other threads (``other``: on a Dask worker its event
    loop and profiler, and any HiGHS or BLAS threads; where psutil lists threads), so a sweep shows whether
    its workers oversubscribe the cores.
    """

    def __init__(self) -> None:
        self.thread = threading.get_native_id()
        self.phase = "setup"
        self.seconds: dict[str, dict[str, float]] = {}
        self._mark = self._now()
        self._threads = _thread_cpu()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        times = os.times()
        return time.perf_counter(), times.user, times.system

    def _switch(self, phase: str) -> None:
        now = self._now()
        spent = self.seconds.setdefault(self.phase, {"wall": 0.0, "user": 0.0, "system": 0.0})
        for i, name in enumerate(("wall", "user", "system")):
            spent[name] += now[i] - self._mark[i]
        self.phase, self._mark = phase, now

    def __call__(self, event: str, info: Mapping | None = None) -> None:
        info = info or {}
        phase = _PHASE_OF.get(str(info.get("phase", event)), str(info.get("phase", event)))
        if info.get("done"):
            if phase == "solve" and self.phase == "solve":
                self._switch("plan")
            return
        if phase != self.phase:
            self._switch(phase)

    def finish(self) -> dict[str, dict[str, float]]:
        """The seconds of every phase so far (the current one ends now), and of the threads."""
        self._switch(self.phase)
        out = {k: {n: round(v, 4) for n, v in spent.items()} for k, spent in self.seconds.items()}
        after = _thread_cpu()
        if self._threads is not None and after is not None:
            deltas = {tid: after[tid] - self._threads.get(tid, 0.0) for tid in after}
            out["threads"] = {"main": round(deltas.pop(self.thread, 0.0), 4), "other": round(sum(deltas.values()), 4),
                              "count": len(after)}
        return out


def _thread_cpu() -> dict[int, float] | None:
    """CPU seconds (user + system) of each thread of this process, by native id; None where
    psutil cannot list threads."""
    import psutil  # installed with dask.distributed

    try:
        return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}
    except (psutil.Error, NotImplementedError):  # pragma: no cover - platforms without it
        return None


class _Collect(logging.Handler):
    """Keeps the text of each warning (or worse) logged during one scenario's task."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage()[:2000])
        except Exception:  # a record that cannot be formatted is dropped, never the task
            self.handleError(record)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    return value


def write_scenario(out: str | Path, case: Scenario, result: Mapping[str, Any]) -> dict:
    """Write one scenario's folder whole (its files and ``scenario.json``); return the record."""
    from dcplan import __version__

    summary = result.get("summary") or {}
    error = str(result.get("error") or "")
    record = {
        "name": case.name, "key": case.key, "dcplan_version": __version__, "overrides": case.overrides,
        "status": str(result.get("status", "error")), "error": error,
        "diagnosis": result.get("diagnosis", ""),
        **{k: _plain(summary.get(k)) for k in ("objective_usd", "dual_bound_usd", "mip_gap", "sites_opened",
                                                "solve_seconds", "levelised_usd_per_gpu_hour")},
        "sites": list(summary.get("sites", [])),
        "audit_ok": (summary.get("audit") or {}).get("ok"),
        "task_seconds": _plain(result.get("task_seconds")),
        "task_cpu_seconds": _plain(result.get("task_cpu_seconds")),
        "phases": dict(result.get("phases") or {}),
        "worker": result.get("worker", ""), "warnings": list(result.get("warnings", [])),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with atomic_dir(Path(out) / case.folder, kind=SCENARIO_KIND) as tmp:
        for name, data in (result.get("files") or {}).items():
            (tmp / Path(name).name).write_bytes(data)
        (tmp / RECORD).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return record


# ------------------------------------------------------------------------ results
def _override_fields(cases: Sequence[Scenario]) -> list[str]:
    return list(dict.fromkeys(k for case in cases for k in case.overrides))


def _first_line(text: str) -> str:
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS] + "..."


def sweep_table(base: Study, cases: Sequence[Scenario], records: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per scenario (the columns :func:`run_sweep` returns)."""
    fields = _override_fields(cases)
    base_data = base.model_dump(mode="json", exclude_none=True)
    rows = []
    for case in cases:
        record = records[case.name]
        values = {f: case.overrides[f] if f in case.overrides else _get(base_data, f) for f in fields}
        rows.append({
            "scenario": case.name, **values,
            "status": record.get("status"), "objective_usd": record.get("objective_usd"),
            "mip_gap": record.get("mip_gap"), "sites_opened": record.get("sites_opened"),
            "sites": " ".join(record.get("sites") or []), "solve_seconds": record.get("solve_seconds"),
            "audit_ok": record.get("audit_ok"), "error": _first_line(record.get("error", "")),
            "task_seconds": record.get("task_seconds"), "task_cpu_seconds": record.get("task_cpu_seconds"),
            "solved": bool(record.get("solved", False)), "key": case.key,
        })
    table = pd.DataFrame(rows)
    for f in fields:  # one type per column, so the report can group by it
        column = table[f]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column if v is not None)
        if not numeric:
            table[f] = [_value_text(v) if v is not None else "" for v in column]
    return table


#: per-scenario figures in sweep.nc: units, long name
SCENARIO_FIGURES: dict[str, tuple[str, str]] = {
    "objective_usd": ("USD", "net present cost of the plan"),
    "dual_bound_usd": ("USD", "HiGHS's proven lower bound on the net present cost"),
    "mip_gap": ("1", "relative gap between the plan and the bound"),
    "sites_opened": ("1", "sites opened by the last year"),
    "fleet_levelised_usd_per_gpu_hour": ("USD/GPU/h", "net present cost per discounted GPU-hour, whole fleet"),
    "solve_seconds": ("s", "HiGHS solve time"),
    "task_seconds": ("s", "wall time of the scenario's task on its worker"),
    "task_cpu_seconds": ("s", "CPU time of the scenario's task on its worker"),
}


def combine_plans(out: str | Path, cases: Sequence[Scenario], records: Mapping[str, Mapping],
                  base: Study) -> xr.Dataset:
    """Every scenario's plan outputs along a ``scenario`` dimension, with units on every variable.

    The outputs are the numeric variables of each ``plan.nc`` except the stored inputs
    (``in_*``) and shadow prices (``dual_*``), with the units the plan gives them.

    Booleans (``site_open``...) become 1.0/0.0 so that a scenario without a plan, or a site
    a scenario does not have, can be NaN. Per-scenario figures and ``status``, ``error``,
    ``overrides_json`` and ``key`` sit along ``scenario`` alone.
    """
    from dcplan import __version__
    from dcplan.results import ENGINE, OUTPUTS

    out = Path(out)
    names = [case.name for case in cases]
    pieces, have, attrs = [], [], {}
    for case in cases:
        if records[case.name].get("status") not in PLAN_STATUSES:
            continue
        with xr.open_dataset(out / case.folder / "plan.nc", engine=ENGINE) as ds:
            keep = [v for v in ds.data_vars if not str(v).startswith(("in_", "dual_"))
                    and ds[v].dtype.kind in "biuf"]
            part = ds[keep].reset_coords(drop=True).load()
        for name in keep:
            attrs.setdefault(name, {k: part[name].attrs[k] for k in ("units", "long_name") if k in part[name].attrs})
        pieces.append(part.astype(float))
        have.append(case.name)
    if pieces:
        combined = xr.concat(pieces, dim=pd.Index(have, name="scenario"), join="outer",
                             fill_value=np.nan, combine_attrs="drop").reindex(scenario=names)
    else:
        combined = xr.Dataset(coords={"scenario": names})
    for name in combined.data_vars:
        known = OUTPUTS.get(name, (None, "1", str(name).replace("_", " ")))
        combined[name].attrs = {"units": known[1], "long_name": known[2], **attrs.get(name, {})}
    figures = {k: [records[n].get(k) for n in names] for k in SCENARIO_FIGURES}
    figures["fleet_levelised_usd_per_gpu_hour"] = [records[n].get("levelised_usd_per_gpu_hour") for n in names]
    for name, (units, long_name) in SCENARIO_FIGURES.items():
        values = np.array([np.nan if v is None else float(v) for v in figures[name]])
        combined[name] = xr.DataArray(values, dims="scenario", attrs={"units": units, "long_name": long_name})
    texts = {
        "status": ("one of " + ", ".join([*PLAN_STATUSES, *FAILED_STATUSES]),
                   [records[n].get("status", "") for n in names]),
        "error": ("first line of the error of a scenario without a plan",
                  [_first_line(records[n].get("error", "")) for n in names]),
        "overrides_json": ("the scenario's field overrides as JSON",
                           [json.dumps(c.overrides, default=str) for c in cases]),
        "key": ("hash of the scenario's resolved study, files and dcplan version", [c.key for c in cases]),
    }
    for name, (long_name, values) in texts.items():
        combined[name] = xr.DataArray(np.array(values, dtype=object), dims="scenario",
                                      attrs={"units": "1", "long_name": long_name})
    for name in combined.coords:
        combined[name].attrs.setdefault("units", "1")
    combined.attrs = {"written_by": "dcplan", "kind": SWEEP_KIND, "dcplan_version": __version__,
                      "study_name": base.name, "study_yaml": base.to_yaml(),
                      "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return combined
