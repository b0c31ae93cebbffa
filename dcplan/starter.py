"""The starter study that ``dcplan init`` writes: small, commented, and quick to solve.

Every key it sets is documented in docs/study-reference.md; every key it leaves out takes the
default named there (with its source). It plans 20,000 H100 GPUs over three candidate sites
and solves in seconds, so a new analyst sees a whole run before changing anything.
"""

from __future__ import annotations

import json

STARTER_TEMPLATE = """\
# {name}: a starter dcplan study written by `dcplan init`.
# Solve it with:   dcplan run {file}
# Check edits with: dcplan validate {file}
# Every section and key is described in docs/study-reference.md; anything left out takes
# the documented default. Quantities may carry units: "8 %", "60 s", "40 MW", "2 EFLOPS".
name: {name_json}
description: Starter study - replace with the question this study answers.

# Planning years (inclusive) and the real discount rate used for the NPV objective.
horizon: {{first_year: 2026, last_year: 2032, discount_rate: "7 %"}}

# What must be online: GPUs of a chip from a year on (see `dcplan data list` for chips.csv).
# Leave room for permits and construction (about 18 months) before the first target.
# Targets may also be written as compute, e.g. compute: [{{year: 2031, dense_pflops: "2 EFLOPS"}}].
fleet:
  gpus:
    - {{year: 2030, chip: h100_sxm, gpus: 10000}}
    - {{year: 2031, chip: h100_sxm, gpus: 20000}}

# Candidate sites. Inline sites need only an id and coordinates; state prices, climate,
# grid and water data are looked up from the shipped tables. To draw candidates from the
# catalog instead, write e.g.  catalog: {{states: [TX, VA], limit: 20}}
sites:
  inline:
    - {{site_id: ashburn, name: "Ashburn VA", lat: 39.04, lon: -77.49}}
    - {{site_id: abilene, name: "Abilene TX", lat: 32.45, lon: -99.73}}
    - {{site_id: quincy, name: "Quincy WA", lat: 47.23, lon: -119.85}}

# Cooling technologies the optimiser may choose between.
cooling:
  allowed: [air_chiller, dlc_dry, dlc_tower]

# Build limits: capacity comes in blocks of block_mw, at most max_build_mw_per_year per site.
limits:
  block_mw: 20
  max_build_mw_per_year: 300

# HiGHS stops at the relative gap or the time limit, whichever comes first.
solver: {{time_limit_s: "120 s", mip_rel_gap: 0.01}}
"""


def starter_study(name: str, file_name: str | None = None) -> str:
    """The YAML text of the starter study called ``name``."""
    return STARTER_TEMPLATE.format(name=name, name_json=json.dumps(name),
                                   file=file_name or f"{name}.yaml")
