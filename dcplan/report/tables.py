"""The report's tables: one specification of each table, used by the HTML page and the CLI.

:data:`YEAR_COLUMNS` is the per-year table of a plan (``Plan.summary()`` columns, labels,
scales and digits); the console summary of ``dcplan run`` and the report's "Totals by year"
both draw from it, so the two never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from dcplan.report.common import _years

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.results import Plan


def _capex_parts(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Capex split by category when the plan carries ``capex_<part>_usd`` variables."""
    parts = {}
    for name in ds.data_vars:
        if name.startswith("capex_") and name.endswith("_usd") and name != "capex_usd" \
                and "year" in ds[name].dims:
            parts[name[len("capex_"):-len("_usd")].replace("_", " ")] = ds[name]
    return parts


def _sum_to_year(da: xr.DataArray) -> pd.Series:
    series = da.sum([d for d in da.dims if d != "year"]).to_pandas()
    series.index = series.index.astype(int)
    return series


def cost_components(plan: Plan) -> pd.DataFrame:
    """Capex by category and opex per year [USD], undiscounted; columns are the categories."""
    ds = plan.dataset
    columns: dict[str, pd.Series] = {}
    parts = _capex_parts(ds)
    if parts:
        for label, da in parts.items():
            columns[f"capex: {label}"] = _sum_to_year(da)
    elif "capex_usd" in ds:
        columns["capex"] = _sum_to_year(ds["capex_usd"])
    if "opex_usd" in ds:
        columns["opex"] = _sum_to_year(ds["opex_usd"])
    table = pd.DataFrame(columns).reindex(_years(ds)).fillna(0.0)
    table.index.name = "year"
    return table


def _shadow_prices(plan: Plan) -> pd.DataFrame | None:
    """The plan's stored shadow prices, or None when it has none."""
    table = plan.shadow_prices()
    if table is None or table.empty:
        return None
    return table


#: families whose duals are accounting or tightening, not limits a planner can loosen
_NOT_LIMITS = frozenset({"gpu_stock", "it_monotone", "ic_monotone", "fleet_rounding"})


def _binding_rows(plan: Plan, limit: int) -> pd.DataFrame | None:
    table = _shadow_prices(plan)
    if table is None:
        return None
    table = table[~table["family"].isin(_NOT_LIMITS)].copy()
    if "binding" in table:
        table = table[table["binding"].astype(bool)]
    value = table["usd_per_unit"] if "usd_per_unit" in table else table["dual"]
    table["size"] = value.astype(float).abs()
    table = table[table["size"] > 0].sort_values("size", ascending=False)
    return table.head(limit)


def _constraint_label(row: pd.Series) -> str:
    year = row.get("year")
    missing = year is None or (isinstance(year, float) and math.isnan(year)) or int(year) < 0
    when = "" if missing else f" {int(year)}"
    return f"{row['family']}{when}"


def binding_constraints_text(plan: Plan, limit: int = 12) -> list[str]:
    """The binding constraints in plain words, largest shadow price first.

    Returns a one-item list saying why when the plan has no shadow prices or none bind.
    """
    table = _shadow_prices(plan)
    if table is None:
        return ["Shadow prices are not available for this plan, so the binding limits are "
                "not ranked."]
    rows = _binding_rows(plan, limit)
    if rows is None or rows.empty:
        return ["No constraint binds with a non-zero shadow price: no single limit "
                "is driving the cost of this plan."]
    lines = []
    for _, row in rows.iterrows():
        meaning = _plain_meaning(row)
        what = f"{_constraint_label(row)}: {meaning}" if meaning else _constraint_label(row)
        unit = _unit_words(row.get("unit"))
        per = f" per {unit}" if unit else " per unit"
        place = str(row.get("where") or "")
        where = (f" for {place}" if row["family"] == "target" else f" at {place}") if place else ""
        if int(row.get("binding", 1) or 1) > 1:
            where += f" ({int(row['binding'])} rows bind)"
        lines.append(f"{what}: about {_usd_short(row['size'])} USD of net present cost{per}{where}.")
    return lines


def _plain_meaning(row: pd.Series) -> str:
    """The family's meaning without its trailing unit bracket."""
    text = str(row.get("meaning") or "").strip().rstrip(".")
    return text.split(" [")[0] if text.endswith("]") else text


def _unit_words(unit: Any) -> str:
    if not isinstance(unit, str) or unit in ("", "1"):
        return ""
    return {"kGPU": "thousand GPUs", "kPFLOPS": "thousand PFLOPS", "MUSD": "million USD",
            "kt": "kt CO2", "1000 m**3": "thousand m³ of water"}.get(unit, unit)


def _usd_short(value: float) -> str:
    for scale, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= scale:
            return f"{value / scale:,.3g}{suffix}"
    return f"{value:,.3g}"


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not np.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


@dataclass(frozen=True)
class Column:
    """One column of a table: the source key, its header, and how a value is written.

    ``kind`` is ``number`` (``scale`` then ``digits`` decimals, thousands separated),
    ``year`` (an integer without separators: 2028, not 2,028) or ``text``.
    """

    key: str
    label: str
    scale: float = 1.0
    digits: int = 0
    kind: str = "number"

    @property
    def numeric(self) -> bool:
        return self.kind != "text"

    def format(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "–"
        if self.kind == "text":
            return "" if pd.isna(value) else str(value)
        if self.kind == "year":
            return str(int(value))
        return _fmt(float(value) * self.scale, self.digits)


#: the per-year table (keys of ``Plan.summary()`` / summary.json ``years``), in the report's
#: "Totals by year" and in the console summary of ``dcplan run``
YEAR_COLUMNS: tuple[Column, ...] = (
    Column("year", "year", kind="year"),
    Column("it_capacity_mw", "IT capacity [MW]"),
    Column("gpus", "GPUs [thousand]", 1e-3, 1),
    Column("facility_peak_mw", "facility peak [MW]"),
    Column("energy_mwh", "energy [GWh]", 1e-3),
    Column("water_m3", "water [thousand m³]", 1e-3),
    Column("co2_t", "CO₂e [kt]", 1e-3, 1),
    Column("capex_usd", "capex [million USD]", 1e-6),
    Column("opex_usd", "opex [million USD]", 1e-6),
)

#: the chosen-sites table (columns of ``Plan.sites``); the first of duplicate labels present wins
SITE_COLUMNS: tuple[Column, ...] = (
    Column("site_id", "site", kind="text"),
    Column("name", "name", kind="text"),
    Column("site_name", "name", kind="text"),
    Column("state", "state", kind="text"),
    Column("iso", "ISO/region", kind="text"),
    Column("first_year", "first year", kind="year"),
    Column("it_capacity_mw", "IT capacity [MW]"),
    Column("cooling", "cooling", kind="text"),
    Column("interconnect_option", "interconnect", kind="text"),
    Column("ic_kv", "voltage [kV]"),
)


def year_rows(summary: dict) -> list[list[str]]:
    """The per-year table of a summary.json dict as text cells, one list per year."""
    return [[c.format(row.get(c.key)) for c in YEAR_COLUMNS] for row in summary.get("years") or []]


def site_columns(frame: pd.DataFrame) -> list[Column]:
    """The :data:`SITE_COLUMNS` that ``frame`` has, one per label."""
    out, seen = [], set()
    for column in SITE_COLUMNS:
        if column.key in frame.columns and column.label not in seen:
            out.append(column)
            seen.add(column.label)
    return out
