# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Where should 1 GW of training go by 2028, and why?
#
# The shipped study ``models/training_campus.yaml`` asks for a GB200/GB300 training fleet
# of about a gigawatt of IT online in 2028, growing to 2031 (its targets are printed below
# from the study itself). Candidates are three
# powered-land campuses with committed utility headroom and high-voltage sites from the
# catalog in ERCOT, SPP, MISO and PJM that must first pass a large-load interconnection
# study and wait for transformers. dcplan picks sites, years, cooling and interconnects at
# least net present cost; this notebook reads the plan and explains it.
#
# Run: ``python examples/training_1gw_2028.py --out DIR`` (``DCPLAN_FAST=1`` trims the
# candidate list for CI).

# %%
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import dcplan  # noqa: E402
from dcplan.report import COOLING_LABELS, write_report  # noqa: E402
from dcplan.spec import parse_study  # noqa: E402

FAST = os.environ.get("DCPLAN_FAST") == "1"
if "ipykernel" in sys.modules:
    OUT = Path("training_1gw_out")
else:
    parser = argparse.ArgumentParser(description="1 GW of training by 2028")
    parser.add_argument("--out", type=Path, default=Path("training_1gw_out"))
    OUT = parser.parse_args().out
OUT.mkdir(parents=True, exist_ok=True)

study = dcplan.load_study("training_campus")
if FAST:
    data = study.model_dump(mode="json", exclude_none=True)
    data["sites"]["catalog"]["limit"] = 8
    study = parse_study(data, "training_campus (fast)")
targets = "; ".join(f"{t.gpus:,.0f} {t.chip} from {t.year}" for t in study.fleet.gpus)
print(f"Fleet targets of the study: {targets}.")

# %% [markdown]
# ## Inputs: what each candidate offers
# The physics give each site a PUE and a design-hour facility power per GPU; the grid
# model gives the year each interconnect option can first energise.

# %%
inputs = dcplan.build_inputs(study)
options = inputs["ic_earliest_year"].where(inputs["ic_capacity_mw"] > 0).min("option")
candidates = inputs[["pue_annual"]].min("cooling").to_dataframe()
candidates["first_power_year"] = options.to_pandas()
candidates["price_usd_per_mwh"] = inputs["electricity_usd_per_mwh"].to_pandas()
candidates["co2_t_per_mwh"] = inputs["co2_t_per_mwh"].to_pandas()
candidates.sort_values("first_power_year").head(12)

# %% [markdown]
# ## The plan

# %%
plan = dcplan.solve(
    inputs,
    time_limit_s=study.solver.time_limit_s,
    mip_rel_gap=study.solver.mip_rel_gap,
    study_yaml=study.to_yaml(),
)
index = write_report(plan, OUT / "report")
plan.summary()

# %%
chosen = plan.sites[plan.sites["chosen"]].sort_values("first_year")
chosen[["site_id", "first_year", "it_capacity_mw", "cooling", "interconnect_option"]]

# %% [markdown]
# ## Why these sites
# Written from the plan and its inputs:

# %%
first = min(t.year for t in study.fleet.gpus)  # the year of the study's first target
early = chosen[chosen["first_year"] <= first]
new_sub = inputs["ic_earliest_year"].sel(option="new_substation").where(
    inputs["ic_capacity_mw"].sel(option="new_substation") > 0).min()
lines = [
    f"- {len(chosen)} sites are opened; {len(early)} of them carry the first target ({first}): "
    + (", ".join(f"{r.site_id} ({r.it_capacity_mw:,.0f} MW, {COOLING_LABELS.get(r.cooling, r.cooling)})"
                 for r in early.itertuples()) or "none") + ".",
    f"- Only sites whose power can energise by {first} can serve the first target; the earliest "
    f"new-substation year among the catalog candidates is {int(new_sub)}.",
    f"- Net present cost ${plan.summary_dict()['objective_usd'] / 1e9:,.1f} bn (status {plan.status}, "
    f"gap {plan.mip_gap:.2%}); audit " + ("passed" if plan.summary_dict()["audit"]["ok"] else "FAILED") + ".",
]
text = "\n".join(lines)
print(text)
(OUT / "README.md").write_text(
    "# 1 GW of training by 2028\n\n" + text + f"\n\nFull report: {index.relative_to(OUT)}\n"
)
