"""How capital is charged inside a finite horizon: annuities, salvage or full cost.

A study's horizon ends while most assets still have years of service left. Charging the
whole purchase price in the year of purchase (``none``) makes capacity bought late look
dear; capacity-expansion models such as PyPSA and GenX instead charge each asset an annuity
over its economic life and count the payments that fall inside the horizon. dcplan offers:

``annuity`` (default)
    ``C * crf(r, L) / (1 + r)`` in every year of service inside the horizon, discounted.
    The model counts every year's money at the start of the year (as it does opex), so the
    annuity is paid in advance: its present value over a whole life is exactly ``C``.
``salvage``
    the full price in the purchase year, less a straight-line residual value
    ``C * (years of life left after the horizon) / L`` credited at the end of the horizon
    (one year after the last planning year), discounted.
``none``
    the full price in the purchase year, no residual value.

Every function is pure and vectorised; money is per unit of purchase price [USD/USD].
"""

from __future__ import annotations

import numpy as np

METHODS = ("annuity", "salvage", "none")

#: economic lives of the long-lived assets [yr] and where they come from
DEFAULT_LIFE_YR = {
    # mechanical and electrical plant dominates facility capex; ASHRAE's median service
    # lives of chillers, cooling towers and air handlers are about 20-25 years (ASHRAE
    # Handbook, HVAC Applications, "Owning and Operating Costs", service-life table)
    "facility": 20.0,
    # land, civil works and shell: NREL ATB's default capital recovery period of 30 years
    "site": 30.0,
    # substations and transmission taps: NREL ATB's 30-year capital recovery period (utility
    # depreciation lives of substation plant are longer, 40-50 years, so this is conservative)
    "interconnect": 30.0,
}


def capital_recovery_factor(rate, life_yr):
    """Annuity per unit of capital repaid over ``life_yr`` at ``rate``. [1/yr]

    ``crf = r (1+r)^L / ((1+r)^L - 1)``, and ``1/L`` at ``r = 0``.

    Parameters
    ----------
    rate : float or array_like
        Discount rate [1/yr], >= 0.
    life_yr : float or array_like
        Economic life [yr], > 0.
    """
    r = np.asarray(rate, dtype=float)
    life = np.asarray(life_yr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = (1.0 + r) ** life
        crf = np.where(r > 0, r * growth / (growth - 1.0), 1.0 / life)
    return crf


def capital_factor(
    years, first_year: int, rate: float, life_yr, method: str = "annuity"
) -> np.ndarray:
    """NPV (at ``first_year``) charged per USD of an asset bought at the start of each year.

    Parameters
    ----------
    years : array_like of int
        Planning years (consecutive), shape (T,).
    first_year : int
        Year the discount factors refer to (factor 1).
    rate : float
        Real discount rate [1/yr].
    life_yr : float or array_like
        Economic life [yr]; an array of shape (N,) gives a result of shape (N, T).
    method : {"annuity", "salvage", "none"}

    Returns
    -------
    numpy.ndarray
        Factor [USD/USD] for each purchase year; non-increasing in the purchase year.
    """
    if method not in METHODS:
        msg = f"capital cost method {method!r} is not one of {METHODS}"
        raise ValueError(msg)
    years = np.asarray(years, dtype=int)
    last = int(years[-1])
    life = np.asarray(life_yr, dtype=float)[..., None]
    df = 1.0 / (1.0 + rate) ** (years - first_year)
    if method == "none":
        return np.broadcast_to(df, life.shape[:-1] + df.shape).copy()
    if method == "salvage":
        left = np.clip(years + life - 1 - last, 0.0, life)  # years of service after the horizon
        end_df = 1.0 / (1.0 + rate) ** (last + 1 - first_year)
        return df - left / life * end_df
    # annuity paid in advance: payments in years t .. t + L - 1 that fall inside the horizon
    crf = capital_recovery_factor(rate, life) / (1.0 + rate)
    cum = np.concatenate([[0.0], np.cumsum(df)])  # cum[i] = sum of df over the first i years
    start = years - int(years[0])
    stop = np.minimum(start + np.ceil(life).astype(int), len(years))
    paid = cum[stop] - cum[start]
    # a fractional last year of life pays a fraction of an annuity
    frac = life - np.floor(life)
    partial = (frac > 0) & (start + np.floor(life).astype(int) < len(years))
    paid = np.where(partial, paid - (1.0 - frac) * df[np.minimum(stop - 1, len(years) - 1)], paid)
    return crf * paid
