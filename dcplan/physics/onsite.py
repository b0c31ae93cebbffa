"""Time-to-power levers on the power side: flexible interconnection, bridge power, smoothing.

Pure functions and the sourced constants behind the ``power_levers:`` section of a study
(:mod:`dcplan.optimize.levers_power` turns them into rows).

Flexible (curtailable) interconnection
    Norris, Profeta, Patino-Echeverri and Cowie-Haskell, *Rethinking Load Growth: Assessing
    the Potential for Integration of Large Flexible Loads in US Power Systems*, Nicholas
    Institute for Energy, Environment & Sustainability, Duke University, Feb 2025
    (hdl.handle.net/10161/32077): the 22 largest US balancing authorities (~95 % of US
    load) could add **76 GW** of new load at an average annual curtailment of 0.25 % of
    its maximum uptime, **98 GW** at 0.5 % and **126 GW** at 1 % without new generation
    [1]_. The report's per-authority split was not found in a form we could cite, so the
    headroom is one national pool; a study says what share of it its fleet may claim.
Bridge power
    Four technologies (``BRIDGE_TECHS``). Gas turbine and solar-plus-storage costs from NREL
    ATB 2022 ("NG F-Frame CT", "Utility-Scale PV-Plus-Battery"); gas engine and fuel cell
    costs are labelled assumptions (data/onsite_power.csv, built by
    scripts/build_onsite_power.py; data/README.md). Heat rates, fuel price, lead times,
    firm shares and which technologies need an air permit are labelled below.
Training power swings
    Battery cost split into power and energy parts from the ATB 2022 2-hour and 4-hour
    utility battery rows; the response time the battery must bridge comes from NVIDIA's
    note that grid generation takes 1 to 90 minutes to follow a load step [2]_.

References
----------
.. [1] Norris et al. (2025), cited above; figures as summarised by the Nicholas Institute
   webinar of Feb 19 2025 ("nearly 100 GW at 0.5 %; 76 GW at 0.25 % to 126 GW at 1 %").
.. [2] NVIDIA Technical Blog, "How New GB300 NVL72 Features Provide Steady Power for AI"
   (2025); physical_facts.md section 2.
.. [3] US EPA, GHG Emission Factors Hub (2024): natural gas 53.06 kg CO2 per MMBtu.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from dcplan.errors import DataError, Problem

HOURS_PER_YEAR = 8760.0

#: curtailment-enabled headroom of the 22 largest US balancing authorities [GW] by average
#: annual curtailment (share of the new load's maximum uptime) [1]_
DUKE_HEADROOM_GW = {0.0025: 76.0, 0.005: 98.0, 0.01: 126.0}

#: natural gas CO2 per MMBtu burned [t/MMBtu] (EPA [3]_)
GAS_T_CO2_PER_MMBTU = 53.06e-3
#: simple-cycle gas turbine heat rate [MMBtu/MWh]. **Assumption**: 9.9 MMBtu/MWh (HHV),
#: i.e. 3.412 / 9.9 = 34.5 % efficient, inside the 33-40 % of simple-cycle frame and
#: aeroderivative units; real bridge fleets of older mobile units run worse.
GAS_TURBINE_HEAT_RATE = 9.9
#: delivered gas price [USD/MMBtu]. **Assumption**: 3.5, EIA's 2024 Henry Hub spot average
#: (~2.2 USD/MMBtu, EIA Natural Gas Monthly) plus pipeline delivery to a large industrial
#: customer; a study sets its own.
GAS_USD_PER_MMBTU = 3.5
#: order-to-operation of a bridge gas turbine [yr]. **Assumption**: 2 yr for trailer-mounted
#: or aeroderivative units (new heavy-frame units are quoted years later; that backlog is
#: what the fleet-wide supply cap stands for). The state's air-permit track
#: (data/regions/states.csv ``air_permit_yr``) runs alongside; the longer one governs.
GAS_TURBINE_LEAD_YR = 2.0
#: firm share of installed bridge turbine MW [1]. **Assumption**: 0.9, an N+1 fleet of about
#: ten units with one down for maintenance or a trip.
GAS_TURBINE_FIRM_SHARE = 0.9
#: economic life of bridge turbines [yr]: the ATB cost recovery period of the row used (30)
GAS_TURBINE_LIFE_YR = 30.0
#: fleet-wide bridge turbine deliveries [MW/yr]. **Assumption**: 1,000 MW a year for the
#: whole fleet (a few dozen aeroderivative units), standing for the fleet's share of a market
#: whose heavy-frame order books are sold out for years; a study sets its own.
GAS_TURBINE_SUPPLY_MW_PER_YR = 1000.0

#: bridge technologies a study may offer the optimiser, in the order of the ``bridge_tech`` axis
BRIDGE_TECHS = ("gas_turbine", "gas_engine", "fuel_cell", "solar_storage")
#: heat rate of reciprocating gas engines [MMBtu/MWh, HHV]. **Assumption**: 8.3, i.e.
#: 3.412 / 8.3 = 41 % efficient, the magnitude of EIA's AEO "internal combustion engine"
#: entry (about 8,300 Btu/kWh; the table itself was not found to cite) and of large
#: lean-burn gas gensets (40-45 %).
GAS_ENGINE_HEAT_RATE = 8.3
#: heat rate of natural-gas fuel cells [MMBtu/MWh, HHV]. **Assumption**: 6.5, i.e. 52 %
#: efficient, the magnitude of EIA's AEO "fuel cells" entry (about 6,500 Btu/kWh) and of
#: solid-oxide units on pipeline gas (50-60 % LHV).
FUEL_CELL_HEAT_RATE = 6.5
#: order-to-operation of gas engines [yr]. **Assumption**: 1.5 yr for containerised
#: multi-megawatt engine gensets (standard products, short factory lead).
GAS_ENGINE_LEAD_YR = 1.5
#: order-to-operation of fuel cells [yr]. **Assumption**: 1 yr for skid-mounted solid-oxide
#: units (vendors quote months per site; this keeps a year for gas supply and install).
FUEL_CELL_LEAD_YR = 1.0
#: order-to-operation of solar plus storage [yr]. **Assumption**: 1.5 yr for a behind-the-
#: meter array with no grid interconnection study (EIA's utility-scale PV lead is 1-2 yr).
SOLAR_STORAGE_LEAD_YR = 1.5
#: PV-plus-battery configuration of NREL ATB 2022 ("Utility-Scale PV-Plus-Battery"): battery
#: power per PV MW(AC) and battery hours, from the ATB 2022 documentation of the row (a
#: 100 MWac array with a 60 MW / 240 MWh battery). The parquet holds costs, not the layout.
PV_BATTERY_POWER_RATIO = 0.6
PV_BATTERY_HOURS = 4.0
#: hours of a day without useful solar output [h]. **Assumption**: 14 h (24 h less about 10 h
#: of useful sun, a mid-latitude year average).
SOLAR_DARK_H = 14.0
#: economic life of the bridge technologies [yr]: the ATB cost recovery period (30 yr) for
#: the ATB rows; **assumption** of 20 yr for engines and 10 yr for fuel-cell stacks
BRIDGE_LIFE_YR = {"gas_turbine": 30.0, "gas_engine": 20.0, "fuel_cell": 10.0,
                  "solar_storage": 30.0}
#: which technologies burn gas in a flame and so need the state's air permit and obey its
#: engine run-hour cap. Fuel cells: **modelled without an air-permit track or run-hour cap**
#: (no combustion; California's distributed-generation certification and several other
#: states exempt certified fuel cells from air permits), though they burn gas and count CO2.
COMBUSTION = {"gas_turbine": True, "gas_engine": True, "fuel_cell": False,
              "solar_storage": False}

#: time the smoothing battery must carry a swing while generation follows [h].
#: **Assumption**: 0.25 h (15 min), inside NVIDIA's 1-90 minute response range [2]_.
SMOOTHING_DURATION_H = 0.25
#: economic life of the smoothing battery [yr]: the ATB cost recovery period used (20)
BATTERY_LIFE_YR = 20.0
#: swing an ISO accepts from one large load without smoothing [MW]. **Assumption**: 20 MW;
#: no ISO has published a ramp limit for large synchronous loads that we could cite (ERCOT's
#: large-load rules and the Microsoft/OpenAI/NVIDIA paper, arXiv:2508.14318, state that
#: utilities limit ramp rate and oscillation but give no single figure). A study sets it by ISO.
SMOOTHING_ALLOWANCE_MW = 20.0

#: value of the compute a curtailed MWh loses [USD/MWh]. **Assumption**: 1,500 USD/MWh, a
#: GPU-hour worth ~2 USD (H100-class rental, 2025) over ~1.4 kW of facility power per GPU.
CURTAILMENT_USD_PER_MWH = 1500.0
#: share of its interconnection study a flexible load still waits for [1]. **Assumption**:
#: 0.5 (a curtailable load skips the network-upgrade studies, not the connection study).
FLEX_QUEUE_SHARE = 0.5
#: share of the national curtailment-enabled headroom this fleet may claim [1].
#: **Assumption**: 0.1 (the fleet is one of many large new loads).
FLEX_HEADROOM_SHARE = 0.1


def headroom_gw(curtailment_share):
    """Curtailment-enabled headroom of the US balancing authorities [GW] [1]_.

    Linear between the three published points (0.25 %, 0.5 %, 1 %); outside them there is
    no figure to stand on and a ValueError says so.

    >>> headroom_gw(0.005)
    98.0
    >>> round(headroom_gw(0.0075), 1)
    112.0
    """
    share = float(curtailment_share)
    points = sorted(DUKE_HEADROOM_GW)
    if not points[0] - 1e-12 <= share <= points[-1] + 1e-12:
        msg = (f"curtailment share {share:.4%} is outside the published range "
               f"{points[0]:.2%}-{points[-1]:.0%} of Norris et al. (2025)")
        raise ValueError(msg)
    return float(np.interp(share, points, [DUKE_HEADROOM_GW[p] for p in points]))


def curtailed_mwh(flexible_mw, curtailment_share):
    """Energy a flexible connection gives up in a year [MWh]: the flexible MW off for the
    committed share of the year's hours (an upper bound: the load is taken at its peak)."""
    return np.asarray(flexible_mw, dtype=float) * float(curtailment_share) * HOURS_PER_YEAR


def gas_co2_t_per_mwh(heat_rate=GAS_TURBINE_HEAT_RATE):
    """CO2 of gas-fired generation [t/MWh]: heat rate x EPA factor (9.9 -> 0.525)."""
    return float(heat_rate) * GAS_T_CO2_PER_MMBTU


def bridge_energy_usd_per_mwh(variable_om, heat_rate=GAS_TURBINE_HEAT_RATE,
                              fuel_usd_per_mmbtu=GAS_USD_PER_MMBTU):
    """Running cost of bridge generation [USD/MWh]: variable O&M + heat rate x fuel price.

    >>> round(bridge_energy_usd_per_mwh(5.1), 2)
    39.75
    """
    return float(variable_om) + float(heat_rate) * float(fuel_usd_per_mmbtu)


def bridge_availability(mwh_per_mw_yr, state_total_h_per_yr=np.nan, firm=GAS_TURBINE_FIRM_SHARE):
    """Share of installed bridge MW that may carry the load all year [1].

    The firm share, lowered where the state caps engine run hours (Virginia DEQ: 500 h/yr,
    data/regions/states.csv ``genset_total_h_per_yr``): a site whose load uses
    ``mwh_per_mw_yr`` MWh per MW of peak may then run only ``hours / (mwh_per_mw_yr)`` of
    each installed MW.
    """
    hours = np.asarray(state_total_h_per_yr, dtype=float)
    need = np.asarray(mwh_per_mw_yr, dtype=float)
    limit = np.where(np.isfinite(hours), hours / np.maximum(need, 1e-9), np.inf)
    return np.minimum(firm, limit)


def solar_storage_firm_share(capacity_factor, battery_power_ratio=PV_BATTERY_POWER_RATIO,
                             battery_hours=PV_BATTERY_HOURS, dark_h=SOLAR_DARK_H):
    """Share of a PV-plus-battery MW(AC) that can carry a flat 24-hour load [1].

    The smaller of the energy the array makes (its capacity factor: a flat load of CF MW
    uses all of it) and what the battery holds for the dark hours (``ratio x hours /
    dark_h``). With ATB 2022 (0.6 MW / 2.4 MWh per PV MW, CF 0.268) and 14 dark hours the
    battery binds: 2.4 / 14 = 0.171. An average day: a run of cloudy days is not covered.

    >>> round(solar_storage_firm_share(0.268), 3)
    0.171
    """
    stored = float(battery_power_ratio) * float(battery_hours) / float(dark_h)
    return float(min(float(capacity_factor), stored))


def bridge_heat_rate(tech):
    """Heat rate of a bridge technology [MMBtu/MWh] (0 for solar plus storage)."""
    return {"gas_turbine": GAS_TURBINE_HEAT_RATE, "gas_engine": GAS_ENGINE_HEAT_RATE,
            "fuel_cell": FUEL_CELL_HEAT_RATE, "solar_storage": 0.0}[tech]


def bridge_lead_yr(tech):
    """Order-to-operation of a bridge technology [yr] (assumptions above)."""
    return {"gas_turbine": GAS_TURBINE_LEAD_YR, "gas_engine": GAS_ENGINE_LEAD_YR,
            "fuel_cell": FUEL_CELL_LEAD_YR, "solar_storage": SOLAR_STORAGE_LEAD_YR}[tech]


def battery_cost_split(capex_2h_usd_per_kw, capex_4h_usd_per_kw):
    """Power [USD/kW] and energy [USD/kWh] parts of battery capex from a 2 h and a 4 h row.

    ``C(h) = P + h E`` through both rows: ``E = (C4 - C2) / 2``, ``P = C2 - 2 E``. With ATB
    2022 (2025, Moderate): E = 215.9 USD/kWh, P = 240.3 USD/kW.
    """
    energy = (float(capex_4h_usd_per_kw) - float(capex_2h_usd_per_kw)) / 2.0
    power = float(capex_2h_usd_per_kw) - 2.0 * energy
    return power, energy


@functools.cache
def read_onsite_power() -> pd.DataFrame:
    """data/onsite_power.csv (NREL ATB 2022 rows), indexed by tech; checked."""
    from dcplan.catalog import data_path

    path = data_path("onsite_power.csv")
    table = pd.read_csv(path).set_index("tech")
    needed = {*BRIDGE_TECHS, "battery_2h", "battery_4h"}
    problems = [Problem(f"{path}: tech", f"row {t!r} is missing",
                        "rebuild it with scripts/build_onsite_power.py") for t in sorted(needed - set(table.index))]
    for column in ("capex_usd_per_kw", "fixed_om_usd_per_kw_yr", "variable_om_usd_per_mwh"):
        bad = table.index[~(table[column] >= 0)] if column in table else table.index
        problems += [Problem(f"{path}: {column}[{t}]", f"{table.get(column, pd.Series()).get(t)!r}",
                             "give a number >= 0") for t in bad]
    if problems:
        raise DataError(problems, f"{path} is not a valid on-site power table")
    return table
