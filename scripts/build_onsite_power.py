"""Build data/onsite_power.csv: the few NREL ATB 2022 rows dcplan's power levers read.

Reads the public NREL Annual Technology Baseline 2022 electricity table (the copy in
``../shared/data/costs/nrel_atb_electricity_2022.parquet``, from PyPSA/technology-data,
CC-BY-4.0) and keeps, for cost year 2025, the Moderate scenario, Market financial case and
30-year (batteries: 20-year) cost recovery period:

* ``gas_turbine``: "NG F-Frame CT" (NaturalGas_FE / CTAvgCF): CAPEX, fixed and variable O&M;
* ``solar_storage``: "Utility-Scale PV-Plus-Battery" Class 5 (the middle of ten resource
  classes): CAPEX, fixed O&M and its AC capacity factor (``capacity_factor``);
* ``battery_2h`` and ``battery_4h``: utility-scale battery storage, 2 h and 4 h: CAPEX and
  fixed O&M (their difference splits battery cost into a power and an energy part).

Two rows ATB 2022 does not carry are written from the labelled assumptions in ``ASSUMED``
(reciprocating gas engines and natural-gas fuel cells; see data/README.md for their basis).

Values are in 2020 USD, as ATB 2022 publishes them. Run from the checkout root::

    python scripts/build_onsite_power.py [path/to/nrel_atb_electricity_2022.parquet]

Needs pyarrow to read the parquet file (the CSV it writes needs nothing).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "costs" / "nrel_atb_electricity_2022.parquet"
OUT = ROOT / "data" / "onsite_power.csv"
COST_YEAR = "2025"

#: (tech, ATB technology, ATB techdetail, cost recovery period [yr])
ROWS = (
    ("gas_turbine", "NaturalGas_FE", "CTAvgCF", "30"),
    ("solar_storage", "Utility-Scale PV-Plus-Battery", "Class5", "30"),
    ("battery_2h", "Utility-Scale Battery Storage", "2Hr Battery Storage", "20"),
    ("battery_4h", "Utility-Scale Battery Storage", "4Hr Battery Storage", "20"),
)
PARAMETERS = {"CAPEX": "capex_usd_per_kw", "Fixed O&M": "fixed_om_usd_per_kw_yr",
              "Variable O&M": "variable_om_usd_per_mwh", "CF": "capacity_factor"}
#: rows ATB 2022 lacks. **Assumptions** at the magnitude of EIA's Annual Energy Outlook
#: "Cost and Performance Characteristics of New Generating Technologies" (Table 3) entries
#: for internal combustion engines and fuel cells; the table was not found to cite, so each
#: value is ours (tech, display name, CAPEX USD/kW, fixed O&M USD/kW-yr, variable O&M USD/MWh)
ASSUMED = (
    ("gas_engine", "Reciprocating gas engines (assumption)", 1900.0, 35.0, 6.0),
    ("fuel_cell", "Natural-gas fuel cells (assumption)", 6500.0, 40.0, 1.0),
)


def build(source: Path) -> pd.DataFrame:
    atb = pd.read_parquet(source)
    atb = atb[(atb["core_metric_variable"].astype(str) == COST_YEAR) & (atb["scenario"] == "Moderate")
              & (atb["core_metric_case"] == "Market")]
    records = []
    for tech, technology, detail, crp in ROWS:
        rows = atb[(atb["technology"] == technology) & (atb["techdetail"] == detail)
                   & (atb["crpyears"].astype(str) == crp)]
        record = {"tech": tech, "display_name": str(rows["display_name"].iloc[0])}
        for parameter, column in PARAMETERS.items():
            values = rows.loc[rows["core_metric_parameter"] == parameter, "value"].unique()
            if len(values) > 1:
                raise ValueError(f"{tech}: {len(values)} different {parameter} values in ATB")
            default = float("nan") if column == "capacity_factor" else 0.0
            record[column] = round(float(values[0]), 3) if len(values) else default
        record.update({"cost_year": int(COST_YEAR), "dollar_year": 2020,
                       "source": f"NREL ATB 2022 electricity, {technology}/{detail}, Moderate, "
                                 f"Market, {crp}-yr CRP"})
        records.append(record)
    for tech, name, capex, fom, vom in ASSUMED:
        records.append({"tech": tech, "display_name": name, "capex_usd_per_kw": capex,
                        "fixed_om_usd_per_kw_yr": fom, "variable_om_usd_per_mwh": vom,
                        "capacity_factor": float("nan"), "cost_year": int(COST_YEAR),
                        "dollar_year": 2020, "source": "assumption (data/README.md)"})
    return pd.DataFrame.from_records(records)


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    table = build(source)
    OUT.write_text(table.to_csv(index=False), encoding="utf-8")
    print(f"wrote {OUT} ({len(table)} rows) from {source}")  # noqa: T201 - a build script
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
