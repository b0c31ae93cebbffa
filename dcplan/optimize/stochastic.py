"""Two-stage stochastic planning: one plan that serves every scenario, its VSS and EVPI.

A study with an ``uncertainty:`` section (:class:`dcplan.spec.Uncertainty`) is solved as the
extensive form of a two-stage program (docs/stochastic.md):

1. one :class:`~dcplan.optimize.model.SitingModel` per scenario, built with
   :func:`~dcplan.optimize.model.build_model` from that scenario's inputs (the study with the
   scenario's overrides, :func:`dcplan.spec.with_overrides`);
2. the scenario matrices side by side (block diagonal) plus non-anticipativity rows
   ``x[s, cell] - x[ref, cell] = 0`` on every *first-stage cell*: site openings and
   interconnect choices (every year, or the first-stage years only), IT blocks,
   interconnect MW and GPU purchases in the first-stage years;
3. objective: expected cost, plus ``cvar_weight x CVaR_alpha`` of the scenario costs through
   the Rockafellar-Uryasev auxiliaries (``eta`` free, ``u_s >= cost_s - eta``, ``u_s >= 0``).

A first-stage cell that exists in some scenarios and not in others (a site permitted only in
one scenario, an interconnect option whose transformer arrives later in one scenario, a chip
on sale earlier in one scenario) is a decision the planner cannot carry out in every possible
future: it is held at zero in every scenario. That is exact, not a heuristic: a column the
model leaves out is a structural zero, and the shared value must equal it.

The value of the stochastic solution (VSS) compares with planning for the mean scenario
(inputs averaged with the probabilities, :func:`mean_inputs`): its first-stage decisions are
fixed in every scenario and the rest re-optimised (EEV); VSS = EEV - RP. The wait-and-see
value WS (each scenario planned alone) gives EVPI = RP - WS. The EEV plan is handed to the
extensive form as its MIP start, so RP <= EEV holds for the incumbents.

The extensive form is passed to HiGHS from the scenario models' arrays (the same arrays the
diagnosis and the LP screening pass, :func:`dcplan.optimize.highs.handoff` with
``compile_pyomo=False``); :func:`build_pyomo_extensive_form` builds the same program as one
Pyomo model with one Block per scenario, for the cross-check and the build-time benchmark
(``benchmarks/bench_stochastic.py``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import scipy.sparse as sp
import xarray as xr

from dcplan.errors import AuditError, DataError, InfeasibleError, Problem, SolveError, SpecError
from dcplan.optimize.highs import Handoff
from dcplan.optimize.highs_quiet import new_highs
from dcplan.optimize.model import AX, SitingModel, build_model
from dcplan.optimize.solve import run_highs, set_options

logger = logging.getLogger(__name__)

Progress = Callable[[str, dict], None]

#: variable families shared in the first-stage years (when the model has them)
FIRST_STAGE_FAMILIES = ("site_active", "ic_active", "it_blocks", "ic_mw", "gpus_new")
#: of those, the families shared in every year when ``share_site_choice`` is on
SITE_CHOICE_FAMILIES = ("site_active", "ic_active")
#: output variable of the Plan each family's values appear in (for the shared-decision marks)
OUTPUT_OF = {"site_active": "site_active", "ic_active": "interconnect_active",
             "it_blocks": "it_capacity_mw", "ic_mw": "interconnect_option_mw", "gpus_new": "gpus_new"}


# ------------------------------------------------------------------------ the scenarios
@dataclass
class ScenarioModel:
    """One scenario: its name, probability, inputs and built model."""

    name: str
    probability: float
    inputs: xr.Dataset
    sm: SitingModel
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """Which cells are first-stage: years up to ``last_year``, site choices maybe in all."""

    last_year: int
    share_site_choice: bool = True

    def year_mask(self, family: str, years: np.ndarray) -> np.ndarray:
        if self.share_site_choice and family in SITE_CHOICE_FAMILIES:
            return np.ones(len(years), bool)
        return np.asarray(years) <= self.last_year


def scenario_studies(study) -> list[tuple[str, float, dict, object]]:
    """(name, probability, overrides, Study) of every scenario of ``study.uncertainty``.

    Raises
    ------
    SpecError
        A scenario's overrides name an unknown field or give a value it does not accept;
        the problem names the scenario.
    """
    from dcplan.spec import with_overrides

    if study.uncertainty is None:
        msg = "the study has no uncertainty: section; solve it with dcplan.optimize.solve"
        raise SpecError([Problem(f"{study._source}: uncertainty", "missing", msg)])
    base = study.model_copy(update={"uncertainty": None})
    base._base_dir = study._base_dir
    base._source = study._source
    out, problems = [], []
    for i, scenario in enumerate(study.uncertainty.scenarios):
        try:
            scenario_study = with_overrides(base, scenario.overrides)
        except (SpecError, ValueError) as exc:
            where = f"{study._source}: uncertainty.scenarios[{i}] ({scenario.name}).overrides"
            detail = "; ".join(str(p) for p in getattr(exc, "problems", [])) or str(exc)
            problems.append(Problem(where, detail[:500],
                                    "name an existing study field with a value it accepts"))
            continue
        out.append((scenario.name, float(scenario.probability), dict(scenario.overrides),
                    scenario_study))
    if problems:
        raise SpecError(problems, "a scenario's overrides do not make a valid study")
    return out


def build_scenarios(study, *, progress: Progress | None = None) -> list[ScenarioModel]:
    """Inputs and model of every scenario (coordinates checked to be the same in all)."""
    from dcplan.checks import check_inputs
    from dcplan.inputs import build_inputs

    report = progress or (lambda event, info: None)
    scenarios = []
    for name, probability, overrides, scenario_study in scenario_studies(study):
        report("inputs", {"phase": "inputs", "detail": f"scenario {name}"})
        inputs = build_inputs(scenario_study)
        check_inputs(inputs, source=f"scenario {name}")
        scenarios.append(ScenarioModel(name, probability, inputs, None, overrides))
    check_same_axes(scenarios)
    for s in scenarios:
        report("build", {"phase": "build", "detail": f"scenario {s.name}"})
        s.sm = build_model(s.inputs)
    return scenarios


def scenarios_from_inputs(inputs: list[xr.Dataset], probabilities, names=None) -> list[ScenarioModel]:
    """Scenarios from ready inputs Datasets (tests, synthetic studies)."""
    names = names or [f"s{i}" for i in range(len(inputs))]
    check_probabilities(probabilities, names)
    out = [ScenarioModel(n, float(p), ds, None) for n, p, ds in zip(names, probabilities, inputs, strict=True)]
    check_same_axes(out)
    for s in out:
        s.sm = build_model(s.inputs)
    return out


def check_probabilities(probabilities, names) -> None:
    """Raise SpecError unless every probability is in (0, 1] and they sum to 1."""
    probabilities = [float(p) for p in probabilities]
    bad = [Problem(f"scenario {n}: probability", f"{p!r} is not in (0, 1]", "give a probability above 0")
           for n, p in zip(names, probabilities, strict=True) if not (0 < p <= 1)]
    total = math.fsum(probabilities)
    if not bad and abs(total - 1.0) > 1e-6:
        bad.append(Problem("scenario probabilities", f"sum to {total:.6g}, not 1",
                           "scale them so they add up to 1"))
    if bad:
        raise SpecError(bad, "the scenario probabilities are not a probability distribution")


def check_same_axes(scenarios: list[ScenarioModel]) -> None:
    """Every scenario must have the same sites, chips, coolings, options, years and block."""
    ref = scenarios[0]
    problems = []
    for s in scenarios[1:]:
        for d in AX:
            a, b = list(ref.inputs[d].values), list(s.inputs[d].values)
            if a != b:
                problems.append(Problem(
                    f"scenario {s.name}: {d}", f"{_few(b)} differs from scenario {ref.name}'s {_few(a)}",
                    f"keep the {d}s the same in every scenario (change their fields, not the set); "
                    "a chip or site that one scenario must not use can be priced or delayed out"))
        if float(s.inputs.attrs["block_mw"]) != float(ref.inputs.attrs["block_mw"]):
            problems.append(Problem(f"scenario {s.name}: limits.block_mw",
                                    f"{s.inputs.attrs['block_mw']} differs from {ref.inputs.attrs['block_mw']}",
                                    "use one IT block size in every scenario"))
    if problems:
        raise DataError(problems, "the scenarios do not share their decision axes")


def _few(values) -> str:
    values = [str(v) for v in values]
    return str(values if len(values) <= 6 else values[:6] + ["..."])


def mean_inputs(scenarios: list[ScenarioModel]) -> xr.Dataset:
    """The mean-value scenario: every input the probability-weighted mean of the scenarios'.

    Values equal in every scenario are kept exactly. Differing whole-number inputs (years,
    counts) are rounded to the nearest whole number, differing flags take the value of the
    larger probability mass, differing text keeps the first scenario's.
    """
    p = np.asarray([s.probability for s in scenarios])
    first = scenarios[0].inputs
    out = first.copy()
    for name in first.data_vars:
        arrays = [s.inputs[name].values for s in scenarios]
        if all(np.array_equal(arrays[0], a, equal_nan=arrays[0].dtype.kind == "f") for a in arrays[1:]):
            continue
        kind = arrays[0].dtype.kind
        if kind not in "biuf":
            continue
        stacked = np.stack([a.astype(float) for a in arrays])
        with np.errstate(invalid="ignore"):
            mean = np.tensordot(p, stacked, axes=1)
        if kind == "b":
            value = mean >= 0.5
        elif kind in "iu":
            value = np.rint(mean).astype(arrays[0].dtype)
        else:
            value = mean
        out[name] = (first[name].dims, value, first[name].attrs)
    attrs = dict(first.attrs)
    for key, value in first.attrs.items():
        values = [s.inputs.attrs.get(key) for s in scenarios]
        if all(_same(value, v) for v in values[1:]):
            continue
        if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values):
            mean = float(np.dot(p, np.asarray(values, dtype=float)))
            attrs[key] = round(mean) if all(isinstance(v, (int, np.integer)) for v in values) else mean
    out.attrs = attrs
    out.attrs["scenario"] = "mean value"
    return out


def _same(a, b) -> bool:
    try:
        return bool(a == b) or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------ the extensive form
@dataclass
class ExtensiveForm:
    """The scenario models side by side with non-anticipativity rows and the risk term."""

    scenarios: list[ScenarioModel]
    stage: Stage
    A: sp.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    cost: np.ndarray
    offset: float
    col_start: np.ndarray  # first column of each scenario; the risk columns follow the last
    n_link_rows: int
    forced_zero: int  # first-stage cells held at 0 because some scenario lacks them
    cvar_weight: float
    cvar_alpha: float
    build_seconds: float

    @property
    def n_col(self) -> int:
        return len(self.col_lower)

    def split(self, x: np.ndarray) -> list[np.ndarray]:
        """Column values of each scenario model from the extensive form's."""
        return [x[self.col_start[i]: self.col_start[i] + s.sm.n_col] for i, s in enumerate(self.scenarios)]

    def scenario_costs(self, x: np.ndarray) -> np.ndarray:
        """Cost of each scenario's plan [MUSD]."""
        return np.asarray([float(s.sm.cost @ xs + s.sm.cost_offset)
                           for s, xs in zip(self.scenarios, self.split(x), strict=True)])


def first_stage_cells(scenarios: list[ScenarioModel], stage: Stage) -> dict[str, np.ndarray]:
    """Per shared family: (scenario, *5-D cell) column positions, -1 where a scenario lacks it.

    Returns the positions of every cell that is first-stage and exists in at least one
    scenario, as an int array of shape (n_scenarios, n_cells).
    """
    years = np.asarray(scenarios[0].inputs["year"].values, dtype=int)
    out = {}
    for family in FIRST_STAGE_FAMILIES:
        fams = [s.sm.variables.get(family) for s in scenarios]
        if any(f is None for f in fams):
            continue
        pos = np.stack([f.pos for f in fams])  # (S, *5-D)
        ymask = stage.year_mask(family, years).reshape(1, 1, 1, 1, -1)
        cells = (pos >= 0).any(axis=0) & ymask
        out[family] = pos[:, cells]
    return out


def extensive_form(scenarios: list[ScenarioModel], stage: Stage, *, cvar_weight: float = 0.0,
                   cvar_alpha: float = 0.9) -> ExtensiveForm:
    """Assemble the extensive form from the scenario models' arrays."""
    started = time.perf_counter()
    S = len(scenarios)
    sizes = np.asarray([s.sm.n_col for s in scenarios])
    col_start = np.concatenate([[0], np.cumsum(sizes)])
    n_x = int(col_start[-1])
    risk = cvar_weight > 0
    n_col = n_x + (1 + S if risk else 0)
    blocks, lo_rows, up_rows = [], [], []
    for s in scenarios:
        sm = s.sm
        blocks.append(sm.A)
        lower, upper = sm.row_bounds()
        lo_rows.append(lower)
        up_rows.append(upper)
    col_lower = np.concatenate([s.sm.col_lower for s in scenarios])
    col_upper = np.concatenate([s.sm.col_upper for s in scenarios])
    integrality = np.concatenate([s.sm.integrality for s in scenarios])
    # non-anticipativity: x[s] - x[ref] = 0 where both exist; 0 where any scenario lacks it
    li, lj, lv = [], [], []
    n_link = 0
    forced = 0
    for pos in first_stage_cells(scenarios, stage).values():
        present = pos >= 0
        everywhere = present.all(axis=0)
        glob = np.where(present, pos + col_start[:S, None], -1)
        partial = ~everywhere
        forced += int(partial.sum())
        for s in range(S):  # a decision some future forbids is not taken in any
            cols = glob[s, partial & present[s]]
            col_upper[cols] = np.minimum(col_upper[cols], 0.0)
        ref = glob[0, everywhere]
        for s in range(1, S):
            k = len(ref)
            rows = n_link + np.arange(k)
            li += [rows, rows]
            lj += [glob[s, everywhere], ref]
            lv += [np.ones(k), -np.ones(k)]
            n_link += k
    if (col_lower > col_upper + 1e-9).any():
        raise InfeasibleError("a first-stage decision that one scenario forbids has a positive lower "
                              "bound in another; no shared plan exists")
    col_lower = np.minimum(col_lower, col_upper)
    link = sp.csr_array((np.concatenate(lv) if lv else np.zeros(0),
                         (np.concatenate(li) if li else np.zeros(0, int),
                          np.concatenate(lj) if lj else np.zeros(0, int))), shape=(n_link, n_x))
    p = np.asarray([s.probability for s in scenarios])
    costs = [s.sm.cost for s in scenarios]
    offsets = np.asarray([s.sm.cost_offset for s in scenarios])
    cost = np.concatenate([pi * c for pi, c in zip(p, costs, strict=True)])
    offset = float(p @ offsets)
    parts = [sp.block_diag(blocks, format="csr"), link]
    lower = [*lo_rows, np.zeros(n_link)]
    upper = [*up_rows, np.zeros(n_link)]
    if risk:
        # Rockafellar-Uryasev: cost_s(x) - eta - u_s <= -offset_s ; objective + w (eta + sum p u /(1-a))
        rows = sp.lil_array((S, n_col))
        for s in range(S):
            rows[s, col_start[s]: col_start[s + 1]] = costs[s]
            rows[s, n_x] = -1.0
            rows[s, n_x + 1 + s] = -1.0
        parts = [sp.hstack([part, sp.csr_array((part.shape[0], 1 + S))]) for part in parts]
        parts.append(rows.tocsr())
        lower.append(np.full(S, -np.inf))
        upper.append(-offsets)
        cost = np.concatenate([cost, [cvar_weight], cvar_weight * p / (1.0 - cvar_alpha)])
        col_lower = np.concatenate([col_lower, [-np.inf], np.zeros(S)])
        col_upper = np.concatenate([col_upper, [np.inf], np.full(S, np.inf)])
        integrality = np.concatenate([integrality, np.zeros(1 + S, bool)])
    A = sp.vstack(parts, format="csr")
    ef = ExtensiveForm(scenarios, stage, A, np.concatenate(lower), np.concatenate(upper), col_lower,
                       col_upper, integrality, cost, offset, col_start, n_link, forced, cvar_weight,
                       cvar_alpha, 0.0)
    ef.build_seconds = time.perf_counter() - started
    logger.info("extensive form: %d scenarios, %d columns, %d rows (%d non-anticipativity), "
                "%d first-stage cells held at 0, built in %.2f s", S, n_col, A.shape[0], n_link,
                forced, ef.build_seconds)
    return ef


def cvar_start(costs: np.ndarray, p: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """(eta, u) minimising eta + sum p u / (1 - alpha) for fixed scenario costs [MUSD]."""
    best = None
    for eta in costs:
        u = np.maximum(costs - eta, 0.0)
        value = eta + float(p @ u) / (1.0 - alpha)
        if best is None or value < best[0] - 1e-12:
            best = (value, float(eta), u)
    return best[1], best[2]


def cvar(costs: np.ndarray, p: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: min over eta of eta + E[(c - eta)+]/(1-alpha)."""
    eta, u = cvar_start(costs, p, alpha)
    return eta + float(p @ u) / (1.0 - alpha)


def _pass(A, row_lower, row_upper, col_lower, col_upper, integrality, cost, offset) -> Handoff:
    started = time.perf_counter()
    A = sp.csc_array(A)
    h = new_highs()
    status = h.passModel(A.shape[1], A.shape[0], A.nnz, 1, 1, float(offset),
                         np.ascontiguousarray(cost, dtype=float), np.asarray(col_lower, float),
                         np.asarray(col_upper, float), np.asarray(row_lower, float),
                         np.asarray(row_upper, float), A.indptr[:-1].astype(np.int32),
                         A.indices.astype(np.int32), A.data.astype(float),
                         np.asarray(integrality).astype(np.int32))
    if status == highspy.HighsStatus.kError:
        raise SolveError("HiGHS rejected the extensive form (passModel returned an error)")
    n = A.shape[1]
    return Handoff(h, np.arange(n), np.arange(A.shape[0]), row_lower, row_upper, col_lower, col_upper,
                   cost, np.asarray(integrality), time.perf_counter() - started, n)


@dataclass(frozen=True)
class SolverOptions:
    time_limit_s: float | None = None
    mip_rel_gap: float = 0.01
    threads: int = 1
    seed: int = 0


def _run(ho: Handoff, opts: SolverOptions, offset: float, start: np.ndarray | None = None) -> dict:
    set_options(ho.highs, time_limit_s=opts.time_limit_s, mip_rel_gap=opts.mip_rel_gap,
                threads=opts.threads, seed=opts.seed)
    result = run_highs(ho, start=start)
    if "x" in result:
        # the cost of the plan returned, from the arrays (never HiGHS's word alone)
        result["objective"] = float(ho.cost @ result["x"] + offset)
        result["dual_bound"] = min(result["dual_bound"], result["objective"])
    return result


def _sm_arrays(sm: SitingModel, col_lower=None, col_upper=None):
    return (sm.A, *sm.row_bounds(),
            sm.col_lower if col_lower is None else col_lower, sm.col_upper if col_upper is None else col_upper,
            sm.integrality, sm.cost, sm.cost_offset)


def solve_single(sm: SitingModel, opts: SolverOptions, *, col_lower=None, col_upper=None) -> dict:
    """Solve one scenario model (optionally with changed column bounds)."""
    if sm.trivially_infeasible:
        return {"status": "infeasible", "model_status": "trivially infeasible rows"}
    return _run(_pass(*_sm_arrays(sm, col_lower, col_upper)), opts, sm.cost_offset)


def fix_first_stage(scenario: ScenarioModel, values: dict[str, np.ndarray], stage: Stage):
    """Column bounds of ``scenario`` with its first-stage cells fixed to ``values``.

    ``values`` maps a family to its 5-D values (e.g. from the mean-value plan). Returns
    (lower, upper, problems): problems lists cells the values use that the scenario lacks.
    """
    sm = scenario.sm
    lower, upper = sm.col_lower.copy(), sm.col_upper.copy()
    years = np.asarray(scenario.inputs["year"].values, dtype=int)
    problems = []
    for family, value in values.items():
        fam = sm.variables.get(family)
        if fam is None:
            continue
        ymask = np.broadcast_to(stage.year_mask(family, years).reshape(1, 1, 1, 1, -1), fam.pos.shape)
        value = np.broadcast_to(value, fam.pos.shape)
        if fam.kind != "continuous":
            value = np.rint(value)
        have = (fam.pos >= 0) & ymask
        cols = fam.pos[have]
        lower[cols] = value[have]
        upper[cols] = value[have]
        missing = ymask & (fam.pos < 0) & (np.abs(value) > 1e-6)
        for idx in zip(*np.nonzero(missing), strict=False):
            where = {d: scenario.inputs[d].values[i] for d, i in zip(AX, idx, strict=True) if d in fam.dims}
            problems.append(f"{family}[{', '.join(f'{k}={v}' for k, v in where.items())}] = "
                            f"{value[idx]:g}, which scenario {scenario.name} does not allow")
    return lower, upper, problems


def family_values(sm: SitingModel, x: np.ndarray) -> dict[str, np.ndarray]:
    """5-D values of every first-stage family of a solved model."""
    return {f: sm.values(x, f) for f in FIRST_STAGE_FAMILIES if f in sm.variables}


# ------------------------------------------------------------------------- the result
@dataclass
class StochasticResult:
    """What :func:`solve_stochastic` found (money in USD)."""

    scenarios: list[ScenarioModel]
    stage: Stage
    x: list[np.ndarray]  # per scenario, model units
    rp_usd: float  # objective of the extensive form (expected cost + CVaR term)
    rp_bound_usd: float
    expected_cost_usd: float
    cvar_usd: float
    scenario_cost_usd: np.ndarray
    status: str
    mip_gap: float
    eev_usd: float  # inf when the mean-value plan cannot be carried out in some scenario
    eev_bound_usd: float
    ev_usd: float  # cost of the mean-value scenario's own plan
    eev_scenario_usd: np.ndarray
    eev_problems: list[str]
    ws_usd: float
    ws_bound_usd: float
    ws_scenario_usd: np.ndarray
    seconds: dict
    n_columns: int
    n_rows: int
    n_link_rows: int
    forced_zero: int
    options: SolverOptions
    mean_x: np.ndarray | None = None
    mean_sm: SitingModel | None = None
    cvar_weight: float = 0.0
    cvar_alpha: float = 0.9

    @property
    def vss_usd(self) -> float:
        """Value of the stochastic solution, EEV - RP [USD] (on the same objective)."""
        return self.eev_usd - self.rp_usd

    @property
    def vss_tolerance_usd(self) -> float:
        """How far VSS may be off from the solver gaps [USD]."""
        return (self.rp_usd - self.rp_bound_usd) + (self.eev_usd - self.eev_bound_usd)

    @property
    def evpi_usd(self) -> float:
        """Expected value of perfect information, RP - WS [USD] (expected cost objective)."""
        return self.rp_usd - self.ws_usd

    @property
    def evpi_tolerance_usd(self) -> float:
        return (self.rp_usd - self.rp_bound_usd) + (self.ws_usd - self.ws_bound_usd)

    def significant(self, value: float, tolerance: float) -> bool:
        return bool(np.isfinite(value) and value > max(tolerance, 0.0) + 1.0)


def solve_stochastic(
    scenarios: list[ScenarioModel],
    stage: Stage,
    *,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.9,
    options: SolverOptions | None = None,
    value_of_information: bool = True,
    progress: Progress | None = None,
) -> StochasticResult:
    """Solve the two-stage program of ``scenarios`` and measure VSS and EVPI.

    Parameters
    ----------
    scenarios : list of ScenarioModel
        From :func:`build_scenarios` or :func:`scenarios_from_inputs`.
    stage : Stage
        The last first-stage year and whether site choices are shared in every year.
    cvar_weight, cvar_alpha : float
        Objective = expected cost + cvar_weight x CVaR_alpha(cost).
    options : SolverOptions
        Time limit and gap of each HiGHS solve (the mean-value plan, each recourse, the
        extensive form, each wait-and-see solve).
    value_of_information : bool
        Also solve the mean-value plan and its recourse (VSS) and each scenario alone (EVPI).

    Raises
    ------
    InfeasibleError
        No shared plan serves every scenario (naming a scenario infeasible on its own, if any).
    SolveError
        Time limit with no plan, or a solver failure.
    """
    opts = options or SolverOptions()
    report = progress or (lambda event, info: None)
    p = np.asarray([s.probability for s in scenarios])
    check_probabilities(p, [s.name for s in scenarios])
    seconds: dict[str, float] = {"build": float(sum(s.sm.build_seconds for s in scenarios))}
    for s in scenarios:
        if s.sm.trivially_infeasible:
            rows = ", ".join(f"{f}[{lab}]" for f, lab, *_ in s.sm.trivially_infeasible[:3])
            raise InfeasibleError(f"scenario {s.name} is infeasible on its own: rows {rows} have no "
                                  "variable that could meet them (e.g. a target before any chip is on sale)")
    ef = extensive_form(scenarios, stage, cvar_weight=cvar_weight, cvar_alpha=cvar_alpha)
    seconds["extensive_form"] = ef.build_seconds

    # mean-value plan and its evaluation in every scenario (EEV)
    ev = eev = eev_bound = math.inf
    eev_each = np.full(len(scenarios), math.inf)
    eev_problems: list[str] = []
    mean_x = mean_sm = None
    start = None
    if value_of_information:
        t0 = time.perf_counter()
        report("solve", {"phase": "solve", "detail": "the mean-value scenario"})
        mean = mean_inputs(scenarios)
        mean_sm = build_model(mean)
        res = solve_single(mean_sm, opts)
        if "x" in res:
            ev, mean_x = res["objective"] * 1e6, res["x"]
            values = family_values(mean_sm, mean_x)
            xs, bounds = [], []
            for i, s in enumerate(scenarios):
                lower, upper, problems = fix_first_stage(s, values, stage)
                eev_problems += problems
                if problems:
                    continue
                r = solve_single(s.sm, opts, col_lower=lower, col_upper=upper)
                if "x" not in r:
                    eev_problems.append(f"scenario {s.name}: no recourse completes the mean-value plan "
                                        f"({r.get('model_status', r['status'])})")
                    continue
                eev_each[i] = r["objective"] * 1e6
                bounds.append(r["dual_bound"])
                xs.append(r["x"])
            if len(xs) == len(scenarios):
                costs = eev_each / 1e6
                eev = ev_objective(costs, p, cvar_weight, cvar_alpha) * 1e6
                eev_bound = ev_objective(np.asarray(bounds), p, cvar_weight, cvar_alpha) * 1e6
                start = np.concatenate(xs)
                if cvar_weight > 0:
                    eta, u = cvar_start(costs, p, cvar_alpha)
                    start = np.concatenate([start, [eta], u])
        else:
            eev_problems.append(f"the mean-value scenario has no plan ({res.get('model_status', res['status'])})")
        seconds["mean_value"] = time.perf_counter() - t0

    # the extensive form (RP), started from the mean-value plan when it is feasible
    t0 = time.perf_counter()
    report("solve", {"phase": "solve", "detail": f"extensive form, {len(scenarios)} scenarios, "
                                                  f"{ef.n_col:,} columns"})
    ho = _pass(ef.A, ef.row_lower, ef.row_upper, ef.col_lower, ef.col_upper, ef.integrality, ef.cost, ef.offset)
    seconds["handoff"] = ho.seconds
    res = _run(ho, opts, ef.offset, start=start)
    seconds["extensive_solve"] = time.perf_counter() - t0
    if res["status"] == "infeasible":
        alone = [s.name for s in scenarios if solve_single(s.sm, opts)["status"] == "infeasible"]
        if alone:
            raise InfeasibleError(f"scenario(s) {', '.join(alone)} have no plan even on their own; run "
                                  "each as a deterministic study (dcplan run with its overrides) to see why")
        raise InfeasibleError("every scenario has a plan on its own, but no first-stage plan serves all of "
                              "them; move first_stage_last_year earlier, set share_site_choice: false, or "
                              "add a fleet.shortfall_penalty_usd_per_gpu")
    if res["status"] == "no_solution":
        raise SolveError(f"time limit of {opts.time_limit_s} s reached with no feasible shared plan",
                         status="time_limit")
    if "x" not in res:
        raise SolveError(f"HiGHS stopped with status {res['model_status']!r} on the extensive form",
                         status=res["model_status"])
    x = res["x"]
    rp, rp_bound = res["objective"] * 1e6, min(res["dual_bound"], res["objective"]) * 1e6
    costs = ef.scenario_costs(x)

    # wait-and-see: each scenario alone
    ws = ws_bound = math.nan
    ws_each = np.full(len(scenarios), math.nan)
    if value_of_information:
        t0 = time.perf_counter()
        report("solve", {"phase": "solve", "detail": "each scenario alone (wait and see)"})
        bounds = []
        for i, s in enumerate(scenarios):
            r = solve_single(s.sm, opts)
            if "x" not in r:
                bounds = None
                break
            ws_each[i] = r["objective"] * 1e6
            bounds.append(r["dual_bound"])
        if bounds is not None:
            ws = ev_objective(ws_each / 1e6, p, cvar_weight, cvar_alpha) * 1e6
            lo = ev_objective(np.asarray(bounds), p, cvar_weight, cvar_alpha) * 1e6
            ws_bound = min(lo, ws)
        seconds["wait_and_see"] = time.perf_counter() - t0
    expected = float(p @ costs) * 1e6
    return StochasticResult(
        scenarios=scenarios, stage=stage, x=ef.split(x), rp_usd=rp, rp_bound_usd=rp_bound,
        expected_cost_usd=expected, cvar_usd=cvar(costs, p, cvar_alpha) * 1e6,
        scenario_cost_usd=costs * 1e6, status=res["status"], mip_gap=float(res["gap"]),
        eev_usd=eev, eev_bound_usd=min(eev_bound, eev), ev_usd=ev, eev_scenario_usd=eev_each,
        eev_problems=eev_problems, ws_usd=ws, ws_bound_usd=ws_bound, ws_scenario_usd=ws_each,
        seconds=seconds, n_columns=ef.n_col, n_rows=int(ef.A.shape[0]), n_link_rows=ef.n_link_rows,
        forced_zero=ef.forced_zero, options=opts, mean_x=mean_x, mean_sm=mean_sm, cvar_weight=cvar_weight,
        cvar_alpha=cvar_alpha)


def ev_objective(costs: np.ndarray, p: np.ndarray, cvar_weight: float, cvar_alpha: float) -> float:
    """The stochastic objective of fixed scenario costs: E[c] + w CVaR_alpha(c) [same unit]."""
    value = float(p @ costs)
    if cvar_weight > 0:
        value += cvar_weight * cvar(costs, p, cvar_alpha)
    return value


def non_anticipativity_gap(result: StochasticResult) -> float:
    """Largest difference of a first-stage cell between scenarios in the solution (model units)."""
    worst = 0.0
    vals = [family_values(s.sm, x) for s, x in zip(result.scenarios, result.x, strict=True)]
    years = np.asarray(result.scenarios[0].inputs["year"].values, dtype=int)
    for family in FIRST_STAGE_FAMILIES:
        if family not in vals[0]:
            continue
        ymask = result.stage.year_mask(family, years)
        stack = np.stack([v[family][..., ymask] for v in vals])
        if stack.size:
            worst = max(worst, float((stack.max(axis=0) - stack.min(axis=0)).max()))
    return worst


# ---------------------------------------------------------------------- Pyomo route
def build_pyomo_extensive_form(scenarios: list[ScenarioModel], stage: Stage):
    """The extensive form as one Pyomo model: a Block per scenario plus linking rows.

    The scenario models become Blocks of a parent ConcreteModel (their own objectives
    deactivated); non-anticipativity rows link the first-stage cells; the objective is the
    expected cost. Used to cross-check the array route and to time both
    (``benchmarks/bench_stochastic.py``). The scenario models are moved into the parent,
    so build fresh ones for anything else.

    Returns
    -------
    (pyo.ConcreteModel, list of the column order)
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    parent = pyo.ConcreteModel(name="extensive form")
    order: list = []
    terms_c, terms_v = [], []
    for i, s in enumerate(scenarios):
        block = s.sm.model
        block.objective.deactivate()
        parent.add_component(f"scenario_{i}", block)
        order.extend(s.sm.vardata)
        nz = np.nonzero(s.sm.cost)[0]
        terms_c += (s.probability * s.sm.cost[nz]).tolist()
        terms_v += [s.sm.vardata[j] for j in nz.tolist()]
    parent.link = pyo.ConstraintList()
    for pos in first_stage_cells(scenarios, stage).values():
        present = pos >= 0
        everywhere = present.all(axis=0)
        for s in range(len(scenarios)):
            for j in pos[s, present[s] & ~everywhere].tolist():
                scenarios[s].sm.vardata[j].setub(0.0)
        for s in range(1, len(scenarios)):
            for a, b in zip(pos[s, everywhere].tolist(), pos[0, everywhere].tolist(), strict=True):
                parent.link.add(LinearExpression(constant=0.0, linear_coefs=[1.0, -1.0], linear_vars=[
                    scenarios[s].sm.vardata[a], scenarios[0].sm.vardata[b]]) == 0)
    parent.objective = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=terms_c, linear_vars=terms_v), sense=pyo.minimize)
    return parent, order


def solve_pyomo_extensive_form(parent, order, opts: SolverOptions) -> dict:
    """Compile the Pyomo extensive form to standard form and solve it with HiGHS."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    t0 = time.perf_counter()
    info = LinearStandardFormCompiler().write(parent, mixed_form=True, column_order=order)
    mult = np.fromiter((r[1] for r in info.rows), dtype=np.int64, count=len(info.rows))
    rhs = np.asarray(info.rhs, dtype=float)
    lower = np.where(mult <= 0, rhs, -np.inf)
    upper = np.where(mult >= 0, rhs, np.inf)
    cols = info.columns
    col_lower = np.asarray([-np.inf if v.lb is None else v.lb for v in cols], float)
    col_upper = np.asarray([np.inf if v.ub is None else v.ub for v in cols], float)
    integ = np.asarray([v.is_integer() or v.is_binary() for v in cols], bool)
    cost = np.asarray(info.c.toarray()).reshape(-1) if info.c.shape[0] else np.zeros(len(cols))
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    compile_s = time.perf_counter() - t0
    ho = _pass(info.A, lower, upper, col_lower, col_upper, integ, cost, offset)
    result = _run(ho, opts, offset)
    result["compile_seconds"] = compile_s
    return result


# ------------------------------------------------------------------------ audited plans
def scenario_plans(result: StochasticResult, *, study_yaml: str | None = None) -> list:
    """One audited :class:`dcplan.results.Plan` per scenario; AuditError if any fails."""
    from dcplan.results import Plan

    plans = []
    failures = []
    for i, (s, x) in enumerate(zip(result.scenarios, result.x, strict=True)):
        meta = {
            "status": result.status,
            "objective_usd": float(result.scenario_cost_usd[i]),
            "dual_bound_usd": float("nan"),
            "mip_gap": result.mip_gap,
            "bound_source": "extensive_form",
            "mip_rel_gap": result.options.mip_rel_gap,
            "threads": result.options.threads,
            "seed": result.options.seed,
            "skip": "",
            "scenario": s.name,
            "scenario_probability": s.probability,
        }
        plan = Plan.from_solution(s.sm, x, meta, study_yaml=study_yaml)
        verdict = plan.audit()
        if not verdict.ok:
            plan.dataset.attrs["status"] = "audit_failed"
            failures.append((s.name, plan, verdict))
        plans.append(plan)
    if failures:
        name, plan, verdict = failures[0]
        head = "; ".join(str(v) for v in verdict.violations[:3])
        names = ", ".join(f[0] for f in failures)
        raise AuditError(f"the shared plan breaks constraints of scenario(s) {names} when re-checked from "
                         f"its outputs ({name}: {head}); it is not a valid plan", plan=plan, audit=verdict)
    return plans


# ------------------------------------------------------------------- the stochastic plan
#: run facts stored as attrs of the stochastic dataset and in summary.json
SUMMARY_KEYS = ("status", "rp_usd", "rp_bound_usd", "mip_gap", "expected_cost_usd", "cvar_usd", "ev_usd",
                "eev_usd", "eev_bound_usd", "ws_usd", "ws_bound_usd", "vss_usd", "vss_tolerance_usd",
                "evpi_usd", "evpi_tolerance_usd", "vss_significant", "evpi_significant",
                "first_stage_last_year", "share_site_choice", "cvar_weight", "cvar_alpha", "mip_rel_gap",
                "n_columns", "n_rows", "n_link_rows", "forced_zero_cells")

SCENARIO_UNITS = {
    "scenario_probability": ("1", "probability of the scenario"),
    "scenario_cost_usd": ("USD", "net present cost of the shared plan in the scenario"),
    "eev_scenario_cost_usd": ("USD", "net present cost of the mean-value plan's first stage, completed "
                                     "by the best recourse in the scenario (NaN: cannot be completed)"),
    "ws_scenario_cost_usd": ("USD", "net present cost of the scenario planned alone (wait and see)"),
    "first_stage_year": ("1", "the year's builds are first-stage (shared by every scenario)"),
}


class StochasticPlan:
    """The plan of a two-stage study: one audited Plan per scenario and their comparison.

    Attributes
    ----------
    plans : dict of scenario name -> dcplan.results.Plan
        Each scenario's plan, audited against that scenario's own inputs.
    dataset : xr.Dataset
        The scenario plans along a ``scenario`` dimension (units on every variable), with
        ``scenario_probability``, ``scenario_cost_usd``, ``eev_scenario_cost_usd``,
        ``ws_scenario_cost_usd`` and ``first_stage_year``; the shared decision variables
        carry a ``non_anticipative`` attr saying in which years they are shared.
    result : StochasticResult
        RP, EEV, WS, VSS and EVPI (money in USD).
    """

    is_stochastic = True

    def __init__(self, result: StochasticResult, plans: list, *, study_yaml: str = "", name: str = ""):
        self.result = result
        self.plans = {s.name: plan for s, plan in zip(result.scenarios, plans, strict=True)}
        self.name = name
        self.dataset = self._dataset(study_yaml)

    # ---- facts
    @property
    def scenario_names(self) -> list[str]:
        return list(self.plans)

    @property
    def vss_usd(self) -> float:
        return self.result.vss_usd

    @property
    def evpi_usd(self) -> float:
        return self.result.evpi_usd

    def facts(self) -> dict:
        r = self.result
        return {
            "status": r.status, "rp_usd": r.rp_usd, "rp_bound_usd": r.rp_bound_usd, "mip_gap": r.mip_gap,
            "expected_cost_usd": r.expected_cost_usd, "cvar_usd": r.cvar_usd, "ev_usd": r.ev_usd,
            "eev_usd": r.eev_usd, "eev_bound_usd": r.eev_bound_usd, "ws_usd": r.ws_usd,
            "ws_bound_usd": r.ws_bound_usd, "vss_usd": r.vss_usd, "vss_tolerance_usd": r.vss_tolerance_usd,
            "evpi_usd": r.evpi_usd, "evpi_tolerance_usd": r.evpi_tolerance_usd,
            "vss_significant": r.significant(r.vss_usd, r.vss_tolerance_usd),
            "evpi_significant": r.significant(r.evpi_usd, r.evpi_tolerance_usd),
            "first_stage_last_year": r.stage.last_year, "share_site_choice": r.stage.share_site_choice,
            "cvar_weight": r.cvar_weight, "cvar_alpha": r.cvar_alpha, "mip_rel_gap": r.options.mip_rel_gap,
            "n_columns": r.n_columns, "n_rows": r.n_rows, "n_link_rows": r.n_link_rows,
            "forced_zero_cells": r.forced_zero,
        }

    def vss_text(self) -> str:
        """VSS in words, stated as a difference only when it exceeds the solver gaps."""
        r = self.result
        if r.eev_problems and not np.isfinite(r.eev_usd):
            return ("the mean-value plan cannot be carried out in every scenario (" + r.eev_problems[0]
                    + "); planning for the mean scenario would fail, the stochastic plan does not")
        if not np.isfinite(r.eev_usd):
            return "VSS not computed"
        if r.significant(r.vss_usd, r.vss_tolerance_usd):
            return (f"VSS ${r.vss_usd / 1e6:,.1f} M: the stochastic plan costs less in expectation than "
                    f"planning for the mean scenario (beyond the solver gaps, ${r.vss_tolerance_usd / 1e6:,.1f} M)")
        return (f"VSS ${r.vss_usd / 1e6:,.1f} M is within the solver gaps (${r.vss_tolerance_usd / 1e6:,.1f} M): "
                "the stochastic and mean-value plans are not told apart")

    def evpi_text(self) -> str:
        r = self.result
        if not np.isfinite(r.ws_usd):
            return "EVPI not computed"
        if r.significant(r.evpi_usd, r.evpi_tolerance_usd):
            return (f"EVPI ${r.evpi_usd / 1e6:,.1f} M: what knowing the scenario before the first-stage "
                    "decisions would save")
        return (f"EVPI ${r.evpi_usd / 1e6:,.1f} M is within the solver gaps (${r.evpi_tolerance_usd / 1e6:,.1f} M)")

    # ---- data
    def _dataset(self, study_yaml: str) -> xr.Dataset:
        import pandas as pd

        from dcplan.results import DIMS5

        r = self.result
        names = self.scenario_names
        parts = []
        for plan in self.plans.values():
            ds = plan.dataset
            parts.append(ds.drop_vars([v for v in ds.variables if str(v).startswith("dual_")]))
        ds = xr.concat(parts, dim=pd.Index(names, name="scenario"), data_vars="all", coords="minimal",
                       compat="override", combine_attrs="override")
        ds = ds.drop_vars([c for c in ds.coords if "scenario" in ds[c].dims and c != "scenario"
                           and c not in DIMS5])
        nan = float("nan")
        values = {
            "scenario_probability": [s.probability for s in r.scenarios],
            "scenario_cost_usd": r.scenario_cost_usd,
            "eev_scenario_cost_usd": np.where(np.isfinite(r.eev_scenario_usd), r.eev_scenario_usd, nan),
            "ws_scenario_cost_usd": r.ws_scenario_usd,
        }
        for key, value in values.items():
            unit, long_name = SCENARIO_UNITS[key]
            ds[key] = xr.DataArray(np.asarray(value, float), dims=("scenario",),
                                   attrs={"units": unit, "long_name": long_name})
        years = np.asarray(ds["year"].values, dtype=int)
        unit, long_name = SCENARIO_UNITS["first_stage_year"]
        ds["first_stage_year"] = xr.DataArray((years <= r.stage.last_year).astype(np.int8), dims=("year",),
                                              attrs={"units": unit, "long_name": long_name})
        for family, output in OUTPUT_OF.items():
            if output in ds:
                shared_all = r.stage.share_site_choice and family in SITE_CHOICE_FAMILIES
                ds[output].attrs["non_anticipative"] = (
                    "every year" if shared_all else f"years up to {r.stage.last_year}")
        for name in ("site_open", "interconnect_option"):
            if name in ds and r.stage.share_site_choice:
                ds[name].attrs["non_anticipative"] = "every year"
        for name in ds.variables:
            ds[name].attrs.setdefault("units", "1")
        keep = ("study_name", "block_mw", "capital_cost_method", "first_year", "last_year", "discount_rate")
        attrs = {k: ds.attrs[k] for k in keep if k in ds.attrs}
        facts = self.facts()
        attrs.update({k: (int(v) if isinstance(v, bool | np.bool_) else v) for k, v in facts.items()})
        attrs["scenarios"] = ",".join(names)
        attrs["eev_problems"] = "\n".join(r.eev_problems[:20])
        attrs["study_yaml"] = study_yaml or ""
        attrs["seconds_json"] = __import__("json").dumps({k: round(v, 3) for k, v in r.seconds.items()})
        ds.attrs = attrs
        return ds

    def summary_dict(self) -> dict:
        """Content of summary.json: the comparison and each scenario's plan summary."""
        from dcplan.results import _jsonable

        out = {"study": self.name, "stochastic": True}
        out.update({k: _jsonable(v) for k, v in self.facts().items()})
        out["vss"] = self.vss_text()
        out["evpi"] = self.evpi_text()
        out["eev_problems"] = self.result.eev_problems[:20]
        out["seconds"] = {k: round(v, 3) for k, v in self.result.seconds.items()}
        out["scenarios"] = {}
        for i, (name, plan) in enumerate(self.plans.items()):
            s = plan.summary_dict()
            out["scenarios"][name] = {
                "probability": self.result.scenarios[i].probability,
                "overrides": {k: _jsonable(v) for k, v in self.result.scenarios[i].overrides.items()},
                "cost_usd": float(self.result.scenario_cost_usd[i]),
                "eev_cost_usd": _jsonable(self.result.eev_scenario_usd[i]),
                "ws_cost_usd": _jsonable(self.result.ws_scenario_usd[i]),
                "sites": s["sites"], "audit": s["audit"],
            }
        out["audit"] = {"ok": all(v["audit"]["ok"] for v in out["scenarios"].values())}
        out["objective_usd"] = _jsonable(self.result.rp_usd)
        return out

    def to_dir(self, path) -> Path:
        """Write stochastic.nc, summary.json and scenarios/<name>/ (each a full plan), atomically."""
        import json

        from dcplan.atomic import atomic_dir
        from dcplan.netcdf import write_netcdf

        path = Path(path)
        with atomic_dir(path) as tmp:
            write_netcdf(self.dataset, tmp / "stochastic.nc")
            (tmp / "summary.json").write_text(json.dumps(self.summary_dict(), indent=2, default=str),
                                              encoding="utf-8")
            for name, plan in self.plans.items():
                plan.to_dir(tmp / "scenarios" / name)
        return path

    def __repr__(self) -> str:
        r = self.result
        return (f"<StochasticPlan {self.name}: {len(self.plans)} scenarios, {r.status}, expected cost "
                f"${r.expected_cost_usd / 1e9:,.3f} bn, VSS ${r.vss_usd / 1e6:,.1f} M>")


def solve_study(study, *, time_limit_s: float | None = None, mip_rel_gap: float | None = None,
                threads: int | None = None, progress: Progress | None = None) -> StochasticPlan:
    """Solve a study with an ``uncertainty:`` section; every scenario's plan is audited.

    Raises
    ------
    SpecError, DataError
        Bad scenarios (probabilities, overrides, differing axes).
    InfeasibleError, SolveError, AuditError
        As :func:`solve_stochastic` and :func:`scenario_plans`.
    """
    u = study.uncertainty
    opts = SolverOptions(
        time_limit_s=time_limit_s if time_limit_s is not None else study.solver.time_limit_s,
        mip_rel_gap=mip_rel_gap if mip_rel_gap is not None else study.solver.mip_rel_gap,
        threads=threads if threads is not None else study.solver.threads, seed=study.solver.seed)
    scenarios = build_scenarios(study, progress=progress)
    result = solve_stochastic(scenarios, Stage(u.first_stage_last_year, u.share_site_choice),
                              cvar_weight=u.risk.cvar_weight, cvar_alpha=u.risk.cvar_alpha, options=opts,
                              progress=progress)
    report = progress or (lambda event, info: None)
    report("audit", {"phase": "audit", "detail": "re-checking every scenario's plan"})
    plans = scenario_plans(result, study_yaml=study.to_yaml())
    plan = StochasticPlan(result, plans, study_yaml=study.to_yaml(), name=study.name)
    report("audit", {"phase": "audit", "done": True, "ok": True, "detail": "every scenario passed"})
    logger.info("%r; %s", plan, plan.vss_text())
    return plan
