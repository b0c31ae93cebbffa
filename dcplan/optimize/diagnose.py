"""Why a study is infeasible: the smallest set of planning changes that would make it feasible.

The diagnosis solves an elastic copy of the model (:func:`build_model` with
``elastic=True``): every row of a limit a planner can change (targets, grid capacity and
phasing, water, budget, carbon, land, build rate, site count, ISO share, and the permit,
construction, interconnect-lead and chip-availability dates that the plain model imposes
as structural zeros) gets a nonnegative slack. The slacks are weighted by the size of the
limit they loosen (a relative change) and by how hard the limit is to move (a target is
what the analyst asked for, so loosening it is the last resort), costs are dropped, and
HiGHS minimises the weighted total. Each slack left is turned into one sentence in planning
words, with the place, the year and the size of the change in canonical units.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd

from dcplan.optimize.highs import handoff
from dcplan.optimize.highs_quiet import safe_run, set_threads
from dcplan.optimize.model import SitingModel, build_model

logger = logging.getLogger(__name__)

#: constraint -> (family, weight, unit scale, factor to canonical units, canonical unit)
RELAXABLE: dict[str, tuple[str, float, float, float, str]] = {
    "target_gpus_min": ("target", 10.0, 1.0, 1e3, "GPU"),
    "target_pflops_min": ("target", 10.0, 1.0, 1e3, "PFLOPS"),
    "build_rate_max": ("build_rate", 1.0, 10.0, 1.0, "MW"),
    "land_max": ("land", 1.0, 10.0, 1.0, "MW"),
    "facility_peak_max": ("facility_peak", 1.0, 10.0, 1.0, "MW"),
    "ic_phase_max": ("ic_phase", 1.5, 10.0, 1.0, "MW"),
    "ic_capacity_max": ("ic_capacity", 1.5, 10.0, 1.0, "MW"),
    "water_cap_max": ("water_cap", 1.0, 100.0, 1e3, "m**3"),
    "capex_budget_max": ("capex_budget", 1.0, 100.0, 1e6, "USD"),
    "carbon_cap_max": ("carbon_cap", 1.0, 10.0, 1e3, "t"),
    "iso_share_max": ("iso_share", 1.0, 10.0, 1.0, "MW"),
    "sites_max": ("site_count", 1.0, 1.0, 1.0, "site"),
    "sites_min": ("site_count", 1.0, 1.0, 1.0, "site"),
    "it_before_permit": ("permit", 2.0, 10.0, 1.0, "MW"),
    "ic_before_earliest": ("ic_lead", 2.0, 10.0, 1.0, "MW"),
    "gpus_before_sale": ("chip_first_year", 5.0, 1.0, 1e3, "GPU"),
}

Progress = Callable[[str, dict], None]


@dataclass
class Diagnosis:
    """The changes that would make an infeasible study feasible, in planning words.

    Attributes
    ----------
    slacks : pandas.DataFrame
        One row per loosened limit element: ``family``, ``constraint``, ``label``,
        ``slack`` (canonical units), ``unit``.
    messages : list of str
        One sentence per change, most important first.
    method : str
        ``"mip"`` (the smallest weighted set of changes, within the time budget), ``"lp"``
        (lower bounds on the changes, when the MIP found none in time) or ``"none"``.
    """

    slacks: pd.DataFrame = field(default_factory=pd.DataFrame)
    messages: list[str] = field(default_factory=list)
    method: str = "mip"

    @property
    def families(self) -> list[str]:
        return sorted(set(self.slacks["family"])) if len(self.slacks) else []

    @property
    def headline(self) -> str:
        return self.messages[0] if self.messages else "no single limit could be singled out"

    def __str__(self) -> str:
        return "\n".join(f"- {m}" for m in self.messages)


def diagnose(
    sm: SitingModel,
    *,
    time_limit_s: float | None = 60.0,
    threads: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> Diagnosis:
    """Elastic relaxation of the study behind ``sm``; returns a :class:`Diagnosis`.

    Two relaxations: first every limit but the targets (what would have to change for the
    targets to be met), then the targets alone with every limit kept (how much of the
    targets today's limits allow). The first's changes lead the messages.

    Parameters
    ----------
    sm : SitingModel
        The (infeasible) model; its inputs and skipped families are reused.
    time_limit_s : float, optional
        Time budget of the two relaxations together [s] (default 60).
    threads, seed : int
        HiGHS options.
    progress : callable, optional
        ``progress("diagnose", info)`` as the relaxation improves.
    """
    report = progress or (lambda event, info: None)
    started = time.perf_counter()
    budget = float(time_limit_s) if time_limit_s else 60.0
    report("diagnose", {"phase": "diagnose", "detail": "elastic relaxation of every limit"})
    el = build_model(sm.inputs, skip=sm.skip, elastic=True)
    limits = [n for n, v in RELAXABLE.items() if v[0] != "target"]
    targets = [n for n, v in RELAXABLE.items() if v[0] == "target"]
    first, method = _relax(el, limits, budget * 2 / 3, threads, seed, report)
    left = max(budget - (time.perf_counter() - started), 1.0)
    second, _ = _relax(el, targets, left, threads, seed, report)
    messages = [_trivial_words(sm, t) for t in el.trivially_infeasible]
    frames = []
    if first is not None:
        frames.append(first)
        messages += _explain(sm, first)
        if method == "lp":
            messages.append(
                "(no integer relaxation was found within the time budget; the changes above are "
                "lower bounds from the LP relaxation)"
            )
    if second is not None and len(second):
        frames.append(second)
        words = _explain(sm, second)
        if first is None:
            messages += words
        else:
            messages += ["or, keeping every limit: " + w for w in words]
    if not frames:
        messages.append(
            "no plan exists even with every limit loosened: no chip can be cooled by "
            "the allowed cooling technologies, or no site has any interconnect option"
        )
        method = "none"
    columns = ["family", "constraint", "label", "slack", "unit"]
    slacks = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    report(
        "diagnose",
        {
            "phase": "diagnose",
            "done": True,
            "seconds": time.perf_counter() - started,
            "detail": f"{len(messages)} change(s)",
        },
    )
    return Diagnosis(slacks, messages, method)


def _relax(
    el: SitingModel, constraints: list[str], time_limit_s: float, threads: int, seed: int, report
) -> tuple[pd.DataFrame | None, str]:
    """Weighted elastic relaxation of the rows of ``constraints``; None when it has no solution."""
    ho = handoff(el, compile_pyomo=False)
    h = ho.highs
    names = el.row_family()
    labels = el.row_labels()
    wanted = set(constraints)
    entries = []  # (row, sign, weight)
    for r in np.nonzero([n in wanted for n in names])[0]:
        _, weight, scale, _, _ = RELAXABLE[names[r]]
        size = max(abs(float(el.rhs[r])), scale)
        if el.senses[r] in ("le", "eq"):
            entries.append((int(r), -1.0, weight / size))
        if el.senses[r] in ("ge", "eq"):
            entries.append((int(r), 1.0, weight / size))
    n_old = el.n_col
    h.changeColsCost(n_old, np.arange(n_old, dtype=np.int32), np.zeros(n_old))
    n_new = len(entries)
    if n_new:
        idx = np.array([e[0] for e in entries], dtype=np.int32)
        val = np.array([e[1] for e in entries], dtype=float)
        cost = np.array([e[2] for e in entries], dtype=float)
        h.addCols(
            n_new,
            cost,
            np.zeros(n_new),
            np.full(n_new, np.inf),
            n_new,
            np.arange(n_new, dtype=np.int32),
            idx,
            val,
        )
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-3)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.5))
    set_threads(h, threads)
    h.setOptionValue("random_seed", int(seed))

    def on_improving(event) -> None:
        out = event.data_out
        report(
            "diagnose",
            {
                "phase": "diagnose",
                "seconds": out.running_time,
                "detail": f"smallest change so far {out.objective_function_value:,.3g}",
            },
        )

    h.cbMipImprovingSolution.subscribe(on_improving)
    safe_run(h)
    method = "mip"
    if (
        h.getInfo().primal_solution_status != 2
        and h.getModelStatus() != highspy.HighsModelStatus.kInfeasible
    ):
        # no integer relaxation in time: the LP relaxation gives lower bounds on the changes
        method = "lp"
        n = h.getNumCol()
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
        h.setOptionValue("time_limit", 60.0)
        h.run()
    if h.getInfo().primal_solution_status != 2:
        return None, method
    x = np.asarray(h.getSolution().col_value)[n_old:]
    records = []
    for (r, _, w), s in zip(entries, x, strict=False):
        if s > 1e-6:
            name, label = labels[r]
            family, _, _, factor, unit = RELAXABLE[name]
            records.append(
                {
                    "family": family,
                    "constraint": name,
                    "label": label,
                    "slack": float(s) * factor,
                    "unit": unit,
                    "weight": float(s) * w,
                }
            )
    return pd.DataFrame(
        records, columns=["family", "constraint", "label", "slack", "unit", "weight"]
    ), method


# -------------------------------------------------------------------------------- words
def _usd(x: float) -> str:
    if x >= 1e9:
        return f"${x / 1e9:,.2f} bn"
    if x >= 1e6:
        return f"${x / 1e6:,.1f} M"
    return f"${x:,.0f}"


def _m3(x: float) -> str:
    return f"{x / 1e6:,.2f} M m3/yr" if x >= 1e5 else f"{x:,.0f} m3/yr"


def _num(ds, name, **sel) -> float:
    return float(ds[name].sel(**sel))


def _explain(sm: SitingModel, slacks: pd.DataFrame) -> list[str]:
    """One sentence per change; the most heavily weighted changes first."""
    ds = sm.inputs
    items: list[tuple[float, str]] = []
    for name, group in slacks.groupby("constraint", sort=False):
        group = group[group["slack"] >= 0.01 * group["slack"].max()]
        weight = float(group["weight"].sum())
        labels, values = list(group["label"]), group["slack"].to_numpy()
        if name == "target_gpus_min":
            by_chip: dict[str, list] = {}
            for (chip, year), s in zip(labels, values, strict=False):
                by_chip.setdefault(chip, []).append((int(year), s))
            for chip, rows in by_chip.items():
                parts = [
                    f"{year} ({_num(ds, 'target_gpus', chip=chip, year=year):,.0f}) by {s:,.0f}"
                    for year, s in rows
                ]
                items.append(
                    (weight, f"lower the {chip} GPU target of " + ", ".join(parts) + " GPUs")
                )
        elif name == "target_pflops_min":
            for year, s in zip(labels, values, strict=False):
                need = _num(ds, "target_pflops", year=year)
                items.append(
                    (
                        weight,
                        f"lower the {year} compute target of {need:,.0f} PFLOPS by {s:,.0f} PFLOPS",
                    )
                )
        elif name == "capex_budget_max":
            for year, s in zip(labels, values, strict=False):
                budget = _num(ds, "capex_budget_usd", year=year)
                items.append(
                    (weight, f"raise the {year} capex budget by {_usd(s)} (from {_usd(budget)})")
                )
        elif name == "carbon_cap_max":
            for year, s in zip(labels, values, strict=False):
                cap = _num(ds, "carbon_cap_t", year=year)
                items.append(
                    (weight, f"raise the {year} carbon cap by {s:,.0f} t CO2 (from {cap:,.0f} t)")
                )
        elif name in (
            "water_cap_max",
            "land_max",
            "facility_peak_max",
            "build_rate_max",
            "it_before_permit",
        ):
            items += [(weight, m) for m in _by_site(ds, name, labels, values)]
        elif name in ("ic_capacity_max", "ic_phase_max", "ic_before_earliest"):
            items += [(weight, m) for m in _by_option(ds, name, labels, values)]
        elif name == "iso_share_max":
            for (iso, year), s in zip(labels, values, strict=False):
                share = float(ds.attrs.get("max_iso_share", 1.0))
                items.append(
                    (
                        weight,
                        f"{iso} would have to hold {s:,.0f} MW more IT in {year} than the "
                        f"{share:.0%} max_iso_share allows: raise max_iso_share",
                    )
                )
        elif name == "sites_max":
            s = float(values.sum())
            items.append(
                (
                    weight,
                    f"allow {math.ceil(s - 1e-6)} more site(s) than max_sites = "
                    f"{int(ds.attrs.get('max_sites', 0))}",
                )
            )
        elif name == "sites_min":
            s = float(values.sum())
            items.append(
                (
                    weight,
                    f"require {math.ceil(s - 1e-6)} fewer site(s) than min_sites = "
                    f"{int(ds.attrs.get('min_sites', 0))}",
                )
            )
        elif name == "gpus_before_sale":
            for (chip, year), s in zip(labels, values, strict=False):
                first = int(_num(ds, "first_year", chip=chip))
                items.append(
                    (
                        weight,
                        f"{s:,.0f} {chip} GPUs would be needed in {year}, before the chip is on "
                        f"sale ({first}): move the target to {first} or later, or allow "
                        "another chip",
                    )
                )
    items.sort(key=lambda item: -item[0])
    # elements far below the largest change of their kind are ties the solver broke
    # arbitrarily, not changes a planner needs to make
    out = [text for _, text in items]
    if not out:
        out.append(
            "the relaxation needed no change to any limit; the study may be infeasible "
            "only numerically: "
            "try a looser mip gap"
        )
    return out


def _by_site(ds, name: str, labels: list, values: np.ndarray) -> list[str]:
    """Sentences for site limits, one per site (the largest change over its years)."""
    frame = pd.DataFrame({"label": labels, "slack": values})
    frame["site"] = [lab[0] for lab in labels]
    frame["year"] = [lab[-1] for lab in labels]
    out = []
    for site, g in frame.groupby("site", sort=True):
        worst = g.loc[g["slack"].idxmax()]
        s, year, first = float(worst["slack"]), int(worst["year"]), int(g["year"].min())
        if name == "water_cap_max":
            cap = _num(ds, "water_cap_m3_per_yr", site=site)
            out.append(
                f"site {site} needs {_m3(s)} more water than its allowance of {_m3(cap)} "
                f"(from {first})"
            )
        elif name == "land_max":
            land = _num(ds, "land_mw", site=site)
            out.append(f"site {site} needs land for {s:,.0f} MW more IT than its {land:,.0f} MW")
        elif name == "facility_peak_max":
            since = f" (from {first})" if first != year else ""
            out.append(f"site {site} needs {s:,.0f} MW more grid power energised in {year}{since}")
        elif name == "build_rate_max":
            rate = _num(ds, "max_build_mw_per_yr", site=site)
            out.append(
                f"site {site} would have to commission {s:,.0f} MW more in {year} than its "
                "build rate of "
                f"{rate:,.0f} MW/yr allows: raise max_build_mw_per_year"
            )
        elif name == "it_before_permit":
            cooling = worst["label"][1]
            earliest = int(_num(ds, "it_earliest_year", site=site, cooling=cooling))
            permit = int(_num(ds, "permit_year", site=site))
            out.append(
                f"site {site} needs {s:,.0f} MW of IT online in {first}, {earliest - first} "
                "year(s) before "
                f"its permit ({permit}) and construction allow ({earliest}): a faster "
                "permit or build"
            )
    return out


def _by_option(ds, name: str, labels: list, values: np.ndarray) -> list[str]:
    """Sentences for interconnect limits, one per site and option."""
    frame = pd.DataFrame({"label": labels, "slack": values})
    frame["site"] = [lab[0] for lab in labels]
    frame["option"] = [lab[1] for lab in labels]
    frame["year"] = [lab[2] for lab in labels]
    out = []
    for (site, option), g in frame.groupby(["site", "option"], sort=True):
        worst = g.loc[g["slack"].idxmax()]
        s, year, first = float(worst["slack"]), int(worst["year"]), int(g["year"].min())
        if name == "ic_capacity_max":
            cap = _num(ds, "ic_capacity_mw", site=site, option=option)
            out.append(
                f"the {option} interconnect at {site} needs {s:,.0f} MW more capacity than "
                f"its {cap:,.0f} MW"
            )
        elif name == "ic_phase_max":
            phase = _num(ds, "ic_phase_mw_per_yr", site=site, option=option)
            out.append(
                f"the {option} interconnect at {site} would have to energise {s:,.0f} MW "
                f"more in {year} than "
                f"its ramp of {phase:,.0f} MW/yr allows"
            )
        elif name == "ic_before_earliest":
            earliest = int(_num(ds, "ic_earliest_year", site=site, option=option))
            out.append(
                f"the {option} interconnect at {site} would have to energise {s:,.0f} MW in "
                f"{first}, "
                f"{earliest - first} year(s) before its earliest year {earliest} (queue, study and "
                "equipment lead times)"
            )
    return out


def _trivial_words(sm: SitingModel, row: tuple) -> str:
    """A row no variable can serve, in words."""
    name, label, sense, rhs = row
    if name == "target_gpus_min":
        chip, year = label
        return (
            f"the {year} target of {rhs * 1e3:,.0f} {chip} GPUs cannot be served: no {chip} "
            "GPU can be "
            f"online in {year} at any site with an allowed cooling technology"
        )
    if name == "target_pflops_min":
        return (
            f"the {label} compute target of {rhs * 1e3:,.0f} PFLOPS cannot be served by "
            "any allowed chip"
        )
    if name == "sites_min":
        return f"min_sites = {rhs:g} cannot be met: too few candidate sites can host IT"
    return f"the limit {name.replace('_', ' ')} at {label} cannot hold"
