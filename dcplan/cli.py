"""The ``dcplan`` command line: a thin typer app over the library.

Exit codes: 0 a plan was found within the gap (or the command succeeded); 1 bad input
(or an output path dcplan refuses to write); 2 the study is infeasible (the diagnosis is
printed); 3 the time limit passed with no feasible plan, or the solver failed; 4 the
solver's plan failed its audit (nothing written); 5 the plan was written but its report
failed; 6 a sweep finished but some of its scenarios have no plan; 130 interrupted
(Ctrl-C), nothing written (a sweep keeps its finished scenarios).

Everything the CLI prints that comes from the user (names, ids, paths, messages quoting
values) goes through :func:`_safe`: rich markup is escaped and control characters are
shown as escapes, so a name like ``[/x]`` or one holding ESC prints as written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from dcplan.errors import (
    AuditError,
    DataError,
    DcplanError,
    InfeasibleError,
    OutputError,
    ReportError,
    SolveError,
    SpecError,
)

app = typer.Typer(
    name="dcplan",
    help="Plan where, when and how to build the datacenters for an AI accelerator fleet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sites_app = typer.Typer(help="Browse the shipped candidate-site catalog.", no_args_is_help=True)
data_app = typer.Typer(help="Rebuild or inspect the curated data tables.", no_args_is_help=True)
app.add_typer(sites_app, name="sites")
app.add_typer(data_app, name="data")

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_AUDIT, EXIT_REPORT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

#: width used when the output is not a terminal (a pipe or a CI log): wide enough that
#: progress and tables are never cut at rich's default of 80 columns
PIPE_WIDTH = 200

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
for _c in (console, err_console):
    if not _c.is_terminal:
        _c.width = PIPE_WIDTH

StudyArg = Annotated[str, typer.Argument(help="study YAML file, or the name of a shipped study")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="replace the output even if dcplan did not write it")]


def _safe(text: object) -> str:
    """User text ready for rich: control characters shown as escapes, markup escaped."""
    chars = []
    for ch in str(text):
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"):
            chars.append(ch)
        else:
            chars.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
    return escape("".join(chars))


def _fail_input(exc: Exception) -> typer.Exit:
    # the message is plain text: pint's "[length]" must not be read as console markup
    err_console.print(f"[bold red]error:[/] {_safe(exc)}")
    return typer.Exit(EXIT_INPUT)


def _check_gap(gap: float | None) -> float | None:
    if gap is not None and not (math.isfinite(gap) and 0 < gap < 1):
        msg = f"--gap {gap!r}: the relative MIP gap must be a number above 0 and below 1, e.g. 0.01"
        raise SpecError([msg])
    return gap


def _check_time_limit(text: str | None) -> float | None:
    from dcplan.units import to_canonical

    if text is None:
        return None
    seconds = to_canonical(text, "s", field="--time-limit")
    if not (math.isfinite(seconds) and seconds > 0):
        msg = f"--time-limit {text[:40]!r}: give a positive, finite duration such as '5 min'"
        raise SpecError([msg])
    return seconds


@contextmanager
def _interruptible(what: str, kept: str = "no output was written (a previous result at the path is unchanged)"):
    """Make Ctrl-C stop at once, even inside the solver, with a message and exit 130.

    The solver runs in C for long stretches without returning to Python, so Python's own
    KeyboardInterrupt would wait for it. A watcher thread wakes on the signal instead,
    removes this process's unfinished output folders (a folder being swapped in is left
    whole) and exits.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    old_handler = signal.signal(signal.SIGINT, lambda signum, frame: None)
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                from dcplan.atomic import abort_active

                abort_active()
                _stop_children()
                err_console.print(f"\n[bold red]interrupted:[/] {what} stopped; {kept}")
                err_console.file.flush()
                os._exit(EXIT_INTERRUPTED)

    watcher = threading.Thread(target=watch, name="dcplan-interrupt", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGINT, old_handler)
        os.close(write_fd)
        watcher.join(timeout=1)
        os.close(read_fd)


def _stop_children() -> None:
    """Terminate the worker processes this process started (a local sweep cluster)."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()


@contextmanager
def _phases(quiet: bool):
    """Rich progress for the phases of a run; yields a callback the library reports to."""
    if quiet:
        yield lambda event, info=None: None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}", table_column=Column(min_width=10, no_wrap=True)),
        BarColumn(bar_width=16),
        # the detail takes what is left and is shortened with an ellipsis, never the clock
        TextColumn("{task.fields[detail]}", markup=False,
                   table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
        console=err_console,
        transient=False,
        expand=err_console.is_terminal,
    )
    tasks: dict[str, int] = {}

    def report(event: str, info: dict | None = None) -> None:
        info = info or {}
        phase = info.get("phase", event)
        detail = _safe(info.get("detail", ""))
        if phase not in tasks:
            for name, task_id in tasks.items():
                if name != phase:
                    progress.update(task_id, completed=1, total=1)
            tasks[phase] = progress.add_task(phase, total=None, detail=detail)
        else:
            progress.update(tasks[phase], detail=detail)
        if info.get("done"):
            progress.update(tasks[phase], completed=1, total=1)

    with progress:
        yield report
        for task_id in tasks.values():
            progress.update(task_id, completed=1, total=1)


def _version(value: bool) -> None:
    if value:
        from dcplan import __version__

        typer.echo(f"dcplan {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log library messages")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit"),
    ] = False,
):
    # Library messages go to stderr only. The level sits on the handler, so libraries that set
    # their own logger levels (dask.distributed logs at INFO) stay quiet unless --verbose.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:  # dask's worker housekeeping ("still alive after 4 s, killing") is not news
        handler.addFilter(lambda r: not r.name.startswith("distributed") or r.levelno >= logging.ERROR)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_dcplan", False)]:
        root.removeHandler(old)
    handler._dcplan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


@app.command()
def validate(study: StudyArg) -> None:
    """Check a study file and report every problem at once."""
    from dcplan.inputs import check_study
    from dcplan.spec import load_study

    try:
        parsed = load_study(study)
        check_study(parsed)
        _check_site_files(parsed)
    except (SpecError, DataError) as exc:
        raise _fail_input(exc) from None
    console.print(
        f"[green]valid:[/] {_safe(parsed.name)} "
        f"({parsed.horizon.first_year}-{parsed.horizon.last_year}, "
        f"chips {_safe(', '.join(parsed.chip_ids()))})"
    )


def _check_site_files(study) -> None:
    """Open the site file a study names, so `validate` finds what `run` would."""
    from dcplan.sites import read_sites, validate_site_ids
    from dcplan.spec import resolve_path

    if study.sites.file:
        validate_site_ids(read_sites(resolve_path(study, study.sites.file)), study.sites.file)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Print the JSON Schema of study files."""
    from dcplan.spec import is_schema_file, json_schema_text

    text = json_schema_text()
    if out is None:
        typer.echo(text)
    else:
        from dcplan.atomic import write_text_atomic

        try:
            write_text_atomic(out, text, overwrite=overwrite, recognise=is_schema_file)
        except (OutputError, OSError) as exc:
            raise _fail_input(exc) from None
        console.print(f"wrote {_safe(out)}")


@app.command()
def inputs(
    study: StudyArg,
    out: Annotated[Path, typer.Option(help="netCDF file to write")] = Path("inputs.nc"),
    hourly: Annotated[bool, typer.Option(help="keep the hourly dimension")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Build the coefficient dataset of a study and write it as netCDF."""
    from dcplan.atomic import check_output_file
    from dcplan.inputs import _written_by_dcplan, build_inputs, write_inputs
    from dcplan.run import study_paths
    from dcplan.spec import load_study

    try:
        parsed = load_study(study)
        protect = study_paths(parsed)
        check_output_file(out, overwrite=overwrite, recognise=_written_by_dcplan, protect=protect)
        with _interruptible("building the inputs"), _phases(quiet) as report:
            ds = build_inputs(parsed, keep_hourly=hourly, progress=report)
            write_inputs(ds, out, overwrite=overwrite, protect=protect)
    except (SpecError, DataError, OutputError, OSError) as exc:
        raise _fail_input(exc) from None
    if not quiet:
        console.print(
            f"wrote {_safe(out)}: {ds.sizes['site']} sites x {ds.sizes['chip']} chips x "
            f"{ds.sizes['cooling']} cooling x {ds.sizes['year']} years"
        )


@app.command()
def run(
    study: StudyArg,
    out: Annotated[Path | None, typer.Option(help="output folder (default runs/<study name>)")] = None,
    time_limit: Annotated[str | None, typer.Option(help="solver time limit, e.g. '5 min'")] = None,
    gap: Annotated[float | None, typer.Option(help="relative MIP gap, e.g. 0.01")] = None,
    report: Annotated[bool, typer.Option(help="write the HTML report and figures")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or summary")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print summary.json to stdout")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="field.path=value, e.g. limits.block_mw=40 (repeatable)"),
    ] = None,
    overwrite: OverwriteOpt = False,
    workers: Annotated[int | None, typer.Option(
        help="solve the sifting route's per-site problems on a local Dask cluster of this many "
             "worker processes")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="solve the sifting route's per-site problems on the workers of a running Dask "
             "scheduler, tcp://HOST:PORT")] = None,
) -> None:
    """Solve a study and write plan.nc, sites.gpkg, summary.json and a report.

    A national study (the sifting route, solver.route) solves one small problem per site many
    times; with --workers or --scheduler those run on Dask workers, each holding its share of
    the sites, instead of on solver.threads threads of this process.
    """
    from dcplan import run as run_module
    from dcplan.atomic import check_output_dir
    from dcplan.errors import ClusterError
    from dcplan.spec import load_study
    from dcplan.sweep import parse_set, with_overrides

    started = time.perf_counter()
    try:
        options = {}
        seconds = _check_time_limit(time_limit)
        if seconds is not None:
            options["time_limit_s"] = seconds
        if _check_gap(gap) is not None:
            options["mip_rel_gap"] = gap
        _check_cluster_options(workers, scheduler)
        parsed = with_overrides(load_study(study), parse_set(overrides or []))
        out_dir = out or Path("runs") / _slug(parsed.name)
        check_output_dir(out_dir, overwrite=overwrite, protect=run_module.study_paths(parsed))
    except (SpecError, DataError, OutputError, ValueError) as exc:
        raise _fail_input(exc) from None

    report_failure = None
    try:
        with _interruptible("the run"), _phases(quiet or as_json) as progress, \
                _pricing_cluster(workers, scheduler) as client:
            plan = run_module.run_study(parsed, out=out_dir, report=report, progress=progress,
                                        overwrite=overwrite, client=client, **options)
    except ReportError as exc:
        plan, report_failure = exc.plan, exc
    except (SpecError, DataError, OutputError, ClusterError) as exc:
        raise _fail_input(exc) from None
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] cannot write {_safe(out_dir)}: {_safe(exc)}")
        raise typer.Exit(EXIT_INPUT) from None
    except InfeasibleError as exc:
        if exc.diagnosis and exc.diagnosis.messages:
            err_console.print("[bold red]infeasible:[/] no plan meets every constraint of the study. Why:")
            err_console.print(str(exc.diagnosis), markup=False)
        else:
            err_console.print(f"[bold red]infeasible:[/] {_safe(exc)}")
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except AuditError as exc:
        err_console.print("[bold red]audit failed:[/] the solver returned a plan that breaks the study's "
                          "constraints; it is not reported and nothing was written:")
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_AUDIT) from None
    except SolveError as exc:
        err_console.print(f"[bold red]no plan:[/] {_safe(exc)}")
        raise typer.Exit(EXIT_NO_PLAN) from None

    summary = plan.summary_dict()
    dataset = getattr(plan, "dataset", None)
    pricing = str(dataset.attrs.get("site_pricing", "")) if dataset is not None else ""
    if (workers is not None or scheduler is not None) and not pricing.startswith("dask") and not quiet:
        err_console.print("note: the Dask workers were not used: only the sifting route "
                          "(solver.route, national studies) solves per-site problems on them")
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    elif not quiet and getattr(plan, "is_stochastic", False):
        _print_stochastic(plan, summary, out_dir, time.perf_counter() - started)
    elif not quiet:
        _print_summary(plan, summary, out_dir, time.perf_counter() - started)
    if report_failure is not None:
        err_console.print(f"[bold red]report failed:[/] {_safe(report_failure)}; the plan is "
                          f"complete in {_safe(out_dir)}; fix the cause and rebuild the report "
                          f"with `dcplan report {_safe(out_dir)}`")
        raise typer.Exit(EXIT_REPORT)


def _check_cluster_options(workers: int | None, scheduler: str | None) -> None:
    """SpecError for a bad --workers / --scheduler pair (before any work)."""
    from dcplan.distributed import check_address
    from dcplan.errors import Problem

    if scheduler is not None:
        check_address(scheduler)
        if workers is not None:
            raise SpecError([Problem("--workers", "a worker count was given with --scheduler",
                                     "leave out --workers: the scheduler's workers are used")])
    if workers is not None and workers < 1:
        raise SpecError([Problem("--workers", f"{workers} worker processes", "give 1 or more")])


@contextmanager
def _pricing_cluster(workers: int | None, scheduler: str | None):
    """The Dask Client of ``dcplan run --workers/--scheduler`` (None without either)."""
    if workers is None and scheduler is None:
        yield None
        return
    from dcplan.distributed import check_workers, cluster

    with cluster(workers=workers, scheduler=scheduler) as client:
        check_workers(client, scheduler)  # before the inputs and the model, not at the first pricing
        yield client


def _slug(name: str) -> str:
    keep = [c.lower() if c.isalnum() else "_" for c in name.strip()]
    return "".join(keep).strip("_") or "study"


def _print_summary(plan, summary: dict, out_dir: Path, wall: float) -> None:
    audit = summary.get("audit", {})
    color = "green" if summary["status"] == "optimal" else "yellow"
    console.print(
        f"\n[bold]{_safe(summary.get('study', ''))}[/]  status [{color}]{summary['status']}[/]  "
        f"NPV cost ${summary['objective_usd'] / 1e9:,.2f} bn  gap {summary.get('mip_gap', 0):.2%}  "
        f"sites opened {summary['sites_opened']}  audit "
        + ("[green]passed[/]" if audit.get("ok", False) else "[red]FAILED[/]")
    )
    from dcplan.report.tables import YEAR_COLUMNS, site_columns, year_rows

    # the same table specification as the report's "Totals by year" and "Chosen sites"
    table = Table(title="Plan by year", show_lines=False)
    for column in YEAR_COLUMNS:
        table.add_column(escape(column.label), justify="right" if column.numeric else "left")
    for row in year_rows(summary):
        table.add_row(*row)
    console.print(table)
    chosen = plan.sites[plan.sites["chosen"]].sort_values("it_capacity_mw", ascending=False)
    if len(chosen):
        columns = site_columns(chosen)
        sites = Table(title=f"Sites opened ({len(chosen)})")
        for column in columns:
            sites.add_column(escape(column.label), justify="right" if column.numeric else "left")
        for _, row in chosen.head(15).iterrows():
            sites.add_row(*[_safe(column.format(row[column.key])) for column in columns])
        console.print(sites)
    if summary["status"] != "optimal":
        console.print(
            f"[yellow]time limit reached:[/] the plan is feasible and audited but may be up to "
            f"{summary.get('mip_gap', 1.0):.1%} dearer than the best possible; raise --time-limit to close the gap"
        )
    console.print(f"outputs in {_safe(out_dir)}  ({wall:.1f} s)")


def _print_stochastic(plan, summary: dict, out_dir: Path, wall: float) -> None:
    """Two-stage study: expected cost, VSS, EVPI and each scenario's cost and sites."""
    console.print(
        f"\n[bold]{_safe(summary.get('study', ''))}[/]  two-stage, {len(summary['scenarios'])} scenarios  "
        f"status {summary['status']}  expected cost ${summary['expected_cost_usd'] / 1e9:,.3f} bn  "
        f"gap {summary.get('mip_gap', 0):.2%}  audit "
        + ("[green]passed in every scenario[/]" if summary["audit"]["ok"] else "[red]FAILED[/]"))
    console.print(_safe(summary["vss"]))
    console.print(_safe(summary["evpi"]))
    table = Table(title="Scenarios")
    for column in ("scenario", "probability", "cost [bn USD]", "mean-value plan [bn USD]",
                   "planned alone [bn USD]", "sites"):
        table.add_column(column, justify="left" if column in ("scenario", "sites") else "right")

    def bn(value):
        return "-" if value is None else f"{value / 1e9:,.3f}"

    for name, row in summary["scenarios"].items():
        table.add_row(_safe(name), f"{row['probability']:.2f}", bn(row["cost_usd"]), bn(row["eev_cost_usd"]),
                      bn(row["ws_cost_usd"]), _safe(" ".join(row["sites"])))
    console.print(table)
    console.print(f"outputs in {_safe(out_dir)}  ({wall:.1f} s)")


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="study name; the file NAME.yaml is written")],
    out: Annotated[Path | None, typer.Option(help="file to write (default NAME.yaml)")] = None,
) -> None:
    """Write a commented starter study that solves in seconds."""
    from dcplan.atomic import write_text_atomic
    from dcplan.starter import starter_study

    target = out or Path(f"{_slug(name)}.yaml")
    if target.exists():
        err_console.print(f"[bold red]error:[/] {escape(str(target))} exists; dcplan init never "
                          "overwrites a file (fix: pick another NAME or --out)")
        raise typer.Exit(EXIT_INPUT)
    try:
        write_text_atomic(target, starter_study(name, target.name))
    except (OutputError, OSError) as exc:
        raise _fail_input(exc) from None
    console.print(f"wrote {_safe(target)}; solve it with: dcplan run {_safe(target)}")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="folder of a finished run")],
    csv: Annotated[Path, typer.Option("--csv", help="folder to write the CSV tables into")],
) -> None:
    """Write a run's plan as tidy CSV tables: per year, per site and year, per site."""
    from dcplan.results import Plan

    try:
        plan = Plan.from_dir(run_dir)
        written = plan.to_csv(csv)
    except (DataError, OutputError, FileNotFoundError, OSError) as exc:
        raise _fail_input(exc) from None
    for path in written:
        console.print(f"wrote {path}")


@app.command("report")
def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="folder of a finished run")],
    overwrite: OverwriteOpt = False,
) -> None:
    """Rebuild the HTML report and figures of a finished run."""
    from dcplan.atomic import atomic_dir, check_output_dir, output_lock
    from dcplan.report import write_report

    target = run_dir / "report"
    try:
        check_output_dir(target, overwrite=overwrite)
        plan = _read_run(run_dir)
    except (DataError, OutputError) as exc:
        raise _fail_input(exc) from None
    try:
        with _interruptible("the report"), output_lock(run_dir), \
                atomic_dir(target, overwrite=overwrite, kind="report") as tmp:
            write_report(plan, tmp)
    except (OutputError, DataError) as exc:
        raise _fail_input(exc) from None
    except Exception as exc:  # a figure or page that cannot be drawn: the run stays as it was
        err_console.print(f"[bold red]report failed:[/] {type(exc).__name__}: "
                          f"{_safe(str(exc)[:300])}; {_safe(run_dir)} is unchanged")
        raise typer.Exit(EXIT_REPORT) from None
    console.print(f"report: {_safe(target / 'index.html')}")


def _read_run(run_dir: Path):
    """The plan of a finished run, or a DataError saying why the folder is not one."""
    from dcplan.errors import Problem
    from dcplan.results import Plan

    if not (run_dir / "plan.nc").is_file():
        raise DataError([Problem(str(run_dir), "no plan.nc in the folder",
                                 "give the output folder of a finished `dcplan run`")])
    try:
        plan = Plan.from_dir(run_dir)
        if "site_open" not in plan.dataset or "objective_usd" not in plan.dataset.attrs:
            raise ValueError("it holds no plan variables (is it an inputs file?)")
        plan.sites  # noqa: B018 - read sites.gpkg now, so a broken file is reported here
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DataError([Problem(str(run_dir), f"cannot read the run: {text}",
                                 "rerun `dcplan run` to write the folder again")]) from None
    return plan


#: exit code of a sweep that finished with at least one scenario without a plan
EXIT_SOME_FAILED = 6


@app.command()
def sweep(
    study: StudyArg,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="field=v1,v2,... e.g. limits.block_mw=10,20 (repeatable); "
                     "every combination is a scenario"),
    ] = None,
    scenarios: Annotated[
        Path | None,
        typer.Option("--scenarios", help="YAML or CSV file of named scenarios, one per entry or row "
                     "(see docs/sweeps.md)"),
    ] = None,
    out: Annotated[Path, typer.Option(help="sweep folder; a rerun resumes it")] = Path("runs/sweep"),
    workers: Annotated[int | None, typer.Option(
        help="worker processes of the local cluster (default: one per core)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="address of a running Dask scheduler, tcp://HOST:PORT (default: a local cluster)")] = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="solve every scenario again, even those the folder holds finished")] = False,
    report: Annotated[bool, typer.Option(help="write the comparison report")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress or table")] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Solve many variants of a study, one Dask task per scenario; a rerun resumes.

    Give the scenarios with --vary (every combination of the values) or with --scenarios FILE
    (named scenarios, one per YAML entry or CSV row); the two are not combined. Each scenario
    is solved by HiGHS on one thread in its own task, on a local cluster of worker processes
    or on the workers of --scheduler. The folder gets scenario_NAME/ per scenario, sweep.csv
    (status, objective, gap, seconds and error of each), sweep.nc (every plan along a scenario
    dimension) and report/. A rerun skips the scenarios already finished for the same study
    and dcplan version (--fresh solves them again). Exit code 6: the sweep finished, but at
    least one scenario has no plan (infeasible or failed; sweep.csv says why).
    """
    from dcplan.atomic import check_output_dir
    from dcplan.errors import ClusterError, Problem
    from dcplan.run import study_paths
    from dcplan.spec import load_study
    from dcplan.sweep import PLAN_STATUSES, parse_vary, read_scenarios, run_sweep, vary_scenarios

    try:
        if bool(vary) == (scenarios is not None):
            raise SpecError([Problem("--vary / --scenarios", "give the scenarios with --vary or with "
                                     "--scenarios FILE" + (", not both" if vary else ""),
                                     "list every combination you need as rows of one scenarios file")])
        _check_cluster_options(workers, scheduler)
        base = load_study(study)
        cases = (vary_scenarios(base, parse_vary(vary)) if vary else read_scenarios(scenarios, base))
        protect = [scenarios] if scenarios is not None else []
        check_output_dir(out, overwrite=overwrite, protect=[*study_paths(base), *protect])
    except (SpecError, DataError, OutputError, ValueError) as exc:
        raise _fail_input(exc) from None
    report_failure = None
    try:
        with _interruptible("the sweep", kept="finished scenarios are kept; rerun to resume"), \
                _sweep_progress(quiet) as progress:
            table = run_sweep(base, scenarios=cases, out=out, workers=workers, scheduler=scheduler,
                              progress=progress, report=report, overwrite=overwrite, fresh=fresh,
                              protect=protect)
    except ReportError as exc:
        table, report_failure = exc.plan, exc
    except (SpecError, DataError, OutputError, ClusterError, ValueError) as exc:
        raise _fail_input(exc) from None
    failed = table[~table["status"].isin(PLAN_STATUSES)]
    if not quiet:
        console.print(_sweep_table(table))
        console.print(f"sweep results in {_safe(out)}: sweep.csv, sweep.nc"
                      + (f", report {_safe(out / 'report' / 'index.html')}" if report and not report_failure else ""))
    if report_failure is not None:
        err_console.print(f"[bold red]report failed:[/] {_safe(report_failure)}")
        raise typer.Exit(EXIT_REPORT)
    if len(failed):
        err_console.print(f"[bold red]{len(failed)} of {len(table)} scenarios have no plan:[/] "
                          f"{_safe(', '.join(failed['scenario'].astype(str)[:20]))}; their errors are in "
                          f"{_safe(out / 'sweep.csv')}")
        raise typer.Exit(EXIT_SOME_FAILED)


def _scenario_line(name: str, state: str, record: dict) -> str:
    """One finished scenario, as the sweep progress prints it."""
    status = str(record.get("status", ""))
    if status in ("optimal", "time_limit"):
        text = (f"[green]{status}[/]  ${(record.get('objective_usd') or 0) / 1e9:,.3f} bn  "
                f"gap {(record.get('mip_gap') or 0):.2%}  solve {(record.get('solve_seconds') or 0):,.1f} s")
    else:
        error = str(record.get("error", "")).strip().splitlines()
        text = f"[red]{_safe(status)}[/]  {_safe(error[0][:160]) if error else ''}"
    how = "reused" if state == "skipped" else f"{(record.get('task_seconds') or 0):,.1f} s"
    return f"  {_safe(name)}  {text}  [dim]({how})[/]"


@contextmanager
def _sweep_progress(quiet: bool):
    """Rich progress of a sweep: one bar over the scenarios, a line as each one finishes."""
    if quiet:
        yield lambda event, info=None: None
        return
    from rich.progress import MofNCompleteColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}", table_column=Column(min_width=10, no_wrap=True)),
        BarColumn(bar_width=16), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}", markup=False,
                   table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
        console=err_console, transient=False, expand=err_console.is_terminal,
    )
    lock = threading.Lock()
    state: dict = {"task": None, "running": {}}

    def report(event: str, info: dict | None = None) -> None:
        info = info or {}
        with lock:
            if event == "sweep":
                state["task"] = progress.add_task("scenarios", total=info.get("total"), detail="")
                return
            task = state["task"]
            if task is None:
                return
            if event == "scenario":
                name, what = info.get("scenario", ""), info.get("state")
                if what == "started":
                    state["running"][name] = info.get("worker", "")
                else:
                    state["running"].pop(name, None)
                    progress.advance(task)
                    progress.console.print(_scenario_line(name, what, info.get("record") or {}))
                running = list(state["running"])
                detail = f"solving {', '.join(running[:4])}{' ...' if len(running) > 4 else ''}" if running else ""
                progress.update(task, detail=_safe(detail))
            elif event == "combine":
                progress.update(task, detail=_safe(f"writing {info.get('detail', '')}"))

    with progress:
        yield report


def _sweep_table(table) -> Table:
    """The sweep's table as printed: scenario, status, cost, gap, times, error."""
    shown = Table(title=f"Sweep: {len(table)} scenarios")
    for column, justify in (("scenario", "left"), ("status", "left"), ("NPV cost [bn USD]", "right"),
                            ("gap", "right"), ("solve [s]", "right"), ("task [s]", "right"),
                            ("run", "left"), ("error", "left")):
        shown.add_column(column, justify=justify)

    def number(value, fmt: str) -> str:
        return "–" if value is None or value != value else format(value, fmt)

    for row in table.itertuples(index=False):
        objective = row.objective_usd / 1e9 if row.objective_usd == row.objective_usd and row.objective_usd \
            is not None else None
        shown.add_row(_safe(row.scenario), _safe(row.status), number(objective, ",.3f"), number(row.mip_gap, ".2%"),
                      number(row.solve_seconds, ",.1f"), number(row.task_seconds, ",.1f"),
                      "now" if row.solved else "reused", _safe(str(row.error)[:80]))
    return shown


@sites_app.command("list")
def sites_list(
    state: Annotated[list[str] | None, typer.Option(help="2-letter state (repeatable)")] = None,
    iso: Annotated[list[str] | None, typer.Option(help="ISO/region (repeatable)")] = None,
    min_kv: Annotated[float | None, typer.Option(help="minimum nearby grid voltage [kV]")] = None,
    max_price: Annotated[float | None, typer.Option(help="max electricity price [USD/MWh]")] = None,
    max_water_stress: Annotated[str | None, typer.Option(help="e.g. medium_high")] = None,
    limit: Annotated[int, typer.Option(help="rows to show")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List candidate sites from the shipped catalog, filtered."""
    from dcplan.sites import filter_sites, load_catalog

    try:
        catalog = load_catalog()
        for option, column, wanted in (("--state", "state", state), ("--iso", "iso", iso)):
            known = set(catalog[column].dropna().astype(str)) if column in catalog else set()
            unknown = sorted(set(wanted or []) - known)
            if unknown:
                msg = (f"{option} {', '.join(unknown)}: not in the site catalog "
                       f"(fix: one of {', '.join(sorted(known))})")
                raise ValueError(msg)
        gdf = filter_sites(
            catalog,
            states=state,
            isos=iso,
            min_kv=min_kv,
            max_price_usd_per_mwh=max_price,
            water_stress=max_water_stress,
        )
    except (DataError, ValueError) as exc:
        raise _fail_input(exc) from None
    columns = ["site_id", "name", "state", "iso", "max_grid_kv", "electricity_usd_per_mwh",
               "co2_t_per_mwh", "climate_zone", "water_stress", "land_mw"]
    columns = [c for c in columns if c in gdf.columns]
    shown = gdf[columns].head(limit)
    if as_json:
        typer.echo(shown.to_json(orient="records"))
        return
    table = Table(title=f"{len(gdf)} candidate sites (showing {len(shown)})")
    for column in columns:
        table.add_column(column, justify="right" if shown[column].dtype.kind in "if" else "left")
    for row in shown.itertuples(index=False):
        table.add_row(*[f"{v:,.3g}" if isinstance(v, float) else _safe(v) for v in row])
    console.print(table)


@sites_app.command("show")
def sites_show(site_id: Annotated[str, typer.Argument(help="site id from `dcplan sites list`")]) -> None:
    """Show every attribute of one catalog site."""
    from dcplan.sites import load_catalog

    gdf = load_catalog()
    match = gdf[gdf["site_id"] == site_id]
    if match.empty:
        err_console.print(f"[bold red]error:[/] no site {_safe(repr(site_id[:80]))} in the catalog "
                          "(fix: pick an id from `dcplan sites list`)")
        raise typer.Exit(EXIT_INPUT)
    row = match.iloc[0]
    table = Table(title=_safe(site_id), show_header=False)
    for column, value in row.items():
        if column == "geometry":
            value = f"{value.y:.4f} N, {value.x:.4f} E"
        table.add_row(_safe(column), _safe(value))
    console.print(table)


@data_app.command("build-sites")
def data_build_sites(
    source: Annotated[Path, typer.Option("--from", help="folder laid out like ../shared/data")],
    out: Annotated[Path | None, typer.Option(help="target data folder (default: the project's data/)")] = None,
) -> None:
    """Rebuild the site catalog and region tables from the public source files."""
    from dcplan.catalog import data_dir
    from dcplan.databuild.sitebuild import build_catalog

    target = out or data_dir()
    try:
        written = build_catalog(source, target)
    except (DataError, FileNotFoundError) as exc:
        raise _fail_input(exc) from None
    for path in written or []:
        console.print(f"wrote {_safe(path)}")


@data_app.command("list")
def data_list() -> None:
    """List the shipped data tables and studies."""
    from dcplan.catalog import data_dir, list_models

    root = data_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md"):
        console.print(f"data   {_safe(path.relative_to(root))}")
    for path in list_models():
        console.print(f"model  {_safe(path.stem)}")


def main() -> None:  # pragma: no cover - console-script entry
    try:
        app()
    except DcplanError as exc:
        err_console.print(f"[bold red]error:[/] {_safe(exc)}")
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":  # pragma: no cover
    main()
