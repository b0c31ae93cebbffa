"""One check of an inputs Dataset before it reaches the optimiser.

:func:`check_inputs` runs at the entry of :func:`dcplan.solve`. A NaN, an infinity or an
absurd magnitude in a coefficient would otherwise pass silently into the model, where it
can drop a site, zero a cost, give an "optimal" plan with no power drawn, or leave HiGHS
stalling past its time limit. Each problem names the variable, the coordinates of the
first bad cells and the bad value.

The bounds are sanity bounds in the variable's canonical unit, orders of magnitude beyond
any real project (they catch typos, unit slips and hostile files, not unusual studies);
where a lower bound is physical (a PUE below 1, a GPU that draws no power) it says so.
A variable may hold ``+inf`` only where infinity means "no limit": the caps listed in
:data:`INF_MEANS_NO_LIMIT`, or any variable whose ``long_name`` says ``inf = none``.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from dcplan.errors import DataError, Problem

#: (low, high, low_inclusive) per variable, canonical units; see the module docstring.
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "it_kw_per_gpu": (0.0, 100.0, False),  # a GPU must draw power
    "rack_kw": (0.0, 1e4, False),
    "gpus_per_rack": (1.0, 1e4, True),
    "dense_pflops": (0.0, 1e3, True),
    "gpu_capex_usd": (0.0, 1e8, True),
    "service_life_yr": (0.0, 100.0, False),
    "load_mean_fraction": (0.0, 2.0, False),
    "load_peak_fraction": (0.0, 2.0, False),
    "pue_annual": (1.0, 10.0, True),  # facility power >= IT power (Green Grid PUE >= 1)
    "pue_peak": (1.0, 10.0, True),
    "wue_l_per_kwh": (0.0, 100.0, True),
    "facility_mwh_per_gpu_year": (0.0, 1e4, False),  # 100 kW a GPU all year is 876 MWh
    "facility_peak_kw_per_gpu": (0.0, 1e3, False),
    "water_m3_per_gpu_year": (0.0, 1e5, True),
    "it_mwh_per_gpu_year": (0.0, 1e4, False),
    "co2_t_per_mwh": (0.0, 10.0, True),
    "electricity_usd_per_mwh": (0.0, 1e5, True),
    "water_usd_per_m3": (0.0, 1e5, True),
    "water_source_l_per_kwh": (0.0, 1e3, True),
    "land_mw": (0.0, 1e6, True),  # 1 TW: about all US generating capacity
    "water_cap_m3_per_yr": (0.0, 1e13, True),
    "max_build_mw_per_yr": (0.0, 1e6, True),
    "site_open_usd": (0.0, 1e13, True),
    "facility_capex_usd_per_mw": (0.0, 1e11, True),
    "fixed_om_usd_per_mw_yr": (0.0, 1e10, True),
    "ic_capacity_mw": (0.0, 1e6, True),
    "ic_phase_mw_per_yr": (0.0, 1e6, True),
    "ic_capex_usd": (0.0, 1e13, True),
    "ic_kv": (0.0, 2000.0, True),
    "target_gpus": (0.0, 1e9, True),
    "target_pflops": (0.0, 1e12, True),
    "discount_factor": (0.0, 10.0, False),
    "capex_budget_usd": (0.0, 1e15, True),
    "carbon_cap_t": (0.0, 1e13, True),
    "carbon_price_usd_per_t": (0.0, 1e5, True),
    "weather_distance_km": (0.0, 2.1e4, True),  # half the Earth's circumference
    # lead times [yr]
    "construction_yr": (0.0, 200.0, True),
    "ic_equipment_yr": (0.0, 200.0, True),
    "ic_queue_yr": (0.0, 200.0, True),
    "permit_lead_time_yr": (0.0, 200.0, True),
    # present value per USD spent (discounting keeps it near or below 1)
    "capital_factor_gpu": (0.0, 10.0, True),
    "capital_factor_facility": (0.0, 10.0, True),
    "capital_factor_site": (0.0, 10.0, True),
    "capital_factor_interconnect": (0.0, 10.0, True),
}
#: year-valued variables (integers in [YEARS])
YEAR_VARIABLES = ("first_year", "permit_year", "ic_earliest_year", "it_earliest_year")
YEARS = (1900, 2200)
#: variables where +inf means "no limit"
INF_MEANS_NO_LIMIT = ("capex_budget_usd", "carbon_cap_t", "water_cap_m3_per_yr",
                      "max_build_mw_per_yr")
#: records the optimiser does not read, where NaN means "not applicable" (also any variable
#: whose ``long_name`` says "NaN for ...")
NAN_ALLOWED = ("weather_distance_km",)
#: bound on any numeric variable without its own entry in BOUNDS
GENERIC_MAX = 1e15
#: scalar attributes: (low, high, low_inclusive)
ATTR_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "block_mw": (0.0, 1e6, False),
    "discount_rate": (0.0, 1.0, True),
    "max_iso_share": (0.0, 1.0, True),
    "shortfall_penalty_usd_per_gpu": (0.0, 1e8, True),
    "min_sites": (0.0, 1e7, True),
    "max_sites": (0.0, 1e7, True),
    "first_year": YEARS + (True,),
    "last_year": YEARS + (True,),
    "fleet_peak_fraction": (0.0, 2.0, False),
}
#: bad cells listed per variable
LISTED = 3


def _inf_allowed(name: str, var: xr.DataArray) -> bool:
    return name in INF_MEANS_NO_LIMIT or "inf = none" in str(var.attrs.get("long_name", ""))


def _where(ds: xr.Dataset, var: xr.DataArray, flat_index: int) -> str:
    index = np.unravel_index(flat_index, var.shape) if var.ndim else ()
    parts = []
    for dim, i in zip(var.dims, index, strict=True):
        label = ds[dim].values[i] if dim in ds.coords else i
        parts.append(f"{dim}={label}")
    return "[" + ", ".join(parts) + "]" if parts else ""


def _describe(low: float, high: float, low_inclusive: bool, inf_ok: bool) -> str:
    lower = f">= {low:g}" if low_inclusive else f"> {low:g}"
    upper = f"<= {high:g}" + (" (or inf for no limit)" if inf_ok else "")
    return f"{lower} and {upper}"


def check_inputs(ds: xr.Dataset, source: str = "inputs") -> None:
    """Raise DataError listing every non-finite, out-of-range or unit-less coefficient.

    Parameters
    ----------
    ds : xr.Dataset
        An inputs Dataset (docs/architecture.md contract), from
        :func:`dcplan.build_inputs`, a netCDF file or built by hand.
    source : str
        Name used in the messages.
    """
    if not isinstance(ds, xr.Dataset):
        raise DataError([Problem(source, f"expected an xarray.Dataset of inputs, got "
                                 f"{type(ds).__name__}", "pass the result of dcplan.build_inputs")])
    problems: list[Problem] = []
    for name, var in ds.data_vars.items():
        kind = var.dtype.kind
        if kind not in "fiu":
            continue
        if "units" not in var.attrs:
            problems.append(Problem(f"{source}.{name}", "has no units attribute",
                                    "give every numeric input a units attribute (e.g. 'MW')"))
        values = np.asarray(var.values, dtype=float).reshape(-1)
        inf_ok = _inf_allowed(name, var)
        if name in YEAR_VARIABLES:
            low, high, low_inclusive = YEARS + (True,)
        else:
            low, high, low_inclusive = BOUNDS.get(name, (-GENERIC_MAX, GENERIC_MAX, True))
        finite = np.isfinite(values)
        above = finite & (values > high)
        below = finite & ((values < low) if low_inclusive else (values <= low))
        nan_ok = name in NAN_ALLOWED or "NaN for" in str(var.attrs.get("long_name", ""))
        bad = ((np.isnan(values) & ~nan_ok) | (np.isinf(values) & ~(inf_ok & (values > 0)))
               | above | below)
        if not bad.any():
            continue
        cells = np.flatnonzero(bad)
        shown = ", ".join(f"{_where(ds, var, i)} = {values[i]:.4g}".lstrip()
                          for i in cells[:LISTED])
        more = f" and {len(cells) - LISTED} more" if len(cells) > LISTED else ""
        unit = var.attrs.get("units", "")
        problems.append(Problem(
            f"{source}.{name}",
            f"{len(cells)} bad value(s): {shown}{more}; must be a number "
            f"{_describe(low, high, low_inclusive, inf_ok)} {unit}".rstrip(),
            "fix the study value or data row this coefficient comes from"))
    for attr, (low, high, low_inclusive) in ATTR_BOUNDS.items():
        if attr not in ds.attrs or ds.attrs[attr] is None:
            continue
        value = ds.attrs[attr]
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(Problem(f"{source}.attrs.{attr}",
                                    f"{str(value)[:40]!r} is not a number", "give a number"))
            continue
        ok = math.isfinite(number) and number <= high and (number >= low if low_inclusive
                                                           else number > low)
        if not ok:
            problems.append(Problem(f"{source}.attrs.{attr}", f"{number:.4g} is not a number "
                                    f"{_describe(low, high, low_inclusive, False)}",
                                    "fix the study value it comes from"))
    if problems:
        raise DataError(problems,
                        f"{source}: {len(problems)} bad coefficient(s); nothing was solved")
