# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Air versus liquid versus immersion across US climates: PUE, water and cost
#
# The same 100 MW (IT) AI hall is placed in nine US cities, from humid Houston and dry
# Phoenix to marine Seattle and cold Minneapolis, and cooled six ways. dcplan's physics
# turns each city's typical year of dry- and wet-bulb temperatures into hourly cooling
# power and on-site water for every technology; from those we read the annual PUE, the
# design-hour (peak) PUE that sizes the grid connection, the site WUE, and a ten-year cost
# of cooling-related capex, energy and water per MW of IT.
#
# Run it as a script (``python examples/cooling_across_climates.py --out DIR``) or open it
# as a notebook with jupytext. Every number below is computed when it runs.

# %%
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import dcplan  # noqa: E402
from dcplan.report import COOLING_COLORS, COOLING_LABELS  # noqa: E402
from dcplan.spec import parse_study  # noqa: E402

FAST = os.environ.get("DCPLAN_FAST") == "1"
if "ipykernel" in sys.modules:  # running as a notebook
    OUT = Path("cooling_across_climates_out")
else:
    parser = argparse.ArgumentParser(description="cooling technologies across US climates")
    parser.add_argument("--out", type=Path, default=Path("cooling_across_climates_out"))
    OUT = parser.parse_args().out
OUT.mkdir(parents=True, exist_ok=True)

CITIES = {
    "Phoenix AZ": (33.45, -112.07),
    "Houston TX": (29.76, -95.37),
    "Atlanta GA": (33.75, -84.39),
    "Ashburn VA": (39.04, -77.49),
    "Denver CO": (39.74, -104.99),
    "Chicago IL": (41.88, -87.63),
    "Seattle WA": (47.61, -122.33),
    "Minneapolis MN": (44.98, -93.27),
    "Burlington VT": (44.48, -73.21),
}
if FAST:
    CITIES = dict(list(CITIES.items())[::3])

# %% [markdown]
# ## The study
# One chip that every technology can host (H100 in 40.8 kW racks, air-coolable) so that
# the comparison is like for like; a training-heavy workload sets the hourly IT load.

# %%
study = parse_study(
    {
        "name": "cooling across climates",
        "horizon": {"first_year": 2026, "last_year": 2035},
        "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": 78_000}]},
        "sites": {
            "inline": [
                {"site_id": name.split()[0].lower(), "name": name, "lat": lat, "lon": lon}
                for name, (lat, lon) in CITIES.items()
            ]
        },
        "workload": {"training_share": 0.8},
    }
)
inputs = dcplan.build_inputs(study)
names = dict(zip(inputs["site"].values, inputs["site_name"].values, strict=False))
techs = list(inputs["cooling"].values)

pue = inputs["pue_annual"].to_pandas().rename(index=names)
pue_peak = inputs["pue_peak"].to_pandas().rename(index=names)
wue = inputs["wue_l_per_kwh"].to_pandas().rename(index=names)
pue.round(3)

# %% [markdown]
# ## Ten-year cost per MW of IT
# Facility capex per MW depends on the technology; energy is the facility energy of the
# fleet's load curve at each city's industrial electricity price; water at the local
# price. Costs are undiscounted sums over ten years, to compare orders of magnitude.

# %%
YEARS = 10
it_mwh_per_mw = float(inputs["it_mwh_per_gpu_year"].sel(chip="h100_sxm")
                      / inputs["it_kw_per_gpu"].sel(chip="h100_sxm") * 1000)
price = inputs["electricity_usd_per_mwh"].to_pandas().rename(index=names)
water_price = inputs["water_usd_per_m3"].to_pandas().rename(index=names)
capex = inputs["facility_capex_usd_per_mw"].to_pandas().rename(index=names)
energy_cost = pue.mul(it_mwh_per_mw * YEARS).mul(price, axis=0)
water_cost = wue.mul(it_mwh_per_mw * 1000 / 1000 * YEARS).mul(water_price, axis=0)  # L/kWh x MWh -> m3
total = capex + energy_cost + water_cost
cheapest = total.idxmin(axis=1)
summary = pd.DataFrame(
    {
        "best technology": cheapest.map(COOLING_LABELS),
        "its PUE": [pue.loc[c, t] for c, t in cheapest.items()],
        "its WUE L/kWh": [wue.loc[c, t] for c, t in cheapest.items()],
        "air_chiller PUE": pue["air_chiller"],
        "dlc_dry PUE": pue["dlc_dry"],
        "10-yr cost $M/MW": total.min(axis=1) / 1e6,
    }
)
summary.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 5), constrained_layout=True)
for ax, table, title, unit in (
    (axes[0], pue, "Annual PUE", "PUE [1]"),
    (axes[1], pue_peak, "Design-hour PUE (sizes the interconnect)", "PUE [1]"),
    (axes[2], wue, "Site WUE", "on-site water [L/kWh of IT]"),
):
    x = np.arange(len(table.index))
    width = 0.8 / len(techs)
    for i, tech in enumerate(techs):
        ax.bar(x + i * width, table[tech], width, color=COOLING_COLORS.get(tech), label=COOLING_LABELS.get(tech, tech))
    ax.set_xticks(x + 0.4 - width / 2, table.index, rotation=45, ha="right")
    ax.set_title(title)
    ax.set_ylabel(unit)
    if "PUE" in title:
        ax.set_ylim(1.0, float(table.values.max()) * 1.03)
axes[0].legend(fontsize=8, loc="upper right")
fig.savefig(OUT / "pue_wue_by_city.png", dpi=120)

# %%
fig2, ax = plt.subplots(figsize=(10, 5), constrained_layout=True)
x = np.arange(len(total.index))
width = 0.8 / len(techs)
for i, tech in enumerate(techs):
    ax.bar(x + i * width, total[tech] / 1e6, width, color=COOLING_COLORS.get(tech),
           label=COOLING_LABELS.get(tech, tech))
ax.set_xticks(x + 0.4 - width / 2, total.index, rotation=45, ha="right")
ax.set_ylabel("10-year facility capex + energy + water [$M per MW of IT]")
ax.set_title("Cost of cooling choices by city")
ax.legend(fontsize=8, ncol=3)
fig2.savefig(OUT / "cost_by_city.png", dpi=120)

# %% [markdown]
# ## What the numbers say
# The text below is written from the computed tables, so it stays true when the physics
# or the data change.

# %%
hot = pue["air_chiller"].idxmax()
cool = pue["air_chiller"].idxmin()
tower_wue = wue["dlc_tower"]
worst = (pue_peak - pue).stack().idxmax()
lines = [
    f"- Air cooling with chillers is most expensive to run in {hot} (annual PUE "
    f"{pue.loc[hot, 'air_chiller']:.2f}) and cheapest in {cool} ({pue.loc[cool, 'air_chiller']:.2f}).",
    f"- Direct-to-chip on dry coolers spans PUE {pue['dlc_dry'].min():.2f}-{pue['dlc_dry'].max():.2f} "
    "with no on-site water; on cooling towers it saves "
    f"{(pue['dlc_dry'] - pue['dlc_tower']).mean():.3f} PUE on average but evaporates "
    f"{tower_wue.min():.2f}-{tower_wue.max():.2f} L per kWh of IT.",
    f"- The design-hour PUE, which sizes the grid connection, exceeds the annual PUE by up to "
    f"{(pue_peak - pue).max().max():.2f} ({COOLING_LABELS.get(worst[1], worst[1])} in {worst[0]}).",
    "- Cheapest technology over ten years by city: "
    + "; ".join(f"{c}: {COOLING_LABELS.get(t, t)}" for c, t in cheapest.items()) + ".",
]
text = "\n".join(lines)
print(text)
(OUT / "README.md").write_text(
    "# Cooling across US climates\n\n"
    + text
    + "\n\n![PUE and WUE](pue_wue_by_city.png)\n\n![Cost](cost_by_city.png)\n\n"
    + "```text\n"
    + summary.round(3).to_string()
    + "\n```\n"
)
