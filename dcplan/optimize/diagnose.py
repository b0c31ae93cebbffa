"""Why a study is infeasible: elastic relaxation by constraint family, in planning words.

Every row of the relaxable families gets a nonnegative slack with unit penalty (rows are in
comparable scaled units: kGPU, MW, MUSD, kt), the original costs are dropped, and HiGHS
minimises the total slack. The rows that still need slack name the binding family, years
and sites; the figures around them (IT MW needed, MW that can be energised by then,
earliest interconnects) come from the inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy
import numpy as np
import pandas as pd

from dcplan.optimize.model import SitingModel

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.optimize.solve import Handoff

logger = logging.getLogger(__name__)

#: families the relaxation may loosen (the accounting identities stay hard)
RELAXABLE = ("target", "it_capacity", "build_rate", "land", "site_count", "facility_peak", "ic_phase",
             "ic_capacity", "water_cap", "capex_budget", "carbon_cap", "iso_share")


@dataclass
class Diagnosis:
    """Which constraint families make a study infeasible, where and when."""

    slacks: pd.DataFrame = field(default_factory=pd.DataFrame)  # family, constraint, label, slack
    messages: list[str] = field(default_factory=list)

    @property
    def families(self) -> list[str]:
        return sorted(set(self.slacks["family"])) if len(self.slacks) else []

    @property
    def headline(self) -> str:
        return self.messages[0] if self.messages else "no constraint family could be singled out"

    def __str__(self) -> str:
        return "\n".join(f"- {m}" for m in self.messages)


def diagnose(sm: SitingModel, ho: Handoff, *, time_limit_s: float | None = None, threads: int = 1,
             seed: int = 0) -> Diagnosis:
    """Elastic relaxation of ``sm``; returns a :class:`Diagnosis`.

    ``ho`` is ``sm`` passed to HiGHS in SitingModel order (``handoff(sm, compile_pyomo=False)``,
    built by the caller so that this module does not import the solver driver); it is changed.
    """
    messages = list(sm.trivially_infeasible)
    h = ho.highs
    fam_of = sm.row_family()
    from dcplan.optimize.registry import CONSTRAINTS, TIGHTENINGS

    # valid inequalities derive from the targets; with the targets elastic they must go too
    cuts = np.nonzero([CONSTRAINTS[f].family in TIGHTENINGS for f in fam_of])[0].astype(np.int32)
    if len(cuts):
        h.changeRowsBounds(len(cuts), cuts, np.full(len(cuts), -np.inf), np.full(len(cuts), np.inf))
    relax = np.array([CONSTRAINTS[f].family in RELAXABLE for f in fam_of], dtype=bool)
    rows = np.nonzero(relax)[0]
    # slack enters <= rows with -1, >= rows with +1, = rows both ways
    sense = sm.senses[rows]
    entries = [(r, -1.0) for r, s in zip(rows, sense) if s in ("le", "eq")]
    entries += [(r, 1.0) for r, s in zip(rows, sense) if s in ("ge", "eq")]
    n_old = sm.n_col
    h.changeColsCost(n_old, np.arange(n_old, dtype=np.int32), np.zeros(n_old))
    n_new = len(entries)
    if n_new:
        starts = np.arange(n_new, dtype=np.int32)
        idx = np.array([r for r, _ in entries], dtype=np.int32)
        val = np.array([v for _, v in entries], dtype=float)
        h.addCols(n_new, np.ones(n_new), np.zeros(n_new), np.full(n_new, np.inf), n_new, starts, idx, val)
    h.setOptionValue("mip_rel_gap", 1e-4)  # the slack sizes are reported; a loose gap would overstate them
    h.setOptionValue("time_limit", float(time_limit_s) if time_limit_s else 300.0)
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed))
    h.run()
    if h.getInfo().primal_solution_status != 2:
        messages.append("even with every relaxable family loosened no plan exists: check permit years, "
                        "interconnect lead times, chip first years and cooling compatibility")
        return Diagnosis(pd.DataFrame(columns=["family", "constraint", "label", "slack"]), messages)
    x = np.asarray(h.getSolution().col_value)[n_old:]
    records = []
    labels = {}
    for fam in sm.rows.values():
        for k, lab in enumerate(fam.labels):
            labels[fam.start + k] = (fam.name, lab)
    for (r, _), s in zip(entries, x):
        if s > 1e-6:
            name, lab = labels[int(r)]
            records.append({"family": CONSTRAINTS[name].family, "constraint": name, "label": lab, "slack": float(s)})
    slacks = pd.DataFrame(records, columns=["family", "constraint", "label", "slack"])
    messages += _explain(sm, slacks)
    return Diagnosis(slacks, messages)


def _explain(sm: SitingModel, slacks: pd.DataFrame) -> list[str]:
    """Planning words for the slack found."""
    ds = sm.inputs
    out = []
    years = ds["year"].values
    for (fam, name), group in slacks.groupby(["family", "constraint"], sort=True):
        if name == "target_gpus_min":
            for (chip, year), s in zip(group["label"], group["slack"]):
                need = float(ds["target_gpus"].sel(chip=chip, year=year))
                it_mw = need * float(ds["it_kw_per_gpu"].sel(chip=chip)) / 1e3
                out.append(f"target: the {year} target of {need:,.0f} {chip} GPUs needs {it_mw:,.0f} MW of IT; "
                           f"{s * 1e3:,.0f} GPUs of it cannot be online by {year}. {_energisable(sm, int(year))}")
        elif name == "target_pflops_min":
            for year, s in zip(group["label"], group["slack"]):
                need = float(ds["target_pflops"].sel(year=year))
                out.append(f"target: the {year} target of {need:,.0f} PFLOPS is {s * 1e3:,.0f} PFLOPS out of reach. "
                           f"{_energisable(sm, int(year))}")
        else:
            where = sorted({str(lab) for lab in group["label"]})[:5]
            out.append(f"{fam}: {name} needs loosening by {group['slack'].sum():,.3g} (model units) at {', '.join(where)}")
    if not out:
        out.append("the relaxation needed no slack in the relaxable families; the bound families "
                   f"(permit, ic_lead, compatibility, chip_first_year) leave no feasible plan in {years[0]}-{years[-1]}")
    # target first: it is what the analyst asked for
    out.sort(key=lambda m: not m.startswith("target"))
    return out


def _energisable(sm: SitingModel, year: int) -> str:
    """Most MW that can be energised anywhere by ``year``, and the earliest interconnects."""
    ds = sm.inputs
    cap = ds["ic_capacity_mw"]
    first = ds["ic_earliest_year"]
    phase = ds["ic_phase_mw_per_yr"]
    reach = np.minimum(cap, phase * np.maximum(year - first + 1, 0)).where(cap > 0, 0.0)
    best = reach.max("option")
    total = float(best.sum())
    early = (first.where(cap > 0)).stack(pair=("site", "option")).dropna("pair").sortby(lambda d: d)
    items = [f"{s}/{o} {int(v)}" for (s, o), v in zip(early["pair"].values[:3], early.values[:3])]
    return (f"At most {total:,.0f} MW can be energised anywhere by {year}; earliest interconnects: "
            f"{', '.join(items)}.")
