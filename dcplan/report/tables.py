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

from dcplan.optimize.registry import TIGHTENINGS
from dcplan.report.common import _cooling_label, _years

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.results import Plan


#: capex categories stored in plan.nc (see dcplan.results.capex_parts), in display order
CAPEX_CATEGORIES = (("capex_gpus_usd", "GPUs"), ("capex_facility_usd", "facility"),
                    ("capex_interconnect_usd", "interconnect"), ("capex_site_usd", "site"))


def _capex_parts(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Capex by category, the facility split by cooling technology (installed ones only)."""
    parts: dict[str, xr.DataArray] = {}
    for name, label in CAPEX_CATEGORIES:
        if name not in ds.data_vars:
            continue
        da = ds[name]
        if "cooling" in da.dims:
            for tech in da["cooling"].values:
                one = da.sel(cooling=tech)
                if float(np.abs(one).sum()) > 0:
                    parts[f"{label} ({_cooling_label(str(tech))})"] = one
        elif float(np.abs(da).sum()) > 0:
            parts[label] = da
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
_NOT_LIMITS = frozenset({"gpu_stock", "it_monotone", "ic_monotone", *TIGHTENINGS})


def _binding_rows(plan: Plan, limit: int) -> pd.DataFrame | None:
    table = _shadow_prices(plan)
    if table is None:
        return None
    table = table[~table["family"].isin(_NOT_LIMITS)].copy()
    if "actionable" in table:  # rows at sites not opened or coolings not used: nothing to act on
        table = table[table["actionable"].astype(bool)]
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


# ------------------------------------------------------------------ per-site drill-down
def site_years_table(plan: Plan, site_id: str) -> pd.DataFrame:
    """One opened site by year: IT and facility MW, PUE, WUE, energy, water, CO2, capex, opex.

    PUE and WUE are the input coefficients of the cooling installed that year (the largest
    one when a site mixes technologies); the rest are plan outputs.
    """
    ds = plan.dataset.sel(site=site_id)
    cap = ds["it_capacity_mw"]  # cooling x year
    main = cap.argmax("cooling")
    frame = pd.DataFrame(index=pd.Index(_years(plan.dataset), name="year"))
    frame["it_capacity_mw"] = cap.sum("cooling").values
    frame["facility_peak_mw"] = ds["facility_peak_mw"].values
    online = frame["it_capacity_mw"].to_numpy() > 0
    if "in_pue_annual" in ds:
        frame["pue_annual"] = np.where(online, ds["in_pue_annual"].isel(cooling=main).values, np.nan)
    if "in_wue_l_per_kwh" in ds:
        frame["wue_l_per_kwh"] = np.where(online, ds["in_wue_l_per_kwh"].isel(cooling=main).values, np.nan)
    for name in ("energy_mwh", "water_m3", "co2_t", "capex_usd", "opex_usd"):
        frame[name] = ds[name].values
    return frame


SITE_YEAR_COLUMNS: tuple[Column, ...] = (
    Column("year", "year", kind="year"),
    Column("it_capacity_mw", "IT [MW]"),
    Column("facility_peak_mw", "facility peak [MW]"),
    Column("pue_annual", "annual PUE", digits=2),
    Column("wue_l_per_kwh", "WUE [L/kWh]", digits=2),
    Column("energy_mwh", "energy [GWh]", 1e-3),
    Column("water_m3", "water [thousand m³]", 1e-3, 1),
    Column("co2_t", "CO₂e [kt]", 1e-3, 1),
    Column("capex_usd", "capex [million USD]", 1e-6),
    Column("opex_usd", "opex [million USD]", 1e-6),
)


def site_facts(plan: Plan, site_id: str) -> dict[str, Any]:
    """Time to power, cost split and levelised cost of one site.

    ``levelised_usd_per_gpu_hour`` is the plan's own figure (capital as the study charges it
    plus discounted opex, over discounted GPU-hours online); ``time_to_power_yr`` the parts
    of the site's time to power (queue, equipment, permit, construction) when the plan has them.
    """
    ds = plan.dataset.sel(site=site_id)
    years = _years(plan.dataset)
    cap = ds["it_capacity_mw"].sum("cooling").values
    facts: dict[str, Any] = {"first_year": int(years[cap > 0][0]) if (cap > 0).any() else None}
    if "in_permit_year" in ds:
        facts["permit_year"] = int(ds["in_permit_year"])
    chosen = ds["interconnect_option"].values.astype(bool) if "interconnect_option" in ds else np.zeros(0, bool)
    if chosen.any() and "in_ic_earliest_year" in ds:
        k = int(np.argmax(chosen))
        facts["interconnect_option"] = str(plan.dataset["option"].values[k])
        facts["interconnect_year"] = int(ds["in_ic_earliest_year"].values[k])
        if "in_ic_kv" in ds:
            facts["interconnect_kv"] = float(ds["in_ic_kv"].values[k])
    row = plan.sites[plan.sites["site_id"].astype(str) == site_id]
    parts = {"queue": "ttp_queue_yr", "equipment": "ttp_equipment_yr", "permit": "ttp_permit_yr",
             "construction": "ttp_construction_yr"}
    if len(row):
        facts["time_to_power_yr"] = {k: float(row.iloc[0][c]) for k, c in parts.items()
                                     if c in row.columns and pd.notna(row.iloc[0][c])}
    factor = ds["in_discount_factor"].values if "in_discount_factor" in ds else np.ones(len(years))
    if "gpus" not in ds or "capex_usd" not in ds or "opex_usd" not in ds:
        facts["cost_split_usd"], facts["npv_usd"], facts["levelised_usd_per_gpu_hour"] = {}, float("nan"), None
        return facts
    split = {}
    for name, label in CAPEX_CATEGORIES:
        if name in ds:
            da = ds[name]
            split[f"capex: {label}"] = float(da.sum([d for d in da.dims if d != "year"]).sum())
    split["opex"] = float(ds["opex_usd"].sum())
    facts["cost_split_usd"] = split
    # capital as the study charges it (capital_npv_usd) when the plan has it, else cash
    capital = ds["capital_npv_usd"].values if "capital_npv_usd" in ds else ds["capex_usd"].values * factor
    npv = float(capital.sum() + (ds["opex_usd"].values * factor).sum())
    gpu_hours = float((ds["gpus"].sum(("chip", "cooling")).values * 8760.0 * factor).sum())
    facts["npv_usd"] = npv
    if "levelised_usd_per_gpu_hour" in ds:  # the plan's own figure
        stored = float(ds["levelised_usd_per_gpu_hour"])
        facts["levelised_usd_per_gpu_hour"] = stored if np.isfinite(stored) else None
    else:
        facts["levelised_usd_per_gpu_hour"] = npv / gpu_hours if gpu_hours > 0 else None
    return facts


# ------------------------------------------------------------------------- assumptions
def assumptions(plan: Plan) -> list[tuple[str, str, str]]:
    """(assumption, value, source) rows: the defaults and data behind the plan."""
    from dcplan import sites as site_defaults

    attrs = plan.dataset.attrs
    rows = [
        ("real discount rate", f"{float(attrs.get('discount_rate', float('nan'))):.1%}",
         "the study (horizon.discount_rate; default 7 %, see docs/study-reference.md)"),
        ("IT capacity block", f"{float(attrs.get('block_mw', float('nan'))):,.0f} MW", "the study (limits.block_mw)"),
        ("land a candidate can host (when the catalog has no figure)",
         f"{site_defaults.DEFAULT_LAND_MW:,.0f} MW", "assumption, a gigawatt-class campus (dcplan.sites)"),
        ("spare substation capacity of a user site without a plant record",
         f"{site_defaults.DEFAULT_HEADROOM_MW:,.0f} MW", "assumption (dcplan.sites)"),
        ("transmission voltage near a user site without data",
         f"{site_defaults.DEFAULT_MAX_GRID_KV:,.0f} kV", "a common US sub-transmission class (dcplan.sites)"),
        ("base water price", f"{site_defaults.WATER_BASE_USD_PER_M3:.2f} USD/m³",
         "Loudoun Water 2024 tier 1 plus sewer on blowdown (dcplan.sites)"),
    ]
    ds = plan.dataset
    opened = ds["site"].values[ds["site_open"].values.astype(bool)]
    for site in opened:
        one = ds.sel(site=site)
        state = str(one["state"].values) if "state" in one.coords else ""
        if "in_land_mw" in one:
            rows.append((f"{site}: land", f"{float(one['in_land_mw']):,.0f} MW",
                         "site catalog (data/sites/us_sites.csv) or the study; else the default above"))
        if "in_electricity_usd_per_mwh" in one:
            rows.append((f"{site}: electricity price", f"{float(one['in_electricity_usd_per_mwh']):,.1f} USD/MWh",
                         f"industrial price of {state or 'the state'}: EIA Electric Power Annual 2023, or "
                         "EIA-861 2019 scaled to 2023 (data/regions/states.csv)"))
        if "in_co2_t_per_mwh" in one:
            rows.append((f"{site}: grid CO₂e", f"{float(one['in_co2_t_per_mwh']):.3f} t/MWh",
                         "EPA eGRID2023 (data/regions)"))
        if "in_weather_source" in one:
            rows.append((f"{site}: weather", str(one["in_weather_source"].values),
                         "EPW file of the study, or a synthetic year from the nearest station"))
    return rows
