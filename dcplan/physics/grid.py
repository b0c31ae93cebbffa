"""Grid interconnection of a data-centre campus: options, voltage, transformers, lead times.

Each candidate site has up to three ways to get power (``option`` dim of the inputs):

``existing``
    spare headroom at an existing substation: small, quick (a load study and new
    medium-voltage switchgear), available from the year the headroom frees up.
``tap``
    a new tap into a nearby high-voltage line of at most 230 kV with a new step-down
    substation: needs the utility's large-load study and new power transformers.
``new_substation``
    a new 345/500 kV substation (extra-high voltage, large power transformers >= 100 MVA):
    the largest and slowest option, only where EHV transmission is nearby.

Lead time = large-load study/queue time of the ISO or utility + construction, where
construction waits for the longest-lead equipment (power transformers, switchgear).
Capacity is energised in phases: at most ``ic_phase_mw_per_yr`` per year from the
earliest year, never all at once and never above the option's capacity.

All functions are pure and vectorised: scalars, numpy arrays or xarray DataArrays in,
the same kind out. No I/O. Defaults and their sources are module constants below;
docs/sites-and-grid.md lists them.

References
----------
.. [1] U.S. Department of Energy, "Large Power Transformer Resilience", report to
   Congress, July 2024: LPT (>= 100 MVA) lead times 80-210 weeks.
.. [2] NEMA press release, September 2024: average power-transformer lead time
   120 weeks.
.. [3] Cushman & Wakefield, "Data Center Development Cost Guide 2025": switchgear
   lead time 46-48 weeks (US, 2024).
.. [4] J. Rand et al., "Queued Up: 2024 Edition", Lawrence Berkeley National
   Laboratory, April 2024: average age of active queue requests 34 months (TX 28,
   CA 33, VA 34); ~5 years request to operation for generation completed in 2023.
.. [5] Virginia DEQ, emergency generator permitting (500 h/yr total operation) and
   DEQ Clarification 2025-01 on NSPS IIII / NESHAP ZZZZ (<= 100 h/yr maintenance and
   testing, <= 50 h/yr non-emergency).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

OPTIONS: tuple[str, ...] = ("existing", "tap", "new_substation")

#: US transmission voltage classes [kV] (physical_facts sect. 4)
KV_CLASSES = np.array([69.0, 115.0, 138.0, 161.0, 230.0, 345.0, 500.0])
#: highest class a tap connects at; new substations are 345 kV or 500 kV
TAP_MAX_KV = 230.0
EHV_KV = 345.0

#: Capacity of a new connection by voltage class [MW]. ASSUMPTION (engineering
#: judgement): no citable US rule was found (physical_facts sect. 10); the UK practice
#: note of 132 kV for 50-300 MW and 275/400 kV for hyperscale 200 MW+ and Dominion's
#: two 500 kV lines adding ~6 GW bracket these values.
CAPACITY_MW_BY_KV = {69.0: 75.0, 115.0: 150.0, 138.0: 200.0, 161.0: 250.0, 230.0: 400.0,
                     345.0: 1000.0, 500.0: 1500.0}
#: power-transformer unit rating by high-side class [MVA]. ASSUMPTION; units at 345/500 kV
#: are large power transformers (>= 100 MVA, DOE [1]).
TRANSFORMER_MVA_BY_KV = {69.0: 50.0, 115.0: 100.0, 138.0: 100.0, 161.0: 150.0, 230.0: 200.0,
                         345.0: 300.0, 500.0: 400.0}
POWER_FACTOR = 0.95

#: equipment lead times [weeks]: power transformers 120 (NEMA average [2]; DOE range
#: 80-210 [1]); MV/HV switchgear 48 (upper end of C&W's 46-48 [3])
TRANSFORMER_LEAD_WEEKS = 120.0
TRANSFORMER_LEAD_WEEKS_RANGE = (80.0, 210.0)
SWITCHGEAR_LEAD_WEEKS = 48.0
WEEKS_PER_YEAR = 52.1775

#: ASSUMPTIONS: utility load study for spare capacity at an existing substation; testing
#: and commissioning after the last equipment arrives.
EXISTING_STUDY_YR = 0.5
COMMISSIONING_YR = 0.25
#: ASSUMPTION: years over which an option's capacity is energised (phase = capacity /
#: ramp). Stargate Abilene went 200 MW (2025) -> ~1.2 GW (mid-2026) in about a year,
#: so a 1 GW substation over 3 years is not optimistic.
RAMP_YEARS = {"existing": 2.0, "tap": 2.0, "new_substation": 3.0}

#: Fixed cost of each option [USD]. ASSUMPTION: absolute substation or transformer
#: prices ($/MVA) were not found in a citable source (physical_facts sect. 4 and 10 only
#: give +60-80 % price rises since 2020). Override for real studies.
FIXED_CAPEX_USD = {"existing": 3.0e6, "tap": 15.0e6, "new_substation": 60.0e6}
TRANSFORMER_USD_PER_MVA = 30.0e3

#: permitting tracks run in parallel; defaults [yr] are ASSUMPTIONS (no citable US
#: durations found, physical_facts sect. 10); states may lengthen them (data/regions).
ZONING_BUILDING_YR = 1.5
AIR_PERMIT_YR = 1.0
WATER_PERMIT_YR = 0.75
#: backup-generator operating limits [h/yr] (NSPS IIII / NESHAP ZZZZ; Virginia DEQ [5])
GENSET_FEDERAL_TEST_H = 100.0
GENSET_FEDERAL_NONEMERGENCY_H = 50.0
GENSET_VIRGINIA_TOTAL_H = 500.0


def _like(values, template):
    """Return *values* as a DataArray shaped like *template* when that is one."""
    if isinstance(template, xr.DataArray):
        return template.copy(data=np.asarray(values))
    values = np.asarray(values)
    return values.item() if values.ndim == 0 and np.ndim(template) == 0 else values


def _data(x):
    return x.values if isinstance(x, xr.DataArray) else np.asarray(x, dtype=float)


def voltage_class(max_grid_kv, option: str):
    """Voltage class [kV] an option connects at, given the highest nearby grid voltage.

    Parameters
    ----------
    max_grid_kv : numeric
        highest transmission voltage near the site. [kV]
    option : {"existing", "tap", "new_substation"}

    Returns
    -------
    numeric
        ``existing``: the standard class at or below *max_grid_kv*; ``tap``: the same
        capped at 230 kV; ``new_substation``: 500 where *max_grid_kv* >= 500, else 345. [kV]
    """
    kv = _data(max_grid_kv)
    if option == "new_substation":
        out = np.where(kv >= 500.0, 500.0, EHV_KV)
    elif option in ("existing", "tap"):
        cap = kv if option == "existing" else np.minimum(kv, TAP_MAX_KV)
        idx = np.clip(np.searchsorted(KV_CLASSES, np.nan_to_num(cap), side="right") - 1, 0, None)
        out = KV_CLASSES[idx]
    else:
        raise ValueError(f"unknown interconnect option {option!r}; use one of {OPTIONS}")
    return _like(out, max_grid_kv)


def option_available(max_grid_kv, headroom_mw, option: str):
    """Whether the option exists at a site (bool).

    ``existing`` needs headroom > 0; ``tap`` a grid voltage >= 69 kV; ``new_substation``
    extra-high voltage (>= 345 kV) nearby.
    """
    kv = np.nan_to_num(_data(max_grid_kv))
    if option == "existing":
        out = np.nan_to_num(_data(headroom_mw)) > 0
    elif option == "tap":
        out = kv >= KV_CLASSES[0]
    elif option == "new_substation":
        out = kv >= EHV_KV
    else:
        raise ValueError(f"unknown interconnect option {option!r}; use one of {OPTIONS}")
    return _like(out, max_grid_kv)


def transformer_count(capacity_mw, unit_mva, power_factor=POWER_FACTOR, spares=1):
    """Transformers for N+*spares* redundancy: ceil(MW / (MVA x pf)) + spares, 0 if no capacity.

    Parameters
    ----------
    capacity_mw : numeric
        power the substation must carry with one unit out. [MW]
    unit_mva : numeric
        rating of one transformer. [MVA]
    power_factor : numeric
        load power factor. [1]
    spares : int
        redundant units (1 = N+1).
    """
    cap = _data(capacity_mw)
    n = np.ceil(cap / (_data(unit_mva) * power_factor) - 1e-9) + spares
    return _like(np.where(cap > 0, n, 0).astype(int), capacity_mw)


def construction_yr(transformer_weeks=TRANSFORMER_LEAD_WEEKS,
                    switchgear_weeks=SWITCHGEAR_LEAD_WEEKS, commissioning_yr=COMMISSIONING_YR):
    """Years from order to energisation: the longest equipment lead plus commissioning. [yr]"""
    longest = np.maximum(_data(transformer_weeks), _data(switchgear_weeks)) / WEEKS_PER_YEAR
    return _like(longest + commissioning_yr, transformer_weeks)


def earliest_year(start_year, lead_time_yr, available_year=None):
    """First calendar year an option can energise: start + ceil(lead), not before *available_year*.

    Rounding up keeps the schedule conservative: capacity counted for a year is there
    for the whole year.
    """
    lead = _data(lead_time_yr)
    year = _data(start_year) + np.ceil(lead - 1e-9)
    if available_year is not None:
        year = np.maximum(year, np.nan_to_num(_data(available_year), nan=-np.inf))
    return _like(year.astype(int), lead_time_yr)


def interconnect_options(max_grid_kv, headroom_mw, headroom_year, queue_study_yr, start_year,
                         *, transformer_lead_weeks=TRANSFORMER_LEAD_WEEKS,
                         switchgear_lead_weeks=SWITCHGEAR_LEAD_WEEKS,
                         ramp_years=None, capacity_mw_by_kv=None) -> xr.Dataset:
    """Capacity, voltage, transformers, capex and timing of each interconnect option per site.

    Parameters
    ----------
    max_grid_kv : array_like (site,)
        highest transmission voltage near each site. [kV]
    headroom_mw : array_like (site,)
        spare capacity at an existing substation (0 = none). [MW]
    headroom_year : array_like (site,)
        year that headroom is free. [1]
    queue_study_yr : array_like (site,)
        large-load study / queue time of the site's ISO or utility. [yr]
    start_year : int
        year requests and equipment orders are placed (the study's first year). [1]
    transformer_lead_weeks, switchgear_lead_weeks : numeric
        equipment lead times. [weeks]
    ramp_years : dict, optional
        years to energise each option's full capacity (default :data:`RAMP_YEARS`).
    capacity_mw_by_kv : dict, optional
        capacity of a new connection by voltage class (default :data:`CAPACITY_MW_BY_KV`).

    Returns
    -------
    xarray.Dataset
        dims ``(site, option)``: ``ic_capacity_mw`` (0 = not available), ``ic_kv``,
        ``ic_transformers`` (N+1 count), ``ic_capex_usd``, ``ic_lead_time_yr``,
        ``ic_earliest_year``, ``ic_phase_mw_per_yr``. ``site`` is a positional index;
        callers assign site ids.
    """
    kv = np.atleast_1d(np.asarray(max_grid_kv, dtype=float))
    head = np.atleast_1d(np.asarray(headroom_mw, dtype=float))
    head_year = np.atleast_1d(np.asarray(headroom_year, dtype=float))
    queue = np.atleast_1d(np.asarray(queue_study_yr, dtype=float))
    kv, head, head_year, queue = np.broadcast_arrays(kv, head, head_year, queue)
    if np.any(~np.isfinite(queue)):
        raise ValueError("queue_study_yr must be given for every site (NaN found)")
    if np.any(queue < 0) or np.any(np.nan_to_num(head) < 0):
        raise ValueError("queue_study_yr and headroom_mw must be >= 0")
    ramp = {**RAMP_YEARS, **(ramp_years or {})}
    cap_by_kv = {**CAPACITY_MW_BY_KV, **(capacity_mw_by_kv or {})}

    fields = {k: [] for k in ("cap", "kv", "n", "capex", "lead", "year", "phase")}
    switchgear_only = construction_yr(0.0, switchgear_lead_weeks)
    with_transformers = construction_yr(transformer_lead_weeks, switchgear_lead_weeks)
    for option in OPTIONS:  # three options: vectorised over sites inside
        okv = voltage_class(kv, option)
        available = option_available(kv, head, option)
        if option == "existing":
            cap = np.where(available, np.nan_to_num(head), 0.0)
            n = np.zeros(kv.shape, dtype=int)  # the substation's transformers already exist
            lead = EXISTING_STUDY_YR + switchgear_only + np.zeros_like(kv)
            year = earliest_year(start_year, lead, head_year)
        else:
            cap = np.where(available, [cap_by_kv[float(v)] for v in np.atleast_1d(okv)], 0.0)
            unit = np.array([TRANSFORMER_MVA_BY_KV[float(v)] for v in np.atleast_1d(okv)])
            n = transformer_count(cap, unit)
            lead = queue + with_transformers
            year = earliest_year(start_year, lead)
        unit_mva = np.array([TRANSFORMER_MVA_BY_KV[float(v)] for v in np.atleast_1d(okv)])
        capex = np.where(cap > 0, FIXED_CAPEX_USD[option] + n * unit_mva * TRANSFORMER_USD_PER_MVA, 0.0)
        for key, value in (("cap", cap), ("kv", okv), ("n", n), ("capex", capex), ("lead", lead),
                           ("year", year), ("phase", cap / ramp[option])):
            fields[key].append(np.asarray(value))

    def stack(key):
        return np.stack(fields[key], axis=1)

    dims = ("site", "option")

    def var(key, units, long_name):
        return (dims, stack(key), {"units": units, "long_name": long_name})

    return xr.Dataset(
        {
            "ic_capacity_mw": var("cap", "MW", "interconnect capacity (0 = option not available)"),
            "ic_kv": var("kv", "kV", "voltage class of the connection"),
            "ic_transformers": var("n", "1", "power transformers installed (N+1)"),
            "ic_capex_usd": var("capex", "USD", "fixed cost of the option (assumption)"),
            "ic_lead_time_yr": var("lead", "year", "large-load study + construction lead time"),
            "ic_earliest_year": var("year", "calendar_year", "first year any MW can energise"),
            "ic_phase_mw_per_yr": var("phase", "MW/year", "most MW energised per year"),
        },
        coords={"site": np.arange(kv.size), "option": list(OPTIONS)},
    )


def energisable_mw(years, earliest_year, capacity_mw, phase_mw_per_yr):
    """Cumulative MW an option can have energised in each year.

    ``min(capacity, phase * (year - earliest + 1))`` from the earliest year, 0 before.

    Parameters
    ----------
    years : array_like (year,)
        calendar years. [1]
    earliest_year, capacity_mw, phase_mw_per_yr : numeric or DataArray
        per site and option (same shape or broadcastable). [1], [MW], [MW/year]

    Returns
    -------
    numeric or DataArray
        with a trailing ``year`` axis (a ``year`` dim for DataArray input). [MW]
    """
    years = np.asarray(years, dtype=float)
    if isinstance(earliest_year, xr.DataArray):
        yr = xr.DataArray(years, dims="year", coords={"year": years.astype(int)})
        steps = (yr - earliest_year + 1).clip(min=0)
        return np.minimum(capacity_mw, phase_mw_per_yr * steps).clip(min=0)
    e, c, p = (np.asarray(a, dtype=float)[..., None] for a in
               (earliest_year, capacity_mw, phase_mw_per_yr))
    steps = np.clip(years - e + 1.0, 0.0, None)
    return np.clip(np.minimum(c, p * steps), 0.0, None)


def permit_lead_time(zoning_building_yr=ZONING_BUILDING_YR, air_permit_yr=AIR_PERMIT_YR,
                     water_permit_yr=WATER_PERMIT_YR):
    """Critical path of parallel permit tracks: the longest of zoning/building, air, water. [yr]"""
    out = np.maximum(np.maximum(_data(zoning_building_yr), _data(air_permit_yr)),
                     _data(water_permit_yr))
    return _like(out, zoning_building_yr)


def permit_year(permit_lead_time_yr, start_year):
    """First year permits allow IT capacity online: start + ceil(lead). [1]"""
    lead = _data(permit_lead_time_yr)
    if np.any(lead < 0):
        raise ValueError("permit_lead_time_yr must be >= 0")
    return earliest_year(start_year, permit_lead_time_yr)
