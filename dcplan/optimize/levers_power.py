"""Time-to-power levers on the power side: the rows and columns of each lever.

Three levers, each off unless the study's ``power_levers:`` section turns it on (then
:func:`dcplan.power_plan.power_inputs` adds its coefficients to the inputs, and the
``add_*`` builders here see them; :mod:`dcplan.power_plan` also holds the plan outputs,
costs and audit of the levers). With every lever off nothing here adds a column, a row or an objective term, so the
model and its optimum are those of the plain siting model. docs/formulation.md,
"Time-to-power levers: power", gives the rows and their validity.

``flex_interconnect``
    A site may energise an interconnect option early as a *flexible* (curtailable) load:
    from ``flex_earliest_year`` (equipment lead plus ``queue_share`` of the study time)
    instead of ``ic_earliest_year``. The option's equipment is bought when flexible service
    starts and becomes firm service at ``ic_earliest_year``; flexible MW may also top up the
    firm MW during the firm ramp. Every flexible MW gives up ``curtailment_share`` of the
    year's hours, costed at the value of the compute lost.
``flex_headroom``
    Flexible MW of the whole fleet <= its share of the national curtailment-enabled
    headroom (Norris et al. 2025, :mod:`dcplan.physics.onsite`).
``bridge_power``
    On-site bridge power, one set of columns per technology offered (gas turbines, gas
    engines, fuel cells, solar plus storage): bought from ``bridge_earliest_year`` (the
    technology's lead, or the state's air permit for combustion), they carry load only in
    years before the site's grid connection is built and before the last of its grid
    options could be energised, and stay as backup after.
    Their fuel and emissions replace grid energy and grid CO2; the optimiser picks the mix.
``gas_turbine_supply``
    Turbine MW delivered to the whole fleet per year <= the supply cap: when it binds,
    deliveries (and the capacity they carry) move to later years.
``power_smoothing``
    Battery MW per site >= the synchronous training swing of its GPUs beyond the swing the
    ISO accepts from one load; sized with ``smoothing_duration_h`` hours of energy.
"""

from __future__ import annotations

import logging

import numpy as np

from dcplan.optimize.years import add_monotone, drop_next, next_year, shift
from dcplan.physics import grid, onsite

AX = ("site", "chip", "cooling", "option", "year")  # the model's axes (model.AX)

logger = logging.getLogger(__name__)

SY = ("site", "year")
SOY = ("site", "option", "year")


# ----------------------------------------------------------------------------- builders
def add_power_levers(b) -> None:
    """Every power lever the inputs carry (no-op when none is on)."""
    add_flexible_interconnect(b)
    add_bridge_power(b)
    add_power_smoothing(b)


def _year(b) -> np.ndarray:
    m = b.m
    return m.years.reshape(1, 1, 1, 1, -1)


def add_flexible_interconnect(b) -> None:
    """Flexible service of an interconnect option before (and beside) its firm service."""
    m, c, d = b.m, b.col, b.dom
    if "flex_earliest_year" not in m.inputs or not b.on("flex_interconnect"):
        return
    y = _year(b)
    cap = m.coef("ic_capacity_mw")
    phase = m.coef("ic_phase_mw_per_yr")
    start = m.coef("flex_earliest_year").astype(float)
    firm = d.ic_start
    # flexible service only on an option whose firm service comes inside the horizon
    ok = (cap > 0) & (firm <= m.years[-1]) & (start < firm)
    ub = grid.energisable_mw(m.years, start[..., 0], cap[..., 0], phase[..., 0])
    mw_ok = ok & (y >= start) & (ub > 0)
    active = m.add_var("flex_active", SOY, mw_ok & (y < firm), 0, 1, "binary")
    flex = m.add_var("flex_mw", SOY, mw_ok, 0, ub, "continuous")
    late = y >= firm
    r = m.add_rows("flex_mw_max", SOY, flex >= 0, "le", 0.0)
    m.terms(r, flex, 1.0)
    m.terms(r, active, -cap)
    m.terms(np.where(late, r, -1), c.ic_mw, 1.0)
    m.terms(np.where(late, r, -1), c.ic_active, -cap)
    add_monotone(b, "flex_active_monotone", SOY, active)
    # the equipment bought early becomes the firm option: built by its earliest year
    nxt = next_year(c.ic_active)
    r = m.add_rows("flex_to_firm", SOY, (active >= 0) & (nxt >= 0), "ge", 0.0)
    m.terms(r, nxt, 1.0)
    m.terms(r, active, -1.0)
    r = m.add_rows("flex_choice_max", SY, (active >= 0).any(axis=3, keepdims=True), "le", 1.0)
    m.terms(r, active, 1.0)
    if b.on("flex_headroom"):
        headroom = m.coef("flex_headroom_mw")
        has = (flex >= 0).any(axis=(0, 3), keepdims=True) & np.isfinite(headroom)
        r = m.add_rows("flex_headroom_max", ("year",), has, "le",
                       np.where(np.isfinite(headroom), headroom, 0.0))
        m.terms(r, flex, 1.0)
    _supply(b, flex)
    ic_capex = m.coef("ic_capex_usd") / 1e6
    _capex_cash(b, active, ic_capex)
    m.objective(active, drop_next(m.coef("capital_factor_interconnect")) * ic_capex)
    curtail = (m.coef("flex_curtailment_share") * onsite.HOURS_PER_YEAR
               * m.coef("flex_curtailment_usd_per_mwh"))
    m.objective(flex, m.coef("discount_factor") * curtail / 1e6)


def bridge_techs(inputs) -> list[str]:
    """Bridge technologies the inputs offer, in the order of their ``bridge_tech`` axis."""
    return [str(t) for t in inputs["bridge_tech"].values] if "bridge_tech" in inputs.coords else []


def _tech_coef(m, name: str, tech: str) -> np.ndarray:
    """Input variable of one bridge technology as a 5-D array over the model axes."""
    da = m.inputs[name]
    if "bridge_tech" in da.dims:
        da = da.sel(bridge_tech=tech)
    order = [d for d in AX if d in da.dims]
    return np.asarray(da.transpose(*order).values).reshape(
        [m.sizes[d] if d in da.dims else 1 for d in AX])


def add_bridge_power(b) -> None:
    """On-site bridge power, one set of columns per technology: capacity, when it may run,
    the gas turbine supply cap, fuel and CO2. The optimiser picks the mix at each site."""
    m, c, d = b.m, b.col, b.dom
    if "bridge_earliest_year" not in m.inputs or not b.on("bridge_power"):
        return
    y = _year(b)
    mwh = m.coef("bridge_mwh_per_mw_yr")
    # the most facility peak the site can reach: its IT limit x the highest peak per IT kW
    ratio = np.where(d.gpu_ok.any(axis=4, keepdims=True),
                     m.coef("facility_peak_kw_per_gpu") / m.coef("it_kw_per_gpu"), 0.0)
    peak = d.site_cap.max(axis=4, keepdims=True) * ratio.max(axis=(1, 2), keepdims=True)
    end = bridge_end(m.coef("ic_capacity_mw"), d.ic_start)
    df = m.coef("discount_factor")
    price = m.coef("carbon_price_usd_per_t")
    ef_grid = m.coef("co2_t_per_mwh")
    rc = b.pos.get("carbon_cap_max")
    gens = []
    for tech in bridge_techs(m.inputs):
        avail = _tech_coef(m, "bridge_availability", tech)
        start = _tech_coef(m, "bridge_earliest_year", tech)
        ok = (y >= start) & (avail > 0) & (peak > 0)
        cap = m.add_var(f"bridge_mw_{tech}", SY, ok, 0, peak / np.maximum(avail, 1e-9),
                        "continuous")
        # interim only: no generation from the year the site's last grid option could be energised
        gen = m.add_var(f"bridge_gen_mw_{tech}", SY, ok & (y < end), 0, peak, "continuous")
        gens.append(gen)
        r = m.add_rows(f"bridge_gen_max_{tech}", SY, gen >= 0, "le", 0.0)
        m.terms(r, gen, 1.0)
        m.terms(r, cap, -avail)
        add_monotone(b, f"bridge_mw_monotone_{tech}", SY, cap)
        if tech == "gas_turbine" and b.on("gas_turbine_supply"):
            supply = m.coef("bridge_supply_mw_per_yr")
            has = (cap >= 0).any(axis=0, keepdims=True) & np.isfinite(supply)
            r = m.add_rows("gas_turbine_supply_max", ("year",), has, "le",
                           np.where(np.isfinite(supply), supply, 0.0))
            m.terms(r, cap, 1.0)
            m.terms(r, shift(cap, 1), -1.0)
        _supply(b, gen)
        ef = _tech_coef(m, "bridge_co2_t_per_mwh", tech)
        if rc is not None:
            m.terms(rc, gen, mwh * (ef - ef_grid) / 1e3)
        capex = _tech_coef(m, "bridge_capex_usd_per_mw", tech) / 1e6
        _capex_cash(b, cap, capex)
        m.objective(cap, drop_next(_tech_coef(m, "capital_factor_bridge", tech)) * capex
                    + df * _tech_coef(m, "bridge_fixed_om_usd_per_mw_yr", tech) / 1e6)
        net = (_tech_coef(m, "bridge_energy_usd_per_mwh", tech) + price * ef
               - m.coef("electricity_usd_per_mwh") - price * ef_grid)
        m.objective(gen, df * mwh * net / 1e6)
    runs = np.any([g >= 0 for g in gens], axis=0)
    # bridge only: no generation once the site's grid connection is built
    r = m.add_rows("bridge_gen_pregrid", SY, runs, "le", peak)
    for gen in gens:
        m.terms(r, gen, 1.0)
    m.terms(r, c.ic_active, peak)
    r = m.add_rows("bridge_gen_load", SY, runs, "le", 0.0)
    for gen in gens:
        m.terms(r, gen, 1.0)
    m.terms(r, c.gpus, -m.coef("facility_peak_kw_per_gpu"))


def bridge_end(ic_capacity_mw, ic_start):
    """First year bridge turbines may no longer carry load: the latest earliest year of the
    site's grid options (reduced over the option axis, which is axis 3 of the model arrays
    and the last axis of an (site, option) array)."""
    axis = 3 if np.ndim(ic_start) == 5 else -1
    return np.where(np.asarray(ic_capacity_mw) > 0, ic_start, -np.inf).max(axis=axis, keepdims=True)


def add_power_smoothing(b) -> None:
    """Battery MW at each site >= its training swing beyond the ISO allowance."""
    m, c, d = b.m, b.col, b.dom
    if "smoothing_swing_kw_per_gpu" not in m.inputs or not b.on("power_smoothing"):
        return
    swing = m.coef("smoothing_swing_kw_per_gpu")
    has = (d.gpu_ok & (swing > 0)).any(axis=(1, 2), keepdims=True)
    mw = m.add_var("smoothing_mw", SY, has, 0, np.inf, "continuous")
    r = m.add_rows("smoothing_min", SY, has, "ge", -m.coef("smoothing_allowance_mw"))
    m.terms(r, mw, 1.0)
    m.terms(r, c.gpus, -swing)  # kW/GPU = MW per kGPU
    add_monotone(b, "smoothing_mw_monotone", SY, mw)
    capex = m.coef("smoothing_capex_usd_per_mw") / 1e6
    _capex_cash(b, mw, capex)
    m.objective(mw, drop_next(m.coef("capital_factor_smoothing")) * capex
                + m.coef("discount_factor") * m.coef("smoothing_fixed_om_usd_per_mw_yr") / 1e6)


def _supply(b, col) -> None:
    """Add ``col`` (MW) to the supply side of the facility-peak rows."""
    rows = b.pos.get("facility_peak_max")
    if rows is not None:
        b.m.terms(rows, col, -1.0)
        b.pos["facility_peak_supply"] = True  # cuts that assume the grid alone supplies it


def _capex_cash(b, col, usd) -> None:
    """A cumulative column spends ``usd`` (MUSD per unit) in the year it grows."""
    rows = b.pos.get("capex_budget_max")
    if rows is not None:
        b.m.terms(rows, col, usd)
        b.m.terms(next_year(rows), col, -usd)
