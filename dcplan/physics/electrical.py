r"""Electrical chain from the utility to the rack: losses and redundancy sizing.

The modelled path is utility -> HV/MV substation transformer -> MV/LV transformer ->
UPS -> busway/PDU and cabling -> rack input. IT power is measured at the rack input,
so server power-supply and voltage-regulator losses belong to IT, not to the chain.

Every stage follows the classic loss model: a fixed (no-load) loss, a loss proportional
to load and a loss proportional to load squared (I^2 R), each as a fraction of the
stage's rating. Efficiency is output / (output + losses), so it falls at low load,
where the fixed loss dominates. Redundant equipment (N+1, 2N) shares the load, so each
unit runs at ``load_fraction / redundancy_factor`` of its rating: at part load, where the
fixed losses dominate, a redundant chain is less efficient than a non-redundant one.

Functions are pure and vectorised over scalars, numpy arrays and ``xarray.DataArray``
(e.g. an 8,760-hour load-fraction array).

References
----------
.. [1] US DOE, 10 CFR 431.196(b), energy conservation standards for liquid-immersed
   distribution transformers (compliance from 2016): 2,500 kVA three-phase 99.53 %
   efficient at 50 % load.
.. [2] M. Ton and B. Fortenbury, "High Performance Buildings: Data Centers -
   Uninterruptible Power Supplies (UPS)", Ecos/EPRI for LBNL and the California Energy
   Commission, Dec 2005: UPS efficiency falls at part load; data-centre UPSs usually
   run at <= 50 % load.
.. [3] physical_facts.md check 6 (dcplan planning team): double-conversion UPS ceiling
   ~96-97 % for modern units; eco mode 98-99 % (centiel.com; Control Engineering, 2015).
.. [4] N. Rasmussen, "Electrical Efficiency Modeling for Data Centers", Schneider
   Electric White Paper 113: no-load, proportional and square-law loss terms for UPS,
   PDUs and wiring.
.. [5] Uptime Institute Tier Standard: Topology (Tier I N; Tier II/III N+1; Tier IV
   fault tolerant, commonly 2N or 2(N+1)).
"""

from __future__ import annotations

import numpy as np

from dcplan.physics.chips import _check

__all__ = [
    "DISTRIBUTION_FULL_LOAD_LOSS",
    "REDUNDANCY_SCHEMES",
    "TRANSFORMER_LOAD_LOSS",
    "TRANSFORMER_NO_LOAD_LOSS",
    "UPS_LOSS_PARAMETERS",
    "chain_efficiency",
    "distribution_efficiency",
    "electrical_loss_fraction",
    "electrical_loss_power",
    "facility_power",
    "genset_fuel_usd_per_mw_yr",
    "genset_installed_mw_per_it_mw",
    "genset_test_hours",
    "redundancy_capex_multiplier",
    "redundancy_factor",
    "transformer_efficiency",
    "ups_efficiency",
]

#: Transformer no-load (core) loss, fraction of rating. With the load loss below this
#: gives 99.53 % at 50 % load, the DOE 2016 level for a 2,500 kVA liquid-immersed unit
#: [1]_; the split between core and winding loss is an assumption.
TRANSFORMER_NO_LOAD_LOSS = 0.0010
#: Transformer load (winding) loss at rated load, fraction of rating [1]_.
TRANSFORMER_LOAD_LOSS = 0.0055

#: UPS loss coefficients (fixed, proportional, square-law; fractions of rating) [4]_.
#: Double conversion peaks at ~96.2 % near 75-100 % load, 94.7 % at 25 % and ~91 % at
#: 10 % (within the 96-97 % ceiling of [3]_ and the part-load fall of [2]_). Eco mode
#: bypasses the inverter: 98.2-98.8 % above 25 % load [3]_.
UPS_LOSS_PARAMETERS = {
    "double_conversion": {"fixed": 0.008, "proportional": 0.022, "square": 0.010},
    "eco": {"fixed": 0.003, "proportional": 0.006, "square": 0.003},
}

#: Busway/PDU and cabling loss at rated load, fraction of rating (square-law, [4]_).
#: **Assumption**: 1.5 % at full load.
DISTRIBUTION_FULL_LOAD_LOSS = 0.015

#: Redundancy schemes and what they install per unit of design (N) capacity.
REDUNDANCY_SCHEMES = ("N", "N+1", "2N", "2(N+1)")


def _efficiency(load_fraction, fixed, proportional, square):
    """Output / (output + losses), with 0 at zero load."""
    x = load_fraction
    losses = fixed + proportional * x + square * x * x
    total = x + losses
    # zero output with zero loss would be 0/0: call it zero efficiency
    return x / (total + (total == 0))


def transformer_efficiency(load_fraction, no_load_loss=TRANSFORMER_NO_LOAD_LOSS,
                           load_loss=TRANSFORMER_LOAD_LOSS):
    r"""Efficiency of a transformer at a fraction of its rating.

    Parameters
    ----------
    load_fraction : numeric
        Output power / rating, >= 0. [unitless]
    no_load_loss : numeric, default 0.0010
        Core loss, fraction of rating. [unitless]
    load_loss : numeric, default 0.0055
        Winding loss at rated load, fraction of rating. [unitless]

    Returns
    -------
    numeric
        Efficiency in [0, 1). [unitless]

    Notes
    -----
    .. math:: \eta = \frac{x}{x + L_0 + L_k x^2}

    References
    ----------
    .. [1] 10 CFR 431.196(b): 2,500 kVA liquid-immersed, 99.53 % at 50 % load.

    Examples
    --------
    >>> round(transformer_efficiency(0.5), 4)
    0.9953
    """
    _check("load_fraction", load_fraction)
    _check("no_load_loss", no_load_loss, upper=0.1)
    _check("load_loss", load_loss, upper=0.1)
    return _efficiency(load_fraction, no_load_loss, 0.0, load_loss)


def ups_efficiency(load_fraction, mode="double_conversion"):
    r"""Efficiency of a UPS at a fraction of its rating.

    Parameters
    ----------
    load_fraction : numeric
        Output power / UPS rating, >= 0. [unitless]
    mode : {"double_conversion", "eco"}, default "double_conversion"
        Operating mode; eco mode feeds the load through the bypass.

    Returns
    -------
    numeric
        Efficiency in [0, 1). [unitless]

    Notes
    -----
    .. math:: \eta = \frac{x}{x + a + b x + c x^2}

    with :math:`(a, b, c)` from :data:`UPS_LOSS_PARAMETERS`.

    References
    ----------
    .. [2] Ton & Fortenbury (LBNL/CEC), 2005: efficiency falls at part load.
    .. [3] Double conversion <= ~96-97 %; eco 98-99 %.

    Examples
    --------
    >>> round(ups_efficiency(0.5), 3), round(ups_efficiency(0.5, "eco"), 3)
    (0.959, 0.987)
    """
    if mode not in UPS_LOSS_PARAMETERS:
        msg = f"unknown UPS mode {mode!r}; valid modes: {', '.join(UPS_LOSS_PARAMETERS)}"
        raise ValueError(msg)
    _check("load_fraction", load_fraction)
    p = UPS_LOSS_PARAMETERS[mode]
    return _efficiency(load_fraction, p["fixed"], p["proportional"], p["square"])


def distribution_efficiency(load_fraction, full_load_loss=DISTRIBUTION_FULL_LOAD_LOSS):
    r"""Efficiency of busway/PDU and cabling between the UPS and the racks.

    Parameters
    ----------
    load_fraction : numeric
        Power / rating of the distribution path, >= 0. [unitless]
    full_load_loss : numeric, default 0.015
        Resistive loss at rated load, fraction of rating (assumption). [unitless]

    Returns
    -------
    numeric
        Efficiency in (0, 1]. [unitless]

    Notes
    -----
    Resistive loss grows with the square of current, so per unit of power delivered
    it grows linearly: :math:`\eta = 1 / (1 + r x)`.

    Examples
    --------
    >>> round(distribution_efficiency(1.0), 4)
    0.9852
    """
    _check("load_fraction", load_fraction)
    _check("full_load_loss", full_load_loss, upper=0.2)
    return 1.0 / (1.0 + full_load_loss * load_fraction)


def redundancy_factor(scheme, modules=4):
    r"""Installed capacity per unit of design IT capacity for a redundancy scheme.

    Parameters
    ----------
    scheme : {"N", "N+1", "2N", "2(N+1)"}
        Redundancy of UPS, transformers and generators (Uptime Tiers I-IV [5]_).
    modules : int, default 4
        Units that carry the design load in one N group (for N+1 and 2(N+1)).
        Assumption: a 4+1 lineup. [unitless]

    Returns
    -------
    float
        Installed / design capacity: N 1, N+1 (m+1)/m, 2N 2, 2(N+1) 2(m+1)/m.

    Raises
    ------
    ValueError
        For an unknown scheme (the message lists the valid ones) or modules < 1.

    Examples
    --------
    >>> redundancy_factor("2N"), redundancy_factor("N+1", modules=4)
    (2.0, 1.25)
    """
    key = str(scheme).replace(" ", "").upper()
    if key not in REDUNDANCY_SCHEMES:
        msg = (f"unknown redundancy scheme {scheme!r}; valid schemes: "
               f"{', '.join(REDUNDANCY_SCHEMES)}")
        raise ValueError(msg)
    if int(modules) != modules or modules < 1:
        raise ValueError(f"modules must be a whole number >= 1, got {modules!r}")
    spare = (modules + 1) / modules
    return {"N": 1.0, "N+1": spare, "2N": 2.0, "2(N+1)": 2.0 * spare}[key]


def chain_efficiency(load_fraction, redundancy="N", ups_mode="double_conversion",
                     transformer_stages=2, modules=4,
                     no_load_loss=TRANSFORMER_NO_LOAD_LOSS, load_loss=TRANSFORMER_LOAD_LOSS,
                     distribution_loss=DISTRIBUTION_FULL_LOAD_LOSS):
    r"""End-to-end efficiency from the utility meter to the rack input.

    Parameters
    ----------
    load_fraction : numeric
        IT power / design (N) IT capacity, in [0, 1]; e.g. an hourly load curve times
        the fleet's fill of the hall. [unitless]
    redundancy : {"N", "N+1", "2N", "2(N+1)"}, default "N"
        Redundancy of transformers and UPS (see :func:`redundancy_factor`). Either
        pass the design load fraction with the study's scheme, or a load already
        divided by :func:`redundancy_factor` (the per-unit load) with "N"; never both.
    ups_mode : {"double_conversion", "eco"}, default "double_conversion"
    transformer_stages : int, default 2
        Transformers in series: HV/MV substation and MV/LV unit substation. Both use
        the DOE distribution-transformer curve, a conservative stand-in for a large
        power transformer (which is more efficient).
    modules : int, default 4
        Units per N group for N+1 schemes.
    no_load_loss, load_loss : numeric
        Transformer loss parameters (see :func:`transformer_efficiency`).
    distribution_loss : numeric
        Busway/PDU loss at rated load (see :func:`distribution_efficiency`).

    Returns
    -------
    numeric
        Product of stage efficiencies, each < 1. [unitless]

    Notes
    -----
    Power is traced upstream from the racks. With :math:`f` the redundancy factor and
    :math:`L_i(u)` the loss of stage :math:`i` (fraction of unit rating) at unit load
    :math:`u`, each stage carries everything downstream of it:

    .. math::

        P_0 = x, \qquad P_{i+1} = P_i + f\,L_i(P_i / f), \qquad \eta = x / P_{n}

    in the order distribution, UPS, then the transformers. Zero load gives zero
    efficiency (the no-load losses remain). Mechanical (cooling) load also passes
    through the transformers but not the UPS; it is not included here.

    Examples
    --------
    >>> round(chain_efficiency(0.8, "2N"), 3), round(chain_efficiency(0.4), 3)
    (0.942, 0.942)
    """
    power_in = _chain_input(load_fraction, redundancy, ups_mode, transformer_stages,
                            modules, no_load_loss, load_loss, distribution_loss)
    return load_fraction / power_in


def _chain_input(load_fraction, redundancy="N", ups_mode="double_conversion",
                 transformer_stages=2, modules=4, no_load_loss=TRANSFORMER_NO_LOAD_LOSS,
                 load_loss=TRANSFORMER_LOAD_LOSS, distribution_loss=DISTRIBUTION_FULL_LOAD_LOSS):
    """Utility-side power per unit design IT capacity that delivers ``load_fraction``."""
    _check("load_fraction", load_fraction, upper=1.0)
    if int(transformer_stages) != transformer_stages or not 0 <= transformer_stages <= 4:
        msg = f"transformer_stages must be a whole number 0-4, got {transformer_stages!r}"
        raise ValueError(msg)
    if ups_mode not in UPS_LOSS_PARAMETERS:
        msg = f"unknown UPS mode {ups_mode!r}; valid modes: {', '.join(UPS_LOSS_PARAMETERS)}"
        raise ValueError(msg)
    _check("no_load_loss", no_load_loss, upper=0.1)
    _check("load_loss", load_loss, upper=0.1)
    _check("distribution_loss", distribution_loss, upper=0.2)
    f = redundancy_factor(redundancy, modules)
    ups = UPS_LOSS_PARAMETERS[ups_mode]
    stages = [(0.0, 0.0, distribution_loss),
              (ups["fixed"], ups["proportional"], ups["square"])]
    stages += [(no_load_loss, 0.0, load_loss)] * int(transformer_stages)
    power = load_fraction
    for fixed, proportional, square in stages:  # a handful of stages, each vectorised
        unit = power / f
        power = power + f * (fixed + proportional * unit + square * unit * unit)
    return power


def electrical_loss_fraction(load_fraction, **kwargs):
    r"""Electrical-chain losses per unit of IT power (what the chain adds to PUE).

    Parameters
    ----------
    load_fraction : numeric
        IT power / design IT capacity, in (0, 1]. Zero load has no finite loss ratio
        and is refused. [unitless]
    **kwargs
        Passed to :func:`chain_efficiency` (redundancy, ups_mode, ...).

    Returns
    -------
    numeric
        Loss / IT power, >= 0. [unitless]

    Notes
    -----
    .. math:: \ell = 1/\eta - 1

    Examples
    --------
    >>> round(electrical_loss_fraction(0.8, redundancy="2N"), 3)
    0.062
    """
    _check("load_fraction", load_fraction, positive=True, upper=1.0)
    return _chain_input(load_fraction, **kwargs) / load_fraction - 1.0


def electrical_loss_power(load_fraction, **kwargs):
    r"""Electrical-chain losses per unit of design IT capacity.

    Unlike :func:`electrical_loss_fraction` this stays finite at zero IT load, where
    the no-load losses of transformers and UPS remain; multiply by the design IT
    capacity to get loss power, or sum over hours for loss energy.

    Parameters
    ----------
    load_fraction : numeric
        IT power / design IT capacity, in [0, 1]. [unitless]
    **kwargs
        Passed to :func:`chain_efficiency`.

    Returns
    -------
    numeric
        Loss power / design IT capacity, >= 0. [unitless]

    Notes
    -----
    .. math:: \ell_P = P_n(x) - x

    with :math:`P_n` the utility-side power of :func:`chain_efficiency`.

    Examples
    --------
    >>> round(electrical_loss_power(0.8, redundancy="2N"), 4)
    0.0497
    >>> round(electrical_loss_power(0.0, redundancy="2N"), 3)  # no-load losses remain
    0.02
    """
    return _chain_input(load_fraction, **kwargs) - load_fraction


def facility_power(it, mechanical, electrical_losses, other=0.0):
    r"""Total facility power as the sum of its parts (Green Grid PUE numerator).

    Parameters
    ----------
    it : numeric
        IT power at the rack inputs. [any power unit, e.g. MW]
    mechanical : numeric
        Cooling plant power (fans, pumps, chillers, towers), same unit.
    electrical_losses : numeric
        Electrical-chain losses, same unit.
    other : numeric, default 0
        Lighting, offices, security and other loads, same unit.

    Returns
    -------
    numeric
        Facility power, same unit. :math:`PUE = P_{facility} / P_{IT}`.

    Examples
    --------
    >>> facility_power(100.0, 12.0, 6.0, 1.5)
    119.5
    """
    for name, value in (("it", it), ("mechanical", mechanical),
                        ("electrical_losses", electrical_losses), ("other", other)):
        _check(name, value)
    return it + mechanical + electrical_losses + other


# ------------------------------------------------------------------ capital and backup
#: share of facility capex in the electrical plant whose size follows the installed
#: redundancy (UPS, switchgear, generators, transformers, distribution): ~25 % of a
#: data-centre project (American Society of Professional Estimators via the U.S. Chamber
#: C-TEC, reported by Electrical Marketing, Jan 2025; 25-30 % of hard cost, Cortex
#: Construct 2026)
ELECTRICAL_CAPEX_SHARE = 0.25
#: redundancy the facility capex per MW of data/cooling.csv stands for: Cushman &
#: Wakefield's 2025 US cost guide prices typical new builds, which are concurrently
#: maintainable with 2N UPS (assumption; Uptime Tier III/IV practice)
REFERENCE_SCHEME = "2N"
#: generator nameplate per unit of load it backs: ~125 % of critical load (sizing practice,
#: physical_facts sect. 4, electricaltrader.com, L)
GENSET_SIZING = 1.25
#: exercise/test hours a year at load: NFPA 110 Level 1 monthly exercise (>= 30 min) plus
#: an annual load test (~4 h): ~10 h, rounded to 12 (assumption)
GENSET_TEST_H = 12.0
#: federal cap on maintenance and testing hours of emergency engines (NSPS IIII /
#: NESHAP ZZZZ, 40 CFR 60.4211(f)): 100 h/yr
GENSET_FEDERAL_MT_H = 100.0
#: diesel burned per kWh generated at 75-100 % load: ~0.26-0.28 L/kWh for 2-3 MW
#: high-speed gensets (manufacturer fuel tables, e.g. Caterpillar 3516; L)
GENSET_L_PER_KWH = 0.27
#: diesel price [USD/L]: ~3.8 USD/gal US on-highway diesel 2024 (EIA Gasoline and Diesel
#: Fuel Update) = 1.0 USD/L
DIESEL_USD_PER_L = 1.0


def redundancy_capex_multiplier(scheme, share=ELECTRICAL_CAPEX_SHARE,
                                reference=REFERENCE_SCHEME, modules=4):
    r"""Facility capex of a redundancy scheme relative to the reference design.

    The electrical plant (share :math:`s` of facility capex at the reference scheme)
    scales with installed capacity; the rest does not:

    .. math:: m = 1 - s + s\,\frac{R(\text{scheme})}{R(\text{reference})}

    With the defaults (s = 0.25, reference 2N): N 0.875, N+1 0.906, 2N 1.0,
    2(N+1) 1.0625.

    Parameters
    ----------
    scheme : str
        "N", "N+1", "2N" or "2(N+1)".
    share : float
        Electrical share of facility capex at the reference scheme, 0-1. [1]
    reference : str
        Scheme the base capex stands for.
    modules : int
        Units per N group (see :func:`redundancy_factor`).

    Returns
    -------
    float
        [1]
    """
    _check("share", share, upper=1.0)
    ratio = redundancy_factor(scheme, modules) / redundancy_factor(reference, modules)
    return 1.0 - share + share * ratio


def genset_installed_mw_per_it_mw(scheme, modules=4, sizing=GENSET_SIZING):
    """Backup generator nameplate per MW of IT load for a redundancy scheme. [MW/MW]"""
    return sizing * redundancy_factor(scheme, modules)


def genset_test_hours(total_h_per_yr=np.nan, test_h=GENSET_TEST_H):
    """Generator run hours a year at load for testing, within the permit's limits. [h]

    The smaller of the testing practice (``test_h``), the federal 100 h maintenance and
    testing cap and the state's total-hours limit where one applies (Virginia DEQ
    emergency-generator permits: 500 h/yr including testing; data/regions/states.csv
    ``genset_total_h_per_yr``). Non-emergency (demand-response) hours are not used:
    dcplan does not run generators for grid services.
    """
    total = np.asarray(total_h_per_yr, dtype=float)
    total = np.where(np.isfinite(total), total, np.inf)
    out = np.minimum(np.minimum(test_h, GENSET_FEDERAL_MT_H), total)
    return float(out) if out.ndim == 0 else out


def genset_fuel_usd_per_mw_yr(test_hours, load_mw_per_it_mw=1.0,
                              l_per_kwh=GENSET_L_PER_KWH, usd_per_l=DIESEL_USD_PER_L):
    """Annual diesel cost of testing the backup generators, per MW of IT. [USD/MW/yr]

    The site's load (``load_mw_per_it_mw`` per IT MW, about the PUE) runs on the
    generators for the test hours. E.g. 12 h x 1,000 kW x 0.27 L/kWh x 1.0 USD/L =
    3,240 USD per MW-year.
    """
    _check("test_hours", test_hours)
    return np.asarray(test_hours, dtype=float) * 1000.0 * load_mw_per_it_mw * l_per_kwh \
        * usd_per_l
