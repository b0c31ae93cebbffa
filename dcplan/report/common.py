"""Colours, names and small helpers shared by the report's figures, tables and page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # pragma: no cover
    from dcplan.results import Plan


#: One colour per cooling technology, used by every figure and the HTML legend.
COOLING_COLORS: dict[str, str] = {
    "air_chiller": "#8c96a3",
    "air_evap": "#e0a03a",
    "rdhx": "#9b6bbf",
    "dlc_dry": "#2f7fc1",
    "dlc_tower": "#2aa198",
    "immersion": "#c2474f",
}


#: Readable names of the cooling technologies.
COOLING_LABELS: dict[str, str] = {
    "air_chiller": "air, chillers",
    "air_evap": "air, evaporative",
    "rdhx": "rear-door HX",
    "dlc_dry": "direct liquid, dry coolers",
    "dlc_tower": "direct liquid, towers",
    "immersion": "immersion",
}


_OTHER_COLOR = "#555555"


_CANDIDATE_COLOR = "#b8b8b8"


_TARGET_COLOR = "#111111"


_SHORTFALL_COLOR = "#d62728"


_SITE_CYCLE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
               "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


_MAX_STACKED_SITES = 8


_CAPEX_PALETTE = ["#4c72b0", "#64b5cd", "#8172b3", "#ccb974", "#937860", "#da8bc3"]


_OPEX_COLOR = "#dd8452"


def cooling_color(cooling: str) -> str:
    """Colour of a cooling technology (grey for unknown ids)."""
    return COOLING_COLORS.get(str(cooling), _OTHER_COLOR)


def _cooling_label(cooling: str) -> str:
    return COOLING_LABELS.get(str(cooling), str(cooling))


def _var(ds: xr.Dataset, name: str) -> xr.DataArray | None:
    return ds[name] if name in ds.data_vars else None


def _years(ds: xr.Dataset) -> np.ndarray:
    return np.asarray(ds["year"].values).astype(int)


def _chosen(plan: Plan) -> pd.DataFrame:
    sites = plan.sites
    if "chosen" in sites.columns:
        return sites[sites["chosen"].astype(bool)]
    return sites.iloc[0:0]


def _site_label(plan: Plan, site_id: str) -> str:
    sites = plan.sites
    for column in ("name", "site_name"):
        if column in sites.columns:
            match = sites.loc[sites["site_id"] == site_id, column]
            if len(match) and isinstance(match.iloc[0], str) and match.iloc[0]:
                return f"{match.iloc[0]} ({site_id})"
    return str(site_id)
